//! What guides a guided chaos campaign: the features a run reached (coverage marks, pairs
//! of marks, and abstract states of the cluster) and the corpus of schedules that reached
//! rare ones, folded in run order so that a campaign does not depend on thread timing.

use crate::history::{DurableLogs, EventKind, History};
use crate::run::Run;
use crate::schedule::Schedule;
use ballot_core::Role;
use std::collections::{BTreeMap, BTreeSet};

/// The most schedules a guided campaign keeps.
const CORPUS_MAX: usize = 256;

/// How an abstract state's feature name starts.
const STATE: &str = "state:";

/// What a run reached, for guidance: each coverage mark, each pair of marks reached together
/// (a stale vote response *and* a restart after voting says more about a run than either),
/// and each abstract state the cluster passed through ([`abstract_states`]).
pub(crate) fn features(run: &Run) -> Vec<String> {
    let marks: Vec<&String> = run.summary.marks.keys().collect();
    let mut out: Vec<String> = marks.iter().map(|m| m.to_string()).collect();
    for (i, a) in marks.iter().enumerate() {
        out.extend(marks[i + 1..].iter().map(|b| format!("{a}+{b}")));
    }
    out.extend(abstract_states(&run.history));
    out
}

/// The abstract states a history passes through, one at each change of role, as model-guided
/// fuzzers abstract a system's state: for each node, sorted so that names do not matter, its
/// role (`F`ollower, `P`re-candidate, `C`andidate, `L`eader, or `X` when down), whether its
/// term is the highest (`=`) or behind (`<`), and how its durable log relates to the log of
/// the leader of the highest term (`e`qual, `p`refix of it, `a`head of it, `d`ivergent), or
/// `-` when no node leads; a node that is down is `X` alone.
pub(crate) fn abstract_states(history: &History) -> BTreeSet<String> {
    let mut nodes: BTreeMap<usize, (char, u64)> = BTreeMap::new();
    let mut logs = DurableLogs::default();
    let mut states = BTreeSet::new();
    for e in history.events() {
        let Some(n) = e.node else { continue };
        match &e.kind {
            EventKind::Role { role, term, .. } => {
                let code = match role {
                    Role::Follower => 'F',
                    Role::PreCandidate => 'P',
                    Role::Candidate => 'C',
                    Role::Leader => 'L',
                };
                nodes.insert(n, (code, *term));
            }
            EventKind::Crash => {
                nodes.entry(n).or_insert(('F', 0)).0 = 'X';
            }
            EventKind::Start { term, .. } => {
                nodes.insert(n, ('F', *term));
            }
            kind => {
                logs.apply(n, kind);
                continue;
            }
        }
        states.insert(state(&nodes, &logs));
    }
    states
}

fn state(nodes: &BTreeMap<usize, (char, u64)>, logs: &DurableLogs) -> String {
    let max_term = nodes.values().filter(|(r, _)| *r != 'X').map(|(_, t)| *t).max().unwrap_or(0);
    let leader = nodes
        .iter()
        .filter(|(_, (r, _))| *r == 'L')
        .max_by_key(|(_, (_, t))| *t)
        .map(|(&n, _)| logs.get(n));
    let mut codes: Vec<String> = nodes
        .iter()
        .map(|(&n, &(role, term))| {
            if role == 'X' {
                return "X".to_string();
            }
            let behind = if term == max_term { '=' } else { '<' };
            let log = logs.get(n);
            let relation = match leader {
                None => '-',
                Some(l) if log == l => 'e',
                Some(l) if l.starts_with(log) => 'p',
                Some(l) if log.starts_with(l) => 'a',
                Some(_) => 'd',
            };
            format!("{role}{behind}{relation}")
        })
        .collect();
    codes.sort();
    format!("{STATE}{}", codes.join(","))
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
            // A mark or pair is rare while fewer than one run in fifty reached it; an abstract
            // state (there are many) only the first time.
            let rare = (self.folded / 50).max(1);
            let is_rare = |f: &String| {
                let threshold = if f.starts_with(STATE) { 1 } else { rare };
                self.features.get(f).is_none_or(|&r| r < threshold)
            };
            if reached.iter().any(is_rare) {
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
    use crate::history::EventKind as K;

    #[test]
    fn states_abstract_roles_terms_and_logs_away_from_names() {
        let mut h = History::new(3);
        let persist = |first, terms: Vec<u64>| K::Persist {
            term: None,
            voted_for: None,
            first_index: Some(first),
            terms: Some(terms),
        };
        h.record(10.0, Some(0), K::Role { role: Role::Candidate, term: 2, leader: None });
        h.record(20.0, Some(0), persist(1, vec![1, 2]));
        h.record(20.0, Some(1), persist(1, vec![1]));
        h.record(21.0, Some(0), K::Role { role: Role::Leader, term: 2, leader: Some(0) });
        h.record(30.0, Some(2), K::Crash);
        let states = abstract_states(&h);
        assert!(states.contains("state:C=-"), "{states:?}");
        assert!(states.contains("state:L=e"), "{states:?}");
        assert!(states.contains("state:L=e,X"), "{states:?}");
        // The same situation with the nodes' names swapped is the same state.
        let mut swapped = History::new(3);
        swapped.record(10.0, Some(2), K::Role { role: Role::Candidate, term: 2, leader: None });
        swapped.record(21.0, Some(2), K::Role { role: Role::Leader, term: 2, leader: Some(2) });
        assert!(abstract_states(&swapped).contains("state:L=e"));
    }
}
