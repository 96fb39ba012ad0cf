//! The history file (SPEC.md, "History"): a `meta` line saying where the history came from
//! and what is needed to judge it, then one event a line in time order. The simulator writes
//! it (`ballot run --history`) and `ballot check` reads it back, refusing what it cannot
//! trust (another format, events out of order, a node the cluster does not have) with one
//! line that names the file and the line.

use super::{Event, EventKind, History};
use ballot_schedule::Schedule;
use ballot_schedule::WorldName;
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
    /// A real node (`ballot_node::HistoryWriter`): one file per node.
    Node,
    /// A run on real node processes (`ballot run --world processes`): the nodes' files merged
    /// with the harness's record of faults, judged as a simulated run is.
    Processes,
}

/// The first line of a simulator's history file.
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

/// One member of a real cluster, as a node's meta line lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its node id.
    pub id: u64,
    /// Its datagram address.
    pub addr: String,
}

/// The first line of a real node's history file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeMeta {
    /// Always `"meta"`.
    pub kind: MetaKind,
    /// The format, [`FORMAT`].
    pub format: u64,
    /// Always [`Source::Node`].
    pub source: Source,
    /// The cluster: datagrams of any other are dropped, histories of any other refused.
    pub cluster_id: u64,
    /// The node, by position among the members.
    pub node: usize,
    /// Every member in ascending id: a node's number in the history is its position here.
    pub members: Vec<Member>,
    /// The election core's configuration.
    pub config: ballot_core::Config,
    /// When the file was begun, Unix milliseconds.
    pub wall_ms: f64,
    /// How often the node writes a `peers` summary, milliseconds of its clock, at least
    /// (absent from the files of builds that wrote none): its file's pulse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers_period_ms: Option<f64>,
}

/// What a real cluster's histories say of it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterMeta {
    /// The cluster.
    pub cluster_id: u64,
    /// Its members, in ascending id.
    pub members: Vec<Member>,
    /// The election core's configuration (of the first file).
    pub config: ballot_core::Config,
    /// The nodes whose files were read.
    pub nodes_read: Vec<usize>,
    /// When the earliest file was begun, Unix milliseconds: the merged history's 0.
    pub origin_wall_ms: f64,
    /// The last event, milliseconds after the origin.
    pub end_ms: f64,
}

/// Where a history came from.
#[derive(Clone, Debug)]
pub enum Origin {
    /// A simulated run, and its meta line.
    Simulator(Meta),
    /// The per-node files of a real cluster, merged by wall time.
    Cluster(ClusterMeta),
}

/// A history read back: where it came from, and its events.
#[derive(Clone, Debug)]
pub struct HistoryFile {
    /// Where it came from.
    pub origin: Origin,
    /// Its events, replayed into a history.
    pub history: History,
    /// Events the nodes reported dropped (their writers' `dropped` lines).
    pub dropped_events: u64,
}

/// Writes `meta` and then every event of `history`, one JSON object a line.
pub fn write(meta: &Meta, history: &History, mut out: impl Write) -> io::Result<()> {
    serde_json::to_writer(&mut out, meta)?;
    out.write_all(b"\n")?;
    history.write_jsonl(out)
}

/// The longest line a history may have, bytes: an event is a few hundred (a proposal's value
/// is cut to the node's `VALUE_SHOWN_BYTES`), so a longer line is not a history's, and reading
/// it whole could take every byte of memory (`/dev/zero` has no line end).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A history's lines, numbered from 1, each at most [`MAX_LINE_BYTES`] (a longer one is an
/// error, and the last); bytes that are not UTF-8 read as U+FFFD, so that a line a killed
/// node cut inside a character is an unreadable line like any other cut one.
fn bounded_lines(mut input: Box<dyn BufRead>) -> impl Iterator<Item = (usize, io::Result<String>)> {
    let mut number = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        number += 1;
        let mut line = Vec::new();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = io::Read::take(&mut input, limit).read_until(b'\n', &mut line);
        match read {
            Err(e) => {
                done = true;
                Some((number, Err(e)))
            }
            Ok(0) => None,
            Ok(_) if line.len() > MAX_LINE_BYTES => {
                done = true;
                let e = format!("longer than {MAX_LINE_BYTES} bytes: not a history line");
                Some((number, Err(io::Error::new(io::ErrorKind::InvalidData, e))))
            }
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                Some((number, Ok(String::from_utf8_lossy(&line).into_owned())))
            }
        }
    })
}

/// Reads history files: one simulator history, or the per-node files of one real cluster
/// (merged by wall time); the error names the file and the line.
pub fn read(files: Vec<(String, Box<dyn BufRead>)>) -> Result<HistoryFile, String> {
    let mut read = Vec::new();
    for (name, input) in files {
        let mut lines = bounded_lines(input);
        let first = match lines.next() {
            None => return Err(format!("{name}: empty: no meta line")),
            Some((_, line)) => line.map_err(|e| format!("{name}: line 1: {e}"))?,
        };
        let meta = read_meta(&first).map_err(|e| format!("{name}: line 1: {e}"))?;
        read.push((name, meta, lines));
    }
    if let [(_, MetaLine::Simulator(_), _)] = &read[..] {
        let (name, MetaLine::Simulator(meta), lines) = read.pop().expect("one") else {
            unreachable!("matched above")
        };
        return read_simulator(*meta, lines).map_err(|e| format!("{name}: {e}"));
    }
    let mut nodes = Vec::new();
    for (name, meta, lines) in read {
        match meta {
            MetaLine::Node(meta) => nodes.push((name, *meta, lines)),
            MetaLine::Simulator(_) => {
                return Err(format!(
                    "{name}: a simulator history is read alone, not merged with other files"
                ))
            }
        }
    }
    read_cluster(nodes)
}

fn read_simulator(
    meta: Meta,
    lines: impl Iterator<Item = (usize, io::Result<String>)>,
) -> Result<HistoryFile, String> {
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
        check_event(&event, nodes).map_err(|e| format!("line {n}: {e}"))?;
        if event.t_ms < last_t {
            return Err(format!("line {n}: {}", out_of_order(event.t_ms, last_t)));
        }
        if event.t_ms > meta.end_ms {
            return Err(format!(
                "line {n}: t_ms {} is after the run's end, {}",
                event.t_ms, meta.end_ms
            ));
        }
        last_t = event.t_ms;
        history.record(event.t_ms, event.node, event.kind);
    }
    Ok(HistoryFile { origin: Origin::Simulator(meta), history, dropped_events: 0 })
}

/// An event's time is a finite number of milliseconds, not negative, and every node it
/// names (its own, a leader, a candidate, a vote) is one of the cluster's.
fn check_event(event: &Event, nodes: usize) -> Result<(), String> {
    check_time("t_ms", event.t_ms)?;
    if let EventKind::Peers { period_ms, peers, clock_rate, .. } = &event.kind {
        check_time("period_ms", *period_ms)?;
        if clock_rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return Err(format!("clock_rate {clock_rate:?}: a rate is above 0"));
        }
        for p in peers {
            check_time("longest_silence_ms", p.longest_silence_ms)?;
            p.last_heard_ms.map_or(Ok(()), |ms| check_time("last_heard_ms", ms))?;
            if let Some(rtt) = p.round_trip_ms {
                check_time("round_trip_ms.median", rtt.median)?;
                check_time("round_trip_ms.max", rtt.max)?;
            }
        }
    }
    if let EventKind::Start { log_len, log_terms, .. } = &event.kind {
        if *log_len > MAX_LOG_LEN {
            return Err(format!(
                "log_len {log_len}: more entries than ballot judges ({MAX_LOG_LEN})"
            ));
        }
        let counted = log_terms
            .as_ref()
            .map(|runs| runs.iter().try_fold(0u64, |sum, [_, entries]| sum.checked_add(*entries)));
        if counted.is_some_and(|sum| sum != Some(*log_len)) {
            return Err(format!("log_terms do not add up to log_len {log_len}"));
        }
    }
    let named = event.node.into_iter().chain(event.kind.nodes());
    match named.into_iter().find(|&node| node >= nodes) {
        Some(node) => Err(format!("node {node}, but the cluster has {nodes} nodes")),
        None => Ok(()),
    }
}

/// The longest log a history's `start` may report, entries: ballot's log is small (an
/// election core's), and the judges hold each node's whole log.
const MAX_LOG_LEN: u64 = 1 << 26;

/// The latest time a history may hold, milliseconds (Unix time in the year 2286; a
/// simulated run is far shorter): a larger one is damage, and would swamp every sum.
const MAX_TIME_MS: f64 = 1e13;

/// A time field is finite, not negative and below [`MAX_TIME_MS`].
fn check_time(field: &str, ms: f64) -> Result<(), String> {
    if !(0.0..MAX_TIME_MS).contains(&ms) {
        return Err(format!("{field} {ms:?}: a time is at least 0 and below 1e13 ms"));
    }
    Ok(())
}

/// Merges the files of a real cluster's nodes: same cluster, same members, one file a node,
/// each read by [`read_node_file`] onto wall time from the earliest file's start.
fn read_cluster(
    files: Vec<(String, NodeMeta, impl Iterator<Item = (usize, io::Result<String>)>)>,
) -> Result<HistoryFile, String> {
    let (first_name, first) = (files[0].0.clone(), files[0].1.clone());
    let origin_wall_ms = files.iter().map(|f| f.1.wall_ms).fold(f64::INFINITY, f64::min);
    let mut nodes_read = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut dropped_events = 0;
    let mut files_read = Vec::new();
    for (name, meta, lines) in files {
        if meta.cluster_id != first.cluster_id {
            return Err(format!(
                "{name}: a history of cluster {}, but {first_name} is of cluster {}",
                meta.cluster_id, first.cluster_id
            ));
        }
        // Ids only: behind a proxy, each node reaches the others at addresses of its own.
        let ids = |m: &NodeMeta| m.members.iter().map(|m| m.id).collect::<Vec<_>>();
        if ids(&meta) != ids(&first) {
            return Err(format!("{name}: its members differ from {first_name}'s"));
        }
        if meta.node >= meta.members.len() {
            return Err(format!(
                "{name}: line 1: node {}, but the cluster has {} members",
                meta.node,
                meta.members.len()
            ));
        }
        if nodes_read.contains(&meta.node) {
            return Err(format!("{name}: a second file of node {}", meta.node));
        }
        nodes_read.push(meta.node);
        let read = read_node_file(&name, &meta, lines, origin_wall_ms)?;
        dropped_events += read.dropped;
        let pulse_ms = meta
            .peers_period_ms
            .map(|period| period.max(meta.config.election_timeout_max_ms as f64));
        files_read.push((read, pulse_ms));
    }
    let end_ms =
        files_read.iter().filter_map(|(r, _)| r.events.last()).map(|e| e.t_ms).fold(0.0, f64::max);
    for (read, pulse_ms) in files_read {
        let crash = match (read.events.last(), pulse_ms) {
            (Some(last), Some(pulse))
                if read.running
                    && !read.ends_dropped
                    && end_ms - last.t_ms > SILENT_PULSES * pulse =>
            {
                Some(Event { t_ms: last.t_ms, node: last.node, kind: EventKind::Crash })
            }
            _ => None,
        };
        events.extend(read.events.into_iter().chain(crash));
    }
    // Events of one instant keep their file's order, and the files theirs.
    let history = History::merged(first.members.len(), events);
    nodes_read.sort();
    let cluster = ClusterMeta {
        cluster_id: first.cluster_id,
        members: first.members,
        config: first.config,
        nodes_read,
        origin_wall_ms,
        end_ms,
    };
    Ok(HistoryFile { origin: Origin::Cluster(cluster), history, dropped_events })
}

/// The events of one node's history file at `path` (a node of the processes world, which
/// may still be writing it: a partial last line is left for the next read), dated by wall
/// time since `origin_wall_ms`. Crashes are not inferred: the caller recorded them.
pub fn read_node_events(path: &std::path::Path, origin_wall_ms: f64) -> Result<Vec<Event>, String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, Ok(line.to_string())));
    let Some((_, Ok(first))) = lines.next() else { return Ok(Vec::new()) };
    let meta = match read_meta(&first).map_err(|e| format!("{name}: line 1: {e}"))? {
        MetaLine::Node(meta) => meta,
        MetaLine::Simulator(_) => return Err(format!("{name}: not a node's history")),
    };
    let read = read_node_file(&name, &meta, lines, origin_wall_ms)?;
    Ok(read.events.into_iter().filter(|e| !matches!(e.kind, EventKind::Crash)).collect())
}

/// A node whose file falls silent for this many pulses (its `peers` period, or its longest
/// election timeout if longer: a node with no leader only campaigns that often) before the
/// other files end, and not after a `stop`, was killed or hung right after its last event.
const SILENT_PULSES: f64 = 3.0;

/// One node's file as read.
struct NodeFile {
    /// Its events in order of the node's monotonic clock (a `start` begins a new run of it),
    /// dated by wall time since the origin.
    events: Vec<Event>,
    /// Events its writer said it dropped.
    dropped: u64,
    /// Its last run did not end in a `stop` or `stopped`.
    running: bool,
    /// A `dropped` line came after its last event (the file reached its bound, say).
    ends_dropped: bool,
}

/// One node's file after its meta line, dated by wall time since `origin_wall_ms`. A
/// `start` after a run that did not stop means the node crashed, recorded right after the
/// last event of that run (a killed process writes nothing more).
fn read_node_file(
    name: &str,
    meta: &NodeMeta,
    lines: impl Iterator<Item = (usize, io::Result<String>)>,
    origin_wall_ms: f64,
) -> Result<NodeFile, String> {
    let (mut events, mut dropped, mut ends_dropped) = (Vec::new(), 0, false);
    // The node's monotonic time of its last event, whether its run was still going, and the
    // merged time of that event (a crash is dated there).
    let (mut last_t, mut running, mut last_merged) = (f64::NEG_INFINITY, false, 0.0);
    let mut lines = lines
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(n, line)| line.map(|l| (n, l)).map_err(|e| format!("{name}: line {n}: {e}")))
        .peekable();
    while let Some(next) = lines.next() {
        let (n, line) = next?;
        let at = |e: String| format!("{name}: line {n}: {e}");
        let value: serde_json::Value = match serde_json::from_str(&line) {
            Ok(value) => value,
            // A node killed while writing leaves a partial last line (its writer starts the
            // next run on a line of its own): an event lost, not a corrupt file.
            Err(_) if torn_before_restart(lines.peek()) => {
                dropped += 1;
                continue;
            }
            Err(e) => return Err(at(e.to_string())),
        };
        if value.get("kind").and_then(|k| k.as_str()) == Some("dropped") {
            // A full file's last line counts as one event dropped at least.
            dropped += value.get("events").and_then(|e| e.as_u64()).unwrap_or(1);
            ends_dropped = true;
            continue;
        }
        let wall =
            value.get("wall_ms").and_then(|w| w.as_f64()).ok_or_else(|| at("no wall_ms".into()))?;
        check_time("wall_ms", wall).map_err(at)?;
        // A lease taken on a clock at another rate than real time says which.
        let rate = value.get("clock_rate").and_then(|r| r.as_f64()).unwrap_or(1.0);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(at(format!("clock_rate {rate}: a rate is above 0")));
        }
        let event: Event = serde_json::from_value(value).map_err(|e| at(e.to_string()))?;
        check_event(&event, meta.members.len()).map_err(at)?;
        if event.node != Some(meta.node) {
            return Err(at(format!(
                "an event of node {:?} in node {}'s file",
                event.node, meta.node
            )));
        }
        let starts = matches!(event.kind, EventKind::Start { .. });
        if !starts && event.t_ms < last_t {
            return Err(at(out_of_order(event.t_ms, last_t)));
        }
        let t = wall - origin_wall_ms;
        if t < 0.0 {
            return Err(at(format!(
                "wall_ms {wall} is before the earliest file's start ({origin_wall_ms}): a clock \
                 stepped back"
            )));
        }
        if starts && running {
            events.push(Event { t_ms: last_merged, node: event.node, kind: EventKind::Crash });
        }
        running = !matches!(event.kind, EventKind::Stop | EventKind::Stopped { .. });
        (last_t, last_merged) = (event.t_ms, t);
        // A lease's end is on the node's clock, as its `t_ms`: move it as the event moves,
        // at the rate that clock ran.
        let kind = match event.kind {
            EventKind::Lease { until_ms } => {
                EventKind::Lease { until_ms: until_ms.map(|u| t + (u - event.t_ms) / rate) }
            }
            kind => kind,
        };
        events.push(Event { t_ms: t, node: event.node, kind });
        ends_dropped = false;
    }
    Ok(NodeFile { events, dropped, running, ends_dropped })
}

/// The error of an event dated before the one before it.
fn out_of_order(t_ms: f64, last_t: f64) -> String {
    format!("t_ms {t_ms} comes before the previous event's {last_t}: events out of order")
}

/// Whether what follows an unreadable line shows it was the last write of a killed node: the
/// end of the file, or the `start` of the node's next run.
fn torn_before_restart(next: Option<&Result<(usize, String), String>>) -> bool {
    next.is_none_or(|next| {
        next.as_ref().is_ok_and(|(_, l)| {
            serde_json::from_str::<serde_json::Value>(l)
                .is_ok_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some("start"))
        })
    })
}

/// A meta line of either source.
enum MetaLine {
    Simulator(Box<Meta>),
    Node(Box<NodeMeta>),
}

/// The meta line: its kind and format first, so that another format is named as such
/// rather than as a field this build does not know.
fn read_meta(line: &str) -> Result<MetaLine, String> {
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
    if value.get("source").and_then(|s| s.as_str()) == Some("node") {
        let meta: NodeMeta =
            serde_json::from_value(value).map_err(|e| format!("meta line: {e}"))?;
        check_time("wall_ms", meta.wall_ms)?;
        return Ok(MetaLine::Node(Box::new(meta)));
    }
    let meta: Meta = serde_json::from_value(value).map_err(|e| format!("meta line: {e}"))?;
    meta.schedule.validate().map_err(|e| format!("meta line's schedule: {e}"))?;
    check_time("end_ms", meta.end_ms)?;
    Ok(MetaLine::Simulator(Box::new(meta)))
}
