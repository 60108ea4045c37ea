//! Emit stage: IR → Rust token streams, one module per output kind. Emitters see only the IR.
pub mod client;
pub mod crate_files;
pub mod mcp;
pub mod openapi_doc;
pub mod restate;
pub mod operations;
pub mod rest;
pub mod types;
pub mod workflow;

use proc_macro2::TokenStream;

use crate::ir::Ir;

/// One generated module: its name (`client`, `types`) and contents.
#[derive(Clone, Debug)]
pub struct Module {
    pub name: &'static str,
    pub tokens: TokenStream,
}

/// The modules of the generated library, in their fixed order.
pub fn module_names(ir: &Ir) -> Vec<&'static str> {
    let mut names = vec!["types", "client"];
    if !ir.exposed.is_empty() {
        names.push("operations");
    }
    if !ir.rest.is_empty() {
        names.push("rest");
    }
    if !ir.mcp.is_empty() {
        names.push("mcp");
    }
    if !ir.workflows.is_empty() {
        names.push("workflows");
    }
    names
}

/// The OpenAPI document of the REST adapters (`openapi.json`, also embedded in the `rest`
/// module), when there are any.
pub fn openapi_json(ir: &Ir) -> Option<String> {
    (!ir.rest.is_empty()).then(|| openapi_doc::openapi_json(ir))
}

/// One module of [`module_names`]; `openapi_json` is what [`openapi_json`] gave.
pub fn emit_module(ir: &Ir, name: &str, openapi_json: Option<&str>) -> TokenStream {
    match name {
        "types" => {
            let types = types::emit_types(&ir.types);
            quote::quote! {
                #![doc = " Data types generated from the OpenAPI schemas of the consumed operations."]
                #types
            }
        }
        "client" => client::emit_clients(ir),
        "operations" => operations::emit_operations(ir),
        "rest" => rest::emit_rest(ir, openapi_json.unwrap_or_default()),
        "mcp" => mcp::emit_mcp(ir),
        "workflows" => workflow::emit_workflows(ir),
        _ => TokenStream::new(),
    }
}

/// Every module of the generated library, in order (what the proc macro expands to).
pub fn emit(ir: &Ir) -> Vec<Module> {
    let openapi_json = openapi_json(ir);
    module_names(ir)
        .into_iter()
        .map(|name| Module { name, tokens: emit_module(ir, name, openapi_json.as_deref()) })
        .collect()
}
