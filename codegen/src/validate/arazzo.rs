//! Validation of an Arazzo document: every reference, expression and criterion, all at once.
//!
//! Checks ids (duplicate/unknown stepIds, workflowIds, operationIds, components), parses every
//! runtime expression, template and criterion with [`crate::expr`] and checks what they name
//! (`$steps.x.outputs.y`, `$inputs.x`, `$workflows.x.outputs.y`, …). Legacy forms are warnings
//! whose help shows the standard form. Operations are checked against a [`KnownOperations`]
//! list, which keeps this module independent of the OpenAPI reader.
//!
//! Expression diagnostics point at the expression inside its YAML string (column-accurate for
//! plain, quoted and block scalars).

use std::collections::{BTreeSet, HashSet};

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::diagnostics::{Diagnostic, Diagnostics, Span};
use crate::expr::{
    self, Check, CheckError, ComponentKind, CompareOp, CriterionType, Expr, ExprError, JsonPointer, Legacy, LegacyKind,
    Literal, Operand, Source, WorkflowField,
};
use crate::parse::arazzo::{Action, ActionType, ArazzoDoc, Criterion, Parameter, Reusable, Step, Workflow};
use crate::parse::yaml::{child, item};

/// What each source description offers, as far as it is known. Sources missing from `sources`
/// (not loaded, or Arazzo documents) are not checked.
#[derive(Clone, Debug, Default)]
pub struct KnownOperations {
    pub sources: IndexMap<String, SourceOperations>,
    /// `type: arazzo` sources that loaded: source name → the workflowIds of that document.
    pub workflows: IndexMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct SourceOperations {
    /// Every `operationId` in the document.
    pub operation_ids: Vec<String>,
    /// Every operation as `(path template, lower-case method)`; empty when unknown, which turns
    /// the `operationPath` existence check off.
    pub paths: Vec<(String, String)>,
    /// operationId → its declared parameters `(name, in)`.
    pub parameters: IndexMap<String, Vec<(String, &'static str)>>,
}

impl KnownOperations {
    /// Sources that declare `operation_id`.
    fn sources_with(&self, operation_id: &str) -> Vec<&str> {
        self.sources
            .iter()
            .filter(|(_, ops)| ops.operation_ids.iter().any(|id| id == operation_id))
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// Warnings for Arazzo (and OpenAPI) forms that peers (arazzo-runner, Redocly `respect`) run but
/// the spec does not define; each help line shows the standard form. `--strict` makes them errors.
pub const LOOSE_FORMS: &[&str] = &[
    "legacy-bare-expression",
    "legacy-double-quoted-string",
    "legacy-jsonpath-comparison",
    "legacy-response-headers",
    "legacy-body-dot-path",
    "legacy-pointer-without-slash",
    "legacy-step-without-outputs",
    "legacy-id-with-spaces",
    "legacy-step-output-path",
    "legacy-operation-path-source",
    "legacy-operation-id-source",
    "undeclared-input",
    "unknown-step-output",
    "openapi-invalid-schema",
];

/// `--strict`: every [`LOOSE_FORMS`] warning becomes an error.
pub fn strict(diagnostics: Diagnostics) -> Diagnostics {
    diagnostics
        .into_iter()
        .map(|mut d| {
            if LOOSE_FORMS.contains(&d.code) {
                d.severity = crate::diagnostics::Severity::Error;
            }
            d
        })
        .collect()
}

/// Checks the whole document, pushing every problem found.
pub fn validate_arazzo(doc: &ArazzoDoc, operations: &KnownOperations, diagnostics: &mut Diagnostics) {
    let mut checker = Checker::new(doc, operations, diagnostics);
    checker.document();
}

/// Where an expression sits, which decides what it may refer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Parameter values, request bodies: before the step's call.
    Request,
    /// Step outputs and criteria: after the call.
    Response,
    /// Workflow outputs: after all steps; no current request or response.
    WorkflowOutput,
    /// Components: no workflow to check references against.
    Component,
}

/// The workflow (and step) an expression belongs to.
#[derive(Clone, Copy)]
struct Scope<'a> {
    workflow: Option<&'a Workflow>,
    /// The local workflow a `workflowId` step calls (`$outputs.x` in its outputs reads it).
    called: Option<&'a Workflow>,
    place: Place,
}

struct Checker<'a> {
    doc: &'a ArazzoDoc,
    operations: &'a KnownOperations,
    out: &'a mut Diagnostics,
    /// workflowId → first workflow with it.
    workflows: IndexMap<&'a str, &'a Workflow>,
    /// workflowId → declared input names (`None`: the schema does not say).
    inputs: IndexMap<&'a str, Option<BTreeSet<String>>>,
}

impl<'a> Checker<'a> {
    fn new(doc: &'a ArazzoDoc, operations: &'a KnownOperations, out: &'a mut Diagnostics) -> Self {
        let mut workflows = IndexMap::new();
        for w in &doc.workflows {
            workflows.entry(w.workflow_id.as_str()).or_insert(w);
        }
        let mut checker = Checker { doc, operations, out, workflows, inputs: IndexMap::new() };
        for w in &doc.workflows {
            let names = checker.input_names(w);
            checker.inputs.entry(w.workflow_id.as_str()).or_insert(names);
        }
        checker
    }

    fn span(&self, pointer: &str) -> Span {
        self.doc.file.span(pointer)
    }

    fn key_span(&self, pointer: &str) -> Span {
        self.doc.file.key_span(pointer)
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.out.push(diagnostic);
    }

    // -----------------------------------------------------------------------------------------
    // Document, sources, workflows
    // -----------------------------------------------------------------------------------------

    fn document(&mut self) {
        if let Some(version) = &self.doc.arazzo
            && !is_supported_version(version)
        {
            self.push(
                Diagnostic::error("unsupported-arazzo-version", format!("Arazzo version `{version}` is not supported"))
                    .at(self.span("/arazzo"))
                    .help("capgen reads Arazzo 1.0.x documents: write `arazzo: 1.0.1`"),
            );
        }
        let mut names: HashSet<&str> = HashSet::new();
        for source in &self.doc.source_descriptions {
            if !names.insert(&source.name) {
                self.push(
                    Diagnostic::error("duplicate-source-name", format!("source description `{}` is declared twice", source.name))
                        .at(self.span(&child(&source.pointer, "name")))
                        .help("give each source description a unique `name`"),
                );
            }
            if source.name.is_empty() || !source.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                self.push(
                    Diagnostic::error("invalid-source-name", format!("`{}` is not a valid source description name", source.name))
                        .at(self.span(&child(&source.pointer, "name")))
                        .help("names use letters, digits, `_` and `-` (they appear in `$sourceDescriptions.<name>`)"),
                );
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for workflow in &self.doc.workflows {
            if !seen.insert(&workflow.workflow_id) {
                self.push(
                    Diagnostic::error(
                        "duplicate-workflow-id",
                        format!("workflowId `{}` is used by more than one workflow", workflow.workflow_id),
                    )
                    .at(self.span(&child(&workflow.pointer, "workflowId")))
                    .help("give each workflow a unique `workflowId`"),
                );
            }
        }
        for workflow in &self.doc.workflows {
            self.workflow(workflow);
        }
        self.components();
    }

    fn workflow(&mut self, workflow: &'a Workflow) {
        let scope = Scope { workflow: Some(workflow), called: None, place: Place::Request };
        for dep in &workflow.depends_on {
            if dep.value == workflow.workflow_id {
                self.push(
                    Diagnostic::error("self-dependency", format!("workflow `{}` depends on itself", dep.value))
                        .at(self.span(&dep.pointer))
                        .help("remove it from `dependsOn`"),
                );
            } else {
                self.workflow_ref(&dep.value, &dep.pointer, "dependsOn");
            }
        }
        if let Some(inputs) = &workflow.inputs {
            self.input_refs(inputs, &child(&workflow.pointer, "inputs"), 0);
        }
        let mut step_ids: HashSet<&str> = HashSet::new();
        for step in &workflow.steps {
            if !step_ids.insert(&step.step_id) {
                self.push(
                    Diagnostic::error(
                        "duplicate-step-id",
                        format!("stepId `{}` is used twice in workflow `{}`", step.step_id, workflow.workflow_id),
                    )
                    .at(self.span(&child(&step.pointer, "stepId")))
                    .help("give each step of a workflow a unique `stepId`"),
                );
            }
        }
        if workflow.steps.is_empty() && self.doc.file.has(&child(&workflow.pointer, "steps")) {
            self.push(
                Diagnostic::error("empty-workflow", format!("workflow `{}` has no steps", workflow.workflow_id))
                    .at(self.span(&child(&workflow.pointer, "steps")))
                    .help("add at least one step"),
            );
        }
        self.parameters(&workflow.parameters, scope, false);
        for step in &workflow.steps {
            self.step(workflow, step);
        }
        for action in &workflow.success_actions {
            self.action(action, false, Some(workflow), Scope { place: Place::Response, ..scope });
        }
        for action in &workflow.failure_actions {
            self.action(action, true, Some(workflow), Scope { place: Place::Response, ..scope });
        }
        for output in &workflow.outputs {
            self.output_name(&output.name, &output.pointer);
            let scope = Scope { place: Place::WorkflowOutput, ..scope };
            self.value_string(&output.value, &output.pointer, scope, true);
        }
    }

    /// `$ref`s in an inputs schema that point into `components.inputs` must resolve.
    fn input_refs(&mut self, schema: &Json, pointer: &str, depth: usize) {
        if depth > 32 {
            return;
        }
        match schema {
            Json::Object(map) => {
                for (key, value) in map {
                    let at = child(pointer, key);
                    if key == "$ref"
                        && let Some(reference) = value.as_str()
                        && let Some(name) = reference.strip_prefix("#/components/inputs/")
                        && !self.doc.components.inputs.contains_key(name)
                    {
                        let known: Vec<&str> = self.doc.components.inputs.keys().map(String::as_str).collect();
                        self.push(
                            Diagnostic::error("unknown-component", format!("`components.inputs` has no `{name}`"))
                                .at(self.span(&at))
                                .help(match expr::closest(name, &known) {
                                    Some(best) => format!("did you mean `#/components/inputs/{best}`?"),
                                    None => "declare it under `components.inputs`".to_string(),
                                }),
                        );
                    }
                    self.input_refs(value, &at, depth + 1);
                }
            }
            Json::Array(items) => {
                for (i, value) in items.iter().enumerate() {
                    self.input_refs(value, &item(pointer, i), depth + 1);
                }
            }
            _ => {}
        }
    }

    /// The input names a workflow declares: `properties` of its schema, following local
    /// `$ref`s and `allOf`/`oneOf`/`anyOf`. `None` when the schema allows any name.
    fn input_names(&self, workflow: &Workflow) -> Option<BTreeSet<String>> {
        match &workflow.inputs {
            None => Some(BTreeSet::new()),
            Some(schema) => self.schema_properties(schema, 0),
        }
    }

    fn schema_properties(&self, schema: &Json, depth: usize) -> Option<BTreeSet<String>> {
        if depth > 16 {
            return None;
        }
        let map = schema.as_object()?;
        if let Some(reference) = map.get("$ref").and_then(Json::as_str) {
            let name = reference.strip_prefix("#/components/inputs/")?;
            let target = self.doc.components.inputs.get(name)?;
            return self.schema_properties(target, depth + 1);
        }
        let mut names = BTreeSet::new();
        let mut described = false;
        if let Some(properties) = map.get("properties").and_then(Json::as_object) {
            names.extend(properties.keys().cloned());
            described = true;
        }
        for combinator in ["allOf", "oneOf", "anyOf"] {
            if let Some(branches) = map.get(combinator).and_then(Json::as_array) {
                for branch in branches {
                    names.extend(self.schema_properties(branch, depth + 1)?);
                }
                described = true;
            }
        }
        let open = map.get("additionalProperties").is_some_and(|a| a != &Json::Bool(false));
        (described && !open).then_some(names)
    }

    // -----------------------------------------------------------------------------------------
    // Steps
    // -----------------------------------------------------------------------------------------

    fn step(&mut self, workflow: &'a Workflow, step: &'a Step) {
        let targets: Vec<&str> = [
            step.operation_id.as_ref().map(|_| "operationId"),
            step.operation_path.as_ref().map(|_| "operationPath"),
            step.workflow_id.as_ref().map(|_| "workflowId"),
        ]
        .into_iter()
        .flatten()
        .collect();
        match targets.as_slice() {
            [] => self.push(
                Diagnostic::error("missing-step-target", format!("step `{}` calls nothing", step.step_id))
                    .at(self.key_span(&child(&step.pointer, "stepId")))
                    .help("give the step exactly one of `operationId`, `operationPath` or `workflowId`"),
            ),
            [_] => {}
            [_, second, ..] => self.push(
                Diagnostic::error(
                    "conflicting-step-target",
                    format!("step `{}` has {}; a step calls exactly one thing", step.step_id, targets.join(" and ")),
                )
                .at(self.key_span(&child(&step.pointer, second)))
                .help(format!("keep one of {}", targets.join(", "))),
            ),
        }
        if let Some(operation_id) = &step.operation_id {
            self.operation_id(operation_id, &child(&step.pointer, "operationId"));
        }
        if let Some(path) = &step.operation_path {
            self.operation_path(path, &child(&step.pointer, "operationPath"));
        }
        let mut called = None;
        if let Some(workflow_id) = &step.workflow_id {
            called = self.workflow_ref(workflow_id, &child(&step.pointer, "workflowId"), "workflowId");
            if workflow_id == &workflow.workflow_id {
                self.push(
                    Diagnostic::warning("recursive-workflow", format!("step `{}` calls its own workflow", step.step_id))
                        .at(self.span(&child(&step.pointer, "workflowId")))
                        .help("make sure the recursion ends; every run has a step budget"),
                );
            }
        }
        let calls_operation = step.workflow_id.is_none();
        let scope = Scope { workflow: Some(workflow), called, place: Place::Request };
        self.parameters(&step.parameters, scope, calls_operation);
        if let Some(operation_id) = &step.operation_id {
            self.undeclared_parameters(step, operation_id);
        }
        if let Some(body) = &step.request_body {
            if let Some(payload) = &body.payload {
                self.json_value(payload, &child(&body.pointer, "payload"), scope, 0);
            }
            for replacement in &body.replacements {
                self.replacement_target(&replacement.target, &child(&replacement.pointer, "target"));
                self.json_value(&replacement.value, &child(&replacement.pointer, "value"), scope, 0);
            }
        }
        let response = Scope { place: Place::Response, ..scope };
        if let Some(criteria) = &step.success_criteria {
            if criteria.is_empty() {
                self.push(
                    Diagnostic::error("empty-success-criteria", format!("step `{}` has an empty `successCriteria`", step.step_id))
                        .at(self.span(&child(&step.pointer, "successCriteria")))
                        .help("list at least one criterion (`- condition: $statusCode == 200`) or remove the field"),
                );
            }
            for criterion in criteria {
                self.criterion(criterion, response);
            }
        }
        for action in &step.on_success {
            self.action(action, false, Some(workflow), response);
        }
        for action in &step.on_failure {
            self.action(action, true, Some(workflow), response);
        }
        for output in &step.outputs {
            self.output_name(&output.name, &output.pointer);
            self.value_string(&output.value, &output.pointer, response, true);
        }
        self.polling_without_retry(workflow, step);
    }

    /// Query and path parameters the step's OpenAPI operation does not declare: the upstream
    /// would not read them (headers are not checked: credentials are rarely declared).
    fn undeclared_parameters(&mut self, step: &Step, operation_id: &str) {
        let (source, id) = match expr::parse_expression(operation_id) {
            Ok(Expr::SourceDescription { source, reference }) => (Some(source), reference),
            _ => (None, operation_id.to_string()),
        };
        let mut declared = self
            .operations
            .sources
            .iter()
            .filter(|(name, _)| source.as_deref().is_none_or(|s| s == name.as_str()))
            .filter_map(|(_, ops)| ops.parameters.get(&id));
        let (Some(declared), None) = (declared.next(), declared.next()) else { return };
        for parameter in &step.parameters {
            let Reusable::Inline(p) = parameter else { continue };
            let Some(location) = p.location.map(|l| l.as_str()).filter(|l| matches!(*l, "query" | "path")) else { continue };
            if declared.iter().any(|(name, at)| *at == location && name == &p.name) {
                continue;
            }
            let same_place: Vec<&str> = declared.iter().filter(|(_, at)| *at == location).map(|(name, _)| name.as_str()).collect();
            let squash = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
            let close = same_place.iter().find(|name| squash(name) == squash(&p.name));
            let (message, help) = match (location, close) {
                ("path", Some(name)) => (
                    format!("`{id}` names its path parameter `{name}`; `{}` is read as `{name}`", p.name),
                    format!("write `name: {name}`"),
                ),
                (_, Some(name)) => (
                    format!("`{id}` has no {location} parameter `{}`; it is sent as written, not as `{name}`", p.name),
                    format!("write `name: {name}` if that is the parameter meant"),
                ),
                (_, None) => (
                    format!("`{id}` has no {location} parameter `{}`; it is sent as written", p.name),
                    match same_place.as_slice() {
                        [] => format!("`{id}` declares no {location} parameters; remove it or check the operation"),
                        names => format!("`{id}` declares these {location} parameters: {}", names.join(", ")),
                    },
                ),
            };
            self.push(Diagnostic::warning("undeclared-parameter", message).at(self.span(&child(&p.pointer, "name"))).help(help));
        }
    }

    fn operation_id(&mut self, operation_id: &str, pointer: &str) {
        if operation_id.starts_with("$sourceDescriptions.") {
            let expr = match expr::parse_expression(operation_id) {
                Ok(e) => e,
                Err(e) => return self.expr_error("invalid-expression", &e, operation_id, pointer),
            };
            let Expr::SourceDescription { source, reference } = expr else { return };
            if !self.source_exists(&source, operation_id, pointer, 20) {
                return;
            }
            if let Some(ops) = self.operations.sources.get(&source) {
                let ids: Vec<&str> = ops.operation_ids.iter().map(String::as_str).collect();
                if !ids.contains(&reference.as_str()) {
                    let at = self.locate(pointer, operation_id, 21 + source.len(), reference.len());
                    self.push(
                        Diagnostic::error("unknown-operation-id", format!("source `{source}` has no operation `{reference}`"))
                            .at(at)
                            .help(operation_help(&reference, &ids)),
                    );
                }
            }
            return;
        }
        if self.operations.sources.is_empty() {
            return;
        }
        let found = self.operations.sources_with(operation_id);
        if found.is_empty()
            && let Some((source, id)) = operation_id.split_once('.')
            && self.operations.sources.get(source).is_some_and(|ops| ops.operation_ids.iter().any(|o| o == id))
        {
            // `<source>.<operationId>`: the short form Redocly reads.
            self.push(
                Diagnostic::warning("legacy-operation-id-source", format!("`{operation_id}` names source `{source}` without `$sourceDescriptions`"))
                    .at(self.span(pointer))
                    .label(format!("read as operation `{id}` of source `{source}`"))
                    .help(format!("write `$sourceDescriptions.{source}.{id}`")),
            );
            return;
        }
        match found.len() {
            1 => {}
            0 => {
                let ids: Vec<&str> = self
                    .operations
                    .sources
                    .values()
                    .flat_map(|ops| ops.operation_ids.iter().map(String::as_str))
                    .collect();
                self.push(
                    Diagnostic::error("unknown-operation-id", format!("no source description has an operation `{operation_id}`"))
                        .at(self.span(pointer))
                        .help(operation_help(operation_id, &ids)),
                );
            }
            _ => self.push(
                Diagnostic::error(
                    "ambiguous-operation-id",
                    format!("operation `{operation_id}` exists in {} source descriptions", found.len()),
                )
                .at(self.span(pointer))
                .help(format!("name the source: `$sourceDescriptions.{}.{operation_id}`", found[0])),
            ),
        }
    }

    fn operation_path(&mut self, text: &str, pointer: &str) {
        let path = match expr::parse_operation_path(text) {
            Ok(p) => p,
            Err(e) => return self.expr_error("invalid-operation-path", &e, text, pointer),
        };
        let name_at = if text.starts_with('{') { 21 } else { 20 };
        if !self.source_exists(&path.source, text, pointer, name_at) {
            return;
        }
        let Some((route, method)) = path.path_and_method() else {
            let help = match path.pointer.tokens.as_slice() {
                [paths, _] if paths == "paths" => format!("point at an operation, not a path item: append the method, `{text}/get`"),
                _ => "write `#/paths/<escaped path>/<method>`, e.g. `#/paths/~1pets~1{petId}/get`".to_string(),
            };
            self.push(
                Diagnostic::error("invalid-operation-path", "this operationPath does not point at an operation")
                    .at(self.span(pointer))
                    .help(help),
            );
            return;
        };
        const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
        if !METHODS.contains(&method) {
            self.push(
                Diagnostic::error("invalid-operation-path", format!("`{method}` is not an HTTP method"))
                    .at(self.span(pointer))
                    .help(format!("end the pointer with one of: {}", METHODS.join(", "))),
            );
            return;
        }
        if let Some(ops) = self.operations.sources.get(&path.source)
            && !ops.paths.is_empty()
            && !ops.paths.iter().any(|(p, m)| p == route && m.eq_ignore_ascii_case(method))
        {
            let routes: Vec<&str> = ops.paths.iter().map(|(p, _)| p.as_str()).collect();
            let help = match expr::closest(route, &routes) {
                Some(best) => format!("did you mean `{best}`? (escape `/` as `~1` in the pointer)"),
                None => "check the path and method against the OpenAPI document".to_string(),
            };
            self.push(
                Diagnostic::error(
                    "unknown-operation-path",
                    format!("source `{}` has no `{}` operation at `{route}`", path.source, method.to_uppercase()),
                )
                .at(self.span(pointer))
                .help(help),
            );
        }
    }

    /// Whether `source` names a source description; reports it when not.
    fn source_exists(&mut self, source: &str, text: &str, pointer: &str, name_offset: usize) -> bool {
        let names: Vec<&str> = self.doc.source_descriptions.iter().map(|s| s.name.as_str()).collect();
        if names.contains(&source) {
            return true;
        }
        let at = self.locate(pointer, text, name_offset, source.len());
        self.push(
            Diagnostic::error("unknown-source-description", format!("there is no source description `{source}`"))
                .at(at)
                .help(match expr::closest(source, &names) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None if names.is_empty() => "declare it under `sourceDescriptions`".to_string(),
                    None => format!("declared source descriptions: {}", names.join(", ")),
                }),
        );
        false
    }

    /// `$sourceDescriptions.<source>.<workflow>`: the workflow exists in that `type: arazzo`
    /// document (when it loaded; a source of another type has no workflows).
    fn remote_workflow_exists(&mut self, source: &str, workflow: &str, text: &str, pointer: &str) {
        let at = 20 + source.len() + 1;
        let (message, help) = match self.operations.workflows.get(source) {
            Some(ids) if ids.iter().any(|id| id == workflow) => return,
            Some(ids) => (
                format!("source `{source}` has no workflow `{workflow}`"),
                match expr::closest(workflow, &ids.iter().map(String::as_str).collect::<Vec<_>>()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("workflows of `{source}`: {}", ids.join(", ")),
                },
            ),
            None if self.doc.is_arazzo_source(source) => return,
            None => (
                format!("source `{source}` is not an Arazzo document, so it has no workflows"),
                "declare it with `type: arazzo`, or name an operation with `operationId` instead".to_string(),
            ),
        };
        let span = self.locate(pointer, text, at, workflow.len());
        self.push(Diagnostic::error("unknown-workflow-id", message).at(span).help(help));
    }

    /// A workflowId reference (local, or `$sourceDescriptions.x.y`); the local workflow if any.
    fn workflow_ref(&mut self, workflow_id: &str, pointer: &str, field: &str) -> Option<&'a Workflow> {
        if workflow_id.starts_with("$sourceDescriptions.") {
            match expr::parse_expression(workflow_id) {
                Ok(Expr::SourceDescription { source, reference }) => {
                    if self.source_exists(&source, workflow_id, pointer, 20) {
                        self.remote_workflow_exists(&source, &reference, workflow_id, pointer);
                    }
                }
                Ok(_) => {}
                Err(e) => self.expr_error("invalid-expression", &e, workflow_id, pointer),
            }
            return None;
        }
        if let Some(w) = self.workflows.get(workflow_id) {
            return Some(w);
        }
        let ids: Vec<&str> = self.workflows.keys().copied().collect();
        self.push(
            Diagnostic::error("unknown-workflow-id", format!("`{field}` names workflow `{workflow_id}`, which does not exist"))
                .at(self.span(pointer))
                .help(match expr::closest(workflow_id, &ids) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("workflows in this document: {}", ids.join(", ")),
                }),
        );
        None
    }

    fn output_name(&mut self, name: &str, pointer: &str) {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            self.push(
                Diagnostic::error("invalid-output-name", format!("`{name}` is not a valid output name"))
                    .at(self.key_span(pointer))
                    .help("output names use letters, digits, `.`, `-` and `_`"),
            );
        }
    }

    fn replacement_target(&mut self, target: &str, pointer: &str) {
        if target.starts_with('/') || target.is_empty() {
            if let Err(e) = expr::parse_json_pointer(target) {
                self.expr_error("invalid-payload-target", &e, target, pointer);
            }
        } else {
            self.push(
                Diagnostic::error("invalid-payload-target", format!("`{target}` is not a JSON Pointer"))
                    .at(self.span(pointer))
                    .help("write a JSON Pointer into the payload, such as `/customer/id` (XPath targets are not supported)"),
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // Parameters, values, expressions
    // -----------------------------------------------------------------------------------------

    fn parameters(&mut self, parameters: &'a [Reusable<Parameter>], scope: Scope<'a>, calls_operation: bool) {
        let mut seen: IndexMap<(String, Option<&'static str>), String> = IndexMap::new();
        for parameter in parameters {
            let (resolved, pointer, value) = match parameter {
                Reusable::Inline(p) => (Some(p), p.pointer.clone(), Some(&p.value)),
                Reusable::Reference(r) => {
                    let resolved = self.component_ref(&r.reference, &child(&r.pointer, "reference"), ComponentKind::Parameters);
                    let resolved = resolved.and_then(|name| self.doc.components.parameters.get(&name));
                    (resolved, r.pointer.clone(), r.value.as_ref().or(resolved.map(|p| &p.value)))
                }
            };
            if let Some(value) = value {
                let at = match parameter {
                    Reusable::Inline(p) => child(&p.pointer, "value"),
                    Reusable::Reference(r) if r.value.is_some() => child(&r.pointer, "value"),
                    Reusable::Reference(r) => child(&r.pointer, "reference"),
                };
                if matches!(parameter, Reusable::Inline(_)) || matches!(parameter, Reusable::Reference(r) if r.value.is_some()) {
                    self.json_value(value, &at, scope, 0);
                }
            }
            let Some(resolved) = resolved else { continue };
            if calls_operation && resolved.location.is_none() && matches!(parameter, Reusable::Inline(_)) {
                self.push(
                    Diagnostic::error("missing-parameter-in", format!("parameter `{}` has no `in`", resolved.name))
                        .at(self.key_span(&child(&pointer, "name")))
                        .help("parameters of an operation step say where they go: `in: path`, `query`, `header` or `cookie`"),
                );
            }
            let key = (resolved.name.clone(), resolved.location.map(|l| l.as_str()));
            if let Some(first) = seen.get(&key) {
                let first_line = self.span(first).line;
                self.push(
                    Diagnostic::error("duplicate-parameter", format!("parameter `{}` is given twice", resolved.name))
                        .at(self.span(&pointer))
                        .help(format!("remove one of the two (the first is on line {first_line})")),
                );
            } else {
                seen.insert(key, pointer);
            }
        }
    }

    /// `$components.<kind>.<name>` in a Reusable Object: the component name when it resolves.
    fn component_ref(&mut self, reference: &str, pointer: &str, kind: ComponentKind) -> Option<String> {
        let expr = match expr::parse_expression(reference) {
            Ok(e) => e,
            Err(e) => {
                self.expr_error("invalid-reference", &e, reference, pointer);
                return None;
            }
        };
        match expr {
            Expr::Component { kind: found, name } if found == kind => {
                let span = self.locate(pointer, reference, reference.len() - name.len(), name.len());
                self.component_exists(kind, &name, span).then_some(name)
            }
            _ => {
                self.push(
                    Diagnostic::error("invalid-reference", format!("a reference here must name `$components.{}`", kind.as_str()))
                        .at(self.span(pointer))
                        .help(format!("write `$components.{}.<name>`", kind.as_str())),
                );
                None
            }
        }
    }

    fn component_exists(&mut self, kind: ComponentKind, name: &str, span: Span) -> bool {
        let c = &self.doc.components;
        let names: Vec<&str> = match kind {
            ComponentKind::Inputs => c.inputs.keys().map(String::as_str).collect(),
            ComponentKind::Parameters => c.parameters.keys().map(String::as_str).collect(),
            ComponentKind::SuccessActions => c.success_actions.keys().map(String::as_str).collect(),
            ComponentKind::FailureActions => c.failure_actions.keys().map(String::as_str).collect(),
        };
        if names.contains(&name) {
            return true;
        }
        self.push(
            Diagnostic::error("unknown-component", format!("`components.{}` has no `{name}`", kind.as_str()))
                .at(span)
                .help(match expr::closest(name, &names) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("declare it under `components.{}`", kind.as_str()),
                }),
        );
        false
    }

    /// Every string inside a JSON value (parameter value, payload) is a value string.
    fn json_value(&mut self, value: &Json, pointer: &str, scope: Scope<'a>, depth: usize) {
        if depth > 64 {
            return;
        }
        match value {
            Json::String(s) => self.value_string(s, pointer, scope, false),
            Json::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.json_value(v, &item(pointer, i), scope, depth + 1);
                }
            }
            Json::Object(map) => {
                for (k, v) in map {
                    self.json_value(v, &child(pointer, k), scope, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// A string value: a whole runtime expression, or a template with `{$…}` embeddings.
    /// `must_be_expression` is set for outputs, which are runtime expressions by definition.
    fn value_string(&mut self, text: &str, pointer: &str, scope: Scope<'a>, must_be_expression: bool) {
        let parsed = match expr::parse_value_string(text) {
            Ok(p) => p,
            Err(e) => return self.expr_error("invalid-expression", &e, text, pointer),
        };
        if must_be_expression && parsed.value.is_literal() {
            self.push(
                Diagnostic::warning("literal-output", "this output is a constant, not a runtime expression")
                    .at(self.span(pointer))
                    .help("outputs are runtime expressions such as `$response.body#/id`"),
            );
        }
        self.legacy(&parsed.legacy, text, pointer);
        for located in parsed.value.exprs() {
            let span = self.locate(pointer, text, located.offset, located.len);
            self.expr_refs(&located.value, span, scope);
        }
    }

    /// Checks what an expression names.
    fn expr_refs(&mut self, expr: &Expr, span: Span, scope: Scope<'a>) {
        match expr {
            Expr::SelfRef | Expr::Message(_) => self.push(
                Diagnostic::error("unsupported-expression", format!("`{expr}` is an Arazzo 1.1 expression"))
                    .at(span)
                    .help("capgen reads Arazzo 1.0.x; `$self` and `$message` are not available"),
            ),
            Expr::Url | Expr::Method | Expr::StatusCode | Expr::Request(_) | Expr::Response(_)
                if scope.place == Place::WorkflowOutput =>
            {
                self.push(
                    Diagnostic::error("unavailable-expression", format!("`{expr}` is only available inside a step"))
                        .at(span)
                        .help("expose a step output and read it as `$steps.<stepId>.outputs.<name>`"),
                );
            }
            Expr::Response(_) | Expr::StatusCode if scope.place == Place::Request => self.push(
                Diagnostic::error("unavailable-expression", format!("`{expr}` is read before the step has a response"))
                    .at(span)
                    .help("use a previous step's output: `$steps.<stepId>.outputs.<name>`"),
            ),
            Expr::Inputs { name, .. } => {
                let Some(workflow) = scope.workflow else { return };
                self.input_declared(workflow, name, span, "$inputs.");
            }
            Expr::StepOutput { step_id, output, pointer } => {
                let Some(workflow) = scope.workflow else { return };
                self.step_output(workflow, step_id, output, pointer.as_ref(), span);
            }
            Expr::Workflow { workflow_id, field, name, .. } => {
                let Some(target) = self.workflows.get(workflow_id.as_str()).copied() else {
                    let ids: Vec<&str> = self.workflows.keys().copied().collect();
                    self.push(
                        Diagnostic::error("unknown-workflow-id", format!("there is no workflow `{workflow_id}`"))
                            .at(span)
                            .help(match expr::closest(workflow_id, &ids) {
                                Some(best) => format!("did you mean `$workflows.{best}`?"),
                                None => format!("workflows in this document: {}", ids.join(", ")),
                            }),
                    );
                    return;
                };
                match field {
                    WorkflowField::Outputs => self.workflow_output(target, name, span),
                    WorkflowField::Inputs => {
                        self.input_declared(target, name, span, &format!("$workflows.{workflow_id}.inputs."))
                    }
                }
            }
            Expr::Outputs { name, .. } => {
                let target = match scope.place {
                    Place::Response => scope.called,
                    Place::WorkflowOutput => scope.workflow,
                    _ => None,
                };
                if let Some(target) = target {
                    self.workflow_output(target, name, span);
                }
            }
            Expr::SourceDescription { source, .. } => {
                let names: Vec<&str> = self.doc.source_descriptions.iter().map(|s| s.name.as_str()).collect();
                if !names.contains(&source.as_str()) {
                    self.push(
                        Diagnostic::error("unknown-source-description", format!("there is no source description `{source}`"))
                            .at(span)
                            .help(match expr::closest(source, &names) {
                                Some(best) => format!("did you mean `{best}`?"),
                                None => "declare it under `sourceDescriptions`".to_string(),
                            }),
                    );
                }
            }
            Expr::Component { kind, name } => {
                self.component_exists(*kind, name, span);
            }
            _ => {}
        }
    }

    fn input_declared(&mut self, workflow: &Workflow, name: &str, span: Span, prefix: &str) {
        let Some(Some(names)) = self.inputs.get(workflow.workflow_id.as_str()) else { return };
        if names.contains(name) {
            return;
        }
        let list: Vec<&str> = names.iter().map(String::as_str).collect();
        let help = if let Some((head, rest)) = name.split_once('.').filter(|(h, _)| names.contains(*h)) {
            format!("to read inside input `{head}`, use a JSON Pointer: `{prefix}{head}#/{}`", rest.replace('.', "/"))
        } else if let Some(best) = expr::closest(name, &list) {
            format!("did you mean `{prefix}{best}`?")
        } else if list.is_empty() {
            format!("declare it in the workflow's `inputs` schema: `properties: {{{name}: {{type: string}}}}`")
        } else {
            format!("declared inputs: {}; or add `{name}` to the `inputs` schema", list.join(", "))
        };
        // Runners read an undeclared input as absent; so does the generated code.
        self.push(
            Diagnostic::warning(
                "undeclared-input",
                format!("input `{name}` is not declared by workflow `{}`; its value is absent (null)", workflow.workflow_id),
            )
            .at(span)
            .help(help),
        );
    }

    fn step_output(&mut self, workflow: &Workflow, step_id: &str, output: &str, pointer: Option<&JsonPointer>, span: Span) {
        let Some(step) = workflow.steps.iter().find(|s| s.step_id == step_id) else {
            let ids = step_ids(workflow);
            let elsewhere = self
                .doc
                .workflows
                .iter()
                .find(|w| w.workflow_id != workflow.workflow_id && w.steps.iter().any(|s| s.step_id == step_id));
            let help = match (expr::closest(step_id, &ids), elsewhere) {
                (Some(best), _) => format!("did you mean `$steps.{best}`?"),
                (None, Some(w)) => format!(
                    "`{step_id}` is a step of workflow `{}`; read other workflows through `$workflows.{}.outputs.<name>`",
                    w.workflow_id, w.workflow_id
                ),
                (None, None) => format!("steps of `{}`: {}", workflow.workflow_id, ids.join(", ")),
            };
            self.push(
                Diagnostic::error(
                    "unknown-step-reference",
                    format!("workflow `{}` has no step `{step_id}`", workflow.workflow_id),
                )
                .at(span)
                .help(help),
            );
            return;
        };
        if step.outputs.iter().any(|o| o.name == output) {
            return;
        }
        let names: Vec<&str> = step.outputs.iter().map(|o| o.name.as_str()).collect();
        if let Some((name, mut tokens)) = expr::output_path(output, &names) {
            tokens.extend(pointer.iter().flat_map(|p| p.tokens.iter().cloned()));
            let standard = Expr::StepOutput { step_id: step_id.to_string(), output: name.clone(), pointer: Some(JsonPointer { tokens }) };
            self.push(
                Diagnostic::warning("legacy-step-output-path", format!("step `{step_id}` has no output `{output}`; it is read as a path into output `{name}`"))
                    .at(span)
                    .label("read as a JSON Pointer into the output")
                    .help(format!("write `{standard}`")),
            );
            return;
        }
        let help = match expr::closest(output, &names) {
            Some(best) => format!("did you mean `$steps.{step_id}.outputs.{best}`?"),
            None if names.is_empty() => format!("step `{step_id}` declares no outputs; add `outputs: {{{output}: $response.body#/…}}` to it"),
            None => format!("step `{step_id}` declares: {}; or add `{output}` to its `outputs`", names.join(", ")),
        };
        // Runners read an output the step does not declare as absent; so does the generated code.
        self.push(
            Diagnostic::warning("unknown-step-output", format!("step `{step_id}` has no output `{output}`; its value is absent (null)"))
                .at(span)
                .help(help),
        );
    }

    fn workflow_output(&mut self, workflow: &Workflow, name: &str, span: Span) {
        if workflow.outputs.iter().any(|o| o.name == name) {
            return;
        }
        let names: Vec<&str> = workflow.outputs.iter().map(|o| o.name.as_str()).collect();
        self.push(
            Diagnostic::error(
                "unknown-workflow-output",
                format!("workflow `{}` has no output `{name}`", workflow.workflow_id),
            )
            .at(span)
            .help(match expr::closest(name, &names) {
                Some(best) => format!("did you mean `{best}`?"),
                None if names.is_empty() => format!("workflow `{}` declares no outputs", workflow.workflow_id),
                None => format!("declared outputs: {}", names.join(", ")),
            }),
        );
    }

    // -----------------------------------------------------------------------------------------
    // Criteria and actions
    // -----------------------------------------------------------------------------------------

    fn criterion(&mut self, criterion: &Criterion, scope: Scope<'a>) {
        let condition_pointer = child(&criterion.pointer, "condition");
        let context_pointer = child(&criterion.pointer, "context");
        let parsed = match expr::parse_criterion(criterion.kind, criterion.context.as_deref(), &criterion.condition) {
            Ok(p) => p,
            Err(CheckError::UnsupportedXPath) => {
                self.push(
                    Diagnostic::error("unsupported-xpath-criterion", "XPath criteria are not supported")
                        .at(self.span(&child(&criterion.pointer, "type")))
                        .help("capgen compiles JSON workflows: select with a `jsonpath` criterion or a simple condition on `$response.body#/…`"),
                );
                return;
            }
            Err(CheckError::MissingContext(kind)) => {
                self.push(
                    Diagnostic::error(
                        "missing-criterion-context",
                        format!("a `{}` criterion needs a `context`", kind.as_str()),
                    )
                    .at(self.key_span(&child(&criterion.pointer, "type")))
                    .help("add `context: $response.body` (the value the condition is applied to)"),
                );
                return;
            }
            Err(CheckError::Context(e)) => {
                let text = criterion.context.as_deref().unwrap_or_default();
                return self.expr_error("invalid-expression", &e, text, &context_pointer);
            }
            Err(CheckError::Condition(e)) => {
                let code = match criterion.kind {
                    CriterionType::Regex => "invalid-regex",
                    CriterionType::JsonPath => "invalid-jsonpath",
                    _ => "invalid-condition",
                };
                return self.expr_error(code, &e, &criterion.condition, &condition_pointer);
            }
        };
        if let (CriterionType::JsonPath, Some(version)) = (criterion.kind, &criterion.version)
            && version != "draft-goessner-dispatch-jsonpath-00"
        {
            self.push(
                Diagnostic::warning("unknown-expression-version", format!("unknown JSONPath version `{version}`"))
                    .at(self.span(&child(&criterion.pointer, "type/version")))
                    .help("Arazzo 1.0 names `draft-goessner-dispatch-jsonpath-00`; capgen evaluates RFC 9535 JSONPath"),
            );
        }
        if let Some(context) = &criterion.context
            && let Ok(expr) = expr::parse_expression(context)
        {
            let span = self.locate(&context_pointer, context, 0, context.len());
            self.expr_refs(&expr, span, scope);
        }
        self.legacy(&parsed.legacy, &criterion.condition, &condition_pointer);
        if let Check::Simple(condition) = &parsed.value {
            for located in condition.exprs() {
                let span = self.locate(&condition_pointer, &criterion.condition, located.offset, located.len);
                self.expr_refs(&located.value, span, scope);
            }
        }
    }

    fn action(&mut self, action: &'a Reusable<Action>, failure: bool, workflow: Option<&'a Workflow>, scope: Scope<'a>) {
        let kind = if failure { ComponentKind::FailureActions } else { ComponentKind::SuccessActions };
        let action = match action {
            Reusable::Inline(a) => a,
            Reusable::Reference(r) => {
                self.component_ref(&r.reference, &child(&r.pointer, "reference"), kind);
                return;
            }
        };
        self.action_body(action, failure, workflow, scope);
    }

    fn action_body(&mut self, action: &Action, failure: bool, workflow: Option<&'a Workflow>, scope: Scope<'a>) {
        let type_pointer = child(&action.pointer, "type");
        if !failure && action.kind == ActionType::Retry {
            self.push(
                Diagnostic::error("invalid-action-type", "`retry` is a failure action")
                    .at(self.span(&type_pointer))
                    .help("success actions are `end` or `goto`; move the retry to `onFailure`"),
            );
        }
        if action.kind != ActionType::Retry && (action.retry_after.is_some() || action.retry_limit.is_some()) {
            self.push(
                Diagnostic::warning("ignored-retry-fields", "`retryAfter`/`retryLimit` only apply to `type: retry`")
                    .at(self.span(&type_pointer))
                    .help("set `type: retry`, or remove the retry fields"),
            );
        }
        if let Some(after) = action.retry_after
            && (after < 0.0 || !after.is_finite())
        {
            self.push(
                Diagnostic::error("invalid-retry-after", "`retryAfter` must be a non-negative number of seconds")
                    .at(self.span(&child(&action.pointer, "retryAfter")))
                    .help("write a delay in seconds, such as `retryAfter: 5`"),
            );
        }
        match (action.kind, &action.step_id, &action.workflow_id) {
            (ActionType::Goto, None, None) => self.push(
                Diagnostic::error("invalid-goto", format!("goto action `{}` has no target", action.name))
                    .at(self.span(&type_pointer))
                    .help("add `stepId: <step>` or `workflowId: <workflow>`"),
            ),
            (ActionType::Goto, Some(_), Some(_)) => self.push(
                Diagnostic::error("invalid-goto", format!("goto action `{}` has both `stepId` and `workflowId`", action.name))
                    .at(self.key_span(&child(&action.pointer, "workflowId")))
                    .help("keep one target"),
            ),
            (kind, step_id, workflow_id) => {
                if kind != ActionType::Goto && (step_id.is_some() || workflow_id.is_some()) && kind != ActionType::Retry {
                    self.push(
                        Diagnostic::warning("ignored-action-target", format!("`{}` actions ignore `stepId`/`workflowId`", match kind {
                            ActionType::End => "end",
                            _ => "this",
                        }))
                        .at(self.span(&type_pointer))
                        .help("use `type: goto` to transfer control"),
                    );
                }
                if let (Some(step_id), Some(workflow)) = (step_id, workflow) {
                    self.goto_step(workflow, step_id, &child(&action.pointer, "stepId"));
                }
                if let Some(workflow_id) = workflow_id {
                    self.workflow_ref(workflow_id, &child(&action.pointer, "workflowId"), "workflowId");
                }
            }
        }
        for criterion in &action.criteria {
            self.criterion(criterion, scope);
        }
    }

    fn goto_step(&mut self, workflow: &Workflow, step_id: &str, pointer: &str) {
        if workflow.steps.iter().any(|s| s.step_id == step_id) {
            return;
        }
        let ids = step_ids(workflow);
        self.push(
            Diagnostic::error("unknown-step-id", format!("workflow `{}` has no step `{step_id}`", workflow.workflow_id))
                .at(self.span(pointer))
                .help(match expr::closest(step_id, &ids) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("steps of `{}`: {}", workflow.workflow_id, ids.join(", ")),
                }),
        );
    }

    /// A success criterion that checks a state in the response body (`status == 'completed'`)
    /// fails the workflow when unmet unless a retry applies: warn and show the fix.
    fn polling_without_retry(&mut self, workflow: &Workflow, step: &Step) {
        let Some(criteria) = &step.success_criteria else { return };
        let has_retry = |actions: &[Reusable<Action>], components: &IndexMap<String, Action>| {
            actions.iter().any(|a| match a {
                Reusable::Inline(a) => a.kind == ActionType::Retry,
                Reusable::Reference(r) => r
                    .reference
                    .strip_prefix("$components.failureActions.")
                    .and_then(|name| components.get(name))
                    .is_some_and(|a| a.kind == ActionType::Retry),
            })
        };
        let failure_components = &self.doc.components.failure_actions;
        if has_retry(&step.on_failure, failure_components) || has_retry(&workflow.failure_actions, failure_components) {
            return;
        }
        let Some(criterion) = criteria.iter().find(|c| is_state_check(c)) else { return };
        self.push(
            Diagnostic::warning(
                "criterion-without-retry",
                format!("step `{}` checks a state that may not be reached yet, and nothing retries it", step.step_id),
            )
            .at(self.span(&child(&criterion.pointer, "condition")))
            .label("unmet → the workflow fails")
            .help(
                "by the spec an unmet success criterion fails the workflow; to poll, add `onFailure: \
                 [{name: retryUntilReady, type: retry, retryAfter: 5, retryLimit: 12}]` to this step",
            ),
        );
    }

    fn components(&mut self) {
        let scope = Scope { workflow: None, called: None, place: Place::Component };
        let c = &self.doc.components;
        for (name, parameter) in &c.parameters {
            if let Json::String(_) | Json::Array(_) | Json::Object(_) = &parameter.value {
                self.json_value(&parameter.value, &child(&parameter.pointer, "value"), scope, 0);
            }
            let _ = name;
        }
        for action in c.success_actions.values() {
            self.action_body(action, false, None, scope);
        }
        for action in c.failure_actions.values() {
            self.action_body(action, true, None, scope);
        }
        for (name, schema) in &c.inputs {
            self.input_refs(schema, &child("/components/inputs", name), 0);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Reporting helpers
    // -----------------------------------------------------------------------------------------

    fn legacy(&mut self, legacy: &[Legacy], text: &str, pointer: &str) {
        let standard = expr::standard_form(text, legacy);
        for l in legacy {
            let span = self.locate(pointer, text, l.offset, l.len);
            let found = text.get(l.offset..l.offset + l.len).unwrap_or(text);
            let diagnostic = match l.kind {
                LegacyKind::BareExpression => Diagnostic::warning(
                    "legacy-bare-expression",
                    format!("`{found}` inside a string is not a standard runtime expression"),
                )
                .label("read as an embedded expression")
                .help(format!("embed it in braces: `{standard}`")),
                LegacyKind::DoubleQuotedString => Diagnostic::warning(
                    "legacy-double-quoted-string",
                    format!("{found} is a double-quoted string; Arazzo string literals use single quotes"),
                )
                .help(format!("write `{standard}`")),
                LegacyKind::JsonPathComparison => Diagnostic::warning(
                    "legacy-jsonpath-comparison",
                    "a `jsonpath` criterion compares a value here; JSONPath has no comparison outside a filter",
                )
                .label("read as a comparison of the value this path selects")
                .help(format!(
                    "write it as a simple condition: `condition: {}` (without `context` and `type`)",
                    l.standard
                )),
                LegacyKind::JsonPathLength => Diagnostic::warning(
                    "legacy-jsonpath-comparison",
                    "`.length` is not RFC 9535 JSONPath, and JSONPath has no comparison outside a filter",
                )
                .label("read as a comparison of the array's length")
                .help(if l.standard.is_empty() {
                    "Arazzo has no standard form for an array length; capgen compares the length as written".to_string()
                } else {
                    format!("the standard form: `type: jsonpath` with `condition: {}` (true when the array has an element)", l.standard)
                }),
                LegacyKind::HeadersPlural => Diagnostic::warning(
                    "legacy-response-headers",
                    "`headers` is not a message part; runners read it as `header`",
                )
                .label("read as `header`")
                .help(format!("write `{standard}`")),
                LegacyKind::BodyDotPath => Diagnostic::warning(
                    "legacy-body-dot-path",
                    format!("`{found}` selects inside the body with a dotted path, not a JSON Pointer"),
                )
                .label(format!("read as `{}`", l.standard))
                .help(format!("write `{standard}`")),
                LegacyKind::PointerWithoutSlash => Diagnostic::warning(
                    "legacy-pointer-without-slash",
                    "a JSON Pointer starts with `/`; this one is read as if it did",
                )
                .help(format!("write `{standard}`")),
                LegacyKind::StepWithoutOutputs => Diagnostic::warning(
                    "legacy-step-without-outputs",
                    "a step's values are read through `outputs`; this expression omits it",
                )
                .label("read as a step output")
                .help(format!("write `{standard}`")),
                LegacyKind::IdWithSpaces => Diagnostic::warning(
                    "legacy-id-with-spaces",
                    format!("`{found}` has spaces; runtime expressions name ids of letters, digits, `_` and `-`"),
                )
                .label("read up to the `.` that follows it")
                .help(format!("rename `{found}` to `{}` and write `{standard}`", l.standard)),
            };
            self.push(diagnostic.at(span));
        }
    }

    fn expr_error(&mut self, code: &'static str, error: &ExprError, text: &str, pointer: &str) {
        let span = self.locate(pointer, text, error.offset, error.len);
        let mut diagnostic = Diagnostic::error(code, error.message.clone()).at(span);
        diagnostic = match &error.help {
            Some(help) => diagnostic.help(help.clone()),
            None => diagnostic.help(default_help(code)),
        };
        self.push(diagnostic);
    }

    /// The span of bytes `offset..offset+len` of the string `text` stored at `pointer`: exact
    /// when the scalar's source text can be matched (plain, quoted, block), else the whole node.
    fn locate(&self, pointer: &str, text: &str, offset: usize, len: usize) -> Span {
        let node = self.span(pointer);
        let source = &self.doc.file.text;
        let region = source.get(node.offset..node.offset + node.len).unwrap_or_default();
        let start = if region.starts_with(text) && !text.is_empty() {
            Some(node.offset + offset)
        } else if region.len() > 1 && region[1..].starts_with(text) && region.starts_with(['\'', '"']) {
            Some(node.offset + 1 + offset)
        } else {
            // Block and folded scalars: find the line of `text` that holds `offset`.
            let line_start = text.get(..offset).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
            let line_end = text.get(offset..).and_then(|t| t.find('\n')).map_or(text.len(), |i| offset + i);
            text.get(line_start..line_end)
                .filter(|line| !line.trim().is_empty())
                .and_then(|line| region.find(line))
                .map(|at| node.offset + at + (offset - line_start))
        };
        let Some(start) = start.filter(|s| *s <= source.len() && source.is_char_boundary(*s)) else { return node };
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Span { file: node.file.clone(), line, column, offset: start, len: len.max(1) }
    }
}

/// The step ids of a workflow, each once, in order.
fn step_ids(workflow: &Workflow) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for step in &workflow.steps {
        if !ids.contains(&step.step_id.as_str()) {
            ids.push(&step.step_id);
        }
    }
    ids
}

fn is_supported_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix("1.0.") else { return false };
    let patch = rest.split('-').next().unwrap_or_default();
    !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())
}

fn default_help(code: &str) -> &'static str {
    match code {
        "invalid-condition" => "conditions compare values: `$statusCode == 200 && $response.body#/ok == true`",
        "invalid-jsonpath" => "write an RFC 9535 query such as `$[?@.status == 'completed']`",
        "invalid-regex" => "fix the regular expression",
        "invalid-operation-path" => "write `{$sourceDescriptions.<name>.url}#/paths/~1path/get`",
        _ => "runtime expressions look like `$response.body#/id`, `$inputs.name` or `$steps.<id>.outputs.<name>`",
    }
}

/// Help for an unknown operationId: a case-only difference, else the closest ids.
fn operation_help(operation_id: &str, ids: &[&str]) -> String {
    if let Some(same) = ids.iter().find(|id| id.eq_ignore_ascii_case(operation_id)) {
        return format!("operationIds are case-sensitive: write `{same}`");
    }
    let lower = operation_id.to_lowercase();
    let mut scored: Vec<(usize, &str)> = ids
        .iter()
        .map(|id| (expr::edit_distance(&lower, &id.to_lowercase()), *id))
        .filter(|(d, id)| *d <= (id.len() / 3).max(2))
        .collect();
    scored.sort();
    scored.dedup();
    let close: Vec<String> = scored.iter().take(3).map(|(_, id)| format!("`{id}`")).collect();
    if close.is_empty() {
        "check the operationId against the OpenAPI document".to_string()
    } else {
        format!("close matches: {}", close.join(", "))
    }
}

/// A criterion comparing a response-body value with a string literal (a polled state).
fn is_state_check(criterion: &Criterion) -> bool {
    let Ok(parsed) = expr::parse_criterion(criterion.kind, criterion.context.as_deref(), &criterion.condition) else {
        return false;
    };
    let body = |e: &Expr| matches!(e, Expr::Response(Source::Body(_)));
    let is_string = |o: &Operand| matches!(o, Operand::Literal(Literal::String(_)));
    match &parsed.value {
        Check::JsonPathCompare { value, op, literal, length, .. } => {
            !length && body(value) && matches!(literal, Literal::String(_)) && *op == CompareOp::Eq
        }
        Check::Simple(condition) => condition.comparisons().iter().any(|(l, op, r)| {
            *op == CompareOp::Eq
                && ((matches!(l, Operand::Expr(e) if body(&e.value)) && is_string(r))
                    || (matches!(r, Operand::Expr(e) if body(&e.value)) && is_string(l)))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceMap;
    use crate::parse::arazzo::{load_arazzo, read_arazzo};
    use crate::parse::yaml::YamlFile;
    use std::path::Path;
    use std::sync::Arc;

    const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml");

    fn seed_operations() -> KnownOperations {
        let ops = SourceOperations {
            operation_ids: vec!["createDatabaseBackup".into(), "listDatabaseBackups".into(), "restoreDatabaseBackup".into()],
            ..SourceOperations::default()
        };
        KnownOperations { sources: [("postgresManagementApi".to_string(), ops)].into_iter().collect(), ..KnownOperations::default() }
    }

    fn check_text(text: &str, operations: &KnownOperations) -> Diagnostics {
        let file = YamlFile::parse(Arc::from(Path::new("/tmp/t.arazzo.yaml")), Arc::from(text)).unwrap();
        let mut diagnostics = Diagnostics::new();
        if let Some(doc) = read_arazzo(file, &mut diagnostics) {
            validate_arazzo(&doc, operations, &mut diagnostics);
        }
        diagnostics
    }

    fn check_file(path: &Path, operations: &KnownOperations) -> Diagnostics {
        let mut sources = SourceMap::default();
        let mut diagnostics = Diagnostics::new();
        if let Some(doc) = load_arazzo(path, &mut sources, &mut diagnostics) {
            validate_arazzo(&doc, operations, &mut diagnostics);
        }
        diagnostics
    }

    fn codes(diagnostics: &Diagnostics) -> Vec<&'static str> {
        diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn seed_validates_with_warnings_only() {
        let diagnostics = check_file(Path::new(SEED), &seed_operations());
        assert!(!diagnostics.has_errors(), "{diagnostics}");
        let codes = codes(&diagnostics);
        assert!(codes.contains(&"legacy-bare-expression"));
        assert!(codes.contains(&"legacy-jsonpath-comparison"));
        assert!(codes.contains(&"criterion-without-retry"));
        // The first `Bearer $inputs.apiToken` (line 51), pointing at the `$`.
        let bare = diagnostics.iter().find(|d| d.code == "legacy-bare-expression").unwrap();
        let span = bare.span.as_ref().unwrap();
        assert_eq!((span.line, span.column), (51, 21));
        assert_eq!(bare.help.as_deref(), Some("embed it in braces: `Bearer {$inputs.apiToken}`"));
        let jsonpath = diagnostics.iter().find(|d| d.code == "legacy-jsonpath-comparison").unwrap();
        assert_eq!(jsonpath.span.as_ref().unwrap().line, 76);
        assert!(jsonpath.help.as_ref().unwrap().contains("$response.body#/data/0/status == 'completed'"));
        let retry = diagnostics.iter().find(|d| d.code == "criterion-without-retry").unwrap();
        assert_eq!(retry.span.as_ref().unwrap().line, 76);
        assert!(retry.help.as_ref().unwrap().contains("retryAfter"));
    }

    #[test]
    fn seed_with_a_retry_does_not_warn_about_polling() {
        let text = std::fs::read_to_string(SEED).unwrap_or_default();
        if text.is_empty() {
            return;
        }
        let patched = text.replace(
            "    outputs:\n      latestStatus:",
            "    onFailure:\n    - name: wait\n      type: retry\n      retryAfter: 5\n      retryLimit: 10\n    outputs:\n      latestStatus:",
        );
        let diagnostics = check_text(&patched, &seed_operations());
        assert!(!codes(&diagnostics).contains(&"criterion-without-retry"), "{diagnostics}");
    }

    #[test]
    fn unknown_operation_ids_get_close_matches() {
        let text = std::fs::read_to_string(SEED).unwrap_or_default().replace(
            "operationId: createDatabaseBackup",
            "operationId: createdatabasebackup",
        );
        if text.is_empty() {
            return;
        }
        let diagnostics = check_text(&text, &seed_operations());
        let d = diagnostics.iter().find(|d| d.code == "unknown-operation-id").unwrap();
        assert_eq!(d.span.as_ref().unwrap().line, 44);
        assert!(d.help.as_ref().unwrap().contains("case-sensitive: write `createDatabaseBackup`"));
    }

    const BROKEN: &str = r#"arazzo: 1.0.1
info: {title: t, version: '1'}
sourceDescriptions:
- {name: api, url: ./api.yaml}
workflows:
- workflowId: main
  inputs:
    type: object
    properties:
      token: {type: string}
  dependsOn: [other]
  steps:
  - stepId: a
    operationId: opA
    parameters:
    - {name: id, value: $inputs.tokn}
    - {name: x, in: query, value: 1}
    - {name: x, in: query, value: 2}
    successCriteria:
    - condition: $statusCode == 200 && $response.body#/ok = true
    - context: $response.body
      condition: //status
      type: xpath
    outputs:
      loc: $response.headers.Location
      id: $response.body#/id
    onSuccess:
    - {name: next, type: goto, stepId: bb}
  - stepId: a
    operationPath: '{$sourceDescriptions.api.url}#/paths/~1pets'
    outputs:
      v: $steps.a.outputs.missing
      w: $steps.zz.outputs.id
  - stepId: c
    workflowId: nowhere
  outputs:
    o: $workflows.main.outputs.nope
"#;

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let ops = KnownOperations {
            sources: [("api".to_string(), SourceOperations { operation_ids: vec!["opB".into()], ..SourceOperations::default() })]
                .into_iter()
                .collect(),
            ..KnownOperations::default()
        };
        let diagnostics = check_text(BROKEN, &ops).sorted();
        let found: Vec<(&str, usize, usize)> = diagnostics
            .iter()
            .map(|d| (d.code, d.span.as_ref().map_or(0, |s| s.line), d.span.as_ref().map_or(0, |s| s.column)))
            .collect();
        let expected = [
            ("unknown-workflow-id", 11, 15),
            ("unknown-operation-id", 14, 18),
            ("missing-parameter-in", 16, 8),
            ("undeclared-input", 16, 25),
            ("duplicate-parameter", 18, 7),
            ("invalid-condition", 20, 59),
            ("unsupported-xpath-criterion", 23, 13),
            ("legacy-response-headers", 25, 22),
            ("unknown-step-id", 28, 40),
            ("duplicate-step-id", 29, 13),
            ("invalid-operation-path", 30, 20),
            ("unknown-step-output", 32, 10),
            ("unknown-step-reference", 33, 10),
            ("unknown-workflow-id", 35, 17),
            ("unknown-workflow-output", 37, 8),
        ];
        for e in expected {
            assert!(found.contains(&e), "missing {e:?} in {found:#?}\n{diagnostics}");
        }
        assert!(diagnostics.iter().all(|d| d.help.is_some() && d.span.is_some()), "{diagnostics}");
        let headers = diagnostics.iter().find(|d| d.code == "legacy-response-headers").unwrap();
        assert_eq!(headers.help.as_deref(), Some("write `$response.header.Location`"));
    }

    #[test]
    fn corpus_documents_never_panic_and_report_known_mistakes() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus");
        let mut checked = 0;
        for dir in ["api-evangelist-prisma/arazzo", "arazzo-oai-examples"] {
            let entries = std::fs::read_dir(format!("{root}/{dir}")).expect("the corpus is checked in");
            for entry in entries.flatten() {
                let path = entry.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                if name.ends_with(".yml") || name.ends_with(".arazzo.yaml") || name == "bnpl-arazzo.yaml" {
                    let _ = check_file(&path, &KnownOperations::default());
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 18, "12 api-evangelist workflows and 6 Arazzo examples");
        let bnpl = format!("{root}/arazzo-oai-examples/bnpl-arazzo.yaml");
        let diagnostics = check_file(Path::new(&bnpl), &KnownOperations::default());
        let codes = codes(&diagnostics);
        assert!(codes.contains(&"legacy-step-without-outputs"), "{diagnostics}");
        assert!(codes.contains(&"unknown-step-output"), "{diagnostics}");
    }

    #[test]
    fn oai_schema_fail_documents_are_rejected() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/arazzo-grammar/oai-schema-tests-v1.0-dev");
        let fail: Vec<_> = std::fs::read_dir(format!("{root}/fail")).expect("checked in").flatten().collect();
        assert!(!fail.is_empty());
        for entry in fail {
            let diagnostics = check_file(&entry.path(), &KnownOperations::default());
            assert!(diagnostics.has_errors(), "{} should fail", entry.path().display());
        }
        for entry in std::fs::read_dir(format!("{root}/pass")).expect("checked in").flatten() {
            let _ = check_file(&entry.path(), &KnownOperations::default());
        }
    }
}
