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

// ---------------------------------------------------------------- exact arithmetic

/// The amount of `program` when the household is assessed under a policy with `body`.
fn amount(body: &str, program: &str) -> Option<rust_decimal::Decimal> {
    let e = engine(body);
    let h = fupin::model::parse_household(HOUSEHOLD, Some(as_of())).expect("household");
    let a = e.assess(&h, as_of()).unwrap_or_else(|err| panic!("{}", err.render(&e.program().sources)));
    a.programs.get(program).and_then(|p| p.amount)
}

fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse().expect("decimal")
}

fn one_off(expr: &str) -> String {
    format!("rule X \"x\" {{\n  cite \"c\"\n  for household\n  then amount temporary_assistance = {expr}\n}}\n")
}

#[test]
fn a_sum_beyond_28_digits_is_an_error_not_a_rounded_sum() {
    // 3000 / 7500 = 0.4; (2^96 − 2) + 0.4 needs 30 significant digits
    let body = one_off("79228162514264337593543950334 + yuan(household.income) / 7500");
    let (err, rendered) = fails(&body, HOUSEHOLD);
    assert!(matches!(err, EvalError::Inexact { .. }), "{err:?}");
    assert!(rendered.contains("79228162514264337593543950334.4"), "the exact value is shown:\n{rendered}");
    assert_points_at(&rendered, &err.to_string(), 4, "79228162514264337593543950334 + yuan(household.income) / 7500");
    // and a difference
    let body = one_off("(0 - 79228162514264337593543950334) - yuan(household.income) / 7500");
    let (err, _) = fails(&body, HOUSEHOLD);
    assert!(matches!(err, EvalError::Inexact { .. }), "{err:?}");
}

#[test]
fn an_inexact_quotient_stored_without_round_is_an_error_at_the_expression() {
    let body = "rule X \"x\" {\n  cite \"c\"\n  for household\n  let share = yuan(household.income) / 7\n  then amount temporary_assistance = round(share, fen, half_up)\n}\n";
    let (err, rendered) = fails(body, HOUSEHOLD);
    assert!(matches!(err, EvalError::Inexact { .. }), "{err:?}");
    assert!(err.to_string().contains("3000/7"), "{err}");
    assert!(err.to_string().contains("round("), "says how to fix it: {err}");
    assert_points_at(&rendered, &err.to_string(), 4, "yuan(household.income) / 7");
    // an amount is stored too
    let (err, rendered) = fails(&one_off("yuan(household.income) / 9000"), HOUSEHOLD);
    assert!(matches!(err, EvalError::Inexact { .. }), "{err:?}");
    assert_points_at(&rendered, &err.to_string(), 4, "yuan(household.income) / 9000");
}

#[test]
fn round_rounds_the_exact_value() {
    // 3000 / 900 = 10/3
    assert_eq!(amount(&one_off("round(yuan(household.income) / 900, fen, half_up)"), "temporary_assistance"), Some(dec("3.33")));
    // 3000 / 7 × 7 / 24000 = 1/8 = 0.125 exactly: half up is 0.13 (rounded to 28 digits first it was 0.12499…)
    assert_eq!(amount(&one_off("round(yuan(household.income) / 7 * 7 / 24000, fen, half_up)"), "temporary_assistance"), Some(dec("0.13")));
    // negative halves round away from zero; `up` and `down` on the exact value
    assert_eq!(
        amount(&one_off("0 - round(0 - yuan(household.income) / 7 * 7 / 24000, fen, half_up)"), "temporary_assistance"),
        Some(dec("0.13"))
    );
    assert_eq!(amount(&one_off("round(yuan(household.income) / 9000 + 3, fen, up)"), "temporary_assistance"), Some(dec("3.34")));
    assert_eq!(amount(&one_off("round(yuan(household.income) / 4500, jiao, down)"), "temporary_assistance"), Some(dec("0.6")));
    assert_eq!(amount(&one_off("round(yuan(household.income) / 4500, yuan, up)"), "temporary_assistance"), Some(dec("1")));
    // an exact value that is not a finite decimal inside, finite outside
    assert_eq!(amount(&one_off("yuan(household.income) / 9000 * 3"), "temporary_assistance"), Some(dec("1")));
}

#[test]
fn comparisons_min_max_and_branches_are_exact() {
    let when = |cond: &str| {
        let body = format!("rule X \"x\" {{\n  cite \"c\"\n  for household\n  when {cond}\n  then eligible temporary_assistance\n}}\n");
        let e = engine(&body);
        let h = fupin::model::parse_household(HOUSEHOLD, Some(as_of())).expect("household");
        e.assess(&h, as_of()).unwrap_or_else(|err| panic!("{cond}: {}", err.render(&e.program().sources))).programs["temporary_assistance"]
            .eligible
    };
    // 3000 / 9000 = 1/3
    assert!(when("household.income / 9000 * 3 == 1"));
    assert!(when("household.income / 9000 < 0.3333333333333333333333333334"));
    assert!(when("household.income / 9000 > 0.3333333333333333333333333333"));
    assert!(!when("household.income / 9000 == 0.3333333333333333333333333333"));
    assert!(when("min(household.income / 9000, 1) * 3 == 1"));
    assert!(when("max(household.income / 9000, 0) + household.income / 4500 == 1"));
    assert!(when("clamp(household.income / 9000, 0, 1) * 6 == 2"));
    assert!(when("abs(0 - household.income / 9000) * 3 == 1"));
    assert!(when("(if household.size > 1 then household.income / 9000 else 0) * 3 == 1"));
    assert_eq!(amount(&one_off("min(yuan(household.income) / 9000, 0)"), "temporary_assistance"), Some(dec("0")));
}

#[test]
fn a_half_fen_through_monthly_rounds_up() {
    // monthly(3000.1) = 250.00833…; × 3 = 750.025 exactly → 750.03 (rounded to 28 digits first it was 750.02)
    let body = "rule X \"x\" {\n  cite \"c\"\n  for household\n  then amount temporary_assistance = round(yuan(monthly(household.income + 0.1) * 3), fen, half_up)\n}\n";
    assert_eq!(amount(body, "temporary_assistance"), Some(dec("750.03")));
    // yearly(monthly(x)) is x
    let body = "rule X \"x\" {\n  cite \"c\"\n  for household\n  when yearly(monthly(household.income + 0.1)) == household.income + 0.1\n  then eligible temporary_assistance\n}\n";
    let e = engine(body);
    let h = fupin::model::parse_household(HOUSEHOLD, Some(as_of())).expect("household");
    assert!(e.assess(&h, as_of()).expect("assess").programs["temporary_assistance"].eligible);
}

#[test]
fn interest_and_bands_are_exact() {
    // 3000 × 10% × 7 days / 360 = 35/6 = 5.8333… → 5.83; × 6 = 35 exactly
    let body = one_off("round(yuan(interest(yuan(household.income), 10%, date(2018, 1, 1), date(2018, 1, 8))), fen, half_up)");
    assert_eq!(amount(&body, "temporary_assistance"), Some(dec("5.83")));
    let body = one_off("yuan(interest(yuan(household.income), 10%, date(2018, 1, 1), date(2018, 1, 8))) * 6");
    assert_eq!(amount(&body, "temporary_assistance"), Some(dec("35")));
}

#[test]
fn int_conversions_at_the_edge_of_the_decimal_range() {
    let huge = |mu: &str| HOUSEHOLD.replace("\"income\": 3000,", &format!("\"income\": 3000, \"forest_mu\": \"{mu}\","));
    // rounding up the largest decimal with a fraction fits: one more in the last place
    let e = engine("rule INT \"int\" {\n  cite \"c\"\n  for household\n  when int(household.forest_mu, up) == 7922816251426433759354395034\n  then eligible temporary_assistance\n}\n");
    let h = fupin::model::parse_household(&huge("7922816251426433759354395033.5"), Some(as_of())).expect("household");
    assert!(e.assess(&h, as_of()).expect("assess").programs["temporary_assistance"].eligible);
    // a product beyond the range overflows at the product, inside int(…)
    let body = "rule INT \"int\" {\n  cite \"c\"\n  for household\n  when int(household.forest_mu * 10, half_up) > 0\n  then eligible temporary_assistance\n}\n";
    let (err, rendered) = fails(body, &huge("79228162514264337593543950335"));
    assert!(matches!(err, EvalError::Overflow { .. }), "{err:?}");
    assert_points_at(&rendered, "arithmetic overflow", 4, "household.forest_mu * 10");
    // a whole number too large for a year is out of range at the date, not truncated
    let body = "rule INT \"int\" {\n  cite \"c\"\n  for household\n  when as_of > date(int(household.forest_mu, down), 1, 1)\n  then eligible temporary_assistance\n}\n";
    let (err, rendered) = fails(body, &huge("79228162514264337593543950.5"));
    assert!(matches!(err, EvalError::DateOutOfRange { .. }), "{err:?}");
    assert_points_at(&rendered, "date out of range", 4, "date(int(household.forest_mu, down), 1, 1)");
}

/// A sum with zero is exact at the larger scale: a tally, a programme's
/// total of layer payments and a sum in an expression that adds `0.00` to
/// a whole number are all representable, so none is an error.
#[test]
fn adding_a_zero_of_larger_scale_is_exact() {
    let body = "tally probe_cost: yuan per member per year\n\
rule X \"x\" {\n  cite \"c\"\n  for each claim c\n  then tally probe_cost += c.in_policy_cost\n}\n";
    let household = r#"{
  "id": "h-zero", "region": "130131", "income": 3000,
  "members": [
    { "id": "m1", "birth_date": "1960-05-01", "sex": "male", "claims": [
      { "id": "c1", "date": "2018-03-01", "kind": "outpatient", "hospital_level": "township", "in_county": true,
        "designated": true, "total_cost": "5", "in_policy_cost": "5", "essential_medicine_cost": "0", "category": "general" },
      { "id": "c2", "date": "2018-04-01", "kind": "outpatient", "hospital_level": "township", "in_county": true,
        "designated": true, "total_cost": "0.00", "in_policy_cost": "0.00", "essential_medicine_cost": "0", "category": "general" }
    ] }
  ]
}"#;
    let e = engine(body);
    let h = fupin::model::parse_household(household, Some(as_of())).expect("household");
    e.assess(&h, as_of()).unwrap_or_else(|err| panic!("{}", err.render(&e.program().sources)));
    // in an expression: 3000 + 0.00 is 3000.00, on every tier
    assert_eq!(amount(&one_off("yuan(household.income) + 0.00"), "temporary_assistance").map(|d| d.to_string()), Some("3000.00".into()));
    assert_eq!(amount(&one_off("0.00 + yuan(household.income)"), "temporary_assistance").map(|d| d.to_string()), Some("3000.00".into()));
    assert_eq!(amount(&one_off("yuan(household.income) - 0.00"), "temporary_assistance").map(|d| d.to_string()), Some("3000.00".into()));
}
