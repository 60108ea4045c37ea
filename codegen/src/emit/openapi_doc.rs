//! OpenAPI 3.1 document of the exposed REST surface: paths, methods, operationIds,
//! parameters and request bodies with their schemas, success and error responses (one shared
//! `Error` schema), inbound security. Built from the same [`routes`] the REST emitter serves,
//! written as `openapi.json` beside the generated crate and served at `GET /openapi.json`.

use serde_json::{Map, Value, json};

use crate::emit::rest::{RestRoute, routes};
use crate::ir::expose::{InboundAuth, InputLocation, type_schema};
use crate::ir::{Ir, names};

/// Methods that carry no request body: their body-field arguments are query parameters.
const BODILESS: [&str; 5] = ["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"];

/// The document as pretty, deterministic JSON (with a final newline).
pub fn openapi_json(ir: &Ir) -> String {
    let mut text = serde_json::to_string_pretty(&openapi_document(ir)).unwrap_or_default();
    text.push('\n');
    text
}

/// The OpenAPI 3.1 document of every REST adapter of `ir`.
pub fn openapi_document(ir: &Ir) -> Value {
    let routes = routes(ir);
    let auth = ir.rest.iter().find_map(|a| a.auth.as_ref());

    let mut info = Map::new();
    info.insert("title".into(), json!(ir.title));
    if let Some(description) = &ir.description {
        info.insert("description".into(), json!(description));
    }
    info.insert("version".into(), json!("0.1.0"));

    let servers: Vec<Value> = ir
        .rest
        .iter()
        .map(|a| {
            let mut server = Map::new();
            server.insert("url".into(), json!(format!("http://127.0.0.1:{}", a.port)));
            server.insert("description".into(), json!(format!("`{}` on its default port", a.namespace)));
            Value::Object(server)
        })
        .collect();
    let tags: Vec<Value> = ir
        .rest
        .iter()
        .map(|a| {
            let mut tag = Map::new();
            tag.insert("name".into(), json!(a.namespace));
            if let Some(description) = &a.description {
                tag.insert("description".into(), json!(description));
            }
            Value::Object(tag)
        })
        .collect();

    let mut paths = Map::new();
    for route in &routes {
        let item = paths.entry(route.path.clone()).or_insert_with(|| Value::Object(Map::new()));
        if let Some(item) = item.as_object_mut() {
            item.insert(route.method.to_ascii_lowercase(), operation(route, auth.is_some(), ir.pass_through(route.exposed).is_some()));
        }
    }

    let mut doc = Map::new();
    doc.insert("openapi".into(), json!("3.1.0"));
    doc.insert("info".into(), Value::Object(info));
    doc.insert("servers".into(), Value::Array(servers));
    if auth.is_some() {
        doc.insert("security".into(), json!([{ "inboundAuth": [] }]));
    }
    doc.insert("tags".into(), Value::Array(tags));
    doc.insert("paths".into(), Value::Object(paths));
    doc.insert("components".into(), components(&routes, auth));
    Value::Object(doc)
}

/// One operation object; `passes_through` answers with the upstream's own 2xx status.
fn operation(route: &RestRoute<'_>, authenticated: bool, passes_through: bool) -> Value {
    let exposed = route.exposed;
    let bodiless = BODILESS.contains(&route.method.as_str());
    let path_vars: Vec<&str> = route.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();

    let mut parameters = Vec::new();
    let mut body_fields = Map::new();
    let mut body_required = Vec::new();
    let mut whole_body = None;
    for input in &exposed.inputs {
        let mut schema = type_schema(&input.ty);
        let location = match input.location {
            InputLocation::Path if path_vars.contains(&input.name.as_str()) => "path",
            InputLocation::Path | InputLocation::Query => "query",
            InputLocation::Header => "header",
            InputLocation::BodyField if bodiless => "query",
            InputLocation::BodyField => {
                if let (Some(description), Some(object)) = (&input.description, schema.as_object_mut()) {
                    object.insert("description".into(), json!(description));
                }
                body_fields.insert(input.name.clone(), schema);
                if input.required {
                    body_required.push(json!(input.name));
                }
                continue;
            }
            InputLocation::Body => {
                whole_body = Some(input);
                continue;
            }
        };
        let mut parameter = Map::new();
        parameter.insert("name".into(), json!(input.name));
        parameter.insert("in".into(), json!(location));
        if let Some(description) = &input.description {
            parameter.insert("description".into(), json!(description));
        }
        parameter.insert("required".into(), json!(input.required || location == "path"));
        parameter.insert("schema".into(), schema);
        parameters.push(Value::Object(parameter));
    }

    let request_body = match whole_body {
        Some(input) => {
            let mut body = Map::new();
            if let Some(description) = &input.description {
                body.insert("description".into(), json!(description));
            }
            body.insert("required".into(), json!(input.required));
            body.insert("content".into(), json!({ "application/json": { "schema": type_schema(&input.ty) } }));
            Some(Value::Object(body))
        }
        None if !body_fields.is_empty() => {
            let mut schema = Map::new();
            schema.insert("type".into(), json!("object"));
            schema.insert("properties".into(), Value::Object(body_fields));
            if !body_required.is_empty() {
                schema.insert("required".into(), Value::Array(body_required.clone()));
            }
            Some(json!({
                "required": !body_required.is_empty(),
                "content": { "application/json": { "schema": schema } },
            }))
        }
        None => None,
    };

    let mut responses = Map::new();
    match &route.exposed.binary {
        Some(binary) => {
            let media_type = binary.media_type.as_deref().unwrap_or("application/octet-stream");
            let description = binary.description.as_deref().unwrap_or("The upstream body's bytes.");
            responses.insert(
                binary.status.to_string(),
                json!({
                    "description": description,
                    "content": { media_type: { "schema": { "type": "string", "format": "binary" } } },
                }),
            );
        }
        None if passes_through => {
            responses.insert(
                "2XX".into(),
                json!({
                    "description": "The upstream's success status (such as `202 Accepted`) and JSON body, passed on unchanged.",
                    "content": { "application/json": { "schema": {} } },
                }),
            );
        }
        None => {
            responses.insert(
                "200".into(),
                json!({
                    "description": "The operation's JSON result.",
                    "content": { "application/json": { "schema": {} } },
                }),
            );
        }
    }
    let mut errors = vec![("400", "BadRequest")];
    if authenticated {
        errors.push(("401", "Unauthorized"));
    }
    errors.push(("403", "Forbidden"));
    errors.push(("404", "NotFound"));
    if request_body.is_some() {
        errors.push(("413", "PayloadTooLarge"));
    }
    errors.extend([("422", "UnprocessableEntity"), ("502", "BadGateway"), ("504", "GatewayTimeout")]);
    for (status, name) in errors {
        responses.insert(status.into(), json!({ "$ref": format!("#/components/responses/{name}") }));
    }

    let mut op = Map::new();
    op.insert("tags".into(), json!([route.adapter.namespace]));
    let summary = route.route.name.clone().unwrap_or_else(|| exposed.name.clone());
    op.insert("summary".into(), json!(summary));
    if let Some(description) = route.route.description.as_ref().or(exposed.description.as_ref()) {
        op.insert("description".into(), json!(description));
    }
    op.insert("operationId".into(), json!(operation_id(&exposed.fn_name)));
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = request_body {
        op.insert("requestBody".into(), body);
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// `list_database_backups` → `listDatabaseBackups`.
fn operation_id(fn_name: &str) -> String {
    let camel = names::camel_ident(fn_name);
    let mut chars = camel.chars();
    chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn components(routes: &[RestRoute<'_>], auth: Option<&InboundAuth>) -> Value {
    let error_schema = json!({
        "type": "object",
        "description": "Every error the server itself answers. Upstream 4xx errors pass the upstream's JSON body through unchanged.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": { "type": "string", "description": "Machine-readable error code.", "examples": ["invalid_argument"] },
                    "message": { "type": "string", "description": "One-line explanation." },
                    "field": { "type": "string", "description": "The argument at fault (400/422)." },
                    "upstreamStatus": { "type": "integer", "description": "The upstream HTTP status (502)." }
                }
            }
        }
    });
    let has_body = routes.iter().any(|r| {
        r.exposed.inputs.iter().any(|i| {
            i.location == InputLocation::Body || (i.location == InputLocation::BodyField && !BODILESS.contains(&r.method.as_str()))
        })
    });
    let mut responses = Map::new();
    let mut add = |name: &str, description: &str| {
        responses.insert(
            name.into(),
            json!({
                "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            }),
        );
    };
    add("BadRequest", "The request cannot be read (malformed JSON or query string).");
    if auth.is_some() {
        add("Unauthorized", "Missing or invalid credentials.");
    }
    add("Forbidden", "The Host or Origin header is not allowed (DNS-rebinding protection).");
    add("NotFound", "Unknown route, or the upstream's 404 passed through.");
    if has_body {
        add("PayloadTooLarge", "The request body exceeds the server's limit.");
    }
    add("UnprocessableEntity", "An argument is missing or has the wrong type; `field` names it.");
    add("BadGateway", "The upstream failed (5xx, unreachable, or an undecodable response).");
    add("GatewayTimeout", "The upstream did not answer in time.");

    let mut components = Map::new();
    components.insert("schemas".into(), json!({ "Error": error_schema }));
    components.insert("responses".into(), Value::Object(responses));
    if let Some(auth) = auth {
        let scheme = match auth {
            InboundAuth::Bearer { .. } => json!({ "type": "http", "scheme": "bearer" }),
            InboundAuth::Basic { .. } => json!({ "type": "http", "scheme": "basic" }),
            InboundAuth::ApiKey { name, in_query, .. } => {
                json!({ "type": "apiKey", "name": name, "in": if *in_query { "query" } else { "header" } })
            }
        };
        components.insert("securitySchemes".into(), json!({ "inboundAuth": scheme }));
    }
    Value::Object(components)
}
