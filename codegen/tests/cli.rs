//! The `capgen` binary as a user runs it: exit codes, every diagnostic with its location,
//! JSON output, and generate / `--check`.

use std::process::Command;

fn capgen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capgen"))
}

#[test]
fn check_reports_every_error_with_its_location() {
    let output = capgen().args(["check", "tests/broken/bad-references.yaml"]).output().expect("capgen runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "error[unknown-call-target]: `registry.list-ship` is not a consumed operation",
        "warning[unknown-call-target]: `registry.lists-ships` is not a consumed operation; this operation is not generated",
        "error[unknown-step]",
        "error[unknown-ref]",
        "error[missing-call]",
        "tests/broken/bad-references.yaml:24:15",
        "did you mean `registry.list-ships`?",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn check_as_json() {
    let output = capgen().args(["check", "--format", "json", "tests/broken/unbound-variable.yaml"]).output().expect("capgen runs");
    assert_eq!(output.status.code(), Some(1));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let items = list.as_array().expect("an array");
    assert!(items.len() >= 3, "{list:#}");
    let first = &items[0];
    for field in ["severity", "code", "message", "file", "line", "column", "snippet", "help"] {
        assert!(!first[field].is_null(), "{field} missing in {first}");
    }
}

#[test]
fn check_passes_on_the_seed_with_warnings_only() {
    let output = capgen()
        .args([
            "check",
            "../specs/prisma/capabilities/postgres-management-database-backups.yaml",
            "../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml",
        ])
        .output()
        .expect("capgen runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn generate_then_check_is_up_to_date() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("crate");
    let args = |extra: &[&str]| {
        let mut args = vec![
            "generate".to_string(),
            "../specs/prisma/capabilities/postgres-management-database-backups.yaml".to_string(),
            "--out".to_string(),
            out.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let status = capgen().args(args(&[])).status().expect("capgen runs");
    assert!(status.success());
    for file in ["Cargo.toml", "src/lib.rs", "src/client.rs", "src/types.rs"] {
        assert!(out.join(file).exists(), "{file} not written");
    }
    let status = capgen().args(args(&["--check"])).status().expect("capgen runs");
    assert!(status.success(), "freshly generated output is up to date");
    std::fs::write(out.join("src/client.rs"), "// edited\n").expect("writable");
    let status = capgen().args(args(&["--check"])).status().expect("capgen runs");
    assert_eq!(status.code(), Some(1), "an edited file is reported");
}

#[test]
fn broken_yaml_is_an_error_not_a_panic() {
    let output = capgen().args(["check", "tests/broken/not-yaml.yaml"]).output().expect("capgen runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error[yaml-syntax]"), "{stderr}");
    assert!(stderr.contains("tests/broken/not-yaml.yaml:"), "{stderr}");
}

#[test]
fn help_describes_the_commands() {
    let output = capgen().arg("--help").output().expect("capgen runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("generate") && stdout.contains("check"), "{stdout}");
}

#[test]
fn check_reports_the_workflows_generate_leaves_out() {
    // zeno.fm uploads a file (`multipart/form-data`): `generate` leaves that workflow out.
    let output = capgen().args(["check", "../tests/corpus/arazzo-public/zeno.fm/workflows.arazzo.json"]).output().expect("capgen runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning[workflow-not-generated]"), "{stderr}");
    assert!(stderr.contains("multipart/form-data"), "{stderr}");
}
