//! Log intelligence: records and template mining, the canary-vs-stable template
//! diff and its signals, and the token-budgeted digest a model reads.

pub mod analyze;
pub mod classes;
pub mod diff;
pub mod digest;
pub mod loghub;
pub mod mask;
pub mod miner;
pub mod record;
pub mod stop;
pub mod timeline;

pub use analyze::{LogAnalyzer, LogConfig, LogReport};
pub use stop::Stop;
