//! The output contract for numbers (docs/output.md): money is reported to the
//! fen (`"3000.00"`) whatever the scale of the inputs, with more places only
//! when the exact figure has them; rates and other numbers are normalised.

use chrono::NaiveDate;
use fupin::Engine;
use serde_json::Value as Json;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).expect("read")
}

fn assess(engine: &Engine, json: &str, as_of: &str) -> Json {
    let h = engine.parse_household(json, Some(date(as_of))).expect("household");
    let mut s = engine.scratch();
    s.set_trace(true);
    let a = engine.assess_with(&h, date(as_of), &mut s).expect("assessment");
    serde_json::to_value(&a).expect("json")
}

/// A money figure as the contract prints it: at least two places.
fn is_fen_shaped(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    match body.split_once('.') {
        Some((int, frac)) => {
            !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.len() >= 2 && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Every money figure of an assessment: programme amounts, claim totals, layers, out-of-pocket and its parts.
fn money_figures(a: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (id, p) in a["programs"].as_object().expect("programs") {
        if let Some(s) = p["amount"].as_str() {
            out.push((format!("programs.{id}.amount"), s.to_string()));
        }
    }
    for (i, c) in a["claims"].as_array().expect("claims").iter().enumerate() {
        out.push((format!("claims[{i}].total_cost"), c["total_cost"].as_str().expect("total").to_string()));
        if let Some(s) = c["out_of_pocket"].as_str() {
            out.push((format!("claims[{i}].out_of_pocket"), s.to_string()));
        }
        for key in ["layers", "out_of_pocket_parts"] {
            for (n, v) in c[key].as_object().into_iter().flatten() {
                if let Some(s) = v.as_str() {
                    out.push((format!("claims[{i}].{key}.{n}"), s.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn money_is_reported_to_the_fen_whatever_the_scale_of_the_inputs() {
    let engine = Engine::builder().embedded().build().expect("engine");
    let json = read("examples/households/pingshan-dibao.json");
    let mut seen = Vec::new();
    for income in ["\"6000\"", "\"6000.0\"", "\"6000.0000\""] {
        let j = json.replace("\"income\": \"6000.00\"", &format!("\"income\": {income}"));
        assert_ne!(j, json, "the example's income is written `6000.00`");
        let a = assess(&engine, &j, "2018-06-01");
        assert_eq!(a["programs"]["dibao"]["amount"], "7200.00", "income {income}");
        seen.push(a["programs"]["dibao"]["amount"].clone());
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn every_money_figure_of_the_shipped_examples_is_to_the_fen() {
    let engine = Engine::builder().embedded().source("pingshan.policy", read("examples/overlays/pingshan.policy")).build().expect("engine");
    let mut checked = 0;
    for (file, as_of) in [
        ("pingshan-dibao.json", "2018-06-01"),
        ("pingshan-medical.json", "2018-06-01"),
        ("hebi-xunxian-disability.json", "2018-06-01"),
        ("huaihua-tongdao-illness.json", "2018-06-01"),
        ("huaihua-zhijiang-relocation.json", "2018-06-01"),
        ("liaoning-kazuo-employment.json", "2018-06-01"),
        ("liaoning-gaizhou-welfare-post.json", "2018-06-01"),
        ("sanming-shaxian-epidemic.json", "2020-06-01"),
    ] {
        let a = assess(&engine, &read(&format!("examples/households/{file}")), as_of);
        for (path, s) in money_figures(&a) {
            assert!(is_fen_shaped(&s), "{file}: {path} = {s:?} is not to the fen");
            checked += 1;
        }
        // the trace shows money to the fen too (`7200.00 yuan/year`)
        for ev in a["trace"].as_array().expect("trace") {
            let mut shown: Vec<String> = Vec::new();
            if let Some(v) = ev["value"].as_str() {
                shown.push(v.to_string());
            }
            for pair in ev["values"].as_array().into_iter().flatten() {
                shown.push(pair[1].as_str().unwrap_or_default().to_string());
            }
            for v in shown {
                if let Some(n) = v.strip_suffix(" yuan/year").or_else(|| v.strip_suffix(" yuan/month")).or_else(|| v.strip_suffix(" yuan"))
                {
                    assert!(is_fen_shaped(n), "{file}: trace shows {v:?}");
                } else if let Some(p) = v.strip_suffix('%') {
                    assert!(!p.contains('.') || !p.ends_with('0'), "{file}: a rate is normalised: {v:?}");
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} money figures checked");
}

#[test]
fn an_exact_figure_finer_than_the_fen_keeps_its_places() {
    let policy = r#"
policy t.finer { title "t" document "t" issued 2018-01-01 region 130131 in_force 2018-01-01 .. version "1" extends cn }
program t.share "share": yuan/year
rule T-1 "a share not rounded by the policy" {
  cite "t"
  for household
  then amount t.share = household.income * 0.5%
}
"#;
    let engine = Engine::builder().embedded().source("finer.policy", policy).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let json = read("examples/households/pingshan-dibao.json").replace("\"income\": \"6000.00\"", "\"income\": \"6000.01\"");
    let a = assess(&engine, &json, "2018-06-01");
    // 6000.01 × 0.5% = 30.00005 exactly: shown with every place, never rounded for display
    assert_eq!(a["programs"]["t.share"]["amount"], "30.00005");
    let whole = read("examples/households/pingshan-dibao.json").replace("\"income\": \"6000.00\"", "\"income\": \"6000\"");
    let a = assess(&engine, &whole, "2018-06-01");
    assert_eq!(a["programs"]["t.share"]["amount"], "30.00");
}

#[test]
fn the_batch_writer_writes_every_field_as_serde_does() {
    use fupin::assessment::{Assessment, ClaimOutcome, Clamped, Layers, Name, PolicyRef, ProgramOutcome, Reason};
    use rust_decimal::Decimal;
    // names that need escaping, every optional field present, and absent
    let odd = |s: &str| Name::from(format!("{s} \"quoted\" \\ back\tslash \u{1} 〔2016〕"));
    let reason = |subjects: Vec<String>| Reason {
        rule: odd("R-1"),
        title: odd("title"),
        citation: odd("石发〔2016〕4号"),
        policy: Name::from("cn.hebei"),
        subjects,
    };
    let full = ProgramOutcome {
        eligible: true,
        amount: Some(Decimal::new(-720050, 2)),
        unit: Some(Name::from("yuan/year")),
        flag: true,
        value: Some(odd("route")),
        reasons: vec![reason(vec!["member \"m1\"".into(), "claim #2 of member m1".into()]), reason(Vec::new())],
        error: Some("no figure for `x`\n".into()),
    };
    let bare = ProgramOutcome { eligible: false, amount: None, unit: None, flag: false, value: None, reasons: Vec::new(), error: None };
    let claim = |parts: bool, error: bool| ClaimOutcome {
        member: "m\"1".into(),
        claim: "m1#1".into(),
        date: date("2020-06-01"),
        total_cost: Decimal::new(1739523, 2),
        layers: Layers(vec![(odd("basic"), Some(Decimal::new(100, 2))), (Name::from("assistance"), None)]),
        out_of_pocket: if error { None } else { Some(Decimal::new(5, 1)) },
        out_of_pocket_parts: Layers(if parts { vec![(Name::from("deductible"), Some(Decimal::ZERO))] } else { Vec::new() }),
        reasons: vec![reason(Vec::new())],
        error: error.then(|| "unsettled".to_string()),
    };
    let clamped = Clamped {
        parameter: "basic_rate".into(),
        date: date("2020-01-01"),
        value: "99%".into(),
        source: "set".into(),
        bound: "cap".into(),
        limit: "90%".into(),
        policy: "cn.hebei".into(),
        citation: Some("〔2016〕".into()),
    };
    let a = |warnings: Vec<Clamped>| Assessment {
        household: "h\\1".into(),
        as_of: date("2020-12-31"),
        parameters_on: None,
        policies: vec![PolicyRef { id: Name::from("cn"), version: odd("v"), hash: Name::from("sha256:00") }],
        programs: [(Name::from("dibao"), full.clone()), (odd("other"), bare.clone())].into_iter().collect(),
        claims: vec![claim(true, false), claim(false, true)],
        warnings,
        trace: None,
    };
    for assessment in [
        a(vec![clamped.clone()]),
        a(Vec::new()),
        Assessment { programs: Default::default(), claims: Vec::new(), ..a(Vec::new()) },
        Assessment { parameters_on: Some(date("2021-06-01")), ..a(Vec::new()) },
    ] {
        let mut written = Vec::new();
        fupin::assessment::write_json(&assessment, &mut written).unwrap();
        assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&serde_json::to_vec(&assessment).unwrap()));
    }
}
