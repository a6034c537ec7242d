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

/// Found by the `eval_struct` fuzz target: a claim whose total cost has 29
/// significant digits and whose layers pay fen. `total − paid` rounded, so
/// the assessment reported layers + out-of-pocket ≠ total. Now the claim
/// fails with a typed error naming it.
#[test]
fn layers_and_out_of_pocket_are_exact_or_the_claim_fails() {
    const OVERLAY: &str = "policy deploy.reg {\n  title \"t\"\n  region 130100\n  in_force 2016-01-01 ..\n  version \"t\"\n  extends cn.hebei.shijiazhuang\n  overlay\n}\noverride param basic_deductible { always: 500 }\noverride param basic_rate { always: 75% }\noverride param basic_annual_cap { always: 150000 }\noverride param major_illness_deductible { always: 15000 }\noverride param major_illness_rate { always: 60% }\noverride param assistance_annual_limit { always: 50000 }\n";
    let e = Engine::builder().embedded().source("deploy.policy", OVERLAY).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let json = |total: &str| {
        format!(
            r#"{{ "id": "h", "region": "130126", "income": 1000, "poverty": {{ "status": "returned" }},
                 "members": [ {{ "id": "m3", "birth_date": "1950-01-01", "sex": "female",
                   "claims": [ {{ "date": "2017-05-15", "kind": "inpatient", "hospital_level": "city",
                                 "total_cost": "{total}", "in_policy_cost": "262060.80" }} ] }} ] }}"#
        )
    };
    let as_of = chrono::NaiveDate::from_ymd_opt(2017, 12, 31).expect("date");
    let h = fupin::model::parse_household(&json("79228162514264337593543950335"), Some(as_of)).expect("household");
    let err = e.assess(&h, as_of).expect_err("cannot be exact");
    assert!(matches!(err, fupin::EvalError::Layers { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("claim #1 of member m3: the total cost 79228162514264337593543950335 less the layers paid"),
        "{err}"
    );
    // a large but representable total is exact
    let h = fupin::model::parse_household(&json("7922816251426433759354395.03"), Some(as_of)).expect("household");
    let a = e.assess(&h, as_of).expect("assess");
    let c = &a.claims[0];
    assert_eq!(c.paid().expect("settled") + c.out_of_pocket.expect("settled"), c.total_cost);
    assert!(c.layer("basic").expect("basic") > rust_decimal::Decimal::ZERO);
}

/// A household built in code (not read from JSON) with a date outside years
/// 0001–9999 is refused by validation with the date's path, as the JSON
/// reader refuses it (found by the `eval_struct` fuzz target: such a
/// household was assessed, and its JSON did not read back).
#[test]
fn dates_outside_years_1_to_9999_are_refused_in_a_household_built_in_code() {
    let json = r#"{"id": "d", "region": "130131", "income": "0",
                   "members": [ {"id": "a", "birth_date": "1960-01-01", "sex": "male"} ],
                   "loans": [ {"kind": "microcredit", "principal": "1000", "start_date": "2018-01-01",
                               "maturity_date": "2019-01-01", "rate": "0.04"} ]}"#;
    let h = fupin::model::parse_household(json, None).unwrap_or_else(|e| panic!("{e}"));
    let far = chrono::NaiveDate::from_ymd_opt(-4836, 1, 1).expect("chrono holds it");
    let mut a = h.clone();
    a.members[0].birth_date = far;
    let err = fupin::model::validate(&a, None).expect_err("year -4836");
    assert_eq!(err.path, "members[0].birth_date");
    assert!(err.message.contains("0001"), "{err}");
    let mut b = h.clone();
    b.loans[0].maturity_date = chrono::NaiveDate::from_ymd_opt(10_000, 1, 1).expect("chrono holds it");
    assert_eq!(fupin::model::validate(&b, None).expect_err("year 10000").path, "loans[0].maturity_date");
    let mut c = h;
    c.poverty.registered_on = Some(far);
    assert_eq!(fupin::model::validate(&c, None).expect_err("year -4836").path, "poverty.registered_on");
}
