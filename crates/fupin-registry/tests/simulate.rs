//! `fupin simulate` against the engine itself: the registry assessed under
//! the shipped 石家庄 2018 standard and under the 2020 one, and every total of
//! the report recomputed household by household, exactly.

use fupin::{Engine, PolicySet};
use fupin_registry::layout::Layout;
use fupin_registry::read::Format;
use fupin_registry::tables::TablesWriter;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

const AS_OF: &str = "2018-06-01";

#[derive(Default, Debug, PartialEq)]
struct Expect {
    before: (u64, Decimal),
    after: (u64, Decimal),
    newly: u64,
    no_longer: u64,
    unknown: u64,
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("a decimal string: {v}")).parse().expect("a decimal")
}

/// `records` written as a registry's tables in `dir`, then `fupin simulate`
/// of it on [`AS_OF`] with the `reform` arguments: the JSON report, the
/// HTML page's path, and what it printed on standard error.
fn simulated(dir: &std::path::Path, records: &[String], reform: &[&str]) -> (Value, std::path::PathBuf, String) {
    let reg = dir.join("registry");
    std::fs::create_dir_all(&reg).expect("a directory");
    let engine = Engine::embedded().expect("builds");
    let layout = Layout::from_schema(&engine.household_schema(None, None));
    let mut w = TablesWriter::create(&reg, &layout, Format::Parquet).expect("created");
    for r in records {
        w.household(r).expect("valid");
    }
    w.finish().expect("written");
    let json = dir.join("report.json");
    let html = dir.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_fupin-registry"))
        .args(["simulate", "--as-of", AS_OF])
        .args(reform)
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg(&reg)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (serde_json::from_str(&std::fs::read_to_string(&json).expect("the report")).expect("JSON"), html, stderr)
}

#[test]
fn the_report_adds_up_to_the_engines_assessments() {
    let records: Vec<String> = (0..1200).map(|i| fupin_registry::generate::household(5, i)).collect();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let (report, html, stderr) = simulated(tmp.path(), &records, &["--reform-set", "dibao_standard=5760"]);
    let baseline = Engine::embedded().expect("builds");
    let reform = PolicySet::embedded().with_setting("dibao_standard", "5760").build().expect("builds");

    // the same comparison, from the engine directly
    let as_of: chrono::NaiveDate = AS_OF.parse().expect("a date");
    // each programme of either assessment, once per household
    let mut want: BTreeMap<(String, String), Expect> = BTreeMap::new();
    for r in &records {
        let h = baseline.parse_household(r, Some(as_of)).expect("valid");
        let b = baseline.assess(&h, as_of).expect("assessed");
        let a = reform.assess(&h, as_of).expect("assessed");
        let names: std::collections::BTreeSet<&str> = b.programs.keys().chain(a.programs.keys()).map(|n| n.as_str()).collect();
        for name in names {
            let side = |p: Option<&fupin::assessment::ProgramOutcome>| match p {
                None => (false, Some(Decimal::ZERO), false),
                Some(o) => {
                    let amount = match (o.amount, &o.error) {
                        (Some(x), _) => Some(x),
                        (None, Some(_)) if o.eligible => None,
                        _ => Some(Decimal::ZERO),
                    };
                    (o.eligible, amount, o.error.is_some())
                }
            };
            let (eb, ab, xb) = side(b.programs.get(name));
            let (ea, aa, xa) = side(a.programs.get(name));
            let outcome = |e: bool, a: Option<Decimal>, x: bool| e || a != Some(Decimal::ZERO) || x;
            if !outcome(eb, ab, xb) && !outcome(ea, aa, xa) {
                continue;
            }
            for key in [("".to_string(), name.to_string()), (h.region.clone(), name.to_string())] {
                let e = want.entry(key).or_default();
                e.before.0 += u64::from(eb);
                e.after.0 += u64::from(ea);
                e.newly += u64::from(ea && !eb);
                e.no_longer += u64::from(eb && !ea);
                match (ab, aa) {
                    (Some(x), Some(y)) => {
                        e.before.1 += x;
                        e.after.1 += y;
                    }
                    _ => e.unknown += 1,
                }
            }
        }
    }

    let got = |p: &Value| Expect {
        before: (p["before"]["eligible"].as_u64().expect("count"), dec(&p["before"]["amount"])),
        after: (p["after"]["eligible"].as_u64().expect("count"), dec(&p["after"]["amount"])),
        newly: p["newly_eligible"].as_u64().expect("count"),
        no_longer: p["no_longer_eligible"].as_u64().expect("count"),
        unknown: p["unknown"].as_u64().expect("count"),
    };
    let mut seen = 0;
    for p in report["programmes"].as_array().expect("programmes") {
        let name = p["programme"].as_str().expect("a name").to_string();
        assert_eq!(got(p), want[&("".to_string(), name.clone())], "{name}");
        assert_eq!(dec(&p["change"]), dec(&p["after"]["amount"]) - dec(&p["before"]["amount"]));
        seen += 1;
    }
    for c in report["counties"].as_array().expect("counties") {
        let county = c["county"].as_str().expect("a county").to_string();
        for p in c["programmes"].as_array().expect("programmes") {
            let name = p["programme"].as_str().expect("a name").to_string();
            assert_eq!(got(p), want[&(county.clone(), name.clone())], "{county} {name}");
            seen += 1;
        }
    }
    assert_eq!(seen, want.len(), "every programme and county reported");
    assert_eq!(report["compared"], records.len());
    assert_eq!(report["failed"], 0);

    // 低保 rises with the standard: more households, more yuan
    let dibao = report["programmes"].as_array().expect("programmes").iter().find(|p| p["programme"] == "dibao").expect("dibao");
    assert!(dec(&dibao["change"]) > Decimal::ZERO);
    assert!(dibao["newly_eligible"].as_u64() > Some(0));
    assert_eq!(dibao["no_longer_eligible"], 0);
    // the distribution counts every household whose amount moved
    let moved: u64 = dibao["distribution"]["bins"].as_array().expect("bins").iter().map(|b| b[1].as_u64().expect("count")).sum();
    assert_eq!(moved, dibao["gainers"].as_u64().expect("count") + dibao["losers"].as_u64().expect("count"));
    // both policy sets are named with versions and hashes
    let sjz = |side: &str| {
        report[side]["policies"].as_array().expect("policies").iter().find(|p| p["id"] == "cn.hebei.shijiazhuang").cloned().expect("石家庄")
    };
    assert_eq!(sjz("baseline")["hash"], sjz("reform")["hash"]);
    assert_eq!(report["reform"]["settings"][0], serde_json::json!(["dibao_standard", "5760"]));

    let page = std::fs::read_to_string(&html).expect("the page");
    assert!(page.contains("<table id=\"programmes\">") && page.contains("<table id=\"counties\">") && page.contains("class=\"histogram\""));
    assert!(stderr.contains("dibao: eligible"), "{stderr}");
}

/// The shipped 2018 and 2020 石家庄 standards, both read off the shipped
/// series: the reform reads every parameter as in force on 2020-06-01 for
/// the same households on the same date (`--reform-parameters-on`), and the
/// report's 低保 totals are the engine's own with that parameter date.
#[test]
fn the_2020_figures_on_the_2018_registry() {
    let records: Vec<String> = (0..600).map(|i| fupin_registry::generate::household(11, i)).collect();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let (report, html, _) = simulated(tmp.path(), &records, &["--reform-parameters-on", "2020-06-01"]);
    let engine = Engine::embedded().expect("builds");
    assert_eq!(report["reform"]["parameters_on"], "2020-06-01");
    assert!(report["baseline"].get("parameters_on").is_none());
    assert!(std::fs::read_to_string(&html).expect("the page").contains("parameters as of"));

    let as_of: chrono::NaiveDate = AS_OF.parse().expect("a date");
    let mut later = engine.scratch();
    later.set_parameters_on(Some("2020-06-01".parse().expect("a date")));
    let (mut before, mut after) = ((0u64, Decimal::ZERO), (0u64, Decimal::ZERO));
    for r in &records {
        let h = engine.parse_household(r, Some(as_of)).expect("valid");
        let b = engine.assess(&h, as_of).expect("assessed");
        let a = engine.assess_with(&h, as_of, &mut later).expect("assessed");
        for (side, x) in [(&mut before, &b), (&mut after, &a)] {
            if let Some(o) = x.programs.get("dibao") {
                side.0 += u64::from(o.eligible);
                side.1 += o.amount.unwrap_or(Decimal::ZERO);
            }
        }
    }
    let dibao = report["programmes"].as_array().expect("programmes").iter().find(|p| p["programme"] == "dibao").expect("dibao");
    assert_eq!((dibao["before"]["eligible"].as_u64().expect("count"), dec(&dibao["before"]["amount"])), before);
    assert_eq!((dibao["after"]["eligible"].as_u64().expect("count"), dec(&dibao["after"]["amount"])), after);
    assert!(after.1 > before.1, "the 2020 standard pays more: {before:?} → {after:?}");
}
