//! Catalogue coverage of the shipped policy library (see `fupin::coverage`
//! for the definitions of "encoded" and "tested").

use fupin::coverage::{self, Status};

/// The documents whose coverage this test enforces, by catalogue prefix: all five.
// ---------------------------------------------------------------------------
const CHECKED: &[&str] = &["SJZ", "LN", "HH", "SM", "HB"];
// ---------------------------------------------------------------------------

fn catalogue() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/catalogue.tsv");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn catalogue_coverage() {
    let engine = fupin::Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let report = coverage::report(&engine, &catalogue());
    println!("{}", report.render());
    assert!(report.problems.is_empty(), "catalogue problems: {:#?}", report.problems);

    // Every H/M/C/L/E id of a checked document must be encoded and tested both
    // ways; every V/A id of a checked document must at least be encoded.
    let missing: Vec<&str> =
        report.for_documents(CHECKED).filter(|e| e.household_level && e.status == Status::Missing).map(|e| e.id.as_str()).collect();
    let untested: Vec<&str> = report.for_documents(CHECKED).filter(|e| e.status == Status::EncodedOnly).map(|e| e.id.as_str()).collect();
    let missing_metadata: Vec<&str> =
        report.for_documents(CHECKED).filter(|e| !e.household_level && e.status == Status::Missing).map(|e| e.id.as_str()).collect();
    assert!(missing.is_empty(), "H/M/C/L/E ids not encoded ({CHECKED:?}): {missing:?}");
    assert!(untested.is_empty(), "ids encoded but not tested both ways ({CHECKED:?}): {untested:?}");
    assert!(missing_metadata.is_empty(), "V/A ids without an indicator ({CHECKED:?}): {missing_metadata:?}");
}

#[test]
fn every_catalogue_id_is_reported_once() {
    let engine = fupin::Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let report = coverage::report(&engine, &catalogue());
    let mut ids: Vec<&str> = report.entries.iter().map(|e| e.id.as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    // 19 石家庄 + 20 辽宁 + 3 怀化 + 16 三明 + 19 鹤壁
    assert_eq!(n, 77);
}

#[test]
fn tested_means_a_positive_and_a_negative_expectation() {
    // A one-rule library with one positive test only: encoded, not tested.
    let policy = r#"
        policy t { title "t" region 000000 in_force 2000-01-01 .. version "1" }
        rule XX-1a "r" { cite "c" for household when household.income < 100 then eligible dibao }
        indicator XX-2 "i" { cite "c" }
        test "pos" {
          household { "id": "h", "region": "110000", "income": "1",
                      "members": [{"id": "a", "birth_date": "1950-01-01", "sex": "male"}] }
          as_of 2020-01-01
          expect dibao.reasons contains XX-1a
          expect tekun.reasons lacks XX-1a
        }
    "#;
    let catalogue = "id\tdocument\tclause\tsubject\nXX-1\td\t一\tH\nXX-2\td\t二\tA\nXX-3\td\t三\tM\n";
    let engine = fupin::Engine::builder().source("t.policy", policy).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let r = coverage::report(&engine, catalogue);
    let status: Vec<(&str, Status)> = r.entries.iter().map(|e| (e.id.as_str(), e.status)).collect();
    // `lacks` on a programme the rule does not output does not count as a negative test
    assert_eq!(status, vec![("XX-1", Status::EncodedOnly), ("XX-2", Status::Tested), ("XX-3", Status::Missing)]);
    assert_eq!(r.missing_household_level().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["XX-3"]);

    let with_negative = policy.replace("expect tekun.reasons lacks XX-1a", "expect dibao.eligible == false");
    let engine = fupin::Engine::builder().source("t.policy", with_negative).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let r = coverage::report(&engine, catalogue);
    assert_eq!(r.entries[0].status, Status::Tested);
}

#[test]
fn suffixed_rule_ids_encode_their_catalogue_id() {
    assert!(coverage::encodes("HB-9", "HB-9"));
    assert!(coverage::encodes("HB-9a", "HB-9"));
    assert!(coverage::encodes("HB-9ab", "HB-9"));
    assert!(!coverage::encodes("HB-90", "HB-9"));
    assert!(!coverage::encodes("SJZ-10", "SJZ-1"));
    assert!(!coverage::encodes("HB-9-a", "HB-9"));
    assert!(!coverage::encodes("HB-9A", "HB-9"));
}
