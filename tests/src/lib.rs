//! Workspace-level test support. Compiling this crate compiles the code capgen generates for
//! every capability in `corpus/` (see `build.rs`); the tests in `tests/` drive generated code
//! end to end.

/// One module per corpus capability, each with `types` and `client`.
#[allow(missing_docs)]
pub mod corpus {
    include!(concat!(env!("OUT_DIR"), "/corpus/mod.rs"));
}
