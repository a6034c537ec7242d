//! Measurement helper: evaluate the first N reference households with
//! `Engine::evaluate` (for `valgrind --tool=callgrind`), or with
//! `jsonl PATH N` write them as JSON Lines for `fupin batch`.
//!
//! `cargo build --profile bench --example cg_reference`
//! `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out target/release/examples/cg_reference 2000`
//! (`… 2000 ir`: on the IR evaluator alone; `… 2000 gen`: on the generated code;
//! `… 2000 full`: through the full `Assessment`; `… 2000 into`: through
//! `Engine::assess_into`, into one reused `Assessment`; `… 2000 hand`: the hand-written Rust;
//! `… build 10`: build `Engine::embedded()` ten times)

#[path = "../benches/workload/mod.rs"]
mod workload;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("jsonl") {
        let path = args.get(2).expect("path");
        let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100_000);
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
        for (i, h) in workload::Households::default().take(n).enumerate() {
            serde_json::to_writer(&mut w, &workload::to_household(&h, i)).expect("write");
            w.write_all(b"\n").expect("write");
        }
        w.flush().expect("flush");
        return;
    }
    if args.get(1).map(String::as_str) == Some("build") {
        let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
        let built = (0..n).filter(|_| fupin::Engine::embedded().is_ok()).count();
        println!("built {built}");
        return;
    }
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let households: Vec<_> = workload::households(n).iter().enumerate().map(|(i, h)| workload::to_household(h, i)).collect();
    let mode = args.get(2).map(String::as_str);
    let mut wl = match mode {
        Some("ir") => workload::fupin_impl::Workload::ir_only(),
        Some("gen") => workload::fupin_impl::Workload::generated(),
        _ => workload::fupin_impl::Workload::new(),
    }
    .expect("workload");
    let mut dibao = 0u32;
    let mut total = rust_decimal::Decimal::ZERO;
    if mode == Some("hand") {
        for h in &workload::households(n) {
            let (d, oop) = workload::handwritten::assess(std::hint::black_box(h));
            dibao += u32::from(d);
            total += oop;
        }
    } else {
        for h in &households {
            let (d, oop) = match mode {
                Some("full") => wl.assess_full(h),
                Some("into") => wl.assess_into(h),
                _ => wl.assess(h),
            }
            .expect("assess");
            dibao += u32::from(d);
            total += oop;
        }
    }
    println!("{n} households: dibao {dibao}, out_of_pocket {total}");
}
