//! Catalogue coverage: which catalogued rules the policy library encodes and
//! which of those its shipped tests exercise.
//!
//! The catalogue (`policies/catalogue.tsv`) lists every targeting and benefit
//! rule of the source documents by stable id, with its document, clause and
//! subject (`H` household, `M` member, `C` medical claim, `L` loan, `E`
//! employment/employer — evaluated per household; `V` village, `A`
//! administrative target — kept as indicators). Lines starting with `#` and
//! blank lines are ignored; the first other line is the header
//! `id<TAB>document<TAB>clause<TAB>subject`.
//!
//! # Definitions
//!
//! A rule or indicator **encodes** catalogue id `C` when its id is `C` itself
//! or `C` followed by a suffix of lowercase ASCII letters (`HB-9a`, `HB-9b`
//! encode `HB-9`; `SJZ-10` does not encode `SJZ-1`).
//!
//! The **programmes of a rule** are those its outcomes name: `eligible P`,
//! `amount P`, `flag P`, `assign P`, and for `pay LAYER` the programme the
//! layer's declaration names (`layer basic … { program medical.basic }`).
//!
//! A test (`test "…" { … }` in any file of the engine) is a **positive test**
//! of `C` when it has an expectation `expect P.reasons contains R` where `R`
//! encodes `C` and `P` is a programme of rule `R`. It is a **negative test** of
//! `C` when it has an expectation
//! - `expect P.reasons lacks R` where `R` encodes `C` and `P` is a programme of
//!   rule `R`, or
//! - `expect P.eligible == false` where some rule encoding `C` has the outcome
//!   `eligible P`, or
//! - `expect P.flag == false` where some rule encoding `C` has the outcome
//!   `flag P`.
//!
//! The classification of a catalogue id is then:
//! - **encoded + tested**: a rule or indicator encodes it, and — for an id
//!   whose subject names any of H, M, C, L, E — at least one positive and at
//!   least one negative test exist (V/A ids need no test: they are metadata);
//! - **encoded only**: a rule or indicator encodes it, but the tests above are
//!   not both there (an H/M/C/L/E id encoded only by an indicator is here too:
//!   an indicator fires for no household);
//! - **missing**: nothing encodes it.
//!
//! Coverage reads the tests as written; that they pass is what `fupin test`
//! (and `tests/policy_tests.rs`) checks.

use crate::check::{Module, OutcomeDef};
use crate::engine::Engine;
use crate::syntax::ast::{ExpectPath, ExpectValue, TestEntry};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// How far a catalogue id is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Encoded, and (for H/M/C/L/E ids) tested both ways.
    Tested,
    /// Encoded, not tested both ways.
    EncodedOnly,
    /// Not encoded.
    Missing,
}

impl Status {
    /// As shown in the table.
    pub fn label(self) -> &'static str {
        match self {
            Status::Tested => "encoded + tested",
            Status::EncodedOnly => "encoded only",
            Status::Missing => "missing",
        }
    }
}

/// One catalogue id and its coverage.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Catalogue id (`HB-9`).
    pub id: String,
    /// Document (number or title).
    pub document: String,
    /// Clause.
    pub clause: String,
    /// Subject letters as catalogued (`M/H`, `V`, …).
    pub subject: String,
    /// Whether the subject names any of H, M, C, L, E (evaluated per household).
    pub household_level: bool,
    /// Rules encoding it (`HB-9a`, `HB-9b`, …), in the order they were loaded.
    pub rules: Vec<String>,
    /// Indicators encoding it.
    pub indicators: Vec<String>,
    /// Tests with a positive expectation (`name (file:line:col)`).
    pub positive: Vec<String>,
    /// Tests with a negative expectation.
    pub negative: Vec<String>,
    /// Classification.
    pub status: Status,
}

impl Entry {
    /// The document prefix of the id (`HB` for `HB-9`).
    pub fn prefix(&self) -> &str {
        prefix_of(&self.id)
    }
}

/// The coverage of a catalogue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// One entry per catalogue id, in catalogue order.
    pub entries: Vec<Entry>,
    /// Malformed catalogue lines, duplicate ids, test files that cannot be read, and rules or indicators with a
    /// catalogue-style id (`XX-9`, `XX-9a`) that encode no catalogue id.
    pub problems: Vec<String>,
}

impl Report {
    /// Entries with this status.
    pub fn with_status(&self, s: Status) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.status == s)
    }

    /// H/M/C/L/E entries that nothing encodes.
    pub fn missing_household_level(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.household_level && e.status == Status::Missing)
    }

    /// Entries whose id starts with one of the document prefixes (`"HB"` matches `HB-1`, not `HBX-1`).
    pub fn for_documents<'a>(&'a self, prefixes: &'a [&'a str]) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| prefixes.contains(&e.prefix()))
    }

    /// Counts (tested, encoded only, missing) over some entries.
    pub fn counts<'a>(entries: impl Iterator<Item = &'a Entry>) -> (usize, usize, usize) {
        entries.fold((0, 0, 0), |(t, o, m), e| match e.status {
            Status::Tested => (t + 1, o, m),
            Status::EncodedOnly => (t, o + 1, m),
            Status::Missing => (t, o, m + 1),
        })
    }

    /// The table and summary as plain text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let w_id = self.entries.iter().map(|e| e.id.len()).max().unwrap_or(2).max(2);
        let w_subj = self.entries.iter().map(|e| e.subject.len()).max().unwrap_or(4).max(4);
        let _ = writeln!(out, "{:<w_id$}  {:<w_subj$}  {:<16}  {:>3} {:>3}  encoded as", "id", "subj", "status", "+", "-");
        for e in &self.entries {
            let by: Vec<&str> = e.rules.iter().chain(e.indicators.iter()).map(String::as_str).collect();
            let by = if by.is_empty() { "-".to_string() } else { by.join(" ") };
            let (p, n) = if e.household_level {
                (e.positive.len().to_string(), e.negative.len().to_string())
            } else {
                ("n/a".to_string(), "n/a".to_string())
            };
            let _ = writeln!(out, "{:<w_id$}  {:<w_subj$}  {:<16}  {:>3} {:>3}  {}", e.id, e.subject, e.status.label(), p, n, by);
        }
        out.push('\n');
        let mut prefixes: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !prefixes.contains(&e.prefix()) {
                prefixes.push(e.prefix());
            }
        }
        for p in &prefixes {
            let (t, o, m) = Self::counts(self.for_documents(std::slice::from_ref(p)));
            let _ = writeln!(out, "{p:<w_id$}  {t} encoded + tested, {o} encoded only, {m} missing");
        }
        let (t, o, m) = Self::counts(self.entries.iter());
        let _ = writeln!(out, "total: {} ids — {t} encoded + tested, {o} encoded only, {m} missing", self.entries.len());
        let missing: Vec<&str> = self.missing_household_level().map(|e| e.id.as_str()).collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "missing H/M/C/L/E ids: {}", missing.join(", "));
        }
        for p in &self.problems {
            let _ = writeln!(out, "problem: {p}");
        }
        out
    }
}

fn prefix_of(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// Whether `rule` encodes catalogue id `id`: equal, or `id` followed by lowercase ASCII letters.
pub fn encodes(rule: &str, id: &str) -> bool {
    match rule.strip_prefix(id) {
        Some("") => true,
        Some(rest) => rest.bytes().all(|b| b.is_ascii_lowercase()),
        None => false,
    }
}

/// Whether an id has the catalogue shape: `PREFIX-N` with an optional lowercase suffix.
fn catalogue_shaped(id: &str) -> bool {
    let Some((p, rest)) = id.split_once('-') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase()) && digits > 0 && rest.bytes().skip(digits).all(|b| b.is_ascii_lowercase())
}

struct Row {
    id: String,
    document: String,
    clause: String,
    subject: String,
}

fn parse_catalogue(text: &str, problems: &mut Vec<String>) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut header_seen = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        if !header_seen {
            header_seen = true;
            if cols.first().is_some_and(|c| c.eq_ignore_ascii_case("id")) {
                continue;
            }
        }
        if cols.len() != 4 || cols.iter().any(|c| c.is_empty()) {
            problems.push(format!("catalogue line {}: expected 4 tab-separated columns (id, document, clause, subject)", n + 1));
            continue;
        }
        if !catalogue_shaped(cols[0]) || cols[0].bytes().last().is_some_and(|b| b.is_ascii_lowercase()) {
            problems.push(format!("catalogue line {}: `{}` is not a catalogue id (PREFIX-N)", n + 1, cols[0]));
            continue;
        }
        if rows.iter().any(|r| r.id == cols[0]) {
            problems.push(format!("catalogue line {}: duplicate id `{}`", n + 1, cols[0]));
            continue;
        }
        rows.push(Row { id: cols[0].into(), document: cols[1].into(), clause: cols[2].into(), subject: cols[3].into() });
    }
    rows
}

/// The programmes a rule's outcomes name.
fn rule_programs(m: &Module, outcomes: &[OutcomeDef]) -> BTreeSet<String> {
    let name = |p: u32| m.programs.get(p as usize).map(|x| x.id.clone());
    outcomes
        .iter()
        .filter_map(|o| match o {
            OutcomeDef::Eligible(p) | OutcomeDef::Amount(p, _) | OutcomeDef::Flag(p) | OutcomeDef::Assign(p, _) => name(*p),
            OutcomeDef::Pay(l, _) => m.layers.get(*l as usize).and_then(|l| l.program).and_then(name),
            OutcomeDef::AddTally(..) => None,
        })
        .collect()
}

/// Classify every id of the catalogue against the engine's rules, indicators and tests.
pub fn report(engine: &Engine, catalogue: &str) -> Report {
    let program = engine.program();
    let m = &program.module;
    let mut problems = Vec::new();
    let rows = parse_catalogue(catalogue, &mut problems);

    // Per rule: id, all programmes, programmes it makes eligible, programmes it flags.
    struct R {
        id: String,
        progs: BTreeSet<String>,
        eligible: BTreeSet<String>,
        flags: BTreeSet<String>,
    }
    let rules: Vec<R> = m
        .rules
        .iter()
        .map(|r| {
            let pick = |f: fn(&OutcomeDef) -> Option<u32>| -> BTreeSet<String> {
                r.outcomes.iter().filter_map(f).filter_map(|p| m.programs.get(p as usize)).map(|p| p.id.clone()).collect()
            };
            R {
                id: r.id.clone(),
                progs: rule_programs(m, &r.outcomes),
                eligible: pick(|o| if let OutcomeDef::Eligible(p) = o { Some(*p) } else { None }),
                flags: pick(|o| if let OutcomeDef::Flag(p) = o { Some(*p) } else { None }),
            }
        })
        .collect();

    // Every expectation about a programme: (test label, programme, value).
    let mut expectations: Vec<(String, String, &ExpectValue, &str)> = Vec::new();
    let tests = match engine.tests() {
        Ok(t) => t,
        Err(d) => {
            // the tests of a file that cannot be read count for nothing, and the report says why
            problems.extend(d.items.iter().map(|e| {
                let at = e.loc.map(|l| program.sources.describe(l)).unwrap_or_default();
                format!("{at}: the test file cannot be read: {}", e.message)
            }));
            &[]
        }
    };
    for (file, t) in tests {
        let label = format!("{} ({})", t.name.value, program.sources.describe(crate::diagnostic::loc(*file, t.span)));
        for e in &t.entries {
            if let TestEntry::Expect(x) = e {
                if let ExpectPath::Program(p, field) = &x.path {
                    expectations.push((label.clone(), p.joined(), &x.value, field.name.as_str()));
                }
            }
        }
    }

    let mut entries = Vec::new();
    for row in rows {
        let household_level = row.subject.chars().any(|c| matches!(c, 'H' | 'M' | 'C' | 'L' | 'E'));
        let mine: Vec<&R> = rules.iter().filter(|r| encodes(&r.id, &row.id)).collect();
        let mut seen_rules = BTreeSet::new();
        let rule_ids: Vec<String> = mine.iter().filter(|r| seen_rules.insert(r.id.clone())).map(|r| r.id.clone()).collect();
        let mut seen_ind = BTreeSet::new();
        let indicators: Vec<String> =
            m.indicators.iter().filter(|i| encodes(&i.id, &row.id) && seen_ind.insert(i.id.clone())).map(|i| i.id.clone()).collect();

        let mut positive = BTreeSet::new();
        let mut negative = BTreeSet::new();
        for (label, prog, value, field) in &expectations {
            let about = |rid: &str| mine.iter().any(|r| r.id == rid && r.progs.contains(prog.as_str()));
            match (*field, value) {
                ("reasons", ExpectValue::Contains(r)) if about(&r.name) => {
                    positive.insert(label.clone());
                }
                ("reasons", ExpectValue::Lacks(r)) if about(&r.name) => {
                    negative.insert(label.clone());
                }
                ("eligible", ExpectValue::Bool(false)) if mine.iter().any(|r| r.eligible.contains(prog.as_str())) => {
                    negative.insert(label.clone());
                }
                ("flag", ExpectValue::Bool(false)) if mine.iter().any(|r| r.flags.contains(prog.as_str())) => {
                    negative.insert(label.clone());
                }
                _ => {}
            }
        }
        let encoded = !rule_ids.is_empty() || !indicators.is_empty();
        let status = if !encoded {
            Status::Missing
        } else if !household_level || (!positive.is_empty() && !negative.is_empty()) {
            Status::Tested
        } else {
            Status::EncodedOnly
        };
        entries.push(Entry {
            id: row.id,
            document: row.document,
            clause: row.clause,
            subject: row.subject,
            household_level,
            rules: rule_ids,
            indicators,
            positive: positive.into_iter().collect(),
            negative: negative.into_iter().collect(),
            status,
        });
    }

    // Catalogue-shaped ids that encode nothing in the catalogue (typos, ids not catalogued).
    let mut stray = BTreeSet::new();
    for id in m.rules.iter().map(|r| &r.id).chain(m.indicators.iter().map(|i| &i.id)) {
        if catalogue_shaped(id) && !entries.iter().any(|e| encodes(id, &e.id)) {
            stray.insert(id.clone());
        }
    }
    for id in stray {
        problems.push(format!("`{id}` has a catalogue-style id but encodes no catalogue id"));
    }
    Report { entries, problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_lowercase_letters_only() {
        assert!(encodes("HB-9", "HB-9"));
        assert!(encodes("HB-9a", "HB-9"));
        assert!(encodes("HB-9ab", "HB-9"));
        assert!(!encodes("HB-90", "HB-9"));
        assert!(!encodes("SJZ-10", "SJZ-1"));
        assert!(!encodes("HB-9-a", "HB-9"));
        assert!(!encodes("HB-9A", "HB-9"));
        assert!(catalogue_shaped("SJZ-16"));
        assert!(catalogue_shaped("HB-9f"));
        assert!(!catalogue_shaped("CN-MON-1"));
        assert!(!catalogue_shaped("SJZ-MED-1"));
    }
}
