//! Slow failover: from the moment a leader was lost (it stopped leading, or could no longer
//! reach a majority) to the next leader, against what the configuration allows and what the
//! design's 150–300 ms timeouts would allow.

use super::evidence;
use super::{
    unexplained, Cause, Finding, Symptom, RECOMMENDED_HEARTBEAT_MS, RECOMMENDED_TIMEOUT_MS,
};
use crate::history::{DurableLogs, EventKind, LeaderSpan, RefusalReason, Views};
use ballot_core::Role;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How long a failover may take with the longest election timeout `longest_ms`: a follower
/// times out at most that long (on a clock at the slowest pace the drift bound allows) after
/// the leader's last heartbeat, then an election round trip (two with pre-vote) at the
/// network's highest latency, with a save on each side.
fn allowed_ms(views: &Views, longest_ms: u64, latency_ms: u64) -> f64 {
    let t = &views.setup().timing;
    let rounds = if t.pre_vote { 2 } else { 1 };
    longest_ms as f64 * (1.0 + t.clock_drift_bound) + (rounds * t.round_trip_ms(latency_ms)) as f64
}

/// Since when node `n` had been unable to reach a majority, continuously, at `t_ms`; `None`
/// if it reached one then.
fn cut_off_since(views: &Views, n: usize, t_ms: f64) -> Option<f64> {
    let mut since = None;
    for (from, to, c) in views.stretches() {
        if from > t_ms {
            break;
        }
        since = if c.in_majority(n) { None } else { since.or(Some(from)) };
        if to > t_ms {
            break;
        }
    }
    since
}

/// When leader `s` was lost: when it stopped leading, or since when it had been unable to
/// reach a majority before that (or, leading to the end, before the next leader was
/// elected); `None` if it was never lost.
fn lost_at(views: &Views, s: &LeaderSpan) -> Option<f64> {
    let until = if s.to_ms < views.end_ms() {
        s.to_ms
    } else {
        let later = views.leaders().iter().filter(|n| n.term > s.term && n.from_ms > s.from_ms);
        later.map(|n| n.from_ms).min_by(f64::total_cmp)?
    };
    match cut_off_since(views, s.node, until - 0.5) {
        Some(since) => Some(since.max(s.from_ms)),
        None => (s.to_ms < views.end_ms()).then_some(s.to_ms),
    }
}

/// The network over a failover.
struct Network {
    /// How long no node could reach a majority, milliseconds.
    no_quorum_ms: f64,
    /// The highest latency, milliseconds.
    latency_ms: u64,
    /// The highest loss rate.
    loss: f64,
}

/// The network between `from` and `to`.
fn network(views: &Views, from: f64, to: f64) -> Network {
    let mut n = Network { no_quorum_ms: 0.0, latency_ms: 0, loss: 0.0 };
    for (start, end, c) in views.stretches() {
        let overlap = end.min(to) - start.max(from);
        if overlap > 0.0 || (start <= from && from < end) {
            n.latency_ms = n.latency_ms.max(c.latency_ms[1]);
            n.loss = n.loss.max(c.loss);
            if !c.live().iter().any(|&m| c.in_majority(m)) {
                n.no_quorum_ms += overlap.max(0.0);
            }
        }
    }
    n
}

/// One failover: a leader lost, and the next one elected.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failover {
    /// The leader lost.
    pub leader: usize,
    /// Its term.
    pub term: u64,
    /// When it was lost (it stopped leading, or could no longer reach a majority), ms.
    pub lost_ms: f64,
    /// The next leader.
    pub next_leader: usize,
    /// Its term.
    pub next_term: u64,
    /// When the next leader began to lead, ms.
    pub elected_ms: f64,
    /// From the loss to the next leader, ms.
    pub took_ms: f64,
    /// Of that, the time no node could reach a majority, ms.
    pub no_majority_ms: f64,
    /// The highest share of messages lost meanwhile.
    pub loss: f64,
    /// What the configuration allows for one election at the network's highest latency, ms.
    pub allowed_ms: f64,
    /// What the design's 150-300 ms timeouts would allow, ms.
    pub recommended_ms: f64,
    /// Elections (candidates' terms) between the two leaders.
    pub elections: usize,
}

impl Failover {
    /// The time spent electing: the failover less the time no majority could be reached.
    pub fn electing_ms(&self) -> f64 {
        self.took_ms - self.no_majority_ms
    }

    /// Slower than the configuration, or the design's timeouts, allow.
    pub fn slow(&self) -> bool {
        self.electing_ms() > self.allowed_ms.min(self.recommended_ms)
    }
}

/// Every failover of the history (leadership handed over on purpose excluded), in order.
pub fn failovers(views: &Views) -> Vec<Failover> {
    let mut out = Vec::new();
    for s in views.leaders() {
        let Some(lost) = lost_at(views, s) else { continue };
        if views.transferring(s.node, lost) {
            continue; // handed over on purpose
        }
        let later = views.leaders().iter().filter(|n| n.term > s.term);
        if later.clone().any(|n| n.from_ms < lost) {
            continue; // another leader took over before this one was lost: no gap
        }
        let Some(next) = later.min_by(|a, b| a.from_ms.total_cmp(&b.from_ms)) else { continue };
        let network = network(views, lost, next.from_ms);
        let t = &views.setup().timing;
        out.push(Failover {
            leader: s.node,
            term: s.term,
            lost_ms: lost,
            next_leader: next.node,
            next_term: next.term,
            elected_ms: next.from_ms,
            took_ms: next.from_ms - lost,
            no_majority_ms: network.no_quorum_ms,
            loss: network.loss,
            allowed_ms: allowed_ms(views, t.longest_timeout_ms, network.latency_ms),
            recommended_ms: allowed_ms(views, RECOMMENDED_TIMEOUT_MS[1], network.latency_ms),
            elections: views.elections_between(lost, next.from_ms),
        });
    }
    out.sort_by(|a, b| a.lost_ms.total_cmp(&b.lost_ms));
    out
}

/// The cluster's first election, as a failover from the moment a majority had started
/// (`term` 0: no leader was lost) to the first leader, or to the history's end when none was
/// elected (`next_term` `u64::MAX`); `None` when no node started.
fn first_election(views: &Views) -> Option<Failover> {
    let mut starts: Vec<f64> = (0..views.history().size())
        .filter_map(|n| {
            let first = views
                .history()
                .events()
                .iter()
                .find(|e| e.node == Some(n) && matches!(e.kind, EventKind::Start { .. }));
            first.map(|e| e.t_ms)
        })
        .collect();
    starts.sort_by(f64::total_cmp);
    let started = *starts.get(views.history().size() / 2)?;
    let first = views.leaders().iter().min_by(|a, b| a.from_ms.total_cmp(&b.from_ms));
    let (next_leader, next_term, elected) = match first {
        Some(s) => (s.node, s.term, s.from_ms),
        None => (0, u64::MAX, views.end_ms()),
    };
    let network = network(views, started, elected);
    let t = &views.setup().timing;
    Some(Failover {
        leader: next_leader,
        term: 0,
        lost_ms: started,
        next_leader,
        next_term,
        elected_ms: elected,
        took_ms: (elected - started).max(0.0),
        no_majority_ms: network.no_quorum_ms,
        loss: network.loss,
        allowed_ms: allowed_ms(views, t.longest_timeout_ms, network.latency_ms),
        recommended_ms: allowed_ms(views, RECOMMENDED_TIMEOUT_MS[1], network.latency_ms),
        elections: views.elections_between(started, elected),
    })
}

/// Every failover slower than the configuration or the design's timeouts allow, the
/// cluster's first election among them.
pub(super) fn slow_failovers(views: &Views) -> Vec<Finding> {
    let refusals = refusals(views);
    let mut out = Vec::new();
    let all = first_election(views).into_iter().chain(failovers(views));
    for f in all.filter(Failover::slow) {
        let (lost, gap, electing) = (f.lost_ms, f.took_ms, f.electing_ms());
        let (no_quorum_ms, recommended, allowed) =
            (f.no_majority_ms, f.recommended_ms, f.allowed_ms);
        let t = &views.setup().timing;
        let mut causes = Vec::new();
        if no_quorum_ms > 0.0 {
            causes.push(Cause {
                name: "no_majority",
                detail: format!(
                    "for {no_quorum_ms:.0} ms of the {gap:.0} ms no node could reach a majority \
                     (crashed, paused or cut-off nodes)"
                ),
                fix: "a failover needs a majority: restore the nodes or links; no setting \
                      makes it faster than that"
                    .into(),
            });
        }
        if electing > recommended && t.election_timeout_max_ms > RECOMMENDED_TIMEOUT_MS[1] {
            causes.push(Cause {
                name: "timeouts_too_long",
                detail: format!(
                    "election timeouts of {}–{} ms: electing took {electing:.0} ms, where \
                     150–300 ms timeouts allow {recommended:.0} ms",
                    t.election_timeout_min_ms, t.election_timeout_max_ms
                ),
                fix: format!(
                    "election timeout {}–{} ms, heartbeat {RECOMMENDED_HEARTBEAT_MS} ms",
                    RECOMMENDED_TIMEOUT_MS[0], RECOMMENDED_TIMEOUT_MS[1]
                ),
            });
        }
        causes.extend(election_causes(views, &refusals, &f));
        // A timeout too short for the heartbeat and the round trip: a candidate's timer fires
        // before its votes come back, a leader's check-quorum before its acknowledgements do.
        let during: Vec<_> = super::elections::during(views, lost, f.elected_ms).collect();
        let tight = super::elections::timing_too_tight(views, &during, lost, f.elected_ms);
        causes.extend(tight);
        // Loss from the fault record, else (only then read) from the leaders' summaries.
        let loss = if f.loss > 0.0 {
            Some(format!(
                "up to {:.0} % of messages were lost while the cluster voted",
                f.loss * 100.0
            ))
        } else {
            evidence::loss(views, lost, f.elected_ms)
                .filter(|(l, _)| *l >= evidence::LOSS_WORTH_NAMING)
                .map(|(l, sent)| {
                    format!(
                        "about {:.0} % of messages were lost while the cluster voted (the \
                         leaders' peers summaries: {sent} sent)",
                        l * 100.0
                    )
                })
        };
        if let Some(detail) = loss {
            causes.push(Cause {
                name: "message_loss",
                detail,
                fix: "fix the network: lost vote requests and answers cost a timeout each".into(),
            });
        }
        // Every term and vote is synced before it is announced: a slow save is on the path,
        // two of them (the candidate's, then each voter's) on every election's.
        let slow_save =
            evidence::saves(views, lost, f.elected_ms).filter(|((_, _, slowest), median)| {
                *slowest >= SLOW_SAVE_SHARE * gap.max(t.heartbeat_ms as f64)
                    || 4.0 * median >= t.election_timeout_min_ms as f64
            });
        if let Some(((node, at, ms), median)) = slow_save {
            causes.push(Cause {
                name: "slow_disk",
                detail: format!(
                    "node {node}'s save ending at {at:.0} ms took {ms:.0} ms (the median save \
                     then {median:.0} ms): every term and vote is synced before it is announced, \
                     two saves on each election's path"
                ),
                fix: "a faster disk, or one no other writer shares (its sync latency is on \
                      every election's path); no timing setting makes a save faster"
                    .into(),
            });
        }
        if causes.is_empty() {
            causes.push(unexplained(views, &format!("electing took {electing:.0} ms")));
        }
        let (mut nodes, summary) = match (f.term, f.next_term) {
            (0, u64::MAX) => (
                Vec::new(),
                format!(
                    "no leader was elected in the {gap:.0} ms from {lost:.0} ms, when a majority \
                     had started, where the configuration allows {allowed:.0} ms"
                ),
            ),
            (0, _) => (
                vec![f.next_leader],
                format!(
                    "a majority had started at {lost:.0} ms; node {} led term {}, the first, \
                     {gap:.0} ms later, where the configuration allows {allowed:.0} ms",
                    f.next_leader, f.next_term
                ),
            ),
            _ => (
                vec![f.leader, f.next_leader],
                format!(
                    "node {} (term {}) was lost at {lost:.0} ms; node {} led term {} {gap:.0} ms \
                     later, where the configuration allows {allowed:.0} ms",
                    f.leader, f.term, f.next_leader, f.next_term
                ),
            ),
        };
        nodes.dedup();
        out.push(Finding {
            symptom: Symptom::SlowFailover,
            from_ms: lost,
            to_ms: f.elected_ms,
            nodes,
            summary,
            causes,
        });
    }
    out
}

/// A save that took this share of a slow failover (or of a heartbeat, if longer) is named.
const SLOW_SAVE_SHARE: f64 = 0.2;

/// A vote refused in time, with whether the candidate's log was behind the voter's, and the
/// reason the voter gave, if its file gives one.
struct Refusal {
    t_ms: f64,
    pre_vote: bool,
    stale_log: bool,
    reason: Option<RefusalReason>,
}

/// Every refused vote or pre-vote: the reason a node's own file gives, else replaying the
/// durable logs to tell whether the candidate's log was behind the voter's (the up-to-date
/// rule) when it was refused.
fn refusals(views: &Views) -> Vec<Refusal> {
    let mut logs = DurableLogs::default();
    let mut out = Vec::new();
    for e in views.history().events() {
        let Some(n) = e.node else { continue };
        logs.apply(n, &e.kind);
        if let EventKind::Vote { granted: false, candidate, pre_vote, reason, .. } = e.kind {
            let last = |node: usize| {
                let log = logs.get(node);
                (log.last().copied().unwrap_or(0), log.len())
            };
            let stale_log = match reason {
                Some(reason) => reason == RefusalReason::StaleLog,
                None => last(candidate) < last(n),
            };
            out.push(Refusal { t_ms: e.t_ms, pre_vote, stale_log, reason });
        }
    }
    out
}

/// What the elections of failover `f` show: split votes, failed elections, votes refused
/// (to candidates whose logs were behind, or by voters still hearing a leader).
fn election_causes(views: &Views, refusals: &[Refusal], f: &Failover) -> Vec<Cause> {
    let (lost, elected) = (f.lost_ms, f.elected_ms);
    let mut candidates: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
    for e in views.history().events() {
        if e.t_ms < lost || e.t_ms > elected {
            continue;
        }
        if let (EventKind::Role { role: Role::Candidate, term, .. }, Some(n)) = (&e.kind, e.node) {
            if *term > f.term && *term < f.next_term {
                candidates.entry(*term).or_default().insert(n);
            }
        }
    }
    let mut causes = Vec::new();
    let split: Vec<String> = candidates
        .iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(term, c)| format!("term {term}: nodes {c:?}"))
        .collect();
    if !split.is_empty() {
        let t = &views.setup().timing;
        causes.push(Cause {
            name: "split_votes",
            detail: format!(
                "{} election(s) split the vote ({}{}) {}",
                split.len(),
                split[..split.len().min(5)].join("; "),
                if split.len() > 5 { "; ..." } else { "" },
                match f.next_term {
                    u64::MAX => "and none elected a leader".to_string(),
                    term => format!("before term {term} elected a leader"),
                }
            ),
            fix: format!(
                "more randomness: a wider election timeout range than {}–{} ms (ballot's \
                 split_vote_backoff widens it after a lost election)",
                t.election_timeout_min_ms, t.election_timeout_max_ms
            ),
        });
    }
    let failed = candidates.len() - split.len();
    let in_gap: Vec<&Refusal> =
        refusals.iter().filter(|r| r.t_ms >= lost && r.t_ms <= elected).collect();
    let stale = in_gap.iter().filter(|r| !r.pre_vote && r.stale_log).count();
    if stale > 0 {
        causes.push(Cause {
            name: "stale_log_candidates",
            detail: format!(
                "{failed} election(s) with one candidate failed; {stale} vote(s) refused to \
                 candidates whose logs were behind the voter's"
            ),
            fix: "only a node with an up-to-date log can win: pre-vote keeps the others from \
                  raising terms; a node far behind catches up before it is worth electing"
                .into(),
        });
    }
    let pre_refused: Vec<&&Refusal> = in_gap.iter().filter(|r| r.pre_vote).collect();
    if !pre_refused.is_empty() {
        // The voters' own reasons, where their files give them.
        let mut why: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &pre_refused {
            let name = match r.reason {
                Some(RefusalReason::InLease) => "in a leader's lease",
                Some(RefusalReason::StaleLog) => "to a stale log",
                Some(RefusalReason::StaleTerm) => "of a stale term",
                Some(RefusalReason::VotedForAnother | RefusalReason::LeaderKnown) => {
                    "with a vote or a leader in the term"
                }
                None => continue,
            };
            *why.entry(name).or_default() += 1;
        }
        let said = if why.is_empty() {
            "voters that still heard a leader within their election timeout, or whose logs \
             were ahead"
                .to_string()
        } else {
            let parts: Vec<String> = why.iter().map(|(w, n)| format!("{n} {w}")).collect();
            format!("by the voters' own files: {}", parts.join(", "))
        };
        let fix = if why.is_empty() || why.contains_key("in a leader's lease") {
            "nothing to change for these: a voter refuses for a minimum election timeout after \
             it last heard its leader (its promise to that leader's lease), so every failover \
             waits that long; look at the other causes"
        } else {
            "nothing to change for these: a voter refuses a pre-vote in a term it has voted in \
             (for a rival candidate) or whose leader it knows; look at the other causes"
        };
        causes.push(Cause {
            name: "pre_vote_refusals",
            detail: format!("{} pre-vote(s) refused: {said}", pre_refused.len()),
            fix: fix.into(),
        });
    }
    causes
}
