//! `ballot node`: one real node over UDP, its state and its history in one directory, its
//! leadership changes on stdout; SIGTERM or Ctrl-C shuts it down cleanly. Its own interface is
//! stdin, one JSON command a line: `{"propose": "VALUE"}` (a client write; the outcome is
//! printed), `{"transfer": ID}` (hand leadership to that member), `{"clock_rate": RATE}`
//! (run the node's clock at RATE × real time: drift on demand, for fault injection) and
//! `{"disk": {"write_ms": [MIN, MAX], "sync_ms": [MIN, MAX]}}` (add that much to every
//! write and sync of its disk: a slow disk on demand).

use super::bad_input;
use crate::world::volatile::VolatileWrites;
use ballot_core::{Config, NodeId};
use ballot_node::{
    AddedLatency, DirLock, DiskDelay, FileStorage, FileSystem, HistoryWriter, Node, NodeConfig,
    NodeHandle, RateClock, SlowDisk, StdFileSystem,
};
use ballot_schedule::MAX_DISK_MS;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The flags of `ballot node`.
#[derive(clap::Args)]
pub(crate) struct NodeArgs {
    /// This node's id: one of the members.
    #[arg(long)]
    id: u64,
    /// A member of the cluster as ID=HOST:PORT; give every member, this node included (port 0
    /// for this node picks a free port, printed at start).
    #[arg(long = "member", value_name = "ID=ADDR", required = true, value_parser = parse_member)]
    members: Vec<(u64, SocketAddr)>,
    /// The cluster's id: datagrams of any other cluster are dropped.
    #[arg(long, default_value_t = 1)]
    cluster_id: u64,
    /// The node's directory (created if missing): its state, its log and its history.
    #[arg(long)]
    dir: PathBuf,
    /// The election core's settings: a JSON object of `ballot_core::Config` fields (the
    /// rest default: 150-300 ms timeouts, 50 ms heartbeat, pre-vote and check-quorum on).
    #[arg(long, value_name = "CONFIG.json")]
    config: Option<PathBuf>,
    /// The history file's size bound, bytes (events past it are dropped and counted).
    #[arg(long, default_value_t = 64 << 20)]
    history_max_bytes: u64,
    /// Write each history event before the node goes on, instead of from a thread: a node
    /// killed at any instant leaves every event that its messages announced (what fault
    /// injection on real processes needs), at a write per event.
    #[arg(long)]
    history_write_through: bool,
    /// Hold each write to the state and log files in memory until it is synced, so that a
    /// killed process loses what it had not synced, as a machine that loses power would
    /// (fault injection: the kernel would otherwise keep every write of a killed process).
    #[arg(long)]
    volatile_writes: bool,
}

/// `ID=HOST:PORT`.
fn parse_member(text: &str) -> Result<(u64, SocketAddr), String> {
    let (id, addr) = text.split_once('=').ok_or("expected ID=HOST:PORT")?;
    let id = id.parse().map_err(|e| format!("id {id:?}: {e}"))?;
    let addr = addr.parse().map_err(|e| format!("address {addr:?}: {e}"))?;
    Ok((id, addr))
}

/// The node's configuration from its flags.
fn config_of(args: &NodeArgs) -> Result<NodeConfig, String> {
    let members: BTreeMap<NodeId, SocketAddr> =
        args.members.iter().map(|&(id, addr)| (NodeId(id), addr)).collect();
    if members.len() != args.members.len() {
        return Err("--member: an id given twice".into());
    }
    if !members.contains_key(&NodeId(args.id)) {
        return Err(format!("--id {}: not one of the members", args.id));
    }
    let core = match &args.config {
        None => Config::default(),
        Some(path) => read_core_config(path).map_err(|e| format!("{}: {e}", path.display()))?,
    };
    core.validate().map_err(|e| format!("core configuration: {e}"))?;
    // Real nodes need no determinism: each start draws its own timeouts.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Ok(NodeConfig {
        id: NodeId(args.id),
        cluster_id: args.cluster_id,
        members,
        core,
        seed: nanos ^ args.id,
    })
}

/// The core configuration in a JSON file: the fields of [`Config`], each optional; a field it
/// does not have (a misspelt one, say) is refused rather than left at its default.
fn read_core_config(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let given: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let known = serde_json::to_value(Config::default()).expect("the configuration serializes");
    if let (Some(given), Some(known)) = (given.as_object(), known.as_object()) {
        if let Some(unknown) = given.keys().find(|k| !known.contains_key(*k)) {
            let fields: Vec<&str> = known.keys().map(String::as_str).collect();
            return Err(format!("unknown field `{unknown}` (the fields: {})", fields.join(", ")));
        }
    }
    serde_json::from_value(given).map_err(|e| e.to_string())
}

/// Why a node ended with an error.
enum Stop {
    /// It could not start (a port taken, a directory another node holds or cannot be read,
    /// state it cannot trust): bad input, exit 2.
    Start(String),
    /// It ran, and had to stop (its disk failed): exit 1.
    Failed(String),
}

/// Runs the node until SIGTERM or Ctrl-C.
pub(crate) fn node(args: NodeArgs) -> ExitCode {
    let config = match config_of(&args) {
        Ok(config) => config,
        Err(e) => return bad_input(e),
    };
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        return bad_input(format!("{}: {e}", args.dir.display()));
    }
    // Held until the process ends: a second node on this directory is refused.
    let _lock = match DirLock::acquire(&args.dir) {
        Ok(lock) => lock,
        Err(e) => return bad_input(e),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let served = runtime.block_on(async {
        let (delay, seed) = (DiskDelay::default(), config.seed);
        if args.volatile_writes {
            let fs = SlowDisk::new(VolatileWrites::default(), delay.clone(), seed);
            serve(fs, delay, config, &args).await
        } else {
            serve(SlowDisk::new(StdFileSystem, delay.clone(), seed), delay, config, &args).await
        }
    });
    // The thread that reads stdin blocks in read(2) until a line or the end comes, and a
    // runtime dropped as usual would wait for it: leave it behind, the process ends now.
    runtime.shutdown_background();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Start(e)) => bad_input(e),
        Err(Stop::Failed(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Runs the node on the file system `fs` until SIGTERM or Ctrl-C.
/// `delay` slows `fs` on command.
async fn serve<F: FileSystem>(
    fs: F,
    delay: DiskDelay,
    mut config: NodeConfig,
    args: &NodeArgs,
) -> Result<(), Stop> {
    let asked = config.members[&config.id];
    let socket = tokio::net::UdpSocket::bind(asked)
        .await
        .map_err(|e| Stop::Start(format!("bind {asked}: {e}")))?;
    let addr = socket.local_addr().map_err(|e| Stop::Start(e.to_string()))?;
    config.members.insert(config.id, addr);
    let history_path = args.dir.join("history.jsonl");
    let clock = Arc::new(RateClock::new());
    let open = if args.history_write_through {
        HistoryWriter::create_write_through
    } else {
        HistoryWriter::create
    };
    let history = Arc::new(
        open(&history_path, &config, clock.clone(), args.history_max_bytes)
            .map_err(|e| Stop::Start(format!("{}: {e}", history_path.display())))?,
    );
    let storage = FileStorage::new(fs, args.dir.join("state"));
    let (id, cluster) = (config.id, config.cluster_id);
    let (node, handle) = Node::new(config, socket, storage, clock.clone(), history.clone())
        .map_err(|e| Stop::Start(e.to_string()))?;
    println!(
        "node {} of cluster {cluster} on {addr}; state and history in {}",
        id.0,
        args.dir.display()
    );
    tokio::spawn(take_commands(handle.clone(), clock, delay));
    let task = tokio::spawn(node.run());
    let mut changes = handle.watch();
    // Both streams exist before the loop, so that a signal between two turns is not missed.
    let stream = |kind| tokio::signal::unix::signal(kind).map_err(|e| Stop::Start(e.to_string()));
    let mut terminate = stream(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = stream(tokio::signal::unix::SignalKind::interrupt())?;
    let mut shown = None;
    loop {
        let now = *changes.borrow_and_update();
        let view = (now.term, now.leader);
        if shown != Some(view) && !now.stopped {
            match now.leader {
                Some(leader) => println!("term {}: leader node {}", now.term.0, leader.0),
                None => println!("term {}: no leader", now.term.0),
            }
            shown = Some(view);
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { break },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    handle.shutdown();
    let result = task.await.map_err(|e| Stop::Failed(e.to_string()))?;
    let result = result.map_err(|e| Stop::Failed(e.to_string()));
    if let Ok(history) = Arc::try_unwrap(history) {
        history.close();
    }
    println!("node {} stopped", id.0);
    result
}

/// A command on stdin (see the module's documentation).
#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Command {
    /// A client write.
    Propose(String),
    /// Hand leadership to this member.
    Transfer(u64),
    /// Run the node's clock at this rate of real time.
    ClockRate(f64),
    /// Add these latencies to every write and sync of the node's disk from now on.
    Disk(DiskCommand),
}

/// `{"disk": {"write_ms": [MIN, MAX], "sync_ms": [MIN, MAX]}}`: latencies added to the
/// disk's own, milliseconds (zero: its own speed), as a schedule's `disk` step gives them.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskCommand {
    write_ms: [u64; 2],
    sync_ms: [u64; 2],
}

impl DiskCommand {
    /// The latencies, if each range is in order and at most [`MAX_DISK_MS`].
    fn latency(&self) -> Result<AddedLatency, String> {
        for (name, [min, max]) in [("write_ms", self.write_ms), ("sync_ms", self.sync_ms)] {
            if min > max || max > MAX_DISK_MS {
                return Err(format!(
                    "disk {name} [{min}, {max}]: a range [min, max] of at most {MAX_DISK_MS} ms"
                ));
            }
        }
        Ok(AddedLatency { write_ms: self.write_ms, sync_ms: self.sync_ms })
    }
}

/// The longest command line taken, bytes; a longer one is skipped as it streams past, so
/// that no input can grow the node's memory.
const MAX_COMMAND_BYTES: usize = 64 << 10;

/// How much of a bad line an error message quotes, characters.
const QUOTED_CHARS: usize = 80;

/// The commands, for error messages.
const COMMANDS: &str = r#"commands: {"propose": "VALUE"}, {"transfer": ID}, {"clock_rate": RATE}, {"disk": {"write_ms": [MIN, MAX], "sync_ms": [MIN, MAX]}}"#;

/// The next line of `input` (without its newline), at most [`MAX_COMMAND_BYTES`]: `Ok(None)`
/// at the end, `Err(length)` for a longer line (read to its end and dropped).
async fn next_line<R: tokio::io::AsyncBufRead + Unpin>(
    input: &mut R,
) -> std::io::Result<Option<Result<Vec<u8>, usize>>> {
    use tokio::io::AsyncBufReadExt;
    let (mut line, mut length) = (Vec::new(), 0usize);
    let whole = |line, length| if length > MAX_COMMAND_BYTES { Err(length) } else { Ok(line) };
    loop {
        let buffer = input.fill_buf().await?;
        if buffer.is_empty() {
            return Ok((length > 0).then(|| whole(line, length)));
        }
        let (chunk, ends) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (&buffer[..at], true),
            None => (buffer, false),
        };
        length = length.saturating_add(chunk.len());
        if length <= MAX_COMMAND_BYTES {
            line.extend_from_slice(chunk);
        } else {
            line = Vec::new();
        }
        let used = chunk.len() + usize::from(ends);
        input.consume(used);
        if ends {
            return Ok(Some(whole(line, length)));
        }
    }
}

/// At most [`QUOTED_CHARS`] of a line, for an error message.
fn quoted(line: &str) -> String {
    let mut shown: String = line.chars().take(QUOTED_CHARS).collect();
    if shown.len() < line.len() {
        shown.push_str("...");
    }
    format!("{shown:?}")
}

/// Reads commands from stdin until it ends; a line that is not a command (not JSON, not
/// UTF-8, longer than [`MAX_COMMAND_BYTES`]) is reported on stderr in one short line and
/// skipped, and the next is taken as usual.
async fn take_commands(handle: NodeHandle, clock: Arc<RateClock>, delay: DiskDelay) {
    let mut input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut number = 0u64;
    while let Ok(Some(line)) = next_line(&mut input).await {
        number += 1;
        let line = match line.map(String::from_utf8) {
            Ok(Ok(line)) => line,
            Ok(Err(_)) => {
                eprintln!("error: stdin line {number}: not UTF-8, skipped ({COMMANDS})");
                continue;
            }
            Err(length) => {
                eprintln!(
                    "error: stdin line {number}: {length} bytes, longer than the {MAX_COMMAND_BYTES} a command may have; skipped"
                );
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Command>(&line) {
            Ok(Command::Propose(value)) => {
                let outcome = handle.submit(value.into_bytes());
                tokio::spawn(async move {
                    match outcome.await {
                        Ok(Ok(c)) => {
                            println!("committed at index {} in term {}", c.index, c.term.0)
                        }
                        Ok(Err(e)) => println!("proposal refused: {e}"),
                        Err(_) => println!("proposal refused: the node stopped"),
                    }
                });
            }
            Ok(Command::Transfer(to)) => {
                let outcome = handle.start_transfer(Some(NodeId(to)));
                tokio::spawn(async move {
                    match outcome.await {
                        Ok(Ok(())) => println!("transfer to node {to} started"),
                        Ok(Err(e)) => println!("transfer refused: {e}"),
                        Err(_) => println!("transfer refused: the node stopped"),
                    }
                });
            }
            Ok(Command::ClockRate(rate)) => match clock.set_rate(rate) {
                Ok(()) => println!("clock at {rate} x real time"),
                Err(e) => eprintln!("error: stdin line {number}: {e}"),
            },
            Ok(Command::Disk(disk)) => match disk.latency() {
                Ok(latency) => {
                    delay.set(latency);
                    println!(
                        "disk slowed by {:?} ms a write, {:?} ms a sync",
                        latency.write_ms, latency.sync_ms
                    );
                }
                Err(e) => eprintln!("error: stdin line {number}: {e}"),
            },
            Err(e) => {
                eprintln!("error: stdin line {number}: {}: {e} ({COMMANDS})", quoted(&line))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines come whole up to the bound; a longer one is measured and dropped without being
    /// held, and the line after it is read as usual; a last line without a newline counts.
    #[tokio::test]
    async fn lines_are_bounded_and_a_long_one_does_not_stop_the_next() {
        let long = vec![b'x'; MAX_COMMAND_BYTES * 3];
        let input = [b"first\n".as_slice(), &long, b"\n\xff\xfe\nlast"].concat();
        let mut reader = tokio::io::BufReader::with_capacity(1000, input.as_slice());
        let mut lines = Vec::new();
        while let Some(line) = next_line(&mut reader).await.unwrap() {
            lines.push(line);
        }
        assert_eq!(
            lines,
            vec![
                Ok(b"first".to_vec()),
                Err(long.len()),
                Ok(vec![0xff, 0xfe]),
                Ok(b"last".to_vec())
            ]
        );
    }

    #[test]
    fn a_bad_line_is_quoted_short() {
        let quoted = quoted(&"y".repeat(10_000_000));
        assert!(quoted.len() < QUOTED_CHARS + 10, "{quoted}");
        assert!(quoted.ends_with("...\""));
    }

    #[test]
    fn a_misspelt_configuration_field_is_refused() {
        let path = std::env::temp_dir().join(format!("ballot-config-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"election_timout_min_ms": 500}"#).unwrap();
        let err = read_core_config(&path).unwrap_err();
        assert!(err.contains("unknown field `election_timout_min_ms`"), "{err}");
        assert!(err.contains("election_timeout_min_ms"), "names the fields: {err}");
        std::fs::write(
            &path,
            r#"{"election_timeout_min_ms": 500, "election_timeout_max_ms": 900}"#,
        )
        .unwrap();
        assert_eq!(read_core_config(&path).unwrap().election_timeout_min_ms, 500);
        let _ = std::fs::remove_file(&path);
    }
}
