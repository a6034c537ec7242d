//! Precedence between policies and rules: a policy ranks above every policy
//! it (transitively) extends, whatever their regions; a more specific region
//! ranks above a more general unrelated one; unrelated policies of one region
//! that define the same output are a checker error. The trace names the
//! winner of every contest and why. Rule ids are unique across policies.

use fupin::assessment::TraceEvent;
use fupin::{Engine, EngineBuilder, Household};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn pingshan(income: &str) -> Household {
    let text = std::fs::read_to_string(root().join("examples/households/pingshan-dibao.json")).unwrap_or_else(|e| panic!("{e}"));
    let text = text.replacen("\"income\": \"6000.00\"", &format!("\"income\": \"{income}\""), 1);
    fupin::model::parse_household(&text, None).unwrap_or_else(|e| panic!("{e}"))
}

fn with(cases: &[&str]) -> EngineBuilder {
    let mut b = Engine::builder().embedded();
    for c in cases {
        b = b.path(root().join("tests/cases/precedence").join(c)).unwrap_or_else(|e| panic!("{e}"));
    }
    b
}

fn engine(cases: &[&str]) -> Engine {
    with(cases).build().unwrap_or_else(|d| panic!("{}", d.render()))
}

fn traced(e: &Engine, h: &Household, on: &str) -> fupin::Assessment {
    let mut s = e.scratch();
    s.set_trace(true);
    e.assess_with(h, date(on), &mut s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_same_region_amendment_overrides_the_parameter_of_the_policy_it_extends() {
    let e = engine(&["amendment.policy"]);
    let a = traced(&e, &pingshan("6000.00"), "2018-06-01");
    // 4,600 × 3 − 6,000, not the amended policy's 4,400 × 3 − 6,000
    assert_eq!(a.programs["dibao"].amount.map(|d| d.to_string()).as_deref(), Some("7800.00"));
    assert!(a.policies.iter().any(|p| p.id == "cn.hebei.shijiazhuang.amendment2018"), "{:?}", a.policies);
    // the trace says the amendment's value was used and what it overrides
    let explain = a.explain();
    assert!(
        explain.contains("param dibao_standard on 2018-06-01 = 4600.00 yuan/year  [cn.hebei.shijiazhuang.amendment2018, 示例〔2018〕1号 一]  (overrides cn.hebei.shijiazhuang"),
        "{explain}"
    );
    // `params` shows the amendment's figure
    let p = e.params_in_force("130131", date("2018-06-01"));
    let std = p.iter().find(|p| p.name == "dibao_standard").unwrap_or_else(|| panic!("{p:?}"));
    assert_eq!((std.value.as_str(), std.policy.as_str()), ("4600.00 yuan/year", "cn.hebei.shijiazhuang.amendment2018"));
    // before the amendment is in force, the amended policy's figure holds
    let a = e.assess(&pingshan("6000.00"), date("2017-06-01")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.programs["dibao"].amount.map(|d| d.to_string()).as_deref(), Some("6000.00"));
}

#[test]
fn a_same_region_amendment_rule_wins_and_the_trace_says_why() {
    let e = engine(&["amendment-rule.policy"]);
    // gap 4,400 × 3 − 6,000.50 = 7,199.50: the amended rule pays 7,200 (rounded up to the yuan)
    let a = traced(&e, &pingshan("6000.50"), "2019-06-01");
    let dibao = &a.programs["dibao"];
    assert_eq!(dibao.amount.map(|d| d.to_string()).as_deref(), Some("7200.00"), "{}", a.explain());
    let reasons: Vec<&str> = dibao.reasons.iter().map(|r| r.rule.as_str()).collect();
    assert!(reasons.contains(&"SJZ-2-2019"), "{reasons:?}");
    assert!(!reasons.contains(&"SJZ-2"), "the overridden rule is no reason for the amount: {reasons:?}");
    let trace = a.trace.clone().unwrap_or_default();
    let lost = trace.iter().find_map(|t| match t {
        TraceEvent::Overridden { target, subject, winner, loser, why } if loser == "SJZ-2" => {
            Some((target.clone(), subject.clone(), winner.clone(), why.clone()))
        }
        _ => None,
    });
    assert_eq!(
        lost,
        Some((
            "amount dibao".to_string(),
            "household".to_string(),
            "SJZ-2-2019".to_string(),
            "policy cn.hebei.shijiazhuang.amendment2019 extends cn.hebei.shijiazhuang".to_string()
        )),
        "{}",
        a.explain()
    );
    // the lost rule is shown as lost, in the trace and under the programme it lost on
    let lost_line =
        "rule SJZ-2 (household): lost to SJZ-2-2019 on amount dibao — policy cn.hebei.shijiazhuang.amendment2019 extends cn.hebei.shijiazhuang";
    let explain = a.explain();
    assert!(explain.contains(&format!("\n{lost_line}\n")), "{explain}");
    let (_, programmes) = explain.split_once("\nprogrammes:\n").unwrap_or_default();
    let (dibao_part, _) = programmes.split_once("\n  dibao.").unwrap_or((programmes, ""));
    assert!(dibao_part.contains("  dibao: eligible, 7200.00 yuan/year\n"), "{explain}");
    assert!(dibao_part.contains(&format!("      {lost_line}\n")), "{explain}");
    // before the amendment, the amended policy's own rule pays
    let a = e.assess(&pingshan("6000.50"), date("2018-06-01")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.programs["dibao"].amount.map(|d| d.to_string()).as_deref(), Some("7199.50"));
}

#[test]
fn a_claim_layer_of_a_more_specific_region_wins_and_the_trace_says_why() {
    let e = Engine::builder()
        .embedded()
        .path(root().join("examples/overlays/pingshan.policy"))
        .and_then(|b| b.path(root().join("tests/cases/precedence/county-assistance.policy")))
        .unwrap_or_else(|e| panic!("{e}"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let text = std::fs::read_to_string(root().join("examples/households/pingshan-medical.json")).unwrap_or_else(|e| panic!("{e}"));
    let h = fupin::model::parse_household(&text, None).unwrap_or_else(|e| panic!("{e}"));
    let a = traced(&e, &h, "2018-06-01");
    let c = a.claims.first().unwrap_or_else(|| panic!("no claim: {}", a.explain()));
    assert!(c.error.is_none(), "{}", a.explain());
    assert!(c.reasons.iter().any(|r| r.rule == "PS-7"), "{:?}", c.reasons);
    assert!(!c.reasons.iter().any(|r| r.rule == "SJZ-7"), "the overridden rule is no reason: {:?}", c.reasons);
    let explain = a.explain();
    // shown as lost, with its subject, the winner and why, under the claim too
    let lost = format!(
        "rule SJZ-7 ({}): lost to PS-7 on pay assistance — policy cn.hebei.shijiazhuang.pingshan_notice extends cn.hebei.shijiazhuang",
        fupin::assessment::claim_subject(c)
    );
    assert!(explain.contains(&format!("\n{lost}\n")), "{explain}");
    assert!(explain.contains(&format!("\n      {lost}\n")), "{explain}");
}

#[test]
fn unrelated_policies_of_one_region_setting_one_parameter_are_a_checker_error() {
    let d = with(&["siblings.policy", "siblings-b.policy"]).build().err().map(|d| d.render()).unwrap_or_default();
    assert!(
        d.contains("error: parameter `dibao_standard` is defined by both `cn.hebei.shijiazhuang.notice_a` and `cn.hebei.shijiazhuang.notice_b`, and neither extends the other"),
        "{d}"
    );
    assert!(d.contains("tests/cases/precedence/siblings.policy"), "{d}");
    assert!(d.contains("tests/cases/precedence/siblings-b.policy"), "{d}");
    // one of them alone is fine
    engine(&["siblings.policy"]);
}

#[test]
fn a_rule_id_used_by_two_policies_is_a_checker_error() {
    let d = with(&["duplicate-rule-id.policy"]).build().err().map(|d| d.render()).unwrap_or_default();
    assert!(d.contains("error: rule id `SJZ-1` is already used by policy `cn.hebei.shijiazhuang`"), "{d}");
    assert!(d.contains("policies/hebei/shijiazhuang.policy"), "{d}");
}
