//! `capgen_runtime::server` on its own: error mapping, argument extraction, inbound auth and
//! the Host/Origin guard, through a tiny axum app (feature `server`).
#![cfg(feature = "server")]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use capgen_runtime::Error;
use capgen_runtime::server::{
    AllowedHosts, ApiError, ArgSpec, InboundAuth, Kind, Location, RestConfig, RestRequest, rest_app,
};
use serde_json::{Value, json};

const SPECS: &[ArgSpec] = &[
    ArgSpec::new("id", Location::Path, Kind::String, true),
    ArgSpec::new("limit", Location::Query, Kind::Integer, false),
    ArgSpec::new("verbose", Location::Header, Kind::Boolean, false),
    ArgSpec::new("label", Location::BodyField, Kind::String, true),
];

#[derive(serde::Deserialize, serde::Serialize)]
struct Args {
    id: String,
    limit: Option<i64>,
    verbose: Option<bool>,
    label: String,
}

async fn echo(request: RestRequest) -> Result<axum::Json<Value>, ApiError> {
    let args: Args = request.args(SPECS)?;
    Ok(axum::Json(serde_json::to_value(args).unwrap_or_default()))
}

fn app(config: &RestConfig) -> axum::Router {
    let api = axum::Router::new().route("/items/{id}", axum::routing::post(echo));
    rest_app(api, config, "{\"openapi\":\"3.1.0\"}")
}

/// Serves `app` on a loopback port and sends `request` to it (its headers, including `host`).
async fn send(app: axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(capgen_runtime::server::serve_listener(listener, app, std::future::pending()));
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    let mut builder = reqwest::Client::new().request(parts.method, format!("http://{addr}{}", parts.uri));
    for (name, value) in &parts.headers {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    let response = builder.body(body.to_vec()).send().await.expect("send");
    let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
    let bytes = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn post(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header("host", "127.0.0.1:8080").header("content-type", "application/json")
}

#[tokio::test]
async fn arguments_come_from_path_query_headers_and_body() {
    let request = post("/items/a%20b?limit=5").header("verbose", "true").body(Body::from(r#"{"label":"x"}"#)).unwrap();
    let (status, body) = send(app(&RestConfig::default()), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "id": "a b", "limit": 5, "verbose": true, "label": "x" }));
}

#[tokio::test]
async fn bad_input_is_400_or_422_naming_the_field() {
    let cases = [
        ("/items/1", "{oops", StatusCode::BAD_REQUEST, None),
        ("/items/1", "{}", StatusCode::UNPROCESSABLE_ENTITY, Some("label")),
        ("/items/1", r#"{"label": 3}"#, StatusCode::UNPROCESSABLE_ENTITY, Some("label")),
        ("/items/1?limit=x", r#"{"label":"x"}"#, StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
        ("/items/1", "[1]", StatusCode::UNPROCESSABLE_ENTITY, None),
    ];
    for (uri, body, expected, field) in cases {
        let request = post(uri).body(Body::from(body.to_owned())).unwrap();
        let (status, answer) = send(app(&RestConfig::default()), request).await;
        assert_eq!(status, expected, "{uri} {body}: {answer}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{answer}");
        }
    }
}

#[tokio::test]
async fn fallbacks_limits_and_guards_answer_json() {
    let config = RestConfig::default().with_body_limit(16);
    let big = post("/items/1").body(Body::from(format!(r#"{{"label":"{}"}}"#, "x".repeat(64)))).unwrap();
    assert_eq!(send(app(&config), big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let missing = Request::get("/nope").header("host", "localhost").body(Body::empty()).unwrap();
    assert_eq!(send(app(&config), missing).await.1["error"]["code"], "not_found");
    let wrong = Request::get("/items/1").header("host", "localhost").body(Body::empty()).unwrap();
    assert_eq!(send(app(&config), wrong).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let evil = Request::get("/healthz").header("host", "evil.example").body(Body::empty()).unwrap();
    assert_eq!(send(app(&config), evil).await.0, StatusCode::FORBIDDEN);
    let allowed = RestConfig::default().with_allowed_hosts(AllowedHosts::loopback().with("evil.example"));
    let evil = Request::get("/healthz").header("host", "evil.example").body(Body::empty()).unwrap();
    assert_eq!(send(app(&allowed), evil).await.0, StatusCode::OK);
}

#[tokio::test]
async fn inbound_auth_kinds() {
    let ok = |auth: InboundAuth, header: (&str, &str), uri: &str| {
        let config = RestConfig::default().with_auth(auth);
        let request = post(uri).header(header.0, header.1).body(Body::from(r#"{"label":"x"}"#)).unwrap();
        async move { send(app(&config), request).await.0 }
    };
    assert_eq!(ok(InboundAuth::Bearer("t".into()), ("authorization", "Bearer t"), "/items/1").await, StatusCode::OK);
    assert_eq!(ok(InboundAuth::Bearer("t".into()), ("authorization", "Bearer u"), "/items/1").await, StatusCode::UNAUTHORIZED);
    let basic = || InboundAuth::Basic { username: "user".into(), password: "pass".into() };
    assert_eq!(ok(basic(), ("authorization", "Basic dXNlcjpwYXNz"), "/items/1").await, StatusCode::OK);
    assert_eq!(ok(basic(), ("authorization", "Basic dXNlcjpwYXN"), "/items/1").await, StatusCode::UNAUTHORIZED);
    let header_key = || InboundAuth::ApiKey { name: "x-api-key".into(), value: "k".into(), in_query: false };
    assert_eq!(ok(header_key(), ("x-api-key", "k"), "/items/1").await, StatusCode::OK);
    let query_key = || InboundAuth::ApiKey { name: "key".into(), value: "k".into(), in_query: true };
    assert_eq!(ok(query_key(), ("x-other", "1"), "/items/1?key=k").await, StatusCode::OK);
    assert_eq!(ok(query_key(), ("x-other", "1"), "/items/1?key=no").await, StatusCode::UNAUTHORIZED);
}

#[test]
fn upstream_errors_map_to_gateway_statuses() {
    let status = |e: Error| ApiError::from(e).status();
    let upstream = |code: u16, body: Value| Error::Status { operation: "op", status: code, body, retry_after: None };
    let not_found = ApiError::from(upstream(404, json!({ "error": { "code": "not_found" } })));
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    assert_eq!(not_found.body(), &json!({ "error": { "code": "not_found" } }));
    let text = ApiError::from(upstream(400, json!("plain text")));
    assert_eq!(text.body()["error"]["upstream"], "plain text");
    assert_eq!(status(upstream(500, Value::Null)), StatusCode::BAD_GATEWAY);
    assert_eq!(status(Error::Timeout { operation: "op" }), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(status(Error::Transport { operation: "op", message: "reset".into() }), StatusCode::BAD_GATEWAY);
    let rate = ApiError::from(Error::Status { operation: "op", status: 429, body: Value::Null, retry_after: Some(Duration::from_secs(3)) });
    assert_eq!(rate.status(), StatusCode::TOO_MANY_REQUESTS);
}
