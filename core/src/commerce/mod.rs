//! Commerce: the rules a register, a handheld and a web backend must agree on to the cent.
//!
//! Owns the catalog and carts (and, as they land, price lists, promotions, tax, tenders, sales,
//! returns and exchanges, gift cards and store credit). It must never format money with floats
//! or re-price a recorded sale.

mod cart;
pub mod card_guard;
mod catalog;
pub mod gtin;
pub mod price_list;
pub mod promotions;
pub mod pricing;
pub mod receipt;
pub mod sale;
pub mod settings;
pub mod stored_value;
pub mod tax;
pub mod tender;

pub use cart::{Cart, CartLine, CartStatus, Customer, MAX_GRAMS, MAX_QUANTITY};
pub use catalog::{Catalog, MAX_LABEL_LEN, MAX_SKU_LEN, Product, SoldBy};
pub use gtin::Gtin;
pub use sale::{COMMERCE_STREAM, Exchange, PaidUnits, RefundTo, ReturnItem, Sale, SaleKind, SaleLine, Sales};
pub use stored_value::{
    AccountStatus, EntryType, StoredValue, StoredValueAccount, StoredValueEntry, StoredValueKind, StoredValueMovement,
};
pub use price_list::{PriceContext, PriceList, PriceScope, PriceSource, ResolvedPrice, resolve_in};
pub use tax::{
    InclusiveTarget, LineTax, RateAmount, RateTotal, TaxBreakdown, TaxInputLine, TaxRate, TaxRegime, TaxRounding,
    TaxRoundingLevel, UnitRun,
};
