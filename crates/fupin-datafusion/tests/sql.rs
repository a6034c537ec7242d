//! The functions in SQL over nested Parquet, checked household by household
//! against fupin's own assessments of the same records.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Decimal128Type, Field, Int64Type, Schema};
use chrono::NaiveDate;
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use fupin::Engine;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

const SEED: u64 = 2018;
const HOUSEHOLDS: u64 = 3000;

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

fn records(n: u64) -> Vec<String> {
    (0..n).map(|i| fupin_registry::generate::household(SEED, i)).collect()
}

/// A session with the households written as nested Parquet and the functions registered.
async fn session(engine: &Arc<Engine>, records: &[String]) -> (SessionContext, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("households.parquet");
    let written = fupin_datafusion::write_parquet(engine, &path, records).expect("written");
    assert_eq!(written, records.len() as u64);
    let ctx = SessionContext::new();
    ctx.register_parquet("households", path.to_str().expect("a path"), ParquetReadOptions::default()).await.expect("registered");
    fupin_datafusion::register(&ctx, engine.clone());
    (ctx, dir)
}

async fn query(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<Vec<RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}

fn text(a: &dyn Array, row: usize) -> String {
    let a = arrow::compute::cast(a, &DataType::Utf8).expect("text");
    a.as_string::<i32>().value(row).to_string()
}

fn decimal(a: &dyn Array, row: usize) -> Option<Decimal> {
    let a = a.as_primitive::<Decimal128Type>();
    let DataType::Decimal128(_, scale) = a.data_type() else { panic!("not a decimal: {}", a.data_type()) };
    a.is_valid(row).then(|| Decimal::from_i128_with_scale(a.value(row), *scale as u32))
}

/// fupin's own figures: per county, the programme's total amount and the
/// households eligible for it.
fn expected(engine: &Engine, records: &[String], as_of: NaiveDate, programme: &str) -> BTreeMap<String, (Decimal, i64)> {
    let mut by_county: BTreeMap<String, (Decimal, i64)> = BTreeMap::new();
    for json in records {
        let h = engine.parse_household(json, Some(as_of)).expect("a valid household");
        let a = engine.assess(&h, as_of).expect("assessed");
        let e = by_county.entry(h.region.to_string()).or_default();
        if let Some(o) = a.programs.get(programme) {
            assert!(o.error.is_none(), "{}: {programme}: {:?}", h.id, o.error);
            e.0 += o.amount.unwrap_or(Decimal::ZERO);
            e.1 += i64::from(o.eligible);
        }
    }
    by_county
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn county_totals_are_fupins_exactly() {
    let engine = Arc::new(Engine::embedded().expect("embedded policies build"));
    let records = records(HOUSEHOLDS);
    let (ctx, _dir) = session(&engine, &records).await;
    let runs = [
        ("2018-06-01", "dibao"),
        ("2020-06-01", "dibao"),
        ("2018-06-01", "loan.interest_subsidy"),
        ("2018-06-01", "disability.living_subsidy"),
    ];
    for (as_of, programme) in runs {
        let sql = format!(
            "SELECT county, sum(fupin_amount(household, DATE '{as_of}', '{programme}')) AS total, \
             count(*) FILTER (WHERE fupin_eligible(household, DATE '{as_of}', '{programme}')) AS eligible \
             FROM households GROUP BY county ORDER BY county"
        );
        let batches = query(&ctx, &sql).await.unwrap_or_else(|e| panic!("{programme} on {as_of}: {e}"));
        let mut got: BTreeMap<String, (Decimal, i64)> = BTreeMap::new();
        for b in &batches {
            for row in 0..b.num_rows() {
                let total = decimal(b.column(1).as_ref(), row).expect("a total");
                let eligible = b.column(2).as_primitive::<Int64Type>().value(row);
                got.insert(text(b.column(0).as_ref(), row), (total, eligible));
            }
        }
        let want = expected(&engine, &records, date(as_of), programme);
        assert_eq!(got, want, "{programme} on {as_of}");
        assert_eq!(got.len(), fupin_registry::generate::COUNTIES.len());
        eprintln!("{programme} on {as_of}: {got:?}");
        if programme == "dibao" {
            // the figures are not trivially zero, nor every household eligible
            let eligible: i64 = got.values().map(|(_, n)| n).sum();
            assert!(got.values().all(|(t, _)| *t > Decimal::ZERO), "{got:?}");
            assert!(eligible > 0 && eligible < HOUSEHOLDS as i64, "{eligible}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_programme_of_every_household_is_fupins() {
    let engine = Arc::new(Engine::embedded().expect("embedded policies build"));
    let records = records(600);
    let (ctx, _dir) = session(&engine, &records).await;
    // as_of varies by row (an array, not a scalar)
    let sql = "SELECT household['id'] AS id, \
               CASE WHEN county < '130126' THEN DATE '2018-06-01' ELSE DATE '2019-12-31' END AS as_of, \
               fupin_assess(household, CASE WHEN county < '130126' THEN DATE '2018-06-01' ELSE DATE '2019-12-31' END) AS a \
               FROM households";
    let batches = query(&ctx, sql).await.expect("assessed");
    let by_id: BTreeMap<String, &String> =
        records.iter().enumerate().map(|(i, r)| (fupin_registry::generate::household_id(i as u64), r)).collect();
    let mut seen = 0;
    let mut unknown = 0;
    for b in &batches {
        let a = b.column(2).as_struct();
        for row in 0..b.num_rows() {
            let id = text(b.column(0).as_ref(), row);
            let as_of = date(&text(b.column(1).as_ref(), row));
            let json = by_id.get(&id).unwrap_or_else(|| panic!("no record {id}"));
            let h = engine.parse_household(json, Some(as_of)).expect("valid");
            let want = engine.assess(&h, as_of).expect("assessed");
            for (name, field) in a.fields().iter().zip(a.columns()) {
                let o = field.as_struct();
                let col = |n: &str| o.column_by_name(n).unwrap_or_else(|| panic!("no {n}")).clone();
                let eligible = col("eligible");
                let eligible = eligible.as_boolean();
                let amount = decimal(col("amount").as_ref(), row);
                let error = col("error");
                let error = error.is_valid(row).then(|| text(error.as_ref(), row));
                let unit = col("unit");
                let unit = unit.is_valid(row).then(|| text(unit.as_ref(), row));
                match want.programs.get(name.name().as_str()) {
                    Some(w) => {
                        assert_eq!(error, w.error, "{id} {}", name.name());
                        if w.error.is_some() {
                            unknown += 1;
                            assert_eq!(amount, None, "{id} {}", name.name());
                            assert_eq!(eligible.is_valid(row).then(|| eligible.value(row)), w.eligible.then_some(true));
                        } else {
                            assert_eq!(eligible.value(row), w.eligible, "{id} {}", name.name());
                            if unit.is_some() {
                                assert_eq!(amount, Some(w.amount.unwrap_or(Decimal::ZERO)), "{id} {}", name.name());
                            }
                        }
                        if let Some(u) = &w.unit {
                            assert_eq!(unit.as_deref(), Some(u.as_str()), "{id} {}", name.name());
                        }
                    }
                    None => {
                        assert!(!eligible.value(row), "{id} {}", name.name());
                        assert_eq!(error, None);
                    }
                }
                seen += 1;
            }
        }
    }
    assert!(seen >= 600 * 10, "{seen}");
    assert!(unknown > 0, "no unknown amount met");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_amount_is_an_error_naming_the_household_and_a_null_with_its_reason_in_assess() {
    let engine = Arc::new(Engine::embedded().expect("embedded policies build"));
    let as_of = date("2018-06-01");
    let programme = "medical.premium_subsidy";
    let records = records(200);
    // a household whose premium subsidy fupin leaves unknown
    let (id, reason) = records
        .iter()
        .find_map(|json| {
            let h = engine.parse_household(json, Some(as_of)).expect("valid");
            let a = engine.assess(&h, as_of).expect("assessed");
            let o = a.programs.get(programme)?;
            Some((h.id.to_string(), o.error.clone()?))
        })
        .expect("a household with an unknown premium subsidy");
    let (ctx, _dir) = session(&engine, &records).await;
    let sql = format!("SELECT fupin_amount(household, DATE '2018-06-01', '{programme}') FROM households WHERE household['id'] = '{id}'");
    let e = query(&ctx, &sql).await.expect_err("an unknown amount is an error");
    let message = e.to_string();
    assert!(message.contains(&id) && message.contains(&reason) && message.contains(programme), "{message}");
    // over the whole table too: never a NULL summed away
    let sql = format!("SELECT sum(fupin_amount(household, DATE '2018-06-01', '{programme}')) FROM households");
    assert!(query(&ctx, &sql).await.is_err());

    let sql = format!(
        "SELECT fupin_assess(household, DATE '2018-06-01')['{programme}']['amount'] AS amount, \
                fupin_assess(household, DATE '2018-06-01')['{programme}']['error'] AS error, \
                fupin_assess(household, DATE '2018-06-01')['{programme}']['eligible'] AS eligible \
         FROM households WHERE household['id'] = '{id}'"
    );
    let batches = query(&ctx, &sql).await.expect("assessed");
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    let b = batches.iter().find(|b| b.num_rows() == 1).expect("the row");
    assert!(b.column(0).is_null(0));
    assert_eq!(text(b.column(1).as_ref(), 0), reason);
}

/// A one-table session over record batches of a household type of the test's choosing.
fn mem_session(engine: &Arc<Engine>, household: DataType, rows: arrow::array::ArrayRef) -> SessionContext {
    let schema = Arc::new(Schema::new(vec![Field::new("household", household, true)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![rows]).expect("a batch");
    let ctx = SessionContext::new();
    ctx.register_table("households", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("a table"))).expect("registered");
    fupin_datafusion::register(&ctx, engine.clone());
    ctx
}

fn decode(ty: &DataType, records: &[&str]) -> arrow::array::ArrayRef {
    let schema = Arc::new(Schema::new(vec![Field::new("household", ty.clone(), true)]));
    let mut d = arrow::json::ReaderBuilder::new(schema).with_strict_mode(true).build_decoder().expect("a decoder");
    let text: String = records.iter().map(|r| format!(r#"{{"household":{r}}}"#)).collect();
    d.decode(text.as_bytes()).expect("decoded");
    d.flush().expect("flushed").expect("a batch").column(0).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_record_fails_with_the_household_id() {
    let engine = Arc::new(Engine::embedded().expect("embedded policies build"));
    let good = fupin_registry::generate::household(SEED, 1);
    let bad = r#"{"id":"BAD-0001","region":"130121","income":"100","members":[{"id":"m1","birth_date":"1990-13-45","sex":"male"}]}"#;

    // writing: Arrow's decoder refuses the date, and the error names the household
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("h.parquet");
    let e = fupin_datafusion::write_parquet(&engine, &path, [good.as_str(), bad]).expect_err("refused");
    assert!(e.to_string().contains("BAD-0001") && e.to_string().contains("record 2"), "{e}");
    assert!(!path.exists(), "a refused write leaves no file");

    // in SQL: a household struct holding dates as text (as some exports do);
    // fupin's reader refuses the date, naming the household and the field
    let member = DataType::Struct(
        vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("birth_date", DataType::Utf8, true),
            Field::new("sex", DataType::Utf8, true),
        ]
        .into(),
    );
    let ty = DataType::Struct(
        vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("region", DataType::Utf8, true),
            Field::new("income", DataType::Utf8, true),
            Field::new("members", DataType::List(Arc::new(Field::new("item", member, true))), true),
        ]
        .into(),
    );
    let ok = r#"{"id":"OK-0001","region":"130121","income":"100","members":[{"id":"m1","birth_date":"1990-01-02","sex":"male"}]}"#;
    let ctx = mem_session(&engine, ty.clone(), decode(&ty, &[ok, bad]));
    for f in ["fupin_amount(household, DATE '2018-06-01', 'dibao')", "fupin_eligible(household, DATE '2018-06-01', 'dibao')"] {
        let e = query(&ctx, &format!("SELECT {f} FROM households")).await.expect_err("refused");
        let m = e.to_string();
        assert!(m.contains("BAD-0001") && m.contains("members[0].birth_date"), "{m}");
    }
    let e = query(&ctx, "SELECT fupin_assess(household, DATE '2018-06-01') FROM households").await.expect_err("refused");
    assert!(e.to_string().contains("BAD-0001"), "{e}");
    // the good household alone is assessed
    let b = query(&ctx, "SELECT fupin_amount(household, DATE '2018-06-01', 'dibao') FROM households WHERE household['id'] = 'OK-0001'")
        .await
        .expect("assessed");
    assert_eq!(b.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);

    // the standard type: a value no enumeration has
    let std_ty = fupin_datafusion::household_type(&engine).expect("the type");
    let cousin = r#"{"id":"BAD-0002","region":"130121","income":"100","members":[{"id":"m1","birth_date":"1990-01-02","sex":"male","relation":"cousin"}]}"#;
    let ctx = mem_session(&engine, std_ty.clone(), decode(&std_ty, &[cousin]));
    let e = query(&ctx, "SELECT fupin_amount(household, DATE '2018-06-01', 'dibao') FROM households").await.expect_err("refused");
    assert!(e.to_string().contains("BAD-0002") && e.to_string().contains("members[0].relation"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_arguments_are_refused() {
    let engine = Arc::new(Engine::embedded().expect("embedded policies build"));
    let records = records(20);
    let (ctx, _dir) = session(&engine, &records).await;
    let e =
        query(&ctx, "SELECT fupin_amount(household, DATE '2018-06-01', 'no_such_programme') FROM households").await.expect_err("refused");
    assert!(e.to_string().contains("no programme `no_such_programme`"), "{e}");
    let e = query(&ctx, "SELECT fupin_amount(household, NULL, 'dibao') FROM households").await.expect_err("refused");
    assert!(e.to_string().contains("as_of is NULL"), "{e}");
    let e = query(&ctx, "SELECT fupin_amount(household, DATE '2018-06-01', NULL) FROM households").await.expect_err("refused");
    assert!(e.to_string().contains("programme is NULL"), "{e}");
    assert!(query(&ctx, "SELECT fupin_amount(household, DATE '2018-06-01') FROM households").await.is_err());
    // the programme per row (an array)
    let b = query(
        &ctx,
        "SELECT sum(fupin_amount(household, DATE '2018-06-01', CASE WHEN county < '130126' THEN 'dibao' ELSE 'dibao' END)) FROM households",
    )
    .await
    .expect("summed");
    assert_eq!(b.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);

    // a floating-point field is refused by name, never read
    let ty = DataType::Struct(vec![Field::new("id", DataType::Utf8, true), Field::new("income", DataType::Float64, true)].into());
    let ctx = mem_session(&engine, ty.clone(), decode(&ty, &[r#"{"id":"F-1","income":0.1}"#]));
    let e = query(&ctx, "SELECT fupin_amount(household, DATE '2018-06-01', 'dibao') FROM households").await.expect_err("refused");
    assert!(e.to_string().contains("`income` is floating point"), "{e}");
}
