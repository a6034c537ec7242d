//! Household JSON records as one nested Parquet table.
//!
//! The table has two columns: `county` (the household's `region`, to group
//! and filter by without opening the record) and `household`, the whole
//! record as the struct of [`crate::household_type`]. The records are
//! decoded by Arrow's JSON decoder: text, and decimals written as JSON
//! strings, are kept exactly as written; a decimal written as a JSON number
//! is kept as the number's own digits; a field that is not in the type is
//! refused (strict mode), never dropped.

use crate::Error;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::path::Path;
use std::sync::Arc;

/// The column holding the household's county (its `region`).
pub const COUNTY: &str = "county";
/// The column holding the household record.
pub const HOUSEHOLD: &str = "household";
/// Records decoded per record batch (and per Parquet row group write).
pub const BATCH_ROWS: usize = 8192;

/// The schema of a households table: `county: Utf8`, `household: Struct`.
pub fn table_schema(household: &DataType) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(COUNTY, DataType::Utf8, true), Field::new(HOUSEHOLD, household.clone(), true)]))
}

/// The household id a JSON record names, to say which record is wrong.
fn record_id(record: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(record).ok()?;
    v.get("id")?.as_str().map(str::to_string)
}

fn decode_batch<S: AsRef<str>>(schema: &SchemaRef, records: &[S]) -> Result<Option<RecordBatch>, arrow::error::ArrowError> {
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(records.len() + 1)
        .with_strict_mode(true)
        .with_coerce_primitive(true)
        .build_decoder()?;
    let mut buf = Vec::with_capacity(records.iter().map(|r| r.as_ref().len() + 16).sum());
    for r in records {
        buf.extend_from_slice(br#"{"household":"#);
        buf.extend_from_slice(r.as_ref().as_bytes());
        buf.extend_from_slice(b"}\n");
    }
    let mut at = 0;
    while at < buf.len() {
        let read = decoder.decode(&buf[at..])?;
        if read == 0 {
            break;
        }
        at += read;
    }
    let batch = decoder.flush()?;
    // room was made for one more row than records: a record holding two
    // JSON values would show as an extra row, or as bytes left over
    let rows = batch.as_ref().map_or(0, RecordBatch::num_rows);
    if at < buf.len() || rows != records.len() {
        return Err(arrow::error::ArrowError::JsonError("a record is not exactly one JSON object".into()));
    }
    Ok(batch)
}

/// Household JSON records (as [`fupin_registry::generate::household`]
/// returns them, or `docs/household.md` describes them) as one record
/// batch of [`table_schema`] for `household` (the type of
/// [`crate::household_type`]). A record Arrow cannot decode into the type
/// (malformed JSON, a field the type does not have, a date that is not a
/// date) is an [`Error::Record`] naming its index and household id.
pub fn records_to_batch<S: AsRef<str>>(household: &DataType, records: &[S]) -> Result<RecordBatch, Error> {
    let decode_schema = Arc::new(Schema::new(vec![Field::new(HOUSEHOLD, household.clone(), true)]));
    let decoded = match decode_batch(&decode_schema, records) {
        Ok(b) => b,
        Err(batch_error) => {
            // find the record at fault, decoding each alone
            for (i, r) in records.iter().enumerate() {
                if let Err(e) = decode_batch(&decode_schema, std::slice::from_ref(r)) {
                    return Err(Error::Record { index: i, household: record_id(r.as_ref()), message: e.to_string() });
                }
            }
            return Err(Error::Arrow(batch_error));
        }
    };
    let households: ArrayRef = match decoded {
        Some(b) if b.num_columns() == 1 => b.column(0).clone(),
        None if records.is_empty() => arrow::array::new_empty_array(household),
        _ => return Err(Error::Schema("the JSON decoder returned no household column".into())),
    };
    if households.len() != records.len() {
        return Err(Error::Schema(format!(
            "{} records gave {} households: a record is not exactly one JSON object",
            records.len(),
            households.len()
        )));
    }
    let county: ArrayRef = match households.as_struct_opt().and_then(|s| s.column_by_name("region")) {
        Some(region) if region.data_type() == &DataType::Utf8 => region.clone(),
        _ => return Err(Error::Schema("the household type has no text field `region`".into())),
    };
    Ok(RecordBatch::try_new(table_schema(household), vec![county, households])?)
}

/// Writes household JSON records to one Parquet file (Zstandard-compressed)
/// with the columns `county` and `household` ([`table_schema`] for the
/// engine's [`crate::household_type`]). Returns the number of households
/// written. Nothing is left at `path` when a record is refused.
pub fn write_parquet<I, S>(engine: &fupin::Engine, path: &Path, records: I) -> Result<u64, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let household = crate::household_type(engine)?;
    let result = write_parquet_as(&household, path, records);
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn write_parquet_as<I, S>(household: &DataType, path: &Path, records: I) -> Result<u64, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let file = std::fs::File::create(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
    let mut writer = ArrowWriter::try_new(file, table_schema(household), Some(props))?;
    let mut chunk: Vec<S> = Vec::with_capacity(BATCH_ROWS);
    let mut written: u64 = 0;
    let mut flush = |chunk: &mut Vec<S>, writer: &mut ArrowWriter<std::fs::File>| -> Result<(), Error> {
        let batch = records_to_batch(household, chunk).map_err(|e| match e {
            Error::Record { index, household, message } => Error::Record { index: index + written as usize, household, message },
            other => other,
        })?;
        writer.write(&batch)?;
        written += chunk.len() as u64;
        chunk.clear();
        Ok(())
    };
    for r in records {
        chunk.push(r);
        if chunk.len() == BATCH_ROWS {
            flush(&mut chunk, &mut writer)?;
        }
    }
    if !chunk.is_empty() {
        flush(&mut chunk, &mut writer)?;
    }
    writer.close()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    fn engine() -> fupin::Engine {
        fupin::Engine::embedded().expect("embedded policies build")
    }

    fn income(batch: &RecordBatch, row: usize) -> String {
        let h = batch.column(1).as_struct();
        let income = h.column_by_name("income").expect("income");
        income.as_any().downcast_ref::<StringArray>().expect("text").value(row).to_string()
    }

    #[test]
    fn decimals_keep_their_exact_text() {
        let ty = crate::household_type(&engine()).expect("type");
        let records = [
            r#"{"id":"A","region":"130121","income":"1234.5678901234567890123","members":[]}"#,
            r#"{"id":"B","region":"130123","income":0.1,"members":[]}"#,
            r#"{"id":"C","region":"130123","income":12345678901234567890123456789.000001,"members":[]}"#,
        ];
        let batch = records_to_batch(&ty, &records).expect("decoded");
        assert_eq!(income(&batch, 0), "1234.5678901234567890123");
        assert_eq!(income(&batch, 1), "0.1");
        assert_eq!(income(&batch, 2), "12345678901234567890123456789.000001");
        let county = batch.column(0).as_any().downcast_ref::<StringArray>().expect("text");
        assert_eq!(county.value(1), "130123");
    }

    #[test]
    fn a_record_arrow_cannot_read_is_named() {
        let ty = crate::household_type(&engine()).expect("type");
        let good = fupin_registry::generate::household(1, 0);
        let bad_date = r#"{"id":"BAD-1","region":"130121","members":[{"id":"m","birth_date":"not a date"}]}"#;
        let unknown = r#"{"id":"BAD-2","region":"130121","incme":"12"}"#;
        for (bad, id) in [(bad_date, "BAD-1"), (unknown, "BAD-2")] {
            let e = records_to_batch(&ty, &[good.as_str(), bad]).expect_err("refused");
            match &e {
                Error::Record { index: 1, household: Some(h), .. } if h == id => {}
                other => panic!("{other}"),
            }
            assert!(e.to_string().contains(id), "{e}");
        }
        let two_in_one = r#"{"id":"X"}}{"household":{"id":"Y"}"#;
        assert!(records_to_batch(&ty, &[two_in_one]).is_err());
    }
}
