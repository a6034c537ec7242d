//! Prints an AST back to source text.
//!
//! The output parses back to an equal AST: `parse(&print(&ast)) == ast` for
//! every tree [`super::parse`] produces. Parentheses are added exactly where
//! the precedence of the operators needs them.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::ast::{
    AggKind, BinOp, DottedName, ExpectPath, ExpectValue, Expectation, Expr, ExprKind, FactScalar, FactType, File, Ident, Item, Outcome,
    ParamEntry, RoundMode, RoundUnit, Rule, RuleEntry, Subject, TallyScope, TestEntry, TypeExpr, UnOp,
};

/// Prints a file as policy source.
pub fn print(file: &File) -> String {
    let mut p = Printer { out: String::new() };
    if let Some(h) = &file.header {
        p.out.push_str("policy ");
        p.dotted(&h.id);
        p.out.push_str(" {\n");
        for f in &h.fields {
            p.indent(1);
            p.header_field(f, false);
            p.out.push('\n');
        }
        p.out.push_str("}\n");
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
    let mut p = Printer { out: String::new() };
    p.expr(e, 0);
    p.out
}

/// Writes source text into one buffer: every piece is appended where it
/// goes, nothing is built apart and copied.
pub(super) struct Printer {
    pub(super) out: String,
}

/// One piece of source printed alone (the formatter lays out the lines,
/// the printer writes what is on them).
#[cfg_attr(not(feature = "fmt"), allow(dead_code))]
pub(super) fn piece(f: impl FnOnce(&mut Printer)) -> String {
    let mut p = Printer { out: String::new() };
    f(&mut p);
    p.out
}

impl Printer {
    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.out.push_str("  ");
        }
    }

    fn line(&mut self, level: usize, text: &str) {
        self.indent(level);
        self.out.push_str(text);
        self.out.push('\n');
    }

    pub(super) fn display(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.out.write_fmt(args);
    }

    /// `word` and a string literal.
    pub(super) fn keyed(&mut self, word: &str, s: &str) {
        self.out.push_str(word);
        self.string(s);
    }

    pub(super) fn string(&mut self, s: &str) {
        string_into(&mut self.out, s);
    }

    pub(super) fn names(&mut self, ids: &[Ident], sep: &str) {
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.out.push_str(sep);
            }
            self.out.push_str(&id.name);
        }
    }

    pub(super) fn dotted(&mut self, d: &DottedName) {
        self.names(&d.parts, ".");
    }

    /// A header field; `aligned`: its keyword padded to the longest
    /// (`in_force`, `document`), as the formatter lays a header out.
    pub(super) fn header_field(&mut self, f: &super::ast::HeaderField, aligned: bool) {
        use super::ast::HeaderField;
        let word = |w: &'static str| -> String {
            if aligned {
                format!("{w:<9}")
            } else {
                format!("{w} ")
            }
        };
        match f {
            HeaderField::Title(s) => self.keyed(&word("title"), &s.value),
            HeaderField::Document(s) => self.keyed(&word("document"), &s.value),
            HeaderField::Issued(d) => self.display(format_args!("{}{}", word("issued"), d.value)),
            HeaderField::Region(s) => self.display(format_args!("{}{}", word("region"), s.value)),
            HeaderField::InForce(from, to) => match to {
                Some(to) => self.display(format_args!("{}{} .. {}", word("in_force"), from.value, to.value)),
                None => self.display(format_args!("{}{} ..", word("in_force"), from.value)),
            },
            HeaderField::Version(s) => self.keyed(&word("version"), &s.value),
            HeaderField::Extends(d) => {
                self.out.push_str(&word("extends"));
                self.dotted(d);
            }
            HeaderField::Overlay(_) => self.out.push_str("overlay"),
        }
    }

    /// `override param NAME` or `param NAME: TYPE`
    pub(super) fn param_head(&mut self, d: &super::ast::ParamDecl) {
        if d.is_override {
            self.out.push_str("override ");
        }
        self.out.push_str("param ");
        self.out.push_str(&d.name.name);
        if let Some(t) = &d.ty {
            self.out.push_str(": ");
            self.out.push_str(ty(t.ty));
        }
    }

    /// `let NAME: TYPE = ` (the type if written)
    pub(super) fn let_head(&mut self, d: &super::ast::LetDecl) {
        self.out.push_str("let ");
        self.out.push_str(&d.name.name);
        if let Some(t) = &d.ty {
            self.out.push_str(": ");
            self.out.push_str(ty(t.ty));
        }
        self.out.push_str(" = ");
    }

    /// `fn NAME(p: TYPE, …): TYPE`
    pub(super) fn fn_head(&mut self, d: &super::ast::FnDecl) {
        self.out.push_str("fn ");
        self.out.push_str(&d.name.name);
        self.out.push('(');
        for (i, p) in d.params.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&p.name.name);
            self.out.push_str(": ");
            self.out.push_str(fn_type_str(&p.ty));
        }
        self.out.push_str("): ");
        self.out.push_str(fn_type_str(&d.ret));
    }

    pub(super) fn cite_suffix(&mut self, cite: &Option<super::ast::StrLit>) {
        if let Some(c) = cite {
            self.keyed(" cite ", &c.value);
        }
    }

    pub(super) fn item(&mut self, item: &Item) {
        match item {
            Item::Param(d) => {
                self.param_head(d);
                self.out.push_str(" {\n");
                for e in &d.entries {
                    self.indent(1);
                    match e {
                        ParamEntry::Title(s) => self.keyed("title ", &s.value),
                        ParamEntry::Cite(s) => self.keyed("cite ", &s.value),
                        ParamEntry::Required(_) => self.out.push_str("required"),
                        ParamEntry::From { date, value, cite, .. } => {
                            self.display(format_args!("from {}: ", date.value));
                            self.expr(value, 0);
                            self.cite_suffix(cite);
                        }
                        ParamEntry::Always { value, cite, .. } => {
                            self.out.push_str("always: ");
                            self.expr(value, 0);
                            self.cite_suffix(cite);
                        }
                        ParamEntry::Floor(e) => {
                            self.out.push_str("floor ");
                            self.expr(e, 0);
                        }
                        ParamEntry::Cap(e) => {
                            self.out.push_str("cap ");
                            self.expr(e, 0);
                        }
                    }
                    self.out.push('\n');
                }
                self.out.push_str("}\n");
            }
            Item::Let(d) => {
                self.let_head(d);
                self.expr(&d.value, 0);
                self.out.push('\n');
            }
            Item::Fn(d) => {
                self.fn_head(d);
                self.out.push_str(" = ");
                self.expr(&d.body, 0);
                self.out.push('\n');
            }
            Item::Tally(d) => {
                let scope = match d.scope {
                    TallyScope::MemberYear => "per member per year",
                    TallyScope::HouseholdYear => "per household per year",
                };
                self.display(format_args!("tally {}: {} {}\n", d.name.name, ty(d.ty.ty), scope));
            }
            Item::Program(d) => {
                self.out.push_str("program ");
                self.dotted(&d.id);
                self.out.push(' ');
                self.string(&d.title.value);
                match &d.unit {
                    None => {}
                    Some(None) => self.out.push_str(": none"),
                    Some(Some(t)) => {
                        self.out.push_str(": ");
                        self.out.push_str(ty(t.ty));
                    }
                }
                self.out.push('\n');
            }
            Item::Indicator(d) => {
                self.out.push_str("indicator ");
                self.out.push_str(&d.id.name);
                self.out.push(' ');
                self.string(&d.title.value);
                self.out.push_str(" {\n");
                for c in &d.cites {
                    self.indent(1);
                    self.keyed("cite ", &c.value);
                    self.out.push('\n');
                }
                for n in &d.notes {
                    self.indent(1);
                    self.keyed("note ", &n.value);
                    self.out.push('\n');
                }
                self.out.push_str("}\n");
            }
            Item::Fact(d) => {
                self.display(format_args!("fact {}.{}: ", d.owner.as_str(), d.name.name));
                self.fact_type(&d.ty);
                if d.title.is_some() || d.cite.is_some() || d.optional.is_some() {
                    self.out.push_str(" {");
                    if let Some(t) = &d.title {
                        self.keyed(" title ", &t.value);
                    }
                    if let Some(c) = &d.cite {
                        self.keyed(" cite ", &c.value);
                    }
                    if d.optional.is_some() {
                        self.out.push_str(" optional");
                    }
                    self.out.push_str(" }");
                }
                self.out.push('\n');
            }
            Item::Enum(d) => {
                self.out.push_str("enum ");
                self.out.push_str(&d.name.name);
                if let Some(t) = &d.title {
                    self.out.push(' ');
                    self.string(&t.value);
                }
                self.out.push_str(" {\n");
                for v in &d.variants {
                    self.indent(1);
                    self.out.push_str(&v.name.name);
                    if let Some(t) = &v.title {
                        self.out.push(' ');
                        self.string(&t.value);
                    }
                    self.out.push_str(",\n");
                }
                self.out.push_str("}\n");
            }
            Item::Layer(d) => {
                self.out.push_str("layer ");
                self.out.push_str(&d.name.name);
                if let Some(t) = &d.title {
                    self.out.push(' ');
                    self.string(&t.value);
                }
                self.out.push_str(" {\n");
                for f in &d.field {
                    self.indent(1);
                    self.keyed("field ", &f.value);
                    self.out.push('\n');
                }
                for p in &d.program {
                    self.indent(1);
                    self.out.push_str("program ");
                    self.dotted(p);
                    self.out.push('\n');
                }
                for c in &d.cite {
                    self.indent(1);
                    self.keyed("cite ", &c.value);
                    self.out.push('\n');
                }
                for _ in &d.within {
                    self.line(1, "within out_of_pocket");
                }
                self.out.push_str("}\n");
            }
            Item::Rule(r) => self.rule(r),
            Item::Test(t) => {
                self.out.push_str("test ");
                self.string(&t.name.value);
                self.out.push_str(" {\n");
                for e in &t.entries {
                    self.indent(1);
                    match e {
                        TestEntry::HouseholdFile(s) => self.keyed("household ", &s.value),
                        TestEntry::HouseholdInline(s) => {
                            self.out.push_str("household ");
                            self.out.push_str(&s.value);
                        }
                        TestEntry::AsOf(d) => self.display(format_args!("as_of {}", d.value)),
                        TestEntry::Set(name, e) => {
                            self.display(format_args!("set {} = ", name.name));
                            self.expr(e, 0);
                        }
                        TestEntry::Expect(x) => self.expectation(x),
                        TestEntry::ExpectError(s) => self.keyed("expect error ", &s.value),
                    }
                    self.out.push('\n');
                }
                self.out.push_str("}\n");
            }
        }
    }

    fn rule(&mut self, r: &Rule) {
        self.out.push_str("rule ");
        self.out.push_str(&r.id.name);
        self.out.push(' ');
        self.string(&r.title.value);
        self.out.push_str(" {\n");
        for e in &r.entries {
            self.indent(1);
            match e {
                RuleEntry::Cite(s) => self.keyed("cite ", &s.value),
                RuleEntry::Note(s) => self.keyed("note ", &s.value),
                RuleEntry::Subject(s, _) => match s {
                    Subject::Household => self.out.push_str("for household"),
                    Subject::Member(v) => self.display(format_args!("for each member {}", v.name)),
                    Subject::Claim(v) => self.display(format_args!("for each claim {}", v.name)),
                    Subject::Loan(v) => self.display(format_args!("for each loan {}", v.name)),
                },
                RuleEntry::ExceptionTo(ids) => {
                    self.out.push_str("exception to ");
                    self.names(ids, ", ");
                }
                RuleEntry::When(e) => {
                    self.out.push_str("when ");
                    self.expr(e, 0);
                }
                RuleEntry::Let(name, e) => {
                    self.display(format_args!("let {} = ", name.name));
                    self.expr(e, 0);
                }
            }
            self.out.push('\n');
        }
        match r.outcomes.as_slice() {
            [one] => {
                self.indent(1);
                self.out.push_str("then ");
                self.outcome(one);
                self.out.push('\n');
            }
            many => {
                self.line(1, "then {");
                for o in many {
                    self.indent(2);
                    self.outcome(o);
                    self.out.push('\n');
                }
                self.line(1, "}");
            }
        }
        self.out.push_str("}\n");
    }

    fn outcome(&mut self, o: &Outcome) {
        let (word, target, value) = match o {
            Outcome::Eligible(p) => ("eligible ", p, None),
            Outcome::Amount(p, e) => ("amount ", p, Some((" = ", e))),
            Outcome::Flag(p) => ("flag ", p, None),
            Outcome::Assign(p, v) => {
                self.out.push_str("assign ");
                self.dotted(p);
                self.out.push_str(" = ");
                self.out.push_str(&v.name);
                return;
            }
            Outcome::Pay(layer, e) => {
                self.display(format_args!("pay {} = ", layer.name));
                self.expr(e, 0);
                return;
            }
            Outcome::AddTally(name, e) => {
                self.display(format_args!("tally {} += ", name.name));
                self.expr(e, 0);
                return;
            }
        };
        self.out.push_str(word);
        self.dotted(target);
        if let Some((sep, e)) = value {
            self.out.push_str(sep);
            self.expr(e, 0);
        }
    }

    pub(super) fn fact_type(&mut self, t: &FactType) {
        if t.list {
            self.out.push_str("list of ");
        }
        match &t.scalar {
            FactScalar::Builtin(b) => self.out.push_str(ty(*b)),
            FactScalar::Enum(e) => self.out.push_str(&e.name),
        }
    }

    pub(super) fn expect_path(&mut self, p: &ExpectPath) {
        match p {
            ExpectPath::Program(prog, field) => {
                self.dotted(prog);
                self.out.push('.');
                self.out.push_str(&field.name);
            }
            ExpectPath::Claim(n, field) => self.display(format_args!("claims[{n}].{}", field.name)),
            ExpectPath::ClaimId(k, field) => {
                self.out.push_str("claims[");
                self.string(&k.value);
                self.out.push_str("].");
                self.out.push_str(&field.name);
            }
            ExpectPath::Member(k, prog, field) => {
                self.out.push_str("member[");
                self.string(&k.value);
                self.out.push_str("].");
                self.dotted(prog);
                self.out.push('.');
                self.out.push_str(&field.name);
            }
            ExpectPath::Param(name, None) => self.display(format_args!("param {}", name.name)),
            ExpectPath::Param(name, Some(d)) => self.display(format_args!("param {} at {}", name.name, d.value)),
            ExpectPath::Let(name) => self.display(format_args!("let {}", name.name)),
        }
    }

    pub(super) fn expectation(&mut self, x: &Expectation) {
        self.out.push_str("expect ");
        self.expect_path(&x.path);
        match &x.value {
            ExpectValue::Contains(id) => self.display(format_args!(" contains {}", id.name)),
            ExpectValue::Lacks(id) => self.display(format_args!(" lacks {}", id.name)),
            ExpectValue::Bool(b) => self.display(format_args!(" == {b}")),
            ExpectValue::Number(d) => self.display(format_args!(" == {d}")),
            ExpectValue::Text(s) => self.keyed(" == ", s),
            ExpectValue::Null => self.out.push_str(" == null"),
        }
    }

    // -------------------------------------------------------------- expressions

    /// Prints an operand, parenthesised if needed.
    fn operand(&mut self, e: &Expr, min: u8, tail: u8) {
        if needs_parens(e, min, tail) {
            self.out.push('(');
            self.expr(e, 0);
            self.out.push(')');
        } else {
            self.expr(e, tail);
        }
    }

    fn list(&mut self, items: &[Expr]) {
        for (i, e) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(e, 0);
        }
    }

    /// Prints an expression followed by an operator of strength `tail`
    /// (0: by a delimiter, or nothing).
    fn expr(&mut self, e: &Expr, tail: u8) {
        match &*e.kind {
            ExprKind::Number(d) => self.display(format_args!("{d}")),
            ExprKind::Percent(d) => percent_into(&mut self.out, *d),
            ExprKind::Date(d) => self.display(format_args!("{d}")),
            ExprKind::Str(s) => self.string(s),
            ExprKind::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            ExprKind::Path(parts) => self.names(parts, "."),
            ExprKind::Unary(op, x) => {
                self.out.push_str(match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "not ",
                });
                self.operand(x, unop_prec(*op), tail);
            }
            ExprKind::Binary(op, l, r) => {
                let p = binop_prec(*op);
                let sym = match op {
                    BinOp::Mul => "*",
                    other => other.as_str(),
                };
                self.operand(l, p, p);
                self.out.push(' ');
                self.out.push_str(sym);
                self.out.push(' ');
                self.operand(r, p + 1, tail);
            }
            ExprKind::In(x, items) => {
                self.operand(x, 5, 5);
                self.out.push_str(" in [");
                self.list(items);
                self.out.push(']');
            }
            ExprKind::If(c, a, b) => {
                // An `if` in the else branch continues an `else if` chain.
                self.out.push_str("if ");
                self.expr(c, 0);
                self.out.push_str(" then ");
                self.expr(a, 0);
                self.out.push_str(" else ");
                self.expr(b, 0);
            }
            ExprKind::Case { scrutinee, arms, default } => {
                self.out.push_str("case ");
                self.expr(scrutinee, 0);
                self.out.push_str(" { ");
                for (i, (p, v)) in arms.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(p, 0);
                    self.out.push_str(" => ");
                    self.expr(v, 0);
                }
                if let Some(d) = default {
                    if !arms.is_empty() {
                        self.out.push_str(", ");
                    }
                    self.out.push_str("else => ");
                    self.expr(d, 0);
                }
                self.out.push_str(" }");
            }
            ExprKind::Call(name, args) => {
                self.out.push_str(&name.name);
                self.out.push('(');
                self.list(args);
                self.out.push(')');
            }
            ExprKind::Aggregate { kind, var, collection, filter, body } => {
                self.out.push_str(match kind {
                    AggKind::Any => "any(",
                    AggKind::All => "all(",
                    AggKind::Count => "count(",
                    AggKind::Sum => "sum(",
                });
                self.out.push_str(&var.name);
                self.out.push_str(" in ");
                self.expr(collection, 0);
                if let Some(f) = filter {
                    self.out.push_str(" where ");
                    self.expr(f, 0);
                }
                self.out.push_str(": ");
                self.expr(body, 0);
                self.out.push(')');
            }
            ExprKind::Banded { value, above, bands } => {
                self.out.push_str("banded(");
                self.expr(value, 0);
                if let Some(a) = above {
                    self.out.push_str(", above ");
                    self.expr(a, 0);
                }
                for (from, rate) in bands {
                    self.out.push_str(", from ");
                    // The lower bound stops at `at`.
                    if matches!(&*from.kind, ExprKind::If(..)) || has_bare_at(from) {
                        self.out.push('(');
                        self.expr(from, 0);
                        self.out.push(')');
                    } else {
                        self.expr(from, 0);
                    }
                    self.out.push_str(" at ");
                    self.expr(rate, 0);
                }
                self.out.push(')');
            }
            ExprKind::Round(x, unit, mode) => {
                self.out.push_str("round(");
                self.expr(x, 0);
                self.out.push_str(match unit {
                    RoundUnit::Fen => ", fen, ",
                    RoundUnit::Jiao => ", jiao, ",
                    RoundUnit::Yuan => ", yuan, ",
                });
                self.out.push_str(match mode {
                    RoundMode::HalfUp => "half_up)",
                    RoundMode::Up => "up)",
                    RoundMode::Down => "down)",
                });
            }
        }
    }
}

/// A declared fact's type as written.
pub fn fact_type(t: &FactType) -> String {
    let mut p = Printer { out: String::new() };
    p.fact_type(t);
    p.out
}

/// The left side of an expectation as written.
pub fn expect_path_text(path: &ExpectPath) -> String {
    let mut p = Printer { out: String::new() };
    p.expect_path(path);
    p.out
}

pub(super) fn ty(t: TypeExpr) -> &'static str {
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

/// Appends a string literal with `"`, `\` and newlines escaped.
pub(super) fn string_into(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    // copy the runs between escapes whole
    while let Some(i) = rest.find(['"', '\\', '\n']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            _ => "\\n",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

/// `70%` for 0.70: the inverse of the parser's scale shift.
pub(super) fn percent_into(out: &mut String, d: Decimal) {
    if d.scale() >= 2 {
        let mut m = d;
        if m.set_scale(d.scale() - 2).is_ok() {
            let _ = write!(out, "{m}%");
            return;
        }
    }
    let _ = match d.checked_mul(Decimal::ONE_HUNDRED) {
        Some(m) => write!(out, "{}%", m.normalize()),
        None => write!(out, "{d}"),
    };
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

pub(super) fn binop_prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 2,
        BinOp::And => 3,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 5,
        BinOp::Add | BinOp::Sub => 6,
        BinOp::Mul | BinOp::Div => 7,
        BinOp::At => 9,
    }
}

pub(super) fn unop_prec(op: UnOp) -> u8 {
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
pub(super) fn needs_parens(e: &Expr, min: u8, tail: u8) -> bool {
    match &*e.kind {
        ExprKind::Unary(op, _) => tail >= unop_prec(*op),
        ExprKind::If(..) => true,
        _ => prec(e) < min,
    }
}

/// Whether `e` printed bare has an `at` outside parentheses: a band's lower
/// bound stops at `at`, so such a bound needs parentheses.
pub(super) fn has_bare_at(e: &Expr) -> bool {
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

/// A function's parameter or result type as written.
pub(crate) fn fn_type(t: &crate::syntax::ast::FnType) -> String {
    fn_type_str(t).to_string()
}

pub(super) fn fn_type_str(t: &crate::syntax::ast::FnType) -> &str {
    match t {
        crate::syntax::ast::FnType::Builtin(t) => ty(t.ty),
        crate::syntax::ast::FnType::Named(i) => &i.name,
    }
}
