//! # ballot-judge: is this Raft election history safe and live?
//!
//! The judge reads histories in ballot's format (SPEC.md, "History": a meta line, then one
//! event a line), whoever wrote them: ballot's simulator, `ballot node`, or your own Raft's
//! tests. It derives views from the events once ([`history::Views`]: who led which term, who
//! voted for whom, what each node held durably, what the network was doing), judges every
//! named property on them ([`check`]: election safety, one vote per term, leader
//! completeness, lease safety, liveness and the rest, each saying over how long it was
//! judged), and explains slow failovers, frequent elections and overlapping leaders
//! ([`diagnose`]). It depends on serde, `ballot-core`'s types and `ballot-schedule`'s format,
//! and on no simulator, runtime or command line. Start with [`judge`] and [`Summary`].
//!
//! ```
//! // Two nodes' history files, as a Raft implementation's test could write them.
//! let meta = |node: u64| {
//!     format!(
//!         r#"{{"kind":"meta","format":1,"source":"node","cluster_id":7,"node":{node},"members":[{{"id":1,"addr":"a"}},{{"id":2,"addr":"b"}},{{"id":3,"addr":"c"}}],"config":{{}},"wall_ms":1000.0}}"#
//!     )
//! };
//! let role = |t: f64, node: u64, role: &str, term: u64| {
//!     format!(
//!         r#"{{"t_ms":{t},"wall_ms":{},"node":{node},"kind":"role","role":"{role}","term":{term}}}"#,
//!         1000.0 + t
//!     )
//! };
//! let file = |node: u64, lines: &[String]| (format!("node-{node}.jsonl"), format!("{}\n{}\n", meta(node), lines.join("\n")));
//!
//! // Node 0 leads term 2; node 1 follows it.
//! let healthy = [
//!     file(0, &[role(300.0, 0, "candidate", 2), role(310.0, 0, "leader", 2)]),
//!     file(1, &[role(305.0, 1, "follower", 2)]),
//! ];
//! let run = ballot_judge::judge(healthy).expect("a well-formed history");
//! assert_eq!(run.summary.verdict, ballot_judge::Verdict::Pass);
//!
//! // Both lead term 2: election safety is broken.
//! let broken = [
//!     file(0, &[role(300.0, 0, "candidate", 2), role(310.0, 0, "leader", 2)]),
//!     file(1, &[role(302.0, 1, "candidate", 2), role(312.0, 1, "leader", 2)]),
//! ];
//! let run = ballot_judge::judge(broken).expect("a well-formed history");
//! assert_eq!(run.summary.verdict, ballot_judge::Verdict::Safety);
//! assert!(run.summary.violates("election-safety"));
//! ```

#![warn(missing_docs)]

pub mod check;
pub mod diagnose;
pub mod history;
mod run;
pub mod summary;
pub mod timeline;

pub use check::{Class, Violation, PROPERTIES};
pub use history::{Event, EventKind, History, Views};
pub use run::{setup_of, Run};
pub use summary::{Summary, Verdict};

/// Judges a history with every property it supports: `files` are one file the simulator
/// wrote, or the files of a real cluster's nodes (merged by wall clock), each a name (for
/// errors) and its text. A malformed line, a file of another cluster or an unknown format
/// is an error naming the file and line; a property the history cannot support is marked
/// unsupported in the summary, never passed.
pub fn judge<N, T>(files: impl IntoIterator<Item = (N, T)>) -> Result<Run, String>
where
    N: Into<String>,
    T: AsRef<[u8]> + 'static,
{
    let readers = files
        .into_iter()
        .map(|(name, text)| {
            let reader: Box<dyn std::io::BufRead> = Box::new(std::io::Cursor::new(text));
            (name.into(), reader)
        })
        .collect();
    history::file::read(readers).map(Run::of_file)
}
