//! Hostile specs: huge files, deep nesting, YAML alias bombs, references that leave the spec
//! directory, and identifiers that are not Rust identifiers. Each gets a precise diagnostic or
//! correct code; none panics, overflows the stack, runs away, or reads a file outside the
//! allowed tree.
//!
//! The hostile-identifier capability that must also *compile* lives in
//! `tests/corpus/hostile/` (compiled by the `capgen-tests` crate's build script, with
//! `#[deny(warnings)]`); the fixtures here (`codegen/tests/hostile/`) are the ones that only need
//! to generate or to be rejected.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use capgen::{Checked, Inputs, Settings, check, generate};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile").join(name)
}

fn codes(checked: &Checked) -> Vec<&'static str> {
    checked.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code).collect()
}

/// A spec tree in a temp dir: `<root>/<relative>` for each file.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        Tree { dir: tempfile::tempdir().expect("a temp dir") }
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("writable");
        std::fs::write(&path, text).expect("writable");
        path
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }
}

fn capability(path: PathBuf) -> Inputs {
    Inputs { capability: Some(path), ..Inputs::default() }
}

/// A minimal valid capability whose consumes are `consumes` (YAML list items, indented by 2).
fn capability_text(binds: &str, consumes: &str, exposes: &str) -> String {
    format!("naftiko: 1.0.0-alpha2\n{binds}capability:\n  consumes:\n{consumes}  exposes:\n{exposes}")
}

const INLINE_CONSUMES: &str = "  - type: http\n    namespace: api\n    baseUri: https://api.example.invalid\n    resources:\n    - name: things\n      path: /things\n      operations:\n      - name: list-things\n        method: GET\n";
const TOOL: &str = "  - type: mcp\n    namespace: tools\n    tools:\n    - name: list-things\n      call: api.list-things\n";

// ---------------------------------------------------------------------------------------------
// Size and depth
// ---------------------------------------------------------------------------------------------

/// A multi-megabyte capability (2,000 operations with long descriptions, each exposed as REST
/// and MCP) generates; how long it takes is reported, not asserted (benchmarks live elsewhere).
#[test]
fn a_huge_capability_generates() {
    const OPERATIONS: usize = 2_000;
    let description = "A long description with 'quotes', {{braces}}, a \\\\ backslash and unicode é🦀. ".repeat(20);
    let mut consumes = String::from("  - type: http\n    namespace: api\n    baseUri: https://api.example.invalid\n    resources:\n");
    let mut rest = String::from("  - type: rest\n    namespace: api-rest\n    port: 8080\n    resources:\n");
    let mut tools = String::from("  - type: mcp\n    namespace: api-mcp\n    port: 9090\n    tools:\n");
    for i in 0..OPERATIONS {
        consumes.push_str(&format!(
            "    - name: r{i}\n      path: /things{i}/{{id}}\n      operations:\n      - name: get-thing-{i}\n        method: GET\n        description: \"{description}\"\n        inputParameters:\n        - {{name: filter, in: query, type: string}}\n"
        ));
        rest.push_str(&format!(
            "    - path: /v1/things{i}/{{id}}\n      name: r{i}\n      operations:\n      - method: GET\n        name: get-thing-{i}\n        call: api.get-thing-{i}\n"
        ));
        tools.push_str(&format!("    - name: get-thing-{i}\n      description: \"{description}\"\n      call: api.get-thing-{i}\n"));
    }
    let text = format!("naftiko: 1.0.0-alpha2\ncapability:\n  consumes:\n{consumes}  exposes:\n{rest}{tools}");
    assert!(text.len() > 2_000_000, "{} bytes", text.len());
    let tree = Tree::new();
    let path = tree.write("caps/huge.yaml", &text);
    let start = Instant::now();
    let generated = generate(&capability(path), &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(generated.ir.exposed.len(), 2 * OPERATIONS);
    eprintln!("{} bytes, {OPERATIONS} operations: generated in {:?}", text.len(), start.elapsed());
}

/// 10,000 nested flow sequences / mappings, block mappings, and JSON arrays: a diagnostic (the
/// YAML reader's recursion limit), never a stack overflow, in any of the three loaders.
#[test]
fn deep_nesting_is_a_diagnostic() {
    const DEPTH: usize = 10_000;
    let documents = [
        ("flow-lists", format!("naftiko: 1.0.0-alpha2\ncapability: {}{}\n", "[".repeat(DEPTH), "]".repeat(DEPTH))),
        ("flow-maps", format!("naftiko: 1.0.0-alpha2\ncapability: {}x{}\n", "{a: ".repeat(DEPTH), "}".repeat(DEPTH))),
        ("block-maps", {
            let mut text = String::from("naftiko: 1.0.0-alpha2\ncapability:\n");
            for level in 1..DEPTH.min(2_000) {
                text.push_str(&" ".repeat(level));
                text.push_str("a:\n");
            }
            text
        }),
        ("json", format!("{{\"openapi\": \"3.1.0\", \"paths\": {}{}}}", "[".repeat(DEPTH), "]".repeat(DEPTH))),
    ];
    for (name, text) in documents {
        let tree = Tree::new();
        let path = tree.write(&format!("specs/{name}.yaml"), &text);
        for inputs in [
            capability(path.clone()),
            Inputs { arazzo: vec![path.clone()], ..Inputs::default() },
            Inputs { openapi: vec![path.clone()], ..Inputs::default() },
        ] {
            let checked = check(&inputs, &Settings::default());
            assert!(checked.diagnostics.has_errors(), "{name}: no error");
            let rendered = checked.diagnostics.render_human(&checked.sources, false);
            assert!(rendered.contains("recursion limit") || name == "block-maps", "{name}: {rendered}");
        }
    }
}

/// Nesting under the YAML reader's limit reaches the OpenAPI schema reader, which stops at its
/// own depth and degrades that schema to `serde_json::Value` with a warning.
#[test]
fn deep_schemas_degrade_instead_of_recursing() {
    let depth = 100;
    let mut schema = String::from("{type: string}");
    for _ in 0..depth {
        schema = format!("{{type: object, properties: {{a: {schema}}}}}");
    }
    let text = format!(
        "openapi: 3.1.0\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  schemas:\n    Deep: {schema}\n    Items: {}{{type: string}}{}\n",
        "{type: array, items: ".repeat(depth),
        "}".repeat(depth)
    );
    let tree = Tree::new();
    let path = tree.write("specs/deep.yaml", &text);
    let checked = check(&Inputs { openapi: vec![path], ..Inputs::default() }, &Settings::default());
    let rendered = checked.diagnostics.render_human(&checked.sources, false);
    assert!(rendered.contains("nests too deeply") || rendered.contains("recursion limit"), "{rendered}");
}

/// "Billion laughs": nine levels of aliases each repeating the previous nine times. The YAML
/// reader refuses to expand it (a repetition limit), so neither the value nor our span index
/// (which records an alias as one node) grows; the whole check stays fast.
#[test]
fn alias_bombs_are_rejected() {
    let mut text = String::from("naftiko: 1.0.0-alpha2\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let previous = format!("*a{}", level - 1);
        text.push_str(&format!("a{level}: &a{level} [{}]\n", [previous.as_str(); 9].join(", ")));
    }
    text.push_str("capability:\n  consumes: *a9\n");
    let tree = Tree::new();
    let path = tree.write("specs/bomb.yaml", &text);
    let start = Instant::now();
    for inputs in [capability(path.clone()), Inputs { arazzo: vec![path.clone()], ..Inputs::default() }] {
        let checked = check(&inputs, &Settings::default());
        let rendered = checked.diagnostics.render_human(&checked.sources, false);
        assert!(codes(&checked).contains(&"yaml-syntax"), "{rendered}");
        assert!(rendered.contains("repetition limit"), "{rendered}");
    }
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
}

/// A few aliases (the legitimate use) still work: they are expanded where they are used.
#[test]
fn modest_aliases_are_expanded() {
    let text = capability_text(
        "",
        "  - type: http\n    namespace: api\n    baseUri: https://api.example.invalid\n    resources:\n    - name: things\n      path: /things\n      operations:\n      - &op\n        name: list-things\n        method: GET\n",
        TOOL,
    );
    let tree = Tree::new();
    let path = tree.write("caps/aliases.yaml", &text);
    let generated = generate(&capability(path), &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(generated.ir.exposed.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Path traversal
// ---------------------------------------------------------------------------------------------

/// An outside file, with a consumed adapter named `api` so that reading it would succeed.
fn outside_target(tree: &Tree) -> PathBuf {
    tree.write(
        "secret/adapter.yaml",
        "naftiko: 1.0.0-alpha2\nconsumes:\n- type: http\n  namespace: api\n  baseUri: https://api.example.invalid\n  resources: []\n",
    )
}

fn import(location: &str) -> String {
    capability_text("", &format!("  - import: api\n    location: {location}\n"), "    []\n")
}

/// Imports that climb out of the spec root, name an absolute path, or go through a symlink are
/// `path-outside-spec-dir` errors at the `location` node; the file is never read.
#[test]
fn imports_outside_the_spec_root_are_refused() {
    let tree = Tree::new();
    let outside = outside_target(&tree);
    let mut locations = vec![
        "../../secret/adapter.yaml".to_string(),
        "./shared/../../../secret/adapter.yaml".to_string(),
        outside.display().to_string(),
        format!("file://{}", outside.display()),
    ];
    #[cfg(unix)]
    {
        std::fs::create_dir_all(tree.path("root/caps/shared")).expect("writable");
        std::os::unix::fs::symlink(&outside, tree.path("root/caps/shared/link.yaml")).expect("symlink");
        locations.push("./shared/link.yaml".to_string());
    }
    for location in locations {
        let path = tree.write("root/caps/cap.yaml", &import(&location));
        let checked = check(&capability(path.clone()), &Settings::default());
        let diagnostic = checked
            .diagnostics
            .iter()
            .find(|d| d.code == "path-outside-spec-dir")
            .unwrap_or_else(|| panic!("{location}: {}", checked.diagnostics));
        let span = diagnostic.span.as_ref().expect("a span");
        assert_eq!((span.line, span.column), (5, 15), "{location}: at the location value");
        assert!(diagnostic.help.as_deref().unwrap_or_default().contains("--allow-outside-spec-dir"));
        let read: Vec<_> = checked.sources.paths().map(|p| p.to_path_buf()).collect();
        assert_eq!(read, vec![path.clone()], "{location}: only the capability was read");
        assert!(!codes(&checked).contains(&"unresolved-import"), "{location}: one diagnostic, not two");

        // Opting in reads it.
        let allowed = check(&Inputs { allow_outside: true, ..capability(path) }, &Settings::default());
        assert!(!allowed.diagnostics.has_errors(), "{location}: {}", allowed.diagnostics);
    }
}

/// The seed's layout: a capability in `capabilities/` imports from a sibling directory, and the
/// tutorial imports `./shared/…`; both are inside the root.
#[test]
fn imports_inside_the_spec_root_are_read() {
    let tree = Tree::new();
    tree.write("root/adapters/adapter.yaml", "consumes:\n- type: http\n  namespace: api\n  baseUri: https://x.invalid\n  resources: []\n");
    tree.write("root/caps/shared/adapter.yaml", "consumes:\n- type: http\n  namespace: api\n  baseUri: https://x.invalid\n  resources: []\n");
    for location in ["../adapters/adapter.yaml", "./shared/adapter.yaml", "file:///./shared/adapter.yaml"] {
        let path = tree.write("root/caps/cap.yaml", &import(location));
        let checked = check(&capability(path), &Settings::default());
        assert!(!codes(&checked).contains(&"path-outside-spec-dir"), "{location}: {}", checked.diagnostics);
        assert!(!codes(&checked).contains(&"unresolved-import"), "{location}: {}", checked.diagnostics);
    }
}

/// Bind files are read by the generated crate at run time, relative to its working directory:
/// an absolute path or one that climbs out with `..` is refused unless allowed.
#[test]
fn bind_locations_must_stay_relative() {
    let tree = Tree::new();
    for (location, refused) in [
        ("file:///./shared/secrets.yaml", false),
        ("./secrets.yaml", false),
        ("file:///etc/secrets.yaml", true),
        ("/run/secrets/api.yaml", true),
        ("file:///./../secrets.yaml", true),
        ("../../secrets.yaml", true),
    ] {
        let binds = format!("binds:\n- namespace: env\n  location: \"{location}\"\n  keys:\n    TOKEN: token\n");
        let path = tree.write("root/caps/cap.yaml", &capability_text(&binds, INLINE_CONSUMES, TOOL));
        let checked = check(&capability(path.clone()), &Settings::default());
        let outside = checked.diagnostics.iter().find(|d| d.code == "path-outside-spec-dir");
        assert_eq!(outside.is_some(), refused, "{location}: {}", checked.diagnostics);
        if let Some(diagnostic) = outside {
            assert_eq!(diagnostic.span.as_ref().map(|s| s.line), Some(4), "{location}");
        }
        let allowed = check(&Inputs { allow_outside: true, ..capability(path) }, &Settings::default());
        assert!(!codes(&allowed).contains(&"path-outside-spec-dir"), "{location}");
    }
}

/// MCP resources are read at generation time: one outside the root is refused and not read.
#[test]
fn mcp_resource_locations_outside_are_refused() {
    let tree = Tree::new();
    tree.write("secret/data.txt", "SECRET CONTENTS");
    tree.write("root/caps/docs/readme.md", "inside");
    let exposes = |location: &str| {
        format!(
            "  - type: mcp\n    namespace: tools\n    tools:\n    - name: list-things\n      call: api.list-things\n    resources:\n    - name: doc\n      uri: data://doc\n      location: {location}\n"
        )
    };
    let inside = tree.write("root/caps/cap.yaml", &capability_text("", INLINE_CONSUMES, &exposes("./docs/readme.md")));
    let generated = generate(&capability(inside), &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(generated.ir.mcp.len(), 1);

    let outside = tree.write("root/caps/cap.yaml", &capability_text("", INLINE_CONSUMES, &exposes("../../secret/data.txt")));
    let failure = generate(&capability(outside.clone()), &Settings::default()).expect_err("refused");
    assert!(failure.diagnostics.iter().any(|d| d.code == "path-outside-spec-dir"), "{}", failure.diagnostics);
    let allowed = generate(&Inputs { allow_outside: true, ..capability(outside) }, &Settings::default());
    assert!(allowed.is_ok());
}

const ARAZZO: &str = "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\nsourceDescriptions:\n- name: api\n  url: URL\n  type: openapi\nworkflows:\n- workflowId: w\n  steps:\n  - stepId: s\n    operationId: listThings\n";
const OPENAPI: &str = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /things:\n    get:\n      operationId: listThings\n      responses:\n        '200': {description: ok}\n";

/// Arazzo source URLs: `../openapi/…` next to `arazzo/` is inside (the seed's layout); further
/// up, absolute, or through a symlink is `path-outside-spec-dir` at the `url`; `--source`
/// overrides, named by the caller, are always read.
#[test]
fn arazzo_sources_outside_the_spec_root_are_refused() {
    let tree = Tree::new();
    tree.write("root/openapi/api.yaml", OPENAPI);
    let outside = tree.write("secret/api.yaml", OPENAPI);
    let arazzo_with = |url: &str| tree.write("root/arazzo/flow.arazzo.yaml", &ARAZZO.replace("URL", url));

    let inside = check(&Inputs { arazzo: vec![arazzo_with("../openapi/api.yaml")], ..Inputs::default() }, &Settings::default());
    assert!(!inside.diagnostics.has_errors(), "{}", inside.diagnostics);

    let mut urls = vec!["../../secret/api.yaml".to_string(), outside.display().to_string(), format!("file://{}", outside.display())];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, tree.path("root/openapi/link.yaml")).expect("symlink");
        urls.push("../openapi/link.yaml".to_string());
    }
    for url in urls {
        let path = arazzo_with(&url);
        let checked = check(&Inputs { arazzo: vec![path.clone()], ..Inputs::default() }, &Settings::default());
        let diagnostic = checked
            .diagnostics
            .iter()
            .find(|d| d.code == "path-outside-spec-dir")
            .unwrap_or_else(|| panic!("{url}: {}", checked.diagnostics));
        assert_eq!(diagnostic.span.as_ref().map(|s| (s.line, s.column)), Some((5, 8)), "{url}");
        assert_eq!(checked.sources.paths().count(), 1, "{url}: only the Arazzo file was read");
        let allowed = check(&Inputs { arazzo: vec![path.clone()], allow_outside: true, ..Inputs::default() }, &Settings::default());
        assert!(!allowed.diagnostics.has_errors(), "{url}: {}", allowed.diagnostics);
        let overridden = Inputs {
            arazzo: vec![path],
            sources: [("api".to_string(), outside.clone())].into_iter().collect(),
            ..Inputs::default()
        };
        assert!(!check(&overridden, &Settings::default()).diagnostics.has_errors(), "{url}: --source is the caller's choice");
    }
}

/// OpenAPI `$ref`s to other files are never followed (capgen reads one bundled document).
#[test]
fn openapi_refs_to_other_files_are_not_read() {
    let tree = Tree::new();
    tree.write("secret/schemas.yaml", "Thing: {type: string}\n");
    let text = OPENAPI.replace("'200': {description: ok}", "'200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '../../secret/schemas.yaml#/Thing'}");
    let path = tree.write("root/openapi/api.yaml", &text);
    let checked = check(&Inputs { openapi: vec![path], ..Inputs::default() }, &Settings::default());
    assert!(codes(&checked).contains(&"openapi-unresolved-ref"), "{}", checked.diagnostics);
    assert_eq!(checked.sources.paths().count(), 1);
}

/// The CLI: refused by default (exit 1, the diagnostic on stderr), read with the flag.
#[test]
fn the_cli_flag_allows_outside_files() {
    let tree = Tree::new();
    outside_target(&tree);
    let path = tree.write("root/caps/cap.yaml", &import("../../secret/adapter.yaml"));
    let run = |flag: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_capgen"));
        command.arg("check").arg(&path);
        command.args(flag);
        command.output().expect("capgen runs")
    };
    let refused = run(None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("error[path-outside-spec-dir]") && stderr.contains("--allow-outside-spec-dir"), "{stderr}");
    let allowed = run(Some("--allow-outside-spec-dir"));
    assert!(allowed.status.success(), "{}", String::from_utf8_lossy(&allowed.stderr));
}

// ---------------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------------

/// The corpus capability of keywords and non-identifiers generates here, and renders: the
/// workspace's corpus build compiles it.
#[test]
fn hostile_identifiers_generate_and_render() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/hostile/hostile-identifiers.yaml");
    let generated = generate(&capability(path), &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    let files = generated.crate_files(&Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    let operations = &files.iter().find(|(p, _)| p.ends_with("src/operations.rs")).expect("operations.rs").1;
    for name in ["pub async fn type_(", "pub async fn fn_(", "pub async fn crate_type_get("] {
        assert!(operations.contains(name), "missing {name}");
    }
    let mcp = &files.iter().find(|(p, _)| p.ends_with("src/mcp.rs")).expect("mcp.rs").1;
    assert!(mcp.contains("\"crate.type.get\"") && mcp.contains("\"🦀.tool\""), "tool names are kept as written");
}

/// An exposed REST operation named `123` (it used to panic: `names::shouty("_123")` was `123`,
/// and `emit/rest.rs` made the identifier `123_ARGS` of it; `emit/mcp.rs` `123_INPUT_SCHEMA`).
#[test]
fn rest_operation_named_with_digits() {
    let generated = generate(&capability(fixture("rest-digits.yaml")), &Settings::default());
    let generated = generated.unwrap_or_else(|f| panic!("{f}"));
    assert!(generated.crate_files(&Settings::default()).is_ok());
}

/// An exposed operation named `self` gets an arguments type `SelfArgs` (not `Self_Args`, which
/// would warn `non_camel_case_types`).
#[test]
fn exposed_operation_named_self() {
    let generated = generate(&capability(fixture("rest-self.yaml")), &Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    let files = generated.crate_files(&Settings::default()).unwrap_or_else(|f| panic!("{f}"));
    assert!(files.iter().all(|(_, text)| !text.contains("Self_Args")));
}
