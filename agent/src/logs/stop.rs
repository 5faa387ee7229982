//! Asking long CPU work to stop: a flag another thread may set, and a
//! deadline. The loops that grow with the input (mining, the template diff)
//! look at it every few hundred items, so work that nobody waits for any
//! more ends within milliseconds instead of running to its end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Items a loop handles between two looks at its [`Stop`] (a look reads the
/// clock when there is a deadline).
pub const CHECK_EVERY: usize = 256;

/// When to stop; cloning shares the flag. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

impl Stop {
    /// Never stops unless [`Stop::stop`] is called.
    pub fn never() -> Self {
        Stop::default()
    }

    /// Stops at `deadline`, or earlier when told.
    pub fn at(deadline: Instant) -> Self {
        Stop {
            flag: Arc::default(),
            deadline: Some(deadline),
        }
    }

    /// Tells every holder of a clone to stop.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// True once told to stop or past the deadline.
    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// [`Stop::is_stopped`] for the `i`-th item of a loop, looked at only
    /// every [`CHECK_EVERY`] items.
    pub fn is_stopped_at(&self, i: usize) -> bool {
        i.is_multiple_of(CHECK_EVERY) && self.is_stopped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_when_told_or_past_the_deadline() {
        let s = Stop::never();
        assert!(!s.is_stopped());
        let clone = s.clone();
        clone.stop();
        assert!(s.is_stopped());
        assert!(Stop::at(Instant::now()).is_stopped());
        let later = Stop::at(Instant::now() + std::time::Duration::from_secs(3600));
        assert!(!later.is_stopped());
        assert!(!later.is_stopped_at(0));
        later.stop();
        assert!(later.is_stopped_at(0));
        assert!(!later.is_stopped_at(1));
    }
}
