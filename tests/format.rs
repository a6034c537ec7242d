//! `fupin fmt` (`fupin::syntax::format`): the golden corpus
//! (`tests/cases/fmt/NAME.policy` formats to `NAME.expected`;
//! `FUPIN_BLESS=1 cargo test --test format` rewrites the expected files),
//! and properties over every policy file of the repository and over
//! generated trees with comments put in at random: the layout parses to the
//! same tree (so to the same content hash), keeps every comment in order,
//! and formatting it again changes nothing.

use fupin::syntax::format::{format, FormatError};
use fupin::syntax::{parse, print};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `//` comments of a text, in order (string literals skipped).
fn comments(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = src[i..].find('\n').map_or(src.len(), |e| i + e);
            out.push(src[i..end].trim_end().to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// What formatting must keep of `src`, checked on its layout `out`.
fn assert_kept(name: &str, src: &str, out: &str) {
    let before = parse(src).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let after = parse(out).unwrap_or_else(|e| panic!("{name}: the layout does not parse: {e:?}\n{out}"));
    assert_eq!(print(&after), print(&before), "{name}: the layout changed the canonical form");
    assert_eq!(comments(out), comments(src), "{name}: comments lost or moved out of order");
    let again = format(out).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(again, out, "{name}: formatting the layout again changed it");
    for (i, line) in out.lines().enumerate() {
        assert_eq!(line, line.trim_end(), "{name}:{}: trailing blanks", i + 1);
    }
}

#[test]
fn golden_corpus() {
    let dir = root().join("tests/cases/fmt");
    let bless = std::env::var("FUPIN_BLESS").is_ok();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cases/fmt")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "policy"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 2, "the corpus is missing");
    let mut failures = Vec::new();
    for case in &cases {
        let src = std::fs::read_to_string(case).expect("case");
        let out = format(&src).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let expected_path = case.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &out).expect("bless");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if out != expected {
            failures.push(format!("{}:\n--- expected\n{expected}\n--- formatted\n{out}", case.display()));
        }
        assert_kept(&case.display().to_string(), &src, &out);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every policy and test file of the repository that parses: the shipped
/// library, the check, evaluation and language cases (the inputs the fuzz
/// corpora are seeded from).
fn repository_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "policy" || x == "fupintest") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("policies"), &mut out);
    walk(&root().join("tests"), &mut out);
    walk(&root().join("examples"), &mut out);
    walk(&root().join("benches"), &mut out);
    out.sort();
    out
}

#[test]
fn every_file_of_the_repository_keeps_its_meaning_and_comments() {
    let mut formatted = 0;
    for path in repository_files() {
        let src = std::fs::read_to_string(&path).expect("read");
        let name = path.display().to_string();
        match format(&src) {
            Ok(out) => {
                assert_kept(&name, &src, &out);
                formatted += 1;
            }
            // the cases of syntax errors are meant not to parse
            Err(FormatError::Syntax(_)) => assert!(parse(&src).is_err(), "{name}"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    assert!(formatted > 100, "only {formatted} files formatted");
}

#[test]
fn the_shipped_policies_are_formatted() {
    // CI also runs `fupin fmt --check policies/`; this names the file too
    for path in repository_files().into_iter().filter(|p| p.starts_with(root().join("policies"))) {
        let src = std::fs::read_to_string(&path).expect("read");
        assert_eq!(format(&src).expect("format"), src, "{} is not formatted: run `fupin fmt policies/`", path.display());
    }
}

#[test]
fn a_file_that_does_not_parse_is_an_error_not_a_layout() {
    match format("rule R \"t\" {\n  when a and\n}\n") {
        Err(FormatError::Syntax(errors)) => assert!(!errors.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn layout_is_independent_of_the_spelling() {
    let tight = "rule R \"t\" { for household when a and b then eligible p }";
    let loose = "rule   R \"t\"\n{\n      for household\n\n\n   when a\n and b\n then eligible p\n\n}\n";
    assert_eq!(format(tight).unwrap(), format(&format(loose).unwrap().replace("\n\n", "\n")).unwrap());
    assert_eq!(format(tight).unwrap(), "rule R \"t\" {\n  for household\n  when a and b\n  then eligible p\n}\n");
}

#[test]
fn a_long_condition_breaks_one_operand_per_line_within_the_width() {
    let src = format!(
        "rule R \"t\" {{ for household when {} then eligible p }}",
        (0..12).map(|i| format!("flag_{i}")).collect::<Vec<_>>().join(" and ")
    );
    let out = format(&src).unwrap();
    assert!(out.contains("  when flag_0\n    and flag_1\n"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= fupin::syntax::format::WIDTH), "{out}");
}

// ------------------------------------------------------------------ generated

mod generated {
    use super::*;

    /// A file of generated items, printed, with comments put in at line
    /// ends and on lines of their own where `spots` says.
    fn commented(printed: &str, spots: &[u8]) -> String {
        let mut out = String::new();
        for (i, line) in printed.split_inclusive('\n').enumerate() {
            let spot = spots.get(i % spots.len().max(1)).copied().unwrap_or(0);
            if spot % 4 == 1 {
                out.push_str(&format!("// own {i}\n"));
            }
            match line.strip_suffix('\n') {
                Some(body) if spot % 4 == 2 && !body.trim().is_empty() => out.push_str(&format!("{body} // end {i}\n")),
                _ => out.push_str(line),
            }
            if spot % 4 == 3 {
                out.push('\n');
            }
        }
        out
    }

    fn sources() -> impl Strategy<Value = (String, Vec<u8>)> {
        // the shapes the layout breaks: chains, calls, case, if, lists, aggregates
        let operand = prop::sample::select(vec![
            "household.income < line * household.size",
            "any(m in household.members: m.labour in [partial_loss, complete_loss] and m.age >= 16)",
            "(a or b)",
            "not household.dibao.enrolled",
            "min(household.income, max(household.size * 1_000 - household.income, 0)) > 4_400",
            "case household.size { 1 => true, 2 => false, else => a }",
            "if a then b else if c then d else e",
            "round(household.income * 70%, fen, half_up) >= 100",
            "x",
        ]);
        let op = prop::sample::select(vec![" and ", " or "]);
        let cond = (prop::collection::vec((operand.clone(), op), 1..7)).prop_map(|parts| {
            let mut s = String::new();
            for (i, (o, op)) in parts.iter().enumerate() {
                if i > 0 {
                    s.push_str(op);
                }
                s.push_str(o);
            }
            s
        });
        (cond.clone(), cond, prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(a, b, spots)| {
            let src = format!(
                "param line: yuan/year {{\n  cite \"c\"\n  from 2016-01-01: 3_168\n}}\nlet v = {a}\nrule R-1 \"t\" {{\n  for household\n  when {b}\n  let w = {a}\n  then {{\n    eligible p\n    amount q = if {a} then 1 else 2\n  }}\n}}\n"
            );
            (src, spots)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn commented_files_keep_meaning_comments_and_layout((src, spots) in sources()) {
            let src = commented(&src, &spots);
            prop_assume!(parse(&src).is_ok());
            let out = format(&src);
            prop_assert!(out.is_ok(), "{src}\n{:?}", out.err());
            let out = out.unwrap();
            assert_kept("generated", &src, &out);
        }
    }
}

// ------------------------------------------------------------------ the command

mod command {
    use std::io::Write;
    use std::path::PathBuf;
    use std::process::{Command, Stdio};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fupin-fmt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn fupin(args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_fupin")).args(args).output().expect("run fupin");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    const MESSY: &str = "rule R \"t\" {   for household\n when a   and b // why\n then eligible p }\n";

    #[test]
    fn check_names_the_file_and_changes_nothing_then_fmt_rewrites_it() {
        let d = dir("check");
        let file = d.join("a.policy");
        std::fs::write(&file, MESSY).unwrap();
        let (code, out, _) = fupin(&["fmt", "--check", d.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert_eq!(out, format!("would reformat {}\n", file.display()));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), MESSY, "--check wrote the file");

        let (code, out, _) = fupin(&["fmt", file.to_str().unwrap()]);
        assert_eq!((code, out), (0, format!("formatted {}\n", file.display())));
        let formatted = std::fs::read_to_string(&file).unwrap();
        assert_eq!(formatted, "rule R \"t\" {\n  for household\n  when a and b // why\n  then eligible p\n}\n");

        let (code, out, _) = fupin(&["fmt", "--check", d.to_str().unwrap()]);
        assert_eq!((code, out.as_str()), (0, ""));
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_file_that_does_not_parse_is_named_with_its_errors_and_left_alone() {
        let d = dir("bad");
        let bad = d.join("bad.policy");
        let text = "rule R \"t\" {\n  when a and\n}\n";
        std::fs::write(&bad, text).unwrap();
        std::fs::write(d.join("good.policy"), MESSY).unwrap();
        let (code, out, err) = fupin(&["fmt", d.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(&format!("{}:3:1", bad.display())), "{err}");
        assert!(err.contains(&format!("error: {} not formatted: 1 syntax error(s)", bad.display())), "{err}");
        assert_eq!(std::fs::read_to_string(&bad).unwrap(), text);
        // the other file is formatted all the same
        assert!(out.contains("good.policy"), "{out}");
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn standard_input_to_standard_output() {
        let mut child =
            Command::new(env!("CARGO_BIN_EXE_fupin")).arg("fmt").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("run fupin");
        child.stdin.take().expect("stdin").write_all(MESSY.as_bytes()).unwrap();
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "rule R \"t\" {\n  for household\n  when a and b // why\n  then eligible p\n}\n");
    }
}
