//! Command-line interface: argument parsing and the subcommands.
//!
//! Output never panics: standard output is written through [`emit`] (a
//! closed pipe, as in `fupin eval … | head`, is ignored and the command ends
//! with its normal status; another write error is reported and exits 1), and the
//! `eprintln!`/`eprint!` below shadow the standard macros so that a closed
//! standard error is ignored instead of panicking.

/// `eprintln!` that ignores a failed write (the standard one panics).
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that ignores a failed write (the standard one panics).
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

mod batch;
mod commands;
mod coverage;
mod doc;
mod external;
mod fmt;
mod html;
mod lsp;
mod pin;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// fupin (扶贫): check policies and assess households against them.
#[derive(Parser, Debug)]
#[command(name = "fupin", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where policies come from.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Use the policies under DIR instead of the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Add an overlay file (deployment parameters); may be repeated.
    #[arg(long, value_name = "FILE")]
    pub overlay: Vec<PathBuf>,
    /// Set a parameter above every policy, typed against its declared type
    /// (`--set basic_rate=75%`, `--set basic_deductible=500`); may be repeated.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Use exactly the policy versions of this lockfile (`fupin lock`), each verified by its content hash.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and check policy files (default: the embedded policies).
    Check {
        /// Files or directories; checked together with the embedded library unless --standalone.
        paths: Vec<PathBuf>,
        /// Check only the given files, without the embedded library as context.
        #[arg(long)]
        standalone: bool,
    },
    /// Assess one household (JSON file, or - for stdin) on a date.
    Eval {
        /// Assessment date, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        as_of: String,
        /// Household JSON file, or - for standard input.
        file: String,
        /// Print the human-readable explanation instead of JSON.
        #[arg(long)]
        explain: bool,
        /// Include the trace in the JSON output.
        #[arg(long)]
        trace: bool,
        /// Write the assessment as a page to FILE instead: each programme with its reasons, each
        /// claim as a bar of its layers and out-of-pocket, the trace as expandable sections.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["explain", "trace"])]
        html: Option<PathBuf>,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Assess every household of a JSON Lines file on all cores; one output line per input line.
    /// A registry of tables (a directory of households, members, claims, loans as Parquet or CSV)
    /// is assessed by the `fupin-registry` program into result tables (docs/registry.md).
    Batch {
        /// Assessment date, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        as_of: String,
        /// Input: one household JSON object per line, or a registry directory of tables.
        input: PathBuf,
        /// Output: one assessment (or `{"line": N, "error": …}`) per line; written completely or not at all.
        /// With tables (a registry input, or --format parquet|csv): the directory of result tables.
        output: PathBuf,
        /// Worker threads, 1 to 1024 (default: one per core).
        #[arg(long, default_value_t = 0, value_parser = threads_parser())]
        threads: usize,
        /// The output: `jsonl` (the default for a JSON Lines input), or result tables as `parquet`
        /// (the default for a registry) or `csv`.
        #[arg(long, value_parser = ["jsonl", "parquet", "csv"])]
        format: Option<String>,
        /// Tables: a programmes row for every programme of every assessment, not only those with an outcome.
        #[arg(long)]
        all_programmes: bool,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Run the tests in policy files (default: the embedded policies).
    Test {
        /// Files or directories holding policies and tests.
        paths: Vec<PathBuf>,
        /// Print the trace of each failing test.
        #[arg(long)]
        verbose: bool,
        /// Use only the given files, without the embedded library as context.
        #[arg(long)]
        standalone: bool,
        /// Set a parameter for every test, as `fupin eval --set` (a test's own `set` wins); may be repeated.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
    },
    /// Write fupin.lock (id, version and content hash of every policy), or check it.
    Lock {
        /// Check the lockfile instead of writing it: fail when a policy changed without a new version,
        /// a locked version is missing, or a version is not locked.
        #[arg(long)]
        check: bool,
        /// Lock the policies under DIR instead of the embedded ones.
        #[arg(long, value_name = "DIR")]
        policies: Option<PathBuf>,
        /// The lockfile (default: fupin.lock).
        #[arg(long, value_name = "PATH")]
        lockfile: Option<PathBuf>,
    },
    /// List the parameters and rules added, removed or changed between two versions of a policy.
    /// Exit status: 0 no changes, 1 changes, 2 trouble.
    Diff {
        /// OLD NEW: two policy files, or two directories (policies matched by id). With --policy:
        /// the files or directories holding the versions (default: the embedded policies).
        paths: Vec<PathBuf>,
        /// Compare the versions of this policy id found in one set, oldest first.
        #[arg(long, value_name = "ID")]
        policy: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List every parameter in force for a region on a date, with its citation.
    Params {
        /// GB/T 2260 region code, e.g. 130131.
        #[arg(long)]
        region: String,
        /// Date, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        as_of: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print the JSON Schema (draft 2020-12) of a household for the loaded policies: the core model and every declared fact.
    Schema {
        /// Only the facts of the policies in force for this GB/T 2260 region code (their required facts required).
        #[arg(long)]
        region: Option<String>,
        /// Only the facts of the policies in force on this date, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Lay policy files out in the canonical form, keeping every comment (the content hash is unchanged).
    /// With no PATH: standard input to standard output. Exit status: 0 done, 1 with --check when a
    /// file would change, 2 trouble (a file that does not parse is named with its errors and left as it was).
    Fmt {
        /// Files or directories (every *.policy and *.fupintest under them).
        paths: Vec<PathBuf>,
        /// Change nothing: name the files that would change and exit 1 if there are any.
        #[arg(long)]
        check: bool,
    },
    /// A language server over standard input and output (diagnostics, hover, go to definition,
    /// completion, formatting), for an editor: see `editors/vscode/`.
    Lsp,
    /// Write the loaded policies as a static HTML site into OUT_DIR: a page per policy with its
    /// parameters (dated values, citations, a chart over time) and rules, cross-linked, and an index
    /// with a search box and the catalogue coverage per document.
    Doc {
        /// The directory to write (created if missing; the files fupin writes are replaced).
        out_dir: PathBuf,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Serve assessments over HTTP (POST /assess, /explain, /batch; GET /params, /schema,
    /// /policies, /health): runs the `fupin-serve` program installed beside this one
    /// (`cargo build --release -p fupin-serve`); `fupin serve --help` lists its options.
    #[command(disable_help_flag = true)]
    Serve {
        /// The options of `fupin-serve` (`--addr`, `--policies`, `--overlay`, `--set`, `--lock`, limits).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Assess a registry under a baseline and a reform policy set and report the change per
    /// programme and county, exactly (JSON, and an HTML page with --html): runs the
    /// `fupin-registry` program (`cargo build --release -p fupin-registry`); `fupin simulate
    /// --help` lists its options.
    #[command(disable_help_flag = true)]
    Simulate {
        /// The options of `fupin-registry simulate` (`--as-of`, the registry, `--reform-set`, `--reform-overlay`, `--html`…).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Registries as tables: `fupin registry generate` draws a synthetic registry, `fupin registry
    /// convert` writes JSON Lines as tables; runs the `fupin-registry` program.
    #[command(disable_help_flag = true)]
    Registry {
        /// `generate …` or `convert …` (`fupin registry --help` lists them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Show which catalogued rules are encoded and tested; exit 1 while an H/M/C/L/E id is missing.
    Coverage {
        /// Catalogue file (default: the shipped policies/catalogue.tsv).
        #[arg(long, value_name = "FILE")]
        catalogue: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        policy: PolicyArgs,
    },
}

/// `--threads`: 0 (one per core) up to [`fupin::batch::MAX_THREADS`]; larger values are a usage error.
fn threads_parser() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(0..=fupin::batch::MAX_THREADS as u64)
}

/// Write `text` to standard output. A closed pipe is not an error (the
/// reader wanted no more): the command ends with its normal status. Any other
/// write error is reported and is `Err(1)`, the status to exit with.
pub fn emit(text: &str) -> Result<(), i32> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            Err(1)
        }
    }
}

/// Run the CLI; returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check { paths, standalone } => commands::check(&paths, standalone),
        Command::Eval { as_of, file, explain, trace, html, policy } => {
            commands::eval(&as_of, &file, explain, trace, html.as_deref(), &policy)
        }
        Command::Params { region, as_of, json, policy } => commands::params(&region, &as_of, json, &policy),
        Command::Schema { region, as_of, policy } => commands::schema(region.as_deref(), as_of.as_deref(), &policy),
        Command::Test { paths, verbose, standalone, set } => commands::test(&paths, verbose, standalone, &set),
        Command::Coverage { catalogue, json, policy } => coverage::coverage(catalogue.as_deref(), json, &policy),
        Command::Lock { check, policies, lockfile } => pin::lock(check, policies.as_deref(), lockfile.as_deref()),
        Command::Diff { paths, policy, json } => pin::diff(&paths, policy.as_deref(), json),
        Command::Fmt { paths, check } => fmt::fmt(&paths, check),
        Command::Lsp => lsp::lsp(),
        Command::Serve { args } => external::run(external::SERVE, "serve", &args),
        Command::Simulate { args } => {
            let args: Vec<std::ffi::OsString> = std::iter::once("simulate".into()).chain(args).collect();
            external::run(external::REGISTRY, "simulate", &args)
        }
        Command::Registry { args } => external::run(external::REGISTRY, "registry", &args),
        Command::Doc { out_dir, policy } => commands::doc(&out_dir, &policy),
        Command::Batch { input, format, all_programmes, .. } if input.is_dir() || matches!(format.as_deref(), Some("parquet" | "csv")) => {
            if format.as_deref() == Some("jsonl") {
                eprintln!("error: {} is a registry of tables: its results are tables (--format parquet or csv)", input.display());
                return 2;
            }
            let _ = all_programmes;
            // the same arguments, to the program that reads and writes tables
            let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
            external::run(external::REGISTRY, "batch", &args)
        }
        Command::Batch { all_programmes: true, .. } => {
            eprintln!("error: --all-programmes applies to result tables (--format parquet or csv)");
            2
        }
        Command::Batch { as_of, input, output, threads, policy, .. } => batch::run(&as_of, &input, &output, threads, &policy),
    }
}
