//! What a run leaves behind: its summary and verdict, failure artifacts, timelines, and the
//! one way files are written (atomically, synced).

mod artifact;

pub use artifact::Artifact;
pub use ballot_judge::summary::{Stats, Summary, Verdict};
pub use ballot_judge::timeline;

use ballot_node::StdFileSystem;
use std::io;
use std::path::Path;

/// Writes `bytes` to `path` atomically and durably (a synced temporary file renamed into
/// place, then the directory synced), creating the directory first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    StdFileSystem.write_atomic_blocking(path, bytes)
}
