//! The HTTP client behind generated clients.
//!
//! A generated operation builds a [`Request`] (method, encoded path, query, headers, body) and
//! hands it to [`HttpClient::send`], which joins the base URI, adds default headers and
//! [`Auth`], sends it with reqwest and turns failures into [`Error`]s. Nothing here logs or
//! returns a URL, header value or credential.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::truncate;
use crate::{Auth, ConfigError, Error, Secret, auth::ApiKeyLocation};

/// At most this much of a non-JSON error body is kept in [`Error::Status`].
const STATUS_BODY_LIMIT: usize = 8 * 1024;
/// At most this much of a body is kept in [`Error::Decode`].
const EXCERPT_LIMIT: usize = 512;
/// Default limit of a response body, in bytes (16 MiB); see [`ClientConfig::max_response_bytes`].
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Redirects followed (same origin only) before giving up.
const MAX_REDIRECTS: usize = 10;
/// Everything but RFC 3986 unreserved characters is encoded in a path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment (a path parameter's value): everything but `A-Z a-z 0-9 - _ . ~`.
pub fn encode_path(segment: &str) -> String {
    utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}

/// How to reach one upstream API.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URI that request paths are appended to, e.g. `https://api.example.com/v1`.
    pub base_uri: String,
    /// Authentication for every request.
    pub auth: Auth,
    /// Whole-request timeout (default 30 s). Applied per request, also to a shared client.
    pub timeout: Duration,
    /// Connect timeout (default 10 s); only used when this crate builds the reqwest client.
    pub connect_timeout: Duration,
    /// `User-Agent` header (default `capgen-runtime/<version>`).
    pub user_agent: String,
    /// Headers sent with every request (e.g. an API version header from `binds`).
    pub default_headers: Vec<(String, Secret)>,
    /// A reqwest client to share a connection pool; when `None` one is built.
    pub http: Option<reqwest::Client>,
    /// Largest response body read (default [`DEFAULT_MAX_RESPONSE_BYTES`]); a larger one is
    /// [`Error::Decode`] (with the status) and is not buffered, so an upstream cannot exhaust memory.
    pub max_response_bytes: usize,
    /// Idle connections kept open to the upstream for reuse (default
    /// [`DEFAULT_MAX_IDLE_CONNECTIONS`]); after a burst of concurrent calls the rest close, and
    /// their buffers are freed. Only used when this crate builds the reqwest client.
    pub max_idle_connections: usize,
}

/// Idle upstream connections a client keeps by default: enough for steady concurrent load,
/// few enough that a burst of a thousand calls does not pin a thousand connections' buffers.
pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 64;

impl ClientConfig {
    /// A configuration with defaults and no authentication.
    pub fn new(base_uri: impl Into<String>) -> Self {
        Self {
            base_uri: base_uri.into(),
            auth: Auth::None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("capgen-runtime/", env!("CARGO_PKG_VERSION")).to_owned(),
            default_headers: Vec::new(),
            http: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_idle_connections: DEFAULT_MAX_IDLE_CONNECTIONS,
        }
    }

    /// Sets the authentication.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets the whole-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Adds a header sent with every request.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.default_headers.push((name.into(), value.into()));
        self
    }

    /// Sets the `User-Agent`.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets the largest response body read, in bytes.
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sets how many idle upstream connections are kept for reuse.
    pub fn with_max_idle_connections(mut self, connections: usize) -> Self {
        self.max_idle_connections = connections;
        self
    }

    /// Uses `client` (and its connection pool) instead of building one.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }
}

/// A client for one upstream API. Cheap to clone (the state is shared).
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    base_uri: String,
    /// `base_uri` parsed once; each request's URL is a copy with its path set.
    base_url: Url,
    http: reqwest::Client,
    auth: Auth,
    timeout: Duration,
    max_response_bytes: usize,
    user_agent: HeaderValue,
    default_headers: Vec<(HeaderName, HeaderValue)>,
    /// The bearer or API key header, checked once.
    auth_header: Option<(HeaderName, HeaderValue)>,
    /// Every credential this client sends, to scrub from error messages.
    secrets: Vec<String>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .inner
            .default_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        f.debug_struct("HttpClient")
            .field("base_uri", &self.inner.base_uri)
            .field("auth", &self.inner.auth)
            .field("timeout", &self.inner.timeout)
            .field("default_headers", &names)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Validates `config` and builds the client (one reqwest client, unless one is given).
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let base_uri = config.base_uri.trim().trim_end_matches('/').to_owned();
        let invalid = |message: String| ConfigError::InvalidBaseUri {
            uri: config.base_uri.clone(),
            message,
        };
        if base_uri.is_empty() || base_uri.starts_with('/') {
            return Err(invalid(
                "not an absolute http(s) URI: the spec names no server host, so give one (the namespace's `<NAMESPACE>_BASE_URI`, or `--base-uri`)".to_owned(),
            ));
        }
        let url = Url::parse(&base_uri).map_err(|e| invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https".to_owned()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(
                "a base URI cannot have a query or fragment".to_owned(),
            ));
        }

        let http_error = |message: String| ConfigError::Http { message };
        let mut default_headers = Vec::new();
        for (name, value) in &config.default_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| http_error(format!("invalid default header name {name:?}")))?;
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| http_error(format!("invalid value for default header `{name}`")))?;
            value.set_sensitive(true);
            default_headers.push((name, value));
        }
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| http_error(format!("invalid user agent {:?}", config.user_agent)))?;
        let auth_header = auth_header(&config.auth).map_err(http_error)?;

        let http = match config.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(config.timeout)
                .connect_timeout(config.connect_timeout)
                .user_agent(user_agent.clone())
                .redirect(same_origin_redirects())
                .pool_max_idle_per_host(config.max_idle_connections)
                .build()
                .map_err(|e| http_error(e.to_string()))?,
        };

        let secrets = config
            .auth
            .secret()
            .into_iter()
            .chain(config.default_headers.iter().map(|(_, v)| v))
            .map(|s| s.expose().to_owned())
            .filter(|s| !s.is_empty())
            .collect();

        Ok(Self {
            inner: Arc::new(Inner {
                base_uri,
                base_url: url,
                http,
                auth: config.auth,
                timeout: config.timeout,
                max_response_bytes: config.max_response_bytes,
                user_agent,
                default_headers,
                auth_header,
                secrets,
            }),
        })
    }

    /// The base URI, without a trailing `/`.
    pub fn base_uri(&self) -> &str {
        &self.inner.base_uri
    }

    /// Sends `request`; a non-2xx status becomes [`Error::Status`].
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        self.send_raw(request).await?.error_for_status()
    }

    /// Sends `request` and returns the response whatever its status (for callers that inspect
    /// statuses, such as workflows). Only transport failures and timeouts are errors.
    pub async fn send_raw(&self, request: Request) -> Result<Response, Error> {
        let started = Instant::now();
        let operation = request.operation;
        let method = request.method.clone();
        let path: std::borrow::Cow<'static, str> = match request.path_template {
            Some(template) => template.into(),
            None => request.path.clone().into(),
        };
        let result = self.execute(request).await;
        let elapsed = started.elapsed();
        match &result {
            Ok(response) => tracing::debug!(
                operation, %method, path = &*path, status = response.status, ?elapsed, "upstream call"
            ),
            Err(error) => {
                tracing::debug!(operation, %method, path = &*path, %error, ?elapsed, "upstream call failed")
            }
        }
        result
    }

    async fn execute(&self, request: Request) -> Result<Response, Error> {
        let operation = request.operation;
        if let Some(message) = request.error {
            return Err(Error::InvalidRequest { operation, message });
        }
        let url = self.url(&request)?;
        // Only a digest challenge needs the URL again (it signs the path).
        let digest_url = matches!(self.inner.auth, Auth::Digest { .. }).then(|| url.clone());
        let mut built = reqwest::Request::new(request.method.clone(), url);
        *built.headers_mut() = self.headers(&request);
        *built.timeout_mut() = Some(self.inner.timeout);
        if let Some((body, _)) = &request.body {
            *built.body_mut() = Some(body.clone().into());
        }
        // The body is buffered bytes, so a digest retry can resend it.
        let retry = match &self.inner.auth {
            Auth::Digest { .. } => built.try_clone(),
            _ => None,
        };
        let mut response = self
            .inner
            .http
            .execute(built)
            .await
            .map_err(|e| self.request_error(operation, e))?;

        if let (Auth::Digest { username, password }, Some(mut retry), Some(url)) = (&self.inner.auth, retry, digest_url)
            && response.status() == reqwest::StatusCode::UNAUTHORIZED
            && let Some(challenge) = digest_challenge(response.headers())
        {
            let body = request.body.as_ref().map(|(b, _)| b.as_ref());
            if let Some(value) =
                digest_answer(&challenge, username, password, &request.method, &url, body)
            {
                retry.headers_mut().insert(header::AUTHORIZATION, value);
                response = self
                    .inner
                    .http
                    .execute(retry)
                    .await
                    .map_err(|e| self.request_error(operation, e))?;
            }
        }

        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let body = self.read_body(operation, request.max_body_bytes, response).await?;
        Ok(Response {
            operation,
            status,
            headers,
            body,
        })
    }

    /// Reads a response body of at most `own_limit` (the request's) or else `max_response_bytes`
    /// bytes: a longer one (by `Content-Length` or as it streams) is [`Error::TooLarge`] (own
    /// limit) or [`Error::Decode`] without reading the rest.
    async fn read_body(
        &self,
        operation: &'static str,
        own_limit: Option<u64>,
        mut response: reqwest::Response,
    ) -> Result<Bytes, Error> {
        let limit = own_limit.map_or(self.inner.max_response_bytes, |l| usize::try_from(l).unwrap_or(usize::MAX));
        let status = response.status().as_u16();
        let too_large = || match own_limit {
            Some(limit) => Error::TooLarge { operation, status, limit },
            None => Error::Decode {
                operation,
                status,
                message: format!("the response body exceeds the limit of {limit} bytes"),
                body_excerpt: String::new(),
            },
        };
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.request_error(operation, e))?
        {
            if chunk.len() > limit.saturating_sub(body.len()) {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// Base URI + path (one `/` between them) + query, with an API key in the query if configured.
    fn url(&self, request: &Request) -> Result<Url, Error> {
        let invalid = |message: String| Error::InvalidRequest {
            operation: request.operation,
            message,
        };
        if has_dot_segment(&request.path) {
            return Err(invalid("the path has a `.` or `..` segment".to_owned()));
        }
        let path = request.path.trim_start_matches('/');
        let mut url = if path.is_empty() {
            self.inner.base_url.clone()
        } else if path.contains(['?', '#']) {
            // As a whole URL, so a `?` or `#` in the path still starts the query or fragment.
            Url::parse(&format!("{}/{path}", self.inner.base_uri))
                .map_err(|e| invalid(format!("invalid URL: {e}")))?
        } else {
            // Only the path is parsed (the same path parser as a whole URL's): parsing the
            // whole URL again for every request was about 1 µs of a ~40 µs proxied request.
            let mut url = self.inner.base_url.clone();
            let base_path = url.path().trim_end_matches('/');
            let mut joined = String::with_capacity(base_path.len() + 1 + path.len());
            joined.push_str(base_path);
            joined.push('/');
            joined.push_str(path);
            url.set_path(&joined);
            url
        };
        let api_key = match &self.inner.auth {
            Auth::ApiKey {
                name,
                value,
                location: ApiKeyLocation::Query,
            } => Some((name.as_str(), value.expose())),
            _ => None,
        };
        if !request.query.is_empty() || api_key.is_some() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &request.query {
                pairs.append_pair(name, value);
            }
            if let Some((name, value)) = api_key {
                pairs.append_pair(name, value);
            }
        }
        Ok(url)
    }

    /// Request headers over default headers, a content type for the body, the `User-Agent`
    /// and the bearer, basic or API key header.
    fn headers(&self, request: &Request) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(request.headers.len() + self.inner.default_headers.len() + 3);
        for (name, value) in &request.headers {
            map.append(name.clone(), value.clone());
        }
        for (name, value) in &self.inner.default_headers {
            if !map.contains_key(name) {
                map.insert(name.clone(), value.clone());
            }
        }
        if let Some((_, content_type)) = &request.body
            && !map.contains_key(header::CONTENT_TYPE)
        {
            map.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if !map.contains_key(header::USER_AGENT) {
            map.insert(header::USER_AGENT, self.inner.user_agent.clone());
        }
        // A header the request sets itself (a workflow step's `Authorization`) wins over the
        // configured credentials.
        if let Some((name, value)) = &self.inner.auth_header
            && !map.contains_key(name)
        {
            map.insert(name.clone(), value.clone());
        }
        map
    }

    /// Maps a reqwest error, without its URL and with credentials scrubbed.
    fn request_error(&self, operation: &'static str, error: reqwest::Error) -> Error {
        if error.is_timeout() {
            return Error::Timeout { operation };
        }
        let builder = error.is_builder();
        let mut message = error_chain(&error.without_url());
        for secret in &self.inner.secrets {
            message = message.replace(secret.as_str(), "***");
            let encoded: String = url_encode(secret);
            if encoded != *secret {
                message = message.replace(&encoded, "***");
            }
        }
        if builder {
            Error::InvalidRequest { operation, message }
        } else {
            Error::Transport { operation, message }
        }
    }
}

/// The header that bearer or header API key auth adds to every request.
fn auth_header(auth: &Auth) -> Result<Option<(HeaderName, HeaderValue)>, String> {
    let (name, value) = match auth {
        Auth::Bearer { token } => (header::AUTHORIZATION, format!("Bearer {}", token.expose())),
        Auth::Basic { username, password } => {
            use base64::Engine as _;
            let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.expose()));
            (header::AUTHORIZATION, format!("Basic {credentials}"))
        }
        Auth::ApiKey {
            name,
            value,
            location: ApiKeyLocation::Header,
        } => {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid API key header name {name:?}"))?;
            (name, value.expose().to_owned())
        }
        _ => return Ok(None),
    };
    let mut value = HeaderValue::from_str(&value)
        .map_err(|_| format!("the credential for header `{name}` is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

/// Follows redirects only within the origin of the first request, so credentials in custom
/// headers never reach another host.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if same_origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Whether a path has a `.`/`..` segment (plain or encoded), which URL parsing would resolve.
fn has_dot_segment(path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/').any(|segment| {
        // Each dot is `.` or `%2e` in either case; one or two of them and nothing else.
        let mut rest = segment.as_bytes();
        let mut dots = 0;
        while !rest.is_empty() && dots <= 2 {
            match rest {
                [b'.', tail @ ..] => rest = tail,
                [b'%', b'2', e, tail @ ..] if e.eq_ignore_ascii_case(&b'e') => rest = tail,
                _ => return false,
            }
            dots += 1;
        }
        rest.is_empty() && (dots == 1 || dots == 2)
    })
}

/// `text` as it appears form-encoded in a query string.
fn url_encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// An error and its sources as one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// The first `WWW-Authenticate: Digest …` challenge.
fn digest_challenge(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim_start)
        .find(|v| {
            v.get(..6)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("digest"))
        })
        .map(str::to_owned)
}

/// The `Authorization` header answering a digest challenge, or `None` if it cannot be answered.
fn digest_answer(
    challenge: &str,
    username: &str,
    password: &Secret,
    method: &Method,
    url: &Url,
    body: Option<&[u8]>,
) -> Option<HeaderValue> {
    let uri = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let context = digest_auth::AuthContext::new_with_method(
        username,
        password.expose(),
        uri,
        body,
        digest_auth::HttpMethod::from(method.as_str()),
    );
    let mut prompt = digest_auth::parse(challenge).ok()?;
    let answer = prompt.respond(&context).ok()?;
    let mut value = HeaderValue::from_str(&answer.to_header_string()).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// One call to an upstream operation, built by generated code.
pub struct Request {
    method: Method,
    operation: &'static str,
    path: String,
    path_template: Option<&'static str>,
    query: Vec<(String, String)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<(Bytes, &'static str)>,
    /// This request's own body limit (a binary operation's `maxBinarySize`): a longer body is
    /// [`Error::TooLarge`]. `None` applies [`ClientConfig::max_response_bytes`].
    max_body_bytes: Option<u64>,
    /// The first problem found while building; `send` reports it.
    error: Option<String>,
}

impl fmt::Debug for Request {
    // Names only: values may be credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query: Vec<&str> = self.query.iter().map(|(n, _)| n.as_str()).collect();
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("operation", &self.operation)
            .field("path", &self.path_template.unwrap_or(&self.path))
            .field("query", &query)
            .field("headers", &headers)
            .field("body_len", &self.body.as_ref().map(|(b, _)| b.len()))
            .finish()
    }
}

impl Request {
    /// A request for `operation` (its name, for errors and logs) to `path`, which is already
    /// encoded (see [`encode_path`]) and relative to the base URI.
    pub fn new(method: Method, operation: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            operation,
            path: path.into(),
            path_template: None,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            max_body_bytes: None,
            error: None,
        }
    }

    /// Reads at most `bytes` of the response body (instead of the client's
    /// [`ClientConfig::max_response_bytes`]); a longer body is [`Error::TooLarge`], and what is
    /// past the limit is never read.
    pub fn max_body_bytes(mut self, bytes: u64) -> Self {
        self.max_body_bytes = Some(bytes);
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The operation's name.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The encoded path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Records the spec's path template (e.g. `/databases/{databaseId}/backups`) for logs.
    pub fn path_template(mut self, template: &'static str) -> Self {
        self.path_template = Some(template);
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }

    /// Adds a query parameter when `value` is `Some`.
    pub fn query_opt(self, name: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.query(name, value),
            None => self,
        }
    }

    /// Adds a JSON value as query parameters: strings unquoted, arrays repeated
    /// (`name=a&name=b`), `null` skipped, objects as JSON text.
    pub fn query_json(mut self, name: &str, value: &serde_json::Value) -> Self {
        let items = match value {
            serde_json::Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for item in items {
            match item {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => self.query.push((name.to_owned(), s.clone())),
                other => self.query.push((name.to_owned(), other.to_string())),
            }
        }
        self
    }

    /// Adds a header. An invalid name or value makes `send` return [`Error::InvalidRequest`].
    pub fn header(self, name: &str, value: impl Into<String>) -> Self {
        self.push_header(name, &value.into(), false)
    }

    /// Adds a header when `value` is `Some`.
    pub fn header_opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.header(name, value),
            None => self,
        }
    }

    /// Adds a header whose value is a secret (marked sensitive, never logged).
    pub fn secret_header(self, name: &str, value: Secret) -> Self {
        self.push_header(name, value.expose(), true)
    }

    fn push_header(mut self, name: &str, value: &str, sensitive: bool) -> Self {
        let Ok(header_name) = HeaderName::from_bytes(name.as_bytes()) else {
            return self.fail(format!("invalid header name {name:?}"));
        };
        let Ok(mut header_value) = HeaderValue::from_str(value) else {
            return self.fail(format!("invalid value for header `{header_name}`"));
        };
        header_value.set_sensitive(sensitive);
        self.headers.push((header_name, header_value));
        self
    }

    /// Sets a JSON body (`Content-Type: application/json`).
    pub fn json(self, body: &(impl Serialize + ?Sized)) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body(bytes, "application/json"),
            Err(e) => self.fail(format!("cannot serialize the JSON body: {e}")),
        }
    }

    /// Sets a JSON body from a value.
    pub fn json_value(self, body: serde_json::Value) -> Self {
        self.json_value_as(body, "application/json")
    }

    /// Sets a JSON body from a value, sent with another JSON content type (a vendor `+json`
    /// type, a `charset` parameter).
    pub fn json_value_as(self, body: serde_json::Value, content_type: &'static str) -> Self {
        self.body(body.to_string().into_bytes(), content_type)
    }

    /// Sets a form body (`Content-Type: application/x-www-form-urlencoded`).
    pub fn form(self, body: &impl Serialize) -> Self {
        match serde_urlencoded::to_string(body) {
            Ok(text) => self.body(text.into_bytes(), "application/x-www-form-urlencoded"),
            Err(e) => self.fail(format!("cannot serialize the form body: {e}")),
        }
    }

    /// Sets a text body (`text/plain`, XML, …) with the given content type.
    pub fn text(self, body: String, content_type: &'static str) -> Self {
        self.body(body.into_bytes(), content_type)
    }

    fn body(mut self, bytes: Vec<u8>, content_type: &'static str) -> Self {
        self.body = Some((Bytes::from(bytes), content_type));
        self
    }

    fn fail(mut self, message: String) -> Self {
        self.error.get_or_insert(message);
        self
    }
}

/// An upstream response, with its body read.
#[derive(Clone)]
pub struct Response {
    /// The operation that produced it (for error messages).
    pub operation: &'static str,
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field(
                "body",
                &truncate(&String::from_utf8_lossy(&self.body), EXCERPT_LIMIT),
            )
            .finish()
    }
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `self` if the status is 2xx, else [`Error::Status`] with the body and `Retry-After`.
    pub fn error_for_status(self) -> Result<Self, Error> {
        if self.is_success() {
            return Ok(self);
        }
        let body = if self.body.trim_ascii().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&self.body).unwrap_or_else(|_| {
                serde_json::Value::String(truncate(
                    &String::from_utf8_lossy(&self.body),
                    STATUS_BODY_LIMIT,
                ))
            })
        };
        Err(Error::Status {
            operation: self.operation,
            status: self.status,
            body,
            retry_after: self.retry_after(),
        })
    }

    /// Decodes the JSON body as `T` (an empty body reads as `null`).
    pub fn json<T: DeserializeOwned>(&self, operation: &'static str) -> Result<T, Error> {
        let body: &[u8] = if self.body.trim_ascii().is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| Error::Decode {
            operation,
            status: self.status,
            message: e.to_string(),
            body_excerpt: truncate(&String::from_utf8_lossy(&self.body), EXCERPT_LIMIT),
        })
    }

    /// The body as a JSON value (an empty body reads as `null`).
    pub fn json_value(&self) -> Result<serde_json::Value, Error> {
        self.json(self.operation)
    }

    /// The body as bytes with its media type: `media_type` when the spec names one
    /// (`outputMediaType`), else the upstream `Content-Type`.
    pub fn binary(&self, media_type: Option<&str>) -> Binary {
        let content_type = media_type.map(str::to_owned).or_else(|| self.header("content-type").map(str::to_owned));
        Binary { content_type, bytes: self.body.clone() }
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The `Retry-After` header as a delay: seconds, or an HTTP date (zero if it has passed).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header("retry-after")?.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        let date = httpdate::parse_http_date(value).ok()?;
        Some(
            date.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode_path("abc-1_2.3~"), "abc-1_2.3~");
        assert_eq!(encode_path("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
        assert_eq!(encode_path("é"), "%C3%A9");
    }

    #[test]
    fn detects_dot_segments() {
        assert!(has_dot_segment("/a/../b"));
        assert!(has_dot_segment("/a/%2E%2e"));
        assert!(has_dot_segment("/a/."));
        assert!(!has_dot_segment("/a/b.c/...d"));
        assert!(!has_dot_segment("/a?x=.."));
        assert!(has_dot_segment("/a/.%2E/b"));
        assert!(!has_dot_segment("/a/%2e%2e%2e"));
        assert!(!has_dot_segment("/a/%2"));
        assert!(!has_dot_segment("/a//b"));
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let mut response = Response {
            operation: "op",
            status: 429,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        assert_eq!(response.retry_after(), None);
        response
            .headers
            .insert("retry-after", HeaderValue::from_static(" 7 "));
        assert_eq!(response.retry_after(), Some(Duration::from_secs(7)));
        response.headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(response.retry_after(), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        response
            .headers
            .insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let delay = response.retry_after().unwrap();
        assert!(
            delay > Duration::from_secs(100) && delay <= Duration::from_secs(120),
            "{delay:?}"
        );
        response
            .headers
            .insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(response.retry_after(), None);
    }

    #[test]
    fn invalid_headers_are_recorded_not_panicked() {
        let request = Request::new(Method::GET, "op", "/x")
            .header("bad name", "v")
            .header("ok", "bad\nvalue");
        assert_eq!(
            request.error.as_deref(),
            Some("invalid header name \"bad name\"")
        );
        let request = Request::new(Method::GET, "op", "/x").header("x-ok", "line\nbreak");
        assert_eq!(
            request.error.as_deref(),
            Some("invalid value for header `x-ok`")
        );
    }

    #[test]
    fn request_debug_shows_names_only() {
        let request = Request::new(Method::POST, "op", "/x")
            .query("q", "tok-SECRET")
            .secret_header("x-key", Secret::new("tok-SECRET"))
            .json_value(serde_json::json!({"password": "tok-SECRET"}));
        let text = format!("{request:?}");
        assert!(!text.contains("tok-SECRET"), "{text}");
        assert!(text.contains("x-key") && text.contains("\"q\""), "{text}");
    }

    #[test]
    fn url_encoding_matches_query_serializer() {
        assert_eq!(url_encode("a b&c"), "a+b%26c");
        assert_eq!(url_encode("plain"), "plain");
    }

    #[test]
    fn request_urls_match_parsing_the_joined_url() {
        for base in ["http://h.test", "http://h.test/", "https://h.test:8443/api/v1", "http://127.0.0.1:4010/a%20b/"] {
            let client = HttpClient::new(ClientConfig::new(base)).unwrap();
            for path in ["", "/", "/databases/db%201%2Fx/backups", "items/é and space", "/a\\b", "/x?y=1#f", "/p#frag"] {
                let expected = match path.trim_start_matches('/') {
                    "" => Url::parse(client.base_uri()).unwrap(),
                    rest => Url::parse(&format!("{}/{rest}", client.base_uri())).unwrap(),
                };
                let url = client.url(&Request::new(Method::GET, "op", path)).unwrap();
                assert_eq!(url.as_str(), expected.as_str(), "base {base}, path {path}");
            }
        }
    }
}

/// A binary response body (`outputRawFormat: binary`): the bytes and their media type.
///
/// Serializes (e.g. into a step's JSON result) as `{"contentType", "size", "base64"}`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Binary {
    /// The media type: the spec's `outputMediaType`, else the upstream `Content-Type`.
    pub content_type: Option<String>,
    /// The body.
    pub bytes: Bytes,
}

impl Binary {
    /// The media type, `application/octet-stream` when neither the spec nor the upstream names one.
    pub fn media_type(&self) -> &str {
        self.content_type.as_deref().unwrap_or("application/octet-stream")
    }

    /// The bytes in standard base64 (MCP `blob`s and image contents).
    pub fn base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }
}

impl fmt::Debug for Binary {
    // The length only: the bytes may be large (or private).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binary")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Serialize for Binary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("Binary", 3)?;
        s.serialize_field("contentType", self.media_type())?;
        s.serialize_field("size", &self.bytes.len())?;
        s.serialize_field("base64", &self.base64())?;
        s.end()
    }
}
