//! The one place a core error becomes a JS error.
//!
//! A function that can fail returns `napi::Result<T, Code>` (spelled out: napi-derive looks for
//! a type named `Result` to know it should throw the `Err`). napi turns `Error<Code>` into a
//! plain JS `Error` whose `code` is the core's stable code and whose `message` is the core's
//! Display text, e.g. `err.code === "UNKNOWN_SKU"`,
//! `err.message === 'UNKNOWN_SKU: no product with SKU "X" in catalog'`.

/// The `code` of a thrown JS error: a core error code (`aisle::Error::code()`), or, for a
/// failure of napi itself (never a rule of the store), napi's status name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Core(&'static str),
    Napi(napi::Status),
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::Core(code) => code,
            Code::Napi(status) => status.as_ref(),
        }
    }
}

/// Converts a core error into the error napi throws.
pub fn to_napi_err(err: aisle::Error) -> napi::Error<Code> {
    napi::Error::new(Code::Core(err.code()), err.to_string())
}

/// `INVALID_ARGUMENT` with `message`: a JS value that cannot become the core value it stands for.
pub fn invalid_argument(message: String) -> napi::Error<Code> {
    to_napi_err(aisle::Error::InvalidArgument(message))
}

/// Keeps a failure of napi itself (creating a JS value, reading a property) with napi's code.
pub fn from_napi(err: napi::Error) -> napi::Error<Code> {
    napi::Error::new(Code::Napi(err.status), err.reason.clone())
}
