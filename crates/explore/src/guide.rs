//! What guides a guided chaos campaign: the features a run reached (coverage marks and pairs
//! of marks) and the corpus of schedules that reached rare ones, folded in run order so that
//! a campaign does not depend on thread timing.

use ballot_schedule::Schedule;
use ballot_worlds::run::Run;
use std::collections::BTreeMap;

/// The most schedules a guided campaign keeps.
const CORPUS_MAX: usize = 256;

/// What a run reached, for guidance: each coverage mark, and each pair of marks reached
/// together (a stale vote response *and* a restart after voting says more about a run than
/// either). Abstract states of the cluster (per node: role, term behind or not, log against
/// the leader's) were tried as features too, and found no sooner (docs/proof.md).
pub(crate) fn features(run: &Run) -> Vec<String> {
    let marks: Vec<&String> = run.summary.marks.keys().collect();
    let mut out: Vec<String> = marks.iter().map(|m| m.to_string()).collect();
    for (i, a) in marks.iter().enumerate() {
        out.extend(marks[i + 1..].iter().map(|b| format!("{a}+{b}")));
    }
    out
}

/// What a guided campaign learns from its runs, folded in run order so that the corpus does
/// not depend on which worker finished first.
#[derive(Default)]
pub(crate) struct Guide {
    /// The corpus as the previous generations left it: what this generation mutates.
    pub(crate) parents: Vec<Schedule>,
    /// The corpus as the runs folded so far leave it.
    pub(crate) corpus: Vec<Schedule>,
    /// Runs folded so far (every run below this index).
    pub(crate) folded: u64,
    /// Runs in one generation.
    generation: u64,
    /// Finished runs waiting for the runs before them: index → (schedule, features reached).
    pub(crate) pending: BTreeMap<u64, (Schedule, Vec<String>)>,
    /// Per feature (a mark, or a pair of marks reached in one run), the runs that reached it.
    features: BTreeMap<String, u64>,
}

impl Guide {
    /// A guide with an empty corpus, for generations of `generation` runs.
    pub(crate) fn new(generation: u64) -> Guide {
        Guide { generation: generation.max(1), ..Guide::default() }
    }

    /// Folds every finished run whose predecessors are folded: a run that reached a feature
    /// fewer than one run in fifty has reached joins the corpus. Returns whether a generation
    /// was completed (its successor may start).
    pub(crate) fn fold(&mut self) -> bool {
        let mut completed = false;
        while let Some((schedule, reached)) = self.pending.remove(&self.folded) {
            // A mark or pair is rare while fewer than one run in fifty reached it.
            let rare = (self.folded / 50).max(1);
            if reached.iter().any(|f| self.features.get(f).is_none_or(|&r| r < rare)) {
                if self.corpus.len() < CORPUS_MAX {
                    self.corpus.push(schedule);
                } else {
                    let slot = (schedule.seed % CORPUS_MAX as u64) as usize;
                    self.corpus[slot] = schedule;
                }
            }
            for f in reached {
                *self.features.entry(f).or_default() += 1;
            }
            self.folded += 1;
            if self.folded.is_multiple_of(self.generation) {
                self.parents = self.corpus.clone();
                completed = true;
            }
        }
        completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(seed: u64) -> Schedule {
        let text = format!(r#"{{"format":1,"seed":{seed},"duration_ms":1000}}"#);
        Schedule::from_json(&text).unwrap()
    }

    /// Runs join the corpus in run order, whatever order they finish in, and a generation's
    /// parents are the corpus as the generations before it left it.
    #[test]
    fn runs_are_folded_in_order_and_generations_see_the_corpus_before_them() {
        let mut guide = Guide::new(2);
        guide.pending.insert(1, (schedule(1), vec!["a".into()]));
        assert!(!guide.fold(), "run 0 has not finished: nothing is folded");
        assert_eq!(guide.folded, 0);
        guide.pending.insert(0, (schedule(0), vec!["b".into()]));
        assert!(guide.fold(), "runs 0 and 1 complete the first generation");
        let seeds = |c: &[Schedule]| c.iter().map(|s| s.seed).collect::<Vec<_>>();
        assert_eq!(seeds(&guide.corpus), [0, 1]);
        assert_eq!(seeds(&guide.parents), [0, 1]);
        // A run that reaches only what every run reached adds nothing.
        guide.pending.insert(2, (schedule(2), vec!["a".into()]));
        assert!(!guide.fold());
        assert_eq!(seeds(&guide.corpus), [0, 1]);
        guide.pending.insert(3, (schedule(3), vec!["a+b".into()]));
        assert!(guide.fold());
        assert_eq!(seeds(&guide.parents), [0, 1, 3]);
    }
}
