//! A model that answers from a script: the same verdict to every question, or a
//! queue of canned replies and errors. Used by tests and by reproducible evals
//! (`--llm scripted:promote` is "a model that says promote to everything").
//! Tokens are counted with the cl100k tokenizer, so token columns mean the same
//! thing as they would against a hosted model.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::{BoxFuture, ChatModel, ChatReply, ChatRequest, LlmError, ToolChatRequest, ToolTurn};
use crate::error::{Error, Result};
use crate::evidence::Decision;

pub struct ScriptedModel {
    name: String,
    script: Script,
    bpe: tiktoken_rs::CoreBPE,
    /// Every request received, for tests to inspect.
    seen: Mutex<Vec<ChatRequest>>,
    /// Agent turns to play, in order (scripted tool-call mode).
    turns: Mutex<VecDeque<std::result::Result<ToolTurn, LlmError>>>,
    seen_tools: Mutex<Vec<ToolChatRequest>>,
}

enum Script {
    Always(Decision),
    Queue(Mutex<VecDeque<std::result::Result<String, LlmError>>>),
}

impl std::fmt::Debug for ScriptedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedModel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ScriptedModel {
    /// Answers `verdict` with confidence 100 to every request.
    pub fn always(verdict: Decision) -> Result<Self> {
        Self::build(format!("scripted-{verdict}"), Script::Always(verdict))
    }

    /// Answers each request with the next item; an exhausted queue is a server error.
    pub fn queue(replies: Vec<std::result::Result<String, LlmError>>) -> Result<Self> {
        Self::build(
            "scripted-queue".into(),
            Script::Queue(Mutex::new(replies.into())),
        )
    }

    /// Scripted tool-call mode: each agent turn gets the next item (tool calls
    /// or a final text); an exhausted script is a server error. Token counts
    /// left at 0 are filled in with the tokenizer.
    pub fn tool_turns(turns: Vec<std::result::Result<ToolTurn, LlmError>>) -> Result<Self> {
        let m = Self::build(
            "scripted-agent".into(),
            Script::Queue(Mutex::new(VecDeque::new())),
        )?;
        if let Ok(mut q) = m.turns.lock() {
            q.extend(turns);
        }
        Ok(m)
    }

    fn build(name: String, script: Script) -> Result<Self> {
        let bpe = tiktoken_rs::cl100k_base().map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(ScriptedModel {
            name,
            script,
            bpe,
            seen: Mutex::new(Vec::new()),
            turns: Mutex::new(VecDeque::new()),
            seen_tools: Mutex::new(Vec::new()),
        })
    }

    pub fn requests(&self) -> Vec<ChatRequest> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Every agent turn's request received, in order.
    pub fn tool_requests(&self) -> Vec<ToolChatRequest> {
        self.seen_tools
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    fn tool_answer(&self, req: &ToolChatRequest) -> std::result::Result<ToolTurn, LlmError> {
        if let Ok(mut seen) = self.seen_tools.lock() {
            seen.push(req.clone());
        }
        let next = self.turns.lock().ok().and_then(|mut q| q.pop_front());
        let mut turn = match next {
            Some(Ok(t)) => t,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(LlmError::Server {
                    status: 500,
                    message: "script exhausted".into(),
                });
            }
        };
        if turn.prompt_tokens == 0 {
            let text = serde_json::to_string(&req.messages).unwrap_or_default();
            let tools: usize = req
                .tools
                .iter()
                .map(|t| self.tokens(&t.parameters.to_string()) as usize)
                .sum();
            turn.prompt_tokens = self.tokens(&text) + tools as u64;
        }
        if turn.completion_tokens == 0 {
            let out = serde_json::to_string(&(&turn.content, &turn.tool_calls)).unwrap_or_default();
            turn.completion_tokens = self.tokens(&out);
        }
        Ok(turn)
    }

    fn tokens(&self, s: &str) -> u64 {
        self.bpe.encode_with_special_tokens(s).len() as u64
    }

    fn answer(&self, req: &ChatRequest) -> std::result::Result<ChatReply, LlmError> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(req.clone());
        }
        let text = match &self.script {
            Script::Always(v) => serde_json::json!({
                "verdict": v.as_str(),
                "confidence": 100,
                "summary": format!("The canary looks fine; {v} it."),
                "reasons": ["scripted answer"],
                "suspected_root_cause": ""
            })
            .to_string(),
            Script::Queue(q) => match q.lock().ok().and_then(|mut q| q.pop_front()) {
                Some(Ok(text)) => text,
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(LlmError::Server {
                        status: 500,
                        message: "script exhausted".into(),
                    });
                }
            },
        };
        Ok(ChatReply {
            prompt_tokens: self.tokens(&req.system) + self.tokens(&req.user),
            completion_tokens: self.tokens(&text),
            text,
        })
    }
}

impl ChatModel for ScriptedModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, std::result::Result<ChatReply, LlmError>> {
        let out = self.answer(req);
        Box::pin(async move { out })
    }

    fn complete_with_tools<'a>(
        &'a self,
        req: &'a ToolChatRequest,
    ) -> BoxFuture<'a, std::result::Result<ToolTurn, LlmError>> {
        let out = self.tool_answer(req);
        Box::pin(async move { out })
    }
}
