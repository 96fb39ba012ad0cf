//! The shapes the generator draws with `cut` (see [`Cut`]).

use super::{length, Shape};
use ballot_schedule::faults::{Cut, Heal, Op};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    vec![
        // Each node talks only to the k nearest on each side of a ring, k just large
        // enough that it sees a majority; no two nodes see the same one.
        length()
            .prop_map(move |len| {
                let k = (n / 2).div_ceil(2);
                let mut shape: Shape = Vec::new();
                for a in 0..n {
                    for b in a + 1..n {
                        if (b - a).min(n - (b - a)) > k {
                            shape.push((0, cut(a, b)));
                        }
                    }
                }
                shape.push((len, Heal {}.into()));
                shape
            })
            .boxed(),
        // Two halves that only node 0 connects.
        length()
            .prop_map(move |len| {
                let half = n / 2;
                let mut shape: Shape = Vec::new();
                for a in 1..=half {
                    for b in half + 1..n {
                        shape.push((0, cut(a, b)));
                    }
                }
                shape.push((len, Heal {}.into()));
                shape
            })
            .boxed(),
        // A link that goes down and up every 100 ms.
        (0..n, 0..n, length())
            .prop_map(|(a, b, len)| {
                let mut shape: Shape = Vec::new();
                let mut t = 0;
                while a != b && t + 100 <= len {
                    shape.push((t, cut(a, b)));
                    shape.push((t + 50, Heal {}.into()));
                    t += 100;
                }
                shape
            })
            .boxed(),
    ]
}

fn cut(a: usize, b: usize) -> Op {
    Cut { a: NodeRef::Index(a), b: NodeRef::Index(b) }.into()
}
