// The seed's spec warnings surface at the macro call as `deprecated` warnings, denied here so
// that their text is pinned.
#![deny(deprecated)]

mod prisma {
    capgen_macros::include_capability!(
        "../../../../specs/prisma/capabilities/postgres-management-database-backups.yaml",
        arazzo = ["../../../../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml"],
    );
}

fn main() {}
