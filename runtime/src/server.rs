//! What generated REST adapters and binaries share (feature `server`): one error type
//! ([`ApiError`]) that maps every failure to a JSON response, a request extractor that turns
//! path, query, header and body values into an operation's arguments ([`RestRequest`]),
//! inbound authentication ([`InboundAuth`]), Host/Origin checks against DNS rebinding
//! ([`AllowedHosts`]), and serving with graceful shutdown and structured logs.
//!
//! Error bodies always have the shape `{ "error": { "code": …, "message": …, … } }`, except
//! that an upstream 4xx error body that is a JSON object is passed through unchanged.
//! Nothing here logs or returns a credential.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::{self, HeaderMap, HeaderValue};
pub use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::{ConfigError, Error, Secret};


/// Default limit of a request body, in bytes (1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Errors

/// An error answered as JSON: `{ "error": { "code", "message", … } }` with an HTTP status.
#[derive(Clone, Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
    retry_after: Option<Duration>,
    www_authenticate: Option<&'static str>,
}

impl ApiError {
    /// An error with `status`, a machine-readable `code` and a one-line `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": { "code": code, "message": message.into() } }),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// Adds a field to the `error` object (e.g. `field`, `upstreamStatus`).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Some(error) = self.body.get_mut("error").and_then(Value::as_object_mut) {
            error.insert(key.to_owned(), value.into());
        }
        self
    }

    /// 500: a failure of the server itself (`code` names it).
    pub fn internal(code: &str, error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, error.to_string())
    }

    /// 400: the request cannot be read (malformed JSON, bad query string).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422: an argument is missing or has the wrong type; names the argument.
    pub fn invalid_argument(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_argument", message).with("field", field)
    }

    /// 404: no route matches.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no route matches this path")
    }

    /// 405: the path exists but not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this path does not accept this method")
    }

    /// 401: missing or wrong credentials.
    pub fn unauthorized(challenge: &'static str) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid credentials");
        error.www_authenticate = Some(challenge);
        error
    }

    /// 403: the Host or Origin header is not allowed.
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON body.
    pub fn body(&self) -> &Value {
        &self.body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = self.body.pointer("/error/message").and_then(Value::as_str).unwrap_or("error");
        write!(f, "{}: {message}", self.status.as_u16())
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(retry_after) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
        }
        if let Some(challenge) = self.www_authenticate {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

impl From<Error> for ApiError {
    /// Upstream 4xx: the same status, the upstream body passed through; 5xx, transport and
    /// decode failures and over-size binary bodies (`upstream_too_large`): 502; timeouts: 504; invalid arguments: 422; configuration: 500.
    fn from(error: Error) -> Self {
        let message = error.to_string();
        match error {
            Error::Status { status, body, retry_after, .. } if (400..500).contains(&status) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                let body = match body {
                    Value::Object(_) => body,
                    other => json!({ "error": { "code": "upstream_error", "message": message, "upstream": other } }),
                };
                ApiError { status, body, retry_after, www_authenticate: None }
            }
            Error::Status { status, .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "bad_gateway", format!("upstream returned HTTP {status}"))
                    .with("upstreamStatus", status)
            }
            Error::Decode { status, .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "bad_gateway", "the upstream response could not be decoded")
                    .with("upstreamStatus", status)
            }
            Error::TooLarge { status, limit, .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "upstream_too_large", "the upstream response body exceeds the size limit")
                    .with("upstreamStatus", status)
                    .with("limitBytes", limit)
            }
            Error::Transport { .. } => Self::new(StatusCode::BAD_GATEWAY, "bad_gateway", message),
            Error::Timeout { .. } => Self::new(StatusCode::GATEWAY_TIMEOUT, "gateway_timeout", message),
            Error::InvalidRequest { .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_argument", message),
            Error::Config(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "configuration_error", message),
            // A workflow that could not complete: its deadline or an upstream timeout → 504;
            // otherwise 502, naming the step and its last upstream status.
            Error::Workflow { workflow, step, step_status, timed_out, .. } => {
                let (status, code) = if timed_out {
                    (StatusCode::GATEWAY_TIMEOUT, "workflow_timeout")
                } else {
                    (StatusCode::BAD_GATEWAY, "workflow_failed")
                };
                let error = Self::new(status, code, message).with("workflow", workflow).with("step", step);
                match step_status {
                    Some(upstream) => error.with("upstreamStatus", upstream),
                    None => error,
                }
            }
        }
    }
}

impl From<ConfigError> for ApiError {
    fn from(error: ConfigError) -> Self {
        Error::from(error).into()
    }
}

/// The fallback for unknown routes: 404 JSON.
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// The fallback for known paths with another method: 405 JSON.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// A binary result (`outputRawFormat: binary`) answered as its bytes, with `status` and as
/// `Content-Type` the media type the REST contract names (`media_type`), else the result's own
/// (`application/octet-stream` when neither the spec nor the upstream names one).
pub fn binary_response(status: u16, media_type: Option<&str>, binary: crate::Binary) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = HeaderValue::from_str(media_type.unwrap_or(binary.media_type()))
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    (status, [(header::CONTENT_TYPE, content_type)], binary.bytes).into_response()
}

/// An upstream response passed on as it came: its (2xx) status, its body's bytes and its
/// `Content-Type` (`application/json` when it names none). The body must be JSON, as the spec
/// promises: it is checked without being decoded into values, and one that is not is
/// [`Error::Decode`] (a 502), as a decoded result would be.
pub fn pass_through(response: crate::Response) -> Result<Response, Error> {
    if !response.body.trim_ascii().is_empty() {
        response.json::<serde::de::IgnoredAny>(response.operation)?;
    }
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let content_type = response
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/json"));
    Ok((status, [(header::CONTENT_TYPE, content_type)], response.body).into_response())
}

/// `GET /healthz`: `{ "status": "ok" }`.
pub async fn healthz() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

// ---------------------------------------------------------------------------------------------
// Arguments

/// The JSON type an argument is coerced to from path, query and header text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Kept as text.
    String,
    /// A signed 64-bit integer.
    Integer,
    /// A number.
    Number,
    /// `true`/`false` (also `1`/`0`).
    Boolean,
    /// JSON text if it parses, else the text itself; a repeated query parameter is an array.
    Json,
}

/// Where a REST caller passes an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A path parameter.
    Path,
    /// A query parameter.
    Query,
    /// A request header.
    Header,
    /// The whole JSON request body.
    Body,
    /// A property of a JSON object body (or a query parameter).
    BodyField,
}

/// One argument of an operation, as a REST caller passes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgSpec {
    /// The argument's name (JSON property, path, query or header name).
    pub name: &'static str,
    /// Where it comes from.
    pub location: Location,
    /// What its text is coerced to.
    pub kind: Kind,
    /// Whether the operation requires it.
    pub required: bool,
}

impl ArgSpec {
    /// An argument description.
    pub const fn new(name: &'static str, location: Location, kind: Kind, required: bool) -> Self {
        Self { name, location, kind, required }
    }

    /// A required path parameter (read from the query when the route's path does not name it).
    pub const fn path(name: &'static str, kind: Kind) -> Self {
        Self::new(name, Location::Path, kind, true)
    }

    /// A required query parameter.
    pub const fn query(name: &'static str, kind: Kind) -> Self {
        Self::new(name, Location::Query, kind, true)
    }

    /// A required request header.
    pub const fn header(name: &'static str, kind: Kind) -> Self {
        Self::new(name, Location::Header, kind, true)
    }

    /// The whole JSON request body, required.
    pub const fn body(name: &'static str, kind: Kind) -> Self {
        Self::new(name, Location::Body, kind, true)
    }

    /// A required property of a JSON object body (or a query parameter).
    pub const fn body_field(name: &'static str, kind: Kind) -> Self {
        Self::new(name, Location::BodyField, kind, true)
    }

    /// The same argument, optional: absent (or `null`) is not an error.
    pub const fn optional(self) -> Self {
        Self { required: false, ..self }
    }
}

/// Coerces text to the JSON value of `kind`; the error says what was expected.
pub fn coerce(text: &str, kind: Kind) -> Result<Value, String> {
    match kind {
        Kind::String => Ok(Value::String(text.to_owned())),
        Kind::Integer => text.trim().parse::<i64>().map(Value::from).map_err(|_| format!("expected an integer, got {text:?}")),
        Kind::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a number, got {text:?}")),
        Kind::Boolean => match text.trim() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got {text:?}")),
        },
        Kind::Json => Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))),
    }
}

/// Checks that a JSON value (from a body) has the JSON type of `kind`.
fn check_kind(value: &Value, kind: Kind) -> Result<(), String> {
    let ok = match kind {
        Kind::String => value.is_string(),
        Kind::Integer => value.is_i64() || value.is_u64(),
        Kind::Number => value.is_number(),
        Kind::Boolean => value.is_boolean(),
        Kind::Json => true,
    };
    if ok || value.is_null() {
        Ok(())
    } else {
        let expected = match kind {
            Kind::String => "a string",
            Kind::Integer => "an integer",
            Kind::Number => "a number",
            Kind::Boolean => "a boolean",
            Kind::Json => "a JSON value",
        };
        Err(format!("expected {expected}"))
    }
}

/// Deserializes an argument object into `T`, naming the offending field on failure (422).
pub fn deserialize_args<T: DeserializeOwned>(args: Map<String, Value>) -> Result<T, ApiError> {
    deserialize_from(Value::Object(args))
}

/// [`deserialize_args`] from any deserializer of an argument object.
fn deserialize_from<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de, Error = serde_json::Error>>(
    args: D,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(args).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        let field = if path == "." { missing_field(&inner).unwrap_or_default() } else { path };
        ApiError::invalid_argument(&field, format!("argument `{field}`: {inner}"))
    })
}

/// The field named by serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next().unwrap_or_default().to_owned())
}

/// An inbound request, read once: path parameters, query, headers and body. The body is
/// limited by the router's [`axum::extract::DefaultBodyLimit`] (413 beyond it).
#[derive(Clone, Debug)]
pub struct RestRequest {
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for RestRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let path = match RawPathParams::from_request_parts(&mut parts, state).await {
            Ok(params) => params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            Err(rejection) => return Err(ApiError::bad_request(rejection.body_text())),
        };
        let query = match parts.uri.query() {
            Some(query) => serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?,
            None => Vec::new(),
        };
        // Reading the body needs the extensions (the body limit), not the headers.
        let headers = std::mem::take(&mut parts.headers);
        // A request without a body (most GETs) skips the collecting.
        if axum::body::HttpBody::is_end_stream(&body) {
            return Ok(Self { path, query, headers, body: Bytes::new() });
        }
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(status, "payload_too_large", "the request body is too large")
            } else {
                ApiError::new(status, "bad_request", rejection.body_text())
            }
        })?;
        Ok(Self { path, query, headers, body })
    }
}

impl RestRequest {
    /// A request with these parts (for tests and the CLI).
    pub fn new(path: Vec<(String, String)>, query: Vec<(String, String)>, headers: HeaderMap, body: Bytes) -> Self {
        Self { path, query, headers, body }
    }

    /// The arguments described by `specs`, deserialized into `T`. Malformed JSON is a 400;
    /// a missing or wrong-typed argument a 422 naming it.
    pub fn args<T: DeserializeOwned>(&self, specs: &[ArgSpec]) -> Result<T, ApiError> {
        // Straight from the (name, value) pairs: no intermediate JSON object.
        let pairs = self.arg_values(specs)?;
        deserialize_from(serde::de::value::MapDeserializer::new(pairs.into_iter()))
    }

    /// The arguments as a JSON object (coerced, checked for presence and JSON type).
    pub fn arg_map(&self, specs: &[ArgSpec]) -> Result<Map<String, Value>, ApiError> {
        Ok(self.arg_values(specs)?.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())
    }

    /// The present arguments in the order of `specs`, each coerced and checked.
    fn arg_values(&self, specs: &[ArgSpec]) -> Result<Vec<(&'static str, Value)>, ApiError> {
        let wants_fields = specs.iter().any(|s| s.location == Location::BodyField);
        let wants_whole = specs.iter().any(|s| s.location == Location::Body);
        let body = if self.body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(serde_json::from_slice::<Value>(&self.body).map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?)
        };
        let fields = match &body {
            Some(Value::Object(fields)) if wants_fields && !wants_whole => Some(fields),
            Some(_) if wants_fields && !wants_whole => {
                return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_argument", "the request body must be a JSON object"));
            }
            _ => None,
        };
        let mut args = Vec::with_capacity(specs.len());
        for spec in specs {
            let invalid = |message: String| ApiError::invalid_argument(spec.name, format!("argument `{}`: {message}", spec.name));
            let from_text = |values: &[&str]| -> Result<Option<Value>, ApiError> {
                match values {
                    [] => Ok(None),
                    [one] => coerce(one, spec.kind).map(Some).map_err(invalid),
                    many if spec.kind == Kind::Json => Ok(Some(Value::Array(many.iter().map(|v| coerce(v, Kind::Json).unwrap_or_default()).collect()))),
                    _ => Err(invalid("given more than once".to_owned())),
                }
            };
            let value = match spec.location {
                // A path argument the route's path does not name is read from the query.
                Location::Path => match named(&self.path, spec.name) {
                    values if values.is_empty() => from_text(&named(&self.query, spec.name))?,
                    values => from_text(&values)?,
                },
                Location::Query => from_text(&named(&self.query, spec.name))?,
                Location::Header => {
                    let values = self
                        .headers
                        .get_all(spec.name)
                        .iter()
                        .map(|v| v.to_str().map_err(|_| invalid("the header is not valid text".to_owned())))
                        .collect::<Result<Vec<_>, _>>()?;
                    from_text(&values)?
                }
                Location::Body => body.clone(),
                Location::BodyField => match fields.and_then(|f| f.get(spec.name)) {
                    Some(value) => {
                        check_kind(value, spec.kind).map_err(invalid)?;
                        Some(value.clone())
                    }
                    None => from_text(&named(&self.query, spec.name))?,
                },
            };
            match value {
                Some(Value::Null) | None if spec.required => {
                    return Err(ApiError::invalid_argument(spec.name, format!("missing required argument `{}`", spec.name)));
                }
                Some(Value::Null) | None => {}
                Some(value) => args.push((spec.name, value)),
            }
        }
        Ok(args)
    }
}

/// The values of the pairs named `name`: exactly, else ignoring ASCII case.
fn named<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    let exact: Vec<&str> = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
    if exact.is_empty() {
        pairs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    } else {
        exact
    }
}

// ---------------------------------------------------------------------------------------------
// Inbound authentication

/// The credentials an exposed adapter requires (`exposes[].authentication`), read at start-up.
#[derive(Clone, Debug)]
pub enum InboundAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// An API key in a header or a query parameter.
    ApiKey {
        /// Header or query parameter name.
        name: String,
        /// The expected key.
        value: Secret,
        /// In the query string instead of a header.
        in_query: bool,
    },
    /// HTTP Basic authentication.
    Basic {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: Secret,
    },
}

impl InboundAuth {
    /// Whether `request` carries the expected credentials (compared in constant time).
    pub fn allows(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        match self {
            InboundAuth::Bearer(token) => {
                let given = scheme_value(authorization, "bearer");
                given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.expose().as_bytes()))
            }
            InboundAuth::Basic { username, password } => {
                let expected = base64(format!("{username}:{}", password.expose()).as_bytes());
                scheme_value(authorization, "basic").is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()))
            }
            InboundAuth::ApiKey { name, value, in_query: false } => headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .is_some_and(|given| constant_time_eq(given.as_bytes(), value.expose().as_bytes())),
            InboundAuth::ApiKey { name, value, in_query: true } => {
                let pairs: Vec<(String, String)> = query.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
                pairs.iter().any(|(k, v)| k == name && constant_time_eq(v.as_bytes(), value.expose().as_bytes()))
            }
        }
    }

    /// The `WWW-Authenticate` challenge of a 401.
    pub fn challenge(&self) -> &'static str {
        match self {
            InboundAuth::Bearer(_) => "Bearer",
            InboundAuth::Basic { .. } => "Basic realm=\"api\"",
            InboundAuth::ApiKey { .. } => "ApiKey",
        }
    }
}

/// The value after `<scheme> ` (case-insensitive scheme).
fn scheme_value<'a>(authorization: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, value) = authorization.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| value.trim())
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn require_auth(auth: Arc<InboundAuth>, request: Request, next: Next) -> Response {
    if auth.allows(request.headers(), request.uri().query()) {
        next.run(request).await
    } else {
        ApiError::unauthorized(auth.challenge()).into_response()
    }
}

// ---------------------------------------------------------------------------------------------
// Host / Origin checks

/// The host names a server answers to (DNS-rebinding protection). The default allows only
/// loopback names: `localhost`, `127.0.0.1`, `::1`. `*` allows any host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHosts {
    hosts: Vec<String>,
}

impl Default for AllowedHosts {
    fn default() -> Self {
        Self::loopback()
    }
}

impl AllowedHosts {
    /// Only loopback names.
    pub fn loopback() -> Self {
        Self { hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()] }
    }

    /// Any host (no protection; for servers behind a proxy that checks).
    pub fn any() -> Self {
        Self { hosts: vec!["*".into()] }
    }

    /// Also allows `host` (a name without port; `*` for any).
    pub fn with(mut self, host: impl Into<String>) -> Self {
        let host = host.into().trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if !self.hosts.contains(&host) {
            self.hosts.push(host);
        }
        self
    }

    /// Whether a host name (no port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.hosts.iter().any(|h| h == "*" || h.eq_ignore_ascii_case(host))
    }
}

/// The host of a `Host` value or an origin's authority, without port or brackets.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    authority.rsplit_once(':').map_or(authority, |(host, port)| if port.chars().all(|c| c.is_ascii_digit()) { host } else { authority })
}

/// The answer when the Host or Origin header names a host that is not allowed.
fn refused_host(allowed: &AllowedHosts, request: &Request) -> Option<ApiError> {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(axum::http::uri::Authority::as_str));
    if let Some(host) = host
        && !allowed.allows(host_name(host))
    {
        return Some(ApiError::forbidden("forbidden_host", "this Host is not allowed"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        if !authority.is_some_and(|a| allowed.allows(host_name(a.trim_end_matches('/')))) {
            return Some(ApiError::forbidden("forbidden_origin", "this Origin is not allowed"));
        }
    }
    None
}

/// Adds the Host/Origin check to `router` (403 JSON otherwise).
pub fn host_guard(router: Router, allowed: AllowedHosts) -> Router {
    guard_and_log(router, Some(allowed), false)
}

/// The front of a server in one layer: the Host/Origin check when `allowed` is given (403
/// JSON otherwise) and, when `log`, one line per request (method, path, status, latency; never
/// headers or bodies).
fn guard_and_log(router: Router, allowed: Option<AllowedHosts>, log: bool) -> Router {
    wrap(router, FrontLayer { allowed: allowed.map(Arc::new), log })
}

/// `router` behind `layer` as one service. `Router::layer` would wrap each route on its own,
/// and axum clones every boxed layer of a route for every request (measured: eight
/// allocations per request with two layers, against two this way).
fn wrap<L>(router: Router, layer: L) -> Router
where
    L: tower_layer::Layer<Router>,
    L::Service: tower_service::Service<Request, Response = Response, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    <L::Service as tower_service::Service<Request>>::Future: Send + 'static,
{
    Router::new().fallback_service(layer.layer(router))
}

/// [`guard_and_log`] as a tower layer: a plain service around each route, without the boxed
/// service clone and `Next` of `axum::middleware::from_fn` (measured: a few thousand
/// instructions per request less).
#[derive(Clone)]
struct FrontLayer {
    allowed: Option<Arc<AllowedHosts>>,
    log: bool,
}

impl<S> tower_layer::Layer<S> for FrontLayer {
    type Service = Front<S>;

    fn layer(&self, inner: S) -> Front<S> {
        Front { inner, allowed: self.allowed.clone(), log: self.log }
    }
}

/// The service of [`FrontLayer`].
#[derive(Clone)]
struct Front<S> {
    inner: S,
    allowed: Option<Arc<AllowedHosts>>,
    log: bool,
}

impl<S> tower_service::Service<Request> for Front<S>
where
    S: tower_service::Service<Request, Response = Response, Error = std::convert::Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Response, std::convert::Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(error) = self.allowed.as_deref().and_then(|allowed| refused_host(allowed, &request)) {
            let response = error.into_response();
            if self.log {
                log_request(request.method(), request.uri().path(), response.status(), Duration::ZERO);
            }
            return Box::pin(std::future::ready(Ok(response)));
        }
        // The service that was made ready answers this request; a clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !self.log {
            return Box::pin(inner.call(request));
        }
        let method = request.method().clone();
        let uri = request.uri().clone();
        let started = Instant::now();
        let answer = inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            log_request(&method, uri.path(), response.status(), started.elapsed());
            Ok(response)
        })
    }
}

/// Requests every server of this process has received (counted by [`Front`]).
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Starts, once per process, the task that hands freed memory back to the OS when the servers
/// fall idle after a burst: a second without requests after at least [`BURST`] of them.
/// glibc's malloc otherwise keeps the memory of a thousand finished connections for good
/// (other allocators return it themselves, and there this does nothing).
fn release_memory_when_idle() {
    static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if STARTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    tokio::spawn(async {
        let mut seen = REQUESTS.load(std::sync::atomic::Ordering::Relaxed);
        let mut since_trim = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = REQUESTS.load(std::sync::atomic::Ordering::Relaxed);
            if now != seen {
                since_trim += now - seen;
                seen = now;
            } else if since_trim >= BURST {
                tracing::debug!(requests = since_trim, "idle after a burst: returning freed memory");
                trim_allocator();
                since_trim = 0;
            }
        }
    });
}

/// Requests that make a burst worth trimming after.
const BURST: u64 = 256;

/// Returns the free memory of glibc's arenas to the OS: a few milliseconds, run in place
/// rather than on a new blocking thread (which would bring an arena of its own).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn trim_allocator() {
    // SAFETY: `malloc_trim` only releases free memory of glibc's arenas; it is thread-safe.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn trim_allocator() {}

/// The request log line: `warn` for 5xx answers, `info` otherwise.
fn log_request(method: &axum::http::Method, path: &str, status: StatusCode, elapsed: Duration) {
    let status = status.as_u16();
    let elapsed_ms = elapsed.as_millis() as u64;
    if status >= 500 {
        tracing::warn!(%method, %path, status, elapsed_ms, "request failed");
    } else {
        tracing::info!(%method, %path, status, elapsed_ms, "request");
    }
}

// ---------------------------------------------------------------------------------------------
// Assembling and serving

/// Settings of a generated REST adapter.
#[derive(Clone, Debug)]
pub struct RestConfig {
    /// Inbound authentication; `None` accepts every caller.
    pub auth: Option<InboundAuth>,
    /// Host names the server answers to.
    pub allowed_hosts: AllowedHosts,
    /// Largest accepted request body in bytes (413 beyond).
    pub body_limit: usize,
}

impl Default for RestConfig {
    fn default() -> Self {
        Self { auth: None, allowed_hosts: AllowedHosts::loopback(), body_limit: DEFAULT_BODY_LIMIT }
    }
}

impl RestConfig {
    /// Sets the inbound authentication.
    pub fn with_auth(mut self, auth: InboundAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sets the allowed hosts.
    pub fn with_allowed_hosts(mut self, allowed_hosts: AllowedHosts) -> Self {
        self.allowed_hosts = allowed_hosts;
        self
    }

    /// Sets the body limit.
    pub fn with_body_limit(mut self, body_limit: usize) -> Self {
        self.body_limit = body_limit;
        self
    }
}

/// Wraps the routes of a REST adapter: inbound auth on those routes, `GET /healthz`,
/// `GET /openapi.json` (the document `openapi`), JSON 404/405 fallbacks, the body limit,
/// the Host/Origin check and request logging.
pub fn rest_app(api: Router, config: &RestConfig, openapi: &'static str) -> Router {
    let api = match &config.auth {
        Some(auth) => {
            let auth = Arc::new(auth.clone());
            api.route_layer(middleware::from_fn(move |request: Request, next: Next| require_auth(auth.clone(), request, next)))
        }
        None => api,
    };
    let app = api
        .route("/healthz", axum::routing::get(healthz))
        .route("/openapi.json", axum::routing::get(move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi) }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    let front = FrontLayer { allowed: Some(Arc::new(config.allowed_hosts.clone())), log: true };
    wrap(app, tower_layer::Stack::new(axum::extract::DefaultBodyLimit::max(config.body_limit), front))
}

/// `router` with `GET /healthz` in front of it (for servers that have none, e.g. MCP), never
/// conflicting with its own routes.
pub fn with_healthz(router: Router) -> Router {
    Router::new().route("/healthz", axum::routing::get(healthz)).fallback_service(router)
}

/// Logs each request's method, path, status and latency (never headers or bodies).
pub fn log_requests(router: Router) -> Router {
    guard_and_log(router, None, true)
}

/// Binds `addr` and serves `app` until `shutdown` completes, then drains open requests.
pub async fn serve(addr: SocketAddr, app: Router, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_listener(listener, app, shutdown).await
}

/// Serves `app` on a bound listener until `shutdown` completes.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    release_memory_when_idle();
    // Without TCP_NODELAY, small writes (SSE frames of MCP responses) wait on delayed ACKs.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// Binds every `(name, address, app)` first (failing fast, naming the server), logs where each
/// listens, then serves them all until `shutdown` completes and open requests are drained.
pub async fn serve_all(
    apps: Vec<(&'static str, SocketAddr, Router)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut listeners = Vec::new();
    for (name, addr, app) in apps {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr} ({name}): {e}")))?;
        tracing::info!(server = name, address = %listener.local_addr()?, "listening");
        listeners.push((listener, app));
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for (listener, app) in listeners {
        let mut stopped = stopped.clone();
        tasks.spawn(serve_listener(listener, app, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
    }
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(e) => result = Err(std::io::Error::other(e.to_string())),
        }
    }
    result
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs a `tracing` subscriber writing to stderr, filtered by `RUST_LOG` (default `info`).
/// Calling it twice is harmless.
pub fn init_logging(format: LogFormat) {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(log_filter(&directives)).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The log filter for `directives` (`RUST_LOG` syntax; invalid ones fall back to `info`), with
/// `rmcp::service` capped at `info`: below that rmcp logs whole JSON-RPC messages, tool arguments
/// included, and those may hold credentials.
pub fn log_filter(directives: &str) -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::try_new(directives).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    match "rmcp::service=info".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

// ---------------------------------------------------------------------------------------------
// Command-line helpers

/// Parses `NAMESPACE=URL` overrides, rejecting namespaces not in `known`.
pub fn parse_base_uris(values: &[String], known: &[&str]) -> Result<Vec<(String, String)>, String> {
    values
        .iter()
        .map(|value| {
            let (namespace, uri) = value.split_once('=').ok_or_else(|| format!("`--base-uri {value}`: expected NAMESPACE=URL"))?;
            if !known.contains(&namespace) {
                return Err(format!("`--base-uri`: unknown namespace `{namespace}` (known: {})", known.join(", ")));
            }
            Ok((namespace.to_owned(), uri.to_owned()))
        })
        .collect()
}

/// The override for `namespace`, if any (the last one given wins).
pub fn base_uri_for<'a>(overrides: &'a [(String, String)], namespace: &str) -> Option<&'a str> {
    overrides.iter().rev().find(|(n, _)| n == namespace).map(|(_, uri)| uri.as_str())
}

/// Arguments of `call`: `NAME=VALUE` pairs, each coerced as `specs` describe (by name; JSON
/// text for arguments not described). A value starting with `@` is read from that file.
pub fn call_args(pairs: &[String], specs: &[(&str, Kind)]) -> Result<Map<String, Value>, ApiError> {
    let mut args = Map::new();
    for pair in pairs {
        let (name, text) = pair.split_once('=').ok_or_else(|| ApiError::bad_request(format!("`--arg {pair}`: expected NAME=VALUE")))?;
        let kind = specs.iter().find(|(n, _)| *n == name).map_or(Kind::Json, |(_, kind)| *kind);
        let value = coerce(text, kind).map_err(|message| ApiError::invalid_argument(name, format!("argument `{name}`: {message}")))?;
        args.insert(name.to_owned(), value);
    }
    Ok(args)
}

/// Arguments of `call` for an exposed operation: `NAME=VALUE` pairs coerced as [`call_args`]
/// does, then deserialized into the operation's arguments type `T` (422 naming the field at
/// fault, as [`deserialize_args`]).
pub fn parse_args<T: DeserializeOwned>(pairs: &[String], specs: &[(&str, Kind)]) -> Result<T, ApiError> {
    deserialize_args(call_args(pairs, specs)?)
}

/// `call` of an exposed operation: its arguments read as [`parse_args`] does, then `operation`
/// run on them (boxed, so a binary with thousands of operations keeps a small future per
/// arm) and its result (JSON, or bytes as `{contentType, size, base64}`) as a JSON value.
pub async fn call_exposed<A, O, F, Fut>(pairs: &[String], specs: &[(&str, Kind)], operation: F) -> Result<Value, ApiError>
where
    A: DeserializeOwned,
    O: serde::Serialize,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<O, Error>>,
{
    let args = parse_args(pairs, specs)?;
    let output = Box::pin(operation(args)).await?;
    Ok(serde_json::to_value(output).unwrap_or_default())
}

/// Takes argument `name` from `args` as `T` (422 naming it when missing or mistyped).
pub fn required_arg<T: DeserializeOwned>(args: &Map<String, Value>, name: &str) -> Result<T, ApiError> {
    optional_arg(args, name)?.ok_or_else(|| ApiError::invalid_argument(name, format!("missing required argument `{name}`")))
}

/// Takes optional argument `name` from `args` as `T` (422 naming it when mistyped).
pub fn optional_arg<T: DeserializeOwned>(args: &Map<String, Value>, name: &str) -> Result<Option<T>, ApiError> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|e| ApiError::invalid_argument(name, format!("argument `{name}`: {e}"))),
    }
}

/// Prints a JSON value, pretty, on stdout.
pub fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

/// A start-up or command failure as the JSON the binary prints: `{ "error": { "code", "message" } }`.
pub fn error_json(code: &str, message: impl std::fmt::Display) -> Value {
    json!({ "error": { "code": code, "message": message.to_string() } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn arg_spec_builders() {
        assert_eq!(ArgSpec::path("id", Kind::String), ArgSpec::new("id", Location::Path, Kind::String, true));
        assert_eq!(ArgSpec::query("n", Kind::Integer).optional(), ArgSpec::new("n", Location::Query, Kind::Integer, false));
        assert_eq!(ArgSpec::header("x", Kind::Json).location, Location::Header);
        assert_eq!(ArgSpec::body("body", Kind::Json).location, Location::Body);
        assert_eq!(ArgSpec::body_field("f", Kind::Boolean).location, Location::BodyField);
        const SPECS: &[ArgSpec] = &[ArgSpec::path("id", Kind::String), ArgSpec::query("n", Kind::Integer).optional()];
        assert_eq!(SPECS.len(), 2);
    }

    #[test]
    fn parse_args_into_a_type() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Args {
            id: String,
            n: Option<i64>,
        }
        let pairs = ["id=7".to_owned(), "n=3".to_owned()];
        let args: Args = parse_args(&pairs, &[("id", Kind::String), ("n", Kind::Integer)]).unwrap();
        assert_eq!(args, Args { id: "7".into(), n: Some(3) });
        let error = parse_args::<Args>(&["n=3".to_owned()], &[("n", Kind::Integer)]).unwrap_err();
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.body()["error"]["field"], "id");
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("localhost"), "localhost");
        let allowed = AllowedHosts::loopback();
        assert!(allowed.allows("LOCALHOST"));
        assert!(!allowed.allows("evil.example"));
        assert!(AllowedHosts::any().allows("evil.example"));
    }
}
