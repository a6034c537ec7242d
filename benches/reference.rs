//! The reference workload (`shared/bench/reference-workload.md`, DESIGN §8),
//! side by side in one criterion run: hand-written Rust (the limit),
//! zen-expression and rhai; fupin's own engine joins in [`bench_fupin`].
//!
//! `cargo bench --bench reference -- --warm-up-time 1 --measurement-time 3`
//!
//! Throughput is in elements = households; households/s = elements/s.

#[path = "workload/mod.rs"]
mod workload;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
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

/// PLACE FOR THE FUPIN ENGINE BENCHMARK — deliberately empty until the engine lands.
///
/// Add `group.bench_function("fupin", ...)` here: outside the timed loop,
/// convert the batch with `workload::to_household(h, i)` and compile the
/// workload's rules in the policy language; inside it, evaluate every household
/// (single thread, trace off) and accumulate the dibao count and
/// Σ out_of_pocket exactly like the other benchmarks above.
fn bench_fupin(_group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, _households: &[RefHousehold]) {}

criterion_group!(benches, reference_workload);
criterion_main!(benches);
