//! Emit stage: IR → Rust token streams, one module per output kind.
pub mod types;
