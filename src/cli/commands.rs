//! The subcommands.

use super::PolicyArgs;
use chrono::NaiveDate;
use fupin::policy::{self, Source};
use fupin::{Engine, EngineBuilder};
use std::io::Read;
use std::path::{Path, PathBuf};

pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("invalid date `{s}`: expected YYYY-MM-DD"))
}

/// Build the engine from the policy arguments; prints diagnostics and returns None on failure.
pub fn engine(args: &PolicyArgs) -> Option<Engine> {
    let mut b = Engine::builder();
    b = match &args.policies {
        Some(dir) => match b.path(dir) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e}");
                return None;
            }
        },
        None => b.embedded(),
    };
    for o in &args.overlay {
        b = match b.path(o) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e}");
                return None;
            }
        };
    }
    match b.build() {
        Ok(e) => Some(e),
        Err(d) => {
            eprint!("{}", d.render());
            eprintln!("error: could not build the policy set ({} error(s))", d.error_count());
            None
        }
    }
}

fn is_same_file(user: &[PathBuf], embedded_name: &str) -> bool {
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
            let m = &e.program().module;
            eprintln!(
                "checked {n} file(s): {} policies, {} parameters, {} rules, no errors",
                m.policies.len(),
                m.params.len(),
                m.rules.len()
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

fn read_input(file: &str) -> Result<String, String> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))
    }
}

pub fn eval(as_of: &str, file: &str, explain: bool, trace: bool, args: &PolicyArgs) -> i32 {
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
    let h = match fupin::model::parse_household(&text, Some(as_of)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {file}: {e}");
            return 2;
        }
    };
    let Some(engine) = engine(args) else { return 1 };
    let mut s = engine.scratch();
    s.set_trace(explain || trace);
    match engine.assess_with(&h, as_of, &mut s) {
        Ok(a) => {
            for e in a.errors() {
                eprintln!("warning: {e}");
            }
            if explain {
                print!("{}", a.explain());
            } else {
                match serde_json::to_string_pretty(&a) {
                    Ok(j) => println!("{j}"),
                    Err(e) => {
                        eprintln!("error: cannot serialise the assessment: {e}");
                        return 1;
                    }
                }
            }
            0
        }
        Err(e) => {
            eprint!("{}", e.render(&engine.program().sources));
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
    if json {
        match serde_json::to_string_pretty(&list) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        }
        return 0;
    }
    for p in &list {
        println!("{} = {}", p.name, p.value);
        println!("    from {}: {}", p.policy, p.citation.as_deref().unwrap_or("no citation"));
    }
    0
}

pub fn test(paths: &[PathBuf], verbose: bool, standalone: bool) -> i32 {
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
    let engine = match b.build() {
        Ok(e) => e,
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
    for r in &results {
        if r.passed() {
            println!("ok     {}  ({})", r.name, r.location);
        } else {
            failed += 1;
            println!("FAILED {}  ({})", r.name, r.location);
            for f in &r.details {
                match &f.location {
                    Some(at) => println!("    {at}: {}", f.message),
                    None => println!("    {}", f.message),
                }
                if !verbose {
                    for line in &f.trace {
                        println!("      | {line}");
                    }
                }
            }
            if verbose {
                if let Some(a) = &r.assessment {
                    for line in a.explain().lines() {
                        println!("      | {line}");
                    }
                }
            }
        }
    }
    println!("{} passed, {} failed", results.len() - failed, failed);
    i32::from(failed > 0)
}
