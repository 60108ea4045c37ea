//! A user crate's view: `include_capability!` on the seed, and its client calling a local
//! server. Checks method, path, the bearer token from `PRISMA_API_KEY`, the JSON body, and
//! typed responses and errors.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

// The spec's warnings (shown by `capgen check`) are known here.
#[allow(deprecated)]
mod prisma {
    capgen_macros::include_capability!(
        "../specs/prisma/capabilities/postgres-management-database-backups.yaml",
        arazzo = ["../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml"],
    );
}

use prisma::client::postgres_management_database_backups::{BASE_URI_ENV, Client};

#[derive(Clone, Debug, Default)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn record(State(log): State<Log>, request: Request) -> impl IntoResponse {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        authorization: parts.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    log.lock().expect("log").push(seen.clone());
    let backup = r#"{"id":"bkp_1","databaseId":"db_1","type":"manual","status":"pending","createdAt":"2026-11-23T10:00:00Z"}"#;
    match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/v1/databases/db_1/backups") => (StatusCode::ACCEPTED, backup.to_string()),
        ("GET", "/v1/databases/db_1/backups") => (StatusCode::OK, format!(r#"{{"data":[{backup}]}}"#)),
        ("POST", "/v1/databases/db_1/backups/bkp_1/restore") => {
            (StatusCode::ACCEPTED, r#"{"status":"restoring","message":"Restore started"}"#.to_string())
        }
        _ => (StatusCode::NOT_FOUND, r#"{"error":{"code":"not_found","message":"Database not found"}}"#.to_string()),
    }
}

async fn server() -> (String, Log) {
    let log = Log::default();
    let app = Router::new().fallback(record).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), log)
}

#[tokio::test]
async fn client_from_env_sends_method_path_token_and_body() {
    let (base, log) = server().await;
    // The only test in this binary that touches the environment.
    unsafe {
        std::env::set_var("PRISMA_API_KEY", "tok_seed_123");
        std::env::set_var(BASE_URI_ENV, &base);
    }
    let client = Client::from_env().expect("configured from env");

    let label = prisma::types::BackupCreate { label: Some("nightly".to_string()) };
    let created = client.create_database_backup("db_1", Some(&label)).await.expect("created");
    assert_eq!(created.id, "bkp_1");

    let listed = client.list_database_backups("db_1").await.expect("listed");
    assert_eq!(listed.data.as_ref().map(Vec::len), Some(1));

    let restored = client.restore_database_backup("db_1", "bkp_1").await.expect("restored");
    assert_eq!(serde_json::to_value(&restored).expect("serializes")["status"], "restoring");

    let error = client.list_database_backups("db_404").await.expect_err("unknown database");
    assert_eq!(error.status(), Some(404));
    let body: prisma::types::Error = error.body_as().expect("typed error body");
    assert_eq!(body.error.map(|e| e.code), Some("not_found".to_string()));

    let seen = log.lock().expect("log").clone();
    assert_eq!(seen.len(), 4);
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("POST", "/v1/databases/db_1/backups"));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&seen[0].body).expect("JSON body"), serde_json::json!({"label": "nightly"}));
    assert_eq!((seen[1].method.as_str(), seen[1].path.as_str()), ("GET", "/v1/databases/db_1/backups"));
    assert_eq!((seen[2].method.as_str(), seen[2].path.as_str()), ("POST", "/v1/databases/db_1/backups/bkp_1/restore"));
    for request in &seen {
        assert_eq!(request.authorization.as_deref(), Some("Bearer tok_seed_123"));
    }
    assert!(!format!("{client:?} {error:?} {error}").contains("tok_seed_123"), "the token never shows");
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let (base, log) = server().await;
    let config = capgen_runtime::ClientConfig::new(base).with_auth(capgen_runtime::Auth::Bearer { token: "t".into() });
    let client = Client::new(config).expect("client");
    let _ = client.list_database_backups("a/b c").await;
    let seen = log.lock().expect("log").clone();
    assert_eq!(seen[0].path, "/v1/databases/a%2Fb%20c/backups");
}
