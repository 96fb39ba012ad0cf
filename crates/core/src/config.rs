//! Tunables of the election core and their validation.

use crate::log::ENTRY_OVERHEAD_BYTES;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Configuration of one node's election core. Every duration is in milliseconds of the node's
/// local clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Lower bound of the randomized election timeout, milliseconds. Also the length of the
    /// "lease" in which a follower that heard from a leader refuses to vote.
    pub election_timeout_min_ms: u64,
    /// Upper bound (inclusive) of the randomized election timeout, milliseconds.
    pub election_timeout_max_ms: u64,
    /// Interval between the leader's heartbeats (empty AppendEntries), milliseconds.
    pub heartbeat_ms: u64,
    /// Ask for pre-votes before raising the term (Ongaro's thesis §9.6).
    pub pre_vote: bool,
    /// A leader that has not heard from a majority for `election_timeout_min_ms` (or the
    /// adaptive lower bound) steps down; followers that heard from a leader within
    /// `election_timeout_min_ms` refuse (pre-)votes.
    pub check_quorum: bool,
    /// Scale the election timeout with the measured round-trip time and heartbeat loss.
    pub adaptive_timeout: bool,
    /// Upper bound of any adaptive election timeout, milliseconds (checked only when
    /// `adaptive_timeout` is on).
    pub adaptive_timeout_cap_ms: u64,
    /// Bound on how much slower any node's clock may run than any other's, as a fraction
    /// (0.05 = 5 %); the leader lease is shortened by this share.
    pub clock_drift_bound: f64,
    /// Most entries carried by one AppendEntries message, count.
    pub max_entries_per_message: usize,
    /// Most bytes of entries carried by one AppendEntries message, bytes (each entry counted
    /// as its payload plus [`crate::ENTRY_OVERHEAD_BYTES`]). A proposal larger than this
    /// alone is refused ([`crate::ProposeError::TooLarge`]). The node checks that it fits
    /// its transport's datagram (`ballot_node::wire::MAX_ENTRY_BYTES`).
    pub max_bytes_per_message: usize,
    /// After a campaign ends without a winner (a split vote), draw the next election timeout
    /// from a range at least 2^k times the slowest vote round trip of the lost campaign wide
    /// (k campaigns lost in a row since a leader was last heard, up to 2^5), so that candidates
    /// whose timers fire together fall out of step (Ethernet's binary exponential backoff);
    /// a vote split between rivals is retried in the rivals' order after one round trip each,
    /// and the silent leader that started the election is not waited for.
    pub split_vote_backoff: bool,
    /// Followers of a leader take turns: each draws its election timeout from its own slice
    /// of the range (in an order that changes with the term, each slice at least half a
    /// round trip long), so that the first to time out usually asks the others for their
    /// votes before their own timers fire.
    pub staggered_timeouts: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_ms: 50,
            pre_vote: true,
            check_quorum: true,
            adaptive_timeout: false,
            adaptive_timeout_cap_ms: 1000,
            clock_drift_bound: 0.05,
            max_entries_per_message: 64,
            max_bytes_per_message: 48 * 1024,
            split_vote_backoff: true,
            staggered_timeouts: true,
        }
    }
}

/// A configuration field that is out of range, and why.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum ConfigError {
    /// The minimum election timeout is zero.
    #[error("election_timeout_min_ms must be greater than 0")]
    ZeroElectionTimeout,
    /// The election timeout range is inverted.
    #[error("election_timeout_min_ms ({min}) must not exceed election_timeout_max_ms ({max})")]
    InvertedElectionTimeout {
        /// Configured minimum, milliseconds.
        min: u64,
        /// Configured maximum, milliseconds.
        max: u64,
    },
    /// The heartbeat interval is zero.
    #[error("heartbeat_ms must be greater than 0")]
    ZeroHeartbeat,
    /// Heartbeats are too slow for followers to hear one reliably before they time out.
    #[error(
        "heartbeat_ms ({heartbeat}) must be at most half of election_timeout_min_ms ({min}), \
         or followers time out between heartbeats"
    )]
    HeartbeatTooSlow {
        /// Configured heartbeat interval, milliseconds.
        heartbeat: u64,
        /// Configured minimum election timeout, milliseconds.
        min: u64,
    },
    /// The adaptive cap is below the configured maximum election timeout.
    #[error("adaptive_timeout_cap_ms ({cap}) must be at least election_timeout_max_ms ({max})")]
    CapBelowMaximum {
        /// Configured cap, milliseconds.
        cap: u64,
        /// Configured maximum election timeout, milliseconds.
        max: u64,
    },
    /// The clock-drift bound is not a fraction in [0, 1).
    #[error("clock_drift_bound ({0}) must be a fraction in [0, 1)")]
    DriftOutOfRange(f64),
    /// AppendEntries could never carry an entry.
    #[error("max_entries_per_message must be greater than 0")]
    ZeroEntriesPerMessage,
    /// AppendEntries could never carry an entry's overhead, let alone its payload.
    #[error(
        "max_bytes_per_message ({0}) must be more than the {ENTRY_OVERHEAD_BYTES} bytes \
         an entry is counted as beyond its payload"
    )]
    MessageBudgetTooSmall(usize),
    /// A setting this core (an adapter around another Raft library) cannot honour.
    #[error("{0}")]
    Unsupported(String),
}

impl Config {
    /// Checks every field; the error names the first field that is wrong and why.
    ///
    /// `election_timeout_min_ms == election_timeout_max_ms` is allowed on purpose: it turns
    /// randomization off, which the failover benchmark needs to reproduce the Raft paper's
    /// split-vote row. It is a bad idea in production.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let (min, max) = (self.election_timeout_min_ms, self.election_timeout_max_ms);
        if min == 0 {
            return Err(ConfigError::ZeroElectionTimeout);
        }
        if min > max {
            return Err(ConfigError::InvertedElectionTimeout { min, max });
        }
        if self.heartbeat_ms == 0 {
            return Err(ConfigError::ZeroHeartbeat);
        }
        if self.heartbeat_ms * 2 > min {
            return Err(ConfigError::HeartbeatTooSlow { heartbeat: self.heartbeat_ms, min });
        }
        if self.adaptive_timeout && self.adaptive_timeout_cap_ms < max {
            return Err(ConfigError::CapBelowMaximum { cap: self.adaptive_timeout_cap_ms, max });
        }
        if !(0.0..1.0).contains(&self.clock_drift_bound) {
            return Err(ConfigError::DriftOutOfRange(self.clock_drift_bound));
        }
        if self.max_entries_per_message == 0 {
            return Err(ConfigError::ZeroEntriesPerMessage);
        }
        if self.max_bytes_per_message <= ENTRY_OVERHEAD_BYTES {
            return Err(ConfigError::MessageBudgetTooSmall(self.max_bytes_per_message));
        }
        Ok(())
    }

    /// The largest proposal one AppendEntries can carry, bytes of payload.
    pub fn max_proposal_bytes(&self) -> usize {
        self.max_bytes_per_message.saturating_sub(ENTRY_OVERHEAD_BYTES)
    }

    /// How long a leader may trust its lease after a majority acknowledged a heartbeat, in
    /// milliseconds of its own clock: the minimum election timeout shortened by the drift bound.
    pub fn lease_ms(&self) -> u64 {
        (self.election_timeout_min_ms as f64 * (1.0 - self.clock_drift_bound)).floor() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_valid() {
        let c = Config::default();
        assert_eq!((c.election_timeout_min_ms, c.election_timeout_max_ms), (150, 300));
        assert_eq!(c.heartbeat_ms, 50);
        assert_eq!(c.adaptive_timeout_cap_ms, 1000);
        assert!(c.pre_vote && c.check_quorum && !c.adaptive_timeout);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn each_bad_field_is_named() {
        type Edit = fn(&mut Config);
        let cases: &[(Edit, &str)] = &[
            (|c| c.election_timeout_min_ms = 0, "election_timeout_min_ms must be greater"),
            (|c| c.election_timeout_min_ms = 301, "must not exceed election_timeout_max_ms"),
            (|c| c.heartbeat_ms = 0, "heartbeat_ms must be greater"),
            (|c| c.heartbeat_ms = 76, "at most half of election_timeout_min_ms"),
            (
                |c| {
                    c.adaptive_timeout = true;
                    c.adaptive_timeout_cap_ms = 299
                },
                "adaptive_timeout_cap_ms (299)",
            ),
            (|c| c.clock_drift_bound = 1.0, "clock_drift_bound (1)"),
            (|c| c.clock_drift_bound = f64::NAN, "clock_drift_bound"),
            (|c| c.clock_drift_bound = -0.1, "clock_drift_bound"),
            (|c| c.max_entries_per_message = 0, "max_entries_per_message"),
            (|c| c.max_bytes_per_message = 32, "max_bytes_per_message (32)"),
        ];
        for (edit, expected) in cases {
            let mut c = Config::default();
            edit(&mut c);
            let err = c.validate().expect_err(expected).to_string();
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        }
    }

    #[test]
    fn equal_bounds_are_allowed_for_the_no_randomness_benchmark() {
        let c = Config { election_timeout_max_ms: 150, heartbeat_ms: 75, ..Config::default() };
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn the_largest_proposal_leaves_room_for_the_entry_overhead() {
        let c = Config { max_bytes_per_message: 1000, ..Config::default() };
        assert_eq!(c.max_proposal_bytes(), 1000 - ENTRY_OVERHEAD_BYTES);
        let smallest = Config { max_bytes_per_message: ENTRY_OVERHEAD_BYTES + 1, ..c };
        assert_eq!((smallest.validate(), smallest.max_proposal_bytes()), (Ok(()), 1));
    }

    #[test]
    fn lease_is_shortened_by_the_drift_bound() {
        let c = Config { clock_drift_bound: 0.1, ..Config::default() };
        assert_eq!(c.lease_ms(), 135);
    }
}
