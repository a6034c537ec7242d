//! The registry at scale: reading and joining the tables, `fupin batch` to
//! result tables, and `fupin simulate` (two assessments per household), on
//! one and on two worker threads, over the same synthetic Parquet registry.
//!
//! `cargo bench -p fupin-registry --bench registry` (after criterion's
//! report it prints households/s per configuration and the 1 → 2 thread
//! speed-up, measured in one interleaved pass).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fupin::{Engine, PolicySet};
use fupin_registry::layout::Layout;
use fupin_registry::read::{Format, Source};
use fupin_registry::run::{self, Sides};
use fupin_registry::tables::TablesWriter;
use fupin_registry::write::Results;
use std::path::Path;
use std::time::Instant;

const HOUSEHOLDS: u64 = 20_000;

fn registry(dir: &Path, engine: &Engine) {
    std::fs::create_dir_all(dir).expect("a directory");
    let layout = Layout::from_schema(&engine.household_schema(None, None));
    let mut w = TablesWriter::create(dir, &layout, Format::Parquet).expect("tables");
    for i in 0..HOUSEHOLDS {
        w.household(&fupin_registry::generate::household(2018, i)).expect("a valid record");
    }
    w.finish().expect("written");
}

struct Setup {
    dir: tempfile::TempDir,
    baseline: Engine,
    reform: Engine,
    layout: Layout,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let baseline = Engine::embedded().expect("builds");
        let reform = PolicySet::embedded().with_setting("dibao_standard", "5760").build().expect("builds");
        registry(&dir.path().join("registry"), &baseline);
        let layout = Layout::from_schema(&baseline.household_schema(None, None));
        Setup { dir, baseline, reform, layout }
    }

    fn source(&self) -> Source {
        Source::open(&self.dir.path().join("registry"), &self.layout).expect("opens")
    }

    fn read(&self) -> u64 {
        let mut s = self.source();
        let mut n = 0;
        while let Some(_item) = s.next_item().expect("reads") {
            n += 1;
        }
        n
    }

    fn batch(&self, threads: usize) -> u64 {
        let out = tempfile::tempdir().expect("a temporary directory");
        let mut results = Results::create(out.path(), Format::Parquet, false).expect("created");
        let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("a date");
        let counts = run::batch(&self.baseline, self.source(), as_of, &mut results, threads, |_| {}).expect("runs");
        results.finish().expect("written");
        counts.ok
    }

    fn simulate(&self, threads: usize) -> u64 {
        let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("a date");
        let sides = Sides {
            baseline: &self.baseline,
            baseline_as_of: as_of,
            reform: &self.reform,
            reform_as_of: as_of,
            reform_parameters_on: None,
        };
        let tally = run::simulate(sides, self.source(), threads, |_| {}).expect("runs");
        let d = chrono::NaiveDate::MIN;
        let describe = || fupin_registry::simulate::SetDescription {
            label: String::new(),
            as_of: d,
            parameters_on: None,
            policies: vec![],
            settings: vec![],
        };
        tally.report(describe(), describe()).compared
    }
}

fn bench(c: &mut Criterion) {
    let setup = Setup::new();
    let mut g = c.benchmark_group("registry");
    g.sample_size(10);
    g.throughput(Throughput::Elements(HOUSEHOLDS));
    g.bench_function("read_join", |b| b.iter(|| setup.read()));
    for threads in [1, 2] {
        g.bench_function(format!("batch_{threads}_thread"), |b| b.iter(|| setup.batch(threads)));
        g.bench_function(format!("simulate_{threads}_thread"), |b| b.iter(|| setup.simulate(threads)));
    }
    g.finish();

    // one interleaved pass: the same machine state for every configuration
    let mut best = [f64::MAX; 5];
    for _ in 0..3 {
        let runs: [&dyn Fn() -> u64; 5] =
            [&|| setup.read(), &|| setup.batch(1), &|| setup.batch(2), &|| setup.simulate(1), &|| setup.simulate(2)];
        for (i, f) in runs.iter().enumerate() {
            let t = Instant::now();
            assert_eq!(f(), HOUSEHOLDS);
            best[i] = best[i].min(t.elapsed().as_secs_f64());
        }
    }
    let rate = |s: f64| HOUSEHOLDS as f64 / s;
    println!("\nconfiguration          households/s");
    for (name, s) in ["read_join", "batch, 1 thread", "batch, 2 threads", "simulate, 1 thread", "simulate, 2 threads"].iter().zip(best) {
        println!("{name:<22} {:>12.0}", rate(s));
    }
    println!("1 → 2 threads: batch {:.2}×, simulate {:.2}×", best[1] / best[2], best[3] / best[4]);
}

criterion_group!(benches, bench);
criterion_main!(benches);
