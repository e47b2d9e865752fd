//! An example sync hub: the HQ replica served over HTTP on loopback, in a few lines around
//! [`aisle::sync::Replication::handle_http`] (the same call a Node, Python or Kotlin backend
//! makes from its own HTTP server). The fleet-scale hub is the `hub/` service; this one is
//! for the store day, the tests and the cross-language check.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use aisle::sync::Replication;

/// Counters of what the hub served.
#[derive(Default)]
pub struct HubSeen {
    pub requests: AtomicU64,
    pub refused: AtomicU64,
}

/// An HTTP sync hub on 127.0.0.1.
pub struct SyncHub {
    pub port: u16,
    pub seen: Arc<HubSeen>,
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
}

/// Largest request body the hub reads (a long catch-up pushes many chunks).
const MAX_REQUEST: usize = 256 << 20;

impl SyncHub {
    /// Serves `replication` (usually an HQ replica) on 127.0.0.1:`port` (0: any free port)
    /// with `workers` threads.
    pub fn start(replication: Replication, port: u16, workers: usize) -> std::io::Result<SyncHub> {
        let server = Arc::new(tiny_http::Server::http(("127.0.0.1", port)).map_err(std::io::Error::other)?);
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(port);
        let seen = Arc::new(HubSeen::default());
        let threads = (0..workers.max(1))
            .map(|_| {
                let (server, replication, seen) = (server.clone(), replication.clone(), seen.clone());
                std::thread::spawn(move || {
                    // `incoming_requests` ends when the server is unblocked by `stop`.
                    for mut request in server.incoming_requests() {
                        seen.requests.fetch_add(1, Ordering::SeqCst);
                        let mut body = Vec::new();
                        let too_big = request.body_length().is_some_and(|n| n > MAX_REQUEST);
                        let read = !too_big
                            && std::io::Read::read_to_end(&mut std::io::Read::take(request.as_reader(), MAX_REQUEST as u64 + 1), &mut body)
                                .is_ok()
                            && body.len() <= MAX_REQUEST;
                        let reply = if read {
                            replication.handle_http(request.method().as_str(), request.url(), &body)
                        } else {
                            aisle::sync::HttpReply {
                                status: 413,
                                content_type: "application/json",
                                body: br#"{"code":"TOO_LARGE","message":"request body over the hub's limit"}"#.to_vec(),
                            }
                        };
                        if reply.status >= 400 {
                            seen.refused.fetch_add(1, Ordering::SeqCst);
                        }
                        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], reply.content_type.as_bytes())
                            .expect("a static content type is a valid header");
                        let response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status).with_header(header);
                        let _ = request.respond(response);
                    }
                })
            })
            .collect();
        Ok(SyncHub { port, seen, server, threads })
    }

    /// The base URL for [`aisle::transport::HttpSyncConfig`].
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops serving: requests in progress finish, then the workers end.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.server.unblock();
        for _ in 1..self.threads.len() {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for SyncHub {
    fn drop(&mut self) {
        self.shutdown();
    }
}
