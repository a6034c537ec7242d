//! Reading a registry: its tables joined into one household record at a time.
//!
//! The tables are read in record batches and joined by household id as they
//! stream (a merge join), so memory holds one batch of each table and one
//! household, however large the registry. That needs every table in the
//! same order: **sorted by household id** (`ORDER BY household_id` in the
//! export; ids compare as text, byte by byte). A table out of order stops
//! the run with the row where the order breaks, because a household whose
//! rows were passed by could otherwise be assessed without them.
//!
//! What one household's rows hold is put together as the household's JSON
//! record (the field names of `docs/household.md`) and read by the engine's
//! own reader, so a table row is checked exactly as a JSON record is; an
//! error's JSON path is mapped back to the table, row and column it came from.

use crate::layout::{Kind, Layout, Table, HOUSEHOLD_ID, MEMBER_ID};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Field, Int64Type, Schema};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per record batch read.
pub const BATCH_ROWS: usize = 8192;

/// The format of a table file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header row; every cell is text,
    /// converted by the field's kind; an empty cell is an absent field.
    Csv,
}

impl Format {
    /// The format a file name's extension says.
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("parquet") | Some("pq") => Some(Format::Parquet),
            Some("csv") => Some(Format::Csv),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// An error that stops reading: a missing or unreadable table, a column that
/// is no field, a table out of order.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A file could not be opened or read.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The registry has no households table.
    #[error("{}: no households table (households.parquet or households.csv)", dir.display())]
    NoHouseholds {
        /// The directory searched.
        dir: PathBuf,
    },
    /// A table is there in two formats.
    #[error("{}: both {} and {}: keep one", dir.display(), first.display(), second.display())]
    TwoFiles {
        /// The registry directory.
        dir: PathBuf,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A column is not what the table may hold.
    #[error("{}: column `{column}`: {message}", path.display())]
    Column {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// What is wrong with it.
        message: String,
    },
    /// Rows out of household-id order.
    #[error(
        "{}: row {row}: household id `{key}` comes after `{previous}`: the tables must be sorted by household id \
         (ORDER BY {} in the export) so that each household's rows are joined as they stream",
        path.display(), table.key()
    )]
    Unsorted {
        /// The table.
        table: Table,
        /// Its file.
        path: PathBuf,
        /// The 1-based data row.
        row: u64,
        /// The id there.
        key: String,
        /// The id before it.
        previous: String,
    },
}

/// Where one of a household's values came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The household, when the row names one.
    pub household: Option<String>,
    /// The table (or, for JSON Lines, `line`).
    pub source: String,
    /// The 1-based data row of that table (or line of the JSON Lines file).
    pub row: u64,
    /// The column, when one is at fault.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} row {}", self.source, self.row)?;
        if let Some(c) = &self.column {
            write!(f, " column `{c}`")?;
        }
        if let Some(h) = &self.household {
            write!(f, " (household {h})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The rows a household was put together from, to say where an error is.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The households row (or the JSON Lines line).
    pub row: u64,
    /// The members row of each member, in record order.
    pub members: Vec<u64>,
    /// The claims row of each claim of each member.
    pub claims: Vec<Vec<u64>>,
    /// The loans row of each loan.
    pub loans: Vec<u64>,
    /// JSON Lines: the source is one line.
    pub line: bool,
}

impl Origin {
    /// The table, row and column of a JSON path in the household record
    /// (`members[2].claims[0].total_cost` → claims, that claim's row, `total_cost`).
    pub fn locate(&self, path: &str) -> (String, u64, Option<String>) {
        if self.line {
            let column = (path != "$").then(|| path.to_string());
            return ("line".into(), self.row, column);
        }
        fn index(rest: &str) -> Option<(usize, &str)> {
            let rest = rest.strip_prefix('[')?;
            let end = rest.find(']')?;
            let i = rest[..end].parse().ok()?;
            let rest = &rest[end + 1..];
            Some((i, rest.strip_prefix('.').unwrap_or(rest)))
        }
        let column = |rest: &str| (!rest.is_empty()).then(|| rest.to_string());
        if let Some((m, rest)) = path.strip_prefix("members").and_then(index) {
            if let Some((c, rest)) = rest.strip_prefix("claims").and_then(index) {
                if let Some(row) = self.claims.get(m).and_then(|cs| cs.get(c)) {
                    return (Table::Claims.name().into(), *row, column(rest));
                }
            }
            if let Some(row) = self.members.get(m) {
                return (Table::Members.name().into(), *row, column(rest));
            }
        }
        if let Some((l, rest)) = path.strip_prefix("loans").and_then(index) {
            if let Some(row) = self.loans.get(l) {
                return (Table::Loans.name().into(), *row, column(rest));
            }
        }
        let column = (path != "$").then(|| path.to_string());
        (Table::Households.name().into(), self.row, column)
    }
}

/// One household's record, put together from its rows.
#[derive(Debug, Clone)]
pub struct Record {
    /// The household id.
    pub id: String,
    /// The household's JSON record.
    pub json: Vec<u8>,
    /// Where its values came from.
    pub origin: Origin,
}

/// What the reader yields: a household to assess, or a row that cannot be one.
#[derive(Debug, Clone)]
pub enum Item {
    /// A household record.
    Household(Record),
    /// A household whose rows are wrong, or a row of no household.
    Bad(RowError),
}

/// The tables of a registry directory.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Each table's file; the households table is always there.
    pub files: Vec<(Table, PathBuf, Format)>,
}

impl Registry {
    /// The tables in `dir`: `households.parquet` or `households.csv`, and
    /// any of `members`, `claims`, `loans` in either format.
    pub fn open(dir: &Path) -> Result<Registry, ReadError> {
        if !dir.is_dir() {
            return Err(ReadError::Io { path: dir.to_path_buf(), message: "not a directory".into() });
        }
        let mut files = Vec::new();
        for t in Table::ALL {
            let mut found: Option<(PathBuf, Format)> = None;
            for f in [Format::Parquet, Format::Csv] {
                let p = dir.join(format!("{}.{}", t.name(), f.extension()));
                if p.is_file() {
                    if let Some((first, _)) = &found {
                        return Err(ReadError::TwoFiles { dir: dir.to_path_buf(), first: first.clone(), second: p });
                    }
                    found = Some((p, f));
                }
            }
            match found {
                Some((p, f)) => files.push((t, p, f)),
                None if t == Table::Households => return Err(ReadError::NoHouseholds { dir: dir.to_path_buf() }),
                None => {}
            }
        }
        Ok(Registry { files })
    }

    /// The file of one table, if the registry has it.
    pub fn file(&self, table: Table) -> Option<&Path> {
        self.files.iter().find(|(t, _, _)| *t == table).map(|(_, p, _)| p.as_path())
    }
}

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>> + Send>;

fn io(path: &Path, e: impl std::fmt::Display) -> ReadError {
    ReadError::Io { path: path.to_path_buf(), message: e.to_string() }
}

fn open_batches(path: &Path, format: Format) -> Result<(Arc<Schema>, Batches), ReadError> {
    let file = File::open(path).map_err(|e| io(path, e))?;
    match format {
        Format::Parquet => {
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| io(path, e))?;
            let schema = builder.schema().clone();
            let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| io(path, e))?;
            Ok((schema, Box::new(reader)))
        }
        Format::Csv => {
            // the header names the columns; every cell is read as text
            let mut header = String::new();
            BufReader::new(File::open(path).map_err(|e| io(path, e))?).read_line(&mut header).map_err(|e| io(path, e))?;
            let (inferred, _) = arrow::csv::reader::Format::default()
                .with_header(true)
                .infer_schema(header.as_bytes(), Some(0))
                .map_err(|e| io(path, e))?;
            let fields: Vec<Field> = inferred.fields().iter().map(|f| Field::new(f.name(), DataType::Utf8, true)).collect();
            let schema = Arc::new(Schema::new(fields));
            let reader = arrow::csv::ReaderBuilder::new(schema.clone())
                .with_header(true)
                .with_batch_size(BATCH_ROWS)
                .build(file)
                .map_err(|e| io(path, e))?;
            Ok((schema, Box::new(reader)))
        }
    }
}

/// A column of a batch, in the few shapes the reader handles.
enum Cells {
    Text(arrow::array::StringArray),
    Bool(arrow::array::BooleanArray),
    Int(arrow::array::Int64Array),
    Decimal(arrow::array::Decimal128Array),
    Date(arrow::array::Date32Array),
    List(arrow::array::ListArray),
}

/// The shape a column of `dt` is read in, or why it cannot hold `kind`.
fn shape(dt: &DataType, kind: Kind) -> Result<DataType, String> {
    use DataType::*;
    let text = Ok(Utf8);
    match (dt, kind) {
        (Utf8 | LargeUtf8 | Utf8View, _) => text,
        (Dictionary(_, v), _) if matches!(v.as_ref(), Utf8 | LargeUtf8 | Utf8View) => text,
        (Boolean, Kind::Boolean) => Ok(Boolean),
        (Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64, Kind::Integer | Kind::Decimal) => Ok(Int64),
        (Decimal32(_, s) | Decimal64(_, s) | Decimal128(_, s), Kind::Decimal) if *s >= 0 => Ok(Decimal128(38, *s)),
        (Date32 | Date64, Kind::Date) => Ok(Date32),
        (List(f) | LargeList(f), Kind::TextList) if matches!(f.data_type(), Utf8 | LargeUtf8 | Utf8View) => {
            Ok(List(Arc::new(Field::new("item", Utf8, true))))
        }
        (Float16 | Float32 | Float64, _) => Err(format!(
            "is floating point ({dt}): fupin reads exact figures only; store {} as a decimal, an integer or text",
            kind.describe()
        )),
        _ => Err(format!("is {dt}, which cannot hold {}", kind.describe())),
    }
}

/// How one column of a table is read.
#[derive(Debug, Clone)]
struct ColumnPlan {
    index: usize,
    /// The record path split at dots.
    path: Vec<String>,
    name: String,
    kind: Kind,
    read_as: DataType,
}

/// A table read row by row, in household-id order.
struct Stream {
    table: Table,
    path: PathBuf,
    csv: bool,
    batches: Batches,
    key: usize,
    key_as: DataType,
    member: Option<(usize, DataType)>,
    columns: Vec<ColumnPlan>,
    // the batch being read
    cells: Vec<Cells>,
    key_cells: Option<Cells>,
    member_cells: Option<Cells>,
    len: usize,
    pos: usize,
    /// 1-based number of the row at `pos`.
    row: u64,
    previous: Option<String>,
    done: bool,
}

impl Stream {
    fn open(table: Table, path: &Path, format: Format, layout: &Layout) -> Result<Stream, ReadError> {
        let (schema, batches) = open_batches(path, format)?;
        let column_error =
            |column: &str, message: String| ReadError::Column { path: path.to_path_buf(), column: column.to_string(), message };
        let mut key = None;
        let mut member = None;
        let mut columns = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (index, field) in schema.fields().iter().enumerate() {
            let name = field.name().as_str();
            if !seen.insert(name.to_string()) {
                return Err(column_error(name, "appears twice".into()));
            }
            let key_column = name == table.key();
            if key_column || (table == Table::Claims && name == MEMBER_ID) {
                let read_as = shape(field.data_type(), Kind::Text).map_err(|m| column_error(name, m))?;
                if key_column {
                    key = Some((index, read_as.clone()));
                }
                if table == Table::Claims && name == MEMBER_ID {
                    member = Some((index, read_as));
                }
                if !(key_column && table == Table::Households) {
                    continue;
                }
            }
            let Some(kind) = layout.kind(table, name) else {
                let mut known: Vec<&str> = layout.columns(table).map(|(n, _)| n).collect();
                if table != Table::Households {
                    known.insert(0, HOUSEHOLD_ID);
                }
                if table == Table::Claims {
                    known.insert(1, MEMBER_ID);
                }
                let hint = match table {
                    Table::Households if name == "members" || name == "loans" => {
                        format!("{name} are rows of the {name} table, not a column")
                    }
                    Table::Members if name == "claims" => "claims are rows of the claims table, not a column".to_string(),
                    _ => format!("is not a field of a {} row; its columns are: {}", table_noun(table), known.join(", ")),
                };
                return Err(column_error(name, hint));
            };
            let read_as = shape(field.data_type(), kind).map_err(|m| column_error(name, m))?;
            columns.push(ColumnPlan { index, path: name.split('.').map(String::from).collect(), name: name.to_string(), kind, read_as });
        }
        let Some((key, key_as)) = key else {
            return Err(column_error(table.key(), format!("is missing: every {} row names its household", table_noun(table))));
        };
        if table == Table::Claims && member.is_none() {
            return Err(column_error(MEMBER_ID, "is missing: every claim names the member it belongs to".into()));
        }
        // nested objects open and close once: sort the columns by path
        columns.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Stream {
            table,
            path: path.to_path_buf(),
            csv: format == Format::Csv,
            batches,
            key,
            key_as,
            member,
            columns,
            cells: Vec::new(),
            key_cells: None,
            member_cells: None,
            len: 0,
            pos: 0,
            row: 1,
            previous: None,
            done: false,
        })
    }

    /// Make `pos` a row of the current batch, reading the next batch when
    /// needed; false at the end of the table.
    fn fill(&mut self) -> Result<bool, ReadError> {
        while !self.done && self.pos >= self.len {
            match self.batches.next() {
                None => self.done = true,
                Some(Err(e)) => return Err(io(&self.path, format!("near row {}: {e}", self.row))),
                Some(Ok(batch)) => self.load(&batch)?,
            }
        }
        Ok(!self.done)
    }

    fn load(&mut self, batch: &RecordBatch) -> Result<(), ReadError> {
        let cast = |index: usize, dt: &DataType| -> Result<Cells, ReadError> {
            let col = batch.column(index);
            let col: ArrayRef = if col.data_type() == dt {
                col.clone()
            } else {
                arrow::compute::cast(col, dt).map_err(|e| io(&self.path, format!("column {index}: {e}")))?
            };
            Ok(match dt {
                DataType::Utf8 => Cells::Text(col.as_string::<i32>().clone()),
                DataType::Boolean => Cells::Bool(col.as_boolean().clone()),
                DataType::Int64 => Cells::Int(col.as_primitive::<Int64Type>().clone()),
                DataType::Decimal128(_, _) => Cells::Decimal(col.as_primitive::<Decimal128Type>().clone()),
                DataType::Date32 => Cells::Date(col.as_primitive::<Date32Type>().clone()),
                _ => Cells::List(col.as_list::<i32>().clone()),
            })
        };
        self.cells = self.columns.iter().map(|c| cast(c.index, &c.read_as)).collect::<Result<_, _>>()?;
        self.key_cells = Some(cast(self.key, &self.key_as)?);
        self.member_cells = match &self.member {
            Some((i, dt)) => Some(cast(*i, dt)?),
            None => None,
        };
        self.len = batch.num_rows();
        self.pos = 0;
        Ok(())
    }

    /// The text of a key cell at the current row (None: empty).
    fn text_at(&self, cells: &Option<Cells>) -> Option<String> {
        match cells {
            Some(Cells::Text(a)) if a.is_valid(self.pos) => {
                let v = a.value(self.pos);
                (!(self.csv && v.is_empty())).then(|| v.to_string())
            }
            _ => None,
        }
    }

    /// The current row's own `id` field (a member's id), if the table has one.
    fn own_id(&self) -> Option<String> {
        let i = self.columns.iter().position(|c| c.name == "id")?;
        match &self.cells[i] {
            Cells::Text(a) if a.is_valid(self.pos) && !(self.csv && a.value(self.pos).is_empty()) => Some(a.value(self.pos).to_string()),
            _ => None,
        }
    }

    /// The current row's household id, after checking the order; `Ok(None)`
    /// at the end of the table, `Some(None)` for a row with no id.
    fn peek(&mut self) -> Result<Option<Option<String>>, ReadError> {
        if !self.fill()? {
            return Ok(None);
        }
        let key = self.text_at(&self.key_cells);
        if let (Some(k), Some(p)) = (&key, &self.previous) {
            if k < p {
                return Err(ReadError::Unsorted {
                    table: self.table,
                    path: self.path.clone(),
                    row: self.row,
                    key: k.clone(),
                    previous: p.clone(),
                });
            }
        }
        Ok(Some(key))
    }

    fn advance(&mut self, key: Option<String>) {
        if key.is_some() {
            self.previous = key;
        }
        self.pos += 1;
        self.row += 1;
    }

    /// Write the current row's fields as the members of a JSON object (the
    /// braces are the caller's); `first` says whether a member was written
    /// before. A cell that cannot be its field's value is the error.
    fn write_fields(&self, out: &mut Vec<u8>, mut first: bool) -> Result<bool, (String, String)> {
        // the nested objects open, as path prefixes
        let mut open: Vec<&str> = Vec::new();
        for (plan, cells) in self.columns.iter().zip(&self.cells) {
            if absent(cells, self.pos, self.csv) {
                continue;
            }
            let (leaf, parents) = plan.path.split_last().expect("a column name has a segment");
            let common = open.iter().zip(parents).take_while(|(a, b)| **a == b.as_str()).count();
            while open.len() > common {
                open.pop();
                out.push(b'}');
            }
            for p in &parents[common..] {
                if !first {
                    out.push(b',');
                }
                write_str(out, p);
                out.extend_from_slice(b":{");
                first = true;
                open.push(p);
            }
            if !first {
                out.push(b',');
            }
            write_str(out, leaf);
            out.push(b':');
            write_value(cells, self.pos, plan.kind, out).map_err(|m| (plan.name.clone(), m))?;
            first = false;
        }
        for _ in open {
            out.push(b'}');
        }
        Ok(first)
    }
}

fn table_noun(t: Table) -> &'static str {
    match t {
        Table::Households => "household",
        Table::Members => "member",
        Table::Claims => "claim",
        Table::Loans => "loan",
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // writing a &str to a Vec cannot fail
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Whether a cell is an absent field: null, or in CSV empty.
fn absent(cells: &Cells, i: usize, csv: bool) -> bool {
    match cells {
        Cells::Text(a) => a.is_null(i) || (csv && a.value(i).is_empty()),
        Cells::Bool(a) => a.is_null(i),
        Cells::Int(a) => a.is_null(i),
        Cells::Decimal(a) => a.is_null(i),
        Cells::Date(a) => a.is_null(i),
        Cells::List(a) => a.is_null(i),
    }
}

/// Write a present cell as the JSON value of its field, or say what is wrong.
fn write_value(cells: &Cells, i: usize, kind: Kind, out: &mut Vec<u8>) -> Result<(), String> {
    use std::io::Write as _;
    match cells {
        Cells::Text(a) => {
            let v = a.value(i);
            match kind {
                Kind::Text | Kind::Date | Kind::Decimal => write_str(out, v),
                Kind::Integer => {
                    let t = v.trim();
                    let digits = t.strip_prefix('-').unwrap_or(t);
                    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!("`{v}` is not a whole number"));
                    }
                    out.extend_from_slice(t.as_bytes());
                }
                Kind::Boolean => match v.trim() {
                    "true" => out.extend_from_slice(b"true"),
                    "false" => out.extend_from_slice(b"false"),
                    _ => return Err(format!("`{v}` is not true or false")),
                },
                Kind::TextList => {
                    out.push(b'[');
                    for (n, item) in v.split(';').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
                        if n > 0 {
                            out.push(b',');
                        }
                        write_str(out, item);
                    }
                    out.push(b']');
                }
            }
        }
        Cells::Bool(a) => out.extend_from_slice(if a.value(i) { b"true" } else { b"false" }),
        Cells::Int(a) => match kind {
            Kind::Decimal => {
                let _ = write!(out, "\"{}\"", a.value(i));
            }
            _ => {
                let _ = write!(out, "{}", a.value(i));
            }
        },
        Cells::Decimal(a) => write_str(out, &a.value_as_string(i)),
        Cells::Date(a) => match a.value_as_date(i) {
            Some(d) => {
                use chrono::Datelike as _;
                let _ = write!(out, "\"{:04}-{:02}-{:02}\"", d.year(), d.month(), d.day());
            }
            None => return Err(format!("day {} is not a date", a.value(i))),
        },
        Cells::List(a) => {
            let values = a.value(i);
            let texts = values.as_string::<i32>();
            out.push(b'[');
            let mut first = true;
            for j in (0..texts.len()).filter(|j| texts.is_valid(*j)) {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_str(out, texts.value(j));
            }
            out.push(b']');
        }
    }
    Ok(())
}

/// Reads a registry's households one at a time, joined from its tables.
pub struct Reader {
    households: Stream,
    members: Option<Stream>,
    claims: Option<Stream>,
    loans: Option<Stream>,
    /// Rows that belong to no household, found while joining: yielded before
    /// the next household.
    pending: std::collections::VecDeque<Item>,
    previous: Option<String>,
}

/// Rows of one household in a child table, as far as the join has read.
struct Child {
    row: u64,
    json: Vec<u8>,
    /// A member's own id; the member a claim names.
    link: Option<String>,
}

impl Reader {
    /// Open a registry for reading with the columns `layout` allows.
    pub fn open(registry: &Registry, layout: &Layout) -> Result<Reader, ReadError> {
        let mut streams: Vec<Option<Stream>> = Vec::new();
        for t in Table::ALL {
            streams.push(match registry.files.iter().find(|(ft, _, _)| *ft == t) {
                Some((_, p, f)) => Some(Stream::open(t, p, *f, layout)?),
                None => None,
            });
        }
        let mut it = streams.into_iter();
        let households = it.next().flatten().ok_or_else(|| ReadError::NoHouseholds { dir: PathBuf::new() })?;
        Ok(Reader {
            households,
            members: it.next().flatten(),
            claims: it.next().flatten(),
            loans: it.next().flatten(),
            pending: Default::default(),
            previous: None,
        })
    }

    /// The rows of household `id` in a child table, reporting the rows
    /// before it that belong to no household.
    /// `id` None: the rest of the table, all of it rows of no household.
    fn take(
        stream: &mut Option<Stream>,
        id: Option<&str>,
        pending: &mut std::collections::VecDeque<Item>,
        limit: usize,
    ) -> Result<(Vec<Child>, Option<RowError>), ReadError> {
        let mut rows = Vec::new();
        let mut problem = None;
        let Some(s) = stream.as_mut() else {
            return Ok((rows, problem));
        };
        while let Some(key) = s.peek()? {
            match key.as_deref() {
                None => {
                    pending.push_back(Item::Bad(RowError {
                        household: None,
                        source: s.table.name().into(),
                        row: s.row,
                        column: Some(HOUSEHOLD_ID.into()),
                        message: format!("empty: the row belongs to no household (row {} of {})", s.row, s.path.display()),
                    }));
                }
                Some(k) if id.is_none_or(|id| k < id) => {
                    pending.push_back(Item::Bad(RowError {
                        household: Some(k.to_string()),
                        source: s.table.name().into(),
                        row: s.row,
                        column: Some(HOUSEHOLD_ID.into()),
                        message: "no household has this id".into(),
                    }));
                }
                Some(k) if Some(k) == id => {
                    let id = k;
                    if rows.len() == limit {
                        problem.get_or_insert(RowError {
                            household: Some(id.to_string()),
                            source: s.table.name().into(),
                            row: s.row,
                            column: None,
                            message: format!("more than {limit} {} rows for one household", table_noun(s.table)),
                        });
                    } else if problem.is_none() {
                        let mut json = vec![b'{'];
                        match s.write_fields(&mut json, true) {
                            Ok(_) => {
                                json.push(b'}');
                                let link = match s.table {
                                    Table::Claims => s.text_at(&s.member_cells),
                                    _ => s.own_id(),
                                };
                                if s.table == Table::Claims && link.is_none() {
                                    problem = Some(RowError {
                                        household: Some(id.to_string()),
                                        source: s.table.name().into(),
                                        row: s.row,
                                        column: Some(MEMBER_ID.into()),
                                        message: "empty: every claim names its member".into(),
                                    });
                                } else {
                                    rows.push(Child { row: s.row, json, link });
                                }
                            }
                            Err((column, message)) => {
                                problem = Some(RowError {
                                    household: Some(id.to_string()),
                                    source: s.table.name().into(),
                                    row: s.row,
                                    column: Some(column),
                                    message,
                                })
                            }
                        }
                    }
                }
                Some(_) => break,
            }
            s.advance(key);
        }
        Ok((rows, problem))
    }

    /// The next household, or a row that cannot be one; `None` at the end.
    pub fn next_item(&mut self) -> Result<Option<Item>, ReadError> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            let Some(key) = self.households.peek()? else {
                // what is left of the other tables belongs to no household
                let mut tail = std::collections::VecDeque::new();
                for s in [&mut self.members, &mut self.claims, &mut self.loans] {
                    Reader::take(s, None, &mut tail, usize::MAX)?;
                }
                if tail.is_empty() {
                    return Ok(None);
                }
                self.pending = tail;
                continue;
            };
            let row = self.households.row;
            let Some(id) = key.clone() else {
                self.households.advance(None);
                return Ok(Some(Item::Bad(RowError {
                    household: None,
                    source: Table::Households.name().into(),
                    row,
                    column: Some("id".into()),
                    message: "empty: every household has an id".into(),
                })));
            };
            if self.previous.as_deref() == Some(id.as_str()) {
                self.households.advance(key);
                return Ok(Some(Item::Bad(RowError {
                    household: Some(id),
                    source: Table::Households.name().into(),
                    row,
                    column: Some("id".into()),
                    message: "a second household with this id (its members, claims and loans went to the first)".into(),
                })));
            }
            let mut json = Vec::with_capacity(4096);
            json.push(b'{');
            let own = self.households.write_fields(&mut json, true);
            self.households.advance(key);
            self.previous = Some(id.clone());
            let mut problem = own.as_ref().err().map(|(column, message)| RowError {
                household: Some(id.clone()),
                source: Table::Households.name().into(),
                row,
                column: Some(column.clone()),
                message: message.clone(),
            });
            let first = own.unwrap_or(true);
            let mut pending = std::mem::take(&mut self.pending);
            let (members, p1) = Reader::take(&mut self.members, Some(&id), &mut pending, fupin::model::MAX_MEMBERS)?;
            let (claims, p2) = Reader::take(&mut self.claims, Some(&id), &mut pending, fupin::model::MAX_CLAIMS)?;
            let (loans, p3) = Reader::take(&mut self.loans, Some(&id), &mut pending, fupin::model::MAX_LOANS)?;
            self.pending = pending;
            problem = problem.or(p1).or(p2).or(p3);
            let mut origin = Origin { row, ..Origin::default() };
            // each claim to its member
            let mut member_claims: Vec<Vec<&Child>> = vec![Vec::new(); members.len()];
            let member_ids: Vec<Option<String>> = members.iter().map(|m| m.link.clone()).collect();
            for c in &claims {
                let owner = c.link.as_deref().and_then(|m| member_ids.iter().position(|id| id.as_deref() == Some(m)));
                match owner {
                    Some(i) => member_claims[i].push(c),
                    None => {
                        problem.get_or_insert(RowError {
                            household: Some(id.clone()),
                            source: Table::Claims.name().into(),
                            row: c.row,
                            column: Some(MEMBER_ID.into()),
                            message: format!(
                                "`{}` is not a member of the household (its members rows have id {})",
                                c.link.as_deref().unwrap_or(""),
                                if member_ids.is_empty() {
                                    "none".to_string()
                                } else {
                                    member_ids.iter().map(|m| m.as_deref().unwrap_or("(none)")).collect::<Vec<_>>().join(", ")
                                }
                            ),
                        });
                    }
                }
            }
            if let Some(p) = problem {
                return Ok(Some(Item::Bad(p)));
            }
            if !first {
                json.push(b',');
            }
            json.extend_from_slice(b"\"members\":[");
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    json.push(b',');
                }
                origin.members.push(m.row);
                let claims = &member_claims[i];
                if claims.is_empty() {
                    json.extend_from_slice(&m.json);
                } else {
                    json.extend_from_slice(&m.json[..m.json.len() - 1]);
                    if m.json.len() > 2 {
                        json.push(b',');
                    }
                    json.extend_from_slice(b"\"claims\":[");
                    for (j, c) in claims.iter().enumerate() {
                        if j > 0 {
                            json.push(b',');
                        }
                        json.extend_from_slice(&c.json);
                    }
                    json.extend_from_slice(b"]}");
                }
                origin.claims.push(claims.iter().map(|c| c.row).collect());
            }
            json.extend_from_slice(b"],\"loans\":[");
            for (i, l) in loans.iter().enumerate() {
                if i > 0 {
                    json.push(b',');
                }
                origin.loans.push(l.row);
                json.extend_from_slice(&l.json);
            }
            json.extend_from_slice(b"]}");
            return Ok(Some(Item::Household(Record { id, json, origin })));
        }
    }
}

/// Reads a JSON Lines file as records, one per line.
pub struct LinesReader {
    input: Box<dyn BufRead + Send>,
    path: PathBuf,
    line: u64,
}

impl LinesReader {
    /// Open a JSON Lines file (`-`: standard input).
    pub fn open(path: &Path) -> Result<LinesReader, ReadError> {
        let input: Box<dyn BufRead + Send> = if path == Path::new("-") {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| io(path, e))?))
        };
        Ok(LinesReader { input, path: path.to_path_buf(), line: 0 })
    }

    /// The next line as a record; `None` at the end.
    pub fn next_item(&mut self) -> Result<Option<Item>, ReadError> {
        let mut json = Vec::new();
        let n = self.input.read_until(b'\n', &mut json).map_err(|e| io(&self.path, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        while json.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            json.pop();
        }
        // the id for the results: the record's own, read again by the engine
        let id = serde_json::from_slice::<IdOnly>(&json).ok().and_then(|r| r.id).unwrap_or_default();
        Ok(Some(Item::Household(Record { id, json, origin: Origin { row: self.line, line: true, ..Origin::default() } })))
    }
}

#[derive(serde::Deserialize)]
struct IdOnly {
    id: Option<String>,
}

/// Either reader, as one source of items.
pub enum Source {
    /// A registry of tables.
    Tables(Box<Reader>),
    /// A JSON Lines file.
    Lines(LinesReader),
}

impl Source {
    /// Open `input`: a registry directory, or a JSON Lines file.
    pub fn open(input: &Path, layout: &Layout) -> Result<Source, ReadError> {
        if input.is_dir() {
            Ok(Source::Tables(Box::new(Reader::open(&Registry::open(input)?, layout)?)))
        } else {
            Ok(Source::Lines(LinesReader::open(input)?))
        }
    }

    /// The next item; `None` at the end.
    pub fn next_item(&mut self) -> Result<Option<Item>, ReadError> {
        match self {
            Source::Tables(r) => r.next_item(),
            Source::Lines(r) => r.next_item(),
        }
    }
}
