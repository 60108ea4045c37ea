//! Records the git commit capgen is built from (as `CAPGEN_BUILD_COMMIT`), so that `capgen
//! generate` pins the generated crate's `capgen-runtime` to the same source by default.
//!
//! Only when built from a checkout that holds the runtime too (`cargo install --path` or
//! `--git`); a capgen from crates.io points at the runtime of the same version instead. The
//! commit is read once per target directory: a new commit in a long-lived development tree does
//! not rebuild everything that depends on capgen.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else { return };
    let dir = Path::new(&dir);
    // A packaged crate (crates.io) has no runtime beside it and carries `.cargo_vcs_info.json`.
    if dir.join(".cargo_vcs_info.json").exists() || !dir.join("../runtime/Cargo.toml").exists() {
        return;
    }
    let commit = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    if let Some(commit) = commit.filter(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit())) {
        println!("cargo:rustc-env=CAPGEN_BUILD_COMMIT={commit}");
    }
}
