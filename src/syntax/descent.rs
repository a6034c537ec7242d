//! The fast path of the parser: a hand-written recursive descent over the
//! bytes of the source, tried on each top-level item before the pest
//! grammar (`grammar/policy.pest`), which stays the definition of the
//! language and the only source of error messages.
//!
//! [`item`] parses one item the way the grammar's `first_item` /
//! `next_item` and the builder in `parser.rs` do, and returns exactly the
//! tree they build, spans included. For anything it is not sure of (a
//! syntax error, a literal or a name the builder rejects, a tree deeper
//! than the builder accepts, a path it would have to backtrack from) it
//! returns `None`, and the driver parses that item with pest. The two are checked
//! against each other item by item (tests/parser_differential.rs).
//!
//! Conventions:
//! - `pos` is where pest would be. Every `~` of a non-atomic grammar rule
//!   is a [`Descent::ws`] (pest's implicit whitespace), so a rule that ends
//!   with an optional part or a repetition ends after the whitespace that
//!   follows its last token, as it does in pest.
//! - Every failure is `None` and ends the attempt. At each choice, option
//!   and repetition the code decides by the first token; once it has
//!   decided, a failure gives the item to pest (which may backtrack and
//!   succeed another way, or report the error). A first-token test may say
//!   yes where the grammar's alternative then fails, never no where it
//!   could match.
//! - Nothing slices or indexes without `get`; recursion is bounded by
//!   [`MAX_RECURSION`], whatever the pre-scan of `limits` lets through.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::ast::{
    AggKind, BinOp, DateLit, DottedName, EnumDecl, EnumVariant, ExpectPath, ExpectValue, Expectation, Expr, ExprKind, FactDecl, FactOwner,
    FactScalar, FactType, FnDecl, FnParam, FnType, HeaderField, Ident, IndicatorDecl, Item, LayerDecl, LetDecl, Outcome, ParamDecl,
    ParamEntry, PolicyHeader, ProgramDecl, RoundMode, RoundUnit, Rule, RuleEntry, Span, StrLit, Subject, TallyDecl, TallyScope, Test,
    TestEntry, TypeAnn, TypeExpr, UnOp,
};
use super::limits;
use super::parser::Top;

/// Deepest nesting of expression parsing. Each level but the brackets
/// (at most [`limits::MAX_NESTING`]) adds one to the depth of the tree, so
/// past this the builder would reject the tree as too deep anyway.
const MAX_RECURSION: usize = limits::MAX_EXPR_DEPTH + limits::MAX_NESTING + 2;

/// The reserved words (the grammar's `reserved`).
const RESERVED: &[&[u8]] = &[b"and", b"or", b"not", b"if", b"then", b"else", b"case", b"true", b"false", b"in", b"at", b"from", b"where"];

/// The words the grammar's `item_start` accepts after an item.
const ITEM_START: &[&[u8]] =
    &[b"rule", b"param", b"override", b"let", b"fn", b"tally", b"program", b"indicator", b"fact", b"enum", b"layer", b"test", b"policy"];

// Binding powers, as the builder's Pratt table gives them (loosest first).
const OR: u32 = 20;
const AND: u32 = 30;
const NOT: u32 = 40;
const CMP: u32 = 50;
const ADD: u32 = 60;
const MUL: u32 = 70;
const NEG: u32 = 80;
const AT: u32 = 90;

/// Parses the item (or, when `first`, the policy header or an item) that
/// starts at byte `pos` of `source`, which must be where the driver stands
/// (after whitespace, at a character boundary), and checks that an item or
/// the end of the file follows. Returns it and where pest's entry rule
/// ends, or `None` if pest must parse it.
pub(super) fn item(source: &str, pos: usize, first: bool) -> Option<(Top, usize)> {
    let mut p = Descent { src: source, b: source.as_bytes(), pos, nest: 0 };
    let top = if first && p.kw(b"policy") { Top::Header(p.header()?) } else { Top::Item(p.item()?) };
    p.ws();
    if !p.item_start() {
        return None;
    }
    Some((top, p.pos))
}

struct Descent<'s> {
    src: &'s str,
    b: &'s [u8],
    pos: usize,
    /// Current depth of expression parsing.
    nest: usize,
}

/// An expression and the depth of its tree (as the builder counts it).
struct Ex {
    e: Expr,
    depth: usize,
}

/// What decides where pest's `expr` rule ends: the number of infix
/// operators read (operands minus one), the end of the last token, and
/// whether that token is the `]` of an `in` list.
struct Tail {
    infixes: usize,
    last_end: usize,
    last_in: bool,
}

/// An operator after an operand.
#[derive(Clone, Copy)]
enum Op {
    In,
    Bin(BinOp),
}

/// An expression node, unless the tree gets deeper than the builder accepts.
fn node(kind: ExprKind, span: Span, depth: usize) -> Option<Ex> {
    if depth > limits::MAX_EXPR_DEPTH {
        return None;
    }
    Some(Ex { e: Expr { kind: Box::new(kind), span }, depth })
}

/// ASCII bytes that may start a name (`XID_START` and `_`).
const START: u8 = 1;
/// ASCII bytes that may continue a name (`XID_CONTINUE` and `_`).
const CONTINUE: u8 = 2;

/// The classes of the ASCII bytes (none for other bytes).
static ASCII: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] = START | CONTINUE;
        } else if b.is_ascii_digit() {
            t[c] = CONTINUE;
        }
        c += 1;
    }
    t
};

fn is_reserved(word: &[u8]) -> bool {
    RESERVED.contains(&word)
}

/// Whitespace and comments from `i` (the grammar's `WHITESPACE*`).
fn skip(b: &[u8], mut i: usize) -> usize {
    loop {
        match b.get(i) {
            Some(b' ' | b'\t' | b'\n' | b'\r') => i += 1,
            Some(b'/') if b.get(i + 1) == Some(&b'/') => {
                let rest = b.get(i..).unwrap_or_default();
                i += memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
            }
            Some(0xEF) if b.get(i + 1) == Some(&0xBB) && b.get(i + 2) == Some(&0xBF) => i += 3,
            _ => return i,
        }
    }
}

/// An exact decimal from digits with optional `.` and `_` separators, as
/// the builder reads it.
fn decimal(text: &str) -> Option<Decimal> {
    let mut mantissa: i64 = 0;
    let mut digits = 0u32;
    let mut scale = 0u32;
    let mut fraction = false;
    for &c in text.as_bytes() {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 18 {
                    // the builder's own reading, which knows the limits of `Decimal`
                    let clean: String = text.chars().filter(|c| *c != '_').collect();
                    return Decimal::from_str_exact(&clean).ok();
                }
                mantissa = mantissa * 10 + i64::from(c - b'0');
                if fraction {
                    scale += 1;
                }
            }
            b'.' => fraction = true,
            b'_' => {}
            _ => return None,
        }
    }
    Some(Decimal::new(mantissa, scale))
}

/// A string's text with its escapes (`\"`, `\\`, `\n`, the only ones
/// [`Descent::string`] lets through) resolved.
fn unescape(raw: &str) -> String {
    let mut value = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => value.push('\n'),
            Some(e) => value.push(e),
            None => {}
        }
    }
    value
}

impl Descent<'_> {
    // ---------------------------------------------------------- characters and tokens

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn byte_at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn char_at(&self, i: usize) -> Option<char> {
        self.src.get(i..)?.chars().next()
    }

    /// Skips whitespace and comments (pest's implicit whitespace).
    fn ws(&mut self) {
        self.pos = skip(self.b, self.pos);
    }

    /// Whether the character at `i` is an `ident_char` (`XID_CONTINUE | "_"`,
    /// decided by pest's own tables beyond ASCII).
    fn ident_char_at(&self, i: usize) -> bool {
        match self.b.get(i) {
            None => false,
            Some(&c) if c < 0x80 => ASCII[usize::from(c)] & CONTINUE != 0,
            Some(_) => self.char_at(i).is_some_and(pest::unicode::XID_CONTINUE),
        }
    }

    /// Whether the keyword `w` (followed by no `ident_char`) is at `i`.
    fn kw_at(&self, i: usize, w: &[u8]) -> bool {
        self.b.get(i..i + w.len()) == Some(w) && !self.ident_char_at(i + w.len())
    }

    fn kw(&self, w: &[u8]) -> bool {
        self.kw_at(self.pos, w)
    }

    /// Takes the keyword `w` and the whitespace after it.
    fn take_kw(&mut self, w: &[u8]) -> Option<()> {
        if !self.kw(w) {
            return None;
        }
        self.pos += w.len();
        self.ws();
        Some(())
    }

    /// Takes the byte `c` (ASCII punctuation) and the whitespace after it.
    fn take(&mut self, c: u8) -> Option<()> {
        if self.peek() != Some(c) {
            return None;
        }
        self.pos += 1;
        self.ws();
        Some(())
    }

    /// The grammar's `p_eq`: `=` but not `==` or `=>`.
    fn take_eq(&mut self) -> Option<()> {
        if self.peek() != Some(b'=') || matches!(self.byte_at(self.pos + 1), Some(b'=' | b'>')) {
            return None;
        }
        self.pos += 1;
        self.ws();
        Some(())
    }

    /// Takes a `,` unless what follows it (after whitespace) is `close`:
    /// the separator of a list whose last element may be followed by a
    /// trailing comma. Returns whether another element follows.
    fn comma_before_more(&mut self, close: u8) -> bool {
        if self.peek() != Some(b',') {
            return false;
        }
        self.pos += 1;
        self.ws();
        self.peek() != Some(close)
    }

    /// Whether an item keyword or the end of the file is here.
    fn item_start(&self) -> bool {
        self.pos >= self.b.len() || ITEM_START.iter().any(|w| self.kw(w))
    }

    // ---------------------------------------------------------- names

    /// The end of the word at `i`: an `XID_START` or `_`, then
    /// `XID_CONTINUE` characters (and `-` if `dash`).
    fn word_end(&self, i: usize, dash: bool) -> Option<usize> {
        let mut j = i;
        let c = *self.b.get(j)?;
        if c < 0x80 {
            if ASCII[usize::from(c)] & START == 0 {
                return None;
            }
            j += 1;
        } else {
            let ch = self.char_at(j)?;
            if !pest::unicode::XID_START(ch) {
                return None;
            }
            j += ch.len_utf8();
        }
        loop {
            match self.b.get(j) {
                Some(&c) if c < 0x80 && (ASCII[usize::from(c)] & CONTINUE != 0 || (dash && c == b'-')) => j += 1,
                Some(&c) if c >= 0x80 => match self.char_at(j) {
                    Some(ch) if pest::unicode::XID_CONTINUE(ch) => j += ch.len_utf8(),
                    _ => return Some(j),
                },
                _ => return Some(j),
            }
        }
    }

    /// The end of the `ident` at `i`, if one is there.
    fn ident_end(&self, i: usize) -> Option<usize> {
        let end = self.word_end(i, false)?;
        if is_reserved(self.b.get(i..end)?) {
            return None;
        }
        Some(end)
    }

    /// The name from `pos` to `end`, which is taken.
    fn name_to(&mut self, end: usize) -> Option<Ident> {
        let name = self.src.get(self.pos..end)?;
        if name.len() > limits::MAX_IDENT_LEN && name.chars().count() > limits::MAX_IDENT_LEN {
            return None;
        }
        let id = Ident { name: name.to_string(), span: Span::new(self.pos, end) };
        self.pos = end;
        Some(id)
    }

    fn ident(&mut self) -> Option<Ident> {
        let end = self.ident_end(self.pos)?;
        self.name_to(end)
    }

    /// `rule_id`: like a name, with `-`; a reserved word only if a `-` follows it.
    fn rule_id(&mut self) -> Option<Ident> {
        let word = self.word_end(self.pos, false)?;
        if is_reserved(self.b.get(self.pos..word)?) && self.byte_at(word) != Some(b'-') {
            return None;
        }
        let end = self.word_end(self.pos, true)?;
        self.name_to(end)
    }

    /// The rest of a dotted name whose first part is taken: `(. ident)*`.
    fn more_parts(&mut self, parts: &mut Vec<Ident>) -> Option<()> {
        while self.peek() == Some(b'.') {
            let Some(end) = self.ident_end(self.pos + 1) else { break };
            self.pos += 1;
            parts.push(self.name_to(end)?);
        }
        Some(())
    }

    fn dotted(&mut self) -> Option<DottedName> {
        let start = self.pos;
        let end = self.ident_end(start)?;
        let mut parts = Vec::with_capacity(if self.byte_at(end) == Some(b'.') { 4 } else { 1 });
        parts.push(self.name_to(end)?);
        self.more_parts(&mut parts)?;
        Some(DottedName { parts, span: Span::new(start, self.pos) })
    }

    // ---------------------------------------------------------- literals

    /// A string; `None` for an escape the builder rejects.
    fn string(&mut self) -> Option<StrLit> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return None;
        }
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            // the plain run at once: up to `"`, `\\` or a line break
            let rest = self.b.get(i..)?;
            let stop = memchr::memchr3(b'"', b'\\', b'\n', rest)?;
            if memchr::memchr(b'\r', rest.get(..stop)?).is_some() {
                return None;
            }
            i += stop;
            match *self.b.get(i)? {
                b'"' => break,
                b'\\' => match *self.b.get(i + 1)? {
                    b'"' | b'\\' | b'n' => {
                        escaped = true;
                        i += 2;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
        let raw = self.src.get(start + 1..i)?;
        let value = if escaped { unescape(raw) } else { raw.to_string() };
        self.pos = i + 1;
        Some(StrLit { value, span: Span::new(start, self.pos) })
    }

    /// Whether the grammar's `date` matches at `i`: `DDDD-DD-DD` followed
    /// by no digit or `ident_char`.
    fn is_date_at(&self, i: usize) -> bool {
        let digit = |k: usize| self.byte_at(i + k).is_some_and(|c| c.is_ascii_digit());
        (0..4).all(digit)
            && self.byte_at(i + 4) == Some(b'-')
            && (5..7).all(digit)
            && self.byte_at(i + 7) == Some(b'-')
            && (8..10).all(digit)
            && !self.ident_char_at(i + 10)
    }

    /// A date literal; `None` if it is not one or not a calendar date in
    /// the years 1–9999.
    fn date(&mut self) -> Option<DateLit> {
        let s = self.pos;
        if !self.is_date_at(s) {
            return None;
        }
        let num = |from: usize, to: usize| (from..to).fold(0u32, |n, k| n * 10 + u32::from(self.byte_at(s + k).unwrap_or(b'0') - b'0'));
        let (y, m, d) = (num(0, 4), num(5, 7), num(8, 10));
        if y == 0 {
            return None;
        }
        let value = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
        self.pos = s + 10;
        Some(DateLit { value, span: Span::new(s, self.pos) })
    }

    /// The end of the grammar's `num_body` at `i` (a digit).
    fn num_end(&self, i: usize) -> usize {
        let digits = |mut j: usize| {
            while self.byte_at(j).is_some_and(|c| c.is_ascii_digit() || c == b'_') {
                j += 1;
            }
            j
        };
        let j = digits(i + 1);
        if self.byte_at(j) == Some(b'.') && self.byte_at(j + 1).is_some_and(|c| c.is_ascii_digit()) {
            digits(j + 2)
        } else {
            j
        }
    }

    fn ty(&mut self) -> Option<TypeAnn> {
        const TYPES: [(&[u8], TypeExpr); 10] = [
            (b"yuan/year", TypeExpr::YuanPerYear),
            (b"yuan/month", TypeExpr::YuanPerMonth),
            (b"yuan", TypeExpr::Yuan),
            (b"bool", TypeExpr::Bool),
            (b"int", TypeExpr::Int),
            (b"decimal", TypeExpr::Decimal),
            (b"rate", TypeExpr::Rate),
            (b"date", TypeExpr::Date),
            (b"days", TypeExpr::Days),
            (b"text", TypeExpr::Text),
        ];
        let rest = self.b.get(self.pos..)?;
        // the first that matches, then `!(ident_char | "/")`
        let (w, ty) = TYPES.iter().find(|(w, _)| rest.starts_with(w))?;
        let end = self.pos + w.len();
        if self.ident_char_at(end) || self.byte_at(end) == Some(b'/') {
            return None;
        }
        let span = Span::new(self.pos, end);
        self.pos = end;
        Some(TypeAnn { ty: *ty, span })
    }

    // ---------------------------------------------------------- items

    fn item(&mut self) -> Option<Item> {
        Some(match self.peek()? {
            b'r' if self.kw(b"rule") => Item::Rule(self.rule_decl()?),
            b'p' if self.kw(b"param") => Item::Param(self.param_decl(false)?),
            b'o' if self.kw(b"override") => Item::Param(self.param_decl(true)?),
            b'l' if self.kw(b"let") => Item::Let(self.let_decl()?),
            b'l' if self.kw(b"layer") => Item::Layer(self.layer_decl()?),
            b'p' if self.kw(b"program") => Item::Program(self.program_decl()?),
            b'f' if self.kw(b"fn") => Item::Fn(self.fn_decl()?),
            b'f' if self.kw(b"fact") => Item::Fact(self.fact_decl()?),
            b't' if self.kw(b"tally") => Item::Tally(self.tally_decl()?),
            b'i' if self.kw(b"indicator") => Item::Indicator(self.indicator_decl()?),
            b'e' if self.kw(b"enum") => Item::Enum(self.enum_decl()?),
            b't' if self.kw(b"test") => Item::Test(self.test_decl()?),
            _ => return None,
        })
    }

    fn header(&mut self) -> Option<PolicyHeader> {
        let start = self.pos;
        self.take_kw(b"policy")?;
        let id = self.dotted()?;
        self.ws();
        self.take(b'{')?;
        let mut fields = Vec::new();
        loop {
            let at = self.pos;
            let field = if self.kw(b"title") {
                self.take_kw(b"title")?;
                HeaderField::Title(self.string()?)
            } else if self.kw(b"document") {
                self.take_kw(b"document")?;
                HeaderField::Document(self.string()?)
            } else if self.kw(b"issued") {
                self.take_kw(b"issued")?;
                HeaderField::Issued(self.date()?)
            } else if self.kw(b"region") {
                self.take_kw(b"region")?;
                let s = self.pos;
                let mut e = s;
                while self.byte_at(e).is_some_and(|c| c.is_ascii_digit()) {
                    e += 1;
                }
                if e == s || self.ident_char_at(e) {
                    return None;
                }
                self.pos = e;
                HeaderField::Region(StrLit { value: self.src.get(s..e)?.to_string(), span: Span::new(s, e) })
            } else if self.kw(b"in_force") {
                self.take_kw(b"in_force")?;
                let from = self.date()?;
                self.ws();
                if self.b.get(self.pos..self.pos + 2) != Some(b"..") {
                    return None;
                }
                self.pos += 2;
                self.ws();
                let to = if self.peek().is_some_and(|c| c.is_ascii_digit()) { Some(self.date()?) } else { None };
                HeaderField::InForce(from, to)
            } else if self.kw(b"version") {
                self.take_kw(b"version")?;
                HeaderField::Version(self.string()?)
            } else if self.kw(b"extends") {
                self.take_kw(b"extends")?;
                HeaderField::Extends(self.dotted()?)
            } else if self.kw(b"overlay") {
                self.pos += "overlay".len();
                HeaderField::Overlay(Span::new(at, self.pos))
            } else {
                break;
            };
            fields.push(field);
            self.ws();
        }
        if self.peek() != Some(b'}') {
            return None;
        }
        self.pos += 1;
        Some(PolicyHeader { id, fields, span: Span::new(start, self.pos) })
    }

    fn param_decl(&mut self, is_override: bool) -> Option<ParamDecl> {
        let start = self.pos;
        if is_override {
            self.take_kw(b"override")?;
        }
        self.take_kw(b"param")?;
        let name = self.ident()?;
        self.ws();
        let ty = if self.peek() == Some(b':') || !is_override {
            self.take(b':')?;
            let ty = self.ty()?;
            self.ws();
            Some(ty)
        } else {
            None
        };
        self.take(b'{')?;
        let mut entries = Vec::with_capacity(8);
        loop {
            let at = self.pos;
            let entry = match self.peek() {
                Some(b't') if self.kw(b"title") => {
                    self.take_kw(b"title")?;
                    ParamEntry::Title(self.string()?)
                }
                Some(b'c') if self.kw(b"cite") => {
                    self.take_kw(b"cite")?;
                    ParamEntry::Cite(self.string()?)
                }
                Some(b'r') if self.kw(b"required") => {
                    self.pos += "required".len();
                    ParamEntry::Required(Span::new(at, self.pos))
                }
                Some(b'f') if self.kw(b"from") => {
                    self.take_kw(b"from")?;
                    let date = self.date()?;
                    self.ws();
                    self.take(b':')?;
                    let (value, cite) = self.value_and_cite()?;
                    ParamEntry::From { date, value, cite, span: Span::new(at, self.pos) }
                }
                Some(b'a') if self.kw(b"always") => {
                    self.take_kw(b"always")?;
                    self.take(b':')?;
                    let (value, cite) = self.value_and_cite()?;
                    ParamEntry::Always { value, cite, span: Span::new(at, self.pos) }
                }
                Some(b'f') if self.kw(b"floor") => {
                    self.take_kw(b"floor")?;
                    ParamEntry::Floor(self.expr()?.0.e)
                }
                Some(b'c') if self.kw(b"cap") => {
                    self.take_kw(b"cap")?;
                    ParamEntry::Cap(self.expr()?.0.e)
                }
                _ => break,
            };
            entries.push(entry);
            self.ws();
        }
        if self.peek() != Some(b'}') {
            return None;
        }
        self.pos += 1;
        Some(ParamDecl { is_override, name, ty, entries, span: Span::new(start, self.pos) })
    }

    /// `expr ~ (kw_cite ~ string)?`, ending (as in pest) after the
    /// whitespace that follows the expression when there is no `cite`.
    fn value_and_cite(&mut self) -> Option<(Expr, Option<StrLit>)> {
        let value = self.expr()?.0.e;
        let cite = if self.kw(b"cite") {
            self.take_kw(b"cite")?;
            Some(self.string()?)
        } else {
            None
        };
        Some((value, cite))
    }

    fn let_decl(&mut self) -> Option<LetDecl> {
        let start = self.pos;
        self.take_kw(b"let")?;
        let name = self.ident()?;
        self.ws();
        let ty = if self.peek() == Some(b':') {
            self.take(b':')?;
            let ty = self.ty()?;
            self.ws();
            Some(ty)
        } else {
            None
        };
        self.take_eq()?;
        let (value, end) = self.expr()?;
        Some(LetDecl { name, ty, value: value.e, span: Span::new(start, end) })
    }

    fn fn_ty(&mut self) -> Option<FnType> {
        match self.ty() {
            Some(t) => Some(FnType::Builtin(t)),
            None => Some(FnType::Named(self.ident()?)),
        }
    }

    fn fn_decl(&mut self) -> Option<FnDecl> {
        let start = self.pos;
        self.take_kw(b"fn")?;
        let name = self.ident()?;
        self.ws();
        self.take(b'(')?;
        let mut params = Vec::new();
        if self.ident_end(self.pos).is_some() {
            loop {
                let pname = self.ident()?;
                self.ws();
                self.take(b':')?;
                let ty = self.fn_ty()?;
                self.ws();
                params.push(FnParam { name: pname, ty });
                if !self.comma_before_more(b')') {
                    break;
                }
            }
        }
        self.take(b')')?;
        self.take(b':')?;
        let ret = self.fn_ty()?;
        self.ws();
        self.take_eq()?;
        let (body, end) = self.expr()?;
        Some(FnDecl { name, params, ret, body: body.e, span: Span::new(start, end) })
    }

    fn tally_decl(&mut self) -> Option<TallyDecl> {
        let start = self.pos;
        self.take_kw(b"tally")?;
        let name = self.ident()?;
        self.ws();
        self.take(b':')?;
        let ty = self.ty()?;
        self.ws();
        self.take_kw(b"per")?;
        let scope = if self.kw(b"member") {
            self.take_kw(b"member")?;
            TallyScope::MemberYear
        } else {
            self.take_kw(b"household")?;
            TallyScope::HouseholdYear
        };
        self.take_kw(b"per")?;
        if !self.kw(b"year") {
            return None;
        }
        self.pos += "year".len();
        Some(TallyDecl { name, ty, scope, span: Span::new(start, self.pos) })
    }

    fn program_decl(&mut self) -> Option<ProgramDecl> {
        let start = self.pos;
        self.take_kw(b"program")?;
        let id = self.dotted()?;
        self.ws();
        let title = self.string()?;
        self.ws();
        let unit = if self.peek() == Some(b':') {
            self.take(b':')?;
            if self.kw(b"none") {
                self.pos += "none".len();
                Some(None)
            } else {
                Some(Some(self.ty()?))
            }
        } else {
            None
        };
        Some(ProgramDecl { id, title, unit, span: Span::new(start, self.pos) })
    }

    fn indicator_decl(&mut self) -> Option<IndicatorDecl> {
        let start = self.pos;
        self.take_kw(b"indicator")?;
        let id = self.rule_id()?;
        self.ws();
        let title = self.string()?;
        self.ws();
        self.take(b'{')?;
        let (mut cites, mut notes) = (Vec::new(), Vec::new());
        loop {
            if self.kw(b"cite") {
                self.take_kw(b"cite")?;
                cites.push(self.string()?);
            } else if self.kw(b"note") {
                self.take_kw(b"note")?;
                notes.push(self.string()?);
            } else {
                break;
            }
            self.ws();
        }
        if self.peek() != Some(b'}') {
            return None;
        }
        self.pos += 1;
        Some(IndicatorDecl { id, title, cites, notes, span: Span::new(start, self.pos) })
    }

    fn fact_decl(&mut self) -> Option<FactDecl> {
        let start = self.pos;
        self.take_kw(b"fact")?;
        let owner = if self.kw(b"household") {
            self.take_kw(b"household")?;
            FactOwner::Household
        } else if self.kw(b"member") {
            self.take_kw(b"member")?;
            FactOwner::Member
        } else if self.kw(b"claim") {
            self.take_kw(b"claim")?;
            FactOwner::Claim
        } else {
            self.take_kw(b"loan")?;
            FactOwner::Loan
        };
        self.take(b'.')?;
        let name = self.ident()?;
        self.ws();
        self.take(b':')?;
        // fact_ty = (kw_list ~ kw_of)? ~ (ty | ident)
        let ty_start = self.pos;
        let mut list = false;
        if self.kw(b"list") {
            let of = skip(self.b, self.pos + "list".len());
            if self.kw_at(of, b"of") {
                self.pos = of + "of".len();
                self.ws();
                list = true;
            }
        }
        let scalar = match self.ty() {
            Some(t) => FactScalar::Builtin(t.ty),
            None => FactScalar::Enum(self.ident()?),
        };
        let ty = FactType { list, scalar, span: Span::new(ty_start, self.pos) };
        self.ws();
        let (mut title, mut cite, mut optional) = (None, None, None);
        if self.peek() == Some(b'{') {
            self.take(b'{')?;
            loop {
                if self.kw(b"title") {
                    self.take_kw(b"title")?;
                    title = Some(self.string()?);
                } else if self.kw(b"cite") {
                    self.take_kw(b"cite")?;
                    cite = Some(self.string()?);
                } else if self.kw(b"optional") {
                    optional = Some(Span::new(self.pos, self.pos + "optional".len()));
                    self.pos += "optional".len();
                } else {
                    break;
                }
                self.ws();
            }
            if self.peek() != Some(b'}') {
                return None;
            }
            self.pos += 1;
        }
        Some(FactDecl { owner, name, ty, title, cite, optional, span: Span::new(start, self.pos) })
    }

    /// `string?` before a `{`.
    fn title_opt(&mut self) -> Option<Option<StrLit>> {
        if self.peek() != Some(b'"') {
            return Some(None);
        }
        let s = self.string()?;
        self.ws();
        Some(Some(s))
    }

    fn enum_decl(&mut self) -> Option<EnumDecl> {
        let start = self.pos;
        self.take_kw(b"enum")?;
        let name = self.ident()?;
        self.ws();
        let title = self.title_opt()?;
        self.take(b'{')?;
        let mut variants = Vec::new();
        if self.ident_end(self.pos).is_some() {
            loop {
                let name = self.ident()?;
                self.ws();
                let title = if self.peek() == Some(b'"') { Some(self.string()?) } else { None };
                self.ws();
                variants.push(EnumVariant { name, title });
                if !self.comma_before_more(b'}') {
                    break;
                }
            }
        }
        if self.peek() != Some(b'}') {
            return None;
        }
        self.pos += 1;
        Some(EnumDecl { name, title, variants, span: Span::new(start, self.pos) })
    }

    fn layer_decl(&mut self) -> Option<LayerDecl> {
        let start = self.pos;
        self.take_kw(b"layer")?;
        let name = self.ident()?;
        self.ws();
        let title = self.title_opt()?;
        self.take(b'{')?;
        let mut d =
            LayerDecl { name, title, field: Vec::new(), program: Vec::new(), cite: Vec::new(), within: Vec::new(), span: Span::default() };
        loop {
            let at = self.pos;
            if self.kw(b"field") {
                self.take_kw(b"field")?;
                d.field.push(self.string()?);
            } else if self.kw(b"program") {
                self.take_kw(b"program")?;
                d.program.push(self.dotted()?);
            } else if self.kw(b"cite") {
                self.take_kw(b"cite")?;
                d.cite.push(self.string()?);
            } else if self.kw(b"within") {
                self.take_kw(b"within")?;
                if !self.kw(b"out_of_pocket") {
                    return None;
                }
                self.pos += "out_of_pocket".len();
                d.within.push(Span::new(at, self.pos));
            } else {
                break;
            }
            self.ws();
        }
        if self.peek() != Some(b'}') {
            return None;
        }
        self.pos += 1;
        d.span = Span::new(start, self.pos);
        Some(d)
    }

    // ---------------------------------------------------------- rules

    fn rule_decl(&mut self) -> Option<Rule> {
        let start = self.pos;
        self.take_kw(b"rule")?;
        let id = self.rule_id()?;
        self.ws();
        let title = self.string()?;
        self.ws();
        self.take(b'{')?;
        let mut entries = Vec::with_capacity(8);
        loop {
            let at = self.pos;
            let entry = match self.peek() {
                Some(b'c') if self.kw(b"cite") => {
                    self.take_kw(b"cite")?;
                    RuleEntry::Cite(self.string()?)
                }
                Some(b'n') if self.kw(b"note") => {
                    self.take_kw(b"note")?;
                    RuleEntry::Note(self.string()?)
                }
                Some(b'f') if self.kw(b"for") => {
                    self.take_kw(b"for")?;
                    let subject = if self.kw(b"household") {
                        self.pos += "household".len();
                        Subject::Household
                    } else {
                        self.take_kw(b"each")?;
                        let which: fn(Ident) -> Subject = if self.kw(b"member") {
                            self.take_kw(b"member")?;
                            Subject::Member
                        } else if self.kw(b"claim") {
                            self.take_kw(b"claim")?;
                            Subject::Claim
                        } else {
                            self.take_kw(b"loan")?;
                            Subject::Loan
                        };
                        which(self.ident()?)
                    };
                    RuleEntry::Subject(subject, Span::new(at, self.pos))
                }
                Some(b'w') if self.kw(b"when") => {
                    self.take_kw(b"when")?;
                    RuleEntry::When(self.expr()?.0.e)
                }
                Some(b'l') if self.kw(b"let") => {
                    self.take_kw(b"let")?;
                    let name = self.ident()?;
                    self.ws();
                    self.take_eq()?;
                    RuleEntry::Let(name, self.expr()?.0.e)
                }
                Some(b'e') if self.kw(b"exception") => {
                    self.take_kw(b"exception")?;
                    self.take_kw(b"to")?;
                    let mut ids = vec![self.rule_id()?];
                    self.ws();
                    while self.peek() == Some(b',') {
                        self.take(b',')?;
                        ids.push(self.rule_id()?);
                        self.ws();
                    }
                    RuleEntry::ExceptionTo(ids)
                }
                _ => break,
            };
            entries.push(entry);
            self.ws();
        }
        self.take_kw(b"then")?;
        let mut outcomes = Vec::new();
        if self.peek() == Some(b'{') {
            self.take(b'{')?;
            while let Some(w) = self.outcome_word() {
                outcomes.push(self.outcome(w)?);
                self.ws();
            }
            self.take(b'}')?;
        } else {
            let w = self.outcome_word()?;
            outcomes.push(self.outcome(w)?);
            self.ws();
        }
        if self.peek() != Some(b'}') {
            return None;
        }
        self.pos += 1;
        Some(Rule { id, title, entries, outcomes, span: Span::new(start, self.pos) })
    }

    /// The keyword of the outcome that starts here, if one does.
    fn outcome_word(&self) -> Option<&'static [u8]> {
        let w: &'static [u8] = match self.peek()? {
            b'e' => b"eligible",
            b'a' if self.kw(b"amount") => b"amount",
            b'a' => b"assign",
            b'f' => b"flag",
            b'p' => b"pay",
            b't' => b"tally",
            _ => return None,
        };
        self.kw(w).then_some(w)
    }

    fn outcome(&mut self, w: &[u8]) -> Option<Outcome> {
        self.take_kw(w)?;
        Some(match w {
            b"eligible" => Outcome::Eligible(self.dotted()?),
            b"flag" => Outcome::Flag(self.dotted()?),
            b"amount" => {
                let prog = self.dotted()?;
                self.ws();
                self.take_eq()?;
                Outcome::Amount(prog, self.expr()?.0.e)
            }
            b"assign" => {
                let prog = self.dotted()?;
                self.ws();
                self.take_eq()?;
                Outcome::Assign(prog, self.ident()?)
            }
            b"pay" => {
                let layer = self.ident()?;
                self.ws();
                self.take_eq()?;
                Outcome::Pay(layer, self.expr()?.0.e)
            }
            _ => {
                let name = self.ident()?;
                self.ws();
                if self.b.get(self.pos..self.pos + 2) != Some(b"+=") {
                    return None;
                }
                self.pos += 2;
                self.ws();
                Outcome::AddTally(name, self.expr()?.0.e)
            }
        })
    }

    // ---------------------------------------------------------- tests

    fn test_decl(&mut self) -> Option<Test> {
        let start = self.pos;
        self.take_kw(b"test")?;
        let name = self.string()?;
        self.ws();
        self.take(b'{')?;
        let mut entries = Vec::new();
        loop {
            let at = self.pos;
            let entry = match self.peek() {
                Some(b'h') if self.kw(b"household") => {
                    self.take_kw(b"household")?;
                    if self.peek() == Some(b'{') {
                        let end = self.json_end(self.pos)?;
                        let value = self.src.get(self.pos..end)?.to_string();
                        let span = Span::new(self.pos, end);
                        self.pos = end;
                        TestEntry::HouseholdInline(StrLit { value, span })
                    } else {
                        TestEntry::HouseholdFile(self.string()?)
                    }
                }
                Some(b'a') if self.kw(b"as_of") => {
                    self.take_kw(b"as_of")?;
                    TestEntry::AsOf(self.date()?)
                }
                Some(b's') if self.kw(b"set") => {
                    self.take_kw(b"set")?;
                    let name = self.ident()?;
                    self.ws();
                    self.take_eq()?;
                    TestEntry::Set(name, self.expr()?.0.e)
                }
                Some(b'e') if self.kw(b"expect") => {
                    self.take_kw(b"expect")?;
                    if self.kw(b"error") {
                        self.take_kw(b"error")?;
                        TestEntry::ExpectError(self.string()?)
                    } else {
                        TestEntry::Expect(self.expectation(at)?)
                    }
                }
                _ => break,
            };
            entries.push(entry);
            self.ws();
        }
        if self.peek() != Some(b'}') {
            return None;
        }
        self.pos += 1;
        Some(Test { name, entries, span: Span::new(start, self.pos) })
    }

    /// The end of the inline JSON object at `i` (`json_object`): balanced
    /// brackets, strings that end on their line, `//` comments.
    fn json_end(&self, i: usize) -> Option<usize> {
        let mut open = Vec::new();
        let mut j = i;
        loop {
            match *self.b.get(j)? {
                c @ (b'{' | b'[') => {
                    open.push(if c == b'{' { b'}' } else { b']' });
                    j += 1;
                }
                c @ (b'}' | b']') => {
                    if open.pop() != Some(c) {
                        return None;
                    }
                    j += 1;
                    if open.is_empty() {
                        return Some(j);
                    }
                }
                b'"' => {
                    j += 1;
                    loop {
                        match *self.b.get(j)? {
                            b'"' => break,
                            b'\n' | b'\r' => return None,
                            b'\\' => {
                                if matches!(self.b.get(j + 1)?, b'\n' | b'\r') {
                                    return None;
                                }
                                j += 2;
                            }
                            _ => j += 1,
                        }
                    }
                    j += 1;
                }
                b'/' if self.byte_at(j + 1) == Some(b'/') => {
                    let rest = self.b.get(j..)?;
                    j += memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
                }
                _ => j += 1,
            }
        }
    }

    /// `expect PATH == VALUE` or `expect PATH contains|lacks RULE`, from
    /// after `expect` (at `start`).
    fn expectation(&mut self, start: usize) -> Option<Expectation> {
        // the path as `t_expect` reads it (`param_path | value_path |
        // claim_path | member_path | program_path`); `t_expect_contains`
        // reads the last three alike and takes no other
        let after = |p: &Self, w: &[u8]| p.kw(w) && p.ident_end(skip(p.b, p.pos + w.len())).is_some();
        let path = if after(self, b"param") {
            self.take_kw(b"param")?;
            let name = self.ident()?;
            self.ws();
            let at = if self.kw(b"at") {
                self.take_kw(b"at")?;
                let d = self.date()?;
                self.ws();
                Some(d)
            } else {
                None
            };
            ExpectPath::Param(name, at)
        } else if after(self, b"let") {
            self.take_kw(b"let")?;
            let name = self.ident()?;
            self.ws();
            ExpectPath::Let(name)
        } else if self.kw(b"claims") && self.byte_at(self.pos + "claims".len()) == Some(b'[') {
            self.pos += "claims[".len();
            let digits = self.b.get(self.pos..)?.iter().take_while(|c| c.is_ascii_digit()).count();
            let path = if digits > 0 && self.byte_at(self.pos + digits) == Some(b']') {
                let index = self.src.get(self.pos..self.pos + digits)?.parse::<u32>().ok()?;
                self.pos += digits + 1;
                self.take_dot()?;
                ExpectPath::Claim(index, self.ident()?)
            } else {
                let key = self.record_key()?;
                if self.peek() != Some(b']') {
                    return None;
                }
                self.pos += 1;
                self.take_dot()?;
                ExpectPath::ClaimId(key, self.ident()?)
            };
            self.ws();
            path
        } else if self.kw(b"member") && self.byte_at(self.pos + "member".len()) == Some(b'[') {
            self.pos += "member[".len();
            let key = self.record_key()?;
            if self.peek() != Some(b']') {
                return None;
            }
            self.pos += 1;
            self.take_dot()?;
            let mut parts = vec![self.ident()?];
            self.more_parts(&mut parts)?;
            let field = parts.pop()?;
            let (Some(first), Some(last)) = (parts.first(), parts.last()) else { return None };
            let span = first.span.to(last.span);
            self.ws();
            ExpectPath::Member(key, DottedName { parts, span }, field)
        } else {
            let mut parts = vec![self.ident()?];
            self.more_parts(&mut parts)?;
            let field = parts.pop()?;
            let (Some(first), Some(last)) = (parts.first(), parts.last()) else { return None };
            let span = first.span.to(last.span);
            self.ws();
            ExpectPath::Program(DottedName { parts, span }, field)
        };
        let value = if self.kw(b"contains") || self.kw(b"lacks") {
            if matches!(path, ExpectPath::Param(..) | ExpectPath::Let(_)) {
                return None;
            }
            let lacks = self.kw(b"lacks");
            self.pos = self.word_end(self.pos, false)?;
            self.ws();
            let id = self.rule_id()?;
            if lacks {
                ExpectValue::Lacks(id)
            } else {
                ExpectValue::Contains(id)
            }
        } else {
            if self.b.get(self.pos..self.pos + 2) != Some(b"==") {
                return None;
            }
            self.pos += 2;
            self.ws();
            self.expect_value()?
        };
        Some(Expectation { path, value, span: Span::new(start, self.pos) })
    }

    /// The `.` inside a claim or member path (no whitespace around it).
    fn take_dot(&mut self) -> Option<()> {
        if self.peek() != Some(b'.') {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    /// A member or claim id: a string, or written bare.
    fn record_key(&mut self) -> Option<StrLit> {
        if self.peek() == Some(b'"') {
            return self.string();
        }
        let start = self.pos;
        let len = self.b.get(start..)?.iter().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'#' | b'.')).count();
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(StrLit { value: self.src.get(start..self.pos)?.to_string(), span: Span::new(start, self.pos) })
    }

    /// `bool_lit | kw_null | signed_number | string | ident`.
    fn expect_value(&mut self) -> Option<ExpectValue> {
        let start = self.pos;
        let c = self.peek()?;
        if c == b'-' || c.is_ascii_digit() {
            let digits = if c == b'-' { start + 1 } else { start };
            if !self.byte_at(digits).is_some_and(|d| d.is_ascii_digit()) {
                return None;
            }
            let end = self.num_end(digits);
            let text = self.src.get(start..end)?;
            // the builder's own reading (a negative zero keeps its sign)
            let clean: String = text.chars().filter(|c| *c != '_').collect();
            let value = Decimal::from_str_exact(&clean).ok()?;
            self.pos = end;
            return Some(ExpectValue::Number(value));
        }
        if c == b'"' {
            return Some(ExpectValue::Text(self.string()?.value));
        }
        for (w, v) in [(&b"true"[..], ExpectValue::Bool(true)), (b"false", ExpectValue::Bool(false)), (b"null", ExpectValue::Null)] {
            if self.kw(w) {
                self.pos += w.len();
                return Some(v);
            }
        }
        Some(ExpectValue::Text(self.ident()?.name))
    }

    // ---------------------------------------------------------- expressions

    /// The grammar's `expr`: the expression and where pest's rule ends
    /// (after the whitespace that follows it, unless it has more than one
    /// operand and ends with an `in` list). Leaves `pos` after that
    /// whitespace.
    fn expr(&mut self) -> Option<(Ex, usize)> {
        if self.kw(b"if") {
            return self.if_expr();
        }
        let mut t = Tail { infixes: 0, last_end: self.pos, last_in: false };
        let ex = self.pratt(0, false, &mut t)?;
        let end = if t.infixes > 0 && t.last_in { t.last_end } else { self.pos };
        Some((ex, end))
    }

    /// `if c then a (else if c then a)* else b`, folded into nested `If`s as
    /// the builder folds it.
    fn if_expr(&mut self) -> Option<(Ex, usize)> {
        self.nest += 1;
        if self.nest > MAX_RECURSION {
            return None;
        }
        let start = self.pos;
        self.take_kw(b"if")?;
        let cond = self.expr()?.0;
        self.take_kw(b"then")?;
        let then = self.expr()?.0;
        // the `else if` arms: (start of `if`, condition, value)
        let mut more = Vec::new();
        let (mut acc, end) = loop {
            self.take_kw(b"else")?;
            if !self.kw(b"if") {
                break self.expr()?;
            }
            let at = self.pos;
            self.take_kw(b"if")?;
            let c = self.expr()?.0;
            self.take_kw(b"then")?;
            let t = self.expr()?.0;
            more.push((at, c, t));
        };
        for (at, cond, then) in more.into_iter().rev().chain(std::iter::once((start, cond, then))) {
            let depth = cond.depth.max(then.depth).max(acc.depth) + 1;
            let span = Span { start: at as u32, end: acc.e.span.end };
            acc = node(ExprKind::If(cond.e, then.e, acc.e), span, depth)?;
        }
        self.nest -= 1;
        Some((acc, end))
    }

    /// The Pratt loop of the builder, over the operands and operators as
    /// they are read: operators binding tighter than `rbp`. `no_at` for a
    /// band's lower bound (`band_bound`, where `at` is no operator).
    fn pratt(&mut self, rbp: u32, no_at: bool, t: &mut Tail) -> Option<Ex> {
        self.nest += 1;
        if self.nest > MAX_RECURSION {
            return None;
        }
        let mut lhs = self.nud(no_at, t)?;
        while let Some((op, prec, len)) = self.peek_op(no_at) {
            if rbp >= prec {
                break;
            }
            lhs = match op {
                Op::In => self.in_list(lhs, t)?,
                Op::Bin(binop) => {
                    self.pos += len;
                    self.ws();
                    t.infixes += 1;
                    let rhs = self.pratt(prec, no_at, t)?;
                    let span = lhs.e.span.to(rhs.e.span);
                    let depth = lhs.depth.max(rhs.depth) + 1;
                    node(ExprKind::Binary(binop, lhs.e, rhs.e), span, depth)?
                }
            };
        }
        self.nest -= 1;
        Some(lhs)
    }

    /// A prefix operator and what it applies to, or a primary (the start
    /// of an operand).
    fn nud(&mut self, no_at: bool, t: &mut Tail) -> Option<Ex> {
        let start = self.pos;
        let (op, len, prec) = match self.peek()? {
            b'-' => (UnOp::Neg, 1, NEG),
            b'n' if self.kw(b"not") => (UnOp::Not, 3, NOT),
            _ => {
                let ex = self.primary()?;
                t.last_end = self.pos;
                t.last_in = false;
                self.ws();
                return Some(ex);
            }
        };
        self.pos += len;
        self.ws();
        let rhs = self.pratt(prec - 1, no_at, t)?;
        let span = Span::new(start, start + len).to(rhs.e.span);
        let depth = rhs.depth + 1;
        node(ExprKind::Unary(op, rhs.e), span, depth)
    }

    /// The operator at `pos` after an operand: an `in` list (which the
    /// grammar reads as part of the operand) or an infix operator; its
    /// binding power and length.
    fn peek_op(&self, no_at: bool) -> Option<(Op, u32, usize)> {
        let next = self.byte_at(self.pos + 1);
        let bin = |op: BinOp, prec: u32, len: usize| Some((Op::Bin(op), prec, len));
        match self.peek()? {
            b'i' if self.kw(b"in") => Some((Op::In, CMP, 2)),
            b'o' if self.kw(b"or") => bin(BinOp::Or, OR, 2),
            b'a' if self.kw(b"and") => bin(BinOp::And, AND, 3),
            b'a' if !no_at && self.kw(b"at") => bin(BinOp::At, AT, 2),
            b'=' if next == Some(b'=') => bin(BinOp::Eq, CMP, 2),
            b'!' if next == Some(b'=') => bin(BinOp::Ne, CMP, 2),
            b'<' if next == Some(b'=') => bin(BinOp::Le, CMP, 2),
            b'<' => bin(BinOp::Lt, CMP, 1),
            b'>' if next == Some(b'=') => bin(BinOp::Ge, CMP, 2),
            b'>' => bin(BinOp::Gt, CMP, 1),
            b'+' if next != Some(b'=') => bin(BinOp::Add, ADD, 1),
            b'-' => bin(BinOp::Sub, ADD, 1),
            b'*' => bin(BinOp::Mul, MUL, 1),
            // `×` (U+00D7)
            0xC3 if next == Some(0x97) => bin(BinOp::Mul, MUL, 2),
            b'/' => bin(BinOp::Div, MUL, 1),
            _ => None,
        }
    }

    /// `in [a, b, …]` after `lhs`.
    fn in_list(&mut self, lhs: Ex, t: &mut Tail) -> Option<Ex> {
        let start = self.pos;
        self.take_kw(b"in")?;
        self.take(b'[')?;
        let (list, depth) = self.exprs_until(b']', lhs.depth)?;
        if self.peek() != Some(b']') {
            return None;
        }
        self.pos += 1;
        t.last_end = self.pos;
        t.last_in = true;
        let span = lhs.e.span.to(Span::new(start, self.pos));
        self.ws();
        node(ExprKind::In(lhs.e, list), span, depth + 1)
    }

    /// `(expr ~ (p_comma ~ expr)* ~ p_comma?)?` before `close`; the
    /// expressions and the greatest of their depths and `depth`.
    fn exprs_until(&mut self, close: u8, mut depth: usize) -> Option<(Vec<Expr>, usize)> {
        let mut list = Vec::new();
        if self.peek() != Some(close) {
            loop {
                let ex = self.expr()?.0;
                depth = depth.max(ex.depth);
                list.push(ex.e);
                if !self.comma_before_more(close) {
                    break;
                }
            }
        }
        Some((list, depth))
    }

    fn primary(&mut self) -> Option<Ex> {
        let start = self.pos;
        match self.peek()? {
            b'(' => {
                self.take(b'(')?;
                let mut ex = self.expr()?.0;
                if self.peek() != Some(b')') {
                    return None;
                }
                self.pos += 1;
                ex.e.span = Span::new(start, self.pos);
                Some(ex)
            }
            b'0'..=b'9' => {
                if self.is_date_at(start) {
                    let d = self.date()?;
                    return node(ExprKind::Date(d.value), d.span, 1);
                }
                let end = self.num_end(start);
                let text = self.src.get(start..end)?;
                if self.byte_at(end) == Some(b'%') {
                    let mut value = decimal(text)?;
                    value.set_scale(value.scale() + 2).ok()?;
                    self.pos = end + 1;
                    node(ExprKind::Percent(value), Span::new(start, self.pos), 1)
                } else {
                    let value = decimal(text)?;
                    self.pos = end;
                    node(ExprKind::Number(value), Span::new(start, end), 1)
                }
            }
            b'"' => {
                let s = self.string()?;
                node(ExprKind::Str(s.value), s.span, 1)
            }
            _ => self.word_primary(),
        }
    }

    /// A primary that starts with a word: a path, a call, `case`, `round`,
    /// `banded`, an aggregation or `true` / `false`.
    fn word_primary(&mut self) -> Option<Ex> {
        let start = self.pos;
        let end = self.word_end(start, false)?;
        let word = self.b.get(start..end)?;
        if is_reserved(word) {
            return match word {
                b"case" => self.case_expr(),
                b"true" | b"false" => {
                    self.pos = end;
                    node(ExprKind::Bool(word == b"true"), Span::new(start, end), 1)
                }
                _ => None,
            };
        }
        // a path, unless a single name is followed by `(`
        let dotted = self.byte_at(end) == Some(b'.') && self.ident_end(end + 1).is_some();
        if dotted || self.byte_at(skip(self.b, end)) != Some(b'(') {
            let mut parts = Vec::with_capacity(if dotted { 4 } else { 1 });
            parts.push(self.name_to(end)?);
            self.more_parts(&mut parts)?;
            return node(ExprKind::Path(parts), Span::new(start, self.pos), 1);
        }
        match word {
            b"round" => self.round_call(),
            b"banded" => self.banded_call(),
            b"any" => self.aggregate(AggKind::Any),
            b"all" => self.aggregate(AggKind::All),
            b"count" => self.aggregate(AggKind::Count),
            b"sum" => self.aggregate(AggKind::Sum),
            _ => {
                let name = self.name_to(end)?;
                self.ws();
                self.take(b'(')?;
                let (args, depth) = self.exprs_until(b')', 0)?;
                self.close_paren()?;
                node(ExprKind::Call(name, args), Span::new(start, self.pos), depth + 1)
            }
        }
    }

    /// The `)` that ends a call.
    fn close_paren(&mut self) -> Option<()> {
        if self.peek() != Some(b')') {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    fn case_expr(&mut self) -> Option<Ex> {
        let start = self.pos;
        self.take_kw(b"case")?;
        let scrutinee = self.expr()?.0;
        self.take(b'{')?;
        let mut depth = scrutinee.depth;
        let mut arms = Vec::new();
        let mut default = None;
        let mut else_next = self.kw(b"else");
        if !else_next {
            loop {
                let pattern = self.expr()?.0;
                if self.b.get(self.pos..self.pos + 2) != Some(b"=>") {
                    return None;
                }
                self.pos += 2;
                self.ws();
                let value = self.expr()?.0;
                depth = depth.max(pattern.depth).max(value.depth);
                arms.push((pattern.e, value.e));
                // `, arm`, or `, else`, or the end
                if self.peek() != Some(b',') {
                    break;
                }
                let next = skip(self.b, self.pos + 1);
                if self.byte_at(next) == Some(b'}') {
                    break;
                }
                if self.kw_at(next, b"else") {
                    self.pos = next;
                    else_next = true;
                    break;
                }
                self.pos = next;
            }
        }
        if else_next {
            self.take_kw(b"else")?;
            if self.b.get(self.pos..self.pos + 2) != Some(b"=>") {
                return None;
            }
            self.pos += 2;
            self.ws();
            let value = self.expr()?.0;
            depth = depth.max(value.depth);
            default = Some(value.e);
        }
        if self.peek() == Some(b',') {
            self.take(b',')?;
        }
        if self.peek() != Some(b'}') {
            return None;
        }
        self.pos += 1;
        node(ExprKind::Case { scrutinee: scrutinee.e, arms, default }, Span::new(start, self.pos), depth + 1)
    }

    fn round_call(&mut self) -> Option<Ex> {
        let start = self.pos;
        self.take_kw(b"round")?;
        self.take(b'(')?;
        let value = self.expr()?.0;
        self.take(b',')?;
        let unit = if self.kw(b"fen") {
            RoundUnit::Fen
        } else if self.kw(b"jiao") {
            RoundUnit::Jiao
        } else if self.kw(b"yuan") {
            RoundUnit::Yuan
        } else {
            return None;
        };
        self.pos = self.word_end(self.pos, false)?;
        self.ws();
        let mut mode = RoundMode::HalfUp;
        if self.peek() == Some(b',') {
            let next = skip(self.b, self.pos + 1);
            let found = [(&b"half_up"[..], RoundMode::HalfUp), (b"up", RoundMode::Up), (b"down", RoundMode::Down)]
                .into_iter()
                .find(|(w, _)| self.kw_at(next, w));
            if let Some((w, m)) = found {
                mode = m;
                self.pos = next + w.len();
                self.ws();
            }
        }
        if self.peek() == Some(b',') {
            self.take(b',')?;
        }
        self.close_paren()?;
        let depth = value.depth + 1;
        node(ExprKind::Round(value.e, unit, mode), Span::new(start, self.pos), depth)
    }

    fn banded_call(&mut self) -> Option<Ex> {
        let start = self.pos;
        self.take_kw(b"banded")?;
        self.take(b'(')?;
        let value = self.expr()?.0;
        let mut depth = value.depth;
        let mut above = None;
        if self.peek() == Some(b',') && self.kw_at(skip(self.b, self.pos + 1), b"above") {
            self.take(b',')?;
            self.take_kw(b"above")?;
            let a = self.expr()?.0;
            depth = depth.max(a.depth);
            above = Some(a.e);
        }
        let mut bands = Vec::new();
        while self.peek() == Some(b',') && self.kw_at(skip(self.b, self.pos + 1), b"from") {
            self.take(b',')?;
            self.take_kw(b"from")?;
            let mut t = Tail { infixes: 0, last_end: self.pos, last_in: false };
            let from = self.pratt(0, true, &mut t)?;
            self.take_kw(b"at")?;
            let rate = self.expr()?.0;
            depth = depth.max(from.depth).max(rate.depth);
            bands.push((from.e, rate.e));
        }
        if bands.is_empty() {
            return None;
        }
        if self.peek() == Some(b',') {
            self.take(b',')?;
        }
        self.close_paren()?;
        node(ExprKind::Banded { value: value.e, above, bands }, Span::new(start, self.pos), depth + 1)
    }

    fn aggregate(&mut self, kind: AggKind) -> Option<Ex> {
        let start = self.pos;
        self.pos = self.word_end(start, false)?;
        self.ws();
        self.take(b'(')?;
        let var = self.ident()?;
        self.ws();
        self.take_kw(b"in")?;
        let collection = self.expr()?.0;
        let mut depth = collection.depth;
        let filter = if self.kw(b"where") {
            self.take_kw(b"where")?;
            let f = self.expr()?.0;
            depth = depth.max(f.depth);
            Some(f.e)
        } else {
            None
        };
        self.take(b':')?;
        let body = self.expr()?.0;
        depth = depth.max(body.depth);
        self.close_paren()?;
        node(ExprKind::Aggregate { kind, var, collection: collection.e, filter, body: body.e }, Span::new(start, self.pos), depth + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast reading of a number is the builder's, scale and all.
    #[test]
    fn decimals_read_as_the_builder_reads_them() {
        for text in [
            "0",
            "00",
            "7",
            "007",
            "1_000",
            "1__0_",
            "12.50",
            "0.00",
            "000.000",
            "3.14159",
            "999999999999999999",
            "123456789012345678",
            "12345678901234567.8",
            "0.12345678901234567",
            "1234567890123456789",
            "0.000000000000000000000000001",
            "0.0000000000000000000000000001",
            "0.00000000000000000000000000001",
            "79228162514264337593543950335",
            "79228162514264337593543950336",
            "1_2_3_4_5_6_7_8_9_0_1_2_3_4_5_6_7_8_9",
        ] {
            let clean: String = text.chars().filter(|c| *c != '_').collect();
            let theirs = Decimal::from_str_exact(&clean).ok();
            let ours = decimal(text);
            assert_eq!(ours.map(|d| d.serialize()), theirs.map(|d| d.serialize()), "{text}");
            assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{text}");
        }
    }

    #[test]
    fn whitespace_is_the_grammars() {
        let b = "  \t\r\n// c\r// d\n\u{FEFF}x".as_bytes();
        assert_eq!(skip(b, 0), b.len() - 1);
        // \u{0B} and \u{0C} are not whitespace (but belong in comments)
        assert_eq!(skip(b"\x0b", 0), 0);
        assert_eq!(skip(b"// a\x0b\x0cb\nc", 0), 8);
        assert_eq!(skip(b"/x", 0), 0);
    }
}
