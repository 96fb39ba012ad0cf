//! The processes world: a schedule run against real `ballot node` processes on 127.0.0.1,
//! talking through the harness's [`Proxy`]. `crash` is SIGKILL, `restart` starts the process
//! again on its directory, `pause`/`resume` are SIGSTOP/SIGCONT, `clock`, `propose` and
//! `transfer` go to the node's stdin; the network faults are the proxy's. Time is real time:
//! nothing here is deterministic, but everything is recorded (each node's history, written
//! through so that a killed node loses nothing its messages announced, its output, and the
//! proxy's log of every datagram's fate).
//!
//! Nothing is left behind: every process is killed and reaped and the run's directory removed
//! when the cluster is dropped, and [`interrupt_cleanup`] does the same from a Ctrl-C handler;
//! a node also dies with the harness (Linux's parent-death signal).

use super::proxy::{Links, Proxy};
use super::World;
use crate::seed::derive_seed;
use ballot_judge::history::{file, Event, EventKind, History};
use ballot_node::{wall_ms, StdFileSystem};
use ballot_schedule::faults::{self, Conditions, Op};
use ballot_schedule::{Schedule, Step};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

/// How long a node may take to start and say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Processes and directories of every live processes-world cluster, for a Ctrl-C handler.
static LIVE: Mutex<Vec<(Vec<u32>, PathBuf)>> = Mutex::new(Vec::new());

/// Kills every node process of every live cluster and removes their directories: what a
/// Ctrl-C handler calls before the harness exits.
pub fn interrupt_cleanup() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for (pids, dir) in live {
        for pid in pids {
            // SAFETY: kill(2) with a pid of a child this process started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// One running node process.
struct NodeProcess {
    child: Child,
    stdin: ChildStdin,
}

/// Where a processes-world run keeps its files, and the `ballot` binary it starts nodes of.
#[derive(Clone, Debug)]
pub struct ProcessOptions {
    /// The `ballot` binary (`ballot node` is what each process runs).
    pub binary: PathBuf,
    /// Copy every node's history, output and the proxy's log here at the end.
    pub record: Option<PathBuf>,
}

/// A cluster of real node processes behind the proxy.
pub struct ProcessCluster {
    schedule: Schedule,
    options: ProcessOptions,
    dir: PathBuf,
    proxy: Proxy,
    nodes: Vec<Option<NodeProcess>>,
    conditions: Conditions,
    origin_wall_ms: f64,
    /// The time the last `run_to` reached: the history shows what happened before it.
    reached_ms: f64,
    /// What the harness did: faults, crashes, restarts, the liveness phase.
    record_events: Mutex<Vec<Event>>,
    /// Nodes that exited without being crashed, with when and how.
    exited: Vec<String>,
    /// Damage done so far (`corrupt`), which seeds the next.
    damaged: u64,
    /// Each node's history file as last read: its length and its events.
    read: Mutex<Vec<(u64, Vec<Event>)>>,
}

impl ProcessCluster {
    /// Starts one node process per node of `schedule`'s cluster (ballot's core), each in a
    /// directory of its own under a fresh directory in the system's temporary directory.
    pub fn start(schedule: &Schedule, options: &ProcessOptions) -> Result<ProcessCluster, String> {
        let n = schedule.cluster.nodes;
        let dir = unique_dir().map_err(|e| format!("a run directory: {e}"))?;
        LIVE.lock().expect("live lock").push((Vec::new(), dir.clone()));
        // Until the cluster exists, its Drop cannot clean up: an error here does.
        let failed = |e: String| {
            let _ = std::fs::remove_dir_all(&dir);
            LIVE.lock().unwrap_or_else(|e| e.into_inner()).retain(|(_, d)| *d != dir);
            e
        };
        let config = serde_json::to_string(&schedule.cluster.core_config()).expect("a config");
        std::fs::write(dir.join("config.json"), config).map_err(|e| failed(e.to_string()))?;
        let proxy = Proxy::start(n, schedule.seed, Some(&dir.join("proxy.jsonl")))
            .map_err(|e| failed(format!("the proxy: {e}")))?;
        let conditions = Conditions::new(n, schedule.network.clone());
        let mut cluster = ProcessCluster {
            schedule: schedule.clone(),
            options: options.clone(),
            dir,
            proxy,
            nodes: (0..n).map(|_| None).collect(),
            conditions,
            origin_wall_ms: wall_ms(),
            reached_ms: 0.0,
            record_events: Mutex::new(Vec::new()),
            exited: Vec::new(),
            damaged: 0,
            read: Mutex::new(vec![(0, Vec::new()); n]),
        };
        cluster.set_links();
        for i in 0..n {
            cluster.spawn(i)?;
        }
        Ok(cluster)
    }

    /// The schedule the cluster was started for (its cluster, network and timing).
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Messages the nodes sent (through the proxy).
    pub fn messages(&self) -> u64 {
        self.proxy.datagrams()
    }

    /// Each node's process id, while it runs.
    pub fn pids(&self) -> Vec<Option<u32>> {
        self.nodes.iter().map(|n| n.as_ref().map(|n| n.child.id())).collect()
    }

    /// Nodes that exited on their own, each as one line saying when and how.
    pub fn exited(&self) -> &[String] {
        &self.exited
    }

    /// Damages stopped node `i`'s state or log file on the real disk (see
    /// [`faults::Corrupt`]), where the damage is drawn from the schedule's seed.
    fn damage(&mut self, i: usize, what: faults::Damage) {
        self.damaged += 1;
        let label = format!("node {i} damage {}", self.damaged);
        let mut rng = StdRng::seed_from_u64(derive_seed(self.schedule.seed, &label));
        let files = ["state", "state.log"]
            .iter()
            .map(|name| self.node_dir(i).join(name))
            .filter_map(|path| std::fs::read(&path).ok().map(|b| (path, b)))
            .collect();
        let Some((path, bytes)) = what.apply_to_one(files, &mut rng) else { return };
        if let Err(e) = StdFileSystem.write_atomic_blocking(&path, &bytes) {
            self.exited.push(format!("node {i}: could not damage {}: {e}", path.display()));
        }
    }

    fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}"))
    }

    /// What node `i`'s processes wrote on stderr (empty if nothing could be read).
    fn stderr_of(&self, i: usize) -> String {
        std::fs::read_to_string(self.node_dir(i).join("stderr.log")).unwrap_or_default()
    }

    /// Starts node `i`'s process on its directory and tells the proxy where it listens.
    fn spawn(&mut self, i: usize) -> Result<(), String> {
        let node_dir = self.node_dir(i);
        std::fs::create_dir_all(&node_dir).map_err(|e| e.to_string())?;
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node_dir.join("stderr.log"))
            .map_err(|e| e.to_string())?;
        let mut command = Command::new(&self.options.binary);
        command
            .arg("node")
            .args(["--id", &i.to_string(), "--dir"])
            .arg(&node_dir)
            .arg("--config")
            .arg(self.dir.join("config.json"))
            .arg("--history-write-through")
            .arg("--volatile-writes");
        for k in 0..self.nodes.len() {
            let addr =
                if k == i { "127.0.0.1:0".to_string() } else { self.proxy.addrs[k].to_string() };
            command.args(["--member", &format!("{k}={addr}")]);
        }
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::from(stderr));
        die_with_parent(&mut command);
        let mut child =
            command.spawn().map_err(|e| format!("{}: {e}", self.options.binary.display()))?;
        self.track(child.id(), true);
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let listening = log_output(stdout, node_dir.join("stdout.log"));
        let addr = match listening.recv_timeout(START_TIMEOUT) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                self.track(child.id(), false);
                let why = match e {
                    RecvTimeoutError::Timeout => "did not start in time".to_string(),
                    RecvTimeoutError::Disconnected => format!("exited at start ({status})"),
                };
                return Err(format!("node {i} {why}: {}", self.stderr_of(i).trim()));
            }
        };
        self.proxy.set_address(i, addr);
        self.nodes[i] = Some(NodeProcess { child, stdin });
        if self.conditions.clock_rates[i] != 1.0 {
            self.command(i, &serde_json::json!({"clock_rate": self.conditions.clock_rates[i]}));
        }
        if self.conditions.disk.write_ms[1] > 0 || self.conditions.disk.sync_ms[1] > 0 {
            self.command(i, &disk_command(&self.conditions.disk));
        }
        Ok(())
    }

    /// Adds (or, once reaped, removes) a process in this cluster's entry for the Ctrl-C
    /// handler: a reaped process's id may be reused by another.
    fn track(&self, pid: u32, running: bool) {
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((pids, _)) = live.iter_mut().find(|(_, dir)| *dir == self.dir) {
            pids.retain(|p| *p != pid);
            if running {
                pids.push(pid);
            }
        }
    }

    /// Sends a command line to node `i`'s stdin (if it runs).
    fn command(&mut self, i: usize, command: &serde_json::Value) {
        if let Some(node) = &mut self.nodes[i] {
            let _ = writeln!(node.stdin, "{command}");
            let _ = node.stdin.flush();
        }
    }

    /// Sends `signal` to node `i`'s process (if it runs).
    fn signal(&self, i: usize, signal: libc::c_int) {
        if let Some(node) = &self.nodes[i] {
            // SAFETY: kill(2) with the pid of a child not yet reaped.
            unsafe { libc::kill(node.child.id() as libc::pid_t, signal) };
        }
    }

    /// Kills node `i`'s process and reaps it.
    fn kill(&mut self, i: usize) {
        if let Some(mut node) = self.nodes[i].take() {
            let _ = node.child.kill();
            let _ = node.child.wait();
            self.track(node.child.id(), false);
        }
    }

    /// The proxy's links as the conditions say.
    fn set_links(&self) {
        let c = &self.conditions;
        self.proxy.set_links(Links {
            blocked: c.blocked.clone(),
            held: c.held.clone(),
            loss: c.loss,
            duplicate: c.duplicate,
            latency_ms: c.latency_ms,
        });
    }

    /// Real time since the start, milliseconds, on the wall clock the nodes date their events
    /// by: the harness's record and the nodes' files share one axis.
    fn real_ms(&self) -> f64 {
        wall_ms() - self.origin_wall_ms
    }

    /// Notes nodes whose process ended though the harness did not crash it: recorded as a
    /// crash (the node is down) and reported.
    fn reap_exited(&mut self) {
        for i in 0..self.nodes.len() {
            let Some(node) = &mut self.nodes[i] else { continue };
            let Ok(Some(status)) = node.child.try_wait() else { continue };
            let pid = node.child.id();
            self.track(pid, false);
            self.nodes[i] = None;
            let t = self.real_ms();
            let stderr = self.stderr_of(i);
            let last = stderr.lines().last().unwrap_or("nothing on stderr");
            self.exited.push(format!("node {i} exited on its own at {t:.0} ms ({status}): {last}"));
            self.conditions.up[i] = false;
            self.record_at(t, Some(i), EventKind::Crash);
        }
    }

    fn record_at(&self, t_ms: f64, node: Option<usize>, kind: EventKind) {
        self.record_events.lock().expect("record lock").push(Event { t_ms, node, kind });
    }

    /// The history up to `until_ms`: every node's file merged with the harness's record.
    fn read_history(&self, until_ms: f64) -> History {
        let mut events: Vec<Event> = self.record_events.lock().expect("record lock").clone();
        let mut read = self.read.lock().expect("read lock");
        for (i, (len, of_node)) in read.iter_mut().enumerate() {
            let path = self.node_dir(i).join("history.jsonl");
            let now = std::fs::metadata(&path).map_or(0, |m| m.len());
            if now != *len {
                if let Ok(events) = file::read_node_events(&path, self.origin_wall_ms) {
                    (*len, *of_node) = (now, events);
                }
            }
            events.extend(of_node.iter().cloned());
        }
        events.retain(|e| e.t_ms <= until_ms);
        let mut history = History::merged(self.nodes.len(), events);
        history.messages = self.messages();
        history
    }

    /// Copies what the run recorded (each node's history and output, the proxy's log) to
    /// `to`.
    fn copy_record(&self, to: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        std::fs::copy(self.dir.join("proxy.jsonl"), to.join("proxy.jsonl"))?;
        for i in 0..self.nodes.len() {
            for name in ["history.jsonl", "stdout.log", "stderr.log"] {
                let from = self.node_dir(i).join(name);
                if from.exists() {
                    std::fs::copy(&from, to.join(format!("node-{i}-{name}")))?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if let Some(to) = self.options.record.clone() {
            if let Err(e) = self.copy_record(&to) {
                eprintln!("could not copy the run's record to {}: {e}", to.display());
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        LIVE.lock().unwrap_or_else(|e| e.into_inner()).retain(|(_, dir)| *dir != self.dir);
    }
}

impl World for ProcessCluster {
    fn size(&self) -> usize {
        self.nodes.len()
    }

    fn now_ms(&self) -> f64 {
        self.reached_ms
    }

    fn run_to(&mut self, ms: u64) {
        loop {
            self.reap_exited();
            let left = ms as f64 - self.real_ms();
            if left <= 0.0 {
                break;
            }
            std::thread::sleep(Duration::from_secs_f64(left.min(20.0) / 1e3));
        }
        self.reached_ms = self.reached_ms.max(ms as f64);
    }

    fn with_history<R>(&self, f: impl FnOnce(&History) -> R) -> R {
        f(&self.read_history(self.reached_ms))
    }

    fn conditions(&self) -> &Conditions {
        &self.conditions
    }

    fn record_event(&self, node: Option<usize>, kind: EventKind) {
        self.record_at(self.real_ms(), node, kind);
    }

    fn apply(&mut self, op: Op) -> bool {
        let before = self.conditions.clone();
        let applied = op.apply(&mut self.conditions);
        if !applied {
            let step = Step::at(self.real_ms() as u64, op);
            self.record_event(None, EventKind::Fault { step, skipped: true });
            return false;
        }
        for i in 0..self.size() {
            if before.up[i] && !self.conditions.up[i] {
                self.kill(i);
            }
            if before.paused[i] != self.conditions.paused[i] {
                self.signal(
                    i,
                    if self.conditions.paused[i] { libc::SIGSTOP } else { libc::SIGCONT },
                );
            }
            if before.clock_rates[i] != self.conditions.clock_rates[i] && self.conditions.up[i] {
                self.command(i, &serde_json::json!({"clock_rate": self.conditions.clock_rates[i]}));
            }
            if before.disk != self.conditions.disk && self.conditions.up[i] {
                self.command(i, &disk_command(&self.conditions.disk));
            }
        }
        self.set_links();
        match &op {
            Op::Propose(p) => {
                let value = String::from_utf8_lossy(&p.payload()).into_owned();
                self.command(faults::index(p.node), &serde_json::json!({ "propose": value }));
            }
            Op::Transfer(t) => {
                let to = faults::index(t.to);
                self.command(faults::index(t.node), &serde_json::json!({ "transfer": to }));
            }
            Op::Corrupt(c) => self.damage(faults::index(c.node), c.what),
            _ => {}
        }
        let step = Step::at(self.real_ms() as u64, op);
        self.record_event(None, EventKind::Fault { step, skipped: false });
        for i in 0..self.size() {
            if before.up[i] && !self.conditions.up[i] {
                self.record_event(Some(i), EventKind::Crash);
            }
            if !before.up[i] && self.conditions.up[i] {
                self.record_event(Some(i), EventKind::Restart);
                if let Err(e) = self.spawn(i) {
                    self.record_event(Some(i), EventKind::Stopped { error: e.clone() });
                    self.exited.push(format!("node {i} did not restart: {e}"));
                    self.conditions.up[i] = false;
                    self.record_event(Some(i), EventKind::Crash);
                }
            }
        }
        true
    }
}

/// A fresh directory for one run, in the system's temporary directory.
fn unique_dir() -> std::io::Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ballot-processes-{}-{k}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Copies a node's stdout to `path`, sending back the address from its first line
/// (`node N of cluster C on ADDR; ...`).
fn log_output(stdout: std::process::ChildStdout, path: PathBuf) -> Receiver<SocketAddr> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(path).ok();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line
                .split_once(" on ")
                .and_then(|(_, rest)| rest.split(';').next())
                .and_then(|a| a.parse().ok())
            {
                let _ = tx.send(addr);
            }
            if let Some(log) = &mut log {
                let _ = writeln!(log, "{line}");
            }
        }
    });
    rx
}

/// The node process gets SIGKILL when the harness dies, however it dies (Linux).
fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
}

/// The command that slows a node's disk by `disk`'s latencies (on top of the machine's own).
fn disk_command(disk: &ballot_schedule::DiskSpec) -> serde_json::Value {
    serde_json::json!({"disk": {"write_ms": disk.write_ms, "sync_ms": disk.sync_ms}})
}
