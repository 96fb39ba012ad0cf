//! `clock`: a node's clock runs at a rate of real time (drift, or a clock that jumps ahead).

use super::{index, Conditions, Fault, Shape};
use crate::schedule::{NodeRef, ScheduleError};
use proptest::prelude::*;
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
        if !(ballot_node::MIN_CLOCK_RATE..=ballot_node::MAX_CLOCK_RATE).contains(&rate) {
            return Err(ScheduleError::new(
                format!("{at}.rate"),
                format!(
                    "clock rate {rate} must be in [{}, {}]",
                    ballot_node::MIN_CLOCK_RATE,
                    ballot_node::MAX_CLOCK_RATE
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

    /// Slow, slightly off and fast clocks; a drift lasts until the run's end (or the liveness
    /// phase, which sets every clock back to 1.0).
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        let rate = prop_oneof![Just(0.5), Just(0.98), Just(1.02), Just(1.5), Just(3.0)];
        vec![(0..n, rate)
            .prop_map(|(a, rate)| vec![(0, Clock { node: NodeRef::Index(a), rate }.into())])
            .boxed()]
    }
}
