//! fupin as DataFusion scalar functions.
//!
//! Each function takes the household record as a struct (the type of
//! [`crate::household_type`], or any struct whose fields are the record's
//! JSON fields), writes each row back as the household's JSON with Arrow's
//! JSON encoder (a null field is omitted: the record leaves it to its
//! default), reads it with the engine's own reader and assesses it, a batch
//! at a time with one reused [`fupin::Scratch`]. No figure is ever silently
//! wrong or missing: an invalid record, a failed assessment, an amount the
//! policies leave unknown, an amount that does not fit `Decimal128(38, 10)`
//! and a NULL argument are execution errors naming the household.

use crate::schema::check_exact;
use arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, Date32Array, Decimal128Builder, StringArray, StringBuilder, StructArray};
use arrow::datatypes::{DataType, Field, Fields};
use chrono::NaiveDate;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use fupin::Engine;
use rust_decimal::Decimal;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The precision of the amounts the functions return.
pub const AMOUNT_PRECISION: u8 = 38;
/// The scale of the amounts the functions return (fupin's amounts are exact
/// to the fen; a rate or area may have more places, up to ten fit).
pub const AMOUNT_SCALE: i8 = 10;

/// The type of an amount: `Decimal128(38, 10)`.
pub fn amount_type() -> DataType {
    DataType::Decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)
}

/// A decimal as a `Decimal128(38, 10)` value, exactly, or `None` when it
/// does not fit (more than ten places after the point that are not zeros,
/// or more than 28 digits before it). Never rounded.
pub fn to_decimal128(d: Decimal) -> Option<i128> {
    let d = d.normalize();
    let scale = d.scale();
    let target = AMOUNT_SCALE as u32;
    if scale > target {
        return None;
    }
    let v = d.mantissa().checked_mul(10i128.checked_pow(target - scale)?)?;
    let bound = 10i128.checked_pow(AMOUNT_PRECISION as u32)?;
    (v.abs() < bound).then_some(v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Which {
    Amount,
    Eligible,
    Assess,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Amount => "fupin_amount",
            Which::Eligible => "fupin_eligible",
            Which::Assess => "fupin_assess",
        }
    }

    fn arity(self) -> usize {
        match self {
            Which::Assess => 2,
            _ => 3,
        }
    }
}

/// One of the three functions over one engine.
#[derive(Debug)]
struct FupinUdf {
    which: Which,
    engine: Arc<Engine>,
    signature: Signature,
    /// `fupin_assess`'s return type: one field per programme id.
    assess_type: DataType,
    /// The programme ids, in the assessment's order, with each one's unit.
    programmes: Vec<(String, Option<String>)>,
}

impl PartialEq for FupinUdf {
    fn eq(&self, other: &Self) -> bool {
        self.which == other.which && Arc::ptr_eq(&self.engine, &other.engine)
    }
}

impl Eq for FupinUdf {}

impl Hash for FupinUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.which.hash(state);
        self.engine.program().id.hash(state);
    }
}

/// Each programme id of the engine once, in id order (as an assessment lists
/// them), with its unit (`None` for a programme without an amount).
fn programmes(engine: &Engine) -> Vec<(String, Option<String>)> {
    let names = &engine.program().names;
    names
        .program_groups
        .iter()
        .filter_map(|group| {
            let (id, _) = names.programs.get(*group.first()? as usize)?;
            let unit = group.iter().rev().find_map(|i| names.programs.get(*i as usize).and_then(|(_, u)| u.clone()));
            Some((id.as_str().to_string(), unit.map(|u| u.as_str().to_string())))
        })
        .collect()
}

/// The type of one programme's outcome in `fupin_assess`.
pub fn outcome_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("eligible", DataType::Boolean, true),
        Field::new("amount", amount_type(), true),
        Field::new("unit", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
    ]))
}

/// `fupin_assess`'s return type for an engine: a struct with one field per
/// programme id (`dibao`, `medical.premium_subsidy`…), each of [`outcome_type`].
pub fn assessment_type(engine: &Engine) -> DataType {
    DataType::Struct(programmes(engine).into_iter().map(|(id, _)| Field::new(id, outcome_type(), true)).collect())
}

impl FupinUdf {
    fn new(which: Which, engine: Arc<Engine>) -> FupinUdf {
        FupinUdf {
            which,
            assess_type: assessment_type(&engine),
            programmes: programmes(&engine),
            engine,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn fail(&self, message: impl std::fmt::Display) -> DataFusionError {
        DataFusionError::Execution(format!("{}: {message}", self.which.name()))
    }

    fn plan_fail(&self, message: impl std::fmt::Display) -> DataFusionError {
        DataFusionError::Plan(format!("{}: {message}", self.which.name()))
    }

    fn check_args(&self, arg_types: &[DataType]) -> Result<()> {
        if arg_types.len() != self.which.arity() {
            let args = if self.which == Which::Assess { "(household, as_of)" } else { "(household, as_of, programme)" };
            return Err(self.plan_fail(format!("takes {} arguments {args}, not {}", self.which.arity(), arg_types.len())));
        }
        match arg_types.first() {
            Some(t) => check_exact(t).map_err(|m| self.plan_fail(m)),
            None => Ok(()),
        }
    }
}

impl ScalarUDFImpl for FupinUdf {
    fn name(&self) -> &str {
        self.which.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.check_args(arg_types)?;
        let mut out = Vec::with_capacity(arg_types.len());
        for (i, t) in arg_types.iter().enumerate() {
            out.push(match i {
                0 => t.clone(),
                1 => match t {
                    DataType::Date32
                    | DataType::Date64
                    | DataType::Timestamp(..)
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Null => DataType::Date32,
                    other => return Err(self.plan_fail(format!("as_of must be a DATE, not {other}"))),
                },
                _ => match t {
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => DataType::Utf8,
                    DataType::Dictionary(_, v) if matches!(v.as_ref(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
                        DataType::Utf8
                    }
                    other => return Err(self.plan_fail(format!("the programme must be text (its id, e.g. 'dibao'), not {other}"))),
                },
            });
        }
        Ok(out)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.check_args(arg_types)?;
        Ok(match self.which {
            Which::Amount => amount_type(),
            Which::Eligible => DataType::Boolean,
            Which::Assess => self.assess_type.clone(),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [household, as_of, rest @ ..] = args.args.as_slice() else {
            return Err(self.fail("missing arguments"));
        };
        let household = household.to_array(rows)?;
        let as_of = Dates::new(as_of, rows).map_err(|m| self.fail(m))?;
        let programme = match (self.which, rest.first()) {
            (Which::Assess, _) => None,
            (_, Some(p)) => Some(Texts::new(p, rows).map_err(|m| self.fail(m))?),
            (_, None) => return Err(self.fail("missing the programme argument")),
        };
        let out: ArrayRef = match self.which {
            Which::Amount => Arc::new(self.amounts(&household, &as_of, programme.as_ref(), rows)?),
            Which::Eligible => Arc::new(self.eligibles(&household, &as_of, programme.as_ref(), rows)?),
            Which::Assess => Arc::new(self.assessments(&household, &as_of, rows)?),
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// The as_of argument: one date for every row, or one per row.
enum Dates {
    One(Option<i32>),
    Each(Date32Array),
}

impl Dates {
    fn new(v: &ColumnarValue, rows: usize) -> std::result::Result<Dates, String> {
        match v {
            ColumnarValue::Scalar(ScalarValue::Date32(d)) => Ok(Dates::One(*d)),
            ColumnarValue::Scalar(ScalarValue::Null) => Ok(Dates::One(None)),
            other => {
                let a = other.to_array(rows).map_err(|e| e.to_string())?;
                let a = arrow::compute::cast(&a, &DataType::Date32).map_err(|e| format!("as_of: {e}"))?;
                a.as_primitive_opt::<arrow::datatypes::Date32Type>()
                    .cloned()
                    .map(Dates::Each)
                    .ok_or_else(|| "as_of is not a date".to_string())
            }
        }
    }

    fn at(&self, row: usize) -> Option<NaiveDate> {
        let d = match self {
            Dates::One(d) => *d,
            Dates::Each(a) => (row < a.len() && a.is_valid(row)).then(|| a.value(row)),
        }?;
        arrow::array::temporal_conversions::date32_to_datetime(d).map(|t| t.date())
    }
}

/// The programme argument: one id for every row, or one per row.
enum Texts {
    One(Option<String>),
    Each(StringArray),
}

impl Texts {
    fn new(v: &ColumnarValue, rows: usize) -> std::result::Result<Texts, String> {
        match v {
            ColumnarValue::Scalar(ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s)) => Ok(Texts::One(s.clone())),
            ColumnarValue::Scalar(ScalarValue::Null) => Ok(Texts::One(None)),
            other => {
                let a = other.to_array(rows).map_err(|e| e.to_string())?;
                let a = arrow::compute::cast(&a, &DataType::Utf8).map_err(|e| format!("programme: {e}"))?;
                a.as_string_opt::<i32>().cloned().map(Texts::Each).ok_or_else(|| "the programme is not text".to_string())
            }
        }
    }

    fn at(&self, row: usize) -> Option<&str> {
        match self {
            Texts::One(s) => s.as_deref(),
            Texts::Each(a) => (row < a.len() && a.is_valid(row)).then(|| a.value(row)),
        }
    }
}

/// One programme's outcome for a household, as `fupin_assess` reports it.
#[derive(Debug, Clone, Default)]
struct Outcome {
    /// `None`: unknown (see `error`).
    eligible: Option<bool>,
    /// `None`: unknown (see `error`), or the programme has no amount.
    amount: Option<Decimal>,
    error: Option<String>,
}

impl FupinUdf {
    /// Assesses every row of `household`, calling `visit` with the row, the
    /// household id and the assessment left in the scratch. The first row
    /// that cannot be assessed stops it with an error naming the household.
    fn each_row(
        &self,
        household: &ArrayRef,
        as_of: &Dates,
        mut visit: impl FnMut(usize, &str, NaiveDate, &fupin::Scratch) -> Result<()>,
    ) -> Result<()> {
        let rows = household.len();
        let Some(structs) = household.as_struct_opt() else {
            return Err(self.fail(format!("the household must be a struct, not {}", household.data_type())));
        };
        check_exact(household.data_type()).map_err(|m| self.fail(m))?;
        let ids: Option<StringArray> = match structs.column_by_name("id") {
            Some(c) => arrow::compute::cast(c, &DataType::Utf8).ok().and_then(|a| a.as_string_opt::<i32>().cloned()),
            None => None,
        };
        let id_of = |row: usize| match &ids {
            Some(ids) if ids.is_valid(row) => ids.value(row).to_string(),
            _ => format!("(no id, row {} of the batch)", row + 1),
        };
        let field = Arc::new(Field::new("household", household.data_type().clone(), true));
        let options = arrow::json::writer::EncoderOptions::default().with_explicit_nulls(false);
        let mut encoder = arrow::json::writer::make_encoder(&field, household.as_ref(), &options)?;
        let mut json: Vec<u8> = Vec::with_capacity(4096);
        let mut scratch = self.engine.scratch();
        for row in 0..rows {
            if household.is_null(row) || encoder.is_null(row) {
                return Err(self.fail(format!("row {} of the batch: the household is NULL", row + 1)));
            }
            let id = id_of(row);
            let Some(date) = as_of.at(row) else {
                return Err(self.fail(format!("household {id}: as_of is NULL or not a date")));
            };
            json.clear();
            encoder.encode(row, &mut json);
            let text = std::str::from_utf8(&json).map_err(|e| self.fail(format!("household {id}: the record is not UTF-8: {e}")))?;
            let h = self
                .engine
                .parse_household(text, Some(date))
                .map_err(|e| self.fail(format!("household {id}: invalid record: {}: {}", e.path, e.message)))?;
            self.engine
                .assess_validated(&h, date, &mut scratch)
                .map_err(|e| self.fail(format!("household {id}: the assessment on {date} failed: {e}")))?;
            visit(row, &id, date, &scratch)?;
        }
        Ok(())
    }

    /// The outcome of one programme in the assessment left in `s`; the last
    /// of the programmes of that id, as the assessment's map keeps it.
    fn outcome(&self, programme: &str, s: &fupin::Scratch) -> Outcome {
        let mut found = Outcome { eligible: Some(false), ..Outcome::default() };
        for v in self.engine.programme_outcomes(s).filter(|v| v.programme.as_str() == programme) {
            found = outcome_of(v.eligible, v.amount, v.error.map(|e| e.to_string()));
        }
        found
    }

    fn programme_at<'a>(&self, programme: Option<&'a Texts>, row: usize, id: &str) -> Result<&'a str> {
        let p = programme.and_then(|p| p.at(row)).ok_or_else(|| self.fail(format!("household {id}: the programme is NULL")))?;
        if self.engine.program_index(p).is_none() {
            let known: Vec<&str> = self.programmes.iter().map(|(id, _)| id.as_str()).collect();
            return Err(self.fail(format!("no programme `{p}` in the loaded policies; the programmes are: {}", known.join(", "))));
        }
        Ok(p)
    }

    fn amounts(
        &self,
        household: &ArrayRef,
        as_of: &Dates,
        programme: Option<&Texts>,
        rows: usize,
    ) -> Result<arrow::array::Decimal128Array> {
        let mut out = Decimal128Builder::with_capacity(rows);
        self.each_row(household, as_of, |row, id, date, s| {
            let p = self.programme_at(programme, row, id)?;
            if let Some((_, None)) = self.programmes.iter().find(|(pid, _)| pid == p) {
                return Err(self.fail(format!("programme `{p}` has no amount (it is eligibility only): use fupin_eligible")));
            }
            let o = self.outcome(p, s);
            if let Some(e) = &o.error {
                return Err(self.fail(format!("household {id}: programme `{p}` on {date}: the amount is unknown: {e}")));
            }
            let amount = o.amount.unwrap_or(Decimal::ZERO);
            let v = to_decimal128(amount).ok_or_else(|| {
                self.fail(format!("household {id}: programme `{p}` on {date}: the amount {amount} does not fit Decimal128(38, 10) exactly"))
            })?;
            out.append_value(v);
            Ok(())
        })?;
        Ok(out.finish().with_precision_and_scale(AMOUNT_PRECISION, AMOUNT_SCALE)?)
    }

    fn eligibles(&self, household: &ArrayRef, as_of: &Dates, programme: Option<&Texts>, rows: usize) -> Result<arrow::array::BooleanArray> {
        let mut out = BooleanBuilder::with_capacity(rows);
        self.each_row(household, as_of, |row, id, date, s| {
            let p = self.programme_at(programme, row, id)?;
            let o = self.outcome(p, s);
            match (o.eligible, &o.error) {
                (Some(e), _) => out.append_value(e),
                (None, e) => {
                    let why = e.as_deref().unwrap_or("unknown");
                    return Err(self.fail(format!("household {id}: programme `{p}` on {date}: eligibility is unknown: {why}")));
                }
            }
            Ok(())
        })?;
        Ok(out.finish())
    }

    fn assessments(&self, household: &ArrayRef, as_of: &Dates, rows: usize) -> Result<StructArray> {
        let n = self.programmes.len();
        let mut eligible: Vec<BooleanBuilder> = (0..n).map(|_| BooleanBuilder::with_capacity(rows)).collect();
        let mut amount: Vec<Decimal128Builder> = (0..n).map(|_| Decimal128Builder::with_capacity(rows)).collect();
        let mut unit: Vec<StringBuilder> = (0..n).map(|_| StringBuilder::with_capacity(rows, rows * 8)).collect();
        let mut error: Vec<StringBuilder> = (0..n).map(|_| StringBuilder::new()).collect();
        let mut outcomes: Vec<Outcome> = vec![Outcome::default(); n];
        self.each_row(household, as_of, |_, id, date, s| {
            for o in outcomes.iter_mut() {
                *o = Outcome { eligible: Some(false), ..Outcome::default() };
            }
            for v in self.engine.programme_outcomes(s) {
                if let Ok(i) = self.programmes.binary_search_by(|(pid, _)| pid.as_str().cmp(v.programme.as_str())) {
                    if let Some(o) = outcomes.get_mut(i) {
                        *o = outcome_of(v.eligible, v.amount, v.error.map(|e| e.to_string()));
                    }
                }
            }
            for (i, ((p, u), o)) in self.programmes.iter().zip(&outcomes).enumerate() {
                eligible[i].append_option(o.eligible);
                unit[i].append_option(u.as_deref());
                error[i].append_option(o.error.as_deref());
                let value = match (u, &o.error) {
                    (None, _) | (_, Some(_)) => None,
                    (Some(_), None) => {
                        let a = o.amount.unwrap_or(Decimal::ZERO);
                        Some(to_decimal128(a).ok_or_else(|| {
                            self.fail(format!(
                                "household {id}: programme `{p}` on {date}: the amount {a} does not fit Decimal128(38, 10) exactly"
                            ))
                        })?)
                    }
                };
                amount[i].append_option(value);
            }
            Ok(())
        })?;
        let DataType::Struct(fields) = &self.assess_type else {
            return Err(self.fail("the assessment type is not a struct"));
        };
        let DataType::Struct(outcome_fields) = outcome_type() else {
            return Err(self.fail("the outcome type is not a struct"));
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(n);
        for i in 0..n {
            let children: Vec<ArrayRef> = vec![
                Arc::new(eligible[i].finish()),
                Arc::new(amount[i].finish().with_precision_and_scale(AMOUNT_PRECISION, AMOUNT_SCALE)?),
                Arc::new(unit[i].finish()),
                Arc::new(error[i].finish()),
            ];
            columns.push(Arc::new(StructArray::try_new(outcome_fields.clone(), children, None)?));
        }
        if columns.is_empty() {
            return Ok(StructArray::new_empty_fields(rows, None));
        }
        Ok(StructArray::try_new(fields.clone(), columns, None)?)
    }
}

/// fupin's reading of a programme's outcome (the language's own `eligible(P)`
/// and `amount(P)`): eligible when a rule made it so, even if its amount is
/// unknown; otherwise unknown when a figure it needs is missing, else not
/// eligible. The amount is unknown when a figure is missing, else what the
/// rules set (none: nothing).
fn outcome_of(eligible: bool, amount: Option<Decimal>, error: Option<String>) -> Outcome {
    Outcome {
        eligible: if eligible || error.is_none() { Some(eligible) } else { None },
        amount: if error.is_some() { None } else { amount },
        error,
    }
}

/// `fupin_amount(household, as_of DATE, programme TEXT) -> Decimal128(38, 10)`:
/// the programme's amount for the household on `as_of`, in the programme's
/// unit (`yuan/year`, `yuan/month`, `yuan`); 0 when it pays nothing. An
/// unknown amount is an error, never NULL.
pub fn fupin_amount(engine: Arc<Engine>) -> ScalarUDF {
    ScalarUDF::new_from_impl(FupinUdf::new(Which::Amount, engine))
}

/// `fupin_eligible(household, as_of DATE, programme TEXT) -> Boolean`: the
/// household qualifies for the programme on `as_of`. Unknown eligibility (a
/// missing figure in the condition) is an error, never NULL.
pub fn fupin_eligible(engine: Arc<Engine>) -> ScalarUDF {
    ScalarUDF::new_from_impl(FupinUdf::new(Which::Eligible, engine))
}

/// `fupin_assess(household, as_of DATE) -> Struct`: one field per programme
/// of the engine ([`assessment_type`]), each `{eligible, amount, unit,
/// error}`. Here an unknown amount (or eligibility) is NULL and `error` says
/// why; `amount` is 0 when the programme pays nothing, and NULL with `unit`
/// NULL for a programme that has no amount.
pub fn fupin_assess(engine: Arc<Engine>) -> ScalarUDF {
    ScalarUDF::new_from_impl(FupinUdf::new(Which::Assess, engine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_fit_exactly_or_not_at_all() {
        let d = |s: &str| s.parse::<Decimal>().expect("a decimal");
        assert_eq!(to_decimal128(d("7200.00")), Some(72_000_000_000_000));
        assert_eq!(to_decimal128(d("-0.0000000001")), Some(-1));
        assert_eq!(to_decimal128(d("0.00000000010000")), Some(1));
        assert_eq!(to_decimal128(d("0.00000000001")), None);
        assert_eq!(to_decimal128(d("9999999999999999999999999999")), Some(99_999_999_999_999_999_999_999_999_990_000_000_000));
        assert_eq!(to_decimal128(Decimal::MAX), None);
    }
}
