//! Run-time support for generated Arazzo workflows.
//!
//! capgen compiles each workflow into one `async fn` that walks its steps in a loop; every
//! expression and criterion is already Rust by then. What remains generic lives here:
//! - [`RunOptions`] (step budget, deadline, the opt-in [`RetryPolicy`] for unmet success
//!   criteria) and [`WorkflowError`];
//! - [`Run`], the state of one run: it starts steps against the budget and deadline, sends
//!   requests (bounded by the deadline), waits before retries and records the [`Trace`];
//! - [`Executor`], what a run does with the world (exchanges, waits, the clock): [`InProcess`]
//!   here, a journaled Restate context in `restate` (feature `restate`). The compiled step code
//!   is generic over it, so the in-process and durable variants share one step body;
//! - value helpers for compiled expressions: JSON Pointer reads ([`pointer`]), comparisons with
//!   the Arazzo rules ([`compare`]: case-insensitive strings, numeric strings as numbers),
//!   [`truthy`], [`text`], and [`RegexCell`] for regex criteria.
//!
//! The trace never holds header values, tokens or bodies: only step ids, attempts, statuses,
//! durations and outcomes.

use std::fmt;
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Error, HttpClient, Request, Response};

/// How a workflow run is bounded. `Default`: 1000 steps, 5 minutes, no polling.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOptions {
    /// Steps started (retries included) before the run fails with
    /// [`WorkflowError::StepBudgetExhausted`]; bounds `goto` cycles.
    pub max_steps: u32,
    /// Wall-clock budget of the whole run, waits and requests included.
    pub deadline: Duration,
    /// When set, a step whose success criteria are unmet (its HTTP call itself succeeded) and
    /// that has no `retry` failure action of its own is re-run per this policy. This is how a
    /// workflow written without a retry (such as a polling step) can poll on request.
    pub retry_unmatched: Option<RetryPolicy>,
    /// Keep every step's outputs in [`Traced::step_outputs`] (off by default: it costs a copy
    /// of each output). They are values the upstream returned, so they are handed to the
    /// caller only, never logged or put in the trace.
    pub keep_step_outputs: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { max_steps: 1000, deadline: Duration::from_secs(300), retry_unmatched: None, keep_step_outputs: false }
    }
}

impl RunOptions {
    /// Sets the step budget.
    pub fn with_max_steps(mut self, max_steps: u32) -> Self {
        self.max_steps = max_steps;
        self
    }

    /// Sets the deadline of the whole run.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Keeps every step's outputs for [`Traced::step_outputs`].
    pub fn with_step_outputs(mut self, keep: bool) -> Self {
        self.keep_step_outputs = keep;
        self
    }

    /// Re-runs steps with unmet success criteria up to `limit` times, `retry_after` apart
    /// (a `Retry-After` response header overrides the delay).
    pub fn with_retry_unmatched(mut self, limit: u32, retry_after: Duration) -> Self {
        self.retry_unmatched = Some(RetryPolicy { limit, retry_after });
        self
    }
}

/// A bounded retry: at most `limit` retries, `retry_after` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub limit: u32,
    pub retry_after: Duration,
}

/// Why a workflow run failed. Messages name the step and never contain secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// A step's success criteria were not met and no action recovered.
    #[error("workflow `{workflow}` failed at step `{step}`{}: {reason}", status_text(*status))]
    StepFailed { workflow: String, step: String, status: Option<u16>, reason: String },
    /// The call itself failed (transport error, invalid request).
    #[error("workflow `{workflow}` failed at step `{step}`: {source}")]
    Call {
        workflow: String,
        step: String,
        #[source]
        source: Box<Error>,
    },
    /// A value the request needs (a path parameter) evaluated to nothing.
    #[error("workflow `{workflow}` failed at step `{step}`: no value for {what}")]
    MissingValue { workflow: String, step: String, what: String },
    /// A sub-workflow's inputs do not fit its input schema.
    #[error("workflow `{workflow}` failed at step `{step}`: invalid inputs for the called workflow: {message}")]
    InvalidInputs { workflow: String, step: String, message: String },
    /// A step output does not have the type its OpenAPI response schema gives it.
    #[error("workflow `{workflow}` failed at step `{step}`: output `{output}` does not match its schema: {message}")]
    OutputType { workflow: String, step: String, output: String, message: String },
    /// More steps were started than [`RunOptions::max_steps`] allows.
    #[error("workflow `{workflow}` stopped at step `{step}`: the step budget of {limit} steps is spent")]
    StepBudgetExhausted { workflow: String, step: String, limit: u32 },
    /// The run took longer than [`RunOptions::deadline`].
    #[error("workflow `{workflow}` stopped at step `{step}`: the deadline of {deadline:?} has passed")]
    DeadlineExceeded { workflow: String, step: String, deadline: Duration },
    /// The executor stopped the run (a durable run was cancelled or its journal failed).
    #[error("workflow `{workflow}` stopped at step `{step}`: {message}")]
    Interrupted { workflow: String, step: String, message: String },
}

/// A failed run as the error type exposed operations return (REST and MCP adapters map it).
impl From<WorkflowError> for Error {
    fn from(error: WorkflowError) -> Self {
        let message = error.to_string();
        let (workflow, step, step_status, timed_out) = match &error {
            WorkflowError::StepFailed { workflow, step, status, .. } => (workflow, step, *status, false),
            WorkflowError::Call { workflow, step, source } => (workflow, step, source.status(), source.is_timeout()),
            WorkflowError::DeadlineExceeded { workflow, step, .. } => (workflow, step, None, true),
            WorkflowError::MissingValue { workflow, step, .. }
            | WorkflowError::Interrupted { workflow, step, .. }
            | WorkflowError::InvalidInputs { workflow, step, .. }
            | WorkflowError::OutputType { workflow, step, .. }
            | WorkflowError::StepBudgetExhausted { workflow, step, .. } => (workflow, step, None, false),
        };
        Error::Workflow { workflow: workflow.clone(), step: step.clone(), step_status, message, timed_out }
    }
}

fn status_text(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl WorkflowError {
    /// The step the run stopped at.
    pub fn step(&self) -> &str {
        match self {
            WorkflowError::StepFailed { step, .. }
            | WorkflowError::Call { step, .. }
            | WorkflowError::MissingValue { step, .. }
            | WorkflowError::InvalidInputs { step, .. }
            | WorkflowError::OutputType { step, .. }
            | WorkflowError::StepBudgetExhausted { step, .. }
            | WorkflowError::Interrupted { step, .. }
            | WorkflowError::DeadlineExceeded { step, .. } => step,
        }
    }

    /// The HTTP status of the failing step's last response, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            WorkflowError::StepFailed { status, .. } => *status,
            WorkflowError::Call { source, .. } => source.status(),
            _ => None,
        }
    }
}

/// What happened to one step attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success criteria met.
    Succeeded,
    /// Criteria unmet; the step runs again after `delay`.
    Retrying { delay: Duration },
    /// Criteria unmet; a failure action moved the run on (`goto`).
    FailedOver,
    /// Criteria unmet; the run fails.
    Failed,
    /// The call, the budget or the deadline failed the run.
    Error,
}

/// One step attempt. Holds no header values, tokens or bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    pub workflow_id: String,
    pub step_id: String,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    pub status: Option<u16>,
    pub duration: Duration,
    pub outcome: Outcome,
}

/// Every step attempt of a run, in order.
pub type Trace = Vec<TraceEntry>;

/// A run's result together with its trace (what `<workflow>_traced` returns).
#[derive(Debug)]
pub struct Traced<T> {
    pub result: Result<T, WorkflowError>,
    pub trace: Trace,
    /// `<workflowId>.<stepId>` → that step's outputs, from its last successful attempt, when
    /// [`RunOptions::keep_step_outputs`] is set (else empty). Not `Debug`-printed.
    pub step_outputs: StepOutputs,
}

/// Step outputs kept by a run (see [`RunOptions::keep_step_outputs`]). `Debug` prints only the
/// step names: the values came from upstream and may be credentials.
#[derive(Clone, Default, PartialEq)]
pub struct StepOutputs(pub indexmap::IndexMap<String, serde_json::Map<String, Value>>);

impl StepOutputs {
    /// The outputs of `step_id` of `workflow_id`, if kept.
    pub fn get(&self, workflow_id: &str, step_id: &str) -> Option<&serde_json::Map<String, Value>> {
        self.0.get(&format!("{workflow_id}.{step_id}"))
    }
}

impl fmt::Debug for StepOutputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// What a run does with the world: exchanges with upstreams, waits, the clock. [`InProcess`]
/// runs them directly; a durable executor journals each one, so a replayed run reuses their
/// results instead of doing them again. Failures of the executor itself (a cancelled durable
/// run) are messages that stop the run ([`WorkflowError::Interrupted`]).
pub trait Executor: Send {
    /// Time since the run started.
    fn elapsed(&mut self) -> impl Future<Output = Result<Duration, String>> + Send;
    /// Sends `request`; `None` when it did not complete within `timeout`.
    fn exchange(&mut self, http: &HttpClient, request: Request, timeout: Duration) -> impl Future<Output = Result<Option<Result<Response, Error>>, String>> + Send;
    /// Waits `delay` before a retry.
    fn sleep(&mut self, delay: Duration) -> impl Future<Output = Result<(), String>> + Send;
    /// Called after each trace entry (a durable executor publishes the steps done so far).
    fn recorded(&mut self, _trace: &[TraceEntry]) {}
}

/// The in-process executor: requests go out directly, waits are `tokio` timers.
#[derive(Debug)]
pub struct InProcess {
    started: Instant,
}

impl InProcess {
    /// An executor whose clock starts now.
    pub fn new() -> Self {
        Self { started: Instant::now() }
    }
}

impl Default for InProcess {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor for InProcess {
    fn elapsed(&mut self) -> impl Future<Output = Result<Duration, String>> + Send {
        std::future::ready(Ok(self.started.elapsed()))
    }

    async fn exchange(&mut self, http: &HttpClient, request: Request, timeout: Duration) -> Result<Option<Result<Response, Error>>, String> {
        Ok(tokio::time::timeout(timeout, http.send_raw(request)).await.ok())
    }

    async fn sleep(&mut self, delay: Duration) -> Result<(), String> {
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// The state of one run: budget, deadline, the current step and the trace; its exchanges,
/// waits and clock go through the executor `X`.
#[derive(Debug)]
pub struct Run<X = InProcess> {
    options: RunOptions,
    executor: X,
    steps_started: u32,
    current: Option<Current>,
    /// The step a retry is pending for (so its next start counts as the next attempt).
    retrying: Option<(String, String, u32)>,
    trace: Trace,
    step_outputs: StepOutputs,
}

/// A suspended step (see [`Run::suspend`]).
#[derive(Debug)]
pub struct StepToken(Option<Current>);

#[derive(Debug)]
struct Current {
    workflow: String,
    step: String,
    attempt: u32,
    started: Instant,
}

impl Run {
    /// An in-process run bounded by `options`; the deadline starts now.
    pub fn new(options: &RunOptions) -> Self {
        Self::with_executor(options, InProcess::new())
    }
}

impl<X: Executor> Run<X> {
    /// A run bounded by `options` whose exchanges, waits and clock go through `executor`.
    pub fn with_executor(options: &RunOptions, executor: X) -> Self {
        Self {
            options: options.clone(),
            executor,
            steps_started: 0,
            current: None,
            retrying: None,
            trace: Vec::new(),
            step_outputs: StepOutputs::default(),
        }
    }

    /// Pairs `result` with the trace (and the kept step outputs).
    pub fn finish<T>(self, result: Result<T, WorkflowError>) -> Traced<T> {
        Traced { result, trace: self.trace, step_outputs: self.step_outputs }
    }

    /// Whether step outputs are kept ([`RunOptions::keep_step_outputs`]).
    pub fn keeps_step_outputs(&self) -> bool {
        self.options.keep_step_outputs
    }

    /// Keeps the current step's outputs (called only when [`Run::keeps_step_outputs`]).
    pub fn keep_step_outputs<const N: usize>(&mut self, outputs: [(&str, Value); N]) {
        let (workflow, step) = self.names();
        let kept = outputs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        self.step_outputs.0.insert(format!("{workflow}.{step}"), kept);
    }

    /// The trace so far.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// The HTTP status of the last step attempt that had one (`$statusCode` after a workflow
    /// step reads the called workflow's last status).
    pub fn last_status(&self) -> Option<u16> {
        self.trace.iter().rev().find_map(|e| e.status)
    }

    /// Starts `step` of `workflow`, checking the step budget and the deadline.
    pub async fn start(&mut self, workflow: &str, step: &str) -> Result<(), WorkflowError> {
        let attempt = match self.retrying.take() {
            Some((w, s, attempt)) if w == workflow && s == step => attempt + 1,
            _ => 1,
        };
        self.current = Some(Current { workflow: workflow.to_owned(), step: step.to_owned(), attempt, started: Instant::now() });
        if self.steps_started >= self.options.max_steps {
            let limit = self.options.max_steps;
            self.record(None, Outcome::Error);
            return Err(WorkflowError::StepBudgetExhausted { workflow: workflow.to_owned(), step: step.to_owned(), limit });
        }
        self.steps_started += 1;
        if self.remaining().await?.is_zero() {
            return Err(self.deadline_exceeded());
        }
        Ok(())
    }

    /// Time left before the deadline (zero once it has passed).
    async fn remaining(&mut self) -> Result<Duration, WorkflowError> {
        match self.executor.elapsed().await {
            Ok(elapsed) => Ok(self.options.deadline.saturating_sub(elapsed)),
            Err(message) => Err(self.interrupted(message)),
        }
    }

    fn interrupted(&mut self, message: String) -> WorkflowError {
        self.record(None, Outcome::Error);
        let (workflow, step) = self.names();
        WorkflowError::Interrupted { workflow, step, message }
    }

    /// Sends `request` through `http`, bounded by the deadline. Any status is a response; only
    /// transport failures, timeouts, bodies over the client's size limit and 2xx bodies that
    /// claim to be JSON but are not (the step's criteria and outputs cannot be read) are errors.
    pub async fn send(&mut self, http: &HttpClient, request: Request) -> Result<Response, WorkflowError> {
        let remaining = self.remaining().await?;
        let sent = match self.executor.exchange(http, request, remaining).await {
            Ok(sent) => sent,
            Err(message) => return Err(self.interrupted(message)),
        };
        match sent.map(|result| result.and_then(check_json)) {
            None => Err(self.deadline_exceeded()),
            Some(Err(source)) => {
                self.record(source.status(), Outcome::Error);
                let (workflow, step) = self.names();
                Err(WorkflowError::Call { workflow, step, source: Box::new(source) })
            }
            Some(Ok(response)) => Ok(response),
        }
    }

    /// The current step, to [`Run::resume`] after a called workflow ran its own steps.
    pub fn suspend(&self) -> StepToken {
        StepToken(self.current.as_ref().map(|c| Current { workflow: c.workflow.clone(), step: c.step.clone(), attempt: c.attempt, started: c.started }))
    }

    /// Makes `token`'s step current again (after a workflow step's callee returned).
    pub fn resume(&mut self, token: StepToken) {
        if let Some(current) = token.0 {
            self.current = Some(current);
        }
    }

    /// Records that the current step met its success criteria.
    pub fn succeeded(&mut self, status: Option<u16>) {
        self.record(status, Outcome::Succeeded);
    }

    /// Records that the current step failed and a failure action moves the run on.
    pub fn failed_over(&mut self, status: Option<u16>) {
        self.record(status, Outcome::FailedOver);
    }

    /// Records that the current step failed the run because `criterion` was not met.
    pub fn failed(&mut self, status: Option<u16>, criterion: &str) -> WorkflowError {
        self.fail(status, format!("success criterion `{criterion}` was not met"))
    }

    /// Records that a failure action of type `end` ended the run.
    pub fn ended_by(&mut self, status: Option<u16>, criterion: &str, action: &str) -> WorkflowError {
        self.fail(status, format!("success criterion `{criterion}` was not met; failure action `{action}` ended the workflow"))
    }

    /// A value needed by the request is missing.
    pub fn missing(&mut self, what: &str) -> WorkflowError {
        self.record(None, Outcome::Error);
        let (workflow, step) = self.names();
        WorkflowError::MissingValue { workflow, step, what: what.to_owned() }
    }

    /// A called workflow's inputs do not deserialize.
    pub fn invalid_inputs(&mut self, error: &serde_json::Error) -> WorkflowError {
        self.record(None, Outcome::Error);
        let (workflow, step) = self.names();
        WorkflowError::InvalidInputs { workflow, step, message: error.to_string() }
    }

    /// A step output converted to its schema type `T`: `null` (absent) is `None`; a value of
    /// another shape fails the run with [`WorkflowError::OutputType`] naming the step and output.
    pub fn typed_output<T: serde::de::DeserializeOwned>(&mut self, output: &str, value: Value) -> Result<Option<T>, WorkflowError> {
        if value.is_null() {
            return Ok(None);
        }
        serde_json::from_value(value).map(Some).map_err(|error| {
            self.record(None, Outcome::Error);
            let (workflow, step) = self.names();
            WorkflowError::OutputType { workflow, step, output: output.to_owned(), message: error.to_string() }
        })
    }

    /// A `retry` failure action: waits `retry_after` (a `Retry-After` header wins) and lets
    /// the step run again, unless it has been retried `limit` times already.
    pub async fn retry(
        &mut self,
        status: Option<u16>,
        criterion: &str,
        retry_after: Option<Duration>,
        limit: u32,
        response: Option<&Response>,
    ) -> Result<(), WorkflowError> {
        let delay = response.and_then(Response::retry_after).or(retry_after).unwrap_or(Duration::ZERO);
        self.wait_and_retry(status, criterion, delay, limit).await
    }

    /// The [`RunOptions::retry_unmatched`] policy for a step without a retry action: retry when
    /// the policy is set, the HTTP call succeeded (2xx) and the policy's limit is not reached;
    /// otherwise fail the run.
    pub async fn retry_unmatched(&mut self, status: Option<u16>, criterion: &str, response: Option<&Response>) -> Result<(), WorkflowError> {
        let Some(policy) = self.options.retry_unmatched else {
            return Err(self.failed(status, criterion));
        };
        if status.is_some_and(|s| !(200..300).contains(&s)) {
            return Err(self.failed(status, criterion));
        }
        let delay = response.and_then(Response::retry_after).unwrap_or(policy.retry_after);
        self.wait_and_retry(status, criterion, delay, policy.limit).await
    }

    async fn wait_and_retry(&mut self, status: Option<u16>, criterion: &str, delay: Duration, limit: u32) -> Result<(), WorkflowError> {
        let attempt = self.current.as_ref().map_or(1, |c| c.attempt);
        if attempt > limit {
            let retries = if limit == 1 { "1 retry".to_owned() } else { format!("{limit} retries") };
            return Err(self.fail(status, format!("success criterion `{criterion}` was still not met after {retries}")));
        }
        if delay > self.remaining().await? {
            return Err(self.deadline_exceeded());
        }
        self.record(status, Outcome::Retrying { delay });
        if let Some(current) = &self.current {
            self.retrying = Some((current.workflow.clone(), current.step.clone(), current.attempt));
        }
        match self.executor.sleep(delay).await {
            Ok(()) => Ok(()),
            Err(message) => Err(self.interrupted(message)),
        }
    }

    fn fail(&mut self, status: Option<u16>, reason: String) -> WorkflowError {
        self.record(status, Outcome::Failed);
        let (workflow, step) = self.names();
        WorkflowError::StepFailed { workflow, step, status, reason }
    }

    fn deadline_exceeded(&mut self) -> WorkflowError {
        self.record(None, Outcome::Error);
        let (workflow, step) = self.names();
        WorkflowError::DeadlineExceeded { workflow, step, deadline: self.options.deadline }
    }

    fn names(&self) -> (String, String) {
        self.current.as_ref().map(|c| (c.workflow.clone(), c.step.clone())).unwrap_or_default()
    }

    /// Appends a trace entry for the current step and logs it.
    fn record(&mut self, status: Option<u16>, outcome: Outcome) {
        let Some(current) = &self.current else { return };
        let entry = TraceEntry {
            workflow_id: current.workflow.clone(),
            step_id: current.step.clone(),
            attempt: current.attempt,
            status,
            duration: current.started.elapsed(),
            outcome,
        };
        tracing::info!(
            workflow = %entry.workflow_id,
            step = %entry.step_id,
            attempt = entry.attempt,
            status = ?entry.status,
            duration = ?entry.duration,
            outcome = ?entry.outcome,
            "workflow step"
        );
        self.trace.push(entry);
        self.executor.recorded(&self.trace);
    }
}

/// A 2xx response whose `Content-Type` is JSON (`application/json`, `*+json`) must hold JSON;
/// otherwise [`Error::Decode`]. Other responses pass unchanged.
fn check_json(response: Response) -> Result<Response, Error> {
    let json = response.header("content-type").is_some_and(|value| {
        let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        essence == "application/json" || essence.ends_with("+json")
    });
    if !response.is_success() || !json || response.body.trim_ascii().is_empty() {
        return Ok(response);
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(&response.body) {
        Ok(_) => Ok(response),
        Err(error) => Err(Error::Decode {
            operation: response.operation,
            status: response.status,
            message: error.to_string(),
            body_excerpt: crate::error::truncate(&response.text(), 512),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Value helpers used by compiled expressions
// ---------------------------------------------------------------------------------------------

/// Inputs for a workflow run by another (`dependsOn`, or a `goto`/`retry` action naming a
/// workflow): the running workflow's inputs, matched by name; names the target does not declare
/// are ignored.
pub fn inputs_for<T: serde::de::DeserializeOwned>(inputs: &impl serde::Serialize) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::to_value(inputs)?)
}

/// A response body as JSON: empty → `null`, JSON → its value, anything else → its text.
pub fn body_json(response: &Response) -> Value {
    if response.body.trim_ascii().is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&response.body).unwrap_or_else(|_| Value::String(response.text()))
}

/// A response header as a JSON string (`null` when absent). Names compare case-insensitively.
pub fn header(response: &Response, name: &str) -> Value {
    response.header(name).map_or(Value::Null, |v| Value::String(v.to_owned()))
}

/// A typed step output as JSON again (for expressions that read it): `None` is `null`.
pub fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The value at a JSON Pointer (`/data/0/status`), or `null`.
pub fn pointer(value: &Value, pointer: &str) -> Value {
    value.pointer(pointer).cloned().unwrap_or(Value::Null)
}

/// Sets the value at a JSON Pointer (a payload `replacement`), creating objects on the way;
/// `-` appends to an array. Returns `false` when the pointer cannot be followed.
pub fn replace(target: &mut Value, pointer: &str, value: Value) -> bool {
    if pointer.is_empty() {
        *target = value;
        return true;
    }
    let Some(rest) = pointer.strip_prefix('/') else { return false };
    let tokens: Vec<String> = rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
    let mut at = target;
    for (i, token) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        if at.is_null() {
            *at = Value::Object(serde_json::Map::new());
        }
        at = match at {
            Value::Object(map) => {
                if last {
                    map.insert(token.clone(), value);
                    return true;
                }
                map.entry(token.clone()).or_insert(Value::Null)
            }
            Value::Array(items) => {
                let index = if token == "-" { items.len() } else if let Ok(i) = token.parse::<usize>() { i } else { return false };
                if index == items.len() {
                    items.push(Value::Null);
                }
                let Some(slot) = items.get_mut(index) else { return false };
                if last {
                    *slot = value;
                    return true;
                }
                slot
            }
            _ => return false,
        };
    }
    false
}

/// A value as text: strings as they are, `null` empty, others as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Like [`text`], but `None` for `null` (an optional header or query value that is absent).
pub fn text_opt(value: &Value) -> Option<String> {
    (!value.is_null()).then(|| text(value))
}

/// A path parameter's value, percent-encoded; `None` when it is `null` or empty.
pub fn path_segment(value: &Value) -> Option<String> {
    let text = text(value);
    (!text.is_empty()).then(|| crate::encode_path(&text))
}

/// Whether a value counts as true in a condition: `true`, a non-zero number, a non-empty
/// string, array or object.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// The length of an array, string or object (legacy `<path>.length` criteria); `null` otherwise.
pub fn length(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::from(items.len()),
        Value::String(s) => Value::from(s.chars().count()),
        Value::Object(map) => Value::from(map.len()),
        _ => Value::Null,
    }
}

/// A comparison operator of a simple condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Compares two values the Arazzo way: numbers (and numeric strings) as numbers, other
/// strings case-insensitively, booleans and `null` by equality (they have no order). Values of
/// different kinds are unequal.
pub fn compare(left: &Value, op: Cmp, right: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (number(left), number(right)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => match (left, right) {
            (Value::String(a), Value::String(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
            (a, b) if a == b => Some(Ordering::Equal),
            _ => None,
        },
    };
    let ordered = !matches!((left, right), (Value::Bool(_) | Value::Null, _) | (_, Value::Bool(_) | Value::Null));
    match (op, ordering) {
        (Cmp::Eq, Some(o)) => o == Ordering::Equal,
        (Cmp::Ne, Some(o)) => o != Ordering::Equal,
        (Cmp::Ne, None) => true,
        (_, None) => false,
        (Cmp::Lt, Some(o)) => ordered && o == Ordering::Less,
        (Cmp::Le, Some(o)) => ordered && o != Ordering::Greater,
        (Cmp::Gt, Some(o)) => ordered && o == Ordering::Greater,
        (Cmp::Ge, Some(o)) => ordered && o != Ordering::Less,
    }
}

/// A number, or a string that reads as one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// The first criterion (by its text) that does not hold, or `None` when all hold.
pub fn first_unmet<const N: usize>(criteria: [(&'static str, bool); N]) -> Option<&'static str> {
    criteria.into_iter().find(|(_, holds)| !holds).map(|(text, _)| text)
}

/// A regular expression compiled on first use, usable in a `static` (regex criteria).
pub struct RegexCell {
    pattern: &'static str,
    compiled: OnceLock<Option<regex::Regex>>,
}

impl RegexCell {
    /// A cell for `pattern`; it is compiled on the first match.
    pub const fn new(pattern: &'static str) -> Self {
        Self { pattern, compiled: OnceLock::new() }
    }

    /// Whether the value's text (see [`text`]) matches. A pattern that does not compile (capgen
    /// checks them at generation time) matches nothing.
    pub fn is_match(&self, value: &Value) -> bool {
        match self.compiled.get_or_init(|| regex::Regex::new(self.pattern).ok()) {
            Some(regex) => regex.is_match(&text(value)),
            None => false,
        }
    }
}

impl fmt::Debug for RegexCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RegexCell").field(&self.pattern).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparisons_follow_the_arazzo_rules() {
        assert!(compare(&json!("Completed"), Cmp::Eq, &json!("completed")));
        assert!(compare(&json!("10"), Cmp::Gt, &json!(9)));
        assert!(compare(&json!(202), Cmp::Eq, &json!("202")));
        assert!(compare(&json!(1.5), Cmp::Lt, &json!(2)));
        assert!(!compare(&json!(null), Cmp::Eq, &json!("x")));
        assert!(compare(&json!(null), Cmp::Ne, &json!("x")));
        assert!(compare(&json!(null), Cmp::Eq, &json!(null)));
        assert!(!compare(&json!(true), Cmp::Lt, &json!(true)));
        assert!(compare(&json!(true), Cmp::Eq, &json!(true)));
        assert!(!compare(&json!("a"), Cmp::Eq, &json!(1)));
        assert!(compare(&json!("abc"), Cmp::Lt, &json!("ABD")));
    }

    #[test]
    fn pointers_read_and_replace() {
        let body = json!({"data": [{"status": "completed"}]});
        assert_eq!(pointer(&body, "/data/0/status"), json!("completed"));
        assert_eq!(pointer(&body, "/data/1/status"), Value::Null);
        let mut payload = json!({"a": {"b": 1}, "list": []});
        assert!(replace(&mut payload, "/a/b", json!(2)));
        assert!(replace(&mut payload, "/c/d", json!("x")));
        assert!(replace(&mut payload, "/list/-", json!(3)));
        assert!(!replace(&mut payload, "/a/b/c", json!(0)));
        assert_eq!(payload, json!({"a": {"b": 2}, "list": [3], "c": {"d": "x"}}));
    }

    #[test]
    fn text_truthiness_and_regex() {
        assert_eq!(text(&json!("x")), "x");
        assert_eq!(text(&json!(3)), "3");
        assert_eq!(text_opt(&Value::Null), None);
        assert_eq!(path_segment(&json!("a b")), Some("a%20b".to_owned()));
        assert_eq!(path_segment(&json!("")), None);
        assert!(truthy(&json!([1])) && !truthy(&json!(0)) && !truthy(&Value::Null));
        assert_eq!(length(&json!([1, 2])), json!(2));
        static ID: RegexCell = RegexCell::new("^bkp_[0-9]+$");
        assert!(ID.is_match(&json!("bkp_12")));
        assert!(!ID.is_match(&json!("x")));
        assert_eq!(first_unmet([("a", true), ("b", false)]), Some("b"));
    }

    #[tokio::test]
    async fn typed_outputs_convert_or_fail_naming_step_and_output() {
        let mut run = Run::new(&RunOptions::default());
        run.start("w", "createBackup").await.unwrap();
        assert_eq!(run.typed_output::<String>("backupId", json!("bkp_1")).unwrap(), Some("bkp_1".to_owned()));
        assert_eq!(run.typed_output::<String>("backupId", Value::Null).unwrap(), None);
        assert_eq!(run.typed_output::<Vec<i64>>("sizes", json!([1, 2])).unwrap(), Some(vec![1, 2]));
        // Numbers keep their JSON text (`1` stays `1`).
        let n = run.typed_output::<serde_json::Number>("size", json!(1)).unwrap();
        assert_eq!(to_json(&n), json!(1));
        assert_eq!(serde_json::to_string(&to_json(&n)).unwrap(), "1");
        let error = run.typed_output::<String>("backupId", json!(42)).unwrap_err();
        assert!(matches!(&error, WorkflowError::OutputType { workflow, step, output, .. }
            if workflow == "w" && step == "createBackup" && output == "backupId"), "{error:?}");
        assert_eq!(
            error.to_string(),
            "workflow `w` failed at step `createBackup`: output `backupId` does not match its schema: invalid type: integer `42`, expected a string"
        );
        assert_eq!(run.trace().last().map(|e| e.outcome.clone()), Some(Outcome::Error));
    }

    #[tokio::test]
    async fn budget_retries_and_trace() {
        let options = RunOptions::default().with_max_steps(3).with_retry_unmatched(1, Duration::ZERO);
        let mut run = Run::new(&options);
        run.start("w", "a").await.unwrap();
        run.retry_unmatched(Some(200), "c", None).await.unwrap();
        run.start("w", "a").await.unwrap();
        let error = run.retry_unmatched(Some(200), "c", None).await.unwrap_err();
        assert!(error.to_string().contains("still not met after 1 retry"), "{error}");
        run.start("w", "b").await.unwrap();
        run.succeeded(Some(200));
        let error = run.start("w", "c").await.unwrap_err();
        assert!(matches!(error, WorkflowError::StepBudgetExhausted { limit: 3, .. }));
        let attempts: Vec<_> = run.trace().iter().map(|e| (e.step_id.as_str(), e.attempt, e.outcome.clone())).collect();
        assert_eq!(attempts, vec![
            ("a", 1, Outcome::Retrying { delay: Duration::ZERO }),
            ("a", 2, Outcome::Failed),
            ("b", 1, Outcome::Succeeded),
            ("c", 1, Outcome::Error),
        ]);
        // Without the policy, unmet criteria fail at once; a non-2xx status never polls.
        let mut run = Run::new(&RunOptions::default());
        run.start("w", "a").await.unwrap();
        let error = run.retry_unmatched(Some(200), "$statusCode == 202", None).await.unwrap_err();
        assert_eq!(error.to_string(), "workflow `w` failed at step `a` (HTTP 200): success criterion `$statusCode == 202` was not met");
    }

    #[tokio::test]
    async fn retries_past_the_deadline_fail_fast() {
        let mut run = Run::new(&RunOptions::default().with_deadline(Duration::from_millis(50)));
        run.start("w", "a").await.unwrap();
        let error = run.retry(Some(200), "c", Some(Duration::from_secs(60)), 3, None).await.unwrap_err();
        assert!(matches!(error, WorkflowError::DeadlineExceeded { .. }));
    }

    #[test]
    fn two_xx_bodies_that_claim_json_must_be_json() {
        let response = |status: u16, content_type: &str, body: &'static str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("content-type", content_type.parse().unwrap());
            Response { operation: "op", status, headers, body: bytes::Bytes::from_static(body.as_bytes()) }
        };
        let error = check_json(response(200, "application/json; charset=utf-8", r#"{"data": ["#)).unwrap_err();
        assert!(matches!(&error, Error::Decode { operation: "op", status: 200, .. }), "{error:?}");
        assert!(check_json(response(202, "application/problem+json", "{} trailing")).is_err());
        // JSON, empty, non-JSON media types and error statuses pass as they are.
        assert!(check_json(response(200, "application/json", r#"{"ok": true}"#)).is_ok());
        assert!(check_json(response(200, "application/json", "")).is_ok());
        assert!(check_json(response(200, "text/plain", "{not json")).is_ok());
        assert!(check_json(response(500, "application/json", "{not json")).is_ok());
    }
}
