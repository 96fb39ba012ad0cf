//! Benchmarks: the Raft paper's failover experiment, and how fast the simulator runs next to
//! turmoil's own floor. Speed is measured here, never asserted in tests.

pub mod failover;
pub mod sim;

/// The `p`-quantile (0..=1) of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Milliseconds rounded to a tenth, so that reports carry no floating-point noise.
pub fn round_ms(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}
