//! Running lowered code on the evaluator's state. A lowered expression is
//! charged its cost before it runs (aggregations per item); a failure
//! anywhere sets `Ev::trapped` and yields a placeholder value (the operations
//! are total: checked arithmetic, no indexing without a bound), so the nodes
//! return plain values; where the expression ends, a set flag becomes a
//! [`Trap`] and the IR evaluator redoes the evaluation (module docs).

use super::{equal, Agg, Bool, Call, Code, Num, Op, Trap, Val, R};
use crate::check::schema::Field;
use crate::check::MAX_FN_PARAMS;
use crate::eval::exact;
use crate::eval::expr::{builtin, MAX_BUILTIN_ARGS, STACK_RED_ZONE, STACK_SEGMENT};
use crate::eval::expr::{compare, compare_ord};
use crate::eval::facts::Cell;
use crate::eval::Ev;
use crate::ir::{ArithOp, Builtin, CmpOp, Expr, FnId, Loc, ParamId};
use crate::value::Value;
use rust_decimal::Decimal;

/// `x op y` when `Decimal` gives it exactly; else `None` (the IR evaluator
/// then computes it over rationals, or reports the overflow or the zero divisor).
#[inline(always)]
pub(super) fn arith(op: ArithOp, x: Decimal, y: Decimal) -> Option<Decimal> {
    match op {
        ArithOp::Add => exact::add(x, y),
        ArithOp::Sub => exact::sub(x, y),
        ArithOp::Mul => exact::mul(x, y),
        ArithOp::Div if y.is_zero() => None,
        ArithOp::Div => exact::div(x, y),
    }
}

impl Ev<'_> {
    /// Charge `n` steps of the budget.
    #[inline(always)]
    pub(super) fn spend(&mut self, n: u64) -> R<()> {
        self.s.fuel = self.s.fuel.checked_sub(n).ok_or(Trap)?;
        Ok(())
    }

    /// The lowered code cannot go on: the placeholder `v`, and the flag set.
    #[cold]
    #[inline(never)]
    pub(super) fn stop<T>(&mut self, v: T) -> T {
        self.trapped = true;
        v
    }

    #[inline(always)]
    pub(super) fn number(&mut self, v: Value) -> Decimal {
        match v {
            Value::Num(d) => d,
            _ => self.stop(Decimal::ZERO),
        }
    }

    #[inline(always)]
    pub(super) fn truth(&mut self, v: Value) -> bool {
        match v {
            Value::Bool(b) => b,
            _ => self.stop(false),
        }
    }

    #[inline(always)]
    pub(super) fn checked(&mut self, r: Option<Decimal>) -> Decimal {
        match r {
            Some(d) => d,
            None => self.stop(Decimal::ZERO),
        }
    }

    #[inline(always)]
    pub(super) fn local(&mut self, slot: u16) -> Value {
        match self.s.frame.get(self.base + slot as usize) {
            Some(v) => *v,
            None => self.stop(Value::ZERO),
        }
    }

    /// An IR evaluator's result in lowered code: its error stops it.
    #[inline]
    pub(super) fn ir(&mut self, r: Result<Value, crate::EvalError>) -> Value {
        match r {
            Ok(v) => v,
            Err(_) => self.stop(Value::ZERO),
        }
    }

    /// Field `f` of the entity `base` evaluates to (the IR evaluator's reader).
    #[inline(always)]
    pub(super) fn read_field(&mut self, base: &Val, f: Field, loc: Loc) -> Value {
        // the record: a slot or the household in place (not `val_at`, which
        // reads fields through this function), anything else by the walk
        let b = match base {
            Val::Local(s) => self.local(*s),
            Val::Household => Value::Household,
            _ => self.val(base),
        };
        // a field every record has: read in place (as the generated code reads it)
        match self.field_plain(b, f) {
            Some(v) => v,
            None => self.read_field_other(b, f, loc),
        }
    }

    /// [`Ev::read_field`] of a field a record may lack (or a declared fact).
    #[inline(never)]
    fn read_field_other(&mut self, b: Value, f: Field, loc: Loc) -> Value {
        match self.field_as::<Trap>(b, f, loc) {
            Ok(v) => v,
            Err(Trap) => self.stop(Value::ZERO),
        }
    }

    /// A node with no typed form, evaluated by the IR evaluator in place
    /// (not at all once the lowered code has stopped: its value is unused).
    fn in_place(&mut self, e: &Expr) -> Value {
        if self.trapped {
            return Value::ZERO;
        }
        let r = self.eval(e);
        self.ir(r)
    }

    /// One band of `banded(x, …)`: the running `total` with the band from
    /// `lo` (to `hi`, the next band's start) at `rate` added, or `None`
    /// when `x` does not reach the band (the bands above are not reached
    /// either) or the bands are out of order (which stops the lowered code).
    #[inline]
    pub(super) fn band(&mut self, total: Decimal, x: Decimal, lo: Decimal, rate: Decimal, hi: Option<Decimal>) -> Option<Decimal> {
        use std::cmp::Ordering::{Greater, Less};
        if hi.is_some_and(|h| exact::cmp(h, lo) == Less) {
            return self.stop(None);
        }
        if exact::cmp(x, lo) != Greater {
            return None;
        }
        let top = match hi {
            Some(h) if exact::cmp(x, h) == Greater => h,
            _ => x,
        };
        let part = exact::sub(top, lo).and_then(|p| exact::mul(p, rate)).and_then(|p| exact::add(total, p));
        Some(self.checked(part))
    }

    /// `banded(x, lo at rate, …)` with every bound and rate a value (the
    /// generated code's, and the lowered code's constant bands): on the
    /// mantissas, or, where that form cannot tell, band by band ([`Ev::band`],
    /// which traps on bands out of order or an inexact step).
    #[inline]
    pub(crate) fn banded_values(&mut self, x: Decimal, bands: &[(Decimal, Decimal)]) -> Decimal {
        match exact::banded(x, bands) {
            Some(total) => total,
            None => self.banded_by_band(x, bands.len(), |i| bands.get(i).copied()),
        }
    }

    /// `banded(x, …)` over constant bands ([`exact::Band`], ascending): on
    /// the mantissas taken apart when the code was made, or band by band.
    #[inline]
    pub(crate) fn banded_k(&mut self, x: Decimal, bands: &[exact::Band]) -> Decimal {
        match exact::banded_k(x, bands) {
            Some(total) => total,
            None => self.banded_by_band(x, bands.len(), |i| bands.get(i).map(|b| (b.lo, b.rate))),
        }
    }

    /// `banded(x, …)` over `n` bands (`band(i)`: bound and rate), band by
    /// band ([`Ev::band`]): where the mantissas cannot tell.
    #[cold]
    fn banded_by_band(&mut self, x: Decimal, n: usize, band: impl Fn(usize) -> Option<(Decimal, Decimal)>) -> Decimal {
        let mut total = Decimal::ZERO;
        for i in 0..n {
            let Some((lo, rate)) = band(i) else { break };
            match self.band(total, x, lo, rate, band(i + 1).map(|b| b.0)) {
                Some(t) => total = t,
                None => break,
            }
        }
        total
    }

    /// Run one lowered expression to a value (for a frame slot or an outcome).
    pub(crate) fn run(&mut self, c: &Code) -> R<Value> {
        self.spend(c.cost)?;
        if let Some(f) = self.generated.and_then(|g| g.get(c.id as usize).copied().flatten()) {
            return self.run_generated(f);
        }
        let v = match &c.op {
            Op::Num(n) => Value::Num(self.num(n)),
            Op::Bool(b) => Value::Bool(self.boolean(b)),
            Op::Val(v) => self.val(v),
        };
        if self.trapped {
            return Err(Trap);
        }
        Ok(v)
    }

    /// A named value: memoised for the evaluation, its lowered code run
    /// the first time in its own frame region (as the IR evaluator does).
    #[inline]
    pub(super) fn global_value(&mut self, g: u32) -> Value {
        match self.s.globals.get(g as usize) {
            Some(Some(v)) => *v,
            _ => match self.global_first(g) {
                Ok(v) => v,
                Err(Trap) => self.stop(Value::ZERO),
            },
        }
    }

    #[inline(never)]
    fn global_first(&mut self, g: u32) -> R<Value> {
        if self.trapped {
            return Err(Trap);
        }
        let code = self.code.and_then(|c| c.globals.get(g as usize)).ok_or(Trap)?;
        let saved = self.base;
        let (start, size) = self.p.global_frame;
        self.global_depth += 1;
        self.base = start + size * self.global_depth;
        // a named value may read another, and so on: a chain as long as the
        // program has named values (the stack grows as in the IR evaluator);
        // the first takes no more stack than a rule's own expression, which
        // runs without the check
        let r = match self.global_depth {
            1 => self.run(code),
            _ => stacker::maybe_grow(crate::eval::expr::STACK_RED_ZONE, crate::eval::expr::STACK_SEGMENT, || self.run(code)),
        };
        self.global_depth -= 1;
        self.base = saved;
        let v = r?;
        *self.s.globals.get_mut(g as usize).ok_or(Trap)? = Some(v);
        Ok(v)
    }

    pub(crate) fn num(&mut self, n: &Num) -> Decimal {
        match n {
            Num::Const(_) | Num::Local(_) | Num::Param(..) | Num::Field(..) | Num::Paid(_) => self.num_at(n),
            Num::Arith(op, ab) => {
                let x = self.num_at(&ab.0);
                let y = self.num_at(&ab.1);
                let r = arith(*op, x, y);
                self.checked(r)
            }
            Num::ArithK(op, x, k) => {
                let x = self.num_at(x);
                let r = arith(*op, x, *k);
                self.checked(r)
            }
            Num::KArith(op, k, y) => {
                let y = self.num_at(y);
                let r = arith(*op, *k, y);
                self.checked(r)
            }
            Num::If(x) => {
                if self.bool_at(&x.0) {
                    self.num_at(&x.1)
                } else {
                    self.num_at(&x.2)
                }
            }
            Num::MaxZero(x, zero, zero_first) => {
                // `max(a, b)` is `a` if `a > b`, else `b`
                let v = self.num_at(x);
                let positive = !v.is_zero() && v.is_sign_positive();
                let negative = !v.is_zero() && v.is_sign_negative();
                match zero_first {
                    false if positive => v,
                    false => *zero,
                    true if negative => *zero,
                    true => v,
                }
            }
            Num::MinMax(min, xs) => {
                let Some((first, rest)) = xs.split_first() else { return self.stop(Decimal::ZERO) };
                let mut best = self.num_at(first);
                for x in rest.iter() {
                    let v = self.num_at(x);
                    best = if *min { exact::min(best, v) } else { exact::max(best, v) };
                }
                best
            }
            Num::Case(s, arms, default) => {
                let v = self.val_at(s);
                for (pat, x) in arms.iter() {
                    if equal(v, *pat) {
                        return self.num_at(x);
                    }
                }
                match default {
                    Some(d) => self.num(d),
                    None => self.stop(Decimal::ZERO),
                }
            }
            Num::Global(g) => {
                let v = self.global_value(*g);
                self.number(v)
            }
            Num::Neg(x) => -self.num(x),
            Num::Banded(x, bands) => {
                // as the IR evaluator does it, step for step (it reads each
                // upper bound twice: as the band's top and the next band's bottom)
                let x = self.num(x);
                let mut total = Decimal::ZERO;
                let n = bands.len();
                for i in 0..n {
                    let lo = self.num(&bands[i].0);
                    let rate = self.num(&bands[i].1);
                    let hi = if i + 1 < n { Some(self.num(&bands[i + 1].0)) } else { None };
                    match self.band(total, x, lo, rate, hi) {
                        Some(t) => total = t,
                        None => break,
                    }
                }
                total
            }
            Num::BandedK(x, bands) => {
                let x = self.num(x);
                self.banded_k(x, bands)
            }
            Num::Round(x, dp, strategy) => self.num(x).round_dp_with_strategy(*dp, *strategy),
            Num::Amount(p) => match self.s.progs.get(*p as usize) {
                Some(st) if st.error.is_none() => st.amount.unwrap_or(Decimal::ZERO),
                _ => self.stop(Decimal::ZERO),
            },
            Num::Tally(t) => self.tally(*t),
            Num::Agg(a) => {
                let mut sum = Decimal::ZERO;
                self.each(a, |this, body| {
                    let v = this.num(body);
                    let r = exact::add(sum, v);
                    sum = this.checked(r);
                    true
                });
                sum
            }
            Num::Count(a) => {
                let mut count = 0i64;
                self.each(a, |this, body| {
                    if this.boolean(body) {
                        count += 1;
                    }
                    true
                });
                Decimal::from(count)
            }
            Num::Apply(c) => self.apply(c, Decimal::ZERO, |this, body| this.num(body)),
            Num::Of(v) => {
                let v = self.val(v);
                self.number(v)
            }
            Num::Ir(e) => {
                let v = self.in_place(e);
                self.number(v)
            }
        }
    }

    /// [`Ev::num`] with its leaves read in place: a constant, a frame slot,
    /// a parameter, a field, a layer paid (an operand, without the call and
    /// its frame; these nodes' one definition, which `num` itself uses).
    #[inline(always)]
    pub(super) fn num_at(&mut self, n: &Num) -> Decimal {
        match n {
            Num::Const(d) => *d,
            Num::Local(s) => {
                let v = self.local(*s);
                self.number(v)
            }
            Num::Param(p, loc) => match self.s.params.get(*p as usize) {
                Some(Some(Value::Num(d))) => *d,
                _ => self.param_num(*p, *loc),
            },
            Num::Field(b, f, loc) => {
                let v = self.read_field(b, *f, *loc);
                self.number(v)
            }
            Num::Paid(l) => {
                let at = self.claim.map(|c| c * self.p.module.layers.len() + *l as usize);
                at.and_then(|i| self.s.layers.get(i)).copied().unwrap_or(Decimal::ZERO)
            }
            _ => self.num(n),
        }
    }

    /// [`Ev::boolean`] with its leaves read in place: a constant, a frame
    /// slot, a named value, a comparison of two numbers (an operand of `and`,
    /// `or`, `not`, `if`, without the call; these nodes' one definition,
    /// which `boolean` uses).
    #[inline(always)]
    fn bool_at(&mut self, b: &Bool) -> bool {
        match b {
            Bool::Const(b) => *b,
            Bool::Local(s) => {
                let v = self.local(*s);
                self.truth(v)
            }
            Bool::Global(g) => {
                let v = self.global_value(*g);
                self.truth(v)
            }
            Bool::CmpNum(op, ab) => {
                let x = self.num_at(&ab.0);
                let y = self.num_at(&ab.1);
                compare_ord(*op, exact::cmp(x, y))
            }
            _ => self.boolean(b),
        }
    }

    /// A parameter's first read in the evaluation.
    #[inline(never)]
    fn param_num(&mut self, p: ParamId, loc: Loc) -> Decimal {
        let r = self.param(p, loc);
        let v = self.ir(r);
        self.number(v)
    }

    pub(crate) fn boolean(&mut self, b: &Bool) -> bool {
        match b {
            Bool::Const(_) | Bool::Local(_) | Bool::Global(_) | Bool::CmpNum(..) => self.bool_at(b),
            Bool::Field(b, f, loc) => {
                let v = self.read_field(b, *f, *loc);
                self.truth(v)
            }
            Bool::Not(x) => !self.bool_at(x),
            Bool::And(ab) => self.bool_at(&ab.0) && self.bool_at(&ab.1),
            Bool::Or(ab) => self.bool_at(&ab.0) || self.bool_at(&ab.1),
            Bool::If(x) => {
                if self.boolean(&x.0) {
                    self.boolean(&x.1)
                } else {
                    self.boolean(&x.2)
                }
            }
            Bool::CmpVal(op, ab) => {
                let x = self.val_at(&ab.0);
                let y = self.val_at(&ab.1);
                // `!=` is the negation of `==` for every pair of values
                match op {
                    CmpOp::Eq => equal(x, y),
                    CmpOp::Ne => !equal(x, y),
                    _ => compare(*op, x, y),
                }
            }
            Bool::In(x, items) => {
                let v = self.val_at(x);
                for it in items.iter() {
                    let w = self.val_at(it);
                    if equal(v, w) {
                        return true;
                    }
                }
                false
            }
            Bool::Eligible(p) => match self.s.progs.get(*p as usize) {
                Some(st) if st.eligible || st.error.is_none() => st.eligible,
                _ => self.stop(false),
            },
            Bool::AnyAll(any, a) => {
                let mut found = !*any;
                self.each(a, |this, body| {
                    if this.boolean(body) == *any {
                        found = *any;
                        return false;
                    }
                    true
                });
                found
            }
            Bool::Present(base, fact) => {
                let rec = self.val(base);
                self.fact_present(rec, *fact)
            }
            Bool::PresentField(base, f, loc) => {
                let rec = self.val(base);
                self.field_present(rec, *f, *loc)
            }
            Bool::Apply(c) => self.apply(c, false, |this, body| this.boolean(body)),
            Bool::Of(v) => {
                let v = self.val(v);
                self.truth(v)
            }
            Bool::Ir(e) => {
                let v = self.in_place(e);
                self.truth(v)
            }
        }
    }

    pub(crate) fn val(&mut self, v: &Val) -> Value {
        match v {
            Val::Num(n) => Value::Num(self.num(n)),
            Val::Bool(b) => Value::Bool(self.boolean(b)),
            Val::Const(_) | Val::Local(_) | Val::Household | Val::Field(..) => self.val_at(v),
            Val::AsOf => Value::Date(self.as_of),
            Val::Global(g) => self.global_value(*g),
            Val::Apply(c) => self.apply(c, Value::ZERO, |this, body| this.val(body)),
            // out of line, each: their frames would widen every `val`'s
            Val::Builtin(c) => self.builtin_call(c),
            Val::ParamAt(p, d, loc) => self.param_on_value(*p, d, *loc),
            Val::Param(p, loc) => self.param_value(*p, *loc),
            Val::If(x) => self.val_if(x),
            Val::Ir(e) => self.in_place(e),
        }
    }

    /// [`Ev::val`] with its leaves read in place: the household, a frame
    /// slot, a constant, a field (a comparison's operands, a `case`'s
    /// subject), without the call; these nodes' one definition, which `val`
    /// uses.
    #[inline(always)]
    pub(super) fn val_at(&mut self, v: &Val) -> Value {
        match v {
            Val::Local(s) => self.local(*s),
            Val::Household => Value::Household,
            Val::Const(v) => *v,
            Val::Field(b, f, loc) => self.read_field(b, *f, *loc),
            _ => self.val(v),
        }
    }

    #[inline(never)]
    fn builtin_call(&mut self, c: &super::BuiltinCall) -> Value {
        let n = c.args.len();
        let mut vals = [Value::ZERO; MAX_BUILTIN_ARGS];
        let Some(vals) = vals.get_mut(..n) else { return self.stop(Value::ZERO) };
        for (v, a) in vals.iter_mut().zip(c.args.iter()) {
            *v = self.val(a);
        }
        self.builtin_values(c.b, vals, c.loc)
    }

    #[inline(never)]
    fn param_on_value(&mut self, p: ParamId, d: &Val, loc: Loc) -> Value {
        let d = self.val(d);
        self.param_on(p, d, loc)
    }

    #[inline(never)]
    fn val_if(&mut self, x: &(Bool, Val, Val)) -> Value {
        if self.boolean(&x.0) {
            self.val(&x.1)
        } else {
            self.val(&x.2)
        }
    }

    /// Built-in `b` on its arguments' values, by the IR evaluator's own
    /// definition (an error of it stops the code).
    #[inline]
    pub(crate) fn builtin_values(&mut self, b: Builtin, args: &[Value], loc: Loc) -> Value {
        if self.trapped {
            return Value::ZERO;
        }
        let r = builtin(b, args, self.as_of, loc);
        self.ir(r)
    }

    /// Parameter `p` in force on the date `d` (`p at d`), as the IR evaluator reads it.
    #[inline]
    pub(crate) fn param_on(&mut self, p: ParamId, d: Value, loc: Loc) -> Value {
        let Value::Date(d) = d else { return self.stop(Value::ZERO) };
        if self.trapped {
            return Value::ZERO;
        }
        let r = self.param_at(p, d, 0, loc);
        self.ir(r)
    }

    /// Parameter `p` in force, of any type: memoised, as a numeric one.
    #[inline(never)]
    pub(crate) fn param_value(&mut self, p: ParamId, loc: Loc) -> Value {
        match self.s.params.get(p as usize) {
            Some(Some(v)) => *v,
            _ => {
                let r = self.param(p, loc);
                self.ir(r)
            }
        }
    }

    /// `present(r.fact)` of declared fact `fact` on record `rec`: whether
    /// the record carries it (a record that is not one stops the code).
    #[inline]
    pub(super) fn fact_present(&mut self, rec: Value, fact: u16) -> bool {
        match self.s.bound.cell(&self.p.facts, rec, fact) {
            Some(Cell::Absent) => false,
            Some(_) => true,
            None => self.stop(false),
        }
    }

    /// `present(r.f)` of field `f` of the core model on record `rec`:
    /// whether the record gives it, as the IR evaluator tells (its read is
    /// not absent); a record that is not one stops the code.
    #[inline]
    pub(crate) fn field_present(&mut self, rec: Value, f: Field, loc: Loc) -> bool {
        if self.trapped {
            return false;
        }
        match self.field_as::<Presence>(rec, f, loc) {
            Ok(_) => true,
            Err(Presence::Absent) => false,
            Err(Presence::Bad) => self.stop(false),
        }
    }

    /// A call of a policy function, as the IR evaluator makes it: the
    /// arguments evaluated here and bound to the function's frame, the body
    /// run there ([`Ev::call_with`]).
    fn apply<B, T>(&mut self, c: &Call<B>, stopped: T, body: impl FnOnce(&mut Self, &B) -> T) -> T {
        let n = c.args.len();
        let mut vals = [Value::ZERO; MAX_FN_PARAMS];
        let Some(vals) = vals.get_mut(..n) else { return self.stop(stopped) };
        for (v, a) in vals.iter_mut().zip(c.args.iter()) {
            *v = self.val(a);
        }
        self.call_with(c.f, vals, stopped, |this| body(this, &c.body))
    }

    /// Run `body` as function `f` called with `args`, as the IR evaluator
    /// calls it: the arguments bound to the function's region of the frame,
    /// the frame base moved there, on a stack grown as the IR evaluator
    /// grows it for a call; the lowered walk's calls and the generated
    /// code's ([`super::native::Rt::call`]) both come here.
    #[inline]
    pub(crate) fn call_with<T>(&mut self, f: FnId, args: &[Value], stopped: T, body: impl FnOnce(&mut Self) -> T) -> T {
        if args.len() > MAX_FN_PARAMS {
            return self.stop(stopped);
        }
        let Some(&start) = self.p.fn_frames.get(f as usize) else { return self.stop(stopped) };
        let Some(frame) = self.s.frame.get_mut(start..start + args.len()) else { return self.stop(stopped) };
        frame.copy_from_slice(args);
        let saved = self.base;
        self.base = start;
        let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || body(self));
        self.base = saved;
        r
    }

    /// Bind each item of an aggregation's collection (that passes its
    /// filter) to its slot and run `body` on it, while `body` says go on
    /// (and nothing stopped).
    #[inline]
    pub(super) fn each<B>(&mut self, a: &Agg<B>, mut body: impl FnMut(&mut Self, &B) -> bool) {
        let base = self.val(&a.base);
        let h = self.h;
        let n = a.over.len(h, base);
        let fi = self.base + a.slot as usize;
        if fi >= self.s.frame.len() {
            self.stop(());
            return;
        }
        for i in 0..n {
            if self.trapped || self.spend(a.per_item).is_err() {
                self.stop(());
                return;
            }
            let Some(item) = a.over.item(h, base, i) else { return self.stop(()) };
            self.s.frame[fi] = item;
            if let Some(f) = &a.filter {
                if !self.boolean(f) {
                    continue;
                }
                self.s.frame[fi] = item;
            }
            if !body(self, &a.body) {
                break;
            }
        }
    }
}

/// Why a field could not be read, as `present(…)` needs to know it: absent
/// from its record, or not the field of a record.
enum Presence {
    Absent,
    Bad,
}

impl crate::eval::expr::FieldError for Presence {
    fn absent(_: &Ev<'_>, _: Value, _: &str, _: Loc) -> Self {
        Presence::Absent
    }
    fn bad(_: Loc) -> Self {
        Presence::Bad
    }
}
