//! Client emitter: one module per consumed namespace, with a `Client` whose methods are the
//! namespace's operations.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::emit::types::type_tokens;
use crate::ir::{
    Auth, BindSource, BindVar, Body, ConsumedApi, Ir, Operation, Output, Param, ParamLocation, PathPart, ResponseBody, Shape, SpecValue,
    TemplatePart, TypeRef, ValuePiece,
};

/// The `client` module: one submodule per consumed API.
pub fn emit_clients(ir: &Ir) -> TokenStream {
    let passed_through = ir.passed_through_operations();
    let modules = ir.apis.iter().enumerate().map(|(index, api)| emit_api(index, api, &passed_through));
    let fields: Vec<_> = ir.apis.iter().map(|api| format_ident!("{}", api.module)).collect();
    let field_docs = ir.apis.iter().map(|api| format!(" Client for `{}`.", api.namespace));
    quote! {
        #![doc = " Typed clients for the upstream APIs, one module per consumed namespace (or Arazzo source description)."]

        #[doc = " One client per consumed namespace; what exposed operations and workflows call."]
        #[derive(Clone, Debug)]
        pub struct Clients {
            #(#[doc = #field_docs] pub #fields: #fields::Client,)*
        }

        impl Clients {
            #[doc = " Every client configured as the specs describe (see each `Client::config_from_env`)."]
            pub fn from_env() -> ::std::result::Result<Self, ::capgen_runtime::ConfigError> {
                Ok(Self { #(#fields: #fields::Client::from_env()?,)* })
            }
        }

        #(#modules)*
    }
}

fn emit_api(index: usize, api: &ConsumedApi, passed_through: &std::collections::BTreeSet<(usize, usize)>) -> TokenStream {
    let module = format_ident!("{}", api.module);
    let from_source = api.source_document.is_some();
    let what = if from_source { "Arazzo source description" } else { "consumed namespace" };
    let doc = doc_lines(&[Some(format!("Client for the {what} `{}`.", api.namespace)), api.description.clone()]);
    let base_uri = &api.base_uri;
    let base_uri_env = &api.base_uri_env;
    let base_doc = match (from_source, base_uri.as_str()) {
        (false, _) => " Base URI from the capability. The environment variable [`BASE_URI_ENV`] overrides it.",
        (true, "") => " The OpenAPI document names no server: set [`BASE_URI_ENV`] or pass a base URI.",
        (true, relative) if relative.starts_with('/') => {
            " The OpenAPI document's server, relative: a base URI given at run time ([`BASE_URI_ENV`]) names the host."
        }
        (true, _) => " Base URI from the OpenAPI document's servers. The environment variable [`BASE_URI_ENV`] overrides it.",
    };
    let env_doc = format!(" Environment variable that overrides [`DEFAULT_BASE_URI`] (`{base_uri_env}`).");
    let auth = auth_tokens(&api.auth);
    let headers = api.headers.iter().map(|(name, value)| {
        let value = secret_tokens(value);
        quote! { config = config.with_header(#name, #value); }
    });
    let methods = api.operations.iter().enumerate().map(|(op, operation)| emit_operation(operation, passed_through.contains(&(index, op))));
    let uses_types = api.operations.iter().any(uses_named_types);
    let types_import = uses_types.then(|| quote! { use super::super::types; });
    let config_doc = config_doc(api);
    quote! {
        #doc
        pub mod #module {
            #types_import

            #[doc = #base_doc]
            pub const DEFAULT_BASE_URI: &str = #base_uri;
            #[doc = #env_doc]
            pub const BASE_URI_ENV: &str = #base_uri_env;

            #[doc = " Typed client; cheap to clone (connections are pooled and shared)."]
            #[derive(Clone, Debug)]
            pub struct Client {
                http: ::capgen_runtime::HttpClient,
            }

            impl Client {
                #[doc = " A client with an explicit configuration (base URI, credentials, timeouts)."]
                pub fn new(config: ::capgen_runtime::ClientConfig) -> ::std::result::Result<Self, ::capgen_runtime::ConfigError> {
                    Ok(Self { http: ::capgen_runtime::HttpClient::new(config)? })
                }

                #config_doc
                pub fn config_from_env() -> ::std::result::Result<::capgen_runtime::ClientConfig, ::capgen_runtime::ConfigError> {
                    #[allow(unused_mut)]
                    let mut config = ::capgen_runtime::ClientConfig::new(::capgen_runtime::binds::base_uri(BASE_URI_ENV, DEFAULT_BASE_URI));
                    #auth
                    #(#headers)*
                    Ok(config)
                }

                #[doc = " A client configured as the specs describe; see [`Client::config_from_env`]."]
                pub fn from_env() -> ::std::result::Result<Self, ::capgen_runtime::ConfigError> {
                    Self::new(Self::config_from_env()?)
                }

                #[doc = " The underlying HTTP client."]
                pub fn http(&self) -> &::capgen_runtime::HttpClient {
                    &self.http
                }

                #(#methods)*
            }
        }
    }
}

fn config_doc(api: &ConsumedApi) -> TokenStream {
    let described = if api.source_document.is_some() { "the source description gives" } else { "the capability describes" };
    let mut lines = vec![Some(format!("The configuration {described}: the base URI (overridable through"))];
    lines.push(Some(format!("`{}`)", api.base_uri_env)));
    let mut vars = Vec::new();
    collect_auth_vars(&api.auth, &mut vars);
    for (_, value) in &api.headers {
        collect_vars(value, &mut vars);
    }
    if !vars.is_empty() {
        lines.push(Some(String::new()));
        lines.push(Some("Credentials are read at call time from:".to_string()));
        for var in vars {
            lines.push(Some(match &var.source {
                BindSource::Env { var: env } => format!("- environment variable `{env}`"),
                BindSource::File { location, key } => format!("- key `{key}` of `{location}`"),
            }));
        }
    }
    doc_lines(&lines)
}

fn collect_auth_vars(auth: &Auth, vars: &mut Vec<BindVar>) {
    match auth {
        Auth::None => {}
        Auth::Bearer { token } => collect_vars(token, vars),
        Auth::Basic { username, password } | Auth::Digest { username, password } => {
            collect_vars(username, vars);
            collect_vars(password, vars);
        }
        Auth::ApiKey { value, .. } => collect_vars(value, vars),
    }
}

fn collect_vars(value: &SpecValue, vars: &mut Vec<BindVar>) {
    if let SpecValue::Template(pieces) = value {
        for piece in pieces {
            if let ValuePiece::Var(var) = piece
                && !vars.contains(var)
            {
                vars.push(var.clone());
            }
        }
    }
}

/// `config = config.with_auth(...)` for the adapter's authentication.
fn auth_tokens(auth: &Auth) -> TokenStream {
    let value = match auth {
        Auth::None => return TokenStream::new(),
        Auth::Bearer { token } => {
            let token = secret_tokens(token);
            quote! { ::capgen_runtime::Auth::Bearer { token: #token } }
        }
        Auth::Basic { username, password } | Auth::Digest { username, password } => {
            let username = secret_tokens(username);
            let password = secret_tokens(password);
            let variant = if matches!(auth, Auth::Basic { .. }) { quote!(Basic) } else { quote!(Digest) };
            quote! {
                ::capgen_runtime::Auth::#variant {
                    username: #username.expose().to_owned(),
                    password: #password,
                }
            }
        }
        Auth::ApiKey { name, value, in_query } => {
            let value = secret_tokens(value);
            let location = if *in_query { quote!(Query) } else { quote!(Header) };
            quote! {
                ::capgen_runtime::Auth::ApiKey {
                    name: #name.to_owned(),
                    value: #value,
                    location: ::capgen_runtime::ApiKeyLocation::#location,
                }
            }
        }
    };
    quote! { config = config.with_auth(#value); }
}

/// An expression of type `::capgen_runtime::Secret` (reading bound variables, `?` on failure).
pub(crate) fn secret_tokens(value: &SpecValue) -> TokenStream {
    match value {
        SpecValue::Literal(text) => quote! { ::capgen_runtime::Secret::from(#text) },
        SpecValue::Template(pieces) => match pieces.as_slice() {
            [ValuePiece::Var(var)] => bind_tokens(var),
            _ => {
                let parts = pieces.iter().map(|piece| match piece {
                    ValuePiece::Text(text) => quote! { value.push_str(#text); },
                    ValuePiece::Var(var) => {
                        let read = bind_tokens(var);
                        quote! { value.push_str(#read.expose()); }
                    }
                });
                quote! {
                    {
                        let mut value = ::std::string::String::new();
                        #(#parts)*
                        ::capgen_runtime::Secret::new(value)
                    }
                }
            }
        },
    }
}

fn bind_tokens(var: &BindVar) -> TokenStream {
    match &var.source {
        BindSource::Env { var } => quote! { ::capgen_runtime::binds::env(#var)? },
        BindSource::File { location, key } => quote! { ::capgen_runtime::binds::file_key(#location, #key)? },
    }
}

fn uses_named_types(op: &Operation) -> bool {
    fn named(ty: &TypeRef) -> bool {
        match ty {
            TypeRef::Named(_) => true,
            TypeRef::Array(inner) | TypeRef::Map(inner) | TypeRef::Option(inner) => named(inner),
            _ => false,
        }
    }
    (op.output == Output::Body && op.response_body == ResponseBody::Json && named(&op.response)) || op.params.iter().any(|p| named(&p.ty))
}

/// The Rust type of an argument (`&str`, `i64`, `&types::X`, optionally wrapped in `Option`).
fn arg_type(param: &Param) -> TokenStream {
    let inner = match &param.ty {
        TypeRef::String => quote!(&str),
        TypeRef::Integer => quote!(i64),
        TypeRef::Number => quote!(f64),
        TypeRef::Boolean => quote!(bool),
        other => {
            let ty = type_tokens(other);
            quote!(&#ty)
        }
    };
    if param.required { inner } else { quote!(::std::option::Option<#inner>) }
}

/// The name of the method (or function) returning `fn_name`'s undecoded response:
/// `list_pets_response`; `type_` (a keyword, escaped) gives `type_response`.
pub fn raw_response_fn(fn_name: &str) -> proc_macro2::Ident {
    format_ident!("{}_response", fn_name.trim_end_matches('_'))
}

/// One method per operation; `raw_response` adds `<method>_response`, which returns the upstream
/// response itself (for adapters that pass it through), and the typed method decodes that.
fn emit_operation(op: &Operation, raw_response: bool) -> TokenStream {
    let fn_name = format_ident!("{}", op.fn_name);
    let name = &op.name;
    let method = format_ident!("{}", op.method);
    let args = op.params.iter().map(|p| {
        let ident = format_ident!("{}", p.rust_name);
        let ty = arg_type(p);
        quote! { #ident: #ty }
    }).collect::<Vec<_>>();

    // Path: a format string with one `{}` per parameter, each percent-encoded.
    let mut format = String::new();
    let mut format_args = Vec::new();
    for part in &op.path {
        match part {
            PathPart::Text(text) => format.push_str(&text.replace('{', "{{").replace('}', "}}")),
            PathPart::Param(index) => {
                format.push_str("{}");
                let ident = format_ident!("{}", op.params[*index].rust_name);
                format_args.push(match op.params[*index].ty {
                    TypeRef::String => quote! { ::capgen_runtime::encode_path(#ident) },
                    _ => quote! { ::capgen_runtime::encode_path(&#ident.to_string()) },
                });
            }
        }
    }
    let path_expr = if format_args.is_empty() {
        quote! { #format.to_owned() }
    } else {
        quote! { ::std::format!(#format, #(#format_args),*) }
    };
    let template = &op.path_template;

    let mut steps = Vec::new();
    for param in &op.params {
        let ident = format_ident!("{}", param.rust_name);
        let wire = &param.name;
        let step = match param.location {
            ParamLocation::Query => match (&param.ty, param.required) {
                (TypeRef::String | TypeRef::Integer | TypeRef::Number | TypeRef::Boolean, true) => {
                    quote! { let request = request.query(#wire, #ident); }
                }
                (TypeRef::String | TypeRef::Integer | TypeRef::Number | TypeRef::Boolean, false) => {
                    quote! { let request = request.query_opt(#wire, #ident); }
                }
                (_, true) => quote! { let request = request.query_json(#wire, &::serde_json::json!(#ident)); },
                (_, false) => quote! {
                    let request = match #ident {
                        Some(value) => request.query_json(#wire, &::serde_json::json!(value)),
                        None => request,
                    };
                },
            },
            ParamLocation::Header => {
                if param.required {
                    quote! { let request = request.header(#wire, #ident.to_string()); }
                } else {
                    quote! { let request = request.header_opt(#wire, #ident.map(|value| value.to_string())); }
                }
            }
            ParamLocation::Cookie => {
                let cookie = quote! { ::std::format!("{}={}", #wire, value) };
                if param.required {
                    quote! { let request = { let value = #ident; request.header("Cookie", #cookie) }; }
                } else {
                    quote! {
                        let request = match #ident {
                            Some(value) => request.header("Cookie", #cookie),
                            None => request,
                        };
                    }
                }
            }
            ParamLocation::Path | ParamLocation::Body | ParamLocation::BodyField | ParamLocation::Template => continue,
        };
        steps.push(step);
    }
    for fixed in &op.fixed {
        let wire = &fixed.name;
        let value = match &fixed.value {
            SpecValue::Literal(text) => quote! { #text },
            value => {
                let secret = secret_tokens(value);
                quote! { (|| -> ::std::result::Result<::std::string::String, ::capgen_runtime::ConfigError> {
                    Ok(#secret.expose().to_owned())
                })()? }
            }
        };
        steps.push(match fixed.location {
            ParamLocation::Query => quote! { let request = request.query(#wire, #value); },
            ParamLocation::Header => quote! { let request = request.header(#wire, #value); },
            ParamLocation::Cookie => quote! { let request = request.header("Cookie", ::std::format!("{}={}", #wire, #value)); },
            _ => continue,
        });
    }
    steps.push(body_tokens(op));

    if let ResponseBody::Binary(binary) = &op.response_body {
        let limit = proc_macro2::Literal::u64_unsuffixed(binary.max_bytes);
        steps.push(quote! { let request = request.max_body_bytes(#limit); });
    }
    let (return_type, finish) = match (&op.response_body, &op.output) {
        (ResponseBody::Binary(binary), _) => {
            let media_type = match &binary.media_type {
                Some(media_type) => quote! { Some(#media_type) },
                None => quote! { None },
            };
            (quote!(::capgen_runtime::Binary), quote! { Ok(response.binary(#media_type)) })
        }
        (ResponseBody::Json, Output::Body) => {
            let ty = type_tokens(&op.response);
            (ty.clone(), quote! { response.json::<#ty>(#name) })
        }
        (ResponseBody::Json, Output::Shaped(shape)) => {
            let shaped = shape_tokens(shape, &quote!(body));
            (
                quote!(::serde_json::Value),
                quote! {
                    let body: ::serde_json::Value = response.json(#name)?;
                    Ok(#shaped)
                },
            )
        }
    };

    let signature_line = format!("`{} {}` (operation `{}`)", op.method, op.path_template, op.name);
    let mut doc = vec![op.description.clone(), Some(String::new()), Some(signature_line)];
    if let Some(id) = &op.operation_id {
        doc.push(Some(String::new()));
        doc.push(Some(format!("OpenAPI operation: `{id}`.")));
    }
    if let ResponseBody::Binary(binary) = &op.response_body {
        doc.push(Some(String::new()));
        let media = binary.media_type.as_ref().map_or("the upstream's media type".to_string(), |m| format!("media type `{m}`"));
        doc.push(Some(format!(
            "Returns the body's bytes ({media}); a body over {} bytes is `Error::TooLarge` and is not read.",
            binary.max_bytes
        )));
    }
    if let Some(TypeRef::Named(error)) = &op.error_body {
        doc.push(Some(String::new()));
        doc.push(Some(format!("Error responses carry a `types::{error}` body: read it with `Error::body_as`.")));
    }
    let arg_docs: Vec<_> = op
        .params
        .iter()
        .filter_map(|p| p.description.as_ref().map(|d| format!("- `{}`: {}", p.rust_name, single_line(d))))
        .collect();
    if !arg_docs.is_empty() {
        doc.push(Some(String::new()));
        doc.push(Some("Arguments:".to_string()));
        doc.extend(arg_docs.into_iter().map(Some));
    }
    let doc = doc_lines(&doc);
    let many_args = (op.params.len() > 6).then(|| quote! { #[allow(clippy::too_many_arguments)] });
    let build_and_send = quote! {
        let request = ::capgen_runtime::Request::new(::capgen_runtime::Method::#method, #name, #path_expr)
            .path_template(#template);
        #(#steps)*
        let response = self.http.send(request).await?;
    };
    if !raw_response {
        return quote! {
            #doc
            #many_args
            pub async fn #fn_name(&self, #(#args),*) -> ::std::result::Result<#return_type, ::capgen_runtime::Error> {
                #build_and_send
                #finish
            }
        };
    }
    let raw_fn = raw_response_fn(&op.fn_name);
    let raw_doc = format!(" [`Self::{}`] without decoding: the upstream's (2xx) response as it came.", op.fn_name);
    let names = op.params.iter().map(|p| format_ident!("{}", p.rust_name));
    quote! {
        #doc
        #many_args
        pub async fn #fn_name(&self, #(#args),*) -> ::std::result::Result<#return_type, ::capgen_runtime::Error> {
            let response = self.#raw_fn(#(#names),*).await?;
            #finish
        }

        #[doc = #raw_doc]
        #many_args
        pub async fn #raw_fn(&self, #(#args),*) -> ::std::result::Result<::capgen_runtime::Response, ::capgen_runtime::Error> {
            #build_and_send
            Ok(response)
        }
    }
}

fn body_tokens(op: &Operation) -> TokenStream {
    let name = &op.name;
    match &op.body {
        Body::None => TokenStream::new(),
        Body::Whole(index) => {
            let param = &op.params[*index];
            let ident = format_ident!("{}", param.rust_name);
            if param.required {
                quote! { let request = request.json(#ident); }
            } else {
                quote! {
                    let request = match #ident {
                        Some(body) => request.json(body),
                        None => request,
                    };
                }
            }
        }
        Body::Fields => {
            let inserts = op.params.iter().filter(|p| p.location == ParamLocation::BodyField).map(|p| {
                let ident = format_ident!("{}", p.rust_name);
                let wire = &p.name;
                if p.required {
                    quote! { body.insert(#wire.to_owned(), ::serde_json::json!(#ident)); }
                } else {
                    quote! {
                        if let Some(value) = #ident {
                            body.insert(#wire.to_owned(), ::serde_json::json!(value));
                        }
                    }
                }
            });
            quote! {
                let mut body = ::serde_json::Map::new();
                #(#inserts)*
                let request = request.json_value(::serde_json::Value::Object(body));
            }
        }
        Body::Template(parts) => {
            let mut bindings = Vec::new();
            let mut seen = Vec::new();
            let pieces: Vec<_> = parts
                .iter()
                .map(|part| match part {
                    TemplatePart::Text(text) => quote! { ::capgen_runtime::json::TemplatePart::Literal(#text) },
                    TemplatePart::Quoted(index) | TemplatePart::Raw(index) => {
                        let param = &op.params[*index];
                        let value = format_ident!("{}_json", param.rust_name);
                        if !seen.contains(index) {
                            seen.push(*index);
                            let ident = format_ident!("{}", param.rust_name);
                            bindings.push(if param.required {
                                quote! { let #value = ::serde_json::json!(#ident); }
                            } else {
                                quote! { let #value = #ident.map_or(::serde_json::Value::Null, |value| ::serde_json::json!(value)); }
                            });
                        }
                        if matches!(part, TemplatePart::Quoted(_)) {
                            quote! { ::capgen_runtime::json::TemplatePart::Quoted(&#value) }
                        } else {
                            quote! { ::capgen_runtime::json::TemplatePart::Raw(&#value) }
                        }
                    }
                })
                .collect();
            quote! {
                #(#bindings)*
                let body = ::capgen_runtime::json::render_json_template(&[#(#pieces),*])
                    .map_err(|message| ::capgen_runtime::Error::InvalidRequest { operation: #name, message })?;
                let request = request.json_value(body);
            }
        }
    }
}

/// An expression of type `serde_json::Value` computing `shape` from the value `input`.
pub fn shape_tokens(shape: &Shape, input: &TokenStream) -> TokenStream {
    match shape {
        Shape::Path(None) => quote! { #input.clone() },
        Shape::Path(Some(path)) => select(path, input),
        Shape::Const(value) => json_tokens(value),
        Shape::Nested { mapping, fields } => {
            let base = match mapping {
                Some(path) => select(path, input),
                None => quote! { #input.clone() },
            };
            let inserts = fields.iter().map(|(name, field)| {
                let value = shape_tokens(field, &quote!(base));
                quote! { object.insert(#name.to_owned(), #value); }
            });
            quote! {
                {
                    let base: ::serde_json::Value = #base;
                    let mut object = ::serde_json::Map::new();
                    #(#inserts)*
                    ::serde_json::Value::Object(object)
                }
            }
        }
        Shape::Array { mapping, item } => {
            let base = match mapping {
                Some(path) => select(path, input),
                None => quote! { #input.clone() },
            };
            if matches!(**item, Shape::Path(None)) {
                return quote! {
                    {
                        let base: ::serde_json::Value = #base;
                        match base {
                            ::serde_json::Value::Null => ::serde_json::Value::Array(::std::vec::Vec::new()),
                            ::serde_json::Value::Array(items) => ::serde_json::Value::Array(items),
                            item => ::serde_json::Value::Array(::std::vec![item]),
                        }
                    }
                };
            }
            let each = shape_tokens(item, &quote!(item));
            quote! {
                {
                    let base: ::serde_json::Value = #base;
                    match base {
                        ::serde_json::Value::Array(items) => ::serde_json::Value::Array(items.iter().map(|item| #each).collect()),
                        ::serde_json::Value::Null => ::serde_json::Value::Array(::std::vec::Vec::new()),
                        item => ::serde_json::Value::Array(::std::vec![#each]),
                    }
                }
            }
        }
    }
}

fn select(path: &str, input: &TokenStream) -> TokenStream {
    quote! {
        {
            static PATH: ::capgen_runtime::json::JsonPathCell = ::capgen_runtime::json::JsonPathCell::new(#path);
            PATH.query(&#input)
        }
    }
}

/// A `serde_json::Value` literal.
pub fn json_tokens(value: &serde_json::Value) -> TokenStream {
    match value {
        serde_json::Value::Null => quote!(::serde_json::Value::Null),
        serde_json::Value::Bool(b) => quote!(::serde_json::Value::Bool(#b)),
        serde_json::Value::Number(n) => {
            let literal = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Literal::i64_suffixed(i),
                (_, Some(u), _) => Literal::u64_suffixed(u),
                (_, _, Some(f)) => Literal::f64_suffixed(f),
                _ => Literal::i64_suffixed(0),
            };
            quote!(::serde_json::Value::from(#literal))
        }
        serde_json::Value::String(s) => quote!(::serde_json::Value::String(#s.to_owned())),
        serde_json::Value::Array(items) => {
            let items = items.iter().map(json_tokens);
            quote!(::serde_json::Value::Array(::std::vec![#(#items),*]))
        }
        serde_json::Value::Object(map) => {
            let inserts = map.iter().map(|(k, v)| {
                let v = json_tokens(v);
                quote! { object.insert(#k.to_owned(), #v); }
            });
            quote! {
                {
                    let mut object = ::serde_json::Map::new();
                    #(#inserts)*
                    ::serde_json::Value::Object(object)
                }
            }
        }
    }
}

fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines of `text`; an empty text is one empty line (a paragraph break in docs).
fn split_lines(text: &str) -> Vec<String> {
    if text.is_empty() { vec![String::new()] } else { text.lines().map(str::to_owned).collect() }
}

/// `#[doc = "…"]` attributes, one per line; `None` entries are skipped.
pub fn doc_lines(lines: &[Option<String>]) -> TokenStream {
    let lines = lines.iter().flatten().flat_map(|text| split_lines(text)).map(|line| {
        let line = if line.is_empty() { String::new() } else { format!(" {line}") };
        quote! { #[doc = #line] }
    });
    quote! { #(#lines)* }
}

/// Turns `#[doc = …]` outer attributes into `#![doc = …]` inner ones (module docs).
pub(crate) fn inner_docs(outer: TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    for tree in outer {
        if let proc_macro2::TokenTree::Punct(p) = &tree
            && p.as_char() == '#'
        {
            out.extend([tree.clone(), proc_macro2::TokenTree::Punct(proc_macro2::Punct::new('!', proc_macro2::Spacing::Alone))]);
            continue;
        }
        out.extend([tree]);
    }
    out
}

/// A raw string literal (`r#"…"#`) holding `text`: multi-line JSON stays readable in generated code.
pub(crate) fn raw_string(text: &str) -> TokenStream {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}").parse().unwrap_or_else(|_| {
        let literal = proc_macro2::Literal::string(text);
        quote!(#literal)
    })
}
