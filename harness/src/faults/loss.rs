//! `loss`: drop a share of messages on every link.

use super::draw::{check_rate, length};
use super::{Conditions, Fault, Heal, Shape};
use crate::schedule::ScheduleError;
use proptest::prelude::*;
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
        check_rate(&format!("{at}.rate"), self.rate)
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

    fn shapes(_n: usize) -> Vec<BoxedStrategy<Shape>> {
        vec![(prop_oneof![Just(0.05), Just(0.2), Just(0.5)], length())
            .prop_map(|(rate, len)| vec![(0, Loss { rate }.into()), (len, Heal {}.into())])
            .boxed()]
    }
}
