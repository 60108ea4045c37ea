//! Workflow IR: Arazzo workflows lowered for the workflow emitter ([`crate::emit::workflow`]).
//!
//! Each workflow becomes a [`Workflow`]: typed inputs from its JSON Schema, steps that call a
//! consumed operation ([`Call`], resolved through the OpenAPI source description and matched to
//! the capability's operation) or another workflow, success criteria and actions, and outputs.
//! Every runtime expression is turned into a [`Value`] here, so the emitter only writes Rust.
//!
//! Lowering never panics. Whatever cannot be compiled (an operation the capability does not
//! consume, `goto` to another workflow, an XPath criterion, …) sets [`Workflow::unsupported`] to
//! a precise reason; the emitter then leaves that workflow out with a doc comment.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::expr::{self, Check as ParsedCheck, CompareOp, Condition, Expr, JsonPointer, Literal, Operand, Source, WorkflowField};
use crate::parse::arazzo::LoadedArazzo;
use crate::ir::names;
use crate::ir::{ConsumedApi, FixedParam, Operation, ParamLocation, PathPart, SpecValue};
use crate::parse::arazzo::{self as az, ActionType, ArazzoDoc, ParameterIn, Reusable};
use crate::parse::openapi::{OaOperation, OpenApiDoc, Schema};

/// One Arazzo workflow: one `async fn` (plus a `_traced` twin) in the `workflows` module.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub workflow_id: String,
    /// Where the workflow is written (for diagnostics about it).
    pub span: crate::diagnostics::Span,
    /// Rust function name (`backup_and_restore_database`).
    pub fn_name: String,
    /// Prefix of the generated types (`BackupAndRestoreDatabase` → `…Inputs`, `…Outputs`).
    pub type_prefix: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub inputs: Vec<InputField>,
    pub steps: Vec<Step>,
    pub outputs: Vec<NamedValue>,
    /// `dependsOn`: workflows (indices) run first, with this workflow's inputs matched by name,
    /// and the local holding each one's outputs (for `$workflows.<id>.outputs.*`).
    pub depends_on: Vec<(usize, String)>,
    /// Why this workflow cannot be generated; the emitter skips it when set.
    pub unsupported: Option<String>,
    /// Things a reader should know (legacy forms accepted, settings ignored).
    pub notes: Vec<String>,
}

/// One property of the inputs schema.
#[derive(Clone, Debug, PartialEq)]
pub struct InputField {
    pub name: String,
    pub rust_name: String,
    pub ty: InputType,
    pub required: bool,
    pub description: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    String,
    Integer,
    Number,
    Boolean,
    /// Objects, arrays and anything else: a `serde_json::Value`.
    Json,
}

/// A named value: a step or workflow output.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedValue {
    pub name: String,
    /// The Rust name: a field of the outputs struct, or the local variable holding a step output.
    pub rust_name: String,
    /// The expression as written, for doc comments.
    pub source: String,
    pub value: Value,
    /// The Rust type the value gets (inside an `Option`), or why it stays JSON.
    pub ty: OutputType,
}

/// The type of a step or workflow output, resolved from the OpenAPI response schema (or the
/// input, or the step output it names). Typed outputs are `Option<T>`: `None` (`null`) where the
/// value is missing, since presence is not proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputType {
    /// `String` (also string enums and formats such as `date-time`).
    String,
    /// `i64`.
    Integer,
    /// `serde_json::Number`: typed, and `1` stays `1` (an `f64` would print `1.0`).
    Number,
    Boolean,
    /// `Vec<T>` of a typed item.
    Array(Box<OutputType>),
    /// `serde_json::Value`, for this reason (rendered as "untyped: <reason>").
    Untyped(String),
}

impl OutputType {
    /// The reason an untyped output stays JSON.
    pub fn untyped_reason(&self) -> Option<&str> {
        match self {
            OutputType::Untyped(reason) => Some(reason),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub step_id: String,
    /// Variant of the generated step enum (`CreateBackup`).
    pub variant: String,
    pub description: Option<String>,
    pub kind: StepKind,
    /// All must hold for success. Empty for a workflow step without criteria.
    pub criteria: Vec<Criterion>,
    pub outputs: Vec<NamedValue>,
    /// Step actions first, then workflow-level actions not overridden by name.
    pub on_success: Vec<Action>,
    pub on_failure: Vec<Action>,
}

impl Step {
    /// Whether a failure action retries (then the run options' polling policy does not apply).
    pub fn has_retry(&self) -> bool {
        self.on_failure.iter().any(|a| matches!(a.kind, ActionKind::Retry { .. }))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// An HTTP call through a capability client.
    Call(Box<Call>),
    /// Runs another workflow (an index into the lowered workflows) with these inputs.
    Workflow { index: usize, inputs: Vec<(String, Value)>, result_var: String },
}

/// A request to a consumed operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Field of `client::Clients` (the consumed namespace's module name).
    pub client: String,
    /// The consumed operation's name (for errors and logs).
    pub operation: String,
    /// The OpenAPI operationId the step named.
    pub operation_id: String,
    pub method: String,
    pub path_template: String,
    pub path: Vec<PathSegment>,
    pub query: Vec<(String, Value)>,
    pub headers: Vec<(String, Value)>,
    /// Sent as one `Cookie` header.
    pub cookies: Vec<(String, Value)>,
    pub body: Option<CallBody>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathSegment {
    Text(String),
    Param { name: String, value: Value },
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallBody {
    pub encoding: BodyEncoding,
    pub payload: Value,
    /// JSON Pointer targets set after the payload is built.
    pub replacements: Vec<(String, Value)>,
}

/// How a step's request body is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyEncoding {
    /// JSON, sent with this content type (`application/json`, a vendor `+json` type, …).
    Json { content_type: String },
    /// `application/x-www-form-urlencoded`.
    Form,
    /// The payload as text (`text/*`, XML), with this content type.
    Text { content_type: String },
}

/// A value computed at run time; every variant evaluates to a `serde_json::Value`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Literal(Json),
    /// `$statusCode`
    StatusCode,
    /// `$statusCode` after a workflow step: the called workflow's last HTTP status.
    LastStatus,
    /// `$url` of the current request.
    Url,
    /// `$response.body[#pointer]`
    ResponseBody(Option<String>),
    /// `$response.header.X`
    ResponseHeader(String),
    /// `$inputs.x[#pointer]` (a field of the inputs struct).
    Input { field: String, pointer: Option<String> },
    /// `$steps.s.outputs.x[#pointer]` (a local variable).
    Local { var: String, pointer: Option<String> },
    /// Text with embedded values (`Bearer {$inputs.apiToken}`): always a string.
    Text(Vec<TextPart>),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
    /// The length of an array or string (legacy `<path>.length` criteria).
    Length(Box<Value>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum TextPart {
    Literal(String),
    Value(Value),
}

/// A success criterion or action criterion.
#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    /// The condition as written (error messages quote it).
    pub text: String,
    pub check: Check,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Condition(Cond),
    /// The value's text matches the pattern.
    Regex { value: Value, pattern: String },
    /// The RFC 9535 query selects at least one node.
    JsonPath { value: Value, query: String },
    /// No criteria were written: the status is 2xx.
    Success2xx,
}

/// A compiled simple condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Truthy(Value),
    /// `$statusCode <op> <integer>`: compiled to a plain integer comparison.
    Status(CompareOp, u64),
    Compare { left: Value, op: CompareOp, right: Value },
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub name: String,
    pub kind: ActionKind,
    /// All must hold for the action to apply; empty means always.
    pub criteria: Vec<Criterion>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    End,
    /// Go to the step at this index.
    Goto(usize),
    /// Transfer to the workflow at this index: it runs with this workflow's inputs (matched by
    /// name), then this workflow ends with its outputs as they stand.
    GotoWorkflow(usize),
    /// Run the step at `step` again (the current one unless the action names another), after
    /// running the workflow at `workflow` when the action names one.
    Retry { after: Option<f64>, limit: u32, step: usize, workflow: Option<usize> },
}

/// Lowers every workflow of the loaded Arazzo documents.
pub fn lower(arazzo: &[LoadedArazzo], openapi: &[OpenApiDoc], apis: &[ConsumedApi]) -> Vec<Workflow> {
    // Names and global indices first, so workflow steps can refer to any workflow.
    let mut fn_names = BTreeSet::new();
    let mut type_names = BTreeSet::new();
    let mut index = Vec::new();
    for (d, loaded) in arazzo.iter().enumerate() {
        for (w, workflow) in loaded.doc.workflows.iter().enumerate() {
            let fn_name = names::unique(names::snake_ident(&workflow.workflow_id), &mut fn_names);
            let type_prefix = names::unique(names::camel_ident(&workflow.workflow_id), &mut type_names);
            index.push((d, w, fn_name, type_prefix));
        }
    }
    let mut out: Vec<Workflow> = index
        .iter()
        .map(|(d, w, fn_name, type_prefix)| {
            let loaded = &arazzo[*d];
            let source = &loaded.doc.workflows[*w];
            let mut workflow = Workflow {
                workflow_id: source.workflow_id.clone(),
                span: loaded.doc.file.span(&source.pointer),
                fn_name: fn_name.clone(),
                type_prefix: type_prefix.clone(),
                summary: source.summary.clone(),
                description: source.description.clone(),
                inputs: Vec::new(),
                steps: Vec::new(),
                outputs: Vec::new(),
                depends_on: Vec::new(),
                unsupported: None,
                notes: Vec::new(),
            };
            // A workflow of this document, or `$sourceDescriptions.<source>.<id>` of a `type: arazzo` source.
            let find_workflow = |id: &str| {
                let (doc, id) = match crate::expr::parse_expression(id) {
                    Ok(crate::expr::Expr::SourceDescription { source, reference }) => {
                        let doc = loaded.workflow_sources.iter().find(|(name, _)| *name == source).and_then(|(_, doc)| *doc)?;
                        (doc, reference)
                    }
                    _ => (*d, id.to_string()),
                };
                index.iter().position(|(dd, ww, _, _)| *dd == doc && arazzo[*dd].doc.workflows[*ww].workflow_id == id)
            };
            let mut lowering = Lowering { doc: &loaded.doc, loaded, openapi, apis, workflow: source, find_workflow: &find_workflow, notes: Vec::new(), locals: IndexMap::new() };
            match lowering.workflow() {
                Ok((inputs, steps, outputs, depends_on)) => {
                    workflow.inputs = inputs;
                    workflow.steps = steps;
                    workflow.outputs = outputs;
                    workflow.depends_on = depends_on;
                }
                Err(reason) => workflow.unsupported = Some(reason),
            }
            workflow.notes = lowering.notes;
            workflow
        })
        .collect();
    mark_unsupported_callers(&mut out);
    out
}

/// A workflow that runs an unsupported workflow (a workflow step, a `goto`/`retry` action naming
/// a workflow, `dependsOn`), or runs itself (directly or not), is unsupported too.
fn mark_unsupported_callers(workflows: &mut [Workflow]) {
    let calls: Vec<Vec<usize>> = workflows
        .iter()
        .map(|w| {
            let steps = w.steps.iter().filter_map(|s| match &s.kind {
                StepKind::Workflow { index, .. } => Some(*index),
                StepKind::Call(_) => None,
            });
            let actions = w.steps.iter().flat_map(|s| s.on_success.iter().chain(&s.on_failure)).filter_map(|a| match a.kind {
                ActionKind::GotoWorkflow(index) | ActionKind::Retry { workflow: Some(index), .. } => Some(index),
                _ => None,
            });
            steps.chain(actions).chain(w.depends_on.iter().map(|(index, _)| *index)).collect()
        })
        .collect();
    for start in 0..workflows.len() {
        if workflows[start].unsupported.is_some() {
            continue;
        }
        // Depth-first over the calls from `start`.
        let mut stack: Vec<usize> = calls[start].clone();
        let mut seen = BTreeSet::new();
        while let Some(next) = stack.pop() {
            if !seen.insert(next) {
                continue;
            }
            let Some(callee) = workflows.get(next) else { continue };
            let reason = if next == start {
                Some(format!("workflow `{}` calls itself through workflow steps, which capgen does not compile", workflows[start].workflow_id))
            } else {
                callee.unsupported.as_ref().map(|_| format!("it calls workflow `{}`, which cannot be generated", callee.workflow_id))
            };
            if let Some(reason) = reason {
                workflows[start].unsupported = Some(reason);
                break;
            }
            stack.extend(calls[next].iter().copied());
        }
    }
}

/// Where an expression is evaluated, which decides what it may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Parameters and request bodies of an operation step (before the call).
    Request,
    /// Criteria, outputs and actions of an operation step (after the call).
    Response,
    /// Parameters of a workflow step.
    WorkflowStepInput,
    /// Criteria, outputs and actions of a workflow step: `$outputs.x` reads the called workflow's.
    WorkflowStepResult,
    /// The workflow's own outputs.
    WorkflowOutputs,
}

type Lowered = (Vec<InputField>, Vec<Step>, Vec<NamedValue>, Vec<(usize, String)>);

struct Lowering<'a> {
    doc: &'a ArazzoDoc,
    loaded: &'a LoadedArazzo,
    openapi: &'a [OpenApiDoc],
    apis: &'a [ConsumedApi],
    workflow: &'a az::Workflow,
    find_workflow: &'a dyn Fn(&str) -> Option<usize>,
    notes: Vec<String>,
    /// stepId → (output name → local variable), declared before any expression is lowered.
    locals: IndexMap<String, IndexMap<String, String>>,
}

/// The current step's context for expressions.
#[derive(Default)]
struct StepScope {
    place: Option<Place>,
    /// The request's parameters by location, for `$request.*`.
    path: Vec<(String, Value)>,
    query: Vec<(String, Value)>,
    headers: Vec<(String, Value)>,
    body: Option<Value>,
    /// The HTTP method, for `$method`.
    method: Option<String>,
    /// The variable holding a called workflow's outputs (workflow steps).
    result_var: Option<String>,
    /// workflowId → variable holding its outputs (steps of this workflow that call it).
    called: Vec<(String, String)>,
    /// The called operation's OpenAPI document (index) and responses, for output types.
    responses: Option<(usize, Vec<crate::parse::openapi::OaResponse>)>,
}

impl Lowering<'_> {
    fn workflow(&mut self) -> Result<Lowered, String> {
        let inputs = self.inputs()?;
        let w = self.workflow;
        let step_ids: Vec<&str> = w.steps.iter().map(|s| s.step_id.as_str()).collect();
        if w.steps.is_empty() {
            return Err(format!("workflow `{}` has no steps", w.workflow_id));
        }

        // Local variables for every step output (and called workflows' results).
        let mut taken = BTreeSet::from(["inputs".to_string(), "clients".to_string(), "run".to_string(), "step".to_string(), "http".to_string()]);
        let mut called = Vec::new();
        let mut depends_on = Vec::new();
        for dependency in &w.depends_on {
            let id = &dependency.value;
            if id.starts_with('$') {
                return Err(format!("`dependsOn` names `{id}` of another source description, which is not supported"));
            }
            let index = (self.find_workflow)(id).ok_or_else(|| format!("`dependsOn` names workflow `{id}`, which is not in this document"))?;
            let var = names::unique(format!("{}_dependency", names::snake_ident(id)), &mut taken);
            called.push((id.clone(), var.clone()));
            depends_on.push((index, var));
        }
        for step in &w.steps {
            let prefix = names::snake_ident(&step.step_id);
            let mut outputs = IndexMap::new();
            for output in &step.outputs {
                let var = names::unique(format!("{prefix}_{}", names::snake_ident(&output.name)), &mut taken);
                outputs.insert(output.name.clone(), var);
            }
            if let Some(id) = &step.workflow_id {
                called.push((id.clone(), names::unique(format!("{prefix}_result"), &mut taken)));
            }
            self.locals.insert(step.step_id.clone(), outputs);
        }

        let mut variants = BTreeSet::new();
        let mut steps = Vec::new();
        for step in &w.steps {
            let lowered = self.step(step, &inputs, &step_ids, &called).map_err(|e| format!("step `{}`: {e}", step.step_id))?;
            let variant = names::unique(names::camel_ident(&step.step_id), &mut variants);
            steps.push(Step { variant, ..lowered });
        }

        let mut fields = BTreeSet::new();
        let mut outputs = Vec::new();
        let scope = StepScope { place: Some(Place::WorkflowOutputs), called: called.clone(), ..StepScope::default() };
        let step_outputs: Vec<&NamedValue> = steps.iter().flat_map(|s: &Step| &s.outputs).collect();
        for output in &w.outputs {
            let value = self.expression_text(&output.value, &scope, &inputs).map_err(|e| format!("output `{}`: {e}", output.name))?;
            let rust_name = names::unique(names::snake_ident(&output.name), &mut fields);
            let ty = match &value {
                Value::Local { var, pointer: None } => match step_outputs.iter().find(|o| &o.rust_name == var) {
                    Some(step_output) => step_output.ty.clone(),
                    None => OutputType::Untyped("the result of a called workflow".to_string()),
                },
                other => value_type(other, &inputs, None),
            };
            outputs.push(NamedValue { name: output.name.clone(), rust_name, source: output.value.clone(), value, ty });
        }
        Ok((inputs, steps, outputs, depends_on))
    }

    /// The inputs schema's properties (a `$ref` into `components.inputs` is followed).
    fn inputs(&mut self) -> Result<Vec<InputField>, String> {
        let Some(mut schema) = self.workflow.inputs.as_ref() else { return Ok(Vec::new()) };
        if let Some(reference) = schema.get("$ref").and_then(Json::as_str) {
            let name = reference.rsplit('/').next().unwrap_or_default();
            schema = self
                .doc
                .components
                .inputs
                .get(name)
                .ok_or_else(|| format!("the inputs schema `{reference}` is not in `components.inputs`"))?;
        }
        let required: Vec<&str> = schema.get("required").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str).collect();
        let Some(properties) = schema.get("properties").and_then(Json::as_object) else { return Ok(Vec::new()) };
        let mut taken = BTreeSet::new();
        Ok(properties
            .iter()
            .map(|(name, property)| {
                // A property may itself be a `$ref` into `components.inputs`.
                let property = property
                    .get("$ref")
                    .and_then(Json::as_str)
                    .and_then(|r| r.strip_prefix("#/components/inputs/"))
                    .and_then(|name| self.doc.components.inputs.get(name))
                    .unwrap_or(property);
                let ty = match property.get("type").and_then(Json::as_str) {
                    Some("string") => InputType::String,
                    Some("integer") => InputType::Integer,
                    Some("number") => InputType::Number,
                    Some("boolean") => InputType::Boolean,
                    _ => InputType::Json,
                };
                InputField {
                    name: name.clone(),
                    rust_name: names::unique(names::snake_ident(name), &mut taken),
                    ty,
                    required: required.contains(&name.as_str()),
                    description: property.get("description").and_then(Json::as_str).map(str::to_string),
                }
            })
            .collect())
    }

    fn step(&mut self, step: &az::Step, inputs: &[InputField], step_ids: &[&str], called: &[(String, String)]) -> Result<Step, String> {
        let parameters = self.parameters(&step.parameters)?;
        let mut scope = StepScope { called: called.to_vec(), ..StepScope::default() };
        let kind = if let Some(workflow_id) = &step.workflow_id {
            let index = (self.find_workflow)(workflow_id).ok_or_else(|| format!("workflow `{workflow_id}` is not in this document or a loaded `type: arazzo` source"))?;
            scope.place = Some(Place::WorkflowStepInput);
            let mut values = Vec::new();
            for (name, _, value) in &parameters {
                values.push((name.clone(), self.json_value(value, &scope, inputs)?));
            }
            let result_var = called.iter().find(|(id, _)| id == workflow_id).map(|(_, v)| v.clone()).unwrap_or_default();
            scope.place = Some(Place::WorkflowStepResult);
            scope.result_var = Some(result_var.clone());
            StepKind::Workflow { index, inputs: values, result_var }
        } else {
            let call = self.call(step, &parameters, &mut scope, inputs)?;
            scope.place = Some(Place::Response);
            StepKind::Call(Box::new(call))
        };

        let criteria = match (&step.success_criteria, &kind) {
            (Some(list), _) if !list.is_empty() => {
                list.iter().map(|c| self.criterion(c, &scope, inputs)).collect::<Result<Vec<_>, _>>()?
            }
            (_, StepKind::Call(_)) => vec![Criterion { text: "the HTTP status is 2xx".to_string(), check: Check::Success2xx }],
            (_, StepKind::Workflow { .. }) => Vec::new(),
        };

        // The response schemas that type `$response.body` (see `ResponseSchemas`).
        let response = ResponseSchemas { doc: scope.responses.as_ref().map(|(doc, _)| &self.openapi[*doc]), responses: self.success_responses(&scope, &criteria) };
        let outputs = step
            .outputs
            .iter()
            .map(|output| {
                let value = self.expression_text(&output.value, &scope, inputs).map_err(|e| format!("output `{}`: {e}", output.name))?;
                let rust_name = self.locals.get(&step.step_id).and_then(|o| o.get(&output.name)).cloned().unwrap_or_default();
                let ty = match &step.workflow_id {
                    Some(id) => OutputType::Untyped(format!("read from the outputs of called workflow `{id}`")),
                    None => value_type(&value, inputs, Some(&response)),
                };
                Ok(NamedValue { name: output.name.clone(), rust_name, source: output.value.clone(), value, ty })
            })
            .collect::<Result<Vec<_>, String>>()?;

        let here = step_ids.iter().position(|id| *id == step.step_id).unwrap_or_default();
        let on_success = self.actions(&step.on_success, &self.workflow.success_actions, true, here, step_ids, &scope, inputs)?;
        let on_failure = self.actions(&step.on_failure, &self.workflow.failure_actions, false, here, step_ids, &scope, inputs)?;
        Ok(Step {
            step_id: step.step_id.clone(),
            variant: String::new(),
            description: step.description.clone(),
            kind,
            criteria,
            outputs,
            on_success,
            on_failure,
        })
    }

    /// The responses whose schema types the step's `$response.body`: the one for the status the
    /// criteria require (`$statusCode == 202`), else every 2xx response. Empty when the step
    /// calls no described operation.
    fn success_responses(&self, scope: &StepScope, criteria: &[Criterion]) -> Vec<(String, Option<Schema>)> {
        let Some((_, responses)) = &scope.responses else { return Vec::new() };
        let required = criteria.iter().find_map(|c| match &c.check {
            Check::Condition(cond) => required_status(cond),
            _ => None,
        });
        let json = |r: &&crate::parse::openapi::OaResponse| r.content_type.as_deref().is_none_or(|c| c.contains("json"));
        let chosen: Vec<_> = match required {
            Some(status) => {
                let exact: Vec<_> = responses.iter().filter(|r| r.status == status.to_string()).collect();
                let class = format!("{}XX", status / 100);
                if exact.is_empty() { responses.iter().filter(|r| r.status.eq_ignore_ascii_case(&class)).collect() } else { exact }
            }
            None => responses.iter().filter(|r| r.status.starts_with('2')).collect(),
        };
        chosen.into_iter().map(|r| (r.status.clone(), if json(&r) { r.schema.clone() } else { None })).collect()
    }

    /// Inline and referenced parameters: `(name, in, value)`.
    fn parameters(&self, list: &[Reusable<az::Parameter>]) -> Result<Vec<(String, Option<ParameterIn>, Json)>, String> {
        list.iter()
            .map(|p| match p {
                Reusable::Inline(p) => Ok((p.name.clone(), p.location, p.value.clone())),
                Reusable::Reference(r) => {
                    let name = r.reference.strip_prefix("$components.parameters.").ok_or_else(|| format!("`{}` is not a parameter reference", r.reference))?;
                    let p = self.doc.components.parameters.get(name).ok_or_else(|| format!("`{}` is not in `components.parameters`", r.reference))?;
                    Ok((p.name.clone(), p.location, r.value.clone().unwrap_or_else(|| p.value.clone())))
                }
            })
            .collect()
    }

    fn call(&mut self, step: &az::Step, parameters: &[(String, Option<ParameterIn>, Json)], scope: &mut StepScope, inputs: &[InputField]) -> Result<Call, String> {
        let (found, operation_id) = self.openapi_operation(step)?;
        let (api, op) = consumed(self.apis, found.as_ref(), &operation_id)?;
        let found_doc = found.as_ref().map(|(doc, _)| *doc);
        let oa = found.map(|(_, op)| op);
        scope.place = Some(Place::Request);

        let mut query = Vec::new();
        let mut headers = Vec::new();
        let mut cookies = Vec::new();
        let mut path_values = Vec::new();
        for fixed in &op.fixed {
            self.fixed_param(fixed, &op.name, &mut query, &mut headers);
        }
        for (name, location, value) in parameters {
            let value = self.json_value(value, scope, inputs).map_err(|e| format!("parameter `{name}`: {e}"))?;
            match location {
                Some(ParameterIn::Path) => path_values.push((name.clone(), value)),
                Some(ParameterIn::Query) => query.push((name.clone(), value)),
                Some(ParameterIn::Header) => {
                    // A step's own `Authorization` wins over the client's configured credentials.
                    headers.retain(|(n, _): &(String, Value)| !n.eq_ignore_ascii_case(name));
                    headers.push((name.clone(), value));
                }
                Some(ParameterIn::Cookie) => cookies.push((name.clone(), value)),
                None => return Err(format!("parameter `{name}` has no `in`; operation steps need `in: path|query|header|cookie`")),
            }
        }

        let mut path = Vec::new();
        for part in &op.path {
            match part {
                PathPart::Text(text) => path.push(PathSegment::Text(text.clone())),
                PathPart::Param(i) => {
                    let Some(param) = op.params.get(*i) else { continue };
                    let squash = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
                    let value = path_values
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(&param.name))
                        .or_else(|| path_values.iter().find(|(n, _)| squash(n) == squash(&param.name)))
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| format!("no `in: path` parameter gives `{{{}}}` of `{} {}`", param.name, op.method, op.path_template))?;
                    path.push(PathSegment::Param { name: param.name.clone(), value });
                }
            }
        }

        let body = match &step.request_body {
            None => None,
            Some(body) => Some(self.body(body, oa.as_ref(), scope, inputs)?),
        };
        scope.path = path_values;
        scope.query = query.clone();
        scope.headers = headers.clone();
        scope.body = body.as_ref().map(|b| b.payload.clone());
        scope.method = Some(op.method.clone());
        scope.responses = found_doc.map(|doc| (doc, oa.as_ref().map(|o| o.responses.clone()).unwrap_or_default()));
        Ok(Call {
            client: api.module.clone(),
            operation: op.name.clone(),
            operation_id,
            method: op.method.clone(),
            path_template: op.path_template.clone(),
            path,
            query,
            headers,
            cookies,
            body,
        })
    }

    /// A capability parameter with a fixed value: literal query and header values are sent.
    fn fixed_param(&mut self, fixed: &FixedParam, operation: &str, query: &mut Vec<(String, Value)>, headers: &mut Vec<(String, Value)>) {
        let SpecValue::Literal(text) = &fixed.value else {
            self.notes.push(format!("`{}` of `{operation}` comes from binds and is not sent by workflow steps", fixed.name));
            return;
        };
        let value = Value::Literal(Json::String(text.clone()));
        match fixed.location {
            ParamLocation::Query => query.push((fixed.name.clone(), value)),
            ParamLocation::Header => headers.push((fixed.name.clone(), value)),
            _ => self.notes.push(format!("fixed parameter `{}` of `{operation}` is not sent by workflow steps", fixed.name)),
        }
    }

    /// The OpenAPI operation a step names (with the index of its document) and its operationId.
    fn openapi_operation(&self, step: &az::Step) -> Result<(Option<(usize, OaOperation)>, String), String> {
        let docs: Vec<(&str, Option<(usize, &OpenApiDoc)>)> = self
            .loaded
            .sources
            .iter()
            .map(|(name, index)| (name.as_str(), index.and_then(|i| self.openapi.get(i).map(|d| (i, d)))))
            .collect();
        if let Some(id) = &step.operation_id {
            let (source, id) = match expr::parse_expression(id) {
                Ok(Expr::SourceDescription { source, reference }) => (Some(source), reference),
                _ => (None, id.clone()),
            };
            let find = |source: Option<&str>, id: &str| {
                docs.iter()
                    .filter(|(name, _)| source.is_none_or(|s| s == *name))
                    .find_map(|(_, doc)| doc.and_then(|(i, d)| d.find_by_operation_id(id).map(|op| (i, op))))
            };
            // `<source>.<operationId>` (Redocly's short form) when no operation has the whole id.
            let (source, id) = match (&source, find(None, &id), id.split_once('.')) {
                (None, None, Some((s, rest))) if find(Some(s), rest).is_some() => (Some(s.to_string()), rest.to_string()),
                _ => (source, id),
            };
            let candidates = docs.iter().filter(|(name, _)| source.as_deref().is_none_or(|s| s == *name));
            let found = find(source.as_deref(), &id);
            return match found {
                Some((i, op)) => Ok((Some((i, op.clone())), op.operation_id.clone().unwrap_or(id))),
                None if candidates.clone().all(|(_, doc)| doc.is_none()) => Ok((None, id)),
                None => Err(format!("operation `{id}` is not in the source description")),
            };
        }
        if let Some(path) = &step.operation_path {
            let parsed = expr::parse_operation_path(path).map_err(|e| format!("invalid operationPath: {}", e.message))?;
            let (template, method) =
                parsed.path_and_method().ok_or_else(|| format!("operationPath `{path}` does not point at `/paths/<path>/<method>`"))?;
            let (index, doc) = docs
                .iter()
                .find(|(name, _)| *name == parsed.source)
                .and_then(|(_, d)| *d)
                .ok_or_else(|| format!("source description `{}` is not loaded", parsed.source))?;
            let op = doc.find_by_method_path(method, template).ok_or_else(|| format!("`{} {template}` is not in source description `{}`", method.to_ascii_uppercase(), parsed.source))?;
            let id = op.operation_id.clone().unwrap_or_else(|| format!("{} {}", op.method.to_ascii_uppercase(), op.path));
            return Ok((Some((index, op.clone())), id));
        }
        Err("the step names neither `operationId`, `operationPath` nor `workflowId`".to_string())
    }

    fn body(&mut self, body: &az::RequestBody, oa: Option<&OaOperation>, scope: &StepScope, inputs: &[InputField]) -> Result<CallBody, String> {
        let content_type = body
            .content_type
            .clone()
            .or_else(|| oa.and_then(|o| o.request_body.as_ref()).map(|b| b.content_type.clone()))
            .unwrap_or_else(|| "application/json".to_string())
            .to_ascii_lowercase();
        let encoding = if content_type.contains("x-www-form-urlencoded") {
            BodyEncoding::Form
        } else if content_type.contains("json") {
            BodyEncoding::Json { content_type: content_type.clone() }
        } else if content_type.starts_with("text/") || content_type.contains("xml") {
            BodyEncoding::Text { content_type: content_type.clone() }
        } else {
            return Err(format!("request bodies of type `{content_type}` are not supported (JSON, form, text and XML bodies are)"));
        };
        let mut payload = body.payload.clone().unwrap_or(Json::Null);
        if let (BodyEncoding::Text { .. }, Json::String(text)) = (&encoding, &payload) {
            if !body.replacements.is_empty() {
                return Err(format!("`replacements` in a `{content_type}` body (XPath targets) are not supported; write the values into the payload template"));
            }
            let payload = self.expression_text(text, scope, inputs).map_err(|e| format!("request body: {e}"))?;
            return Ok(CallBody { encoding, payload, replacements: Vec::new() });
        }
        if let Json::String(text) = &payload {
            // A JSON document written as a string, possibly with `{$…}` expressions in it.
            match serde_json::from_str::<Json>(text) {
                Ok(parsed) if parsed.is_object() || parsed.is_array() => payload = parsed,
                _ if text.contains("{$") => {
                    payload = json_template(text).map_err(|e| format!("the request body is a text template that is not JSON once its expressions are filled in: {e}"))?;
                }
                _ => {}
            }
        }
        let payload = self.json_value(&payload, scope, inputs).map_err(|e| format!("request body: {e}"))?;
        let mut replacements = Vec::new();
        for replacement in &body.replacements {
            if !(replacement.target.is_empty() || replacement.target.starts_with('/')) {
                return Err(format!("replacement target `{}` is not a JSON Pointer (XPath targets are not supported)", replacement.target));
            }
            let value = self.json_value(&replacement.value, scope, inputs).map_err(|e| format!("replacement `{}`: {e}", replacement.target))?;
            replacements.push((replacement.target.clone(), value));
        }
        Ok(CallBody { encoding, payload, replacements })
    }

    /// A JSON value from the document: strings may be expressions or templates.
    fn json_value(&mut self, value: &Json, scope: &StepScope, inputs: &[InputField]) -> Result<Value, String> {
        Ok(match value {
            Json::String(text) => self.expression_text(text, scope, inputs)?,
            Json::Array(items) => {
                let items = items.iter().map(|v| self.json_value(v, scope, inputs)).collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(|v| matches!(v, Value::Literal(_))) {
                    Value::Literal(value.clone())
                } else {
                    Value::Array(items)
                }
            }
            Json::Object(map) => {
                let fields = map
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.json_value(v, scope, inputs)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                if fields.iter().all(|(_, v)| matches!(v, Value::Literal(_))) {
                    Value::Literal(value.clone())
                } else {
                    Value::Object(fields)
                }
            }
            other => Value::Literal(other.clone()),
        })
    }

    /// A string that is a runtime expression, a template, or plain text.
    fn expression_text(&mut self, text: &str, scope: &StepScope, inputs: &[InputField]) -> Result<Value, String> {
        let parsed = expr::parse_value_string(text).map_err(|e| format!("`{text}`: {}", e.message))?;
        if !parsed.legacy.is_empty() {
            self.notes.push(format!("`{text}` is read as `{}`", expr::standard_form(text, &parsed.legacy)));
        }
        if let Some(single) = parsed.value.as_single_expr() {
            return self.expr(&single.value, scope, inputs);
        }
        if parsed.value.is_literal() {
            return Ok(Value::Literal(Json::String(text.to_string())));
        }
        let parts = parsed
            .value
            .parts
            .iter()
            .map(|part| match part {
                expr::TemplatePart::Literal(text) => Ok(TextPart::Literal(text.clone())),
                expr::TemplatePart::Expr(e) => Ok(TextPart::Value(self.expr(&e.value, scope, inputs)?)),
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Value::Text(parts))
    }

    fn expr(&mut self, e: &Expr, scope: &StepScope, inputs: &[InputField]) -> Result<Value, String> {
        let place = scope.place.unwrap_or(Place::Request);
        let after_call = place == Place::Response;
        let not_here = || format!("`{e}` cannot be used here");
        let ptr = |p: &Option<JsonPointer>| p.as_ref().map(|p| p.to_string());
        Ok(match e {
            Expr::StatusCode if after_call => Value::StatusCode,
            Expr::StatusCode if place == Place::WorkflowStepResult => Value::LastStatus,
            Expr::Url if after_call => Value::Url,
            Expr::Method if after_call => Value::Literal(scope.method.clone().map_or(Json::Null, Json::String)),
            Expr::Response(Source::Body(p)) if after_call => Value::ResponseBody(ptr(p)),
            Expr::Response(Source::Header(name)) if after_call => Value::ResponseHeader(name.clone()),
            Expr::Request(source) if after_call => {
                let find = |list: &[(String, Value)], name: &str| {
                    list.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map_or(Value::Literal(Json::Null), |(_, v)| v.clone())
                };
                match source {
                    Source::Header(name) => find(&scope.headers, name),
                    Source::Query(name) => find(&scope.query, name),
                    Source::Path(name) => find(&scope.path, name),
                    Source::Body(p) => with_pointer(scope.body.clone().unwrap_or(Value::Literal(Json::Null)), ptr(p)),
                    Source::Payload(_) => return Err(not_here()),
                }
            }
            Expr::Inputs { name, pointer } => {
                // An undeclared input is absent (validation warned: `undeclared-input`).
                match inputs.iter().find(|f| &f.name == name) {
                    Some(field) => Value::Input { field: field.rust_name.clone(), pointer: ptr(pointer) },
                    None => Value::Literal(Json::Null),
                }
            }
            Expr::Workflow { workflow_id, field: WorkflowField::Inputs, name, pointer } if *workflow_id == self.workflow.workflow_id => {
                self.expr(&Expr::Inputs { name: name.clone(), pointer: pointer.clone() }, scope, inputs)?
            }
            Expr::Workflow { workflow_id, field: WorkflowField::Outputs, name, pointer } => {
                let var = scope
                    .called
                    .iter()
                    .find(|(id, _)| id == workflow_id)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| format!("`{e}`: no step of this workflow runs workflow `{workflow_id}`"))?;
                Value::Local { var, pointer: Some(prepend(name, ptr(pointer))) }
            }
            Expr::Outputs { name, pointer } if place == Place::WorkflowStepResult => {
                let var = scope.result_var.clone().unwrap_or_default();
                Value::Local { var, pointer: Some(prepend(name, ptr(pointer))) }
            }
            Expr::StepOutput { step_id, output, pointer } => {
                let outputs = self.locals.get(step_id).ok_or_else(|| format!("`{e}`: step `{step_id}` is not in this workflow"))?;
                if let Some(var) = outputs.get(output) {
                    Value::Local { var: var.clone(), pointer: ptr(pointer) }
                } else {
                    // `outputs.items.0.id`: a path into the output `items` (see `expr::output_path`).
                    let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
                    match expr::output_path(output, &names) {
                        Some((name, mut tokens)) => {
                            tokens.extend(pointer.iter().flat_map(|p| p.tokens.iter().cloned()));
                            Value::Local { var: outputs[&name].clone(), pointer: Some(JsonPointer { tokens }.to_string()) }
                        }
                        // Absent, as runners read it (validation warned: `unknown-step-output`).
                        None => Value::Literal(Json::Null),
                    }
                }
            }
            Expr::SourceDescription { source, reference } if reference == "url" => {
                let url = self.doc.source_descriptions.iter().find(|s| &s.name == source).map(|s| s.url.clone()).ok_or_else(not_here)?;
                Value::Literal(Json::String(url))
            }
            _ => return Err(not_here()),
        })
    }

    fn criterion(&mut self, criterion: &az::Criterion, scope: &StepScope, inputs: &[InputField]) -> Result<Criterion, String> {
        let text = criterion.condition.clone();
        let parsed = expr::parse_criterion(criterion.kind, criterion.context.as_deref(), &criterion.condition).map_err(|e| match e {
            expr::CheckError::UnsupportedXPath => "XPath criteria are not supported".to_string(),
            expr::CheckError::MissingContext(kind) => format!("a `{}` criterion needs a `context`", kind.as_str()),
            expr::CheckError::Context(e) | expr::CheckError::Condition(e) => format!("criterion `{text}`: {}", e.message),
        })?;
        if !parsed.legacy.is_empty() {
            let standard = expr::standard_form(&text, &parsed.legacy);
            self.notes.push(if standard.is_empty() { format!("criterion `{text}` uses a legacy form") } else { format!("criterion `{text}` is read as `{standard}`") });
        }
        let check = match parsed.value {
            ParsedCheck::Simple(condition) => Check::Condition(self.condition(&condition, scope, inputs)?),
            ParsedCheck::Regex { context, pattern } => {
                regex::Regex::new(&pattern).map_err(|e| format!("criterion `{text}`: invalid regex: {e}"))?;
                Check::Regex { value: self.expr(&context, scope, inputs)?, pattern }
            }
            ParsedCheck::JsonPath { context, query } => Check::JsonPath { value: self.expr(&context, scope, inputs)?, query },
            ParsedCheck::JsonPathCompare { value, length, op, literal, .. } => {
                let mut left = self.expr(&value, scope, inputs)?;
                if length {
                    left = Value::Length(Box::new(left));
                }
                Check::Condition(Cond::Compare { left, op, right: Value::Literal(literal_json(&literal)) })
            }
        };
        Ok(Criterion { text, check })
    }

    fn condition(&mut self, condition: &Condition, scope: &StepScope, inputs: &[InputField]) -> Result<Cond, String> {
        Ok(match condition {
            Condition::Operand(operand) => Cond::Truthy(self.operand(operand, scope, inputs)?),
            Condition::Compare { left, op, right } => {
                let status_literal = |o: &Operand| match o {
                    Operand::Literal(Literal::Number(n)) => n.as_u64(),
                    _ => None,
                };
                let is_status = |o: &Operand| matches!(o, Operand::Expr(e) if e.value == Expr::StatusCode);
                match (is_status(left), status_literal(right), is_status(right), status_literal(left)) {
                    (true, Some(n), _, _) if scope.place == Some(Place::Response) => Cond::Status(*op, n),
                    (_, _, true, Some(n)) if scope.place == Some(Place::Response) => Cond::Status(flip(*op), n),
                    _ => Cond::Compare { left: self.operand(left, scope, inputs)?, op: *op, right: self.operand(right, scope, inputs)? },
                }
            }
            Condition::Not(inner) => Cond::Not(Box::new(self.condition(inner, scope, inputs)?)),
            Condition::And(a, b) => Cond::And(Box::new(self.condition(a, scope, inputs)?), Box::new(self.condition(b, scope, inputs)?)),
            Condition::Or(a, b) => Cond::Or(Box::new(self.condition(a, scope, inputs)?), Box::new(self.condition(b, scope, inputs)?)),
        })
    }

    fn operand(&mut self, operand: &Operand, scope: &StepScope, inputs: &[InputField]) -> Result<Value, String> {
        match operand {
            Operand::Literal(literal) => Ok(Value::Literal(literal_json(literal))),
            Operand::Expr(e) => self.expr(&e.value, scope, inputs),
        }
    }

    /// A step's actions merged with the workflow's (a step action overrides one of the same name).
    #[allow(clippy::too_many_arguments)]
    fn actions(
        &mut self,
        own: &[Reusable<az::Action>],
        workflow_level: &[Reusable<az::Action>],
        success: bool,
        here: usize,
        step_ids: &[&str],
        scope: &StepScope,
        inputs: &[InputField],
    ) -> Result<Vec<Action>, String> {
        let own = self.resolve_actions(own, success)?;
        let mut all = own.clone();
        for action in self.resolve_actions(workflow_level, success)? {
            if !own.iter().any(|a| a.name == action.name) {
                all.push(action);
            }
        }
        let step_index = |id: &str| step_ids.iter().position(|s| *s == id).ok_or_else(|| format!("action target step `{id}` is not in this workflow"));
        all.iter()
            .map(|action| {
                let what = if success { "success" } else { "failure" };
                let workflow = match action.workflow_id.as_deref() {
                    None => None,
                    Some(id) if id.starts_with('$') => {
                        return Err(format!("{what} action `{}` transfers to `{id}` of another source description, which is not supported", action.name));
                    }
                    Some(id) => Some((self.find_workflow)(id).ok_or_else(|| format!("{what} action `{}` names workflow `{id}`, which is not in this document", action.name))?),
                };
                let kind = match action.kind {
                    ActionType::End => ActionKind::End,
                    ActionType::Goto if action.step_id.is_none() && workflow.is_some() => ActionKind::GotoWorkflow(workflow.unwrap_or_default()),
                    ActionType::Goto => {
                        let target = action.step_id.as_deref().ok_or_else(|| format!("goto action `{}` names no `stepId`", action.name))?;
                        ActionKind::Goto(step_index(target)?)
                    }
                    ActionType::Retry if success => return Err(format!("success action `{}` has type `retry`, which only failure actions may have", action.name)),
                    ActionType::Retry => ActionKind::Retry {
                        after: action.retry_after.filter(|s| s.is_finite() && *s >= 0.0),
                        limit: u32::try_from(action.retry_limit.unwrap_or(1)).unwrap_or(u32::MAX),
                        step: match action.step_id.as_deref() {
                            Some(target) => step_index(target)?,
                            None => here,
                        },
                        workflow,
                    },
                };
                let criteria = action.criteria.iter().map(|c| self.criterion(c, scope, inputs)).collect::<Result<Vec<_>, _>>()?;
                Ok(Action { name: action.name.clone(), kind, criteria })
            })
            .collect()
    }

    fn resolve_actions(&self, list: &[Reusable<az::Action>], success: bool) -> Result<Vec<az::Action>, String> {
        let (prefix, components) = if success {
            ("$components.successActions.", &self.doc.components.success_actions)
        } else {
            ("$components.failureActions.", &self.doc.components.failure_actions)
        };
        list.iter()
            .map(|a| match a {
                Reusable::Inline(a) => Ok(a.clone()),
                Reusable::Reference(r) => r
                    .reference
                    .strip_prefix(prefix)
                    .and_then(|name| components.get(name))
                    .cloned()
                    .ok_or_else(|| format!("`{}` is not in `components`", r.reference)),
            })
            .collect()
    }
}

/// The client operation a step calls. A client generated from the step's own source
/// description has it under the same method and path; otherwise the capability's consumed
/// operation with the same operationId (ignoring case and punctuation, also against the
/// consumed name), else the same method and path.
fn consumed<'a>(apis: &'a [ConsumedApi], found: Option<&(usize, OaOperation)>, operation_id: &str) -> Result<(&'a ConsumedApi, &'a Operation), String> {
    if let Some((doc, oa)) = found
        && let Some(api) = apis.iter().find(|api| api.source_document == Some(*doc))
        && let Some(op) = api.operations.iter().find(|op| op.method.eq_ignore_ascii_case(&oa.method) && op.path_template == oa.path)
    {
        return Ok((api, op));
    }
    let oa = found.map(|(_, op)| op);
    let squash = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    let wanted = squash(operation_id);
    let all = || apis.iter().flat_map(|api| api.operations.iter().map(move |op| (api, op)));
    let by_id = all().find(|(_, op)| op.operation_id.as_deref().is_some_and(|id| squash(id) == wanted) || squash(&op.name) == wanted);
    let by_path = || {
        let oa = oa?;
        let shape = |p: &str| placeholder_shape(&crate::ir::build::normalise_path(p));
        all().find(|(_, op)| op.method.eq_ignore_ascii_case(&oa.method) && shape(&op.path_template) == shape(&oa.path))
    };
    by_id.or_else(by_path).ok_or_else(|| {
        let what = match oa {
            Some(oa) => format!("`{operation_id}` ({} {})", oa.method.to_ascii_uppercase(), oa.path),
            None => format!("`{operation_id}`"),
        };
        if apis.is_empty() {
            format!("operation {what} cannot be called: no client serves it (give the capability, or the OpenAPI document of its source description)")
        } else if apis.iter().all(|api| api.source_document.is_some()) {
            format!("operation {what} cannot be called: its source description was not loaded (map it to a local file with `--source NAME=FILE`)")
        } else {
            format!(
                "operation {what} is not consumed by the capability; add it to a `consumes` resource so the workflow can call it through a typed client"
            )
        }
    })
}

/// A JSON text with `{$…}` expressions → the JSON structure, each expression kept as a string
/// for [`Lowering::json_value`]: inside a JSON string it stays part of that string's template;
/// standing alone (`"amount": {$inputs.amount}`) it becomes a string holding just the
/// expression, which yields the expression's value unchanged.
fn json_template(text: &str) -> Result<Json, String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !in_string && rest.starts_with("{$") {
            let end = rest.find('}').ok_or_else(|| "an expression `{$…` is not closed".to_string())?;
            out.push('"');
            out.push_str(&rest[..=end].replace('\\', "\\\\").replace('"', "\\\""));
            out.push('"');
            rest = &rest[end + 1..];
            continue;
        }
        match c {
            '\\' if in_string => escaped = !escaped,
            '"' if !escaped => in_string = !in_string,
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&out).map_err(|e| e.to_string())
}

/// `{a}/b/{c}` → `{}/b/{}`, lower-cased, without a trailing slash.
fn placeholder_shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.trim_end_matches('/').chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            c if !inside => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

/// `name` + `pointer` as one JSON Pointer (`/name/…`).
fn prepend(name: &str, pointer: Option<String>) -> String {
    format!("/{}{}", name.replace('~', "~0").replace('/', "~1"), pointer.unwrap_or_default())
}

fn with_pointer(value: Value, pointer: Option<String>) -> Value {
    match (value, pointer) {
        (value, None) => value,
        (Value::Literal(json), Some(p)) => Value::Literal(json.pointer(&p).cloned().unwrap_or(Json::Null)),
        (Value::Input { field, pointer: base }, Some(p)) => Value::Input { field, pointer: Some(base.unwrap_or_default() + &p) },
        (Value::Local { var, pointer: base }, Some(p)) => Value::Local { var, pointer: Some(base.unwrap_or_default() + &p) },
        (Value::ResponseBody(base), Some(p)) => Value::ResponseBody(Some(base.unwrap_or_default() + &p)),
        (Value::Object(fields), Some(p)) => {
            let mut tokens = p.trim_start_matches('/').splitn(2, '/');
            let first = tokens.next().unwrap_or_default().replace("~1", "/").replace("~0", "~");
            let rest = tokens.next().map(|r| format!("/{r}"));
            let inner = fields.into_iter().find(|(k, _)| *k == first).map_or(Value::Literal(Json::Null), |(_, v)| v);
            with_pointer(inner, rest)
        }
        // Other shapes (templates, nested pointers) read as null rather than guess.
        _ => Value::Literal(Json::Null),
    }
}

/// The status a condition requires (`$statusCode == 202`, also inside `&&`).
fn required_status(cond: &Cond) -> Option<u64> {
    match cond {
        Cond::Status(CompareOp::Eq, n) => Some(*n),
        Cond::And(a, b) => required_status(a).or_else(|| required_status(b)),
        _ => None,
    }
}

/// The responses of the operation a step calls that type its `$response.body`.
struct ResponseSchemas<'a> {
    doc: Option<&'a OpenApiDoc>,
    /// `(status, schema)`; `None` when the response has no JSON content.
    responses: Vec<(String, Option<Schema>)>,
}

/// The type of a step or workflow output's value. `response` is set for step outputs of an
/// operation step (what `$response.body` reads).
fn value_type(value: &Value, inputs: &[InputField], response: Option<&ResponseSchemas>) -> OutputType {
    let untyped = |reason: &str| OutputType::Untyped(reason.to_string());
    match value {
        Value::ResponseBody(pointer) => match response {
            Some(response) => body_type(response, pointer.as_deref().unwrap_or_default()),
            None => untyped("not read from an operation's response"),
        },
        Value::ResponseHeader(_) | Value::Text(_) | Value::Url => OutputType::String,
        Value::StatusCode | Value::LastStatus => OutputType::Integer,
        Value::Input { field, pointer: None } => match inputs.iter().find(|f| &f.rust_name == field).map(|f| f.ty) {
            Some(InputType::String) => OutputType::String,
            Some(InputType::Integer) => OutputType::Integer,
            Some(InputType::Number) => OutputType::Number,
            Some(InputType::Boolean) => OutputType::Boolean,
            _ => untyped("the input's schema is not a string, integer, number or boolean"),
        },
        Value::Input { pointer: Some(_), .. } => untyped("a JSON Pointer into an input"),
        Value::Local { pointer: Some(_), .. } => untyped("a JSON Pointer into a step output"),
        Value::Local { .. } => untyped("read from a called workflow's outputs"),
        Value::Literal(_) | Value::Array(_) | Value::Object(_) => untyped("a literal value"),
        Value::Length(_) => OutputType::Integer,
    }
}

/// The type at `pointer` in the response body; every chosen response must agree.
fn body_type(response: &ResponseSchemas, pointer: &str) -> OutputType {
    let Some(doc) = response.doc else { return OutputType::Untyped("the operation's OpenAPI document is not loaded".to_string()) };
    if response.responses.is_empty() {
        return OutputType::Untyped("the operation declares no matching success response".to_string());
    }
    let tokens: Vec<String> = if pointer.is_empty() {
        Vec::new()
    } else {
        pointer.trim_start_matches('/').split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect()
    };
    let mut found: Option<(String, OutputType)> = None;
    for (status, schema) in &response.responses {
        let ty = match schema {
            None => OutputType::Untyped(format!("response `{status}` has no JSON schema")),
            Some(schema) => schema_type(doc, schema, &tokens, 0),
        };
        match &found {
            None => found = Some((status.clone(), ty)),
            Some((first, earlier)) if *earlier != ty => {
                return OutputType::Untyped(format!("responses `{first}` and `{status}` type it differently"));
            }
            Some(_) => {}
        }
    }
    found.map_or(OutputType::Untyped("no response schema".to_string()), |(_, ty)| ty)
}

/// Follows `tokens` (a JSON Pointer) through `schema` to a type.
fn schema_type(doc: &OpenApiDoc, schema: &Schema, tokens: &[String], depth: usize) -> OutputType {
    let untyped = |reason: String| OutputType::Untyped(reason);
    if depth > 64 {
        return untyped("the schema nests too deeply".to_string());
    }
    match (schema, tokens.split_first()) {
        (Schema::Ref(name), _) => match doc.schemas.get(name) {
            Some(target) => schema_type(doc, target, tokens, depth + 1),
            None => untyped(format!("schema `{name}` is not in the document")),
        },
        (Schema::Nullable(inner), _) => schema_type(doc, inner, tokens, depth + 1),
        (Schema::Any, _) => untyped("the schema allows any JSON value".to_string()),
        (Schema::OneOf(_), _) => untyped("the pointer crosses a `oneOf`".to_string()),
        (Schema::AnyOf(_), _) => untyped("the pointer crosses an `anyOf`".to_string()),
        (Schema::AllOf { parts, .. }, _) => {
            // The parts that know the path; they must agree.
            let typed: Vec<OutputType> = parts.iter().map(|p| schema_type(doc, p, tokens, depth + 1)).collect();
            let mut known = typed.iter().filter(|t| t.untyped_reason().is_none());
            match (known.next(), known.next()) {
                (Some(one), None) => one.clone(),
                (Some(one), Some(two)) if one == two && known.all(|t| t == one) => one.clone(),
                (Some(_), Some(_)) => untyped("the parts of an `allOf` type it differently".to_string()),
                (None, _) => typed.into_iter().next().unwrap_or_else(|| untyped("an empty `allOf`".to_string())),
            }
        }
        (Schema::String(_), None) => OutputType::String,
        (Schema::Integer { .. }, None) => OutputType::Integer,
        (Schema::Number { .. }, None) => OutputType::Number,
        (Schema::Boolean, None) => OutputType::Boolean,
        (Schema::Array(items), None) => match schema_type(doc, items, &[], depth + 1) {
            OutputType::Untyped(reason) => untyped(format!("array items: {reason}")),
            item => OutputType::Array(Box::new(item)),
        },
        (Schema::Object(_), None) => untyped("an object (outputs keep objects as JSON, so no field outside the schema is lost)".to_string()),
        (Schema::Array(items), Some((token, rest))) if token.parse::<usize>().is_ok() => schema_type(doc, items, rest, depth + 1),
        (Schema::Object(object), Some((token, rest))) => match object.properties.get(token) {
            Some(property) => schema_type(doc, &property.schema, rest, depth + 1),
            None if object.additional_properties.is_some() => untyped(format!("`{token}` falls under `additionalProperties`")),
            None => untyped(format!("the schema has no property `{token}`")),
        },
        (_, Some((token, _))) => untyped(format!("the pointer reads `{token}`, which is not a property or index of the schema there")),
    }
}

/// `a < b` ⇔ `b > a`.
fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

fn literal_json(literal: &Literal) -> Json {
    match literal {
        Literal::Null => Json::Null,
        Literal::Bool(b) => Json::Bool(*b),
        Literal::Number(n) => Json::Number(n.clone()),
        Literal::String(s) => Json::String(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::generate::{Checked, Inputs, Settings, check};

    const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

    fn checked(capability: Option<PathBuf>, arazzo: Vec<PathBuf>) -> Checked {
        // `lower_text` writes Arazzo documents to a temp dir naming the seed's OpenAPI file by
        // absolute path, outside their spec root.
        check(&Inputs { capability, arazzo, allow_outside: true, ..Inputs::default() }, &Settings::default())
    }

    /// The seed, lowered through the whole front end.
    fn seed() -> Vec<Workflow> {
        seed_ir().workflows
    }

    fn seed_ir() -> crate::ir::Ir {
        let root = Path::new(ROOT);
        let checked = checked(
            Some(root.join("specs/prisma/capabilities/postgres-management-database-backups.yaml")),
            vec![root.join("specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml")],
        );
        let capability = checked.capability.as_ref().expect("the seed capability loads");
        crate::ir::build::build(Some(capability), &checked.openapi, &checked.arazzo)
    }

    fn call(step: &Step) -> &Call {
        match &step.kind {
            StepKind::Call(call) => call,
            StepKind::Workflow { .. } => panic!("step `{}` is not a call", step.step_id),
        }
    }

    #[test]
    fn the_seed_steps_map_to_the_three_client_operations() {
        let workflows = seed();
        assert_eq!(workflows.len(), 1);
        let w = &workflows[0];
        assert_eq!(w.unsupported, None);
        assert_eq!((w.fn_name.as_str(), w.type_prefix.as_str()), ("backup_and_restore_database", "BackupAndRestoreDatabase"));
        let ops: Vec<(&str, &str, &str)> =
            w.steps.iter().map(|s| (s.step_id.as_str(), call(s).operation.as_str(), call(s).method.as_str())).collect();
        assert_eq!(ops, vec![
            ("createBackup", "createdatabasebackup", "POST"),
            ("pollBackup", "listdatabasebackups", "GET"),
            ("restoreBackup", "restoredatabasebackup", "POST"),
        ]);
        let inputs: Vec<(&str, InputType, bool)> = w.inputs.iter().map(|f| (f.rust_name.as_str(), f.ty, f.required)).collect();
        assert_eq!(inputs, vec![
            ("api_token", InputType::String, true),
            ("database_id", InputType::String, true),
            ("backup_label", InputType::String, false),
        ]);

        let create = call(&w.steps[0]);
        let bearer = Value::Text(vec![
            TextPart::Literal("Bearer ".to_string()),
            TextPart::Value(Value::Input { field: "api_token".to_string(), pointer: None }),
        ]);
        assert_eq!(create.headers, vec![("Authorization".to_string(), bearer)]);
        let body = create.body.as_ref().expect("a JSON body");
        assert_eq!(body.encoding, BodyEncoding::Json { content_type: "application/json".to_string() });
        assert_eq!(body.payload, Value::Object(vec![("label".to_string(), Value::Input { field: "backup_label".to_string(), pointer: None })]));
        assert_eq!(w.steps[0].criteria[0].check, Check::Condition(Cond::Status(CompareOp::Eq, 202)));
        assert_eq!(w.steps[0].outputs[0].value, Value::ResponseBody(Some("/id".to_string())));

        let restore = call(&w.steps[2]);
        assert_eq!(restore.path[3], PathSegment::Param {
            name: "backupId".to_string(),
            value: Value::Local { var: "create_backup_backup_id".to_string(), pointer: None },
        });
        assert_eq!(w.outputs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), vec!["backupId", "restoreStatus"]);
    }

    #[test]
    fn the_legacy_jsonpath_criterion_lowers_to_a_comparison() {
        let workflows = seed();
        let poll = &workflows[0].steps[1];
        let legacy = Check::Condition(Cond::Compare {
            left: Value::ResponseBody(Some("/data/0/status".to_string())),
            op: CompareOp::Eq,
            right: Value::Literal(Json::String("completed".to_string())),
        });
        assert_eq!(poll.criteria[1], Criterion { text: "$.data[0].status == \"completed\"".to_string(), check: legacy.clone() });
        // The onSuccess goto carries the same criterion.
        assert_eq!(poll.on_success[0].kind, ActionKind::Goto(2));
        assert_eq!(poll.on_success[0].criteria[0].check, legacy);
        assert!(!poll.has_retry());
        let notes = workflows[0].notes.join("\n");
        assert!(notes.contains("is read as `$response.body#/data/0/status == 'completed'`"), "{notes}");
        assert!(notes.contains("is read as `Bearer {$inputs.apiToken}`"), "{notes}");
    }

    /// Lowers `arazzo` (YAML text, written next to the seed's OpenAPI copy) against the seed.
    fn lower_text(arazzo: &str) -> Vec<Workflow> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let openapi = Path::new(ROOT).join("specs/prisma/openapi/prisma-postgres-management-openapi.yml");
        let text = arazzo.replace("OPENAPI", &openapi.display().to_string());
        let path = dir.path().join("doc.arazzo.yaml");
        std::fs::write(&path, text).expect("writable");
        let checked = checked(Some(Path::new(ROOT).join("specs/prisma/capabilities/postgres-management-database-backups.yaml")), vec![path]);
        let capability = checked.capability.as_ref().expect("loads");
        crate::ir::build::build(Some(capability), &checked.openapi, &checked.arazzo).workflows
    }

    const HEAD: &str = "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\nsourceDescriptions: [{name: api, url: OPENAPI, type: openapi}]\n";

    #[test]
    fn unsupported_workflows_say_why() {
        let workflows = lower_text(&format!(
            "{HEAD}workflows:\n\
             - workflowId: deleteIt\n  steps:\n  - stepId: del\n    operationId: deleteDatabase\n    parameters: [{{name: databaseId, in: path, value: x}}]\n\
             - workflowId: transfer\n  steps:\n  - stepId: list\n    operationId: listDatabaseBackups\n    parameters: [{{name: databaseId, in: path, value: x}}]\n    onFailure: [{{name: other, type: goto, workflowId: deleteIt}}]\n\
             - workflowId: caller\n  steps:\n  - stepId: call\n    workflowId: deleteIt\n\
             - workflowId: noPath\n  steps:\n  - stepId: list\n    operationId: listDatabaseBackups\n"
        ));
        let reasons: Vec<(&str, &str)> = workflows.iter().map(|w| (w.workflow_id.as_str(), w.unsupported.as_deref().unwrap_or("-"))).collect();
        assert!(reasons[0].1.contains("`deleteDatabase` (DELETE /databases/{databaseId}) is not consumed by the capability"), "{reasons:?}");
        // A goto to a workflow compiles, but not to one that cannot be generated.
        assert!(reasons[1].1.contains("calls workflow `deleteIt`, which cannot be generated"), "{reasons:?}");
        assert!(reasons[2].1.contains("calls workflow `deleteIt`, which cannot be generated"), "{reasons:?}");
        assert!(reasons[3].1.contains("no `in: path` parameter gives `{databaseId}`"), "{reasons:?}");
    }

    #[test]
    fn actions_merge_and_workflow_steps_lower() {
        let workflows = lower_text(&format!(
            "{HEAD}workflows:\n\
             - workflowId: list\n  inputs: {{type: object, properties: {{db: {{type: string}}, n: {{type: integer}}}}, required: [db]}}\n  \
             failureActions: [{{name: again, type: retry, retryAfter: 2}}, {{name: stop, type: end}}]\n  steps:\n  \
             - stepId: list\n    operationId: $sourceDescriptions.api.listDatabaseBackups\n    parameters: [{{name: databaseId, in: path, value: $inputs.db}}, {{name: page, in: query, value: $inputs.n}}]\n    \
             successCriteria: [{{condition: '$statusCode == 200 && !($response.body#/data/0 == null)'}}, {{context: $response.body, condition: '^\\{{', type: regex}}]\n    \
             onFailure: [{{name: again, type: retry, retryLimit: 3, criteria: [{{condition: $statusCode >= 500}}]}}]\n    \
             outputs: {{first: $response.body#/data/0/id, asked: $request.path.databaseId}}\n  \
             outputs: {{first: $steps.list.outputs.first}}\n\
             - workflowId: outer\n  steps:\n  - stepId: run\n    workflowId: list\n    parameters: [{{name: db, value: db_123}}]\n    outputs: {{got: $outputs.first}}\n  outputs: {{got: $steps.run.outputs.got}}\n"
        ));
        let list = &workflows[0];
        assert_eq!(list.unsupported, None);
        let step = &list.steps[0];
        let kinds: Vec<(&str, &ActionKind)> = step.on_failure.iter().map(|a| (a.name.as_str(), &a.kind)).collect();
        assert_eq!(kinds, vec![("again", &ActionKind::Retry { after: None, limit: 3, step: 0, workflow: None }), ("stop", &ActionKind::End)]);
        assert!(matches!(&step.criteria[0].check, Check::Condition(Cond::And(a, b))
            if **a == Cond::Status(CompareOp::Eq, 200) && matches!(**b, Cond::Not(_))));
        assert!(matches!(&step.criteria[1].check, Check::Regex { pattern, .. } if pattern == "^\\{"));
        assert_eq!(step.outputs[1].value, Value::Input { field: "db".to_string(), pointer: None });
        assert_eq!(call(step).query, vec![("page".to_string(), Value::Input { field: "n".to_string(), pointer: None })]);

        let outer = &workflows[1];
        assert_eq!(outer.unsupported, None);
        let StepKind::Workflow { index, inputs, result_var } = &outer.steps[0].kind else { panic!("a workflow step") };
        assert_eq!((*index, result_var.as_str()), (0, "run_result"));
        assert_eq!(inputs, &vec![("db".to_string(), Value::Literal(Json::String("db_123".to_string())))]);
        assert_eq!(outer.steps[0].outputs[0].value, Value::Local { var: "run_result".to_string(), pointer: Some("/first".to_string()) });
    }

    #[test]
    fn the_seed_outputs_are_typed_from_the_response_schemas() {
        let w = &seed()[0];
        let types: Vec<(&str, &OutputType)> = w.outputs.iter().map(|o| (o.name.as_str(), &o.ty)).collect();
        // `$response.body#/id` of the 202 `DatabaseBackup`; `#/status` of the inline 202 schema.
        assert_eq!(types, vec![("backupId", &OutputType::String), ("restoreStatus", &OutputType::String)]);
        let create: Vec<(&str, &OutputType)> = w.steps[0].outputs.iter().map(|o| (o.name.as_str(), &o.ty)).collect();
        assert_eq!(create, vec![("backupId", &OutputType::String), ("status", &OutputType::String)]);
    }

    #[test]
    fn output_types_follow_pointers_or_say_why_not() {
        let workflows = lower_text(&format!(
            "{HEAD}workflows:\n\
             - workflowId: list\n  inputs: {{type: object, properties: {{db: {{type: string}}, extra: {{type: object}}}}}}\n  steps:\n  \
             - stepId: list\n    operationId: listDatabaseBackups\n    parameters: [{{name: databaseId, in: path, value: $inputs.db}}]\n    \
             successCriteria: [{{condition: $statusCode == 200}}]\n    \
             outputs: {{size: $response.body#/data/0/sizeBytes, all: $response.body#/data, whole: $response.body, nope: $response.body#/data/0/nope, \
             bad: $response.body#/data/first, status: $statusCode, rid: $response.header.X-Request-Id, db: $inputs.db, extra: $inputs.extra}}\n  \
             outputs: {{size: $steps.list.outputs.size, all: $steps.list.outputs.all, db: $inputs.db, fixed: 'x', deep: $steps.list.outputs.all#/0/id}}\n"
        ));
        let w = &workflows[0];
        assert_eq!(w.unsupported, None);
        let types = |list: &[NamedValue]| list.iter().map(|o| (o.name.clone(), o.ty.clone())).collect::<Vec<_>>();
        let untyped = |reason: &str| OutputType::Untyped(reason.to_string());
        let object = "an object (outputs keep objects as JSON, so no field outside the schema is lost)";
        assert_eq!(types(&w.steps[0].outputs), vec![
            ("size".to_string(), OutputType::Integer),
            ("all".to_string(), untyped(&format!("array items: {object}"))),
            ("whole".to_string(), untyped(object)),
            ("nope".to_string(), untyped("the schema has no property `nope`")),
            ("bad".to_string(), untyped("the pointer reads `first`, which is not a property or index of the schema there")),
            ("status".to_string(), OutputType::Integer),
            ("rid".to_string(), OutputType::String),
            ("db".to_string(), OutputType::String),
            ("extra".to_string(), untyped("the input's schema is not a string, integer, number or boolean")),
        ]);
        assert_eq!(types(&w.outputs), vec![
            ("size".to_string(), OutputType::Integer),
            ("all".to_string(), untyped(&format!("array items: {object}"))),
            ("db".to_string(), OutputType::String),
            ("fixed".to_string(), untyped("a literal value")),
            ("deep".to_string(), untyped("a JSON Pointer into a step output")),
        ]);
    }

    #[test]
    fn responses_that_disagree_or_cross_one_of_stay_untyped() {
        let doc = |schemas: &str| {
            let dir = tempfile::tempdir().expect("a temp dir");
            let path = dir.path().join("api.yaml");
            std::fs::write(&path, format!("openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  schemas:\n{schemas}")).expect("writable");
            let mut sources = crate::diagnostics::SourceMap::default();
            let mut diagnostics = crate::diagnostics::Diagnostics::default();
            crate::parse::openapi::load_openapi(&path, &mut sources, &mut diagnostics).expect("loads")
        };
        let api = doc("    A: {oneOf: [{type: string}, {type: integer}]}\n    B: {type: object, properties: {n: {type: integer}}, additionalProperties: {type: string}}\n    C: {allOf: [{$ref: '#/components/schemas/B'}, {type: object, properties: {m: {type: array, items: {type: number}}}}]}\n");
        let schema = |name: &str| Some(Schema::Ref(name.to_string()));
        let at = |responses: Vec<(&str, Option<Schema>)>, pointer: &str| {
            let responses = responses.into_iter().map(|(s, schema)| (s.to_string(), schema)).collect();
            body_type(&ResponseSchemas { doc: Some(&api), responses }, pointer)
        };
        assert_eq!(at(vec![("200", schema("A"))], ""), OutputType::Untyped("the pointer crosses a `oneOf`".to_string()));
        assert_eq!(at(vec![("200", schema("B"))], "/n"), OutputType::Integer);
        assert_eq!(at(vec![("200", schema("B"))], "/other"), OutputType::Untyped("`other` falls under `additionalProperties`".to_string()));
        assert_eq!(at(vec![("200", schema("C"))], "/m"), OutputType::Array(Box::new(OutputType::Number)));
        assert_eq!(at(vec![("200", schema("C"))], "/n"), OutputType::Integer);
        assert_eq!(
            at(vec![("200", schema("B")), ("201", schema("C"))], "/m"),
            OutputType::Untyped("responses `200` and `201` type it differently".to_string())
        );
        assert_eq!(at(vec![("204", None)], "/n"), OutputType::Untyped("response `204` has no JSON schema".to_string()));
    }

    /// Every corpus workflow lowers without panicking; each is supported or says why not.
    #[test]
    fn corpus_workflows_lower_or_say_why() {
        let root = Path::new(ROOT).join("tests/corpus");
        let mut summary = Vec::new();
        let mut supported = 0;
        let mut total = 0;
        for dir in ["api-evangelist-prisma/arazzo", "arazzo-oai-examples"] {
            let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
                .expect("corpus dir")
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("arazzo"))
                .collect();
            files.sort();
            for file in files {
                let checked = checked(None, vec![file.clone()]);
                let ir = crate::ir::build::build(None, &checked.openapi, &checked.arazzo);
                for w in &ir.workflows {
                    total += 1;
                    match &w.unsupported {
                        None => supported += 1,
                        Some(reason) => summary.push(format!("{}#{}: {reason}", file.file_name().unwrap_or_default().to_string_lossy(), w.workflow_id)),
                    }
                }
                // Whatever lowered must also emit, and render as valid Rust.
                let tokens = crate::emit::workflow::emit_workflows(&ir);
                if let Err(e) = syn::parse2::<syn::File>(tokens) {
                    panic!("{}: the emitted workflows do not parse: {e}", file.display());
                }
            }
        }
        eprintln!("{supported} of {total} corpus workflows lower; the others:\n{}", summary.join("\n"));
        assert!(total >= 20, "{total}");
        assert!(supported * 2 >= total, "{supported} of {total}:\n{}", summary.join("\n"));
    }
}
