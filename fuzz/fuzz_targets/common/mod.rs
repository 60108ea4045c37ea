//! What the loader targets share: one temp spec tree per fuzzing process, and the pipeline.
//!
//! capgen's loaders take paths, so each input is written over one file in a temp directory made
//! once per process (under `$TMPDIR`; `scripts/fuzz.sh` points that at a directory it removes
//! afterwards). The directory is never dropped: libFuzzer ends the process with `exit`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use capgen::{Inputs, Settings};

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// The process's temp spec root, with `files` (relative path → contents) written into it the
/// first time.
pub fn root(files: &[(&str, &str)]) -> &'static Path {
    ROOT.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("capgen-fuzz-").tempdir().expect("a temp dir").keep();
        for (relative, text) in files {
            write(&dir, relative, text.as_bytes());
        }
        dir
    })
}

/// Writes `bytes` at `root/relative`, creating directories as needed.
pub fn write(root: &Path, relative: &str, bytes: &[u8]) -> PathBuf {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("writable");
    std::fs::write(&path, bytes).expect("writable");
    path
}

/// A cheap, stable hash of the input, to vary what is run without spending input bytes on it.
#[allow(dead_code)] // capability_loader only
pub fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Check (strict when asked), then generate and render every file of the crate, rendering the
/// diagnostics of a failure: none of it may panic.
pub fn run_pipeline(inputs: &Inputs, strict: bool) {
    let settings = Settings::default();
    if strict {
        let checked = capgen::check(inputs, &Settings { strict: true, ..Settings::default() });
        let _ = checked.diagnostics.render_human(&checked.sources, false);
        let _ = checked.diagnostics.to_json(&checked.sources);
    }
    let result = capgen::generate(inputs, &settings);
    if std::env::var_os("CAPGEN_FUZZ_VERBOSE").is_some() {
        // For a reproducer: what the pipeline made of the input.
        match &result {
            Ok(generated) => eprintln!("generated {} modules, {} warnings", generated.module_names.len(), generated.warnings.len()),
            Err(failure) => eprintln!("{failure}"),
        }
    }
    match result {
        Ok(generated) => {
            let _ = generated.warnings.render_human(&generated.sources, false);
            if let Err(failure) = generated.crate_files(&settings) {
                let _ = failure.to_string();
            }
        }
        Err(failure) => {
            assert!(failure.diagnostics.has_errors() || failure.diagnostics.is_empty(), "a failure without an error");
            let _ = failure.to_string();
            let _ = failure.diagnostics.to_json(&failure.sources);
        }
    }
}
