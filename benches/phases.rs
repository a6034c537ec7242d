//! The engine's phases on the shipped policy library (DESIGN §8):
//! parse (the policy files a build parses, the same with the pest grammar
//! alone, and separately the standalone test files, parsed only when tests
//! run), check, compile (and the three together,
//! as `Engine::embedded` does),
//! evaluation of every example household with the trace off and on, and the
//! library batch on all cores.
//!
//! `cargo bench --bench phases -- --warm-up-time 1 --measurement-time 3`

#[path = "workload/mod.rs"]
mod workload;

use chrono::NaiveDate;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fupin::check;
use fupin::compile;
use fupin::diagnostic::SourceMap;
use fupin::model::Household;
use fupin::policy::{self, hash::file_hash};
use fupin::Engine;

/// The example deployment overlay for 平山县 (the figures 石发〔2016〕4号 leaves to the deployer).
const OVERLAY: &str = include_str!("../examples/overlays/pingshan.policy");

fn engine() -> Engine {
    Engine::builder().embedded().source("overlay.policy", OVERLAY).build().unwrap_or_else(|d| panic!("{}", d.render()))
}

/// The example households with their assessment dates (as `tests/households.rs`).
fn examples() -> Vec<(String, Household, NaiveDate)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/households");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/households")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let as_of = NaiveDate::from_ymd_opt(if name.starts_with("sanming") { 2020 } else { 2018 }, 6, 1).expect("date");
            let text = std::fs::read_to_string(&f).expect("example");
            let h = fupin::model::parse_household(&text, Some(as_of)).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, h, as_of)
        })
        .collect()
}

fn front_end(c: &mut Criterion) {
    // what a build parses: the policy files (standalone test files are parsed
    // when their tests are asked for, `Engine::tests`)
    let all = policy::embedded();
    let sources: Vec<(&str, &str)> = all.iter().copied().filter(|(_, t)| !fupin::syntax::is_test_file(t)).collect();
    let tests: Vec<(&str, &str)> = all.iter().copied().filter(|(_, t)| fupin::syntax::is_test_file(t)).collect();
    let sources = &sources[..];
    let parsed: Vec<_> = sources.iter().map(|(n, t)| fupin::syntax::parse(t).unwrap_or_else(|_| panic!("{n} parses"))).collect();
    let mut map = SourceMap::new();
    let ids: Vec<_> = sources.iter().map(|(n, t)| map.add(n.to_string(), *t)).collect();
    let inputs: Vec<check::Input<'_>> = ids.iter().zip(&parsed).map(|(id, f)| check::Input { file: *id, ast: f }).collect();
    let (module, errors) = check::check(&inputs);
    assert!(errors.is_empty(), "the shipped library checks");
    let hashes: Vec<String> = module
        .policies
        .iter()
        .map(|p| ids.iter().position(|id| *id == p.file).map(|i| file_hash(&parsed[i])).unwrap_or_default())
        .collect();

    let mut g = c.benchmark_group("phases");
    g.bench_function("parse", |b| {
        b.iter(|| {
            for (_, text) in black_box(sources) {
                black_box(fupin::syntax::parse(text).is_ok());
            }
        })
    });
    // the same files with the pest grammar alone (the definition the fast
    // path of `parse` is checked against)
    g.bench_function("parse_definition", |b| {
        b.iter(|| {
            for (_, text) in black_box(sources) {
                black_box(fupin::syntax::parse_definition(text).is_ok());
            }
        })
    });
    g.bench_function("parse_tests", |b| {
        b.iter(|| {
            for (_, text) in black_box(&tests) {
                black_box(fupin::syntax::parse(text).is_ok());
            }
        })
    });
    g.bench_function("print", |b| b.iter(|| black_box(parsed.iter().map(|f| fupin::syntax::print(f).len()).sum::<usize>())));
    g.bench_function("hash", |b| b.iter(|| black_box(parsed.iter().map(file_hash).count())));
    g.bench_function("check", |b| b.iter(|| black_box(check::check(black_box(&inputs)))));
    g.bench_function("compile", |b| {
        b.iter_batched(
            || (module.clone(), map.clone(), hashes.clone()),
            |(m, s, h)| black_box(compile::compile(m, s, h)),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("load_check_compile", |b| b.iter(|| black_box(Engine::embedded().is_ok())));
    // the same build attaching the shipped generated engine by fingerprinting
    // the lowered code (what any policy set but the shipped one costs)
    g.bench_function("load_check_compile_fingerprinted", |b| {
        b.iter(|| {
            let e = Engine::builder().embedded().build().ok()?;
            black_box(e.with_generated(&fupin::codegen::shipped::GENERATED).ok().map(|e| e.is_generated()))
        })
    });
    // what `Engine::embedded` adds to attach the shipped generated engine
    let built = engine();
    g.bench_function("generated_fingerprint", |b| b.iter(|| black_box(fupin::codegen::fingerprint(black_box(&built)))));
    g.finish();
}

fn eval(c: &mut Criterion) {
    let engine = engine();
    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements(1));
    for (name, h, as_of) in examples() {
        let mut s = engine.scratch();
        // Households outside the shipped regions still evaluate (national rules only).
        let ok = engine.evaluate(&h, as_of, &mut s).is_ok();
        if !ok {
            eprintln!("note: {name} does not evaluate under the shipped library; timing its error path");
        }
        g.bench_function(format!("{name}/evaluate"), |b| b.iter(|| black_box(engine.evaluate(black_box(&h), as_of, &mut s).is_ok())));
        g.bench_function(format!("{name}/assess"), |b| b.iter(|| black_box(engine.assess_with(black_box(&h), as_of, &mut s).is_ok())));
        let mut t = engine.scratch();
        t.set_trace(true);
        g.bench_function(format!("{name}/assess_traced"), |b| {
            b.iter(|| black_box(engine.assess_with(black_box(&h), as_of, &mut t).is_ok()))
        });
    }
    g.finish();
}

const BATCH: usize = 20_000;

fn batch(c: &mut Criterion) {
    let engine = engine();
    let as_of = NaiveDate::from_ymd_opt(2020, 12, 31).expect("date");
    let households: Vec<Household> = workload::households(BATCH).iter().enumerate().map(|(i, h)| workload::to_household(h, i)).collect();
    let mut g = c.benchmark_group("batch");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    g.bench_function("assess_all", |b| b.iter(|| black_box(fupin::batch::assess_all(&engine, black_box(&households), as_of).len())));
    g.bench_function("evaluate_all", |b| {
        b.iter(|| {
            let n = std::sync::atomic::AtomicUsize::new(0);
            fupin::batch::evaluate_all(&engine, black_box(&households), as_of, |_, _, r| {
                if r.is_ok() {
                    n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
            black_box(n.into_inner())
        })
    });
    g.finish();
}

criterion_group!(benches, front_end, eval, batch);
criterion_main!(benches);
