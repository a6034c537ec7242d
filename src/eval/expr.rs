//! Expression evaluation.

use super::exact::{self, Q};
use super::facts::{Bound, Cell};
use super::{num, Clamp, Ev, EvalError, Origin};
use crate::assessment::TraceEvent;
use crate::check::schema::Field;
use crate::check::types::{EnumTy, Ty};
use crate::check::MAX_FN_PARAMS;
use crate::ir::{ArithOp, Builtin, CmpOp, Collection, Expr, ExprKind, FnId, Loc, ParamId};
use crate::syntax::ast::{AggKind, RoundMode, RoundUnit};
use crate::value::Value;
use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

/// Evaluating a named value or a parameter may read another, and so on along
/// a chain as long as the program has values. At each such step, when less
/// than this much stack is left, evaluation continues on a new segment of
/// [`STACK_SEGMENT`] bytes (an expression between two steps is at most
/// `syntax::limits::MAX_EXPR_DEPTH` deep, far less than this).
pub(crate) const STACK_RED_ZONE: usize = 512 * 1024;
/// The size of each further stack segment.
pub(crate) const STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// How a failed field read is reported ([`Ev::field_as`]).
pub(crate) trait FieldError: Sized {
    /// The field is absent from the record `b`.
    fn absent(ev: &Ev<'_>, b: Value, name: &str, loc: Loc) -> Self;
    /// `b` is not a record of the household.
    fn bad(loc: Loc) -> Self;
}

impl FieldError for EvalError {
    fn absent(ev: &Ev<'_>, b: Value, name: &str, loc: Loc) -> Self {
        EvalError::Absent { field: name.to_string(), subject: Some(ev.describe(b)), loc }
    }
    fn bad(loc: Loc) -> Self {
        EvalError::Invalid { message: "field of a missing record".into(), loc }
    }
}

impl FieldError for crate::exec::Trap {
    fn absent(_: &Ev<'_>, _: Value, _: &str, _: Loc) -> Self {
        crate::exec::Trap
    }
    fn bad(_: Loc) -> Self {
        crate::exec::Trap
    }
}

impl<'a> Ev<'a> {
    /// Evaluate an operand: leaves (constants, locals, memoised parameters
    /// and named values) are read in place; anything else goes through
    /// [`Ev::eval`]. Leaves do no work the step budget needs to bound (their
    /// parent pays for them).
    // Same error type as `eval` (whose size is a question for `EvalError` as a whole).
    #[allow(clippy::result_large_err)]
    #[inline(always)]
    pub(crate) fn ev(&mut self, e: &Expr) -> Result<Value, EvalError> {
        match &e.kind {
            ExprKind::Const(v) => Ok(*v),
            ExprKind::Local(slot) => match self.frame_index(*slot) {
                Some(i) => Ok(self.s.frame[i]),
                None => self.eval(e),
            },
            ExprKind::Param(p) if self.param_date.is_none() => match self.s.params.get(*p as usize) {
                Some(Some(v)) => Ok(*v),
                // with the trace on a parameter is memoised with its reads:
                // read in place too (the reads replayed), so that tracing
                // charges the step budget what an untraced run charges
                _ if self.s.trace.is_some() && self.s.traced_params.get(*p as usize).is_some_and(Option::is_some) => self.param(*p, e.loc),
                _ => self.eval(e),
            },
            ExprKind::Global(g) => match self.s.globals.get(*g as usize) {
                Some(Some(v)) => Ok(*v),
                _ if self.s.trace.is_some() && self.s.traced_globals.get(*g as usize).is_some_and(Option::is_some) => self.global(*g),
                _ => self.eval(e),
            },
            _ => self.eval(e),
        }
    }

    /// Evaluate an expression.
    pub(crate) fn eval(&mut self, e: &Expr) -> Result<Value, EvalError> {
        if self.s.fuel == 0 {
            return Err(EvalError::Budget { limit: self.s.budget });
        }
        self.s.fuel -= 1;
        let loc = e.loc;
        Ok(match &e.kind {
            ExprKind::Const(v) => *v,
            ExprKind::Param(p) => match self.param_date {
                Some(d) if d != self.params_on => self.param_at(*p, d, 0, loc)?,
                _ => self.param(*p, loc)?,
            },
            ExprKind::ParamAt(p, d) => {
                let d = date(self.eval(d)?, loc)?;
                self.param_at(*p, d, 0, loc)?
            }
            ExprKind::Previous => {
                let Some((p, di, from)) = self.prev else {
                    return Err(EvalError::Invalid { message: "`previous` outside a parameter series".into(), loc });
                };
                let day_before = from.checked_sub_days(Days::new(1)).ok_or(EvalError::DateOutOfRange { loc })?;
                self.param_at(p, day_before, di, loc)?
            }
            ExprKind::Global(g) => self.global(*g)?,
            ExprKind::Local(slot) => match self.frame_index(*slot) {
                Some(i) => self.s.frame[i],
                None => return Err(EvalError::Invalid { message: "local slot out of range".into(), loc }),
            },
            ExprKind::AsOf => Value::Date(self.as_of),
            ExprKind::Household => Value::Household,
            ExprKind::Field(base, f) => {
                let b = self.ev(base)?;
                let v = self.field(b, *f, loc)?;
                if self.s.trace.is_some() {
                    self.note_default(b, *f, v);
                }
                v
            }
            ExprKind::Neg(x) => Value::Num(-num(self.ev(x)?)),
            ExprKind::Not(x) => Value::Bool(!truth(self.ev(x)?)),
            ExprKind::And(a, b) => Value::Bool(truth(self.ev(a)?) && truth(self.ev(b)?)),
            ExprKind::Or(a, b) => Value::Bool(truth(self.ev(a)?) || truth(self.ev(b)?)),
            ExprKind::Arith(op, a, b) => {
                // an operand with no exact decimal value: the whole expression, exactly
                let x = match self.ev(a) {
                    Ok(v) => num(v),
                    Err(EvalError::Inexact { .. }) => return self.exact(e),
                    Err(err) => return Err(err),
                };
                let y = match self.ev(b) {
                    Ok(v) => num(v),
                    Err(EvalError::Inexact { .. }) => return self.exact(e),
                    Err(err) => return Err(err),
                };
                Value::Num(arith(*op, x, y, loc)?)
            }
            ExprKind::Cmp(op, a, b) => {
                let x = self.ev(a);
                let y = match x {
                    Ok(_) => self.ev(b),
                    Err(_) => Ok(Value::ZERO),
                };
                match (x, y) {
                    (Ok(x), Ok(y)) => Value::Bool(compare(*op, x, y)),
                    (Err(EvalError::Inexact { .. }), _) | (_, Err(EvalError::Inexact { .. })) => {
                        let (x, y) = (self.ev_q(a)?, self.ev_q(b)?);
                        Value::Bool(compare_ord(*op, x.cmp(&y)))
                    }
                    (Err(err), _) | (_, Err(err)) => return Err(err),
                }
            }
            ExprKind::In(x, items) => {
                let v = self.ev(x)?;
                let mut found = false;
                for it in items.iter() {
                    if compare(CmpOp::Eq, v, self.ev(it)?) {
                        found = true;
                        break;
                    }
                }
                Value::Bool(found)
            }
            ExprKind::If(c, a, b) => {
                if truth(self.ev(c)?) {
                    self.ev(a)?
                } else {
                    self.ev(b)?
                }
            }
            ExprKind::Case(s, arms, default) => {
                let v = self.ev(s)?;
                for (pat, val) in arms.iter() {
                    if compare(CmpOp::Eq, v, self.ev(pat)?) {
                        return self.ev(val);
                    }
                }
                match default {
                    Some(d) => self.ev(d)?,
                    None => return Err(EvalError::Invalid { message: "no `case` arm matches and there is no `else`".into(), loc }),
                }
            }
            ExprKind::Call(b, args) => match self.call(*b, args, loc) {
                Err(EvalError::Inexact { .. }) if numeric_builtin(*b, args) => return self.exact(e),
                r => r?,
            },
            ExprKind::Apply(f, args) => {
                let saved = self.enter(*f, args, loc)?;
                let body = &self.p.module.functions[*f as usize].body;
                let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.eval(body));
                self.base = saved;
                r?
            }
            ExprKind::Agg { kind, slot, coll, base, filter, body } => {
                self.aggregate(*kind, *slot, *coll, base, filter.as_deref(), body, e.ty, loc)?
            }
            ExprKind::Banded(..) => match self.banded(e) {
                Err(EvalError::Inexact { .. }) => return self.exact(e),
                r => r?,
            },
            ExprKind::Round(x, unit, mode) => {
                let dp = decimal_places(*unit);
                match self.eval(x) {
                    Ok(v) => {
                        let strategy = match mode {
                            RoundMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
                            RoundMode::Up => RoundingStrategy::AwayFromZero,
                            RoundMode::Down => RoundingStrategy::ToZero,
                        };
                        Value::Num(num(v).round_dp_with_strategy(dp, strategy))
                    }
                    // round the exact value
                    Err(EvalError::Inexact { .. }) => {
                        let q = self.ev_q(x)?;
                        Value::Num(q.round(dp, *mode).ok_or(EvalError::Overflow { loc })?)
                    }
                    Err(err) => return Err(err),
                }
            }
            ExprKind::Eligible(p) => {
                let st = self.s.progs.get(*p as usize).copied().unwrap_or_default();
                // unknown eligibility propagates the error that made it unknown
                match (st.eligible, st.error) {
                    (false, Some(i)) => {
                        return Err(self
                            .s
                            .errors
                            .get(i as usize)
                            .cloned()
                            .unwrap_or(EvalError::Invalid { message: "unknown eligibility".into(), loc }))
                    }
                    (b, _) => Value::Bool(b),
                }
            }
            ExprKind::Amount(p) => {
                let st = self.s.progs.get(*p as usize).copied().unwrap_or_default();
                if let Some(i) = st.error {
                    return Err(self
                        .s
                        .errors
                        .get(i as usize)
                        .cloned()
                        .unwrap_or(EvalError::Invalid { message: "unknown amount".into(), loc }));
                }
                Value::Num(st.amount.unwrap_or(Decimal::ZERO))
            }
            ExprKind::Paid(l) => {
                let at = self.claim.map(|c| c * self.p.module.layers.len() + *l as usize);
                Value::Num(at.and_then(|i| self.s.layers.get(i)).copied().unwrap_or(Decimal::ZERO))
            }
            ExprKind::Tally(t) => Value::Num(self.tally(*t)),
        })
    }

    /// Enter a call of function `f`: evaluate every argument (in the
    /// caller's frame), then bind them to the function's own frame region;
    /// returns the caller's frame base to restore. No recursion (the checker
    /// rejects it) means the region is free; the arguments wait in a fixed
    /// array, so nothing allocates.
    fn enter(&mut self, f: FnId, args: &[Expr], loc: Loc) -> Result<usize, EvalError> {
        let p = self.p;
        let (Some(&start), true) = (p.fn_frames.get(f as usize), args.len() <= MAX_FN_PARAMS) else {
            return Err(EvalError::Invalid { message: "call of an unknown function".into(), loc });
        };
        let mut vals = [Value::ZERO; MAX_FN_PARAMS];
        for (v, a) in vals.iter_mut().zip(args) {
            *v = self.ev(a)?;
        }
        let Some(frame) = self.s.frame.get_mut(start..start + args.len()) else {
            return Err(EvalError::Invalid { message: "function frame out of range".into(), loc });
        };
        frame.copy_from_slice(&vals[..args.len()]);
        let saved = self.base;
        self.base = start;
        Ok(saved)
    }

    /// `banded(x, lo: rate, …)` over decimals (each step exact or an error).
    fn banded(&mut self, e: &Expr) -> Result<Value, EvalError> {
        let loc = e.loc;
        let ExprKind::Banded(v, bands) = &e.kind else { return Err(EvalError::Invalid { message: "not a band table".into(), loc }) };
        let x = num(self.ev(v)?);
        let mut total = Decimal::ZERO;
        let n = bands.len();
        for i in 0..n {
            let lo = num(self.ev(&bands[i].0)?);
            let rate = num(self.ev(&bands[i].1)?);
            let hi = if i + 1 < n { Some(num(self.ev(&bands[i + 1].0)?)) } else { None };
            if let Some(h) = hi {
                if h < lo {
                    return Err(EvalError::Invalid { message: format!("bands out of order: {h} after {lo}"), loc });
                }
            }
            if x <= lo {
                break;
            }
            let top = match hi {
                Some(h) if x > h => h,
                _ => x,
            };
            let part = arith(ArithOp::Sub, top, lo, loc)?;
            total = arith(ArithOp::Add, total, arith(ArithOp::Mul, part, rate, loc)?, loc)?;
        }
        Ok(Value::Num(total))
    }

    /// Evaluate a numeric expression exactly and store it: the decimal it
    /// is, or [`EvalError::Inexact`] at the expression.
    #[cold]
    #[inline(never)]
    fn exact(&mut self, e: &Expr) -> Result<Value, EvalError> {
        let q = self.ev_q(e)?;
        Ok(Value::Num(exact::to_decimal(q, e.loc)?))
    }

    /// Evaluate a numeric expression over exact rationals. Arithmetic and the
    /// numeric built-ins stay exact; everything else (stored values, fields,
    /// parameters, aggregates) is its decimal, or its error again.
    #[cold]
    #[inline(never)]
    pub(crate) fn ev_q(&mut self, e: &Expr) -> Result<Q, EvalError> {
        let loc = e.loc;
        let exact_kind = matches!(
            &e.kind,
            ExprKind::Arith(..) | ExprKind::Neg(_) | ExprKind::If(..) | ExprKind::Round(..) | ExprKind::Banded(..) | ExprKind::Apply(..)
        ) || matches!(&e.kind, ExprKind::Call(b, args) if numeric_builtin(*b, args));
        if !exact_kind {
            return Ok(Q::from_decimal(num(self.ev(e)?)));
        }
        if self.s.fuel == 0 {
            return Err(EvalError::Budget { limit: self.s.budget });
        }
        self.s.fuel -= 1;
        let overflow = || EvalError::Overflow { loc };
        match &e.kind {
            ExprKind::Arith(op, a, b) => {
                let x = self.ev_q(a)?;
                let y = self.ev_q(b)?;
                exact::q_arith(*op, x, y, loc)
            }
            ExprKind::Neg(x) => self.ev_q(x)?.neg().ok_or_else(overflow),
            // a numeric result, exactly: the body over rationals (the arguments are bound values)
            ExprKind::Apply(f, args) if e.ty.is_numeric() => {
                let saved = self.enter(*f, args, loc)?;
                let body = &self.p.module.functions[*f as usize].body;
                let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.ev_q(body));
                self.base = saved;
                r
            }
            ExprKind::Apply(..) => Ok(Q::from_decimal(num(self.ev(e)?))),
            ExprKind::If(c, a, b) => {
                if truth(self.ev(c)?) {
                    self.ev_q(a)
                } else {
                    self.ev_q(b)
                }
            }
            ExprKind::Round(x, unit, mode) => {
                let dp = decimal_places(*unit);
                let q = self.ev_q(x)?;
                Ok(Q::from_decimal(q.round(dp, *mode).ok_or_else(overflow)?))
            }
            ExprKind::Banded(v, bands) => {
                let x = self.ev_q(v)?;
                let mut total = Q::from_int(0);
                let n = bands.len();
                for i in 0..n {
                    let lo = self.ev_q(&bands[i].0)?;
                    let rate = self.ev_q(&bands[i].1)?;
                    let hi = if i + 1 < n { Some(self.ev_q(&bands[i + 1].0)?) } else { None };
                    if let Some(h) = hi {
                        if h < lo {
                            return Err(EvalError::Invalid {
                                message: format!("bands out of order: {} after {}", h.describe(), lo.describe()),
                                loc,
                            });
                        }
                    }
                    if x <= lo {
                        break;
                    }
                    let top = match hi {
                        Some(h) if x > h => h,
                        _ => x,
                    };
                    let part = top.sub(lo).and_then(|p| p.mul(rate)).ok_or_else(overflow)?;
                    total = total.add(part).ok_or_else(overflow)?;
                }
                Ok(total)
            }
            ExprKind::Call(b, args) => {
                let arg = |this: &mut Self, i: usize| -> Result<Q, EvalError> {
                    match args.get(i) {
                        Some(a) => this.ev_q(a),
                        None => Err(EvalError::Invalid { message: "missing argument".into(), loc }),
                    }
                };
                match b {
                    Builtin::Min | Builtin::Max => {
                        let mut best = arg(self, 0)?;
                        for i in 1..args.len() {
                            let v = arg(self, i)?;
                            best = if *b == Builtin::Min { best.min(v) } else { best.max(v) };
                        }
                        Ok(best)
                    }
                    Builtin::Clamp => {
                        let x = arg(self, 0)?;
                        let lo = arg(self, 1)?;
                        let hi = arg(self, 2)?;
                        if hi < lo {
                            return Err(EvalError::Invalid {
                                message: format!("clamp: upper bound {} is below lower bound {}", hi.describe(), lo.describe()),
                                loc,
                            });
                        }
                        Ok(x.max(lo).min(hi))
                    }
                    Builtin::Abs => arg(self, 0)?.abs().ok_or_else(overflow),
                    Builtin::Monthly => arg(self, 0)?.div(Q::from_int(12)).ok_or_else(overflow),
                    Builtin::Yearly => arg(self, 0)?.mul(Q::from_int(12)).ok_or_else(overflow),
                    Builtin::Yuan | Builtin::ToRate | Builtin::ToDecimal => arg(self, 0),
                    Builtin::Interest => {
                        let p = arg(self, 0)?;
                        let r = arg(self, 1)?;
                        let a = args.get(2).map(|x| self.ev(x)).transpose()?;
                        let c = args.get(3).map(|x| self.ev(x)).transpose()?;
                        let (Some(a), Some(c)) = (a, c) else {
                            return Err(EvalError::Invalid { message: "missing argument".into(), loc });
                        };
                        let days = (date(c, loc)? - date(a, loc)?).num_days().max(0);
                        p.mul(r).and_then(|x| x.mul(Q::from_int(days))).and_then(|x| x.div(Q::from_int(360))).ok_or_else(overflow)
                    }
                    _ => Ok(Q::from_decimal(num(self.ev(e)?))),
                }
            }
            _ => Ok(Q::from_decimal(num(self.ev(e)?))),
        }
    }

    pub(crate) fn global(&mut self, g: u32) -> Result<Value, EvalError> {
        if let Some(Some(v)) = self.s.globals.get(g as usize) {
            return Ok(*v);
        }
        if self.s.trace.is_some() {
            return self.global_traced(g);
        }
        let v = self.global_body(g)?;
        if let Some(slot) = self.s.globals.get_mut(g as usize) {
            *slot = Some(v);
        }
        Ok(v)
    }

    /// Evaluate named value `g`'s expression in its own frame.
    fn global_body(&mut self, g: u32) -> Result<Value, EvalError> {
        let p = self.p;
        let Some(def) = p.module.globals.get(g as usize) else { return Err(unknown_global(g)) };
        let saved = self.base;
        let (start, size) = p.global_frame;
        self.global_depth += 1;
        self.base = start + size * self.global_depth;
        let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.eval(&def.expr));
        self.global_depth -= 1;
        self.base = saved;
        r
    }

    /// A named value with tracing on: memoised with what computing it read,
    /// and recorded (with those reads) for the current rule.
    #[cold]
    #[inline(never)]
    fn global_traced(&mut self, g: u32) -> Result<Value, EvalError> {
        let p = self.p;
        let Some(def) = p.module.globals.get(g as usize) else { return Err(unknown_global(g)) };
        if let Some(v) = replay(self.s.traced_globals.get(g as usize), &mut self.s.reads) {
            return Ok(v);
        }
        let mark = self.s.reads.len();
        let v = self.global_body(g)?;
        let shown = self.show(v, def.expr.ty);
        self.s.reads.push(super::ReadEv::Named(def.name.clone(), shown));
        let reads = self.s.reads.get(mark..).map(<[_]>::to_vec).unwrap_or_default();
        if let Some(slot) = self.s.traced_globals.get_mut(g as usize) {
            *slot = Some((v, reads));
        }
        Ok(v)
    }

    /// A parameter on the assessment date with tracing on: memoised with what
    /// reading it read (its definition may read other parameters).
    #[cold]
    #[inline(never)]
    fn param_traced(&mut self, p: ParamId, loc: Loc) -> Result<Value, EvalError> {
        if let Some(v) = replay(self.s.traced_params.get(p as usize), &mut self.s.reads) {
            return Ok(v);
        }
        let mark = self.s.reads.len();
        let v = self.param_at(p, self.params_on, 0, loc)?;
        let reads = self.s.reads.get(mark..).map(<[_]>::to_vec).unwrap_or_default();
        if let Some(slot) = self.s.traced_params.get_mut(p as usize) {
            *slot = Some((v, reads));
        }
        Ok(v)
    }

    /// Record, with tracing on, a read of a parameter: for the current
    /// rule, and once per parameter and date as a `Parameter` event.
    #[cold]
    #[inline(never)]
    fn note_param(&mut self, p: ParamId, date: NaiveDate, v: Value, policy: String, citation: Option<String>, overrides: Vec<String>) {
        let prog = self.p;
        let Some(slot) = prog.module.params.get(p as usize) else { return };
        let value = show(v, slot.ty, &prog.module, None);
        let on = date.to_string();
        self.s.reads.push(super::ReadEv::Param(crate::assessment::ParamRead {
            name: slot.name.clone(),
            on: on.clone(),
            value: value.clone(),
            policy: policy.clone(),
            citation: citation.clone(),
        }));
        if policy == "test" || self.s.params_traced.contains(&(p, date)) {
            return;
        }
        self.s.params_traced.push((p, date));
        let ev = TraceEvent::Parameter { name: slot.name.clone(), on, value, policy, citation, overrides };
        if let Some(t) = &mut self.s.trace {
            t.push(ev);
        }
    }

    /// Record, with tracing on, that field `f` of `b` read as `v` was left out
    /// of the household record (the model's default was used).
    #[cold]
    #[inline(never)]
    fn note_default(&mut self, b: Value, f: Field, v: Value) {
        let h = self.h;
        if h.defaulted.is_empty() {
            return;
        }
        let Some(&(_, _, name, ty)) = crate::check::schema::FIELDS.iter().find(|x| x.0 == f) else { return };
        use crate::model::DefaultScope as S;
        let scope = match b {
            Value::Household => S::Household,
            Value::Member(i) => S::Member(i),
            Value::Claim(m, c) => S::Claim(m, c),
            Value::Loan(i) => S::Loan(i),
            _ => return,
        };
        if let Some(path) = h.defaulted.find(scope, name) {
            let value = self.show(v, ty);
            self.s.reads.push(super::ReadEv::Default(crate::assessment::DefaultedField { field: path, value }));
        }
    }

    /// A parameter on the assessment date (memoised).
    pub(crate) fn param(&mut self, p: ParamId, loc: Loc) -> Result<Value, EvalError> {
        if let Some(Some(v)) = self.s.params.get(p as usize) {
            return Ok(*v);
        }
        if self.s.trace.is_some() {
            return self.param_traced(p, loc);
        }
        let v = self.param_at(p, self.params_on, 0, loc)?;
        if let Some(slot) = self.s.params.get_mut(p as usize) {
            *slot = Some(v);
            if self.code.is_some() {
                // forgotten again if the lowered code hands over (`evaluate_spent`)
                self.s.params_filled.push(p);
            }
        }
        Ok(v)
    }

    /// A parameter on `date`, looking at definitions from `start` (most specific first).
    pub(crate) fn param_at(&mut self, p: ParamId, date: NaiveDate, start: usize, loc: Loc) -> Result<Value, EvalError> {
        let prog = self.p;
        let Some(slot) = prog.module.params.get(p as usize) else {
            return Err(EvalError::Invalid { message: "unknown parameter".into(), loc });
        };
        if start == 0 {
            if let Some((_, v)) = self.s.overrides.iter().find(|(q, _)| *q == p) {
                let v = *v;
                let v = self.bound(p, date, 0, v, Origin::Override)?;
                if self.s.trace.is_some() {
                    let cite = format!("set by the test: {} = {}", slot.name, show(v, slot.ty, &prog.module, None));
                    self.note_param(p, date, v, "test".to_string(), Some(cite), Vec::new());
                }
                return Ok(v);
            }
            if let Some(set) = prog.settings.iter().find(|x| x.param == p) {
                let v = self.bound(p, date, 0, set.value, Origin::Setting)?;
                if self.s.trace.is_some() {
                    let cite = format!("set by the deployer: {}={}", slot.name, set.text);
                    self.note_param(p, date, v, "set".to_string(), Some(cite), Vec::new());
                }
                return Ok(v);
            }
        }
        let mut required_by: Option<usize> = None;
        for di in start..slot.defs.len() {
            let def = &slot.defs[di];
            if !self.s.active.get(def.policy as usize).copied().unwrap_or(false) {
                continue;
            }
            if def.entries.is_empty() {
                if def.required && required_by.is_none() {
                    required_by = Some(di);
                }
                continue;
            }
            let Some(ei) = def.entries.iter().rposition(|e| e.from.is_none_or(|f| f <= date)) else { continue };
            let entry = &def.entries[ei];
            let saved = (self.prev, self.param_date);
            self.prev = Some((p, di, entry.from.unwrap_or(NaiveDate::MIN)));
            self.param_date = Some(date);
            let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.eval(&entry.value));
            (self.prev, self.param_date) = saved;
            let v = self.bound(p, date, di, r?, Origin::Def(di as u32))?;
            if self.s.trace.is_some() {
                let overrides: Vec<String> = slot.defs[di + 1..]
                    .iter()
                    .filter(|d| self.s.active.get(d.policy as usize).copied().unwrap_or(false))
                    .map(|d| prog.module.policies[d.policy as usize].id.clone())
                    .collect();
                let policy = prog.module.policies[def.policy as usize].id.clone();
                self.note_param(p, date, v, policy, entry.cite.clone().or_else(|| def.cite.clone()), overrides);
            }
            return Ok(v);
        }
        let (cite, policy) = match required_by.or_else(|| (start..slot.defs.len()).next()) {
            Some(di) => (slot.defs[di].cite.clone(), prog.module.policies[slot.defs[di].policy as usize].id.clone()),
            None => (None, slot.declared_by.clone()),
        };
        Err(EvalError::MissingParameter { name: slot.name.clone(), cite, policy, date: date.to_string(), loc: Some(loc) })
    }

    /// Apply the floors and caps of definition `from` and of every less
    /// specific active definition: a document's "不低于" binds whatever refines it.
    /// Each floor or cap that changes the value is recorded ([`Clamp`]).
    fn bound(&mut self, p: ParamId, date: NaiveDate, from: usize, mut v: Value, origin: Origin) -> Result<Value, EvalError> {
        let prog = self.p;
        let Some(slot) = prog.module.params.get(p as usize) else { return Ok(v) };
        let saved = (self.prev, self.param_date);
        self.prev = None;
        self.param_date = Some(date);
        let mut result = Ok(());
        for (di, def) in slot.defs.iter().enumerate().skip(from) {
            if !self.s.active.get(def.policy as usize).copied().unwrap_or(false) {
                continue;
            }
            let clamp = |cap: bool, value: Value, limit: Value| Clamp { param: p, date, origin, def: di as u32, cap, value, limit };
            if let Some(f) = &def.floor {
                match self.eval(f) {
                    Ok(fl) if num(fl) > num(v) => {
                        self.clamped(clamp(false, v, fl));
                        v = fl;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            if let Some(c) = &def.cap {
                match self.eval(c) {
                    Ok(cp) if num(cp) < num(v) => {
                        self.clamped(clamp(true, v, cp));
                        v = cp;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        (self.prev, self.param_date) = saved;
        result.map(|()| v)
    }

    /// Record a clamp once per evaluation.
    fn clamped(&mut self, c: Clamp) {
        if !self.s.clamps.contains(&c) {
            self.s.clamps.push(c);
        }
    }

    pub(crate) fn field(&mut self, b: Value, f: Field, loc: Loc) -> Result<Value, EvalError> {
        self.field_as(b, f, loc)
    }

    /// The fields every record has (no optional part, no declared fact):
    /// their value, or `None` for any other field and for a record that is
    /// not there ([`Ev::field_as`] reads those, and reports what is wrong).
    /// Each of these fields is read here alone; inlined where the field is a
    /// constant (the generated code's reads) it is the read itself.
    #[inline(always)]
    pub(crate) fn field_plain(&self, b: Value, f: Field) -> Option<Value> {
        use Field as F;
        let h = self.h;
        let nd = |d: Decimal| Value::Num(d);
        let ni = |i: i64| Value::Num(Decimal::from(i));
        Some(match b {
            Value::Household => match f {
                F::Hukou => Value::Enum(h.hukou.ordinal()),
                F::PovertyStatus => Value::Enum(h.poverty.status.ordinal()),
                F::DibaoEnrolled => Value::Bool(h.dibao.enrolled),
                F::Tekun => Value::Enum(h.tekun.ordinal()),
                F::Income => nd(h.income),
                F::HousingStructure => Value::Enum(h.housing.structure.ordinal()),
                F::HousingGrade => Value::Enum(h.housing.safety_grade.ordinal()),
                F::DeepPovertyArea => Value::Bool(h.deep_poverty_area),
                F::HarshArea => Value::Bool(h.harsh_area),
                F::SoilErosionArea => Value::Bool(h.soil_erosion_area),
                F::Relocation => Value::Enum(h.relocation.ordinal()),
                F::ForestMu => nd(h.forest_mu),
                F::Hardship => Value::Enum(h.hardship.ordinal()),
                F::Size => ni(h.members.len() as i64),
                _ => return None,
            },
            Value::Member(i) => {
                let m = h.members.get(i as usize)?;
                match f {
                    F::BirthDate => Value::Date(m.birth_date),
                    F::Age => ni(whole_years(m.birth_date, self.as_of)),
                    F::Sex => Value::Enum(m.sex.ordinal()),
                    F::Relation => Value::Enum(m.relation.ordinal()),
                    F::Labour => Value::Enum(m.labour.ordinal()),
                    F::Disabled => Value::Bool(m.disability.is_some()),
                    F::DisabilityCertified => Value::Bool(m.disability.as_ref().is_some_and(|d| d.certified)),
                    F::ChronicDisease => Value::Bool(m.chronic_disease),
                    F::OutpatientMajorDisease => Value::Bool(m.outpatient_major_disease),
                    F::InSchooling => Value::Bool(m.schooling.is_some()),
                    F::SchoolEnrolled => Value::Bool(m.schooling.as_ref().is_some_and(|s| s.enrolled)),
                    F::SchoolNotAdmitted => Value::Bool(m.schooling.as_ref().is_some_and(|s| s.graduated_not_admitted)),
                    F::SchoolGraduatedUnemployed => Value::Bool(m.schooling.as_ref().is_some_and(|s| s.graduated_unemployed)),
                    F::SchoolDeepMountain => Value::Bool(m.schooling.as_ref().is_some_and(|s| s.deep_mountain_area)),
                    F::EmploymentStatus => Value::Enum(m.employment.status.ordinal()),
                    F::Employer => Value::Enum(m.employment.employer.ordinal()),
                    F::LocalEmployer => Value::Bool(m.employment.local_employer),
                    F::ContractMonths => ni(m.employment.contract_months as i64),
                    F::SocialInsurance => Value::Bool(m.employment.social_insurance),
                    F::PlacedByAgency => Value::Bool(m.employment.placed_by_agency),
                    F::InTownMonths => ni(m.employment.in_town_months as i64),
                    F::Willing => Value::Bool(m.employment.willing),
                    F::StartingBusiness => Value::Bool(m.employment.starting_business),
                    F::WageTier => ni(m.employment.wage_tier as i64),
                    F::MedicalInsurance => Value::Bool(m.medical_insurance),
                    F::PensionEnrolled => Value::Bool(m.pension.enrolled),
                    F::PensionTier => ni(m.pension.tier as i64),
                    F::PensionReceiving => Value::Bool(m.pension.receiving),
                    F::PensionEmployee => Value::Bool(m.pension.employee),
                    _ => return None,
                }
            }
            Value::Claim(mi, ci) => {
                let c = h.members.get(mi as usize)?.claims.get(ci as usize)?;
                match f {
                    F::ClaimDate => Value::Date(c.date),
                    F::ClaimKind => Value::Enum(c.kind.ordinal()),
                    F::HospitalLevel => Value::Enum(c.hospital_level.ordinal()),
                    F::InCounty => Value::Bool(c.in_county),
                    F::Designated => Value::Bool(c.designated),
                    F::TotalCost => nd(c.total_cost),
                    F::InPolicyCost => nd(c.in_policy_cost),
                    F::EssentialCost => nd(c.essential_medicine_cost),
                    F::ClaimCategory => Value::Enum(c.category.ordinal()),
                    F::ClaimMember => Value::Member(mi),
                    _ => return None,
                }
            }
            Value::Loan(i) => {
                let l = h.loans.get(i as usize)?;
                match f {
                    F::LoanKind => Value::Enum(l.kind.ordinal()),
                    F::Principal => nd(l.principal),
                    F::StartDate => Value::Date(l.start_date),
                    F::MaturityDate => Value::Date(l.maturity_date),
                    F::LoanRate => nd(l.rate),
                    F::RepaymentDifficulty => Value::Bool(l.repayment_difficulty),
                    F::DifficultyCause => Value::Enum(l.difficulty_cause.ordinal()),
                    F::NonSubjective => Value::Bool(l.non_subjective),
                    F::Extended => Value::Bool(l.extended_to.is_some()),
                    F::Renewed => Value::Bool(l.renewed),
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// Field `f` of `b`, a failure reported as `E`: the IR evaluator's
    /// located error, or the lowered code's one-word trap (a field read is
    /// on every hot path, and the trap keeps the result two words wide).
    #[inline]
    pub(crate) fn field_as<E: FieldError>(&self, b: Value, f: Field, loc: Loc) -> Result<Value, E> {
        let h = self.h;
        let absent = |this: &Self, name: &str| E::absent(this, b, name, loc);
        let bad = || E::bad(loc);
        use Field as F;
        let ni = |i: i64| Value::Num(Decimal::from(i));
        if let Some(v) = self.field_plain(b, f) {
            return Ok(v);
        }
        if let F::Declared(id) = f {
            return match self.s.bound.cell(&self.p.facts, b, id) {
                Some(Cell::One(v)) => Ok(v),
                // a list is iterated by an aggregation (`Collection::Fact`);
                // read as a field only by `present(…)`, which needs no value
                Some(Cell::List(_, len)) => Ok(ni(i64::from(len))),
                None => Err(bad()),
                Some(Cell::Absent) => {
                    let name = self.p.facts.specs.get(id as usize).map_or("?", |s| s.name.as_str());
                    Err(absent(self, name))
                }
            };
        }
        Ok(match b {
            Value::Household => match f {
                F::PovertyRegisteredOn => Value::Date(h.poverty.registered_on.ok_or_else(|| absent(self, "poverty.registered_on"))?),
                F::PovertyExitedOn => Value::Date(h.poverty.exited_on.ok_or_else(|| absent(self, "poverty.exited_on"))?),
                F::PovertyCause => Value::Enum(h.poverty.cause.ok_or_else(|| absent(self, "poverty.cause"))?.ordinal()),
                F::DibaoSince => Value::Date(h.dibao.since.ok_or_else(|| absent(self, "dibao.since"))?),
                _ => return Err(bad()),
            },
            Value::Member(i) => {
                let m = h.members.get(i as usize).ok_or_else(bad)?;
                match f {
                    F::DisabilityCategory => {
                        Value::Enum(m.disability.as_ref().ok_or_else(|| absent(self, "disability.category"))?.category.ordinal())
                    }
                    F::DisabilityGrade => ni(m.disability.as_ref().ok_or_else(|| absent(self, "disability.grade"))?.grade as i64),
                    F::SchoolStage => Value::Enum(m.schooling.as_ref().ok_or_else(|| absent(self, "schooling.stage"))?.stage.ordinal()),
                    _ => return Err(bad()),
                }
            }
            Value::Claim(mi, ci) => {
                let c = h.members.get(mi as usize).and_then(|m| m.claims.get(ci as usize)).ok_or_else(bad)?;
                match f {
                    F::ClaimDisease => Value::Enum(c.disease.ok_or_else(|| absent(self, "disease"))?.ordinal()),
                    _ => return Err(bad()),
                }
            }
            Value::Loan(i) => {
                let l = h.loans.get(i as usize).ok_or_else(bad)?;
                match f {
                    F::ExtendedTo => Value::Date(l.extended_to.ok_or_else(|| absent(self, "extended_to"))?),
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &mut self,
        kind: AggKind,
        slot: u16,
        coll: Collection,
        base: &Expr,
        filter: Option<&Expr>,
        body: &Expr,
        ty: Ty,
        loc: Loc,
    ) -> Result<Value, EvalError> {
        let b = self.eval(base)?;
        let h = self.h;
        let mut list_start = 0usize;
        let n = match (coll, b) {
            (Collection::Members, _) => h.members.len(),
            (Collection::Loans, _) => h.loans.len(),
            (Collection::Claims, Value::Member(m)) => h.members.get(m as usize).map_or(0, |x| x.claims.len()),
            (Collection::MajorDiseases, Value::Member(m)) => h.members.get(m as usize).map_or(0, |x| x.major_diseases.len()),
            (Collection::Fact(f), rec) => match self.s.bound.cell(&self.p.facts, rec, f) {
                Some(Cell::List(start, len)) => {
                    list_start = start as usize;
                    len as usize
                }
                Some(Cell::Absent) => {
                    let name = self.p.facts.specs.get(f as usize).map_or("?", |s| s.name.as_str());
                    return Err(EvalError::Absent { field: name.to_string(), subject: Some(self.describe(b)), loc });
                }
                _ => return Err(EvalError::Invalid { message: "a list fact that is not bound".into(), loc }),
            },
            _ => 0,
        };
        let Some(fi) = self.frame_index(slot) else { return Err(EvalError::Invalid { message: "local slot out of range".into(), loc }) };
        let mut count = 0i64;
        let mut sum = Decimal::ZERO;
        let mut any = false;
        let mut all = true;
        for i in 0..n {
            let item = match (coll, b) {
                (Collection::Members, _) => Value::Member(i as u32),
                (Collection::Loans, _) => Value::Loan(i as u32),
                (Collection::Claims, Value::Member(m)) => Value::Claim(m, i as u32),
                (Collection::MajorDiseases, Value::Member(m)) => match h.members.get(m as usize).and_then(|x| x.major_diseases.get(i)) {
                    Some(d) => Value::Enum(d.ordinal()),
                    None => continue,
                },
                (Collection::Fact(_), _) => match self.s.bound.item(list_start + i) {
                    Some(v) => v,
                    None => continue,
                },
                _ => continue,
            };
            self.s.frame[fi] = item;
            if let Some(f) = filter {
                if !truth(self.eval(f)?) {
                    continue;
                }
                self.s.frame[fi] = item;
            }
            let v = self.eval(body)?;
            match kind {
                AggKind::Any => {
                    if truth(v) {
                        any = true;
                        break;
                    }
                }
                AggKind::All => {
                    if !truth(v) {
                        all = false;
                        break;
                    }
                }
                AggKind::Count => {
                    if truth(v) {
                        count += 1;
                    }
                }
                AggKind::Sum => sum = arith(ArithOp::Add, sum, num(v), loc)?,
            }
        }
        let _ = ty;
        Ok(match kind {
            AggKind::Any => Value::Bool(any),
            AggKind::All => Value::Bool(all),
            AggKind::Count => Value::Num(Decimal::from(count)),
            AggKind::Sum => Value::Num(sum),
        })
    }

    fn call(&mut self, b: Builtin, args: &[Expr], loc: Loc) -> Result<Value, EvalError> {
        let arg = |this: &mut Self, i: usize| -> Result<Value, EvalError> {
            match args.get(i) {
                Some(a) => this.eval(a),
                None => Err(EvalError::Invalid { message: "missing argument".into(), loc }),
            }
        };
        if strict_builtin(b, args) {
            // every argument first, in order, then the built-in on their values
            let mut vals = [Value::ZERO; MAX_BUILTIN_ARGS];
            if let Some(vals) = vals.get_mut(..args.len()) {
                for (v, a) in vals.iter_mut().zip(args) {
                    *v = self.eval(a)?;
                }
                return builtin(b, vals, self.as_of, loc);
            }
            // more than that: only `min` and `max` of dates take any number of
            // arguments, and they are taken pairwise
            let Some((first, rest)) = args.split_first() else { return builtin(b, &[], self.as_of, loc) };
            let mut best = self.eval(first)?;
            for a in rest {
                let v = self.eval(a)?;
                best = builtin(b, &[best, v], self.as_of, loc)?;
            }
            return Ok(best);
        }
        Ok(match b {
            Builtin::Min | Builtin::Max => {
                let Some((first, rest)) = args.split_first() else {
                    return Err(EvalError::Invalid { message: "missing argument".into(), loc });
                };
                let mut best = num(self.ev(first)?);
                for a in rest {
                    let v = num(self.ev(a)?);
                    best = if b == Builtin::Min { exact::min(best, v) } else { exact::max(best, v) };
                }
                Value::Num(best)
            }
            // a declared fact: whether its record carries it (no error built)
            Builtin::Present if matches!(args.first().map(|a| &a.kind), Some(ExprKind::Field(_, Field::Declared(_)))) => {
                let Some(ExprKind::Field(base, Field::Declared(id))) = args.first().map(|a| &a.kind) else {
                    return Err(EvalError::Invalid { message: "missing argument".into(), loc });
                };
                let rec = self.eval(base)?;
                match self.s.bound.cell(&self.p.facts, rec, *id) {
                    Some(Cell::Absent) => Value::Bool(false),
                    Some(_) => Value::Bool(true),
                    None => return Err(EvalError::Invalid { message: "a fact of a missing record".into(), loc }),
                }
            }
            Builtin::Present => match arg(self, 0) {
                Ok(_) => Value::Bool(true),
                Err(EvalError::Absent { .. }) => Value::Bool(false),
                Err(e) => return Err(e),
            },
            _ => return Err(EvalError::Invalid { message: format!("{b:?} is not a lazy built-in"), loc }),
        })
    }

    /// Show a value for traces.
    pub(crate) fn show(&self, v: Value, ty: Ty) -> String {
        show(v, ty, &self.p.module, Some(&self.s.bound))
    }
}

/// The most arguments a built-in is called with on values ([`builtin`];
/// `min` and `max` of dates, which take any number, are taken pairwise
/// beyond it).
pub(crate) const MAX_BUILTIN_ARGS: usize = 4;

/// Whether built-in `b` called with `args` evaluates every argument before
/// it computes ([`builtin`]): all but `present`, which asks whether its
/// argument can be read, and `min` and `max` of numbers, which read their
/// arguments in place and compare them exactly.
pub(crate) fn strict_builtin(b: Builtin, args: &[Expr]) -> bool {
    match b {
        Builtin::Present => false,
        Builtin::Min | Builtin::Max => args.first().is_some_and(|a| a.ty == Ty::Date),
        _ => true,
    }
}

/// Built-in `b` on its arguments' values ([`strict_builtin`]): the one
/// definition the IR evaluator, the lowered code and the generated code
/// call.
pub(crate) fn builtin(b: Builtin, args: &[Value], as_of: NaiveDate, loc: Loc) -> Result<Value, EvalError> {
    let arg = |i: usize| -> Result<Value, EvalError> {
        args.get(i).copied().ok_or_else(|| EvalError::Invalid { message: "missing argument".into(), loc })
    };
    Ok(match b {
        Builtin::Min | Builtin::Max | Builtin::Clamp if matches!(args.first(), Some(Value::Date(_))) => {
            let mut best = date(arg(0)?, loc)?;
            for i in 1..args.len() {
                let d = date(arg(i)?, loc)?;
                best = match b {
                    Builtin::Min => best.min(d),
                    Builtin::Max => best.max(d),
                    _ => {
                        if i == 1 {
                            best.max(d)
                        } else {
                            best.min(d)
                        }
                    }
                };
            }
            Value::Date(best)
        }
        Builtin::Clamp => {
            let x = num(arg(0)?);
            let lo = num(arg(1)?);
            let hi = num(arg(2)?);
            if hi < lo {
                return Err(EvalError::Invalid { message: format!("clamp: upper bound {hi} is below lower bound {lo}"), loc });
            }
            Value::Num(exact::min(exact::max(x, lo), hi))
        }
        Builtin::Abs => Value::Num(num(arg(0)?).abs()),
        Builtin::Age => {
            let d = date(arg(0)?, loc)?;
            Value::Num(Decimal::from(whole_years(d, as_of)))
        }
        Builtin::AgeOn | Builtin::Years => {
            let a = date(arg(0)?, loc)?;
            let c = date(arg(1)?, loc)?;
            Value::Num(Decimal::from(whole_years(a, c)))
        }
        Builtin::Days => {
            let a = date(arg(0)?, loc)?;
            let c = date(arg(1)?, loc)?;
            Value::Num(Decimal::from((c - a).num_days()))
        }
        Builtin::Months => {
            let a = date(arg(0)?, loc)?;
            let c = date(arg(1)?, loc)?;
            Value::Num(Decimal::from(whole_months(a, c)))
        }
        Builtin::Year => Value::Num(Decimal::from(date(arg(0)?, loc)?.year())),
        Builtin::Month => Value::Num(Decimal::from(date(arg(0)?, loc)?.month())),
        Builtin::Day => Value::Num(Decimal::from(date(arg(0)?, loc)?.day())),
        Builtin::AddDays | Builtin::AddMonths | Builtin::AddYears => {
            let d = date(arg(0)?, loc)?;
            let n = num(arg(1)?);
            let n = i64::try_from(n.trunc().mantissa() / 10i128.pow(n.trunc().scale())).map_err(|_| EvalError::DateOutOfRange { loc })?;
            let out = match b {
                Builtin::AddDays => {
                    if n >= 0 {
                        d.checked_add_days(Days::new(n as u64))
                    } else {
                        d.checked_sub_days(Days::new(n.unsigned_abs()))
                    }
                }
                _ => {
                    let months = if b == Builtin::AddYears { n.checked_mul(12) } else { Some(n) };
                    months.and_then(|m| {
                        let m32 = u32::try_from(m.unsigned_abs()).ok()?;
                        if m >= 0 {
                            d.checked_add_months(chrono::Months::new(m32))
                        } else {
                            d.checked_sub_months(chrono::Months::new(m32))
                        }
                    })
                }
            };
            // years 1 to 9999, like `date(y, m, d)`, literals and JSON
            let out = out.filter(|d| (1..=9999).contains(&d.year()));
            Value::Date(out.ok_or(EvalError::DateOutOfRange { loc })?)
        }
        Builtin::MakeDate => {
            let y = num(arg(0)?);
            let m = num(arg(1)?);
            let d = num(arg(2)?);
            let to_i = |x: Decimal| -> Option<i64> {
                if x.fract().is_zero() {
                    i64::try_from(x.mantissa() / 10i128.pow(x.scale())).ok()
                } else {
                    None
                }
            };
            let (Some(y), Some(m), Some(d)) = (to_i(y), to_i(m), to_i(d)) else { return Err(EvalError::DateOutOfRange { loc }) };
            // The language's dates are `YYYY-MM-DD`: years 1 to 9999, as literals and JSON.
            let dt = i32::try_from(y)
                .ok()
                .filter(|y| (1..=9999).contains(y))
                .and_then(|y| NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?));
            Value::Date(dt.ok_or(EvalError::DateOutOfRange { loc })?)
        }
        Builtin::Monthly => Value::Num(arith(ArithOp::Div, num(arg(0)?), Decimal::from(12), loc)?),
        Builtin::Yearly => Value::Num(arith(ArithOp::Mul, num(arg(0)?), Decimal::from(12), loc)?),
        Builtin::Yuan | Builtin::ToRate | Builtin::ToDecimal => Value::Num(num(arg(0)?)),
        Builtin::Interest => {
            let p = num(arg(0)?);
            let r = num(arg(1)?);
            let a = date(arg(2)?, loc)?;
            let c = date(arg(3)?, loc)?;
            let days = Decimal::from((c - a).num_days().max(0));
            let x = arith(ArithOp::Mul, p, r, loc)?;
            let x = arith(ArithOp::Mul, x, days, loc)?;
            Value::Num(arith(ArithOp::Div, x, Decimal::from(360), loc)?)
        }
        Builtin::Min | Builtin::Max | Builtin::Present => {
            return Err(EvalError::Invalid { message: format!("{b:?} is not called on values"), loc })
        }
    })
}

fn truth(v: Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn date(v: Value, loc: Loc) -> Result<NaiveDate, EvalError> {
    match v {
        Value::Date(d) => Ok(d),
        _ => Err(EvalError::Invalid { message: "expected a date".into(), loc }),
    }
}

/// The decimal places a rounding unit keeps.
fn decimal_places(unit: RoundUnit) -> u32 {
    match unit {
        RoundUnit::Fen => 2,
        RoundUnit::Jiao => 1,
        RoundUnit::Yuan => 0,
    }
}

/// Checked decimal arithmetic.
// The error is built lazily on purpose: `EvalError` has a destructor, so the
// eager form constructs and drops one on every operation (measured: ~10% of
// the reference workload).
#[allow(clippy::unnecessary_lazy_evaluations)]
#[inline]
pub(crate) fn arith(op: ArithOp, x: Decimal, y: Decimal, loc: Loc) -> Result<Decimal, EvalError> {
    match exact::fast(op, x, y, loc)? {
        Some(r) => Ok(r),
        None => arith_exact(op, x, y, loc),
    }
}

/// `Decimal` could not give the exact result: compute it over rationals; it
/// is stored only if it is a decimal exactly.
#[cold]
#[inline(never)]
fn arith_exact(op: ArithOp, x: Decimal, y: Decimal, loc: Loc) -> Result<Decimal, EvalError> {
    let q = exact::q_arith(op, Q::from_decimal(x), Q::from_decimal(y), loc)?;
    exact::to_decimal(q, loc)
}

/// A built-in over numbers that [`Ev::ev_q`] evaluates exactly.
fn numeric_builtin(b: Builtin, args: &[Expr]) -> bool {
    match b {
        Builtin::Min | Builtin::Max | Builtin::Clamp => !args.first().is_some_and(|a| a.ty == Ty::Date),
        Builtin::Abs | Builtin::Monthly | Builtin::Yearly | Builtin::Yuan | Builtin::ToRate | Builtin::ToDecimal | Builtin::Interest => {
            true
        }
        _ => false,
    }
}

pub(crate) fn compare_ord(op: CmpOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering;
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

pub(crate) fn compare(op: CmpOp, x: Value, y: Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (x, y) {
        (Value::Num(a), Value::Num(b)) => Some(exact::cmp(a, b)),
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(&b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(&b)),
        (Value::Enum(a), Value::Enum(b)) => Some(a.cmp(&b)),
        (Value::Text(a), Value::Text(b)) | (Value::Sym(a), Value::Sym(b)) => Some(a.cmp(&b)),
        _ => None,
    };
    match (op, ord) {
        (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
        (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        (CmpOp::Ne, None) => true,
        _ => false,
    }
}

/// Whole years from `a` to `b` (age on `b` of someone born on `a`);
/// negative, truncated toward zero, when `b` is before `a`.
pub(crate) fn whole_years(a: NaiveDate, b: NaiveDate) -> i64 {
    if b < a {
        return -whole_years(b, a);
    }
    let mut y = (b.year() - a.year()) as i64;
    if (b.month(), b.day()) < (a.month(), a.day()) {
        y -= 1;
    }
    y
}

/// Whole months from `a` to `b`; negative, truncated toward zero, when `b` is before `a`.
pub(crate) fn whole_months(a: NaiveDate, b: NaiveDate) -> i64 {
    if b < a {
        return -whole_months(b, a);
    }
    let mut m = (b.year() - a.year()) as i64 * 12 + (b.month() as i64 - a.month() as i64);
    if b.day() < a.day() {
        m -= 1;
    }
    m
}

/// Show a value of a type.
pub(crate) fn show(v: Value, ty: Ty, m: &crate::check::Module, bound: Option<&Bound>) -> String {
    let symbols = &m.symbols;
    match (v, ty) {
        (Value::Num(d), Ty::Rate) => match exact::mul(d, Decimal::ONE_HUNDRED) {
            Some(p) => format!("{}%", p.normalize()),
            None => format!("{} (as a fraction)", d.normalize()),
        },
        (Value::Num(d), Ty::Money(_)) => format!("{} {}", crate::value::to_fen(d), ty.unit().unwrap_or("")),
        (Value::Num(d), _) => crate::value::normalized(d).to_string(),
        (Value::Bool(b), _) => b.to_string(),
        (Value::Date(d), _) => d.to_string(),
        (Value::Enum(i), Ty::Enum(EnumTy::Declared(e))) => {
            m.enums.get(e as usize).and_then(|e| e.variants.get(i as usize)).map(|(n, _)| n.clone()).unwrap_or_default()
        }
        (Value::Enum(i), Ty::Enum(e)) => e.variants().get(i as usize).map(|s| s.to_string()).unwrap_or_default(),
        (Value::Text(i), _) if i as usize >= symbols.len() => {
            bound.and_then(|b| b.text(i as usize - symbols.len())).map(|t| format!("{t:?}")).unwrap_or_default()
        }
        (Value::Sym(i) | Value::Text(i), _) => symbols.get(i as usize).cloned().unwrap_or_default(),
        (other, _) => format!("{other:?}"),
    }
}

/// A memoised traced value: its value, with what computing it read added to
/// the current rule's reads.
fn replay(memo: Option<&Option<(Value, Vec<super::ReadEv>)>>, reads: &mut Vec<super::ReadEv>) -> Option<Value> {
    let (v, read) = memo?.as_ref()?;
    reads.extend_from_slice(read);
    Some(*v)
}

/// A named-value index the program does not hold (never made by the checker).
fn unknown_global(g: u32) -> EvalError {
    EvalError::Invalid { message: format!("unknown named value #{g}"), loc: Loc { file: 0, span: Default::default() } }
}
