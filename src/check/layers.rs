//! Declared claim layers: the payers a claim is settled through, in
//! settlement order. The national policy declares the national ones (basic
//! insurance, 大病保险, supplementary insurance, 医疗救助, other payers and
//! the deductible); a policy adds its own (`layer civil_affairs_backstop …`).
//! Layers are global to the loaded set (an assessment reports one amount per
//! layer and claim), so two declarations of one name must agree; a rule pays
//! or reads a layer only if its policy, or a policy it extends, declares it.

use super::error::CheckErrorKind;
use super::types::{Per, Ty};
use super::{Checker, Input, LayerInfo};
use crate::diagnostic::loc;
use crate::ir::{FileId, LayerId, PolicyId};
use crate::syntax::ast;

/// Most layers a loaded policy set may declare: a claim holds one amount per layer.
pub const MAX_LAYERS: usize = 64;

/// Names a layer may not take: the other figures of a settled claim, which
/// tests and reports name beside the layers (`claims[0].out_of_pocket`).
pub const RESERVED: [&str; 4] = ["out_of_pocket", "total_cost", "member", "date"];

impl Checker {
    /// Collect every `layer` of the loaded files, ancestors' first (so the
    /// national layers come first in settlement order), then in file order.
    pub(crate) fn declare_layers(&mut self, inputs: &[Input<'_>], file_policy: &[Option<PolicyId>]) {
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| file_policy[i].map_or(0, |p| self.chain(&self.module.policies[p as usize].id).len()));
        for i in order {
            let Some(pol) = file_policy[i] else { continue };
            for item in &inputs[i].ast.items {
                if let ast::Item::Layer(d) = item {
                    self.declare_layer(d, pol, inputs[i].file);
                }
            }
        }
    }

    fn declare_layer(&mut self, d: &ast::LayerDecl, pol: PolicyId, file: FileId) {
        let name = d.name.name.clone();
        let at = loc(file, d.name.span);
        let bad = |problem: String, hint: &'static str| CheckErrorKind::BadLayer { layer: name.clone(), problem, hint };
        if RESERVED.contains(&name.as_str()) {
            let k = bad(format!("`{name}` names a figure of every settled claim"), "give the layer another name");
            self.err(k, at);
            return;
        }
        // each entry at most once: no silent "the last one wins"
        let twice = [
            ("field", d.field.get(1).map(|f| f.span)),
            ("program", d.program.get(1).map(|p| p.span)),
            ("cite", d.cite.get(1).map(|c| c.span)),
            ("within out_of_pocket", d.within.get(1).copied()),
        ];
        for (what, span) in twice {
            if let Some(span) = span {
                let k = bad(format!("`{what}` is written twice"), "write each entry of a layer once");
                self.err(k, loc(file, span));
                return;
            }
        }
        let within = !d.within.is_empty();
        let program = match (d.program.first(), within) {
            (Some(p), true) => {
                let k = bad(
                    "a part of out-of-pocket (`within out_of_pocket`) pays nothing, so no programme reports it".into(),
                    "remove `program`, or remove `within out_of_pocket` if the layer pays",
                );
                self.err(k, loc(file, p.span));
                return;
            }
            (Some(p), false) => match self.program_id(p, file) {
                Some(pid) if self.module.programs[pid as usize].amount == Some(Ty::Money(Per::None)) => Some(pid),
                Some(pid) => {
                    let unit = self.module.programs[pid as usize].amount.map_or_else(|| "no amount".to_string(), |t| t.to_string());
                    let k = bad(
                        format!("a layer pays yuan on each claim, and programme `{}` has {unit}", self.module.programs[pid as usize].id),
                        "report the layer under a programme whose amounts are `yuan` (`program ID \"…\": yuan`)",
                    );
                    self.err(k, loc(file, p.span));
                    return;
                }
                None => return,
            },
            (None, true) => None,
            (None, false) => {
                let k = bad(
                    "a paying layer must name the programme its payments are reported under".into(),
                    "add `program PROGRAMME` (for example `program medical.assistance`)",
                );
                self.err(k, at);
                return;
            }
        };
        let info = LayerInfo {
            name: name.clone(),
            title: d.title.as_ref().map(|t| t.value.clone()),
            field: d.field.first().map(|f| f.value.clone()),
            program,
            paying: !within,
            cite: d.cite.first().map(|c| c.value.clone()),
            policies: vec![pol],
            loc: at,
        };
        match self.module.layers.iter().position(|l| l.name == name) {
            Some(i) => {
                let other = &self.module.layers[i];
                let (a_says, b_says) = (self.layer_says(other), self.layer_says(&info));
                if a_says != b_says {
                    let first = other.policies.first().map(|p| self.module.policies[*p as usize].id.clone()).unwrap_or_default();
                    let first_loc = other.loc;
                    let k = CheckErrorKind::DeclarationsDisagree {
                        what: "layer",
                        name,
                        a: first.clone(),
                        a_says,
                        b: self.module.policies[pol as usize].id.clone(),
                        b_says,
                    };
                    self.errors.push(k.at(at).related(first_loc, format!("`{first}` declares it here")));
                } else if other.policies.contains(&pol) {
                    self.err(CheckErrorKind::Duplicate { what: "layer", name }, at);
                } else {
                    self.module.layers[i].policies.push(pol);
                }
            }
            None if self.module.layers.len() >= MAX_LAYERS => {
                let k = CheckErrorKind::TooMany { what: "claim layers", count: self.module.layers.len() + 1, limit: MAX_LAYERS };
                self.err(k, at);
            }
            None => self.module.layers.push(info),
        }
    }

    /// What a layer declaration says, for comparing two declarations.
    fn layer_says(&self, l: &LayerInfo) -> String {
        let field = l.field.as_deref().map(|f| format!(" field \"{f}\"")).unwrap_or_default();
        match l.program {
            Some(p) => format!("{{{field} program {} }}", self.module.programs[p as usize].id),
            None => format!("{{{field} within out_of_pocket }}"),
        }
    }

    /// The layer written `name` (in `pay NAME` or `paid.NAME`) for a rule of
    /// policy `pol`, or the error that says why there is none.
    pub(crate) fn layer_for(&self, name: &str, pol: PolicyId) -> Result<LayerId, CheckErrorKind> {
        let Some(i) = self.module.layers.iter().position(|l| l.name == name) else {
            let suggestion = crate::diagnostic::suggest(name, self.module.layers.iter().map(|l| l.name.as_str()));
            return Err(CheckErrorKind::UnknownLayer { name: name.into(), suggestion });
        };
        let li = &self.module.layers[i];
        let chain = self.chain(&self.module.policies[pol as usize].id);
        if li.policies.iter().any(|p| chain.contains(&self.module.policies[*p as usize].id)) {
            Ok(i as LayerId)
        } else {
            Err(CheckErrorKind::LayerNotDeclaredHere {
                layer: name.into(),
                declared_by: li.policies.first().map(|p| self.module.policies[*p as usize].id.clone()).unwrap_or_default(),
                policy: self.module.policies[pol as usize].id.clone(),
            })
        }
    }
}
