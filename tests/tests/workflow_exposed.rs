//! The seed workflow exposed by the generated server: `POST /workflows/backup-and-restore-database`
//! and the MCP tool `backup-and-restore-database`, against the simulator, polling when asked and
//! failing at `pollBackup` when not.

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

mod over_mcp {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::StreamableHttpClientTransport;

    use super::*;

    async fn call(arguments: Value) -> rmcp::model::CallToolResult {
        let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
        let config = ClientConfig::new(sim.base_uri());
        let clients = Clients { postgres_management_database_backups: Client::new(config).expect("client") };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = prisma_postgres_backups::mcp::router(clients);
        tokio::spawn(async move { capgen_runtime::axum::serve(listener, router).await });
        let client = ().serve(StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"))).await.expect("connects");
        let Value::Object(arguments) = arguments else { panic!("object arguments") };
        let result = client
            .call_tool(CallToolRequestParams::new("backup-and-restore-database").with_arguments(arguments))
            .await
            .expect("tools/call answers");
        drop(sim);
        result
    }

    #[tokio::test]
    async fn the_workflow_tool_polls_and_returns_structured_outputs() {
        let result =
            call(json!({ "apiToken": "sim-token", "databaseId": "db_123", "retryUnmatched": 5, "retryAfterSeconds": 0 })).await;
        assert_ne!(result.is_error, Some(true), "{result:?}");
        let outputs = result.structured_content.expect("structured outputs");
        assert_eq!(outputs["restoreStatus"], "restoring");
    }

    #[tokio::test]
    async fn without_polling_the_tool_reports_the_failing_step() {
        let result = call(json!({ "apiToken": "sim-token", "databaseId": "db_123" })).await;
        assert_eq!(result.is_error, Some(true));
        let text: String = result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect();
        assert!(text.contains("pollBackup"), "{text}");
    }
}

mod over_the_cli {
    use std::process::Command;

    use super::*;

    fn run(sim: &prisma_simulator::RunningSimulator, extra: &[&str]) -> std::process::Output {
        Command::new(capgen_tests::generated_binary())
            .args(["run", "backup-and-restore-database", "--input", "apiToken=sim-token", "--input", "databaseId=db_123"])
            .args(["--base-uri", &format!("postgres-management-database-backups={}", sim.base_uri())])
            .args(extra)
            .env("PRISMA_API_KEY", "sim-token")
            .output()
            .expect("the binary runs")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn run_polls_and_prints_the_outputs() {
        let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
        let output = tokio::task::block_in_place(|| run(&sim, &["--retry-unmatched", "5", "--retry-after", "0"]));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let outputs: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
        assert_eq!(outputs["restoreStatus"], "restoring");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn run_without_polling_exits_non_zero_naming_the_step() {
        let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
        let output = tokio::task::block_in_place(|| run(&sim, &[]));
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let error: Value = serde_json::from_str(stderr.trim().lines().last().unwrap_or_default()).expect("JSON error last");
        assert_eq!(error["error"]["step"], "pollBackup");
        assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("was not met")), "{error}");
    }
}
