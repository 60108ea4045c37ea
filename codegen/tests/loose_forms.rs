//! Loose forms real Naftiko documents use (`tests/loose/`): each generates, with a warning
//! whose help shows the standard form, and `--strict` turns those warnings into errors.

use std::path::PathBuf;

use capgen::ir::expose::InputLocation;
use capgen::{Inputs, Settings, check, generate};

fn fixture(name: &str) -> Inputs {
    Inputs { capability: Some(PathBuf::from(format!("tests/loose/{name}"))), ..Inputs::default() }
}

fn codes(inputs: &Inputs, strict: bool) -> (Vec<&'static str>, Vec<&'static str>) {
    let checked = check(inputs, &Settings { strict, ..Settings::default() });
    let errors = checked.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
    let warnings = checked.diagnostics.iter().filter(|d| !d.is_error()).map(|d| d.code).collect();
    (errors, warnings)
}

/// Every fixture: no error, its warnings located and with a help line (snapshot); under
/// `--strict` each loose-form warning is an error.
#[test]
fn loose_forms_generate_with_warnings_and_fail_strict() {
    let mut files: Vec<_> = std::fs::read_dir("tests/loose").expect("fixtures").flatten().map(|e| e.path()).collect();
    files.sort();
    assert_eq!(files.len(), 6);
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let inputs = fixture(&name);
        let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{name}: {f}"));
        let loose: Vec<_> =
            generated.warnings.iter().filter(|d| capgen::parse::naftiko::LOOSE_FORMS.contains(&d.code)).map(|d| d.code).collect();
        assert!(!loose.is_empty(), "{name}: no loose-form warning");
        for diagnostic in &generated.warnings {
            assert!(diagnostic.span.is_some(), "{name}: no location for {diagnostic}");
            assert!(diagnostic.help.is_some(), "{name}: no help for {diagnostic}");
        }
        insta::assert_snapshot!(format!("loose__{name}"), generated.warnings.render_human(&generated.sources, false));
        let (errors, _) = codes(&inputs, true);
        for code in loose {
            assert!(errors.contains(&code), "{name}: `{code}` is not an error under --strict: {errors:?}");
        }
    }
}

#[test]
fn paths_are_read_with_a_leading_slash_and_single_braces() {
    let generated = generate(&fixture("paths.yaml"), &Settings::default()).expect("generates");
    assert_eq!(generated.ir.rest[0].routes[0].path, "/api/items/{itemId}");
    let api = &generated.ir.apis[0];
    assert_eq!(api.operations[0].path_template, "/items/{itemId}");
    let (_, warnings) = codes(&fixture("paths.yaml"), false);
    assert_eq!(warnings.iter().filter(|c| **c == "relative-path").count(), 2, "{warnings:?}");
    assert!(warnings.contains(&"mustache-path"), "{warnings:?}");
}

#[test]
fn apikey_without_key_uses_name_or_x_api_key() {
    let generated = generate(&fixture("apikey.yaml"), &Settings::default()).expect("generates");
    let client = format!("{:?}", generated.ir.apis[0].auth);
    assert!(client.contains("name: \"api_key\"") && client.contains("in_query: true"), "{client}");
    let server = format!("{:?}", generated.ir.rest[0].auth);
    assert!(server.contains("name: \"X-Api-Key\"") && server.contains("in_query: false"), "{server}");
}

#[test]
fn shadowed_routes_and_unknown_targets_are_left_out_and_loose_spellings_bound() {
    let generated = generate(&fixture("routes-and-calls.yaml"), &Settings::default()).expect("generates");
    let routes: Vec<_> = generated.ir.rest[0].routes.iter().map(|r| r.name.clone().unwrap_or_default()).collect();
    assert_eq!(routes, ["list-items"], "the second `GET /items` is shadowed");
    let route = &generated.ir.rest[0].routes[0];
    assert!(matches!(generated.ir.exposed[route.exposed].action, capgen::ir::expose::Action::Call(_)), "api.listItems binds to list-items");
    let tools: Vec<_> = generated.ir.mcp[0].tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tools, ["list-items"], "archive-items calls nothing consumed");
}

#[test]
fn unfilled_path_parameters_are_query_arguments() {
    let generated = generate(&fixture("path-parameter-from-query.yaml"), &Settings::default()).expect("generates");
    let route = &generated.ir.rest[0].routes[0];
    let inputs = &generated.ir.exposed[route.exposed].inputs;
    let database = inputs.iter().find(|i| i.name == "databaseId").expect("databaseId argument");
    assert_eq!(database.location, InputLocation::Query);
    assert!(database.required);
}

#[test]
fn unbound_variables_read_the_environment() {
    let generated = generate(&fixture("unbound-variable.yaml"), &Settings::default()).expect("generates");
    let auth = format!("{:?}", generated.ir.apis[0].auth);
    assert!(auth.contains("Env { var: \"API_USER\" }") && auth.contains("Env { var: \"API_PASSWORD\" }"), "{auth}");
}

#[test]
fn tools_by_ref_take_the_function_name() {
    let inputs = Inputs { capability: Some(PathBuf::from("tests/fixtures/tool-ref.yaml")), ..Inputs::default() };
    let generated = generate(&inputs, &Settings::default()).expect("generates");
    let tool = &generated.ir.mcp[0].tools[0];
    assert_eq!(tool.name, "list-stock");
    assert_eq!(tool.description.as_deref(), Some("List the items in stock"));
    // Standard (the schema allows a tool with only `ref`): no loose-form diagnostic.
    let (errors, warnings) = codes(&inputs, false);
    assert!(errors.is_empty() && warnings.is_empty(), "{errors:?} {warnings:?}");
}

#[test]
fn a_consumes_only_document_generates_its_clients() {
    let generated = generate(&fixture("consumes-only.yaml"), &Settings::default()).expect("generates");
    assert_eq!(generated.ir.apis.len(), 1);
    assert!(generated.ir.rest.is_empty() && generated.ir.mcp.is_empty());
}

/// issue #11: one failed import is one error; calls into its namespace are not reported again
/// with misleading "did you mean" hints.
#[test]
fn a_failed_import_does_not_cascade() {
    let inputs = Inputs { capability: Some(PathBuf::from("tests/broken/import-namespace-mismatch.yaml")), ..Inputs::default() };
    let (errors, _) = codes(&inputs, false);
    assert_eq!(errors, ["unresolved-import"]);
}

/// naftiko-public (`tests/corpus/naftiko-public`): all 45 capabilities and the 28 `shared/`
/// files they import generate (the capabilities are also compiled by `tests/build.rs`).
#[test]
fn naftiko_public_generates() {
    let mut files = Vec::new();
    for repo in std::fs::read_dir("../tests/corpus/naftiko-public").expect("corpus").flatten() {
        for dir in [repo.path().join("capabilities"), repo.path().join("capabilities/shared")] {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if entry.path().extension().is_some_and(|e| e == "yaml") {
                    files.push(entry.path());
                }
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 73);
    for path in files {
        let inputs = Inputs { capability: Some(path.clone()), ..Inputs::default() };
        if let Err(failure) = generate(&inputs, &Settings::default()) {
            panic!("{}:\n{failure}", path.display());
        }
    }
}
