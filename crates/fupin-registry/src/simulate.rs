//! Reform simulation: one registry assessed under a baseline and a reform,
//! household by household, and the differences added up exactly.
//!
//! For each programme: the households eligible before and after, those
//! newly eligible and no longer eligible, the total amount before and after
//! and its change; the same by county (the household's `region`); and the
//! distribution of the per-household changes. A household's amount for a
//! programme is what the assessment says it pays (zero when it pays
//! nothing). When either side's amount is unknown (a figure the policies
//! leave to the deployer was not supplied), the household is counted under
//! `unknown` and left out of the totals and the distribution, never counted
//! as zero; the report says how many and why.

use crate::read::RowError;
use fupin::assessment::{Name, PolicyRef, ProgramOutcome};
use fupin::engine::ProgrammeView;
use fupin::{Assessment, Engine, Scratch};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One programme's outcome for a household, as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// Eligible.
    pub eligible: bool,
    /// What it pays: `Some(0)` when it pays nothing, `None` when unknown.
    pub amount: Option<Decimal>,
    /// The unit of the amount.
    pub unit: Option<Name>,
    /// Why the amount is unknown.
    pub error: Option<Arc<str>>,
}

/// The texts of evaluation errors, each formatted once per worker: most
/// households with an unknown amount share the reason (the same missing
/// figure).
#[derive(Debug, Default)]
pub struct ErrorTexts(Vec<(fupin::EvalError, Arc<str>)>);

impl ErrorTexts {
    /// The text of `e`.
    pub fn text(&mut self, e: &fupin::EvalError) -> Arc<str> {
        if let Some((_, t)) = self.0.iter().find(|(k, _)| k == e) {
            return t.clone();
        }
        let t: Arc<str> = e.to_string().into();
        // a bounded cache: reasons beyond it are formatted each time
        if self.0.len() < 64 {
            self.0.push((e.clone(), t.clone()));
        }
        t
    }
}

impl Side {
    const NOTHING: Side = Side { eligible: false, amount: Some(Decimal::ZERO), unit: None, error: None };

    fn of(o: Option<&ProgramOutcome>) -> Side {
        let Some(o) = o else { return Side::NOTHING };
        let amount = match (o.amount, &o.error) {
            (Some(a), _) => Some(a),
            (None, Some(_)) if o.eligible => None,
            (None, _) => Some(Decimal::ZERO),
        };
        Side { eligible: o.eligible, amount, unit: o.unit.clone(), error: o.error.as_deref().map(Arc::from) }
    }

    fn of_view(v: &ProgrammeView<'_>, texts: &mut ErrorTexts) -> Side {
        let amount = match (v.amount, v.error) {
            (Some(a), _) => Some(a),
            (None, Some(_)) if v.eligible => None,
            (None, _) => Some(Decimal::ZERO),
        };
        Side { eligible: v.eligible, amount, unit: v.unit.cloned(), error: v.error.map(|e| texts.text(e)) }
    }

    fn has_outcome(&self) -> bool {
        self.eligible || self.amount != Some(Decimal::ZERO) || self.error.is_some()
    }
}

/// One household's programmes under both policy sets: only the programmes
/// with an outcome on either side.
#[derive(Debug, Clone)]
pub struct HouseholdChange {
    /// The household's region (its county code).
    pub region: String,
    /// Programme → (baseline, reform).
    pub programmes: Vec<(Name, Side, Side)>,
}

impl HouseholdChange {
    /// Compare two assessments of one household.
    pub fn between(region: &str, before: &Assessment, after: &Assessment) -> HouseholdChange {
        let mut programmes = Vec::new();
        let names: std::collections::BTreeSet<&str> = before.programs.keys().chain(after.programs.keys()).map(|n| n.as_str()).collect();
        for name in names {
            let b = Side::of(before.programs.get(name));
            let a = Side::of(after.programs.get(name));
            if b.has_outcome() || a.has_outcome() {
                programmes.push((Name::from(name), b, a));
            }
        }
        HouseholdChange { region: region.to_string(), programmes }
    }

    /// Compare two assessments left in scratches
    /// ([`Engine::assess_validated`]), without building them: the same
    /// comparison as [`HouseholdChange::between`] of the two assessments.
    pub fn in_place(
        region: &str,
        baseline: &Engine,
        sb: &Scratch,
        reform: &Engine,
        sr: &Scratch,
        texts: &mut ErrorTexts,
    ) -> HouseholdChange {
        let mut programmes = Vec::new();
        let mut b = baseline.programme_outcomes(sb).peekable();
        let mut a = reform.programme_outcomes(sr).peekable();
        loop {
            let order = match (b.peek(), a.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => x.programme.as_str().cmp(y.programme.as_str()),
            };
            let (name, sb, sa) = match order {
                std::cmp::Ordering::Less => {
                    let v = b.next();
                    (v.map(|v| v.programme.clone()), v.as_ref().map_or(Side::NOTHING, |v| Side::of_view(v, texts)), Side::NOTHING)
                }
                std::cmp::Ordering::Greater => {
                    let v = a.next();
                    (v.map(|v| v.programme.clone()), Side::NOTHING, v.as_ref().map_or(Side::NOTHING, |v| Side::of_view(v, texts)))
                }
                std::cmp::Ordering::Equal => {
                    let (x, y) = (b.next(), a.next());
                    (
                        x.map(|v| v.programme.clone()),
                        x.as_ref().map_or(Side::NOTHING, |v| Side::of_view(v, texts)),
                        y.as_ref().map_or(Side::NOTHING, |v| Side::of_view(v, texts)),
                    )
                }
            };
            if let Some(name) = name {
                if sb.has_outcome() || sa.has_outcome() {
                    programmes.push((name, sb, sa));
                }
            }
        }
        HouseholdChange { region: region.to_string(), programmes }
    }
}

/// The most distinct change values a distribution keeps exactly; beyond it,
/// changes are grouped into bins whose width is a power of ten, and the
/// report says the width.
pub const DISTINCT_CHANGES: usize = 2048;

/// The per-household changes of one programme: each distinct change and the
/// households with it (zero changes are counted in `unchanged`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Distribution {
    /// `None`: every change kept exactly; `Some(w)`: each bin starts at a
    /// multiple of `w` yuan and holds the changes up to the next.
    pub bin_width: Option<Decimal>,
    /// (change or the bin's lower edge, households), ascending.
    pub bins: Vec<(Decimal, u64)>,
    #[serde(skip)]
    map: BTreeMap<Decimal, u64>,
}

impl Distribution {
    fn add(&mut self, change: Decimal, n: u64) {
        let key = match self.bin_width {
            Some(w) => (change / w).floor() * w,
            None => change,
        };
        *self.map.entry(key).or_insert(0) += n;
        while self.map.len() > DISTINCT_CHANGES {
            let w = self.bin_width.map_or(Decimal::ONE, |w| w * Decimal::TEN);
            self.bin_width = Some(w);
            let old = std::mem::take(&mut self.map);
            for (k, v) in old {
                *self.map.entry((k / w).floor() * w).or_insert(0) += v;
            }
        }
    }

    fn merge(&mut self, other: &Distribution) {
        if let Some(w) = other.bin_width {
            if self.bin_width.is_none_or(|mine| mine < w) {
                self.bin_width = Some(w);
                let old = std::mem::take(&mut self.map);
                for (k, v) in old {
                    self.add(k, v);
                }
            }
        }
        for (k, v) in &other.map {
            self.add(*k, *v);
        }
    }

    fn seal(&mut self) {
        self.bins = self.map.iter().map(|(k, v)| (*k, *v)).collect();
    }
}

/// One side's totals for a programme.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Households eligible.
    pub eligible: u64,
    /// Their total amount, exactly (households with an unknown amount on
    /// either side left out).
    pub amount: Decimal,
}

/// A programme's change, over the registry or one county.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProgrammeChange {
    /// Programme id.
    pub programme: String,
    /// The amount's unit.
    pub unit: Option<String>,
    /// Under the baseline.
    pub before: Totals,
    /// Under the reform.
    pub after: Totals,
    /// Eligible under the reform only.
    pub newly_eligible: u64,
    /// Eligible under the baseline only.
    pub no_longer_eligible: u64,
    /// `after.amount − before.amount`.
    pub change: Decimal,
    /// Households whose amount rose.
    pub gainers: u64,
    /// Households whose amount fell.
    pub losers: u64,
    /// Households with an outcome on either side and the same amount.
    pub unchanged: u64,
    /// Households whose amount is unknown on either side, left out of the
    /// amounts (eligibility is still counted).
    pub unknown: u64,
    /// Why, for the first of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_because: Option<String>,
    /// The programme's amounts came in more than one unit: the totals add
    /// the figures of the first unit only, and this names the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_error: Option<String>,
    #[serde(skip)]
    other_units: std::collections::BTreeSet<String>,
    /// The per-household changes (registry-wide only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Distribution>,
}

impl ProgrammeChange {
    fn add(&mut self, b: &Side, a: &Side, distribution: bool) {
        self.before.eligible += u64::from(b.eligible);
        self.after.eligible += u64::from(a.eligible);
        self.newly_eligible += u64::from(a.eligible && !b.eligible);
        self.no_longer_eligible += u64::from(b.eligible && !a.eligible);
        for u in [&b.unit, &a.unit].into_iter().flatten() {
            match &self.unit {
                None => self.unit = Some(u.as_str().to_string()),
                Some(mine) if mine != u.as_str() => {
                    self.other_units.insert(u.as_str().to_string());
                }
                Some(_) => {}
            }
        }
        let same_unit = |s: &Side| s.unit.as_ref().is_none_or(|u| self.unit.as_deref() == Some(u.as_str()));
        match (b.amount, a.amount) {
            (Some(x), Some(y)) if same_unit(b) && same_unit(a) => {
                self.before.amount += x;
                self.after.amount += y;
                let d = y - x;
                self.change += d;
                if d > Decimal::ZERO {
                    self.gainers += 1;
                } else if d < Decimal::ZERO {
                    self.losers += 1;
                } else {
                    self.unchanged += 1;
                }
                if distribution && !d.is_zero() {
                    self.distribution.get_or_insert_with(Distribution::default).add(d.normalize(), 1);
                }
            }
            (Some(_), Some(_)) => self.unknown += 1,
            _ => {
                self.unknown += 1;
                if self.unknown_because.is_none() {
                    self.unknown_because = b.error.as_deref().or(a.error.as_deref()).map(String::from);
                }
            }
        }
    }

    fn merge(&mut self, o: &ProgrammeChange) {
        self.before.eligible += o.before.eligible;
        self.after.eligible += o.after.eligible;
        self.before.amount += o.before.amount;
        self.after.amount += o.after.amount;
        self.newly_eligible += o.newly_eligible;
        self.no_longer_eligible += o.no_longer_eligible;
        self.change += o.change;
        self.gainers += o.gainers;
        self.losers += o.losers;
        self.unchanged += o.unchanged;
        self.unknown += o.unknown;
        if self.unknown_because.is_none() {
            self.unknown_because = o.unknown_because.clone();
        }
        if self.unit.is_none() {
            self.unit = o.unit.clone();
        }
        self.other_units.extend(o.other_units.iter().cloned());
        if let Some(d) = &o.distribution {
            self.distribution.get_or_insert_with(Distribution::default).merge(d);
        }
    }
}

/// One county's changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CountyChange {
    /// The county (the households' `region`).
    pub county: String,
    /// Households assessed in it.
    pub households: u64,
    /// Its programmes with an outcome on either side.
    pub programmes: Vec<ProgrammeChange>,
}

/// A policy set as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct SetDescription {
    /// What it is, as given on the command line.
    pub label: String,
    /// The assessment date.
    pub as_of: chrono::NaiveDate,
    /// The date every parameter was read on, if not `as_of`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_on: Option<chrono::NaiveDate>,
    /// Every policy in it: id, version, content hash.
    pub policies: Vec<PolicyRef>,
    /// The `--set` figures.
    pub settings: Vec<(String, String)>,
}

/// Households that could not be compared.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// `read` (the record is wrong), `baseline` or `reform` (its assessment failed).
    pub side: String,
    /// Where and what.
    pub error: RowError,
}

impl Serialize for RowError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("RowError", 5)?;
        st.serialize_field("household", &self.household)?;
        st.serialize_field("source", &self.source)?;
        st.serialize_field("row", &self.row)?;
        st.serialize_field("column", &self.column)?;
        st.serialize_field("message", &self.message)?;
        st.end()
    }
}

/// The most failures the report lists one by one (all are counted).
pub const LISTED_FAILURES: usize = 100;

/// The simulation's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The baseline policy set.
    pub baseline: SetDescription,
    /// The reform.
    pub reform: SetDescription,
    /// Households (and rows of no household) read.
    pub read: u64,
    /// Households assessed under both.
    pub compared: u64,
    /// Households that could not be compared.
    pub failed: u64,
    /// The first [`LISTED_FAILURES`] of them.
    pub failures: Vec<Failure>,
    /// Registry-wide, by programme.
    pub programmes: Vec<ProgrammeChange>,
    /// By county, ascending.
    pub counties: Vec<CountyChange>,
}

/// Adds households' changes up as they come.
#[derive(Debug, Default)]
pub struct Tally {
    read: u64,
    compared: u64,
    failed: u64,
    failures: Vec<Failure>,
    programmes: BTreeMap<String, ProgrammeChange>,
    counties: BTreeMap<String, (u64, BTreeMap<String, ProgrammeChange>)>,
}

impl Tally {
    /// Count one household's change.
    pub fn add(&mut self, h: &HouseholdChange) {
        self.read += 1;
        self.compared += 1;
        let county = self.counties.entry(h.region.clone()).or_default();
        county.0 += 1;
        for (name, b, a) in &h.programmes {
            let name = name.as_str();
            match self.programmes.get_mut(name) {
                Some(p) => p.add(b, a, true),
                None => {
                    let mut p = ProgrammeChange { programme: name.to_string(), ..Default::default() };
                    p.add(b, a, true);
                    self.programmes.insert(name.to_string(), p);
                }
            }
            match county.1.get_mut(name) {
                Some(p) => p.add(b, a, false),
                None => {
                    let mut p = ProgrammeChange { programme: name.to_string(), ..Default::default() };
                    p.add(b, a, false);
                    county.1.insert(name.to_string(), p);
                }
            }
        }
    }

    /// Count a household that could not be compared.
    pub fn fail(&mut self, side: &str, error: RowError) {
        self.read += 1;
        self.failed += 1;
        if self.failures.len() < LISTED_FAILURES {
            self.failures.push(Failure { side: side.to_string(), error });
        }
    }

    /// Add another tally (from another part of the registry) to this one.
    pub fn merge(&mut self, o: Tally) {
        self.read += o.read;
        self.compared += o.compared;
        self.failed += o.failed;
        for f in o.failures {
            if self.failures.len() < LISTED_FAILURES {
                self.failures.push(f);
            }
        }
        for (k, v) in o.programmes {
            self.programmes.entry(k.clone()).or_insert_with(|| ProgrammeChange { programme: k, ..Default::default() }).merge(&v);
        }
        for (c, (n, ps)) in o.counties {
            let mine = self.counties.entry(c).or_default();
            mine.0 += n;
            for (k, v) in ps {
                mine.1.entry(k.clone()).or_insert_with(|| ProgrammeChange { programme: k, ..Default::default() }).merge(&v);
            }
        }
    }

    /// The report.
    pub fn report(self, baseline: SetDescription, reform: SetDescription) -> Report {
        let seal = |mut p: ProgrammeChange| {
            if let Some(d) = p.distribution.as_mut() {
                d.seal();
            }
            if !p.other_units.is_empty() {
                let others: Vec<&str> = p.other_units.iter().map(String::as_str).collect();
                p.unit_error = Some(format!(
                    "amounts in {} and {}: the totals add the {0} figures only; the others are counted as unknown",
                    p.unit.as_deref().unwrap_or(""),
                    others.join(", ")
                ));
            }
            p
        };
        Report {
            baseline,
            reform,
            read: self.read,
            compared: self.compared,
            failed: self.failed,
            failures: self.failures,
            programmes: self.programmes.into_values().map(seal).collect(),
            counties: self
                .counties
                .into_iter()
                .map(|(county, (households, ps))| CountyChange { county, households, programmes: ps.into_values().map(seal).collect() })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("a decimal")
    }

    fn side(eligible: bool, amount: Option<&str>) -> Side {
        Side { eligible, amount: amount.map(d), unit: amount.map(|_| Name::from("yuan/year")), error: None }
    }

    #[test]
    fn changes_add_up_exactly_and_unknowns_stay_out() {
        let mut t = Tally::default();
        let hh = |region: &str, b: Side, a: Side| HouseholdChange { region: region.into(), programmes: vec![("dibao".into(), b, a)] };
        t.add(&hh("130131", side(true, Some("7200.00")), side(true, Some("11280.00"))));
        t.add(&hh("130131", side(false, Some("0")), side(true, Some("1360.10"))));
        t.add(&hh("130129", side(true, Some("10.00")), side(false, Some("0"))));
        let mut unknown = side(true, None);
        unknown.error = Some(Arc::from("parameter `x` has no value"));
        t.add(&hh("130129", unknown, side(true, Some("5"))));
        let r = t.report(
            SetDescription { label: "b".into(), as_of: chrono::NaiveDate::MIN, parameters_on: None, policies: vec![], settings: vec![] },
            SetDescription { label: "r".into(), as_of: chrono::NaiveDate::MIN, parameters_on: None, policies: vec![], settings: vec![] },
        );
        let p = &r.programmes[0];
        assert_eq!((p.before.eligible, p.after.eligible, p.newly_eligible, p.no_longer_eligible), (3, 3, 1, 1));
        assert_eq!(p.before.amount, d("7210.00"));
        assert_eq!(p.after.amount, d("12640.10"));
        assert_eq!(p.change, d("5430.10"));
        assert_eq!((p.gainers, p.losers, p.unknown), (2, 1, 1));
        assert_eq!(p.unknown_because.as_deref(), Some("parameter `x` has no value"));
        let dist = p.distribution.as_ref().expect("a distribution");
        assert_eq!(dist.bins, vec![(d("-10"), 1), (d("1360.1"), 1), (d("4080"), 1)]);
        assert_eq!(r.counties.len(), 2);
        assert_eq!(r.counties[0].county, "130129");
        assert_eq!(r.counties[1].programmes[0].change, d("5440.10"));
    }

    #[test]
    fn a_wide_distribution_is_binned_and_says_so() {
        let mut dist = Distribution::default();
        for i in 0..(DISTINCT_CHANGES as i64 * 3) {
            dist.add(Decimal::new(i * 7, 1), 1);
        }
        dist.seal();
        assert!(dist.bins.len() <= DISTINCT_CHANGES);
        assert_eq!(dist.bin_width, Some(Decimal::TEN));
        assert_eq!(dist.bins.iter().map(|b| b.1).sum::<u64>(), DISTINCT_CHANGES as u64 * 3);
    }
}
