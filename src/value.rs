//! Runtime values. All numbers are exact decimals; values are `Copy`.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A runtime value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value {
    /// Bool.
    Bool(bool),
    /// Any number: int, decimal, money, rate, days.
    Num(Decimal),
    /// A date.
    Date(NaiveDate),
    /// An enumeration ordinal.
    Enum(u16),
    /// An assignment symbol (index in the program's symbol table).
    Sym(u32),
    /// The household.
    Household,
    /// A member (index).
    Member(u32),
    /// A claim (member index, claim index).
    Claim(u32, u32),
    /// A loan (index).
    Loan(u32),
    /// Text (index in the program's symbol table).
    Text(u32),
}

impl Value {
    /// Zero.
    pub const ZERO: Value = Value::Num(Decimal::ZERO);
}
