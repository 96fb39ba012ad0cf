//! The election cores a simulated cluster can run, by the names schedules (`cluster.core`)
//! and `--core` use (SPEC.md), and what each one supports.
//!
//! `ballot` is always built in, `raft-rs` (raft-rs 0.7) with the default feature `raft-rs`.
//! The known-bug fixtures (raft-rs 0.3.0 and 0.3.1) cannot share a build with raft-rs 0.7:
//! Cargo unifies their protobuf versions. Each is built apart (`make fixtures`) as a `ballot`
//! binary of its own, which [`install`]s its core (in both worlds) and then runs
//! [`crate::cli::main`]; the main binary hands any command naming a fixture to that binary.

use crate::world::{EventNodeFn, Host};
use ballot_node::ElectionCore;
pub use ballot_schedule::CoreName;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// Starts a node on one core: `|host| Box::pin(world::serve::<C>(host))` for that core's `C`.
pub type Serve = fn(Host) -> Pin<Box<dyn Future<Output = ()>>>;

/// How each world starts a node on an installed core.
#[derive(Clone, Copy)]
struct Installed {
    turmoil: Serve,
    events: EventNodeFn,
}

/// Cores installed by a fixture build, by name.
static INSTALLED: Mutex<BTreeMap<CoreName, Installed>> = Mutex::new(BTreeMap::new());

/// Makes `core`, implemented by `C`, runnable in this process, in every world: a fixture
/// build calls it before [`crate::cli::main`].
pub fn install<C: ElectionCore>(core: CoreName) {
    ballot_schedule::declare_installed(core);
    let installed = Installed {
        turmoil: |host| Box::pin(crate::world::serve::<C>(host)),
        events: crate::world::event_node::<C>,
    };
    INSTALLED.lock().expect("installed cores").insert(core, installed);
}

/// How to start a node on `core` in the turmoil world, if a fixture build installed it.
pub(crate) fn installed(core: CoreName) -> Option<Serve> {
    INSTALLED.lock().expect("installed cores").get(&core).map(|i| i.turmoil)
}

/// How to make a node on `core` in the event world, if a fixture build installed it.
pub(crate) fn installed_event_node(core: CoreName) -> Option<EventNodeFn> {
    INSTALLED.lock().expect("installed cores").get(&core).map(|i| i.events)
}
