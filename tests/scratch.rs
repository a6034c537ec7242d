//! A `Scratch` belongs to the engine that made it: used with another engine
//! (another policy set, or the same one with an overlay) it is a typed error,
//! never an index out of bounds or the other engine's figures; reused for
//! the next household, it keeps nothing of the last one's.

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

/// A claim's description is written once for all the programmes that list
/// it, and never carried to the next household assessed with the same
/// scratch: the same claim of the same member index is another member's
/// claim there. (The reference workload's policy lists one subject, the
/// claim, under each of its three layers' programmes.)
#[test]
fn a_subject_described_for_one_household_is_described_again_for_the_next() {
    let source = std::fs::read_to_string(root().join("benches/reference.policy")).unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::builder().source("reference.policy", &source).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let household = |member: &str| {
        let text = format!(
            r#"{{"id": "h-{member}", "region": "130131", "hukou": "rural", "income": "100",
                "poverty": {{"status": "registered"}},
                "members": [ {{"id": "{member}", "birth_date": "1950-01-01", "sex": "male", "labour": "complete_loss",
                  "claims": [ {{"date": "2020-06-01", "kind": "inpatient", "hospital_level": "county",
                               "total_cost": "300000", "in_policy_cost": "300000"}} ]}} ]}}"#
        );
        fupin::model::parse_household(&text, None).unwrap_or_else(|e| panic!("{e}"))
    };
    let on = chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap_or_default();
    let subjects = |a: &fupin::Assessment| -> Vec<String> {
        a.programs.values().flat_map(|p| p.reasons.iter().flat_map(|r| r.subjects.iter().cloned())).collect()
    };
    let mut s = engine.scratch();
    let mut into = fupin::Assessment::default();
    let mut json = Vec::new();
    for member in ["a", "b", "a"] {
        let h = household(member);
        let want = format!("claim #1 of member {member}");
        let fresh = engine.assess(&h, on).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subjects(&fresh), vec![want.clone(); 3], "the claim under each layer's programme");
        engine.assess_into(&h, on, &mut s, &mut into).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subjects(&into), subjects(&fresh), "assess_into after another household");
        json.clear();
        engine.assess_json(&h, on, &mut s, &mut json).unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        let written = String::from_utf8_lossy(&json);
        assert_eq!(written.matches(&format!("\"{want}\"")).count(), 3, "assess_json after another household: {written}");
    }
}
