//! Running the tests written in policy files (`test "…" { … }`): a
//! household (inline JSON or a file), an assessment date, parameter
//! overlays, and expectations on programmes, claim layers and reasons.

use crate::assessment::{Assessment, TraceEvent};
use crate::check::Target;
use crate::diagnostic::loc;
use crate::engine::Engine;
use crate::ir::{FileId, Loc};
use crate::syntax::ast::{self, ExpectPath, ExpectValue, ExprKind, TestEntry, UnOp};
use crate::value::Value;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

/// The outcome of one test.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// Test name.
    pub name: String,
    /// Where the test is (`file:line:col`).
    pub location: String,
    /// Its location.
    pub loc: Loc,
    /// What failed (empty when it passed).
    pub failures: Vec<String>,
    /// The same failures with where they are and the trace of the rules
    /// that produced the value (one per entry of `failures`).
    pub details: Vec<Failure>,
    /// The assessment, when one was made.
    pub assessment: Option<Assessment>,
}

impl TestResult {
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    fn fail(&mut self, f: Failure) {
        self.failures.push(f.message.clone());
        self.details.push(f);
    }
}

/// One failed expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed: expected vs actual.
    pub message: String,
    /// Where the expectation is (`file:line:col`), when it is one.
    pub location: Option<String>,
    /// The trace of the rules that define the value (fired or not), with
    /// the parameters they read, as the lines `fupin eval --explain` prints.
    pub trace: Vec<String>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), location: None, trace: Vec::new() }
    }
}

/// Run every test in the engine's sources.
pub fn run_all(engine: &Engine) -> Vec<TestResult> {
    run_matching(engine, |_| true)
}

/// Run the tests in the sources whose name (path) satisfies `keep`.
pub fn run_matching(engine: &Engine, keep: impl Fn(&str) -> bool) -> Vec<TestResult> {
    let p = engine.program();
    p.module
        .tests
        .iter()
        .filter(|(file, _)| p.sources.get(*file).is_some_and(|f| keep(&f.name)))
        .map(|(file, t)| run_one(engine, *file, t))
        .collect()
}

fn const_value(e: &ast::Expr) -> Option<Value> {
    match &*e.kind {
        ExprKind::Number(d) | ExprKind::Percent(d) => Some(Value::Num(*d)),
        ExprKind::Date(d) => Some(Value::Date(*d)),
        ExprKind::Bool(b) => Some(Value::Bool(*b)),
        ExprKind::Unary(UnOp::Neg, x) => match const_value(x)? {
            Value::Num(d) => Some(Value::Num(-d)),
            _ => None,
        },
        _ => None,
    }
}

fn resolve_path(engine: &Engine, file: FileId, rel: &str) -> PathBuf {
    let base = engine.program().sources.get(file).map(|f| f.name.clone()).unwrap_or_default();
    let dir = Path::new(&base).parent().map(Path::to_path_buf).unwrap_or_default();
    let p = dir.join(rel);
    if p.exists() {
        return p;
    }
    // embedded sources are named relative to the crate
    let q = Path::new(env!("CARGO_MANIFEST_DIR")).join(&dir).join(rel);
    if q.exists() {
        q
    } else {
        p
    }
}

/// Run one test.
pub fn run_one(engine: &Engine, file: FileId, t: &ast::Test) -> TestResult {
    let sources = &engine.program().sources;
    let l = loc(file, t.span);
    let mut r = TestResult {
        name: t.name.value.clone(),
        location: sources.describe(l),
        loc: l,
        failures: Vec::new(),
        details: Vec::new(),
        assessment: None,
    };
    let mut household: Option<String> = None;
    let mut as_of: Option<NaiveDate> = None;
    let mut s = engine.scratch();
    s.set_trace(true);
    for e in &t.entries {
        match e {
            TestEntry::HouseholdFile(p) => {
                let path = resolve_path(engine, file, &p.value);
                match crate::policy::read_text_limited(&path, crate::model::MAX_HOUSEHOLD_FILE) {
                    Ok(text) => household = Some(text),
                    Err(err) => r.fail(Failure::new(format!("cannot read household {err}"))),
                }
            }
            TestEntry::HouseholdInline(j) => household = Some(j.value.clone()),
            TestEntry::AsOf(d) => as_of = Some(d.value),
            TestEntry::Set(name, value) => {
                let ids = engine.param_ids(&name.name);
                if ids.is_empty() {
                    r.fail(Failure::new(format!("`set {}`: no such parameter", name.name)));
                }
                match const_value(value) {
                    Some(v) => s.overrides.extend(ids.into_iter().map(|i| (i, v))),
                    None => r.fail(Failure::new(format!("`set {}`: the value must be a literal", name.name))),
                }
            }
            _ => {}
        }
    }
    if !r.failures.is_empty() {
        return r;
    }
    let (Some(text), Some(as_of)) = (household, as_of) else {
        r.fail(Failure::new("a test needs a `household` and an `as_of` date"));
        return r;
    };
    let result = match engine.parse_household(&text, Some(as_of)) {
        Ok(h) => engine.assess_with(&h, as_of, &mut s),
        Err(e) => Err(crate::EvalError::from(e)),
    };
    let expected_error = t.entries.iter().find_map(|e| if let TestEntry::ExpectError(s) = e { Some(s.value.clone()) } else { None });
    match (result, expected_error) {
        (Err(e), Some(frag)) => {
            if !e.to_string().contains(&frag) {
                r.fail(Failure::new(format!("expected an error containing {frag:?}, got: {e}")));
            }
        }
        (Err(e), None) => r.fail(Failure::new(format!("assessment failed: {e}"))),
        (Ok(a), Some(frag)) if !a.errors().iter().any(|e| e.contains(&frag)) => {
            let errors = a.errors();
            if errors.is_empty() {
                r.fail(Failure::new(format!("expected an error containing {frag:?}, but the assessment succeeded")));
            } else {
                r.fail(Failure::new(format!("expected an error containing {frag:?}, got: {}", errors.join("; "))));
            }
            r.assessment = Some(a);
        }
        // a confined error (a programme or claim whose figures are unknown) matches
        // `expect error`; the test's other expectations still apply
        (Ok(a), _) => {
            for e in &t.entries {
                if let TestEntry::Expect(x) = e {
                    let unknown = match &x.path {
                        ExpectPath::Program(prog, _) if engine.program_index(&prog.joined()).is_none() => {
                            Some(format!("{}: no such programme", prog.joined()))
                        }
                        _ => None,
                    };
                    if let Some(mut message) = unknown.or_else(|| check_expectation(&a, x)) {
                        let confined = match &x.path {
                            ExpectPath::Program(prog, _) => a.programs.get(&prog.joined()).and_then(|p| p.error.clone()),
                            ExpectPath::Claim(n, _) => a.claims.get(*n as usize).and_then(|c| c.error.clone()),
                        };
                        if let Some(e) = confined {
                            message.push_str(&format!(" ({e})"));
                        }
                        let location = Some(sources.describe(loc(file, x.span)));
                        r.fail(Failure { message, location, trace: producing_trace(engine, &a, &x.path) });
                    }
                }
            }
            r.assessment = Some(a);
        }
    }
    r
}

/// The trace of the rules that define what an expectation reads: for a
/// programme, every rule with an outcome for it; for a claim field, the claim
/// rules that pay that layer (all claim rules for `out_of_pocket`,
/// `total_cost` and `reasons`), for that claim only. Each rule event comes
/// with the parameter events just before it (those it read first).
pub fn producing_trace(engine: &Engine, a: &Assessment, path: &ExpectPath) -> Vec<String> {
    let Some(trace) = &a.trace else { return Vec::new() };
    let m = &engine.program().module;
    let writes = |r: &crate::check::RuleDef| -> bool {
        match path {
            ExpectPath::Program(prog, _) => {
                let Some(pi) = m.program(&prog.joined()) else { return false };
                r.outcomes.iter().any(|o| match o.target() {
                    Target::Eligible(p) | Target::Amount(p) | Target::Flag(p) | Target::Assign(p) => p == pi,
                    Target::Pay(l) => engine.program().layer_programs[l as usize] == Some(pi),
                    Target::Tally(_) => false,
                })
            }
            ExpectPath::Claim(_, field) => match m.layers.iter().position(|l| l.name == field.name) {
                Some(layer) => r.outcomes.iter().any(|o| o.target() == Target::Pay(layer as crate::ir::LayerId)),
                None => r.outcomes.iter().any(|o| matches!(o.target(), Target::Pay(_))),
            },
        }
    };
    let rules: Vec<&str> = m.rules.iter().filter(|r| writes(r)).map(|r| r.id.as_str()).collect();
    let subject = match path {
        ExpectPath::Claim(n, _) => {
            let Some(c) = a.claims.get(*n as usize) else { return Vec::new() };
            Some(match c.claim.strip_prefix(&format!("{}#", c.member)) {
                Some(k) => format!("claim #{k} of member {}", c.member),
                None => format!("claim {} of member {}", c.claim, c.member),
            })
        }
        ExpectPath::Program(..) => None,
    };
    let mut out = Vec::new();
    let mut params: Vec<&TraceEvent> = Vec::new();
    for ev in trace {
        match ev {
            TraceEvent::Parameter { .. } => params.push(ev),
            TraceEvent::Rule { rule, subject: subj, .. } => {
                let keep = rules.contains(&rule.as_str()) && subject.as_ref().map_or(true, |s| s == subj);
                if keep {
                    for p in params.drain(..) {
                        out.extend(event_lines(p));
                    }
                    out.extend(event_lines(ev));
                }
                params.clear();
            }
            TraceEvent::Overridden { winner, loser, .. } => {
                if rules.contains(&winner.as_str()) || rules.contains(&loser.as_str()) {
                    out.extend(event_lines(ev));
                }
            }
        }
    }
    if out.len() > MAX_TRACE_LINES {
        let more = out.len() - MAX_TRACE_LINES;
        out.truncate(MAX_TRACE_LINES);
        out.push(format!("… {more} more line(s); `fupin test --verbose` prints the whole trace"));
    }
    out
}

/// At most this many trace lines per failure.
const MAX_TRACE_LINES: usize = 60;

fn event_lines(e: &TraceEvent) -> Vec<String> {
    match e {
        TraceEvent::Parameter { name, value, policy, citation, overrides } => {
            let mut s = format!("param {name} = {value}  [{policy}{}]", citation.as_ref().map(|c| format!(", {c}")).unwrap_or_default());
            if !overrides.is_empty() {
                s.push_str(&format!("  (overrides {})", overrides.join(", ")));
            }
            vec![s]
        }
        TraceEvent::Rule { rule, citation, subject, fired, values } => {
            let mut v = vec![format!("{} {rule} for {subject}  [{citation}]", if *fired { "fired  " } else { "skipped" })];
            v.extend(values.iter().map(|(k, x)| format!("    {k} = {x}")));
            v
        }
        TraceEvent::Overridden { target, winner, loser, why } => vec![format!("{target}: {winner} takes precedence over {loser} ({why})")],
    }
}

fn dec(v: &ExpectValue) -> Option<Decimal> {
    match v {
        ExpectValue::Number(d) => Some(*d),
        _ => None,
    }
}

fn show_expected(v: &ExpectValue) -> String {
    match v {
        ExpectValue::Bool(b) => b.to_string(),
        ExpectValue::Number(d) => d.to_string(),
        ExpectValue::Text(s) => format!("{s:?}"),
        ExpectValue::Null => "null".into(),
        ExpectValue::Contains(id) => format!("contains {}", id.name),
        ExpectValue::Lacks(id) => format!("lacks {}", id.name),
    }
}

/// Check one expectation; `Some(message)` when it fails.
pub fn check_expectation(a: &Assessment, x: &ast::Expectation) -> Option<String> {
    match &x.path {
        ExpectPath::Program(prog, field) => {
            let id = prog.joined();
            let p = a.programs.get(&id);
            let what = format!("{id}.{}", field.name);
            let actual: String;
            let ok = match (field.name.as_str(), &x.value) {
                ("eligible", ExpectValue::Bool(b)) => {
                    let got = p.is_some_and(|p| p.eligible);
                    actual = got.to_string();
                    got == *b
                }
                ("flag", ExpectValue::Bool(b)) => {
                    let got = p.is_some_and(|p| p.flag);
                    actual = got.to_string();
                    got == *b
                }
                ("amount", v) => {
                    let got = p.and_then(|p| p.amount);
                    actual = got.map(|d| d.to_string()).unwrap_or_else(|| "null".into());
                    match v {
                        ExpectValue::Null => got.is_none(),
                        _ => dec(v).is_some() && got == dec(v),
                    }
                }
                ("unit", v) => {
                    let got = p.and_then(|p| p.unit.clone());
                    actual = got.as_ref().map(|g| format!("{g:?}")).unwrap_or_else(|| "null".into());
                    match v {
                        ExpectValue::Null => got.is_none(),
                        ExpectValue::Text(s) => got.as_deref() == Some(s.as_str()),
                        _ => false,
                    }
                }
                ("value", v) => {
                    let got = p.and_then(|p| p.value.clone());
                    actual = got.as_ref().map(|g| format!("{g:?}")).unwrap_or_else(|| "null".into());
                    match v {
                        ExpectValue::Null => got.is_none(),
                        ExpectValue::Text(s) => got.as_deref() == Some(s.as_str()),
                        _ => false,
                    }
                }
                ("reasons", ExpectValue::Contains(rule) | ExpectValue::Lacks(rule)) => {
                    let rules: Vec<&str> = p.map(|p| p.reasons.iter().map(|r| r.rule.as_str()).collect()).unwrap_or_default();
                    actual = format!("[{}]", rules.join(", "));
                    let has = rules.contains(&rule.name.as_str());
                    if matches!(x.value, ExpectValue::Contains(_)) {
                        has
                    } else {
                        !has
                    }
                }
                (f, _) => return Some(format!("{what}: cannot compare `{f}` with {}", show_expected(&x.value))),
            };
            (!ok).then(|| format!("{what}: expected {}, got {actual}", show_expected(&x.value)))
        }
        ExpectPath::Claim(n, field) => {
            let Some(c) = a.claims.get(*n as usize) else {
                return Some(format!("claims[{n}]: the household has only {} claim(s)", a.claims.len()));
            };
            if let ("reasons", ExpectValue::Contains(rule) | ExpectValue::Lacks(rule)) = (field.name.as_str(), &x.value) {
                let rules: Vec<&str> = c.reasons.iter().map(|r| r.rule.as_str()).collect();
                let has = rules.contains(&rule.name.as_str());
                let ok = if matches!(x.value, ExpectValue::Contains(_)) { has } else { !has };
                return (!ok).then(|| format!("claims[{n}].reasons: expected {}, got [{}]", show_expected(&x.value), rules.join(", ")));
            }
            let f = field.name.as_str();
            let got = match f {
                "total_cost" => Some(c.total_cost),
                "out_of_pocket" => c.out_of_pocket,
                _ => match c.layers.get(f).or_else(|| c.out_of_pocket_parts.get(f)) {
                    Some(v) => v,
                    None => {
                        let names: Vec<&str> = c.layers.iter().chain(c.out_of_pocket_parts.iter()).map(|(n, _)| n).collect();
                        return Some(format!(
                            "claims[{n}].{f}: no such layer in this assessment (the policies applied declare: {})",
                            names.join(", ")
                        ));
                    }
                },
            };
            if matches!(x.value, ExpectValue::Null) {
                return got.map(|g| format!("claims[{n}].{f}: expected null (not settled), got {g}"));
            }
            let Some(got) = got else {
                let why = c.error.as_deref().unwrap_or("no amount");
                return Some(format!("claims[{n}].{f}: expected {}, but the claim was not settled: {why}", show_expected(&x.value)));
            };
            match dec(&x.value) {
                Some(want) if want == got => None,
                Some(_) => Some(format!("claims[{n}].{}: expected {}, got {got}", field.name, show_expected(&x.value))),
                None => Some(format!("claims[{n}].{}: cannot compare an amount with {}", field.name, show_expected(&x.value))),
            }
        }
    }
}
