//! How evaluation cost grows (issue 14 item 6): the shipped library with the
//! 平山县 overlay, over synthetic households of n members (each with one
//! inpatient claim), n claims of one member and n loans, for n = 1 … 10,000,
//! and over the number of loaded policies (the library plus k generated
//! policies in force for the household's region, each with a programme, a
//! parameter and a rule per member).
//!
//! Criterion times `Engine::assess_with` (reused `Scratch`) and
//! `Engine::evaluate` for each size. After criterion, one interleaved pass
//! (best of a few rounds per size) prints the time per household and per
//! element, so linearity shows as a constant time per element; with
//! `SCALING_CSV=FILE` it also writes those figures as CSV (the input of
//! `benches/scaling_svg.py`, which draws `docs/scaling.svg`).
//!
//! `cargo bench --bench scaling -- --warm-up-time 1 --measurement-time 3`
//!
//! The per-household caps (`model::MAX_MEMBERS` 10,000, `MAX_CLAIMS` 100,000,
//! `MAX_LOANS` 10,000) admit every size measured.

#[path = "synthetic/mod.rs"]
mod synthetic;

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use fupin::model::Household;
use fupin::Engine;
use synthetic::{as_of, build, claims, example, loans, members, parse, PINGSHAN};

const SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];
const POLICIES: [usize; 5] = [0, 1, 10, 100, 1_000];

/// One series: its name, the engine, and a household per size.
struct Series {
    name: &'static str,
    unit: &'static str,
    engines: Vec<(usize, Engine, Household)>,
}

fn series(filter: &dyn Fn(&str) -> bool) -> Vec<Series> {
    let mut out = Vec::new();
    let shared = || build(0);
    let sized = |name: &'static str, unit: &'static str, f: fn(usize) -> Household| Series {
        name,
        unit,
        engines: SIZES.iter().map(|&n| (n, shared(), f(n))).collect(),
    };
    if filter("members") {
        out.push(sized("members", "member", members));
    }
    if filter("claims") {
        out.push(sized("claims", "claim", claims));
    }
    if filter("loans") {
        out.push(sized("loans", "loan", loans));
    }
    if filter("policies") {
        let h = parse(&example(PINGSHAN));
        out.push(Series { name: "policies", unit: "policy", engines: POLICIES.iter().map(|&k| (k, build(k), h.clone())).collect() });
    }
    out
}

/// Every size evaluates, and the work is real (programmes and claims assessed).
fn sanity(s: &Series) {
    for (n, engine, h) in &s.engines {
        let a = engine.assess(h, as_of()).unwrap_or_else(|e| panic!("{} {n}: {e}", s.name));
        let eligible = a.programs.values().filter(|p| p.eligible).count();
        assert!(eligible > 0, "{} {n}: no programme eligible", s.name);
        match s.name {
            "members" => assert_eq!(a.claims.len(), *n),
            "claims" => assert_eq!(a.claims.len(), *n),
            "loans" => assert_eq!(h.loans.len(), *n),
            _ => assert!(a.programs.len() >= *n, "{} {n}: {} programmes", s.name, a.programs.len()),
        }
    }
}

fn criterion_benches(c: &mut Criterion, all: &[Series]) {
    for s in all {
        let mut g = c.benchmark_group(format!("scaling/{}", s.name));
        g.sample_size(10);
        for (n, engine, h) in &s.engines {
            g.throughput(Throughput::Elements((*n).max(1) as u64));
            let mut scratch = engine.scratch();
            engine.assess_with(h, as_of(), &mut scratch).expect("assesses");
            g.bench_with_input(BenchmarkId::new("assess_with", n), h, |b, h| {
                b.iter(|| black_box(engine.assess_with(black_box(h), as_of(), &mut scratch).is_ok()))
            });
            g.bench_with_input(BenchmarkId::new("evaluate", n), h, |b, h| {
                b.iter(|| black_box(engine.evaluate(black_box(h), as_of(), &mut scratch).is_ok()))
            });
        }
        g.finish();
    }
}

/// Best of `rounds` timings of `f`, each over enough repetitions to last ~20 ms.
fn best(rounds: usize, mut f: impl FnMut()) -> f64 {
    let t = std::time::Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-9);
    let reps = ((0.02 / once) as usize).clamp(1, 100_000);
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    best
}

fn table(all: &[Series]) {
    const ROUNDS: usize = 5;
    let mut csv = String::from("series,n,evaluate_ns,assess_ns\n");
    println!("\nhow cost grows: time per household and per element (best of {ROUNDS} rounds, trace off, reused Scratch)");
    println!("{:<9} {:>7} {:>14} {:>14} {:>16} {:>16}", "series", "n", "evaluate µs", "assess_with µs", "evaluate ns/el", "assess ns/el");
    for s in all {
        for (n, engine, h) in &s.engines {
            let mut scratch = engine.scratch();
            let ev = best(ROUNDS, || {
                black_box(engine.evaluate(black_box(h), as_of(), &mut scratch).is_ok());
            });
            let asv = best(ROUNDS, || {
                black_box(engine.assess_with(black_box(h), as_of(), &mut scratch).is_ok());
            });
            let per = (*n).max(1) as f64;
            println!("{:<9} {:>7} {:>14.2} {:>14.2} {:>16.1} {:>16.1}", s.name, n, ev * 1e6, asv * 1e6, ev * 1e9 / per, asv * 1e9 / per);
            csv.push_str(&format!("{},{n},{:.1},{:.1}\n", s.name, ev * 1e9, asv * 1e9));
        }
        println!("  ({} per {}; policies: per generated policy, the library's own base cost included)", s.name, s.unit);
    }
    if let Ok(path) = std::env::var("SCALING_CSV") {
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("{path}: {e}"));
        println!("wrote {path}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // a criterion filter (the first argument that is not an option or an option's value)
    let mut filter: Option<String> = None;
    let mut skip = false;
    for a in &args {
        if skip {
            skip = false;
        } else if a.starts_with("--") {
            skip = !a.contains('=')
                && matches!(
                    a.as_str(),
                    "--warm-up-time"
                        | "--measurement-time"
                        | "--sample-size"
                        | "--save-baseline"
                        | "--baseline"
                        | "--load-baseline"
                        | "--profile-time"
                        | "--noise-threshold"
                        | "--confidence-level"
                        | "--significance-level"
                        | "--nresamples"
                        | "--color"
                        | "--output-format"
                        | "--plotting-backend"
                        | "--format"
                );
        } else if filter.is_none() {
            filter = Some(a.clone());
        }
    }
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| format!("scaling/{name}").contains(f) || f.contains(name));
    let all = series(&wanted);
    for s in &all {
        sanity(s);
    }
    let quick = args.iter().any(|a| a == "--list" || a == "--test" || a == "--profile-time");
    if std::env::var_os("SCALING_TABLE_ONLY").is_none() {
        let mut c = Criterion::default().configure_from_args();
        criterion_benches(&mut c, &all);
        c.final_summary();
    }
    if !quick {
        table(&all);
    }
}
