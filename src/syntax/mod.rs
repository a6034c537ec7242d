//! Syntax: the pest grammar binding, the AST and the AST builder, and the
//! hand-written fast path in front of them.
//!
//! ```
//! let file = fupin::syntax::parse(r#"let members = count(m in household.members: true)"#).unwrap();
//! assert_eq!(file.items.len(), 1);
//! ```
pub mod ast;
mod descent;
pub mod error;
#[cfg(feature = "fmt")]
pub mod format;
pub mod limits;
mod parser;
pub mod printer;

pub use error::{SyntaxError, SyntaxErrorKind};
pub use printer::{print, print_expr};

/// Parses a policy or test file.
///
/// Returns every syntax error in the file: after an error the parser
/// resumes at the next line that starts an item (`rule`, `param`, …).
/// Never panics, whatever the input.
pub fn parse(source: &str) -> Result<ast::File, Vec<SyntaxError>> {
    parser::parse_file(source)
}

/// Parses a policy or test file with the pest grammar alone
/// (`grammar/policy.pest` and the AST builder): the definition of the
/// language. [`parse`] tries a hand-written recursive-descent parser on each
/// item first and gives pest every item it does not take; the two give the
/// same trees (spans included) and the same errors, which the differential
/// tests check against this function.
#[doc(hidden)]
pub fn parse_definition(source: &str) -> Result<ast::File, Vec<SyntaxError>> {
    parser::parse_definition(source)
}

/// [`parse`], and how many of the file's items (the header counts as one)
/// the fast path took; for the tests that keep it in use.
#[doc(hidden)]
pub fn parse_counting_fast(source: &str) -> (Result<ast::File, Vec<SyntaxError>>, usize) {
    parser::parse_items(source, true)
}

/// Whether a file is a standalone test file: its first word (after
/// whitespace and comments) is `test`. Such a file holds only tests, which
/// an engine parses when they are first asked for
/// ([`crate::Engine::tests`]), not when it is built.
pub fn is_test_file(source: &str) -> bool {
    let rest = source.get(parser::skip_trivia(source, 0)..).unwrap_or("");
    rest.strip_prefix("test").is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// Parses a lone expression (`household.income < 4000`).
pub fn parse_expr(source: &str) -> Result<ast::Expr, Vec<SyntaxError>> {
    parser::parse_expr(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_file_is_known_by_its_first_word() {
        assert!(is_test_file("test \"x\" { }"));
        assert!(is_test_file("// tests of 石家庄\n\n  test\"x\" {}"));
        assert!(!is_test_file("testing = 1"));
        assert!(!is_test_file("test_x"));
        assert!(!is_test_file("test甲"));
        assert!(!is_test_file("policy p { }\ntest \"x\" {}"));
        assert!(!is_test_file(""));
    }

    fn cite_of(src: &str) -> String {
        let f = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
        match f.items.first() {
            Some(ast::Item::Program(p)) => p.title.value.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strings_hold_any_character_but_quote_backslash_and_line_breaks() {
        assert_eq!(
            cite_of("program a \"三(六) ~^`|{}[]#!\u{0}\u{b}\u{c}\u{e}\u{10FFFF}\t\": yuan"),
            "三(六) ~^`|{}[]#!\u{0}\u{b}\u{c}\u{e}\u{10FFFF}\t"
        );
        assert_eq!(cite_of("program a \"a\\\"b\\\\c\": yuan"), "a\"b\\c");
        assert!(parse("program a \"a\nb\": yuan").is_err());
        assert!(parse("program a \"a\rb\": yuan").is_err());
        // a comment ends at \r as at \n (a file with old Mac line endings
        // is not one long comment)
        assert_eq!(cite_of("// x\rprogram a \"t\": yuan"), "t");
        assert_eq!(cite_of("// x\r\nprogram a \"t\": yuan"), "t");
    }
}
