//! Declared facts through the library: a service sets them with typed values,
//! declarations in several policies must agree, a policy reads only facts it
//! (or a policy it extends) declares, household JSON errors name the fact's
//! path, line and column, and texts a household carries compare by content.

use chrono::NaiveDate;
use fupin::model::{FactValue, Household};
use fupin::Engine;
use rust_decimal::Decimal;

const FACTS: &str = include_str!("cases/lang/facts.policy");

fn engine() -> Engine {
    Engine::builder().embedded().source("facts.policy", FACTS).build().unwrap_or_else(|d| panic!("{}", d.render()))
}

fn on() -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 6, 1).expect("date")
}

/// A household of region 990401 with one member and one claim, no facts.
fn household(e: &Engine) -> Household {
    let json = r#"{
      "id": "f", "region": "990401", "income": "0",
      "members": [ {"id": "a", "birth_date": "2002-03-01", "sex": "male",
                    "claims": [ {"date": "2018-03-01", "kind": "outpatient", "hospital_level": "county",
                                 "total_cost": "100", "in_policy_cost": "80"} ]} ]
    }"#;
    // the engine's reader checks declared facts too: a required one is missing here
    let err = e.parse_household(json, Some(on())).expect_err("demolition_agreed is required");
    assert_eq!(err.path, "facts");
    fupin::model::parse_household(json, Some(on())).unwrap_or_else(|e| panic!("{e}"))
}

fn amount(e: &Engine, h: &Household, program: &str) -> Option<Decimal> {
    let a = e.assess(h, on()).unwrap_or_else(|err| panic!("{err}"));
    a.programs.get(program).and_then(|p| p.amount)
}

#[test]
fn a_service_sets_declared_facts_with_typed_values() {
    let e = engine();
    let mut h = household(&e);
    let agreed = e.fact("household.demolition_agreed").unwrap_or_else(|err| panic!("{err}"));
    h.facts.set(agreed, true).unwrap_or_else(|err| panic!("{err}"));
    let year = e.fact("member.study_year").unwrap_or_else(|err| panic!("{err}"));
    h.members[0].facts.set(year, 2).unwrap_or_else(|err| panic!("{err}"));
    let level = e.fact("member.higher_level").unwrap_or_else(|err| panic!("{err}"));
    h.members[0].facts.set(level, "postgraduate").unwrap_or_else(|err| panic!("{err}"));
    let certs = e.fact("member.certificates").unwrap_or_else(|err| panic!("{err}"));
    h.members[0].facts.set(certs, vec!["skills", "skills", "skills"]).unwrap_or_else(|err| panic!("{err}"));
    let prior = e.fact("claim.prior_paid").unwrap_or_else(|err| panic!("{err}"));
    h.members[0].claims[0].facts.set(prior, Decimal::new(1234, 2)).unwrap_or_else(|err| panic!("{err}"));

    assert_eq!(amount(&e, &h, "test.demolition_reward"), Some(Decimal::from(10_000)));
    assert_eq!(amount(&e, &h, "test.vocational_grant"), Some(Decimal::from(2_000)));
    assert_eq!(amount(&e, &h, "test.tuition_waiver"), Some(Decimal::from(8_000)));
    assert_eq!(amount(&e, &h, "test.certificate_bonus"), Some(Decimal::from(900)));
    assert_eq!(amount(&e, &h, "test.prior_paid_total"), Some(Decimal::new(1234, 2)));

    // the facts survive a JSON round trip
    let json = serde_json::to_string(&h).unwrap_or_else(|err| panic!("{err}"));
    let back = e.parse_household(&json, Some(on())).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(back, h);
}

#[test]
fn a_wrong_type_or_an_undeclared_fact_is_a_typed_error() {
    let e = engine();
    let mut h = household(&e);
    let year = e.fact("member.study_year").unwrap_or_else(|err| panic!("{err}"));
    let err = h.members[0].facts.set(year, "two").expect_err("text for an int");
    assert_eq!(err.to_string(), "fact `member.study_year`: expected int (a whole number), found a string");
    let err = h.members[0].facts.set(year, Decimal::new(15, 1)).expect_err("1.5 is not whole");
    assert!(err.message.contains("1.5 is not a whole number"), "{err}");
    let level = e.fact("member.higher_level").unwrap_or_else(|err| panic!("{err}"));
    let err = h.members[0].facts.set(level, "doctorate").expect_err("no such variant");
    assert!(err.message.contains("one of undergraduate, junior_college, postgraduate"), "{err}");
    assert!(h.members[0].facts.is_empty(), "a refused value is not stored");
    let err = e.fact("member.study_yaer").expect_err("undeclared");
    assert!(err.message.contains("study_year"), "the declared facts are listed: {err}");
    assert!(e.fact("pet.name").is_err());
}

#[test]
fn household_json_errors_in_facts_name_the_path_line_and_column() {
    let e = engine();
    let json = "{\n  \"id\": \"f\", \"region\": \"990401\", \"income\": \"0\",\n  \"facts\": { \"demolition_agreed\": true },\n  \"members\": [ {\"id\": \"a\", \"birth_date\": \"2002-03-01\", \"sex\": \"male\",\n     \"facts\": { \"study_year\": \"two\" }} ]\n}";
    let err = e.parse_household(json, Some(on())).expect_err("a text for an int");
    assert_eq!(err.path, "members[0].facts.study_year");
    assert_eq!((err.line, err.column), (5, 31), "{err}");
    assert!(err.message.contains("expected int"), "{err}");
    // the same household read without the engine, then assessed: the same error, without a position
    let h = fupin::model::parse_household(json, Some(on())).unwrap_or_else(|err| panic!("{err}"));
    let err = e.assess(&h, on()).expect_err("checked at assessment too");
    assert!(err.to_string().contains("members[0].facts.study_year"), "{err}");
}

#[test]
fn a_required_fact_is_required_only_where_a_declaring_policy_is_in_force() {
    let e = engine();
    // a household of another region carries no facts and is assessed as before
    let json = r#"{"id": "o", "region": "130131", "income": "0",
                   "members": [ {"id": "a", "birth_date": "1960-01-01", "sex": "male"}]}"#;
    let h = e.parse_household(json, Some(on())).unwrap_or_else(|err| panic!("{err}"));
    assert!(e.assess(&h, on()).is_ok());
}

const SHARED: &str = r#"
policy test.shared {
  title "a second policy declaring the same facts"
  region 990500
  in_force 2016-01-01 ..
  version "1"
  extends cn
}
enum higher_level "高等教育层次" { undergraduate "本科", junior_college "专科", postgraduate "研究生" }
fact member.higher_level: higher_level { optional }
fact member.study_year: decimal { optional }
"#;

#[test]
fn declarations_of_one_fact_in_two_policies_must_agree() {
    let d = Engine::builder().embedded().source("facts.policy", FACTS).source("shared.policy", SHARED).build().expect_err("types differ");
    let text = d.render();
    assert!(
        text.contains("fact `member.study_year` is declared as optional int by `test.facts` and as optional decimal by `test.shared`"),
        "{text}"
    );
    assert!(!text.contains("higher_level"), "the agreeing declarations are fine: {text}");
    // once they agree, both policies declare the fact
    let agreeing = SHARED.replace("fact member.study_year: decimal { optional }", "fact member.study_year: int { optional }");
    let e = Engine::builder()
        .embedded()
        .source("facts.policy", FACTS)
        .source("shared.policy", agreeing)
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let spec = e.fact("member.study_year").unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(spec.declared_by, vec!["test.facts".to_string(), "test.shared".to_string()]);
}

#[test]
fn enumerations_of_one_name_must_have_the_same_variants() {
    let other = SHARED.replace(", postgraduate \"研究生\"", "").replace("fact member.study_year: decimal { optional }", "");
    let d = Engine::builder().embedded().source("facts.policy", FACTS).source("shared.policy", other).build().expect_err("variants differ");
    assert!(
        d.render().contains("enumeration `higher_level` is declared as { undergraduate, junior_college, postgraduate } by `test.facts` and as { undergraduate, junior_college } by `test.shared`"),
        "{}",
        d.render()
    );
}

#[test]
fn a_policy_reads_only_facts_it_or_a_policy_it_extends_declares() {
    let reader = r#"
policy test.reader {
  title "reads a fact another policy declares"
  region 990600
  in_force 2016-01-01 ..
  version "1"
  extends cn
}
program test.r "r"
rule RD-1 "r" {
  cite "test"
  for each member m
  when present(m.study_year) and m.study_year == 1
  then eligible test.r
}
"#;
    let d =
        Engine::builder().embedded().source("facts.policy", FACTS).source("reader.policy", reader).build().expect_err("not declared here");
    assert!(
        d.render().contains("fact `member.study_year` is declared by `test.facts`, which `test.reader` does not extend"),
        "{}",
        d.render()
    );
    // a policy that extends the declaring one reads it
    let child = reader.replace("region 990600", "region 990401").replace("extends cn", "extends test.facts");
    Engine::builder()
        .embedded()
        .source("facts.policy", FACTS)
        .source("reader.policy", child)
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
}

const TEXTS: &str = r#"
policy test.texts {
  title "texts a household carries compare by content"
  region 990700
  in_force 2016-01-01 ..
  version "1"
  extends cn
}
fact household.village: text
fact member.school_village: text { optional }
program test.local_school "attends school in the home village"
rule TX-1 "r" {
  cite "test"
  for each member m
  when present(m.school_village) and m.school_village == household.village
  then flag test.local_school
}
"#;

#[test]
fn texts_no_policy_string_equals_compare_by_content() {
    let e = Engine::builder().embedded().source("texts.policy", TEXTS).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let h = |home: &str, school: &str| {
        let json = format!(
            r#"{{"id": "t", "region": "990701", "income": "0", "facts": {{"village": "{home}"}},
                "members": [ {{"id": "a", "birth_date": "2010-01-01", "sex": "male", "facts": {{"school_village": "{school}"}}}},
                             {{"id": "b", "birth_date": "2011-01-01", "sex": "male", "facts": {{"school_village": "别村"}}}} ]}}"#
        );
        e.parse_household(&json, Some(on())).unwrap_or_else(|err| panic!("{err}"))
    };
    let flagged = |h: &Household| {
        let a = e.assess(h, on()).unwrap_or_else(|err| panic!("{err}"));
        a.programs.get("test.local_school").map(|p| p.reasons.iter().flat_map(|r| r.subjects.clone()).collect::<Vec<_>>())
    };
    // equal texts that are no string of the program: the first member only
    let got = flagged(&h("石门村", "石门村"));
    assert_eq!(got, Some(vec!["member a".to_string()]));
    // different texts: nobody
    let a = e.assess(&h("石门村", "东村"), on()).unwrap_or_else(|err| panic!("{err}"));
    assert!(!a.programs.get("test.local_school").is_some_and(|p| p.flag));
    // the same text as the second member's: the second member only
    assert_eq!(flagged(&h("别村", "东村")), Some(vec!["member b".to_string()]));
}

/// The fenced block of `lang` after `heading` in a document.
fn block_after(doc: &str, heading: &str, lang: &str) -> String {
    let at = doc.find(heading).unwrap_or_else(|| panic!("no section {heading}"));
    let fence = format!("```{lang}\n");
    let start = doc[at..].find(&fence).map(|i| at + i + fence.len()).unwrap_or_else(|| panic!("no {lang} block"));
    let end = doc[start..].find("```").map(|i| start + i).unwrap_or(doc.len());
    doc[start..end].to_string()
}

#[test]
fn the_documented_declarations_and_household_are_accepted() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let language = std::fs::read_to_string(root.join("docs/language.md")).unwrap_or_else(|e| panic!("{e}"));
    let decls = block_after(&language, "## Declared facts and enumerations", "policy");
    let text = format!(
        "policy test.doc {{\n  title \"doc\"\n  region 990800\n  in_force 2016-01-01 ..\n  version \"1\"\n  extends cn\n}}\n{decls}"
    );
    let e = Engine::builder().embedded().source("doc.policy", text).build().unwrap_or_else(|d| panic!("{}", d.render()));
    // the five documented declarations, beside those of the shipped library
    let shipped = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render())).facts().len();
    assert_eq!(e.facts().len(), shipped + 5);
    let household = std::fs::read_to_string(root.join("docs/household.md")).unwrap_or_else(|e| panic!("{e}"));
    let json = block_after(&household, "## Declared facts", "json");
    let h = engine().parse_household(&json, Some(on())).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(h.members[0].facts.get("study_year"), Some(&FactValue::from(2)));
}

#[test]
fn the_shipped_library_declares_its_documents_facts_each_optional_and_cited() {
    let e = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let mut paths: Vec<String> = e.facts().iter().map(|f| f.path()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "household.ecological_protection_area",
            "household.industry_project",
            "household.unable_to_pay_self_funded",
            "member.admission_year",
            "member.contract_start",
            "member.graduation_year",
            "member.left_behind",
            "member.no_able_supporter",
            "member.no_income_source",
            "member.orphan",
            "member.self_care",
            "member.willing_ecommerce",
            "member.willing_training",
        ]
    );
    for f in e.facts() {
        assert!(f.optional, "{} is required", f.path());
        assert!(f.title.is_some() && f.cite.is_some(), "{} has no title or citation", f.path());
    }
    // one fact, two documents that agree on it
    let left_behind = e.fact("member.left_behind").unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(left_behind.declared_by, ["cn.hebei.shijiazhuang", "cn.henan.hebi"]);
}
