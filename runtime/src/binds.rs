//! Resolving a capability's `binds`: secrets from environment variables or key files,
//! and base-URI overrides from the environment.

use std::path::PathBuf;

use crate::{ConfigError, Secret};

/// The value of environment variable `var`, failing fast (naming the variable) when it is
/// missing or empty.
pub fn env(var: &str) -> Result<Secret, ConfigError> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => Err(ConfigError::MissingEnv {
            var: var.to_owned(),
        }),
    }
}

/// The value of `key` in a JSON or YAML file of keys (a bind's `location`).
///
/// `path` may be `file:///./x.yaml` or a relative path (relative to the current directory),
/// `file:///abs/x.yaml` or an absolute path. Errors never include a value from the file.
pub fn file_key(path: &str, key: &str) -> Result<Secret, ConfigError> {
    let bind_error = |message: String| ConfigError::BindFile {
        path: path.to_owned(),
        message,
    };
    let text =
        std::fs::read_to_string(resolve_path(path)).map_err(|e| bind_error(e.to_string()))?;
    // YAML is a superset of JSON, so one parser reads both.
    let document: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        bind_error(match e.location() {
            Some(at) => format!(
                "not valid JSON or YAML (line {}, column {})",
                at.line(),
                at.column()
            ),
            None => "not valid JSON or YAML".to_owned(),
        })
    })?;
    let serde_yaml::Value::Mapping(map) = document else {
        return Err(bind_error(
            "expected a mapping of keys to values".to_owned(),
        ));
    };
    let missing = || ConfigError::MissingKey {
        path: path.to_owned(),
        key: key.to_owned(),
    };
    match map.get(key).ok_or_else(missing)? {
        serde_yaml::Value::String(s) if !s.is_empty() => Ok(Secret::new(s.as_str())),
        serde_yaml::Value::Number(n) => Ok(Secret::new(n.to_string())),
        serde_yaml::Value::Bool(b) => Ok(Secret::new(b.to_string())),
        serde_yaml::Value::Null | serde_yaml::Value::String(_) => Err(missing()),
        _ => Err(bind_error(format!(
            "the value of key `{key}` is not a string"
        ))),
    }
}

/// The base URI of a consumed namespace: `env_var` when set and non-empty (see [`on_server`]),
/// else `default`.
pub fn base_uri(env_var: &str, default: &str) -> String {
    match std::env::var(env_var) {
        Ok(value) if !value.trim().is_empty() => on_server(value.trim(), default),
        _ => default.to_owned(),
    }
}

/// A base URI given at run time for a namespace whose spec base URI is `default`. When
/// `default` is a relative server URL (an OpenAPI `servers: [{url: /bnpl/v1}]`), `uri` names
/// the host it lives on and the path is appended (`https://api.example.com` →
/// `https://api.example.com/bnpl/v1`), unless `uri` already ends with it. Otherwise `uri` is used
/// as given.
///
/// ```
/// use capgen_runtime::binds::on_server;
/// assert_eq!(on_server("http://127.0.0.1:9000/", "/bnpl/v1"), "http://127.0.0.1:9000/bnpl/v1");
/// assert_eq!(on_server("http://h/bnpl/v1", "/bnpl/v1"), "http://h/bnpl/v1");
/// assert_eq!(on_server("http://h/v2", "https://api.example.com/v1"), "http://h/v2");
/// ```
pub fn on_server(uri: &str, default: &str) -> String {
    let uri = uri.trim();
    let relative = default.trim_end_matches('/');
    if !relative.starts_with('/') || uri.trim_end_matches('/').ends_with(relative) {
        return uri.to_owned();
    }
    format!("{}{relative}", uri.trim_end_matches('/'))
}

/// Turns `file:///./x`, `file:///abs/x`, `file://./x` or a plain path into a file path.
fn resolve_path(path: &str) -> PathBuf {
    let Some(rest) = path.strip_prefix("file://") else {
        return PathBuf::from(path);
    };
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let decoded = percent_encoding::percent_decode_str(rest).decode_utf8_lossy();
    // `file:///./x` and `file:///../x` are relative to the current directory.
    let relative = decoded
        .strip_prefix('/')
        .filter(|r| r.starts_with("./") || r.starts_with("../"));
    PathBuf::from(relative.unwrap_or(&decoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_file_uris() {
        assert_eq!(resolve_path("file:///./x.yaml"), PathBuf::from("./x.yaml"));
        assert_eq!(
            resolve_path("file:///../x.yaml"),
            PathBuf::from("../x.yaml")
        );
        assert_eq!(
            resolve_path("file:///abs/x.yaml"),
            PathBuf::from("/abs/x.yaml")
        );
        assert_eq!(resolve_path("file://./x.yaml"), PathBuf::from("./x.yaml"));
        assert_eq!(
            resolve_path("file:///a%20b/x.yaml"),
            PathBuf::from("/a b/x.yaml")
        );
        assert_eq!(resolve_path("keys/x.yaml"), PathBuf::from("keys/x.yaml"));
    }
}
