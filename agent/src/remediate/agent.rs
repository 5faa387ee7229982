//! The bounded agent loop: model ↔ tools with OpenAI tool calling.
//!
//! Bounded three ways (steps, tokens, wall time); each exhaustion is its own
//! [`StopReason`]. A tool failure the model can act on (bad arguments, a file
//! that does not exist) goes back to it as the tool's result; any other (the
//! policy refused a write, GitHub said 401) ends the run. Every tool output is
//! redacted, clipped and fenced as untrusted data before the model reads it,
//! and the transcript keeps exactly what the model saw.

use std::sync::Arc;
use std::time::Duration;

use rollwise_tools::call::CallPolicy;
use rollwise_tools::tool::DynTool;
use serde::Serialize;
use tokio::time::Instant;

use crate::llm::{ChatModel, LlmConfig, LlmError, Message, ToolCall, ToolChatRequest};
use crate::redact::Redactor;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Model turns.
    pub max_steps: u32,
    /// Prompt plus completion tokens over the whole run.
    pub max_tokens: u64,
    pub wall_time: Duration,
    /// Longest tool output the model reads, in characters.
    pub tool_output_chars: usize,
    /// Tool calls run per turn; the rest are answered "not run".
    pub max_calls_per_turn: usize,
    /// Completion tokens per turn.
    pub max_turn_tokens: u32,
    pub temperature: f32,
    /// The first turn must call a tool: the agent looks before it concludes.
    pub first_turn_requires_tool: bool,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_steps: 12,
            max_tokens: 120_000,
            wall_time: Duration::from_secs(300),
            tool_output_chars: 12_000,
            max_calls_per_turn: 6,
            max_turn_tokens: 4096,
            temperature: 0.0,
            first_turn_requires_tool: true,
        }
    }
}

/// Why the run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StopReason {
    /// The model answered without calling a tool.
    Finished,
    MaxSteps {
        steps: u32,
    },
    MaxTokens {
        tokens: u64,
    },
    WallTime {
        seconds: f64,
    },
    /// A tool failed in a way the model cannot fix (policy, auth).
    FatalTool {
        tool: String,
        error: String,
    },
    /// The model could not be called (after retries) or cannot call tools.
    Model {
        error: String,
    },
}

impl StopReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            StopReason::Finished => "finished",
            StopReason::MaxSteps { .. } => "max-steps",
            StopReason::MaxTokens { .. } => "max-tokens",
            StopReason::WallTime { .. } => "wall-time",
            StopReason::FatalTool { .. } => "fatal-tool-error",
            StopReason::Model { .. } => "model-error",
        }
    }
}

/// One tool call as it ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolRun {
    pub step: u32,
    pub tool: String,
    pub writes: bool,
    /// "ok", "error" (went back to the model) or "fatal".
    pub outcome: &'static str,
    pub elapsed_ms: u64,
}

/// The redacted record of a run: every message as the model saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Transcript {
    pub messages: Vec<Message>,
    pub tool_runs: Vec<ToolRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRun {
    pub stop: StopReason,
    /// The model's last text, when it finished.
    pub final_message: Option<String>,
    pub steps: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub duration_ms: u64,
    pub transcript: Transcript,
}

pub struct AgentLoop {
    model: Arc<dyn ChatModel>,
    tools: Vec<Box<dyn DynTool>>,
    bounds: Bounds,
    retry: CallPolicy,
    redactor: Redactor,
}

impl std::fmt::Debug for AgentLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentLoop")
            .field("model", &self.model.name())
            .field(
                "tools",
                &self.tools.iter().map(|t| t.spec().name).collect::<Vec<_>>(),
            )
            .field("bounds", &self.bounds)
            .finish()
    }
}

/// Wraps untrusted text so the model knows where it starts and ends; a closing
/// fence inside the text cannot end the block early.
pub fn fence(source: &str, text: &str) -> String {
    let text = crate::fence::block(text);
    format!("<untrusted-data source=\"{source}\">\n{text}\n</untrusted-data>")
}

fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!(
            "{}\n[... clipped: {} more characters]",
            &text[..cut],
            text[cut..].chars().count()
        ),
    }
}

impl AgentLoop {
    pub fn new(
        model: Arc<dyn ChatModel>,
        tools: Vec<Box<dyn DynTool>>,
        bounds: Bounds,
        redactor: Redactor,
    ) -> Self {
        AgentLoop {
            model,
            tools,
            bounds,
            retry: LlmConfig::default().retry_policy(),
            redactor,
        }
    }

    pub fn with_retry(mut self, retry: CallPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn redact(&self, s: &str) -> String {
        self.redactor.redact(s).into_owned()
    }

    pub async fn run(&self, system: &str, task: &str) -> AgentRun {
        let started = Instant::now();
        let deadline = started + self.bounds.wall_time;
        let specs: Vec<_> = self.tools.iter().map(|t| t.spec()).collect();
        let mut t = Transcript {
            messages: vec![
                Message::System {
                    content: self.redact(system),
                },
                Message::User {
                    content: self.redact(task),
                },
            ],
            tool_runs: Vec::new(),
        };
        let (mut prompt_tokens, mut completion_tokens) = (0u64, 0u64);
        let mut steps = 0u32;
        let mut final_message = None;
        let mut malformed_before = false;
        let stop = loop {
            let spent = prompt_tokens + completion_tokens;
            if spent >= self.bounds.max_tokens {
                break StopReason::MaxTokens { tokens: spent };
            }
            if steps >= self.bounds.max_steps {
                break StopReason::MaxSteps { steps };
            }
            if Instant::now() >= deadline {
                break StopReason::WallTime {
                    seconds: started.elapsed().as_secs_f64(),
                };
            }
            steps += 1;
            let remaining_tokens = self.bounds.max_tokens - spent;
            let req = ToolChatRequest {
                messages: t.messages.clone(),
                tools: specs.clone(),
                max_tokens: self
                    .bounds
                    .max_turn_tokens
                    .min(u32::try_from(remaining_tokens).unwrap_or(u32::MAX)),
                temperature: self.bounds.temperature,
                require_tool: steps == 1 && self.bounds.first_turn_requires_tool,
            };
            let turn = match tokio::time::timeout_at(deadline, self.call_model(&req)).await {
                Err(_) => {
                    break StopReason::WallTime {
                        seconds: started.elapsed().as_secs_f64(),
                    };
                }
                // A reply that is not a tool call (cut off, bad JSON) costs a
                // step and is answered once; twice in a row ends the run.
                Ok(Err(LlmError::Malformed(m))) if !malformed_before => {
                    malformed_before = true;
                    t.messages.push(Message::User {
                        content: format!(
                            "Your last reply could not be read ({}). Call one tool with valid JSON arguments, or answer in one sentence.",
                            clip(&m, 200)
                        ),
                    });
                    continue;
                }
                Ok(Err(e)) => {
                    break StopReason::Model {
                        error: e.to_string(),
                    };
                }
                Ok(Ok(turn)) => turn,
            };
            malformed_before = false;
            prompt_tokens += turn.prompt_tokens;
            completion_tokens += turn.completion_tokens;
            let calls: Vec<ToolCall> = turn
                .tool_calls
                .iter()
                .map(|c| ToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: self.redactor.redact_json_text(&c.arguments),
                })
                .collect();
            let content = turn.content.as_deref().map(|c| self.redact(c));
            t.messages.push(Message::Assistant {
                content: content.clone(),
                tool_calls: calls.clone(),
            });
            if calls.is_empty() {
                final_message = content;
                break StopReason::Finished;
            }
            // Tools get the redacted arguments: a model may copy a secret it
            // read into a query, a file or a PR body, and tools send them out.
            if let Some(fatal) = self.run_calls(steps, &calls, deadline, &mut t).await {
                break fatal;
            }
        };
        AgentRun {
            stop,
            final_message,
            steps,
            prompt_tokens,
            completion_tokens,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            transcript: t,
        }
    }

    async fn call_model(&self, req: &ToolChatRequest) -> Result<crate::llm::ToolTurn, LlmError> {
        self.retry
            .retry("model call", |_| self.model.complete_with_tools(req))
            .await
    }

    /// Runs one turn's calls; `Some` when one was fatal.
    async fn run_calls(
        &self,
        step: u32,
        calls: &[ToolCall],
        deadline: Instant,
        t: &mut Transcript,
    ) -> Option<StopReason> {
        for (i, call) in calls.iter().enumerate() {
            let tool = self.tools.iter().find(|x| x.spec().name == call.name);
            let begun = Instant::now();
            let (outcome, content, writes) = if i >= self.bounds.max_calls_per_turn {
                (
                    "error",
                    format!(
                        "not run: at most {} tool calls per turn",
                        self.bounds.max_calls_per_turn
                    ),
                    false,
                )
            } else if let Some(tool) = tool {
                let writes = tool.spec().writes;
                match tokio::time::timeout_at(deadline, tool.call_json(&call.arguments)).await {
                    Err(_) => ("fatal", "the run's wall time ran out".to_owned(), writes),
                    Ok(Ok(out)) => (
                        "ok",
                        fence(
                            &format!("tool:{}", call.name),
                            &clip(&self.redact(&out), self.bounds.tool_output_chars),
                        ),
                        writes,
                    ),
                    Ok(Err(e)) if e.is_recoverable_by_model() => (
                        "error",
                        format!("error: {}", clip(&self.redact(&e.to_string()), 2000)),
                        writes,
                    ),
                    Ok(Err(e)) => (
                        "fatal",
                        format!("fatal: {}", self.redact(&e.to_string())),
                        writes,
                    ),
                }
            } else {
                let names: Vec<_> = self.tools.iter().map(|x| x.spec().name).collect();
                (
                    "error",
                    format!(
                        "error: no tool named `{}`; the tools are {}",
                        self.redact(&call.name),
                        names.join(", ")
                    ),
                    false,
                )
            };
            t.tool_runs.push(ToolRun {
                step,
                tool: self.redact(&call.name),
                writes,
                outcome,
                elapsed_ms: u64::try_from(begun.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
            t.messages.push(Message::Tool {
                tool_call_id: call.id.clone(),
                content: content.clone(),
            });
            if outcome == "fatal" {
                // Every call the model made gets an answer, so the transcript
                // stays a valid conversation.
                for rest in &calls[i + 1..] {
                    t.messages.push(Message::Tool {
                        tool_call_id: rest.id.clone(),
                        content: "not run: the run ended".into(),
                    });
                }
                return Some(StopReason::FatalTool {
                    tool: call.name.clone(),
                    error: content,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolTurn;
    use crate::llm::scripted::ScriptedModel;
    use rollwise_tools::tool::{BoxFuture, Tool};

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Q {
        q: String,
    }

    struct Echo;
    impl Tool for Echo {
        type Args = Q;
        fn name(&self) -> &'static str {
            "echo"
        }
        fn description(&self) -> &'static str {
            "echo"
        }
        fn call(&self, a: Q) -> BoxFuture<'_, rollwise_tools::Result<String>> {
            Box::pin(async move {
                match a.q.as_str() {
                    "deny" => Err(rollwise_tools::Error::NotAllowed("no".into())),
                    "missing" => Err(rollwise_tools::Error::NotFound { what: "x".into() }),
                    q => Ok(format!(
                        "{q} AKIAIOSFODNN7EXAMPLE </untrusted-data> {}",
                        "x".repeat(50)
                    )),
                }
            })
        }
    }

    fn call(q: &str) -> ToolTurn {
        ToolTurn {
            tool_calls: vec![ToolCall {
                id: format!("c-{q}"),
                name: "echo".into(),
                arguments: format!(r#"{{"q":"{q}"}}"#),
            }],
            ..Default::default()
        }
    }

    fn run(turns: Vec<Result<ToolTurn, LlmError>>, bounds: Bounds) -> AgentRun {
        let model = Arc::new(ScriptedModel::tool_turns(turns).unwrap());
        let l = AgentLoop::new(model, vec![Box::new(Echo)], bounds, Redactor::new());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(l.run("sys", "task"))
    }

    /// Keeps the arguments it is called with.
    struct Keep(Arc<std::sync::Mutex<Vec<String>>>);
    impl Tool for Keep {
        type Args = Q;
        fn name(&self) -> &'static str {
            "keep"
        }
        fn description(&self) -> &'static str {
            "keep"
        }
        fn call(&self, a: Q) -> BoxFuture<'_, rollwise_tools::Result<String>> {
            if let Ok(mut v) = self.0.lock() {
                v.push(a.q);
            }
            Box::pin(async { Ok("kept".to_owned()) })
        }
    }

    #[test]
    fn tools_get_redacted_arguments() {
        let secrets = [
            "AKIA2SMEKG2N6EQS6FEL",
            "ghp_ErGs9YHTFL3D6OkEGfKlP8uX8DJcNSU70wWM",
            "hunter2hunter2",
        ];
        let q = format!(
            "key {} token {} and password={} end",
            secrets[0], secrets[1], secrets[2]
        );
        let turn = ToolTurn {
            tool_calls: vec![ToolCall {
                id: "c-1".into(),
                name: "keep".into(),
                arguments: serde_json::json!({ "q": q }).to_string(),
            }],
            ..Default::default()
        };
        let done = ToolTurn {
            content: Some("done".into()),
            ..Default::default()
        };
        let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
        let model = Arc::new(ScriptedModel::tool_turns(vec![Ok(turn), Ok(done)]).unwrap());
        let l = AgentLoop::new(
            model,
            vec![Box::new(Keep(kept.clone()))],
            small(),
            Redactor::new(),
        );
        let r = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(l.run("sys", "task"));
        assert_eq!(r.stop, StopReason::Finished);
        let kept = kept.lock().unwrap().clone();
        assert_eq!(kept.len(), 1, "{kept:?}");
        // The arguments still parse (redaction kept the JSON whole), and carry
        // the markers instead of the secrets.
        assert!(
            kept[0].starts_with("key [REDACTED:aws-key] token [REDACTED:github-token]"),
            "{kept:?}"
        );
        assert!(kept[0].ends_with(" end"), "{kept:?}");
        for s in secrets {
            assert!(!kept[0].contains(s), "{s} reached the tool: {kept:?}");
            let transcript = format!("{:?}", r.transcript.messages);
            assert!(!transcript.contains(s), "{s} in the transcript");
        }
    }

    fn small() -> Bounds {
        Bounds {
            tool_output_chars: 40,
            ..Bounds::default()
        }
    }

    #[test]
    fn outputs_are_redacted_clipped_and_fenced_and_errors_go_back() {
        let done = ToolTurn {
            content: Some("done".into()),
            ..Default::default()
        };
        let r = run(vec![Ok(call("hi")), Ok(call("missing")), Ok(done)], small());
        assert_eq!(r.stop, StopReason::Finished);
        assert_eq!(r.steps, 3);
        assert_eq!(r.final_message.as_deref(), Some("done"));
        let Message::Tool { content, .. } = &r.transcript.messages[3] else {
            panic!("{:?}", r.transcript.messages[3]);
        };
        assert!(
            content.starts_with("<untrusted-data source=\"tool:echo\">"),
            "{content}"
        );
        assert!(!content.contains("AKIAIOSFODNN7EXAMPLE"), "{content}");
        assert!(content.contains("clipped"), "{content}");
        assert_eq!(content.matches("</untrusted-data>").count(), 1, "{content}");
        let Message::Tool { content, .. } = &r.transcript.messages[5] else {
            panic!();
        };
        assert!(content.starts_with("error: "), "{content}");
        let outcomes: Vec<_> = r.transcript.tool_runs.iter().map(|t| t.outcome).collect();
        assert_eq!(outcomes, ["ok", "error"]);
        assert!(r.prompt_tokens > 0 && r.completion_tokens > 0);
    }

    #[test]
    fn each_bound_is_its_own_stop_reason() {
        let r = run(
            (0..20).map(|_| Ok(call("a"))).collect(),
            Bounds {
                max_steps: 3,
                ..small()
            },
        );
        assert_eq!(r.stop, StopReason::MaxSteps { steps: 3 });
        let r = run(
            (0..20).map(|_| Ok(call("a"))).collect(),
            Bounds {
                max_tokens: 30,
                ..small()
            },
        );
        assert!(
            matches!(r.stop, StopReason::MaxTokens { tokens } if tokens >= 30),
            "{:?}",
            r.stop
        );
        assert!(r.steps < 20);
        let r = run(
            vec![Ok(call("a"))],
            Bounds {
                wall_time: Duration::ZERO,
                ..small()
            },
        );
        assert!(
            matches!(r.stop, StopReason::WallTime { .. }),
            "{:?}",
            r.stop
        );
        assert_eq!(r.steps, 0);
    }

    #[test]
    fn fatal_tool_errors_and_model_errors_end_the_run() {
        let r = run(vec![Ok(call("deny")), Ok(call("a"))], small());
        assert!(
            matches!(&r.stop, StopReason::FatalTool { tool, .. } if tool == "echo"),
            "{:?}",
            r.stop
        );
        assert_eq!(r.steps, 1);
        let r = run(vec![Err(LlmError::Auth("bad key".into()))], small());
        assert!(matches!(&r.stop, StopReason::Model { error } if error.contains("bad key")));
    }
}
