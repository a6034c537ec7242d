//! Declared functions: `fn NAME(p: TYPE, …): TYPE = EXPR`.
//!
//! A function is pure and typed: its body reads its arguments, parameters
//! (`P`, `P at DATE`), `as_of`, built-ins and other functions, and the
//! household only through entity arguments. Its signature is declared, so a
//! call is checked against it alone; the body is checked once, at the
//! declaration. Recursion through any path (functions calling each other, or
//! a parameter whose value calls a function that reads it) is a cycle the
//! checker reports (`Checker::definition_cycles`).

use super::error::CheckErrorKind;
use super::expr::{self, Ctx, Mode};
use super::types::{Entity, EnumTy, Ty};
use super::{find_cycles, Checker, FnDef, Input};
use crate::diagnostic::{loc, suggest};
use crate::ir::{self, ExprKind, FileId, FnId, Loc, PolicyId};
use crate::syntax::ast;
use crate::value::Value;

/// The most parameters a function takes (its arguments are evaluated into a
/// fixed array before they are bound, so a call allocates nothing).
pub(crate) const MAX_FN_PARAMS: usize = 8;

impl Checker {
    /// Declare the functions of one policy file (ancestors first).
    pub(crate) fn declare_fns(&mut self, input: &Input<'_>, pol: PolicyId) {
        let file = input.file;
        let pid = self.module.policies[pol as usize].id.clone();
        for item in &input.ast.items {
            let ast::Item::Fn(d) = item else { continue };
            let name = d.name.name.clone();
            let at = loc(file, d.name.span);
            if expr::callable_names().any(|b| b == name) {
                self.err(CheckErrorKind::ShadowsBuiltin { name }, at);
                continue;
            }
            let chain = self.chain(&pid);
            if let Some(anc) = chain[1..].iter().find(|a| self.fn_names.contains_key(&((*a).clone(), name.clone()))) {
                let first = self.fn_names[&(anc.clone(), name.clone())];
                let first_at = self.module.functions[first as usize].loc;
                let k = CheckErrorKind::ShadowingFunction { name: name.clone(), policy: anc.clone() };
                self.errors.push(k.at(at).related(first_at, "defined here"));
                continue;
            }
            if let Some(&f) = self.fn_names.get(&(pid.clone(), name.clone())) {
                let first_at = self.module.functions[f as usize].loc;
                if self.module.functions[f as usize].policy == pol {
                    let e = CheckErrorKind::Duplicate { what: "function", name }.at(at);
                    self.errors.push(e.related(first_at, "first defined here"));
                } else if self.fn_decls[f as usize] != *d {
                    // another version of the same policy: one definition, or an error
                    let e = CheckErrorKind::FunctionVersionsDisagree { name, policy: pid.clone() }.at(at);
                    self.errors.push(e.related(first_at, "defined differently here"));
                }
                continue;
            }
            if d.params.len() > MAX_FN_PARAMS {
                let n = d.params.len();
                self.err(CheckErrorKind::TooMany { what: "function parameters", count: n, limit: MAX_FN_PARAMS }, at);
                continue;
            }
            let mut params = Vec::new();
            for p in &d.params {
                if params.iter().any(|(n, _): &(String, Ty)| *n == p.name.name) {
                    self.err(CheckErrorKind::Duplicate { what: "parameter", name: p.name.name.clone() }, loc(file, p.name.span));
                }
                let t = self.fn_type(&p.ty, file);
                params.push((p.name.name.clone(), t));
            }
            let ret = self.fn_type(&d.ret, file);
            let id = self.module.functions.len() as FnId;
            let placeholder = ir::Expr { kind: ExprKind::Const(Value::ZERO), ty: Ty::Error, loc: loc(file, d.body.span) };
            self.module.functions.push(FnDef {
                name: name.clone(),
                policy: pol,
                params,
                ret,
                body: placeholder,
                frame: 0,
                reads_as_of: false,
                calls: Vec::new(),
                param_reads: Vec::new(),
                loc: at,
            });
            self.pending_fns.push(Some((file, d.clone())));
            self.fn_decls.push(d.clone());
            self.fn_names.insert((pid.clone(), name), id);
        }
    }

    /// A parameter's or result's type as written.
    fn fn_type(&mut self, t: &ast::FnType, file: FileId) -> Ty {
        match t {
            ast::FnType::Builtin(t) => Ty::from_ast(t.ty),
            ast::FnType::Named(id) => match id.name.as_str() {
                "household" => Ty::Entity(Entity::Household),
                "member" => Ty::Entity(Entity::Member),
                "claim" => Ty::Entity(Entity::Claim),
                "loan" => Ty::Entity(Entity::Loan),
                n => match self.enum_names.get(n) {
                    Some(i) => Ty::Enum(EnumTy::Declared(*i)),
                    None => {
                        let mut cands: Vec<&str> = vec!["household", "member", "claim", "loan"];
                        cands.extend(self.module.enums.iter().map(|e| e.name.as_str()));
                        let suggestion = suggest(n, cands);
                        self.err(CheckErrorKind::UnknownType { name: n.to_string(), suggestion }, loc(file, id.span));
                        Ty::Error
                    }
                },
            },
        }
    }

    /// Check every function's body against its signature, then work out
    /// which read `as_of` (directly or through the functions they call).
    pub(crate) fn fn_bodies(&mut self) {
        for f in 0..self.module.functions.len() {
            let Some((file, decl)) = self.pending_fns[f].take() else { continue };
            let (pol, params, ret) = {
                let d = &self.module.functions[f];
                (d.policy, d.params.clone(), d.ret)
            };
            let mut cx = Ctx::new(pol, file, Mode::Function);
            cx.function = Some(f as FnId);
            for (n, t) in &params {
                cx.bind(n, *t);
            }
            let body = self.expr(&decl.body, &mut cx, Some(ret));
            let before = self.errors.len();
            let body = self.coerce(body, ret);
            if self.errors.len() > before {
                let d = &self.module.functions[f];
                let (at, label) = (loc(file, decl.ret.span()), format!("`{}` is declared to give {ret}", d.name));
                if let Some(e) = self.errors.last_mut() {
                    e.related.push((at, label));
                }
            }
            let d = &mut self.module.functions[f];
            d.body = body;
            d.frame = cx.max_slot;
            d.reads_as_of = cx.reads_as_of;
        }
        // as_of through calls: a fixed point (at most one round per function)
        loop {
            let mut changed = false;
            for f in 0..self.module.functions.len() {
                if self.module.functions[f].reads_as_of {
                    continue;
                }
                let reads =
                    self.module.functions[f].calls.iter().any(|g| self.module.functions.get(*g as usize).is_some_and(|g| g.reads_as_of));
                if reads {
                    self.module.functions[f].reads_as_of = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// A call of a declared function: arity and argument types against its
    /// signature; what the call adds to the definitions' dependency graph.
    pub(crate) fn apply(&mut self, f: FnId, name: &ast::Ident, args: &[ast::Expr], cx: &mut Ctx, at: Loc) -> ir::Expr {
        let (fname, params, ret, reads_as_of, decl_at) = {
            let d = &self.module.functions[f as usize];
            (d.name.clone(), d.params.clone(), d.ret, d.reads_as_of, d.loc)
        };
        if let Some(cur) = cx.param {
            let i = cur as usize;
            if self.param_calls.len() <= i {
                self.param_calls.resize(i + 1, Vec::new());
            }
            if !self.param_calls[i].contains(&f) {
                self.param_calls[i].push(f);
            }
        }
        if let Some(cur) = cx.function {
            let calls = &mut self.module.functions[cur as usize].calls;
            if !calls.contains(&f) {
                calls.push(f);
            }
        }
        if args.len() != params.len() {
            let k = CheckErrorKind::Arity { name: fname, expected: params.len().to_string(), found: args.len() };
            self.errors.push(k.at(at).related(decl_at, "declared here"));
            return mk_error(at);
        }
        if matches!(cx.mode, Mode::Param(_)) && reads_as_of {
            self.err(
                CheckErrorKind::NotAllowed {
                    what: format!("`{}(…)`, which reads `as_of`,", name.name),
                    context: "in a parameter value (parameters are read on the assessment date already)".into(),
                },
                at,
            );
            return mk_error(at);
        }
        let mut out = Vec::with_capacity(args.len());
        let mut failed = false;
        for ((pname, pty), a) in params.iter().zip(args) {
            let v = self.expr(a, cx, Some(*pty));
            let before = self.errors.len();
            let v = self.coerce(v, *pty);
            if self.errors.len() > before {
                if let Some(e) = self.errors.last_mut() {
                    e.related.push((decl_at, format!("parameter `{pname}` of `{fname}` is {pty}")));
                }
            }
            failed |= v.ty == Ty::Error;
            out.push(v);
        }
        if failed || ret == Ty::Error {
            return mk_error(at);
        }
        ir::Expr { kind: ExprKind::Apply(f, out.into_boxed_slice()), ty: ret, loc: at }
    }

    /// Cycles among parameters and functions: a parameter's value reads a
    /// parameter or calls a function; a function's body reads a parameter or
    /// calls a function. Each is reported once, listing its members.
    pub(crate) fn definition_cycles(&mut self) {
        let np = self.module.params.len();
        let nf = self.module.functions.len();
        let deps = &self.param_deps;
        let calls = &self.param_calls;
        let fns = &self.module.functions;
        let edges = |i: usize| -> Vec<usize> {
            if i < np {
                let mut v: Vec<usize> = deps.get(i).map_or_else(Vec::new, |d| d.iter().map(|p| *p as usize).collect());
                if let Some(c) = calls.get(i) {
                    v.extend(c.iter().map(|f| np + *f as usize));
                }
                v
            } else {
                let d = &fns[i - np];
                d.param_reads.iter().map(|p| *p as usize).chain(d.calls.iter().map(|f| np + *f as usize)).collect()
            }
        };
        let name = |i: usize| -> String {
            if i < np {
                format!("param {}", self.module.params[i].name)
            } else {
                format!("fn {}", fns[i - np].name)
            }
        };
        let at = |i: usize| -> Loc {
            if i < np {
                self.module.params[i].defs[0].loc
            } else {
                fns[i - np].loc
            }
        };
        let mut errors = Vec::new();
        find_cycles(np + nf, edges, |path| errors.push(CheckErrorKind::cycle(path.len(), |i| name(path[i])).at(at(path[0]))));
        self.errors.extend(errors);
    }
}

fn mk_error(at: Loc) -> ir::Expr {
    ir::Expr { kind: ExprKind::Const(Value::ZERO), ty: Ty::Error, loc: at }
}
