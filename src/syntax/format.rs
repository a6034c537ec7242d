//! The canonical layout of a policy file, every comment kept (`fupin fmt`).
//!
//! The layout is a function of the tree and the comments: two spellings of
//! the same file (other indentation, other line breaks) format alike, and
//! formatting a formatted file changes nothing. What the author chose and
//! the tree does not hold is kept: comments, where they were (before a line,
//! or at the end of one); single blank lines between lines; parentheses,
//! even where the operators do not need them; numbers as written (`4_400`).
//! Lines are laid out within [`WIDTH`] columns (CJK characters count two)
//! where they can break: a chain of `and`/`or` one operand per line, calls,
//! aggregations, `case`, `if` and lists across lines.
//!
//! The result is checked before it is returned: it parses to a tree equal to
//! the input's (so the content hash, [`crate::policy`], is unchanged) and holds
//! the same comments in the same order; a layout that would change either is
//! an error ([`FormatError::Internal`]), never a rewritten file.
//!
//! ```
//! let src = "rule R \"t\" {  for household\n when a   and b // why\n then eligible p }\n";
//! let out = fupin::syntax::format::format(src).unwrap();
//! assert_eq!(out, "rule R \"t\" {\n  for household\n  when a and b // why\n  then eligible p\n}\n");
//! assert_eq!(fupin::syntax::format::format(&out).unwrap(), out);
//! ```

use super::ast::{
    AggKind, BinOp, Expr, ExprKind, File, HeaderField, Item, Outcome, ParamEntry, RoundMode, RoundUnit, Rule, RuleEntry, Span, Subject,
    TestEntry, UnOp,
};
use super::printer::{self, binop_prec, has_bare_at, needs_parens, piece, unop_prec};
use super::SyntaxError;
use pretty::RcDoc;

/// The width lines are laid out in.
pub const WIDTH: usize = 100;

type Doc<'a> = RcDoc<'a, ()>;

/// Why a file could not be formatted.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file does not parse.
    #[error("the file has {} syntax error(s)", .0.len())]
    Syntax(Vec<SyntaxError>),
    /// The layout would have changed the file's meaning or lost a comment
    /// (a defect of the formatter: the file is left as it was).
    #[error("formatting would change the file ({0}); it is left as it was")]
    Internal(&'static str),
}

/// The canonical layout of `source`.
pub fn format(source: &str) -> Result<String, FormatError> {
    let file = super::parse(source).map_err(FormatError::Syntax)?;
    let mut f = Fmt { src: source, comments: comments(source), next: 0, verbatim: Vec::new() };
    let doc = f.file(&file);
    let mut rendered = String::new();
    doc.render_fmt(WIDTH, &mut rendered).map_err(|_| FormatError::Internal("rendering failed"))?;
    let mut out = String::with_capacity(rendered.len() + 1);
    for line in rendered.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    // the texts kept verbatim (a test's inline household) go in after the
    // trailing blanks are trimmed: they are the value as written
    for (i, text) in f.verbatim.iter().enumerate() {
        out = out.replacen(&placeholder(i), text, 1);
    }
    if out.trim().is_empty() {
        out.clear();
    }
    let again = super::parse(&out).map_err(|_| FormatError::Internal("the layout does not parse"))?;
    if again != file {
        return Err(FormatError::Internal("the layout parses to another tree"));
    }
    let texts = |s: &str| comments(s).into_iter().map(|c| c.text.to_string()).collect::<Vec<_>>();
    if texts(&out) != texts(source) {
        return Err(FormatError::Internal("a comment would move out of order or be lost"));
    }
    Ok(out)
}

fn placeholder(i: usize) -> String {
    format!("\u{1}verbatim{i}\u{1}")
}

/// A `//` comment of the source.
#[derive(Debug, Clone, Copy)]
struct Comment<'a> {
    start: usize,
    /// The comment from `//`, trailing blanks trimmed.
    text: &'a str,
    /// Alone on its line (else it ends a line of code).
    own_line: bool,
    /// A blank line before it.
    blank_before: bool,
}

/// Every comment of `src`, in order: `//` outside a string literal (a test's
/// inline household is JSON, whose strings are quoted alike) to the end of
/// the line.
fn comments(src: &str) -> Vec<Comment<'_>> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' && b[i] != b'\r' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find(['\n', '\r']).map_or(src.len(), |e| i + e);
                let own_line = src[..i].rfind(['\n', '\r']).map_or(0, |n| n + 1);
                out.push(Comment {
                    start: i,
                    text: src[i..end].trim_end(),
                    own_line: src[own_line..i].trim().is_empty(),
                    blank_before: blank_before(src, i),
                });
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether the blanks before `pos` hold an empty line.
fn blank_before(src: &str, pos: usize) -> bool {
    let before = src.get(..pos).unwrap_or("");
    let gap = &before[before.trim_end().len()..];
    gap.matches('\n').count() >= 2 || (!gap.contains('\n') && gap.matches('\r').count() >= 2)
}

/// Where the line holding `pos` starts in the source: back over blanks and
/// `words` words (`cite "…"`: the literal's span, one word back is `cite`).
fn words_back(src: &str, pos: usize, words: usize) -> usize {
    let mut p = pos.min(src.len());
    for _ in 0..words {
        p = src[..p].trim_end().len();
        p = src[..p].trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '+' || c == '=').len();
    }
    p
}

/// Whether the source of `span` is one parenthesised expression: it opens
/// with `(` and the `)` that closes it ends the span.
fn wrapped(src: &str, span: Span) -> bool {
    let Some(text) = src.get(span.start as usize..span.end as usize) else { return false };
    let b = text.as_bytes();
    if b.first() != Some(&b'(') || b.last() != Some(&b')') {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1 == b.len();
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

fn text<'a>(s: impl Into<std::borrow::Cow<'a, str>>) -> Doc<'a> {
    RcDoc::text(s)
}

/// The lines of a block (or of the file) as they are laid out: each line
/// after the comments before it.
struct Lines<'a> {
    doc: Doc<'a>,
    /// Nothing written yet.
    first: bool,
    /// The file's top level: no line break before the first line; blank
    /// lines around every item of more than one line.
    top: bool,
    /// The last line written is an item of more than one line.
    after_block: bool,
    /// The last line written is a comment.
    after_comment: bool,
}

impl<'a> Lines<'a> {
    fn new(top: bool) -> Lines<'a> {
        Lines { doc: RcDoc::nil(), first: true, top, after_block: false, after_comment: false }
    }

    fn push(&mut self, d: Doc<'a>) {
        self.doc = std::mem::replace(&mut self.doc, RcDoc::nil()).append(d);
    }

    /// Start a new line, with a blank line before it if `blank`.
    fn break_line(&mut self, blank: bool) {
        if self.first {
            self.first = false;
            if !self.top {
                self.push(RcDoc::hardline());
            }
            return;
        }
        self.push(RcDoc::hardline());
        if blank {
            self.push(RcDoc::hardline());
        }
    }
}

struct Fmt<'a> {
    src: &'a str,
    comments: Vec<Comment<'a>>,
    /// The first comment not yet written.
    next: usize,
    /// Texts written verbatim, in place of their placeholders.
    verbatim: Vec<&'a str>,
}

impl<'a> Fmt<'a> {
    /// The comments before `pos` not yet written.
    fn take(&mut self, pos: usize) -> &[Comment<'a>] {
        let from = self.next;
        while self.comments.get(self.next).is_some_and(|c| c.start < pos) {
            self.next += 1;
        }
        &self.comments[from..self.next]
    }

    /// Write the comments before `pos` into `lines`: one that ended a line
    /// of code ends the last line written; one alone on its line gets a line.
    fn comments_before(&mut self, lines: &mut Lines<'a>, pos: usize) {
        let taken: Vec<Comment<'a>> = self.take(pos).to_vec();
        for c in taken {
            if !c.own_line && (!lines.first || !lines.top) {
                lines.push(text(" ").append(text(c.text)));
                continue;
            }
            let blank = c.blank_before || (lines.top && lines.after_block);
            lines.break_line(blank);
            lines.push(text(c.text));
            lines.after_block = false;
            lines.after_comment = true;
        }
    }

    /// Start the line of a construct at `pos`: the comments before it, then
    /// the line break. `block`: it spans more than one line.
    fn line(&mut self, lines: &mut Lines<'a>, pos: usize, block: bool) {
        self.comments_before(lines, pos);
        let blank = blank_before(self.src, pos) || (lines.top && (lines.after_block || (block && !lines.after_comment)));
        lines.break_line(blank);
        lines.after_block = block;
        lines.after_comment = false;
    }

    /// A block: `open`, its lines indented, the comments left before its
    /// closing brace at `close`, and `}`.
    fn block(&mut self, open: Doc<'a>, mut lines: Lines<'a>, close: usize) -> Doc<'a> {
        self.comments_before(&mut lines, close);
        let inner = if lines.first { RcDoc::nil() } else { lines.doc.nest(2) };
        open.append(inner).append(RcDoc::hardline()).append(text("}"))
    }

    fn file(&mut self, file: &'a File) -> Doc<'a> {
        let mut lines = Lines::new(true);
        if let Some(h) = &file.header {
            self.line(&mut lines, h.span.start as usize, true);
            let mut inner = Lines::new(false);
            for fld in &h.fields {
                let (pos, words) = match fld {
                    HeaderField::Title(s) | HeaderField::Document(s) | HeaderField::Region(s) | HeaderField::Version(s) => {
                        (s.span.start, 1)
                    }
                    HeaderField::Issued(d) | HeaderField::InForce(d, _) => (d.span.start, 1),
                    HeaderField::Extends(d) => (d.span.start, 1),
                    HeaderField::Overlay(s) => (s.start, 0),
                };
                let pos = words_back(self.src, pos as usize, words);
                self.line(&mut inner, pos, false);
                inner.push(text(piece(|p| p.header_field(fld, true))));
            }
            let open = text(piece(|p| {
                p.out.push_str("policy ");
                p.dotted(&h.id);
                p.out.push_str(" {");
            }));
            let d = self.block(open, inner, close_of(h.span));
            lines.push(d);
        }
        for item in &file.items {
            let (span, block) = item_span(item);
            self.line(&mut lines, span.start as usize, block);
            let d = self.item(item);
            lines.push(d);
        }
        self.comments_before(&mut lines, usize::MAX);
        if lines.first {
            return RcDoc::nil();
        }
        lines.doc.append(RcDoc::hardline())
    }

    fn item(&mut self, item: &'a Item) -> Doc<'a> {
        match item {
            Item::Param(d) => {
                let open = text(piece(|p| {
                    p.param_head(d);
                    p.out.push_str(" {");
                }));
                let mut lines = Lines::new(false);
                for e in &d.entries {
                    let pos = match e {
                        ParamEntry::Title(s) | ParamEntry::Cite(s) => words_back(self.src, s.span.start as usize, 1),
                        ParamEntry::Required(s) => s.start as usize,
                        ParamEntry::From { span, .. } | ParamEntry::Always { span, .. } => span.start as usize,
                        ParamEntry::Floor(x) | ParamEntry::Cap(x) => words_back(self.src, x.span.start as usize, 1),
                    };
                    self.line(&mut lines, pos, false);
                    let d = match e {
                        ParamEntry::Title(s) => text(piece(|p| p.keyed("title ", &s.value))),
                        ParamEntry::Cite(s) => text(piece(|p| p.keyed("cite  ", &s.value))),
                        ParamEntry::Required(_) => text("required"),
                        ParamEntry::From { date, value, cite, .. } => {
                            let v = self.expr(value, 0);
                            text(format!("from {}: ", date.value)).append(v).append(text(piece(|p| p.cite_suffix(cite))))
                        }
                        ParamEntry::Always { value, cite, .. } => {
                            let v = self.expr(value, 0);
                            text("always: ").append(v).append(text(piece(|p| p.cite_suffix(cite))))
                        }
                        ParamEntry::Floor(x) => text("floor ").append(self.expr(x, 0)),
                        ParamEntry::Cap(x) => text("cap ").append(self.expr(x, 0)),
                    };
                    lines.push(d.group());
                }
                self.block(open, lines, close_of(d.span))
            }
            Item::Let(d) => {
                let head = text(piece(|p| p.let_head(d)));
                head.append(self.expr(&d.value, 0)).group()
            }
            Item::Fn(d) => {
                let head = text(piece(|p| {
                    p.fn_head(d);
                    p.out.push_str(" =");
                }));
                head.append(RcDoc::line().append(self.expr(&d.body, 0)).nest(2)).group()
            }
            Item::Fact(d) if fact_has_body(d) => {
                let open = text(piece(|p| {
                    p.display(format_args!("fact {}.{}: ", d.owner.as_str(), d.name.name));
                    p.fact_type(&d.ty);
                    p.out.push_str(" {");
                }));
                let mut lines = Lines::new(false);
                if let Some(t) = &d.title {
                    self.line(&mut lines, words_back(self.src, t.span.start as usize, 1), false);
                    lines.push(text(piece(|p| p.keyed("title ", &t.value))));
                }
                if let Some(c) = &d.cite {
                    self.line(&mut lines, words_back(self.src, c.span.start as usize, 1), false);
                    lines.push(text(piece(|p| p.keyed("cite  ", &c.value))));
                }
                if let Some(o) = &d.optional {
                    self.line(&mut lines, o.start as usize, false);
                    lines.push(text("optional"));
                }
                self.block(open, lines, close_of(d.span))
            }
            Item::Tally(_) | Item::Program(_) | Item::Fact(_) => text(piece(|p| p.item(item)).trim_end().to_string()),
            Item::Indicator(d) => {
                let open = text(piece(|p| {
                    p.out.push_str("indicator ");
                    p.out.push_str(&d.id.name);
                    p.out.push(' ');
                    p.string(&d.title.value);
                    p.out.push_str(" {");
                }));
                let mut lines = Lines::new(false);
                for (word, s) in d.cites.iter().map(|c| ("cite ", c)).chain(d.notes.iter().map(|n| ("note ", n))) {
                    self.line(&mut lines, words_back(self.src, s.span.start as usize, 1), false);
                    lines.push(text(piece(|p| p.keyed(word, &s.value))));
                }
                self.block(open, lines, close_of(d.span))
            }
            Item::Enum(d) => {
                let open = titled_open("enum ", &d.name.name, d.title.as_ref());
                let mut lines = Lines::new(false);
                for v in &d.variants {
                    self.line(&mut lines, v.name.span.start as usize, false);
                    lines.push(text(piece(|p| {
                        p.out.push_str(&v.name.name);
                        title_suffix(p, v.title.as_ref());
                        p.out.push(',');
                    })));
                }
                self.block(open, lines, close_of(d.span))
            }
            Item::Layer(d) => {
                let open = titled_open("layer ", &d.name.name, d.title.as_ref());
                let mut lines = Lines::new(false);
                for f in &d.field {
                    self.line(&mut lines, words_back(self.src, f.span.start as usize, 1), false);
                    lines.push(text(piece(|p| p.keyed("field   ", &f.value))));
                }
                for prog in &d.program {
                    self.line(&mut lines, words_back(self.src, prog.span.start as usize, 1), false);
                    lines.push(text(piece(|p| {
                        p.out.push_str("program ");
                        p.dotted(prog);
                        // (`program` is the longest word of a layer: the others are aligned to it)
                    })));
                }
                for c in &d.cite {
                    self.line(&mut lines, words_back(self.src, c.span.start as usize, 1), false);
                    lines.push(text(piece(|p| p.keyed("cite    ", &c.value))));
                }
                for w in &d.within {
                    self.line(&mut lines, w.start as usize, false);
                    lines.push(text("within out_of_pocket"));
                }
                self.block(open, lines, close_of(d.span))
            }
            Item::Rule(r) => self.rule(r),
            Item::Test(t) => {
                let open = text(piece(|p| {
                    p.out.push_str("test ");
                    p.string(&t.name.value);
                    p.out.push_str(" {");
                }));
                let mut lines = Lines::new(false);
                for e in &t.entries {
                    let pos = match e {
                        TestEntry::HouseholdFile(s) | TestEntry::HouseholdInline(s) => words_back(self.src, s.span.start as usize, 1),
                        TestEntry::AsOf(d) => words_back(self.src, d.span.start as usize, 1),
                        TestEntry::Set(name, _) => words_back(self.src, name.span.start as usize, 1),
                        TestEntry::Expect(x) => x.span.start as usize,
                        TestEntry::ExpectError(s) => words_back(self.src, s.span.start as usize, 2),
                    };
                    self.line(&mut lines, pos, false);
                    let d = match e {
                        TestEntry::HouseholdFile(s) => text(piece(|p| p.keyed("household ", &s.value))),
                        TestEntry::HouseholdInline(s) => {
                            // the JSON text is the value: written as it is
                            self.verbatim.push(&s.value);
                            text(format!("household {}", placeholder(self.verbatim.len() - 1)))
                        }
                        TestEntry::AsOf(d) => text(format!("as_of {}", d.value)),
                        TestEntry::Set(name, x) => text(format!("set {} = ", name.name)).append(self.expr(x, 0)).group(),
                        TestEntry::Expect(x) => text(self.expectation(x)),
                        TestEntry::ExpectError(s) => text(piece(|p| p.keyed("expect error ", &s.value))),
                    };
                    lines.push(d);
                }
                self.block(open, lines, close_of(t.span))
            }
        }
    }

    /// An expectation; a text value written as a bare name (`== relocation`) stays one.
    fn expectation(&self, x: &super::ast::Expectation) -> String {
        let written = self.src.get(x.span.start as usize..x.span.end as usize).unwrap_or("");
        match &x.value {
            super::ast::ExpectValue::Text(t) if !written.trim_end().ends_with('"') && is_name(t) => piece(|p| {
                p.out.push_str("expect ");
                p.expect_path(&x.path);
                p.out.push_str(" == ");
                p.out.push_str(t);
            }),
            _ => piece(|p| p.expectation(x)),
        }
    }

    fn rule(&mut self, r: &'a Rule) -> Doc<'a> {
        let open = text(piece(|p| {
            p.out.push_str("rule ");
            p.out.push_str(&r.id.name);
            p.out.push(' ');
            p.string(&r.title.value);
            p.out.push_str(" {");
        }));
        let mut lines = Lines::new(false);
        for e in &r.entries {
            let pos = match e {
                RuleEntry::Cite(s) | RuleEntry::Note(s) => words_back(self.src, s.span.start as usize, 1),
                RuleEntry::Subject(_, span) => span.start as usize,
                RuleEntry::ExceptionTo(ids) => words_back(self.src, ids.first().map_or(r.span.start, |i| i.span.start) as usize, 2),
                RuleEntry::When(x) => words_back(self.src, x.span.start as usize, 1),
                RuleEntry::Let(name, _) => words_back(self.src, name.span.start as usize, 1),
            };
            self.line(&mut lines, pos, false);
            let d = match e {
                RuleEntry::Cite(s) => text(piece(|p| p.keyed("cite ", &s.value))),
                RuleEntry::Note(s) => text(piece(|p| p.keyed("note ", &s.value))),
                RuleEntry::Subject(s, _) => text(match s {
                    Subject::Household => "for household".to_string(),
                    Subject::Member(v) => format!("for each member {}", v.name),
                    Subject::Claim(v) => format!("for each claim {}", v.name),
                    Subject::Loan(v) => format!("for each loan {}", v.name),
                }),
                RuleEntry::ExceptionTo(ids) => text(piece(|p| {
                    p.out.push_str("exception to ");
                    p.names(ids, ", ");
                })),
                RuleEntry::When(x) => text("when ").append(self.expr(x, 0)).group(),
                RuleEntry::Let(name, x) => text(format!("let {} = ", name.name)).append(self.expr(x, 0)).group(),
            };
            lines.push(d);
        }
        let starts: Vec<usize> = r.outcomes.iter().map(|o| words_back(self.src, outcome_target_start(o), 1)).collect();
        // `then` is the first token after the last entry
        let after = match r.entries.last() {
            Some(e) => entry_end(e),
            // after the rule's `{`
            None => super::parser::skip_trivia(self.src, r.title.span.end as usize) + 1,
        };
        let then_at = super::parser::skip_trivia(self.src, after);
        match r.outcomes.as_slice() {
            [one] => {
                self.line(&mut lines, then_at, false);
                let d = self.outcome(one);
                lines.push(text("then ").append(d).group());
            }
            many => {
                let first = starts.first().copied().unwrap_or(r.span.end as usize);
                self.line(&mut lines, then_at, true);
                let mut inner = Lines::new(false);
                for (o, &pos) in many.iter().zip(&starts) {
                    self.line(&mut inner, pos, false);
                    let d = self.outcome(o);
                    inner.push(d.group());
                }
                let close = many.last().map_or(first, |o| then_close(self.src, outcome_end(o)));
                let d = self.block(text("then {"), inner, close);
                lines.push(d);
            }
        }
        self.block(open, lines, close_of(r.span))
    }

    fn outcome(&mut self, o: &'a Outcome) -> Doc<'a> {
        match o {
            Outcome::Eligible(p) => text(piece(|pr| {
                pr.out.push_str("eligible ");
                pr.dotted(p);
            })),
            Outcome::Flag(p) => text(piece(|pr| {
                pr.out.push_str("flag ");
                pr.dotted(p);
            })),
            Outcome::Assign(p, v) => text(piece(|pr| {
                pr.out.push_str("assign ");
                pr.dotted(p);
                pr.out.push_str(" = ");
                pr.out.push_str(&v.name);
            })),
            Outcome::Amount(p, e) => {
                let head = text(piece(|pr| {
                    pr.out.push_str("amount ");
                    pr.dotted(p);
                    pr.out.push_str(" = ");
                }));
                head.append(self.expr(e, 0))
            }
            Outcome::Pay(l, e) => text(format!("pay {} = ", l.name)).append(self.expr(e, 0)),
            Outcome::AddTally(t, e) => text(format!("tally {} += ", t.name)).append(self.expr(e, 0)),
        }
    }

    // ---------------------------------------------------------- expressions

    /// An expression followed by an operator of strength `tail` (0: by a
    /// delimiter), in the parentheses the source put around it.
    fn expr(&mut self, e: &'a Expr, tail: u8) -> Doc<'a> {
        if wrapped(self.src, e.span) {
            return text("(").append(self.bare(e, 0)).append(text(")"));
        }
        self.bare(e, tail)
    }

    /// An operand that must bind at least as strongly as `min`.
    fn operand(&mut self, e: &'a Expr, min: u8, tail: u8) -> Doc<'a> {
        if needs_parens(e, min, tail) && !wrapped(self.src, e.span) {
            return text("(").append(self.bare(e, 0)).append(text(")"));
        }
        self.expr(e, tail)
    }

    /// The literal as written, if it is a plain literal (`4_400`, `70%`,
    /// `2020-01-01`); else as the printer writes it.
    fn literal(&self, e: &'a Expr, printed: String) -> Doc<'a> {
        let written = self.src.get(e.span.start as usize..e.span.end as usize).unwrap_or("");
        if !written.is_empty() && written.chars().all(|c| c.is_ascii_digit() || matches!(c, '_' | '.' | '%' | '-')) {
            text(written)
        } else {
            text(printed)
        }
    }

    /// Comma-separated items, laid out on one line or one per line.
    fn list(open: Doc<'a>, items: Vec<Doc<'a>>, close: &'a str) -> Doc<'a> {
        let sep = text(",").append(RcDoc::line());
        open.append(RcDoc::line_().append(RcDoc::intersperse(items, sep)).nest(2)).append(RcDoc::line_()).append(text(close)).group()
    }

    fn bare(&mut self, e: &'a Expr, tail: u8) -> Doc<'a> {
        match &*e.kind {
            ExprKind::Number(d) => self.literal(e, d.to_string()),
            ExprKind::Percent(d) => self.literal(e, {
                let mut s = String::new();
                printer::percent_into(&mut s, *d);
                s
            }),
            ExprKind::Date(d) => self.literal(e, d.to_string()),
            ExprKind::Str(s) => text(piece(|p| p.string(s))),
            ExprKind::Bool(b) => text(if *b { "true" } else { "false" }),
            ExprKind::Path(parts) => text(piece(|p| p.names(parts, "."))),
            ExprKind::Unary(op, x) => {
                let sym = match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "not ",
                };
                text(sym).append(self.operand(x, unop_prec(*op), tail))
            }
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or), ..) => self.chain(e, *op, tail),
            ExprKind::Binary(op, l, r) => {
                let p = binop_prec(*op);
                let l = self.operand(l, p, p);
                let r = self.operand(r, p + 1, tail);
                l.append(text(format!(" {} ", op.as_str()))).append(r)
            }
            ExprKind::In(x, items) => {
                let x = self.operand(x, 5, 5);
                let items = items.iter().map(|i| self.expr(i, 0)).collect();
                x.append(Self::list(text(" in ["), items, "]"))
            }
            ExprKind::If(..) => {
                // an `else if` chain: each `else` starts a line when it breaks
                let mut doc = RcDoc::nil();
                let mut at = e;
                let mut word = "if ";
                loop {
                    match &*at.kind {
                        ExprKind::If(c, a, b) if std::ptr::eq(at, e) || !wrapped(self.src, at.span) => {
                            let c = self.expr(c, 0);
                            let a = self.expr(a, 0);
                            doc = doc.append(text(word)).append(c).append(text(" then ")).append(a).append(RcDoc::line());
                            word = "else if ";
                            at = b;
                        }
                        _ => break,
                    }
                }
                doc.append(text("else ")).append(self.expr(at, 0)).group()
            }
            ExprKind::Case { scrutinee, arms, default } => {
                let s = self.expr(scrutinee, 0);
                let mut docs: Vec<Doc<'a>> = Vec::new();
                for (p, v) in arms {
                    let p = self.expr(p, 0);
                    let v = self.expr(v, 0);
                    docs.push(p.append(text(" => ")).append(v));
                }
                if let Some(d) = default {
                    docs.push(text("else => ").append(self.expr(d, 0)));
                }
                let sep = text(",").append(RcDoc::line());
                text("case ")
                    .append(s)
                    .append(text(" {"))
                    .append(RcDoc::line().append(RcDoc::intersperse(docs, sep)).nest(2))
                    .append(RcDoc::line())
                    .append(text("}"))
                    .group()
            }
            ExprKind::Call(name, args) => {
                let args = args.iter().map(|a| self.expr(a, 0)).collect();
                Self::list(text(format!("{}(", name.name)), args, ")")
            }
            ExprKind::Aggregate { kind, var, collection, filter, body } => {
                let word = match kind {
                    AggKind::Any => "any(",
                    AggKind::All => "all(",
                    AggKind::Count => "count(",
                    AggKind::Sum => "sum(",
                };
                let mut head = text(format!("{word}{} in ", var.name)).append(self.expr(collection, 0));
                if let Some(f) = filter {
                    head = head.append(text(" where ")).append(self.expr(f, 0));
                }
                let body = self.expr(body, 0);
                head.append(text(":")).append(RcDoc::line().append(body).nest(2)).append(text(")")).group()
            }
            ExprKind::Banded { value, above, bands } => {
                let mut items = vec![self.expr(value, 0)];
                if let Some(a) = above {
                    items.push(text("above ").append(self.expr(a, 0)));
                }
                for (from, rate) in bands {
                    // the lower bound stops at `at`
                    let bound = if (matches!(&*from.kind, ExprKind::If(..)) || has_bare_at(from)) && !wrapped(self.src, from.span) {
                        text("(").append(self.bare(from, 0)).append(text(")"))
                    } else {
                        self.expr(from, 0)
                    };
                    let rate = self.expr(rate, 0);
                    items.push(text("from ").append(bound).append(text(" at ")).append(rate));
                }
                Self::list(text("banded("), items, ")")
            }
            ExprKind::Round(x, unit, mode) => {
                let x = self.expr(x, 0);
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
                // the unit and the mode stay with the value they round
                text("round(")
                    .append(RcDoc::line_().append(x).append(text(format!(", {unit}, {mode}"))).nest(2))
                    .append(RcDoc::line_())
                    .append(text(")"))
                    .group()
            }
        }
    }

    /// A chain of `and` (or of `or`): on one line, or one operand per line
    /// with the operator first; a comment between operands stays there.
    fn chain(&mut self, e: &'a Expr, op: BinOp, tail: u8) -> Doc<'a> {
        let p = binop_prec(op);
        // the operands, leftmost first: the left spine of unparenthesised `op`s
        let mut operands = Vec::new();
        let mut at = e;
        loop {
            match &*at.kind {
                ExprKind::Binary(o, l, r) if *o == op && (std::ptr::eq(at, e) || !wrapped(self.src, at.span)) => {
                    operands.push(r);
                    at = l;
                }
                _ => break,
            }
        }
        operands.push(at);
        operands.reverse();
        let last = operands.len() - 1;
        let mut doc = self.operand(operands[0], p, p);
        let mut rest = RcDoc::nil();
        for (i, x) in operands.iter().enumerate().skip(1) {
            let taken: Vec<Comment<'a>> = self.take(x.span.start as usize).to_vec();
            let mut sep = RcDoc::nil();
            let mut broken = false;
            for c in taken {
                if c.own_line {
                    sep = sep.append(RcDoc::hardline()).append(text(c.text));
                } else {
                    sep = sep.append(text(" ")).append(text(c.text));
                }
                broken = true;
            }
            sep = sep.append(if broken { RcDoc::hardline() } else { RcDoc::line() });
            let x = self.operand(x, p + 1, if i == last { tail } else { p });
            rest = rest.append(sep).append(text(format!("{} ", op.as_str()))).append(x);
        }
        doc = doc.append(rest.nest(2));
        doc.group()
    }
}

/// ` "title"`, if there is one.
fn title_suffix(p: &mut printer::Printer, title: Option<&super::ast::StrLit>) {
    if let Some(t) = title {
        p.out.push(' ');
        p.string(&t.value);
    }
}

/// `WORD NAME "title" {`: the opening line of an enum or a layer.
fn titled_open<'a>(word: &str, name: &str, title: Option<&super::ast::StrLit>) -> Doc<'a> {
    text(piece(|p| {
        p.out.push_str(word);
        p.out.push_str(name);
        title_suffix(p, title);
        p.out.push_str(" {");
    }))
}

/// Where the closing `}` of a construct spanning `span` is.
fn close_of(span: Span) -> usize {
    (span.end as usize).saturating_sub(1)
}

/// The span of an item, and whether it spans more than one line.
fn item_span(item: &Item) -> (Span, bool) {
    match item {
        Item::Param(d) => (d.span, true),
        Item::Let(d) => (d.span, false),
        Item::Fn(d) => (d.span, false),
        Item::Tally(d) => (d.span, false),
        Item::Program(d) => (d.span, false),
        Item::Indicator(d) => (d.span, true),
        Item::Fact(d) => (d.span, fact_has_body(d)),
        Item::Enum(d) => (d.span, true),
        Item::Layer(d) => (d.span, true),
        Item::Rule(r) => (r.span, true),
        Item::Test(t) => (t.span, true),
    }
}

fn is_name(t: &str) -> bool {
    t.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && t.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn fact_has_body(d: &super::ast::FactDecl) -> bool {
    d.title.is_some() || d.cite.is_some() || d.optional.is_some()
}

/// Where an outcome's target (the word after its keyword) starts.
fn outcome_target_start(o: &Outcome) -> usize {
    (match o {
        Outcome::Eligible(p) | Outcome::Amount(p, _) | Outcome::Flag(p) | Outcome::Assign(p, _) => p.span.start,
        Outcome::Pay(l, _) | Outcome::AddTally(l, _) => l.span.start,
    }) as usize
}

/// Where a rule entry ends.
fn entry_end(e: &RuleEntry) -> usize {
    (match e {
        RuleEntry::Cite(s) | RuleEntry::Note(s) => s.span.end,
        RuleEntry::Subject(_, span) => span.end,
        RuleEntry::ExceptionTo(ids) => ids.last().map_or(0, |i| i.span.end),
        RuleEntry::When(x) | RuleEntry::Let(_, x) => x.span.end,
    }) as usize
}

fn outcome_end(o: &Outcome) -> usize {
    (match o {
        Outcome::Eligible(p) | Outcome::Flag(p) => p.span.end,
        Outcome::Assign(_, v) => v.span.end,
        Outcome::Amount(_, e) | Outcome::Pay(_, e) | Outcome::AddTally(_, e) => e.span.end,
    }) as usize
}

/// The `}` that closes a `then { … }` whose last outcome ends at `end`.
fn then_close(src: &str, end: usize) -> usize {
    let mut i = end;
    let b = src.as_bytes();
    while i < b.len() {
        match b[i] {
            b'}' => return i,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    end
}
