//! `Scratch::set_parameters_on`: the same household on the same date, with
//! every parameter read as in force on another date — and the assessment
//! saying so.

use chrono::NaiveDate;
use fupin::{Engine, PolicySet, Tier};
use rust_decimal::Decimal;

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

fn household(engine: &Engine) -> fupin::model::Household {
    let json = std::fs::read_to_string("examples/households/pingshan-dibao.json").expect("the example");
    engine.parse_household(&json, Some(day("2018-06-01"))).expect("valid")
}

/// 低保 of the 平山县 example in 2018 under the 2020 石家庄 standard, read off
/// the shipped series (4,400 yuan/year from 2018, 5,760 from 2020-03-01), is
/// the 2018 assessment with that one figure set to 5,760 — on every tier.
#[test]
fn the_2020_standard_on_a_2018_household() {
    let engine = Engine::embedded().expect("builds");
    let set_2020 = PolicySet::embedded().with_setting("dibao_standard", "5760").build().expect("builds");
    let h = household(&engine);
    let as_of = day("2018-06-01");
    let plain = engine.assess(&h, as_of).expect("assessed");
    let want = set_2020.assess(&h, as_of).expect("assessed");
    let dibao = |a: &fupin::Assessment| a.programs.get("dibao").and_then(|p| p.amount);
    assert_ne!(dibao(&plain), dibao(&want), "the standard matters to this household");
    for tier in [Tier::Generated, Tier::Lowered, Tier::Ir] {
        let mut s = engine.scratch();
        s.set_tier(tier);
        s.set_parameters_on(Some(day("2020-06-01")));
        let a = engine.assess_with(&h, as_of, &mut s).expect("assessed");
        assert_eq!(dibao(&a), dibao(&want), "{tier:?}");
        assert_eq!(a.as_of, as_of);
        assert_eq!(a.parameters_on, Some(day("2020-06-01")));
        // the JSON says it too, written either way
        let mut out = Vec::new();
        engine.assess_json(&h, as_of, &mut s, &mut out).expect("assessed").expect("written");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.contains(r#""as_of":"2018-06-01","parameters_on":"2020-06-01""#), "{text}");
        assert_eq!(serde_json::from_str::<fupin::Assessment>(&text).expect("an assessment").parameters_on, Some(day("2020-06-01")));
        // and back to the assessment date: the memoised 2020 figures are not reused
        s.set_parameters_on(None);
        let back = engine.assess_with(&h, as_of, &mut s).expect("assessed");
        assert_eq!(back, plain, "{tier:?}");
        assert!(back.parameters_on.is_none());
    }
}

/// The date moves the parameters only: the policies in force and the ages
/// stay the assessment date's, so a date on which the 石家庄 document is no
/// longer in force still reads its last figures, and one before a figure
/// was set reads the earlier one.
#[test]
fn only_the_parameters_move() {
    let engine = Engine::embedded().expect("builds");
    let h = household(&engine);
    let as_of = day("2018-06-01");
    let mut s = engine.scratch();
    let dibao = |s: &mut fupin::Scratch, on: &str| {
        s.set_parameters_on(Some(day(on)));
        let a = engine.assess_with(&h, as_of, s).expect("assessed");
        (a.policies.iter().map(|p| p.id.to_string()).collect::<Vec<_>>(), a.programs.get("dibao").and_then(|p| p.amount))
    };
    let (in_2018, at_2018) = dibao(&mut s, "2018-06-01");
    let (in_2017, at_2017) = dibao(&mut s, "2017-06-01");
    let (in_2022, at_2022) = dibao(&mut s, "2022-06-01");
    let (_, at_2020) = dibao(&mut s, "2020-06-01");
    assert_eq!(in_2017, in_2018);
    assert_eq!(in_2022, in_2018, "the policies in force are the assessment date's");
    assert!(at_2017 < at_2018 && at_2018 < at_2020, "{at_2017:?} {at_2018:?} {at_2020:?}");
    assert_eq!(at_2022, at_2020, "the last figure of the series stands after it");
    // the assessment date's own figures: no `parameters_on` in the assessment
    s.set_parameters_on(Some(as_of));
    assert!(engine.assess_with(&h, as_of, &mut s).expect("assessed").parameters_on.is_none());
    assert!(at_2018.is_some_and(|d| d > Decimal::ZERO));
}
