//! The code blocks of the README and the docs. Rust blocks are doctests
//! (`src/lib.rs`, `doc_snippets`); here every block marked `policy` must
//! parse (a block that starts indented is a fragment of the one before and
//! is shown for one line only), and every `json` block that holds no `…` must
//! be JSON.

use std::path::Path;

fn blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, l)) = lines.next() {
        let Some(tag) = l.strip_prefix("```") else { continue };
        let mut body = String::new();
        for (_, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        if tag.trim() == lang {
            out.push((i + 1, body));
        }
    }
    out
}

fn docs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut d: Vec<_> = std::fs::read_dir(root.join("docs")).expect("docs").flatten().map(|e| e.path()).collect();
    d.sort();
    files.extend(d.into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")));
    files
        .into_iter()
        .map(|p| (p.strip_prefix(root).unwrap_or(&p).display().to_string(), std::fs::read_to_string(&p).expect("doc")))
        .collect()
}

#[test]
fn every_policy_block_of_the_docs_parses() {
    let mut parsed = 0;
    let mut failures = Vec::new();
    for (name, text) in docs() {
        for (line, body) in blocks(&text, "policy") {
            let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
            if first.starts_with(' ') {
                continue;
            }
            match fupin::syntax::parse(&body) {
                Ok(_) => parsed += 1,
                Err(e) => failures.push(format!(
                    "{name}:{line}: {}",
                    e.iter().map(|e| format!("{} at {:?}", e.kind, e.span)).collect::<Vec<_>>().join("; ")
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(parsed >= 8, "only {parsed} policy blocks found");
}

#[test]
fn every_complete_json_block_of_the_docs_is_json() {
    for (name, text) in docs() {
        for (line, body) in blocks(&text, "json") {
            if body.contains('…') {
                continue;
            }
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&body) {
                panic!("{name}:{line}: {e}");
            }
        }
    }
}

/// The table of `policies/README.md` names every embedded policy with its
/// version and region, and nothing else.
#[test]
fn the_library_table_matches_the_embedded_policies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("policies/README.md")).expect("policies/README.md");
    let mut table: Vec<(String, String, String)> = text
        .lines()
        .filter(|l| l.starts_with("| `") && l.contains(".policy`"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (cells[2].to_string(), cells[3].to_string(), cells[4].to_string())
        })
        .collect();
    table.sort();
    let engine = fupin::Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let mut library: Vec<(String, String, String)> =
        engine.program().module.policies.iter().map(|p| (p.id.clone(), p.version.clone(), p.region.clone())).collect();
    library.sort();
    assert_eq!(table, library, "policies/README.md's table (id, version, region) against the embedded library");
}
