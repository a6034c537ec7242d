//! Running lowered code on the evaluator's state. Every node costs one step
//! of the budget; every failure is a [`Trap`] (the IR evaluator redoes the
//! evaluation and reports it, see the module docs).

use super::{Agg, Bool, Code, Num, Op, Over, Trap, Val};
use crate::eval::exact;
use crate::eval::expr::{compare, compare_ord};
use crate::eval::Ev;
use crate::ir::{ArithOp, CmpOp};
use crate::value::Value;
use rust_decimal::Decimal;

type R<T> = Result<T, Trap>;

#[inline(always)]
fn number(v: Value) -> R<Decimal> {
    match v {
        Value::Num(d) => Ok(d),
        _ => Err(Trap),
    }
}

#[inline(always)]
fn truth(v: Value) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(b),
        _ => Err(Trap),
    }
}

/// `x op y` when `Decimal` gives it exactly; else a trap (the IR evaluator
/// then computes it over rationals, or reports the overflow or the zero divisor).
#[inline(always)]
fn arith(op: ArithOp, x: Decimal, y: Decimal) -> R<Decimal> {
    let r = match op {
        ArithOp::Add => exact::add(x, y),
        ArithOp::Sub => exact::sub(x, y),
        ArithOp::Mul => exact::mul(x, y),
        ArithOp::Div if y.is_zero() => None,
        ArithOp::Div => exact::div(x, y),
    };
    r.ok_or(Trap)
}

impl Ev<'_> {
    /// Charge `n` steps of the budget.
    #[inline(always)]
    fn charge(&mut self, n: u64) -> R<()> {
        self.s.fuel = self.s.fuel.checked_sub(n).ok_or(Trap)?;
        Ok(())
    }

    #[inline(always)]
    fn local(&self, slot: u16) -> R<Value> {
        self.s.frame.get(self.base + slot as usize).copied().ok_or(Trap)
    }

    /// Run one lowered expression to a value (for a frame slot or an outcome).
    pub(crate) fn run(&mut self, c: &Code) -> R<Value> {
        self.charge(c.cost)?;
        match &c.op {
            Op::Num(n) => self.num(n).map(Value::Num),
            Op::Bool(b) => self.boolean(b).map(Value::Bool),
            Op::Val(v) => self.val(v),
        }
    }

    /// A named value (memoised for the evaluation; its body is evaluated by
    /// the IR evaluator once).
    fn global_value(&mut self, g: u32) -> R<Value> {
        match self.s.globals.get(g as usize) {
            Some(Some(v)) => Ok(*v),
            _ => self.global(g).map_err(|_| Trap),
        }
    }

    pub(crate) fn num(&mut self, n: &Num) -> R<Decimal> {
        match n {
            Num::Const(d) => Ok(*d),
            Num::Local(s) => number(self.local(*s)?),
            Num::Param(p, loc) => match self.s.params.get(*p as usize) {
                Some(Some(Value::Num(d))) => Ok(*d),
                _ => number(self.param(*p, *loc).map_err(|_| Trap)?),
            },
            Num::Global(g) => number(self.global_value(*g)?),
            Num::Field(b, f, loc) => {
                let b = self.val(b)?;
                number(self.field(b, *f, *loc).map_err(|_| Trap)?)
            }
            Num::Neg(x) => Ok(-self.num(x)?),
            Num::Arith(op, ab) => {
                let x = self.num(&ab.0)?;
                let y = self.num(&ab.1)?;
                arith(*op, x, y)
            }
            Num::If(x) => {
                if self.boolean(&x.0)? {
                    self.num(&x.1)
                } else {
                    self.num(&x.2)
                }
            }
            Num::MinMax(min, xs) => {
                let (first, rest) = xs.split_first().ok_or(Trap)?;
                let mut best = self.num(first)?;
                for x in rest.iter() {
                    let v = self.num(x)?;
                    best = if *min { best.min(v) } else { best.max(v) };
                }
                Ok(best)
            }
            Num::Case(s, arms, default) => {
                let v = self.val(s)?;
                for (pat, x) in arms.iter() {
                    if compare(CmpOp::Eq, v, *pat) {
                        return self.num(x);
                    }
                }
                match default {
                    Some(d) => self.num(d),
                    None => Err(Trap),
                }
            }
            Num::Banded(x, bands) => {
                // as the IR evaluator does it, step for step (it reads each
                // upper bound twice: as the band's top and the next band's bottom)
                let x = self.num(x)?;
                let mut total = Decimal::ZERO;
                let n = bands.len();
                for i in 0..n {
                    let lo = self.num(&bands[i].0)?;
                    let rate = self.num(&bands[i].1)?;
                    let hi = if i + 1 < n { Some(self.num(&bands[i + 1].0)?) } else { None };
                    if hi.is_some_and(|h| h < lo) {
                        return Err(Trap);
                    }
                    if x <= lo {
                        break;
                    }
                    let top = match hi {
                        Some(h) if x > h => h,
                        _ => x,
                    };
                    let part = arith(ArithOp::Sub, top, lo)?;
                    total = arith(ArithOp::Add, total, arith(ArithOp::Mul, part, rate)?)?;
                }
                Ok(total)
            }
            Num::Round(x, dp, strategy) => Ok(self.num(x)?.round_dp_with_strategy(*dp, *strategy)),
            Num::Amount(p) => match self.s.progs.get(*p as usize) {
                Some(st) if st.error.is_none() => Ok(st.amount.unwrap_or(Decimal::ZERO)),
                _ => Err(Trap),
            },
            Num::Paid(l) => {
                let at = self.claim.map(|c| c * self.p.module.layers.len() + *l as usize);
                Ok(at.and_then(|i| self.s.layers.get(i)).copied().unwrap_or(Decimal::ZERO))
            }
            Num::Tally(t) => Ok(self.tally(*t)),
            Num::Agg(a) => {
                let mut sum = Decimal::ZERO;
                self.each(a, |this, body| {
                    let v = this.num(body)?;
                    sum = arith(ArithOp::Add, sum, v)?;
                    Ok(true)
                })?;
                Ok(sum)
            }
            Num::Count(a) => {
                let mut count = 0i64;
                self.each(a, |this, body| {
                    if this.boolean(body)? {
                        count += 1;
                    }
                    Ok(true)
                })?;
                Ok(Decimal::from(count))
            }
            Num::Ir(e) => number(self.eval(e).map_err(|_| Trap)?),
        }
    }

    pub(crate) fn boolean(&mut self, b: &Bool) -> R<bool> {
        match b {
            Bool::Const(b) => Ok(*b),
            Bool::Local(s) => truth(self.local(*s)?),
            Bool::Global(g) => truth(self.global_value(*g)?),
            Bool::Field(b, f, loc) => {
                let b = self.val(b)?;
                truth(self.field(b, *f, *loc).map_err(|_| Trap)?)
            }
            Bool::Not(x) => Ok(!self.boolean(x)?),
            Bool::And(ab) => Ok(self.boolean(&ab.0)? && self.boolean(&ab.1)?),
            Bool::Or(ab) => Ok(self.boolean(&ab.0)? || self.boolean(&ab.1)?),
            Bool::If(x) => {
                if self.boolean(&x.0)? {
                    self.boolean(&x.1)
                } else {
                    self.boolean(&x.2)
                }
            }
            Bool::CmpNum(op, ab) => {
                let x = self.num(&ab.0)?;
                let y = self.num(&ab.1)?;
                Ok(compare_ord(*op, x.cmp(&y)))
            }
            Bool::CmpVal(op, ab) => {
                let x = self.val(&ab.0)?;
                let y = self.val(&ab.1)?;
                Ok(compare(*op, x, y))
            }
            Bool::In(x, items) => {
                let v = self.val(x)?;
                for it in items.iter() {
                    if compare(CmpOp::Eq, v, self.val(it)?) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Bool::Eligible(p) => match self.s.progs.get(*p as usize) {
                Some(st) if st.eligible || st.error.is_none() => Ok(st.eligible),
                _ => Err(Trap),
            },
            Bool::AnyAll(any, a) => {
                let mut found = !*any;
                self.each(a, |this, body| {
                    let v = this.boolean(body)?;
                    if v == *any {
                        found = *any;
                        return Ok(false);
                    }
                    Ok(true)
                })?;
                Ok(found)
            }
            Bool::Ir(e) => truth(self.eval(e).map_err(|_| Trap)?),
        }
    }

    pub(crate) fn val(&mut self, v: &Val) -> R<Value> {
        match v {
            Val::Num(n) => return self.num(n).map(Value::Num),
            Val::Bool(b) => return self.boolean(b).map(Value::Bool),
            _ => {}
        }
        match v {
            Val::Const(v) => Ok(*v),
            Val::Local(s) => self.local(*s),
            Val::Household => Ok(Value::Household),
            Val::AsOf => Ok(Value::Date(self.as_of)),
            Val::Global(g) => self.global_value(*g),
            Val::Field(b, f, loc) => {
                let b = self.val(b)?;
                self.field(b, *f, *loc).map_err(|_| Trap)
            }
            Val::Ir(e) => self.eval(e).map_err(|_| Trap),
            Val::Num(_) | Val::Bool(_) => Err(Trap),
        }
    }

    /// Bind each item of an aggregation's collection (that passes its
    /// filter) to its slot and run `body` on it, while `body` says go on.
    #[inline]
    fn each<B>(&mut self, a: &Agg<B>, mut body: impl FnMut(&mut Self, &B) -> R<bool>) -> R<()> {
        let base = self.val(&a.base)?;
        let h = self.h;
        let n = match (a.over, base) {
            (Over::Members, _) => h.members.len(),
            (Over::Loans, _) => h.loans.len(),
            (Over::Claims, Value::Member(m)) => h.members.get(m as usize).map_or(0, |x| x.claims.len()),
            (Over::Claims, _) => 0,
        };
        let fi = self.base + a.slot as usize;
        if fi >= self.s.frame.len() {
            return Err(Trap);
        }
        for i in 0..n {
            self.charge(a.per_item)?;
            let item = match (a.over, base) {
                (Over::Members, _) => Value::Member(i as u32),
                (Over::Loans, _) => Value::Loan(i as u32),
                (Over::Claims, Value::Member(m)) => Value::Claim(m, i as u32),
                (Over::Claims, _) => return Err(Trap),
            };
            self.s.frame[fi] = item;
            if let Some(f) = &a.filter {
                if !self.boolean(f)? {
                    continue;
                }
                self.s.frame[fi] = item;
            }
            if !body(self, &a.body)? {
                break;
            }
        }
        Ok(())
    }
}
