//! ballot facade
pub use ballot_core as core;
