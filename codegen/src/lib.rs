//! capgen: compiles Naftiko capabilities, Arazzo workflows and OpenAPI documents into typed Rust.
pub mod diagnostics;
pub mod parse;
