//! Typed execution: the checked IR lowered, once per [`Program`], to code
//! whose operations are specialised by type.
//!
//! The IR evaluator ([`crate::eval`]) walks [`Expr`] nodes and carries every
//! value as a tagged [`Value`] and every failure as a full [`EvalError`]. The
//! lowered form is what the evaluator runs on the hot path, with the trace
//! off: a numeric node ([`Num`]) yields a `Decimal`, a condition ([`Bool`]) a
//! `bool`, precedence and `case` arms are decided here, at lowering, and a
//! failure of any kind is a one-word [`Trap`].
//!
//! **The IR evaluator is the definition; the lowered code is its fast path.**
//! A trap (an operation `Decimal` cannot do exactly, an overflow, a missing
//! parameter, an exhausted step budget, anything unusual) abandons the
//! lowered run, and the evaluation starts again on the IR evaluator, which
//! produces the exact rational result or the located, typed error. So the
//! two cannot disagree on what an error is, and the differential tests
//! (`tests/differential.rs`) check that they agree on every value.
//!
//! The step budget: every lowered node costs one step, and the IR evaluator
//! never costs more for the same node (it charges at most one per node, and
//! nothing for the leaves it reads in place). So a household the lowered
//! code finishes within the budget, the IR evaluator finishes too, with the
//! same values; one it does not finish is handed to the IR evaluator, which
//! then decides.
//!
//! What is not specialised is lowered to [`Num::Ir`] / [`Bool::Ir`] /
//! [`Val::Ir`]: the node is evaluated by the IR evaluator in place (its
//! error, if any, is a trap like any other).

mod lower;
#[doc(hidden)]
pub mod native;
mod run;

pub(crate) use lower::lower;

use crate::check::schema::Field;
use crate::eval::exact::Band;
use crate::ir::{ArithOp, Builtin, CmpOp, Expr, FnId, GlobalId, LayerId, Loc, ParamId, ProgId, TallyId};
use crate::value::Value;
use rust_decimal::{Decimal, RoundingStrategy};
use std::sync::Arc;

/// Whether `k`'s equality is the value's own: an enumeration value, a
/// symbol, a bool, a text, equal to another value exactly when they are the
/// same value (not a number, whose scales differ among equals, nor a date
/// or an entity, which the evaluator's comparison treats otherwise). An
/// equality with such a value is Rust's `==` ([`equal`]), and the
/// generated code emits it so for a constant.
#[inline(always)]
pub(crate) fn plain_equality(k: &Value) -> bool {
    matches!(k, Value::Enum(_) | Value::Sym(_) | Value::Bool(_) | Value::Text(_))
}

/// `x == y` as the evaluator compares them (`compare(Eq, …)`), without the
/// call when `y`'s equality is plain ([`plain_equality`]).
#[inline(always)]
pub(crate) fn equal(x: Value, y: Value) -> bool {
    match (x, y) {
        (Value::Enum(a), Value::Enum(b)) => a == b,
        (Value::Sym(a), Value::Sym(b)) | (Value::Text(a), Value::Text(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        _ if plain_equality(&y) => false,
        _ => crate::eval::expr::compare(CmpOp::Eq, x, y),
    }
}

/// The lowered code stopped: the IR evaluator takes the evaluation over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trap;

type R<T> = Result<T, Trap>;

/// The lowered program: one [`RuleCode`] per rule of `Module::rules`.
#[derive(Debug, Clone, Default)]
pub struct Exec {
    pub(crate) rules: Vec<RuleCode>,
    /// One per named value of `Module::globals`.
    pub(crate) globals: Vec<Code>,
    /// The generated form of the expressions, by [`Code::id`], when a
    /// generated engine is attached ([`crate::Engine::with_generated`]).
    pub(crate) generated: Option<&'static [Option<native::GenFn>]>,
    /// The generated form of whole rules, by rule, when a generated engine
    /// is attached: a rule with one runs it instead of its expressions'.
    pub(crate) generated_rules: Option<&'static [Option<native::RuleFn>]>,
}

impl Exec {
    /// How many IR nodes were lowered to typed operations and how many are
    /// evaluated by the IR evaluator in place: `(typed, ir)`.
    pub fn coverage(&self) -> (usize, usize) {
        let mut c = (0, 0);
        for r in &self.rules {
            for code in r.pre.iter().chain(&r.post).chain(r.cond.iter()).chain(r.outcomes.iter().flatten()) {
                code.count(&mut c);
            }
        }
        self.globals.iter().for_each(|g| g.count(&mut c));
        c
    }

    /// Every lowered expression, in the order of their ids ([`Code::id`]):
    /// each rule's `pre`, `cond`, `post` and outcomes, then the named values.
    pub(crate) fn codes(&self) -> impl Iterator<Item = &Code> {
        self.rules
            .iter()
            .flat_map(|r| r.pre.iter().chain(r.cond.iter()).chain(&r.post).chain(r.outcomes.iter().flatten()))
            .chain(&self.globals)
    }

    fn number_codes(&mut self) {
        let mut next = 0u32;
        let mut number = |c: &mut Code| {
            c.id = next;
            next += 1;
        };
        for r in &mut self.rules {
            r.pre.iter_mut().for_each(&mut number);
            r.cond.iter_mut().for_each(&mut number);
            r.post.iter_mut().for_each(&mut number);
            r.outcomes.iter_mut().flatten().for_each(&mut number);
        }
        self.globals.iter_mut().for_each(&mut number);
    }
}

/// A rule's expressions, lowered, parallel to its `RuleDef`.
#[derive(Debug, Clone)]
pub(crate) struct RuleCode {
    pub pre: Vec<Code>,
    pub cond: Option<Code>,
    pub post: Vec<Code>,
    /// The frame slot of each `pre` and `post` let.
    pub pre_slots: Vec<u16>,
    pub post_slots: Vec<u16>,
    /// One per outcome (`None` for an outcome without an expression).
    pub outcomes: Vec<Option<Code>>,
    /// What each outcome does, in order (`OutcomeDef::effect`).
    pub effects: Vec<crate::check::Effect>,
}

/// One lowered expression and what it costs.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    /// Its index in [`Exec::codes`] (the generated function's, if any).
    pub id: u32,
    /// Steps charged before it runs: one per node outside aggregation
    /// bodies (an aggregation charges its filter and body per item), so at
    /// least what the IR evaluator charges for the same expression.
    pub cost: u64,
    pub op: Op,
}

/// One lowered expression, by the type of its value.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Num(Num),
    Bool(Bool),
    Val(Val),
}

/// A numeric operation: its value is a `Decimal`.
#[derive(Debug, Clone)]
pub(crate) enum Num {
    Const(Decimal),
    /// A frame slot holding a number.
    Local(u16),
    Param(ParamId, Loc),
    Global(GlobalId),
    /// A numeric field of an entity.
    Field(Box<Val>, Field, Loc),
    Neg(Box<Num>),
    Arith(ArithOp, Box<(Num, Num)>),
    /// `x op k` with a constant `k`.
    ArithK(ArithOp, Box<Num>, Decimal),
    /// `k op y` with a constant `k`.
    KArith(ArithOp, Decimal, Box<Num>),
    /// `max(x, 0)` (`false`) or `max(0, x)` (`true`) with that zero `k`
    /// (its scale as written): a sign test instead of a comparison, with
    /// `max`'s choice on a tie (the later argument).
    MaxZero(Box<Num>, Decimal, bool),
    If(Box<(Bool, Num, Num)>),
    /// `min(…)` (true) or `max(…)` (false).
    MinMax(bool, Box<[Num]>),
    /// `case` over constant patterns: the first arm whose pattern equals the subject.
    Case(Box<Val>, Box<[(Value, Num)]>, Option<Box<Num>>),
    /// `banded(x, lo at rate, …)`, bands ascending.
    Banded(Box<Num>, Box<[(Num, Num)]>),
    /// `banded(x, …)` with every bound and rate a constant, ascending.
    BandedK(Box<Num>, Box<[Band]>),
    Round(Box<Num>, u32, RoundingStrategy),
    /// `amount(P)`
    Amount(ProgId),
    /// `paid.LAYER` on the current claim.
    Paid(LayerId),
    Tally(TallyId),
    /// `sum(x in members…: body)` / `count(…)`
    Agg(Box<Agg<Num>>),
    Count(Box<Agg<Bool>>),
    /// A call of a policy function with a numeric result.
    Apply(Box<Call<Num>>),
    /// A number computed as a value (a built-in on values, a parameter on a date).
    Of(Box<Val>),
    /// Evaluated by the IR evaluator.
    Ir(Box<Expr>),
}

/// A condition: its value is a `bool`.
#[derive(Debug, Clone)]
pub(crate) enum Bool {
    Const(bool),
    Local(u16),
    Global(GlobalId),
    Field(Box<Val>, Field, Loc),
    Not(Box<Bool>),
    And(Box<(Bool, Bool)>),
    Or(Box<(Bool, Bool)>),
    If(Box<(Bool, Bool, Bool)>),
    CmpNum(CmpOp, Box<(Num, Num)>),
    /// A comparison of two values of another type (enums, dates, bools, symbols).
    CmpVal(CmpOp, Box<(Val, Val)>),
    /// `x in [a, b, …]`
    In(Box<Val>, Box<[Val]>),
    /// `eligible(P)`
    Eligible(ProgId),
    /// `any(…)` (true) or `all(…)` (false)
    AnyAll(bool, Box<Agg<Bool>>),
    /// `present(r.fact)`: whether record `r` carries the declared fact.
    Present(Box<Val>, u16),
    /// `present(r.field)` of a field of the core model: whether the record
    /// gives it (an optional field, or a field of an optional record).
    PresentField(Box<Val>, Field, Loc),
    /// A call of a policy function with a `bool` result.
    Apply(Box<Call<Bool>>),
    /// A `bool` computed as a value (a parameter on a date).
    Of(Box<Val>),
    Ir(Box<Expr>),
}

/// A value of another type (an entity, an enumeration, a date, a symbol).
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Const(Value),
    Local(u16),
    Household,
    AsOf,
    Global(GlobalId),
    Field(Box<Val>, Field, Loc),
    Num(Num),
    Bool(Bool),
    /// A call of a policy function with a result of another type.
    Apply(Box<Call<Val>>),
    /// A built-in that evaluates all its arguments, on their values.
    Builtin(Box<BuiltinCall>),
    /// A parameter in force on a date (`p at d`).
    ParamAt(ParamId, Box<Val>, Loc),
    /// A parameter of a type other than a number or a bool (a date).
    Param(ParamId, Loc),
    If(Box<(Bool, Val, Val)>),
    Ir(Box<Expr>),
}

/// A call of a built-in whose arguments are all evaluated first
/// (`eval::expr::strict_builtin`), computed on their values by the IR
/// evaluator's own definition (`eval::expr::builtin`).
#[derive(Debug, Clone)]
pub(crate) struct BuiltinCall {
    pub b: Builtin,
    pub args: Box<[Val]>,
    pub loc: Loc,
}

/// A call of a policy function: its arguments, evaluated where it is called
/// and bound to the function's frame, then its body there. The body is
/// lowered once per function and shared by its calls (a function is never
/// active twice at once: there is no recursion).
#[derive(Debug, Clone)]
pub(crate) struct Call<B> {
    pub f: FnId,
    pub args: Box<[Val]>,
    pub body: Arc<B>,
    /// The steps the body is charged (its nodes; an aggregation's per item as it runs).
    pub body_cost: u64,
}

/// An aggregation over the members, loans or a member's claims.
#[derive(Debug, Clone)]
pub(crate) struct Agg<B> {
    pub over: Over,
    /// Steps charged per item: the filter's and the body's nodes.
    pub per_item: u64,
    /// The frame slot of the bound variable.
    pub slot: u16,
    /// The entity the collection belongs to.
    pub base: Val,
    pub filter: Option<Bool>,
    pub body: B,
}

/// What an aggregation iterates.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    #[allow(missing_docs)]
    Members,
    #[allow(missing_docs)]
    Loans,
    #[allow(missing_docs)]
    Claims,
    /// A member's major diseases (each an enumeration value).
    MajorDiseases,
}

impl Over {
    /// How many items of `base` (the household, or a member) there are.
    #[inline(always)]
    pub(crate) fn len(self, h: &crate::model::Household, base: Value) -> usize {
        let member = |m: u32| h.members.get(m as usize);
        match (self, base) {
            (Over::Members, _) => h.members.len(),
            (Over::Loans, _) => h.loans.len(),
            (Over::Claims, Value::Member(m)) => member(m).map_or(0, |x| x.claims.len()),
            (Over::MajorDiseases, Value::Member(m)) => member(m).map_or(0, |x| x.major_diseases.len()),
            (Over::Claims | Over::MajorDiseases, _) => 0,
        }
    }

    /// Item `i` of `base`, as the IR evaluator binds it (`None`: there is none).
    #[inline(always)]
    pub(crate) fn item(self, h: &crate::model::Household, base: Value, i: usize) -> Option<Value> {
        match (self, base) {
            (Over::Members, _) => Some(Value::Member(i as u32)),
            (Over::Loans, _) => Some(Value::Loan(i as u32)),
            (Over::Claims, Value::Member(m)) => Some(Value::Claim(m, i as u32)),
            (Over::MajorDiseases, Value::Member(m)) => {
                h.members.get(m as usize).and_then(|x| x.major_diseases.get(i)).map(|d| Value::Enum(d.ordinal()))
            }
            (Over::Claims | Over::MajorDiseases, _) => None,
        }
    }
}

impl Code {
    fn count(&self, c: &mut (usize, usize)) {
        match &self.op {
            Op::Num(n) => n.count(c),
            Op::Bool(b) => b.count(c),
            Op::Val(v) => v.count(c),
        }
    }
}

impl Num {
    fn count(&self, c: &mut (usize, usize)) {
        match self {
            Num::Ir(_) => c.1 += 1,
            _ => {
                c.0 += 1;
                match self {
                    Num::Field(b, ..) => b.count(c),
                    Num::Neg(x) | Num::Round(x, ..) | Num::MaxZero(x, ..) => x.count(c),
                    Num::ArithK(_, x, _) | Num::KArith(_, _, x) => {
                        c.0 += 1;
                        x.count(c);
                    }
                    Num::Arith(_, ab) => {
                        ab.0.count(c);
                        ab.1.count(c);
                    }
                    Num::If(x) => {
                        x.0.count(c);
                        x.1.count(c);
                        x.2.count(c);
                    }
                    Num::MinMax(_, xs) => xs.iter().for_each(|x| x.count(c)),
                    Num::Case(s, arms, d) => {
                        s.count(c);
                        arms.iter().for_each(|(_, x)| x.count(c));
                        if let Some(d) = d {
                            d.count(c);
                        }
                    }
                    Num::BandedK(x, bands) => {
                        x.count(c);
                        c.0 += 2 * bands.len();
                    }
                    Num::Banded(x, bands) => {
                        x.count(c);
                        bands.iter().for_each(|(a, b)| {
                            a.count(c);
                            b.count(c);
                        });
                    }
                    Num::Agg(a) => a.count(c, |b, c| b.count(c)),
                    Num::Count(a) => a.count(c, |b, c| b.count(c)),
                    // the call and its arguments (the body is the function's, counted nowhere)
                    Num::Apply(call) => call.args.iter().for_each(|a| a.count(c)),
                    Num::Of(v) => {
                        c.0 -= 1;
                        v.count(c);
                    }
                    _ => {}
                }
            }
        }
    }
}

impl Bool {
    fn count(&self, c: &mut (usize, usize)) {
        match self {
            Bool::Ir(_) => c.1 += 1,
            _ => {
                c.0 += 1;
                match self {
                    Bool::Field(b, ..) => b.count(c),
                    Bool::Not(x) => x.count(c),
                    Bool::And(ab) | Bool::Or(ab) => {
                        ab.0.count(c);
                        ab.1.count(c);
                    }
                    Bool::If(x) => {
                        x.0.count(c);
                        x.1.count(c);
                        x.2.count(c);
                    }
                    Bool::CmpNum(_, ab) => {
                        ab.0.count(c);
                        ab.1.count(c);
                    }
                    Bool::CmpVal(_, ab) => {
                        ab.0.count(c);
                        ab.1.count(c);
                    }
                    Bool::In(x, items) => {
                        x.count(c);
                        items.iter().for_each(|i| i.count(c));
                    }
                    Bool::AnyAll(_, a) => a.count(c, |b, c| b.count(c)),
                    Bool::Present(b, _) => b.count(c),
                    Bool::PresentField(b, ..) => {
                        c.0 += 1;
                        b.count(c);
                    }
                    Bool::Apply(call) => call.args.iter().for_each(|a| a.count(c)),
                    Bool::Of(v) => {
                        c.0 -= 1;
                        v.count(c);
                    }
                    _ => {}
                }
            }
        }
    }
}

impl Val {
    fn count(&self, c: &mut (usize, usize)) {
        match self {
            Val::Ir(_) => c.1 += 1,
            Val::Num(n) => n.count(c),
            Val::Bool(b) => b.count(c),
            Val::Field(b, ..) => {
                c.0 += 1;
                b.count(c);
            }
            Val::Apply(call) => {
                c.0 += 1;
                call.args.iter().for_each(|a| a.count(c));
            }
            Val::Builtin(call) => {
                c.0 += 1;
                call.args.iter().for_each(|a| a.count(c));
            }
            Val::ParamAt(_, d, _) => {
                c.0 += 1;
                d.count(c);
            }
            Val::If(x) => {
                c.0 += 1;
                x.0.count(c);
                x.1.count(c);
                x.2.count(c);
            }
            _ => c.0 += 1,
        }
    }
}

impl<B> Agg<B> {
    fn count(&self, c: &mut (usize, usize), body: impl Fn(&B, &mut (usize, usize))) {
        self.base.count(c);
        if let Some(f) = &self.filter {
            f.count(c);
        }
        body(&self.body, c);
    }
}
