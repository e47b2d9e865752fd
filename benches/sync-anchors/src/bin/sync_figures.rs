//! Issue #5's figures, side by side in one run: Aisle's CRDT sync against automerge and loro on
//! the same logical workload, and Aisle's SQLite-backed replication against plain SQLite.
//!
//! ```sh
//! cargo run --release -p aisle-sync-anchors --bin sync_figures
//! # knobs (env): OPS=1000000 PRODUCTS=10000 ROUND=1000 REPS=3 CATCHUP=10000 ONLY=mixed,catchup,upsert
//! ```
//!
//! The workload (`mixed`): a catalog of PRODUCTS products (10 fields each) and one stock
//! counter per product is loaded on a writer and on every receiver first (not timed). Then OPS
//! operations, from a seeded generator: 3 in 4 set one field of a random product (`name` text,
//! `price_minor` integer or `tax_category` text, a new value each time), 1 in 4 add to a random
//! product's stock counter (−1, or +24 for a delivery one time in five). On the writer each
//! operation is one Aisle write (`update_field` / `stock_add`: its own stamp and slots);
//! automerge (`put` / `increment`) and loro (`insert` / `increment`) commit once per round, their
//! cheapest mode (a separate figure commits every operation, on the first PEROP=20000 operations:
//! automerge's commit costs grow with the document). After every ROUND
//! operations the writer encodes what is new for the receiver (Aisle: the receiver's signed
//! request → `changes_since`; automerge: `save_incremental`; loro: `export(updates(vv))`), and
//! a fresh receiver that holds the catalog applies all those messages in order (timed).
//! "Catch-up" is the same receiver state brought up to date with one exchange after all OPS
//! operations (Aisle: one request; automerge: `save_after(heads)`; loro: updates since the
//! catalog's version vector).
//!
//! The systems run alternately in one process; each figure is the median of REPS rounds.

use std::path::Path;
use std::time::{Duration, Instant};

use aisle::sync::{MemReplica, Role, Value};
use aisle::{Currency, Edge, EdgeConfig, Money, Product};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ScalarValue};
use loro::{ExportMode, LoroCounter, LoroDoc, LoroMap, LoroValue};
use rusqlite::{Connection, params};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn only(section: &str) -> bool {
    listed("ONLY", section)
}

/// Whether `item` is in the comma list of env `name` (everything when it is unset).
fn listed(name: &str, item: &str) -> bool {
    std::env::var(name).map_or(true, |v| v.split(',').any(|s| s.trim() == item))
}

// ---- workload --------------------------------------------------------------------------------

/// splitmix64: a seeded generator, so every system gets the same operations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FIELDS: [&str; 3] = ["name", "price_minor", "tax_category"];
const TAX: [&str; 3] = ["standard", "reduced", "zero"];

#[derive(Clone)]
enum V {
    Text(String),
    Int(i64),
    Null,
}

enum Op {
    Set { p: usize, field: usize, value: V },
    Add { p: usize, delta: i64 },
}

struct Workload {
    skus: Vec<String>,
    stock_keys: Vec<String>,
    ops: Vec<Op>,
}

impl Workload {
    fn new(products: usize, n_ops: usize, seed: u64) -> Workload {
        let mut rng = Rng(seed);
        let ops = (0..n_ops)
            .map(|i| {
                let p = rng.below(products as u64) as usize;
                if rng.below(4) == 0 {
                    Op::Add { p, delta: if rng.below(5) == 0 { 24 } else { -1 } }
                } else {
                    let field = rng.below(3) as usize;
                    let value = match field {
                        0 => V::Text(format!("Product {p} rev {i}")),
                        1 => V::Int(100 + rng.below(100_000) as i64),
                        _ => V::Text(TAX[rng.below(3) as usize].to_owned()),
                    };
                    Op::Set { p, field, value }
                }
            })
            .collect();
        Workload {
            skus: (0..products).map(|p| format!("SKU-{p:05}")).collect(),
            stock_keys: (0..products).map(|p| format!("SKU-{p:05}@shelf")).collect(),
            ops,
        }
    }

    /// The catalog every replica starts from: one product's 10 fields (valid for Aisle's
    /// `product` table, so the SQLite replica materialises them).
    fn catalog_fields(p: usize) -> Vec<(&'static str, V)> {
        vec![
            ("name", V::Text(format!("Product {p}"))),
            ("price_minor", V::Int(249)),
            ("currency", V::Text("EUR".into())),
            ("tax_category", V::Text("standard".into())),
            ("parent_sku", V::Null),
            ("sold_by", V::Text("unit".into())),
            ("attributes", V::Text("{}".into())),
            ("barcodes", V::Text("[]".into())),
            ("categories", V::Text(format!("[\"cat-{}\"]", p % 50))),
            ("tags", V::Text("[]".into())),
        ]
    }
}

fn aisle_value(v: &V) -> Value {
    match v {
        V::Text(s) => Value::Text(s.clone()),
        V::Int(i) => Value::Int(*i),
        V::Null => Value::Null,
    }
}
fn am_value(v: &V) -> ScalarValue {
    match v {
        V::Text(s) => ScalarValue::Str(s.as_str().into()),
        V::Int(i) => ScalarValue::Int(*i),
        V::Null => ScalarValue::Null,
    }
}
fn loro_value(v: &V) -> LoroValue {
    match v {
        V::Text(s) => LoroValue::from(s.as_str()),
        V::Int(i) => LoroValue::from(*i),
        V::Null => LoroValue::Null,
    }
}

/// What one system did with the workload.
#[derive(Default, Clone)]
struct Mixed {
    /// Operations in the workload this run did.
    ops: usize,
    /// Every operation applied and committed on the writer (encoding excluded).
    local: Duration,
    /// Producing the per-round messages on the writer.
    encode: Duration,
    round_msgs: usize,
    round_bytes: usize,
    /// A fresh receiver (holding the catalog) applying every round's messages.
    apply_rounds: Duration,
    catchup_bytes: usize,
    catchup_encode: Duration,
    apply_catchup: Duration,
    /// SQLite-backed receiver (Aisle only).
    sql_apply_rounds: Option<Duration>,
    sql_apply_catchup: Option<Duration>,
    sql_stats: Option<aisle::sync::SyncStats>,
}

// ---- Aisle -----------------------------------------------------------------------------------

struct AisleMsgs {
    writer: aisle::sync::Device,
    catalog: Vec<Vec<u8>>,
    rounds: Vec<Vec<Vec<u8>>>,
    catchup: Vec<Vec<u8>>,
    digest: [u8; 32],
}

fn pull(into: &mut MemReplica, from: &mut MemReplica) -> Res<Vec<Vec<u8>>> {
    let msgs = from.changes_since(&into.request()?)?;
    for m in &msgs {
        into.apply(m)?;
    }
    Ok(msgs)
}

fn aisle_mem(w: &Workload, round: usize) -> Res<(Mixed, AisleMsgs)> {
    let mut out = Mixed { ops: w.ops.len(), ..Mixed::default() };
    let mut writer = MemReplica::new("store-1", "hq-1", Role::Hq, [1; 32]);
    let mut mirror = MemReplica::new("store-1", "reg-1", Role::Store, [2; 32]);
    writer.enroll(&mirror.card());
    mirror.enroll(&writer.card());
    for (p, sku) in w.skus.iter().enumerate() {
        let fields: Vec<(&str, Value)> = Workload::catalog_fields(p).iter().map(|(f, v)| (*f, aisle_value(v))).collect();
        writer.upsert("product", sku, &fields)?;
        writer.stock_add(&w.stock_keys[p], 100)?;
    }
    let catalog = pull(&mut mirror, &mut writer)?;
    let request0 = mirror.request()?;
    let mut rounds = Vec::new();
    for chunk in w.ops.chunks(round) {
        let t = Instant::now();
        for op in chunk {
            match op {
                Op::Set { p, field, value } => {
                    writer.update_field("product", &w.skus[*p], FIELDS[*field], aisle_value(value))?;
                }
                Op::Add { p, delta } => {
                    writer.stock_add(&w.stock_keys[*p], *delta)?;
                }
            }
        }
        out.local += t.elapsed();
        let t = Instant::now();
        let request = mirror.request()?;
        let msgs = writer.changes_since(&request)?;
        out.encode += t.elapsed();
        for m in &msgs {
            mirror.apply(m)?;
        }
        out.round_msgs += msgs.len();
        out.round_bytes += msgs.iter().map(Vec::len).sum::<usize>();
        rounds.push(msgs);
    }
    let t = Instant::now();
    let catchup = writer.changes_since(&request0)?;
    out.catchup_encode = t.elapsed();
    out.catchup_bytes = catchup.iter().map(Vec::len).sum();
    let digest = writer.digest();

    let receiver = || -> Res<MemReplica> {
        let mut r = MemReplica::new("store-1", "reg-1", Role::Store, [2; 32]);
        r.enroll(&writer.card());
        for m in &catalog {
            r.apply(m)?;
        }
        Ok(r)
    };
    let mut r = receiver()?;
    let t = Instant::now();
    for msgs in &rounds {
        for m in msgs {
            r.apply(m)?;
        }
    }
    out.apply_rounds = t.elapsed();
    assert_eq!(r.digest(), digest, "aisle: the receiver of the rounds converged");
    drop(r);
    let mut r = receiver()?;
    let t = Instant::now();
    for m in &catchup {
        r.apply(m)?;
    }
    out.apply_catchup = t.elapsed();
    assert_eq!(r.digest(), digest, "aisle: the caught-up receiver converged");
    Ok((out, AisleMsgs { writer: writer.card(), catalog, rounds, catchup, digest }))
}

/// The same messages applied by a register's SQLite file (`edge.sync().apply`: one durable
/// transaction per message, changed products written into the `product` tables).
fn aisle_sql(msgs: &AisleMsgs, dir: &Path, tag: &str, out: &mut Mixed) -> Res<()> {
    let open = |name: &str| -> Res<Edge> {
        let e = Edge::open(dir.join(format!("{tag}-{name}.db")), EdgeConfig::new("store-1", "reg-1", Currency::EUR))?;
        e.sync().enroll(&msgs.writer)?;
        for m in &msgs.catalog {
            e.sync().apply(m)?;
        }
        Ok(e)
    };
    let e = open("rounds")?;
    let t = Instant::now();
    for round in &msgs.rounds {
        for m in round {
            e.sync().apply(m)?;
        }
    }
    out.sql_apply_rounds = Some(t.elapsed());
    assert_eq!(e.sync().digest()?, msgs.digest, "aisle sqlite: the receiver of the rounds converged");
    out.sql_stats = Some(e.sync().stats()?);
    e.close()?;
    let e = open("catchup")?;
    let t = Instant::now();
    for m in &msgs.catchup {
        e.sync().apply(m)?;
    }
    out.sql_apply_catchup = Some(t.elapsed());
    assert_eq!(e.sync().digest()?, msgs.digest, "aisle sqlite: the caught-up receiver converged");
    e.close()?;
    Ok(())
}

// ---- automerge -------------------------------------------------------------------------------

fn automerge_run(w: &Workload, round: usize, per_op_commit: bool) -> Res<Mixed> {
    let mut out = Mixed { ops: w.ops.len(), ..Mixed::default() };
    let mut doc = AutoCommit::new().with_actor(ActorId::from(vec![1u8; 16]));
    let products = doc.put_object(ROOT, "product", ObjType::Map)?;
    let stock = doc.put_object(ROOT, "stock", ObjType::Map)?;
    let mut objs = Vec::with_capacity(w.skus.len());
    for (p, sku) in w.skus.iter().enumerate() {
        let o = doc.put_object(&products, sku.as_str(), ObjType::Map)?;
        for (f, v) in Workload::catalog_fields(p) {
            doc.put(&o, f, am_value(&v))?;
        }
        objs.push(o);
        doc.put(&stock, w.stock_keys[p].as_str(), ScalarValue::counter(100))?;
    }
    doc.commit();
    let catalog = doc.save();
    let heads0 = doc.get_heads();
    let mut rounds = Vec::new();
    for chunk in w.ops.chunks(round) {
        let t = Instant::now();
        for op in chunk {
            match op {
                Op::Set { p, field, value } => doc.put(&objs[*p], FIELDS[*field], am_value(value))?,
                Op::Add { p, delta } => doc.increment(&stock, w.stock_keys[*p].as_str(), *delta)?,
            }
            if per_op_commit {
                doc.commit();
            }
        }
        doc.commit();
        out.local += t.elapsed();
        let t = Instant::now();
        let bytes = doc.save_incremental();
        out.encode += t.elapsed();
        out.round_msgs += 1;
        out.round_bytes += bytes.len();
        rounds.push(bytes);
    }
    let t = Instant::now();
    let catchup = doc.save_after(&heads0);
    out.catchup_encode = t.elapsed();
    out.catchup_bytes = catchup.len();
    let heads = doc.get_heads();
    drop(doc);

    let mut r = AutoCommit::load(&catalog)?;
    let t = Instant::now();
    for b in &rounds {
        r.load_incremental(b)?;
    }
    out.apply_rounds = t.elapsed();
    assert_eq!(r.get_heads(), heads, "automerge: the receiver of the rounds converged");
    drop(r);
    let mut r = AutoCommit::load(&catalog)?;
    let t = Instant::now();
    r.load_incremental(&catchup)?;
    out.apply_catchup = t.elapsed();
    assert_eq!(r.get_heads(), heads, "automerge: the caught-up receiver converged");
    Ok(out)
}

// ---- loro ------------------------------------------------------------------------------------

fn loro_run(w: &Workload, round: usize, per_op_commit: bool) -> Res<Mixed> {
    let mut out = Mixed { ops: w.ops.len(), ..Mixed::default() };
    let doc = LoroDoc::new();
    doc.set_peer_id(1)?;
    let products = doc.get_map("product");
    let stock = doc.get_map("stock");
    let mut maps = Vec::with_capacity(w.skus.len());
    let mut counters = Vec::with_capacity(w.skus.len());
    for (p, sku) in w.skus.iter().enumerate() {
        let m = products.insert_container(sku, LoroMap::new())?;
        for (f, v) in Workload::catalog_fields(p) {
            m.insert(f, loro_value(&v))?;
        }
        maps.push(m);
        let c = stock.insert_container(&w.stock_keys[p], LoroCounter::new())?;
        c.increment(100.0)?;
        counters.push(c);
    }
    doc.commit();
    let catalog = doc.export(ExportMode::Snapshot)?;
    let vv0 = doc.oplog_vv();
    let mut rounds = Vec::new();
    for chunk in w.ops.chunks(round) {
        let before = doc.oplog_vv();
        let t = Instant::now();
        for op in chunk {
            match op {
                Op::Set { p, field, value } => maps[*p].insert(FIELDS[*field], loro_value(value))?,
                Op::Add { p, delta } => counters[*p].increment(*delta as f64)?,
            }
            if per_op_commit {
                doc.commit();
            }
        }
        doc.commit();
        out.local += t.elapsed();
        let t = Instant::now();
        let bytes = doc.export(ExportMode::updates(&before))?;
        out.encode += t.elapsed();
        out.round_msgs += 1;
        out.round_bytes += bytes.len();
        rounds.push(bytes);
    }
    let t = Instant::now();
    let catchup = doc.export(ExportMode::updates(&vv0))?;
    out.catchup_encode = t.elapsed();
    out.catchup_bytes = catchup.len();
    let (vv, value) = (doc.oplog_vv(), doc.get_deep_value());
    drop(doc);

    let receiver = || -> Res<LoroDoc> {
        let r = LoroDoc::new();
        r.import(&catalog)?;
        Ok(r)
    };
    let r = receiver()?;
    let t = Instant::now();
    for b in &rounds {
        r.import(b)?;
    }
    out.apply_rounds = t.elapsed();
    assert!(r.oplog_vv() == vv && r.get_deep_value() == value, "loro: the receiver of the rounds converged");
    drop(r);
    let r = receiver()?;
    let t = Instant::now();
    r.import(&catchup)?;
    out.apply_catchup = t.elapsed();
    assert!(r.oplog_vv() == vv && r.get_deep_value() == value, "loro: the caught-up receiver converged");
    Ok(out)
}

// ---- reporting -------------------------------------------------------------------------------

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

fn mixed_section(reps: usize) -> Res<()> {
    let (n_ops, products, round) = (env("OPS", 1_000_000), env("PRODUCTS", 10_000), env("ROUND", 1_000));
    println!("## mixed: {n_ops} ops on {products} products (3/4 field sets, 1/4 stock increments), rounds of {round}, {reps} reps");
    let w = Workload::new(products, n_ops, 5);
    // automerge's costs grow with its history (a 1M run did not finish in 17 minutes here): it
    // runs the first AM_OPS operations of the same workload, so its figures are per operation
    // at a smaller history, which favours it.
    let am_ops = env("AM_OPS", 100_000).min(n_ops);
    let w_am = Workload::new(products, am_ops, 5);
    let dir = tempfile::tempdir()?;
    let with_sql = std::env::var("SQL").map_or(true, |v| v != "0");
    let (mut aisle, mut am, mut lo) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..reps {
        // Rotate the order so that no system always runs first (or last) in a rep.
        for k in 0..3 {
            match (rep + k) % 3 {
                0 if !listed("SYSTEMS", "aisle") => {}
                1 if !listed("SYSTEMS", "automerge") => {}
                2 if !listed("SYSTEMS", "loro") => {}
                0 => {
                    let (mut m, msgs) = aisle_mem(&w, round)?;
                    if with_sql {
                        aisle_sql(&msgs, dir.path(), &format!("rep{rep}"), &mut m)?;
                    }
                    eprintln!("rep {rep} aisle done (load {})", loadavg());
                    aisle.push(m);
                }
                1 => {
                    am.push(automerge_run(&w_am, round, false)?);
                    eprintln!("rep {rep} automerge done (load {})", loadavg());
                }
                _ => {
                    lo.push(loro_run(&w, round, false)?);
                    eprintln!("rep {rep} loro done (load {})", loadavg());
                }
            }
        }
    }
    // Every operation its own commit (automerge's cost per commit grows with the document, so
    // this runs on the first PEROP operations only).
    let perop = env("PEROP", 20_000).min(n_ops);
    let wp = Workload::new(products, perop, 5);
    let (mut pa, mut pm, mut pl) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..reps {
        if listed("SYSTEMS", "aisle") {
            pa.push(perop as f64 / secs(aisle_mem(&wp, round)?.0.local));
        }
        if listed("SYSTEMS", "automerge") {
            pm.push(perop as f64 / secs(automerge_run(&wp, round, true)?.local));
        }
        if listed("SYSTEMS", "loro") {
            pl.push(perop as f64 / secs(loro_run(&wp, round, true)?.local));
        }
        eprintln!("per-op commit rep {rep} done (load {})", loadavg());
    }
    let (pa, pm, pl) = (median(pa), median(pm), median(pl));
    println!(
        "local writes, every op its own commit, first {perop} ops (ops/s, median): Aisle {pa:.0}, automerge {pm:.0}, loro {pl:.0}; Aisle/automerge {:.2}×, Aisle/loro {:.2}×",
        pa / pm,
        pa / pl
    );
    if aisle.is_empty() || am.is_empty() || lo.is_empty() {
        for (name, runs) in [("aisle", &aisle), ("automerge", &am), ("loro", &lo)] {
            for m in runs.iter() {
                println!("  {name}: local {:.3} encode {:.3} apply {:.3} catch-up encode {:.3} apply {:.3}", secs(m.local), secs(m.encode), secs(m.apply_rounds), secs(m.catchup_encode), secs(m.apply_catchup));
            }
        }
        return Ok(());
    }
    println!("(automerge on the first {am_ops} operations; Aisle and loro on all {n_ops})");
    let rate = |runs: &[Mixed], f: &dyn Fn(&Mixed) -> Option<Duration>| -> f64 {
        median(runs.iter().filter_map(|m| f(m).map(|d| m.ops as f64 / secs(d))).collect())
    };
    println!("| figure (ops/s, median) | Aisle MemReplica | Aisle SQLite file | automerge | loro | Aisle/automerge | Aisle/loro |");
    println!("|---|---|---|---|---|---|---|");
    let rows: [(&str, &dyn Fn(&Mixed) -> Option<Duration>, &dyn Fn(&Mixed) -> Option<Duration>); 5] = [
        ("local writes (Aisle: each op its own write; automerge, loro: one commit per round)", &|m| Some(m.local), &|_| None),
        ("encode per round (sender)", &|m| Some(m.encode), &|_| None),
        ("apply rounds (receiver)", &|m| Some(m.apply_rounds), &|m| m.sql_apply_rounds),
        ("encode one catch-up (sender)", &|m| Some(m.catchup_encode), &|_| None),
        ("apply one catch-up (receiver)", &|m| Some(m.apply_catchup), &|m| m.sql_apply_catchup),
    ];
    for (name, f, sql) in rows {
        let (a, s, b, c) = (rate(&aisle, f), rate(&aisle, sql), rate(&am, f), rate(&lo, f));
        println!("| {name} | {a:.0} | {s:.0} | {b:.0} | {c:.0} | {:.2}× | {:.2}× |", a / b, a / c);
    }
    let bytes = |runs: &[Mixed], f: &dyn Fn(&Mixed) -> usize| median(runs.iter().map(|m| f(m) as f64 / m.ops as f64).collect());
    println!();
    println!("| bytes per op on the wire | Aisle | automerge | loro |");
    println!("|---|---|---|---|");
    println!(
        "| rounds of {round} ({} / {} / {} messages) | {:.2} | {:.2} | {:.2} |",
        aisle[0].round_msgs,
        am[0].round_msgs,
        lo[0].round_msgs,
        bytes(&aisle, &|m| m.round_bytes),
        bytes(&am, &|m| m.round_bytes),
        bytes(&lo, &|m| m.round_bytes)
    );
    println!(
        "| one catch-up after all ops | {:.3} | {:.3} | {:.3} |",
        bytes(&aisle, &|m| m.catchup_bytes),
        bytes(&am, &|m| m.catchup_bytes),
        bytes(&lo, &|m| m.catchup_bytes)
    );
    println!();
    println!("raw seconds per rep (local, encode, apply rounds, catch-up encode, apply catch-up, sql rounds, sql catch-up):");
    for (name, runs) in [("aisle", &aisle), ("automerge", &am), ("loro", &lo)] {
        for m in runs.iter() {
            println!(
                "  {name}: {:.3} {:.3} {:.3} {:.3} {:.3} {} {}",
                secs(m.local),
                secs(m.encode),
                secs(m.apply_rounds),
                secs(m.catchup_encode),
                secs(m.apply_catchup),
                m.sql_apply_rounds.map_or("-".into(), |d| format!("{:.3}", secs(d))),
                m.sql_apply_catchup.map_or("-".into(), |d| format!("{:.3}", secs(d))),
            );
        }
    }
    if let Some(s) = aisle.last().and_then(|m| m.sql_stats) {
        println!(
            "SQLite receiver after the rounds: {} slots, data {} B, metadata {} B = {:.2}×",
            s.slots,
            s.data_bytes,
            s.metadata_bytes,
            s.metadata_bytes as f64 / s.data_bytes as f64
        );
    }
    Ok(())
}

// ---- SQLite: catch-up of 100k changes, metadata, replicated vs plain upsert --------------------

fn product(p: usize, rev: i64) -> Product {
    let mut pr = Product::new(&format!("SKU-{p:05}"), &format!("Product {p}"), Money::new(249 + rev, Currency::EUR), "standard");
    pr.categories = vec![format!("cat-{}", p % 50)];
    pr
}

fn catchup_section(reps: usize) -> Res<()> {
    let n = env("CATCHUP", 10_000);
    let dir = tempfile::tempdir()?;
    let hq = Edge::open(dir.path().join("hq.db"), EdgeConfig::new("hq", "hq-1", Currency::EUR))?;
    hq.sync().set_role(Role::Hq)?;
    let products: Vec<Product> = (0..n).map(|p| product(p, 0)).collect();
    hq.catalog().upsert_all(&products)?;
    let hq_stats = hq.sync().stats()?;
    println!(
        "## catch-up: a register {} field changes behind ({n} products × 10 fields; {} slots with the causal lengths), both SQLite files, {reps} reps",
        n * 10,
        hq_stats.slots
    );
    let (mut total, mut answer, mut apply, mut bytes, mut chunks) = (Vec::new(), Vec::new(), Vec::new(), 0, 0);
    let mut reg_stats = None;
    for rep in 0..reps {
        let reg = Edge::open(dir.path().join(format!("reg{rep}.db")), EdgeConfig::new("store-1", &format!("reg-{rep}"), Currency::EUR))?;
        hq.sync().enroll(&reg.sync().identity()?)?;
        reg.sync().enroll(&hq.sync().identity()?)?;
        let t0 = Instant::now();
        let request = reg.sync().request()?;
        let msgs = hq.sync().changes_since(&request)?;
        let t1 = Instant::now();
        for m in &msgs {
            reg.sync().apply(m)?;
        }
        let t2 = Instant::now();
        assert_eq!(reg.catalog().len()?, n as u64);
        assert_eq!(reg.sync().digest_in("global")?, hq.sync().digest_in("global")?);
        total.push(secs(t2 - t0));
        answer.push(secs(t1 - t0));
        apply.push(secs(t2 - t1));
        bytes = msgs.iter().map(Vec::len).sum();
        chunks = msgs.len();
        reg_stats = Some(reg.sync().stats()?);
        eprintln!("catch-up rep {rep}: {:.3} s (load {})", secs(t2 - t0), loadavg());
    }
    println!(
        "request + changes_since + apply: median {:.3} s (answer {:.3} s, apply {:.3} s; runs {:?}); {chunks} chunks, {bytes} bytes ({:.2} bytes per slot)",
        median(total.clone()),
        median(answer),
        median(apply),
        total.iter().map(|t| (t * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        bytes as f64 / hq_stats.slots as f64
    );
    for (name, s) in [("HQ", Some(hq_stats)), ("register", reg_stats)] {
        if let Some(s) = s {
            println!(
                "stats() {name}: {} slots, data {} B, metadata {} B = {:.2}× (goal ≤ 1.5×)",
                s.slots,
                s.data_bytes,
                s.metadata_bytes,
                s.metadata_bytes as f64 / s.data_bytes as f64
            );
        }
    }
    Ok(())
}

/// The plain-SQLite anchor: the same statements `Catalog::upsert` runs for a product (row
/// upsert, children replaced), on a file with Aisle's schema and the same pragmas, no sync.
struct Plain {
    conn: Connection,
}

impl Plain {
    fn open(path: &Path) -> Res<Plain> {
        if let Some(p) = path.to_str().filter(|p| *p != ":memory:") {
            Edge::open(p, EdgeConfig::new("plain", "plain-1", Currency::EUR))?.close()?;
        }
        let conn = if path.to_str() == Some(":memory:") { Connection::open_in_memory()? } else { Connection::open(path)? };
        conn.busy_timeout(Duration::from_secs(5))?;
        let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;
             CREATE TABLE IF NOT EXISTS product (sku TEXT PRIMARY KEY, name TEXT NOT NULL, price_minor INTEGER NOT NULL,
               currency TEXT NOT NULL, tax_category TEXT NOT NULL, parent_sku TEXT, sold_by TEXT NOT NULL DEFAULT 'unit',
               attributes TEXT NOT NULL DEFAULT '{}') STRICT;
             CREATE TABLE IF NOT EXISTS product_barcode (gtin TEXT PRIMARY KEY, sku TEXT NOT NULL REFERENCES product(sku) ON DELETE CASCADE,
               code TEXT NOT NULL, position INTEGER NOT NULL) STRICT;
             CREATE TABLE IF NOT EXISTS product_category (sku TEXT NOT NULL REFERENCES product(sku) ON DELETE CASCADE,
               category TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (sku, category)) STRICT, WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS product_tag (sku TEXT NOT NULL REFERENCES product(sku) ON DELETE CASCADE,
               tag TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (sku, tag)) STRICT, WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS plain_customer (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
               phone TEXT NOT NULL, tier TEXT NOT NULL, points INTEGER NOT NULL) STRICT;",
        )?;
        Ok(Plain { conn })
    }

    fn upsert_products(&mut self, products: &[Product]) -> Res<()> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for p in products {
            tx.prepare_cached(
                "INSERT INTO product (sku, name, price_minor, currency, tax_category, parent_sku, sold_by, attributes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (sku) DO UPDATE SET
                   name = excluded.name, price_minor = excluded.price_minor,
                   currency = excluded.currency, tax_category = excluded.tax_category,
                   parent_sku = excluded.parent_sku, sold_by = excluded.sold_by,
                   attributes = excluded.attributes",
            )?
            .execute(params![p.sku, p.name, p.price.minor(), p.price.currency().code(), p.tax_category, p.parent_sku, p.sold_by.as_str(), "{}"])?;
            for table in ["product_barcode", "product_category", "product_tag"] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE sku = ?1"))?.execute([&p.sku])?;
            }
            let mut insert = tx.prepare_cached("INSERT INTO product_category (sku, category, position) VALUES (?1, ?2, ?3)")?;
            for (position, c) in p.categories.iter().enumerate() {
                insert.execute(params![p.sku, c, position as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn upsert_customer(&mut self, id: &str, f: &CustomerRow) -> Res<()> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO plain_customer (id, name, email, phone, tier, points) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, phone = excluded.phone,
               tier = excluded.tier, points = excluded.points",
        )?
        .execute(params![id, f.name, f.email, f.phone, f.tier, f.points])?;
        tx.commit()?;
        Ok(())
    }
}

struct CustomerRow {
    name: String,
    email: String,
    phone: String,
    tier: String,
    points: i64,
}

fn customer(i: usize, rev: i64) -> CustomerRow {
    CustomerRow {
        name: format!("Customer {i}"),
        email: format!("c{i}@example.org"),
        phone: format!("+3161234{i:04}"),
        tier: "gold".into(),
        points: rev,
    }
}

/// Per-operation medians of `blocks` alternating blocks of `per_block` calls each.
fn alternate(blocks: usize, per_block: usize, mut a: impl FnMut(usize) -> Res<()>, mut b: impl FnMut(usize) -> Res<()>) -> Res<(f64, f64, Vec<f64>)> {
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..blocks {
        let t = Instant::now();
        for i in 0..per_block {
            a(k * per_block + i)?;
        }
        let da = secs(t.elapsed()) / per_block as f64;
        let t = Instant::now();
        for i in 0..per_block {
            b(k * per_block + i)?;
        }
        let db = secs(t.elapsed()) / per_block as f64;
        ta.push(da);
        tb.push(db);
        ratios.push(da / db);
    }
    Ok((median(ta), median(tb), ratios))
}

fn upsert_section() -> Res<()> {
    let blocks = env("BLOCKS", 7);
    let dir = tempfile::tempdir()?;
    println!("## replicated upsert vs plain SQLite upsert (same schema, WAL + synchronous=FULL + foreign_keys; medians of {blocks} alternating blocks)");
    println!("| what | replicated | plain | ratio (goal ≤ 1.5×) |");
    println!("|---|---|---|---|");
    let n = 1000;
    let rev = std::cell::Cell::new(0i64);
    for (label, in_memory) in [("file", false), ("in-memory", true)] {
        let edge = if in_memory {
            Edge::open_in_memory(EdgeConfig::new("hq", "hq-1", Currency::EUR))?
        } else {
            Edge::open(dir.path().join("edge.db"), EdgeConfig::new("hq", "hq-1", Currency::EUR))?
        };
        edge.sync().set_role(Role::Hq)?;
        let mut plain = Plain::open(&if in_memory { ":memory:".into() } else { dir.path().join("plain.db") })?;
        let catalog = edge.catalog();
        let base: Vec<Product> = (0..n).map(|p| product(p, 0)).collect();
        catalog.upsert_all(&base)?;
        plain.upsert_products(&base)?;

        // One product per transaction (the catalog editor's save).
        let per = if in_memory { 2000 } else { 100 };
        let (a, b, r) = alternate(
            blocks,
            per,
            |i| {
                rev.set(rev.get() + 1);
                Ok(catalog.upsert(&product(i % n, rev.get()))?)
            },
            |i| plain.upsert_products(&[product(i % n, rev.get())]),
        )?;
        println!("| `Catalog::upsert`, one product per transaction, {label} | {:.1} µs | {:.1} µs | **{:.2}×** (blocks {:.2}–{:.2}) |", a * 1e6, b * 1e6, median(r.clone()), r.iter().cloned().fold(f64::MAX, f64::min), r.iter().cloned().fold(0.0, f64::max));

        // 1,000 products per transaction (an HQ price update).
        let (a, b, r) = alternate(
            blocks,
            1,
            |_| {
                rev.set(rev.get() + 1);
                let batch: Vec<Product> = (0..n).map(|p| product(p, rev.get())).collect();
                Ok(catalog.upsert_all(&batch)?)
            },
            |_| {
                let batch: Vec<Product> = (0..n).map(|p| product(p, rev.get())).collect();
                plain.upsert_products(&batch)
            },
        )?;
        println!(
            "| `Catalog::upsert_all` of {n} products in one transaction, {label} (per product) | {:.1} µs | {:.1} µs | **{:.2}×** (blocks {:.2}–{:.2}) |",
            a * 1e6 / n as f64,
            b * 1e6 / n as f64,
            median(r.clone()),
            r.iter().cloned().fold(f64::MAX, f64::min),
            r.iter().cloned().fold(0.0, f64::max)
        );

        // A customer record (5 fields) through edge.sync() vs a plain 6-column row.
        let (a, b, r) = alternate(
            blocks,
            per,
            |i| {
                rev.set(rev.get() + 1);
                let c = customer(i % n, rev.get());
                let fields: [(&str, Value); 5] = [
                    ("name", c.name.into()),
                    ("email", c.email.into()),
                    ("phone", c.phone.into()),
                    ("tier", c.tier.into()),
                    ("points", c.points.into()),
                ];
                Ok(edge.sync().upsert_customer(&format!("C-{}", i % n), &fields)?)
            },
            |i| plain.upsert_customer(&format!("C-{}", i % n), &customer(i % n, rev.get())),
        )?;
        println!("| `sync().upsert_customer` (5 fields) vs a plain row, one per transaction, {label} | {:.1} µs | {:.1} µs | **{:.2}×** (blocks {:.2}–{:.2}) |", a * 1e6, b * 1e6, median(r.clone()), r.iter().cloned().fold(f64::MAX, f64::min), r.iter().cloned().fold(0.0, f64::max));
        eprintln!("upsert {label} done (load {})", loadavg());
    }
    Ok(())
}

fn main() -> Res<()> {
    let reps = env("REPS", 3);
    println!("# sync_figures (load average at start: {})", loadavg());
    if only("upsert") {
        upsert_section()?;
        println!();
    }
    if only("catchup") {
        catchup_section(reps)?;
        println!();
    }
    if only("mixed") {
        mixed_section(reps)?;
    }
    println!("(load average at end: {})", loadavg());
    Ok(())
}
