capgen_macros::include_capability!(
    "../../../../specs/prisma/capabilities/postgres-management-database-backups.yaml",
    workflows = ["x.yml"],
);

fn main() {}
