//! The subcommands.

use super::PolicyArgs;
use chrono::NaiveDate;
use fupin::pin::BuildError;
use fupin::policy::{self, Source};
use fupin::{Engine, EngineBuilder, PolicySet, PolicySetError};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

/// `--as-of`: the one date form of household JSON, `YYYY-MM-DD` with a year 0001–9999.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    fupin::model::parse_date(s).map_err(|e| format!("--as-of: {e}"))
}

/// The policy set the arguments name; prints the error and returns None when
/// a `--set` is not `NAME=VALUE`.
pub fn policy_set(args: &PolicyArgs) -> Option<PolicySet> {
    let mut set = PolicySet::default();
    set.policies = args.policies.clone();
    set.overlays = args.overlay.clone();
    set.lock = args.lock.clone();
    for s in &args.set {
        set = match set.with_setting_arg(s) {
            Ok(set) => set,
            Err(_) => {
                eprintln!("error: `--set {s}`: write `--set NAME=VALUE`");
                return None;
            }
        };
    }
    Some(set)
}

/// Build the engine from the policy arguments; prints diagnostics and returns None on failure.
pub fn engine(args: &PolicyArgs) -> Option<Engine> {
    match policy_set(args)?.build() {
        Ok(e) => {
            eprint!("{}", e.warnings().render());
            Some(e)
        }
        Err(PolicySetError::Build(BuildError::Diagnostics(d))) => {
            eprint!("{}", d.render());
            eprintln!("error: could not build the policy set ({} error(s))", d.error_count());
            None
        }
        Err(e) => {
            eprint!("{}", e.render());
            None
        }
    }
}

/// `--set NAME=VALUE` arguments as deployer settings.
fn settings(mut b: EngineBuilder, set: &[String]) -> Option<EngineBuilder> {
    for s in set {
        let Some((name, value)) = s.split_once('=') else {
            eprintln!("error: `--set {s}`: write `--set NAME=VALUE`");
            return None;
        };
        b = b.set_param(name.trim(), value);
    }
    Some(b)
}

/// Whether one of `user`'s paths is the shipped file `embedded_name` (which it then replaces).
pub(super) fn is_same_file(user: &[PathBuf], embedded_name: &str) -> bool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let emb = root.join(embedded_name);
    let emb = emb.canonicalize().unwrap_or(emb);
    user.iter().any(|u| u.canonicalize().map(|c| c == emb).unwrap_or(false))
}

pub fn check(paths: &[PathBuf], standalone: bool) -> i32 {
    let mut sources: Vec<Source> = Vec::new();
    if paths.is_empty() {
        sources.extend(policy::embedded().iter().map(|(n, t)| Source { name: n.to_string(), text: t.to_string() }));
    } else {
        for p in paths {
            match policy::read_path(p) {
                Ok(s) => sources.extend(s),
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            }
        }
        if !standalone {
            let user: Vec<PathBuf> = sources.iter().map(|s| PathBuf::from(&s.name)).collect();
            for (n, t) in policy::embedded() {
                if !is_same_file(&user, n) {
                    sources.push(Source { name: n.to_string(), text: t.to_string() });
                }
            }
        }
    }
    let n = sources.len();
    match EngineBuilder::default().sources(sources).build() {
        Ok(e) => {
            if let Err(d) = e.tests() {
                eprint!("{}", d.render());
                eprintln!("error: {} error(s) found", d.error_count());
                return 1;
            }
            let m = &e.program().module;
            let warnings = e.warnings();
            eprint!("{}", warnings.render());
            // bounds that depend on the date: read on every day a value can change
            let dated = e.dated_clamps();
            for (region, c) in &dated {
                eprintln!("warning: {c} (region {region})");
            }
            let count = warnings.items.len() + dated.len();
            eprintln!(
                "checked {n} file(s): {} policies, {} parameters, {} rules, no errors{}",
                m.policies.len(),
                m.params.len(),
                m.rules.len(),
                match count {
                    0 => String::new(),
                    1 => ", 1 warning".to_string(),
                    k => format!(", {k} warnings"),
                }
            );
            0
        }
        Err(d) => {
            eprint!("{}", d.render());
            eprintln!("error: {} error(s) found", d.error_count());
            1
        }
    }
}

/// The bytes of a household file (a regular file, or `-` for standard input),
/// at most [`fupin::model::MAX_HOUSEHOLD_FILE`] of them.
fn read_input(file: &str) -> Result<Vec<u8>, String> {
    let limit = fupin::model::MAX_HOUSEHOLD_FILE;
    if file == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().lock().take(limit + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read standard input: {e}"))?;
        if bytes.len() as u64 > limit {
            return Err(format!("standard input: the household is larger than {limit} bytes (the limit)"));
        }
        Ok(bytes)
    } else {
        policy::read_bytes_limited(Path::new(file), limit).map_err(|e| e.to_string())
    }
}

pub fn eval(as_of: &str, file: &str, explain: bool, trace: bool, html: Option<&Path>, args: &PolicyArgs) -> i32 {
    let as_of = match parse_date(as_of) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let text = match read_input(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let Some(engine) = engine(args) else { return 1 };
    // read against the loaded policies: their declared facts are checked too
    let h = match engine.parse_household_bytes(&text, Some(as_of)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {file}: {e}");
            return 2;
        }
    };
    let mut s = engine.scratch();
    s.set_trace(explain || trace || html.is_some());
    match engine.assess_with(&h, as_of, &mut s) {
        Ok(a) => {
            for w in &a.warnings {
                eprintln!("warning: {w}");
            }
            for e in a.errors() {
                eprintln!("warning: {e}");
            }
            if let Some(path) = html {
                return match std::fs::write(path, super::html::assessment(&a)) {
                    Ok(()) => {
                        eprintln!("wrote {}", path.display());
                        0
                    }
                    Err(e) => {
                        eprintln!("error: cannot write {}: {e}", path.display());
                        2
                    }
                };
            }
            let text = if explain {
                a.explain()
            } else {
                match serde_json::to_string_pretty(&a) {
                    Ok(j) => j + "\n",
                    Err(e) => {
                        eprintln!("error: cannot serialise the assessment: {e}");
                        return 1;
                    }
                }
            };
            super::emit(&text).err().unwrap_or(0)
        }
        Err(e) => {
            eprint!("{}", e.render(&engine.program().sources));
            1
        }
    }
}

pub fn schema(region: Option<&str>, as_of: Option<&str>, args: &PolicyArgs) -> i32 {
    let as_of = match as_of.map(parse_date).transpose() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(region) = region {
        if region.len() != 6 || !region.bytes().all(|b| b.is_ascii_digit()) {
            eprintln!("error: `{region}` is not a GB/T 2260 region code (six digits)");
            return 2;
        }
    }
    let Some(engine) = engine(args) else { return 1 };
    match serde_json::to_string_pretty(&engine.household_schema(region, as_of)) {
        Ok(j) => super::emit(&(j + "\n")).err().unwrap_or(0),
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

pub fn params(region: &str, as_of: &str, json: bool, args: &PolicyArgs) -> i32 {
    let as_of = match parse_date(as_of) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if region.len() != 6 || !region.bytes().all(|b| b.is_ascii_digit()) {
        eprintln!("error: `{region}` is not a GB/T 2260 region code (six digits)");
        return 2;
    }
    let Some(engine) = engine(args) else { return 1 };
    let list = engine.params_in_force(region, as_of);
    let mut text = String::new();
    if json {
        match serde_json::to_string_pretty(&list) {
            Ok(j) => text = j + "\n",
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        }
    } else {
        for p in &list {
            let _ = writeln!(text, "{} = {}", p.name, p.value);
            let _ = writeln!(text, "    from {}: {}", p.policy, p.citation.as_deref().unwrap_or("no citation"));
            for w in &p.warnings {
                let _ = writeln!(text, "    warning: {w}");
            }
        }
    }
    super::emit(&text).err().unwrap_or(0)
}

pub fn test(paths: &[PathBuf], verbose: bool, standalone: bool, set: &[String]) -> i32 {
    let mut b = EngineBuilder::default();
    let mut b_names: Vec<String> = Vec::new();
    if paths.is_empty() {
        b = b.embedded();
    } else {
        for p in paths {
            b = match b.path(p) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
        }
        // the shipped library is context for test files and policies that extend it
        b_names = b.collected().iter().map(|s| s.name.clone()).collect();
        let user: Vec<PathBuf> = b.collected().iter().map(|s| PathBuf::from(&s.name)).collect();
        for (n, t) in policy::embedded() {
            if !standalone && !is_same_file(&user, n) {
                b = b.source(n.to_string(), t.to_string());
            }
        }
    }
    let Some(b) = settings(b, set) else { return 2 };
    let engine = match b.build() {
        Ok(e) => {
            eprint!("{}", e.warnings().render());
            e
        }
        Err(d) => {
            eprint!("{}", d.render());
            eprintln!("error: could not build the policy set ({} error(s))", d.error_count());
            return 1;
        }
    };
    // with paths, run the tests in the files given (the library is only context)
    let results = if paths.is_empty() {
        fupin::testing::run_all(&engine)
    } else {
        let user: Vec<String> = b_names;
        fupin::testing::run_matching(&engine, |name| user.iter().any(|u| u == name))
    };
    let mut failed = 0;
    let mut out = String::new();
    for r in &results {
        if r.passed() {
            let _ = writeln!(out, "ok     {}  ({})", r.name, r.location);
        } else {
            failed += 1;
            let _ = writeln!(out, "FAILED {}  ({})", r.name, r.location);
            for f in &r.details {
                match &f.location {
                    Some(at) => {
                        let _ = writeln!(out, "    {at}: {}", f.message);
                    }
                    None => {
                        let _ = writeln!(out, "    {}", f.message);
                    }
                }
                if !verbose {
                    for line in &f.trace {
                        let _ = writeln!(out, "      | {line}");
                    }
                }
            }
            if verbose {
                if let Some(a) = &r.assessment {
                    for line in a.explain().lines() {
                        let _ = writeln!(out, "      | {line}");
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "{} passed, {} failed", results.len() - failed, failed);
    if let Err(code) = super::emit(&out) {
        return code;
    }
    i32::from(failed > 0)
}

/// `fupin doc OUT_DIR`: the policy site ([`super::doc`]).
pub fn doc(out: &Path, args: &PolicyArgs) -> i32 {
    let Some(engine) = engine(args) else { return 1 };
    match super::doc::site(&engine, super::coverage::CATALOGUE, out) {
        Ok(n) => {
            eprintln!("wrote {n} page(s) to {}", out.display());
            0
        }
        Err(e) => {
            eprintln!("error: cannot write the site to {}: {e}", out.display());
            2
        }
    }
}

/// A region code of six digits (a policy's region may be written shorter: `13` for 河北).
pub(super) fn region_code(r: &str) -> String {
    format!("{r:0<6}")
}
