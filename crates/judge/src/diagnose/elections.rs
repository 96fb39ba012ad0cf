//! Frequent elections: a live leader, reaching a majority and not asked to hand over, lost
//! its term to another node's campaign, or a node it reached campaigned; and what set each
//! one off. (Campaigns of a node cut off from the leader disturb no one until it rejoins and
//! its higher term deposes the leader: that is when it counts, with the cut as its cause.)

use super::evidence::{self, LOSS_WORTH_NAMING};
use super::{unexplained, Cause, Finding, Symptom, RECOMMENDED_HEARTBEAT_MS};
use crate::history::{EventKind, LeaderSpan, Views};
use ballot_core::Role;
use ballot_schedule::faults::Conditions;
use std::collections::BTreeMap;

/// One election under a live leader: who campaigned (raised its term past the leader's),
/// when, and whose term it ended or challenged.
struct Disruption {
    t_ms: f64,
    node: usize,
    leader: usize,
    /// The leader's term, and the end of its leadership.
    term: u64,
    led_until: f64,
}

/// The conditions over `[from, to]`.
pub(super) fn during<'v>(
    views: &'v Views,
    from: f64,
    to: f64,
) -> impl Iterator<Item = &'v Conditions> {
    views.stretches().filter(move |(f, t, _)| *t > from && *f <= to).map(|(_, _, c)| c)
}

/// Whether leader `s` led, reached a majority and was not handing over at `t_ms` (by the
/// fault record, and by its own file when it wrote one: not stalled, and its summaries show
/// it heard a majority).
fn live_at(views: &Views, s: &LeaderSpan, t_ms: f64) -> bool {
    views.conditions_at(t_ms).in_majority(s.node)
        && !views.transferring(s.node, t_ms)
        && evidence::stall(views, s.node, t_ms, t_ms).is_none()
        && evidence::cut_off_from_majority(views, s.node, t_ms, t_ms).is_none()
}

/// The first disruption of each live leader's term: a node it reached that campaigned, or
/// the first node whose term passed the leader's when the leader lost its term while live.
fn disruptions(views: &Views) -> Vec<Disruption> {
    let events = views.history().events();
    let mut out = Vec::new();
    for s in views.leaders() {
        let campaigned_under = events.iter().find(|e| {
            let Some(n) = e.node else { return false };
            matches!(e.kind, EventKind::Role { role: Role::Candidate, term, .. } if term > s.term)
                && n != s.node
                && s.from_ms <= e.t_ms
                && e.t_ms < s.to_ms
                && live_at(views, s, e.t_ms)
                && views.conditions_at(e.t_ms).reach(s.node).contains(&n)
                && !views.transfer_to(n, e.t_ms)
        });
        let deposed = (s.to_ms < views.end_ms() && live_at(views, s, s.to_ms))
            .then(|| {
                events.iter().find(|e| {
                    e.node.is_some_and(|n| n != s.node)
                        && matches!(e.kind, EventKind::Role { term, .. } if term > s.term)
                })
            })
            .flatten()
            .filter(|e| live_at(views, s, e.t_ms))
            .filter(|e| e.node.is_some_and(|n| !views.transfer_to(n, e.t_ms)));
        let first = [campaigned_under, deposed]
            .into_iter()
            .flatten()
            .min_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        if let Some(e) = first {
            out.push(Disruption {
                t_ms: e.t_ms,
                node: e.node.expect("a node's event"),
                leader: s.node,
                term: s.term,
                led_until: s.to_ms,
            });
        }
    }
    out.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    out
}

/// Every election under a live leader, grouped in one finding with the causes the history
/// shows for each.
pub(super) fn frequent_elections(views: &Views) -> Option<Finding> {
    let disruptions = disruptions(views);
    let (first, last) = (disruptions.first()?, disruptions.last()?);
    let t = &views.setup().timing;
    // What a node's timer covers before it fires: its longest timeout at the slowest pace
    // the drift bound allows, and a heartbeat before that.
    let window = t.longest_timeout_ms as f64 * (1.0 + t.clock_drift_bound) + t.heartbeat_ms as f64;
    let mut found: BTreeMap<&'static str, (Vec<f64>, Cause)> = BTreeMap::new();
    for d in &disruptions {
        let before: Vec<&Conditions> = during(views, d.t_ms - window, d.t_ms).collect();
        for cause in causes_of(views, d, &before, window) {
            found.entry(cause.name).or_insert_with(|| (Vec::new(), cause)).0.push(d.t_ms);
        }
    }
    let causes = found
        .into_values()
        .map(|(at, mut cause)| {
            let times: Vec<String> = at.iter().take(5).map(|t| format!("{t:.0}")).collect();
            let more = if at.len() > 5 { ", ..." } else { "" };
            cause.detail = format!("{} (at {} ms{more})", cause.detail, times.join(", "));
            cause
        })
        .collect();
    let mut nodes: Vec<usize> = disruptions.iter().flat_map(|d| [d.node, d.leader]).collect();
    nodes.sort();
    nodes.dedup();
    Some(Finding {
        symptom: Symptom::FrequentElections,
        from_ms: first.t_ms,
        to_ms: last.t_ms,
        nodes,
        summary: format!(
            "{} campaign(s) against a live leader that reached a majority, from {:.0} to {:.0} ms",
            disruptions.len(),
            first.t_ms,
            last.t_ms
        ),
        causes,
    })
}

/// What the conditions `before` a disruption (over the `window` before it), or the nodes'
/// own records, show set it off.
fn causes_of(views: &Views, d: &Disruption, before: &[&Conditions], window: f64) -> Vec<Cause> {
    let t = &views.setup().timing;
    let from = d.t_ms - window;
    let mut causes = Vec::new();
    let mut cause = |name, detail: String, fix: &str| {
        causes.push(Cause { name, detail, fix: fix.to_string() });
    };
    let cut = before.iter().any(|c| c.link_down(d.leader, d.node) || c.link_down(d.node, d.leader));
    // A node that campaigns again and again while the leader leads hears no leader: it is
    // cut off from it.
    let campaigns = evidence::campaigns(views, d.node, d.term, d.led_until);
    if cut || campaigns.len() >= 2 {
        let fix = if !t.pre_vote {
            "turn pre-vote on: a node that rejoins asks first, and the others, still hearing \
             their leader, refuse"
        } else if !t.check_quorum {
            "turn check-quorum on: with it, voters that still hear their leader refuse a \
             (pre-)vote, so a node cut off from the leader alone cannot win one"
        } else {
            "with pre-vote and check-quorum on, it won over nodes that could not hear the \
             leader either (a partial partition, or a one-way link): repair the links"
        };
        let detail = if cut {
            format!("node {} could not hear leader {} before it campaigned", d.node, d.leader)
        } else {
            format!(
                "node {} campaigned in terms {} to {} while leader {} led term {}: it heard no \
                 leader",
                d.node,
                campaigns[0],
                campaigns[campaigns.len() - 1],
                d.leader,
                d.term
            )
        };
        cause("cut_off_from_leader", detail, fix);
    }
    let stalled = evidence::stall(views, d.node, from, d.t_ms);
    if before.iter().any(|c| c.paused[d.node]) || stalled.is_some() {
        let detail = match stalled {
            Some(s) => format!(
                "node {}'s timers fired {:.0} ms late at {:.0} ms (paused or starved of CPU), \
                 and its election timer ran out",
                d.node, s.late_ms, s.t_ms
            ),
            None => format!(
                "node {} was paused (a long GC, a stopped VM) and its timer ran out",
                d.node
            ),
        };
        cause("paused_node", detail, "turn pre-vote on, so a node that wakes asks before it disrupts; keep pauses shorter than the election timeout");
    }
    if let Some(s) = evidence::stall(views, d.leader, from, d.t_ms) {
        let detail = format!(
            "leader {}'s timers fired {:.0} ms late at {:.0} ms (paused or starved of CPU): no \
             heartbeat went out, and node {}'s election timer ran out",
            d.leader, s.late_ms, s.t_ms, d.node
        );
        cause("paused_leader", detail, "keep the leader's process from pausing or starving (CPU to spare, no swapping, short GC pauses): a pause longer than the minimum election timeout costs an election");
    }
    if before.iter().any(|c| !c.up[d.node]) {
        let detail = format!("node {} restarted just before it campaigned", d.node);
        cause("restarted_node", detail, "turn pre-vote on: a restarted node that hears no heartbeat yet asks before it raises its term");
    }
    // A campaigner's clock running fast fires its election timer early; a leader's running
    // slow sends its heartbeats late. (Either way the other side's timer runs out.)
    let bound = t.clock_drift_bound;
    // The rates that set nothing off: any but fast for the campaigner, any but slow for the
    // leader.
    let (not_fast, not_slow) = ((0.0, 1.0 + bound), (1.0 - bound, f64::INFINITY));
    let recorded = |n: usize, (low, high): (f64, f64)| {
        before.iter().map(|c| c.clock_rates[n]).find(|r| !(low..=high).contains(r))
    };
    let drifted = [(d.node, "node", not_fast), (d.leader, "leader", not_slow)]
        .into_iter()
        .find_map(|(n, who, ok)| {
            let rate = recorded(n, ok).map(|r| (r, String::new())).or_else(|| {
                evidence::clock_rate(views, n, (from, d.t_ms), ok)
                    .map(|(r, at)| (r, format!(" (its peers summary at {at:.0} ms)")))
            });
            rate.map(|(r, seen)| (n, who, r, seen))
        });
    if let Some((n, who, rate, seen)) = drifted {
        let what = if rate > 1.0 { "its timers fire early" } else { "its heartbeats come late" };
        let detail = format!(
            "{who} {n}'s clock ran at {rate:.2}x real time{seen}, beyond the {bound} drift \
             bound: {what}"
        );
        cause(
            "clock_drift",
            detail,
            "keep clocks within the drift bound (NTP); the adaptive election timeout absorbs some",
        );
    }
    // Loss from the fault record, else (only then read) from the leaders' summaries.
    let loss = match before.iter().map(|c| c.loss).find(|l| *l > 0.0) {
        Some(loss) => Some(format!("{:.0} % of messages were lost", loss * 100.0)),
        None => evidence::loss(views, from, d.t_ms).filter(|(l, _)| *l >= LOSS_WORTH_NAMING).map(
            |(l, sent)| {
                format!(
                    "about {:.0} % of messages were lost (the leaders' peers summaries: {sent} \
                     sent)",
                    l * 100.0
                )
            },
        ),
    };
    if let Some(lost) = loss {
        let detail = format!("{lost}: heartbeats missed in a row");
        cause("message_loss", detail, "fix the network; pre-vote and check-quorum ride out loss, and a shorter heartbeat sends more per timeout");
    }
    if let Some(cause) = timing_too_tight(views, before, from, d.t_ms) {
        causes.push(cause);
    }
    if causes.is_empty() {
        causes.push(unexplained(
            views,
            &format!("node {} campaigned under live leader {}", d.node, d.leader),
        ));
    }
    causes
}

/// A heartbeat interval, or a minimum election timeout, that leaves no room for one late
/// heartbeat: two heartbeats and a round trip (the fault record's latency, or what the nodes'
/// summaries measured over `[from, to]`, whichever is longer) do not fit in the minimum
/// election timeout. Named as the heartbeat when the minimum timeout holds fewer than three
/// (the design's 50 ms in 150 ms), else as the timeouts.
pub(super) fn timing_too_tight(
    views: &Views,
    before: &[&Conditions],
    from: f64,
    to: f64,
) -> Option<Cause> {
    let t = &views.setup().timing;
    let latency = before.iter().map(|c| c.latency_ms[1]).max().unwrap_or(0);
    let recorded = t.round_trip_ms(latency) as f64;
    let measured = evidence::round_trip(views, from, to);
    let (round_trip, whose) = match measured {
        Some((rtt, n)) if rtt > recorded => {
            (rtt, format!("a round trip of {rtt:.0} ms (the median of {n} measured in the nodes' peers summaries)"))
        }
        _ => (recorded, format!("a round trip of up to {recorded:.0} ms")),
    };
    let (heartbeat, min) = (t.heartbeat_ms as f64, t.election_timeout_min_ms as f64);
    if 2.0 * heartbeat + round_trip < min {
        return None;
    }
    if 3.0 * heartbeat > min {
        return Some(Cause {
            name: "heartbeat_too_long",
            detail: format!(
                "a heartbeat every {heartbeat:.0} ms and {whose} leave less than one more \
                 heartbeat before the {min:.0} ms minimum election timeout, which holds fewer \
                 than three heartbeats"
            ),
            fix: format!(
                "a heartbeat of at most {:.0} ms, a third of the {min:.0} ms minimum election \
                 timeout (the design's {RECOMMENDED_HEARTBEAT_MS} ms in 150 ms)",
                (min / 3.0).floor()
            ),
        });
    }
    let wanted = ((2.0 * heartbeat + 3.0 * round_trip) / 10.0).ceil() * 10.0;
    Some(Cause {
        name: "timeouts_too_short",
        detail: format!(
            "{whose} and a heartbeat every {heartbeat:.0} ms leave less than one more \
             heartbeat before the {min:.0} ms minimum election timeout"
        ),
        fix: format!(
            "election timeouts of at least {wanted:.0}–{:.0} ms (two heartbeats and three round \
             trips), or a network with shorter round trips",
            2.0 * wanted
        ),
    })
}
