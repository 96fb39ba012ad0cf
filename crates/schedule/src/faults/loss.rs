//! `loss`: drop a share of messages on every link.

use super::{Conditions, Fault};
use crate::ScheduleError;
use serde::{Deserialize, Serialize};

/// Drop this share of messages on every link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loss {
    /// Probability per message, 0..1.
    pub rate: f64,
}

impl Fault for Loss {
    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        super::check_rate(&format!("{at}.rate"), self.rate)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        c.loss = self.rate;
        true
    }

    /// Half the rate, down to nothing.
    fn simpler(&self) -> Vec<Loss> {
        if self.rate == 0.0 {
            return Vec::new();
        }
        vec![Loss { rate: 0.0 }, Loss { rate: self.rate / 2.0 }]
    }
}
