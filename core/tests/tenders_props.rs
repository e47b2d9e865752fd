//! Property tests of tender settlement and refund allocation: over random totals (sales and
//! refunds), tender mixes, cash rounding configurations and sequences of partial returns,
//! every invariant `aisle::commerce::tender` promises holds, and bad input is a typed error,
//! never a panic.

use aisle::commerce::tender::{
    CardAuth, CashRounding, OfflinePolicy, RefundPart, SettledTender, Settlement, TenderInput, TenderKind,
    TenderPolicy, refund_settlement, refund_split, settle,
};
use aisle::{Currency, Money, RoundingMode};
use proptest::prelude::*;

const CUR: Currency = Currency::CHF;
const NOW_MS: i64 = 1_700_000_000_000;

fn chf(minor: i64) -> Money {
    Money::new(minor, CUR)
}

fn mode() -> impl Strategy<Value = RoundingMode> {
    prop::sample::select(RoundingMode::ALL.to_vec())
}

fn rounding() -> impl Strategy<Value = Option<CashRounding>> {
    prop_oneof![
        1 => Just(None),
        3 => (prop::sample::select(vec![1i64, 2, 5, 10, 25, 50, 100]), mode())
            .prop_map(|(increment, mode)| Some(CashRounding { increment, mode })),
    ]
}

fn card(i: usize, offline: bool) -> CardAuth {
    CardAuth {
        token: format!("tok_{i}"),
        brand: "VISA".into(),
        last4: format!("{:04}", i % 10_000),
        auth_code: if offline { None } else { Some(format!("A{i}")) },
        offline,
        authorized_at_ms: NOW_MS - 1_000,
    }
}

/// A non-cash tender of `amount`; index `i` makes its token or reference unique.
fn non_cash(kind: u8, amount: Money, i: usize) -> TenderInput {
    match kind % 3 {
        0 => TenderInput::card(amount, card(i, false)),
        1 => TenderInput::gift_card(amount, format!("GC-{i}")),
        _ => TenderInput::store_credit(amount, format!("SC-{i}")),
    }
}

/// What identifies an original tender in a refund part (tests give each a unique one).
fn key(kind: TenderKind, card: Option<&CardAuth>, reference: Option<&str>) -> String {
    format!("{kind}/{}/{}", card.map_or("", |c| c.token.as_str()), reference.unwrap_or(""))
}

fn round(r: &Option<CashRounding>, m: Money) -> Money {
    match r {
        Some(r) => r.apply(m).unwrap(),
        None => m,
    }
}

/// A valid payment of `total` (sign gives the direction): non-cash parts from `fractions`
/// (per-mille of what is still due), the rest in cash (plus `extra` handed over on a sale),
/// split over one or two cash tenders, cash placed at `cash_at` among the non-cash tenders.
#[derive(Debug, Clone)]
struct Mix {
    total: i64,
    non_cash: Vec<(u8, u16)>,
    extra: i64,
    split_cash: Option<u16>,
    cash_at: usize,
    rounding: Option<CashRounding>,
}

fn mix() -> impl Strategy<Value = Mix> {
    (
        prop_oneof![3 => 0i64..=100_000, 1 => 0i64..=50, 1 => 1_000_000_000i64..=1_000_000_000_000],
        any::<bool>(),
        prop::collection::vec((any::<u8>(), 0u16..=1000), 0..=3),
        prop_oneof![2 => Just(0i64), 3 => 0i64..=10_000],
        prop::option::of(1u16..1000),
        0usize..4,
        rounding(),
    )
        .prop_map(|(magnitude, refund, non_cash, extra, split_cash, cash_at, rounding)| Mix {
            total: if refund { -magnitude } else { magnitude },
            non_cash,
            extra,
            split_cash,
            cash_at,
            rounding,
        })
}

/// A mix for a sale of at least 0.01.
fn sale_mix() -> impl Strategy<Value = Mix> {
    mix().prop_map(|mut m| {
        m.total = m.total.abs().max(1);
        m
    })
}

fn build(m: &Mix) -> Vec<TenderInput> {
    let sign = if m.total < 0 { -1 } else { 1 };
    let mut left = m.total.abs();
    let mut tenders = Vec::new();
    for (i, &(kind, per_mille)) in m.non_cash.iter().enumerate() {
        let amount = (i128::from(left) * i128::from(per_mille) / 1000) as i64;
        if amount == 0 {
            continue;
        }
        left -= amount;
        tenders.push(non_cash(kind, chf(sign * amount), i));
    }
    let rest = chf(sign * left);
    let cash_due = round(&m.rounding, rest).minor().abs();
    let handed = if m.total < 0 { cash_due } else { cash_due + m.extra };
    let mut cash = Vec::new();
    match m.split_cash {
        // Two cash tenders: the first strictly less than what is due, so the second is needed.
        Some(per_mille) if cash_due >= 2 => {
            let first = (i128::from(cash_due - 1) * i128::from(per_mille) / 1000) as i64;
            let first = first.max(1);
            cash.push(TenderInput::cash(chf(sign * first)));
            cash.push(TenderInput::cash(chf(sign * (handed - first))));
        }
        // No cash tender when nothing is due in cash (it would not be needed).
        _ if cash_due > 0 => cash.push(TenderInput::cash(chf(sign * handed))),
        _ => {}
    }
    let at = m.cash_at.min(tenders.len());
    for (k, c) in cash.into_iter().enumerate() {
        tenders.insert(at + k, c);
    }
    tenders
}

fn policy(r: Option<CashRounding>) -> TenderPolicy {
    TenderPolicy { cash_rounding: r, offline: None }
}

/// Every invariant of a successful settlement.
fn check_settlement(total: Money, tenders: &[TenderInput], r: &Option<CashRounding>, s: &Settlement) {
    let applied = Money::sum(CUR, s.tenders.iter().map(|t| t.amount)).unwrap();
    assert_eq!(applied, s.due, "sum of applied amounts is what is due");
    assert_eq!(s.due.checked_sub(total).unwrap(), s.cash_rounding, "due − total is the cash rounding");
    match r {
        Some(r) => assert!(s.cash_rounding.minor().abs() < r.increment, "{:?} within {}", s.cash_rounding, r.increment),
        None => assert!(s.cash_rounding.is_zero()),
    }
    assert_eq!(s.tenders.len(), tenders.len());
    let cash_handed: i64 = tenders.iter().filter(|t| t.kind == TenderKind::Cash).map(|t| t.amount.minor()).sum();
    assert!(!s.change.is_negative(), "change {:?} is never negative", s.change);
    if total.is_negative() {
        assert!(s.change.is_zero(), "a refund gives no change");
    }
    if !s.change.is_zero() {
        assert!(s.change.minor() < cash_handed, "change {:?} < cash handed over {cash_handed}", s.change);
    }
    for (t, st) in tenders.iter().zip(&s.tenders) {
        assert_eq!(st.kind, t.kind);
        assert_eq!(st.tendered, t.amount);
        assert_eq!(st.tendered.checked_sub(st.amount).unwrap(), st.change);
        if t.kind != TenderKind::Cash {
            assert_eq!(st.amount, t.amount, "non-cash amounts are applied unchanged");
            assert!(st.change.is_zero());
        } else {
            assert!(!st.change.is_negative());
            assert!(st.amount.minor().signum() == t.amount.minor().signum(), "cash applies in its direction");
            assert!(st.change.is_zero() || st.change.minor() < st.tendered.minor());
        }
    }
    assert_eq!(Money::sum(CUR, tenders.iter().map(|t| t.amount)).unwrap(), s.paid);
    assert_eq!(s.paid.checked_sub(s.change).unwrap(), s.due, "paid − change = due");
    // The cash part is the rounded rest and nothing else.
    let non_cash: i64 = tenders.iter().filter(|t| t.kind != TenderKind::Cash).map(|t| t.amount.minor()).sum();
    let cash_applied: i64 = s.tenders.iter().filter(|t| t.kind == TenderKind::Cash).map(|t| t.amount.minor()).sum();
    assert_eq!(chf(cash_applied), round(r, chf(total.minor() - non_cash)));
    assert!(s.offline_authorizations.is_empty());
}

const EXPECTED_CODES: &[&str] = &[
    "INVALID_TENDER",
    "INSUFFICIENT_TENDER",
    "TENDER_EXCEEDS_DUE",
    "MONEY_OVERFLOW",
    "OFFLINE_NOT_ALLOWED",
    "OFFLINE_LIMIT_EXCEEDED",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn valid_payments_settle_with_every_invariant(m in mix()) {
        let tenders = build(&m);
        let total = chf(m.total);
        let s = settle(total, &tenders, &policy(m.rounding), chf(0), NOW_MS)
            .unwrap_or_else(|e| panic!("{m:?}\n{tenders:?}\n{e}"));
        check_settlement(total, &tenders, &m.rounding, &s);
        if m.total < 0 || m.extra == 0 {
            prop_assert!(s.change.is_zero());
        }
        // Serialises, and reads back the same.
        let json = serde_json::to_string(&s).unwrap();
        let back: Settlement = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, s);
    }

    #[test]
    fn too_little_is_insufficient(m in mix(), short in 1i64..=1_000) {
        let mut tenders = build(&m);
        // Take `short` off the last cash tender (dropping it if that empties it).
        let Some(i) = tenders.iter().rposition(|t| t.kind == TenderKind::Cash) else { return Ok(()) };
        let sign = tenders[i].amount.minor().signum();
        let cash_total: i64 = tenders.iter().filter(|t| t.kind == TenderKind::Cash).map(|t| t.amount.minor().abs()).sum();
        let due_in_cash = cash_total - if m.total < 0 { 0 } else { m.extra };
        let short = short.min(tenders[i].amount.minor().abs());
        if short <= cash_total - due_in_cash {
            return Ok(()); // still covered by the extra handed over
        }
        let left = tenders[i].amount.minor() - sign * short;
        if left == 0 {
            tenders.remove(i);
        } else {
            tenders[i].amount = chf(left);
        }
        let err = settle(chf(m.total), &tenders, &policy(m.rounding), chf(0), NOW_MS).unwrap_err();
        prop_assert_eq!(err.code(), "INSUFFICIENT_TENDER", "{}", err);
    }

    #[test]
    fn non_cash_over_the_total_is_refused(m in mix(), over in 1i64..=10_000) {
        let sign = if m.total < 0 { -1 } else { 1 };
        let mut tenders = build(&m);
        tenders.retain(|t| t.kind == TenderKind::Cash);
        tenders.push(non_cash(0, chf(sign * (m.total.abs() + over)), 99));
        let err = settle(chf(m.total), &tenders, &policy(m.rounding), chf(0), NOW_MS).unwrap_err();
        prop_assert_eq!(err.code(), "TENDER_EXCEEDS_DUE", "{}", err);
    }

    #[test]
    fn arbitrary_input_is_settled_or_refused_with_a_typed_error(
        total in prop_oneof![any::<i64>(), -100_000i64..=100_000],
        raw in prop::collection::vec((0u8..4, prop_oneof![any::<i64>(), -100_000i64..=100_000], any::<bool>()), 0..=5),
        r in rounding(),
        offline in prop::option::of((0i64..=100_000, 0i64..=200_000)),
        exposure in 0i64..=200_000,
    ) {
        let tenders: Vec<TenderInput> = raw
            .iter()
            .enumerate()
            .map(|(i, &(kind, amount, flag))| match kind {
                0 => TenderInput::cash(chf(amount)),
                1 => TenderInput::card(chf(amount), card(i, flag)),
                2 => TenderInput::gift_card(chf(amount), format!("GC-{i}")),
                _ => TenderInput::store_credit(chf(amount), format!("SC-{i}")),
            })
            .collect();
        let p = TenderPolicy {
            cash_rounding: r,
            offline: offline.map(|(floor, cap)| OfflinePolicy { floor_limit: chf(floor), max_exposure: chf(cap), expiry_ms: 60_000 }),
        };
        match settle(chf(total), &tenders, &p, chf(exposure), NOW_MS) {
            Ok(s) => {
                let applied = Money::sum(CUR, s.tenders.iter().map(|t| t.amount)).unwrap();
                prop_assert_eq!(applied, s.due);
                prop_assert_eq!(s.due.checked_sub(chf(total)).unwrap(), s.cash_rounding);
                prop_assert!(!s.change.is_negative());
                // Offline authorisations: exactly the offline cards, within the limits.
                let offline_idx: Vec<usize> = tenders.iter().enumerate()
                    .filter(|(_, t)| t.card.as_ref().is_some_and(|c| c.offline)).map(|(i, _)| i).collect();
                let listed: Vec<usize> = s.offline_authorizations.iter().map(|a| a.tender_index).collect();
                prop_assert_eq!(&listed, &offline_idx);
                if let Some(o) = &p.offline {
                    let mut exp = exposure;
                    for a in &s.offline_authorizations {
                        prop_assert!(a.amount.minor().abs() <= o.floor_limit.minor());
                        prop_assert_eq!(a.expires_at_ms, NOW_MS - 1_000 + 60_000);
                        if total >= 0 { exp += a.amount.minor(); }
                    }
                    prop_assert!(exp <= o.max_exposure.minor().max(exposure));
                }
            }
            Err(e) => prop_assert!(EXPECTED_CODES.contains(&e.code()), "unexpected {}", e),
        }
    }

    #[test]
    fn partial_refunds_never_exceed_and_together_return_exactly_what_was_paid(
        m in sale_mix(),
        cuts in prop::collection::vec(0u32..=1000, 0..=6),
        over in 0i64..=10_000,
    ) {
        let tenders = build(&m);
        let total = chf(m.total);
        let sale = settle(total, &tenders, &policy(m.rounding), chf(0), NOW_MS).unwrap();
        // Random partial returns summing to the sale total (some may be zero).
        let mut points: Vec<i64> = cuts.iter().map(|&c| (i128::from(m.total) * i128::from(c) / 1000) as i64).collect();
        points.push(0);
        points.push(m.total);
        points.sort_unstable();
        let pieces: Vec<i64> = points.windows(2).map(|w| w[1] - w[0]).collect();

        let paid_by_key = |t: &SettledTender| key(t.kind, t.card.as_ref(), t.reference.as_deref());
        let mut refunded: std::collections::HashMap<String, i64> = Default::default();
        let mut cash_refunded = 0i64;
        let cash_paid: i64 = sale.tenders.iter().filter(|t| t.kind == TenderKind::Cash).map(|t| t.amount.minor()).sum();
        let mut before = 0i64;
        for &now in &pieces {
            let parts: Vec<RefundPart> = refund_split(&sale.tenders, m.rounding, chf(before), chf(now)).unwrap();
            let mut seen_cash = false;
            for p in &parts {
                prop_assert!(p.amount.minor() > 0, "refund parts are positive: {:?}", p);
                if p.kind == TenderKind::Cash {
                    prop_assert!(!seen_cash, "one cash part");
                    seen_cash = true;
                    cash_refunded += p.amount.minor();
                } else {
                    prop_assert!(!seen_cash, "cash comes last");
                    *refunded.entry(key(p.kind, p.card.as_ref(), p.reference.as_deref())).or_default() += p.amount.minor();
                }
            }
            // Never more than any tender paid, or the sale in total.
            for t in sale.tenders.iter().filter(|t| t.kind != TenderKind::Cash) {
                prop_assert!(refunded.get(&paid_by_key(t)).copied().unwrap_or(0) <= t.amount.minor());
            }
            prop_assert!(cash_refunded <= cash_paid, "cash {cash_refunded} > {cash_paid}");
            // The refund of this step settles consistently.
            let rs = refund_settlement(&parts, chf(-now)).unwrap();
            let applied = Money::sum(CUR, rs.tenders.iter().map(|t| t.amount)).unwrap();
            prop_assert_eq!(applied, rs.due);
            prop_assert_eq!(rs.due.checked_sub(chf(-now)).unwrap(), rs.cash_rounding);
            if let Some(r) = &m.rounding {
                prop_assert!(rs.cash_rounding.minor().abs() < 2 * r.increment);
            } else {
                prop_assert!(rs.cash_rounding.is_zero());
            }
            before += now;
        }
        // Everything returned: each tender got back exactly what it paid.
        for t in sale.tenders.iter().filter(|t| t.kind != TenderKind::Cash) {
            prop_assert_eq!(refunded.get(&paid_by_key(t)).copied().unwrap_or(0), t.amount.minor());
        }
        prop_assert_eq!(cash_refunded, cash_paid);
        let all: i64 = refunded.values().sum::<i64>() + cash_refunded;
        prop_assert_eq!(chf(all), sale.due);

        // Returning more than was sold, by at least two increments, is refused.
        let inc = m.rounding.map_or(1, |r| r.increment);
        let err = refund_split(&sale.tenders, m.rounding, total, chf(2 * inc + over)).unwrap_err();
        prop_assert_eq!(err.code(), "REFUND_EXCEEDS_PAID");
    }

    #[test]
    fn the_same_return_split_in_any_order_of_pieces_refunds_the_same_in_total(
        m in sale_mix(),
        a in 0u32..=1000,
        b in 0u32..=1000,
    ) {
        // Cumulative rounding: what is refunded after returning x in total does not depend on
        // how x was split into returns.
        let sale = settle(chf(m.total), &build(&m), &policy(m.rounding), chf(0), NOW_MS).unwrap();
        let x = (i128::from(m.total) * i128::from(a.max(b)) / 1000) as i64;
        let y = (i128::from(m.total) * i128::from(a.min(b)) / 1000) as i64;
        let sum = |parts: &[RefundPart]| parts.iter().map(|p| p.amount.minor()).sum::<i64>();
        let once = sum(&refund_split(&sale.tenders, m.rounding, chf(0), chf(x)).unwrap());
        let first = sum(&refund_split(&sale.tenders, m.rounding, chf(0), chf(y)).unwrap());
        let second = sum(&refund_split(&sale.tenders, m.rounding, chf(y), chf(x - y)).unwrap());
        prop_assert_eq!(first + second, once);
    }
}

#[test]
fn refund_of_a_cash_rounded_sale_in_many_small_steps() {
    // 10.07 paid in cash with 0.05 half-up (10.05 paid), returned one cent at a time.
    let r = Some(CashRounding { increment: 5, mode: RoundingMode::HalfUp });
    let sale = settle(chf(1007), &[TenderInput::cash(chf(2000))], &policy(r), chf(0), NOW_MS).unwrap();
    assert_eq!(sale.due, chf(1005));
    let mut total = 0;
    for cent in 0..1007 {
        let parts = refund_split(&sale.tenders, r, chf(cent), chf(1)).unwrap();
        total += parts.iter().map(|p| p.amount.minor()).sum::<i64>();
        assert!(total <= 1005);
    }
    assert_eq!(total, 1005);
}
