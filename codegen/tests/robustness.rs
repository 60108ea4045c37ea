//! Property tests for the front end: whatever the input, capgen reports diagnostics and never
//! panics or hangs.
//!
//! - arbitrary text, and arbitrary YAML documents shaped like capabilities, Arazzo and OpenAPI
//!   documents, through the capability, Arazzo and OpenAPI loaders (`capgen::check`);
//! - arbitrary strings, and strings made of expression fragments, through the runtime
//!   expression, template, condition and criterion parsers;
//! - the real corpus (the seed, the api-evangelist capabilities, the Naftiko tutorial, the seed's
//!   Arazzo and OpenAPI documents), mutated on its parsed YAML tree (deletions, insertions, type
//!   swaps, duplicated and renamed entries), re-serialized and run through `capgen::generate`
//!   and the renderer.
//!
//! Case counts are small so the file runs in a few seconds in debug (this is the CI run). A
//! longer campaign (proptest reads `PROPTEST_CASES`; failures are shrunk and saved under
//! `codegen/tests/robustness.proptest-regressions`):
//!
//! ```sh
//! PROPTEST_CASES=100000 cargo test -p capgen --test robustness --release
//! ```
//!
//! Every case must also finish within [`CASE_BUDGET`], so quadratic blow-ups show up as
//! failures rather than slow runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use capgen::expr::{CriterionType, parse_condition, parse_criterion, parse_expression, parse_template, parse_value_string};
use capgen::parse::yaml::YamlFile;
use capgen::{Inputs, Settings};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_yaml::{Mapping, Value};

/// The most one case may take (debug build), however hostile its input.
const CASE_BUDGET: Duration = Duration::from_secs(10);

/// `cases` unless `PROPTEST_CASES` says otherwise.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config.max_shrink_iters = 256;
    config
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    assert!(elapsed < CASE_BUDGET, "{what} took {elapsed:?}");
    out
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Keys the three document kinds use, so generated trees reach past the top-level checks.
const KEYS: &[&str] = &[
    "naftiko", "info", "label", "binds", "namespace", "keys", "location", "capability", "consumes", "exposes",
    "aggregates", "functions", "type", "baseUri", "resources", "operations", "name", "path", "method", "call",
    "with", "inputParameters", "outputParameters", "in", "value", "mapping", "properties", "items", "steps",
    "mappings", "targetName", "tools", "hints", "readOnly", "authentication", "token", "import", "as", "body",
    "port", "address", "prompts", "template", "uri", "ref", "semantics", "arazzo", "title", "version",
    "sourceDescriptions", "url", "workflows", "workflowId", "stepId", "operationId", "operationPath",
    "parameters", "requestBody", "payload", "replacements", "successCriteria", "condition", "context",
    "onSuccess", "onFailure", "retryAfter", "retryLimit", "outputs", "dependsOn", "components", "reference",
    "openapi", "servers", "paths", "/a/{id}", "get", "post", "responses", "200", "content",
    "application/json", "schema", "schemas", "$ref", "allOf", "oneOf", "anyOf", "enum", "required",
    "additionalProperties", "nullable", "format", "x-ext",
];

/// Scalars worth trying: names, expressions, templates, paths, references, odd text.
const WORDS: &[&str] = &[
    "1.0.0-alpha2", "1.0.1", "3.1.0", "http", "rest", "mcp", "skill", "string", "object", "array", "integer",
    "boolean", "number", "path", "query", "header", "body", "GET", "post", "simple", "regex", "jsonpath",
    "goto", "end", "retry", "api.op", "api", "op", "type", "self", "fn", "crate", "super", "123", "a b",
    "\u{1F980}", "", " ", "$.", "$.a.b", "$..x[?@.y == 1]", "$[", "{{x}}", "{{env.TOKEN}}", "{{", "}}",
    "$inputs.x", "$steps.s.outputs.o", "$response.body#/a/0", "$statusCode == 200", "Bearer $inputs.t",
    "{$inputs.x}", "#/components/schemas/A", "#/components/schemas/", "#/", "other.yaml#/A", "../../etc/passwd",
    "file:///etc/passwd", "./x.yaml", "http://x/y", "/a/{id}/{{b}}", "/a/{", "\u{0}", "é", "~1", "a/b",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(|w| Value::String(w.to_string())),
        1 => any::<String>().prop_map(Value::String),
        1 => any::<i64>().prop_map(|n| Value::Number(n.into())),
        1 => any::<f64>().prop_map(|n| Value::Number(n.into())),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn key() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::sample::select(KEYS).prop_map(|k| Value::String(k.to_string())),
        1 => any::<String>().prop_map(Value::String),
        1 => any::<i64>().prop_map(|n| Value::Number(n.into())),
    ]
}

/// A YAML tree up to a few levels deep, keyed mostly by the specs' own field names.
fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Sequence),
            prop::collection::vec((key(), inner), 0..8).prop_map(|entries| Value::Mapping(entries.into_iter().collect())),
        ]
    })
}

/// A tree under the top-level key of a document kind, so the loader gets past recognition.
fn document(kind: &'static str) -> impl Strategy<Value = Value> {
    (tree(), prop::collection::vec((key(), tree()), 0..5)).prop_map(move |(body, extra)| {
        let mut root = Mapping::new();
        root.insert(Value::String(kind.to_string()), Value::String("1".to_string()));
        match kind {
            "naftiko" => root.insert("capability".into(), body),
            "arazzo" => root.insert("workflows".into(), body),
            _ => root.insert("paths".into(), body),
        };
        for (k, v) in extra {
            root.insert(k, v);
        }
        Value::Mapping(root)
    })
}

/// Text that looks like YAML: indented keys, list dashes, flow collections, anchors, aliases,
/// tags, quotes and document markers, in random order.
fn yamlish_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        prop::sample::select(KEYS).prop_map(|k| format!("{k}: ")),
        prop::sample::select(WORDS).prop_map(str::to_string),
        prop::sample::select(&[
            "\n", "\n  ", "\n    ", "- ", "[", "]", "{", "}", ", ", ": ", "&a ", "*a", "&b ", "*b", "!!str ", "!tag ",
            "'", "\"", "|\n  ", ">-\n  ", "---\n", "...\n", "? ", "#", "\t", "<<: *a\n", "%YAML 1.2\n",
        ][..])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(fragment, 0..64).prop_map(|parts| parts.concat())
}

/// Strings built from pieces of the expression languages.
fn expression_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        prop::sample::select(&[
            "$", "$url", "$method", "$statusCode", "$self", "$request.", "$response.", "$message.", "$inputs.",
            "$outputs.", "$steps.", "$workflows.", "$sourceDescriptions.", "$components.", "header.", "query.",
            "path.", "body", "payload", "#", "#/", "/", "~0", "~1", "~", ".outputs.", ".inputs.", "parameters.",
            "successActions.", "x", "id", "0", "-1", "1e9", "3.5", "'", "\"", "''", "{", "}", "{$", "[", "]", "(", ")",
            " ", "==", "!=", "<", "<=", ">", ">=", "!", "&&", "||", "=", "&", "|", "$.", "$..", "@", "?", "*", ".",
            "..", ",", ":", "length", ".length", "true", "false", "null", "é", "\u{1F980}", "\\", "\u{0}", "%",
        ][..])
        .prop_map(str::to_string),
        "[a-zA-Z0-9_-]{1,6}".prop_map(|s| s),
    ];
    prop::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

fn criterion_type() -> impl Strategy<Value = CriterionType> {
    prop::sample::select(&[CriterionType::Simple, CriterionType::Regex, CriterionType::JsonPath, CriterionType::XPath][..])
}

// ---------------------------------------------------------------------------------------------
// Running documents through the loaders
// ---------------------------------------------------------------------------------------------

/// Writes `text` into a fresh temp dir (as `specs/<name>`) and runs `check` on it as `kind`.
fn check_text(kind: &str, text: &str) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("specs").join(match kind {
        "naftiko" => "capability.yaml",
        "arazzo" => "workflow.arazzo.yaml",
        _ => "openapi.yaml",
    });
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("writable");
    std::fs::write(&path, text).expect("writable");
    let inputs = match kind {
        "naftiko" => Inputs { capability: Some(path.clone()), ..Inputs::default() },
        "arazzo" => Inputs { arazzo: vec![path.clone()], ..Inputs::default() },
        _ => Inputs { openapi: vec![path.clone()], ..Inputs::default() },
    };
    let checked = timed(kind, || capgen::check(&inputs, &Settings::default()));
    // Rendering every diagnostic (human and JSON) must not panic either.
    let _ = checked.diagnostics.render_human(&checked.sources, false);
    let _ = checked.diagnostics.to_json(&checked.sources);
    if kind == "naftiko" {
        let strict = Settings { strict: true, ..Settings::default() };
        let _ = timed("strict check", || capgen::check(&inputs, &strict));
        let _ = timed("generate", || generate_and_render(&inputs));
    }
}

/// The whole pipeline, rendering every file of the crate when generation succeeds.
fn generate_and_render(inputs: &Inputs) -> bool {
    let settings = Settings::default();
    match capgen::generate(inputs, &settings) {
        Ok(generated) => {
            let _ = generated.crate_files(&settings);
            true
        }
        Err(failure) => {
            assert!(failure.diagnostics.has_errors() || failure.diagnostics.is_empty());
            let _ = failure.to_string();
            false
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn arbitrary_text_never_panics_a_loader(text in any::<String>(), kind in prop::sample::select(&["naftiko", "arazzo", "openapi"][..])) {
        check_text(kind, &text);
    }

    #[test]
    fn yamlish_text_never_panics_a_loader(text in yamlish_text(), kind in prop::sample::select(&["naftiko", "arazzo", "openapi"][..])) {
        check_text(kind, &text);
    }

    #[test]
    fn yaml_documents_never_panic_a_loader(
        (kind, doc) in prop::sample::select(&["naftiko", "arazzo", "openapi"][..]).prop_flat_map(|k| (Just(k), document(k)))
    ) {
        let text = serde_yaml::to_string(&doc).expect("a value serializes");
        check_text(kind, &text);
    }

    #[test]
    fn in_memory_parse_never_panics(text in yamlish_text()) {
        let path: Arc<Path> = Arc::from(Path::new("mem.yaml"));
        if let Ok(file) = timed("parse", || YamlFile::parse(path, Arc::from(text.as_str())).ok().ok_or(())) {
            // Span lookups for pointers that exist and that do not.
            for pointer in ["", "/", "/a", "/capability/consumes/0", "/~1", "/0/1/2/3"] {
                let _ = file.span(pointer);
                let _ = file.key_span(pointer);
            }
            let mut diagnostics = capgen::Diagnostics::new();
            let _ = capgen::parse::arazzo::read_arazzo(file, &mut diagnostics);
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn expressions_never_panic(text in prop_oneof![expression_text(), any::<String>()]) {
        timed("expression", || {
            let _ = parse_expression(&text);
            let _ = parse_template(&text);
            let _ = parse_value_string(&text);
            let _ = parse_condition(&text);
            let _ = capgen::expr::parse_json_pointer(&text);
            let _ = capgen::expr::parse_operation_path(&text);
            let _ = capgen::expr::singular_pointer(&text);
            let _ = capgen::expr::check_regex(&text);
        });
    }

    #[test]
    fn criteria_never_panic(kind in criterion_type(), context in prop::option::of(expression_text()), condition in prop_oneof![expression_text(), any::<String>()]) {
        let _ = timed("criterion", || parse_criterion(kind, context.as_deref(), &condition));
    }

    #[test]
    fn expression_errors_point_inside_the_text(text in expression_text()) {
        // Diagnostics slice the source at an error's offset; it must be a char boundary in range.
        if let Err(error) = parse_expression(&text) {
            prop_assert!(error.offset <= text.len(), "{error:?} for {text:?}");
            prop_assert!(text.is_char_boundary(error.offset), "{error:?} for {text:?}");
        }
        if let Err(error) = parse_condition(&text) {
            prop_assert!(error.offset <= text.len(), "{error:?} for {text:?}");
            prop_assert!(text.is_char_boundary(error.offset), "{error:?} for {text:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions found by fuzzing (fuzz/, scripts/fuzz.sh)
// ---------------------------------------------------------------------------------------------

/// JSONPaths serde_json_path cannot parse safely: filters nested 24 deep (its parser takes time
/// exponential in filter nesting: the `expressions` fuzz target's first timeout, a `jsonpath`
/// criterion), and brackets or parentheses nested thousands deep (stack overflow).
fn hostile_jsonpaths() -> Vec<String> {
    vec![
        format!("${}", "[?@.a".repeat(24)),
        format!("${}{}", "[?@.a".repeat(24), "]".repeat(24)),
        format!("{}@{}", "$[?length(".repeat(12), ")]".repeat(12)),
        format!("$[?{}@.a{}]", "(".repeat(20_000), ")".repeat(20_000)),
        format!("$[?{}@.a{} == 1]", "length(".repeat(20_000), ")".repeat(20_000)),
        format!("${}", "[".repeat(20_000)),
    ]
}

#[test]
fn deeply_nested_jsonpath_criteria_are_refused_quickly() {
    for path in hostile_jsonpaths() {
        let result = timed("jsonpath criterion", || parse_criterion(CriterionType::JsonPath, Some("$response.body"), &path));
        assert!(result.is_err(), "{}…", &path[..40]);
        // The legacy comparison form parses its path too.
        let legacy = format!("{path} == 1");
        let result = timed("legacy jsonpath criterion", || parse_criterion(CriterionType::JsonPath, Some("$response.body"), &legacy));
        assert!(result.is_err(), "{}…", &path[..40]);
    }
    // Nesting real queries use is still accepted.
    let nested = "$[?@.items[?@.tags[?@ == 'x']]]";
    assert!(parse_criterion(CriterionType::JsonPath, Some("$response.body"), nested).is_ok());
    let quoted = format!("$[?@.name == '{}']", "[?(".repeat(100));
    assert!(parse_criterion(CriterionType::JsonPath, Some("$response.body"), &quoted).is_ok());
}

#[test]
fn deeply_nested_jsonpath_mappings_are_refused_quickly() {
    let seed = std::fs::read_to_string(repo(SEED_CAPABILITY)).expect("seed capability");
    for path in hostile_jsonpaths() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("specs").join("capability.yaml");
        std::fs::create_dir_all(file.parent().expect("has a parent")).expect("writable");
        let text = seed.replacen("mapping: $.", &format!("mapping: \"{path}\""), 1);
        std::fs::write(&file, text).expect("writable");
        let inputs = Inputs { capability: Some(file), ..Inputs::default() };
        let checked = timed("check", || capgen::check(&inputs, &Settings::default()));
        assert!(checked.diagnostics.iter().any(|d| d.code == "invalid-jsonpath"), "{}…", &path[..40]);
    }
}

// ---------------------------------------------------------------------------------------------
// Mutating the corpus
// ---------------------------------------------------------------------------------------------

/// One edit of a YAML tree, applied at the node chosen by `at` (an index into the nodes in
/// document order).
#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index),
    Insert(Index, Value, Value),
    Replace(Index, Value),
    /// Replaces a node with a copy of another node (duplicate names, misplaced subtrees).
    Copy { from: Index, to: Index },
    /// Appends a copy of a list's item (duplicate operations, steps, tools).
    Duplicate(Index),
    RenameKey(Index, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<Index>().prop_map(Mutation::Delete),
        2 => (any::<Index>(), key(), tree()).prop_map(|(at, k, v)| Mutation::Insert(at, k, v)),
        4 => (any::<Index>(), prop_oneof![3 => scalar(), 1 => tree()]).prop_map(|(at, v)| Mutation::Replace(at, v)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(from, to)| Mutation::Copy { from, to }),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        1 => (any::<Index>(), key()).prop_map(|(at, k)| Mutation::RenameKey(at, k)),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    Key(Value),
    Item(usize),
}

/// Every node's path, in document order (the root is `[]`).
fn node_paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                prefix.push(Step::Key(k.clone()));
                node_paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Sequence(seq) => {
            for (i, v) in seq.iter().enumerate() {
                prefix.push(Step::Item(i));
                node_paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Tagged(tagged) => node_paths(&tagged.value, prefix, out),
        _ => {}
    }
}

fn node_mut<'v>(mut value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    for step in path {
        value = match (value, step) {
            (Value::Mapping(map), Step::Key(k)) => map.get_mut(k)?,
            (Value::Sequence(seq), Step::Item(i)) => seq.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

fn node<'v>(mut value: &'v Value, path: &[Step]) -> Option<&'v Value> {
    for step in path {
        value = match (value, step) {
            (Value::Mapping(map), Step::Key(k)) => map.get(k)?,
            (Value::Sequence(seq), Step::Item(i)) => seq.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

fn apply(root: &mut Value, mutation: &Mutation) {
    let mut paths = Vec::new();
    node_paths(root, &mut Vec::new(), &mut paths);
    let pick = |at: &Index| paths[at.index(paths.len())].clone();
    match mutation {
        Mutation::Delete(at) => {
            let path = pick(at);
            let Some((last, parent)) = path.split_last() else { return };
            match (node_mut(root, parent), last) {
                (Some(Value::Mapping(map)), Step::Key(k)) => {
                    map.shift_remove(k);
                }
                (Some(Value::Sequence(seq)), Step::Item(i)) if *i < seq.len() => {
                    seq.remove(*i);
                }
                _ => {}
            }
        }
        Mutation::Insert(at, k, v) => match node_mut(root, &pick(at)) {
            Some(Value::Mapping(map)) => {
                map.insert(k.clone(), v.clone());
            }
            Some(Value::Sequence(seq)) => seq.push(v.clone()),
            Some(other) => *other = v.clone(),
            None => {}
        },
        Mutation::Replace(at, v) => {
            if let Some(target) = node_mut(root, &pick(at)) {
                *target = v.clone();
            }
        }
        Mutation::Copy { from, to } => {
            let Some(copy) = node(root, &pick(from)).cloned() else { return };
            if let Some(target) = node_mut(root, &pick(to)) {
                *target = copy;
            }
        }
        Mutation::Duplicate(at) => {
            if let Some(Value::Sequence(seq)) = node_mut(root, &pick(at))
                && let Some(first) = seq.first().cloned()
            {
                seq.push(first);
            }
        }
        Mutation::RenameKey(at, new_key) => {
            let path = pick(at);
            let Some((Step::Key(old), parent)) = path.split_last() else { return };
            if let Some(Value::Mapping(map)) = node_mut(root, parent)
                && let Some(value) = map.shift_remove(old)
            {
                map.insert(new_key.clone(), value);
            }
        }
    }
}

/// A corpus document to mutate: where it lives, and how it sits in a spec tree.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// A stand-alone capability (api-evangelist, or the seed).
    Capability(&'static str),
    /// A tutorial step, which imports `./shared/…`.
    Tutorial(&'static str),
    /// The seed with its Arazzo workflow; which of the three files is mutated.
    Seed(SeedFile),
}

#[derive(Clone, Copy, Debug)]
enum SeedFile {
    Capability,
    Arazzo,
    OpenApi,
}

const SEED_CAPABILITY: &str = "specs/prisma/capabilities/postgres-management-database-backups.yaml";
const SEED_ARAZZO: &str = "specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml";
const SEED_OPENAPI: &str = "specs/prisma/openapi/prisma-postgres-management-openapi.yml";

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        prop::sample::select(&[
            "tests/corpus/api-evangelist-prisma/capabilities/client-crud.yaml",
            "tests/corpus/api-evangelist-prisma/capabilities/data-platform-projects.yaml",
            "tests/corpus/api-evangelist-prisma/capabilities/postgres-management-databases.yaml",
            "tests/corpus/api-evangelist-prisma/capabilities/pulse-streams.yaml",
            "tests/corpus/api-evangelist-prisma/capabilities/optimize-metrics.yaml",
            SEED_CAPABILITY,
        ][..])
        .prop_map(Target::Capability),
        prop::sample::select(&[
            "tests/corpus/naftiko-framework-alpha2/tutorial/step-1-shipyard-mock.yml",
            "tests/corpus/naftiko-framework-alpha2/tutorial/step-4-shipyard-output-shaping.yml",
            "tests/corpus/naftiko-framework-alpha2/tutorial/step-6-shipyard-write-operations.yml",
            "tests/corpus/naftiko-framework-alpha2/tutorial/step-9-shipyard-aggregates.yml",
            "tests/corpus/naftiko-framework-alpha2/tutorial/step-10-shipyard-rest-adapter.yml",
        ][..])
        .prop_map(Target::Tutorial),
        prop::sample::select(&[SeedFile::Capability, SeedFile::Arazzo, SeedFile::OpenApi][..]).prop_map(Target::Seed),
    ]
}

fn parsed(path: &str) -> Value {
    let text = std::fs::read_to_string(repo(path)).expect("corpus file");
    serde_yaml::from_str(&text).expect("corpus file is YAML")
}

fn mutated(path: &str, mutations: &[Mutation]) -> String {
    let mut value = parsed(path);
    for mutation in mutations {
        apply(&mut value, mutation);
    }
    serde_yaml::to_string(&value).expect("a value serializes")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("writable");
    for entry in std::fs::read_dir(from).expect("readable").flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copyable");
    }
}

/// Lays the mutated document out in a temp spec tree (with its unmutated companions) and runs
/// the whole pipeline.
fn run_mutated(target: Target, mutations: &[Mutation]) -> bool {
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path();
    let write = |relative: &str, text: &str| {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("writable");
        std::fs::write(&path, text).expect("writable");
        path
    };
    let inputs = match target {
        Target::Capability(path) => Inputs { capability: Some(write("caps/cap.yaml", &mutated(path, mutations))), ..Inputs::default() },
        Target::Tutorial(path) => {
            copy_dir(&repo("tests/corpus/naftiko-framework-alpha2/tutorial/shared"), &root.join("caps/shared"));
            Inputs { capability: Some(write("caps/cap.yml", &mutated(path, mutations))), ..Inputs::default() }
        }
        Target::Seed(which) => {
            let text = |file: SeedFile, path: &str| {
                if matches!((file, which), (SeedFile::Capability, SeedFile::Capability) | (SeedFile::Arazzo, SeedFile::Arazzo) | (SeedFile::OpenApi, SeedFile::OpenApi)) {
                    mutated(path, mutations)
                } else {
                    std::fs::read_to_string(repo(path)).expect("seed file")
                }
            };
            let capability = write("capabilities/cap.yaml", &text(SeedFile::Capability, SEED_CAPABILITY));
            let arazzo = write("arazzo/workflow.yml", &text(SeedFile::Arazzo, SEED_ARAZZO));
            write("openapi/prisma-postgres-management-openapi.yml", &text(SeedFile::OpenApi, SEED_OPENAPI));
            Inputs { capability: Some(capability), arazzo: vec![arazzo], ..Inputs::default() }
        }
    };
    timed("generate", || generate_and_render(&inputs))
}

#[test]
fn unmutated_corpus_generates_from_a_temp_tree() {
    // The harness itself: with no mutation, every target generates.
    for target in [
        Target::Capability(SEED_CAPABILITY),
        Target::Tutorial("tests/corpus/naftiko-framework-alpha2/tutorial/step-9-shipyard-aggregates.yml"),
        Target::Seed(SeedFile::Arazzo),
    ] {
        assert!(run_mutated(target, &[]), "{target:?} should generate unmutated");
    }
}

proptest! {
    #![proptest_config(config(40))]

    #[test]
    fn mutated_corpus_never_panics(target in target(), mutations in prop::collection::vec(mutation(), 1..6)) {
        run_mutated(target, &mutations);
    }
}
