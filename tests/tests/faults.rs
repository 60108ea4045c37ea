//! Fault injection end to end, table-driven: every fault the simulator's knobs can inject
//! (upstream 500, 429 with `Retry-After`, a timeout, a slow answer within the timeout, a
//! dropped connection, a reset connection, a malformed JSON body, a body over the client's
//! size limit, a large body within it) plus an oversized inbound request body, each driven
//! through every path of the checked-in generated crate (`generated/prisma-postgres-backups`):
//!
//! - **rest**: the generated axum router on a real socket, called with reqwest: one exposed
//!   operation (`GET /v1/databases/db_123/backups`) and the exposed workflow
//!   (`POST /workflows/backup-and-restore-database`, fault at `pollBackup`);
//! - **mcp**: the generated MCP server over Streamable HTTP, called with the rmcp client: the
//!   tool `prisma-list-database-backups` and the workflow tool (fault at `pollBackup`);
//! - **workflow**: the compiled `workflows::backup_and_restore_database_traced`, with the fault
//!   aimed (`Faults::route`) at each of its three steps in turn.
//!
//! Each row of [`faults!`] says what every path must answer (status, error code and fields,
//! message, `Retry-After`; tool error kind and fields; `WorkflowError` variant, failing step,
//! upstream status and trace). After each faulted call the test checks the simulator really
//! injected the fault (its counters), resets the knobs and checks that the *same* server (or,
//! for the workflow, the same clients) serves a healthy request, and at the end that nothing
//! panicked on the test's runtime (the servers run on it).
//!
//! The generated clients get a short timeout ([`TIMEOUT`]) and a small response limit
//! ([`RESPONSE_LIMIT`]), so the whole suite runs in seconds.

use std::future::Future;
use std::sync::{Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use capgen_runtime::server::{RestConfig, serve_listener};
use capgen_runtime::workflow::{Outcome, RunOptions, TraceEntry, WorkflowError};
use capgen_runtime::{Auth, ClientConfig, Error};
use prisma_postgres_backups::client::{Clients, postgres_management_database_backups::Client};
use prisma_postgres_backups::workflows::{BackupAndRestoreDatabaseInputs, backup_and_restore_database_traced};
use prisma_postgres_backups::{mcp, rest};
use prisma_simulator::{ApiRoute, Faults, RunningSimulator, SimulatorConfig, Stats};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

/// Request timeout of the generated clients.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Latency of the slow-but-successful fault: well within [`TIMEOUT`].
const SLOW_MS: u64 = 200;
/// Latency of the timeout fault: far beyond [`TIMEOUT`].
const STALL_MS: u64 = 5_000;
/// Largest upstream response body the generated clients read.
const RESPONSE_LIMIT: usize = 64 * 1024;
/// `Retry-After` of the simulated 429.
const RETRY_AFTER_SECS: u64 = 7;
/// Bound on any single call the test makes, so a hang fails instead of stalling the suite.
const CALL_BOUND: Duration = Duration::from_secs(20);

const WORKFLOW: &str = "backup-and-restore-database";
const LIST_TOOL: &str = "prisma-list-database-backups";

// ---------------------------------------------------------------------------------------------
// The faults and what each path must answer

/// A fault, injected through the simulator's knobs on one route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// `fail_next`: the upstream answers 500 with its error body.
    Upstream500,
    /// `rate_limit_next`: 429 with `Retry-After: 7` and the upstream's error body.
    RateLimited,
    /// `latency_ms` far beyond the client timeout.
    Timeout,
    /// `latency_ms` within the client timeout: everything must still succeed.
    Slow,
    /// `drop_next`: the connection is closed (FIN) without a response byte.
    Dropped,
    /// `reset_next`: the connection is reset (RST) without a response byte.
    Reset,
    /// `malformed_next`: a 2xx answer whose `application/json` body is cut in half.
    MalformedJson,
    /// `oversized_next`: a 2xx answer with a valid JSON body twice the client's limit.
    OversizedBody,
    /// `oversized_next`: a valid JSON body of half the client's limit: must succeed.
    LargeBodyWithinLimit,
    /// No upstream fault: the caller sends a body over the server's limit.
    OversizedRequest,
}

impl Fault {
    /// The knobs that inject this fault on `route` only.
    fn knobs(self, route: ApiRoute) -> Faults {
        let faults = Faults { route: Some(route), ..Faults::default() };
        match self {
            Fault::Upstream500 => Faults { fail_next: 1, ..faults },
            Fault::RateLimited => Faults { rate_limit_next: 1, retry_after_secs: RETRY_AFTER_SECS, ..faults },
            Fault::Timeout => Faults { latency_ms: STALL_MS, ..faults },
            Fault::Slow => Faults { latency_ms: SLOW_MS, ..faults },
            Fault::Dropped => Faults { drop_next: 1, ..faults },
            Fault::Reset => Faults { reset_next: 1, ..faults },
            Fault::MalformedJson => Faults { malformed_next: 1, ..faults },
            Fault::OversizedBody => Faults { oversized_next: 1, oversized_bytes: 2 * RESPONSE_LIMIT, ..faults },
            Fault::LargeBodyWithinLimit => Faults { oversized_next: 1, oversized_bytes: RESPONSE_LIMIT / 2, ..faults },
            Fault::OversizedRequest => panic!("{self:?} is not an upstream fault"),
        }
    }

    /// The simulator's counter of this fault.
    fn injected(self, stats: &Stats) -> u64 {
        let i = &stats.injected;
        match self {
            Fault::Upstream500 => i.failed,
            Fault::RateLimited => i.rate_limited,
            Fault::Timeout | Fault::Slow => i.delayed,
            Fault::Dropped => i.dropped,
            Fault::Reset => i.reset,
            Fault::MalformedJson => i.malformed,
            Fault::OversizedBody | Fault::LargeBodyWithinLimit => i.oversized,
            Fault::OversizedRequest => 0,
        }
    }

    /// Whether the fault is a latency (which delays every request of its route, not just one).
    fn is_latency(self) -> bool {
        matches!(self, Fault::Timeout | Fault::Slow)
    }
}

/// Expected text: exactly, or a prefix followed (somewhere) by a fragment.
#[derive(Clone, Debug)]
enum Text {
    Is(String),
    Like(String, &'static str),
}

impl Text {
    fn is(text: &str) -> Self {
        Text::Is(text.to_owned())
    }

    fn like(prefix: &str, fragment: &'static str) -> Self {
        Text::Like(prefix.to_owned(), fragment)
    }

    fn check(&self, actual: &str, what: &str) {
        match self {
            Text::Is(expected) => assert_eq!(actual, expected, "{what}"),
            Text::Like(prefix, fragment) => {
                assert!(actual.starts_with(prefix.as_str()), "{what}: {actual:?} should start with {prefix:?}");
                assert!(actual[prefix.len()..].contains(fragment), "{what}: {actual:?} should contain {fragment:?}");
            }
        }
    }
}

/// What the REST operation answers.
#[derive(Clone, Copy, Debug)]
enum RestAnswer {
    /// 200 with the backups.
    Ok,
    /// A JSON error `{ "error": { "code", "message", ["upstreamStatus"] } }` (no other fields).
    Error { status: u16, code: &'static str, message: &'static str, upstream_status: Option<u16>, retry_after: Option<&'static str> },
}

/// What the MCP tool answers.
#[derive(Clone, Copy, Debug)]
enum McpAnswer {
    /// A structured result with the backups.
    Ok,
    /// `isError: true`; `structuredContent.error` has exactly these fields (plus `operation`
    /// and `message`), and the text content is the message.
    ToolError { kind: &'static str, status: Option<u16>, body: Option<&'static str>, retry_after: Option<u64> },
    /// The HTTP request itself is refused with this status (before any JSON-RPC).
    Http(u16),
}

/// What the compiled workflow returns when the fault hits one of its steps.
#[derive(Clone, Copy, Debug)]
enum WorkflowAnswer {
    /// The outputs (`restoreStatus: "restoring"`).
    Ok,
    /// `WorkflowError::StepFailed` with this upstream status (its success criterion unmet).
    StepFailed { status: u16 },
    /// `WorkflowError::Call` whose source is `Error::Timeout`.
    CallTimeout,
    /// `WorkflowError::Call` whose source is `Error::Transport`.
    CallTransport,
    /// `WorkflowError::Call` whose source is `Error::Decode` with the step's (2xx) status.
    CallDecode,
    /// Not a fault of the workflow path.
    NotApplicable,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
struct Case {
    fault: Fault,
    rest: RestAnswer,
    mcp: McpAnswer,
    workflow: WorkflowAnswer,
    /// A fragment of the client's error message (`Transport`/`Decode` causes).
    cause: &'static str,
}

const UPSTREAM_500_BODY: &str = r#"{"error":{"code":"internal_error","message":"Internal server error (simulated)"}}"#;
const UPSTREAM_429_BODY: &str = r#"{"error":{"code":"rate_limited","message":"Too many requests (simulated)"}}"#;

/// Generates one module per fault with one test per path, and [`CASES`] (the whole table).
macro_rules! faults {
    ($($name:ident [$($path:ident),+] => $case:expr;)+) => {
        /// Every row of the table.
        const CASES: &[Case] = &[$($name::CASE),+];
        $(
            mod $name {
                use super::*;
                pub(super) const CASE: Case = $case;
                $(
                    #[tokio::test]
                    async fn $path() {
                        super::run(CASE, super::Path::$path).await;
                    }
                )+
            }
        )+
    };
}

faults! {
    upstream_500 [rest, mcp, workflow] => Case {
        fault: Fault::Upstream500,
        rest: RestAnswer::Error { status: 502, code: "bad_gateway", message: "upstream returned HTTP 500", upstream_status: Some(500), retry_after: None },
        mcp: McpAnswer::ToolError { kind: "status", status: Some(500), body: Some(UPSTREAM_500_BODY), retry_after: None },
        workflow: WorkflowAnswer::StepFailed { status: 500 },
        cause: "",
    };
    rate_limited [rest, mcp, workflow] => Case {
        fault: Fault::RateLimited,
        rest: RestAnswer::Error { status: 429, code: "rate_limited", message: "Too many requests (simulated)", upstream_status: None, retry_after: Some("7") },
        mcp: McpAnswer::ToolError { kind: "status", status: Some(429), body: Some(UPSTREAM_429_BODY), retry_after: Some(RETRY_AFTER_SECS) },
        workflow: WorkflowAnswer::StepFailed { status: 429 },
        cause: "",
    };
    timeout [rest, mcp, workflow] => Case {
        fault: Fault::Timeout,
        rest: RestAnswer::Error { status: 504, code: "gateway_timeout", message: "listdatabasebackups: upstream request timed out", upstream_status: None, retry_after: None },
        mcp: McpAnswer::ToolError { kind: "timeout", status: None, body: None, retry_after: None },
        workflow: WorkflowAnswer::CallTimeout,
        cause: "",
    };
    slow_within_timeout [rest, mcp, workflow] => Case {
        fault: Fault::Slow,
        rest: RestAnswer::Ok,
        mcp: McpAnswer::Ok,
        workflow: WorkflowAnswer::Ok,
        cause: "",
    };
    dropped_connection [rest, mcp, workflow] => Case {
        fault: Fault::Dropped,
        rest: RestAnswer::Error { status: 502, code: "bad_gateway", message: "", upstream_status: None, retry_after: None },
        mcp: McpAnswer::ToolError { kind: "transport", status: None, body: None, retry_after: None },
        workflow: WorkflowAnswer::CallTransport,
        cause: "connection closed before message completed",
    };
    connection_reset [rest, mcp, workflow] => Case {
        fault: Fault::Reset,
        rest: RestAnswer::Error { status: 502, code: "bad_gateway", message: "", upstream_status: None, retry_after: None },
        mcp: McpAnswer::ToolError { kind: "transport", status: None, body: None, retry_after: None },
        workflow: WorkflowAnswer::CallTransport,
        cause: "Connection reset by peer",
    };
    malformed_json [rest, mcp, workflow] => Case {
        fault: Fault::MalformedJson,
        rest: RestAnswer::Error { status: 502, code: "bad_gateway", message: "the upstream response could not be decoded", upstream_status: Some(200), retry_after: None },
        mcp: McpAnswer::ToolError { kind: "decode", status: Some(200), body: None, retry_after: None },
        workflow: WorkflowAnswer::CallDecode,
        cause: "EOF while parsing",
    };
    oversized_upstream_body [rest, mcp, workflow] => Case {
        fault: Fault::OversizedBody,
        rest: RestAnswer::Error { status: 502, code: "bad_gateway", message: "the upstream response could not be decoded", upstream_status: Some(200), retry_after: None },
        mcp: McpAnswer::ToolError { kind: "decode", status: Some(200), body: None, retry_after: None },
        workflow: WorkflowAnswer::CallDecode,
        cause: "the response body exceeds the limit of 65536 bytes",
    };
    large_upstream_body_within_limit [rest, mcp, workflow] => Case {
        fault: Fault::LargeBodyWithinLimit,
        rest: RestAnswer::Ok,
        mcp: McpAnswer::Ok,
        workflow: WorkflowAnswer::Ok,
        cause: "",
    };
    oversized_request_body [rest, mcp] => Case {
        fault: Fault::OversizedRequest,
        rest: RestAnswer::Error { status: 413, code: "payload_too_large", message: "the request body is too large", upstream_status: None, retry_after: None },
        mcp: McpAnswer::Http(413),
        workflow: WorkflowAnswer::NotApplicable,
        cause: "",
    };
}

#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
enum Path {
    rest,
    mcp,
    workflow,
}

async fn run(case: Case, path: Path) {
    watch_panics();
    let panics_before = panics_here();
    let sim = prisma_simulator::start(SimulatorConfig::default()).await.expect("the simulator starts");
    match path {
        Path::rest => rest_path(&case, &sim).await,
        Path::mcp => mcp_path(&case, &sim).await,
        Path::workflow => workflow_path(&case, &sim).await,
    }
    assert_eq!(panics_here(), panics_before, "something panicked while serving {:?} over {path:?}", case.fault);
}

// ---------------------------------------------------------------------------------------------
// The workflow's steps and the messages derived from them

/// One step of `backup-and-restore-database`.
#[derive(Clone, Copy, Debug)]
struct Step {
    id: &'static str,
    route: ApiRoute,
    operation: &'static str,
    /// The status its success criterion asks for.
    success: u16,
}

const CREATE: Step = Step { id: "createBackup", route: ApiRoute::CreateBackup, operation: "createdatabasebackup", success: 202 };
const POLL: Step = Step { id: "pollBackup", route: ApiRoute::ListBackups, operation: "listdatabasebackups", success: 200 };
const RESTORE: Step = Step { id: "restoreBackup", route: ApiRoute::RestoreBackup, operation: "restoredatabasebackup", success: 202 };
const STEPS: [Step; 3] = [CREATE, POLL, RESTORE];

/// The message of a client error of `operation` for `case` (`status`: the answer's status).
fn client_error_message(case: &Case, operation: &str, status: u16) -> Text {
    match case.fault {
        Fault::Upstream500 => Text::Is(format!("{operation}: upstream returned HTTP 500: {UPSTREAM_500_BODY}")),
        Fault::RateLimited => Text::Is(format!("{operation}: upstream returned HTTP 429: {UPSTREAM_429_BODY}")),
        Fault::Timeout => Text::Is(format!("{operation}: upstream request timed out")),
        Fault::Dropped | Fault::Reset => Text::like(&format!("{operation}: transport error: "), case.cause),
        Fault::MalformedJson | Fault::OversizedBody => {
            Text::like(&format!("{operation}: cannot decode HTTP {status} response: "), case.cause)
        }
        other => panic!("{other:?} is not a client error"),
    }
}

/// The `WorkflowError` message when `case` hits `step`.
fn workflow_message(case: &Case, step: Step) -> Text {
    let at = format!("workflow `{WORKFLOW}` failed at step `{}`", step.id);
    let criterion = format!("$statusCode == {}", step.success);
    match case.workflow {
        WorkflowAnswer::StepFailed { status } => {
            Text::Is(format!("{at} (HTTP {status}): success criterion `{criterion}` was not met"))
        }
        WorkflowAnswer::CallTimeout | WorkflowAnswer::CallTransport | WorkflowAnswer::CallDecode => {
            match client_error_message(case, step.operation, step.success) {
                Text::Is(cause) => Text::Is(format!("{at}: {cause}")),
                Text::Like(prefix, fragment) => Text::Like(format!("{at}: {prefix}"), fragment),
            }
        }
        WorkflowAnswer::Ok | WorkflowAnswer::NotApplicable => panic!("{:?} fails no step", case.fault),
    }
}

/// The upstream status a failed workflow reports for `step`.
fn workflow_status(case: &Case, step: Step) -> Option<u16> {
    match case.workflow {
        WorkflowAnswer::StepFailed { status } => Some(status),
        WorkflowAnswer::CallDecode => Some(step.success),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Set-up

fn clients(sim: &RunningSimulator) -> Clients {
    let config = ClientConfig::new(sim.base_uri())
        .with_auth(Auth::bearer("sim-token"))
        .with_timeout(TIMEOUT)
        .with_max_response_bytes(RESPONSE_LIMIT);
    Clients { postgres_management_database_backups: Client::new(config).expect("client") }
}

/// Serves `app` on 127.0.0.1:0 in the background (on this test's runtime); returns its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve_listener(listener, app, std::future::pending()));
    format!("http://{addr}")
}

/// Awaits `future`, failing the test if it takes longer than [`CALL_BOUND`].
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(CALL_BOUND, future).await.unwrap_or_else(|_| panic!("{what}: no answer within {CALL_BOUND:?}"))
}

/// Makes `call` with `case`'s fault aimed at `route`, checks the simulator injected it (once,
/// or for a latency on every request of the route), then resets the knobs. Returns what
/// `call` returned and how long it took.
async fn faulted<T, F: Future<Output = T>>(sim: &RunningSimulator, case: &Case, route: ApiRoute, call: impl FnOnce() -> F) -> (T, Duration) {
    let before = sim.stats();
    sim.set_faults(case.fault.knobs(route));
    let started = Instant::now();
    let result = bounded(&format!("{:?} on {route:?}", case.fault), call()).await;
    let elapsed = started.elapsed();
    let after = sim.stats();
    sim.set_faults(Faults::default());
    let injected = case.fault.injected(&after) - case.fault.injected(&before);
    if case.fault.is_latency() {
        let reached = route_count(&after, route) - route_count(&before, route);
        assert!(injected >= 1 && injected == reached, "{:?}: {injected} delayed of {reached} requests", case.fault);
    } else {
        assert_eq!(injected, 1, "{:?} was injected exactly once", case.fault);
    }
    (result, elapsed)
}

fn route_count(stats: &Stats, route: ApiRoute) -> u64 {
    match route {
        ApiRoute::ListBackups => stats.list_backups,
        ApiRoute::CreateBackup => stats.create_backup,
        ApiRoute::RestoreBackup => stats.restore_backup,
    }
}

/// Checks how long a faulted call took: at least the latency, and a timeout no longer than
/// about the client's timeout.
fn check_elapsed(case: &Case, elapsed: Duration, requests: u32) {
    match case.fault {
        Fault::Slow => assert!(elapsed >= Duration::from_millis(SLOW_MS) * requests, "slow: {elapsed:?}"),
        Fault::Timeout => assert!(
            elapsed >= TIMEOUT && elapsed < Duration::from_millis(STALL_MS),
            "timed out after {elapsed:?} (client timeout {TIMEOUT:?})"
        ),
        _ => {}
    }
}

fn workflow_args() -> Value {
    json!({ "apiToken": "sim-token", "databaseId": "db_123", "retryUnmatched": 5, "retryAfterSeconds": 0 })
}

// ---------------------------------------------------------------------------------------------
// REST

async fn rest_path(case: &Case, sim: &RunningSimulator) {
    let base = serve(rest::router_with(clients(sim), &RestConfig::default())).await;
    let http = reqwest::Client::new();
    let list_url = format!("{base}/v1/databases/db_123/backups");
    let workflow_url = format!("{base}/workflows/{WORKFLOW}");

    if case.fault == Fault::OversizedRequest {
        // Both a consumed-operation route and the workflow route refuse the body unread.
        let big = json!({ "label": "x".repeat(2 * 1024 * 1024) }).to_string();
        for url in [list_url.clone(), workflow_url.clone()] {
            let send = http.post(&url).header("content-type", "application/json").body(big.clone()).send();
            let response = bounded("oversized POST", send).await.expect("an answer");
            check_rest_answer(case, response, &url).await;
        }
        let stats = sim.stats();
        assert_eq!((stats.create_backup, stats.list_backups), (0, 0), "nothing reached the upstream");
    } else {
        // The exposed operation.
        let (response, elapsed) = faulted(sim, case, ApiRoute::ListBackups, || http.get(&list_url).send()).await;
        check_elapsed(case, elapsed, 1);
        check_rest_answer(case, response.expect("an answer"), &list_url).await;
        rest_list_ok(&http, &list_url).await;

        // The exposed workflow, with the fault at `pollBackup`.
        let run = || http.post(&workflow_url).json(&workflow_args()).send();
        let (response, elapsed) = faulted(sim, case, POLL.route, run).await;
        check_elapsed(case, elapsed, 1);
        check_rest_workflow_answer(case, response.expect("an answer")).await;
        rest_workflow_ok(&http, &workflow_url).await;
    }
    // Still serving.
    rest_list_ok(&http, &list_url).await;
    let health = bounded("healthz", http.get(format!("{base}/healthz")).send()).await.expect("healthz");
    assert_eq!(health.status(), 200);
}

/// Status, content type and JSON body of a REST answer.
async fn rest_json(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = bounded("body", response.text()).await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, headers, body)
}

/// The `error` object of a REST error body or a tool error's `structuredContent`, checked to
/// hold exactly `keys`.
fn error_object<'a>(body: &'a Value, keys: &[&str]) -> &'a serde_json::Map<String, Value> {
    let error = body["error"].as_object().unwrap_or_else(|| panic!("no `error` object in {body}"));
    let mut actual: Vec<&str> = error.keys().map(String::as_str).collect();
    let mut expected = keys.to_vec();
    actual.sort_unstable();
    expected.sort_unstable();
    assert_eq!(actual, expected, "fields of {body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "only `error` at the top: {body}");
    error
}

async fn check_rest_answer(case: &Case, response: reqwest::Response, url: &str) {
    let (status, headers, body) = rest_json(response).await;
    match case.rest {
        RestAnswer::Ok => {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"][0]["id"], "bkp_1", "{body}");
            // An unshaped operation passes the upstream body through whole, padding included.
            let passed_whole = body.get("padding").is_some();
            assert_eq!(passed_whole, case.fault == Fault::LargeBodyWithinLimit, "{body}");
        }
        RestAnswer::Error { status: expected, code, message, upstream_status, retry_after } => {
            assert_eq!(status, expected, "{url}: {body}");
            assert!(
                headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json")),
                "{headers:?}"
            );
            let mut keys = vec!["code", "message"];
            if upstream_status.is_some() {
                keys.push("upstreamStatus");
            }
            let error = error_object(&body, &keys);
            assert_eq!(error["code"], code);
            let text = error["message"].as_str().expect("a message");
            let expected_message = if message.is_empty() { client_error_message(case, "listdatabasebackups", 200) } else { Text::is(message) };
            expected_message.check(text, "REST error message");
            if let Some(upstream) = upstream_status {
                assert_eq!(error["upstreamStatus"], upstream);
            }
            let header = headers.get("retry-after").and_then(|v| v.to_str().ok());
            assert_eq!(header, retry_after, "Retry-After");
            assert!(!body.to_string().contains("sim-token") && !text.contains("127.0.0.1"), "no secret or URL: {body}");
        }
    }
}

async fn check_rest_workflow_answer(case: &Case, response: reqwest::Response) {
    let (status, _, body) = rest_json(response).await;
    if let WorkflowAnswer::Ok = case.workflow {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["restoreStatus"], "restoring", "{body}");
        return;
    }
    let (expected_status, code) = match case.workflow {
        WorkflowAnswer::CallTimeout => (504, "workflow_timeout"),
        _ => (502, "workflow_failed"),
    };
    assert_eq!(status, expected_status, "{body}");
    let upstream = workflow_status(case, POLL);
    let mut keys = vec!["code", "message", "workflow", "step"];
    if upstream.is_some() {
        keys.push("upstreamStatus");
    }
    let error = error_object(&body, &keys);
    assert_eq!(error["code"], code);
    assert_eq!((error["workflow"].as_str(), error["step"].as_str()), (Some(WORKFLOW), Some(POLL.id)));
    if let Some(upstream) = upstream {
        assert_eq!(error["upstreamStatus"], upstream);
    }
    workflow_message(case, POLL).check(error["message"].as_str().expect("a message"), "REST workflow message");
}

async fn rest_list_ok(http: &reqwest::Client, url: &str) {
    let (status, _, body) = rest_json(bounded("healthy list", http.get(url).send()).await.expect("an answer")).await;
    assert_eq!(status, 200, "the server keeps serving: {body}");
    let ids: Vec<&str> = body["data"].as_array().expect("data").iter().filter_map(|b| b["id"].as_str()).collect();
    assert!(ids.contains(&"bkp_1"), "{body}");
}

async fn rest_workflow_ok(http: &reqwest::Client, url: &str) {
    let (status, _, body) = rest_json(bounded("healthy workflow", http.post(url).json(&workflow_args()).send()).await.expect("an answer")).await;
    assert_eq!(status, 200, "the workflow runs again: {body}");
    assert_eq!(body["restoreStatus"], "restoring");
}

// ---------------------------------------------------------------------------------------------
// MCP

type McpClient = RunningService<RoleClient, ()>;

async fn call_tool(client: &McpClient, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else { panic!("object arguments") };
    let call = client.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments));
    bounded(tool, call).await.unwrap_or_else(|e| panic!("{tool}: a tool result, not a protocol error: {e:?}"))
}

fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect::<Vec<_>>().join("\n")
}

async fn mcp_path(case: &Case, sim: &RunningSimulator) {
    let url = format!("{}/mcp", serve(mcp::router(clients(sim))).await);
    let client: McpClient =
        bounded("connect", ().serve(StreamableHttpClientTransport::from_uri(url.clone()))).await.expect("the MCP client connects");

    if let McpAnswer::Http(expected) = case.mcp {
        assert_eq!(case.fault, Fault::OversizedRequest);
        let big = json!({
            "jsonrpc": "2.0", "id": 99, "method": "tools/call",
            "params": { "name": LIST_TOOL, "arguments": { "databaseId": "x".repeat(5 * 1024 * 1024) } }
        });
        let send = reqwest::Client::new()
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(big.to_string())
            .send();
        let response = bounded("oversized MCP request", send).await.expect("an answer");
        assert_eq!(response.status().as_u16(), expected);
        assert_eq!(sim.stats().list_backups, 0, "nothing reached the upstream");
    } else {
        // The tool over the exposed operation.
        let call = || call_tool(&client, LIST_TOOL, json!({ "databaseId": "db_123" }));
        let (result, elapsed) = faulted(sim, case, ApiRoute::ListBackups, call).await;
        check_elapsed(case, elapsed, 1);
        check_mcp_answer(case, &result);
        mcp_list_ok(&client).await;

        // The workflow tool, with the fault at `pollBackup`.
        let (result, elapsed) = faulted(sim, case, POLL.route, || call_tool(&client, WORKFLOW, workflow_args())).await;
        check_elapsed(case, elapsed, 1);
        check_mcp_workflow_answer(case, &result);
        let again = call_tool(&client, WORKFLOW, workflow_args()).await;
        assert_eq!(again.is_error, Some(false), "the workflow tool runs again: {}", text_of(&again));
        assert_eq!(again.structured_content.as_ref().map(|s| &s["restoreStatus"]), Some(&json!("restoring")));
    }
    // The same session still serves.
    mcp_list_ok(&client).await;
    bounded("close", client.cancel()).await.expect("the session closes");
}

fn check_mcp_answer(case: &Case, result: &CallToolResult) {
    let structured = result.structured_content.clone().unwrap_or(Value::Null);
    match case.mcp {
        McpAnswer::Ok => {
            assert_eq!(result.is_error, Some(false), "{}", text_of(result));
            assert_eq!(structured["data"][0]["id"], "bkp_1", "{structured}");
            let passed_whole = structured.get("padding").is_some();
            assert_eq!(passed_whole, case.fault == Fault::LargeBodyWithinLimit, "{structured}");
        }
        McpAnswer::ToolError { kind, status, body, retry_after } => {
            assert_eq!(result.is_error, Some(true), "{structured}");
            let mut keys = vec!["kind", "operation", "message"];
            keys.extend(status.map(|_| "status"));
            keys.extend(body.map(|_| "body"));
            keys.extend(retry_after.map(|_| "retryAfterSeconds"));
            let error = error_object(&structured, &keys);
            assert_eq!(error["kind"], kind);
            assert_eq!(error["operation"], "listdatabasebackups");
            if let Some(status) = status {
                assert_eq!(error["status"], status);
            }
            if let Some(body) = body {
                assert_eq!(error["body"], serde_json::from_str::<Value>(body).expect("JSON"));
            }
            if let Some(seconds) = retry_after {
                assert_eq!(error["retryAfterSeconds"], seconds);
            }
            let message = error["message"].as_str().expect("a message");
            client_error_message(case, "listdatabasebackups", status.unwrap_or(200)).check(message, "MCP error message");
            assert_eq!(text_of(result), message, "the text content is the message");
            assert!(!message.contains("sim-token") && !message.contains("127.0.0.1"), "no secret or URL: {message}");
        }
        McpAnswer::Http(_) => unreachable!(),
    }
}

fn check_mcp_workflow_answer(case: &Case, result: &CallToolResult) {
    let structured = result.structured_content.clone().unwrap_or(Value::Null);
    if let WorkflowAnswer::Ok = case.workflow {
        assert_eq!(result.is_error, Some(false), "{}", text_of(result));
        assert_eq!(structured["restoreStatus"], "restoring");
        return;
    }
    assert_eq!(result.is_error, Some(true), "{structured}");
    let upstream = workflow_status(case, POLL);
    let mut keys = vec!["kind", "message", "workflow", "step"];
    keys.extend(upstream.map(|_| "status"));
    let error = error_object(&structured, &keys);
    assert_eq!(error["kind"], "workflow");
    assert_eq!((error["workflow"].as_str(), error["step"].as_str()), (Some(WORKFLOW), Some(POLL.id)));
    if let Some(upstream) = upstream {
        assert_eq!(error["status"], upstream);
    }
    let message = error["message"].as_str().expect("a message");
    workflow_message(case, POLL).check(message, "MCP workflow message");
    assert_eq!(text_of(result), message);
}

async fn mcp_list_ok(client: &McpClient) {
    let result = call_tool(client, LIST_TOOL, json!({ "databaseId": "db_123" })).await;
    assert_eq!(result.is_error, Some(false), "the server keeps serving: {}", text_of(&result));
    let data = result.structured_content.as_ref().and_then(|s| s["data"].as_array().cloned()).unwrap_or_default();
    assert!(data.iter().any(|b| b["id"] == "bkp_1"), "{data:?}");
}

// ---------------------------------------------------------------------------------------------
// The compiled workflow

async fn workflow_path(case: &Case, sim: &RunningSimulator) {
    assert!(!matches!(case.workflow, WorkflowAnswer::NotApplicable), "{:?} has no workflow expectation", case.fault);
    let clients = clients(sim);
    let inputs = BackupAndRestoreDatabaseInputs {
        api_token: "sim-token".to_owned(),
        database_id: "db_123".to_owned(),
        backup_label: Some("faults".to_owned()),
    };
    let options = RunOptions::default().with_retry_unmatched(5, Duration::ZERO);
    for (index, step) in STEPS.into_iter().enumerate() {
        let run = || backup_and_restore_database_traced(&clients, &inputs, &options);
        let (run, elapsed) = faulted(sim, case, step.route, run).await;
        // A latency delays every request of the route: the two polls, or the one other call.
        check_elapsed(case, elapsed, if step.id == POLL.id && case.fault == Fault::Slow { 2 } else { 1 });
        let steps: Vec<(&str, u32, Option<u16>, Outcome)> =
            run.trace.iter().map(|e: &TraceEntry| (e.step_id.as_str(), e.attempt, e.status, e.outcome.clone())).collect();
        // What a healthy run looks like.
        let healthy = vec![
            ("createBackup", 1, Some(202), Outcome::Succeeded),
            ("pollBackup", 1, Some(200), Outcome::Retrying { delay: Duration::ZERO }),
            ("pollBackup", 2, Some(200), Outcome::Succeeded),
            ("restoreBackup", 1, Some(202), Outcome::Succeeded),
        ];
        match case.workflow {
            WorkflowAnswer::Ok => {
                let outputs = run.result.unwrap_or_else(|e| panic!("{:?} at {}: {e}", case.fault, step.id));
                assert_eq!(outputs.restore_status.as_deref(), Some("restoring"));
                assert!(outputs.backup_id.as_deref().is_some_and(|id| id.starts_with("bkp_")), "{outputs:?}");
                assert_eq!(steps, healthy);
            }
            expected => {
                let error = run.result.expect_err("the fault fails the run");
                check_workflow_error(case, step, expected, &error);
                // The steps before the faulted one succeeded; the faulted one is the last.
                let before = match index {
                    0 => 0,
                    1 => 1,
                    _ => 3,
                };
                assert_eq!(steps[..before], healthy[..before], "{:?} at {}", case.fault, step.id);
                let outcome = if matches!(expected, WorkflowAnswer::StepFailed { .. }) { Outcome::Failed } else { Outcome::Error };
                assert_eq!(steps[before..], [(step.id, 1, workflow_status(case, step), outcome)], "{:?} at {}", case.fault, step.id);
                // The same error, as REST and MCP adapters see it.
                match Error::from(error) {
                    Error::Workflow { workflow, step: at, step_status, timed_out, .. } => {
                        assert_eq!((workflow.as_str(), at.as_str()), (WORKFLOW, step.id));
                        assert_eq!(step_status, workflow_status(case, step));
                        assert_eq!(timed_out, matches!(expected, WorkflowAnswer::CallTimeout));
                    }
                    other => panic!("expected Error::Workflow, got {other:?}"),
                }
            }
        }
        // The same clients run the workflow again, unfaulted.
        let again = bounded("healthy run", backup_and_restore_database_traced(&clients, &inputs, &options)).await;
        let outputs = again.result.unwrap_or_else(|e| panic!("the workflow runs again after {:?} at {}: {e}", case.fault, step.id));
        assert_eq!(outputs.restore_status.as_deref(), Some("restoring"));
    }
}

fn check_workflow_error(case: &Case, step: Step, expected: WorkflowAnswer, error: &WorkflowError) {
    let context = format!("{:?} at {}: {error:?}", case.fault, step.id);
    assert_eq!((error.step(), error.status()), (step.id, workflow_status(case, step)), "{context}");
    workflow_message(case, step).check(&error.to_string(), &context);
    match (expected, error) {
        (WorkflowAnswer::StepFailed { status }, WorkflowError::StepFailed { workflow, status: actual, .. }) => {
            assert_eq!((workflow.as_str(), *actual), (WORKFLOW, Some(status)), "{context}");
        }
        (WorkflowAnswer::CallTimeout, WorkflowError::Call { source, .. }) => {
            assert!(matches!(**source, Error::Timeout { operation } if operation == step.operation), "{context}");
        }
        (WorkflowAnswer::CallTransport, WorkflowError::Call { source, .. }) => {
            assert!(matches!(&**source, Error::Transport { operation, .. } if *operation == step.operation), "{context}");
        }
        (WorkflowAnswer::CallDecode, WorkflowError::Call { source, .. }) => {
            let Error::Decode { operation, status, .. } = &**source else { panic!("expected Error::Decode: {context}") };
            assert_eq!((*operation, *status), (step.operation, step.success), "{context}");
        }
        _ => panic!("expected {expected:?}: {context}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Panics

/// Threads that panicked, in order (one entry per panic).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Installs (once) a panic hook that records the panicking thread, then reports as usual. The
/// servers run on the test's current-thread runtime, so a handler panic shows on its thread.
fn watch_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            PANICS.lock().unwrap_or_else(PoisonError::into_inner).push(thread);
            previous(info);
        }));
    });
}

/// Panics recorded on this thread so far.
fn panics_here() -> usize {
    let thread = std::thread::current().name().unwrap_or_default().to_owned();
    PANICS.lock().unwrap_or_else(PoisonError::into_inner).iter().filter(|t| **t == thread).count()
}

#[test]
fn the_table_has_one_row_per_fault() {
    let mut faults: Vec<String> = CASES.iter().map(|c| format!("{:?}", c.fault)).collect();
    let rows = faults.len();
    faults.sort();
    faults.dedup();
    assert_eq!(faults.len(), rows, "{faults:?}");
}
