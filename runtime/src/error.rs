//! The errors generated code returns: [`Error`] for calls, [`ConfigError`] for start-up.
//!
//! Messages are one line, name the operation, and never contain a secret.

use std::time::Duration;

use serde::de::DeserializeOwned;

/// Longest body excerpt shown in an error message, in bytes.
const DISPLAY_LIMIT: usize = 300;

/// A configuration problem found while building a client or resolving `binds`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A bound environment variable is missing or empty.
    #[error("environment variable `{var}` is not set (needed by binds)")]
    MissingEnv {
        /// The variable's name.
        var: String,
    },
    /// A bind file cannot be read or parsed.
    #[error("cannot use bind file `{path}`: {message}")]
    BindFile {
        /// The file as given.
        path: String,
        /// What went wrong (never a value from the file).
        message: String,
    },
    /// A bind file lacks a key.
    #[error("bind file `{path}` has no key `{key}`")]
    MissingKey {
        /// The file as given.
        path: String,
        /// The missing key.
        key: String,
    },
    /// The base URI is not an absolute `http`/`https` URI.
    #[error("invalid base URI `{uri}`: {message}")]
    InvalidBaseUri {
        /// The URI as given.
        uri: String,
        /// Why it is invalid.
        message: String,
    },
    /// The HTTP client cannot be built (bad default header, TLS set-up failure).
    #[error("cannot build the HTTP client: {message}")]
    Http {
        /// What went wrong.
        message: String,
    },
}

/// An error from calling an upstream operation.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The upstream answered with a non-2xx status.
    #[error("{operation}: upstream returned HTTP {status}{}", display_body(body))]
    Status {
        /// The operation called.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The body: its JSON if it parses, else a JSON string of its (bounded) text; `null` if empty.
        body: serde_json::Value,
        /// The `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
    /// The request timed out.
    #[error("{operation}: upstream request timed out")]
    Timeout {
        /// The operation called.
        operation: &'static str,
    },
    /// The request could not be sent or the response not read (connection refused, TLS, reset).
    #[error("{operation}: transport error: {message}")]
    Transport {
        /// The operation called.
        operation: &'static str,
        /// What went wrong (without the URL).
        message: String,
    },
    /// The response body is not what the operation expects.
    #[error("{operation}: cannot decode HTTP {status} response: {message}")]
    Decode {
        /// The operation called.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The decoder's message.
        message: String,
        /// The start of the body.
        body_excerpt: String,
    },
    /// A binary response body is larger than its operation allows (`maxBinarySize`); the rest
    /// of the body was not read.
    #[error("{operation}: the upstream response body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The operation called.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A workflow run stopped before completing (see `workflow::WorkflowError`): a step's
    /// criteria were unmet, a call failed, or the step budget or deadline ran out.
    #[error("{message}")]
    Workflow {
        /// The workflow id.
        workflow: String,
        /// The step the run stopped at.
        step: String,
        /// The last HTTP status of that step, if any.
        step_status: Option<u16>,
        /// Why (one line, without secrets).
        message: String,
        /// Whether the run stopped on its deadline or an upstream timeout.
        timed_out: bool,
    },
    /// The request could not be built (invalid header, unserializable body).
    #[error("{operation}: invalid request: {message}")]
    InvalidRequest {
        /// The operation called.
        operation: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A configuration problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Error {
    /// The upstream HTTP status, for [`Error::Status`], [`Error::Decode`] and [`Error::TooLarge`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } | Error::Decode { status, .. } | Error::TooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The upstream error body, for [`Error::Status`].
    pub fn body(&self) -> Option<&serde_json::Value> {
        match self {
            Error::Status { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The upstream error body decoded as `T` (a typed error body), if it fits.
    pub fn body_as<T: DeserializeOwned>(&self) -> Option<T> {
        T::deserialize(self.body()?).ok()
    }

    /// The upstream's `Retry-After`, for [`Error::Status`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// The operation that failed (`None` for configuration errors).
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Status { operation, .. }
            | Error::Timeout { operation }
            | Error::Transport { operation, .. }
            | Error::Decode { operation, .. }
            | Error::TooLarge { operation, .. }
            | Error::InvalidRequest { operation, .. } => Some(operation),
            Error::Config(_) | Error::Workflow { .. } => None,
        }
    }
}

/// `": <body>"` for a status error message, truncated; empty for an empty body.
fn display_body(body: &serde_json::Value) -> String {
    let text = match body {
        serde_json::Value::Null => return String::new(),
        serde_json::Value::String(s) if s.trim().is_empty() => return String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let one_line = text.replace(['\r', '\n'], " ");
    format!(": {}", truncate(&one_line, DISPLAY_LIMIT))
}

/// `text` cut to at most `limit` bytes on a char boundary, with `…` when cut.
pub(crate) fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_message_is_one_bounded_line() {
        let err = Error::Status {
            operation: "listdatabasebackups",
            status: 404,
            body: json!({"error": "not found"}),
            retry_after: None,
        };
        assert_eq!(
            err.to_string(),
            r#"listdatabasebackups: upstream returned HTTP 404: {"error":"not found"}"#
        );
        let long = Error::Status {
            operation: "op",
            status: 500,
            body: json!("line1\nline2".repeat(100)),
            retry_after: None,
        };
        let text = long.to_string();
        assert!(!text.contains('\n'));
        assert!(text.len() < DISPLAY_LIMIT + 50 && text.ends_with('…'));
        let empty = Error::Status {
            operation: "op",
            status: 502,
            body: json!(null),
            retry_after: None,
        };
        assert_eq!(empty.to_string(), "op: upstream returned HTTP 502");
    }

    #[test]
    fn accessors() {
        #[derive(serde::Deserialize)]
        struct Body {
            code: String,
        }
        let err = Error::Status {
            operation: "op",
            status: 429,
            body: json!({"code": "slow_down"}),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(err.status(), Some(429));
        assert_eq!(
            err.body_as::<Body>().map(|b| b.code).as_deref(),
            Some("slow_down")
        );
        assert!(err.body_as::<Vec<u8>>().is_none());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(err.operation(), Some("op"));
        assert!(!err.is_timeout());
        assert!(Error::Timeout { operation: "op" }.is_timeout());
        let config = Error::from(ConfigError::MissingEnv { var: "X".into() });
        assert_eq!(config.operation(), None);
        assert_eq!(config.status(), None);
        assert_eq!(
            config.to_string(),
            "environment variable `X` is not set (needed by binds)"
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
