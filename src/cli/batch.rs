//! `fupin batch`: stream JSON Lines through the engine on all cores.
//!
//! The output file is written completely or not at all: lines go to a
//! temporary file in the output's directory (`.NAME.fupin-PID.tmp`, never the
//! output's own name), which is flushed, synced and renamed over `OUT` at the
//! end. On an error or an interrupt (SIGINT, SIGTERM) the temporary file is
//! removed; a process killed outright leaves at most the temporary file, never
//! a partial `OUT`.

use super::commands::{engine, parse_date};
use super::PolicyArgs;
use fupin::batch::{self, BatchError, BatchOptions, Progress};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Removes the temporary file unless disarmed.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn temp_path(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(format!(".{name}.fupin-{}.tmp", std::process::id()))
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
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let Some(engine) = engine(args) else { return 1 };

    let cancel = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&cancel)) {
            eprintln!("warning: cannot handle signal {sig}: {e}");
        }
    }

    let tmp_path = temp_path(output);
    let tmp = match File::create(&tmp_path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot create {}: {e}", tmp_path.display());
            return 2;
        }
    };
    let mut guard = TempFile { path: tmp_path, armed: true };

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
    let mut out = BufWriter::with_capacity(1 << 20, tmp);
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
            eprintln!("error: cannot write {}: {}", guard.path.display(), e.error());
            return 1;
        }
    };
    if let Err(e) = file.sync_all() {
        eprintln!("error: cannot sync {}: {e}", guard.path.display());
        return 1;
    }
    drop(file);
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("interrupted: {} not written", output.display());
        return 130;
    }
    if let Err(e) = fs::rename(&guard.path, output) {
        eprintln!("error: cannot rename {} to {}: {e}", guard.path.display(), output.display());
        return 1;
    }
    guard.armed = false;
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
