//! Sinks: where an exporter's batches go. Each sink sends one batch and says what happened;
//! the worker (`super::worker`) owns retries, backoff, acknowledgement and ordering, so a sink
//! never retries on its own and never decides to drop anything.

use std::sync::Arc;
use std::time::Duration;

use super::config::SinkConfig;
use super::wire::Batch;
use crate::error::Result;

mod dir;
pub(crate) mod http;
#[cfg(feature = "mqtt")]
mod mqtt;

/// An application function that receives batches (the callback exporter). `Ok(())`
/// acknowledges the batch; `Err(reason)` makes the worker retry it with backoff.
pub type Callback = Arc<dyn Fn(&Batch) -> std::result::Result<(), String> + Send + Sync>;

/// What became of one send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The destination has the batch (HTTP 2xx, MQTT PUBACK, file synced, callback returned).
    Delivered,
    /// Try again later: a network error, a timeout, a 5xx, a 408/429.
    Retry {
        error: String,
        /// The destination said when (HTTP `Retry-After`).
        after: Option<Duration>,
        /// The destination could not be reached at all: probe it cheaply instead of waiting out
        /// the backoff.
        link_down: bool,
    },
    /// The destination refused this batch for good (e.g. HTTP 400/413/422).
    Refused { error: String },
}

pub(crate) trait Sink: Send {
    fn send(&mut self, batch: &Batch) -> Outcome;

    /// A cheap reachability check while the link is down (e.g. a TCP connect).
    fn probe(&mut self) -> bool {
        true
    }
}

/// Builds the sink for an exporter; `callback` is the application's function for a callback
/// exporter (`None` until registered).
pub(crate) fn build(config: &SinkConfig, identity: (&str, &str), callback: Option<Callback>) -> Result<Option<Box<dyn Sink>>> {
    Ok(match config {
        SinkConfig::Http(h) => Some(Box::new(http::HttpSender::new(h)?)),
        SinkConfig::Directory(d) => Some(Box::new(dir::DirectoryWriter::new(d)?)),
        #[cfg(feature = "mqtt")]
        SinkConfig::Mqtt(m) => Some(Box::new(mqtt::MqttPublisher::new(m, identity)?)),
        #[cfg(not(feature = "mqtt"))]
        SinkConfig::Mqtt(_) => {
            let _ = identity;
            return Err(crate::error::Error::InvalidArgument(
                "this build of Aisle has no MQTT exporter (cargo feature \"mqtt\")".into(),
            ));
        }
        SinkConfig::Callback => callback.map(|f| Box::new(CallbackSink(f)) as Box<dyn Sink>),
    })
}

struct CallbackSink(Callback);

impl Sink for CallbackSink {
    fn send(&mut self, batch: &Batch) -> Outcome {
        // A panicking callback must not take the worker down with it.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.0)(batch))) {
            Ok(Ok(())) => Outcome::Delivered,
            Ok(Err(error)) => Outcome::Retry { error, after: None, link_down: false },
            Err(_) => Outcome::Retry { error: "the callback panicked".into(), after: None, link_down: false },
        }
    }
}
