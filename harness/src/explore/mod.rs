//! Exploring for bugs: the schedule generator, the shrinker, chaos campaigns that run
//! generated schedules, shrink what fails and save it, and the merge of a campaign's shards.

pub mod chaos;
pub mod generate;
mod guide;
pub mod merge;
pub mod mutate;
pub mod shapes;
pub mod shrink;
