//! Evaluation work grows linearly with the household and the loaded
//! policies, counted without a clock: the least step budget
//! (`Scratch::budget`) an evaluation needs, for n and 10n members (each with
//! one inpatient claim), claims of one member, loans, and generated policies.
//! The budget counts every expression evaluated, every fact bound, and every
//! candidate and rival that resolving an output visits, so an evaluation
//! whose work per member grew with the members would need more than ten
//! times the steps for ten times the members. The times are in
//! docs/performance.md ("How cost grows", `benches/scaling.rs`).

#[path = "../benches/synthetic/mod.rs"]
mod synthetic;

use fupin::eval::EvalError;
use fupin::model::Household;
use fupin::Engine;
use synthetic::{as_of, build as engine, claims, example, loans, members, parse, PINGSHAN};

/// The least step budget with which `Engine::evaluate` succeeds.
fn steps(e: &Engine, h: &Household) -> u64 {
    let mut s = e.scratch();
    let mut ok = |b: u64| {
        s.budget = b;
        match e.evaluate(h, as_of(), &mut s) {
            Ok(()) => true,
            Err(EvalError::Budget { limit }) => {
                assert_eq!(limit, b);
                false
            }
            Err(other) => panic!("{other}"),
        }
    };
    assert!(ok(fupin::eval::DEFAULT_BUDGET), "the default budget suffices");
    let (mut lo, mut hi) = (0u64, fupin::eval::DEFAULT_BUDGET); // lo fails, hi succeeds
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Ten times the elements take at most 12 times the steps (and more than
/// the smaller household: the elements are evaluated).
fn assert_linear(what: &str, small: u64, large: u64) {
    let ratio = large as f64 / small as f64;
    eprintln!("{what}: {small} → {large} steps ({ratio:.2}×)");
    assert!(large > small, "{what}: {small} → {large} steps: the larger household does more work");
    assert!(ratio <= 12.0, "{what}: {small} → {large} steps for 10× the elements ({ratio:.2}×): evaluation is not linear");
}

#[test]
fn steps_grow_linearly_in_members_claims_and_loans() {
    let e = engine(0);
    for (what, f) in [("members", members as fn(usize) -> Household), ("claims", claims), ("loans", loans)] {
        let (a, b) = (steps(&e, &f(100)), steps(&e, &f(1_000)));
        assert_linear(what, a, b);
        // and per element they are near constant: the large household's
        // steps per element are within 20% of the small one's marginal steps
        let one = steps(&e, &f(1));
        let (per_small, per_large) = ((a - one) as f64 / 99.0, (b - one) as f64 / 999.0);
        assert!(
            (per_large - per_small).abs() <= 0.2 * per_small,
            "{what}: {per_small:.1} steps per element up to 100, {per_large:.1} up to 1,000"
        );
    }
}

#[test]
fn steps_grow_linearly_in_loaded_policies() {
    let h = example(PINGSHAN);
    let h = parse(&h);
    let (a, b) = (steps(&engine(10), &h), steps(&engine(100), &h));
    let base = steps(&engine(0), &h);
    assert_linear("policies", a - base, b - base);
}

#[test]
fn many_members_with_one_amount_rule_each_resolve_per_member() {
    // every member of 10,000 is a subject of the generated amount rule: the
    // resolution of that output visits each candidate once, not once per pair
    let e = engine(1);
    let h = members(10_000);
    let with = steps(&e, &h);
    let without = steps(&engine(0), &h);
    let labour_lost = h.members.iter().filter(|m| !matches!(m.labour, fupin::model::Labour::Full)).count() as u64;
    // the rule's own expressions and the resolution: a few steps per member
    assert!(with > without, "{with} vs {without}");
    assert!(with - without <= 10 * h.members.len() as u64, "{} steps for {labour_lost} candidates", with - without);
}
