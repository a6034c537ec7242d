//! The household record as one nested Arrow type.
//!
//! The fields are read off the engine's household JSON Schema through
//! [`fupin_registry::layout::Layout`]: the columns of the `households`,
//! `members`, `claims` and `loans` tables, whose dotted names
//! (`poverty.status`, `employment.wage_tier`) become nested structs, with the
//! members, their claims and the loans as lists of structs, so that one value
//! of the type is one household's whole JSON record.

use crate::Error;
use arrow::datatypes::{DataType, Field, Fields};
use fupin_registry::layout::{Kind, Layout, Table};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The name of the list items in every list type this crate makes (Arrow's and Parquet's usual one).
pub const LIST_ITEM: &str = "item";

/// The Arrow type of one field kind.
///
/// Text is `Utf8`; a date is `Date32`; a decimal is `Utf8` holding its exact
/// text (`"1234.56"`: an Arrow float cannot hold 0.1, and the decimal's scale
/// varies from field to field); a whole number is `Int64`; a boolean is
/// `Boolean`; a list of texts is `List<Utf8>`.
pub fn kind_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text | Kind::Decimal => DataType::Utf8,
        Kind::Date => DataType::Date32,
        Kind::Integer => DataType::Int64,
        Kind::Boolean => DataType::Boolean,
        Kind::TextList => list_of(DataType::Utf8),
    }
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new(LIST_ITEM, item, true)))
}

/// A tree of fields: a leaf of a kind, or a record of named fields.
enum Node {
    Leaf(DataType),
    Record(BTreeMap<String, Node>),
}

fn insert(tree: &mut BTreeMap<String, Node>, table: Table, path: &str, ty: DataType) -> Result<(), Error> {
    let conflict = || Error::Schema(format!("{table} column `{path}` is both a field and a record of fields"));
    if path.contains('[') {
        return Err(Error::Schema(format!("{table} column `{path}` is inside a list of records this crate does not know")));
    }
    let mut parts = path.split('.').peekable();
    let mut node = tree;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            if node.insert(part.to_string(), Node::Leaf(ty)).is_some() {
                return Err(conflict());
            }
            return Ok(());
        }
        let next = node.entry(part.to_string()).or_insert_with(|| Node::Record(BTreeMap::new()));
        node = match next {
            Node::Record(children) => children,
            Node::Leaf(_) => return Err(conflict()),
        };
    }
    Ok(())
}

fn fields(tree: BTreeMap<String, Node>) -> Fields {
    tree.into_iter()
        .map(|(name, node)| match node {
            Node::Leaf(ty) => Field::new(name, ty, true),
            Node::Record(children) => Field::new(name, DataType::Struct(fields(children)), true),
        })
        .collect()
}

fn table_tree(layout: &Layout, table: Table) -> Result<BTreeMap<String, Node>, Error> {
    let mut tree = BTreeMap::new();
    for (column, kind) in layout.columns(table) {
        insert(&mut tree, table, column, kind_type(kind))?;
    }
    Ok(tree)
}

fn add_list(tree: &mut BTreeMap<String, Node>, table: Table, name: &str, item: BTreeMap<String, Node>) -> Result<(), Error> {
    insert(tree, table, name, list_of(DataType::Struct(fields(item))))
}

/// The Arrow type of a household record for a layout: a struct of the
/// households table's fields, with `members: List<Struct<…, claims:
/// List<Struct<…>>>>` and `loans: List<Struct<…>>`. Every field is nullable:
/// a null is an absent field, which the record leaves to the model's default.
pub fn household_type_for(layout: &Layout) -> Result<DataType, Error> {
    let mut member = table_tree(layout, Table::Members)?;
    add_list(&mut member, Table::Members, "claims", table_tree(layout, Table::Claims)?)?;
    let mut household = table_tree(layout, Table::Households)?;
    add_list(&mut household, Table::Households, "members", member)?;
    add_list(&mut household, Table::Households, "loans", table_tree(layout, Table::Loans)?)?;
    Ok(DataType::Struct(fields(household)))
}

/// The Arrow type of a household record for the engine's policies: every
/// field of the household JSON Schema (`fupin schema`), the facts the loaded
/// policies declare included. See [`household_type_for`].
pub fn household_type(engine: &fupin::Engine) -> Result<DataType, Error> {
    household_type_for(&Layout::from_schema(&engine.household_schema(None, None)))
}

/// Refuses a household type holding a value fupin cannot read exactly: a
/// floating-point field anywhere in it (`Float16/32/64`: a float cannot hold
/// 0.1), naming the field by its path.
pub fn check_exact(ty: &DataType) -> Result<(), String> {
    fn walk(ty: &DataType, path: &str) -> Result<(), String> {
        match ty {
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Err(format!(
                "field `{path}` is floating point ({ty}): fupin reads exact figures only; \
                 store a decimal as text (Utf8), a Decimal128 or an integer"
            )),
            DataType::Struct(fs) => fs.iter().try_for_each(|f| {
                let p = if path.is_empty() { f.name().clone() } else { format!("{path}.{}", f.name()) };
                walk(f.data_type(), &p)
            }),
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::ListView(f)
            | DataType::LargeListView(f)
            | DataType::FixedSizeList(f, _) => walk(f.data_type(), &format!("{path}[]")),
            DataType::Dictionary(_, v) => walk(v, path),
            DataType::Map(f, _) => walk(f.data_type(), path),
            _ => Ok(()),
        }
    }
    match ty {
        DataType::Struct(_) => walk(ty, ""),
        other => Err(format!("the household must be a struct (see `fupin_datafusion::household_type`), not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(ty: &'a DataType, path: &[&str]) -> Option<&'a DataType> {
        let mut ty = ty;
        for p in path {
            ty = match ty {
                DataType::Struct(fs) => fs.iter().find(|f| f.name() == p)?.data_type(),
                DataType::List(f) if *p == "[]" => f.data_type(),
                _ => return None,
            };
        }
        Some(ty)
    }

    #[test]
    fn the_embedded_household_type() {
        let engine = fupin::Engine::embedded().expect("embedded policies build");
        let ty = household_type(&engine).expect("a type");
        assert_eq!(field(&ty, &["id"]), Some(&DataType::Utf8));
        assert_eq!(field(&ty, &["income"]), Some(&DataType::Utf8));
        assert_eq!(field(&ty, &["poverty", "status"]), Some(&DataType::Utf8));
        assert_eq!(field(&ty, &["poverty", "registered_on"]), Some(&DataType::Date32));
        assert_eq!(field(&ty, &["deep_poverty_area"]), Some(&DataType::Boolean));
        assert_eq!(field(&ty, &["members", "[]", "birth_date"]), Some(&DataType::Date32));
        assert_eq!(field(&ty, &["members", "[]", "employment", "wage_tier"]), Some(&DataType::Int64));
        assert_eq!(field(&ty, &["members", "[]", "facts", "orphan"]), Some(&DataType::Boolean));
        assert_eq!(field(&ty, &["members", "[]", "major_diseases"]), Some(&list_of(DataType::Utf8)));
        assert_eq!(field(&ty, &["members", "[]", "claims", "[]", "total_cost"]), Some(&DataType::Utf8));
        assert_eq!(field(&ty, &["loans", "[]", "start_date"]), Some(&DataType::Date32));
        assert!(check_exact(&ty).is_ok());
    }

    #[test]
    fn a_float_anywhere_is_refused_by_path() {
        let claim = DataType::Struct(vec![Field::new("total_cost", DataType::Float64, true)].into());
        let member = DataType::Struct(vec![Field::new("claims", list_of(claim), true)].into());
        let ty = DataType::Struct(vec![Field::new("members", list_of(member), true)].into());
        let e = check_exact(&ty).expect_err("refused");
        assert!(e.contains("members[].claims[].total_cost"), "{e}");
        assert!(check_exact(&DataType::Utf8).is_err());
    }
}
