//! The reference workload (`shared/bench/reference-workload.md`, DESIGN §8),
//! side by side in one criterion run: hand-written Rust (the limit),
//! zen-expression and rhai; fupin's own engine joins in [`bench_fupin`].
//!
//! `cargo bench --bench reference -- --warm-up-time 1 --measurement-time 3`
//!
//! Throughput is in elements = households; households/s = elements/s.

#[path = "workload/mod.rs"]
mod workload;

use criterion::{black_box, BenchmarkGroup, Criterion, Throughput};
use rust_decimal::Decimal;
use workload::RefHousehold;

/// Households per timed iteration, generated once outside the timed loop.
const BATCH: usize = 10_000;

fn reference_workload(c: &mut Criterion) {
    let households = workload::households(BATCH);
    let mut group = c.benchmark_group("reference_workload");
    group.throughput(Throughput::Elements(BATCH as u64));

    group.bench_function("handwritten", |b| {
        b.iter(|| {
            let mut dibao = 0u32;
            let mut total = Decimal::ZERO;
            for h in black_box(&households[..]) {
                let (d, oop) = workload::handwritten::assess(h);
                dibao += u32::from(d);
                total += oop;
            }
            black_box((dibao, total))
        })
    });

    let mut zen = workload::zen::Workload::new().unwrap();
    group.bench_function("zen_expression", |b| {
        b.iter(|| {
            let mut dibao = 0u32;
            let mut total = Decimal::ZERO;
            for h in black_box(&households[..]) {
                let (d, oop) = zen.assess(h).unwrap();
                dibao += u32::from(d);
                total += oop;
            }
            black_box((dibao, total))
        })
    });

    let mut rhai = workload::rhai_impl::Workload::new().unwrap();
    group.bench_function("rhai", |b| {
        b.iter(|| {
            let mut dibao = 0u32;
            let mut total = Decimal::ZERO;
            for h in black_box(&households[..]) {
                let (d, oop) = rhai.assess(h).unwrap();
                dibao += u32::from(d);
                total += oop;
            }
            black_box((dibao, total))
        })
    });

    bench_fupin(&mut group, &households);
    group.finish();
}

/// fupin's engine on the same households: the workload in the policy language
/// (`benches/reference.policy`), compiled once. Outside the timed loop the
/// batch is converted with `workload::to_household`; inside it every
/// household is evaluated single-threaded, trace off, with one reused
/// `Scratch` (`Engine::evaluate`: no `Assessment`), accumulating the dibao
/// count and Σ out_of_pocket from the claim settlement. `fupin_assess` builds
/// the full `Assessment` (validation, reasons, claim breakdown) as well.
fn bench_fupin(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, households: &[RefHousehold]) {
    let converted: Vec<fupin::model::Household> = households.iter().enumerate().map(|(i, h)| workload::to_household(h, i)).collect();
    let mut fupin = workload::fupin_impl::Workload::new().unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("fupin", |b| {
        b.iter(|| {
            let mut dibao = 0u32;
            let mut total = Decimal::ZERO;
            for h in black_box(&converted[..]) {
                let (d, oop) = fupin.assess(h).unwrap();
                dibao += u32::from(d);
                total += oop;
            }
            black_box((dibao, total))
        })
    });
    let mut generated = workload::fupin_impl::Workload::generated().unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("fupin_generated", |b| {
        b.iter(|| {
            let mut dibao = 0u32;
            let mut total = Decimal::ZERO;
            for h in black_box(&converted[..]) {
                let (d, oop) = generated.assess(h).unwrap();
                dibao += u32::from(d);
                total += oop;
            }
            black_box((dibao, total))
        })
    });
    let mut ir = workload::fupin_impl::Workload::ir_only().unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("fupin_ir", |b| {
        b.iter(|| {
            let mut dibao = 0u32;
            let mut total = Decimal::ZERO;
            for h in black_box(&converted[..]) {
                let (d, oop) = ir.assess(h).unwrap();
                dibao += u32::from(d);
                total += oop;
            }
            black_box((dibao, total))
        })
    });
    group.bench_function("fupin_assess", |b| {
        b.iter(|| {
            let mut dibao = 0u32;
            let mut total = Decimal::ZERO;
            for h in black_box(&converted[..]) {
                let (d, oop) = fupin.assess_full(h).unwrap();
                dibao += u32::from(d);
                total += oop;
            }
            black_box((dibao, total))
        })
    });
    group.bench_function("fupin_assess_into", |b| {
        b.iter(|| {
            let mut dibao = 0u32;
            let mut total = Decimal::ZERO;
            for h in black_box(&converted[..]) {
                let (d, oop) = fupin.assess_into(h).unwrap();
                dibao += u32::from(d);
                total += oop;
            }
            black_box((dibao, total))
        })
    });
}

/// Criterion reports each implementation alone; the ratios come from our own
/// interleaved timing loop after it (one pass over the batch per
/// implementation per round, the best of `ROUNDS`), so that load on a shared
/// machine hits every implementation alike.
fn ratios() {
    const ROUNDS: usize = 7;
    let households = workload::households(BATCH);
    let converted: Vec<fupin::model::Household> = households.iter().enumerate().map(|(i, h)| workload::to_household(h, i)).collect();
    let mut zen = workload::zen::Workload::new().unwrap();
    let mut rhai = workload::rhai_impl::Workload::new().unwrap();
    let mut fupin = workload::fupin_impl::Workload::new().unwrap_or_else(|e| panic!("{e}"));
    let mut fupin_ir = workload::fupin_impl::Workload::ir_only().unwrap_or_else(|e| panic!("{e}"));
    let mut fupin_generated = workload::fupin_impl::Workload::generated().unwrap_or_else(|e| panic!("{e}"));
    let mut fupin_full = workload::fupin_impl::Workload::new().unwrap_or_else(|e| panic!("{e}"));
    let mut fupin_into = workload::fupin_impl::Workload::new().unwrap_or_else(|e| panic!("{e}"));
    type Pass<'a> = Box<dyn FnMut() -> (u32, Decimal) + 'a>;
    let sum = |it: &mut dyn Iterator<Item = (bool, Decimal)>| it.fold((0u32, Decimal::ZERO), |(n, t), (d, o)| (n + u32::from(d), t + o));
    let mut passes: Vec<(&str, Pass<'_>)> = vec![
        ("handwritten", Box::new(|| sum(&mut households.iter().map(workload::handwritten::assess)))),
        ("fupin_generated", Box::new(|| sum(&mut converted.iter().map(|h| fupin_generated.assess(h).unwrap())))),
        ("fupin", Box::new(|| sum(&mut converted.iter().map(|h| fupin.assess(h).unwrap())))),
        ("fupin_ir", Box::new(|| sum(&mut converted.iter().map(|h| fupin_ir.assess(h).unwrap())))),
        ("fupin_assess", Box::new(|| sum(&mut converted.iter().map(|h| fupin_full.assess_full(h).unwrap())))),
        ("fupin_assess_into", Box::new(|| sum(&mut converted.iter().map(|h| fupin_into.assess_into(h).unwrap())))),
        ("zen_expression", Box::new(|| sum(&mut households.iter().map(|h| zen.assess(h).unwrap())))),
        ("rhai", Box::new(|| sum(&mut households.iter().map(|h| rhai.assess(h).unwrap())))),
    ];
    let mut best = vec![f64::INFINITY; passes.len()];
    let mut results = Vec::new();
    for _ in 0..ROUNDS {
        results.clear();
        for (i, (_, pass)) in passes.iter_mut().enumerate() {
            let t = std::time::Instant::now();
            let r = black_box(pass());
            best[i] = best[i].min(t.elapsed().as_secs_f64());
            results.push(r);
        }
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "every implementation gives the same checksums: {results:?}");
    let hand = best[0];
    println!("\nreference workload, {BATCH} households, single thread, trace off (best of {ROUNDS} interleaved passes):");
    println!("{:<16} {:>14} {:>12} {:>16}", "implementation", "households/s", "ns/household", "× hand-written");
    for ((name, _), t) in passes.iter().zip(&best) {
        println!("{:<16} {:>14.0} {:>12.1} {:>16.2}", name, BATCH as f64 / t, t * 1e9 / BATCH as f64, t / hand);
    }
    let at = |n: &str| passes.iter().position(|(m, _)| *m == n).map_or(f64::NAN, |i| best[i]);
    let f = at("fupin");
    println!("fupin_generated vs the lowered code (fupin): {:.2}× faster", f / at("fupin_generated"));
    println!(
        "fupin (lowered) vs its IR evaluator: {:.2}× faster; assess_with / evaluate: {:.2}×; assess_into / evaluate: {:.2}×",
        at("fupin_ir") / f,
        at("fupin_assess") / f,
        at("fupin_assess_into") / f
    );
    println!("fupin vs zen-expression: {:.1}× faster; vs rhai: {:.1}× faster", at("zen_expression") / f, at("rhai") / f);
    let names: Vec<&str> = passes.iter().map(|(n, _)| *n).collect();
    drop(passes);
    // how the fupin passes ran: a handed-over evaluation would be measuring the IR evaluator
    println!("tiers: fupin {:?}; fupin_generated {:?}; passes {names:?}", fupin.scratch.tiers(), fupin_generated.scratch.tiers());
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    reference_workload(&mut c);
    c.final_summary();
    // `--list`, `--test` and `--profile-time` runs skip the ratios.
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--list" || a == "--test" || a == "--profile-time");
    if !quick {
        ratios();
    }
}
