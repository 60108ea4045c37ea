//! Workflow IR: Arazzo workflows lowered for the workflow emitter (in progress).

use crate::generate::LoadedArazzo;
use crate::ir::ConsumedApi;
use crate::parse::openapi::OpenApiDoc;

/// One Arazzo workflow.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub workflow_id: String,
}

/// Lowers every workflow of the loaded Arazzo documents.
pub fn lower(arazzo: &[LoadedArazzo], openapi: &[OpenApiDoc], apis: &[ConsumedApi]) -> Vec<Workflow> {
    let _ = (arazzo, openapi, apis);
    Vec::new()
}
