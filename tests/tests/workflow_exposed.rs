//! The seed workflow exposed by the generated server: `POST /workflows/backup-and-restore-database`
//! against the simulator, polling when asked and failing at `pollBackup` when not.

use capgen_runtime::{Auth, ClientConfig};
use prisma_postgres_backups::client::{Clients, postgres_management_database_backups::Client};
use prisma_simulator::SimulatorConfig;
use serde_json::{Value, json};

async fn serve(upstream: &str) -> String {
    let config = ClientConfig::new(upstream).with_auth(Auth::Bearer { token: "not-used-the-workflow-sends-its-own".into() });
    let clients = Clients { postgres_management_database_backups: Client::new(config).expect("client") };
    let router = prisma_postgres_backups::rest::router(clients).expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { capgen_runtime::axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn run(base: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/workflows/backup-and-restore-database"))
        .json(&body)
        .send()
        .await
        .expect("server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn completes_when_asked_to_poll() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let base = serve(&sim.base_uri()).await;
    let (status, body) = run(
        &base,
        json!({ "apiToken": "sim-token", "databaseId": "db_123", "retryUnmatched": 5, "retryAfterSeconds": 0 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restoreStatus"], "restoring");
    assert!(body["backupId"].as_str().is_some_and(|id| id.starts_with("bkp_")), "{body}");
}

#[tokio::test]
async fn fails_at_poll_backup_without_polling() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let base = serve(&sim.base_uri()).await;
    let (status, body) = run(&base, json!({ "apiToken": "sim-token", "databaseId": "db_123" })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "workflow_failed");
    assert_eq!(body["error"]["step"], "pollBackup");
    assert_eq!(body["error"]["upstreamStatus"], 200);
}

#[tokio::test]
async fn missing_inputs_are_a_client_error() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let base = serve(&sim.base_uri()).await;
    let (status, body) = run(&base, json!({ "databaseId": "db_123" })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("apiToken"), "names the missing field: {body}");
}

#[tokio::test]
async fn a_wrong_token_fails_at_create_backup_without_leaking_it() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let base = serve(&sim.base_uri()).await;
    let (status, body) = run(&base, json!({ "apiToken": "tok-wrong-0042", "databaseId": "db_123" })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["step"], "createBackup");
    assert_eq!(body["error"]["upstreamStatus"], 401);
    assert!(!body.to_string().contains("tok-wrong-0042"));
}
