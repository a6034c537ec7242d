//! fupin (扶贫): an embeddable rules engine for China's targeted poverty-alleviation policies.
#![forbid(unsafe_code)]

pub mod assessment;
pub mod batch;
pub mod check;
pub mod compile;
pub mod diagnostic;
pub mod engine;
pub mod eval;
pub mod ir;
pub mod model;
pub mod policy;
pub mod syntax;
pub mod value;

pub use assessment::Assessment;
pub use engine::{Engine, EngineBuilder};
pub use eval::{EvalError, Scratch};
pub use model::Household;
pub mod testing;
