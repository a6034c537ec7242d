//! The engine: build once from policy sources, assess many households.

use crate::assessment::{Assessment, ClaimOutcome, Layers, PolicyRef, ProgramOutcome, Reason};
use crate::check::{self, error::CheckErrorKind};
use crate::compile::{self, Program};
use crate::diagnostic::{loc, Diagnostic, Diagnostics, SourceMap};
use crate::eval::{self, EvalError, Scratch};
use crate::ir::RuleId;
use crate::model::{self, Household};
use crate::policy::{self, hash::file_hash, Source};
use crate::syntax;
use crate::value::Value;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// A compiled policy set, ready to assess households. Cheap to clone
/// (`Arc`), `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Engine {
    program: Arc<Program>,
    warnings: Arc<Vec<Diagnostic>>,
}

/// Collects policy sources, then builds an [`Engine`].
#[derive(Debug, Clone, Default)]
pub struct EngineBuilder {
    pub(crate) sources: Vec<Source>,
    /// Pins and version selections (see [`crate::pin`]).
    pub(crate) selection: crate::pin::Selection,
}

impl EngineBuilder {
    /// Add the policies shipped with the crate.
    pub fn embedded(mut self) -> Self {
        for (name, text) in policy::embedded() {
            self.sources.push(Source { name: name.to_string(), text: text.to_string() });
        }
        self
    }
    /// Add every `*.policy` file under a path.
    pub fn path(mut self, path: impl AsRef<Path>) -> Result<Self, policy::LoadError> {
        self.sources.extend(policy::read_path(path.as_ref())?);
        Ok(self)
    }
    /// Add one source text.
    pub fn source(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.sources.push(Source { name: name.into(), text: text.into() });
        self
    }
    /// Add sources.
    pub fn sources(mut self, sources: impl IntoIterator<Item = Source>) -> Self {
        self.sources.extend(sources);
        self
    }
    /// The sources collected so far.
    pub fn collected(&self) -> &[Source] {
        &self.sources
    }
    /// Parse, check and compile. Every diagnostic of every file is reported.
    /// Pins and selections ([`EngineBuilder::pin`], [`EngineBuilder::select`])
    /// are applied first; [`EngineBuilder::try_build`] reports their errors typed.
    pub fn build(self) -> Result<Engine, Diagnostics> {
        if !self.selection.is_empty() {
            return self.try_build().map_err(crate::pin::BuildError::into_diagnostics);
        }
        build(self.sources)
    }
}

fn build(sources: Vec<Source>) -> Result<Engine, Diagnostics> {
    let mut map = SourceMap::new();
    let mut items: Vec<Diagnostic> = Vec::new();
    let mut parsed = Vec::new();
    for s in &sources {
        let id = map.add(s.name.clone(), s.text.as_str());
        match syntax::parse(&s.text) {
            Ok(f) => parsed.push((id, f)),
            Err(errs) => {
                for e in errs {
                    let k = CheckErrorKind::Syntax { message: e.kind.to_string(), help: e.kind.help() };
                    items.push(k.at(loc(id, e.span)).to_diagnostic());
                }
            }
        }
    }
    let inputs: Vec<check::Input<'_>> = parsed.iter().map(|(id, f)| check::Input { file: *id, ast: f }).collect();
    let (module, errors) = check::check(&inputs);
    items.extend(errors.iter().map(|e| e.to_diagnostic()));
    let hashes: Vec<String> = module
        .policies
        .iter()
        .map(|p| parsed.iter().find(|(id, _)| *id == p.file).map(|(_, f)| file_hash(f)).unwrap_or_default())
        .collect();
    if !items.is_empty() {
        return Err(Diagnostics { items, sources: map });
    }
    let (program, errors, warnings) = compile::compile(module, map, hashes);
    if !errors.is_empty() {
        let mut items: Vec<Diagnostic> = errors.iter().map(|e| e.to_diagnostic()).collect();
        items.extend(warnings);
        return Err(Diagnostics { items, sources: program.sources });
    }
    Ok(Engine { program: Arc::new(program), warnings: Arc::new(warnings) })
}

/// A parameter in force for a region on a date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParamInForce {
    /// Name.
    pub name: String,
    /// Value (or the error that prevents reading it).
    pub value: String,
    /// Type.
    pub ty: String,
    /// The policy whose definition is used.
    pub policy: String,
    /// Citation of the value or definition.
    pub citation: Option<String>,
}

impl Engine {
    /// A builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The shipped policies.
    pub fn embedded() -> Result<Engine, Diagnostics> {
        EngineBuilder::default().embedded().build()
    }

    /// Warnings found while building (rules that may conflict on some households).
    pub fn warnings(&self) -> Diagnostics {
        Diagnostics { items: self.warnings.as_ref().clone(), sources: self.program.sources.clone() }
    }

    /// The compiled program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Fresh reusable buffers for [`Engine::evaluate`] and [`Engine::assess_with`].
    pub fn scratch(&self) -> Scratch {
        Scratch::new(&self.program)
    }

    /// Assess a household on a date. Validates the household first.
    pub fn assess(&self, h: &Household, as_of: NaiveDate) -> Result<Assessment, EvalError> {
        let mut s = self.scratch();
        self.assess_with(h, as_of, &mut s)
    }

    /// Assess with reusable buffers (and the trace, if `s` has tracing on).
    /// Validating the household is charged to the step budget
    /// ([`model::validation_steps`]) before it is done: a household too large
    /// for `s.budget` is refused with [`EvalError::Budget`].
    pub fn assess_with(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch) -> Result<Assessment, EvalError> {
        let steps = model::validation_steps(h);
        if steps > s.budget {
            return Err(EvalError::Budget { limit: s.budget });
        }
        model::validate(h, Some(as_of))?;
        eval::evaluate_spent(&self.program, h, as_of, s, steps)?;
        Ok(self.assessment(h, as_of, s))
    }

    /// The allocation-free core: evaluate into `s` without building an
    /// [`Assessment`]. Read results with [`Scratch::programs`] and
    /// [`Scratch::claim_states`]. The household must be valid.
    pub fn evaluate(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch) -> Result<(), EvalError> {
        eval::evaluate(&self.program, h, as_of, s)
    }

    /// Parse a household from JSON and check it for this engine: the model
    /// (as [`crate::model::parse_household`]) and the facts the loaded
    /// policies declare, each error with its JSON path, line and column. A
    /// required fact is required where a declaring policy is in force for the
    /// household's region (on `as_of`, when given).
    pub fn parse_household(&self, json: &str, as_of: Option<NaiveDate>) -> Result<Household, model::HouseholdError> {
        let h = model::parse_household(json, as_of)?;
        let m = &self.program.module;
        let active: Vec<bool> = m
            .policies
            .iter()
            .map(|p| match as_of {
                Some(d) => p.applies(&h.region, d),
                None => p.applies(&h.region, p.from),
            })
            .collect();
        let errors = self.program.facts.errors(&h, &active);
        match model::earliest_located(json, errors) {
            Some(e) => Err(e),
            None => Ok(h),
        }
    }

    /// Like [`Engine::parse_household`], from bytes (a byte order mark and
    /// invalid UTF-8 are errors, as in [`crate::model::parse_household_bytes`]).
    pub fn parse_household_bytes(&self, json: &[u8], as_of: Option<NaiveDate>) -> Result<Household, model::HouseholdError> {
        match std::str::from_utf8(json) {
            Ok(text) if !text.starts_with('\u{feff}') => self.parse_household(text, as_of),
            // the model's reader says what is wrong with the bytes
            _ => model::parse_household_bytes(json, as_of).and_then(|h| {
                let text = String::from_utf8_lossy(json);
                self.parse_household(&text, as_of).map(|_| h)
            }),
        }
    }

    /// A declared fact by path (`member.study_year`), for setting it on a
    /// record with [`crate::model::Facts::set`].
    pub fn fact(&self, path: &str) -> Result<&model::FactSpec, model::FactError> {
        self.program.facts.find(path).ok_or_else(|| {
            let known: Vec<String> = self.program.facts.specs.iter().map(|s| s.path()).collect();
            let message = if known.is_empty() {
                "no loaded policy declares a fact".to_string()
            } else {
                format!("no loaded policy declares it; the declared facts are {}", known.join(", "))
            };
            model::FactError { fact: path.to_string(), message }
        })
    }

    /// The JSON Schema (draft 2020-12) of a household for the loaded
    /// policies: the core model and the declared facts. With a region (and a
    /// date), only the facts of the policies in force there, and the
    /// required ones required; without, every declared fact, none required
    /// (a required fact is required only where a declaring policy is in force).
    pub fn household_schema(&self, region: Option<&str>, as_of: Option<NaiveDate>) -> serde_json::Value {
        let mut schema = model::json_schema();
        let m = &self.program.module;
        let applies = |p: u32| {
            let pol = &m.policies[p as usize];
            match (region, as_of) {
                (Some(r), Some(d)) => pol.applies(r, d),
                (Some(r), None) => pol.applies(r, pol.from),
                (None, Some(d)) => pol.from <= d && pol.to.map_or(true, |t| d <= t),
                (None, None) => true,
            }
        };
        self.program.facts.extend_json_schema(&mut schema, &applies, region.is_some());
        schema
    }

    /// Every declared fact of the loaded policies.
    pub fn facts(&self) -> &[model::FactSpec] {
        &self.program.facts.specs
    }

    /// The index of a programme by id.
    pub fn program_index(&self, id: &str) -> Option<usize> {
        self.program.module.program(id).map(|p| p as usize)
    }

    /// Parameter ids with this name.
    pub fn param_ids(&self, name: &str) -> Vec<u32> {
        self.program.module.params_named(name).collect()
    }

    fn assessment(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch) -> Assessment {
        let p = &*self.program;
        let m = &p.module;
        let mut active: Vec<usize> = (0..m.policies.len()).filter(|i| s.active[*i]).collect();
        active.sort_by_key(|i| (m.policies[*i].rank(), *i));
        let policies = active
            .iter()
            .map(|i| PolicyRef { id: m.policies[*i].id.clone(), version: m.policies[*i].version.clone(), hash: p.hashes[*i].clone() })
            .collect();
        let reason = |r: RuleId, subjects: Vec<String>| {
            let rule = &m.rules[r as usize];
            Reason {
                rule: rule.id.clone(),
                title: rule.title.clone(),
                citation: rule.cite.clone(),
                policy: m.policies[rule.policy as usize].id.clone(),
                subjects,
            }
        };
        let mut programs = BTreeMap::new();
        for (pi, prog) in m.programs.iter().enumerate() {
            let writers = &p.writers[pi];
            if !writers.iter().any(|r| s.active[m.rules[*r as usize].policy as usize]) {
                continue;
            }
            let st = s.progs[pi];
            let mut reasons: Vec<Reason> = Vec::new();
            // the subjects already listed, per reason: a rule firing for every
            // one of 100,000 claims is listed in linear time
            let mut listed: Vec<std::collections::HashSet<String>> = Vec::new();
            for f in s.fired.iter().filter(|f| f.program as usize == pi) {
                let subj = match f.subject {
                    Value::Household => None,
                    v => Some(eval::describe_subject(h, v)),
                };
                match reasons.iter().position(|x| {
                    x.rule == m.rules[f.rule as usize].id && x.policy == m.policies[m.rules[f.rule as usize].policy as usize].id
                }) {
                    Some(i) => {
                        if let Some(sj) = subj {
                            if listed[i].insert(sj.clone()) {
                                reasons[i].subjects.push(sj);
                            }
                        }
                    }
                    None => {
                        listed.push(subj.iter().cloned().collect());
                        reasons.push(reason(f.rule, subj.into_iter().collect()));
                    }
                }
            }
            programs.insert(
                prog.id.clone(),
                ProgramOutcome {
                    eligible: st.eligible,
                    amount: if st.error.is_some() { None } else { st.amount },
                    unit: if st.amount.is_some() && st.error.is_none() {
                        prog.amount.and_then(|t| t.unit()).map(String::from)
                    } else {
                        None
                    },
                    flag: st.flag,
                    value: st.assign.and_then(|x| m.symbols.get(x as usize).cloned()),
                    reasons,
                    error: st.error.and_then(|i| s.errors.get(i as usize)).map(|e| e.to_string()),
                },
            );
        }
        let mut claims = Vec::new();
        // the rules fired for each claim, in firing order, found in one pass
        let mut fired_for: Vec<Vec<RuleId>> = vec![Vec::new(); s.claims.len()];
        for (idx, r) in s.claim_fired.iter() {
            if let Some(v) = fired_for.get_mut(*idx as usize) {
                v.push(*r);
            }
        }
        for (ci, c) in s.claims.iter().enumerate() {
            let Some(member) = h.members.get(c.member as usize) else { continue };
            let Some(claim) = member.claims.get(c.claim as usize) else { continue };
            let mut reasons: Vec<Reason> = Vec::new();
            for r in fired_for.get(ci).into_iter().flatten() {
                if !reasons.iter().any(|x| x.rule == m.rules[*r as usize].id) {
                    reasons.push(reason(*r, Vec::new()));
                }
            }
            // every layer that applies: declared by a policy applied (or, so
            // that the layers always add up, paid at all)
            let settled = c.out_of_pocket.is_some();
            let row = &s.layers[ci * m.layers.len()..(ci + 1) * m.layers.len()];
            let (mut layers, mut parts) = (Vec::new(), Vec::new());
            for (li, info) in m.layers.iter().enumerate() {
                if !info.policies.iter().any(|p| s.active[*p as usize]) && row[li].is_zero() {
                    continue;
                }
                let v = (info.name.clone(), settled.then_some(row[li]));
                if info.paying {
                    layers.push(v);
                } else {
                    parts.push(v);
                }
            }
            claims.push(ClaimOutcome {
                member: member.id.clone(),
                claim: claim.id.clone().unwrap_or_else(|| format!("{}#{}", member.id, c.claim + 1)),
                date: claim.date,
                total_cost: claim.total_cost,
                layers: Layers(layers),
                out_of_pocket: c.out_of_pocket,
                out_of_pocket_parts: Layers(parts),
                reasons,
                error: s
                    .claim_errors
                    .iter()
                    .find(|(c, _)| *c as usize == ci)
                    .and_then(|(_, e)| s.errors.get(*e as usize))
                    .map(|e| e.to_string()),
            });
        }
        Assessment { household: h.id.clone(), as_of, policies, programs, claims, trace: s.trace.clone() }
    }

    /// Every parameter in force for a region on a date, with its value and citation.
    pub fn params_in_force(&self, region: &str, as_of: NaiveDate) -> Vec<ParamInForce> {
        let p = &*self.program;
        let m = &p.module;
        let h = Household {
            id: String::new(),
            region: region.to_string(),
            hukou: model::Hukou::Rural,
            poverty: Default::default(),
            dibao: Default::default(),
            tekun: model::Tekun::None,
            income: Default::default(),
            housing: Default::default(),
            deep_poverty_area: false,
            harsh_area: false,
            soil_erosion_area: false,
            relocation: model::Relocation::None,
            forest_mu: Default::default(),
            hardship: model::Hardship::None,
            members: Vec::new(),
            loans: Vec::new(),
            facts: Default::default(),
        };
        let mut s = self.scratch();
        s.set_trace(true);
        let mut out = Vec::new();
        let mut order: Vec<usize> = (0..m.params.len()).collect();
        // general to specific, then declaration order
        order.sort_by_key(|i| m.params[*i].defs.last().map(|d| m.policies[d.policy as usize].rank()).unwrap_or(0));
        for i in order {
            let slot = &m.params[i];
            let Some(def) = slot.defs.iter().find(|d| m.policies[d.policy as usize].applies(region, as_of)) else { continue };
            let (value, policy, citation) = match eval::read_param(p, &h, as_of, &mut s, i as u32) {
                Ok((v, pol, cite)) => (v, pol, cite),
                Err(EvalError::MissingParameter { .. }) => (
                    "(required: not supplied; give it in an overlay)".to_string(),
                    m.policies[def.policy as usize].id.clone(),
                    def.cite.clone(),
                ),
                Err(e) => (format!("(cannot be read: {e})"), m.policies[def.policy as usize].id.clone(), def.cite.clone()),
            };
            out.push(ParamInForce { name: slot.name.clone(), value, ty: slot.ty.to_string(), policy, citation });
        }
        out
    }
}

/// Parse a household from JSON and validate it for an assessment date.
pub fn parse_household(json: &str, as_of: Option<NaiveDate>) -> Result<Household, model::HouseholdError> {
    model::parse_household(json, as_of)
}
