//! What every ballot node allows, in one place: the node enforces these bounds, and the
//! schedules that drive nodes (and the tools that check them without a node at hand) must
//! stay inside them. The numbers follow from the node's datagram format and clock.

use crate::{Config, ConfigError};

/// Largest datagram a node sends or accepts, bytes (fits a UDP datagram with room to spare).
pub const MAX_DATAGRAM: usize = 60 * 1024;
/// Bytes of a datagram's fixed header: magic (2), wire version (1), cluster id (8).
pub const DATAGRAM_HEADER_BYTES: usize = 2 + 1 + 8;
/// Bytes an AppendEntries may need beyond its entries (ids, terms, indexes, times), as an
/// upper bound for every core's encoding.
const MESSAGE_OVERHEAD_BYTES: usize = 256;
/// The largest `Config::max_bytes_per_message` a node accepts, bytes: a batch that full
/// still fits one datagram.
pub const MAX_ENTRY_BYTES: usize = MAX_DATAGRAM - DATAGRAM_HEADER_BYTES - MESSAGE_OVERHEAD_BYTES;

/// The slowest rate a node's clock runs at, × real time (a hundredth).
pub const MIN_CLOCK_RATE: f64 = 0.01;
/// The fastest rate a node's clock runs at, × real time (a hundred times).
pub const MAX_CLOCK_RATE: f64 = 100.0;

/// Checks that AppendEntries cut to `config`'s byte budget fit one datagram.
pub fn check_budget(config: &Config) -> Result<(), ConfigError> {
    if config.max_bytes_per_message > MAX_ENTRY_BYTES {
        return Err(ConfigError::Unsupported(format!(
            "max_bytes_per_message ({}) must be at most {MAX_ENTRY_BYTES} bytes: a batch that \
             full would not fit one {MAX_DATAGRAM}-byte datagram",
            config.max_bytes_per_message
        )));
    }
    Ok(())
}
