//! `ballot chaos merge`: the summaries and artifacts of several shards of a campaign (run on
//! several machines) combined into one, each finding kept once.

use super::chaos::{ChaosSummary, Percentiles};
use ballot_worlds::report::{write_atomic, Artifact};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Why shards could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A shard directory lacks a readable summary.
    #[error("{path}: {problem}")]
    Summary {
        /// The summary file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The shards belong to different campaigns.
    #[error("{path}: base seed {found}, but the first shard's is {expected}: not one campaign")]
    BaseSeed {
        /// The summary file.
        path: PathBuf,
        /// The first shard's base seed.
        expected: u64,
        /// This one's.
        found: u64,
    },
    /// Writing the merged result failed.
    #[error("{path}: {source}")]
    Write {
        /// What could not be written.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

fn read_summary(dir: &Path) -> Result<ChaosSummary, MergeError> {
    let path = dir.join("summary.json");
    let bad = |problem: String| MergeError::Summary { path: path.clone(), problem };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
}

/// Merges the shards in `dirs` into `out`: one `summary.json` (runs, simulated time, checked
/// runs, marks and failover histograms summed; percentiles recomputed) and every artifact
/// (with its timeline) copied once: artifacts with the same property and the same shrunk
/// schedule are one finding.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<ChaosSummary, MergeError> {
    let mut merged = ChaosSummary::default();
    let mut findings: BTreeMap<(String, String), (PathBuf, Artifact)> = BTreeMap::new();
    for (i, dir) in dirs.iter().enumerate() {
        let s = read_summary(dir)?;
        if i == 0 {
            merged.base_seed = s.base_seed;
        } else if s.base_seed != merged.base_seed {
            let path = dir.join("summary.json");
            return Err(MergeError::BaseSeed {
                path,
                expected: merged.base_seed,
                found: s.base_seed,
            });
        }
        merged.shards.extend(s.shards);
        merged.runs += s.runs;
        merged.sim_ms += s.sim_ms;
        merged.jobs += s.jobs;
        merged.wall_s = merged.wall_s.max(s.wall_s);
        for (k, v) in s.checked_runs {
            *merged.checked_runs.entry(k).or_default() += v;
        }
        for (k, v) in s.marks {
            *merged.marks.entry(k).or_default() += v;
        }
        for (k, v) in s.failover_histogram_ms {
            *merged.failover_histogram_ms.entry(k).or_default() += v;
        }
        for listed in &s.artifacts {
            let name = Path::new(listed).file_name().map(PathBuf::from).unwrap_or_default();
            let path = dir.join(&name);
            let artifact = Artifact::read_unvalidated(&path)
                .map_err(|e| MergeError::Summary { path: path.clone(), problem: e.to_string() })?;
            let Some(property) = artifact.summary.violations.first().map(|v| v.property.clone())
            else {
                continue;
            };
            findings.entry((property, artifact.schedule.to_json())).or_insert((path, artifact));
        }
    }
    merged.shards.sort();
    merged.failover_ms = Percentiles::of(&merged.failover_histogram_ms);
    for ((property, _), (from, artifact)) in &findings {
        let name = from.file_name().expect("an artifact file");
        let to = out.join(name);
        let write = |path: &Path, bytes: &[u8]| {
            write_atomic(path, bytes)
                .map_err(|source| MergeError::Write { path: path.into(), source })
        };
        let mut artifact = artifact.clone();
        artifact.command = format!("ballot repro {}", to.display());
        let json = serde_json::to_string_pretty(&artifact).expect("artifacts serialize");
        write(&to, json.as_bytes())?;
        if let Ok(html) = std::fs::read(from.with_extension("html")) {
            write(&to.with_extension("html"), &html)?;
        }
        *merged.violations.entry(property.clone()).or_default() += 1;
        merged.artifacts.push(to.display().to_string());
        if artifact.confirmed_in_turmoil == Some(false) {
            merged.event_world_only.push(to.display().to_string());
        }
    }
    merged.artifacts.sort();
    merged.event_world_only.sort();
    let json = serde_json::to_string_pretty(&merged).expect("summaries serialize");
    let path = out.join("summary.json");
    write_atomic(&path, json.as_bytes()).map_err(|source| MergeError::Write { path, source })?;
    Ok(merged)
}
