//! REST emitter: an axum router with one handler per exposed REST route (in progress).

use proc_macro2::TokenStream;

use crate::ir::Ir;

/// The `rest` module.
pub fn emit_rest(ir: &Ir) -> TokenStream {
    let _ = ir;
    TokenStream::new()
}
