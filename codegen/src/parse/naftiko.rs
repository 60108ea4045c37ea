//! The Naftiko capability model (1.0.0-alpha2, official form and the looser dialect of real
//! documents), and the loader that reads it, follows `import`/`location` consumes, records
//! where each node came from, and rewrites the loose forms the engine runs into the standard
//! model, each with a warning ([`LOOSE_FORMS`]).
//!
//! Lists are decoded item by item ([`Lenient`]), so one broken operation yields one diagnostic
//! and the rest of the document is still checked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};

use crate::diagnostics::{Diagnostic, Diagnostics, SourceMap, Span};
use crate::parse::ikanos;
use crate::parse::paths::{self, Scope};
use crate::parse::yaml::{self, YamlFile};

/// Where a node lives: a file and a JSON Pointer into it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: Option<Arc<Path>>,
    pub pointer: String,
}

impl Origin {
    pub fn new(file: &Arc<Path>, pointer: impl Into<String>) -> Self {
        Origin { file: Some(file.clone()), pointer: pointer.into() }
    }

    /// The origin of a child node.
    pub fn child(&self, key: &str) -> Origin {
        Origin { file: self.file.clone(), pointer: yaml::child(&self.pointer, key) }
    }

    pub fn item(&self, index: usize) -> Origin {
        Origin { file: self.file.clone(), pointer: yaml::item(&self.pointer, index) }
    }
}

/// A list element that failed to decode keeps its error instead of failing the whole list.
#[derive(Clone, Debug)]
pub enum Lenient<T> {
    Ok(T),
    /// The error message, and the JSON Pointer (relative to the item) of the failing node.
    Invalid { message: String, at: String },
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(deserializer)?;
        Ok(match yaml::deserialize_at(value) {
            Ok(item) => Lenient::Ok(item),
            Err((at, message)) => Lenient::Invalid { message, at },
        })
    }
}

impl<T> Lenient<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Lenient::Ok(item) => Some(item),
            Lenient::Invalid { .. } => None,
        }
    }
}

/// A list of leniently decoded items.
pub type List<T> = Vec<Lenient<T>>;

/// Iterates the items that decoded, with their index in the list.
pub fn valid<T>(list: &[Lenient<T>]) -> impl Iterator<Item = (usize, &T)> {
    list.iter().enumerate().filter_map(|(i, item)| item.ok().map(|x| (i, x)))
}

/// A whole capability file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityFile {
    pub naftiko: Option<String>,
    pub info: Option<Info>,
    #[serde(default)]
    pub binds: List<Bind>,
    pub capability: Option<CapabilityBody>,
    /// Shared files that only hold consumed adapters put them at the top level.
    #[serde(default)]
    pub consumes: List<ConsumesEntry>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    pub label: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityBody {
    #[serde(default)]
    pub consumes: List<ConsumesEntry>,
    #[serde(default)]
    pub exposes: List<Exposes>,
    #[serde(default)]
    pub aggregates: List<Aggregate>,
}

/// `binds[]`: named variables resolved from the environment or a file.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bind {
    pub namespace: String,
    pub description: Option<String>,
    /// `file:///…` reads keys from a JSON/YAML file; absent means environment variables.
    pub location: Option<String>,
    /// Variable name (used as `{{NAME}}` / `{{env.NAME}}`) → key in the provider.
    #[serde(default)]
    pub keys: IndexMap<String, String>,
}

/// A `consumes[]` entry: an inline HTTP adapter or an import of one from another file.
#[derive(Clone, Debug)]
pub enum ConsumesEntry {
    Import(ImportedConsumes),
    Http(Box<ConsumesHttp>),
}

impl<'de> Deserialize<'de> for ConsumesEntry {
    /// An entry with `import` is an import; anything else must be an inline adapter, so its
    /// errors name the adapter's missing or mistyped fields.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(deserializer)?;
        let is_import = value.get("import").is_some();
        if is_import {
            yaml::deserialize_nested(value).map(ConsumesEntry::Import)
        } else {
            yaml::deserialize_nested(value).map(|http| ConsumesEntry::Http(Box::new(http)))
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedConsumes {
    pub import: String,
    pub location: String,
    #[serde(rename = "as")]
    pub alias: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumesHttp {
    pub namespace: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub base_uri: String,
    #[serde(default)]
    pub input_parameters: List<ConsumedParam>,
    pub authentication: Option<AuthSpec>,
    #[serde(default)]
    pub resources: List<ConsumedResource>,
    /// Set by the loader: the file and pointer this adapter was read from.
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumedResource {
    pub name: String,
    pub label: Option<String>,
    pub description: Option<String>,
    pub path: String,
    #[serde(default)]
    pub input_parameters: List<ConsumedParam>,
    #[serde(default)]
    pub operations: List<ConsumedOperation>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumedOperation {
    pub name: String,
    pub label: Option<String>,
    pub description: Option<String>,
    pub method: Option<String>,
    #[serde(default)]
    pub input_parameters: List<ConsumedParam>,
    pub output_raw_format: Option<String>,
    /// Ikanos: the media type advertised for the response (overrides the upstream `Content-Type`).
    pub output_media_type: Option<String>,
    /// Ikanos: the largest binary body read (`512KiB`, `5MiB`, `1GiB`).
    pub max_binary_size: Option<String>,
    #[serde(default)]
    pub output_parameters: List<OutputParam>,
    /// A request body template (JSON text with `{{arg}}` placeholders) or structured body.
    pub body: Option<serde_yaml::Value>,
}

/// A consumed operation's parameter. The official form has `name`, `in`, `value`; real documents
/// also carry `type`, `description` and `required`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumedParam {
    pub name: String,
    #[serde(rename = "in")]
    pub location: Option<String>,
    pub value: Option<serde_yaml::Value>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub required: Option<bool>,
}

/// Authentication of a consumed or exposed adapter; both the official field names and the
/// dialect's (`in`/`name` for API keys) are accepted.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub key: Option<String>,
    pub name: Option<String>,
    pub value: Option<String>,
    pub placement: Option<String>,
    #[serde(rename = "in")]
    pub location: Option<String>,
}

/// An output parameter, in any of the model's forms: consumed (`name` + `value` JSONPath),
/// mapped (`type` + `mapping`, nested `properties`/`items`), mock (`name` + static `value`),
/// orchestrated (`name` + `type`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputParam {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub mapping: Option<String>,
    pub value: Option<serde_yaml::Value>,
    #[serde(rename = "const")]
    pub constant: Option<serde_yaml::Value>,
    pub properties: Option<IndexMap<String, OutputParam>>,
    pub items: Option<OutputItems>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum OutputItems {
    One(Box<OutputParam>),
    Fields(Vec<OutputParam>),
}

/// `exposes[]`, by `type`.
#[derive(Clone, Debug)]
pub enum Exposes {
    Rest(ExposesRest),
    Mcp(ExposesMcp),
    Skill(ExposesOther),
    Control(ExposesOther),
}

impl<'de> Deserialize<'de> for Exposes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(deserializer)?;
        let kind = value.get("type").and_then(serde_yaml::Value::as_str).map(str::to_owned);
        match kind.as_deref() {
            Some("rest") => yaml::deserialize_nested(value).map(Exposes::Rest),
            Some("mcp") => yaml::deserialize_nested(value).map(Exposes::Mcp),
            Some("skill") => yaml::deserialize_nested(value).map(Exposes::Skill),
            Some("control") => yaml::deserialize_nested(value).map(Exposes::Control),
            Some(other) => Err(serde::de::Error::custom(format!("unknown variant `{other}`, expected one of `rest`, `mcp`, `skill`, `control`"))),
            None => Err(serde::de::Error::missing_field("type")),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposesRest {
    pub namespace: String,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub description: Option<String>,
    pub authentication: Option<AuthSpec>,
    #[serde(default)]
    pub resources: List<ExposedResource>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposedResource {
    pub path: String,
    pub name: Option<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub input_parameters: List<InputParam>,
    #[serde(default)]
    pub operations: List<Invocation>,
}

/// An exposed REST operation, MCP tool or aggregate function: something that takes arguments
/// and invokes consumed operations (`call`, or `steps` + `mappings`, or `ref` to an aggregate).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub name: Option<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    /// REST only.
    pub method: Option<String>,
    #[serde(default)]
    pub input_parameters: List<InputParam>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub call: Option<String>,
    #[serde(default)]
    pub with: IndexMap<String, serde_yaml::Value>,
    #[serde(default)]
    pub steps: List<Step>,
    #[serde(default)]
    pub mappings: List<StepMapping>,
    pub hints: Option<ToolHints>,
    pub semantics: Option<Semantics>,
    #[serde(default)]
    pub output_parameters: List<OutputParam>,
    /// Ikanos REST: the response contract per status code (`content.<media type>.binary`).
    #[serde(default)]
    pub responses: IndexMap<String, RestResponse>,
    /// Ikanos REST: shorthand for one successful binary response.
    pub response_binary: Option<ResponseBinary>,
}

/// One status code of an Ikanos REST operation's `responses`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestResponse {
    pub description: Option<String>,
    /// Media type → payload contract.
    #[serde(default)]
    pub content: IndexMap<String, RestContent>,
}

/// The payload contract of one media type: raw bytes (`binary: true`) or a JSON `schema`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestContent {
    #[serde(default)]
    pub binary: bool,
    pub schema: Option<serde_yaml::Value>,
}

/// `responseBinary`: `{status: 200, mediaType, description}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseBinary {
    pub status: Option<u16>,
    pub media_type: String,
    pub description: Option<String>,
}

/// An input parameter of an exposed operation, tool or function.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputParam {
    pub name: String,
    #[serde(rename = "in")]
    pub location: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub required: Option<bool>,
    pub pattern: Option<String>,
    pub value: Option<serde_yaml::Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolHints {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Semantics {
    pub safe: Option<bool>,
    pub idempotent: Option<bool>,
    pub cacheable: Option<bool>,
}

/// An orchestration step: `call` a consumed operation, `lookup` in an earlier step's result,
/// or `script` (not supported).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub call: Option<String>,
    #[serde(default)]
    pub with: IndexMap<String, serde_yaml::Value>,
    pub index: Option<String>,
    #[serde(rename = "match")]
    pub match_field: Option<String>,
    pub lookup_value: Option<String>,
    #[serde(default)]
    pub output_parameters: Vec<serde_yaml::Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepMapping {
    pub target_name: String,
    pub value: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposesMcp {
    pub namespace: String,
    pub transport: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub description: Option<String>,
    pub authentication: Option<AuthSpec>,
    /// Ikanos: a freshness hint (milliseconds) for clients caching results.
    pub ttl_ms: Option<u64>,
    /// Ikanos: whether shared intermediaries may cache results (`public`, `private`).
    pub cache_scope: Option<String>,
    #[serde(default)]
    pub tools: List<Invocation>,
    #[serde(default)]
    pub resources: List<McpResource>,
    #[serde(default)]
    pub prompts: List<McpPrompt>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpResource {
    pub name: String,
    pub label: Option<String>,
    pub uri: String,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    pub call: Option<String>,
    #[serde(default)]
    pub with: IndexMap<String, serde_yaml::Value>,
    pub location: Option<String>,
    #[serde(default)]
    pub output_parameters: List<OutputParam>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpPrompt {
    pub name: String,
    pub label: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub arguments: Vec<PromptArgument>,
    #[serde(default)]
    pub template: Vec<PromptMessage>,
    pub location: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptArgument {
    pub name: String,
    pub description: Option<String>,
    pub required: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PromptMessage {
    pub role: String,
    pub content: String,
}

/// Adapters capgen does not generate (`skill`, `control`): kept so they can be named in a
/// warning.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposesOther {
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Aggregate {
    pub label: Option<String>,
    pub namespace: String,
    #[serde(default)]
    pub functions: List<Invocation>,
}

/// A loaded capability: the main file, every consumed adapter (imports resolved), and the
/// files read along the way (for spans).
#[derive(Clone, Debug)]
pub struct Capability {
    pub path: Arc<Path>,
    pub doc: CapabilityFile,
    pub consumes: Vec<ConsumesHttp>,
    pub files: IndexMap<Arc<Path>, YamlFile>,
    /// Namespaces (`as`, else `import`) of imports that failed: calls into them are not
    /// reported again.
    pub unresolved_imports: Vec<String>,
    /// Pointers of `exposes`, `aggregates` and `binds` imports that could not be read (already
    /// reported; the entry left in place is not decoded again).
    pub failed_imports: Vec<String>,
    /// A stand-alone document of `exposes`/`aggregates` for capabilities to import: its calls
    /// name namespaces the importer consumes.
    pub fragment: bool,
}

impl Capability {
    /// The span of a node, in whichever file it lives.
    pub fn span(&self, origin: &Origin) -> Span {
        let file = origin.file.as_ref().unwrap_or(&self.path);
        match self.files.get(file) {
            Some(yaml) => yaml.span(&origin.pointer),
            None => Span::file_start(file.clone()),
        }
    }

    /// The span of the key of a mapping entry.
    pub fn key_span(&self, origin: &Origin) -> Span {
        let file = origin.file.as_ref().unwrap_or(&self.path);
        match self.files.get(file) {
            Some(yaml) => yaml.key_span(&origin.pointer),
            None => Span::file_start(file.clone()),
        }
    }

    /// An origin in the main file.
    pub fn at(&self, pointer: impl Into<String>) -> Origin {
        Origin::new(&self.path, pointer)
    }

    pub fn body(&self) -> Option<&CapabilityBody> {
        self.doc.capability.as_ref()
    }

    pub fn main_file(&self) -> Option<&YamlFile> {
        self.files.get(&self.path)
    }
}

/// Codes of the warnings that read a form the engine runs but the schema does not allow (each
/// with the standard form in its help line); `--strict` makes them errors.
pub const LOOSE_FORMS: &[&str] = &[
    "unbound-variable",
    "shadowed-route",
    "path-parameter-from-query",
    "call-target-spelling",
    "unknown-call-target",
    "relative-path",
    "mustache-path",
    "apikey-default-key",
    "apikey-name-in",
    "consumes-only",
];

/// `--strict`: the warnings of [`LOOSE_FORMS`] become errors.
pub fn strict_loose_forms(diagnostics: Diagnostics) -> Diagnostics {
    let mut strict = Diagnostics::new();
    for diagnostic in diagnostics.iter() {
        let mut diagnostic = diagnostic.clone();
        if LOOSE_FORMS.contains(&diagnostic.code) {
            diagnostic.severity = crate::diagnostics::Severity::Error;
        }
        strict.push(diagnostic);
    }
    strict
}

/// Loads a capability and the files it imports. Returns `None` only when the main file cannot
/// be read or parsed at all; everything else becomes diagnostics. Files the capability names
/// must lie under its spec root ([`Scope::for_spec`]).
pub fn load_capability(path: &Path, sources: &mut SourceMap, diagnostics: &mut Diagnostics) -> Option<Capability> {
    load_capability_in(path, &Scope::for_spec(path), sources, diagnostics)
}

/// [`load_capability`], reading the files the capability names only inside `scope`; every
/// `location` outside it is a `path-outside-spec-dir` error and is not read.
pub fn load_capability_in(
    path: &Path,
    scope: &Scope,
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
) -> Option<Capability> {
    let mut file = yaml::load(path, sources, diagnostics)?;
    ikanos::normalize(&mut file, diagnostics);
    let fragment = read_fragment(&mut file, diagnostics);
    let failed_imports = graft_imports(&mut file, scope, sources, diagnostics);
    let path: Arc<Path> = file.path.clone();
    let doc: CapabilityFile = match file.decode("", &file.value) {
        Ok(doc) => doc,
        Err(diagnostic) => {
            diagnostics.push(diagnostic.help("a capability is a mapping with `naftiko`, `info`, `binds` and `capability`"));
            return None;
        }
    };
    let mut capability =
        Capability { path: path.clone(), doc, consumes: Vec::new(), files: IndexMap::new(), unresolved_imports: Vec::new(), failed_imports, fragment };
    capability.files.insert(path.clone(), file);

    let entries: Vec<(Origin, Lenient<ConsumesEntry>)> = capability
        .doc
        .capability
        .iter()
        .flat_map(|body| body.consumes.iter().enumerate())
        .map(|(i, entry)| (Origin::new(&path, format!("/capability/consumes/{i}")), entry.clone()))
        .chain(
            capability
                .doc
                .consumes
                .iter()
                .enumerate()
                .map(|(i, entry)| (Origin::new(&path, format!("/consumes/{i}")), entry.clone())),
        )
        .collect();
    for (origin, entry) in entries {
        match entry {
            Lenient::Ok(ConsumesEntry::Http(mut http)) => {
                http.origin = origin;
                capability.consumes.push(*http);
            }
            Lenient::Ok(ConsumesEntry::Import(import)) => {
                if !resolve_import(&mut capability, &import, &origin, scope, sources, diagnostics) {
                    capability.unresolved_imports.push(import.alias.clone().unwrap_or_else(|| import.import.clone()));
                }
            }
            Lenient::Invalid { message, at } => {
                let file = &capability.files[&path];
                diagnostics.push(
                    file.decode_error(&format!("{}{at}", origin.pointer), &message)
                        .help("a consumes entry needs `namespace`, `type: http`, `baseUri` and `resources`, or `import` + `location`"),
                );
            }
        }
    }
    check_locations(&capability, scope, diagnostics);
    read_loose_forms(&mut capability, diagnostics);
    Some(capability)
}

/// Rewrites the loose forms real documents use into the standard model, each with a warning
/// whose help line shows the standard form (codes in [`LOOSE_FORMS`]). Later stages see only
/// the standard model.
fn read_loose_forms(capability: &mut Capability, diagnostics: &mut Diagnostics) {
    let mut warnings = Vec::new();
    for api in &mut capability.consumes {
        let origin = api.origin.clone();
        for (r, resource) in api.resources.iter_mut().enumerate() {
            let Lenient::Ok(resource) = resource else { continue };
            let at = origin.child("resources").item(r).child("path");
            if let Some(path) = relative_path(&resource.path, &at, &mut warnings) {
                resource.path = path;
            }
            if resource.path.contains("{{") {
                let standard = resource.path.replace("{{", "{").replace("}}", "}");
                warnings.push((
                    at,
                    Diagnostic::warning("mustache-path", format!("consumed path `{}` writes its parameters as `{{{{p}}}}`", resource.path))
                        .help(format!("write `path: {standard}`")),
                ));
                resource.path = standard;
            }
        }
        if let Some(auth) = &mut api.authentication {
            apikey_key(auth, &origin.child("authentication"), &mut warnings);
        }
    }
    // Tools and operations that `ref` an aggregate function inherit its name and description.
    let mut functions: IndexMap<String, (Option<String>, Option<String>)> = IndexMap::new();
    if let Some(body) = &capability.doc.capability {
        for (_, aggregate) in valid(&body.aggregates) {
            for (_, function) in valid(&aggregate.functions) {
                if let Some(name) = &function.name {
                    functions.insert(format!("{}.{name}", aggregate.namespace), (Some(name.clone()), function.description.clone()));
                }
            }
        }
    }
    let path = capability.path.clone();
    if let Some(body) = &mut capability.doc.capability {
        for (e, exposes) in body.exposes.iter_mut().enumerate() {
            let origin = Origin::new(&path, format!("/capability/exposes/{e}"));
            match exposes {
                Lenient::Ok(Exposes::Rest(rest)) => {
                    if let Some(auth) = &mut rest.authentication {
                        apikey_key(auth, &origin.child("authentication"), &mut warnings);
                    }
                    for (r, resource) in rest.resources.iter_mut().enumerate() {
                        let Lenient::Ok(resource) = resource else { continue };
                        let at = origin.child("resources").item(r).child("path");
                        if let Some(path) = relative_path(&resource.path, &at, &mut warnings) {
                            resource.path = path;
                        }
                        for op in resource.operations.iter_mut() {
                            if let Lenient::Ok(op) = op {
                                inherit(op, &functions);
                            }
                        }
                    }
                }
                Lenient::Ok(Exposes::Mcp(mcp)) => {
                    if let Some(auth) = &mut mcp.authentication {
                        apikey_key(auth, &origin.child("authentication"), &mut warnings);
                    }
                    for tool in mcp.tools.iter_mut() {
                        if let Lenient::Ok(tool) = tool {
                            inherit(tool, &functions);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for (origin, diagnostic) in warnings {
        diagnostics.push(diagnostic.at(capability.span(&origin)));
    }
}

/// A resource path without its leading `/` (`api/users`): the engine appends it to the base
/// URI (consumes) or routes it (exposes) as `/api/users`.
fn relative_path(path: &str, at: &Origin, warnings: &mut Vec<(Origin, Diagnostic)>) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let standard = format!("/{path}");
    warnings.push((
        at.clone(),
        Diagnostic::warning("relative-path", format!("path `{path}` does not start with `/`; it is read as `{standard}`"))
            .help(format!("write `path: {standard}`")),
    ));
    Some(standard)
}

/// The header (or query parameter) an `apikey` authentication sets: `key`, else the dialect's
/// `name` (with `in` for `placement`), else `X-Api-Key`.
fn apikey_key(auth: &mut AuthSpec, at: &Origin, warnings: &mut Vec<(Origin, Diagnostic)>) {
    if !auth.kind.eq_ignore_ascii_case("apikey") || auth.key.is_some() {
        return;
    }
    let placement = auth.placement.clone().or_else(|| auth.location.clone()).unwrap_or_else(|| "header".to_string());
    let (key, diagnostic) = match &auth.name {
        Some(name) => (
            name.clone(),
            Diagnostic::warning("apikey-name-in", format!("`apikey` authentication names its key with `name` (`{name}`)")),
        ),
        None => (
            DEFAULT_APIKEY.to_string(),
            Diagnostic::warning("apikey-default-key", format!("`apikey` authentication has no `key`; it is sent as `{DEFAULT_APIKEY}`")),
        ),
    };
    warnings.push((at.clone(), diagnostic.help(format!("write `key: {key}` and `placement: {placement}`"))));
    auth.key = Some(key);
    auth.placement = Some(placement);
}

/// The header name of an `apikey` authentication without `key`.
pub const DEFAULT_APIKEY: &str = "X-Api-Key";

/// A unit that `ref`s an aggregate function takes the function's name and description when it
/// has none of its own (as the engine's `AggregateRefResolver` does).
fn inherit(unit: &mut Invocation, functions: &IndexMap<String, (Option<String>, Option<String>)>) {
    let Some((name, description)) = unit.reference.as_ref().and_then(|r| functions.get(r)) else { return };
    if unit.name.is_none() {
        unit.name = name.clone();
    }
    if unit.description.is_none() {
        unit.description = description.clone();
    }
}

/// Checks the other `location`s a capability names against `scope`: MCP resources and prompts
/// (read at generation time, relative to the capability) and binds (read by the generated crate
/// at run time, relative to its working directory, so they must stay relative and not climb out
/// with `..`).
fn check_locations(capability: &Capability, scope: &Scope, diagnostics: &mut Diagnostics) {
    let Some(root) = scope.root() else { return };
    for (i, bind) in valid(&capability.doc.binds) {
        let Some(location) = &bind.location else { continue };
        let Some(local) = location.strip_prefix("file://").or((!location.contains("://")).then_some(location.as_str())) else {
            continue; // other schemes are reported by validation
        };
        let relative = local.strip_prefix("/./").map(|rest| format!("./{rest}"));
        let local = Path::new(relative.as_deref().unwrap_or(local));
        let inside = if local.is_absolute() { scope.allows(local) } else { paths::stays_relative(local) };
        if !inside {
            let span = capability.span(&capability.at(format!("/binds/{i}/location")));
            diagnostics.push(paths::outside(location, root, span).help(
                "a bind's file is read at run time, relative to the working directory: write `file:///./name.yaml`, \
                 or pass `--allow-outside-spec-dir` (`Inputs::allow_outside`) to keep this path",
            ));
        }
    }
    let Some(body) = capability.body() else { return };
    for (i, adapter) in valid(&body.exposes) {
        let Exposes::Mcp(mcp) = adapter else { continue };
        let resources = valid(&mcp.resources).map(|(j, r)| (format!("resources/{j}"), r.location.as_ref()));
        let prompts = valid(&mcp.prompts).map(|(j, p)| (format!("prompts/{j}"), p.location.as_ref()));
        for (at, location) in resources.chain(prompts) {
            let Some(location) = location else { continue };
            let target = resolve_location(&capability.path, location);
            let span = capability.span(&capability.at(format!("/capability/exposes/{i}/{at}/location")));
            if let Err(diagnostic) = scope.check(&target, location, span) {
                diagnostics.push(diagnostic);
            }
        }
    }
}

/// Reads `location` (relative to the importing file) and copies its adapter `import` in;
/// `false` (with a diagnostic) when it cannot.
fn resolve_import(
    capability: &mut Capability,
    import: &ImportedConsumes,
    origin: &Origin,
    scope: &Scope,
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
) -> bool {
    let importing = origin.file.clone().unwrap_or_else(|| capability.path.clone());
    let target = resolve_location(&importing, &import.location);
    if let Err(diagnostic) = scope.check(&target, &import.location, capability.span(&origin.child("location"))) {
        diagnostics.push(diagnostic);
        return false;
    }
    if !capability.files.contains_key(target.as_path()) {
        let Some(mut file) = yaml::load(&target, sources, diagnostics) else {
            diagnostics.push(
                Diagnostic::error("unresolved-import", format!("cannot load `{}` imported as `{}`", import.location, import.import))
                    .at(capability.span(&origin.child("location")))
                    .help("`location` is resolved relative to the importing file; check the path"),
            );
            return false;
        };
        ikanos::normalize(&mut file, diagnostics);
        capability.files.insert(Arc::from(target.as_path()), file);
    }
    let file = &capability.files[target.as_path()];
    let shared: CapabilityFile = match file.decode("", &file.value) {
        Ok(doc) => doc,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return false;
        }
    };
    let candidates = shared
        .consumes
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("/consumes/{i}"), e))
        .chain(shared.capability.iter().flat_map(|b| b.consumes.iter().enumerate().map(|(i, e)| (format!("/capability/consumes/{i}"), e))));
    let mut names = Vec::new();
    for (pointer, entry) in candidates {
        if let Lenient::Ok(ConsumesEntry::Http(http)) = entry {
            if http.namespace == import.import {
                let mut http = (**http).clone();
                http.origin = Origin::new(&file.path, pointer);
                if let Some(alias) = &import.alias {
                    http.namespace = alias.clone();
                }
                capability.consumes.push(http);
                return true;
            }
            names.push(http.namespace.clone());
        }
    }
    diagnostics.push(
        Diagnostic::error(
            "unresolved-import",
            format!("`{}` declares no consumed adapter with namespace `{}`", import.location, import.import),
        )
        .at(capability.span(&origin.child("import")))
        .help(if names.is_empty() {
            "the imported file has no `consumes` entries".to_string()
        } else {
            format!("namespaces there: {}", names.join(", "))
        }),
    );
    false
}

/// A document without `capability` whose top level declares `exposes` or `aggregates` (an
/// Ikanos stand-alone document, what capabilities import): checked as if they were under
/// `capability`, with a warning. Returns whether it was one.
fn read_fragment(file: &mut YamlFile, diagnostics: &mut Diagnostics) -> bool {
    use serde_yaml::{Mapping, Value};
    let Some(root) = file.value.as_mapping_mut() else { return false };
    if root.contains_key("capability") {
        return false;
    }
    let lists: Vec<&str> = ["exposes", "aggregates"].into_iter().filter(|list| root.contains_key(*list)).collect();
    if lists.is_empty() {
        return false;
    }
    let mut body = Mapping::new();
    for list in &lists {
        body.insert((*list).into(), Value::Null);
    }
    root.insert("capability".into(), Value::Mapping(body));
    let original = Arc::new(file.clone());
    for list in &lists {
        file.graft(&format!("/capability/{list}"), original.clone(), &format!("/{list}"));
        if let Some(root) = file.value.as_mapping_mut() {
            root.remove(*list);
        }
    }
    let names = lists.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(" and ");
    diagnostics.push(
        Diagnostic::warning("fragment-document", format!("this document only declares {names} for capabilities to import; it is checked as if under `capability`"))
            .at(file.key_span(&format!("/{}", lists[0])))
            .help(format!("import its entries from a capability (`- from: ./{}`, `import: <namespace>`); calls into namespaces it does not consume cannot be checked here", file.path.file_name().and_then(|n| n.to_str()).unwrap_or("file.yml"))),
    );    true
}

/// Lists whose entries may be imported from another file (besides `consumes`, which is read
/// as [`ConsumesEntry::Import`]): (pointer of the list in a capability, its name).
const IMPORTABLE: &[(&str, &str)] = &[("/binds", "binds"), ("/capability/exposes", "exposes"), ("/capability/aggregates", "aggregates")];

/// Replaces each `exposes`, `aggregates` and `binds` entry that imports (`import` + `location`,
/// Ikanos `from`) by the entry it names in the other file, which keeps its spans. Returns the
/// pointers of the imports that failed (each reported).
fn graft_imports(file: &mut YamlFile, scope: &Scope, sources: &mut SourceMap, diagnostics: &mut Diagnostics) -> Vec<String> {
    use serde_yaml::Value;
    let mut failed = Vec::new();
    let mut loaded: IndexMap<PathBuf, Option<Arc<YamlFile>>> = IndexMap::new();
    for (list_pointer, list) in IMPORTABLE {
        let Some(Value::Sequence(items)) = yaml::get(&file.value, list_pointer) else { continue };
        let imports: Vec<(String, String, String, Option<String>)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let map = item.as_mapping()?;
                let import = map.get("import")?.as_str()?.to_string();
                let location = map.get("location")?.as_str()?.to_string();
                let alias = map.get("as").and_then(Value::as_str).map(str::to_string);
                Some((yaml::item(list_pointer, i), import, location, alias))
            })
            .collect();
        for (at, import, location, alias) in imports {
            let target = resolve_location(&file.path, &location);
            if let Err(diagnostic) = scope.check(&target, &location, file.span(&yaml::child(&at, "location"))) {
                diagnostics.push(diagnostic);
                failed.push(at);
                continue;
            }
            let shared = loaded
                .entry(target.clone())
                .or_insert_with(|| {
                    let mut shared = yaml::load(&target, sources, diagnostics)?;
                    ikanos::normalize(&mut shared, diagnostics);
                    Some(Arc::new(shared))
                })
                .clone();
            let Some(shared) = shared else {
                diagnostics.push(
                    Diagnostic::error("unresolved-import", format!("cannot load `{location}` imported as `{import}`"))
                        .at(file.span(&yaml::child(&at, "location")))
                        .help("`from` is resolved relative to the importing file; check the path"),
                );
                failed.push(at);
                continue;
            };
            let mut names = Vec::new();
            let mut found = None;
            for pointer in [format!("/{list}"), format!("/capability/{list}")] {
                let Some(Value::Sequence(entries)) = yaml::get(&shared.value, &pointer) else { continue };
                for (i, entry) in entries.iter().enumerate() {
                    let Some(namespace) = entry.get("namespace").and_then(Value::as_str) else { continue };
                    if namespace == import && found.is_none() {
                        found = Some((yaml::item(&pointer, i), entry.get("import").is_some()));
                    }
                    names.push(namespace.to_string());
                }
            }
            match found {
                Some((from, false)) => {
                    file.graft(&at, shared.clone(), &from);
                    if let Some(alias) = alias
                        && let Some(Value::Mapping(entry)) = yaml::get_mut(&mut file.value, &at)
                    {
                        entry.insert("namespace".into(), Value::String(alias));
                    }
                }
                Some((from, true)) => {
                    diagnostics.push(
                        Diagnostic::error("unresolved-import", format!("`{location}` imports `{import}` itself; imports are not transitive"))
                            .at(shared.span(&from))
                            .label("imported from here")
                            .help(format!("import `{import}` from the file that declares it")),
                    );
                    failed.push(at);
                }
                None => {
                    diagnostics.push(
                        Diagnostic::error("unresolved-import", format!("`{location}` declares no `{list}` entry with namespace `{import}`"))
                            .at(file.span(&yaml::child(&at, "import")))
                            .help(if names.is_empty() {
                                format!("the imported file has no `{list}` entries")
                            } else {
                                format!("namespaces there: {}", names.join(", "))
                            }),
                    );
                    failed.push(at);
                }
            }
        }
    }
    failed
}

/// Resolves a `location` (`./x.yml`, `file:///./x.yml`, `file:///abs/x.yml`) against the file
/// that names it.
pub fn resolve_location(referrer: &Path, location: &str) -> PathBuf {
    let stripped = location.strip_prefix("file://").unwrap_or(location);
    let relative = stripped.strip_prefix("/./").map(|rest| format!("./{rest}"));
    let target = relative.as_deref().unwrap_or(stripped);
    let target = Path::new(target);
    if target.is_absolute() {
        return target.to_path_buf();
    }
    referrer.parent().unwrap_or(Path::new(".")).join(target)
}

/// A piece of a Mustache-style template (`Bearer {{env.TOKEN}}`, `/ships/{{imo}}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// The name inside `{{ }}`, trimmed (`env.TOKEN`, `imo`).
    Var(String),
}

/// Splits a template into text and `{{name}}` placeholders. An unclosed `{{` stays text.
pub fn mustache(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else { break };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        pieces.push(Piece::Var(rest[open + 2..open + 2 + close].trim().to_string()));
        rest = &rest[open + 2 + close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    pieces
}

/// The variable names a bind can provide for a placeholder: `env.X` and `X` both mean `X`.
pub fn bind_variable(placeholder: &str) -> &str {
    placeholder.rsplit_once('.').map_or(placeholder, |(_, name)| name)
}

/// A name compared ignoring case and punctuation (`listnotes` ~ `list-notes`), for `call`
/// targets that spell a consumed operation loosely.
pub fn loose_name(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The one target among `known` (`<namespace>.<operation>`) that `call` names when namespace
/// and operation are each compared with [`loose_name`]; `None` when none or several match.
pub fn loose_target<'k>(call: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let (namespace, operation) = call.split_once('.')?;
    let key = (loose_name(namespace), loose_name(operation));
    let mut found = known.into_iter().filter(|k| k.split_once('.').is_some_and(|(n, o)| (loose_name(n), loose_name(o)) == key));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// What makes two REST routes the same: the method and the path with `{{p}}` read as `{p}`,
/// compared ignoring case. The engine routes a request to the first of equal routes.
pub fn route_key(method: &str, path: &str) -> (String, String) {
    (method.to_ascii_uppercase(), path.replace("{{", "{").replace("}}", "}").to_ascii_lowercase())
}

/// Path template variables: `{id}` and `{{id}}` both count.
pub fn path_variables(path: &str) -> Vec<String> {
    let mut vars = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let inner = rest[open..].trim_start_matches('{');
        let Some(close) = inner.find('}') else { break };
        let name = inner[..close].trim();
        if !name.is_empty() {
            vars.push(name.to_string());
        }
        rest = inner[close..].trim_start_matches('}');
    }
    vars
}

/// Rewrites dotted member names that RFC 9535 shorthand does not allow (`$.get-ship.imo`, as
/// the official tutorial writes step names) into bracket form (`$['get-ship'].imo`). Anything
/// inside brackets or quotes is left alone.
pub fn normalize_jsonpath(path: &str) -> String {
    let chars: Vec<char> = path.chars().collect();
    let mut out = String::with_capacity(path.len());
    let (mut depth, mut quote, mut i) = (0usize, None::<char>, 0usize);
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else if depth > 0 {
            match c {
                '\'' | '"' => quote = Some(c),
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            out.push(c);
        } else if c == '[' {
            depth += 1;
            out.push(c);
        } else if c == '.' && chars.get(i + 1).is_some_and(|n| *n != '.' && *n != '[' && *n != '*') {
            let end = (i + 1..chars.len()).find(|&j| chars[j] == '.' || chars[j] == '[').unwrap_or(chars.len());
            let name: String = chars[i + 1..end].iter().collect();
            let shorthand = name.chars().next().is_some_and(|f| f.is_alphabetic() || f == '_' || !f.is_ascii())
                && name.chars().all(|ch| ch.is_alphanumeric() || ch == '_' || !ch.is_ascii());
            if shorthand {
                out.push('.');
                out.push_str(&name);
            } else {
                out.push_str(&format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'")));
            }
            i = end;
            continue;
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(path: &str) -> (Option<Capability>, Diagnostics) {
        let mut sources = SourceMap::default();
        let mut diagnostics = Diagnostics::new();
        let cap = load_capability(Path::new(path), &mut sources, &mut diagnostics);
        (cap, diagnostics)
    }

    #[test]
    fn loads_the_seed() {
        let (cap, diags) = load("../specs/prisma/capabilities/postgres-management-database-backups.yaml");
        assert!(diags.is_empty(), "{diags}");
        let cap = cap.unwrap();
        assert_eq!(cap.consumes.len(), 1);
        let ops: Vec<_> = valid(&cap.consumes[0].resources).flat_map(|(_, r)| valid(&r.operations).map(|(_, o)| o.name.clone())).collect();
        assert_eq!(ops, ["listdatabasebackups", "createdatabasebackup", "restoredatabasebackup"]);
        let span = cap.span(&cap.consumes[0].origin.child("baseUri"));
        assert_eq!(span.line, 19);
    }

    #[test]
    fn resolves_imports_relative_to_the_importing_file() {
        let (cap, diags) = load("../tests/corpus/naftiko-framework-alpha2/tutorial/step-7-shipyard-orchestrated-lookup.yml");
        assert!(!diags.has_errors(), "{diags}");
        let cap = cap.unwrap();
        let names: Vec<_> = cap.consumes.iter().map(|c| c.namespace.as_str()).collect();
        assert_eq!(names, ["registry", "legacy"]);
        assert!(cap.consumes[0].origin.file.as_ref().unwrap().ends_with("shared/step7-registry-consumes.yml"));
    }

    #[test]
    fn templates_and_path_variables() {
        assert_eq!(mustache("Bearer {{ env.T }}!"), [Piece::Text("Bearer ".into()), Piece::Var("env.T".into()), Piece::Text("!".into())]);
        assert_eq!(mustache("{{open"), [Piece::Text("{{open".into())]);
        assert_eq!(bind_variable("env.PRISMA_API_KEY"), "PRISMA_API_KEY");
        assert_eq!(path_variables("/a/{x}/b/{{y}}/{z"), ["x", "y"]);
    }

    #[test]
    fn jsonpath_dialect() {
        assert_eq!(normalize_jsonpath("$.get-ship.imo_number"), "$['get-ship'].imo_number");
        assert_eq!(normalize_jsonpath("$.data[0].status"), "$.data[0].status");
        assert_eq!(normalize_jsonpath("$..a[?@.b-c == 'x.y-z']"), "$..a[?@.b-c == 'x.y-z']");
        assert_eq!(normalize_jsonpath("$.2fa.x"), "$['2fa'].x");
    }

    #[test]
    fn location_forms() {
        let from = Path::new("/a/b/cap.yml");
        assert_eq!(resolve_location(from, "./shared/x.yml"), Path::new("/a/b/./shared/x.yml"));
        assert_eq!(resolve_location(from, "file:///./shared/x.yml"), Path::new("/a/b/./shared/x.yml"));
        assert_eq!(resolve_location(from, "file:///etc/x.yml"), Path::new("/etc/x.yml"));
    }
}
