//! Parse stage: files → typed documents that remember where each node came from.
pub mod arazzo;
pub mod ikanos;
pub mod naftiko;
pub mod openapi;
pub mod paths;
pub mod yaml;
