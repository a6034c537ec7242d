//! Running the tests written in policy files (`test "…" { … }`): a
//! household (inline JSON or a file), an assessment date, parameter
//! overlays, and expectations on programmes, claim layers and reasons.

use crate::assessment::{Assessment, TraceEvent};
use crate::check::Target;
use crate::diagnostic::loc;
use crate::engine::Engine;
use crate::ir::{FileId, Loc};
use crate::syntax::ast::{self, ExpectPath, ExpectValue, TestEntry};
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
///
/// A standalone test file that does not parse (or holds anything but
/// tests) is one failed result per error, named after the file: its tests
/// cannot run, and saying nothing would pass them silently.
pub fn run_matching(engine: &Engine, keep: impl Fn(&str) -> bool) -> Vec<TestResult> {
    let p = engine.program();
    let tests = match engine.tests() {
        Ok(t) => t,
        Err(d) => {
            return d
                .items
                .iter()
                .filter(|e| e.loc.and_then(|l| p.sources.get(l.file)).is_none_or(|f| keep(&f.name)))
                .map(|e| {
                    let l = e.loc.unwrap_or(Loc { file: 0, span: Default::default() });
                    let message = format!("the test file cannot be read: {}", e.message);
                    TestResult {
                        name: p.sources.get(l.file).map(|f| f.name.clone()).unwrap_or_default(),
                        location: p.sources.describe(l),
                        loc: l,
                        failures: vec![message.clone()],
                        details: vec![Failure::new(message)],
                        assessment: None,
                    }
                })
                .collect();
        }
    };
    tests
        .iter()
        .filter(|(file, _)| p.sources.get(*file).is_some_and(|f| keep(&f.name)))
        .map(|(file, t)| run_one(engine, *file, t))
        .collect()
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

/// What one test block assesses: its household, on its date, with the
/// parameter values it sets (typed against each parameter of that name).
#[derive(Debug, Clone)]
pub struct Case {
    /// The household.
    pub household: crate::Household,
    /// The assessment date.
    pub as_of: NaiveDate,
    /// The test's `set` values, as [`crate::Scratch::overrides`].
    pub overrides: Vec<(u32, Value)>,
}

/// The case a test block assesses, or why it has none (its household cannot
/// be read or parsed, a `set` names no parameter or does not type).
pub fn case(engine: &Engine, file: FileId, t: &ast::Test) -> Result<Case, String> {
    match setup(engine, file, t) {
        Ok((Ok(household), as_of, overrides)) => Ok(Case { household, as_of, overrides }),
        Ok((Err(e), ..)) => Err(e.to_string()),
        Err(f) => Err(f.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ")),
    }
}

type Setup = (Result<crate::Household, crate::model::HouseholdError>, NaiveDate, Vec<(u32, Value)>);

/// Read a test block's household, date and `set` values.
fn setup(engine: &Engine, file: FileId, t: &ast::Test) -> Result<Setup, Vec<Failure>> {
    let mut failures = Vec::new();
    let mut household: Option<String> = None;
    let mut as_of: Option<NaiveDate> = None;
    let mut overrides = Vec::new();
    for e in &t.entries {
        match e {
            TestEntry::HouseholdFile(p) => {
                let path = resolve_path(engine, file, &p.value);
                match crate::policy::read_text_limited(&path, crate::model::MAX_HOUSEHOLD_FILE) {
                    Ok(text) => household = Some(text),
                    Err(err) => failures.push(Failure::new(format!("cannot read household {err}"))),
                }
            }
            TestEntry::HouseholdInline(j) => household = Some(j.value.clone()),
            TestEntry::AsOf(d) => as_of = Some(d.value),
            TestEntry::Set(name, value) => {
                let ids = engine.param_ids(&name.name);
                if ids.is_empty() {
                    failures.push(Failure::new(format!("`set {}`: no such parameter", name.name)));
                }
                // typed against each parameter of that name, as a deployer's `--set`:
                // `set basic_rate = 75` is not 7500%
                let m = &engine.program().module;
                let mut symbol = |t: &str| m.symbols.iter().position(|x| x == t).map(|i| i as u32);
                let typed: Result<Vec<(u32, Value)>, String> = ids
                    .iter()
                    .map(|i| {
                        let ty = m.params[*i as usize].ty;
                        crate::engine::literal_value(ty, value, &mut symbol).map(|v| (*i, v)).map_err(|e| {
                            format!("`set {}`: the parameter is {ty}, and `{}`: {e}", name.name, crate::syntax::printer::print_expr(value))
                        })
                    })
                    .collect();
                match typed {
                    Ok(vs) => overrides.extend(vs),
                    Err(e) => failures.push(Failure::new(e)),
                }
            }
            _ => {}
        }
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    let (Some(text), Some(as_of)) = (household, as_of) else {
        return Err(vec![Failure::new("a test needs a `household` and an `as_of` date")]);
    };
    Ok((engine.parse_household(&text, Some(as_of)), as_of, overrides))
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
    let mut s = engine.scratch();
    s.set_trace(true);
    let (parsed, as_of) = match setup(engine, file, t) {
        Ok((parsed, as_of, overrides)) => {
            s.overrides = overrides;
            (parsed, as_of)
        }
        Err(failures) => {
            for f in failures {
                r.fail(f);
            }
            return r;
        }
    };
    let result = match &parsed {
        Ok(h) => engine.assess_with(h, as_of, &mut s),
        Err(e) => Err(crate::EvalError::from(e.clone())),
    };
    // the values the test sets head every failure's trace
    let sets: Vec<String> = t
        .entries
        .iter()
        .filter_map(|e| match e {
            TestEntry::Set(name, v) => Some(format!("set     {} = {}  [this test]", name.name, crate::syntax::printer::print_expr(v))),
            _ => None,
        })
        .collect();
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
                    let x = &match claim_by_id(&a, x) {
                        Ok(x) => x,
                        Err(message) => {
                            let location = Some(sources.describe(loc(file, x.span)));
                            r.fail(Failure { message, location, trace: sets.clone() });
                            continue;
                        }
                    };
                    let in_context = match (&x.path, &parsed) {
                        (ExpectPath::Param(..) | ExpectPath::Let(..) | ExpectPath::Member(..), Ok(h)) => {
                            Some(check_in_context(engine, &a, h, as_of, &mut s, x))
                        }
                        _ => None,
                    };
                    let unknown = match &x.path {
                        ExpectPath::Program(prog, _) if engine.program_index(&prog.joined()).is_none() => {
                            Some(format!("{}: no such programme", prog.joined()))
                        }
                        _ => None,
                    };
                    let failed = match in_context {
                        Some(m) => m,
                        None => unknown.or_else(|| check_expectation(&a, x)),
                    };
                    if let Some(mut message) = failed {
                        let confined = match &x.path {
                            ExpectPath::Program(prog, _) | ExpectPath::Member(_, prog, _) => {
                                a.programs.get(prog.joined().as_str()).and_then(|p| p.error.clone())
                            }
                            ExpectPath::Claim(n, _) => a.claims.get(*n as usize).and_then(|c| c.error.clone()),
                            _ => None,
                        };
                        if let Some(e) = confined {
                            message.push_str(&format!(" ({e})"));
                        }
                        let location = Some(sources.describe(loc(file, x.span)));
                        let mut trace = sets.clone();
                        trace.extend(producing_trace(engine, &a, &x.path));
                        r.fail(Failure { message, location, trace });
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
            ExpectPath::Program(prog, _) | ExpectPath::Member(_, prog, _) => {
                let Some(pi) = m.program(&prog.joined()) else { return false };
                r.outcomes.iter().any(|o| match o.target() {
                    Target::Eligible(p) | Target::Amount(p) | Target::Flag(p) | Target::Assign(p) => p == pi,
                    Target::Pay(l) => engine.program().layer_programs[l as usize] == Some(pi),
                    Target::Tally(_) => false,
                })
            }
            ExpectPath::Claim(_, field) | ExpectPath::ClaimId(_, field) => match m.layers.iter().position(|l| l.name == field.name) {
                Some(layer) => r.outcomes.iter().any(|o| o.target() == Target::Pay(layer as crate::ir::LayerId)),
                None => r.outcomes.iter().any(|o| matches!(o.target(), Target::Pay(_))),
            },
            ExpectPath::Param(..) | ExpectPath::Let(..) => false,
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
        ExpectPath::Member(id, ..) => Some(format!("member {}", id.value)),
        _ => None,
    };
    let mut out = Vec::new();
    if let ExpectPath::Param(name, at) = path {
        // the assessment read the figure on its own date only
        if at.is_some() {
            return out;
        }
        for ev in trace {
            if matches!(ev, TraceEvent::Parameter { name: n, .. } if *n == name.name) {
                out.extend(event_lines(ev));
                break;
            }
        }
        return out;
    }
    let mut params: Vec<&TraceEvent> = Vec::new();
    for ev in trace {
        match ev {
            TraceEvent::Parameter { .. } => params.push(ev),
            TraceEvent::Rule { rule, subject: subj, .. } => {
                let keep = rules.contains(&rule.as_str()) && subject.as_ref().is_none_or(|s| s == subj);
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
    e.lines()
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

/// `claims["ID"]` as `claims[N]`: the index of the claim with that id.
fn claim_by_id(a: &Assessment, x: &ast::Expectation) -> Result<ast::Expectation, String> {
    let ExpectPath::ClaimId(key, field) = &x.path else { return Ok(x.clone()) };
    match a.claims.iter().position(|c| c.claim == key.value) {
        Some(n) => Ok(ast::Expectation { path: ExpectPath::Claim(n as u32, field.clone()), ..x.clone() }),
        None => {
            let ids: Vec<&str> = a.claims.iter().map(|c| c.claim.as_str()).collect();
            Err(format!("claims[{:?}]: no claim has this id (the claims: {})", key.value, ids.join(", ")))
        }
    }
}

/// Expectations that need the engine and the evaluation: a parameter in
/// force, a named value, a programme's outcome for one member.
fn check_in_context(
    engine: &Engine,
    a: &Assessment,
    h: &crate::Household,
    as_of: NaiveDate,
    s: &mut crate::Scratch,
    x: &ast::Expectation,
) -> Option<String> {
    let p = engine.program();
    let m = &p.module;
    let (what, got) = match &x.path {
        ExpectPath::Param(name, at) => {
            let what = match at {
                Some(d) => format!("param {} at {}", name.name, d.value),
                None => format!("param {}", name.name),
            };
            let Some(id) = crate::eval::param_in_force(p, s, &name.name) else {
                return Some(format!("{what}: no policy applied to this household defines the parameter"));
            };
            let on = at.as_ref().map_or(as_of, |d| d.value);
            match crate::eval::read_after(p, h, as_of, s, crate::eval::Read::Param(id, on)) {
                Ok(v) => (what, v),
                Err(e) => return (!matches!(x.value, ExpectValue::Null)).then(|| format!("{what}: {e}")),
            }
        }
        ExpectPath::Let(name) => {
            let what = format!("let {}", name.name);
            let Some(g) = m.globals.iter().position(|g| g.name == name.name && s.active.get(g.policy as usize).copied().unwrap_or(false))
            else {
                return Some(format!("{what}: no policy applied to this household defines the value"));
            };
            match crate::eval::read_after(p, h, as_of, s, crate::eval::Read::Global(g as u32)) {
                Ok(v) => (what, v),
                Err(e) => return Some(format!("{what}: {e}")),
            }
        }
        ExpectPath::Member(key, prog, field) => return check_member(engine, a, h, key, prog, field, x),
        _ => return check_expectation(a, x),
    };
    let ok = match &x.value {
        ExpectValue::Number(want) => shown_number(&got).is_some_and(|g| g == *want),
        ExpectValue::Bool(b) => got == b.to_string(),
        ExpectValue::Text(t) => got == *t || got == format!("{t:?}"),
        ExpectValue::Null => false,
        ExpectValue::Contains(_) | ExpectValue::Lacks(_) => return Some(format!("{what}: `contains` and `lacks` read a list of reasons")),
    };
    (!ok).then(|| format!("{what}: expected {}, got {got}", show_expected(&x.value)))
}

/// A shown figure as a number: `4400 yuan/year` → 4400, `5%` → 0.05.
fn shown_number(shown: &str) -> Option<Decimal> {
    let head = shown.split_whitespace().next()?;
    match head.strip_suffix('%') {
        Some(p) => p.parse::<Decimal>().ok().and_then(|d| d.checked_div(Decimal::ONE_HUNDRED)),
        None => head.parse().ok(),
    }
}

/// `member["ID"].PROG.eligible | flag | reasons`: what the programme's rules
/// did for that member (or the member's claims).
fn check_member(
    engine: &Engine,
    a: &Assessment,
    h: &crate::Household,
    key: &ast::StrLit,
    prog: &ast::DottedName,
    field: &ast::Ident,
    x: &ast::Expectation,
) -> Option<String> {
    let m = &engine.program().module;
    let id = prog.joined();
    let what = format!("member[{:?}].{id}.{}", key.value, field.name);
    if !h.members.iter().any(|mm| mm.id == key.value) {
        let ids: Vec<&str> = h.members.iter().map(|mm| mm.id.as_str()).collect();
        return Some(format!("{what}: no member has this id (the members: {})", ids.join(", ")));
    }
    let Some(pi) = m.program(&id) else { return Some(format!("{id}: no such programme")) };
    let subject = format!("member {}", key.value);
    let of_claims = format!(" of member {}", key.value);
    let for_member = |r: &crate::assessment::Reason| r.subjects.iter().any(|s| *s == subject || s.ends_with(&of_claims));
    let reasons: Vec<&crate::assessment::Reason> =
        a.programs.get(id.as_str()).map(|p| p.reasons.iter().filter(|r| for_member(r)).collect()).unwrap_or_default();
    let rule_grants = |r: &crate::assessment::Reason, flag: bool| {
        m.rules.iter().filter(|d| d.id == r.rule && m.policies[d.policy as usize].id == r.policy).any(|d| {
            d.outcomes.iter().any(|o| match o {
                crate::check::OutcomeDef::Flag(p) => flag && *p == pi,
                crate::check::OutcomeDef::Eligible(p) | crate::check::OutcomeDef::Amount(p, _) => !flag && *p == pi,
                crate::check::OutcomeDef::Pay(l, _) => !flag && engine.program().layer_programs[*l as usize] == Some(pi),
                _ => false,
            })
        })
    };
    let (ok, actual) = match (field.name.as_str(), &x.value) {
        ("eligible", ExpectValue::Bool(b)) => {
            let got = reasons.iter().any(|r| rule_grants(r, false));
            (got == *b, got.to_string())
        }
        ("flag", ExpectValue::Bool(b)) => {
            let got = reasons.iter().any(|r| rule_grants(r, true));
            (got == *b, got.to_string())
        }
        ("reasons", ExpectValue::Contains(rule) | ExpectValue::Lacks(rule)) => {
            let has = reasons.iter().any(|r| r.rule == rule.name);
            let ok = if matches!(x.value, ExpectValue::Contains(_)) { has } else { !has };
            (ok, format!("[{}]", reasons.iter().map(|r| r.rule.as_str()).collect::<Vec<_>>().join(", ")))
        }
        (f, _) => {
            return Some(format!(
                "{what}: a member's outcome is `eligible`, `flag` or `reasons`, not `{f}` compared with {}",
                show_expected(&x.value)
            ))
        }
    };
    (!ok).then(|| format!("{what}: expected {}, got {actual}", show_expected(&x.value)))
}

/// Check one expectation; `Some(message)` when it fails.
pub fn check_expectation(a: &Assessment, x: &ast::Expectation) -> Option<String> {
    let x = &match claim_by_id(a, x) {
        Ok(x) => x,
        Err(message) => return Some(message),
    };
    match &x.path {
        ExpectPath::ClaimId(..) | ExpectPath::Param(..) | ExpectPath::Let(..) | ExpectPath::Member(..) => Some(format!(
            "{}: this expectation is checked by the test runner, with the engine",
            crate::syntax::printer::expect_path_text(&x.path)
        )),
        ExpectPath::Program(prog, field) => {
            let id = prog.joined();
            let p = a.programs.get(id.as_str());
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
