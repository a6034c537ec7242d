//! Standalone test files (no `policy` header) are parsed when their tests are
//! first asked for, not when an engine is built: a service that only
//! assesses never pays for them. Their errors are not lost: `Engine::tests`
//! returns them, `fupin check` and `fupin test` report them and fail, the
//! test runner reports each as a failed result, and a build that fails for
//! another reason lists them with the rest.

use fupin::{Engine, EngineBuilder};
use std::process::Command;

const POLICY: &str = r#"policy t.standalone {
  title    "standalone tests"
  region   990900
  in_force 2018-01-01 ..
  version  "1"
  extends  cn
}
"#;

const GOOD: &str = r#"// tests of t.standalone
test "a registered household is assessed" {
  household { "id": "h", "region": "990901", "income": "0", "members": [{"id": "m", "birth_date": "1970-01-01", "sex": "male", "relation": "head"}] }
  as_of 2018-06-01
  expect dibao.eligible == false
}
"#;

const BROKEN: &str = r#"test "an expectation cut short" {
  household { "id": "h", "region": "990901", "income": "0", "members": [] }
  as_of 2018-06-01
  expect dibao.eligible ==
}
"#;

const RULE_WITHOUT_HEADER: &str = r#"test "fine" {
  household { "id": "h", "region": "990901", "income": "0", "members": [] }
  as_of 2018-06-01
}
rule X-1 "a rule in a test file" {
  cite "x"
  when true
  then eligible dibao
}
"#;

fn engine(tests: &str) -> Engine {
    EngineBuilder::default()
        .embedded()
        .source("t/policy.policy", POLICY)
        .source("t/tests.policy", tests)
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()))
}

#[test]
fn a_standalone_test_file_is_parsed_when_its_tests_are_asked_for() {
    let e = engine(GOOD);
    let tests = e.tests().unwrap_or_else(|d| panic!("{}", d.render()));
    let mine: Vec<&str> = tests
        .iter()
        .filter(|(f, _)| e.program().sources.get(*f).is_some_and(|s| s.name == "t/tests.policy"))
        .map(|(_, t)| t.name.value.as_str())
        .collect();
    assert_eq!(mine, ["a registered household is assessed"]);
    let results = fupin::testing::run_matching(&e, |name| name == "t/tests.policy");
    assert_eq!(results.len(), 1);
    assert!(results[0].passed(), "{:?}", results[0].failures);
}

#[test]
fn a_broken_test_file_does_not_stop_assessment_but_its_errors_are_reported() {
    let e = engine(BROKEN);
    // the engine assesses
    let h = e
        .parse_household(r#"{"id": "h", "region": "990901", "income": "0", "members": [{"id": "m", "birth_date": "1970-01-01", "sex": "male", "relation": "head"}]}"#, None)
        .unwrap_or_else(|err| panic!("{err}"));
    let date = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).unwrap_or_default();
    assert!(e.assess(&h, date).is_ok());
    // its tests are an error, located
    let d = e.tests().err().map(|d| d.render()).unwrap_or_default();
    assert!(d.contains("t/tests.policy:5:"), "{d}");
    // the runner reports a failed result naming the file, not zero tests
    let results = fupin::testing::run_matching(&e, |name| name == "t/tests.policy");
    assert_eq!(results.len(), 1, "{:?}", results.iter().map(|r| &r.failures).collect::<Vec<_>>());
    assert!(!results[0].passed());
    assert!(results[0].location.starts_with("t/tests.policy:5:"), "{}", results[0].location);
    assert!(results[0].failures[0].contains("the test file cannot be read"), "{:?}", results[0].failures);
}

#[test]
fn a_rule_in_a_standalone_test_file_is_an_error_of_its_tests() {
    let e = engine(RULE_WITHOUT_HEADER);
    let d = e.tests().err().map(|d| d.render()).unwrap_or_default();
    assert!(d.contains("t/tests.policy:5:"), "{d}");
}

#[test]
fn a_failed_build_lists_the_test_files_errors_too() {
    let broken_policy = POLICY.replace("version  \"1\"", "version  \"1\"\n  bogus 1");
    let d = EngineBuilder::default()
        .embedded()
        .source("t/policy.policy", broken_policy)
        .source("t/tests.policy", BROKEN)
        .build()
        .err()
        .map(|d| d.render())
        .unwrap_or_default();
    assert!(d.contains("t/policy.policy:"), "{d}");
    assert!(d.contains("t/tests.policy:5:"), "{d}");
}

#[test]
fn check_and_test_fail_on_a_broken_test_file() {
    let dir = std::env::temp_dir().join(format!("fupin-standalone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("policy.policy"), POLICY).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("tests.policy"), BROKEN).unwrap_or_else(|e| panic!("{e}"));
    for cmd in ["check", "test"] {
        let out = Command::new(env!("CARGO_BIN_EXE_fupin")).arg(cmd).arg(&dir).output().unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "fupin {cmd}: {text}");
        assert!(text.contains("tests.policy:5:"), "fupin {cmd}: {text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_shipped_tests_are_all_found() {
    let e = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let n = e.tests().map(|t| t.len()).unwrap_or_else(|d| panic!("{}", d.render()));
    let written: usize = fupin::policy::embedded().iter().map(|(_, text)| text.lines().filter(|l| l.starts_with("test \"")).count()).sum();
    assert_eq!(n, written);
}
