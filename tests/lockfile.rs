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
    assert!(fresh.get("cn.hebei.shijiazhuang", "2016.4").is_some());
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
    assert!(err.contains("error: policy `cn.hebei.shijiazhuang` version `2016.4`"), "{err}");
    assert!(err.contains("changed without a new version: locked sha256:"), "{err}");
    assert!(err.contains("help: a changed policy needs a new version"), "{err}");

    // with a new version the old one is missing and the new one unlocked
    std::fs::write(&sjz, text.replace("version  \"2016.4\"", "version  \"2016.5\"")).unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = fupin(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error: locked policy `cn.hebei.shijiazhuang` version `2016.4` is missing"), "{err}");
    assert!(err.contains("version `2016.5`") && err.contains("is new: not in the lockfile"), "{err}");

    // rewriting the lockfile settles it
    let (code, _) = fupin(&["lock", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0);
    let (code, err) = fupin(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0, "{err}");
    let lock = Lockfile::load(&lockfile).unwrap_or_else(|e| panic!("{e}"));
    assert!(lock.get("cn.hebei.shijiazhuang", "2016.5").is_some());
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

#[test]
fn the_lockfile_is_toml_that_any_toml_parser_reads() {
    let text = std::fs::read_to_string(root().join("fupin.lock")).unwrap_or_default();
    let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("fupin.lock is not TOML: {e}"));
    assert_eq!(doc.get("version").and_then(toml::Value::as_integer), Some(1));
    let policies = doc.get("policy").and_then(toml::Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let shipped = Lockfile::load(root().join("fupin.lock")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policies.len(), shipped.pins().len());
    for (t, p) in policies.iter().zip(shipped.pins()) {
        let field = |k: &str| t.get(k).and_then(toml::Value::as_str).unwrap_or_default().to_string();
        assert_eq!((field("id"), field("version"), field("hash")), (p.id.clone(), p.version.clone(), p.hash.clone()));
    }
}

#[test]
fn two_versions_of_one_id_and_odd_strings_round_trip_through_toml() {
    use fupin::pin::Pin;
    let pins = [
        Pin::new("cn.hebei", "2016.2", "sha256:bb"),
        Pin::new("cn.hebei", "2016.1", "sha256:aa"),
        Pin::new("odd \"id\" \\ with\ttab", "1\\2 \"q\"", "sha256:cc"),
        Pin::new("cn.石家庄", "二〇一六", "sha256:dd"),
        Pin::new("line\nbreak\u{7f}\u{1}", "1", "sha256:ee"),
    ];
    let lock = Lockfile::new(pins.clone()).unwrap_or_else(|e| panic!("{e}"));
    let text = lock.to_string();
    // any TOML parser reads it: a table per policy version
    let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"));
    let rows = doc.get("policy").and_then(toml::Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let got: Vec<Pin> = rows
        .iter()
        .map(|t| {
            let f = |k: &str| t.get(k).and_then(toml::Value::as_str).unwrap_or_default().to_string();
            Pin::new(f("id"), f("version"), f("hash"))
        })
        .collect();
    let mut want = pins.to_vec();
    want.sort();
    assert_eq!(got, want, "sorted by id then version");
    // and fupin reads back what it wrote
    assert_eq!(Lockfile::parse(&text).unwrap_or_else(|e| panic!("{e}")), lock);
    assert_eq!(Lockfile::parse(&text).map(|l| l.to_string()).unwrap_or_default(), text);
}

#[test]
fn an_old_format_lockfile_says_to_rerun_fupin_lock() {
    let old = "# fupin.lock\n\"cn\" = { version = \"2011.1\", hash = \"sha256:aa\" }\n";
    let e = Lockfile::parse(old).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("run `fupin lock`"), "{e}");
    let future = "version = 99\n";
    let e = Lockfile::parse(future).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("format version 99"), "{e}");
}

#[test]
fn malformed_lockfiles_are_reported_with_line_and_column() {
    let cases = [
        ("version = 1\n[[policy]]\nid = \"a\"\nversion = \"1\"\n", "missing field `hash`", 2),
        ("version = 1\n[[policy]]\nid = \"a\"\nversion = \"1\"\nhash = \"md5:x\"\n", "does not start with `sha256:`", 5),
        ("version = 1\n[[policy]]\nid = \"a\"\nversion = \"1\"\nhash = \"sha256:x\"\ncolour = \"red\"\n", "unknown field `colour`", 6),
        ("version = 1\n[[policy]]\nid = \"a\nversion = \"1\"\n", "", 3),
        ("version = 1\n[[policy]]\nid = \"\"\nversion = \"1\"\nhash = \"sha256:x\"\n", "empty", 3),
    ];
    for (text, want, line) in cases {
        match Lockfile::parse(text) {
            Err(fupin::pin::LockError::Syntax { line: l, message, .. }) => {
                assert!(message.contains(want), "{text}: {message}");
                assert_eq!(l, line, "{text}: {message}");
            }
            other => panic!("{text}: expected a syntax error, got {other:?}"),
        }
    }
    let dup = "version = 1\n[[policy]]\nid = \"a\"\nversion = \"1\"\nhash = \"sha256:x\"\n[[policy]]\nid = \"a\"\nversion = \"1\"\nhash = \"sha256:y\"\n";
    assert!(matches!(Lockfile::parse(dup), Err(fupin::pin::LockError::Duplicate { .. })));
}

fn fupin_out(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fupin")).args(args).output().unwrap_or_else(|e| panic!("{e}"));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `fupin diff` and `fupin lock --check` judge a change through one canonical
/// form, so they never disagree about whether a policy changed.
#[test]
fn diff_and_lock_check_agree_on_what_is_a_change() {
    let dir = copy_policies("agree");
    let lockfile = dir.join("fupin.lock");
    let (p, l) = (dir.to_string_lossy().into_owned(), lockfile.to_string_lossy().into_owned());
    let sjz = dir.join("policies/hebei/shijiazhuang.policy");
    let original = std::fs::read_to_string(&sjz).unwrap_or_default();
    let before = std::env::temp_dir().join(format!("fupin-lock-agree-before-{}.policy", std::process::id()));
    std::fs::write(&before, &original).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = fupin_out(&["lock", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0, "{err}");
    let s = sjz.to_string_lossy().into_owned();
    let b = before.to_string_lossy().into_owned();
    // (edit, is it a change?)
    let edits: [(&str, &str, bool); 5] = [
        ("from 2018-01-01: 4400", "from 2018-01-01: 4_400", false),
        ("from 2018-01-01: 4400", "from   2018-01-01 :4400 // same figure\n   ", false),
        ("from 2018-01-01: 4400", "from 2018-01-01: 4401", true),
        ("from 2018-01-01: 4400", "from 2018-01-01: 4400.0", true),
        ("from 2018-01-01: 4400", "from 2018-01-01: (4400)", false),
    ];
    for (from, to, changed) in edits {
        let text = original.replacen(from, to, 1);
        assert_ne!(text, original);
        std::fs::write(&sjz, &text).unwrap_or_else(|e| panic!("{e}"));
        let (lock_code, _, lock_err) = fupin_out(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
        let (diff_code, diff_out, diff_err) = fupin_out(&["diff", &b, &s]);
        assert_eq!(lock_code, i32::from(changed), "lock --check on `{to}`: {lock_err}");
        assert_eq!(diff_code, i32::from(changed), "diff on `{to}`: {diff_out}{diff_err}");
        assert_eq!(diff_out.contains("no changes"), !changed, "{diff_out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&before);
}

#[test]
fn lock_of_an_analysts_directory_pins_the_embedded_policies_it_extends() {
    let dir = std::env::temp_dir().join(format!("fupin-lock-ancestors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let county = r#"policy cn.hebei.shijiazhuang.pingshan {
  title "平山县 rules"
  document "平山县 notice"
  issued 2018-01-01
  region 130131
  in_force 2018-01-01 ..
  version "2018.1"
  extends cn.hebei.shijiazhuang
}
"#;
    std::fs::write(dir.join("pingshan.policy"), county).unwrap_or_else(|e| panic!("{e}"));
    let lockfile = dir.join("fupin.lock");
    let (p, l) = (dir.to_string_lossy().into_owned(), lockfile.to_string_lossy().into_owned());
    let (code, err) = fupin(&["lock", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("embedded ancestors of the directory"), "{err}");
    let lock = Lockfile::load(&lockfile).unwrap_or_else(|e| panic!("{e}"));
    let shipped = Lockfile::load(root().join("fupin.lock")).unwrap_or_else(|e| panic!("{e}"));
    // the directory's own policy and every embedded version of each policy it extends, transitively
    assert!(lock.get("cn.hebei.shijiazhuang.pingshan", "2018.1").is_some(), "{lock}");
    for id in ["cn.hebei.shijiazhuang", "cn.hebei", "cn"] {
        let embedded: Vec<_> = shipped.pins().iter().filter(|x| x.id == id).collect();
        assert!(!embedded.is_empty(), "the library ships {id}");
        for e in embedded {
            assert_eq!(lock.get(id, &e.version), Some(e), "{id} {} is pinned with its hash", e.version);
        }
    }
    // policies the directory does not extend are not its dependencies
    assert!(lock.pins().iter().all(|x| !x.id.starts_with("cn.henan")), "{lock}");
    let (code, err) = fupin(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 0, "{err}");
    // a lockfile without the ancestors is out of date
    let own =
        Lockfile::new(lock.pins().iter().filter(|x| x.id == "cn.hebei.shijiazhuang.pingshan").cloned()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&lockfile, own.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = fupin(&["lock", "--check", "--policies", &p, "--lockfile", &l]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`cn.hebei`") && err.contains("is new: not in the lockfile"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
