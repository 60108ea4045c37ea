//! `binds`: secrets from environment variables and key files, base-URI overrides.

use std::io::Write;

use capgen_runtime::ConfigError;
use capgen_runtime::binds;

const TOKEN: &str = "tok-SECRET-1234";

/// Sets a variable only this test file uses (each test uses its own names).
fn set(var: &str, value: &str) {
    // SAFETY: every test in this file uses distinct variable names and no test reads
    // the environment from another thread while it is modified.
    unsafe { std::env::set_var(var, value) };
}

fn key_file(suffix: &str, text: &str, dir: &std::path::Path) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile_in(dir)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

#[test]
fn env_reads_a_variable_and_names_a_missing_one() {
    set("CAPGEN_TEST_BINDS_TOKEN", TOKEN);
    assert_eq!(
        binds::env("CAPGEN_TEST_BINDS_TOKEN").unwrap().expose(),
        TOKEN
    );

    let err = binds::env("CAPGEN_TEST_BINDS_UNSET").unwrap_err();
    assert_eq!(
        err,
        ConfigError::MissingEnv {
            var: "CAPGEN_TEST_BINDS_UNSET".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "environment variable `CAPGEN_TEST_BINDS_UNSET` is not set (needed by binds)"
    );

    set("CAPGEN_TEST_BINDS_EMPTY", "");
    assert!(matches!(
        binds::env("CAPGEN_TEST_BINDS_EMPTY"),
        Err(ConfigError::MissingEnv { .. })
    ));
}

#[test]
fn base_uri_prefers_a_non_empty_variable() {
    set("CAPGEN_TEST_BASE_URI", "http://127.0.0.1:9/");
    assert_eq!(
        binds::base_uri("CAPGEN_TEST_BASE_URI", "https://api.example.com"),
        "http://127.0.0.1:9/"
    );
    set("CAPGEN_TEST_BASE_URI_EMPTY", " ");
    assert_eq!(
        binds::base_uri("CAPGEN_TEST_BASE_URI_EMPTY", "https://api.example.com"),
        "https://api.example.com"
    );
    assert_eq!(
        binds::base_uri("CAPGEN_TEST_BASE_URI_UNSET", "https://d"),
        "https://d"
    );
}

#[test]
fn file_key_reads_yaml_and_json_files() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = key_file(
        ".yaml",
        &format!("PRISMA_API_KEY: {TOKEN}\nPORT: 8080\nEMPTY: ''\nLIST: [1]\n"),
        dir.path(),
    );
    let path = yaml.path().to_str().unwrap();
    assert_eq!(
        binds::file_key(path, "PRISMA_API_KEY").unwrap().expose(),
        TOKEN
    );
    assert_eq!(binds::file_key(path, "PORT").unwrap().expose(), "8080");
    let uri = format!("file://{path}");
    assert_eq!(
        binds::file_key(&uri, "PRISMA_API_KEY").unwrap().expose(),
        TOKEN
    );

    let err = binds::file_key(path, "OTHER").unwrap_err();
    assert_eq!(
        err,
        ConfigError::MissingKey {
            path: path.into(),
            key: "OTHER".into()
        }
    );
    assert!(matches!(
        binds::file_key(path, "EMPTY"),
        Err(ConfigError::MissingKey { .. })
    ));
    let err = binds::file_key(path, "LIST").unwrap_err();
    assert!(matches!(err, ConfigError::BindFile { .. }), "{err:?}");

    let json = key_file(".json", &format!(r#"{{"token": "{TOKEN}"}}"#), dir.path());
    assert_eq!(
        binds::file_key(json.path().to_str().unwrap(), "token")
            .unwrap()
            .expose(),
        TOKEN
    );
}

#[test]
fn file_key_resolves_relative_uris_against_the_current_directory() {
    let cwd = std::env::current_dir().unwrap();
    let file = key_file(".yaml", "token: abc\n", &cwd);
    let name = file.path().file_name().unwrap().to_str().unwrap();
    assert_eq!(
        binds::file_key(&format!("file:///./{name}"), "token")
            .unwrap()
            .expose(),
        "abc"
    );
    assert_eq!(binds::file_key(name, "token").unwrap().expose(), "abc");
}

#[test]
fn file_errors_never_show_values() {
    let dir = tempfile::tempdir().unwrap();
    let broken = key_file(".yaml", &format!("key: [{TOKEN}\nother: : :\n"), dir.path());
    let err = binds::file_key(broken.path().to_str().unwrap(), "key").unwrap_err();
    assert!(matches!(err, ConfigError::BindFile { .. }), "{err:?}");
    assert!(
        !err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN),
        "{err}"
    );

    let scalar = key_file(".yaml", TOKEN, dir.path());
    let err = binds::file_key(scalar.path().to_str().unwrap(), "key").unwrap_err();
    assert!(err.to_string().contains("expected a mapping"), "{err}");
    assert!(!err.to_string().contains(TOKEN));

    let missing = dir.path().join("nope.yaml");
    let err = binds::file_key(missing.to_str().unwrap(), "key").unwrap_err();
    let ConfigError::BindFile { path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, missing.to_str().unwrap());
}
