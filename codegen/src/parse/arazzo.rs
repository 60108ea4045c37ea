//! Arazzo 1.0.x documents: a typed model read from YAML (or JSON).
//!
//! Decoding goes object by object (each source description, workflow, step, parameter,
//! criterion and action separately), so one malformed node is reported at its location and the
//! rest of the document is still read and checked. Every object keeps the JSON Pointer of the
//! node it came from (`pointer`), which [`ArazzoDoc::file`] turns into spans. Unknown fields other
//! than `x-` extensions are reported as warnings (`unknown-field`) and ignored.
//!
//! Expressions stay strings here; [`crate::expr`] parses them and
//! [`crate::validate::arazzo`] checks them.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::diagnostics::{Diagnostic, Diagnostics, SourceMap};
use crate::expr::{CriterionType, closest};
use crate::parse::paths::Scope;
use crate::parse::yaml::{self, YamlFile, child, item};

/// A loaded Arazzo document. Lists hold only the objects that decoded; the others were reported.
#[derive(Clone, Debug)]
pub struct ArazzoDoc {
    /// The source file, for spans (`file.span(pointer)`).
    pub file: YamlFile,
    /// The `arazzo` version field as written (`None` when missing).
    pub arazzo: Option<String>,
    pub info: Option<Info>,
    pub source_descriptions: Vec<SourceDescription>,
    pub workflows: Vec<Workflow>,
    pub components: Components,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Info {
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub version: String,
    #[serde(flatten)]
    extra: IndexMap<String, serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    OpenApi,
    Arazzo,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceDescription {
    pub pointer: String,
    pub name: String,
    pub url: String,
    pub kind: Option<SourceType>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workflow {
    pub pointer: String,
    pub workflow_id: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    /// The inputs JSON Schema, as written (may be a `$ref` into `components.inputs`).
    pub inputs: Option<serde_json::Value>,
    pub depends_on: Vec<Located<String>>,
    pub steps: Vec<Step>,
    pub success_actions: Vec<Reusable<Action>>,
    pub failure_actions: Vec<Reusable<Action>>,
    pub outputs: Vec<Output>,
    pub parameters: Vec<Reusable<Parameter>>,
}

/// A scalar and the pointer of its node.
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    pub pointer: String,
    pub value: T,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub pointer: String,
    pub step_id: String,
    pub description: Option<String>,
    pub operation_id: Option<String>,
    pub operation_path: Option<String>,
    pub workflow_id: Option<String>,
    pub parameters: Vec<Reusable<Parameter>>,
    pub request_body: Option<RequestBody>,
    /// `None` when absent; `Some(vec![])` when written as an empty list.
    pub success_criteria: Option<Vec<Criterion>>,
    pub on_success: Vec<Reusable<Action>>,
    pub on_failure: Vec<Reusable<Action>>,
    pub outputs: Vec<Output>,
}

/// One entry of an `outputs` map: a name and its runtime expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub pointer: String,
    pub name: String,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterIn {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParameterIn {
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterIn::Path => "path",
            ParameterIn::Query => "query",
            ParameterIn::Header => "header",
            ParameterIn::Cookie => "cookie",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub pointer: String,
    pub name: String,
    /// `in`; required for operation steps, absent for workflow steps.
    pub location: Option<ParameterIn>,
    pub value: serde_json::Value,
}

/// A Reusable Object: `reference: $components.parameters.x` (optionally overriding `value`).
#[derive(Clone, Debug, PartialEq)]
pub struct ReusableRef {
    pub pointer: String,
    pub reference: String,
    pub value: Option<serde_json::Value>,
}

/// An object written inline or as a reference into `components`.
#[derive(Clone, Debug, PartialEq)]
pub enum Reusable<T> {
    Inline(T),
    Reference(ReusableRef),
}

impl<T> Reusable<T> {
    pub fn inline(&self) -> Option<&T> {
        match self {
            Reusable::Inline(t) => Some(t),
            Reusable::Reference(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RequestBody {
    pub pointer: String,
    pub content_type: Option<String>,
    pub payload: Option<serde_json::Value>,
    pub replacements: Vec<PayloadReplacement>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PayloadReplacement {
    pub pointer: String,
    pub target: String,
    pub value: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    pub pointer: String,
    pub context: Option<String>,
    pub condition: String,
    /// `type` (string form or the `type` of a Criterion Expression Type Object).
    pub kind: CriterionType,
    /// `version` of a Criterion Expression Type Object.
    pub version: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionType {
    End,
    Goto,
    Retry,
}

/// A Success Action or Failure Action Object (`retry*` only appear on failure actions).
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub pointer: String,
    pub name: String,
    pub kind: ActionType,
    pub workflow_id: Option<String>,
    pub step_id: Option<String>,
    /// Seconds to wait before a retry.
    pub retry_after: Option<f64>,
    pub retry_limit: Option<u64>,
    pub criteria: Vec<Criterion>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Components {
    pub inputs: IndexMap<String, serde_json::Value>,
    pub parameters: IndexMap<String, Parameter>,
    pub success_actions: IndexMap<String, Action>,
    pub failure_actions: IndexMap<String, Action>,
}

// ---------------------------------------------------------------------------------------------
// Raw serde shapes: scalars decoded by serde, lists kept as YAML for item-by-item decoding.
// ---------------------------------------------------------------------------------------------

type Extra = IndexMap<String, serde_json::Value>;
type Yaml = serde_yaml::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSource {
    name: String,
    url: String,
    #[serde(rename = "type", default)]
    kind: Option<SourceType>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawWorkflow {
    workflow_id: String,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    inputs: Option<serde_json::Value>,
    #[serde(default)]
    depends_on: Option<Yaml>,
    #[serde(default)]
    steps: Option<Yaml>,
    #[serde(default)]
    success_actions: Option<Yaml>,
    #[serde(default)]
    failure_actions: Option<Yaml>,
    #[serde(default)]
    outputs: Option<Yaml>,
    #[serde(default)]
    parameters: Option<Yaml>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStep {
    step_id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    operation_id: Option<String>,
    #[serde(default)]
    operation_path: Option<String>,
    #[serde(default)]
    workflow_id: Option<String>,
    #[serde(default)]
    parameters: Option<Yaml>,
    #[serde(default)]
    request_body: Option<Yaml>,
    #[serde(default)]
    success_criteria: Option<Yaml>,
    #[serde(default)]
    on_success: Option<Yaml>,
    #[serde(default)]
    on_failure: Option<Yaml>,
    #[serde(default)]
    outputs: Option<Yaml>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
struct RawParameter {
    name: String,
    #[serde(rename = "in", default)]
    location: Option<ParameterIn>,
    value: serde_json::Value,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
struct RawReusable {
    reference: String,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRequestBody {
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    payload: Option<serde_json::Value>,
    #[serde(default)]
    replacements: Option<Yaml>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
struct RawReplacement {
    target: String,
    value: serde_json::Value,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
struct RawCriterion {
    #[serde(default)]
    context: Option<String>,
    condition: String,
    #[serde(rename = "type", default)]
    kind: Option<Yaml>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExpressionType {
    #[serde(rename = "type")]
    kind: CriterionType,
    #[serde(default)]
    version: Option<String>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAction {
    name: String,
    #[serde(rename = "type")]
    kind: ActionType,
    #[serde(default)]
    workflow_id: Option<String>,
    #[serde(default)]
    step_id: Option<String>,
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    retry_limit: Option<u64>,
    #[serde(default)]
    criteria: Option<Yaml>,
    #[serde(flatten)]
    extra: Extra,
}

const INFO_FIELDS: &[&str] = &["title", "summary", "description", "version"];
const SOURCE_FIELDS: &[&str] = &["name", "url", "type"];
const WORKFLOW_FIELDS: &[&str] = &[
    "workflowId",
    "summary",
    "description",
    "inputs",
    "dependsOn",
    "steps",
    "successActions",
    "failureActions",
    "outputs",
    "parameters",
];
const STEP_FIELDS: &[&str] = &[
    "stepId",
    "description",
    "operationId",
    "operationPath",
    "workflowId",
    "parameters",
    "requestBody",
    "successCriteria",
    "onSuccess",
    "onFailure",
    "outputs",
];
const PARAMETER_FIELDS: &[&str] = &["name", "in", "value"];
const REUSABLE_FIELDS: &[&str] = &["reference", "value"];
const BODY_FIELDS: &[&str] = &["contentType", "payload", "replacements"];
const REPLACEMENT_FIELDS: &[&str] = &["target", "value"];
const CRITERION_FIELDS: &[&str] = &["context", "condition", "type"];
const EXPRESSION_TYPE_FIELDS: &[&str] = &["type", "version"];
const ACTION_FIELDS: &[&str] = &["name", "type", "workflowId", "stepId", "retryAfter", "retryLimit", "criteria"];
const ROOT_FIELDS: &[&str] = &["arazzo", "info", "sourceDescriptions", "workflows", "components"];
const COMPONENT_FIELDS: &[&str] = &["inputs", "parameters", "successActions", "failureActions"];

/// Decoding state: the file (for locations) and where diagnostics go.
struct Loader<'a> {
    file: &'a YamlFile,
    diagnostics: &'a mut Diagnostics,
}

impl Loader<'_> {
    fn decode<T: DeserializeOwned>(&mut self, pointer: &str, value: &Yaml) -> Option<T> {
        match self.file.decode::<T>(pointer, value) {
            Ok(t) => Some(t),
            Err(d) => {
                self.diagnostics.push(d);
                None
            }
        }
    }

    /// Warns about fields that are neither known nor `x-` extensions.
    fn unknown_fields(&mut self, pointer: &str, extra: &Extra, known: &[&str]) {
        for key in extra.keys().filter(|k| !k.starts_with("x-")) {
            let help = match closest(key, known) {
                Some(best) => format!("did you mean `{best}`? Unknown fields are ignored"),
                None => format!("known fields here: {}; extensions start with `x-`", known.join(", ")),
            };
            self.diagnostics.push(
                Diagnostic::warning("unknown-field", format!("unknown field `{key}`"))
                    .at(self.file.key_span(&child(pointer, key)))
                    .label("ignored")
                    .help(help),
            );
        }
    }

    /// Decodes each element of a list with `one`; a non-list is reported and read as empty.
    fn list<T>(
        &mut self,
        pointer: &str,
        value: Option<&Yaml>,
        mut one: impl FnMut(&mut Self, String, &Yaml) -> Option<T>,
    ) -> Vec<T> {
        let Some(value) = value else { return Vec::new() };
        let Some(sequence) = value.as_sequence() else {
            if !value.is_null() {
                self.diagnostics.push(
                    Diagnostic::error("invalid-field", "expected a list here")
                        .at(self.file.span(pointer))
                        .help("write this field as a YAML list (`- …` items)"),
                );
            }
            return Vec::new();
        };
        sequence.iter().enumerate().filter_map(|(i, v)| one(self, item(pointer, i), v)).collect()
    }

    /// Decodes each entry of a map with string keys.
    fn map<T>(
        &mut self,
        pointer: &str,
        value: Option<&Yaml>,
        mut one: impl FnMut(&mut Self, String, &str, &Yaml) -> Option<T>,
    ) -> IndexMap<String, T> {
        let mut out = IndexMap::new();
        let Some(value) = value else { return out };
        let Some(mapping) = value.as_mapping() else {
            if !value.is_null() {
                self.diagnostics.push(
                    Diagnostic::error("invalid-field", "expected a mapping here")
                        .at(self.file.span(pointer))
                        .help("write this field as `name: value` entries"),
                );
            }
            return out;
        };
        for (key, v) in mapping {
            let Some(key) = key.as_str() else {
                self.diagnostics.push(
                    Diagnostic::error("invalid-field", "keys here must be strings")
                        .at(self.file.span(pointer))
                        .help("quote the key"),
                );
                continue;
            };
            let at = child(pointer, key);
            if let Some(t) = one(self, at, key, v) {
                out.insert(key.to_string(), t);
            }
        }
        out
    }

    fn source(&mut self, pointer: String, value: &Yaml) -> Option<SourceDescription> {
        let raw: RawSource = self.decode(&pointer, value)?;
        self.unknown_fields(&pointer, &raw.extra, SOURCE_FIELDS);
        Some(SourceDescription { pointer, name: raw.name, url: raw.url, kind: raw.kind })
    }

    fn workflow(&mut self, pointer: String, value: &Yaml) -> Option<Workflow> {
        let raw: RawWorkflow = self.decode(&pointer, value)?;
        self.unknown_fields(&pointer, &raw.extra, WORKFLOW_FIELDS);
        let depends_on = self.list(&child(&pointer, "dependsOn"), raw.depends_on.as_ref(), |l, p, v| {
            l.decode::<String>(&p, v).map(|value| Located { pointer: p, value })
        });
        let steps_pointer = child(&pointer, "steps");
        if raw.steps.is_none() {
            self.diagnostics.push(self.file.decode_error(&pointer, "missing field `steps`"));
        }
        let steps = self.list(&steps_pointer, raw.steps.as_ref(), Self::step);
        let success_actions = self.list(&child(&pointer, "successActions"), raw.success_actions.as_ref(), |l, p, v| {
            l.reusable(p, v, Self::action)
        });
        let failure_actions = self.list(&child(&pointer, "failureActions"), raw.failure_actions.as_ref(), |l, p, v| {
            l.reusable(p, v, Self::action)
        });
        let outputs = self.outputs(&child(&pointer, "outputs"), raw.outputs.as_ref());
        let parameters = self.list(&child(&pointer, "parameters"), raw.parameters.as_ref(), |l, p, v| {
            l.reusable(p, v, Self::parameter)
        });
        Some(Workflow {
            pointer,
            workflow_id: raw.workflow_id,
            summary: raw.summary,
            description: raw.description,
            inputs: raw.inputs,
            depends_on,
            steps,
            success_actions,
            failure_actions,
            outputs,
            parameters,
        })
    }

    fn step(&mut self, pointer: String, value: &Yaml) -> Option<Step> {
        let raw: RawStep = self.decode(&pointer, value)?;
        self.unknown_fields(&pointer, &raw.extra, STEP_FIELDS);
        let parameters = self.list(&child(&pointer, "parameters"), raw.parameters.as_ref(), |l, p, v| {
            l.reusable(p, v, Self::parameter)
        });
        let request_body = raw.request_body.as_ref().and_then(|v| self.request_body(child(&pointer, "requestBody"), v));
        let success_criteria = raw
            .success_criteria
            .as_ref()
            .map(|v| self.list(&child(&pointer, "successCriteria"), Some(v), Self::criterion));
        let on_success =
            self.list(&child(&pointer, "onSuccess"), raw.on_success.as_ref(), |l, p, v| l.reusable(p, v, Self::action));
        let on_failure =
            self.list(&child(&pointer, "onFailure"), raw.on_failure.as_ref(), |l, p, v| l.reusable(p, v, Self::action));
        let outputs = self.outputs(&child(&pointer, "outputs"), raw.outputs.as_ref());
        Some(Step {
            pointer,
            step_id: raw.step_id,
            description: raw.description,
            operation_id: raw.operation_id,
            operation_path: raw.operation_path,
            workflow_id: raw.workflow_id,
            parameters,
            request_body,
            success_criteria,
            on_success,
            on_failure,
            outputs,
        })
    }

    /// A list item that is either `{reference: …}` or an inline object.
    fn reusable<T>(
        &mut self,
        pointer: String,
        value: &Yaml,
        inline: impl FnOnce(&mut Self, String, &Yaml) -> Option<T>,
    ) -> Option<Reusable<T>> {
        if value.get("reference").is_some() {
            let raw: RawReusable = self.decode(&pointer, value)?;
            self.unknown_fields(&pointer, &raw.extra, REUSABLE_FIELDS);
            return Some(Reusable::Reference(ReusableRef { pointer, reference: raw.reference, value: raw.value }));
        }
        inline(self, pointer, value).map(Reusable::Inline)
    }

    fn parameter(&mut self, pointer: String, value: &Yaml) -> Option<Parameter> {
        let raw: RawParameter = self.decode(&pointer, value)?;
        self.unknown_fields(&pointer, &raw.extra, PARAMETER_FIELDS);
        Some(Parameter { pointer, name: raw.name, location: raw.location, value: raw.value })
    }

    fn request_body(&mut self, pointer: String, value: &Yaml) -> Option<RequestBody> {
        let raw: RawRequestBody = self.decode(&pointer, value)?;
        self.unknown_fields(&pointer, &raw.extra, BODY_FIELDS);
        let replacements = self.list(&child(&pointer, "replacements"), raw.replacements.as_ref(), |l, p, v| {
            let raw: RawReplacement = l.decode(&p, v)?;
            l.unknown_fields(&p, &raw.extra, REPLACEMENT_FIELDS);
            Some(PayloadReplacement { pointer: p, target: raw.target, value: raw.value })
        });
        Some(RequestBody { pointer, content_type: raw.content_type, payload: raw.payload, replacements })
    }

    fn criterion(&mut self, pointer: String, value: &Yaml) -> Option<Criterion> {
        let raw: RawCriterion = self.decode(&pointer, value)?;
        self.unknown_fields(&pointer, &raw.extra, CRITERION_FIELDS);
        let type_pointer = child(&pointer, "type");
        let (kind, version) = match &raw.kind {
            None => (CriterionType::Simple, None),
            Some(v) if v.is_mapping() => {
                let t: RawExpressionType = self.decode(&type_pointer, v)?;
                self.unknown_fields(&type_pointer, &t.extra, EXPRESSION_TYPE_FIELDS);
                (t.kind, t.version)
            }
            Some(v) => (self.decode::<CriterionType>(&type_pointer, v)?, None),
        };
        Some(Criterion { pointer, context: raw.context, condition: raw.condition, kind, version })
    }

    fn action(&mut self, pointer: String, value: &Yaml) -> Option<Action> {
        let raw: RawAction = self.decode(&pointer, value)?;
        self.unknown_fields(&pointer, &raw.extra, ACTION_FIELDS);
        let criteria = self.list(&child(&pointer, "criteria"), raw.criteria.as_ref(), Self::criterion);
        Some(Action {
            pointer,
            name: raw.name,
            kind: raw.kind,
            workflow_id: raw.workflow_id,
            step_id: raw.step_id,
            retry_after: raw.retry_after,
            retry_limit: raw.retry_limit,
            criteria,
        })
    }

    fn outputs(&mut self, pointer: &str, value: Option<&Yaml>) -> Vec<Output> {
        self.map(pointer, value, |l, at, name, v| match v.as_str() {
            Some(text) => Some(Output { pointer: at, name: name.to_string(), value: text.to_string() }),
            None => {
                l.diagnostics.push(
                    Diagnostic::error("invalid-field", format!("output `{name}` must be a runtime expression string"))
                        .at(l.file.span(&at))
                        .help("write a runtime expression such as `$response.body#/id`"),
                );
                None
            }
        })
        .into_values()
        .collect()
    }

    fn components(&mut self, value: Option<&Yaml>) -> Components {
        let Some(value) = value else { return Components::default() };
        let Some(mapping) = value.as_mapping() else {
            self.diagnostics.push(
                Diagnostic::error("invalid-field", "`components` must be a mapping")
                    .at(self.file.span("/components"))
                    .help("write `components:` with `inputs`, `parameters`, `successActions`, `failureActions`"),
            );
            return Components::default();
        };
        for key in mapping.keys().filter_map(Yaml::as_str) {
            if !COMPONENT_FIELDS.contains(&key) && !key.starts_with("x-") {
                let extra: Extra = [(key.to_string(), serde_json::Value::Null)].into_iter().collect();
                self.unknown_fields("/components", &extra, COMPONENT_FIELDS);
            }
        }
        let inputs = self.map("/components/inputs", value.get("inputs"), |l, at, _, v| l.decode(&at, v));
        let parameters = self.map("/components/parameters", value.get("parameters"), |l, at, _, v| l.parameter(at, v));
        let success_actions =
            self.map("/components/successActions", value.get("successActions"), |l, at, _, v| l.action(at, v));
        let failure_actions =
            self.map("/components/failureActions", value.get("failureActions"), |l, at, _, v| l.action(at, v));
        Components { inputs, parameters, success_actions, failure_actions }
    }
}

/// Reads an Arazzo document. Returns `None` only when the file cannot be read or parsed, or its
/// root is not a mapping; every other problem is a diagnostic and the rest is still loaded.
pub fn load_arazzo(path: &Path, sources: &mut SourceMap, diagnostics: &mut Diagnostics) -> Option<ArazzoDoc> {
    let file = yaml::load(path, sources, diagnostics)?;
    read_arazzo(file, diagnostics)
}

/// Builds the model from an already parsed file (used by `load_arazzo` and tests).
pub fn read_arazzo(file: YamlFile, diagnostics: &mut Diagnostics) -> Option<ArazzoDoc> {
    let root = file.value.clone();
    let Some(mapping) = root.as_mapping() else {
        diagnostics.push(
            Diagnostic::error("invalid-document", "an Arazzo document must be a mapping at the top level")
                .at(file.span(""))
                .help("start the file with `arazzo: 1.0.1`, then `info`, `sourceDescriptions` and `workflows`"),
        );
        return None;
    };
    let mut loader = Loader { file: &file, diagnostics };
    for field in ["arazzo", "info", "sourceDescriptions", "workflows"] {
        if root.get(field).is_none() {
            let error = loader.file.decode_error("", &format!("missing field `{field}`"));
            loader.diagnostics.push(error);
        }
    }
    let extra: Extra = mapping
        .keys()
        .filter_map(Yaml::as_str)
        .filter(|k| !ROOT_FIELDS.contains(k))
        .map(|k| (k.to_string(), serde_json::Value::Null))
        .collect();
    loader.unknown_fields("", &extra, ROOT_FIELDS);
    let arazzo = root.get("arazzo").and_then(|v| match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let info = root.get("info").and_then(|v| {
        let info: Info = loader.decode("/info", v)?;
        loader.unknown_fields("/info", &info.extra, INFO_FIELDS);
        Some(info)
    });
    let source_descriptions = loader.list("/sourceDescriptions", root.get("sourceDescriptions"), Loader::source);
    let mut workflows = loader.list("/workflows", root.get("workflows"), Loader::workflow);
    let components = loader.components(root.get("components"));
    for step in workflows.iter_mut().flat_map(|w| w.steps.iter_mut()) {
        normalize_operation_path(&file, &source_descriptions, step, diagnostics);
    }
    Some(ArazzoDoc { file, arazzo, info, source_descriptions, workflows, components })
}

/// `operationPath: <source>#/paths/…` (the form Redocly and arazzo-runner read, and every
/// operationPath of the Jentic documents) names the source description directly; it is read as
/// the standard `{$sourceDescriptions.<source>.url}#/paths/…`, with a warning.
fn normalize_operation_path(file: &YamlFile, sources: &[SourceDescription], step: &mut Step, diagnostics: &mut Diagnostics) {
    let Some(path) = &step.operation_path else { return };
    let Some((name, pointer)) = path.split_once('#') else { return };
    let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !is_name || !sources.iter().any(|s| s.name == name) {
        return;
    }
    let standard = format!("{{$sourceDescriptions.{name}.url}}#{pointer}");
    diagnostics.push(
        Diagnostic::warning("legacy-operation-path-source", format!("`{name}#…` names the source description without `$sourceDescriptions`"))
            .at(file.span(&child(&step.pointer, "operationPath")))
            .label(format!("read as source description `{name}`"))
            .help(format!("write `{standard}`")),
    );
    step.operation_path = Some(standard);
}

// ---------------------------------------------------------------------------------------------
// Source descriptions
// ---------------------------------------------------------------------------------------------

/// Where each source description's document is on disk, or why it is not known.
///
/// `overrides` maps a source name to a file (the CLI's `--source NAME=FILE`) and wins over `url`.
/// Otherwise a relative `url` (or `file:` URL) resolves against the Arazzo file's directory; a
/// remote (`http`/`https`) URL without an override is an `unresolved-source` error, and a local
/// file that does not exist is `source-not-found`.
///
/// A local `url` must lie under the Arazzo file's spec root ([`Scope::for_spec`]); one outside it
/// is a `path-outside-spec-dir` error and is not read.
pub fn resolve_sources(
    doc: &ArazzoDoc,
    overrides: &IndexMap<String, PathBuf>,
) -> Vec<(String, Result<PathBuf, Diagnostic>)> {
    resolve_sources_in(doc, overrides, &Scope::for_spec(&doc.file.path))
}

/// [`resolve_sources`] with local URLs restricted to `scope` (overrides, named by the caller,
/// are always allowed).
pub fn resolve_sources_in(
    doc: &ArazzoDoc,
    overrides: &IndexMap<String, PathBuf>,
    scope: &Scope,
) -> Vec<(String, Result<PathBuf, Diagnostic>)> {
    let base = doc.file.path.parent().map(Path::to_path_buf).unwrap_or_default();
    doc.source_descriptions
        .iter()
        .map(|source| {
            let url_span = doc.file.span(&child(&source.pointer, "url"));
            if let Some(path) = overrides.get(&source.name) {
                return (source.name.clone(), Ok(path.clone()));
            }
            let url = source.url.split('#').next().unwrap_or_default();
            let lower = url.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                let error = Diagnostic::error(
                    "unresolved-source",
                    format!("source description `{}` is a remote URL, and capgen does not download", source.name),
                )
                .at(url_span)
                .label("remote URL")
                .help(format!("save the document locally and pass `--source {}=FILE`", source.name));
                return (source.name.clone(), Err(error));
            }
            let local = url.strip_prefix("file://").unwrap_or(url);
            let path = if Path::new(local).is_absolute() { PathBuf::from(local) } else { base.join(local) };
            if let Err(error) = scope.check(&path, &source.url, url_span.clone()) {
                return (source.name.clone(), Err(error));
            }
            if !path.is_file() {
                let error = Diagnostic::error(
                    "source-not-found",
                    format!("source description `{}` points at `{}`, which does not exist", source.name, path.display()),
                )
                .at(url_span)
                .help(format!(
                    "fix `url` (relative paths resolve against the Arazzo file), or pass `--source {}=FILE`",
                    source.name
                ));
                return (source.name.clone(), Err(error));
            }
            (source.name.clone(), Ok(path))
        })
        .collect()
}


/// An Arazzo document and what each of its sources resolved to: for `type: openapi` (or untyped)
/// sources an index into the loaded OpenAPI documents (`Checked::openapi`), for `type: arazzo`
/// sources an index into the loaded Arazzo documents; `None` when it could not be loaded.
pub struct LoadedArazzo {
    pub doc: ArazzoDoc,
    pub sources: Vec<(String, Option<usize>)>,
    pub workflow_sources: Vec<(String, Option<usize>)>,
}

impl ArazzoDoc {
    /// Whether source `name` is declared `type: arazzo` (workflows of another Arazzo document).
    pub fn is_arazzo_source(&self, name: &str) -> bool {
        self.source_descriptions.iter().any(|s| s.name == name && s.kind == Some(SourceType::Arazzo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn read(text: &str) -> (Option<ArazzoDoc>, Diagnostics) {
        let file = YamlFile::parse(Arc::from(Path::new("/tmp/doc.arazzo.yaml")), Arc::from(text)).unwrap();
        let mut diagnostics = Diagnostics::new();
        (read_arazzo(file, &mut diagnostics), diagnostics)
    }

    const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml");

    #[test]
    fn loads_the_seed() {
        let mut sources = SourceMap::default();
        let mut diagnostics = Diagnostics::new();
        let doc = load_arazzo(Path::new(SEED), &mut sources, &mut diagnostics).expect("seed loads");
        assert!(diagnostics.is_empty(), "{diagnostics}");
        assert_eq!(doc.arazzo.as_deref(), Some("1.0.1"));
        let workflow = &doc.workflows[0];
        assert_eq!(workflow.steps.len(), 3);
        let poll = &workflow.steps[1];
        assert_eq!(poll.step_id, "pollBackup");
        let criteria = poll.success_criteria.as_ref().unwrap();
        assert_eq!(criteria[1].kind, CriterionType::JsonPath);
        assert_eq!(criteria[1].pointer, "/workflows/0/steps/1/successCriteria/1");
        assert_eq!(doc.file.span(&child(&criteria[1].pointer, "condition")).line, 76);
        let resolved = resolve_sources(&doc, &IndexMap::new());
        assert!(resolved[0].1.as_ref().is_ok_and(|p| p.ends_with("prisma-postgres-management-openapi.yml")));
    }

    #[test]
    fn one_bad_step_does_not_hide_the_others() {
        let (doc, diagnostics) = read(
            "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\nsourceDescriptions: []\nworkflows:\n- workflowId: w\n  steps:\n  - operationId: a\n  - stepId: b\n    operationId: b\n    sucessCriteria: []\n    x-note: fine\n",
        );
        let doc = doc.unwrap();
        assert_eq!(doc.workflows[0].steps.len(), 1);
        let codes: Vec<_> = diagnostics.iter().map(|d| (d.code, d.span.as_ref().map(|s| s.line))).collect();
        assert_eq!(codes, vec![("invalid-field", Some(7)), ("unknown-field", Some(10))]);
        assert!(diagnostics.iter().nth(1).unwrap().help.as_ref().unwrap().contains("successCriteria"));
    }

    #[test]
    fn reusable_objects_and_expression_types() {
        let (doc, diagnostics) = read(
            "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\nsourceDescriptions: [{name: s, url: https://x/y.yaml}]\nworkflows:\n- workflowId: w\n  steps:\n  - stepId: a\n    operationId: op\n    parameters:\n    - reference: $components.parameters.page\n      value: 2\n    successCriteria:\n    - context: $response.body\n      condition: $.a\n      type: {type: jsonpath, version: draft-goessner-dispatch-jsonpath-00}\ncomponents:\n  parameters:\n    page: {name: page, in: query, value: 1}\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics}");
        let doc = doc.unwrap();
        let step = &doc.workflows[0].steps[0];
        assert!(matches!(&step.parameters[0], Reusable::Reference(r) if r.reference == "$components.parameters.page"));
        let criterion = &step.success_criteria.as_ref().unwrap()[0];
        assert_eq!(criterion.kind, CriterionType::JsonPath);
        assert_eq!(criterion.version.as_deref(), Some("draft-goessner-dispatch-jsonpath-00"));
        assert_eq!(doc.components.parameters["page"].location, Some(ParameterIn::Query));
        let resolved = resolve_sources(&doc, &IndexMap::new());
        let error = resolved[0].1.as_ref().unwrap_err();
        assert_eq!(error.code, "unresolved-source");
        assert!(error.help.as_ref().unwrap().contains("--source s=FILE"));
        assert_eq!(error.span.as_ref().unwrap().line, 3);
        let overrides: IndexMap<String, PathBuf> = [("s".to_string(), PathBuf::from("/tmp/y.yaml"))].into_iter().collect();
        assert_eq!(resolve_sources(&doc, &overrides)[0].1, Ok(PathBuf::from("/tmp/y.yaml")));
    }

    #[test]
    fn non_mapping_root_is_reported() {
        let (doc, diagnostics) = read("- a\n- b\n");
        assert!(doc.is_none());
        assert_eq!(diagnostics.iter().next().unwrap().code, "invalid-document");
    }
}
