//! A service's own request type: a reading is a number or a text, decoded
//! untagged, next to fupin in the same build.

use serde::Deserialize;

/// A sensor reading as a service receives it.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Reading {
    /// A measurement.
    Number(f64),
    /// A note.
    Text(String),
}

/// A request holding readings beside other fields, flattened.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Request {
    /// Who sent it.
    pub from: String,
    /// The readings and their names.
    #[serde(flatten)]
    pub readings: std::collections::BTreeMap<String, Reading>,
}
