//! fupin (扶贫): an embeddable rules engine for China's targeted poverty-alleviation policies.
#![forbid(unsafe_code)]
// `EvalError` carries the names and citations an analyst needs (a conflict
// names both rules and clauses), so it is large; it is only built on the cold
// error path. Shrinking it (boxing the rare variants' payloads) is left to the
// evaluator's owners, who measure the hot path.
#![allow(clippy::result_large_err)]

// Generated code names this crate `fupin`, inside it as outside
// (`codegen::shipped`).
extern crate self as fupin;

pub mod assessment;
pub mod batch;
pub mod check;
pub mod codegen;
pub mod compile;
pub mod coverage;
pub mod diagnostic;
pub mod diff;
pub mod engine;
pub mod eval;
pub mod exec;
pub mod ir;
pub mod model;
pub mod pin;
pub mod policy;
pub mod syntax;
pub mod value;

pub use assessment::Assessment;
pub use engine::{Engine, EngineBuilder, PolicySet, PolicySetError, SharedEngine, TestOf};
pub use eval::{EvalError, Scratch, Tier, Tiers};
pub use model::Household;
pub use pin::{Lockfile, Pin};
pub mod testing;

/// The Rust code blocks of the README and the docs, compiled (and run,
/// unless marked `no_run`) as doctests by `cargo test`: every snippet a
/// reader copies builds against this crate.
#[cfg(doctest)]
mod doc_snippets {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/writing-policies.md")]
    struct WritingPolicies;
}
