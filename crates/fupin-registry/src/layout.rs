//! The registry's tables and their columns.
//!
//! A registry is four tables: `households` (one row per household), and
//! `members`, `claims` and `loans`, each row of which belongs to a household
//! through its `household_id` column (a claim to a member too, through
//! `member_id`). Every other column is a field of the household's JSON
//! record, named by its path in that record with dots: `poverty.status`,
//! `dibao.since`, `facts.orphan` on a member row, `employment.wage_tier`.
//! The columns a table may have are read off the household's JSON Schema
//! for the loaded policies ([`fupin::Engine::household_schema`]), so a fact a
//! policy declares is a column like any other, and a column that is not a
//! field is refused by name (never ignored).

use serde_json::Value;
use std::collections::BTreeMap;

/// One of the registry's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// One row per household.
    Households,
    /// One row per member: `household_id` and the member's fields.
    Members,
    /// One row per medical claim: `household_id`, `member_id` and the claim's fields.
    Claims,
    /// One row per loan: `household_id` and the loan's fields.
    Loans,
}

impl Table {
    /// Every table, in the order a household is put together.
    pub const ALL: [Table; 4] = [Table::Households, Table::Members, Table::Claims, Table::Loans];

    /// The table's name, which is also its file's stem (`members.parquet`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Households => "households",
            Table::Members => "members",
            Table::Claims => "claims",
            Table::Loans => "loans",
        }
    }

    /// The column holding the household's id: `id` in the households table
    /// (the record's own field), `household_id` in the others.
    pub fn key(self) -> &'static str {
        match self {
            Table::Households => "id",
            _ => HOUSEHOLD_ID,
        }
    }

    /// The record path of this table's rows in the household JSON.
    fn record_path(self) -> &'static str {
        match self {
            Table::Households => "",
            Table::Members => "members[]",
            Table::Claims => "members[].claims[]",
            Table::Loans => "loans[]",
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The key column of the members, claims and loans tables.
pub const HOUSEHOLD_ID: &str = "household_id";
/// The claims table's column naming the member a claim belongs to.
pub const MEMBER_ID: &str = "member_id";

/// What a field holds, as the household's JSON Schema says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, an enumeration's value or an id.
    Text,
    /// `YYYY-MM-DD`.
    Date,
    /// An exact decimal (money, a rate, an area).
    Decimal,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A list of texts (`major_diseases`): a list column in Parquet, values
    /// separated by `;` in CSV.
    TextList,
}

impl Kind {
    /// How the kind is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Date => "a date (YYYY-MM-DD)",
            Kind::Decimal => "an exact decimal",
            Kind::Integer => "a whole number",
            Kind::Boolean => "true or false",
            Kind::TextList => "a list of texts",
        }
    }
}

/// The fields each table may have: column name → kind.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    tables: BTreeMap<Table, BTreeMap<String, Kind>>,
}

impl Layout {
    /// The layout for a household JSON Schema (`Engine::household_schema`).
    pub fn from_schema(schema: &Value) -> Layout {
        let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
        let mut fields: Vec<(String, Kind)> = Vec::new();
        walk(schema, &defs, "", &mut fields, 0);
        let mut tables: BTreeMap<Table, BTreeMap<String, Kind>> = BTreeMap::new();
        for t in Table::ALL {
            tables.insert(t, BTreeMap::new());
        }
        for (path, kind) in fields {
            // the deepest record path that prefixes the field's path owns it
            let table = [Table::Claims, Table::Members, Table::Loans]
                .into_iter()
                .find(|t| path.starts_with(&format!("{}.", t.record_path())))
                .unwrap_or(Table::Households);
            let column = match table {
                Table::Households => path.clone(),
                t => path[t.record_path().len() + 1..].to_string(),
            };
            if let Some(cols) = tables.get_mut(&table) {
                cols.insert(column, kind);
            }
        }
        Layout { tables }
    }

    /// The kind of `column` in `table`, if it is a field.
    pub fn kind(&self, table: Table, column: &str) -> Option<Kind> {
        self.tables.get(&table).and_then(|c| c.get(column)).copied()
    }

    /// Every field column of `table`, by name.
    pub fn columns(&self, table: Table) -> impl Iterator<Item = (&str, Kind)> {
        self.tables.get(&table).into_iter().flat_map(|c| c.iter().map(|(n, k)| (n.as_str(), *k)))
    }
}

fn resolve<'a>(mut node: &'a Value, defs: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.rsplit('/').next().and_then(|name| defs.get(name)) {
                Some(n) => node = n,
                None => return node,
            },
            None => return node,
        }
    }
    node
}

fn types(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn walk(node: &Value, defs: &Value, path: &str, out: &mut Vec<(String, Kind)>, depth: usize) {
    if depth > 16 {
        return;
    }
    let node = resolve(node, defs);
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = node.get(key) {
            let alts: Vec<&Value> = alts.iter().map(|a| resolve(a, defs)).filter(|a| types(a) != ["null"]).collect();
            if alts.len() == 1 {
                return walk(alts[0], defs, path, out, depth + 1);
            }
            let ts: Vec<&str> = alts.iter().flat_map(|a| types(a)).collect();
            // a number or a decimal string: an exact decimal
            if ts.contains(&"number") {
                out.push((path.to_string(), Kind::Decimal));
            } else if !ts.is_empty() && ts.iter().all(|t| *t == "string") {
                out.push((path.to_string(), Kind::Text));
            }
            return;
        }
    }
    let ts = types(node);
    if ts.contains(&"object") || node.get("properties").is_some() {
        if let Some(Value::Object(props)) = node.get("properties") {
            for (k, v) in props {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                walk(v, defs, &p, out, depth + 1);
            }
        }
    } else if ts.contains(&"array") {
        let items = node.get("items").map(|i| resolve(i, defs)).unwrap_or(&Value::Null);
        if types(items).contains(&"object") || items.get("properties").is_some() {
            walk(items, defs, &format!("{path}[]"), out, depth + 1);
        } else {
            out.push((path.to_string(), Kind::TextList));
        }
    } else if ts.contains(&"boolean") {
        out.push((path.to_string(), Kind::Boolean));
    } else if ts.contains(&"integer") {
        out.push((path.to_string(), Kind::Integer));
    } else if ts.contains(&"number") {
        out.push((path.to_string(), Kind::Decimal));
    } else if ts.contains(&"string") {
        let date = node.get("pattern").and_then(Value::as_str) == Some("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
            || node.get("format").and_then(Value::as_str) == Some("date");
        out.push((path.to_string(), if date { Kind::Date } else { Kind::Text }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_policies_columns() {
        let engine = fupin::Engine::embedded().expect("embedded policies build");
        let layout = Layout::from_schema(&engine.household_schema(None, None));
        assert_eq!(layout.kind(Table::Households, "income"), Some(Kind::Decimal));
        assert_eq!(layout.kind(Table::Households, "poverty.registered_on"), Some(Kind::Date));
        assert_eq!(layout.kind(Table::Households, "poverty.status"), Some(Kind::Text));
        assert_eq!(layout.kind(Table::Households, "deep_poverty_area"), Some(Kind::Boolean));
        assert_eq!(layout.kind(Table::Members, "birth_date"), Some(Kind::Date));
        assert_eq!(layout.kind(Table::Members, "employment.wage_tier"), Some(Kind::Integer));
        assert_eq!(layout.kind(Table::Members, "major_diseases"), Some(Kind::TextList));
        assert_eq!(layout.kind(Table::Members, "facts.orphan"), Some(Kind::Boolean));
        assert_eq!(layout.kind(Table::Claims, "total_cost"), Some(Kind::Decimal));
        assert_eq!(layout.kind(Table::Claims, "id"), Some(Kind::Text));
        assert_eq!(layout.kind(Table::Loans, "rate"), Some(Kind::Decimal));
        // records nested in others are their own tables, not columns
        assert_eq!(layout.kind(Table::Households, "members"), None);
        assert_eq!(layout.kind(Table::Members, "claims"), None);
        assert_eq!(layout.kind(Table::Households, "members[].id"), None);
    }
}
