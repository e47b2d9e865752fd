//! Insights out: each closed interval of a camera as one versioned JSON event
//! (`docs/schemas/vision-insight.schema.json`) appended to a durable forward stream, which
//! forwards it to HQ when the link is up.
//!
//! Owns the event's shape and the stream's default policy. Must never carry pixels, boxes or
//! track ids: an event holds what [`Insight`] holds (counts, means, percentiles) plus how many
//! frames the pipeline dropped and which model saw them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::forward::{StreamConfig, Streams, WhenFull};

use super::analytics::Insight;

/// The event's `type`.
pub const INSIGHT_EVENT: &str = "VisionInsight";
/// The version of its `data` (bumped on any incompatible change; new optional fields do not).
pub const INSIGHT_EVENT_VERSION: u32 = 1;
/// The stream a pipeline appends to unless told otherwise.
pub const INSIGHT_STREAM: &str = "vision";

/// One insight as it is forwarded: `{"type":"VisionInsight","version":1,"at_ms":…,"data":{…}}`,
/// the envelope commerce events use too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsightEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u32,
    /// The end of the interval, on the frames' clock.
    pub at_ms: i64,
    pub data: InsightData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightData {
    #[serde(flatten)]
    pub insight: Insight,
    /// Frames the pipeline dropped (queue full, or discarded at stop) since the previous event.
    pub frames_dropped: u64,
    /// The model that saw the interval's last frame.
    pub model: String,
}

impl InsightEvent {
    pub fn new(insight: Insight, frames_dropped: u64, model: &str) -> InsightEvent {
        InsightEvent {
            kind: INSIGHT_EVENT.to_owned(),
            version: INSIGHT_EVENT_VERSION,
            at_ms: insight.end_ms,
            data: InsightData { insight, frames_dropped, model: model.to_owned() },
        }
    }

    pub fn to_json(&self) -> String {
        // Plain data (strings, integers, finite floats): serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads an event back from `stream` (a receiver, a test); refuses another type or a
    /// newer version.
    pub fn from_json(stream: &str, json: &str) -> Result<InsightEvent> {
        let bad = |reason: String| Error::InvalidPayload { stream: stream.to_owned(), reason };
        let e: InsightEvent = serde_json::from_str(json).map_err(|e| bad(format!("not a vision insight event: {e}")))?;
        if e.kind != INSIGHT_EVENT || e.version > INSIGHT_EVENT_VERSION {
            return Err(bad(format!("event {:?} version {} is not {INSIGHT_EVENT} <= {INSIGHT_EVENT_VERSION}", e.kind, e.version)));
        }
        Ok(e)
    }
}

/// A forward stream that receives insight events. Cheap to clone.
#[derive(Clone)]
pub struct InsightStream {
    streams: Streams,
    name: String,
}

impl std::fmt::Debug for InsightStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsightStream").field("name", &self.name).finish_non_exhaustive()
    }
}

impl InsightStream {
    /// The policy a vision stream gets when this module creates it: durable, 64 MiB, and when
    /// full the **oldest** insights go (an aggregate is superseded by newer ones, and a full
    /// stream must never stop the cameras; at ≤ 60 KB per camera-hour 64 MiB is weeks of a
    /// store's cameras offline), a 30-day TTL, priority 10 (below commerce's 100).
    pub fn default_config(name: &str) -> StreamConfig {
        StreamConfig::durable(name, 64 << 20, WhenFull::DropOldest).with_priority(10).with_max_age_ms(30 * 24 * 3_600_000)
    }

    /// The stream `name`, created with [`InsightStream::default_config`] if it does not exist
    /// (an existing stream keeps its own cap and policy).
    pub fn open(streams: Streams, name: &str) -> Result<InsightStream> {
        match streams.config(name) {
            Ok(_) => {}
            Err(Error::StreamNotFound { .. }) => streams.create(&InsightStream::default_config(name))?,
            Err(e) => return Err(e),
        }
        Ok(InsightStream { streams, name: name.to_owned() })
    }

    /// The stream `config.name`, created or reconfigured with `config`.
    pub fn with_config(streams: Streams, config: &StreamConfig) -> Result<InsightStream> {
        streams.create(config)?;
        Ok(InsightStream { streams, name: config.name.clone() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends one event; its sequence number and size once committed.
    pub fn append(&self, event: &InsightEvent) -> Result<(u64, usize)> {
        let json = event.to_json();
        let seq = self.streams.append(&self.name, json.as_bytes())?;
        Ok((seq, json.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::Analytics;

    fn keys(v: &serde_json::Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    fn required(v: &serde_json::Value) -> Vec<String> {
        let mut k: Vec<String> = v["required"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
        k.sort();
        k
    }

    /// The published schema names exactly the fields an event has (so neither can drift).
    #[test]
    fn events_match_the_published_schema() {
        let schema: serde_json::Value = serde_json::from_str(include_str!("../../../docs/schemas/vision-insight.schema.json")).unwrap();
        let mut a = Analytics::from_json(
            r#"{ "camera": "c", "lines": [ { "name": "l", "from": [0, 0], "to": [10, 0] } ],
                 "zones": [ { "name": "z", "polygon": [[0,0],[10,0],[10,10]] } ] }"#,
        )
        .unwrap();
        a.update(&[], 0);
        let event = InsightEvent::new(a.flush().unwrap(), 2, "m");
        let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
        assert_eq!(keys(&json), required(&schema));
        assert_eq!(keys(&json["data"]), required(&schema["properties"]["data"]));
        assert_eq!(keys(&json["data"]["lines"][0]), required(&schema["$defs"]["line"]));
        assert_eq!(keys(&json["data"]["zones"][0]), required(&schema["$defs"]["zone"]));
        assert_eq!(json["type"], schema["properties"]["type"]["const"]);
        assert_eq!(json["version"], schema["properties"]["version"]["const"]);
        // And it reads back; another type or a newer version does not.
        assert_eq!(InsightEvent::from_json("vision", &event.to_json()).unwrap(), event);
        let newer = event.to_json().replace("\"version\":1", "\"version\":2");
        assert_eq!(InsightEvent::from_json("vision", &newer).unwrap_err().code(), "INVALID_PAYLOAD");
    }
}
