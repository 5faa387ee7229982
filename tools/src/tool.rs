//! Typed tools for the remediation agent's loop.
//!
//! A tool declares its arguments as a Rust type (`Deserialize + JsonSchema`);
//! the JSON schema the model sees is derived from it, and the model's arguments
//! are parsed back into it, so a tool never handles untyped input. Outputs are
//! text for the model; the agent loop redacts and bounds them centrally.

use std::future::Future;
use std::pin::Pin;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the model is told about a tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
    /// Whether the tool changes anything outside the process (GitHub writes).
    /// Kubernetes tools never do: the crate has no write verb.
    pub writes: bool,
}

/// A tool with typed arguments.
pub trait Tool: Send + Sync {
    type Args: DeserializeOwned + JsonSchema + Send;
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn writes(&self) -> bool {
        false
    }
    fn call(&self, args: Self::Args) -> BoxFuture<'_, Result<String>>;
}

/// A tool with its argument type erased, as the loop holds it.
pub trait DynTool: Send + Sync {
    fn spec(&self) -> ToolSpec;
    /// Parse `args` (the model's JSON) and run the tool.
    fn call_json<'a>(&'a self, args: &'a str) -> BoxFuture<'a, Result<String>>;
}

impl<T: Tool> DynTool for T {
    fn spec(&self) -> ToolSpec {
        let schema = schemars::schema_for!(T::Args);
        let mut parameters = serde_json::to_value(schema).unwrap_or_default();
        if let Some(o) = parameters.as_object_mut() {
            o.remove("$schema");
            o.remove("title");
        }
        ToolSpec {
            name: self.name().to_owned(),
            description: self.description().to_owned(),
            parameters,
            writes: self.writes(),
        }
    }

    fn call_json<'a>(&'a self, args: &'a str) -> BoxFuture<'a, Result<String>> {
        let raw = if args.trim().is_empty() { "{}" } else { args };
        match serde_json::from_str::<T::Args>(raw) {
            Ok(a) => self.call(a),
            Err(e) => {
                let err = Error::InvalidArgs {
                    tool: self.name().to_owned(),
                    message: e.to_string(),
                };
                Box::pin(async move { Err(err) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    struct EchoArgs {
        /// What to echo.
        text: String,
    }

    struct Echo;
    impl Tool for Echo {
        type Args = EchoArgs;
        fn name(&self) -> &'static str {
            "echo"
        }
        fn description(&self) -> &'static str {
            "Echo text."
        }
        fn call(&self, a: EchoArgs) -> BoxFuture<'_, Result<String>> {
            Box::pin(async move { Ok(a.text) })
        }
    }

    #[test]
    fn spec_is_derived_and_bad_args_are_recoverable() {
        let t: &dyn DynTool = &Echo;
        let s = t.spec();
        assert_eq!(s.parameters["properties"]["text"]["type"], "string");
        assert_eq!(s.parameters["required"][0], "text");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(t.call_json(r#"{"text":"hi"}"#)).unwrap(), "hi");
        let e = rt.block_on(t.call_json(r#"{"txt":"hi"}"#)).unwrap_err();
        assert!(e.is_recoverable_by_model(), "{e}");
    }
}
