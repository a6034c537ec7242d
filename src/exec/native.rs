//! The runtime of generated code ([`crate::codegen`]): what a generated
//! function calls to read the household, the parameters and the frame, and
//! to do the arithmetic the lowered code does, with the same checks.
//!
//! A generated function is the native form of one lowered expression
//! ([`super::Code`]): the evaluator charges its cost and calls it where it
//! would have walked the lowered nodes, and treats what it returns exactly
//! as the walk's value. Each operation here is the lowered code's own
//! (`run.rs`), so a generated function traps where the walk traps, and a
//! trap hands the evaluation to the IR evaluator as it always does. Nothing
//! here is for hand-written code: the signatures follow what the generator
//! emits, and change with it (the fingerprint refuses a stale generated
//! engine, [`crate::codegen::Generated`]).

use super::{Over, Trap, R};
use crate::check::schema::Field;
use crate::eval::exact;
use crate::eval::expr::compare as compare_values;
use crate::eval::Ev;
use crate::ir::{CmpOp, Loc};
use crate::syntax::ast::Span;
use crate::value::Value;
use rust_decimal::Decimal;

pub use super::Over as O;
pub use crate::check::schema::Field as F;
pub use crate::check::Effect as E;
pub use crate::eval::exact::Band;
pub use crate::ir::Builtin as B;
pub use crate::ir::CmpOp as Cmp;
pub use crate::value::Value as V;
pub use rust_decimal::{Decimal as D, RoundingStrategy as Rounding};

/// A generated function: the native form of one lowered expression.
pub type GenFn = fn(&mut Rt<'_, '_>) -> Value;

/// A generated rule: its lets, condition and outcome values in one native
/// function, which says whether the condition held, and then, nothing
/// having trapped, has applied its outcomes ([`Rt::apply`]). The evaluator
/// reads the trap flag after it, as after any generated function.
pub type RuleFn = fn(&mut Rt<'_, '_>) -> bool;

/// The evaluator's state as a generated function sees it.
pub struct Rt<'r, 'a> {
    pub(crate) ev: &'r mut Ev<'a>,
}

/// A comparison of two values of any type, as the IR evaluator compares them.
#[inline(always)]
pub fn cmp(op: CmpOp, x: Value, y: Value) -> bool {
    compare_values(op, x, y)
}

/// `x == y`, as the IR evaluator compares them: for a constant `y` of plain
/// equality (an enumeration value, a symbol, a bool, a text) a test of `x`'s
/// variant and payload.
#[inline(always)]
pub fn eq(x: Value, y: Value) -> bool {
    super::equal(x, y)
}

/// A comparison of two numbers, as the IR evaluator compares them.
#[inline(always)]
pub fn cmp_num(op: CmpOp, x: Decimal, y: Decimal) -> bool {
    crate::eval::expr::compare_ord(op, exact::cmp(x, y))
}

/// `min(x, y)`, as the IR evaluator chooses (`x` on a tie).
#[inline(always)]
pub fn min_num(x: Decimal, y: Decimal) -> Decimal {
    exact::min(x, y)
}

/// `max(x, y)`, as the IR evaluator chooses (`x` on a tie).
#[inline(always)]
pub fn max_num(x: Decimal, y: Decimal) -> Decimal {
    exact::max(x, y)
}

#[inline(always)]
fn loc(file: u32, start: u32, end: u32) -> Loc {
    Loc { file, span: Span { start, end } }
}

impl Rt<'_, '_> {
    /// Charge `n` steps of the budget: `false` (and a trap) when it is spent.
    #[inline(always)]
    pub fn spend(&mut self, n: u64) -> bool {
        if self.ev.spend(n).is_err() {
            self.ev.stop(());
            return false;
        }
        true
    }
    /// The code stopped somewhere: its value is a placeholder, unused.
    #[inline(always)]
    pub fn trapped(&self) -> bool {
        self.ev.trapped
    }
    /// Apply an outcome of rule `r`, which fired for the subject it runs
    /// for, with its value (zero for an outcome without one), as the
    /// evaluator applies the outcomes of a rule that fired.
    #[inline(always)]
    pub fn apply(&mut self, r: u32, e: crate::check::Effect, v: Value) {
        let subject = self.ev.subject;
        self.ev.apply_outcome(r, subject, e, Some(v));
    }
    /// A frame slot.
    #[inline(always)]
    pub fn local(&mut self, slot: u16) -> Value {
        self.ev.local(slot)
    }
    /// A value that must be a number.
    #[inline(always)]
    pub fn num(&mut self, v: Value) -> Decimal {
        self.ev.number(v)
    }
    /// A value that must be a bool.
    #[inline(always)]
    pub fn truth(&mut self, v: Value) -> bool {
        self.ev.truth(v)
    }
    /// A numeric parameter in force.
    #[inline(always)]
    pub fn param(&mut self, p: u32, file: u32, start: u32, end: u32) -> Decimal {
        match self.ev.s.params.get(p as usize) {
            Some(Some(Value::Num(d))) => *d,
            _ => self.param_first(p, loc(file, start, end)),
        }
    }
    #[inline(never)]
    fn param_first(&mut self, p: u32, at: Loc) -> Decimal {
        let r = self.ev.param(p, at);
        let v = self.ev.ir(r);
        self.ev.number(v)
    }
    /// A named value.
    #[inline(always)]
    pub fn global(&mut self, g: u32) -> Value {
        self.ev.global_value(g)
    }
    /// Field `f` of the entity `base`.
    #[inline(always)]
    pub fn field(&mut self, base: Value, f: Field, file: u32, start: u32, end: u32) -> Value {
        // a field every record has: the read itself, `f` being a constant here
        match self.ev.field_plain(base, f) {
            Some(v) => v,
            None => self.field_other(base, f, loc(file, start, end)),
        }
    }
    /// A field that may be absent, a declared fact, or a record not there.
    #[inline(never)]
    fn field_other(&mut self, base: Value, f: Field, at: Loc) -> Value {
        match self.ev.field_as::<super::Trap>(base, f, at) {
            Ok(v) => v,
            Err(super::Trap) => self.ev.stop(Value::ZERO),
        }
    }
    /// `x + y`, exactly, or a trap.
    #[inline(always)]
    pub fn add(&mut self, x: Decimal, y: Decimal) -> Decimal {
        let r = exact::add(x, y);
        self.ev.checked(r)
    }
    /// `x - y`, exactly, or a trap.
    #[inline(always)]
    pub fn sub(&mut self, x: Decimal, y: Decimal) -> Decimal {
        let r = exact::sub(x, y);
        self.ev.checked(r)
    }
    /// `x * y`, exactly, or a trap.
    #[inline(always)]
    pub fn mul(&mut self, x: Decimal, y: Decimal) -> Decimal {
        let r = exact::mul(x, y);
        self.ev.checked(r)
    }
    /// `x / y`, exactly, or a trap (a zero divisor among them).
    #[inline(always)]
    pub fn div(&mut self, x: Decimal, y: Decimal) -> Decimal {
        let r = if y.is_zero() { None } else { exact::div(x, y) };
        self.ev.checked(r)
    }
    /// `max(x, 0)` (`zero_first` false) or `max(0, x)` with that zero:
    /// `max`'s choice on a tie is the later argument.
    #[inline(always)]
    pub fn max_zero(&mut self, v: Decimal, zero: Decimal, zero_first: bool) -> Decimal {
        let positive = !v.is_zero() && v.is_sign_positive();
        let negative = !v.is_zero() && v.is_sign_negative();
        match zero_first {
            false if positive => v,
            false => zero,
            true if negative => zero,
            true => v,
        }
    }
    /// The value could not be computed here (a `case` no arm matched):
    /// a trap, with a placeholder.
    #[inline(always)]
    pub fn trap_num(&mut self) -> Decimal {
        self.ev.stop(Decimal::ZERO)
    }
    /// `banded(x, lo at rate, …)` with every bound and rate evaluated,
    /// bands ascending (else a trap), as the lowered code computes it.
    #[inline]
    pub fn banded(&mut self, x: Decimal, bands: &[(Decimal, Decimal)]) -> Decimal {
        self.ev.banded_values(x, bands)
    }
    /// `banded(x, …)` over constant bands, ascending, as the lowered code
    /// computes it (`Num::BandedK`).
    #[inline]
    pub fn banded_k(&mut self, x: Decimal, bands: &[Band]) -> Decimal {
        self.ev.banded_k(x, bands)
    }
    /// `amount(P)`
    #[inline(always)]
    pub fn amount(&mut self, p: u32) -> Decimal {
        match self.ev.s.progs.get(p as usize) {
            Some(st) if st.error.is_none() => st.amount.unwrap_or(Decimal::ZERO),
            _ => self.ev.stop(Decimal::ZERO),
        }
    }
    /// `present(r.fact)` of a declared fact.
    #[inline(always)]
    pub fn present(&mut self, rec: Value, fact: u16) -> bool {
        self.ev.fact_present(rec, fact)
    }
    /// `present(r.f)` of a field of the core model.
    #[inline(always)]
    pub fn present_field(&mut self, rec: Value, f: Field, file: u32, start: u32, end: u32) -> bool {
        self.ev.field_present(rec, f, loc(file, start, end))
    }
    /// `eligible(P)`
    #[inline(always)]
    pub fn eligible(&mut self, p: u32) -> bool {
        match self.ev.s.progs.get(p as usize) {
            Some(st) if st.eligible || st.error.is_none() => st.eligible,
            _ => self.ev.stop(false),
        }
    }
    /// `paid.LAYER` on the current claim.
    #[inline(always)]
    pub fn paid(&mut self, l: u32) -> Decimal {
        let ev = &*self.ev;
        let at = ev.claim.map(|c| c * ev.p.module.layers.len() + l as usize);
        at.and_then(|i| ev.s.layers.get(i)).copied().unwrap_or(Decimal::ZERO)
    }
    /// A tally on the current claim.
    #[inline(always)]
    pub fn tally(&mut self, t: u32) -> Decimal {
        self.ev.tally(t)
    }
    /// The assessment date.
    #[inline(always)]
    pub fn as_of(&mut self) -> Value {
        Value::Date(self.ev.as_of)
    }
    /// A date constant (days since 0001-01-01 counted from 1).
    #[inline]
    pub fn date(&mut self, days_from_ce: i32) -> Value {
        match chrono::NaiveDate::from_num_days_from_ce_opt(days_from_ce) {
            Some(d) => Value::Date(d),
            None => self.ev.stop(Value::ZERO),
        }
    }
    /// A call of policy function `f` with its arguments evaluated: bound
    /// to the function's frame and `body` (the function's generated body)
    /// run there, as the lowered code calls it ([`Ev::call_with`]);
    /// `stopped` is the placeholder of a call that could not be made.
    #[inline(always)]
    pub fn call<T>(&mut self, f: u32, args: &[Value], stopped: T, body: fn(&mut Rt<'_, '_>) -> T) -> T {
        self.ev.call_with(f, args, stopped, |ev| body(&mut Rt { ev }))
    }
    /// Built-in `b` on its arguments' values, by the IR evaluator's definition.
    #[inline(always)]
    pub fn builtin(&mut self, b: crate::ir::Builtin, args: &[Value], file: u32, start: u32, end: u32) -> Value {
        self.ev.builtin_values(b, args, loc(file, start, end))
    }
    /// Parameter `p` in force on the date `d` (`p at d`).
    #[inline(always)]
    pub fn param_on(&mut self, p: u32, d: Value, file: u32, start: u32, end: u32) -> Value {
        self.ev.param_on(p, d, loc(file, start, end))
    }
    /// A parameter in force of a type other than a number or a bool.
    #[inline(always)]
    pub fn param_value(&mut self, p: u32, file: u32, start: u32, end: u32) -> Value {
        self.ev.param_value(p, loc(file, start, end))
    }
    /// How many items an aggregation over `over` of `base` visits (its
    /// frame slot checked once; a trap, and none, if out of the frame).
    #[inline(always)]
    pub fn items(&mut self, over: Over, base: Value, slot: u16) -> usize {
        let n = over.len(self.ev.h, base);
        if self.ev.base + slot as usize >= self.ev.s.frame.len() {
            return self.ev.stop(0);
        }
        n
    }
    /// Charge one item's steps and bind item `i` to the slot: `false` when
    /// the evaluation cannot go on (the loop ends).
    #[inline(always)]
    pub fn bind(&mut self, over: Over, base: Value, i: usize, slot: u16, per_item: u64) -> bool {
        if self.ev.trapped || self.ev.spend(per_item).is_err() {
            self.ev.stop(());
            return false;
        }
        self.rebind(over, base, i, slot)
    }
    /// Bind item `i` to the slot again (after the filter ran).
    #[inline(always)]
    pub fn rebind(&mut self, over: Over, base: Value, i: usize, slot: u16) -> bool {
        let Some(item) = over.item(self.ev.h, base, i) else { return self.ev.stop(false) };
        match self.ev.s.frame.get_mut(self.ev.base + slot as usize) {
            Some(s) => {
                *s = item;
                true
            }
            None => self.ev.stop(false),
        }
    }
}

impl Ev<'_> {
    /// Run a generated rule: whether its condition held, or the trap.
    #[inline(always)]
    pub(crate) fn run_generated_rule(&mut self, f: RuleFn) -> R<bool> {
        let held = f(&mut Rt { ev: self });
        if self.trapped {
            return Err(Trap);
        }
        Ok(held)
    }

    /// Run the generated form of a lowered expression (its cost charged by the caller).
    #[inline(always)]
    pub(super) fn run_generated(&mut self, f: GenFn) -> R<Value> {
        let v = f(&mut Rt { ev: self });
        if self.trapped {
            return Err(Trap);
        }
        Ok(v)
    }
}
