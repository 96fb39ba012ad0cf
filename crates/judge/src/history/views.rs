//! Everything derived from a history, computed once: leadership and lease spans, the
//! conditions the faults put the world in over time, which stretches were healthy, where the
//! clocks respected the drift bound, the liveness phase, failovers and the durable logs.
//! Every checker, the summary, the timeline, chaos and the benchmarks read these.

use super::{EventKind, History};
use ballot_core::Role;
use ballot_schedule::faults::{Conditions, Op, Timing};
use ballot_schedule::{DiskSpec, NetworkSpec, NodeRef};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One term's leader and when it led.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderSpan {
    /// The term.
    pub term: u64,
    /// The leader.
    pub node: usize,
    /// When it became leader, simulated milliseconds.
    pub from_ms: f64,
    /// When it stopped leading (a role change, a crash, a stop) or the run ended.
    pub to_ms: f64,
}

/// What a node was doing over a span of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Running in this role and term.
    Running(Role, u64),
    /// Crashed, or stopped on its own.
    Down,
}

/// A span of one node's state, simulated milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoleSpan {
    /// The node.
    pub node: usize,
    /// From, simulated milliseconds.
    pub from: f64,
    /// Until (the next change of role, term or up-ness, or the end of the run).
    pub to: f64,
    /// What it was.
    pub state: NodeState,
}

/// A span in which a node believed it held a valid leader lease, simulated milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeaseSpan {
    /// The node.
    pub node: usize,
    /// The term it leads in.
    pub term: u64,
    /// From, simulated milliseconds.
    pub from: f64,
    /// Until, simulated milliseconds.
    pub to: f64,
}

/// The liveness phase of a run: when it began and which nodes ran in it.
#[derive(Clone, Debug, PartialEq)]
pub struct LivenessPhase {
    /// When the runner started it, simulated milliseconds.
    pub from_ms: f64,
    /// By when one of `nodes` must lead.
    pub deadline_ms: f64,
    /// The nodes running in it (crashed ones may stay down while these are a majority).
    pub nodes: Vec<usize>,
}

/// What the views need beside the history: the run's timing, network and length.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// Election timeouts, heartbeat and drift bound.
    pub timing: Timing,
    /// The baseline network, which `heal` restores.
    pub network: NetworkSpec,
    /// The disks' latencies.
    pub disk: DiskSpec,
    /// How long the liveness phase gives a majority to elect a leader, milliseconds.
    pub liveness_ms: u64,
    /// When the run ended, simulated milliseconds.
    pub end_ms: f64,
}

/// The derived facts of one history.
#[derive(Clone, Debug)]
pub struct Views<'h> {
    history: &'h History,
    setup: Setup,
    roles: Vec<RoleSpan>,
    leaders: Vec<LeaderSpan>,
    leases: Vec<LeaseSpan>,
    /// Every applied `transfer` step: when, until when it may live, the leader asked, and
    /// its target.
    transfers: Vec<(f64, f64, usize, usize)>,
    /// Conditions from each instant on, at every change (the first at 0).
    conditions: Vec<(f64, Conditions)>,
}

impl<'h> Views<'h> {
    /// Derives the views of `history`.
    pub fn new(history: &'h History, setup: Setup) -> Views<'h> {
        let roles = role_spans(history, setup.end_ms);
        let mut leaders: Vec<LeaderSpan> = roles
            .iter()
            .filter_map(|s| match s.state {
                NodeState::Running(Role::Leader, term) => {
                    Some(LeaderSpan { term, node: s.node, from_ms: s.from, to_ms: s.to })
                }
                _ => None,
            })
            .collect();
        leaders.sort_by(|a, b| a.term.cmp(&b.term).then(a.from_ms.total_cmp(&b.from_ms)));
        let leases = lease_spans(history);
        let conditions = conditions_over_time(history, &setup);
        let mut views =
            Views { history, setup, roles, leaders, leases, transfers: Vec::new(), conditions };
        let window = views.setup.timing.election_timeout_max_ms as f64;
        views.transfers = transfers(history)
            .into_iter()
            .map(|(at, leader, to)| (at, views.after_local_ms(leader, at, window), leader, to))
            .collect();
        views
    }

    /// The history these views are of.
    pub fn history(&self) -> &'h History {
        self.history
    }

    /// The run's setup.
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// When the run ended, simulated milliseconds.
    pub fn end_ms(&self) -> f64 {
        self.setup.end_ms
    }

    /// Every node's states over the run, node by node, in time order.
    pub fn roles(&self) -> &[RoleSpan] {
        &self.roles
    }

    /// Every span of leadership, in (term, start) order.
    pub fn leaders(&self) -> &[LeaderSpan] {
        &self.leaders
    }

    /// Leadership spans of one node.
    pub fn leadership_of(&self, node: usize) -> impl Iterator<Item = &LeaderSpan> {
        self.leaders.iter().filter(move |s| s.node == node)
    }

    /// Every lease span, in start order.
    pub fn leases(&self) -> &[LeaseSpan] {
        &self.leases
    }

    /// Whether `candidate` may be campaigning at `t_ms` because a leader asked it to: a
    /// `transfer` to it was applied within one maximum election timeout of the leader's clock
    /// before (the longest a transfer lives; a TimeoutNow that arrives later is owed nothing).
    pub fn transfer_to(&self, candidate: usize, t_ms: f64) -> bool {
        self.transfers
            .iter()
            .any(|&(at, until, _, to)| to == candidate && at <= t_ms && t_ms <= until)
    }

    /// Whether `leader` was asked to hand leadership over at most one maximum election
    /// timeout (of its clock) before `t_ms`: losing it then is what the application asked.
    pub fn transferring(&self, leader: usize, t_ms: f64) -> bool {
        self.transfers
            .iter()
            .any(|&(at, until, from, _)| from == leader && at <= t_ms && t_ms <= until)
    }

    /// The conditions at every change: `(from_ms, conditions)`, the first at 0.
    pub fn conditions(&self) -> &[(f64, Conditions)] {
        &self.conditions
    }

    /// The conditions after everything that happened up to and at `t_ms`.
    pub fn conditions_at(&self, t_ms: f64) -> &Conditions {
        let i = self.conditions.partition_point(|(from, _)| *from <= t_ms);
        &self.conditions[i.saturating_sub(1)].1
    }

    /// Stretches `[from, to)` of each condition, up to the end of the run.
    pub fn stretches(&self) -> impl Iterator<Item = (f64, f64, &Conditions)> {
        let end = self.setup.end_ms;
        self.conditions.iter().enumerate().map(move |(i, (from, c))| {
            let to = self.conditions.get(i + 1).map_or(end, |(t, _)| *t);
            (*from, to.max(*from), c)
        })
    }

    /// Where stability is judged: in every stretch where the conditions are healthy and
    /// unchanged, from the settling time (three maximum election timeouts) after it began if a
    /// live node leads then, else from when one next does. Campaigns that are still electing
    /// the stretch's first leader are liveness's business (a deadline), not stability's: a
    /// paused leader still believes it leads but leads no one, a stale leader deposed after
    /// the settling time began does not make the cluster settled, nor does a leader whose
    /// term some node had already passed when it was elected (that node will depose it), and
    /// a leader leads once a majority follows it (a timer that fires before is part of the
    /// same election).
    pub fn settled_healthy(&self) -> Vec<(f64, f64)> {
        let settle = self.setup.timing.settle_ms();
        // One pass over the history: every campaign, and per (term, leader) who followed it
        // and when, in time order.
        let mut campaigns: Vec<(f64, u64)> = Vec::new();
        let mut follows: BTreeMap<(u64, usize), Vec<(f64, usize)>> = BTreeMap::new();
        for e in self.history.events() {
            match (&e.kind, e.node) {
                (EventKind::Role { role: Role::Candidate, term, .. }, _) => {
                    campaigns.push((e.t_ms, *term));
                }
                (EventKind::Role { term, leader: Some(l), .. }, Some(n)) if n != *l => {
                    follows.entry((*term, *l)).or_default().push((e.t_ms, n));
                }
                _ => {}
            }
        }
        let surpassed = |s: &LeaderSpan| {
            campaigns.iter().take_while(|(t, _)| *t < s.from_ms).any(|(_, term)| *term > s.term)
        };
        // A leader leads once a majority (itself included) follows it: until its first
        // heartbeats arrive, a timer that fires elsewhere is part of the same election.
        let quorum = self.history.views().len() / 2 + 1;
        let followed_from = |s: &LeaderSpan| {
            let mut followers = BTreeSet::new();
            let after = follows.get(&(s.term, s.node)).into_iter().flatten();
            for &(t, n) in after.filter(|(t, _)| *t >= s.from_ms) {
                followers.insert(n);
                if followers.len() + 1 >= quorum {
                    return Some(t);
                }
            }
            (quorum <= 1).then_some(s.from_ms)
        };
        let led_from = |settled: f64, to: f64, live: &[usize]| {
            self.leaders
                .iter()
                .filter(|s| s.to_ms > settled && s.from_ms < to && live.contains(&s.node))
                .filter(|s| !surpassed(s))
                .filter_map(|s| Some(followed_from(s)?.max(settled)).filter(|&t| t < s.to_ms))
                .min_by(f64::total_cmp)
        };
        self.stretches()
            .filter(|(_, _, c)| c.healthy(&self.setup.timing))
            .filter_map(|(from, to, c)| {
                let start = led_from(from + settle, to, &c.live())?;
                (start < to).then_some((start, to))
            })
            .collect()
    }

    /// Where lease safety is judged: every clock within the drift bound, and long enough after
    /// the last time one was not for leases and vote refusals taken then to have ended.
    pub fn drift_in_bound(&self) -> Vec<(f64, f64)> {
        let t = &self.setup.timing;
        let mut out: Vec<(f64, f64)> = Vec::new();
        let mut judged_from = Some(0.0);
        for (from, to, c) in self.stretches() {
            if !c.clocks_within(t.clock_drift_bound) {
                judged_from = None;
                continue;
            }
            let start = *judged_from.get_or_insert(from + t.drift_grace_ms());
            let start = start.max(from);
            if start < to {
                match out.last_mut() {
                    Some(last) if last.1 == start => last.1 = to,
                    _ => out.push((start, to)),
                }
            }
        }
        out
    }

    /// The maximal intervals within `[from, to)` in which `holds` is true of the conditions
    /// and node `n` keeps reaching one majority: the nodes it has reached without a break
    /// since the interval began. When those stop being a majority a new interval begins,
    /// even if `n` reaches a majority again in the same instant (a majority swapped for
    /// another is not one majority kept); an instant where `holds` fails ends one too.
    pub fn steady_majority_intervals(
        &self,
        n: usize,
        from: f64,
        to: f64,
        holds: impl Fn(&Conditions) -> bool,
    ) -> Vec<(f64, f64)> {
        let first = (from, self.conditions_at(from).clone());
        let later = conditions_event_by_event(self.history, &self.setup)
            .into_iter()
            .filter(|(t, _)| from < *t && *t < to);
        let mut out = Vec::new();
        let mut open: Option<(f64, BTreeSet<usize>)> = None;
        for (t, c) in std::iter::once(first).chain(later) {
            let holds_now = holds(&c);
            let reach: BTreeSet<usize> = c.reach(n).into_iter().collect();
            if let Some((start, kept)) = open.as_mut() {
                kept.retain(|m| reach.contains(m));
                if holds_now && kept.len() > c.size() / 2 {
                    continue;
                }
                out.push((*start, t));
                open = None;
            }
            if holds_now {
                open = Some((t, reach));
            }
        }
        if let Some((start, _)) = open {
            out.push((start, to));
        }
        out.retain(|(a, b)| a < b);
        out
    }

    /// The maximal intervals within `[from, to)` in which `holds` is true of the conditions.
    pub fn intervals_where(
        &self,
        from: f64,
        to: f64,
        holds: impl Fn(&Conditions) -> bool,
    ) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::new();
        for (a, b, c) in self.stretches() {
            let (a, b) = (a.max(from), b.min(to));
            if a >= b || !holds(c) {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => out.push((a, b)),
            }
        }
        out
    }

    /// The simulated instant at which node `n`'s own clock has advanced `local_ms` since
    /// `from` (its clock runs at the rate the faults set), or infinity if not by the end.
    pub fn after_local_ms(&self, n: usize, from: f64, local_ms: f64) -> f64 {
        let mut left = local_ms;
        for (a, b, c) in self.stretches() {
            let a = a.max(from);
            if a >= b {
                continue;
            }
            let rate = c.clock_rates[n];
            if (b - a) * rate >= left {
                return a + left / rate;
            }
            left -= (b - a) * rate;
        }
        f64::INFINITY
    }

    /// The liveness phase, if the runner started one.
    pub fn liveness_phase(&self) -> Option<LivenessPhase> {
        let from =
            self.history.events().iter().find(|e| matches!(e.kind, EventKind::LivenessPhase))?.t_ms;
        // A node that stopped on its own (refused to start on a damaged disk, say) and was
        // not started again is not of the phase, whatever the faults say.
        let mut nodes = self.conditions_at(from).live();
        nodes.retain(|&n| !self.stopped_for_good(n));
        Some(LivenessPhase {
            from_ms: from,
            deadline_ms: from + self.setup.liveness_ms as f64,
            nodes,
        })
    }

    /// Whether node `n` stopped on its own (a `stopped` event) and never started again.
    pub fn stopped_for_good(&self, n: usize) -> bool {
        let mut stopped = false;
        for e in self.history.events().iter().filter(|e| e.node == Some(n)) {
            match e.kind {
                EventKind::Stopped { .. } => stopped = true,
                EventKind::Start { .. } | EventKind::Restart => stopped = false,
                _ => {}
            }
        }
        stopped
    }

    /// The leader of the liveness phase: a node of the phase that leads from its deadline to
    /// the end (of the higher term, if two do: the other is stale).
    pub fn phase_leader(&self, phase: &LivenessPhase) -> Option<&LeaderSpan> {
        let (deadline, end) = (phase.deadline_ms, self.end_ms());
        phase
            .nodes
            .iter()
            .filter_map(|&n| {
                self.leadership_of(n).find(|s| s.from_ms <= deadline && s.to_ms >= end)
            })
            .max_by_key(|s| s.term)
    }

    /// Times from a leader's crash (or clean stop) to the next node becoming leader,
    /// milliseconds.
    pub fn failovers(&self) -> Vec<f64> {
        let mut leader: Option<usize> = None;
        let mut crashed_at: Option<f64> = None;
        let mut out = Vec::new();
        for e in self.history.events() {
            match (&e.kind, e.node) {
                (EventKind::Role { role: Role::Leader, .. }, Some(n)) => {
                    if let Some(t) = crashed_at.take() {
                        out.push(e.t_ms - t);
                    }
                    leader = Some(n);
                }
                (EventKind::Crash | EventKind::Stop, Some(n)) if leader == Some(n) => {
                    crashed_at = Some(e.t_ms);
                    leader = None;
                }
                _ => {}
            }
        }
        out
    }

    /// Times any node became candidate (pre-votes excluded) from `from_ms` up to `to_ms`.
    pub fn elections_between(&self, from_ms: f64, to_ms: f64) -> usize {
        self.history
            .events()
            .iter()
            .filter(|e| e.t_ms >= from_ms && e.t_ms <= to_ms)
            .filter(|e| matches!(e.kind, EventKind::Role { role: Role::Candidate, .. }))
            .count()
    }

    /// How many times each coverage mark was met, by name.
    pub fn marks(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for e in self.history.events() {
            if let EventKind::Mark { mark } = &e.kind {
                *out.entry(mark.clone()).or_default() += 1;
            }
        }
        out
    }

    /// Highest term any node reported.
    pub fn max_term(&self) -> u64 {
        self.history
            .events()
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Role { term, .. } | EventKind::Start { term, .. } => Some(term),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
}

/// Each node's state over time: a new span at every change of role or term, at a crash or a
/// stop (down) and at a start from disk (a follower again).
fn role_spans(h: &History, end: f64) -> Vec<RoleSpan> {
    let nodes = h.views().len();
    let mut open: Vec<RoleSpan> = (0..nodes)
        .map(|node| RoleSpan {
            node,
            from: 0.0,
            to: end,
            state: NodeState::Running(Role::Follower, 0),
        })
        .collect();
    let mut spans = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        let state = match e.kind {
            EventKind::Role { role, term, .. } => NodeState::Running(role, term),
            EventKind::Start { term, .. } => NodeState::Running(Role::Follower, term),
            EventKind::Crash | EventKind::Stop | EventKind::Stopped { .. } => NodeState::Down,
            _ => continue,
        };
        if open[n].state == state {
            continue;
        }
        let next = RoleSpan { node: n, from: e.t_ms, to: end, state };
        let mut done = std::mem::replace(&mut open[n], next);
        done.to = e.t_ms;
        if done.to > done.from || matches!(done.state, NodeState::Running(Role::Leader, _)) {
            spans.push(done);
        }
    }
    spans.extend(open);
    spans.sort_by(|a, b| a.node.cmp(&b.node).then(a.from.total_cmp(&b.from)));
    spans
}

/// Every applied `transfer` step: when, the leader asked, and its target.
fn transfers(h: &History) -> Vec<(f64, usize, usize)> {
    h.events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Fault { step, skipped: false } => match &step.op {
                Op::Transfer(t) => match (t.node, t.to) {
                    (NodeRef::Index(leader), NodeRef::Index(to)) => Some((e.t_ms, leader, to)),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Lease spans: from a `lease` event to its end, a newer lease event, the loss of leadership,
/// a crash or a stop, whichever comes first.
fn lease_spans(h: &History) -> Vec<LeaseSpan> {
    let mut open: BTreeMap<usize, LeaseSpan> = BTreeMap::new();
    let mut terms: BTreeMap<usize, u64> = BTreeMap::new();
    let mut spans = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        if let EventKind::Role { term, .. } = e.kind {
            terms.insert(n, term);
        }
        let ends_lease = match &e.kind {
            EventKind::Lease { .. }
            | EventKind::Crash
            | EventKind::Stop
            | EventKind::Stopped { .. } => true,
            EventKind::Role { role, .. } => *role != Role::Leader,
            _ => false,
        };
        if !ends_lease {
            continue;
        }
        if let Some(mut span) = open.remove(&n) {
            span.to = span.to.min(e.t_ms);
            spans.push(span);
        }
        if let EventKind::Lease { until_ms: Some(until) } = e.kind {
            if until > e.t_ms {
                let term = terms.get(&n).copied().unwrap_or_default();
                open.insert(n, LeaseSpan { node: n, term, from: e.t_ms, to: until });
            }
        }
    }
    spans.extend(open.into_values());
    spans.sort_by(|a, b| a.from.total_cmp(&b.from));
    spans
}

/// Replays the applied `fault` steps (through the same [`Conditions::apply`] the cluster
/// uses) and the nodes' own crashes, stops and restarts; a new entry at every change.
fn conditions_over_time(h: &History, setup: &Setup) -> Vec<(f64, Conditions)> {
    let mut out = vec![(0.0, start_conditions(h, setup))];
    for (t, c) in conditions_event_by_event(h, setup) {
        let last = out.last_mut().expect("never empty");
        if last.1 != c {
            if last.0 == t {
                last.1 = c;
            } else {
                out.push((t, c));
            }
        }
    }
    out
}

/// The conditions a run of `setup` starts in.
fn start_conditions(h: &History, setup: &Setup) -> Conditions {
    Conditions::new(h.views().len(), setup.network.clone()).with_disk(setup.disk.clone())
}

/// The conditions after every event that changes them, in order, with instants kept (two
/// faults at one time give two entries, unlike [`Views`]' stretches, which keep the last).
fn conditions_event_by_event(h: &History, setup: &Setup) -> Vec<(f64, Conditions)> {
    let mut c = start_conditions(h, setup);
    let mut out = Vec::new();
    for e in h.events() {
        match (&e.kind, e.node) {
            (EventKind::Fault { step, skipped: false }, _) => {
                step.op.apply(&mut c);
            }
            (EventKind::Crash | EventKind::Stop | EventKind::Stopped { .. }, Some(n)) => {
                c.up[n] = false
            }
            (EventKind::Restart | EventKind::Start { .. }, Some(n)) => c.up[n] = true,
            _ => continue,
        }
        out.push((e.t_ms, c.clone()));
    }
    out
}

/// Each node's durable log (the term of every entry), replayed event by event.
#[derive(Default)]
pub struct DurableLogs {
    logs: BTreeMap<usize, Vec<u64>>,
}

impl DurableLogs {
    /// Applies a persist event, or a start that says what the disk held (its log's terms);
    /// returns the node's log after it.
    pub fn apply(&mut self, node: usize, kind: &EventKind) -> Option<&[u64]> {
        let log = self.logs.entry(node).or_default();
        match kind {
            EventKind::Persist { first_index: Some(first), terms: Some(terms), .. } => {
                log.truncate(first.saturating_sub(1) as usize);
                log.extend(terms);
            }
            EventKind::Start { log_terms: Some(runs), .. } => {
                log.clear();
                for &[term, entries] in runs {
                    log.extend(std::iter::repeat_n(term, entries as usize));
                }
            }
            _ => return None,
        }
        Some(log)
    }

    /// The first index a write or start changed (everything from it on may differ).
    pub fn first_changed(kind: &EventKind) -> Option<u64> {
        match kind {
            EventKind::Persist { first_index: Some(first), terms: Some(_), .. } => Some(*first),
            EventKind::Start { log_terms: Some(_), .. } => Some(1),
            _ => None,
        }
    }

    /// Node `node`'s durable log so far.
    pub fn get(&self, node: usize) -> &[u64] {
        self.logs.get(&node).map_or(&[], |l| l.as_slice())
    }

    /// Every node's durable log so far.
    pub fn nodes(&self) -> impl Iterator<Item = (&usize, &Vec<u64>)> {
        self.logs.iter()
    }
}

/// A setup for hand-written test histories: 150–300 ms timeouts, 50 ms heartbeat, 5 % drift
/// bound, the default network, 3 s liveness, ending at `end_ms`.
#[cfg(test)]
pub(crate) fn test_setup(end_ms: f64) -> Setup {
    Setup {
        timing: ballot_schedule::ClusterSpec::default().timing(),
        network: NetworkSpec::default(),
        disk: DiskSpec::default(),
        liveness_ms: 3_000,
        end_ms,
    }
}
