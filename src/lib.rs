//! fupin (扶贫): an embeddable rules engine for China's targeted poverty-alleviation policies.
//!
//! Policies are written in fupin's policy language (`docs/language.md`),
//! checked and compiled once into an [`Engine`]; the engine assesses
//! household records ([`Household`], `docs/household.md`) on a date: which
//! programmes a household qualifies for, what each pays — exact decimals,
//! rounded only where a policy says so — and why, citing the clause behind
//! every figure ([`Assessment`], `docs/output.md`).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = fupin::Engine::embedded()?; // the shipped policies, compiled once
//! let text = std::fs::read_to_string("examples/households/pingshan-dibao.json")?;
//! let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).unwrap();
//! let household = engine.parse_household(&text, Some(as_of))?; // errors carry the JSON path
//! let assessment = engine.assess(&household, as_of)?;
//! let dibao = &assessment.programs["dibao"];
//! assert_eq!(dibao.amount, Some(rust_decimal::Decimal::new(720000, 2))); // 7200.00 yuan/year
//! assert_eq!(dibao.reasons[0].citation, "石发〔2016〕4号 二(六)");
//! # Ok(())
//! # }
//! ```
//!
//! The main flows:
//! - **Build**: [`Engine::embedded`], [`Engine::builder`] (sources, overlays,
//!   settings, pins: [`EngineBuilder::pin`], [`Lockfile`]), or a
//!   [`PolicySet`] (what the CLI, `fupin serve` and the Python package use).
//!   Errors are [`BuildError`]: diagnostics with file:line:column, or a pin
//!   that does not match.
//! - **Assess**: [`Engine::assess`]; [`Engine::assess_with`] and
//!   [`Engine::assess_json`] reuse a [`Scratch`] per thread; a failure is an
//!   [`EvalError`], a programme whose figure the policies leave to the
//!   deployer says so in its `error`.
//! - **Many households**: [`batch::assess_all`] over a slice, [`batch::run`]
//!   streaming JSON Lines on all cores with one output line per input line.
//! - **Services**: [`SharedEngine`] swaps a new policy set in without a restart.
//! - **Schema**: [`Engine::household_schema`], the JSON Schema of a household
//!   for the loaded policies.
//!
//! Features: `cli` (default; the `fupin` binary: clap, the formatter, the
//! language server), `generated` (default; the shipped policies' generated
//! Rust, attached by [`Engine::embedded`]: the same results, faster), `fmt`
//! (the formatter, `fupin fmt`), `tracing` (spans for build, assess and batch;
//! off by default). A library user takes `default-features = false,
//! features = ["generated"]`. The modules hidden from these docs (the
//! checker, compiler, evaluator, IR) are not part of the API.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// `EvalError` carries the names and citations an analyst needs (a conflict
// names both rules and clauses), so it is large; it is only built on the cold
// error path. Shrinking it (boxing the rare variants' payloads) is left to the
// evaluator's owners, who measure the hot path.
#![allow(clippy::result_large_err)]

// Generated code names this crate `fupin`, inside it as outside
// (`codegen::shipped`).
extern crate self as fupin;

// The API: what a service or a tool built on fupin uses.
pub mod assessment;
pub mod batch;
pub mod codegen;
pub mod diagnostic;
pub mod engine;
pub mod model;
pub mod pin;
pub mod policy;

// The phases behind the engine, public for the `fupin` binary, the generated
// code and the test suite, and not part of the API: hidden from the docs and
// free to change in any release.
#[doc(hidden)]
pub mod check;
#[doc(hidden)]
pub mod compile;
#[doc(hidden)]
pub mod coverage;
#[doc(hidden)]
pub mod diff;
#[doc(hidden)]
pub mod eval;
#[doc(hidden)]
pub mod exec;
#[doc(hidden)]
pub mod ir;
#[doc(hidden)]
pub mod syntax;
#[doc(hidden)]
pub mod testing;
#[doc(hidden)]
pub mod value;

pub use assessment::Assessment;
pub use diagnostic::Diagnostics;
pub use engine::{Engine, EngineBuilder, PolicySet, PolicySetError, SharedEngine};
pub use eval::{EvalError, Scratch, Tier, Tiers};
pub use model::{parse_household, Household, HouseholdError};
pub use pin::{BuildError, Lockfile, Pin};

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
