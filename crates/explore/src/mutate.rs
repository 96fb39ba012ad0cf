//! Mutations of a schedule, for guided chaos: drop a step, shift one in time, retarget its
//! node, splice in steps of another generated schedule, or keep the steps under a new seed.
//! Every mutant is valid (its times ordered, within its length) or not returned.

use super::generate::generate;
use ballot_schedule::{NodeRef, Schedule, Step};
use ballot_worlds::derive_seed;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A mutant of `parent`, drawn from `seed`; `None` if the draw made nothing valid.
pub fn mutate(parent: &Schedule, seed: u64) -> Option<Schedule> {
    let mut rng = StdRng::seed_from_u64(derive_seed(seed, "mutation"));
    let mut s = parent.clone();
    s.seed = derive_seed(seed, "mutant seed");
    let n = s.cluster.nodes;
    match rng.random_range(0..5) {
        0 if !s.steps.is_empty() => {
            let i = rng.random_range(0..s.steps.len());
            s.steps.remove(i);
        }
        1 if !s.steps.is_empty() => {
            let i = rng.random_range(0..s.steps.len());
            let shift = rng.random_range(-500i64..=500);
            s.steps[i].at_ms = s.steps[i].at_ms.saturating_add_signed(shift);
        }
        2 if !s.steps.is_empty() => {
            let i = rng.random_range(0..s.steps.len());
            let pick = rng.random_range(0..n + 2);
            let to = match pick {
                k if k < n => NodeRef::Index(k),
                k if k == n => NodeRef::Leader,
                _ => NodeRef::Follower,
            };
            let mut first = true;
            s.steps[i].op = s.steps[i].op.map_nodes(|r| {
                let keep = !std::mem::take(&mut first);
                if keep {
                    r
                } else {
                    to
                }
            });
        }
        3 => {
            // Splice: a few consecutive steps of another schedule of the same size, moved to
            // a random moment of this one.
            let donor = generate(derive_seed(seed, "donor"));
            if donor.cluster.nodes == n && !donor.steps.is_empty() {
                let from = rng.random_range(0..donor.steps.len());
                let len = rng.random_range(1..=4).min(donor.steps.len() - from);
                let base = donor.steps[from].at_ms;
                let at = rng.random_range(0..=s.steps.last().map_or(1_000, |l| l.at_ms));
                s.steps.extend(
                    donor.steps[from..from + len]
                        .iter()
                        .map(|st| Step::at(at + (st.at_ms - base), st.op.clone())),
                );
            }
        }
        _ => {}
    }
    s.steps.sort_by_key(|st| st.at_ms);
    s.duration_ms = s.duration_ms.max(s.last_step_ms() + 4_000);
    s.validate().is_ok().then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutants_are_valid_reproducible_and_different() {
        let parent = generate(3);
        let mut changed = 0;
        for seed in 0..200 {
            let Some(m) = mutate(&parent, seed) else { continue };
            assert!(m.validate().is_ok());
            assert_eq!(mutate(&parent, seed), Some(m.clone()), "seed {seed}");
            changed += usize::from(m.steps != parent.steps);
        }
        assert!(changed > 100, "most mutants change the steps: {changed}");
    }
}
