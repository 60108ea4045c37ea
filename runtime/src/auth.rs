//! [`Auth`]: how a consumed namespace authenticates (bearer, basic, API key, digest).
//!
//! Bearer, basic and API key credentials are applied to every request by
//! [`HttpClient`](crate::HttpClient); digest answers the server's `401` challenge and retries once.

use crate::Secret;

/// Authentication for requests to one upstream API.
#[derive(Clone, Debug, Default)]
pub enum Auth {
    /// No authentication.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The bearer token.
        token: Secret,
    },
    /// HTTP Basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// An API key sent in a header or a query parameter.
    ApiKey {
        /// Header or query parameter name.
        name: String,
        /// The key.
        value: Secret,
        /// Where the key goes.
        location: ApiKeyLocation,
    },
    /// HTTP Digest authentication (RFC 7616): answered on a `401` challenge, retried once.
    Digest {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
}

/// Where an API key is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// As a request header.
    #[default]
    Header,
    /// As a query parameter.
    Query,
}

impl Auth {
    /// Bearer token authentication.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self::Bearer {
            token: token.into(),
        }
    }

    /// HTTP Basic authentication.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// An API key in the header `name`.
    pub fn api_key_header(name: impl Into<String>, value: impl Into<Secret>) -> Self {
        Self::ApiKey {
            name: name.into(),
            value: value.into(),
            location: ApiKeyLocation::Header,
        }
    }

    /// An API key in the query parameter `name`.
    pub fn api_key_query(name: impl Into<String>, value: impl Into<Secret>) -> Self {
        Self::ApiKey {
            name: name.into(),
            value: value.into(),
            location: ApiKeyLocation::Query,
        }
    }

    /// HTTP Digest authentication.
    pub fn digest(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Digest {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The secret values this auth holds, to redact them from error messages.
    pub(crate) fn secret(&self) -> Option<&Secret> {
        match self {
            Auth::None => None,
            Auth::Bearer { token } => Some(token),
            Auth::Basic { password, .. } | Auth::Digest { password, .. } => Some(password),
            Auth::ApiKey { value, .. } => Some(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let all = [
            Auth::bearer("tok-SECRET"),
            Auth::basic("ann", "tok-SECRET"),
            Auth::api_key_query("key", "tok-SECRET"),
            Auth::digest("ann", "tok-SECRET"),
        ];
        for auth in all {
            let text = format!("{auth:?}");
            assert!(!text.contains("tok-SECRET"), "{text}");
            assert!(text.contains("***"), "{text}");
            assert_eq!(auth.secret().map(Secret::expose), Some("tok-SECRET"));
        }
        assert!(Auth::None.secret().is_none());
    }
}
