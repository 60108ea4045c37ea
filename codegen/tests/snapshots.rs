//! insta snapshots of what capgen emits: every module (and the durable file) for the seed, the client module for every
//! corpus capability, the client and workflows of an Arazzo document alone, and the rendered
//! diagnostics for every broken input in `tests/broken/`.

use std::path::PathBuf;

use capgen::{Inputs, Settings, check, generate};

/// Paths are kept relative to this crate so snapshots do not depend on the checkout location.
fn rel(path: &str) -> PathBuf {
    PathBuf::from(path)
}

fn seed_inputs() -> Inputs {
    Inputs {
        capability: Some(rel("../specs/prisma/capabilities/postgres-management-database-backups.yaml")),
        arazzo: vec![rel("../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml")],
        ..Inputs::default()
    }
}

#[test]
fn seed_modules() {
    let generated = generate(&seed_inputs(), &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    for name in &generated.module_names {
        let text = generated.render_module(name).expect("module exists").unwrap_or_else(|f| panic!("{f}"));
        insta::assert_snapshot!(format!("seed__{name}"), text);
    }
    insta::assert_snapshot!("seed__warnings", generated.warnings.render_human(&generated.sources, false));
    // The crate's `src/durable.rs` (Restate services over the same step functions).
    let files = generated.crate_files(&Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    let durable = files.iter().find(|(path, _)| path.ends_with("src/durable.rs")).expect("src/durable.rs");
    insta::assert_snapshot!("seed__durable", durable.1);
}

/// Arazzo alone: the client generated from the source description and the compiled workflows
/// (JSON bodies, a workflow step, component parameters).
#[test]
fn workflows_without_a_capability() {
    let inputs = Inputs { arazzo: vec![rel("../tests/corpus/arazzo-oai-examples/pet-coupons.arazzo.yaml")], ..Inputs::default() };
    let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    for name in ["client", "workflows"] {
        let text = generated.render_module(name).expect("module exists").unwrap_or_else(|f| panic!("{f}"));
        insta::assert_snapshot!(format!("pet_coupons__{name}"), text);
    }
}

#[test]
fn output_is_deterministic() {
    let render = || {
        let generated = generate(&seed_inputs(), &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
        generated.crate_files(&Settings::default()).unwrap_or_else(|f| panic!("{f}"))
    };
    assert_eq!(render(), render());
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["../tests/corpus/api-evangelist-prisma/capabilities", "../tests/corpus/naftiko-framework-alpha2/tutorial"] {
        for entry in std::fs::read_dir(dir).expect("corpus is checked in").flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if (name.ends_with(".yaml") || name.ends_with(".yml")) && name != "prisma-capability-edges.yml" {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn corpus_clients() {
    let files = corpus();
    assert_eq!(files.len(), 38, "28 api-evangelist capabilities and 10 tutorial steps");
    for path in files {
        let inputs = Inputs { capability: Some(path.clone()), ..Inputs::default() };
        let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{}: {f}", path.display()));
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let client = generated.render_module("client").expect("client module").unwrap_or_else(|f| panic!("{f}"));
        insta::assert_snapshot!(format!("corpus__{stem}__client"), client);
    }
}

#[test]
fn the_edge_graph_is_not_a_capability() {
    let inputs = Inputs {
        capability: Some(rel("../tests/corpus/api-evangelist-prisma/capabilities/prisma-capability-edges.yml")),
        ..Inputs::default()
    };
    let failure = generate(&inputs, &Settings::default()).expect_err("not a capability");
    let codes: Vec<_> = failure.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
    assert!(codes.contains(&"missing-field"), "{codes:?}");
}

/// Every broken input: all of its problems at once, each with a location and a help line.
#[test]
fn broken_inputs() {
    let mut files: Vec<_> = std::fs::read_dir("tests/broken").expect("fixtures").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(files.len() >= 10);
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let inputs = if name.contains(".arazzo.") {
            Inputs { arazzo: vec![path.clone()], ..Inputs::default() }
        } else {
            Inputs { capability: Some(path.clone()), ..Inputs::default() }
        };
        let checked = check(&inputs, &Settings::default());
        assert!(checked.diagnostics.has_errors(), "{name} should fail");
        for diagnostic in &checked.diagnostics {
            assert!(diagnostic.span.is_some(), "{name}: no location for {diagnostic}");
            assert!(diagnostic.help.is_some(), "{name}: no help for {diagnostic}");
        }
        insta::assert_snapshot!(format!("broken__{name}"), checked.diagnostics.render_human(&checked.sources, false));
    }
}

#[test]
fn strict_mode_reports_schema_deviations_of_the_seed() {
    let strict = Settings { strict: true, ..Settings::default() };
    let checked = check(&seed_inputs(), &strict);
    let deviations = checked.diagnostics.iter().filter(|d| d.code == "strict-schema").count();
    assert!(deviations > 0, "the seed carries fields the official schema does not allow");
    let lenient = check(&seed_inputs(), &Settings::default());
    assert!(!lenient.diagnostics.has_errors(), "{}", lenient.diagnostics);
    // The official tutorial validates against the official schema.
    let tutorial = Inputs {
        capability: Some(rel("../tests/corpus/naftiko-framework-alpha2/tutorial/step-3-shipyard-auth.yml")),
        ..Inputs::default()
    };
    let checked = check(&tutorial, &strict);
    assert!(!checked.diagnostics.iter().any(|d| d.code == "strict-schema"), "{}", checked.diagnostics);
}

