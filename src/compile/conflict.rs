//! The static conflict check: two rules that can both define the same value
//! output (an amount, an assignment, a claim layer) for the same subject,
//! with neither taking precedence, are an error — unless their conditions
//! are provably exclusive.
//!
//! The analysis runs on the resolved IR: a named value is an index, so two
//! values spelled alike in two policies are two values; a rule's own `let`s
//! before `when` are substituted into its condition, so two rules' locals
//! are compared by what they compute, never by their names. Its cost is
//! bounded: rules are grouped by output and subject, `in` lists are compared
//! as hash sets, a group whose rules all test one operand against constants is
//! split by value first, and past [`PAIR_BUDGET`] compared pairs the rest of a
//! group is reported as one "not proven exclusive" warning rather than
//! analysed.

use super::Program;
use crate::check::error::{CheckError, CheckErrorKind};
use crate::check::{RuleDef, Target};
use crate::diagnostic::Diagnostic;
use crate::ir::{CmpOp, Expr, ExprKind, RuleId};
use crate::value::Value;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Rule pairs whose conditions are compared, over the whole program.
pub const PAIR_BUDGET: usize = 2_000_000;

/// Pairwise "may both define" warnings shown for one output and subject; the rest are counted.
pub const MAX_WARNINGS: usize = 10;

/// Substitutions deeper than this leave a local opaque (never equal to anything of another rule).
const MAX_SUBSTITUTION: usize = 64;

pub(super) fn check(p: &Program, writers: &HashMap<Target, Vec<RuleId>>, errors: &mut Vec<CheckError>, warnings: &mut Vec<Diagnostic>) {
    let m = &p.module;
    let mut keys: Vec<&Target> = writers.keys().filter(|t| matches!(t, Target::Amount(_) | Target::Assign(_) | Target::Pay(_))).collect();
    keys.sort();
    let mut conds: HashMap<RuleId, Cond> = HashMap::new();
    let mut budget = PAIR_BUDGET;
    let np = m.policies.len();
    let meet: Vec<bool> = (0..np * np)
        .map(|i| {
            let (a, b) = (&m.policies[i / np], &m.policies[i % np]);
            // versions of one policy are never in force together; disjoint regions never meet
            !(a.id == b.id && i / np != i % np) && a.regions_meet(b) && a.periods_meet(b)
        })
        .collect();
    for t in keys {
        // one group per subject kind
        let mut groups: Vec<(crate::check::types::Entity, Vec<RuleId>)> = Vec::new();
        for &r in &writers[t] {
            let e = m.rules[r as usize].subject;
            match groups.iter_mut().find(|g| g.0 == e) {
                Some(g) => g.1.push(r),
                None => groups.push((e, vec![r])),
            }
        }
        for (_, w) in groups {
            for &r in &w {
                conds.entry(r).or_insert_with(|| Cond::of(&m.rules[r as usize], r));
            }
            let mut stopped: Option<(RuleId, RuleId)> = None;
            let mut unproven = 0usize;
            for_each_pair(&w, &conds, &mut |a, b| {
                let (ra, rb) = (&m.rules[a as usize], &m.rules[b as usize]);
                let (pa, pb) = (ra.policy as usize, rb.policy as usize);
                if !meet[pa * np + pb]
                    || p.outranks[pa * np + pb]
                    || p.outranks[pb * np + pa]
                    || p.exceptions.contains(a, b)
                    || p.exceptions.contains(b, a)
                {
                    return true;
                }
                if budget == 0 {
                    stopped = Some((a, b));
                    return false;
                }
                budget -= 1;
                let target = || super::target_name(m, *t);
                match overlap(&conds[&a], &conds[&b]) {
                    Overlap::Exclusive => {}
                    Overlap::Certain => {
                        let k = CheckErrorKind::PossibleConflict { target: target(), a: ra.id.clone(), b: rb.id.clone() };
                        errors.push(k.at(rb.loc).related(ra.loc, format!("`{}` also defines it", ra.id)));
                    }
                    Overlap::Unknown if {
                        unproven += 1;
                        unproven > MAX_WARNINGS
                    } => {}
                    Overlap::Unknown => warnings.push(
                        Diagnostic::warning(
                            format!(
                                "rules `{}` and `{}` may both define {} for some households, and neither takes precedence",
                                ra.id,
                                rb.id,
                                target()
                            ),
                            Some(rb.loc),
                        )
                        .with_secondary(ra.loc, format!("`{}` also defines it", ra.id))
                        .with_help(Some("if both apply, the assessment fails with a conflict naming both rules; declare one an `exception to` the other, or make their conditions exclusive".into())),
                    ),
                }
                true
            });
            if unproven > MAX_WARNINGS {
                let first = w[0];
                warnings.push(
                    Diagnostic::warning(
                        format!(
                            "{} more pairs of rules may both define {} for some households (only the first {MAX_WARNINGS} are shown)",
                            unproven - MAX_WARNINGS,
                            super::target_name(m, *t)
                        ),
                        Some(m.rules[first as usize].loc),
                    )
                    .with_help(Some(
                        "if two of them apply to one household, the assessment fails with a conflict naming both rules".into(),
                    )),
                );
            }
            if let Some((a, b)) = stopped {
                let (ra, rb) = (&m.rules[a as usize], &m.rules[b as usize]);
                warnings.push(
                    Diagnostic::warning(
                        format!(
                            "the conflict analysis of {} stopped at rules `{}` and `{}` after comparing {PAIR_BUDGET} pairs of rules: the remaining pairs are not proven exclusive",
                            super::target_name(m, *t),
                            ra.id,
                            rb.id
                        ),
                        Some(rb.loc),
                    )
                    .with_secondary(ra.loc, format!("`{}`", ra.id))
                    .with_help(Some("if two of them apply to one household, the assessment fails with a conflict naming both rules".into())),
                );
            }
        }
    }
}

/// Visit the pairs of a group worth comparing, until `f` says stop. When
/// every rule's condition tests one operand against constants (`x == A`,
/// `x in [..]`), only rules sharing a constant can overlap, so the group is
/// split by constant first.
fn for_each_pair(w: &[RuleId], conds: &HashMap<RuleId, Cond>, f: &mut dyn FnMut(RuleId, RuleId) -> bool) {
    let all = |f: &mut dyn FnMut(RuleId, RuleId) -> bool| {
        for (i, &a) in w.iter().enumerate() {
            for &b in &w[i + 1..] {
                if !f(a, b) {
                    return;
                }
            }
        }
    };
    if w.len() < 64 {
        return all(f);
    }
    // an operand every rule tests against a set of constants
    let Some(first) = conds.get(&w[0]) else { return all(f) };
    let shared = first.sets.iter().map(|s| s.operand_hash).find(|h| w.iter().all(|r| conds[r].sets.iter().any(|s| s.operand_hash == *h)));
    let Some(h) = shared else { return all(f) };
    let mut by_value: HashMap<Value, Vec<usize>> = HashMap::new();
    for (i, r) in w.iter().enumerate() {
        for s in conds[r].sets.iter().filter(|s| s.operand_hash == h) {
            for v in &s.values {
                by_value.entry(*v).or_default().push(i);
            }
        }
    }
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut values: Vec<&Vec<usize>> = by_value.values().collect();
    values.sort();
    for rules in values {
        for (k, &i) in rules.iter().enumerate() {
            for &j in &rules[k + 1..] {
                let pair = (i.min(j), i.max(j));
                if i != j && seen.insert(pair) && !f(w[pair.0], w[pair.1]) {
                    return;
                }
            }
        }
    }
}

/// How two rule conditions relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlap {
    /// They can never hold together (a sound, incomplete test).
    Exclusive,
    /// Whenever one holds, the other does too: one is unconditional, or its
    /// conjuncts are a subset of the other's.
    Certain,
    /// Neither proven: a conflict, if any, is found at evaluation.
    Unknown,
}

/// A rule's condition, prepared for comparison: its conjuncts (with the
/// rule's own lets substituted and its subject variable made common), and the
/// conjuncts that test one operand against a set of constants.
#[derive(Debug)]
pub(crate) struct Cond {
    /// `None`: unconditional.
    conjuncts: Option<Vec<Expr>>,
    /// `x == c` / `x in [c, …]` conjuncts.
    sets: Vec<ValueSet>,
}

#[derive(Debug)]
struct ValueSet {
    operand: Expr,
    operand_hash: u64,
    values: HashSet<Value>,
}

fn hash_of(e: &Expr) -> u64 {
    let mut h = DefaultHasher::new();
    e.hash(&mut h);
    h.finish()
}

impl Cond {
    fn of(rule: &RuleDef, id: RuleId) -> Cond {
        let Some(c) = &rule.cond else { return Cond { conjuncts: None, sets: Vec::new() } };
        let n = Normalizer { rule, id, bound: Vec::new() };
        let c = n.expr(c, 0);
        let mut conjuncts = Vec::new();
        split(c, &mut conjuncts);
        let sets = conjuncts
            .iter()
            .filter_map(|e| {
                let (operand, values): (&Expr, Vec<Value>) = match &e.kind {
                    ExprKind::Cmp(CmpOp::Eq, l, r) => match &r.kind {
                        ExprKind::Const(v) => (l, vec![*v]),
                        _ => return None,
                    },
                    ExprKind::In(l, items) => {
                        let vs: Option<Vec<Value>> =
                            items.iter().map(|i| if let ExprKind::Const(v) = &i.kind { Some(*v) } else { None }).collect();
                        (l, vs?)
                    }
                    _ => return None,
                };
                Some(ValueSet { operand_hash: hash_of(operand), operand: operand.clone(), values: values.into_iter().collect() })
            })
            .collect();
        Cond { conjuncts: Some(conjuncts), sets }
    }
}

fn split(e: Expr, out: &mut Vec<Expr>) {
    match e.kind {
        ExprKind::And(a, b) => {
            split(*a, out);
            split(*b, out);
        }
        kind => out.push(Expr { kind, ..e }),
    }
}

/// Rewrites a condition so that equal trees mean equal values across rules.
struct Normalizer<'a> {
    rule: &'a RuleDef,
    id: RuleId,
    /// Aggregation variables bound around the current node: (slot, new name).
    bound: Vec<(u16, u16)>,
}

/// The subject variable, common to every rule of a group.
const SUBJECT: u16 = u16::MAX;
/// Aggregation variables are renamed by binding depth.
const BOUND_BASE: u16 = 0xF000;

impl Normalizer<'_> {
    fn expr(&self, e: &Expr, depth: usize) -> Expr {
        let kind = match &e.kind {
            ExprKind::Local(s) => {
                if let Some((_, new)) = self.bound.iter().rev().find(|(old, _)| old == s) {
                    ExprKind::Local(*new)
                } else if *s == self.rule.subject_slot && self.rule.subject != crate::check::types::Entity::Household {
                    ExprKind::Local(SUBJECT)
                } else if let Some(l) = self.rule.pre.iter().rev().find(|l| l.slot == *s).filter(|_| depth < MAX_SUBSTITUTION) {
                    return self.expr(&l.expr, depth + 1);
                } else {
                    // a value only this rule can see: equal to nothing of another rule
                    ExprKind::Const(Value::Loan(u32::MAX - self.id))
                }
            }
            ExprKind::Agg { kind, slot, coll, base, filter, body } => {
                let base = Box::new(self.expr(base, depth));
                let mut inner = Normalizer { rule: self.rule, id: self.id, bound: self.bound.clone() };
                let new = BOUND_BASE + self.bound.len() as u16;
                inner.bound.push((*slot, new));
                ExprKind::Agg {
                    kind: *kind,
                    slot: new,
                    coll: *coll,
                    base,
                    filter: filter.as_ref().map(|f| Box::new(inner.expr(f, depth))),
                    body: Box::new(inner.expr(body, depth)),
                }
            }
            other => {
                let mut k = other.clone();
                self.children(&mut k, depth);
                k
            }
        };
        Expr { kind, ty: e.ty, loc: e.loc }
    }

    fn children(&self, k: &mut ExprKind, depth: usize) {
        let f = |x: &mut Box<Expr>| **x = self.expr(x, depth);
        match k {
            ExprKind::ParamAt(_, a) | ExprKind::Field(a, _) | ExprKind::Neg(a) | ExprKind::Not(a) | ExprKind::Round(a, _, _) => f(a),
            ExprKind::And(a, b) | ExprKind::Or(a, b) | ExprKind::Arith(_, a, b) | ExprKind::Cmp(_, a, b) => {
                f(a);
                f(b);
            }
            ExprKind::In(a, items) => {
                f(a);
                for i in items.iter_mut() {
                    *i = self.expr(i, depth);
                }
            }
            ExprKind::If(c, a, b) => {
                f(c);
                f(a);
                f(b);
            }
            ExprKind::Case(s, arms, d) => {
                f(s);
                for (p, v) in arms.iter_mut() {
                    *p = self.expr(p, depth);
                    *v = self.expr(v, depth);
                }
                if let Some(d) = d {
                    f(d);
                }
            }
            // a function is pure: equal arguments, equal results (its body is opaque here)
            ExprKind::Call(_, args) | ExprKind::Apply(_, args) => {
                for a in args.iter_mut() {
                    *a = self.expr(a, depth);
                }
            }
            ExprKind::Banded(v, bands) => {
                f(v);
                for (lo, r) in bands.iter_mut() {
                    *lo = self.expr(lo, depth);
                    *r = self.expr(r, depth);
                }
            }
            _ => {}
        }
    }
}

/// Classify two prepared conditions.
pub(crate) fn overlap(a: &Cond, b: &Cond) -> Overlap {
    let (Some(ca), Some(cb)) = (&a.conjuncts, &b.conjuncts) else { return Overlap::Certain };
    // disjoint constant sets on one operand
    for x in &a.sets {
        for y in b.sets.iter().filter(|y| y.operand_hash == x.operand_hash && y.operand == x.operand) {
            let (small, large) = if x.values.len() <= y.values.len() { (&x.values, &y.values) } else { (&y.values, &x.values) };
            if !small.iter().any(|v| large.contains(v)) {
                return Overlap::Exclusive;
            }
        }
    }
    if ca.iter().any(|x| cb.iter().any(|y| contradict(x, y))) {
        return Overlap::Exclusive;
    }
    if ca.iter().all(|x| cb.contains(x)) || cb.iter().all(|y| ca.contains(y)) {
        return Overlap::Certain;
    }
    Overlap::Unknown
}

fn contradict(x: &Expr, y: &Expr) -> bool {
    if let ExprKind::Not(inner) = &x.kind {
        if **inner == *y {
            return true;
        }
    }
    if let ExprKind::Not(inner) = &y.kind {
        if **inner == *x {
            return true;
        }
    }
    // `p < k` vs `p >= k`, `p <= k` vs `p > k`, `p == k` vs `p != k`
    if let (ExprKind::Cmp(o1, l1, r1), ExprKind::Cmp(o2, l2, r2)) = (&x.kind, &y.kind) {
        if l1 == l2 && r1 == r2 {
            return matches!(
                (o1, o2),
                (CmpOp::Lt, CmpOp::Ge)
                    | (CmpOp::Ge, CmpOp::Lt)
                    | (CmpOp::Le, CmpOp::Gt)
                    | (CmpOp::Gt, CmpOp::Le)
                    | (CmpOp::Eq, CmpOp::Ne)
                    | (CmpOp::Ne, CmpOp::Eq)
            );
        }
    }
    false
}
