//! The election cores a schedule can name (`cluster.core`, `--core`; SPEC.md), and what each
//! one supports. Which of them a build can run: `ballot` always, `raft-rs` (raft-rs 0.7) with
//! the feature `raft-rs`, and the known-bug fixtures (raft-rs 0.3.0 and 0.3.1) in their own
//! builds (`make fixtures`), which declare their core before they run anything.

use ballot_core::Config;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

/// Fixture cores this process's build has installed.
static INSTALLED: Mutex<BTreeSet<CoreName>> = Mutex::new(BTreeSet::new());

/// Declares that this build runs `core` (a fixture build, before anything reads a schedule).
pub fn declare_installed(core: CoreName) {
    INSTALLED.lock().expect("installed cores").insert(core);
}

/// An election core by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CoreName {
    /// `ballot`: ballot's own core, `ballot-core`.
    #[default]
    #[serde(rename = "ballot")]
    Ballot,
    /// `raft-rs`: TiKV's `raft` crate 0.7, through `ballot-raft-rs`.
    #[serde(rename = "raft-rs")]
    RaftRs,
    /// `raft-rs-0.3.0`: a known-bug fixture (raft-rs PR #84), built apart by `make fixtures`.
    #[serde(rename = "raft-rs-0.3.0")]
    RaftRs030,
    /// `raft-rs-0.3.1`: the release that fixed it, built apart by `make fixtures`.
    #[serde(rename = "raft-rs-0.3.1")]
    RaftRs031,
    /// `openraft-0.9.24`: openraft 0.9.24's async nodes (turmoil only), built apart by
    /// `make fixtures`.
    #[serde(rename = "openraft-0.9.24")]
    OpenRaft0924,
    /// `openraft-0.9.25`: openraft 0.9.25's async nodes (turmoil only), built apart by
    /// `make fixtures`.
    #[serde(rename = "openraft-0.9.25")]
    OpenRaft0925,
}

impl CoreName {
    /// Every core, in the order `--help` lists them.
    pub const ALL: [CoreName; 6] = [
        CoreName::Ballot,
        CoreName::RaftRs,
        CoreName::RaftRs030,
        CoreName::RaftRs031,
        CoreName::OpenRaft0924,
        CoreName::OpenRaft0925,
    ];

    /// The name schedules and `--core` use.
    pub fn name(self) -> &'static str {
        match self {
            CoreName::Ballot => "ballot",
            CoreName::RaftRs => "raft-rs",
            CoreName::RaftRs030 => "raft-rs-0.3.0",
            CoreName::RaftRs031 => "raft-rs-0.3.1",
            CoreName::OpenRaft0924 => "openraft-0.9.24",
            CoreName::OpenRaft0925 => "openraft-0.9.25",
        }
    }

    /// Whether this build can run it: raft-rs with the feature `raft-rs`, the fixtures once
    /// their own build has [`declare_installed`] them.
    pub fn available(self) -> bool {
        match self {
            CoreName::Ballot => true,
            CoreName::RaftRs => cfg!(feature = "raft-rs"),
            fixture => INSTALLED.lock().expect("installed cores").contains(&fixture),
        }
    }

    /// Whether the core is an async library, not an election core the event world can run
    /// (openraft): it runs in the turmoil world only.
    pub fn turmoil_only(self) -> bool {
        matches!(self, CoreName::OpenRaft0924 | CoreName::OpenRaft0925)
    }

    /// Whether the core records coverage marks (only ballot's core has them).
    pub fn has_marks(self) -> bool {
        self == CoreName::Ballot
    }

    /// Whether the core has an adaptive election timeout.
    pub fn has_adaptive_timeout(self) -> bool {
        self == CoreName::Ballot
    }

    /// Whether the core has ballot's split-vote backoff (others ignore the option).
    pub fn has_split_vote_backoff(self) -> bool {
        self == CoreName::Ballot
    }

    /// Whether the core has pre-vote and check-quorum (openraft 0.9 has neither: its
    /// followers refuse votes while they hear a leader, and its leader never steps down).
    pub fn has_pre_vote_and_check_quorum(self) -> bool {
        !self.turmoil_only()
    }

    /// Why `config` cannot run on this core (naming the field), if it cannot.
    pub fn refuses(self, config: &Config) -> Option<(&'static str, String)> {
        if config.adaptive_timeout && !self.has_adaptive_timeout() {
            let why = format!("{self} has no adaptive election timeout");
            return Some(("cluster.adaptive_timeout", why));
        }
        if !self.has_pre_vote_and_check_quorum() {
            for (field, on) in [
                ("cluster.pre_vote", config.pre_vote),
                ("cluster.check_quorum", config.check_quorum),
            ] {
                if on {
                    return Some((
                        field,
                        format!("{self} has no pre-vote or check-quorum: set it false"),
                    ));
                }
            }
        }
        None
    }

    /// Why a step of `op` (its name) cannot run on this core, if it cannot: openraft 0.9 has
    /// no leadership transfer; its nodes run on tokio's clock, which a pause or a clock rate
    /// does not reach yet, and keep their files under names a `corrupt` step does not know.
    pub fn refuses_step(self, op: &str) -> Option<String> {
        let unsupported = ["transfer", "pause", "resume", "clock", "corrupt"];
        (self.turmoil_only() && unsupported.contains(&op))
            .then(|| format!("{self} cannot run a `{op}` step yet (docs/testing-another-raft.md)"))
    }
}

impl fmt::Display for CoreName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CoreName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        CoreName::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| {
            let names: Vec<_> = CoreName::ALL.iter().map(|c| c.name()).collect();
            format!("unknown core {s:?}, expected one of {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for core in CoreName::ALL {
            assert_eq!(core.name().parse::<CoreName>(), Ok(core));
            let json = serde_json::to_string(&core).unwrap();
            assert_eq!(json, format!("\"{core}\""));
            assert_eq!(serde_json::from_str::<CoreName>(&json).unwrap(), core);
        }
        assert!("raft".parse::<CoreName>().unwrap_err().contains("raft-rs-0.3.1"));
    }
}
