//! Syntax: the pest grammar binding, the AST and the AST builder.
//!
//! ```
//! let file = fupin::syntax::parse(r#"let members = count(m in household.members: true)"#).unwrap();
//! assert_eq!(file.items.len(), 1);
//! ```
pub mod ast;
pub mod error;
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

/// Parses a lone expression (`household.income < 4000`).
pub fn parse_expr(source: &str) -> Result<ast::Expr, Vec<SyntaxError>> {
    parser::parse_expr(source)
}
