//! `duplicate`: deliver a share of messages twice (an extension of SPEC.md's table).

use super::draw::{check_rate, length};
use super::{Conditions, Fault, Heal, Shape};
use crate::schedule::ScheduleError;
use proptest::prelude::*;
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
        check_rate(&format!("{at}.rate"), self.rate)
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

    fn shapes(_n: usize) -> Vec<BoxedStrategy<Shape>> {
        vec![(prop_oneof![Just(0.1), Just(0.5)], length())
            .prop_map(|(rate, len)| vec![(0, Duplicate { rate }.into()), (len, Heal {}.into())])
            .boxed()]
    }
}
