//! Parser, printer and limits of the policy language (docs/language.md).

use fupin::syntax::ast::*;
use fupin::syntax::limits::{MAX_EXPR_DEPTH, MAX_FILE_SIZE, MAX_IDENT_LEN, MAX_ITEMS, MAX_NESTING};
use fupin::syntax::{parse, parse_expr, print, print_expr, SyntaxError, SyntaxErrorKind};
use rust_decimal::Decimal;
use std::str::FromStr;

// ------------------------------------------------------------------ helpers

/// The example at the top of docs/language.md.
const EXAMPLE: &str = r#"
policy cn.hebei.shijiazhuang {
  title    "中共石家庄市委 石家庄市人民政府关于加大扶贫开发力度实现脱贫攻坚目标的实施意见"
  document "石发〔2016〕4号"
  issued   2016-03-08
  region   130100                      // GB/T 2260: covers 石家庄 and every county under it
  in_force 2016-01-01 .. 2020-12-31    // end optional: `in_force 2016-01-01 ..`
  version  "2016.1"
  extends  cn.hebei                    // the policy it refines
}

override param dibao_standard {
  cite "石发〔2016〕4号 二(六)"
  from 2017-01-01: 4000 cite "石家庄 notice reported by 中国经济网 2017-03-25"
  from 2018-01-01: 4400 cite "石家庄 notice dated 2017-12-25"
  from 2020-03-01: 5760 cite "石家庄 notice 2020"
  floor poverty_line                  // 两线合一: never below the poverty line
}

param major_illness_cap: yuan/year {
  cite "石发〔2016〕4号 二(七)"
  from 2016-01-01: 300000
}

param inpatient_assistance_limit: yuan/year {
  cite "石发〔2016〕4号 二(七)"
  required                            // the document gives no number: the deployer supplies it
}

let members = count(m in household.members: true)

rule SJZ-1 "完全或部分丧失劳动能力的建档立卡农村贫困人口纳入农村低保" {
  cite "石发〔2016〕4号 二(六)"
  for each member m
  when household.poverty.status == registered
   and household.hukou == rural
   and m.labour in [partial_loss, complete_loss]
  then eligible dibao
}

rule SJZ-2 "农村低保补差" {
  cite "石发〔2016〕4号 二(六)"
  for household
  when eligible(dibao)
  let gap = dibao_standard * members - household.income
  then amount dibao = round(max(gap, 0), fen, half_up)
}
"#;

/// Every other form of docs/language.md.
const FORMS: &str = r#"
policy cn.hebei.shijiazhuang.pingshan {
  title "平山县 overlay"
  in_force 2018-01-01 ..
  extends cn.hebei.shijiazhuang
  overlay
}

param 救助上限: yuan/year {
  title "住院救助年度封顶线"
  cite "平政〔2018〕1号 三"
  always: 50_000 cite "deployment"
  cap major_illness_cap
}

param ln_dibao: yuan/month {
  from 2017-01-01: 300
  from 2018-01-01: previous × 106% cite "辽宁 2018 raise"
  from 2019-01-01: max(previous * 1.065, poverty_line at 2019-01-01)
  floor monthly(poverty_line)
}

param rate_1y: rate { from 2015-10-24: 4.35% }
param flag_on: bool { always: true }
param n: int { always: 3 }
param d: decimal { always: 1.5 }
param since: date { always: 2016-01-01 }
param grace: days { always: 30 }
param label: text { always: "文本 with \"quotes\", a \\ and a\nnewline" }
param lump: yuan { always: 1_000.50 }

let adults: int = count(m in household.members where age(m.birth_date) >= 18: true)
let any_disabled = any(m in household.members: m.disability != none)
let all_old = all(m in household.members: age_on(m.birth_date, as_of) >= 60)
let income_pc = sum(m in household.members: m.income) / members

tally deductible_used: yuan per member per year
tally household_paid: yuan per household per year

program medical.assistance "医疗救助"

rule 低保-3 "中文 rule with a Chinese id" {
  for household
  when 人均收入 < 4000
  then eligible dibao
}

rule LN-10 "exceptions and everything" {
  cite "辽政发〔2016〕1号 十"
  for each member m
  exception to SJZ-1, SJZ-2
  note "reading chosen: the stricter one"
  let base = if m.age < 16 then 1 else if m.age < 60 then 2 else 3
  when not m.deceased and (m.labour == complete_loss or m.age >= 60)
  let extra = case m.disability { none => 0, grade_1 => 200, grade_2 => 100, else => 50 }
  then {
    eligible dibao
    amount dibao = round(base * extra, yuan)
    flag housing.safety_inspection
    assign route = relocation
  }
}

rule MED-1 "claims" {
  for each claim c
  let in_policy = c.in_policy_cost
  then {
    pay basic = banded(in_policy - deductible_used, from 0 at 50%, from 50000 at 60%, from 100000 at 70%)
    pay major_illness = min(max(in_policy - paid.basic - 15000, 0) * 50%, major_illness_cap)
    pay assistance = clamp(c.total_cost - paid.basic - paid.major_illness, 0, 救助上限)
    tally deductible_used += min(in_policy, 1000)
  }
}

rule LOAN-1 "interest" {
  for each loan l
  when l.start_date >= 2016-01-01 and days(l.start_date, as_of) > 0
  then amount loan.subsidy = interest(l.principal, benchmark_1y at l.start_date, l.start_date, as_of)
}

rule ROUND "rounding modes" {
  then {
    amount a = round(x, fen)
    amount b = round(x, jiao, up)
    amount c = round(-x, yuan, down)
    amount d = yearly(monthly(yuan(x)))
    amount e = year(date(2018, 1, 1)) + months(a, b) + years(a, b) + abs(-3)
  }
}

test "平山县 household with a member who lost labour capacity" {
  household "../examples/households/pingshan-dibao.json"   // or: household { …JSON… }
  as_of 2018-06-01
  set inpatient_assistance_limit = 50000
  expect dibao.eligible == true
  expect dibao.amount == 4400
  expect dibao.reasons contains SJZ-1
  expect claims[0].assistance == 12345.60
  expect error "inpatient_assistance_limit"   // the assessment must fail with this in its message
}

test "inline household" {
  household {
    "region": "130131",
    "members": [ { "name": "张三", "note": "a } in a string", "tags": [[1], {"x": null}] } ]
  }
  as_of 2018-06-01
  expect medical.assistance.paid == -1.5
  expect route.value == relocation
  expect dibao.unit == "yuan/month"
  expect dibao.value == null
  expect dibao.flag == false
}
"#;

fn ok(src: &str) -> File {
    match parse(src) {
        Ok(f) => f,
        Err(errs) => panic!("parse failed:\n{}", render(src, &errs)),
    }
}

fn errs(src: &str) -> Vec<SyntaxError> {
    match parse(src) {
        Ok(f) => panic!("expected errors, parsed {f:#?}"),
        Err(e) => e,
    }
}

fn render(src: &str, errs: &[SyntaxError]) -> String {
    errs.iter()
        .map(|e| {
            let text = src.get(e.span.start as usize..e.span.end as usize).unwrap_or("?");
            format!("{e} at {}..{} `{text}`\n", e.span.start, e.span.end)
        })
        .collect()
}

/// The text under a span.
fn at(src: &str, span: Span) -> &str {
    &src[span.start as usize..span.end as usize]
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// An S-expression of an expression, to check the tree's shape.
fn sx(e: &Expr) -> String {
    let list = |es: &[Expr]| es.iter().map(sx).collect::<Vec<_>>().join(" ");
    match &*e.kind {
        ExprKind::Number(d) => d.to_string(),
        ExprKind::Percent(d) => format!("{d}r"),
        ExprKind::Date(d) => d.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Path(p) => p.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("."),
        ExprKind::Unary(UnOp::Neg, x) => format!("(neg {})", sx(x)),
        ExprKind::Unary(UnOp::Not, x) => format!("(not {})", sx(x)),
        ExprKind::Binary(op, l, r) => format!("({} {} {})", op.as_str(), sx(l), sx(r)),
        ExprKind::In(x, items) => format!("(in {} [{}])", sx(x), list(items)),
        ExprKind::If(c, a, b) => format!("(if {} {} {})", sx(c), sx(a), sx(b)),
        ExprKind::Case { scrutinee, arms, default } => {
            let arms: Vec<String> = arms.iter().map(|(p, v)| format!("{}=>{}", sx(p), sx(v))).collect();
            let d = default.as_ref().map(|d| format!(" else=>{}", sx(d))).unwrap_or_default();
            format!("(case {} {}{d})", sx(scrutinee), arms.join(" "))
        }
        ExprKind::Call(f, args) => format!("({} {})", f.name, list(args)),
        ExprKind::Aggregate { kind, var, collection, filter, body } => {
            let f = filter.as_ref().map(|f| format!(" where {}", sx(f))).unwrap_or_default();
            format!("({kind:?} {} {}{f} {})", var.name, sx(collection), sx(body))
        }
        ExprKind::Banded { value, above, bands } => {
            let b: Vec<String> = bands.iter().map(|(f, r)| format!("{}@{}", sx(f), sx(r))).collect();
            let a = above.as_ref().map(|a| format!(" above {}", sx(a))).unwrap_or_default();
            format!("(banded {}{a} {})", sx(value), b.join(" "))
        }
        ExprKind::Round(x, u, m) => format!("(round {} {u:?} {m:?})", sx(x)),
    }
}

fn ex(src: &str) -> String {
    match parse_expr(src) {
        Ok(e) => sx(&e),
        Err(errs) => panic!("{src}: {}", render(src, &errs)),
    }
}

fn roundtrip(src: &str) {
    let first = ok(src);
    let printed = print(&first);
    let second = match parse(&printed) {
        Ok(f) => f,
        Err(e) => panic!("printed text does not parse:\n{printed}\n{}", render(&printed, &e)),
    };
    assert_eq!(first, second, "printed:\n{printed}");
    // Printing is stable.
    assert_eq!(print(&second), printed);
}

fn rule_named<'a>(file: &'a File, id: &str) -> &'a Rule {
    file.items
        .iter()
        .find_map(|i| match i {
            Item::Rule(r) if r.id.name == id => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no rule {id}"))
}

// ------------------------------------------------------------------ the example

#[test]
fn example_from_the_reference_parses() {
    let f = ok(EXAMPLE);
    let h = f.header.as_ref().expect("header");
    assert_eq!(h.id.joined(), "cn.hebei.shijiazhuang");
    assert_eq!(h.fields.len(), 7);
    assert!(matches!(&h.fields[3], HeaderField::Region(s) if s.value == "130100"));
    match &h.fields[4] {
        HeaderField::InForce(from, Some(to)) => {
            assert_eq!(from.value.to_string(), "2016-01-01");
            assert_eq!(to.value.to_string(), "2020-12-31");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&h.fields[6], HeaderField::Extends(d) if d.joined() == "cn.hebei"));
    assert_eq!(f.items.len(), 6);

    let Item::Param(p) = &f.items[0] else { panic!() };
    assert!(p.is_override);
    assert_eq!(p.name.name, "dibao_standard");
    assert!(p.ty.is_none());
    assert_eq!(p.entries.len(), 5);
    match &p.entries[1] {
        ParamEntry::From { date, value, cite: Some(cite), .. } => {
            assert_eq!(date.value.to_string(), "2017-01-01");
            assert_eq!(sx(value), "4000");
            assert_eq!(cite.value, "石家庄 notice reported by 中国经济网 2017-03-25");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&p.entries[4], ParamEntry::Floor(e) if sx(e) == "poverty_line"));

    let Item::Param(p) = &f.items[2] else { panic!() };
    assert_eq!(p.ty.as_ref().map(|t| t.ty), Some(TypeExpr::YuanPerYear));
    assert!(matches!(p.entries[1], ParamEntry::Required(_)));

    let Item::Let(l) = &f.items[3] else { panic!() };
    assert_eq!(sx(&l.value), "(Count m household.members true)");

    let r = rule_named(&f, "SJZ-1");
    assert_eq!(r.title.value, "完全或部分丧失劳动能力的建档立卡农村贫困人口纳入农村低保");
    assert!(matches!(&r.entries[1], RuleEntry::Subject(Subject::Member(m), _) if m.name == "m"));
    match &r.entries[2] {
        RuleEntry::When(e) => assert_eq!(
            sx(e),
            "(and (and (== household.poverty.status registered) (== household.hukou rural)) \
             (in m.labour [partial_loss complete_loss]))"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(&r.outcomes[..], [Outcome::Eligible(d)] if d.joined() == "dibao"));

    let r = rule_named(&f, "SJZ-2");
    assert!(matches!(r.entries[1], RuleEntry::Subject(Subject::Household, _)));
    assert!(matches!(&r.entries[2], RuleEntry::When(e) if sx(e) == "(eligible dibao)"));
    assert!(matches!(&r.entries[3], RuleEntry::Let(n, e)
        if n.name == "gap" && sx(e) == "(- (* dibao_standard members) household.income)"));
    match &r.outcomes[..] {
        [Outcome::Amount(d, e)] => {
            assert_eq!(d.joined(), "dibao");
            assert_eq!(sx(e), "(round (max gap 0) Fen HalfUp)");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn spans_point_at_the_text() {
    let f = ok(EXAMPLE);
    let r = rule_named(&f, "SJZ-2");
    assert!(at(EXAMPLE, r.span).starts_with("rule SJZ-2"));
    assert!(at(EXAMPLE, r.span).ends_with("half_up)\n}"));
    assert_eq!(at(EXAMPLE, r.id.span), "SJZ-2");
    let RuleEntry::Let(name, e) = &r.entries[3] else { panic!() };
    assert_eq!(at(EXAMPLE, name.span), "gap");
    assert_eq!(at(EXAMPLE, e.span), "dibao_standard * members - household.income");
    let ExprKind::Binary(_, l, _) = &*e.kind else { panic!() };
    assert_eq!(at(EXAMPLE, l.span), "dibao_standard * members");
    let h = f.header.as_ref().unwrap();
    assert_eq!(at(EXAMPLE, h.id.span), "cn.hebei.shijiazhuang");
}

#[test]
fn every_form_parses() {
    let f = ok(FORMS);
    let h = f.header.as_ref().unwrap();
    assert!(matches!(&h.fields[1], HeaderField::InForce(_, None)));
    assert!(matches!(h.fields[3], HeaderField::Overlay(_)));

    let Item::Param(p) = &f.items[0] else { panic!() };
    assert_eq!(p.name.name, "救助上限");
    assert!(!p.is_override);
    assert!(matches!(&p.entries[0], ParamEntry::Title(t) if t.value == "住院救助年度封顶线"));
    assert!(matches!(&p.entries[2], ParamEntry::Always { value, cite: Some(_), .. } if sx(value) == "50000"));
    assert!(matches!(&p.entries[3], ParamEntry::Cap(e) if sx(e) == "major_illness_cap"));

    let Item::Param(p) = &f.items[1] else { panic!() };
    assert_eq!(p.ty.as_ref().unwrap().ty, TypeExpr::YuanPerMonth);
    assert!(matches!(&p.entries[1], ParamEntry::From { value, .. } if sx(value) == "(* previous 1.06r)"));
    assert!(matches!(&p.entries[2], ParamEntry::From { value, .. }
        if sx(value) == "(max (* previous 1.065) (at poverty_line 2019-01-01))"));

    let types: Vec<TypeExpr> = f.items[2..10]
        .iter()
        .map(|i| match i {
            Item::Param(p) => p.ty.as_ref().unwrap().ty,
            other => panic!("{other:?}"),
        })
        .collect();
    use TypeExpr::*;
    assert_eq!(types, [Rate, Bool, Int, Decimal, Date, Days, Text, Yuan]);
    let Item::Param(p) = &f.items[2] else { panic!() };
    assert!(matches!(&p.entries[0], ParamEntry::From { value, .. } if *value.kind == ExprKind::Percent(dec("0.0435"))));
    let Item::Param(p) = &f.items[8] else { panic!() };
    assert!(matches!(&p.entries[0], ParamEntry::Always { value, .. }
        if *value.kind == ExprKind::Str("文本 with \"quotes\", a \\ and a\nnewline".into())));
    let Item::Param(p) = &f.items[9] else { panic!() };
    assert!(matches!(&p.entries[0], ParamEntry::Always { value, .. } if *value.kind == ExprKind::Number(dec("1000.50"))));

    let Item::Let(l) = &f.items[10] else { panic!() };
    assert_eq!(l.ty.as_ref().map(|t| t.ty), Some(Int));
    assert_eq!(sx(&l.value), "(Count m household.members where (>= (age m.birth_date) 18) true)");

    let Item::Tally(t) = &f.items[14] else { panic!() };
    assert_eq!((t.name.name.as_str(), t.ty.ty, t.scope), ("deductible_used", Yuan, TallyScope::MemberYear));
    let Item::Tally(t) = &f.items[15] else { panic!() };
    assert_eq!(t.scope, TallyScope::HouseholdYear);
    let Item::Program(p) = &f.items[16] else { panic!() };
    assert_eq!((p.id.joined().as_str(), p.title.value.as_str()), ("medical.assistance", "医疗救助"));

    let r = rule_named(&f, "低保-3");
    assert!(matches!(&r.entries[1], RuleEntry::When(e) if sx(e) == "(< 人均收入 4000)"));

    let r = rule_named(&f, "LN-10");
    assert!(matches!(&r.entries[2], RuleEntry::ExceptionTo(ids)
        if ids.iter().map(|i| i.name.as_str()).collect::<Vec<_>>() == ["SJZ-1", "SJZ-2"]));
    assert!(matches!(&r.entries[3], RuleEntry::Note(n) if n.value.starts_with("reading")));
    assert!(matches!(&r.entries[4], RuleEntry::Let(_, e)
        if sx(e) == "(if (< m.age 16) 1 (if (< m.age 60) 2 3))"));
    assert!(matches!(&r.entries[5], RuleEntry::When(e)
        if sx(e) == "(and (not m.deceased) (or (== m.labour complete_loss) (>= m.age 60)))"));
    assert!(matches!(&r.entries[6], RuleEntry::Let(_, e)
        if sx(e) == "(case m.disability none=>0 grade_1=>200 grade_2=>100 else=>50)"));
    assert_eq!(r.outcomes.len(), 4);
    assert!(matches!(&r.outcomes[1], Outcome::Amount(_, e) if sx(e) == "(round (* base extra) Yuan HalfUp)"));
    assert!(matches!(&r.outcomes[2], Outcome::Flag(d) if d.joined() == "housing.safety_inspection"));
    assert!(matches!(&r.outcomes[3], Outcome::Assign(d, v) if d.joined() == "route" && v.name == "relocation"));

    let r = rule_named(&f, "MED-1");
    assert!(matches!(r.entries[0], RuleEntry::Subject(Subject::Claim(_), _)));
    assert!(matches!(&r.outcomes[0], Outcome::Pay(l, e) if l.name == "basic"
        && sx(e) == "(banded (- in_policy deductible_used) 0@0.50r 50000@0.60r 100000@0.70r)"));
    assert!(matches!(&r.outcomes[1], Outcome::Pay(_, e)
        if sx(e) == "(min (* (max (- (- in_policy paid.basic) 15000) 0) 0.50r) major_illness_cap)"));
    assert!(matches!(&r.outcomes[3], Outcome::AddTally(n, e) if n.name == "deductible_used" && sx(e) == "(min in_policy 1000)"));

    let r = rule_named(&f, "LOAN-1");
    assert!(matches!(r.entries[0], RuleEntry::Subject(Subject::Loan(_), _)));
    assert!(matches!(&r.outcomes[0], Outcome::Amount(p, e) if p.joined() == "loan.subsidy"
        && sx(e) == "(interest l.principal (at benchmark_1y l.start_date) l.start_date as_of)"));

    let r = rule_named(&f, "ROUND");
    assert!(r.entries.is_empty());
    let sxs: Vec<String> = r
        .outcomes
        .iter()
        .map(|o| match o {
            Outcome::Amount(_, e) => sx(e),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sxs[..3], ["(round x Fen HalfUp)".to_string(), "(round x Jiao Up)".to_string(), "(round (neg x) Yuan Down)".to_string(),]);

    let Some(Item::Test(t)) = f.items.iter().rev().nth(1) else { panic!() };
    assert_eq!(t.name.value, "平山县 household with a member who lost labour capacity");
    assert!(matches!(&t.entries[0], TestEntry::HouseholdFile(s) if s.value.ends_with("pingshan-dibao.json")));
    assert!(matches!(&t.entries[1], TestEntry::AsOf(d) if d.value.to_string() == "2018-06-01"));
    assert!(matches!(&t.entries[2], TestEntry::Set(n, e) if n.name == "inpatient_assistance_limit" && sx(e) == "50000"));
    let expects: Vec<(ExpectPath, ExpectValue)> = t
        .entries
        .iter()
        .filter_map(|e| match e {
            TestEntry::Expect(x) => Some((x.path.clone(), x.value.clone())),
            _ => None,
        })
        .collect();
    let prog = |p: &ExpectPath| fupin::syntax::printer::expect_path_text(p);
    assert_eq!(prog(&expects[0].0), "dibao.eligible");
    assert_eq!(expects[0].1, ExpectValue::Bool(true));
    assert_eq!(expects[1].1, ExpectValue::Number(dec("4400")));
    assert!(matches!(&expects[2].1, ExpectValue::Contains(id) if id.name == "SJZ-1"));
    assert_eq!(prog(&expects[3].0), "claims[0].assistance");
    assert_eq!(expects[3].1, ExpectValue::Number(dec("12345.60")));
    assert!(matches!(t.entries.last(), Some(TestEntry::ExpectError(s)) if s.value == "inpatient_assistance_limit"));

    let Some(Item::Test(t)) = f.items.last() else { panic!() };
    match &t.entries[0] {
        TestEntry::HouseholdInline(json) => {
            assert!(json.value.starts_with('{') && json.value.ends_with('}'));
            assert_eq!(at(FORMS, json.span), json.value);
            let v: serde_json::Value = serde_json::from_str(&json.value).expect("valid JSON");
            assert_eq!(v["members"][0]["note"], "a } in a string");
        }
        other => panic!("{other:?}"),
    }
    let values: Vec<(String, ExpectValue)> = t
        .entries
        .iter()
        .filter_map(|e| match e {
            TestEntry::Expect(x) => Some((prog(&x.path), x.value.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        [
            ("medical.assistance.paid".to_string(), ExpectValue::Number(dec("-1.5"))),
            ("route.value".to_string(), ExpectValue::Text("relocation".into())),
            ("dibao.unit".to_string(), ExpectValue::Text("yuan/month".into())),
            ("dibao.value".to_string(), ExpectValue::Null),
            ("dibao.flag".to_string(), ExpectValue::Bool(false)),
        ]
    );
}

#[test]
fn standalone_test_file_has_no_header() {
    let f = ok("// tests only
test \"a\" { as_of 2018-01-01 expect dibao.eligible == false }
");
    assert!(f.header.is_none());
    assert_eq!(f.items.len(), 1);
}

#[test]
fn empty_file_is_empty() {
    assert_eq!(ok(""), File { header: None, items: vec![] });
    assert_eq!(ok("  // nothing\n\n"), File { header: None, items: vec![] });
}

// ------------------------------------------------------------------ expressions

#[test]
fn precedence() {
    let cases = [
        ("a or b and c", "(or a (and b c))"),
        ("a and b or c", "(or (and a b) c)"),
        ("not a and b", "(and (not a) b)"),
        ("not a == b", "(not (== a b))"),
        ("not x in [a, b]", "(not (in x [a b]))"),
        ("a + b in [c]", "(in (+ a b) [c])"),
        ("a == b in [c]", "(in (== a b) [c])"),
        ("a < b + c * d", "(< a (+ b (* c d)))"),
        ("a - b - c", "(- (- a b) c)"),
        ("a / b × c", "(* (/ a b) c)"),
        ("-a * b", "(* (neg a) b)"),
        ("- -a", "(neg (neg a))"),
        ("-p at d", "(neg (at p d))"),
        ("benchmark_1y at l.start_date", "(at benchmark_1y l.start_date)"),
        ("p at 2018-01-01 * 2", "(* (at p 2018-01-01) 2)"),
        ("a != b and c <= d and e >= f and g > h", "(and (and (and (!= a b) (<= c d)) (>= e f)) (> g h))"),
        ("(a or b) and c", "(and (or a b) c)"),
        ("x in []", "(in x [])"),
        ("if a then b else c", "(if a b c)"),
        ("if a then if b then c else d else e", "(if a (if b c d) e)"),
        ("f(if a then b else c, 1)", "(f (if a b c) 1)"),
        ("1 + (if a then b else c)", "(+ 1 (if a b c))"),
    ];
    for (src, want) in cases {
        assert_eq!(ex(src), want, "{src}");
    }
}

#[test]
fn literals() {
    let cases = [
        ("50_000", "50000"),
        ("12.50", "12.50"),
        ("70%", "0.70r"),
        ("6.5%", "0.065r"),
        ("100%", "1.00r"),
        ("2018-01-01", "2018-01-01"),
        ("2018-01-01 - 2017-01-01", "(- 2018-01-01 2017-01-01)"),
        ("2018 - 1", "(- 2018 1)"),
        ("true", "true"),
        ("false", "false"),
        ("\"中文\"", "\"中文\""),
        ("\"a\\\"b\"", "\"a\\\"b\""),
        ("as_of", "as_of"),
        ("household.members", "household.members"),
        ("truth", "truth"),
        ("android", "android"),
        ("年龄 >= 60", "(>= 年龄 60)"),
        ("_x", "_x"),
    ];
    for (src, want) in cases {
        assert_eq!(ex(src), want, "{src}");
    }
    let e = parse_expr("6.5%").unwrap();
    assert_eq!(*e.kind, ExprKind::Percent(dec("0.065")));
    let e = parse_expr("1_000.5").unwrap();
    assert_eq!(*e.kind, ExprKind::Number(dec("1000.5")));
}

#[test]
fn calls_and_special_forms() {
    let cases = [
        ("min(a, b, c)", "(min a b c)"),
        ("max(a, b,)", "(max a b)"),
        ("f()", "(f )"),
        ("clamp(x, 0, 1)", "(clamp x 0 1)"),
        ("round(x, fen)", "(round x Fen HalfUp)"),
        ("round(x, jiao, down)", "(round x Jiao Down)"),
        ("round(x)", "(round x)"),
        ("round + 1", "(+ round 1)"),
        ("banded(x, from 0 at 60%)", "(banded x 0@0.60r)"),
        ("banded(x, from a + 1 at r at d)", "(banded x (+ a 1)@(at r d))"),
        ("banded(x, from (a at d) at 5%)", "(banded x (at a d)@0.05r)"),
        ("sum(v in household.members where v.age > 3: v.income * 2)", "(Sum v household.members where (> v.age 3) (* v.income 2))"),
        ("any(l in household.loans: l.active)", "(Any l household.loans l.active)"),
        ("all(c in m.claims: true)", "(All c m.claims true)"),
        ("count(x)", "(count x)"),
        ("case x { a => 1 }", "(case x a=>1)"),
        ("case x { else => 1 }", "(case x  else=>1)"),
        ("case x { a => 1, b => 2, }", "(case x a=>1 b=>2)"),
        ("eligible(dibao) and amount(dibao) > 0", "(and (eligible dibao) (> (amount dibao) 0))"),
    ];
    for (src, want) in cases {
        assert_eq!(ex(src), want, "{src}");
    }
}

// ------------------------------------------------------------------ round trip

#[test]
fn print_then_parse_gives_the_same_tree() {
    roundtrip(EXAMPLE);
    roundtrip(FORMS);
    for src in [
        "let x = -(a + b) * c",
        "let x = (-a) at b",
        "let x = a at (-b)",
        "let x = -(not a)",
        "let x = a == (not b)",
        "let x = (not a) == b",
        "let x = not not a",
        "let x = (a in [b]) == c",
        "let x = a == (b in [c])",
        "let x = (if a then b else c) + 1",
        "let x = -(if a then b else c)",
        "let x = banded(x, from (if a then 1 else 2) at 1%, from -a at 2%)",
        "let x = a - (b - c)",
        "let x = (a or b) and (c or d)",
        "rule R \"t\" { then { } }",
        "rule R \"t\" { then { eligible a } }",
    ] {
        roundtrip(src);
    }
}

// ------------------------------------------------------------------ errors

/// The single error of `src`: its message, the text under its span, its help.
fn one_error(src: &str) -> (String, String, Option<String>) {
    let e = errs(src);
    assert_eq!(e.len(), 1, "{}", render(src, &e));
    (e[0].to_string(), at(src, e[0].span).to_string(), e[0].help())
}

#[test]
fn missing_operand() {
    let src = r#"rule X "t" { when 1 + }"#;
    let e = errs(src);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].to_string(), "expected an expression, found `}`");
    assert_eq!(e[0].span, Span::new(22, 23));
    assert_eq!((e[0].span.start, e[0].span.end), (22, 23));
    assert_eq!(e[0].kind, SyntaxErrorKind::Unexpected { expected: vec!["an expression".into()], found: "`}`".into() });
}

#[test]
fn error_messages() {
    let (msg, text, help) = one_error("let x = (1 + 2");
    assert_eq!(msg, "expected an operator or `)`, found end of file");
    assert_eq!(text, "");
    assert_eq!(help.as_deref(), Some("a `(` is not closed"));
    let e = errs("let x = (1 + 2");
    assert_eq!((e[0].span.start, e[0].span.end), (14, 14));

    let (msg, _, _) = one_error("let x = max(1, 2");
    assert_eq!(msg, "expected one of an operator, `)`, or `,`, found end of file");

    let (msg, text, help) = one_error(r#"rule X "t" { when a = b then eligible x }"#);
    assert!(msg.starts_with("expected one of an operator, `cite`"), "{msg}");
    assert!(msg.ends_with("or `then`, found `=`"), "{msg}");
    assert_eq!(text, "=");
    assert_eq!(help.as_deref(), Some("use `==` to compare two values"));

    let (msg, text, _) = one_error(r#"rule X "t" { foo }"#);
    assert_eq!(msg, "expected one of `cite`, `let`, `for`, `exception`, `note`, `when`, or `then`, found `foo`");
    assert_eq!(text, "foo");

    let (msg, text, _) = one_error(r#"rule X "t" { when a then }"#);
    assert_eq!(msg, "expected one of `tally`, `eligible`, `amount`, `flag`, `assign`, `pay`, or `{`, found `}`");
    assert_eq!(text, "}");

    let (msg, text, help) = one_error("let and = 5");
    assert_eq!(msg, "expected an identifier, found `and`");
    assert_eq!(text, "and");
    assert_eq!(help.as_deref(), Some("`and` is a reserved word and cannot be used as a name"));

    let (msg, text, help) = one_error("foo = 1");
    assert_eq!(msg, "expected an item, found `foo`");
    assert_eq!(text, "foo");
    assert!(help.unwrap().contains("`rule`"));

    let (msg, _, _) = one_error("policy x { title 5 }");
    assert_eq!(msg, "expected a string, found `5`");

    let (msg, text, help) = one_error("let x = 1 + if a then b else c");
    assert_eq!(msg, "expected an expression, found `if`");
    assert_eq!(text, "if");
    assert!(help.unwrap().contains("parentheses"));

    let (msg, text, _) = one_error("let q = 1 2");
    assert_eq!(msg, "expected a new item or an operator, found `2`");
    assert_eq!(text, "2");

    let (msg, _, _) = one_error("param p { always: 1 }");
    assert_eq!(msg, "expected `:`, found `{`");

    let (msg, text, _) = one_error("let x = \"unterminated\nlet y = 1");
    assert_eq!(msg, "expected an expression, found `\"unterminated`");
    assert_eq!(text, "\"unterminated");

    let (msg, _, _) = one_error("test \"t\" { household { \"a\": [1, 2 } }");
    assert!(msg.starts_with("expected "), "{msg}");
}

#[test]
fn literal_errors() {
    let src = "param p: yuan { from 2018-02-30: 5 }";
    let (msg, text, help) = one_error(src);
    assert_eq!(msg, "`2018-02-30` is not a valid date");
    assert_eq!(text, "2018-02-30");
    assert!(help.unwrap().contains("YYYY-MM-DD"));
    let e = errs(src);
    assert_eq!(e[0].kind, SyntaxErrorKind::InvalidDate { text: "2018-02-30".into() });

    let (msg, text, _) = one_error(r#"let x = "a\tb""#);
    assert_eq!(msg, r"unknown escape `\t` in a string");
    assert_eq!(text, r"\t");

    let (msg, text, _) = one_error("let x = 123456789012345678901234567890");
    assert_eq!(msg, "`123456789012345678901234567890` is not a valid number");
    assert_eq!(text, "123456789012345678901234567890");

    let (msg, _, _) = one_error("test \"t\" { expect claims[99999999999].paid == 1 }");
    assert_eq!(msg, "`99999999999` is not a valid number");

    let long = "x".repeat(MAX_IDENT_LEN + 1);
    let src = format!("let {long} = 1");
    let e = errs(&src);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, SyntaxErrorKind::IdentTooLong { len: MAX_IDENT_LEN + 1, limit: MAX_IDENT_LEN });
    assert_eq!(at(&src, e[0].span), long);
    let ok_len = "名".repeat(MAX_IDENT_LEN);
    ok(&format!("let {ok_len} = 1"));
}

#[test]
fn three_errors_in_three_rules_are_all_reported() {
    let src = r#"policy p { }
rule A "one" {
  when 1 +
  then eligible a
}

rule B "two" {
  let x = (2
  then eligible b
}

let fine = 1

rule C "three" {
  when x
  then eligible
}

rule D "fine" { then eligible d }
"#;
    let e = errs(src);
    assert_eq!(e.len(), 3, "{}", render(src, &e));
    assert_eq!(e[0].to_string(), "expected an expression, found `then`");
    assert_eq!(at(src, e[0].span), "then");
    assert_eq!(e[0].span.start as usize, src.find("then eligible a").unwrap());
    assert_eq!(e[1].to_string(), "expected an operator or `)`, found `then`");
    assert_eq!(e[1].span.start as usize, src.find("then eligible b").unwrap());
    assert_eq!(e[2].to_string(), "expected an identifier, found `}`");
    assert_eq!(e[2].span.start as usize, src.rfind("}\n\nrule D").unwrap());
}

#[test]
fn unclosed_rule_resumes_at_the_next_rule() {
    let src = "rule A \"t\" {\n  when x\n  then eligible y\n\nrule B \"t\" { then eligible z }\nlet q = 1 2\n";
    let e = errs(src);
    assert_eq!(e.len(), 2, "{}", render(src, &e));
    assert_eq!(e[0].to_string(), "expected `}`, found `rule`");
    assert_eq!(e[0].help().as_deref(), Some("is a `}` missing before this item?"));
    assert_eq!(e[1].to_string(), "expected a new item or an operator, found `2`");
}

#[test]
fn header_only_comes_first() {
    let e = errs("let a = 1\npolicy p { }\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].to_string().ends_with("found `policy`"), "{}", e[0]);
}

// ------------------------------------------------------------------ limits

fn deep_kind(src: &str) -> SyntaxErrorKind {
    let e = errs(src);
    assert_eq!(e.len(), 1, "{}", render(src, &e[..e.len().min(3)]));
    e[0].kind.clone()
}

#[test]
fn deep_nesting_is_rejected_not_a_crash() {
    let n = 100_000;
    for src in [
        format!("let x = {}1{}", "(".repeat(n), ")".repeat(n)),
        format!("let x = {}", "(".repeat(n)),
        format!("let x = {}1", "-".repeat(n)),
        format!("let x = {}1", "- ".repeat(n)),
        format!("let x = {}a", "not ".repeat(n)),
        format!("let x = {}", "if a then ".repeat(n)),
        format!("let x = {}", "if if ".repeat(n)),
        format!("let x = a {}", "else not if a then b ".repeat(n)),
        format!("let x = f({}", "g(".repeat(n)),
        format!("let x = a in {}", "[".repeat(n)),
        format!("let x = case {}", "case a { ".repeat(n)),
        format!("test \"t\" {{ household {} }}", "{\"a\": [".repeat(n)),
        format!("rule X \"t\" {{ {} }}", "{".repeat(n)),
        "{".repeat(n),
    ] {
        match deep_kind(&src) {
            SyntaxErrorKind::TooDeep { depth, limit } => {
                assert_eq!(limit, MAX_NESTING);
                assert_eq!(depth, MAX_NESTING + 1);
            }
            other => panic!("{other:?} for {}", &src[..40]),
        }
    }
}

#[test]
fn long_chains_are_limited_by_tree_depth() {
    let n = 5_000;
    for src in [
        format!("let x = 1{}", " + 1".repeat(n)),
        format!("let x = a{}", " at b".repeat(n)),
        format!("let x = a{}", " in [b]".repeat(n)),
        format!("let x = if a then b {} else c", "else if a then b ".repeat(n)),
    ] {
        match deep_kind(&src) {
            SyntaxErrorKind::TooDeep { depth, limit } => {
                assert_eq!(limit, MAX_EXPR_DEPTH);
                assert_eq!(depth, MAX_EXPR_DEPTH + 1);
            }
            other => panic!("{other:?} for {}", &src[..40]),
        }
    }
    // Up to the limits, fine.
    roundtrip(&format!("let x = 1{}", " + 1".repeat(MAX_EXPR_DEPTH - 1)));
    roundtrip(&format!("let x = {}1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING)));
    roundtrip(&format!("let x = {}1", "-".repeat(MAX_NESTING)));
    roundtrip(&format!("rule R \"t\" {{ then amount x = {}1{} }}", "f(".repeat(MAX_NESTING - 1), ")".repeat(MAX_NESTING - 1)));
}

#[test]
fn strings_and_comments_do_not_count_as_nesting() {
    let n = 10_000;
    ok(&format!("let x = \"{}\" // {}\n", "(".repeat(n), "{".repeat(n)));
}

#[test]
fn huge_file_is_rejected() {
    let src = format!("let x = 1\n{}", " ".repeat(MAX_FILE_SIZE));
    let e = errs(&src);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, SyntaxErrorKind::FileTooLarge { size: src.len(), limit: MAX_FILE_SIZE });
    assert_eq!(e[0].to_string(), format!("the file is {} bytes long; the limit is 4194304 bytes", src.len()));
}

#[test]
fn too_many_items() {
    let src: String = (0..MAX_ITEMS).map(|i| format!("let x{i} = {i}\n")).collect();
    assert_eq!(ok(&src).items.len(), MAX_ITEMS);
    let src = format!("{src}let last = 1\n");
    let e = errs(&src);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, SyntaxErrorKind::TooManyItems { limit: MAX_ITEMS });
    assert_eq!(at(&src, e[0].span).trim(), "let last = 1");
}

// ------------------------------------------------------------------ property tests

mod props {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn mk(kind: ExprKind) -> Expr {
        Expr { kind: Box::new(kind), span: Span::default() }
    }

    fn id(name: &str) -> Ident {
        Ident { name: name.to_string(), span: Span::default() }
    }

    fn name() -> impl Strategy<Value = Ident> {
        prop::sample::select(vec!["a", "b", "m", "household", "收入", "x_1", "as_of", "previous", "_t", "nullish"]).prop_map(id)
    }

    fn decimal() -> impl Strategy<Value = Decimal> {
        (0i64..10_000_000, 0u32..5).prop_map(|(m, s)| Decimal::new(m, s))
    }

    fn leaf() -> impl Strategy<Value = Expr> {
        prop_oneof![
            decimal().prop_map(|d| mk(ExprKind::Number(d))),
            (0i64..100_000, 2u32..6).prop_map(|(m, s)| mk(ExprKind::Percent(Decimal::new(m, s)))),
            (1900i32..2100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| mk(ExprKind::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap()))),
            "[a-z 中文\"\\\\\n\t{}()]{0,8}".prop_map(|s| mk(ExprKind::Str(s))),
            any::<bool>().prop_map(|b| mk(ExprKind::Bool(b))),
            prop::collection::vec(name(), 1..4).prop_map(|p| mk(ExprKind::Path(p))),
        ]
    }

    fn binop() -> impl Strategy<Value = BinOp> {
        use BinOp::*;
        prop::sample::select(vec![Or, And, Eq, Ne, Lt, Le, Gt, Ge, Add, Sub, Mul, Div, At])
    }

    pub(super) fn expr() -> impl Strategy<Value = Expr> {
        leaf().prop_recursive(5, 48, 4, |e| {
            let list = prop::collection::vec(e.clone(), 0..3);
            prop_oneof![
                (prop::sample::select(vec![UnOp::Neg, UnOp::Not]), e.clone()).prop_map(|(op, x)| mk(ExprKind::Unary(op, x))),
                (binop(), e.clone(), e.clone()).prop_map(|(op, l, r)| mk(ExprKind::Binary(op, l, r))),
                (binop(), e.clone(), e.clone()).prop_map(|(op, l, r)| mk(ExprKind::Binary(op, l, r))),
                (e.clone(), list.clone()).prop_map(|(x, l)| mk(ExprKind::In(x, l))),
                (e.clone(), e.clone(), e.clone()).prop_map(|(c, a, b)| mk(ExprKind::If(c, a, b))),
                (e.clone(), prop::collection::vec((e.clone(), e.clone()), 0..3), prop::option::of(e.clone())).prop_map(|(s, arms, d)| {
                    let default = if arms.is_empty() { Some(d.unwrap_or_else(|| s.clone())) } else { d };
                    mk(ExprKind::Case { scrutinee: s, arms, default })
                }),
                (prop::sample::select(vec!["f", "max", "min", "eligible", "age_on"]), list)
                    .prop_map(|(f, args)| mk(ExprKind::Call(id(f), args))),
                (
                    prop::sample::select(vec![AggKind::Any, AggKind::All, AggKind::Count, AggKind::Sum]),
                    name(),
                    e.clone(),
                    prop::option::of(e.clone()),
                    e.clone()
                )
                    .prop_map(|(kind, var, collection, filter, body)| { mk(ExprKind::Aggregate { kind, var, collection, filter, body }) }),
                (e.clone(), prop::option::of(e.clone()), prop::collection::vec((e.clone(), e.clone()), 1..3))
                    .prop_map(|(value, above, bands)| mk(ExprKind::Banded { value, above, bands })),
                (
                    e,
                    prop::sample::select(vec![RoundUnit::Fen, RoundUnit::Jiao, RoundUnit::Yuan]),
                    prop::sample::select(vec![RoundMode::HalfUp, RoundMode::Up, RoundMode::Down])
                )
                    .prop_map(|(x, u, m)| mk(ExprKind::Round(x, u, m))),
            ]
        })
    }

    fn items() -> impl Strategy<Value = Vec<Item>> {
        let item = prop_oneof![
            (name(), prop::option::of(prop::sample::select(vec![TypeExpr::Int, TypeExpr::YuanPerYear])), expr()).prop_map(
                |(name, ty, value)| Item::Let(LetDecl {
                    name,
                    ty: ty.map(|ty| TypeAnn { ty, span: Span::default() }),
                    value,
                    span: Span::default(),
                })
            ),
            (any::<bool>(), name(), expr(), expr(), expr()).prop_map(|(ov, name, a, b, c)| {
                Item::Param(ParamDecl {
                    is_override: ov,
                    name,
                    ty: if ov { None } else { Some(TypeAnn { ty: TypeExpr::Yuan, span: Span::default() }) },
                    entries: vec![
                        ParamEntry::From {
                            date: DateLit { value: NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(), span: Span::default() },
                            value: a,
                            cite: Some(StrLit { value: "c \"q\"".into(), span: Span::default() }),
                            span: Span::default(),
                        },
                        ParamEntry::Always { value: b, cite: None, span: Span::default() },
                        ParamEntry::Floor(c.clone()),
                        ParamEntry::Cap(c),
                    ],
                    span: Span::default(),
                })
            }),
            (expr(), expr(), prop::collection::vec(expr(), 0..3)).prop_map(|(w, l, outs)| {
                Item::Rule(Rule {
                    id: id("R-1"),
                    title: StrLit { value: "标题".into(), span: Span::default() },
                    entries: vec![
                        RuleEntry::Subject(Subject::Member(id("m")), Span::default()),
                        RuleEntry::Let(id("v"), l),
                        RuleEntry::When(w),
                    ],
                    outcomes: outs
                        .into_iter()
                        .enumerate()
                        .map(|(i, e)| match i {
                            0 => Outcome::Amount(DottedName { parts: vec![id("dibao")], span: Span::default() }, e),
                            1 => Outcome::Pay(id("basic"), e),
                            _ => Outcome::AddTally(id("t"), e),
                        })
                        .collect(),
                    span: Span::default(),
                })
            }),
            (name(), prop::collection::vec(name(), 0..3), expr()).prop_map(|(name, params, body)| Item::Fn(FnDecl {
                name,
                params: params
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| FnParam {
                        name: n,
                        ty: if i % 2 == 0 {
                            FnType::Builtin(TypeAnn { ty: TypeExpr::YuanPerMonth, span: Span::default() })
                        } else {
                            FnType::Named(id("loan"))
                        },
                    })
                    .collect(),
                ret: FnType::Builtin(TypeAnn { ty: TypeExpr::Rate, span: Span::default() }),
                body,
                span: Span::default(),
            })),
            expr().prop_map(|e| Item::Test(Test {
                name: StrLit { value: "t".into(), span: Span::default() },
                entries: vec![TestEntry::Set(id("p"), e)],
                span: Span::default(),
            })),
        ];
        prop::collection::vec(item, 0..4)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn printed_expressions_parse_back(e in expr()) {
            let printed = print_expr(&e);
            let back = parse_expr(&printed);
            prop_assert!(back.is_ok(), "{printed}: {:?}", back.err());
            prop_assert_eq!(back.unwrap(), e, "{}", printed);
        }

        #[test]
        fn printed_files_parse_back(items in items()) {
            let file = File { header: None, items };
            let printed = print(&file);
            let back = parse(&printed);
            prop_assert!(back.is_ok(), "{printed}: {:?}", back.err());
            prop_assert_eq!(back.unwrap(), file, "{}", printed);
        }

        #[test]
        fn parse_never_panics_on_any_string(s in any::<String>()) {
            let _ = parse(&s);
            let _ = parse_expr(&s);
        }

        #[test]
        fn parse_never_panics_on_token_soup(tokens in prop::collection::vec(prop::sample::select(vec![
            "rule", "R-1", "\"t\"", "{", "}", "(", ")", "[", "]", "when", "then", "if", "else", "not", "-",
            "+", "*", "×", "==", "=", "=>", "+=", ",", ":", "..", "in", "at", "a", "b.c", "1", "2.5", "70%",
            "2018-01-01", "2018-02-30", "let", "param", "override", "from", "cite", "case", "any", "round",
            "banded", "fen", "test", "household", "expect", "claims[0].x", "contains", "error", "policy",
            "\n", "// c\n", "\"\\q\"", "\"", "\\", "for", "each", "member", "tally", "per", "year",
        ]), 0..60)) {
            let src = tokens.join(" ");
            if let Err(errs) = parse(&src) {
                for e in errs {
                    // Spans are inside the text and on character boundaries.
                    prop_assert!(e.span.start <= e.span.end && (e.span.end as usize) <= src.len());
                    prop_assert!(src.is_char_boundary(e.span.start as usize));
                    prop_assert!(src.is_char_boundary(e.span.end as usize));
                    prop_assert!(!matches!(e.kind, SyntaxErrorKind::Internal { .. }), "{e}");
                }
            }
        }

        #[test]
        fn parsed_token_soup_round_trips(tokens in prop::collection::vec(prop::sample::select(vec![
            "let x =", "a", "-", "not", "(", ")", "+", "*", "at", "and", "or", "==", "1", "5%", "in [a]",
            "if a then", "else", "f(", ",",
        ]), 1..30)) {
            let src = tokens.join(" ");
            if let Ok(file) = parse(&src) {
                let printed = print(&file);
                let back = parse(&printed);
                prop_assert!(back.is_ok(), "{printed}");
                prop_assert_eq!(back.unwrap(), file);
            }
        }
    }
}

#[test]
fn every_construct_nests_up_to_the_limit() {
    // Each builder makes a text nested `k` levels deep.
    type Make = fn(usize) -> String;
    let cases: [(&str, Make); 13] = [
        ("parens", |k| format!("let x = {}1{}", "(".repeat(k), ")".repeat(k))),
        ("calls", |k| format!("let x = {}1{}", "f(".repeat(k), ")".repeat(k))),
        ("in lists", |k| format!("let x = a{}{}", " in [a".repeat(k), "]".repeat(k))),
        ("case", |k| format!("let x = {}1{}", "case a { b => ".repeat(k), " }".repeat(k))),
        ("aggregates", |k| format!("let x = {}1{}", "any(v in c where d: ".repeat(k), ")".repeat(k))),
        ("round", |k| format!("let x = {}1{}", "round(".repeat(k), ", fen)".repeat(k))),
        ("if", |k| format!("let x = {}1{}", "if a then ".repeat(k), " else 2".repeat(k))),
        ("not", |k| format!("let x = {}a", "not ".repeat(k))),
        ("neg", |k| format!("let x = {}a", "-".repeat(k))),
        ("not neg", |k| format!("let x = {}a", "not -".repeat(k / 2) + &"-".repeat(k % 2))),
        ("neg not", |k| format!("let x = {}a", "-not ".repeat(k / 2) + &"-".repeat(k % 2))),
        ("rule calls", |k| format!("rule R \"t\" {{ then amount x = {}1{} }}", "f(".repeat(k - 1), ")".repeat(k - 1))),
        ("json", |k| format!("test \"t\" {{ household {{\"a\": {}1{}}} }}", "[".repeat(k - 2), "]".repeat(k - 2))),
    ];
    for (what, make) in cases {
        roundtrip(&make(MAX_NESTING));
        let deeper = make(MAX_NESTING + 1);
        match parse(&deeper) {
            Err(e) => assert_eq!(e[0].kind, SyntaxErrorKind::TooDeep { depth: MAX_NESTING + 1, limit: MAX_NESTING }, "{what}"),
            Ok(_) => panic!("{what}: one level deeper should fail"),
        }
    }
}

#[test]
fn date_literal_year_zero_is_out_of_range() {
    let e = errs("param p: date { always: 0000-06-01 }");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, SyntaxErrorKind::DateOutOfRange { text: "0000-06-01".into() });
    // the extremes of the range are dates
    ok("param p: date { from 0001-01-01: 9999-12-31 }");
}

#[test]
fn invisible_characters_are_rejected_everywhere() {
    // a right-to-left override in a name, a zero-width space in a string,
    // an isolate in a comment, a byte order mark that is not the first character
    let src = "let a\u{202E}b = 1\nlet c = \"x\u{200B}y\" // \u{2066}\nlet \u{FEFF}d = 2";
    let e = errs(src);
    let kinds: Vec<_> = e.iter().map(|e| (e.kind.clone(), e.span.start)).collect();
    assert_eq!(
        kinds,
        vec![
            (SyntaxErrorKind::InvisibleChar { code: 0x202E, name: "right-to-left override" }, 5),
            (SyntaxErrorKind::InvisibleChar { code: 0x200B, name: "zero width space" }, 24),
            (SyntaxErrorKind::InvisibleChar { code: 0x2066, name: "left-to-right isolate" }, 33),
            (SyntaxErrorKind::InvisibleChar { code: 0xFEFF, name: "zero width no-break space" }, 41),
        ]
    );
    // a byte order mark at the start is allowed
    ok("\u{FEFF}let a = 1");
    assert!(parse_expr("a\u{200D}b").is_err());
}

#[test]
fn full_width_marks_are_named_with_their_ascii_form() {
    use fupin::syntax::error::ascii_form;
    // every full-width form U+FF01..=U+FF5E is its ASCII character shifted by 0xFEE0
    for code in 0xFF01u32..=0xFF5E {
        let c = char::from_u32(code).expect("a character");
        let want = char::from_u32(code - 0xFEE0).expect("ASCII").to_string();
        assert_eq!(ascii_form(c), Some(want.as_str()), "U+{code:04X}");
    }
    assert_eq!(ascii_form('“'), Some("\""));
    assert_eq!(ascii_form('、'), Some(","));
    assert_eq!(ascii_form('a'), None);
    assert_eq!(ascii_form('〔'), None);
    // at the mark itself, with what was expected there
    let src = "let a = max(household.income， 0)";
    let e = errs(src);
    assert_eq!(e.len(), 1);
    assert_eq!(at(src, e[0].span), "，");
    match &e[0].kind {
        SyntaxErrorKind::FullWidth { found: '，', code: 0xFF0C, ascii: ",", expected } => {
            assert!(expected.iter().any(|x| x == "`,`"), "{expected:?}")
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(e[0].help().as_deref(), Some("write the ASCII `,` in place of `，` (outside strings the language uses ASCII punctuation)"));
    // inside strings and comments full-width punctuation is text
    ok("let a = 1 // 不低于５％，（二）\nparam r: rate { cite \"石发〔2016〕4号（二）：５％\" always: 5% }");
}
