//! A recognisable token must never leak: every path of the generated Prisma crate (typed client,
//! operations, REST routes, MCP tools, the compiled workflow and its trace) runs with
//! `tok-SECRET-7f3a` as `PRISMA_API_KEY`, client auth and the workflow's `apiToken`, against the
//! simulator, both accepted and rejected, while every `tracing` event at TRACE level (ours and the
//! dependencies') is captured. The token must not appear in the logs, in any error (`Display`,
//! `Debug`, body), in any response body, in the workflow trace, or in the `Debug` output of
//! clients, configurations, inputs, arguments and outputs.

use std::sync::{Arc, Mutex, OnceLock};

use capgen_runtime::workflow::RunOptions;
use capgen_runtime::{Auth, ClientConfig, Secret};
use prisma_postgres_backups::client::{Clients, postgres_management_database_backups::Client};
use prisma_postgres_backups::operations;
use prisma_postgres_backups::workflows::{BackupAndRestoreDatabaseInputs, backup_and_restore_database_traced};
use prisma_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::{Value, json};

const TOKEN: &str = "tok-SECRET-7f3a";
/// A fragment of the token, so a truncated or re-encoded leak is caught too.
const FRAGMENT: &str = "SECRET-7f3a";

/// Everything every test's tracing events wrote (one global subscriber, TRACE level, through the
/// generated servers' own log filter).
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let buffer = buffer.clone();
            move || Capture(buffer.clone())
        };
        tracing_subscriber::fmt()
            .with_env_filter(capgen_runtime::server::log_filter("trace"))
            .with_ansi(false)
            .with_writer(writer)
            .try_init()
            .expect("no other subscriber in this test binary");
        buffer
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Fails naming `what` when `text` holds the token.
#[track_caller]
fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(TOKEN) && !text.contains(FRAGMENT), "the token leaked into {what}:\n{text}");
}

#[track_caller]
fn assert_logs_clean() {
    assert_clean("the tracing output", &captured());
}

/// The simulator, expecting `token`.
async fn simulator(token: &str) -> RunningSimulator {
    prisma_simulator::start(SimulatorConfig { token: token.to_string(), ..SimulatorConfig::default() }).await.expect("simulator")
}

fn config(sim: &RunningSimulator) -> ClientConfig {
    ClientConfig::new(sim.base_uri()).with_auth(Auth::Bearer { token: Secret::from(TOKEN) })
}

fn clients(sim: &RunningSimulator) -> Clients {
    Clients { postgres_management_database_backups: Client::new(config(sim)).expect("client") }
}

fn workflow_inputs() -> BackupAndRestoreDatabaseInputs {
    BackupAndRestoreDatabaseInputs {
        api_token: TOKEN.to_string(),
        database_id: "db_123".to_string(),
        backup_label: Some("secrets-test".to_string()),
    }
}

async fn serve(router: capgen_runtime::axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { capgen_runtime::axum::serve(listener, router).await });
    format!("http://{addr}")
}

#[test]
fn debug_of_configs_clients_inputs_and_args_hides_the_token() {
    logs();
    let config = ClientConfig::new("http://127.0.0.1:9").with_auth(Auth::Bearer { token: Secret::from(TOKEN) });
    assert_clean("ClientConfig Debug", &format!("{config:?}"));
    assert_clean("Auth Debug", &format!("{:?}", config.auth));
    let client = Client::new(config).expect("client");
    assert_clean("Client Debug", &format!("{client:?}"));
    let clients = Clients { postgres_management_database_backups: client };
    assert_clean("Clients Debug", &format!("{clients:?}"));
    for auth in [
        Auth::Basic { username: "user".into(), password: Secret::from(TOKEN) },
        Auth::ApiKey { name: "X-Key".into(), value: Secret::from(TOKEN), location: capgen_runtime::ApiKeyLocation::Header },
    ] {
        assert_clean("Auth Debug", &format!("{auth:?}"));
    }
    assert_clean("Secret Debug and Display", &format!("{:?} {}", Secret::from(TOKEN), Secret::from(TOKEN)));
    assert_clean("workflow inputs Debug", &format!("{:?}", workflow_inputs()));
    let args = operations::RunBackupAndRestoreDatabaseArgs { inputs: workflow_inputs(), retry_unmatched: Some(2), retry_after_seconds: None };
    assert_clean("workflow operation args Debug", &format!("{args:?}"));
}

/// `PRISMA_API_KEY` is read through the capability's binds; the configuration built from it
/// does not show it.
#[test]
fn the_environment_token_is_not_shown() {
    logs();
    // SAFETY: this test binary sets this variable only here, and nothing reads it concurrently
    // except `config_from_env` below.
    unsafe { std::env::set_var("PRISMA_API_KEY", TOKEN) };
    let config = Client::config_from_env().expect("the bind resolves");
    assert_clean("config_from_env Debug", &format!("{config:?}"));
    let client = Client::new(config).expect("client");
    assert_clean("Client::from_env Debug", &format!("{client:?}"));
    assert_logs_clean();
}

#[tokio::test]
async fn client_calls_accepted_and_rejected() {
    logs();
    let sim = simulator(TOKEN).await;
    let client = Client::new(config(&sim)).expect("client");
    let created = client.create_database_backup("db_123", None).await.expect("created");
    assert_clean("a created backup", &format!("{created:?}"));
    let listed = client.list_database_backups("db_123").await.expect("listed");
    assert_clean("a backup list", &format!("{listed:?}"));
    let error = client.list_database_backups("db_missing").await.expect_err("404");
    assert_eq!(error.status(), Some(404));
    assert_clean("a 404 error", &format!("{error} {error:?}"));

    // The upstream rejects the token: the 401 error names the status, never the token.
    let other = simulator("a-different-token").await;
    let client = Client::new(config(&other)).expect("client");
    let error = client.list_database_backups("db_123").await.expect_err("401");
    assert_eq!(error.status(), Some(401));
    assert_clean("a 401 error", &format!("{error} {error:?} {:?}", error.body_as::<Value>()));

    // Unreachable upstream: the transport error does not carry the request headers.
    let down = Client::new(ClientConfig::new("http://127.0.0.1:9/v1").with_auth(Auth::Bearer { token: Secret::from(TOKEN) }))
        .expect("client");
    let error = down.list_database_backups("db_123").await.expect_err("connection refused");
    assert_clean("a transport error", &format!("{error} {error:?}"));
    assert!(captured().contains("upstream call"), "the capture works: client calls are logged");
    assert_logs_clean();
}

#[tokio::test]
async fn rest_routes_accepted_and_rejected() {
    logs();
    for expected in [TOKEN, "a-different-token"] {
        let sim = simulator(expected).await;
        let base = serve(prisma_postgres_backups::rest::router(clients(&sim)).expect("router")).await;
        let http = reqwest::Client::new();
        let mut bodies = Vec::new();
        for (method, path, body) in [
            ("GET", "/v1/databases/db_123/backups", None),
            ("POST", "/v1/databases/db_123/backups", Some(json!({}))),
            ("GET", "/v1/databases/db_missing/backups", None),
            ("POST", "/v1/databases/db_123/backups/bkp_1/restore", None),
            ("POST", "/workflows/backup-and-restore-database", Some(json!({ "apiToken": TOKEN, "databaseId": "db_123", "retryUnmatched": 3, "retryAfterSeconds": 0 }))),
            ("POST", "/workflows/backup-and-restore-database", Some(json!({ "apiToken": TOKEN, "databaseId": "db_missing" }))),
            ("POST", "/workflows/backup-and-restore-database", Some(json!({ "apiToken": TOKEN }))),
        ] {
            let mut request = http.request(method.parse().expect("method"), format!("{base}{path}"));
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("the server answers");
            let status = response.status();
            let headers = format!("{:?}", response.headers());
            let text = response.text().await.expect("a body");
            assert_clean(&format!("{method} {path} headers"), &headers);
            assert_clean(&format!("{method} {path} ({status}) body"), &text);
            bodies.push(status.as_u16());
        }
        if expected == TOKEN {
            assert_eq!(bodies[0], 200, "an accepted call succeeds");
        } else {
            assert!(bodies.iter().all(|s| *s >= 400), "every call fails upstream: {bodies:?}");
        }
    }
    assert_logs_clean();
}

#[tokio::test]
async fn mcp_tools_accepted_and_rejected() {
    exercise_mcp().await;
    assert_logs_clean();
}

/// Every MCP tool, accepted and rejected upstream, over Streamable HTTP; checks each result.
async fn exercise_mcp() {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::StreamableHttpClientTransport;

    logs();
    for expected in [TOKEN, "a-different-token"] {
        let sim = simulator(expected).await;
        let base = serve(prisma_postgres_backups::mcp::router(clients(&sim))).await;
        let client = ().serve(StreamableHttpClientTransport::from_uri(format!("{base}/mcp"))).await.expect("MCP client connects");
        for (tool, arguments) in [
            ("prisma-list-database-backups", json!({ "databaseId": "db_123" })),
            ("prisma-create-manual-database-backup", json!({ "databaseId": "db_123" })),
            ("prisma-list-database-backups", json!({ "databaseId": "db_missing" })),
            ("prisma-restore-database-backup", json!({ "databaseId": "db_123", "backupId": "bkp_1" })),
            ("backup-and-restore-database", json!({ "apiToken": TOKEN, "databaseId": "db_123", "retryUnmatched": 3, "retryAfterSeconds": 0 })),
            ("backup-and-restore-database", json!({ "apiToken": TOKEN, "databaseId": "db_missing" })),
            ("backup-and-restore-database", json!({ "apiToken": 42 })),
            ("no-such-tool", json!({})),
        ] {
            let Value::Object(arguments) = arguments else { unreachable!("objects above") };
            let result = client.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments)).await;
            let shown = match &result {
                Ok(result) => format!("{result:?} {}", serde_json::to_string(result).unwrap_or_default()),
                Err(error) => format!("{error} {error:?}"),
            };
            assert_clean(&format!("MCP tool `{tool}` result"), &shown);
        }
        let _ = client.cancel().await;
    }
}

#[tokio::test]
async fn the_workflow_and_its_trace() {
    logs();
    let polling = RunOptions::default().with_retry_unmatched(3, std::time::Duration::from_millis(1));
    // The workflow sends its own `Authorization` (from `apiToken`), which wins over client auth.
    for (i, (expected, options)) in [(TOKEN, &polling), (TOKEN, &RunOptions::default()), ("a-different-token", &polling)].into_iter().enumerate() {
        let sim = simulator(expected).await;
        let run = backup_and_restore_database_traced(&clients(&sim), &workflow_inputs(), options).await;
        assert_eq!(run.result.is_ok(), i == 0, "only the polling run with the right token completes: {:?}", run.result);
        assert_clean("the workflow trace", &format!("{:?}", run.trace));
        match &run.result {
            Ok(outputs) => assert_clean("the workflow outputs", &format!("{outputs:?}")),
            Err(error) => assert_clean("the workflow error", &format!("{error} {error:?}")),
        }
        let args = operations::RunBackupAndRestoreDatabaseArgs { inputs: workflow_inputs(), retry_unmatched: Some(3), retry_after_seconds: Some(0.0) };
        match operations::run_backup_and_restore_database(&clients(&sim), args).await {
            Ok(outputs) => assert_clean("the workflow operation's outputs", &outputs.to_string()),
            Err(error) => assert_clean("the workflow operation's error", &format!("{error} {error:?} {:?}", error.body_as::<Value>())),
        }
    }
    assert_logs_clean();
}

/// rmcp logs whole JSON-RPC messages (a workflow tool's `apiToken` argument) below `info`; the
/// servers' log filter keeps `rmcp::service` at `info` even when everything else is at TRACE.
#[tokio::test]
async fn rmcp_service_logs_do_not_carry_tool_arguments() {
    exercise_mcp().await;
    assert_clean("rmcp's service logs", &captured());
}
