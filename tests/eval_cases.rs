//! Evaluation cases: each `tests/cases/eval/*.json` holds a household (inline
//! or a path relative to the crate), an assessment date, optional policy
//! overlay text, and expected fragments of the assessment JSON addressed by
//! dotted paths (`programs.dibao.amount`, `claims.0.assistance`).
//! A case may instead expect an error message fragment (`expect_error`).
#![allow(clippy::result_large_err)] // `EvalError` is large by design (see src/lib.rs)

use fupin::{Engine, EngineBuilder};
use serde_json::Value;
use std::path::Path;

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = match cur {
            Value::Object(m) => {
                // programme ids contain dots: try the longest key that matches
                m.get(part)?
            }
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn find<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    // `programs.<dotted id>.field`: the programme id may contain dots
    if let Some(rest) = path.strip_prefix("programs.") {
        let programs = v.get("programs")?.as_object()?;
        let id = programs.keys().filter(|k| rest.starts_with(&format!("{k}."))).max_by_key(|k| k.len())?;
        return lookup(programs.get(id)?, &rest[id.len() + 1..]);
    }
    lookup(v, path)
}

fn same(want: &Value, got: &Value) -> bool {
    match (want, got) {
        // numbers and decimal strings compare as decimals
        (Value::Number(_) | Value::String(_), Value::String(_) | Value::Number(_)) => {
            let w = want.to_string().trim_matches('"').to_string();
            let g = got.to_string().trim_matches('"').to_string();
            match (w.parse::<rust_decimal::Decimal>(), g.parse::<rust_decimal::Decimal>()) {
                (Ok(a), Ok(b)) => a == b,
                _ => w == g,
            }
        }
        _ => want == got,
    }
}

fn engine_for(case: &Value) -> Engine {
    let mut b = EngineBuilder::default().embedded();
    if let Some(Value::String(o)) = case.get("overlay") {
        b = b.source("<case overlay>", o.clone());
    }
    match b.build() {
        Ok(e) => e,
        Err(d) => panic!("case policies do not build:\n{}", d.render()),
    }
}

#[test]
fn eval_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/cases/eval");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no eval cases");
    let mut failures = Vec::new();
    for p in &entries {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(p).expect("read case")).expect("case JSON");
        let as_of = chrono::NaiveDate::parse_from_str(case["as_of"].as_str().expect("as_of"), "%Y-%m-%d").expect("date");
        let household_text = match &case["household"] {
            Value::String(path) => std::fs::read_to_string(root.join(path)).expect("household file"),
            v => v.to_string(),
        };
        let engine = engine_for(&case);
        let result = fupin::model::parse_household(&household_text, Some(as_of))
            .map_err(fupin::EvalError::from)
            .and_then(|h| engine.assess(&h, as_of));
        match (result, case.get("expect_error")) {
            (Err(e), Some(Value::String(frag))) => {
                if !e.to_string().contains(frag.as_str()) {
                    failures.push(format!("{}: error `{e}` does not contain `{frag}`", p.display()));
                }
            }
            (Err(e), _) => failures.push(format!("{}: unexpected error: {e}", p.display())),
            (Ok(a), Some(Value::String(frag))) if a.errors().iter().any(|e| e.contains(frag.as_str())) => {}
            (Ok(_), Some(frag)) => failures.push(format!("{}: expected an error containing {frag}, got an assessment", p.display())),
            (Ok(a), None) => {
                let got = serde_json::to_value(&a).expect("serialise");
                let Some(Value::Object(expect)) = case.get("expect") else { panic!("{}: no `expect`", p.display()) };
                for (path, want) in expect {
                    match find(&got, path) {
                        Some(g) if same(want, g) => {}
                        Some(g) => failures.push(format!("{}: {path}: expected {want}, got {g}", p.display())),
                        None => failures.push(format!(
                            "{}: {path}: missing in {}",
                            p.display(),
                            serde_json::to_string_pretty(&got).unwrap_or_default()
                        )),
                    }
                }
                // money conservation on every claim
                for c in &a.claims {
                    let sum = c.paid().zip(c.out_of_pocket).map(|(p, o)| p + o);
                    if c.error.is_none() && sum != Some(c.total_cost) {
                        failures.push(format!("{}: claim {} layers sum to {sum:?}, not {}", p.display(), c.claim, c.total_cost));
                    }
                    if c.error.is_some() && (c.out_of_pocket.is_some() || c.layers.iter().any(|(_, v)| v.is_some())) {
                        failures.push(format!("{}: claim {} is not settled but reports amounts", p.display(), c.claim));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}
