//! Shrinking a failing schedule: fewer steps, fewer nodes, earlier times, a shorter run, for
//! as long as the same property still fails.

use crate::run::run;
use crate::schedule::{NodeRef, Schedule, Step};

/// How far a shrink got.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest failing schedule found.
    pub schedule: Schedule,
    /// Simulations run while shrinking.
    pub runs: usize,
}

/// A schedule's size, for reporting: (steps, nodes, duration).
pub fn size(s: &Schedule) -> (usize, usize, u64) {
    (s.steps.len(), s.cluster.nodes, s.duration_ms)
}

/// Whether `schedule` still violates `property`.
pub fn still_fails(schedule: &Schedule, property: &str) -> bool {
    schedule.validate().is_ok() && run(schedule).summary.violates(property)
}

/// Shrinks `schedule` while `property` still fails, with at most `budget` runs.
pub fn shrink(schedule: &Schedule, property: &str, budget: usize) -> Shrunk {
    shrink_with(schedule, budget, |s| still_fails(s, property))
}

/// Shrinks with any failure predicate (greedy: the first smaller candidate that fails is
/// kept, then the passes start over).
pub fn shrink_with(
    schedule: &Schedule,
    budget: usize,
    fails: impl Fn(&Schedule) -> bool,
) -> Shrunk {
    let mut best = schedule.clone();
    let mut runs = 0;
    'improve: loop {
        for candidate in candidates(&best) {
            if runs >= budget {
                break 'improve;
            }
            if candidate.validate().is_err() {
                continue;
            }
            runs += 1;
            if fails(&candidate) {
                best = candidate;
                continue 'improve;
            }
        }
        break;
    }
    Shrunk { schedule: best, runs }
}

/// Smaller variants of `s`, most aggressive first.
fn candidates(s: &Schedule) -> Vec<Schedule> {
    let mut out = Vec::new();
    let n = s.steps.len();
    // Drop chunks of steps: halves, quarters, ..., single steps.
    let mut chunk = n.div_ceil(2);
    while chunk >= 1 {
        for start in (0..n).step_by(chunk) {
            let mut c = s.clone();
            c.steps.drain(start..(start + chunk).min(n));
            out.push(c);
        }
        if chunk == 1 {
            break;
        }
        chunk /= 2;
    }
    // One node fewer: drop the last node and every step naming it.
    if s.cluster.nodes > 2 {
        out.push(without_last_node(s));
    }
    // A shorter run: the last step plus the liveness window, or half.
    let last = s.steps.last().map_or(0, |st| st.at_ms);
    for duration in [last + s.liveness_ms, s.duration_ms / 2, last + 1] {
        if duration < s.duration_ms && duration > 0 {
            out.push(Schedule { duration_ms: duration, ..s.clone() });
        }
    }
    // Earlier times: everything at half time; each step as early as its predecessor.
    if last > 0 {
        let mut c = s.clone();
        c.steps.iter_mut().for_each(|st| st.at_ms /= 2);
        out.push(c);
    }
    for i in 0..n {
        let floor = if i == 0 { 0 } else { s.steps[i - 1].at_ms };
        if s.steps[i].at_ms > floor {
            let mut c = s.clone();
            c.steps[i].at_ms = floor.max(s.steps[i].at_ms / 2).min(s.steps[i].at_ms - 1);
            out.push(c);
        }
    }
    // Simpler steps, as each fault defines them (fewer groups, gentler rates).
    for i in 0..n {
        for op in s.steps[i].op.simpler() {
            let mut c = s.clone();
            c.steps[i].op = op;
            out.push(c);
        }
    }
    out
}

fn without_last_node(s: &Schedule) -> Schedule {
    let gone = NodeRef::Index(s.cluster.nodes - 1);
    let mut c = s.clone();
    c.cluster.nodes -= 1;
    c.steps = s
        .steps
        .iter()
        .filter_map(|st| Some(Step { at_ms: st.at_ms, op: st.op.without_node(gone)? }))
        .collect();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{Crash, Pause};
    use crate::schedule::Op;

    fn schedule(steps: Vec<Step>) -> Schedule {
        let text = r#"{"format":1,"seed":3,"duration_ms":9000,"cluster":{"nodes":5}}"#;
        let mut s = Schedule::from_json(text).unwrap();
        s.steps = steps;
        s
    }

    /// With a synthetic failure ("node 3 is crashed at some point"), the shrinker keeps only
    /// that step, moves it to time 0 and cuts nodes and duration down.
    #[test]
    fn shrinks_to_the_step_that_matters() {
        let mut steps = Vec::new();
        for i in 0..10u64 {
            let node = NodeRef::Index((i % 5) as usize);
            let op: Op = if i == 7 {
                Crash { node: NodeRef::Index(3) }.into()
            } else {
                Pause { node }.into()
            };
            steps.push(Step { at_ms: 500 * (i + 1), op });
        }
        let crash_3: Op = Crash { node: NodeRef::Index(3) }.into();
        let fails = |s: &Schedule| s.steps.iter().any(|st| st.op == crash_3);
        let shrunk = shrink_with(&schedule(steps), 1_000, fails);
        let s = shrunk.schedule;
        assert_eq!(s.steps, vec![Step { at_ms: 0, op: crash_3.clone() }]);
        assert_eq!(s.cluster.nodes, 4, "node 3 must stay; node 4 can go");
        assert!(s.duration_ms <= 3_000, "{}", s.duration_ms);
        assert!(shrunk.runs < 1_000);
    }
}
