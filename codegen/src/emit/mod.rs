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

/// Every module of the generated library, in a fixed order.
pub fn emit(ir: &Ir) -> Vec<Module> {
    let types = types::emit_types(&ir.types);
    let mut modules = vec![
        Module {
            name: "types",
            tokens: quote::quote! {
                #![doc = " Data types generated from the OpenAPI schemas of the consumed operations."]
                #types
            },
        },
        Module { name: "client", tokens: client::emit_clients(ir) },
    ];
    if !ir.exposed.is_empty() {
        modules.push(Module { name: "operations", tokens: operations::emit_operations(ir) });
    }
    if !ir.rest.is_empty() {
        modules.push(Module { name: "rest", tokens: rest::emit_rest(ir) });
    }
    if !ir.mcp.is_empty() {
        modules.push(Module { name: "mcp", tokens: mcp::emit_mcp(ir) });
    }
    if !ir.workflows.is_empty() {
        modules.push(Module { name: "workflows", tokens: workflow::emit_workflows(ir) });
    }
    modules
}
