//! `heal`: repair every link, end pauses, restore baseline loss and latency.

use super::{Conditions, Fault};
use serde::{Deserialize, Serialize};

/// Repair every link, end every pause, restore the baseline loss and latency, stop
/// duplication. Crashed nodes stay crashed and clocks keep their rates. (Drawn at the end of
/// most shapes.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heal {}

impl Fault for Heal {
    fn apply(&self, c: &mut Conditions) -> bool {
        c.heal();
        true
    }
}
