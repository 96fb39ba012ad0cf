//! The node's task: feeds its [`NodeMachine`] with time, datagrams and requests, and carries
//! out each batch over a real transport and disk: send what may go, persist, send the rest,
//! report commits.

use crate::api::{Command, Committed, NodeHandle, RequestError};
use crate::clock::Clock;
use crate::core::ElectionCore;
use crate::events::{NodeEvent, Observer};
use crate::machine::{Datagram, NodeConfig, NodeMachine};
use crate::storage::{Owner, Storage, StorageError};
use crate::transport::Transport;
use crate::wire::MAX_DATAGRAM;
use ballot_core::{InitError, LogIndex, Raft, Term};
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tracing::{warn, Instrument};

/// Most datagrams taken in one turn of the node's loop before it flushes (and checks its
/// timers again).
const RECEIVE_BATCH: usize = 64;

/// Why a node could not start, or had to stop.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The configuration or the persisted state is unusable.
    #[error(transparent)]
    Init(#[from] InitError),
    /// Storage failed; the node stopped before anything unpersisted could leave it.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A running election node: the core (ballot's own unless another [`ElectionCore`] is
/// named), a transport, a storage and a clock.
pub struct Node<T, S, C: ElectionCore = Raft> {
    machine: NodeMachine<C>,
    transport: T,
    storage: S,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn Observer>,
    commands: mpsc::UnboundedReceiver<Command>,
    pending: BTreeMap<LogIndex, (Term, oneshot::Sender<Result<Committed, RequestError>>)>,
}

impl<T: Transport, S: Storage> Node<T, S> {
    /// Loads the persisted state and builds a node of ballot's core; [`Node::run`] starts it.
    pub fn new(
        config: NodeConfig,
        transport: T,
        storage: S,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn Observer>,
    ) -> Result<(Node<T, S>, NodeHandle), NodeError> {
        Node::with_core(config, transport, storage, clock, observer)
    }
}

impl<T: Transport, S: Storage, C: ElectionCore> Node<T, S, C> {
    /// Loads the persisted state and builds a node of core `C`; [`Node::run`] starts it.
    pub fn with_core(
        config: NodeConfig,
        transport: T,
        mut storage: S,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn Observer>,
    ) -> Result<(Node<T, S, C>, NodeHandle), NodeError> {
        let persisted = storage.load(Owner { cluster_id: config.cluster_id, node: config.id })?;
        let machine = NodeMachine::start(config, persisted, clock.now_ms(), observer.clone())?;
        let (tx, commands) = mpsc::unbounded_channel();
        let handle = NodeHandle {
            commands: tx,
            leadership: machine.watch(),
            clock: clock.clone(),
            stats: machine.stats(),
        };
        let node = Node {
            machine,
            transport,
            storage,
            clock,
            observer,
            commands,
            pending: BTreeMap::new(),
        };
        Ok((node, handle))
    }

    /// Runs until shut down, inside a `node` tracing span carrying its id (each batch of
    /// work in a `term` span).
    ///
    /// Runs until shut down (`Ok`, after reporting [`NodeEvent::Shutdown`]) or until it
    /// cannot go on safely (`Err`, after publishing `stopped` and reporting
    /// [`NodeEvent::Stopped`]).
    pub async fn run(mut self) -> Result<(), NodeError> {
        let id = self.machine.id();
        let span = tracing::info_span!("node", id = id.0);
        let result = self.run_loop().instrument(span).await;
        match &result {
            Ok(()) => self.observer.event(id, &NodeEvent::Shutdown),
            Err(e) => {
                warn!(node = id.0, error = %e, "node stopped");
                self.observer.event(id, &NodeEvent::Stopped { error: e.to_string() });
            }
        }
        self.machine.stop();
        for (_, (_, reply)) in std::mem::take(&mut self.pending) {
            let _ = reply.send(Err(RequestError::Stopped));
        }
        result
    }

    async fn run_loop(&mut self) -> Result<(), NodeError> {
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        let mut commands_open = true;
        loop {
            self.machine.tick(self.clock.now_ms());
            // Every request that queued up (while the disk was busy, say) is taken now and
            // persisted in one write, so that a burst of proposals neither costs a sync each
            // nor keeps the node from hearing its peers.
            while commands_open {
                match self.commands.try_recv() {
                    Ok(Command::Shutdown) => return Ok(()),
                    Ok(command) => self.handle_command(command),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => commands_open = false,
                }
            }
            let term = self.machine.core().soft_state().term.0;
            self.flush().instrument(tracing::info_span!("term", term)).await?;
            // Never sleep zero: a deadline the core left in the past must not spin the loop.
            let wake = self.machine.next_deadline().max(self.clock.now_ms() + 1);
            let sleep = self.clock.sleep_until(wake);
            // `biased`: tokio's random branch choice is not seeded, and must not decide
            // anything in a simulation. Timers and requests cannot starve: they are taken
            // above, at every turn.
            tokio::select! {
                biased;
                received = self.transport.recv_from(&mut buf) => match received {
                    Ok((len, from)) => {
                        if self.machine.receive(&buf[..len], from, self.clock.now_ms()) {
                            self.receive_backlog(&mut buf);
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "receive failed");
                        self.machine.count_drop("recv_error");
                    }
                },
                command = self.commands.recv(), if commands_open => match command {
                    Some(Command::Shutdown) => return Ok(()),
                    Some(command) => self.handle_command(command),
                    None => commands_open = false,
                },
                () = sleep => {}
            }
            self.machine.woke(wake, self.clock.now_ms());
        }
    }

    fn handle_command(&mut self, command: Command) {
        let now = self.clock.now_ms();
        match command {
            Command::Propose(data, reply) => match self.machine.propose(data, now) {
                Ok((index, term)) => {
                    self.pending.insert(index, (term, reply));
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            },
            Command::Transfer(target, reply) => {
                let _ = reply.send(self.machine.transfer(target, now));
            }
            Command::Reconfigure(core, reply) => {
                let _ = reply.send(self.machine.reconfigure(core));
            }
            Command::Shutdown => unreachable!("handled by the loop"),
        }
    }

    /// Takes what else has already arrived (up to [`RECEIVE_BATCH`] datagrams), so that one
    /// flush, and at most one write to the disk, answers a backlog of replication traffic: a
    /// node whose disk is slow must not hear its peers one datagram per write. The turn ends
    /// after anything else (a vote request, say), so that its answer leaves, and is recorded,
    /// before whatever arrived after it is handled.
    fn receive_backlog(&mut self, buf: &mut [u8]) {
        for _ in 1..RECEIVE_BATCH {
            match self.transport.try_recv_from(buf) {
                Ok(Some((len, from))) => {
                    if !self.machine.receive(&buf[..len], from, self.clock.now_ms()) {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    warn!(error = %e, "receive failed");
                    self.machine.count_drop("recv_error");
                    break;
                }
            }
        }
    }

    /// Carries out every pending batch: send what may go at once, persist, send the rest,
    /// answer the proposals that committed; then publish leadership.
    async fn flush(&mut self) -> Result<(), NodeError> {
        while let Some(mut flush) = self.machine.next_flush() {
            self.send_all(std::mem::take(&mut flush.first)).await;
            if let Some(write) = &flush.write {
                let began = self.clock.now_ms();
                self.storage.save(write.hard_state, write.log_write.as_ref()).await?;
                self.machine.persisted(write, self.clock.now_ms().saturating_sub(began));
            }
            let finished = self.machine.finish(flush);
            self.send_all(finished.after).await;
            for (index, term) in finished.committed {
                if let Some((proposed, reply)) = self.pending.remove(&index) {
                    let outcome = if proposed == term {
                        Ok(Committed { index, term })
                    } else {
                        Err(RequestError::Superseded { index, by: term })
                    };
                    let _ = reply.send(outcome);
                }
            }
        }
        self.machine.publish();
        Ok(())
    }

    async fn send_all(&mut self, datagrams: Vec<Datagram>) {
        for Datagram { to, bytes } in datagrams {
            if let Err(e) = self.transport.send_to(&bytes, to).await {
                warn!(error = %e, %to, "send failed");
            }
        }
    }
}
