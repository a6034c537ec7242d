//! Reading and validating household JSON.

use super::Household;
use chrono::NaiveDate;

/// A household record that could not be read or is impossible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct HouseholdError {
    /// JSON path of the offending value (`members[2].birth_date`), or empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line in the JSON text, when known.
    pub line: usize,
    /// 1-based column in the JSON text, when known.
    pub column: usize,
}

/// Parse a household from JSON text and validate it (see [`validate`]).
pub fn parse_household(json: &str, as_of: Option<NaiveDate>) -> Result<Household, HouseholdError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let h: Household = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        HouseholdError {
            path: e.path().to_string(),
            message: inner.to_string(),
            line: inner.line(),
            column: inner.column(),
        }
    })?;
    validate(&h, as_of)?;
    Ok(h)
}

/// Reject impossible values.
pub fn validate(_h: &Household, _as_of: Option<NaiveDate>) -> Result<(), HouseholdError> {
    Ok(())
}
