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

/// Money as fupin reports it: to the fen (`3000.00`, `7200.50`), with more
/// places only when the exact figure has them (a policy that does not round
/// to the fen gets its exact figure, never a rounded one). The value is
/// unchanged; only its scale is.
pub fn to_fen(d: Decimal) -> Decimal {
    let n = d.normalize();
    if n.scale() >= 2 {
        return n;
    }
    let mut r = n;
    r.rescale(2);
    // a figure too large for two more places keeps the places it has
    if r == n {
        r
    } else {
        n
    }
}

/// A number other than money as fupin reports it: without trailing zeros
/// (`0.7`, `3`, `18000`).
pub fn normalized(d: Decimal) -> Decimal {
    d.normalize()
}
