//! An Arazzo document, as bytes: loaded, its source descriptions resolved and their OpenAPI
//! documents loaded, validated against them, and generated (workflows over clients built from
//! the sources) and rendered. Nothing may panic or hang.
//!
//! The input is written to `arazzo/workflow.yml` in a per-process spec tree that also holds
//! small OpenAPI documents where the seed corpus's `sourceDescriptions` point:
//! `arazzo/{oauth.openapi,pet-coupons.openapi,bnpl-openapi}.yaml` (the OAI examples) and
//! `openapi/prisma-*.yml` (the Prisma seed and the api-evangelist workflows).
#![no_main]

#[path = "common/mod.rs"]
mod common;

use capgen::Inputs;
use libfuzzer_sys::fuzz_target;

const SOURCES: &[(&str, &str)] = &[
    ("arazzo/oauth.openapi.yaml", include_str!("../../tests/corpus/arazzo-oai-examples/oauth.openapi.yaml")),
    ("arazzo/pet-coupons.openapi.yaml", include_str!("../../tests/corpus/arazzo-oai-examples/pet-coupons.openapi.yaml")),
    ("arazzo/bnpl-openapi.yaml", include_str!("../../tests/corpus/arazzo-oai-examples/bnpl-openapi.yaml")),
    (
        "openapi/prisma-postgres-management-openapi.yml",
        include_str!("../../specs/prisma/openapi/prisma-postgres-management-openapi.yml"),
    ),
    (
        "openapi/prisma-database-backups-api-openapi.yml",
        include_str!("../../tests/corpus/api-evangelist-prisma/openapi/prisma-database-backups-api-openapi.yml"),
    ),
];

fuzz_target!(|data: &[u8]| {
    let root = common::root(SOURCES);
    let path = common::write(root, "arazzo/workflow.yml", data);
    let inputs = Inputs { arazzo: vec![path], ..Inputs::default() };
    common::run_pipeline(&inputs, false);
});
