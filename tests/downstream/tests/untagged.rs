use fupin_downstream_check::{Reading, Request};

#[test]
fn the_service_decodes_its_own_floats_untagged_and_flattened() {
    let r: Reading = serde_json::from_str("1.5").expect("an untagged float");
    assert_eq!(r, Reading::Number(1.5));
    let req: Request = serde_json::from_str(r#"{"from": "a", "t": 20.25, "note": "ok"}"#).expect("a flattened float");
    assert_eq!(req.readings["t"], Reading::Number(20.25));
    assert_eq!(req.readings["note"], Reading::Text("ok".into()));
}

#[test]
fn fupin_still_reads_money_exactly_beside_it() {
    let engine = fupin::Engine::embedded().expect("the shipped library");
    let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/households/pingshan-dibao.json")).expect("household");
    // money as a JSON number: read from its own digits, not through a float
    let json = json.replacen("\"income\": \"6000.00\"", "\"income\": 6000.10", 1);
    assert!(json.contains("6000.10"), "the example changed: {json}");
    let h = engine.parse_household(&json, None).expect("household");
    assert_eq!(h.income.to_string(), "6000.10");
    let a = engine.assess(&h, chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date")).expect("assessment");
    // 4,400 × 3 − 6,000.10, to the fen
    assert_eq!(a.programs["dibao"].amount.map(|d| d.to_string()).as_deref(), Some("7199.90"));
}

