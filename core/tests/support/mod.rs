//! Real servers on loopback for the forward tests: the crate's unit tests include this file
//! (`#[path]` in `src/forward/sinks/http.rs`) and integration tests use `mod support;`.
//! Only std, `tempfile` and (with the `mqtt` feature) `rumqttc`; no `crate::` paths, so it
//! compiles in both places.
//!
//! # API
//! - [`FaultServer`]: an HTTP/1.1 server on 127.0.0.1 (`start()`, or `start_on(port)`) that
//!   answers each request with the next scripted [`Reply`] (then the default, `200`):
//!   `let s = FaultServer::start(); s.push(Reply::status(503).header("Retry-After", "2"));`
//!   `s.url("/ingest")`, `s.next_request(timeout)` (each [`HttpRequest`] in arrival order,
//!   logged before the server answers, so it is there when the client returns),
//!   `s.requests()` (all so far), `s.wait_requests(n, timeout)`, `s.connections()` (TCP
//!   connections accepted), `s.set_default(reply)`, `s.wait_stalled_released(timeout)`.
//!   Faults: [`Reply::Stall`] (read the request, never answer, until the client hangs up),
//!   [`Reply::DropBeforeAnswer`], [`Reply::CloseMidRequestBody`],
//!   [`Reply::CloseMidResponseBody`]. Dropping the server closes every connection.
//!   [`FaultServer::start_tls`] (feature `mqtt`, which brings rustls) serves the same over TLS.
//! - [`closed_port`]: a loopback port with nothing listening (connection refused).
//! - [`cert`], [`cert_path`]: the test certificates in `certs/` (a CA, a server certificate
//!   for localhost/127.0.0.1, a client certificate, an unrelated CA).
//! - [`Mosquitto`]: a mosquitto broker process of the test's own on a free loopback port,
//!   killed on drop: `Mosquitto::start()`, `.port()`, `.kill()` (SIGKILL and reaped: the port
//!   refuses connections when it returns), `.restart()` (same port, ready when it returns),
//!   `.log()`. [`Mosquitto::start_with`] adds configuration lines (e.g. TLS listeners).
//!   Fails the test (never skips) when mosquitto is missing, naming the fix:
//!   `bash scripts/mosquitto.sh ensure`.
//!   [`Mosquitto::start_persistent`] keeps sessions across a kill and restart.
//! - [`Subscriber`] (feature `mqtt`): an MQTT client subscribed (SUBACK received) to a filter;
//!   `.next(timeout)` returns the next `(topic, payload)`; `Subscriber::connect_session` is a
//!   persistent session that gets what was published while it was away.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind 127.0.0.1:0")
}

/// What the [`FaultServer`] does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response (keeps the connection open for the next request).
    Answer { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// Read the request and never answer; wait until the client closes the connection.
    Stall,
    /// Read the request, then close the connection without a byte of answer.
    DropBeforeAnswer,
    /// Read the headers and at most half of the body, then close the connection.
    CloseMidRequestBody,
    /// Answer with this status and `Content-Length: 100`, send 10 bytes of body, close.
    CloseMidResponseBody(u16),
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Answer { status, headers: Vec::new(), body: Vec::new() }
    }

    /// Adds a header to an [`Reply::Answer`].
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Answer { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Sets the body of an [`Reply::Answer`].
    pub fn body(mut self, text: &str) -> Reply {
        if let Reply::Answer { body, .. } = &mut self {
            *body = text.as_bytes().to_vec();
        }
        self
    }
}

/// One request as the [`FaultServer`] read it.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    /// Names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received (not decompressed).
    pub body: Vec<u8>,
    /// Whether the whole body was read (false for [`Reply::CloseMidRequestBody`]).
    pub complete: bool,
    /// What the server did with it.
    pub reply: Reply,
}

impl HttpRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct ServerState {
    script: VecDeque<Reply>,
    default: Option<Reply>,
    log: Vec<HttpRequest>,
    stalls: usize,
    stalls_released: usize,
}

struct ServerShared {
    state: Mutex<ServerState>,
    changed: Condvar,
    connections: AtomicUsize,
    stop: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl ServerShared {
    fn update<T>(&self, f: impl FnOnce(&mut ServerState) -> T) -> T {
        let r = f(&mut lock(&self.state));
        self.changed.notify_all();
        r
    }

    fn wait_until(&self, timeout: Duration, mut ready: impl FnMut(&ServerState) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = lock(&self.state);
        loop {
            if ready(&g) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = self.changed.wait_timeout(g, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

/// A scriptable HTTP/1.1 server on 127.0.0.1 (see the module docs).
pub struct FaultServer {
    port: u16,
    scheme: &'static str,
    shared: Arc<ServerShared>,
    cursor: Mutex<usize>,
    accept: Option<JoinHandle<()>>,
}

impl FaultServer {
    pub fn start() -> FaultServer {
        FaultServer::start_inner(0, None)
    }

    /// On a given port (e.g. one an exporter has been failing to reach: the endpoint "comes
    /// back").
    pub fn start_on(port: u16) -> FaultServer {
        FaultServer::start_inner(port, None)
    }

    /// The same server behind TLS with this certificate chain and key (PEM), e.g.
    /// `cert("server.pem")`, `cert("server.key")`; its URL is then `https://…`.
    #[cfg(feature = "mqtt")]
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> FaultServer {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>().expect("server certificate");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("server key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server certificate and key");
        FaultServer::start_inner(0, Some(Arc::new(config)))
    }

    fn start_inner(port: u16, tls: Option<TlsServerConfig>) -> FaultServer {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        let port = listener.local_addr().expect("local addr").port();
        let shared = Arc::new(ServerShared {
            state: Mutex::new(ServerState::default()),
            changed: Condvar::new(),
            connections: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("fault-server".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if s.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    s.connections.fetch_add(1, Ordering::SeqCst);
                    if let Ok(c) = conn.try_clone() {
                        lock(&s.open).push(c);
                    }
                    let s2 = s.clone();
                    let tls = tls.clone();
                    let _ = std::thread::Builder::new().name("fault-server-conn".into()).spawn(move || {
                        let Ok(sock) = conn.try_clone() else { return };
                        match tls {
                            #[cfg(feature = "mqtt")]
                            Some(config) => {
                                if let Ok(tls) = rustls::ServerConnection::new(config) {
                                    serve(rustls::StreamOwned::new(tls, conn), sock, &s2);
                                }
                            }
                            #[cfg(not(feature = "mqtt"))]
                            Some(never) => match never {},
                            None => serve(conn, sock, &s2),
                        }
                    });
                }
            })
            .expect("spawn the fault server");
        FaultServer { port, scheme, shared, cursor: Mutex::new(0), accept: Some(accept) }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>` (`https://localhost:…` for a TLS server: the name its
    /// test certificate is for).
    pub fn url(&self, path: &str) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}{path}", self.port),
            _ => format!("http://127.0.0.1:{}{path}", self.port),
        }
    }

    /// Queues a reply for the next request that finds the queue non-empty.
    pub fn push(&self, reply: Reply) {
        self.shared.update(|s| s.script.push_back(reply));
    }

    /// What requests get once the queue is empty (initially `200`).
    pub fn set_default(&self, reply: Reply) {
        self.shared.update(|s| s.default = Some(reply));
    }

    /// Every request read so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        lock(&self.shared.state).log.clone()
    }

    /// The next request not yet returned by this method, waiting up to `timeout` for it.
    pub fn next_request(&self, timeout: Duration) -> Option<HttpRequest> {
        let mut cursor = lock(&self.cursor);
        let want = *cursor + 1;
        if !self.shared.wait_until(timeout, |s| s.log.len() >= want) {
            return None;
        }
        *cursor = want;
        Some(lock(&self.shared.state).log[want - 1].clone())
    }

    /// Waits until `n` requests have been read in all.
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |s| s.log.len() >= n)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until the client has closed every connection the server stalled on.
    pub fn wait_stalled_released(&self, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |s| s.stalls_released == s.stalls)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for c in lock(&self.shared.open).drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        // Wakes the accept loop so it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

#[cfg(feature = "mqtt")]
type TlsServerConfig = Arc<rustls::ServerConfig>;
#[cfg(not(feature = "mqtt"))]
type TlsServerConfig = std::convert::Infallible;

/// Serves one connection until the client closes it or a fault ends it; `sock` is the TCP
/// socket under `conn` (for shutting it down).
fn serve<S: Read + Write>(conn: S, sock: TcpStream, shared: &ServerShared) {
    let mut reader = BufReader::new(conn);
    loop {
        let Some((method, path, headers)) = read_head(&mut reader) else { return };
        let reply = shared.update(|s| s.script.pop_front().or_else(|| s.default.clone()).unwrap_or_else(|| Reply::status(200)));
        let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let length: usize = find("content-length").and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        let chunked = find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let close_after = find("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));

        if let Reply::CloseMidRequestBody = reply {
            let mut body = vec![0; length / 2];
            let _ = reader.read_exact(&mut body);
            shared.update(|s| s.log.push(HttpRequest { method, path, headers, body, complete: false, reply }));
            let _ = sock.shutdown(Shutdown::Both);
            return;
        }
        let body = if chunked { read_chunked(&mut reader) } else { read_exact(&mut reader, length) };
        let complete = body.is_some();
        let logged = HttpRequest { method, path, headers, body: body.clone().unwrap_or_default(), complete, reply: reply.clone() };
        shared.update(|s| s.log.push(logged));
        if !complete {
            return;
        }
        let writer = reader.get_mut();
        match reply {
            Reply::Answer { status, headers, body } => {
                let mut out = format!("HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n", reason(status), body.len());
                for (k, v) in &headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&body);
                if writer.write_all(&bytes).and_then(|_| writer.flush()).is_err() || close_after {
                    return;
                }
            }
            Reply::Stall => {
                shared.update(|s| s.stalls += 1);
                // Until the client hangs up (or the server is dropped).
                let mut sink = [0u8; 512];
                while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                shared.update(|s| s.stalls_released += 1);
                return;
            }
            Reply::DropBeforeAnswer => {
                let _ = sock.shutdown(Shutdown::Both);
                return;
            }
            Reply::CloseMidResponseBody(status) => {
                let _ = writer.write_all(format!("HTTP/1.1 {status} {}\r\nContent-Length: 100\r\n\r\n0123456789", reason(status)).as_bytes());
                let _ = writer.flush();
                let _ = sock.shutdown(Shutdown::Both);
                return;
            }
            Reply::CloseMidRequestBody => unreachable!("handled above"),
        }
    }
}

type Head = (String, String, Vec<(String, String)>);

fn read_head(reader: &mut impl BufRead) -> Option<Head> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            return Some((method, path, headers));
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
}

fn read_exact(reader: &mut impl Read, n: usize) -> Option<Vec<u8>> {
    let mut body = vec![0; n];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?.trim(), 16).ok()?;
        let chunk = read_exact(reader, size + 2)?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        408 => "Request Timeout",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A file of `core/tests/support/certs/` (test-only CA, server and client certificates and
/// keys, made with openssl, valid for 100 years): `ca.pem`, `server.pem`/`server.key` (for
/// `localhost` and `127.0.0.1`), `client.pem`/`client.key`, `other-ca.pem` (an unrelated CA).
pub fn cert(name: &str) -> String {
    let path = cert_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The path of a file of `core/tests/support/certs/` (for a broker's configuration).
pub fn cert_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/certs").join(name)
}

/// The mosquitto binary: on `PATH`, or where the Debian package puts it. Panics (fails the
/// test, never skips it) with the command that installs it.
pub fn mosquitto_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("mosquitto")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/mosquitto"), PathBuf::from("/usr/local/sbin/mosquitto")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the MQTT tests need a mosquitto broker, and none was found on PATH or in /usr/sbin: \
                 run `bash scripts/mosquitto.sh ensure` (installs the Debian package mosquitto)"
            )
        })
}

/// A mosquitto process of the test's own on 127.0.0.1 (see the module docs). Killed on drop.
pub struct Mosquitto {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Anonymous, no persistence, on a free port; returns once it accepts connections.
    pub fn start() -> Mosquitto {
        Mosquitto::start_with("")
    }

    /// Like [`Mosquitto::start`] with extra configuration lines after the listener line
    /// (options such as `cafile`, `certfile`, `keyfile`, `require_certificate true` apply to
    /// that listener).
    pub fn start_with(extra: &str) -> Mosquitto {
        Mosquitto::start_config(extra, false)
    }

    /// With persistence in its temporary directory, saved after every change (subscriptions
    /// included), so a persistent session (`Subscriber::connect_session`) survives
    /// [`Mosquitto::kill`] + [`Mosquitto::restart`] and collects QoS 1 messages meanwhile.
    pub fn start_persistent() -> Mosquitto {
        Mosquitto::start_config("", true)
    }

    fn start_config(extra: &str, persistent: bool) -> Mosquitto {
        let bin = mosquitto_bin();
        let mut last_log = String::new();
        // A free port can be taken between our check and mosquitto's bind: try a few.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir for mosquitto");
            let port = closed_port();
            if persistent {
                // Started as root, mosquitto drops to its own user before saving its database.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod the broker's dir");
                }
            }
            let persistence = if persistent {
                format!("persistence true\npersistence_location {}/\nautosave_interval 1\nautosave_on_changes true\n", dir.path().display())
            } else {
                "persistence false\n".to_owned()
            };
            let config = format!("listener {port} 127.0.0.1\n{extra}\nallow_anonymous true\n{persistence}log_dest stderr\n");
            std::fs::write(dir.path().join("mosquitto.conf"), config).expect("write mosquitto.conf");
            let mut m = Mosquitto { child: None, port, dir };
            match m.spawn(&bin) {
                Ok(()) => return m,
                Err(log) => last_log = log,
            }
        }
        panic!("mosquitto did not start on a free port; its log:\n{last_log}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// SIGKILL, reaped: when this returns, the port refuses connections.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same configuration (after [`Mosquitto::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        let bin = mosquitto_bin();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn(&bin) {
                Ok(()) => return,
                Err(log) if Instant::now() >= deadline => panic!("mosquitto did not restart on port {}; its log:\n{log}", self.port),
                // The old socket can linger for a moment after the kill: bind again.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// What the broker wrote to stderr (every run of it).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    fn spawn(&mut self, bin: &PathBuf) -> Result<(), String> {
        // Appended to, so the log of a run before a restart stays.
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        // Ready when the port accepts a connection; failed if the process exits first.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("mosquitto exited with {status}\n{}", self.log()));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("mosquitto did not accept connections within 10 s\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An MQTT client subscribed to one filter on a local broker (QoS 1).
#[cfg(feature = "mqtt")]
pub struct Subscriber {
    client: rumqttc::Client,
    messages: std::sync::mpsc::Receiver<(String, Vec<u8>)>,
    stop: Arc<AtomicBool>,
}

#[cfg(feature = "mqtt")]
impl Subscriber {
    /// Connects and subscribes; returns once the broker confirmed the subscription.
    pub fn connect(port: u16, filter: &str) -> Subscriber {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let id = format!("test-sub-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        Subscriber::open(port, filter, &id, true)
    }

    /// A persistent session (`clean_session = false`) under `client_id`: connecting again
    /// with the same id receives the QoS 1 messages published while it was away.
    pub fn connect_session(port: u16, filter: &str, client_id: &str) -> Subscriber {
        Subscriber::open(port, filter, client_id, false)
    }

    fn open(port: u16, filter: &str, id: &str, clean: bool) -> Subscriber {
        use rumqttc::{Event, Packet, QoS};
        let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(30)).set_max_packet_size(16 << 20, 16 << 20).set_clean_session(clean);
        let (client, mut connection) = rumqttc::Client::new(options, 10);
        client.subscribe(filter, QoS::AtLeastOnce).expect("queue the subscription");
        let (tx, messages) = std::sync::mpsc::channel();
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::Builder::new()
            .name("mqtt-subscriber".into())
            .spawn(move || {
                for event in connection.iter() {
                    if stop2.load(Ordering::SeqCst) {
                        return;
                    }
                    match event {
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            let _ = ready_tx.send(Ok(()));
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    }
                }
            })
            .expect("spawn the subscriber");
        match ready.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Subscriber { client, messages, stop },
            Ok(Err(e)) => panic!("subscriber on port {port}: {e}"),
            Err(_) => panic!("subscriber on port {port}: no SUBACK within 10 s"),
        }
    }

    /// The next message received, waiting up to `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<(String, Vec<u8>)> {
        self.messages.recv_timeout(timeout).ok()
    }
}

#[cfg(feature = "mqtt")]
impl Drop for Subscriber {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.client.try_disconnect();
    }
}
