//! With the `tracing` feature, building an engine, assessing a household
//! and a batch run each open a span a service's subscriber sees
//! (`cargo test --release --features tracing --test tracing_spans`; CI runs it).
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records the name of every span opened.
#[derive(Default, Clone)]
struct Names(Arc<Mutex<Vec<String>>>);

impl Subscriber for Names {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut names = self.0.lock().expect("lock");
        names.push(span.metadata().name().to_string());
        Id::from_u64(names.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn build_assess_and_batch_open_their_spans() {
    let names = Names::default();
    tracing::subscriber::with_default(names.clone(), || {
        let engine = fupin::Engine::embedded().expect("embedded");
        let json =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/households/pingshan-dibao.json")).expect("household");
        let h = engine.parse_household(&json, None).expect("household");
        engine.assess(&h, chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date")).expect("assessment");
        let line = json.replace('\n', " ") + "\n";
        let mut out = Vec::new();
        let mut opts = fupin::batch::BatchOptions::new(chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date"));
        opts.threads = 1;
        fupin::batch::run(&engine, line.as_bytes(), &mut out, &opts, |_| {}).expect("batch");
    });
    let names = names.0.lock().expect("lock").clone();
    for want in ["fupin.build", "fupin.assess", "fupin.batch"] {
        assert!(names.iter().any(|n| n == want), "no `{want}` span in {names:?}");
    }
}
