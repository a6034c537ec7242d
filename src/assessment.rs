//! What an assessment says (DESIGN §4): stable, serde JSON.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A name or text an assessment carries from the loaded policies (a rule's
/// id, title and citation, a policy's id, version and hash, a programme's
/// id and unit, a layer's name): shared with the engine, so building an
/// assessment copies a pointer, not the text. It reads as a `str` (it
/// derefs to one, compares with one and is looked up by one:
/// `assessment.programs["dibao"]`), and is a JSON string.
pub struct Name(Arc<NameText>);

impl Clone for Name {
    fn clone(&self) -> Name {
        Name(Arc::clone(&self.0))
    }

    /// The same name (the same pointer, as an assessment built again into
    /// the same buffers mostly finds) is left as it is: no reference count
    /// is touched.
    fn clone_from(&mut self, source: &Name) {
        if !Arc::ptr_eq(&self.0, &source.0) {
            self.0 = Arc::clone(&source.0);
        }
    }
}

/// A name's text, and the same as a JSON string (quoted and escaped), which
/// [`write_json`] copies instead of escaping the text again.
struct NameText {
    text: Box<str>,
    json: Box<str>,
}

impl Name {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// The text as a JSON string.
    pub(crate) fn json(&self) -> &str {
        &self.0.json
    }
}

impl PartialEq for Name {
    fn eq(&self, o: &Name) -> bool {
        self.as_str() == o.as_str()
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, o: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Name {
    fn cmp(&self, o: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(o.as_str())
    }
}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl Default for Name {
    /// The empty text.
    fn default() -> Name {
        Name::from("")
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        // a `str` always serialises; the fallback is never taken
        let json = serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""));
        Name(Arc::new(NameText { text: s.into(), json: json.into() }))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name::from(s.as_str())
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.as_str().to_string()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == o
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, o: &String) -> bool {
        self.as_str() == o.as_str()
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, o: &Name) -> bool {
        self == o.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, o: &Name) -> bool {
        *self == o.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, o: &Name) -> bool {
        self.as_str() == o.as_str()
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Name::from)
    }
}

/// The result of assessing one household on one date.
/// ([`crate::Engine::assess_into`] builds one again into the buffers of
/// another; the default is empty, dated 1970-01-01.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Household id.
    pub household: String,
    /// Assessment date.
    pub as_of: NaiveDate,
    /// The date every parameter was read on, when it was not `as_of`
    /// ([`crate::Scratch::set_parameters_on`]): the figures are that date's,
    /// everything else `as_of`'s. Absent when they are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters_on: Option<NaiveDate>,
    /// Every policy applied, general to specific.
    pub policies: Vec<PolicyRef>,
    /// One entry per programme that any applied rule can define, keyed by programme id.
    pub programs: BTreeMap<Name, ProgramOutcome>,
    /// One entry per medical claim, in date order.
    pub claims: Vec<ClaimOutcome>,
    /// Every floor or cap that changed a parameter's value the assessment
    /// read (a deployer's figure outside the document's bounds is used as the
    /// bound, and said so here); absent when none did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Clamped>,
    /// The explanation, when tracing was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceEvent>>,
}

/// A parameter's value changed by a floor (`不低于`) or a cap (`最高不超过`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clamped {
    /// The parameter.
    pub parameter: String,
    /// The date it was read for.
    pub date: NaiveDate,
    /// The value before the bound applied.
    pub value: String,
    /// Where that value came from: a policy id, `set` (a deployer's
    /// setting) or `test` (a test's `set`).
    pub source: String,
    /// `floor` or `cap`.
    pub bound: String,
    /// The bound's value: the value used.
    pub limit: String,
    /// The policy whose definition states the bound.
    pub policy: String,
    /// The citation of that definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
}

impl std::fmt::Display for Clamped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (side, kind) = if self.bound == "cap" { ("above", "cap") } else { ("below", "floor") };
        write!(
            f,
            "parameter `{}` on {}: {} (from {}) is {side} its {kind} {} ({}{}); {} is used",
            self.parameter,
            self.date,
            self.value,
            self.source,
            self.limit,
            self.policy,
            self.citation.as_ref().map(|c| format!(", {c}")).unwrap_or_default(),
            self.limit
        )
    }
}

/// A policy applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    /// Id.
    pub id: Name,
    /// Version.
    pub version: Name,
    /// Content hash (`sha256:…`).
    pub hash: Name,
}

/// One programme's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgramOutcome {
    /// The household qualifies: an `eligible` or `amount` outcome for the
    /// programme fired, or a claim layer counted toward it was paid — the same
    /// flag `eligible(P)` reads in the language. Flags and assignments alone
    /// do not make a programme eligible (see `flag` and `value`).
    pub eligible: bool,
    /// What it pays, if the programme has an amount and a rule defined it.
    pub amount: Option<Decimal>,
    /// Unit of the amount (`yuan/year`, `yuan/month`, `yuan`).
    pub unit: Option<Name>,
    /// Flagged for follow-up.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flag: bool,
    /// Assigned value (e.g. the 一批 route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Name>,
    /// The rules that fired, with their citations.
    pub reasons: Vec<Reason>,
    /// Why the amount (or eligibility) is unknown: a parameter the programme
    /// needs has no value (the document gives no figure and no overlay supplied one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Rule id (`SJZ-1`).
    pub rule: Name,
    /// Rule title.
    pub title: Name,
    /// Document and clause.
    pub citation: Name,
    /// The policy the rule belongs to.
    pub policy: Name,
    /// Members, claims or loans it fired for (empty for household rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
}

/// One claim's settlement, layer by layer, in settlement order: the sum of
/// `layers` plus `out_of_pocket` is exactly `total_cost`. A claim that could
/// not be settled (a deployer figure is missing) has every layer and
/// `out_of_pocket` null, and says why in `error`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClaimOutcome {
    /// Member id.
    pub member: String,
    /// Claim id, or `MEMBER#N`.
    pub claim: String,
    /// Date.
    pub date: NaiveDate,
    /// Total cost.
    pub total_cost: Decimal,
    /// Every paying layer of the policies applied (`layer … { program … }`),
    /// in settlement order: what it paid, or null when the claim was not settled.
    pub layers: Layers,
    /// What the patient pays (null when the claim was not settled).
    pub out_of_pocket: Option<Decimal>,
    /// The parts of out-of-pocket the policies name (`layer … { within
    /// out_of_pocket }`, the deductible borne: act_pay_dedc), each at most
    /// `out_of_pocket`.
    #[serde(default, skip_serializing_if = "Layers::is_empty")]
    pub out_of_pocket_parts: Layers,
    /// The rules that set the layers.
    pub reasons: Vec<Reason>,
    /// Why the claim could not be settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ClaimOutcome {
    /// The amount of layer (or part of out-of-pocket) `name`: `None` when the
    /// claim has no such layer or was not settled.
    pub fn layer(&self, name: &str) -> Option<Decimal> {
        self.layers.get(name).or_else(|| self.out_of_pocket_parts.get(name)).flatten()
    }

    /// The sum of the paying layers, `None` when the claim was not settled.
    pub fn paid(&self) -> Option<Decimal> {
        self.layers.iter().try_fold(Decimal::ZERO, |a, (_, v)| v.and_then(|v| a.checked_add(v)))
    }
}

/// Amounts by layer name, in settlement order; JSON: an object whose keys
/// keep that order, each value an amount or null.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Layers(pub Vec<(Name, Option<Decimal>)>);

impl Layers {
    /// The entry for `name`: `Some(None)` for a layer present without an amount.
    pub fn get(&self, name: &str) -> Option<Option<Decimal>> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
    /// Entries in settlement order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<Decimal>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }
    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Layers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Layers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Layers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of layer amounts (or nulls)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Layers, A::Error> {
                let mut out: Vec<(Name, Option<Decimal>)> = Vec::new();
                while let Some((k, v)) = a.next_entry::<Name, Option<Decimal>>()? {
                    if out.iter().any(|(n, _)| *n == k) {
                        return Err(serde::de::Error::custom(format!("layer `{k}` appears twice")));
                    }
                    out.push((k, v));
                }
                Ok(Layers(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A parameter a rule read: the figure, the date it was read for, where it
/// came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamRead {
    /// Name.
    pub name: String,
    /// The date the figure was read for (`YYYY-MM-DD`).
    pub on: String,
    /// Value.
    pub value: String,
    /// The policy whose definition was used; `set` for a deployer's setting,
    /// `test` for a test's `set`.
    pub policy: String,
    /// Citation of the definition or value.
    pub citation: Option<String>,
}

/// A household field a rule read that the household record left out: the
/// model's default was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultedField {
    /// JSON path of the field in the household record (`housing.safety_grade`,
    /// `members[0].labour`).
    pub field: String,
    /// The default used.
    pub value: String,
}

impl std::fmt::Display for DefaultedField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} defaulted to {} (not in the household record)", self.field, self.value)
    }
}

impl std::fmt::Display for ParamRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} = {}  [{}{}]",
            self.name,
            self.on,
            self.value,
            self.policy,
            self.citation.as_ref().map(|c| format!(", {c}")).unwrap_or_default()
        )
    }
}

/// One step of the explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceEvent {
    /// A parameter was read (once per parameter and date).
    Parameter {
        /// Name.
        name: String,
        /// The date the figure was read for (`YYYY-MM-DD`; empty in traces
        /// written before it was recorded).
        #[serde(default)]
        on: String,
        /// Value.
        value: String,
        /// The policy whose definition was used.
        policy: String,
        /// Citation of the definition or value.
        citation: Option<String>,
        /// Other policies' definitions this one overrode.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        overrides: Vec<String>,
    },
    /// A rule was evaluated for a subject.
    Rule {
        /// Rule id.
        rule: String,
        /// Citation.
        citation: String,
        /// Subject (household, member id, claim, loan).
        subject: String,
        /// Whether its condition held.
        fired: bool,
        /// Named values and outcomes, in order.
        values: Vec<(String, String)>,
        /// Every parameter its named values, condition and outcomes read
        /// (directly, through household-level named values, functions or
        /// other parameters' definitions), once per parameter and date, in
        /// the order first read.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        parameters: Vec<ParamRead>,
        /// The household-level named values it read, with their values.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        named: Vec<(String, String)>,
        /// The household fields it read that the record left out (the
        /// model's default was used).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        defaulted: Vec<DefaultedField>,
    },
    /// A rule's output was overridden by one that takes precedence.
    Overridden {
        /// The output.
        target: String,
        /// The subject the output is for (`household`, `member m1`, `claim c1 of member m1`, `loan l1`).
        #[serde(default)]
        subject: String,
        /// The winning rule.
        winner: String,
        /// The overridden rule.
        loser: String,
        /// Why the winner takes precedence (`policy X extends Y`, `A is an exception to B`, …).
        why: String,
    },
}

impl TraceEvent {
    /// The lines of text this event reads as (the trace part of [`Assessment::explain`]).
    pub fn lines(&self) -> Vec<String> {
        match self {
            TraceEvent::Parameter { name, on, value, policy, citation, overrides } => {
                let mut s = format!("param {name}");
                if !on.is_empty() {
                    s.push_str(&format!(" on {on}"));
                }
                s.push_str(&format!(" = {value}  [{policy}{}]", citation.as_ref().map(|c| format!(", {c}")).unwrap_or_default()));
                if !overrides.is_empty() {
                    s.push_str(&format!("  (overrides {})", overrides.join(", ")));
                }
                vec![s]
            }
            TraceEvent::Rule { rule, citation, subject, fired, values, parameters, named, defaulted } => {
                let mut v = vec![format!("{} {rule} for {subject}  [{citation}]", if *fired { "fired  " } else { "skipped" })];
                v.extend(values.iter().map(|(k, x)| format!("    {k} = {x}")));
                v.extend(named.iter().map(|(k, x)| format!("    value {k} = {x}")));
                v.extend(parameters.iter().map(|p| format!("    param {p}")));
                v.extend(defaulted.iter().map(|d| format!("    note: {d}")));
                v
            }
            TraceEvent::Overridden { target, subject, winner, loser, why } => {
                let of = if subject.is_empty() { String::new() } else { format!(" ({subject})") };
                vec![format!("rule {loser}{of}: lost to {winner} on {target} — {why}")]
            }
        }
    }
}

impl Assessment {
    /// Every confined error (programmes and claims whose figures are unknown).
    pub fn errors(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (id, p) in &self.programs {
            if let Some(e) = &p.error {
                out.push(format!("{id}: {e}"));
            }
        }
        for c in &self.claims {
            if let Some(e) = &c.error {
                out.push(format!("claim {}: {e}", c.claim));
            }
        }
        out
    }

    /// Render the trace as the text an analyst reads: the trace events in
    /// order, then each programme and claim with the chain that produced it
    /// (see docs/output.md, "The trace and `--explain`").
    pub fn explain(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("household {} assessed on {}\n", self.household, self.as_of));
        for p in &self.policies {
            s.push_str(&format!("  policy {} {} ({})\n", p.id, p.version, p.hash));
        }
        for w in &self.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        let trace: &[TraceEvent] = self.trace.as_deref().unwrap_or(&[]);
        let index = TraceIndex::new(trace);
        for e in trace {
            for line in e.lines() {
                s.push_str(&line);
                s.push('\n');
            }
        }
        s.push_str("programmes:\n");
        for (id, p) in &self.programs {
            if !p.eligible && !p.flag && p.value.is_none() {
                continue;
            }
            s.push_str(&format!(
                "  {id}: {}",
                if p.eligible {
                    "eligible"
                } else if p.flag {
                    "flagged"
                } else {
                    "assigned"
                }
            ));
            if let Some(e) = &p.error {
                s.push_str(&format!(", amount unknown: {e}"));
            }
            if let Some(a) = p.amount {
                s.push_str(&format!(", {a} {}", p.unit.as_deref().unwrap_or("")));
            }
            if let Some(v) = &p.value {
                s.push_str(&format!(", {v}"));
            }
            s.push('\n');
            for r in &p.reasons {
                s.push_str(&format!("      because {} {} [{}]\n", r.rule, r.title, r.citation));
                let subjects: Vec<&str> =
                    if r.subjects.is_empty() { vec!["household"] } else { r.subjects.iter().map(String::as_str).collect() };
                for subject in subjects {
                    chain(&mut s, &index, &r.rule, subject, "        ");
                }
            }
            lost(&mut s, index.lost_by_program.get(id.as_str()), "      ");
        }
        for c in &self.claims {
            if let Some(e) = &c.error {
                s.push_str(&format!("claim {} ({}, {}): not settled: {e}\n", c.claim, c.member, c.date));
                continue;
            }
            let amount = |v: Option<Decimal>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
            let mut line = format!("claim {} ({}, {}): total {} =", c.claim, c.member, c.date, c.total_cost);
            for (name, v) in c.layers.iter() {
                line.push_str(&format!(" {name} {} +", amount(v)));
            }
            line.push_str(&format!(" out_of_pocket {}", amount(c.out_of_pocket)));
            let parts: Vec<String> = c.out_of_pocket_parts.iter().map(|(n, v)| format!("{n} {}", amount(v))).collect();
            if !parts.is_empty() {
                line.push_str(&format!(" ({})", parts.join(", ")));
            }
            s.push_str(&line);
            s.push('\n');
            let subject = claim_subject(c);
            for r in &c.reasons {
                s.push_str(&format!("      because {} {} [{}]\n", r.rule, r.title, r.citation));
                chain(&mut s, &index, &r.rule, &subject, "        ");
            }
            lost(&mut s, index.lost_by_claim.get(subject.as_str()), "      ");
        }
        s
    }
}

/// The subject a claim's rules are traced for (`claim c1 of member m1`).
pub fn claim_subject(c: &ClaimOutcome) -> String {
    match c.claim.strip_prefix(&format!("{}#", c.member)) {
        Some(k) => format!("claim #{k} of member {}", c.member),
        None => format!("claim {} of member {}", c.claim, c.member),
    }
}

/// The programme an output (`amount dibao`, `eligible(dibao)`) is of.
fn target_program(target: &str) -> Option<&str> {
    if let Some(rest) = target.strip_prefix("eligible(") {
        return rest.strip_suffix(')');
    }
    ["amount ", "flag ", "assign "].iter().find_map(|p| target.strip_prefix(p))
}

/// What [`Assessment::explain`] looks up in the trace, found in one pass (so
/// explaining is linear in the trace, however many subjects and claims): the
/// first `fired` rule event of each (rule, subject), and the `Overridden`
/// events of each programme and of each claim's layers, in trace order.
struct TraceIndex<'t> {
    fired: std::collections::HashMap<(&'t str, &'t str), &'t TraceEvent>,
    lost_by_program: std::collections::HashMap<&'t str, Vec<&'t TraceEvent>>,
    lost_by_claim: std::collections::HashMap<&'t str, Vec<&'t TraceEvent>>,
}

impl<'t> TraceIndex<'t> {
    fn new(trace: &'t [TraceEvent]) -> TraceIndex<'t> {
        let mut ix = TraceIndex { fired: Default::default(), lost_by_program: Default::default(), lost_by_claim: Default::default() };
        for e in trace {
            match e {
                TraceEvent::Rule { rule, subject, fired: true, .. } => {
                    ix.fired.entry((rule.as_str(), subject.as_str())).or_insert(e);
                }
                TraceEvent::Overridden { target, subject, .. } => {
                    if let Some(p) = target_program(target) {
                        ix.lost_by_program.entry(p).or_default().push(e);
                    }
                    if target.starts_with("pay ") {
                        ix.lost_by_claim.entry(subject.as_str()).or_default().push(e);
                    }
                }
                _ => {}
            }
        }
        ix
    }
}

/// The chain of the fired rule `rule` for `subject`: its named values and
/// outcomes, the named values and parameters it read, the defaults it used.
fn chain(s: &mut String, index: &TraceIndex<'_>, rule: &str, subject: &str, indent: &str) {
    let found = index.fired.get(&(rule, subject)).copied();
    let Some(TraceEvent::Rule { values, parameters, named, defaulted, .. }) = found else { return };
    if subject != "household" {
        s.push_str(&format!("{indent}for {subject}:\n"));
    }
    for (k, v) in values {
        s.push_str(&format!("{indent}  {k} = {v}\n"));
    }
    for (k, v) in named {
        s.push_str(&format!("{indent}  value {k} = {v}\n"));
    }
    for p in parameters {
        s.push_str(&format!("{indent}  param {p}\n"));
    }
    for d in defaulted {
        s.push_str(&format!("{indent}  note: {d}\n"));
    }
}

/// The rules that lost an output on precedence (`events`, in trace order), with the winner and why.
fn lost(s: &mut String, events: Option<&Vec<&TraceEvent>>, indent: &str) {
    for e in events.into_iter().flatten() {
        for line in e.lines() {
            s.push_str(&format!("{indent}{line}\n"));
        }
    }
}

/// The pieces an assessment's JSON is written with, by [`write_json`] and
/// by the writer that works from the evaluation's buffers
/// (`Engine::assess_json`).
pub(crate) mod json_parts {
    use super::Name;
    use serde::Serialize;

    /// A name, as the JSON string it carries.
    pub(crate) fn name(out: &mut Vec<u8>, n: &Name) {
        out.extend_from_slice(n.json().as_bytes());
    }

    /// `"k":` — the keys are the assessment's field names: nothing to escape.
    pub(crate) fn key(out: &mut Vec<u8>, k: &str) {
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
    }

    /// Any other value, as serde writes it.
    pub(crate) fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> serde_json::Result<()> {
        serde_json::to_writer(&mut *out, v)
    }
}

/// Write `a` as JSON to `out`: exactly the bytes `serde_json::to_writer`
/// writes (`tests/differential.rs` compares them on every assessment it
/// makes), without escaping the policies' names again for every household —
/// each [`Name`] carries its JSON form. An assessment with a trace is
/// written by serde.
pub fn write_json(a: &Assessment, out: &mut Vec<u8>) -> serde_json::Result<()> {
    use json_parts::{key, name, value};
    if a.trace.is_some() {
        return serde_json::to_writer(out, a);
    }
    fn reasons(out: &mut Vec<u8>, rs: &[Reason]) -> serde_json::Result<()> {
        out.push(b'[');
        for (i, r) in rs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            key(out, "rule");
            name(out, &r.rule);
            out.push(b',');
            key(out, "title");
            name(out, &r.title);
            out.push(b',');
            key(out, "citation");
            name(out, &r.citation);
            out.push(b',');
            key(out, "policy");
            name(out, &r.policy);
            if !r.subjects.is_empty() {
                out.push(b',');
                key(out, "subjects");
                value(out, &r.subjects)?;
            }
            out.push(b'}');
        }
        out.push(b']');
        Ok(())
    }
    fn layers(out: &mut Vec<u8>, l: &Layers) -> serde_json::Result<()> {
        out.push(b'{');
        for (i, (n, v)) in l.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            name(out, n);
            out.push(b':');
            value(out, v)?;
        }
        out.push(b'}');
        Ok(())
    }
    out.push(b'{');
    key(out, "household");
    value(out, &a.household)?;
    out.push(b',');
    key(out, "as_of");
    value(out, &a.as_of)?;
    out.push(b',');
    if let Some(on) = &a.parameters_on {
        key(out, "parameters_on");
        value(out, on)?;
        out.push(b',');
    }
    key(out, "policies");
    out.push(b'[');
    for (i, p) in a.policies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        key(out, "id");
        name(out, &p.id);
        out.push(b',');
        key(out, "version");
        name(out, &p.version);
        out.push(b',');
        key(out, "hash");
        name(out, &p.hash);
        out.push(b'}');
    }
    out.extend_from_slice(b"],");
    key(out, "programs");
    out.push(b'{');
    for (i, (id, p)) in a.programs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        name(out, id);
        out.extend_from_slice(b":{");
        key(out, "eligible");
        value(out, &p.eligible)?;
        out.push(b',');
        key(out, "amount");
        value(out, &p.amount)?;
        out.push(b',');
        key(out, "unit");
        match &p.unit {
            Some(u) => name(out, u),
            None => out.extend_from_slice(b"null"),
        }
        if p.flag {
            out.push(b',');
            key(out, "flag");
            out.extend_from_slice(b"true");
        }
        if let Some(v) = &p.value {
            out.push(b',');
            key(out, "value");
            name(out, v);
        }
        out.push(b',');
        key(out, "reasons");
        reasons(out, &p.reasons)?;
        if let Some(e) = &p.error {
            out.push(b',');
            key(out, "error");
            value(out, e)?;
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"},");
    key(out, "claims");
    out.push(b'[');
    for (i, c) in a.claims.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        key(out, "member");
        value(out, &c.member)?;
        out.push(b',');
        key(out, "claim");
        value(out, &c.claim)?;
        out.push(b',');
        key(out, "date");
        value(out, &c.date)?;
        out.push(b',');
        key(out, "total_cost");
        value(out, &c.total_cost)?;
        out.push(b',');
        key(out, "layers");
        layers(out, &c.layers)?;
        out.push(b',');
        key(out, "out_of_pocket");
        value(out, &c.out_of_pocket)?;
        if !c.out_of_pocket_parts.is_empty() {
            out.push(b',');
            key(out, "out_of_pocket_parts");
            layers(out, &c.out_of_pocket_parts)?;
        }
        out.push(b',');
        key(out, "reasons");
        reasons(out, &c.reasons)?;
        if let Some(e) = &c.error {
            out.push(b',');
            key(out, "error");
            value(out, e)?;
        }
        out.push(b'}');
    }
    out.push(b']');
    if !a.warnings.is_empty() {
        out.push(b',');
        key(out, "warnings");
        value(out, &a.warnings)?;
    }
    out.push(b'}');
    Ok(())
}
