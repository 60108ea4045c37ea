capgen_macros::include_capability!("../../../../codegen/tests/broken/not-yaml.yaml");

fn main() {}
