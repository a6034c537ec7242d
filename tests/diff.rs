//! `fupin diff`: two small versions of a county policy
//! (`tests/cases/diff/v1`, `v2`) compared as files, as directories and as
//! two versions of one id in a set.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fupin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fupin")).args(args).current_dir(root()).output().unwrap_or_else(|e| panic!("{e}"));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

const V1: &str = "tests/cases/diff/v1/dibao.policy";
const V2: &str = "tests/cases/diff/v2/dibao.policy";

fn expected() -> String {
    std::fs::read_to_string(root().join("tests/cases/diff/files.expected")).unwrap_or_default()
}

#[test]
fn the_two_versions_check_together() {
    // version 2019.1 follows 2018.1, so both load side by side
    let b = fupin::Engine::builder().embedded().path(root().join(V1)).and_then(|b| b.path(root().join(V2)));
    let b = b.unwrap_or_else(|e| panic!("{e}"));
    if let Err(d) = b.build() {
        panic!("{}", d.render());
    }
}

#[test]
fn files_list_changed_parameters_and_rules() {
    let (code, out, err) = fupin(&["diff", V1, V2]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, expected());
    for want in [
        "policy cn.hebei.shijiazhuang.pingshan: version 2018.1 -> 2019.1\n",
        "    in_force: 2018-01-01 .. 2018-12-31 -> 2019-01-01 .. 2020-12-31\n",
        // a series entry added, a cap added
        "    ~ param pingshan_top_up\n        + from 2019-01-01: 240 cite \"平山 notice 2019\"\n        + cap: 300\n",
        // a value replaced by `required`, and a changed citation
        "    ~ param pingshan_old_age\n        cite: \"平山 §2\" -> \"平山 §2 (修订)\"\n        - always: 70\n        + required: true\n",
        "    + param pingshan_disabled_top_up\n",
        // a changed condition, printed from the AST
        "        when: eligible(dibao) and age(m.birth_date) >= pingshan_old_age -> eligible(dibao) and age(m.birth_date) > pingshan_old_age\n",
        "    + rule PS-2\n",
        "1 policy compared, 1 changed\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // unchanged things are not listed: the 2018 entry, the programme, the outcomes of PS-1
    assert!(!out.contains("from 2018-01-01") && !out.contains("program") && !out.contains("amount pingshan.top_up"), "{out}");
}

#[test]
fn directories_and_versions_in_one_set_give_the_same_answer() {
    let (code, out, _) = fupin(&["diff", "tests/cases/diff/v1", "tests/cases/diff/v2"]);
    assert_eq!((code, out), (1, expected()));
    // --policy: the versions sorted by date in force, whatever the order given
    let (code, out, _) = fupin(&["diff", "--policy", "cn.hebei.shijiazhuang.pingshan", V2, V1]);
    assert_eq!((code, out), (1, expected()));
}

#[test]
fn same_meaning_is_no_change_and_exit_zero() {
    let text = std::fs::read_to_string(root().join(V1)).unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("fupin-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let copy = dir.join("reformatted.policy");
    std::fs::write(&copy, format!("// reformatted\n{}", text.replace("  ", "\t\t"))).unwrap_or_else(|e| panic!("{e}"));
    let (code, out, _) = fupin(&["diff", V1, &copy.to_string_lossy()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "policy cn.hebei.shijiazhuang.pingshan: version 2018.1 -> 2018.1\n  no changes\n1 policy compared, 0 changed\n");
}

#[test]
fn json_output() {
    let (code, out, _) = fupin(&["diff", "--json", V1, V2]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let d = &v[0];
    assert_eq!(d["old_version"], "2018.1");
    assert_eq!(d["new_version"], "2019.1");
    let top_up = d["params"].as_array().and_then(|a| a.iter().find(|p| p["name"] == "pingshan_top_up")).cloned().unwrap_or_default();
    assert_eq!(top_up["kind"], "changed");
    assert_eq!(top_up["fields"][0]["field"], "from 2019-01-01");
    assert_eq!(top_up["fields"][0]["old"], serde_json::Value::Null);
    let rules: Vec<String> =
        d["rules"].as_array().map(|a| a.iter().map(|r| format!("{} {}", r["kind"], r["name"])).collect()).unwrap_or_default();
    assert_eq!(rules, ["\"changed\" \"PS-1\"", "\"added\" \"PS-2\""]);
}

#[test]
fn usage_errors_exit_two() {
    let (code, _, err) = fupin(&["diff", V1]);
    assert_eq!(code, 2);
    assert!(err.contains("takes OLD and NEW"), "{err}");
    let (code, _, err) = fupin(&["diff", "--policy", "no.such.policy"]);
    assert_eq!(code, 2);
    assert!(err.contains("need two versions of the policy, found 0"), "{err}");
    let (code, _, err) = fupin(&["diff", "tests/cases/diff", "tests/cases/diff/v2"]);
    assert_eq!(code, 2);
    assert!(err.contains("holds two versions of `cn.hebei.shijiazhuang.pingshan`"), "{err}");
}

#[test]
fn the_hypothetical_shijiazhuang_amendment_shows_the_raised_standard() {
    let (code, out, _) = fupin(&["diff", "policies/hebei/shijiazhuang.policy", "tests/cases/versions/shijiazhuang-2016.5.policy"]);
    assert_eq!(code, 1);
    assert!(out.contains("    ~ override param dibao_standard\n"), "{out}");
    assert!(out.contains("        from 2018-01-01: 4400 cite "), "{out}");
    assert!(out.contains(" -> 4600 cite \"hypothetical amendment\"\n"), "{out}");
}
