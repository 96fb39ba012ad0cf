//! Shrinking a failing schedule: fewer steps, fewer nodes, earlier times, a shorter run, for
//! as long as the same property still fails.

use ballot_schedule::{NodeRef, Schedule, Step};
use ballot_worlds::derive_seed;
use ballot_worlds::run::run_in;
use ballot_worlds::world::WorldName;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How far a shrink got.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest failing schedule found.
    pub schedule: Schedule,
    /// Simulations run while shrinking.
    pub runs: usize,
    /// Wall-clock time the shrink took.
    pub took: Duration,
}

/// A schedule's size, for reporting: (steps, nodes, duration).
pub fn size(s: &Schedule) -> (usize, usize, u64) {
    (s.steps.len(), s.cluster.nodes, s.duration_ms)
}

/// Whether `schedule` still violates `property` in the turmoil world.
pub fn still_fails(schedule: &Schedule, property: &str) -> bool {
    still_fails_in(schedule, property, WorldName::Turmoil)
}

/// Whether `schedule` still violates `property` in `world`.
pub fn still_fails_in(schedule: &Schedule, property: &str, world: WorldName) -> bool {
    schedule.validate().is_ok()
        && run_in(schedule, world).is_some_and(|r| r.summary.violates(property))
}

/// Shrinks `schedule` while `property` still fails in the turmoil world, with at most
/// `budget` runs.
pub fn shrink(schedule: &Schedule, property: &str, budget: usize) -> Shrunk {
    shrink_in(schedule, property, budget, WorldName::Turmoil)
}

/// Shrinks `schedule` while `property` still fails in `world`, with at most `budget` runs.
pub fn shrink_in(schedule: &Schedule, property: &str, budget: usize, world: WorldName) -> Shrunk {
    shrink_with(schedule, budget, |s| still_fails_in(s, property, world))
}

/// Shrinks with any failure predicate (greedy: the first smaller candidate that fails is
/// kept, then the passes start over).
pub fn shrink_with(
    schedule: &Schedule,
    budget: usize,
    fails: impl Fn(&Schedule) -> bool,
) -> Shrunk {
    let started = Instant::now();
    let mut best = schedule.clone();
    let mut runs = 0;
    'improve: loop {
        for candidate in candidates(&best).into_iter().chain(reseeded(&best)) {
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
    Shrunk { schedule: best, runs, took: started.elapsed() }
}

/// Smaller variants of `s`, most aggressive first.
fn candidates(s: &Schedule) -> Vec<Schedule> {
    let mut out = Vec::new();
    let n = s.steps.len();
    // Drop whole generated shapes: a shape's steps only mean something together.
    let shapes: BTreeSet<u32> = s.steps.iter().filter_map(|st| st.shape).collect();
    if shapes.len() > 1 || s.steps.iter().any(|st| st.shape.is_none()) {
        for id in shapes {
            let mut c = s.clone();
            c.steps.retain(|st| st.shape != Some(id));
            out.push(c);
        }
    }
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
    // One node fewer: drop a node and every step naming it (the last one first).
    if s.cluster.nodes > 2 {
        out.extend((0..s.cluster.nodes).rev().map(|k| without_node(s, k)));
    }
    // A shorter run: the last step plus the liveness window, or half.
    let last = s.last_step_ms();
    for duration in [last + s.liveness_ms, s.duration_ms / 2, last + 1] {
        if duration < s.duration_ms && duration > 0 {
            out.push(Schedule { duration_ms: duration, ..s.clone() });
        }
    }
    // Earlier times: everything at half time; each step as early as its predecessor.
    if s.steps.iter().any(|st| st.at_ms > 0) {
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

/// Seeds tried for a smaller schedule that no longer fails under its own seed.
const RESEEDS: u64 = 3;

/// The last resort, once no smaller variant fails: each whole shape, each single step and
/// the last node dropped, under other seeds. A failure that hangs on timing (a cut between
/// a vote request and the first AppendEntries) moves with any change to the schedule, so a
/// step that does not matter can still be needed under the original seed; under another
/// seed the rest may fail without it, and the artifact keeps the seed it fails under.
fn reseeded(s: &Schedule) -> Vec<Schedule> {
    let shapes: BTreeSet<u32> = s.steps.iter().filter_map(|st| st.shape).collect();
    let mut smaller: Vec<Schedule> = shapes
        .into_iter()
        .map(|id| Schedule {
            steps: s.steps.iter().filter(|st| st.shape != Some(id)).cloned().collect(),
            ..s.clone()
        })
        .collect();
    smaller.extend((0..s.steps.len()).map(|i| {
        let mut c = s.clone();
        c.steps.remove(i);
        c
    }));
    if s.cluster.nodes > 2 {
        smaller.extend((0..s.cluster.nodes).rev().map(|k| without_node(s, k)));
    }
    let mut out = Vec::new();
    for k in 1..=RESEEDS {
        let seed = derive_seed(s.seed, &format!("shrink {k}"));
        out.extend(smaller.iter().map(|c| Schedule { seed, ..c.clone() }));
    }
    out
}

/// `s` without node `gone`: the steps naming it are dropped (or lose it, as each fault
/// says), and the nodes after it are renumbered down by one.
fn without_node(s: &Schedule, gone: usize) -> Schedule {
    let mut c = s.clone();
    c.cluster.nodes -= 1;
    let renumber = |r: NodeRef| match r {
        NodeRef::Index(i) if i > gone => NodeRef::Index(i - 1),
        other => other,
    };
    c.steps = s
        .steps
        .iter()
        .filter_map(|st| {
            let op = st.op.without_node(NodeRef::Index(gone))?.map_nodes(renumber);
            Some(Step { op, ..st.clone() })
        })
        .collect();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_schedule::faults::{Crash, Pause, Propose, Restart, Resume};
    use ballot_schedule::Op;

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
            steps.push(Step::at(500 * (i + 1), op));
        }
        let crash_3: Op = Crash { node: NodeRef::Index(3) }.into();
        let fails = |s: &Schedule| s.steps.iter().any(|st| st.op == crash_3);
        let shrunk = shrink_with(&schedule(steps), 1_000, fails);
        let s = shrunk.schedule;
        assert_eq!(s.steps, vec![Step::at(0, crash_3.clone())]);
        assert_eq!(s.cluster.nodes, 4, "node 3 must stay; node 4 can go");
        assert!(s.duration_ms <= 3_000, "{}", s.duration_ms);
        assert!(shrunk.runs < 1_000);
    }

    /// A failure that needs one shape's two steps (a crash and its restart), beside shapes
    /// whose steps only make sense together (a pause without its resume hides the failure)
    /// and overlap in time: dropping steps one at a time, or in chunks, cannot take a pause
    /// away without its resume, so only dropping whole shapes reaches the two steps.
    #[test]
    fn drops_whole_shapes_before_single_steps() {
        let mut steps = Vec::new();
        for id in 0..6u32 {
            let node = NodeRef::Index(id as usize % 5);
            let (first, second): (Op, Op) = if id == 3 {
                (Crash { node }.into(), Restart { node }.into())
            } else {
                (Pause { node }.into(), Resume { node }.into())
            };
            let at = 500 * (u64::from(id) + 1);
            steps.push(Step { at_ms: at, op: first, shape: Some(id) });
            steps.push(Step { at_ms: at + 700, op: second, shape: Some(id) });
        }
        steps.sort_by_key(|st| st.at_ms);
        let fails = |s: &Schedule| {
            let count = |f: fn(&Op) -> bool| s.steps.iter().filter(|st| f(&st.op)).count();
            count(|op| matches!(op, Op::Crash(_))) == 1
                && count(|op| matches!(op, Op::Restart(_))) == 1
                && count(|op| matches!(op, Op::Pause(_))) == count(|op| matches!(op, Op::Resume(_)))
        };
        let by_shape = shrink_with(&schedule(steps.clone()), 1_000, fails);
        assert_eq!(by_shape.schedule.steps.len(), 2, "{:?}", by_shape.schedule.steps);
        let untagged: Vec<Step> = steps.into_iter().map(|st| Step { shape: None, ..st }).collect();
        let by_step = shrink_with(&schedule(untagged), 1_000, fails);
        assert!(by_step.schedule.steps.len() > 2, "{:?}", by_step.schedule.steps);
    }

    /// Any node can go, not only the last: the nodes after it are renumbered, so a failure
    /// that needs the highest-numbered node shrinks to two nodes.
    #[test]
    fn drops_any_node_and_renumbers_the_rest() {
        let steps = vec![
            Step::at(100, Pause { node: NodeRef::Index(1) }),
            Step::at(200, Crash { node: NodeRef::Index(4) }),
        ];
        let fails = |s: &Schedule| {
            let last = NodeRef::Index(s.cluster.nodes - 1);
            s.steps.iter().any(|st| st.op == Crash { node: last }.into())
        };
        let shrunk = shrink_with(&schedule(steps), 1_000, fails).schedule;
        assert_eq!(shrunk.cluster.nodes, 2);
        assert_eq!(shrunk.steps, vec![Step::at(0, Crash { node: NodeRef::Index(1) })]);
    }

    /// A failure that needs a step under its own seed only (a timing it happens to set up):
    /// once nothing smaller fails, the shrinker tries other seeds and drops the step.
    #[test]
    fn tries_other_seeds_once_nothing_smaller_fails() {
        let crash: Op = Crash { node: NodeRef::Index(3) }.into();
        let pause: Op = Pause { node: NodeRef::Index(1) }.into();
        let original = schedule(vec![Step::at(100, pause.clone()), Step::at(200, crash.clone())]);
        let seed = original.seed;
        let fails = |s: &Schedule| {
            let has = |op: &Op| s.steps.iter().any(|st| st.op == *op);
            has(&crash) && (s.seed != seed || has(&pause))
        };
        let shrunk = shrink_with(&original, 1_000, fails).schedule;
        assert_eq!(shrunk.steps, vec![Step::at(0, crash)]);
        assert_ne!(shrunk.seed, seed);
    }

    /// A burst of proposals is one step: the shrinker halves its count down to what the
    /// failure needs, instead of dropping its writes one step at a time.
    #[test]
    fn halves_a_burst_to_the_writes_that_matter() {
        let burst = Propose::burst(NodeRef::Leader, "w", Some(1024), 200, 2);
        let fails = |s: &Schedule| {
            s.steps.iter().any(|st| matches!(&st.op, Op::Propose(p) if p.count.unwrap_or(1) >= 10))
        };
        let shrunk = shrink_with(&schedule(vec![Step::at(700, burst)]), 1_000, fails);
        let [step] = shrunk.schedule.steps.as_slice() else { panic!("one step") };
        let Op::Propose(p) = &step.op else { panic!("a burst") };
        assert!((10..20).contains(&p.count.unwrap()), "{p:?}");
        assert_eq!((p.size, p.every_ms, step.at_ms), (None, None, 0));
    }
}
