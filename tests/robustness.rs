//! Robustness in CI: the proptest equivalent of the fuzz targets in `fuzz/`.
//! Arbitrary strings and token soups → parse and check never panic;
//! arbitrary JSON values shaped like households → `parse_household` and
//! assessment never panic, and every failure is a typed error.

use chrono::NaiveDate;
use fupin::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

const OVERLAY: &str = r#"
policy deploy.robust {
  title "robustness deployment parameters"
  region 130100
  in_force 2016-01-01 ..
  version "test"
  extends cn.hebei.shijiazhuang
  overlay
}
override param basic_deductible { always: 500 }
override param basic_rate { always: 75% }
override param basic_annual_cap { always: 150000 }
override param major_illness_deductible { always: 15000 }
override param major_illness_rate { always: 60% }
override param assistance_annual_limit { always: 50000 }
"#;

const HEADER: &str =
    "policy fuzz.case {\n  title \"t\"\n  region 130131\n  in_force 2016-01-01 ..\n  version \"1\"\n  extends cn.hebei.shijiazhuang\n}\n";

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::builder().embedded().source("deploy.policy", OVERLAY).build().unwrap_or_else(|d| panic!("{}", d.render())))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

const TOKENS: &[&str] = &[
    "policy",
    "rule",
    "param",
    "override",
    "let",
    "tally",
    "program",
    "indicator",
    "test",
    "cite",
    "\"c\"",
    "\"标题\"",
    "for",
    "household",
    "each",
    "member",
    "claim",
    "loan",
    "m",
    "c",
    "l",
    "when",
    "then",
    "eligible",
    "amount",
    "flag",
    "assign",
    "pay",
    "exception",
    "to",
    "R-1",
    "R-2",
    "SJZ-1",
    "dibao",
    "tekun",
    "route",
    "basic",
    "assistance",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "=",
    "==",
    "+=",
    "=>",
    "+",
    "-",
    "*",
    "/",
    "×",
    "<",
    ">=",
    "and",
    "or",
    "not",
    "if",
    "else",
    "case",
    "in",
    "at",
    "from",
    "where",
    "always",
    "floor",
    "cap",
    "required",
    "previous",
    "as_of",
    "2018-01-01",
    "2018-02-30",
    "0",
    "1",
    "4000",
    "70%",
    "0.5",
    "99999999999999999999999999999",
    "true",
    "false",
    "yuan",
    "yuan/year",
    "yuan/month",
    "rate",
    "int",
    "date",
    "bool",
    "household.income",
    "household.size",
    "household.members",
    "m.labour",
    "m.age",
    "c.total_cost",
    "c.in_policy_cost",
    "paid.basic",
    "basic_paid",
    "dibao_standard",
    "poverty_line",
    "registered_poor",
    "rural",
    "min",
    "max",
    "sum",
    "count",
    "any",
    "all",
    "round",
    "fen",
    "half_up",
    "banded",
    "date",
    "age",
    "days",
    "interest",
    "monthly",
    "yearly",
    "rate",
    "decimal",
    "int",
    "down",
    "up",
    "\n",
    "//",
    "per",
    "year",
    "partial_loss",
    "inpatient",
    "relocation",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|t| t.join(" "))
}

/// Build with the library; a built engine assesses a sample household
/// within a small budget. Nothing may panic.
fn build_and_assess(text: &str) {
    let b = Engine::builder().embedded().source("deploy.policy", OVERLAY).source("case.policy", text.to_string());
    match b.build() {
        Ok(e) => {
            let as_of = date(2018, 6, 1);
            let h = fupin::model::parse_household(&sample_household().to_string(), Some(as_of)).expect("sample household");
            let mut s = e.scratch();
            s.budget = 100_000;
            let _ = e.assess_with(&h, as_of, &mut s);
        }
        Err(d) => {
            let rendered = d.render();
            assert!(rendered.starts_with("error"), "{rendered}");
        }
    }
}

fn sample_household() -> Value {
    json!({
        "id": "h1", "region": "130131", "hukou": "rural", "income": "3000.50",
        "poverty": { "status": "registered", "registered_on": "2015-10-01", "cause": "illness" },
        "members": [
            { "id": "m1", "birth_date": "1960-05-01", "sex": "male", "relation": "head", "labour": "partial_loss",
              "claims": [ { "date": "2018-03-01", "kind": "inpatient", "hospital_level": "county",
                            "total_cost": 30000, "in_policy_cost": 25000, "essential_medicine_cost": 1000 } ] },
            { "id": "m2", "birth_date": "1990-01-01", "sex": "female", "relation": "child" }
        ],
        "loans": [ { "kind": "microcredit", "principal": 50000, "start_date": "2017-01-01", "maturity_date": "2020-01-01", "rate": "0.0435" } ]
    })
}

// ---------------------------------------------------------------- JSON values

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        prop::sample::select(vec![
            "",
            "130131",
            "2018-06-01",
            "2018-02-30",
            "-0",
            "1e400",
            "79228162514264337593543950336",
            "0.0000000000000000000000000001",
            "rural",
            "registered",
            "inpatient",
            "m1",
            "男",
            "NaN",
            "-5",
            "99999-01-01",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,16}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path (as keys and indices) to a value inside `v`.
fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                prefix.push(k.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(i.to_string());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Object(m) => m.get_mut(p)?,
            Value::Array(a) => a.get_mut(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    AddField(usize, String, Value),
    Duplicate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => any::<usize>().prop_map(Mutation::Remove),
        1 => (any::<usize>(), "[a-z_]{1,12}", any_json()).prop_map(|(i, k, v)| Mutation::AddField(i, k, v)),
        1 => any::<usize>().prop_map(Mutation::Duplicate),
    ]
}

fn mutate(mut v: Value, muts: &[Mutation]) -> Value {
    for m in muts {
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        let pick = |i: usize| all[i % all.len()].clone();
        match m {
            Mutation::Replace(i, x) => {
                if let Some(slot) = at_mut(&mut v, &pick(*i)) {
                    *slot = x.clone();
                }
            }
            Mutation::Remove(i) => {
                let p = pick(*i);
                if let Some((last, parent)) = p.split_last() {
                    match at_mut(&mut v, parent) {
                        Some(Value::Object(m)) => {
                            m.remove(last);
                        }
                        Some(Value::Array(a)) => {
                            if let Ok(i) = last.parse::<usize>() {
                                if i < a.len() {
                                    a.remove(i);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            Mutation::AddField(i, k, x) => {
                if let Some(Value::Object(m)) = at_mut(&mut v, &pick(*i)) {
                    m.insert(k.clone(), x.clone());
                }
            }
            Mutation::Duplicate(i) => {
                if let Some(Value::Array(a)) = at_mut(&mut v, &pick(*i)) {
                    if let Some(first) = a.first().cloned() {
                        a.push(first);
                    }
                }
            }
        }
    }
    v
}

fn assess_json(text: &str, as_of: NaiveDate) {
    let _ = fupin::model::parse_household(text, None);
    match fupin::model::parse_household(text, Some(as_of)) {
        Ok(h) => {
            let e = engine();
            let plain = e.assess(&h, as_of);
            let mut s = e.scratch();
            s.set_trace(true);
            let traced = e.assess_with(&h, as_of, &mut s);
            match (&plain, &traced) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.programs, b.programs);
                    assert_eq!(a.claims, b.claims);
                    for c in &a.claims {
                        if c.error.is_none() {
                            let sum = c.paid().expect("settled") + c.out_of_pocket.expect("settled");
                            assert_eq!(sum, c.total_cost, "{}", c.claim);
                        }
                    }
                }
                (Err(x), Err(y)) => assert_eq!(x, y),
                _ => panic!("trace changed the result: {plain:?} / {traced:?}"),
            }
        }
        Err(e) => {
            // a clear message with a location
            let msg = e.to_string();
            assert!(!msg.is_empty());
        }
    }
}

const DATES: [(i32, u32, u32); 4] = [(2016, 6, 1), (2018, 6, 1), (2020, 6, 1), (2022, 1, 1)];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_text(s in any::<String>()) {
        let _ = fupin::syntax::parse(&s);
        let _ = fupin::syntax::parse(&format!("{HEADER}{s}"));
        let _ = fupin::syntax::parse_expr(&s);
    }

    #[test]
    fn parse_never_panics_on_token_soup(s in soup()) {
        let _ = fupin::syntax::parse(&s);
        let _ = fupin::syntax::parse(&format!("{HEADER}{s}"));
        let _ = fupin::syntax::parse_expr(&s);
    }

    #[test]
    fn households_shaped_json_never_panics(muts in prop::collection::vec(mutation(), 0..4), d in 0usize..4) {
        let v = mutate(sample_household(), &muts);
        let (y, m, dd) = DATES[d];
        assess_json(&v.to_string(), date(y, m, dd));
        assess_json(&serde_json::to_string_pretty(&v).unwrap_or_default(), date(y, m, dd));
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        assess_json(&v.to_string(), date(2018, 6, 1));
    }

    #[test]
    fn arbitrary_bytes_as_json_never_panic(s in "\\PC{0,200}") {
        assess_json(&s, date(2018, 6, 1));
    }
}

proptest! {
    // Each case builds an engine from the whole library: fewer cases.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn check_never_panics_on_token_soup_after_a_header(s in soup()) {
        build_and_assess(&format!("{HEADER}{s}"));
    }

    #[test]
    fn check_never_panics_on_a_shipped_policy_with_soup_appended(s in soup(), which in 0usize..4) {
        let emb = fupin::policy::embedded();
        let (name, text) = emb[which % emb.len()];
        let mut b = Engine::builder().source("deploy.policy", OVERLAY);
        for (n, t) in emb {
            if *n == name {
                b = b.source(n.to_string(), format!("{t}\n{s}"));
            } else {
                b = b.source(n.to_string(), t.to_string());
            }
        }
        match b.build() {
            Ok(e) => {
                let as_of = date(2018, 6, 1);
                let h = fupin::model::parse_household(&sample_household().to_string(), Some(as_of)).expect("sample");
                let mut sc = e.scratch();
                sc.budget = 100_000;
                let _ = e.assess_with(&h, as_of, &mut sc);
            }
            Err(d) => { let _ = d.render(); }
        }
        let _ = text;
    }
}

/// Rule-shaped soups: well-formed items whose expressions are random, so the
/// checker (not just the parser) sees them.
fn rule_expr() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "household.income",
        "household.size",
        "m.age",
        "c.total_cost",
        "c.in_policy_cost",
        "4000",
        "70%",
        "as_of",
        "2018-01-01",
        "true",
        "rural",
        "registered_poor",
        "dibao_standard",
        "poverty_line",
        "paid.basic",
        "basic_paid",
        "previous",
        "x",
        "m",
        "eligible(dibao)",
        "amount(dibao)",
        "household.members",
        "m.labour",
        "partial_loss",
        "0",
    ])
    .prop_map(String::from);
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), prop::sample::select(vec!["+", "-", "*", "/", "==", "<", "and", "or", "at"]), inner.clone())
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (
                prop::sample::select(vec!["min", "max", "round", "date", "age", "days", "monthly", "yearly", "clamp", "abs"]),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| format!("(if {c} then {a} else {b})")),
            inner.clone().prop_map(|e| format!("sum(v in household.members: {e})")),
            inner.clone().prop_map(|e| format!("banded({e}, from 0 at 50%, from 1000 at 60%)")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn check_never_panics_on_rules_with_random_expressions(
        subject in prop::sample::select(vec!["household", "each member m", "each claim c", "each loan l"]),
        cond in rule_expr(),
        value in rule_expr(),
        out in prop::sample::select(vec!["amount dibao", "pay basic", "amount temporary_assistance", "tally basic_paid +"]),
        pvalue in rule_expr(),
    ) {
        let text = format!(
            "{HEADER}param p: yuan {{ cite \"c\" from 2016-01-01: {pvalue} }}\nlet x = {value}\nrule R \"r\" {{\n  cite \"c\"\n  for {subject}\n  when {cond}\n  then {out}= {value}\n}}\n"
        );
        build_and_assess(&text);
    }
}
