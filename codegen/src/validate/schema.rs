//! `--strict`: validates the capability file against its official JSON Schema, chosen by the
//! root key (`naftiko:` → Naftiko 1.0.0-alpha2, `ikanos:` → Ikanos 1.0.0-beta4), and reports
//! every deviation, one line each: the instance path, the failing keyword, the reason. The
//! default mode accepts the looser dialect of real documents.
//!
//! `oneOf`/`anyOf` failures are reported through the branch that came closest (fewest errors),
//! so the message names the deviating field rather than the whole adapter.

use jsonschema::error::ValidationErrorKind;
use jsonschema::ValidationError;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::parse::ikanos;
use crate::parse::naftiko::Capability;

const NAFTIKO_SCHEMA: &str = include_str!("../../schemas/naftiko-1.0.0-alpha2.schema.json");
const IKANOS_SCHEMA: &str = include_str!("../../schemas/ikanos-1.0.0-beta4.schema.json");

/// Appends one diagnostic per schema violation in the main file of the capability.
pub fn validate_strict(capability: &Capability, diagnostics: &mut Diagnostics) {
    // Imported files hold only `consumes`; the main file is what the schema describes.
    let Some(file) = capability.main_file() else { return };
    // The file as written (an Ikanos document's `value` is its normalised form).
    let written: serde_yaml::Value = serde_yaml::from_str(&file.text).unwrap_or_else(|_| file.value.clone());
    for (pointer, message) in violations(&written) {
        diagnostics.push(
            Diagnostic::error("strict-schema", message)
                .at(file.original_span(&pointer))
                .help("`--strict` checks the official schema; without it capgen accepts this dialect"),
        );
    }
}

/// Every violation of the schema the document's root key names: (pointer of the deviating
/// node, one-line message naming its instance path and the failing keyword).
pub fn violations(document: &serde_yaml::Value) -> Vec<(String, String)> {
    let (name, text, version) = if ikanos::is_ikanos(document) {
        // beta5 differs from beta4 only in the version constant.
        let version = document.get("ikanos").and_then(serde_yaml::Value::as_str).unwrap_or("1.0.0-beta4");
        let version = if ikanos::VERSIONS.contains(&version) { version } else { "1.0.0-beta4" };
        ("Ikanos", IKANOS_SCHEMA.replace("\"const\": \"1.0.0-beta4\"", &format!("\"const\": \"{version}\"")), "1.0.0-beta4")
    } else {
        ("Naftiko", NAFTIKO_SCHEMA.to_string(), "1.0.0-alpha2")
    };
    let schema: serde_json::Value = match serde_json::from_str(&text) {
        Ok(schema) => schema,
        Err(err) => return vec![(String::new(), format!("the bundled {name} schema is unreadable: {err}"))],
    };
    let validator = match jsonschema::validator_for(&schema) {
        Ok(validator) => validator,
        Err(err) => return vec![(String::new(), format!("the bundled {name} schema does not compile: {err}"))],
    };
    let instance = match serde_json::to_value(document) {
        Ok(instance) => instance,
        Err(err) => return vec![(String::new(), format!("the document cannot be read as JSON (use string keys): {err}"))],
    };
    let mut out = Vec::new();
    for error in validator.iter_errors(&instance) {
        for leaf in leaves(&error) {
            let pointer = leaf.instance_path().to_string();
            let shown = if pointer.is_empty() { "/".to_string() } else { pointer.clone() };
            let line = format!(
                "does not match the {name} {version} schema at `{shown}`: `{}` failed: {}",
                leaf.kind().keyword(),
                one_line(&leaf.masked().to_string())
            );
            // An unexpected field is located at the field itself.
            let at = match leaf.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } if !unexpected.is_empty() => {
                    crate::parse::yaml::child(&pointer, &unexpected[0])
                }
                _ => pointer,
            };
            if !out.iter().any(|(p, l)| *p == at && *l == line) {
                out.push((at, line));
            }
        }
    }
    out
}

/// The errors that name a field: a `oneOf`/`anyOf` failure is replaced by the errors of its
/// closest branch.
fn leaves<'a>(error: &'a ValidationError<'a>) -> Vec<&'a ValidationError<'a>> {
    let context = match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => context,
        _ => return vec![error],
    };
    let best = context
        .iter()
        .filter(|branch| !branch.is_empty())
        .min_by_key(|branch| (branch.len(), std::cmp::Reverse(branch.iter().map(|e| e.instance_path().to_string().len()).max())));
    match best {
        Some(branch) => branch.iter().flat_map(|e| leaves(e)).collect(),
        None => vec![error],
    }
}

/// The message on one line, at most 200 characters.
fn one_line(message: &str) -> String {
    let flat: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<(String, String)> {
        violations(&serde_yaml::from_str(text).unwrap())
    }

    #[test]
    fn ikanos_documents_use_the_ikanos_schema_and_name_the_field() {
        let found = check(
            "ikanos: 1.0.0-beta4\ninfo:\n  display: x\n  description: d\ncapability:\n  exposes:\n  - type: mcp\n    port: 3001\n    namespace: t\n    tools:\n      get-ship:\n        description: d\n        call: r.get\n        bogus: 1\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "/capability/exposes/0/tools/get-ship/bogus");
        assert!(found[0].1.contains("at `/capability/exposes/0/tools/get-ship`"));
        assert!(found[0].1.contains("`additionalProperties` failed"), "{}", found[0].1);
        assert!(found[0].1.len() < 300);
    }

    #[test]
    fn the_tutorial_is_valid_in_both_forms() {
        for path in [
            "../tests/corpus/ikanos-beta4/tutorial/step-9-shipyard-aggregates.yml",
            "../tests/corpus/naftiko-framework-alpha2/tutorial/step-1-shipyard-mock.yml",
        ] {
            let text = std::fs::read_to_string(path).unwrap();
            assert_eq!(check(&text), Vec::<(String, String)>::new(), "{path}");
        }
        let found = check("naftiko: 1.0.0-alpha2\ncapability: 3\n");
        assert!(found.iter().all(|(_, l)| l.contains("Naftiko 1.0.0-alpha2")), "{found:?}");
        assert!(!found.is_empty());
    }
}
