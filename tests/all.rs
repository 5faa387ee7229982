//! The one integration-test binary of the repository (one link step instead of
//! one per file, which matters on 2 cores).

// Test helpers outside #[test] functions may fail loudly: that is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod deploy;
mod gather;
mod judge;
mod llm;
mod notify;
mod page;
mod plugin;
mod remediate;
mod server;
mod store;
