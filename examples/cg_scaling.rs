//! Measurement helper: evaluate and assess the example households of the
//! shipped library (with the 平山县 overlay) N times each, for
//! `valgrind --tool=callgrind` (instruction counts of `Engine::evaluate` and
//! `Engine::assess_with` on small households, where the cost is fixed).
//!
//! `cargo build --profile bench --example cg_scaling`
//! `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out target/release/examples/cg_scaling 200`

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let overlay = include_str!("overlays/pingshan.policy");
    let engine = fupin::Engine::builder().embedded().source("overlay.policy", overlay).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let mut ok = 0usize;
    for text in [
        include_str!("households/pingshan-medical.json"),
        include_str!("households/pingshan-dibao.json"),
        include_str!("households/hebi-xunxian-disability.json"),
    ] {
        let h = fupin::model::parse_household(text, Some(as_of)).expect("household");
        let mut s = engine.scratch();
        for _ in 0..n {
            ok += usize::from(engine.evaluate(&h, as_of, &mut s).is_ok());
            ok += usize::from(engine.assess_with(&h, as_of, &mut s).is_ok());
        }
    }
    println!("{ok} of {} succeeded", 6 * n);
}
