//! MCP emitter: an rmcp server with one tool per exposed MCP tool (in progress).

use proc_macro2::TokenStream;

use crate::ir::Ir;

/// The `mcp` module.
pub fn emit_mcp(ir: &Ir) -> TokenStream {
    let _ = ir;
    TokenStream::new()
}
