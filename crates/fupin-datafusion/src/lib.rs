//! fupin in SQL: the engine as DataFusion scalar functions over nested Parquet.
//!
//! A household is one value of a nested Arrow struct ([`household_type`]):
//! the fields of its JSON record, with its members (and their medical
//! claims) and loans as lists of structs. [`write_parquet`] writes household
//! JSON records as a Parquet table of two columns, `county` and `household`;
//! [`register`] adds three functions to a [`SessionContext`]:
//!
//! - `fupin_amount(household, as_of, programme)`: `Decimal128(38, 10)`, the
//!   programme's amount (0 when it pays nothing);
//! - `fupin_eligible(household, as_of, programme)`: `Boolean`;
//! - `fupin_assess(household, as_of)`: a struct with one field per
//!   programme, each `{eligible, amount, unit, error}`.
//!
//! ```sql
//! SELECT county, sum(fupin_amount(household, DATE '2018-06-01', 'dibao')) AS total
//! FROM households GROUP BY county ORDER BY county
//! ```
//!
//! Every figure is exact or an error: an invalid record, a failed
//! assessment, an amount the policies leave to the deployer (when asked for
//! by `fupin_amount`), an amount that does not fit `Decimal128(38, 10)` and a
//! NULL argument stop the query with an execution error naming the
//! household, never a silent NULL or a rounded figure.

#![warn(missing_docs)]

pub mod schema;
pub mod udf;
pub mod write;

pub use schema::{check_exact, household_type, household_type_for};
pub use udf::{amount_type, assessment_type, fupin_amount, fupin_assess, fupin_eligible, outcome_type, to_decimal128};
pub use write::{records_to_batch, table_schema, write_parquet};

use datafusion::prelude::SessionContext;
use fupin::Engine;
use std::sync::Arc;

/// Registers `fupin_amount`, `fupin_eligible` and `fupin_assess` over
/// `engine` on `ctx`.
pub fn register(ctx: &SessionContext, engine: Arc<Engine>) {
    ctx.register_udf(fupin_amount(engine.clone()));
    ctx.register_udf(fupin_eligible(engine.clone()));
    ctx.register_udf(fupin_assess(engine));
}

/// What can go wrong building the household type or writing households.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The household schema cannot be laid out as one nested type.
    Schema(String),
    /// A household record cannot be decoded into the household type.
    Record {
        /// Its 0-based index among the records written.
        index: usize,
        /// The household id it names, if it names one.
        household: Option<String>,
        /// What is wrong, as Arrow's JSON decoder says.
        message: String,
    },
    /// Arrow failed.
    Arrow(arrow::error::ArrowError),
    /// Writing Parquet failed.
    Parquet(parquet::errors::ParquetError),
    /// A file could not be written.
    Io(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Schema(m) => write!(f, "household type: {m}"),
            Error::Record { index, household, message } => {
                write!(f, "record {}", index + 1)?;
                if let Some(h) = household {
                    write!(f, " (household {h})")?;
                }
                write!(f, ": {message}")
            }
            Error::Arrow(e) => write!(f, "{e}"),
            Error::Parquet(e) => write!(f, "{e}"),
            Error::Io(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Error {
        Error::Arrow(e)
    }
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Error {
        Error::Parquet(e)
    }
}

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
