//! The one accepted text form of money and dates in household JSON.
//!
//! - **Money** (and every other decimal: rates, areas) is a JSON number or a
//!   JSON string in plain decimal notation: an optional `-`, digits, and
//!   optionally `.` and more digits (`9800`, `"9800.50"`, `-0.5`). No
//!   exponent (`9.8e3`), no `_` or `,` separators, no `+`, no spaces, no
//!   leading or trailing `.`. The value must be exact in a
//!   `rust_decimal::Decimal` (at most 28 significant digits, magnitude below
//!   7.9 × 10^28, at most 28 digits after the point); anything else is an
//!   error, never rounded.
//! - **Dates** are strings `YYYY-MM-DD` exactly: a four-digit year 0001–9999,
//!   a two-digit month and a two-digit day, naming a real day (`2018-02-30`
//!   is rejected).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// What a money value must look like (used in messages).
const MONEY_FORM: &str = "an exact decimal: a JSON number or a string such as \"9800.50\" (digits, optional - and .)";

/// Parse money text in the one accepted form (see the module documentation).
pub fn parse_money(s: &str) -> Result<Decimal, String> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        let hint = if s.contains(['e', 'E']) {
            " (no exponent: write the digits out)"
        } else if s.contains(['_', ',']) {
            " (no digit separators)"
        } else {
            ""
        };
        return Err(format!("invalid money {s:?}: expected {MONEY_FORM}{hint}"));
    }
    Decimal::from_str_exact(s).map_err(|_| {
        format!(
            "money {s:?} cannot be represented exactly and would have to be rounded (a decimal holds a magnitude \
             below 7.9e28 with 28 or 29 significant digits, at most 28 after the point)"
        )
    })
}

/// Parse a date in the one accepted form `YYYY-MM-DD` (year 0001–9999).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let form = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !form {
        return Err(format!("invalid date {s:?}: expected YYYY-MM-DD (a four-digit year 0001-9999, a two-digit month and day)"));
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok()).unwrap_or(0);
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    if y == 0 {
        return Err(format!("invalid date {s:?}: the year must be 0001 to 9999"));
    }
    i32::try_from(y).ok().and_then(|y| NaiveDate::from_ymd_opt(y, m, d)).ok_or_else(|| format!("invalid date {s:?}: no such day"))
}

struct MoneyVisitor;

impl<'de> Visitor<'de> for MoneyVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(MONEY_FORM)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_money(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    // a map: serde_json's raw value (the value's own text, see `money`), or
    // an arbitrary-precision number where a crate of the build switched that
    // feature on (its exact text too); any other map is not money
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Decimal, A::Error> {
        match map.next_key_seed(TokenKey)? {
            Some(Token::Raw) => map.next_value_seed(RawText(raw_money)),
            Some(Token::Number) => map.next_value_seed(RawText(|t| parse_money(t).map_err(Wrong::Custom))),
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }

    // a format other than JSON text: its own value
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(MoneyVisitor)
    }
}

/// The name by which serde_json hands a value over as its text (its
/// `RawValue`, with the `raw_value` feature fupin switches on): asked for a
/// newtype struct of this name, serde_json visits a map of one entry, this
/// key and the text. Other formats visit the newtype with their value.
pub(crate) const RAW_TOKEN: &str = "$serde_json::private::RawValue";

/// The key under which serde_json's `arbitrary_precision` feature (off in
/// fupin, but a crate of the build may switch it on) hands a number over.
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// The key of a map a value was handed over in.
pub(crate) enum Token {
    /// [`RAW_TOKEN`]: the value's text follows.
    Raw,
    /// [`NUMBER_TOKEN`]: a number's text follows.
    Number,
    /// Any other key: a real map.
    Other,
}

/// Reads a map key as a [`Token`], without copying it.
pub(crate) struct TokenKey;

impl<'de> de::DeserializeSeed<'de> for TokenKey {
    type Value = Token;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Token, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for TokenKey {
    type Value = Token;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Token, E> {
        Ok(match v {
            RAW_TOKEN => Token::Raw,
            NUMBER_TOKEN => Token::Number,
            _ => Token::Other,
        })
    }
}

/// Why a text is not the value: a wrong type (serde's message), or another reason.
pub(crate) enum Wrong {
    Type(de::Unexpected<'static>),
    Custom(String),
}

/// Reads the text of a raw value with `f`.
struct RawText<T>(fn(&str) -> Result<T, Wrong>);

impl<'de, T> de::DeserializeSeed<'de> for RawText<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_str(self)
    }
}

impl<T> Visitor<'_> for RawText<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(MONEY_FORM)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(|w| match w {
            Wrong::Type(u) => E::invalid_type(u, &MoneyVisitor),
            Wrong::Custom(m) => E::custom(m),
        })
    }
}

/// The kind of JSON value a raw text holds, when it is not a number or a string.
pub(crate) fn unexpected(text: &str) -> de::Unexpected<'static> {
    match text.as_bytes().first() {
        Some(b't') => de::Unexpected::Bool(true),
        Some(b'f') => de::Unexpected::Bool(false),
        Some(b'n') => de::Unexpected::Unit,
        Some(b'[') => de::Unexpected::Seq,
        _ => de::Unexpected::Map,
    }
}

/// Money from the text of a JSON value: a number's digits as written, or a string's content.
fn raw_money(text: &str) -> Result<Decimal, Wrong> {
    match text.as_bytes().first() {
        Some(b'"') => {
            let s: String = serde_json::from_str(text).map_err(|e| Wrong::Custom(e.to_string()))?;
            parse_money(&s).map_err(Wrong::Custom)
        }
        Some(b'-' | b'0'..=b'9') => parse_money(text).map_err(Wrong::Custom),
        _ => Err(Wrong::Type(unexpected(text))),
    }
}

/// `deserialize_with` for money and other decimals: exact, from the
/// number's own digits. serde_json hands them over as written (its raw
/// value); fupin does not switch serde_json's `arbitrary_precision` on,
/// which would change how every crate of the build reads numbers.
pub fn money<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_newtype_struct(RAW_TOKEN, MoneyVisitor)
}

/// A decimal as a JSON number of its own digits and scale (`7200.50`),
/// written by serde_json as it is (a declared fact's number).
pub fn number<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    let text = d.to_string();
    match serde_json::value::RawValue::from_string(text) {
        Ok(raw) => raw.serialize(s),
        // a Decimal always prints as a JSON number; the fallback is never taken
        Err(_) => s.serialize_str(&d.to_string()),
    }
}

struct DateVisitor;

impl Visitor<'_> for DateVisitor {
    type Value = NaiveDate;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a date string YYYY-MM-DD")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<NaiveDate, E> {
        parse_date(v).map_err(E::custom)
    }
}

/// `deserialize_with` for dates.
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    d.deserialize_str(DateVisitor)
}

/// `deserialize_with` for optional dates (`null` or absent is `None`).
pub fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    struct Opt;
    impl<'de> Visitor<'de> for Opt {
        type Value = Option<NaiveDate>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a date string YYYY-MM-DD or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            date(d).map(Some)
        }
    }
    d.deserialize_option(Opt)
}

/// The JSON Schema of money and other decimals (`schema_with` of [`money`]):
/// a JSON number, or a string in the plain decimal form.
pub fn money_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "an exact decimal: a JSON number in plain decimal notation, or a string such as \"9800.50\" (digits, optional - and .; no exponent, no separators)",
        "anyOf": [
            { "type": "number" },
            { "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$" }
        ]
    })
}

/// The JSON Schema of a date (`schema_with` of [`date`]).
pub fn date_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "format": "date",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "a date YYYY-MM-DD (year 0001-9999, a real day)"
    })
}

/// The JSON Schema of an optional date (`schema_with` of [`opt_date`]).
pub fn opt_date_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let date = date_schema(g);
    schemars::json_schema!({ "anyOf": [ date, { "type": "null" } ] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_one_form() {
        assert_eq!(parse_money("9800").map(|d| d.to_string()), Ok("9800".to_string()));
        assert_eq!(parse_money("-0.50").map(|d| d.to_string()), Ok("-0.50".to_string()));
        assert_eq!(parse_money("007").map(|d| d.to_string()), Ok("7".to_string()));
        for bad in ["9_800", "9.8e3", "1E3", "9,800", "+1", " 1", "1 ", "", "-", ".5", "5.", "1.2.3", "0x10", "NaN", "１"] {
            let err = parse_money(bad).err().unwrap_or_default();
            assert!(err.starts_with("invalid money"), "{bad:?}: {err}");
        }
        assert!(parse_money("9.8e3").err().unwrap_or_default().contains("no exponent"));
        assert!(parse_money("9_800").err().unwrap_or_default().contains("no digit separators"));
    }

    #[test]
    fn money_is_exact_or_rejected() {
        // What fits is kept digit for digit (29 digits fit below 2^96).
        for good in ["1234567890123456789012345678", "0.1234567890123456789012345678", "79228162514264337593543950335"] {
            assert_eq!(parse_money(good).map(|d| d.to_string()).as_deref(), Ok(good));
        }
        // What would have to round is rejected.
        for bad in [
            "79228162514264337593543950336",
            "1.23456789012345678901234567891",
            "9999999999999999999999999999.5",
            "0.00000000000000000000000000001",
        ] {
            let err = parse_money(bad).err().unwrap_or_default();
            assert!(err.contains("cannot be represented exactly"), "{bad}: {err}");
        }
    }

    #[test]
    fn dates_have_one_form() {
        assert_eq!(parse_date("2018-06-01"), Ok(NaiveDate::from_ymd_opt(2018, 6, 1).unwrap_or_default()));
        assert!(parse_date("0001-01-01").is_ok());
        assert!(parse_date("9999-12-31").is_ok());
        for bad in
            ["1955-1-3", "1955-01-3", "+10000-01-01", "10000-01-01", "-0001-01-01", "2018/06/01", "20180601", " 2018-06-01", "２018-06-01"]
        {
            let err = parse_date(bad).err().unwrap_or_default();
            assert!(err.contains("expected YYYY-MM-DD"), "{bad}: {err}");
        }
        assert!(parse_date("0000-01-01").err().unwrap_or_default().contains("0001 to 9999"));
        assert!(parse_date("2018-02-30").err().unwrap_or_default().contains("no such day"));
        assert!(parse_date("2018-13-01").err().unwrap_or_default().contains("no such day"));
    }
}
