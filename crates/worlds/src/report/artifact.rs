//! Failure artifacts: a runnable schedule, its summary and the command that reproduces it,
//! written atomically.

use super::{write_atomic, Summary};
use crate::world::WorldName;
use ballot_schedule::{parse_json, Schedule, ScheduleError};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

/// A saved failure (SPEC.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// A schedule file, runnable on its own.
    pub schedule: Schedule,
    /// What the run found.
    pub summary: Summary,
    /// The world it failed in (absent in a file: turmoil); `repro` and `shrink` run there.
    #[serde(default)]
    pub world: WorldName,
    /// For a finding of the event world: whether its schedule (shrunk, else as found) failed
    /// the same property in turmoil too, with the async node, its UDP and its disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_in_turmoil: Option<bool>,
    /// For a finding of the event world, what its replay in turmoil showed, in words
    /// ("confirmed in turmoil", "turmoil: 3 of 50 seeds fail (not its own)", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turmoil: Option<String>,
    /// One line that reproduces it.
    pub command: String,
}

impl Artifact {
    /// An artifact for `schedule`, which failed in `world`, saved at `path`.
    pub fn new(schedule: Schedule, summary: Summary, world: WorldName, path: &Path) -> Artifact {
        let command = format!("ballot repro {}", path.display());
        Artifact { schedule, summary, world, confirmed_in_turmoil: None, turmoil: None, command }
    }

    /// Reads an artifact, validating its schedule; errors name the field at fault.
    pub fn read(path: &Path) -> Result<Artifact, ScheduleError> {
        let artifact = Artifact::read_unvalidated(path)?;
        artifact.schedule.validate()?;
        Ok(artifact)
    }

    /// Reads an artifact file without validating its schedule for this build: what merging
    /// shards needs, whose artifacts may name a core only a fixture build runs.
    pub fn read_unvalidated(path: &Path) -> Result<Artifact, ScheduleError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScheduleError {
            field: path.display().to_string(),
            problem: e.to_string(),
        })?;
        parse_json(&text, "artifact")
    }

    /// Writes the artifact to `path` atomically: a temporary file, then a rename.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let json = serde_json::to_string_pretty(self).expect("artifacts serialize");
        write_atomic(path, json.as_bytes())
    }
}
