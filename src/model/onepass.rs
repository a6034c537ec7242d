//! The household reader's one pass: serde reads the record through a thin
//! wrapper around serde_json's deserializer that, along the model's records
//! ([`defaults::MODEL`]), notes which fields each record gave (so the fields
//! left to their defaults are known without a second pass over the text) and
//! asks serde_json for a JSON object wherever the model has a struct (serde's
//! derived struct visitors also take an array, fields by position; a
//! household's objects must be objects).
//!
//! It accepts a subset of what the two-pass reader (plain serde, then the
//! scan `validate::shape_and_defaults`) accepts: where it accepts a text, the
//! household and its defaulted fields are the ones the two-pass reader gives
//! (`tests/household_reader.rs` and the fuzz target `eval_json` compare them).
//! Anything it rejects goes to the two-pass reader, which builds the error
//! with its JSON path; so it needs no error messages of its own. (It also
//! leaves to the two-pass reader a record with an escape in a key: it reads
//! keys as borrowed text.)

use super::defaults::{self, Kind, Node, Rec, Scope};
use super::Household;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Read a household in one pass; `None` when the text is not a well-formed
/// household (the two-pass reader then says why).
pub(super) fn read(json: &str) -> Option<Household> {
    let mut recs = Vec::with_capacity(16);
    let mut de = serde_json::Deserializer::from_str(json);
    let want = Want::Record { node: &defaults::MODEL, scope: Scope::Household, parent: "" };
    let mut h: Household = serde::Deserialize::deserialize(Reader { de: &mut de, want, recs: &mut recs }).ok()?;
    de.end().ok()?;
    h.defaulted = defaults::Defaulted::new(recs);
    Some(h)
}

/// What the model has where a value is read.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// Record `node` of `scope`; `parent` names the field of that record it
    /// is in (`employment`), `""` for the record itself.
    Record { node: &'static Node, scope: Scope, parent: &'static str },
    /// A list of records `node` in the record `outer`.
    List { node: &'static Node, outer: Scope },
}

/// A deserializer for a value where the model has a record or a list of
/// records; every request but for a struct, an option or a sequence goes
/// straight to serde_json.
struct Reader<'r, D> {
    de: D,
    want: Want,
    recs: &'r mut Vec<Rec>,
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            #[inline]
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.de.$method($($arg,)* visitor)
            }
        )*
    };
}

/// The requests a [`Reader`] hands on unchanged.
macro_rules! forward_plain {
    () => {
        forward! {
            deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
            deserialize_i64(); deserialize_i128(); deserialize_u8(); deserialize_u16(); deserialize_u32();
            deserialize_u64(); deserialize_u128(); deserialize_f32(); deserialize_f64(); deserialize_char();
            deserialize_str(); deserialize_string(); deserialize_bytes(); deserialize_byte_buf(); deserialize_unit();
            deserialize_unit_struct(name: &'static str); deserialize_newtype_struct(name: &'static str);
            deserialize_tuple(len: usize); deserialize_tuple_struct(name: &'static str, len: usize);
            deserialize_map(); deserialize_ignored_any();
            deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        }
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Reader<'_, D> {
    type Error = D::Error;

    forward_plain!();
    forward! { deserialize_identifier(); }

    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        match self.want {
            // an object only: serde_json refuses anything else, an array included
            Want::Record { node, scope, parent } => {
                self.de.deserialize_map(RecordVisitor { visitor, node, scope, parent, recs: self.recs })
            }
            Want::List { .. } => self.de.deserialize_struct(name, fields, visitor),
        }
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_option(OptionVisitor { visitor, want: self.want, recs: self.recs })
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        match self.want {
            Want::List { node, outer } => self.de.deserialize_seq(ListVisitor { visitor, node, outer, recs: self.recs }),
            Want::Record { .. } => self.de.deserialize_seq(visitor),
        }
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// A value read with a [`Reader`] wanting `want`.
struct Seed<'r, S> {
    seed: S,
    want: Want,
    recs: &'r mut Vec<Rec>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Reader { de, want: self.want, recs: self.recs })
    }
}

struct OptionVisitor<'r, V> {
    visitor: V,
    want: Want,
    recs: &'r mut Vec<Rec>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for OptionVisitor<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(f)
    }
    #[inline]
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }
    #[inline]
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }
    #[inline]
    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Reader { de, want: self.want, recs: self.recs })
    }
}

struct ListVisitor<'r, V> {
    visitor: V,
    node: &'static Node,
    outer: Scope,
    recs: &'r mut Vec<Rec>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for ListVisitor<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(f)
    }
    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(ListAccess { seq, node: self.node, outer: self.outer, index: 0, recs: self.recs })
    }
}

struct ListAccess<'r, A> {
    seq: A,
    node: &'static Node,
    outer: Scope,
    index: usize,
    recs: &'r mut Vec<Rec>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for ListAccess<'_, A> {
    type Error = A::Error;
    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        let scope = defaults::element_scope(self.outer, self.node, self.index);
        let want = Want::Record { node: self.node, scope, parent: "" };
        let next = self.seq.next_element_seed(Seed { seed, want, recs: &mut *self.recs })?;
        self.index += 1;
        Ok(next)
    }
    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

struct RecordVisitor<'r, V> {
    visitor: V,
    node: &'static Node,
    scope: Scope,
    parent: &'static str,
    recs: &'r mut Vec<Rec>,
}

/// The fields of one record given so far, and the field of the last key read.
struct Given {
    seen: u32,
    last: Option<usize>,
    /// Where the next key is looked for first: a record written from the
    /// model has its fields in the model's order.
    hint: usize,
    /// A bit for the [`sketch`] of each field name of the record's node: most
    /// keys are not among the fields with a default, and most of those are
    /// told apart by their sketch alone.
    sketches: u64,
}

/// A number below 64 from a key's length and first and last bytes.
#[inline]
fn sketch(key: &[u8]) -> u32 {
    let (first, last) = (key.first().copied().unwrap_or(0), key.last().copied().unwrap_or(0));
    (key.len() as u32).wrapping_mul(7).wrapping_add(u32::from(first)).wrapping_add(u32::from(last).wrapping_mul(3)) & 63
}

impl Given {
    fn new(node: &Node) -> Given {
        let sketches = node.fields.iter().fold(0u64, |m, (name, _)| m | 1u64 << sketch(name.as_bytes()));
        Given { seen: 0, last: None, hint: 0, sketches }
    }

    #[inline]
    fn note(&mut self, node: &Node, key: &[u8]) {
        self.last = None;
        if self.sketches & 1u64 << sketch(key) == 0 {
            return;
        }
        let fields = node.fields;
        let n = fields.len();
        let mut i = self.hint;
        for _ in 0..n {
            if i >= n {
                i = 0;
            }
            if fields.get(i).is_some_and(|(name, _)| name.as_bytes() == key) {
                self.last = Some(i);
                self.hint = i + 1;
                self.seen |= 1u32.checked_shl(i as u32).unwrap_or(0);
                return;
            }
            i += 1;
        }
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for RecordVisitor<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(f)
    }
    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let (node, scope, parent) = (self.node, self.scope, self.parent);
        let mut given = Given::new(node);
        let value = self.visitor.visit_map(RecordAccess { map, node, scope, given: &mut given, recs: &mut *self.recs })?;
        let seen = given.seen;
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

struct RecordAccess<'r, A> {
    map: A,
    node: &'static Node,
    scope: Scope,
    given: &'r mut Given,
    recs: &'r mut Vec<Rec>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for RecordAccess<'_, A> {
    type Error = A::Error;
    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        // the key as it is in the text: a key with an escape in it cannot be
        // borrowed, and is left to the two-pass reader
        match self.map.next_key::<&'de str>()? {
            None => Ok(None),
            Some(key) => {
                self.given.note(self.node, key.as_bytes());
                seed.deserialize(de::value::BorrowedStrDeserializer::new(key)).map(Some)
            }
        }
    }
    #[inline]
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let field = self.given.last.take().and_then(|i| self.node.fields.get(i));
        let want = match field {
            Some((name, Kind::Record(n) | Kind::Optional(n))) => Want::Record { node: n, scope: self.scope, parent: name },
            Some((_, Kind::List(n))) => Want::List { node: n, outer: self.scope },
            Some((_, Kind::Value)) | None => return self.map.next_value_seed(seed),
        };
        self.map.next_value_seed(Seed { seed, want, recs: &mut *self.recs })
    }
    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}
