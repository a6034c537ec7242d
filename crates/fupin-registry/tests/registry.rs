//! A registry as tables, end to end: the `fupin-registry` program on
//! Parquet and CSV registries, its result tables checked against the
//! engine's own assessments of the same households, exactly; every
//! household accounted for; bad rows reported where they are.

use arrow::array::{Array, AsArray, RecordBatch};
use fupin::Engine;
use fupin_registry::layout::Layout;
use fupin_registry::read::Format;
use fupin_registry::tables::TablesWriter;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const AS_OF: &str = "2018-06-01";

fn engine() -> Engine {
    Engine::embedded().expect("the embedded policies build")
}

fn as_of() -> chrono::NaiveDate {
    AS_OF.parse().expect("a date")
}

fn program() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fupin-registry"))
}

/// Run the program; its status, standard output and standard error.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = program().args(args).output().expect("fupin-registry runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write_registry(dir: &Path, records: &[String], format: Format) {
    let layout = Layout::from_schema(&engine().household_schema(None, None));
    std::fs::create_dir_all(dir).expect("a directory");
    let mut w = TablesWriter::create(dir, &layout, format).expect("tables created");
    for r in records {
        w.household(r).expect("a valid record");
    }
    w.finish().expect("tables written");
}

fn read_table(path: &Path) -> Vec<RecordBatch> {
    match Format::of(path) {
        Some(Format::Parquet) => {
            let f = std::fs::File::open(path).expect("the table exists");
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                .expect("a Parquet file")
                .build()
                .expect("a reader")
                .map(|b| b.expect("a batch"))
                .collect()
        }
        _ => {
            let text = std::fs::read_to_string(path).expect("the table exists");
            let header = text.lines().next().unwrap_or("");
            let fields: Vec<arrow::datatypes::Field> =
                header.split(',').map(|n| arrow::datatypes::Field::new(n, arrow::datatypes::DataType::Utf8, true)).collect();
            let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
            arrow::csv::ReaderBuilder::new(schema)
                .with_header(true)
                .build(std::io::Cursor::new(text))
                .expect("a CSV reader")
                .map(|b| b.expect("a batch"))
                .collect()
        }
    }
}

/// A table's rows as maps of column → text (null: absent).
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    for b in read_table(path) {
        let cols: Vec<(String, arrow::array::ArrayRef)> = b
            .schema()
            .fields()
            .iter()
            .zip(b.columns())
            .map(|(f, c)| (f.name().clone(), arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).expect("castable to text")))
            .collect();
        for i in 0..b.num_rows() {
            let mut row = BTreeMap::new();
            for (name, c) in &cols {
                let s = c.as_string::<i32>();
                if s.is_valid(i) && !s.value(i).is_empty() {
                    row.insert(name.clone(), s.value(i).to_string());
                }
            }
            out.push(row);
        }
    }
    out
}

/// What the engine itself says, per household × programme with an outcome: (eligible, amount).
fn expected(records: &[String]) -> BTreeMap<(String, String), (String, Option<String>)> {
    let engine = engine();
    let mut out = BTreeMap::new();
    for r in records {
        let h = engine.parse_household(r, Some(as_of())).expect("a valid household");
        let a = engine.assess(&h, as_of()).expect("assessed");
        for (name, o) in &a.programs {
            if o.eligible || o.amount.is_some() || o.flag || o.value.is_some() || o.error.is_some() {
                out.insert((h.id.clone(), name.as_str().to_string()), (o.eligible.to_string(), o.amount.map(|d| d.to_string())));
            }
        }
    }
    out
}

fn actual(dir: &Path, ext: &str) -> BTreeMap<(String, String), (String, Option<String>)> {
    rows(&dir.join(format!("programmes.{ext}")))
        .into_iter()
        .map(|r| ((r["household_id"].clone(), r["programme"].clone()), (r["eligible"].clone(), r.get("amount").cloned())))
        .collect()
}

#[test]
fn parquet_and_csv_registries_give_the_engines_own_results_exactly() {
    // 3,000 households: about 10,500 members rows, more than one record batch (8,192 rows) of the members table
    let records: Vec<String> = (0..3000).map(|i| fupin_registry::generate::household(11, i)).collect();
    let want = expected(&records);
    assert!(want.values().any(|(_, a)| a.as_deref().is_some_and(|a| a != "0.00" && a != "0")), "some programme pays");
    for (format, ext) in [(Format::Parquet, "parquet"), (Format::Csv, "csv")] {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let reg = tmp.path().join("registry");
        write_registry(&reg, &records, format);
        assert!(rows(&reg.join(format!("members.{ext}"))).len() > fupin_registry::read::BATCH_ROWS, "the join crosses a batch boundary");
        let out = tmp.path().join("results");
        for threads in ["1", "2"] {
            let (code, _, err) =
                run(&["batch", "--as-of", AS_OF, "--threads", threads, reg.to_str().unwrap(), out.to_str().unwrap(), "--format", ext]);
            assert_eq!(code, 0, "{err}");
            assert_eq!(actual(&out, ext), want, "{ext}, {threads} thread(s)");
            let assessed = rows(&out.join(format!("assessed.{ext}")));
            assert_eq!(assessed.len(), records.len(), "every household assessed");
            assert!(rows(&out.join(format!("errors.{ext}"))).is_empty());
            // in input order
            let ids: Vec<&String> = assessed.iter().map(|r| &r["household_id"]).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
        }
    }
}

#[test]
fn json_lines_in_tables_out_matches_too() {
    let records: Vec<String> = (0..400).map(|i| fupin_registry::generate::household(3, i)).collect();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, records.join("\n") + "\n").expect("written");
    let out = tmp.path().join("results");
    let (code, _, err) = run(&["batch", "--as-of", AS_OF, input.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(actual(&out, "parquet"), expected(&records));
}

fn csv(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).expect("a directory");
    std::fs::write(dir.join(format!("{name}.csv")), text).expect("written");
}

const HOUSEHOLDS: &str = "id,region,hukou,poverty.status,poverty.registered_on,income
A1,130131,rural,registered,2016-03-08,6000.00
A2,130131,rural,registered,2016-03-08,1000.00
A3,130131,rural,registered,2016-03-08,1000.00
A4,130131,rural,registered,2016-03-08,1000.00
A4,130131,rural,registered,2016-03-08,1000.00
,130131,rural,registered,2016-03-08,1000.00
A6,130131,rural,registered,2016-03-08,1000.00
";

#[test]
fn bad_rows_are_reported_where_they_are_and_every_household_is_accounted_for() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let reg = tmp.path().join("registry");
    csv(&reg, "households", HOUSEHOLDS);
    csv(
        &reg,
        "members",
        "household_id,id,birth_date,sex,relation,labour
A0,A0-1,1960-01-01,male,head,full
A1,A1-1,1955-11-30,male,head,complete_loss
A1,A1-2,1957-05-06,female,spouse,partial_loss
A1,A1-3,1983-08-19,male,child,full
A2,A2-1,1955-13-30,male,head,complete_loss
A3,A3-1,1955-01-30,male,head,complete_loss
A4,A4-1,1950-01-01,female,head,age
A6,A6-1,1950-01-01,female,head,age
",
    );
    csv(
        &reg,
        "claims",
        "household_id,member_id,id,date,kind,hospital_level,in_county,designated,total_cost,in_policy_cost,essential_medicine_cost,category
A3,A3-9,C1,2018-03-21,inpatient,county,true,true,100.00,90.00,10.00,general
A6,A6-1,C2,2018-03-21,inpatient,county,maybe,true,100.00,90.00,10.00,general
",
    );
    let out = tmp.path().join("results");
    let (code, _, err) = run(&["batch", "--as-of", AS_OF, "--format", "csv", reg.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let assessed = rows(&out.join("assessed.csv"));
    let errors = rows(&out.join("errors.csv"));
    let ids: Vec<&str> = assessed.iter().map(|r| r["household_id"].as_str()).collect();
    assert_eq!(ids, ["A1", "A4"], "{errors:?}");
    let find = |source: &str, row: &str| {
        errors
            .iter()
            .find(|e| e["source"] == source && e["row"] == row)
            .unwrap_or_else(|| panic!("an error at {source} row {row}: {errors:?}"))
    };
    // a member row of no household
    let e = find("members", "1");
    assert_eq!((e["household_id"].as_str(), e["column"].as_str()), ("A0", "household_id"));
    // a bad date in a member row: the household fails, at the member's row and column
    let e = find("members", "5");
    assert_eq!((e["household_id"].as_str(), e["column"].as_str()), ("A2", "birth_date"));
    // a claim of no member of the household
    let e = find("claims", "1");
    assert_eq!((e["household_id"].as_str(), e["column"].as_str()), ("A3", "member_id"));
    assert!(e["message"].contains("A3-9") && e["message"].contains("A3-1"), "{e:?}");
    // the same id twice, an empty id
    assert_eq!(find("households", "5")["household_id"], "A4");
    assert!(!find("households", "6").contains_key("household_id"));
    // a cell that is not its field's kind
    let e = find("claims", "2");
    assert_eq!((e["household_id"].as_str(), e["column"].as_str()), ("A6", "in_county"));
    assert!(e["message"].contains("`maybe` is not true or false"), "{e:?}");
    // every households row is in exactly one of the two tables
    let failed_households: std::collections::BTreeSet<(String, String)> = errors
        .iter()
        .filter(|e| !(e["source"] == "members" && e["row"] == "1"))
        .map(|e| (e.get("household_id").cloned().unwrap_or_default(), e["source"].clone() + &e["row"]))
        .collect();
    assert_eq!(assessed.len() + failed_households.len(), HOUSEHOLDS.lines().count() - 1);
    assert_eq!(errors.len(), 6);
    // A1 is the 平山 household of the README: 4,400 × 3 − 6,000
    let programmes = rows(&out.join("programmes.csv"));
    let dibao = programmes.iter().find(|r| r["household_id"] == "A1" && r["programme"] == "dibao").expect("A1's 低保");
    assert_eq!(dibao.get("amount").map(String::as_str), Some("7200.00"));
    assert_eq!(dibao["reasons"], "SJZ-1 SJZ-1b SJZ-2");
}

#[test]
fn a_table_out_of_order_stops_the_run_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let reg = tmp.path().join("registry");
    csv(&reg, "households", "id,region\nB2,130131\nB1,130131\n");
    let out = tmp.path().join("results");
    let (code, _, err) = run(&["batch", "--as-of", AS_OF, reg.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("households.csv: row 2: household id `B1` comes after `B2`: the tables must be sorted by household id"), "{err}");
    assert_eq!(std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0), 0, "nothing written");
}

#[test]
fn a_column_that_is_no_field_or_not_exact_is_refused_by_name() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let reg = tmp.path().join("registry");
    csv(&reg, "households", "id,region,incme\nB1,130131,100\n");
    let out = tmp.path().join("results");
    let (code, _, err) = run(&["batch", "--as-of", AS_OF, reg.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("households.csv: column `incme`: is not a field of a household row; its columns are:") && err.contains("income"),
        "{err}"
    );

    // a floating-point income in Parquet
    let reg = tmp.path().join("floats");
    std::fs::create_dir_all(&reg).expect("a directory");
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Utf8, false),
        arrow::datatypes::Field::new("income", arrow::datatypes::DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(arrow::array::StringArray::from(vec!["B1"])),
            std::sync::Arc::new(arrow::array::Float64Array::from(vec![0.1])),
        ],
    )
    .expect("a batch");
    let f = std::fs::File::create(reg.join("households.parquet")).expect("created");
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).expect("a writer");
    w.write(&batch).expect("written");
    w.close().expect("closed");
    let (code, _, err) = run(&["batch", "--as-of", AS_OF, reg.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("column `income`: is floating point (Float64): fupin reads exact figures only"), "{err}");
}

#[test]
fn decimal_and_typed_parquet_columns_are_read_exactly() {
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let reg = tmp.path().join("registry");
    std::fs::create_dir_all(&reg).expect("a directory");
    let hs = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("region", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), false),
        Field::new("poverty.status", DataType::Utf8, false),
        Field::new("poverty.registered_on", DataType::Date32, false),
        Field::new("income", DataType::Decimal128(12, 2), false),
    ]));
    let region: arrow::array::DictionaryArray<arrow::datatypes::Int32Type> = vec!["130131"].into_iter().collect();
    let hb = RecordBatch::try_new(
        hs.clone(),
        vec![
            Arc::new(arrow::array::StringArray::from(vec!["C1"])),
            Arc::new(region),
            Arc::new(arrow::array::StringArray::from(vec!["registered"])),
            Arc::new(arrow::array::Date32Array::from(vec![16868])), // 2016-03-08
            Arc::new(arrow::array::Decimal128Array::from(vec![600000]).with_precision_and_scale(12, 2).expect("a decimal type")),
        ],
    )
    .expect("a batch");
    let ms = Arc::new(Schema::new(vec![
        Field::new("household_id", DataType::Utf8, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("birth_date", DataType::Utf8, false),
        Field::new("labour", DataType::Utf8, false),
        Field::new("sex", DataType::Utf8, false),
        Field::new("relation", DataType::Utf8, false),
        Field::new("pension.tier", DataType::UInt8, true),
    ]));
    let mb = RecordBatch::try_new(
        ms.clone(),
        vec![
            Arc::new(arrow::array::StringArray::from(vec!["C1", "C1", "C1"])),
            Arc::new(arrow::array::StringArray::from(vec!["m1", "m2", "m3"])),
            Arc::new(arrow::array::StringArray::from(vec!["1955-11-30", "1957-05-06", "1983-08-19"])),
            Arc::new(arrow::array::StringArray::from(vec!["complete_loss", "partial_loss", "full"])),
            Arc::new(arrow::array::StringArray::from(vec!["male", "female", "male"])),
            Arc::new(arrow::array::StringArray::from(vec!["head", "spouse", "child"])),
            Arc::new(arrow::array::UInt8Array::from(vec![Some(1), None, Some(2)])),
        ],
    )
    .expect("a batch");
    for (name, schema, batch) in [("households", hs, hb), ("members", ms, mb)] {
        let f = std::fs::File::create(reg.join(format!("{name}.parquet"))).expect("created");
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).expect("a writer");
        w.write(&batch).expect("written");
        w.close().expect("closed");
    }
    let out = tmp.path().join("results");
    let (code, _, err) = run(&["batch", "--as-of", AS_OF, reg.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let programmes = rows(&out.join("programmes.parquet"));
    let dibao = programmes
        .iter()
        .find(|r| r["programme"] == "dibao")
        .unwrap_or_else(|| panic!("{programmes:?} {:?}", rows(&out.join("errors.parquet"))));
    assert_eq!(dibao.get("amount").map(String::as_str), Some("7200.00"));
    assert!(rows(&out.join("errors.parquet")).is_empty());
}
