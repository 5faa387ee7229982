//! The async runtime for commands that run one thing at a time (the CLI's
//! model, Slack and GitHub calls): one thread, timers and I/O enabled.

use crate::error::{Error, Result};

/// A current-thread tokio runtime with timers and I/O.
pub fn current_thread() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            what: "cannot start the async runtime".into(),
            source: e,
        })
}
