//! Declared facts and enumerations: the inputs a policy reads that the core
//! household model does not have. Both are global to the loaded set (a
//! household record carries one value per fact), so two declarations of one
//! name must agree; a rule reads a fact only if its policy, or a policy it
//! extends, declares it.

use super::error::CheckErrorKind;
use super::types::{Entity, EnumTy, Ty};
use super::{schema, Checker, EnumInfo, FactInfo, Input};
use crate::diagnostic::loc;
use crate::ir::PolicyId;
use crate::syntax::ast;

/// Most facts one kind of record (household, member, claim or loan) may
/// declare: a bound household holds one slot per record and declared fact.
pub const MAX_FACTS: usize = 100;
/// Most declared enumerations, and most variants of one.
pub const MAX_ENUMS: usize = 1_000;

pub(crate) fn entity_of(o: ast::FactOwner) -> Entity {
    match o {
        ast::FactOwner::Household => Entity::Household,
        ast::FactOwner::Member => Entity::Member,
        ast::FactOwner::Claim => Entity::Claim,
        ast::FactOwner::Loan => Entity::Loan,
    }
}

impl Checker {
    /// Collect every `enum` and then every `fact` of the loaded files.
    pub(crate) fn declare_facts(&mut self, inputs: &[Input<'_>], file_policy: &[Option<PolicyId>]) {
        for (input, pol) in inputs.iter().zip(file_policy) {
            let Some(pol) = *pol else { continue };
            for item in &input.ast.items {
                if let ast::Item::Enum(e) = item {
                    self.declare_enum(e, pol, input.file);
                }
            }
        }
        for (input, pol) in inputs.iter().zip(file_policy) {
            let Some(pol) = *pol else { continue };
            for item in &input.ast.items {
                if let ast::Item::Fact(f) = item {
                    self.declare_fact(f, pol, input.file);
                }
            }
        }
    }

    fn declare_enum(&mut self, e: &ast::EnumDecl, pol: PolicyId, file: crate::ir::FileId) {
        let at = loc(file, e.name.span);
        if e.variants.is_empty() {
            self.err(CheckErrorKind::EmptyEnum { name: e.name.name.clone() }, at);
            return;
        }
        let mut variants: Vec<(String, Option<String>)> = Vec::with_capacity(e.variants.len());
        for v in &e.variants {
            if variants.iter().any(|(n, _)| *n == v.name.name) {
                self.err(CheckErrorKind::Duplicate { what: "variant", name: v.name.name.clone() }, loc(file, v.name.span));
                return;
            }
            variants.push((v.name.name.clone(), v.title.as_ref().map(|t| t.value.clone())));
        }
        if variants.len() > MAX_ENUMS {
            let k = CheckErrorKind::TooMany { what: "variants", count: variants.len(), limit: MAX_ENUMS };
            self.err(k, at);
            return;
        }
        match self.enum_names.get(&e.name.name).copied() {
            Some(i) => {
                let other = &self.module.enums[i as usize];
                let names = |v: &[(String, Option<String>)]| v.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
                if names(&other.variants) != names(&variants) {
                    let first = other.policies.first().map(|p| self.module.policies[*p as usize].id.clone()).unwrap_or_default();
                    let k = CheckErrorKind::DeclarationsDisagree {
                        what: "enumeration",
                        name: e.name.name.clone(),
                        a: first.clone(),
                        a_says: format!("{{ {} }}", names(&other.variants)),
                        b: self.module.policies[pol as usize].id.clone(),
                        b_says: format!("{{ {} }}", names(&variants)),
                    };
                    let first_loc = other.loc;
                    self.errors.push(k.at(at).related(first_loc, format!("`{first}` declares it here")));
                } else if other.policies.contains(&pol) {
                    self.err(CheckErrorKind::Duplicate { what: "enumeration", name: e.name.name.clone() }, at);
                } else {
                    self.module.enums[i as usize].policies.push(pol);
                }
            }
            None => {
                if self.module.enums.len() >= MAX_ENUMS {
                    let k = CheckErrorKind::TooMany { what: "enumerations", count: self.module.enums.len() + 1, limit: MAX_ENUMS };
                    self.err(k, at);
                    return;
                }
                let i = self.module.enums.len() as u16;
                self.enum_names.insert(e.name.name.clone(), i);
                self.module.enums.push(EnumInfo {
                    name: e.name.name.clone(),
                    title: e.title.as_ref().map(|t| t.value.clone()),
                    variants,
                    policies: vec![pol],
                    loc: at,
                });
            }
        }
    }

    fn declare_fact(&mut self, f: &ast::FactDecl, pol: PolicyId, file: crate::ir::FileId) {
        let entity = entity_of(f.owner);
        let name = f.name.name.clone();
        let path = format!("{}.{}", f.owner.as_str(), name);
        let at = loc(file, f.name.span);
        if schema::lookup(entity, &name).is_some() || schema::is_group(entity, &name) {
            self.err(CheckErrorKind::FactShadowsCore { fact: path }, at);
            return;
        }
        let elem = match &f.ty.scalar {
            ast::FactScalar::Builtin(t) => Ty::from_ast(*t),
            ast::FactScalar::Enum(id) => match self.enum_names.get(&id.name) {
                Some(i) => Ty::Enum(EnumTy::Declared(*i)),
                None => {
                    let suggestion = crate::diagnostic::suggest(&id.name, self.module.enums.iter().map(|e| e.name.as_str()));
                    self.err(CheckErrorKind::UnknownEnum { name: id.name.clone(), suggestion }, loc(file, id.span));
                    return;
                }
            },
        };
        let list = f.ty.list;
        let optional = f.optional.is_some();
        let says = |elem: Ty, list: bool, optional: bool, c: &Checker| {
            let t = c.ty_name(elem);
            let t = if list { format!("list of {t}") } else { t };
            if optional {
                format!("optional {t}")
            } else {
                t
            }
        };
        match self.fact_names.get(&(entity, name.clone())).copied() {
            Some(i) => {
                let other = &self.module.facts[i as usize];
                if (other.elem, other.list, other.optional) != (elem, list, optional) {
                    let first = other.policies.first().map(|p| self.module.policies[*p as usize].id.clone()).unwrap_or_default();
                    let first_loc = other.loc;
                    let k = CheckErrorKind::DeclarationsDisagree {
                        what: "fact",
                        name: path,
                        a: first.clone(),
                        a_says: says(other.elem, other.list, other.optional, self),
                        b: self.module.policies[pol as usize].id.clone(),
                        b_says: says(elem, list, optional, self),
                    };
                    self.errors.push(k.at(at).related(first_loc, format!("`{first}` declares it here")));
                } else if other.policies.contains(&pol) {
                    self.err(CheckErrorKind::Duplicate { what: "fact", name: path }, at);
                } else {
                    let fi = &mut self.module.facts[i as usize];
                    fi.policies.push(pol);
                    if fi.title.is_none() {
                        fi.title = f.title.as_ref().map(|t| t.value.clone());
                    }
                    if fi.cite.is_none() {
                        fi.cite = f.cite.as_ref().map(|t| t.value.clone());
                    }
                }
            }
            None => {
                let slot = self.module.facts.iter().filter(|x| x.entity == entity).count();
                if slot >= MAX_FACTS {
                    let k = CheckErrorKind::TooMany { what: "declared facts of one record", count: slot + 1, limit: MAX_FACTS };
                    self.err(k, at);
                    return;
                }
                let i = self.module.facts.len() as u16;
                self.fact_names.insert((entity, name.clone()), i);
                self.module.facts.push(FactInfo {
                    entity,
                    name,
                    elem,
                    list,
                    optional,
                    title: f.title.as_ref().map(|t| t.value.clone()),
                    cite: f.cite.as_ref().map(|t| t.value.clone()),
                    policies: vec![pol],
                    slot: slot as u16,
                    loc: at,
                });
            }
        }
    }

    /// The declared fact `name` of `entity`, if any.
    pub(crate) fn find_fact(&self, entity: Entity, name: &str) -> Option<u16> {
        self.fact_names.get(&(entity, name.to_string())).copied()
    }

    /// Whether policy `pol` may read fact `f`: it, or a policy it extends, declares it.
    pub(crate) fn fact_visible(&self, f: u16, pol: PolicyId) -> Result<(), String> {
        let fi = &self.module.facts[f as usize];
        let chain = self.chain(&self.module.policies[pol as usize].id);
        if fi.policies.iter().any(|p| chain.contains(&self.module.policies[*p as usize].id)) {
            Ok(())
        } else {
            Err(fi.policies.first().map(|p| self.module.policies[*p as usize].id.clone()).unwrap_or_default())
        }
    }

    /// A type as an analyst writes it (declared enumerations by name).
    pub(crate) fn ty_name(&self, t: Ty) -> String {
        match t {
            Ty::Enum(EnumTy::Declared(i)) => self.module.enums.get(i as usize).map_or_else(|| "enumeration".into(), |e| e.name.clone()),
            Ty::FactList(f) => match self.module.facts.get(f as usize) {
                Some(fi) => format!("list of {}", self.ty_name(fi.elem)),
                None => "list".into(),
            },
            t => t.to_string(),
        }
    }

    /// The ordinal of variant `name` of an enumeration.
    pub(crate) fn enum_variant(&self, en: EnumTy, name: &str) -> Option<u16> {
        match en {
            EnumTy::Declared(i) => {
                self.module.enums.get(i as usize).and_then(|e| e.variants.iter().position(|(n, _)| n == name)).map(|p| p as u16)
            }
            en => en.variant(name),
        }
    }

    /// The variant names of an enumeration.
    pub(crate) fn enum_variants(&self, en: EnumTy) -> Vec<String> {
        match en {
            EnumTy::Declared(i) => {
                self.module.enums.get(i as usize).map_or_else(Vec::new, |e| e.variants.iter().map(|(n, _)| n.clone()).collect())
            }
            en => en.variants().into_iter().map(String::from).collect(),
        }
    }

    /// The name of an enumeration, for messages.
    pub(crate) fn enum_name(&self, en: EnumTy) -> String {
        self.ty_name(Ty::Enum(en))
    }
}
