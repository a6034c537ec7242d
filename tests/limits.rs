//! Limits: every one gives a clear error (never a stack overflow, a hang or
//! a panic), and evaluation always terminates (cycles are rejected by the
//! checker with the cycle named; a step budget bounds every evaluation).

use fupin::syntax::{self, limits, SyntaxErrorKind};
use fupin::{Engine, EvalError};
use std::fmt::Write as _;

const HEADER: &str = r#"policy test.limits {
  title "limits"
  region 130131
  in_force 2016-01-01 ..
  version "1"
  extends cn.hebei.shijiazhuang
}
"#;

fn with_header(body: &str) -> String {
    format!("{HEADER}{body}")
}

/// Diagnostics of a build of `text` with the shipped library, rendered.
fn build_errors(text: &str) -> String {
    match Engine::builder().embedded().source("case.policy", text.to_string()).build() {
        Ok(_) => panic!("expected the build to fail"),
        Err(d) => d.render(),
    }
}

fn syntax_kinds(text: &str) -> Vec<SyntaxErrorKind> {
    match syntax::parse(text) {
        Ok(_) => panic!("expected a syntax error"),
        Err(errs) => errs.into_iter().map(|e| e.kind).collect(),
    }
}

// ---------------------------------------------------------------- file size

#[test]
fn a_file_over_four_mib_is_rejected_with_its_size() {
    let mut text = with_header("");
    while text.len() <= limits::MAX_FILE_SIZE {
        text.push_str("// padding padding padding padding padding padding padding padding\n");
    }
    let kinds = syntax_kinds(&text);
    assert_eq!(kinds, vec![SyntaxErrorKind::FileTooLarge { size: text.len(), limit: limits::MAX_FILE_SIZE }]);
    let rendered = build_errors(&text);
    assert!(
        rendered.contains(&format!("the file is {} bytes long; the limit is {} bytes", text.len(), limits::MAX_FILE_SIZE)),
        "{rendered}"
    );
    assert!(rendered.contains("split the policy into several files"), "{rendered}");
}

#[test]
fn a_file_of_exactly_four_mib_is_accepted() {
    let mut text = with_header("let x = 1\n");
    let pad = limits::MAX_FILE_SIZE - text.len();
    text.push_str(&" ".repeat(pad));
    assert_eq!(text.len(), limits::MAX_FILE_SIZE);
    assert!(syntax::parse(&text).is_ok());
}

// ---------------------------------------------------------------- nesting

fn nested_parens(n: usize) -> String {
    with_header(&format!("let x = {}1{}\n", "(".repeat(n), ")".repeat(n)))
}

#[test]
fn a_hundred_thousand_nested_parentheses_are_an_error_not_a_stack_overflow() {
    let text = nested_parens(100_000);
    let kinds = syntax_kinds(&text);
    assert_eq!(kinds.len(), 1, "{kinds:?}");
    assert!(matches!(kinds[0], SyntaxErrorKind::TooDeep { limit: limits::MAX_NESTING, .. }), "{kinds:?}");
    // and through the engine builder
    let rendered = build_errors(&text);
    assert!(rendered.contains("nesting is too deep: 65 levels, the limit is 64"), "{rendered}");
    assert!(rendered.contains("case.policy:8:"), "points into the file: {rendered}");
}

#[test]
fn nested_parentheses_through_fupin_check() {
    let dir = std::env::temp_dir().join(format!("fupin-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("deep.policy");
    std::fs::write(&file, nested_parens(100_000)).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fupin")).arg("check").arg(&file).output().expect("run fupin check");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "fupin check must fail cleanly (not crash)\nstdout: {stdout}\nstderr: {stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("nesting is too deep"), "{all}");
    assert!(all.contains("deep.policy:8:"), "{all}");
}

#[test]
fn other_deep_constructs_are_errors_too() {
    for (what, expr) in [
        ("brackets", format!("x in {}1{}", "[".repeat(100_000), "]".repeat(100_000))),
        ("negations", format!("{}1", "-".repeat(100_000))),
        ("nots", format!("{}true", "not ".repeat(100_000))),
        ("ifs", format!("{}1{}", "if true then 1 else (".repeat(50_000), ")".repeat(50_000))),
        ("calls", format!("{}1{}", "max(1, ".repeat(50_000), ")".repeat(50_000))),
        // the scrutinee of a `case` nests without a bracket
        ("cases", format!("{}1", "case ".repeat(100_000))),
        ("cases with arms", format!("{}1{}", "case ".repeat(50_000), " { else => 1 }".repeat(50_000))),
    ] {
        let text = with_header(&format!("let x = {expr}\n"));
        let kinds = syntax_kinds(&text);
        assert!(kinds.iter().any(|k| matches!(k, SyntaxErrorKind::TooDeep { .. })), "{what}: {kinds:?}");
    }
}

/// The deepest nesting the pre-scan accepts, of every kind, parses on a
/// small stack: the pre-scan is what bounds the parser's recursion (pest
/// probes no stack, see Cargo.toml), so its limit must hold wherever the
/// engine runs, with room to spare.
#[test]
fn the_deepest_accepted_nesting_parses_on_a_quarter_mib_stack() {
    let n = limits::MAX_NESTING;
    let json = format!("{}1{}", "{\"a\": [".repeat(n / 2 - 1), "]}".repeat(n / 2 - 1));
    let texts = [
        ("parentheses", format!("let x = {}1{}\n", "(".repeat(n), ")".repeat(n))),
        ("negations", format!("let x = {}1\n", "-".repeat(n))),
        ("nots", format!("let x = {}true\n", "not ".repeat(n))),
        ("ifs", format!("let x = {}1{}\n", "if true then 1 else (".repeat(n / 2), ")".repeat(n / 2))),
        ("calls", format!("let x = {}1{}\n", "max(1, ".repeat(n), ")".repeat(n))),
        ("cases", format!("let x = {}1{}\n", "case ".repeat(n), " { else => 1 }".repeat(n))),
        ("lists", format!("let x = {}1{}\n", "1 in [".repeat(n), "]".repeat(n))),
        ("bands", format!("let x = {}1{}\n", "banded(1, from 0 at ".repeat(n), ")".repeat(n))),
        ("json", format!("test \"deep\" {{\n  household {json}\n}}\n")),
    ];
    for (what, body) in texts {
        let text = with_header(&body);
        let h = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || syntax::parse(&text).map(|_| ()).map_err(|e| format!("{e:?}")))
            .unwrap_or_else(|e| panic!("{e}"));
        let parsed = h.join().unwrap_or_else(|_| panic!("{what}: the thread panicked"));
        assert_eq!(parsed, Ok(()), "{what}");
    }
}

/// Chains in which every link nests one level deeper without a bracket: a
/// prefix operator whose operand runs on through the next operator (`not`
/// binds looser than a comparison, `-` looser than `at`), and an `if` inside
/// the condition of the one before it. The pre-scan counts each link, so a
/// long chain is the nesting error and never a stack overflow of the parser,
/// on the 2 MiB stack of a batch worker, through the fast path and through
/// the pest grammar alone.
#[test]
fn chains_that_nest_without_brackets_are_errors_not_a_stack_overflow() {
    let n = 10_000;
    for (what, expr) in [
        ("nots through comparisons", format!("{}a", "not a == ".repeat(n))),
        ("nots through sums", format!("{}a", "not a + ".repeat(n))),
        ("negations through at", format!("{}1", "-1 at ".repeat(n))),
        ("ifs in <= conditions", format!("{}1", "if 1 <= ".repeat(n))),
        ("ifs in >= conditions", format!("{}1", "if 1 >= ".repeat(n))),
        ("ifs in != conditions", format!("{}1", "if 1 != ".repeat(n))),
        ("ifs in == conditions", format!("{}1", "if 1 == ".repeat(n))),
    ] {
        let text = with_header(&format!("let x = {expr}\n"));
        let (fast, definition) = on_small_stack(move || {
            let kinds = |r: Result<syntax::ast::File, Vec<syntax::SyntaxError>>| match r {
                Ok(_) => Vec::new(),
                Err(errs) => errs.into_iter().map(|e| e.kind).collect::<Vec<_>>(),
            };
            (kinds(syntax::parse(&text)), kinds(syntax::parse_definition(&text)))
        });
        for kinds in [fast, definition] {
            assert!(matches!(kinds[..], [SyntaxErrorKind::TooDeep { limit: limits::MAX_NESTING, .. }]), "{what}: {kinds:?}");
        }
    }
}

/// The deepest nesting the pre-scan accepts parses with the pest grammar
/// alone as well (it parses every item the fast path does not take, and
/// every file with an error) on the 2 MiB stack of a batch worker.
#[test]
fn the_deepest_accepted_nesting_parses_with_the_grammar_alone_on_a_two_mib_stack() {
    let n = limits::MAX_NESTING;
    let texts = [
        ("parentheses", format!("let x = {}1{}\n", "(".repeat(n), ")".repeat(n))),
        ("operators then parentheses", format!("let x = {}1{}\n", "a or b and c == (".repeat(n), ")".repeat(n))),
        ("nots", format!("let x = {}true\n", "not ".repeat(n))),
        ("nots through comparisons", format!("let x = {}a\n", "not a == ".repeat(n))),
        ("ifs", format!("let x = {}1{}\n", "if true then 1 else (".repeat(n / 2), ")".repeat(n / 2))),
        ("calls", format!("let x = {}1{}\n", "max(1, ".repeat(n), ")".repeat(n))),
        ("cases", format!("let x = {}1{}\n", "case ".repeat(n), " { else => 1 }".repeat(n))),
        ("lists", format!("let x = {}1{}\n", "1 in [".repeat(n), "]".repeat(n))),
    ];
    for (what, body) in texts {
        let text = with_header(&body);
        let parsed = on_small_stack(move || syntax::parse_definition(&text).map(|_| ()).map_err(|e| format!("{e:?}")));
        assert_eq!(parsed, Ok(()), "{what}");
    }
}

#[test]
fn a_long_operator_chain_is_limited_by_tree_depth() {
    let chain = vec!["1"; limits::MAX_EXPR_DEPTH + 10].join(" + ");
    let kinds = syntax_kinds(&with_header(&format!("let x = {chain}\n")));
    assert!(matches!(kinds[..], [SyntaxErrorKind::TooDeep { limit: limits::MAX_EXPR_DEPTH, .. }]), "{kinds:?}");
    // just under the limit is fine
    let chain = vec!["1"; limits::MAX_EXPR_DEPTH - 1].join(" + ");
    assert!(syntax::parse(&with_header(&format!("let x = {chain}\n"))).is_ok());
}

// ---------------------------------------------------------------- identifiers and items

#[test]
fn an_identifier_over_128_characters_is_rejected() {
    let long = "收".repeat(limits::MAX_IDENT_LEN + 1);
    let kinds = syntax_kinds(&with_header(&format!("let {long} = 1\n")));
    assert_eq!(kinds, vec![SyntaxErrorKind::IdentTooLong { len: limits::MAX_IDENT_LEN + 1, limit: limits::MAX_IDENT_LEN }]);
    let ok = "收".repeat(limits::MAX_IDENT_LEN);
    assert!(syntax::parse(&with_header(&format!("let {ok} = 1\n"))).is_ok());
    let rendered = build_errors(&with_header(&format!("let {long} = 1\n")));
    assert!(rendered.contains("this name is 129 characters long; the limit is 128"), "{rendered}");
}

#[test]
fn more_than_ten_thousand_items_in_a_file_are_rejected() {
    let mut body = String::new();
    for i in 0..=limits::MAX_ITEMS {
        let _ = writeln!(body, "let v{i} = {i}");
    }
    let kinds = syntax_kinds(&with_header(&body));
    assert_eq!(kinds, vec![SyntaxErrorKind::TooManyItems { limit: limits::MAX_ITEMS }]);
}

// ---------------------------------------------------------------- checker limits

#[test]
fn more_than_twenty_thousand_rules_are_rejected() {
    use fupin::check::limits::MAX_RULES;
    // Items per file are limited too, so spread the rules over three files.
    let per_file = MAX_RULES / 3 + 1;
    let mut b = Engine::builder().embedded();
    for f in 0..3 {
        let mut text = format!(
            "policy test.rules{f} {{\n  title \"many rules\"\n  region 13013{f}\n  in_force 2016-01-01 ..\n  version \"1\"\n  extends cn.hebei.shijiazhuang\n}}\n"
        );
        for i in 0..per_file {
            let _ = writeln!(text, "rule R-{i} \"r\" {{ cite \"c\" for household then flag housing.safety_inspection }}");
        }
        b = b.source(format!("rules{f}.policy"), text);
    }
    let err = b.build().expect_err("too many rules");
    let rendered = err.render();
    assert!(rendered.contains(&format!("too many rules: {} (the limit is {MAX_RULES})", 3 * per_file + embedded_rules())), "{rendered}");
}

fn embedded_rules() -> usize {
    Engine::embedded().expect("embedded").program().module.rules.len()
}

#[test]
fn a_series_over_the_limit_is_rejected() {
    use fupin::check::limits::MAX_SERIES;
    let mut body = String::from("param long_series: yuan/year {\n  cite \"c\"\n");
    let start = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).expect("date");
    for i in 0..=MAX_SERIES {
        let d = start + chrono::Days::new(i as u64);
        let _ = writeln!(body, "  from {d}: {i}");
    }
    body.push_str("}\n");
    let rendered = build_errors(&with_header(&body));
    assert!(rendered.contains(&format!("too many series entries: {} (the limit is {MAX_SERIES})", MAX_SERIES + 1)), "{rendered}");
    assert!(rendered.contains("case.policy:8:7"), "points at the parameter: {rendered}");
}

#[test]
fn too_many_locals_in_a_rule_are_rejected() {
    use fupin::check::limits::MAX_LOCALS;
    let mut body = String::from("rule L-1 \"many lets\" {\n  cite \"c\"\n  for household\n");
    for i in 0..=MAX_LOCALS {
        let _ = writeln!(body, "  let v{i} = {i}");
    }
    body.push_str("  then flag housing.safety_inspection\n}\n");
    let rendered = build_errors(&with_header(&body));
    assert!(rendered.contains("too many local values in a rule"), "{rendered}");
}

// ---------------------------------------------------------------- cycles

fn first_error(body: &str) -> String {
    let rendered = build_errors(&with_header(body));
    rendered.lines().next().unwrap_or_default().to_string()
}

#[test]
fn cycles_are_rejected_with_the_cycle_named() {
    assert_eq!(
        first_error(
            "param a: yuan { cite \"c\" from 2016-01-01: b }\nparam b: yuan { cite \"c\" from 2016-01-01: c }\nparam c: yuan { cite \"c\" from 2016-01-01: a }\n"
        ),
        "error: cycle: param a → param b → param c → param a"
    );
    assert_eq!(first_error("let x = y + 1\nlet y = z\nlet z = x * 2\n"), "error: cycle: value x → value y → value z → value x");
    assert_eq!(
        first_error(
            "rule A \"a\" { cite \"c\" for household when eligible(tekun) then eligible dibao }\n\
             rule B \"b\" { cite \"c\" for household when eligible(dibao) then eligible tekun }\n"
        ),
        "error: cycle: eligible(dibao) → rule A → eligible(tekun) → rule B → eligible(dibao)"
    );
    assert_eq!(
        first_error(
            "rule A \"a\" { cite \"c\" for household exception to B then amount dibao = 1 }\n\
             rule B \"b\" { cite \"c\" for household exception to A then amount dibao = 2 }\n"
        ),
        "error: cycle: rule A → rule B → rule A"
    );
    let own = "policy test.own {\n  title \"t\"\n  region 130131\n  in_force 2016-01-01 ..\n  version \"1\"\n  extends test.own\n}\n";
    let rendered = Engine::builder().embedded().source("own.policy", own).build().expect_err("cycle").render();
    assert!(rendered.contains("error: cycle: policy test.own → policy test.own"), "{rendered}");
}

#[test]
fn a_parameter_that_reads_its_own_earlier_value_is_not_a_cycle() {
    let body = "param p: yuan { cite \"c\" from 2016-01-01: 100 from 2017-01-01: previous * 106% }\n\
                rule P \"p\" { cite \"c\" for household then amount temporary_assistance = p }\n";
    let e = Engine::builder().embedded().source("case.policy", with_header(body)).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let h = household(1);
    let a = e.assess(&h, chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date")).expect("assess");
    assert_eq!(a.programs["temporary_assistance"].amount, Some(rust_decimal::Decimal::new(10600, 2)));
}

// ---------------------------------------------------------------- the step budget

fn household(members: usize) -> fupin::Household {
    let ms: Vec<String> =
        (0..members).map(|i| format!(r#"{{ "id": "m{i}", "birth_date": "1970-01-01", "sex": "female", "labour": "full" }}"#)).collect();
    let json = format!(r#"{{ "id": "h", "region": "130131", "income": 1000, "members": [{}] }}"#, ms.join(","));
    fupin::model::parse_household(&json, None).expect("household")
}

/// A valid program whose work grows as members^depth: nested aggregations.
fn nested_sums(depth: usize) -> String {
    let mut e = String::from("1");
    for i in 0..depth {
        e = format!("sum(v{i} in household.members: {e})");
    }
    with_header(&format!(
        "let work: yuan = {e}\nrule W \"work\" {{ cite \"c\" for household when work > 0 then amount temporary_assistance = work }}\n"
    ))
}

#[test]
fn a_pathological_program_hits_the_default_budget() {
    // 8^8 = 16.7 million body evaluations: more than the default budget.
    let e = Engine::builder().embedded().source("case.policy", nested_sums(8)).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let h = household(8);
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let err = e.assess(&h, as_of).expect_err("budget");
    assert_eq!(err, EvalError::Budget { limit: fupin::eval::DEFAULT_BUDGET });
    assert_eq!(err.to_string(), "evaluation exceeded its budget of 10000000 steps");
    // the same program with a smaller household finishes: 3^8 = 6561
    let a = e.assess(&household(3), as_of).expect("small household");
    assert_eq!(a.programs["temporary_assistance"].amount, Some(rust_decimal::Decimal::from(6561)));
}

#[test]
fn the_budget_is_per_evaluation_and_configurable() {
    let e = Engine::builder().embedded().source("case.policy", nested_sums(4)).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let h = household(4); // 4^4 = 256 bodies, a few thousand steps in all
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let mut s = e.scratch();
    s.budget = 100;
    assert_eq!(e.assess_with(&h, as_of, &mut s).expect_err("tight budget"), EvalError::Budget { limit: 100 });
    s.budget = 1_000_000;
    for _ in 0..3 {
        // the fuel is refilled for every evaluation
        let a = e.assess_with(&h, as_of, &mut s).expect("enough budget");
        assert_eq!(a.programs["temporary_assistance"].amount, Some(rust_decimal::Decimal::from(256)));
    }
}

// ---------------------------------------------------------------- long chains

/// 10,000 named values, each reading the next one declared (the checker meets
/// every reference before its value).
fn reversed_let_chain(n: usize) -> String {
    let mut s = String::from("policy t.chain {\n  title \"chain\"\n  region 000000\n  in_force 2016-01-01 ..\n  version \"1\"\n}\n");
    for i in (1..n).rev() {
        let _ = writeln!(s, "let a{i} = a{} + 1", i - 1);
    }
    s.push_str("let a0 = 1\n");
    s
}

/// Runs `f` on a thread with a 2 MiB stack (the batch workers' size).
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let h = std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap_or_else(|e| panic!("{e}"));
    h.join().unwrap_or_else(|_| panic!("the thread panicked"))
}

#[test]
fn a_ten_thousand_long_chain_of_named_values_checks_on_a_two_mib_stack() {
    let text = reversed_let_chain(10_000);
    let built = on_small_stack(move || Engine::builder().source("chain.policy", text).build().map(|_| ()).map_err(|d| d.render()));
    assert_eq!(built, Ok(()));
}

#[test]
fn a_long_chain_of_named_values_through_fupin_check() {
    let path = std::env::temp_dir().join(format!("fupin-chain-{}.policy", std::process::id()));
    std::fs::write(&path, reversed_let_chain(10_000)).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fupin"))
        .args(["check", "--standalone"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("no errors"), "{err}");
}

/// A chain of `n` named values (or parameters) read by one rule.
fn evaluated_chain(n: usize, params: bool) -> String {
    let mut s = String::from("policy t.chain {\n  title \"chain\"\n  region 000000\n  in_force 2016-01-01 ..\n  version \"1\"\n}\n");
    for i in 0..n {
        let v = if i == 0 { "1".to_string() } else { format!("a{} + 1", i - 1) };
        if params {
            let _ = writeln!(s, "param a{i}: decimal {{\n  cite \"t\"\n  always: {v}\n}}");
        } else {
            let _ = writeln!(s, "let a{i} = {v}");
        }
    }
    let _ =
        writeln!(s, "rule C \"c\" {{\n  cite \"t\"\n  for household\n  when a{} == {n}\n  then eligible temporary_assistance\n}}", n - 1);
    s
}

fn assess_chain_on_small_stack(text: String) -> Result<bool, String> {
    on_small_stack(move || {
        let e = Engine::builder().source("chain.policy", text).build().map_err(|d| d.render())?;
        let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/households/pingshan-dibao.json"))
            .map_err(|e| e.to_string())?;
        let h = fupin::model::parse_household(&json, None).map_err(|e| e.to_string())?;
        let on = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).ok_or("date")?;
        let a = e.assess(&h, on).map_err(|e| e.to_string())?;
        Ok(a.programs.get("temporary_assistance").is_some_and(|p| p.eligible))
    })
}

#[test]
fn a_ten_thousand_long_chain_of_named_values_evaluates_on_a_two_mib_stack() {
    assert_eq!(assess_chain_on_small_stack(evaluated_chain(9_990, false)), Ok(true));
}

#[test]
fn a_ten_thousand_long_chain_of_parameters_evaluates_on_a_two_mib_stack() {
    assert_eq!(assess_chain_on_small_stack(evaluated_chain(9_990, true)), Ok(true));
}

// ---------------------------------------------------------------- long cycles

const CHAIN_HEADER: &str = "policy t.cyc {\n  title \"cycle\"\n  region 000000\n  in_force 2016-01-01 ..\n  version \"1\"\n}\n";

/// `n` named values, each reading the next, the last reading the first.
fn let_cycle(n: usize) -> String {
    let mut s = String::from(CHAIN_HEADER);
    for i in 0..n {
        let _ = writeln!(s, "let a{i} = a{} + 1", (i + 1) % n);
    }
    s
}

/// A chain of `n` named values, each reading the next, ending in a cycle of
/// the last two (every value but those two is behind the cycle).
fn chain_into_cycle(n: usize) -> String {
    let mut s = String::from(CHAIN_HEADER);
    for i in 0..n - 1 {
        let _ = writeln!(s, "let a{i} = a{} + 1", i + 1);
    }
    let _ = writeln!(s, "let a{} = a{} * 2", n - 1, n - 2);
    s
}

fn build_on_small_stack(text: String) -> Result<(), String> {
    on_small_stack(move || Engine::builder().source("cycle.policy", text).build().map(|_| ()).map_err(|d| d.render()))
}

fn error_lines(rendered: &str) -> Vec<&str> {
    rendered.lines().filter(|l| l.starts_with("error")).collect()
}

#[test]
fn a_ten_thousand_long_cycle_of_named_values_is_one_error_on_a_two_mib_stack() {
    let rendered = build_on_small_stack(let_cycle(10_000)).expect_err("a cycle");
    assert_eq!(
        error_lines(&rendered),
        vec!["error: cycle: value a0 → value a1 → value a2 → value a3 → value a4 → … → value a9999 → value a0 (10000 in all)"],
        "{rendered}"
    );
    // at the reference that closes the cycle: `a0` in the value of a9999 (line 7 + 9999)
    assert!(rendered.contains("cycle.policy:10006:13"), "{rendered}");
}

#[test]
fn values_behind_a_cycle_are_one_error_on_a_two_mib_stack() {
    let rendered = build_on_small_stack(chain_into_cycle(10_000)).expect_err("a cycle");
    assert_eq!(error_lines(&rendered), vec!["error: cycle: value a9998 → value a9999 → value a9998"], "{rendered}");
    assert!(rendered.contains("cycle.policy:10006:13"), "{rendered}");
}

#[test]
fn a_short_cycle_is_named_in_full_and_a_long_one_is_bounded() {
    // eight members are shown in full; nine are shortened
    let full = build_on_small_stack(let_cycle(8)).expect_err("a cycle");
    let names: Vec<String> = (0..8).chain([0]).map(|i| format!("value a{i}")).collect();
    assert_eq!(error_lines(&full), vec![format!("error: cycle: {}", names.join(" → "))]);
    let nine = build_on_small_stack(let_cycle(9)).expect_err("a cycle");
    assert_eq!(
        error_lines(&nine),
        vec!["error: cycle: value a0 → value a1 → value a2 → value a3 → value a4 → … → value a8 → value a0 (9 in all)"]
    );
}

#[test]
fn a_ten_thousand_long_cycle_of_parameters_is_one_bounded_error() {
    let n = 10_000;
    let mut s = String::from(CHAIN_HEADER);
    for i in 0..n {
        let _ = writeln!(s, "param a{i}: decimal {{\n  cite \"t\"\n  always: a{} + 1\n}}", (i + 1) % n);
    }
    let rendered = build_on_small_stack(s).expect_err("a cycle");
    assert_eq!(
        error_lines(&rendered),
        vec!["error: cycle: param a0 → param a1 → param a2 → param a3 → param a4 → … → param a9999 → param a0 (10000 in all)"],
        "{rendered}"
    );
}

#[test]
fn a_parameter_cannot_read_a_named_value_so_no_cycle_mixes_them() {
    let s = format!("{CHAIN_HEADER}let v = p + 1\nparam p: decimal {{\n  cite \"t\"\n  always: v\n}}\n");
    let rendered = build_on_small_stack(s).expect_err("not allowed");
    assert_eq!(error_lines(&rendered), vec!["error: the household value `v` is not allowed in a parameter value"], "{rendered}");
}

#[test]
fn a_long_cycle_of_named_values_through_fupin_check_on_a_two_mib_stack() {
    for (name, text, expected) in [
        (
            "loop",
            let_cycle(10_000),
            "error: cycle: value a0 → value a1 → value a2 → value a3 → value a4 → … → value a9999 → value a0 (10000 in all)",
        ),
        ("tail", chain_into_cycle(10_000), "error: cycle: value a9998 → value a9999 → value a9998"),
    ] {
        let path = std::env::temp_dir().join(format!("fupin-cycle-{name}-{}.policy", std::process::id()));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("ulimit -s 2048 && exec \"$0\" check --standalone \"$1\"")
            .arg(env!("CARGO_BIN_EXE_fupin"))
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_file(&path);
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{name}: {all}");
        assert_eq!(error_lines(&all), vec![expected, "error: 1 error(s) found"], "{name}: {all}");
    }
}

#[test]
fn many_cycles_through_one_value_are_one_bounded_error_each() {
    // a{i} reads a{i+1} and a0: every a{i} closes a cycle through a0, i + 1 long
    let n = 3_000;
    let mut lets = String::from(CHAIN_HEADER);
    let mut params = String::from(CHAIN_HEADER);
    for i in 0..n {
        let next = if i + 1 < n { format!("a{} + ", i + 1) } else { String::new() };
        let _ = writeln!(lets, "let a{i} = {next}a0");
        let _ = writeln!(params, "param a{i}: decimal {{\n  cite \"t\"\n  always: {next}a0\n}}");
    }
    for (what, text) in [("value", lets), ("param", params)] {
        let started = std::time::Instant::now();
        let rendered = build_on_small_stack(text).expect_err("cycles");
        let errors = error_lines(&rendered);
        assert_eq!(errors.len(), n, "{what}: one error per cycle");
        assert!(errors.iter().all(|e| e.len() < 200), "{what}: every message is bounded");
        assert!(errors.contains(&format!("error: cycle: {what} a0 → {what} a0").as_str()), "{what}: {}", errors[0]);
        let longest =
            format!("error: cycle: {what} a0 → {what} a1 → {what} a2 → {what} a3 → {what} a4 → … → {what} a2999 → {what} a0 (3000 in all)");
        assert!(errors.contains(&longest.as_str()), "{what}: {}", errors[0]);
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{what}: {:?}", started.elapsed());
    }
}

#[test]
fn a_name_that_only_looks_like_a_cycle_is_not_one() {
    // `rural` in `household.hukou == rural` is the enumeration variant, not the
    // value `rural` (which reads `x`): the names form a cycle, the references do not
    let s = format!(
        "{CHAIN_HEADER}let x = household.hukou == rural\nlet rural = if x then 1 else 0\n\
         rule C \"c\" {{\n  cite \"t\"\n  for household\n  when rural == 1\n  then eligible temporary_assistance\n}}\n"
    );
    assert_eq!(build_on_small_stack(s), Ok(()));
}

// ---------------------------------------------------------------- validation in the budget

/// One household rule whose evaluation does not depend on the members.
fn household_rule_engine() -> Engine {
    let text = format!("{CHAIN_HEADER}rule C \"c\" {{\n  cite \"t\"\n  for household\n  when household.income >= 0\n  then eligible temporary_assistance\n}}\n");
    Engine::builder().source("rule.policy", text).build().unwrap_or_else(|d| panic!("{}", d.render()))
}

fn least_budget(e: &Engine, h: &fupin::Household) -> u64 {
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let mut s = e.scratch();
    (1..=100_000u64)
        .find(|&b| {
            s.budget = b;
            match e.assess_with(h, as_of, &mut s) {
                Ok(_) => true,
                Err(EvalError::Budget { limit }) => {
                    assert_eq!(limit, b);
                    false
                }
                Err(other) => panic!("{other}"),
            }
        })
        .expect("some budget suffices")
}

#[test]
fn validating_a_household_is_charged_to_the_step_budget() {
    let e = household_rule_engine();
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let big = household(10_000);
    let mut s = e.scratch();
    s.budget = 1_000;
    assert_eq!(e.assess_with(&big, as_of, &mut s).expect_err("over budget"), EvalError::Budget { limit: 1_000 });
    s.budget = fupin::eval::DEFAULT_BUDGET;
    assert!(e.assess_with(&big, as_of, &mut s).expect("default budget").programs["temporary_assistance"].eligible);
    // one step for each member: the evaluation itself does not depend on them
    let one = least_budget(&e, &household(1));
    assert_eq!(least_budget(&e, &household(100)), one + 99);
    s.budget = one + 9_999;
    assert!(e.assess_with(&big, as_of, &mut s).is_ok());
    s.budget = one + 9_998;
    assert_eq!(e.assess_with(&big, as_of, &mut s).expect_err("one short"), EvalError::Budget { limit: one + 9_998 });
}
