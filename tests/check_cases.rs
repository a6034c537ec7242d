//! Rule-file cases: every `tests/cases/check/*.policy` is checked together
//! with the shipped library; its rendered diagnostics must equal the sibling
//! `.expected` file. `FUPIN_BLESS=1 cargo test --test check_cases` rewrites
//! the expected files after a deliberate change of message.

use fupin::policy::{self, Source};
use fupin::EngineBuilder;
use std::path::Path;

fn render(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("case file");
    let name = format!("tests/cases/check/{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("?"));
    let mut b = EngineBuilder::default().source(name, text);
    // the shipped library is context (a case may extend `cn.hebei.shijiazhuang`)
    b = b.sources(policy::embedded().iter().map(|(n, t)| Source { name: n.to_string(), text: t.to_string() }));
    match b.build() {
        Ok(e) => format!("{}ok\n", e.warnings().render()),
        Err(d) => d.render(),
    }
}

#[test]
fn check_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/check");
    let bless = std::env::var("FUPIN_BLESS").is_ok();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "policy"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no check cases found");
    let mut failures = Vec::new();
    for p in &entries {
        let got = render(p);
        let exp_path = p.with_extension("expected");
        if bless {
            std::fs::write(&exp_path, &got).expect("write expected");
            continue;
        }
        let want = std::fs::read_to_string(&exp_path).unwrap_or_default();
        if got != want {
            failures.push(format!("--- {}\n=== expected:\n{want}\n=== got:\n{got}", p.display()));
        }
    }
    assert!(failures.is_empty(), "{} of {} check cases differ:\n{}", failures.len(), entries.len(), failures.join("\n"));
}
