//! Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp,
//! Ollama, LiteLLM...).
//!
//! The request is built from async-openai's typed structs, so field names and
//! shapes (`response_format`, `tools`, `tool_choice`) follow the API as that crate
//! tracks it. It is sent with reqwest rather than async-openai's client because
//! that client's error drops the response headers, and a classified
//! `RateLimited { retry_after }` needs `Retry-After`. The reply is read leniently
//! (only the fields we use), since compatible servers differ in the rest.

use std::time::{Duration, SystemTime};

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestToolMessage, ChatCompletionRequestToolMessageContent, FunctionCall,
};
use async_openai::types::chat::{
    ChatCompletionNamedToolChoice, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestSystemMessageContent,
    ChatCompletionRequestUserMessage, ChatCompletionRequestUserMessageContent, ChatCompletionTool,
    ChatCompletionToolChoiceOption, ChatCompletionTools, CreateChatCompletionRequest, FunctionName,
    FunctionObject, ResponseFormat, ResponseFormatJsonSchema,
};
use rollwise_tools::call::parse_retry_after;
use serde::Deserialize;

use super::tool_chat::{Message as AgentMessage, ToolCall as AgentToolCall};
use super::{
    BoxFuture, ChatModel, ChatReply, ChatRequest, LlmError, OutputFormat, ToolChatRequest, ToolTurn,
};

/// A chat model behind an OpenAI-compatible `/v1` base URL.
#[derive(Clone)]
pub struct OpenAiChat {
    http: reqwest::Client,
    base_url: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    tool_mode: ToolMode,
    /// JsonSchema tool mode: `maxLength` for every string argument without
    /// one, so a small model that repeats itself must close the string.
    json_string_limit: Option<u64>,
}

/// How an agent turn asks for tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolMode {
    /// `tools` + `tool_choice`, answers in `tool_calls` (OpenAI, vLLM...).
    #[default]
    Native,
    /// For servers whose chat template cannot call tools (the bundled
    /// SmolLM2 on llama.cpp): the tools are listed in the system message and
    /// the reply is constrained by `response_format: json_schema` to
    /// `{"tool": NAME, "arguments": {...}}` (one branch per tool, each with
    /// that tool's derived schema) or `{"tool": "finish", "message": "..."}`.
    JsonSchema,
}

// By hand, so the API key never reaches a log line through `{:?}`.
impl std::fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChat")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl OpenAiChat {
    /// `base_url` includes `/v1`, as OpenAI's SDKs expect.
    pub fn new(
        base_url: &str,
        model: &str,
        api_key: Option<String>,
        timeout: Duration,
    ) -> Result<Self, LlmError> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("rollwise/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::Transport(format!("cannot build HTTP client: {e}")))?;
        Ok(OpenAiChat {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key,
            timeout,
            tool_mode: ToolMode::Native,
            json_string_limit: None,
        })
    }

    /// See [`ToolMode::JsonSchema`]: bounds every unbounded string argument.
    pub fn with_json_string_limit(mut self, chars: u64) -> Self {
        self.json_string_limit = Some(chars);
        self
    }

    pub fn with_tool_mode(mut self, mode: ToolMode) -> Self {
        self.tool_mode = mode;
        self
    }

    /// The JSON body for `req`: exactly what goes on the wire.
    pub fn request_body(&self, req: &ChatRequest) -> CreateChatCompletionRequest {
        let system = ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
            content: ChatCompletionRequestSystemMessageContent::Text(req.system.clone()),
            name: None,
        });
        let user = ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
            content: ChatCompletionRequestUserMessageContent::Text(req.user.clone()),
            name: None,
        });
        #[allow(deprecated)] // `max_tokens`: see below
        let mut body = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: vec![system, user],
            temperature: Some(req.temperature),
            // `max_tokens` rather than `max_completion_tokens`: every compatible
            // server (llama.cpp, vLLM, Ollama) reads it; OpenAI still accepts it
            // for non-reasoning models.
            max_tokens: Some(req.max_tokens),
            frequency_penalty: req.frequency_penalty,
            ..Default::default()
        };
        match req.format {
            OutputFormat::JsonSchema => {
                body.response_format = Some(ResponseFormat::JsonSchema {
                    json_schema: ResponseFormatJsonSchema {
                        description: Some("rollwise canary verdict".into()),
                        name: req.schema_name.clone(),
                        schema: req.schema.clone(),
                        strict: Some(true),
                    },
                });
            }
            OutputFormat::ToolCall => {
                body.tools = Some(vec![ChatCompletionTools::Function(ChatCompletionTool {
                    function: FunctionObject {
                        name: req.schema_name.clone(),
                        description: Some("Record the canary verdict.".into()),
                        parameters: Some(req.schema.clone()),
                        strict: Some(true),
                    },
                })]);
                body.tool_choice = Some(ChatCompletionToolChoiceOption::Function(
                    ChatCompletionNamedToolChoice {
                        function: FunctionName {
                            name: req.schema_name.clone(),
                        },
                    },
                ));
            }
            OutputFormat::FencedJson => {}
        }
        body
    }

    async fn call(&self, req: &ChatRequest) -> Result<ChatReply, LlmError> {
        let url = format!("{}/chat/completions", self.base_url);
        let mut rb = self.http.post(&url).json(&self.request_body(req));
        if let Some(key) = &self.api_key {
            rb = rb.bearer_auth(key);
        }
        let resp = rb.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = resp.text().await.map_err(|e| self.transport(e))?;
        if !status.is_success() {
            return Err(classify_status(
                status.as_u16(),
                retry_after,
                &body,
                req.format,
            ));
        }
        read_reply(&body, req.format)
    }

    /// The JSON body of one agent turn: the conversation and every tool, the
    /// model free to call any of them or none (`tool_choice: auto`).
    pub fn tool_request_body(&self, req: &ToolChatRequest) -> CreateChatCompletionRequest {
        if self.tool_mode == ToolMode::JsonSchema {
            return self.json_tool_request_body(req);
        }
        let messages = req.messages.iter().map(to_openai_message).collect();
        let tools = req
            .tools
            .iter()
            .map(|t| {
                ChatCompletionTools::Function(ChatCompletionTool {
                    function: FunctionObject {
                        name: t.name.clone(),
                        description: Some(t.description.clone()),
                        parameters: Some(t.parameters.clone()),
                        strict: None,
                    },
                })
            })
            .collect();
        #[allow(deprecated)] // `max_tokens`: see `request_body`
        CreateChatCompletionRequest {
            model: self.model.clone(),
            messages,
            temperature: Some(req.temperature),
            max_tokens: Some(req.max_tokens),
            tools: Some(tools),
            tool_choice: Some(ChatCompletionToolChoiceOption::Mode(if req.require_tool {
                async_openai::types::chat::ToolChoiceOptions::Required
            } else {
                async_openai::types::chat::ToolChoiceOptions::Auto
            })),
            ..Default::default()
        }
    }

    fn json_tool_request_body(&self, req: &ToolChatRequest) -> CreateChatCompletionRequest {
        let mut branches: Vec<serde_json::Value> = req
            .tools
            .iter()
            .map(|t| {
                serde_json::json!({
                    "type": "object",
                    "properties": {"tool": {"const": t.name}, "arguments": bound_strings(inline_refs(&t.parameters), self.json_string_limit)},
                    "required": ["tool", "arguments"]
                })
            })
            .collect();
        if !req.require_tool {
            branches.push(serde_json::json!({
            "type": "object",
            "properties": {"tool": {"const": "finish"}, "message": {"type": "string", "maxLength": 400}},
            "required": ["tool", "message"]
            }));
        }
        let schema = serde_json::json!({"anyOf": branches});
        let listing: String = req
            .tools
            .iter()
            .map(|t| {
                format!(
                    "- {}: {} Arguments schema: {}\n",
                    t.name, t.description, t.parameters
                )
            })
            .collect();
        let mut messages = Vec::with_capacity(req.messages.len());
        for m in &req.messages {
            let converted = match m {
                AgentMessage::System { content } => AgentMessage::System {
                    content: format!(
                        "{content}\n\nTools:\n{listing}Answer with one JSON object: {{\"tool\": NAME, \"arguments\": {{...}}}} to call a tool, or {{\"tool\": \"finish\", \"message\": \"...\"}} when done."
                    ),
                },
                AgentMessage::Assistant {
                    content,
                    tool_calls,
                } => AgentMessage::Assistant {
                    content: Some(match tool_calls.first() {
                        Some(c) => format!(
                            r#"{{"tool": {}, "arguments": {}}}"#,
                            serde_json::Value::String(c.name.clone()),
                            c.arguments
                        ),
                        None => content.clone().unwrap_or_default(),
                    }),
                    tool_calls: Vec::new(),
                },
                AgentMessage::Tool { content, .. } => AgentMessage::User {
                    content: format!("Tool result:\n{content}"),
                },
                other => other.clone(),
            };
            messages.push(to_openai_message(&converted));
        }
        #[allow(deprecated)] // `max_tokens`: see `request_body`
        CreateChatCompletionRequest {
            model: self.model.clone(),
            messages,
            temperature: Some(req.temperature),
            max_tokens: Some(req.max_tokens),
            response_format: Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: Some("one tool call or finish".into()),
                    name: "agent_turn".into(),
                    schema,
                    strict: Some(true),
                },
            }),
            ..Default::default()
        }
    }

    async fn call_tools(&self, req: &ToolChatRequest) -> Result<ToolTurn, LlmError> {
        let url = format!("{}/chat/completions", self.base_url);
        let mut rb = self.http.post(&url).json(&self.tool_request_body(req));
        if let Some(key) = &self.api_key {
            rb = rb.bearer_auth(key);
        }
        let resp = rb.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = resp.text().await.map_err(|e| self.transport(e))?;
        if !status.is_success() {
            return Err(classify_status(
                status.as_u16(),
                retry_after,
                &body,
                OutputFormat::ToolCall,
            ));
        }
        match self.tool_mode {
            ToolMode::Native => read_tool_turn(&body),
            ToolMode::JsonSchema => read_json_tool_turn(&body),
        }
    }

    fn transport(&self, e: reqwest::Error) -> LlmError {
        if e.is_timeout() {
            LlmError::Timeout(self.timeout)
        } else if e.is_decode() || e.is_body() {
            LlmError::Malformed(format!("unreadable response body: {e}"))
        } else {
            // reqwest's Display omits the cause chain ("error sending request"),
            // which is where "connection refused" lives.
            LlmError::Transport(crate::text::error_chain(&e))
        }
    }
}

impl ChatModel for OpenAiChat {
    fn name(&self) -> &str {
        &self.model
    }

    fn complete<'a>(&'a self, req: &'a ChatRequest) -> BoxFuture<'a, Result<ChatReply, LlmError>> {
        Box::pin(self.call(req))
    }

    fn complete_with_tools<'a>(
        &'a self,
        req: &'a ToolChatRequest,
    ) -> BoxFuture<'a, Result<ToolTurn, LlmError>> {
        Box::pin(self.call_tools(req))
    }
}

fn to_openai_message(m: &AgentMessage) -> ChatCompletionRequestMessage {
    match m {
        AgentMessage::System { content } => {
            ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
                content: ChatCompletionRequestSystemMessageContent::Text(content.clone()),
                name: None,
            })
        }
        AgentMessage::User { content } => {
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                content: ChatCompletionRequestUserMessageContent::Text(content.clone()),
                name: None,
            })
        }
        AgentMessage::Assistant {
            content,
            tool_calls,
        } => {
            #[allow(deprecated)] // `function_call`: the field exists, we leave it unset
            let a = ChatCompletionRequestAssistantMessage {
                content: content
                    .clone()
                    .map(ChatCompletionRequestAssistantMessageContent::Text),
                tool_calls: (!tool_calls.is_empty()).then(|| {
                    tool_calls
                        .iter()
                        .map(|c| {
                            ChatCompletionMessageToolCalls::Function(
                                ChatCompletionMessageToolCall {
                                    id: c.id.clone(),
                                    function: FunctionCall {
                                        name: c.name.clone(),
                                        arguments: c.arguments.clone(),
                                    },
                                },
                            )
                        })
                        .collect()
                }),
                ..Default::default()
            };
            ChatCompletionRequestMessage::Assistant(a)
        }
        AgentMessage::Tool {
            tool_call_id,
            content,
        } => ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
            content: ChatCompletionRequestToolMessageContent::Text(content.clone()),
            tool_call_id: tool_call_id.clone(),
        }),
    }
}

#[derive(Debug, Deserialize)]
struct ToolTurnBody {
    #[serde(default)]
    choices: Vec<ToolTurnChoice>,
    #[serde(default)]
    usage: Option<UsageBody>,
}

#[derive(Debug, Deserialize)]
struct ToolTurnChoice {
    message: ToolTurnMessage,
}

#[derive(Debug, Deserialize)]
struct ToolTurnMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<FullToolCall>>,
}

#[derive(Debug, Deserialize)]
struct FullToolCall {
    #[serde(default)]
    id: Option<String>,
    function: NamedFunction,
}

#[derive(Debug, Deserialize)]
struct NamedFunction {
    name: String,
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

/// `schema` with every local `{"$ref": "#/$defs/X"}` replaced by the
/// definition and `$defs` removed: one tool's schema becomes a branch of a
/// larger schema, where its own root-relative references would not resolve.
/// Tool argument types are not recursive; the depth bound only stops a cycle.
fn inline_refs(schema: &serde_json::Value) -> serde_json::Value {
    fn walk(
        v: &serde_json::Value,
        defs: &serde_json::Map<String, serde_json::Value>,
        depth: u32,
    ) -> serde_json::Value {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(target) = o
                    .get("$ref")
                    .and_then(|r| r.as_str())
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .and_then(|name| defs.get(name))
                    && depth < 16
                {
                    return walk(target, defs, depth + 1);
                }
                o.iter()
                    .filter(|(k, _)| k.as_str() != "$defs")
                    .map(|(k, x)| (k.clone(), walk(x, defs, depth)))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            }
            serde_json::Value::Array(a) => a.iter().map(|x| walk(x, defs, depth)).collect(),
            other => other.clone(),
        }
    }
    let defs = schema
        .get("$defs")
        .and_then(|d| d.as_object())
        .cloned()
        .unwrap_or_default();
    walk(schema, &defs, 0)
}

fn bound_strings(mut v: serde_json::Value, limit: Option<u64>) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value, limit: u64) {
        match v {
            serde_json::Value::Object(o) => {
                let is_string = o.get("type").is_some_and(|t| {
                    t == "string"
                        || t.as_array()
                            .is_some_and(|a| a.iter().any(|x| x == "string"))
                });
                if is_string && !o.contains_key("maxLength") {
                    o.insert("maxLength".into(), limit.into());
                }
                o.values_mut().for_each(|x| walk(x, limit));
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, limit)),
            _ => {}
        }
    }
    if let Some(l) = limit {
        walk(&mut v, l);
    }
    v
}

/// A [`ToolMode::JsonSchema`] turn: the content is `{"tool", "arguments"}`.
fn read_json_tool_turn(body: &str) -> Result<ToolTurn, LlmError> {
    let raw = read_reply(body, OutputFormat::JsonSchema)?;
    let v: serde_json::Value = serde_json::from_str(raw.text.trim())
        .map_err(|e| LlmError::Malformed(format!("tool turn is not JSON: {e}")))?;
    let tool = v.get("tool").and_then(|t| t.as_str()).unwrap_or("finish");
    let mut turn = ToolTurn {
        prompt_tokens: raw.prompt_tokens,
        completion_tokens: raw.completion_tokens,
        ..Default::default()
    };
    if tool == "finish" {
        turn.content = Some(
            v.get("message")
                .and_then(|m| m.as_str())
                .unwrap_or_default()
                .to_owned(),
        );
    } else {
        turn.tool_calls.push(AgentToolCall {
            id: "call_0".into(),
            name: tool.to_owned(),
            arguments: v
                .get("arguments")
                .map_or_else(|| "{}".to_owned(), |a| a.to_string()),
        });
    }
    Ok(turn)
}

/// One agent turn. Servers differ: arguments may be a JSON string (OpenAI) or
/// an object; ids may be missing (then we number the calls).
fn read_tool_turn(body: &str) -> Result<ToolTurn, LlmError> {
    let parsed: ToolTurnBody = serde_json::from_str(body).map_err(|e| {
        LlmError::Malformed(format!(
            "not a chat completion ({e}): {}",
            body.chars().take(80).collect::<String>()
        ))
    })?;
    let usage = parsed.usage.unwrap_or_default();
    let Some(choice) = parsed.choices.into_iter().next() else {
        return Err(LlmError::Malformed("no choices in the reply".into()));
    };
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| AgentToolCall {
            id: c.id.unwrap_or_else(|| format!("call_{i}")),
            name: c.function.name,
            arguments: match c.function.arguments {
                Some(serde_json::Value::String(s)) => s,
                Some(v) => v.to_string(),
                None => "{}".into(),
            },
        })
        .collect();
    Ok(ToolTurn {
        content: choice.message.content.filter(|c| !c.trim().is_empty()),
        tool_calls,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
    })
}

#[derive(Debug, Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Debug, Deserialize, Default)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

fn classify_status(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
    format: OutputFormat,
) -> LlmError {
    let detail: ErrorDetail = serde_json::from_str::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    let message = if detail.message.is_empty() {
        body.chars().take(200).collect()
    } else {
        detail.message.clone()
    };
    let code = detail
        .code
        .as_ref()
        .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
        .unwrap_or_default();
    let lower = format!("{message} {code} {}", detail.kind.unwrap_or_default()).to_lowercase();
    match status {
        401 | 403 => LlmError::Auth(message),
        429 => LlmError::RateLimited { retry_after },
        408 | 504 => LlmError::Timeout(Duration::ZERO),
        s if s >= 500 => LlmError::Server { status: s, message },
        _ if lower.contains("context_length")
            || lower.contains("context length")
            || lower.contains("maximum context")
            || lower.contains("exceeds the available context")
            || lower.contains("too many tokens") =>
        {
            LlmError::ContextTooLong(message)
        }
        400 | 404 | 422 | 501
            if format != OutputFormat::FencedJson
                && (lower.contains("response_format")
                    || lower.contains("json_schema")
                    || lower.contains("tool")
                    || lower.contains("not supported")
                    || lower.contains("unsupported")) =>
        {
            LlmError::Unsupported {
                format: format.as_str(),
                message,
            }
        }
        s => LlmError::Rejected { status: s, message },
    }
}

#[derive(Debug, Deserialize)]
struct CompletionBody {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<UsageBody>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
}

#[derive(Debug, Deserialize)]
struct ToolCall {
    function: FunctionCallBody,
}

#[derive(Debug, Deserialize)]
struct FunctionCallBody {
    arguments: String,
}

#[derive(Debug, Deserialize, Default)]
struct UsageBody {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

fn read_reply(body: &str, format: OutputFormat) -> Result<ChatReply, LlmError> {
    let parsed: CompletionBody = serde_json::from_str(body).map_err(|e| {
        LlmError::Malformed(format!(
            "not a chat completion ({e}): {}",
            body.chars().take(80).collect::<String>()
        ))
    })?;
    let usage = parsed.usage.unwrap_or_default();
    let Some(choice) = parsed.choices.into_iter().next() else {
        return Err(LlmError::Malformed("no choices in the reply".into()));
    };
    let m = choice.message;
    let from_tool = m
        .tool_calls
        .and_then(|calls| calls.into_iter().next())
        .map(|c| c.function.arguments);
    // A tool-call request may still be answered in content by lenient servers.
    let text = match format {
        OutputFormat::ToolCall => from_tool.or(m.content),
        _ => m.content.or(from_tool),
    };
    let text = match (text, m.refusal) {
        (Some(t), _) if !t.trim().is_empty() => t,
        (_, Some(r)) => return Err(LlmError::Malformed(format!("the model refused: {r}"))),
        _ => return Err(LlmError::Malformed("empty reply".into())),
    };
    Ok(ChatReply {
        text,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let j = |m: &str| format!(r#"{{"error":{{"message":"{m}","type":"x"}}}}"#);
        let f = OutputFormat::JsonSchema;
        assert!(matches!(
            classify_status(401, None, &j("bad key"), f),
            LlmError::Auth(_)
        ));
        assert_eq!(
            classify_status(429, Some(Duration::from_secs(3)), "", f),
            LlmError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert!(matches!(
            classify_status(503, None, "busy", f),
            LlmError::Server { status: 503, .. }
        ));
        assert!(matches!(
            classify_status(
                400,
                None,
                &j("This model's maximum context length is 8192 tokens"),
                f
            ),
            LlmError::ContextTooLong(_)
        ));
        assert!(matches!(
            classify_status(
                400,
                None,
                &j("response_format json_schema is not supported"),
                f
            ),
            LlmError::Unsupported { .. }
        ));
        assert!(matches!(
            classify_status(400, None, &j("messages must not be empty"), f),
            LlmError::Rejected { status: 400, .. }
        ));
    }

    fn agent_request(require_tool: bool) -> ToolChatRequest {
        ToolChatRequest {
            messages: vec![
                AgentMessage::System {
                    content: "s".into(),
                },
                AgentMessage::User {
                    content: "u".into(),
                },
                AgentMessage::Assistant {
                    content: None,
                    tool_calls: vec![AgentToolCall {
                        id: "c1".into(),
                        name: "read_file".into(),
                        arguments: r#"{"path":"a.go"}"#.into(),
                    }],
                },
                AgentMessage::Tool {
                    tool_call_id: "c1".into(),
                    content: "package a".into(),
                },
            ],
            tools: vec![rollwise_tools::tool::ToolSpec {
                name: "read_file".into(),
                description: "Read a file.".into(),
                parameters: serde_json::json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
                writes: false,
            }],
            max_tokens: 100,
            temperature: 0.0,
            require_tool,
        }
    }

    #[test]
    fn native_tool_turns_go_out_and_come_back_as_openai_defines_them() {
        let chat = OpenAiChat::new("http://x/v1", "m", None, Duration::from_secs(1)).unwrap();
        let body = serde_json::to_value(chat.tool_request_body(&agent_request(true))).unwrap();
        assert_eq!(body["tools"][0]["type"], "function");
        assert_eq!(body["tools"][0]["function"]["name"], "read_file");
        assert_eq!(body["tool_choice"], "required");
        assert_eq!(body["messages"][2]["tool_calls"][0]["id"], "c1");
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            r#"{"path":"a.go"}"#
        );
        assert_eq!(body["messages"][3]["role"], "tool");
        assert_eq!(body["messages"][3]["tool_call_id"], "c1");
        let body = serde_json::to_value(chat.tool_request_body(&agent_request(false))).unwrap();
        assert_eq!(body["tool_choice"], "auto");

        let reply = r#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[
            {"id":"x","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"b.go\"}"}},
            {"type":"function","function":{"name":"search_code","arguments":{"query":"q"}}}]}}],
            "usage":{"prompt_tokens":12,"completion_tokens":3}}"#;
        let t = read_tool_turn(reply).unwrap();
        assert_eq!(t.tool_calls.len(), 2);
        assert_eq!(
            (
                t.tool_calls[0].id.as_str(),
                t.tool_calls[0].arguments.as_str()
            ),
            ("x", r#"{"path":"b.go"}"#)
        );
        assert_eq!(
            (
                t.tool_calls[1].id.as_str(),
                t.tool_calls[1].arguments.as_str()
            ),
            ("call_1", r#"{"query":"q"}"#)
        );
        assert_eq!(
            (t.prompt_tokens, t.completion_tokens, t.content),
            (12, 3, None)
        );
    }

    #[test]
    fn json_schema_tool_mode_constrains_one_call_per_turn() {
        let chat = OpenAiChat::new("http://x/v1", "m", None, Duration::from_secs(1))
            .unwrap()
            .with_tool_mode(ToolMode::JsonSchema)
            .with_json_string_limit(50);
        let body = serde_json::to_value(chat.tool_request_body(&agent_request(true))).unwrap();
        assert!(body.get("tools").is_none());
        let schema = &body["response_format"]["json_schema"]["schema"];
        let branches = schema["anyOf"].as_array().unwrap();
        assert_eq!(branches.len(), 1, "no `finish` when a tool is required");
        assert_eq!(
            branches[0]["properties"]["arguments"]["properties"]["path"]["maxLength"],
            50
        );
        // Tool history becomes plain messages the template can render.
        assert_eq!(
            body["messages"][2]["content"],
            r#"{"tool": "read_file", "arguments": {"path":"a.go"}}"#
        );
        assert_eq!(body["messages"][3]["role"], "user");
        let body = serde_json::to_value(chat.tool_request_body(&agent_request(false))).unwrap();
        assert_eq!(
            body["response_format"]["json_schema"]["schema"]["anyOf"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let turn = |c: &str| {
            format!(
                r#"{{"choices":[{{"message":{{"content":{}}}}}]}}"#,
                serde_json::Value::String(c.into())
            )
        };
        let t =
            read_json_tool_turn(&turn(r#"{"tool":"read_file","arguments":{"path":"x"}}"#)).unwrap();
        assert_eq!(
            (
                t.tool_calls[0].name.as_str(),
                t.tool_calls[0].arguments.as_str()
            ),
            ("read_file", r#"{"path":"x"}"#)
        );
        let t = read_json_tool_turn(&turn(r#"{"tool":"finish","message":"done"}"#)).unwrap();
        assert_eq!(
            (t.tool_calls.len(), t.content.as_deref()),
            (0, Some("done"))
        );
        assert!(matches!(
            read_json_tool_turn(&turn(r#"{"tool":"read_fi"#)),
            Err(LlmError::Malformed(_))
        ));
    }

    #[test]
    fn refs_are_inlined_for_json_schema_tool_mode() {
        let s = serde_json::json!({
            "type": "object",
            "properties": {"files": {"type": "array", "items": {"$ref": "#/$defs/F"}}},
            "$defs": {"F": {"type": "object", "properties": {"path": {"type": "string"}}}}
        });
        let out = inline_refs(&s);
        assert_eq!(
            out["properties"]["files"]["items"]["properties"]["path"]["type"],
            "string"
        );
        assert!(out.get("$defs").is_none() && !out.to_string().contains("$ref"));
    }

    #[test]
    fn reply_text_comes_from_content_or_tool_call() {
        let content = r#"{"choices":[{"message":{"role":"assistant","content":"{}"}}],"usage":{"prompt_tokens":10,"completion_tokens":2}}"#;
        let r = read_reply(content, OutputFormat::JsonSchema).unwrap();
        assert_eq!(
            (r.text.as_str(), r.prompt_tokens, r.completion_tokens),
            ("{}", 10, 2)
        );
        let tool = r#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"v","arguments":"{\"a\":1}"}}]}}]}"#;
        assert_eq!(
            read_reply(tool, OutputFormat::ToolCall).unwrap().text,
            r#"{"a":1}"#
        );
        assert!(matches!(
            read_reply("<html>", OutputFormat::JsonSchema),
            Err(LlmError::Malformed(_))
        ));
        assert!(matches!(
            read_reply(r#"{"choices":[]}"#, OutputFormat::JsonSchema),
            Err(LlmError::Malformed(_))
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let m = OpenAiChat::new(
            "http://x/v1",
            "m",
            Some("sk-secret".into()),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{m:?}").contains("sk-secret"));
    }
}
