//! The generated REST adapter end to end: the checked-in `prisma-postgres-backups` crate's
//! router in front of the Prisma simulator, driven over HTTP with reqwest — every exposed
//! operation, every error mapping, inbound auth (a fixture capability), Host/Origin checks,
//! `/openapi.json` and `/healthz` — and the crate's binary (`serve`, missing secrets, SIGTERM).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use capgen_runtime::server::{RestConfig, serve_listener};
use capgen_runtime::{Auth, ClientConfig};
use prisma_postgres_backups::client::{Clients, postgres_management_database_backups::Client};
use prisma_postgres_backups::rest;
use prisma_simulator::{Faults, RunningSimulator, SimulatorConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod fixture {
    capgen_macros::include_capability!("fixtures/rest-bearer-auth.yaml");
}

/// Serves `app` on 127.0.0.1:0 in the background; returns `http://127.0.0.1:PORT`.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve_listener(listener, app, std::future::pending()));
    format!("http://{addr}")
}

fn clients(base_uri: &str, token: &str, timeout: Duration) -> Clients {
    let config = ClientConfig::new(base_uri).with_auth(Auth::bearer(token)).with_timeout(timeout);
    Clients { postgres_management_database_backups: Client::new(config).expect("client") }
}

/// The simulator and the generated REST server in front of it.
struct Stack {
    sim: RunningSimulator,
    url: String,
    http: reqwest::Client,
}

async fn stack() -> Stack {
    stack_with("sim-token", Duration::from_secs(10)).await
}

async fn stack_with(token: &str, timeout: Duration) -> Stack {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let app = rest::router_with(clients(&sim.base_uri(), token, timeout), &RestConfig::default());
    let url = serve(app).await;
    Stack { sim, url, http: reqwest::Client::new() }
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

impl Stack {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        json_of(self.http.get(format!("{}{path}", self.url)).send().await.expect("send")).await
    }

    async fn post(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let request = self.http.post(format!("{}{path}", self.url)).header("content-type", "application/json").body(body.to_owned());
        json_of(request.send().await.expect("send")).await
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"))
}

#[tokio::test]
async fn lists_creates_polls_and_restores_through_rest() {
    let s = stack().await;
    let (status, listed) = s.get("/v1/databases/db_123/backups").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["data"][0]["id"], "bkp_1");

    // No output shaping: the upstream's `202 Accepted` (still running) passes through.
    let (status, created) = s.post("/v1/databases/db_123/backups", r#"{"label":"nightly"}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["status"], "pending");
    let id = created["id"].as_str().expect("id").to_owned();

    // Poll the list until the new backup completes (the simulator needs two polls).
    let mut completed = false;
    for _ in 0..5 {
        let (_, listed) = s.get("/v1/databases/db_123/backups").await;
        let backup = listed["data"].as_array().expect("data").iter().find(|b| b["id"] == id.as_str()).cloned().expect("listed");
        if backup["status"] == "completed" {
            completed = true;
            break;
        }
    }
    assert!(completed, "backup {id} never completed");

    let (status, restored) = s.post(&format!("/v1/databases/db_123/backups/{id}/restore"), "").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{restored}");
    assert_eq!(restored["status"], "restoring");
    // A create without a body is fine too (the body is optional).
    let (status, _) = s.post("/v1/databases/db_456/backups", "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn malformed_json_is_400_and_wrong_types_are_422_naming_the_field() {
    let s = stack().await;
    let (status, body) = s.post("/v1/databases/db_123/backups", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "bad_request");

    let (status, body) = s.post("/v1/databases/db_123/backups", r#"{"label": 5}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "invalid_argument");
    assert_eq!(body["error"]["field"], "body.label");
    assert_eq!(s.sim.stats().create_backup, 0, "nothing reached the upstream");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_as_json() {
    let s = stack().await;
    let (status, body) = s.get("/v1/nothing/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");

    let response = s.http.delete(format!("{}/v1/databases/db_123/backups", s.url)).send().await.expect("send");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&body), "method_not_allowed");
    let (status, _) = s.get("/v1/databases/db_123/backups/bkp_1/restore").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn upstream_4xx_passes_status_and_body_through() {
    let s = stack().await;
    let (status, body) = s.get("/v1/databases/db_missing/backups").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    assert!(body["error"]["message"].as_str().unwrap_or_default().to_lowercase().contains("database"), "{body}");

    // Restoring a backup that is not completed: the simulator's 409.
    let (_, created) = s.post("/v1/databases/db_123/backups", "{}").await;
    let id = created["id"].as_str().expect("id");
    let (status, body) = s.post(&format!("/v1/databases/db_123/backups/{id}/restore"), "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "conflict");

    // Rate limiting keeps its Retry-After.
    s.sim.set_faults(Faults { rate_limit_next: 1, retry_after_secs: 7, ..Faults::default() });
    let response = s.http.get(format!("{}/v1/databases/db_123/backups", s.url)).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
}

#[tokio::test]
async fn upstream_401_passes_through() {
    let s = stack_with("wrong-token", Duration::from_secs(10)).await;
    let (status, body) = s.get("/v1/databases/db_123/backups").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "unauthorized");
    assert!(!body.to_string().contains("wrong-token"), "the credential never shows: {body}");
}

// Upstream 5xx, timeouts, dropped connections and oversized bodies: tests/tests/faults.rs.

#[tokio::test]
async fn foreign_hosts_and_origins_are_rejected() {
    let s = stack().await;
    let url = format!("{}/v1/databases/db_123/backups", s.url);
    let (status, body) = json_of(s.http.get(&url).header("host", "evil.example").send().await.expect("send")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "forbidden_host");

    let (status, body) = json_of(s.http.get(&url).header("origin", "http://evil.example").send().await.expect("send")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "forbidden_origin");

    let ok = s.http.get(&url).header("host", "localhost:8080").header("origin", "http://localhost:3000").send().await.expect("send");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(s.sim.stats().list_backups, 1, "rejected requests never reach the upstream");

    // Configurable: allow another name.
    let config = RestConfig::default().with_allowed_hosts(capgen_runtime::server::AllowedHosts::loopback().with("api.internal"));
    let url = serve(rest::router_with(clients(&s.sim.base_uri(), "sim-token", Duration::from_secs(5)), &config)).await;
    let ok = s.http.get(format!("{url}/healthz")).header("host", "api.internal:80").send().await.expect("send");
    assert_eq!(ok.status(), StatusCode::OK);
}

/// An unshaped operation answers with the upstream's bytes and content type, not a re-encoding.
#[tokio::test]
async fn unshaped_operations_pass_the_upstream_body_through() {
    let s = stack().await;
    let upstream = s.http.get(format!("{}/databases/db_123/backups", s.sim.base_uri())).bearer_auth("sim-token").send().await.expect("send");
    let upstream_type = upstream.headers()["content-type"].clone();
    let upstream_body = upstream.bytes().await.expect("body");
    let through = s.http.get(format!("{}/v1/databases/db_123/backups", s.url)).send().await.expect("send");
    assert_eq!(through.status(), StatusCode::OK);
    assert_eq!(through.headers()["content-type"], upstream_type);
    assert_eq!(through.bytes().await.expect("body"), upstream_body);
}

#[tokio::test]
async fn serves_openapi_json_and_healthz() {
    let s = stack().await;
    let (status, health) = s.get("/healthz").await;
    assert_eq!((status, health), (StatusCode::OK, json!({ "status": "ok" })));

    let response = s.http.get(format!("{}/openapi.json", s.url)).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = response.text().await.expect("body");
    let on_disk = std::fs::read_to_string(workspace().join("generated/prisma-postgres-backups/openapi.json")).expect("openapi.json");
    assert_eq!(served, on_disk);
    let doc: Value = serde_json::from_str(&served).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let list = &doc["paths"]["/v1/databases/{databaseid}/backups"]["get"];
    assert_eq!(list["operationId"], "listDatabaseBackups");
    assert_eq!(list["parameters"][0]["in"], "path");
    assert!(doc["paths"]["/v1/databases/{databaseid}/backups"]["post"]["requestBody"].is_object());
    assert!(doc["components"]["schemas"]["Error"].is_object());
}

#[tokio::test]
async fn inbound_bearer_auth_guards_the_routes_not_healthz() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    // The only test in this binary that touches the environment.
    unsafe { std::env::set_var("REST_FIXTURE_TOKEN", "inbound-secret") };
    let config = fixture::rest::config_from_env().expect("token bound from the environment");
    let client_config = ClientConfig::new(sim.base_uri()).with_auth(Auth::bearer("sim-token"));
    let clients = fixture::client::Clients { backups: fixture::client::backups::Client::new(client_config).expect("client") };
    let url = serve(fixture::rest::router_with(clients, &config)).await;
    let http = reqwest::Client::new();
    let path = format!("{url}/databases/db_123/backups");

    let (status, body) = json_of(http.get(&path).send().await.expect("send")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "unauthorized");
    let response = http.get(&path).bearer_auth("wrong").send().await.expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert!(!response.text().await.expect("body").contains("inbound-secret"));

    let (status, body) = json_of(http.get(&path).bearer_auth("inbound-secret").send().await.expect("send")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0]["id"], "bkp_1");

    // Query arguments are coerced to their declared type.
    let bad = http.get(format!("{path}?limit=many")).bearer_auth("inbound-secret").send().await.expect("send");
    let (status, body) = json_of(bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "limit");

    // Health and unknown routes need no credentials.
    assert_eq!(http.get(format!("{url}/healthz")).send().await.expect("send").status(), StatusCode::OK);
    assert_eq!(http.get(format!("{url}/nope")).send().await.expect("send").status(), StatusCode::NOT_FOUND);
    let doc: Value = serde_json::from_str(fixture::rest::OPENAPI_JSON).expect("JSON");
    assert_eq!(doc["components"]["securitySchemes"]["inboundAuth"]["scheme"], "bearer");
}

// ---------------------------------------------------------------------------------------------
// The binary

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

fn binary() -> PathBuf {
    capgen_tests::generated_binary()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Kills the child if a test fails before it exits.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_without_the_api_key_exits_naming_the_variable() {
    let output = Command::new(binary())
        .args(["call", "listdatabasebackups", "--arg", "databaseid=db_123"])
        .env_remove("PRISMA_API_KEY")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PRISMA_API_KEY"), "{stderr}");
    let error: Value = serde_json::from_str(stderr.trim().lines().last().unwrap_or_default()).expect("JSON error");
    assert_eq!(error["error"]["code"], "configuration_error");
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_call_prints_json() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let base = format!("postgres-management-database-backups={}", sim.base_uri());
    let run = |args: &[&str]| {
        Command::new(binary())
            .args(["--base-uri", &base])
            .args(args)
            .env("PRISMA_API_KEY", "sim-token")
            .env("RUST_LOG", "off")
            .output()
            .expect("runs")
    };
    let output = tokio::task::block_in_place(|| run(&["call", "listdatabasebackups", "--arg", "databaseid=db_123"]));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listed: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(listed["data"][0]["id"], "bkp_1");

    // A consumed operation by `<namespace>.<operation>`.
    let output = tokio::task::block_in_place(|| {
        run(&["call", "postgres-management-database-backups.listdatabasebackups", "--arg", "databaseId=db_123"])
    });
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let output = tokio::task::block_in_place(|| run(&["call", "listdatabasebackups", "--arg", "databaseid=db_missing"]));
    assert!(!output.status.success());
    let error: Value = serde_json::from_slice(&output.stderr).expect("JSON error");
    assert_eq!(error["error"]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_serves_rest_and_stops_on_sigterm() {
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("simulator");
    let (rest_port, mcp_port) = (free_port(), free_port());
    let child = Command::new(binary())
        .args(["serve", "--rest-port", &rest_port.to_string(), "--mcp-port", &mcp_port.to_string(), "--log-format", "json"])
        .args(["--base-uri", &format!("postgres-management-database-backups={}", sim.base_uri())])
        .env("PRISMA_API_KEY", "sim-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut guard = Guard(child);
    let http = reqwest::Client::new();
    let rest = SocketAddr::from(([127, 0, 0, 1], rest_port));
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("http://{rest}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server never answered /healthz");
    let mcp_health = http.get(format!("http://127.0.0.1:{mcp_port}/healthz")).send().await.expect("mcp port");
    assert_eq!(mcp_health.status(), StatusCode::OK);
    let (status, listed) = json_of(http.get(format!("http://{rest}/v1/databases/db_123/backups")).send().await.expect("send")).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["data"][0]["id"], "bkp_1");

    // SIGTERM: a graceful, successful exit.
    let pid = guard.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(killed.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = guard.0.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = exited.expect("the server exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
    let mut logs = String::new();
    std::io::Read::read_to_string(guard.0.stderr.as_mut().expect("stderr"), &mut logs).expect("logs");
    assert!(logs.contains("\"listening\"") || logs.contains("listening"), "{logs}");
    assert!(!logs.contains("sim-token"), "logs never contain the secret");
}
