//! Sync message decoding + apply: arbitrary bytes (first byte 0) or arbitrary bodies signed by
//! an enrolled device (first byte 1, so the decoder behind the signature check is reached) must
//! be refused with a typed error or applied — never a panic — and a refused message must leave
//! the replica as it was.
#![no_main]

use aisle::sync::{MemReplica, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut hq = MemReplica::new("hq", "hq-1", Role::Hq, [1; 32]);
    let mut reg = MemReplica::new("s1", "r1", Role::Store, [2; 32]);
    hq.enroll(&reg.card());
    reg.enroll(&hq.card());
    reg.stock_add("A@shelf", 3).unwrap();
    let Some((&mode, rest)) = data.split_first() else { return };
    let message = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        // A genuine message from the register, with its body bytes replaced by the input.
        aisle::sync::fuzz_support::sign_changes(&reg, rest)
    };
    let before = hq.digest();
    let vector = hq.vector();
    match hq.apply(&message) {
        Ok(_) => {}
        Err(e) => {
            assert!(e.code().starts_with("SYNC_"), "{e}");
            assert_eq!((hq.digest(), hq.vector()), (before, vector));
        }
    }
});
