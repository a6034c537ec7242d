//! The pest binding: the grammar, one small builder function per grammar
//! rule, the conversion of pest errors into [`SyntaxError`]s, and recovery.
//!
//! pest types never leave this module. The builder does not unwrap: a pair
//! the grammar guarantees but that is missing becomes an
//! [`SyntaxErrorKind::Internal`] error instead of a panic.

use std::sync::OnceLock;

use chrono::NaiveDate;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;
use rust_decimal::Decimal;

use super::ast::{
    AggKind, BinOp, DateLit, DottedName, EnumDecl, EnumVariant, ExpectPath, ExpectValue, Expectation, Expr, ExprKind, FactDecl, FactOwner,
    FactScalar, FactType, File, FnDecl, FnParam, FnType, HeaderField, Ident, IndicatorDecl, Item, LayerDecl, LetDecl, Outcome, ParamDecl,
    ParamEntry, PolicyHeader, ProgramDecl, RoundMode, RoundUnit, RuleEntry, Span, StrLit, Subject, TallyDecl, TallyScope, Test, TestEntry,
    TypeAnn, TypeExpr, UnOp,
};
use super::error::{SyntaxError, SyntaxErrorKind};
use super::limits;

/// The generated parser.
#[derive(pest_derive::Parser)]
#[grammar = "grammar/policy.pest"]
struct PolicyParser;

type Res<T> = Result<T, SyntaxError>;

// ------------------------------------------------------------------ driver

/// Parses a whole file, collecting the errors of every item: each item by
/// the fast path ([`super::descent`]) if it takes it, else by pest.
pub(super) fn parse_file(source: &str) -> Result<File, Vec<SyntaxError>> {
    parse_items(source, true).0
}

/// Parses a whole file with pest alone: the definition of the language,
/// which the fast path is checked against.
pub(super) fn parse_definition(source: &str) -> Result<File, Vec<SyntaxError>> {
    parse_items(source, false).0
}

/// Parses a whole file (with the fast path first if `fast`); also returns
/// how many items (the header included) the fast path took.
pub(super) fn parse_items(source: &str, fast: bool) -> (Result<File, Vec<SyntaxError>>, usize) {
    if let Err(e) = limits::check_size(source).and_then(|()| limits::check_nesting(source)) {
        return (Err(vec![e]), 0);
    }
    if let Err(e) = limits::check_invisible(source) {
        return (Err(e), 0);
    }
    let mut header = None;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut taken = 0;
    let mut pos = skip_trivia(source, 0);
    let mut first = true;
    while pos < source.len() {
        let is_first = first;
        first = false;
        let (built, end) = match fast.then(|| super::descent::item(source, pos, is_first)).flatten() {
            Some((top, end)) => {
                taken += 1;
                (Ok(top), end)
            }
            None => {
                let entry = if is_first { Rule::first_item } else { Rule::next_item };
                let Some(rest) = source.get(pos..) else {
                    errors.push(internal(Span::new(pos, pos), "resumed inside a character"));
                    break;
                };
                match PolicyParser::parse(entry, rest) {
                    Ok(mut pairs) => {
                        let Some(pair) = pairs.next() else {
                            errors.push(internal(Span::new(pos, pos), "the parser returned nothing"));
                            break;
                        };
                        let end = pos + pair.as_span().end();
                        (Builder { base: pos }.entry(pair), end)
                    }
                    Err(e) => {
                        let err = pest_error(&e, pos, source);
                        let at = err.span.start as usize;
                        errors.push(err);
                        pos = skip_trivia(source, resync(source, pos, at));
                        continue;
                    }
                }
            }
        };
        match built {
            Ok(Top::Header(h)) => header = Some(h),
            Ok(Top::Item(item)) => {
                if items.len() >= limits::MAX_ITEMS {
                    errors.push(SyntaxError::new(SyntaxErrorKind::TooManyItems { limit: limits::MAX_ITEMS }, Span::new(pos, end)));
                    break;
                }
                items.push(item);
            }
            Err(e) => errors.push(e),
        }
        if end <= pos {
            errors.push(internal(Span::new(pos, pos), "an item matched no text"));
            break;
        }
        pos = skip_trivia(source, end);
    }
    let result = if errors.is_empty() { Ok(File { header, items }) } else { Err(errors) };
    (result, taken)
}

/// Parses a lone expression.
pub(super) fn parse_expr(source: &str) -> Result<Expr, Vec<SyntaxError>> {
    limits::check_size(source).map_err(|e| vec![e])?;
    limits::check_nesting(source).map_err(|e| vec![e])?;
    limits::check_invisible(source)?;
    let mut pairs = PolicyParser::parse(Rule::expr_entry, source).map_err(|e| vec![pest_error(&e, 0, source)])?;
    let builder = Builder { base: 0 };
    let pair = pairs.next().ok_or_else(|| vec![internal(Span::new(0, 0), "no expression")])?;
    let mut kids = builder.kids(pair);
    let expr = kids.next().map_err(|e| vec![e])?;
    builder.expr(expr).map(|ex| ex.e).map_err(|e| vec![e])
}

/// Skips whitespace and `//` comments from `pos`.
pub(super) fn skip_trivia(src: &str, mut pos: usize) -> usize {
    loop {
        let Some(rest) = src.get(pos..) else {
            return src.len();
        };
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n', '\u{FEFF}']);
        pos += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            // a comment ends at a line break, `\n` or `\r` (as in the grammar)
            pos += trimmed.find(['\n', '\r']).unwrap_or(trimmed.len());
        } else {
            return pos;
        }
    }
}

/// Words that start a top-level item. `let` and `tally` also start entries
/// inside rules, so only a line at brace depth 0 counts for them.
const ITEM_WORDS: &[&str] =
    &["rule", "param", "override", "let", "fn", "tally", "program", "indicator", "fact", "enum", "layer", "test", "policy"];

/// Where to resume after a syntax error in the item starting at `item_start`:
/// the first later line that starts with an item keyword and either is at
/// brace depth 0 (counted from `item_start`) or, for keywords other than
/// `let` and `tally`, is not before the error's line. The end of the file if
/// there is none.
fn resync(src: &str, item_start: usize, err_pos: usize) -> usize {
    let bytes = src.as_bytes();
    let err_line = src.get(..err_pos).and_then(|s| s.rfind('\n')).map_or(0, |i| i + 1);
    let mut depth = 0usize;
    let mut i = item_start;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                i += 1;
                let line = i;
                let rest = src.get(line..).unwrap_or("");
                let word_start = rest.trim_start_matches([' ', '\t', '\r']);
                let word_len = word_start.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(word_start.len());
                let word = &word_start[..word_len];
                if ITEM_WORDS.contains(&word) {
                    let strong = word != "let" && word != "tally";
                    if depth == 0 || (strong && line >= err_line) {
                        return line;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                    i += if bytes[i] == b'\\' && !matches!(bytes.get(i + 1), Some(b'\n' | b'\r')) { 2 } else { 1 };
                }
                if i < bytes.len() && bytes[i] == b'"' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    src.len()
}

// ------------------------------------------------------------------ errors

fn internal(span: Span, message: &str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Internal { message: message.to_string() }, span)
}

/// Converts a pest error on the text starting at `base`.
fn pest_error(e: &pest::error::Error<Rule>, base: usize, src: &str) -> SyntaxError {
    let pos = base
        + match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<String> = Vec::new();
            for r in positives {
                let d = describe(*r);
                if !expected.iter().any(|x| x == d) {
                    expected.push(d.to_string());
                }
            }
            // a full-width mark is named with its ASCII form, at that character
            if let Some(c) = src.get(pos..).and_then(|r| r.chars().next()) {
                if let Some(ascii) = super::error::ascii_form(c) {
                    let kind = SyntaxErrorKind::FullWidth { found: c, code: c as u32, ascii, expected };
                    return SyntaxError::new(kind, Span::new(pos, pos + c.len_utf8()));
                }
            }
            let (found, span) = found_at(src, pos);
            SyntaxError::new(SyntaxErrorKind::Unexpected { expected, found }, span)
        }
        ErrorVariant::CustomError { message } => {
            // pest's own call and stack limits ("stack limit reached").
            let span = Span::new(pos, pos);
            if message.contains("limit") {
                SyntaxError::new(SyntaxErrorKind::TooDeep { depth: limits::MAX_NESTING + 1, limit: limits::MAX_NESTING }, span)
            } else {
                internal(span, message)
            }
        }
    }
}

/// The token at `pos`, for "found …", and its span.
fn found_at(src: &str, pos: usize) -> (String, Span) {
    let Some(rest) = src.get(pos..).filter(|r| !r.is_empty()) else {
        return ("end of file".to_string(), Span::new(src.len(), src.len()));
    };
    let mut chars = rest.chars();
    let Some(c) = chars.next() else {
        return ("end of file".to_string(), Span::new(src.len(), src.len()));
    };
    let len = if c.is_alphanumeric() || c == '_' {
        rest.find(|ch: char| !(ch.is_alphanumeric() || ch == '_')).unwrap_or(rest.len())
    } else if c == '"' {
        // `"` is one byte, so `1..` is a character boundary.
        match rest[1..].find(['"', '\n', '\r']) {
            Some(i) if rest.as_bytes().get(i + 1) == Some(&b'"') => i + 2,
            Some(i) => i + 1,
            None => rest.len(),
        }
    } else if ["==", "!=", "<=", ">=", "=>", "+=", "..", "//"].iter().any(|op| rest.starts_with(op)) {
        2
    } else {
        c.len_utf8()
    };
    let text = &rest[..len];
    let shown: String =
        if text.chars().count() > 40 { text.chars().take(40).chain(std::iter::once('…')).collect() } else { text.to_string() };
    (format!("`{shown}`"), Span::new(pos, pos + len))
}

/// A human name for what a grammar rule matches, for "expected …".
fn describe(r: Rule) -> &'static str {
    use Rule::*;
    match r {
        first_item | next_item | item => "an item",
        item_start => "a new item",
        header => "`policy`",
        expr | expr_entry | operand | if_expr | band_bound | paren | case_expr | round_call | banded_call | aggregate | call | path => {
            "an expression"
        }
        infix | infix_no_at | in_list | op_or | op_and | op_eq | op_ne | op_le | op_lt | op_ge | op_gt | op_add | op_sub | op_mul
        | op_div | op_at | op_in => "an operator",
        op_not => "`not`",
        op_neg => "`-`",
        case_arm => "a case arm",
        case_else => "`else`",
        band => "a band (`from … at …`)",
        round_unit => "`fen`, `jiao` or `yuan`",
        round_mode => "`half_up`, `up` or `down`",
        agg_kind => "`any`, `all`, `count` or `sum`",
        date => "a date",
        number | percent | signed_number | uint => "a number",
        string | str_inner => "a string",
        bool_lit => "`true` or `false`",
        ident => "an identifier",
        rule_id => "a rule id",
        dotted => "a name",
        program_path => "a programme field (`dibao.eligible`)",
        claim_path => "a claim field (`claims[0].assistance`, `claims[\"zy-1\"].basic`)",
        member_path => "a member's outcome (`member[\"m1\"].dibao.eligible`)",
        param_path => "a parameter (`param dibao_standard`)",
        value_path => "a named value (`let rural`)",
        bare_key | record_key => "an id",
        region_code => "a region code",
        ty => "a type",
        tally_scope => "`per`",
        json_object => "a JSON object",
        h_title | pe_title => "`title`",
        h_document => "`document`",
        h_issued => "`issued`",
        h_region => "`region`",
        h_in_force => "`in_force`",
        h_version => "`version`",
        h_extends => "`extends`",
        h_overlay => "`overlay`",
        param_decl => "`param`",
        pe_cite | re_cite => "`cite`",
        pe_required => "`required`",
        pe_from => "`from`",
        pe_always => "`always`",
        pe_floor => "`floor`",
        pe_cap => "`cap`",
        let_decl | re_let => "`let`",
        fn_decl => "`fn`",
        fn_param => "a parameter (`name: type`)",
        fn_ty => "a type",
        band_above => "`above`",
        kw_fn => "`fn`",
        kw_above => "`above`",
        tally_decl | o_tally => "`tally`",
        program_decl => "`program`",
        fact_decl => "`fact`",
        fact_owner => "`household`, `member`, `claim` or `loan`",
        fact_ty => "a type",
        fe_title => "`title`",
        fe_cite => "`cite`",
        fe_optional => "`optional`",
        enum_decl => "`enum`",
        enum_variant => "a variant",
        layer_decl => "`layer`",
        le_field => "`field`",
        le_program => "`program`",
        le_cite => "`cite`",
        le_within => "`within out_of_pocket`",
        indicator_decl => "`indicator`",
        rule_decl => "`rule`",
        re_note => "`note`",
        re_subject => "`for`",
        subj_household => "`household`",
        subj_member | subj_claim | subj_loan => "`each`",
        re_exception => "`exception`",
        re_when => "`when`",
        o_eligible => "`eligible`",
        o_amount => "`amount`",
        o_flag => "`flag`",
        o_assign => "`assign`",
        o_pay => "`pay`",
        test_decl => "`test`",
        t_household => "`household`",
        t_as_of => "`as_of`",
        t_set => "`set`",
        t_expect_error | t_expect_contains | t_expect => "`expect`",
        kw_policy => "`policy`",
        kw_title => "`title`",
        kw_document => "`document`",
        kw_issued => "`issued`",
        kw_region => "`region`",
        kw_in_force => "`in_force`",
        kw_version => "`version`",
        kw_extends => "`extends`",
        kw_overlay => "`overlay`",
        kw_override => "`override`",
        kw_param => "`param`",
        kw_cite => "`cite`",
        kw_required => "`required`",
        kw_from => "`from`",
        kw_always => "`always`",
        kw_floor => "`floor`",
        kw_cap => "`cap`",
        kw_let => "`let`",
        kw_tally => "`tally`",
        kw_per => "`per`",
        kw_member => "`member`",
        kw_household => "`household`",
        kw_year => "`year`",
        kw_program => "`program`",
        kw_indicator => "`indicator`",
        kw_lacks => "`lacks`",
        kw_rule => "`rule`",
        kw_for => "`for`",
        kw_each => "`each`",
        kw_claim => "`claim`",
        kw_loan => "`loan`",
        kw_exception => "`exception`",
        kw_to => "`to`",
        kw_note => "`note`",
        kw_when => "`when`",
        kw_then => "`then`",
        kw_eligible => "`eligible`",
        kw_amount => "`amount`",
        kw_flag => "`flag`",
        kw_assign => "`assign`",
        kw_pay => "`pay`",
        kw_test => "`test`",
        kw_fact => "`fact`",
        kw_enum => "`enum`",
        kw_list => "`list`",
        kw_of => "`of`",
        kw_optional => "`optional`",
        kw_as_of => "`as_of`",
        kw_set => "`set`",
        kw_expect => "`expect`",
        kw_error => "`error`",
        kw_contains => "`contains`",
        kw_claims => "`claims`",
        kw_null => "`null`",
        kw_if => "`if`",
        kw_else => "`else`",
        kw_case => "`case`",
        kw_in => "`in`",
        kw_where => "`where`",
        kw_at => "`at`",
        kw_round => "`round`",
        kw_banded => "`banded`",
        p_lbrace => "`{`",
        p_rbrace => "`}`",
        p_lparen => "`(`",
        p_rparen => "`)`",
        p_lbrack => "`[`",
        p_rbrack => "`]`",
        p_comma => "`,`",
        p_colon => "`:`",
        p_eq => "`=`",
        p_eqeq => "`==`",
        p_arrow => "`=>`",
        p_pluseq => "`+=`",
        p_dotdot => "`..`",
        EOI => "end of file",
        _ => "something else",
    }
}

/// Keywords and punctuation: named for error messages, skipped by the builder.
fn is_token(r: Rule) -> bool {
    use Rule::*;
    matches!(
        r,
        kw_policy
            | kw_title
            | kw_document
            | kw_issued
            | kw_region
            | kw_in_force
            | kw_version
            | kw_extends
            | kw_overlay
            | kw_override
            | kw_param
            | kw_cite
            | kw_required
            | kw_from
            | kw_always
            | kw_floor
            | kw_cap
            | kw_let
            | kw_fn
            | kw_above
            | kw_tally
            | kw_per
            | kw_member
            | kw_household
            | kw_year
            | kw_program
            | kw_rule
            | kw_for
            | kw_each
            | kw_claim
            | kw_loan
            | kw_exception
            | kw_to
            | kw_note
            | kw_when
            | kw_then
            | kw_eligible
            | kw_amount
            | kw_flag
            | kw_assign
            | kw_pay
            | kw_test
            | kw_fact
            | kw_enum
            | kw_layer
            | kw_field
            | kw_within
            | kw_out_of_pocket
            | kw_list
            | kw_of
            | kw_optional
            | kw_as_of
            | kw_set
            | kw_expect
            | kw_error
            | kw_contains
            | kw_indicator
            | kw_claims
            | kw_if
            | kw_else
            | kw_case
            | kw_in
            | kw_where
            | kw_at
            | kw_round
            | kw_banded
            | op_in
            | p_lbrace
            | p_rbrace
            | p_lparen
            | p_rparen
            | p_lbrack
            | p_rbrack
            | p_comma
            | p_colon
            | p_eq
            | p_eqeq
            | p_arrow
            | p_pluseq
            | p_dotdot
            | EOI
            | item_start
    )
}

// ------------------------------------------------------------------ builder

/// What an entry rule produced.
pub(super) enum Top {
    Header(PolicyHeader),
    Item(Item),
}

/// An expression and the depth of its tree.
struct Ex {
    e: Expr,
    depth: usize,
}

/// The significant children of a pair (tokens skipped), in order; read
/// from pest's pairs as they are taken, without collecting them.
struct Kids<'i> {
    items: std::iter::Peekable<Significant<'i>>,
    span: Span,
}

/// A pair's children without its tokens.
type Significant<'i> = std::iter::Filter<Pairs<'i, Rule>, fn(&Pair<'i, Rule>) -> bool>;

/// Whether a child pair is significant (not a keyword or punctuation).
fn significant(p: &Pair<'_, Rule>) -> bool {
    !is_token(p.as_rule())
}

impl<'i> Kids<'i> {
    /// The next child; the grammar guarantees it, so its absence is a bug.
    fn next(&mut self) -> Res<Pair<'i, Rule>> {
        self.items.next().ok_or_else(|| internal(self.span, "a child the grammar guarantees is missing"))
    }

    /// The next child if it is a `rule`.
    fn next_if(&mut self, r: Rule) -> Option<Pair<'i, Rule>> {
        self.items.next_if(|p| p.as_rule() == r)
    }

    /// The remaining children.
    fn rest(self) -> impl Iterator<Item = Pair<'i, Rule>> {
        self.items
    }
}

/// Builds AST nodes from pairs parsed from the text starting at `base`.
struct Builder {
    base: usize,
}

/// The operator table, loosest first.
fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::op_or, Assoc::Left))
            .op(Op::infix(Rule::op_and, Assoc::Left))
            .op(Op::prefix(Rule::op_not))
            .op(Op::infix(Rule::op_eq, Assoc::Left)
                | Op::infix(Rule::op_ne, Assoc::Left)
                | Op::infix(Rule::op_lt, Assoc::Left)
                | Op::infix(Rule::op_le, Assoc::Left)
                | Op::infix(Rule::op_gt, Assoc::Left)
                | Op::infix(Rule::op_ge, Assoc::Left)
                | Op::postfix(Rule::in_list))
            .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
            .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
            .op(Op::prefix(Rule::op_neg))
            .op(Op::infix(Rule::op_at, Assoc::Left))
    })
}

impl Builder {
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.base + s.start(), self.base + s.end())
    }

    fn kids<'i>(&self, p: Pair<'i, Rule>) -> Kids<'i> {
        let span = self.span(&p);
        let keep: fn(&Pair<'i, Rule>) -> bool = significant;
        Kids { items: p.into_inner().filter(keep).peekable(), span }
    }

    fn bug(&self, p: &Pair<'_, Rule>) -> SyntaxError {
        internal(self.span(p), &format!("unexpected {:?}", p.as_rule()))
    }

    // ---------------------------------------------------------- items

    /// `first_item` / `next_item`.
    fn entry(&self, p: Pair<'_, Rule>) -> Res<Top> {
        let mut kids = self.kids(p);
        let k = kids.next()?;
        match k.as_rule() {
            Rule::header => Ok(Top::Header(self.header(k)?)),
            Rule::item => {
                let inner = self.kids(k).next()?;
                Ok(Top::Item(self.item(inner)?))
            }
            _ => Err(self.bug(&k)),
        }
    }

    fn item(&self, p: Pair<'_, Rule>) -> Res<Item> {
        match p.as_rule() {
            Rule::param_decl => Ok(Item::Param(self.param_decl(p)?)),
            Rule::let_decl => Ok(Item::Let(self.let_decl(p)?)),
            Rule::fn_decl => Ok(Item::Fn(self.fn_decl(p)?)),
            Rule::tally_decl => Ok(Item::Tally(self.tally_decl(p)?)),
            Rule::program_decl => Ok(Item::Program(self.program_decl(p)?)),
            Rule::indicator_decl => Ok(Item::Indicator(self.indicator_decl(p)?)),
            Rule::fact_decl => Ok(Item::Fact(self.fact_decl(p)?)),
            Rule::enum_decl => Ok(Item::Enum(self.enum_decl(p)?)),
            Rule::layer_decl => Ok(Item::Layer(self.layer_decl(p)?)),
            Rule::rule_decl => Ok(Item::Rule(self.rule_decl(p)?)),
            Rule::test_decl => Ok(Item::Test(self.test_decl(p)?)),
            _ => Err(self.bug(&p)),
        }
    }

    fn header(&self, p: Pair<'_, Rule>) -> Res<PolicyHeader> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let id = self.dotted(kids.next()?)?;
        let fields = kids.rest().map(|f| self.header_field(f)).collect::<Res<Vec<_>>>()?;
        Ok(PolicyHeader { id, fields, span })
    }

    fn header_field(&self, p: Pair<'_, Rule>) -> Res<HeaderField> {
        let span = self.span(&p);
        let kind = p.as_rule();
        let mut kids = self.kids(p);
        Ok(match kind {
            Rule::h_title => HeaderField::Title(self.string(kids.next()?)?),
            Rule::h_document => HeaderField::Document(self.string(kids.next()?)?),
            Rule::h_issued => HeaderField::Issued(self.date(kids.next()?)?),
            Rule::h_region => {
                let code = kids.next()?;
                HeaderField::Region(StrLit { value: code.as_str().to_string(), span: self.span(&code) })
            }
            Rule::h_in_force => {
                let from = self.date(kids.next()?)?;
                let to = kids.next_if(Rule::date).map(|d| self.date(d)).transpose()?;
                HeaderField::InForce(from, to)
            }
            Rule::h_version => HeaderField::Version(self.string(kids.next()?)?),
            Rule::h_extends => HeaderField::Extends(self.dotted(kids.next()?)?),
            Rule::h_overlay => HeaderField::Overlay(span),
            _ => return Err(internal(span, "unknown header field")),
        })
    }

    fn param_decl(&self, p: Pair<'_, Rule>) -> Res<ParamDecl> {
        let span = self.span(&p);
        let mut is_override = false;
        let mut name = None;
        let mut ty = None;
        let mut entries = Vec::new();
        for k in p.into_inner() {
            match k.as_rule() {
                Rule::kw_override => is_override = true,
                Rule::ident => name = Some(self.ident(k)?),
                Rule::ty => ty = Some(self.ty(k)?),
                r if is_token(r) => {}
                _ => entries.push(self.param_entry(k)?),
            }
        }
        let name = name.ok_or_else(|| internal(span, "parameter without a name"))?;
        Ok(ParamDecl { is_override, name, ty, entries, span })
    }

    fn param_entry(&self, p: Pair<'_, Rule>) -> Res<ParamEntry> {
        let span = self.span(&p);
        let kind = p.as_rule();
        let mut kids = self.kids(p);
        Ok(match kind {
            Rule::pe_title => ParamEntry::Title(self.string(kids.next()?)?),
            Rule::pe_cite => ParamEntry::Cite(self.string(kids.next()?)?),
            Rule::pe_required => ParamEntry::Required(span),
            Rule::pe_from => {
                let date = self.date(kids.next()?)?;
                let value = self.expr(kids.next()?)?.e;
                let cite = kids.next_if(Rule::string).map(|s| self.string(s)).transpose()?;
                ParamEntry::From { date, value, cite, span }
            }
            Rule::pe_always => {
                let value = self.expr(kids.next()?)?.e;
                let cite = kids.next_if(Rule::string).map(|s| self.string(s)).transpose()?;
                ParamEntry::Always { value, cite, span }
            }
            Rule::pe_floor => ParamEntry::Floor(self.expr(kids.next()?)?.e),
            Rule::pe_cap => ParamEntry::Cap(self.expr(kids.next()?)?.e),
            _ => return Err(internal(span, "unknown parameter entry")),
        })
    }

    fn let_decl(&self, p: Pair<'_, Rule>) -> Res<LetDecl> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let name = self.ident(kids.next()?)?;
        let ty = kids.next_if(Rule::ty).map(|t| self.ty(t)).transpose()?;
        let value = self.expr(kids.next()?)?.e;
        Ok(LetDecl { name, ty, value, span })
    }

    fn fn_decl(&self, p: Pair<'_, Rule>) -> Res<FnDecl> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let name = self.ident(kids.next()?)?;
        let mut params = Vec::new();
        while let Some(fp) = kids.next_if(Rule::fn_param) {
            let mut pk = self.kids(fp);
            let pname = self.ident(pk.next()?)?;
            let ty = self.fn_ty(pk.next()?)?;
            params.push(FnParam { name: pname, ty });
        }
        let ret = self.fn_ty(kids.next()?)?;
        let body = self.expr(kids.next()?)?.e;
        Ok(FnDecl { name, params, ret, body, span })
    }

    fn fn_ty(&self, p: Pair<'_, Rule>) -> Res<FnType> {
        let t = self.kids(p).next()?;
        Ok(match t.as_rule() {
            Rule::ty => FnType::Builtin(self.ty(t)?),
            _ => FnType::Named(self.ident(t)?),
        })
    }

    fn tally_decl(&self, p: Pair<'_, Rule>) -> Res<TallyDecl> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let name = self.ident(kids.next()?)?;
        let ty = self.ty(kids.next()?)?;
        let scope_pair = kids.next()?;
        let scope = if scope_pair.into_inner().any(|k| k.as_rule() == Rule::kw_household) {
            TallyScope::HouseholdYear
        } else {
            TallyScope::MemberYear
        };
        Ok(TallyDecl { name, ty, scope, span })
    }

    fn indicator_decl(&self, p: Pair<'_, Rule>) -> Res<IndicatorDecl> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let id = self.rule_id(kids.next()?)?;
        let title = self.string(kids.next()?)?;
        let mut cites = Vec::new();
        let mut notes = Vec::new();
        for k in kids.items {
            let is_cite = k.as_rule() == Rule::re_cite;
            let mut inner = self.kids(k);
            let s = self.string(inner.next()?)?;
            if is_cite {
                cites.push(s);
            } else {
                notes.push(s);
            }
        }
        Ok(IndicatorDecl { id, title, cites, notes, span })
    }

    fn fact_decl(&self, p: Pair<'_, Rule>) -> Res<FactDecl> {
        let span = self.span(&p);
        let mut owner = None;
        let mut name = None;
        let mut ty = None;
        let (mut title, mut cite, mut optional) = (None, None, None);
        for k in p.into_inner() {
            match k.as_rule() {
                Rule::fact_owner => {
                    owner = k.into_inner().next().map(|w| match w.as_rule() {
                        Rule::kw_member => FactOwner::Member,
                        Rule::kw_claim => FactOwner::Claim,
                        Rule::kw_loan => FactOwner::Loan,
                        _ => FactOwner::Household,
                    })
                }
                Rule::ident => name = Some(self.ident(k)?),
                Rule::fact_ty => {
                    let ty_span = self.span(&k);
                    let mut list = false;
                    let mut scalar = None;
                    for t in k.into_inner() {
                        match t.as_rule() {
                            Rule::kw_list => list = true,
                            Rule::ty => scalar = Some(FactScalar::Builtin(self.ty(t)?.ty)),
                            Rule::ident => scalar = Some(FactScalar::Enum(self.ident(t)?)),
                            _ => {}
                        }
                    }
                    let scalar = scalar.ok_or_else(|| internal(ty_span, "fact type without a type"))?;
                    ty = Some(FactType { list, scalar, span: ty_span });
                }
                Rule::fe_title => title = Some(self.string(self.kids(k).next()?)?),
                Rule::fe_cite => cite = Some(self.string(self.kids(k).next()?)?),
                Rule::fe_optional => optional = Some(self.span(&k)),
                _ => {}
            }
        }
        let owner = owner.ok_or_else(|| internal(span, "fact without an owner"))?;
        let name = name.ok_or_else(|| internal(span, "fact without a name"))?;
        let ty = ty.ok_or_else(|| internal(span, "fact without a type"))?;
        Ok(FactDecl { owner, name, ty, title, cite, optional, span })
    }

    fn enum_decl(&self, p: Pair<'_, Rule>) -> Res<EnumDecl> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let name = self.ident(kids.next()?)?;
        let title = kids.next_if(Rule::string).map(|s| self.string(s)).transpose()?;
        let mut variants = Vec::new();
        for v in kids.items {
            let mut vk = self.kids(v);
            let name = self.ident(vk.next()?)?;
            let title = vk.next_if(Rule::string).map(|s| self.string(s)).transpose()?;
            variants.push(EnumVariant { name, title });
        }
        Ok(EnumDecl { name, title, variants, span })
    }

    fn layer_decl(&self, p: Pair<'_, Rule>) -> Res<LayerDecl> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let name = self.ident(kids.next()?)?;
        let title = kids.next_if(Rule::string).map(|s| self.string(s)).transpose()?;
        let mut d = LayerDecl { name, title, field: Vec::new(), program: Vec::new(), cite: Vec::new(), within: Vec::new(), span };
        for e in kids.items {
            let at = self.span(&e);
            let rule = e.as_rule();
            let mut ek = self.kids(e);
            match rule {
                Rule::le_field => d.field.push(self.string(ek.next()?)?),
                Rule::le_program => d.program.push(self.dotted(ek.next()?)?),
                Rule::le_cite => d.cite.push(self.string(ek.next()?)?),
                Rule::le_within => d.within.push(at),
                _ => return Err(internal(at, "unexpected layer entry")),
            }
        }
        Ok(d)
    }

    fn program_decl(&self, p: Pair<'_, Rule>) -> Res<ProgramDecl> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let id = self.dotted(kids.next()?)?;
        let title = self.string(kids.next()?)?;
        let unit = match kids.next_if(Rule::kw_none) {
            Some(_) => Some(None),
            None => kids.next_if(Rule::ty).map(|t| self.ty(t)).transpose()?.map(Some),
        };
        Ok(ProgramDecl { id, title, unit, span })
    }

    fn ty(&self, p: Pair<'_, Rule>) -> Res<TypeAnn> {
        let span = self.span(&p);
        let ty = match p.as_str() {
            "bool" => TypeExpr::Bool,
            "int" => TypeExpr::Int,
            "decimal" => TypeExpr::Decimal,
            "rate" => TypeExpr::Rate,
            "date" => TypeExpr::Date,
            "days" => TypeExpr::Days,
            "text" => TypeExpr::Text,
            "yuan" => TypeExpr::Yuan,
            "yuan/year" => TypeExpr::YuanPerYear,
            "yuan/month" => TypeExpr::YuanPerMonth,
            _ => return Err(internal(span, "unknown type")),
        };
        Ok(TypeAnn { ty, span })
    }

    // ---------------------------------------------------------- rules

    fn rule_decl(&self, p: Pair<'_, Rule>) -> Res<super::ast::Rule> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let id = self.rule_id(kids.next()?)?;
        let title = self.string(kids.next()?)?;
        let mut entries = Vec::new();
        let mut outcomes = Vec::new();
        for k in kids.rest() {
            match k.as_rule() {
                Rule::o_eligible | Rule::o_amount | Rule::o_flag | Rule::o_assign | Rule::o_pay | Rule::o_tally => {
                    outcomes.push(self.outcome(k)?)
                }
                _ => entries.push(self.rule_entry(k)?),
            }
        }
        Ok(super::ast::Rule { id, title, entries, outcomes, span })
    }

    fn rule_entry(&self, p: Pair<'_, Rule>) -> Res<RuleEntry> {
        let span = self.span(&p);
        let kind = p.as_rule();
        let mut kids = self.kids(p);
        Ok(match kind {
            Rule::re_cite => RuleEntry::Cite(self.string(kids.next()?)?),
            Rule::re_note => RuleEntry::Note(self.string(kids.next()?)?),
            Rule::re_subject => RuleEntry::Subject(self.subject(kids.next()?)?, span),
            Rule::re_exception => RuleEntry::ExceptionTo(kids.rest().map(|k| self.rule_id(k)).collect::<Res<_>>()?),
            Rule::re_let => {
                let name = self.ident(kids.next()?)?;
                RuleEntry::Let(name, self.expr(kids.next()?)?.e)
            }
            Rule::re_when => RuleEntry::When(self.expr(kids.next()?)?.e),
            _ => return Err(internal(span, "unknown rule entry")),
        })
    }

    fn subject(&self, p: Pair<'_, Rule>) -> Res<Subject> {
        let kind = p.as_rule();
        if kind == Rule::subj_household {
            return Ok(Subject::Household);
        }
        let span = self.span(&p);
        let var = self.ident(self.kids(p).next()?)?;
        match kind {
            Rule::subj_member => Ok(Subject::Member(var)),
            Rule::subj_claim => Ok(Subject::Claim(var)),
            Rule::subj_loan => Ok(Subject::Loan(var)),
            _ => Err(internal(span, "unknown subject")),
        }
    }

    fn outcome(&self, p: Pair<'_, Rule>) -> Res<Outcome> {
        let span = self.span(&p);
        let kind = p.as_rule();
        let mut kids = self.kids(p);
        Ok(match kind {
            Rule::o_eligible => Outcome::Eligible(self.dotted(kids.next()?)?),
            Rule::o_flag => Outcome::Flag(self.dotted(kids.next()?)?),
            Rule::o_amount => {
                let prog = self.dotted(kids.next()?)?;
                Outcome::Amount(prog, self.expr(kids.next()?)?.e)
            }
            Rule::o_assign => {
                let prog = self.dotted(kids.next()?)?;
                Outcome::Assign(prog, self.ident(kids.next()?)?)
            }
            Rule::o_pay => {
                let layer = self.ident(kids.next()?)?;
                Outcome::Pay(layer, self.expr(kids.next()?)?.e)
            }
            Rule::o_tally => {
                let name = self.ident(kids.next()?)?;
                Outcome::AddTally(name, self.expr(kids.next()?)?.e)
            }
            _ => return Err(internal(span, "unknown outcome")),
        })
    }

    // ---------------------------------------------------------- tests

    fn test_decl(&self, p: Pair<'_, Rule>) -> Res<Test> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let name = self.string(kids.next()?)?;
        let entries = kids.rest().map(|k| self.test_entry(k)).collect::<Res<Vec<_>>>()?;
        Ok(Test { name, entries, span })
    }

    fn test_entry(&self, p: Pair<'_, Rule>) -> Res<TestEntry> {
        let span = self.span(&p);
        let kind = p.as_rule();
        let mut kids = self.kids(p);
        Ok(match kind {
            Rule::t_household => {
                let k = kids.next()?;
                if k.as_rule() == Rule::json_object {
                    TestEntry::HouseholdInline(StrLit { value: k.as_str().to_string(), span: self.span(&k) })
                } else {
                    TestEntry::HouseholdFile(self.string(k)?)
                }
            }
            Rule::t_as_of => TestEntry::AsOf(self.date(kids.next()?)?),
            Rule::t_set => {
                let name = self.ident(kids.next()?)?;
                TestEntry::Set(name, self.expr(kids.next()?)?.e)
            }
            Rule::t_expect_error => TestEntry::ExpectError(self.string(kids.next()?)?),
            Rule::t_expect_contains => {
                let path = self.expect_path(kids.next()?)?;
                // `contains` is a token (filtered out); `lacks` is kept to tell them apart
                let mut next = kids.next()?;
                let lacks = next.as_rule() == Rule::kw_lacks;
                if lacks {
                    next = kids.next()?;
                }
                let id = self.rule_id(next)?;
                let value = if lacks { ExpectValue::Lacks(id) } else { ExpectValue::Contains(id) };
                TestEntry::Expect(Expectation { path, value, span })
            }
            Rule::t_expect => {
                let path = self.expect_path(kids.next()?)?;
                let value = self.expect_value(kids.next()?)?;
                TestEntry::Expect(Expectation { path, value, span })
            }
            _ => return Err(internal(span, "unknown test entry")),
        })
    }

    fn expect_path(&self, p: Pair<'_, Rule>) -> Res<ExpectPath> {
        let span = self.span(&p);
        let kind = p.as_rule();
        let mut kids = self.kids(p);
        match kind {
            Rule::claim_path => {
                let n = kids.next()?;
                if n.as_rule() != Rule::uint {
                    let key = self.record_key(n)?;
                    return Ok(ExpectPath::ClaimId(key, self.ident(kids.next()?)?));
                }
                let index = n
                    .as_str()
                    .parse::<u32>()
                    .map_err(|_| SyntaxError::new(SyntaxErrorKind::InvalidNumber { text: n.as_str().to_string() }, self.span(&n)))?;
                Ok(ExpectPath::Claim(index, self.ident(kids.next()?)?))
            }
            Rule::member_path => {
                let key = self.record_key(kids.next()?)?;
                let mut parts = kids.rest().map(|k| self.ident(k)).collect::<Res<Vec<_>>>()?;
                let field = parts.pop().ok_or_else(|| internal(span, "empty path"))?;
                let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
                    return Err(internal(span, "a member path needs a programme and a field"));
                };
                let prog_span = first.span.to(last.span);
                Ok(ExpectPath::Member(key, DottedName { parts, span: prog_span }, field))
            }
            Rule::param_path => {
                let name = self.ident(kids.next()?)?;
                let at = kids.next_if(Rule::date).map(|d| self.date(d)).transpose()?;
                Ok(ExpectPath::Param(name, at))
            }
            Rule::value_path => Ok(ExpectPath::Let(self.ident(kids.next()?)?)),
            Rule::program_path => {
                let mut parts = kids.rest().map(|k| self.ident(k)).collect::<Res<Vec<_>>>()?;
                let field = parts.pop().ok_or_else(|| internal(span, "empty path"))?;
                let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
                    return Err(internal(span, "a programme path needs two parts"));
                };
                let prog_span = first.span.to(last.span);
                Ok(ExpectPath::Program(DottedName { parts, span: prog_span }, field))
            }
            _ => Err(internal(span, "unknown expectation path")),
        }
    }

    /// A member or claim id in an expectation: a string, or written bare.
    fn record_key(&self, p: Pair<'_, Rule>) -> Res<StrLit> {
        match p.as_rule() {
            Rule::string => self.string(p),
            _ => Ok(StrLit { value: p.as_str().to_string(), span: self.span(&p) }),
        }
    }

    fn expect_value(&self, p: Pair<'_, Rule>) -> Res<ExpectValue> {
        let span = self.span(&p);
        Ok(match p.as_rule() {
            Rule::bool_lit => ExpectValue::Bool(p.as_str() == "true"),
            Rule::kw_null => ExpectValue::Null,
            Rule::signed_number => ExpectValue::Number(self.decimal(p.as_str(), span)?),
            Rule::string => ExpectValue::Text(self.string(p)?.value),
            Rule::ident => ExpectValue::Text(self.ident(p)?.name),
            _ => return Err(self.bug(&p)),
        })
    }

    // ---------------------------------------------------------- names and literals

    fn ident(&self, p: Pair<'_, Rule>) -> Res<Ident> {
        let span = self.span(&p);
        let name = p.as_str();
        // a name of at most MAX_IDENT_LEN bytes has at most as many characters
        let len = if name.len() <= limits::MAX_IDENT_LEN { name.len() } else { name.chars().count() };
        if len > limits::MAX_IDENT_LEN {
            return Err(SyntaxError::new(SyntaxErrorKind::IdentTooLong { len, limit: limits::MAX_IDENT_LEN }, span));
        }
        Ok(Ident { name: name.to_string(), span })
    }

    fn rule_id(&self, p: Pair<'_, Rule>) -> Res<Ident> {
        self.ident(p)
    }

    fn dotted(&self, p: Pair<'_, Rule>) -> Res<DottedName> {
        let span = self.span(&p);
        let parts = self.kids(p).rest().map(|k| self.ident(k)).collect::<Res<Vec<_>>>()?;
        Ok(DottedName { parts, span })
    }

    fn string(&self, p: Pair<'_, Rule>) -> Res<StrLit> {
        let span = self.span(&p);
        let inner = self.kids(p).next()?;
        let start = self.span(&inner).start as usize;
        let raw = inner.as_str();
        if !raw.contains('\\') {
            return Ok(StrLit { value: raw.to_string(), span });
        }
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '"')) => value.push('"'),
                Some((_, '\\')) => value.push('\\'),
                Some((_, 'n')) => value.push('\n'),
                other => {
                    let end = other.map_or(i + 1, |(j, e)| j + e.len_utf8());
                    return Err(SyntaxError::new(
                        SyntaxErrorKind::InvalidEscape { text: raw[i..end].to_string() },
                        Span::new(start + i, start + end),
                    ));
                }
            }
        }
        Ok(StrLit { value, span })
    }

    fn date(&self, p: Pair<'_, Rule>) -> Res<DateLit> {
        let span = self.span(&p);
        let text = p.as_str();
        let invalid = || SyntaxError::new(SyntaxErrorKind::InvalidDate { text: text.to_string() }, span);
        let mut parts = text.split('-').map(|n| n.parse::<u32>().ok());
        let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let y = i32::try_from(y).map_err(|_| invalid())?;
        if !(1..=9999).contains(&y) {
            return Err(SyntaxError::new(SyntaxErrorKind::DateOutOfRange { text: text.to_string() }, span));
        }
        let value = NaiveDate::from_ymd_opt(y, m, d).ok_or_else(invalid)?;
        Ok(DateLit { value, span })
    }

    /// An exact decimal from a literal with optional `_` separators.
    fn decimal(&self, text: &str, span: Span) -> Res<Decimal> {
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        Decimal::from_str_exact(&clean).map_err(|_| SyntaxError::new(SyntaxErrorKind::InvalidNumber { text: text.to_string() }, span))
    }

    // ---------------------------------------------------------- expressions

    /// An expression node, unless the tree gets too deep.
    fn node(&self, kind: ExprKind, span: Span, depth: usize) -> Res<Ex> {
        if depth > limits::MAX_EXPR_DEPTH {
            return Err(SyntaxError::new(SyntaxErrorKind::TooDeep { depth, limit: limits::MAX_EXPR_DEPTH }, span));
        }
        Ok(Ex { e: Expr { kind: Box::new(kind), span }, depth })
    }

    fn leaf(&self, kind: ExprKind, p: &Pair<'_, Rule>) -> Res<Ex> {
        self.node(kind, self.span(p), 1)
    }

    /// `expr` or `band_bound`.
    fn expr(&self, p: Pair<'_, Rule>) -> Res<Ex> {
        let span = self.span(&p);
        let mut flat = Vec::new();
        for k in p.into_inner() {
            match k.as_rule() {
                Rule::if_expr => return self.if_expr(k),
                Rule::operand => flat.extend(k.into_inner()),
                Rule::infix | Rule::infix_no_at => flat.extend(k.into_inner()),
                _ => return Err(self.bug(&k)),
            }
        }
        if flat.is_empty() {
            return Err(internal(span, "empty expression"));
        }
        // The grammar guarantees the shape the Pratt parser needs:
        // prefix* primary postfix* (infix prefix* primary postfix*)*,
        // with every operator rule in the table of `pratt()`.
        pratt()
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let unop = match op.as_rule() {
                    Rule::op_neg => UnOp::Neg,
                    Rule::op_not => UnOp::Not,
                    _ => return Err(self.bug(&op)),
                };
                let span = self.span(&op).to(rhs.e.span);
                self.node(ExprKind::Unary(unop, rhs.e), span, rhs.depth + 1)
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let binop = match op.as_rule() {
                    Rule::op_or => BinOp::Or,
                    Rule::op_and => BinOp::And,
                    Rule::op_eq => BinOp::Eq,
                    Rule::op_ne => BinOp::Ne,
                    Rule::op_lt => BinOp::Lt,
                    Rule::op_le => BinOp::Le,
                    Rule::op_gt => BinOp::Gt,
                    Rule::op_ge => BinOp::Ge,
                    Rule::op_add => BinOp::Add,
                    Rule::op_sub => BinOp::Sub,
                    Rule::op_mul => BinOp::Mul,
                    Rule::op_div => BinOp::Div,
                    Rule::op_at => BinOp::At,
                    _ => return Err(self.bug(&op)),
                };
                let span = lhs.e.span.to(rhs.e.span);
                let depth = lhs.depth.max(rhs.depth) + 1;
                self.node(ExprKind::Binary(binop, lhs.e, rhs.e), span, depth)
            })
            .map_postfix(|lhs, op| {
                let lhs = lhs?;
                let span = lhs.e.span.to(self.span(&op));
                let mut depth = lhs.depth;
                let mut list = Vec::new();
                for k in self.kids(op).rest() {
                    let ex = self.expr(k)?;
                    depth = depth.max(ex.depth);
                    list.push(ex.e);
                }
                self.node(ExprKind::In(lhs.e, list), span, depth + 1)
            })
            .parse(flat.into_iter())
    }

    /// `if c then a (else if c then a)* else b`, folded into nested `If`s.
    fn if_expr(&self, p: Pair<'_, Rule>) -> Res<Ex> {
        let span = self.span(&p);
        let mut starts = Vec::new();
        let mut parts = Vec::new();
        for k in p.into_inner() {
            match k.as_rule() {
                Rule::kw_if => starts.push(self.span(&k).start),
                Rule::expr => parts.push(self.expr(k)?),
                _ => {}
            }
        }
        let mut acc = parts.pop().ok_or_else(|| internal(span, "`if` without `else`"))?;
        while let (Some(then), Some(cond), Some(start)) = (parts.pop(), parts.pop(), starts.pop()) {
            let depth = cond.depth.max(then.depth).max(acc.depth) + 1;
            let span = Span { start, end: acc.e.span.end };
            acc = self.node(ExprKind::If(cond.e, then.e, acc.e), span, depth)?;
        }
        if !parts.is_empty() {
            return Err(internal(span, "unbalanced `if`"));
        }
        Ok(acc)
    }

    fn primary(&self, p: Pair<'_, Rule>) -> Res<Ex> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::paren => {
                let mut ex = self.expr(self.kids(p).next()?)?;
                ex.e.span = span;
                Ok(ex)
            }
            Rule::case_expr => self.case_expr(p),
            Rule::round_call => self.round_call(p),
            Rule::banded_call => self.banded_call(p),
            Rule::aggregate => self.aggregate(p),
            Rule::call => {
                let mut kids = self.kids(p);
                let name = self.ident(kids.next()?)?;
                let (args, depth) = self.exprs(kids.rest())?;
                self.node(ExprKind::Call(name, args), span, depth + 1)
            }
            Rule::date => {
                let d = self.date(p)?;
                self.node(ExprKind::Date(d.value), span, 1)
            }
            Rule::percent => {
                let text = p.as_str();
                let digits = text.strip_suffix('%').unwrap_or(text);
                let mut value = self.decimal(digits, span)?;
                value
                    .set_scale(value.scale() + 2)
                    .map_err(|_| SyntaxError::new(SyntaxErrorKind::InvalidNumber { text: text.to_string() }, span))?;
                self.node(ExprKind::Percent(value), span, 1)
            }
            Rule::number => {
                let value = self.decimal(p.as_str(), span)?;
                self.node(ExprKind::Number(value), span, 1)
            }
            Rule::string => {
                let s = self.string(p)?;
                self.node(ExprKind::Str(s.value), span, 1)
            }
            Rule::bool_lit => self.leaf(ExprKind::Bool(p.as_str() == "true"), &p),
            Rule::path => {
                let parts = self.kids(p).rest().map(|k| self.ident(k)).collect::<Res<Vec<_>>>()?;
                self.node(ExprKind::Path(parts), span, 1)
            }
            _ => Err(self.bug(&p)),
        }
    }

    /// Builds expressions; returns them and their greatest depth.
    fn exprs<'i>(&self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Res<(Vec<Expr>, usize)> {
        let mut depth = 0;
        let mut out = Vec::new();
        for p in pairs {
            let ex = self.expr(p)?;
            depth = depth.max(ex.depth);
            out.push(ex.e);
        }
        Ok((out, depth))
    }

    fn case_expr(&self, p: Pair<'_, Rule>) -> Res<Ex> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let scrutinee = self.expr(kids.next()?)?;
        let mut depth = scrutinee.depth;
        let mut arms = Vec::new();
        let mut default = None;
        for k in kids.rest() {
            let kind = k.as_rule();
            let (values, d) = self.exprs(self.kids(k).rest())?;
            depth = depth.max(d);
            let mut values = values.into_iter();
            match (kind, values.next(), values.next()) {
                (Rule::case_arm, Some(pattern), Some(value)) => arms.push((pattern, value)),
                (Rule::case_else, Some(value), None) => default = Some(value),
                _ => return Err(internal(span, "malformed case arm")),
            }
        }
        self.node(ExprKind::Case { scrutinee: scrutinee.e, arms, default }, span, depth + 1)
    }

    fn round_call(&self, p: Pair<'_, Rule>) -> Res<Ex> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let value = self.expr(kids.next()?)?;
        let unit = match kids.next()?.as_str() {
            "fen" => RoundUnit::Fen,
            "jiao" => RoundUnit::Jiao,
            "yuan" => RoundUnit::Yuan,
            _ => return Err(internal(span, "unknown rounding unit")),
        };
        let mode = match kids.next_if(Rule::round_mode).as_ref().map(|m| m.as_str()) {
            None | Some("half_up") => RoundMode::HalfUp,
            Some("up") => RoundMode::Up,
            Some("down") => RoundMode::Down,
            Some(_) => return Err(internal(span, "unknown rounding mode")),
        };
        self.node(ExprKind::Round(value.e, unit, mode), span, value.depth + 1)
    }

    fn banded_call(&self, p: Pair<'_, Rule>) -> Res<Ex> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let value = self.expr(kids.next()?)?;
        let mut depth = value.depth;
        let above = match kids.next_if(Rule::band_above) {
            Some(a) => {
                let a = self.expr(self.kids(a).next()?)?;
                depth = depth.max(a.depth);
                Some(a.e)
            }
            None => None,
        };
        let mut bands = Vec::new();
        for band in kids.rest() {
            let mut parts = self.kids(band);
            let from = self.expr(parts.next()?)?;
            let rate = self.expr(parts.next()?)?;
            depth = depth.max(from.depth).max(rate.depth);
            bands.push((from.e, rate.e));
        }
        self.node(ExprKind::Banded { value: value.e, above, bands }, span, depth + 1)
    }

    fn aggregate(&self, p: Pair<'_, Rule>) -> Res<Ex> {
        let span = self.span(&p);
        let mut kids = self.kids(p);
        let kind = match kids.next()?.as_str() {
            "any" => AggKind::Any,
            "all" => AggKind::All,
            "count" => AggKind::Count,
            "sum" => AggKind::Sum,
            _ => return Err(internal(span, "unknown aggregation")),
        };
        let var = self.ident(kids.next()?)?;
        let (exprs, depth) = self.exprs(kids.rest())?;
        let mut exprs = exprs.into_iter();
        let (collection, filter, body) = match (exprs.next(), exprs.next(), exprs.next()) {
            (Some(c), Some(b), None) => (c, None, b),
            (Some(c), Some(f), Some(b)) => (c, Some(f), b),
            _ => return Err(internal(span, "malformed aggregation")),
        };
        self.node(ExprKind::Aggregate { kind, var, collection, filter, body }, span, depth + 1)
    }
}
