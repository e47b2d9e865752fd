//! The commerce API: store settings and rules, weighed goods, manual prices and discounts,
//! customers and coupons, pricing, completing a sale, receipts and returns.
//!
//! Glue only, like the rest of the binding: arguments that are documents (tenders, customers,
//! discounts, settings) are read with `json::from_js`/`json::to_json` and decoded by the core's
//! own types; results that are documents (priced carts, sales, receipts) leave as
//! `json::Document`s. Every rule — what a tender may be, how a return is refunded — is the
//! core's.

use aisle::commerce::pricing::{ManualDiscount, PriceOverride};
use aisle::commerce::receipt::DEFAULT_RECEIPT_WIDTH;
use aisle::commerce::settings::StoreSettings;
use aisle::commerce::tender::TenderInput;
use aisle::commerce::{Customer, PriceList, ReturnItem};
use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi_derive::napi;

use crate::error::{Code, invalid_argument, to_napi_err};
use crate::json::{Document, decode, from_js, to_json};
use crate::number::integer_arg;
use crate::store::{Cart, Edge, Product};
use crate::stored_value::parse_kind;
use crate::task::Job;

/// Where a refund goes: `"original_tenders"` (cards first, up to what each paid, then cash)
/// or `"store_credit"`.
#[napi(string_enum)]
pub enum RefundTo {
    #[napi(value = "original_tenders")]
    OriginalTenders,
    #[napi(value = "store_credit")]
    StoreCredit,
}

/// Where a cart is in its life: only an `"open"` cart can change or be completed (the others
/// throw `CART_CLOSED`). `"completed"`: paid, recorded by a sale. `"void"`: abandoned.
#[napi(string_enum)]
pub enum CartStatus {
    #[napi(value = "open")]
    Open,
    #[napi(value = "completed")]
    Completed,
    #[napi(value = "void")]
    Void,
}

impl From<aisle::commerce::CartStatus> for CartStatus {
    fn from(status: aisle::commerce::CartStatus) -> Self {
        match status {
            aisle::commerce::CartStatus::Open => CartStatus::Open,
            aisle::commerce::CartStatus::Completed => CartStatus::Completed,
            aisle::commerce::CartStatus::Void => CartStatus::Void,
        }
    }
}

fn parse_refund_to(value: Option<String>) -> napi::Result<aisle::commerce::RefundTo, Code> {
    match value {
        None => Ok(aisle::commerce::RefundTo::default()),
        Some(text) => decode(&serde_json::Value::String(text).to_string(), "refundTo"),
    }
}

/// The `width` argument of `receiptText`: a whole, non-negative number of characters.
fn receipt_width(width: Option<f64>) -> napi::Result<usize, Code> {
    match width {
        None => Ok(DEFAULT_RECEIPT_WIDTH),
        Some(w) => {
            let w = integer_arg("width", w)?;
            usize::try_from(w).map_err(|_| invalid_argument(format!("width must not be negative, got {w}")))
        }
    }
}

fn encode_json<T: serde::Serialize>(value: &T, what: &str) -> napi::Result<String, Code> {
    serde_json::to_string(value).map_err(|e| invalid_argument(format!("cannot encode {what}: {e}")))
}

#[napi]
impl Edge {
    // ---- settings and rules -----------------------------------------------------------------

    /// The store's settings (tax regime, time zone, rounding, tender and return policy,
    /// receipt texts) as JSON; the defaults until set.
    #[napi]
    pub fn settings_json(&self) -> napi::Result<String, Code> {
        Ok(self.inner.settings().map_err(to_napi_err)?.to_json())
    }

    /// Validates and stores settings JSON. A bad field is `INVALID_ARGUMENT` naming its path, a
    /// bad tax regime `INVALID_TAX_REGIME`, a bad tender policy `INVALID_TENDER_POLICY`; the
    /// old settings then stay.
    #[napi]
    pub fn set_settings_json(&self, json: String) -> napi::Result<(), Code> {
        let settings = StoreSettings::from_json(&json).map_err(to_napi_err)?;
        self.inner.set_settings(&settings).map_err(to_napi_err)
    }

    /// The store's settings as an object (see `settingsJson`).
    #[napi(ts_return_type = "StoreSettings")]
    pub fn settings(&self) -> napi::Result<Document, Code> {
        let json = self.inner.settings().map_err(to_napi_err)?.to_json();
        Document::from_text(json, "the store settings")
    }

    /// `setSettingsJson` with an object.
    #[napi]
    pub fn set_settings(&self, #[napi(ts_arg_type = "StoreSettings")] settings: Unknown) -> napi::Result<(), Code> {
        self.set_settings_json(to_json(settings, "settings")?)
    }

    /// The store's promotions as a JSON array.
    #[napi]
    pub fn promotions_json(&self) -> napi::Result<String, Code> {
        encode_json(&self.inner.promotions().map_err(to_napi_err)?, "the promotions")
    }

    /// Validates and replaces the store's promotions (a JSON array): all or none. A bad field
    /// is `PROMO_INVALID_RULE` naming its JSON path, e.g. `[0].rule.percent`.
    #[napi]
    pub fn set_promotions_json(&self, json: String) -> napi::Result<(), Code> {
        self.inner.set_promotions_json(&json).map_err(to_napi_err)
    }

    /// The store's promotions as objects.
    #[napi(ts_return_type = "Promotion[]")]
    pub fn promotions(&self) -> napi::Result<Document, Code> {
        Document::of(&self.inner.promotions().map_err(to_napi_err)?, "the promotions")
    }

    /// `setPromotionsJson` with an array of objects.
    #[napi]
    pub fn set_promotions(&self, #[napi(ts_arg_type = "Promotion[]")] promotions: Unknown) -> napi::Result<(), Code> {
        self.set_promotions_json(to_json(promotions, "promotions")?)
    }

    /// Adds a price list (JSON, `docs/schemas/price-list.schema.json`) or replaces the one with
    /// the same id; `INVALID_PRICE_LIST` naming the field if it is not acceptable.
    #[napi]
    pub fn upsert_price_list_json(&self, json: String) -> napi::Result<(), Code> {
        let list = PriceList::from_json(&json).map_err(to_napi_err)?;
        self.inner.catalog().upsert_price_list(&list).map_err(to_napi_err)
    }

    /// `upsertPriceListJson` with an object.
    #[napi]
    pub fn upsert_price_list(&self, #[napi(ts_arg_type = "PriceList")] list: Unknown) -> napi::Result<(), Code> {
        self.upsert_price_list_json(to_json(list, "list")?)
    }

    /// Every price list, ordered by id, as a JSON array.
    #[napi]
    pub fn price_lists_json(&self) -> napi::Result<String, Code> {
        encode_json(&self.inner.catalog().price_lists().map_err(to_napi_err)?, "the price lists")
    }

    /// Every price list, ordered by id.
    #[napi(ts_return_type = "PriceList[]")]
    pub fn price_lists(&self) -> napi::Result<Document, Code> {
        Document::of(&self.inner.catalog().price_lists().map_err(to_napi_err)?, "the price lists")
    }

    /// The product with this barcode, in any standard length (UPC-A `036000291452` and
    /// EAN-13 `0036000291452` are the same GTIN). `INVALID_BARCODE` for a malformed code,
    /// `UNKNOWN_BARCODE` if no product has it.
    #[napi]
    pub fn product_by_barcode(&self, code: String) -> napi::Result<Product, Code> {
        self.inner.catalog().by_barcode(&code).map(Product::from).map_err(to_napi_err)
    }

    // ---- sales, receipts, returns -----------------------------------------------------------

    /// The sale or refund with this receipt number; `UNKNOWN_RECEIPT` if there is none.
    #[napi(ts_return_type = "Sale")]
    pub fn sale(&self, receipt_no: String) -> napi::Result<Document, Code> {
        Document::of(&self.inner.sales().get(&receipt_no).map_err(to_napi_err)?, "the sale")
    }

    /// Receipt numbers of every sale and refund, oldest first.
    #[napi]
    pub fn receipt_numbers(&self) -> napi::Result<Vec<String>, Code> {
        self.inner.sales().receipt_numbers().map_err(to_napi_err)
    }

    /// The receipt of a sale or refund, as data (for apps that draw their own).
    #[napi(ts_return_type = "Receipt")]
    pub fn receipt(&self, receipt_no: String) -> napi::Result<Document, Code> {
        Document::of(&self.inner.sales().receipt(&receipt_no).map_err(to_napi_err)?, "the receipt")
    }

    /// The receipt of a sale or refund as JSON.
    #[napi]
    pub fn receipt_json(&self, receipt_no: String) -> napi::Result<String, Code> {
        encode_json(&self.inner.sales().receipt(&receipt_no).map_err(to_napi_err)?, "the receipt")
    }

    /// The receipt as plain text for a receipt printer: lines ending in a newline, none longer
    /// than `width` characters (default 48, an 80 mm printer).
    #[napi]
    pub fn receipt_text(&self, receipt_no: String, width: Option<f64>) -> napi::Result<String, Code> {
        let width = receipt_width(width)?;
        let receipt = self.inner.sales().receipt(&receipt_no).map_err(to_napi_err)?;
        Ok(receipt.render_text(width))
    }

    /// `receiptText` as a Promise: the receipt is read and rendered on the thread pool.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn receipt_text_async(&self, receipt_no: String, width: Option<f64>) -> AsyncTask<Job<String>> {
        let edge = self.inner.clone();
        Job::spawn_with(receipt_width(width), move |width| {
            let receipt = edge.sales().receipt(&receipt_no).map_err(to_napi_err)?;
            Ok(receipt.render_text(width))
        })
    }

    /// Returns items of a sale: `quantity` units of line `line_no` each (a weighed line: 1).
    /// Refunds what those units paid at the time (lowest-paid units first; never re-priced)
    /// to the original tenders, or as store credit, and records the refund with its own
    /// receipt number. `RETURN_REFUSED` for more than is left to return, a line the sale does
    /// not have, a refund, or a sale older than the store's return window.
    #[napi(ts_return_type = "Sale")]
    pub fn return_items(
        &self,
        receipt_no: String,
        #[napi(ts_arg_type = "ReturnItem[]")] items: Unknown,
        reason: String,
        #[napi(ts_arg_type = "RefundTo")] refund_to: Option<String>,
    ) -> napi::Result<Document, Code> {
        let items: Vec<ReturnItem> = from_js(items, "items")?;
        let refund = self
            .inner
            .sales()
            .return_items(&receipt_no, &items, &reason, parse_refund_to(refund_to)?)
            .map_err(to_napi_err)?;
        Document::of(&refund, "the refund")
    }

    /// `returnItems` as a Promise: the refund is computed and recorded on the thread pool.
    #[napi(ts_return_type = "Promise<Sale>")]
    pub fn return_items_async(
        &self,
        receipt_no: String,
        #[napi(ts_arg_type = "ReturnItem[]")] items: Unknown,
        reason: String,
        #[napi(ts_arg_type = "RefundTo")] refund_to: Option<String>,
    ) -> AsyncTask<Job<Document>> {
        let edge = self.inner.clone();
        let args = from_js::<Vec<ReturnItem>>(items, "items").and_then(|items| Ok((items, parse_refund_to(refund_to)?)));
        Job::spawn_with(args, move |(items, refund_to)| {
            let refund = edge.sales().return_items(&receipt_no, &items, &reason, refund_to).map_err(to_napi_err)?;
            Document::of(&refund, "the refund")
        })
    }

    /// Like `returnItems`, refunding the whole amount to an existing gift card or store credit
    /// account (e.g. the customer's store credit). The account must be active, unexpired and
    /// in the sale's currency (`STORED_VALUE_*` errors otherwise).
    #[napi(ts_return_type = "Sale")]
    pub fn return_items_to_account(
        &self,
        receipt_no: String,
        #[napi(ts_arg_type = "ReturnItem[]")] items: Unknown,
        reason: String,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        account_id: String,
    ) -> napi::Result<Document, Code> {
        let items: Vec<ReturnItem> = from_js(items, "items")?;
        let kind = parse_kind(kind)?;
        let refund = self
            .inner
            .sales()
            .return_items_to_account(&receipt_no, &items, &reason, kind, &account_id)
            .map_err(to_napi_err)?;
        Document::of(&refund, "the refund")
    }

    /// `returnItemsToAccount` as a Promise.
    #[napi(ts_return_type = "Promise<Sale>")]
    pub fn return_items_to_account_async(
        &self,
        receipt_no: String,
        #[napi(ts_arg_type = "ReturnItem[]")] items: Unknown,
        reason: String,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        account_id: String,
    ) -> AsyncTask<Job<Document>> {
        let edge = self.inner.clone();
        let args = from_js::<Vec<ReturnItem>>(items, "items").and_then(|items| Ok((items, parse_kind(kind)?)));
        Job::spawn_with(args, move |(items, kind)| {
            let refund = edge
                .sales()
                .return_items_to_account(&receipt_no, &items, &reason, kind, &account_id)
                .map_err(to_napi_err)?;
            Document::of(&refund, "the refund")
        })
    }

    /// An exchange in one call: returns `items` of `originalReceipt` and sells `newCart`, as
    /// two linked receipts (the refund, then the sale; each names the other in
    /// `exchange_with`), all or nothing. The returned goods pay for the new cart first (as
    /// store credit through the account `SC-<refund receipt number>`). If the new cart costs
    /// more, `tenders` pay the difference; if it costs less, `tenders` must be empty and the
    /// excess goes back per `excessTo` (default `"original_tenders"`) or stays as store credit
    /// (`"store_credit"`). `difference` is what the customer paid (positive) or got back
    /// (negative). Errors: those of `returnItems` and `cart.complete`.
    #[napi(ts_return_type = "Exchange")]
    pub fn exchange(
        &self,
        original_receipt: String,
        #[napi(ts_arg_type = "ReturnItem[]")] items: Unknown,
        new_cart: &Cart,
        #[napi(ts_arg_type = "TenderInput[]")] tenders: Unknown,
        reason: String,
        #[napi(ts_arg_type = "RefundTo")] excess_to: Option<String>,
    ) -> napi::Result<Document, Code> {
        let items: Vec<ReturnItem> = from_js(items, "items")?;
        let tenders: Vec<TenderInput> = from_js(tenders, "tenders")?;
        let exchange = self
            .inner
            .sales()
            .exchange(&original_receipt, &items, &new_cart.inner, &tenders, &reason, parse_refund_to(excess_to)?)
            .map_err(to_napi_err)?;
        Document::of(&exchange, "the exchange")
    }

    /// `exchange` as a Promise: the arguments are read now, the exchange is recorded on the
    /// thread pool.
    #[napi(ts_return_type = "Promise<Exchange>")]
    pub fn exchange_async(
        &self,
        original_receipt: String,
        #[napi(ts_arg_type = "ReturnItem[]")] items: Unknown,
        new_cart: &Cart,
        #[napi(ts_arg_type = "TenderInput[]")] tenders: Unknown,
        reason: String,
        #[napi(ts_arg_type = "RefundTo")] excess_to: Option<String>,
    ) -> AsyncTask<Job<Document>> {
        let (edge, cart) = (self.inner.clone(), new_cart.inner.clone());
        let args = from_js::<Vec<ReturnItem>>(items, "items").and_then(|items| {
            Ok((items, from_js::<Vec<TenderInput>>(tenders, "tenders")?, parse_refund_to(excess_to)?))
        });
        Job::spawn_with(args, move |(items, tenders, excess_to)| {
            let exchange = edge
                .sales()
                .exchange(&original_receipt, &items, &cart, &tenders, &reason, excess_to)
                .map_err(to_napi_err)?;
            Document::of(&exchange, "the exchange")
        })
    }
}

#[napi]
impl Cart {
    /// Adds a product sold by weight: `grams` from the scale (a whole number), added to any
    /// weight already on its line. `INVALID_QUANTITY` for a product sold by the piece or a
    /// weight outside 1 g to 1 t.
    #[napi]
    pub fn add_weighed(&self, sku: String, grams: f64) -> napi::Result<(), Code> {
        let grams = integer_arg("grams", grams)?;
        self.inner.add_weighed(&sku, grams).map_err(to_napi_err)
    }

    /// Sets the weight of a weighed line, adding it if absent; 0 removes the line.
    #[napi]
    pub fn set_weight(&self, sku: String, grams: f64) -> napi::Result<(), Code> {
        let grams = integer_arg("grams", grams)?;
        self.inner.set_weight(&sku, grams).map_err(to_napi_err)
    }

    /// Sets a manual unit price (per kilogram for a weighed line) with the reason, or clears
    /// it with `null`. An overridden line takes no promotions.
    #[napi]
    pub fn set_price_override(
        &self,
        sku: String,
        #[napi(ts_arg_type = "PriceOverrideInput | null")] price_override: Option<Unknown>,
    ) -> napi::Result<(), Code> {
        let price_override: Option<PriceOverride> =
            price_override.map(|o| from_js(o, "priceOverride")).transpose()?;
        self.inner.set_price_override(&sku, price_override.as_ref()).map_err(to_napi_err)
    }

    /// Sets a manual discount on a line (a percent as text, e.g. `"12.5"`, or an amount,
    /// with the reason), applied after promotions; `null` clears it.
    #[napi]
    pub fn set_line_discount(
        &self,
        sku: String,
        #[napi(ts_arg_type = "DiscountInput | null")] discount: Option<Unknown>,
    ) -> napi::Result<(), Code> {
        let discount: Option<ManualDiscount> = discount.map(|d| from_js(d, "discount")).transpose()?;
        self.inner.set_line_discount(&sku, discount.as_ref()).map_err(to_napi_err)
    }

    /// Sets a manual discount on the whole order, applied last and spread over the lines;
    /// `null` clears it.
    #[napi]
    pub fn set_order_discount(
        &self,
        #[napi(ts_arg_type = "DiscountInput | null")] discount: Option<Unknown>,
    ) -> napi::Result<(), Code> {
        let discount: Option<ManualDiscount> = discount.map(|d| from_js(d, "discount")).transpose()?;
        self.inner.set_order_discount(discount.as_ref()).map_err(to_napi_err)
    }

    /// Attaches the customer (their group selects price lists and promotions; `tax_exempt`
    /// removes tax), or detaches it with `null`.
    #[napi]
    pub fn set_customer(
        &self,
        #[napi(ts_arg_type = "Customer | null")] customer: Option<Unknown>,
    ) -> napi::Result<(), Code> {
        let customer: Option<Customer> = customer.map(|c| from_js(c, "customer")).transpose()?;
        self.inner.set_customer(customer.as_ref()).map_err(to_napi_err)
    }

    /// The attached customer, or `null`.
    #[napi(ts_return_type = "Customer | null")]
    pub fn customer(&self) -> napi::Result<Option<Document>, Code> {
        let customer = self.inner.customer().map_err(to_napi_err)?;
        customer.map(|c| Document::of(&c, "the customer")).transpose()
    }

    /// Enters a coupon code (kept upper-case). Whether it applies is decided when the cart is
    /// priced: see `coupons` of `price()` — never an exception.
    #[napi]
    pub fn add_coupon(&self, code: String) -> napi::Result<(), Code> {
        self.inner.add_coupon(&code).map_err(to_napi_err)
    }

    /// Removes a coupon code (absent is fine).
    #[napi]
    pub fn remove_coupon(&self, code: String) -> napi::Result<(), Code> {
        self.inner.remove_coupon(&code).map_err(to_napi_err)
    }

    /// The coupon codes entered, sorted.
    #[napi]
    pub fn coupons(&self) -> napi::Result<Vec<String>, Code> {
        self.inner.coupons().map_err(to_napi_err)
    }

    /// `"open"`, `"completed"` or `"void"`. Only an open cart can change or be completed
    /// (else `CART_CLOSED`).
    #[napi]
    pub fn status(&self) -> napi::Result<CartStatus, Code> {
        self.inner.status().map(CartStatus::from).map_err(to_napi_err)
    }

    /// Prices the cart now: price lists, promotions, manual discounts and tax, by the store's
    /// settings (which need a tax regime). Every adjustment is listed per line and per unit.
    #[napi(ts_return_type = "PricedCart")]
    pub fn price(&self) -> napi::Result<Document, Code> {
        Document::of(&self.inner.price().map_err(to_napi_err)?, "the priced cart")
    }

    /// `price()` as a Promise: the cart is read and priced on the thread pool.
    #[napi(ts_return_type = "Promise<PricedCart>")]
    pub fn price_async(&self) -> AsyncTask<Job<Document>> {
        let cart = self.inner.clone();
        Job::spawn(move || Document::of(&cart.price().map_err(to_napi_err)?, "the priced cart"))
    }

    /// Completes the sale: prices the cart, settles `tenders` (non-cash first, then cash with
    /// the store's cash rounding and change) and records the sale, its receipt number and its
    /// event in one transaction. The cart is then closed. Tender errors:
    /// `INSUFFICIENT_TENDER`, `TENDER_EXCEEDS_DUE`, `INVALID_TENDER`, `CARD_NUMBER_REFUSED`,
    /// `OFFLINE_NOT_ALLOWED`, `OFFLINE_LIMIT_EXCEEDED`.
    #[napi(ts_return_type = "Sale")]
    pub fn complete(&self, #[napi(ts_arg_type = "TenderInput[]")] tenders: Unknown) -> napi::Result<Document, Code> {
        let tenders: Vec<TenderInput> = from_js(tenders, "tenders")?;
        Document::of(&self.inner.complete(&tenders).map_err(to_napi_err)?, "the sale")
    }

    /// `complete()` as a Promise: the tenders are read now, and the cart is priced, settled
    /// and recorded on the thread pool. Rejects with the same errors `complete()` throws.
    #[napi(ts_return_type = "Promise<Sale>")]
    pub fn complete_async(&self, #[napi(ts_arg_type = "TenderInput[]")] tenders: Unknown) -> AsyncTask<Job<Document>> {
        let cart = self.inner.clone();
        Job::spawn_with(from_js::<Vec<TenderInput>>(tenders, "tenders"), move |tenders| {
            Document::of(&cart.complete(&tenders).map_err(to_napi_err)?, "the sale")
        })
    }
}
