//! REST emitter: an axum router with one small handler per exposed REST route. Each handler
//! reads the operation's arguments with `capgen_runtime::server::RestRequest` (path, query,
//! headers, JSON body, coerced to the declared types, as its `ARGS` constant describes) and
//! calls `operations::<fn>`; every failure is a `capgen_runtime::server::ApiError` answered as
//! JSON. The module imports the axum and runtime names the handlers use, so each handler is a
//! few lines of ordinary axum code.
//!
//! [`routes`] decides, once, the routes both this emitter and the OpenAPI document
//! ([`crate::emit::openapi_doc`]) describe.

use std::collections::{BTreeSet, HashMap};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::client::{doc_lines, raw_string, secret_tokens};
use crate::ir::expose::{Exposed, InboundAuth, InputLocation, RestAdapter, Route};
use crate::ir::{Ir, TypeRef};

/// Paths the runtime serves itself; spec routes on them are left out.
const RESERVED: [&str; 2] = ["/healthz", "/openapi.json"];
/// Methods axum routes.
const METHODS: [&str; 8] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"];

/// One served route.
#[derive(Clone, Debug)]
pub struct RestRoute<'a> {
    pub adapter: &'a RestAdapter,
    pub route: &'a Route,
    pub exposed: &'a Exposed,
    /// Uppercase method.
    pub method: String,
    /// The path in axum 0.8 / OpenAPI syntax, each `{placeholder}` spelled as its argument.
    pub path: String,
}

/// Every route of every REST adapter, in spec order, with placeholders renamed to their
/// arguments' names. Routes axum could not serve (unknown method, reserved or duplicate
/// method + path, invalid placeholders) are left out.
pub fn routes(ir: &Ir) -> Vec<RestRoute<'_>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for adapter in &ir.rest {
        for route in &adapter.routes {
            let Some(exposed) = ir.exposed.get(route.exposed) else { continue };
            let method = route.method.to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let Some(path) = axum_path(&route.path, exposed) else { continue };
            if RESERVED.contains(&path.as_str()) {
                continue;
            }
            // `/a/{x}` and `/a/{y}` are the same route to a router.
            let shape: Vec<&str> = path.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect();
            if !seen.insert((method.clone(), shape.join("/"))) {
                continue;
            }
            out.push(RestRoute { adapter, route, exposed, method, path });
        }
    }
    out
}

/// `path` with a leading `/` and each placeholder named exactly as its argument; `None` when a
/// placeholder is not a whole segment or names no path argument.
fn axum_path(path: &str, exposed: &Exposed) -> Option<String> {
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    let mut segments = Vec::new();
    for segment in path.split('/') {
        if segment.contains(['{', '}']) {
            let name = segment.strip_prefix('{')?.strip_suffix('}')?;
            if name.is_empty() || name.contains(['{', '}', '*']) {
                return None;
            }
            let input = exposed
                .inputs
                .iter()
                .filter(|i| i.location == InputLocation::Path)
                .find(|i| i.name == name)
                .or_else(|| exposed.inputs.iter().filter(|i| i.location == InputLocation::Path).find(|i| i.name.eq_ignore_ascii_case(name)))?;
            segments.push(format!("{{{}}}", input.name));
        } else {
            segments.push(segment.to_string());
        }
    }
    Some(segments.join("/"))
}

/// The argument kind the runtime coerces text to, as `Kind::…` (the modules that use it import
/// `capgen_runtime::server::Kind`).
pub fn kind_tokens(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::String => quote!(Kind::String),
        TypeRef::Integer => quote!(Kind::Integer),
        TypeRef::Number => quote!(Kind::Number),
        TypeRef::Boolean => quote!(Kind::Boolean),
        TypeRef::Option(inner) => kind_tokens(inner),
        _ => quote!(Kind::Json),
    }
}

/// The `ArgSpec` list of an exposed unit: where a REST caller passes each argument
/// (`ArgSpec::path("id", Kind::String)`, `ArgSpec::query("limit", Kind::Integer).optional()`).
fn arg_specs(exposed: &Exposed) -> TokenStream {
    let specs = exposed.inputs.iter().map(|input| {
        let name = &input.name;
        let constructor = match input.location {
            InputLocation::Path => quote!(path),
            InputLocation::Query => quote!(query),
            InputLocation::Header => quote!(header),
            InputLocation::Body => quote!(body),
            InputLocation::BodyField => quote!(body_field),
        };
        let kind = kind_tokens(&input.ty);
        let optional = (!input.required).then(|| quote!(.optional()));
        quote! { ArgSpec::#constructor(#name, #kind) #optional }
    });
    quote! { &[#(#specs),*] }
}

/// The `rest` module.
/// The `rest` module, embedding `openapi_json` (the document [`crate::emit::openapi_doc`] wrote).
pub fn emit_rest(ir: &Ir, openapi_json: &str) -> TokenStream {
    let routes = routes(ir);
    let port = proc_macro2::Literal::u16_unsuffixed(ir.rest.first().map_or(8080, |a| a.port));
    let openapi = raw_string(openapi_json);

    // Module docs: each adapter, and a table of routes.
    let mut docs = vec![Some("REST adapter: an axum router with one handler per exposed REST operation.".to_string())];
    for adapter in &ir.rest {
        docs.push(Some(String::new()));
        docs.push(Some(format!("`{}` (default port {}).", adapter.namespace, adapter.port)));
        docs.extend([adapter.description.clone()]);
    }
    docs.push(Some(String::new()));
    docs.push(Some("| Method | Path | Operation |".to_string()));
    docs.push(Some("|---|---|---|".to_string()));
    for r in &routes {
        docs.push(Some(format!("| `{}` | `{}` | [`operations::{}`] |", r.method, r.path, r.exposed.fn_name)));
    }
    docs.push(Some(String::new()));
    docs.push(Some("Also served: `GET /healthz` and `GET /openapi.json` ([`OPENAPI_JSON`]).".to_string()));
    let module_docs = docs.into_iter().flatten().flat_map(|text| {
        let lines: Vec<String> = if text.is_empty() { vec![String::new()] } else { text.lines().map(str::to_owned).collect() };
        lines
    });
    let module_docs = module_docs.map(|line| {
        let line = if line.is_empty() { line } else { format!(" {line}") };
        quote! { #![doc = #line] }
    });

    // One `.route(path, method_router)` per distinct path, in order of first appearance.
    let mut paths: Vec<(&str, Vec<&RestRoute>)> = Vec::new();
    let mut path_index: HashMap<&str, usize> = HashMap::new();
    for route in &routes {
        match path_index.get(route.path.as_str()) {
            Some(&index) => paths[index].1.push(route),
            None => {
                path_index.insert(&route.path, paths.len());
                paths.push((&route.path, vec![route]));
            }
        }
    }
    let route_calls = paths.iter().map(|(path, list)| {
        let mut chain = TokenStream::new();
        for (i, route) in list.iter().enumerate() {
            let method = format_ident!("{}", route.method.to_ascii_lowercase());
            let handler = format_ident!("{}", route.exposed.fn_name);
            if i == 0 {
                chain.extend(quote! { routing::#method(#handler) });
            } else {
                chain.extend(quote! { .#method(#handler) });
            }
        }
        quote! { .route(#path, #chain) }
    });

    // One handler (and arguments constant) per route.
    let mut emitted = BTreeSet::new();
    let handlers = routes.iter().filter(|r| emitted.insert(r.exposed.fn_name.clone())).map(|route| emit_handler(route, ir));

    // Names the handlers use, imported only when there are handlers.
    let handler_imports = (!routes.is_empty()).then(|| {
        let kind = routes.iter().any(|r| !r.exposed.inputs.is_empty()).then(|| quote!(Kind,));
        let binary = routes.iter().any(|r| r.exposed.binary.is_some());
        let raw = routes.iter().any(|r| ir.pass_through(r.exposed).is_some());
        let binary_response = binary.then(|| quote!(, binary_response));
        let pass_through = raw.then(|| quote!(, pass_through));
        let response = (binary || raw).then(|| quote! { use ::capgen_runtime::axum::response::Response; });
        let json = routes.iter().any(|r| r.exposed.binary.is_none() && ir.pass_through(r.exposed).is_none()).then(|| quote!(Json,));
        let value = json.is_some().then(|| quote! { use ::serde_json::Value; });
        quote! {
            use ::capgen_runtime::axum::extract::State;
            #response
            use ::capgen_runtime::axum::{#json routing};
            use ::capgen_runtime::server::{ApiError, ArgSpec, #kind RestRequest #binary_response #pass_through};
            #value
            use super::operations;
        }
    });

    let auth = ir.rest.iter().find_map(|a| a.auth.as_ref());
    let config_body = match auth {
        None => quote! { Ok(RestConfig::default()) },
        Some(auth) => {
            let auth = inbound_auth_tokens(auth);
            quote! { Ok(RestConfig::default().with_auth(#auth)) }
        }
    };
    let config_doc = match auth {
        None => quote! {
            #[doc = " The adapter's settings: no inbound authentication, loopback hosts only, 1 MiB bodies."]
        },
        Some(_) => quote! {
            #[doc = " The adapter's settings: the inbound credentials its `authentication` names, read from"]
            #[doc = " `binds` now (a missing variable fails here, naming it), loopback hosts only, 1 MiB bodies."]
        },
    };

    quote! {
        #(#module_docs)*

        use ::capgen_runtime::ConfigError;
        use ::capgen_runtime::axum::Router;
        use ::capgen_runtime::server::RestConfig;
        use super::client::Clients;
        #handler_imports

        #[doc = " Default port of the REST adapter (from the capability)."]
        pub const DEFAULT_PORT: u16 = #port;

        #[doc = " The OpenAPI 3.1 document of this REST surface (also `openapi.json` beside the crate)."]
        pub const OPENAPI_JSON: &str = #openapi;

        #config_doc
        pub fn config_from_env() -> Result<RestConfig, ConfigError> {
            #config_body
        }

        #[doc = " The REST router with the settings of [`config_from_env`]."]
        pub fn router(clients: Clients) -> Result<Router, ConfigError> {
            Ok(router_with(clients, &config_from_env()?))
        }

        #[doc = " The REST router with explicit settings: the routes above, `/healthz`, `/openapi.json`,"]
        #[doc = " JSON 404/405 answers, the body limit, inbound auth and the Host/Origin check."]
        pub fn router_with(clients: Clients, config: &RestConfig) -> Router {
            let api = Router::new()
                #(#route_calls)*
                .with_state(clients);
            ::capgen_runtime::server::rest_app(api, config, OPENAPI_JSON)
        }

        #(#handlers)*
    }
}

/// One handler: its arguments' locations as a constant, read from the request and passed to
/// the operation; the result answered as JSON (or as the upstream answered, for a pass-through
/// operation), any error as an `ApiError`.
fn emit_handler(route: &RestRoute<'_>, ir: &Ir) -> TokenStream {
    let exposed = route.exposed;
    let handler = format_ident!("{}", exposed.fn_name);
    let specs = arg_specs(exposed);
    let mut lines = Vec::new();
    if let Some(description) = route.route.description.clone().or_else(|| exposed.description.clone()) {
        lines.extend([Some(description), Some(String::new())]);
    }
    lines.push(Some(format!("`{} {}` → [`operations::{}`].", route.method, route.path, exposed.fn_name)));
    let doc = doc_lines(&lines);
    if let Some(binary) = &exposed.binary {
        let status = proc_macro2::Literal::u16_unsuffixed(binary.status);
        let media_type = match &binary.media_type {
            Some(media_type) => quote!(Some(#media_type)),
            None => quote!(None),
        };
        return quote! {
            #doc
            async fn #handler(State(clients): State<Clients>, request: RestRequest) -> Result<Response, ApiError> {
                const ARGS: &[ArgSpec] = #specs;
                let args = request.args(ARGS)?;
                Ok(binary_response(#status, #media_type, operations::#handler(&clients, args).await?))
            }
        };
    }
    if ir.pass_through(exposed).is_some() {
        let raw_fn = crate::emit::client::raw_response_fn(&exposed.fn_name);
        return quote! {
            #doc
            async fn #handler(State(clients): State<Clients>, request: RestRequest) -> Result<Response, ApiError> {
                const ARGS: &[ArgSpec] = #specs;
                let args = request.args(ARGS)?;
                Ok(pass_through(operations::#raw_fn(&clients, args).await?)?)
            }
        };
    }
    quote! {
        #doc
        async fn #handler(State(clients): State<Clients>, request: RestRequest) -> Result<Json<Value>, ApiError> {
            const ARGS: &[ArgSpec] = #specs;
            let args = request.args(ARGS)?;
            Ok(Json(operations::#handler(&clients, args).await?))
        }
    }
}

fn inbound_auth_tokens(auth: &InboundAuth) -> TokenStream {
    match auth {
        InboundAuth::Bearer { token } => {
            let token = secret_tokens(token);
            quote! { ::capgen_runtime::server::InboundAuth::Bearer(#token) }
        }
        InboundAuth::ApiKey { name, value, in_query } => {
            let value = secret_tokens(value);
            quote! {
                ::capgen_runtime::server::InboundAuth::ApiKey { name: #name.to_owned(), value: #value, in_query: #in_query }
            }
        }
        InboundAuth::Basic { username, password } => {
            let username = secret_tokens(username);
            let password = secret_tokens(password);
            quote! {
                ::capgen_runtime::server::InboundAuth::Basic { username: #username.expose().to_owned(), password: #password }
            }
        }
    }
}

