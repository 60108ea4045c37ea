//! The build-script front-end: generate into `OUT_DIR` and tell Cargo which files to watch.
//!
//! ```no_run
//! // build.rs
//! capgen::Builder::new("specs/prisma/capabilities/postgres-management-database-backups.yaml")
//!     .arazzo("specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml")
//!     .build_or_exit();
//! // src/lib.rs: include!(concat!(env!("OUT_DIR"), "/capability.rs"));
//! ```

use std::path::{Path, PathBuf};

use crate::diagnostics::Diagnostic;
use crate::generate::{Failure, Inputs, Settings, generate};
use crate::render;

/// Generates modules for `include!` from a build script.
#[derive(Clone, Debug)]
pub struct Builder {
    inputs: Inputs,
    settings: Settings,
    file_name: String,
    print_warnings: bool,
}

impl Builder {
    pub fn new(capability: impl AsRef<Path>) -> Self {
        Builder {
            inputs: Inputs { capability: Some(capability.as_ref().to_path_buf()), ..Inputs::default() },
            settings: Settings::default(),
            file_name: "capability.rs".to_string(),
            print_warnings: true,
        }
    }

    /// Generates Arazzo workflows without a capability: each OpenAPI document their source
    /// descriptions name becomes a typed client (map remote sources with [`Builder::source`]).
    pub fn workflows(arazzo: impl AsRef<Path>) -> Self {
        Builder {
            inputs: Inputs { arazzo: vec![arazzo.as_ref().to_path_buf()], ..Inputs::default() },
            settings: Settings::default(),
            file_name: "workflows.rs".to_string(),
            print_warnings: true,
        }
    }

    /// Adds an Arazzo document.
    pub fn arazzo(mut self, path: impl AsRef<Path>) -> Self {
        self.inputs.arazzo.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds an OpenAPI document describing consumed operations.
    pub fn openapi(mut self, path: impl AsRef<Path>) -> Self {
        self.inputs.openapi.push(path.as_ref().to_path_buf());
        self
    }

    /// Maps an Arazzo source description to a local file.
    pub fn source(mut self, name: impl Into<String>, path: impl AsRef<Path>) -> Self {
        self.inputs.sources.insert(name.into(), path.as_ref().to_path_buf());
        self
    }

    /// Lets the specs name files outside their spec root (default: no; see
    /// [`crate::parse::paths`]).
    pub fn allow_outside_spec_dir(mut self, allow: bool) -> Self {
        self.inputs.allow_outside = allow;
        self
    }

    /// Without a capability, puts every operation of each source description in its client, not
    /// only those the workflows call (default: no).
    pub fn all_operations(mut self, all: bool) -> Self {
        self.inputs.all_operations = all;
        self
    }

    /// Also validates against the official Naftiko JSON Schema.
    pub fn strict(mut self, strict: bool) -> Self {
        self.settings.strict = strict;
        self
    }

    /// Whether warnings are shown as `cargo:warning` lines (default: yes).
    pub fn print_warnings(mut self, print: bool) -> Self {
        self.print_warnings = print;
        self
    }

    /// Name of the file written in `OUT_DIR` (default `capability.rs`).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = name.into();
        self
    }

    /// Generates into `dir/<file_name>`, returning the path written. Prints
    /// `cargo:rerun-if-changed` for every input read and `cargo:warning` for each warning.
    pub fn write_to(&self, dir: &Path) -> Result<PathBuf, Failure> {
        let result = generate(&self.inputs, &self.settings);
        let sources = match &result {
            Ok(generated) => &generated.sources,
            Err(failure) => &failure.sources,
        };
        for path in sources.paths() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        let generated = result?;
        for warning in generated.warnings.iter().filter(|_| self.print_warnings) {
            println!("cargo:warning={}", warning.to_string().replace('\n', " "));
        }
        let text = render::render_file(generated.inline_tokens(), &generated.source_name)
            .map_err(|d| Failure { diagnostics: [d].into_iter().collect(), sources: generated.sources.clone() })?;
        let path = dir.join(&self.file_name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).map_err(|err| Failure {
                diagnostics: [Diagnostic::error("write-failed", format!("cannot write `{}`: {err}", path.display()))]
                    .into_iter()
                    .collect(),
                sources: generated.sources.clone(),
            })?;
        }
        Ok(path)
    }

    /// [`Builder::write_to`] into `$OUT_DIR`.
    pub fn build(&self) -> Result<PathBuf, Failure> {
        let out_dir = std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| Failure {
            diagnostics: [Diagnostic::error("no-out-dir", "OUT_DIR is not set")
                .help("call capgen::Builder from a build script, or use write_to(dir)")]
            .into_iter()
            .collect(),
            sources: Default::default(),
        })?;
        self.write_to(&out_dir)
    }

    /// [`Builder::build`], printing every diagnostic and exiting the build script on failure.
    pub fn build_or_exit(&self) -> PathBuf {
        match self.build() {
            Ok(path) => path,
            Err(failure) => {
                eprintln!("{}", failure.diagnostics.render_human(&failure.sources, false));
                std::process::exit(1);
            }
        }
    }
}
