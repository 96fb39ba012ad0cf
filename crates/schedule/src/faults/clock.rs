//! `clock`: a node's clock runs at a rate of real time (drift, or a clock that jumps ahead).

use super::{index, Conditions, Fault};
use crate::{NodeRef, ScheduleError};
use serde::{Deserialize, Serialize};

/// The node's clock runs at `rate` × real time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    /// The node.
    pub node: NodeRef,
    /// Clock rate (1.0 is exact), in [0.01, 100].
    pub rate: f64,
}

impl Fault for Clock {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        // The bounds a real node's clock takes (`ballot node`'s `clock_rate`), so that a
        // schedule the simulator runs also runs on processes.
        let rate = self.rate;
        if !(ballot_core::limits::MIN_CLOCK_RATE..=ballot_core::limits::MAX_CLOCK_RATE)
            .contains(&rate)
        {
            return Err(ScheduleError::new(
                format!("{at}.rate"),
                format!(
                    "clock rate {rate} must be in [{}, {}]",
                    ballot_core::limits::MIN_CLOCK_RATE,
                    ballot_core::limits::MAX_CLOCK_RATE
                ),
            ));
        }
        Ok(())
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        c.clock_rates[index(self.node)] = self.rate;
        true
    }

    /// An exact clock.
    fn simpler(&self) -> Vec<Clock> {
        if self.rate == 1.0 {
            return Vec::new();
        }
        vec![Clock { rate: 1.0, ..self.clone() }]
    }
}
