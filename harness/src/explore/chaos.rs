//! Long randomized runs: generated schedules on worker threads, each failure shrunk and saved
//! once, a summary at the end.

use super::generate::generate;
use super::mutate::mutate;
use super::shrink::{shrink, size};
use crate::bench::{quantile, round_ms};
use crate::cores::CoreName;
use crate::report::timeline::render;
use crate::report::{write_atomic, Artifact, Verdict};
use crate::run::run;
use crate::schedule::Schedule;
use crate::seed::derive_seed;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a chaos campaign runs, and for how long.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// Every run's seed derives from this.
    pub base_seed: u64,
    /// Stop after this many runs (in this shard).
    pub runs: Option<u64>,
    /// Stop starting runs after this long (wall clock).
    pub duration: Option<Duration>,
    /// Worker threads; each simulation is single-threaded.
    pub jobs: usize,
    /// This machine's share of the seed space: shard `k` of `n` (0-based).
    pub shard: (u64, u64),
    /// Where artifacts and `summary.json` go.
    pub out: PathBuf,
    /// Stop at the first violation.
    pub stop_on_violation: bool,
    /// Most simulations to spend shrinking one failure.
    pub shrink_budget: usize,
    /// Properties already known to fail on this core: their runs are counted in
    /// `first_runs`, but not shrunk or saved, so a hunt spends its time on the rest.
    pub known: Vec<String>,
    /// Guided: half the runs mutate a schedule of the corpus (the schedules that reached a
    /// rarely reached coverage mark) instead of generating a new one.
    pub guided: bool,
    /// The election core every run's nodes run.
    pub core: CoreName,
}

/// The most schedules a guided campaign keeps.
const CORPUS_MAX: usize = 256;

/// Failover latency percentiles seen: crash of a leader to the next leader, milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// The percentiles of a histogram (milliseconds → how many).
    pub fn of(histogram: &BTreeMap<u64, u64>) -> Percentiles {
        let sorted: Vec<f64> = histogram
            .iter()
            .flat_map(|(&ms, &n)| std::iter::repeat_n(ms as f64, n as usize))
            .collect();
        Percentiles {
            p50: round_ms(quantile(&sorted, 0.5)),
            p99: round_ms(quantile(&sorted, 0.99)),
        }
    }
}

/// The campaign summary of SPEC.md.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChaosSummary {
    /// The base seed.
    pub base_seed: u64,
    /// The shards this summary covers, each `[k, n]` (1-based k of n).
    pub shards: Vec<[u64; 2]>,
    /// Runs completed.
    pub runs: u64,
    /// Simulated time, milliseconds.
    pub sim_ms: f64,
    /// Worker threads.
    pub jobs: usize,
    /// Wall-clock time, seconds.
    pub wall_s: f64,
    /// Distinct violations found, by property.
    pub violations: BTreeMap<String, u64>,
    /// Artifacts written.
    pub artifacts: Vec<String>,
    /// Failover latency percentiles.
    pub failover_ms: Percentiles,
    /// Every failover seen, as a histogram: whole milliseconds → how many (so that shards
    /// merge exactly).
    pub failover_histogram_ms: BTreeMap<u64, u64>,
    /// Per property, the runs that judged it for some time (SPEC.md `checked_runs`).
    pub checked_runs: BTreeMap<String, u64>,
    /// Per coverage mark, the runs that reached it (SPEC.md `marks`); marks no run reached
    /// are listed with 0.
    pub marks: BTreeMap<String, u64>,
    /// Guided campaigns: runs that mutated a corpus schedule, and the corpus size at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guided: Option<Guided>,
    /// Runs it took to find the first violation (1-based), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_violation_run: Option<u64>,
    /// Per property found, the run that found it first (1-based): how many runs a hunt needs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub first_runs: BTreeMap<String, u64>,
}

/// What a guided campaign did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Guided {
    /// Runs whose schedule was a mutant of a corpus schedule.
    pub mutant_runs: u64,
    /// Schedules in the corpus at the end.
    pub corpus: usize,
}

/// The seed of run `index` of shard `k` of `n`: derived from the run's global number, so
/// shards never overlap and neighbouring runs look unrelated.
pub fn run_seed(base: u64, index: u64, (k, n): (u64, u64)) -> u64 {
    derive_seed(base, &format!("run {}", index * n + k))
}

impl ChaosSummary {
    /// The campaign's verdict: the worst over the properties it found violated (known ones
    /// included: a known failure is still a failure).
    pub fn verdict(&self) -> Verdict {
        Verdict::of(self.violations.keys().chain(self.first_runs.keys()).map(String::as_str))
    }
}

/// Shared state of a campaign's workers.
struct Campaign {
    config: ChaosConfig,
    next: AtomicU64,
    stop: Arc<AtomicBool>,
    started: Instant,
    summary: Mutex<ChaosSummary>,
    seen: Mutex<BTreeSet<(String, String)>>,
    /// Guided campaigns: schedules that reached a rare mark.
    corpus: Mutex<Vec<Schedule>>,
}

impl Campaign {
    /// The schedule of the run with `seed`: generated, or (guided, every other run by the
    /// seed's draw) a mutant of a corpus schedule; and whether it is a mutant.
    fn schedule_for(&self, seed: u64) -> (Schedule, bool) {
        if self.config.guided && derive_seed(seed, "guide").is_multiple_of(2) {
            let corpus = self.corpus.lock().expect("lock");
            if !corpus.is_empty() {
                let parent = &corpus[(derive_seed(seed, "parent") % corpus.len() as u64) as usize];
                if let Some(mutant) = mutate(parent, seed) {
                    return (mutant, true);
                }
            }
        }
        (generate(seed).on_core(self.config.core), false)
    }

    fn next_run(&self) -> Option<u64> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        if self.config.duration.is_some_and(|d| self.started.elapsed() >= d) {
            return None;
        }
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        self.config.runs.is_none_or(|r| index < r).then_some(index)
    }

    fn work(&self, report: &Reporter) {
        while let Some(index) = self.next_run() {
            let seed = run_seed(self.config.base_seed, index, self.config.shard);
            let (schedule, mutant) = self.schedule_for(seed);
            let result = run(&schedule);
            let failovers = result.views().failovers();
            {
                let mut s = self.summary.lock().expect("lock");
                s.runs += 1;
                for ms in failovers {
                    *s.failover_histogram_ms.entry(ms.round() as u64).or_default() += 1;
                }
                s.sim_ms += result.summary.stats.sim_ms as f64;
                for (property, ms) in &result.summary.checked {
                    let runs = s.checked_runs.entry(property.clone()).or_default();
                    *runs += u64::from(*ms > 0.0);
                }
                let rare = (s.runs / 50).max(1);
                let reached_rare =
                    result.summary.marks.keys().any(|m| s.marks.get(m).is_none_or(|r| *r < rare));
                for mark in result.summary.marks.keys() {
                    *s.marks.entry(mark.clone()).or_default() += 1;
                }
                if let Some(g) = s.guided.as_mut() {
                    g.mutant_runs += u64::from(mutant);
                    if reached_rare {
                        let mut corpus = self.corpus.lock().expect("lock");
                        if corpus.len() < CORPUS_MAX {
                            corpus.push(schedule.clone());
                        } else {
                            corpus[(seed % CORPUS_MAX as u64) as usize] = schedule.clone();
                        }
                        g.corpus = corpus.len();
                    }
                }
                s.wall_s = self.started.elapsed().as_secs_f64();
                (report.progress)(&s);
            }
            {
                let mut s = self.summary.lock().expect("lock");
                for v in &result.summary.violations {
                    let run = s.first_runs.entry(v.property.clone()).or_insert(index + 1);
                    *run = (*run).min(index + 1);
                }
            }
            let known = &self.config.known;
            let Some(first) =
                result.summary.violations.iter().find(|v| !known.contains(&v.property))
            else {
                continue;
            };
            let property = first.property.clone();
            let shrunk = shrink(&schedule, &property, self.config.shrink_budget);
            let key = (property.clone(), shrunk.schedule.to_json());
            if !self.seen.lock().expect("lock").insert(key) {
                continue;
            }
            let min_run = run(&shrunk.schedule);
            let path = self.config.out.join(format!("{property}-{seed:016x}.json"));
            let title = format!("{property}: seed {}, shrunk", shrunk.schedule.seed);
            let html = render(&min_run.views(), &min_run.summary.violations, &title);
            if let Err(e) = write_atomic(&path.with_extension("html"), html.as_bytes()) {
                (report.line)(&format!(
                    "could not write a timeline beside {}: {e}",
                    path.display()
                ));
            }
            let artifact = Artifact::new(shrunk.schedule.clone(), min_run.summary.clone(), &path);
            if let Err(e) = artifact.write(&path) {
                (report.line)(&format!("could not write {}: {e}", path.display()));
            }
            let (before, after) = (size(&schedule), size(&shrunk.schedule));
            (report.line)(&format!(
                "{property} in run {} (seed {seed}), shrunk {} -> {} steps, {} -> {} nodes: {}",
                index + 1,
                before.0,
                after.0,
                before.1,
                after.1,
                artifact.command
            ));
            let mut s = self.summary.lock().expect("lock");
            *s.violations.entry(property).or_default() += 1;
            s.artifacts.push(path.display().to_string());
            s.first_violation_run =
                Some(s.first_violation_run.map_or(index + 1, |r| r.min(index + 1)));

            if self.config.stop_on_violation {
                self.stop.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Where a campaign reports as it goes.
pub struct Reporter<'a> {
    /// A finding, or a problem, worth a line of its own.
    pub line: &'a (dyn Fn(&str) + Sync),
    /// The summary so far, after every run.
    pub progress: &'a (dyn Fn(&ChaosSummary) + Sync),
}

/// Runs a campaign until its run count or duration is reached, or `stop` is set (runs in
/// flight finish), and returns its summary (artifacts are written under `out` as found).
pub fn chaos(config: ChaosConfig, stop: Arc<AtomicBool>, report: &Reporter) -> ChaosSummary {
    let jobs = config.jobs.max(1);
    let campaign = Campaign {
        summary: Mutex::new(ChaosSummary {
            base_seed: config.base_seed,
            shards: vec![[config.shard.0 + 1, config.shard.1]],
            guided: config.guided.then(Guided::default),
            jobs,
            marks: if config.core.has_marks() {
                ballot_core::Mark::ALL.iter().map(|m| (m.name().to_string(), 0)).collect()
            } else {
                BTreeMap::new()
            },
            ..Default::default()
        }),
        config,
        next: AtomicU64::new(0),
        stop,
        started: Instant::now(),
        seen: Mutex::new(BTreeSet::new()),
        corpus: Mutex::new(Vec::new()),
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| campaign.work(report));
        }
    });
    let mut summary = campaign.summary.into_inner().expect("workers done");
    summary.wall_s = campaign.started.elapsed().as_secs_f64();
    summary.failover_ms = Percentiles::of(&summary.failover_histogram_ms);
    summary.artifacts.sort();
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_never_share_a_seed() {
        let mut seen = BTreeSet::new();
        for k in 0..4 {
            for i in 0..1_000 {
                assert!(seen.insert(run_seed(9, i, (k, 4))), "shard {k} run {i} repeats a seed");
            }
        }
        assert_eq!(run_seed(9, 5, (0, 1)), run_seed(9, 5, (0, 1)));
    }
}
