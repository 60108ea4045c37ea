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
fn bnpl_reads_outputs_no_step_declares_as_absent_values() {
    // Runners read an output no step declares as absent, and `$steps.x.y` as `$steps.x.outputs.y`:
    // the document generates, with a warning at each place.
    let inputs = Inputs {
        arazzo: vec![examples().join("bnpl-arazzo.yaml")],
        sources: [("BnplApi".to_string(), examples().join("bnpl-openapi.yaml"))].into_iter().collect(),
        ..Inputs::default()
    };
    let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    let mut found: Vec<(&str, usize, usize)> = generated
        .warnings
        .iter()
        .filter(|d| d.code != "undeclared-parameter")
        .map(|d| (d.code, d.span.as_ref().map_or(0, |s| s.line), d.span.as_ref().map_or(0, |s| s.column)))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [("legacy-step-without-outputs", 260, 63), ("unknown-step-output", 231, 16), ("unknown-step-output", 242, 16), ("unknown-step-output", 253, 16)]
    );
    let Err(strict) = generate(&inputs, &Settings { strict: true, ..Settings::default() }) else { panic!("--strict rejects the loose forms") };
    assert_eq!(strict.diagnostics.error_count(), 4, "{strict}");
}

/// Each warning as (code, line, help line).
fn code_line_help(generated: &capgen::Generated) -> Vec<(&'static str, usize, String)> {
    generated.warnings.iter().map(|d| (d.code, d.span.as_ref().map_or(0, |s| s.line), d.help.clone().unwrap_or_default())).collect()
}

fn loose_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arazzo-loose/loose.arazzo.yaml")
}

/// Every loose form of `tests/fixtures/arazzo-loose`: its warning code, the standard form in the
/// help line, and what the generated code reads.
#[test]
fn loose_forms_compile_with_the_meaning_peers_give_them() {
    let inputs = Inputs { arazzo: vec![loose_fixture()], ..Inputs::default() };
    let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    let warnings = code_line_help(&generated);
    let expected = [
        ("legacy-operation-id-source", 14, "write `$sourceDescriptions.items.createItem`"),
        ("undeclared-input", 19, "declared inputs: name; or add `owner` to the `inputs` schema"),
        ("legacy-pointer-without-slash", 24, "write `$response.body#/id`"),
        ("legacy-body-dot-path", 25, "write `$response.body#/name`"),
        ("legacy-response-headers", 26, "write `$response.header.Location`"),
        ("legacy-operation-path-source", 28, "write `{$sourceDescriptions.items.url}#/paths/~1items~1{id}/get`"),
        ("legacy-step-without-outputs", 30, "write `$steps.create.outputs.id`"),
        ("legacy-step-output-path", 36, "write `$steps.read.outputs.item#/tags/0`"),
        ("unknown-step-output", 38, "step `read` declares: item; or add `etag` to its `outputs`"),
    ];
    for (code, line, help) in expected {
        assert!(warnings.iter().any(|(c, l, h)| *c == code && *l == line && h == help), "missing {code} at {line}: {warnings:#?}");
    }
    assert_eq!(warnings.len(), expected.len(), "{warnings:#?}");
    assert!(capgen::validate::arazzo::LOOSE_FORMS.iter().all(|c| !c.is_empty()));

    let code = generated.render_module("workflows").expect("a workflows module").unwrap_or_else(|f| panic!("{f}"));
    for meaning in [
        "pointer(&body, \"/name\")",                            // $response.body.name
        "\"/id\"",                                              // $response.body#id
        "\"Location\"",                                         // $response.headers.Location
        "pointer(&outputs.read_item, \"/tags/0\")",             // ...outputs.item.tags[0]
        "missing: ::serde_json::Value::Null",                    // undeclared step output
    ] {
        assert!(code.contains(meaning), "`{meaning}` not in:\n{code}");
    }
    // The short operationId and the bare operationPath name the operations of `items`.
    let client = generated.render_module("client").expect("a client module").unwrap_or_else(|f| panic!("{f}"));
    assert!(client.contains("pub async fn create_item") && client.contains("pub async fn get_item"), "{client}");
}

#[test]
fn strict_turns_every_loose_form_into_an_error() {
    let inputs = Inputs { arazzo: vec![loose_fixture()], ..Inputs::default() };
    let Err(failure) = generate(&inputs, &Settings { strict: true, ..Settings::default() }) else { panic!("--strict rejects them") };
    let errors: Vec<&str> = failure.diagnostics.iter().filter(|d| d.severity == capgen::Severity::Error).map(|d| d.code).collect();
    assert_eq!(errors.len(), 9, "{failure}");
    assert!(errors.iter().all(|c| capgen::validate::arazzo::LOOSE_FORMS.contains(c)), "{errors:?}");
}

/// The Jentic documents of `tests/corpus/arazzo-public`: every one generates (`tests/build.rs`
/// compiles them), and only with warnings about forms peers accept.
#[test]
fn arazzo_public_documents_all_generate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/arazzo-public");
    let mut generated_count = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).expect("checked in").flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in &dirs {
        let inputs = Inputs { arazzo: vec![dir.join("workflows.arazzo.json")], ..Inputs::default() };
        let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{}: {f}", dir.display()));
        assert!(generated.warnings.iter().all(|d| d.help.is_some()), "{}", dir.display());
        generated_count += 1;
    }
    assert_eq!(generated_count, 25);
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

fn workflow_source_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arazzo-loose/workflow-source.arazzo.yaml")
}

/// A step runs a workflow of another document (`type: arazzo` source): that document is loaded
/// and compiled into the same crate, and the step calls its function. Ids with spaces inside
/// expressions are read up to the `.` that ends them, with a warning.
#[test]
fn workflows_of_a_type_arazzo_source_are_compiled_and_called() {
    let inputs = Inputs { arazzo: vec![workflow_source_fixture()], ..Inputs::default() };
    let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    let warnings = code_line_help(&generated);
    assert_eq!(
        warnings,
        [
            ("legacy-id-with-spaces", 27, "rename `create item` to `create_item` and write `$steps.create_item.outputs.id`".to_string()),
            ("legacy-id-with-spaces", 29, "rename `create item` to `create_item` and write `$steps.create_item.outputs.id != null`".to_string()),
            ("legacy-id-with-spaces", 33, "rename `create item` to `create_item` and write `$steps.create_item.outputs.id`".to_string()),
        ]
    );
    let ids: Vec<&str> = generated.ir.workflows.iter().map(|w| w.workflow_id.as_str()).collect();
    assert_eq!(ids, ["createThenRead", "readItem"]);
    assert!(generated.ir.workflows.iter().all(|w| w.unsupported.is_none()));
    let code = generated.render_module("workflows").expect("a workflows module").unwrap_or_else(|f| panic!("{f}"));
    assert!(code.contains("run_read_item(clients, &called_inputs, run)"), "{code}");

    let Err(strict) = generate(&inputs, &Settings { strict: true, ..Settings::default() }) else { panic!("--strict rejects ids with spaces") };
    assert_eq!(strict.diagnostics.error_count(), 3, "{strict}");
}

#[test]
fn a_workflow_the_arazzo_source_does_not_have_is_an_error_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = workflow_source_fixture().parent().expect("fixture dir").to_path_buf();
    for file in ["openapi.yaml", "reading.arazzo.yaml"] {
        std::fs::copy(fixtures.join(file), dir.path().join(file)).expect("copy");
    }
    let text = std::fs::read_to_string(workflow_source_fixture()).expect("fixture").replace("reading.readItem", "reading.readItems");
    let path = dir.path().join("main.arazzo.yaml");
    std::fs::write(&path, text).expect("write");
    let Err(failure) = generate(&Inputs { arazzo: vec![path], ..Inputs::default() }, &Settings::default()) else {
        panic!("readItems does not exist")
    };
    let error = failure.diagnostics.iter().find(|d| d.code == "unknown-workflow-id").unwrap_or_else(|| panic!("{failure}"));
    assert_eq!(error.message, "source `reading` has no workflow `readItems`");
    assert_eq!(error.help.as_deref(), Some("did you mean `readItem`?"));
    assert_eq!(error.span.as_ref().map(|s| (s.line, s.column)), Some((25, 45)));
}
