//! Generates every capability of the shared corpora with `capgen::Builder` into `OUT_DIR`, so
//! that compiling this crate proves each one yields Rust that builds.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("corpus");
    std::fs::create_dir_all(&out).expect("OUT_DIR is writable");
    let mut modules = String::new();
    for path in corpus_capabilities(&root) {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        // Stems repeat: the beta4 tutorial repeats the alpha2 file names, and naftiko-public
        // repositories repeat each other's.
        let module = match naftiko_public_repo(&path) {
            Some(repo) => format!("{repo}_{stem}").replace(['-', '.'], "_"),
            None if path.components().any(|c| c.as_os_str() == "ikanos-beta4") => format!("ikanos_{}", stem.replace(['-', '.'], "_")),
            None => stem.replace(['-', '.'], "_"),
        };
        let file = format!("{module}.rs");
        if let Err(failure) = capgen::Builder::new(&path).file_name(&file).print_warnings(false).write_to(&out) {
            panic!("{} does not generate:\n{}", path.display(), failure);
        }
        let _ = writeln!(
            modules,
            "#[doc = \"Generated from `{stem}`.\"] pub mod {module} {{ include!(concat!(env!(\"OUT_DIR\"), \"/corpus/{file}\")); }}"
        );
    }
    std::fs::write(out.join("mod.rs"), modules).expect("OUT_DIR is writable");

    // Arazzo documents alone: clients from their source descriptions, workflows, adapters.
    let out = out.with_file_name("workflows");
    std::fs::create_dir_all(&out).expect("OUT_DIR is writable");
    let mut modules = String::new();
    for (path, sources) in corpus_workflows(&root) {
        let mut stem = path.file_name().and_then(|s| s.to_str()).unwrap_or_default().split('.').next().unwrap_or_default().to_string();
        if stem == "workflows" {
            // arazzo-public: `<host>/workflows.arazzo.json`.
            stem = path.parent().and_then(|p| p.file_name()).and_then(|s| s.to_str()).unwrap_or_default().to_string();
        }
        let module = stem.replace(['-', '.', '~'], "_").to_lowercase();
        let file = format!("{module}.rs");
        let mut builder = capgen::Builder::workflows(&path).file_name(&file).print_warnings(false);
        for (name, source) in sources {
            builder = builder.source(name, source);
        }
        if let Err(failure) = builder.write_to(&out) {
            panic!("{} does not generate:\n{}", path.display(), failure);
        }
        let _ = writeln!(
            modules,
            "#[doc = \"Generated from `{stem}` alone.\"] pub mod {module} {{ include!(concat!(env!(\"OUT_DIR\"), \"/workflows/{file}\")); }}"
        );
    }
    std::fs::write(out.join("mod.rs"), modules).expect("OUT_DIR is writable");
}

/// Every corpus Arazzo document that generates without a capability, with the local files of
/// the sources it names by URL. The others (the specification's examples with known mistakes)
/// get precise diagnostics instead: see `codegen/tests/corpus_workflows.rs`.
pub fn corpus_workflows(root: &Path) -> Vec<(PathBuf, Vec<(&'static str, PathBuf)>)> {
    let mut files = Vec::new();
    let dir = root.join("corpus/api-evangelist-prisma/arazzo");
    println!("cargo:rerun-if-changed={}", dir.display());
    if let Ok(entries) = std::fs::read_dir(&dir) {
        files.extend(entries.flatten().map(|e| (e.path(), Vec::new())));
    }
    let examples = root.join("corpus/arazzo-oai-examples");
    println!("cargo:rerun-if-changed={}", examples.display());
    files.push((examples.join("pet-coupons.arazzo.yaml"), Vec::new()));
    files.push((examples.join("oauth.arazzo.yaml"), Vec::new()));
    let fixtures = root.join("fixtures/arazzo");
    println!("cargo:rerun-if-changed={}", fixtures.display());
    files.push((fixtures.join("bnpl-arazzo.corrected.yaml"), vec![("BnplApi", examples.join("bnpl-openapi.yaml"))]));
    // Every loose form peers accept (codegen/tests/corpus_workflows.rs checks the warnings).
    files.push((root.join("../codegen/tests/fixtures/arazzo-loose/loose.arazzo.yaml"), Vec::new()));
    // A workflow of another document (`type: arazzo` source), ids with spaces in expressions.
    files.push((root.join("../codegen/tests/fixtures/arazzo-loose/workflow-source.arazzo.yaml"), Vec::new()));
    // Real documents (Jentic's public workflows), each next to its OpenAPI document.
    let public = root.join("corpus/arazzo-public");
    println!("cargo:rerun-if-changed={}", public.display());
    if let Ok(entries) = std::fs::read_dir(&public) {
        files.extend(entries.flatten().map(|e| e.path().join("workflows.arazzo.json")).filter(|p| p.is_file()).map(|p| (p, Vec::new())));
    }
    files.sort();
    files
}

/// Every capability in `corpus/`: the api-evangelist set (minus the edge graph, which is not a
/// capability), the Naftiko tutorial steps, and the hostile identifiers of `corpus/hostile`.
pub fn corpus_capabilities(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "corpus/api-evangelist-prisma/capabilities",
        "corpus/naftiko-framework-alpha2/tutorial",
        "corpus/ikanos-beta4/tutorial",
        "corpus/ikanos-beta4/examples",
        "corpus/hostile",
    ] {
        let dir = root.join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if (name.ends_with(".yaml") || name.ends_with(".yml")) && name != "prisma-capability-edges.yml"
                // Tunnels are not supported: pinned as `unsupported-tunnel` in codegen/tests/ikanos.rs.
                && name != "reverse-tunnel-ziti.yml"
            {
                files.push(path);
            }
        }
    }
    // naftiko-public: `<repo>/capabilities/*.yaml` (their `shared/` files are imported by them).
    let public = root.join("corpus/naftiko-public");
    println!("cargo:rerun-if-changed={}", public.display());
    for repo in std::fs::read_dir(&public).into_iter().flatten().flatten() {
        for entry in std::fs::read_dir(repo.path().join("capabilities")).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The repository a naftiko-public capability comes from (module names are prefixed with it:
/// stems repeat across repositories).
fn naftiko_public_repo(path: &Path) -> Option<&str> {
    let capabilities = path.parent()?;
    let repo = capabilities.parent()?;
    (repo.parent()?.file_name()? == "naftiko-public").then(|| repo.file_name()?.to_str()).flatten()
}
