//! `fupin test` itself: deliberately failing tests under
//! `tests/cases/testing/` and the runner's exact output (expected vs actual,
//! the trace of the rules that produced the value, the closing line).
//! `FUPIN_BLESS=1 cargo test --test testing` rewrites `runner.expected`.

use fupin::testing;
use fupin::Engine;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fupin_test(args: &[&str]) -> (i32, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_fupin")).arg("test").args(args).current_dir(root()).output().unwrap_or_else(|e| panic!("{e}"));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn runner_output_matches_the_expected_text() {
    let (code, out) = fupin_test(&["tests/cases/testing/"]);
    let exp = root().join("tests/cases/testing/runner.expected");
    if std::env::var("FUPIN_BLESS").is_ok() {
        std::fs::write(&exp, &out).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.lines().last(), Some("3 passed, 7 failed"));
    let want = std::fs::read_to_string(&exp).unwrap_or_default();
    assert_eq!(out, want);
}

#[test]
fn failures_show_expected_actual_and_the_producing_rule_trace() {
    let (_, out) = fupin_test(&["tests/cases/testing/runner.fupintest", "tests/cases/testing/runner.policy"]);
    let block = |name: &str| -> String {
        let start = out.find(&format!("FAILED {name}")).unwrap_or_else(|| panic!("no failure `{name}` in:\n{out}"));
        let rest = &out[start..];
        let end = rest[1..].find("\nFAILED ").or_else(|| rest[1..].find("\nok ")).map_or(rest.len(), |i| i + 2);
        rest[..end].to_string()
    };
    let amount = block("fails: the amount");
    assert!(amount.contains("runner.fupintest:45:3: test.allowance.amount: expected 2000, got 2400.00\n"), "{amount}");
    // the rule that wrote the amount, with its values and the parameter it read
    assert!(
        amount.contains("      | param allowance_rate on 2019-06-01 = 1200.00 yuan/year  [test.runner, runner §1 (2019)]\n"),
        "{amount}"
    );
    assert!(amount.contains("      | fired   RUN-2 for household  [runner §2]\n      |     total = 2400.00 yuan/year\n"), "{amount}");
    // the rule's own entry names the figure it read, with its date and citation
    assert!(
        amount.contains(
            "      |     amount test.allowance = 2400.00 yuan\n      |     param allowance_rate on 2019-06-01 = 1200.00 yuan/year  [test.runner, runner §1 (2019)]\n"
        ),
        "{amount}"
    );
    // not the whole trace: rules of other programmes are left out
    assert!(!amount.contains("RUN-3") && !amount.contains("RUN-6") && !amount.contains("CN-MON-1"), "{amount}");

    let claim = block("fails: a claim layer and its reasons");
    assert!(
        claim.contains("claims[0].basic: expected 500, got 400.00\n      | fired   RUN-4 for claim c1 of member grandma  [runner §4]\n"),
        "{claim}"
    );
    assert!(claim.contains("claims[0].reasons: expected lacks RUN-4, got [RUN-4]"), "{claim}");
    assert!(claim.contains("claims[1]: the household has only 1 claim(s)\n"), "{claim}");

    let eligibility = block("fails: eligibility and reasons");
    assert!(
        eligibility.contains("test.allowance.eligible: expected true, got false\n      | skipped RUN-1 for member a  [runner §1]"),
        "{eligibility}"
    );
    assert!(!eligibility.contains("lacks RUN-2"), "a passing expectation is reported: {eligibility}");

    let misc = block("fails: unit, flag, value and an unknown programme");
    for want in [
        "test.allowance.unit: expected \"yuan/year\", got \"yuan\"",
        "test.inspection.flag: expected false, got true",
        "test.route.value: expected \"monitoring\", got \"relocation\"",
        "test.nothing: no such programme",
    ] {
        assert!(misc.contains(want), "{want}\n{misc}");
    }
    assert!(
        block("fails: an error was expected").contains("expected an error containing \"oldest_income_cap\", but the assessment succeeded")
    );
    assert!(block("fails: the wrong error")
        .contains("expected an error containing \"allowance_rate\", got: test.inspection: parameter `oldest_income_cap`"));
    let setup = block("fails: a missing household file and an unknown parameter");
    assert!(setup.contains("cannot read household tests/cases/testing/no-such-household.json"), "{setup}");
    assert!(setup.contains("`set no_such_parameter`: no such parameter"), "{setup}");
    assert_eq!(out.lines().last(), Some("3 passed, 7 failed"));
}

#[test]
fn a_passing_file_exits_zero_and_runs_only_its_own_tests() {
    let (code, out) = fupin_test(&["policies/tests/shijiazhuang.policy"]);
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    assert!(out.lines().filter(|l| l.starts_with("ok ")).all(|l| l.contains("policies/tests/shijiazhuang.policy")), "{out}");
}

#[test]
fn the_library_reports_failures_with_locations_and_traces() {
    let engine = Engine::builder()
        .embedded()
        .path(root().join("tests/cases/testing"))
        .unwrap_or_else(|e| panic!("{e}"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let results = testing::run_matching(&engine, |name| name.ends_with("runner.fupintest"));
    assert_eq!(results.len(), 10);
    assert_eq!(results.iter().filter(|r| r.passed()).count(), 3);
    let amount = results.iter().find(|r| r.name == "fails: the amount").unwrap_or_else(|| panic!("missing test"));
    assert_eq!(amount.failures, ["test.allowance.amount: expected 2000, got 2400.00"]);
    let d = &amount.details[0];
    assert!(d.location.as_deref().is_some_and(|l| l.ends_with("runner.fupintest:45:3")), "{d:?}");
    assert!(d.trace.iter().any(|l| l == "    amount test.allowance = 2400.00 yuan"), "{:?}", d.trace);
}

/// A test's `set` is typed against the parameter: `set rate = 75` (7500%)
/// and `set whole = 1.5` are failures that say why, not silent figures.
#[test]
fn a_tests_set_is_typed_against_the_parameter() {
    let policy = r#"
policy test.settyped { title "typed set" region 990800 in_force 2016-01-01 .. version "1" extends cn }
program test.x "x": yuan
param share: rate { cite "t" always: 35% }
param months: int { cite "t" always: 12 }
param base: yuan { cite "t" always: 1000 }
rule ST-1 "x" { cite "t" for household then amount test.x = base * share * months }
test "a rate set without %" {
  household { "id": "s1", "region": "990801", "hukou": "rural", "income": "0", "members": [{"id": "a", "birth_date": "1960-01-01", "sex": "male"}] }
  as_of 2018-06-01
  set share = 75
  expect test.x.amount == 9000
}
test "a fraction for an int" {
  household { "id": "s2", "region": "990801", "hukou": "rural", "income": "0", "members": [{"id": "a", "birth_date": "1960-01-01", "sex": "male"}] }
  as_of 2018-06-01
  set months = 1.5
  expect test.x.amount == 525
}
test "well typed" {
  household { "id": "s3", "region": "990801", "hukou": "rural", "income": "0", "members": [{"id": "a", "birth_date": "1960-01-01", "sex": "male"}] }
  as_of 2018-06-01
  set share = 75%
  set months = 2
  expect test.x.amount == 1500
}
"#;
    let engine = Engine::builder().embedded().source("settyped.policy", policy).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let results: Vec<_> = testing::run_all(&engine).into_iter().filter(|r| r.location.starts_with("settyped.policy")).collect();
    assert_eq!(results.len(), 3);
    let failures = |name: &str| results.iter().find(|r| r.name == name).map(|r| r.failures.join("\n")).unwrap_or_default();
    assert!(
        failures("a rate set without %").contains("`set share`: the parameter is rate, and `75`: a rate is written with `%`: `75%`"),
        "{}",
        failures("a rate set without %")
    );
    assert!(failures("a fraction for an int").contains("`set months`: the parameter is int, and `1.5`: `1.5` is not a whole number"));
    assert!(results.iter().find(|r| r.name == "well typed").is_some_and(|r| r.passed()), "{}", failures("well typed"));
}
