//! Merge laws of every sync CRDT type: commutative, associative, idempotent — and a replica
//! that merged the same states in any order, grouping or repetition is the same replica.

use std::collections::BTreeMap;

use aisle::sync::{CartLines, CausalLength, Hlc, Lww, Merge, PnCounter, PnSlot, Record, Stamp, StockLevel, Stocktake, Value};
use proptest::prelude::*;

fn stamp() -> impl Strategy<Value = Stamp> {
    (0u64..20, 1u64..4).prop_map(|(h, s)| Stamp::new(Hlc(h), s))
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), (-3i64..3).prop_map(Value::Int), "[ab]{0,2}".prop_map(Value::Text)]
}

fn lww() -> impl Strategy<Value = Lww<Value>> {
    (value(), stamp()).prop_map(|(v, s)| Lww::new(v, s))
}

fn cl() -> impl Strategy<Value = CausalLength> {
    (0u64..6, stamp()).prop_map(|(len, stamp)| CausalLength { len, stamp })
}

fn counter() -> impl Strategy<Value = PnCounter> {
    prop::collection::btree_map(1u64..4, (0u64..9, 0u64..9, stamp()), 0..3).prop_map(|m| PnCounter {
        slots: m.into_iter().map(|(site, (p, n, stamp))| (site, PnSlot { p, n, stamp })).collect(),
    })
}

fn stock() -> impl Strategy<Value = StockLevel> {
    let take = (-5i64..20, prop::collection::btree_map(1u64..4, -5i64..5, 0..3), stamp())
        .prop_map(|(base, observed, s)| Lww::new(Stocktake { base, observed }, s));
    (counter(), prop::option::of(take)).prop_map(|(moves, stocktake)| StockLevel { moves, stocktake })
}

fn record() -> impl Strategy<Value = Record> {
    (cl(), prop::collection::btree_map("[xyz]", lww(), 0..3))
        .prop_map(|(exists, fields)| Record { exists, fields })
}

fn cart() -> impl Strategy<Value = CartLines> {
    prop::collection::btree_map("[AB]", (cl(), counter()), 0..3).prop_map(|m| CartLines {
        lines: m
            .into_iter()
            .map(|(sku, (exists, quantity))| (sku, aisle::sync::LineState { exists, quantity }))
            .collect::<BTreeMap<_, _>>(),
    })
}

fn merged<T: Merge + Clone>(a: &T, b: &T) -> T {
    let mut x = a.clone();
    x.merge(b);
    x
}

macro_rules! laws {
    ($name:ident, $strategy:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn $name(a in $strategy, b in $strategy, c in $strategy) {
                // commutative
                prop_assert_eq!(merged(&a, &b), merged(&b, &a));
                // associative
                prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
                // idempotent
                prop_assert_eq!(merged(&a, &a), a.clone());
                let ab = merged(&a, &b);
                prop_assert_eq!(merged(&ab, &b), ab.clone());
            }
        }
    };
}

laws!(lww_register_laws, lww());
laws!(causal_length_laws, cl());
laws!(pn_counter_laws, counter());
laws!(stock_level_laws, stock());
laws!(record_laws, record());
laws!(cart_lines_laws, cart());

#[derive(Clone, Debug)]
enum StockOp {
    Add(usize, i64),
    Take(usize, i64),
    Exchange(usize, usize),
}

proptest! {
    /// Replicas doing sales, receipts and stocktakes, exchanging states at random, end with
    /// the same level after a full exchange; with no stocktake it is the sum of every move.
    #[test]
    fn stock_replicas_converge(ops in prop::collection::vec(prop_oneof![
        (0usize..3, -3i64..5).prop_map(|(r, d)| StockOp::Add(r, d)),
        (0usize..3, 0i64..30).prop_map(|(r, n)| StockOp::Take(r, n)),
        (0usize..3, 0usize..3).prop_map(|(a, b)| StockOp::Exchange(a, b)),
    ], 0..30)) {
        let mut reps = vec![StockLevel::default(); 3];
        let mut total = 0;
        let mut took = false;
        for (t, op) in ops.iter().enumerate() {
            let st = |r: usize| Stamp::new(Hlc(t as u64 + 1), r as u64 + 1);
            match *op {
                StockOp::Add(r, d) => { reps[r].add(d, st(r)); total += d; }
                StockOp::Take(r, n) => { reps[r].set_to(n, st(r)); took = true; }
                StockOp::Exchange(a, b) => { let s = reps[b].clone(); reps[a].merge(&s); }
            }
        }
        let all = reps.iter().fold(StockLevel::default(), |acc, r| merged(&acc, r));
        for r in &reps {
            prop_assert_eq!(merged(r, &all).value(), all.value());
        }
        if !took {
            prop_assert_eq!(all.value(), total);
        }
    }
}
