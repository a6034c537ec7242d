//! Batch assessment (DESIGN §6, §9): many households on all cores.
//!
//! Two forms:
//! - [`assess_all`]: a slice of households in memory, assessed in parallel
//!   (rayon, one [`Scratch`] per worker), results in input order.
//! - [`run`]: a stream of JSON Lines in, one JSON line out per input line, in
//!   input order. Lines are read as bytes (invalid UTF-8 is an error line, not
//!   a failure), capped at [`BatchOptions::max_line`] (a longer line becomes the
//!   error line `line too long` and is skipped without being buffered), parsed,
//!   validated and assessed by worker threads, and written in order. At most
//!   [`BatchOptions::in_flight`] chunks are anywhere in the pipeline, so memory
//!   stays flat whatever the input size. No record is lost: every input line
//!   gets exactly one output line — the assessment, or
//!   `{"line": N, "error": "…"}` (1-based line number; the household JSON path
//!   for bad records, the evaluation error otherwise).

use crate::assessment::Assessment;
use crate::engine::Engine;
use crate::eval::{EvalError, Scratch};
use crate::model::Household;
use chrono::NaiveDate;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Assess many households on all cores (rayon's pool), one result per
/// household, in input order. Each household is validated first, as
/// [`Engine::assess`] does.
#[allow(clippy::result_large_err)] // `EvalError` is what `Engine::assess` returns
pub fn assess_all(engine: &Engine, households: &[Household], as_of: NaiveDate) -> Vec<Result<Assessment, EvalError>> {
    households.par_iter().map_init(|| engine.scratch(), |s, h| engine.assess_with(h, as_of, s)).collect()
}

/// Evaluate many households on all cores without building assessments (the
/// allocation-free core per household); calls `each(index, scratch, result)`
/// on the worker thread that evaluated it, in no particular order. The
/// households must be valid (see [`crate::model::validate`]).
pub fn evaluate_all<F>(engine: &Engine, households: &[Household], as_of: NaiveDate, each: F)
where
    F: Fn(usize, &Scratch, Result<(), EvalError>) + Sync,
{
    households.par_iter().enumerate().for_each_init(
        || engine.scratch(),
        |s, (i, h)| {
            let r = engine.evaluate(h, as_of, s);
            each(i, s, r);
        },
    );
}

/// Options of a streaming batch.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Assessment date.
    pub as_of: NaiveDate,
    /// Worker threads (0: one per available core).
    pub threads: usize,
    /// Longest accepted line in bytes, newline excluded; longer lines become
    /// `line too long` error lines.
    pub max_line: usize,
    /// Lines per chunk handed to a worker.
    pub chunk_lines: usize,
    /// Bytes per chunk (a chunk closes at whichever limit comes first).
    pub chunk_bytes: usize,
    /// Chunks in the pipeline at once (read, being assessed, or waiting to be
    /// written in order); bounds memory.
    pub in_flight: usize,
    /// Set to stop early: [`run`] returns [`BatchError::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Default cap on one input line: 16 MiB.
pub const DEFAULT_MAX_LINE: usize = 16 << 20;

/// Most worker threads [`run`] starts; [`BatchOptions::threads`] above it is
/// [`BatchError::TooManyThreads`] (never silently lowered).
pub const MAX_THREADS: usize = 1024;

impl BatchOptions {
    /// Defaults for an assessment date: all cores, 16 MiB lines.
    pub fn new(as_of: NaiveDate) -> BatchOptions {
        BatchOptions { as_of, threads: 0, max_line: DEFAULT_MAX_LINE, chunk_lines: 256, chunk_bytes: 1 << 20, in_flight: 0, cancel: None }
    }

    fn worker_count(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// What a streaming batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchSummary {
    /// Input lines read (= output lines written).
    pub lines: u64,
    /// Lines assessed.
    pub assessed: u64,
    /// Error lines written.
    pub failed: u64,
    /// Input bytes consumed.
    pub bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl BatchSummary {
    /// Lines per second. A throughput for reports, not money: `f64` is fine here.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.lines as f64 / s
        } else {
            0.0
        }
    }
}

/// Progress of a running batch: what has been written so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Lines written.
    pub lines: u64,
    /// Of which error lines.
    pub failed: u64,
    /// Input bytes whose output lines are written.
    pub bytes: u64,
}

/// Why a streaming batch stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// Reading the input or writing the output failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// [`BatchOptions::cancel`] was set.
    #[error("interrupted")]
    Interrupted,
    /// A worker thread stopped unexpectedly.
    #[error("internal error: {0}")]
    Internal(String),
    /// [`BatchOptions::threads`] is above [`MAX_THREADS`].
    #[error("{0} threads requested; the limit is {MAX_THREADS}")]
    TooManyThreads(usize),
    /// The operating system could not start a thread.
    #[error("cannot start a thread: {0}")]
    Spawn(io::Error),
}

/// One input chunk: its sequence number, the 1-based number of its first
/// line, the line texts one after the other in `text` (or a reading error
/// per line), and the input bytes it spans.
struct Chunk {
    seq: u64,
    first_line: u64,
    text: Vec<u8>,
    lines: Vec<Line>,
    bytes: u64,
}

enum Line {
    /// The line is `text[start..end]`.
    Text(usize, usize),
    TooLong(u64),
}

/// Buffers handed back along the pipeline for the next chunks (a chunk's
/// text and lines, once assessed; an output chunk's bytes, once written), so
/// that a long batch allocates and faults in its buffers once.
#[derive(Default)]
struct Pool {
    texts: Mutex<Vec<(Vec<u8>, Vec<Line>)>>,
    outs: Mutex<Vec<Vec<u8>>>,
}

/// A buffer larger than this is not kept for reuse (a chunk holding one
/// line near [`BatchOptions::max_line`]).
const KEEP_BUFFER: usize = 4 << 20;

impl Pool {
    fn take_text(&self) -> (Vec<u8>, Vec<Line>) {
        let got = match self.texts.lock() {
            Ok(mut g) => g.pop(),
            Err(p) => p.into_inner().pop(),
        };
        got.unwrap_or_default()
    }
    fn give_text(&self, mut text: Vec<u8>, mut lines: Vec<Line>) {
        if text.capacity() > KEEP_BUFFER {
            return;
        }
        text.clear();
        lines.clear();
        match self.texts.lock() {
            Ok(mut g) => g.push((text, lines)),
            Err(p) => p.into_inner().push((text, lines)),
        }
    }
    fn take_out(&self) -> Vec<u8> {
        let got = match self.outs.lock() {
            Ok(mut g) => g.pop(),
            Err(p) => p.into_inner().pop(),
        };
        got.unwrap_or_default()
    }
    fn give_out(&self, mut out: Vec<u8>) {
        if out.capacity() > KEEP_BUFFER {
            return;
        }
        out.clear();
        match self.outs.lock() {
            Ok(mut g) => g.push(out),
            Err(p) => p.into_inner().push(out),
        }
    }
}

/// One output chunk.
struct Done {
    seq: u64,
    out: Vec<u8>,
    lines: u64,
    failed: u64,
    bytes: u64,
}

/// What reading one line found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadLine {
    /// End of input, nothing read.
    Eof,
    /// A line (in the buffer, newline stripped); bytes consumed.
    Line(u64),
    /// A line over the cap, skipped to its newline; its length and bytes consumed.
    TooLong(u64, u64),
}

/// Read one line into `buf` (cleared first), at most `max` bytes of it;
/// a longer line is consumed without buffering it.
#[cfg(test)]
fn read_line_capped(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<ReadLine> {
    buf.clear();
    read_line_appended(r, buf, max)
}

/// Read one line onto the end of `buf`, at most `max` bytes of it; a longer
/// line is consumed without buffering it (`buf` is left as it was).
fn read_line_appended(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<ReadLine> {
    let start = buf.len();
    let mut consumed: u64 = 0;
    let mut len: u64 = 0;
    let mut too_long = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            if consumed == 0 {
                return Ok(ReadLine::Eof);
            }
            break;
        }
        let (part, nl) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], true),
            None => (avail, false),
        };
        len += part.len() as u64;
        if !too_long {
            if buf.len() - start + part.len() > max {
                too_long = true;
                buf.truncate(start);
            } else {
                buf.extend_from_slice(part);
            }
        }
        let n = part.len() + usize::from(nl);
        consumed += n as u64;
        r.consume(n);
        if nl {
            break;
        }
    }
    if too_long {
        return Ok(ReadLine::TooLong(len, consumed));
    }
    if buf.len() > start && buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(ReadLine::Line(consumed))
}

/// Assess one line into `out` (with its newline); returns whether it failed.
/// The assessment is written straight from the scratch
/// ([`Engine::assess_json`]: the bytes `write_json` writes for the
/// assessment of [`Engine::assess_with`]); the household was validated for
/// `as_of` when it was read, so it is not validated again.
fn assess_line(engine: &Engine, as_of: NaiveDate, line_no: u64, text: &[u8], s: &mut Scratch, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let result: Result<serde_json::Result<()>, String> = match engine.parse_household_bytes(text, Some(as_of)) {
        Err(_) if text.iter().all(|b| b.is_ascii_whitespace()) => Err("empty line: expected a household JSON object".to_string()),
        Err(e) => Err(format!("invalid household: {e}")),
        Ok(h) => engine.assess_json_validated(&h, as_of, s, out).map_err(|e| {
            let at = e.loc().map(|l| engine.program().sources.describe(l));
            match at {
                Some(at) => format!("{e} ({at})"),
                None => e.to_string(),
            }
        }),
    };
    let failed = match result {
        Ok(Ok(())) => false,
        Ok(Err(e)) => {
            out.truncate(start);
            error_line(out, line_no, &format!("cannot serialise the assessment: {e}"));
            true
        }
        Err(msg) => {
            error_line(out, line_no, &msg);
            true
        }
    };
    out.push(b'\n');
    failed
}

fn error_line(out: &mut Vec<u8>, line_no: u64, message: &str) {
    out.extend_from_slice(format!("{{\"line\":{line_no},\"error\":").as_bytes());
    // Serialising a string into a Vec cannot fail; fall back to a fixed text
    // rather than lose the line.
    if serde_json::to_writer(&mut *out, message).is_err() {
        out.extend_from_slice(b"\"unprintable error\"");
    }
    out.push(b'}');
}

fn process_chunk(engine: &Engine, as_of: NaiveDate, max_line: usize, chunk: Chunk, s: &mut Scratch, pool: &Pool) -> Done {
    let mut out = pool.take_out();
    out.reserve(chunk.lines.len() * 1024);
    let mut failed = 0;
    for (i, line) in chunk.lines.iter().enumerate() {
        let line_no = chunk.first_line + i as u64;
        let bad = match line {
            Line::TooLong(len) => {
                error_line(&mut out, line_no, &format!("line too long: {len} bytes (the limit is {max_line} bytes)"));
                out.push(b'\n');
                true
            }
            Line::Text(start, end) => {
                let text = chunk.text.get(*start..*end).unwrap_or_default();
                let mark = out.len();
                match catch_unwind(AssertUnwindSafe(|| assess_line(engine, as_of, line_no, text, s, &mut out))) {
                    Ok(bad) => bad,
                    Err(_) => {
                        // Never expected (evaluation does not panic); keep the record's line.
                        out.truncate(mark);
                        *s = engine.scratch();
                        error_line(&mut out, line_no, "internal error while assessing this household");
                        out.push(b'\n');
                        true
                    }
                }
            }
        };
        failed += u64::from(bad);
    }
    let (lines, bytes, seq) = (chunk.lines.len() as u64, chunk.bytes, chunk.seq);
    pool.give_text(chunk.text, chunk.lines);
    Done { seq, out, lines, failed, bytes }
}

/// Stream JSON Lines from `input` to `output` (see the module documentation).
/// `progress` is called on the writing thread after each chunk is written.
/// On success every input line has its output line and `output` is flushed.
pub fn run<R, W>(
    engine: &Engine,
    mut input: R,
    output: W,
    opts: &BatchOptions,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<BatchSummary, BatchError>
where
    R: BufRead,
    W: Write + Send,
{
    #[cfg(feature = "tracing")]
    let _span = tracing::info_span!("fupin.batch", threads = opts.threads).entered();
    let start = Instant::now();
    if opts.threads > MAX_THREADS {
        return Err(BatchError::TooManyThreads(opts.threads));
    }
    let workers = opts.worker_count().clamp(1, MAX_THREADS);
    let in_flight = if opts.in_flight > 0 { opts.in_flight } else { workers * 4 };
    let max_line = opts.max_line.max(1);
    let chunk_lines = opts.chunk_lines.max(1);
    let cancelled = || opts.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));

    let (work_tx, work_rx) = sync_channel::<Chunk>(in_flight);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<Done>(in_flight);
    // Tokens bound the chunks in the pipeline (including those waiting to be
    // written in order): the reader takes one per chunk, the writer returns it.
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_tx.try_send(());
    }
    let pool = Pool::default();
    let pool = &pool;

    std::thread::scope(|scope| -> Result<BatchSummary, BatchError> {
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let rx = Arc::clone(&work_rx);
            let tx = done_tx.clone();
            let as_of = opts.as_of;
            let spawned = std::thread::Builder::new().name("fupin-batch".into()).spawn_scoped(scope, move || {
                let mut s = engine.scratch();
                loop {
                    // A poisoned lock means another worker panicked while
                    // holding it; the receiver itself is still sound.
                    let next = match rx.lock() {
                        Ok(g) => g.recv(),
                        Err(p) => p.into_inner().recv(),
                    };
                    let Ok(chunk) = next else { break };
                    if tx.send(process_chunk(engine, as_of, max_line, chunk, &mut s, pool)).is_err() {
                        break;
                    }
                }
            });
            // On failure the workers already started see the channels close and stop.
            handles.push(spawned.map_err(BatchError::Spawn)?);
        }
        drop(done_tx);

        let writer = std::thread::Builder::new()
            .name("fupin-batch-writer".into())
            .spawn_scoped(scope, move || write_in_order(output, done_rx, token_tx, &mut progress, pool))
            .map_err(BatchError::Spawn)?;

        // Read on this thread.
        let read = read_chunks(&mut input, opts, max_line, chunk_lines, &token_rx, &work_tx, pool);
        drop(work_tx);
        // Unblock the writer if the reader stopped early: it returns tokens
        // into a channel nobody reads otherwise.
        drop(token_rx);

        let mut worker_failed = false;
        for h in handles {
            worker_failed |= h.join().is_err();
        }
        let written = writer.join().map_err(|_| BatchError::Internal("the writer panicked".into()))?;
        // An output error explains a reader that found the writer gone.
        let (written, failed) = written?;
        let (lines, bytes) = read?;
        if worker_failed || written != lines {
            return Err(BatchError::Internal(format!("{lines} lines read but {written} written")));
        }
        if cancelled() {
            return Err(BatchError::Interrupted);
        }
        Ok(BatchSummary { lines, assessed: lines - failed, failed, bytes, elapsed: start.elapsed() })
    })
}

/// Read the input into chunks and hand them to the workers, one pipeline
/// token per chunk; returns (lines, bytes) read.
fn read_chunks(
    input: &mut impl BufRead,
    opts: &BatchOptions,
    max_line: usize,
    chunk_lines: usize,
    tokens: &Receiver<()>,
    work: &SyncSender<Chunk>,
    pool: &Pool,
) -> Result<(u64, u64), BatchError> {
    let cancelled = || opts.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
    let mut seq = 0u64;
    let mut line_no = 1u64;
    let mut total_bytes = 0u64;
    let mut eof = false;
    while !eof {
        if cancelled() {
            return Err(BatchError::Interrupted);
        }
        let (mut text, mut lines) = pool.take_text();
        lines.reserve(chunk_lines);
        let mut bytes = 0u64;
        while lines.len() < chunk_lines && text.len() < opts.chunk_bytes {
            let start = text.len();
            match read_line_appended(input, &mut text, max_line)? {
                ReadLine::Eof => {
                    eof = true;
                    break;
                }
                ReadLine::Line(n) => {
                    bytes += n;
                    lines.push(Line::Text(start, text.len()));
                }
                ReadLine::TooLong(len, n) => {
                    bytes += n;
                    lines.push(Line::TooLong(len));
                }
            }
        }
        if lines.is_empty() {
            break;
        }
        // Wait for room in the pipeline.
        if tokens.recv().is_err() {
            return Err(BatchError::Internal("the writer stopped".into()));
        }
        let n = lines.len() as u64;
        total_bytes += bytes;
        if work.send(Chunk { seq, first_line: line_no, text, lines, bytes }).is_err() {
            return Err(BatchError::Internal("the workers stopped".into()));
        }
        seq += 1;
        line_no += n;
    }
    Ok((line_no - 1, total_bytes))
}

/// Write finished chunks in sequence order; returns (lines, failed).
fn write_in_order<W: Write>(
    mut output: W,
    done: Receiver<Done>,
    tokens: SyncSender<()>,
    progress: &mut (impl FnMut(Progress) + Send),
    pool: &Pool,
) -> Result<(u64, u64), BatchError> {
    let mut next = 0u64;
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut p = Progress::default();
    for d in done {
        pending.insert(d.seq, d);
        while let Some(d) = pending.remove(&next) {
            output.write_all(&d.out)?;
            p.lines += d.lines;
            p.failed += d.failed;
            p.bytes += d.bytes;
            pool.give_out(d.out);
            next += 1;
            // The reader may have stopped; then nobody needs the token.
            let _ = tokens.try_send(());
            progress(p);
        }
    }
    if !pending.is_empty() {
        return Err(BatchError::Internal("a chunk went missing".into()));
    }
    output.flush()?;
    Ok((p.lines, p.failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(ReadLine, Vec<u8>)> {
        let mut r = io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let x = read_line_capped(&mut r, &mut buf, max).expect("in-memory read");
            if x == ReadLine::Eof {
                return out;
            }
            out.push((x, buf.clone()));
        }
    }

    #[test]
    fn lines_are_capped_and_skipped() {
        let got = lines(b"ab\r\n0123456789\nxyz", 5);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (ReadLine::Line(4), b"ab".to_vec()));
        assert_eq!(got[1], (ReadLine::TooLong(10, 11), Vec::new()));
        assert_eq!(got[2], (ReadLine::Line(3), b"xyz".to_vec()));
        // a trailing newline does not make an extra line; an empty line is a line
        let got = lines(b"a\n\nb\n", 5);
        assert_eq!(got.iter().map(|x| x.1.clone()).collect::<Vec<_>>(), vec![b"a".to_vec(), Vec::new(), b"b".to_vec()]);
    }
}
