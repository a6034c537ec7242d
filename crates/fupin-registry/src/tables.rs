//! Household JSON records written out as a registry's tables: the inverse
//! of [`crate::read`], for `fupin registry convert` (JSON Lines → tables)
//! and `fupin registry generate`.
//!
//! Every table gets every column the layout has for it; a Parquet column is
//! typed by the field's kind (dates as `Date32`, whole numbers as `Int64`,
//! `true`/`false` as `Boolean`, lists as lists of text) except decimals,
//! written as their exact text; in CSV every cell is text and a list is its
//! items joined by `;`. A field of a record that is no column is an error,
//! never dropped.

use crate::layout::{Kind, Layout, Table, HOUSEHOLD_ID, MEMBER_ID};
use crate::read::Format;
use crate::write::{TableSink, WriteError, WRITE_ROWS};
use arrow::array::{ArrayRef, BooleanBuilder, Date32Builder, Int64Builder, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

enum Builder {
    Text(StringBuilder),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Date(Date32Builder),
    List(ListBuilder<StringBuilder>),
}

impl Builder {
    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::List(b) => Arc::new(b.finish()),
        }
    }

    fn null(&mut self) {
        match self {
            Builder::Text(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::List(b) => b.append_null(),
        }
    }
}

/// One converted cell.
enum Val {
    Null,
    Text(String),
    Bool(bool),
    Int(i64),
    Date(i32),
    List(Vec<String>),
}

struct Writer {
    table: Table,
    /// Key columns first (`household_id`, then `member_id` for claims), then the fields.
    columns: Vec<(String, Kind)>,
    keys: usize,
    builders: Vec<Builder>,
    sink: TableSink,
    rows: usize,
}

/// A field's value in a record: a scalar's JSON text, or a nested value.
enum Raw<'a> {
    Scalar(&'a str),
    Object(BTreeMap<String, &'a RawValue>),
    Array,
}

fn raw(v: &RawValue) -> Result<Raw<'_>, String> {
    let t = v.get().trim_start();
    if t.starts_with('{') {
        serde_json::from_str(v.get()).map(Raw::Object).map_err(|e| e.to_string())
    } else if t.starts_with('[') {
        Ok(Raw::Array)
    } else {
        Ok(Raw::Scalar(v.get()))
    }
}

impl Writer {
    fn new(dir: &Path, table: Table, layout: &Layout, format: Format) -> Result<Writer, WriteError> {
        let mut columns: Vec<(String, Kind)> = Vec::new();
        if table != Table::Households {
            columns.push((HOUSEHOLD_ID.into(), Kind::Text));
        }
        if table == Table::Claims {
            columns.push((MEMBER_ID.into(), Kind::Text));
        }
        let keys = columns.len();
        // the households table's key is its `id` field: first, for readers' eyes
        let mut fields: Vec<(String, Kind)> = layout.columns(table).map(|(n, k)| (n.to_string(), k)).collect();
        fields.sort_by_key(|(n, _)| n != "id");
        columns.extend(fields);
        let csv = format == Format::Csv;
        let mut schema = Vec::new();
        let mut builders = Vec::new();
        for (name, kind) in &columns {
            let (dt, b) = match (kind, csv) {
                (Kind::Boolean, false) => (DataType::Boolean, Builder::Bool(BooleanBuilder::new())),
                (Kind::Integer, false) => (DataType::Int64, Builder::Int(Int64Builder::new())),
                (Kind::Date, false) => (DataType::Date32, Builder::Date(Date32Builder::new())),
                (Kind::TextList, false) => (
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                    Builder::List(ListBuilder::new(StringBuilder::new())),
                ),
                _ => (DataType::Utf8, Builder::Text(StringBuilder::new())),
            };
            schema.push(Field::new(name, dt, true));
            builders.push(b);
        }
        let sink = TableSink::create(dir, table.name(), format, Arc::new(Schema::new(schema)))?;
        Ok(Writer { table, columns, keys, builders, sink, rows: 0 })
    }

    /// One row's values: the keys, then the record's fields; nothing is
    /// appended until the whole household converted.
    fn convert(&self, keys: &[&str], fields: &BTreeMap<String, &RawValue>) -> Result<Vec<Val>, String> {
        // every field of the record must be a column
        let mut leaves: BTreeMap<String, &str> = BTreeMap::new();
        flatten(fields, "", self.table, &mut leaves)?;
        for path in leaves.keys() {
            if !self.columns[self.keys..].iter().any(|(c, _)| c == path) {
                return Err(format!("field `{path}` is not a column of the {} table", self.table));
            }
        }
        let mut row = Vec::with_capacity(self.columns.len());
        for (i, (name, kind)) in self.columns.iter().enumerate() {
            if i < self.keys {
                row.push(Val::Text(keys[i].to_string()));
                continue;
            }
            let Some(text) = leaves.get(name).copied().filter(|t| *t != "null") else {
                row.push(Val::Null);
                continue;
            };
            let bad = |what: &str| format!("field `{name}`: {text} is not {what}");
            row.push(match (&self.builders[i], kind) {
                (Builder::Text(_), Kind::TextList) => {
                    let items: Vec<String> = serde_json::from_str(text).map_err(|_| bad("a list of texts"))?;
                    Val::Text(items.join(";"))
                }
                (Builder::Text(_), _) if text.starts_with('"') => Val::Text(serde_json::from_str(text).map_err(|_| bad("text"))?),
                // a number or a boolean: its own digits, exactly as written
                (Builder::Text(_), _) => Val::Text(text.to_string()),
                (Builder::Bool(_), _) => Val::Bool(serde_json::from_str::<bool>(text).map_err(|_| bad("true or false"))?),
                (Builder::Int(_), _) => Val::Int(serde_json::from_str::<i64>(text).map_err(|_| bad("a whole number"))?),
                (Builder::Date(_), _) => {
                    let s: String = serde_json::from_str(text).map_err(|_| bad("a date"))?;
                    let d = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| bad("a date (YYYY-MM-DD)"))?;
                    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
                    Val::Date(i32::try_from((d - epoch).num_days()).map_err(|_| bad("a date in range"))?)
                }
                (Builder::List(_), _) => Val::List(serde_json::from_str(text).map_err(|_| bad("a list of texts"))?),
            });
        }
        Ok(row)
    }

    fn append(&mut self, row: Vec<Val>) {
        for (b, v) in self.builders.iter_mut().zip(row) {
            match (b, v) {
                (b, Val::Null) => b.null(),
                (Builder::Text(b), Val::Text(t)) => b.append_value(t),
                (Builder::Bool(b), Val::Bool(v)) => b.append_value(v),
                (Builder::Int(b), Val::Int(v)) => b.append_value(v),
                (Builder::Date(b), Val::Date(v)) => b.append_value(v),
                (Builder::List(b), Val::List(items)) => {
                    for item in items {
                        b.values().append_value(item);
                    }
                    b.append(true);
                }
                // `convert` makes each column's value of the builder's kind
                (b, _) => b.null(),
            }
        }
        self.rows += 1;
    }

    fn flush(&mut self, all: bool) -> Result<(), WriteError> {
        if self.rows > 0 && (all || self.rows >= WRITE_ROWS) {
            let cols = self.builders.iter_mut().map(Builder::finish).collect();
            self.rows = 0;
            self.sink.write(cols)?;
        }
        Ok(())
    }
}

/// The scalar leaves of a record, by dotted path; nested records (members,
/// claims, loans) are not leaves.
fn flatten<'a>(
    fields: &BTreeMap<String, &'a RawValue>,
    prefix: &str,
    table: Table,
    out: &mut BTreeMap<String, &'a str>,
) -> Result<(), String> {
    for (k, v) in fields {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        let nested =
            prefix.is_empty() && matches!((table, k.as_str()), (Table::Households, "members" | "loans") | (Table::Members, "claims"));
        if nested {
            continue;
        }
        match raw(v)? {
            Raw::Object(o) => flatten(&o, &path, table, out)?,
            Raw::Array => {
                out.insert(path, v.get());
            }
            Raw::Scalar(s) => {
                out.insert(path, s);
            }
        }
    }
    Ok(())
}

/// The records of a nested list (`members`, `loans`, `claims`) of a record.
fn list<'a>(name: &str, fields: &BTreeMap<String, &'a RawValue>) -> Result<Vec<BTreeMap<String, &'a RawValue>>, String> {
    match fields.get(name) {
        None => Ok(Vec::new()),
        Some(v) if v.get() == "null" => Ok(Vec::new()),
        Some(v) => serde_json::from_str(v.get()).map_err(|e| format!("`{name}`: {e}")),
    }
}

/// Writes household records as a registry's four tables.
pub struct TablesWriter {
    writers: Vec<Writer>,
    previous: Option<String>,
    /// Households written.
    pub households: u64,
}

impl TablesWriter {
    /// Create the four tables in `dir`.
    pub fn create(dir: &Path, layout: &Layout, format: Format) -> Result<TablesWriter, WriteError> {
        let writers = Table::ALL.iter().map(|t| Writer::new(dir, *t, layout, format)).collect::<Result<_, _>>()?;
        Ok(TablesWriter { writers, previous: None, households: 0 })
    }

    /// Append one household's JSON record. The records must come in
    /// ascending id order (the order the reader joins in).
    pub fn household(&mut self, json: &str) -> Result<(), String> {
        let fields: BTreeMap<String, &RawValue> = serde_json::from_str(json).map_err(|e| format!("not a JSON object: {e}"))?;
        let id: String = match fields.get("id") {
            Some(v) => serde_json::from_str(v.get()).map_err(|_| "`id` is not text".to_string())?,
            None => return Err("the record has no `id`".into()),
        };
        if let Some(p) = &self.previous {
            if id.as_str() <= p.as_str() {
                return Err(format!(
                    "household `{id}` comes after `{p}`: the records must be in ascending id order (each id once), the order the tables are joined in"
                ));
            }
        }
        let members = list("members", &fields)?;
        let loans = list("loans", &fields)?;
        let [h, m, c, l] = &mut self.writers[..] else { return Err("four tables".into()) };
        // convert the whole household before appending any of its rows
        let own = h.convert(&[], &fields)?;
        let mut member_rows = Vec::new();
        let mut claim_rows = Vec::new();
        for member in &members {
            let member_id: String = match member.get("id") {
                Some(v) => serde_json::from_str(v.get()).map_err(|_| "a member's `id` is not text".to_string())?,
                None => return Err("a member has no `id`, which its claims need".into()),
            };
            member_rows.push(m.convert(&[&id], member)?);
            for claim in list("claims", member)? {
                claim_rows.push(c.convert(&[&id, &member_id], &claim)?);
            }
        }
        let loan_rows = loans.iter().map(|loan| l.convert(&[&id], loan)).collect::<Result<Vec<_>, _>>()?;
        h.append(own);
        member_rows.into_iter().for_each(|r| m.append(r));
        claim_rows.into_iter().for_each(|r| c.append(r));
        loan_rows.into_iter().for_each(|r| l.append(r));
        for w in &mut self.writers {
            w.flush(false).map_err(|e| e.to_string())?;
        }
        self.previous = Some(id);
        self.households += 1;
        Ok(())
    }

    /// Write what is buffered and close the files.
    pub fn finish(mut self) -> Result<u64, WriteError> {
        for w in &mut self.writers {
            w.flush(true)?;
            w.sink.close()?;
        }
        Ok(self.households)
    }
}
