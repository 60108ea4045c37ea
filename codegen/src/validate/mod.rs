//! Validate stage: checks across documents, reporting every problem found.
pub mod arazzo;
pub mod naftiko;
