//! A service swaps a new policy set in without a restart
//! (`fupin::SharedEngine`): assessments in flight finish on the set they
//! started with, new ones use the new set, and a set that does not build —
//! a pin that does not match, a figure of the wrong type — changes nothing.

use fupin::{Engine, EngineBuilder, Pin, SharedEngine};
use std::sync::{Arc, Barrier};

fn household() -> (fupin::Household, chrono::NaiveDate) {
    let json =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/households/pingshan-medical.json")).expect("household");
    let engine = Engine::embedded().expect("embedded");
    (engine.parse_household(&json, None).expect("household"), chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date"))
}

fn premium(e: &Engine, h: &fupin::Household, on: chrono::NaiveDate) -> Option<String> {
    e.assess(h, on).expect("assessment").programs["medical.premium_subsidy"].amount.map(|d| d.to_string())
}

fn with_premium(yuan: &str) -> EngineBuilder {
    Engine::builder().embedded().set_param("premium_subsidy", yuan)
}

#[test]
fn in_flight_assessments_finish_on_the_old_set_and_new_ones_use_the_new() {
    let (h, on) = household();
    let shared = Arc::new(SharedEngine::new(with_premium("180").build().expect("build")));
    let started = Arc::new(Barrier::new(2));
    let swapped = Arc::new(Barrier::new(2));
    let worker = {
        let (shared, started, swapped, h) = (Arc::clone(&shared), Arc::clone(&started), Arc::clone(&swapped), h.clone());
        std::thread::spawn(move || {
            // a request takes the engine in force, then the set is swapped under it
            let engine = shared.current();
            started.wait();
            swapped.wait();
            premium(&engine, &h, on)
        })
    };
    started.wait();
    let old = shared.reload(with_premium("220")).expect("the new set builds");
    swapped.wait();
    assert_eq!(premium(&old, &h, on).as_deref(), Some("720.00"), "4 members × 180");
    assert_eq!(worker.join().expect("worker").as_deref(), Some("720.00"), "the request in flight ran on the set it started with");
    assert_eq!(premium(&shared.current(), &h, on).as_deref(), Some("880.00"), "a new request runs on the new set: 4 × 220");
    assert_eq!(shared.generation(), 1);
    let (engine, generation) = shared.current_with_generation();
    assert_eq!(generation, 1);
    assert!(std::sync::Arc::ptr_eq(&engine, &shared.current()), "the engine and its generation are read together");
}

#[test]
fn a_set_that_does_not_build_changes_nothing() {
    let (h, on) = household();
    let shared = SharedEngine::new(with_premium("180").build().expect("build"));
    // a pin whose hash does not match the text
    let err = shared.reload(with_premium("220").pin([Pin::new("cn.hebei.shijiazhuang", "2016.4", "sha256:00")])).expect_err("a wrong pin");
    assert!(err.to_string().contains("cn.hebei.shijiazhuang"), "{err}");
    // a figure of the wrong type
    let err = shared.reload(with_premium("a lot")).expect_err("a bad figure");
    assert!(err.to_string().contains("error"), "{err}");
    assert_eq!(shared.generation(), 0);
    assert_eq!(premium(&shared.current(), &h, on).as_deref(), Some("720.00"));
}
