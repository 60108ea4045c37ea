//! A Naftiko capability, as bytes: loaded, validated (strict, with the official JSON Schema, for
//! a quarter of the inputs), generated and rendered. Nothing may panic or hang.
//!
//! The input is written to `caps/cap.yml` in a per-process spec tree that also holds the
//! Naftiko tutorial's `caps/shared/` files, so `location` imports and `binds` resolve.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use capgen::Inputs;
use libfuzzer_sys::fuzz_target;

const SHARED: &[(&str, &str)] = &[
    ("caps/shared/legacy-consumes.yaml", include_str!("../../tests/corpus/naftiko-framework-alpha2/tutorial/shared/legacy-consumes.yaml")),
    ("caps/shared/registry-consumes.yaml", include_str!("../../tests/corpus/naftiko-framework-alpha2/tutorial/shared/registry-consumes.yaml")),
    ("caps/shared/secrets.yaml", include_str!("../../tests/corpus/naftiko-framework-alpha2/tutorial/shared/secrets.yaml")),
    ("caps/shared/step11-registry-consumes.yml", include_str!("../../tests/corpus/naftiko-framework-alpha2/tutorial/shared/step11-registry-consumes.yml")),
    ("caps/shared/step5-registry-consumes.yaml", include_str!("../../tests/corpus/naftiko-framework-alpha2/tutorial/shared/step5-registry-consumes.yaml")),
    ("caps/shared/step6-registry-consumes.yaml", include_str!("../../tests/corpus/naftiko-framework-alpha2/tutorial/shared/step6-registry-consumes.yaml")),
    ("caps/shared/step7-registry-consumes.yml", include_str!("../../tests/corpus/naftiko-framework-alpha2/tutorial/shared/step7-registry-consumes.yml")),
];

fuzz_target!(|data: &[u8]| {
    let root = common::root(SHARED);
    let path = common::write(root, "caps/cap.yml", data);
    let inputs = Inputs { capability: Some(path), ..Inputs::default() };
    common::run_pipeline(&inputs, common::hash(data) % 4 == 0);
});
