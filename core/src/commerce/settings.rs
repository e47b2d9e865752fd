//! Store settings and rules as data: tax regime, promotions, tender and return policies.
//!
//! Stored in the store file (table `setting`), so a register prices offline exactly as it did
//! online; sync will distribute them from HQ. Setting them validates them first: a bad regime
//! or rule is refused with its typed error and the old settings stay.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use super::pricing::PricingRounding;
use super::promotions::{Mode, Promotion, PromotionSet};
use super::tax::TaxRegime;
use crate::edge::Shared;
use crate::error::{Error, Result};
use crate::money::{Money, Percent};

/// What a store needs to price and sell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// Printed on receipts.
    pub store_name: String,
    /// IANA time zone of the store, e.g. `"Europe/Berlin"`: promotion windows are local.
    pub time_zone: String,
    /// Sales channel for price-list scopes, e.g. `"pos"`, `"web"`.
    pub channel: String,
    /// How promotions combine.
    pub promotion_mode: Mode,
    pub rounding: PricingRounding,
    /// Required before a cart can be priced.
    pub tax_regime: Option<TaxRegime>,
    /// Manual discounts above this percent are flagged `needs_approval`.
    pub approval_above_percent: Option<Percent>,
    /// Tenders: cash rounding and offline card policy.
    pub tender_policy: super::tender::TenderPolicy,
    pub returns: ReturnPolicy,
    /// Extra lines at the bottom of receipts.
    pub receipt_footer: Vec<String>,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            store_name: String::new(),
            time_zone: "UTC".to_owned(),
            channel: "pos".to_owned(),
            promotion_mode: Mode::Priority,
            rounding: PricingRounding::default(),
            tax_regime: None,
            approval_above_percent: None,
            tender_policy: super::tender::TenderPolicy::default(),
            returns: ReturnPolicy::default(),
            receipt_footer: Vec::new(),
        }
    }
}

/// Returns without a receipt ("blind") and time limits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReturnPolicy {
    /// Accept returns without the original receipt.
    pub blind_returns: bool,
    /// Most a blind return may refund (None: no limit).
    pub blind_max: Option<Money>,
    /// Days after the sale a receipt return is accepted (None: any time).
    pub return_days: Option<u32>,
}

impl StoreSettings {
    /// Parses and validates settings JSON (`docs/schemas/store-settings.schema.json`).
    pub fn from_json(json: &str) -> Result<StoreSettings> {
        (|| -> Result<StoreSettings> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let s: StoreSettings = serde_path_to_error::deserialize(de)
            .map_err(|e| Error::InvalidArgument(format!("store settings at {}: {}", e.path(), e.inner())))?;
        s.validate()?;
        Ok(s)
    })().map_err(|e| crate::commerce::card_guard::scrub("store settings", e))
    }

    pub fn validate(&self) -> Result<()> {
        self.time_zone()?;
        self.tender_policy.validate()?;
        if let Some(r) = &self.tax_regime {
            // Round-trips through the regime's own validating decoder.
            let json = serde_json::to_string(r).map_err(|e| Error::InvalidArgument(format!("tax regime: {e}")))?;
            TaxRegime::from_json(&json)?;
        }
        Ok(())
    }

    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone> {
        jiff::tz::TimeZone::get(&self.time_zone)
            .map_err(|e| Error::InvalidArgument(format!("store settings: time_zone {:?} is not an IANA time zone: {e}", self.time_zone)))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reads and writes the store's settings and promotions.
pub(crate) fn load_settings(shared: &Shared) -> Result<StoreSettings> {
    let json: Option<String> = shared.read(|c| {
        Ok(c.prepare_cached("SELECT value FROM setting WHERE key = 'store'")?.query_row([], |r| r.get(0)).optional()?)
    })?;
    match json {
        None => Ok(StoreSettings::default()),
        Some(j) => StoreSettings::from_json(&j),
    }
}

pub(crate) fn save_settings(shared: &Shared, settings: &StoreSettings) -> Result<()> {
    settings.validate()?;
    let json = settings.to_json();
    shared.write(|tx| {
        tx.execute("INSERT INTO setting (key, value) VALUES ('store', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [json])?;
        // Recorded for sync (per top-level member) in the same transaction.
        let fields = crate::sync::settings_fields(settings);
        let fields: Vec<(&str, crate::sync::Value)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        crate::sync::record_local(tx, shared.config(), "setting", "store", crate::sync::LocalWrite::Upsert(&fields))?;
        Ok(())
    })?;
    shared.invalidate_rules();
    Ok(())
}

pub(crate) fn load_promotions(shared: &Shared) -> Result<Vec<Promotion>> {
    let json: Option<String> = shared.read(|c| {
        Ok(c.prepare_cached("SELECT value FROM setting WHERE key = 'promotions'")?.query_row([], |r| r.get(0)).optional()?)
    })?;
    match json {
        None => Ok(Vec::new()),
        Some(j) => super::promotions::parse_promotions(&j),
    }
}

pub(crate) fn save_promotions(shared: &Shared, promotions: &[Promotion]) -> Result<()> {
    // Validates (and compiles) before writing.
    PromotionSet::new(promotions, shared.config().currency)?;
    let json = serde_json::to_string(promotions).map_err(|e| Error::InvalidArgument(format!("promotions: {e}")))?;
    shared.write(|tx| {
        tx.execute("INSERT INTO setting (key, value) VALUES ('promotions', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [&json])?;
        let fields = [("json", crate::sync::Value::Text(json.clone()))];
        crate::sync::record_local(tx, shared.config(), "promotions", "all", crate::sync::LocalWrite::Upsert(&fields))?;
        Ok(())
    })?;
    shared.invalidate_rules();
    Ok(())
}

/// Writes a setting (`"store"` or `"promotions"`) that arrived by sync, already validated.
pub(crate) fn write_synced_setting(tx: &rusqlite::Transaction<'_>, key: &str, json: &str) -> std::result::Result<(), crate::edge::Failure> {
    tx.prepare_cached("INSERT INTO setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
        .execute([key, json])?;
    Ok(())
}
