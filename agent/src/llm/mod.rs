//! The LLM judge: an adviser that reads the log digest and rollwise's own checks,
//! and returns an [`crate::judge::AdvisoryOpinion`] the `DecisionRule` may use to
//! add caution and explanation, never confidence.
//!
//! - [`ChatModel`] hides the vendor: [`openai::OpenAiChat`] talks to any
//!   OpenAI-compatible endpoint, [`scripted::ScriptedModel`] answers from a script
//!   (tests, deterministic evals).
//! - [`LlmError`] is classified ([`Retryable`]) so the one retry policy
//!   ([`CallPolicy`]) decides without string matching.
//! - Prompts are tera templates ([`prompt::Prompts`]); the reply schema is derived
//!   from [`reply::LlmReply`] with schemars.
//! - [`judge::LlmJudge`] turns evidence + assessment + digest into an
//!   [`crate::judge::Advice`].

pub mod config;
pub mod hybrid;
pub mod judge;
pub mod local;
pub mod openai;
pub mod prompt;
pub mod reply;
pub mod scripted;
pub mod tool_chat;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rollwise_tools::call::{CallPolicy, Retryable};

pub use config::{LlmConfig, LlmSelection, PromptStyle, StructuredOutput};
pub use hybrid::HybridJudge;
pub use judge::{BaselineResult, LlmJudge, LogDigest, empty_digest};
pub use reply::LlmReply;
pub use tool_chat::{Message, ToolCall, ToolChatRequest, ToolTurn};

/// A boxed future, so `ChatModel` stays object-safe and the CLI can choose the
/// implementation at run time.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How the reply's structure is requested from the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `response_format: {type: json_schema}`: the endpoint constrains decoding.
    JsonSchema,
    /// One forced function call whose parameters are the schema: for endpoints
    /// that support tools but not `json_schema`.
    ToolCall,
    /// The schema in the prompt and a fenced ```json block in the answer: works
    /// everywhere, enforced only by validation.
    FencedJson,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::JsonSchema => "json_schema",
            OutputFormat::ToolCall => "tool call",
            OutputFormat::FencedJson => "fenced JSON",
        }
    }
}

/// One chat completion to make.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub system: String,
    pub user: String,
    /// Name and JSON schema of the expected reply.
    pub schema_name: String,
    pub schema: serde_json::Value,
    pub format: OutputFormat,
    pub max_tokens: u32,
    pub temperature: f32,
    /// OpenAI's `frequency_penalty`, when set: small models loop on a phrase
    /// until a string's length bound, and every looped token costs time.
    pub frequency_penalty: Option<f32>,
}

/// The raw answer: the JSON text (message content or tool-call arguments) and
/// the endpoint's token counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatReply {
    pub text: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A chat model behind any vendor. Implementations classify their failures.
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// The model's name as recorded in the Verdict.
    fn name(&self) -> &str;
    fn complete<'a>(&'a self, req: &'a ChatRequest) -> BoxFuture<'a, Result<ChatReply, LlmError>>;

    /// One turn of a tool-calling conversation (the remediation agent). Models
    /// that cannot call tools say so.
    fn complete_with_tools<'a>(
        &'a self,
        req: &'a ToolChatRequest,
    ) -> BoxFuture<'a, Result<ToolTurn, LlmError>> {
        let _ = req;
        Box::pin(async {
            Err(LlmError::Unsupported {
                format: "tool calling",
                message: "this model does not call tools".into(),
            })
        })
    }
}

/// Why a model call failed, in the classes callers act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("rate limited{}", .retry_after.map(|d| format!(" (retry after {d:?})")).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    #[error("not authorised: {0}")]
    Auth(String),
    #[error("prompt too long for the model's context: {0}")]
    ContextTooLong(String),
    #[error("server error {status}: {message}")]
    Server { status: u16, message: String },
    /// The endpoint does not support the requested output format.
    #[error("endpoint does not support {format}: {message}")]
    Unsupported {
        format: &'static str,
        message: String,
    },
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// Connection refused, DNS, TLS: the endpoint could not be reached.
    #[error("endpoint unreachable: {0}")]
    Transport(String),
    /// Any other 4xx: our request is wrong; retrying will not help.
    #[error("request rejected ({status}): {message}")]
    Rejected { status: u16, message: String },
}

impl LlmError {
    /// A short class name, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Timeout(_) => "timeout",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Auth(_) => "auth",
            LlmError::ContextTooLong(_) => "context_too_long",
            LlmError::Server { .. } => "server_error",
            LlmError::Unsupported { .. } => "unsupported",
            LlmError::Malformed(_) => "malformed",
            LlmError::Transport(_) => "transport",
            LlmError::Rejected { .. } => "rejected",
        }
    }
}

impl Retryable for LlmError {
    fn is_transient(&self) -> bool {
        matches!(
            self,
            LlmError::Timeout(_)
                | LlmError::RateLimited { .. }
                | LlmError::Server { .. }
                | LlmError::Transport(_)
        )
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// Tokens spent over every attempt of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spent {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub calls: u32,
}

/// Call `model` under `policy`. Failed attempts that reached the model cost no
/// tokens we can know of, so only successful replies add to `spent`.
pub async fn complete_with_retry(
    model: &dyn ChatModel,
    req: &ChatRequest,
    policy: &CallPolicy,
    spent: &mut Spent,
) -> Result<ChatReply, LlmError> {
    let reply = policy
        .retry("model call", |_| {
            spent.calls += 1;
            model.complete(req)
        })
        .await?;
    spent.prompt_tokens += reply.prompt_tokens;
    spent.completion_tokens += reply.completion_tokens;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        let p = LlmConfig {
            max_attempts: 10,
            max_backoff_secs: 0.6,
            ..LlmConfig::default()
        }
        .retry_policy();
        let e = LlmError::Server {
            status: 500,
            message: String::new(),
        };
        let waits: Vec<_> = (0..4).map(|a| p.delay(a, &e, 1.0)).collect();
        assert_eq!(
            waits,
            vec![
                Some(Duration::from_millis(250)),
                Some(Duration::from_millis(500)),
                Some(Duration::from_millis(600)),
                Some(Duration::from_millis(600)),
            ]
        );
        assert_eq!(p.delay(9, &e, 1.0), None, "the last attempt is not retried");
    }

    #[test]
    fn only_transient_errors_are_retried() {
        let p = LlmConfig::default().retry_policy();
        assert!(p.delay(0, &LlmError::Auth("no".into()), 1.0).is_none());
        assert!(
            p.delay(0, &LlmError::ContextTooLong("x".into()), 1.0)
                .is_none()
        );
        assert!(p.delay(0, &LlmError::Malformed("x".into()), 1.0).is_none());
        assert!(
            p.delay(0, &LlmError::Timeout(Duration::from_secs(1)), 1.0)
                .is_some()
        );
    }

    #[test]
    fn retry_after_is_honoured_within_the_bound_only() {
        let p = LlmConfig::default().retry_policy();
        let short = LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(p.delay(0, &short, 1.0), Some(Duration::from_secs(2)));
        let long = LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
        };
        assert_eq!(p.delay(0, &long, 1.0), None);
    }
}
