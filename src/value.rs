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
#[inline]
pub fn to_fen(d: Decimal) -> Decimal {
    // the common cases first, as the steps below make them: a figure in fen
    // already is itself (its trailing zeros taken off and put back), zero
    // is 0.00 (never -0.00)
    if d.is_zero() {
        return Decimal::new(0, 2);
    }
    let scale = d.scale();
    if scale == 2 {
        return d;
    }
    // A mantissa of one word, done on the word. More places than two: the
    // trailing zeros taken off down to two places is what normalising and
    // rescaling make (normalising stops where a digit is not zero; above two
    // places that is the result, at two or below rescaling puts two back).
    // Fewer: normalising leaves the places that are not zero and rescaling
    // makes them two, the mantissa times 10 or 100 (where that is a word).
    if let Ok(mut m) = u64::try_from(d.mantissa().unsigned_abs()) {
        let mut s = scale;
        if s > 2 {
            while s > 2 && m % 10 == 0 {
                m /= 10;
                s -= 1;
            }
        } else if let Some(up) = m.checked_mul(if s == 0 { 100 } else { 10 }) {
            m = up;
            s = 2;
        }
        if s >= 2 {
            // `m` has at most 64 bits: the parts are its two 32-bit halves
            return Decimal::from_parts(m as u32, (m >> 32) as u32, 0, d.is_sign_negative(), s);
        }
    }
    fen_by_definition(d)
}

/// [`to_fen`] as it is defined: the figure without trailing zeros, then
/// with two places where it has fewer.
fn fen_by_definition(d: Decimal) -> Decimal {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_fen_is_its_definition_bit_for_bit() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut checked = 0;
        for i in 0..60_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mantissa: i128 = match i % 6 {
                0 => 0,
                1 => i128::from(x % 100_000),
                // trailing zeros in one word and in two
                4 => i128::from(x % 100_000) * 10i128.pow((x >> 20) as u32 % 24),
                2 => i128::from(x),
                3 => (i128::from(x) << 32) | i128::from(x & 0xffff),
                _ => i128::from(x % 1000) * 10i128.pow(26),
            };
            let mantissa = if x & 1 == 1 { -mantissa } else { mantissa };
            let Ok(d) = Decimal::try_from_i128_with_scale(mantissa, (x >> 8) as u32 % 29) else { continue };
            assert_eq!(to_fen(d).serialize(), fen_by_definition(d).serialize(), "{d:?}");
            checked += 1;
        }
        assert!(checked > 50_000, "{checked}");
        // zeros of both signs at every scale are 0.00
        for scale in 0..=28 {
            let mut zero = Decimal::new(0, scale);
            for _ in 0..2 {
                assert_eq!(to_fen(zero).serialize(), Decimal::new(0, 2).serialize(), "{zero:?}");
                zero.set_sign_negative(true);
            }
        }
    }
}
