//! The generated engine (`fupin::codegen`): the shipped library's generated
//! source is the one the generator emits today (`FUPIN_REGENERATE=1` rewrites
//! it), `Engine::embedded` runs it, and an engine of other policies refuses it.
//! (That it gives the same results as the other tiers: `tests/differential.rs`.)

use fupin::{Engine, Tier};

/// The reference workload's generated engine (`benches/workload/generated.rs`).
#[allow(dead_code)]
mod workload {
    include!("../benches/workload/generated.rs");
}

/// `file` holds what the generator emits for `engine` today (or, with
/// `FUPIN_REGENERATE` set, is rewritten to).
fn current(engine: &Engine, file: &str) {
    let want = fupin::codegen::generate(engine);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        if std::env::var_os("FUPIN_REGENERATE").is_some() {
            std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        panic!(
            "{file} is stale (its policies or the lowering changed): \
             regenerate it with `FUPIN_REGENERATE=1 cargo test --release --test generated`"
        );
    }
}

#[test]
fn the_shipped_generated_engine_is_current() {
    current(&Engine::builder().embedded().build().unwrap_or_else(|d| panic!("{}", d.render())), "src/codegen/shipped.rs");
}

/// The language corpus case whose generated engine the differential tests
/// run (`banded`, `case`, aggregations, dates: the runtime paths the shipped
/// library's generated code does not take).
#[test]
fn the_corpus_features_generated_engine_is_current() {
    let engine = Engine::builder()
        .embedded()
        .source("tests/cases/lang/features.policy", include_str!("cases/lang/features.policy"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    current(&engine, "tests/generated/features.rs");
}

#[test]
fn the_reference_workloads_generated_engine_is_current() {
    let engine = Engine::builder()
        .source("benches/reference.policy", include_str!("../benches/reference.policy"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    current(&engine, "benches/workload/generated.rs");
}

/// `Engine::embedded` attaches the shipped generated code on the digest of
/// its policies, without fingerprinting the lowered code again: that is
/// sound because the digest names the code the fingerprint would
/// (`the_shipped_generated_engine_is_current` regenerates both).
#[test]
fn the_shipped_library_is_recognised_by_the_digest_of_its_policies() {
    let plain = Engine::builder().embedded().build().unwrap_or_else(|d| panic!("{}", d.render()));
    let shipped = &fupin::codegen::shipped::GENERATED;
    assert_eq!(fupin::codegen::policies_digest(&plain), shipped.policies());
    assert_eq!(fupin::codegen::fingerprint(&plain), shipped.fingerprint());
    // another policy set has another digest
    let one = Engine::builder().source("benches/reference.policy", include_str!("../benches/reference.policy")).build();
    let one = one.unwrap_or_else(|d| panic!("{}", d.render()));
    assert_ne!(fupin::codegen::policies_digest(&one), shipped.policies());
    assert!(!one.with_shipped_generated().is_generated());
}

#[test]
fn the_embedded_engine_runs_its_generated_code() {
    let engine = Engine::embedded().unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(engine.is_generated(), "the shipped generated engine was not attached (stale? see the test above)");
    let h = fupin::model::parse_household(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/households/huaihua-tongdao-illness.json")).unwrap(),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let as_of = chrono::NaiveDate::from_ymd_opt(2020, 6, 1).unwrap();
    let mut s = engine.scratch();
    let generated = engine.assess_with(&h, as_of, &mut s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.tiers().generated, 1, "{:?}", s.tiers());
    s.set_tier(Tier::Lowered);
    let lowered = engine.assess_with(&h, as_of, &mut s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.tiers().lowered, 1, "{:?}", s.tiers());
    assert_eq!(serde_json::to_value(&generated).unwrap(), serde_json::to_value(&lowered).unwrap());
}

/// Every rule of the shipped library runs as one generated function: its
/// lowered code leaves no node to the IR evaluator in place (built-ins on
/// values, parameters on a date, values chosen by `if`, `present` of a
/// field of the core model and calls of policy functions all have typed
/// and generated forms).
#[test]
fn every_rule_of_the_shipped_library_is_generated_whole() {
    let engine = Engine::builder().embedded().build().unwrap_or_else(|d| panic!("{}", d.render()));
    let coverage = engine.program().exec.coverage();
    assert_eq!(coverage.1, 0, "nodes left to the IR evaluator in place (typed, in place): {coverage:?}");
    let (generated, rules) = fupin::codegen::shipped::GENERATED.rules_generated();
    assert_eq!(generated, rules, "rules without a generated function of their own");
    assert_eq!(rules, engine.program().module.rules.len());
}

/// A policy function whose body has a generated form but whose only caller
/// has none (here: a condition that also counts a declared list, which the
/// lowering leaves to the IR evaluator) is emitted and never called; the
/// generated source must still compile without warnings in the crate that
/// includes it, so every policy function allows being unused.
#[test]
fn a_policy_function_whose_callers_stay_on_the_walk_is_allowed_to_be_unused() {
    let src = r#"
policy t.unused {
  title "a function called only where the walk runs"
  region 990400
  in_force 2016-01-01 ..
  version "1"
  extends cn
}
enum certificate { skills "职业技能证书", driving "驾驶证" }
fact member.certificates: list of certificate { title "证书" cite "test" optional }
fn grown(m: member): bool = m.age >= 18
rule U-1 "a grown member with a certificate" {
  cite "test"
  for each member m
  when present(m.certificates) and grown(m) and count(k in m.certificates: true) >= 1
  then eligible tekun
}
"#;
    let engine = Engine::builder().embedded().source("t.policy", src).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let code = fupin::codegen::generate(&engine);
    let defined: Vec<&str> = code.lines().filter(|l| l.starts_with("fn f")).collect();
    assert!(!defined.is_empty(), "the function's body was emitted");
    let unused = defined
        .iter()
        .filter_map(|l| l.strip_prefix("fn ").and_then(|r| r.split('(').next()))
        .filter(|name| !code.contains(&format!(", {name})")))
        .count();
    assert!(unused > 0, "a function no emitted code calls (else this test shows nothing)");
    for (i, line) in code.lines().enumerate() {
        if line.starts_with("fn f") {
            let attr = code.lines().nth(i.wrapping_sub(1)).unwrap_or_default();
            assert!(attr.contains("dead_code"), "{line} may be unused, yet {attr}");
        }
    }
}

#[test]
fn an_engine_of_other_policies_refuses_the_shipped_generated_engine() {
    let engine = Engine::builder().embedded().set_param("basic_deductible", "500").build().unwrap_or_else(|d| panic!("{}", d.render()));
    // a deployer setting is read at run time: the generated code still fits
    assert!(engine.with_generated(&fupin::codegen::shipped::GENERATED).is_ok());
    let other = Engine::builder()
        .source("benches/reference.policy", include_str!("../benches/reference.policy"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let err = other.with_generated(&fupin::codegen::shipped::GENERATED).unwrap_err();
    assert!(err.to_string().contains("does not match these policies"), "{err}");
    assert_ne!(err.generated, err.engine);
}

#[test]
fn the_builder_writes_what_generate_emits_for_a_policy_directory() {
    let dir = std::env::temp_dir().join(format!("fupin-codegen-{}", std::process::id()));
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("reference.policy"), include_str!("../benches/reference.policy")).unwrap();
    let out = dir.join("generated.rs");
    fupin::codegen::Builder::new().policy_dir(&policies).write_to(&out).unwrap_or_else(|e| panic!("{e}"));
    let written = std::fs::read_to_string(&out).unwrap();
    let engine = Engine::builder().path(&policies).unwrap().build().unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(written, fupin::codegen::generate(&engine));
    assert!(written.contains(fupin::codegen::fingerprint(&engine).as_str()));
    // the same policy, whatever its file is called: the checked-in workload engine fits
    assert!(engine.with_generated(&workload::GENERATED).is_ok());
    // outside a build script there is no OUT_DIR to write to
    if std::env::var_os("OUT_DIR").is_none() {
        let err = fupin::codegen::Builder::new().policy_dir(&policies).compile().unwrap_err();
        assert!(matches!(err, fupin::codegen::CodegenError::NoOutDir), "{err}");
    }
    // policies that do not build are reported, not generated
    std::fs::write(policies.join("broken.policy"), "policy {").unwrap();
    let err = fupin::codegen::Builder::new().policy_dir(&policies).generate().unwrap_err();
    assert!(matches!(err, fupin::codegen::CodegenError::Build(_)), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
