//! Differential tests: the generated code (`fupin::codegen`, where an
//! engine has it), the lowered code (`fupin::exec`, what evaluation runs
//! with the trace off) and the IR evaluator (the definition, what runs with
//! the trace on and whenever the fast code stops) give the same
//! assessment — the same outcomes, the same amounts to the last digit, the
//! same errors — on every shipped test block, every example household and
//! the reference workload. (Random households: `tests/properties.rs`.)
//!
//! A disagreement fails naming the household, the first field that differs
//! and the values each tier gave.

#[path = "../benches/workload/mod.rs"]
mod workload;

use chrono::NaiveDate;
use fupin::{Assessment, Engine, Household, Scratch, Tier};

/// The generated engine of `tests/cases/lang/features.policy` with the
/// shipped library (`tests/generated.rs` keeps it current).
#[allow(dead_code)]
mod features_generated {
    include!("generated/features.rs");
}
use serde_json::Value as Json;

/// The ways of assessing: generated code (trace off; the lowered code where
/// the engine has none), lowered code (trace off), the IR evaluator alone
/// (trace off), and the IR evaluator with the trace on.
struct Three {
    generated: Scratch,
    lowered: Scratch,
    ir: Scratch,
    traced: Scratch,
    /// One assessment per way, every household assessed into it again
    /// (`Engine::assess_into`): what the one before left must not show.
    reused: [Assessment; 4],
}

impl Three {
    fn new(e: &Engine) -> Three {
        let generated = e.scratch();
        let mut lowered = e.scratch();
        lowered.set_tier(Tier::Lowered);
        let mut ir = e.scratch();
        ir.set_ir_only(true);
        let mut traced = e.scratch();
        traced.set_trace(true);
        Three { generated, lowered, ir, traced, reused: Default::default() }
    }

    fn set_overrides(&mut self, o: &[(u32, fupin::value::Value)]) {
        for s in [&mut self.generated, &mut self.lowered, &mut self.ir, &mut self.traced] {
            s.overrides = o.to_vec();
        }
    }
}

/// An assessment as JSON without its trace, or the error's text.
fn outcome(e: &Engine, h: &Household, as_of: NaiveDate, s: &mut Scratch, reused: &mut Assessment) -> Result<Json, String> {
    // the batch's writer, straight from the scratch (with the trace on,
    // through the assessment), on a copy of the scratch as it is now
    let mut direct = Vec::new();
    let direct_result = e.assess_json(h, as_of, &mut s.clone(), &mut direct).map_err(|e| e.to_string());
    let mut in_place = s.clone();
    // the assessment built again over the last household's, on a copy too
    let into = e.assess_into(h, as_of, &mut s.clone(), reused).map_err(|e| e.to_string());
    match e.assess_with(h, as_of, s) {
        Ok(mut a) => {
            assert_eq!(into, Ok(()), "{}: assess_into fails where assess_with does not", h.id);
            assert!(*reused == a, "{}: assess_into over the last assessment and assess_with differ:\n{reused:?}\n{a:?}", h.id);
            // the programmes read in place, as `fupin simulate` reads them, are the assessment's
            e.assess_validated(h, as_of, &mut in_place).map_err(|e| e.to_string())?;
            let views: Vec<_> = e
                .programme_outcomes(&in_place)
                .map(|v| {
                    (
                        v.programme.as_str().to_string(),
                        v.eligible,
                        v.amount,
                        v.unit.map(|u| u.as_str().to_string()),
                        v.flag,
                        v.error.map(|e| e.to_string()),
                    )
                })
                .collect();
            let listed: Vec<_> = a
                .programs
                .iter()
                .map(|(n, o)| {
                    (n.as_str().to_string(), o.eligible, o.amount, o.unit.as_ref().map(|u| u.as_str().to_string()), o.flag, o.error.clone())
                })
                .collect();
            assert_eq!(views, listed, "{}: programme_outcomes and the assessment differ", h.id);
            let traced = a.trace.is_some();
            let mut whole = Vec::new();
            fupin::assessment::write_json(&a, &mut whole).map_err(|e| e.to_string())?;
            assert!(
                matches!(direct_result, Ok(Ok(()))) && direct == whole,
                "{}: assess_json and write_json differ:\n{}\n{}",
                h.id,
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&whole)
            );
            if !traced {
                // the batch writer writes exactly what serde writes
                assert!(whole == serde_json::to_vec(&a).map_err(|e| e.to_string())?, "{}: write_json and serde differ", h.id);
            }
            a.trace = None;
            // the batch writer writes exactly what serde writes
            let mut written = Vec::new();
            fupin::assessment::write_json(&a, &mut written).map_err(|e| e.to_string())?;
            let serde = serde_json::to_vec(&a).map_err(|e| e.to_string())?;
            assert!(
                written == serde,
                "{}: write_json and serde_json differ:\n{}\n{}",
                h.id,
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(&serde)
            );
            Ok(serde_json::to_value(&a).map_err(|e| e.to_string())?)
        }
        Err(err) => {
            assert_eq!(direct_result.as_ref().err(), Some(&err.to_string()), "{}: assess_json and assess_with differ", h.id);
            assert_eq!(into.as_ref().err(), Some(&err.to_string()), "{}: assess_into and assess_with fail differently", h.id);
            assert!(
                *reused == Assessment { as_of: reused.as_of, ..Default::default() },
                "{}: a failed assess_into leaves an assessment",
                h.id
            );
            Err(err.to_string())
        }
    }
}

/// The first place two JSON values differ: (path, left, right).
fn first_difference(path: &str, a: &Json, b: &Json) -> Option<(String, String, String)> {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(&p, v, w) {
                            return Some(d);
                        }
                    }
                    None => return Some((p, v.to_string(), "(absent)".into())),
                }
            }
            y.keys().find(|k| !x.contains_key(*k)).map(|k| (format!("{path}.{k}"), "(absent)".into(), y[k].to_string()))
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (v, w))| first_difference(&format!("{path}[{i}]"), v, w))
        }
        _ => (a != b).then(|| (path.to_string(), a.to_string(), b.to_string())),
    }
}

/// Assess `h` every way and fail on any difference.
fn agree(e: &Engine, name: &str, h: &Household, as_of: NaiveDate, three: &mut Three) {
    let [g, l, i, t] = &mut three.reused;
    let generated = outcome(e, h, as_of, &mut three.generated, g);
    let lowered = outcome(e, h, as_of, &mut three.lowered, l);
    let ir = outcome(e, h, as_of, &mut three.ir, i);
    let traced = outcome(e, h, as_of, &mut three.traced, t);
    for (what, other) in [("the lowered code", &lowered), ("the IR evaluator", &ir), ("the IR evaluator with the trace on", &traced)] {
        match (&generated, other) {
            (Ok(a), Ok(b)) => {
                if let Some((path, x, y)) = first_difference("assessment", a, b) {
                    panic!("{name}: the generated code and {what} disagree at {path}: generated {x}, {what} {y}");
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{name}: the generated code and {what} fail differently"),
            (a, b) => panic!("{name}: the generated code gives {a:?}, {what} {b:?}"),
        }
    }
}

/// The shipped library with the 平山县 deployment overlay (parameters
/// only, so it lowers to the shipped library's code) and the shipped
/// library's generated engine.
fn shipped() -> Engine {
    const OVERLAY: &str = include_str!("../examples/overlays/pingshan.policy");
    let e = Engine::builder().embedded().source("overlay.policy", OVERLAY).build().unwrap_or_else(|d| panic!("{}", d.render()));
    e.with_generated(&fupin::codegen::shipped::GENERATED).unwrap_or_else(|m| panic!("{m}"))
}

#[test]
fn every_shipped_test_block_assesses_the_same_on_every_tier() {
    let e = shipped();
    let tests = e.tests().unwrap_or_else(|d| panic!("{}", d.render()));
    let mut three = Three::new(&e);
    let mut run = 0;
    for (file, t) in tests.iter() {
        let case = match fupin::testing::case(&e, *file, t) {
            Ok(c) => c,
            // a test whose household does not parse never reaches an evaluator
            Err(_) => continue,
        };
        three.set_overrides(&case.overrides);
        let name = format!("test {:?} ({})", t.name.value, e.program().sources.get(*file).map_or("?", |f| f.name.as_str()));
        agree(&e, &name, &case.household, case.as_of, &mut three);
        run += 1;
    }
    eprintln!("{run} shipped test blocks compared, {:?} {:?}", three.generated.tiers(), three.lowered.tiers());
    assert!(run > 100, "only {run} shipped test blocks were compared");
    // the fast code did the work: a fast path that always stopped would
    // agree trivially
    let t = three.lowered.tiers();
    assert!(t.lowered * 10 >= (t.lowered + t.handed_over) * 8, "the lowered code finished only {t:?} of the shipped tests");
    let g = three.generated.tiers();
    assert_eq!((g.generated, g.handed_over), (t.lowered, t.handed_over), "the generated code finishes what the lowered code finishes");
}

#[test]
fn every_example_household_assesses_the_same_on_every_tier() {
    let e = shipped();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/households");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("examples").filter_map(|x| x.ok().map(|x| x.path())).collect();
    files.sort();
    let mut three = Three::new(&e);
    for f in files.iter().filter(|p| p.extension().is_some_and(|x| x == "json")) {
        let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let text = std::fs::read_to_string(f).expect("example");
        for year in [2016, 2018, 2020] {
            let as_of = NaiveDate::from_ymd_opt(year, 6, 1).expect("date");
            let h = e.parse_household(&text, Some(as_of)).unwrap_or_else(|err| panic!("{name}: {err}"));
            agree(&e, &format!("{name} on {as_of}"), &h, as_of, &mut three);
        }
    }
}

#[test]
fn the_reference_workload_assesses_the_same_on_every_tier() {
    let e = workload::fupin_impl::Workload::generated().unwrap_or_else(|e| panic!("{e}")).engine;
    let mut three = Three::new(&e);
    let as_of = workload::fupin_impl::as_of();
    for (i, h) in workload::households(20_000).iter().enumerate() {
        let h = workload::to_household(h, i);
        agree(&e, &format!("reference household {i}"), &h, as_of, &mut three);
    }
    let t = three.lowered.tiers();
    assert_eq!(t.handed_over, 0, "every reference household runs on the lowered code: {t:?}");
    let g = three.generated.tiers();
    assert_eq!((g.generated, g.handed_over), (20_000, 0), "every reference household runs on the generated code: {g:?}");
}

#[test]
fn an_error_is_the_ir_evaluators_error() {
    // a division that does not end, stored: the lowered code stops, and the
    // IR evaluator reports the located `Inexact` error
    let src = r#"
policy t.inexact {
  title "a stored third"
  region 130131
  in_force 2000-01-01 ..
  version "1"
}
rule T-1 "a third" {
  cite "test"
  for household
  then amount dibao = household.income / 3
}
"#;
    let e = Engine::builder().source("t.policy", src).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let json = r#"{"id":"h","region":"130131","income":"100","members":[{"id":"m1","birth_date":"1980-01-01","sex":"male"}]}"#;
    let as_of = NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
    let h = e.parse_household(json, Some(as_of)).unwrap_or_else(|err| panic!("{err}"));
    let mut three = Three::new(&e);
    agree(&e, "income / 3", &h, as_of, &mut three);
    let err = e.assess_with(&h, as_of, &mut three.lowered).expect_err("a third of 100 is not a decimal");
    assert!(err.to_string().contains("33.3"), "{err}");
    let t = three.lowered.tiers();
    assert!(t.handed_over >= 1, "{t:?}");
    // and a third of 99 is exact: the lowered code finishes it
    let h = e.parse_household(&json.replace("\"100\"", "\"99\""), Some(as_of)).unwrap_or_else(|err| panic!("{err}"));
    let before = three.lowered.tiers();
    let a = e.assess_with(&h, as_of, &mut three.lowered).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(a.programs["dibao"].amount.map(|d| d.to_string()).as_deref(), Some("33.00"));
    assert_eq!(three.lowered.tiers().lowered, before.lowered + 1);
}

#[test]
fn every_corpus_test_block_assesses_the_same_on_every_tier() {
    // the language corpus, the precedence and version cases: each file with
    // the shipped library, its test blocks assessed the three ways
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut run = 0;
    let mut generated_run = false;
    for dir in ["lang", "precedence", "versions", "testing"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir)).expect("cases").filter_map(|x| x.ok().map(|x| x.path())).collect();
        files.sort();
        for f in files.iter().filter(|p| p.extension().is_some_and(|x| x == "policy" || x == "fupintest")) {
            let name = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(f).display().to_string();
            let text = std::fs::read_to_string(f).expect("case");
            // a case written to fail its build (a duplicate id, a conflict) has nothing to assess
            let Ok(e) = Engine::builder().embedded().source(name.clone(), text).build() else { continue };
            let features = name.ends_with("lang/features.policy");
            let e = if features { e.with_generated(&features_generated::GENERATED).unwrap_or_else(|m| panic!("{m}")) } else { e };
            let Ok(tests) = e.tests() else { continue };
            let mut three = Three::new(&e);
            for (file, t) in tests.iter().filter(|(file, _)| e.program().sources.get(*file).is_some_and(|s| s.name == name)) {
                let Ok(case) = fupin::testing::case(&e, *file, t) else { continue };
                three.set_overrides(&case.overrides);
                agree(&e, &format!("test {:?} ({name})", t.name.value), &case.household, case.as_of, &mut three);
                run += 1;
            }
            if features {
                let g = three.generated.tiers();
                assert!(g.generated > 0 && g.lowered == 0, "the features case ran its generated code: {g:?}");
                generated_run = true;
            }
        }
    }
    assert!(generated_run, "the features case was not found");
    eprintln!("{run} corpus test blocks compared");
    assert!(run >= 40, "only {run} corpus test blocks were compared");
}

#[test]
fn a_rule_the_fast_code_cannot_finish_is_run_again_alone() {
    // a figure no policy gives: the rule that needs it is run again on the
    // IR evaluator, which confines the error to its programme; the rest of
    // the evaluation stays on the fast code
    let src = r#"
policy t.missing {
  title "a deployer's figure left out"
  region 130131
  in_force 2000-01-01 ..
  version "1"
}
param grant: yuan/year { cite "test (no figure: supplied by the deployer)" required }
rule T-1 "needs the figure" {
  cite "test"
  for household
  then amount dibao = grant
}
rule T-2 "needs nothing" {
  cite "test"
  for household
  when household.income < 1000
  then eligible tekun
}
"#;
    let e = Engine::builder().source("t.policy", src).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let json = r#"{"id":"h","region":"130131","income":"100","members":[{"id":"m1","birth_date":"1980-01-01","sex":"male"}]}"#;
    let as_of = NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
    let h = e.parse_household(json, Some(as_of)).unwrap_or_else(|err| panic!("{err}"));
    let mut three = Three::new(&e);
    agree(&e, "a missing figure", &h, as_of, &mut three);
    let t = three.lowered.tiers();
    assert_eq!((t.lowered, t.handed_over, t.rules_redone), (1, 0, 1), "{t:?}");
    let a = e.assess_with(&h, as_of, &mut three.lowered).unwrap_or_else(|err| panic!("{err}"));
    assert!(a.programs["dibao"].error.as_deref().is_some_and(|m| m.contains("grant")), "{:?}", a.programs["dibao"]);
    assert!(a.programs["tekun"].eligible);
}

#[test]
fn tracing_charges_the_step_budget_what_an_untraced_run_charges() {
    // the smallest budget an untraced run on the IR evaluator finishes
    // within is enough with the trace on, for every example household: a
    // memoised parameter or named value read again costs the same either way
    let e = shipped();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/households");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("examples").filter_map(|x| x.ok().map(|x| x.path())).collect();
    files.sort();
    let as_of = NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let run = |h: &Household, budget: u64, trace: bool| {
        let mut s = e.scratch();
        s.set_ir_only(true);
        s.set_trace(trace);
        s.budget = budget;
        outcome(&e, h, as_of, &mut s, &mut Assessment::default())
    };
    let mut compared = 0;
    for f in files.iter().filter(|p| p.extension().is_some_and(|x| x == "json")) {
        let text = std::fs::read_to_string(f).expect("example");
        let h = e.parse_household(&text, Some(as_of)).unwrap_or_else(|err| panic!("{}: {err}", f.display()));
        let full = run(&h, fupin::eval::DEFAULT_BUDGET, false);
        if full.is_err() {
            continue;
        }
        // the least budget that finishes, by bisection
        let (mut lo, mut hi) = (1u64, fupin::eval::DEFAULT_BUDGET);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if run(&h, mid, false).is_ok() {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        assert_eq!(run(&h, lo, true), full, "{}: traced with the least untraced budget {lo}", f.display());
        compared += 1;
    }
    assert!(compared >= 4, "only {compared} example households were compared");
}

#[test]
fn function_calls_and_declared_facts_run_on_the_lowered_code() {
    // policy functions of each kind of result, one calling another with
    // its own argument, an aggregation over a member's major diseases, and
    // `present` of a declared fact: the lowered code
    // runs them itself (nothing left to the IR evaluator in place) and
    // agrees with it on every household and at every step budget
    let src = r#"
policy t.calls {
  title "functions and declared facts"
  region 130131
  in_force 2000-01-01 ..
  version "1"
}
fact member.left_behind: bool { title "left behind" cite "test" optional }
fn adult(m: member, age: int): bool = m.age >= age
fn working_adult(m: member): bool = adult(m, 18) and m.age < 60
fn share(x: yuan/year, n: int): yuan/year = x / n
fn first_date(a: date, b: date): date = if a < b then a else b
fn serious(m: member): bool = any(d in m.major_diseases: d in [lung_cancer, breast_cancer])
let size = count(m in household.members: true)
rule T-1 "a grant per working adult" {
  cite "test"
  for each member m
  when working_adult(m) and not (present(m.left_behind) and m.left_behind)
  then amount dibao = share(household.income, size) + 1
}
rule T-3 "a serious disease" {
  cite "test"
  for each member m
  when serious(m) and count(d in m.major_diseases: true) >= 1
  then flag tekun
}
rule T-2 "the earlier date" {
  cite "test"
  for each member m
  when first_date(m.birth_date, 2000-01-01) < 1975-01-01
  then eligible tekun
}
"#;
    let e = Engine::builder().source("t.policy", src).build().unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(e.program().exec.coverage().1, 0, "left to the IR evaluator in place: {:?}", e.program().exec.coverage());
    let as_of = NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
    let households = [
        r#"{"id":"h1","region":"130131","income":"1000","poverty":{"status":"registered","registered_on":"2016-03-01"},
            "members":[{"id":"a","birth_date":"1980-01-01","sex":"male","major_diseases":["gastric_cancer","lung_cancer"]},{"id":"b","birth_date":"2010-01-01","sex":"female","major_diseases":["gastric_cancer"]}]}"#,
        r#"{"id":"h2","region":"130131","income":"999.99",
            "members":[{"id":"a","birth_date":"1970-05-01","sex":"female","facts":{"left_behind":true}},
                       {"id":"b","birth_date":"1990-01-01","sex":"male","facts":{"left_behind":false}},
                       {"id":"c","birth_date":"1955-01-01","sex":"male"}]}"#,
    ];
    let mut three = Three::new(&e);
    let mut paid = 0;
    let parsed: Vec<Household> =
        households.iter().map(|json| e.parse_household(json, Some(as_of)).unwrap_or_else(|err| panic!("{err}"))).collect();
    for h in &parsed {
        agree(&e, &h.id, h, as_of, &mut three);
        let a = e.assess_with(h, as_of, &mut three.lowered).unwrap_or_else(|err| panic!("{err}"));
        paid += usize::from(a.programs.get("dibao").is_some_and(|p| p.amount.is_some()));
    }
    assert_eq!(paid, 2, "both households have a working adult who is not left behind");
    let flagged = e.assess_with(&parsed[0], as_of, &mut three.lowered).unwrap_or_else(|err| panic!("{err}"));
    assert!(flagged.programs.get("tekun").is_some_and(|p| p.flag), "member a's lung cancer flags the household");
    let t = three.lowered.tiers();
    assert_eq!((t.handed_over, t.rules_redone), (0, 0), "the lowered code finished every household itself: {t:?}");
    // every budget: the same outcome or the same budget error
    for h in &parsed {
        for budget in 1..400 {
            for s in [&mut three.generated, &mut three.lowered, &mut three.ir, &mut three.traced] {
                s.budget = budget;
            }
            agree(&e, &format!("{} at budget {budget}", h.id), h, as_of, &mut three);
        }
    }
}
