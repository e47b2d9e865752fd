//! The one place a core error becomes a JS error.
//!
//! A function that can fail returns `napi::Result<T, Code>` (spelled out: napi-derive looks for
//! a type named `Result` to know it should throw the `Err`). napi turns `Error<Code>` into a
//! plain JS `Error` whose `code` is the core's stable code and whose `message` is the core's
//! Display text, e.g. `err.code === "UNKNOWN_SKU"`,
//! `err.message === 'UNKNOWN_SKU: no product with SKU "X" in catalog'`.

/// A core error code (`aisle::Error::code()`), used as the `code` of the thrown JS error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code(&'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// Converts a core error into the error napi throws.
pub fn to_napi_err(err: aisle::Error) -> napi::Error<Code> {
    napi::Error::new(Code(err.code()), err.to_string())
}
