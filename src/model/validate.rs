//! Reading and validating household JSON (DESIGN §3, §7).
//!
//! [`parse_household`] reads a household with serde (unknown fields, repeated
//! keys, missing required fields, wrong types, an array where the model has an
//! object, unknown enum variants, malformed JSON, dates not in the form
//! `YYYY-MM-DD` or impossible such as `2018-02-30`, money not in the plain
//! decimal form or not exact in a decimal, and trailing characters after the
//! document are all rejected; see `docs/household.md`), then runs
//! [`validate`] after the per-household caps ([`MAX_MEMBERS`], [`MAX_CLAIMS`],
//! [`MAX_LOANS`]). Every error carries the JSON path of the offending value
//! (`members[2].claims[0].in_policy_cost`), or `$` for the whole document, and
//! its line and column when known.
//!
//! [`validate`] checks, in document order:
//!
//! | path | check |
//! | --- | --- |
//! | `id` | not empty |
//! | `region` | exactly six ASCII digits (GB/T 2260) |
//! | `poverty.exited_on` | not before `poverty.registered_on` |
//! | `income` | not negative |
//! | `forest_mu` | not negative |
//! | every date | in years 0001–9999 (as the reader accepts; matters for a household built in code) |
//! | `members` | at least one member |
//! | `members[i].id` | not empty; unique in the household |
//! | `members[i].birth_date` | not after the assessment date (when one is given) |
//! | `members[i].disability.grade` | 1 to 4 |
//! | `members[i].employment.wage_tier` | 0 (unknown) to 4 |
//! | `members[i].claims[j].date` | not before the member's birth date |
//! | `members[i].claims[j].total_cost` | not negative |
//! | `members[i].claims[j].in_policy_cost` | not negative; not above `total_cost` |
//! | `members[i].claims[j].essential_medicine_cost` | not negative; not above `in_policy_cost` |
//! | `loans[k].principal` | not negative |
//! | `loans[k].maturity_date` | not before `start_date` |
//! | `loans[k].rate` | an annual fraction: at least 0 and below 1 (`0.0435`, not `4.35`) |
//! | `loans[k].extended_to` | not before `maturity_date` |
//!
//! Deliberately *not* rejected, because real registries contain them: claim
//! dates after the assessment date (claims are assessed later), registration
//! or loan dates after the assessment date, an `exited` status without
//! `exited_on` (and the reverse), 低保 `since` without `enrolled`, pension
//! tier 0 while enrolled, a loan `borrower` who is no longer a member, a
//! `major` claim without a `disease`, zero costs and zero principal.

use super::defaults::{self, Kind, Node, Scope};
use super::{Household, Member};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::error::Category;

/// A household record that could not be read or is impossible.
///
/// Displays as `PATH: MESSAGE`, for example
/// `members[0].claims[1].in_policy_cost: in-policy cost 1200 is above the total cost 1000 at line 30 column 29`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct HouseholdError {
    /// JSON path of the offending value (`members[2].birth_date`), or `$` for
    /// the whole document (malformed JSON, trailing characters, a document
    /// that is not an object).
    pub path: String,
    /// What is wrong. When the position in the JSON text is known, the message
    /// ends with `at line L column C`, as serde_json's messages do.
    pub message: String,
    /// 1-based line in the JSON text, or 0 when unknown.
    pub line: usize,
    /// 1-based column (in bytes) in the JSON text, or 0 when unknown.
    pub column: usize,
}

/// Path of the whole document.
const ROOT: &str = "$";

/// The largest household file `fupin eval` reads (16 MiB, the batch line cap
/// [`crate::batch::DEFAULT_MAX_LINE`]).
pub const MAX_HOUSEHOLD_FILE: u64 = 16 << 20;
/// Most members in one household.
pub const MAX_MEMBERS: usize = 10_000;
/// Most medical claims in one household, all members together.
pub const MAX_CLAIMS: usize = 100_000;
/// Most loans in one household.
pub const MAX_LOANS: usize = 10_000;

/// The UTF-8 byte order mark.
const BOM: &str = "\u{feff}";

fn bom_error() -> HouseholdError {
    HouseholdError {
        path: ROOT.to_string(),
        message: "the text starts with a UTF-8 byte order mark (BOM); household JSON must be UTF-8 without a BOM at line 1 column 1"
            .to_string(),
        line: 1,
        column: 1,
    }
}

/// Like [`parse_household`], from bytes: a leading byte order mark and
/// invalid UTF-8 are errors at `$` with the line, column (in bytes) and byte
/// offset of the first offending byte.
pub fn parse_household_bytes(json: &[u8], as_of: Option<NaiveDate>) -> Result<Household, HouseholdError> {
    if json.starts_with(BOM.as_bytes()) {
        return Err(bom_error());
    }
    match std::str::from_utf8(json) {
        Ok(text) => parse_household(text, as_of),
        Err(e) => {
            let at = crate::policy::utf8_error(json, e.valid_up_to());
            Err(HouseholdError {
                path: ROOT.to_string(),
                message: format!("invalid UTF-8 (byte {}) at line {} column {}", at.byte, at.line, at.column),
                line: at.line,
                column: at.column,
            })
        }
    }
}

/// Parse a household from JSON text and validate it (see [`validate`]).
///
/// `as_of` is the assessment date; when given, members born after it are
/// rejected. When the record has several problems, the one earliest in the
/// text is reported. A leading byte order mark is an error that says so.
pub fn parse_household(json: &str, as_of: Option<NaiveDate>) -> Result<Household, HouseholdError> {
    if json.starts_with(BOM) {
        return Err(bom_error());
    }
    // Fast path: one pass of serde that also notes the defaulted fields and
    // refuses arrays for structs. What it refuses, the two-pass reader reads
    // again, and builds the error with its path.
    let h = match super::onepass::read(json) {
        Some(h) => h,
        None => read_two_pass(json)?,
    };
    validated(h, json, as_of)
}

/// [`parse_household`] without the one-pass reader and without validation:
/// plain serde, then the scan of the text for arrays given for structs and
/// for the fields left to their defaults ([`shape_and_defaults`]), and the
/// error with its JSON path when either fails. The definition the one-pass
/// reader agrees with (`tests/household_reader.rs`).
#[cold]
fn read_two_pass(json: &str) -> Result<Household, HouseholdError> {
    // Plain serde (no path tracking) accepts exactly what the tracked parse
    // in `parse_error` accepts, so only a failure needs it.
    match serde_json::from_str::<Household>(json) {
        Ok(mut h) => {
            // the shape check, and the fields left to their defaults
            h.defaulted = shape_and_defaults(json)?;
            Ok(h)
        }
        Err(_) => Err(parse_error(json)),
    }
}

/// The one-pass reader alone (no validation): `None` where it leaves the
/// text to the two-pass reader. For tests and fuzzing.
#[doc(hidden)]
pub fn read_household_one_pass(json: &str) -> Option<Household> {
    super::onepass::read(json)
}

/// The two-pass reader alone (no validation). For tests and fuzzing.
#[doc(hidden)]
pub fn read_household_two_pass(json: &str) -> Result<Household, HouseholdError> {
    read_two_pass(json)
}

/// [`parse_household`] with the two-pass reader alone (no one-pass fast
/// path): what the fast path must agree with. For tests and fuzzing.
#[doc(hidden)]
pub fn parse_household_two_pass(json: &str, as_of: Option<NaiveDate>) -> Result<Household, HouseholdError> {
    if json.starts_with(BOM) {
        return Err(bom_error());
    }
    validated(read_two_pass(json)?, json, as_of)
}

/// The error of a household text that plain serde rejects (or whose shape is
/// wrong), with its JSON path: whichever problem comes first in the text.
#[cold]
fn parse_error(json: &str) -> HouseholdError {
    let mut de = serde_json::Deserializer::from_str(json);
    let parsed: Result<Household, HouseholdError> = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| {
            let path = match e.inner().classify() {
                Category::Eof | Category::Io => String::new(),
                Category::Syntax | Category::Data => e.path().to_string(),
            };
            from_serde(path, e.inner(), json)
        })
        .and_then(|h| de.end().map(|()| h).map_err(|e| from_serde(String::new(), &e, json)));

    // serde accepts a JSON array in place of a struct (fields by position);
    // a household's objects must be objects. Report whichever problem comes first.
    if let Some(shape_err) = shape_error(json) {
        let earlier = match &parsed {
            Ok(_) => true,
            Err(e) => e.line == 0 || (shape_err.line, shape_err.column) <= (e.line, e.column),
        };
        if earlier {
            return shape_err;
        }
    }
    match parsed {
        Err(e) => e,
        // Plain serde rejected the text, so the tracked parse does too; should
        // the two ever disagree, the plain error is still an error.
        Ok(_) => match serde_json::from_str::<Household>(json) {
            Err(e) => from_serde(String::new(), &e, json),
            Ok(_) => HouseholdError { path: ROOT.to_string(), message: "invalid household".into(), line: 0, column: 0 },
        },
    }
}

/// Check a parsed household's values, reporting the error earliest in `json`.
/// All errors are collected in one walk and located in one pass over the
/// text; only the reported one gets its line and column.
fn validated(h: Household, json: &str, as_of: Option<NaiveDate>) -> Result<Household, HouseholdError> {
    let all = validate_all_segs(&h, as_of);
    if all.is_empty() {
        return Ok(h);
    }
    let paths: Vec<&[Seg]> = all.iter().map(|(segs, _)| segs.as_slice()).collect();
    let offsets = locate_all(json, &paths);
    // The error earliest in the text; unlocated ones (defaulted fields) last, in model order.
    let best = (0..all.len()).min_by_key(|&i| (offsets.get(i).copied().flatten().unwrap_or(usize::MAX), i)).unwrap_or(0);
    let offset = offsets.get(best).copied().flatten();
    match all.into_iter().nth(best) {
        Some((_, err)) => Err(match offset {
            Some(offset) => with_position(err, json, offset),
            None => err,
        }),
        None => Ok(h),
    }
}

/// The steps of the evaluation budget that validating `h` costs: one for the
/// household and one for each member, claim and loan (the validation does a
/// bounded amount of work for each). [`crate::Engine::assess_with`] charges
/// them before validating, so a budget too small for the household refuses
/// it without the work.
pub fn validation_steps(h: &Household) -> u64 {
    let claims: usize = h.members.iter().map(|m| m.claims.len()).sum();
    [h.members.len(), claims, h.loans.len()].iter().fold(1u64, |n, &k| n.saturating_add(k as u64))
}

/// Reject impossible values; returns the first error in document order.
///
/// The checks are listed in the documentation of `src/model/validate.rs`. Errors from
/// `validate` have no line or column (there is no text).
pub fn validate(h: &Household, as_of: Option<NaiveDate>) -> Result<(), HouseholdError> {
    let mut first = None;
    check(h, as_of, &mut |segs, message| {
        if first.is_none() {
            first = Some(error(segs, message));
        }
        false
    });
    match first {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Every impossible value in the household, in document order (see [`validate`]).
pub fn validate_all(h: &Household, as_of: Option<NaiveDate>) -> Vec<HouseholdError> {
    let mut all = Vec::new();
    check(h, as_of, &mut |segs, message| {
        all.push(error(segs, message));
        true
    });
    all
}

/// Like [`validate_all`], keeping the structured paths for locating them in the text.
fn validate_all_segs(h: &Household, as_of: Option<NaiveDate>) -> Vec<(Vec<Seg<'static>>, HouseholdError)> {
    let mut all = Vec::new();
    check(h, as_of, &mut |segs, message| {
        all.push((segs.to_vec(), error(segs, message)));
        true
    });
    all
}

// ---------------------------------------------------------------------------
// Errors from serde

/// The path step serde_json's `arbitrary_precision` feature (off in fupin;
/// another crate of the build may switch it on) adds under a number.
const NUMBER_TOKEN: &str = ".$serde_json::private::Number";

fn from_serde(path: String, e: &serde_json::Error, text: &str) -> HouseholdError {
    // a value read as its text (money, a fact) is reported at its field
    let path = match path.strip_suffix(super::de::RAW_TOKEN) {
        Some(field) => field.strip_suffix('.').unwrap_or(field).to_string(),
        None => path,
    };
    let (line, column) = (e.line(), e.column());
    let full = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let bare = full.strip_suffix(&suffix).unwrap_or(&full);
    let (path, bare) = match path.strip_suffix(NUMBER_TOKEN) {
        // rust_decimal could not represent a JSON number.
        Some(field) => (
            field.to_string(),
            "invalid value: number out of range (at most 28 significant digits, magnitude below 7.9e28), \
             expected a Decimal type representing a fixed-point number"
                .to_string(),
        ),
        // serde_json's message when an enum is given something other than a string.
        None if bare == "expected value" && e.classify() == Category::Syntax => match found_at(text, line, column) {
            Some(found) => (path, format!("invalid type: {found}, expected a string naming a variant")),
            None => (path, bare.to_string()),
        },
        None => (path, bare.to_string()),
    };
    let message = if line > 0 { format!("{bare}{suffix}") } else { bare };
    // serde_path_to_error writes `?` for a step it could not name (where a syntax error stopped it).
    let mut path = path.as_str();
    while let Some(parent) = path.strip_suffix(".?").or_else(|| path.strip_suffix('?')) {
        path = parent;
    }
    let mut path = if path == "." { String::new() } else { path.to_string() };
    // serde reports a repeated key at its object; point at the key itself.
    if let Some(field) = message.strip_prefix("duplicate field `").and_then(|m| m.split('`').next()) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field);
    }
    let path = if path.is_empty() { ROOT.to_string() } else { path };
    HouseholdError { path, message, line, column }
}

/// What kind of JSON value starts at the 1-based `line` and `column`, when it is a valid value start.
fn found_at(text: &str, line: usize, column: usize) -> Option<&'static str> {
    let line_text = text.split('\n').nth(line.checked_sub(1)?)?;
    let byte = *line_text.as_bytes().get(column.checked_sub(1)?)?;
    Some(match byte {
        b'0'..=b'9' | b'-' => "number",
        b't' | b'f' => "boolean",
        b'n' => "null",
        b'[' => "sequence",
        _ => return None,
    })
}

fn with_position(mut err: HouseholdError, text: &str, offset: usize) -> HouseholdError {
    let before = text.as_bytes().get(..offset).unwrap_or_default();
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    err.line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    err.column = offset - line_start + 1;
    err.message = format!("{} at line {} column {}", err.message, err.line, err.column);
    err
}

/// Of errors found in a household read from `json` (with paths as rendered:
/// `members[0].facts.study_year`), the one earliest in the text, with its line
/// and column; unlocated ones come last, in the order given.
pub(crate) fn earliest_located(json: &str, errors: Vec<HouseholdError>) -> Option<HouseholdError> {
    // no error, no need to walk the text (every household that reads well)
    if errors.is_empty() {
        return None;
    }
    let paths: Vec<Vec<Seg<'_>>> = errors.iter().map(|e| parse_path(&e.path)).collect();
    let refs: Vec<&[Seg<'_>]> = paths.iter().map(|p| p.as_slice()).collect();
    let offsets = locate_all(json, &refs);
    let best = (0..errors.len()).min_by_key(|&i| (offsets.get(i).copied().flatten().unwrap_or(usize::MAX), i))?;
    let offset = offsets.get(best).copied().flatten();
    let err = errors.into_iter().nth(best)?;
    Some(match offset {
        Some(offset) => with_position(err, json, offset),
        None => err,
    })
}

/// A rendered path back into steps (`members[0].facts.x` → members, 0, facts, x).
fn parse_path(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    if path == ROOT {
        return out;
    }
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { break };
            if let Ok(i) = r[..end].parse() {
                out.push(Seg::Index(i));
            }
            rest = &r[end + 1..];
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Paths

/// One step of a JSON path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg<'k> {
    Key(&'k str),
    Index(usize),
}

fn render(segs: &[Seg]) -> String {
    if segs.is_empty() {
        return ROOT.to_string();
    }
    let mut out = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn error(segs: &[Seg], message: String) -> HouseholdError {
    HouseholdError { path: render(segs), message, line: 0, column: 0 }
}

// ---------------------------------------------------------------------------
// The checks

/// Receives each error (path, message); returns whether to go on.
type Sink<'a> = dyn FnMut(&[Seg<'static>], String) -> bool + 'a;

/// Walks the household in document order, reporting errors to `sink`.
/// Paths are only rendered into strings when there is an error.
struct Checker<'s, 'a> {
    /// The path entered (a member, then a claim: two segments each), the
    /// first `depth` of them; it is a path only when there is an error.
    entered: [Seg<'static>; ENTERED],
    depth: usize,
    sink: &'s mut Sink<'a>,
    go_on: bool,
}

/// How deep the checks enter: `members[i].claims[j]`.
const ENTERED: usize = 4;

impl Checker<'_, '_> {
    #[inline(always)]
    fn at(&mut self, segs: &[Seg<'static>], ok: bool, message: impl FnOnce() -> String) {
        if ok || !self.go_on {
            return;
        }
        let message = message();
        self.report(segs, message);
    }

    /// An error at `segs` below the path entered.
    #[cold]
    #[inline(never)]
    fn report(&mut self, segs: &[Seg<'static>], message: String) {
        let mut path = self.entered.get(..self.depth).unwrap_or_default().to_vec();
        path.extend_from_slice(segs);
        self.go_on = (self.sink)(&path, message);
    }

    /// A date in years 0001–9999, the range the JSON reader accepts (a
    /// household built in code can hold any date chrono holds).
    #[inline(always)]
    fn date(&mut self, segs: &[Seg<'static>], d: Option<NaiveDate>) {
        if let Some(d) = d {
            use chrono::Datelike;
            self.at(segs, (1..=9999).contains(&d.year()), || format!("date {d} is outside the years 0001 to 9999"));
        }
    }

    #[inline(always)]
    fn money(&mut self, key: &'static str, what: &str, value: Decimal) {
        self.at(&[Seg::Key(key)], not_negative(value), || format!("{what} must not be negative, got {value}"));
    }

    /// Enter a key and an index (the walk enters at most `ENTERED`
    /// segments: a member's, then a claim's).
    #[inline(always)]
    fn enter(&mut self, key: &'static str, index: usize) {
        if let Some([k, i]) = self.entered.get_mut(self.depth..self.depth + 2) {
            *k = Seg::Key(key);
            *i = Seg::Index(index);
            self.depth += 2;
        }
    }

    #[inline(always)]
    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(2);
    }
}

fn check(h: &Household, as_of: Option<NaiveDate>, sink: &mut Sink<'_>) {
    let mut c = Checker { entered: [Seg::Index(0); ENTERED], depth: 0, sink, go_on: true };

    c.at(&[Seg::Key("id")], !blank(&h.id), || "household id must not be empty".to_string());
    c.at(&[Seg::Key("region")], h.region.len() == 6 && h.region.bytes().all(|b| b.is_ascii_digit()), || {
        format!("region code must be exactly six ASCII digits (GB/T 2260, e.g. \"130131\"), got {:?}", h.region)
    });
    c.date(&[Seg::Key("poverty"), Seg::Key("registered_on")], h.poverty.registered_on);
    c.date(&[Seg::Key("poverty"), Seg::Key("exited_on")], h.poverty.exited_on);
    c.date(&[Seg::Key("dibao"), Seg::Key("since")], h.dibao.since);
    if let (Some(reg), Some(exit)) = (h.poverty.registered_on, h.poverty.exited_on) {
        c.at(&[Seg::Key("poverty"), Seg::Key("exited_on")], exit >= reg, || {
            format!("exit date {exit} is before the registration date {reg}")
        });
    }
    c.money("income", "income", h.income);
    c.at(&[Seg::Key("forest_mu")], not_negative(h.forest_mu), || format!("forest area must not be negative, got {} mu", h.forest_mu));

    c.at(&[Seg::Key("members")], !h.members.is_empty(), || "a household must have at least one member".to_string());
    // The caps come first and end the walk: checking past them is the work they bound.
    c.at(&[Seg::Key("members")], h.members.len() <= MAX_MEMBERS, || {
        format!("too many members: {} (the limit is {MAX_MEMBERS})", h.members.len())
    });
    let claims: usize = h.members.iter().map(|m| m.claims.len()).sum();
    if claims > MAX_CLAIMS {
        // Point at the member whose claims cross the limit.
        let mut seen = 0;
        let i = h.members.iter().position(|m| {
            seen += m.claims.len();
            seen > MAX_CLAIMS
        });
        c.at(&[Seg::Key("members"), Seg::Index(i.unwrap_or_default()), Seg::Key("claims")], false, || {
            format!("too many medical claims: {claims} in the household (the limit is {MAX_CLAIMS}, all members together)")
        });
    }
    c.at(&[Seg::Key("loans")], h.loans.len() <= MAX_LOANS, || format!("too many loans: {} (the limit is {MAX_LOANS})", h.loans.len()));
    if !c.go_on || h.members.len() > MAX_MEMBERS || claims > MAX_CLAIMS || h.loans.len() > MAX_LOANS {
        return;
    }
    // The first member with each id, for duplicates: by comparing ids in a
    // small household, through a hash map in a larger one.
    const FEW: usize = 16;
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    if h.members.len() > FEW {
        first.reserve(h.members.len());
    }
    for (i, m) in h.members.iter().enumerate() {
        let earlier = if h.members.len() > FEW {
            *first.entry(m.id.as_str()).or_insert(i)
        } else {
            h.members.iter().take(i).position(|o| o.id == m.id).unwrap_or(i)
        };
        c.enter("members", i);
        check_member(&mut c, (earlier < i).then_some(earlier), m, as_of);
        c.leave();
    }

    for (k, loan) in h.loans.iter().enumerate() {
        c.enter("loans", k);
        c.money("principal", "principal", loan.principal);
        c.date(&[Seg::Key("start_date")], Some(loan.start_date));
        c.date(&[Seg::Key("maturity_date")], Some(loan.maturity_date));
        c.date(&[Seg::Key("extended_to")], loan.extended_to);
        c.at(&[Seg::Key("maturity_date")], loan.maturity_date >= loan.start_date, || {
            format!("maturity date {} is before the start date {}", loan.maturity_date, loan.start_date)
        });
        let rate = loan.rate;
        c.at(&[Seg::Key("rate")], not_negative(rate) && rate < Decimal::ONE, || {
            format!("rate must be an annual fraction at least 0 and below 1 (e.g. 0.0435 for 4.35%), got {rate}")
        });
        if let Some(ext) = loan.extended_to {
            c.at(&[Seg::Key("extended_to")], ext >= loan.maturity_date, || {
                format!("extended maturity {ext} is before the maturity date {}", loan.maturity_date)
            });
        }
        c.leave();
    }
}

/// `d >= 0`, read from the sign (a zero may carry the negative sign).
fn not_negative(d: Decimal) -> bool {
    !d.is_sign_negative() || d.is_zero()
}

/// Empty or white space alone (`s.trim().is_empty()`, stopping at the first
/// character that is not white space).
#[inline]
fn blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// `earlier`: the index of an earlier member with the same id.
fn check_member(c: &mut Checker<'_, '_>, earlier: Option<usize>, m: &Member, as_of: Option<NaiveDate>) {
    c.at(&[Seg::Key("id")], !blank(&m.id), || "member id must not be empty".to_string());
    c.at(&[Seg::Key("id")], earlier.is_none() || blank(&m.id), || {
        format!("duplicate member id {:?} (also members[{}].id)", m.id, earlier.unwrap_or_default())
    });
    c.date(&[Seg::Key("birth_date")], Some(m.birth_date));
    if let Some(date) = as_of {
        c.at(&[Seg::Key("birth_date")], m.birth_date <= date, || {
            format!("birth date {} is after the assessment date {date}", m.birth_date)
        });
    }
    if let Some(d) = &m.disability {
        c.at(&[Seg::Key("disability"), Seg::Key("grade")], (1..=4).contains(&d.grade), || {
            format!("disability grade must be 1 (most severe) to 4, got {}", d.grade)
        });
    }
    c.at(&[Seg::Key("employment"), Seg::Key("wage_tier")], m.employment.wage_tier <= 4, || {
        format!("minimum-wage tier must be 1 to 4 (or 0 when unknown), got {}", m.employment.wage_tier)
    });

    for (j, cl) in m.claims.iter().enumerate() {
        c.enter("claims", j);
        c.date(&[Seg::Key("date")], Some(cl.date));
        c.at(&[Seg::Key("date")], cl.date >= m.birth_date, || {
            format!("claim date {} is before the member's birth date {}", cl.date, m.birth_date)
        });
        c.money("total_cost", "total cost", cl.total_cost);
        c.money("in_policy_cost", "in-policy cost", cl.in_policy_cost);
        if not_negative(cl.in_policy_cost) {
            c.at(&[Seg::Key("in_policy_cost")], cl.in_policy_cost <= cl.total_cost || cl.total_cost < Decimal::ZERO, || {
                format!("in-policy cost {} is above the total cost {}", cl.in_policy_cost, cl.total_cost)
            });
        }
        c.money("essential_medicine_cost", "essential-medicine cost", cl.essential_medicine_cost);
        if not_negative(cl.essential_medicine_cost) {
            c.at(
                &[Seg::Key("essential_medicine_cost")],
                cl.essential_medicine_cost <= cl.in_policy_cost || cl.in_policy_cost < Decimal::ZERO,
                || format!("essential-medicine cost {} is above the in-policy cost {}", cl.essential_medicine_cost, cl.in_policy_cost),
            );
        }
        c.leave();
    }
}

// ---------------------------------------------------------------------------
// Locating a path in the JSON text (only on the error path)

/// Byte offset of the value at `segs` in `text`, which is valid JSON.
#[cfg(test)]
fn locate(text: &str, segs: &[Seg]) -> Option<usize> {
    locate_all(text, &[segs]).pop().flatten()
}

/// The paths to find, as a trie: each node's children by key and by index,
/// and the paths ending at it.
#[derive(Default)]
struct Trie<'k> {
    keys: std::collections::HashMap<&'k str, usize>,
    indices: std::collections::HashMap<usize, usize>,
    ends: Vec<usize>,
}

/// Byte offset of the value at each of `paths` in `text` (valid JSON), in one
/// pass: only values on the way to a wanted path are entered, everything else
/// is skipped, so the cost is linear in the text whatever the number of paths.
fn locate_all(text: &str, paths: &[&[Seg]]) -> Vec<Option<usize>> {
    let mut nodes = vec![Trie::default()];
    for (p, segs) in paths.iter().enumerate() {
        let mut at = 0;
        for seg in segs.iter() {
            let next = nodes.len();
            let child = match *seg {
                Seg::Key(k) => *nodes[at].keys.entry(k).or_insert(next),
                Seg::Index(i) => *nodes[at].indices.entry(i).or_insert(next),
            };
            if child == next {
                nodes.push(Trie::default());
            }
            at = child;
        }
        nodes[at].ends.push(p);
    }
    let mut found = vec![None; paths.len()];
    let b = text.as_bytes();
    find(text, b, skip_ws(b, 0), &nodes, 0, &mut found);
    found
}

/// Record the value at `pos` for the paths ending at `node`, and descend into
/// the children the trie wants; returns the offset after the value.
fn find(text: &str, b: &[u8], pos: usize, nodes: &[Trie], node: usize, found: &mut [Option<usize>]) -> Option<usize> {
    let t = nodes.get(node)?;
    for &p in &t.ends {
        if let Some(slot) = found.get_mut(p) {
            *slot = Some(pos);
        }
    }
    match b.get(pos) {
        Some(b'{') if !t.keys.is_empty() => {
            let mut pos = skip_ws(b, pos + 1);
            if b.get(pos) == Some(&b'}') {
                return Some(pos + 1);
            }
            loop {
                if b.get(pos) != Some(&b'"') {
                    return None;
                }
                let end = skip_string(b, pos)?;
                let raw = text.get(pos..end)?;
                let child = if raw.contains('\\') {
                    serde_json::from_str::<String>(raw).ok().and_then(|k| t.keys.get(k.as_str()).copied())
                } else {
                    raw.get(1..raw.len() - 1).and_then(|k| t.keys.get(k).copied())
                };
                pos = skip_ws(b, end);
                if b.get(pos) != Some(&b':') {
                    return None;
                }
                pos = skip_ws(b, pos + 1);
                pos = match child {
                    Some(c) => find(text, b, pos, nodes, c, found)?,
                    None => skip_value(b, pos)?,
                };
                pos = skip_ws(b, pos);
                match b.get(pos) {
                    Some(b',') => pos = skip_ws(b, pos + 1),
                    Some(b'}') => return Some(pos + 1),
                    _ => return None,
                }
            }
        }
        Some(b'[') if !t.indices.is_empty() => {
            let mut pos = skip_ws(b, pos + 1);
            if b.get(pos) == Some(&b']') {
                return Some(pos + 1);
            }
            let mut index = 0usize;
            loop {
                pos = match t.indices.get(&index) {
                    Some(&c) => find(text, b, pos, nodes, c, found)?,
                    None => skip_value(b, pos)?,
                };
                pos = skip_ws(b, pos);
                match b.get(pos) {
                    Some(b',') => pos = skip_ws(b, pos + 1),
                    Some(b']') => return Some(pos + 1),
                    _ => return None,
                }
                index += 1;
            }
        }
        _ => skip_value(b, pos),
    }
}

fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while matches!(b.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// `b[pos]` is `"`; returns the offset just after the closing quote.
fn skip_string(b: &[u8], pos: usize) -> Option<usize> {
    skip_string_escaped(b, pos).map(|(end, _)| end)
}

/// [`skip_string`], and whether the string has an escape in it.
fn skip_string_escaped(b: &[u8], mut pos: usize) -> Option<(usize, bool)> {
    pos += 1;
    let mut escaped = false;
    loop {
        match b.get(pos)? {
            b'"' => return Some((pos + 1, escaped)),
            b'\\' => {
                escaped = true;
                pos += 2;
            }
            _ => pos += 1,
        }
    }
}

/// Returns the offset just after the value starting at `pos` (no recursion).
fn skip_value(b: &[u8], mut pos: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match b.get(pos)? {
            b'"' => pos = skip_string(b, pos)?,
            b'{' | b'[' => {
                depth += 1;
                pos += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                pos += 1;
            }
            _ if depth == 0 => {
                while !matches!(b.get(pos), None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
                    pos += 1;
                }
                return Some(pos);
            }
            _ => pos += 1,
        }
        if depth == 0 {
            return Some(pos);
        }
    }
}

// ---------------------------------------------------------------------------
// Objects given as arrays

/// The first array given where the model has a struct, if any. Gives up
/// silently (leaving the diagnosis to serde) on anything else unexpected.
fn shape_error(text: &str) -> Option<HouseholdError> {
    shape_and_defaults(text).err()
}

/// One pass over a household's text along the model's records
/// ([`defaults::MODEL`]): the first array given where the model has a struct
/// is an error; otherwise the fields each record left out (see
/// [`defaults::Defaulted`]). Values are skipped, not read (serde reads them).
/// On text this scan does not understand it gives up: no error, and no
/// defaulted field is known.
pub(super) fn shape_and_defaults(text: &str) -> Result<defaults::Defaulted, HouseholdError> {
    let b = text.as_bytes();
    let mut path = Vec::new();
    let mut out = Vec::with_capacity(16);
    match scan_record(b, skip_ws(b, 0), &defaults::MODEL, Scope::Household, "", &mut path, &mut out) {
        Scan::Bad(offset, name) => {
            let err = error(&path, format!("invalid type: sequence, expected struct {name}"));
            Err(with_position(err, text, offset))
        }
        Scan::Ok(_) => Ok(defaults::Defaulted::new(out)),
        Scan::GiveUp => Ok(defaults::Defaulted::default()),
    }
}

enum Scan {
    /// Well-shaped; the offset after the value.
    Ok(usize),
    /// An array at this offset where the named struct belongs; `path` is left pointing at it.
    Bad(usize, &'static str),
    /// Not JSON this scan understands.
    GiveUp,
}

/// The value at `pos` where the model has record `node` (of `scope`; `parent`
/// names the field of that record it is, `""` for the record itself).
fn scan_record(
    b: &[u8],
    pos: usize,
    node: &'static Node,
    scope: Scope,
    parent: &'static str,
    path: &mut Vec<Seg<'static>>,
    out: &mut Vec<defaults::Rec>,
) -> Scan {
    match b.get(pos) {
        Some(b'[') => Scan::Bad(pos, node.name),
        Some(b'{') => {
            let mut seen = 0u32;
            // where the next key is looked for first: a record written from
            // the model has its fields in the model's order
            let mut hint = 0usize;
            let mut pos = skip_ws(b, pos + 1);
            let end = if b.get(pos) == Some(&b'}') {
                pos + 1
            } else {
                loop {
                    if b.get(pos) != Some(&b'"') {
                        return Scan::GiveUp;
                    }
                    let Some((end, escaped)) = skip_string_escaped(b, pos) else {
                        return Scan::GiveUp;
                    };
                    let raw = b.get(pos + 1..end - 1).unwrap_or_default();
                    // an escaped key names a field by its unescaped text
                    let unescaped: Option<String> = if escaped { serde_json::from_slice(&b[pos..end]).ok() } else { None };
                    let key = unescaped.as_deref().map_or(raw, str::as_bytes);
                    // length and first byte before the bytes: most keys of a
                    // record are not among the fields with a default
                    let is =
                        |i: &usize| {
                            node.fields[*i].0.as_bytes().split_first().is_some_and(|(f, rest)| {
                                rest.len() + 1 == key.len() && key.first() == Some(f) && key.get(1..) == Some(rest)
                            })
                        };
                    let n = node.fields.len();
                    let field = (hint.min(n)..n).find(is).or_else(|| (0..hint.min(n)).find(is));
                    if let Some(i) = field {
                        hint = i + 1;
                    }
                    pos = skip_ws(b, end);
                    if b.get(pos) != Some(&b':') {
                        return Scan::GiveUp;
                    }
                    pos = skip_ws(b, pos + 1);
                    let next = match field {
                        Some(i) => {
                            seen |= 1u32.checked_shl(i as u32).unwrap_or(0);
                            let (name, kind) = node.fields[i];
                            let inner = match kind {
                                Kind::Value => None,
                                Kind::Record(n) | Kind::Optional(n) => Some((n, false)),
                                Kind::List(n) => Some((n, true)),
                            };
                            match inner {
                                None => skip_value(b, pos),
                                Some((n, list)) => {
                                    path.push(Seg::Key(name));
                                    let r = if list {
                                        scan_list(b, pos, n, scope, path, out)
                                    } else {
                                        scan_record(b, pos, n, scope, name, path, out)
                                    };
                                    match r {
                                        Scan::Ok(next) => {
                                            path.pop();
                                            Some(next)
                                        }
                                        other => return other,
                                    }
                                }
                            }
                        }
                        None => skip_value(b, pos),
                    };
                    let Some(next) = next else { return Scan::GiveUp };
                    pos = skip_ws(b, next);
                    match b.get(pos) {
                        Some(b',') => pos = skip_ws(b, pos + 1),
                        Some(b'}') => break pos + 1,
                        _ => return Scan::GiveUp,
                    }
                }
            };
            out.push(defaults::Rec { scope, parent, node, seen });
            // a record left out whole: every field of it is defaulted
            for (i, (name, kind)) in node.fields.iter().enumerate() {
                if let Kind::Record(n) = kind {
                    if seen & 1u32.checked_shl(i as u32).unwrap_or(0) == 0 {
                        out.push(defaults::Rec { scope, parent: name, node: n, seen: 0 });
                    }
                }
            }
            Scan::Ok(end)
        }
        _ => match skip_value(b, pos) {
            Some(next) => Scan::Ok(next),
            None => Scan::GiveUp,
        },
    }
}

/// The value at `pos` where the model has a list of records `node`, inside `outer`.
fn scan_list(b: &[u8], pos: usize, node: &'static Node, outer: Scope, path: &mut Vec<Seg<'static>>, out: &mut Vec<defaults::Rec>) -> Scan {
    if b.get(pos) != Some(&b'[') {
        return match skip_value(b, pos) {
            Some(next) => Scan::Ok(next),
            None => Scan::GiveUp,
        };
    }
    let mut pos = skip_ws(b, pos + 1);
    if b.get(pos) == Some(&b']') {
        return Scan::Ok(pos + 1);
    }
    let mut index = 0usize;
    loop {
        let scope = defaults::element_scope(outer, node, index);
        path.push(Seg::Index(index));
        pos = match scan_record(b, pos, node, scope, "", path, out) {
            Scan::Ok(next) => {
                path.pop();
                skip_ws(b, next)
            }
            other => return other,
        };
        match b.get(pos) {
            Some(b',') => pos = skip_ws(b, pos + 1),
            Some(b']') => return Scan::Ok(pos + 1),
            _ => return Scan::GiveUp,
        }
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::from_str(s).unwrap_or_default()
    }

    #[test]
    fn not_negative_is_at_least_zero() {
        for (m, scale) in [(0i64, 0u32), (0, 5), (1, 0), (1, 28), (5000, 2), (i64::MAX, 3)] {
            for sign in [false, true] {
                let mut d = Decimal::new(m, scale);
                d.set_sign_negative(sign);
                assert_eq!(not_negative(d), d >= Decimal::ZERO, "{d:?}");
            }
        }
    }

    /// A minimal household with the given income (JSON text) and extra top-level fields.
    fn household(income: &str, extra: &str) -> String {
        format!(
            r#"{{"id": "h1", "region": "130131", "income": {income}{extra},
                "members": [{{"id": "m1", "birth_date": "1960-01-01", "sex": "male"}}]}}"#
        )
    }

    fn income(json_value: &str) -> Decimal {
        match parse_household(&household(json_value, ""), None) {
            Ok(h) => h.income,
            Err(e) => panic!("{json_value}: {e}"),
        }
    }

    #[test]
    fn money_from_a_json_number_is_exact() {
        let d = income("0.1");
        assert_eq!(d, Decimal::new(1, 1));
        assert_eq!(d.to_string(), "0.1");
        // The float 0.1 + 0.2 is not 0.3; the decimals are.
        assert_eq!(income("0.1") + income("0.2"), income("0.3"));
    }

    #[test]
    fn money_from_a_json_string_is_exact() {
        let d = income(r#""5639760033.34""#);
        assert_eq!(d, Decimal::new(563_976_003_334, 2));
        assert_eq!(d.to_string(), "5639760033.34");
        // The same digits as a JSON number, beyond f64's exact integers.
        assert_eq!(income("5639760033.34"), d);
        assert_eq!(income("12345678901234567890.12").to_string(), "12345678901234567890.12");
    }

    #[test]
    fn money_keeps_its_scale_and_rejects_exponents() {
        assert_eq!(income(r#""6000.00""#).to_string(), "6000.00");
        assert_eq!(income("6000.00").to_string(), "6000.00");
        assert_eq!(income("-0"), Decimal::ZERO);
        for bad in ["1e3", "1E3", "9.8e3", r#""9.8e3""#, r#""9_800""#, r#""1e3""#] {
            let err = parse_household(&household(bad, ""), None).err().map(|e| (e.path, e.message));
            let (path, message) = err.unwrap_or_default();
            assert_eq!(path, "income", "{bad}");
            assert!(message.starts_with("invalid money"), "{bad}: {message}");
        }
    }

    #[test]
    fn money_that_would_round_is_rejected_with_its_path() {
        for bad in ["1.23456789012345678901234567891", r#""1.23456789012345678901234567891""#] {
            let err = parse_household(&household(bad, ""), None).err().map(|e| (e.path, e.message));
            let (path, message) = err.unwrap_or_default();
            assert_eq!(path, "income", "{bad}");
            assert!(message.contains("cannot be represented exactly"), "{bad}: {message}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_named() {
        let text = format!("\u{feff}{}", household("1", ""));
        for err in [parse_household(&text, None).err(), parse_household_bytes(text.as_bytes(), None).err()] {
            let err = err.map(|e| (e.path, e.message, e.line, e.column)).unwrap_or_default();
            assert_eq!((err.0.as_str(), err.2, err.3), ("$", 1, 1));
            assert!(err.1.contains("byte order mark (BOM)"), "{}", err.1);
        }
    }

    #[test]
    fn invalid_utf8_has_line_column_and_byte() {
        let mut bytes = household("1", "").into_bytes();
        let at = bytes.iter().position(|&b| b == b'm').unwrap_or_default();
        bytes[at] = 0xff;
        let err = parse_household_bytes(&bytes, None).err().map(|e| (e.path, e.message, e.line, e.column)).unwrap_or_default();
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        let column = at - bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        assert_eq!((err.0.as_str(), err.2, err.3), ("$", line, column));
        assert_eq!(err.1, format!("invalid UTF-8 (byte {at}) at line {line} column {column}"));
    }

    #[test]
    fn dates_out_of_range_or_lenient_are_rejected_with_their_path() {
        for (bad, why) in [
            ("0000-01-01", "0001 to 9999"),
            ("10000-01-01", "expected YYYY-MM-DD"),
            ("+10000-01-01", "expected YYYY-MM-DD"),
            ("1955-1-3", "expected YYYY-MM-DD"),
        ] {
            let json = format!(
                r#"{{"id": "h1", "region": "130131", "income": 1, "members": [{{"id": "m1", "birth_date": "{bad}", "sex": "male"}}]}}"#
            );
            let err = parse_household(&json, None).err().map(|e| (e.path, e.message)).unwrap_or_default();
            assert_eq!(err.0, "members[0].birth_date", "{bad}");
            assert!(err.1.contains(why), "{bad}: {}", err.1);
        }
    }

    #[test]
    fn negative_zero_is_not_negative() {
        assert!(parse_household(&household(r#""-0.00""#, ""), None).is_ok());
    }

    #[test]
    fn negative_money_is_rejected_with_its_path() {
        let err = parse_household(&household("-0.01", ""), None).err();
        let err = err.map(|e| (e.path, e.line, e.column));
        assert_eq!(err, Some(("income".to_string(), 1, 44)));
    }

    #[test]
    fn display_is_path_colon_message() {
        let err = parse_household(&household("1", r#", "region2": 1"#), None).err().map(|e| e.to_string());
        let text = err.unwrap_or_default();
        assert!(text.starts_with("region2: unknown field `region2`, expected one of `id`, `region`"), "{text}");
    }

    #[test]
    fn malformed_json_is_a_whole_document_error() {
        let err = parse_household("{\"id\": ", None).err();
        let err = err.map(|e| (e.path, e.message));
        assert_eq!(err, Some(("$".to_string(), "EOF while parsing a value at line 1 column 7".to_string())));
    }

    #[test]
    fn validate_without_text_has_no_position_and_is_in_model_order() {
        let json = household("-5", r#", "forest_mu": -1"#);
        // Read through serde without validation, then validate.
        let h: Household = match serde_json::from_str(&json) {
            Ok(h) => h,
            Err(e) => panic!("{e}: {json}"),
        };
        let all = validate_all(&h, None);
        let paths: Vec<&str> = all.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["income", "forest_mu"]);
        assert!(all.iter().all(|e| e.line == 0 && e.column == 0));
        assert_eq!(validate(&h, None).err().as_ref(), all.first());
    }

    #[test]
    fn parse_reports_the_error_earliest_in_the_text() {
        // forest_mu comes before income in this text, after it in the model.
        let json = r#"{"forest_mu": -1, "id": "h1", "region": "130131", "income": -5,
            "members": [{"id": "m1", "birth_date": "1960-01-01", "sex": "male"}]}"#;
        let err = parse_household(json, None).err().map(|e| e.path);
        assert_eq!(err.as_deref(), Some("forest_mu"));
    }

    #[test]
    fn birth_date_is_only_checked_against_a_given_assessment_date() {
        let json = r#"{"id": "h1", "region": "130131", "income": 1,
            "members": [{"id": "m1", "birth_date": "2019-01-01", "sex": "male"}]}"#;
        assert!(parse_household(json, None).is_ok());
        assert!(parse_household(json, Some(date("2019-01-01"))).is_ok());
        let err = parse_household(json, Some(date("2018-12-31"))).err().map(|e| e.path);
        assert_eq!(err.as_deref(), Some("members[0].birth_date"));
    }

    #[test]
    fn locate_finds_nested_values_and_escaped_keys() {
        let text = r#"{"a": [1, {"x": "]}"}], "m\u0065mbers": [{}, {"claims": [ {"b": 2} ]}]}"#;
        let segs = [Seg::Key("members"), Seg::Index(1), Seg::Key("claims"), Seg::Index(0), Seg::Key("b")];
        let at = locate(text, &segs);
        assert_eq!(at.and_then(|p| text.get(p..p + 1)), Some("2"));
        assert_eq!(locate(text, &[Seg::Key("members"), Seg::Index(2)]), None);
        assert_eq!(locate(text, &[Seg::Key("zzz")]), None);
    }

    #[test]
    fn render_paths() {
        assert_eq!(render(&[]), "$");
        let segs = [Seg::Key("members"), Seg::Index(2), Seg::Key("claims"), Seg::Index(0), Seg::Key("in_policy_cost")];
        assert_eq!(render(&segs), "members[2].claims[0].in_policy_cost");
    }

    #[test]
    fn nothing_panics_on_prefixes_of_a_household() {
        let json = household(
            r#""6000.00""#,
            r#", "loans": [{"kind": "microcredit", "principal": 1, "start_date": "2018-01-01", "maturity_date": "2019-01-01", "rate": 0.04}]"#,
        );
        for end in 0..=json.len() {
            if let Some(prefix) = json.get(..end) {
                let _ = parse_household(prefix, Some(date("2018-06-01")));
                let _ = shape_error(prefix);
            }
        }
    }
}
