//! A `Scratch` belongs to the engine that made it: used with another engine
//! (another policy set, or the same one with an overlay) it is a typed error,
//! never an index out of bounds or the other engine's figures.

use fupin::{Engine, EvalError};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_scratch_of_one_engine_is_refused_by_another() {
    let plain = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let overlaid = Engine::builder()
        .embedded()
        .path(root().join("examples/overlays/pingshan.policy"))
        .unwrap_or_else(|e| panic!("{e}"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let text = std::fs::read_to_string(root().join("examples/households/pingshan-medical.json")).unwrap_or_else(|e| panic!("{e}"));
    let h = fupin::model::parse_household(&text, None).unwrap_or_else(|e| panic!("{e}"));
    let on = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).unwrap_or_default();
    let mut s = overlaid.scratch();
    overlaid.assess_with(&h, on, &mut s).unwrap_or_else(|e| panic!("{e}"));
    // the overlay's scratch with the plain engine, both ways in
    assert_eq!(plain.assess_with(&h, on, &mut s).err(), Some(EvalError::ForeignScratch));
    assert_eq!(plain.evaluate(&h, on, &mut s).err(), Some(EvalError::ForeignScratch));
    let mut t = plain.scratch();
    assert_eq!(overlaid.evaluate(&h, on, &mut t).err(), Some(EvalError::ForeignScratch));
    // a tiny engine and the full library's scratch
    let tiny = Engine::builder().source("t.policy", "").build().unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(tiny.evaluate(&h, on, &mut t).err(), Some(EvalError::ForeignScratch));
    let msg = EvalError::ForeignScratch.to_string();
    assert!(msg.contains("engine.scratch()"), "{msg}");
    // its own scratch still works
    assert!(plain.assess_with(&h, on, &mut t).is_ok());
}
