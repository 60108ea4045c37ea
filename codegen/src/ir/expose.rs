//! IR of what a capability exposes: REST routes and MCP tools (and the aggregate functions they
//! may share), all built on [`Exposed`], one callable unit with typed arguments and a JSON
//! result. The REST and MCP emitters only wrap `Exposed` functions; the argument flow (names,
//! `with`, pass-through) is decided once, here.

use crate::diagnostics::Span;
use crate::ir::{Shape, TypeRef};

/// Something a caller invokes: an exposed REST operation, an MCP tool or an aggregate
/// function. Emitted as `operations::<fn_name>(clients, args) -> Result<Value, Error>`.
#[derive(Clone, Debug)]
pub struct Exposed {
    /// The spec's name (tool name, REST operation name or function name).
    pub name: String,
    /// Rust function name in the `operations` module (unique).
    pub fn_name: String,
    /// Rust name of the arguments struct (`ListDatabaseBackupsArgs`).
    pub args_type: String,
    pub description: Option<String>,
    pub inputs: Vec<Input>,
    pub action: Action,
    /// Applied to the action's JSON result; `None` passes it through.
    pub output: Option<Shape>,
    /// The result is the bytes of a binary consumed operation (then `output` is `None`):
    /// `operations::<fn_name>` returns `capgen_runtime::Binary` instead of a JSON value.
    pub binary: Option<BinaryResult>,
    pub span: Span,
}

/// How an [`Exposed`] answers with bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryResult {
    /// The media type advertised (REST `responses`/`responseBinary`, else the consumed
    /// operation's `outputMediaType`); `None` passes the upstream `Content-Type` on.
    pub media_type: Option<String>,
    /// The REST status of a successful answer (200 unless `responses` says otherwise).
    pub status: u16,
    /// The REST response's description, for the OpenAPI document.
    pub description: Option<String>,
}

/// One argument.
#[derive(Clone, Debug)]
pub struct Input {
    /// Name callers use (JSON property, query/path parameter name).
    pub name: String,
    pub rust_name: String,
    /// One of String, Integer, Number, Boolean, Json, or a Named type from `types`.
    pub ty: TypeRef,
    pub required: bool,
    pub description: Option<String>,
    /// The JSON type the spec declares, for schemas of untyped (`Json`) arguments.
    pub json_type: Option<String>,
    /// Where a REST caller passes it. MCP callers pass every input as a JSON property.
    pub location: InputLocation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputLocation {
    Path,
    Query,
    Header,
    /// The whole JSON request body.
    Body,
    /// A property of a JSON object body (or a query parameter for bodiless methods).
    BodyField,
}

/// What an [`Exposed`] does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Calls one consumed operation.
    Call(Call),
    /// Runs `call` and `lookup` steps, then builds the result from `mappings`
    /// (JSON paths over an object holding each step's result under its name).
    Steps { steps: Vec<Step>, mappings: Vec<(String, Shape)> },
    /// Returns [`Exposed::output`] computed from the arguments alone (mock mode).
    Mock,
    /// Runs `ir.workflows[index]`; the arguments are the workflow's inputs plus the optional
    /// polling controls [`RETRY_UNMATCHED`] and [`RETRY_AFTER_SECONDS`].
    Workflow(usize),
}

/// Argument of a workflow run: retry unmet success criteria up to this many times (polling).
pub const RETRY_UNMATCHED: &str = "retryUnmatched";
/// Argument of a workflow run: seconds between those retries.
pub const RETRY_AFTER_SECONDS: &str = "retryAfterSeconds";

/// A call to `apis[api].operations[operation]`.
#[derive(Clone, Debug)]
pub struct Call {
    pub api: usize,
    pub operation: usize,
    /// One entry per parameter of the consumed operation, in its order; `None` leaves an
    /// optional parameter unset.
    pub args: Vec<Option<ArgValue>>,
}

/// Where a consumed parameter's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgValue {
    /// The caller's argument (index into [`Exposed::inputs`]).
    Input(usize),
    /// A literal from `with`.
    Literal(serde_json::Value),
    /// Text with `{{arg}}` placeholders.
    Template(Vec<TemplatePiece>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePiece {
    Text(String),
    Input(usize),
}

/// An orchestration step.
#[derive(Clone, Debug)]
pub enum Step {
    Call { name: String, call: Call },
    /// For each value at `lookup_value` (a JSON path over the step results), the items of step
    /// `index`'s result whose `match_field` equals it, keeping only `fields` (all when empty).
    Lookup { name: String, index: String, match_field: String, lookup_value: String, fields: Vec<String> },
}

/// How an inbound request authenticates (`exposes[].authentication`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboundAuth {
    Bearer { token: crate::ir::SpecValue },
    ApiKey { name: String, value: crate::ir::SpecValue, in_query: bool },
    Basic { username: crate::ir::SpecValue, password: crate::ir::SpecValue },
}

/// An exposed REST adapter.
#[derive(Clone, Debug)]
pub struct RestAdapter {
    pub namespace: String,
    pub description: Option<String>,
    /// Default port (overridable at run time).
    pub port: u16,
    pub auth: Option<InboundAuth>,
    pub routes: Vec<Route>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Route {
    /// Uppercase HTTP method.
    pub method: String,
    /// Path as written, with `{name}` placeholders (`{{name}}` normalised).
    pub path: String,
    /// The spec's operation name, if any.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Index into [`crate::ir::Ir::exposed`].
    pub exposed: usize,
}

/// An exposed MCP server.
#[derive(Clone, Debug)]
pub struct McpAdapter {
    pub namespace: String,
    /// Server instructions (the adapter's description).
    pub description: Option<String>,
    pub port: u16,
    /// `http` (Streamable HTTP) or `stdio`, as the spec prefers; both are generated.
    pub stdio_preferred: bool,
    pub auth: Option<InboundAuth>,
    /// Caching hints for clients (Ikanos `ttlMs`, `cacheScope`), carried in each tool's `_meta`.
    pub cache: CacheHints,
    pub tools: Vec<Tool>,
    pub resources: Vec<McpResource>,
    pub prompts: Vec<McpPrompt>,
    pub span: Span,
}

/// An MCP adapter's caching hints; MCP (and rmcp 3.11) has no field for them, so they travel
/// in each tool's `_meta` under [`TTL_MS_META`] and [`CACHE_SCOPE_META`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheHints {
    pub ttl_ms: Option<u64>,
    pub scope: Option<String>,
}

/// `_meta` key of a tool's freshness hint, in milliseconds.
pub const TTL_MS_META: &str = "io.ikanos/ttlMs";
/// `_meta` key of a tool's cache scope (`public` or `private`).
pub const CACHE_SCOPE_META: &str = "io.ikanos/cacheScope";

#[derive(Clone, Debug)]
pub struct Tool {
    pub name: String,
    /// `label`, shown as the MCP title.
    pub title: Option<String>,
    pub description: Option<String>,
    /// Index into [`crate::ir::Ir::exposed`].
    pub exposed: usize,
    pub hints: Hints,
}

/// MCP tool annotations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct McpResource {
    pub name: String,
    pub title: Option<String>,
    pub uri: String,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    /// Dynamic resources read through an exposed call; static ones have `text`.
    pub exposed: Option<usize>,
    /// Contents of a static resource (read from `location` at generation time).
    pub text: Option<String>,
}

#[derive(Clone, Debug)]
pub struct McpPrompt {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// (name, description, required)
    pub arguments: Vec<(String, Option<String>, bool)>,
    /// (role, text with `{{argument}}` placeholders)
    pub messages: Vec<(String, String)>,
}

impl Exposed {
    /// The JSON Schema of the arguments (the MCP input schema; REST request documentation).
    pub fn input_schema(&self) -> serde_json::Value {
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for input in &self.inputs {
            let mut schema = match (&input.ty, input.json_type.as_deref()) {
                (TypeRef::Json, Some(kind @ ("object" | "array" | "string" | "number" | "integer" | "boolean"))) => {
                    serde_json::json!({ "type": kind })
                }
                (ty, _) => type_schema(ty),
            };
            if let (Some(description), Some(object)) = (&input.description, schema.as_object_mut()) {
                object.insert("description".into(), serde_json::Value::String(description.clone()));
            }
            properties.insert(input.name.clone(), schema);
            if input.required {
                required.push(serde_json::Value::String(input.name.clone()));
            }
        }
        let mut schema = serde_json::Map::new();
        schema.insert("type".into(), "object".into());
        schema.insert("properties".into(), serde_json::Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".into(), serde_json::Value::Array(required));
        }
        serde_json::Value::Object(schema)
    }
}

/// A JSON Schema for a type reference (named types are described loosely as objects or
/// strings: the upstream validates them precisely).
pub fn type_schema(ty: &TypeRef) -> serde_json::Value {
    match ty {
        TypeRef::String => serde_json::json!({ "type": "string" }),
        TypeRef::Integer => serde_json::json!({ "type": "integer" }),
        TypeRef::Number => serde_json::json!({ "type": "number" }),
        TypeRef::Boolean => serde_json::json!({ "type": "boolean" }),
        TypeRef::Array(item) => serde_json::json!({ "type": "array", "items": type_schema(item) }),
        TypeRef::Map(_) | TypeRef::Named(_) => serde_json::json!({ "type": "object" }),
        TypeRef::Option(inner) => type_schema(inner),
        TypeRef::Json => serde_json::json!({}),
    }
}
