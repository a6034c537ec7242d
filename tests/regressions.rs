//! Regression tests for reliability findings (see docs/reliability.md,
//! "Findings and fixes"). Each test failed before its fix.

use fupin::policy::{self, Source};
use fupin::Engine;

fn embedded() -> Vec<Source> {
    policy::embedded().iter().map(|(n, t)| Source { name: n.to_string(), text: t.to_string() }).collect()
}

const SHADOW: &str = "policy test.shadow {\n  title \"t\"\n  region 130131\n  in_force 2018-01-01 ..\n  version \"1\"\n  extends cn.hebei.shijiazhuang\n}\nparam dibao_standard: yuan/year {\n  cite \"c\"\n  from 2018-01-01: 5000\n}\n";

/// Redeclaring an inherited parameter without `override` was accepted when
/// the child's file came before the parent's (the shipped files load
/// `hebei/…` before `national.policy`): declarations ran in file order.
#[test]
fn shadowing_is_reported_whatever_the_file_order() {
    for child_first in [true, false] {
        let mut b = Engine::builder();
        if child_first {
            b = b.source("shadow.policy", SHADOW).sources(embedded());
        } else {
            b = b.sources(embedded()).source("shadow.policy", SHADOW);
        }
        let rendered = b.build().expect_err("shadowing").render();
        assert!(
            rendered.contains("error: parameter `dibao_standard` is already declared by `cn`"),
            "child first: {child_first}\n{rendered}"
        );
    }
    // and the shipped library itself builds in either order
    let mut reversed = embedded();
    reversed.reverse();
    Engine::builder().sources(reversed).build().unwrap_or_else(|d| panic!("{}", d.render()));
}

/// The trace shows a rate × 100; a rate above ~7.9 × 10^26 (here 1.6 × 10^27) overflowed the
/// multiplication and panicked with the trace on. (Also in tests/arithmetic.rs.)
#[test]
fn a_rate_near_the_decimal_limit_shows_in_the_trace() {
    let text = "policy test.rate {\n  title \"t\"\n  region 130131\n  in_force 2018-01-01 ..\n  version \"1\"\n  extends cn.hebei.shijiazhuang\n}\nrule R \"r\" {\n  cite \"c\"\n  for household\n  let r = 2% * 79228162514264337593543950335\n  then eligible temporary_assistance\n}\n";
    let e = Engine::builder().embedded().source("rate.policy", text).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let h = fupin::model::parse_household(
        r#"{ "id": "h", "region": "130131", "income": 1, "members": [ { "id": "m", "birth_date": "1980-01-01", "sex": "male" } ] }"#,
        None,
    )
    .expect("household");
    let mut s = e.scratch();
    s.set_trace(true);
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    assert!(e.assess_with(&h, as_of, &mut s).expect("assess").programs["temporary_assistance"].eligible);
}
