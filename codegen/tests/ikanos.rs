//! Ikanos (1.0.0-alpha3 … beta5) input and `capgen migrate`: the beta4 tutorial generates the
//! same Rust as its alpha2 original, every beta4 corpus file generates or gets a precise
//! diagnostic, and migrating the alpha2 tutorial round-trips (valid beta4, same Rust).

use std::path::{Path, PathBuf};

use capgen::{Inputs, Settings, check, generate};

const ALPHA2: &str = "../tests/corpus/naftiko-framework-alpha2/tutorial";
const BETA4: &str = "../tests/corpus/ikanos-beta4";

/// Every rendered module of a capability, by name; the header line naming the source file is
/// left out.
fn modules(path: &Path) -> Vec<(String, String)> {
    let inputs = Inputs { capability: Some(path.to_path_buf()), ..Inputs::default() };
    let generated = generate(&inputs, &Settings::default()).unwrap_or_else(|f| panic!("{}: {f}", path.display()));
    generated
        .module_names
        .iter()
        .map(|name| {
            let text = generated.render_module(name).expect("module exists").unwrap_or_else(|f| panic!("{f}"));
            let text: Vec<&str> = text.lines().filter(|l| !l.contains(".yml") && !l.contains(".yaml")).collect();
            (name.to_string(), text.join("\n"))
        })
        .collect()
}

fn steps(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("step-")))
        .collect();
    files.sort();
    files
}

#[test]
fn the_beta4_tutorial_generates_the_same_rust_as_alpha2() {
    let mut compared = 0;
    for beta4 in steps(&format!("{BETA4}/tutorial")) {
        let alpha2 = Path::new(ALPHA2).join(beta4.file_name().expect("file name"));
        if !alpha2.exists() {
            continue;
        }
        let (ours, theirs) = (modules(&beta4), modules(&alpha2));
        assert_eq!(ours, theirs, "{}", beta4.display());
        compared += 1;
        if beta4.ends_with("step-9-shipyard-aggregates.yml") {
            for (name, text) in &ours {
                insta::assert_snapshot!(format!("ikanos__step-9-shipyard-aggregates__{name}"), text);
            }
        }
    }
    assert_eq!(compared, 10);
}

#[test]
fn every_beta4_file_generates_or_gets_a_precise_diagnostic() {
    for path in ["tutorial/step-11-shipyard-fleet-manifest.yml", "examples/capability-binary-content.yml"] {
        assert!(!modules(&Path::new(BETA4).join(path)).is_empty());
    }
    // Binary content generates byte bodies; only the adapter-level `maxBinarySize` is not carried.
    let binary = Inputs { capability: Some(Path::new(BETA4).join("examples/capability-binary-content.yml")), ..Inputs::default() };
    let checked = check(&binary, &Settings::default());
    let warnings: Vec<_> = checked.diagnostics.iter().map(|d| (d.code, d.span.as_ref().map(|s| s.line))).collect();
    assert_eq!(warnings, [("ikanos-field-ignored", Some(124))], "{}", checked.diagnostics);
    let tunnel = Inputs { capability: Some(Path::new(BETA4).join("examples/reverse-tunnel-ziti.yml")), ..Inputs::default() };
    let checked = check(&tunnel, &Settings::default());
    let errors: Vec<_> = checked.diagnostics.iter().filter(|d| d.severity == capgen::Severity::Error).collect();
    assert_eq!(errors.len(), 1, "{}", checked.diagnostics);
    assert_eq!(errors[0].code, "unsupported-tunnel");
    let span = errors[0].span.as_ref().expect("located");
    assert_eq!((span.line, span.column), (34, 7));
}

#[test]
fn diagnostics_land_on_the_ikanos_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cap.yml");
    std::fs::write(
        &path,
        "ikanos: 1.0.0-beta5\ncapability:\n  consumes:\n  - namespace: api\n    type: http\n    baseUri: https://x.test\n    resources:\n      things:\n        path: /things\n        operations:\n          list:\n            method: GET\n  exposes:\n  - type: mcp\n    namespace: t\n    port: 3000\n    tools:\n      list-things:\n        description: d\n        call: api.lst\n",
    )
    .expect("write");
    let checked = check(&Inputs { capability: Some(path), ..Inputs::default() }, &Settings::default());
    // A tool calling an unknown operation is left out with a warning (peers run the rest).
    let unknown = checked.diagnostics.iter().find(|d| d.code == "unknown-call-target").expect("an unknown call");
    let span = unknown.span.as_ref().expect("located");
    assert_eq!((span.line, span.column), (20, 15), "{}", checked.diagnostics);
}

#[test]
fn strict_reports_one_line_per_deviation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cap.yml");
    let text = std::fs::read_to_string(format!("{BETA4}/tutorial/step-1-shipyard-mock.yml")).expect("corpus");
    std::fs::write(&path, text.replace("    port: 3001\n", "    port: 3001\n    colour: blue\n")).expect("write");
    let strict = Settings { strict: true, ..Settings::default() };
    let checked = check(&Inputs { capability: Some(path), ..Inputs::default() }, &strict);
    let deviations: Vec<_> = checked.diagnostics.iter().filter(|d| d.code == "strict-schema").collect();
    assert_eq!(deviations.len(), 1, "{}", checked.diagnostics);
    assert!(deviations[0].message.contains("`/capability/exposes/0`"), "{}", deviations[0].message);
    assert!(deviations[0].message.contains("`additionalProperties` failed") && deviations[0].message.contains("colour"));
    assert!(!deviations[0].message.contains('\n') && deviations[0].message.len() < 300);
    assert_eq!(deviations[0].span.as_ref().map(|s| s.line), Some(7), "at `colour: blue`");
}

#[test]
fn migrate_round_trips_the_alpha2_tutorial() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for sub in ["", "shared"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        for entry in std::fs::read_dir(Path::new(ALPHA2).join(sub)).expect("corpus").flatten() {
            if entry.path().is_file() {
                files.push(Path::new(sub).join(entry.file_name()));
            }
        }
    }
    for file in &files {
        let text = std::fs::read_to_string(Path::new(ALPHA2).join(file)).expect("corpus");
        let value: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
        let out = if value.get("naftiko").is_some() {
            let migrated = capgen::migrate::migrate(&text, "1.0.0-beta4").unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let value: serde_yaml::Value = serde_yaml::from_str(&migrated.text).expect("migrate writes YAML");
            assert_eq!(value.get("ikanos").and_then(|v| v.as_str()), Some("1.0.0-beta4"));
            if value.get("capability").is_some() {
                let violations = capgen::validate::schema::violations(&value);
                assert!(violations.is_empty(), "{}: {violations:?}", file.display());
            }
            migrated.text
        } else {
            text
        };
        std::fs::write(dir.path().join(file), out).expect("write");
    }
    let mut compared = 0;
    for original in steps(ALPHA2) {
        let migrated = dir.path().join(original.file_name().expect("file name"));
        assert_eq!(modules(&migrated), modules(&original), "{}", original.display());
        compared += 1;
    }
    assert_eq!(compared, 10);
}

/// Copies `dir` into `to`, migrating every `naftiko:` document; returns the migrated files whose
/// notes say something was dropped.
fn migrate_tree(dir: &Path, to: &Path, lossy: &mut Vec<PathBuf>) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(dir).expect("corpus").flatten() {
        let (from, target) = (entry.path(), to.join(entry.file_name()));
        if from.is_dir() {
            migrate_tree(&from, &target, lossy);
            continue;
        }
        let bytes = std::fs::read(&from).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        let is_naftiko = serde_yaml::from_str::<serde_yaml::Value>(&text).is_ok_and(|v| v.get("naftiko").is_some());
        if !is_naftiko {
            std::fs::write(&target, &bytes).expect("write");
            continue;
        }
        let migrated = capgen::migrate::migrate(&text, "1.0.0-beta4").unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        if migrated.notes.iter().any(|n| n.contains("dropped") && !n.contains("comment")) {
            lossy.push(target.clone());
        }
        std::fs::write(&target, migrated.text).expect("write");
    }
}

/// The dialect corpora: every capability that generates before migration generates the same Rust
/// after, unless migration reported an item it had to drop (repeated names).
#[test]
fn migrate_keeps_the_rust_of_the_dialect_corpora() {
    let mut compared = 0;
    for corpus in ["../tests/corpus/api-evangelist-prisma", "../tests/corpus/naftiko-public"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut lossy = Vec::new();
        migrate_tree(Path::new(corpus), dir.path(), &mut lossy);
        let mut stack = vec![PathBuf::from(corpus)];
        while let Some(current) = stack.pop() {
            for entry in std::fs::read_dir(&current).expect("corpus").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let migrated = dir.path().join(path.strip_prefix(corpus).expect("inside"));
                let is_capability = std::fs::read_to_string(&path).is_ok_and(|t| t.contains("\ncapability:"));
                if !is_capability || lossy.contains(&migrated) {
                    continue;
                }
                let inputs = |p: &Path| Inputs { capability: Some(p.to_path_buf()), ..Inputs::default() };
                if generate(&inputs(&path), &Settings::default()).is_err() {
                    continue;
                }
                assert_eq!(modules(&migrated), modules(&path), "{}", path.display());
                compared += 1;
            }
        }
    }
    assert!(compared >= 60, "{compared}");
}

#[test]
fn the_migrate_command_writes_the_ikanos_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("step-1.yml");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_capgen"))
        .args(["migrate", &format!("{ALPHA2}/step-1-shipyard-mock.yml"), "--to", "1.0.0-beta5", "--out"])
        .arg(&out)
        .output()
        .expect("capgen runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let text = std::fs::read_to_string(&out).expect("written");
    assert!(text.starts_with("ikanos: 1.0.0-beta5\n"), "{text}");
    assert!(text.contains("    tools:\n      get-ship:\n"), "{text}");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_capgen"))
        .args(["migrate", &format!("{ALPHA2}/step-1-shipyard-mock.yml"), "--to", "9.9"])
        .output()
        .expect("capgen runs");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot migrate to `9.9`"));
}

const BINARY: &str = "tests/fixtures/ikanos/binary-download.yml";

/// `outputRawFormat: binary` becomes a client method returning `capgen_runtime::Binary` (with
/// its `maxBinarySize`), operations returning bytes, REST handlers answering them with the
/// contract's status and media type, and `format: binary` in the OpenAPI document.
#[test]
fn binary_content_becomes_byte_bodies() {
    let modules = modules(Path::new(BINARY));
    let module = |name: &str| modules.iter().find(|(n, _)| n == name).map(|(_, text)| text.as_str()).expect(name);
    let client = module("client");
    assert!(client.contains("request.max_body_bytes(65536)"), "64KiB");
    assert!(client.contains("Ok(response.binary(None))") && client.contains("Ok(response.binary(Some(\"image/png\")))"));
    let rest = module("rest");
    let compact: String = rest.split_whitespace().collect();
    assert!(compact.contains("binary_response(200,Some(\"image/jpeg\"),operations::get_image(&clients,args).await?,)"), "{rest}");
    assert!(compact.contains("binary_response(201,Some(\"image/png\"),operations::get_scan(&clients,args).await?,)"), "{rest}");
    assert!(rest.contains("\"format\": \"binary\""));
    for name in ["client", "operations", "rest", "mcp"] {
        insta::assert_snapshot!(format!("ikanos__binary-download__{name}"), module(name));
    }
    let checked = check(&Inputs { capability: Some(BINARY.into()), ..Inputs::default() }, &Settings::default());
    assert!(checked.diagnostics.is_empty(), "{}", checked.diagnostics);
}

/// A size without a unit is an error at the field; a binary operation's `outputParameters` and
/// a `maxBinarySize` on a JSON operation are warnings.
#[test]
fn binary_contract_mistakes_are_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cap.yml");
    let text = std::fs::read_to_string(BINARY).expect("fixture");
    let text = text.replace("maxBinarySize: \"64KiB\"", "maxBinarySize: \"64\"\n              outputParameters:\n                - type: object\n                  mapping: $.");
    let text = text.replace("              description: \"A photo's metadata.\"\n", "              description: \"A photo's metadata.\"\n              maxBinarySize: \"1MiB\"\n");
    std::fs::write(&path, text).expect("write");
    let checked = check(&Inputs { capability: Some(path), ..Inputs::default() }, &Settings::default());
    let found: Vec<_> = checked.diagnostics.iter().map(|d| (d.code, d.span.as_ref().map(|s| s.line))).collect();
    assert_eq!(
        found,
        [("invalid-binary-size", Some(24)), ("binary-output-parameters", Some(25)), ("binary-size-unused", Some(48))],
        "{}",
        checked.diagnostics
    );
}

/// Copies `from` into `to`, files only, one level deep (the tutorial's `shared/`).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("dir").flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// Step 9 with its binds, aggregates and exposes moved into a stand-alone file the capability
/// imports with `from`: (the capability, the stand-alone file).
fn step9_split(dir: &Path) -> (PathBuf, PathBuf) {
    use serde_yaml::{Mapping, Value};
    let tutorial = Path::new(BETA4).join("tutorial");
    copy_dir(&tutorial.join("shared"), &dir.join("shared"));
    let text = std::fs::read_to_string(tutorial.join("step-9-shipyard-aggregates.yml")).expect("corpus");
    let mut doc: Value = serde_yaml::from_str(&text).expect("yaml");
    let imports = |list: &Value| -> Value {
        let entries = list.as_sequence().expect("a list").iter().map(|entry| {
            let mut import = Mapping::new();
            import.insert("from".into(), "./shared/adapters.yml".into());
            import.insert("import".into(), entry["namespace"].clone());
            Value::Mapping(import)
        });
        Value::Sequence(entries.collect())
    };
    let mut shared = Mapping::new();
    shared.insert("ikanos".into(), "1.0.0-beta4".into());
    shared.insert("binds".into(), doc["binds"].clone());
    shared.insert("aggregates".into(), doc["capability"]["aggregates"].clone());
    shared.insert("exposes".into(), doc["capability"]["exposes"].clone());
    doc["binds"] = imports(&doc["binds"]);
    doc["capability"]["aggregates"] = imports(&doc["capability"]["aggregates"]);
    doc["capability"]["exposes"] = imports(&doc["capability"]["exposes"]);
    let (main, adapters) = (dir.join("step-9-shipyard-aggregates.yml"), dir.join("shared/adapters.yml"));
    std::fs::write(&main, serde_yaml::to_string(&doc).expect("yaml")).expect("write");
    std::fs::write(&adapters, serde_yaml::to_string(&Value::Mapping(shared)).expect("yaml")).expect("write");
    (main, adapters)
}

/// `from` imports in `exposes`, `aggregates` and `binds` read the named entry of the other
/// file: the capability generates the same Rust as when the entries are written inline.
#[test]
fn exposes_aggregates_and_binds_import_from_another_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (main, adapters) = step9_split(dir.path());
    let checked = check(&Inputs { capability: Some(main.clone()), ..Inputs::default() }, &Settings::default());
    assert!(!checked.diagnostics.has_errors(), "{}", checked.diagnostics);
    // The stand-alone file checks on its own, as a fragment.
    let alone = check(&Inputs { capability: Some(adapters), ..Inputs::default() }, &Settings::default());
    assert!(!alone.diagnostics.has_errors(), "{}", alone.diagnostics);
    assert!(alone.diagnostics.iter().any(|d| d.code == "fragment-document"), "{}", alone.diagnostics);
    let inline = modules(&Path::new(BETA4).join("tutorial/step-9-shipyard-aggregates.yml"));
    let imported = modules(&main);
    assert_eq!(imported.iter().map(|(n, _)| n).collect::<Vec<_>>(), inline.iter().map(|(n, _)| n).collect::<Vec<_>>());
    for ((name, ours), (_, theirs)) in imported.iter().zip(&inline) {
        let first = ours.lines().zip(theirs.lines()).find(|(a, b)| a != b);
        assert!(ours == theirs, "module {name} differs first at {first:?}");
    }
}

/// A mistake inside an imported entry lands in the file that holds it; an unknown namespace
/// names the ones the file declares; `as` renames the entry.
#[test]
fn imported_entries_keep_their_spans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (main, adapters) = step9_split(dir.path());
    let shared = std::fs::read_to_string(&adapters).expect("read");
    std::fs::write(&adapters, shared.replacen("ref: crew-resolver.resolve-crew-for-ship", "ref: crew-resolver.resolve-crew-for-shp", 1)).expect("write");
    let text = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, text.replacen("import: shipyard-skills", "import: shipyard-skill", 1)).expect("write");
    let checked = check(&Inputs { capability: Some(main.clone()), ..Inputs::default() }, &Settings::default());
    let found: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.code, d.span.as_ref().map(|s| s.file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string())))
        .collect();
    let file = |name: &str| Some(name.to_string());
    assert!(found.contains(&("unresolved-import", file("step-9-shipyard-aggregates.yml"))), "{}", checked.diagnostics);
    assert!(found.iter().any(|(_, at)| *at == file("adapters.yml")), "{}", checked.diagnostics);
    let unresolved = checked.diagnostics.iter().find(|d| d.code == "unresolved-import").expect("reported");
    assert!(unresolved.help.as_deref().is_some_and(|h| h.contains("shipyard-skills")), "{unresolved:?}");
    assert_eq!(checked.diagnostics.iter().filter(|d| d.code == "invalid-field").count(), 0, "{}", checked.diagnostics);
}
