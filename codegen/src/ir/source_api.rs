//! Clients for Arazzo source descriptions: when no capability is given, each OpenAPI document an
//! Arazzo document names becomes one [`ConsumedApi`] with a typed method per operation, so the
//! workflows call typed clients as they would a capability's.
//!
//! Such a client has no credentials of its own (a source description carries no secrets): steps
//! send their own `Authorization` headers, as Arazzo documents do.

use std::collections::BTreeSet;

use crate::parse::arazzo::LoadedArazzo;
use crate::ir::names::{self, Vocabulary};
use crate::ir::types::TypeSpace;
use crate::ir::*;
use crate::parse::openapi::{self as oa, OaOperation, OpenApiDoc};

/// One client per OpenAPI document named by a source description (first name wins when two
/// sources name the same document). `modules` holds the module names already taken.
///
/// A client holds the operations the workflows call (and the types they reach), unless
/// `all_operations` asks for every operation of the document (`capgen generate --all-operations`):
/// real documents describe hundreds of operations a workflow never calls.
pub fn lower(
    arazzo: &[LoadedArazzo],
    openapi: &[OpenApiDoc],
    vocabulary: &Vocabulary,
    types: &mut TypeSpace,
    modules: &mut BTreeSet<String>,
    all_operations: bool,
) -> Vec<ConsumedApi> {
    let mut seen = BTreeSet::new();
    let mut apis = Vec::new();
    for loaded in arazzo {
        for (name, index) in &loaded.sources {
            let Some(index) = *index else { continue };
            let Some(doc) = openapi.get(index) else { continue };
            if !seen.insert(index) {
                continue;
            }
            let called = (!all_operations).then(|| called_operations(arazzo, index, doc));
            let mut api = api(name, index, doc, called.as_ref(), vocabulary, types);
            api.module = names::unique(api.module, modules);
            apis.push(api);
        }
    }
    apis
}

/// Indexes (into `doc.operations`) of the operations that a step of any workflow calls in the
/// document loaded at `index`, however the step names it (`operationId`, with or without
/// `$sourceDescriptions.<name>.` or `<name>.`, or `operationPath`).
fn called_operations(arazzo: &[LoadedArazzo], index: usize, doc: &OpenApiDoc) -> BTreeSet<usize> {
    let position = |op: &OaOperation| doc.operations.iter().position(|o| std::ptr::eq(o, op));
    let mut called = BTreeSet::new();
    for loaded in arazzo {
        let names: Vec<&str> = loaded.sources.iter().filter(|(_, i)| *i == Some(index)).map(|(n, _)| n.as_str()).collect();
        if names.is_empty() {
            continue;
        }
        for step in loaded.doc.workflows.iter().flat_map(|w| &w.steps) {
            let found = if let Some(id) = &step.operation_id {
                match crate::expr::parse_expression(id) {
                    Ok(crate::expr::Expr::SourceDescription { source, reference }) if names.contains(&source.as_str()) => {
                        doc.find_by_operation_id(&reference)
                    }
                    Ok(_) => None,
                    Err(_) => doc.find_by_operation_id(id).or_else(|| {
                        let (source, rest) = id.split_once('.')?;
                        names.contains(&source).then(|| doc.find_by_operation_id(rest)).flatten()
                    }),
                }
            } else if let Some(path) = &step.operation_path {
                crate::expr::parse_operation_path(path)
                    .ok()
                    .filter(|p| names.contains(&p.source.as_str()))
                    .and_then(|p| p.path_and_method().and_then(|(route, method)| doc.find_by_method_path(method, route)))
            } else {
                None
            };
            called.extend(found.and_then(position));
        }
    }
    called
}

fn api(
    source: &str,
    index: usize,
    doc: &OpenApiDoc,
    called: Option<&BTreeSet<usize>>,
    vocabulary: &Vocabulary,
    types: &mut TypeSpace,
) -> ConsumedApi {
    let mut fn_names = BTreeSet::new();
    let operations = doc
        .operations
        .iter()
        .enumerate()
        .filter(|(i, _)| called.is_none_or(|c| c.contains(i)))
        .map(|(_, op)| {
            let mut lowered = operation(doc, op, vocabulary, types);
            lowered.fn_name = names::unique(lowered.fn_name, &mut fn_names);
            lowered
        })
        .collect();
    ConsumedApi {
        namespace: source.to_string(),
        module: names::snake_ident(source),
        description: Some(format!("{} (OpenAPI {}).", doc.title, doc.version)),
        base_uri: doc.servers.first().cloned().unwrap_or_default(),
        base_uri_env: format!("{}_BASE_URI", names::shouty(source)),
        auth: Auth::None,
        headers: Vec::new(),
        operations,
        source_document: Some(index),
        span: doc.file.span(""),
    }
}

fn operation(doc: &OpenApiDoc, op: &OaOperation, vocabulary: &Vocabulary, types: &mut TypeSpace) -> Operation {
    let name = op.operation_id.clone().unwrap_or_else(|| format!("{} {}", op.method, op.path));
    let words = match &op.operation_id {
        Some(id) => names::operation_words(id, Some(id), vocabulary),
        None => format!("{} {}", op.method.to_ascii_lowercase(), op.path.replace(['{', '}'], "")),
    };
    let fn_name = names::snake_ident(&words);
    let type_prefix = names::camel_ident(&fn_name);

    let mut params: Vec<Param> = Vec::new();
    let mut rust_names = BTreeSet::new();
    let mut add = |params: &mut Vec<Param>, p: &oa::OaParameter, location: ParamLocation, types: &mut TypeSpace| -> usize {
        let ty = match types.type_for(&p.schema, "Param") {
            ty @ (TypeRef::String | TypeRef::Integer | TypeRef::Number | TypeRef::Boolean) => ty,
            _ => TypeRef::Json,
        };
        params.push(Param {
            name: p.name.clone(),
            rust_name: names::unique(names::snake_ident(&p.name), &mut rust_names),
            location,
            ty,
            required: p.required || location == ParamLocation::Path,
            description: p.description.clone(),
            json_type: json_type(&p.schema),
        });
        params.len() - 1
    };

    // Path parameters in template order; a placeholder the document does not declare is a string.
    let path_template = op.path.clone();
    let path = crate::ir::build::path_parts(&path_template, |placeholder| {
        if let Some(index) = params.iter().position(|p| p.name == placeholder) {
            return index;
        }
        let declared = op.parameters.iter().find(|p| p.location == oa::ParamLocation::Path && p.name == placeholder).cloned();
        let declared = declared.unwrap_or_else(|| oa::OaParameter {
            name: placeholder.to_string(),
            location: oa::ParamLocation::Path,
            required: true,
            description: None,
            schema: oa::Schema::String(Default::default()),
        });
        add(&mut params, &declared, ParamLocation::Path, types)
    });

    // Required parameters before optional ones, each group in document order.
    let others: Vec<&oa::OaParameter> = op.parameters.iter().filter(|p| p.location != oa::ParamLocation::Path).collect();
    for required in [true, false] {
        for p in others.iter().filter(|p| p.required == required) {
            let location = match p.location {
                oa::ParamLocation::Query => ParamLocation::Query,
                oa::ParamLocation::Header => ParamLocation::Header,
                oa::ParamLocation::Cookie => ParamLocation::Cookie,
                oa::ParamLocation::Path => continue,
            };
            add(&mut params, p, location, types);
        }
    }

    // A JSON request body is one typed argument; other media types are sent by workflow steps.
    let mut body = Body::None;
    let mut description = op.summary.clone().or_else(|| op.description.clone());
    if let Some(request) = &op.request_body {
        if request.content_type.contains("json") {
            let ty = types.type_for(&request.schema, &format!("{type_prefix}Body"));
            params.push(Param {
                name: "body".to_string(),
                rust_name: names::unique("body".to_string(), &mut rust_names),
                location: ParamLocation::Body,
                ty,
                required: request.required,
                description: Some("The request body.".to_string()),
                json_type: json_type(&request.schema),
            });
            body = Body::Whole(params.len() - 1);
        } else {
            let note = format!("The `{}` request body is not an argument here; workflow steps send it.", request.content_type);
            description = Some(match description {
                Some(text) => format!("{text}\n\n{note}"),
                None => note,
            });
        }
    }

    let success = op.responses.iter().find(|r| r.status.starts_with('2') && r.content_type.as_deref().is_none_or(|c| c.contains("json")));
    let response = match success.and_then(|r| r.schema.as_ref()) {
        Some(schema) => types.type_for(schema, &format!("{type_prefix}Response")),
        None => TypeRef::Json,
    };
    let error_body = op
        .responses
        .iter()
        .find(|r| !r.status.starts_with('2') && r.schema.is_some() && r.content_type.as_deref().is_none_or(|c| c.contains("json")))
        .and_then(|r| r.schema.as_ref())
        .map(|schema| types.type_for(schema, &format!("{type_prefix}Error")));

    Operation {
        name,
        fn_name,
        description,
        method: op.method.to_ascii_uppercase(),
        path_template,
        path,
        params,
        fixed: Vec::new(),
        body,
        response,
        error_body,
        response_body: ResponseBody::Json,
        output: Output::Body,
        operation_id: op.operation_id.clone(),
        span: doc.file.span(&op.pointer),
    }
}

/// The JSON type a schema declares, for parameters typed as `serde_json::Value`.
fn json_type(schema: &oa::Schema) -> Option<String> {
    Some(
        match schema {
            oa::Schema::Object(_) => "object",
            oa::Schema::Array(_) => "array",
            oa::Schema::String(_) => "string",
            oa::Schema::Integer { .. } => "integer",
            oa::Schema::Number { .. } => "number",
            oa::Schema::Boolean => "boolean",
            _ => return None,
        }
        .to_string(),
    )
}
