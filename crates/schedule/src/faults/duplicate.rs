//! `duplicate`: deliver a share of messages twice (an extension of SPEC.md's table).

use super::{Conditions, Fault};
use crate::ScheduleError;
use serde::{Deserialize, Serialize};

/// Deliver this share of messages twice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Duplicate {
    /// Probability per message, 0..1.
    pub rate: f64,
}

impl Fault for Duplicate {
    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        super::check_rate(&format!("{at}.rate"), self.rate)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        c.duplicate = self.rate;
        true
    }

    fn simpler(&self) -> Vec<Duplicate> {
        if self.rate == 0.0 {
            return Vec::new();
        }
        vec![Duplicate { rate: self.rate / 2.0 }]
    }
}
