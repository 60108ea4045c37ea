//! capgen: compiles Naftiko capabilities, Arazzo workflows and OpenAPI documents into typed Rust.
//!
//! Stages, one module each, data flowing one way:
//! [`parse`] (YAML with spans) → [`validate`] (every diagnostic) → [`ir`] → [`emit`] → [`render`].
//! [`generate()`] runs them all; the CLI, the proc macro and [`Builder`] (for build scripts) are
//! thin front-ends over it.
// Diagnostics are large on purpose (span, message, label, help) and travel only on error paths.
#![allow(clippy::result_large_err)]

mod builder;
pub mod diagnostics;
pub mod emit;
pub mod expr;
mod generate;
pub mod ir;
pub mod migrate;
pub mod parse;
pub mod render;
pub mod validate;

pub use diagnostics::{Diagnostic, Diagnostics, Severity, SourceMap, Span};
pub use emit::crate_files::RuntimeDependency;
pub use builder::Builder;
pub use parse::arazzo::LoadedArazzo;
pub use generate::{Checked, Failure, Generated, Inputs, Settings, check, check_and_lower, generate};
