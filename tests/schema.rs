//! The household JSON Schema (`fupin schema`, `Engine::household_schema`),
//! checked with a real JSON Schema validator: every example household and
//! every household of the shipped tests (and of the declared-facts tests) that
//! the reader accepts is valid; structural errors the reader rejects (unknown
//! fields, wrong types, undeclared facts) are invalid too.

use fupin::syntax::ast::TestEntry;
use fupin::Engine;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn validator(schema: &serde_json::Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(schema).unwrap_or_else(|e| panic!("the emitted schema is not a valid 2020-12 schema: {e}"))
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn problems(v: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path)).collect()
}

#[test]
fn the_schema_is_draft_2020_12_and_lists_the_core_model() {
    let e = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let s = e.household_schema(None, None);
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["additionalProperties"], false, "unknown fields are rejected");
    for field in ["id", "region", "income", "members", "loans", "facts"] {
        assert!(s["properties"][field].is_object(), "no property {field}");
    }
    assert!(s["$defs"]["Member"]["properties"]["birth_date"]["pattern"].is_string());
    validator(&s);
}

#[test]
fn every_example_household_is_valid() {
    let e = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let v = validator(&e.household_schema(None, None));
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("examples/households")).unwrap_or_else(|e| panic!("{e}")).flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_else(|e| panic!("{e}"));
        let p = problems(&v, &json(&text));
        assert!(p.is_empty(), "{}: {p:?}", entry.path().display());
        n += 1;
    }
    assert!(n >= 8, "only {n} examples");
}

/// Every (household text, as_of) of the tests of an engine.
fn test_households(e: &Engine) -> Vec<(String, String, Option<chrono::NaiveDate>)> {
    let mut out = Vec::new();
    for (file, t) in e.tests().unwrap_or_else(|d| panic!("{}", d.render())) {
        let mut text = None;
        let mut as_of = None;
        for entry in &t.entries {
            match entry {
                TestEntry::HouseholdInline(s) => text = Some(s.value.clone()),
                TestEntry::HouseholdFile(s) => {
                    let name = e.program().sources.get(*file).map(|f| f.name.clone()).unwrap_or_default();
                    let dir = Path::new(&name).parent().map(Path::to_path_buf).unwrap_or_default();
                    text = std::fs::read_to_string(root().join(dir).join(&s.value)).ok();
                    assert!(text.is_some(), "test {:?}: cannot read {}", t.name.value, s.value);
                }
                TestEntry::AsOf(d) => as_of = Some(d.value),
                _ => {}
            }
        }
        if let Some(text) = text {
            out.push((t.name.value.clone(), text, as_of));
        }
    }
    out
}

#[test]
fn every_household_the_shipped_tests_read_is_valid() {
    let b = Engine::builder().embedded().path(root().join("policies/tests")).unwrap_or_else(|e| panic!("{e}"));
    let e = b.build().unwrap_or_else(|d| panic!("{}", d.render()));
    let mut checked = 0;
    for (name, text, as_of) in test_households(&e) {
        let Ok(h) = e.parse_household(&text, as_of) else { continue };
        let v = validator(&e.household_schema(Some(&h.region), as_of));
        let p = problems(&v, &json(&text));
        assert!(p.is_empty(), "test {name:?}: {p:?}");
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} test households");
}

#[test]
fn declared_facts_are_in_the_schema_and_checked_by_it() {
    let e = Engine::builder()
        .embedded()
        .source("facts.policy", include_str!("cases/lang/facts.policy"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let here = e.household_schema(Some("990401"), None);
    let year = &here["$defs"]["Member"]["properties"]["facts"]["properties"]["study_year"];
    assert_eq!(year["type"], "integer");
    assert_eq!(year["title"], "在读年级");
    assert_eq!(
        here["$defs"]["Member"]["properties"]["facts"]["properties"]["higher_level"]["enum"],
        serde_json::json!(["undergraduate", "junior_college", "postgraduate"])
    );
    assert_eq!(here["properties"]["facts"]["required"], serde_json::json!(["demolition_agreed"]));
    // elsewhere the county's facts are not in the schema
    let elsewhere = e.household_schema(Some("130131"), None);
    assert_eq!(elsewhere["properties"]["facts"]["properties"], serde_json::json!({}));

    let v = validator(&here);
    let mut accepted = 0;
    let mut rejected = 0;
    for (name, text, as_of) in test_households(&e) {
        let doc = json(&text);
        if doc["region"] != "990401" {
            continue;
        }
        match e.parse_household(&text, as_of) {
            Ok(_) => {
                assert!(problems(&v, &doc).is_empty(), "{name}: {:?}", problems(&v, &doc));
                accepted += 1;
            }
            Err(err) => {
                // every fact error the reader reports is structural: the schema sees it too
                assert!(!problems(&v, &doc).is_empty(), "{name}: the reader says {err}, the schema accepts it");
                rejected += 1;
            }
        }
    }
    assert_eq!((accepted, rejected), (2, 4), "the six households of tests/cases/lang/facts.policy");
}

#[test]
fn households_with_unknown_fields_are_invalid() {
    let e = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let v = validator(&e.household_schema(None, None));
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("tests/bad-households")).unwrap_or_else(|e| panic!("{e}")).flatten() {
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !(name.starts_with("unknown-field") || name.starts_with("missing-")) || !name.ends_with(".json") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(!problems(&v, &json(&text)).is_empty(), "{name} is valid under the schema");
        n += 1;
    }
    assert!(n >= 5, "only {n} cases");
}

/// `docs/household.md` holds the core model's field tables between these
/// markers, generated from the schema; `FUPIN_BLESS=1` rewrites them.
const BEGIN: &str = "<!-- fields: generated by fupin::model::reference_markdown; FUPIN_BLESS=1 cargo test --test schema -->\n";
const END: &str = "<!-- end of generated fields -->\n";

#[test]
fn docs_household_md_lists_the_model_as_the_schema_does() {
    let path = root().join("docs/household.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let start = doc.find(BEGIN).map(|i| i + BEGIN.len()).unwrap_or_else(|| panic!("no {BEGIN} in docs/household.md"));
    let end = doc[start..].find(END).map(|i| start + i).unwrap_or_else(|| panic!("no {END} in docs/household.md"));
    let want = fupin::model::reference_markdown();
    if std::env::var("FUPIN_BLESS").is_ok() {
        let new = format!("{}{}{}", &doc[..start], want, &doc[end..]);
        std::fs::write(&path, new).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    assert!(
        doc[start..end] == want,
        "docs/household.md is out of date with the model: run FUPIN_BLESS=1 cargo test --release --test schema"
    );
}

#[test]
fn fupin_schema_prints_the_schema_and_refuses_a_bad_region() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fupin"))
        .args(["schema", "--region", "130131", "--as-of", "2018-06-01"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fupin"))
        .args(["schema", "--region", "13013"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a GB/T 2260 region code"));
}
