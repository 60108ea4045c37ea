//! What a new user meets first: `check`'s summary line, `generate`'s next steps and the
//! generated crate's `capgen-runtime` dependency (default and flags), and the generated
//! binary's help and unknown-name errors. `scripts/newcomer.sh` runs the same things end to end
//! outside the workspace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use capgen::{Inputs, RuntimeDependency, Settings, generate};

const CAPABILITY: &str = "../specs/prisma/capabilities/postgres-management-database-backups.yaml";
const WORKFLOW: &str = "../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml";

fn capgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_capgen")).args(args).output().expect("capgen runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `capgen generate` of the seed into a temp dir with `extra` flags: (stderr, Cargo.toml).
fn generate_seed(extra: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("crate");
    let out_arg = out.display().to_string();
    let mut args = vec!["generate", CAPABILITY, "--arazzo", WORKFLOW, "--out", &out_arg, "--crate-name", "backups"];
    args.extend(extra);
    let output = capgen(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = std::fs::read_to_string(out.join("Cargo.toml")).expect("Cargo.toml written");
    (stderr(&output), manifest)
}

fn runtime_line(manifest: &str) -> &str {
    manifest.lines().find(|l| l.starts_with("capgen-runtime = ")).expect("a capgen-runtime dependency")
}

#[test]
fn a_clean_check_prints_its_summary_line() {
    let output = capgen(&["check", CAPABILITY]);
    assert!(output.status.success());
    assert_eq!(stderr(&output).trim_end(), "0 errors, 0 warnings");
}

#[test]
fn a_check_with_warnings_ends_with_the_summary_line() {
    let output = capgen(&["check", CAPABILITY, WORKFLOW]);
    assert!(output.status.success());
    let stderr = stderr(&output);
    let summary = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(summary.starts_with("0 errors, ") && summary.ends_with(" warnings") && summary != "0 errors, 0 warnings", "{stderr}");
}

#[test]
fn generate_says_what_to_do_next() {
    let (stderr, _) = generate_seed(&["--runtime-version", "0.1"]);
    assert!(stderr.contains("capgen-runtime comes from crates.io, version 0.1"), "{stderr}");
    assert!(stderr.contains("next:\n  cargo build --manifest-path "), "{stderr}");
    assert!(stderr.contains("-- --help     # serve, call, run"), "{stderr}");
    assert!(stderr.contains("or depend on it: backups = { path = "), "{stderr}");
    assert!(stderr.contains("set in the environment: PRISMA_API_KEY"), "{stderr}");
}

#[test]
fn the_default_runtime_is_this_capgen_s_source() {
    let (_, manifest) = generate_seed(&[]);
    let expected = match RuntimeDependency::of_this_build() {
        RuntimeDependency::Git { url, rev: Some(rev) } => {
            // Built from a git checkout (this workspace): the commit it was built from.
            assert_eq!(rev.len(), 40, "a full commit id: {rev}");
            format!(r#"capgen-runtime = {{ git = "{url}", rev = "{rev}", features = ["mcp"] }}"#)
        }
        RuntimeDependency::Version(version) => {
            assert_eq!(version, env!("CARGO_PKG_VERSION"));
            format!(r#"capgen-runtime = {{ version = "{version}", features = ["mcp"] }}"#)
        }
        other => panic!("unexpected default {other:?}"),
    };
    assert_eq!(runtime_line(&manifest), expected);
}

#[test]
fn runtime_flags_choose_the_dependency_and_the_manifest_says_how_to_switch() {
    let (_, manifest) = generate_seed(&["--runtime-git", "https://example.com/capgen.git", "--runtime-rev", "v0.1.0"]);
    assert_eq!(
        runtime_line(&manifest),
        r#"capgen-runtime = { git = "https://example.com/capgen.git", rev = "v0.1.0", features = ["mcp"] }"#
    );
    for flag in ["--runtime-git URL [--runtime-rev COMMIT]", "--runtime-path DIR", "--runtime-version "] {
        assert!(manifest.contains(&format!("#   {flag}")), "{flag} missing from:\n{manifest}");
    }
    let (_, manifest) = generate_seed(&["--runtime-path", r#"..\capgen "x"\runtime"#]);
    assert_eq!(runtime_line(&manifest), r#"capgen-runtime = { path = "..\\capgen \"x\"\\runtime", features = ["mcp"] }"#);
    let (_, manifest) = generate_seed(&["--runtime-version", "=0.1.0"]);
    assert_eq!(runtime_line(&manifest), r#"capgen-runtime = { version = "=0.1.0", features = ["mcp"] }"#);
}

#[test]
fn runtime_flags_exclude_each_other() {
    for args in [
        ["--runtime-path", "../runtime", "--runtime-version", "0.1"],
        ["--runtime-path", "../runtime", "--runtime-git", "https://example.com/x"],
        ["--runtime-version", "0.1", "--runtime-git", "https://example.com/x"],
    ] {
        let mut all = vec!["generate", CAPABILITY, "--out", "unused"];
        all.extend(args);
        let output = capgen(&all);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).contains("cannot be used with"), "{}", stderr(&output));
    }
    let output = capgen(&["generate", CAPABILITY, "--out", "unused", "--runtime-rev", "abc"]);
    assert_eq!(output.status.code(), Some(2), "--runtime-rev needs --runtime-git");
}

/// The generated `src/main.rs` of the seed.
fn seed_main_rs() -> String {
    let inputs = Inputs {
        capability: Some(PathBuf::from(CAPABILITY)),
        arazzo: vec![PathBuf::from(WORKFLOW)],
        ..Inputs::default()
    };
    let settings = Settings { crate_name: "backups".into(), ..Settings::default() };
    let generated = generate(&inputs, &settings).unwrap_or_else(|f| panic!("{f}"));
    let files = generated.crate_files(&settings).unwrap_or_else(|f| panic!("{f}"));
    let (_, main) = files.into_iter().find(|(path, _)| path == Path::new("src/main.rs")).expect("src/main.rs");
    main
}

/// The `after_help` text following `marker` (the literal's escaped `\n` made newlines).
fn help_after(main: &str, marker: &str) -> String {
    let start = main.find(marker).unwrap_or_else(|| panic!("no {marker} in:\n{main}"));
    let text = &main[start..];
    text[..text.find("\"\n").expect("end of the literal")].replace("\\n", "\n")
}

#[test]
fn the_binary_help_names_namespaces_environment_operations_and_workflows() {
    let main = seed_main_rs();
    let help = help_after(&main, "Consumed namespaces");
    for expected in [
        "  postgres-management-database-backups  https://api.prisma.io/v1  [POSTGRES_MANAGEMENT_DATABASE_BACKUPS_BASE_URI]\n",
        "Environment variables the capability binds (credentials; read when a client needs them):\n  PRISMA_API_KEY\n",
        "Operations (`call NAME`; arguments in `call --help`):\n  listdatabasebackups\n",
        "  postgres-management-database-backups.restoredatabasebackup\n",
        "Workflows (`run ID`; inputs in `run --help`):\n  backup-and-restore-database\n",
    ] {
        assert!(help.contains(expected), "{expected:?} missing from:\n{help}");
    }
    let call = help_after(&main, "Operations (`--arg NAME=VALUE`");
    assert!(call.contains("  prisma-create-manual-database-backup                        databaseId body?\n"), "{call}");
    assert!(!call.contains("  backup-and-restore-database"), "workflows are not listed as operations:\n{call}");
    let run = help_after(&main, "Workflows (`--input NAME=VALUE`");
    assert!(run.contains("  backup-and-restore-database  apiToken databaseId backupLabel?\n"), "{run}");
    assert!(!run.contains("retryUnmatched"), "polling controls are flags of `run`:\n{run}");
}

#[test]
fn unknown_names_are_rejected_before_the_environment_is_read() {
    let main = seed_main_rs();
    for (arm, check) in [
        ("Command::Run {", "if !WORKFLOWS.contains(&workflow.as_str())"),
        ("Command::Call {", "if !OPERATIONS.contains(&operation.as_str())"),
    ] {
        let arm = &main[main.find(arm).expect("the arm")..];
        let checked = arm.find(check).unwrap_or_else(|| panic!("{check} missing"));
        let clients = arm.find("clients(&cli.base_uri)").expect("the clients");
        assert!(checked < clients, "{arm}: the name is checked after the clients (and their secrets) are built");
    }
    let workflows = main.find("const WORKFLOWS: &[&str] = &[\"backup-and-restore-database\"];").is_some();
    assert!(workflows, "WORKFLOWS lists the workflow ids only:\n{main}");
    let operations = &main[main.find("const OPERATIONS").expect("OPERATIONS")..];
    let operations = &operations[..operations.find("];").expect("end")];
    assert!(operations.contains("\"prisma-list-database-backups\""), "{operations}");
    assert!(!operations.contains("backup-and-restore-database"), "no workflow among the operations: {operations}");
}
