//! fupin (扶贫): an embeddable rules engine for China's targeted poverty-alleviation policies.
#![forbid(unsafe_code)]

pub mod model;
pub mod syntax;
pub mod check;
pub mod diagnostic;
pub mod ir;
pub mod value;
