//! Secret redaction before anything leaves the process.
