//! Lowered code → Rust source. One function per lowered expression
//! ([`Code`]) that has no IR node left in it; the rest stay on the lowered
//! code's walk. A policy function's body is emitted once, as a function of
//! its own (`f` and the function's id), which each call runs through
//! `Rt::call`: the arguments bound to the function's frame as the walk
//! binds them (`Ev::call_with`). Every operation is a call into the runtime
//! ([`crate::exec::native::Rt`]) or plain Rust on `Decimal` and `bool`, in
//! the order the walk does it (`exec/run.rs`), so a generated function
//! computes what the walk computes and traps where it traps.
//!
//! Every intermediate value is bound with `let` before the runtime is
//! called with it (the runtime is borrowed mutably by each call), so an
//! expression is a block, and the compiler flattens the blocks.

use crate::exec::{Agg, Bool, Call, Code, Exec, Num, Op, Over, RuleCode, Val};
use crate::ir::{ArithOp, CmpOp, FnId, Loc};
use crate::value::Value;
use chrono::Datelike;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The generated functions and their table, for `exec`: the part of the
/// generated file the fingerprint covers.
pub(super) fn body(exec: &Exec) -> String {
    let mut out = String::new();
    let mut table = Vec::new();
    let mut fns = Functions::new();
    for c in exec.codes() {
        match function(c, &mut fns) {
            Some(f) => {
                let _ = writeln!(out, "#[allow(unused_variables, unused_mut, unused_parens, unused_braces, clippy::all)]\nfn c{}(rt: &mut Rt<'_, '_>) -> V {{\n    {f}\n}}\n", c.id);
                table.push(format!("Some(c{})", c.id));
            }
            None => table.push("None".to_string()),
        }
    }
    let _ = writeln!(out, "static FNS: [Option<GenFn>; {}] = [", table.len());
    for chunk in table.chunks(8) {
        let _ = writeln!(out, "    {},", chunk.join(", "));
    }
    out.push_str("];\n\n");
    let mut rules = Vec::new();
    for (i, r) in exec.rules.iter().enumerate() {
        match rule_function(i, r, &mut fns) {
            Some(f) => {
                let _ = writeln!(out, "#[allow(unused_variables, unused_mut, unused_parens, unused_braces, clippy::all)]\nfn r{i}(rt: &mut Rt<'_, '_>) -> bool {{\n{f}}}\n");
                rules.push(format!("Some(r{i})"));
            }
            None => rules.push("None".to_string()),
        }
    }
    let _ = writeln!(out, "static RULES: [Option<RuleFn>; {}] = [", rules.len());
    for chunk in rules.chunks(8) {
        let _ = writeln!(out, "    {},", chunk.join(", "));
    }
    out.push_str("];\n");
    // the policy functions called from the code above, by id
    for text in fns.values().flatten() {
        let _ = write!(out, "\n{text}");
    }
    out
}

/// The policy functions the generated code calls: each body emitted once,
/// as a function of its own, by the first call met (`None`: a body with no
/// typed form, whose calls stay on the lowered code's walk).
type Functions = BTreeMap<FnId, Option<String>>;

/// The body of a whole rule's function, if every expression of the rule
/// has a typed form: the steps of its lets and condition charged first,
/// then those of its later lets and outcome values once the condition
/// held (as the evaluator charges each expression before it runs it; the
/// sums exceed the budget exactly when one of the running totals would).
/// A let is a Rust variable of its type: the rule's expressions read it
/// there, not in the frame (an aggregation's bound variable, in a slot a
/// let does not hold, is still bound in the frame).
fn rule_function(rule: usize, r: &RuleCode, fns: &mut Functions) -> Option<String> {
    let mut e = Emitter { next: 0, locals: Vec::new(), fns };
    let mut s = String::new();
    let pre_cost: u64 = r.pre.iter().chain(r.cond.iter()).map(|c| c.cost).sum();
    let post_cost: u64 = r.post.iter().chain(r.outcomes.iter().flatten()).map(|c| c.cost).sum();
    let _ = writeln!(s, "    if !rt.spend({pre_cost}) {{ return false; }}");
    for (c, slot) in r.pre.iter().zip(&r.pre_slots) {
        e.let_binding(&mut s, c, *slot)?;
    }
    if let Some(c) = &r.cond {
        let Op::Bool(b) = &c.op else { return None };
        let _ = writeln!(s, "    let held = {};\n    if rt.trapped() || !held {{ return false; }}", e.boolean(b)?);
    }
    if post_cost > 0 {
        let _ = writeln!(s, "    if !rt.spend({post_cost}) {{ return false; }}");
    }
    for (c, slot) in r.post.iter().zip(&r.post_slots) {
        e.let_binding(&mut s, c, *slot)?;
    }
    // every outcome's value first, then (nothing having trapped) the
    // outcomes applied, in order
    let mut applied = String::new();
    for (k, (c, effect)) in r.outcomes.iter().zip(&r.effects).enumerate() {
        let v = match c.as_ref().map(|c| &c.op) {
            None => "V::ZERO".to_string(),
            Some(Op::Num(n)) => {
                let _ = writeln!(s, "    let o{k} = V::Num({});", e.num(n)?);
                format!("o{k}")
            }
            Some(Op::Bool(b)) => {
                let _ = writeln!(s, "    let o{k} = V::Bool({});", e.boolean(b)?);
                format!("o{k}")
            }
            Some(Op::Val(v)) => {
                let _ = writeln!(s, "    let o{k} = {};", e.val(v)?);
                format!("o{k}")
            }
        };
        let _ = writeln!(applied, "    rt.apply({rule}, E::{effect:?}, {v});");
    }
    s.push_str("    if rt.trapped() { return false; }\n");
    s.push_str(&applied);
    s.push_str("    true\n");
    Some(s)
}

/// The body of one expression's function, if every node has a typed form.
fn function(c: &Code, fns: &mut Functions) -> Option<String> {
    let mut e = Emitter { next: 0, locals: Vec::new(), fns };
    Some(match &c.op {
        Op::Num(n) => format!("V::Num({})", e.num(n)?),
        Op::Bool(b) => format!("V::Bool({})", e.boolean(b)?),
        Op::Val(v) => e.val(v)?,
    })
}

struct Emitter<'f> {
    /// The next fresh variable.
    next: u32,
    /// The rule's lets so far: the frame slot, the Rust variable that
    /// holds it, and its type (a later binding of the slot comes last).
    locals: Vec<(u16, String, Kind)>,
    /// The policy functions emitted so far.
    fns: &'f mut Functions,
}

/// The Rust type of a let's variable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Num,
    Bool,
    Val,
    /// Not a let's: the slot is read in the frame.
    Frame,
}

fn dec(d: Decimal) -> String {
    let m = d.mantissa().unsigned_abs();
    let (lo, mid, hi) = (m as u32, (m >> 32) as u32, (m >> 64) as u32);
    format!("D::from_parts({lo}, {mid}, {hi}, {}, {})", d.is_sign_negative(), d.scale())
}

fn loc(l: Loc) -> String {
    format!("{}, {}, {}", l.file, l.span.start, l.span.end)
}

fn cmp(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "Eq",
        CmpOp::Ne => "Ne",
        CmpOp::Lt => "Lt",
        CmpOp::Le => "Le",
        CmpOp::Gt => "Gt",
        CmpOp::Ge => "Ge",
    }
}

fn arith(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "add",
        ArithOp::Sub => "sub",
        ArithOp::Mul => "mul",
        ArithOp::Div => "div",
    }
}

fn over(o: Over) -> &'static str {
    match o {
        Over::Members => "O::Members",
        Over::Loans => "O::Loans",
        Over::Claims => "O::Claims",
        Over::MajorDiseases => "O::MajorDiseases",
    }
}

fn rounding(s: RoundingStrategy) -> Option<&'static str> {
    Some(match s {
        RoundingStrategy::MidpointAwayFromZero => "MidpointAwayFromZero",
        RoundingStrategy::AwayFromZero => "AwayFromZero",
        RoundingStrategy::ToZero => "ToZero",
        _ => return None,
    })
}

impl Emitter<'_> {
    fn var(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    /// The variable that holds frame slot `slot`, if a let of the rule does.
    fn local(&self, slot: u16) -> Option<(&str, Kind)> {
        self.locals.iter().rev().find(|l| l.0 == slot).filter(|l| l.2 != Kind::Frame).map(|l| (l.1.as_str(), l.2))
    }

    /// `let` a rule's let to a variable of its type.
    fn let_binding(&mut self, s: &mut String, c: &Code, slot: u16) -> Option<()> {
        let name = self.var(&format!("l{slot}_"));
        let (ty, kind, v) = match &c.op {
            Op::Num(n) => ("D", Kind::Num, self.num(n)?),
            Op::Bool(b) => ("bool", Kind::Bool, self.boolean(b)?),
            Op::Val(v) => ("V", Kind::Val, self.val(v)?),
        };
        let _ = writeln!(s, "    let {name}: {ty} = {v};");
        self.locals.push((slot, name, kind));
        Some(())
    }

    /// A constant value (dates through the runtime, which checks them).
    fn constant(v: Value) -> String {
        match v {
            Value::Bool(b) => format!("V::Bool({b})"),
            Value::Num(d) => format!("V::Num({})", dec(d)),
            Value::Date(d) => format!("rt.date({})", d.num_days_from_ce()),
            Value::Enum(n) => format!("V::Enum({n})"),
            Value::Sym(n) => format!("V::Sym({n})"),
            Value::Household => "V::Household".into(),
            Value::Member(n) => format!("V::Member({n})"),
            Value::Claim(m, c) => format!("V::Claim({m}, {c})"),
            Value::Loan(n) => format!("V::Loan({n})"),
            Value::Text(n) => format!("V::Text({n})"),
        }
    }

    fn num(&mut self, n: &Num) -> Option<String> {
        Some(match n {
            Num::Const(d) => dec(*d),
            Num::Local(s) => match self.local(*s) {
                Some((name, Kind::Num)) => name.to_string(),
                Some((name, Kind::Val)) => format!("rt.num({name})"),
                _ => format!("{{ let v = rt.local({s}); rt.num(v) }}"),
            },
            Num::Param(p, l) => format!("rt.param({p}, {})", loc(*l)),
            Num::Global(g) => format!("{{ let v = rt.global({g}); rt.num(v) }}"),
            Num::Field(b, f, l) => {
                let b = self.val(b)?;
                format!("{{ let b = {b}; let v = rt.field(b, F::{f:?}, {}); rt.num(v) }}", loc(*l))
            }
            Num::Neg(x) => format!("{{ let x = {}; -x }}", self.num(x)?),
            Num::Arith(op, ab) => {
                let (x, y) = (self.num(&ab.0)?, self.num(&ab.1)?);
                format!("{{ let x = {x}; let y = {y}; rt.{}(x, y) }}", arith(*op))
            }
            Num::ArithK(op, x, k) => format!("{{ let x = {}; rt.{}(x, {}) }}", self.num(x)?, arith(*op), dec(*k)),
            Num::KArith(op, k, y) => format!("{{ let y = {}; rt.{}({}, y) }}", self.num(y)?, arith(*op), dec(*k)),
            Num::MaxZero(x, zero, zero_first) => format!("{{ let x = {}; rt.max_zero(x, {}, {zero_first}) }}", self.num(x)?, dec(*zero)),
            Num::If(x) => format!("if {} {{ {} }} else {{ {} }}", self.boolean(&x.0)?, self.num(&x.1)?, self.num(&x.2)?),
            Num::MinMax(min, xs) => {
                let Some((first, rest)) = xs.split_first() else { return Some("rt.trap_num()".into()) };
                let best = self.var("best");
                let mut s = format!("{{ let mut {best} = {};", self.num(first)?);
                let pick = if *min { "min_num" } else { "max_num" };
                for x in rest.iter() {
                    let _ = write!(s, " let v = {}; {best} = {pick}({best}, v);", self.num(x)?);
                }
                let _ = write!(s, " {best} }}");
                s
            }
            Num::Case(subject, arms, default) => {
                let v = self.var("s");
                let mut s = format!("{{ let {v} = {};", self.val(subject)?);
                for (pat, x) in arms.iter() {
                    // `eq` is the evaluator's equality, folded for a plain constant
                    let _ = write!(s, " if eq({v}, {}) {{ {} }} else", Emitter::constant(*pat), self.num(x)?);
                }
                let d = match default {
                    Some(d) => self.num(d)?,
                    None => "rt.trap_num()".into(),
                };
                let _ = write!(s, " {{ {d} }} }}");
                s
            }
            Num::Banded(x, bands) => {
                let x = self.num(x)?;
                let bands = bands.iter().map(|(lo, rate)| Some((self.num(lo)?, self.num(rate)?))).collect::<Option<Vec<_>>>()?;
                self.banded(x, bands)
            }
            // the constant bands as a static, their mantissas taken apart once
            Num::BandedK(x, bands) => {
                let x = self.num(x)?;
                let list: Vec<String> = bands.iter().map(|b| format!("Band::new({}, {})", dec(b.lo), dec(b.rate))).collect();
                format!("{{ let x = {x}; static BANDS: [Band; {}] = [{}]; rt.banded_k(x, &BANDS) }}", list.len(), list.join(", "))
            }
            Num::Round(x, dp, strategy) => {
                format!("{{ let x = {}; x.round_dp_with_strategy({dp}, Rounding::{}) }}", self.num(x)?, rounding(*strategy)?)
            }
            Num::Amount(p) => format!("rt.amount({p})"),
            Num::Paid(l) => format!("rt.paid({l})"),
            Num::Tally(t) => format!("rt.tally({t})"),
            Num::Agg(a) => {
                let acc = self.var("sum");
                let body = self.bound(a.slot, |e| e.num(&a.body))?;
                let each = self.each(a, &format!("let v = {body}; {acc} = rt.add({acc}, v);"))?;
                format!("{{ let mut {acc} = D::ZERO; {each} {acc} }}")
            }
            Num::Count(a) => {
                let k = self.var("count");
                let body = self.bound(a.slot, |e| e.boolean(&a.body))?;
                let each = self.each(a, &format!("if {body} {{ {k} += 1; }}"))?;
                format!("{{ let mut {k} = 0i64; {each} D::from({k}) }}")
            }
            Num::Apply(c) => {
                let f = self.policy_function(c, "D", |e| e.num(&c.body))?;
                self.call(c, &f, "D::ZERO")?
            }
            Num::Of(v) => format!("{{ let v = {}; rt.num(v) }}", self.val(v)?),
            Num::Ir(_) => return None,
        })
    }

    /// `banded(x, …)` with its bounds and rates, each bound to a variable
    /// before the runtime is called with them.
    fn banded(&mut self, x: String, bands: Vec<(String, String)>) -> String {
        let mut s = format!("{{ let x = {x};");
        let mut list = Vec::new();
        for (lo, rate) in bands {
            let (l, r) = (self.var("lo"), self.var("rate"));
            let _ = write!(s, " let {l} = {lo}; let {r} = {rate};");
            list.push(format!("({l}, {r})"));
        }
        let _ = write!(s, " rt.banded(x, &[{}]) }}", list.join(", "));
        s
    }

    /// The name of the generated function of the policy function `c`
    /// calls, its body (of Rust type `ty`) emitted by `body` the first time
    /// (in a frame of its own: it reads its arguments and its aggregations'
    /// variables in the function's frame, never a caller's lets).
    fn policy_function<B>(&mut self, c: &Call<B>, ty: &str, body: impl FnOnce(&mut Emitter<'_>) -> Option<String>) -> Option<String> {
        let name = format!("f{}", c.f);
        if let Some(done) = self.fns.get(&c.f) {
            return done.as_ref().map(|_| name);
        }
        // no recursion among functions; a call met again while its body is
        // emitted would find this placeholder and decline
        self.fns.insert(c.f, None);
        let mut e = Emitter { next: 0, locals: Vec::new(), fns: &mut *self.fns };
        // (a function whose only callers could not be emitted is unused: allowed)
        let text = body(&mut e).map(|b| {
            format!("#[allow(dead_code, unused_variables, unused_mut, unused_parens, unused_braces, clippy::all)]\nfn {name}(rt: &mut Rt<'_, '_>) -> {ty} {{\n    {b}\n}}\n")
        });
        let ok = text.is_some();
        self.fns.insert(c.f, text);
        ok.then_some(name)
    }

    /// A call of generated function `f`: the arguments, each bound to a
    /// variable in order, then the call (`stopped`: the placeholder of a
    /// call that could not be made).
    fn call<B>(&mut self, c: &Call<B>, f: &str, stopped: &str) -> Option<String> {
        let (lets, args) = self.arguments(&c.args)?;
        Some(format!("{{{lets} rt.call({}, &[{args}], {stopped}, {f}) }}", c.f))
    }

    /// Each argument bound to a variable, in order: the `let`s, and the
    /// variables as a list.
    fn arguments(&mut self, args: &[Val]) -> Option<(String, String)> {
        let mut lets = String::new();
        let mut names = Vec::new();
        for a in args {
            let v = self.var("a");
            let _ = write!(lets, " let {v} = {};", self.val(a)?);
            names.push(v);
        }
        Some((lets, names.join(", ")))
    }

    /// The loop of an aggregation, running `step` on each item that passes the filter.
    fn each<B>(&mut self, a: &Agg<B>, step: &str) -> Option<String> {
        let (b, n, i) = (self.var("base"), self.var("n"), self.var("i"));
        let o = over(a.over);
        let slot = a.slot;
        // the collection is evaluated outside the binding, the filter inside it
        let base = self.val(&a.base)?;
        let filter = self.bound(slot, |e| match &a.filter {
            Some(f) => Some(format!("if !{} {{ continue; }} rt.rebind({o}, {b}, {i}, {slot});", e.boolean(f)?)),
            None => Some(String::new()),
        })?;
        Some(format!(
            "let {b} = {base}; let {n} = rt.items({o}, {b}, {slot}); for {i} in 0..{n} {{ if !rt.bind({o}, {b}, {i}, {slot}, {}) {{ break; }} {filter} {step} }}",
            a.per_item
        ))
    }

    /// Emit `f` with frame slot `slot` bound in the frame (an aggregation's
    /// variable), not to a let's variable.
    fn bound<T>(&mut self, slot: u16, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let at = self.locals.len();
        self.locals.push((slot, String::new(), Kind::Frame));
        let r = f(self);
        self.locals.truncate(at);
        r
    }

    fn boolean(&mut self, b: &Bool) -> Option<String> {
        Some(match b {
            Bool::Const(b) => format!("{b}"),
            Bool::Local(s) => match self.local(*s) {
                Some((name, Kind::Bool)) => name.to_string(),
                Some((name, Kind::Val)) => format!("rt.truth({name})"),
                _ => format!("{{ let v = rt.local({s}); rt.truth(v) }}"),
            },
            Bool::Global(g) => format!("{{ let v = rt.global({g}); rt.truth(v) }}"),
            Bool::Field(base, f, l) => {
                let base = self.val(base)?;
                format!("{{ let b = {base}; let v = rt.field(b, F::{f:?}, {}); rt.truth(v) }}", loc(*l))
            }
            Bool::Not(x) => format!("!{}", self.boolean(x)?),
            Bool::And(ab) => format!("({} && {})", self.boolean(&ab.0)?, self.boolean(&ab.1)?),
            Bool::Or(ab) => format!("({} || {})", self.boolean(&ab.0)?, self.boolean(&ab.1)?),
            Bool::If(x) => format!("if {} {{ {} }} else {{ {} }}", self.boolean(&x.0)?, self.boolean(&x.1)?, self.boolean(&x.2)?),
            Bool::CmpNum(op, ab) => {
                let (x, y) = (self.num(&ab.0)?, self.num(&ab.1)?);
                format!("{{ let x = {x}; let y = {y}; cmp_num(Cmp::{}, x, y) }}", cmp(*op))
            }
            Bool::CmpVal(op @ (CmpOp::Eq | CmpOp::Ne), ab) => {
                let (x, y) = (self.val(&ab.0)?, self.val(&ab.1)?);
                let not = if *op == CmpOp::Eq { "" } else { "!" };
                // a constant second (equality is symmetric), where `eq` folds it
                let (a, b) = if matches!(ab.0, Val::Const(_)) { ("y", "x") } else { ("x", "y") };
                format!("{{ let x = {x}; let y = {y}; {not}eq({a}, {b}) }}")
            }
            Bool::CmpVal(op, ab) => {
                let (x, y) = (self.val(&ab.0)?, self.val(&ab.1)?);
                format!("{{ let x = {x}; let y = {y}; cmp(Cmp::{}, x, y) }}", cmp(*op))
            }
            Bool::In(x, items) => {
                let v = self.var("v");
                let mut s = format!("{{ let {v} = {}; false", self.val(x)?);
                for it in items.iter() {
                    let _ = write!(s, " || {{ let w = {}; eq({v}, w) }}", self.val(it)?);
                }
                s.push_str(" }");
                s
            }
            Bool::Eligible(p) => format!("rt.eligible({p})"),
            Bool::AnyAll(any, a) => {
                let found = self.var("found");
                let body = self.bound(a.slot, |e| e.boolean(&a.body))?;
                let each = self.each(a, &format!("if {body} == {any} {{ {found} = {any}; break; }}"))?;
                format!("{{ let mut {found} = {}; {each} {found} }}", !any)
            }
            Bool::Present(base, fact) => {
                let base = self.val(base)?;
                format!("{{ let b = {base}; rt.present(b, {fact}) }}")
            }
            Bool::PresentField(base, f, l) => {
                let base = self.val(base)?;
                format!("{{ let b = {base}; rt.present_field(b, F::{f:?}, {}) }}", loc(*l))
            }
            Bool::Apply(c) => {
                let f = self.policy_function(c, "bool", |e| e.boolean(&c.body))?;
                self.call(c, &f, "false")?
            }
            Bool::Of(v) => format!("{{ let v = {}; rt.truth(v) }}", self.val(v)?),
            Bool::Ir(_) => return None,
        })
    }

    fn val(&mut self, v: &Val) -> Option<String> {
        Some(match v {
            Val::Num(n) => format!("V::Num({})", self.num(n)?),
            Val::Bool(b) => format!("V::Bool({})", self.boolean(b)?),
            Val::Const(c) => Emitter::constant(*c),
            Val::Local(s) => match self.local(*s) {
                Some((name, Kind::Num)) => format!("V::Num({name})"),
                Some((name, Kind::Bool)) => format!("V::Bool({name})"),
                Some((name, _)) => name.to_string(),
                None => format!("rt.local({s})"),
            },
            Val::Household => "V::Household".into(),
            Val::AsOf => "rt.as_of()".into(),
            Val::Global(g) => format!("rt.global({g})"),
            Val::Field(b, f, l) => {
                let b = self.val(b)?;
                format!("{{ let b = {b}; rt.field(b, F::{f:?}, {}) }}", loc(*l))
            }
            Val::Apply(c) => {
                let f = self.policy_function(c, "V", |e| e.val(&c.body))?;
                self.call(c, &f, "V::ZERO")?
            }
            Val::Builtin(c) => {
                let (lets, args) = self.arguments(&c.args)?;
                format!("{{{lets} rt.builtin(B::{:?}, &[{args}], {}) }}", c.b, loc(c.loc))
            }
            Val::ParamAt(p, d, l) => format!("{{ let d = {}; rt.param_on({p}, d, {}) }}", self.val(d)?, loc(*l)),
            Val::Param(p, l) => format!("rt.param_value({p}, {})", loc(*l)),
            Val::If(x) => format!("if {} {{ {} }} else {{ {} }}", self.boolean(&x.0)?, self.val(&x.1)?, self.val(&x.2)?),
            Val::Ir(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::expr::compare;

    /// The equality the lowered and the generated code use (`exec::equal`,
    /// the generated code's `eq`) is the evaluator's for a value of every
    /// kind against a value of every kind, and `!=` is its negation.
    #[test]
    fn plain_equality_is_the_evaluators_equality() {
        let date = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).map(Value::Date);
        let values: Vec<Value> = [
            Some(Value::Enum(0)),
            Some(Value::Enum(1)),
            Some(Value::Sym(0)),
            Some(Value::Sym(3)),
            Some(Value::Bool(true)),
            Some(Value::Bool(false)),
            Some(Value::Text(0)),
            Some(Value::Text(2)),
            Some(Value::Num(Decimal::ZERO)),
            Some(Value::Num(Decimal::new(100, 2))),
            Some(Value::Num(Decimal::ONE)),
            Some(Value::Household),
            Some(Value::Member(0)),
            Some(Value::Claim(0, 1)),
            Some(Value::Loan(0)),
            date,
        ]
        .into_iter()
        .flatten()
        .collect();
        for &x in &values {
            for &y in &values {
                assert_eq!(crate::exec::equal(x, y), compare(CmpOp::Eq, x, y), "{x:?} == {y:?}");
                assert_eq!(compare(CmpOp::Ne, x, y), !compare(CmpOp::Eq, x, y), "{x:?} != {y:?}");
            }
        }
        assert_eq!(values.iter().filter(|v| crate::exec::plain_equality(v)).count(), 8);
    }
}
