//! `ballot diagnose`: the troubleshooting table of the leader-election design, answered from a
//! history. Three symptoms, each found with evidence (nodes, times, numbers), the causes the
//! history shows, and the configuration change that helps:
//!
//! | symptom | causes looked for |
//! | --- | --- |
//! | slow failover | timeouts longer than 150–300 ms or too short for the round trip, a slow disk, split votes, refused (pre-)votes, candidates whose logs are behind, no majority reachable |
//! | frequent elections | a heartbeat or round trip too long for the minimum timeout, loss, a paused or restarted node, a node cut off from the leader (without pre-vote or check-quorum), clock drift |
//! | two leaders | a leader cut off from the majority (without check-quorum, or longer than it allows), clocks out of step |
//!
//! A history with a fault record (a simulated run's) shows partitions, loss and pauses
//! there; a real cluster's files show them in what the nodes wrote of themselves: stalls,
//! save times, `peers` summaries, campaigns term after term (`evidence`). Every finding is
//! derived from the same [`Views`] the checkers read; a healthy run gives none.

mod elections;
mod evidence;
mod failover;
mod overlap;

use crate::history::{EventKind, Views};
use serde::Serialize;

pub use failover::{failovers, Failover};

/// The design's recommended timing: election timeouts of 150–300 ms, a 50 ms heartbeat.
pub const RECOMMENDED_TIMEOUT_MS: [u64; 2] = [150, 300];
/// The design's recommended heartbeat interval, milliseconds.
pub const RECOMMENDED_HEARTBEAT_MS: u64 = 50;

/// The three symptoms of the design's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Symptom {
    /// No new leader for a long time after the leader was lost.
    SlowFailover,
    /// Elections while a live leader could reach the node that campaigned.
    FrequentElections,
    /// More than one node leading at the same time.
    TwoLeaders,
}

/// One cause the history shows for a finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cause {
    /// A short stable name (`timeouts_too_long`, `split_votes`, ...).
    pub name: &'static str,
    /// What the history shows, with numbers.
    pub detail: String,
    /// The change that would help.
    pub fix: String,
}

/// One symptom found, where and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Which row of the table.
    pub symptom: Symptom,
    /// From, milliseconds.
    pub from_ms: f64,
    /// Until, milliseconds.
    pub to_ms: f64,
    /// The nodes involved.
    pub nodes: Vec<usize>,
    /// One line with the numbers.
    pub summary: String,
    /// Its causes, as far as the history shows them (`unexplained` when it shows none).
    pub causes: Vec<Cause>,
}

/// Everything `ballot diagnose` found in one history, in time order.
pub fn diagnose(views: &Views) -> Vec<Finding> {
    let mut findings = failover::slow_failovers(views);
    findings.extend(elections::frequent_elections(views));
    findings.extend(overlap::two_leaders(views));
    findings.sort_by(|a, b| a.from_ms.total_cmp(&b.from_ms).then(a.symptom.cmp(&b.symptom)));
    findings
}

/// The fallback cause: the history shows the symptom but none of the causes looked for. A
/// history without a fault record (a real cluster's) cannot show partitions, loss or pauses:
/// it says so rather than suspect the core.
fn unexplained(views: &Views, what: &str) -> Cause {
    let faults_recorded = views
        .history()
        .events()
        .iter()
        .any(|e| matches!(e.kind, EventKind::Fault { .. } | EventKind::LivenessPhase));
    if !faults_recorded {
        return Cause {
            name: "unexplained",
            detail: format!(
                "{what}; this history records no faults (a real cluster's does not), so a \
                 partition, loss or a pause would not show in it"
            ),
            fix: "look at the network and the hosts at that time (ballot check --timeline \
                  draws the history)"
                .into(),
        };
    }
    Cause {
        name: "unexplained",
        detail: format!("{what}, and the history shows none of the causes looked for"),
        fix: "look at the timeline (ballot check --timeline); if the network was healthy, \
              this may be a bug of the core"
            .into(),
    }
}
