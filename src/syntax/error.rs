//! Syntax errors: what went wrong ([`SyntaxErrorKind`]) and where ([`Span`]).
//!
//! Errors are plain data; rendering them with the source line and a caret is
//! the caller's business (the CLI uses `codespan-reporting`).

use std::fmt;

use super::ast::Span;

/// One syntax error: a kind and the span of the offending text.
///
/// At the end of the file the span is zero-width, at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What went wrong.
    pub kind: SyntaxErrorKind,
    /// Where, as byte offsets into the whole file.
    pub span: Span,
}

impl SyntaxError {
    /// An error of `kind` at `span`.
    pub fn new(kind: SyntaxErrorKind, span: Span) -> SyntaxError {
        SyntaxError { kind, span }
    }

    /// A hint on how to fix the error, where one helps.
    pub fn help(&self) -> Option<String> {
        self.kind.help()
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for SyntaxError {}

/// The kinds of syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// The parser met something it did not expect.
    #[error("expected {}, found {found}", list(expected))]
    Unexpected {
        /// What would have been accepted, as human names
        /// (`an expression`, `` `}` ``), in the parser's order.
        expected: Vec<String>,
        /// What was found: `` `)` `` or `end of file`.
        found: String,
    },
    /// Full-width punctuation (typed with a Chinese input method) where the
    /// language has ASCII: `，` for `,`, `（` for `(`, `％` for `%`.
    #[error("{} `{found}` (U+{code:04X}) where the language expects {}", mark_kind(*code), list(expected))]
    FullWidth {
        /// The character as written.
        found: char,
        /// Its code point.
        code: u32,
        /// Its ASCII form.
        ascii: &'static str,
        /// What would have been accepted there, as in [`SyntaxErrorKind::Unexpected`].
        expected: Vec<String>,
    },
    /// A date literal that is not a calendar date (`2018-02-30`).
    #[error("`{text}` is not a valid date")]
    InvalidDate {
        /// The literal as written.
        text: String,
    },
    /// A date literal with year 0000 (the language's years are 1–9999).
    #[error("`{text}` is outside the years 0001–9999")]
    DateOutOfRange {
        /// The literal as written.
        text: String,
    },
    /// A bidirectional control or invisible character in the source.
    #[error("invisible character U+{code:04X} ({name}) in the source")]
    InvisibleChar {
        /// The code point.
        code: u32,
        /// Its Unicode name, in lower case.
        name: &'static str,
    },
    /// A number literal that cannot be represented exactly.
    #[error("`{text}` is not a valid number")]
    InvalidNumber {
        /// The literal as written.
        text: String,
    },
    /// The file is larger than [`super::limits::MAX_FILE_SIZE`].
    #[error("the file is {size} bytes long; the limit is {limit} bytes")]
    FileTooLarge {
        /// The file's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Brackets or expressions nested too deeply.
    #[error("nesting is too deep: {depth} levels, the limit is {limit}")]
    TooDeep {
        /// The depth reached when the limit was passed.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// An identifier longer than [`super::limits::MAX_IDENT_LEN`] characters.
    #[error("this name is {len} characters long; the limit is {limit}")]
    IdentTooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// More than [`super::limits::MAX_ITEMS`] items in one file.
    #[error("too many items in one file: the limit is {limit}")]
    TooManyItems {
        /// The limit.
        limit: usize,
    },
    /// An escape other than `\"`, `\\` and `\n` in a string.
    #[error("unknown escape `{text}` in a string")]
    InvalidEscape {
        /// The escape as written (`\t`).
        text: String,
    },
    /// A bug in the parser: it reached a state its grammar should rule out.
    #[error("internal parser error: {message}")]
    Internal {
        /// What went wrong.
        message: String,
    },
}

/// The shape of an aggregation, for hints.
const AGGREGATION: &str = "count(m in household.members where COND: EXPR)";
/// The shape of `banded`, for hints.
const BANDED: &str = "banded(x, from 0 at 50%, from 50000 at 60%)";

/// Words the grammar reserves; they cannot be used as names.
const RESERVED: &[&str] = &["and", "or", "not", "if", "then", "else", "case", "true", "false", "in", "at", "from", "where"];

impl SyntaxErrorKind {
    /// A hint on how to fix the error, where one helps.
    pub fn help(&self) -> Option<String> {
        match self {
            SyntaxErrorKind::Unexpected { expected, found } => {
                let wants = |s: &str| expected.iter().any(|e| e == s);
                if found == "`=`" && (wants("an operator") || wants("`==`")) {
                    Some("use `==` to compare two values".into())
                } else if found == "end of file" && wants("`}`") {
                    Some("a `{` is not closed".into())
                } else if wants("`}`") && ["`rule`", "`param`", "`override`", "`program`", "`test`", "`policy`"].contains(&found.as_str()) {
                    Some("is a `}` missing before this item?".into())
                } else if found == "`}`" && wants("`then`") {
                    Some("a rule ends with its outcome: `then eligible PROG`, `then amount PROG = …` or `then { … }`".into())
                } else if found.starts_with("`\"") {
                    Some("a string ends with `\"` on the line where it starts".into())
                } else if found == "`%`" {
                    Some("`%` only follows a number (`70%`); for a rate held in a name, multiply: `x * 1%`".into())
                } else if found == "end of file" && wants("`)`") {
                    Some("a `(` is not closed".into())
                } else if found == "`if`" && wants("an expression") {
                    Some("an `if` expression used as an operand needs parentheses: `1 + (if c then a else b)`".into())
                } else if wants("`in`") || (wants("`:`") && wants("an operator")) || (found == "`:`" && wants("`)`")) {
                    Some(format!("an aggregation (`any`, `all`, `count`, `sum`) names each element: `{AGGREGATION}`, `where COND` optional"))
                } else if wants("`at`") || (wants("`from`") && wants("`)`")) {
                    Some(format!("each band of `banded` is `from LOWER at RATE`: `{BANDED}`"))
                } else if found == "`from`" && wants("`,`") {
                    Some(format!("a `,` comes before each band: `{BANDED}`"))
                } else if (wants("an identifier") || wants("a rule id")) && RESERVED.iter().any(|r| found == &format!("`{r}`")) {
                    Some(format!("{found} is a reserved word and cannot be used as a name"))
                } else if wants("an item") && !wants("an expression") {
                    Some(
                        "a policy file holds `policy`, `param`, `override param`, `let`, \
                         `tally`, `program`, `rule` and `test` items"
                            .into(),
                    )
                } else {
                    None
                }
            }
            SyntaxErrorKind::FullWidth { found, ascii, .. } => Some(match *ascii {
                " " => format!("write an ASCII space in place of `{found}`"),
                ";" => format!("the language has no `;`: delete `{found}` (items and entries need no separator)"),
                _ => format!("write the ASCII `{ascii}` in place of `{found}` (outside strings the language uses ASCII punctuation)"),
            }),
            SyntaxErrorKind::InvalidDate { .. } => Some("dates are written YYYY-MM-DD and must exist in the calendar".into()),
            SyntaxErrorKind::DateOutOfRange { .. } => Some("dates are written YYYY-MM-DD with a year from 0001 to 9999".into()),
            SyntaxErrorKind::InvisibleChar { .. } => Some(
                "it makes the line display differently from how it is read (a name that looks like another, text shown reversed); delete it".into(),
            ),
            SyntaxErrorKind::InvalidNumber { .. } => Some("numbers are exact decimals with at most 28 significant digits".into()),
            SyntaxErrorKind::FileTooLarge { .. } | SyntaxErrorKind::TooManyItems { .. } => {
                Some("split the policy into several files".into())
            }
            SyntaxErrorKind::TooDeep { .. } => Some("name intermediate values with `let` to flatten the expression".into()),
            SyntaxErrorKind::IdentTooLong { .. } => Some("use a shorter name".into()),
            SyntaxErrorKind::InvalidEscape { .. } => Some(r#"the escapes in strings are `\"`, `\\` and `\n`"#.into()),
            SyntaxErrorKind::Internal { .. } => Some("please report this with the file that caused it".into()),
        }
    }
}

/// The ASCII form of a full-width or Chinese punctuation mark (or space,
/// digit, letter), if `c` is one: the full-width forms U+FF01–U+FF5E, the
/// ideographic space, curly double quotes, `、` `。` `【` `】`.
pub fn ascii_form(c: char) -> Option<&'static str> {
    // U+FF01..=U+FF5E are U+0021..=U+007E shifted by 0xFEE0
    const ASCII: &str = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
    match c {
        '\u{FF01}'..='\u{FF5E}' => {
            let i = (c as u32 - 0xFF01) as usize;
            ASCII.get(i..i + 1)
        }
        '\u{3000}' => Some(" "),
        '\u{201C}' | '\u{201D}' => Some("\""),
        '\u{3001}' => Some(","),
        '\u{3002}' => Some("."),
        '\u{3010}' => Some("["),
        '\u{3011}' => Some("]"),
        _ => None,
    }
}

/// `full-width` for the full-width forms and the ideographic space, else `Chinese punctuation`.
fn mark_kind(code: u32) -> &'static str {
    if (0xFF01..=0xFF5E).contains(&code) || code == 0x3000 {
        "full-width"
    } else {
        "Chinese punctuation"
    }
}

/// `a`, `a or b`, `one of a, b, or c`.
fn list(items: &[String]) -> String {
    match items {
        [] => "something else".into(),
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        [init @ .., last] => format!("one of {}, or {last}", init.join(", ")),
    }
}
