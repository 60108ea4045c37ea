//! MCP emitter: one rmcp server per exposed MCP adapter, written out by hand (no rmcp macros, so
//! the generated crate needs no direct rmcp dependency): a `Server` holding the clients, one
//! `Tool` description per exposed tool (input schema from [`Exposed::input_schema`], annotations
//! from hints), and a `ServerHandler` whose `call_tool` dispatches by name to the
//! `operations::<fn>` that implements each tool. Resources and prompts of the adapter are served
//! the same way. `router` (Streamable HTTP at `/mcp`) and `serve_stdio` are the entry points the
//! generated binary calls; everything reusable lives in `capgen_runtime::mcp` (imported as
//! `runtime`), so each tool is a schema, a `Tool` description and one `match` arm.
//!
//! [`Exposed::input_schema`]: crate::ir::expose::Exposed::input_schema

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::client::{doc_lines, raw_string, secret_tokens};
use crate::ir::expose::{CACHE_SCOPE_META, CacheHints, Exposed, Hints, InboundAuth, McpAdapter, McpPrompt, McpResource, TTL_MS_META, Tool};
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
        Some(text) => quote! { Some(#text) },
        None => quote! { None },
    };

    let tools = unique_by(&adapter.tools, |tool| tool.name.clone());
    let resources = unique_by(&adapter.resources, |resource| resource.uri.clone());
    let prompts = unique_by(&adapter.prompts, |prompt| prompt.name.clone());

    let tool_items = tools.iter().map(|tool| tool_item(tool, &ir.exposed[tool.exposed], &adapter.cache));
    let tool_fns: Vec<_> = tools.iter().map(tool_fn).collect();
    let call_arms = tools.iter().map(|tool| {
        let name = &tool.name;
        let operation = format_ident!("{}", ir.exposed[tool.exposed].fn_name);
        quote! {
            #name => runtime::call(#name, request.arguments, |args| operations::#operation(&self.clients, args)).await,
        }
    });

    let capabilities = {
        let (has_tools, has_resources, has_prompts) = (!tools.is_empty(), !resources.is_empty(), !prompts.is_empty());
        quote! {
            runtime::Capabilities { tools: #has_tools, resources: #has_resources, prompts: #has_prompts }
        }
    };
    let resource_methods = (!resources.is_empty()).then(|| resource_methods(ir, &resources));
    let prompt_methods = (!prompts.is_empty()).then(|| prompt_methods(&prompts));
    let auth = auth_fn(adapter);
    let port_doc = format!(" The port the capability names for this server (`port` of `{namespace}`).");
    let tool_names = tools.iter().map(|tool| &tool.name);
    let (get_tool_name, get_tool_body) = if tools.is_empty() {
        (quote!(_name), quote!(None))
    } else {
        (quote!(name), quote! {
            match name {
                #(#tool_names => Some(#tool_fns()),)*
                _ => None,
            }
        })
    };
    let (tools_list, call_tool_body) = if tools.is_empty() {
        (quote! { Vec::new() }, quote! { Err(runtime::unknown_tool(&request.name)) })
    } else {
        (
            quote! { vec![#(#tool_fns()),*] },
            quote! {
                let result = match request.name.as_ref() {
                    #(#call_arms)*
                    other => return Err(runtime::unknown_tool(other)),
                };
                Ok(result.into())
            },
        )
    };

    // What the items below name: the runtime's MCP support as `runtime`, rmcp's protocol types
    // as `model::…`, the clients and (when a tool or resource calls one) the operations.
    let schema_cell = (!tools.is_empty()).then(|| quote!(, SchemaCell));
    let calls_operations = !tools.is_empty() || resources.iter().any(|r| r.exposed.is_some());
    let operations_import = calls_operations.then(|| quote! { use #root::operations; });
    // A server whose tools and resources call nothing keeps its clients for later use.
    let clients_allow = (!calls_operations).then(|| quote! { #[allow(dead_code)] });
    let imports = quote! {
        use ::capgen_runtime::ConfigError;
        use ::capgen_runtime::mcp::{self as runtime #schema_cell};
        use ::capgen_runtime::rmcp::model;
        use ::capgen_runtime::rmcp::service::RequestContext;
        use ::capgen_runtime::rmcp::{ErrorData, RoleServer, ServerHandler};
        use #root::client::Clients;
        #operations_import
    };

    quote! {
        #imports

        #[doc = " The server's name in `initialize` (the adapter's namespace)."]
        pub const NAME: &str = #namespace;
        #[doc = " The server's title in `initialize` (the capability's label)."]
        pub const TITLE: &str = #title;
        #[doc = " Instructions sent to clients (the adapter's description)."]
        pub const INSTRUCTIONS: Option<&str> = #instructions;
        #[doc = #port_doc]
        pub const DEFAULT_PORT: u16 = #port;

        #[doc = " The MCP server: each tool calls the exposed operation of the same name."]
        #[derive(Clone, Debug)]
        pub struct Server {
            #clients_allow
            clients: Clients,
        }

        impl Server {
            #[doc = " A server calling upstreams through `clients`."]
            pub fn new(clients: Clients) -> Self {
                Self { clients }
            }

            #[doc = " Every tool, in spec order."]
            pub fn tools() -> Vec<model::Tool> {
                #tools_list
            }
        }

        #(#tool_items)*

        impl ServerHandler for Server {
            fn get_info(&self) -> model::ServerConfig {
                runtime::server_config(NAME, Some(TITLE), env!("CARGO_PKG_VERSION"), INSTRUCTIONS, #capabilities)
            }

            async fn list_tools(
                &self,
                _request: Option<model::PaginatedRequestParams>,
                _context: RequestContext<RoleServer>,
            ) -> Result<model::ListToolsResult, ErrorData> {
                Ok(model::ListToolsResult::with_all_items(Self::tools()))
            }

            fn get_tool(&self, #get_tool_name: &str) -> Option<model::Tool> {
                #get_tool_body
            }

            async fn call_tool(
                &self,
                request: model::CallToolRequestParams,
                _context: RequestContext<RoleServer>,
            ) -> Result<model::CallToolResponse, ErrorData> {
                #call_tool_body
            }

            #resource_methods
            #prompt_methods
        }

        #auth

        #[doc = " The inbound credentials and Host/Origin allow-lists resolved, a router serving [`Server`]"]
        #[doc = " over Streamable HTTP at `/mcp`; fails when a bound credential is missing."]
        pub fn try_router(clients: Clients) -> Result<::capgen_runtime::axum::Router, ConfigError> {
            Ok(runtime::http_router(Server::new(clients), inbound_auth()?, runtime::HttpOptions::from_env()))
        }

        #[doc = " [`Server`] over Streamable HTTP at `/mcp` (loopback `Host`/`Origin` only, plus"]
        #[doc = " `CAPGEN_MCP_ALLOWED_HOSTS`/`CAPGEN_MCP_ALLOWED_ORIGINS`). When the inbound credentials"]
        #[doc = " cannot be resolved, every request fails with 500 naming the missing variable."]
        pub fn router(clients: Clients) -> ::capgen_runtime::axum::Router {
            match try_router(clients) {
                Ok(router) => router,
                Err(error) => runtime::misconfigured_router(&error),
            }
        }

        #[doc = " [`Server`] over stdin/stdout until the client disconnects."]
        pub async fn serve_stdio(clients: Clients) -> Result<(), Box<dyn ::std::error::Error + Send + Sync>> {
            runtime::serve_stdio(Server::new(clients)).await
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
fn tool_item(tool: &Tool, exposed: &Exposed, cache: &CacheHints) -> TokenStream {
    let name = &tool.name;
    let fn_name = tool_fn(tool);
    let schema_name = format_ident!("{}_INPUT_SCHEMA", names::shouty(&tool.name).trim_end_matches('_'));
    let schema = raw_string(&serde_json::to_string(&exposed.input_schema()).unwrap_or_else(|_| "{\"type\":\"object\"}".to_string()));
    let description = match tool.description.as_ref().or(exposed.description.as_ref()) {
        Some(text) => quote! { Some(#text.into()) },
        None => quote! { None },
    };
    let title = tool.title.as_ref().map(|title| quote! { .with_title(#title) });
    let annotations = annotations(&tool.hints);
    let meta = cache_meta(cache);
    let mut lines = Vec::new();
    if let Some(description) = &tool.description {
        lines.extend([Some(description.clone()), Some(String::new())]);
    }
    lines.push(Some(format!("The MCP tool `{name}`: calls [`operations::{}`].", exposed.fn_name)));
    let doc = doc_lines(&lines);
    let schema_doc = format!(" Input schema of `{name}`.");
    quote! {
        #[doc = #schema_doc]
        static #schema_name: SchemaCell = SchemaCell::new(#schema);

        #doc
        pub fn #fn_name() -> model::Tool {
            model::Tool::new_with_raw(#name, #description, #schema_name.get())
                #title
                #annotations
                #meta
        }
    }
}

/// `.with_meta(...)` carrying the adapter's caching hints, if it has any.
fn cache_meta(cache: &CacheHints) -> Option<TokenStream> {
    let mut meta = serde_json::Map::new();
    if let Some(ttl) = cache.ttl_ms {
        meta.insert(TTL_MS_META.into(), ttl.into());
    }
    if let Some(scope) = &cache.scope {
        meta.insert(CACHE_SCOPE_META.into(), scope.clone().into());
    }
    (!meta.is_empty()).then(|| {
        let text = serde_json::Value::Object(meta).to_string();
        quote! {
            .with_meta(model::MetaObject(::serde_json::from_str(#text).unwrap_or_default()))
        }
    })
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
        quote! { .with_annotations(model::ToolAnnotations::new() #(#setters)*) }
    })
}

/// `list_resources` and `read_resource`.
fn resource_methods(ir: &Ir, resources: &[McpResource]) -> TokenStream {
    let listed = resources.iter().map(|resource| {
        let (uri, name) = (&resource.uri, &resource.name);
        let title = resource.title.as_ref().map(|t| quote! { .with_title(#t) });
        let description = resource.description.as_ref().map(|d| quote! { .with_description(#d) });
        let mime = resource.mime_type.as_ref().map(|m| quote! { .with_mime_type(#m) });
        quote! { model::Resource::new(#uri, #name) #title #description #mime }
    });
    let arms = resources.iter().map(|resource| {
        let uri = &resource.uri;
        let mime = match &resource.mime_type {
            Some(mime) => quote! { Some(#mime) },
            None => quote! { None },
        };
        match (resource.exposed, &resource.text) {
            (Some(index), _) => {
                let operation = format_ident!("{}", ir.exposed[index].fn_name);
                quote! {
                    #uri => runtime::read_dynamic(#uri, #mime, |args| operations::#operation(&self.clients, args)).await?,
                }
            }
            (None, Some(text)) => quote! { #uri => runtime::read_static(#uri, #mime, #text), },
            (None, None) => quote! { #uri => return Err(runtime::unknown_resource(#uri)), },
        }
    });
    quote! {
        async fn list_resources(
            &self,
            _request: Option<model::PaginatedRequestParams>,
            _context: RequestContext<RoleServer>,
        ) -> Result<model::ListResourcesResult, ErrorData> {
            Ok(model::ListResourcesResult::with_all_items(vec![#(#listed),*]))
        }

        async fn read_resource(
            &self,
            request: model::ReadResourceRequestParams,
            _context: RequestContext<RoleServer>,
        ) -> Result<model::ReadResourceResponse, ErrorData> {
            let result = match request.uri.as_str() {
                #(#arms)*
                other => return Err(runtime::unknown_resource(other)),
            };
            Ok(result.into())
        }
    }
}

/// `list_prompts` and `get_prompt`.
fn prompt_methods(prompts: &[McpPrompt]) -> TokenStream {
    let listed = prompts.iter().map(|prompt| {
        let name = &prompt.name;
        let description = match &prompt.description {
            Some(d) => quote! { Some(#d) },
            None => quote! { Option::<&str>::None },
        };
        let arguments = prompt.arguments.iter().map(|(arg, description, required)| {
            let description = description.as_ref().map(|d| quote! { .with_description(#d) });
            quote! { model::PromptArgument::new(#arg) #description .with_required(#required) }
        });
        let title = prompt.title.as_ref().map(|t| quote! { .with_title(#t) });
        quote! {
            model::Prompt::new(#name, #description, Some(vec![#(#arguments),*])) #title
        }
    });
    let arms = prompts.iter().map(|prompt| {
        let name = &prompt.name;
        let required: Vec<&String> = prompt.arguments.iter().filter(|(_, _, required)| *required).map(|(n, _, _)| n).collect();
        let check = (!required.is_empty()).then(|| {
            quote! { runtime::require_prompt_arguments(#name, &[#(#required),*], arguments)?; }
        });
        let messages = prompt.messages.iter().map(|(role, text)| {
            let role = if role.eq_ignore_ascii_case("assistant") { quote!(Assistant) } else { quote!(User) };
            quote! {
                model::PromptMessage::new_text(model::Role::#role, runtime::render_prompt(#text, arguments))
            }
        });
        let description = prompt.description.as_ref().map(|d| quote! { .with_description(#d) });
        quote! {
            #name => {
                #check
                model::GetPromptResult::new(vec![#(#messages),*]) #description
            }
        }
    });
    let uses_arguments = prompts.iter().any(|p| !p.messages.is_empty() || p.arguments.iter().any(|(_, _, r)| *r));
    let arguments_binding = if uses_arguments { quote!(arguments) } else { quote!(_arguments) };
    quote! {
        async fn list_prompts(
            &self,
            _request: Option<model::PaginatedRequestParams>,
            _context: RequestContext<RoleServer>,
        ) -> Result<model::ListPromptsResult, ErrorData> {
            Ok(model::ListPromptsResult::with_all_items(vec![#(#listed),*]))
        }

        async fn get_prompt(
            &self,
            request: model::GetPromptRequestParams,
            _context: RequestContext<RoleServer>,
        ) -> Result<model::GetPromptResponse, ErrorData> {
            let #arguments_binding = request.arguments.as_ref();
            let result = match request.name.as_str() {
                #(#arms)*
                other => return Err(runtime::unknown_prompt(other)),
            };
            Ok(result.into())
        }
    }
}

/// `inbound_auth()`: the adapter's `authentication`, with secrets read from binds at start-up.
fn auth_fn(adapter: &McpAdapter) -> TokenStream {
    let (doc, body) = match &adapter.auth {
        None => (
            " Inbound authentication: none (the adapter declares no `authentication`).".to_string(),
            quote! { Ok(None) },
        ),
        Some(auth) => {
            let (kind, value) = match auth {
                InboundAuth::Bearer { token } => {
                    let token = secret_tokens(token);
                    ("bearer", quote! { runtime::InboundAuth::Bearer(#token) })
                }
                InboundAuth::ApiKey { name, value, in_query } => {
                    let value = secret_tokens(value);
                    (
                        "API key",
                        quote! {
                            runtime::InboundAuth::ApiKey { name: #name.to_owned(), value: #value, in_query: #in_query }
                        },
                    )
                }
                InboundAuth::Basic { username, password } => {
                    let username = secret_tokens(username);
                    let password = secret_tokens(password);
                    (
                        "basic",
                        quote! {
                            runtime::InboundAuth::Basic { username: #username.expose().to_owned(), password: #password }
                        },
                    )
                }
            };
            (
                format!(" Inbound authentication: {kind}, credentials from the capability's binds (never logged)."),
                quote! { Ok(Some(#value)) },
            )
        }
    };
    quote! {
        #[doc = #doc]
        pub fn inbound_auth() -> Result<Option<runtime::InboundAuth>, ConfigError> {
            #body
        }
    }
}

