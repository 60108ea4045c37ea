//! The pipeline every front-end calls: load → validate → IR → emit → render.
//!
//! [`generate`] returns the rendered modules or every diagnostic found; [`check`] runs the same
//! stages up to validation.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use proc_macro2::TokenStream;

use crate::diagnostics::{Diagnostic, Diagnostics, SourceMap};
use crate::emit::crate_files::{self, RuntimeDependency};
use crate::emit::{self, Module};
use crate::ir::{self, Ir};
use crate::parse::paths::Scope;
use crate::parse::arazzo::LoadedArazzo;
use crate::parse::{naftiko, openapi};
use crate::render;

/// What to read.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The Naftiko capability. Without one, [`generate`] compiles the Arazzo workflows over
    /// clients generated from their source descriptions.
    pub capability: Option<PathBuf>,
    /// Arazzo documents; the OpenAPI documents they name are loaded too.
    pub arazzo: Vec<PathBuf>,
    /// Extra OpenAPI documents describing the consumed operations.
    pub openapi: Vec<PathBuf>,
    /// Source description name → local file, for sources named by remote URL.
    pub sources: IndexMap<String, PathBuf>,
    /// Let specs name files outside their spec root (the parent of the directory of the file
    /// given here; see [`crate::parse::paths`]). Off by default: a `location` or `url` that
    /// leaves the root is a `path-outside-spec-dir` error and is never read.
    pub allow_outside: bool,
    /// Without a capability: give each source description's client every operation of its
    /// OpenAPI document, not only those the workflows call.
    pub all_operations: bool,
}

/// How to generate.
#[derive(Clone, Debug)]
pub struct Settings {
    pub crate_name: String,
    pub runtime: RuntimeDependency,
    /// Also validate the capability against the official Naftiko JSON Schema, and make the
    /// warnings about loose Arazzo forms errors ([`crate::validate::arazzo::LOOSE_FORMS`]).
    pub strict: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { crate_name: "capability".to_string(), runtime: RuntimeDependency::Version("0.1".to_string()), strict: false }
    }
}

/// A successful run: the IR and the warnings. Modules are emitted from the IR when asked for
/// ([`Generated::modules`], [`Generated::render_module`], [`Generated::crate_files`]).
#[derive(Clone, Debug)]
pub struct Generated {
    pub ir: Ir,
    /// The generated library's modules, in order (`types`, `client`, …).
    pub module_names: Vec<&'static str>,
    /// The REST adapters' OpenAPI document (`openapi.json`), when there are any.
    pub openapi_json: Option<String>,
    pub warnings: Diagnostics,
    pub sources: SourceMap,
    /// The capability's file name, named in headers.
    pub source_name: String,
}

/// A failed run: every diagnostic, and the sources to render them with.
#[derive(Clone, Debug)]
pub struct Failure {
    pub diagnostics: Diagnostics,
    pub sources: SourceMap,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diagnostics.render_human(&self.sources, false))
    }
}

/// Everything loaded and checked.
pub struct Checked {
    pub capability: Option<naftiko::Capability>,
    pub openapi: Vec<openapi::OpenApiDoc>,
    pub arazzo: Vec<LoadedArazzo>,
    pub diagnostics: Diagnostics,
    pub sources: SourceMap,
}

/// Loads every input and runs every check. Never stops at the first problem.
pub fn check(inputs: &Inputs, settings: &Settings) -> Checked {
    // The capability loads on its own thread while the Arazzo and OpenAPI documents load here;
    // sources and diagnostics are merged in the order a sequential load gives.
    let load_capability = || {
        let mut sources = SourceMap::default();
        let mut diagnostics = Diagnostics::new();
        let capability = inputs.capability.as_ref().and_then(|path| {
            naftiko::load_capability_in(path, &Scope::new(path, inputs.allow_outside), &mut sources, &mut diagnostics)
        });
        (capability, sources, diagnostics)
    };
    let parallel = inputs.capability.is_some() && !(inputs.arazzo.is_empty() && inputs.openapi.is_empty());
    let (capability, mut sources, mut diagnostics, documents) = std::thread::scope(|scope| {
        let loading = parallel.then(|| scope.spawn(load_capability));
        let documents = load_documents(inputs);
        let (capability, sources, diagnostics) = match loading {
            Some(loading) => loading.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => load_capability(),
        };
        (capability, sources, diagnostics, documents)
    });
    let Documents { sources: document_sources, diagnostics: document_diagnostics, arazzo_docs, openapi_docs, loaded } = documents;
    for path in document_sources.paths() {
        if let Some(text) = document_sources.get(path) {
            sources.insert(path.clone(), text.clone());
        }
    }
    diagnostics.extend(document_diagnostics);

    let index_for = |path: &Path| loaded.iter().find(|(k, _)| *k == canonical(path)).and_then(|(_, i)| *i);

    if let Some(capability) = &capability {
        crate::validate::naftiko::validate(capability, &mut diagnostics);
        if settings.strict {
            crate::validate::schema::validate_strict(capability, &mut diagnostics);
            diagnostics = naftiko::strict_loose_forms(diagnostics);
        }
    }
    let loaded_paths: Vec<PathBuf> = arazzo_docs.iter().map(|(doc, _)| canonical(&doc.file.path)).collect();
    let arazzo_index = |path: &Path| loaded_paths.iter().position(|p| *p == canonical(path));
    let arazzo: Vec<LoadedArazzo> = arazzo_docs
        .into_iter()
        .map(|(doc, resolved)| {
            let (workflow_sources, sources): (Vec<_>, Vec<_>) = resolved.into_iter().partition(|(name, _)| doc.is_arazzo_source(name));
            LoadedArazzo {
                sources: sources.into_iter().map(|(name, path)| (name, path.as_deref().and_then(index_for))).collect(),
                workflow_sources: workflow_sources.into_iter().map(|(name, path)| (name, path.as_deref().and_then(arazzo_index))).collect(),
                doc,
            }
        })
        .collect();
    for loaded in &arazzo {
        let sources: Vec<_> = loaded.sources.iter().map(|(name, index)| (name.clone(), index.map(|i| &openapi_docs[i]))).collect();
        let workflow_sources: Vec<_> =
            loaded.workflow_sources.iter().map(|(name, index)| (name.clone(), index.map(|i| &arazzo[i].doc))).collect();
        crate::validate::arazzo_against_openapi(&loaded.doc, &sources, &workflow_sources, &mut diagnostics);
    }
    if settings.strict {
        diagnostics = crate::validate::arazzo::strict(diagnostics);
    }
    Checked { capability, openapi: openapi_docs, arazzo, diagnostics: diagnostics.sorted(), sources }
}

/// Runs the whole pipeline. Without a capability, the Arazzo workflows are generated over
/// clients built from their source descriptions.
pub fn generate(inputs: &Inputs, settings: &Settings) -> Result<Generated, Failure> {
    let checked = check(inputs, settings);
    let Checked { capability, openapi, arazzo, mut diagnostics, sources } = checked;
    if diagnostics.has_errors() {
        return Err(Failure { diagnostics, sources });
    }
    if capability.is_none() && arazzo.is_empty() {
        diagnostics.push(
            Diagnostic::error("no-capability", "neither a capability nor an Arazzo document was given")
                .help("pass the Naftiko capability file, or Arazzo documents (`--arazzo`), to generate from"),
        );
        return Err(Failure { diagnostics, sources });
    }
    let ir = ir::build::build_with(capability.as_ref(), &openapi, &arazzo, inputs.all_operations);
    lowering_warnings(&ir, &mut diagnostics);
    let module_names = emit::module_names(&ir);
    let openapi_json = emit::openapi_json(&ir);
    let source_path: Option<&Path> = match &capability {
        Some(c) => Some(&c.path),
        None => inputs.arazzo.first().map(PathBuf::as_path),
    };
    let source_name = source_path.map(file_name).unwrap_or_default();
    Ok(Generated { ir, module_names, openapi_json, warnings: diagnostics, sources, source_name })
}

/// [`check`], plus what only lowering finds (workflows left out of the crate): everything
/// `capgen check` reports, so that it agrees with `capgen generate`.
pub fn check_and_lower(inputs: &Inputs, settings: &Settings) -> Checked {
    let mut checked = check(inputs, settings);
    if !checked.diagnostics.has_errors() && (checked.capability.is_some() || !checked.arazzo.is_empty()) {
        let ir = ir::build::build_with(checked.capability.as_ref(), &checked.openapi, &checked.arazzo, inputs.all_operations);
        lowering_warnings(&ir, &mut checked.diagnostics);
        checked.diagnostics = std::mem::take(&mut checked.diagnostics).sorted();
    }
    checked
}

/// A source description's name and the file it resolves to (`None`: it does not).
type ResolvedSource = (String, Option<PathBuf>);

/// The Arazzo documents given and those their `type: arazzo` sources name, and the OpenAPI
/// documents given or named by an Arazzo source, each loaded once.
struct Documents {
    sources: SourceMap,
    diagnostics: Diagnostics,
    /// Each document with its sources' names and the files they resolve to.
    arazzo_docs: Vec<(crate::parse::arazzo::ArazzoDoc, Vec<ResolvedSource>)>,
    openapi_docs: Vec<openapi::OpenApiDoc>,
    loaded: Vec<(PathBuf, Option<usize>)>,
}

fn load_documents(inputs: &Inputs) -> Documents {
    let mut sources = SourceMap::default();
    let mut diagnostics = Diagnostics::new();
    // Arazzo documents, and the file each of their sources resolves to. `type: arazzo` sources
    // (workflows of another document) are loaded as Arazzo documents in turn, once each.
    let mut arazzo_docs = Vec::new();
    let mut arazzo_paths: Vec<PathBuf> = Vec::new();
    let mut queue: Vec<PathBuf> = inputs.arazzo.clone();
    let mut next = 0;
    while next < queue.len() {
        let path = queue[next].clone();
        next += 1;
        if arazzo_paths.contains(&canonical(&path)) {
            continue;
        }
        arazzo_paths.push(canonical(&path));
        let Some(doc) = crate::parse::arazzo::load_arazzo(&path, &mut sources, &mut diagnostics) else {
            continue;
        };
        let mut resolved = Vec::new();
        let scope = Scope::new(&path, inputs.allow_outside);
        for (name, result) in crate::parse::arazzo::resolve_sources_in(&doc, &inputs.sources, &scope) {
            match result {
                Ok(path) => {
                    if doc.is_arazzo_source(&name) {
                        queue.push(path.clone());
                    }
                    resolved.push((name, Some(path)));
                }
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    resolved.push((name, None));
                }
            }
        }
        arazzo_docs.push((doc, resolved));
    }

    // OpenAPI documents: given directly, or named by an Arazzo source. Each is loaded once.
    let mut openapi_docs: Vec<openapi::OpenApiDoc> = Vec::new();
    let mut loaded: Vec<(PathBuf, Option<usize>)> = Vec::new();
    let named = arazzo_docs
        .iter()
        .flat_map(|(doc, r)| r.iter().filter(|(name, _)| !doc.is_arazzo_source(name)).filter_map(|(_, p)| p.as_ref()));
    let wanted = inputs.openapi.iter().chain(named);
    for path in wanted {
        let key = canonical(path);
        if loaded.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let index = openapi::load_openapi(path, &mut sources, &mut diagnostics).map(|doc| {
            openapi_docs.push(doc);
            openapi_docs.len() - 1
        });
        loaded.push((key, index));
    }
    Documents { sources, diagnostics, arazzo_docs, openapi_docs, loaded }
}

/// Warnings lowering raises: a workflow it cannot compile is left out of the crate.
fn lowering_warnings(ir: &ir::Ir, diagnostics: &mut Diagnostics) {
    for workflow in &ir.workflows {
        if let Some(reason) = &workflow.unsupported {
            diagnostics.push(
                Diagnostic::warning("workflow-not-generated", format!("workflow `{}` is not generated: {reason}", workflow.workflow_id))
                    .at(workflow.span.clone())
                    .help("the rest of the crate is generated; change the workflow as the message says to include it"),
            );
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Generated {
    /// Every file of a standalone crate, relative to its directory, rendered. Each Rust file is
    /// emitted and rendered on its own, on as many threads as the machine has cores (at most
    /// one per file), so a large crate's modules never all exist as tokens at once.
    pub fn crate_files(&self, settings: &Settings) -> Result<Vec<(PathBuf, String)>, Failure> {
        let durable = emit::restate::has_durable(&self.ir);
        let mut cargo_toml = crate_files::cargo_toml(&settings.crate_name, &settings.runtime, &self.module_names);
        if durable {
            cargo_toml.push_str(emit::restate::CARGO_FEATURE);
        }
        let mut files = vec![(PathBuf::from("Cargo.toml"), cargo_toml)];
        if let Some(openapi_json) = &self.openapi_json {
            files.push((PathBuf::from("openapi.json"), openapi_json.clone()));
        }
        // The large modules first, so both threads stay busy to the end.
        let mut rust_files: Vec<&str> = self.module_names.iter().rev().copied().collect();
        rust_files.extend(["main", "lib"]);
        if durable {
            rust_files.push("durable");
        }
        let emit_file = |name: &str| -> TokenStream {
            match name {
                "lib" => crate_files::lib_rs(&self.ir, &self.module_names, &self.source_name),
                "main" => crate_files::main_rs(&self.ir, &self.module_names, &settings.crate_name),
                "durable" => emit::restate::durable_module(&self.ir),
                module => emit::emit_module(&self.ir, module, self.openapi_json.as_deref()),
            }
        };
        let results = parallel_map(&rust_files, |name| render::render_file(emit_file(name), &self.source_name));
        let mut rendered = std::collections::HashMap::new();
        for (name, result) in rust_files.iter().zip(results) {
            rendered.insert(*name, result.map_err(|diagnostic| self.failure(diagnostic))?);
        }
        let order = ["lib", "main"].into_iter().chain(self.module_names.iter().copied()).chain(durable.then_some("durable"));
        for name in order {
            if let Some(text) = rendered.remove(name) {
                files.push((PathBuf::from(format!("src/{name}.rs")), text));
            }
        }
        Ok(files)
    }

    /// Writes the crate into `dir`, creating it as needed. Files are only rewritten when their
    /// contents change, so builds that depend on them are not invalidated needlessly.
    pub fn write_crate(&self, dir: &Path, settings: &Settings) -> Result<Vec<PathBuf>, Failure> {
        let files = self.crate_files(settings)?;
        let mut written = Vec::new();
        for (relative, contents) in files {
            let path = dir.join(&relative);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(contents.as_str()) {
                continue;
            }
            let result = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, contents));
            if let Err(err) = result {
                return Err(Failure {
                    diagnostics: [Diagnostic::error("write-failed", format!("cannot write `{}`: {err}", path.display()))
                        .help("check that the output directory is writable")]
                    .into_iter()
                    .collect(),
                    sources: self.sources.clone(),
                });
            }
            written.push(path);
        }
        Ok(written)
    }

    /// Every module of the generated library, emitted (what the proc macro expands to).
    pub fn modules(&self) -> Vec<Module> {
        emit::emit(&self.ir)
    }

    /// All modules as one token stream of inline `pub mod`s (what the proc macro expands to).
    pub fn inline_tokens(&self) -> TokenStream {
        let modules = self.modules().into_iter().map(|module| {
            let name = quote::format_ident!("{}", module.name);
            let tokens = module.tokens;
            quote::quote! { pub mod #name { #tokens } }
        });
        quote::quote! { #(#modules)* }
    }

    /// One module rendered as a single file (for snapshots and `OUT_DIR` use).
    pub fn render_module(&self, name: &str) -> Option<Result<String, Failure>> {
        let name = self.module_names.iter().find(|n| **n == name)?;
        let tokens = emit::emit_module(&self.ir, name, self.openapi_json.as_deref());
        Some(render::render_file(tokens, &self.source_name).map_err(|diagnostic| self.failure(diagnostic)))
    }

    fn failure(&self, diagnostic: Diagnostic) -> Failure {
        Failure { diagnostics: [diagnostic].into_iter().collect(), sources: self.sources.clone() }
    }
}

/// `f` applied to every item, on up to one scoped thread per core; results in item order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(index) else { break };
            done.push((index, f(item)));
        }
        done
    };
    // The calling thread works too: it reuses the memory the earlier stages freed.
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut results = work();
        for helper in helpers {
            results.extend(helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        results
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}
