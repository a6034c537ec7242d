//! Arithmetic at run time: decimal overflow, division by zero and dates out
//! of range are typed `EvalError`s that carry the span of the expression, and
//! render with the policy's source line — never a panic, never a wrong value.

use chrono::NaiveDate;
use fupin::{Engine, EvalError};

const HEADER: &str = r#"policy test.arith {
  title "arithmetic"
  region 130131
  in_force 2016-01-01 ..
  version "1"
  extends cn.hebei.shijiazhuang
}
"#;

const HOUSEHOLD: &str = r#"{
  "id": "h-arith", "region": "130131", "income": 3000,
  "members": [
    { "id": "m1", "birth_date": "1960-05-01", "sex": "male", "labour": "partial_loss" },
    { "id": "m2", "birth_date": "1990-01-01", "sex": "female" }
  ]
}"#;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 6, 1).expect("date")
}

fn engine(body: &str) -> Engine {
    Engine::builder().embedded().source("arith.policy", format!("{HEADER}{body}")).build().unwrap_or_else(|d| panic!("{}", d.render()))
}

/// Assess the household under a policy with `body`; the error and its rendering.
fn fails(body: &str, household: &str) -> (EvalError, String) {
    let e = engine(body);
    let h = fupin::model::parse_household(household, Some(as_of())).expect("household");
    let err = e.assess(&h, as_of()).expect_err("the assessment must fail");
    // with the trace on, the same error
    let mut s = e.scratch();
    s.set_trace(true);
    assert_eq!(e.assess_with(&h, as_of(), &mut s).expect_err("fails traced"), err);
    let rendered = err.render(&e.program().sources);
    (err, rendered)
}

/// The rendered diagnostic points at `line:col` of arith.policy and
/// underlines exactly `text` on that line.
fn assert_points_at(rendered: &str, message: &str, line: usize, text: &str) {
    assert!(rendered.starts_with(&format!("error: {message}\n")), "{rendered}");
    let source_line = HEADER.lines().count() + line;
    let body_line = rendered
        .lines()
        .find(|l| l.contains(&format!("{source_line} |")))
        .unwrap_or_else(|| panic!("no source line {source_line}:\n{rendered}"));
    let col = body_line.find(text).unwrap_or_else(|| panic!("`{text}` not on the shown line:\n{rendered}"));
    let carets = rendered.lines().skip_while(|l| *l != body_line).nth(1).unwrap_or_default();
    assert_eq!(carets.find('^'), Some(col), "caret under `{text}`:\n{rendered}");
    assert_eq!(carets.matches('^').count(), text.chars().count(), "caret length for `{text}`:\n{rendered}");
    assert!(rendered.contains(&format!("arith.policy:{source_line}:")), "{rendered}");
}

#[test]
fn repeated_multiplication_overflows_with_the_span_of_the_product() {
    let body = "rule OVF \"overflow\" {\n  cite \"c\"\n  for household\n  then amount dibao = household.income * 1000000000000 * 1000000000000 * 1000000000000\n}\n";
    let (err, rendered) = fails(body, HOUSEHOLD);
    assert!(matches!(err, EvalError::Overflow { .. }), "{err:?}");
    // 3000 × 10^12 × 10^12 fits (3 × 10^27); × 10^12 more does not.
    assert_points_at(&rendered, "arithmetic overflow", 4, "household.income * 1000000000000 * 1000000000000 * 1000000000000");
}

#[test]
fn overflow_from_a_huge_income_in_the_household() {
    let body = "rule OVF \"double\" {\n  cite \"c\"\n  for household\n  then amount dibao = household.income * 2\n}\n";
    let h = HOUSEHOLD.replace("\"income\": 3000", "\"income\": \"79228162514264337593543950335\"");
    let (err, rendered) = fails(body, &h);
    assert!(matches!(err, EvalError::Overflow { .. }), "{err:?}");
    assert_points_at(&rendered, "arithmetic overflow", 4, "household.income * 2");
}

#[test]
fn overflow_when_summing_amounts_over_members() {
    // each member's amount fits; their sum does not
    let body = "rule SUM \"per member\" {\n  cite \"c\"\n  for each member m\n  then amount temporary_assistance = 50000000000000000000000000000\n}\n";
    let (err, rendered) = fails(body, HOUSEHOLD);
    assert!(matches!(err, EvalError::Overflow { .. }), "{err:?}");
    assert!(rendered.contains("arith.policy:8:"), "points at the rule:\n{rendered}");
    let body = "let total: yuan = sum(m in household.members: 50000000000000000000000000000)\nrule S \"s\" {\n  cite \"c\"\n  for household\n  then amount temporary_assistance = total\n}\n";
    let (err, rendered) = fails(body, HOUSEHOLD);
    assert!(matches!(err, EvalError::Overflow { .. }), "{err:?}");
    assert_points_at(&rendered, "arithmetic overflow", 1, "sum(m in household.members: 50000000000000000000000000000)");
}

#[test]
fn division_by_zero_has_the_span_of_the_division() {
    let body = "rule DIV \"per head of nobody\" {\n  cite \"c\"\n  for household\n  let nobody = household.size - household.size\n  then amount dibao = household.income / nobody\n}\n";
    let (err, rendered) = fails(body, HOUSEHOLD);
    assert!(matches!(err, EvalError::DivisionByZero { .. }), "{err:?}");
    assert_points_at(&rendered, "division by zero", 5, "household.income / nobody");
    let body = "rule DIV \"by a literal zero\" {\n  cite \"c\"\n  for household\n  then amount dibao = household.income / 0\n}\n";
    let (err, rendered) = fails(body, HOUSEHOLD);
    assert!(matches!(err, EvalError::DivisionByZero { .. }), "{err:?}");
    assert_points_at(&rendered, "division by zero", 4, "household.income / 0");
}

#[test]
fn dates_out_of_range_have_the_span_of_the_call() {
    for (call, why) in [
        ("date(99999, 1, 1)", "year beyond 9999"),
        ("date(0, 1, 1)", "year 0"),
        ("date(2018, 2, 30)", "no such day"),
        ("date(2018, 13, 1)", "no such month"),
        ("date(2018, 0 - 1, 1)", "negative month"),
        ("date(79228162514264337593543950335, 1, 1)", "huge year"),
    ] {
        let body = format!(
            "rule DATE \"date\" {{\n  cite \"c\"\n  for household\n  when as_of > {call}\n  then eligible temporary_assistance\n}}\n"
        );
        let (err, rendered) = fails(&body, HOUSEHOLD);
        assert!(matches!(err, EvalError::DateOutOfRange { .. }), "{why}: {err:?}");
        assert_points_at(&rendered, "date out of range", 4, call);
    }
    // a fractional year never reaches the evaluator: the checker rejects it
    let src = format!("{HEADER}rule DATE \"date\" {{\n  cite \"c\"\n  for household\n  when as_of > date(2018.5, 1, 1)\n  then eligible temporary_assistance\n}}\n");
    let d = Engine::builder().embedded().source("arith.policy", src).build().expect_err("a fractional year is a type error");
    assert!(d.render().contains("`2018.5` is not a whole number"), "{}", d.render());
    // the edges of the range are fine
    let e = engine("rule DATE \"date\" {\n  cite \"c\"\n  for household\n  when as_of > date(1, 1, 1) and as_of < date(9999, 12, 31)\n  then eligible temporary_assistance\n}\n");
    let h = fupin::model::parse_household(HOUSEHOLD, Some(as_of())).expect("household");
    assert!(e.assess(&h, as_of()).expect("assess").programs["temporary_assistance"].eligible);
}

#[test]
fn interest_and_period_conversions_overflow_cleanly() {
    let body = "rule INT \"interest\" {\n  cite \"c\"\n  for household\n  then amount temporary_assistance = interest(yuan(household.income) * 10000000000000000000000, 1000000%, date(1, 1, 1), as_of)\n}\n";
    let (err, _) = fails(body, HOUSEHOLD);
    assert!(matches!(err, EvalError::Overflow { .. }), "{err:?}");
    let body = "rule YR \"yearly\" {\n  cite \"c\"\n  for each member m\n  then amount disability.living_subsidy = monthly(yearly(disability_living_subsidy * 1000000000000000000000000000))\n}\n";
    let (err, rendered) = fails(body, HOUSEHOLD);
    assert!(matches!(err, EvalError::Overflow { .. }), "{err:?}");
    assert_points_at(&rendered, "arithmetic overflow", 4, "yearly(disability_living_subsidy * 1000000000000000000000000000)");
}

#[test]
fn a_huge_rate_in_the_trace_does_not_panic() {
    // The trace shows rates as percentages (× 100): a rate near the decimal
    // limit must still show, not overflow.
    let body = "rule RATE \"huge rate\" {\n  cite \"c\"\n  for household\n  let r = 50% * 2000000000000000000000000000\n  when r > 0%\n  then eligible temporary_assistance\n}\n";
    let e = engine(body);
    let h = fupin::model::parse_household(HOUSEHOLD, Some(as_of())).expect("household");
    let mut s = e.scratch();
    s.set_trace(true);
    let a = e.assess_with(&h, as_of(), &mut s).expect("assess");
    assert!(a.programs["temporary_assistance"].eligible);
    let trace = serde_json::to_string(&a.trace).expect("trace");
    // 10^27 as a fraction is 10^29 %: beyond the decimal range, so shown as the fraction
    assert!(trace.contains("\"r\",\"1000000000000000000000000000 (as a fraction)\""), "{trace}");
}
