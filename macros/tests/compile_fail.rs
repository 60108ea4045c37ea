//! Pins the compile errors `include_capability!` gives for bad specs: every problem, each with
//! the spec's file, line and column, at the macro's path literal.
//!
//! trybuild builds each case in `<target>/tests/trybuild/capgen-macros/`, which becomes the
//! case's `CARGO_MANIFEST_DIR`; the cases reach the workspace's specs from there, so these
//! tests expect the default target directory (`<workspace>/target`).

#[test]
fn compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
