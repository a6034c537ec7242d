//! Household JSON: the bad-input corpus and the shipped examples.
//!
//! `tests/bad-households/NAME.json` is a broken household; its sibling
//! `NAME.expected` holds the exact `HouseholdError` Display text (one line)
//! that `parse_household_bytes` must give with the assessment date 2018-06-01
//! (files are read as bytes: a byte order mark or invalid UTF-8 is a case too).
//!
//! To regenerate the `.expected` files after a deliberate change of messages,
//! run `FUPIN_BLESS=1 cargo test --test households` and review the diff.

use chrono::NaiveDate;
use fupin::model::{parse_household, parse_household_bytes, validate};
use std::fs;
use std::path::{Path, PathBuf};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn bad_households_give_the_expected_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-households");
    let bless = std::env::var("FUPIN_BLESS").is_ok_and(|v| v == "1");
    let as_of = Some(date("2018-06-01"));
    let files = json_files(&dir);
    assert!(files.len() >= 22, "expected at least 22 bad households, found {}", files.len());

    let mut failures = Vec::new();
    for file in &files {
        let bytes = fs::read(file).expect("read bad household");
        let actual = match parse_household_bytes(&bytes, as_of) {
            Ok(_) => "OK (no error)".to_string(),
            Err(e) => e.to_string(),
        };
        let expected_path = file.with_extension("expected");
        if bless {
            fs::write(&expected_path, format!("{actual}\n")).expect("write .expected");
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        if expected.trim_end() != actual {
            failures.push(format!("{}\n  expected: {}\n  actual:   {actual}", file.display(), expected.trim_end()));
        }
    }
    assert!(failures.is_empty(), "{} mismatches (bless with FUPIN_BLESS=1):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_example_household_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/households");
    let files = json_files(&dir);
    assert!(files.len() >= 6, "expected at least 6 example households, found {}", files.len());
    for file in &files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        // 三明's document is the 2020 work plan; the others are assessed mid-2018.
        let as_of = date(if name.starts_with("sanming") { "2020-06-01" } else { "2018-06-01" });
        let text = fs::read_to_string(file).expect("read example");
        let h = parse_household(&text, Some(as_of)).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(validate(&h, Some(as_of)), Ok(()), "{}", file.display());
        // Round trip: what we write we read back identically.
        let again = serde_json::to_string(&h).expect("serialize");
        assert_eq!(parse_household(&again, Some(as_of)).as_ref(), Ok(&h), "{}", file.display());
    }
}

#[test]
fn the_main_job_household_is_as_documented() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/households/pingshan-dibao.json");
    let h = parse_household(&fs::read_to_string(path).expect("read"), Some(date("2018-06-01"))).expect("parse");
    assert_eq!(h.region, "130131");
    assert_eq!(h.members.len(), 3);
    // 低保 补差 under a 4,400 yuan/person/year standard is positive.
    let standard = rust_decimal::Decimal::from(4400 * 3);
    assert!(h.income < standard);
}

/// A household with `members` members, each with `claims` claims, as JSON.
fn big_household(members: usize, claims: usize, birth: &str) -> String {
    let claim = r#"{"date": "2018-03-01", "kind": "inpatient", "hospital_level": "county", "total_cost": "1000", "in_policy_cost": "800"}"#;
    let claims = vec![claim; claims].join(",");
    let list: Vec<String> =
        (0..members).map(|i| format!(r#"{{"id": "m{i}", "birth_date": "{birth}", "sex": "male", "claims": [{claims}]}}"#)).collect();
    format!(r#"{{"id": "h", "region": "130131", "income": "1000", "members": [{}]}}"#, list.join(",\n"))
}

#[test]
fn twenty_thousand_claims_each_in_error_are_checked_in_linear_time() {
    // Born after every claim: 20,000 errors; the first in the text is reported, with its position.
    let text = big_household(1, 20_000, "2018-04-01");
    let err = parse_household(&text, Some(date("2018-06-01"))).expect_err("an error");
    assert_eq!(err.path, "members[0].claims[0].date");
    assert!(err.message.contains("before the member's birth date"), "{err}");
    assert_eq!(err.line, 1);
}

#[test]
fn a_duplicate_member_id_among_ten_thousand_is_found() {
    let mut text = big_household(10_000, 0, "1960-01-01");
    text = text.replacen(r#""id": "m9999""#, r#""id": "m17""#, 1);
    let err = parse_household(&text, None).expect_err("an error");
    assert_eq!(err.path, "members[9999].id");
    assert!(err.message.starts_with(r#"duplicate member id "m17" (also members[17].id)"#), "{err}");
    assert_eq!(err.line, 10_000);
    // At the cap, a household without problems is accepted.
    assert!(parse_household(&big_household(10_000, 0, "1960-01-01"), None).is_ok());
}

#[test]
fn households_over_the_caps_are_rejected_with_the_path() {
    let err = parse_household(&big_household(100_000, 0, "1960-01-01"), None).expect_err("an error");
    assert_eq!((err.path.as_str(), err.line, err.column), ("members", 1, 62));
    assert!(err.message.starts_with("too many members: 100000 (the limit is 10000)"), "{err}");

    let err = parse_household(&big_household(2, 50_001, "1960-01-01"), None).expect_err("an error");
    assert_eq!(err.path, "members[1].claims");
    assert!(err.message.starts_with("too many medical claims: 100002 in the household (the limit is 100000"), "{err}");

    let loan = r#"{"kind": "microcredit", "principal": 1, "start_date": "2018-01-01", "maturity_date": "2019-01-01", "rate": 0.04}"#;
    let text = big_household(1, 0, "1960-01-01").replacen(
        r#""members""#,
        &format!(r#""loans": [{}], "members""#, vec![loan; 10_001].join(",")),
        1,
    );
    let err = parse_household(&text, None).expect_err("an error");
    assert_eq!(err.path, "loans");
    assert!(err.message.starts_with("too many loans: 10001 (the limit is 10000)"), "{err}");
}
