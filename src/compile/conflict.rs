//! The static conflict check: two rules that can both define the same value
//! output (an amount, an assignment, a claim layer) for the same subject,
//! with neither taking precedence, are an error — unless their conditions
//! are provably exclusive.

use super::Program;
use crate::check::error::{CheckError, CheckErrorKind};
use crate::check::Target;
use crate::diagnostic::Diagnostic;
use crate::ir::RuleId;
use crate::syntax::ast::{self, BinOp, ExprKind, UnOp};
use std::collections::HashMap;

pub(super) fn check(p: &Program, writers: &HashMap<Target, Vec<RuleId>>, errors: &mut Vec<CheckError>, warnings: &mut Vec<Diagnostic>) {
    let m = &p.module;
    let mut keys: Vec<&Target> = writers.keys().filter(|t| matches!(t, Target::Amount(_) | Target::Assign(_) | Target::Pay(_))).collect();
    keys.sort();
    for t in keys {
        let w = &writers[t];
        for (i, &a) in w.iter().enumerate() {
            for &b in &w[i + 1..] {
                let (ra, rb) = (&m.rules[a as usize], &m.rules[b as usize]);
                if ra.subject != rb.subject || p.beats(a, b) || p.beats(b, a) {
                    continue;
                }
                let (pa, pb) = (&m.policies[ra.policy as usize], &m.policies[rb.policy as usize]);
                // versions of one policy are never in force together; disjoint regions never meet
                if pa.id == pb.id && ra.policy != rb.policy {
                    continue;
                }
                let n = pa.prefix_len.min(pb.prefix_len) as usize;
                if pa.region.as_bytes()[..n] != pb.region.as_bytes()[..n] {
                    continue;
                }
                match overlap(ra.cond_ast.as_ref(), rb.cond_ast.as_ref()) {
                    Overlap::Exclusive => {}
                    Overlap::Certain => {
                        let k = CheckErrorKind::PossibleConflict { target: super::target_name(m, *t), a: ra.id.clone(), b: rb.id.clone() };
                        errors.push(k.at(rb.loc).related(ra.loc, format!("`{}` also defines it", ra.id)));
                    }
                    Overlap::Unknown => {
                        let d = Diagnostic::warning(
                            format!(
                                "rules `{}` and `{}` may both define {} for some households, and neither takes precedence",
                                ra.id,
                                rb.id,
                                super::target_name(m, *t)
                            ),
                            Some(rb.loc),
                        )
                        .with_secondary(ra.loc, format!("`{}` also defines it", ra.id))
                        .with_help(Some("if both apply, the assessment fails with a conflict naming both rules; declare one an `exception to` the other, or make their conditions exclusive".into()));
                        warnings.push(d);
                    }
                }
            }
        }
    }
}

fn conjuncts<'a>(e: &'a ast::Expr, out: &mut Vec<&'a ast::Expr>) {
    match &*e.kind {
        ExprKind::Binary(BinOp::And, a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        _ => out.push(e),
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

/// Classify two conditions (`None`: unconditional).
pub(crate) fn overlap(a: Option<&ast::Expr>, b: Option<&ast::Expr>) -> Overlap {
    let (Some(a), Some(b)) = (a, b) else { return Overlap::Certain };
    let mut ca = Vec::new();
    let mut cb = Vec::new();
    conjuncts(a, &mut ca);
    conjuncts(b, &mut cb);
    if ca.iter().any(|x| cb.iter().any(|y| contradict(x, y))) {
        return Overlap::Exclusive;
    }
    if ca.iter().all(|x| cb.contains(x)) || cb.iter().all(|y| ca.contains(y)) {
        return Overlap::Certain;
    }
    Overlap::Unknown
}

fn literal(e: &ast::Expr) -> bool {
    matches!(&*e.kind, ExprKind::Number(_) | ExprKind::Percent(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Date(_))
        || matches!(&*e.kind, ExprKind::Path(p) if p.len() == 1)
}

fn contradict(x: &ast::Expr, y: &ast::Expr) -> bool {
    if let ExprKind::Unary(UnOp::Not, inner) = &*x.kind {
        if inner == y {
            return true;
        }
    }
    if let ExprKind::Unary(UnOp::Not, inner) = &*y.kind {
        if inner == x {
            return true;
        }
    }
    // `p == A` vs `p == B`, `p in [..]` vs `p == B` …
    let set = |e: &ast::Expr| -> Option<(ast::Expr, Vec<ast::Expr>)> {
        match &*e.kind {
            ExprKind::Binary(BinOp::Eq, l, r) if literal(r) => Some((l.clone(), vec![r.clone()])),
            ExprKind::In(l, items) if items.iter().all(literal) => Some((l.clone(), items.clone())),
            _ => None,
        }
    };
    if let (Some((pa, la)), Some((pb, lb))) = (set(x), set(y)) {
        if pa == pb && !la.iter().any(|v| lb.contains(v)) {
            return true;
        }
    }
    // `p < k` vs `p >= k`, `p <= k` vs `p > k`
    if let (ExprKind::Binary(o1, l1, r1), ExprKind::Binary(o2, l2, r2)) = (&*x.kind, &*y.kind) {
        if l1 == l2 && r1 == r2 {
            let pair = (*o1, *o2);
            return matches!(
                pair,
                (BinOp::Lt, BinOp::Ge)
                    | (BinOp::Ge, BinOp::Lt)
                    | (BinOp::Le, BinOp::Gt)
                    | (BinOp::Gt, BinOp::Le)
                    | (BinOp::Eq, BinOp::Ne)
                    | (BinOp::Ne, BinOp::Eq)
            );
        }
    }
    false
}
