//! The Rust replica of the cross-language sync check (tests/sync-cross/PROTOCOL.md): opens a
//! store file and obeys JSON-line commands on stdin, answering each on stdout.
//!
//!     cargo run -p aisle --example sync_agent

use std::io::{BufRead, Write};

use aisle::sync::{Device, Role, Value};
use aisle::{Currency, Edge, EdgeConfig, Money, Product};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value as Json, json};

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut edge: Option<Edge> = None;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let cmd: Json = match serde_json::from_str(&line) {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(out, "{}", json!({"ok": false, "code": "BAD_COMMAND", "message": e.to_string()}));
                continue;
            }
        };
        if cmd["op"] == "quit" {
            let _ = writeln!(out, "{}", json!({"ok": true}));
            break;
        }
        let answer = match run(&mut edge, &cmd) {
            Ok(mut fields) => {
                fields["ok"] = json!(true);
                fields
            }
            Err(e) => json!({"ok": false, "code": e.code(), "message": e.to_string()}),
        };
        let _ = writeln!(out, "{answer}");
        let _ = out.flush();
    }
}

fn s<'a>(cmd: &'a Json, key: &str) -> &'a str {
    cmd[key].as_str().unwrap_or_default()
}

fn i(cmd: &Json, key: &str) -> i64 {
    cmd[key].as_i64().unwrap_or_default()
}

fn bytes(cmd: &Json, key: &str) -> aisle::Result<Vec<u8>> {
    B64.decode(s(cmd, key)).map_err(|e| aisle::Error::InvalidArgument(format!("{key}: {e}")))
}

fn run(edge: &mut Option<Edge>, cmd: &Json) -> aisle::Result<Json> {
    if cmd["op"] == "open" {
        let e = Edge::open(s(cmd, "path"), EdgeConfig::new(s(cmd, "store"), s(cmd, "device"), Currency::EUR))?;
        e.sync().set_role(if s(cmd, "role") == "hq" { Role::Hq } else { Role::Store })?;
        let card = e.sync().identity()?.to_json();
        *edge = Some(e);
        return Ok(json!({"card": card}));
    }
    let e = edge.as_ref().ok_or_else(|| aisle::Error::InvalidArgument("open first".into()))?;
    let sync = e.sync();
    Ok(match s(cmd, "op") {
        "enroll" => {
            sync.enroll(&Device::from_json(s(cmd, "card"))?)?;
            json!({})
        }
        "request" => json!({"bytes": B64.encode(sync.request()?)}),
        "changes_since" => {
            let chunks = sync.changes_since(&bytes(cmd, "bytes")?)?;
            json!({"chunks": chunks.iter().map(|c| B64.encode(c)).collect::<Vec<_>>()})
        }
        "apply" => json!({"changed": sync.apply(&bytes(cmd, "bytes")?)?.changed}),
        "stock_add" => json!({"level": sync.stock_add(s(cmd, "sku"), s(cmd, "location"), i(cmd, "delta"))?}),
        "stocktake" => {
            sync.stocktake(s(cmd, "sku"), s(cmd, "location"), i(cmd, "count"))?;
            json!({})
        }
        "cart_add" => {
            sync.cart_add(s(cmd, "cart"), s(cmd, "sku"), i(cmd, "quantity"))?;
            json!({})
        }
        "cart_remove" => {
            sync.cart_remove(s(cmd, "cart"), s(cmd, "sku"))?;
            json!({})
        }
        "customer_upsert" => {
            let fields: Vec<(String, Value)> = cmd["fields"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_i64().map_or_else(|| Value::Text(v.as_str().unwrap_or_default().into()), Value::Int)))
                        .collect()
                })
                .unwrap_or_default();
            let borrowed: Vec<(&str, Value)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            sync.upsert_customer(s(cmd, "id"), &borrowed)?;
            json!({})
        }
        "customer_delete" => json!({"deleted": sync.delete_customer(s(cmd, "id"))?}),
        "price" => {
            e.catalog().upsert(&Product::new(s(cmd, "sku"), s(cmd, "name"), Money::new(i(cmd, "price_minor"), Currency::EUR), "standard"))?;
            json!({})
        }
        "state" => {
            let customer = sync.customer(s(cmd, "customer"))?.map(|f| {
                f.into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::Int(n) => json!(n),
                            Value::Text(t) => json!(t),
                            Value::Null => Json::Null,
                            Value::Bytes(b) => json!(B64.encode(b)),
                        };
                        (k, v)
                    })
                    .collect::<serde_json::Map<_, _>>()
            });
            json!({
                "level": sync.stock_level(s(cmd, "sku"), s(cmd, "location"))?,
                "lines": sync.cart_lines(s(cmd, "cart"))?,
                "customer": customer,
                "price_minor": e.catalog().get(s(cmd, "sku")).ok().map(|p| p.price.minor()),
            })
        }
        "digest" => json!({"digest": sync.digest_in(s(cmd, "scope"))?.iter().map(|b| format!("{b:02x}")).collect::<String>()}),
        other => return Err(aisle::Error::InvalidArgument(format!("unknown op {other:?}"))),
    })
}
