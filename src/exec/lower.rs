//! Lowering: checked IR → typed code. Each IR node becomes at most one
//! lowered node (so the step budget charges the lowered code at least what it
//! charges the IR evaluator, see the module docs); a node with no typed form
//! yet stays IR, evaluated in place.

use super::{Agg, Bool, BuiltinCall, Call, Code, Exec, Num, Op, Over, RuleCode, Val};
use crate::check::schema::Field;
use crate::check::types::Ty;
use crate::check::{Module, OutcomeDef};
use crate::eval::exact::Band;
use crate::eval::expr::{strict_builtin, MAX_BUILTIN_ARGS};
use crate::ir::FnId;
use crate::ir::{Builtin, Collection, Expr, ExprKind};
use crate::syntax::ast::{AggKind, RoundMode, RoundUnit};
use crate::value::Value;
use rust_decimal::RoundingStrategy;
use std::sync::Arc;

/// Lower every rule of a checked module.
pub(crate) fn lower(m: &Module) -> Exec {
    let mut cx = Lower { m, functions: vec![None; m.functions.len()] };
    let mut rules = Vec::with_capacity(m.rules.len());
    for r in &m.rules {
        let pre = r.pre.iter().map(|l| cx.code(&l.expr)).collect();
        let cond = r.cond.as_ref().map(|c| costed(Op::Bool(cx.boolean(c))));
        let post = r.post.iter().map(|l| cx.code(&l.expr)).collect();
        let outcomes = r
            .outcomes
            .iter()
            .map(|o| match o {
                OutcomeDef::Amount(_, e) | OutcomeDef::Pay(_, e) | OutcomeDef::AddTally(_, e) => Some(costed(Op::Num(cx.num(e)))),
                OutcomeDef::Eligible(_) | OutcomeDef::Flag(_) | OutcomeDef::Assign(..) => None,
            })
            .collect();
        rules.push(RuleCode {
            pre,
            pre_slots: r.pre.iter().map(|l| l.slot).collect(),
            post_slots: r.post.iter().map(|l| l.slot).collect(),
            cond,
            post,
            outcomes,
            effects: r.outcomes.iter().map(OutcomeDef::effect).collect(),
        });
    }
    let globals = m.globals.iter().map(|g| cx.code(&g.expr)).collect();
    let mut exec = Exec { rules, globals, generated: None, generated_rules: None };
    exec.number_codes();
    exec
}

/// The lowering of one module: each function's body lowered once (a call
/// shares it), as it is first called.
struct Lower<'m> {
    m: &'m Module,
    functions: Vec<Option<Body>>,
}

impl Lower<'_> {
    fn code(&mut self, e: &Expr) -> Code {
        costed(if e.ty == Ty::Bool {
            Op::Bool(self.boolean(e))
        } else if e.ty.is_numeric() {
            Op::Num(self.num(e))
        } else {
            Op::Val(self.val(e))
        })
    }

    fn num(&mut self, e: &Expr) -> Num {
        if !e.ty.is_numeric() {
            return Num::Ir(ir(e));
        }
        match &e.kind {
            ExprKind::Const(Value::Num(d)) => Num::Const(*d),
            ExprKind::Local(s) => Num::Local(*s),
            ExprKind::Param(p) => Num::Param(*p, e.loc),
            ExprKind::Global(g) => Num::Global(*g),
            ExprKind::Field(b, f) => Num::Field(Box::new(self.val(b)), *f, e.loc),
            ExprKind::Neg(x) => Num::Neg(Box::new(self.num(x))),
            ExprKind::Arith(op, a, b) => match (&a.kind, &b.kind) {
                (_, ExprKind::Const(Value::Num(k))) => Num::ArithK(*op, Box::new(self.num(a)), *k),
                (ExprKind::Const(Value::Num(k)), _) => Num::KArith(*op, *k, Box::new(self.num(b))),
                _ => Num::Arith(*op, Box::new((self.num(a), self.num(b)))),
            },
            ExprKind::If(c, a, b) => Num::If(Box::new((self.boolean(c), self.num(a), self.num(b)))),
            ExprKind::Case(s, arms, default) if arms.iter().all(|(p, _)| matches!(p.kind, ExprKind::Const(_))) => {
                let arms = arms
                    .iter()
                    .filter_map(|(p, x)| match p.kind {
                        ExprKind::Const(v) => Some((v, self.num(x))),
                        _ => None,
                    })
                    .collect();
                Num::Case(Box::new(self.val(s)), arms, default.as_deref().map(|d| Box::new(self.num(d))))
            }
            ExprKind::Call(Builtin::Max, args) if args.len() == 2 && args.iter().all(|a| a.ty.is_numeric()) && args.iter().any(is_zero) => {
                let zero_first = !is_zero(&args[1]);
                let (x, k) = if zero_first { (&args[1], &args[0]) } else { (&args[0], &args[1]) };
                let ExprKind::Const(Value::Num(k)) = k.kind else { return Num::Ir(ir(e)) };
                Num::MaxZero(Box::new(self.num(x)), k, zero_first)
            }
            ExprKind::Call(b @ (Builtin::Min | Builtin::Max), args) if !args.is_empty() && args.iter().all(|a| a.ty.is_numeric()) => {
                Num::MinMax(*b == Builtin::Min, args.iter().map(|x| self.num(x)).collect())
            }
            ExprKind::Banded(x, bands) => {
                let x = Box::new(self.num(x));
                let bands: Box<[(Num, Num)]> = bands.iter().map(|(lo, r)| (self.num(lo), self.num(r))).collect();
                let constant = |b: &(Num, Num)| match b {
                    (Num::Const(lo), Num::Const(rate)) => Some((*lo, *rate)),
                    _ => None,
                };
                let ascending = |k: &[(rust_decimal::Decimal, rust_decimal::Decimal)]| k.windows(2).all(|w| w[0].0 <= w[1].0);
                match bands.iter().map(constant).collect::<Option<Box<[_]>>>() {
                    Some(k) if ascending(&k) => Num::BandedK(x, k.iter().map(|&(lo, rate)| Band::new(lo, rate)).collect()),
                    _ => Num::Banded(x, bands),
                }
            }
            ExprKind::Round(x, unit, mode) => {
                let dp = match unit {
                    RoundUnit::Fen => 2,
                    RoundUnit::Jiao => 1,
                    RoundUnit::Yuan => 0,
                };
                let strategy = match mode {
                    RoundMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
                    RoundMode::Up => RoundingStrategy::AwayFromZero,
                    RoundMode::Down => RoundingStrategy::ToZero,
                };
                Num::Round(Box::new(self.num(x)), dp, strategy)
            }
            ExprKind::Amount(p) => Num::Amount(*p),
            ExprKind::Paid(l) => Num::Paid(*l),
            ExprKind::Tally(t) => Num::Tally(*t),
            ExprKind::Agg { kind: AggKind::Sum, slot, coll, base, filter, body } => {
                match self.agg(*slot, *coll, base, filter.as_deref(), body, Self::num) {
                    Some(a) => Num::Agg(Box::new(a)),
                    None => Num::Ir(ir(e)),
                }
            }
            ExprKind::Apply(f, args) => match self.function(*f) {
                Some(Body::Num(body, body_cost)) => Num::Apply(Box::new(Call { f: *f, args: self.args(args), body, body_cost })),
                _ => Num::Ir(ir(e)),
            },
            ExprKind::Agg { kind: AggKind::Count, slot, coll, base, filter, body } => {
                match self.agg(*slot, *coll, base, filter.as_deref(), body, Self::boolean) {
                    Some(a) => Num::Count(Box::new(a)),
                    None => Num::Ir(ir(e)),
                }
            }
            _ => match self.value_node(e) {
                Some(v) => Num::Of(Box::new(v)),
                None => Num::Ir(ir(e)),
            },
        }
    }

    fn boolean(&mut self, e: &Expr) -> Bool {
        if e.ty != Ty::Bool {
            return Bool::Ir(ir(e));
        }
        match &e.kind {
            ExprKind::Const(Value::Bool(b)) => Bool::Const(*b),
            ExprKind::Local(s) => Bool::Local(*s),
            ExprKind::Global(g) => Bool::Global(*g),
            ExprKind::Field(b, f) => Bool::Field(Box::new(self.val(b)), *f, e.loc),
            ExprKind::Not(x) => Bool::Not(Box::new(self.boolean(x))),
            ExprKind::And(a, b) => Bool::And(Box::new((self.boolean(a), self.boolean(b)))),
            ExprKind::Or(a, b) => Bool::Or(Box::new((self.boolean(a), self.boolean(b)))),
            ExprKind::If(c, a, b) => Bool::If(Box::new((self.boolean(c), self.boolean(a), self.boolean(b)))),
            ExprKind::Cmp(op, a, b) if a.ty.is_numeric() && b.ty.is_numeric() => Bool::CmpNum(*op, Box::new((self.num(a), self.num(b)))),
            ExprKind::Cmp(op, a, b) => Bool::CmpVal(*op, Box::new((self.val(a), self.val(b)))),
            ExprKind::In(x, items) => Bool::In(Box::new(self.val(x)), items.iter().map(|x| self.val(x)).collect()),
            ExprKind::Eligible(p) => Bool::Eligible(*p),
            // whether a declared fact or a field is given (any other `present` is the IR evaluator's)
            ExprKind::Call(Builtin::Present, args) if args.len() == 1 => match &args[0].kind {
                ExprKind::Field(base, Field::Declared(id)) => Bool::Present(Box::new(self.val(base)), *id),
                ExprKind::Field(base, f) => Bool::PresentField(Box::new(self.val(base)), *f, args[0].loc),
                _ => Bool::Ir(ir(e)),
            },
            ExprKind::Apply(f, args) => match self.function(*f) {
                Some(Body::Bool(body, body_cost)) => Bool::Apply(Box::new(Call { f: *f, args: self.args(args), body, body_cost })),
                _ => Bool::Ir(ir(e)),
            },
            ExprKind::Agg { kind: k @ (AggKind::Any | AggKind::All), slot, coll, base, filter, body } => {
                match self.agg(*slot, *coll, base, filter.as_deref(), body, Self::boolean) {
                    Some(a) => Bool::AnyAll(*k == AggKind::Any, Box::new(a)),
                    None => Bool::Ir(ir(e)),
                }
            }
            _ => match self.value_node(e) {
                Some(v) => Bool::Of(Box::new(v)),
                None => Bool::Ir(ir(e)),
            },
        }
    }

    fn val(&mut self, e: &Expr) -> Val {
        if e.ty == Ty::Bool {
            return Val::Bool(self.boolean(e));
        }
        if e.ty.is_numeric() {
            return Val::Num(self.num(e));
        }
        match &e.kind {
            ExprKind::Const(v) => Val::Const(*v),
            ExprKind::Local(s) => Val::Local(*s),
            ExprKind::Household => Val::Household,
            ExprKind::AsOf => Val::AsOf,
            ExprKind::Global(g) => Val::Global(*g),
            ExprKind::Field(b, f) => Val::Field(Box::new(self.val(b)), *f, e.loc),
            ExprKind::Apply(f, args) => match self.function(*f) {
                Some(Body::Val(body, body_cost)) => Val::Apply(Box::new(Call { f: *f, args: self.args(args), body, body_cost })),
                _ => Val::Ir(ir(e)),
            },
            ExprKind::Param(p) => Val::Param(*p, e.loc),
            ExprKind::If(c, a, b) => Val::If(Box::new((self.boolean(c), self.val(a), self.val(b)))),
            _ => self.value_node(e).unwrap_or_else(|| Val::Ir(ir(e))),
        }
    }

    /// An expression of any type computed as a value: a built-in that
    /// evaluates every argument first, on their values, or a parameter on
    /// a date.
    fn value_node(&mut self, e: &Expr) -> Option<Val> {
        match &e.kind {
            ExprKind::Call(b, args) if strict_builtin(*b, args) && args.len() <= MAX_BUILTIN_ARGS => {
                Some(Val::Builtin(Box::new(BuiltinCall { b: *b, args: self.args(args), loc: e.loc })))
            }
            ExprKind::ParamAt(p, d) => Some(Val::ParamAt(*p, Box::new(self.val(d)), e.loc)),
            _ => None,
        }
    }

    /// Function `f`'s body, lowered on its first call.
    fn function(&mut self, f: FnId) -> Option<Body> {
        if let Some(Some(b)) = self.functions.get(f as usize) {
            return Some(b.clone());
        }
        let body = &self.m.functions.get(f as usize)?.body;
        let lowered = if body.ty == Ty::Bool {
            let b = self.boolean(body);
            let c = b.cost();
            Body::Bool(Arc::new(b), c)
        } else if body.ty.is_numeric() {
            let n = self.num(body);
            let c = n.cost();
            Body::Num(Arc::new(n), c)
        } else {
            let v = self.val(body);
            let c = v.cost();
            Body::Val(Arc::new(v), c)
        };
        if let Some(slot) = self.functions.get_mut(f as usize) {
            *slot = Some(lowered.clone());
        }
        Some(lowered)
    }

    fn args(&mut self, args: &[Expr]) -> Box<[Val]> {
        args.iter().map(|a| self.val(a)).collect()
    }

    /// An aggregation over `coll` with its body lowered by `lower`.
    fn agg<B: Costed>(
        &mut self,
        slot: u16,
        coll: Collection,
        base: &Expr,
        filter: Option<&Expr>,
        body: &Expr,
        lower: fn(&mut Self, &Expr) -> B,
    ) -> Option<Agg<B>> {
        let over = match coll {
            Collection::Members => Over::Members,
            Collection::Loans => Over::Loans,
            Collection::Claims => Over::Claims,
            Collection::MajorDiseases => Over::MajorDiseases,
            _ => return None,
        };
        let body = lower(self, body);
        let filter = filter.map(|f| self.boolean(f));
        let per_item = filter.as_ref().map_or(0, Bool::cost) + body.cost();
        Some(Agg { over, per_item, slot, base: self.val(base), filter, body })
    }
}

fn costed(op: Op) -> Code {
    let cost = match &op {
        Op::Num(n) => n.cost(),
        Op::Bool(b) => b.cost(),
        Op::Val(v) => v.cost(),
    };
    Code { id: 0, cost, op }
}

fn ir(e: &Expr) -> Box<Expr> {
    Box::new(e.clone())
}

/// A constant zero.
fn is_zero(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Const(Value::Num(d)) if d.is_zero())
}
impl<B> Call<B> {
    /// The arguments' steps and the body's (the call's own node is its caller's).
    fn cost(&self) -> u64 {
        self.args.iter().map(Val::cost).sum::<u64>() + self.body_cost
    }
}

/// A function's body, lowered by the type of its result, with its steps.
#[derive(Clone)]
enum Body {
    Num(Arc<Num>, u64),
    Bool(Arc<Bool>, u64),
    Val(Arc<Val>, u64),
}

/// Steps a lowered expression is charged: one per node, aggregation bodies
/// excepted (charged per item when they run).
trait Costed {
    fn cost(&self) -> u64;
}

impl Costed for Num {
    fn cost(&self) -> u64 {
        if let Num::Of(v) = self {
            // the value's nodes are the expression's
            return v.cost();
        }
        1 + match self {
            Num::Field(b, ..) => b.cost(),
            Num::Neg(x) | Num::Round(x, ..) => x.cost(),
            // the constant's node, and for `max(x, 0)` the zero's
            Num::ArithK(_, x, _) | Num::KArith(_, _, x) | Num::MaxZero(x, ..) => 1 + x.cost(),
            Num::Arith(_, ab) => ab.0.cost() + ab.1.cost(),
            Num::If(x) => x.0.cost() + x.1.cost() + x.2.cost(),
            Num::MinMax(_, xs) => xs.iter().map(Num::cost).sum(),
            Num::Case(s, arms, d) => s.cost() + arms.iter().map(|(_, x)| x.cost()).sum::<u64>() + d.as_ref().map_or(0, |d| d.cost()),
            // the IR evaluator reads each upper bound twice
            Num::Banded(x, bands) => x.cost() + bands.iter().map(|(a, b)| 2 * a.cost() + b.cost()).sum::<u64>(),
            // as `Banded` with constant nodes: each bound twice, each rate once
            Num::BandedK(x, bands) => x.cost() + 3 * bands.len() as u64,
            Num::Agg(a) => a.base.cost(),
            Num::Count(a) => a.base.cost(),
            Num::Apply(c) => c.cost(),
            // counted above, without a node of its own
            Num::Of(_) => 0,
            Num::Const(_)
            | Num::Local(_)
            | Num::Param(..)
            | Num::Global(_)
            | Num::Amount(_)
            | Num::Paid(_)
            | Num::Tally(_)
            | Num::Ir(_) => 0,
        }
    }
}

impl Costed for Bool {
    fn cost(&self) -> u64 {
        if let Bool::Of(v) = self {
            return v.cost();
        }
        1 + match self {
            Bool::Field(b, ..) => b.cost(),
            Bool::Not(x) => x.cost(),
            Bool::And(ab) | Bool::Or(ab) => ab.0.cost() + ab.1.cost(),
            Bool::If(x) => x.0.cost() + x.1.cost() + x.2.cost(),
            Bool::CmpNum(_, ab) => ab.0.cost() + ab.1.cost(),
            Bool::CmpVal(_, ab) => ab.0.cost() + ab.1.cost(),
            Bool::In(x, items) => x.cost() + items.iter().map(Val::cost).sum::<u64>(),
            Bool::AnyAll(_, a) => a.base.cost(),
            Bool::Present(b, _) => b.cost(),
            // the call's node, the field's, and its record's
            Bool::PresentField(b, ..) => 1 + b.cost(),
            Bool::Apply(c) => c.cost(),
            // counted above, without a node of its own
            Bool::Of(_) => 0,
            Bool::Const(_) | Bool::Local(_) | Bool::Global(_) | Bool::Eligible(_) | Bool::Ir(_) => 0,
        }
    }
}

impl Costed for Val {
    fn cost(&self) -> u64 {
        match self {
            Val::Num(n) => n.cost(),
            Val::Bool(b) => b.cost(),
            Val::Field(b, ..) => 1 + b.cost(),
            Val::Apply(c) => 1 + c.cost(),
            Val::Builtin(c) => 1 + c.args.iter().map(Val::cost).sum::<u64>(),
            Val::ParamAt(_, d, _) => 1 + d.cost(),
            Val::If(x) => 1 + x.0.cost() + x.1.cost() + x.2.cost(),
            Val::Param(..) | Val::Const(_) | Val::Local(_) | Val::Household | Val::AsOf | Val::Global(_) | Val::Ir(_) => 1,
        }
    }
}
