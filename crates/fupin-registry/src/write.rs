//! Writing results as tables: Parquet or CSV, in record batches.
//!
//! `fupin batch` on a registry writes four tables into its output directory
//! (`docs/registry.md` lists their columns):
//!
//! - `assessed`: one row per household assessed;
//! - `programmes`: one row per household × programme with an outcome
//!   (eligible, an amount, a flag, a value or an error; `--all-programmes`:
//!   every programme of the assessment);
//! - `claims`: one row per claim × layer, then its out-of-pocket and the
//!   parts of it the policies name;
//! - `errors`: one row per household that could not be assessed, and per
//!   row that belongs to no household.
//!
//! Every household of the input is in exactly one of `assessed` and
//! `errors`. Amounts are exact decimal text (`7200.00`), as fupin prints
//! them: a Parquet decimal column has one scale for all its rows, and a
//! policy's amounts need not share one. `CAST(amount AS DECIMAL(20, 2))`
//! reads them in SQL when the policies round to the fen.

use crate::read::{Format, RowError};
use arrow::array::{ArrayRef, BooleanBuilder, Date32Builder, RecordBatch, StringBuilder, UInt32Builder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use fupin::Assessment;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per record batch written.
pub const WRITE_ROWS: usize = 65_536;
/// Rows per Parquet row group (the unit a reader can skip or read alone).
pub const ROW_GROUP: usize = 131_072;

/// A failure to write an output table.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

enum Sink {
    Parquet(parquet::arrow::ArrowWriter<File>),
    Csv(arrow::csv::Writer<File>),
}

/// One output table being written.
pub struct TableSink {
    path: PathBuf,
    schema: SchemaRef,
    sink: Option<Sink>,
    /// Rows written.
    pub rows: u64,
}

impl TableSink {
    /// Create `dir/NAME.EXT` with `schema`.
    pub fn create(dir: &Path, name: &str, format: Format, schema: SchemaRef) -> Result<TableSink, WriteError> {
        let path = dir.join(format!("{name}.{}", format.extension()));
        let err = |e: &dyn std::fmt::Display| WriteError { path: path.clone(), message: e.to_string() };
        let file = File::create(&path).map_err(|e| err(&e))?;
        let sink = match format {
            Format::Parquet => {
                let props =
                    parquet::file::properties::WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build();
                Sink::Parquet(parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| err(&e))?)
            }
            Format::Csv => Sink::Csv(arrow::csv::WriterBuilder::new().with_header(true).build(file)),
        };
        Ok(TableSink { path, schema, sink: Some(sink), rows: 0 })
    }

    /// Append a batch of columns (in the schema's order).
    pub fn write(&mut self, columns: Vec<ArrayRef>) -> Result<(), WriteError> {
        let err = |e: &dyn std::fmt::Display| WriteError { path: self.path.clone(), message: e.to_string() };
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| err(&e))?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        match self.sink.as_mut() {
            Some(Sink::Parquet(w)) => w.write(&batch).map_err(|e| err(&e)),
            Some(Sink::Csv(w)) => w.write(&batch).map_err(|e| err(&e)),
            None => Err(err(&"already closed")),
        }
    }

    /// Finish the file.
    pub fn close(&mut self) -> Result<(), WriteError> {
        let err = |e: &dyn std::fmt::Display| WriteError { path: self.path.clone(), message: e.to_string() };
        match self.sink.take() {
            Some(Sink::Parquet(w)) => w.close().map(|_| ()).map_err(|e| err(&e)),
            Some(Sink::Csv(w)) => w.into_inner().sync_all().map_err(|e| err(&e)),
            None => Ok(()),
        }
    }
}

fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

/// The columns of `assessed`.
pub fn assessed_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("household_id", false),
        text("region", false),
        Field::new("as_of", DataType::Date32, false),
        Field::new("eligible_programmes", DataType::UInt32, false),
        text("policies", false),
    ]))
}

/// The columns of `programmes`.
pub fn programmes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("household_id", false),
        text("programme", false),
        Field::new("eligible", DataType::Boolean, false),
        text("amount", true),
        text("unit", true),
        Field::new("flag", DataType::Boolean, false),
        text("value", true),
        text("reasons", false),
        text("error", true),
    ]))
}

/// The columns of `claims`.
pub fn claims_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("household_id", false),
        text("member_id", false),
        text("claim_id", false),
        Field::new("date", DataType::Date32, false),
        text("total_cost", false),
        text("layer", false),
        text("kind", false),
        text("amount", true),
        text("error", true),
    ]))
}

/// The columns of `errors`.
pub fn errors_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("household_id", true),
        text("source", false),
        Field::new("row", DataType::UInt64, false),
        text("column", true),
        text("message", false),
    ]))
}

fn days(d: chrono::NaiveDate) -> i32 {
    // days since 1970-01-01; every date the model accepts is in range
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX)
}

/// The four result tables of a run, each buffered to [`WRITE_ROWS`] rows.
pub struct Results {
    assessed: (TableSink, AssessedRows),
    programmes: (TableSink, ProgrammeRows),
    claims: (TableSink, ClaimRows),
    errors: (TableSink, ErrorRows),
    all_programmes: bool,
    last_policies: Vec<fupin::assessment::PolicyRef>,
    last_policies_text: String,
}

#[derive(Default)]
struct AssessedRows {
    id: StringBuilder,
    region: StringBuilder,
    as_of: Date32Builder,
    eligible: UInt32Builder,
    policies: StringBuilder,
    n: usize,
}

#[derive(Default)]
struct ProgrammeRows {
    id: StringBuilder,
    programme: StringBuilder,
    eligible: BooleanBuilder,
    amount: StringBuilder,
    unit: StringBuilder,
    flag: BooleanBuilder,
    value: StringBuilder,
    reasons: StringBuilder,
    error: StringBuilder,
    n: usize,
}

#[derive(Default)]
struct ClaimRows {
    id: StringBuilder,
    member: StringBuilder,
    claim: StringBuilder,
    date: Date32Builder,
    total: StringBuilder,
    layer: StringBuilder,
    kind: StringBuilder,
    amount: StringBuilder,
    error: StringBuilder,
    n: usize,
}

#[derive(Default)]
struct ErrorRows {
    id: StringBuilder,
    source: StringBuilder,
    row: UInt64Builder,
    column: StringBuilder,
    message: StringBuilder,
    n: usize,
}

/// How many rows each table got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    /// `assessed` rows: households assessed.
    pub assessed: u64,
    /// `programmes` rows.
    pub programmes: u64,
    /// `claims` rows.
    pub claims: u64,
    /// `errors` rows.
    pub errors: u64,
}

impl Results {
    /// Create the four tables in `dir`.
    pub fn create(dir: &Path, format: Format, all_programmes: bool) -> Result<Results, WriteError> {
        Ok(Results {
            assessed: (TableSink::create(dir, "assessed", format, assessed_schema())?, AssessedRows::default()),
            programmes: (TableSink::create(dir, "programmes", format, programmes_schema())?, ProgrammeRows::default()),
            claims: (TableSink::create(dir, "claims", format, claims_schema())?, ClaimRows::default()),
            errors: (TableSink::create(dir, "errors", format, errors_schema())?, ErrorRows::default()),
            all_programmes,
            last_policies: Vec::new(),
            last_policies_text: String::new(),
        })
    }

    /// Add one household's assessment.
    pub fn assessment(&mut self, region: &str, a: &Assessment) -> Result<(), WriteError> {
        let id = a.household.as_str();
        let r = &mut self.assessed.1;
        r.id.append_value(id);
        r.region.append_value(region);
        r.as_of.append_value(days(a.as_of));
        r.eligible.append_value(a.programs.values().filter(|p| p.eligible).count() as u32);
        // most households of a registry have the same policies applied: written once
        if self.last_policies != a.policies {
            let policies: Vec<String> = a.policies.iter().map(|p| format!("{}@{}", p.id.as_str(), p.version.as_str())).collect();
            self.last_policies_text = policies.join(" ");
            self.last_policies = a.policies.clone();
        }
        r.policies.append_value(&self.last_policies_text);
        r.n += 1;
        let p = &mut self.programmes.1;
        for (name, o) in &a.programs {
            let outcome = o.eligible || o.amount.is_some() || o.flag || o.value.is_some() || o.error.is_some();
            if !outcome && !self.all_programmes {
                continue;
            }
            p.id.append_value(id);
            p.programme.append_value(name.as_str());
            p.eligible.append_value(o.eligible);
            p.amount.append_option(o.amount.map(|d| d.to_string()));
            p.unit.append_option(o.unit.as_ref().map(|u| u.as_str()));
            p.flag.append_value(o.flag);
            p.value.append_option(o.value.as_ref().map(|v| v.as_str()));
            let reasons: Vec<&str> = o.reasons.iter().map(|r| r.rule.as_str()).collect();
            p.reasons.append_value(reasons.join(" "));
            p.error.append_option(o.error.as_deref());
            p.n += 1;
        }
        let c = &mut self.claims.1;
        for claim in &a.claims {
            let total = claim.total_cost.to_string();
            let mut row = |layer: &str, kind: &str, amount: Option<rust_decimal::Decimal>| {
                c.id.append_value(id);
                c.member.append_value(&claim.member);
                c.claim.append_value(&claim.claim);
                c.date.append_value(days(claim.date));
                c.total.append_value(&total);
                c.layer.append_value(layer);
                c.kind.append_value(kind);
                c.amount.append_option(amount.map(|d| d.to_string()));
                c.error.append_option(claim.error.as_deref());
                c.n += 1;
            };
            for (layer, amount) in claim.layers.iter() {
                row(layer, "layer", amount);
            }
            row("out_of_pocket", "out_of_pocket", claim.out_of_pocket);
            for (layer, amount) in claim.out_of_pocket_parts.iter() {
                row(layer, "part_of_out_of_pocket", amount);
            }
        }
        self.flush(false)
    }

    /// Add an error row.
    pub fn error(&mut self, e: &RowError) -> Result<(), WriteError> {
        let r = &mut self.errors.1;
        r.id.append_option(e.household.as_deref());
        r.source.append_value(&e.source);
        r.row.append_value(e.row);
        r.column.append_option(e.column.as_deref());
        r.message.append_value(&e.message);
        r.n += 1;
        self.flush(false)
    }

    fn flush(&mut self, all: bool) -> Result<(), WriteError> {
        let full = |n: usize| n > 0 && (all || n >= WRITE_ROWS);
        let r = &mut self.assessed.1;
        if full(r.n) {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(r.id.finish()),
                Arc::new(r.region.finish()),
                Arc::new(r.as_of.finish()),
                Arc::new(r.eligible.finish()),
                Arc::new(r.policies.finish()),
            ];
            r.n = 0;
            self.assessed.0.write(cols)?;
        }
        let r = &mut self.programmes.1;
        if full(r.n) {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(r.id.finish()),
                Arc::new(r.programme.finish()),
                Arc::new(r.eligible.finish()),
                Arc::new(r.amount.finish()),
                Arc::new(r.unit.finish()),
                Arc::new(r.flag.finish()),
                Arc::new(r.value.finish()),
                Arc::new(r.reasons.finish()),
                Arc::new(r.error.finish()),
            ];
            r.n = 0;
            self.programmes.0.write(cols)?;
        }
        let r = &mut self.claims.1;
        if full(r.n) {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(r.id.finish()),
                Arc::new(r.member.finish()),
                Arc::new(r.claim.finish()),
                Arc::new(r.date.finish()),
                Arc::new(r.total.finish()),
                Arc::new(r.layer.finish()),
                Arc::new(r.kind.finish()),
                Arc::new(r.amount.finish()),
                Arc::new(r.error.finish()),
            ];
            r.n = 0;
            self.claims.0.write(cols)?;
        }
        let r = &mut self.errors.1;
        if full(r.n) {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(r.id.finish()),
                Arc::new(r.source.finish()),
                Arc::new(r.row.finish()),
                Arc::new(r.column.finish()),
                Arc::new(r.message.finish()),
            ];
            r.n = 0;
            self.errors.0.write(cols)?;
        }
        Ok(())
    }

    /// Write what is buffered and close the four files.
    pub fn finish(mut self) -> Result<Written, WriteError> {
        self.flush(true)?;
        self.assessed.0.close()?;
        self.programmes.0.close()?;
        self.claims.0.close()?;
        self.errors.0.close()?;
        Ok(Written {
            assessed: self.assessed.0.rows,
            programmes: self.programmes.0.rows,
            claims: self.claims.0.rows,
            errors: self.errors.0.rows,
        })
    }
}
