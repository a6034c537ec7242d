//! Declared facts: the inputs a policy declares beyond the core model
//! (`fact member.study_year: int { … }`), carried on each record in a
//! `facts` object.
//!
//! The household model does not know which facts the loaded policies
//! declare, so a record's facts are kept as read ([`FactValue`]: a bool, an
//! exact number, a text or a list) and checked against the declarations when
//! an engine reads them: an undeclared fact, a missing required one or a
//! value of the wrong type is an error with its JSON path
//! (`members[0].facts.study_year`). A service sets facts with
//! [`Facts::set`], which checks the value against the declaration
//! ([`FactSpec`], from `Engine::fact`).

use super::de::{parse_date, parse_money};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// A declared fact's value as carried by a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactValue {
    /// `true` / `false`.
    Bool(bool),
    /// An exact number (JSON number in plain decimal form).
    Number(Decimal),
    /// A string: text, a date (`YYYY-MM-DD`), money or a decimal written as a
    /// string (`"9800.50"`), or an enumeration variant.
    Text(String),
    /// A list.
    List(Vec<FactValue>),
}

impl From<bool> for FactValue {
    fn from(v: bool) -> Self {
        FactValue::Bool(v)
    }
}
impl From<i64> for FactValue {
    fn from(v: i64) -> Self {
        FactValue::Number(Decimal::from(v))
    }
}
impl From<i32> for FactValue {
    fn from(v: i32) -> Self {
        FactValue::Number(Decimal::from(v))
    }
}
impl From<u32> for FactValue {
    fn from(v: u32) -> Self {
        FactValue::Number(Decimal::from(v))
    }
}
impl From<Decimal> for FactValue {
    fn from(v: Decimal) -> Self {
        FactValue::Number(v)
    }
}
impl From<NaiveDate> for FactValue {
    fn from(v: NaiveDate) -> Self {
        FactValue::Text(v.format("%Y-%m-%d").to_string())
    }
}
impl From<&str> for FactValue {
    fn from(v: &str) -> Self {
        FactValue::Text(v.to_string())
    }
}
impl From<String> for FactValue {
    fn from(v: String) -> Self {
        FactValue::Text(v)
    }
}
impl<T: Into<FactValue>> From<Vec<T>> for FactValue {
    fn from(v: Vec<T>) -> Self {
        FactValue::List(v.into_iter().map(Into::into).collect())
    }
}

impl Serialize for FactValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FactValue::Bool(b) => s.serialize_bool(*b),
            // exact: the number's own digits, as a JSON number
            FactValue::Number(d) => super::de::number(d, s),
            FactValue::Text(t) => s.serialize_str(t),
            FactValue::List(items) => items.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for FactValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // serde_json hands the value over as its text (numbers exact, as
        // written); another format, as its own value
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FactValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a fact value: a bool, a number, a string or a list of them")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FactValue, A::Error> {
                use serde::de::Error;
                match map.next_key_seed(super::de::TokenKey)? {
                    Some(super::de::Token::Raw) => {
                        let text: std::borrow::Cow<'de, str> = map.next_value()?;
                        from_text(&text, 0).map_err(A::Error::custom)
                    }
                    _ => Err(A::Error::custom("an object is not a fact value (a bool, a number, a string or a list)")),
                }
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<FactValue, D::Error> {
                use serde::de::Error;
                let v = serde_json::Value::deserialize(d)?;
                from_json(v, 0).map_err(D::Error::custom)
            }
        }
        d.deserialize_newtype_struct(super::de::RAW_TOKEN, V)
    }
}

/// A fact value from the text of a JSON value: a number exact from its own
/// digits, a list item by item.
fn from_text(text: &str, depth: usize) -> Result<FactValue, String> {
    match text.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => Ok(FactValue::Number(parse_money(text)?)),
        Some(b'[') if depth < MAX_NESTING => {
            let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(text).map_err(|e| e.to_string())?;
            Ok(FactValue::List(items.into_iter().map(|i| from_text(i.get(), depth + 1)).collect::<Result<_, _>>()?))
        }
        Some(b'[') => Err("a list of lists is not a fact value".into()),
        _ => from_json(serde_json::from_str(text).map_err(|e| e.to_string())?, depth),
    }
}

/// Lists nest at most this deep (a fact is a value or a list of values).
const MAX_NESTING: usize = 1;

fn from_json(v: serde_json::Value, depth: usize) -> Result<FactValue, String> {
    use serde_json::Value as J;
    Ok(match v {
        J::Bool(b) => FactValue::Bool(b),
        J::Number(n) => FactValue::Number(parse_money(&n.to_string())?),
        J::String(s) => FactValue::Text(s),
        J::Array(items) if depth < MAX_NESTING => {
            FactValue::List(items.into_iter().map(|i| from_json(i, depth + 1)).collect::<Result<_, _>>()?)
        }
        J::Array(_) => return Err("a list of lists is not a fact value".into()),
        J::Null => return Err("null is not a fact value: leave an absent fact out".into()),
        J::Object(_) => return Err("an object is not a fact value (a bool, a number, a string or a list)".into()),
    })
}

/// The declared facts of one record (household, member, claim or loan):
/// name → value. In JSON, an object under the record's `facts` key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Facts(BTreeMap<String, FactValue>);

impl Facts {
    /// No facts.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// A fact's value, by name.
    pub fn get(&self, name: &str) -> Option<&FactValue> {
        self.0.get(name)
    }
    /// Every fact, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FactValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// Set a declared fact, checking the value against its declaration.
    pub fn set(&mut self, spec: &FactSpec, value: impl Into<FactValue>) -> Result<(), FactError> {
        let value = value.into();
        spec.check(&value).map_err(|message| FactError { fact: spec.path(), message })?;
        self.0.insert(spec.name.clone(), value);
        Ok(())
    }
    /// Remove a fact (an optional fact is then absent).
    pub fn remove(&mut self, name: &str) -> Option<FactValue> {
        self.0.remove(name)
    }
}

impl schemars::JsonSchema for FactValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FactValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let scalar = serde_json::json!({ "type": ["boolean", "number", "string"] });
        schemars::json_schema!({
            "description": "a declared fact's value: a bool, an exact number, a string, or a list of these",
            "anyOf": [ scalar, { "type": "array", "items": scalar } ]
        })
    }
}

impl schemars::JsonSchema for Facts {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Facts".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let value = g.subschema_for::<FactValue>();
        schemars::json_schema!({
            "type": "object",
            "description": "facts the loaded policies declare for this record, by name (`fupin schema` lists them)",
            "additionalProperties": value
        })
    }
}

/// The record a declared fact belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FactOwner {
    /// The household.
    Household,
    /// Each member.
    Member,
    /// Each medical claim.
    Claim,
    /// Each loan.
    Loan,
}

impl FactOwner {
    /// As written in a declaration (`member`).
    pub fn as_str(self) -> &'static str {
        match self {
            FactOwner::Household => "household",
            FactOwner::Member => "member",
            FactOwner::Claim => "claim",
            FactOwner::Loan => "loan",
        }
    }
}

/// The type of a declared fact's value (of each element, for a list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// `bool`
    Bool,
    /// `int`: a whole number.
    Int,
    /// `decimal`
    Decimal,
    /// Money: `yuan`, `yuan/year` or `yuan/month` (the unit as written).
    Money(String),
    /// `rate`: a fraction (`0.7` for 70%).
    Rate,
    /// `date`: `YYYY-MM-DD`.
    Date,
    /// `days`: a whole number of days.
    Days,
    /// `text`
    Text,
    /// A declared enumeration: its name and variants in order.
    Enum {
        /// The enumeration's name.
        name: String,
        /// Its variants.
        variants: Vec<String>,
    },
}

impl FactKind {
    /// The type as written in a declaration.
    pub fn name(&self) -> String {
        match self {
            FactKind::Bool => "bool".into(),
            FactKind::Int => "int".into(),
            FactKind::Decimal => "decimal".into(),
            FactKind::Money(unit) => unit.clone(),
            FactKind::Rate => "rate".into(),
            FactKind::Date => "date".into(),
            FactKind::Days => "days".into(),
            FactKind::Text => "text".into(),
            FactKind::Enum { name, .. } => name.clone(),
        }
    }
}

/// One value read for a fact of a known kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// A bool.
    Bool(bool),
    /// A number (int, decimal, money, rate, days).
    Num(Decimal),
    /// A date.
    Date(NaiveDate),
    /// A text.
    Text(&'a str),
    /// An enumeration variant, by ordinal.
    Variant(u16),
}

impl FactKind {
    /// Read one value of this kind, or say what is wrong with it.
    pub fn read<'a>(&self, v: &'a FactValue) -> Result<Scalar<'a>, String> {
        let expected = || format!("expected {}", self.describe());
        match (self, v) {
            (FactKind::Bool, FactValue::Bool(b)) => Ok(Scalar::Bool(*b)),
            (FactKind::Int | FactKind::Days, FactValue::Number(d)) => {
                if d.fract().is_zero() {
                    Ok(Scalar::Num(d.trunc()))
                } else {
                    Err(format!("{} is not a whole number: {}", d, expected()))
                }
            }
            (FactKind::Decimal | FactKind::Money(_) | FactKind::Rate, FactValue::Number(d)) => Ok(Scalar::Num(*d)),
            (FactKind::Decimal | FactKind::Money(_) | FactKind::Rate, FactValue::Text(t)) => parse_money(t).map(Scalar::Num),
            (FactKind::Date, FactValue::Text(t)) => parse_date(t).map(Scalar::Date),
            (FactKind::Text, FactValue::Text(t)) => Ok(Scalar::Text(t)),
            (FactKind::Enum { variants, .. }, FactValue::Text(t)) => match variants.iter().position(|v| v == t) {
                Some(i) => Ok(Scalar::Variant(i as u16)),
                None => Err(format!("unknown variant {t:?}: {}", expected())),
            },
            (_, found) => Err(format!("{}, found {}", expected(), found_name(found))),
        }
    }

    /// What a value of this kind looks like in JSON.
    pub fn describe(&self) -> String {
        match self {
            FactKind::Bool => "bool (true or false)".into(),
            FactKind::Int => "int (a whole number)".into(),
            FactKind::Days => "days (a whole number)".into(),
            FactKind::Decimal => "decimal (an exact decimal number or string)".into(),
            FactKind::Money(unit) => format!("{unit} (an exact decimal number or string, such as \"9800.50\")"),
            FactKind::Rate => "rate (a fraction such as 0.7 for 70%)".into(),
            FactKind::Date => "date (a string YYYY-MM-DD)".into(),
            FactKind::Text => "text (a string)".into(),
            FactKind::Enum { name, variants } => format!("{name} (one of {})", variants.join(", ")),
        }
    }
}

fn found_name(v: &FactValue) -> &'static str {
    match v {
        FactValue::Bool(_) => "a bool",
        FactValue::Number(_) => "a number",
        FactValue::Text(_) => "a string",
        FactValue::List(_) => "a list",
    }
}

/// A declared fact, as a service sees it: where it lives, its type, and
/// whether a record may leave it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactSpec {
    /// The record it belongs to.
    pub owner: FactOwner,
    /// Its name (the key in the record's `facts`).
    pub name: String,
    /// The type of its value (of each element, for a list).
    pub kind: FactKind,
    /// A list of values.
    pub list: bool,
    /// May be absent.
    pub optional: bool,
    /// Title.
    pub title: Option<String>,
    /// The clause that makes it relevant.
    pub cite: Option<String>,
    /// The policies that declare it.
    pub declared_by: Vec<String>,
}

impl FactSpec {
    /// `member.study_year`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.owner.as_str(), self.name)
    }

    /// The type as written in a declaration (`list of higher_level`).
    pub fn type_name(&self) -> String {
        if self.list {
            format!("list of {}", self.kind.name())
        } else {
            self.kind.name()
        }
    }

    /// Check a value against the declaration.
    pub fn check(&self, v: &FactValue) -> Result<(), String> {
        match (self.list, v) {
            (true, FactValue::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.kind.read(item).map_err(|e| format!("item {i}: {e}"))?;
                }
                Ok(())
            }
            (true, other) => Err(format!("expected a list of {}, found {}", self.kind.describe(), found_name(other))),
            (false, FactValue::List(_)) => Err(format!("expected {}, found a list", self.kind.describe())),
            (false, one) => self.kind.read(one).map(|_| ()),
        }
    }
}

/// A fact that cannot be set: undeclared, or a value of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fact `{fact}`: {message}")]
pub struct FactError {
    /// The fact (`member.study_year`).
    pub fact: String,
    /// What is wrong.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_and_written_with_their_own_digits() {
        // through a float, 0.10 would lose its scale and 0.1 + 0.2 would not be 0.3
        let v: Facts = serde_json::from_str(r#"{"a": 0.10, "b": [0.1, 0.2, 12345678901234567890.123456789], "c": "0.1"}"#).expect("facts");
        assert_eq!(v.get("a"), Some(&FactValue::Number(Decimal::new(10, 2))));
        let Some(FactValue::List(b)) = v.get("b") else { panic!("{v:?}") };
        assert_eq!(b[2], FactValue::Number("12345678901234567890.123456789".parse().expect("decimal")));
        assert_eq!(serde_json::to_string(&v).expect("json"), r#"{"a":0.10,"b":[0.1,0.2,12345678901234567890.123456789],"c":"0.1"}"#);
        // what would round, or is no decimal, is an error, never a value
        assert!(serde_json::from_str::<Facts>(r#"{"a": 1e3}"#).is_err());
        assert!(serde_json::from_str::<Facts>(r#"{"a": 1.23456789012345678901234567891}"#).is_err());
        assert!(serde_json::from_str::<Facts>(r#"{"a": [[1]]}"#).is_err());
        assert!(serde_json::from_str::<Facts>(r#"{"a": null}"#).is_err());
    }
}
