//! Log intelligence: template mining, canary-vs-stable template diff, digest.

pub mod diff;
pub mod digest;
