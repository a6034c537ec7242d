//! The core model's field reference (the tables of `docs/household.md`),
//! generated from its JSON Schema ([`super::json_schema`]), which is derived
//! from the serde structs and their doc comments: the documentation, the
//! schema and the reader cannot disagree.

use serde_json::Value;
use std::fmt::Write as _;

/// The records, in the order the reference lists them: (heading, `$defs` key or `None` for the root).
const RECORDS: &[(&str, Option<&str>)] = &[
    ("Household (the document)", None),
    ("`poverty`", Some("PovertyRecord")),
    ("`dibao`", Some("DibaoRecord")),
    ("`housing`", Some("Housing")),
    ("`members[i]`", Some("Member")),
    ("`members[i].disability`", Some("Disability")),
    ("`members[i].schooling`", Some("Schooling")),
    ("`members[i].employment`", Some("Employment")),
    ("`members[i].pension`", Some("Pension")),
    ("`members[i].claims[j]`", Some("Claim")),
    ("`loans[k]`", Some("Loan")),
];

/// The field tables of the core model, as Markdown.
pub fn reference_markdown() -> String {
    let schema = super::json_schema();
    let mut out = String::new();
    for (heading, key) in RECORDS {
        let rec = match key {
            None => &schema,
            Some(k) => &schema["$defs"][*k],
        };
        let _ = writeln!(out, "### {heading}\n");
        if let Some(d) = rec["description"].as_str() {
            let _ = writeln!(out, "{}\n", one_line(d));
        }
        let _ = writeln!(out, "| field | type | required / default | meaning |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        let required: Vec<&str> = rec["required"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        if let Some(props) = rec["properties"].as_object() {
            for (name, p) in props {
                let need = if required.contains(&name.as_str()) {
                    "required".to_string()
                } else if let Some(d) = p.get("default") {
                    format!("default `{}`", d)
                } else {
                    "optional".to_string()
                };
                let meaning = p["description"].as_str().map(one_line).unwrap_or_default();
                let _ = writeln!(out, "| `{name}` | {} | {need} | {meaning} |", type_of(&schema, p));
            }
        }
        out.push('\n');
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

fn type_of(schema: &Value, p: &Value) -> String {
    if let Some(r) = p["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        let def = &schema["$defs"][name];
        if let Some(vs) = def["enum"].as_array() {
            let vs: Vec<String> = vs.iter().filter_map(Value::as_str).map(|v| format!("`{v}`")).collect();
            return format!("one of {}", vs.join(", "));
        }
        if let Some(vs) = def["oneOf"].as_array() {
            let vs: Vec<String> =
                vs.iter().filter_map(|v| v["const"].as_str().or_else(|| v["enum"][0].as_str())).map(|v| format!("`{v}`")).collect();
            return format!("one of {}", vs.join(", "));
        }
        return format!("object ({name})");
    }
    if let Some(any) = p["anyOf"].as_array() {
        let parts: Vec<String> = any.iter().filter(|a| a["type"] != "null").map(|a| type_of(schema, a)).collect();
        let nullable = any.iter().any(|a| a["type"] == "null");
        let t = parts.join(" or ");
        return if nullable { format!("{t} or null") } else { t };
    }
    match p["type"].as_str() {
        Some("string") if p["format"] == "date" => "date `YYYY-MM-DD`".into(),
        Some("string") if p["pattern"].is_string() => "decimal string".into(),
        Some("number") => "decimal number".into(),
        Some("integer") => match (p["minimum"].as_i64(), p["maximum"].as_i64()) {
            (Some(lo), Some(hi)) => format!("integer {lo}–{hi}"),
            _ => "integer".into(),
        },
        Some("array") => format!("list of {}", type_of(schema, &p["items"])),
        Some("object") => "object".into(),
        Some(t) => t.to_string(),
        None => match p["type"].as_array() {
            Some(ts) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
            None => "any".into(),
        },
    }
}
