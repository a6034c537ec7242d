//! The reference workload's checksums (`shared/bench/reference-workload.md`):
//! every implementation reproduces them on the first 200,000 households.

#[path = "../benches/workload/mod.rs"]
mod workload;

use rust_decimal::{Decimal, RoundingStrategy};
use workload::{Error, RefHousehold, CHECKSUM_DIBAO, CHECKSUM_HOUSEHOLDS};

/// Runs `assess` over the checksum households; returns (dibao count, Σ out_of_pocket).
fn checksums(mut assess: impl FnMut(&RefHousehold) -> Result<(bool, Decimal), Error>) -> (u32, Decimal) {
    let mut dibao = 0;
    let mut total = Decimal::ZERO;
    for (i, h) in workload::Households::default().take(CHECKSUM_HOUSEHOLDS).enumerate() {
        let (d, oop) = assess(&h).unwrap_or_else(|e| panic!("household {i}: {e}"));
        dibao += u32::from(d);
        total += oop;
    }
    (dibao, total)
}

fn assert_checksums(name: &str, (dibao, total): (u32, Decimal)) {
    assert_eq!(dibao, CHECKSUM_DIBAO, "{name}: dibao count");
    assert_eq!(
        total.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        workload::checksum_out_of_pocket(),
        "{name}: sum of out_of_pocket to the fen"
    );
    assert_eq!(total, workload::checksum_out_of_pocket_exact(), "{name}: exact sum of out_of_pocket");
}

#[test]
fn generator_is_as_specified() {
    let hs = workload::households(1000);
    for h in &hs {
        assert!((1..=6).contains(&h.size));
        assert!(h.ages().iter().all(|&a| a < 90));
        assert!((1..=3).contains(&h.level));
        assert_eq!(h.income.scale(), 2);
        assert_eq!(h.cost.scale(), 2);
        assert!(h.income < Decimal::from(60_000));
        assert!(h.cost < Decimal::from(400_000));
    }
    // Deterministic.
    assert_eq!(hs, workload::households(1000));
}

#[test]
fn handwritten_checksums() {
    assert_checksums("handwritten", checksums(|h| Ok(workload::handwritten::assess(h))));
}

#[test]
fn zen_expression_checksums() {
    let mut zen = workload::zen::Workload::new().unwrap();
    assert_checksums("zen-expression", checksums(|h| zen.assess(h)));
}

#[test]
fn rhai_checksums() {
    let mut rhai = workload::rhai_impl::Workload::new().unwrap();
    assert_checksums("rhai", checksums(|h| rhai.assess(h)));
}

#[test]
fn fupin_checksums() {
    // The policy-language version: every household goes through the engine's
    // evaluator and claim settlement (`benches/reference.policy`).
    let mut fupin = workload::fupin_impl::Workload::new().unwrap_or_else(|e| panic!("{e}"));
    let mut i = 0;
    assert_checksums(
        "fupin",
        checksums(|h| {
            i += 1;
            fupin.assess_ref(h, i - 1)
        }),
    );
}

#[test]
fn fupin_assessment_agrees_with_the_core() {
    // The full `Assessment` (validation, reasons, claim breakdown) gives the
    // same figures as the allocation-free core, and agrees with the
    // hand-written version household by household.
    let mut fupin = workload::fupin_impl::Workload::new().unwrap_or_else(|e| panic!("{e}"));
    let mut dibao = 0;
    for (i, h) in workload::Households::default().take(5000).enumerate() {
        let household = workload::to_household(&h, i);
        let core = fupin.assess(&household).unwrap_or_else(|e| panic!("household {i}: {e}"));
        let full = fupin.assess_full(&household).unwrap_or_else(|e| panic!("household {i}: {e}"));
        assert_eq!(core, full, "household {i}");
        assert_eq!(core, workload::handwritten::assess(&h), "household {i}");
        dibao += u32::from(core.0);
    }
    assert!(dibao > 0, "some households qualify for dibao");
}

#[test]
fn to_household_is_valid() {
    // Assessed at the end of the workload's year (claims are dated 2020-06-01).
    let as_of = chrono::NaiveDate::from_ymd_opt(2020, 12, 31);
    for (i, h) in workload::Households::default().take(2000).enumerate() {
        let household = workload::to_household(&h, i);
        for as_of in [None, as_of] {
            fupin::model::validate(&household, as_of).unwrap_or_else(|e| panic!("household {i}: {e}"));
        }
        assert_eq!(household.members.len(), h.size as usize);
        assert_eq!(household.income, h.income);
        assert_eq!(household.members[0].claims[0].in_policy_cost, h.cost);
        assert_eq!(household.poverty.status == fupin::model::PovertyStatus::Registered, h.poor);
        // Round-trips through JSON, the form the policy-language workload reads.
        let json = serde_json::to_string(&household).unwrap();
        let parsed = fupin::model::parse_household(&json, None).unwrap();
        assert_eq!(parsed, household);
    }
}
