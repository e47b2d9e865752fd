//! Peer sync between the devices of one store over TCP (a configured address; no discovery).
//!
//! On the socket, each call is `[op][u32 length][body]` (`X` exchange, `P` push) and each
//! answer `[status][u32 length][body]` (`0` with the sync body, `1` with a JSON
//! `{"code", "message"}` refusal). The bodies are the ones of [`crate::sync::SyncLink`]; the
//! server is [`Replication::serve_exchange`] / [`Replication::serve_push`], so the same checks
//! apply as over HTTP: the LAN is not trusted.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::sync::{MAX_BODY, PushReport, Replication, SyncLink, error_body};

const OP_EXCHANGE: u8 = b'X';
const OP_PUSH: u8 = b'P';
const OK: u8 = 0;
const REFUSED: u8 = 1;
/// Largest body on the socket: many chunks of a catch-up.
const MAX_FRAME: usize = MAX_BODY * 2;
/// Connections served at once; more are closed at once (a store has a handful of devices).
const MAX_CONNECTIONS: usize = 32;
/// An idle or stalled connection is closed after this.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

fn write_frame(w: &mut impl Write, tag: u8, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len()).map_err(|_| std::io::Error::other("body over 4 GiB"))?;
    w.write_all(&[tag])?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// Reads one frame; `None` on a clean end of stream before it.
fn read_frame(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    r.read_exact(&mut head[1..])?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("frame of {len} bytes is over {MAX_FRAME}")));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Some((head[0], body)))
}

/// A store device's LAN sync endpoint: a thread that accepts peers and serves their rounds.
pub struct LanServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LanServer {
    /// Listens on `addr` (e.g. `"0.0.0.0:7878"`, or `"127.0.0.1:0"` for any free port).
    pub fn start(replication: Replication, addr: &str) -> Result<LanServer> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| Error::InvalidArgument(format!("LAN sync: cannot listen on {addr:?}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| Error::InvalidArgument(format!("LAN sync: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicUsize::new(0));
        let st = stop.clone();
        let thread = std::thread::Builder::new()
            .name("aisle-lan-sync".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                        active.fetch_sub(1, Ordering::SeqCst);
                        let _ = conn.shutdown(Shutdown::Both);
                        continue;
                    }
                    let (replication, mine) = (replication.clone(), active.clone());
                    let spawned = std::thread::Builder::new().name("aisle-lan-peer".into()).spawn(move || {
                        let _ = serve(conn, &replication);
                        mine.fetch_sub(1, Ordering::SeqCst);
                    });
                    if spawned.is_err() {
                        // No thread for it: the connection was closed with the closure.
                        active.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            })
            .map_err(|e| Error::InvalidArgument(format!("LAN sync: cannot start its thread: {e}")))?;
        Ok(LanServer { addr, stop, thread: Some(thread) })
    }

    /// The address it listens on (the port chosen when started with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the listener thread (rounds in progress finish on their
    /// own threads; each is atomic per chunk).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with one connection of our own.
        let wake = if self.addr.ip().is_unspecified() {
            SocketAddr::new(if self.addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() }, self.addr.port())
        } else {
            self.addr
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LanServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(conn: TcpStream, replication: &Replication) -> std::io::Result<()> {
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    conn.set_nodelay(true)?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = BufWriter::new(conn);
    while let Some((op, body)) = read_frame(&mut reader)? {
        let answer = match op {
            OP_EXCHANGE => replication.serve_exchange(&body),
            OP_PUSH => replication
                .serve_push(&body)
                .and_then(|r| serde_json::to_vec(&r).map_err(|e| Error::InvalidArgument(e.to_string()))),
            other => Err(Error::SyncDecode { detail: format!("unknown LAN sync operation {other:#04x}") }),
        };
        match answer {
            Ok(bytes) => write_frame(&mut writer, OK, &bytes)?,
            Err(e) => write_frame(&mut writer, REFUSED, &error_body(&e))?,
        }
    }
    Ok(())
}

/// A [`SyncLink`] to another device of the store, at a configured address. Connects on first
/// use and reconnects after a failure.
pub struct LanLink {
    addr: String,
    timeout: Duration,
    conn: Mutex<Option<(BufReader<TcpStream>, BufWriter<TcpStream>)>>,
}

impl LanLink {
    /// A link to `addr` (`host:port`); `timeout_ms` bounds connecting and each read or write.
    pub fn new(addr: impl Into<String>, timeout_ms: u64) -> LanLink {
        LanLink { addr: addr.into(), timeout: Duration::from_millis(timeout_ms.max(1)), conn: Mutex::new(None) }
    }

    fn unreachable(&self, detail: impl std::fmt::Display) -> Error {
        Error::SyncUnreachable { peer: format!("tcp://{}", self.addr), detail: detail.to_string() }
    }

    fn connect(&self) -> Result<(BufReader<TcpStream>, BufWriter<TcpStream>)> {
        let addrs: Vec<SocketAddr> = self.addr.to_socket_addrs().map_err(|e| self.unreachable(e))?.collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.timeout) {
                Ok(s) => {
                    s.set_read_timeout(Some(self.timeout)).map_err(|e| self.unreachable(e))?;
                    s.set_write_timeout(Some(self.timeout)).map_err(|e| self.unreachable(e))?;
                    s.set_nodelay(true).map_err(|e| self.unreachable(e))?;
                    let r = s.try_clone().map_err(|e| self.unreachable(e))?;
                    return Ok((BufReader::new(r), BufWriter::new(s)));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(self.unreachable(last.map_or_else(|| "no address".to_owned(), |e| e.to_string())))
    }

    fn call(&mut self, op: u8, body: &[u8]) -> Result<Vec<u8>> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut conn = match slot.take() {
            Some(c) => c,
            None => self.connect()?,
        };
        write_frame(&mut conn.1, op, body).map_err(|e| self.unreachable(e))?;
        let (status, answer) = match read_frame(&mut conn.0) {
            Ok(Some(f)) => f,
            Ok(None) => return Err(self.unreachable("the peer closed the connection")),
            Err(e) => return Err(self.unreachable(e)),
        };
        *slot = Some(conn);
        match status {
            OK => Ok(answer),
            REFUSED => {
                let v: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| self.unreachable(format!("bad refusal: {e}")))?;
                let field = |k: &str| v.get(k).and_then(|s| s.as_str()).unwrap_or_default().to_owned();
                Err(Error::SyncPeerRefused { peer: format!("tcp://{}", self.addr), code: field("code"), message: field("message") })
            }
            s => Err(self.unreachable(format!("unknown answer status {s}"))),
        }
    }
}

impl SyncLink for LanLink {
    fn peer(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    fn exchange(&mut self, request: &[u8]) -> Result<Vec<u8>> {
        self.call(OP_EXCHANGE, request)
    }

    fn push(&mut self, chunks: &[u8]) -> Result<PushReport> {
        let answer = self.call(OP_PUSH, chunks)?;
        serde_json::from_slice(&answer).map_err(|e| self.unreachable(format!("push answer is not a push report: {e}")))
    }
}
