//! Syntax: the pest grammar binding, the AST and the AST builder.
pub mod ast;
