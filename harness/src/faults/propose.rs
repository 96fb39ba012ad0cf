//! `propose`: a client write sent to a node. Not a fault of the world but a client action;
//! it applies only to a node that runs and is not paused. A write of `size` bytes is `value`
//! padded to that size, so that a schedule can ask for realistic payloads without carrying
//! them: what one AppendEntries carries is bounded in bytes, and a write larger than that is
//! refused by the leader (a `refused` event in the history), never accepted and then stuck.

use super::draw::node_ref;
use super::{index, Conditions, Fault, Heal, Isolate, Op, Shape};
use crate::schedule::{NodeRef, ScheduleError};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// The largest write a schedule may ask for, bytes: well past what any core's message
/// carries (so that refusals can be tested), small enough for a simulated disk.
pub const MAX_PROPOSE_BYTES: usize = 1024 * 1024;

/// The most writes one `propose` step may send (its `count`).
pub const MAX_BURST: u64 = 10_000;

/// A client write sent to the node, or a burst of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Propose {
    /// The node (a name is resolved again for each write of a burst).
    pub node: NodeRef,
    /// What to write (its start, when `size` is given).
    pub value: String,
    /// The write's size, bytes: `value` padded with `.` to this length (at least `value`'s
    /// own length, at most `MAX_PROPOSE_BYTES`). Absent: `value` as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    /// A burst: this many writes (1 to `MAX_BURST`), `value-0`, `value-1`, ..., each of
    /// `size`, sent `every_ms` apart. Absent: the one write `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Time between the writes of a burst, milliseconds (absent: all at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_ms: Option<u64>,
}

impl Propose {
    /// A write of `value` as it is.
    pub fn new(node: NodeRef, value: impl Into<String>) -> Propose {
        Propose { node, value: value.into(), size: None, count: None, every_ms: None }
    }

    /// A burst of `count` writes of `size` bytes, `every_ms` apart.
    pub fn burst(
        node: NodeRef,
        value: impl Into<String>,
        size: Option<usize>,
        count: u64,
        every_ms: u64,
    ) -> Propose {
        let every_ms = (every_ms > 0 && count > 1).then_some(every_ms);
        Propose { node, value: value.into(), size, count: Some(count), every_ms }
    }

    /// How long a burst lasts, milliseconds: from its first write to its last.
    pub fn span_ms(&self) -> u64 {
        self.count.unwrap_or(1).saturating_sub(1).saturating_mul(self.every_ms.unwrap_or(0))
    }

    /// Each write of the step, with its offset from the step's time (milliseconds): one for
    /// a plain write, `count` for a burst.
    pub fn writes(&self) -> impl Iterator<Item = (u64, Propose)> + '_ {
        let every = self.every_ms.unwrap_or(0);
        let one = |value: String| Propose { value, count: None, every_ms: None, ..self.clone() };
        let burst = self
            .count
            .map(|count| (0..count).map(move |i| (i * every, one(format!("{}-{i}", self.value)))));
        let single = burst.is_none().then(|| (0, one(self.value.clone())));
        burst.into_iter().flatten().chain(single)
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
        if let Some(count) = self.count {
            if !(1..=MAX_BURST).contains(&count) {
                let problem = format!("{count} writes; a burst has 1 to {MAX_BURST}");
                return Err(ScheduleError::new(format!("{at}.count"), problem));
            }
        } else if self.every_ms.is_some() {
            let problem = "an interval needs a burst: give `count` too";
            return Err(ScheduleError::new(format!("{at}.every_ms"), problem));
        }
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

    /// A burst of half as many writes, or of all at once; the write with its value alone (a
    /// smaller payload), when it is padded, or half as large.
    fn simpler(&self) -> Vec<Propose> {
        let mut simpler = Vec::new();
        if let Some(count) = self.count.filter(|&c| c > 1) {
            simpler.push(Propose { count: Some(count / 2), ..self.clone() });
        }
        if self.every_ms.is_some() {
            simpler.push(Propose { every_ms: None, ..self.clone() });
        }
        if let Some(size) = self.size.filter(|&s| s > self.value.len()) {
            simpler.push(Propose { size: None, ..self.clone() });
            let half = (size / 2).max(self.value.len());
            if half > self.value.len() {
                simpler.push(Propose { size: Some(half), ..self.clone() });
            }
        }
        simpler
    }

    /// A burst of writes to one node, of one drawn size (empty, typical, large, near the
    /// per-message limit or over it); a long log: a follower cut off while the leader takes
    /// more writes than one AppendEntries carries, then healed, so that it must catch up over
    /// several rounds; and large writes in a burst while a follower lags, so that its
    /// catch-up is cut by bytes rather than by count.
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        // A size below the value's own length (an empty write) carries no value at all.
        let burst = |node, value: String, size: Option<usize>, count, every| {
            let value = if size.is_some_and(|s| s < value.len()) { String::new() } else { value };
            Op::from(Propose::burst(node, value, size, count, every))
        };
        vec![
            (node_ref(n), 1u64..8, 10u64..120, any::<u16>(), payload_size())
                .prop_map(move |(node, count, gap, tag, size)| {
                    vec![(0, burst(node, format!("v{tag}"), size, count, gap))]
                })
                .boxed(),
            (0..n, 70u64..200, any::<u16>(), long_log_size())
                .prop_map(move |(k, count, tag, size)| {
                    vec![
                        (0, Isolate { node: NodeRef::Index(k) }.into()),
                        (10, burst(NodeRef::Leader, format!("l{tag}"), size, count, 2)),
                        (20 + 2 * count, Heal {}.into()),
                    ]
                })
                .boxed(),
            (0..n, 5u64..20, any::<u16>(), 4096usize..=40_960)
                .prop_map(move |(k, count, tag, size)| {
                    vec![
                        (0, Isolate { node: NodeRef::Index(k) }.into()),
                        (10, burst(NodeRef::Leader, format!("b{tag}"), Some(size), count, 5)),
                        (100 + 5 * count, Heal {}.into()),
                    ]
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
        let p = Propose { size: Some(8), ..Propose::new(NodeRef::Index(0), "v1") };
        assert_eq!(p.payload(), b"v1......");
        assert_eq!(Propose::new(NodeRef::Leader, "abc").payload(), b"abc");
        let simpler: Vec<Option<usize>> = p.simpler().iter().map(|s| s.size).collect();
        assert_eq!(simpler, [None, Some(4)]);
        assert!(Propose::new(NodeRef::Leader, "abc").simpler().is_empty());
    }

    #[test]
    fn a_burst_is_count_writes_every_ms_apart_and_shrinks_by_halves() {
        let burst = Propose::burst(NodeRef::Leader, "w", Some(16), 3, 5);
        let writes: Vec<(u64, String)> =
            burst.writes().map(|(at, w)| (at, String::from_utf8(w.payload()).unwrap())).collect();
        let padded = |v: &str| format!("{v:.<16}");
        assert_eq!(writes, [(0, padded("w-0")), (5, padded("w-1")), (10, padded("w-2"))]);
        assert_eq!(burst.span_ms(), 10);
        assert!(burst.writes().all(|(_, w)| w.count.is_none() && w.every_ms.is_none()));
        let counts: Vec<_> = burst.simpler().iter().map(|p| (p.count, p.every_ms)).collect();
        assert_eq!(counts[..2], [(Some(1), Some(5)), (Some(3), None)]);
        let one = Propose::new(NodeRef::Index(1), "x");
        assert_eq!(
            one.writes().map(|(at, w)| (at, w.value)).collect::<Vec<_>>(),
            [(0, "x".into())]
        );
        assert_eq!(one.span_ms(), 0);
    }

    #[test]
    fn bursts_out_of_range_are_bad_input() {
        let none = Propose { count: Some(0), ..Propose::new(NodeRef::Leader, "w") };
        let err = none.validate("steps[2]").unwrap_err();
        assert_eq!(err.field, "steps[2].count");
        let huge = Propose { count: Some(MAX_BURST + 1), ..Propose::new(NodeRef::Leader, "w") };
        assert!(huge.validate("steps[0]").is_err());
        let lone_interval = Propose { every_ms: Some(5), ..Propose::new(NodeRef::Leader, "w") };
        let err = lone_interval.validate("steps[1]").unwrap_err();
        assert_eq!(err.field, "steps[1].every_ms");
        assert!(err.problem.contains("count"), "{err}");
    }

    #[test]
    fn sizes_out_of_range_are_bad_input() {
        let at = |size| Propose { size: Some(size), ..Propose::new(NodeRef::Index(0), "value") };
        assert!(at(5).validate("steps[0]").is_ok());
        assert!(at(MAX_PROPOSE_BYTES).validate("steps[0]").is_ok());
        let short = at(4).validate("steps[0]").unwrap_err();
        assert_eq!(short.field, "steps[0].size");
        assert!(short.problem.contains("shorter than the value's 5"), "{short}");
        let huge = at(MAX_PROPOSE_BYTES + 1).validate("steps[3]").unwrap_err();
        assert!(huge.problem.contains("1 MiB"), "{huge}");
    }
}
