//! Long randomized runs: generated schedules on worker threads, each failure shrunk and saved
//! once, a summary at the end.

use super::generate::generate;
use super::guide::{features, Guide};
use super::mutate::mutate;
use super::shrink::{shrink_in, size};
use crate::bench::{quantile, round_ms};
use ballot_schedule::Schedule;
use ballot_worlds::cores::CoreName;
use ballot_worlds::derive_seed;
use ballot_worlds::report::timeline::render;
use ballot_worlds::report::{write_atomic, Artifact, Verdict};
use ballot_worlds::run::run_in;
use ballot_worlds::world::WorldName;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
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
    /// rarely reached coverage mark, or pair of marks) instead of generating a new one. The
    /// campaign goes in generations of [`GENERATION`] runs, each mutating the corpus as the
    /// previous generation left it, so it is the same campaign whatever `jobs`.
    pub guided: bool,
    /// Runs in one generation of a guided campaign ([`GENERATION`] unless a test says).
    pub generation: u64,
    /// The election core every run's nodes run.
    pub core: CoreName,
    /// Where the runs (and the shrinking) happen.
    pub world: WorldName,
}

/// Runs in one generation of a guided campaign: its mutants are drawn from the corpus as the
/// generations before it left it.
pub const GENERATION: u64 = 64;

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
    /// Artifacts of event-world findings whose schedule (shrunk, or as found) did not fail
    /// the same property when replayed in turmoil.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_world_only: Vec<String>,
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
    /// Per property found, the wall seconds from the campaign's start to the end of the first
    /// run that found it (shrinking not included): how long a hunt takes. Not merged across
    /// shards, whose clocks are their own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub first_found_s: BTreeMap<String, f64>,
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
    /// Guided campaigns: the corpus and what the runs reached.
    guide: Mutex<Guide>,
    /// Signalled when a generation is complete.
    generation_done: Condvar,
}

impl Campaign {
    /// The schedule of run `index` with `seed`: generated, or (guided, every other run by the
    /// seed's draw) a mutant of a schedule the corpus held when its generation began; and
    /// whether it is a mutant. A guided run waits until the generations before it are folded.
    fn schedule_for(&self, index: u64, seed: u64) -> (Schedule, bool) {
        if self.config.guided && derive_seed(seed, "guide").is_multiple_of(2) {
            let generation_start = index - index % self.config.generation.max(1);
            let mut guide = self.guide.lock().expect("lock");
            while guide.folded < generation_start {
                guide = self.generation_done.wait(guide).expect("lock");
            }
            let parents = &guide.parents;
            if !parents.is_empty() {
                let parent =
                    &parents[(derive_seed(seed, "parent") % parents.len() as u64) as usize];
                if let Some(mutant) = mutate(parent, seed) {
                    return (mutant, true);
                }
            }
        }
        (generate(seed).on_core(self.config.core), false)
    }

    /// Hands a guided run's outcome to the guide, which folds it in run order.
    fn learn(&self, index: u64, schedule: &Schedule, features: Vec<String>) {
        let mut guide = self.guide.lock().expect("lock");
        guide.pending.insert(index, (schedule.clone(), features));
        if guide.fold() {
            self.generation_done.notify_all();
        }
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

    /// One run in the campaign's world.
    fn run(&self, schedule: &Schedule) -> ballot_worlds::Run {
        run_in(schedule, self.config.world).expect("the CLI refuses cores a world cannot run")
    }

    fn work(&self, report: &Reporter) {
        while let Some(index) = self.next_run() {
            let seed = run_seed(self.config.base_seed, index, self.config.shard);
            let (schedule, mutant) = self.schedule_for(index, seed);
            let result = self.run(&schedule);
            if self.config.guided {
                self.learn(index, &schedule, features(&result));
            }
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
                for mark in result.summary.marks.keys() {
                    *s.marks.entry(mark.clone()).or_default() += 1;
                }
                if let Some(g) = s.guided.as_mut() {
                    g.mutant_runs += u64::from(mutant);
                    g.corpus = self.guide.lock().expect("lock").corpus.len();
                }
                s.wall_s = self.started.elapsed().as_secs_f64();
                (report.progress)(&s);
            }
            {
                let mut s = self.summary.lock().expect("lock");
                for v in &result.summary.violations {
                    let run = s.first_runs.entry(v.property.clone()).or_insert(index + 1);
                    *run = (*run).min(index + 1);
                    let elapsed = self.started.elapsed().as_secs_f64();
                    s.first_found_s.entry(v.property.clone()).or_insert(elapsed);
                }
            }
            let known = &self.config.known;
            let Some(first) =
                result.summary.violations.iter().find(|v| !known.contains(&v.property))
            else {
                continue;
            };
            let property = first.property.clone();
            let shrunk =
                shrink_in(&schedule, &property, self.config.shrink_budget, self.config.world);
            let key = (property.clone(), shrunk.schedule.to_json());
            if !self.seen.lock().expect("lock").insert(key) {
                continue;
            }
            let min_run = self.run(&shrunk.schedule);
            let path = self.config.out.join(format!("{property}-{seed:016x}.json"));
            let title = format!("{property}: seed {}, shrunk", shrunk.schedule.seed);
            let html = render(&min_run.views(), &min_run.summary.violations, &title);
            if let Err(e) = write_atomic(&path.with_extension("html"), html.as_bytes()) {
                (report.line)(&format!(
                    "could not write a timeline beside {}: {e}",
                    path.display()
                ));
            }
            let mut artifact = Artifact::new(
                shrunk.schedule.clone(),
                min_run.summary.clone(),
                self.config.world,
                &path,
            );
            let confirmation = (self.config.world != WorldName::Turmoil)
                .then(|| confirm_in_turmoil(&shrunk.schedule, &schedule, &property));
            artifact.confirmed_in_turmoil = confirmation.map(Confirmation::confirmed);
            artifact.turmoil = confirmation.map(Confirmation::describe);
            if let Err(e) = artifact.write(&path) {
                (report.line)(&format!("could not write {}: {e}", path.display()));
            }
            let (before, after) = (size(&schedule), size(&shrunk.schedule));
            (report.line)(&format!(
                "{property} in run {} (seed {seed}), shrunk {} -> {} steps, {} -> {} nodes in {:.1} s{}: {}",
                index + 1,
                before.0,
                after.0,
                before.1,
                after.1,
                shrunk.took.as_secs_f64(),
                confirmation.map_or(String::new(), |c| format!(", {}", c.describe())),
                artifact.command
            ));
            let mut s = self.summary.lock().expect("lock");
            *s.violations.entry(property).or_default() += 1;
            s.artifacts.push(path.display().to_string());
            if confirmation.is_some_and(|c| !c.confirmed()) {
                s.event_world_only.push(path.display().to_string());
            }
            s.first_violation_run =
                Some(s.first_violation_run.map_or(index + 1, |r| r.min(index + 1)));

            if self.config.stop_on_violation {
                self.stop.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// What replaying an event-world finding in turmoil showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// The shrunk schedule fails the same property in turmoil.
    Shrunk,
    /// Only the schedule as found does: the shrunk one leans on the event world's timing.
    AsFound,
    /// Neither does under its own seed (turmoil draws its timings differently, so a rare
    /// failure seldom recurs under the same seed): the shrunk schedule failed under
    /// `failing` of `seeds` other seeds. At 0 the finding is the event world's alone.
    OtherSeeds {
        /// Seeds under which the shrunk schedule failed the property in turmoil.
        failing: u32,
        /// Seeds tried.
        seeds: u32,
    },
}

/// Seeds a finding that turmoil passes under its own seed is replayed under there, before
/// it may be called the event world's alone.
pub const TURMOIL_SEEDS: u32 = 50;

impl Confirmation {
    /// How a finding's line says it.
    pub fn describe(self) -> String {
        match self {
            Confirmation::Shrunk => "confirmed in turmoil".into(),
            Confirmation::AsFound => "confirmed in turmoil as found (not shrunk)".into(),
            Confirmation::OtherSeeds { failing: 0, seeds } => {
                format!("event world only: turmoil passes it under its own seed and {seeds} others")
            }
            Confirmation::OtherSeeds { failing, seeds } => {
                format!("turmoil: {failing} of {seeds} seeds fail (not its own)")
            }
        }
    }

    /// Whether turmoil failed the property too, under some seed.
    pub fn confirmed(self) -> bool {
        !matches!(self, Confirmation::OtherSeeds { failing: 0, .. })
    }
}

/// Replays an event-world finding in turmoil: the shrunk schedule, else the one as found,
/// else the shrunk one under seeds 1 to [`TURMOIL_SEEDS`].
pub fn confirm_in_turmoil(shrunk: &Schedule, found: &Schedule, property: &str) -> Confirmation {
    let fails =
        |s: &Schedule| run_in(s, WorldName::Turmoil).is_some_and(|r| r.summary.violates(property));
    if fails(shrunk) {
        return Confirmation::Shrunk;
    }
    if fails(found) {
        return Confirmation::AsFound;
    }
    let failing = (1..=u64::from(TURMOIL_SEEDS))
        .filter(|&seed| fails(&Schedule { seed, ..shrunk.clone() }))
        .count() as u32;
    Confirmation::OtherSeeds { failing, seeds: TURMOIL_SEEDS }
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
    let generation = config.generation.max(1);
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
        guide: Mutex::new(Guide::new(generation)),
        generation_done: Condvar::new(),
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

    /// A finding is confirmed in turmoil when its schedule fails the same property there
    /// (raft-rs 0.7's lease outliving check-quorum), and called event-world-only when
    /// neither the shrunk schedule nor the one as found fails there.
    #[cfg(feature = "raft-rs")]
    #[test]
    fn findings_are_replayed_in_turmoil() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let read = |p: &str| Artifact::read(&root.join(p)).unwrap().schedule;
        let lease = read("tests/regressions/raft-rs/lease-outlives-check-quorum.json");
        assert_eq!(confirm_in_turmoil(&lease, &lease, "lease-safety"), Confirmation::Shrunk);
        let passing = read("tests/regressions/timer-reset-by-higher-term.json");
        assert_eq!(confirm_in_turmoil(&passing, &lease, "lease-safety"), Confirmation::AsFound);
        assert_eq!(
            confirm_in_turmoil(&passing, &passing, "liveness"),
            Confirmation::OtherSeeds { failing: 0, seeds: TURMOIL_SEEDS }
        );
    }

    /// A guided campaign is the same campaign whatever the number of workers: the same
    /// mutants, the same corpus, the same marks.
    #[test]
    fn a_guided_campaign_does_not_depend_on_jobs() {
        let campaign = |jobs| {
            let out =
                std::env::temp_dir().join(format!("ballot-guided-{}-{jobs}", std::process::id()));
            let config = ChaosConfig {
                base_seed: 5,
                runs: Some(16),
                duration: None,
                jobs,
                shard: (0, 1),
                out: out.clone(),
                stop_on_violation: false,
                shrink_budget: 0,
                known: Vec::new(),
                guided: true,
                generation: 4,
                core: CoreName::Ballot,
                world: WorldName::Turmoil,
            };
            let quiet = Reporter { line: &|_| {}, progress: &|_| {} };
            let s = chaos(config, Arc::new(AtomicBool::new(false)), &quiet);
            let _ = std::fs::remove_dir_all(&out);
            (s.runs, s.sim_ms, s.marks, s.checked_runs, s.guided, s.first_runs)
        };
        let one = campaign(1);
        assert!(one.4.as_ref().is_some_and(|g| g.mutant_runs > 0 && g.corpus > 0), "{:?}", one.4);
        assert_eq!(campaign(3), one);
    }

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
