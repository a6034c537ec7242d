//! Typing expressions: names to indices, units checked, IR built.

use super::error::CheckErrorKind;
use super::schema;
use super::types::{Entity, Per, Ty};
use super::{Checker, GlobalState, Reads};
use crate::diagnostic::{loc, suggest};
use crate::ir::{self, ArithOp, Builtin, CmpOp, Collection, ExprKind, FileId, Loc, PolicyId};
use crate::syntax::ast::{self, AggKind, BinOp, Span, UnOp};
use crate::value::Value;
use rust_decimal::Decimal;

/// Checking a named value may check another it reads first (within a cycle
/// of references, see `Checker::global_order`). At each such step, when less
/// than this much stack is left, checking continues on a new segment of
/// [`STACK_SEGMENT`] bytes (one value's expression is at most
/// `syntax::limits::MAX_EXPR_DEPTH` deep, far less than this).
const STACK_RED_ZONE: usize = 1024 * 1024;
/// The size of each further stack segment.
const STACK_SEGMENT: usize = 8 * 1024 * 1024;

/// Where an expression is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A parameter value: no household; `previous` allowed when `true`.
    Param(bool),
    /// A household-level named value.
    Global,
    /// A rule over an entity.
    Rule(Entity),
    /// A function's body: its arguments, parameters, `as_of`; no household
    /// but through its arguments.
    Function,
}

pub(crate) struct Ctx {
    pub policy: PolicyId,
    pub file: FileId,
    pub mode: Mode,
    pub locals: Vec<(String, u16, Ty)>,
    pub next_slot: u16,
    pub max_slot: u16,
    pub reads: Reads,
    /// The parameter being defined (for dependency tracking).
    pub param: Option<u32>,
    /// Optional records known to be present here: (the entity's key, the
    /// record's `schema::presence_key`), from `present(…)` and the like in
    /// an enclosing `and`, `or`, `if`, `where` or the rule's `when`.
    pub known: Vec<(String, schema::Field)>,
    /// Checking the argument of `present(…)`: an optional field may be named.
    pub in_present: bool,
    /// The function whose body is being checked (for dependency tracking).
    pub function: Option<ir::FnId>,
    /// `as_of` was read (a function that reads it is not a parameter's).
    pub reads_as_of: bool,
}

impl Ctx {
    pub fn new(policy: PolicyId, file: FileId, mode: Mode) -> Ctx {
        Ctx {
            policy,
            file,
            mode,
            locals: Vec::new(),
            next_slot: 0,
            max_slot: 0,
            reads: Reads::default(),
            param: None,
            known: Vec::new(),
            in_present: false,
            function: None,
            reads_as_of: false,
        }
    }
    pub fn bind(&mut self, name: &str, ty: Ty) -> u16 {
        let s = self.next_slot;
        self.next_slot = self.next_slot.saturating_add(1);
        self.max_slot = self.max_slot.max(self.next_slot);
        self.locals.push((name.to_string(), s, ty));
        s
    }
    fn lookup(&self, name: &str) -> Option<(u16, Ty)> {
        self.locals.iter().rev().find(|(n, _, _)| n == name).map(|(_, s, t)| (*s, *t))
    }
    /// Record what holds when `cond` is true (`yes`) or false, for the
    /// rest of the current scope; returns the scope mark to `forget` to.
    pub fn assume(&mut self, cond: &ir::Expr, yes: bool) -> usize {
        let mark = self.known.len();
        facts(cond, yes, &mut self.known);
        mark
    }
    /// End a scope opened by `assume`.
    pub fn forget(&mut self, mark: usize) {
        self.known.truncate(mark);
    }
    fn household_allowed(&self) -> bool {
        !matches!(self.mode, Mode::Param(_))
    }
    fn claim(&self) -> bool {
        self.mode == Mode::Rule(Entity::Claim)
    }
}

/// The built-in functions by name: the one list the checker resolves calls
/// with and suggests names from.
pub const FUNCTIONS: &[(&str, Builtin)] = &[
    ("min", Builtin::Min),
    ("max", Builtin::Max),
    ("clamp", Builtin::Clamp),
    ("abs", Builtin::Abs),
    ("age", Builtin::Age),
    ("age_on", Builtin::AgeOn),
    ("days", Builtin::Days),
    ("months", Builtin::Months),
    ("years", Builtin::Years),
    ("year", Builtin::Year),
    ("month", Builtin::Month),
    ("day", Builtin::Day),
    ("date", Builtin::MakeDate),
    ("add_days", Builtin::AddDays),
    ("add_months", Builtin::AddMonths),
    ("add_years", Builtin::AddYears),
    ("monthly", Builtin::Monthly),
    ("yearly", Builtin::Yearly),
    ("yuan", Builtin::Yuan),
    ("interest", Builtin::Interest),
    ("present", Builtin::Present),
    ("rate", Builtin::ToRate),
    ("decimal", Builtin::ToDecimal),
];

/// Calls the checker lowers to other nodes: `int(x, MODE)` is `round(x, yuan, MODE)` typed `int`.
pub(crate) const LOWERED: &[&str] = &["int"];

/// Calls the checker reads on the programme outputs (`eligible(dibao)`).
pub(crate) const OUTPUT_READS: &[&str] = &["eligible", "amount"];

/// Forms with a syntax of their own (`round(x, fen)`, `banded(x, from …)`,
/// `count(m in …: …)`); a call of one of these names did not parse as the form.
pub(crate) const FORMS: &[&str] = &["round", "banded", "any", "all", "count", "sum"];

/// Every name that can be called: the built-in functions, the output reads
/// and the forms, for "did you mean".
pub(crate) fn callable_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|(n, _)| *n).chain(LOWERED.iter().copied()).chain(OUTPUT_READS.iter().copied()).chain(FORMS.iter().copied())
}

fn mk(kind: ExprKind, ty: Ty, at: Loc) -> ir::Expr {
    ir::Expr { kind, ty, loc: at }
}

fn error_expr(at: Loc) -> ir::Expr {
    mk(ExprKind::Const(Value::ZERO), Ty::Error, at)
}

impl Checker {
    pub(crate) fn param_expr(&mut self, e: &ast::Expr, pol: PolicyId, file: FileId, slot: u32, ty: Ty, previous: bool) -> ir::Expr {
        let mut cx = Ctx::new(pol, file, Mode::Param(previous));
        cx.param = Some(slot);
        let v = self.expr(e, &mut cx, Some(ty));
        self.coerce(v, ty)
    }

    /// Make `e` have type `want`, or report a mismatch.
    pub(crate) fn coerce(&mut self, mut e: ir::Expr, want: Ty) -> ir::Expr {
        if e.ty == want || e.ty == Ty::Error || want == Ty::Error {
            return e;
        }
        let ok = match (e.ty, want) {
            (Ty::Num, Ty::Int | Ty::Days) => match non_integral(&e) {
                None => true,
                Some((at, Some(d))) => {
                    self.err(CheckErrorKind::NotInteger { text: d.to_string(), expected: want }, at);
                    e.ty = Ty::Error;
                    return e;
                }
                Some((at, None)) => {
                    self.err(CheckErrorKind::DivisionNotInteger { expected: want }, at);
                    e.ty = Ty::Error;
                    return e;
                }
            },
            (Ty::Num, Ty::Rate) => {
                // `70` is 7000%: a rate is only ever written as a percentage
                let (at, d) = first_number(&e).unwrap_or((e.loc, None));
                let (text, suggested, means) = match d {
                    Some(d) => {
                        let pct = d.checked_mul(Decimal::ONE_HUNDRED).map(|p| p.normalize().to_string());
                        let means = pct.clone().map_or_else(|| "beyond any rate".to_string(), |p| format!("{p}%"));
                        let suggested = if d > Decimal::ONE || d.is_zero() { format!("{d}%") } else { means.clone() };
                        (d.to_string(), suggested, means)
                    }
                    None => ("this number".to_string(), "70%".to_string(), "a plain number".to_string()),
                };
                self.err(CheckErrorKind::RateWithoutPercent { text, suggested, means }, at);
                e.ty = Ty::Error;
                return e;
            }
            (Ty::Num, t) if t.is_numeric() => true,
            (Ty::Int, Ty::Dec) => true,
            _ => false,
        };
        if ok {
            e.ty = want;
            return e;
        }
        let expected = match want {
            Ty::Money(_) => format!("money in {want}"),
            t => t.to_string(),
        };
        self.err(CheckErrorKind::TypeMismatch { expected, found: e.ty }, e.loc);
        e.ty = Ty::Error;
        e
    }

    pub(crate) fn expr(&mut self, e: &ast::Expr, cx: &mut Ctx, expected: Option<Ty>) -> ir::Expr {
        let at = loc(cx.file, e.span);
        match &*e.kind {
            ast::ExprKind::Number(d) => mk(ExprKind::Const(Value::Num(*d)), Ty::Num, at),
            ast::ExprKind::Percent(d) => mk(ExprKind::Const(Value::Num(*d)), Ty::Rate, at),
            ast::ExprKind::Date(d) => mk(ExprKind::Const(Value::Date(*d)), Ty::Date, at),
            ast::ExprKind::Bool(b) => mk(ExprKind::Const(Value::Bool(*b)), Ty::Bool, at),
            ast::ExprKind::Str(s) => {
                let i = self.intern(s);
                mk(ExprKind::Const(Value::Text(i)), Ty::Text, at)
            }
            ast::ExprKind::Path(parts) => self.path(parts, cx, expected, at),
            ast::ExprKind::Unary(op, x) => {
                let v = self.expr(x, cx, expected);
                match op {
                    UnOp::Neg => {
                        if !v.ty.is_numeric() && v.ty != Ty::Error {
                            self.err(CheckErrorKind::BadUnary { op: "-", ty: v.ty }, at);
                            return error_expr(at);
                        }
                        let t = v.ty;
                        mk(ExprKind::Neg(Box::new(v)), t, at)
                    }
                    UnOp::Not => {
                        let v = self.coerce(v, Ty::Bool);
                        mk(ExprKind::Not(Box::new(v)), Ty::Bool, at)
                    }
                }
            }
            ast::ExprKind::Binary(op, a, b) => self.binary(*op, a, b, cx, expected, at),
            ast::ExprKind::In(x, list) => {
                let v = self.expr(x, cx, None);
                let mut items = Vec::new();
                for it in list {
                    let w = self.expr(it, cx, Some(v.ty));
                    let w = self.unify_cmp(&v, w, "compare");
                    items.push(w);
                }
                mk(ExprKind::In(Box::new(v), items.into_boxed_slice()), Ty::Bool, at)
            }
            ast::ExprKind::If(c, a, b) => {
                let c = self.expr(c, cx, Some(Ty::Bool));
                let c = self.coerce(c, Ty::Bool);
                let mark = cx.assume(&c, true);
                let a = self.expr(a, cx, expected);
                cx.forget(mark);
                let mark = cx.assume(&c, false);
                let b = self.expr(b, cx, expected.or(Some(a.ty)));
                cx.forget(mark);
                let (a, b, t) = self.unify(a, b, "combine");
                mk(ExprKind::If(Box::new(c), Box::new(a), Box::new(b)), t, at)
            }
            ast::ExprKind::Case { scrutinee, arms, default } => {
                let s = self.expr(scrutinee, cx, None);
                let mut out_ty: Option<Ty> = expected;
                let mut checked = Vec::new();
                for (pat, val) in arms {
                    let p = self.expr(pat, cx, Some(s.ty));
                    let p = self.unify_cmp(&s, p, "compare");
                    let v = self.expr(val, cx, out_ty);
                    out_ty = Some(join_ty(out_ty, v.ty));
                    checked.push((p, v));
                }
                let d = default.as_ref().map(|d| self.expr(d, cx, out_ty));
                if let Some(d) = &d {
                    out_ty = Some(join_ty(out_ty, d.ty));
                }
                let t = out_ty.unwrap_or(Ty::Error);
                let t = if t == Ty::Num { expected.filter(|x| x.is_numeric()).unwrap_or(Ty::Num) } else { t };
                // whole arms and fractional ones make a decimal, unless an `int` is expected (then the fraction is the error)
                let fraction = |v: &ir::Expr| non_integral(v).is_some();
                let t = if t == Ty::Int
                    && expected != Some(Ty::Int)
                    && (checked.iter().any(|(_, v)| fraction(v)) || d.as_ref().is_some_and(fraction))
                {
                    Ty::Dec
                } else {
                    t
                };
                let checked: Vec<(ir::Expr, ir::Expr)> = checked.into_iter().map(|(p, v)| (p, self.coerce(v, t))).collect();
                let d = d.map(|d| Box::new(self.coerce(d, t)));
                mk(ExprKind::Case(Box::new(s), checked.into_boxed_slice(), d), t, at)
            }
            ast::ExprKind::Call(name, args) => self.call(name, args, cx, expected, at),
            ast::ExprKind::Aggregate { kind, var, collection, filter, body } => {
                let c = self.expr(collection, cx, None);
                let (coll, base, elem) = match (&c.kind, c.ty) {
                    (ExprKind::Field(base, f), Ty::List(ent)) => {
                        let coll = match f {
                            schema::Field::Members => Collection::Members,
                            schema::Field::Loans => Collection::Loans,
                            _ => Collection::Claims,
                        };
                        (coll, base.clone(), Ty::Entity(ent))
                    }
                    (ExprKind::Field(base, _), Ty::EnumList(en)) => (Collection::MajorDiseases, base.clone(), Ty::Enum(en)),
                    (ExprKind::Field(base, _), Ty::FactList(f)) => {
                        let elem = self.module.facts.get(f as usize).map_or(Ty::Error, |fi| fi.elem);
                        (Collection::Fact(f), base.clone(), elem)
                    }
                    (_, Ty::Error) => return error_expr(at),
                    (_, t) => {
                        self.err(
                            CheckErrorKind::TypeMismatch {
                                expected: "a list (household.members, household.loans, m.claims, m.major_diseases)".into(),
                                found: t,
                            },
                            c.loc,
                        );
                        return error_expr(at);
                    }
                };
                let mark = cx.locals.len();
                let saved_next = cx.next_slot;
                let slot = cx.bind(&var.name, elem);
                let filter = filter.as_ref().map(|f| {
                    let f = self.expr(f, cx, Some(Ty::Bool));
                    Box::new(self.coerce(f, Ty::Bool))
                });
                let known = match &filter {
                    Some(f) => cx.assume(f, true),
                    None => cx.known.len(),
                };
                let (body, ty) = match kind {
                    AggKind::Any | AggKind::All => {
                        let b = self.expr(body, cx, Some(Ty::Bool));
                        (self.coerce(b, Ty::Bool), Ty::Bool)
                    }
                    AggKind::Count => {
                        let b = self.expr(body, cx, Some(Ty::Bool));
                        (self.coerce(b, Ty::Bool), Ty::Int)
                    }
                    AggKind::Sum => {
                        let b = self.expr(body, cx, expected);
                        if !b.ty.is_numeric() && b.ty != Ty::Error {
                            self.err(CheckErrorKind::TypeMismatch { expected: "a number or money".into(), found: b.ty }, b.loc);
                        }
                        let t = b.ty;
                        (b, t)
                    }
                };
                cx.forget(known);
                cx.locals.truncate(mark);
                cx.next_slot = saved_next;
                mk(ExprKind::Agg { kind: *kind, slot, coll, base, filter, body: Box::new(body) }, ty, at)
            }
            ast::ExprKind::Banded { value, above, bands } => {
                let v = self.expr(value, cx, expected);
                if !v.ty.is_numeric() && v.ty != Ty::Error {
                    self.err(CheckErrorKind::TypeMismatch { expected: "a number or money".into(), found: v.ty }, v.loc);
                }
                let vt = if v.ty == Ty::Num { expected.unwrap_or(Ty::Num) } else { v.ty };
                let v = self.coerce(v, vt);
                // `above BASE`: the same bands over (BASE, BASE + x]
                let (v, base, vt) = match above {
                    None => (v, None, vt),
                    Some(a) => {
                        let b = self.expr(a, cx, Some(vt));
                        if !b.ty.is_numeric() && b.ty != Ty::Error {
                            self.err(CheckErrorKind::TypeMismatch { expected: "a number or money".into(), found: b.ty }, b.loc);
                        }
                        let (v, b, t) = self.unify(v, b, "combine");
                        (v, Some(b), t)
                    }
                };
                let mut out = Vec::new();
                let mut last: Option<Decimal> = None;
                for (lo, rate) in bands {
                    let l = self.expr(lo, cx, Some(vt));
                    let l = self.coerce(l, vt);
                    if let ExprKind::Const(Value::Num(d)) = l.kind {
                        if let Some(p) = last {
                            if d <= p {
                                self.err(
                                    CheckErrorKind::NotAllowed {
                                        what: "a band that does not start above the previous one".into(),
                                        context: "in `banded`".into(),
                                    },
                                    l.loc,
                                );
                            }
                        }
                        last = Some(d);
                    }
                    let r = self.expr(rate, cx, Some(Ty::Rate));
                    let r = self.coerce(r, Ty::Rate);
                    out.push((l, r));
                }
                let sum_ty = vt;
                // parts of a plain number at rates are fractions: never an `int`
                let vt = if matches!(vt, Ty::Rate | Ty::Int | Ty::Num) { Ty::Dec } else { vt };
                let bands = out.into_boxed_slice();
                match base {
                    None => mk(ExprKind::Banded(Box::new(v), bands), vt, at),
                    // banded(BASE + x, …) − banded(BASE, …), exactly (as any subtraction)
                    Some(b) => {
                        let top = mk(ExprKind::Arith(ArithOp::Add, Box::new(b.clone()), Box::new(v)), sum_ty, at);
                        let upper = mk(ExprKind::Banded(Box::new(top), bands.clone()), vt, at);
                        let lower = mk(ExprKind::Banded(Box::new(b), bands), vt, at);
                        mk(ExprKind::Arith(ArithOp::Sub, Box::new(upper), Box::new(lower)), vt, at)
                    }
                }
            }
            ast::ExprKind::Round(x, unit, mode) => {
                let v = self.expr(x, cx, expected);
                if !v.ty.is_numeric() && v.ty != Ty::Error {
                    self.err(CheckErrorKind::TypeMismatch { expected: "a number or money".into(), found: v.ty }, v.loc);
                }
                let t = v.ty;
                mk(ExprKind::Round(Box::new(v), *unit, *mode), t, at)
            }
        }
    }

    fn path(&mut self, parts: &[ast::Ident], cx: &mut Ctx, expected: Option<Ty>, at: Loc) -> ir::Expr {
        let Some(first) = parts.first() else { return error_expr(at) };
        let name = first.name.as_str();
        let head_at = loc(cx.file, first.span);
        let rest = &parts[1..];
        // locals
        if let Some((slot, ty)) = cx.lookup(name) {
            let base = mk(ExprKind::Local(slot), ty, head_at);
            return self.fields(base, rest, cx, at);
        }
        match name {
            "household" if cx.mode == Mode::Function => {
                self.err(
                    CheckErrorKind::NotAllowed {
                        what: "`household`".into(),
                        context: "in a function (it reads the household only through its arguments: `fn f(h: household): …`)".into(),
                    },
                    head_at,
                );
                return error_expr(at);
            }
            "household" => {
                if !cx.household_allowed() {
                    self.err(
                        CheckErrorKind::NotAllowed {
                            what: "`household`".into(),
                            context: "in a parameter value (a parameter is the same for every household)".into(),
                        },
                        head_at,
                    );
                    return error_expr(at);
                }
                let base = mk(ExprKind::Household, Ty::Entity(Entity::Household), head_at);
                return self.fields(base, rest, cx, at);
            }
            "as_of" if rest.is_empty() => {
                if !cx.household_allowed() {
                    self.err(
                        CheckErrorKind::NotAllowed {
                            what: "`as_of`".into(),
                            context: "in a parameter value (parameters are read on the assessment date already)".into(),
                        },
                        at,
                    );
                }
                cx.reads_as_of = true;
                return mk(ExprKind::AsOf, Ty::Date, at);
            }
            "previous" if rest.is_empty() => {
                if cx.mode != Mode::Param(true) {
                    self.err(
                        CheckErrorKind::NotAllowed { what: "`previous`".into(), context: "outside a parameter's `from` value".into() },
                        at,
                    );
                    return error_expr(at);
                }
                let ty = cx.param.map(|p| self.module.params[p as usize].ty).unwrap_or(Ty::Error);
                return mk(ExprKind::Previous, ty, at);
            }
            "paid" if rest.len() == 1 => {
                if !cx.claim() {
                    self.err(CheckErrorKind::NotAllowed { what: "`paid`".into(), context: "outside a claim rule".into() }, at);
                    return error_expr(at);
                }
                return match self.layer_for(&rest[0].name, cx.policy) {
                    Ok(l) => {
                        if !cx.reads.paid.contains(&l) {
                            cx.reads.paid.push(l);
                        }
                        mk(ExprKind::Paid(l), Ty::Money(Per::None), at)
                    }
                    Err(k) => {
                        self.err(k, loc(cx.file, rest[0].span));
                        error_expr(at)
                    }
                };
            }
            _ => {}
        }
        // In a context that expects an enumeration, its variant names win over
        // parameters and values (`household.hukou == rural` with a value `rural`).
        if rest.is_empty() {
            if let Some(Ty::Enum(en)) = expected {
                if let Some(v) = self.enum_variant(en, name) {
                    return mk(ExprKind::Const(Value::Enum(v)), Ty::Enum(en), at);
                }
            }
        }
        if let Some(p) = self.find_param(cx.policy, name) {
            if let Some(cur) = cx.param {
                if let Some(d) = self.param_deps.get_mut(cur as usize) {
                    if !d.contains(&p) {
                        d.push(p);
                    }
                }
            }
            if let Some(f) = cx.function {
                let reads = &mut self.module.functions[f as usize].param_reads;
                if !reads.contains(&p) {
                    reads.push(p);
                }
            }
            let ty = self.module.params[p as usize].ty;
            let e = mk(ExprKind::Param(p), ty, head_at);
            if !rest.is_empty() {
                return self.fields(e, rest, cx, at);
            }
            return e;
        }
        if let Some(g) = self.find_global(cx.policy, name) {
            if matches!(cx.mode, Mode::Param(_) | Mode::Function) {
                let context =
                    if cx.mode == Mode::Function { "in a function (pass what it needs as an argument)" } else { "in a parameter value" };
                self.err(CheckErrorKind::NotAllowed { what: format!("the household value `{name}`"), context: context.into() }, at);
                return error_expr(at);
            }
            let ty = match self.global_state[g as usize] {
                GlobalState::Done(t) => t,
                GlobalState::InProgress => {
                    // the values being checked from `g` inward form the cycle
                    let from = self.global_stack.iter().position(|x| *x == g).unwrap_or(0);
                    let on = &self.global_stack[from..];
                    let globals = &self.module.globals;
                    let kind = CheckErrorKind::cycle(on.len(), |i| format!("value {}", globals[on[i] as usize].name));
                    self.err(kind, at);
                    Ty::Error
                }
                // a value checked on demand (on or behind a cycle: see
                // `Checker::global_order`) may read another along a cycle as
                // long as the program has values: on a stack that grows on the heap
                GlobalState::Unchecked => stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.check_global(g)),
            };
            if !cx.reads.globals.contains(&g) {
                cx.reads.globals.push(g);
            }
            let e = mk(ExprKind::Global(g), ty, head_at);
            return self.fields(e, rest, cx, at);
        }
        if let Some(t) = self.find_tally(cx.policy, name) {
            if !cx.claim() {
                self.err(CheckErrorKind::NotAllowed { what: format!("the tally `{name}`"), context: "outside a claim rule".into() }, at);
                return error_expr(at);
            }
            let ty = self.module.tallies[t as usize].ty;
            return mk(ExprKind::Tally(t), ty, at);
        }
        if rest.is_empty() {
            if let Some(Ty::Enum(en)) = expected {
                if let Some(v) = self.enum_variant(en, name) {
                    return mk(ExprKind::Const(Value::Enum(v)), Ty::Enum(en), at);
                }
                let variants = self.enum_variants(en);
                self.err(CheckErrorKind::UnknownVariant { enum_name: self.enum_name(en), name: name.into(), variants }, at);
                return error_expr(at);
            }
        }
        if rest.is_empty() && expected == Some(Ty::Error) {
            // Compared with an operand already in error (`m.labor == partial_loss`):
            // the name is likely a variant of the type that could not be found.
            return error_expr(at);
        }
        let mut cands: Vec<String> = self.visible_names(cx.policy);
        cands.extend(cx.locals.iter().map(|l| l.0.clone()));
        if cx.household_allowed() {
            cands.push("household".into());
            cands.push("as_of".into());
        }
        let suggestion = suggest(name, cands.iter().map(|s| s.as_str()));
        let suggestion = suggestion.or_else(|| {
            // a bare field name written without its entity
            let ent = match cx.mode {
                Mode::Rule(e) => e,
                _ => Entity::Household,
            };
            let var = cx.locals.first().map(|l| l.0.clone());
            if schema::lookup(Entity::Household, name).is_some() {
                Some(format!("household.{name}"))
            } else if schema::lookup(ent, name).is_some() {
                var.map(|v| format!("{v}.{name}"))
            } else {
                None
            }
        });
        self.err(CheckErrorKind::UnknownName { name: name.into(), suggestion }, head_at);
        error_expr(at)
    }

    fn fields(&mut self, mut base: ir::Expr, rest: &[ast::Ident], cx: &mut Ctx, at: Loc) -> ir::Expr {
        let mut i = 0;
        while i < rest.len() {
            let Ty::Entity(ent) = base.ty else {
                if base.ty != Ty::Error {
                    self.err(
                        CheckErrorKind::TypeMismatch { expected: "a household, member, claim or loan".into(), found: base.ty },
                        base.loc,
                    );
                }
                return error_expr(at);
            };
            let mut name = rest[i].name.clone();
            let start = rest[i].span;
            let mut end = rest[i].span;
            i += 1;
            loop {
                if schema::lookup(ent, &name).is_some() {
                    break;
                }
                if schema::is_group(ent, &name) && i < rest.len() {
                    name.push('.');
                    name.push_str(&rest[i].name);
                    end = rest[i].span;
                    i += 1;
                    continue;
                }
                break;
            }
            let fl = loc(cx.file, start.to(end));
            if schema::lookup(ent, &name).is_none() {
                if let Some(fid) = self.find_fact(ent, &name) {
                    if let Err(declared_by) = self.fact_visible(fid, cx.policy) {
                        let fact = format!("{}.{name}", Ty::Entity(ent));
                        let policy = self.module.policies[cx.policy as usize].id.clone();
                        self.err(CheckErrorKind::FactNotDeclaredHere { fact, declared_by, policy }, fl);
                        return error_expr(at);
                    }
                    let fi = &self.module.facts[fid as usize];
                    let ty = fi.ty(fid);
                    let f = schema::Field::Declared(fid);
                    if fi.optional {
                        let known = entity_key(&base).is_some_and(|b| cx.known.iter().any(|(kb, kk)| *kk == f && *kb == b));
                        if !known && !cx.in_present {
                            let path = format!("{}.{name}", describe(&base, cx));
                            let guard = format!(
                                "`present({path}) and …`, `if present({path}) then … else …`, or `when present({path})` in the rule"
                            );
                            self.err(CheckErrorKind::UnguardedOptional { path, guard }, fl);
                        }
                    }
                    base = mk(ExprKind::Field(Box::new(base), f), ty, loc(cx.file, Span { start: at.span.start, end: end.end }));
                    continue;
                }
            }
            match schema::lookup(ent, &name) {
                Some((f, ty)) => {
                    if let Some(k) = schema::presence_key(f) {
                        let known = entity_key(&base).is_some_and(|b| cx.known.iter().any(|(kb, kk)| *kk == k && *kb == b));
                        if !known && !cx.in_present {
                            let owner = describe(&base, cx);
                            let path = format!("{owner}.{name}");
                            let alt = schema::presence_flag(k).map(|g| format!(" (or `{owner}.{} and …`)", schema::field_name(g)));
                            let guard = format!(
                                "`present({path}) and …`{}, `if present({path}) then … else …`, or `when present({path})` in the rule",
                                alt.unwrap_or_default()
                            );
                            self.err(CheckErrorKind::UnguardedOptional { path, guard }, fl);
                        }
                    }
                    base = mk(ExprKind::Field(Box::new(base), f), ty, loc(cx.file, Span { start: at.span.start, end: end.end }));
                }
                None => {
                    let entity = Ty::Entity(ent).to_string();
                    let mut names: Vec<&str> = schema::names(ent).collect();
                    names.extend(self.module.facts.iter().filter(|f| f.entity == ent).map(|f| f.name.as_str()));
                    let suggestion = suggest(&name, names);
                    self.err(CheckErrorKind::UnknownField { entity, field: name, suggestion }, fl);
                    return error_expr(at);
                }
            }
        }
        if base.ty == Ty::Entity(Entity::Household) && !cx.household_allowed() {
            self.err(CheckErrorKind::NotAllowed { what: "`household`".into(), context: "in a parameter value".into() }, at);
        }
        base
    }

    /// Unify two operands for `combine` contexts (if/else, min/max).
    fn unify(&mut self, a: ir::Expr, b: ir::Expr, verb: &'static str) -> (ir::Expr, ir::Expr, Ty) {
        if a.ty == Ty::Error || b.ty == Ty::Error {
            return (a, b, Ty::Error);
        }
        if a.ty == b.ty {
            let t = a.ty;
            return (a, b, t);
        }
        match (a.ty, b.ty) {
            // a whole number or a fraction is a decimal (`if c then household.size else 0.5`)
            (Ty::Int, Ty::Num) if non_integral(&b).is_some() => {
                let b = self.coerce(b, Ty::Dec);
                (a, b, Ty::Dec)
            }
            (Ty::Num, Ty::Int) if non_integral(&a).is_some() => {
                let a = self.coerce(a, Ty::Dec);
                (a, b, Ty::Dec)
            }
            (Ty::Num, t) if t.is_numeric() => {
                let a = self.coerce(a, t);
                (a, b, t)
            }
            (t, Ty::Num) if t.is_numeric() => {
                let b = self.coerce(b, t);
                (a, b, t)
            }
            (Ty::Int, Ty::Dec) | (Ty::Dec, Ty::Int) => (a, b, Ty::Dec),
            (l, r) => {
                self.err(CheckErrorKind::BadOperands { verb, left: l, right: r, hint: unit_hint(l, r) }, b.loc);
                (a, b, Ty::Error)
            }
        }
    }

    fn unify_cmp(&mut self, left: &ir::Expr, right: ir::Expr, verb: &'static str) -> ir::Expr {
        if left.ty == Ty::Error || right.ty == Ty::Error || left.ty == right.ty {
            return right;
        }
        match (left.ty, right.ty) {
            (t, Ty::Num) if t.is_numeric() => self.coerce(right, t),
            (Ty::Num, t) if t.is_numeric() => right,
            (Ty::Int, Ty::Dec) | (Ty::Dec, Ty::Int) => right,
            (l, r) => {
                let l2 = left.loc;
                let mut e = CheckErrorKind::BadOperands { verb, left: l, right: r, hint: unit_hint(l, r) }.at(right.loc);
                e = e.related(l2, format!("this is {l}"));
                self.errors.push(e);
                let mut right = right;
                right.ty = Ty::Error;
                right
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: &ast::Expr, b: &ast::Expr, cx: &mut Ctx, expected: Option<Ty>, at: Loc) -> ir::Expr {
        match op {
            BinOp::And | BinOp::Or => {
                let l = self.expr(a, cx, Some(Ty::Bool));
                let l = self.coerce(l, Ty::Bool);
                // the right operand is evaluated only when the left is true (`and`) or false (`or`)
                let mark = cx.assume(&l, op == BinOp::And);
                let r = self.expr(b, cx, Some(Ty::Bool));
                cx.forget(mark);
                let r = self.coerce(r, Ty::Bool);
                let k = if op == BinOp::And { ExprKind::And(Box::new(l), Box::new(r)) } else { ExprKind::Or(Box::new(l), Box::new(r)) };
                mk(k, Ty::Bool, at)
            }
            BinOp::At => {
                let l = self.expr(a, cx, None);
                let r = self.expr(b, cx, Some(Ty::Date));
                let r = self.coerce(r, Ty::Date);
                match l.kind {
                    ExprKind::Param(p) => {
                        let t = l.ty;
                        mk(ExprKind::ParamAt(p, Box::new(r)), t, at)
                    }
                    _ => {
                        if l.ty != Ty::Error {
                            self.err(
                                CheckErrorKind::NotAllowed { what: "`at`".into(), context: "after anything but a parameter name".into() },
                                l.loc,
                            );
                        }
                        error_expr(at)
                    }
                }
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let l = self.expr(a, cx, None);
                let hint = if l.ty == Ty::Num { None } else { Some(l.ty) };
                let r = self.expr(b, cx, hint);
                // a bare literal on the left adopts the right's type
                let (l, r) = if l.ty == Ty::Num && r.ty != Ty::Num {
                    let l2 = self.unify_cmp(&r, l, "compare");
                    (l2, r)
                } else {
                    let r2 = self.unify_cmp(&l, r, "compare");
                    (l, r2)
                };
                let ordered = !matches!(op, BinOp::Eq | BinOp::Ne);
                if ordered && l.ty != Ty::Error && !(l.ty.is_numeric() || l.ty == Ty::Date) {
                    self.err(CheckErrorKind::BadOperands { verb: "order", left: l.ty, right: r.ty, hint: None }, at);
                }
                let cop = match op {
                    BinOp::Eq => CmpOp::Eq,
                    BinOp::Ne => CmpOp::Ne,
                    BinOp::Lt => CmpOp::Lt,
                    BinOp::Le => CmpOp::Le,
                    BinOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                mk(ExprKind::Cmp(cop, Box::new(l), Box::new(r)), Ty::Bool, at)
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let l = self.expr(a, cx, if matches!(op, BinOp::Add | BinOp::Sub) { expected } else { None });
                let r_hint = match op {
                    BinOp::Add | BinOp::Sub => Some(l.ty).filter(|t| *t != Ty::Num).or(expected),
                    _ => None,
                };
                let r = self.expr(b, cx, r_hint);
                let aop = match op {
                    BinOp::Add => ArithOp::Add,
                    BinOp::Sub => ArithOp::Sub,
                    BinOp::Mul => ArithOp::Mul,
                    _ => ArithOp::Div,
                };
                let additive = matches!(aop, ArithOp::Add | ArithOp::Sub);
                match arith_type(aop, l.ty, r.ty) {
                    Ok(Ty::Num) => {
                        let e = mk(ExprKind::Arith(aop, Box::new(l), Box::new(r)), Ty::Num, at);
                        match expected.filter(|t| t.is_numeric() && *t != Ty::Num && additive) {
                            Some(t) => self.coerce(e, t),
                            None => e,
                        }
                    }
                    Ok(t) => {
                        let (l, r, t) = match t {
                            // `rate + 5` is not `rate + 5%`
                            Ty::Rate | Ty::Days if additive || t == Ty::Days => {
                                let l = if l.ty == Ty::Num { self.coerce(l, t) } else { l };
                                let r = if r.ty == Ty::Num { self.coerce(r, t) } else { r };
                                (l, r, t)
                            }
                            // `age + 0.5` is a decimal
                            Ty::Int if non_integral(&l).is_some() || non_integral(&r).is_some() => (l, r, Ty::Dec),
                            _ => (l, r, t),
                        };
                        mk(ExprKind::Arith(aop, Box::new(l), Box::new(r)), t, at)
                    }
                    Err(hint) => {
                        let verb = match aop {
                            ArithOp::Add => "add",
                            ArithOp::Sub => "subtract",
                            ArithOp::Mul => "multiply",
                            ArithOp::Div => "divide",
                        };
                        self.err(CheckErrorKind::BadOperands { verb, left: l.ty, right: r.ty, hint }, at);
                        error_expr(at)
                    }
                }
            }
        }
    }

    fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], cx: &mut Ctx, expected: Option<Ty>, at: Loc) -> ir::Expr {
        let n = name.name.as_str();
        let arity = |this: &mut Self, want: &str, ok: bool| {
            if !ok {
                this.err(CheckErrorKind::Arity { name: n.to_string(), expected: want.to_string(), found: args.len() }, at);
            }
            ok
        };
        match n {
            _ if OUTPUT_READS.contains(&n) => {
                if !arity(self, "1", args.len() == 1) {
                    return error_expr(at);
                }
                if !matches!(cx.mode, Mode::Rule(_) | Mode::Global) {
                    let context = if cx.mode == Mode::Function { "in a function" } else { "in a parameter value" };
                    self.err(CheckErrorKind::NotAllowed { what: format!("`{n}(…)`"), context: context.into() }, at);
                    return error_expr(at);
                }
                let ast::ExprKind::Path(parts) = &*args[0].kind else {
                    self.err(
                        CheckErrorKind::TypeMismatch { expected: "a programme id".into(), found: Ty::Error },
                        loc(cx.file, args[0].span),
                    );
                    return error_expr(at);
                };
                let dn = ast::DottedName { parts: parts.clone(), span: args[0].span };
                let Some(p) = self.program_id(&dn, cx.file) else { return error_expr(at) };
                if n == "eligible" {
                    if !cx.reads.eligible.contains(&p) {
                        cx.reads.eligible.push(p);
                    }
                    mk(ExprKind::Eligible(p), Ty::Bool, at)
                } else {
                    let Some(t) = self.module.programs[p as usize].amount else {
                        let declared = !super::programs::is_builtin(&dn.joined());
                        self.err(CheckErrorKind::NoAmount { program: dn.joined(), declared }, at);
                        return error_expr(at);
                    };
                    if !cx.reads.amount.contains(&p) {
                        cx.reads.amount.push(p);
                    }
                    mk(ExprKind::Amount(p), t, at)
                }
            }
            _ => {
                if FORMS.contains(&n) {
                    // the special form did not parse as such: say what is wrong with it
                    self.bad_form(n, args, cx, at);
                    return error_expr(at);
                }
                if n == "int" {
                    return self.int_conversion(args, cx, at);
                }
                if let Some(f) = self.find_fn(cx.policy, n) {
                    return self.apply(f, name, args, cx, at);
                }
                let Some(&(_, b)) = FUNCTIONS.iter().find(|(f, _)| *f == n) else {
                    let declared = self.visible_fns(cx.policy);
                    let mut cands: Vec<&str> = callable_names().collect();
                    cands.extend(declared.iter().map(String::as_str));
                    let suggestion = suggest(n, cands);
                    self.err(CheckErrorKind::UnknownFunction { name: n.into(), suggestion }, loc(cx.file, name.span));
                    return error_expr(at);
                };
                self.builtin(b, n, args, cx, expected, at)
            }
        }
    }

    /// `round`, `banded` or an aggregation written with arguments that do
    /// not fit the form (the parser read it as an ordinary call).
    fn bad_form(&mut self, n: &str, args: &[ast::Expr], cx: &Ctx, at: Loc) {
        let word = |e: &ast::Expr| match &*e.kind {
            ast::ExprKind::Path(p) if p.len() == 1 => p.first().map(|i| i.name.clone()),
            _ => None,
        };
        let arg_at = |i: usize| args.get(i).map_or(at, |a| loc(cx.file, a.span));
        let (problem, shape, where_) = match n {
            "round" => {
                const SHAPE: &str = "`round(x, fen|jiao|yuan)` or `round(x, fen|jiao|yuan, half_up|up|down)`";
                match args.len() {
                    0 | 1 => ("`round` needs the unit to round to: `fen`, `jiao` or `yuan`".to_string(), SHAPE, at),
                    2..=3 => {
                        let unit = args.get(1).and_then(word);
                        if !matches!(unit.as_deref(), Some("fen" | "jiao" | "yuan")) {
                            let problem = match unit {
                                Some(u) => format!("unknown rounding unit `{u}`: expected `fen`, `jiao` or `yuan`"),
                                None => "the rounding unit is a name: `fen`, `jiao` or `yuan`".to_string(),
                            };
                            (problem, SHAPE, arg_at(1))
                        } else {
                            let problem = match args.get(2).and_then(word) {
                                Some(m) => format!("unknown rounding mode `{m}`: expected `half_up`, `up` or `down`"),
                                None => "the rounding mode is a name: `half_up`, `up` or `down`".to_string(),
                            };
                            (problem, SHAPE, arg_at(2))
                        }
                    }
                    k => (format!("`round` takes 2 or 3 arguments, found {k}"), SHAPE, at),
                }
            }
            "banded" => {
                const SHAPE: &str = "`banded(x, from 0 at 50%, from 50000 at 60%, …)`: each band `from LOWER at RATE`";
                if args.len() < 2 {
                    ("`banded` needs the value and at least one band".to_string(), SHAPE, at)
                } else {
                    ("a band starts with `from`: `from LOWER at RATE`".to_string(), SHAPE, arg_at(1))
                }
            }
            _ => (
                format!("`{n}` goes over a collection: `{n}(v in COLLECTION: EXPR)`"),
                "`any|all|count|sum(v in household.members (where COND)?: EXPR)` over `household.members`, `household.loans`, `m.claims` or `m.major_diseases`",
                at,
            ),
        };
        self.err(CheckErrorKind::BadForm { problem, shape }, where_);
    }

    fn builtin(&mut self, b: Builtin, n: &str, args: &[ast::Expr], cx: &mut Ctx, expected: Option<Ty>, at: Loc) -> ir::Expr {
        let count_err = |this: &mut Self, want: &str| {
            this.err(CheckErrorKind::Arity { name: n.to_string(), expected: want.to_string(), found: args.len() }, at);
            error_expr(at)
        };
        let typed = |this: &mut Self, cx: &mut Ctx, i: usize, t: Ty| {
            let e = this.expr(&args[i], cx, Some(t));
            this.coerce(e, t)
        };
        match b {
            Builtin::Min | Builtin::Max | Builtin::Clamp => {
                if (b == Builtin::Clamp && args.len() != 3) || args.len() < 2 {
                    return count_err(self, if b == Builtin::Clamp { "3" } else { "2 or more" });
                }
                let mut out: Vec<ir::Expr> = Vec::new();
                let mut ty: Option<Ty> = expected.filter(|t| t.is_numeric() && *t != Ty::Num);
                for a in args {
                    let e = self.expr(a, cx, ty);
                    out.push(e);
                    let last = out.last().map(|e| e.ty).unwrap_or(Ty::Error);
                    if !last.is_numeric() && last != Ty::Date && last != Ty::Error {
                        self.err(
                            CheckErrorKind::TypeMismatch { expected: "a number, money or a date".into(), found: last },
                            out.last().map(|e| e.loc).unwrap_or(at),
                        );
                    }
                    if last != Ty::Num {
                        ty = Some(ty.map_or(last, |t| if t == Ty::Num { last } else { t }));
                    }
                }
                let mut t = ty.unwrap_or(Ty::Num);
                // the least of a whole number and a fraction is a decimal
                if t == Ty::Int && out.iter().any(|e| e.ty == Ty::Dec || non_integral(e).is_some()) {
                    t = Ty::Dec;
                }
                let mut fin = Vec::new();
                for e in out {
                    if e.ty != t && e.ty != Ty::Error && t != Ty::Error && !(matches!((e.ty, t), (Ty::Int, Ty::Dec) | (Ty::Dec, Ty::Int))) {
                        if e.ty == Ty::Num {
                            fin.push(self.coerce(e, t));
                        } else {
                            self.err(
                                CheckErrorKind::BadOperands { verb: "compare", left: t, right: e.ty, hint: unit_hint(t, e.ty) },
                                e.loc,
                            );
                            fin.push(e);
                        }
                    } else {
                        fin.push(e);
                    }
                }
                mk(ExprKind::Call(b, fin.into_boxed_slice()), t, at)
            }
            Builtin::Abs => {
                if args.len() != 1 {
                    return count_err(self, "1");
                }
                let e = self.expr(&args[0], cx, expected);
                let t = e.ty;
                mk(ExprKind::Call(b, vec![e].into_boxed_slice()), t, at)
            }
            Builtin::Present => {
                if args.len() != 1 {
                    return count_err(self, "1");
                }
                let was = std::mem::replace(&mut cx.in_present, true);
                let e = self.expr(&args[0], cx, None);
                cx.in_present = was;
                if !matches!(e.kind, ExprKind::Field(..)) && e.ty != Ty::Error {
                    self.err(
                        CheckErrorKind::TypeMismatch {
                            expected: "a field of the household, a member, a claim or a loan".into(),
                            found: e.ty,
                        },
                        e.loc,
                    );
                }
                mk(ExprKind::Call(b, vec![e].into_boxed_slice()), Ty::Bool, at)
            }
            Builtin::AddDays | Builtin::AddMonths | Builtin::AddYears => {
                if args.len() != 2 {
                    return count_err(self, "2");
                }
                let d = typed(self, cx, 0, Ty::Date);
                let n = typed(self, cx, 1, Ty::Int);
                mk(ExprKind::Call(b, vec![d, n].into_boxed_slice()), Ty::Date, at)
            }
            Builtin::Age | Builtin::Year | Builtin::Month | Builtin::Day => {
                if args.len() != 1 {
                    return count_err(self, "1");
                }
                let e = typed(self, cx, 0, Ty::Date);
                mk(ExprKind::Call(b, vec![e].into_boxed_slice()), Ty::Int, at)
            }
            Builtin::AgeOn | Builtin::Days | Builtin::Months | Builtin::Years => {
                if args.len() != 2 {
                    return count_err(self, "2");
                }
                let a = typed(self, cx, 0, Ty::Date);
                let c = typed(self, cx, 1, Ty::Date);
                mk(ExprKind::Call(b, vec![a, c].into_boxed_slice()), Ty::Int, at)
            }
            Builtin::MakeDate => {
                if args.len() != 3 {
                    return count_err(self, "3");
                }
                let v: Vec<ir::Expr> = (0..3).map(|i| typed(self, &mut *cx, i, Ty::Int)).collect();
                mk(ExprKind::Call(b, v.into_boxed_slice()), Ty::Date, at)
            }
            Builtin::Monthly | Builtin::Yearly | Builtin::Yuan => {
                if args.len() != 1 {
                    return count_err(self, "1");
                }
                let (want, out) = match b {
                    Builtin::Monthly => (Some(Ty::Money(Per::Year)), Ty::Money(Per::Month)),
                    Builtin::Yearly => (Some(Ty::Money(Per::Month)), Ty::Money(Per::Year)),
                    _ => (None, Ty::Money(Per::None)),
                };
                let e = self.expr(&args[0], cx, want);
                let e = match want {
                    Some(w) => self.coerce(e, w),
                    None => {
                        if !e.ty.is_money() && e.ty != Ty::Num && e.ty != Ty::Error {
                            self.err(CheckErrorKind::TypeMismatch { expected: "money".into(), found: e.ty }, e.loc);
                        }
                        e
                    }
                };
                mk(ExprKind::Call(b, vec![e].into_boxed_slice()), out, at)
            }
            Builtin::ToRate | Builtin::ToDecimal => {
                if args.len() != 1 {
                    return count_err(self, "1");
                }
                let e = self.expr(&args[0], cx, None);
                let e = if b == Builtin::ToRate { self.rate_arg(e) } else { self.decimal_arg(e) };
                let out = if b == Builtin::ToRate { Ty::Rate } else { Ty::Dec };
                if e.ty == Ty::Error {
                    return error_expr(at);
                }
                mk(ExprKind::Call(b, vec![e].into_boxed_slice()), out, at)
            }
            Builtin::Interest => {
                if args.len() != 4 {
                    return count_err(self, "4 (principal, rate, from, to)");
                }
                let p = self.expr(&args[0], cx, Some(Ty::Money(Per::None)));
                if !p.ty.is_money() && p.ty != Ty::Num && p.ty != Ty::Error {
                    self.err(CheckErrorKind::TypeMismatch { expected: "money".into(), found: p.ty }, p.loc);
                }
                let r = typed(self, cx, 1, Ty::Rate);
                let f = typed(self, cx, 2, Ty::Date);
                let t = typed(self, cx, 3, Ty::Date);
                mk(ExprKind::Call(b, vec![p, r, f, t].into_boxed_slice()), Ty::Money(Per::None), at)
            }
        }
    }

    /// The argument of `rate(x)`: a decimal or an int computed from typed
    /// values (a constant rate is written with `%`).
    fn rate_arg(&mut self, e: ir::Expr) -> ir::Expr {
        const ACCEPTS: &str = "a decimal to a rate";
        let help = match e.ty {
            Ty::Dec | Ty::Int | Ty::Error => return e,
            Ty::Num => match e.kind {
                ExprKind::Const(Value::Num(d)) => {
                    let pct = d.checked_mul(Decimal::ONE_HUNDRED).map_or_else(|| d.to_string(), |p| p.normalize().to_string());
                    format!("a constant rate is written with `%`: `{pct}%`")
                }
                _ => "a constant rate is written with `%` (`25%`); `rate(…)` converts a computed decimal such as `rate(paid / cost)`"
                    .to_string(),
            },
            Ty::Rate => "the value is a rate already: drop `rate(…)`".to_string(),
            Ty::Money(_) => "money is not a fraction: divide it by an amount in the same unit first, `rate(paid / cost)`".to_string(),
            _ => "the argument must be a decimal, e.g. the quotient of two amounts: `rate(paid / cost)`".to_string(),
        };
        self.err(CheckErrorKind::BadConversion { function: "rate", found: e.ty, accepts: ACCEPTS, help }, e.loc);
        let mut e = e;
        e.ty = Ty::Error;
        e
    }

    /// The argument of `decimal(x)`: a rate, an int, a number of days or a
    /// constant.
    fn decimal_arg(&mut self, e: ir::Expr) -> ir::Expr {
        const ACCEPTS: &str = "a rate, an int or a number of days to a decimal";
        let help = match e.ty {
            Ty::Rate | Ty::Int | Ty::Days | Ty::Error => return e,
            Ty::Num => return self.coerce(e, Ty::Dec),
            Ty::Dec => "the value is a decimal already: drop `decimal(…)`".to_string(),
            Ty::Money(_) => {
                "money keeps its unit: the quotient of two amounts is a decimal (`paid / cost`); `yuan(x)` drops only the period"
                    .to_string()
            }
            _ => "the argument must be a rate (`decimal(70%)` is 0.7), an int or a number of days".to_string(),
        };
        self.err(CheckErrorKind::BadConversion { function: "decimal", found: e.ty, accepts: ACCEPTS, help }, e.loc);
        let mut e = e;
        e.ty = Ty::Error;
        e
    }

    /// `int(x)` and `int(x, half_up|up|down)`: a whole-number expression or
    /// a number of days as an `int`; a decimal rounded to one by the mode
    /// given (lowered to `round(x, yuan, MODE)`, typed `int`).
    fn int_conversion(&mut self, args: &[ast::Expr], cx: &mut Ctx, at: Loc) -> ir::Expr {
        const ACCEPTS: &str = "a decimal to an int";
        const SHAPE: &str = "`int(x)` for a whole number, or `int(x, half_up|up|down)` to round a decimal";
        if args.is_empty() || args.len() > 2 {
            self.err(CheckErrorKind::Arity { name: "int".into(), expected: "1 or 2".into(), found: args.len() }, at);
            return error_expr(at);
        }
        // the argument first, so its own errors are reported whatever the mode
        let e = self.expr(&args[0], cx, None);
        let mode = match args.get(1) {
            None => None,
            Some(m) => {
                let word = match &*m.kind {
                    ast::ExprKind::Path(p) if p.len() == 1 => p.first().map(|i| i.name.as_str()),
                    _ => None,
                };
                match word {
                    Some("half_up") => Some(ast::RoundMode::HalfUp),
                    Some("up") => Some(ast::RoundMode::Up),
                    Some("down") => Some(ast::RoundMode::Down),
                    other => {
                        let problem = match other {
                            Some(w) => format!("unknown rounding mode `{w}`: expected `half_up`, `up` or `down`"),
                            None => "the rounding mode is a name: `half_up`, `up` or `down`".to_string(),
                        };
                        self.err(CheckErrorKind::BadForm { problem, shape: SHAPE }, loc(cx.file, m.span));
                        return error_expr(at);
                    }
                }
            }
        };
        let bad = |this: &mut Self, e: &ir::Expr, help: String| {
            this.err(CheckErrorKind::BadConversion { function: "int", found: e.ty, accepts: ACCEPTS, help }, e.loc);
            error_expr(at)
        };
        match (e.ty, mode) {
            (Ty::Error, _) => error_expr(at),
            // a constant expression that is certainly whole (`int(3 * 4)`)
            (Ty::Num, None) if non_integral(&e).is_none() => {
                let mut e = self.coerce(e, Ty::Int);
                e.loc = at;
                e
            }
            (Ty::Days, None) => {
                let mut e = e;
                e.ty = Ty::Int;
                e.loc = at;
                e
            }
            (Ty::Num | Ty::Dec, None) => {
                self.err(CheckErrorKind::IntWithoutMode { found: e.ty }, at);
                error_expr(at)
            }
            (Ty::Num | Ty::Dec, Some(m)) => {
                let e = self.coerce(e, Ty::Dec);
                mk(ExprKind::Round(Box::new(e), ast::RoundUnit::Yuan, m), Ty::Int, at)
            }
            (Ty::Days, Some(_)) => bad(self, &e, "a number of days is whole already: write `int(x)` without a mode".into()),
            (Ty::Int, _) => bad(self, &e, "the value is an int already: drop `int(…)`".into()),
            (Ty::Rate, _) => bad(
                self,
                &e,
                "a rate is a fraction (70% is 0.7): for whole percentage points write `int(decimal(r) * 100, half_up|up|down)`".into(),
            ),
            (Ty::Money(_), _) => bad(
                self,
                &e,
                "money stays money: `round(x, yuan, half_up|up|down)` rounds it to whole yuan; a count of amounts is `int(a / b, down)`"
                    .into(),
            ),
            _ => bad(self, &e, "the argument must be a decimal (or a whole number)".into()),
        }
    }
}

/// What is known when `e` is `yes`: the optional records it proves present.
fn facts(e: &ir::Expr, yes: bool, out: &mut Vec<(String, schema::Field)>) {
    match (&e.kind, yes) {
        (ExprKind::Call(Builtin::Present, args), true) => {
            if let Some(ExprKind::Field(b, f)) = args.first().map(|a| &a.kind) {
                // a declared fact is its own presence key
                let key = if matches!(f, schema::Field::Declared(_)) { Some(*f) } else { schema::presence_key(*f) };
                if let (Some(k), Some(bk)) = (key, entity_key(b)) {
                    out.push((bk, k));
                }
            }
        }
        (ExprKind::Field(b, f), true) => {
            if let (Some(k), Some(bk)) = (schema::implies_present(*f), entity_key(b)) {
                out.push((bk, k));
            }
        }
        (ExprKind::And(a, b), true) | (ExprKind::Or(a, b), false) => {
            facts(a, yes, out);
            facts(b, yes, out);
        }
        (ExprKind::Not(x), _) => facts(x, !yes, out),
        _ => {}
    }
}

/// A key naming an entity-valued expression (`m`, `household`, `c.member`)
/// so that a guard and a reading of the same entity match.
fn entity_key(e: &ir::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Household => Some("household".into()),
        ExprKind::Local(s) => Some(format!("local {s}")),
        ExprKind::Global(g) => Some(format!("value {g}")),
        ExprKind::Field(b, f) => entity_key(b).map(|k| format!("{k}.{}", schema::field_name(*f))),
        _ => None,
    }
}

/// An entity-valued expression as written, for messages.
fn describe(e: &ir::Expr, cx: &Ctx) -> String {
    match &e.kind {
        ExprKind::Household => "household".into(),
        ExprKind::Local(s) => cx.locals.iter().rev().find(|l| l.1 == *s).map_or_else(|| "…".into(), |l| l.0.clone()),
        ExprKind::Field(b, f) => format!("{}.{}", describe(b, cx), schema::field_name(*f)),
        _ => "…".into(),
    }
}

/// Where an untyped number (`Ty::Num`) may not be whole: a constant with a
/// fractional part (`Some(value)`), or a division (`None`). Whole numbers are
/// closed under `+ - *`, negation, `min`/`max`/`clamp`/`abs`, choice, sums
/// and rounding; any other node of type `Num` is one of these.
fn non_integral(e: &ir::Expr) -> Option<(Loc, Option<Decimal>)> {
    if e.ty != Ty::Num {
        return None;
    }
    match &e.kind {
        ExprKind::Const(Value::Num(d)) => (!d.fract().is_zero()).then_some((e.loc, Some(*d))),
        ExprKind::Neg(x) => non_integral(x),
        ExprKind::Arith(ArithOp::Div, _, _) => Some((e.loc, None)),
        ExprKind::Arith(_, a, b) | ExprKind::If(_, a, b) => non_integral(a).or_else(|| non_integral(b)),
        ExprKind::Case(_, arms, d) => arms.iter().find_map(|(_, v)| non_integral(v)).or_else(|| d.as_deref().and_then(non_integral)),
        ExprKind::Call(Builtin::Min | Builtin::Max | Builtin::Clamp | Builtin::Abs, args) => args.iter().find_map(non_integral),
        // a sum of fractions (`sum(m in household.members: 0.5)`) is not whole
        ExprKind::Agg { kind: AggKind::Sum, body, .. } => non_integral(body),
        ExprKind::Round(_, ast::RoundUnit::Yuan, _) => None,
        ExprKind::Round(x, _, _) => non_integral(x),
        _ => None,
    }
}

/// Whether an untyped number (`Ty::Num`) is certainly whole.
pub(crate) fn is_whole(e: &ir::Expr) -> bool {
    e.ty == Ty::Num && non_integral(e).is_none()
}

/// The first number literal of an untyped expression, for messages.
fn first_number(e: &ir::Expr) -> Option<(Loc, Option<Decimal>)> {
    match &e.kind {
        ExprKind::Const(Value::Num(d)) => Some((e.loc, Some(*d))),
        ExprKind::Neg(x) => first_number(x),
        ExprKind::Arith(_, a, b) | ExprKind::If(_, a, b) => first_number(a).or_else(|| first_number(b)),
        ExprKind::Call(_, args) => args.iter().find_map(first_number),
        _ => None,
    }
}

fn join_ty(a: Option<Ty>, b: Ty) -> Ty {
    match a {
        None => b,
        Some(Ty::Num) => b,
        Some(t) => t,
    }
}

fn unit_hint(l: Ty, r: Ty) -> Option<String> {
    match (l, r) {
        (Ty::Money(a), Ty::Money(b)) if a != b => {
            let conv = match (a, b) {
                (Per::Year, Per::Month) => "use `monthly(…)` on the yearly amount or `yearly(…)` on the monthly one",
                (Per::Month, Per::Year) => "use `yearly(…)` on the monthly amount or `monthly(…)` on the yearly one",
                _ => "use `yuan(…)` to drop the period explicitly",
            };
            Some(format!("the amounts are in different units: {conv}"))
        }
        (Ty::Money(_), Ty::Rate) | (Ty::Rate, Ty::Money(_)) => Some("a rate applies to money by multiplication: `amount * 70%`".into()),
        (Ty::Rate, Ty::Dec | Ty::Int) | (Ty::Dec | Ty::Int, Ty::Rate) => Some(
            "a rate and a plain number: make the number a rate with `rate(x)` (a share such as `rate(paid / cost)`), or the rate a number with `decimal(r)`"
                .into(),
        ),
        _ => None,
    }
}

/// The result type of arithmetic, or a hint why it is not allowed.
fn arith_type(op: ArithOp, l: Ty, r: Ty) -> Result<Ty, Option<String>> {
    use Ty::*;
    if l == Error || r == Error {
        return Ok(Error);
    }
    if !l.is_numeric() || !r.is_numeric() {
        return Err(None);
    }
    let plain = |t: Ty| matches!(t, Int | Dec | Num);
    match op {
        ArithOp::Add | ArithOp::Sub => match (l, r) {
            (Money(a), Money(b)) if a == b => Ok(Money(a)),
            (Money(_), Num) => Ok(l),
            (Num, Money(_)) => Ok(r),
            (Money(_), _) | (_, Money(_)) => Err(unit_hint(l, r)),
            (Rate, Rate) | (Rate, Num) | (Num, Rate) => Ok(Rate),
            (Days, Days) | (Days, Num) | (Num, Days) | (Days, Int) | (Int, Days) => Ok(Days),
            (Num, Num) => Ok(Num),
            (Int, Int) | (Int, Num) | (Num, Int) => Ok(Int),
            (a, b) if plain(a) && plain(b) => Ok(Dec),
            _ => Err(unit_hint(l, r)),
        },
        ArithOp::Mul => match (l, r) {
            (Money(_), Money(_)) => {
                Err(Some("multiplying two amounts of money has no meaning; multiply money by a rate or a count".into()))
            }
            (Money(_), _) => Ok(l),
            (_, Money(_)) => Ok(r),
            (Rate, Rate) => Ok(Rate),
            (Rate, t) | (t, Rate) if plain(t) => Ok(if t == Num { Rate } else { Dec }),
            (Num, Num) => Ok(Num),
            (Int, Int) | (Int, Num) | (Num, Int) => Ok(Int),
            (a, b) if plain(a) && plain(b) => Ok(Dec),
            // a number of days scaled by a whole number (a decimal factor would make fractional days)
            (Days, t) | (t, Days) if matches!(t, Int | Num) => Ok(Days),
            _ => Err(None),
        },
        ArithOp::Div => match (l, r) {
            (Money(a), Money(b)) if a == b => Ok(Dec),
            (Money(_), Money(_)) => Err(unit_hint(l, r)),
            (Money(_), t) if plain(t) => Ok(l),
            (Money(_), Rate) => Ok(l),
            (_, Money(_)) => Err(Some("dividing by money has no meaning here".into())),
            (Rate, t) if plain(t) => Ok(Rate),
            (Num, Num) => Ok(Num),
            (a, b) if plain(a) && plain(b) => Ok(Dec),
            (Days, Days) => Ok(Dec),
            _ => Err(None),
        },
    }
}
