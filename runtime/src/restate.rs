//! Durable workflow runs on Restate (feature `restate`).
//!
//! The generated crate's `restate-serve` exposes one Restate *workflow* service per compiled
//! Arazzo workflow; its `run` handler drives the same compiled steps as the in-process `async
//! fn`, through [`Durable`], an [`Executor`] over the Restate context:
//! - each upstream exchange runs inside `ctx.run`, so a replay after a crash reuses the journaled
//!   response and never sends a completed request again;
//! - waits before retries are durable `ctx.sleep` timers; the clock is journaled (with each
//!   exchange, and after each wait), so the deadline means the same after a replay;
//! - the steps done so far are kept in the workflow's state (`trace`) for the `status` handler.
//!
//! Secrets never reach the journal in clear: inputs named like credentials must be references
//! (`env:NAME`, resolved by `restate-serve` from its own environment, see [`resolve_inputs`]);
//! [`check_submitted_inputs`] refuses clear values before anything is submitted.
//!
//! [`submit`] is the client side (`run --durable`): it sends a run to a Restate ingress under a
//! caller-given id and waits for its result; the same id again returns the same result.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use restate_sdk;
use restate_sdk::prelude::{
    ContextReadState, ContextSideEffects, ContextTimers, ContextWriteState, HandlerError, Json, RunFuture, SharedWorkflowContext, TerminalError, WorkflowContext,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::workflow::{Executor, Outcome, RunOptions, TraceEntry, WorkflowError};
use crate::{Error, HttpClient, Request, Response};

/// The state key holding the steps done so far.
pub const TRACE_KEY: &str = "trace";

/// The prefix of a credential input passed by reference: `env:NAME`.
pub const ENV_REFERENCE: &str = "env:";

/// One durable workflow of a generated crate (its `durable::SERVICES`).
#[derive(Clone, Copy, Debug)]
pub struct DurableService {
    /// The Arazzo `workflowId`.
    pub workflow_id: &'static str,
    /// The Restate workflow service.
    pub service: &'static str,
    /// Inputs named like credentials: `env:NAME` references only.
    pub secret_inputs: &'static [&'static str],
    /// Inputs of type string (other `NAME=VALUE` values are read as JSON).
    pub text_inputs: &'static [&'static str],
}

/// `run WORKFLOW --durable`: builds the request from `NAME=VALUE` inputs, refuses credentials in
/// clear, and [`submit`]s it.
pub async fn run_cli(services: &[DurableService], workflow: &str, pairs: &[String], options: DurableOptions, ingress: &str, id: &str, detach: bool) -> Result<Value, String> {
    let Some(service) = services.iter().find(|s| s.workflow_id == workflow) else {
        let known: Vec<&str> = services.iter().map(|s| s.workflow_id).collect();
        return Err(format!("unknown workflow `{workflow}` (durable workflows: {})", known.join(", ")));
    };
    let mut inputs = serde_json::Map::new();
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("expected NAME=VALUE, got `{pair}`"));
        };
        let value = if service.text_inputs.contains(&name) { Value::String(value.to_owned()) } else { serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned())) };
        inputs.insert(name.to_owned(), value);
    }
    check_submitted_inputs(&inputs, service.secret_inputs)?;
    submit(ingress, service.service, id, &DurableRequest { inputs, options }, detach).await
}

/// Serves `endpoint` (the generated `durable::endpoint`) on `address` for Restate to call,
/// until SIGINT/SIGTERM.
pub async fn serve(endpoint: restate_sdk::endpoint::Endpoint, address: std::net::SocketAddr) {
    restate_sdk::http_server::HttpServer::new(endpoint).listen_and_serve(address).await;
}

/// What the `run` handler of a durable workflow takes: the workflow's inputs and run options.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DurableRequest {
    /// The workflow's inputs (credential inputs as `env:NAME` references).
    #[serde(default)]
    pub inputs: serde_json::Map<String, Value>,
    /// Step budget, deadline and polling (the in-process defaults where absent).
    #[serde(default)]
    pub options: DurableOptions,
}

/// [`RunOptions`] as submitted with a durable run.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DurableOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_unmatched: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<f64>,
}

impl DurableOptions {
    /// The run options these stand for.
    pub fn run_options(&self) -> RunOptions {
        let mut options = RunOptions::default();
        if let Some(max_steps) = self.max_steps {
            options = options.with_max_steps(max_steps);
        }
        if let Some(deadline) = self.deadline_seconds.and_then(|s| Duration::try_from_secs_f64(s).ok()) {
            options = options.with_deadline(deadline);
        }
        if let Some(limit) = self.retry_unmatched {
            let after = self.retry_after_seconds.and_then(|s| Duration::try_from_secs_f64(s).ok()).unwrap_or(Duration::from_secs(1));
            options = options.with_retry_unmatched(limit, after);
        }
        options
    }
}

/// The [`Executor`] of a durable run: exchanges, waits and the clock go through the Restate
/// journal of `ctx`.
///
/// Each journaled action costs a round trip to Restate, so the clock is read from the journal
/// only when nothing newer is known: an exchange journals the time it ended along with its
/// response, and a wait forgets the time (the run may resume much later).
pub struct Durable<'a, 'ctx> {
    ctx: &'a WorkflowContext<'ctx>,
    started_ms: Option<u64>,
    /// The latest journaled time, while nothing but computation happened since.
    now_ms: Option<u64>,
}

impl<'a, 'ctx> Durable<'a, 'ctx> {
    /// An executor over the workflow context of a `run` handler.
    pub fn new(ctx: &'a WorkflowContext<'ctx>) -> Self {
        Self { ctx, started_ms: None, now_ms: None }
    }

    async fn clock(&self) -> Result<u64, String> {
        let now = self.ctx.run(|| async { Ok(now_ms()) }).name("clock").await;
        now.map_err(|error| error.to_string())
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An exchange as journaled: the response, or why there is none. Request headers (tokens) are
/// never part of it.
#[derive(Deserialize, Serialize)]
enum Journaled {
    Response { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// The run's deadline came first.
    DeadlineReached,
    /// The upstream request timed out.
    Timeout,
    Failed { message: String },
}

impl Journaled {
    fn from_exchange(sent: Option<Result<Response, Error>>) -> Self {
        match sent {
            None => Journaled::DeadlineReached,
            Some(Ok(response)) => Journaled::Response {
                status: response.status,
                headers: response.headers.iter().filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))).collect(),
                body: response.body.to_vec(),
            },
            Some(Err(error)) if error.is_timeout() => Journaled::Timeout,
            Some(Err(Error::Transport { message, .. })) => Journaled::Failed { message },
            Some(Err(error)) => Journaled::Failed { message: error.to_string() },
        }
    }

    fn into_exchange(self, operation: &'static str) -> Option<Result<Response, Error>> {
        match self {
            Journaled::DeadlineReached => None,
            Journaled::Timeout => Some(Err(Error::Timeout { operation })),
            Journaled::Failed { message } => Some(Err(Error::Transport { operation, message })),
            Journaled::Response { status, headers, body } => {
                let headers = headers
                    .into_iter()
                    .filter_map(|(name, value)| Some((reqwest::header::HeaderName::from_bytes(name.as_bytes()).ok()?, reqwest::header::HeaderValue::from_str(&value).ok()?)))
                    .collect();
                Some(Ok(Response { operation, status, headers, body: bytes::Bytes::from(body) }))
            }
        }
    }
}

impl Executor for Durable<'_, '_> {
    async fn elapsed(&mut self) -> Result<Duration, String> {
        let now = match self.now_ms {
            Some(now) => now,
            None => self.clock().await?,
        };
        self.now_ms = Some(now);
        let started = *self.started_ms.get_or_insert(now);
        Ok(Duration::from_millis(now.saturating_sub(started)))
    }

    async fn exchange(&mut self, http: &HttpClient, request: Request, timeout: Duration) -> Result<Option<Result<Response, Error>>, String> {
        let operation = request.operation();
        let http = http.clone();
        let journaled = self
            .ctx
            .run(move || async move {
                let sent = tokio::time::timeout(timeout, http.send_raw(request)).await.ok();
                Ok(Json((Journaled::from_exchange(sent), now_ms())))
            })
            .name(operation)
            .await
            .map_err(|error| error.to_string())?;
        let (exchange, ended_ms) = journaled.into_inner();
        self.now_ms = Some(ended_ms);
        Ok(exchange.into_exchange(operation))
    }

    async fn sleep(&mut self, delay: Duration) -> Result<(), String> {
        self.now_ms = None;
        self.ctx.sleep(delay).await.map_err(|error| error.to_string())
    }

    fn recorded(&mut self, trace: &[TraceEntry]) {
        self.ctx.set(TRACE_KEY, Json(trace_view(trace)));
    }
}

/// The steps done so far, as the `status` handler returns them: step ids, attempts, statuses
/// and outcomes (no durations: they differ on replay; no values, tokens or bodies).
pub fn trace_view(trace: &[TraceEntry]) -> Value {
    let entries = trace.iter().map(|entry| {
        let outcome = match &entry.outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Retrying { .. } => "retrying",
            Outcome::FailedOver => "failed-over",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
        };
        serde_json::json!({
            "workflowId": entry.workflow_id,
            "stepId": entry.step_id,
            "attempt": entry.attempt,
            "status": entry.status,
            "outcome": outcome,
        })
    });
    Value::Array(entries.collect())
}

/// The `status` handler of every durable workflow: the steps done so far ([`trace_view`]).
pub async fn status(ctx: &SharedWorkflowContext<'_>) -> Result<Json<Value>, HandlerError> {
    let trace = ctx.get::<Json<Value>>(TRACE_KEY).await?;
    Ok(Json(trace.map_or(Value::Array(Vec::new()), Json::into_inner)))
}

/// A failed run as a terminal Restate error (Restate does not retry it): the message names the
/// workflow, the step and the status.
pub fn terminal(error: WorkflowError) -> HandlerError {
    let code = error.status().filter(|s| (400..600).contains(s)).unwrap_or(500);
    TerminalError::new_with_code(code, error.to_string()).into()
}

/// Reads the inputs of a durable run: each credential input (named in `secret_names`) must be an
/// `env:NAME` reference, replaced here by the variable's value from this process's environment
/// (never journaled); a clear value or a missing variable is a terminal error.
pub fn resolve_inputs<T: serde::de::DeserializeOwned>(mut inputs: serde_json::Map<String, Value>, secret_names: &[&str]) -> Result<T, HandlerError> {
    for name in secret_names {
        let Some(value) = inputs.get_mut(*name) else { continue };
        let Some(variable) = value.as_str().and_then(|v| v.strip_prefix(ENV_REFERENCE)) else {
            return Err(TerminalError::new_with_code(400, refused(name)).into());
        };
        match std::env::var(variable) {
            Ok(secret) => *value = Value::String(secret),
            Err(_) => return Err(TerminalError::new_with_code(400, format!("input `{name}` refers to the environment variable `{variable}`, which restate-serve does not have")).into()),
        }
    }
    serde_json::from_value(Value::Object(inputs)).map_err(|error| TerminalError::new_with_code(400, format!("invalid inputs: {error}")).into())
}

/// Refuses inputs whose credential values are given in clear (they would be journaled).
pub fn check_submitted_inputs(inputs: &serde_json::Map<String, Value>, secret_names: &[&str]) -> Result<(), String> {
    for name in secret_names {
        if let Some(value) = inputs.get(*name)
            && !value.as_str().is_some_and(|v| v.starts_with(ENV_REFERENCE))
        {
            return Err(refused(name));
        }
    }
    Ok(())
}

fn refused(name: &str) -> String {
    format!(
        "input `{name}` looks like a credential and a durable run's inputs are journaled by Restate: pass it by reference, `{name}={ENV_REFERENCE}VARIABLE`, and set VARIABLE in restate-serve's environment"
    )
}

/// Submits a run of the workflow service `service` under `id` to the Restate ingress at
/// `ingress`; with `detach`, returns Restate's answer to the submission (its invocation id),
/// else waits for the run and returns its outputs. Submitting an id again does not start a
/// second run: it attaches to the first.
pub async fn submit(ingress: &str, service: &str, id: &str, request: &DurableRequest, detach: bool) -> Result<Value, String> {
    let http = reqwest::Client::new();
    let base = ingress.trim_end_matches('/');
    let id = crate::encode_path(id);
    let sent = http.post(format!("{base}/{service}/{id}/run/send")).json(request).send().await.map_err(|e| format!("cannot reach the Restate ingress at {base}: {e}"))?;
    let submitted = answer(sent).await?;
    if detach {
        return Ok(submitted);
    }
    // Attach until the run ends (a long run may outlive one HTTP exchange).
    loop {
        let attached = http.get(format!("{base}/restate/workflow/{service}/{id}/attach")).send().await;
        match attached {
            Ok(response) => return answer(response).await,
            Err(error) if error.is_timeout() || error.is_request() => tokio::time::sleep(Duration::from_secs(1)).await,
            Err(error) => return Err(format!("cannot reach the Restate ingress at {base}: {error}")),
        }
    }
}

async fn answer(response: reqwest::Response) -> Result<Value, String> {
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    if status.is_success() {
        return Ok(body);
    }
    let message = body.get("message").and_then(Value::as_str).map_or_else(|| body.to_string(), str::to_owned);
    Err(format!("Restate answered HTTP {}: {message}", status.as_u16()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credential_inputs_are_references() {
        let inputs = |v: Value| v.as_object().unwrap().clone();
        let error = check_submitted_inputs(&inputs(json!({"apiToken": "sk_live", "databaseId": "db"})), &["apiToken"]).unwrap_err();
        assert!(error.contains("apiToken=env:VARIABLE") && !error.contains("sk_live"), "{error}");
        check_submitted_inputs(&inputs(json!({"apiToken": "env:PRISMA_API_KEY"})), &["apiToken"]).unwrap();
        let resolved: Value = resolve_inputs(inputs(json!({"apiToken": "env:PATH", "x": 1})), &["apiToken"]).unwrap();
        assert_eq!(resolved["apiToken"], json!(std::env::var("PATH").unwrap()));
        assert!(resolve_inputs::<Value>(inputs(json!({"apiToken": "clear"})), &["apiToken"]).is_err());
        assert!(resolve_inputs::<Value>(inputs(json!({"apiToken": "env:CAPGEN_SURELY_UNSET_VARIABLE"})), &["apiToken"]).is_err());
    }

    #[test]
    fn exchanges_round_trip_through_the_journal() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        let response = Response { operation: "op", status: 202, headers, body: bytes::Bytes::from_static(b"{\"id\":1}") };
        let journaled = serde_json::to_string(&Journaled::from_exchange(Some(Ok(response)))).unwrap();
        let back = serde_json::from_str::<Journaled>(&journaled).unwrap().into_exchange("op").unwrap().unwrap();
        assert_eq!((back.status, back.retry_after(), &back.body[..]), (202, Some(Duration::from_secs(3)), &b"{\"id\":1}"[..]));
        assert!(serde_json::from_str::<Journaled>(&serde_json::to_string(&Journaled::from_exchange(None)).unwrap()).unwrap().into_exchange("op").is_none());
    }

    #[test]
    fn options_and_trace_view() {
        let options = DurableOptions { max_steps: Some(5), retry_unmatched: Some(3), retry_after_seconds: Some(0.5), ..Default::default() }.run_options();
        assert_eq!((options.max_steps, options.retry_unmatched.map(|p| p.retry_after)), (5, Some(Duration::from_millis(500))));
        let entry = TraceEntry { workflow_id: "w".into(), step_id: "s".into(), attempt: 2, status: Some(200), duration: Duration::from_millis(7), outcome: Outcome::Retrying { delay: Duration::ZERO } };
        assert_eq!(trace_view(&[entry]), json!([{"workflowId": "w", "stepId": "s", "attempt": 2, "status": 200, "outcome": "retrying"}]));
    }
}
