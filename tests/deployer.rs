//! Deployer figures: parameters set without an overlay file
//! (`EngineBuilder::set_param`, `fupin eval --set NAME=VALUE`), typed
//! against the parameter; floors and caps that change a deployer's (or any)
//! value are reported — at build time where the value and the bound are
//! constants, in every assessment that reads the value otherwise; and
//! `fupin params` tells a required figure nobody supplied from one not in
//! force on the date.

use chrono::NaiveDate;
use fupin::{Engine, EngineBuilder};
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn household(name: &str) -> String {
    std::fs::read_to_string(root().join("examples/households").join(name)).expect("household")
}

fn overlay() -> String {
    std::fs::read_to_string(root().join("examples/overlays/pingshan.policy")).expect("overlay")
}

/// The overlay's `override param NAME { always: VALUE (cite "…")? }` lines as settings.
fn overlay_settings() -> Vec<(String, String)> {
    overlay()
        .lines()
        .filter_map(|l| l.strip_prefix("override param "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(" { always: ")?;
            let value = rest.trim_end_matches(" }");
            let value = value.split_once(" cite \"").map_or(value, |(v, _)| v);
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

fn build_err(b: EngineBuilder) -> String {
    match b.build() {
        Ok(_) => panic!("the build should fail"),
        Err(d) => d.render(),
    }
}

fn fupin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fupin")).args(args).current_dir(root()).output().expect("run fupin");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn settings_stand_for_the_overlay_file() {
    let settings = overlay_settings();
    assert_eq!(settings.len(), 11, "{settings:?}");
    let with_file = Engine::builder().embedded().source("pingshan.policy", overlay()).build().expect("overlay engine");
    let mut b = Engine::builder().embedded();
    for (n, v) in &settings {
        b = b.set_param(n, v);
    }
    let with_set = b.build().expect("settings engine");
    let without = Engine::embedded().expect("embedded");
    let text = household("pingshan-medical.json");
    let as_of = date("2018-06-01");
    let a = with_file.assess(&with_file.parse_household(&text, Some(as_of)).expect("household"), as_of).expect("assess");
    let b = with_set.assess(&with_set.parse_household(&text, Some(as_of)).expect("household"), as_of).expect("assess");
    let c = without.assess(&without.parse_household(&text, Some(as_of)).expect("household"), as_of).expect("assess");
    assert_eq!(a.programs, b.programs);
    assert_eq!(a.claims, b.claims);
    // without them the required figures are missing: the settings did something
    assert!(!c.errors().is_empty() && a.errors().is_empty() && b.errors().is_empty(), "{:?} {:?}", c.errors(), b.errors());
    assert!(with_set.warnings().items.is_empty(), "{}", with_set.warnings().render());
}

#[test]
fn a_setting_is_typed_against_its_parameter() {
    let cases = [
        ("basic_rate", "75", "cannot set parameter `basic_rate` (rate) to `75`: a rate is written with `%`: `75%`"),
        ("basic_rate", "0.75", "the fraction 0.75 is `75%`"),
        ("basic_deductible", "5%", "cannot set parameter `basic_deductible` (yuan) to `5%`: a percentage is a rate"),
        ("basic_deductible", "5%", "a yuan value is written as a number of yuan: `5000`"),
        ("pension_min_age", "16.5", "cannot set parameter `pension_min_age` (int) to `16.5`: `16.5` is not a whole number"),
        ("pension_min_age", "sixteen", "(int) to `sixteen`: expected a number"),
        ("pension_min_age", "16 +", "to `16 +`: it is not a value"),
        ("basic_deductable", "500", "cannot set parameter `basic_deductable`: no loaded policy declares it"),
        ("basic_deductable", "500", "did you mean `basic_deductible`?"),
    ];
    for (name, value, want) in cases {
        let msg = build_err(Engine::builder().embedded().set_param(name, value));
        assert!(msg.contains(want), "{name}={value}: {msg}");
    }
    let msg = build_err(Engine::builder().embedded().set_param("basic_rate", "75%").set_param("basic_rate", "80%"));
    assert!(msg.contains("parameter `basic_rate` is set twice"), "{msg}");
    // the language's own literals
    for (n, v) in [("basic_deductible", "1_500"), ("basic_rate", "75%"), ("pension_min_age", "18"), ("labour_min_age", "17")] {
        Engine::builder().embedded().set_param(n, v).build().unwrap_or_else(|d| panic!("{n}={v}: {}", d.render()));
    }
}

#[test]
fn a_setting_is_used_above_every_definition_and_shown_in_the_trace() {
    let e = Engine::builder().embedded().set_param("pension_min_age", "18").build().expect("engine");
    let list = e.params_in_force("130131", date("2018-06-01"));
    let p = list.iter().find(|p| p.name == "pension_min_age").expect("listed");
    assert_eq!((p.value.as_str(), p.policy.as_str()), ("18", "set"));
    assert_eq!(p.citation.as_deref(), Some("set by the deployer: pension_min_age=18"));
    // a name declared by two unrelated policies is set in both
    let e = Engine::builder().embedded().set_param("labour_min_age", "17").build().expect("engine");
    for region in ["130131", "211381"] {
        let list = e.params_in_force(region, date("2019-06-01"));
        let p = list.iter().find(|p| p.name == "labour_min_age").expect("listed");
        assert_eq!(p.value, "17", "{region}");
    }
}

#[test]
fn a_setting_beyond_a_constant_cap_is_a_build_warning_and_an_assessment_warning() {
    let e = Engine::builder().embedded().set_param("post_subsidy_rate", "60%").build().expect("engine");
    let w = e.warnings().render();
    assert!(
        w.contains("warning: parameter `post_subsidy_rate`: 60% (set: post_subsidy_rate=60%) is above its cap 50% (cn.liaoning) where cn.liaoning is in force; 50% is used"),
        "{w}"
    );
    let list = e.params_in_force("211381", date("2019-06-01"));
    let p = list.iter().find(|p| p.name == "post_subsidy_rate").expect("listed");
    assert_eq!(p.value, "50%");
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = &p.warnings[0];
    assert_eq!((w.value.as_str(), w.source.as_str(), w.bound.as_str(), w.limit.as_str()), ("60%", "set", "cap", "50%"));
    assert_eq!(w.policy, "cn.liaoning");
    assert!(w.citation.as_deref().is_some_and(|c| c.contains("辽委办发〔2018〕61号")), "{w:?}");
    // within the bounds: nothing to say
    let e = Engine::builder().embedded().set_param("post_subsidy_rate", "40%").build().expect("engine");
    assert!(e.warnings().items.is_empty(), "{}", e.warnings().render());
}

#[test]
fn a_literal_beyond_a_constant_floor_is_a_check_warning() {
    let dir = std::env::temp_dir().join(format!("fupin-deployer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("overlay.policy");
    std::fs::write(
        &file,
        "policy deploy.kazuo {\n  title \"t\"\n  region 211324\n  in_force 2018-01-01 ..\n  version \"1\"\n  extends cn.liaoning\n  overlay\n}\n\
         override param post_subsidy_rate { always: 20% }\n",
    )
    .expect("write");
    let path = file.to_string_lossy().into_owned();
    let (code, _, err) = fupin(&["check", &path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: parameter `post_subsidy_rate`: 20% (deploy.kazuo) is below its floor 30% (cn.liaoning); 30% is used"),
        "{err}"
    );
    assert!(err.contains("overlay.policy:9:44"), "{err}");
    assert!(err.contains("the floor is stated by 辽委办发〔2018〕61号"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_floor_named_by_a_constant_parameter_is_found_at_build_time() {
    // assistance_rate's floor is assistance_rate_min, `always: 70%` and defined once
    let ov = overlay() + "override param assistance_rate { always: 60% }\n";
    let e = Engine::builder().embedded().source("pingshan.policy", ov).build().expect("engine");
    let w = e.warnings().render();
    assert!(
        w.contains(
            "warning: parameter `assistance_rate`: 60% (deploy.pingshan) is below its floor 70% (cn.hebei.shijiazhuang); 70% is used"
        ),
        "{w}"
    );
    assert!(w.contains("floor assistance_rate_min"), "{w}");
    // and the assessments that read it say so too
    let as_of = date("2018-06-01");
    let h = e.parse_household(&household("pingshan-medical.json"), Some(as_of)).expect("household");
    let a = e.assess(&h, as_of).expect("assess");
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert_eq!(
        a.warnings[0].to_string(),
        "parameter `assistance_rate` on 2018-06-01: 60% (from deploy.pingshan) is below its floor 70% \
         (cn.hebei.shijiazhuang, 石发〔2016〕4号 二(七): 在年度救助限额内按不低于70%的比例给予救助); 70% is used"
    );
}

#[test]
fn a_clamp_that_depends_on_the_date_is_in_every_assessment_that_reads_it() {
    // dibao_standard's floor is the poverty line, a series: known only on a date
    let ov = overlay() + "override param dibao_standard { always: 2000 }\n";
    let e = Engine::builder().embedded().source("pingshan.policy", ov).build().expect("engine");
    assert!(e.warnings().items.is_empty(), "{}", e.warnings().render());
    let as_of = date("2018-06-01");
    let h = e.parse_household(&household("pingshan-dibao.json"), Some(as_of)).expect("household");
    // a reused scratch with the trace off memoises parameters: the second
    // assessment must say so as well as the first
    let mut s = e.scratch();
    let first = e.assess_with(&h, as_of, &mut s).expect("assess");
    let second = e.assess_with(&h, as_of, &mut s).expect("assess");
    assert_eq!(first, second);
    assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings);
    let w = &first.warnings[0];
    assert!(
        w.to_string().starts_with(
            "parameter `dibao_standard` on 2018-06-01: 2000.00 yuan/year (from deploy.pingshan) is below its floor 2995.00 yuan/year \
             (cn.hebei.shijiazhuang, 石发〔2016〕4号 二(六)"
        ),
        "{w}"
    );
    assert!(w.to_string().ends_with("; 2995.00 yuan/year is used"), "{w}");
    let json = serde_json::to_value(&first).expect("json");
    assert_eq!(json["warnings"][0]["bound"], "floor");
    assert_eq!(json["warnings"][0]["limit"], "2995.00 yuan/year");
    assert_eq!(json["warnings"][0]["source"], "deploy.pingshan");
    // the floor is used: 2995 × members − income
    let plain = Engine::builder().embedded().source("pingshan.policy", overlay()).build().expect("engine");
    let mut s2 = plain.scratch();
    let a = plain.assess_with(&h, as_of, &mut s2).expect("assess");
    assert!(serde_json::to_value(&a).expect("json").get("warnings").is_none(), "no clamp, no key");
    assert_ne!(a.programs["dibao"].amount, first.programs["dibao"].amount);
    // after an assessment without the clamp, a reused scratch reports it again
    let third = e.assess_with(&h, as_of, &mut s).expect("assess");
    assert_eq!(third.warnings, first.warnings);
    assert!(first.explain().contains("warning: parameter `dibao_standard` on 2018-06-01: 2000.00 yuan/year"), "{}", first.explain());
}

#[test]
fn the_command_line_sets_and_reports() {
    let h = "examples/households/pingshan-medical.json";
    let mut args = vec!["eval", "--as-of", "2018-06-01", h];
    let settings = overlay_settings();
    let flags: Vec<String> = settings.iter().map(|(n, v)| format!("{n}={v}")).collect();
    for f in &flags {
        args.push("--set");
        args.push(f);
    }
    let (code, with_set, err) = fupin(&args);
    assert_eq!(code, 0, "{err}");
    let (code, with_file, err2) = fupin(&["eval", "--as-of", "2018-06-01", "--overlay", "examples/overlays/pingshan.policy", h]);
    assert_eq!(code, 0, "{err2}");
    let strip = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s).expect("json");
        v.as_object_mut().map(|o| o.remove("policies"));
        v
    };
    assert_eq!(strip(&with_set), strip(&with_file));
    // a floor that changes a value: on standard error and in the JSON
    let (code, out, err) =
        fupin(&["eval", "--as-of", "2018-06-01", "--overlay", "examples/overlays/pingshan.policy", "--set", "assistance_rate=60%", h]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: parameter `assistance_rate` on 2018-06-01: 60% (from set) is below its floor 70%"), "{err}");
    assert!(out.contains("\"warnings\""), "{out}");
    // errors name the parameter, the value and the type
    let (code, _, err) = fupin(&["eval", "--as-of", "2018-06-01", "--set", "basic_rate=75", h]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot set parameter `basic_rate` (rate) to `75`"), "{err}");
    let (code, _, err) = fupin(&["params", "--region", "130131", "--as-of", "2018-06-01", "--set", "basic_rate"]);
    assert_eq!(code, 1);
    assert!(err.contains("`--set basic_rate`: write `--set NAME=VALUE`"), "{err}");
    // params: the value used and the warning
    let (code, out, err) = fupin(&["params", "--region", "211381", "--as-of", "2019-06-01", "--set", "post_subsidy_rate=60%"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("post_subsidy_rate = 50%\n    from set: set by the deployer: post_subsidy_rate=60%\n    warning: parameter `post_subsidy_rate` on 2019-06-01: 60% (from set) is above its cap 50%"), "{out}");
    assert!(err.contains("is above its cap 50% (cn.liaoning) where cn.liaoning is in force"), "{err}");
}

#[test]
fn params_tells_required_from_not_in_force() {
    let e = Engine::embedded().expect("embedded");
    let list = e.params_in_force("211381", date("2018-06-01"));
    let find = |n: &str| list.iter().find(|p| p.name == n).unwrap_or_else(|| panic!("{n} listed"));
    let req = find("social_insurance_subsidy");
    assert_eq!(req.status, fupin::engine::ParamStatus::Required);
    assert_eq!(req.value, "(required: not supplied; give it with `--set social_insurance_subsidy=VALUE` or in an overlay)");
    let later = find("lpr_1y");
    assert_eq!(later.status, fupin::engine::ParamStatus::NotInForce);
    assert_eq!(later.value, "(not in force on 2018-06-01: its first value is from 2019-08-20)");
    assert_eq!(find("pboc_benchmark_1y").status, fupin::engine::ParamStatus::Value);
    let (code, out, _) = fupin(&["params", "--json", "--region", "211381", "--as-of", "2018-06-01"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let status = |n: &str| v.as_array().and_then(|a| a.iter().find(|p| p["name"] == n)).map(|p| p["status"].clone());
    assert_eq!(status("social_insurance_subsidy"), Some("required".into()));
    assert_eq!(status("lpr_1y"), Some("not_in_force".into()));
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("fupin-deployer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn check_reads_a_date_dependent_bound_on_every_day_it_changes() {
    // dibao_standard's floor is the poverty line, a series: a deployer's 2,000
    // is below it on every date, by a different amount each year
    let dir = temp_dir("dated");
    std::fs::write(
        dir.join("low.policy"),
        "policy deploy.low {\n  title \"a deployer's 低保 standard\"\n  region 130131\n  in_force 2016-01-01 ..\n  version \"1\"\n  extends cn.hebei.shijiazhuang\n  overlay\n}\noverride param dibao_standard { always: 2000 }\n",
    )
    .expect("write");
    let (code, _, err) = fupin(&["check", &dir.to_string_lossy()]);
    assert_eq!(code, 0, "{err}");
    for (date, floor) in [("2016-01-01", "2952.00"), ("2018-01-01", "2995.00"), ("2019-01-01", "3218.00")] {
        let line = format!(
            "warning: parameter `dibao_standard` on {date}: 2000.00 yuan/year (from deploy.low) is below its floor {floor} yuan/year"
        );
        assert!(err.contains(&line), "{line}\n{err}");
    }
    assert!(err.contains("(region 130131)"), "{err}");
    assert!(err.contains(", no errors, 4 warnings"), "{err}");
    // the shipped library: no warning, and `check` does not claim any
    let (code, _, err) = fupin(&["check", "policies/"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fupin_test_takes_deployer_settings_and_a_tests_own_set_wins() {
    let dir = temp_dir("test-set");
    let household = root().join("examples/households/pingshan-dibao.json");
    let text = format!(
        "test \"the premium subsidy at the deployer's figure\" {{\n  household {:?}\n  as_of 2018-06-01\n  expect medical.premium_subsidy.amount == 660\n}}\n\n\
         test \"a test's own set wins over the deployer's\" {{\n  household {:?}\n  as_of 2018-06-01\n  set premium_subsidy = 100\n  expect medical.premium_subsidy.amount == 300\n}}\n",
        household.to_string_lossy(),
        household.to_string_lossy()
    );
    let file = dir.join("settings.fupintest");
    std::fs::write(&file, text).expect("write");
    let f = file.to_string_lossy().into_owned();
    let (code, out, err) = fupin(&["test", &f, "--set", "premium_subsidy=220", "--set", "deep_mountain_living_allowance=1000"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
    // without the setting the figure is unknown: the first test fails
    let (code, out, _) = fupin(&["test", &f]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
    // a setting that does not type is an error at build, naming the parameter
    let (code, _, err) = fupin(&["test", &f, "--set", "premium_subsidy=75%"]);
    assert_ne!(code, 0);
    assert!(err.contains("premium_subsidy"), "{err}");
    let (code, _, err) = fupin(&["test", &f, "--set", "premium_subsidy"]);
    assert_eq!(code, 2);
    assert!(err.contains("write `--set NAME=VALUE`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
