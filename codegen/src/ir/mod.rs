//! The intermediate representation: the only thing emitters see. Names are decided here.
//!
//! [`build`] lowers a validated capability (plus the OpenAPI documents that describe its
//! upstreams) and Arazzo workflows into an [`Ir`]; without a capability, the workflows' source
//! descriptions become the clients. Every node keeps the [`Span`] of the YAML it came from.

pub mod build;
pub mod expose;
mod lower_expose;
pub mod names;
mod source_api;
pub mod types;
pub mod workflow;

use crate::diagnostics::Span;
pub use types::{TypeDef, TypeRef};

/// Everything one `generate` call emits.
#[derive(Clone, Debug)]
pub struct Ir {
    /// The capability's `info.label` (or file name).
    pub title: String,
    pub description: Option<String>,
    /// Variables the capability reads through `binds`, in first-use order.
    pub binds: Vec<BindVar>,
    pub apis: Vec<ConsumedApi>,
    /// Data types generated from OpenAPI schemas.
    pub types: Vec<TypeDef>,
    /// Exposed operations, tools and functions: one `operations::<fn>` each.
    pub exposed: Vec<expose::Exposed>,
    pub rest: Vec<expose::RestAdapter>,
    pub mcp: Vec<expose::McpAdapter>,
    /// Arazzo workflows, one `async fn` each.
    pub workflows: Vec<workflow::Workflow>,
}

impl Ir {
    /// The consumed operation an exposed unit passes through unchanged: it calls one JSON
    /// operation whose body is the result (no `outputParameters` shaping on either side, or
    /// `mapping: $.`), so adapters can answer with the upstream status and bytes.
    pub fn pass_through<'a>(&self, exposed: &'a expose::Exposed) -> Option<&'a expose::Call> {
        let expose::Action::Call(call) = &exposed.action else { return None };
        let operation = &self.apis[call.api].operations[call.operation];
        let json_body = matches!(operation.response_body, ResponseBody::Json) && matches!(operation.output, Output::Body);
        (exposed.output.is_none() && exposed.binary.is_none() && json_body).then_some(call)
    }

    /// The `(api, operation)` pairs some exposed unit passes through: their clients also have a
    /// `<method>_response` returning the upstream response itself.
    pub fn passed_through_operations(&self) -> std::collections::BTreeSet<(usize, usize)> {
        self.exposed.iter().filter_map(|e| self.pass_through(e)).map(|c| (c.api, c.operation)).collect()
    }
}

/// Where a bound variable's value comes from at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindSource {
    /// An environment variable.
    Env { var: String },
    /// A key in a JSON/YAML file (`location: file:///…`).
    File { location: String, key: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindVar {
    /// The name used in templates (`PRISMA_API_KEY` in `{{env.PRISMA_API_KEY}}`).
    pub name: String,
    pub source: BindSource,
}

/// A value written in the spec: literal text, a bound variable, or a mix of both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecValue {
    Literal(String),
    /// A template; each `Var` names a [`BindVar`].
    Template(Vec<ValuePiece>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValuePiece {
    Text(String),
    Var(BindVar),
}

/// How requests to an upstream authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    Bearer { token: SpecValue },
    Basic { username: SpecValue, password: SpecValue },
    ApiKey { name: String, value: SpecValue, in_query: bool },
    Digest { username: SpecValue, password: SpecValue },
}

/// One consumed namespace: a typed client module.
#[derive(Clone, Debug)]
pub struct ConsumedApi {
    /// The spec's namespace (`postgres-management-database-backups`).
    pub namespace: String,
    /// Rust module name (`postgres_management_database_backups`).
    pub module: String,
    pub description: Option<String>,
    pub base_uri: String,
    /// Environment variable overriding the base URI (`<NAMESPACE>_BASE_URI`).
    pub base_uri_env: String,
    pub auth: Auth,
    /// Headers sent on every request (`inputParameters` of the adapter with a `value`).
    pub headers: Vec<(String, SpecValue)>,
    pub operations: Vec<Operation>,
    /// For a client generated from an Arazzo source description (no capability): the index of
    /// its OpenAPI document.
    pub source_document: Option<usize>,
    pub span: Span,
}

/// One consumed HTTP operation: one `async fn` on the client.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The spec's name (`listdatabasebackups`); used in errors and logs.
    pub name: String,
    /// Rust method name (`list_database_backups`).
    pub fn_name: String,
    pub description: Option<String>,
    /// Uppercase HTTP method.
    pub method: String,
    /// The path template as written, normalised to `{name}` placeholders.
    pub path_template: String,
    pub path: Vec<PathPart>,
    /// Arguments of the generated function, in signature order.
    pub params: Vec<Param>,
    /// Parameters with a fixed value in the spec (not arguments).
    pub fixed: Vec<FixedParam>,
    pub body: Body,
    /// Type of a successful response body (before output shaping).
    pub response: TypeRef,
    /// How a successful body is read: JSON (typed as `response`) or bytes.
    pub response_body: ResponseBody,
    /// Type of error bodies, when the OpenAPI document declares one.
    pub error_body: Option<TypeRef>,
    pub output: Output,
    /// The matching OpenAPI operationId, if any.
    pub operation_id: Option<String>,
    pub span: Span,
}

/// How a consumed operation reads a successful response body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ResponseBody {
    /// JSON, decoded as [`Operation::response`] (and shaped by [`Operation::output`]).
    #[default]
    Json,
    /// Raw bytes with their media type, never decoded (Ikanos `outputRawFormat: binary`).
    Binary(BinaryBody),
}

/// A binary response body's contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryBody {
    /// The media type advertised (`outputMediaType`); `None` keeps the upstream `Content-Type`.
    pub media_type: Option<String>,
    /// The largest body read, in bytes (`maxBinarySize`, default [`DEFAULT_MAX_BINARY_BYTES`]).
    pub max_bytes: u64,
}

/// The body limit of a binary response without `maxBinarySize` (10 MiB, as Ikanos defaults).
pub const DEFAULT_MAX_BINARY_BYTES: u64 = 10 * 1024 * 1024;

/// A size with a mandatory unit (`512KiB`, `5MiB`, `1.5GiB`, `100B`) in bytes; `None` when it is
/// not one.
pub fn parse_binary_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, scale) = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
        .iter()
        .find_map(|(unit, scale)| text.strip_suffix(unit).map(|n| (n, *scale)))?;
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let bytes = (value * scale as f64).round();
    (bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPart {
    Text(String),
    /// Index into [`Operation::params`].
    Param(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
    /// A field of a JSON object body.
    BodyField,
    /// The whole request body.
    Body,
    /// A value substituted into the body template.
    Template,
}

#[derive(Clone, Debug)]
pub struct Param {
    /// Name on the wire (and the name callers use to pass it).
    pub name: String,
    pub rust_name: String,
    pub location: ParamLocation,
    pub ty: TypeRef,
    pub required: bool,
    pub description: Option<String>,
    /// The JSON type the spec declares (`object`, `array`, …), for schemas of untyped values.
    pub json_type: Option<String>,
}

#[derive(Clone, Debug)]
pub struct FixedParam {
    pub name: String,
    pub location: ParamLocation,
    pub value: SpecValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    None,
    /// The whole body is one argument (index into params).
    Whole(usize),
    /// A JSON object built from the `BodyField` params.
    Fields,
    /// A JSON text template.
    Template(Vec<TemplatePart>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    /// A param inside a JSON string (inserted escaped).
    Quoted(usize),
    /// A param as raw JSON.
    Raw(usize),
}

/// What the operation returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// The response body, typed as [`Operation::response`].
    Body,
    /// A JSON value built from the body by JSONPath mappings.
    Shaped(Shape),
}

/// A JSON value computed from a response body.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// The value at a JSONPath (RFC 9535); `None` for the whole body.
    Path(Option<String>),
    Const(serde_json::Value),
    /// Each element selected by `mapping`, shaped by `item`.
    Array { mapping: Option<String>, item: Box<Shape> },
    /// An object with `properties`, each mapped relative to the value at `mapping`.
    Nested { mapping: Option<String>, fields: Vec<(String, Shape)> },
}

#[cfg(test)]
mod tests {
    use super::parse_binary_size;

    #[test]
    fn binary_sizes_need_a_unit() {
        assert_eq!(parse_binary_size("512KiB"), Some(512 * 1024));
        assert_eq!(parse_binary_size("5MiB"), Some(5 << 20));
        assert_eq!(parse_binary_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_binary_size("100B"), Some(100));
        for bad in ["64", "5MB", "MiB", ".5MiB", "1.MiB", "-1KiB", "0B", "1e3KiB", ""] {
            assert_eq!(parse_binary_size(bad), None, "{bad}");
        }
    }
}
