mod api {
    capgen_macros::include_capability!("../../../../codegen/tests/broken/unbound-variable.yaml");
}

fn main() {}
