capgen_macros::include_capability!("../../../../specs/nowhere/capability.yaml");

fn main() {}
