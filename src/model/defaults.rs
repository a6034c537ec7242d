//! Which fields a household record left out, so that the model's default was
//! used (`housing` absent: safety grade A). The trace says so where a rule
//! read one (docs/household.md lists every default).
//!
//! [`MODEL`] names every field with a default other than null or an empty
//! list; `tests/trace.rs` checks it against the JSON Schema of the model, so
//! a field given a default later cannot be left out of it. The household
//! reader notes the fields given along it while serde reads the record
//! (`onepass`, which also refuses an array where the model has a struct);
//! the two-pass reader it falls back to walks the text along it once more
//! (`validate::shape_and_defaults`).

/// The fields a household record left out, whose default the model used:
/// for each record of the text, which of its fields were given. Two records
/// compare equal whatever their defaulted fields: this says where values came
/// from, not what they are.
#[derive(Debug, Clone, Default)]
pub struct Defaulted(Vec<Rec>);

/// Which record a defaulted field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The household.
    Household,
    /// Member `i`.
    Member(u32),
    /// Claim `j` of member `i`.
    Claim(u32, u32),
    /// Loan `i`.
    Loan(u32),
}

/// A record of the text: `node` at `parent` (a field of the record `scope`,
/// or `""` for that record itself), with a bit set for each field given.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rec {
    pub scope: Scope,
    pub parent: &'static str,
    pub node: &'static Node,
    pub seen: u32,
}

/// The scope of element `index` of a list of records `node` in the record `outer`.
pub(super) fn element_scope(outer: Scope, node: &Node, index: usize) -> Scope {
    let i = u32::try_from(index).unwrap_or(u32::MAX);
    match outer {
        Scope::Household if node.name == "Member" => Scope::Member(i),
        Scope::Household => Scope::Loan(i),
        Scope::Member(m) => Scope::Claim(m, i),
        // the model has no lists deeper than claims
        other => other,
    }
}

/// A defaulted field: its record, the field of it that holds it (or `""`), its name.
type Leaf = (Scope, &'static str, &'static str);

fn path((scope, parent, name): Leaf) -> String {
    let mut p = match scope {
        Scope::Household => String::new(),
        Scope::Member(i) => format!("members[{i}]."),
        Scope::Claim(i, j) => format!("members[{i}].claims[{j}]."),
        Scope::Loan(i) => format!("loans[{i}]."),
    };
    if !parent.is_empty() {
        p.push_str(parent);
        p.push('.');
    }
    p.push_str(name);
    p
}

impl PartialEq for Defaulted {
    fn eq(&self, _: &Defaulted) -> bool {
        true
    }
}

impl Defaulted {
    pub(super) fn new(recs: Vec<Rec>) -> Defaulted {
        Defaulted(recs)
    }
    fn leaves(&self) -> impl Iterator<Item = Leaf> + '_ {
        self.0.iter().flat_map(|r| {
            r.node.fields.iter().enumerate().filter_map(move |(i, (name, kind))| {
                let given = r.seen & 1u32.checked_shl(i as u32).unwrap_or(0) != 0;
                (matches!(kind, Kind::Value) && !given).then_some((r.scope, r.parent, *name))
            })
        })
    }
    /// No field was defaulted (or the record was not read from JSON).
    pub fn is_empty(&self) -> bool {
        self.leaves().next().is_none()
    }
    /// The field at this JSON path (`housing.safety_grade`,
    /// `members[0].labour`) was defaulted.
    pub fn contains(&self, json_path: &str) -> bool {
        self.leaves().any(|l| path(l) == json_path)
    }
    /// The JSON path of field `field` (as named in its record:
    /// `employment.status`) of the record `scope`, if it was defaulted.
    pub fn find(&self, scope: Scope, field: &str) -> Option<String> {
        self.leaves()
            .find(|&(s, parent, name)| {
                s == scope
                    && if parent.is_empty() {
                        field == name
                    } else {
                        field.strip_prefix(parent).and_then(|r| r.strip_prefix('.')) == Some(name)
                    }
            })
            .map(path)
    }
    /// The defaulted JSON paths, in the order of the text.
    pub fn paths(&self) -> impl Iterator<Item = String> + '_ {
        self.leaves().map(path)
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

pub(super) const CLAIM: Node = Node {
    name: "Claim",
    fields: &[("in_county", Kind::Value), ("designated", Kind::Value), ("essential_medicine_cost", Kind::Value), ("category", Kind::Value)],
};
pub(super) const LOAN: Node = Node {
    name: "Loan",
    fields: &[
        ("repayment_difficulty", Kind::Value),
        ("difficulty_cause", Kind::Value),
        ("non_subjective", Kind::Value),
        ("renewed", Kind::Value),
    ],
};
pub(super) const DISABILITY: Node = Node { name: "Disability", fields: &[("certified", Kind::Value)] };
pub(super) const SCHOOLING: Node = Node {
    name: "Schooling",
    fields: &[
        ("enrolled", Kind::Value),
        ("graduated_not_admitted", Kind::Value),
        ("graduated_unemployed", Kind::Value),
        ("deep_mountain_area", Kind::Value),
    ],
};
pub(super) const EMPLOYMENT: Node = Node {
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
pub(super) const PENSION: Node = Node {
    name: "Pension",
    fields: &[("enrolled", Kind::Value), ("tier", Kind::Value), ("receiving", Kind::Value), ("employee", Kind::Value)],
};
pub(super) const MEMBER: Node = Node {
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
pub(super) const POVERTY: Node = Node { name: "PovertyRecord", fields: &[("status", Kind::Value)] };
pub(super) const DIBAO: Node = Node { name: "DibaoRecord", fields: &[("enrolled", Kind::Value)] };
pub(super) const HOUSING: Node = Node { name: "Housing", fields: &[("structure", Kind::Value), ("safety_grade", Kind::Value)] };

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

/// The defaulted fields of a household text (see `validate::shape_and_defaults`).
#[cfg(test)]
fn defaulted(text: &str) -> Defaulted {
    super::validate::shape_and_defaults(text).unwrap_or_default()
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
