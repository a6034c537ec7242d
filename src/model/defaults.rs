//! Which fields a household record left out, so that the model's default was
//! used (`housing` absent: safety grade A). The trace says so where a rule
//! read one (docs/household.md lists every default).
//!
//! [`MODEL`] names every field with a default other than null or an empty
//! list; `tests/trace.rs` checks it against the JSON Schema of the model, so
//! a field given a default later cannot be left out of it.

use super::validate::{skip_string, skip_value, skip_ws};
use std::borrow::Cow;

/// The JSON paths (`housing.safety_grade`, `members[0].labour`) of the
/// fields a household record left out, whose default the model used. Two
/// records compare equal whatever their defaulted fields: this says where
/// values came from, not what they are.
#[derive(Debug, Clone, Default)]
pub struct Defaulted(Vec<String>);

impl PartialEq for Defaulted {
    fn eq(&self, _: &Defaulted) -> bool {
        true
    }
}

impl Defaulted {
    /// No field was defaulted (or the record was not read from JSON).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The field at this JSON path was defaulted.
    pub fn contains(&self, path: &str) -> bool {
        self.0.iter().any(|p| p == path)
    }
    /// The defaulted paths, in the order of the model.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// A field of [`MODEL`].
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A value with a default.
    Value,
    /// A record with a default: when it is left out, every field of it is defaulted.
    Record(&'static Node),
    /// A record that may be left out (then absent, not defaulted).
    Optional(&'static Node),
    /// A list of records (left out: empty).
    List(&'static Node),
}

/// A record of the model: its name (as the JSON Schema names it) and its
/// fields that have defaults or hold records.
#[derive(Debug)]
pub struct Node {
    /// The struct's name.
    pub name: &'static str,
    /// Fields.
    pub fields: &'static [(&'static str, Kind)],
}

const CLAIM: Node = Node {
    name: "Claim",
    fields: &[("in_county", Kind::Value), ("designated", Kind::Value), ("essential_medicine_cost", Kind::Value), ("category", Kind::Value)],
};
const LOAN: Node = Node {
    name: "Loan",
    fields: &[
        ("repayment_difficulty", Kind::Value),
        ("difficulty_cause", Kind::Value),
        ("non_subjective", Kind::Value),
        ("renewed", Kind::Value),
    ],
};
const DISABILITY: Node = Node { name: "Disability", fields: &[("certified", Kind::Value)] };
const SCHOOLING: Node = Node {
    name: "Schooling",
    fields: &[
        ("enrolled", Kind::Value),
        ("graduated_not_admitted", Kind::Value),
        ("graduated_unemployed", Kind::Value),
        ("deep_mountain_area", Kind::Value),
    ],
};
const EMPLOYMENT: Node = Node {
    name: "Employment",
    fields: &[
        ("status", Kind::Value),
        ("employer", Kind::Value),
        ("local_employer", Kind::Value),
        ("contract_months", Kind::Value),
        ("social_insurance", Kind::Value),
        ("placed_by_agency", Kind::Value),
        ("in_town_months", Kind::Value),
        ("willing", Kind::Value),
        ("starting_business", Kind::Value),
        ("wage_tier", Kind::Value),
    ],
};
const PENSION: Node = Node {
    name: "Pension",
    fields: &[("enrolled", Kind::Value), ("tier", Kind::Value), ("receiving", Kind::Value), ("employee", Kind::Value)],
};
const MEMBER: Node = Node {
    name: "Member",
    fields: &[
        ("relation", Kind::Value),
        ("labour", Kind::Value),
        ("disability", Kind::Optional(&DISABILITY)),
        ("chronic_disease", Kind::Value),
        ("outpatient_major_disease", Kind::Value),
        ("schooling", Kind::Optional(&SCHOOLING)),
        ("employment", Kind::Record(&EMPLOYMENT)),
        ("medical_insurance", Kind::Value),
        ("pension", Kind::Record(&PENSION)),
        ("claims", Kind::List(&CLAIM)),
    ],
};
const POVERTY: Node = Node { name: "PovertyRecord", fields: &[("status", Kind::Value)] };
const DIBAO: Node = Node { name: "DibaoRecord", fields: &[("enrolled", Kind::Value)] };
const HOUSING: Node = Node { name: "Housing", fields: &[("structure", Kind::Value), ("safety_grade", Kind::Value)] };

/// The household record: every field with a default (other than null or an
/// empty list), and the records inside it.
pub const MODEL: Node = Node {
    name: "Household",
    fields: &[
        ("hukou", Kind::Value),
        ("poverty", Kind::Record(&POVERTY)),
        ("dibao", Kind::Record(&DIBAO)),
        ("tekun", Kind::Value),
        ("housing", Kind::Record(&HOUSING)),
        ("deep_poverty_area", Kind::Value),
        ("harsh_area", Kind::Value),
        ("soil_erosion_area", Kind::Value),
        ("relocation", Kind::Value),
        ("forest_mu", Kind::Value),
        ("hardship", Kind::Value),
        ("members", Kind::List(&MEMBER)),
        ("loans", Kind::List(&LOAN)),
    ],
};

/// The defaulted fields of a household record serde has read from `text`
/// (valid JSON of the model's shape). Only what is recorded is scanned; the
/// values are skipped.
pub(crate) fn defaulted(text: &str) -> Defaulted {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut path = String::new();
    record(b, skip_ws(b, 0), &MODEL, &mut path, &mut out);
    Defaulted(out)
}

/// Every value field of `node` (recursively, through records with defaults) under `path`.
fn all_defaulted(node: &Node, path: &mut String, out: &mut Vec<String>) {
    for (name, kind) in node.fields {
        let len = path.len();
        path.push_str(name);
        match kind {
            Kind::Value => out.push(path.clone()),
            Kind::Record(inner) => {
                path.push('.');
                all_defaulted(inner, path, out);
            }
            Kind::Optional(_) | Kind::List(_) => {}
        }
        path.truncate(len);
    }
}

/// Scan the object at `pos` as `node`; returns the offset after it.
fn record(b: &[u8], pos: usize, node: &Node, path: &mut String, out: &mut Vec<String>) -> Option<usize> {
    if b.get(pos) != Some(&b'{') {
        return skip_value(b, pos);
    }
    let mut seen = [false; 16];
    let mut pos = skip_ws(b, pos + 1);
    let mut end = None;
    if b.get(pos) == Some(&b'}') {
        end = Some(pos + 1);
    }
    while end.is_none() {
        if b.get(pos) != Some(&b'"') {
            return None;
        }
        let close = skip_string(b, pos)?;
        let raw = b.get(pos + 1..close - 1)?;
        let key: Cow<str> = if raw.contains(&b'\\') {
            Cow::Owned(serde_json::from_slice::<String>(b.get(pos..close)?).ok()?)
        } else {
            Cow::Borrowed(std::str::from_utf8(raw).ok()?)
        };
        pos = skip_ws(b, close);
        if b.get(pos) != Some(&b':') {
            return None;
        }
        pos = skip_ws(b, pos + 1);
        let field = node.fields.iter().position(|(n, _)| *n == key);
        pos = match field {
            Some(i) => {
                if let Some(s) = seen.get_mut(i) {
                    *s = true;
                }
                let len = path.len();
                path.push_str(node.fields[i].0);
                let next = match node.fields[i].1 {
                    Kind::Value => skip_value(b, pos),
                    Kind::Record(inner) | Kind::Optional(inner) => {
                        path.push('.');
                        record(b, pos, inner, path, out)
                    }
                    Kind::List(inner) => list(b, pos, inner, path, out),
                };
                path.truncate(len);
                next?
            }
            None => skip_value(b, pos)?,
        };
        pos = skip_ws(b, pos);
        match b.get(pos) {
            Some(b',') => pos = skip_ws(b, pos + 1),
            Some(b'}') => end = Some(pos + 1),
            _ => return None,
        }
    }
    for (i, (name, kind)) in node.fields.iter().enumerate() {
        if seen.get(i).copied().unwrap_or(true) {
            continue;
        }
        let len = path.len();
        path.push_str(name);
        match kind {
            Kind::Value => out.push(path.clone()),
            Kind::Record(inner) => {
                path.push('.');
                all_defaulted(inner, path, out);
            }
            Kind::Optional(_) | Kind::List(_) => {}
        }
        path.truncate(len);
    }
    end
}

/// Scan the list at `pos`, each element as `node`.
fn list(b: &[u8], pos: usize, node: &Node, path: &mut String, out: &mut Vec<String>) -> Option<usize> {
    if b.get(pos) != Some(&b'[') {
        return skip_value(b, pos);
    }
    let mut pos = skip_ws(b, pos + 1);
    if b.get(pos) == Some(&b']') {
        return Some(pos + 1);
    }
    let mut index = 0usize;
    loop {
        let len = path.len();
        path.push_str(&format!("[{index}]."));
        let next = record(b, pos, node, path, out);
        path.truncate(len);
        pos = skip_ws(b, next?);
        match b.get(pos) {
            Some(b',') => pos = skip_ws(b, pos + 1),
            Some(b']') => return Some(pos + 1),
            _ => return None,
        }
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_housing_defaults_its_grade_and_structure() {
        let d = defaulted(r#"{"id": "h", "members": [{"id": "m1", "labour": "age", "employment": {"status": "employed"}}]}"#);
        assert!(d.contains("housing.safety_grade") && d.contains("housing.structure"), "{d:?}");
        assert!(d.contains("members[0].relation") && !d.contains("members[0].labour"), "{d:?}");
        assert!(d.contains("members[0].employment.willing") && !d.contains("members[0].employment.status"), "{d:?}");
        assert!(!d.contains("members[0].disability.certified"), "an absent disability is absent, not defaulted: {d:?}");
        let d = defaulted(r#"{"id": "h", "housing": {"safety_grade": "C"}, "members": []}"#);
        assert!(!d.contains("housing.safety_grade") && d.contains("housing.structure"), "{d:?}");
        // an escaped key names the same field
        let d = defaulted(r#"{"id": "h", "hous\u0069ng": {"safety_grade": "C", "structure": "frame"}, "members": []}"#);
        assert!(!d.contains("housing.safety_grade") && !d.contains("housing.structure"), "{d:?}");
    }
}
