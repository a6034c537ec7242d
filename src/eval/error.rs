//! Evaluation errors: typed, with the location of the expression or rule.

use crate::diagnostic::{Diagnostic, SourceMap};
use crate::ir::Loc;
use crate::model::HouseholdError;

/// Why an assessment failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A [`crate::eval::Scratch`] made for another engine's program.
    #[error("this scratch was made for another engine; make one with `engine.scratch()`")]
    ForeignScratch,
    /// The household record is invalid.
    #[error("invalid household: {0}")]
    Household(#[from] HouseholdError),
    /// A parameter the evaluation needs has no value.
    #[error("parameter `{name}` has no value in force on {date}{}; supply it in an overlay", cite.as_ref().map(|c| format!(" (required by {c})")).unwrap_or_default())]
    MissingParameter {
        /// Name.
        name: String,
        /// The clause that requires it.
        cite: Option<String>,
        /// The policy declaring it.
        policy: String,
        /// Date the value was needed for.
        date: String,
        /// Where it was read.
        loc: Option<Loc>,
    },
    /// Two rules both define an output with neither taking precedence.
    #[error("conflict: rules `{rule_a}` ({cite_a}) and `{rule_b}` ({cite_b}) both define {target}{} and neither takes precedence", subject.as_ref().map(|s| format!(" for {s}")).unwrap_or_default())]
    Conflict {
        /// The output.
        target: String,
        /// The subject (member id, claim …).
        subject: Option<String>,
        /// One rule.
        rule_a: String,
        /// Its citation.
        cite_a: String,
        /// The other rule.
        rule_b: String,
        /// Its citation.
        cite_b: String,
        /// Where the second rule is.
        loc: Option<Loc>,
    },
    /// Decimal overflow.
    #[error("arithmetic overflow")]
    Overflow {
        /// The expression.
        loc: Loc,
    },
    /// A value that is stored or reported (a `let`, a named value, a
    /// parameter, an amount, a pay layer, a tally) has no exact `Decimal`:
    /// its decimal expansion does not end (`x / 3`), or it needs more than
    /// 28 significant digits. Arithmetic is exact; only `round` rounds.
    #[error("{value} {}; round it where the document says, e.g. `round(…, fen, half_up)`", if *repeating { "has no exact decimal value" } else { "needs more than the 28 significant digits a decimal holds" })]
    Inexact {
        /// The exact value (`3000/7 = 428.571428571428…`, or its digits).
        value: String,
        /// Its decimal expansion does not end (else: it has too many digits).
        repeating: bool,
        /// The expression.
        loc: Loc,
    },
    /// Division by zero.
    #[error("division by zero")]
    DivisionByZero {
        /// The expression.
        loc: Loc,
    },
    /// A date outside the representable range, or an invalid date.
    #[error("date out of range")]
    DateOutOfRange {
        /// The expression.
        loc: Loc,
    },
    /// An optional field read where the household has no value.
    #[error("`{field}` is not recorded{}", subject.as_ref().map(|s| format!(" for {s}")).unwrap_or_default())]
    Absent {
        /// Field name.
        field: String,
        /// Which member/claim/loan.
        subject: Option<String>,
        /// The expression.
        loc: Loc,
    },
    /// Claim layers pay more than the claim cost, or a layer is negative.
    #[error("{claim}: {message}")]
    Layers {
        /// Claim description (`claim c1 of member m2`).
        claim: String,
        /// What is wrong.
        message: String,
    },
    /// Bands out of order, or other invalid runtime data for a construct.
    #[error("{message}")]
    Invalid {
        /// What.
        message: String,
        /// The expression.
        loc: Loc,
    },
    /// The evaluation exceeded its step budget.
    #[error("evaluation exceeded its budget of {limit} steps")]
    Budget {
        /// The limit.
        limit: u64,
    },
}

impl EvalError {
    /// The source location, if the error has one.
    pub fn loc(&self) -> Option<Loc> {
        match self {
            EvalError::MissingParameter { loc, .. } | EvalError::Conflict { loc, .. } => *loc,
            EvalError::Overflow { loc }
            | EvalError::DivisionByZero { loc }
            | EvalError::Inexact { loc, .. }
            | EvalError::DateOutOfRange { loc }
            | EvalError::Absent { loc, .. }
            | EvalError::Invalid { loc, .. } => Some(*loc),
            _ => None,
        }
    }

    /// As a renderable diagnostic (with the policy source line when there is one).
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic::error(self.to_string(), self.loc())
    }

    /// Render with source context.
    pub fn render(&self, sources: &SourceMap) -> String {
        self.to_diagnostic().render(sources)
    }
}
