//! Every test written in the shipped policy files runs under `cargo test`.

#[test]
fn shipped_policy_tests_pass() {
    let engine = fupin::Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    let results = fupin::testing::run_all(&engine);
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("{} ({}):\n    {}", r.name, r.location, r.failures.join("\n    ")))
        .collect();
    println!("{} passed, {} failed", results.len() - failed.len(), failed.len());
    assert!(failed.is_empty(), "{} shipped policy test(s) failed:\n{}", failed.len(), failed.join("\n"));
}
