//! The `capgen` command line: `generate` a crate from specs, or `check` specs and report every
//! problem.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use capgen::{Diagnostics, Inputs, RuntimeDependency, Settings, SourceMap};

/// mimalloc: codegen allocates and frees millions of small token trees, and renders files on
/// several threads; it is faster than glibc's malloc there (BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Has mimalloc hand freed memory back after 2 ms instead of 10 and commit arena memory only
/// as it is used. Codegen frees most of what it allocates in waves (each module's tokens and
/// syntax trees once it is printed), so with the defaults its peak RSS was about twice the
/// heap's (1k operations: 115–160 MB, now about 85 MB, for about 0.04 s more: measured against
/// 0 ms, 2 ms and 5 ms, and the defaults, in BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
fn tune_allocator() {
    // `mi_option_t` values from mimalloc.h (the same in mimalloc 2 and 3).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: `mi_option_set` only stores an option value; mimalloc reads options atomically.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 2);
    }
}

#[cfg(not(feature = "mimalloc"))]
fn tune_allocator() {}
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "capgen",
    version,
    about = "Compile Naftiko capabilities, Arazzo workflows and OpenAPI documents into typed Rust",
    long_about = "capgen reads a Naftiko capability (the HTTP operations it consumes and the REST and MCP \
                  surfaces it exposes), optional Arazzo workflows and the OpenAPI documents they reference, \
                  checks them, and writes a Rust crate: typed async clients for every consumed operation."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a crate (Cargo.toml + src/) from a capability, or from Arazzo workflows alone.
    #[command(after_help = "Examples:\n  capgen generate specs/prisma/capabilities/postgres-management-database-backups.yaml \\\n    \
                            --arazzo specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml \\\n    \
                            --out generated/prisma-postgres-backups --crate-name prisma-postgres-backups\n  \
                            capgen generate --arazzo bnpl-arazzo.yaml --source BnplApi=bnpl-openapi.yaml --out bnpl\n\n\
                            Without a capability, each OpenAPI document the Arazzo sources name becomes a typed client.")]
    Generate {
        /// The Naftiko capability (YAML). Optional when `--arazzo` is given.
        #[arg(required_unless_present = "arazzo")]
        capability: Option<PathBuf>,
        #[command(flatten)]
        specs: SpecArgs,
        /// Directory to write the crate into (created if missing).
        #[arg(long, short)]
        out: PathBuf,
        /// Name of the generated crate [default: the capability file's name].
        #[arg(long)]
        crate_name: Option<String>,
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// Do not write: exit non-zero when the files in --out differ from what would be written.
        #[arg(long)]
        check: bool,
        /// Also validate against the official Naftiko JSON Schema; loose Arazzo forms become errors.
        #[arg(long)]
        strict: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Check specs and print every problem with its location; exits non-zero on errors.
    #[command(after_help = "Files are recognised by their top-level key: `naftiko`, `arazzo` or `openapi`.")]
    Check {
        /// Capability, Arazzo and OpenAPI files, in any order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Map an Arazzo source description to a local file (for sources named by URL).
        #[arg(long, value_name = "NAME=FILE", value_parser = parse_source)]
        source: Vec<(String, PathBuf)>,
        /// Also validate capabilities against the official Naftiko JSON Schema; loose Arazzo forms become errors.
        #[arg(long)]
        strict: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        access: AccessArgs,
    },
    /// Rewrite a Naftiko 1.0.0-alpha2 capability into the current Ikanos form.
    #[command(after_help = "The comment block at the top of the file is kept; other comments are dropped and counted.")]
    Migrate {
        /// The capability (or shared consumes file) to rewrite.
        file: PathBuf,
        /// Ikanos version to write.
        #[arg(long, default_value = capgen::migrate::DEFAULT_VERSION)]
        to: String,
        /// Write here instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Where the generated crate takes `capgen-runtime` from. Default: this capgen's own source, a
/// git dependency pinned to the commit it was built from (or, for a capgen installed from
/// crates.io, the same version from crates.io).
#[derive(clap::Args)]
struct RuntimeArgs {
    /// Depend on capgen-runtime by path (relative to --out), e.g. a checkout's `runtime/`.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["runtime_version", "runtime_git"])]
    runtime_path: Option<String>,
    /// Depend on capgen-runtime from crates.io with this version requirement.
    #[arg(long, value_name = "VERSION", conflicts_with = "runtime_git")]
    runtime_version: Option<String>,
    /// Depend on capgen-runtime from this git repository (with --runtime-rev: at that commit).
    #[arg(long, value_name = "URL")]
    runtime_git: Option<String>,
    /// The commit, tag or branch of --runtime-git.
    #[arg(long, value_name = "REV", requires = "runtime_git")]
    runtime_rev: Option<String>,
}

impl RuntimeArgs {
    fn dependency(self) -> RuntimeDependency {
        match self {
            RuntimeArgs { runtime_path: Some(path), .. } => RuntimeDependency::Path(path),
            RuntimeArgs { runtime_version: Some(version), .. } => RuntimeDependency::Version(version),
            RuntimeArgs { runtime_git: Some(url), runtime_rev, .. } => RuntimeDependency::Git { url, rev: runtime_rev },
            _ => RuntimeDependency::of_this_build(),
        }
    }
}

#[derive(clap::Args)]
struct SpecArgs {
    /// Arazzo workflow document; the OpenAPI documents it names are read too. Repeatable.
    #[arg(long, value_name = "FILE")]
    arazzo: Vec<PathBuf>,
    /// OpenAPI document describing consumed operations (types responses and bodies). Repeatable.
    #[arg(long, value_name = "FILE")]
    openapi: Vec<PathBuf>,
    /// Map an Arazzo source description to a local file (for sources named by URL). Repeatable.
    #[arg(long, value_name = "NAME=FILE", value_parser = parse_source)]
    source: Vec<(String, PathBuf)>,
    /// Without a capability: give each source's client every operation of its OpenAPI document,
    /// not only those the workflows call.
    #[arg(long)]
    all_operations: bool,
    #[command(flatten)]
    access: AccessArgs,
}

#[derive(clap::Args)]
struct AccessArgs {
    /// Let specs name files (imports, binds, resources, Arazzo sources) outside their spec root,
    /// the parent of the directory of each file given on the command line.
    #[arg(long)]
    allow_outside_spec_dir: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

fn parse_source(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => Ok((name.to_string(), PathBuf::from(file))),
        _ => Err(format!("expected NAME=FILE, got `{text}`")),
    }
}

fn main() -> ExitCode {
    tune_allocator();
    match Cli::parse().command {
        Command::Generate { capability, specs, out, crate_name, runtime, check, strict, format } => {
            let crate_name = crate_name.unwrap_or_else(|| {
                let named = capability.as_ref().or(specs.arazzo.first());
                let stem = named.and_then(|p| p.file_stem()).map(|s| s.to_string_lossy().replace(['_', '.'], "-"));
                stem.unwrap_or_else(|| "capability".into())
            });
            let settings = Settings {
                crate_name,
                runtime: runtime.dependency(),
                strict,
            };
            let inputs = Inputs {
                capability,
                arazzo: specs.arazzo,
                openapi: specs.openapi,
                sources: specs.source.into_iter().collect(),
                allow_outside: specs.access.allow_outside_spec_dir,
                all_operations: specs.all_operations,
            };
            generate(&inputs, &settings, &out, check, format)
        }
        Command::Check { files, source, strict, format, access } => {
            let allow_outside = access.allow_outside_spec_dir;
            let mut inputs = Inputs { sources: source.into_iter().collect(), allow_outside, ..Inputs::default() };
            for file in files {
                match kind_of(&file) {
                    Kind::Capability if inputs.capability.is_none() => inputs.capability = Some(file),
                    Kind::Capability => {
                        // One capability per run; check the others separately.
                        let extra =
                            Inputs { capability: Some(file), sources: inputs.sources.clone(), allow_outside, ..Inputs::default() };
                        let checked = capgen::check_and_lower(&extra, &Settings { strict, ..Settings::default() });
                        report_check(&checked.diagnostics, &checked.sources, format);
                    }
                    Kind::Arazzo => inputs.arazzo.push(file),
                    Kind::OpenApi => inputs.openapi.push(file),
                }
            }
            let checked = capgen::check_and_lower(&inputs, &Settings { strict, ..Settings::default() });
            report_check(&checked.diagnostics, &checked.sources, format);
            if checked.diagnostics.has_errors() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Command::Migrate { file, to, out } => migrate(&file, &to, out.as_deref()),
    }
}

fn migrate(file: &Path, to: &str, out: Option<&Path>) -> ExitCode {
    let migrated = std::fs::read_to_string(file)
        .map_err(|err| format!("cannot read {}: {err}", file.display()))
        .and_then(|text| capgen::migrate::migrate(&text, to));
    let migrated = match migrated {
        Ok(migrated) => migrated,
        Err(message) => {
            eprintln!("error[migrate]: {message}");
            return ExitCode::FAILURE;
        }
    };
    for note in &migrated.notes {
        eprintln!("note: {}: {note}", file.display());
    }
    match out {
        Some(out) => match std::fs::write(out, &migrated.text) {
            Ok(()) => {
                eprintln!("wrote {}", out.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error[migrate]: cannot write {}: {err}", out.display());
                ExitCode::FAILURE
            }
        },
        None => {
            print!("{}", migrated.text);
            ExitCode::SUCCESS
        }
    }
}

fn generate(inputs: &Inputs, settings: &Settings, out: &Path, check: bool, format: Format) -> ExitCode {
    let generated = match capgen::generate(inputs, settings) {
        Ok(generated) => generated,
        Err(failure) => {
            report(&failure.diagnostics, &failure.sources, format);
            return ExitCode::FAILURE;
        }
    };
    report(&generated.warnings, &generated.sources, format);
    if check {
        let files = match generated.crate_files(settings) {
            Ok(files) => files,
            Err(failure) => {
                report(&failure.diagnostics, &failure.sources, format);
                return ExitCode::FAILURE;
            }
        };
        let stale: Vec<_> = files
            .iter()
            .filter(|(path, contents)| std::fs::read_to_string(out.join(path)).ok().as_deref() != Some(contents.as_str()))
            .map(|(path, _)| out.join(path))
            .collect();
        if stale.is_empty() {
            eprintln!("{} is up to date", out.display());
            return ExitCode::SUCCESS;
        }
        for path in stale {
            eprintln!("out of date: {}", path.display());
        }
        eprintln!("run the same command without --check to regenerate");
        return ExitCode::FAILURE;
    }
    match generated.write_crate(out, settings) {
        Ok(written) => {
            eprintln!("wrote {} file(s) to {}", written.len(), out.display());
            eprint!("{}", next_steps(&generated, settings, out));
            ExitCode::SUCCESS
        }
        Err(failure) => {
            report(&failure.diagnostics, &failure.sources, format);
            ExitCode::FAILURE
        }
    }
}

/// What to do with a freshly generated crate: where its runtime comes from, how to build and
/// run it, how to depend on it, and the environment it reads.
fn next_steps(generated: &capgen::Generated, settings: &Settings, out: &Path) -> String {
    let manifest = out.join("Cargo.toml");
    let runtime = match &settings.runtime {
        RuntimeDependency::Path(path) => format!("the path {path}"),
        RuntimeDependency::Version(version) => format!("crates.io, version {version}"),
        RuntimeDependency::Git { url, rev: Some(rev) } => format!("{url} at {rev}"),
        RuntimeDependency::Git { url, rev: None } => url.clone(),
    };
    let mut text = format!(
        "capgen-runtime comes from {runtime} (--runtime-git, --runtime-path or --runtime-version to change)\n\
         next:\n  \
         cargo build --manifest-path {manifest}\n  \
         cargo run --manifest-path {manifest} -- --help     # serve, call, run\n  \
         or depend on it: {name} = {{ path = \"{out}\" }}   (path from your crate's directory)\n",
        manifest = manifest.display(),
        name = settings.crate_name,
        out = out.display(),
    );
    let env: Vec<&str> = generated
        .ir
        .binds
        .iter()
        .filter_map(|bind| match &bind.source {
            capgen::ir::BindSource::Env { var } => Some(var.as_str()),
            capgen::ir::BindSource::File { .. } => None,
        })
        .collect();
    if !env.is_empty() {
        text.push_str(&format!("  set in the environment: {}\n", env.join(", ")));
    }
    text
}

/// `check`'s report: every diagnostic, and always the summary line (`0 errors, 0 warnings`
/// when there is nothing to say).
fn report_check(diagnostics: &Diagnostics, sources: &SourceMap, format: Format) {
    report(diagnostics, sources, format);
    if matches!(format, Format::Human) && diagnostics.is_empty() {
        eprintln!("0 errors, 0 warnings");
    }
}

fn report(diagnostics: &Diagnostics, sources: &SourceMap, format: Format) {
    match format {
        Format::Human => {
            if !diagnostics.is_empty() {
                eprint!("{}", diagnostics.render_human(sources, std::io::stderr().is_terminal()));
            }
        }
        Format::Json => {
            let json = diagnostics.to_json(sources);
            println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        }
    }
}

enum Kind {
    Capability,
    Arazzo,
    OpenApi,
}

/// Recognises a spec by its top-level key; unreadable files are handed to the capability
/// loader, which reports them.
fn kind_of(path: &Path) -> Kind {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines().map(str::trim_start).filter(|l| !l.starts_with('#') && !l.is_empty()).take(50) {
        let key = line.trim_start_matches(['{', '"', '\'']);
        if key.starts_with("arazzo") {
            return Kind::Arazzo;
        }
        if key.starts_with("openapi") || key.starts_with("swagger") {
            return Kind::OpenApi;
        }
        if key.starts_with("naftiko") || key.starts_with("ikanos") || key.starts_with("capability") {
            return Kind::Capability;
        }
    }
    Kind::Capability
}
