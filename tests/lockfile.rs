//! The shipped `fupin.lock` matches the shipped policies, and `fupin lock
//! --check` names what drifted.

use fupin::pin::{Drift, Lockfile};
use fupin::policy::{self, Source};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn embedded() -> Vec<Source> {
    policy::embedded().iter().map(|(n, t)| Source { name: n.to_string(), text: t.to_string() }).collect()
}

#[test]
fn shipped_lockfile_matches_the_shipped_policies() {
    let shipped = Lockfile::load(root().join("fupin.lock")).unwrap_or_else(|e| panic!("{e}"));
    let found = Lockfile::scan(&embedded()).unwrap_or_else(|e| panic!("{e}"));
    let drift: Vec<String> = shipped.check(&found).iter().map(ToString::to_string).collect();
    assert!(drift.is_empty(), "fupin.lock is out of date (run `cargo run --bin fupin -- lock`):\n{}", drift.join("\n"));
    // and it is exactly what `fupin lock` writes
    let text = std::fs::read_to_string(root().join("fupin.lock")).unwrap_or_default();
    let fresh = Lockfile::from_sources(&embedded()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text, fresh.to_string());
    assert!(fresh.get("cn.hebei.shijiazhuang", "2016.1").is_some());
}

/// A copy of the shipped policies in a fresh temporary directory.
fn copy_policies(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fupin-lock-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (name, text) in policy::embedded() {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn fupin(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fupin")).args(args).output().unwrap_or_else(|e| panic!("{e}"));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn lock_check_names_a_policy_changed_without_a_new_version() {
    let dir = copy_policies("changed");
    let lockfile = dir.join("fupin.lock");
    let (p, l) = (dir.to_string_lossy().into_owned(), lockfile.to_string_lossy().into_owned());
    let (code, err) = fupin(&["lock", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("policy version(s)"), "{err}");

    // whitespace and comments do not matter
    let sjz = dir.join("policies/hebei/shijiazhuang.policy");
    let text = std::fs::read_to_string(&sjz).unwrap_or_default();
    std::fs::write(&sjz, format!("// a new comment\n{}", text.replace("  ", "    "))).unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = fupin(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0, "{err}");

    // one figure changes: the check fails naming the policy and both hashes
    std::fs::write(&sjz, text.replace("from 2018-01-01: 4400", "from 2018-01-01: 4401")).unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = fupin(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error: policy `cn.hebei.shijiazhuang` version `2016.1`"), "{err}");
    assert!(err.contains("changed without a new version: locked sha256:"), "{err}");
    assert!(err.contains("help: a changed policy needs a new version"), "{err}");

    // with a new version the old one is missing and the new one unlocked
    std::fs::write(&sjz, text.replace("version  \"2016.1\"", "version  \"2016.2\"")).unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = fupin(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error: locked policy `cn.hebei.shijiazhuang` version `2016.1` is missing"), "{err}");
    assert!(err.contains("version `2016.2`") && err.contains("is new: not in the lockfile"), "{err}");

    // rewriting the lockfile settles it
    let (code, _) = fupin(&["lock", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0);
    let (code, err) = fupin(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0, "{err}");
    let lock = Lockfile::load(&lockfile).unwrap_or_else(|e| panic!("{e}"));
    assert!(lock.get("cn.hebei.shijiazhuang", "2016.2").is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lock_check_without_a_lockfile_is_an_error() {
    let (code, err) = fupin(&["lock", "--check", "--lockfile", "/nonexistent/fupin.lock"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/fupin.lock"), "{err}");
}

#[test]
fn drift_of_the_library_value() {
    let found = Lockfile::scan(&embedded()).unwrap_or_else(|e| panic!("{e}"));
    let empty = Lockfile::default();
    let d = empty.check(&found);
    assert_eq!(d.len(), found.len());
    assert!(d.iter().all(|x| matches!(x, Drift::Unlocked { .. })));
}
