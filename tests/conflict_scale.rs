//! The static conflict check at the documented limits: large but sound
//! policy sets check to the right answer without hanging, and past the pair
//! budget the analysis stops with a warning instead of running on. (How long
//! each takes is measured with `fupin check` on the same generated files —
//! see docs/reliability.md — not asserted here.)

use fupin::Engine;
use std::fmt::Write as _;

const HEADER: &str = r#"policy test.scale {
  title "scale"
  region 130131
  in_force 2018-01-01 ..
  version "1"
  extends cn
}
"#;

fn build(body: &str) -> Result<fupin::Engine, String> {
    Engine::builder().embedded().source("scale.policy", format!("{HEADER}{body}")).build().map_err(|d| d.render())
}

fn rule(out: &mut String, id: &str, extra: &str, when: &str, amount: &str) {
    let _ = write!(out, "rule {id} \"r\" {{\n  cite \"t\"\n  for household\n{extra}  when {when}\n  then amount tekun = {amount}\n}}\n");
}

#[test]
fn two_rules_with_disjoint_hundred_thousand_literal_lists_are_exclusive() {
    let a: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let b: Vec<String> = (100_000..200_000).map(|i| i.to_string()).collect();
    let mut s = String::new();
    rule(&mut s, "A", "", &format!("household.size in [{}]", a.join(", ")), "1");
    rule(&mut s, "B", "", &format!("household.size in [{}]", b.join(", ")), "2");
    let e = build(&s).unwrap_or_else(|d| panic!("{d}"));
    assert!(e.warnings().render().is_empty(), "{}", e.warnings().render());
    // one shared literal: not exclusive
    let mut s = String::new();
    rule(&mut s, "A", "", &format!("household.size in [{}]", a.join(", ")), "1");
    rule(&mut s, "B", "", &format!("household.size in [{}, 99999]", b.join(", ")), "2");
    let e = build(&s).unwrap_or_else(|d| panic!("{d}"));
    assert!(e.warnings().render().contains("rules `A` and `B` may both define amount tekun"), "{}", e.warnings().render());
}

#[test]
fn nearly_ten_thousand_exclusive_rules_for_one_amount_check_clean() {
    let mut s = String::new();
    // the limit is 10,000 items a file, the header being one
    for i in 0..9_990 {
        rule(&mut s, &format!("E-{i}"), "", &format!("household.size == {i}"), &i.to_string());
    }
    let e = build(&s).unwrap_or_else(|d| panic!("{d}"));
    assert!(e.warnings().render().is_empty(), "{}", e.warnings().render());
    // two of them sharing a constant are found
    rule(&mut s, "E-dup", "", "household.size == 17", "1");
    let d = build(&s).err().unwrap_or_default();
    assert!(d.contains("error: rules `E-17` and `E-dup` can both define amount tekun, and neither takes precedence"), "{d}");
}

#[test]
fn a_nearly_ten_thousand_rule_exception_chain_checks_clean_and_the_last_wins() {
    let mut s = String::new();
    for i in 0..9_990 {
        let exc = if i > 0 { format!("  exception to X-{}\n", i - 1) } else { String::new() };
        rule(&mut s, &format!("X-{i}"), &exc, &format!("household.size > {}", i % 7), &i.to_string());
    }
    let e = build(&s).unwrap_or_else(|d| panic!("{d}"));
    assert!(e.warnings().render().is_empty(), "{}", e.warnings().render());
    let p = e.program();
    let id = |name: &str| p.module.rules.iter().position(|r| r.id == name).map(|i| i as u32).unwrap_or_else(|| panic!("{name}"));
    assert!(p.beats(id("X-9989"), id("X-0")));
    assert!(!p.beats(id("X-0"), id("X-9989")));
    assert!(p.beats(id("X-5000"), id("X-4999")));
}

#[test]
fn past_the_pair_budget_the_analysis_stops_with_a_warning() {
    // 2,100 rules with undecidable, pairwise different conditions: 2.2 million pairs
    let mut s = String::new();
    for i in 0..2_100 {
        rule(&mut s, &format!("U-{i}"), "", &format!("household.income > {i}"), "1");
    }
    let e = build(&s).unwrap_or_else(|d| panic!("{d}"));
    let w = e.warnings().render();
    assert!(w.contains("the conflict analysis of amount tekun stopped at rules"), "{w}");
    assert!(w.contains("more pairs of rules may both define amount tekun"), "{w}");
    // only the first pairwise warnings are shown
    assert_eq!(w.matches("and neither takes precedence").count(), fupin::compile::conflict::MAX_WARNINGS, "{w}");
}
