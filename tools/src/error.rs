//! The tools crate's one error type.

use std::time::Duration;

/// What can go wrong reading a cluster or a repository, or calling a tool.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The model passed arguments that do not fit the tool's schema.
    #[error("invalid arguments for `{tool}`: {message}")]
    InvalidArgs { tool: String, message: String },
    /// The model asked for a tool that does not exist (or is not enabled).
    #[error("no tool named `{0}`")]
    UnknownTool(String),
    /// A write the policy forbids (repository not allowlisted, base branch...).
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{what} timed out after {after:?}")]
    Timeout { what: String, after: Duration },
    /// An API answered with an error status (Kubernetes or GitHub).
    #[error("{service} API error {code}: {message}")]
    Api {
        service: &'static str,
        code: u16,
        message: String,
    },
    /// The request never got an answer (connection refused, TLS, DNS).
    #[error("{service} unreachable: {message}")]
    Transport {
        service: &'static str,
        message: String,
    },
    /// A response that does not parse as documented.
    #[error("unexpected response from {service}: {message}")]
    Decode {
        service: &'static str,
        message: String,
    },
    #[error("configuration: {0}")]
    Config(String),
    /// A name, hash or selector that is not valid Kubernetes syntax; refused
    /// before it reaches a URL, a selector or a query.
    #[error("invalid {what}: {message}")]
    Invalid { what: String, message: String },
}

impl Error {
    /// A tool failure the model can act on (wrong arguments, a missing object):
    /// it goes back to the model as the tool's result. Anything else (policy,
    /// auth, configuration) ends the agent run.
    pub fn is_recoverable_by_model(&self) -> bool {
        matches!(
            self,
            Error::InvalidArgs { .. }
                | Error::Invalid { .. }
                | Error::UnknownTool(_)
                | Error::NotFound { .. }
                | Error::Timeout { .. }
                | Error::Api { .. }
                | Error::Decode { .. }
        )
    }
}

impl Error {
    /// A short, fixed label for metrics (`outcome="not_found"`).
    pub fn outcome(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Forbidden(_) => "forbidden",
            Error::Timeout { .. } => "timeout",
            Error::Api { .. } => "api_error",
            Error::Transport { .. } => "transport",
            Error::Decode { .. } => "decode",
            Error::InvalidArgs { .. } | Error::Invalid { .. } | Error::UnknownTool(_) => "invalid",
            Error::NotAllowed(_) => "not_allowed",
            Error::Config(_) => "config",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
