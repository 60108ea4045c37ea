//! Emit stage: IR → Rust token streams, one module per output kind. Emitters see only the IR.
#[cfg(wip)]
pub mod client;
#[cfg(wip)]
pub mod crate_files;
pub mod types;

#[cfg(wip)]
use proc_macro2::TokenStream;

#[cfg(wip)]
use crate::ir::Ir;

#[cfg(wip)]
/// One generated module: its name (`client`, `types`) and contents.
#[derive(Clone, Debug)]
pub struct Module {
    pub name: &'static str,
    pub tokens: TokenStream,
}

#[cfg(wip)]
/// Every module of the generated library, in a fixed order.
pub fn emit(ir: &Ir) -> Vec<Module> {
    let types = types::emit_types(&ir.types);
    vec![
        Module {
            name: "types",
            tokens: quote::quote! {
                #![doc = "Data types generated from the OpenAPI schemas of the consumed operations."]
                #types
            },
        },
        Module { name: "client", tokens: client::emit_clients(ir) },
    ]
}
