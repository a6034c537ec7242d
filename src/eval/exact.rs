//! Exact arithmetic.
//!
//! Arithmetic in the policy language is exact. The fast path is `Decimal`
//! arithmetic with an exactness check (`rust_decimal` rounds silently: a sum
//! whose mantissa overflows 96 bits loses scale, a product with more than 28
//! decimals is rounded, a quotient is rounded to 28 digits); when the check
//! fails, the expression is evaluated again over exact rationals [`Q`], and a
//! value that is stored or reported is converted back to a `Decimal` only if
//! it is one exactly — otherwise [`EvalError::Inexact`].

use super::EvalError;
use crate::ir::{ArithOp, Loc};
use crate::syntax::ast::RoundMode;
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// An exact rational: numerator and a positive denominator, in lowest terms.
/// Both stay within `i128` (overflow is an error, never a rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Q {
    n: i128,
    d: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    // on magnitudes; neither is i128::MIN (the constructors rule it out)
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

const POW10: [i128; 29] = {
    let mut t = [1i128; 29];
    let mut i = 1;
    while i < 29 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

impl Q {
    /// `n / d`, reduced; `None` if `d` is zero or a part is `i128::MIN`.
    pub(crate) fn new(n: i128, d: i128) -> Option<Q> {
        if d == 0 || n == i128::MIN || d == i128::MIN {
            return None;
        }
        let g = gcd(n, d);
        let (mut n, mut d) = if g > 1 { (n / g, d / g) } else { (n, d) };
        if d < 0 {
            n = -n;
            d = -d;
        }
        Some(Q { n, d })
    }

    /// The exact value of a decimal (always representable: mantissa < 2^96, scale ≤ 28).
    pub(crate) fn from_decimal(x: Decimal) -> Q {
        let s = x.scale() as usize;
        Q::new(x.mantissa(), POW10[s.min(28)]).unwrap_or(Q { n: 0, d: 1 })
    }

    pub(crate) fn from_int(i: i64) -> Q {
        Q { n: i as i128, d: 1 }
    }

    pub(crate) fn is_zero(self) -> bool {
        self.n == 0
    }

    pub(crate) fn neg(self) -> Option<Q> {
        Some(Q { n: self.n.checked_neg()?, d: self.d })
    }

    pub(crate) fn abs(self) -> Option<Q> {
        if self.n < 0 {
            self.neg()
        } else {
            Some(self)
        }
    }

    pub(crate) fn add(self, o: Q) -> Option<Q> {
        let g = gcd(self.d, o.d);
        let (a, b) = (self.d / g, o.d / g);
        let n = self.n.checked_mul(b)?.checked_add(o.n.checked_mul(a)?)?;
        Q::new(n, self.d.checked_mul(b)?)
    }

    pub(crate) fn sub(self, o: Q) -> Option<Q> {
        self.add(o.neg()?)
    }

    pub(crate) fn mul(self, o: Q) -> Option<Q> {
        // cross-reduce first so the products stay small
        let g1 = gcd(self.n, o.d).max(1);
        let g2 = gcd(o.n, self.d).max(1);
        let n = (self.n / g1).checked_mul(o.n / g2)?;
        let d = (self.d / g2).checked_mul(o.d / g1)?;
        Q::new(n, d)
    }

    /// `None` on overflow; the caller rules out a zero divisor.
    pub(crate) fn div(self, o: Q) -> Option<Q> {
        if o.n == 0 {
            return None;
        }
        self.mul(Q::new(o.d, o.n)?)
    }

    /// The exact `Decimal` with this value, if there is one.
    pub(crate) fn to_decimal(self) -> Result<Decimal, NotDecimal> {
        // the denominator must be 2^a · 5^b
        let mut d = self.d;
        let (mut twos, mut fives) = (0u32, 0u32);
        while d % 2 == 0 {
            d /= 2;
            twos += 1;
        }
        while d % 5 == 0 {
            d /= 5;
            fives += 1;
        }
        if d != 1 {
            return Err(NotDecimal::Repeating);
        }
        let scale = twos.max(fives);
        if scale > 28 {
            return Err(NotDecimal::TooManyDigits);
        }
        let m = self.n.checked_mul(POW10[scale as usize] / self.d).ok_or(NotDecimal::TooManyDigits)?;
        Decimal::try_from_i128_with_scale(m, scale).map_err(|_| NotDecimal::TooManyDigits)
    }

    /// Round to `dp` decimals. A value that already has at most `dp`
    /// decimals keeps its own scale (as `Decimal::round_dp` does).
    pub(crate) fn round(self, dp: u32, mode: RoundMode) -> Option<Decimal> {
        if let Ok(x) = self.to_decimal() {
            if x.scale() <= dp {
                return Some(x);
            }
        }
        let x = self.n.checked_mul(POW10[dp.min(28) as usize])?;
        let (q, r) = (x / self.d, x % self.d);
        let away = match mode {
            RoundMode::Down => false,
            RoundMode::Up => r != 0,
            // exactly half or more, away from zero
            RoundMode::HalfUp => r.abs() >= self.d - r.abs(),
        };
        let q = if away { q.checked_add(x.signum())? } else { q };
        Decimal::try_from_i128_with_scale(q, dp).ok()
    }

    /// How the value reads in an error: `n/d (≈ 0.33333…)`, or the decimal digits.
    pub(crate) fn describe(self) -> String {
        if self.d == 1 {
            return self.n.to_string();
        }
        let int = self.n / self.d;
        let mut rem = (self.n % self.d).abs();
        let mut digits = String::new();
        let mut finite = false;
        for _ in 0..40 {
            if rem == 0 {
                finite = true;
                break;
            }
            // rem < d; rem * 10 may overflow for huge denominators: stop there
            let Some(r10) = rem.checked_mul(10) else { break };
            digits.push(char::from(b'0' + (r10 / self.d) as u8));
            rem = r10 % self.d;
        }
        let sign = if self.n < 0 && int == 0 { "-" } else { "" };
        if finite {
            format!("{sign}{int}.{digits}")
        } else {
            let short: String = digits.chars().take(12).collect();
            format!("{}/{} = {sign}{int}.{short}…", self.n, self.d)
        }
    }
}

impl PartialOrd for Q {
    fn partial_cmp(&self, o: &Q) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Q {
    /// Compares without multiplying out (no overflow): integer parts, then
    /// the reciprocals of the fractional parts.
    fn cmp(&self, o: &Q) -> Ordering {
        let (mut a, mut b, mut c, mut d) = (self.n, self.d, o.n, o.d);
        let mut flip = false;
        loop {
            let (qa, ra) = (a.div_euclid(b), a.rem_euclid(b));
            let (qc, rc) = (c.div_euclid(d), c.rem_euclid(d));
            let ord = match qa.cmp(&qc) {
                Ordering::Equal => match (ra == 0, rc == 0) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => {
                        // ra/b < rc/d  ⇔  b/ra > d/rc
                        (a, b, c, d) = (b, ra, d, rc);
                        flip = !flip;
                        continue;
                    }
                },
                o => o,
            };
            return if flip { ord.reverse() } else { ord };
        }
    }
}

/// Why a rational is not a `Decimal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotDecimal {
    /// Its decimal expansion does not end (1/3).
    Repeating,
    /// It ends, but after more than 28 significant digits or decimals.
    TooManyDigits,
}

/// The `Decimal` of `q`, or the typed error for a value that must be stored.
#[allow(clippy::result_large_err)]
pub(crate) fn to_decimal(q: Q, loc: Loc) -> Result<Decimal, EvalError> {
    // beyond the range of `Decimal` altogether: an overflow
    let max = Q::from_decimal(Decimal::MAX);
    if q.abs().is_none_or(|a| a > max) {
        return Err(EvalError::Overflow { loc });
    }
    q.to_decimal().map_err(|why| EvalError::Inexact { value: q.describe(), repeating: why == NotDecimal::Repeating, loc })
}

/// Exact rational arithmetic; overflow of the rational and a zero divisor are typed errors.
#[allow(clippy::result_large_err, clippy::unnecessary_lazy_evaluations)]
pub(crate) fn q_arith(op: ArithOp, x: Q, y: Q, loc: Loc) -> Result<Q, EvalError> {
    let r = match op {
        ArithOp::Add => x.add(y),
        ArithOp::Sub => x.sub(y),
        ArithOp::Mul => x.mul(y),
        ArithOp::Div => {
            if y.is_zero() {
                return Err(EvalError::DivisionByZero { loc });
            }
            x.div(y)
        }
    };
    r.ok_or_else(|| EvalError::Overflow { loc })
}

// Sums, differences, products and comparisons of two decimals whose
// scales are close are computed here on their mantissas as `i128` (no
// call into `rust_decimal`'s general code, no rescaling loop): exactly, or
// `None` where the result needs more than 96 bits. The property tests at
// the end of this file check each against exact rationals and against
// `Decimal`'s own result wherever that one is exact, bit for bit.

/// Both mantissas at the larger scale, when the smaller needs at most
/// 10^9 to reach it (a 96-bit mantissa times 10^9 fits `i128`).
#[inline(always)]
fn aligned(x: Decimal, y: Decimal) -> Option<(i128, i128)> {
    let (sx, sy) = (x.scale(), y.scale());
    let (mx, my) = (x.mantissa(), y.mantissa());
    if sx == sy {
        Some((mx, my))
    } else if sx < sy {
        (sy - sx <= 9).then(|| (mx * POW10[(sy - sx) as usize], my))
    } else {
        (sx - sy <= 9).then(|| (mx, my * POW10[(sx - sy) as usize]))
    }
}

/// The decimal `m × 10^-scale`, if its mantissa fits 96 bits (a zero is `+0`).
#[inline(always)]
fn from_mantissa(m: i128, scale: u32) -> Option<Decimal> {
    const LIMIT: u128 = 1 << 96;
    let a = m.unsigned_abs();
    (a < LIMIT).then(|| Decimal::from_parts(a as u32, (a >> 32) as u32, (a >> 64) as u32, m < 0, scale))
}

/// A decimal's scale, sign and low 64 bits of mantissa, if the high 32
/// bits are zero (the common case: amounts of money and rates).
#[inline(always)]
fn narrow(x: Decimal) -> Option<(u32, bool, u64)> {
    let b = x.serialize();
    let flags = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let lo = u64::from_le_bytes([b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11]]);
    let hi = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
    (hi == 0).then_some(((flags >> 16) & 0xff, flags >> 31 != 0, lo))
}

/// 10^0 … 10^18.
const POW10_18: [u64; 19] = {
    let mut t = [1u64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// 10^0 … 10^9.
const POW10_9: [u64; 10] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// Both mantissas, signed, at the larger scale, and that scale, when both
/// fit 64 bits and the smaller scale needs at most 10^9 to reach the larger
/// (each then below 2^94: one widening multiplication each).
#[inline(always)]
fn aligned_narrow(x: Decimal, y: Decimal) -> Option<(i128, i128, u32)> {
    let ((sx, nx, mx), (sy, ny, my)) = (narrow(x)?, narrow(y)?);
    let (ax, ay, s) = if sx == sy {
        (mx as u128, my as u128, sx)
    } else if sx < sy {
        let p = *POW10_9.get((sy - sx) as usize)?;
        (mx as u128 * p as u128, my as u128, sy)
    } else {
        let p = *POW10_9.get((sx - sy) as usize)?;
        (mx as u128, my as u128 * p as u128, sx)
    };
    let signed = |a: u128, neg: bool| if neg { -(a as i128) } else { a as i128 };
    Some((signed(ax, nx), signed(ay, ny), s))
}

/// `x + y`, exactly, at the larger of the two scales; `None` when that
/// needs more than 96 bits of mantissa (the caller goes exact over
/// rationals, or reports the error). A zero added keeps the larger scale
/// too (`5 + 0.00` is `5.00`, as `5 + 0.01` is `5.01`; `rust_decimal`
/// returns the other operand unchanged), and a zero sum is `+0`.
#[inline]
pub(crate) fn add(x: Decimal, y: Decimal) -> Option<Decimal> {
    // a total from zero (a programme's, a tally's, a sum's first term):
    // `y` itself, which is at the larger scale
    if x.is_zero() && !y.is_zero() && x.scale() <= y.scale() {
        return Some(y);
    }
    if let Some((a, b, s)) = aligned_narrow(x, y) {
        return from_mantissa(a + b, s);
    }
    match aligned(x, y) {
        // each below 2^126, so the sum fits `i128`
        Some((a, b)) => from_mantissa(a + b, x.scale().max(y.scale())),
        None => wide_sum(x, y),
    }
}

/// `x − y`, exactly (as [`add`]).
#[inline]
pub(crate) fn sub(x: Decimal, y: Decimal) -> Option<Decimal> {
    if let Some((a, b, s)) = aligned_narrow(x, y) {
        return from_mantissa(a - b, s);
    }
    match aligned(x, y) {
        Some((a, b)) => from_mantissa(a - b, x.scale().max(y.scale())),
        None => wide_sum(x, -y),
    }
}

/// [`add`] of two decimals whose scales are more than 9 apart: the sum at
/// the larger scale, if that is exact.
#[cold]
fn wide_sum(x: Decimal, y: Decimal) -> Option<Decimal> {
    let s = x.scale().max(y.scale());
    let mut r = match (x.is_zero(), y.is_zero()) {
        (true, true) => return Some(Decimal::from_parts(0, 0, 0, false, s)),
        (true, false) => y,
        (false, true) => x,
        (false, false) => {
            // a rounded sum has lost scale (the mantissa overflowed and was divided down)
            let r = x.checked_add(y)?;
            return match r.scale() >= s {
                true if r.is_zero() => Some(Decimal::from_parts(0, 0, 0, false, s)),
                exact => exact.then_some(r),
            };
        }
    };
    // a zero's partner taken to the larger scale (exactly, or not at all)
    r.rescale(s);
    (r.scale() == s).then_some(r)
}

/// `x × y` if exact: the product of the mantissas at the sum of the scales,
/// which `rust_decimal` keeps unless it must round (a zero product is `0`,
/// as `rust_decimal` gives it).
#[inline]
pub(crate) fn mul(x: Decimal, y: Decimal) -> Option<Decimal> {
    if let (Some((sx, nx, a)), Some((sy, ny, b))) = (narrow(x), narrow(y)) {
        // two 64-bit magnitudes: the product fits `u128`
        let m = a as u128 * b as u128;
        if m == 0 {
            return Some(Decimal::ZERO);
        }
        let s = sx + sy;
        return (s <= 28 && m >> 96 == 0).then(|| Decimal::from_parts(m as u32, (m >> 32) as u32, (m >> 64) as u32, nx != ny, s));
    }
    if x.is_zero() || y.is_zero() {
        return Some(Decimal::ZERO);
    }
    let s = x.scale() + y.scale();
    if s > 28 {
        return None;
    }
    let r = x.checked_mul(y)?;
    (r.scale() == s).then_some(r)
}

/// `x` against `y`, as `Decimal`'s `Ord` orders them (zeros of either sign
/// are equal), without its general rescaling when the scales are close.
#[inline]
pub(crate) fn cmp(x: Decimal, y: Decimal) -> Ordering {
    if let Some((a, b, _)) = aligned_narrow(x, y) {
        return a.cmp(&b);
    }
    match aligned(x, y) {
        Some((a, b)) => a.cmp(&b),
        None => x.cmp(&y),
    }
}

/// `x.min(y)`: `y` if `x > y`, else `x` (`Decimal::min`'s choice on a tie).
#[inline]
pub(crate) fn min(x: Decimal, y: Decimal) -> Decimal {
    if cmp(x, y) == Ordering::Greater {
        y
    } else {
        x
    }
}

/// `x.max(y)`: `y` if `x < y`, else `x` (`Decimal::max`'s choice on a tie).
#[inline]
pub(crate) fn max(x: Decimal, y: Decimal) -> Decimal {
    if cmp(x, y) == Ordering::Less {
        y
    } else {
        x
    }
}

/// `x ÷ y` if exact: the quotient times the divisor is the dividend, exactly.
#[inline]
pub(crate) fn div(x: Decimal, y: Decimal) -> Option<Decimal> {
    let r = x.checked_div(y)?;
    (mul(r, y)? == x).then_some(r)
}

/// The fast path: `Ok(Some(r))` exact, `Ok(None)` when `Decimal` cannot give
/// the exact value (the caller goes exact), `Err` for a zero divisor.
#[inline]
#[allow(clippy::result_large_err)]
pub(crate) fn fast(op: ArithOp, x: Decimal, y: Decimal, loc: Loc) -> Result<Option<Decimal>, EvalError> {
    Ok(match op {
        ArithOp::Add => add(x, y),
        ArithOp::Sub => sub(x, y),
        ArithOp::Mul => mul(x, y),
        ArithOp::Div => {
            if y.is_zero() {
                return Err(EvalError::DivisionByZero { loc });
            }
            div(x, y)
        }
    })
}

/// A decimal as its signed mantissa and scale, for a chain of exact
/// operations that takes each intermediate apart only once. Each operation
/// gives what [`add`], [`sub`], [`mul`] and [`cmp`] give for the same
/// operands, bit for bit, or `None` where this form cannot tell (an
/// alignment or product beyond `i128`): the caller then computes the chain
/// on `Decimal`s. A value is always below 2^96 in magnitude, at a scale of
/// at most 28: a `Decimal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fx {
    m: i128,
    s: u32,
}

impl Fx {
    const LIMIT: u128 = 1 << 96;

    #[inline(always)]
    fn of(d: Decimal) -> Fx {
        Fx { m: d.mantissa(), s: d.scale() }
    }

    #[inline(always)]
    fn decimal(self) -> Option<Decimal> {
        from_mantissa(self.m, self.s)
    }

    /// `m × 10^k`, if it fits `i128` (one widening multiplication when
    /// `m` fits 64 bits and `k` ≤ 18).
    #[inline(always)]
    fn scaled(m: i128, k: u32) -> Option<i128> {
        let a = m.unsigned_abs();
        if let (Some(&p), 0) = (POW10_18.get(k as usize), a >> 64) {
            // below 2^64 × 10^18 < 2^124
            let a = (a as u64 as u128 * p as u128) as i128;
            return Some(if m < 0 { -a } else { a });
        }
        m.checked_mul(*POW10.get(k as usize)?)
    }

    /// Both mantissas at the larger scale, and that scale.
    #[inline(always)]
    fn aligned(self, o: Fx) -> Option<(i128, i128, u32)> {
        match self.s.cmp(&o.s) {
            Ordering::Equal => Some((self.m, o.m, self.s)),
            Ordering::Less => Some((Fx::scaled(self.m, o.s - self.s)?, o.m, o.s)),
            Ordering::Greater => Some((self.m, Fx::scaled(o.m, self.s - o.s)?, self.s)),
        }
    }

    #[inline(always)]
    fn within(m: i128, s: u32) -> Option<Fx> {
        (m.unsigned_abs() < Fx::LIMIT).then_some(Fx { m, s })
    }

    /// [`add`]: at the larger scale, refused beyond 96 bits.
    #[inline(always)]
    fn add(self, o: Fx) -> Option<Fx> {
        let (a, b, s) = self.aligned(o)?;
        Fx::within(a + b, s)
    }

    /// [`sub`].
    #[inline(always)]
    fn sub(self, o: Fx) -> Option<Fx> {
        let (a, b, s) = self.aligned(o)?;
        Fx::within(a - b, s)
    }

    /// [`mul`]: at the sum of the scales (at most 28), a zero product `0`.
    #[inline(always)]
    fn mul(self, o: Fx) -> Option<Fx> {
        let (a, b) = (self.m.unsigned_abs(), o.m.unsigned_abs());
        let m = if (a | b) >> 64 == 0 { a * b } else { a.checked_mul(b)? };
        if m == 0 {
            return Some(Fx { m: 0, s: 0 });
        }
        let s = self.s + o.s;
        if s > 28 || m >= Fx::LIMIT {
            return None;
        }
        let m = m as i128;
        Some(Fx { m: if (self.m < 0) != (o.m < 0) { -m } else { m }, s })
    }

    /// [`cmp`].
    #[inline(always)]
    fn cmp(self, o: Fx) -> Option<Ordering> {
        let (a, b, _) = self.aligned(o)?;
        Some(a.cmp(&b))
    }
}

/// A claim's layers paid (the sum of `paid`, the zeros left out, from `0`,
/// as [`add`] sums them one by one) and what is left of `total` after
/// them, on the mantissas: `None` when this form cannot tell, or the
/// layers pay more than `total` (the caller then settles step by step,
/// and reports what is wrong).
#[inline]
pub(crate) fn paid_and_rest(total: Decimal, paid: impl Iterator<Item = Decimal>) -> Option<(Decimal, Decimal)> {
    let mut sum = Fx { m: 0, s: 0 };
    for v in paid.filter(|v| !v.is_zero()) {
        sum = sum.add(Fx::of(v))?;
    }
    let total = Fx::of(total);
    if sum.cmp(total)? == Ordering::Greater {
        return None;
    }
    Some((sum.decimal()?, total.sub(sum)?.decimal()?))
}

/// `banded(x, lo₀ at rate₀, lo₁ at rate₁, …)` as the lowered code computes
/// it band by band (`Ev::band`: a band's part `(min(x, next lo) − lo) ×
/// rate` added to the total, from `0`, until a band starts at or above
/// `x`), on the mantissas: the same `Decimal`, bit for bit, or `None` when
/// it must be computed band by band (an operation beyond this form, or a
/// band below its predecessor, where the band-by-band computation stops).
#[inline]
pub(crate) fn banded(x: Decimal, bands: &[(Decimal, Decimal)]) -> Option<Decimal> {
    let x = Fx::of(x);
    let mut total = Fx { m: 0, s: 0 };
    let mut next = bands.first().map(|b| Fx::of(b.0));
    for (i, &(_, rate)) in bands.iter().enumerate() {
        let Some(lo) = next else { break };
        next = bands.get(i + 1).map(|b| Fx::of(b.0));
        if let Some(hi) = next {
            if hi.cmp(lo)? == Ordering::Less {
                return None;
            }
        }
        if x.cmp(lo)? != Ordering::Greater {
            break;
        }
        let top = match next {
            Some(hi) if x.cmp(hi)? == Ordering::Greater => hi,
            _ => x,
        };
        total = total.add(top.sub(lo)?.mul(Fx::of(rate))?)?;
    }
    total.decimal()
}

/// A band of `banded` whose bound and rate are constants (the lowered
/// code's `Num::BandedK`, the generated code's static bands): the
/// decimals, and their mantissas taken apart once, when the code is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// Where the band starts.
    pub(crate) lo: Decimal,
    /// The rate of the band.
    pub(crate) rate: Decimal,
    lo_fx: Fx,
    rate_fx: Fx,
}

impl Band {
    /// The band from `lo` at `rate`.
    pub const fn new(lo: Decimal, rate: Decimal) -> Band {
        Band { lo, rate, lo_fx: Fx { m: lo.mantissa(), s: lo.scale() }, rate_fx: Fx { m: rate.mantissa(), s: rate.scale() } }
    }
}

/// [`banded`] over constant bands, ascending (the lowering's check): the
/// same `Decimal`, bit for bit, or `None` where it must be computed band
/// by band. A band's top is the next band's bottom, so `x` above the top
/// is `x` above the next bottom, compared once.
#[inline]
pub(crate) fn banded_k(x: Decimal, bands: &[Band]) -> Option<Decimal> {
    let x = Fx::of(x);
    let mut total = Fx { m: 0, s: 0 };
    let mut above = match bands.first() {
        Some(b) => x.cmp(b.lo_fx)? == Ordering::Greater,
        None => false,
    };
    for (i, b) in bands.iter().enumerate() {
        if !above {
            break;
        }
        let top = match bands.get(i + 1) {
            Some(h) => {
                above = x.cmp(h.lo_fx)? == Ordering::Greater;
                if above {
                    h.lo_fx
                } else {
                    x
                }
            }
            None => {
                above = false;
                x
            }
        };
        total = total.add(top.sub(b.lo_fx)?.mul(b.rate_fx)?)?;
    }
    total.decimal()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOC: Loc = Loc { file: 0, span: crate::syntax::ast::Span { start: 0, end: 0 } };

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn q(n: i128, den: i128) -> Q {
        Q::new(n, den).expect("q")
    }

    #[test]
    fn rust_decimal_rounds_silently_and_the_checks_see_it() {
        // the behaviour the fast-path checks rely on
        let big = Decimal::MAX - Decimal::ONE;
        let r = big.checked_add(d("0.4")).expect("rounds, does not fail");
        assert_eq!(r, big, "rust_decimal rounds the sum");
        assert!(r.scale() < 1);
        assert_eq!(add(big, d("0.4")), None);
        assert_eq!(add(d("1.25"), d("2.75")), Some(d("4.00")));
        assert_eq!(sub(d("0.1"), d("0.3")), Some(d("-0.2")));
        // a product with more than 28 decimals is rounded
        let x = d("0.0000000000000001");
        assert_eq!(x.checked_mul(x).map(|r| r.scale()), Some(28));
        assert_eq!(mul(x, x), None);
        assert_eq!(mul(d("1.5"), d("0.25")), Some(d("0.375")));
        assert_eq!(mul(d("1.5"), d("0.25")).map(|r| r.scale()), Some(3));
        // a product whose mantissa overflows is scaled down
        let m = d("79228162514264.337593543950335");
        assert_eq!(mul(m, d("1000000000000.1")), None);
        // quotients
        assert_eq!(div(d("1"), d("3")), None);
        assert_eq!(div(d("1"), d("8")), Some(d("0.125")));
        assert_eq!(div(d("3000.03"), d("6000")), Some(d("0.500005")));
        assert_eq!(fast(ArithOp::Div, d("1"), Decimal::ZERO, LOC).map(|_| ()), Err(EvalError::DivisionByZero { loc: LOC }));
    }

    #[test]
    fn rationals() {
        assert_eq!(q(2, -4), q(-1, 2));
        assert_eq!(Q::from_decimal(d("0.50")), q(1, 2));
        assert_eq!(q(1, 3).add(q(1, 6)), Some(q(1, 2)));
        assert_eq!(q(1, 3).mul(q(3, 1)), Some(q(1, 1)));
        assert_eq!(q(1, 3).div(q(2, 3)), Some(q(1, 2)));
        assert_eq!(q(1, 3).div(q(0, 1)), None);
        assert_eq!(q(i128::MAX, 1).add(q(1, 1)), None);
        assert_eq!(Q::new(i128::MIN, 1), None);
        // 3000.03 × 5/6 = 2500.025
        let left = Q::from_decimal(d("3000.03")).mul(q(5000, 6000)).expect("q");
        assert_eq!(left.to_decimal(), Ok(d("2500.025")));
        assert_eq!(left.round(2, RoundMode::HalfUp), Some(d("2500.03")));
        assert_eq!(left.round(2, RoundMode::Down), Some(d("2500.02")));
    }

    #[test]
    fn conversion_back_to_decimal() {
        assert_eq!(q(1, 3).to_decimal(), Err(NotDecimal::Repeating));
        assert_eq!(q(1, 8).to_decimal(), Ok(d("0.125")));
        assert_eq!(q(-7, 20).to_decimal(), Ok(d("-0.35")));
        // 2^-29 needs 29 decimals
        assert_eq!(q(1, 1 << 29).to_decimal(), Err(NotDecimal::TooManyDigits));
        // (2^96 − 2) + 0.4 needs 30 digits
        let x = Q::from_decimal(Decimal::MAX - Decimal::ONE).add(q(2, 5)).expect("q");
        assert_eq!(x.to_decimal(), Err(NotDecimal::TooManyDigits));
        assert_eq!(x.describe(), "79228162514264337593543950334.4");
        assert_eq!(q(3000, 7).describe(), "3000/7 = 428.571428571428…");
        assert_eq!(q(-1, 3).describe(), "-1/3 = -0.333333333333…");
        assert_eq!(Q::from_decimal(Decimal::MAX).to_decimal(), Ok(Decimal::MAX));
        assert_eq!(Q::from_decimal(Decimal::MIN).to_decimal(), Ok(Decimal::MIN));
        let tiny = d("0.0000000000000000000000000001");
        assert_eq!(Q::from_decimal(tiny).to_decimal(), Ok(tiny));
    }

    #[test]
    fn rounding_modes() {
        use RoundMode::*;
        for (n, den, dp, mode, want) in [
            (10, 3, 2, HalfUp, "3.33"),
            (20, 3, 2, HalfUp, "6.67"),
            (1, 8, 2, HalfUp, "0.13"),
            (-1, 8, 2, HalfUp, "-0.13"),
            (1, 8, 2, Down, "0.12"),
            (-1, 8, 2, Down, "-0.12"),
            (1, 300, 2, Up, "0.01"),
            (-1, 300, 2, Up, "-0.01"),
            (5, 2, 0, HalfUp, "3"),
            (-5, 2, 0, HalfUp, "-3"),
            (7, 3, 1, Down, "2.3"),
            (1, 2, 2, HalfUp, "0.5"),
        ] {
            assert_eq!(q(n, den).round(dp, mode), Some(d(want)), "{n}/{den} to {dp} {mode:?}");
        }
    }

    #[test]
    fn comparison_never_overflows() {
        assert!(q(1, 3) < q(1, 2));
        assert!(q(-1, 3) > q(-1, 2));
        assert!(q(-1, 3) < q(0, 1));
        assert_eq!(q(2, 6).cmp(&q(1, 3)), Ordering::Equal);
        let a = q(i128::MAX, i128::MAX - 1);
        let b = q(i128::MAX - 1, i128::MAX - 2);
        // (M)/(M−1) = 1 + 1/(M−1) < 1 + 1/(M−2)
        assert!(a < b);
        assert!(q(i128::MAX, 3) > q(i128::MAX - 1, 3));
        assert!(Q::from_decimal(d("0.3333333333333333333333333333")) < q(1, 3));
        assert!(Q::from_decimal(d("0.3333333333333333333333333334")) > q(1, 3));
        assert_eq!(Q::from_int(3), q(3, 1));
    }

    /// Decimals of every size: small, 32-, 64- and 96-bit mantissas, the
    /// largest ones, zeros of either sign, at scales 0 to 28.
    fn decimal() -> impl proptest::strategy::Strategy<Value = Decimal> {
        use proptest::prelude::*;
        let mantissa =
            prop_oneof![Just(0u128), 1u128..1000, 1u128..(1 << 32), 1u128..(1 << 64), 1u128..(1 << 96), ((1u128 << 96) - 1000)..(1 << 96),];
        (mantissa, any::<bool>(), 0u32..=28)
            .prop_map(|(m, neg, scale)| Decimal::from_parts(m as u32, (m >> 32) as u32, (m >> 64) as u32, neg, scale))
    }

    /// What [`add`] must be: the exact sum, at the larger scale, `+0` for zero.
    fn sum_by_definition(x: Decimal, y: Decimal) -> Option<Decimal> {
        let q = Q::from_decimal(x).add(Q::from_decimal(y))?;
        at_scale(q, x.scale().max(y.scale()))
    }

    /// The exact decimal `q` at `scale`, if it is one there.
    fn at_scale(q: Q, scale: u32) -> Option<Decimal> {
        if scale > 28 {
            return None;
        }
        let p = POW10[scale as usize];
        let m = if p % q.d == 0 { q.n.checked_mul(p / q.d)? } else { return None };
        Decimal::try_from_i128_with_scale(m, scale).ok()
    }

    #[test]
    fn a_zero_added_keeps_the_larger_scale() {
        assert_eq!(add(d("5"), d("0.00")).map(|r| r.to_string()), Some("5.00".into()));
        assert_eq!(add(d("0.00"), d("5")).map(|r| r.to_string()), Some("5.00".into()));
        assert_eq!(sub(d("5"), d("0.00")).map(|r| r.to_string()), Some("5.00".into()));
        assert_eq!(sub(d("0"), d("5.0")).map(|r| r.to_string()), Some("-5.0".into()));
        assert_eq!(sub(d("-1.5"), d("-1.50")).map(|r| r.serialize()), Some(d("0.00").serialize()), "+0");
        let tiny = d("0.0000000000000000000000000001");
        assert_eq!(add(d("5"), tiny - tiny).map(|r| r.scale()), Some(28));
        // a zero cannot take the largest mantissa to 28 places: not exact there
        assert_eq!(add(Decimal::MAX, tiny - tiny), None);
        assert_eq!(mul(d("0.00"), d("-3.5")).map(|r| r.serialize()), Some(Decimal::ZERO.serialize()));
    }

    /// `banded` band by band with the exact operations, as `Ev::band` does
    /// it (`None` where the lowered code traps).
    fn banded_by_definition(x: Decimal, bands: &[(Decimal, Decimal)]) -> Option<Decimal> {
        let mut total = Decimal::ZERO;
        for (i, &(lo, rate)) in bands.iter().enumerate() {
            let hi = bands.get(i + 1).map(|b| b.0);
            if hi.is_some_and(|h| cmp(h, lo) == Ordering::Less) {
                return None;
            }
            if cmp(x, lo) != Ordering::Greater {
                break;
            }
            let top = match hi {
                Some(h) if cmp(x, h) == Ordering::Greater => h,
                _ => x,
            };
            total = add(total, mul(sub(top, lo)?, rate)?)?;
        }
        Some(total)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

        #[test]
        fn sums_and_products_are_their_definitions(x in decimal(), y in decimal(), k in 0u32..=12, zero in 0u8..4) {
            // also operands whose scales are close, and zeros of every scale
            let y2 = Decimal::from_parts(y.mantissa().unsigned_abs() as u32, 0, 0, y.is_sign_negative(), (x.scale() + k).min(28));
            let z = Decimal::from_parts(0, 0, 0, zero == 1, (x.scale() + k).min(28));
            for y in [y, y2, z] {
                proptest::prop_assert_eq!(add(x, y).map(|r| r.serialize()), sum_by_definition(x, y).map(|r| r.serialize()), "{} + {}", x, y);
                proptest::prop_assert_eq!(add(y, x).map(|r| r.serialize()), sum_by_definition(y, x).map(|r| r.serialize()), "{} + {}", y, x);
                proptest::prop_assert_eq!(sub(x, y).map(|r| r.serialize()), sum_by_definition(x, -y).map(|r| r.serialize()), "{} - {}", x, y);
                // the product: `Decimal`'s own where that one is exact
                let by_rust_decimal = x.checked_mul(y).filter(|r| x.is_zero() || y.is_zero() || r.scale() == x.scale() + y.scale());
                proptest::prop_assert_eq!(mul(x, y).map(|r| r.serialize()), by_rust_decimal.map(|r| r.serialize()), "{} × {}", x, y);
                if let Some(r) = mul(x, y) {
                    proptest::prop_assert_eq!(Some(Q::from_decimal(r)), Q::from_decimal(x).mul(Q::from_decimal(y)), "{} × {}", x, y);
                }
            }
        }

        #[test]
        fn banded_on_the_mantissas_is_banded_band_by_band(
            x in decimal(),
            bands in proptest::collection::vec((decimal(), decimal()), 0..5),
            small in proptest::collection::vec((0u64..1 << 40, 0u32..=6, proptest::bool::ANY), 7),
            sorted in proptest::bool::ANY,
        ) {
            // any figures, and money-like ones (the fast form's common case)
            let money: Vec<Decimal> = small.iter().map(|&(m, s, neg)| Decimal::from_parts(m as u32, (m >> 32) as u32, 0, neg, s)).collect();
            let mut ordinary: Vec<(Decimal, Decimal)> = money[1..].chunks(2).map(|c| (c[0], c[1])).collect();
            if sorted {
                ordinary.sort_by_key(|a| a.0);
            }
            for (x, bands, common) in [(x, bands.clone(), false), (money[0], ordinary, true)] {
                let by_band = banded_by_definition(x, &bands);
                let fast = banded(x, &bands);
                if let Some(r) = fast {
                    proptest::prop_assert_eq!(Some(r.serialize()), by_band.map(|r| r.serialize()), "banded({}, {:?})", x, bands);
                }
                if common && by_band.is_some() {
                    proptest::prop_assert!(fast.is_some(), "banded({}, {:?}) refused", x, bands);
                }
                // constant bands, ascending as the lowering requires: the
                // band-by-band answer where it gives one, and one wherever
                // `banded` gives one (it need not compare the bands)
                if bands.windows(2).all(|w| w[0].0 <= w[1].0) {
                    let k: Vec<Band> = bands.iter().map(|&(lo, rate)| Band::new(lo, rate)).collect();
                    let constant = banded_k(x, &k);
                    if let Some(r) = constant {
                        proptest::prop_assert_eq!(Some(r.serialize()), by_band.map(|r| r.serialize()), "banded({}, {:?})", x, bands);
                    }
                    if fast.is_some() {
                        proptest::prop_assert_eq!(constant.map(|r| r.serialize()), fast.map(|r| r.serialize()), "banded({}, {:?})", x, bands);
                    }
                }
            }
        }

        #[test]
        fn paid_and_rest_on_the_mantissas_is_the_claims_settlement(
            total in decimal(),
            paid in proptest::collection::vec(decimal(), 0..4),
            small in proptest::collection::vec((0u64..1 << 40, 0u32..=6), 4),
        ) {
            let money: Vec<Decimal> = small.iter().map(|&(m, s)| Decimal::from_parts(m as u32, (m >> 32) as u32, 0, false, s)).collect();
            let zero = Decimal::from_parts(0, 0, 0, false, 4);
            let cases = [(total, paid.clone(), false), (money[0] * Decimal::from(4), vec![money[1], zero, money[2], money[3]], true)];
            for (total, paid, common) in cases {
                // one by one, as the claim cascade settles step by step
                let step_by_step = paid
                    .iter()
                    .filter(|v| !v.is_zero())
                    .try_fold(Decimal::ZERO, |t, v| add(t, *v))
                    .filter(|p| cmp(*p, total) != Ordering::Greater)
                    .and_then(|p| Some((p, sub(total, p)?)));
                let fast = paid_and_rest(total, paid.iter().copied());
                if let Some((p, o)) = fast {
                    proptest::prop_assert_eq!(Some((p.serialize(), o.serialize())), step_by_step.map(|(p, o)| (p.serialize(), o.serialize())));
                }
                if common && step_by_step.is_some() {
                    proptest::prop_assert!(fast.is_some(), "{} less {:?} refused", total, paid);
                }
            }
        }

        #[test]
        fn comparisons_agree_with_rust_decimal(x in decimal(), y in decimal(), k in 0u32..=12) {
            // also operands whose scales are close (the fast path's case)
            let y2 = Decimal::from_parts(y.mantissa().unsigned_abs() as u32, 0, 0, y.is_sign_negative(), (x.scale() + k).min(28));
            for y in [y, y2] {
                proptest::prop_assert_eq!(cmp(x, y), x.cmp(&y));
                proptest::prop_assert_eq!(min(x, y).serialize(), x.min(y).serialize());
                proptest::prop_assert_eq!(max(x, y).serialize(), x.max(y).serialize());
            }
        }
    }
}
