//! The one integration-test binary of the repository (one link step instead of
//! one per file, which matters on 2 cores).

mod cli;
