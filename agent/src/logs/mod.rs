//! Log intelligence: template mining, canary-vs-stable template diff, digest.
