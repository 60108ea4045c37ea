//! End to end over MCP: the checked-in generated crate's `mcp` server against the Prisma
//! simulator, driven by the rmcp client over Streamable HTTP (`mcp::router`) and over stdio
//! (in-process pipes, and a child process speaking on its stdin/stdout).

use std::time::Duration;

use prisma_postgres_backups::client::{Clients, postgres_management_database_backups as backups};
use prisma_postgres_backups::mcp;
use prisma_simulator::{RunningSimulator, SimulatorConfig};
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject, Tool};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ServiceExt, model::ErrorCode};
use serde_json::{Value, json};

const LIST: &str = "prisma-list-database-backups";
const CREATE: &str = "prisma-create-manual-database-backup";
const RESTORE: &str = "prisma-restore-database-backup";

type Client = RunningService<RoleClient, ()>;

fn clients(sim: &RunningSimulator) -> Clients {
    let config = capgen_runtime::ClientConfig::new(sim.base_uri())
        .with_auth(capgen_runtime::Auth::Bearer { token: capgen_runtime::Secret::from("sim-token") });
    Clients { postgres_management_database_backups: backups::Client::new(config).expect("client") }
}

/// Serves `mcp::router` on 127.0.0.1:0; returns its `/mcp` URL.
async fn serve_http(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}/mcp")
}

async fn http_client(url: &str) -> Client {
    ().serve(StreamableHttpClientTransport::from_uri(url.to_owned())).await.expect("MCP client connects")
}

fn args(value: Value) -> JsonObject {
    match value {
        Value::Object(object) => object,
        _ => JsonObject::new(),
    }
}

async fn call(client: &Client, tool: &str, arguments: Value) -> Result<CallToolResult, ServiceError> {
    client.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments))).await
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect::<Vec<_>>().join("\n")
}

fn structured(result: &CallToolResult) -> Value {
    result.structured_content.clone().unwrap_or(Value::Null)
}

fn tool<'a>(tools: &'a [Tool], name: &str) -> &'a Tool {
    tools.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("tool {name} listed"))
}

fn assert_tools(tools: &[Tool]) {
    // The spec's three tools, in spec order (tools derived from workflows may follow).
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names.get(..3), Some(&[LIST, CREATE, RESTORE][..]), "{names:?}");

    let list = tool(tools, LIST);
    assert_eq!(list.description.as_deref(), Some("Prisma List database backups"));
    assert_eq!(list.input_schema.get("type"), Some(&json!("object")));
    assert_eq!(list.input_schema.get("required"), Some(&json!(["databaseId"])));
    assert_eq!(list.input_schema["properties"]["databaseId"]["type"], json!("string"));
    let hints = list.annotations.as_ref().expect("annotations");
    assert_eq!((hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint), (Some(true), Some(false), Some(true)));

    let create = tool(tools, CREATE);
    assert_eq!(create.input_schema.get("required"), Some(&json!(["databaseId"])), "body is optional");
    assert_eq!(create.input_schema["properties"]["body"]["type"], json!("object"));
    let hints = create.annotations.as_ref().expect("annotations");
    assert_eq!((hints.read_only_hint, hints.idempotent_hint), (Some(false), Some(false)));

    let restore = tool(tools, RESTORE);
    assert_eq!(restore.input_schema.get("required"), Some(&json!(["databaseId", "backupId"])));
    assert_eq!(restore.input_schema["properties"]["backupId"]["type"], json!("string"));
}

/// Creates a backup, lists until it is completed, restores it.
async fn backup_and_restore(client: &Client) {
    let created = call(client, CREATE, json!({"databaseId": "db_123", "body": {"label": "mcp-e2e"}})).await.expect("create");
    assert_eq!(created.is_error, Some(false), "{}", text(&created));
    let backup = structured(&created);
    let id = backup["id"].as_str().expect("backup id").to_owned();
    assert_eq!(backup["status"], json!("pending"));
    // The text copy holds the same JSON.
    assert_eq!(serde_json::from_str::<Value>(&text(&created)).ok(), Some(backup.clone()));

    let mut status = String::new();
    for _ in 0..10 {
        let listed = call(client, LIST, json!({"databaseId": "db_123"})).await.expect("list");
        assert_eq!(listed.is_error, Some(false), "{}", text(&listed));
        let data = structured(&listed)["data"].as_array().cloned().unwrap_or_default();
        status = data.iter().find(|b| b["id"] == json!(id)).and_then(|b| b["status"].as_str()).unwrap_or_default().to_owned();
        if status == "completed" {
            break;
        }
    }
    assert_eq!(status, "completed");

    let restored = call(client, RESTORE, json!({"databaseId": "db_123", "backupId": id})).await.expect("restore");
    assert_eq!(restored.is_error, Some(false), "{}", text(&restored));
    assert_eq!(structured(&restored)["status"], json!("restoring"));
}

#[tokio::test]
async fn http_lists_tools_with_schemas_and_annotations() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let url = serve_http(mcp::router(clients(&sim))).await;
    let client = http_client(&url).await;

    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some(mcp::NAME));
    assert_eq!(info.instructions.as_deref(), mcp::INSTRUCTIONS);
    assert!(info.capabilities.tools.is_some());

    let tools = client.list_all_tools().await.expect("tools/list");
    assert_tools(&tools);
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn http_calls_create_list_restore() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let url = serve_http(mcp::router(clients(&sim))).await;
    let client = http_client(&url).await;
    backup_and_restore(&client).await;
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn http_upstream_failures_are_tool_errors() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let url = serve_http(mcp::router(clients(&sim))).await;
    let client = http_client(&url).await;

    // Unknown database: the simulator answers 404.
    let missing = call(&client, LIST, json!({"databaseId": "db_missing"})).await.expect("a tool result, not a protocol error");
    assert_eq!(missing.is_error, Some(true));
    let message = text(&missing);
    assert!(message.contains("404"), "{message}");
    assert!(message.contains("not_found"), "upstream error body shown: {message}");
    assert_eq!(structured(&missing)["error"]["status"], json!(404));

    // Restoring a backup that is not completed: 409 with the upstream message.
    let conflict = call(&client, RESTORE, json!({"databaseId": "db_123", "backupId": "bkp_nope"})).await.expect("result");
    assert_eq!(conflict.is_error, Some(true));
    assert!(text(&conflict).contains("HTTP 404") || text(&conflict).contains("HTTP 409"), "{}", text(&conflict));

    // Upstream 500 (fault injection).
    sim.set_faults(prisma_simulator::Faults { fail_next: 1, ..Default::default() });
    let failed = call(&client, LIST, json!({"databaseId": "db_123"})).await.expect("result");
    assert_eq!(failed.is_error, Some(true));
    assert!(text(&failed).contains("500"), "{}", text(&failed));

    // Invalid arguments: a tool error that names the problem.
    let invalid = call(&client, LIST, json!({})).await.expect("result");
    assert_eq!(invalid.is_error, Some(true));
    assert!(text(&invalid).contains("databaseId"), "{}", text(&invalid));
    let wrong_type = call(&client, LIST, json!({"databaseId": 7})).await.expect("result");
    assert_eq!(wrong_type.is_error, Some(true));

    // Unknown tool: a JSON-RPC error.
    match call(&client, "no-such-tool", json!({})).await {
        Err(ServiceError::McpError(error)) => {
            assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
            assert!(error.message.contains("no-such-tool"), "{}", error.message);
        }
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }

    // The connection still works afterwards.
    let listed = call(&client, LIST, json!({"databaseId": "db_123"})).await.expect("list");
    assert_eq!(listed.is_error, Some(false));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn http_upstream_down_is_a_tool_error() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let clients = clients(&sim);
    sim.shutdown().await;
    let url = serve_http(mcp::router(clients)).await;
    let client = http_client(&url).await;
    let result = call(&client, LIST, json!({"databaseId": "db_123"})).await.expect("result");
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("listdatabasebackups"), "{}", text(&result));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn http_rejects_foreign_host_and_origin() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let url = serve_http(mcp::router(clients(&sim))).await;
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
    });
    let http = reqwest::Client::new();
    let post = |host: Option<&str>, origin: Option<&str>| {
        let mut request = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(initialize.to_string());
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    assert_eq!(post(None, None).await.expect("send").status(), 200);
    assert_eq!(post(Some("evil.example"), None).await.expect("send").status(), 403);
    assert_eq!(post(None, Some("http://evil.example")).await.expect("send").status(), 403);
    assert_eq!(post(Some("localhost"), Some("http://localhost:3000")).await.expect("send").status(), 200);
}

#[tokio::test]
async fn in_process_stdio_transport_lists_and_calls() {
    // The same byte-stream transport `serve_stdio` runs on stdin/stdout, over in-memory pipes.
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = rmcp::serve_server(mcp::Server::new(clients(&sim)), server_io).await.expect("server starts");
        let _ = running.waiting().await;
    });
    let client = ().serve(client_io).await.expect("client connects");
    assert_tools(&client.list_all_tools().await.expect("tools/list"));
    backup_and_restore(&client).await;
    client.cancel().await.expect("close");
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
}

/// The generated crate's binary, `prisma-postgres-backups mcp-stdio`, as an MCP client launches it.
#[tokio::test]
async fn generated_binary_mcp_stdio_lists_and_calls() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let mut command = tokio::process::Command::new(capgen_tests::generated_binary());
    command
        .arg("mcp-stdio")
        .env(backups::BASE_URI_ENV, sim.base_uri())
        .env("PRISMA_API_KEY", "sim-token")
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null());
    let transport = rmcp::transport::TokioChildProcess::new(command).expect("spawn server");
    let client = ().serve(transport).await.expect("client connects");
    assert_eq!(client.peer_info().and_then(|i| i.server_info.clone()).map(|i| i.name), Some(mcp::NAME.to_owned()));
    assert_tools(&client.list_all_tools().await.expect("tools/list"));
    backup_and_restore(&client).await;
    let missing = call(&client, LIST, json!({"databaseId": "db_missing"})).await.expect("result");
    assert_eq!(missing.is_error, Some(true));
    assert!(text(&missing).contains("404"));
    client.cancel().await.expect("close");
}

/// Tutorial step 3: an MCP adapter with bearer `authentication`, its token bound from
/// `shared/secrets.yaml` (compiled into this crate's `corpus` module by `build.rs`).
mod shipyard {
    pub use capgen_tests::corpus::step_3_shipyard_auth::{client, mcp};
}

fn shipyard_clients() -> shipyard::client::Clients {
    // Never called: the upstream is not needed to authenticate.
    let config = capgen_runtime::ClientConfig::new("http://127.0.0.1:9/unused");
    shipyard::client::Clients { registry: shipyard::client::registry::Client::new(config).expect("client") }
}

fn tutorial_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/naftiko-framework-alpha2/tutorial")
}

async fn post_initialize(url: &str, authorization: Option<&str>) -> reqwest::Response {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
    });
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    request.send().await.expect("send")
}

#[tokio::test]
async fn http_inbound_bearer_auth() {
    // The bind file's location is relative to the working directory (`file:///./shared/…`).
    let (router, token) = {
        let previous = std::env::current_dir().expect("cwd");
        std::env::set_current_dir(tutorial_dir()).expect("cd tutorial");
        let router = shipyard::mcp::try_router(shipyard_clients());
        let token = capgen_runtime::binds::file_key("file:///./shared/secrets.yaml", "mcp-server-token");
        std::env::set_current_dir(previous).expect("cd back");
        (router.expect("credentials resolve"), token.expect("token"))
    };
    let url = serve_http(router).await;

    let anonymous = post_initialize(&url, None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    let body = anonymous.text().await.unwrap_or_default();
    assert!(!body.contains(token.expose()), "the token is never echoed");
    assert_eq!(post_initialize(&url, Some("Bearer wrong-token")).await.status(), 401);
    assert_eq!(post_initialize(&url, Some(&format!("Basic {}", token.expose()))).await.status(), 401);
    assert_eq!(post_initialize(&url, Some(&format!("Bearer {}", token.expose()))).await.status(), 200);

    // An rmcp client sending the token lists the tutorial's tools.
    let config = rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url.clone())
        .auth_header(token.expose().to_owned());
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("client connects");
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["list-ships", "get-ship"]);
    assert_eq!(tool(&tools, "get-ship").input_schema.get("required"), Some(&json!(["imo"])));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn http_missing_inbound_credentials_fail_closed() {
    // From the crate directory the bind file does not resolve: every request is a 500 that names
    // the file, never a server without authentication.
    let url = serve_http(shipyard::mcp::router(shipyard_clients())).await;
    let response = post_initialize(&url, Some("Bearer anything")).await;
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap_or_default();
    assert!(body.contains("secrets.yaml"), "{body}");
}

/// Sessions beyond the limit are refused with a 503 that says why; idle sessions expire and
/// free their place (and memory).
#[tokio::test]
async fn http_sessions_are_capped_and_idle_ones_expire() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let options = capgen_runtime::mcp::HttpOptions {
        max_sessions: 1,
        session_idle: Duration::from_millis(300),
        ..capgen_runtime::mcp::HttpOptions::default()
    };
    let url = serve_http(capgen_runtime::mcp::http_router(mcp::Server::new(clients(&sim)), None, options)).await;

    let first = post_initialize(&url, None).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().contains_key("mcp-session-id"));
    let refused = post_initialize(&url, None).await;
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "too_many_sessions", "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("CAPGEN_MCP_MAX_SESSIONS")), "{body}");

    // The first session, left idle, expires; its place is free again.
    let mut accepted = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if post_initialize(&url, None).await.status() == 200 {
            accepted = true;
            break;
        }
    }
    assert!(accepted, "the idle session never expired");
}
