//! Language features end to end: `tests/cases/lang/*.policy` hold policies
//! and tests; every test must pass (and each asserts concrete numbers).

#[test]
fn language_feature_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/lang");
    let engine = fupin::Engine::builder().embedded().path(&dir).expect("read cases").build().unwrap_or_else(|d| panic!("{}", d.render()));
    let results = fupin::testing::run_all(&engine);
    let ours: Vec<_> = results.iter().filter(|r| r.location.contains("tests/cases/lang")).collect();
    assert!(ours.len() >= 5, "expected the language tests to run, found {}", ours.len());
    // every case file's tests run (a file whose policy failed to load would show none)
    for entry in std::fs::read_dir(&dir).expect("list cases") {
        let path = entry.expect("a case").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).filter(|n| n.ends_with(".policy")) else { continue };
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = text.lines().filter(|l| l.starts_with("test \"")).count();
        let ran = ours.iter().filter(|r| r.location.contains(&format!("tests/cases/lang/{name}:"))).count();
        assert_eq!(ran, written, "{name}: {written} test(s) written, {ran} run");
    }
    let failed: Vec<String> =
        ours.iter().filter(|r| !r.passed()).map(|r| format!("{} ({}):\n    {}", r.name, r.location, r.failures.join("\n    "))).collect();
    assert!(failed.is_empty(), "{} language test(s) failed:\n{}", failed.len(), failed.join("\n"));
}

/// The worked example of docs/writing-policies.md (§10: a county document
/// with two member facts, a claim fact, an enumeration and a fourth claim
/// layer) is a policy file whose tests pass exactly as the page shows them.
#[test]
fn the_worked_county_example_in_the_docs_passes_as_shown() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/writing-policies.md")).unwrap_or_else(|e| panic!("{e}"));
    let marker = "<!-- worked example: county/health.policy -->\n```policy\n";
    let start = doc.find(marker).map(|i| i + marker.len()).expect("the worked example's marker");
    let text = &doc[start..start + doc[start..].find("\n```\n").expect("the end of the policy block") + 1];
    let engine = fupin::Engine::builder()
        .embedded()
        .source("county/health.policy", text.to_string())
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let ours: Vec<_> = fupin::testing::run_all(&engine).into_iter().filter(|r| r.location.starts_with("county/health.policy")).collect();
    assert_eq!(ours.len(), 4, "the example's tests");
    for r in &ours {
        assert!(r.passed(), "{} ({}):\n    {}", r.name, r.location, r.failures.join("\n    "));
        // the page shows the runner's line for each test
        let line = format!("ok     {}  ({})", r.name, r.location);
        assert!(doc.contains(&line), "docs/writing-policies.md does not show `{line}`");
    }
    assert!(doc.contains("4 passed, 0 failed"));
    // what the example declares
    let m = &engine.program().module;
    assert!(m.layers.iter().any(|l| l.name == "county_backstop" && l.paying));
    assert_eq!(m.facts.iter().filter(|f| f.policies.iter().any(|p| m.policies[*p as usize].id == "county.health")).count(), 3);
}

/// The example of docs/language.md's "Functions" section is a policy whose
/// test passes with the shipped library (its national functions included).
#[test]
fn the_functions_example_in_the_docs_passes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/language.md")).unwrap_or_else(|e| panic!("{e}"));
    let at = doc.find("## Functions").expect("the Functions section");
    let fence = "```policy\n";
    let start = doc[at..].find(fence).map(|i| at + i + fence.len()).expect("its policy block");
    let text = &doc[start..start + doc[start..].find("\n```\n").expect("the end of the block") + 1];
    let engine = fupin::Engine::builder()
        .embedded()
        .source("docs/functions.policy", text.to_string())
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let ours: Vec<_> = fupin::testing::run_all(&engine).into_iter().filter(|r| r.location.starts_with("docs/functions.policy")).collect();
    assert_eq!(ours.len(), 1, "the example's test");
    for r in &ours {
        assert!(r.passed(), "{} ({}):\n    {}", r.name, r.location, r.failures.join("\n    "));
    }
    let m = &engine.program().module;
    assert!(m.functions.iter().any(|f| f.name == "claim_share"), "the example declares its functions");
}

/// The example of docs/language.md's "Conversions and literal types"
/// section is a policy whose test passes with the shipped library.
#[test]
fn the_conversions_example_in_the_docs_passes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/language.md")).unwrap_or_else(|e| panic!("{e}"));
    let at = doc.find("## Conversions and literal types").expect("the Conversions section");
    let fence = "```policy\n";
    let start = doc[at..].find(fence).map(|i| at + i + fence.len()).expect("its policy block");
    let text = &doc[start..start + doc[start..].find("\n```\n").expect("the end of the block") + 1];
    let engine = fupin::Engine::builder()
        .embedded()
        .source("docs/conversions.policy", text.to_string())
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let ours: Vec<_> = fupin::testing::run_all(&engine).into_iter().filter(|r| r.location.starts_with("docs/conversions.policy")).collect();
    assert_eq!(ours.len(), 1, "the example's test");
    for r in &ours {
        assert!(r.passed(), "{} ({}):\n    {}", r.name, r.location, r.failures.join("\n    "));
    }
}

/// The natural forms of docs/writing-policies.md (§11) are the rules of
/// tests/cases/lang/natural-forms.policy, word for word, and the page shows
/// the runner's line for each of the file's tests.
#[test]
fn the_natural_forms_in_the_docs_are_the_tested_ones() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/writing-policies.md")).unwrap_or_else(|e| panic!("{e}"));
    let file = std::fs::read_to_string(root.join("tests/cases/lang/natural-forms.policy")).unwrap_or_else(|e| panic!("{e}"));
    let at = doc.find("## 11. Three computations in their natural form").expect("the section");
    let section = &doc[at..];
    let fence = "```policy\n";
    let mut shown = 0;
    let mut rest = section;
    while let Some(i) = rest.find(fence) {
        let body = &rest[i + fence.len()..];
        let end = body.find("\n```\n").expect("the end of a block");
        let block = &body[..end + 1];
        assert!(file.contains(block), "docs/writing-policies.md §11 shows a rule the tested file does not hold:\n{block}");
        shown += 1;
        rest = &body[end..];
    }
    assert_eq!(shown, 3, "the three natural forms");
    let dir = root.join("tests/cases/lang");
    let engine = fupin::Engine::builder().embedded().path(&dir).expect("read cases").build().unwrap_or_else(|d| panic!("{}", d.render()));
    let ours: Vec<_> =
        fupin::testing::run_all(&engine).into_iter().filter(|r| r.location.contains("tests/cases/lang/natural-forms.policy")).collect();
    assert_eq!(ours.len(), 6, "the file's tests");
    for r in &ours {
        assert!(r.passed(), "{} ({}):\n    {}", r.name, r.location, r.failures.join("\n    "));
        let prefix = format!("{}/", root.display());
        let line = format!("ok     {}  ({})", r.name, r.location.strip_prefix(&prefix).unwrap_or(&r.location));
        assert!(section.contains(&line), "docs/writing-policies.md §11 does not show `{line}`");
    }
    assert!(section.contains("6 passed, 0 failed"));
}
