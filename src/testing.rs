//! Running the tests written in policy files (`test "…" { … }`): a
//! household (inline JSON or a file), an assessment date, parameter
//! overlays, and expectations on programmes, claim layers and reasons.

use crate::assessment::Assessment;
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
    /// The assessment, when one was made.
    pub assessment: Option<Assessment>,
}

impl TestResult {
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Run every test in the engine's sources.
pub fn run_all(engine: &Engine) -> Vec<TestResult> {
    let tests = engine.program().module.tests.clone();
    tests.iter().map(|(file, t)| run_one(engine, *file, t)).collect()
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
    Path::new(env!("CARGO_MANIFEST_DIR")).join(&dir).join(rel)
}

/// Run one test.
pub fn run_one(engine: &Engine, file: FileId, t: &ast::Test) -> TestResult {
    let sources = &engine.program().sources;
    let l = loc(file, t.span);
    let mut r = TestResult { name: t.name.value.clone(), location: sources.describe(l), loc: l, failures: Vec::new(), assessment: None };
    let mut household: Option<String> = None;
    let mut as_of: Option<NaiveDate> = None;
    let mut s = engine.scratch();
    s.set_trace(true);
    for e in &t.entries {
        match e {
            TestEntry::HouseholdFile(p) => {
                let path = resolve_path(engine, file, &p.value);
                match std::fs::read_to_string(&path) {
                    Ok(text) => household = Some(text),
                    Err(err) => r.failures.push(format!("cannot read household {}: {err}", path.display())),
                }
            }
            TestEntry::HouseholdInline(j) => household = Some(j.value.clone()),
            TestEntry::AsOf(d) => as_of = Some(d.value),
            TestEntry::Set(name, value) => {
                let ids = engine.param_ids(&name.name);
                if ids.is_empty() {
                    r.failures.push(format!("`set {}`: no such parameter", name.name));
                }
                match const_value(value) {
                    Some(v) => s.overrides.extend(ids.into_iter().map(|i| (i, v))),
                    None => r.failures.push(format!("`set {}`: the value must be a literal", name.name)),
                }
            }
            _ => {}
        }
    }
    if !r.failures.is_empty() {
        return r;
    }
    let (Some(text), Some(as_of)) = (household, as_of) else {
        r.failures.push("a test needs a `household` and an `as_of` date".into());
        return r;
    };
    let result = crate::model::parse_household(&text, Some(as_of))
        .map_err(crate::EvalError::from)
        .and_then(|h| engine.assess_with(&h, as_of, &mut s));
    let expected_error = t.entries.iter().find_map(|e| if let TestEntry::ExpectError(s) = e { Some(s.value.clone()) } else { None });
    match (result, expected_error) {
        (Err(e), Some(frag)) => {
            if !e.to_string().contains(&frag) {
                r.failures.push(format!("expected an error containing `{frag}`, got: {e}"));
            }
        }
        (Err(e), None) => r.failures.push(format!("assessment failed: {e}")),
        (Ok(_), Some(frag)) => r.failures.push(format!("expected an error containing `{frag}`, but the assessment succeeded")),
        (Ok(a), None) => {
            for e in &t.entries {
                if let TestEntry::Expect(x) = e {
                    if let Some(f) = check_expectation(&a, x) {
                        r.failures.push(f);
                    }
                }
            }
            r.assessment = Some(a);
        }
    }
    r
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
                    actual = got.clone().unwrap_or_else(|| "null".into());
                    match v {
                        ExpectValue::Null => got.is_none(),
                        ExpectValue::Text(s) => got.as_deref() == Some(s.as_str()),
                        _ => false,
                    }
                }
                ("value", v) => {
                    let got = p.and_then(|p| p.value.clone());
                    actual = got.clone().unwrap_or_else(|| "null".into());
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
            let got = match field.name.as_str() {
                "basic" => c.basic,
                "major_illness" => c.major_illness,
                "supplementary" => c.supplementary,
                "assistance" => c.assistance,
                "other" => c.other,
                "out_of_pocket" => c.out_of_pocket,
                "deductible" => c.deductible,
                "total_cost" => c.total_cost,
                f => return Some(format!("claims[{n}].{f}: no such layer")),
            };
            match dec(&x.value) {
                Some(want) if want == got => None,
                _ => Some(format!("claims[{n}].{}: expected {}, got {got}", field.name, show_expected(&x.value))),
            }
        }
    }
}
