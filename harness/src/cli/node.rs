//! `ballot node`: one real node over UDP, its state and its history in one directory, its
//! leadership changes on stdout; SIGTERM or Ctrl-C shuts it down cleanly.

use super::bad_input;
use ballot_core::{Config, NodeId};
use ballot_node::{FileStorage, HistoryWriter, Node, NodeConfig, StdFileSystem, TokioClock};
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
    /// A member of the cluster as ID=HOST:PORT; give every member, this node included.
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
    match runtime.block_on(serve(config, &args.dir, args.history_max_bytes)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn serve(config: NodeConfig, dir: &Path, history_max_bytes: u64) -> Result<(), String> {
    let addr = config.members[&config.id];
    let socket =
        tokio::net::UdpSocket::bind(addr).await.map_err(|e| format!("bind {addr}: {e}"))?;
    let history_path = dir.join("history.jsonl");
    let clock = Arc::new(TokioClock::new());
    let history = Arc::new(
        HistoryWriter::create(&history_path, &config, clock.clone(), history_max_bytes)
            .map_err(|e| format!("{}: {e}", history_path.display()))?,
    );
    let storage = FileStorage::new(StdFileSystem, dir.join("state"));
    let (id, cluster) = (config.id, config.cluster_id);
    let (node, handle) =
        Node::new(config, socket, storage, clock, history.clone()).map_err(|e| e.to_string())?;
    println!(
        "node {} of cluster {cluster} on {addr}; state and history in {}",
        id.0,
        dir.display()
    );
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
