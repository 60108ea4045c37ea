//! Workspace-level test support. Compiling this crate compiles the code capgen generates for
//! every capability in `corpus/` (see `build.rs`); the tests in `tests/` drive generated code
//! end to end.

/// One module per corpus capability. Any compiler warning in generated code fails the build.
#[deny(warnings)]
pub mod corpus {
    include!(concat!(env!("OUT_DIR"), "/corpus/mod.rs"));
}

/// One module per corpus Arazzo document generated without a capability (clients from its
/// source descriptions). Any compiler warning in generated code fails the build.
#[deny(warnings)]
pub mod workflows {
    include!(concat!(env!("OUT_DIR"), "/workflows/mod.rs"));
}

/// The generated Prisma crate's binary (`target/<profile>/prisma-postgres-backups`), built once
/// per test process on demand: Cargo does not build a dependency's binaries for tests.
pub fn generated_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test binary path");
            // target/<profile>/deps/<test>-<hash> → target/<profile>
            let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "--quiet", "-p", "prisma-postgres-backups", "--bin", "prisma-postgres-backups"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the generated binary failed");
            let binary = profile_dir.join(format!("prisma-postgres-backups{}", std::env::consts::EXE_SUFFIX));
            assert!(binary.exists(), "{} exists", binary.display());
            binary
        })
        .clone()
}
