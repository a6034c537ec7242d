//! Synthetic households and policies for measuring how cost grows: the
//! shipped library with the 平山县 overlay, households of n members (each
//! with one inpatient claim), n claims of one member, n loans, and generated
//! policies in force for the household's region.
//!
//! Shared by `benches/scaling.rs` (times) and `tests/scaling.rs` (step
//! counts) through `#[path]`.
#![allow(dead_code)] // each includer uses part of it

use chrono::NaiveDate;
use fupin::model::Household;
use fupin::Engine;
use serde_json::{json, Value};

/// The example deployment overlay for 平山县 (the figures 石发〔2016〕4号 leaves to the deployer).
pub const OVERLAY: &str = include_str!("../../examples/overlays/pingshan.policy");
pub const PINGSHAN: &str = include_str!("../../examples/households/pingshan-medical.json");
pub const HEBI: &str = include_str!("../../examples/households/hebi-xunxian-disability.json");

pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 6, 1).expect("date")
}

/// The shipped library with the 平山县 overlay and `extra` generated policies.
pub fn build(extra: usize) -> Engine {
    let mut b = Engine::builder().embedded().source("overlay.policy", OVERLAY);
    for k in 0..extra {
        b = b.source(format!("gen{k}.policy"), generated_policy(k));
    }
    b.build().unwrap_or_else(|d| panic!("{}", d.render()))
}

/// A policy in force in 平山县 of its own: a programme, a parameter, and a
/// member rule that defines the programme's amount.
pub fn generated_policy(k: usize) -> String {
    format!(
        r#"policy gen.p{k} {{
  title    "generated policy {k} (benchmark only)"
  region   130131
  in_force 2000-01-01 ..
  version  "1"
}}
program gen{k}.benefit "generated benefit {k}": yuan/year
param gen{k}_amount: yuan/year {{
  cite "generated"
  always: {amount}
}}
rule GEN-{k} "generated rule {k}" {{
  cite "generated"
  for each member m
  when m.labour != full
  then amount gen{k}.benefit = gen{k}_amount
}}
"#,
        amount = 100 + k
    )
}

pub fn parse(v: &Value) -> Household {
    fupin::model::parse_household(&v.to_string(), Some(as_of())).unwrap_or_else(|e| panic!("synthetic household: {e}"))
}

pub fn example(text: &str) -> Value {
    serde_json::from_str(text).expect("example household")
}

/// n members, each with one inpatient claim (the first member of the 平山
/// medical example, its outpatient claim left out), labour capacities cycling.
pub fn members(n: usize) -> Household {
    let mut h = example(PINGSHAN);
    let mut template = h["members"][0].clone();
    let inpatient = template["claims"][0].clone();
    let labours = ["complete_loss", "partial_loss", "full"];
    let list: Vec<Value> = (0..n)
        .map(|i| {
            let mut claim = inpatient.clone();
            claim["id"] = json!(format!("ZY-{i}"));
            template["id"] = json!(format!("m{i}"));
            template["relation"] = json!(if i == 0 { "head" } else { "other" });
            template["labour"] = json!(labours[i % 3]);
            template["claims"] = json!([claim]);
            template.clone()
        })
        .collect();
    h["members"] = Value::Array(list);
    parse(&h)
}

/// One member with n claims (inpatient and outpatient alternating), spread
/// over the year before the assessment date.
pub fn claims(n: usize) -> Household {
    let mut h = example(PINGSHAN);
    let first = h["members"][0]["claims"].as_array().cloned().expect("claims");
    let start = NaiveDate::from_ymd_opt(2018, 1, 1).expect("date");
    let list: Vec<Value> = (0..n)
        .map(|i| {
            let mut c = first[i % first.len()].clone();
            c["id"] = json!(format!("C-{i}"));
            c["date"] = json!((start + chrono::Days::new((i * 150 / n.max(1)) as u64)).to_string());
            c
        })
        .collect();
    h["members"][0]["claims"] = Value::Array(list);
    parse(&h)
}

/// The 鹤壁 浚县 example with n loans (its two loans, cycling).
pub fn loans(n: usize) -> Household {
    let mut h = example(HEBI);
    let given = h["loans"].as_array().cloned().expect("loans");
    let list: Vec<Value> = (0..n)
        .map(|i| {
            let mut l = given[i % given.len()].clone();
            l["id"] = json!(format!("L-{i}"));
            l
        })
        .collect();
    h["loans"] = Value::Array(list);
    parse(&h)
}
