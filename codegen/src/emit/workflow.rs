//! Workflow emitter: one `async fn` per Arazzo workflow (in progress).

use proc_macro2::TokenStream;

use crate::ir::Ir;

/// The `workflows` module.
pub fn emit_workflows(ir: &Ir) -> TokenStream {
    let _ = ir;
    TokenStream::new()
}
