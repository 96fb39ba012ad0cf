//! `propose`: a client write sent to a node. Not a fault of the world but a client action;
//! it applies only to a node that runs and is not paused. A write of `size` bytes is `value`
//! padded to that size, so that a schedule can ask for realistic payloads without carrying
//! them: what one AppendEntries carries is bounded in bytes, and a write larger than that is
//! refused by the leader (a `refused` event in the history), never accepted and then stuck.

use super::draw::node_ref;
use super::{index, Conditions, Fault, Heal, Isolate, Shape};
use crate::schedule::{NodeRef, ScheduleError};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// The largest write a schedule may ask for, bytes: well past what any core's message
/// carries (so that refusals can be tested), small enough for a simulated disk.
pub const MAX_PROPOSE_BYTES: usize = 1024 * 1024;

/// A client write sent to the node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Propose {
    /// The node.
    pub node: NodeRef,
    /// What to write (its start, when `size` is given).
    pub value: String,
    /// The write's size, bytes: `value` padded with `.` to this length (at least `value`'s
    /// own length, at most [`MAX_PROPOSE_BYTES`]). Absent: `value` as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
}

impl Propose {
    /// A write of `value` as it is.
    pub fn new(node: NodeRef, value: impl Into<String>) -> Propose {
        Propose { node, value: value.into(), size: None }
    }

    /// The bytes the client sends.
    pub fn payload(&self) -> Vec<u8> {
        let mut bytes = self.value.as_bytes().to_vec();
        if let Some(size) = self.size {
            bytes.resize(size.max(bytes.len()), b'.');
        }
        bytes
    }
}

/// Payload sizes the generator draws, bytes: empty, typical application writes, large
/// ones, ones near the default per-message limit (`Config::max_proposal_bytes`, 48 KiB less
/// the entry overhead) and ones over it, which the leader must refuse.
fn payload_size() -> impl Strategy<Value = Option<usize>> {
    let near_limit = ballot_core::Config::default().max_proposal_bytes();
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(0)),
        3 => (16usize..=1024).prop_map(Some),
        2 => (4096usize..=16_384).prop_map(Some),
        1 => (near_limit - 64..=near_limit).prop_map(Some),
        1 => (near_limit + 1..=72 * 1024).prop_map(Some),
    ]
}

/// A size for the entries of a long log, bytes: small to a couple of KB, so that a log of
/// a few hundred entries is one the simulated disks rewrite quickly.
fn long_log_size() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![Just(None), (256usize..=2048).prop_map(Some)]
}

impl Fault for Propose {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        let Some(size) = self.size else { return Ok(()) };
        let field = format!("{at}.size");
        if size < self.value.len() {
            let problem = format!("{size} bytes is shorter than the value's {}", self.value.len());
            return Err(ScheduleError::new(field, problem));
        }
        if size > MAX_PROPOSE_BYTES {
            let problem = format!("{size} bytes is more than {MAX_PROPOSE_BYTES} (1 MiB)");
            return Err(ScheduleError::new(field, problem));
        }
        Ok(())
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let n = index(self.node);
        c.up[n] && !c.paused[n]
    }

    /// The write with its value alone (a smaller payload), when it is padded.
    fn simpler(&self) -> Vec<Propose> {
        match self.size {
            Some(size) if size > self.value.len() => {
                let half = (size / 2).max(self.value.len());
                let mut simpler = vec![Propose { size: None, ..self.clone() }];
                if half > self.value.len() {
                    simpler.push(Propose { size: Some(half), ..self.clone() });
                }
                simpler
            }
            _ => Vec::new(),
        }
    }

    /// A burst of writes to one node, of one drawn size (empty, typical, large, near the
    /// per-message limit or over it); a long log: a follower cut off while the leader takes
    /// more writes than one AppendEntries carries, then healed, so that it must catch up over
    /// several rounds; and large writes in a burst while a follower lags, so that its
    /// catch-up is cut by bytes rather than by count.
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        // A size below the value's own length (an empty write) carries no value at all.
        let write = |node, value: String, size: Option<usize>| {
            let value = if size.is_some_and(|s| s < value.len()) { String::new() } else { value };
            Propose { node, value, size }.into()
        };
        vec![
            (node_ref(n), 1u64..8, 10u64..120, any::<u16>(), payload_size())
                .prop_map(move |(node, count, gap, tag, size)| {
                    (0..count)
                        .map(|i| (i * gap, write(node, format!("v{tag}-{i}"), size)))
                        .collect()
                })
                .boxed(),
            (0..n, 70u64..200, any::<u16>(), long_log_size())
                .prop_map(move |(k, count, tag, size)| {
                    let mut shape: Shape = vec![(0, Isolate { node: NodeRef::Index(k) }.into())];
                    shape.extend((0..count).map(|i| {
                        (10 + 2 * i, write(NodeRef::Leader, format!("l{tag}-{i}"), size))
                    }));
                    shape.push((20 + 2 * count, Heal {}.into()));
                    shape
                })
                .boxed(),
            (0..n, 5u64..20, any::<u16>(), 4096usize..=40_960)
                .prop_map(move |(k, count, tag, size)| {
                    let mut shape: Shape = vec![(0, Isolate { node: NodeRef::Index(k) }.into())];
                    shape.extend((0..count).map(|i| {
                        (10 + 5 * i, write(NodeRef::Leader, format!("b{tag}-{i}"), Some(size)))
                    }));
                    shape.push((100 + 5 * count, Heal {}.into()));
                    shape
                })
                .boxed(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sized_write_is_its_value_padded_and_shrinks_to_the_value() {
        let p = Propose { node: NodeRef::Index(0), value: "v1".into(), size: Some(8) };
        assert_eq!(p.payload(), b"v1......");
        assert_eq!(Propose::new(NodeRef::Leader, "abc").payload(), b"abc");
        let simpler: Vec<Option<usize>> = p.simpler().iter().map(|s| s.size).collect();
        assert_eq!(simpler, [None, Some(4)]);
        assert!(Propose::new(NodeRef::Leader, "abc").simpler().is_empty());
    }

    #[test]
    fn sizes_out_of_range_are_bad_input() {
        let at =
            |size| Propose { node: NodeRef::Index(0), value: "value".into(), size: Some(size) };
        assert!(at(5).validate("steps[0]").is_ok());
        assert!(at(MAX_PROPOSE_BYTES).validate("steps[0]").is_ok());
        let short = at(4).validate("steps[0]").unwrap_err();
        assert_eq!(short.field, "steps[0].size");
        assert!(short.problem.contains("shorter than the value's 5"), "{short}");
        let huge = at(MAX_PROPOSE_BYTES + 1).validate("steps[3]").unwrap_err();
        assert!(huge.problem.contains("1 MiB"), "{huge}");
    }
}
