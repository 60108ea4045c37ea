//! Operations emitter: one `async fn` (and one arguments struct) per exposed REST operation,
//! MCP tool and aggregate function. The REST and MCP adapters are thin wrappers over these.
//!
//! The module imports what every function names (`Clients`, `Value`, `Error`, serde's derives),
//! so each operation reads like hand-written code: the arguments struct, then a body that
//! passes the arguments straight to the consumed client (borrowed, not copied) and shapes the
//! result.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::client::{doc_lines, json_tokens, shape_tokens};
use crate::emit::types::type_tokens;
use crate::ir::expose::{Action, ArgValue, Call, Exposed, Input, Step, TemplatePiece};
use crate::ir::{ConsumedApi, Ir, Param, Shape, TypeRef};

/// The `operations` module.
pub fn emit_operations(ir: &Ir) -> TokenStream {
    let rest_routed = crate::emit::rest::routes(ir).iter().map(|route| route.exposed.fn_name.as_str()).collect();
    let items = ir.exposed.iter().map(|exposed| match exposed.action {
        Action::Workflow(index) => emit_workflow_run(exposed, &ir.workflows[index]),
        _ => emit_exposed(exposed, ir, &rest_routed),
    });
    let uses_types = ir.exposed.iter().any(|e| e.inputs.iter().any(|i| mentions_named(&i.ty)));
    let types_import = uses_types.then(|| quote! { use super::types; });
    let value_import = ir.exposed.iter().any(|e| e.binary.is_none()).then(|| quote! { use ::serde_json::Value; });
    quote! {
        #![doc = " Exposed operations: one function per REST operation, MCP tool and aggregate function,"]
        #![doc = " each taking typed arguments and returning the JSON result. The REST and MCP adapters call these."]
        use ::capgen_runtime::Error;
        use ::serde::{Deserialize, Serialize};
        #value_import
        use super::client::Clients;
        #types_import

        #[doc = " Converts a value to the type a consumed parameter needs, as an invalid-request error when it cannot."]
        #[allow(dead_code)]
        fn convert<T: ::serde::de::DeserializeOwned>(operation: &'static str, name: &str, value: impl Serialize) -> Result<T, Error> {
            ::serde_json::to_value(value)
                .and_then(::serde_json::from_value)
                .map_err(|err| Error::InvalidRequest { operation, message: format!("argument `{name}`: {err}") })
        }

        #(#items)*
    }
}

fn mentions_named(ty: &TypeRef) -> bool {
    match ty {
        TypeRef::Named(_) => true,
        TypeRef::Array(inner) | TypeRef::Map(inner) | TypeRef::Option(inner) => mentions_named(inner),
        _ => false,
    }
}

fn emit_exposed(exposed: &Exposed, ir: &Ir, rest_routed: &std::collections::BTreeSet<&str>) -> TokenStream {
    let apis = &ir.apis;
    let args_type = format_ident!("{}", exposed.args_type);
    let fn_name = format_ident!("{}", exposed.fn_name);
    let name = &exposed.name;
    let fields = exposed.inputs.iter().map(|input| {
        let ident = format_ident!("{}", input.rust_name);
        let wire = &input.name;
        let ty = short_type(&input.ty);
        let doc = doc_lines(std::slice::from_ref(&input.description));
        let rename = (input.rust_name != input.name).then(|| quote! { #[serde(rename = #wire)] });
        if input.required {
            quote! { #doc #rename pub #ident: #ty, }
        } else {
            quote! {
                #doc
                #rename
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub #ident: Option<#ty>,
            }
        }
    });
    let args_doc = format!(" Arguments of [`{}`].", exposed.fn_name);
    // A REST route answers with the upstream response itself: `<fn>_response` returns it.
    let raw_fn_needed = ir.pass_through(exposed).is_some() && rest_routed.contains(&exposed.fn_name.as_str());
    let body = match &exposed.action {
        // Bytes are answered as the consumed operation returns them.
        Action::Call(call) if exposed.binary.is_some() => {
            let (bindings, invocation) = call_tokens(call, exposed, apis, true);
            quote! {
                #(#bindings)*
                #invocation.await
            }
        }
        // The upstream body is the result: decoded as JSON, never through the typed response.
        Action::Call(_) if raw_fn_needed => {
            let raw_fn = crate::emit::client::raw_response_fn(&exposed.fn_name);
            quote! { #raw_fn(clients, args).await?.json_value() }
        }
        Action::Call(call) if ir.pass_through(exposed).is_some() => {
            let (bindings, invocation) = call_method_tokens(call, exposed, apis, true, true);
            quote! {
                #(#bindings)*
                #invocation.await?.json_value()
            }
        }
        Action::Call(call) => {
            let (bindings, invocation) = call_tokens(call, exposed, apis, true);
            let value = quote! { ::serde_json::to_value(result).unwrap_or_default() };
            match &exposed.output {
                Some(shape) => {
                    let shaped = shape_tokens(shape, &quote!(result));
                    quote! {
                        #(#bindings)*
                        let result = #invocation.await?;
                        let result = #value;
                        Ok(#shaped)
                    }
                }
                None => quote! {
                    #(#bindings)*
                    let result = #invocation.await?;
                    Ok(#value)
                },
            }
        }
        Action::Steps { steps, mappings } => {
            let steps = steps.iter().map(|step| step_tokens(step, exposed, apis));
            let mapped = mappings.iter().map(|(target, shape)| {
                let value = shape_tokens(shape, &quote!(context));
                quote! { output.insert(#target.to_owned(), #value); }
            });
            quote! {
                let mut results = ::serde_json::Map::new();
                #(#steps)*
                let context = Value::Object(results);
                let mut output = ::serde_json::Map::new();
                #(#mapped)*
                Ok(Value::Object(output))
            }
        }
        Action::Workflow(_) => TokenStream::new(),
        Action::Mock => match exposed.output.as_ref().filter(|shape| reads_input(shape)) {
            Some(shape) => {
                let value = shape_tokens(shape, &quote!(input));
                quote! {
                    let input = ::serde_json::to_value(&args).unwrap_or_default();
                    Ok(#value)
                }
            }
            None => {
                let value = match &exposed.output {
                    Some(shape) => shape_tokens(shape, &quote!(Value::Null)),
                    None => quote!(Value::Object(::serde_json::Map::new())),
                };
                quote! { Ok(#value) }
            }
        },
    };
    let exposed_as = match &exposed.binary {
        Some(_) => format!("Exposed as `{name}`; answers with the upstream body's bytes."),
        None => format!("Exposed as `{name}`."),
    };
    let doc = doc_lines(&described(exposed.description.as_ref(), exposed_as));
    let args_binding = if uses_args(exposed) { quote!(args) } else { quote!(_args) };
    let clients_binding = if matches!(exposed.action, Action::Mock) { quote!(_clients) } else { quote!(clients) };
    let result_type = if exposed.binary.is_some() { quote!(::capgen_runtime::Binary) } else { quote!(Value) };
    let raw = ir.pass_through(exposed).filter(|_| raw_fn_needed).map(|call| {
        let raw_fn = crate::emit::client::raw_response_fn(&exposed.fn_name);
        let raw_doc = format!(" [`{}`] without decoding: the upstream's (2xx) response as it came, for adapters that pass it on.", exposed.fn_name);
        let (bindings, invocation) = call_method_tokens(call, exposed, apis, true, true);
        let args_binding = if uses_args(exposed) { quote!(args) } else { quote!(_args) };
        quote! {
            #[doc = #raw_doc]
            pub async fn #raw_fn(clients: &Clients, #args_binding: #args_type) -> Result<::capgen_runtime::Response, Error> {
                #(#bindings)*
                #invocation.await
            }
        }
    });
    let args_binding = if raw.is_some() { quote!(args) } else { args_binding };
    quote! {
        #[doc = #args_doc]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct #args_type {
            #(#fields)*
        }

        #doc
        pub async fn #fn_name(#clients_binding: &Clients, #args_binding: #args_type) -> Result<#result_type, Error> {
            #body
        }

        #raw
    }
}

/// A workflow run: the workflow's inputs (flattened) plus the polling controls.
fn emit_workflow_run(exposed: &Exposed, workflow: &crate::ir::workflow::Workflow) -> TokenStream {
    let args_type = format_ident!("{}", exposed.args_type);
    let fn_name = format_ident!("{}", exposed.fn_name);
    let inputs_type = format_ident!("{}Inputs", workflow.type_prefix);
    let workflow_fn = format_ident!("{}", workflow.fn_name);
    let args_doc = format!(" Arguments of [`{}`]: the workflow's inputs and optional polling.", exposed.fn_name);
    let doc = doc_lines(&described(
        exposed.description.as_ref(),
        format!("Runs Arazzo workflow `{}` and returns its outputs.", workflow.workflow_id),
    ));
    let retry_unmatched = crate::ir::expose::RETRY_UNMATCHED;
    let retry_after = crate::ir::expose::RETRY_AFTER_SECONDS;
    quote! {
        #[doc = #args_doc]
        #[derive(Clone, Debug, Serialize, Deserialize)]
        pub struct #args_type {
            #[doc = " The workflow's inputs."]
            #[serde(flatten)]
            pub inputs: super::workflows::#inputs_type,
            #[doc = " Poll: retry a step whose success criteria are unmet up to this many times."]
            #[serde(rename = #retry_unmatched, default, skip_serializing_if = "Option::is_none")]
            pub retry_unmatched: Option<u32>,
            #[doc = " Seconds to wait between those retries (default 1)."]
            #[serde(rename = #retry_after, default, skip_serializing_if = "Option::is_none")]
            pub retry_after_seconds: Option<f64>,
        }

        #doc
        pub async fn #fn_name(clients: &Clients, args: #args_type) -> Result<Value, Error> {
            let mut options = ::capgen_runtime::workflow::RunOptions::default();
            if let Some(limit) = args.retry_unmatched {
                let seconds = args.retry_after_seconds.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(1.0);
                options = options.with_retry_unmatched(limit, ::std::time::Duration::from_secs_f64(seconds));
            }
            let outputs = super::workflows::#workflow_fn(clients, &args.inputs, &options).await?;
            Ok(::serde_json::to_value(outputs).unwrap_or_default())
        }
    }
}

/// Doc lines: the description (if any), a blank line, then `line`.
fn described(description: Option<&String>, line: String) -> Vec<Option<String>> {
    match description {
        Some(text) => vec![Some(text.clone()), Some(String::new()), Some(line)],
        None => vec![Some(line)],
    }
}

/// A Rust type as code in the `operations`, `rest` and `main` modules writes it: prelude names
/// (`String`, `Option`, `Vec`), `Value` (imported there) and `types::Name`.
pub(crate) fn short_type(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::String => quote!(String),
        TypeRef::Json => quote!(Value),
        TypeRef::Array(inner) => {
            let inner = short_type(inner);
            quote!(Vec<#inner>)
        }
        TypeRef::Map(inner) => {
            let inner = short_type(inner);
            quote!(::std::collections::BTreeMap<String, #inner>)
        }
        TypeRef::Option(inner) => {
            let inner = short_type(inner);
            quote!(Option<#inner>)
        }
        TypeRef::Integer | TypeRef::Number | TypeRef::Boolean | TypeRef::Named(_) => type_tokens(ty),
    }
}

/// Whether values of `ty` are `Copy` (passed to client methods by value).
fn is_copy(ty: &TypeRef) -> bool {
    matches!(ty, TypeRef::Integer | TypeRef::Number | TypeRef::Boolean)
}

/// Whether the function body reads its arguments.
fn uses_args(exposed: &Exposed) -> bool {
    let reads = |call: &Call| call.args.iter().flatten().any(|value| !matches!(value, ArgValue::Literal(_)));
    match &exposed.action {
        Action::Workflow(_) => true,
        Action::Mock => exposed.output.as_ref().is_some_and(reads_input),
        Action::Call(call) => reads(call),
        Action::Steps { steps, .. } => steps.iter().any(|step| matches!(step, Step::Call { call, .. } if reads(call))),
    }
}

/// Whether computing `shape` reads the value it is applied to.
fn reads_input(shape: &Shape) -> bool {
    match shape {
        Shape::Path(_) | Shape::Array { .. } | Shape::Nested { mapping: Some(_), .. } => true,
        Shape::Const(_) => false,
        Shape::Nested { mapping: None, fields } => fields.iter().any(|(_, field)| reads_input(field)),
    }
}

/// `let` bindings for each argument of a consumed call, and the call expression.
/// With `take`, arguments read once are moved out of `args` instead of cloned.
fn call_tokens(call: &Call, exposed: &Exposed, apis: &[ConsumedApi], take: bool) -> (Vec<TokenStream>, TokenStream) {
    call_method_tokens(call, exposed, apis, take, false)
}

/// [`call_tokens`], calling the client's `<method>_response` when `raw` (the undecoded response).
fn call_method_tokens(call: &Call, exposed: &Exposed, apis: &[ConsumedApi], take: bool, raw: bool) -> (Vec<TokenStream>, TokenStream) {
    let Some(op) = apis.get(call.api).and_then(|api| api.operations.get(call.operation)) else {
        return (Vec::new(), quote! { ::std::future::ready(Result::<Value, Error>::Ok(Value::Null)) });
    };
    let api = &apis[call.api];
    let mut uses = vec![0usize; exposed.inputs.len()];
    for value in call.args.iter().flatten() {
        match value {
            ArgValue::Input(index) => uses[*index] += 1,
            ArgValue::Template(pieces) => pieces.iter().for_each(|p| if let TemplatePiece::Input(i) = p { uses[*i] += 2 }),
            ArgValue::Literal(_) => {}
        }
    }
    let movable: Vec<bool> = uses.iter().map(|&n| take && n == 1).collect();
    let mut bindings = Vec::new();
    let mut call_args = Vec::new();
    for (param, value) in op.params.iter().zip(&call.args) {
        if let Some(direct) = direct_arg(value.as_ref(), param, exposed) {
            call_args.push(direct);
            continue;
        }
        let binding = format_ident!("{}_arg", param.rust_name.trim_end_matches('_'));
        let owned = owned_type(&param.ty);
        let produce = value_tokens(value.as_ref(), param, exposed, &movable);
        if param.required {
            bindings.push(quote! { let #binding: #owned = #produce; });
        } else {
            bindings.push(quote! { let #binding: Option<#owned> = #produce; });
        }
        call_args.push(borrow_tokens(&binding, param));
    }
    let module = format_ident!("{}", api.module);
    let method = if raw { crate::emit::client::raw_response_fn(&op.fn_name) } else { format_ident!("{}", op.fn_name) };
    (bindings, quote! { clients.#module.#method(#(#call_args),*) })
}

/// The owned Rust type holding a consumed parameter's value.
fn owned_type(ty: &TypeRef) -> TokenStream {
    short_type(ty)
}

/// An argument of the exposed operation passed to the client method as it is, borrowed from
/// `args` (`&args.id`, `args.limit`, `args.name.as_deref()`): when it has the parameter's type
/// and is present whenever the parameter is required. `None` when it needs a binding.
fn direct_arg(value: Option<&ArgValue>, param: &Param, exposed: &Exposed) -> Option<TokenStream> {
    let Some(ArgValue::Input(index)) = value else { return None };
    let input = exposed.inputs.get(*index)?;
    if input.ty != param.ty || (param.required && !input.required) {
        return None;
    }
    let field = format_ident!("{}", input.rust_name);
    Some(match (is_copy(&param.ty), input.required, param.required, &param.ty) {
        (true, true, false, _) => quote!(Some(args.#field)),
        (true, _, _, _) => quote!(args.#field),
        (false, true, true, _) => quote!(&args.#field),
        (false, true, false, TypeRef::String) => quote!(Some(args.#field.as_str())),
        (false, true, false, _) => quote!(Some(&args.#field)),
        (false, false, _, TypeRef::String) => quote!(args.#field.as_deref()),
        (false, false, _, _) => quote!(args.#field.as_ref()),
    })
}

/// How a binding is passed to the client method (which takes `&str`, `&T` or copies).
fn borrow_tokens(binding: &proc_macro2::Ident, param: &Param) -> TokenStream {
    let copy = is_copy(&param.ty);
    match (copy, param.required, &param.ty) {
        (true, _, _) => quote!(#binding),
        (false, true, _) => quote!(&#binding),
        (false, false, TypeRef::String) => quote!(#binding.as_deref()),
        (false, false, _) => quote!(#binding.as_ref()),
    }
}

/// An expression producing the owned value (wrapped in `Option` when the parameter is optional).
fn value_tokens(value: Option<&ArgValue>, param: &Param, exposed: &Exposed, movable: &[bool]) -> TokenStream {
    let operation = &exposed.name;
    let wire = &param.name;
    let owned = owned_type(&param.ty);
    let wrap = |expr: TokenStream| if param.required { expr } else { quote! { Some(#expr) } };
    match value {
        None => {
            if param.required {
                let message = format!("nothing provides `{}`", param.name);
                quote! { return Err(Error::InvalidRequest { operation: #operation, message: #message.to_owned() }) }
            } else {
                quote!(None)
            }
        }
        Some(ArgValue::Input(index)) => {
            let input: &Input = &exposed.inputs[*index];
            let field = format_ident!("{}", input.rust_name);
            let same_type = input.ty == param.ty;
            let copy = is_copy(&input.ty);
            let read = if copy || movable.get(*index).copied().unwrap_or(false) {
                quote! { args.#field }
            } else {
                quote! { args.#field.clone() }
            };
            match (input.required, param.required, same_type) {
                (true, true, true) => read,
                (true, false, true) => quote! { Some(#read) },
                (false, false, true) => read,
                (false, true, true) => {
                    let message = format!("missing argument `{}`", input.name);
                    quote! {
                        #read.ok_or_else(|| Error::InvalidRequest { operation: #operation, message: #message.to_owned() })?
                    }
                }
                (true, _, false) => wrap(quote! { convert::<#owned>(#operation, #wire, &args.#field)? }),
                (false, true, false) => {
                    let message = format!("missing argument `{}`", input.name);
                    quote! {
                        match &args.#field {
                            Some(value) => convert::<#owned>(#operation, #wire, value)?,
                            None => return Err(Error::InvalidRequest { operation: #operation, message: #message.to_owned() }),
                        }
                    }
                }
                (false, false, false) => quote! {
                    match &args.#field {
                        Some(value) => Some(convert::<#owned>(#operation, #wire, value)?),
                        None => None,
                    }
                },
            }
        }
        Some(ArgValue::Literal(json)) => match (&param.ty, json) {
            (TypeRef::String, serde_json::Value::String(text)) => wrap(quote! { #text.to_owned() }),
            (TypeRef::String, other) => {
                let text = other.to_string();
                wrap(quote! { #text.to_owned() })
            }
            (_, json) => {
                let json = json_tokens(json);
                wrap(quote! { convert::<#owned>(#operation, #wire, #json)? })
            }
        },
        Some(ArgValue::Template(pieces)) => {
            let parts = pieces.iter().map(|piece| match piece {
                TemplatePiece::Text(text) => quote! { text.push_str(#text); },
                TemplatePiece::Input(index) => {
                    let input = &exposed.inputs[*index];
                    let field = format_ident!("{}", input.rust_name);
                    if input.required {
                        quote! { text.push_str(&::capgen_runtime::json::plain_text(&::serde_json::json!(args.#field))); }
                    } else {
                        quote! {
                            if let Some(value) = &args.#field {
                                text.push_str(&::capgen_runtime::json::plain_text(&::serde_json::json!(value)));
                            }
                        }
                    }
                }
            });
            let text = quote! { { let mut text = String::new(); #(#parts)* text } };
            match &param.ty {
                TypeRef::String => wrap(text),
                _ => wrap(quote! { convert::<#owned>(#operation, #wire, #text)? }),
            }
        }
    }
}

fn step_tokens(step: &Step, exposed: &Exposed, apis: &[ConsumedApi]) -> TokenStream {
    match step {
        Step::Call { name, call } => {
            let (bindings, invocation) = call_tokens(call, exposed, apis, false);
                quote! {
                {
                    #(#bindings)*
                    let result = #invocation.await?;
                    results.insert(#name.to_owned(), ::serde_json::to_value(result).unwrap_or_default());
                }
            }
        }
        Step::Lookup { name, index, match_field, lookup_value, fields } => {
            let project = if fields.is_empty() {
                quote! { item.clone() }
            } else {
                quote! {
                    Value::Object(
                        [#(#fields),*]
                            .iter()
                            .map(|field| ((*field).to_owned(), item.get(*field).cloned().unwrap_or_default()))
                            .collect(),
                    )
                }
            };
            quote! {
                {
                    static LOOKUP: ::capgen_runtime::json::JsonPathCell = ::capgen_runtime::json::JsonPathCell::new(#lookup_value);
                    let wanted = match LOOKUP.query(&Value::Object(results.clone())) {
                        Value::Array(values) => values,
                        Value::Null => Vec::new(),
                        value => vec![value],
                    };
                    let index = results.get(#index).and_then(Value::as_array).cloned().unwrap_or_default();
                    let found: Vec<Value> = wanted
                        .iter()
                        .filter_map(|key| index.iter().find(|item| item.get(#match_field) == Some(key)))
                        .map(|item| #project)
                        .collect();
                    results.insert(#name.to_owned(), Value::Array(found));
                }
            }
        }
    }
}
