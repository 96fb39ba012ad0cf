//! `ballot node`: one real node over UDP, its state and its history in one directory, its
//! leadership changes on stdout; SIGTERM or Ctrl-C shuts it down cleanly. Its own interface is
//! stdin, one JSON command a line: `{"propose": "VALUE"}` (a client write; the outcome is
//! printed), `{"transfer": ID}` (hand leadership to that member) and `{"clock_rate": RATE}`
//! (run the node's clock at RATE × real time: drift on demand, for fault injection).

use super::bad_input;
use crate::world::volatile::VolatileWrites;
use ballot_core::{Config, NodeId};
use ballot_node::{
    FileStorage, FileSystem, HistoryWriter, Node, NodeConfig, NodeHandle, RateClock, StdFileSystem,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
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
    let core: Config = match &args.config {
        None => Config::default(),
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
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

/// Runs the node until SIGTERM or Ctrl-C.
pub(crate) fn node(args: NodeArgs) -> ExitCode {
    let config = match config_of(&args) {
        Ok(config) => config,
        Err(e) => return bad_input(e),
    };
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        return bad_input(format!("{}: {e}", args.dir.display()));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let served = runtime.block_on(async {
        if args.volatile_writes {
            serve(VolatileWrites::default(), config, &args).await
        } else {
            serve(StdFileSystem, config, &args).await
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Runs the node on the file system `fs` until SIGTERM or Ctrl-C.
async fn serve<F: FileSystem>(
    fs: F,
    mut config: NodeConfig,
    args: &NodeArgs,
) -> Result<(), String> {
    let asked = config.members[&config.id];
    let socket =
        tokio::net::UdpSocket::bind(asked).await.map_err(|e| format!("bind {asked}: {e}"))?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
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
            .map_err(|e| format!("{}: {e}", history_path.display()))?,
    );
    let storage = FileStorage::new(fs, args.dir.join("state"));
    let (id, cluster) = (config.id, config.cluster_id);
    let (node, handle) = Node::new(config, socket, storage, clock.clone(), history.clone())
        .map_err(|e| e.to_string())?;
    println!(
        "node {} of cluster {cluster} on {addr}; state and history in {}",
        id.0,
        args.dir.display()
    );
    tokio::spawn(take_commands(handle.clone(), clock));
    let task = tokio::spawn(node.run());
    let mut changes = handle.watch();
    // Both streams exist before the loop, so that a signal between two turns is not missed.
    let stream = |kind| tokio::signal::unix::signal(kind).map_err(|e| e.to_string());
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
    let result = task.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string());
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
}

/// Reads commands from stdin until it ends; a line that is not a command is reported on
/// stderr and skipped.
async fn take_commands(handle: NodeHandle, clock: Arc<RateClock>) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Command>(&line) {
            Ok(Command::Propose(value)) => {
                let outcome = handle.submit(value.into_bytes());
                tokio::spawn(async move {
                    match outcome.await {
                        Ok(Ok(c)) => println!("committed at index {} in term {}", c.index, c.term.0),
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
            Ok(Command::ClockRate(rate)) if rate.is_finite() && rate > 0.0 => {
                clock.set_rate(rate);
                println!("clock at {rate} x real time");
            }
            Ok(Command::ClockRate(rate)) => eprintln!("error: clock rate {rate}: a rate is above 0"),
            Err(e) => eprintln!(
                "error: {line:?}: {e} (commands: {{\"propose\": \"VALUE\"}}, {{\"transfer\": ID}}, {{\"clock_rate\": RATE}})"
            ),
        }
    }
}
