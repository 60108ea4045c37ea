//! REST emitter: an axum router with one small handler per exposed REST route. Each handler
//! reads the operation's arguments with `capgen_runtime::server::RestRequest` (path, query,
//! headers, JSON body, coerced to the declared types) and calls `operations::<fn>`; every
//! failure is a `capgen_runtime::server::ApiError` answered as JSON.
//!
//! [`routes`] decides, once, the routes both this emitter and the OpenAPI document
//! ([`crate::emit::openapi_doc`]) describe.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::client::{doc_lines, raw_string, secret_tokens};
use crate::ir::expose::{Exposed, InboundAuth, InputLocation, RestAdapter, Route};
use crate::ir::{Ir, TypeRef, names};

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

/// The argument kind the runtime coerces text to.
pub fn kind_tokens(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::String => quote!(::capgen_runtime::server::Kind::String),
        TypeRef::Integer => quote!(::capgen_runtime::server::Kind::Integer),
        TypeRef::Number => quote!(::capgen_runtime::server::Kind::Number),
        TypeRef::Boolean => quote!(::capgen_runtime::server::Kind::Boolean),
        TypeRef::Option(inner) => kind_tokens(inner),
        _ => quote!(::capgen_runtime::server::Kind::Json),
    }
}

/// The `ArgSpec` list of an exposed unit: where a REST caller passes each argument.
fn arg_specs(exposed: &Exposed) -> TokenStream {
    let specs = exposed.inputs.iter().map(|input| {
        let name = &input.name;
        let location = match input.location {
            InputLocation::Path => quote!(Path),
            InputLocation::Query => quote!(Query),
            InputLocation::Header => quote!(Header),
            InputLocation::Body => quote!(Body),
            InputLocation::BodyField => quote!(BodyField),
        };
        let kind = kind_tokens(&input.ty);
        let required = input.required;
        quote! {
            ::capgen_runtime::server::ArgSpec::new(#name, ::capgen_runtime::server::Location::#location, #kind, #required),
        }
    });
    quote! { &[#(#specs)*] }
}

/// The `rest` module.
pub fn emit_rest(ir: &Ir) -> TokenStream {
    let routes = routes(ir);
    let port = proc_macro2::Literal::u16_unsuffixed(ir.rest.first().map_or(8080, |a| a.port));
    let openapi = raw_string(&crate::emit::openapi_doc::openapi_json(ir));

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
        docs.push(Some(format!("| `{}` | `{}` | [`super::operations::{}`] |", r.method, r.path, r.exposed.fn_name)));
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

    // One `.route(path, method_router)` per distinct path.
    let mut paths: Vec<(&str, Vec<&RestRoute>)> = Vec::new();
    for route in &routes {
        match paths.iter_mut().find(|(p, _)| *p == route.path) {
            Some((_, list)) => list.push(route),
            None => paths.push((&route.path, vec![route])),
        }
    }
    let route_calls = paths.iter().map(|(path, list)| {
        let mut chain = TokenStream::new();
        for (i, route) in list.iter().enumerate() {
            let method = format_ident!("{}", route.method.to_ascii_lowercase());
            let handler = format_ident!("{}", route.exposed.fn_name);
            chain = if i == 0 {
                quote! { ::capgen_runtime::axum::routing::#method(#handler) }
            } else {
                quote! { #chain.#method(#handler) }
            };
        }
        quote! { .route(#path, #chain) }
    });

    // One handler (and arguments constant) per route.
    let mut emitted = BTreeSet::new();
    let handlers = routes.iter().filter(|r| emitted.insert(r.exposed.fn_name.clone())).map(|route| emit_handler(route));

    let auth = ir.rest.iter().find_map(|a| a.auth.as_ref());
    let config_body = match auth {
        None => quote! { Ok(::capgen_runtime::server::RestConfig::default()) },
        Some(auth) => {
            let auth = inbound_auth_tokens(auth);
            quote! { Ok(::capgen_runtime::server::RestConfig::default().with_auth(#auth)) }
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

        #[doc = " Default port of the REST adapter (from the capability)."]
        pub const DEFAULT_PORT: u16 = #port;

        #[doc = " The OpenAPI 3.1 document of this REST surface (also `openapi.json` beside the crate)."]
        pub const OPENAPI_JSON: &str = #openapi;

        #config_doc
        pub fn config_from_env() -> ::std::result::Result<::capgen_runtime::server::RestConfig, ::capgen_runtime::ConfigError> {
            #config_body
        }

        #[doc = " The REST router with the settings of [`config_from_env`]."]
        pub fn router(clients: super::client::Clients) -> ::std::result::Result<::capgen_runtime::axum::Router, ::capgen_runtime::ConfigError> {
            Ok(router_with(clients, &config_from_env()?))
        }

        #[doc = " The REST router with explicit settings: the routes above, `/healthz`, `/openapi.json`,"]
        #[doc = " JSON 404/405 answers, the body limit, inbound auth and the Host/Origin check."]
        pub fn router_with(clients: super::client::Clients, config: &::capgen_runtime::server::RestConfig) -> ::capgen_runtime::axum::Router {
            let api = ::capgen_runtime::axum::Router::new()
                #(#route_calls)*
                .with_state(clients);
            ::capgen_runtime::server::rest_app(api, config, OPENAPI_JSON)
        }

        #(#handlers)*
    }
}

fn emit_handler(route: &RestRoute<'_>) -> TokenStream {
    let exposed = route.exposed;
    let handler = format_ident!("{}", exposed.fn_name);
    let specs_name = format_ident!("{}_ARGS", names::shouty(&exposed.fn_name));
    let specs = arg_specs(exposed);
    let specs_doc = format!(" Where a REST caller passes the arguments of [`super::operations::{}`].", exposed.fn_name);
    let args_type = format_ident!("{}", exposed.args_type);
    let doc = doc_lines(&[
        route.route.description.clone().or_else(|| exposed.description.clone()),
        Some(String::new()),
        Some(format!("`{} {}` → [`super::operations::{}`].", route.method, route.path, exposed.fn_name)),
    ]);
    quote! {
        #[doc = #specs_doc]
        const #specs_name: &[::capgen_runtime::server::ArgSpec] = #specs;

        #doc
        async fn #handler(
            ::capgen_runtime::axum::extract::State(clients): ::capgen_runtime::axum::extract::State<super::client::Clients>,
            request: ::capgen_runtime::server::RestRequest,
        ) -> ::std::result::Result<::capgen_runtime::axum::Json<::serde_json::Value>, ::capgen_runtime::server::ApiError> {
            let args: super::operations::#args_type = request.args(#specs_name)?;
            Ok(::capgen_runtime::axum::Json(super::operations::#handler(&clients, args).await?))
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

