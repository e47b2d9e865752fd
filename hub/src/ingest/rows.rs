//! From a decoded batch to the rows of the ingest tables. Everything is parsed before the
//! database is touched, so a batch with an unreadable known event is refused whole (400) and
//! writes nothing. Events of unknown types, or of a newer version than this hub reads, are kept
//! in `hub_event` only (a newer store is not refused by an older hub).

use aisle::commerce::pricing::Quantity;
use aisle::commerce::{Sale, SaleKind};
use aisle::forward::{Batch, PayloadFormat};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Versions of the typed events this hub reads.
pub const SALE_VERSION: i64 = 1;
pub const INSIGHT_VERSION: i64 = 1;

/// The rows of one batch, for every record in it; the backend keeps those of new records.
#[derive(Debug, Default)]
pub struct Rows {
    pub store: String,
    pub device: String,
    pub stream: String,
    pub events: Vec<EventRow>,
    pub sales: Vec<SaleRow>,
    pub payments: Vec<PaymentRow>,
    pub stock: Vec<StockRow>,
    pub insights: Vec<InsightRow>,
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub at_ms: i64,
    /// The envelope's `type`, when the payload is an envelope.
    pub kind: Option<String>,
    pub version: Option<i64>,
    /// The record as JSON (a JSON stream).
    pub payload: Option<String>,
    /// The record's bytes (a bytes stream, or JSON that PostgreSQL's jsonb cannot hold).
    pub raw: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct SaleRow {
    pub seq: i64,
    pub receipt_no: String,
    /// `sale` or `refund`.
    pub kind: &'static str,
    pub at_ms: i64,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub net_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub lines: i64,
    pub original: Option<String>,
    pub customer_id: Option<String>,
    pub cart_id: Option<String>,
    pub exchange_with: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PaymentRow {
    pub seq: i64,
    pub idx: i64,
    pub receipt_no: String,
    pub at_ms: i64,
    /// `cash`, `card`, `gift_card`, `store_credit`.
    pub kind: String,
    pub currency: String,
    pub amount_minor: i64,
    pub tendered_minor: i64,
    pub change_minor: i64,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub offline: bool,
    pub reference: Option<String>,
}

/// A change of stock: one per sale line (sold: negative) and refund line (returned: positive).
#[derive(Debug, Clone)]
pub struct StockRow {
    pub seq: i64,
    pub idx: i64,
    pub receipt_no: String,
    pub at_ms: i64,
    pub sku: String,
    /// Units in (+) or out (−); a weighed line moves `grams` and one unit.
    pub units: i64,
    pub grams: Option<i64>,
    /// `sale` or `return`.
    pub reason: &'static str,
}

#[derive(Debug, Clone)]
pub struct InsightRow {
    pub seq: i64,
    pub camera: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub frames: i64,
    pub frames_dropped: i64,
    pub model: String,
    pub lines: String,
    pub zones: String,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    version: Option<i64>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Insight<'a> {
    camera: String,
    start_ms: i64,
    end_ms: i64,
    frames: i64,
    frames_dropped: i64,
    model: String,
    #[serde(borrow)]
    lines: &'a RawValue,
    #[serde(borrow)]
    zones: &'a RawValue,
}

fn refuse(seq: u64, detail: String) -> aisle::Error {
    aisle::Error::IngestRejected {
        detail: format!("record seq {seq}: {detail}"),
    }
}

/// The rows of `batch`. Errors (`INGEST_REJECTED`) name the record.
pub fn rows(batch: &Batch) -> Result<Rows, aisle::Error> {
    let mut out = Rows {
        store: batch.store.clone(),
        device: batch.device.clone(),
        stream: batch.stream.clone(),
        events: Vec::with_capacity(batch.records.len()),
        ..Rows::default()
    };
    for r in &batch.records {
        let seq = i64::try_from(r.seq).map_err(|_| refuse(r.seq, "seq beyond 2^63".into()))?;
        let mut ev = EventRow {
            seq,
            at_ms: r.at_ms,
            kind: None,
            version: None,
            payload: None,
            raw: None,
        };
        if batch.format == PayloadFormat::Bytes {
            ev.raw = Some(r.payload.clone());
            out.events.push(ev);
            continue;
        }
        let text = std::str::from_utf8(&r.payload)
            .map_err(|e| refuse(r.seq, format!("not UTF-8: {e}")))?;
        // jsonb cannot hold U+0000; such a record is kept as bytes.
        if text.contains("\\u0000") {
            ev.raw = Some(r.payload.clone());
        } else {
            ev.payload = Some(text.to_owned());
        }
        if let Ok(env) = serde_json::from_str::<Envelope<'_>>(text) {
            ev.kind = Some(env.kind.clone());
            ev.version = env.version;
            let v = env.version.unwrap_or(1);
            match (env.kind.as_str(), env.data) {
                ("SaleCompleted" | "RefundCompleted", Some(data)) if v <= SALE_VERSION => {
                    let sale: Sale = serde_json::from_str(data.get())
                        .map_err(|e| refuse(r.seq, format!("{}: {e}", env.kind)))?;
                    push_sale(&mut out, seq, &sale);
                }
                ("VisionInsight", Some(data)) if v <= INSIGHT_VERSION => {
                    let i: Insight<'_> = serde_json::from_str(data.get())
                        .map_err(|e| refuse(r.seq, format!("VisionInsight: {e}")))?;
                    out.insights.push(InsightRow {
                        seq,
                        camera: i.camera,
                        start_ms: i.start_ms,
                        end_ms: i.end_ms,
                        frames: i.frames,
                        frames_dropped: i.frames_dropped,
                        model: i.model,
                        lines: i.lines.get().to_owned(),
                        zones: i.zones.get().to_owned(),
                    });
                }
                _ => {}
            }
        }
        out.events.push(ev);
    }
    Ok(out)
}

fn push_sale(out: &mut Rows, seq: i64, sale: &Sale) {
    let (kind, reason, sign) = match sale.kind {
        SaleKind::Sale => ("sale", "sale", -1),
        SaleKind::Refund => ("refund", "return", 1),
    };
    out.sales.push(SaleRow {
        seq,
        receipt_no: sale.receipt_no.clone(),
        kind,
        at_ms: sale.at_ms,
        currency: sale.currency.code().to_owned(),
        subtotal_minor: sale.subtotal.minor(),
        discount_minor: sale.discount.minor(),
        net_minor: sale.net.minor(),
        tax_minor: sale.tax.minor(),
        total_minor: sale.total.minor(),
        lines: sale.lines.len() as i64,
        original: sale.original.clone(),
        customer_id: sale.customer.as_ref().and_then(|c| c.id.clone()),
        cart_id: sale.cart_id.clone(),
        exchange_with: sale.exchange_with.clone(),
    });
    for (i, t) in sale.settlement.tenders.iter().enumerate() {
        out.payments.push(PaymentRow {
            seq,
            idx: i as i64,
            receipt_no: sale.receipt_no.clone(),
            at_ms: sale.at_ms,
            kind: serde_json::to_value(t.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            currency: t.amount.currency().code().to_owned(),
            amount_minor: t.amount.minor(),
            tendered_minor: t.tendered.minor(),
            change_minor: t.change.minor(),
            card_brand: t.card.as_ref().map(|c| c.brand.clone()),
            card_last4: t.card.as_ref().map(|c| c.last4.clone()),
            offline: t.card.as_ref().is_some_and(|c| c.offline),
            reference: t
                .reference
                .clone()
                .or_else(|| t.card.as_ref().map(|c| c.token.clone())),
        });
    }
    for (i, l) in sale.lines.iter().enumerate() {
        let (units, grams) = match l.quantity {
            Quantity::Units(n) => (n.abs() * sign, None),
            Quantity::Grams(g) => (sign, Some(g.abs() * sign)),
        };
        out.stock.push(StockRow {
            seq,
            idx: i as i64,
            receipt_no: sale.receipt_no.clone(),
            at_ms: sale.at_ms,
            sku: l.sku.clone(),
            units,
            grams,
            reason,
        });
    }
}

impl Rows {
    /// Keeps only the rows of records whose seq is in `fresh` (sorted).
    pub fn retain_fresh(&mut self, fresh: &[i64]) {
        let keep = |s: &i64| fresh.binary_search(s).is_ok();
        self.events.retain(|r| keep(&r.seq));
        self.sales.retain(|r| keep(&r.seq));
        self.payments.retain(|r| keep(&r.seq));
        self.stock.retain(|r| keep(&r.seq));
        self.insights.retain(|r| keep(&r.seq));
    }
}
