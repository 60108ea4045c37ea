//! MCP server support for generated `mcp` modules (feature `mcp`): the pieces every generated
//! server shares, so the generated `ServerHandler` stays a thin, readable table of tools.
//!
//! - [`SchemaCell`]: a tool's input schema, written as JSON text and parsed once.
//! - [`call`]: decodes a tool's arguments, runs the exposed operation and turns the outcome into a
//!   [`CallToolResult`] (object results as `structuredContent` plus a text copy; upstream and
//!   argument failures as `isError: true` results that say what failed).
//! - [`server_config`]: the `initialize` answer (name, version, instructions, capabilities).
//! - [`http_router`]: Streamable HTTP at `/mcp` with a Host/Origin allow-list (DNS-rebinding
//!   protection, loopback by default) and optional inbound authentication ([`InboundAuth`], shared with REST).
//! - [`serve_stdio`]: the same server over stdin/stdout.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use rmcp::model::{
    CallToolResult, ContentBlock, ErrorData, Implementation, JsonObject, PromptsCapability, ReadResourceResult,
    ResourceContents, ResourcesCapability, ServerCapabilities, ServerConfig, ToolsCapability,
};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::server::InboundAuth;
use crate::{ConfigError, Error};

/// The path the Streamable HTTP endpoint is served at.
pub const MCP_PATH: &str = "/mcp";

/// Environment variable listing extra allowed `Host` values (comma-separated `host` or
/// `host:port`), for servers reached under a name other than a loopback address.
pub const ALLOWED_HOSTS_ENV: &str = "CAPGEN_MCP_ALLOWED_HOSTS";

/// Environment variable listing extra allowed browser origins (comma-separated, with scheme,
/// e.g. `https://app.example.com:443`).
pub const ALLOWED_ORIGINS_ENV: &str = "CAPGEN_MCP_ALLOWED_ORIGINS";
/// Environment variable: seconds after which an idle MCP session is closed (default
/// [`DEFAULT_SESSION_IDLE`]).
pub const SESSION_IDLE_ENV: &str = "CAPGEN_MCP_SESSION_IDLE_SECS";
/// Environment variable: the most MCP sessions open at once (default [`DEFAULT_MAX_SESSIONS`]).
pub const MAX_SESSIONS_ENV: &str = "CAPGEN_MCP_MAX_SESSIONS";
/// How long an MCP session may stay idle before the server closes it.
pub const DEFAULT_SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(600);
/// The most MCP sessions open at once; a new session beyond it is refused with a 503.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// A JSON object (a tool's input schema) kept as text in generated code and parsed on first use.
#[derive(Debug)]
pub struct SchemaCell {
    text: &'static str,
    cell: OnceLock<Arc<JsonObject>>,
}

impl SchemaCell {
    /// A cell for `text`, a JSON object.
    pub const fn new(text: &'static str) -> Self {
        Self { text, cell: OnceLock::new() }
    }

    /// The parsed object. Text that is not a JSON object (never produced by capgen) yields
    /// `{"type": "object"}`, so a bad schema cannot take the server down.
    pub fn get(&self) -> Arc<JsonObject> {
        self.cell
            .get_or_init(|| {
                let object = match serde_json::from_str::<Value>(self.text) {
                    Ok(Value::Object(object)) => object,
                    _ => {
                        let mut object = JsonObject::new();
                        object.insert("type".to_owned(), Value::String("object".to_owned()));
                        object
                    }
                };
                Arc::new(object)
            })
            .clone()
    }
}

/// Which kinds of primitives a server offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub tools: bool,
    pub resources: bool,
    pub prompts: bool,
}

/// The server's `initialize` answer.
pub fn server_config(
    name: &str,
    title: Option<&str>,
    version: &str,
    instructions: Option<&str>,
    capabilities: Capabilities,
) -> ServerConfig {
    let mut caps = ServerCapabilities::default();
    if capabilities.tools {
        caps.tools = Some(ToolsCapability::default());
    }
    if capabilities.resources {
        caps.resources = Some(ResourcesCapability::default());
    }
    if capabilities.prompts {
        caps.prompts = Some(PromptsCapability::default());
    }
    let mut implementation = Implementation::new(name, version);
    if let Some(title) = title {
        implementation = implementation.with_title(title);
    }
    let config = ServerConfig::new(caps).with_server_info(implementation);
    match instructions {
        Some(instructions) => config.with_instructions(instructions),
        None => config,
    }
}

/// Decodes `arguments` as `A` (a missing object counts as `{}`), or an `isError` result that
/// says which argument is wrong. Tool input errors are tool results, not protocol errors, so
/// the caller (and the model) can read and fix them.
pub fn arguments<A: DeserializeOwned>(tool: &str, arguments: Option<JsonObject>) -> Result<A, Box<CallToolResult>> {
    let value = Value::Object(arguments.unwrap_or_default());
    serde_json::from_value(value).map_err(|err| {
        let message = format!("invalid arguments for tool `{tool}`: {err}");
        let mut error = JsonObject::new();
        error.insert("kind".to_owned(), Value::String("invalid_arguments".to_owned()));
        error.insert("message".to_owned(), Value::String(message.clone()));
        Box::new(error_result(message, error))
    })
}

/// Runs one tool: decodes its arguments, awaits `operation` and converts the outcome with
/// [`Output::tool_result`] (JSON as with [`tool_result`]; bytes as image, audio or blob content).
pub async fn call<A, O, F, Fut>(tool: &str, raw_arguments: Option<JsonObject>, operation: F) -> CallToolResult
where
    A: DeserializeOwned,
    O: Output,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<O, Error>>,
{
    match arguments::<A>(tool, raw_arguments) {
        // Boxed: `call_tool` matches over every tool, so without the box its future is as large
        // as the largest operation's (a workflow's: kilobytes), and rmcp moves it several times
        // per call (measured: 84k of the instructions of a call were those copies).
        Ok(args) => match Box::pin(operation(args)).await {
            Ok(output) => output.tool_result(),
            Err(err) => upstream_error(&err),
        },
        Err(invalid) => *invalid,
    }
}

/// What an exposed operation returns, as MCP content: a JSON [`Value`] or a [`crate::Binary`].
pub trait Output {
    /// The successful result of a `tools/call`.
    fn tool_result(self) -> CallToolResult;
    /// The contents of a `resources/read` of `uri` (`mime_type` from the spec, if any).
    fn resource_contents(self, uri: &str, mime_type: Option<&str>) -> ResourceContents;
}

impl Output for Value {
    /// `structuredContent` with a JSON text copy.
    fn tool_result(self) -> CallToolResult {
        CallToolResult::structured(self)
    }

    /// Strings as text (`text/plain`), other JSON pretty-printed (`application/json`).
    fn resource_contents(self, uri: &str, mime_type: Option<&str>) -> ResourceContents {
        let (text, default_mime) = match self {
            Value::String(text) => (text, "text/plain"),
            other => (serde_json::to_string_pretty(&other).unwrap_or_default(), "application/json"),
        };
        ResourceContents::text(text, uri).with_mime_type(mime_type.unwrap_or(default_mime))
    }
}

impl Output for crate::Binary {
    /// Base64 content: an image or audio block for `image/*` and `audio/*`, else an embedded
    /// blob resource (MCP has no other place for bytes in a tool result).
    fn tool_result(self) -> CallToolResult {
        let media_type = self.media_type().to_owned();
        let data = self.base64();
        let block = if media_type.starts_with("image/") {
            ContentBlock::image(data, media_type)
        } else if media_type.starts_with("audio/") {
            ContentBlock::audio(data, media_type)
        } else {
            ContentBlock::resource(ResourceContents::blob(data, "capgen://result").with_mime_type(media_type))
        };
        CallToolResult::success(vec![block])
    }

    /// `BlobResourceContents`: base64 `blob` with the spec's or the upstream's media type.
    fn resource_contents(self, uri: &str, mime_type: Option<&str>) -> ResourceContents {
        let media_type = mime_type.unwrap_or(self.media_type()).to_owned();
        ResourceContents::blob(self.base64(), uri).with_mime_type(media_type)
    }
}

/// An exposed operation's outcome as a tool result: the value as `structuredContent` with a
/// JSON text copy, or an `isError` result naming what failed (see [`upstream_error`]).
pub fn tool_result(result: Result<Value, Error>) -> CallToolResult {
    match result {
        Ok(value) => CallToolResult::structured(value),
        Err(err) => upstream_error(&err),
    }
}

/// An `isError` result for a failed call: the text is the error's one-line message (operation,
/// upstream status and body excerpt, or timeout/transport cause); `structuredContent.error`
/// carries `kind`, `status`, `operation`, `message`, the upstream `body` and its
/// `retryAfterSeconds` (a `Retry-After` header); for a workflow, `workflow`, the failing `step`
/// and that step's upstream `status`. Never a secret.
pub fn upstream_error(err: &Error) -> CallToolResult {
    let kind = match err {
        Error::Status { .. } => "status",
        Error::Timeout { .. } => "timeout",
        Error::Transport { .. } => "transport",
        Error::Decode { .. } => "decode",
        Error::TooLarge { .. } => "too_large",
        Error::InvalidRequest { .. } => "invalid_arguments",
        Error::Config(_) => "config",
        Error::Workflow { .. } => "workflow",
    };
    let message = err.to_string();
    let mut error = JsonObject::new();
    error.insert("kind".to_owned(), Value::String(kind.to_owned()));
    if let Some(status) = err.status() {
        error.insert("status".to_owned(), Value::from(status));
    }
    if let Error::Workflow { workflow, step, step_status, .. } = err {
        error.insert("workflow".to_owned(), Value::String(workflow.clone()));
        error.insert("step".to_owned(), Value::String(step.clone()));
        if let Some(status) = step_status {
            error.insert("status".to_owned(), Value::from(*status));
        }
    }
    if let Some(operation) = err.operation() {
        error.insert("operation".to_owned(), Value::String(operation.to_owned()));
    }
    error.insert("message".to_owned(), Value::String(message.clone()));
    if let Some(body) = err.body().filter(|body| !body.is_null()) {
        error.insert("body".to_owned(), body.clone());
    }
    if let Some(retry_after) = err.retry_after() {
        error.insert("retryAfterSeconds".to_owned(), Value::from(retry_after.as_secs()));
    }
    error_result(message, error)
}

fn error_result(text: String, error: JsonObject) -> CallToolResult {
    let mut structured = JsonObject::new();
    structured.insert("error".to_owned(), Value::Object(error));
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(Value::Object(structured));
    result
}

/// The JSON-RPC error for a `tools/call` naming no tool of this server.
pub fn unknown_tool(name: &str) -> ErrorData {
    ErrorData::invalid_params(format!("unknown tool `{name}`"), Some(serde_json::json!({ "tool": name })))
}

/// The JSON-RPC error for a `resources/read` of a URI this server does not serve.
pub fn unknown_resource(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(format!("unknown resource `{uri}`"), Some(serde_json::json!({ "uri": uri })))
}

/// The JSON-RPC error for a `prompts/get` naming no prompt of this server.
pub fn unknown_prompt(name: &str) -> ErrorData {
    ErrorData::invalid_params(format!("unknown prompt `{name}`"), Some(serde_json::json!({ "prompt": name })))
}

/// A static resource's contents (`text/plain` unless the spec names a MIME type).
pub fn read_static(uri: &str, mime_type: Option<&str>, text: &str) -> ReadResourceResult {
    ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type(mime_type.unwrap_or("text/plain"))])
}

/// A dynamic resource: runs its exposed operation (with no arguments) and returns the result as
/// text (strings as is, other JSON pretty-printed as `application/json` unless the spec names a
/// MIME type) or, for bytes, as a base64 blob ([`Output::resource_contents`]). A failed call is a JSON-RPC internal error with the call's message.
pub async fn read_dynamic<A, O, F, Fut>(uri: &str, mime_type: Option<&str>, operation: F) -> Result<ReadResourceResult, ErrorData>
where
    A: DeserializeOwned,
    O: Output,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<O, Error>>,
{
    let args = serde_json::from_value::<A>(Value::Object(JsonObject::new()))
        .map_err(|err| ErrorData::internal_error(format!("cannot read resource `{uri}`: {err}"), None))?;
    let value = Box::pin(operation(args)).await.map_err(|err| ErrorData::internal_error(format!("cannot read resource `{uri}`: {err}"), None))?;
    Ok(ReadResourceResult::new(vec![value.resource_contents(uri, mime_type)]))
}

/// Renders a prompt template: each `{{name}}` becomes the argument `name` (strings as is, other
/// JSON values as JSON; missing arguments as empty text). Unknown placeholders stay empty.
pub fn render_prompt(template: &str, arguments: Option<&JsonObject>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match arguments.and_then(|args| args.get(name)) {
                    Some(Value::String(text)) => out.push_str(text),
                    Some(Value::Null) | None => {}
                    Some(other) => out.push_str(&other.to_string()),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Checks that every required prompt argument is present, as a JSON-RPC invalid-params error.
pub fn require_prompt_arguments(prompt: &str, required: &[&str], arguments: Option<&JsonObject>) -> Result<(), ErrorData> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|name| arguments.and_then(|args| args.get(*name)).is_none_or(Value::is_null))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ErrorData::invalid_params(
            format!("prompt `{prompt}` is missing required argument(s): {}", missing.join(", ")),
            None,
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Transports
// ---------------------------------------------------------------------------------------------

/// Who may reach the HTTP endpoint: `Host` and `Origin` allow-lists (DNS-rebinding protection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// `host` or `host:port` values accepted in the `Host` header.
    pub allowed_hosts: Vec<String>,
    /// Browser origins (`scheme://host[:port|:*]`) accepted in the `Origin` header; requests
    /// without `Origin` (non-browser clients) are accepted.
    pub allowed_origins: Vec<String>,
    /// A session without requests for this long is closed (its memory freed).
    pub session_idle: std::time::Duration,
    /// The most sessions open at once; an `initialize` beyond it is answered 503.
    pub max_sessions: usize,
}

impl Default for HttpOptions {
    /// Loopback only.
    fn default() -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: vec![
                "http://localhost:*".into(),
                "http://127.0.0.1:*".into(),
                "http://[::1]:*".into(),
                "https://localhost:*".into(),
                "https://127.0.0.1:*".into(),
                "https://[::1]:*".into(),
            ],
            session_idle: DEFAULT_SESSION_IDLE,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }
}

impl HttpOptions {
    /// Loopback plus the comma-separated entries of [`ALLOWED_HOSTS_ENV`] and
    /// [`ALLOWED_ORIGINS_ENV`]; the session limits from [`SESSION_IDLE_ENV`] and
    /// [`MAX_SESSIONS_ENV`] (a value that is not a positive whole number is ignored, with a warning).
    pub fn from_env() -> Self {
        let mut options = Self::default();
        let extra = |var: &str| -> Vec<String> {
            std::env::var(var)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        options.allowed_hosts.extend(extra(ALLOWED_HOSTS_ENV));
        options.allowed_origins.extend(extra(ALLOWED_ORIGINS_ENV));
        if let Some(seconds) = positive_env(SESSION_IDLE_ENV) {
            options.session_idle = std::time::Duration::from_secs(seconds);
        }
        if let Some(max) = positive_env(MAX_SESSIONS_ENV) {
            options.max_sessions = usize::try_from(max).unwrap_or(usize::MAX);
        }
        options
    }
}

/// A positive whole number from environment variable `var`.
fn positive_env(var: &str) -> Option<u64> {
    let text = std::env::var(var).ok()?;
    match text.trim().parse::<u64>() {
        Ok(value) if value > 0 => Some(value),
        _ => {
            tracing::warn!(variable = var, "ignored: not a positive whole number");
            None
        }
    }
}

/// An axum router serving `server` over Streamable HTTP at [`MCP_PATH`] (sessions per client,
/// SSE or JSON responses as the client accepts), with the Host/Origin allow-lists of `options`
/// and, when `auth` is given, a 401 for requests without the expected credentials.
pub fn http_router<S>(server: S, auth: Option<InboundAuth>, options: HttpOptions) -> axum::Router
where
    S: rmcp::ServerHandler + Clone + Send + 'static,
{
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.allowed_hosts)
        .with_allowed_origins(options.allowed_origins)
        .enforce_origin_validation();
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(options.session_idle);
    let sessions = Arc::new(sessions);
    let service = StreamableHttpService::new(move || Ok(server.clone()), Arc::clone(&sessions), config);
    let max_sessions = options.max_sessions;
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let router = axum::Router::new().route_service(MCP_PATH, service).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let sessions = Arc::clone(&sessions);
            if !watching.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tokio::spawn(release_memory_of_closed_sessions(Arc::downgrade(&sessions)));
            }
            async move {
                // A POST without a session id opens a session (`initialize`).
                let opens_session = request.method() == axum::http::Method::POST && !request.headers().contains_key("mcp-session-id");
                if opens_session && sessions.sessions.read().await.len() >= max_sessions {
                    tracing::warn!(max_sessions, "MCP session refused: too many open sessions");
                    return axum::response::IntoResponse::into_response(too_many_sessions(max_sessions));
                }
                next.run(request).await
            }
        },
    ));
    match auth {
        Some(auth) => {
            let auth = Arc::new(auth);
            router.layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
                let auth = Arc::clone(&auth);
                async move {
                    if auth.allows(request.headers(), request.uri().query()) {
                        next.run(request).await
                    } else {
                        axum::response::IntoResponse::into_response(crate::server::ApiError::unauthorized(auth.challenge()))
                    }
                }
            }))
        }
        None => router,
    }
}

/// Once a second, while the server lives: when the open sessions have fallen to half of their
/// recent peak (or fewer), or all have closed, the allocator returns the freed memory to the
/// OS (sessions that expire close without a request, so the idle trim of the server misses
/// them). glibc's malloc otherwise keeps the memory of a thousand closed sessions for good;
/// other allocators return it themselves, and there this does nothing.
async fn release_memory_of_closed_sessions(sessions: std::sync::Weak<LocalSessionManager>) {
    const SIGNIFICANT: usize = 32;
    let mut peak = 0;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let Some(sessions) = sessions.upgrade() else { return };
        let open = sessions.sessions.read().await.len();
        drop(sessions);
        peak = peak.max(open);
        if (peak >= SIGNIFICANT && open <= peak / 2) || (open == 0 && peak > 0) {
            tracing::debug!(peak, open, "MCP sessions closed: returning their memory");
            crate::server::trim_allocator();
            peak = open;
        }
    }
}

/// The 503 answer to an `initialize` beyond the session limit.
fn too_many_sessions(max_sessions: usize) -> crate::server::ApiError {
    crate::server::ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "too_many_sessions",
        format!(
            "the server holds its limit of {max_sessions} open MCP sessions; close idle sessions (DELETE with their Mcp-Session-Id) \
             or retry later (idle sessions expire; the limit is {MAX_SESSIONS_ENV})"
        ),
    )
}

/// A router whose every request fails with 500 and a message naming the configuration problem
/// (a missing variable, never a value): what [`http_router`] callers serve when the inbound
/// credentials cannot be resolved, so the endpoint fails closed.
pub fn misconfigured_router(error: &ConfigError) -> axum::Router {
    tracing::error!(%error, "MCP endpoint disabled: inbound authentication is not configured");
    let body = serde_json::json!({ "error": format!("MCP endpoint misconfigured: {error}") }).to_string();
    axum::Router::new().route_service(
        MCP_PATH,
        axum::routing::any(move || {
            let body = body.clone();
            async move {
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    )
}

/// Serves `server` over stdin/stdout until the client disconnects.
pub async fn serve_stdio<S>(server: S) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: rmcp::ServerHandler,
{
    let running = rmcp::serve_server(server, rmcp::transport::io::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_cell_parses_once_and_never_fails() {
        static GOOD: SchemaCell = SchemaCell::new(r#"{"type":"object","required":["a"]}"#);
        static BAD: SchemaCell = SchemaCell::new("not json");
        assert_eq!(GOOD.get().get("required"), Some(&serde_json::json!(["a"])));
        assert!(Arc::ptr_eq(&GOOD.get(), &GOOD.get()));
        assert_eq!(Value::Object((*BAD.get()).clone()), serde_json::json!({"type": "object"}));
    }

    #[test]
    fn results_and_errors() {
        let ok = tool_result(Ok(serde_json::json!({"a": 1})));
        assert_eq!(ok.is_error, Some(false));
        assert_eq!(ok.structured_content, Some(serde_json::json!({"a": 1})));
        let err = tool_result(Err(Error::Status {
            operation: "listdatabasebackups",
            status: 404,
            body: serde_json::json!({"error": "no such database"}),
            retry_after: None,
        }));
        assert_eq!(err.is_error, Some(true));
        let text = err.content[0].as_text().map(|t| t.text.clone()).unwrap_or_default();
        assert!(text.contains("404") && text.contains("no such database"), "{text}");
        let structured = err.structured_content.unwrap_or_default();
        assert_eq!(structured["error"]["status"], 404);
        let timeout = tool_result(Err(Error::Timeout { operation: "op" }));
        assert!(timeout.content[0].as_text().is_some_and(|t| t.text.contains("timed out")));
    }

    #[test]
    fn retry_after_and_workflow_fields() {
        let limited = upstream_error(&Error::Status {
            operation: "op",
            status: 429,
            body: serde_json::json!({"error": "slow down"}),
            retry_after: Some(std::time::Duration::from_secs(7)),
        });
        let error = &limited.structured_content.unwrap_or_default()["error"];
        assert_eq!((error["status"].clone(), error["retryAfterSeconds"].clone()), (serde_json::json!(429), serde_json::json!(7)));
        let failed = upstream_error(&Error::Workflow {
            workflow: "w".into(),
            step: "s".into(),
            step_status: Some(500),
            message: "workflow `w` failed at step `s` (HTTP 500)".into(),
            timed_out: false,
        });
        let error = &failed.structured_content.unwrap_or_default()["error"];
        assert_eq!(error["kind"], "workflow");
        assert_eq!((error["workflow"].as_str(), error["step"].as_str(), error["status"].as_u64()), (Some("w"), Some("s"), Some(500)));
        assert!(error.get("retryAfterSeconds").is_none());
    }

    #[test]
    fn invalid_arguments_are_tool_errors() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Args {
            id: String,
        }
        let result = arguments::<Args>("t", None).unwrap_err();
        assert_eq!(result.is_error, Some(true));
        assert!(result.content[0].as_text().is_some_and(|t| t.text.contains("missing field `id`")));
    }

    #[test]
    fn prompts_render() {
        let mut args = JsonObject::new();
        args.insert("name".into(), Value::String("Ada".into()));
        args.insert("n".into(), Value::from(3));
        assert_eq!(render_prompt("Hi {{name}}, {{ n }} {{missing}}!{{", Some(&args)), "Hi Ada, 3 !{{");
        assert!(require_prompt_arguments("p", &["name"], Some(&args)).is_ok());
        assert!(require_prompt_arguments("p", &["other"], Some(&args)).is_err());
    }
}
