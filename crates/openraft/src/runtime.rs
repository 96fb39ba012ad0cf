//! openraft's async runtime, seeded: tokio's, except that the random numbers openraft draws
//! (its election timeout) come from the node's own seeded RNG, carried in a task-local that
//! every task openraft spawns inherits. Nothing then depends on the thread's entropy.

use openraft::{AsyncRuntime, OptionalSend, TokioInstant};
use rand08::rngs::StdRng;
use rand08::{RngCore, SeedableRng};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

tokio::task_local! {
    /// The RNG of the node whose task this is.
    static NODE_RNG: Arc<Mutex<StdRng>>;
}

/// Runs `future` (a node, and every task it spawns through openraft) with the RNG seeded by
/// `seed`.
pub async fn with_seed<F: Future>(seed: u64, future: F) -> F::Output {
    NODE_RNG.scope(Arc::new(Mutex::new(StdRng::seed_from_u64(seed))), future).await
}

/// A handle on the current node's RNG.
pub struct NodeRng(Arc<Mutex<StdRng>>);

impl RngCore for NodeRng {
    fn next_u32(&mut self) -> u32 {
        self.0.lock().expect("node rng").next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.lock().expect("node rng").next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.lock().expect("node rng").fill_bytes(dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand08::Error> {
        self.0.lock().expect("node rng").try_fill_bytes(dest)
    }
}

/// tokio, with each node's random numbers drawn from its seed (see the module).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeededRuntime;

impl AsyncRuntime for SeededRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = tokio::task::JoinHandle<T>;
    type Sleep = tokio::time::Sleep;
    type Instant = TokioInstant;
    type TimeoutError = tokio::time::error::Elapsed;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = tokio::time::Timeout<T>;
    type ThreadLocalRng = NodeRng;
    type OneshotSender<T: OptionalSend> = openraft::async_runtime::TokioOneShotSender<T>;
    type OneshotReceiver<T: OptionalSend> = tokio::sync::oneshot::Receiver<T>;
    type OneshotReceiverError = tokio::sync::oneshot::error::RecvError;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        match NODE_RNG.try_with(Arc::clone) {
            Ok(rng) => tokio::spawn(NODE_RNG.scope(rng, future)),
            Err(_) => tokio::spawn(future),
        }
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        tokio::time::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        tokio::time::sleep_until(deadline)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        tokio::time::timeout(duration, future)
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        tokio::time::timeout_at(deadline, future)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        join_error.is_panic()
    }

    /// The node's seeded RNG; outside a node's task (which openraft never draws in), a
    /// panic rather than entropy.
    fn thread_rng() -> Self::ThreadLocalRng {
        NodeRng(
            NODE_RNG.try_with(Arc::clone).expect("openraft drew a random number outside a node"),
        )
    }

    fn oneshot<T>() -> (Self::OneshotSender<T>, Self::OneshotReceiver<T>)
    where
        T: OptionalSend,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (openraft::async_runtime::TokioOneShotSender(tx), rx)
    }
}
