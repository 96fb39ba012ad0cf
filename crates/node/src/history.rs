//! A node's own history (SPEC.md, "History"), for `ballot check` and `ballot diagnose`: a
//! meta line naming the cluster, the node, the members and the core configuration, then one
//! event a line in the simulator's kinds and fields, each with the node's monotonic `t_ms`
//! and its `wall_ms` (Unix milliseconds, the axis on which the files of several nodes merge).
//! Nodes are numbered as the simulator numbers them: by position among the members in
//! ascending id (the meta line lists the ids in that order).
//!
//! Writing never stalls the node: events go through a bounded queue to a thread that writes
//! them. When the queue is full, the file has reached its size bound, or a write fails,
//! events are dropped and counted, and the count is written as a `dropped` line as soon as a
//! line can be written again.

use crate::clock::Clock;
use crate::events::{NodeEvent, Observer};
use crate::machine::NodeConfig;
use crate::MessageKind;
use ballot_core::{Mark, NodeId};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The history format written (the simulator's, SPEC.md).
pub const HISTORY_FORMAT: u64 = 1;
/// Lines waiting for the writer thread before events are dropped.
const QUEUE_LINES: usize = 4096;
/// How much of a proposal's value a `propose` event shows, bytes (the simulator's history
/// shows as much).
pub const VALUE_SHOWN_BYTES: usize = 64;

/// Milliseconds since the Unix epoch, now: the axis on which a history's `wall_ms` lies and
/// the files of several nodes merge.
pub fn wall_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Where a history reads its `wall_ms`, milliseconds since the Unix epoch: [`wall_ms`] on a
/// real machine, a simulation's own time in a simulated one (whose files must be the same
/// byte for byte on every run of a seed).
pub type WallClock = Arc<dyn Fn() -> f64 + Send + Sync>;

/// Whether the file's last byte is a newline.
fn ends_with_newline(path: &Path) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path)?;
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// How often a node writes a `peers` summary of what it sent to and heard from each member,
/// milliseconds of its own clock, at least: the summary goes out with the first event after
/// the period ends. A running node always has events (heartbeats, answers, campaigns), so
/// the summaries are also its file's pulse: a file that falls silent for longer, without a
/// `stop`, is of a node that was killed or hung.
pub const PEERS_PERIOD_MS: f64 = 1000.0;

/// How far from 1 the rate of the node's clock against the wall clock must be for a `peers`
/// summary to give it (NTP keeps a wall clock within a fraction of this).
const CLOCK_RATE_SHOWN: f64 = 0.01;

/// What the writer keeps between events to write them as the simulator does.
#[derive(Default)]
struct Seen {
    /// The node's current term (a commit records the term it learned it in).
    term: u64,
    /// The last AppendEntries success recorded: (term, index).
    last_ack: Option<(u64, u64)>,
    /// The leader it last heard an AppendEntries from, and when (its `t_ms`).
    heard: Option<(usize, f64)>,
    /// When the current `peers` period began (`t_ms`), once the node has started, and the
    /// wall time then.
    period_from: Option<f64>,
    period_wall: f64,
    /// Traffic with each member (by index) in the current period.
    peers: BTreeMap<usize, PeerCount>,
    /// Datagrams dropped in the current period, by reason.
    dropped: BTreeMap<&'static str, u64>,
    /// The term of each member's last (pre-)vote request.
    asked: BTreeMap<usize, u64>,
    /// Why the core refused the request it handled last, when a mark said so.
    refusal: Option<&'static str>,
    /// The node's durable term and vote, as last saved or loaded.
    voted: (u64, Option<NodeId>),
}

/// One member's traffic in the current `peers` period.
#[derive(Default)]
struct PeerCount {
    /// Messages sent to it.
    sent: u64,
    /// Messages from it that the core accepted.
    heard: u64,
    /// When it was last heard from (`t_ms`), in this run of the node.
    last_heard: Option<f64>,
    /// The longest time without a message from it in this period, milliseconds.
    longest_silence: f64,
    /// The requests it has not answered yet, by kind (AppendEntries, vote request): when
    /// the oldest went (`t_ms`), and whether another of its kind went after it.
    awaiting: [Option<(f64, bool)>; 2],
    /// Round trips measured in this period, milliseconds: from a request to the answer, when
    /// that request was the only one in flight (so that the answer is surely its own; with
    /// the member's save, as the sender waits for it).
    round_trips: Vec<f64>,
}

impl PeerCount {
    /// How long it has been silent at `t_ms`, counting from `from` (the period's start) if it
    /// was last heard before that, milliseconds.
    fn silent_for(&self, from: f64, t_ms: f64) -> f64 {
        t_ms - self.last_heard.map_or(from, |h| h.max(from))
    }
}

impl Seen {
    /// A new run of the node began at `t_ms` (`wall` ms of wall time): nothing heard yet, a
    /// new period.
    fn start(&mut self, t_ms: f64, wall: f64) {
        self.heard = None;
        self.period_from = Some(t_ms);
        self.period_wall = wall;
        self.peers.clear();
        self.dropped.clear();
    }

    /// The `peers` summary of the period that ended by `t_ms`, if one did, and a new period
    /// from `t_ms` on. It gives the rate at which the node's clock ran against the wall clock
    /// (read, with `wall`, only then) over the period when that is off 1 by more than 1 %.
    fn summary_due(&mut self, t_ms: f64, wall: impl FnOnce() -> f64) -> Option<Value> {
        let from = self.period_from?;
        if t_ms - from < PEERS_PERIOD_MS {
            return None;
        }
        let wall = wall();
        let peers: Vec<Value> = self
            .peers
            .iter_mut()
            .map(|(&node, count)| {
                let longest = count.longest_silence.max(count.silent_for(from, t_ms));
                let mut summary = json!({
                    "node": node,
                    "sent": count.sent,
                    "heard": count.heard,
                    "last_heard_ms": count.last_heard.map(|h| t_ms - h),
                    "longest_silence_ms": longest,
                });
                if !count.round_trips.is_empty() {
                    let rtts = &mut count.round_trips;
                    rtts.sort_by(f64::total_cmp);
                    let (median, max) = (rtts[rtts.len() / 2], rtts[rtts.len() - 1]);
                    summary["round_trip_ms"] = json!({"median": median, "max": max});
                }
                *count = PeerCount {
                    last_heard: count.last_heard,
                    awaiting: count.awaiting,
                    ..PeerCount::default()
                };
                summary
            })
            .collect();
        let mut v = json!({"kind": "peers", "period_ms": t_ms - from, "peers": peers});
        if !self.dropped.is_empty() {
            v["dropped"] = json!(std::mem::take(&mut self.dropped));
        }
        let rate = (t_ms - from) / (wall - self.period_wall);
        if rate.is_finite() && rate > 0.0 && (rate - 1.0).abs() > CLOCK_RATE_SHOWN {
            v["clock_rate"] = json!(rate);
        }
        self.period_from = Some(t_ms);
        self.period_wall = wall;
        Some(v)
    }

    /// Why a (pre-)vote of `term` (the node's own, which the answer carries) to `candidate`
    /// was refused: the core's mark for its lease or the candidate's stale log; else, from
    /// the request, a term below the node's, a vote already given to another in the term,
    /// or a leader known in it.
    fn refusal_reason(&mut self, term: u64, candidate: usize, id: NodeId) -> Option<&'static str> {
        if let Some(reason) = self.refusal.take() {
            return Some(reason);
        }
        let asked = *self.asked.get(&candidate)?;
        Some(if asked < term {
            "stale_term"
        } else if self.voted.0 == term && self.voted.1.is_some_and(|v| v != id) {
            "voted_for_another"
        } else {
            "leader_known"
        })
    }

    /// A message of `kind` went to member `peer` at `t_ms`.
    fn sent(&mut self, peer: usize, kind: MessageKind, t_ms: f64) {
        let count = self.peers.entry(peer).or_default();
        count.sent += 1;
        let request = match kind {
            MessageKind::AppendEntries => 0,
            MessageKind::VoteRequest { .. } => 1,
            _ => return,
        };
        let awaiting = &mut count.awaiting[request];
        *awaiting = Some(awaiting.map_or((t_ms, false), |(at, _)| (at, true)));
    }

    /// A message of `kind` from member `peer` was accepted at `t_ms`.
    fn heard_from(&mut self, peer: usize, kind: MessageKind, t_ms: f64) {
        let from = self.period_from.unwrap_or(t_ms);
        let count = self.peers.entry(peer).or_default();
        count.longest_silence = count.longest_silence.max(count.silent_for(from, t_ms));
        count.heard += 1;
        count.last_heard = Some(t_ms);
        let request = match kind {
            MessageKind::AppendAnswer { .. } => 0,
            MessageKind::VoteAnswer { .. } => 1,
            _ => return,
        };
        if let Some((sent, false)) = count.awaiting[request].take() {
            count.round_trips.push(t_ms - sent);
        }
    }
}

/// An [`Observer`] that writes the node's history to a file.
pub struct HistoryWriter {
    /// The node's own clock: `t_ms` and a lease's end are read on it, as the core reads them.
    clock: Arc<dyn Clock>,
    /// The wall clock each line's `wall_ms` is read on.
    wall: WallClock,
    /// Member id to index.
    index: BTreeMap<NodeId, usize>,
    out: Output,
    dropped: Arc<AtomicU64>,
    seen: Mutex<Seen>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Where the observer's lines go.
enum Output {
    /// Through a bounded queue to the writer thread: the node never waits on the file.
    Queue(SyncSender<String>),
    /// Written (to the operating system, not synced) before the observer returns.
    WriteThrough(Mutex<Sink>),
}

impl HistoryWriter {
    /// Starts writing the history of `config`'s node, whose clock is `clock` (the one the
    /// node runs on), to `path`, appending to what a previous run of the node wrote there (a
    /// new file starts with its meta line), until the file holds `max_bytes`.
    pub fn create(
        path: &Path,
        config: &NodeConfig,
        clock: Arc<dyn Clock>,
        max_bytes: u64,
    ) -> io::Result<HistoryWriter> {
        Self::open(path, config, clock, Arc::new(wall_ms), max_bytes, false)
    }

    /// As [`HistoryWriter::create`], but each event is written to the operating system before
    /// the node goes on: since a node reports what it persisted, voted and committed before
    /// any message announcing it leaves, a process killed at any instant leaves a file that
    /// holds everything the others heard of. What fault injection on real processes needs;
    /// the node waits on a write (not a sync) per event.
    pub fn create_write_through(
        path: &Path,
        config: &NodeConfig,
        clock: Arc<dyn Clock>,
        max_bytes: u64,
    ) -> io::Result<HistoryWriter> {
        Self::open(path, config, clock, Arc::new(wall_ms), max_bytes, true)
    }

    /// As [`HistoryWriter::create_write_through`], with `wall_ms` read on `wall` and no bound
    /// on the file: a simulated node's own file, as `ballot node` would have written it.
    pub fn create_simulated(
        path: &Path,
        config: &NodeConfig,
        clock: Arc<dyn Clock>,
        wall: WallClock,
    ) -> io::Result<HistoryWriter> {
        Self::open(path, config, clock, wall, u64::MAX / 2, true)
    }

    fn open(
        path: &Path,
        config: &NodeConfig,
        clock: Arc<dyn Clock>,
        wall: WallClock,
        max_bytes: u64,
        write_through: bool,
    ) -> io::Result<HistoryWriter> {
        let index: BTreeMap<NodeId, usize> =
            config.members.keys().enumerate().map(|(i, id)| (*id, i)).collect();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        let dropped = Arc::new(AtomicU64::new(0));
        let mut sink = Sink {
            out: BufWriter::new(file),
            written,
            max_bytes,
            dropped: dropped.clone(),
            reported: 0,
            full: false,
            wall: wall.clone(),
        };
        if written > 0 && !ends_with_newline(path)? {
            // The last run was killed mid-line: start this one on a line of its own.
            sink.out.write_all(b"\n")?;
            sink.written += 1;
        }
        if written == 0 {
            let meta = json!({
                "kind": "meta",
                "format": HISTORY_FORMAT,
                "source": "node",
                "cluster_id": config.cluster_id,
                "node": index.get(&config.id),
                "members": config.members.iter().map(|(id, addr)| json!({"id": id.0, "addr": addr.to_string()})).collect::<Vec<_>>(),
                "config": config.core,
                "wall_ms": wall(),
                "peers_period_ms": PEERS_PERIOD_MS,
            });
            sink.line(&meta.to_string())?;
            sink.out.flush()?;
        }
        let (out, thread) = if write_through {
            (Output::WriteThrough(Mutex::new(sink)), None)
        } else {
            let (queue, lines) = sync_channel(QUEUE_LINES);
            let thread = std::thread::Builder::new()
                .name("ballot-history".into())
                .spawn(move || sink.run(lines))?;
            (Output::Queue(queue), Some(thread))
        };
        Ok(HistoryWriter { clock, wall, index, out, dropped, seen: Mutex::default(), thread })
    }

    /// Stops: what is queued is written and the file flushed before this returns. (Dropping
    /// the writer does the same without waiting.)
    pub fn close(mut self) {
        let thread = self.thread.take();
        drop(self);
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// Events dropped so far (queue full, file full, or a write failed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn index(&self, id: NodeId) -> Value {
        self.index.get(&id).map_or(Value::Null, |&i| json!(i))
    }

    /// The event's kind and fields as the simulator writes them; `None` for what the history
    /// does not keep.
    fn fields(&self, event: &NodeEvent, t_ms: f64, seen: &mut Seen) -> Option<Value> {
        let ix = |id: Option<NodeId>| id.map_or(Value::Null, |id| self.index(id));
        Some(match event {
            NodeEvent::Started { hard_state, log_len, log_terms } => {
                seen.start(t_ms, (self.wall)());
                seen.term = hard_state.term.0;
                seen.voted = (hard_state.term.0, hard_state.voted_for);
                let runs: Vec<[u64; 2]> = log_terms.iter().map(|(t, k)| [t.0, *k]).collect();
                json!({"kind": "start", "term": hard_state.term.0, "voted_for": ix(hard_state.voted_for), "log_len": log_len, "log_terms": runs})
            }
            NodeEvent::Role { role, term, leader } => {
                seen.term = term.0;
                json!({"kind": "role", "role": role, "term": term.0, "leader": ix(*leader)})
            }
            NodeEvent::Persisted { hard_state, entries, took_ms } => {
                let mut v = json!({"kind": "persist", "save_ms": took_ms});
                if let Some(hs) = hard_state {
                    seen.voted = (hs.term.0, hs.voted_for);
                    v["term"] = json!(hs.term.0);
                    if let Some(vote) = hs.voted_for {
                        v["voted_for"] = self.index(vote);
                    }
                }
                if let Some((first, terms)) = entries {
                    v["first_index"] = json!(first);
                    v["terms"] = json!(terms.iter().map(|t| t.0).collect::<Vec<_>>());
                }
                v
            }
            NodeEvent::Vote { term, candidate, granted, pre_vote } => {
                let mut v = json!({"kind": "vote", "term": term.0, "candidate": self.index(*candidate), "granted": granted});
                if *pre_vote {
                    v["pre_vote"] = json!(true);
                }
                if let Some((from, at)) = seen.heard {
                    v["heard_from"] = json!(from);
                    v["since_heard_ms"] = json!(t_ms - at);
                }
                let asker = self.index.get(candidate).copied();
                if let (false, Some(i)) = (*granted, asker) {
                    if let Some(reason) = seen.refusal_reason(term.0, i, *candidate) {
                        v["reason"] = json!(reason);
                    }
                }
                v
            }
            NodeEvent::AppendAnswered { leader, term, success: true, index } => {
                if seen.last_ack == Some((term.0, *index)) {
                    return None;
                }
                seen.last_ack = Some((term.0, *index));
                json!({"kind": "append_ack", "leader": self.index(*leader), "term": term.0, "index": index})
            }
            NodeEvent::Proposed { index, term, data } => {
                let shown = &data[..data.len().min(VALUE_SHOWN_BYTES)];
                let mut v = json!({"kind": "propose", "index": index, "term": term.0, "value": String::from_utf8_lossy(shown)});
                if shown.len() < data.len() {
                    v["bytes"] = json!(data.len());
                }
                v
            }
            NodeEvent::ProposeRefused { bytes, error } => {
                json!({"kind": "propose_refused", "bytes": bytes, "error": error.to_string()})
            }
            NodeEvent::Committed { index, term } => {
                json!({"kind": "commit", "index": index, "term": term.0, "in_term": seen.term})
            }
            NodeEvent::Lease { until } => {
                let until_ms = until.map(|u| u as f64);
                let mut v = json!({"kind": "lease", "until_ms": until_ms});
                // The end is on the node's clock: at another rate than real time, say which.
                let rate = self.clock.rate();
                if rate != 1.0 {
                    v["clock_rate"] = json!(rate);
                }
                v
            }
            NodeEvent::Mark(mark) => {
                seen.refusal = match mark {
                    Mark::VoteRefusedInLease | Mark::PreVoteRefusedInLease => Some("in_lease"),
                    Mark::VoteRefusedStaleLog | Mark::PreVoteRefusedStaleLog => Some("stale_log"),
                    _ => seen.refusal,
                };
                json!({"kind": "mark", "mark": mark.name()})
            }
            NodeEvent::Shutdown => json!({"kind": "stop"}),
            NodeEvent::Stalled { late_ms } => json!({"kind": "stall", "late_ms": late_ms}),
            NodeEvent::Stopped { error } => json!({"kind": "stopped", "error": error}),
            NodeEvent::Received { from, kind, from_leader } => {
                if let Some(&i) = self.index.get(from) {
                    seen.heard_from(i, *kind, t_ms);
                    if let MessageKind::VoteRequest { term, .. } = *kind {
                        seen.asked.insert(i, term.0);
                        seen.refusal = None;
                    }
                    if *kind == MessageKind::AppendEntries && *from_leader {
                        seen.heard = Some((i, t_ms));
                    }
                }
                return None;
            }
            NodeEvent::Sent { to, kind } => {
                if let Some(&i) = self.index.get(to) {
                    seen.sent(i, *kind, t_ms);
                }
                return None;
            }
            NodeEvent::Dropped { reason } => {
                *seen.dropped.entry(reason).or_default() += 1;
                return None;
            }
            NodeEvent::AppendAnswered { success: false, .. } => return None,
        })
    }
}

impl Observer for HistoryWriter {
    fn event(&self, node: NodeId, event: &NodeEvent) {
        let t_ms = self.clock.now_ms() as f64;
        let mut seen = self.seen.lock().expect("history lock");
        if let Some(summary) = seen.summary_due(t_ms, &*self.wall) {
            self.write(summary, node, t_ms);
        }
        if let Some(line) = self.fields(event, t_ms, &mut seen) {
            self.write(line, node, t_ms);
        }
    }
}

impl HistoryWriter {
    /// Writes `line`, an event of `node` at `t_ms` of its clock.
    fn write(&self, mut line: Value, node: NodeId, t_ms: f64) {
        line["t_ms"] = json!(t_ms);
        line["wall_ms"] = json!((self.wall)());
        line["node"] = self.index(node);
        match &self.out {
            Output::Queue(queue) => match queue.try_send(line.to_string()) {
                Ok(()) => {}
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            },
            Output::WriteThrough(sink) => {
                let mut sink = sink.lock().expect("history sink lock");
                sink.take(&line.to_string());
                let _ = sink.out.flush();
            }
        }
    }
}

/// Bytes kept free at the end of a bounded file for the line that says it is full.
const FULL_NOTE_BYTES: u64 = 200;

/// The writer thread's end: the file, how much it holds, and the drops to report.
struct Sink {
    out: BufWriter<File>,
    written: u64,
    max_bytes: u64,
    dropped: Arc<AtomicU64>,
    /// Drops already written in a `dropped` line.
    reported: u64,
    /// The file reached its bound: every line from now on is dropped.
    full: bool,
    /// The wall clock a `dropped` line's `wall_ms` is read on.
    wall: WallClock,
}

impl Sink {
    /// Writes one line if it fits below the bound (less the room kept for the last note).
    fn line(&mut self, line: &str) -> io::Result<bool> {
        let len = line.len() as u64 + 1;
        if self.written + len + FULL_NOTE_BYTES > self.max_bytes {
            return Ok(false);
        }
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.written += len;
        Ok(true)
    }

    /// Writes lines as they come (see [`Sink::take`]), and flushes whenever the queue is
    /// empty. Ends when the node is gone.
    fn run(mut self, lines: Receiver<String>) {
        while let Ok(first) = lines.recv() {
            for line in std::iter::once(first).chain(lines.try_iter()) {
                self.take(&line);
            }
            let _ = self.out.flush();
        }
    }

    /// Writes one event's line, with a `dropped` line before it when events were dropped
    /// since the last; once the file is full, writes one last `dropped` line saying so and
    /// drops the rest.
    fn take(&mut self, line: &str) {
        if self.full {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > self.reported {
            let note = json!({"kind": "dropped", "events": dropped - self.reported, "wall_ms": (self.wall)()});
            if let Ok(true) = self.line(&note.to_string()) {
                self.reported = dropped;
            }
        }
        match self.line(line) {
            Ok(true) => {}
            Ok(false) => {
                self.full = true;
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                let events = dropped - self.reported;
                let note = json!({"kind": "dropped", "events": events, "full": true, "wall_ms": (self.wall)()});
                self.reported = dropped;
                let _ = writeln!(self.out, "{note}");
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Sink {
    /// Counts the drops since the last note in one last line (the room kept at the end of a
    /// full file holds it), so that a node that stops reports every event it dropped.
    fn drop(&mut self) {
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > self.reported {
            let note = json!({"kind": "dropped", "events": dropped - self.reported, "wall_ms": (self.wall)()});
            let _ = writeln!(self.out, "{note}");
        }
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_core::{Config, HardState, Role, Term};

    fn config() -> NodeConfig {
        let members = [
            (NodeId(4), "127.0.0.1:1".parse().unwrap()),
            (NodeId(9), "127.0.0.1:2".parse().unwrap()),
        ];
        NodeConfig {
            id: NodeId(9),
            cluster_id: 5,
            members: members.into_iter().collect(),
            core: Config::default(),
            seed: 1,
        }
    }

    fn lines(path: &Path) -> Vec<Value> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// The meta line, then the simulator's kinds with nodes numbered by position among the
    /// members; a restarted node appends to its file without a second meta line.
    #[test]
    fn writes_the_simulators_kinds_numbered_by_position() {
        let path =
            std::env::temp_dir().join(format!("ballot-history-kinds-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        for _ in 0..2 {
            let writer = HistoryWriter::create(
                &path,
                &config(),
                Arc::new(crate::TokioClock::new()),
                1 << 20,
            )
            .unwrap();
            let hs = HardState { term: Term(3), voted_for: Some(NodeId(4)) };
            writer.event(
                NodeId(9),
                &NodeEvent::Started { hard_state: hs, log_len: 2, log_terms: vec![(Term(1), 2)] },
            );
            writer.event(
                NodeId(9),
                &NodeEvent::Role { role: Role::Leader, term: Term(4), leader: Some(NodeId(9)) },
            );
            writer.event(NodeId(9), &NodeEvent::Sent { to: NodeId(4), kind: MessageKind::Other });
            writer.close();
        }
        // A run killed mid-line: the next one starts on a line of its own.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(r#"{"kind":"ro"#);
        std::fs::write(&path, &text).unwrap();
        HistoryWriter::create(&path, &config(), Arc::new(crate::TokioClock::new()), 1 << 20)
            .unwrap()
            .close();
        let after = std::fs::read_to_string(&path).unwrap();
        assert_eq!(after, text + "\n");
        std::fs::write(&path, after.trim_end().rsplit_once('\n').unwrap().0.to_string() + "\n")
            .unwrap();
        let lines = lines(&path);
        assert_eq!((lines[0]["kind"].as_str(), lines[0]["node"].as_u64()), (Some("meta"), Some(1)));
        assert_eq!(lines[0]["members"][1]["id"], 9);
        assert_eq!(lines[1]["kind"], "start");
        assert_eq!((lines[1]["voted_for"].as_u64(), lines[1]["node"].as_u64()), (Some(0), Some(1)));
        assert_eq!(
            (lines[2]["role"].as_str(), lines[2]["leader"].as_u64()),
            (Some("leader"), Some(1))
        );
        assert!(lines[2]["t_ms"].is_f64() && lines[2]["wall_ms"].is_f64());
        assert_eq!(lines.len(), 5, "no second meta line, no line for a message sent: {lines:?}");
    }

    /// Written through, an event is in the file when the observer returns (a process killed
    /// right after loses nothing it reported); a lease taken on a clock at twice real time
    /// says so, as its end is on that clock.
    #[test]
    fn a_write_through_history_holds_each_event_when_the_observer_returns() {
        let path = std::env::temp_dir()
            .join(format!("ballot-history-through-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let clock = Arc::new(crate::RateClock::new());
        clock.set_rate(2.0).unwrap();
        let writer = HistoryWriter::create_write_through(&path, &config(), clock, 1 << 20).unwrap();
        let vote =
            NodeEvent::Vote { term: Term(2), candidate: NodeId(4), granted: true, pre_vote: false };
        writer.event(NodeId(9), &vote);
        let written = lines(&path);
        assert_eq!(written.len(), 2, "{written:?}");
        assert_eq!(
            (written[1]["kind"].as_str(), written[1]["candidate"].as_u64()),
            (Some("vote"), Some(0))
        );
        writer.event(NodeId(9), &NodeEvent::Lease { until: Some(500) });
        let lease = &lines(&path)[2];
        assert_eq!(
            (lease["until_ms"].as_f64(), lease["clock_rate"].as_f64()),
            (Some(500.0), Some(2.0))
        );
        drop(writer);
        let _ = std::fs::remove_file(&path);
    }

    /// A bounded file stops below its bound with a line saying it is full; every event that
    /// did not fit is counted, and the `dropped` lines' counts add up to all of them (the
    /// last, written when the writer closes, counts those after the file was full).
    #[test]
    fn a_full_file_says_so_and_counts_what_it_dropped() {
        let path =
            std::env::temp_dir().join(format!("ballot-history-full-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let max_bytes = 2_000;
        let writer =
            HistoryWriter::create(&path, &config(), Arc::new(crate::TokioClock::new()), max_bytes)
                .unwrap();
        for t in 0..100 {
            writer.event(
                NodeId(9),
                &NodeEvent::Role { role: Role::Follower, term: Term(t), leader: None },
            );
        }
        let dropped = writer.dropped.clone();
        writer.close();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= max_bytes, "{size} bytes");
        let lines = lines(&path);
        assert!(lines.iter().any(|l| l["kind"] == "dropped" && l["full"] == true));
        let written = lines.iter().filter(|l| l["kind"] == "role").count() as u64;
        let dropped = dropped.load(Ordering::Relaxed);
        assert_eq!(written + dropped, 100);
        assert!(dropped > 50, "{dropped}");
        let noted: u64 = lines
            .iter()
            .filter(|l| l["kind"] == "dropped")
            .map(|l| l["events"].as_u64().unwrap())
            .sum();
        assert_eq!(noted, dropped, "the notes count every event dropped");
    }

    /// A clock the test sets.
    #[derive(Default)]
    struct SetClock(AtomicU64);

    impl Clock for SetClock {
        fn now_ms(&self) -> ballot_core::Millis {
            self.0.load(Ordering::Relaxed)
        }
        fn sleep_until(&self, _: ballot_core::Millis) -> crate::clock::Sleep {
            unreachable!("the writer never sleeps")
        }
    }

    /// Once a period has passed, the next event brings a `peers` summary first: per member,
    /// messages sent and heard, how long since it was last heard and the longest silence
    /// (from the period's start when nothing came before), the round trips of the requests
    /// it answered alone in flight (median and longest); and the datagrams dropped. The
    /// counts start again; a new run starts a new period. Sends and receives write nothing
    /// else.
    #[test]
    fn a_peers_summary_comes_once_a_period() {
        let path =
            std::env::temp_dir().join(format!("ballot-history-peers-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let clock = Arc::new(SetClock::default());
        let writer =
            HistoryWriter::create_write_through(&path, &config(), clock.clone(), 1 << 20).unwrap();
        let at = |ms: u64, event: NodeEvent| {
            clock.0.store(ms, Ordering::Relaxed);
            writer.event(NodeId(9), &event);
        };
        let hs = HardState { term: Term(1), voted_for: None };
        at(0, NodeEvent::Started { hard_state: hs, log_len: 0, log_terms: vec![] });
        let answer = MessageKind::AppendAnswer { term: Term(1), success: true, index: 0 };
        let received = |is_answer: bool| NodeEvent::Received {
            from: NodeId(4),
            kind: if is_answer { answer } else { MessageKind::AppendEntries },
            from_leader: !is_answer,
        };
        let sent = |request: bool| NodeEvent::Sent {
            to: NodeId(4),
            kind: if request { MessageKind::AppendEntries } else { MessageKind::Other },
        };
        at(50, sent(true));
        at(100, received(true));
        at(400, received(false));
        at(450, sent(true));
        at(500, NodeEvent::Dropped { reason: "bad_magic" });
        at(999, sent(true));
        assert_eq!(lines(&path).len(), 2, "the meta line and the start, no summary yet");
        at(1_200, sent(false));
        let written = lines(&path);
        assert_eq!(written[0]["peers_period_ms"], PEERS_PERIOD_MS);
        let summary = &written[2];
        assert_eq!(
            (summary["kind"].as_str(), summary["t_ms"].as_f64()),
            (Some("peers"), Some(1200.0))
        );
        assert_eq!(summary["period_ms"], 1200.0);
        assert_eq!(summary["dropped"]["bad_magic"], 1);
        let peer = &summary["peers"][0];
        assert_eq!(
            (peer["node"].as_u64(), peer["sent"].as_u64(), peer["heard"].as_u64()),
            (Some(0), Some(3), Some(2))
        );
        assert_eq!(
            (peer["last_heard_ms"].as_f64(), peer["longest_silence_ms"].as_f64()),
            (Some(800.0), Some(800.0))
        );
        // The request of 50 ms answered at 100, alone in flight; those of 450 and 999 not yet.
        assert_eq!(peer["round_trip_ms"], serde_json::json!({"median": 50.0, "max": 50.0}));
        at(1_500, received(true));
        at(2_300, sent(false));
        let second = &lines(&path)[3];
        let peer = &second["peers"][0];
        assert_eq!(
            (peer["sent"].as_u64(), peer["heard"].as_u64()),
            (Some(1), Some(1)),
            "counted afresh"
        );
        assert_eq!(
            (peer["last_heard_ms"].as_f64(), peer["longest_silence_ms"].as_f64()),
            (Some(800.0), Some(800.0))
        );
        // Answered at 1,500 ms, with two requests in flight: whose answer it is cannot be
        // told, and nothing is measured.
        assert!(peer.get("round_trip_ms").is_none(), "{peer}");
        assert!(second.get("dropped").is_none());
        at(2_400, NodeEvent::Started { hard_state: hs, log_len: 0, log_terms: vec![] });
        at(3_000, sent(false));
        assert_eq!(lines(&path).len(), 5, "a new run, a new period: {:?}", lines(&path));
    }
    /// A refused vote says why: the core's mark (a lease, a stale log) when one came with
    /// it, else from the request and the node's durable vote: a stale term, a vote given to
    /// another in the term, a leader known in it.
    #[test]
    fn a_refused_vote_gives_its_reason() {
        let path = std::env::temp_dir()
            .join(format!("ballot-history-refusals-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let writer = HistoryWriter::create_write_through(
            &path,
            &config(),
            Arc::new(crate::TokioClock::new()),
            1 << 20,
        )
        .unwrap();
        let me = NodeId(9);
        let hs = HardState { term: Term(3), voted_for: None };
        writer.event(me, &NodeEvent::Started { hard_state: hs, log_len: 0, log_terms: vec![] });
        let asked = |term: u64, pre_vote: bool| NodeEvent::Received {
            from: NodeId(4),
            kind: MessageKind::VoteRequest { term: Term(term), pre_vote },
            from_leader: false,
        };
        let refused = |pre_vote: bool| NodeEvent::Vote {
            term: Term(3),
            candidate: NodeId(4),
            granted: false,
            pre_vote,
        };
        writer.event(me, &asked(4, true));
        writer.event(me, &NodeEvent::Mark(Mark::PreVoteRefusedInLease));
        writer.event(me, &refused(true));
        writer.event(me, &asked(3, false));
        writer.event(me, &NodeEvent::Mark(Mark::VoteRefusedStaleLog));
        writer.event(me, &refused(false));
        writer.event(me, &asked(2, false));
        writer.event(me, &refused(false));
        writer.event(me, &asked(3, false));
        writer.event(me, &refused(false));
        let voted = HardState { term: Term(3), voted_for: Some(NodeId(9)) };
        writer.event(
            me,
            &NodeEvent::Persisted { hard_state: Some(voted), entries: None, took_ms: 1 },
        );
        writer.event(me, &asked(3, false));
        writer.event(me, &refused(false));
        let reasons: Vec<String> = lines(&path)
            .iter()
            .filter(|l| l["kind"] == "vote")
            .map(|l| l["reason"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            reasons,
            ["in_lease", "stale_log", "stale_term", "leader_known", "voted_for_another"]
        );
        let _ = std::fs::remove_file(&path);
    }
}
