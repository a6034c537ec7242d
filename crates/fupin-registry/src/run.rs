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
    /// A worker stopped on an internal error (a defect: it is reported, and nothing is written).
    #[error("a worker stopped on an internal error; nothing is written")]
    Worker,
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
        // the pool assesses one chunk while this thread writes the one before
        let (done_tx, done_rx) = mpsc::channel::<Done<T>>();
        let init = &init;
        let work = &work;
        pool.in_place_scope(|scope| -> Result<(), RunError> {
            let mut sent = 0u64;
            let mut written = 0u64;
            let mut ready: std::collections::BTreeMap<u64, Vec<Result<T, RowError>>> = Default::default();
            let mut write_ready = |ready: &mut std::collections::BTreeMap<u64, Vec<Result<T, RowError>>>,
                                   written: &mut u64,
                                   counts: &mut Counts|
             -> Result<(), RunError> {
                while let Some(outcomes) = ready.remove(written) {
                    *written += 1;
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
                Ok(())
            };
            for chunk in rx {
                let chunk = chunk?;
                let tx = done_tx.clone();
                let seq = sent;
                sent += 1;
                scope.spawn(move |_| {
                    // a panic is a defect, never the input's fault; it is reported, not waited for
                    let outcomes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        chunk
                            .into_par_iter()
                            .map_init(init, |state, item| match item {
                                Item::Household(record) => work(state, &record),
                                Item::Bad(e) => Err(e),
                            })
                            .collect::<Vec<Result<T, RowError>>>()
                    }));
                    let _ = tx.send((seq, outcomes.ok()));
                });
                // at most two chunks in the pool: memory stays bounded
                while sent - written >= 2 {
                    receive(&done_rx, &mut ready)?;
                    write_ready(&mut ready, &mut written, &mut counts)?;
                }
            }
            while written < sent {
                receive(&done_rx, &mut ready)?;
                write_ready(&mut ready, &mut written, &mut counts)?;
            }
            Ok(())
        })?;
        Ok(counts)
    })
}

type Done<T> = (u64, Option<Vec<Result<T, RowError>>>);

/// One finished chunk into `ready`, or the worker's failure.
fn receive<T>(rx: &mpsc::Receiver<Done<T>>, ready: &mut std::collections::BTreeMap<u64, Vec<Result<T, RowError>>>) -> Result<(), RunError> {
    match rx.recv() {
        Ok((k, Some(o))) => {
            ready.insert(k, o);
            Ok(())
        }
        Ok((_, None)) | Err(_) => Err(RunError::Worker),
    }
}

/// The row error of a failed assessment of `record`'s household.
pub fn eval_error(record: &Record, h: &Household, e: fupin::EvalError) -> RowError {
    RowError {
        household: Some(h.id.clone()),
        source: if record.origin.line { "line".into() } else { "households".into() },
        row: record.origin.row,
        column: None,
        message: e.to_string(),
    }
}

/// Assess every household of `source` on `as_of` into `results` (see
/// [`crate::write`]): `fupin batch` on a registry.
pub fn batch(
    engine: &Engine,
    source: Source,
    as_of: chrono::NaiveDate,
    results: &mut crate::write::Results,
    threads: usize,
    tick: impl FnMut(u64),
) -> Result<Counts, RunError> {
    run(
        source,
        threads,
        || engine.scratch(),
        |scratch, record| {
            let h = parse(engine, record, as_of)?;
            let a = engine.assess_with(&h, as_of, scratch).map_err(|e| eval_error(record, &h, e))?;
            Ok((h.region, a))
        },
        |outcome| {
            match outcome {
                Ok((region, a)) => results.assessment(&region, &a)?,
                Err(e) => results.error(&e)?,
            }
            Ok(())
        },
        tick,
    )
}

/// The baseline and the reform of a simulation: each engine with its date.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    /// The baseline's engine.
    pub baseline: &'a Engine,
    /// Its assessment date.
    pub baseline_as_of: chrono::NaiveDate,
    /// The reform's engine.
    pub reform: &'a Engine,
    /// Its assessment date.
    pub reform_as_of: chrono::NaiveDate,
    /// The date the reform reads every parameter on, if not its assessment
    /// date (`Scratch::set_parameters_on`): another date's figures for the
    /// same households on the same date.
    pub reform_parameters_on: Option<chrono::NaiveDate>,
}

/// Assess every household of `source` under both sides and add the changes
/// up: `fupin simulate`. Each record is read once (twice when the reform
/// declares other facts or assesses on another date).
pub fn simulate(sides: Sides<'_>, source: Source, threads: usize, tick: impl FnMut(u64)) -> Result<crate::simulate::Tally, RunError> {
    use crate::simulate::{ErrorTexts, HouseholdChange, Tally};
    let Sides { baseline, baseline_as_of, reform, reform_as_of, reform_parameters_on } = sides;
    let same_reading = baseline_as_of == reform_as_of && format!("{:?}", baseline.facts()) == format!("{:?}", reform.facts());
    enum Outcome {
        Change(HouseholdChange),
        Failed(&'static str, RowError),
    }
    let mut tally = Tally::default();
    run(
        source,
        threads,
        || {
            let mut sr = reform.scratch();
            sr.set_parameters_on(reform_parameters_on);
            (baseline.scratch(), sr, ErrorTexts::default())
        },
        |(sb, sr, texts), record| {
            let h = match parse(baseline, record, baseline_as_of) {
                Ok(h) => h,
                Err(e) => return Ok(Outcome::Failed("read", e)),
            };
            let hr = if same_reading {
                None
            } else {
                match parse(reform, record, reform_as_of) {
                    Ok(h) => Some(h),
                    Err(e) => return Ok(Outcome::Failed("read", e)),
                }
            };
            if let Err(e) = baseline.assess_validated(&h, baseline_as_of, sb) {
                return Ok(Outcome::Failed("baseline", eval_error(record, &h, e)));
            }
            let hr = hr.as_ref().unwrap_or(&h);
            if let Err(e) = reform.assess_validated(hr, reform_as_of, sr) {
                return Ok(Outcome::Failed("reform", eval_error(record, hr, e)));
            }
            Ok(Outcome::Change(HouseholdChange::in_place(&h.region, baseline, sb, reform, sr, texts)))
        },
        |outcome| {
            match outcome {
                Ok(Outcome::Change(c)) => tally.add(&c),
                Ok(Outcome::Failed(side, e)) => tally.fail(side, e),
                Err(e) => tally.fail("read", e),
            }
            Ok(())
        },
        tick,
    )?;
    Ok(tally)
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
