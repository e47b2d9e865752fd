//! Decoder: the store file itself. Arbitrary bytes as a store file must give a store or a typed
//! error, never a panic.
#![no_main]

use aisle::{Currency, Edge, EdgeConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("store.db");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let config = EdgeConfig::new("s", "d", Currency::EUR);
    if let Ok(edge) = Edge::open(&path, config) {
        let _ = edge.catalog().list();
        let _ = edge.cart_ids();
    }
});
