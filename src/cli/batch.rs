//! `fupin batch`: stream JSON Lines through the engine on all cores.
//!
//! The output file is written completely or not at all: lines go to a
//! temporary file in the output's directory, created by the `tempfile` crate
//! (a random name `.NAME.XXXXXX.fupin.tmp`, created exclusively, so a planted
//! file or symlink is never followed or overwritten), which is flushed, synced
//! and renamed over `OUT` at the end. On an error or an interrupt (SIGINT,
//! SIGTERM, SIGHUP) the temporary file is removed; a process killed outright
//! leaves at most the temporary file, never a partial `OUT`.
//!
//! Before any input is read, `OUT` is refused when it is `IN` itself (the same
//! file, through any path or link) or exists and is not a regular file (a
//! directory, a device).

use super::commands::{engine, parse_date};
use super::PolicyArgs;
use fupin::batch::{self, BatchError, BatchOptions, Progress};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Whether two metadata are of the same file.
#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata, _: &Path, _: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata, a: &Path, b: &Path) -> bool {
    matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// Why `output` cannot be written for `input`, checked before the run.
fn check_output(input: &Path, input_meta: &fs::Metadata, output: &Path) -> Result<(), String> {
    let Ok(meta) = fs::metadata(output) else { return Ok(()) };
    if same_file(input_meta, &meta, input, output) {
        return Err(format!("{} is the input file {}; write the output to another file", output.display(), input.display()));
    }
    if meta.is_dir() {
        return Err(format!("{} is a directory; give the output file's name", output.display()));
    }
    if !meta.is_file() {
        return Err(format!("{} exists and is not a regular file; it is not replaced", output.display()));
    }
    Ok(())
}

/// A new temporary file next to `out`.
fn temp_file(out: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".fupin.tmp");
    // Like `File::create`: read-write for everyone the umask allows (tempfile's default is owner-only).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
}

pub fn run(as_of: &str, input: &Path, output: &Path, threads: usize, args: &PolicyArgs) -> i32 {
    let as_of = match parse_date(as_of) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let file = match File::open(input) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", input.display());
            return 2;
        }
    };
    let input_meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", input.display());
            return 2;
        }
    };
    if let Err(e) = check_output(input, &input_meta, output) {
        eprintln!("error: {e}");
        return 2;
    }
    let total = input_meta.len();
    let Some(engine) = engine(args) else { return 1 };

    let cancel = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&cancel)) {
            eprintln!("warning: cannot handle signal {sig}: {e}");
        }
    }

    // Removed when dropped, on every early return.
    let mut tmp = match temp_file(output) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot create a temporary file next to {}: {e}", output.display());
            return 2;
        }
    };

    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        let style = indicatif::ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} · {elapsed_precise} elapsed, ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        Some(bar)
    } else {
        None
    };
    let started = std::time::Instant::now();
    let progress = |p: Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.bytes);
            let secs = started.elapsed().as_secs_f64();
            // a display throughput, not money
            let rate = if secs > 0.0 { p.lines as f64 / secs } else { 0.0 };
            bar.set_message(format!("{} households ({} failed), {:.0}/s", p.lines, p.failed, rate));
        }
    };

    let mut opts = BatchOptions::new(as_of);
    opts.threads = threads;
    opts.cancel = Some(Arc::clone(&cancel));
    // A chunk's output (256 lines of about 3 KB) is larger than the buffer,
    // so it goes to the file in one write without being copied into it; the
    // buffer only gathers chunks of short (error) lines.
    let mut out = BufWriter::with_capacity(64 << 10, tmp.as_file_mut());
    let result = batch::run(&engine, BufReader::with_capacity(1 << 20, file), &mut out, &opts, progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = match result {
        Ok(s) => s,
        Err(BatchError::Interrupted) => {
            eprintln!("interrupted: {} not written", output.display());
            return 130;
        }
        Err(e) => {
            eprintln!("error: {e}; {} not written", output.display());
            return 1;
        }
    };
    let file = match out.into_inner() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot write {}: {}", output.display(), e.error());
            return 1;
        }
    };
    if let Err(e) = file.sync_all() {
        eprintln!("error: cannot sync {}: {e}", output.display());
        return 1;
    }
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("interrupted: {} not written", output.display());
        return 130;
    }
    if let Err(e) = tmp.persist(output) {
        eprintln!("error: cannot rename {} to {}: {}", e.file.path().display(), output.display(), e.error);
        return 1;
    }
    // Make the rename durable (best effort: not every platform syncs directories).
    if let Some(dir) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    let secs = summary.elapsed.as_secs_f64();
    eprintln!(
        "{} households: {} assessed, {} failed, {:.2} s, {:.0} households/s ({} thread(s)) → {}",
        summary.lines,
        summary.assessed,
        summary.failed,
        secs,
        summary.rate(),
        if threads > 0 { threads } else { std::thread::available_parallelism().map_or(1, |n| n.get()) },
        output.display()
    );
    let _ = std::io::stderr().flush();
    0
}
