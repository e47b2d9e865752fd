//! MQTT sink: one QoS 1 message per batch (the JSON batch body, compressed if configured) to a
//! topic from the exporter's template, over TCP or TLS/mutual TLS (AWS IoT Core: CA, client
//! certificate and key, port 8883). `Delivered` only after the broker's PUBACK for that very
//! publish.
//!
//! The connection is a rumqttc sync [`Client`] whose [`Connection`] is driven by a helper
//! thread owned by the sink (it answers keep-alives while the exporter is idle and reports
//! the events the sink waits for). Any failure ends that connection for good: the helper
//! thread stops, and the next send opens a new connection with a new event channel, so
//! nothing of a dead connection (a late PUBACK, a publish queued for re-sending) can count
//! for a new publish. Within one connection a PUBACK counts only if it carries the packet id
//! the publish went out with. rumqttc's own reconnect-and-resend is never used: the worker
//! owns retries.
//!
//! Every failure is a `Retry`; `link_down` when the broker does not take a TCP connection
//! right after (refused, unreachable, killed), so the worker probes until it is back.
//! Dropping the sink never waits: the helper thread is told to stop and detached.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use rumqttc::{Client, Connection, Event, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport};

use super::{Outcome, Sink};
use crate::error::{Error, Result};
use crate::forward::config::{Compression, MqttSink};
use crate::forward::wire::{self, Batch};

/// The MQTT limit on a packet (268,435,455 bytes): batches are bounded by the exporter's
/// `batch_max_bytes`, not by rumqttc's 10 KiB default. (AWS IoT Core takes 128 KiB.)
const MAX_PACKET: usize = 268_435_455;

pub(crate) struct MqttPublisher {
    host: String,
    port: u16,
    /// Template, as the topic (`{store}`, `{device}`, `{stream}`).
    client_id: String,
    topic: String,
    identity: (String, String),
    compression: Compression,
    keep_alive: Duration,
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
    session: Option<Session>,
}

impl MqttPublisher {
    pub(crate) fn new(config: &MqttSink, identity: (&str, &str)) -> Result<MqttPublisher> {
        let invalid = |m: String| Error::InvalidArgument(format!("MQTT exporter: {m}"));
        if config.host.is_empty() || config.port == 0 {
            return Err(invalid("host and port are required".into()));
        }
        if config.topic.is_empty() || config.topic.contains(['#', '+']) {
            return Err(invalid(format!("topic {:?} must be non-empty without wildcards", config.topic)));
        }
        if config.timeout_ms == 0 {
            return Err(invalid("timeout_ms must be > 0".into()));
        }
        let tls = match &config.tls {
            Some(t) => Some(Arc::new(tls_config(t).map_err(invalid)?)),
            None => None,
        };
        Ok(MqttPublisher {
            host: config.host.clone(),
            port: config.port,
            client_id: config.client_id.clone().unwrap_or_else(|| "aisle-{store}-{device}-{stream}".to_owned()),
            topic: config.topic.clone(),
            identity: (identity.0.to_owned(), identity.1.to_owned()),
            compression: config.compression,
            keep_alive: Duration::from_secs(config.keep_alive_s),
            timeout: Duration::from_millis(config.timeout_ms),
            tls,
            session: None,
        })
    }

    fn fill(&self, template: &str, stream: &str) -> String {
        template.replace("{store}", &self.identity.0).replace("{device}", &self.identity.1).replace("{stream}", stream)
    }

    fn authority(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn open(&self, stream: &str) -> std::result::Result<Session, String> {
        let mut options = MqttOptions::new(self.fill(&self.client_id, stream), self.host.clone(), self.port);
        options.set_keep_alive(self.keep_alive).set_clean_session(true).set_max_packet_size(MAX_PACKET, MAX_PACKET);
        if let Some(tls) = &self.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls.clone())));
        }
        let connect_secs = self.timeout.as_millis().div_ceil(1000).max(1) as u64;
        // rumqttc builds a small tokio runtime here; a failure to do so must not take the
        // worker thread down.
        let (client, mut connection) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || Client::new(options, 4))).map_err(|_| "could not start an MQTT client".to_owned())?;
        connection.eventloop.network_options.set_connection_timeout(connect_secs);
        let (tx, events) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::Builder::new()
            .name(format!("aisle-mqtt {}", self.authority()))
            .spawn(move || drive(connection, tx, stop2))
            .map_err(|e| format!("could not start the MQTT connection thread: {e}"))?;
        Ok(Session { client, events, stop, connected: false, dead: None })
    }

    fn failed(&mut self, error: String) -> Outcome {
        self.session = None;
        let link_down = !super::http::probe(&self.authority());
        Outcome::Retry { error: format!("MQTT {}: {error}", self.authority()), after: None, link_down }
    }
}

/// Builds the rustls configuration: the CA as the only trust anchor, and the client
/// certificate and key when given (mutual TLS).
fn tls_config(t: &crate::forward::config::MqttTls) -> std::result::Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    // rumqttc is built without a crypto provider of its own; ring is ours. Someone else
    // installing one first is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(t.ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("tls.ca_pem: {e}"))?;
        roots.add(cert).map_err(|e| format!("tls.ca_pem: {e}"))?;
    }
    if roots.is_empty() {
        return Err("tls.ca_pem: no PEM certificate found".into());
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    match (&t.client_cert_pem, &t.client_key_pem) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| format!("tls.client_cert_pem: {e}"))?;
            if chain.is_empty() {
                return Err("tls.client_cert_pem: no PEM certificate found".into());
            }
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| format!("tls.client_key_pem: {e}"))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("tls client certificate and key: {e}"))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err("tls: client_cert_pem and client_key_pem go together".into()),
    }
}

/// One connection: the client handle, and what its helper thread reports.
struct Session {
    client: Client,
    events: Receiver<Note>,
    stop: Arc<AtomicBool>,
    connected: bool,
    /// Why the connection ended, once the helper thread said so.
    dead: Option<String>,
}

/// What the helper thread reports.
enum Note {
    Connected,
    /// A publish went out with this packet id.
    Sent(u16),
    /// The broker acknowledged this packet id.
    Acked(u16),
    /// The connection ended (the thread stops after this).
    Failed(String),
}

impl Session {
    /// Takes in what happened while nobody was waiting (e.g. the broker went away while the
    /// exporter was idle).
    fn catch_up(&mut self) {
        while let Ok(note) = self.events.try_recv() {
            match note {
                Note::Connected => self.connected = true,
                Note::Failed(e) => self.dead = Some(e),
                Note::Sent(_) | Note::Acked(_) => {}
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The helper thread stops at its next event (the DISCONNECT going out, or its
        // connection failing); nobody waits for it.
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.client.try_disconnect();
    }
}

fn drive(mut connection: Connection, tx: Sender<Note>, stop: Arc<AtomicBool>) {
    for event in connection.iter() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let note = match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => Note::Connected,
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => Note::Sent(pkid),
            Ok(Event::Incoming(Packet::PubAck(ack))) => Note::Acked(ack.pkid),
            Ok(Event::Incoming(Packet::Disconnect)) => Note::Failed("the broker disconnected".into()),
            Ok(_) => continue,
            Err(e) => Note::Failed(e.to_string()),
        };
        let last = matches!(note, Note::Failed(_));
        if tx.send(note).is_err() || last {
            return;
        }
    }
}

impl Sink for MqttPublisher {
    fn send(&mut self, batch: &Batch) -> Outcome {
        let payload = match wire::compress(batch.to_json(), self.compression) {
            Ok((body, _)) => body,
            Err(e) => return Outcome::Retry { error: e.to_string(), after: None, link_down: false },
        };
        let topic = self.fill(&self.topic, &batch.stream);

        // A connection that ended since the last send is replaced now; that is reconnecting,
        // not retrying: no batch was lost with it.
        if let Some(s) = &mut self.session {
            s.catch_up();
            if s.dead.is_some() {
                self.session = None;
            }
        }
        if self.session.is_none() {
            match self.open(&batch.stream) {
                Ok(s) => self.session = Some(s),
                Err(e) => return self.failed(e),
            }
        }
        let Some(session) = self.session.as_mut() else { return self.failed("no connection".into()) };

        if let Err(e) = session.client.try_publish(topic.clone(), QoS::AtLeastOnce, false, payload) {
            // Most likely the connection failed just now: its thread said why before ending.
            session.catch_up();
            let error = session.dead.take().unwrap_or_else(|| format!("publish to {topic:?} not accepted: {e}"));
            return self.failed(error);
        }
        let deadline = Instant::now() + self.timeout;
        let mut pkid = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match session.events.recv_timeout(left) {
                Ok(Note::Connected) => session.connected = true,
                // One publish at a time per connection: this is ours.
                Ok(Note::Sent(p)) => pkid = Some(p),
                Ok(Note::Acked(p)) if pkid == Some(p) => return Outcome::Delivered,
                Ok(Note::Acked(_)) => {} // not for this publish
                Ok(Note::Failed(e)) => return self.failed(e),
                Err(RecvTimeoutError::Timeout) => {
                    let what = if !session.connected {
                        "could not connect"
                    } else if pkid.is_none() {
                        "could not send the publish"
                    } else {
                        "no PUBACK"
                    };
                    let error = format!("{what} within {} ms", self.timeout.as_millis());
                    return self.failed(error);
                }
                Err(RecvTimeoutError::Disconnected) => return self.failed("the connection thread ended".into()),
            }
        }
    }

    fn probe(&mut self) -> bool {
        super::http::probe(&self.authority())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::super::http::support::{Mosquitto, Subscriber, cert, cert_path, closed_port};
    use super::*;
    use crate::forward::config::{MqttTls, PayloadFormat};
    use crate::forward::wire::Record;

    fn batch(stream: &str, first: u64, n: u64) -> Batch {
        Batch {
            store: "store-1".into(),
            device: "reg-1".into(),
            stream: stream.into(),
            format: PayloadFormat::Json,
            records: (first..first + n)
                .map(|s| Record { seq: s, at_ms: 1_700_000_000_000 + s as i64, payload: format!("{{\"n\":{s}}}").into_bytes() })
                .collect(),
        }
    }

    fn config(port: u16) -> MqttSink {
        MqttSink {
            host: "127.0.0.1".into(),
            port,
            client_id: None,
            topic: "aisle/{store}/{device}/{stream}".into(),
            compression: Compression::None,
            tls: None,
            keep_alive_s: 30,
            timeout_ms: 5_000,
        }
    }

    fn publisher(c: &MqttSink) -> MqttPublisher {
        MqttPublisher::new(c, ("store-1", "reg-1")).unwrap()
    }

    fn retry(o: Outcome) -> (String, bool) {
        match o {
            Outcome::Retry { error, after: None, link_down } => (error, link_down),
            other => panic!("expected Retry, got {other:?}"),
        }
    }

    const WAIT: Duration = Duration::from_secs(10);

    #[test]
    fn publishes_one_message_per_batch_after_the_puback() {
        let broker = Mosquitto::start();
        let sub = Subscriber::connect(broker.port(), "aisle/#");
        for (i, compression) in [Compression::None, Compression::Gzip, Compression::Zstd].into_iter().enumerate() {
            let mut sink = publisher(&MqttSink { compression, ..config(broker.port()) });
            let b = batch("sales", 1 + 10 * i as u64, 3);
            assert_eq!(sink.send(&b), Outcome::Delivered, "{compression:?}");
            let (topic, payload) = sub.next(WAIT).expect("the subscriber got the batch");
            assert_eq!(topic, "aisle/store-1/reg-1/sales");
            let encoding = match compression {
                Compression::None => None,
                Compression::Gzip => Some("gzip"),
                Compression::Zstd => Some("zstd"),
            };
            let body = wire::decompress(&payload, encoding, 1 << 20).unwrap();
            assert_eq!(Batch::decode(&body).unwrap(), b);
        }
        // Several batches over one connection, each acknowledged before the next; bigger than
        // rumqttc's 10 KiB default packet limit too.
        let mut sink = publisher(&MqttSink { topic: "aisle/t/{stream}".into(), ..config(broker.port()) });
        let big = Batch { records: (1..=2000).map(|s| Record { seq: s, at_ms: 0, payload: b"\"0123456789abcdef\"".to_vec() }).collect(), ..batch("big", 1, 0) };
        for b in [batch("sales", 100, 1), big.clone(), batch("sales", 101, 1)] {
            assert_eq!(sink.send(&b), Outcome::Delivered);
            let (topic, payload) = sub.next(WAIT).unwrap();
            assert_eq!(topic, format!("aisle/t/{}", b.stream));
            assert_eq!(Batch::decode(&payload).unwrap(), b);
        }
        assert!(broker.log().matches("New client connected").count() >= 5, "{}", broker.log());
    }

    #[test]
    fn a_killed_broker_is_link_down_and_a_restarted_one_takes_the_next_batch() {
        let mut broker = Mosquitto::start();
        let port = broker.port();
        let mut sink = publisher(&config(port));
        let sub = Subscriber::connect(port, "aisle/#");
        assert_eq!(sink.send(&batch("sales", 1, 2)), Outcome::Delivered);
        assert_eq!(Batch::decode(&sub.next(WAIT).unwrap().1).unwrap(), batch("sales", 1, 2));
        drop(sub);

        broker.kill();
        let (error, link_down) = retry(sink.send(&batch("sales", 3, 2)));
        assert!(link_down, "{error}");
        assert!(!sink.probe());
        // Still down: the next send fails the same way, fast (connection refused).
        let t = Instant::now();
        assert!(retry(sink.send(&batch("sales", 3, 2))).1);
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

        broker.restart();
        assert!(sink.probe());
        let sub = Subscriber::connect(port, "aisle/#");
        assert_eq!(sink.send(&batch("sales", 3, 2)), Outcome::Delivered);
        assert_eq!(Batch::decode(&sub.next(WAIT).unwrap().1).unwrap(), batch("sales", 3, 2));
    }

    #[test]
    fn a_broker_restarted_while_idle_costs_no_batch() {
        let mut broker = Mosquitto::start();
        let mut sink = publisher(&config(broker.port()));
        assert_eq!(sink.send(&batch("sales", 1, 1)), Outcome::Delivered);
        broker.restart();
        // The helper thread has seen (or will see) the old connection end; either way this
        // send goes over a new connection, or fails over the dead one and the next succeeds.
        let sub = Subscriber::connect(broker.port(), "aisle/#");
        let mut outcome = sink.send(&batch("sales", 2, 1));
        if outcome != Outcome::Delivered {
            assert!(!retry(outcome).1, "the broker is up: not link down");
            outcome = sink.send(&batch("sales", 2, 1));
        }
        assert_eq!(outcome, Outcome::Delivered);
        assert_eq!(Batch::decode(&sub.next(WAIT).unwrap().1).unwrap(), batch("sales", 2, 1));
    }

    #[test]
    fn nothing_listening_is_link_down() {
        let mut sink = publisher(&config(closed_port()));
        assert!(retry(sink.send(&batch("sales", 1, 1))).1);
        assert!(!sink.probe());
    }

    #[test]
    fn client_id_defaults_to_store_device_and_stream_and_takes_placeholders() {
        let broker = Mosquitto::start();
        let mut sink = publisher(&config(broker.port()));
        assert_eq!(sink.send(&batch("sales", 1, 1)), Outcome::Delivered);
        let mut sink = publisher(&MqttSink { client_id: Some("pos-{device}-{stream}".into()), ..config(broker.port()) });
        assert_eq!(sink.send(&batch("returns", 1, 1)), Outcome::Delivered);
        let log = broker.log();
        assert!(log.contains("as aisle-store-1-reg-1-sales "), "{log}");
        assert!(log.contains("as pos-reg-1-returns "), "{log}");
    }

    #[test]
    fn mutual_tls_as_aws_iot_core_wants_it() {
        let extra = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
            cert_path("ca.pem").display(),
            cert_path("server.pem").display(),
            cert_path("server.key").display()
        );
        let broker = Mosquitto::start_with(&extra);
        let tls = MqttTls { ca_pem: cert("ca.pem"), client_cert_pem: Some(cert("client.pem")), client_key_pem: Some(cert("client.key")) };
        let mut sink = publisher(&MqttSink { tls: Some(tls.clone()), ..config(broker.port()) });
        assert_eq!(sink.send(&batch("sales", 1, 2)), Outcome::Delivered, "{}", broker.log());

        // Without the client certificate the broker refuses the handshake: reachable, not delivered.
        let mut anonymous = publisher(&MqttSink { tls: Some(MqttTls { client_cert_pem: None, client_key_pem: None, ..tls.clone() }), ..config(broker.port()) });
        let (error, link_down) = retry(anonymous.send(&batch("sales", 3, 1)));
        assert!(!link_down, "{error}");
        // Trusting another CA: the broker's certificate is refused.
        let mut wrong = publisher(&MqttSink { tls: Some(MqttTls { ca_pem: cert("other-ca.pem"), ..tls }), ..config(broker.port()) });
        let (error, link_down) = retry(wrong.send(&batch("sales", 3, 1)));
        assert!(!link_down && error.to_lowercase().contains("certificate"), "{error}");
    }

    #[test]
    fn bad_tls_material_is_an_invalid_argument() {
        let bad = [
            MqttTls { ca_pem: "nope".into(), client_cert_pem: None, client_key_pem: None },
            MqttTls { ca_pem: cert("ca.pem"), client_cert_pem: Some(cert("client.pem")), client_key_pem: None },
            MqttTls { ca_pem: cert("ca.pem"), client_cert_pem: Some(cert("client.pem")), client_key_pem: Some("junk".into()) },
        ];
        for tls in bad {
            let e = MqttPublisher::new(&MqttSink { tls: Some(tls), ..config(1883) }, ("s", "d")).err().expect("refused");
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{e}");
        }
    }

    /// A hand-rolled MQTT 3.1.1 broker for what mosquitto will not do on demand: it answers
    /// CONNECT and then does what the test says with each PUBLISH.
    struct FakeBroker {
        listener: TcpListener,
    }

    /// One accepted connection of the fake broker, CONNACK sent.
    struct FakeConn(TcpStream);

    impl FakeBroker {
        fn start() -> FakeBroker {
            FakeBroker { listener: TcpListener::bind("127.0.0.1:0").unwrap() }
        }

        fn port(&self) -> u16 {
            self.listener.local_addr().unwrap().port()
        }

        /// The next connection that sends CONNECT (the sink's TCP probes close without a byte).
        fn accept(&self) -> FakeConn {
            loop {
                let (mut s, _) = self.listener.accept().unwrap();
                if let Some((kind, _)) = read_packet(&mut s) {
                    assert_eq!(kind >> 4, 1, "CONNECT first");
                    s.write_all(&[0x20, 2, 0, 0]).unwrap();
                    return FakeConn(s);
                }
            }
        }
    }

    impl FakeConn {
        /// Reads up to the next PUBLISH; its packet id.
        fn next_publish(&mut self) -> u16 {
            loop {
                let (kind, body) = read_packet(&mut self.0).expect("a packet");
                match kind >> 4 {
                    3 => {
                        let topic_len = u16::from_be_bytes([body[0], body[1]]) as usize;
                        return u16::from_be_bytes([body[2 + topic_len], body[3 + topic_len]]);
                    }
                    12 => self.0.write_all(&[0xD0, 0]).unwrap(), // PINGREQ → PINGRESP
                    _ => {}
                }
            }
        }

        fn puback(&mut self, pkid: u16) {
            let [a, b] = pkid.to_be_bytes();
            // The client may have closed the connection already.
            let _ = self.0.write_all(&[0x40, 2, a, b]);
        }
    }

    /// One packet: its first byte and its body; `None` at the end of the stream.
    fn read_packet(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
        let mut byte = [0u8; 1];
        s.read_exact(&mut byte).ok()?;
        let kind = byte[0];
        let (mut len, mut shift) = (0usize, 0);
        loop {
            s.read_exact(&mut byte).ok()?;
            len |= ((byte[0] & 0x7f) as usize) << shift;
            shift += 7;
            if byte[0] & 0x80 == 0 {
                break;
            }
        }
        let mut body = vec![0; len];
        s.read_exact(&mut body).ok()?;
        Some((kind, body))
    }

    #[test]
    fn only_the_puback_of_this_publish_counts() {
        let broker = FakeBroker::start();
        let mut sink = publisher(&MqttSink { timeout_ms: 1_000, ..config(broker.port()) });
        std::thread::scope(|scope| {
            let fake = scope.spawn(|| {
                // Connection 1: its first publish (packet id 1) is held without an answer.
                let mut c1 = broker.accept();
                let held = c1.next_publish();
                // Connection 2 (the sink gave up on 1): its first publish has the same packet
                // id. The PUBACK for connection 1's publish arrives late, on connection 1,
                // while the sink waits on connection 2: it must not count.
                let mut c2 = broker.accept();
                let p2 = c2.next_publish();
                assert_eq!(p2, held, "a new connection numbers its packets afresh");
                c1.puback(held);
                // Connection 3: a PUBACK for another packet id first.
                let mut c3 = broker.accept();
                let p3 = c3.next_publish();
                c3.puback(p3.wrapping_add(1));
                // Connection 4: answered properly.
                let mut c4 = broker.accept();
                let p4 = c4.next_publish();
                c4.puback(p4);
                (c1, c2, c3, c4)
            });
            let (error, link_down) = retry(sink.send(&batch("sales", 1, 1)));
            assert!(error.contains("no PUBACK within 1000 ms"), "{error}");
            assert!(!link_down, "the broker takes connections: not link down");
            let (error, _) = retry(sink.send(&batch("sales", 1, 1)));
            assert!(error.contains("no PUBACK"), "a stale PUBACK must not count: {error}");
            // rumqttc itself ends a connection on an unsolicited PUBACK; either way, not delivered.
            let (error, _) = retry(sink.send(&batch("sales", 1, 1)));
            assert!(error.contains("unsolicited ack"), "{error}");
            assert_eq!(sink.send(&batch("sales", 1, 1)), Outcome::Delivered);
            fake.join().unwrap();
        });
    }

    #[test]
    fn dropping_a_sink_does_not_wait_for_its_connection() {
        // A broker that accepts TCP and never answers CONNECT.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sink = publisher(&MqttSink { timeout_ms: 300, ..config(silent.local_addr().unwrap().port()) });
        let (error, link_down) = retry(sink.send(&batch("sales", 1, 1)));
        assert!(error.contains("could not connect"), "{error}");
        assert!(!link_down, "it takes TCP connections");
        // A connection in progress again, then the sink goes away.
        let t = Instant::now();
        let _ = sink.send(&batch("sales", 1, 1));
        drop(sink);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
