//! One TLS crypto provider for the whole process.
//!
//! reqwest (LLM, Prometheus, Slack), kube and octocrab all sit on rustls. Each
//! is built without a provider of its own, so exactly one, ring, is installed
//! here before any client is built. Installing is idempotent: the first call
//! wins, later calls (every client constructor calls this) are no-ops.

/// Install ring as the process-wide rustls provider, unless one already is.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed one between the check and here:
        // that provider is as good, so the error carries nothing to act on.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn installs_once_and_is_idempotent() {
        super::install_crypto_provider();
        super::install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
