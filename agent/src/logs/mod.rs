//! Log intelligence: template mining, canary-vs-stable template diff, digest.

pub mod mask;
pub mod miner;
pub mod record;
