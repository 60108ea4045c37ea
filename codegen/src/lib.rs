//! capgen: compiles Naftiko capabilities, Arazzo workflows and OpenAPI documents into typed Rust.
//!
//! Stages, one module each, data flowing one way:
//! [`parse`] (YAML with spans) → [`validate`] (every diagnostic) → [`ir`] → [`emit`] → [`render`].
pub mod diagnostics;
pub mod emit;
pub mod expr;
pub mod ir;
pub mod parse;
pub mod validate;
