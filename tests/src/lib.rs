//! Workspace-level test support. Compiling this crate compiles the code capgen generates for
//! every capability in `corpus/` (see `build.rs`); the tests in `tests/` drive generated code
//! end to end.

/// One module per corpus capability. Any compiler warning in generated code fails the build.
#[deny(warnings)]
pub mod corpus {
    include!(concat!(env!("OUT_DIR"), "/corpus/mod.rs"));
}
