capgen_macros::include_capability!("../../../../codegen/tests/broken/bad-references.yaml");

fn main() {}
