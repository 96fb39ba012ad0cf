//! Exploring for bugs: the schedule generator, the shrinker, and chaos campaigns that run
//! generated schedules, shrink what fails and save it.

pub mod chaos;
pub mod generate;
pub mod shrink;
