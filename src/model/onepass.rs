//! The household reader's one pass: each record of the model is read by a
//! visitor of its own that, along the model's records ([`defaults::MODEL`]),
//! notes which fields the record gave (so the fields left to their defaults
//! are known without a second pass over the text), and that asks serde_json
//! for a JSON object wherever the model has a struct (serde's derived struct
//! visitors also take an array, fields by position; a household's objects
//! must be objects). Every value inside a record is read by its type's own
//! `Deserialize` (or the model's `deserialize_with` function), as the derived
//! visitors read it.
//!
//! It accepts a subset of what the two-pass reader (the derived
//! `Deserialize`, then the scan `validate::shape_and_defaults`) accepts:
//! where it accepts a text, the household and its defaulted fields are the
//! ones the two-pass reader gives (`tests/household_reader.rs` and the fuzz
//! target `eval_json` compare them). Anything it rejects goes to the two-pass
//! reader, which builds the error with its JSON path; so it needs no error
//! messages of its own. (It also leaves to the two-pass reader a record with
//! an escape in a key: it reads keys as borrowed text.)

use super::defaults::{self, Kind, Node, Rec, Scope};
use super::Household;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// Read a household in one pass; `None` when the text is not a well-formed
/// household (the two-pass reader then says why).
pub(super) fn read(json: &str) -> Option<Household> {
    let mut recs = Vec::with_capacity(16);
    let mut de = serde_json::Deserializer::from_str(json);
    let seed = RecordSeed::<Household> { scope: Scope::Household, parent: "", recs: &mut recs, ty: PhantomData };
    let mut h = seed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    h.defaulted = defaults::Defaulted::new(recs);
    Some(h)
}

/// A struct of the model read by its own visitor.
trait OnePass: Sized {
    /// Its record in [`defaults::MODEL`].
    const NODE: &'static Node;
    /// Read the struct from the entries of a JSON object, noting the records
    /// inside it in `recs`; the fields of [`Self::NODE`] given, as bits.
    fn read_map<'de, A: MapAccess<'de>>(map: A, scope: Scope, recs: &mut Vec<Rec>) -> Result<(Self, u32), A::Error>;
}

/// The bit of field `name` among the fields of `node` (0 when it has no default).
const fn bit(node: &Node, name: &str) -> u32 {
    let name = name.as_bytes();
    let mut i = 0;
    while i < node.fields.len() {
        let f = node.fields[i].0.as_bytes();
        if f.len() == name.len() {
            let mut k = 0;
            while k < f.len() && f[k] == name[k] {
                k += 1;
            }
            if k == f.len() {
                return 1 << i;
            }
        }
        i += 1;
    }
    0
}

/// A record of `scope` (`parent`: the field of that record it is in, `""`
/// for the record itself).
struct RecordSeed<'r, T> {
    scope: Scope,
    parent: &'static str,
    recs: &'r mut Vec<Rec>,
    ty: PhantomData<T>,
}

impl<'de, T: OnePass> DeserializeSeed<'de> for RecordSeed<'_, T> {
    type Value = T;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        // an object only: serde_json refuses anything else, an array included
        d.deserialize_map(self)
    }
}

impl<'de, T: OnePass> Visitor<'de> for RecordSeed<'_, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "struct {}", T::NODE.name)
    }
    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let (scope, parent, node) = (self.scope, self.parent, T::NODE);
        let (value, seen) = T::read_map(map, scope, &mut *self.recs)?;
        self.recs.push(Rec { scope, parent, node, seen });
        // a record left out whole: every field of it is defaulted
        for (i, (name, kind)) in node.fields.iter().enumerate() {
            if let Kind::Record(n) = kind {
                if seen & 1u32.checked_shl(i as u32).unwrap_or(0) == 0 {
                    self.recs.push(Rec { scope, parent: name, node: n, seen: 0 });
                }
            }
        }
        Ok(value)
    }
}

/// A record that may be `null` (absent, not defaulted).
struct OptionSeed<'r, T>(RecordSeed<'r, T>);

impl<'de, T: OnePass> DeserializeSeed<'de> for OptionSeed<'_, T> {
    type Value = Option<T>;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: OnePass> Visitor<'de> for OptionSeed<'_, T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "option")
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    #[inline]
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// A list of records in the record `outer`.
struct ListSeed<'r, T> {
    outer: Scope,
    recs: &'r mut Vec<Rec>,
    ty: PhantomData<T>,
}

impl<'de, T: OnePass> DeserializeSeed<'de> for ListSeed<'_, T> {
    type Value = Vec<T>;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: OnePass> Visitor<'de> for ListSeed<'_, T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a sequence")
    }
    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // as serde's own `Vec` visitor: capacity from the hint, at most 1 MiB of elements
        let cap = seq.size_hint().unwrap_or(0).min((1 << 20) / std::mem::size_of::<T>().max(1));
        let mut out = Vec::with_capacity(cap);
        loop {
            let scope = defaults::element_scope(self.outer, T::NODE, out.len());
            let seed = RecordSeed::<T> { scope, parent: "", recs: &mut *self.recs, ty: PhantomData };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => return Ok(out),
            }
        }
    }
}

/// A value read by one of the model's `deserialize_with` functions.
macro_rules! with_seed {
    ($name:ident, $ty:ty, $f:path) => {
        struct $name;
        impl<'de> DeserializeSeed<'de> for $name {
            type Value = $ty;
            #[inline]
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$ty, D::Error> {
                $f(d)
            }
        }
    };
}
with_seed!(Money, rust_decimal::Decimal, super::de::money);
with_seed!(Date, chrono::NaiveDate, super::de::date);
with_seed!(OptDate, Option<chrono::NaiveDate>, super::de::opt_date);

/// The visitor of a struct of the model, field by field as `#[derive(Deserialize)]`
/// with `deny_unknown_fields` reads it: `NAME: TYPE, HOW [= DEFAULT]`, where HOW is
/// `plain` (the type's `Deserialize`), `money`, `date`, `opt_date` (the
/// `deserialize_with` functions), `record`, `opt_record` or `list` (a record of
/// the model, or a list of them); a field without a default is required.
macro_rules! one_pass {
    ($ty:ident, $node:path, { $($field:ident: $t:ty, $how:ident $(= $default:expr)?;)* } $(skip $skip:ident)?) => {
        impl OnePass for super::$ty {
            const NODE: &'static Node = &$node;
            #[inline]
            fn read_map<'de, A: MapAccess<'de>>(mut map: A, scope: Scope, recs: &mut Vec<Rec>) -> Result<(Self, u32), A::Error> {
                let _ = (&scope, &recs);
                $(let mut $field: Option<$t> = None;)*
                let mut seen = 0u32;
                while let Some(key) = map.next_key::<&'de str>()? {
                    match key {
                        $(stringify!($field) => {
                            if $field.is_some() {
                                return Err(de::Error::duplicate_field(stringify!($field)));
                            }
                            seen |= const { bit(&$node, stringify!($field)) };
                            $field = Some(one_pass!(@value map, scope, recs, $field, $t, $how));
                        })*
                        other => return Err(de::Error::unknown_field(other, &[])),
                    }
                }
                let value = super::$ty {
                    $($field: one_pass!(@missing $field $(= $default)?),)*
                    $($skip: Default::default(),)?
                };
                Ok((value, seen))
            }
        }
    };
    (@value $map:ident, $scope:ident, $recs:ident, $field:ident, $t:ty, plain) => { $map.next_value::<$t>()? };
    (@value $map:ident, $scope:ident, $recs:ident, $field:ident, $t:ty, money) => { $map.next_value_seed(Money)? };
    (@value $map:ident, $scope:ident, $recs:ident, $field:ident, $t:ty, date) => { $map.next_value_seed(Date)? };
    (@value $map:ident, $scope:ident, $recs:ident, $field:ident, $t:ty, opt_date) => { $map.next_value_seed(OptDate)? };
    (@value $map:ident, $scope:ident, $recs:ident, $field:ident, $t:ty, record) => {
        $map.next_value_seed(RecordSeed { scope: $scope, parent: stringify!($field), recs: &mut *$recs, ty: PhantomData })?
    };
    (@value $map:ident, $scope:ident, $recs:ident, $field:ident, $t:ty, opt_record) => {
        $map.next_value_seed(OptionSeed(RecordSeed { scope: $scope, parent: stringify!($field), recs: &mut *$recs, ty: PhantomData }))?
    };
    (@value $map:ident, $scope:ident, $recs:ident, $field:ident, $t:ty, list) => {
        $map.next_value_seed(ListSeed { outer: $scope, recs: &mut *$recs, ty: PhantomData })?
    };
    (@missing $field:ident = $default:expr) => { match $field { Some(v) => v, None => $default } };
    (@missing $field:ident) => {
        match $field {
            Some(v) => v,
            None => return Err(de::Error::missing_field(stringify!($field))),
        }
    };
}

use super::{
    Claim, ClaimCategory, ClaimKind, DibaoRecord, Disability, DisabilityCategory, EmployerKind, Employment, EmploymentStatus, Facts,
    Hardship, HospitalLevel, Housing, Hukou, Labour, Loan, LoanKind, MajorDisease, Member, Pension, PovertyCause, PovertyRecord,
    PovertyStatus, Relation, Relocation, SafetyGrade, Schooling, Sex, Stage, Structure, Tekun,
};
use chrono::NaiveDate;
use rust_decimal::Decimal;

one_pass!(Household, defaults::MODEL, {
    id: String, plain;
    region: String, plain;
    hukou: Hukou, plain = super::default_hukou();
    poverty: PovertyRecord, record = PovertyRecord::default();
    dibao: DibaoRecord, record = DibaoRecord::default();
    tekun: Tekun, plain = super::default_tekun();
    income: Decimal, money;
    housing: Housing, record = Housing::default();
    deep_poverty_area: bool, plain = false;
    harsh_area: bool, plain = false;
    soil_erosion_area: bool, plain = false;
    relocation: Relocation, plain = super::default_relocation();
    forest_mu: Decimal, money = Decimal::default();
    hardship: Hardship, plain = super::default_hardship();
    members: Vec<Member>, list;
    loans: Vec<Loan>, list = Vec::new();
    facts: Facts, plain = Facts::default();
} skip defaulted);

one_pass!(PovertyRecord, defaults::POVERTY, {
    status: PovertyStatus, plain = super::default_status();
    registered_on: Option<NaiveDate>, opt_date = None;
    exited_on: Option<NaiveDate>, opt_date = None;
    cause: Option<PovertyCause>, plain = None;
});

one_pass!(DibaoRecord, defaults::DIBAO, {
    enrolled: bool, plain = false;
    since: Option<NaiveDate>, opt_date = None;
});

one_pass!(Housing, defaults::HOUSING, {
    structure: Structure, plain = super::default_structure();
    safety_grade: SafetyGrade, plain = super::default_grade();
});

one_pass!(Member, defaults::MEMBER, {
    id: String, plain;
    birth_date: NaiveDate, date;
    sex: Sex, plain;
    relation: Relation, plain = super::default_relation();
    labour: Labour, plain = super::default_labour();
    disability: Option<Disability>, opt_record = None;
    chronic_disease: bool, plain = false;
    outpatient_major_disease: bool, plain = false;
    major_diseases: Vec<MajorDisease>, plain = Vec::new();
    schooling: Option<Schooling>, opt_record = None;
    employment: Employment, record = Employment::default();
    medical_insurance: bool, plain = super::default_true();
    pension: Pension, record = Pension::default();
    claims: Vec<Claim>, list = Vec::new();
    facts: Facts, plain = Facts::default();
});

one_pass!(Disability, defaults::DISABILITY, {
    category: DisabilityCategory, plain;
    grade: u8, plain;
    certified: bool, plain = false;
});

one_pass!(Schooling, defaults::SCHOOLING, {
    stage: Stage, plain;
    enrolled: bool, plain = false;
    graduated_not_admitted: bool, plain = false;
    graduated_unemployed: bool, plain = false;
    deep_mountain_area: bool, plain = false;
});

one_pass!(Employment, defaults::EMPLOYMENT, {
    status: EmploymentStatus, plain = super::default_emp_status();
    employer: EmployerKind, plain = super::default_employer();
    local_employer: bool, plain = false;
    contract_months: u32, plain = 0;
    social_insurance: bool, plain = false;
    placed_by_agency: bool, plain = false;
    in_town_months: u32, plain = 0;
    willing: bool, plain = false;
    starting_business: bool, plain = false;
    wage_tier: u8, plain = 0;
});

one_pass!(Pension, defaults::PENSION, {
    enrolled: bool, plain = false;
    tier: u8, plain = 0;
    receiving: bool, plain = false;
    employee: bool, plain = false;
});

one_pass!(Claim, defaults::CLAIM, {
    id: Option<String>, plain = None;
    date: NaiveDate, date;
    kind: ClaimKind, plain;
    hospital_level: HospitalLevel, plain;
    in_county: bool, plain = super::default_true();
    designated: bool, plain = super::default_true();
    total_cost: Decimal, money;
    in_policy_cost: Decimal, money;
    essential_medicine_cost: Decimal, money = Decimal::default();
    category: ClaimCategory, plain = super::default_category();
    disease: Option<MajorDisease>, plain = None;
    facts: Facts, plain = Facts::default();
});

one_pass!(Loan, defaults::LOAN, {
    id: Option<String>, plain = None;
    kind: LoanKind, plain;
    borrower: Option<String>, plain = None;
    principal: Decimal, money;
    start_date: NaiveDate, date;
    maturity_date: NaiveDate, date;
    rate: Decimal, money;
    repayment_difficulty: bool, plain = false;
    difficulty_cause: Hardship, plain = super::default_hardship();
    non_subjective: bool, plain = false;
    extended_to: Option<NaiveDate>, opt_date = None;
    renewed: bool, plain = false;
    facts: Facts, plain = Facts::default();
});
