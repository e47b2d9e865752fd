//! One sync round between two replicas, as bytes: the client half ([`Replication::sync_with`]
//! over any [`SyncLink`]) and the serving half ([`Replication::serve_exchange`],
//! [`Replication::serve_push`], and [`Replication::handle_http`] for any HTTP server — a hub
//! written in Node, Python or Kotlin calls that one function per request).
//!
//! A round is two trips. **Exchange**: the client sends its signed request; the server answers
//! with its own signed request, then the chunks the client lacks (and, on a store device, the
//! HQ chunks it keeps for its store's other devices — see [`Replication::apply`]). **Push**: the
//! client answers the server's request with its chunks. Every message is the signed protocol
//! message of `wire.rs`; this module only frames several of them into one body.
//!
//! Must never open a socket: `crate::transport` carries these bodies over HTTP and TCP.

use serde::{Deserialize, Serialize};

use super::engine::{Device, Role};
use super::wire::{self, Kind};
use super::Replication;
use crate::edge::Failure;
use crate::error::{Error, Result};

/// Most messages in one framed body.
const MAX_MESSAGES: usize = 1 << 16;

/// Frames messages into one body: a big-endian `u32` count, then each message as a `u32`
/// length and its bytes (so a body cut anywhere, even between messages, is detected).
pub fn frame_messages<M: AsRef<[u8]>>(messages: &[M]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + messages.iter().map(|m| m.as_ref().len() + 4).sum::<usize>());
    out.extend_from_slice(&u32::try_from(messages.len()).unwrap_or(u32::MAX).to_be_bytes());
    for m in messages {
        let m = m.as_ref();
        out.extend_from_slice(&u32::try_from(m.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

/// The messages of a framed body. A truncated, padded or oversized body is `SYNC_DECODE`.
pub fn unframe_messages(body: &[u8]) -> Result<Vec<&[u8]>> {
    let bad = |detail: String| Error::SyncDecode { detail };
    let Some((count, mut rest)) = body.split_first_chunk::<4>() else {
        return Err(bad(format!("a framed body of {} bytes has no message count", body.len())));
    };
    let count = u32::from_be_bytes(*count) as usize;
    if count > MAX_MESSAGES {
        return Err(bad(format!("{count} messages in one body; at most {MAX_MESSAGES}")));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(bad(format!("body ends before message {i} of {count} (truncated)")));
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len > tail.len() {
            return Err(bad(format!("message {i} of {count} claims {len} bytes, {} remain (truncated)", tail.len())));
        }
        let (msg, tail) = tail.split_at(len);
        out.push(msg);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad(format!("{} stray bytes after {count} messages", rest.len())));
    }
    Ok(out)
}

/// Whether a chunk (from `changes_since`) carries any slot; an unreadable one counts as
/// carrying (the receiver will say what is wrong with it).
pub fn carries_slots(chunk: &[u8]) -> bool {
    let Ok(frame) = wire::frame(chunk) else { return true };
    let Ok(body) = frame.body() else { return true };
    wire::decode_changes(&body).map_or(true, |c| !c.slots.is_empty())
}

/// What a peer did with the chunks pushed to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReport {
    /// Chunks received.
    pub chunks: usize,
    /// Chunks applied (the rest were duplicates).
    pub applied: usize,
    /// Chunks already received before (`SYNC_REPLAY`): harmless.
    pub duplicates: usize,
    /// Slots that changed the receiver's state.
    pub changed: usize,
}

/// What one [`Replication::sync_with`] round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// The peer (`store/device`) and where it was reached.
    pub peer: String,
    /// Chunks received from the peer and applied.
    pub pulled: usize,
    /// Of those, slots that changed this replica.
    pub pulled_changed: usize,
    /// Chunks the peer had sent before (relayed copies, retried rounds): skipped.
    pub duplicates: usize,
    /// What the peer did with ours.
    pub pushed: PushReport,
}

/// A way to reach one peer: HTTP to a hub, a LAN socket, or anything an application builds.
pub trait SyncLink {
    /// Where the peer is, for errors and reports.
    fn peer(&self) -> String;
    /// Sends our signed request; returns the peer's framed answer (its request, then chunks).
    fn exchange(&mut self, request: &[u8]) -> Result<Vec<u8>>;
    /// Sends our framed chunks; returns what the peer did with them.
    fn push(&mut self, chunks: &[u8]) -> Result<PushReport>;
}

/// How many relayed batches a store device keeps per sender (older ones are dropped; a device
/// that missed them catches up from HQ itself).
pub(crate) const RELAY_BATCHES: i64 = 16;

/// An HTTP response for [`Replication::handle_http`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Content type of framed sync bodies.
pub const SYNC_CONTENT_TYPE: &str = "application/vnd.aisle.sync";

/// The HTTP status a refused exchange answers with.
pub fn http_status(e: &Error) -> u16 {
    match e.code() {
        "SYNC_DECODE" | "SYNC_UNSUPPORTED_VERSION" | "INVALID_ARGUMENT" => 400,
        "SYNC_BAD_SIGNATURE" => 401,
        "SYNC_UNKNOWN_DEVICE" | "SYNC_SCOPE" => 403,
        "SYNC_REPLAY" | "SYNC_CLOCK_SKEW" => 409,
        _ => 500,
    }
}

/// The JSON body of an error answer: `{"code": …, "message": …}`.
pub fn error_body(e: &Error) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "code": e.code(), "message": e.to_string() })).unwrap_or_default()
}

impl Replication {
    /// Client half of a round with one peer: pull what we lack, then push what it lacks.
    /// Chunks it sent before are skipped; any other refusal stops the round with its error
    /// (chunks applied before it stay applied: each is atomic and idempotent).
    pub fn sync_with(&self, link: &mut dyn SyncLink) -> Result<RoundReport> {
        let mut report = RoundReport { peer: link.peer(), ..RoundReport::default() };
        let answer = link.exchange(&self.request()?)?;
        let messages = unframe_messages(&answer)?;
        let Some((peer_request, chunks)) = messages.split_first() else {
            return Err(Error::SyncDecode { detail: format!("{} answered with no messages", report.peer) });
        };
        for chunk in chunks {
            match self.apply(chunk) {
                Ok(r) => {
                    report.pulled += 1;
                    report.pulled_changed += r.changed;
                }
                Err(Error::SyncReplay { .. }) => report.duplicates += 1,
                Err(e) => return Err(e),
            }
        }
        let ours = self.changes_since(peer_request)?;
        // Nothing the peer lacks: the push would only repeat our vector, which our request
        // already told it. Skipping it saves the peer a write (a hub serialises writes).
        if ours.iter().any(|c| carries_slots(c)) {
            report.pushed = link.push(&frame_messages(&ours))?;
        }
        Ok(report)
    }

    /// Serving half, first trip: checks the client's request and answers with our own request
    /// followed by the chunks it lacks.
    pub fn serve_exchange(&self, request: &[u8]) -> Result<Vec<u8>> {
        let chunks = self.changes_since(request)?;
        let relayed = self.relay_for(request)?;
        let mine = self.request()?;
        let mut out: Vec<&[u8]> = Vec::with_capacity(chunks.len() + relayed.len() + 1);
        out.push(&mine);
        out.extend(chunks.iter().map(Vec::as_slice));
        out.extend(relayed.iter().map(Vec::as_slice));
        Ok(frame_messages(&out))
    }

    /// Serving half, second trip: applies the pushed chunks (duplicates are counted, not
    /// refused). The first refused chunk stops it with its error.
    pub fn serve_push(&self, body: &[u8]) -> Result<PushReport> {
        let chunks = unframe_messages(body)?;
        let mut report = PushReport { chunks: chunks.len(), ..PushReport::default() };
        for chunk in chunks {
            match self.apply(chunk) {
                Ok(r) => {
                    report.applied += 1;
                    report.changed += r.changed;
                }
                Err(Error::SyncReplay { .. }) => report.duplicates += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Serves one HTTP request of the sync protocol: `POST /v1/sync/exchange` and
    /// `POST /v1/sync/push` (bodies `application/vnd.aisle.sync`; the push answer is a JSON
    /// [`PushReport`]). A refusal is a 4xx with `{"code", "message"}` and changes nothing.
    /// This is the whole hub: wire it to any HTTP server, in any binding.
    pub fn handle_http(&self, method: &str, path: &str, body: &[u8]) -> HttpReply {
        let path = path.split('?').next().unwrap_or(path);
        let json = "application/json";
        let refuse = |e: Error| HttpReply { status: http_status(&e), content_type: json, body: error_body(&e) };
        match (method, path) {
            ("POST", "/v1/sync/exchange") => match self.serve_exchange(body) {
                Ok(body) => HttpReply { status: 200, content_type: SYNC_CONTENT_TYPE, body },
                Err(e) => refuse(e),
            },
            ("POST", "/v1/sync/push") => match self.serve_push(body) {
                Ok(r) => HttpReply { status: 200, content_type: json, body: serde_json::to_vec(&r).unwrap_or_default() },
                Err(e) => refuse(e),
            },
            (_, "/v1/sync/exchange" | "/v1/sync/push") => HttpReply {
                status: 405,
                content_type: json,
                body: serde_json::to_vec(&serde_json::json!({"code": "METHOD_NOT_ALLOWED", "message": format!("{method} {path}: use POST")}))
                    .unwrap_or_default(),
            },
            _ => HttpReply {
                status: 404,
                content_type: json,
                body: serde_json::to_vec(&serde_json::json!({"code": "NOT_FOUND", "message": format!("no sync endpoint {path}")}))
                    .unwrap_or_default(),
            },
        }
    }

    /// HQ chunks this store device keeps that the (already authenticated) requester lacks:
    /// only to another device of our store, and only chunks whose every scope it may read.
    fn relay_for(&self, request: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.with(|c, tx| {
            if c.me.device.role != Role::Store {
                return Ok(Vec::new());
            }
            let frame = wire::frame(request)?;
            let Some(peer) = c.store.device(&frame.sender)? else { return Ok(Vec::new()) };
            if peer.role != Role::Store || peer.store_id != c.me.device.store_id {
                return Ok(Vec::new());
            }
            let req = wire::decode_request(&frame.body()?)?;
            let mut stmt = tx.prepare_cached("SELECT sender, message FROM sync_relay ORDER BY batch, msg")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (sender, message) = row?;
                if sender.unsigned_abs() == peer.site() || !lacks(&peer, &req.vector, &message)? {
                    continue;
                }
                out.push(message);
            }
            Ok(out)
        })
    }
}

/// Whether `peer`, holding `vector`, may read every scope of a kept chunk and lacks a slot of it.
fn lacks(peer: &Device, vector: &super::VersionVector, message: &[u8]) -> std::result::Result<bool, Failure> {
    let frame = wire::frame(message)?;
    if frame.kind != Kind::Changes {
        return Ok(false);
    }
    let ch = wire::decode_changes(&frame.body()?)?;
    if !ch.scopes.iter().all(|s| peer.may_read(s)) {
        return Ok(false);
    }
    Ok(ch.slots.iter().any(|s| !vector.covers(&s.key.scope, s.stamp)))
}
