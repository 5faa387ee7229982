//! The crate's one error type.

/// Everything that can go wrong in rollwise's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// A bundle that cannot be read; names the file, the position and the field.
    #[error("{}", invalid_evidence_message(.source_name, *.line, *.column, .field, .message))]
    InvalidEvidence {
        source_name: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },

    #[error("invalid configuration: {0}")]
    Config(String),

    #[error("{0}")]
    Usage(String),

    #[error("could not encode output: {0}")]
    Encode(#[from] serde_json::Error),

    #[error("tokenizer unavailable: {0}")]
    Tokenizer(String),

    /// Evidence could not be gathered at all (the Rollout is missing, the
    /// cluster unreachable). Partial failures are `Evidence::gaps` instead.
    #[error("gathering from {dependency} failed: {message}")]
    Gather {
        dependency: &'static str,
        message: String,
    },

    /// A model call that failed where the caller needed it to succeed (most
    /// callers turn model failures into "unavailable" advice instead).
    #[error("LLM: {0}")]
    Llm(#[from] crate::llm::LlmError),

    /// The history store could not be opened or used where the caller needed
    /// it (at start; the service itself logs and counts store failures).
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn invalid_evidence_message(
    source: &str,
    line: usize,
    column: usize,
    field: &str,
    message: &str,
) -> String {
    let mut out = format!("invalid evidence bundle {source}");
    if line > 0 {
        out.push_str(&format!(" at line {line}, column {column}"));
    }
    if !field.is_empty() {
        out.push_str(&format!(", field `{field}`"));
    }
    out.push_str(": ");
    out.push_str(message);
    out
}

impl Error {
    /// Process exit code for the CLI: 2 for bad input or usage, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InvalidEvidence { .. }
            | Error::Usage(_)
            | Error::Config(_)
            | Error::Store(crate::store::StoreError::Config(_)) => 2,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 2,
            Error::Io { .. }
            | Error::Encode(_)
            | Error::Tokenizer(_)
            | Error::Llm(_)
            | Error::Store(_)
            | Error::Gather { .. } => 1,
        }
    }
}
