//! Application payloads of real sizes: proposals are bounded by what one AppendEntries carries,
//! and batches are cut by bytes as well as by count, so that a follower far behind a log of
//! large entries catches up (raft-rs's `max_size_per_msg`, etcd's `MaxSizePerMsg`).

use super::*;
use crate::testnet::TestNet;
use crate::{ProposeError, Role, ENTRY_OVERHEAD_BYTES};

fn appended(messages: &[Message], to: u64) -> Vec<Entry> {
    messages
        .iter()
        .filter(|m| m.to == NodeId(to))
        .flat_map(|m| match &m.body {
            Body::AppendEntries { entries, .. } => entries.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// A proposal that could never be sent is refused, not accepted and then stuck; the largest
/// one that fits is accepted.
#[test]
fn a_proposal_larger_than_one_message_is_refused_and_changes_nothing() {
    let config = Config { max_bytes_per_message: 4096, ..no_pre_vote() };
    let max = config.max_proposal_bytes();
    let mut r = node(3, config, 1, None, &[]);
    elect(&mut r, 3, LATER);
    r.step(append_ok(2, 2, 1, LATER), LATER).unwrap();
    let _ = take(&mut r);
    let before = r.entries().len();
    let err = r.propose(vec![1; max + 1], LATER + 1).unwrap_err();
    assert_eq!(err, ProposeError::TooLarge { bytes: max + 1, max });
    assert!(err.to_string().contains("larger than the 4064 bytes"), "{err}");
    assert_eq!(r.entries().len(), before, "a refused proposal leaves no entry");
    let after = take(&mut r);
    assert!(after.log_write.is_none(), "{after:?}");
    assert_eq!(r.propose(vec![1; max], LATER + 2), Ok(before as u64 + 1));
    let to_2 = appended(&sent(&take(&mut r)), 2);
    assert_eq!(to_2.len(), 1, "the largest proposal goes out in one message");
    assert_eq!(to_2[0].size_bytes(), 4096);
}

/// A follower 100 entries of 1 KB behind gets them in batches within the byte budget, each
/// acknowledged batch followed by the next: 64 such entries (the count limit) would be 67 KB,
/// more than one datagram.
#[test]
fn a_follower_behind_large_entries_gets_batches_within_the_byte_budget() {
    let config = no_pre_vote();
    let budget = config.max_bytes_per_message;
    let mut r = node(3, config, 1, None, &[]);
    elect(&mut r, 3, LATER);
    for i in 0..100u8 {
        r.propose(vec![i; 1024], LATER + 1).unwrap();
    }
    let _ = take(&mut r);
    let last = r.entries().len() as u64;
    let refuse = Body::AppendEntriesResponse { success: false, index: 0, sent_at_ms: LATER };
    r.step(msg(2, 2, refuse), LATER + 2).unwrap();
    let mut received = 0;
    let mut batches = 0;
    while received < last {
        let batch = appended(&sent(&take(&mut r)), 2);
        let bytes: usize = batch.iter().map(Entry::size_bytes).sum();
        assert!(!batch.is_empty() && bytes <= budget, "batch {batches}: {bytes} bytes");
        assert_eq!(batch[0].index, received + 1, "batches follow each other");
        received = batch.last().unwrap().index;
        batches += 1;
        r.step(append_ok(2, 2, received, LATER + 2), LATER + 3).unwrap();
    }
    assert_eq!(batches, (last as usize).div_ceil(budget / (1024 + ENTRY_OVERHEAD_BYTES)));
    assert_eq!(r.status().progress[&NodeId(2)].match_index, last);
}

/// The user's scenario on the in-memory network: a follower cut off while the leader takes a
/// hundred 1 KB writes, then healed; the other follower and the leader crash, and the two
/// that remain (one of them the laggard) must elect a leader holding every write.
#[test]
fn a_lagging_follower_catches_up_and_can_lead() {
    for seed in 0..10 {
        let mut net = TestNet::new(3, Config::default(), seed);
        net.run_until(3_000, |net| net.stable_leader().is_some()).expect("a first leader");
        let leader = net.stable_leader().unwrap();
        let laggard = (leader + 1) % 3;
        net.isolate(laggard);
        for i in 0..100u8 {
            assert!(net.propose(leader, &[i; 1024]), "seed {seed}: write {i} refused");
            net.run_for(2);
        }
        net.run_for(500);
        net.heal();
        net.run_for(1_000);
        let leader_log = net.node(leader).entries().len();
        assert_eq!(net.node(laggard).entries().len(), leader_log, "seed {seed}: caught up");
        let other = (leader + 2) % 3;
        net.crash(other);
        net.run_for(500);
        net.crash(leader);
        net.restart(other);
        let took = net.run_until(3_000, |net| net.stable_leader().is_some());
        assert!(took.is_some(), "seed {seed}: no leader after the crashes");
        let new_leader = net.stable_leader().unwrap();
        assert!(net.node(new_leader).entries().len() >= leader_log, "seed {seed}");
        assert_eq!(net.node(new_leader).role(), Role::Leader);
        net.assert_election_safety();
    }
}

/// Two AppendEntries handled before one write (a driver that takes a backlog in one turn):
/// the first, of term 17, appends entries 3 to 5; the second, of a new leader of term 18,
/// truncates from 3. The answer to the first must not claim entries 3 to 5, which the write
/// will not hold (chaos found the old leader counting them towards a commit, `ack-durable`).
#[test]
fn an_answer_waiting_for_a_write_that_a_truncation_undid_is_withdrawn() {
    let mut r = node(3, no_pre_vote(), 17, None, &[1, 1]);
    let _ = take(&mut r);
    r.step(append(2, 17, (2, 1), &[(3, 17), (4, 17), (5, 17)], 0), LATER).unwrap();
    r.step(append(3, 18, (2, 1), &[(3, 18)], 0), LATER).unwrap();
    let ready = take(&mut r);
    let write = ready.log_write.as_ref().expect("a write");
    assert_eq!(write.first_index, 3);
    let answers: Vec<(u64, bool, u64)> = sent(&ready)
        .iter()
        .filter_map(|m| match m.body {
            Body::AppendEntriesResponse { success, index, .. } => Some((m.to.0, success, index)),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [(3, true, 3)], "only the new leader's answer, covering entry 3");
}
