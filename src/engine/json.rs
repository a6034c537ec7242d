//! An assessment's JSON written straight from the evaluation's buffers
//! ([`Engine::assess_json`], what `fupin batch` writes): the bytes
//! [`crate::assessment::write_json`] writes for the [`Assessment`]
//! [`Engine::assess_with`] would build, without building it. The layout is
//! the one of [`Engine::assessment`] and `write_json`; the differential and
//! property tests compare the two on every assessment they make.

use super::{Buckets, Engine, Seen};
use crate::assessment::Clamped;
use crate::compile;
use crate::eval::{self, Scratch};
use crate::ir::RuleId;
use crate::model::Household;
use crate::value::{to_fen, Value};
use chrono::NaiveDate;

impl Engine {
    /// The JSON of the assessment of the evaluation in `s` (what
    /// [`Engine::assessment`] builds, as `write_json` writes it), written
    /// straight from the `Scratch`; buffers are reused across households.
    /// Keep in step with `assessment` and `write_json`.
    pub(super) fn write_assessment(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch, out: &mut Vec<u8>) -> serde_json::Result<()> {
        if s.trace.is_some() {
            let a = self.assessment(h, as_of, s);
            return crate::assessment::write_json(&a, out);
        }
        let mut w = s.bufs.take().unwrap_or_default();
        let r = self.write_assessment_with(h, as_of, s, out, &mut w);
        s.bufs = Some(w);
        r
    }

    fn write_assessment_with(
        &self,
        h: &Household,
        as_of: NaiveDate,
        s: &Scratch,
        out: &mut Vec<u8>,
        w: &mut AssessBufs,
    ) -> serde_json::Result<()> {
        use crate::assessment::json_parts::{key, name, value};
        // a decimal as serde writes it (rust_decimal's `to_str_internal`
        // with the sign and without a precision, as a JSON string): the
        // digits of the mantissa, at least `scale` of them, with the point
        // before the last `scale`
        fn decimal(out: &mut Vec<u8>, d: Option<rust_decimal::Decimal>) {
            let Some(d) = d else {
                out.extend_from_slice(b"null");
                return;
            };
            let scale = d.scale() as usize;
            // the digits, last first; a mantissa has at most 29, the scale is at most 28
            let mut chars = [b'0'; 40];
            let mut len = 0;
            let m = d.mantissa().unsigned_abs();
            if let Ok(mut m) = u64::try_from(m) {
                while m != 0 && len < chars.len() {
                    chars[len] = b'0' + (m % 10) as u8;
                    m /= 10;
                    len += 1;
                }
            } else {
                let mut m = m;
                while m != 0 && len < chars.len() {
                    chars[len] = b'0' + (m % 10) as u8;
                    m /= 10;
                    len += 1;
                }
            }
            let len = len.max(scale).min(chars.len());
            let whole = len - scale.min(len);
            out.push(b'"');
            if d.is_sign_negative() {
                out.push(b'-');
            }
            let empty = out.len();
            for i in 0..len {
                if i == whole {
                    if i == 0 {
                        out.push(b'0');
                    }
                    out.push(b'.');
                }
                out.push(chars[len - i - 1]);
            }
            if out.len() == empty {
                out.push(b'0');
            }
            out.push(b'"');
        }
        // a date as serde writes it: `"YYYY-MM-DD"` for the years 0 to 9999
        fn date(out: &mut Vec<u8>, d: NaiveDate) -> serde_json::Result<()> {
            use chrono::Datelike;
            let (y, m, day) = (d.year(), d.month(), d.day());
            if !(0..=9999).contains(&y) {
                return value(out, &d);
            }
            let y = y as u32;
            let digit = |n: u32| b'0' + (n % 10) as u8;
            out.extend_from_slice(&[
                b'"',
                digit(y / 1000),
                digit(y / 100),
                digit(y / 10),
                digit(y),
                b'-',
                digit(m / 10),
                digit(m),
                b'-',
                digit(day / 10),
                digit(day),
                b'"',
            ]);
            Ok(())
        }
        let p = &*self.program;
        let m = &p.module;
        let names = &p.names;
        // one reason of the programme or claim being written: rule, title, citation, policy, subjects
        fn reasons(out: &mut Vec<u8>, names: &compile::Names, m: &crate::check::Module, rs: &[ReasonBuf]) {
            out.push(b'[');
            for (i, r) in rs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let (rule, title, citation) = &names.rules[r.rule as usize];
                out.push(b'{');
                key(out, "rule");
                name(out, rule);
                out.push(b',');
                key(out, "title");
                name(out, title);
                out.push(b',');
                key(out, "citation");
                name(out, citation);
                out.push(b',');
                key(out, "policy");
                name(out, &names.policies[m.rules[r.rule as usize].policy as usize].0);
                if r.count > 0 {
                    out.push(b',');
                    key(out, "subjects");
                    out.push(b'[');
                    out.extend_from_slice(&r.subjects);
                    out.push(b']');
                }
                out.push(b'}');
            }
            out.push(b']');
        }

        out.push(b'{');
        key(out, "household");
        value(out, &h.id)?;
        out.push(b',');
        key(out, "as_of");
        date(out, as_of)?;
        out.push(b',');
        if let Some(on) = s.params_on.filter(|d| *d != as_of) {
            key(out, "parameters_on");
            date(out, on)?;
            out.push(b',');
        }
        // the list of policies and the programmes listed, kept while the
        // policies applied stay the same
        w.refresh(p, &s.active);
        w.described.forget();
        out.extend_from_slice(&w.policies);
        key(out, "programs");
        out.push(b'{');
        // the fired entries of each programme, in firing order, found in one pass
        w.bucket_fired(&s.fired);
        let mut first = true;
        for (k, &pi) in w.programs.iter().enumerate() {
            let pi = pi as usize;
            let st = s.progs[pi];
            if !first {
                out.push(b',');
            }
            first = false;
            let fired = w.buckets.get(k);
            if !st.eligible && st.amount.is_none() && !st.flag && st.assign.is_none() && st.error.is_none() && fired.is_empty() {
                out.extend_from_slice(names.program_json_empty[pi].as_bytes());
                continue;
            }
            // the reasons, one per rule, with their subjects (see `assessment`)
            let mut n = 0usize;
            for f in fired.iter().filter_map(|k| s.fired.get(*k as usize)) {
                let (i, _) = ReasonBuf::find_or_add(&mut w.reasons, &mut n, f.rule, |x| x.rule == f.rule);
                if f.subject == Value::Household {
                    continue;
                }
                let r = &mut w.reasons[i];
                if !r.seen.insert(f.subject) {
                    continue;
                }
                // the description written without a new string; member ids
                // are unique (validation), so is their description
                let text = w.described.of(h, f.subject);
                if matches!(f.subject, Value::Member(_)) || r.described.insert(text) {
                    if r.count > 0 {
                        r.subjects.push(b',');
                    }
                    r.count += 1;
                    value(&mut r.subjects, text)?;
                }
            }
            let (id, unit) = &names.programs[pi];
            name(out, id);
            out.extend_from_slice(b":{");
            key(out, "eligible");
            out.extend_from_slice(if st.eligible { b"true" } else { b"false" });
            out.push(b',');
            key(out, "amount");
            decimal(out, if st.error.is_some() { None } else { st.amount.map(to_fen) });
            out.push(b',');
            key(out, "unit");
            match unit {
                Some(u) if st.amount.is_some() && st.error.is_none() => name(out, u),
                _ => out.extend_from_slice(b"null"),
            }
            if st.flag {
                out.push(b',');
                key(out, "flag");
                out.extend_from_slice(b"true");
            }
            if let Some(v) = st.assign.and_then(|x| names.symbols.get(x as usize)) {
                out.push(b',');
                key(out, "value");
                name(out, v);
            }
            out.push(b',');
            key(out, "reasons");
            reasons(out, names, m, &w.reasons[..n]);
            if let Some(e) = st.error.and_then(|i| s.errors.get(i as usize)) {
                out.push(b',');
                key(out, "error");
                value(out, &e.to_string())?;
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"},");
        key(out, "claims");
        out.push(b'[');
        // the rules fired for each claim, in firing order, and the error
        // that left a claim unsettled (the first recorded), found in one pass each
        w.buckets.fill(s.claims.len(), s.claim_fired.iter().map(|(idx, _)| *idx as usize));
        w.error_of.clear();
        w.error_of.resize(s.claims.len(), None);
        for (c, e) in &s.claim_errors {
            if let Some(slot @ None) = w.error_of.get_mut(*c as usize) {
                *slot = Some(*e);
            }
        }
        let mut first = true;
        for (ci, c) in s.claims.iter().enumerate() {
            let Some(member) = h.members.get(c.member as usize) else { continue };
            let Some(claim) = member.claims.get(c.claim as usize) else { continue };
            let mut n = 0usize;
            for r in w.buckets.get(ci).iter().filter_map(|k| s.claim_fired.get(*k as usize)).map(|(_, r)| r) {
                // one reason per rule id (two policies' rules of the same id are listed once)
                ReasonBuf::find_or_add(&mut w.reasons, &mut n, *r, |x| names.same_rule_id(x.rule, *r));
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'{');
            key(out, "member");
            value(out, &member.id)?;
            out.push(b',');
            key(out, "claim");
            match &claim.id {
                Some(id) => value(out, id)?,
                None => {
                    use std::fmt::Write as _;
                    w.text.clear();
                    // writing to a String cannot fail
                    let _ = write!(w.text, "{}#{}", member.id, c.claim + 1);
                    value(out, &w.text)?
                }
            }
            out.push(b',');
            key(out, "date");
            date(out, claim.date)?;
            out.push(b',');
            key(out, "total_cost");
            decimal(out, Some(to_fen(claim.total_cost)));
            out.push(b',');
            key(out, "layers");
            // every layer that applies: declared by a policy applied (or, so
            // that the layers always add up, paid at all); paying layers here,
            // the parts of out-of-pocket after
            let settled = c.out_of_pocket.is_some();
            let row = s.claim_layers(ci);
            let applies = |li: usize| w.layer_applied[li] || !row[li].is_zero();
            // the paying layers, or the parts of out-of-pocket, as an object
            let layers = |out: &mut Vec<u8>, paying: bool| {
                out.push(b'{');
                let mut k = 0usize;
                for (li, info) in m.layers.iter().enumerate() {
                    if info.paying != paying || !applies(li) {
                        continue;
                    }
                    if k > 0 {
                        out.push(b',');
                    }
                    k += 1;
                    name(out, &names.layers[li]);
                    out.push(b':');
                    decimal(out, settled.then_some(to_fen(row[li])));
                }
                out.push(b'}');
            };
            layers(out, true);
            out.push(b',');
            key(out, "out_of_pocket");
            decimal(out, c.out_of_pocket.map(to_fen));
            if m.layers.iter().enumerate().any(|(li, info)| !info.paying && applies(li)) {
                out.push(b',');
                key(out, "out_of_pocket_parts");
                layers(out, false);
            }
            out.push(b',');
            key(out, "reasons");
            reasons(out, names, m, &w.reasons[..n]);
            if let Some(e) = w.error_of.get(ci).copied().flatten().and_then(|e| s.errors.get(e as usize)) {
                out.push(b',');
                key(out, "error");
                value(out, &e.to_string())?;
            }
            out.push(b'}');
        }
        out.push(b']');
        if !s.clamps.is_empty() {
            let warnings: Vec<Clamped> = s.clamps.iter().map(|c| self.clamped(c)).collect();
            out.push(b',');
            key(out, "warnings");
            value(out, &warnings)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// Reusable buffers of [`Engine::assess_json`] and of the assessment's
/// builder (`assess.rs`), kept in the [`Scratch`].
#[derive(Debug, Clone, Default)]
pub(crate) struct AssessBufs {
    /// The policies applied that `active`, `policies` and `programs` are for.
    applied: Vec<bool>,
    /// The policies applied, general to specific.
    pub(super) active: Vec<u32>,
    /// `"policies":[…],`
    policies: Vec<u8>,
    /// The programmes listed, in the order of their names (the assessment's
    /// map), of programmes of one name the last with an applied writer.
    pub(super) programs: Vec<u32>,
    /// Each programme's place in `programs` (`u32::MAX` for one not listed).
    pub(super) listed_at: Vec<u32>,
    /// Each layer: declared by a policy applied.
    pub(super) layer_applied: Vec<bool>,
    pub(super) buckets: Buckets,
    pub(super) reasons: Vec<ReasonBuf>,
    pub(super) error_of: Vec<Option<u32>>,
    /// A claim's name being written.
    text: String,
    /// The subject described last, for this household.
    pub(super) described: Described,
}

/// The last subject described and its description: a claim's payments are
/// listed under each paying layer's programme, and its description is
/// written once for them all. Forgotten at every household (a subject is
/// an index into the household).
#[derive(Debug, Clone, Default)]
pub(crate) struct Described {
    of: Option<Value>,
    text: String,
}

impl Described {
    /// Forget the last description (a new household).
    pub(super) fn forget(&mut self) {
        self.of = None;
    }

    /// The description of `v` in `h` ([`eval::describe_subject_into`]).
    pub(super) fn of(&mut self, h: &Household, v: Value) -> &str {
        if self.of != Some(v) {
            self.text.clear();
            eval::describe_subject_into(h, v, &mut self.text);
            self.of = Some(v);
        }
        &self.text
    }
}

impl AssessBufs {
    /// What depends only on the policies applied, made again when they are
    /// not the ones of the last household (a batch's households of one
    /// region on one date keep them): the policies, general to specific, as
    /// indices and as JSON, and the programmes listed.
    pub(super) fn refresh(&mut self, p: &compile::Program, active: &[bool]) {
        use crate::assessment::json_parts::{key, name};
        if !self.policies.is_empty() && self.applied == active {
            return;
        }
        let m = &p.module;
        let names = &p.names;
        self.applied.clear();
        self.applied.extend_from_slice(active);
        self.active.clear();
        self.active.extend((0..m.policies.len() as u32).filter(|i| active[*i as usize]));
        self.active.sort_by_key(|i| (m.policies[*i as usize].rank(), *i));
        let list = &mut self.policies;
        list.clear();
        key(list, "policies");
        list.push(b'[');
        for (k, (id, version, hash)) in self.active.iter().filter_map(|i| names.policies.get(*i as usize)).enumerate() {
            if k > 0 {
                list.push(b',');
            }
            list.push(b'{');
            key(list, "id");
            name(list, id);
            list.push(b',');
            key(list, "version");
            name(list, version);
            list.push(b',');
            key(list, "hash");
            name(list, hash);
            list.push(b'}');
        }
        list.extend_from_slice(b"],");
        let applied = |pi: usize| p.writers[pi].iter().any(|r| active[m.rules[*r as usize].policy as usize]);
        self.programs.clear();
        self.programs.extend(names.program_groups.iter().filter_map(|group| group.iter().rev().copied().find(|pi| applied(*pi as usize))));
        self.listed_at.clear();
        self.listed_at.resize(m.programs.len(), u32::MAX);
        for (k, pi) in self.programs.iter().enumerate() {
            self.listed_at[*pi as usize] = k as u32;
        }
        self.layer_applied.clear();
        self.layer_applied.extend(m.layers.iter().map(|l| l.policies.iter().any(|p| active[*p as usize])));
    }

    /// The fired entries of each programme listed (by its place in
    /// `programs`), in firing order: one pass over what fired, whatever the
    /// number of programmes the policies declare.
    pub(super) fn bucket_fired(&mut self, fired: &[eval::Fired]) {
        let at = &self.listed_at;
        self.buckets.fill(self.programs.len(), fired.iter().map(|f| at.get(f.program as usize).map_or(usize::MAX, |k| *k as usize)));
    }
}

/// One reason being written: its rule, and its subjects as JSON strings
/// separated by commas (`count` of them), with the sets that keep them unique.
/// (The assessment's builder counts its subjects in `count` and keeps their
/// descriptions in the reason itself.)
#[derive(Debug, Clone, Default)]
pub(super) struct ReasonBuf {
    pub(super) rule: RuleId,
    subjects: Vec<u8>,
    pub(super) count: usize,
    pub(super) seen: Seen<Value>,
    pub(super) described: Descriptions,
}

impl ReasonBuf {
    /// The place, among the first `*n` of `reasons`, of the one `same` picks, or
    /// of a new one for `rule` (then `*n` counts it): its place, and whether
    /// it is new.
    pub(super) fn find_or_add(
        reasons: &mut Vec<ReasonBuf>,
        n: &mut usize,
        rule: RuleId,
        same: impl Fn(&ReasonBuf) -> bool,
    ) -> (usize, bool) {
        if let Some(i) = reasons.iter().take(*n).position(same) {
            return (i, false);
        }
        if reasons.len() == *n {
            reasons.push(ReasonBuf::default());
        }
        if let Some(r) = reasons.get_mut(*n) {
            r.reset(rule);
        }
        *n += 1;
        (*n - 1, true)
    }

    pub(super) fn reset(&mut self, rule: RuleId) {
        self.rule = rule;
        self.subjects.clear();
        self.count = 0;
        self.seen.clear();
        self.described.clear();
    }
}

/// The descriptions a reason lists, as a set: a short list of strings while
/// it is small, whose buffers are kept from one household to the next (a
/// household's reasons describe their claims without allocating), and a
/// hash set beyond.
#[derive(Debug, Clone, Default)]
pub(super) struct Descriptions {
    small: Vec<String>,
    /// How many of `small` are in the set.
    n: usize,
    big: Option<std::collections::HashSet<String>>,
}

impl Descriptions {
    const SMALL: usize = 16;

    fn clear(&mut self) {
        self.n = 0;
        self.big = None;
    }

    /// Add `x`, a description not yet listed, to the set of `listed` (the
    /// descriptions listed so far, every one of which this set has been
    /// given): whether it is not among them (the assessment's builder,
    /// which keeps its descriptions in the reason itself). While the list is
    /// short it is compared with the list, which copies no description;
    /// beyond, through a hash set of the list (made once).
    pub(super) fn insert_unique(&mut self, listed: &[String], x: &String) -> bool {
        if self.big.is_none() {
            if listed.len() < Self::SMALL {
                return !listed.contains(x);
            }
            self.big = Some(listed.iter().cloned().collect());
        }
        self.big.as_mut().is_some_and(|big| big.insert(x.clone()))
    }

    /// Add `x`: whether it was new.
    fn insert(&mut self, x: &str) -> bool {
        if let Some(big) = &mut self.big {
            return !big.contains(x) && big.insert(x.to_owned());
        }
        let listed = self.small.get(..self.n).unwrap_or(&[]);
        if listed.iter().any(|d| d == x) {
            return false;
        }
        if self.n >= Self::SMALL {
            let mut big: std::collections::HashSet<String> = listed.iter().cloned().collect();
            big.insert(x.to_owned());
            self.big = Some(big);
            return true;
        }
        match self.small.get_mut(self.n) {
            Some(d) => {
                d.clear();
                d.push_str(x);
            }
            None => self.small.push(x.to_owned()),
        }
        self.n += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Descriptions;

    #[test]
    fn descriptions_are_a_set_below_and_beyond_the_short_list_and_after_clearing() {
        let mut d = Descriptions::default();
        for round in 0..3 {
            // a long list the first round, a short one after clearing
            let n = if round == 0 { 40 } else { 5 };
            for i in 0..n {
                assert!(d.insert(&format!("claim #{i}")), "round {round}: claim #{i} is new");
                assert!(!d.insert(&format!("claim #{i}")), "round {round}: claim #{i} again");
            }
            for i in 0..n {
                assert!(!d.insert(&format!("claim #{i}")), "round {round}: claim #{i} is listed");
            }
            assert!(d.insert("claim c9"), "round {round}: another description");
            d.clear();
            assert!(d.insert("claim #0"), "round {round}: a cleared set has nothing");
            d.clear();
        }
    }
}
