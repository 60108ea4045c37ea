//! `generated/prisma-postgres-backups` must be exactly what capgen emits for `specs/prisma` now.
//! Fix a failure by running `cargo generate-prisma` from the workspace root.

use std::path::Path;

use capgen::{Inputs, RuntimeDependency, Settings, generate};

#[test]
fn generated_crate_matches_capgen_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let inputs = Inputs {
        capability: Some(root.join("specs/prisma/capabilities/postgres-management-database-backups.yaml")),
        arazzo: vec![root.join("specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml")],
        ..Inputs::default()
    };
    // The same settings as the `generate-prisma` alias in .cargo/config.toml.
    let settings = Settings {
        crate_name: "prisma-postgres-backups".to_string(),
        runtime: RuntimeDependency::Path("../../runtime".to_string()),
        strict: false,
    };
    let generated = generate(&inputs, &settings).unwrap_or_else(|failure| panic!("{failure}"));
    let crate_dir = root.join("generated/prisma-postgres-backups");
    let files = generated.crate_files(&settings).unwrap_or_else(|failure| panic!("{failure}"));
    let mut stale = Vec::new();
    for (relative, expected) in &files {
        let actual = std::fs::read_to_string(crate_dir.join(relative)).unwrap_or_default();
        if &actual != expected {
            stale.push(relative.display().to_string());
        }
    }
    assert!(stale.is_empty(), "generated/ is out of date ({}); run `cargo generate-prisma`", stale.join(", "));
    // No stray files that capgen would not write.
    let mut on_disk: Vec<_> = std::fs::read_dir(crate_dir.join("src")).expect("src exists").flatten().map(|e| e.file_name()).collect();
    on_disk.sort();
    let written = files.iter().filter(|(p, _)| p.starts_with("src")).count();
    assert_eq!(on_disk.len(), written, "unexpected files in generated/prisma-postgres-backups/src: {on_disk:?}");
}
