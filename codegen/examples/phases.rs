//! Where `capgen generate` spends its time: parse + validate + IR, then each module's emit and
//! render, one after the other on one thread (BENCHMARKS.md, codegen).
//!
//! ```text
//! python3 benches/synth_capability.py 1000 100 /tmp/synth
//! cargo run --release -p capgen --example phases -- \
//!     /tmp/synth/capabilities/synth-1000.yaml /tmp/synth/arazzo/synth-1000.yml [MODULE]
//! ```
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let inputs = capgen::Inputs { capability: Some(args[1].clone().into()), arazzo: vec![args[2].clone().into()], ..Default::default() };
    let settings = capgen::Settings::default();
    let t = Instant::now();
    let g = capgen::generate(&inputs, &settings).unwrap();
    eprintln!("generate (parse+validate+ir): {:?}", t.elapsed());
    let only = args.get(3).cloned();
    for name in g.module_names.clone() {
        if only.as_deref().is_some_and(|o| o != name) { continue; }
        let t = Instant::now();
        let tokens = capgen::emit::emit_module(&g.ir, name, g.openapi_json.as_deref());
        let e = t.elapsed();
        let t = Instant::now();
        let text = capgen::render::render_file(tokens, "x").unwrap();
        eprintln!("{name}: emit {:?} render {:?} ({} bytes)", e, t.elapsed(), text.len());
    }
    let t = Instant::now();
    let main = capgen::emit::crate_files::main_rs(&g.ir, &g.module_names, "x");
    let e = t.elapsed();
    let t = Instant::now();
    let text = capgen::render::render_file(main, "x").unwrap();
    eprintln!("main: emit {:?} render {:?} ({} bytes)", e, t.elapsed(), text.len());
}
