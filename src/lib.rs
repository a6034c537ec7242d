//! fupin (扶贫): an embeddable rules engine for China's targeted poverty-alleviation policies.
#![forbid(unsafe_code)]

pub mod model;
pub mod syntax;
pub mod check;
pub mod diagnostic;
pub mod ir;
pub mod value;
pub mod compile;
pub mod assessment;
pub mod eval;
pub mod engine;
pub mod policy;

pub use assessment::Assessment;
pub use engine::{Engine, EngineBuilder};
pub use eval::{EvalError, Scratch};
pub use model::Household;
pub mod testing;
