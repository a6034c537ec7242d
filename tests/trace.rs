//! The trace cites every figure (issue 13, items 5 and 9): for every amount
//! and claim layer of every shipped test assessment and example household,
//! the trace entry of each rule that produced it names the parameters it
//! read — value, date, policy and citation — and `fupin eval --explain`
//! prints them; a household field left out of the record is noted where a
//! rule read its default.
//!
//! Why the assertions are sound (they can fail, and they do not
//! over-claim):
//!
//! * The static side walks the resolved IR of the producing rule
//!   ([`fupin::ir::Expr::for_each_child`], into the bodies of the functions
//!   it calls and the named values it reads) and keeps only the parameters
//!   on an *unconditional* path: a fired rule evaluated every `let`, its
//!   condition (to true) and every outcome, and within them every node that
//!   is not behind a short circuit (`and`/`or` right operands, `if` branches,
//!   `case` arms after the first, `in` items after the first, aggregation
//!   filters and bodies, bands after the first, `present(…)`). Such a
//!   parameter was certainly read, so its absence from the trace entry is a
//!   defect of the trace. Parameters behind a short circuit may not have been
//!   read and are not required (the walk over-approximates there).
//! * The trace side: every parameter the entry lists must carry a citation
//!   (a clause, `set by the deployer`, or `set by the test`), and a date.
//! * The entries checked are those of the assessment's own reasons: the
//!   rules that won each programme output or paid each claim layer, for their
//!   subjects. An assessment with amounts but no such entry fails.

use fupin::assessment::{claim_subject, ParamRead, TraceEvent};
use fupin::ir::{Builtin, Expr, ExprKind};
use fupin::{Assessment, Engine};
use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The parameters `e` reads on every evaluation of it (see the module docs).
fn unconditional(m: &fupin::check::Module, e: &Expr, out: &mut BTreeSet<String>, depth: usize) {
    assert!(depth < 10_000, "the static walk does not terminate");
    match &e.kind {
        ExprKind::Param(p) | ExprKind::ParamAt(p, _) => {
            out.insert(m.params[*p as usize].name.clone());
        }
        ExprKind::Global(g) => unconditional(m, &m.globals[*g as usize].expr, out, depth + 1),
        ExprKind::Apply(f, _) => unconditional(m, &m.functions[*f as usize].body, out, depth + 1),
        _ => {}
    }
    // how many of the children, in evaluation order, are always evaluated
    let always = match &e.kind {
        ExprKind::And(..) | ExprKind::Or(..) | ExprKind::If(..) | ExprKind::Agg { .. } => 1,
        ExprKind::Case(..) | ExprKind::In(..) => 2,
        ExprKind::Banded(..) => 3,
        ExprKind::Call(Builtin::Present, _) => 0,
        _ => usize::MAX,
    };
    let mut i = 0;
    e.for_each_child(&mut |c| {
        if i < always {
            unconditional(m, c, out, depth + 1);
        }
        i += 1;
    });
}

/// Every parameter (name) rule `id` certainly read when it fired.
fn rule_reads(engine: &Engine, id: &str) -> BTreeSet<String> {
    let m = &engine.program().module;
    let mut out = BTreeSet::new();
    for r in m.rules.iter().filter(|r| r.id == id) {
        for l in r.pre.iter().chain(&r.post) {
            unconditional(m, &l.expr, &mut out, 0);
        }
        if let Some(c) = &r.cond {
            unconditional(m, c, &mut out, 0);
        }
        for o in &r.outcomes {
            match o {
                fupin::check::OutcomeDef::Amount(_, e) | fupin::check::OutcomeDef::Pay(_, e) | fupin::check::OutcomeDef::AddTally(_, e) => {
                    unconditional(m, e, &mut out, 0)
                }
                _ => {}
            }
        }
    }
    out
}

/// The fired trace entry of `rule` for `subject`, and its parameters.
fn entry<'a>(a: &'a Assessment, rule: &str, subject: &str) -> Option<&'a [ParamRead]> {
    a.trace.as_ref()?.iter().find_map(|e| match e {
        TraceEvent::Rule { rule: r, subject: s, fired: true, parameters, .. } if r == rule && s == subject => Some(parameters.as_slice()),
        _ => None,
    })
}

/// Check one assessment; returns the (rule, subject, parameters) entries checked.
fn check(engine: &Engine, a: &Assessment, what: &str) -> Vec<(String, String, Vec<ParamRead>)> {
    let mut produced: Vec<(String, String)> = Vec::new();
    for p in a.programs.values() {
        if p.amount.is_none() {
            continue;
        }
        for r in &p.reasons {
            if r.subjects.is_empty() {
                produced.push((r.rule.to_string(), "household".into()));
            }
            produced.extend(r.subjects.iter().map(|s| (r.rule.to_string(), s.clone())));
        }
    }
    for c in &a.claims {
        if c.error.is_some() {
            continue;
        }
        produced.extend(c.reasons.iter().map(|r| (r.rule.to_string(), claim_subject(c))));
    }
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    for (rule, subject) in produced {
        // a programme's reasons also list rules that only made it eligible
        // for a subject the amount rule did not fire for: those have an entry too
        let Some(params) = entry(a, &rule, &subject) else {
            problems.push(format!("{rule} for {subject}: no fired trace entry"));
            continue;
        };
        for p in params {
            if p.citation.as_deref().is_none_or(|c| c.trim().is_empty()) {
                problems.push(format!("{rule} for {subject}: parameter {} ({}) has no citation", p.name, p.policy));
            }
            if date_ok(&p.on).is_none() {
                problems.push(format!("{rule} for {subject}: parameter {} has no date ({:?})", p.name, p.on));
            }
        }
        for name in rule_reads(engine, &rule) {
            if !params.iter().any(|p| p.name == name) {
                problems
                    .push(format!("{rule} for {subject}: reads parameter {name} unconditionally, but its trace entry does not name it"));
            }
        }
        checked.push((rule, subject, params.to_vec()));
    }
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
    checked
}

fn date_ok(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[test]
fn every_shipped_test_assessment_cites_every_parameter_of_every_amount() {
    let engine = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let results = fupin::testing::run_all(&engine);
    let mut assessed = 0;
    let mut entries = 0;
    let mut params = 0;
    for r in &results {
        let Some(a) = &r.assessment else { continue };
        assert!(a.trace.is_some(), "{}: the testing API traces", r.name);
        let checked = check(&engine, a, &format!("{} ({})", r.name, r.location));
        assessed += 1;
        entries += checked.len();
        params += checked.iter().map(|c| c.2.len()).sum::<usize>();
    }
    // the corpus is real: many assessments, with amounts read from parameters
    assert!(assessed > 50, "{assessed} assessments");
    assert!(entries > 100 && params > 100, "{entries} entries, {params} parameters");
}

/// The shipped example households, each with its date and the overlay it needs.
fn examples() -> Vec<(String, &'static str, bool)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(root().join("examples/households")).unwrap_or_else(|e| panic!("{e}")) {
        let name = f.unwrap_or_else(|e| panic!("{e}")).file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let as_of = if name.starts_with("sanming") { "2020-06-01" } else { "2018-06-01" };
        out.push((name.clone(), as_of, name.starts_with("pingshan")));
    }
    out.sort();
    assert!(out.len() >= 8, "{out:?}");
    out
}

fn overlay_engine() -> Engine {
    let overlay = std::fs::read_to_string(root().join("examples/overlays/pingshan.policy")).unwrap_or_else(|e| panic!("{e}"));
    Engine::builder().embedded().source("pingshan.policy", overlay).build().unwrap_or_else(|d| panic!("{}", d.render()))
}

#[test]
fn every_example_household_cites_every_parameter_of_every_amount() {
    let plain = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let with_overlay = overlay_engine();
    let mut total = 0;
    for (name, as_of, overlay) in examples() {
        let engine = if overlay { &with_overlay } else { &plain };
        let text = std::fs::read_to_string(root().join("examples/households").join(&name)).unwrap_or_else(|e| panic!("{e}"));
        let h = engine.parse_household(&text, Some(date(as_of))).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut s = engine.scratch();
        s.set_trace(true);
        let a = engine.assess_with(&h, date(as_of), &mut s).unwrap_or_else(|e| panic!("{name}: {e}"));
        total += check(engine, &a, &name).iter().map(|c| c.2.len()).sum::<usize>();
    }
    assert!(total > 20, "{total} parameters cited");
}

/// `fupin eval --explain` on each example names every contributing
/// parameter with its date, value, policy and citation, under the amount.
#[test]
fn fupin_eval_explain_names_every_contributing_parameter_with_its_citation() {
    let plain = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let with_overlay = overlay_engine();
    for (name, as_of, overlay) in examples() {
        let file = format!("examples/households/{name}");
        let mut args = vec!["eval", "--as-of", as_of, "--explain"];
        if overlay {
            args.extend(["--overlay", "examples/overlays/pingshan.policy"]);
        }
        args.push(&file);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fupin")).args(&args).current_dir(root()).output().expect("run fupin");
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let (_, chains) = text.split_once("\nprogrammes:\n").unwrap_or_else(|| panic!("{name}: no programmes section:\n{text}"));
        // the same assessment in the library, for what must be printed
        let engine = if overlay { &with_overlay } else { &plain };
        let h = engine.parse_household(&std::fs::read_to_string(root().join(&file)).expect("read"), Some(date(as_of))).expect("parse");
        let mut s = engine.scratch();
        s.set_trace(true);
        let a = engine.assess_with(&h, date(as_of), &mut s).expect("assess");
        let mut printed = 0;
        for (rule, subject, params) in check(engine, &a, &name) {
            for p in params {
                let line = format!("param {p}");
                assert!(line.contains(p.citation.as_deref().unwrap_or("\u{0}")), "{line}");
                assert!(chains.contains(&line), "{name}: {rule} for {subject}: `{line}` is not printed under the amounts:\n{chains}");
                printed += 1;
            }
        }
        if name.starts_with("pingshan") {
            assert!(printed > 0, "{name}: no parameter printed");
        }
    }
}

const DEFAULTS_POLICY: &str = r#"
policy test.defaults {
  title "defaults"
  region 410600
  in_force 2016-01-01 ..
  version "test"
  extends cn.henan.hebi
}
program test.safe_house "住房安全"
rule TD-1 "住房安全等级为A" {
  cite "test"
  for household
  when household.housing.safety_grade == A
  then eligible test.safe_house
}
"#;

fn hebi_household(housing: &str) -> String {
    format!(
        r#"{{"id": "h1", "region": "410621", "income": "3000", {housing}
            "members": [{{"id": "m1", "birth_date": "1960-01-01", "sex": "male"}}]}}"#
    )
}

/// A household without a housing record is read as safety grade A: the
/// trace of every rule that read the grade says so, `--explain` too; with
/// the housing given, no note.
#[test]
fn a_defaulted_field_is_noted_where_a_rule_read_it() {
    let engine =
        Engine::builder().embedded().source("defaults.policy", DEFAULTS_POLICY).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let as_of = date("2018-06-01");
    let assess = |text: &str| {
        let h = engine.parse_household(text, Some(as_of)).unwrap_or_else(|e| panic!("{e}"));
        let mut s = engine.scratch();
        s.set_trace(true);
        engine.assess_with(&h, as_of, &mut s).unwrap_or_else(|e| panic!("{e}"))
    };
    let notes = |a: &Assessment, rule: &str| -> Vec<String> {
        a.trace
            .iter()
            .flatten()
            .filter_map(|e| match e {
                TraceEvent::Rule { rule: r, defaulted, .. } if r == rule => Some(defaulted.iter().map(|d| d.to_string())),
                _ => None,
            })
            .flatten()
            .collect()
    };
    let note = "housing.safety_grade defaulted to A (not in the household record)";
    let without = assess(&hebi_household(""));
    assert!(without.programs["test.safe_house"].eligible);
    assert_eq!(notes(&without, "TD-1"), vec![note.to_string()]);
    // the shipped rule on 危房 read it too (and did not fire because of it)
    assert_eq!(notes(&without, "HB-10"), vec![note.to_string()]);
    let explain = without.explain();
    assert!(
        explain.contains(&format!(
            "      because TD-1 住房安全等级为A [test]\n          eligible = test.safe_house\n          note: {note}\n"
        )),
        "{explain}"
    );
    // JSON: the note is data
    let json = serde_json::to_string(&without).expect("json");
    assert!(json.contains(r#""defaulted":[{"field":"housing.safety_grade","value":"A"}]"#), "{json}");

    let with = assess(&hebi_household(r#""housing": {"structure": "frame", "safety_grade": "A"},"#));
    assert!(with.programs["test.safe_house"].eligible);
    assert!(notes(&with, "TD-1").is_empty() && notes(&with, "HB-10").is_empty());
    assert!(!with.explain().contains("housing.safety_grade defaulted"), "{}", with.explain());
    // a partial housing record: only the field left out is defaulted
    let partial = assess(&hebi_household(r#""housing": {"safety_grade": "A"},"#));
    assert!(notes(&partial, "TD-1").is_empty());
    assert!(partial.programs["test.safe_house"].eligible);
}

/// The model's list of defaulted fields ([`fupin::model::DEFAULTS`]) is the
/// JSON Schema's: every field with a default other than null or `[]`,
/// through the records that have defaults — so docs/household.md (generated
/// from the same schema) lists every default the trace can note.
#[test]
fn the_defaulted_fields_are_every_default_of_the_schema() {
    use fupin::model::{DefaultKind, DefaultNode};
    let schema = fupin::model::json_schema();
    let defs = &schema["$defs"];
    fn from_schema(schema: &serde_json::Value, defs: &serde_json::Value, out: &mut BTreeSet<String>, prefix: &str) {
        let required: BTreeSet<&str> = schema["required"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
        let record = |r: Option<&str>| r.and_then(|r| r.strip_prefix("#/$defs/")).map(|t| &defs[t]).filter(|d| d["type"] == "object");
        for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
            if name == "facts" {
                continue;
            }
            let path = format!("{prefix}{name}");
            let optional = prop["anyOf"].as_array().and_then(|v| v.iter().find_map(|x| x["$ref"].as_str()));
            if let Some(d) = record(prop["items"]["$ref"].as_str()) {
                from_schema(d, defs, out, &format!("{path}[]."));
            } else if let Some(d) = record(optional) {
                from_schema(d, defs, out, &format!("{path}?."));
            } else if let Some(d) = record(prop["$ref"].as_str()) {
                assert!(prop["default"].is_object() || required.contains(name.as_str()), "{path}");
                from_schema(d, defs, out, &format!("{path}."));
            } else if !required.contains(name.as_str()) && !prop["default"].is_null() && !prop["default"].is_array() {
                out.insert(path);
            }
        }
    }
    fn from_model(node: &DefaultNode, out: &mut BTreeSet<String>, prefix: &str) {
        for (name, kind) in node.fields {
            let path = format!("{prefix}{name}");
            match kind {
                DefaultKind::Value => {
                    out.insert(path);
                }
                DefaultKind::Record(n) => from_model(n, out, &format!("{path}.")),
                DefaultKind::List(n) => from_model(n, out, &format!("{path}[].")),
                DefaultKind::Optional(n) => from_model(n, out, &format!("{path}?.")),
            }
        }
    }
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    from_schema(&schema, defs, &mut a, "");
    from_model(&fupin::model::DEFAULTS, &mut b, "");
    assert!(a.contains("housing.safety_grade") && a.contains("members[].labour"), "{a:?}");
    assert_eq!(a, b, "fupin::model::DEFAULTS differs from the schema's defaults");
    // and docs/household.md says the trace notes them
    let doc = std::fs::read_to_string(root().join("docs/household.md")).expect("docs/household.md");
    assert!(doc.contains("defaulted to"), "docs/household.md should say a defaulted field is noted in the trace");
}

/// A parameter read for another date (`lpr_1y at l.start_date`) is in the
/// trace with that date; a read on the assessment date keeps its own.
#[test]
fn a_parameter_read_at_another_date_is_traced_with_that_date() {
    let engine = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let m = &engine.program().module;
    // find a rule reading a parameter `at` a date, and a shipped test that fired it
    let mut at_rules: BTreeSet<(String, String)> = BTreeSet::new();
    fn walk(m: &fupin::check::Module, e: &Expr, rule: &str, out: &mut BTreeSet<(String, String)>) {
        match &e.kind {
            ExprKind::ParamAt(p, _) => {
                out.insert((rule.to_string(), m.params[*p as usize].name.clone()));
            }
            ExprKind::Apply(f, _) => walk(m, &m.functions[*f as usize].body, rule, out),
            ExprKind::Global(g) => walk(m, &m.globals[*g as usize].expr, rule, out),
            _ => {}
        }
        e.for_each_child(&mut |c| walk(m, c, rule, out));
    }
    for r in &m.rules {
        for l in r.pre.iter().chain(&r.post) {
            walk(m, &l.expr, &r.id, &mut at_rules);
        }
        if let Some(c) = &r.cond {
            walk(m, c, &r.id, &mut at_rules);
        }
        for o in &r.outcomes {
            if let fupin::check::OutcomeDef::Amount(_, e) | fupin::check::OutcomeDef::Pay(_, e) = o {
                walk(m, e, &r.id, &mut at_rules);
            }
        }
    }
    assert!(!at_rules.is_empty(), "no shipped rule reads a parameter at a date");
    let mut seen = 0;
    for res in fupin::testing::run_all(&engine) {
        let Some(a) = &res.assessment else { continue };
        for e in a.trace.iter().flatten() {
            let TraceEvent::Rule { rule, fired: true, parameters, .. } = e else { continue };
            for (r, name) in &at_rules {
                if r != rule {
                    continue;
                }
                // (the read may be behind an `if`: only what was read is required)
                let reads: Vec<&ParamRead> = parameters.iter().filter(|p| &p.name == name).collect();
                if reads.iter().any(|p| p.on != a.as_of.to_string()) {
                    seen += 1;
                    // and the Parameter event for that date is in the trace
                    assert!(
                        a.trace.iter().flatten().any(|e| matches!(e, TraceEvent::Parameter { name: n, on, .. }
                            if n == name && reads.iter().any(|p| &p.on == on && *on != a.as_of.to_string()))),
                        "{}: no parameter event for {name} at its date",
                        res.name
                    );
                }
            }
        }
    }
    assert!(seen > 0, "no shipped test read a parameter at a date other than its own: {at_rules:?}");
}

/// A trace written before the dates, per-rule parameters and subjects were
/// recorded still reads (the new fields have defaults); a new one round-trips.
#[test]
fn an_older_trace_still_reads_and_a_new_one_round_trips() {
    let old = r#"[
        {"event": "parameter", "name": "dibao_standard", "value": "4400.00 yuan/year", "policy": "cn.hebei.shijiazhuang", "citation": null},
        {"event": "rule", "rule": "SJZ-2", "citation": "c", "subject": "household", "fired": true, "values": [["gap", "1"]]},
        {"event": "overridden", "target": "amount dibao", "winner": "A", "loser": "B", "why": "w"}
    ]"#;
    let events: Vec<TraceEvent> = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(&events[0], TraceEvent::Parameter { on, .. } if on.is_empty()));
    assert!(matches!(&events[1], TraceEvent::Rule { parameters, named, defaulted, .. }
        if parameters.is_empty() && named.is_empty() && defaulted.is_empty()));
    assert!(matches!(&events[2], TraceEvent::Overridden { subject, .. } if subject.is_empty()));
    assert_eq!(events[0].lines(), vec!["param dibao_standard = 4400.00 yuan/year  [cn.hebei.shijiazhuang]".to_string()]);
    assert_eq!(events[2].lines(), vec!["rule B: lost to A on amount dibao — w".to_string()]);

    let engine = overlay_engine();
    let as_of = date("2018-06-01");
    let text = std::fs::read_to_string(root().join("examples/households/pingshan-medical.json")).expect("read");
    let h = engine.parse_household(&text, Some(as_of)).expect("parse");
    let mut s = engine.scratch();
    s.set_trace(true);
    let a = engine.assess_with(&h, as_of, &mut s).expect("assess");
    let json = serde_json::to_string(&a).expect("json");
    assert!(json.contains(r#""on":"2018-06-01""#) && json.contains(r#""parameters":[{"name":"#), "{json}");
    let back: Assessment = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, a);
    // the trace off: no trace, and the same figures
    let plain = engine.assess(&h, as_of).expect("assess");
    assert!(plain.trace.is_none());
    assert_eq!(plain.programs, a.programs);
    assert_eq!(plain.claims, a.claims);
}

/// A deployer's setting and a test's `set` are cited as such in the entry of
/// the rule that read them.
#[test]
fn settings_and_test_values_are_cited_as_such() {
    let as_of = date("2018-06-01");
    let text = std::fs::read_to_string(root().join("examples/households/pingshan-medical.json")).expect("read");
    let overlay = std::fs::read_to_string(root().join("examples/overlays/pingshan.policy")).expect("overlay");
    let engine = Engine::builder()
        .embedded()
        .source("pingshan.policy", overlay)
        .set_param("basic_rate", "80%")
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let h = engine.parse_household(&text, Some(as_of)).expect("parse");
    let mut s = engine.scratch();
    s.set_trace(true);
    let a = engine.assess_with(&h, as_of, &mut s).expect("assess");
    let c = &a.claims[0];
    let reads = entry(&a, "SJZ-MED-1", &claim_subject(c)).unwrap_or_else(|| panic!("{}", a.explain()));
    let rate = reads.iter().find(|p| p.name == "basic_rate").unwrap_or_else(|| panic!("{reads:?}"));
    assert_eq!((rate.value.as_str(), rate.policy.as_str()), ("80%", "set"));
    assert_eq!(rate.citation.as_deref(), Some("set by the deployer: basic_rate=80%"));
    assert!(
        a.explain().contains("          param basic_rate on 2018-06-01 = 80%  [set, set by the deployer: basic_rate=80%]\n"),
        "{}",
        a.explain()
    );

    // a shipped test's `set`
    let engine = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let mut cited = 0;
    for r in fupin::testing::run_all(&engine) {
        for e in r.assessment.iter().flat_map(|a| a.trace.iter().flatten()) {
            if let TraceEvent::Rule { parameters, .. } = e {
                for p in parameters.iter().filter(|p| p.policy == "test") {
                    let want = format!("set by the test: {} = {}", p.name, p.value);
                    assert_eq!(p.citation.as_deref(), Some(want.as_str()), "{}", r.name);
                    cited += 1;
                }
            }
        }
    }
    assert!(cited > 0, "no shipped test sets a parameter a rule read");
}
