//! `corrupt`: damage a stopped node's files at rest, as a failing disk or a careless copy
//! does (Jepsen's file-corruption faults): one flipped bit, or a file cut short, in a file the
//! node keeps its state or log in. The node must refuse to start on what it cannot trust,
//! never serve what it read wrong; the cluster keeps every promise with that node down, and a
//! node whose disk was damaged owes no recovery (property `recovers`).

use super::{index, Conditions, Fault};
use crate::NodeRef;
use serde::{Deserialize, Serialize};

/// What damage is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Damage {
    /// One bit of one byte of one file flipped.
    Bitflip,
    /// One file cut at a byte inside it.
    Truncate,
}

impl Damage {
    /// Damages one of `files` (a name, and its bytes), drawn from `rng` among those that are
    /// not empty: the file and its bytes after, or `None` if every one is empty.
    pub fn apply_to_one<T>(
        self,
        files: Vec<(T, Vec<u8>)>,
        rng: &mut impl rand::Rng,
    ) -> Option<(T, Vec<u8>)> {
        let mut files: Vec<_> = files.into_iter().filter(|(_, bytes)| !bytes.is_empty()).collect();
        if files.is_empty() {
            return None;
        }
        let (file, mut bytes) = files.swap_remove(rng.random_range(0..files.len()));
        self.apply(&mut bytes, rng);
        Some((file, bytes))
    }

    /// Does the damage to a file's `bytes` (not empty), drawing where from `rng`.
    pub fn apply(self, bytes: &mut Vec<u8>, rng: &mut impl rand::Rng) {
        match self {
            Damage::Bitflip => {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            Damage::Truncate => bytes.truncate(rng.random_range(0..bytes.len())),
        }
    }
}

/// Damage the stopped node's files at rest (skipped while it runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corrupt {
    /// The node.
    pub node: NodeRef,
    /// The damage.
    pub what: Damage,
}

impl Fault for Corrupt {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let n = index(self.node);
        if c.up[n] {
            return false;
        }
        c.corrupted[n] = true;
        true
    }
}
