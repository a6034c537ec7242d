//! The typed, resolved intermediate representation the checker produces and
//! the evaluator walks. Every name is an index; every literal is a parsed
//! value; every node has a type and a source location.

use crate::check::schema::Field;
use crate::check::types::Ty;
use crate::syntax::ast::{AggKind, RoundMode, RoundUnit, Span};
use crate::value::Value;

/// Index of a source file in the program's source map.
pub type FileId = u32;

/// A source location: file and byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// The file.
    pub file: FileId,
    /// The span.
    pub span: Span,
}

/// Index of a policy.
pub type PolicyId = u32;
/// Index of a parameter slot (one per declared parameter name).
pub type ParamId = u32;
/// Index of a household-level named value.
pub type GlobalId = u32;
/// Index of a programme.
pub type ProgId = u32;
/// Index of a rule.
pub type RuleId = u32;
/// Index of a tally.
pub type TallyId = u32;
/// Index of a function (`Module::functions`).
pub type FnId = u32;

/// Index of a claim layer in settlement order (`Module::layers`).
pub type LayerId = u16;

/// Built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// min of 2+ values
    Min,
    /// max of 2+ values
    Max,
    /// clamp(x, lo, hi)
    Clamp,
    /// abs(x)
    Abs,
    /// age on the assessment date
    Age,
    /// age_on(date, on)
    AgeOn,
    /// days(a, b)
    Days,
    /// months(a, b)
    Months,
    /// years(a, b)
    Years,
    /// year(d)
    Year,
    /// date(y, m, d)
    MakeDate,
    /// yuan/year → yuan/month
    Monthly,
    /// yuan/month → yuan/year
    Yearly,
    /// drop the period
    Yuan,
    /// interest(principal, rate, from, to)
    Interest,
    /// month(d)
    Month,
    /// day(d)
    Day,
    /// add_days(d, n)
    AddDays,
    /// add_months(d, n) (the day is clamped to the month's end)
    AddMonths,
    /// add_years(d, n) (29 February becomes 28 February)
    AddYears,
    /// present(field): whether an optional field is recorded
    Present,
    /// rate(x): a decimal (or int) as a rate, exactly (`rate(0.25)` of a computed 0.25 is 25%)
    ToRate,
    /// decimal(x): a rate, int or number of days as a plain decimal, exactly
    ToDecimal,
}

/// What an aggregation iterates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    /// household.members
    Members,
    /// household.loans
    Loans,
    /// m.claims (base expression yields the member)
    Claims,
    /// m.major_diseases (base expression yields the member)
    MajorDiseases,
    /// A declared list fact (base expression yields its record)
    Fact(u16),
}

/// A typed, resolved expression. Two expressions are equal when their trees
/// and types are; where they were written does not count.
#[derive(Debug, Clone)]
pub struct Expr {
    /// The node.
    pub kind: ExprKind,
    /// Its type.
    pub ty: Ty,
    /// Where it was written.
    pub loc: Loc,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.ty == other.ty && self.kind == other.kind
    }
}

impl Eq for Expr {}

impl std::hash::Hash for Expr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ty.hash(state);
        self.kind.hash(state);
    }
}

impl Expr {
    /// Call `f` on each direct child expression, in evaluation order. Every
    /// kind is listed (no catch-all arm), so a new kind with children cannot
    /// be skipped by the analyses built on this. A function call's children
    /// are its arguments; its body is `Module::functions[id].body`.
    pub fn for_each_child<'e>(&'e self, f: &mut impl FnMut(&'e Expr)) {
        match &self.kind {
            ExprKind::Const(_)
            | ExprKind::Param(_)
            | ExprKind::Previous
            | ExprKind::Global(_)
            | ExprKind::Local(_)
            | ExprKind::AsOf
            | ExprKind::Household
            | ExprKind::Eligible(_)
            | ExprKind::Amount(_)
            | ExprKind::Paid(_)
            | ExprKind::Tally(_) => {}
            ExprKind::ParamAt(_, d) => f(d),
            ExprKind::Field(b, _) => f(b),
            ExprKind::Neg(x) | ExprKind::Not(x) | ExprKind::Round(x, _, _) => f(x),
            ExprKind::And(a, b) | ExprKind::Or(a, b) | ExprKind::Arith(_, a, b) | ExprKind::Cmp(_, a, b) => {
                f(a);
                f(b);
            }
            ExprKind::In(x, items) => {
                f(x);
                items.iter().for_each(&mut *f);
            }
            ExprKind::If(c, a, b) => {
                f(c);
                f(a);
                f(b);
            }
            ExprKind::Case(x, arms, default) => {
                f(x);
                for (pat, val) in arms.iter() {
                    f(pat);
                    f(val);
                }
                if let Some(d) = default {
                    f(d);
                }
            }
            ExprKind::Call(_, args) | ExprKind::Apply(_, args) => args.iter().for_each(&mut *f),
            ExprKind::Agg { base, filter, body, .. } => {
                f(base);
                if let Some(x) = filter {
                    f(x);
                }
                f(body);
            }
            ExprKind::Banded(x, bands) => {
                f(x);
                for (lo, rate) in bands.iter() {
                    f(lo);
                    f(rate);
                }
            }
        }
    }
}

/// Expression nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExprKind {
    /// A constant.
    Const(Value),
    /// A parameter in force on the assessment date.
    Param(ParamId),
    /// A parameter in force on another date.
    ParamAt(ParamId, Box<Expr>),
    /// The value in force before the current series entry.
    Previous,
    /// A household-level named value.
    Global(GlobalId),
    /// A local slot (rule `let`, subject or aggregation variable).
    Local(u16),
    /// The assessment date.
    AsOf,
    /// The household.
    Household,
    /// A field of an entity.
    Field(Box<Expr>, Field),
    /// `-x`
    Neg(Box<Expr>),
    /// `not x`
    Not(Box<Expr>),
    /// Short-circuit `and`.
    And(Box<Expr>, Box<Expr>),
    /// Short-circuit `or`.
    Or(Box<Expr>, Box<Expr>),
    /// Arithmetic.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// Comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `x in [a, b]`
    In(Box<Expr>, Box<[Expr]>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `case`
    Case(Box<Expr>, Box<[(Expr, Expr)]>, Option<Box<Expr>>),
    /// Built-in call.
    Call(Builtin, Box<[Expr]>),
    /// A call of a declared function: its arguments, one per parameter.
    Apply(FnId, Box<[Expr]>),
    /// Aggregation: the variable's slot, the collection and its base.
    Agg {
        /// Which.
        kind: AggKind,
        /// Slot of the bound variable.
        slot: u16,
        /// What is iterated.
        coll: Collection,
        /// The entity the collection belongs to (household or a member).
        base: Box<Expr>,
        /// `where` filter.
        filter: Option<Box<Expr>>,
        /// Body.
        body: Box<Expr>,
    },
    /// Banded rates: value, then (lower bound, rate) sorted ascending.
    Banded(Box<Expr>, Box<[(Expr, Expr)]>),
    /// Explicit rounding.
    Round(Box<Expr>, RoundUnit, RoundMode),
    /// `eligible(P)`
    Eligible(ProgId),
    /// `amount(P)`
    Amount(ProgId),
    /// `paid.LAYER` on the current claim
    Paid(LayerId),
    /// A tally's total before the current claim.
    Tally(TallyId),
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// +
    Add,
    /// -
    Sub,
    /// ×
    Mul,
    /// /
    Div,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// ==
    Eq,
    /// !=
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
}
