//! The store day: Aisle's main job, end to end on an embedded SQLite file.
//!
//! Opens a store in a fresh file, sets its tax regime, tender policy and promotions, loads a
//! catalog with barcodes and weighed goods, rings up baskets that exercise promotions, tax,
//! split tenders, a gift card, a return and an exchange, prints the receipts, forwards every
//! sale to HQ's hub (the real `aisle-hub`, on a SQLite file) once the link is back, syncs prices,
//! promotions and stock with the hub and over the store LAN, reopens the file to show what was
//! stored, and prints a summary.
//!
//! Usage: `store_day [PATH]` (default `target/store-day/store.db`, recreated on every run).

use std::path::PathBuf;

use aisle::commerce::pricing::ManualDiscount;
use aisle::commerce::settings::StoreSettings;
use aisle::commerce::tax::TaxRegime;
use aisle::commerce::tender::{CardAuth, CashRounding, OfflinePolicy, TenderInput, TenderPolicy};
use aisle::commerce::{Customer, RefundTo, ReturnItem, Sale, StoredValueKind};
use aisle::forward::{ExporterConfig, HttpSink, RetryPolicy, SinkConfig};
use aisle::sync::Role;
use aisle::transport::{HttpSyncConfig, HttpSyncLink, LanLink, LanServer};
use aisle::{Currency, Edge, EdgeConfig, Money, Percent, Product, RoundingMode};
use aisle_hub::{Hub, HubConfig, RunningHub};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const PROMOTIONS: &str = r#"[
  {"id": "MILK-3FOR2", "name": "Milk: 3 for 2", "priority": 10,
   "rule": {"type": "buy_x_get_y", "buy": {"target": {"skus": ["MILK-1L"]}, "quantity": 2},
            "get": {"target": {"skus": ["MILK-1L"]}, "quantity": 1}}},
  {"id": "COFFEE-10", "name": "Coffee -10%", "priority": 5,
   "rule": {"type": "percent_off", "target": {"categories": ["coffee"]}, "percent": "10"}},
  {"id": "MEAL-DEAL", "name": "Bread + cheese 5.00", "priority": 5,
   "rule": {"type": "bundle", "groups": [{"target": {"skus": ["BREAD-500G"]}, "quantity": 1},
                                         {"target": {"categories": ["cheese"]}, "quantity": 1}], "price": "5.00"}},
  {"id": "SPEND-50", "name": "5.00 off 50.00", "priority": 1,
   "conditions": {"coupon": "WELCOME5"},
   "rule": {"type": "order_amount_off", "amount": "5.00", "min_spend": "50.00"}}
]"#;

const TAX: &str = r#"{
  "id": "de-vat", "prices_include_tax": true,
  "rounding": {"mode": "half_up", "level": "line", "inclusive_target": "tax"},
  "rates": [{"id": "A", "name": "MwSt 19%", "categories": ["standard"], "percent": "19"},
            {"id": "B", "name": "MwSt 7%", "categories": ["reduced"], "percent": "7"}]
}"#;

fn main() {
    if let Err(e) = run() {
        eprintln!("store day failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> AnyResult<()> {
    let path = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target/store-day/store.db"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }

    let config = EdgeConfig::new("store-042", "register-1", Currency::EUR);
    let edge = Edge::open(&path, config.clone())?;
    println!("== Aisle store day ==");
    println!("store {} · device {} · {} · file {}", config.store_id, config.device_id, config.currency, path.display());

    let eur = |s: &str| Money::parse(s, Currency::EUR);
    let mut settings = StoreSettings {
        store_name: "Aisle Markt Berlin".into(),
        time_zone: "Europe/Berlin".into(),
        tax_regime: Some(TaxRegime::from_json(TAX)?),
        approval_above_percent: Some(Percent::whole(20)),
        receipt_footer: vec!["Thank you for shopping with us".into()],
        ..StoreSettings::default()
    };
    settings.tender_policy = TenderPolicy {
        cash_rounding: Some(CashRounding { increment: 5, mode: RoundingMode::HalfUp }),
        offline: Some(OfflinePolicy { floor_limit: eur("50.00")?, max_exposure: eur("200.00")?, expiry_ms: 72 * 3_600_000 }),
    };
    settings.returns.return_days = Some(30);
    edge.set_settings(&settings)?;
    edge.set_promotions_json(PROMOTIONS)?;

    // HQ is reached over HTTP, and the store opens with its internet down: sales are recorded
    // and queue in the `commerce` stream until the link returns (later in the day).
    let hq_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut hq = ExporterConfig::new(
        "hq",
        SinkConfig::Http(HttpSink {
            url: format!("http://127.0.0.1:{hq_port}/v1/ingest"),
            format: Default::default(),
            compression: aisle::forward::Compression::Zstd,
            headers: vec![("Authorization".into(), "Bearer store-042".into())],
            timeout_ms: 2_000,
            ca_pem: None,
        }),
    );
    hq.retry = RetryPolicy { initial_ms: 200, max_ms: 60_000, probe_ms: 250 };
    hq.batch_max_records = 2;
    let streams = edge.streams();
    streams.add_exporter(aisle::commerce::COMMERCE_STREAM, &hq)?;
    streams.start();
    println!("link to HQ: down (sales queue in the store file)");
    edge.catalog().upsert_all(&[
        Product::new("MILK-1L", "Milk 1 l", eur("1.19")?, "reduced").with_barcode("4000417025005").with_category("dairy"),
        Product::new("BREAD-500G", "Sourdough bread 500 g", eur("2.49")?, "reduced").with_category("bakery"),
        Product::new("CHEESE-KG", "Mountain cheese per kg", eur("24.90")?, "reduced").with_category("cheese").sold_by_weight(),
        Product::new("COFFEE-500", "Coffee beans 500 g", eur("8.99")?, "reduced").with_category("coffee"),
        Product::new("WINE-RED", "Red wine 0.75 l", eur("8.90")?, "standard"),
        Product::new("SOAP", "Hand soap", eur("1.75")?, "standard"),
    ])?;
    println!(
        "catalog: {} products · {} promotions · tax regime {} · cash rounding 0.05",
        edge.catalog().len()?,
        edge.promotions()?.len(),
        settings.tax_regime.as_ref().map_or("-", |r| r.id.as_str())
    );

    let mut sales: Vec<Sale> = Vec::new();

    // Basket 1: scanned by barcode, 3-for-2 milk, a weighed cheese and the meal deal; cash.
    let cart = edge.new_cart()?;
    let milk = edge.catalog().by_barcode("4000417025005")?;
    cart.add(&milk.sku, 3)?;
    cart.add("BREAD-500G", 1)?;
    cart.add_weighed("CHEESE-KG", 312)?;
    sales.push(ring_up(&edge, &cart, &[TenderInput::cash(eur("20.00")?)])?);

    // Basket 2: coffee promotion, a staff discount with approval, coupon; card + cash.
    let cart = edge.new_cart()?;
    cart.add("COFFEE-500", 4)?;
    cart.add("WINE-RED", 2)?;
    cart.add("SOAP", 3)?;
    cart.set_customer(Some(&Customer { id: Some("C-1001".into()), group: Some("member".into()), ..Customer::default() }))?;
    cart.add_coupon("welcome5")?;
    cart.set_line_discount(
        "WINE-RED",
        Some(&ManualDiscount { percent: Some(Percent::whole(25)), amount: None, reason: "damaged label".into(), needs_approval: false }),
    )?;
    let card = CardAuth {
        token: "tok_9f2c".into(),
        brand: "visa".into(),
        last4: "4242".into(),
        auth_code: Some("A7Q1".into()),
        offline: false,
        authorized_at_ms: jiff::Timestamp::now().as_millisecond(),
    };
    sales.push(ring_up(&edge, &cart, &[TenderInput::card(eur("30.00")?, card), TenderInput::cash(eur("20.00")?)])?);

    // Basket 3: a gift card issued this morning pays part, the rest in cash; the receipt
    // prints what is left on the card.
    let gift_card = "GC-0042-0001";
    edge.stored_value().issue(StoredValueKind::GiftCard, gift_card, eur("25.00")?, None, "birthday voucher")?;
    let cart = edge.new_cart()?;
    cart.add("COFFEE-500", 1)?;
    cart.add("SOAP", 2)?;
    sales.push(ring_up(&edge, &cart, &[TenderInput::gift_card(eur("10.00")?, gift_card), TenderInput::cash(eur("5.00")?)])?);
    // Spending more than is left is refused, and nothing is written.
    let cart = edge.new_cart()?;
    cart.add("WINE-RED", 2)?;
    match cart.complete(&[TenderInput::gift_card(eur("17.80")?, gift_card)]) {
        Err(e) => println!("refused an overdraft ({}): {e}", e.code()),
        Ok(_) => return Err("a gift card was overdrawn".into()),
    }

    // Bad input gets a typed error with a stable code, and changes nothing.
    let cart = edge.new_cart()?;
    for (what, result) in [
        ("unknown SKU", cart.add("A-1", 1)),
        ("negative quantity", cart.add("SOAP", -2)),
        ("a card number in a reason", cart.set_order_discount(Some(&ManualDiscount {
            percent: Some(Percent::whole(5)),
            amount: None,
            reason: "paid with 4111 1111 1111 1111".into(),
            needs_approval: false,
        }))),
    ] {
        match result {
            Err(e) => println!("refused {what} ({}): {e}", e.code()),
            Ok(()) => return Err(format!("{what} was accepted").into()),
        }
    }

    // A return: two milks and the cheese from basket 1, back to cash.
    let first = &sales[0];
    let refund = edge.sales().return_items(
        &first.receipt_no,
        &[ReturnItem { line_no: 1, quantity: 2 }, ReturnItem { line_no: 3, quantity: 1 }],
        "customer changed mind",
        RefundTo::OriginalTenders,
    )?;
    println!();
    print!("{}", edge.sales().receipt(&refund.receipt_no)?.render_text(48));
    sales.push(refund);

    // An exchange: a wine from basket 2 for a coffee, in one call. The wine's value pays
    // first (as store credit passing through the ledger); the difference is paid in cash. Two
    // linked receipts, one transaction.
    let cart = edge.new_cart()?;
    cart.add("COFFEE-500", 1)?;
    let exchange = edge.sales().exchange(
        &sales[1].receipt_no,
        &[ReturnItem { line_no: 2, quantity: 1 }],
        &cart,
        &[TenderInput::cash(eur("5.00")?)],
        "prefers coffee",
        RefundTo::OriginalTenders,
    )?;
    for receipt in [&exchange.refund.receipt_no, &exchange.sale.receipt_no] {
        println!();
        print!("{}", edge.sales().receipt(receipt)?.render_text(48));
    }
    println!("exchange: customer paid {} on balance", exchange.difference);
    println!("gift card {gift_card}: {} left", edge.stored_value().balance(StoredValueKind::GiftCard, gift_card)?);
    sales.push(exchange.refund);
    sales.push(exchange.sale);

    // The link comes back: HQ's hub (the real aisle-hub, on a SQLite file) applies every event
    // exactly once into its SQL tables.
    println!();
    println!("== link to HQ is back ==");
    print_status(&streams)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), PathBuf::from);
    let hub_db = dir.join("hq-hub.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("hq-hub.db{suffix}")));
    }
    let mut hub_config = HubConfig::new(format!("sqlite:{}", hub_db.display()));
    hub_config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], hq_port));
    hub_config.worker_threads = Some(2);
    let hub = Hub::start(hub_config)?;
    let t = std::time::Instant::now();
    let drained = streams.flush(std::time::Duration::from_secs(30))?;
    let hq = rusqlite::Connection::open(&hub_db)?;
    let count = |sql: &str| -> AnyResult<i64> { Ok(hq.query_row(sql, [], |r| r.get(0))?) };
    println!(
        "forwarded in {} ms to the hub at {}: {} events, {} sales, {} payments in its tables{}",
        t.elapsed().as_millis(),
        hub.url(),
        count("SELECT count(*) FROM hub_event")?,
        count("SELECT count(*) FROM hub_sale")?,
        count("SELECT count(*) FROM hub_payment")?,
        if drained { "" } else { " — NOT DRAINED" }
    );
    print_status(&streams)?;
    if !drained {
        return Err("the commerce stream did not drain to HQ".into());
    }

    // Sync: HQ publishes prices and promotions, the registers converge over the hub and the LAN.
    sales.push(sync_day(&edge, &dir, &config, &hub)?);
    if !streams.flush(std::time::Duration::from_secs(30))? {
        return Err("the last sale did not reach HQ".into());
    }
    let (hub_sales, hub_total): (i64, i64) =
        hq.query_row("SELECT count(*), coalesce(sum(total_minor), 0) FROM hub_sale WHERE store = ?1", [&config.store_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    println!(
        "HQ's SQL: {hub_sales} sales and refunds of {}, receipt totals {} (before cash rounding)",
        config.store_id,
        Money::new(hub_total, Currency::EUR)
    );
    if usize::try_from(hub_sales)? != sales.len() {
        return Err(format!("HQ holds {hub_sales} sales, the tills rang up {}", sales.len()).into());
    }
    streams.stop();
    hub.shutdown();

    // Close and reopen: everything above is in the file.
    drop(cart);
    edge.close()?;
    let reopened = Edge::open(&path, config)?;
    let stats = reopened.stats()?;
    let receipts = reopened.sales().receipt_numbers()?;
    let mut takings = Money::zero(Currency::EUR);
    for r in &receipts {
        takings = takings.checked_add(reopened.sales().get(r)?.settlement.due)?;
    }
    let expected = Money::sum(Currency::EUR, sales.iter().map(|s| s.settlement.due))?;
    println!();
    println!("== summary ==");
    println!("receipts: {} ({})", receipts.len(), receipts.join(", "));
    println!("net takings after refunds: {takings} ({})", if takings == expected { "matches the tills" } else { "MISMATCH" });
    println!(
        "stored: {} products, {} carts, {} cart lines, {} KiB ({}), schema v{}",
        stats.products,
        stats.carts,
        stats.cart_lines,
        stats.bytes / 1024,
        path.display(),
        reopened.schema_version()
    );
    if takings != expected {
        return Err("stored sales do not sum to what was rung up".into());
    }
    Ok(())
}

/// The sync part of the day: HQ (its own replica, served by an HTTP hub) publishes the catalog,
/// a price change and a new promotion; register-1 pulls them from the hub, register-2 (whose
/// uplink is down) gets them from register-1 over the store LAN; both registers sell soap while
/// the LAN is cut and register-2 counts the shelf; after reconnecting, every replica agrees on
/// the stock. Returns register-1's sale.
fn sync_day(edge: &Edge, dir: &std::path::Path, config: &EdgeConfig, hub: &RunningHub) -> AnyResult<Sale> {
    println!();
    println!("== sync: HQ, two registers and the store LAN ==");
    let eur = |s: &str| Money::parse(s, Currency::EUR);
    let open = |name: &str, store: &str, device: &str| -> AnyResult<Edge> {
        let p = dir.join(name);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
        }
        Ok(Edge::open(p, EdgeConfig::new(store, device, Currency::EUR))?)
    };
    // HQ's pricing tool is a replica of its own (a file on HQ's side) that publishes through the hub.
    let hq = open("hq-pricing.db", "hq", "pricing-tool")?;
    let r2 = open("register-2.db", &config.store_id, "register-2")?;
    hq.sync().set_role(Role::Hq)?;
    // Enrolment: the hub and every device learn each other's public keys (a QR code at install
    // time; `POST /v1/admin/devices` for the hub).
    let hub_card = aisle_hub::sync::card(hub.state());
    let cards = [hub_card, hq.sync().identity()?, edge.sync().identity()?, r2.sync().identity()?];
    for card in &cards[1..] {
        aisle_hub::sync::enroll_device(hub.state(), card)?;
    }
    for replica in [&hq, edge, &r2] {
        for card in &cards {
            replica.sync().enroll(card)?;
        }
    }
    let lan = LanServer::start(edge.sync(), "127.0.0.1:0")?;
    let hub_link = || HttpSyncLink::new(&HttpSyncConfig::new(hub.url()));
    println!("hub {} · register-1 on the LAN at {} · register-2's uplink is down", hub.url(), lan.addr());

    // HQ owns the chain's catalog and promotions; today it raises coffee and adds a promotion.
    hq.catalog().upsert_all(&edge.catalog().list()?)?;
    let mut coffee = edge.catalog().get("COFFEE-500")?;
    coffee.price = eur("9.49")?;
    hq.catalog().upsert(&coffee)?;
    let promotions = format!(
        "{},\n  {}\n]",
        PROMOTIONS.trim_end().trim_end_matches(']').trim_end(),
        r#"{"id": "SOAP-20", "name": "Soap -20%", "priority": 5, "rule": {"type": "percent_off", "target": {"skus": ["SOAP"]}, "percent": "20"}}"#
    );
    hq.set_promotions_json(&promotions)?;
    let promotion_count = hq.promotions()?.len();
    hq.sync().sync_with(&mut hub_link()?)?;
    let round = edge.sync().sync_with(&mut hub_link()?)?;
    println!("register-1 ⇄ hub: {} chunks in ({} changes), {} out", round.pulled, round.pulled_changed, round.pushed.applied);
    let round = r2.sync().sync_with(&mut LanLink::new(lan.addr().to_string(), 5_000))?;
    println!("register-2 ⇄ register-1 (LAN): {} chunks in ({} changes, HQ's relayed verbatim)", round.pulled, round.pulled_changed);
    for (name, r) in [("register-1", edge), ("register-2", &r2)] {
        println!("{name}: coffee {} · {} promotions", r.catalog().get("COFFEE-500")?.price, r.promotions()?.len());
        if r.catalog().get("COFFEE-500")?.price != eur("9.49")? || r.promotions()?.len() != promotion_count {
            return Err(format!("{name} did not pick up HQ's price and promotion").into());
        }
    }

    // 40 soaps on the shelf; then the LAN is cut and both registers sell.
    edge.sync().stock_add("SOAP", "shelf", 40)?;
    r2.sync().sync_with(&mut LanLink::new(lan.addr().to_string(), 5_000))?;
    let sell = |r: &Edge, quantity: i64| -> AnyResult<Sale> {
        let cart = r.new_cart()?;
        cart.add("SOAP", quantity)?;
        let due = cart.price()?.total;
        let sale = cart.complete(&[TenderInput::cash(due.checked_add(eur("0.05")?)?)])?;
        r.sync().stock_add("SOAP", "shelf", -quantity)?;
        Ok(sale)
    };
    let sale = sell(edge, 3)?;
    sell(&r2, 2)?;
    // register-2 counts the shelf: 33 (it expected 38 from what it had seen: 5 are missing).
    r2.sync().stocktake("SOAP", "shelf", 33)?;
    println!("LAN cut: register-1 sold 3 soaps, register-2 sold 2 and counted 33 on the shelf");
    // Back: the registers sync over the LAN, register-1 with the hub.
    r2.sync().sync_with(&mut LanLink::new(lan.addr().to_string(), 5_000))?;
    edge.sync().sync_with(&mut hub_link()?)?;
    hq.sync().sync_with(&mut hub_link()?)?;
    let levels = [
        ("HQ", hq.sync().stock_level_in(&aisle::sync::store_scope(&config.store_id), "SOAP", "shelf")?),
        ("register-1", edge.sync().stock_level("SOAP", "shelf")?),
        ("register-2", r2.sync().stock_level("SOAP", "shelf")?),
    ];
    println!(
        "soap on the shelf: {} (the count of 33 minus register-1's 3 it had not seen)",
        levels.iter().map(|(n, l)| format!("{n} {l}")).collect::<Vec<_>>().join(" · ")
    );
    if levels.iter().any(|(_, l)| *l != 30) {
        return Err("stock did not converge to 30".into());
    }
    let digests = [edge.sync().digest()?, r2.sync().digest()?];
    println!("register digests equal: {}", digests[0] == digests[1]);
    if digests[0] != digests[1] {
        return Err("the registers' replicas differ".into());
    }
    lan.stop();
    Ok(sale)
}

/// One `status` line per stream exporter, as an operator would watch it.
fn print_status(streams: &aisle::Streams) -> AnyResult<()> {
    for s in streams.status()? {
        for e in &s.exporters {
            println!(
                "status {}/{}: {:?}, backlog {} ({} B, oldest {} ms), delivered {}, acked seq {}/{}, last error: {}",
                s.name,
                e.name,
                e.state,
                e.backlog_records,
                e.backlog_bytes,
                e.oldest_unsent_age_ms.unwrap_or(0),
                e.delivered_records,
                e.acked_seq,
                s.last_seq,
                e.last_error.as_deref().map(|m| m.chars().take(60).collect::<String>()).unwrap_or_else(|| "none".into())
            );
        }
    }
    Ok(())
}

fn ring_up(edge: &Edge, cart: &aisle::Cart, tenders: &[TenderInput]) -> AnyResult<Sale> {
    let priced = cart.price()?;
    for l in priced.lines.iter().filter(|l| l.manual_discount.as_ref().is_some_and(|d| d.needs_approval)) {
        println!("(manager approval recorded for the discount on {})", l.name);
    }
    for c in &priced.coupons {
        println!("coupon {}: {:?}", c.code, c.status);
    }
    let sale = cart.complete(tenders)?;
    println!();
    print!("{}", edge.sales().receipt(&sale.receipt_no)?.render_text(48));
    Ok(sale)
}
