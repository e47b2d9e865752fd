//! Decoder: forwarded batch bodies as a receiver gets them (JSON or NDJSON, plain, gzip or
//! zstd), through `Ingest::receive`. Never panics; a body that decodes re-encodes to a body
//! that decodes to the same batch; applying it twice applies nothing the second time.
#![no_main]

use aisle::forward::{Batch, BatchFormat, Ingest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&how, body)) = data.split_first() else { return };
    let encoding = match how % 4 {
        0 => None,
        1 => Some("gzip"),
        2 => Some("zstd"),
        _ => Some("identity"),
    };
    if let Ok(batch) = Batch::decode(body) {
        for format in [BatchFormat::Json, BatchFormat::Ndjson] {
            assert_eq!(Batch::decode(&batch.encode(format)).ok().as_ref(), Some(&batch));
        }
    }
    let Ok(ingest) = Ingest::open_in_memory() else { return };
    if let Ok(first) = ingest.receive(body, encoding, |_, _| Ok(())) {
        let again = ingest.receive(body, encoding, |_, _| Ok(())).expect("a body accepted once is accepted again");
        assert_eq!(again.applied, 0, "applied twice");
        assert_eq!(again.duplicates, first.applied + first.duplicates);
    }
});
