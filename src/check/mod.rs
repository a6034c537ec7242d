//! The checker: resolves every name, types every expression (with money
//! periods as units), and produces the resolved IR ([`Module`]). It reports
//! every error it can find, not just the first.

pub mod error;
mod expr;
mod facts;
mod functions;
pub(crate) use functions::MAX_FN_PARAMS;
mod layers;
pub mod programs;
pub mod schema;
pub mod types;

pub use expr::FUNCTIONS;

use crate::diagnostic::loc;
use crate::ir::{self, FileId, GlobalId, LayerId, Loc, ParamId, PolicyId, ProgId, RuleId, TallyId};
use crate::syntax::ast;
use chrono::NaiveDate;
use error::{CheckError, CheckErrorKind};
use std::collections::{BTreeMap, HashMap, HashSet};
use types::{Entity, Ty};

/// Limits on what one program may hold.
pub mod limits {
    /// Rules in a program.
    pub const MAX_RULES: usize = 20_000;
    /// Entries in one parameter's series.
    pub const MAX_SERIES: usize = 1_000;
    /// Local slots (lets and variables) in one rule.
    pub const MAX_LOCALS: usize = 1_000;
}

/// A checked policy.
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    /// Stable id (`cn.hebei.shijiazhuang`).
    pub id: String,
    /// Version.
    pub version: String,
    /// Title.
    pub title: String,
    /// Issuing document number.
    pub document: Option<String>,
    /// Issue date.
    pub issued: Option<NaiveDate>,
    /// Six-digit region code.
    pub region: String,
    /// How many leading digits of a household's region code must match (0 national, 2 province, 4 city, 6 county).
    pub prefix_len: u8,
    /// An overlay of deployment parameters.
    pub overlay: bool,
    /// First day in force.
    pub from: NaiveDate,
    /// Last day in force.
    pub to: Option<NaiveDate>,
    /// The policy id it extends.
    pub extends: Option<String>,
    /// The ids of every policy it extends, directly or through its parents, nearest first.
    pub ancestors: Vec<String>,
    /// The file it was read from.
    pub file: FileId,
    /// The header's location.
    pub loc: Loc,
}

impl PolicyInfo {
    /// A sort key consistent with [`PolicyInfo::outranks`]: region
    /// specificity, then depth in the `extends` chain, then overlay. A policy
    /// always sorts above every policy it extends (a child's region is
    /// contained in its parent's, and it is one level deeper).
    pub fn rank(&self) -> u32 {
        (u32::from(self.prefix_len) << 16) | ((self.ancestors.len() as u32).min(0x7fff) << 1) | u32::from(self.overlay)
    }

    /// Whether this policy takes precedence over `other` for an output both
    /// define: it extends `other` (directly or transitively), or, the two being
    /// unrelated, its region is more specific (or it is an overlay of the same
    /// region and `other` is not). Versions of one policy never outrank each
    /// other (they are never in force together); unrelated policies of one
    /// region do not either, so both defining an output is a conflict.
    pub fn outranks(&self, other: &PolicyInfo) -> bool {
        if self.id == other.id {
            return false;
        }
        if self.ancestors.contains(&other.id) {
            return true;
        }
        if other.ancestors.contains(&self.id) {
            return false;
        }
        (self.prefix_len, self.overlay) > (other.prefix_len, other.overlay)
    }

    /// Why this policy outranks `other` (see [`PolicyInfo::outranks`]), in words.
    pub fn outranks_because(&self, other: &PolicyInfo) -> String {
        if self.ancestors.contains(&other.id) {
            format!("policy {} extends {}", self.id, other.id)
        } else if self.prefix_len > other.prefix_len {
            format!("region {} of policy {} is more specific than region {} of policy {}", self.region, self.id, other.region, other.id)
        } else {
            format!("policy {} is an overlay of region {}", self.id, self.region)
        }
    }

    /// Whether the regions of two policies can hold one household.
    pub fn regions_meet(&self, other: &PolicyInfo) -> bool {
        let n = self.prefix_len.min(other.prefix_len) as usize;
        self.region.as_bytes().get(..n) == other.region.as_bytes().get(..n)
    }

    /// Whether the periods in force of two policies overlap.
    pub fn periods_meet(&self, other: &PolicyInfo) -> bool {
        self.from <= other.to.unwrap_or(NaiveDate::MAX) && other.from <= self.to.unwrap_or(NaiveDate::MAX)
    }
    /// Whether the policy applies to a household region on a date.
    pub fn applies(&self, region: &str, date: NaiveDate) -> bool {
        let n = self.prefix_len as usize;
        region.len() >= n && self.region.as_bytes()[..n] == region.as_bytes()[..n] && self.from <= date && self.to.is_none_or(|t| date <= t)
    }
}

/// One dated value in a parameter's series.
#[derive(Debug, Clone)]
pub struct SeriesEntry {
    /// First day in force (`None`: always).
    pub from: Option<NaiveDate>,
    /// The value.
    pub value: ir::Expr,
    /// Citation of the value.
    pub cite: Option<String>,
}

/// One policy's definition of a parameter.
#[derive(Debug, Clone)]
pub struct ParamDef {
    /// The defining policy.
    pub policy: PolicyId,
    /// No value: the deployer must supply it.
    pub required: bool,
    /// Citation of the clause.
    pub cite: Option<String>,
    /// Series, ascending.
    pub entries: Vec<SeriesEntry>,
    /// Never below.
    pub floor: Option<ir::Expr>,
    /// Never above.
    pub cap: Option<ir::Expr>,
    /// Where.
    pub loc: Loc,
}

/// A parameter: one name, defined by one or more policies.
#[derive(Debug, Clone)]
pub struct ParamSlot {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Ty,
    /// Title.
    pub title: Option<String>,
    /// The policy id that declares it.
    pub declared_by: String,
    /// Definitions, most specific (highest rank) first.
    pub defs: Vec<ParamDef>,
}

/// A household-level named value.
#[derive(Debug, Clone)]
pub struct GlobalDef {
    /// Name.
    pub name: String,
    /// Declaring policy.
    pub policy: PolicyId,
    /// The value.
    pub expr: ir::Expr,
    /// What it reads.
    pub reads: Reads,
    /// Frame size its aggregations need.
    pub frame: u16,
    /// Where.
    pub loc: Loc,
}

/// A declared function: `fn NAME(p: TYPE, …): TYPE = EXPR`.
#[derive(Debug, Clone)]
pub struct FnDef {
    /// Name.
    pub name: String,
    /// Declaring policy.
    pub policy: PolicyId,
    /// Parameters in order (parameter `i` is the body's local slot `i`).
    pub params: Vec<(String, Ty)>,
    /// Result type.
    pub ret: Ty,
    /// The body.
    pub body: ir::Expr,
    /// Local slots the body needs (its parameters first).
    pub frame: u16,
    /// The body, or a function it calls, reads `as_of` (so it cannot be
    /// called in a parameter value).
    pub reads_as_of: bool,
    /// Functions the body calls.
    pub calls: Vec<ir::FnId>,
    /// Parameters the body reads.
    pub param_reads: Vec<ParamId>,
    /// Where (its name).
    pub loc: Loc,
}

/// An annual accumulator.
#[derive(Debug, Clone)]
pub struct TallyDef {
    /// Name.
    pub name: String,
    /// Declaring policy.
    pub policy: PolicyId,
    /// Type.
    pub ty: Ty,
    /// Scope.
    pub scope: ast::TallyScope,
    /// Where it is declared.
    pub loc: Loc,
}

/// A programme.
#[derive(Debug, Clone)]
pub struct ProgramInfo {
    /// Dotted id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Type of its amount, if it has one.
    pub amount: Option<Ty>,
    /// Where it is declared (none for the built-in programmes).
    pub loc: Option<Loc>,
}

/// Rule outputs other rules can read or that need precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `eligible P` (additive)
    Eligible(ProgId),
    /// `amount P` (one winner per subject instance)
    Amount(ProgId),
    /// `flag P` (additive)
    Flag(ProgId),
    /// `assign P` (one winner)
    Assign(ProgId),
    /// `pay LAYER` (one winner per claim)
    Pay(LayerId),
    /// `tally T +=` (additive)
    Tally(TallyId),
}

/// A checked outcome.
#[derive(Debug, Clone)]
pub enum OutcomeDef {
    /// Eligible.
    Eligible(ProgId),
    /// Amount.
    Amount(ProgId, ir::Expr),
    /// Flag.
    Flag(ProgId),
    /// Assignment of a symbol.
    Assign(ProgId, u32),
    /// Claim layer payment.
    Pay(LayerId, ir::Expr),
    /// Add to a tally.
    AddTally(TallyId, ir::Expr),
}

/// What an outcome does once its rule fired, without its expression: the
/// part evaluation applies. The value of an `amount`, `pay` or tally
/// outcome comes from the expression's code.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    #[allow(missing_docs)]
    Eligible(ProgId),
    #[allow(missing_docs)]
    Amount(ProgId),
    #[allow(missing_docs)]
    Flag(ProgId),
    #[allow(missing_docs)]
    Assign(ProgId, u32),
    #[allow(missing_docs)]
    Pay(LayerId),
    #[allow(missing_docs)]
    AddTally(TallyId),
}

impl OutcomeDef {
    /// What the outcome does.
    pub(crate) fn effect(&self) -> Effect {
        match *self {
            OutcomeDef::Eligible(p) => Effect::Eligible(p),
            OutcomeDef::Amount(p, _) => Effect::Amount(p),
            OutcomeDef::Flag(p) => Effect::Flag(p),
            OutcomeDef::Assign(p, sym) => Effect::Assign(p, sym),
            OutcomeDef::Pay(l, _) => Effect::Pay(l),
            OutcomeDef::AddTally(t, _) => Effect::AddTally(t),
        }
    }
}

impl OutcomeDef {
    /// The output this outcome defines.
    pub fn target(&self) -> Target {
        match self {
            OutcomeDef::Eligible(p) => Target::Eligible(*p),
            OutcomeDef::Amount(p, _) => Target::Amount(*p),
            OutcomeDef::Flag(p) => Target::Flag(*p),
            OutcomeDef::Assign(p, _) => Target::Assign(*p),
            OutcomeDef::Pay(l, _) => Target::Pay(*l),
            OutcomeDef::AddTally(t, _) => Target::Tally(*t),
        }
    }
}

/// What an expression reads that orders evaluation.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    /// `eligible(P)`
    pub eligible: Vec<ProgId>,
    /// `amount(P)`
    pub amount: Vec<ProgId>,
    /// Named values.
    pub globals: Vec<GlobalId>,
    /// `paid.LAYER`
    pub paid: Vec<LayerId>,
}

/// A `let` inside a rule.
#[derive(Debug, Clone)]
pub struct LocalDef {
    /// Name.
    pub name: String,
    /// Slot.
    pub slot: u16,
    /// Value.
    pub expr: ir::Expr,
}

/// A checked rule.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// Id (`SJZ-1`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Citation.
    pub cite: String,
    /// Reading note.
    pub note: Option<String>,
    /// Policy.
    pub policy: PolicyId,
    /// Subject.
    pub subject: Entity,
    /// Slot of the subject variable (members, claims, loans).
    pub subject_slot: u16,
    /// Lets before `when`.
    pub pre: Vec<LocalDef>,
    /// Condition.
    pub cond: Option<ir::Expr>,
    /// Lets after `when`.
    pub post: Vec<LocalDef>,
    /// Outcomes.
    pub outcomes: Vec<OutcomeDef>,
    /// Rules this one is an exception to.
    pub exceptions: Vec<RuleId>,
    /// What it reads.
    pub reads: Reads,
    /// Frame size it needs.
    pub frame: u16,
    /// Where.
    pub loc: Loc,
}

/// The checked program: every name resolved to an index.
#[derive(Debug, Clone, Default)]
pub struct Module {
    /// Policies.
    pub policies: Vec<PolicyInfo>,
    /// Parameters.
    pub params: Vec<ParamSlot>,
    /// Named values.
    pub globals: Vec<GlobalDef>,
    /// Functions.
    pub functions: Vec<FnDef>,
    /// Tallies.
    pub tallies: Vec<TallyDef>,
    /// Programmes.
    pub programs: Vec<ProgramInfo>,
    /// Rules.
    pub rules: Vec<RuleDef>,
    /// Symbols (assignment values, texts).
    pub symbols: Vec<String>,
    /// The tests written in policy files (files with a header), as written,
    /// with their file. The tests of standalone test files are parsed when
    /// first asked for: [`crate::Engine::tests`] holds every test.
    pub policy_file_tests: Vec<(FileId, ast::Test)>,
    /// Catalogue rules kept as metadata (village and administrative targets).
    pub indicators: Vec<IndicatorInfo>,
    /// Enumerations the policies declare (`EnumTy::Declared` indexes them).
    pub enums: Vec<EnumInfo>,
    /// Facts the policies declare (`schema::Field::Declared` indexes them).
    pub facts: Vec<FactInfo>,
    /// Claim layers the policies declare, in settlement order (`LayerId` indexes them).
    pub layers: Vec<LayerInfo>,
}

/// A declared claim layer.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// Name (in `pay`, `paid.` and assessments).
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// The settlement-list field it corresponds to (`hifp_pay`).
    pub field: Option<String>,
    /// The programme its payments are reported under (none for a part of out-of-pocket).
    pub program: Option<ProgId>,
    /// Whether it pays (reduces out-of-pocket); `within out_of_pocket` layers do not.
    pub paying: bool,
    /// The clause that defines it.
    pub cite: Option<String>,
    /// The policies that declare it (in agreement).
    pub policies: Vec<PolicyId>,
    /// Where it is first declared.
    pub loc: Loc,
}

/// A declared enumeration.
#[derive(Debug, Clone)]
pub struct EnumInfo {
    /// Name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Variants in order (ordinals are their indices), with their titles.
    pub variants: Vec<(String, Option<String>)>,
    /// The policies that declare it (the same variants each time).
    pub policies: Vec<PolicyId>,
    /// Where it is first declared.
    pub loc: Loc,
}

/// A declared fact of the household, a member, a claim or a loan.
#[derive(Debug, Clone)]
pub struct FactInfo {
    /// The record it belongs to.
    pub entity: Entity,
    /// Name (the key in the record's `facts`).
    pub name: String,
    /// Type of the value (of each element, for a list).
    pub elem: Ty,
    /// A list of values.
    pub list: bool,
    /// May be absent.
    pub optional: bool,
    /// Title.
    pub title: Option<String>,
    /// The clause that makes it relevant.
    pub cite: Option<String>,
    /// The policies that declare it (in agreement).
    pub policies: Vec<PolicyId>,
    /// Its index among the facts of its entity (its slot in a bound record).
    pub slot: u16,
    /// Where it is first declared.
    pub loc: Loc,
}

impl FactInfo {
    /// The type of a reading of the fact (`id` is its index).
    pub fn ty(&self, id: u16) -> Ty {
        if self.list {
            Ty::FactList(id)
        } else {
            self.elem
        }
    }
}

/// A catalogue rule kept as metadata, not evaluated per household.
#[derive(Debug, Clone)]
pub struct IndicatorInfo {
    /// Catalogue id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Citations.
    pub cites: Vec<String>,
    /// Notes.
    pub notes: Vec<String>,
    /// Policy.
    pub policy: PolicyId,
    /// Where.
    pub loc: Loc,
}

impl Module {
    /// Find a programme by id.
    pub fn program(&self, id: &str) -> Option<ProgId> {
        self.programs.iter().position(|p| p.id == id).map(|i| i as ProgId)
    }
    /// Find parameters by name (several policies may declare the same name independently).
    pub fn params_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = ParamId> + 'a {
        self.params.iter().enumerate().filter(move |(_, p)| p.name == name).map(|(i, _)| i as ParamId)
    }
}

/// A parsed file handed to the checker.
pub struct Input<'a> {
    /// File id in the source map.
    pub file: FileId,
    /// The syntax tree.
    pub ast: &'a ast::File,
}

/// Check a set of parsed files. Returns the module and every error found.
/// The tests of a standalone test file (one without a `policy` header), and
/// an error for every other item in it (only tests may stand alone).
pub fn standalone_tests(file: FileId, ast: &ast::File) -> (Vec<(FileId, ast::Test)>, Vec<CheckError>) {
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    for item in &ast.items {
        match item {
            ast::Item::Test(t) => tests.push((file, t.clone())),
            other => errors.push(CheckErrorKind::NoHeader.at(loc(file, item_head_span(other)))),
        }
    }
    (tests, errors)
}

pub fn check(inputs: &[Input<'_>]) -> (Module, Vec<CheckError>) {
    let mut c = Checker::default();
    c.run(inputs);
    (c.module, c.errors)
}

#[derive(Default)]
pub(crate) struct Checker {
    pub(crate) module: Module,
    pub(crate) errors: Vec<CheckError>,
    /// (policy id, name) → param slot.
    param_names: HashMap<(String, String), ParamId>,
    /// (policy id, name) → global.
    global_names: HashMap<(String, String), GlobalId>,
    /// (policy id, name) → tally.
    tally_names: HashMap<(String, String), TallyId>,
    /// (policy id, name) → function.
    pub(crate) fn_names: HashMap<(String, String), ir::FnId>,
    /// function → its declaration, until its body is checked
    pub(crate) pending_fns: Vec<Option<(FileId, ast::FnDecl)>>,
    /// function → its declaration as written (versions of one policy must agree)
    pub(crate) fn_decls: Vec<ast::FnDecl>,
    /// param → functions its values call (for cycle detection)
    pub(crate) param_calls: Vec<Vec<ir::FnId>>,
    /// policy id → parent policy id.
    parents: HashMap<String, String>,
    /// policy id → versions (policy indices).
    by_id: BTreeMap<String, Vec<PolicyId>>,
    /// global checking state
    pub(crate) global_state: Vec<GlobalState>,
    pending_globals: Vec<Option<(FileId, ast::LetDecl)>>,
    /// param → params its values read (for cycle detection)
    pub(crate) param_deps: Vec<Vec<ParamId>>,
    /// symbol interning
    symbol_ids: HashMap<String, u32>,
    /// declared programme id → (declaring policy id, policy index), so versions of one policy may each declare it
    program_owners: HashMap<String, (Option<String>, PolicyId)>,
    /// named values being checked, outermost first (to name a cycle)
    pub(crate) global_stack: Vec<GlobalId>,
    /// policies whose region is missing or invalid (already reported)
    bad_region: Vec<PolicyId>,
    /// where each policy's `extends` names its parent
    extends_at: HashMap<PolicyId, Loc>,
    /// (policy index, rule id) → the rule, to find a repeated id in one policy.
    rule_index: HashMap<(PolicyId, String), RuleId>,
    /// declared enumeration name → index
    enum_names: HashMap<String, u16>,
    /// (entity, declared fact name) → index
    fact_names: HashMap<(Entity, String), u16>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum GlobalState {
    Unchecked,
    InProgress,
    Done(Ty),
}

impl Checker {
    pub(crate) fn err(&mut self, kind: CheckErrorKind, at: Loc) {
        self.errors.push(kind.at(at));
    }

    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.symbol_ids.get(s) {
            return *i;
        }
        let i = self.module.symbols.len() as u32;
        self.module.symbols.push(s.to_string());
        self.symbol_ids.insert(s.to_string(), i);
        i
    }

    /// The chain of policy ids from `id` up through `extends`.
    pub(crate) fn chain(&self, id: &str) -> Vec<String> {
        let mut out = vec![id.to_string()];
        let mut cur = id.to_string();
        while let Some(p) = self.parents.get(&cur) {
            if out.contains(p) || out.len() > 64 {
                break;
            }
            out.push(p.clone());
            cur = p.clone();
        }
        out
    }

    /// The first definition of `name` in `map` along the `extends` chain of
    /// `policy` (as [`Self::chain`], walked without building it: one key is
    /// reused for every ancestor).
    fn find_along<T: Copy>(&self, map: &HashMap<(String, String), T>, policy: PolicyId, name: &str) -> Option<T> {
        let id = self.module.policies[policy as usize].id.as_str();
        let mut seen: [&str; 66] = [""; 66];
        let mut key = (id.to_string(), name.to_string());
        let mut cur = id;
        let mut n = 0;
        loop {
            if let Some(v) = map.get(&key) {
                return Some(*v);
            }
            seen[n] = cur;
            n += 1;
            let p = self.parents.get(cur)?;
            if seen[..n].contains(&p.as_str()) || n > 64 {
                return None;
            }
            key.0.clear();
            key.0.push_str(p);
            cur = p;
        }
    }

    pub(crate) fn find_param(&self, policy: PolicyId, name: &str) -> Option<ParamId> {
        self.find_along(&self.param_names, policy, name)
    }

    pub(crate) fn find_global(&self, policy: PolicyId, name: &str) -> Option<GlobalId> {
        self.find_along(&self.global_names, policy, name)
    }

    pub(crate) fn find_fn(&self, policy: PolicyId, name: &str) -> Option<ir::FnId> {
        self.find_along(&self.fn_names, policy, name)
    }

    /// Functions visible from a policy (for suggestions).
    pub(crate) fn visible_fns(&self, policy: PolicyId) -> Vec<String> {
        let id = &self.module.policies[policy as usize].id;
        let chain = self.chain(id);
        let mut v: Vec<String> = self.fn_names.keys().filter(|(p, _)| chain.contains(p)).map(|(_, n)| n.clone()).collect();
        v.sort();
        v
    }

    pub(crate) fn find_tally(&self, policy: PolicyId, name: &str) -> Option<TallyId> {
        self.find_along(&self.tally_names, policy, name)
    }

    /// Names visible from a policy (for suggestions).
    pub(crate) fn visible_names(&self, policy: PolicyId) -> Vec<String> {
        let id = &self.module.policies[policy as usize].id;
        let chain = self.chain(id);
        let mut v: Vec<String> = Vec::new();
        for ((p, n), _) in self.param_names.iter().chain(self.global_names.iter()).chain(self.tally_names.iter()) {
            if chain.contains(p) {
                v.push(n.clone());
            }
        }
        v.sort();
        v
    }

    pub(crate) fn program_id(&mut self, name: &ast::DottedName, file: FileId) -> Option<ProgId> {
        let s = name.joined();
        match self.module.program(&s) {
            Some(p) => Some(p),
            None => {
                let suggestion = crate::diagnostic::suggest(&s, self.module.programs.iter().map(|p| p.id.as_str()));
                self.err(CheckErrorKind::UnknownProgram { name: s, suggestion }, loc(file, name.span));
                None
            }
        }
    }

    fn run(&mut self, inputs: &[Input<'_>]) {
        for (id, title, amount) in programs::BUILTIN {
            self.module.programs.push(ProgramInfo { id: id.to_string(), title: title.to_string(), amount: *amount, loc: None });
        }
        // 1. headers
        let mut file_policy: Vec<Option<PolicyId>> = Vec::new();
        for input in inputs {
            file_policy.push(self.header(input));
        }
        self.versions();
        self.resolve_extends();
        // 2. declarations: programmes first (global), then params, tallies, lets
        for (input, pol) in inputs.iter().zip(&file_policy) {
            for item in &input.ast.items {
                if let ast::Item::Program(p) = item {
                    self.declare_program(p, input.file, *pol);
                }
                if let (ast::Item::Indicator(i), Some(pol)) = (item, pol) {
                    if self.module.indicators.iter().any(|x| x.policy == *pol && x.id == i.id.name) {
                        self.err(CheckErrorKind::Duplicate { what: "indicator", name: i.id.name.clone() }, loc(input.file, i.id.span));
                    } else {
                        if i.cites.iter().all(|c| c.value.trim().is_empty()) {
                            self.err(
                                CheckErrorKind::MissingCitation { what: "indicator", rule: i.id.name.clone() },
                                loc(input.file, i.id.span),
                            );
                        }
                        self.module.indicators.push(IndicatorInfo {
                            id: i.id.name.clone(),
                            title: i.title.value.clone(),
                            cites: i.cites.iter().map(|c| c.value.clone()).collect(),
                            notes: i.notes.iter().map(|c| c.value.clone()).collect(),
                            policy: *pol,
                            loc: loc(input.file, i.id.span),
                        });
                    }
                }
                if let (ast::Item::Test(t), _) = (item, pol) {
                    self.module.policy_file_tests.push((input.file, t.clone()));
                }
            }
        }
        self.declare_facts(inputs, &file_policy);
        self.declare_layers(inputs, &file_policy);
        // Ancestors declare first, whatever the order of the files, so that a
        // redeclaration in a descendant is reported as shadowing.
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| file_policy[i].map_or(0, |p| self.chain(&self.module.policies[p as usize].id).len()));
        for &i in &order {
            let input = &inputs[i];
            let Some(pol) = file_policy[i] else {
                if let Some(item) = input.ast.items.iter().find(|i| !matches!(i, ast::Item::Test(_))) {
                    self.err(CheckErrorKind::NoHeader, loc(input.file, item_head_span(item)));
                }
                continue;
            };
            self.declare_params(input, pol, false);
        }
        for &i in &order {
            if let Some(pol) = file_policy[i] {
                self.declare_params(&inputs[i], pol, true);
                self.declare_tallies_and_lets(&inputs[i], pol);
                self.declare_fns(&inputs[i], pol);
            }
        }
        self.fn_bodies();
        // 3. bodies
        for (input, pol) in inputs.iter().zip(&file_policy) {
            if let Some(pol) = *pol {
                self.param_bodies(input, pol);
            }
        }
        self.definition_cycles();
        for g in self.global_order() {
            self.check_global(g);
        }
        let mut rule_asts = Vec::new();
        for (input, pol) in inputs.iter().zip(&file_policy) {
            if let Some(pol) = *pol {
                for item in &input.ast.items {
                    if let ast::Item::Rule(r) = item {
                        if let Some(id) = self.rule(r, pol, input.file) {
                            rule_asts.push((id, r, input.file));
                        }
                    }
                }
            }
        }
        if self.module.rules.len() > limits::MAX_RULES {
            let n = self.module.rules.len();
            self.err(
                CheckErrorKind::TooMany { what: "rules", count: n, limit: limits::MAX_RULES },
                self.module.rules[limits::MAX_RULES].loc,
            );
        }
        self.duplicate_rule_ids();
        self.exceptions(&rule_asts);
        for ps in &mut self.module.params {
            let policies = &self.module.policies;
            ps.defs.sort_by_key(|d| std::cmp::Reverse(policies[d.policy as usize].rank()));
        }
        self.unranked_definitions();
    }

    /// A rule id is unique across policies; versions of one policy may repeat
    /// their rule ids (they are never in force together).
    fn duplicate_rule_ids(&mut self) {
        let mut first: HashMap<&str, RuleId> = HashMap::new();
        let mut errors = Vec::new();
        for (i, r) in self.module.rules.iter().enumerate() {
            let pol = &self.module.policies[r.policy as usize];
            match first.get(r.id.as_str()) {
                None => {
                    first.insert(r.id.as_str(), i as RuleId);
                }
                Some(&j) => {
                    let other = &self.module.rules[j as usize];
                    let opol = &self.module.policies[other.policy as usize];
                    if opol.id != pol.id {
                        let k = CheckErrorKind::DuplicateRuleId { id: r.id.clone(), policy: opol.id.clone() };
                        errors.push(k.at(r.loc).related(other.loc, format!("`{}` is defined here, in `{}`", r.id, opol.id)));
                    }
                }
            }
        }
        self.errors.extend(errors);
    }

    /// Two definitions of one parameter by policies that can be in force
    /// together for one household, neither outranking the other, would leave
    /// the value to file order: an error naming both.
    fn unranked_definitions(&mut self) {
        let mut errors = Vec::new();
        for ps in &self.module.params {
            for (i, a) in ps.defs.iter().enumerate() {
                for b in &ps.defs[i + 1..] {
                    let (pa, pb) = (&self.module.policies[a.policy as usize], &self.module.policies[b.policy as usize]);
                    if pa.id == pb.id || pa.outranks(pb) || pb.outranks(pa) || !pa.regions_meet(pb) || !pa.periods_meet(pb) {
                        continue;
                    }
                    let k = CheckErrorKind::UnrankedDefinitions { name: ps.name.clone(), a: pa.id.clone(), b: pb.id.clone() };
                    errors.push(k.at(b.loc).related(a.loc, format!("`{}` defines it here", pa.id)));
                }
            }
        }
        self.errors.extend(errors);
    }

    fn header(&mut self, input: &Input<'_>) -> Option<PolicyId> {
        let h = input.ast.header.as_ref()?;
        let file = input.file;
        let id = h.id.joined();
        let mut title = None;
        let mut document = None;
        let mut issued = None;
        let mut region: Option<&ast::StrLit> = None;
        let mut in_force = None;
        let mut version = None;
        let mut extends = None;
        let mut overlay = false;
        macro_rules! once {
            ($slot:ident, $v:expr, $name:literal, $span:expr) => {{
                if $slot.is_some() {
                    self.err(CheckErrorKind::RepeatedField { field: $name }, loc(file, $span));
                }
                $slot = Some($v);
            }};
        }
        for f in &h.fields {
            match f {
                ast::HeaderField::Title(s) => once!(title, s.value.clone(), "title", s.span),
                ast::HeaderField::Document(s) => once!(document, s.value.clone(), "document", s.span),
                ast::HeaderField::Issued(d) => once!(issued, d.value, "issued", d.span),
                ast::HeaderField::Region(s) => once!(region, s, "region", s.span),
                ast::HeaderField::InForce(a, b) => once!(in_force, (a.clone(), b.clone()), "in_force", a.span),
                ast::HeaderField::Version(s) => once!(version, s.value.clone(), "version", s.span),
                ast::HeaderField::Extends(d) => once!(extends, d.joined(), "extends", d.span),
                ast::HeaderField::Overlay(_) => overlay = true,
            }
        }
        let hl = loc(file, h.id.span);
        let missing = |field: &'static str, this: &mut Self| this.err(CheckErrorKind::MissingHeaderField { policy: id.clone(), field }, hl);
        if title.is_none() {
            missing("title", self);
        }
        if version.is_none() {
            missing("version", self);
        }
        let pid = self.module.policies.len() as PolicyId;
        let region_text = match region {
            None => {
                missing("region", self);
                self.bad_region.push(pid);
                "000000".to_string()
            }
            Some(r) => {
                if r.value.len() != 6 || !r.value.bytes().all(|b| b.is_ascii_digit()) {
                    self.err(CheckErrorKind::BadRegion { text: r.value.clone() }, loc(file, r.span));
                    self.bad_region.push(pid);
                    "000000".to_string()
                } else {
                    r.value.clone()
                }
            }
        };
        let (from, to) = match in_force {
            None => {
                missing("in_force", self);
                (NaiveDate::MIN, None)
            }
            Some((a, b)) => {
                if let Some(b) = &b {
                    if b.value < a.value {
                        self.err(CheckErrorKind::BadPeriod { start: a.value.to_string(), end: b.value.to_string() }, loc(file, b.span));
                    }
                }
                (a.value, b.map(|b| b.value))
            }
        };
        let prefix_len = region_prefix_len(&region_text);
        if let Some(d) = h.fields.iter().find_map(|f| match f {
            ast::HeaderField::Extends(d) => Some(d),
            _ => None,
        }) {
            self.extends_at.insert(pid, loc(file, d.span));
        }
        self.module.policies.push(PolicyInfo {
            id: id.clone(),
            version: version.unwrap_or_default(),
            title: title.unwrap_or_default(),
            document,
            issued,
            region: region_text,
            prefix_len,
            overlay,
            from,
            to,
            extends,
            ancestors: Vec::new(),
            file,
            loc: hl,
        });
        self.by_id.entry(id).or_default().push(pid);
        Some(pid)
    }

    fn versions(&mut self) {
        let groups: Vec<Vec<PolicyId>> = self.by_id.values().cloned().collect();
        for g in groups {
            for (i, &a) in g.iter().enumerate() {
                for &b in &g[i + 1..] {
                    let (pa, pb) = (&self.module.policies[a as usize], &self.module.policies[b as usize]);
                    if pa.version == pb.version {
                        let k = CheckErrorKind::DuplicatePolicy { id: pa.id.clone(), version: pa.version.clone() };
                        let e = k.at(pb.loc).related(pa.loc, "first loaded here");
                        self.errors.push(e);
                        continue;
                    }
                    let start = pa.from.max(pb.from);
                    let end_a = pa.to.unwrap_or(NaiveDate::MAX);
                    let end_b = pb.to.unwrap_or(NaiveDate::MAX);
                    if start <= end_a.min(end_b) {
                        let k = CheckErrorKind::OverlappingVersions {
                            id: pa.id.clone(),
                            a: pa.version.clone(),
                            b: pb.version.clone(),
                            day: start.to_string(),
                        };
                        let e = k.at(pb.loc).related(pa.loc, "the other version");
                        self.errors.push(e);
                    }
                }
            }
        }
    }

    fn resolve_extends(&mut self) {
        for i in 0..self.module.policies.len() {
            let p = self.module.policies[i].clone();
            let Some(parent) = &p.extends else { continue };
            let at = self.extends_at.get(&(i as PolicyId)).copied().unwrap_or(p.loc);
            match self.by_id.get(parent).and_then(|v| v.first()) {
                None => {
                    let suggestion = crate::diagnostic::suggest(parent, self.by_id.keys().map(|k| k.as_str()));
                    self.err(CheckErrorKind::UnknownPolicy { name: parent.clone(), suggestion }, at)
                }
                Some(&pp) => {
                    let par = &self.module.policies[pp as usize];
                    let n = par.prefix_len as usize;
                    let known = !self.bad_region.contains(&(i as PolicyId)) && !self.bad_region.contains(&pp);
                    if known && (par.region.as_bytes()[..n] != p.region.as_bytes()[..n] || (par.prefix_len > p.prefix_len)) {
                        let k = CheckErrorKind::RegionNotContained {
                            child: p.region.clone(),
                            parent: parent.clone(),
                            parent_region: par.region.clone(),
                        };
                        self.err(k, p.loc);
                    }
                    self.parents.insert(p.id.clone(), parent.clone());
                }
            }
        }
        // break cycles in extends
        let ids: Vec<String> = self.by_id.keys().cloned().collect();
        for id in ids {
            let mut seen = vec![id.clone()];
            let mut cur = id.clone();
            while let Some(p) = self.parents.get(&cur).cloned() {
                if seen.contains(&p) {
                    seen.push(p.clone());
                    let at = self.by_id.get(&id).and_then(|v| v.first()).map(|&x| self.module.policies[x as usize].loc);
                    if let Some(at) = at {
                        if p == id {
                            let kind = CheckErrorKind::cycle(seen.len() - 1, |i| format!("policy {}", seen[i]));
                            self.err(kind, at);
                        }
                    }
                    self.parents.remove(&cur);
                    break;
                }
                seen.push(p.clone());
                cur = p;
            }
        }
        for i in 0..self.module.policies.len() {
            let mut chain = self.chain(&self.module.policies[i].id);
            chain.remove(0);
            self.module.policies[i].ancestors = chain;
        }
    }

    fn declare_program(&mut self, p: &ast::ProgramDecl, file: FileId, pol: Option<PolicyId>) {
        let id = p.id.joined();
        let owner = pol.and_then(|x| self.module.policies.get(x as usize)).map(|p| p.id.clone());
        if self.module.program(&id).is_some() {
            // another version of the same policy may declare it again
            let same_policy = owner.is_some() && self.program_owners.get(&id).is_some_and(|(o, v)| *o == owner && Some(*v) != pol);
            if !programs::is_builtin(&id) && !same_policy {
                self.err(CheckErrorKind::Duplicate { what: "programme", name: id }, loc(file, p.id.span));
            }
            return;
        }
        if let Some(v) = pol {
            self.program_owners.insert(id.clone(), (owner, v));
        }
        let amount = match &p.unit {
            None | Some(None) => None,
            Some(Some(t)) => match Ty::from_ast(t.ty) {
                m @ Ty::Money(_) => Some(m),
                other => {
                    let k = CheckErrorKind::BadProgramUnit { program: id.clone(), found: other.to_string() };
                    self.err(k, loc(file, t.span));
                    None
                }
            },
        };
        self.module.programs.push(ProgramInfo { id, title: p.title.value.clone(), amount, loc: Some(loc(file, p.span)) });
    }

    /// Declarations (`overrides == false`) or overrides (`true`).
    fn declare_params(&mut self, input: &Input<'_>, pol: PolicyId, overrides: bool) {
        let file = input.file;
        let pid = self.module.policies[pol as usize].id.clone();
        for item in &input.ast.items {
            let ast::Item::Param(p) = item else { continue };
            if p.is_override != overrides {
                continue;
            }
            let name = p.name.name.clone();
            let at = loc(file, p.name.span);
            let def = ParamDef { policy: pol, required: false, cite: None, entries: Vec::new(), floor: None, cap: None, loc: at };
            if !overrides {
                // already declared by an ancestor?
                let chain = self.chain(&pid);
                if let Some(anc) = chain[1..].iter().find(|a| self.param_names.contains_key(&((*a).clone(), name.clone()))) {
                    self.err(CheckErrorKind::Shadowing { name, policy: anc.clone() }, at);
                    continue;
                }
                if let Some(&existing) = self.param_names.get(&(pid.clone(), name.clone())) {
                    // another version of the same policy may declare it again
                    let same_policy = self.module.params[existing as usize].defs.iter().any(|d| d.policy == pol);
                    if same_policy {
                        let first = self.module.params[existing as usize].defs.iter().find(|d| d.policy == pol).map(|d| d.loc);
                        let mut e = CheckErrorKind::Duplicate { what: "parameter", name }.at(at);
                        if let Some(f) = first {
                            e = e.related(f, "first defined here");
                        }
                        self.errors.push(e);
                    } else {
                        self.module.params[existing as usize].defs.push(def);
                    }
                    continue;
                }
                let ty = p.ty.as_ref().map(|t| Ty::from_ast(t.ty)).unwrap_or(Ty::Error);
                let id = self.module.params.len() as ParamId;
                self.module.params.push(ParamSlot { name: name.clone(), ty, title: None, declared_by: pid.clone(), defs: vec![def] });
                self.param_deps.push(Vec::new());
                self.param_names.insert((pid.clone(), name), id);
            } else {
                let parent_chain: Vec<String> = self.chain(&pid).into_iter().skip(1).collect();
                let found = parent_chain.iter().find_map(|a| self.param_names.get(&(a.clone(), name.clone())).copied());
                match found {
                    None => self.err(CheckErrorKind::NothingToOverride { name }, at),
                    Some(slot) => {
                        if self.module.params[slot as usize].defs.iter().any(|d| d.policy == pol) {
                            self.err(CheckErrorKind::Duplicate { what: "parameter", name }, at);
                            continue;
                        }
                        if let Some(t) = &p.ty {
                            let declared = self.module.params[slot as usize].ty;
                            let written = Ty::from_ast(t.ty);
                            if written != declared {
                                self.err(
                                    CheckErrorKind::TypeMismatch { expected: declared.to_string(), found: written },
                                    loc(file, t.span),
                                );
                            }
                        }
                        self.module.params[slot as usize].defs.push(def);
                    }
                }
            }
        }
    }

    fn declare_tallies_and_lets(&mut self, input: &Input<'_>, pol: PolicyId) {
        let file = input.file;
        let pid = self.module.policies[pol as usize].id.clone();
        for item in &input.ast.items {
            match item {
                ast::Item::Tally(t) => {
                    let key = (pid.clone(), t.name.name.clone());
                    if self.tally_names.contains_key(&key) {
                        // another version of the same policy: share the slot
                        continue;
                    }
                    let ty = Ty::from_ast(t.ty.ty);
                    if !ty.is_money() {
                        self.err(CheckErrorKind::TypeMismatch { expected: "money".into(), found: ty }, loc(file, t.ty.span));
                    }
                    let id = self.module.tallies.len() as TallyId;
                    self.module.tallies.push(TallyDef {
                        name: t.name.name.clone(),
                        policy: pol,
                        ty,
                        scope: t.scope,
                        loc: loc(file, t.span),
                    });
                    self.tally_names.insert(key, id);
                }
                ast::Item::Let(l) => {
                    let key = (pid.clone(), l.name.name.clone());
                    if self.find_param(pol, &l.name.name).is_some() {
                        self.err(CheckErrorKind::Duplicate { what: "name", name: l.name.name.clone() }, loc(file, l.name.span));
                        continue;
                    }
                    let chain = self.chain(&pid);
                    if let Some(anc) = chain[1..].iter().find(|a| self.global_names.contains_key(&((*a).clone(), l.name.name.clone()))) {
                        let k = CheckErrorKind::ShadowingValue { name: l.name.name.clone(), policy: anc.clone() };
                        let first = self.global_names[&(anc.clone(), l.name.name.clone())];
                        let at = self.module.globals[first as usize].loc;
                        self.errors.push(k.at(loc(file, l.name.span)).related(at, "defined here"));
                        continue;
                    }
                    if let Some(&g) = self.global_names.get(&key) {
                        if self.module.globals[g as usize].policy == pol {
                            let first = self.module.globals[g as usize].loc;
                            let e = CheckErrorKind::Duplicate { what: "value", name: l.name.name.clone() }.at(loc(file, l.name.span));
                            self.errors.push(e.related(first, "first defined here"));
                        }
                        // A later version of the same policy redefining a value is not supported separately:
                        // both versions share the first definition.
                        continue;
                    }
                    let id = self.module.globals.len() as GlobalId;
                    let placeholder =
                        ir::Expr { kind: ir::ExprKind::Const(crate::value::Value::ZERO), ty: Ty::Error, loc: loc(file, l.span) };
                    self.module.globals.push(GlobalDef {
                        name: l.name.name.clone(),
                        policy: pol,
                        expr: placeholder,
                        reads: Reads::default(),
                        frame: 0,
                        loc: loc(file, l.name.span),
                    });
                    self.global_state.push(GlobalState::Unchecked);
                    self.pending_globals.push(Some((file, l.clone())));
                    self.global_names.insert(key, id);
                }
                _ => {}
            }
        }
    }

    fn param_bodies(&mut self, input: &Input<'_>, pol: PolicyId) {
        let file = input.file;
        for item in &input.ast.items {
            let ast::Item::Param(p) = item else { continue };
            let Some(slot) = self.find_param(pol, &p.name.name) else { continue };
            let Some(di) = self.module.params[slot as usize].defs.iter().position(|d| d.policy == pol) else { continue };
            let ty = self.module.params[slot as usize].ty;
            let mut def = self.module.params[slot as usize].defs[di].clone();
            let mut last: Option<NaiveDate> = None;
            let mut cite = None;
            for e in &p.entries {
                match e {
                    ast::ParamEntry::Title(t) => self.module.params[slot as usize].title = Some(t.value.clone()),
                    ast::ParamEntry::Cite(c) => cite = Some(c.value.clone()),
                    ast::ParamEntry::Required(_) => def.required = true,
                    ast::ParamEntry::From { date, value, cite, span } => {
                        if let Some(prev) = last {
                            if date.value <= prev {
                                self.err(
                                    CheckErrorKind::SeriesOrder { date: date.value.to_string(), previous: prev.to_string() },
                                    loc(file, date.span),
                                );
                            }
                        }
                        last = Some(date.value);
                        let v = self.param_expr(value, pol, file, slot, ty, true);
                        def.entries.push(SeriesEntry { from: Some(date.value), value: v, cite: cite.as_ref().map(|c| c.value.clone()) });
                        let _ = span;
                    }
                    ast::ParamEntry::Always { value, cite, .. } => {
                        let v = self.param_expr(value, pol, file, slot, ty, false);
                        def.entries.push(SeriesEntry { from: None, value: v, cite: cite.as_ref().map(|c| c.value.clone()) });
                    }
                    ast::ParamEntry::Floor(x) => def.floor = Some(self.param_expr(x, pol, file, slot, ty, false)),
                    ast::ParamEntry::Cap(x) => def.cap = Some(self.param_expr(x, pol, file, slot, ty, false)),
                }
            }
            if def.entries.len() > limits::MAX_SERIES {
                self.err(CheckErrorKind::TooMany { what: "series entries", count: def.entries.len(), limit: limits::MAX_SERIES }, def.loc);
            }
            if def.entries.iter().any(|e| e.from.is_none()) && def.entries.len() > 1 {
                self.err(CheckErrorKind::NotAllowed { what: "`always`".into(), context: "together with `from` entries".into() }, def.loc);
            }
            if blank(cite.as_deref()) && !self.module.policies[pol as usize].overlay {
                self.err(CheckErrorKind::ParamWithoutCitation { name: p.name.name.clone() }, def.loc);
            }
            if def.entries.is_empty() && !def.required && !p.is_override {
                self.err(CheckErrorKind::EmptyParam { name: p.name.name.clone() }, def.loc);
            }
            def.cite = cite;
            self.module.params[slot as usize].defs[di] = def;
        }
    }

    /// The named values, each after the values its expression names, found
    /// iteratively from the syntax: checking them in this order, a value's
    /// references are already checked, so the checker does not recurse along
    /// a chain of values however long. Names that turn out not to be values
    /// (a local, a parameter or an enumeration variant of the same name) only
    /// add edges, so the order is that of the strongly connected components
    /// of this over-approximation (Tarjan's algorithm, iteratively), each
    /// after the components it reads; values behind a cycle come after it.
    /// The members of one component are checked in declaration order, and a
    /// reference to a member not yet checked checks it on demand (on a stack
    /// that grows on the heap, `expr::path`): only there is a cycle certain
    /// (the checker resolves the name to the value), and it is reported once,
    /// at the reference that closes it, the values on it typed `Ty::Error`
    /// so nothing behind or on it reports again.
    fn global_order(&self) -> Vec<GlobalId> {
        let n = self.module.globals.len();
        let deps: Vec<Vec<GlobalId>> = (0..n)
            .map(|g| {
                let mut names = Vec::new();
                if let Some(Some((_, decl))) = self.pending_globals.get(g) {
                    path_heads(&decl.value, &mut names);
                }
                let pol = self.module.globals[g].policy;
                names.iter().filter_map(|name| self.find_global(pol, name)).collect()
            })
            .collect();
        const UNSEEN: usize = usize::MAX;
        let mut order = Vec::with_capacity(n);
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut component: Vec<usize> = Vec::new();
        let mut next = 0usize;
        let mut calls: Vec<(usize, usize)> = Vec::new();
        for root in 0..n {
            if index[root] != UNSEEN {
                continue;
            }
            index[root] = next;
            low[root] = next;
            next += 1;
            component.push(root);
            on_stack[root] = true;
            calls.push((root, 0));
            while let Some(top) = calls.last_mut() {
                let (g, i) = *top;
                if let Some(&d) = deps[g].get(i) {
                    top.1 += 1;
                    let d = d as usize;
                    if index[d] == UNSEEN {
                        index[d] = next;
                        low[d] = next;
                        next += 1;
                        component.push(d);
                        on_stack[d] = true;
                        calls.push((d, 0));
                    } else if on_stack[d] {
                        low[g] = low[g].min(index[d]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    low[parent] = low[parent].min(low[g]);
                }
                if low[g] == index[g] {
                    let start = order.len();
                    while let Some(x) = component.pop() {
                        on_stack[x] = false;
                        order.push(x as GlobalId);
                        if x == g {
                            break;
                        }
                    }
                    order[start..].sort_unstable();
                }
            }
        }
        order
    }

    /// The type of a value written with number literals alone (`let q = 4`,
    /// `case month(as_of) { 1 => 1, … }`): `int` when it is certainly whole,
    /// `decimal` otherwise.
    fn literal_type(&mut self, e: ir::Expr) -> (ir::Expr, Ty) {
        if e.ty != Ty::Num {
            let t = e.ty;
            return (e, t);
        }
        let t = if expr::is_whole(&e) { Ty::Int } else { Ty::Dec };
        (self.coerce(e, t), t)
    }

    pub(crate) fn check_global(&mut self, g: GlobalId) -> Ty {
        match self.global_state[g as usize] {
            GlobalState::Done(t) => return t,
            GlobalState::InProgress => return Ty::Error,
            GlobalState::Unchecked => {}
        }
        let Some((file, decl)) = self.pending_globals[g as usize].take() else { return Ty::Error };
        self.global_state[g as usize] = GlobalState::InProgress;
        self.global_stack.push(g);
        let pol = self.module.globals[g as usize].policy;
        let expected = decl.ty.as_ref().map(|t| Ty::from_ast(t.ty));
        let mut cx = expr::Ctx::new(pol, file, expr::Mode::Global);
        let e = self.expr(&decl.value, &mut cx, expected);
        let e = match expected {
            Some(t) => self.coerce(e, t),
            None => e,
        };
        let (e, ty) = self.literal_type(e);
        self.module.globals[g as usize].expr = e;
        self.module.globals[g as usize].reads = cx.reads;
        self.module.globals[g as usize].frame = cx.max_slot;
        self.global_state[g as usize] = GlobalState::Done(ty);
        self.global_stack.pop();
        ty
    }

    fn rule(&mut self, r: &ast::Rule, pol: PolicyId, file: FileId) -> Option<RuleId> {
        let rid = r.id.name.clone();
        let at = loc(file, r.id.span);
        if let Some(first) = self.rule_index.get(&(pol, rid.clone())).map(|&x| self.module.rules[x as usize].loc) {
            self.errors.push(CheckErrorKind::Duplicate { what: "rule", name: rid }.at(at).related(first, "first defined here"));
            return None;
        }
        let mut cite = None;
        let mut note = None;
        let mut subject = None;
        for e in &r.entries {
            match e {
                ast::RuleEntry::Cite(c) => cite = Some(c.value.clone()),
                ast::RuleEntry::Note(n) => note = Some(n.value.clone()),
                ast::RuleEntry::Subject(s, _) => subject = Some(s.clone()),
                _ => {}
            }
        }
        // a blank citation is none: a rule (in an overlay too, where it may win
        // over a shipped rule's cited outcome) always says where it comes from
        if blank(cite.as_deref()) {
            self.err(CheckErrorKind::MissingCitation { what: "rule", rule: rid.clone() }, at);
        }
        let subject = match subject {
            Some(s) => s,
            None => {
                self.err(CheckErrorKind::MissingSubject { rule: rid.clone() }, at);
                ast::Subject::Household
            }
        };
        let (entity, var) = match &subject {
            ast::Subject::Household => (Entity::Household, None),
            ast::Subject::Member(v) => (Entity::Member, Some(v)),
            ast::Subject::Claim(v) => (Entity::Claim, Some(v)),
            ast::Subject::Loan(v) => (Entity::Loan, Some(v)),
        };
        let mut cx = expr::Ctx::new(pol, file, expr::Mode::Rule(entity));
        let subject_slot = match var {
            Some(v) => cx.bind(&v.name, Ty::Entity(entity)),
            None => 0,
        };
        let mut pre = Vec::new();
        let mut post = Vec::new();
        let mut cond = None;
        for e in &r.entries {
            match e {
                ast::RuleEntry::Let(name, value) => {
                    let v = self.expr(value, &mut cx, None);
                    let (v, ty) = self.literal_type(v);
                    let slot = cx.bind(&name.name, ty);
                    let d = LocalDef { name: name.name.clone(), slot, expr: v };
                    if cond.is_some() {
                        post.push(d)
                    } else {
                        pre.push(d)
                    }
                }
                ast::RuleEntry::When(w) => {
                    if cond.is_some() {
                        self.err(CheckErrorKind::RepeatedField { field: "when" }, loc(file, w.span));
                    }
                    let c = self.expr(w, &mut cx, Some(Ty::Bool));
                    let c = self.coerce(c, Ty::Bool);
                    cx.assume(&c, true); // what `when` proves holds for the rest of the rule
                    cond = Some(c);
                }
                _ => {}
            }
        }
        let mut outcomes = Vec::new();
        for o in &r.outcomes {
            if let Some(od) = self.outcome(o, &mut cx, entity) {
                outcomes.push(od);
            }
        }
        if cx.max_slot as usize > limits::MAX_LOCALS {
            self.err(
                CheckErrorKind::TooMany { what: "local values in a rule", count: cx.max_slot as usize, limit: limits::MAX_LOCALS },
                at,
            );
        }
        let id = self.module.rules.len() as RuleId;
        self.rule_index.insert((pol, rid.clone()), id);
        self.module.rules.push(RuleDef {
            id: rid,
            title: r.title.value.clone(),
            cite: cite.unwrap_or_default(),
            note,
            policy: pol,
            subject: entity,
            subject_slot,
            pre,
            cond,
            post,
            outcomes,
            exceptions: Vec::new(),
            reads: cx.reads,
            frame: cx.max_slot,
            loc: at,
        });
        Some(id)
    }

    fn outcome(&mut self, o: &ast::Outcome, cx: &mut expr::Ctx, entity: Entity) -> Option<OutcomeDef> {
        let file = cx.file;
        let claim_only = |this: &mut Self, what: &str, span: ast::Span| {
            if entity != Entity::Claim {
                this.err(
                    CheckErrorKind::NotAllowed { what: what.to_string(), context: "outside a claim rule (`for each claim c`)".into() },
                    loc(file, span),
                );
                false
            } else {
                true
            }
        };
        match o {
            ast::Outcome::Eligible(p) => self.program_id(p, file).map(OutcomeDef::Eligible),
            ast::Outcome::Flag(p) => self.program_id(p, file).map(OutcomeDef::Flag),
            ast::Outcome::Assign(p, v) => {
                let pid = self.program_id(p, file)?;
                if entity != Entity::Household {
                    self.err(
                        CheckErrorKind::NotAllowed { what: "`assign`".into(), context: "outside a household rule".into() },
                        loc(file, p.span),
                    );
                }
                let s = self.intern(&v.name);
                Some(OutcomeDef::Assign(pid, s))
            }
            ast::Outcome::Amount(p, e) => {
                let pid = self.program_id(p, file);
                let v = self.expr(e, cx, pid.and_then(|p| self.module.programs[p as usize].amount));
                let pid = pid?;
                match self.module.programs[pid as usize].amount {
                    None => {
                        let declared = !programs::is_builtin(&p.joined());
                        self.err(CheckErrorKind::NoAmount { program: p.joined(), declared }, loc(file, p.span));
                        None
                    }
                    Some(t) => {
                        let v = self.coerce(v, t);
                        Some(OutcomeDef::Amount(pid, v))
                    }
                }
            }
            ast::Outcome::Pay(l, e) => {
                let ok = claim_only(self, "`pay`", l.span);
                let layer = match self.layer_for(&l.name, cx.policy) {
                    Ok(l) => Some(l),
                    Err(k) => {
                        self.err(k, loc(file, l.span));
                        None
                    }
                };
                let v = self.expr(e, cx, Some(Ty::Money(types::Per::None)));
                let v = self.coerce(v, Ty::Money(types::Per::None));
                if ok {
                    layer.map(|l| OutcomeDef::Pay(l, v))
                } else {
                    None
                }
            }
            ast::Outcome::AddTally(t, e) => {
                let ok = claim_only(self, "`tally +=`", t.span);
                let tid = self.find_tally(cx.policy, &t.name);
                if tid.is_none() {
                    let suggestion = crate::diagnostic::suggest(&t.name, self.module.tallies.iter().map(|t| t.name.as_str()));
                    self.err(CheckErrorKind::UnknownName { name: t.name.clone(), suggestion }, loc(file, t.span));
                }
                let ty = tid.map(|t| self.module.tallies[t as usize].ty).unwrap_or(Ty::Error);
                let v = self.expr(e, cx, Some(ty));
                let v = self.coerce(v, ty);
                if ok {
                    tid.map(|t| OutcomeDef::AddTally(t, v))
                } else {
                    None
                }
            }
        }
    }

    fn exceptions(&mut self, rule_asts: &[(RuleId, &ast::Rule, FileId)]) {
        // (policy index, rule id) → rules, and (policy id, rule id) → rules
        let mut by_policy: HashMap<(PolicyId, &str), Vec<RuleId>> = HashMap::new();
        let mut by_policy_id: HashMap<(&str, &str), Vec<RuleId>> = HashMap::new();
        for (i, x) in self.module.rules.iter().enumerate() {
            by_policy.entry((x.policy, x.id.as_str())).or_default().push(i as RuleId);
            by_policy_id.entry((self.module.policies[x.policy as usize].id.as_str(), x.id.as_str())).or_default().push(i as RuleId);
        }
        let mut resolved: Vec<(RuleId, Vec<RuleId>)> = Vec::new();
        let mut errors = Vec::new();
        for (rid, r, file) in rule_asts {
            let pol = self.module.rules[*rid as usize].policy;
            let chain = self.chain(&self.module.policies[pol as usize].id);
            let mut exc = Vec::new();
            for e in &r.entries {
                let ast::RuleEntry::ExceptionTo(ids) = e else { continue };
                for id in ids {
                    // same policy version first, then the chain of policy ids
                    let found: Vec<RuleId> = match by_policy.get(&(pol, id.name.as_str())) {
                        Some(same) => same.clone(),
                        None => chain
                            .iter()
                            .skip(1)
                            .find_map(|pid| by_policy_id.get(&(pid.as_str(), id.name.as_str())))
                            .cloned()
                            .unwrap_or_default(),
                    };
                    if found.is_empty() {
                        errors.push(CheckErrorKind::UnknownRule { name: id.name.clone() }.at(loc(*file, id.span)));
                    }
                    exc.extend(found);
                }
            }
            resolved.push((*rid, exc));
        }
        drop(by_policy);
        drop(by_policy_id);
        self.errors.extend(errors);
        for (rid, exc) in resolved {
            self.module.rules[rid as usize].exceptions = exc;
        }
        // cycles among exceptions
        let n = self.module.rules.len();
        let deps: Vec<Vec<usize>> = self.module.rules.iter().map(|r| r.exceptions.iter().map(|x| *x as usize).collect()).collect();
        let rules = &self.module.rules;
        let mut errors = Vec::new();
        find_cycles(
            n,
            |i| deps[i].clone(),
            |path| errors.push(CheckErrorKind::cycle(path.len(), |i| format!("rule {}", rules[path[i]].id)).at(rules[path[0]].loc)),
        );
        self.errors.extend(errors);
    }
}

/// The name of an item: where a diagnostic about the whole item points.
fn item_head_span(i: &ast::Item) -> ast::Span {
    match i {
        ast::Item::Param(p) => p.name.span,
        ast::Item::Let(l) => l.name.span,
        ast::Item::Fn(f) => f.name.span,
        ast::Item::Tally(t) => t.name.span,
        ast::Item::Program(p) => p.id.span,
        ast::Item::Indicator(i) => i.id.span,
        ast::Item::Fact(f) => f.name.span,
        ast::Item::Enum(e) => e.name.span,
        ast::Item::Layer(l) => l.name.span,
        ast::Item::Rule(r) => r.id.span,
        ast::Item::Test(t) => t.name.span,
    }
}

/// 0 national, 2 province, 4 city, 6 county.
pub fn region_prefix_len(code: &str) -> u8 {
    let b = code.as_bytes();
    if b.len() != 6 {
        return 6;
    }
    if &b[0..6] == b"000000" {
        0
    } else if &b[2..6] == b"0000" {
        2
    } else if &b[4..6] == b"00" {
        4
    } else {
        6
    }
}

/// Cycles found by an iterative DFS: `found` is called with each, its
/// members in order around it starting at the one the search reached first,
/// once for each back edge (a cycle closed by a repeated edge is reported
/// once). Nothing is copied per cycle: the work is linear in the graph plus
/// what `found` does.
pub(crate) fn find_cycles(n: usize, edges: impl Fn(usize) -> Vec<usize>, mut found: impl FnMut(&[usize])) {
    // iterative DFS with colours; report the stack slice on a back edge
    let mut colour = vec![0u8; n];
    // where each node on the stack is
    let mut depth = vec![0usize; n];
    let mut closed: HashSet<(usize, usize)> = HashSet::new();
    for start in 0..n {
        if colour[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(start, edges(start), 0)];
        let mut members: Vec<usize> = vec![start];
        colour[start] = 1;
        depth[start] = 0;
        while let Some(top) = stack.last_mut() {
            if top.2 < top.1.len() {
                let from = top.0;
                let next = top.1[top.2];
                top.2 += 1;
                if next >= n {
                    continue;
                }
                match colour[next] {
                    0 => {
                        colour[next] = 1;
                        depth[next] = stack.len();
                        let e = edges(next);
                        stack.push((next, e, 0));
                        members.push(next);
                    }
                    1 if closed.insert((from, next)) => found(&members[depth[next]..]),
                    _ => {}
                }
            } else {
                colour[top.0] = 2;
                stack.pop();
                members.pop();
            }
        }
    }
}

/// The first part of every name or path in an expression (the candidates for
/// references to named values). Recursion is bounded by the parser's
/// expression depth limit.
fn path_heads<'a>(e: &'a ast::Expr, out: &mut Vec<&'a str>) {
    use ast::ExprKind as K;
    match &*e.kind {
        K::Number(_) | K::Percent(_) | K::Date(_) | K::Str(_) | K::Bool(_) => {}
        K::Path(parts) => {
            if let Some(h) = parts.first() {
                out.push(h.name.as_str());
            }
        }
        K::Unary(_, x) | K::Round(x, ..) => path_heads(x, out),
        K::Binary(_, a, b) => {
            path_heads(a, out);
            path_heads(b, out);
        }
        K::In(x, items) => {
            path_heads(x, out);
            items.iter().for_each(|i| path_heads(i, out));
        }
        K::If(c, a, b) => {
            path_heads(c, out);
            path_heads(a, out);
            path_heads(b, out);
        }
        K::Case { scrutinee, arms, default } => {
            path_heads(scrutinee, out);
            for (p, v) in arms {
                path_heads(p, out);
                path_heads(v, out);
            }
            if let Some(d) = default {
                path_heads(d, out);
            }
        }
        K::Call(_, args) => args.iter().for_each(|a| path_heads(a, out)),
        K::Aggregate { collection, filter, body, .. } => {
            path_heads(collection, out);
            if let Some(f) = filter {
                path_heads(f, out);
            }
            path_heads(body, out);
        }
        K::Banded { value, above, bands } => {
            path_heads(value, out);
            if let Some(a) = above {
                path_heads(a, out);
            }
            for (from, rate) in bands {
                path_heads(from, out);
                path_heads(rate, out);
            }
        }
    }
}

/// No citation, or one that says nothing (`cite ""`, `cite "  "`).
fn blank(cite: Option<&str>) -> bool {
    cite.is_none_or(|c| c.trim().is_empty())
}
