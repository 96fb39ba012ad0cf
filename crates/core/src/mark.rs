//! Coverage marks: rare situations the core met, named so that a test harness can count
//! which ones its runs reach (TigerBeetle's `marks`, stateright's `sometimes`). Recording a
//! mark never changes what the core does.

/// A rare situation, as it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// A vote response of an earlier term (or campaign) arrived and was ignored.
    StaleVoteResponse,
    /// A voter answered the same campaign twice (a duplicated message); counted once.
    DuplicateVoteResponse,
    /// A vote request of a higher term was ignored because a leader was heard recently.
    VoteIgnoredInLease,
    /// A vote request of the node's own term (raised by another message since it last heard
    /// its leader) was refused because that leader was heard recently.
    VoteRefusedInLease,
    /// A pre-vote was refused because a leader was heard recently.
    PreVoteRefusedInLease,
    /// A pre-vote of a higher term was refused because the candidate's log is behind.
    PreVoteRefusedStaleLog,
    /// A vote was refused because the candidate's log is behind (§5.4.1).
    VoteRefusedStaleLog,
    /// A pre-candidate's timer fired before it won a majority of pre-votes.
    PreVoteLost,
    /// A candidate's timer fired before it won: a split or lost vote.
    SplitVote,
    /// A leader learned of a higher term and stepped down.
    LeaderDeposed,
    /// A leader stepped down because a majority had not answered it (check-quorum).
    CheckQuorumStepDown,
    /// A new leader found entries of earlier terms it could not yet commit.
    LeaderWithUncommittedOldEntries,
    /// A leader committed entries of earlier terms through an entry of its own (§5.4.2).
    CommittedOldTermEntries,
    /// An AppendEntries of an older term arrived and was refused.
    StaleAppendEntries,
    /// A follower's log did not match the leader's at `prev_log_index`.
    AppendMismatch,
    /// A follower replaced a conflicting suffix of its log.
    TruncatedConflict,
    /// A follower refused to truncate entries it knows are committed.
    RefusedTruncatingCommitted,
    /// A leader sent a full AppendEntries: the follower lags by more than one message holds.
    CatchUpInBatches,
    /// A leader's AppendEntries stopped at the byte budget, before the count limit, with
    /// more to send: a follower behind large entries.
    BatchCutByBytes,
    /// A proposal larger than one AppendEntries carries was refused.
    ProposalTooLarge,
    /// An AppendEntries response of an older term, or to a node no longer leader, arrived.
    StaleAppendResponse,
    /// A node restarted having voted in its current term.
    RestartAfterVote,
    /// A TimeoutNow arrived that the node did not act on (wrong term, role or sender).
    TimeoutNowIgnored,
}

impl Mark {
    /// Every mark, in a fixed order.
    pub const ALL: &'static [Mark] = &[
        Mark::StaleVoteResponse,
        Mark::DuplicateVoteResponse,
        Mark::VoteIgnoredInLease,
        Mark::VoteRefusedInLease,
        Mark::PreVoteRefusedInLease,
        Mark::PreVoteRefusedStaleLog,
        Mark::VoteRefusedStaleLog,
        Mark::PreVoteLost,
        Mark::SplitVote,
        Mark::LeaderDeposed,
        Mark::CheckQuorumStepDown,
        Mark::LeaderWithUncommittedOldEntries,
        Mark::CommittedOldTermEntries,
        Mark::StaleAppendEntries,
        Mark::AppendMismatch,
        Mark::TruncatedConflict,
        Mark::RefusedTruncatingCommitted,
        Mark::CatchUpInBatches,
        Mark::BatchCutByBytes,
        Mark::ProposalTooLarge,
        Mark::StaleAppendResponse,
        Mark::RestartAfterVote,
        Mark::TimeoutNowIgnored,
    ];

    /// The mark's stable name, like `stale-vote-response`.
    pub fn name(self) -> &'static str {
        match self {
            Mark::StaleVoteResponse => "stale-vote-response",
            Mark::DuplicateVoteResponse => "duplicate-vote-response",
            Mark::VoteIgnoredInLease => "vote-ignored-in-lease",
            Mark::VoteRefusedInLease => "vote-refused-in-lease",
            Mark::PreVoteRefusedInLease => "pre-vote-refused-in-lease",
            Mark::PreVoteRefusedStaleLog => "pre-vote-refused-stale-log",
            Mark::VoteRefusedStaleLog => "vote-refused-stale-log",
            Mark::PreVoteLost => "pre-vote-lost",
            Mark::SplitVote => "split-vote",
            Mark::LeaderDeposed => "leader-deposed",
            Mark::CheckQuorumStepDown => "check-quorum-step-down",
            Mark::LeaderWithUncommittedOldEntries => "leader-with-uncommitted-old-entries",
            Mark::CommittedOldTermEntries => "committed-old-term-entries",
            Mark::StaleAppendEntries => "stale-append-entries",
            Mark::AppendMismatch => "append-mismatch",
            Mark::TruncatedConflict => "truncated-conflict",
            Mark::RefusedTruncatingCommitted => "refused-truncating-committed",
            Mark::CatchUpInBatches => "catch-up-in-batches",
            Mark::BatchCutByBytes => "batch-cut-by-bytes",
            Mark::ProposalTooLarge => "proposal-too-large",
            Mark::StaleAppendResponse => "stale-append-response",
            Mark::RestartAfterVote => "restart-after-vote",
            Mark::TimeoutNowIgnored => "timeout-now-ignored",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_all_is_complete() {
        let names: std::collections::BTreeSet<_> = Mark::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(names.len(), Mark::ALL.len());
        assert_eq!(Mark::ALL.len(), 23);
    }
}
