//! Validate stage: checks across documents, reporting every problem found.
pub mod arazzo;
pub mod naftiko;
pub mod schema;

use crate::diagnostics::Diagnostics;
use crate::parse::arazzo::ArazzoDoc;
use crate::parse::openapi::OpenApiDoc;

/// Validates an Arazzo document against the operations of its source descriptions.
/// `sources` pairs each source name with its loaded document (`None` when it could not be
/// loaded; that was reported already).
/// `workflow_sources` pairs each `type: arazzo` source with its loaded document.
pub fn arazzo_against_openapi(
    doc: &ArazzoDoc,
    sources: &[(String, Option<&OpenApiDoc>)],
    workflow_sources: &[(String, Option<&ArazzoDoc>)],
    diagnostics: &mut Diagnostics,
) {
    let mut known = arazzo::KnownOperations::default();
    for (name, other) in workflow_sources {
        if let Some(other) = other {
            known.workflows.insert(name.clone(), other.workflows.iter().map(|w| w.workflow_id.clone()).collect());
        }
    }
    for (name, openapi) in sources {
        let Some(openapi) = openapi else { continue };
        known.sources.insert(
            name.clone(),
            arazzo::SourceOperations {
                operation_ids: openapi.operations.iter().filter_map(|op| op.operation_id.clone()).collect(),
                paths: openapi.operations.iter().map(|op| (op.path.clone(), op.method.to_ascii_lowercase())).collect(),
                parameters: openapi
                    .operations
                    .iter()
                    .filter_map(|op| {
                        let params = op.parameters.iter().map(|p| (p.name.clone(), p.location.as_str())).collect();
                        Some((op.operation_id.clone()?, params))
                    })
                    .collect(),
            },
        );
    }
    arazzo::validate_arazzo(doc, &known, diagnostics);
}
