//! The [`Assessment`] built from the evaluation's buffers ([`Engine::assess_with`],
//! [`Engine::assess_into`]): into an assessment's own buffers where it has
//! them from an earlier household (strings, lists, the programmes' map, the
//! shared names kept where they are the same), with the sets that keep
//! reasons and subjects unique kept in the [`Scratch`]. What it builds is the
//! same whatever the assessment held before (`tests/differential.rs`
//! compares it with a fresh one on every assessment it makes); the layout is
//! the one the JSON writer (`json.rs`) writes straight.

use super::{
    json::{AssessBufs, ReasonBuf},
    Engine,
};
use crate::assessment::{Assessment, ClaimOutcome, Clamped, PolicyRef, ProgramOutcome, Reason};
use crate::eval::{self, Scratch};
use crate::ir::RuleId;
use crate::model::Household;
use crate::value::{to_fen, Value};
use chrono::NaiveDate;

impl Engine {
    /// The assessment of the evaluation in `s`, new.
    pub(super) fn assessment(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch) -> Assessment {
        let mut a = Assessment::default();
        self.assessment_into(h, as_of, s, &mut a);
        a
    }

    /// The assessment of the evaluation in `s`, written over `out`.
    pub(super) fn assessment_into(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch, out: &mut Assessment) {
        let mut w = s.bufs.take().unwrap_or_default();
        self.fill(h, as_of, s, out, &mut w);
        s.bufs = Some(w);
    }

    fn fill(&self, h: &Household, as_of: NaiveDate, s: &Scratch, out: &mut Assessment, w: &mut AssessBufs) {
        let p = &*self.program;
        let m = &p.module;
        let names = &p.names;
        w.refresh(p, &s.active);
        w.described.forget();
        out.household.clone_from(&h.id);
        out.as_of = as_of;
        out.parameters_on = s.params_on.filter(|d| *d != as_of);
        // the policies applied, general to specific
        let mut k = 0;
        for (id, version, hash) in w.active.iter().filter_map(|i| names.policies.get(*i as usize)) {
            put(
                &mut out.policies,
                k,
                || PolicyRef { id: id.clone(), version: version.clone(), hash: hash.clone() },
                |r| {
                    r.id.clone_from(id);
                    r.version.clone_from(version);
                    r.hash.clone_from(hash);
                },
            );
            k += 1;
        }
        out.policies.truncate(k);
        // a reason for rule `r` (its subjects are written after)
        let reason = |r: RuleId| {
            let (rule, title, citation) = names.rules[r as usize].clone();
            let policy = names.policies[m.rules[r as usize].policy as usize].0.clone();
            Reason { rule, title, citation, policy, subjects: Vec::new() }
        };
        let set_reason = |x: &mut Reason, r: RuleId| {
            let (rule, title, citation) = &names.rules[r as usize];
            x.rule.clone_from(rule);
            x.title.clone_from(title);
            x.citation.clone_from(citation);
            x.policy.clone_from(&names.policies[m.rules[r as usize].policy as usize].0);
        };
        // the programmes listed, in the order of their names: the map is
        // made again only when they are not the ones it holds
        let listed = &w.programs;
        let same = out.programs.len() == listed.len()
            && out.programs.keys().zip(listed.iter()).all(|(k, pi)| *k == names.programs[*pi as usize].0);
        if !same {
            out.programs = listed.iter().map(|pi| (names.programs[*pi as usize].0.clone(), ProgramOutcome::default())).collect();
        }
        // the fired entries of each programme, in firing order, found in one pass
        w.bucket_fired(&s.fired);
        for (listed_at, ((key, o), &pi)) in out.programs.iter_mut().zip(w.programs.iter()).enumerate() {
            let pi = pi as usize;
            debug_assert!(*key == names.programs[pi].0);
            let st = s.progs[pi];
            o.eligible = st.eligible;
            o.amount = if st.error.is_some() { None } else { st.amount.map(to_fen) };
            match &names.programs[pi].1 {
                Some(u) if st.amount.is_some() && st.error.is_none() => match &mut o.unit {
                    Some(x) => x.clone_from(u),
                    None => o.unit = Some(u.clone()),
                },
                _ => o.unit = None,
            }
            o.flag = st.flag;
            match st.assign.and_then(|x| names.symbols.get(x as usize)) {
                Some(v) => match &mut o.value {
                    Some(x) => x.clone_from(v),
                    None => o.value = Some(v.clone()),
                },
                None => o.value = None,
            }
            o.error = st.error.and_then(|i| s.errors.get(i as usize)).map(|e| e.to_string());
            // the reasons, one per rule (rule ids are unique within a policy,
            // and a rule belongs to one), each with its subjects listed once
            // (a rule firing for every one of 100,000 claims is listed in
            // linear time: the entities seen, then, for claims and loans,
            // whose descriptions need not be unique, the descriptions)
            let mut n = 0usize;
            for f in w.buckets.get(listed_at).iter().filter_map(|k| s.fired.get(*k as usize)) {
                let (i, new) = ReasonBuf::find_or_add(&mut w.reasons, &mut n, f.rule, |x| x.rule == f.rule);
                if new {
                    put(&mut o.reasons, i, || reason(f.rule), |x| set_reason(x, f.rule));
                }
                if f.subject == Value::Household {
                    continue;
                }
                let r = &mut w.reasons[i];
                if !r.seen.insert(f.subject) {
                    continue;
                }
                let subjects = &mut o.reasons[i].subjects;
                let k = r.count;
                if subjects.len() == k {
                    subjects.push(String::new());
                }
                let text = &mut subjects[k];
                text.clear();
                text.push_str(w.described.of(h, f.subject));
                // member ids are unique (validation), so is their description
                if matches!(f.subject, Value::Member(_)) || r.described.insert_unique(&subjects[..k], &subjects[k]) {
                    r.count += 1;
                }
            }
            for (x, r) in o.reasons.iter_mut().zip(&w.reasons[..n]) {
                x.subjects.truncate(r.count);
            }
            o.reasons.truncate(n);
        }
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
        let mut k = 0;
        for (ci, c) in s.claims.iter().enumerate() {
            let Some(member) = h.members.get(c.member as usize) else { continue };
            let Some(claim) = member.claims.get(c.claim as usize) else { continue };
            put(&mut out.claims, k, ClaimOutcome::default, |_| ());
            let o = &mut out.claims[k];
            k += 1;
            o.member.clone_from(&member.id);
            match &claim.id {
                Some(id) => o.claim.clone_from(id),
                None => {
                    o.claim.clear();
                    o.claim.push_str(&member.id);
                    o.claim.push('#');
                    eval::push_number(&mut o.claim, c.claim as u64 + 1);
                }
            }
            o.date = claim.date;
            o.total_cost = to_fen(claim.total_cost);
            let mut n = 0usize;
            for r in w.buckets.get(ci).iter().filter_map(|k| s.claim_fired.get(*k as usize)).map(|(_, r)| *r) {
                // one reason per rule id (two policies' rules of the same id are listed once)
                let (i, new) = ReasonBuf::find_or_add(&mut w.reasons, &mut n, r, |x| names.same_rule_id(x.rule, r));
                if new {
                    put(
                        &mut o.reasons,
                        i,
                        || reason(r),
                        |x| {
                            set_reason(x, r);
                            x.subjects.clear();
                        },
                    );
                }
            }
            o.reasons.truncate(n);
            // every layer that applies: declared by a policy applied (or, so
            // that the layers always add up, paid at all); one amount per
            // declared layer (evaluation pushes a full row for every claim)
            let settled = c.out_of_pocket.is_some();
            let row = s.claim_layers(ci);
            let (mut paying, mut parts) = (0, 0);
            for (li, info) in m.layers.iter().enumerate() {
                if !w.layer_applied[li] && row[li].is_zero() {
                    continue;
                }
                let v = settled.then_some(to_fen(row[li]));
                let (list, at) = if info.paying { (&mut o.layers.0, &mut paying) } else { (&mut o.out_of_pocket_parts.0, &mut parts) };
                let layer = &names.layers[li];
                put(
                    list,
                    *at,
                    || (layer.clone(), v),
                    |x| {
                        x.0.clone_from(layer);
                        x.1 = v;
                    },
                );
                *at += 1;
            }
            o.layers.0.truncate(paying);
            o.out_of_pocket_parts.0.truncate(parts);
            o.out_of_pocket = c.out_of_pocket.map(to_fen);
            o.error = w.error_of.get(ci).copied().flatten().and_then(|e| s.errors.get(e as usize)).map(|e| e.to_string());
        }
        out.claims.truncate(k);
        out.warnings.clear();
        out.warnings.extend(s.clamps.iter().map(|c| self.clamped(c)));
        out.trace.clone_from(&s.trace);
    }

    /// A clamp as the assessment reports it.
    pub(super) fn clamped(&self, c: &eval::Clamp) -> Clamped {
        let m = &self.program.module;
        let slot = &m.params[c.param as usize];
        let def = slot.defs.get(c.def as usize);
        let source = match c.origin {
            eval::Origin::Def(d) => slot.defs.get(d as usize).map(|d| m.policies[d.policy as usize].id.clone()).unwrap_or_default(),
            eval::Origin::Setting => "set".to_string(),
            eval::Origin::Override => "test".to_string(),
        };
        Clamped {
            parameter: slot.name.clone(),
            date: c.date,
            value: eval::show(c.value, slot.ty, m),
            source,
            bound: if c.cap { "cap" } else { "floor" }.to_string(),
            limit: eval::show(c.limit, slot.ty, m),
            policy: def.map(|d| m.policies[d.policy as usize].id.clone()).unwrap_or_default(),
            citation: def.and_then(|d| d.cite.clone()),
        }
    }
}

/// Write `v[k]` over with `set`, or push `new()` where `v` is only `k` long.
fn put<T>(v: &mut Vec<T>, k: usize, new: impl FnOnce() -> T, set: impl FnOnce(&mut T)) {
    match v.get_mut(k) {
        Some(x) => set(x),
        None => v.push(new()),
    }
}
