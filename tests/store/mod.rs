//! The history store: one contract suite run against every backend (memory,
//! SQLite, a real Postgres), and replicas racing on one Postgres.

mod contract;
mod pg;
mod race;
mod replicas;
