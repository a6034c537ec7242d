//! What the cluster tests share: the county query, its result read back
//! as exact decimals, and the same figures from the engine itself.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Decimal128Type, Int64Type};
use fupin::Engine;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// 低保 by county: the total amount and the households eligible.
pub const COUNTY_QUERY: &str = "SELECT county, sum(fupin_amount(household, DATE '2018-06-01', 'dibao')) AS total, \
     count(*) FILTER (WHERE fupin_eligible(household, DATE '2018-06-01', 'dibao')) AS eligible \
     FROM households GROUP BY county ORDER BY county";

/// [`COUNTY_QUERY`]'s rows: county → (total, eligible households).
pub fn totals(batches: &[RecordBatch]) -> BTreeMap<String, (Decimal, i64)> {
    let mut got = BTreeMap::new();
    for b in batches {
        let county = arrow::compute::cast(b.column(0).as_ref(), &DataType::Utf8).expect("text");
        let total = b.column(1).as_primitive::<Decimal128Type>();
        let DataType::Decimal128(_, scale) = total.data_type() else { panic!("{}", total.data_type()) };
        for row in 0..b.num_rows() {
            assert!(total.is_valid(row));
            got.insert(
                county.as_string::<i32>().value(row).to_string(),
                (Decimal::from_i128_with_scale(total.value(row), *scale as u32), b.column(2).as_primitive::<Int64Type>().value(row)),
            );
        }
    }
    got
}

/// The same figures from the engine's own assessments of `records`.
pub fn engine_totals(engine: &Engine, records: &[String]) -> BTreeMap<String, (Decimal, i64)> {
    let as_of: chrono::NaiveDate = "2018-06-01".parse().expect("a date");
    let mut want: BTreeMap<String, (Decimal, i64)> = BTreeMap::new();
    for json in records {
        let h = engine.parse_household(json, Some(as_of)).expect("valid");
        let a = engine.assess(&h, as_of).expect("assessed");
        let e = want.entry(h.region.clone()).or_default();
        if let Some(o) = a.programs.get("dibao") {
            e.0 += o.amount.unwrap_or(Decimal::ZERO);
            e.1 += i64::from(o.eligible);
        }
    }
    want
}
