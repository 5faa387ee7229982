//! Where the model is and how it is called: flags, then environment, then the
//! `[llm]` table of the configuration file, then defaults.

use std::path::PathBuf;
use std::time::Duration;

use rollwise_tools::call::{CallPolicy, Jitter};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evidence::Decision;

/// Settings read from the `[llm]` table of `rollwise.toml` (all optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct LlmConfig {
    /// Base URL including `/v1`; `--llm-url` and `ROLLWISE_LLM_URL` override it.
    pub url: Option<String>,
    pub model: Option<String>,
    /// Per call, including reading the whole reply.
    pub timeout_secs: f64,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Attempts per call including the first (transient errors only).
    pub max_attempts: u32,
    /// Longest single wait between attempts, Retry-After included.
    pub max_backoff_secs: f64,
    pub structured_output: StructuredOutput,
    /// Templates here replace the embedded ones of the same name.
    pub prompts_dir: Option<PathBuf>,
    /// Token budget of the log digest in the prompt.
    pub digest_tokens: usize,
    /// `full` for hosted models; `compact` (fewer tokens, same facts) for small
    /// local ones, where every prompt token costs milliseconds of CPU.
    pub prompt_style: PromptStyle,
    /// Sent as `frequency_penalty` when set (-2..=2).
    pub frequency_penalty: Option<f32>,
    /// Generation threads of the bundled local model (`--llm local`). 1 (the
    /// default) is right on a machine shared with other work: its threads
    /// sleep while waiting. More threads make the waiting ones spin briefly,
    /// which is faster only when the cores are otherwise idle (measured on a
    /// 2-core machine: 19 ms per token with 2 idle cores instead of 30 ms, but
    /// 230 ms beside a compiler). See `evals/results/LLM.md`.
    pub local_threads: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PromptStyle {
    #[default]
    Full,
    Compact,
}

impl PromptStyle {
    /// The template rendering the user message.
    pub fn template(self) -> &'static str {
        match self {
            PromptStyle::Full => "verdict.tera",
            PromptStyle::Compact => "verdict_compact.tera",
        }
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            url: None,
            model: None,
            // Small local models on a busy CPU answer in seconds; hosted ones in
            // well under 20 s. Past that a canary step should not wait.
            timeout_secs: 20.0,
            // The reply schema needs ~150 tokens; the rest is slack for reasons.
            max_tokens: 384,
            // A judge should be reproducible, not creative.
            temperature: 0.0,
            max_attempts: 3,
            max_backoff_secs: 4.0,
            structured_output: StructuredOutput::Auto,
            prompts_dir: None,
            digest_tokens: 1200,
            prompt_style: PromptStyle::Full,
            frequency_penalty: None,
            local_threads: 1,
        }
    }
}

impl LlmConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_secs.max(0.001))
    }

    /// Retries of one model call. The timeout is the HTTP client's (or the
    /// local model's); the policy's copy is for the record.
    pub fn retry_policy(&self) -> CallPolicy {
        CallPolicy {
            timeout: self.timeout(),
            max_attempts: self.max_attempts.max(1),
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::try_from_secs_f64(self.max_backoff_secs.max(0.0))
                .unwrap_or(Duration::MAX),
            jitter: Jitter::Full,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(Error::Config(format!(
                "llm.temperature must be in 0..=2, got {}",
                self.temperature
            )));
        }
        if let Some(p) = self.frequency_penalty
            && !(-2.0..=2.0).contains(&p)
        {
            return Err(Error::Config(format!(
                "llm.frequency-penalty must be in -2..=2, got {p}"
            )));
        }
        if self.max_tokens < 64 {
            return Err(Error::Config(format!(
                "llm.max-tokens {} is too small for the reply schema (at least 64)",
                self.max_tokens
            )));
        }
        if !(1..=64).contains(&self.local_threads) {
            return Err(Error::Config(format!(
                "llm.local-threads must be in 1..=64, got {}",
                self.local_threads
            )));
        }
        // Also rejects NaN.
        if self.timeout_secs.is_nan() || self.timeout_secs <= 0.0 {
            return Err(Error::Config("llm.timeout-secs must be positive".into()));
        }
        Ok(())
    }
}

/// Which structured-output mechanisms to try, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum StructuredOutput {
    /// json_schema, then a tool call, then fenced JSON, as the endpoint refuses each.
    #[default]
    Auto,
    JsonSchema,
    ToolCall,
    FencedJson,
}

impl StructuredOutput {
    pub fn formats(self) -> &'static [super::OutputFormat] {
        use super::OutputFormat::*;
        match self {
            StructuredOutput::Auto => &[JsonSchema, ToolCall, FencedJson],
            StructuredOutput::JsonSchema => &[JsonSchema],
            StructuredOutput::ToolCall => &[ToolCall],
            StructuredOutput::FencedJson => &[FencedJson],
        }
    }
}

/// The model the user chose, after flags, environment and file are combined.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmSelection {
    /// No model: statistics and logs decide alone.
    Off { why: String },
    /// An OpenAI-compatible endpoint.
    Endpoint {
        url: String,
        model: String,
        api_key: Option<String>,
    },
    /// The bundled SmolLM2 served by llama.cpp from the project's venv.
    Local,
    /// A scripted model answering the same verdict to every question: for tests
    /// and reproducible evals (e.g. "a model that always says promote").
    Scripted(Decision),
}

/// What the user asked for with `--llm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmSwitch {
    /// Use an endpoint if one is configured, else none.
    Auto,
    Off,
    /// Insist on the configured endpoint: missing configuration is an error.
    On,
    Local,
    Scripted(Decision),
}

impl std::str::FromStr for LlmSwitch {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(LlmSwitch::Auto),
            "off" => Ok(LlmSwitch::Off),
            "on" => Ok(LlmSwitch::On),
            "local" => Ok(LlmSwitch::Local),
            other => match other.strip_prefix("scripted:") {
                Some("promote") => Ok(LlmSwitch::Scripted(Decision::Promote)),
                Some("abort") => Ok(LlmSwitch::Scripted(Decision::Abort)),
                Some("inconclusive") => Ok(LlmSwitch::Scripted(Decision::Inconclusive)),
                _ => Err(format!(
                    "expected auto, off, on, local or scripted:promote|abort|inconclusive, got `{other}`"
                )),
            },
        }
    }
}

/// Inputs to [`select`], gathered by the CLI (environment passed in, not read
/// here, so tests need no process-wide state).
#[derive(Debug, Clone, Default)]
pub struct SelectionInputs {
    pub flag_url: Option<String>,
    pub flag_model: Option<String>,
    pub env_url: Option<String>,
    pub env_model: Option<String>,
    pub env_key: Option<String>,
    pub env_openai_key: Option<String>,
}

/// Combine `--llm`, flags, environment and file into one choice.
pub fn select(
    switch: LlmSwitch,
    inputs: &SelectionInputs,
    file: &LlmConfig,
) -> Result<LlmSelection> {
    let nonempty = |o: &Option<String>| o.clone().filter(|s| !s.trim().is_empty());
    let url = nonempty(&inputs.flag_url)
        .or_else(|| nonempty(&inputs.env_url))
        .or_else(|| nonempty(&file.url));
    let model = nonempty(&inputs.flag_model)
        .or_else(|| nonempty(&inputs.env_model))
        .or_else(|| nonempty(&file.model));
    let api_key = nonempty(&inputs.env_key).or_else(|| nonempty(&inputs.env_openai_key));
    match switch {
        LlmSwitch::Off => Ok(LlmSelection::Off {
            why: "--llm off".into(),
        }),
        LlmSwitch::Local => Ok(LlmSelection::Local),
        LlmSwitch::Scripted(d) => Ok(LlmSelection::Scripted(d)),
        LlmSwitch::Auto | LlmSwitch::On => match (url, model) {
            (Some(url), Some(model)) => Ok(LlmSelection::Endpoint {
                url: url.trim_end_matches('/').to_owned(),
                model,
                api_key,
            }),
            (Some(_), None) => Err(Error::Config(
                "an LLM URL is set but no model: pass --llm-model or set ROLLWISE_LLM_MODEL".into(),
            )),
            (None, _) if switch == LlmSwitch::On => Err(Error::Config(
                "--llm on needs an endpoint: pass --llm-url or set ROLLWISE_LLM_URL (base URL including /v1)".into(),
            )),
            (None, _) => Ok(LlmSelection::Off {
                why: "no LLM URL configured (--llm-url / ROLLWISE_LLM_URL)".into(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> SelectionInputs {
        SelectionInputs::default()
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let file = LlmConfig {
            url: Some("http://file/v1".into()),
            model: Some("file-model".into()),
            ..LlmConfig::default()
        };
        let mut i = inputs();
        i.env_url = Some("http://env/v1/".into());
        i.env_model = Some("env-model".into());
        i.env_openai_key = Some("sk-openai".into());
        let got = select(LlmSwitch::Auto, &i, &file).unwrap();
        assert_eq!(
            got,
            LlmSelection::Endpoint {
                url: "http://env/v1".into(),
                model: "env-model".into(),
                api_key: Some("sk-openai".into())
            }
        );
        i.flag_url = Some("http://flag/v1".into());
        i.env_key = Some("sk-rollwise".into());
        let LlmSelection::Endpoint { url, api_key, .. } =
            select(LlmSwitch::Auto, &i, &file).unwrap()
        else {
            panic!("expected an endpoint")
        };
        assert_eq!(url, "http://flag/v1");
        assert_eq!(api_key.as_deref(), Some("sk-rollwise"));
        assert!(matches!(
            select(LlmSwitch::Off, &i, &file).unwrap(),
            LlmSelection::Off { .. }
        ));
    }

    #[test]
    fn no_url_means_no_model_unless_insisted() {
        let off = select(LlmSwitch::Auto, &inputs(), &LlmConfig::default()).unwrap();
        assert!(matches!(off, LlmSelection::Off { why } if why.contains("ROLLWISE_LLM_URL")));
        assert!(select(LlmSwitch::On, &inputs(), &LlmConfig::default()).is_err());
        let mut i = inputs();
        i.flag_url = Some("http://x/v1".into());
        assert!(select(LlmSwitch::Auto, &i, &LlmConfig::default()).is_err());
    }

    #[test]
    fn switch_parses() {
        assert_eq!(
            "scripted:promote".parse(),
            Ok(LlmSwitch::Scripted(Decision::Promote))
        );
        assert!("scripted:maybe".parse::<LlmSwitch>().is_err());
        assert!("sometimes".parse::<LlmSwitch>().is_err());
    }

    #[test]
    fn config_file_rejects_nonsense() {
        let bad = LlmConfig {
            temperature: 3.0,
            ..LlmConfig::default()
        };
        assert!(bad.validate().is_err());
        assert!(LlmConfig::default().validate().is_ok());
        let parsed: LlmConfig = toml::from_str("timeout-secs = 5\nmax-tokens = 200\n").unwrap();
        assert_eq!(parsed.max_tokens, 200);
        assert!(toml::from_str::<LlmConfig>("timeout = 5\n").is_err());
    }
}
