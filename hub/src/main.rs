//! `aisle-hub`: the HQ hub server. Every setting is a flag or an environment variable (flags
//! win); secrets are best given through the environment, where `ps` does not show them.
//!
//! ```text
//! aisle-hub --database postgres://hub@db:5432/aisle --listen 0.0.0.0:8443 \
//!           --tls-cert cert.pem --tls-key key.pem
//! ```

use std::process::ExitCode;
use std::time::Duration;

use aisle_hub::{Hub, HubConfig, TlsFiles};

const USAGE: &str = "usage: aisle-hub [options]
  --listen ADDR              address to listen on (AISLE_HUB_LISTEN; default 127.0.0.1:8080)
  --database URL             postgres://user@host:port/db or sqlite:path (AISLE_HUB_DATABASE; required)
  --admin-token TOKEN        bearer token for /v1/admin/* (AISLE_HUB_ADMIN_TOKEN)
  --ingest-token TOKEN       bearer token stores send to /v1/ingest (AISLE_HUB_INGEST_TOKEN; default: open)
  --tls-cert FILE            PEM certificate chain (AISLE_HUB_TLS_CERT); with --tls-key: HTTPS
  --tls-key FILE             PEM private key (AISLE_HUB_TLS_KEY)
  --max-body-bytes N         largest request body (AISLE_HUB_MAX_BODY_BYTES; default 8388608)
  --max-decompressed-bytes N largest ingest body after decompression (default 67108864)
  --device-rate R            requests/s per device, 0 = off (AISLE_HUB_DEVICE_RATE; default 20)
  --device-burst N           (default 100)
  --ip-rate R                requests/s per client IP, 0 = off (AISLE_HUB_IP_RATE; default 500)
  --ip-burst N               (default 1000)
  --trust-forwarded-for      per-IP limit by X-Forwarded-For (only behind a balancer that sets it)
  --pool-size N              PostgreSQL connections of this instance (AISLE_HUB_POOL_SIZE; default 8)
  --workers N                tokio worker threads (AISLE_HUB_WORKERS; default: one per core)
  --shutdown-grace-secs N    how long SIGTERM waits for in-flight requests (default 30)
  --log text|json            log format (AISLE_HUB_LOG; default json); level from AISLE_HUB_LOG_LEVEL (info)";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aisle-hub: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--trust-forwarded-for" => flags.push((a, None)),
            f if f.starts_with("--") => {
                let (name, value) = match f.split_once('=') {
                    Some((n, v)) => (n.to_owned(), v.to_owned()),
                    None => (
                        f.to_owned(),
                        args.next()
                            .ok_or_else(|| format!("{f} needs a value\n{USAGE}"))?,
                    ),
                };
                flags.push((name, Some(value)));
            }
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let get = |flag: &str, env: &str| -> Option<String> {
        flags
            .iter()
            .rev()
            .find(|(n, _)| n == flag)
            .and_then(|(_, v)| v.clone())
            .or_else(|| std::env::var(env).ok())
    };
    let known = [
        "--listen",
        "--database",
        "--admin-token",
        "--ingest-token",
        "--tls-cert",
        "--tls-key",
        "--max-body-bytes",
        "--max-decompressed-bytes",
        "--device-rate",
        "--device-burst",
        "--ip-rate",
        "--ip-burst",
        "--trust-forwarded-for",
        "--pool-size",
        "--workers",
        "--shutdown-grace-secs",
        "--log",
    ];
    if let Some((n, _)) = flags.iter().find(|(n, _)| !known.contains(&n.as_str())) {
        return Err(format!("unknown option {n}\n{USAGE}"));
    }
    fn num<T: std::str::FromStr>(v: Option<String>, what: &str) -> Result<Option<T>, String> {
        v.map(|s| {
            s.parse::<T>()
                .map_err(|_| format!("{what}: not a number: {s:?}"))
        })
        .transpose()
    }

    init_logs(
        get("--log", "AISLE_HUB_LOG").as_deref().unwrap_or("json"),
        get("", "AISLE_HUB_LOG_LEVEL").as_deref(),
    );

    let database = get("--database", "AISLE_HUB_DATABASE")
        .ok_or_else(|| format!("--database is required\n{USAGE}"))?;
    let mut cfg = HubConfig::new(database);
    cfg.listen = get("--listen", "AISLE_HUB_LISTEN")
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()
        .map_err(|e| format!("--listen: {e}"))?;
    cfg.admin_token = get("--admin-token", "AISLE_HUB_ADMIN_TOKEN").filter(|t| !t.is_empty());
    cfg.ingest_token = get("--ingest-token", "AISLE_HUB_INGEST_TOKEN").filter(|t| !t.is_empty());
    cfg.tls = match (
        get("--tls-cert", "AISLE_HUB_TLS_CERT"),
        get("--tls-key", "AISLE_HUB_TLS_KEY"),
    ) {
        (Some(c), Some(k)) => Some(TlsFiles {
            cert_pem: c.into(),
            key_pem: k.into(),
        }),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let l = &mut cfg.limits;
    if let Some(v) = num(
        get("--max-body-bytes", "AISLE_HUB_MAX_BODY_BYTES"),
        "--max-body-bytes",
    )? {
        l.max_body_bytes = v;
    }
    if let Some(v) = num(
        get(
            "--max-decompressed-bytes",
            "AISLE_HUB_MAX_DECOMPRESSED_BYTES",
        ),
        "--max-decompressed-bytes",
    )? {
        l.max_decompressed_bytes = v;
    }
    if let Some(v) = num(
        get("--device-rate", "AISLE_HUB_DEVICE_RATE"),
        "--device-rate",
    )? {
        l.device_rate = v;
    }
    if let Some(v) = num(
        get("--device-burst", "AISLE_HUB_DEVICE_BURST"),
        "--device-burst",
    )? {
        l.device_burst = v;
    }
    if let Some(v) = num(get("--ip-rate", "AISLE_HUB_IP_RATE"), "--ip-rate")? {
        l.ip_rate = v;
    }
    if let Some(v) = num(get("--ip-burst", "AISLE_HUB_IP_BURST"), "--ip-burst")? {
        l.ip_burst = v;
    }
    cfg.trust_forwarded_for = flags.iter().any(|(n, _)| n == "--trust-forwarded-for")
        || std::env::var("AISLE_HUB_TRUST_FORWARDED_FOR").is_ok_and(|v| v == "1" || v == "true");
    if let Some(v) = num(get("--pool-size", "AISLE_HUB_POOL_SIZE"), "--pool-size")? {
        cfg.pool_size = v;
    }
    cfg.worker_threads = num(get("--workers", "AISLE_HUB_WORKERS"), "--workers")?;
    if let Some(v) = num::<u64>(
        get("--shutdown-grace-secs", "AISLE_HUB_SHUTDOWN_GRACE_SECS"),
        "--shutdown-grace-secs",
    )? {
        cfg.shutdown_grace = Duration::from_secs(v);
    }
    let hub = Hub::start(cfg).map_err(|e| e.to_string())?;
    println!("aisle-hub listening on {}", hub.url());
    hub.run_until_signal();
    Ok(())
}

fn init_logs(format: &str, level: Option<&str>) {
    let level = match level.unwrap_or("info").to_ascii_lowercase().as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr);
    if format == "text" {
        builder.init();
    } else {
        builder.json().with_current_span(false).init();
    }
}
