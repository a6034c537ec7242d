//! Language features end to end: `tests/cases/lang/*.policy` hold policies
//! and tests; every test must pass (and each asserts concrete numbers).

#[test]
fn language_feature_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/lang");
    let engine = fupin::Engine::builder().embedded().path(&dir).expect("read cases").build().unwrap_or_else(|d| panic!("{}", d.render()));
    let results = fupin::testing::run_all(&engine);
    let ours: Vec<_> = results.iter().filter(|r| r.location.contains("tests/cases/lang")).collect();
    assert!(ours.len() >= 5, "expected the language tests to run, found {}", ours.len());
    let failed: Vec<String> =
        ours.iter().filter(|r| !r.passed()).map(|r| format!("{} ({}):\n    {}", r.name, r.location, r.failures.join("\n    "))).collect();
    assert!(failed.is_empty(), "{} language test(s) failed:\n{}", failed.len(), failed.join("\n"));
}
