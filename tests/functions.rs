//! Declared functions across policies: visibility through `extends`, a
//! redefinition in a descendant, versions of one policy that disagree, and
//! `fupin diff` of a changed function.

use fupin::Engine;

const BASE: &str = r#"
policy test.base {
  title    "a base declaring a function"
  region   990800
  in_force 2018-01-01 ..
  version  "1"
  extends  cn
}

fn doubled(x: int): int = x * 2
"#;

fn build(files: &[(&str, &str)]) -> Result<Engine, String> {
    let mut b = Engine::builder().embedded();
    for (name, text) in files {
        b = b.source(*name, text.to_string());
    }
    b.build().map_err(|d| d.render())
}

fn child(body: &str) -> String {
    format!(
        "policy test.base.child {{\n  title \"a child\"\n  region 990801\n  in_force 2018-01-01 ..\n  version \"1\"\n  extends test.base\n}}\n\n{body}\n"
    )
}

#[test]
fn a_function_is_visible_in_every_policy_that_extends_its_own() {
    let c = child("let four = doubled(2)\n\ntest \"the child calls the base's function\" {\n  household { \"id\": \"h\", \"region\": \"990801\", \"income\": \"0\", \"members\": [{\"id\": \"a\", \"birth_date\": \"1970-01-01\", \"sex\": \"male\"}] }\n  as_of 2018-06-01\n  expect let four == 4\n}\n");
    let engine = build(&[("base.policy", BASE), ("child.policy", &c)]).unwrap_or_else(|e| panic!("{e}"));
    let results: Vec<_> = fupin::testing::run_all(&engine).into_iter().filter(|r| r.location.starts_with("child.policy")).collect();
    assert_eq!(results.len(), 1);
    assert!(results[0].passed(), "{:?}", results[0].failures);
}

#[test]
fn a_policy_that_does_not_extend_the_declaring_one_cannot_call_it() {
    let other = "policy test.other {\n  title \"unrelated\"\n  region 990900\n  in_force 2018-01-01 ..\n  version \"1\"\n  extends cn\n}\n\nlet four = doubled(2)\n";
    let e = build(&[("base.policy", BASE), ("other.policy", other)]).err().unwrap_or_default();
    assert!(e.contains("error: unknown function `doubled`"), "{e}");
    assert!(e.contains("other.policy:9:12"), "{e}");
}

#[test]
fn a_descendant_redefining_a_function_is_an_error_naming_both() {
    let c = child("fn doubled(x: int): int = x + x");
    let e = build(&[("base.policy", BASE), ("child.policy", &c)]).err().unwrap_or_default();
    assert!(e.contains("error: function `doubled` is already defined by `test.base`, which this policy extends"), "{e}");
    assert!(e.contains("child.policy:9:4"), "{e}");
    assert!(e.contains("base.policy:10:4"), "{e}");
}

#[test]
fn versions_of_one_policy_must_define_a_function_the_same() {
    let v2 = |body: &str| {
        BASE.replace("version  \"1\"", "version  \"2\"")
            .replace("in_force 2018-01-01 ..", "in_force 2019-01-01 ..")
            .replace("fn doubled(x: int): int = x * 2", body)
    };
    let v1 = BASE.replace("in_force 2018-01-01 ..", "in_force 2018-01-01 .. 2018-12-31");
    // the same definition, written differently in white space: one function
    let same = v2("fn doubled(x: int): int =\n  x * 2");
    let engine = build(&[("v1.policy", &v1), ("v2.policy", &same)]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(engine.program().module.functions.iter().filter(|f| f.name == "doubled").count(), 1);
    // a different body: an error at the second, naming the first
    let differs = v2("fn doubled(x: int): int = x + x");
    let e = build(&[("v1.policy", &v1), ("v2.policy", &differs)]).err().unwrap_or_default();
    assert!(e.contains("error: versions of `test.base` define function `doubled` differently"), "{e}");
    assert!(e.contains("v2.policy:10:4") && e.contains("v1.policy:10:4"), "{e}");
}

#[test]
fn diff_lists_a_changed_function_with_its_body() {
    let old = fupin::syntax::parse(BASE).unwrap_or_else(|e| panic!("{e:?}"));
    let new = fupin::syntax::parse(&BASE.replace("x * 2", "x + x")).unwrap_or_else(|e| panic!("{e:?}"));
    let d = fupin::diff::diff(Some(&old), Some(&new));
    let f = d.other.iter().find(|c| c.what == "fn").unwrap_or_else(|| panic!("{d:?}"));
    assert_eq!(f.name, "doubled");
    assert_eq!(f.kind, fupin::diff::ChangeKind::Changed);
    let body = f.fields.iter().find(|c| c.field == "body").expect("the body changed");
    assert_eq!((body.old.as_deref(), body.new.as_deref()), (Some("x * 2"), Some("x + x")));
    // unchanged: nothing to report
    assert!(fupin::diff::diff(Some(&old), Some(&old)).is_empty());
}
