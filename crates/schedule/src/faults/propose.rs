//! `propose`: a client write sent to a node. Not a fault of the world but a client action;
//! it applies only to a node that runs and is not paused. A write of `size` bytes is `value`
//! padded to that size, so that a schedule can ask for realistic payloads without carrying
//! them: what one AppendEntries carries is bounded in bytes, and a write larger than that is
//! refused by the leader (a `refused` event in the history), never accepted and then stuck.

use super::{index, Conditions, Fault};
use crate::{NodeRef, ScheduleError};
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
