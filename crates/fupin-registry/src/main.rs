//! `fupin-registry` (run by `fupin batch` on a registry, `fupin simulate`
//! and `fupin registry`): batch assessment of a registry held as tables,
//! reform simulation, synthetic registries, JSON Lines to tables.

use clap::{Parser, Subcommand, ValueEnum};
use fupin::{Engine, PolicySet};
use fupin_registry::args::PolicyArgs;
use fupin_registry::layout::Layout;
use fupin_registry::read::{Format, Source};
use fupin_registry::run::{self, RunError};
use fupin_registry::simulate::SetDescription;
use fupin_registry::tables::TablesWriter;
use fupin_registry::write::Results;
use fupin_registry::{generate, report};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "fupin-registry", version, about = "fupin over a registry held as tables")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
enum OutFormat {
    Parquet,
    Csv,
}

impl From<OutFormat> for Format {
    fn from(f: OutFormat) -> Format {
        match f {
            OutFormat::Parquet => Format::Parquet,
            OutFormat::Csv => Format::Csv,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Assess every household of a registry (a directory of tables, or a JSON Lines file) and
    /// write the results as tables: assessed, programmes, claims, errors.
    Batch {
        /// Assessment date, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        as_of: String,
        /// A registry directory (households, members, claims, loans as .parquet or .csv) or a JSON Lines file.
        input: PathBuf,
        /// The directory to write the result tables into (created if missing; each table is written
        /// completely or not at all).
        output: PathBuf,
        /// The result tables' format.
        #[arg(long, value_enum, default_value = "parquet")]
        format: OutFormat,
        /// Write a programmes row for every programme of every assessment, not only those with an outcome.
        #[arg(long)]
        all_programmes: bool,
        /// Worker threads, 1 to 1024 (default: one per core).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
        threads: u64,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Assess a registry under a baseline and a reform, and report the change per programme and
    /// county, exactly: JSON on standard output (or --json FILE), an HTML page with --html FILE.
    Simulate {
        /// Assessment date of the baseline (and of the reform, unless --reform-as-of).
        #[arg(long, value_name = "DATE")]
        as_of: String,
        /// A registry directory or a JSON Lines file.
        input: PathBuf,
        /// The baseline policy set.
        #[command(flatten)]
        policy: PolicyArgs,
        /// The reform's policies: this directory instead of the baseline's.
        #[arg(long, value_name = "DIR")]
        reform_policies: Option<PathBuf>,
        /// An overlay the reform adds to the baseline's; may be repeated.
        #[arg(long, value_name = "FILE")]
        reform_overlay: Vec<PathBuf>,
        /// A setting the reform adds to (or changes from) the baseline's; may be repeated.
        #[arg(long = "reform-set", value_name = "NAME=VALUE")]
        reform_set: Vec<String>,
        /// The reform's lockfile (default: the baseline's, if its policies are the baseline's).
        #[arg(long, value_name = "FILE")]
        reform_lock: Option<PathBuf>,
        /// Assessment date of the reform.
        #[arg(long, value_name = "DATE")]
        reform_as_of: Option<String>,
        /// The reform reads every parameter as in force on DATE (the same households on the
        /// same date, under DATE's figures: `--reform-parameters-on 2020-06-01` applies the
        /// 2020 standards to a 2018 registry).
        #[arg(long, value_name = "DATE")]
        reform_parameters_on: Option<String>,
        /// Write the JSON report to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the report as an HTML page.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Worker threads, 1 to 1024 (default: one per core).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
        threads: u64,
    },
    /// Write a synthetic registry of 石家庄 households (plausible figures, not published ones) as tables.
    Generate {
        /// How many households.
        #[arg(long, value_name = "N")]
        households: u64,
        /// The seed: the same seed and count give the same registry.
        #[arg(long, default_value_t = 2018)]
        seed: u64,
        /// The tables' format.
        #[arg(long, value_enum, default_value = "parquet")]
        format: OutFormat,
        /// Also write the same households as JSON Lines to FILE.
        #[arg(long, value_name = "FILE")]
        jsonl: Option<PathBuf>,
        /// The directory to write the tables into.
        output: PathBuf,
    },
    /// Print every column each table of a registry may have, with its kind, for the loaded policies
    /// (a fact a policy declares is a column too).
    Columns {
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Write a JSON Lines file of households (in ascending id order) as a registry's tables.
    Convert {
        /// The JSON Lines file.
        input: PathBuf,
        /// The directory to write the tables into.
        output: PathBuf,
        /// The tables' format.
        #[arg(long, value_enum, default_value = "parquet")]
        format: OutFormat,
        #[command(flatten)]
        policy: PolicyArgs,
    },
}

macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// See the manifest: memory that stays flat however long the run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(match Cli::try_parse() {
        Ok(cli) => run(cli.command),
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            code
        }
    });
}

fn run(command: Command) -> i32 {
    let result = match command {
        Command::Batch { as_of, input, output, format, all_programmes, threads, policy } => {
            batch(&as_of, &input, &output, format.into(), all_programmes, threads as usize, &policy)
        }
        Command::Simulate {
            as_of,
            input,
            policy,
            reform_policies,
            reform_overlay,
            reform_set,
            reform_lock,
            reform_as_of,
            reform_parameters_on,
            json,
            html,
            threads,
        } => {
            let reform = Reform {
                policies: reform_policies,
                overlays: reform_overlay,
                settings: reform_set,
                lock: reform_lock,
                as_of: reform_as_of,
                parameters_on: reform_parameters_on,
            };
            simulate(&as_of, &input, &policy, &reform, json.as_deref(), html.as_deref(), threads as usize)
        }
        Command::Generate { households, seed, format, jsonl, output } => {
            generate(households, seed, format.into(), jsonl.as_deref(), &output)
        }
        Command::Convert { input, output, format, policy } => convert(&input, &output, format.into(), &policy),
        Command::Columns { policy } => columns(&policy),
    };
    match result {
        Ok(code) => code,
        Err(Failure(code, message)) => {
            say!("error: {message}");
            code
        }
    }
}

/// An exit status and what to say.
struct Failure(i32, String);

impl From<RunError> for Failure {
    fn from(e: RunError) -> Failure {
        Failure(1, e.to_string())
    }
}

fn date(s: &str) -> Result<chrono::NaiveDate, Failure> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| Failure(2, format!("--as-of {s}: {e} (expected YYYY-MM-DD)")))
}

fn policy_set(p: &PolicyArgs) -> Result<PolicySet, Failure> {
    p.policy_set().map_err(|e| Failure(2, e))
}

fn build(set: &PolicySet, what: &str) -> Result<Engine, Failure> {
    set.build().map_err(|e| {
        let _ = write!(std::io::stderr(), "{}", e.render());
        Failure(1, format!("could not build the {what} policy set"))
    })
}

fn label(set: &PolicySet) -> String {
    let mut parts = vec![match &set.policies {
        Some(d) => format!("policies {}", d.display()),
        None => "embedded policies".to_string(),
    }];
    parts.extend(set.overlays.iter().map(|o| format!("overlay {}", o.display())));
    if let Some(l) = &set.lock {
        parts.push(format!("lock {}", l.display()));
    }
    parts.join(" + ")
}

fn progress(total_hint: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total_hint {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} households {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    Some(bar)
}

/// A directory for the output files, beside `output`; renamed into it at the end.
fn staging(output: &Path) -> Result<tempfile::TempDir, Failure> {
    std::fs::create_dir_all(output).map_err(|e| Failure(2, format!("cannot create {}: {e}", output.display())))?;
    tempfile::Builder::new()
        .prefix(".fupin-registry.")
        .tempdir_in(output)
        .map_err(|e| Failure(2, format!("cannot create a temporary directory in {}: {e}", output.display())))
}

fn publish(staged: tempfile::TempDir, output: &Path) -> Result<(), Failure> {
    let entries = std::fs::read_dir(staged.path()).map_err(|e| Failure(1, format!("{}: {e}", staged.path().display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| Failure(1, e.to_string()))?;
        let to = output.join(entry.file_name());
        std::fs::rename(entry.path(), &to)
            .map_err(|e| Failure(1, format!("cannot move {} to {}: {e}", entry.path().display(), to.display())))?;
    }
    Ok(())
}

fn layout_of(engine: &Engine) -> Layout {
    Layout::from_schema(&engine.household_schema(None, None))
}

fn batch(as_of: &str, input: &Path, output: &Path, format: Format, all: bool, threads: usize, p: &PolicyArgs) -> Result<i32, Failure> {
    let as_of = date(as_of)?;
    let engine = build(&policy_set(p)?, "")?;
    let source = Source::open(input, &layout_of(&engine)).map_err(|e| Failure(2, e.to_string()))?;
    let staged = staging(output)?;
    let mut results = Results::create(staged.path(), format, all).map_err(|e| Failure(1, e.to_string()))?;
    let bar = progress(None);
    let started = Instant::now();
    let counts = run::batch(&engine, source, as_of, &mut results, threads, |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let written = results.finish().map_err(|e| Failure(1, e.to_string()))?;
    publish(staged, output)?;
    let secs = started.elapsed().as_secs_f64();
    say!(
        "{} read: {} assessed, {} errors; {} programme rows, {} claim rows; {:.2} s, {:.0} households/s → {} ({})",
        counts.read,
        written.assessed,
        written.errors,
        written.programmes,
        written.claims,
        secs,
        counts.read as f64 / secs.max(1e-9),
        output.display(),
        format.extension()
    );
    Ok(0)
}

struct Reform {
    policies: Option<PathBuf>,
    overlays: Vec<PathBuf>,
    settings: Vec<String>,
    lock: Option<PathBuf>,
    as_of: Option<String>,
    parameters_on: Option<String>,
}

fn simulate(
    as_of: &str,
    input: &Path,
    p: &PolicyArgs,
    r: &Reform,
    json: Option<&Path>,
    html: Option<&Path>,
    threads: usize,
) -> Result<i32, Failure> {
    let base_date = date(as_of)?;
    let reform_date = match &r.as_of {
        Some(d) => date(d)?,
        None => base_date,
    };
    let base_set = policy_set(p)?;
    let mut reform_set = base_set.clone();
    if let Some(dir) = &r.policies {
        reform_set.policies = Some(dir.clone());
        reform_set.lock = None;
    }
    if r.lock.is_some() {
        reform_set.lock = r.lock.clone();
    }
    reform_set.overlays.extend(r.overlays.iter().cloned());
    for s in &r.settings {
        let (name, _) = s.split_once('=').unwrap_or((s, ""));
        // a reform setting replaces the baseline's of the same name
        reform_set.settings.retain(|(n, _)| n != name.trim());
        reform_set = reform_set.with_setting_arg(s).map_err(|e| Failure(2, format!("--reform-set: {e}")))?;
    }
    let baseline = build(&base_set, "baseline")?;
    let reform = build(&reform_set, "reform")?;
    let source = Source::open(input, &layout_of(&baseline)).map_err(|e| Failure(2, e.to_string()))?;
    let bar = progress(None);
    let started = Instant::now();
    let reform_params = r.parameters_on.as_deref().map(date).transpose()?;
    let sides = run::Sides {
        baseline: &baseline,
        baseline_as_of: base_date,
        reform: &reform,
        reform_as_of: reform_date,
        reform_parameters_on: reform_params,
    };
    let tally = run::simulate(sides, source, threads, |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let describe = |set: &PolicySet, engine: &Engine, as_of, parameters_on: Option<chrono::NaiveDate>| SetDescription {
        label: label(set),
        as_of,
        parameters_on: parameters_on.filter(|d| *d != as_of),
        policies: engine.policies(),
        settings: set.settings.clone(),
    };
    let report = tally.report(describe(&base_set, &baseline, base_date, None), describe(&reform_set, &reform, reform_date, reform_params));
    let text = serde_json::to_string_pretty(&report).map_err(|e| Failure(1, e.to_string()))?;
    match json {
        Some(path) => std::fs::write(path, format!("{text}\n")).map_err(|e| Failure(1, format!("cannot write {}: {e}", path.display())))?,
        None => {
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{text}").and_then(|()| out.flush()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(Failure(1, format!("cannot write to standard output: {e}"))),
            }
        }
    }
    if let Some(path) = html {
        std::fs::write(path, report::html(&report)).map_err(|e| Failure(1, format!("cannot write {}: {e}", path.display())))?;
    }
    let secs = started.elapsed().as_secs_f64();
    say!(
        "{} read: {} compared, {} not; {:.2} s, {:.0} households/s (two assessments each)",
        report.read,
        report.compared,
        report.failed,
        secs,
        report.read as f64 / secs.max(1e-9)
    );
    for p in &report.programmes {
        if p.change.is_zero() && p.newly_eligible == 0 && p.no_longer_eligible == 0 {
            continue;
        }
        say!(
            "  {}: eligible {} → {} (+{} −{}), {} → {} {} ({})",
            p.programme,
            p.before.eligible,
            p.after.eligible,
            p.newly_eligible,
            p.no_longer_eligible,
            report::grouped(p.before.amount),
            report::grouped(p.after.amount),
            p.unit.as_deref().unwrap_or(""),
            report::grouped(p.change)
        );
        // and county by county
        for c in &report.counties {
            if let Some(cp) = c.programmes.iter().find(|cp| cp.programme == p.programme) {
                say!(
                    "    {}: {} households, eligible {} → {} (+{} −{}), {} → {} ({})",
                    c.county,
                    c.households,
                    cp.before.eligible,
                    cp.after.eligible,
                    cp.newly_eligible,
                    cp.no_longer_eligible,
                    report::grouped(cp.before.amount),
                    report::grouped(cp.after.amount),
                    report::grouped(cp.change)
                );
            }
        }
    }
    Ok(0)
}

fn generate(n: u64, seed: u64, format: Format, jsonl: Option<&Path>, output: &Path) -> Result<i32, Failure> {
    use rayon::prelude::*;
    let engine = build(&PolicySet::embedded(), "embedded")?;
    let staged = staging(output)?;
    let mut tables = TablesWriter::create(staged.path(), &layout_of(&engine), format).map_err(|e| Failure(1, e.to_string()))?;
    let mut lines = match jsonl {
        Some(p) => {
            Some(std::io::BufWriter::new(std::fs::File::create(p).map_err(|e| Failure(2, format!("cannot create {}: {e}", p.display())))?))
        }
        None => None,
    };
    let bar = progress(Some(n));
    let started = Instant::now();
    let chunk = 16_384u64;
    let mut i = 0;
    while i < n {
        let end = (i + chunk).min(n);
        let records: Vec<String> = (i..end).into_par_iter().map(|k| generate::household(seed, k)).collect();
        for r in &records {
            tables.household(r).map_err(|e| Failure(1, format!("generated household: {e}")))?;
            if let Some(w) = lines.as_mut() {
                writeln!(w, "{r}").map_err(|e| Failure(1, e.to_string()))?;
            }
        }
        i = end;
        if let Some(b) = &bar {
            b.set_position(i);
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(mut w) = lines {
        w.flush().map_err(|e| Failure(1, e.to_string()))?;
    }
    let written = tables.finish().map_err(|e| Failure(1, e.to_string()))?;
    publish(staged, output)?;
    say!("{written} households (seed {seed}) → {} ({}) in {:.2} s", output.display(), format.extension(), started.elapsed().as_secs_f64());
    Ok(0)
}

fn convert(input: &Path, output: &Path, format: Format, p: &PolicyArgs) -> Result<i32, Failure> {
    use std::io::BufRead as _;
    let engine = build(&policy_set(p)?, "")?;
    let file = std::fs::File::open(input).map_err(|e| Failure(2, format!("cannot read {}: {e}", input.display())))?;
    let staged = staging(output)?;
    let mut tables = TablesWriter::create(staged.path(), &layout_of(&engine), format).map_err(|e| Failure(1, e.to_string()))?;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Failure(1, format!("{} line {}: {e}", input.display(), n + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        tables.household(&line).map_err(|e| Failure(1, format!("{} line {}: {e}; nothing written", input.display(), n + 1)))?;
    }
    let written = tables.finish().map_err(|e| Failure(1, e.to_string()))?;
    publish(staged, output)?;
    say!("{written} households → {} ({})", output.display(), format.extension());
    Ok(0)
}

fn columns(p: &PolicyArgs) -> Result<i32, Failure> {
    use fupin_registry::layout::{Table, HOUSEHOLD_ID, MEMBER_ID};
    let engine = build(&policy_set(p)?, "")?;
    let layout = layout_of(&engine);
    let mut text = String::new();
    for t in Table::ALL {
        text.push_str(&format!("{}\n", t.name()));
        match t {
            Table::Households => text.push_str("  id  text (the household id; the tables are sorted by it)\n"),
            Table::Claims => {
                text.push_str(&format!("  {HOUSEHOLD_ID}  text\n  {MEMBER_ID}  text (the `id` of a members row of the household)\n"))
            }
            _ => text.push_str(&format!("  {HOUSEHOLD_ID}  text\n")),
        }
        for (name, kind) in layout.columns(t) {
            if !(t == Table::Households && name == "id") {
                text.push_str(&format!("  {name}  {}\n", kind.describe()));
            }
        }
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Failure(1, format!("cannot write to standard output: {e}"))),
    }
}
