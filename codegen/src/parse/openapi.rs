//! The OpenAPI front end: an OpenAPI 3.0 / 3.1 / 3.2 document (YAML or JSON) → [`OpenApiDoc`],
//! a small, version-neutral model of what code generation needs (operations, parameters, bodies,
//! responses and [`Schema`]s).
//!
//! The document is read from the already-parsed `serde_yaml::Value` tree rather than through
//! `openapiv3` (which models 3.0 only), so 3.0 and 3.1 constructs go through one code path and
//! every node keeps its JSON Pointer for diagnostics. `$ref`s to parameters, request bodies,
//! responses and path items are resolved inline; `#/components/schemas/X` stays [`Schema::Ref`].
//! A schema construct that cannot be represented becomes [`Schema::Any`] with an
//! `openapi-schema-degraded` warning; the rest of the document still loads.

use std::path::Path;

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use crate::diagnostics::{Diagnostic, Diagnostics, SourceMap};
use crate::parse::yaml::{self, YamlFile, child, item};

/// An OpenAPI document, reduced to what code generation uses.
#[derive(Clone, Debug)]
pub struct OpenApiDoc {
    pub file: YamlFile,
    pub title: String,
    /// The `openapi` field, e.g. `"3.1.0"`.
    pub version: String,
    /// Server URLs, with server variables replaced by their defaults.
    pub servers: Vec<String>,
    /// Every operation, in document order.
    pub operations: Vec<OaOperation>,
    /// `components.schemas`, in document order.
    pub schemas: IndexMap<String, Schema>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OaOperation {
    pub operation_id: Option<String>,
    /// Uppercase HTTP method (`GET`, `POST`, …).
    pub method: String,
    /// The path template as written (`/databases/{databaseId}/backups`).
    pub path: String,
    /// JSON Pointer of the operation object, for spans.
    pub pointer: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    /// Path-item parameters merged with the operation's own (the operation's win).
    pub parameters: Vec<OaParameter>,
    pub request_body: Option<OaBody>,
    /// In document order.
    pub responses: Vec<OaResponse>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamLocation {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OaParameter {
    pub name: String,
    pub location: ParamLocation,
    /// Always true for path parameters.
    pub required: bool,
    pub description: Option<String>,
    pub schema: Schema,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OaBody {
    /// The chosen media type: `application/json` if offered, else another JSON type, else the first.
    pub content_type: String,
    pub required: bool,
    pub schema: Schema,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OaResponse {
    /// `"200"`, `"4XX"`, `"default"`.
    pub status: String,
    pub description: Option<String>,
    pub content_type: Option<String>,
    /// `None` when the response has no content; `Some(Schema::Any)` when content has no schema.
    pub schema: Option<Schema>,
}

/// A JSON Schema, reduced to what maps onto Rust types.
#[derive(Clone, Debug, PartialEq)]
pub enum Schema {
    /// Any JSON value (also the degraded form of what cannot be represented).
    Any,
    /// `#/components/schemas/<name>`; the name is unescaped.
    Ref(String),
    String(StringSchema),
    Integer {
        format: Option<String>,
    },
    Number {
        format: Option<String>,
    },
    Boolean,
    Array(Box<Schema>),
    Object(ObjectSchema),
    /// All parts at once; objects merge into one struct.
    AllOf {
        parts: Vec<Schema>,
        description: Option<String>,
    },
    OneOf(Vec<Schema>),
    AnyOf(Vec<Schema>),
    /// The inner schema or `null` (3.0 `nullable: true`, 3.1 `type: [X, "null"]`, `anyOf [X, null]`).
    Nullable(Box<Schema>),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StringSchema {
    pub format: Option<String>,
    /// `enum` values (or the single `const`); empty for a free string.
    pub enum_values: Vec<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObjectSchema {
    pub description: Option<String>,
    /// In document order.
    pub properties: IndexMap<String, Property>,
    pub required: Vec<String>,
    /// `Some(Schema::Any)` for `additionalProperties: true`; `None` when absent or `false`.
    pub additional_properties: Option<Box<Schema>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    pub schema: Schema,
    /// The property's own `description` (also when it sits beside a `$ref`).
    pub description: Option<String>,
}

impl Schema {
    /// The description carried by the schema itself, if any.
    pub fn description(&self) -> Option<&str> {
        match self {
            Schema::String(s) => s.description.as_deref(),
            Schema::Object(o) => o.description.as_deref(),
            Schema::AllOf { description, .. } => description.as_deref(),
            Schema::Nullable(inner) => inner.description(),
            _ => None,
        }
    }
}

/// HTTP methods that name operations in a path item (3.2 adds `query`).
const METHODS: [&str; 9] = ["get", "put", "post", "delete", "options", "head", "patch", "trace", "query"];

/// Deepest schema nesting (including followed non-component `$ref`s) read before giving up.
const MAX_SCHEMA_DEPTH: usize = 64;
/// Longest `$ref` chain followed for parameters, bodies, responses and path items.
const MAX_REF_CHAIN: usize = 32;

/// Reads an OpenAPI document. Returns `None` only when the file cannot be read or is not an
/// OpenAPI 3 document at all; otherwise problems become diagnostics and the rest still loads.
pub fn load_openapi(path: &Path, sources: &mut SourceMap, diagnostics: &mut Diagnostics) -> Option<OpenApiDoc> {
    let file = load_text(path, sources, diagnostics)?;
    let mut reader = Reader { file: &file, root: &file.value, diagnostics };
    let parsed = reader.document()?;
    Some(OpenApiDoc {
        title: parsed.title,
        version: parsed.version,
        servers: parsed.servers,
        operations: parsed.operations,
        schemas: parsed.schemas,
        file,
    })
}

/// Reads the file like [`yaml::load`], except that JSON `\uD83C\uDFB2` surrogate-pair escapes
/// (valid JSON, which the YAML parser rejects) are rewritten to YAML's `\U0001F3B2` first.
fn load_text(path: &Path, sources: &mut SourceMap, diagnostics: &mut Diagnostics) -> Option<YamlFile> {
    let text = std::fs::read_to_string(path).ok();
    match text.as_deref().and_then(surrogates_to_yaml) {
        Some(fixed) => {
            let path: std::sync::Arc<Path> = std::sync::Arc::from(path);
            let text: std::sync::Arc<str> = std::sync::Arc::from(fixed);
            sources.insert(path.clone(), text.clone());
            YamlFile::parse(path, text).map_err(|d| diagnostics.push(d)).ok()
        }
        None => yaml::load(path, sources, diagnostics),
    }
}

/// `text` with every `\uD8xx\uDCxx` pair replaced by `\UXXXXXXXX` and every lone surrogate
/// escape by `\uFFFD`; `None` when there is none.
fn surrogates_to_yaml(text: &str) -> Option<String> {
    let is_escape = |s: &str, lo: u32, hi: u32| {
        s.strip_prefix("\\u").and_then(|h| h.get(..4)).and_then(|h| u32::from_str_radix(h, 16).ok()).filter(|c| (lo..=hi).contains(c))
    };
    if !text.match_indices("\\u").any(|(i, _)| is_escape(&text[i..], 0xD800, 0xDFFF).is_some()) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\\u") {
        // An escaped backslash (`\\u`) is not an escape.
        let backslashes = rest[..at].chars().rev().take_while(|&c| c == '\\').count();
        out.push_str(&rest[..at]);
        let here = &rest[at..];
        match (backslashes % 2, is_escape(here, 0xD800, 0xDBFF), here.get(6..).and_then(|n| is_escape(n, 0xDC00, 0xDFFF))) {
            (0, Some(high), Some(low)) => {
                let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                out.push_str(&format!("\\U{c:08X}"));
                rest = &here[12..];
            }
            (0, _, _) if is_escape(here, 0xD800, 0xDFFF).is_some() => {
                out.push_str("\\uFFFD");
                rest = &here[6..];
            }
            _ => {
                out.push_str("\\u");
                rest = &here[2..];
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

impl OpenApiDoc {
    /// The operation with this `operationId`: exact match first, then ASCII case-insensitive.
    pub fn find_by_operation_id(&self, id: &str) -> Option<&OaOperation> {
        let ids = || self.operations.iter().filter(|op| op.operation_id.is_some());
        ids()
            .find(|op| op.operation_id.as_deref() == Some(id))
            .or_else(|| ids().find(|op| op.operation_id.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(id))))
    }

    /// The operation at `method` + `path`. Path parameters compare by position, not name
    /// (`/a/{x}` matches `/a/{databaseId}`), and `{{x}}` counts as `{x}`.
    pub fn find_by_method_path(&self, method: &str, path: &str) -> Option<&OaOperation> {
        let wanted = normalize_template(path);
        self.operations
            .iter()
            .find(|op| op.method.eq_ignore_ascii_case(method) && normalize_template(&op.path) == wanted)
    }
}

/// A path template with every `{name}` / `{{name}}` replaced by `{}` and no trailing slash.
fn normalize_template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path.trim();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let braces = after.chars().take_while(|&c| c == '{').count();
        let close = "}".repeat(braces);
        match after[braces..].find(close.as_str()) {
            Some(end) => {
                out.push_str("{}");
                rest = &after[braces + end + close.len()..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

struct ParsedDoc {
    title: String,
    version: String,
    servers: Vec<String>,
    operations: Vec<OaOperation>,
    schemas: IndexMap<String, Schema>,
}

/// Walks the value tree, pushing diagnostics as it goes.
struct Reader<'a> {
    file: &'a YamlFile,
    root: &'a Value,
    diagnostics: &'a mut Diagnostics,
}

impl<'a> Reader<'a> {
    fn document(&mut self) -> Option<ParsedDoc> {
        let Some(root) = self.root.as_mapping() else {
            self.push(
                Diagnostic::error("openapi-invalid", "an OpenAPI document must be a mapping at the top level")
                    .at(self.file.span(""))
                    .help("start the file with `openapi: 3.1.0`, `info:` and `paths:`"),
            );
            return None;
        };
        let version = match root.get("openapi").map(scalar_text) {
            Some(Some(v)) => v,
            _ if root.contains_key("swagger") => {
                self.push(
                    Diagnostic::error("openapi-unsupported-version", "Swagger 2.0 documents are not supported")
                        .at(self.file.span("/swagger"))
                        .help("convert the document to OpenAPI 3 (e.g. with swagger2openapi) and point capgen at that"),
                );
                return None;
            }
            Some(None) => {
                self.invalid("/openapi", "`openapi` must be a version string", "write e.g. `openapi: 3.1.0`");
                return None;
            }
            None => {
                self.push(
                    Diagnostic::error(
                        "openapi-invalid",
                        "this is not an OpenAPI document: the `openapi` field is missing",
                    )
                    .at(self.file.span(""))
                    .help("add `openapi: 3.1.0` at the top, or check that this is the OpenAPI file"),
                );
                return None;
            }
        };
        if !version.starts_with("3.") {
            self.push(
                Diagnostic::error(
                    "openapi-unsupported-version",
                    format!("OpenAPI version `{version}` is not supported"),
                )
                .at(self.file.span("/openapi"))
                .help("capgen reads OpenAPI 3.0, 3.1 and 3.2 documents"),
            );
            return None;
        }

        let title = self.info_title(root);
        let servers = self.servers(root);
        let schemas = self.component_schemas(root);
        let operations = self.operations(root);
        Some(ParsedDoc { title, version, servers, operations, schemas })
    }

    fn info_title(&mut self, root: &'a Mapping) -> String {
        let Some(info) = root.get("info") else {
            self.push(
                Diagnostic::error("openapi-invalid", "the `info` object is missing")
                    .at(self.file.span(""))
                    .help("add `info:` with `title:` and `version:`"),
            );
            return String::new();
        };
        let Some(info) = self.expect_map(info, "/info", "`info`") else { return String::new() };
        match info.get("title").and_then(scalar_text) {
            Some(title) => title,
            None => {
                self.invalid("/info", "`info.title` is missing or not a string", "add `title:` under `info:`");
                String::new()
            }
        }
    }

    fn servers(&mut self, root: &'a Mapping) -> Vec<String> {
        let Some(servers) = root.get("servers") else { return Vec::new() };
        let Some(list) = self.expect_seq(servers, "/servers", "`servers`") else { return Vec::new() };
        let mut urls = Vec::new();
        for (i, server) in list.iter().enumerate() {
            let at = item("/servers", i);
            let Some(server) = self.expect_map(server, &at, "a server") else { continue };
            let Some(url) = server.get("url").and_then(Value::as_str) else {
                self.invalid(&at, "this server has no `url`", "add `url: https://…` to the server");
                continue;
            };
            // Server variables take their default values.
            let mut url = url.to_string();
            if let Some(vars) = server.get("variables").and_then(Value::as_mapping) {
                for (name, var) in vars {
                    if let (Some(name), Some(default)) = (scalar_text(name), var.get("default").and_then(scalar_text)) {
                        url = url.replace(&format!("{{{name}}}"), &default);
                    }
                }
            }
            urls.push(url);
        }
        urls
    }

    fn component_schemas(&mut self, root: &'a Mapping) -> IndexMap<String, Schema> {
        let mut schemas = IndexMap::new();
        let Some(components) = root.get("components") else { return schemas };
        let Some(components) = self.expect_map(components, "/components", "`components`") else { return schemas };
        let Some(list) = components.get("schemas") else { return schemas };
        let Some(list) = self.expect_map(list, "/components/schemas", "`components.schemas`") else { return schemas };
        for (name, schema) in list {
            let Some(name) = scalar_text(name) else { continue };
            let at = child("/components/schemas", &name);
            let schema = self.schema(schema, &at, 0);
            schemas.insert(name, schema);
        }
        schemas
    }

    fn operations(&mut self, root: &'a Mapping) -> Vec<OaOperation> {
        let mut operations = Vec::new();
        let Some(paths) = root.get("paths") else { return operations };
        let Some(paths) = paths.as_mapping() else {
            self.push(
                Diagnostic::error("openapi-invalid", format!("`paths` must be a mapping, found {}", kind_of(paths)))
                    .at(self.file.span("/paths"))
                    .label("expected `/path/template: { get: …, post: … }` entries")
                    .help("write `paths:` as a mapping whose keys are path templates (`/databases/{databaseId}:`), not a list"),
            );
            return operations;
        };
        for (path, path_item) in paths {
            let Some(path) = scalar_text(path) else { continue };
            let item_ptr = child("/paths", &path);
            if !path.starts_with('/') {
                self.push(
                    Diagnostic::error("openapi-invalid", format!("path `{path}` does not start with `/`"))
                        .at(self.file.key_span(&item_ptr))
                        .help("path templates are relative to the server URL and start with `/`"),
                );
                continue;
            }
            let Some((path_item, item_ptr)) = self.follow_refs(path_item, item_ptr) else { continue };
            let Some(path_item) = self.expect_map(path_item, &item_ptr, "a path item") else { continue };
            let shared = match path_item.get("parameters") {
                Some(list) => self.parameters(list, &child(&item_ptr, "parameters")),
                None => Vec::new(),
            };
            for method in METHODS {
                let Some(op) = path_item.get(method) else { continue };
                let op_ptr = child(&item_ptr, method);
                if let Some(op) = self.operation(op, &op_ptr, &path, method, &shared) {
                    operations.push(op);
                }
            }
        }
        operations
    }

    fn operation(
        &mut self,
        op: &'a Value,
        pointer: &str,
        path: &str,
        method: &str,
        shared: &[OaParameter],
    ) -> Option<OaOperation> {
        let op = self.expect_map(op, pointer, "an operation")?;
        let operation_id = self.optional_string(op, pointer, "operationId");
        let summary = self.optional_string(op, pointer, "summary");
        let description = self.optional_string(op, pointer, "description");

        let mut parameters: Vec<OaParameter> = shared.to_vec();
        if let Some(list) = op.get("parameters") {
            for param in self.parameters(list, &child(pointer, "parameters")) {
                // The operation's parameter replaces a path-item one of the same name and location.
                match parameters.iter_mut().find(|p| p.name == param.name && p.location == param.location) {
                    Some(existing) => *existing = param,
                    None => parameters.push(param),
                }
            }
        }
        let request_body = match op.get("requestBody") {
            Some(body) => self.request_body(body, child(pointer, "requestBody")),
            None => None,
        };
        let responses = match op.get("responses") {
            Some(list) => self.responses(list, &child(pointer, "responses")),
            None => Vec::new(),
        };
        Some(OaOperation {
            operation_id,
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            pointer: pointer.to_string(),
            summary,
            description,
            parameters,
            request_body,
            responses,
        })
    }

    fn parameters(&mut self, list: &'a Value, pointer: &str) -> Vec<OaParameter> {
        let Some(list) = self.expect_seq(list, pointer, "`parameters`") else { return Vec::new() };
        let mut out = Vec::new();
        for (i, param) in list.iter().enumerate() {
            if let Some(param) = self.parameter(param, item(pointer, i)) {
                out.push(param);
            }
        }
        out
    }

    fn parameter(&mut self, param: &'a Value, pointer: String) -> Option<OaParameter> {
        let (param, pointer) = self.follow_refs(param, pointer)?;
        let map = self.expect_map(param, &pointer, "a parameter")?;
        let Some(name) = map.get("name").and_then(scalar_text) else {
            self.invalid(&pointer, "this parameter has no `name`", "add `name:` to the parameter");
            return None;
        };
        let location = match map.get("in").and_then(Value::as_str) {
            Some("path") => ParamLocation::Path,
            Some("query") => ParamLocation::Query,
            Some("header") => ParamLocation::Header,
            Some("cookie") => ParamLocation::Cookie,
            Some(other) => {
                self.push(
                    Diagnostic::error("openapi-invalid", format!("parameter `{name}` has unknown location `{other}`"))
                        .at(self.file.span(&child(&pointer, "in")))
                        .help("`in` is one of `path`, `query`, `header`, `cookie` (bodies go in `requestBody`)"),
                );
                return None;
            }
            None => {
                self.invalid(
                    &pointer,
                    &format!("parameter `{name}` has no `in`"),
                    "add `in: path|query|header|cookie`",
                );
                return None;
            }
        };
        let required = location == ParamLocation::Path || map.get("required").and_then(Value::as_bool).unwrap_or(false);
        let description = self.optional_string(map, &pointer, "description");
        // A parameter has either `schema` or `content: {media type: {schema}}`.
        let schema = if let Some(schema) = map.get("schema") {
            self.schema(schema, &child(&pointer, "schema"), 0)
        } else if let Some(content) = map.get("content") {
            self.content(content, &child(&pointer, "content")).and_then(|(_, schema)| schema).unwrap_or(Schema::Any)
        } else {
            Schema::Any
        };
        Some(OaParameter { name, location, required, description, schema })
    }

    fn request_body(&mut self, body: &'a Value, pointer: String) -> Option<OaBody> {
        let (body, pointer) = self.follow_refs(body, pointer)?;
        let map = self.expect_map(body, &pointer, "a request body")?;
        let required = map.get("required").and_then(Value::as_bool).unwrap_or(false);
        let Some(content) = map.get("content") else {
            self.invalid(
                &pointer,
                "this request body has no `content`",
                "add `content: {application/json: {schema: …}}`",
            );
            return None;
        };
        let (content_type, schema) = self.content(content, &child(&pointer, "content"))?;
        Some(OaBody { content_type, required, schema: schema.unwrap_or(Schema::Any) })
    }

    fn responses(&mut self, list: &'a Value, pointer: &str) -> Vec<OaResponse> {
        let Some(list) = self.expect_map(list, pointer, "`responses`") else { return Vec::new() };
        let mut out = Vec::new();
        for (status, response) in list {
            // Unquoted `200:` keys are numbers in YAML.
            let Some(status) = scalar_text(status) else { continue };
            let at = child(pointer, &status);
            let Some((response, at)) = self.follow_refs(response, at) else { continue };
            let Some(map) = self.expect_map(response, &at, "a response") else { continue };
            let description = self.optional_string(map, &at, "description");
            let (content_type, schema) = match map.get("content") {
                Some(content) => match self.content(content, &child(&at, "content")) {
                    Some((content_type, schema)) => (Some(content_type), Some(schema.unwrap_or(Schema::Any))),
                    None => (None, None),
                },
                None => (None, None),
            };
            out.push(OaResponse { status, description, content_type, schema });
        }
        out
    }

    /// Picks one media type from a `content` map: `application/json`, then any JSON type, then
    /// the first. Returns the media type and its schema, if it has one.
    fn content(&mut self, content: &'a Value, pointer: &str) -> Option<(String, Option<Schema>)> {
        let map = self.expect_map(content, pointer, "`content`")?;
        let entries: Vec<(String, &Value)> = map.iter().filter_map(|(k, v)| Some((scalar_text(k)?, v))).collect();
        let is_json = |t: &str| {
            let essence = t.split(';').next().unwrap_or(t).trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        };
        let chosen = entries
            .iter()
            .find(|(t, _)| t.split(';').next().is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json")))
            .or_else(|| entries.iter().find(|(t, _)| is_json(t)))
            .or_else(|| entries.first())?;
        let (media_type, media) = (chosen.0.clone(), chosen.1);
        let at = child(pointer, &media_type);
        let media = self.expect_map(media, &at, "a media type object")?;
        let schema = media.get("schema").map(|s| self.schema(s, &child(&at, "schema"), 0));
        Some((media_type, schema))
    }

    // ---- schemas ----

    /// Converts the schema at `pointer`. Never fails: what cannot be represented becomes `Any`.
    fn schema(&mut self, value: &'a Value, pointer: &str, depth: usize) -> Schema {
        let schema = self.schema_or_null(value, pointer, depth);
        if schema == NULL_MARKER { Schema::Any } else { schema }
    }

    /// Like [`Reader::schema`], but `{type: "null"}` comes back as [`NULL_MARKER`] so that a
    /// parent `anyOf`/`oneOf` can turn it into nullability.
    fn schema_or_null(&mut self, value: &'a Value, pointer: &str, depth: usize) -> Schema {
        if depth > MAX_SCHEMA_DEPTH {
            self.degraded(pointer, "this schema nests too deeply (or refers to itself through non-component `$ref`s)");
            return Schema::Any;
        }
        let map = match value {
            Value::Mapping(map) => map,
            Value::Bool(true) => return Schema::Any,
            Value::Bool(false) => {
                self.degraded(pointer, "the `false` schema (no value allowed) has no Rust type");
                return Schema::Any;
            }
            // Runners never read schemas: a malformed one (Draft 4 tuple `items: [...]`) costs
            // only its type, not the document.
            other => {
                self.push(
                    Diagnostic::warning(
                        "openapi-invalid-schema",
                        format!("a schema must be a mapping, found {}; this schema becomes untyped JSON", kind_of(other)),
                    )
                    .at(self.file.span(pointer))
                    .label("read as `serde_json::Value`")
                    .help(match other {
                        Value::Sequence(_) => "write one schema, e.g. `items: {type: string}` (a list of schemas is `prefixItems` in OpenAPI 3.1)",
                        _ => "write the schema as a mapping, e.g. `{type: string}`",
                    }),
                );
                return Schema::Any;
            }
        };
        let nullable_30 = map.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        let schema = if let Some(reference) = map.get("$ref") {
            self.schema_ref(reference, pointer, depth)
        } else {
            self.schema_body(map, pointer, depth)
        };
        if nullable_30 { make_nullable(schema) } else { schema }
    }

    fn schema_ref(&mut self, reference: &'a Value, pointer: &str, depth: usize) -> Schema {
        let ref_ptr = child(pointer, "$ref");
        let Some(reference) = reference.as_str() else {
            self.invalid(&ref_ptr, "`$ref` must be a string", "write `$ref: '#/components/schemas/Name'`");
            return Schema::Any;
        };
        let Some(segments) = self.ref_segments(reference, &ref_ptr) else { return Schema::Any };
        if let [components, schemas, name] = segments.as_slice()
            && components == "components"
            && schemas == "schemas"
        {
            let exists = self
                .root
                .get("components")
                .and_then(|c| c.get("schemas"))
                .and_then(Value::as_mapping)
                .is_some_and(|m| m.iter().any(|(k, _)| scalar_text(k).as_deref() == Some(name.as_str())));
            if exists {
                return Schema::Ref(name.clone());
            }
            self.unresolved(&ref_ptr, reference);
            return Schema::Any;
        }
        // Any other local target (e.g. a property of another schema) is read inline.
        match lookup(self.root, &segments) {
            Some(target) => self.schema(target, &segments_pointer(&segments), depth + 1),
            None => {
                self.unresolved(&ref_ptr, reference);
                Schema::Any
            }
        }
    }

    fn schema_body(&mut self, map: &'a Mapping, pointer: &str, depth: usize) -> Schema {
        let description = map.get("description").and_then(Value::as_str).map(str::to_string);

        // Compositions first: they decide the shape whatever `type` says.
        for keyword in ["oneOf", "anyOf"] {
            if let Some(parts) = map.get(keyword) {
                let parts = self.schema_list(parts, &child(pointer, keyword), depth);
                let (nulls, rest): (Vec<Schema>, Vec<Schema>) = parts.into_iter().partition(|p| p == &NULL_MARKER);
                let mut rest = rest;
                let schema = match rest.len() {
                    0 => Schema::Any,
                    1 => rest.pop().unwrap_or(Schema::Any),
                    _ if keyword == "oneOf" => Schema::OneOf(rest),
                    _ => Schema::AnyOf(rest),
                };
                return if nulls.is_empty() { schema } else { make_nullable(schema) };
            }
        }
        if let Some(parts) = map.get("allOf") {
            let mut parts = self.schema_list(parts, &child(pointer, "allOf"), depth);
            parts.retain(|p| p != &NULL_MARKER);
            // Properties beside `allOf` are one more part.
            if map.contains_key("properties")
                && let Schema::Object(own) = self.object(map, pointer, depth, None)
            {
                parts.push(Schema::Object(own));
            }
            return Schema::AllOf { parts, description };
        }

        // `type`: a string, a 3.1 list (`[string, "null"]`), or absent (inferred).
        let mut nullable = false;
        let type_name: Option<String> = match map.get("type") {
            None => None,
            Some(Value::String(t)) => Some(t.clone()),
            Some(Value::Sequence(types)) => {
                let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                nullable = names.contains(&"null");
                let rest: Vec<&str> = names.iter().copied().filter(|t| *t != "null").collect();
                match rest.as_slice() {
                    [] => Some("null".to_string()),
                    [one] => Some((*one).to_string()),
                    many => {
                        self.degraded(
                            &child(pointer, "type"),
                            &format!("a value of several types ({}) has no single Rust type", many.join(", ")),
                        );
                        return Schema::Any;
                    }
                }
            }
            Some(other) => {
                self.invalid(
                    &child(pointer, "type"),
                    &format!("`type` must be a string or a list of strings, found {}", kind_of(other)),
                    "write e.g. `type: string`",
                );
                return Schema::Any;
            }
        };

        // `enum` / `const` values, as text; `null` among them makes the schema nullable.
        let mut literals: Vec<&Value> = Vec::new();
        if let Some(values) = map.get("enum") {
            match values.as_sequence() {
                Some(values) => literals.extend(values.iter()),
                None => self.invalid(&child(pointer, "enum"), "`enum` must be a list", "write `enum: [a, b]`"),
            }
        }
        if let Some(value) = map.get("const") {
            literals.push(value);
        }
        if literals.iter().any(|v| v.is_null()) {
            nullable = true;
        }
        literals.retain(|v| !v.is_null());

        let type_name = type_name.or_else(|| infer_type(map, &literals));
        let format = map.get("format").and_then(Value::as_str).map(str::to_string);
        let schema = match type_name.as_deref() {
            None => Schema::Any,
            Some("null") => return NULL_MARKER,
            Some("string") => Schema::String(StringSchema {
                format,
                enum_values: literals.iter().filter_map(|v| scalar_text(v)).collect(),
                description,
            }),
            Some("integer") => Schema::Integer { format },
            Some("number") => Schema::Number { format },
            Some("boolean") => Schema::Boolean,
            Some("array") => self.array(map, pointer, depth),
            Some("object") => self.object(map, pointer, depth, description),
            Some(other) => {
                self.degraded(&child(pointer, "type"), &format!("`type: {other}` is not a JSON Schema type"));
                Schema::Any
            }
        };
        if nullable { make_nullable(schema) } else { schema }
    }

    fn schema_list(&mut self, parts: &'a Value, pointer: &str, depth: usize) -> Vec<Schema> {
        let Some(parts) = self.expect_seq(parts, pointer, "a list of schemas") else { return Vec::new() };
        parts.iter().enumerate().map(|(i, part)| self.schema_or_null(part, &item(pointer, i), depth + 1)).collect()
    }

    fn array(&mut self, map: &'a Mapping, pointer: &str, depth: usize) -> Schema {
        if map.contains_key("prefixItems") {
            self.degraded(&child(pointer, "prefixItems"), "tuple arrays (`prefixItems`) are read as untyped JSON");
            return Schema::Any;
        }
        match map.get("items") {
            Some(items) => Schema::Array(Box::new(self.schema(items, &child(pointer, "items"), depth + 1))),
            None => Schema::Array(Box::new(Schema::Any)),
        }
    }

    fn object(&mut self, map: &'a Mapping, pointer: &str, depth: usize, description: Option<String>) -> Schema {
        let mut object = ObjectSchema { description, ..ObjectSchema::default() };
        if let Some(properties) = map.get("properties") {
            let props_ptr = child(pointer, "properties");
            if let Some(properties) = self.expect_map(properties, &props_ptr, "`properties`") {
                for (name, property) in properties {
                    let Some(name) = scalar_text(name) else { continue };
                    let at = child(&props_ptr, &name);
                    let description = property.get("description").and_then(Value::as_str).map(str::to_string);
                    let schema = self.schema(property, &at, depth + 1);
                    object.properties.insert(name, Property { schema, description });
                }
            }
        }
        if let Some(required) = map.get("required") {
            match required.as_sequence() {
                Some(names) => object.required = names.iter().filter_map(scalar_text).collect(),
                // 3.0-era documents sometimes write `required: true` on properties; ignore it there.
                None if required.is_bool() => {}
                None => self.invalid(
                    &child(pointer, "required"),
                    "`required` must be a list of property names",
                    "write `required: [id, name]`",
                ),
            }
        }
        object.additional_properties = match map.get("additionalProperties") {
            None | Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(Box::new(Schema::Any)),
            Some(schema) => Some(Box::new(self.schema(schema, &child(pointer, "additionalProperties"), depth + 1))),
        };
        Schema::Object(object)
    }

    // ---- references ----

    /// Follows `$ref` chains (parameters, bodies, responses, path items) to the target node and
    /// its pointer. Reports unresolvable or cyclic references.
    fn follow_refs(&mut self, mut value: &'a Value, mut pointer: String) -> Option<(&'a Value, String)> {
        for _ in 0..MAX_REF_CHAIN {
            let Some(reference) = value.get("$ref") else { return Some((value, pointer)) };
            let ref_ptr = child(&pointer, "$ref");
            let Some(reference) = reference.as_str() else {
                self.invalid(&ref_ptr, "`$ref` must be a string", "write `$ref: '#/components/…'`");
                return None;
            };
            let segments = self.ref_segments(reference, &ref_ptr)?;
            match lookup(self.root, &segments) {
                Some(target) => {
                    value = target;
                    pointer = segments_pointer(&segments);
                }
                None => {
                    self.unresolved(&ref_ptr, reference);
                    return None;
                }
            }
        }
        self.push(
            Diagnostic::error("openapi-ref-cycle", "this `$ref` chain does not end (it loops or is too long)")
                .at(self.file.span(&pointer))
                .help("make the reference point at a definition, not at another reference to itself"),
        );
        None
    }

    /// The decoded segments of a local reference (`#/a/b~1c` → `["a", "b/c"]`); reports
    /// references to other files.
    fn ref_segments(&mut self, reference: &str, ref_ptr: &str) -> Option<Vec<String>> {
        let Some(fragment) = reference.strip_prefix('#') else {
            self.push(
                Diagnostic::error("openapi-unresolved-ref", format!("`{reference}` refers to another document"))
                    .at(self.file.span(ref_ptr))
                    .label("external reference")
                    .help(
                        "capgen reads one OpenAPI document; bundle external references into it (e.g. `redocly bundle`)",
                    ),
            );
            return None;
        };
        let fragment = percent_decode(fragment);
        Some(fragment.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect())
    }

    fn unresolved(&mut self, ref_ptr: &str, reference: &str) {
        self.push(
            Diagnostic::error(
                "openapi-unresolved-ref",
                format!("`{reference}` does not point at anything in this document"),
            )
            .at(self.file.span(ref_ptr))
            .label("unresolved reference")
            .help("fix the name, or add the definition under `components`"),
        );
    }

    // ---- helpers ----

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn invalid(&mut self, pointer: &str, message: &str, help: &str) {
        self.push(Diagnostic::error("openapi-invalid", message).at(self.file.span(pointer)).help(help));
    }

    fn degraded(&mut self, pointer: &str, why: &str) {
        self.push(
            Diagnostic::warning("openapi-schema-degraded", format!("{why}; this schema becomes untyped JSON"))
                .at(self.file.span(pointer))
                .label("read as `serde_json::Value`")
                .help("the generated code still works, with `serde_json::Value` here; simplify the schema for a typed field"),
        );
    }

    fn expect_map(&mut self, value: &'a Value, pointer: &str, what: &str) -> Option<&'a Mapping> {
        let map = value.as_mapping();
        if map.is_none() {
            self.invalid(
                pointer,
                &format!("{what} must be a mapping, found {}", kind_of(value)),
                "write this node as `key: value` entries",
            );
        }
        map
    }

    fn expect_seq(&mut self, value: &'a Value, pointer: &str, what: &str) -> Option<&'a Vec<Value>> {
        let seq = value.as_sequence();
        if seq.is_none() {
            self.invalid(
                pointer,
                &format!("{what} must be a list, found {}", kind_of(value)),
                "write this node as a list of `- ` items",
            );
        }
        seq
    }

    /// An optional string field; reports a value of another kind.
    fn optional_string(&mut self, map: &'a Mapping, pointer: &str, key: &str) -> Option<String> {
        let value = map.get(key)?;
        let text = value.as_str().map(str::to_string);
        if text.is_none() {
            self.invalid(&child(pointer, key), &format!("`{key}` must be a string"), "quote the value");
        }
        text
    }
}

/// What `{type: "null"}` parses to before its parent decides (`anyOf [X, null]` → nullable X).
const NULL_MARKER: Schema = Schema::AnyOf(Vec::new());

fn make_nullable(schema: Schema) -> Schema {
    match schema {
        Schema::Any | Schema::Nullable(_) => schema,
        // A bare `type: null` reaching here is just "any JSON" (null included).
        s if s == NULL_MARKER => Schema::Any,
        other => Schema::Nullable(Box::new(other)),
    }
}

/// The type a schema without `type` evidently has.
fn infer_type(map: &Mapping, literals: &[&Value]) -> Option<String> {
    if map.contains_key("properties") || map.contains_key("additionalProperties") {
        return Some("object".into());
    }
    if map.contains_key("items") || map.contains_key("prefixItems") {
        return Some("array".into());
    }
    let first = literals.first()?;
    let name = match first {
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        _ => return None,
    };
    // Mixed literal kinds: fall back to untyped.
    let same = literals.iter().all(|v| match name {
        "string" => v.is_string(),
        "boolean" => v.is_bool(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => v.is_number(),
    });
    same.then(|| name.to_string())
}

/// A scalar's text: strings as is, numbers and booleans formatted (`200:` keys are numbers).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The node at decoded pointer segments, if any.
fn lookup<'v>(root: &'v Value, segments: &[String]) -> Option<&'v Value> {
    let mut node = root;
    for segment in segments {
        node = match node {
            Value::Mapping(map) => map.iter().find(|(k, _)| scalar_text(k).as_deref() == Some(segment.as_str()))?.1,
            Value::Sequence(list) => list.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Decoded segments back to a span-index pointer.
fn segments_pointer(segments: &[String]) -> String {
    segments.iter().fold(String::new(), |acc, s| child(&acc, s))
}

/// `%7B` → `{` in URI fragments; invalid escapes stay as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes.get(i), hex) {
            (Some(b'%'), Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (Some(&b), _) => {
                out.push(b);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Severity;
    use std::path::PathBuf;

    fn repo(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
    }

    #[test]
    fn json_surrogate_pairs_become_yaml_escapes() {
        let text = r#"{"a": "dice \ud83c\udfb2, lone \ud83c, kept \\ud83c, \u00e9"}"#;
        let fixed = surrogates_to_yaml(text).expect("has surrogates");
        assert_eq!(fixed, r#"{"a": "dice \U0001F3B2, lone \uFFFD, kept \\ud83c, \u00e9"}"#);
        let value: serde_yaml::Value = serde_yaml::from_str(&fixed).unwrap();
        assert_eq!(value["a"].as_str(), Some("dice \u{1F3B2}, lone \u{FFFD}, kept \\ud83c, \u{e9}"));
        assert_eq!(surrogates_to_yaml(r#"{"a": "\u00e9"}"#), None);
    }

    fn load(path: &Path) -> (Option<OpenApiDoc>, Diagnostics) {
        let (mut sources, mut diagnostics) = (SourceMap::default(), Diagnostics::new());
        let doc = load_openapi(path, &mut sources, &mut diagnostics);
        (doc, diagnostics)
    }

    fn prisma() -> OpenApiDoc {
        let (doc, diagnostics) = load(&repo("specs/prisma/openapi/prisma-postgres-management-openapi.yml"));
        assert!(diagnostics.is_empty(), "{diagnostics}");
        doc.expect("the Prisma document loads")
    }

    fn string() -> Schema {
        Schema::String(StringSchema::default())
    }

    #[test]
    fn prisma_document_header() {
        let doc = prisma();
        assert_eq!(doc.title, "Prisma Postgres Management API");
        assert_eq!(doc.version, "3.1.0");
        assert_eq!(doc.servers, ["https://api.prisma.io/v1"]);
        assert_eq!(doc.operations.len(), 17);
        let names: Vec<&str> = doc.schemas.keys().map(String::as_str).take(3).collect();
        assert_eq!(names, ["Workspace", "Project", "ProjectCreate"]);
    }

    #[test]
    fn finds_backup_operations_by_id_and_by_method_path() {
        let doc = prisma();
        let list = doc.find_by_operation_id("listDatabaseBackups").expect("by id");
        assert_eq!((list.method.as_str(), list.path.as_str()), ("GET", "/databases/{databaseId}/backups"));
        assert_eq!(list.pointer, "/paths/~1databases~1{databaseId}~1backups/get");
        assert_eq!(doc.file.key_span(&list.pointer).line, 334);
        // Case-insensitive fallback, as capabilities spell operation names in lowercase.
        let create = doc.find_by_operation_id("createdatabasebackup").expect("case-insensitive");
        assert_eq!(create.operation_id.as_deref(), Some("createDatabaseBackup"));
        assert_eq!(doc.find_by_method_path("post", "/databases/{id}/backups"), Some(create));
        assert_eq!(doc.find_by_method_path("GET", "/databases/{{databaseId}}/backups/"), Some(list));
        let restore = doc.find_by_method_path("POST", "/databases/{a}/backups/{b}/restore").expect("by path");
        assert_eq!(restore.operation_id.as_deref(), Some("restoreDatabaseBackup"));
        assert!(doc.find_by_method_path("DELETE", "/databases/{a}/backups").is_none());
        assert!(doc.find_by_operation_id("nope").is_none());

        // Parameters: the referenced `DatabaseId`, resolved inline, plus the operation's own.
        let database_id = OaParameter {
            name: "databaseId".into(),
            location: ParamLocation::Path,
            required: true,
            description: Some("Unique identifier of the database".into()),
            schema: string(),
        };
        assert_eq!(list.parameters, std::slice::from_ref(&database_id));
        assert_eq!(restore.parameters.len(), 2);
        assert_eq!(restore.parameters[0], database_id);
        assert_eq!(restore.parameters[1].name, "backupId");

        // Bodies and responses.
        let body = create.request_body.as_ref().expect("body");
        assert_eq!((body.content_type.as_str(), body.required), ("application/json", false));
        assert_eq!(body.schema, Schema::Ref("BackupCreate".into()));
        let statuses: Vec<&str> = create.responses.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["202", "401", "404", "429", "500"]);
        assert_eq!(create.responses[0].schema, Some(Schema::Ref("DatabaseBackup".into())));
        // `$ref: '#/components/responses/Unauthorized'` resolved inline.
        assert_eq!(create.responses[1].schema, Some(Schema::Ref("Error".into())));
        assert_eq!(create.responses[1].content_type.as_deref(), Some("application/json"));

        let Some(Some(Schema::Object(ok))) = list.responses.first().map(|r| r.schema.clone()) else {
            panic!("list 200 is an inline object")
        };
        assert_eq!(ok.properties["data"].schema, Schema::Array(Box::new(Schema::Ref("DatabaseBackup".into()))));

        let Some(Some(Schema::Object(restoring))) = restore.responses.first().map(|r| r.schema.clone()) else {
            panic!("restore 202 is an inline object")
        };
        assert_eq!(restore.responses[0].status, "202");
        let Schema::String(status) = &restoring.properties["status"].schema else { panic!("status is a string") };
        assert_eq!(status.enum_values, ["restoring"]);
        assert_eq!(
            restoring.properties["message"].description.as_deref(),
            Some("Description of the restore operation")
        );
    }

    #[test]
    fn prisma_component_schemas() {
        let doc = prisma();
        let Schema::Object(backup) = &doc.schemas["DatabaseBackup"] else { panic!("object") };
        assert_eq!(backup.required, ["id", "databaseId", "type", "status", "createdAt"]);
        let Schema::String(status) = &backup.properties["status"].schema else { panic!("string") };
        assert_eq!(status.enum_values, ["pending", "in_progress", "completed", "failed"]);
        assert_eq!(backup.properties["sizeBytes"].schema, Schema::Integer { format: Some("int64".into()) });
        let Schema::AllOf { parts, .. } = &doc.schemas["ProjectWithDatabase"] else { panic!("allOf") };
        assert_eq!(parts.first(), Some(&Schema::Ref("Project".into())));
        let Schema::Object(error) = &doc.schemas["Error"] else { panic!("object") };
        let Schema::Object(inner) = &error.properties["error"].schema else { panic!("object") };
        let Schema::Object(details) = &inner.properties["details"].schema else { panic!("object") };
        assert_eq!(details.additional_properties, Some(Box::new(Schema::Any)));
    }

    #[test]
    fn openapi_31_constructs_and_broken_refs() {
        let path = repo("codegen/tests/fixtures/openapi/broken-refs.yaml");
        let (doc, diagnostics) = load(&path);
        let doc = doc.expect("loads despite errors");
        let found: Vec<(Severity, &str, usize)> =
            diagnostics.iter().map(|d| (d.severity, d.code, d.span.as_ref().map_or(0, |s| s.line))).collect();
        use Severity::{Error, Warning};
        assert_eq!(
            found,
            [
                (Warning, "openapi-schema-degraded", 35), // type: [string, integer]
                (Warning, "openapi-schema-degraded", 45), // prefixItems
                (Warning, "openapi-invalid-schema", 50),  // bad: 42
                (Error, "openapi-unresolved-ref", 8),     // #/components/parameters/Missing
                (Error, "openapi-invalid", 16),           // in: body
                (Error, "openapi-unresolved-ref", 23),    // #/components/schemas/Nope
                (Error, "openapi-unresolved-ref", 25),    // errors.yaml#/NotFound
            ],
            "{diagnostics}"
        );
        assert!(diagnostics.iter().all(|d| d.help.is_some() && d.span.is_some()));

        let Schema::Object(thing) = &doc.schemas["Thing"] else { panic!("object") };
        let prop = |name: &str| thing.properties[name].schema.clone();
        assert_eq!(prop("owner"), string(), "a local non-component $ref is read inline");
        assert_eq!(prop("either"), Schema::Any);
        assert_eq!(prop("maybe"), Schema::Nullable(Box::new(string())));
        assert_eq!(
            prop("kind"),
            Schema::String(StringSchema { enum_values: vec!["widget".into()], ..StringSchema::default() })
        );
        assert_eq!(prop("legacy"), Schema::Nullable(Box::new(string())));
        assert_eq!(prop("tuple"), Schema::Any);
        assert_eq!(prop("choice"), Schema::Nullable(Box::new(Schema::Ref("Thing".into()))));

        let op = doc.find_by_operation_id("getThing").expect("operation");
        // `in: path` makes `id` required even without `required: true`; `in: body` is dropped.
        assert_eq!(op.parameters.len(), 1);
        assert!(op.parameters[0].required);
        // The unquoted `200:` key is a number in YAML, still read as a status.
        let statuses: Vec<&str> = op.responses.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["200"]);
        assert_eq!(op.responses[0].schema, Some(Schema::Any));
    }

    #[test]
    fn paths_as_a_list_is_reported_at_the_node() {
        let (doc, diagnostics) = load(&repo("codegen/tests/fixtures/openapi/paths-as-list.yaml"));
        let doc = doc.expect("the header still loads");
        assert!(doc.operations.is_empty());
        let errors: Vec<_> = diagnostics.iter().collect();
        assert_eq!(errors.len(), 1, "{diagnostics}");
        assert_eq!(errors[0].code, "openapi-invalid");
        assert!(errors[0].message.contains("found a list"), "{}", errors[0].message);
        assert_eq!(errors[0].span.as_ref().map(|s| s.line), Some(6));
        assert!(errors[0].help.as_deref().is_some_and(|h| h.contains("mapping")));
    }

    #[test]
    fn not_openapi_documents() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cases = [
            ("swagger.yaml", "swagger: '2.0'\ninfo: {title: x, version: '1'}\n", "openapi-unsupported-version"),
            ("list.yaml", "- a\n- b\n", "openapi-invalid"),
            ("none.yaml", "info: {title: x, version: '1'}\n", "openapi-invalid"),
            ("four.yaml", "openapi: 4.0.0\n", "openapi-unsupported-version"),
            ("syntax.yaml", "openapi: [3.1\n", "yaml-syntax"),
        ];
        for (name, text, code) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            let (doc, diagnostics) = load(&path);
            assert!(doc.is_none(), "{name}");
            assert_eq!(diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(), [code], "{name}: {diagnostics}");
        }
    }

    #[test]
    fn path_templates_compare_by_position() {
        assert_eq!(normalize_template("/a/{x}/b/{{y}}/"), "/a/{}/b/{}");
        assert_eq!(normalize_template("/files/{name}.json"), "/files/{}.json");
        assert_eq!(normalize_template("/broken/{x"), "/broken/{x");
        assert_eq!(normalize_template("/"), "/");
        assert_eq!(percent_decode("a%7Bb%7D%zz%"), "a{b}%zz%");
    }

    fn corpus_paths(corpus: &Path) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus.join("api-evangelist-prisma/openapi"))
            .expect("corpus dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        for name in [
            "FAPI-PAR.openapi.yaml",
            "oauth.openapi.yaml",
            "pet-coupons.openapi.yaml",
            "swagger-petstore.openapi.yaml",
            "bnpl-openapi.yaml",
        ] {
            paths.push(corpus.join("arazzo-oai-examples").join(name));
        }
        paths.sort();
        paths
    }

    /// Loads one corpus document, which must have no errors and at least one operation.
    fn assert_loads_cleanly(path: &Path) -> usize {
        let (doc, diagnostics) = load(path);
        let doc = doc.unwrap_or_else(|| panic!("{} does not load: {diagnostics}", path.display()));
        assert!(!diagnostics.has_errors(), "{}: {diagnostics}", path.display());
        assert!(!doc.operations.is_empty(), "{}", path.display());
        // Every operation pointer names a real node.
        for op in &doc.operations {
            assert!(doc.file.has(&op.pointer), "{} {}", path.display(), op.pointer);
        }
        doc.operations.len()
    }

    /// Every OpenAPI document of the shared corpus loads without a panic. None of the API
    /// Evangelist Prisma documents is malformed (all have `paths` as a mapping, and all pass
    /// openapi-spec-validator), so none may produce an error; the 3.1/3.2 constructs they use
    /// (`type: [X, "null"]`, `const`, `examples` lists) are all representable.
    #[test]
    fn corpus_documents_load() {
        let paths = corpus_paths(&repo("tests/corpus"));
        assert_eq!(paths.len(), 41);
        let operations: usize = paths.iter().map(|p| assert_loads_cleanly(p)).sum();
        // 115 of them in the one-line 327 KB JSON document.
        assert!(operations > 300, "{operations}");
    }
}
