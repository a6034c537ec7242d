//! The shipped policies do not repeat themselves: no long expression (90
//! characters or more in canonical form: too long for a line of its own in
//! the canonical layout, `fupin fmt`) appears twice anywhere in `policies/`
//! (a reading shared by several rules is a `fn` or a `let`). Two occurrences
//! are the same when their canonical forms (`fupin::syntax::print_expr`,
//! which ignores layout, comments and redundant parentheses) are equal. The
//! measure is the expression, not the lines it was written over: the
//! shipped files are laid out by `fupin fmt`, not by their authors.

use fupin::syntax::ast::{Expr, ExprKind, Item, Outcome, ParamEntry, RuleEntry, TestEntry};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            policy_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "policy") {
            out.push(p);
        }
    }
}

/// Every expression of `e`, itself first.
fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    out.push(e);
    match &*e.kind {
        ExprKind::Number(_) | ExprKind::Percent(_) | ExprKind::Date(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Path(_) => {}
        ExprKind::Unary(_, a) | ExprKind::Round(a, _, _) => walk(a, out),
        ExprKind::Binary(_, a, b) => {
            walk(a, out);
            walk(b, out);
        }
        ExprKind::In(a, xs) => {
            walk(a, out);
            xs.iter().for_each(|x| walk(x, out));
        }
        ExprKind::If(c, a, b) => {
            walk(c, out);
            walk(a, out);
            walk(b, out);
        }
        ExprKind::Case { scrutinee, arms, default } => {
            walk(scrutinee, out);
            for (p, v) in arms {
                walk(p, out);
                walk(v, out);
            }
            if let Some(d) = default {
                walk(d, out);
            }
        }
        ExprKind::Call(_, xs) => xs.iter().for_each(|x| walk(x, out)),
        ExprKind::Aggregate { collection, filter, body, .. } => {
            walk(collection, out);
            if let Some(f) = filter {
                walk(f, out);
            }
            walk(body, out);
        }
        ExprKind::Banded { value, above, bands } => {
            walk(value, out);
            if let Some(a) = above {
                walk(a, out);
            }
            for (from, rate) in bands {
                walk(from, out);
                walk(rate, out);
            }
        }
    }
}

/// The top-level expressions of a policy file.
fn roots(items: &[Item]) -> Vec<&Expr> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Param(p) => {
                for e in &p.entries {
                    match e {
                        ParamEntry::From { value, .. } | ParamEntry::Always { value, .. } => out.push(value),
                        ParamEntry::Floor(x) | ParamEntry::Cap(x) => out.push(x),
                        ParamEntry::Title(_) | ParamEntry::Cite(_) | ParamEntry::Required(_) => {}
                    }
                }
            }
            Item::Let(l) => out.push(&l.value),
            Item::Fn(f) => out.push(&f.body),
            Item::Rule(r) => {
                for e in &r.entries {
                    match e {
                        RuleEntry::When(x) | RuleEntry::Let(_, x) => out.push(x),
                        RuleEntry::Cite(_) | RuleEntry::Subject(..) | RuleEntry::ExceptionTo(_) | RuleEntry::Note(_) => {}
                    }
                }
                for o in &r.outcomes {
                    match o {
                        Outcome::Amount(_, x) | Outcome::Pay(_, x) | Outcome::AddTally(_, x) => out.push(x),
                        Outcome::Eligible(_) | Outcome::Flag(_) | Outcome::Assign(..) => {}
                    }
                }
            }
            Item::Test(t) => {
                for e in &t.entries {
                    if let TestEntry::Set(_, x) = e {
                        out.push(x);
                    }
                }
            }
            Item::Tally(_) | Item::Program(_) | Item::Indicator(_) | Item::Fact(_) | Item::Enum(_) | Item::Layer(_) => {}
        }
    }
    out
}

fn line_of(text: &str, offset: u32) -> usize {
    text.as_bytes()[..(offset as usize).min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// How long (in characters of its canonical form) an expression is to count:
/// one too long to read at a glance.
const LONG: usize = 90;

/// Long expressions of `files`, by canonical form, with where each occurs.
fn repeated(files: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, text) in files {
        let file = fupin::syntax::parse(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        for root in roots(&file.items) {
            let mut all = Vec::new();
            walk(root, &mut all);
            for e in all {
                let first = line_of(text, e.span.start);
                let canonical = fupin::syntax::print_expr(e);
                if canonical.chars().count() >= LONG {
                    seen.entry(canonical).or_default().push(format!("{name}:{first}"));
                }
            }
        }
    }
    seen.into_iter().filter(|(_, at)| at.len() > 1).collect()
}

#[test]
fn no_multi_line_expression_appears_twice_in_the_shipped_policies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut paths = Vec::new();
    policy_files(&root, &mut paths);
    assert!(paths.len() >= 10, "found only {} policy files under {}", paths.len(), root.display());
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            let name = p.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(p).display().to_string();
            (name, std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        })
        .collect();
    let dups = repeated(&files);
    let report: Vec<String> = dups.iter().map(|(e, at)| format!("{} at {}", e, at.join(", "))).collect();
    assert!(dups.is_empty(), "multi-line expressions written more than once:\n{}", report.join("\n"));
}

#[test]
fn the_repetition_check_finds_a_repeated_condition_inside_a_longer_one() {
    let long = "household.income > 1 and household.income < 9 and household.size >= 2 and household.deep_poverty_area";
    assert!(long.len() >= LONG);
    let text = format!(
        "policy p {{\n  version \"1\"\n}}\n\
        rule A \"a\" {{\n  cite \"x\"\n  when {long}\n  then eligible dibao\n}}\n\
        rule B \"b\" {{\n  cite \"x\"\n  when {long}\n    and household.tekun == none\n  then eligible dibao\n}}\n\
        rule C \"c\" {{\n  cite \"x\"\n  when household.income > 1 and household.income < 9\n  then eligible dibao\n}}\n"
    );
    let dups = repeated(&[("p.policy".to_string(), text)]);
    assert_eq!(dups.len(), 1, "{dups:?}");
    // C repeats a part shorter than a line: that is not counted
    assert_eq!(dups[0].0, long);
    assert_eq!(dups[0].1, vec!["p.policy:6".to_string(), "p.policy:11".to_string()], "{dups:?}");
}
