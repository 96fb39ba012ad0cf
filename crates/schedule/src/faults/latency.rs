//! `latency`: the one-way message latency from now on.

use super::{Conditions, Fault};
use crate::ScheduleError;
use serde::{Deserialize, Serialize};

/// The largest one-way latency a schedule may ask for, milliseconds.
pub const MAX_LATENCY_MS: u64 = 10_000;

/// Message latency from now on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// One-way `[min, max]`, milliseconds.
    pub ms: [u64; 2],
}

/// Checks a latency range (also the baseline's).
pub(crate) fn check_latency(field: &str, [min, max]: [u64; 2]) -> Result<(), ScheduleError> {
    if min > max {
        return Err(ScheduleError::new(field, format!("min {min} exceeds max {max}")));
    }
    if max > MAX_LATENCY_MS {
        return Err(ScheduleError::new(field, format!("max {max} ms is more than 10 s")));
    }
    Ok(())
}

impl Fault for Latency {
    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        check_latency(&format!("{at}.ms"), self.ms)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        c.latency_ms = self.ms;
        true
    }

    /// Half the latency.
    fn simpler(&self) -> Vec<Latency> {
        let [min, max] = self.ms;
        if max == 0 {
            return Vec::new();
        }
        vec![Latency { ms: [min / 2, max / 2] }]
    }
}
