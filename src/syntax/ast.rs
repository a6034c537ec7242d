//! The abstract syntax tree: mirrors the text of a policy file.
//!
//! Every node carries a [`Span`]; spans never take part in equality, so
//! `parse(print(ast)) == ast` holds for any printed tree.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A byte range in a source file. Equality ignores spans (always equal).
#[derive(Debug, Clone, Copy, Default, Eq)]
pub struct Span {
    /// Start byte offset.
    pub start: u32,
    /// End byte offset (exclusive).
    pub end: u32,
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A name with its span.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name as written.
    pub name: String,
    /// Where.
    pub span: Span,
}

/// A dotted name (`cn.hebei.shijiazhuang`, `medical.assistance`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DottedName {
    /// The parts.
    pub parts: Vec<Ident>,
    /// Where.
    pub span: Span,
}

impl DottedName {
    /// The name joined with dots.
    pub fn joined(&self) -> String {
        let mut s = String::new();
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            s.push_str(&p.name);
        }
        s
    }
}

/// A string literal (escapes resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    /// The value.
    pub value: String,
    /// Where.
    pub span: Span,
}

/// A date literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateLit {
    /// The date.
    pub value: NaiveDate,
    /// Where.
    pub span: Span,
}

/// One parsed file: an optional policy header and its items.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// The `policy … { … }` header, absent in standalone test files.
    pub header: Option<PolicyHeader>,
    /// Items in source order.
    pub items: Vec<Item>,
}

/// `policy ID { title …; document …; … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyHeader {
    /// The policy id.
    pub id: DottedName,
    /// Header fields in source order.
    pub fields: Vec<HeaderField>,
    /// Where (the whole header).
    pub span: Span,
}

/// One field of a policy header.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderField {
    /// `title "…"`
    Title(StrLit),
    /// `document "石发〔2016〕4号"`
    Document(StrLit),
    /// `issued 2016-03-08`
    Issued(DateLit),
    /// `region 130100` (kept as written so a bad code can be reported).
    Region(StrLit),
    /// `in_force 2016-01-01 .. 2020-12-31` (end optional).
    InForce(DateLit, Option<DateLit>),
    /// `version "2016.1"`
    Version(StrLit),
    /// `extends cn.hebei`
    Extends(DottedName),
    /// `overlay`: this file supplies deployment parameters and overrides.
    Overlay(Span),
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A parameter declaration or override.
    Param(ParamDecl),
    /// A named household-level value: `let NAME (: TYPE)? = EXPR`.
    Let(LetDecl),
    /// A function: `fn NAME(p: TYPE, …): TYPE = EXPR`.
    Fn(FnDecl),
    /// An annual accumulator: `tally NAME: yuan per member per year`.
    Tally(TallyDecl),
    /// A programme declaration: `program ID "title"`.
    Program(ProgramDecl),
    /// A catalogue rule kept as metadata: `indicator ID "title" { cite …; note … }`.
    Indicator(IndicatorDecl),
    /// A declared household fact: `fact member.study_year: int { … }`.
    Fact(FactDecl),
    /// A declared enumeration: `enum higher_level { undergraduate "本科", … }`.
    Enum(EnumDecl),
    /// A declared claim layer: `layer basic "统筹基金" { field "hifp_pay" program medical.basic }`.
    Layer(LayerDecl),
    /// A rule.
    Rule(Rule),
    /// A test.
    Test(Test),
}

/// A type as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeExpr {
    /// `bool`
    Bool,
    /// `int`
    Int,
    /// `decimal`
    Decimal,
    /// `rate`
    Rate,
    /// `date`
    Date,
    /// `days`
    Days,
    /// `text`
    Text,
    /// `yuan` (one-off or per-period-free money)
    Yuan,
    /// `yuan/year`
    YuanPerYear,
    /// `yuan/month`
    YuanPerMonth,
}

/// A type with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeAnn {
    /// The type.
    pub ty: TypeExpr,
    /// Where.
    pub span: Span,
}

/// `param NAME: TYPE { … }` or `override param NAME { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    /// `override` was written.
    pub is_override: bool,
    /// Name.
    pub name: Ident,
    /// Declared type (absent on overrides, which inherit it).
    pub ty: Option<TypeAnn>,
    /// Body entries in source order.
    pub entries: Vec<ParamEntry>,
    /// Where.
    pub span: Span,
}

/// One entry in a parameter body.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamEntry {
    /// `title "…"`
    Title(StrLit),
    /// `cite "…"`
    Cite(StrLit),
    /// `required`: no value here; the deployer must supply one.
    Required(Span),
    /// `from DATE: EXPR (cite "…")?`
    From {
        /// First day in force.
        date: DateLit,
        /// Value (may use `previous` and other parameters).
        value: Expr,
        /// Citation of this value.
        cite: Option<StrLit>,
        /// Where.
        span: Span,
    },
    /// `always: EXPR (cite "…")?` — in force on every date.
    Always {
        /// Value.
        value: Expr,
        /// Citation of this value.
        cite: Option<StrLit>,
        /// Where.
        span: Span,
    },
    /// `floor EXPR` — never below.
    Floor(Expr),
    /// `cap EXPR` — never above.
    Cap(Expr),
}

/// `let NAME (: TYPE)? = EXPR`.
#[derive(Debug, Clone, PartialEq)]
pub struct LetDecl {
    /// Name.
    pub name: Ident,
    /// Declared type.
    pub ty: Option<TypeAnn>,
    /// Value.
    pub value: Expr,
    /// Where.
    pub span: Span,
}

/// The type of a function's parameter or result as written: a built-in type,
/// or a name (`household`, `member`, `claim`, `loan`, a declared enumeration).
#[derive(Debug, Clone, PartialEq)]
pub enum FnType {
    /// `int`, `yuan/year`, `date` …
    Builtin(TypeAnn),
    /// `loan`, `higher_level` …
    Named(Ident),
}

impl FnType {
    /// Where it is written.
    pub fn span(&self) -> Span {
        match self {
            FnType::Builtin(t) => t.span,
            FnType::Named(i) => i.span,
        }
    }
}

/// One parameter of a function: `NAME: TYPE`.
#[derive(Debug, Clone, PartialEq)]
pub struct FnParam {
    /// Name.
    pub name: Ident,
    /// Type.
    pub ty: FnType,
}

/// `fn NAME(p: TYPE, …): TYPE = EXPR`: a pure, typed, non-recursive function.
#[derive(Debug, Clone, PartialEq)]
pub struct FnDecl {
    /// Name.
    pub name: Ident,
    /// Parameters in order.
    pub params: Vec<FnParam>,
    /// Result type.
    pub ret: FnType,
    /// Body.
    pub body: Expr,
    /// Where.
    pub span: Span,
}

/// What a tally is kept per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TallyScope {
    /// `per member per year`
    MemberYear,
    /// `per household per year`
    HouseholdYear,
}

/// `tally NAME: yuan per member per year`.
#[derive(Debug, Clone, PartialEq)]
pub struct TallyDecl {
    /// Name.
    pub name: Ident,
    /// Type (money).
    pub ty: TypeAnn,
    /// Scope.
    pub scope: TallyScope,
    /// Where.
    pub span: Span,
}

/// The record a declared fact belongs to (the model's own type).
pub use crate::model::FactOwner;

/// The element type of a declared fact as written.
#[derive(Debug, Clone, PartialEq)]
pub enum FactScalar {
    /// A built-in type (`int`, `yuan/year`, `date` …).
    Builtin(TypeExpr),
    /// A declared enumeration, by name.
    Enum(Ident),
}

/// The type of a declared fact as written: `int`, `higher_level`, `list of higher_level`.
#[derive(Debug, Clone, PartialEq)]
pub struct FactType {
    /// `list of …`.
    pub list: bool,
    /// The element type.
    pub scalar: FactScalar,
    /// Where.
    pub span: Span,
}

/// `fact OWNER.NAME: TYPE { title "…" cite "…" optional }`.
#[derive(Debug, Clone, PartialEq)]
pub struct FactDecl {
    /// The record the fact belongs to.
    pub owner: FactOwner,
    /// The fact's name.
    pub name: Ident,
    /// Its type.
    pub ty: FactType,
    /// Title.
    pub title: Option<StrLit>,
    /// The clause that makes the fact relevant.
    pub cite: Option<StrLit>,
    /// The fact may be absent from a record (`optional`).
    pub optional: Option<Span>,
    /// Where.
    pub span: Span,
}

/// One variant of a declared enumeration.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumVariant {
    /// The variant's name (in JSON and in rules).
    pub name: Ident,
    /// Its title.
    pub title: Option<StrLit>,
}

/// `enum NAME "title"? { VARIANT "title"?, … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDecl {
    /// The enumeration's name.
    pub name: Ident,
    /// Title.
    pub title: Option<StrLit>,
    /// Variants in declaration order.
    pub variants: Vec<EnumVariant>,
    /// Where.
    pub span: Span,
}

/// `layer NAME "title"? { field "…" program P cite "…" within out_of_pocket }`:
/// a claim layer, in settlement order. Entries are kept as written (each a
/// list) so that the checker can report one written twice.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDecl {
    /// The layer's name (in `pay`, `paid.` and assessments).
    pub name: Ident,
    /// Title.
    pub title: Option<StrLit>,
    /// The settlement-list field it corresponds to (`hifp_pay`).
    pub field: Vec<StrLit>,
    /// The programme its payments are reported under.
    pub program: Vec<DottedName>,
    /// The clause that defines the layer.
    pub cite: Vec<StrLit>,
    /// `within out_of_pocket`: a part of what the patient pays (the
    /// deductible), not a payment.
    pub within: Vec<Span>,
    /// Where.
    pub span: Span,
}

/// `program ID "title" (: UNIT)?`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramDecl {
    /// Programme id.
    pub id: DottedName,
    /// Title.
    pub title: StrLit,
    /// The unit of its amounts as written (`: yuan/year`); `Some(None)` for
    /// `: none`, `None` when not written (no amount either way).
    pub unit: Option<Option<TypeAnn>>,
    /// Where.
    pub span: Span,
}

/// `indicator ID "title" { cite "…" note "…" }`: a village or
/// administrative target kept as metadata, not evaluated per household.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorDecl {
    /// Catalogue id (`SJZ-15`).
    pub id: Ident,
    /// Title.
    pub title: StrLit,
    /// Citations, in order.
    pub cites: Vec<StrLit>,
    /// Notes, in order.
    pub notes: Vec<StrLit>,
    /// Where.
    pub span: Span,
}

/// What a rule ranges over.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// `for household`
    Household,
    /// `for each member VAR`
    Member(Ident),
    /// `for each claim VAR`
    Claim(Ident),
    /// `for each loan VAR`
    Loan(Ident),
}

/// A rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Rule id (`SJZ-1`).
    pub id: Ident,
    /// Title.
    pub title: StrLit,
    /// Body entries in source order.
    pub entries: Vec<RuleEntry>,
    /// Outcomes after `then`.
    pub outcomes: Vec<Outcome>,
    /// Where (the whole rule).
    pub span: Span,
}

/// One entry in a rule body, before `then`.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleEntry {
    /// `cite "…"`
    Cite(StrLit),
    /// `for …`
    Subject(Subject, Span),
    /// `exception to ID, ID`
    ExceptionTo(Vec<Ident>),
    /// `when EXPR`
    When(Expr),
    /// `let NAME = EXPR`
    Let(Ident, Expr),
    /// `note "…"`: the reading chosen for an ambiguous clause.
    Note(StrLit),
}

/// A rule outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `eligible PROG`
    Eligible(DottedName),
    /// `amount PROG = EXPR`
    Amount(DottedName, Expr),
    /// `flag PROG`
    Flag(DottedName),
    /// `assign PROG = IDENT`
    Assign(DottedName, Ident),
    /// `pay LAYER = EXPR` (claim rules)
    Pay(Ident, Expr),
    /// `tally NAME += EXPR` (claim rules)
    AddTally(Ident, Expr),
}

/// A test.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// Name.
    pub name: StrLit,
    /// Entries.
    pub entries: Vec<TestEntry>,
    /// Where.
    pub span: Span,
}

/// One entry in a test.
#[derive(Debug, Clone, PartialEq)]
pub enum TestEntry {
    /// `household "path.json"` (relative to the test file).
    HouseholdFile(StrLit),
    /// `household { …json… }` — the JSON text as written.
    HouseholdInline(StrLit),
    /// `as_of DATE`
    AsOf(DateLit),
    /// `set NAME = EXPR` (a parameter overlay, in force on every date).
    Set(Ident, Expr),
    /// `expect PATH == VALUE`
    Expect(Expectation),
    /// `expect error "substring"`
    ExpectError(StrLit),
}

/// `expect PATH == VALUE` or `expect PROG.reasons contains RULE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// What is checked.
    pub path: ExpectPath,
    /// The expected value.
    pub value: ExpectValue,
    /// Where.
    pub span: Span,
}

/// The left side of an expectation.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectPath {
    /// `PROG.FIELD` where FIELD is eligible, amount, unit, flag, value, reasons.
    Program(DottedName, Ident),
    /// `claims[N].FIELD`: the N-th claim in date order.
    Claim(u32, Ident),
    /// `claims["ID"].FIELD`: the claim with this id.
    ClaimId(StrLit, Ident),
    /// `member["ID"].PROG.FIELD`: a programme's outcome for one member
    /// (eligible, flag, reasons).
    Member(StrLit, DottedName, Ident),
    /// `param NAME (at DATE)?`: the figure in force (on the test's date by default).
    Param(Ident, Option<DateLit>),
    /// `let NAME`: a household-level named value.
    Let(Ident),
}

/// The right side of an expectation.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectValue {
    /// `== true`
    Bool(bool),
    /// `== 123.45`
    Number(Decimal),
    /// `== "text"` or `== ident`
    Text(String),
    /// `== null`
    Null,
    /// `contains RULE-ID`
    Contains(Ident),
    /// `lacks RULE-ID`: the rule did not fire for the programme.
    Lacks(Ident),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*` or `×`
    Mul,
    /// `/`
    Div,
    /// `at`: a parameter's value on another date.
    At,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::At => "at",
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-`
    Neg,
    /// `not`
    Not,
}

/// Aggregations over a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggKind {
    /// `any(x in C: COND)`
    Any,
    /// `all(x in C: COND)`
    All,
    /// `count(x in C: COND)`
    Count,
    /// `sum(x in C: EXPR)`
    Sum,
}

/// Rounding units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoundUnit {
    /// 0.01 yuan
    Fen,
    /// 0.1 yuan
    Jiao,
    /// 1 yuan
    Yuan,
}

/// Rounding modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoundMode {
    /// 四舍五入 (half away from zero)
    HalfUp,
    /// away from zero
    Up,
    /// toward zero
    Down,
}

/// An expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The node.
    pub kind: Box<ExprKind>,
    /// Where.
    pub span: Span,
}

/// Expression nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `123`, `1_000`, `12.5`
    Number(Decimal),
    /// `70%` (stored as 0.70)
    Percent(Decimal),
    /// `2018-01-01`
    Date(NaiveDate),
    /// `"text"`
    Str(String),
    /// `true` / `false`
    Bool(bool),
    /// A name or dotted path: `household.income`, `m.labour`, `poverty_line`, `partial_loss`.
    Path(Vec<Ident>),
    /// `-x`, `not x`
    Unary(UnOp, Expr),
    /// `a + b`, …
    Binary(BinOp, Expr, Expr),
    /// `x in [a, b, c]`
    In(Expr, Vec<Expr>),
    /// `if c then a else b`
    If(Expr, Expr, Expr),
    /// `case x { A => e, B => e, else => e }`
    Case {
        /// Scrutinee.
        scrutinee: Expr,
        /// Arms (pattern, value).
        arms: Vec<(Expr, Expr)>,
        /// `else` value.
        default: Option<Expr>,
    },
    /// `f(a, b)` — builtins: min, max, clamp, abs, age, days, months, years, year, date, monthly, yearly, interest, eligible, amount
    Call(Ident, Vec<Expr>),
    /// `any(m in household.members where COND: EXPR)`
    Aggregate {
        /// Which aggregation.
        kind: AggKind,
        /// The bound variable.
        var: Ident,
        /// The collection.
        collection: Expr,
        /// Optional `where` filter.
        filter: Option<Expr>,
        /// Body.
        body: Expr,
    },
    /// `banded(x, from 0 at 60%, from 50000 at 70%)`, or with `above BASE`
    /// the bands applied to the slice (BASE, BASE + x]
    Banded {
        /// The amount split into bands.
        value: Expr,
        /// `above BASE`: what the bands have already been applied to.
        above: Option<Expr>,
        /// (lower bound, rate) in source order.
        bands: Vec<(Expr, Expr)>,
    },
    /// `round(x, fen, half_up)`
    Round(Expr, RoundUnit, RoundMode),
}
