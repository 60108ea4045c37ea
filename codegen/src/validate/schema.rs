//! `--strict`: validates the capability file against the official Naftiko 1.0.0-alpha2 JSON
//! Schema and reports every deviation (the default mode accepts the looser dialect of real
//! documents).

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::parse::naftiko::Capability;

const NAFTIKO_SCHEMA: &str = include_str!("../../schemas/naftiko-1.0.0-alpha2.schema.json");

/// Appends one warning per schema violation in every file of the capability.
pub fn validate_strict(capability: &Capability, diagnostics: &mut Diagnostics) {
    let schema: serde_json::Value = match serde_json::from_str(NAFTIKO_SCHEMA) {
        Ok(schema) => schema,
        Err(err) => {
            diagnostics.push(Diagnostic::error("internal-schema", format!("the bundled Naftiko schema is unreadable: {err}")));
            return;
        }
    };
    let validator = match jsonschema::validator_for(&schema) {
        Ok(validator) => validator,
        Err(err) => {
            diagnostics.push(Diagnostic::error("internal-schema", format!("the bundled Naftiko schema does not compile: {err}")));
            return;
        }
    };
    // Imported files hold only `consumes`; the main file is what the schema describes.
    let Some(file) = capability.main_file() else { return };
    let instance = match serde_json::to_value(&file.value) {
        Ok(instance) => instance,
        Err(err) => {
            diagnostics.push(
                Diagnostic::error("strict-schema", format!("the document cannot be read as JSON: {err}"))
                    .at(file.span(""))
                    .help("use string keys and JSON-compatible values"),
            );
            return;
        }
    };
    for error in validator.iter_errors(&instance) {
        let pointer = error.instance_path().to_string();
        diagnostics.push(
            Diagnostic::error("strict-schema", format!("does not match the Naftiko 1.0.0-alpha2 schema: {error}"))
                .at(file.span(&pointer))
                .help("`--strict` checks the official schema; without it capgen accepts this dialect"),
        );
    }
}
