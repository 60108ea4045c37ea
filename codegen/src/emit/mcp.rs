//! MCP emitter: one rmcp server per exposed MCP adapter, written out by hand (no rmcp macros, so
//! the generated crate needs no direct rmcp dependency): a `Server` holding the clients, one
//! `Tool` description per exposed tool (input schema from [`Exposed::input_schema`], annotations
//! from hints), and a `ServerHandler` whose `call_tool` dispatches by name to the
//! `operations::<fn>` that implements each tool. Resources and prompts of the adapter are served
//! the same way. `router` (Streamable HTTP at `/mcp`) and `serve_stdio` are the entry points the
//! generated binary calls; everything reusable lives in `capgen_runtime::mcp`.
//!
//! [`Exposed::input_schema`]: crate::ir::expose::Exposed::input_schema

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::client::{doc_lines, raw_string, secret_tokens};
use crate::ir::expose::{Exposed, Hints, InboundAuth, McpAdapter, McpPrompt, McpResource, Tool};
use crate::ir::{Ir, names};

/// The `mcp` module: the adapter's server at the top level, or one submodule per adapter (with
/// `router`/`serve_stdio` at the top serving the first) when the capability exposes several.
pub fn emit_mcp(ir: &Ir) -> TokenStream {
    match ir.mcp.as_slice() {
        [] => TokenStream::new(),
        [adapter] => {
            let doc = module_doc(adapter);
            let body = emit_adapter(ir, adapter, &quote!(super));
            quote! {
                #doc
                #body
            }
        }
        adapters => {
            let mut taken = BTreeSet::new();
            let modules: Vec<_> = adapters
                .iter()
                .map(|adapter| format_ident!("{}", names::unique(names::snake_ident(&adapter.namespace), &mut taken)))
                .collect();
            let bodies = adapters.iter().zip(&modules).map(|(adapter, module)| {
                let doc = module_doc(adapter);
                let body = emit_adapter(ir, adapter, &quote!(super::super));
                quote! {
                    pub mod #module {
                        #doc
                        #body
                    }
                }
            });
            let first = &modules[0];
            let first_doc = format!(" [`{first}::router`]: the first MCP adapter over Streamable HTTP at `/mcp`.");
            let first_stdio_doc = format!(" [`{first}::serve_stdio`]: the first MCP adapter over stdin/stdout.");
            quote! {
                #![doc = " MCP servers, one module per exposed MCP adapter."]
                #(#bodies)*

                #[doc = #first_doc]
                pub fn router(clients: super::client::Clients) -> ::capgen_runtime::axum::Router {
                    #first::router(clients)
                }

                #[doc = #first_stdio_doc]
                pub async fn serve_stdio(
                    clients: super::client::Clients,
                ) -> ::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error + ::std::marker::Send + ::std::marker::Sync>> {
                    #first::serve_stdio(clients).await
                }
            }
        }
    }
}

/// Inner doc lines for an adapter's module.
fn module_doc(adapter: &McpAdapter) -> TokenStream {
    let mut lines = vec![format!(" MCP server `{}`: an rmcp `ServerHandler` over the exposed operations.", adapter.namespace)];
    if let Some(description) = &adapter.description {
        lines.push(String::new());
        lines.extend(description.lines().map(|line| format!(" {line}")));
    }
    lines.push(String::new());
    lines.push(" Serve it with [`router`] (Streamable HTTP at `/mcp`) or [`serve_stdio`].".to_string());
    quote! { #(#![doc = #lines])* }
}

/// The items of one adapter's server. `root` reaches the crate's top-level modules.
fn emit_adapter(ir: &Ir, adapter: &McpAdapter, root: &TokenStream) -> TokenStream {
    let namespace = &adapter.namespace;
    let title = &ir.title;
    let port = proc_macro2::Literal::u16_unsuffixed(adapter.port);
    let instructions = match &adapter.description {
        Some(text) => quote! { ::std::option::Option::Some(#text) },
        None => quote! { ::std::option::Option::None },
    };

    let tools = unique_by(&adapter.tools, |tool| tool.name.clone());
    let resources = unique_by(&adapter.resources, |resource| resource.uri.clone());
    let prompts = unique_by(&adapter.prompts, |prompt| prompt.name.clone());

    let root_path = root.to_string().replace(' ', "");
    let tool_items = tools.iter().map(|tool| tool_item(tool, &ir.exposed[tool.exposed], &root_path));
    let tool_fns: Vec<_> = tools.iter().map(tool_fn).collect();
    let call_arms = tools.iter().map(|tool| {
        let name = &tool.name;
        let operation = format_ident!("{}", ir.exposed[tool.exposed].fn_name);
        quote! {
            #name => ::capgen_runtime::mcp::call(#name, request.arguments, |args| {
                #root::operations::#operation(&self.clients, args)
            })
            .await,
        }
    });

    let capabilities = {
        let (has_tools, has_resources, has_prompts) = (!tools.is_empty(), !resources.is_empty(), !prompts.is_empty());
        quote! {
            ::capgen_runtime::mcp::Capabilities { tools: #has_tools, resources: #has_resources, prompts: #has_prompts }
        }
    };
    let resource_methods = (!resources.is_empty()).then(|| resource_methods(ir, &resources, root));
    let prompt_methods = (!prompts.is_empty()).then(|| prompt_methods(&prompts));
    let auth = auth_fn(adapter);
    let port_doc = format!(" The port the capability names for this server (`port` of `{namespace}`).");
    let ctx = quote! { ::capgen_runtime::rmcp::service::RequestContext<::capgen_runtime::rmcp::RoleServer> };
    let (tools_list, call_tool_body) = if tools.is_empty() {
        (
            quote! { ::std::vec::Vec::new() },
            quote! { ::std::result::Result::Err(::capgen_runtime::mcp::unknown_tool(&request.name)) },
        )
    } else {
        (
            quote! { ::std::vec![#(#tool_fns()),*] },
            quote! {
                let result = match request.name.as_ref() {
                    #(#call_arms)*
                    other => return ::std::result::Result::Err(::capgen_runtime::mcp::unknown_tool(other)),
                };
                ::std::result::Result::Ok(result.into())
            },
        )
    };

    quote! {
        #[doc = " The server's name in `initialize` (the adapter's namespace)."]
        pub const NAME: &str = #namespace;
        #[doc = " The server's title in `initialize` (the capability's label)."]
        pub const TITLE: &str = #title;
        #[doc = " Instructions sent to clients (the adapter's description)."]
        pub const INSTRUCTIONS: ::std::option::Option<&str> = #instructions;
        #[doc = #port_doc]
        pub const DEFAULT_PORT: u16 = #port;

        #[doc = " The MCP server: each tool calls the exposed operation of the same name."]
        #[derive(Clone, Debug)]
        pub struct Server {
            clients: #root::client::Clients,
        }

        impl Server {
            #[doc = " A server calling upstreams through `clients`."]
            pub fn new(clients: #root::client::Clients) -> Self {
                Self { clients }
            }

            #[doc = " Every tool, in spec order."]
            pub fn tools() -> ::std::vec::Vec<::capgen_runtime::rmcp::model::Tool> {
                #tools_list
            }
        }

        #(#tool_items)*

        impl ::capgen_runtime::rmcp::ServerHandler for Server {
            fn get_info(&self) -> ::capgen_runtime::rmcp::model::ServerConfig {
                ::capgen_runtime::mcp::server_config(
                    NAME,
                    ::std::option::Option::Some(TITLE),
                    ::std::env!("CARGO_PKG_VERSION"),
                    INSTRUCTIONS,
                    #capabilities,
                )
            }

            async fn list_tools(
                &self,
                _request: ::std::option::Option<::capgen_runtime::rmcp::model::PaginatedRequestParams>,
                _context: #ctx,
            ) -> ::std::result::Result<::capgen_runtime::rmcp::model::ListToolsResult, ::capgen_runtime::rmcp::ErrorData> {
                ::std::result::Result::Ok(::capgen_runtime::rmcp::model::ListToolsResult::with_all_items(Self::tools()))
            }

            fn get_tool(&self, name: &str) -> ::std::option::Option<::capgen_runtime::rmcp::model::Tool> {
                Self::tools().into_iter().find(|tool| tool.name == name)
            }

            async fn call_tool(
                &self,
                request: ::capgen_runtime::rmcp::model::CallToolRequestParams,
                _context: #ctx,
            ) -> ::std::result::Result<::capgen_runtime::rmcp::model::CallToolResponse, ::capgen_runtime::rmcp::ErrorData> {
                #call_tool_body
            }

            #resource_methods
            #prompt_methods
        }

        #auth

        #[doc = " The inbound credentials and Host/Origin allow-lists resolved, a router serving [`Server`]"]
        #[doc = " over Streamable HTTP at `/mcp`; fails when a bound credential is missing."]
        pub fn try_router(
            clients: #root::client::Clients,
        ) -> ::std::result::Result<::capgen_runtime::axum::Router, ::capgen_runtime::ConfigError> {
            ::std::result::Result::Ok(::capgen_runtime::mcp::http_router(
                Server::new(clients),
                inbound_auth()?,
                ::capgen_runtime::mcp::HttpOptions::from_env(),
            ))
        }

        #[doc = " [`Server`] over Streamable HTTP at `/mcp` (loopback `Host`/`Origin` only, plus"]
        #[doc = " `CAPGEN_MCP_ALLOWED_HOSTS`/`CAPGEN_MCP_ALLOWED_ORIGINS`). When the inbound credentials"]
        #[doc = " cannot be resolved, every request fails with 500 naming the missing variable."]
        pub fn router(clients: #root::client::Clients) -> ::capgen_runtime::axum::Router {
            match try_router(clients) {
                ::std::result::Result::Ok(router) => router,
                ::std::result::Result::Err(error) => ::capgen_runtime::mcp::misconfigured_router(&error),
            }
        }

        #[doc = " [`Server`] over stdin/stdout until the client disconnects."]
        pub async fn serve_stdio(
            clients: #root::client::Clients,
        ) -> ::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error + ::std::marker::Send + ::std::marker::Sync>> {
            ::capgen_runtime::mcp::serve_stdio(Server::new(clients)).await
        }
    }
}

/// The first of each name, in spec order (later duplicates cannot be reached).
fn unique_by<T: Clone>(items: &[T], key: impl Fn(&T) -> String) -> Vec<T> {
    let mut seen = BTreeSet::new();
    items.iter().filter(|item| seen.insert(key(item))).cloned().collect()
}

fn tool_fn(tool: &Tool) -> proc_macro2::Ident {
    format_ident!("{}_tool", names::snake_ident(&tool.name).trim_end_matches('_'))
}

/// The schema constant and the `Tool` description of one tool.
fn tool_item(tool: &Tool, exposed: &Exposed, root: &str) -> TokenStream {
    let name = &tool.name;
    let fn_name = tool_fn(tool);
    let schema_name = format_ident!("{}_INPUT_SCHEMA", names::shouty(&tool.name).trim_end_matches('_'));
    let schema = raw_string(&serde_json::to_string(&exposed.input_schema()).unwrap_or_else(|_| "{\"type\":\"object\"}".to_string()));
    let description = match tool.description.as_ref().or(exposed.description.as_ref()) {
        Some(text) => quote! { ::std::option::Option::Some(::std::borrow::Cow::Borrowed(#text)) },
        None => quote! { ::std::option::Option::None },
    };
    let title = tool.title.as_ref().map(|title| quote! { .with_title(#title) });
    let annotations = annotations(&tool.hints);
    let description_doc = tool.description.clone().map(|d| format!("{d}\n"));
    let doc = doc_lines(&[description_doc, Some(format!("The MCP tool `{name}`: calls [`operations::{}`]({root}::operations::{}).", exposed.fn_name, exposed.fn_name))]);
    let schema_doc = format!(" Input schema of `{name}`.");
    quote! {
        #[doc = #schema_doc]
        static #schema_name: ::capgen_runtime::mcp::SchemaCell = ::capgen_runtime::mcp::SchemaCell::new(#schema);

        #doc
        pub fn #fn_name() -> ::capgen_runtime::rmcp::model::Tool {
            ::capgen_runtime::rmcp::model::Tool::new_with_raw(#name, #description, #schema_name.get())
                #title
                #annotations
        }
    }
}

/// `.with_annotations(...)` from the tool's hints, if it has any.
fn annotations(hints: &Hints) -> Option<TokenStream> {
    let setters: Vec<TokenStream> = [
        (hints.read_only, quote!(read_only)),
        (hints.destructive, quote!(destructive)),
        (hints.idempotent, quote!(idempotent)),
        (hints.open_world, quote!(open_world)),
    ]
    .into_iter()
    .filter_map(|(value, setter)| value.map(|value| quote! { .#setter(#value) }))
    .collect();
    (!setters.is_empty()).then(|| {
        quote! { .with_annotations(::capgen_runtime::rmcp::model::ToolAnnotations::new() #(#setters)*) }
    })
}

/// `list_resources` and `read_resource`.
fn resource_methods(ir: &Ir, resources: &[McpResource], root: &TokenStream) -> TokenStream {
    let ctx = quote! { ::capgen_runtime::rmcp::service::RequestContext<::capgen_runtime::rmcp::RoleServer> };
    let listed = resources.iter().map(|resource| {
        let (uri, name) = (&resource.uri, &resource.name);
        let title = resource.title.as_ref().map(|t| quote! { .with_title(#t) });
        let description = resource.description.as_ref().map(|d| quote! { .with_description(#d) });
        let mime = resource.mime_type.as_ref().map(|m| quote! { .with_mime_type(#m) });
        quote! { ::capgen_runtime::rmcp::model::Resource::new(#uri, #name) #title #description #mime }
    });
    let arms = resources.iter().map(|resource| {
        let uri = &resource.uri;
        let mime = match &resource.mime_type {
            Some(mime) => quote! { ::std::option::Option::Some(#mime) },
            None => quote! { ::std::option::Option::None },
        };
        match (resource.exposed, &resource.text) {
            (Some(index), _) => {
                let operation = format_ident!("{}", ir.exposed[index].fn_name);
                quote! {
                    #uri => ::capgen_runtime::mcp::read_dynamic(#uri, #mime, |args| {
                        #root::operations::#operation(&self.clients, args)
                    })
                    .await?,
                }
            }
            (None, Some(text)) => quote! { #uri => ::capgen_runtime::mcp::read_static(#uri, #mime, #text), },
            (None, None) => quote! { #uri => return ::std::result::Result::Err(::capgen_runtime::mcp::unknown_resource(#uri)), },
        }
    });
    quote! {
        async fn list_resources(
            &self,
            _request: ::std::option::Option<::capgen_runtime::rmcp::model::PaginatedRequestParams>,
            _context: #ctx,
        ) -> ::std::result::Result<::capgen_runtime::rmcp::model::ListResourcesResult, ::capgen_runtime::rmcp::ErrorData> {
            ::std::result::Result::Ok(::capgen_runtime::rmcp::model::ListResourcesResult::with_all_items(::std::vec![#(#listed),*]))
        }

        async fn read_resource(
            &self,
            request: ::capgen_runtime::rmcp::model::ReadResourceRequestParams,
            _context: #ctx,
        ) -> ::std::result::Result<::capgen_runtime::rmcp::model::ReadResourceResponse, ::capgen_runtime::rmcp::ErrorData> {
            let result = match request.uri.as_str() {
                #(#arms)*
                other => return ::std::result::Result::Err(::capgen_runtime::mcp::unknown_resource(other)),
            };
            ::std::result::Result::Ok(result.into())
        }
    }
}

/// `list_prompts` and `get_prompt`.
fn prompt_methods(prompts: &[McpPrompt]) -> TokenStream {
    let ctx = quote! { ::capgen_runtime::rmcp::service::RequestContext<::capgen_runtime::rmcp::RoleServer> };
    let listed = prompts.iter().map(|prompt| {
        let name = &prompt.name;
        let description = match &prompt.description {
            Some(d) => quote! { ::std::option::Option::Some(#d) },
            None => quote! { ::std::option::Option::<&str>::None },
        };
        let arguments = prompt.arguments.iter().map(|(arg, description, required)| {
            let description = description.as_ref().map(|d| quote! { .with_description(#d) });
            quote! { ::capgen_runtime::rmcp::model::PromptArgument::new(#arg) #description .with_required(#required) }
        });
        let title = prompt.title.as_ref().map(|t| quote! { .with_title(#t) });
        quote! {
            ::capgen_runtime::rmcp::model::Prompt::new(#name, #description, ::std::option::Option::Some(::std::vec![#(#arguments),*])) #title
        }
    });
    let arms = prompts.iter().map(|prompt| {
        let name = &prompt.name;
        let required: Vec<&String> = prompt.arguments.iter().filter(|(_, _, required)| *required).map(|(n, _, _)| n).collect();
        let check = (!required.is_empty()).then(|| {
            quote! { ::capgen_runtime::mcp::require_prompt_arguments(#name, &[#(#required),*], arguments)?; }
        });
        let messages = prompt.messages.iter().map(|(role, text)| {
            let role = if role.eq_ignore_ascii_case("assistant") { quote!(Assistant) } else { quote!(User) };
            quote! {
                ::capgen_runtime::rmcp::model::PromptMessage::new_text(
                    ::capgen_runtime::rmcp::model::Role::#role,
                    ::capgen_runtime::mcp::render_prompt(#text, arguments),
                )
            }
        });
        let description = prompt.description.as_ref().map(|d| quote! { .with_description(#d) });
        quote! {
            #name => {
                #check
                ::capgen_runtime::rmcp::model::GetPromptResult::new(::std::vec![#(#messages),*]) #description
            }
        }
    });
    let uses_arguments = prompts.iter().any(|p| !p.messages.is_empty() || p.arguments.iter().any(|(_, _, r)| *r));
    let arguments_binding = if uses_arguments { quote!(arguments) } else { quote!(_arguments) };
    quote! {
        async fn list_prompts(
            &self,
            _request: ::std::option::Option<::capgen_runtime::rmcp::model::PaginatedRequestParams>,
            _context: #ctx,
        ) -> ::std::result::Result<::capgen_runtime::rmcp::model::ListPromptsResult, ::capgen_runtime::rmcp::ErrorData> {
            ::std::result::Result::Ok(::capgen_runtime::rmcp::model::ListPromptsResult::with_all_items(::std::vec![#(#listed),*]))
        }

        async fn get_prompt(
            &self,
            request: ::capgen_runtime::rmcp::model::GetPromptRequestParams,
            _context: #ctx,
        ) -> ::std::result::Result<::capgen_runtime::rmcp::model::GetPromptResponse, ::capgen_runtime::rmcp::ErrorData> {
            let #arguments_binding = request.arguments.as_ref();
            let result = match request.name.as_str() {
                #(#arms)*
                other => return ::std::result::Result::Err(::capgen_runtime::mcp::unknown_prompt(other)),
            };
            ::std::result::Result::Ok(result.into())
        }
    }
}

/// `inbound_auth()`: the adapter's `authentication`, with secrets read from binds at start-up.
fn auth_fn(adapter: &McpAdapter) -> TokenStream {
    let (doc, body) = match &adapter.auth {
        None => (
            " Inbound authentication: none (the adapter declares no `authentication`).".to_string(),
            quote! { ::std::result::Result::Ok(::std::option::Option::None) },
        ),
        Some(auth) => {
            let (kind, value) = match auth {
                InboundAuth::Bearer { token } => {
                    let token = secret_tokens(token);
                    ("bearer", quote! { ::capgen_runtime::mcp::InboundAuth::Bearer(#token) })
                }
                InboundAuth::ApiKey { name, value, in_query } => {
                    let value = secret_tokens(value);
                    (
                        "API key",
                        quote! {
                            ::capgen_runtime::mcp::InboundAuth::ApiKey { name: #name.to_owned(), value: #value, in_query: #in_query }
                        },
                    )
                }
                InboundAuth::Basic { username, password } => {
                    let username = secret_tokens(username);
                    let password = secret_tokens(password);
                    (
                        "basic",
                        quote! {
                            ::capgen_runtime::mcp::InboundAuth::Basic { username: #username.expose().to_owned(), password: #password }
                        },
                    )
                }
            };
            (
                format!(" Inbound authentication: {kind}, credentials from the capability's binds (never logged)."),
                quote! { ::std::result::Result::Ok(::std::option::Option::Some(#value)) },
            )
        }
    };
    quote! {
        #[doc = #doc]
        pub fn inbound_auth() -> ::std::result::Result<::std::option::Option<::capgen_runtime::mcp::InboundAuth>, ::capgen_runtime::ConfigError> {
            #body
        }
    }
}

