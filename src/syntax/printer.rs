//! Prints an AST back to source text.
//!
//! The output parses back to an equal AST: `parse(&print(&ast)) == ast` for
//! every tree [`super::parse`] produces. Parentheses are added exactly where
//! the precedence of the operators needs them.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::ast::{
    AggKind, BinOp, DottedName, ExpectPath, ExpectValue, Expectation, Expr, ExprKind, FactScalar, FactType, File, HeaderField, Ident, Item,
    Outcome, ParamEntry, RoundMode, RoundUnit, Rule, RuleEntry, Subject, TallyScope, TestEntry, TypeExpr, UnOp,
};

/// Prints a file as policy source.
pub fn print(file: &File) -> String {
    let mut p = Printer { out: String::new() };
    if let Some(h) = &file.header {
        p.line(0, &format!("policy {} {{", dotted(&h.id)));
        for f in &h.fields {
            let text = match f {
                HeaderField::Title(s) => format!("title {}", string(&s.value)),
                HeaderField::Document(s) => format!("document {}", string(&s.value)),
                HeaderField::Issued(d) => format!("issued {}", d.value),
                HeaderField::Region(s) => format!("region {}", s.value),
                HeaderField::InForce(from, to) => match to {
                    Some(to) => format!("in_force {} .. {}", from.value, to.value),
                    None => format!("in_force {} ..", from.value),
                },
                HeaderField::Version(s) => format!("version {}", string(&s.value)),
                HeaderField::Extends(d) => format!("extends {}", dotted(d)),
                HeaderField::Overlay(_) => "overlay".to_string(),
            };
            p.line(1, &text);
        }
        p.line(0, "}");
    }
    for item in &file.items {
        if !p.out.is_empty() {
            p.out.push('\n');
        }
        p.item(item);
    }
    p.out
}

/// Prints an expression as source text.
pub fn print_expr(e: &Expr) -> String {
    expr(e)
}

struct Printer {
    out: String,
}

impl Printer {
    fn line(&mut self, indent: usize, text: &str) {
        for _ in 0..indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Param(d) => {
                let mut head = String::new();
                if d.is_override {
                    head.push_str("override ");
                }
                let _ = write!(head, "param {}", d.name.name);
                if let Some(t) = &d.ty {
                    let _ = write!(head, ": {}", ty(t.ty));
                }
                head.push_str(" {");
                self.line(0, &head);
                for e in &d.entries {
                    let text = match e {
                        ParamEntry::Title(s) => format!("title {}", string(&s.value)),
                        ParamEntry::Cite(s) => format!("cite {}", string(&s.value)),
                        ParamEntry::Required(_) => "required".to_string(),
                        ParamEntry::From { date, value, cite, .. } => {
                            format!("from {}: {}{}", date.value, expr(value), cite_suffix(cite))
                        }
                        ParamEntry::Always { value, cite, .. } => {
                            format!("always: {}{}", expr(value), cite_suffix(cite))
                        }
                        ParamEntry::Floor(e) => format!("floor {}", expr(e)),
                        ParamEntry::Cap(e) => format!("cap {}", expr(e)),
                    };
                    self.line(1, &text);
                }
                self.line(0, "}");
            }
            Item::Let(d) => {
                let ann = d.ty.as_ref().map(|t| format!(": {}", ty(t.ty))).unwrap_or_default();
                self.line(0, &format!("let {}{} = {}", d.name.name, ann, expr(&d.value)));
            }
            Item::Fn(d) => {
                let params: Vec<String> = d.params.iter().map(|p| format!("{}: {}", p.name.name, fn_type(&p.ty))).collect();
                self.line(0, &format!("fn {}({}): {} = {}", d.name.name, params.join(", "), fn_type(&d.ret), expr(&d.body)));
            }
            Item::Tally(d) => {
                let scope = match d.scope {
                    TallyScope::MemberYear => "per member per year",
                    TallyScope::HouseholdYear => "per household per year",
                };
                self.line(0, &format!("tally {}: {} {}", d.name.name, ty(d.ty.ty), scope));
            }
            Item::Program(d) => {
                let unit = match &d.unit {
                    None => String::new(),
                    Some(None) => ": none".into(),
                    Some(Some(t)) => format!(": {}", ty(t.ty)),
                };
                self.line(0, &format!("program {} {}{unit}", dotted(&d.id), string(&d.title.value)));
            }
            Item::Indicator(d) => {
                self.line(0, &format!("indicator {} {} {{", d.id.name, string(&d.title.value)));
                for c in &d.cites {
                    self.line(1, &format!("cite {}", string(&c.value)));
                }
                for n in &d.notes {
                    self.line(1, &format!("note {}", string(&n.value)));
                }
                self.line(0, "}");
            }
            Item::Fact(d) => {
                let mut head = format!("fact {}.{}: {}", d.owner.as_str(), d.name.name, fact_type(&d.ty));
                let mut body = Vec::new();
                if let Some(t) = &d.title {
                    body.push(format!("title {}", string(&t.value)));
                }
                if let Some(c) = &d.cite {
                    body.push(format!("cite {}", string(&c.value)));
                }
                if d.optional.is_some() {
                    body.push("optional".to_string());
                }
                if !body.is_empty() {
                    let _ = write!(head, " {{ {} }}", body.join(" "));
                }
                self.line(0, &head);
            }
            Item::Enum(d) => {
                let title = d.title.as_ref().map(|t| format!(" {}", string(&t.value))).unwrap_or_default();
                self.line(0, &format!("enum {}{} {{", d.name.name, title));
                for v in &d.variants {
                    let vt = v.title.as_ref().map(|t| format!(" {}", string(&t.value))).unwrap_or_default();
                    self.line(1, &format!("{}{},", v.name.name, vt));
                }
                self.line(0, "}");
            }
            Item::Layer(d) => {
                let title = d.title.as_ref().map(|t| format!(" {}", string(&t.value))).unwrap_or_default();
                self.line(0, &format!("layer {}{} {{", d.name.name, title));
                for f in &d.field {
                    self.line(1, &format!("field {}", string(&f.value)));
                }
                for p in &d.program {
                    self.line(1, &format!("program {}", dotted(p)));
                }
                for c in &d.cite {
                    self.line(1, &format!("cite {}", string(&c.value)));
                }
                for _ in &d.within {
                    self.line(1, "within out_of_pocket");
                }
                self.line(0, "}");
            }
            Item::Rule(r) => self.rule(r),
            Item::Test(t) => {
                self.line(0, &format!("test {} {{", string(&t.name.value)));
                for e in &t.entries {
                    let text = match e {
                        TestEntry::HouseholdFile(s) => format!("household {}", string(&s.value)),
                        TestEntry::HouseholdInline(s) => format!("household {}", s.value),
                        TestEntry::AsOf(d) => format!("as_of {}", d.value),
                        TestEntry::Set(name, e) => format!("set {} = {}", name.name, expr(e)),
                        TestEntry::Expect(x) => expectation(x),
                        TestEntry::ExpectError(s) => format!("expect error {}", string(&s.value)),
                    };
                    self.line(1, &text);
                }
                self.line(0, "}");
            }
        }
    }

    fn rule(&mut self, r: &Rule) {
        self.line(0, &format!("rule {} {} {{", r.id.name, string(&r.title.value)));
        for e in &r.entries {
            let text = match e {
                RuleEntry::Cite(s) => format!("cite {}", string(&s.value)),
                RuleEntry::Note(s) => format!("note {}", string(&s.value)),
                RuleEntry::Subject(s, _) => match s {
                    Subject::Household => "for household".to_string(),
                    Subject::Member(v) => format!("for each member {}", v.name),
                    Subject::Claim(v) => format!("for each claim {}", v.name),
                    Subject::Loan(v) => format!("for each loan {}", v.name),
                },
                RuleEntry::ExceptionTo(ids) => format!("exception to {}", names(ids, ", ")),
                RuleEntry::When(e) => format!("when {}", expr(e)),
                RuleEntry::Let(name, e) => format!("let {} = {}", name.name, expr(e)),
            };
            self.line(1, &text);
        }
        match r.outcomes.as_slice() {
            [one] => self.line(1, &format!("then {}", outcome(one))),
            many => {
                self.line(1, "then {");
                for o in many {
                    self.line(2, &outcome(o));
                }
                self.line(1, "}");
            }
        }
        self.line(0, "}");
    }
}

/// A declared fact's type as written.
pub fn fact_type(t: &FactType) -> String {
    let scalar = match &t.scalar {
        FactScalar::Builtin(b) => ty(*b).to_string(),
        FactScalar::Enum(e) => e.name.clone(),
    };
    if t.list {
        format!("list of {scalar}")
    } else {
        scalar
    }
}

fn cite_suffix(cite: &Option<super::ast::StrLit>) -> String {
    cite.as_ref().map(|c| format!(" cite {}", string(&c.value))).unwrap_or_default()
}

fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Eligible(p) => format!("eligible {}", dotted(p)),
        Outcome::Amount(p, e) => format!("amount {} = {}", dotted(p), expr(e)),
        Outcome::Flag(p) => format!("flag {}", dotted(p)),
        Outcome::Assign(p, v) => format!("assign {} = {}", dotted(p), v.name),
        Outcome::Pay(layer, e) => format!("pay {} = {}", layer.name, expr(e)),
        Outcome::AddTally(name, e) => format!("tally {} += {}", name.name, expr(e)),
    }
}

/// The left side of an expectation as written.
pub fn expect_path_text(p: &ExpectPath) -> String {
    match p {
        ExpectPath::Program(prog, field) => format!("{}.{}", dotted(prog), field.name),
        ExpectPath::Claim(n, field) => format!("claims[{n}].{}", field.name),
        ExpectPath::ClaimId(k, field) => format!("claims[{}].{}", string(&k.value), field.name),
        ExpectPath::Member(k, prog, field) => format!("member[{}].{}.{}", string(&k.value), dotted(prog), field.name),
        ExpectPath::Param(name, None) => format!("param {}", name.name),
        ExpectPath::Param(name, Some(d)) => format!("param {} at {}", name.name, d.value),
        ExpectPath::Let(name) => format!("let {}", name.name),
    }
}

fn expectation(x: &Expectation) -> String {
    let path = expect_path_text(&x.path);
    let value = match &x.value {
        ExpectValue::Contains(id) => return format!("expect {path} contains {}", id.name),
        ExpectValue::Lacks(id) => return format!("expect {path} lacks {}", id.name),
        ExpectValue::Bool(b) => b.to_string(),
        ExpectValue::Number(d) => d.to_string(),
        ExpectValue::Text(s) => string(s),
        ExpectValue::Null => "null".to_string(),
    };
    format!("expect {path} == {value}")
}

fn ty(t: TypeExpr) -> &'static str {
    match t {
        TypeExpr::Bool => "bool",
        TypeExpr::Int => "int",
        TypeExpr::Decimal => "decimal",
        TypeExpr::Rate => "rate",
        TypeExpr::Date => "date",
        TypeExpr::Days => "days",
        TypeExpr::Text => "text",
        TypeExpr::Yuan => "yuan",
        TypeExpr::YuanPerYear => "yuan/year",
        TypeExpr::YuanPerMonth => "yuan/month",
    }
}

fn names(ids: &[Ident], sep: &str) -> String {
    ids.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(sep)
}

fn dotted(d: &DottedName) -> String {
    names(&d.parts, ".")
}

/// A string literal with `"`, `\` and newlines escaped.
pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `70%` for 0.70: the inverse of the parser's scale shift.
fn percent(d: Decimal) -> String {
    if d.scale() >= 2 {
        let mut m = d;
        if m.set_scale(d.scale() - 2).is_ok() {
            return format!("{m}%");
        }
    }
    match d.checked_mul(Decimal::ONE_HUNDRED) {
        Some(m) => format!("{}%", m.normalize()),
        None => d.to_string(),
    }
}

// ------------------------------------------------------------------ expressions

/// Binding strength of an expression's outermost operator, as in the
/// parser's Pratt table. Primaries bind tightest; `if` loosest.
fn prec(e: &Expr) -> u8 {
    match &*e.kind {
        ExprKind::If(..) => 0,
        ExprKind::Binary(op, ..) => binop_prec(*op),
        ExprKind::In(..) => 5,
        ExprKind::Unary(UnOp::Not, _) => 4,
        ExprKind::Unary(UnOp::Neg, _) => 8,
        _ => 10,
    }
}

fn binop_prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 2,
        BinOp::And => 3,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 5,
        BinOp::Add | BinOp::Sub => 6,
        BinOp::Mul | BinOp::Div => 7,
        BinOp::At => 9,
    }
}

fn unop_prec(op: UnOp) -> u8 {
    match op {
        UnOp::Not => 4,
        UnOp::Neg => 8,
    }
}

/// Whether `e` needs parentheses as an operand that must bind at least as
/// strongly as `min` and is followed by an operator of strength `tail`
/// (0 when a delimiter follows).
///
/// A prefix operator reaches right over every following operator at least
/// as strong as itself (`not a == b` is `not (a == b)`), whatever its
/// position; an `if` reaches right over everything.
fn needs_parens(e: &Expr, min: u8, tail: u8) -> bool {
    match &*e.kind {
        ExprKind::Unary(op, _) => tail >= unop_prec(*op),
        ExprKind::If(..) => true,
        _ => prec(e) < min,
    }
}

/// Prints an operand, parenthesised if needed.
fn operand(e: &Expr, min: u8, tail: u8) -> String {
    if needs_parens(e, min, tail) {
        format!("({})", expr_t(e, 0))
    } else {
        expr_t(e, tail)
    }
}

/// Whether `e` printed bare has an `at` outside parentheses: a band's lower
/// bound stops at `at`, so such a bound needs parentheses.
fn has_bare_at(e: &Expr) -> bool {
    match &*e.kind {
        ExprKind::Binary(BinOp::At, ..) => true,
        ExprKind::Binary(op, l, r) => {
            let p = binop_prec(*op);
            (!needs_parens(l, p, p) && has_bare_at(l)) || (!needs_parens(r, p + 1, 0) && has_bare_at(r))
        }
        ExprKind::Unary(op, x) => !needs_parens(x, unop_prec(*op), 0) && has_bare_at(x),
        ExprKind::In(x, _) => !needs_parens(x, 5, 5) && has_bare_at(x),
        _ => false,
    }
}

fn list(items: &[Expr]) -> String {
    items.iter().map(expr).collect::<Vec<_>>().join(", ")
}

/// Prints an expression in a context that takes any expression.
fn expr(e: &Expr) -> String {
    expr_t(e, 0)
}

/// Prints an expression followed by an operator of strength `tail`.
fn expr_t(e: &Expr, tail: u8) -> String {
    match &*e.kind {
        ExprKind::Number(d) => d.to_string(),
        ExprKind::Percent(d) => percent(*d),
        ExprKind::Date(d) => d.to_string(),
        ExprKind::Str(s) => string(s),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Path(parts) => names(parts, "."),
        ExprKind::Unary(op, x) => {
            let operand = operand(x, unop_prec(*op), tail);
            match op {
                UnOp::Neg => format!("-{operand}"),
                UnOp::Not => format!("not {operand}"),
            }
        }
        ExprKind::Binary(op, l, r) => {
            let p = binop_prec(*op);
            let sym = match op {
                BinOp::Mul => "*",
                other => other.as_str(),
            };
            format!("{} {sym} {}", operand(l, p, p), operand(r, p + 1, tail))
        }
        ExprKind::In(x, items) => format!("{} in [{}]", operand(x, 5, 5), list(items)),
        ExprKind::If(c, a, b) => {
            // An `if` in the else branch continues an `else if` chain.
            format!("if {} then {} else {}", expr(c), expr(a), expr(b))
        }
        ExprKind::Case { scrutinee, arms, default } => {
            let mut parts: Vec<String> = arms.iter().map(|(p, v)| format!("{} => {}", expr(p), expr(v))).collect();
            if let Some(d) = default {
                parts.push(format!("else => {}", expr(d)));
            }
            format!("case {} {{ {} }}", expr(scrutinee), parts.join(", "))
        }
        ExprKind::Call(name, args) => format!("{}({})", name.name, list(args)),
        ExprKind::Aggregate { kind, var, collection, filter, body } => {
            let k = match kind {
                AggKind::Any => "any",
                AggKind::All => "all",
                AggKind::Count => "count",
                AggKind::Sum => "sum",
            };
            let filter = filter.as_ref().map(|f| format!(" where {}", expr(f))).unwrap_or_default();
            format!("{k}({} in {}{filter}: {})", var.name, expr(collection), expr(body))
        }
        ExprKind::Banded { value, above, bands } => {
            let mut s = format!("banded({}", expr(value));
            if let Some(a) = above {
                let _ = write!(s, ", above {}", expr(a));
            }
            for (from, rate) in bands {
                // The lower bound stops at `at`.
                let from =
                    if matches!(&*from.kind, ExprKind::If(..)) || has_bare_at(from) { format!("({})", expr(from)) } else { expr(from) };
                let _ = write!(s, ", from {from} at {}", expr(rate));
            }
            s.push(')');
            s
        }
        ExprKind::Round(x, unit, mode) => {
            let unit = match unit {
                RoundUnit::Fen => "fen",
                RoundUnit::Jiao => "jiao",
                RoundUnit::Yuan => "yuan",
            };
            let mode = match mode {
                RoundMode::HalfUp => "half_up",
                RoundMode::Up => "up",
                RoundMode::Down => "down",
            };
            format!("round({}, {unit}, {mode})", expr(x))
        }
    }
}

/// A function's parameter or result type as written.
pub(crate) fn fn_type(t: &crate::syntax::ast::FnType) -> String {
    match t {
        crate::syntax::ast::FnType::Builtin(t) => ty(t.ty).to_string(),
        crate::syntax::ast::FnType::Named(i) => i.name.clone(),
    }
}
