//! Lowering: capability model + OpenAPI documents → [`Ir`].
//!
//! Runs after validation; anything still malformed is skipped rather than guessed at, and
//! nothing here panics.

use std::collections::{BTreeSet, HashMap};

use crate::ir::names::{self, Vocabulary};
use crate::ir::types::TypeSpace;
use crate::ir::*;
use crate::parse::naftiko::{
    self, AuthSpec, Capability, ConsumedOperation, ConsumedParam, ConsumedResource, ConsumesHttp, OutputParam, Piece,
    valid,
};
use crate::parse::openapi::{OaOperation, OpenApiDoc};

/// Lowers a capability, or (with `None`) just the Arazzo workflows over clients generated from
/// their source descriptions. `openapi` documents type the upstream operations they describe.
pub fn build(capability: Option<&Capability>, openapi: &[OpenApiDoc], arazzo: &[crate::parse::arazzo::LoadedArazzo]) -> Ir {
    build_with(capability, openapi, arazzo, false)
}

/// [`build`]; without a capability, `all_operations` puts every operation of each source
/// description in its client, not only those the workflows call.
pub fn build_with(
    capability: Option<&Capability>,
    openapi: &[OpenApiDoc],
    arazzo: &[crate::parse::arazzo::LoadedArazzo],
    all_operations: bool,
) -> Ir {
    let mut vocabulary = Vocabulary::default();
    for doc in openapi {
        for op in &doc.operations {
            vocabulary.add_text(op.operation_id.as_deref().unwrap_or_default());
            vocabulary.add_text(&op.path);
            vocabulary.add_text(op.summary.as_deref().unwrap_or_default());
        }
    }
    for api in capability.iter().flat_map(|c| &c.consumes) {
        vocabulary.add_text(api.description.as_deref().unwrap_or_default());
        for (_, resource) in valid(&api.resources) {
            vocabulary.add_text(&resource.name);
            vocabulary.add_text(&resource.path);
            for (_, op) in valid(&resource.operations) {
                vocabulary.add_text(op.description.as_deref().unwrap_or_default());
                vocabulary.add_text(op.label.as_deref().unwrap_or_default());
            }
        }
    }

    let binds = capability.map(bind_vars).unwrap_or_default();
    let mut schemas = indexmap::IndexMap::new();
    for doc in openapi {
        for (name, schema) in &doc.schemas {
            schemas.entry(name.clone()).or_insert_with(|| schema.clone());
        }
    }
    let mut type_space = TypeSpace::new(&schemas);
    let mut modules = BTreeSet::new();
    let openapi_ids = operations_by_id(openapi);
    let apis: Vec<ConsumedApi> = match capability {
        Some(capability) => capability
            .consumes
            .iter()
            .map(|api| {
                let mut lowering =
                    ApiLowering { capability, api, binds: &binds, openapi, openapi_ids: &openapi_ids, vocabulary: &vocabulary, types: &mut type_space };
                let mut lowered = lowering.lower();
                lowered.module = names::unique(lowered.module, &mut modules);
                lowered
            })
            .collect(),
        None => crate::ir::source_api::lower(arazzo, openapi, &vocabulary, &mut type_space, &mut modules, all_operations),
    };

    let workflows = crate::ir::workflow::lower(arazzo, openapi, &apis);
    let (title, description, exposure) = match capability {
        Some(capability) => {
            let info = capability.doc.info.as_ref();
            let title = info
                .and_then(|i| i.label.clone())
                .unwrap_or_else(|| capability.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
            (title, info.and_then(|i| i.description.clone()), crate::ir::lower_expose::lower(capability, &apis, &binds, &workflows))
        }
        None => {
            let info = arazzo.first().and_then(|a| a.doc.info.as_ref());
            let title = info.map(|i| i.title.clone()).unwrap_or_else(|| "workflows".to_string());
            let description = info.and_then(|i| i.description.clone().or_else(|| i.summary.clone()));
            let exposure = crate::ir::lower_expose::lower_workflows(&title, description.as_deref(), &apis, &workflows);
            (title, description, exposure)
        }
    };
    Ir {
        title,
        description,
        binds,
        apis,
        types: type_space.into_defs(),
        exposed: exposure.exposed,
        rest: exposure.rest,
        mcp: exposure.mcp,
        workflows,
    }
}

/// Every variable the `binds` declare.
fn bind_vars(capability: &Capability) -> Vec<BindVar> {
    let mut vars: Vec<BindVar> = Vec::new();
    for (_, bind) in valid(&capability.doc.binds) {
        for (name, key) in &bind.keys {
            if vars.iter().any(|v| &v.name == name) {
                continue;
            }
            let source = match &bind.location {
                Some(location) => BindSource::File { location: location.clone(), key: key.clone() },
                None => BindSource::Env { var: key.clone() },
            };
            vars.push(BindVar { name: name.clone(), source });
        }
    }
    vars
}

/// Turns spec text into a [`SpecValue`], resolving `{{VAR}}` / `{{env.VAR}}` through binds.
pub fn spec_value(text: &str, binds: &[BindVar]) -> SpecValue {
    let pieces = naftiko::mustache(text);
    if !pieces.iter().any(|p| matches!(p, Piece::Var(_))) {
        return SpecValue::Literal(text.to_string());
    }
    SpecValue::Template(
        pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => ValuePiece::Text(text),
                Piece::Var(var) => {
                    let name = naftiko::bind_variable(&var);
                    ValuePiece::Var(binds.iter().find(|b| b.name == name).cloned().unwrap_or_else(|| BindVar {
                        name: name.to_string(),
                        source: BindSource::Env { var: name.to_string() },
                    }))
                }
            })
            .collect(),
    )
}

struct ApiLowering<'a> {
    capability: &'a Capability,
    api: &'a ConsumesHttp,
    binds: &'a [BindVar],
    openapi: &'a [OpenApiDoc],
    /// [`operations_by_id`] of `openapi`.
    openapi_ids: &'a HashMap<String, &'a OaOperation>,
    vocabulary: &'a Vocabulary,
    types: &'a mut TypeSpace,
}

impl ApiLowering<'_> {
    fn lower(&mut self) -> ConsumedApi {
        let api = self.api;
        let headers = valid(&api.input_parameters)
            .filter(|(_, p)| p.location.as_deref() == Some("header"))
            .filter_map(|(_, p)| Some((p.name.clone(), spec_value(yaml_text(p.value.as_ref())?.as_str(), self.binds))))
            .collect();
        let mut fn_names = BTreeSet::new();
        let mut operations = Vec::new();
        for (r, resource) in valid(&api.resources) {
            for (o, op) in valid(&resource.operations) {
                let origin = api.origin.child("resources").item(r).child("operations").item(o);
                let mut lowered = self.operation(resource, op, self.capability.span(&origin));
                lowered.fn_name = names::unique(lowered.fn_name, &mut fn_names);
                operations.push(lowered);
            }
        }
        ConsumedApi {
            namespace: api.namespace.clone(),
            module: names::snake_ident(&api.namespace),
            description: api.description.clone(),
            base_uri: api.base_uri.clone(),
            base_uri_env: format!("{}_BASE_URI", names::shouty(&api.namespace)),
            auth: self.auth(api.authentication.as_ref()),
            headers,
            operations,
            source_document: None,
            span: self.capability.span(&api.origin),
        }
    }

    fn auth(&self, spec: Option<&AuthSpec>) -> Auth {
        let Some(spec) = spec else { return Auth::None };
        let value = |text: Option<&String>| spec_value(text.map(String::as_str).unwrap_or_default(), self.binds);
        match spec.kind.to_ascii_lowercase().as_str() {
            "bearer" => Auth::Bearer { token: value(spec.token.as_ref()) },
            "basic" => Auth::Basic { username: value(spec.username.as_ref()), password: value(spec.password.as_ref()) },
            "digest" => Auth::Digest { username: value(spec.username.as_ref()), password: value(spec.password.as_ref()) },
            "apikey" => Auth::ApiKey {
                name: spec.key.clone().or_else(|| spec.name.clone()).unwrap_or_else(|| "Authorization".to_string()),
                value: value(spec.value.as_ref()),
                in_query: spec.placement.as_deref().or(spec.location.as_deref()) == Some("query"),
            },
            _ => Auth::None,
        }
    }

    /// The OpenAPI operation describing `op`: same operationId (ignoring case), else same
    /// method and path.
    fn openapi_operation(&self, resource: &ConsumedResource, op: &ConsumedOperation, method: &str) -> Option<&OaOperation> {
        let by_id = self.openapi_ids.get(&squashed(&op.name)).copied();
        let by_id = by_id.filter(|candidate| candidate.method.eq_ignore_ascii_case(method));
        by_id.or_else(|| self.openapi.iter().find_map(|doc| doc.find_by_method_path(method, &normalise_path(&resource.path))))
    }

    fn operation(&mut self, resource: &ConsumedResource, op: &ConsumedOperation, span: Span) -> Operation {
        let method = op.method.clone().unwrap_or_else(|| "GET".to_string()).to_ascii_uppercase();
        let openapi = self.openapi_operation(resource, op, &method).cloned();
        let fn_name = names::snake_ident(&names::operation_words(
            &op.name,
            openapi.as_ref().and_then(|o| o.operation_id.as_deref()),
            self.vocabulary,
        ));
        let type_prefix = names::camel_ident(&fn_name);
        let declared: Vec<&ConsumedParam> =
            valid(&resource.input_parameters).chain(valid(&op.input_parameters)).map(|(_, p)| p).collect();

        let mut params: Vec<Param> = Vec::new();
        let mut fixed = Vec::new();
        let mut rust_names = BTreeSet::new();
        let mut add = |params: &mut Vec<Param>, mut param: Param| -> usize {
            param.rust_name = names::unique(param.rust_name, &mut rust_names);
            params.push(param);
            params.len() - 1
        };

        // Path parameters, in template order.
        let path_template = normalise_path(&resource.path);
        let path = path_parts(&path_template, |name| {
            let declared_param = declared.iter().find(|p| p.name.eq_ignore_ascii_case(name));
            match params.iter().position(|p| p.name.eq_ignore_ascii_case(name)) {
                Some(index) => index,
                None => {
                    let ty = self.param_type(declared_param.copied(), openapi.as_ref(), name);
                    add(&mut params, Param {
                        name: name.to_string(),
                        rust_name: names::snake_ident(name),
                        location: ParamLocation::Path,
                        ty,
                        required: true,
                        description: declared_param.and_then(|p| p.description.clone()).or_else(|| openapi_param_doc(openapi.as_ref(), name)),
                        json_type: declared_param.and_then(|p| p.kind.clone()),
                    })
                }
            }
        });

        // Declared non-path parameters.
        let mut body = Body::None;
        let mut later: Vec<Param> = Vec::new();
        for p in &declared {
            let location = match p.location.as_deref().unwrap_or("query") {
                "path" => continue,
                "query" => ParamLocation::Query,
                "header" => ParamLocation::Header,
                "cookie" => ParamLocation::Cookie,
                "body" if p.name == "body" => ParamLocation::Body,
                "body" => ParamLocation::BodyField,
                _ => continue,
            };
            if let Some(value) = p.value.as_ref().and_then(|v| yaml_text(Some(v))) {
                fixed.push(FixedParam { name: p.name.clone(), location, value: spec_value(&value, self.binds) });
                continue;
            }
            let ty = if location == ParamLocation::Body {
                match openapi.as_ref().and_then(|o| o.request_body.as_ref()) {
                    Some(request) => self.types.type_for(&request.schema, &format!("{type_prefix}Body")),
                    None => declared_type(p.kind.as_deref()).unwrap_or(TypeRef::Json),
                }
            } else {
                self.param_type(Some(p), openapi.as_ref(), &p.name)
            };
            later.push(Param {
                name: p.name.clone(),
                rust_name: names::snake_ident(&p.name),
                location,
                ty,
                required: p.required.unwrap_or(false),
                description: p.description.clone(),
                json_type: p.kind.clone(),
            });
        }

        // Placeholders of a JSON body template.
        let template = op.body.as_ref().and_then(|b| yaml_text(Some(b)));
        let mut template_parts = Vec::new();
        if let Some(template) = &template {
            for (part, quoted) in split_json_template(template) {
                match part {
                    Piece::Text(text) => template_parts.push(TemplatePart::Text(text)),
                    Piece::Var(name) => {
                        let existing = later.iter().position(|p| p.name == name);
                        let index = existing.unwrap_or_else(|| {
                            later.push(Param {
                                name: name.clone(),
                                rust_name: names::snake_ident(&name),
                                location: ParamLocation::Template,
                                ty: if quoted { TypeRef::String } else { TypeRef::Json },
                                required: false,
                                description: None,
                                json_type: None,
                            });
                            later.len() - 1
                        });
                        // Indices are fixed up once `later` is appended to `params`.
                        template_parts.push(if quoted { TemplatePart::Quoted(index) } else { TemplatePart::Raw(index) });
                    }
                }
            }
        }

        // Required before optional; stable otherwise.
        let mut order: Vec<usize> = (0..later.len()).collect();
        order.sort_by_key(|&i| !later[i].required);
        let mut new_index = vec![0; later.len()];
        let mut slots: Vec<Option<Param>> = later.into_iter().map(Some).collect();
        for i in order {
            if let Some(param) = slots[i].take() {
                new_index[i] = add(&mut params, param);
            }
        }
        if template.is_some() {
            body = Body::Template(
                template_parts
                    .into_iter()
                    .map(|part| match part {
                        TemplatePart::Quoted(i) => TemplatePart::Quoted(new_index[i]),
                        TemplatePart::Raw(i) => TemplatePart::Raw(new_index[i]),
                        text => text,
                    })
                    .collect(),
            );
        } else if let Some(index) = params.iter().position(|p| p.location == ParamLocation::Body) {
            body = Body::Whole(index);
        } else if params.iter().any(|p| p.location == ParamLocation::BodyField) {
            body = Body::Fields;
        }

        let success = openapi.as_ref().and_then(|o| o.responses.iter().find(|r| r.status.starts_with('2')));
        let response = match success.and_then(|r| r.schema.as_ref()) {
            Some(schema) => self.types.type_for(schema, &format!("{type_prefix}Response")),
            None => TypeRef::Json,
        };
        let error_body = openapi
            .as_ref()
            .and_then(|o| o.responses.iter().find(|r| !r.status.starts_with('2') && r.schema.is_some()))
            .and_then(|r| r.schema.as_ref())
            .map(|schema| self.types.type_for(schema, &format!("{type_prefix}Error")));

        Operation {
            name: op.name.clone(),
            fn_name,
            description: op.description.clone().or_else(|| op.label.clone()).or_else(|| openapi.as_ref().and_then(|o| o.summary.clone())),
            method,
            path_template,
            path,
            params,
            fixed,
            body,
            response,
            response_body: response_body(op),
            error_body,
            output: output(&op.output_parameters),
            operation_id: openapi.and_then(|o| o.operation_id),
            span,
        }
    }

    /// A parameter's type: declared `type`, else the OpenAPI parameter's schema, else string.
    fn param_type(&mut self, declared: Option<&ConsumedParam>, openapi: Option<&OaOperation>, name: &str) -> TypeRef {
        if let Some(ty) = declared.and_then(|p| declared_type(p.kind.as_deref())) {
            return ty;
        }
        let schema = openapi.and_then(|o| o.parameters.iter().find(|p| p.name.eq_ignore_ascii_case(name))).map(|p| &p.schema);
        match schema.map(|s| self.types.type_for(s, "Param")) {
            Some(ty @ (TypeRef::String | TypeRef::Integer | TypeRef::Number | TypeRef::Boolean)) => ty,
            Some(_) => TypeRef::Json,
            None => TypeRef::String,
        }
    }
}

fn openapi_param_doc(openapi: Option<&OaOperation>, name: &str) -> Option<String> {
    openapi?.parameters.iter().find(|p| p.name.eq_ignore_ascii_case(name))?.description.clone()
}

/// The Rust-side type of a declared `type:`.
fn declared_type(kind: Option<&str>) -> Option<TypeRef> {
    Some(match kind? {
        "string" => TypeRef::String,
        "integer" => TypeRef::Integer,
        "number" => TypeRef::Number,
        "boolean" => TypeRef::Boolean,
        "array" | "object" => TypeRef::Json,
        _ => return None,
    })
}

/// A `{name}` path template as text and parameters; `param` gives the index (into the
/// operation's params) of each placeholder's parameter, adding it when new.
pub fn path_parts(template: &str, mut param: impl FnMut(&str) -> usize) -> Vec<PathPart> {
    let mut path = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        if open > 0 {
            path.push(PathPart::Text(rest[..open].to_string()));
        }
        path.push(PathPart::Param(param(&rest[open + 1..open + close])));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        path.push(PathPart::Text(rest.to_string()));
    }
    path
}

/// An operationId or operation name compared ignoring case and separators (`getItem7`,
/// `get-item-7` and `getitem7` are all `getitem7`).
fn squashed(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Every OpenAPI operation with an operationId, by [`squashed`] id; the first in document order
/// wins, as a scan would find it. Built once per build: scanning every document for each
/// consumed operation was quadratic (2 s of 5 s at 5,000 operations).
fn operations_by_id(openapi: &[OpenApiDoc]) -> HashMap<String, &OaOperation> {
    let mut ids = HashMap::new();
    for operation in openapi.iter().flat_map(|doc| &doc.operations) {
        if let Some(id) = &operation.operation_id {
            ids.entry(squashed(id)).or_insert(operation);
        }
    }
    ids
}

/// `/ships/{{imo}}` → `/ships/{imo}`.
pub fn normalise_path(path: &str) -> String {
    path.replace("{{", "{").replace("}}", "}").replace("{ ", "{").replace(" }", "}")
}

/// A scalar YAML value as text (strings, numbers, booleans).
fn yaml_text(value: Option<&serde_yaml::Value>) -> Option<String> {
    match value? {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Splits a JSON body template into pieces, marking placeholders that sit inside a JSON string.
pub fn split_json_template(template: &str) -> Vec<(Piece, bool)> {
    let mut out = Vec::new();
    let mut in_string = false;
    for piece in naftiko::mustache(template) {
        match &piece {
            Piece::Text(text) => {
                let mut escaped = false;
                for c in text.chars() {
                    match c {
                        '\\' if in_string => escaped = !escaped,
                        '"' if !escaped => {
                            in_string = !in_string;
                        }
                        _ => escaped = false,
                    }
                    if c != '\\' {
                        escaped = false;
                    }
                }
                out.push((piece, false));
            }
            Piece::Var(_) => out.push((piece, in_string)),
        }
    }
    out
}

/// `outputRawFormat: binary` (with `outputMediaType`, `maxBinarySize`) → bytes; else JSON.
/// An invalid size was reported by validation and reads as the default.
fn response_body(op: &ConsumedOperation) -> ResponseBody {
    if op.output_raw_format.as_deref() != Some("binary") {
        return ResponseBody::Json;
    }
    ResponseBody::Binary(BinaryBody {
        media_type: op.output_media_type.clone(),
        max_bytes: op.max_binary_size.as_deref().and_then(parse_binary_size).unwrap_or(DEFAULT_MAX_BINARY_BYTES),
    })
}

/// A consumed operation's `outputParameters` → what its client method returns.
fn output(params: &naftiko::List<OutputParam>) -> Output {
    let list: Vec<&OutputParam> = valid(params).map(|(_, p)| p).collect();
    let is_whole = |p: &OutputParam| {
        let path = p.mapping.clone().or_else(|| yaml_text(p.value.as_ref()));
        p.properties.is_none() && p.items.is_none() && matches!(path.as_deref(), None | Some("$") | Some("$."))
    };
    if list.is_empty() || (list.len() == 1 && is_whole(list[0])) {
        return Output::Body;
    }
    Output::Shaped(Shape::Nested {
        mapping: None,
        fields: list
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone().unwrap_or_else(|| format!("output{i}")), shape(p)))
            .collect(),
    })
}

/// One output parameter → a [`Shape`]. `$.` and `$` mean "the current value".
pub fn shape(param: &OutputParam) -> Shape {
    let path = param.mapping.clone().or_else(|| yaml_text(param.value.as_ref()).filter(|v| v.starts_with('$')));
    let path = path.filter(|p| p != "$." && p != "$").map(|p| naftiko::normalize_jsonpath(&p));
    if let Some(properties) = &param.properties {
        return Shape::Nested { mapping: path, fields: properties.iter().map(|(k, v)| (k.clone(), shape(v))).collect() };
    }
    if let Some(items) = &param.items {
        let item = match items {
            naftiko::OutputItems::One(item) => shape(item),
            naftiko::OutputItems::Fields(fields) => Shape::Nested {
                mapping: None,
                fields: fields.iter().map(|f| (f.name.clone().unwrap_or_default(), shape(f))).collect(),
            },
        };
        return Shape::Array { mapping: path, item: Box::new(item) };
    }
    if path.is_none()
        && let Some(constant) = param.value.as_ref().filter(|v| yaml_text(Some(v)).is_none_or(|t| !t.starts_with('$')))
    {
        return Shape::Const(serde_json::to_value(constant).unwrap_or_default());
    }
    Shape::Path(path)
}
