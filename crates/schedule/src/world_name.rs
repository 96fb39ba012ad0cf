//! The worlds a schedule can run in, by the names `--world` and history files use.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The worlds a schedule can run in (SPEC.md, `--world`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorldName {
    /// Real async nodes on turmoil's network and disk.
    #[default]
    Turmoil,
    /// The same cores and driver contract on an event queue.
    Events,
    /// Real node processes on 127.0.0.1 behind a fault proxy (`ballot run` only; not
    /// deterministic).
    Processes,
}

impl WorldName {
    /// Whether the world is simulated (seeded, deterministic): what every command but `run`
    /// and `repro` needs.
    pub fn simulated(self) -> bool {
        self != WorldName::Processes
    }
}

impl fmt::Display for WorldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorldName::Turmoil => "turmoil",
            WorldName::Events => "events",
            WorldName::Processes => "processes",
        })
    }
}

impl FromStr for WorldName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "turmoil" => Ok(WorldName::Turmoil),
            "events" => Ok(WorldName::Events),
            "processes" => Ok(WorldName::Processes),
            other => Err(format!("unknown world {other:?}: turmoil, events or processes")),
        }
    }
}
