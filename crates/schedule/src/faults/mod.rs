//! Every fault in one file: its schedule fields and validation, how it changes the world's
//! [`Conditions`], its label on the timeline and how the shrinker simplifies it. Adding a
//! fault is one file here, one line in `faults!`'s table below, and its shapes (what the
//! generator draws with it) in the harness's `explore::shapes`, which keeps proptest out of
//! the format.
//!
//! The same [`Op::apply`] runs twice: in the live cluster (which then makes the world match
//! the new conditions) and when the judge's views replay a history, so what a fault means is
//! written once.

use crate::{NodeRef, ScheduleError};
use serde::{Deserialize, Serialize};

mod clock;
mod conditions;
mod corrupt;
mod crash;
mod cut;
mod disk;
mod duplicate;
mod heal;
mod hold;
mod isolate;
mod latency;
mod loss;
mod partition;
mod partition_oneway;
mod pause;
mod power_loss;
mod propose;
mod release;
mod restart;
mod resume;
mod transfer;

pub use clock::Clock;
pub use conditions::{Conditions, Timing};
pub use corrupt::{Corrupt, Damage};
pub use crash::Crash;
pub use cut::Cut;
pub use disk::Disk;
pub use duplicate::Duplicate;
pub use heal::Heal;
pub use hold::Hold;
pub use isolate::Isolate;
pub(crate) use latency::check_latency;
pub use latency::Latency;
pub use loss::Loss;
pub use partition::Partition;
pub use partition_oneway::PartitionOneway;
pub use pause::Pause;
pub use power_loss::PowerLoss;
pub use propose::Propose;
pub use release::Release;
pub use restart::Restart;
pub use resume::Resume;
pub use transfer::Transfer;

/// What a fault is: everything about it, in its own file.
pub trait Fault: Clone + Sized {
    /// Every node it names, with the field that names it (`node`, `groups[1][0]`, ...).
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        Vec::new()
    }
    /// Checks what serde cannot (ranges, distinct nodes); `at` is the step's path.
    fn validate(&self, _at: &str) -> Result<(), ScheduleError> {
        Ok(())
    }
    /// Changes the conditions (nodes named by index); `false` when it cannot apply now.
    fn apply(&self, c: &mut Conditions) -> bool;
    /// Simpler variants of itself, for the shrinker (a gentler rate, fewer groups).
    fn simpler(&self) -> Vec<Self> {
        Vec::new()
    }
    /// The fault in a cluster without node `gone` (the shrinker drops nodes): `None` when it
    /// names that node.
    fn without_node(&self, gone: NodeRef) -> Option<Self> {
        let named = self.clone().nodes_mut().iter().any(|(_, r)| **r == gone);
        (!named).then(|| self.clone())
    }
}

/// Declares the table of faults: the `Op` enum of the schedule format and its dispatch.
macro_rules! faults {
    ($($variant:ident($fault:ty) = $name:literal,)*) => {
        /// What a step does (SPEC.md's table); the fields are the fault's own.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "op", rename_all = "snake_case")]
        pub enum Op {
            $(
                #[doc = concat!("`", $name, "`: see [`", stringify!($fault), "`].")]
                $variant($fault),
            )*
        }

        impl Op {
            /// The op's name in schedule files.
            pub fn name(&self) -> &'static str {
                match self { $(Op::$variant(_) => $name,)* }
            }

            /// Every node this step names, with the field naming it.
            pub fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
                match self { $(Op::$variant(f) => f.nodes_mut(),)* }
            }

            /// Checks the step's own fields; `at` is its path (`steps[3]`).
            pub fn validate(&self, at: &str) -> Result<(), ScheduleError> {
                match self { $(Op::$variant(f) => f.validate(at),)* }
            }

            /// Applies the (resolved) step to `c`; `false` when it cannot apply now.
            pub fn apply(&self, c: &mut Conditions) -> bool {
                match self { $(Op::$variant(f) => f.apply(c),)* }
            }

            /// Simpler variants of this step, for the shrinker.
            pub fn simpler(&self) -> Vec<Op> {
                match self { $(Op::$variant(f) => f.simpler().into_iter().map(Op::$variant).collect(),)* }
            }

            /// The step in a cluster without node `gone`, if it still means something there.
            pub fn without_node(&self, gone: NodeRef) -> Option<Op> {
                match self { $(Op::$variant(f) => f.without_node(gone).map(Op::$variant),)* }
            }
        }

        $(impl From<$fault> for Op {
            fn from(f: $fault) -> Op {
                Op::$variant(f)
            }
        })*
    };
}

faults! {
    Crash(Crash) = "crash",
    Restart(Restart) = "restart",
    Partition(Partition) = "partition",
    PartitionOneway(PartitionOneway) = "partition_oneway",
    Isolate(Isolate) = "isolate",
    Cut(Cut) = "cut",
    Heal(Heal) = "heal",
    Pause(Pause) = "pause",
    Resume(Resume) = "resume",
    Loss(Loss) = "loss",
    Latency(Latency) = "latency",
    Clock(Clock) = "clock",
    Propose(Propose) = "propose",
    Duplicate(Duplicate) = "duplicate",
    Hold(Hold) = "hold",
    Release(Release) = "release",
    Transfer(Transfer) = "transfer",
    Disk(Disk) = "disk",
    PowerLoss(PowerLoss) = "power_loss",
    Corrupt(Corrupt) = "corrupt",
}

impl Op {
    /// Every node this step names.
    pub fn node_refs(&self) -> Vec<NodeRef> {
        self.clone().nodes_mut().into_iter().map(|(_, r)| *r).collect()
    }

    /// The same step with every node reference passed through `f`.
    pub fn map_nodes(&self, mut f: impl FnMut(NodeRef) -> NodeRef) -> Op {
        let mut op = self.clone();
        for (_, r) in op.nodes_mut() {
            *r = f(*r);
        }
        op
    }

    /// A short text for timelines and reports: `isolate 2`, `partition [[0],[1,2]]`.
    pub fn label(&self) -> String {
        let json = serde_json::to_value(self).unwrap_or_default();
        let rest: Vec<String> = json
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "op")
            .map(|(_, v)| v.to_string().replace('"', ""))
            .collect();
        format!("{} {}", self.name(), rest.join(" ")).trim_end().to_string()
    }
}

/// The node index of a resolved reference (the nemesis resolves names before applying).
pub fn index(node: NodeRef) -> usize {
    match node {
        NodeRef::Index(i) => i,
        other => unreachable!("{other} is resolved before a step applies"),
    }
}

/// A rate checked to be in `0..1` (shared by loss and duplication).
pub(crate) fn check_rate(field: &str, rate: f64) -> Result<(), ScheduleError> {
    if (0.0..1.0).contains(&rate) {
        Ok(())
    } else {
        Err(ScheduleError::new(field, format!("rate {rate} is outside 0..1")))
    }
}

/// A link needs two different nodes (checked when both are written as indexes).
pub(crate) fn distinct(at: &str, a: NodeRef, b: NodeRef) -> Result<(), ScheduleError> {
    if a == b && matches!(a, NodeRef::Index(_)) {
        return Err(ScheduleError::new(
            at,
            format!("a link needs two different nodes, got {a} twice"),
        ));
    }
    Ok(())
}
