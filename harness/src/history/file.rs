//! The history file (SPEC.md, "History"): a `meta` line saying where the history came from
//! and what is needed to judge it, then one event a line in time order. The simulator writes
//! it (`ballot run --history`) and `ballot check` reads it back, refusing what it cannot
//! trust (another format, events out of order, a node the cluster does not have) with one
//! line that names the file and the line.

use super::{Event, History};
use crate::schedule::Schedule;
use crate::world::WorldName;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};

/// The history format this build writes and reads.
pub const FORMAT: u64 = 1;

/// Where a history came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A simulated run (`ballot run`, `repro`, `chaos`).
    Simulator,
}

/// The first line of a history file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Always `"meta"`: the line's kind, as events have theirs.
    pub kind: MetaKind,
    /// The format, [`FORMAT`].
    pub format: u64,
    /// Where the history came from.
    pub source: Source,
    /// The world it ran in.
    pub world: WorldName,
    /// The schedule it ran: the cluster, its configuration, network and disk, the liveness
    /// phase's bound and the seed.
    pub schedule: Schedule,
    /// When the run ended, simulated milliseconds (after `duration_ms` when a catch-up was
    /// still being judged).
    pub end_ms: f64,
    /// Messages sent by every node (the summary's `stats.messages`).
    pub messages: u64,
}

/// The `kind` of a meta line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetaKind {
    /// The only value.
    Meta,
}

/// A history file read back: where it came from, and its events.
#[derive(Clone, Debug)]
pub struct HistoryFile {
    /// Its first line.
    pub meta: Meta,
    /// Its events, replayed into a history.
    pub history: History,
}

/// Writes `meta` and then every event of `history`, one JSON object a line.
pub fn write(meta: &Meta, history: &History, mut out: impl Write) -> io::Result<()> {
    serde_json::to_writer(&mut out, meta)?;
    out.write_all(b"\n")?;
    history.write_jsonl(out)
}

/// Reads a history file; the error says which line is wrong and why.
pub fn read(input: impl BufRead) -> Result<HistoryFile, String> {
    let mut lines = input.lines().enumerate().map(|(i, line)| (i + 1, line));
    let (_, first) = lines.next().ok_or("empty: no meta line")?;
    let first = first.map_err(|e| format!("line 1: {e}"))?;
    let meta = read_meta(&first).map_err(|e| format!("line 1: {e}"))?;
    let nodes = meta.schedule.cluster.nodes;
    let mut history = History::new(nodes);
    history.messages = meta.messages;
    let mut last_t = 0.0;
    for (n, line) in lines {
        let line = line.map_err(|e| format!("line {n}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(&line).map_err(|e| format!("line {n}: {e}"))?;
        if event.t_ms < last_t {
            return Err(format!(
                "line {n}: t_ms {} comes before the previous event's {last_t}: events out of order",
                event.t_ms
            ));
        }
        if event.t_ms > meta.end_ms {
            return Err(format!(
                "line {n}: t_ms {} is after the run's end, {}",
                event.t_ms, meta.end_ms
            ));
        }
        if let Some(node) = event.node.filter(|&node| node >= nodes) {
            return Err(format!("line {n}: node {node}, but the cluster has {nodes} nodes"));
        }
        last_t = event.t_ms;
        history.record(event.t_ms, event.node, event.kind);
    }
    Ok(HistoryFile { meta, history })
}

/// The meta line: its kind and format first, so that another format is named as such
/// rather than as a field this build does not know.
fn read_meta(line: &str) -> Result<Meta, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("kind").and_then(|k| k.as_str()) != Some("meta") {
        return Err("a history starts with its meta line ({\"kind\": \"meta\", ...})".into());
    }
    match value.get("format").and_then(|f| f.as_u64()) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(format!(
                "unknown history format {other} (this build reads format {FORMAT})"
            ))
        }
        None => return Err("the meta line has no format".into()),
    }
    let meta: Meta = serde_json::from_value(value).map_err(|e| format!("meta line: {e}"))?;
    meta.schedule.validate().map_err(|e| format!("meta line's schedule: {e}"))?;
    Ok(meta)
}
