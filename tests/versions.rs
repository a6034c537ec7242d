//! Several versions of one policy side by side: by period (the assessment
//! date picks the version in force) and by explicit selection when periods
//! overlap.

use fupin::{Engine, EngineBuilder};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn pingshan() -> fupin::Household {
    let text = std::fs::read_to_string(root().join("examples/households/pingshan-dibao.json")).unwrap_or_else(|e| panic!("{e}"));
    fupin::model::parse_household(&text, None).unwrap_or_else(|e| panic!("{e}"))
}

/// The shipped library (石家庄 2016.4, in force 2016–2020) plus a case file.
fn with(case: &str) -> EngineBuilder {
    Engine::builder().embedded().path(root().join("tests/cases/versions").join(case)).unwrap_or_else(|e| panic!("{e}"))
}

/// (dibao amount, 石家庄 version applied) on a date.
fn dibao(engine: &Engine, on: &str) -> (String, String) {
    let a = engine.assess(&pingshan(), date(on)).unwrap_or_else(|e| panic!("{on}: {e}"));
    let amount = a.programs.get("dibao").and_then(|d| d.amount).map(|d| d.to_string()).unwrap_or_else(|| "none".into());
    let version = a.policies.iter().find(|p| p.id == "cn.hebei.shijiazhuang").map(|p| p.version.to_string()).unwrap_or_default();
    (amount, version)
}

#[test]
fn versions_with_disjoint_periods_load_together_and_the_date_picks_one() {
    let engine = with("shijiazhuang-2021.1.policy").build().unwrap_or_else(|d| panic!("{}", d.render()));
    let versions: Vec<&str> =
        engine.program().module.policies.iter().filter(|p| p.id == "cn.hebei.shijiazhuang").map(|p| p.version.as_str()).collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
    // 2018: version 2016.4, standard 4,400: 4,400 × 3 − 6,000
    assert_eq!(dibao(&engine, "2018-06-01"), ("7200.00".into(), "2016.4".into()));
    // the last day of 2016.4
    assert_eq!(dibao(&engine, "2020-12-31"), ("11280.00".into(), "2016.4".into()));
    // 2021: version 2021.1, standard 6,000: 6,000 × 3 − 6,000
    assert_eq!(dibao(&engine, "2021-06-01"), ("12000.00".into(), "2021.1".into()));
}

#[test]
fn overlapping_versions_without_a_selection_are_a_checker_error_naming_both() {
    let d = with("shijiazhuang-2016.5.policy").build().err().map(|d| d.render()).unwrap_or_default();
    assert!(d.contains("error: versions `2016.4` and `2016.5` of policy `cn.hebei.shijiazhuang` are both in force on 2016-01-01"), "{d}");
    assert!(d.contains("tests/cases/versions/shijiazhuang-2016.5.policy"), "{d}");
    assert!(d.contains("policies/hebei/shijiazhuang.policy"), "{d}");
}

#[test]
fn overlapping_versions_are_selected_explicitly() {
    let new = with("shijiazhuang-2016.5.policy").select("cn.hebei.shijiazhuang", "2016.5").build().unwrap_or_else(|e| panic!("{e}"));
    // the amendment raises the 2018 standard to 4,600: 4,600 × 3 − 6,000
    assert_eq!(dibao(&new, "2018-06-01"), ("7800.00".into(), "2016.5".into()));
    assert_eq!(dibao(&new, "2017-06-01"), ("6000.00".into(), "2016.5".into()));
    let old = with("shijiazhuang-2016.5.policy").select("cn.hebei.shijiazhuang", "2016.4").build().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dibao(&old, "2018-06-01"), ("7200.00".into(), "2016.4".into()));
    // the same engine builder can hold both selections when their periods do not overlap
    let both = with("shijiazhuang-2021.1.policy")
        .select("cn.hebei.shijiazhuang", "2016.4")
        .select("cn.hebei.shijiazhuang", "2021.1")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dibao(&both, "2021-06-01"), ("12000.00".into(), "2021.1".into()));
}

#[test]
fn selecting_a_version_that_is_absent_names_the_versions_present() {
    let e = with("shijiazhuang-2016.5.policy").select("cn.hebei.shijiazhuang", "2016.9").build().err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("selected policy `cn.hebei.shijiazhuang` version `2016.9` is not in the policy set (versions present: 2016.4, 2016.5)")
    );
}

#[test]
fn rules_of_one_id_in_two_versions_are_one_rule_id_to_the_reasons() {
    // a claim lists one reason per rule id: `Names::same_rule_id` says which
    // rules share one, and must agree with their ids' texts for every pair
    let engine = with("shijiazhuang-2021.1.policy").build().unwrap_or_else(|d| panic!("{}", d.render()));
    let names = &engine.program().names;
    let n = names.rules.len() as u32;
    let mut shared = 0;
    for a in 0..n {
        for b in 0..n {
            let same = names.rules[a as usize].0 == names.rules[b as usize].0;
            assert_eq!(
                names.same_rule_id(a, b),
                same,
                "rules {a} and {b}: {:?} and {:?}",
                names.rules[a as usize].0,
                names.rules[b as usize].0
            );
            shared += usize::from(same && a != b);
        }
    }
    assert!(shared > 0, "the two versions share rule ids");
}
