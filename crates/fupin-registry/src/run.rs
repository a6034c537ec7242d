//! The pipeline every registry command shares: one thread reads and joins
//! the tables into household records, a pool assesses them in chunks, and
//! the caller takes the results in input order.

use crate::read::{Item, ReadError, Record, RowError, Source};
use fupin::{Engine, Household, HouseholdError};
use rayon::prelude::*;
use std::sync::mpsc;

/// Households per chunk handed to the pool.
pub const CHUNK: usize = 1024;

/// What stops a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Reading the input.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the output.
    #[error(transparent)]
    Write(#[from] crate::write::WriteError),
    /// The worker pool.
    #[error("cannot start {threads} worker threads: {message}")]
    Pool {
        /// Threads asked for.
        threads: usize,
        /// Why not.
        message: String,
    },
}

/// A household's record read by `engine` for `as_of`, or the row error that
/// says where the record is wrong.
pub fn parse(engine: &Engine, record: &Record, as_of: chrono::NaiveDate) -> Result<Household, RowError> {
    engine.parse_household_bytes(&record.json, Some(as_of)).map_err(|e| located(record, &e))
}

/// A household error as the table, row and column it came from.
pub fn located(record: &Record, e: &HouseholdError) -> RowError {
    let (source, row, column) = record.origin.locate(&e.path);
    // the line and column in the assembled JSON mean nothing to the reader of a table
    let message = if record.origin.line { e.message.clone() } else { strip_position(&e.message).to_string() };
    RowError { household: (!record.id.is_empty()).then(|| record.id.clone()), source, row, column, message }
}

fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i + 9..].split(" column ").count() == 2 => &message[..i],
        _ => message,
    }
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Households (and rows of no household) read.
    pub read: u64,
    /// Assessed.
    pub ok: u64,
    /// Reported as errors.
    pub failed: u64,
}

/// Read every item of `source`, run `work` on each household on `threads`
/// workers (0: one per core), and hand each outcome to `each` in input order.
/// `init` makes one worker's state (its scratch buffers). `tick` is called
/// after each chunk with the items done so far.
pub fn run<S, T, I, W, E>(
    mut source: Source,
    threads: usize,
    init: I,
    work: W,
    mut each: E,
    mut tick: impl FnMut(u64),
) -> Result<Counts, RunError>
where
    S: Send,
    T: Send,
    I: Fn() -> S + Sync + Send,
    W: Fn(&mut S, &Record) -> Result<T, RowError> + Sync + Send,
    E: FnMut(Result<T, RowError>) -> Result<(), RunError>,
{
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| RunError::Pool { threads, message: e.to_string() })?;
    let (tx, rx) = mpsc::sync_channel::<Result<Vec<Item>, ReadError>>(4);
    let mut counts = Counts::default();
    std::thread::scope(|scope| {
        scope.spawn(move || loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            let end = loop {
                match source.next_item() {
                    Ok(Some(item)) => {
                        chunk.push(item);
                        if chunk.len() == CHUNK {
                            break false;
                        }
                    }
                    Ok(None) => break true,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            };
            if !chunk.is_empty() && tx.send(Ok(chunk)).is_err() {
                return;
            }
            if end {
                return;
            }
        });
        for chunk in rx {
            let chunk = chunk?;
            let outcomes: Vec<Result<T, RowError>> = pool.install(|| {
                chunk
                    .into_par_iter()
                    .map_init(&init, |state, item| match item {
                        Item::Household(record) => work(state, &record),
                        Item::Bad(e) => Err(e),
                    })
                    .collect()
            });
            for o in outcomes {
                counts.read += 1;
                match &o {
                    Ok(_) => counts.ok += 1,
                    Err(_) => counts.failed += 1,
                }
                each(o)?;
            }
            tick(counts.read);
        }
        Ok(counts)
    })
}

#[cfg(test)]
mod tests {
    use super::strip_position;

    #[test]
    fn positions_in_the_assembled_json_are_dropped() {
        assert_eq!(strip_position("invalid value: `x` at line 1 column 57"), "invalid value: `x`");
        assert_eq!(strip_position("no position here"), "no position here");
    }
}
