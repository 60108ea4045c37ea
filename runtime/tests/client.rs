//! `HttpClient` against a local axum server: request building, auth, error mapping, and that
//! no secret ever shows up in `Debug` or `Display`.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method as AxumMethod, StatusCode, Uri};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::{any, get};
use capgen_runtime::{
    Auth, ClientConfig, ConfigError, Error, HttpClient, Method, Request, Secret, encode_path,
};
use serde_json::{Value, json};

/// A token that must never appear in any `Debug` or `Display` output.
const TOKEN: &str = "tok-SECRET-1234";
const DIGEST_USER: &str = "ann";
const DIGEST_NONCE: &str = "dcd98b7102dd2f0e8b11d0f600bfb0c093";

/// Echoes the request back as JSON.
async fn echo(method: AxumMethod, uri: Uri, headers: HeaderMap, body: Bytes) -> axum::Json<Value> {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                json!(value.to_str().unwrap_or("<binary>")),
            )
        })
        .collect();
    axum::Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

/// Answers with a digest challenge unless the `Authorization` header is a valid digest response.
async fn digest(method: AxumMethod, uri: Uri, headers: HeaderMap, body: Bytes) -> AxumResponse {
    let sent = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Ok(answer) = digest_auth::AuthorizationHeader::parse(sent) {
        let mut expected = answer.clone();
        let context = digest_auth::AuthContext::new_with_method(
            DIGEST_USER,
            TOKEN,
            answer.uri.clone(),
            Some(body.as_ref()),
            digest_auth::HttpMethod::from(method.as_str()),
        );
        expected.digest(&context);
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or_default();
        if answer.nonce == DIGEST_NONCE
            && answer.uri == target
            && expected.response == answer.response
        {
            return echo(method, uri, headers, body).await.into_response();
        }
    }
    let challenge = format!(
        r#"Digest realm="capgen", qop="auth", algorithm=MD5, nonce="{DIGEST_NONCE}", opaque="xyz""#
    );
    (
        StatusCode::UNAUTHORIZED,
        [("www-authenticate", challenge)],
        "unauthorized",
    )
        .into_response()
}

fn app() -> Router {
    Router::new()
        .route(
            "/missing",
            get(|| async {
                (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({"error": "no such database"})),
                )
            }),
        )
        .route(
            "/busy",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "7")],
                    "slow down",
                )
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route(
            "/malformed",
            get(|| async { ([("content-type", "application/json")], r#"{"oops": "#) }),
        )
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/redirect-here",
            get(|| async { (StatusCode::FOUND, [("location", "/echo/after")]) }),
        )
        .route("/digest/{*rest}", any(digest))
        .fallback(echo)
}

/// Starts the test server; returns its base URI.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn test_client(auth: Auth) -> HttpClient {
    let base = serve(app()).await;
    HttpClient::new(ClientConfig::new(base).with_auth(auth)).unwrap()
}

async fn echoed(client: &HttpClient, request: Request) -> Value {
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status, 200);
    response.json_value().unwrap()
}

#[tokio::test]
async fn joins_paths_and_encodes_the_query() {
    let base = serve(app()).await;
    for (base, path) in [
        (format!("{base}/api/"), "/databases"),
        (format!("{base}/api"), "databases"),
    ] {
        let client = HttpClient::new(ClientConfig::new(&base)).unwrap();
        assert!(!client.base_uri().ends_with('/'));
        let path = format!("{path}/{}/backups", encode_path("db 1/x"));
        let request = Request::new(Method::GET, "listdatabasebackups", path)
            .query("limit", 10)
            .query_opt("cursor", None::<String>)
            .query_opt("q", Some("a b&c=d"))
            .query_json("tag", &json!(["x", 2]))
            .query_json("skip", &json!(null))
            .query_json("s", &json!("plain"));
        let echo = echoed(&client, request).await;
        assert_eq!(echo["method"], "GET");
        assert_eq!(echo["path"], "/api/databases/db%201%2Fx/backups");
        assert_eq!(echo["query"], "limit=10&q=a+b%26c%3Dd&tag=x&tag=2&s=plain");
        assert_eq!(
            echo["headers"]["user-agent"],
            concat!("capgen-runtime/", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[tokio::test]
async fn sends_the_method_json_and_form_bodies() {
    let client = test_client(Auth::None).await;
    let echo = echoed(
        &client,
        Request::new(Method::POST, "create", "/things").json(&json!({"name": "n", "n": 1})),
    )
    .await;
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(echo["body"].as_str().unwrap()).unwrap(),
        json!({"name": "n", "n": 1})
    );

    let request = Request::new(Method::PUT, "put", "/things")
        .json_value(json!([1]))
        .header("content-type", "application/vnd+json");
    let echo = echoed(&client, request).await;
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["headers"]["content-type"], "application/vnd+json");
    assert_eq!(echo["body"], "[1]");

    let echo = echoed(
        &client,
        Request::new(Method::PATCH, "form", "/f").form(&[("a", "1 2"), ("b", "&")]),
    )
    .await;
    assert_eq!(
        echo["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(echo["body"], "a=1+2&b=%26");

    let echo = echoed(&client, Request::new(Method::DELETE, "delete", "/things/1")).await;
    assert_eq!(echo["method"], "DELETE");
    assert_eq!(echo["body"], "");
}

#[tokio::test]
async fn bearer_basic_and_api_key_auth() {
    let echo = echoed(
        &test_client(Auth::bearer(TOKEN)).await,
        Request::new(Method::GET, "op", "/"),
    )
    .await;
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {TOKEN}"));

    let echo = echoed(
        &test_client(Auth::basic("ann", TOKEN)).await,
        Request::new(Method::GET, "op", "/"),
    )
    .await;
    assert_eq!(
        echo["headers"]["authorization"],
        "Basic YW5uOnRvay1TRUNSRVQtMTIzNA=="
    );

    let echo = echoed(
        &test_client(Auth::api_key_header("X-Api-Key", TOKEN)).await,
        Request::new(Method::GET, "op", "/"),
    )
    .await;
    assert_eq!(echo["headers"]["x-api-key"], TOKEN);
    assert_eq!(echo["query"], Value::Null);

    let client = test_client(Auth::api_key_query("api_key", TOKEN)).await;
    let echo = echoed(&client, Request::new(Method::GET, "op", "/x").query("a", 1)).await;
    assert_eq!(echo["query"], format!("a=1&api_key={TOKEN}"));
    assert!(echo["headers"].get("authorization").is_none());
}

#[tokio::test]
async fn digest_auth_answers_the_challenge_and_resends_the_body() {
    let client = test_client(Auth::digest(DIGEST_USER, TOKEN)).await;
    let echo = echoed(
        &client,
        Request::new(Method::GET, "op", "/digest/items").query("page", 2),
    )
    .await;
    assert_eq!(echo["path"], "/digest/items");
    assert!(
        echo["headers"]["authorization"]
            .as_str()
            .unwrap()
            .starts_with("Digest ")
    );

    let request = Request::new(Method::POST, "op", "/digest/items").json(&json!({"k": "v"}));
    let echo = echoed(&client, request).await;
    assert_eq!(echo["body"], r#"{"k":"v"}"#);

    let wrong = test_client(Auth::digest(DIGEST_USER, "wrong")).await;
    let err = wrong
        .send(Request::new(Method::GET, "op", "/digest/items"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.body(), Some(&json!("unauthorized")));

    // Without digest auth configured, the challenge is just a 401.
    let none = test_client(Auth::None).await;
    assert_eq!(
        none.send(Request::new(Method::GET, "op", "/digest/x"))
            .await
            .unwrap_err()
            .status(),
        Some(401)
    );
}

#[tokio::test]
async fn a_request_authorization_header_wins_over_configured_auth() {
    for auth in [Auth::bearer(TOKEN), Auth::basic("ann", TOKEN)] {
        let echo = echoed(
            &test_client(auth).await,
            Request::new(Method::GET, "op", "/").header("Authorization", "Bearer from-the-step"),
        )
        .await;
        assert_eq!(echo["headers"]["authorization"], "Bearer from-the-step");
    }
}

#[tokio::test]
async fn default_headers_yield_to_request_headers() {
    let base = serve(app()).await;
    let config = ClientConfig::new(base)
        .with_header("Registry-Version", "2024-01-01")
        .with_header("X-Tenant", Secret::new("t1"))
        .with_user_agent("my-app/1");
    let client = HttpClient::new(config).unwrap();
    let request = Request::new(Method::GET, "op", "/")
        .header("x-tenant", "t2")
        .header_opt("x-none", None::<String>);
    let echo = echoed(&client, request).await;
    assert_eq!(echo["headers"]["registry-version"], "2024-01-01");
    assert_eq!(echo["headers"]["x-tenant"], "t2");
    assert_eq!(echo["headers"]["user-agent"], "my-app/1");
    assert!(echo["headers"].get("x-none").is_none());
}

#[tokio::test]
async fn non_2xx_becomes_a_status_error() {
    let client = test_client(Auth::bearer(TOKEN)).await;
    let err = client
        .send(Request::new(Method::GET, "listdatabasebackups", "/missing"))
        .await
        .unwrap_err();
    let Error::Status {
        operation,
        status,
        body,
        retry_after,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*operation, *status, *retry_after),
        ("listdatabasebackups", 404, None)
    );
    assert_eq!(body, &json!({"error": "no such database"}));
    assert_eq!(
        err.to_string(),
        r#"listdatabasebackups: upstream returned HTTP 404: {"error":"no such database"}"#
    );
    #[derive(serde::Deserialize)]
    struct ApiError {
        error: String,
    }
    assert_eq!(err.body_as::<ApiError>().unwrap().error, "no such database");

    let err = client
        .send(Request::new(Method::GET, "op", "/busy"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.body(), Some(&json!("slow down")));

    // send_raw leaves statuses to the caller.
    let response = client
        .send_raw(Request::new(Method::GET, "op", "/busy"))
        .await
        .unwrap();
    assert_eq!(response.status, 429);
    assert_eq!(response.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(response.text(), "slow down");
    assert!(!response.is_success());
}

#[tokio::test]
async fn same_origin_redirects_are_followed_others_are_not() {
    let client = test_client(Auth::api_key_header("x-api-key", TOKEN)).await;
    let echo = echoed(&client, Request::new(Method::GET, "op", "/redirect-here")).await;
    assert_eq!(echo["path"], "/echo/after");

    let other = serve(app()).await;
    let hop = Router::new().fallback(move || {
        let location = format!("{other}/stolen");
        async move { (StatusCode::FOUND, [("location", location)]) }
    });
    let base = serve(hop).await;
    let client = HttpClient::new(
        ClientConfig::new(base).with_auth(Auth::api_key_header("x-api-key", TOKEN)),
    )
    .unwrap();
    let err = client
        .send(Request::new(Method::GET, "op", "/"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(302));
}

#[tokio::test]
async fn timeouts_are_timeout_errors() {
    let base = serve(app()).await;
    let config = ClientConfig::new(&base).with_timeout(Duration::from_millis(200));
    let err = HttpClient::new(config.clone())
        .unwrap()
        .send(Request::new(Method::GET, "slowop", "/slow"))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.to_string(), "slowop: upstream request timed out");

    // A shared reqwest client still gets the configured timeout.
    let shared = HttpClient::new(config.with_http_client(reqwest::Client::new())).unwrap();
    let err = shared
        .send(Request::new(Method::GET, "slowop", "/slow"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "slowop"
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_without_secrets() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = HttpClient::new(
        ClientConfig::new(format!("http://{addr}")).with_auth(Auth::api_key_query("key", TOKEN)),
    )
    .unwrap();
    let err = client
        .send(Request::new(Method::GET, "op", "/x"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                operation: "op",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.status().is_none());
    assert!(
        err.to_string().starts_with("op: transport error: "),
        "{err}"
    );
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains("key="), "{text}");
    }
}

#[tokio::test]
async fn bodies_decode_or_fail_with_an_excerpt() {
    let client = test_client(Auth::None).await;
    let response = client
        .send(Request::new(Method::GET, "op", "/malformed"))
        .await
        .unwrap();
    let err = response.json::<Value>("getthing").unwrap_err();
    let Error::Decode {
        operation,
        status,
        body_excerpt,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*operation, *status, body_excerpt.as_str()),
        ("getthing", 200, r#"{"oops": "#)
    );
    assert!(
        err.to_string()
            .starts_with("getthing: cannot decode HTTP 200 response: ")
    );

    let response = client
        .send(Request::new(Method::GET, "op", "/empty"))
        .await
        .unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(response.json_value().unwrap(), Value::Null);
    assert_eq!(response.json::<Option<u32>>("op").unwrap(), None);

    #[derive(serde::Deserialize, Debug)]
    struct Echo {
        method: String,
    }
    let response = client
        .send(Request::new(Method::GET, "op", "/"))
        .await
        .unwrap();
    assert_eq!(response.json::<Echo>("op").unwrap().method, "GET");
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert!(response.json::<Vec<u8>>("op").is_err());
}

#[tokio::test]
async fn invalid_requests_fail_at_send_without_panicking() {
    let client = test_client(Auth::None).await;
    let cases = [
        Request::new(Method::GET, "op", "/").header("bad header", "v"),
        Request::new(Method::GET, "op", "/")
            .secret_header("x-key", Secret::new(format!("{TOKEN}\n"))),
        Request::new(Method::GET, "op", "/a/../admin"),
        Request::new(Method::GET, "op", format!("/a/{}", encode_path(".."))),
        Request::new(Method::POST, "op", "/").json(&std::collections::HashMap::from([((1, 2), 3)])),
    ];
    for request in cases {
        let err = client.send(request).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidRequest {
                    operation: "op",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains(TOKEN), "{err}");
    }
}

#[test]
fn invalid_configs_are_config_errors() {
    for uri in [
        "not a uri",
        "ftp://example.com",
        "https://example.com/?a=1",
        "",
    ] {
        let err = HttpClient::new(ClientConfig::new(uri)).unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidBaseUri { .. }),
            "{uri}: {err:?}"
        );
    }
    let err = HttpClient::new(ClientConfig::new("http://h").with_header("x", format!("{TOKEN}\n")))
        .unwrap_err();
    assert!(matches!(err, ConfigError::Http { .. }));
    assert!(!err.to_string().contains(TOKEN));
    for auth in [
        Auth::bearer(format!("{TOKEN}\n")),
        Auth::api_key_header("bad name", TOKEN),
        Auth::api_key_header("k", "\0"),
    ] {
        let err = HttpClient::new(ClientConfig::new("http://h").with_auth(auth)).unwrap_err();
        assert!(matches!(err, ConfigError::Http { .. }), "{err:?}");
        assert!(!err.to_string().contains(TOKEN), "{err}");
    }
}

#[test]
fn configs_clients_and_errors_never_print_secrets() {
    let auths = [
        Auth::bearer(TOKEN),
        Auth::basic("ann", TOKEN),
        Auth::api_key_header("x-api-key", TOKEN),
        Auth::api_key_query("key", TOKEN),
        Auth::digest("ann", TOKEN),
    ];
    for auth in auths {
        let config = ClientConfig::new("https://api.example.com/")
            .with_auth(auth)
            .with_header("x-secret", TOKEN);
        let client = HttpClient::new(config.clone()).unwrap();
        let request =
            Request::new(Method::GET, "op", "/").secret_header("x-other", Secret::new(TOKEN));
        for text in [
            format!("{config:?}"),
            format!("{client:?}"),
            format!("{:?}", client.clone()),
            format!("{request:?}"),
        ] {
            assert!(!text.contains(TOKEN), "{text}");
        }
        assert!(format!("{client:?}").contains("https://api.example.com"));
    }
    let errors = [
        Error::from(ConfigError::MissingEnv {
            var: "PRISMA_API_KEY".into(),
        }),
        Error::Timeout { operation: "op" },
        Error::InvalidRequest {
            operation: "op",
            message: "invalid value for header `x`".into(),
        },
    ];
    for err in errors {
        assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN));
    }
}

/// An endless chunked (no `Content-Length`) `200` answer: the client stops reading at its
/// response limit, so an upstream cannot exhaust its memory.
#[tokio::test]
async fn bodies_over_the_response_limit_are_decode_errors() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("4000\r\n{}\r\n", " ".repeat(0x4000));
                // Until the client hangs up.
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    let config = ClientConfig::new(format!("http://{addr}")).with_max_response_bytes(100_000);
    let client = HttpClient::new(config).unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        client.send(Request::new(Method::GET, "bigop", "/big")),
    )
    .await
    .expect("the client stops reading")
    .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { operation: "bigop", status: 200, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "bigop: cannot decode HTTP 200 response: the response body exceeds the limit of 100000 bytes"
    );
}
