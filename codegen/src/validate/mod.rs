//! Validate stage: checks across documents, reporting every problem found.
pub mod arazzo;
pub mod naftiko;
pub mod schema;

#[cfg(wip)]
use crate::diagnostics::Diagnostics;
#[cfg(wip)]
use crate::parse::arazzo::ArazzoDoc;
#[cfg(wip)]
use crate::parse::openapi::OpenApiDoc;

#[cfg(wip)]
/// Validates an Arazzo document against the operations of the OpenAPI documents loaded.
pub fn arazzo_against_openapi(doc: &ArazzoDoc, openapi: &[OpenApiDoc], diagnostics: &mut Diagnostics) {
    let _ = (doc, openapi, diagnostics);
}
