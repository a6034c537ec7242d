//! Pinned loading: build an engine from exactly the policies named (id and
//! version, verified by hash), the way a downstream test suite pins
//! "石家庄 2016.1 as amended".

use fupin::pin::{BuildError, Pin, PinError};
use fupin::policy::{self, Source};
use fupin::{Engine, Lockfile};
use rust_decimal::Decimal;
use std::path::Path;

const CN: &str = "sha256:47ec11dd1d738293b6be4be8b627a5fc82f4757256ba7b504b68f01d320a55c1";
const HEBEI: &str = "sha256:25c229767255d631ba74ca7bae5e210c749dcbf40ab5f66098d03d6e31e9ead7";
const SJZ: &str = "sha256:451a9cb752f96145e7c388d65c7d0cdde0d10a2e67b346413cb5bb142f20a992";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn pins() -> [Pin; 3] {
    [Pin::new("cn", "2011.2", CN), Pin::new("cn.hebei", "2016.1", HEBEI), Pin::new("cn.hebei.shijiazhuang", "2016.1", SJZ)]
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn pingshan() -> fupin::Household {
    let text = std::fs::read_to_string(root().join("examples/households/pingshan-dibao.json")).unwrap_or_else(|e| panic!("{e}"));
    fupin::model::parse_household(&text, None).unwrap_or_else(|e| panic!("{e}"))
}

/// The frozen 2016.1 texts (tests/cases/pinned) plus the hypothetical 2016.5 amendment, which the pins leave out.
fn builder() -> fupin::EngineBuilder {
    Engine::builder()
        .path(root().join("tests/cases/pinned"))
        .and_then(|b| b.path(root().join("tests/cases/versions/shijiazhuang-2016.5.policy")))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pinned_shijiazhuang_2016_1_assesses_the_pingshan_household() {
    let engine = builder().pin(pins()).build().unwrap_or_else(|e| panic!("{}", e.into_diagnostics().render()));
    let a = engine.assess(&pingshan(), date("2018-06-01")).unwrap_or_else(|e| panic!("{e}"));
    let dibao = &a.programs["dibao"];
    assert!(dibao.eligible);
    assert_eq!(dibao.amount, Some(Decimal::new(720000, 2)));
    assert_eq!(dibao.amount.map(|d| d.to_string()).as_deref(), Some("7200.00"));
    let applied: Vec<(&str, &str, &str)> = a.policies.iter().map(|p| (p.id.as_str(), p.version.as_str(), p.hash.as_str())).collect();
    assert_eq!(applied, [("cn", "2011.2", CN), ("cn.hebei", "2016.1", HEBEI), ("cn.hebei.shijiazhuang", "2016.1", SJZ)]);
}

#[test]
fn without_pins_the_two_overlapping_versions_are_a_checker_error() {
    let d = builder().build().err().map(|d| d.render()).unwrap_or_default();
    assert!(d.contains("versions `2016.1` and `2016.5` of policy `cn.hebei.shijiazhuang` are both in force on 2016-01-01"), "{d}");
}

#[test]
fn one_changed_figure_fails_the_pinned_build_naming_the_policy_and_both_hashes() {
    let text = std::fs::read_to_string(root().join("tests/cases/pinned/shijiazhuang.policy")).unwrap_or_default();
    let changed = text.replace("from 2018-01-01: 4400", "from 2018-01-01: 4401");
    assert_ne!(text, changed);
    let found = fupin::policy::hash::content_hash(&changed).unwrap_or_else(|e| panic!("{e:?}"));
    let b = Engine::builder()
        .path(root().join("tests/cases/pinned/national.policy"))
        .and_then(|b| b.path(root().join("tests/cases/pinned/hebei.policy")))
        .unwrap_or_else(|e| panic!("{e}"))
        .source("vendor/shijiazhuang.policy", changed);
    match b.clone().pin(pins()).build() {
        Err(BuildError::Pin(PinError::HashMismatch { id, version, file, expected, found: f })) => {
            assert_eq!((id.as_str(), version.as_str(), file.as_str()), ("cn.hebei.shijiazhuang", "2016.1", "vendor/shijiazhuang.policy"));
            assert_eq!(expected, SJZ);
            assert_eq!(f, found);
        }
        Err(e) => panic!("expected a hash mismatch, got {e}"),
        Ok(_) => panic!("the changed text built"),
    }
    // `build()` reports the same as a diagnostic
    let d = b.pin(pins()).build().err().map(|d| d.render()).unwrap_or_default();
    assert!(
        d.contains("error: policy `cn.hebei.shijiazhuang` version `2016.1` (vendor/shijiazhuang.policy) does not match its pin"),
        "{d}"
    );
    assert!(d.contains(&format!("expected {SJZ}, found {found}")), "{d}");
}

#[test]
fn whitespace_and_comments_do_not_break_a_pin() {
    let text = std::fs::read_to_string(root().join("tests/cases/pinned/shijiazhuang.policy")).unwrap_or_default();
    let reformatted = format!("// vendored copy\n{}\n// end\n", text.replace("  ", "\t"));
    let engine = Engine::builder()
        .path(root().join("tests/cases/pinned/national.policy"))
        .and_then(|b| b.path(root().join("tests/cases/pinned/hebei.policy")))
        .unwrap_or_else(|e| panic!("{e}"))
        .source("vendor/shijiazhuang.policy", reformatted)
        .pin(pins())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let a = engine.assess(&pingshan(), date("2018-06-01")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.programs["dibao"].amount.map(|d| d.to_string()).as_deref(), Some("7200.00"));
}

#[test]
fn a_pinned_version_that_is_absent_is_an_error_listing_the_versions_present() {
    let mut p = pins().to_vec();
    p[2] = Pin::new("cn.hebei.shijiazhuang", "2016.6", SJZ);
    let e = builder().pin(p).build().err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(e, "pinned policy `cn.hebei.shijiazhuang` version `2016.6` is not in the policy set (versions present: 2016.1, 2016.5)");
}

#[test]
fn the_same_version_pinned_to_two_hashes_is_an_error() {
    let mut p = pins().to_vec();
    p.push(Pin::new("cn", "2011.2", SJZ));
    assert!(matches!(builder().pin(p).build(), Err(BuildError::Pin(PinError::ConflictingPins { .. }))));
}

#[test]
fn policies_outside_the_pin_set_are_excluded() {
    // pin only the national policy: 石家庄's rules are gone, its 低保 with them
    let engine = builder().pin([Pin::new("cn", "2011.2", CN)]).build().unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = engine.program().module.policies.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["cn"]);
    let a = engine.assess(&pingshan(), date("2018-06-01")).unwrap_or_else(|e| panic!("{e}"));
    assert!(a.programs.get("dibao").is_none_or(|d| !d.eligible));
}

#[test]
fn the_shipped_library_pinned_by_the_shipped_lockfile() {
    let lock = Lockfile::load(root().join("fupin.lock")).unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::builder().embedded().pinned(&lock).build().unwrap_or_else(|e| panic!("{e}"));
    let sources: Vec<Source> = policy::embedded().iter().map(|(n, t)| Source { name: n.to_string(), text: t.to_string() }).collect();
    assert_eq!(engine.program().module.policies.len(), Lockfile::scan(&sources).map(|s| s.len()).unwrap_or(0));
    let a = engine.assess(&pingshan(), date("2018-06-01")).unwrap_or_else(|e| panic!("{e}"));
    for p in &a.policies {
        assert_eq!(lock.get(&p.id, &p.version).map(|x| x.hash.as_str()), Some(p.hash.as_str()), "{}", p.id);
    }
}

#[test]
fn a_pinned_policy_whose_parent_is_not_pinned_is_an_error_naming_the_parent() {
    let only_sjz = [Pin::new("cn.hebei.shijiazhuang", "2016.1", SJZ)];
    let err = builder().pin(only_sjz.clone()).build().err();
    let Some(BuildError::Pin(PinError::AncestorNotPinned { id, version, parent, available })) = &err else {
        panic!("{:?}", err.map(|e| e.render()))
    };
    assert_eq!((id.as_str(), version.as_str(), parent.as_str()), ("cn.hebei.shijiazhuang", "2016.1", "cn.hebei"));
    assert_eq!(available, &["2016.1".to_string()]);
    let message = err.map(|e| e.render()).unwrap_or_default();
    assert!(message.contains("extends `cn.hebei`, which is not pinned") && message.contains("pin_with_ancestors"), "{message}");

    // pinned with what it extends: the versions present of every ancestor come along
    let engine = builder().pin_with_ancestors(only_sjz).build().unwrap_or_else(|e| panic!("{}", e.render()));
    let a = engine.assess(&pingshan(), date("2018-06-01")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.programs["dibao"].amount, Some(Decimal::new(720000, 2)));
    let applied: Vec<(&str, &str)> = a.policies.iter().map(|p| (p.id.as_str(), p.version.as_str())).collect();
    assert_eq!(applied, [("cn", "2011.2"), ("cn.hebei", "2016.1"), ("cn.hebei.shijiazhuang", "2016.1")]);
}
