//! Every corpus Arazzo document either generates (those are compiled with `#[deny(warnings)]`
//! by `tests/build.rs`) or gets precise errors: the specification's own examples carry known
//! mistakes, and each is reported at its place.

use std::path::{Path, PathBuf};

use capgen::{Inputs, Settings, generate};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/arazzo-oai-examples")
}

/// `(code, line, column)` of every error, sorted.
fn errors(file: &str, sources: &[(&str, &str)]) -> Vec<(String, usize, usize)> {
    let inputs = Inputs {
        arazzo: vec![examples().join(file)],
        sources: sources.iter().map(|(name, file)| (name.to_string(), examples().join(file))).collect(),
        ..Inputs::default()
    };
    let failure = match generate(&inputs, &Settings::default()) {
        Ok(_) => panic!("{file} generates, but it has known mistakes"),
        Err(failure) => failure,
    };
    for diagnostic in failure.diagnostics.iter() {
        assert!(diagnostic.help.is_some(), "{file}: `{}` has a help line", diagnostic.code);
    }
    let mut found: Vec<_> = failure
        .diagnostics
        .iter()
        .filter(|d| d.severity == capgen::Severity::Error)
        .map(|d| (d.code.to_string(), d.span.as_ref().map_or(0, |s| s.line), d.span.as_ref().map_or(0, |s| s.column)))
        .collect();
    found.sort();
    found
}

fn expect(found: Vec<(String, usize, usize)>, expected: &[(&str, usize, usize)]) {
    let expected: Vec<(String, usize, usize)> = expected.iter().map(|(c, l, col)| (c.to_string(), *l, *col)).collect();
    assert_eq!(found, expected);
}

#[test]
fn bnpl_reads_outputs_no_step_declares() {
    expect(
        errors("bnpl-arazzo.yaml", &[("BnplApi", "bnpl-openapi.yaml")]),
        &[("invalid-expression", 260, 63), ("unknown-step-output", 231, 16), ("unknown-step-output", 242, 16), ("unknown-step-output", 253, 16)],
    );
}

#[test]
fn fapi_par_names_an_operation_id_in_the_wrong_case() {
    // The OpenAPI document's operationId is `Par`; operationIds are case-sensitive.
    expect(errors("FAPI-PAR.arazzo.yaml", &[]), &[("unknown-operation-id", 102, 51)]);
}

#[test]
fn login_and_retrieve_pets_points_an_operation_path_at_a_path_item() {
    // `#/paths/~1pet~1findByStatus` names the path item, not its `get` operation.
    expect(
        errors("LoginAndRetrievePets.arazzo.yaml", &[("petStoreDescription", "swagger-petstore.openapi.yaml")]),
        &[("invalid-operation-path", 46, 20)],
    );
}

#[test]
fn extended_parameters_names_an_openapi_document_that_is_not_there() {
    expect(errors("ExtendedParametersExample.arazzo.yaml", &[]), &[("source-not-found", 8, 10)]);
}

#[test]
fn a_remote_source_without_a_local_file_is_an_error_with_the_fix() {
    let inputs = Inputs { arazzo: vec![examples().join("bnpl-arazzo.yaml")], ..Inputs::default() };
    let failure = generate(&inputs, &Settings::default()).expect_err("BnplApi is a remote URL");
    let remote = failure.diagnostics.iter().find(|d| d.code == "unresolved-source").expect("an unresolved-source error");
    assert!(remote.help.as_deref().is_some_and(|h| h.contains("--source")), "{remote:?}");
}

#[test]
fn parameters_the_operation_does_not_declare_are_warned_about() {
    let inputs = Inputs { arazzo: vec![examples().join("pet-coupons.arazzo.yaml")], ..Inputs::default() };
    let generated = generate(&inputs, &Settings::default()).expect("pet-coupons generates");
    let warnings: Vec<(String, usize, String)> = generated
        .warnings
        .iter()
        .filter(|d| d.code == "undeclared-parameter")
        .map(|d| (d.message.clone(), d.span.as_ref().map_or(0, |s| s.line), d.help.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        warnings,
        [
            ("`findPetsByTags` has no query parameter `pet_tags`; it is sent as written".to_string(), 26, "`findPetsByTags` declares these query parameters: tags".to_string()),
            ("`getPetCoupons` names its path parameter `petId`; `pet_id` is read as `petId`".to_string(), 40, "write `name: petId`".to_string()),
        ]
    );
}
