//! Evaluation: a compiled [`Program`] against one household on one date.
//!
//! The evaluator walks the resolved IR. It does no name lookup and no string
//! comparison, and with tracing off it allocates nothing once its
//! [`Scratch`] has grown to the household's size: every buffer is reused.
//! It never panics: every failure is an [`EvalError`].

pub mod error;
pub(crate) mod exact;
pub(crate) mod expr;
pub mod facts;

use crate::check::types::Entity;
use crate::check::{Effect, OutcomeDef, Target};
use crate::compile::{Program, Step};
use crate::exec::native::{GenFn, RuleFn};
use crate::ir::{LayerId, ParamId, ProgId, RuleId};
use crate::model::Household;
use crate::value::Value;
use chrono::{Datelike, NaiveDate};
pub use error::EvalError;
use rust_decimal::Decimal;

/// The default step budget of one assessment.
pub const DEFAULT_BUDGET: u64 = 10_000_000;

/// Per-programme state.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgState {
    /// The programme is eligible: an `eligible` or `amount` outcome for it
    /// fired, or a claim layer counted toward it was paid by a winning rule.
    /// `eligible(P)` in the language and `eligible` in the assessment both read this.
    pub eligible: bool,
    /// Any outcome for the programme fired (flags and assignments included).
    pub any: bool,
    /// A flag fired.
    pub flag: bool,
    /// Summed amount, if any amount was defined.
    pub amount: Option<Decimal>,
    /// Assigned symbol.
    pub assign: Option<u32>,
    /// A parameter the programme needs has no value: index into the scratch's
    /// deferred errors. The programme's amount is then unknown (never a silent zero).
    pub error: Option<u32>,
}

/// A rule that fired for a subject, for a programme (the reasons).
#[derive(Debug, Clone, Copy)]
pub struct Fired {
    /// Programme.
    pub program: ProgId,
    /// Rule.
    pub rule: RuleId,
    /// Subject.
    pub subject: Value,
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    target: Target,
    subject: Value,
    rule: RuleId,
    value: Value,
    won: bool,
    /// The next candidate for the same target (index in `Scratch::cands`), or `NONE`.
    next: u32,
}

/// No candidate (the end of a target's list of candidates).
const NONE: u32 = u32::MAX;

/// The slot of a value target in `Scratch::cand_lists` (`None` for the
/// additive targets and for claim layers, which are never in `cands`).
fn target_slot(t: Target) -> Option<usize> {
    match t {
        Target::Amount(pg) => Some(2 * pg as usize),
        Target::Assign(pg) => Some(2 * pg as usize + 1),
        _ => None,
    }
}

/// A sort key that equal subjects share (a subject's kind and indices).
fn subject_key(v: Value) -> (u8, u32, u32) {
    match v {
        Value::Household => (0, 0, 0),
        Value::Member(i) => (1, i, 0),
        Value::Loan(i) => (2, i, 0),
        Value::Claim(m, c) => (3, m, c),
        _ => (4, 0, 0),
    }
}

/// One claim's settlement. Its layers are the claim's row of
/// `Scratch::layers` (one amount per declared layer, in settlement order).
#[derive(Debug, Clone, Copy)]
pub struct ClaimState {
    /// Member index.
    pub member: u32,
    /// Claim index within the member.
    pub claim: u32,
    /// Out-of-pocket; `None` when the claim could not be settled.
    pub out_of_pocket: Option<Decimal>,
}

/// A layer's payments for the claim being settled: how many candidates
/// `pay_cands` holds for it, the last one's index, and whether one won. A
/// layer with one candidate is settled without looking for rivals.
#[derive(Debug, Clone, Copy, Default)]
struct PaySlot {
    count: u32,
    last: u32,
    won: bool,
}

/// Reusable buffers for evaluation. Create one per thread with
/// [`Scratch::new`] and pass it to every evaluation.
#[derive(Debug, Clone)]
pub struct Scratch {
    pub(crate) active: Vec<bool>,
    pub(crate) params: Vec<Option<Value>>,
    pub(crate) globals: Vec<Option<Value>>,
    pub(crate) frame: Vec<Value>,
    pub(crate) progs: Vec<ProgState>,
    pub(crate) fired: Vec<Fired>,
    cands: Vec<Cand>,
    /// Per value target (`target_slot`): its first and last candidate in
    /// `cands` (linked through `Cand::next`, in the order pushed); valid for
    /// the slots in `cand_touched` while `cands` is not empty.
    cand_lists: Vec<(u32, u32)>,
    cand_touched: Vec<u32>,
    /// `resolve`: one target's candidates in order, and (subject, position) sorted.
    resolve_order: Vec<u32>,
    resolve_keys: Vec<((u8, u32, u32), u32)>,
    /// `resolve`: the range of `resolve_keys` holding each position's subject.
    resolve_groups: Vec<(u32, u32)>,
    pub(crate) claims: Vec<ClaimState>,
    /// The layers of every claim, `module.layers.len()` per claim, in the order of `claims`.
    pub(crate) layers: Vec<Decimal>,
    order: Vec<(NaiveDate, u32, u32)>,
    /// Tallies of the calendar year of the claims being assessed (claims go in
    /// date order, so an earlier year is never read again): one slot per
    /// (member, or the household after the members) × tally.
    tallies: Vec<Decimal>,
    /// Slots of `tallies` written this year (to reset only those).
    tallies_touched: Vec<usize>,
    /// The year `tallies` holds.
    tallies_year: Option<i32>,
    pending_tallies: Vec<(u32, Decimal)>,
    pay_cands: Vec<(LayerId, RuleId, Decimal)>,
    /// Per layer, the payments of the claim being settled (reset per claim).
    pay_slots: Vec<PaySlot>,
    pub(crate) claim_fired: Vec<(u32, RuleId)>,
    /// Missing-parameter errors confined to the programmes and claims that need them.
    pub(crate) errors: Vec<EvalError>,
    /// Claims left unsettled by an error: (claim index, error index).
    pub(crate) claim_errors: Vec<(u32, u32)>,
    /// Parameter overrides (tests, what-if analysis): applied above every policy.
    pub overrides: Vec<(ParamId, Value)>,
    /// The floors and caps that changed a parameter's value in this evaluation.
    pub(crate) clamps: Vec<Clamp>,
    /// Trace events, when tracing is on.
    pub(crate) trace: Option<Vec<crate::assessment::TraceEvent>>,
    /// The (parameter, date) pairs with a `Parameter` trace event (tracing only).
    pub(crate) params_traced: Vec<(ParamId, NaiveDate)>,
    /// What the current rule has read so far (tracing only): drained into its
    /// `Rule` trace event.
    pub(crate) reads: Vec<ReadEv>,
    /// With tracing on, parameters on the assessment date and named values
    /// are memoised here with what computing them read (so that every rule
    /// reading one records its parameters), not in `params` and `globals`.
    pub(crate) traced_params: Vec<Option<(Value, Vec<ReadEv>)>>,
    pub(crate) traced_globals: Vec<Option<(Value, Vec<ReadEv>)>>,
    /// The buffers an assessment is built and written with
    /// (`Engine::assess_into`, `Engine::assess_json`): made on the first,
    /// and taken out while one is built (a pointer moved, not the buffers).
    pub(crate) bufs: Option<Box<crate::engine::AssessBufs>>,
    /// What the memoised `params` were computed for: parameters depend only on
    /// the active policies, the date and the overrides (the checker keeps the
    /// household out of parameter values), so they survive from one
    /// evaluation to the next while those stay the same.
    params_for: Option<(NaiveDate, bool)>,
    /// The date every parameter is read on, when not the assessment date
    /// ([`Scratch::set_parameters_on`]).
    pub(crate) params_on: Option<NaiveDate>,
    params_overrides: Vec<(ParamId, Value)>,
    /// Programmes some rule writes (the others never leave their default state).
    written: Vec<ProgId>,
    pub(crate) fuel: u64,
    /// Step budget per evaluation.
    pub budget: u64,
    /// The program these buffers were sized for ([`Program::id`]).
    program: u64,
    /// The household's declared facts, bound to slots.
    pub(crate) bound: facts::Bound,
    /// The fastest tier evaluations may use ([`Scratch::set_tier`]).
    tier: Tier,
    /// How the evaluations with this scratch ran ([`Scratch::tiers`]).
    tiers: Tiers,
    /// The region and date `active` was computed for.
    active_for: (String, Option<NaiveDate>),
    /// Parameters memoised during the current lowered run.
    pub(crate) params_filled: Vec<ParamId>,
    /// The values of a rule's outcomes, computed by its lowered code before
    /// any is applied (`Ev::run_rule_lowered`).
    pub(crate) outcome_vals: Vec<Value>,
}

/// The ways an evaluation can run, fastest first. Each gives the same
/// results as the next: a tier that cannot finish an evaluation exactly
/// hands it to the IR evaluator, which decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// The generated Rust of the engine's policies ([`crate::codegen`])
    /// where it is attached ([`crate::Engine::with_generated`]), the lowered
    /// code for the rest.
    #[default]
    Generated,
    /// The lowered code ([`crate::exec`]).
    Lowered,
    /// The IR evaluator alone.
    Ir,
}

/// How a scratch's evaluations ran: finished on the generated or the
/// lowered code, or handed over to the IR evaluator (the fast code stopped:
/// an inexact or failing operation, a missing figure; or the trace was on,
/// or [`Scratch::set_tier`] asked for the IR evaluator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tiers {
    /// Evaluations the generated code finished (with the lowered code for
    /// what has no generated form).
    pub generated: u64,
    /// Evaluations the lowered code finished.
    pub lowered: u64,
    /// Evaluations the lowered code stopped, finished by the IR evaluator.
    pub handed_over: u64,
    /// Evaluations run on the IR evaluator alone (trace on, or IR only).
    pub ir: u64,
    /// Rules whose fast code stopped and that the IR evaluator ran again,
    /// the rest of the evaluation staying on the fast code (a missing
    /// figure, confined to its programmes, or an operation only exact
    /// rationals can do; an error then hands the whole evaluation over).
    pub rules_redone: u64,
}

impl Scratch {
    /// Buffers sized for a program.
    pub fn new(p: &Program) -> Scratch {
        let m = &p.module;
        Scratch {
            active: vec![false; m.policies.len()],
            params: vec![None; m.params.len()],
            globals: vec![None; m.globals.len()],
            frame: vec![Value::ZERO; p.frame.max(1)],
            progs: vec![ProgState::default(); m.programs.len()],
            fired: Vec::with_capacity(64),
            cands: Vec::with_capacity(64),
            cand_lists: vec![(NONE, NONE); 2 * m.programs.len()],
            cand_touched: Vec::with_capacity(16),
            resolve_order: Vec::with_capacity(16),
            resolve_keys: Vec::with_capacity(16),
            resolve_groups: Vec::with_capacity(16),
            claims: Vec::with_capacity(8),
            layers: Vec::with_capacity(8 * m.layers.len()),
            order: Vec::with_capacity(8),
            tallies: Vec::with_capacity(16),
            tallies_touched: Vec::with_capacity(16),
            tallies_year: None,
            pending_tallies: Vec::with_capacity(8),
            pay_cands: Vec::with_capacity(16),
            pay_slots: vec![PaySlot::default(); m.layers.len()],
            claim_fired: Vec::with_capacity(16),
            errors: Vec::new(),
            claim_errors: Vec::new(),
            overrides: Vec::new(),
            clamps: Vec::new(),
            trace: None,
            params_traced: Vec::new(),
            reads: Vec::new(),
            traced_params: Vec::new(),
            traced_globals: Vec::new(),
            bufs: None,
            params_for: None,
            params_on: None,
            params_overrides: Vec::new(),
            written: (0..m.programs.len() as ProgId).filter(|pg| p.writers.get(*pg as usize).is_some_and(|w| !w.is_empty())).collect(),
            fuel: 0,
            budget: DEFAULT_BUDGET,
            program: p.id,
            bound: facts::Bound::default(),
            tier: Tier::Generated,
            tiers: Tiers::default(),
            active_for: (String::new(), None),
            params_filled: Vec::with_capacity(m.params.len()),
            outcome_vals: Vec::with_capacity(8),
        }
    }

    /// How the evaluations with this scratch ran so far.
    pub fn tiers(&self) -> Tiers {
        self.tiers
    }

    /// Evaluate on the IR evaluator alone, without the lowered code
    /// ([`crate::exec`]): the reference the lowered code is checked against
    /// (differential tests, audits, and measuring one against the other).
    /// The results are the same either way.
    pub fn set_ir_only(&mut self, on: bool) {
        self.tier = if on { Tier::Ir } else { Tier::Generated };
    }

    /// The fastest tier evaluations with this scratch may use (the default:
    /// [`Tier::Generated`], every tier the engine has). The results are the
    /// same on every tier; the differential tests compare them.
    pub fn set_tier(&mut self, tier: Tier) {
        self.tier = tier;
    }

    /// Add a candidate for a value output, at the end of its target's list.
    fn push_cand(&mut self, c: Cand) {
        if self.cands.is_empty() {
            // the lists of the previous evaluation
            for &t in &self.cand_touched {
                if let Some(l) = self.cand_lists.get_mut(t as usize) {
                    *l = (NONE, NONE);
                }
            }
            self.cand_touched.clear();
        }
        let i = self.cands.len() as u32;
        self.cands.push(Cand { next: NONE, ..c });
        let Some(slot) = target_slot(c.target) else { return };
        if slot >= self.cand_lists.len() {
            self.cand_lists.resize(slot + 1, (NONE, NONE));
        }
        let (first, last) = self.cand_lists[slot];
        if first == NONE {
            self.cand_lists[slot] = (i, i);
            self.cand_touched.push(slot as u32);
        } else {
            if let Some(prev) = self.cands.get_mut(last as usize) {
                prev.next = i;
            }
            self.cand_lists[slot].1 = i;
        }
    }

    /// Zero the tallies written so far and hold those of `year` from now on.
    fn clear_tallies(&mut self, year: Option<i32>) {
        for &i in &self.tallies_touched {
            if let Some(v) = self.tallies.get_mut(i) {
                *v = Decimal::ZERO;
            }
        }
        self.tallies_touched.clear();
        self.tallies_year = year;
    }

    /// Read every parameter as in force on `on` instead of the assessment
    /// date, in the following evaluations (`None`: the assessment date
    /// again). Everything else stays the assessment date's — the policies in
    /// force, ages, periods, claims' years — so this is "these households,
    /// now, under the figures of that date": next year's schedule applied to
    /// this year's registry. The assessment says so
    /// ([`crate::Assessment::parameters_on`]).
    pub fn set_parameters_on(&mut self, on: Option<NaiveDate>) {
        self.params_on = on;
    }

    /// The date parameters are read on, if not the assessment date.
    pub fn parameters_on(&self) -> Option<NaiveDate> {
        self.params_on
    }

    /// Turn tracing on or off for the following evaluations.
    pub fn set_trace(&mut self, on: bool) {
        self.trace = if on { Some(Vec::new()) } else { None };
        self.reads = Vec::new();
        self.params_traced = Vec::new();
        self.traced_params = Vec::new();
        self.traced_globals = Vec::new();
    }

    /// Programme states of the last evaluation.
    pub fn programs(&self) -> &[ProgState] {
        &self.progs
    }

    /// Claim states of the last evaluation (date order).
    pub fn claim_states(&self) -> &[ClaimState] {
        &self.claims
    }

    /// The layers of claim `i` of [`Scratch::claim_states`], one per layer of
    /// `module.layers` in settlement order (zeros when the claim was not
    /// settled: its `out_of_pocket` is then `None`).
    pub fn claim_layers(&self, i: usize) -> &[Decimal] {
        let n = if self.claims.is_empty() { 0 } else { self.layers.len() / self.claims.len() };
        self.layers.get(i * n..(i + 1) * n).unwrap_or(&[])
    }
}

/// A value set for a parameter by the deployer ([`crate::EngineBuilder::set_param`],
/// `fupin eval --set NAME=VALUE`): applied above every policy's definition,
/// on every date, its floors and caps applied as to any value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The parameter.
    pub param: ParamId,
    /// Its value, typed against the parameter's declared type.
    pub value: Value,
    /// The value as written.
    pub text: String,
}

/// Where a parameter's value came from before its floors and caps applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A definition (index in the parameter's `defs`).
    Def(u32),
    /// A deployer's setting ([`Setting`]).
    Setting,
    /// A [`Scratch::overrides`] value (a test's `set`).
    Override,
}

/// A floor or cap that changed a parameter's value (never silent: each
/// assessment lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clamp {
    /// The parameter.
    pub param: ParamId,
    /// The date it was read for.
    pub date: NaiveDate,
    /// Where the value came from.
    pub origin: Origin,
    /// The definition (index in `defs`) whose floor or cap applied.
    pub def: u32,
    /// A cap (else a floor).
    pub cap: bool,
    /// The value before.
    pub value: Value,
    /// The floor or cap, the value used.
    pub limit: Value,
}

pub(crate) struct Ev<'a> {
    pub p: &'a Program,
    pub h: &'a Household,
    pub as_of: NaiveDate,
    /// The date parameters are read on: the assessment date, or the
    /// scratch's [`Scratch::set_parameters_on`].
    pub params_on: NaiveDate,
    pub s: &'a mut Scratch,
    /// Current claim index in `s.claims`.
    pub claim: Option<usize>,
    /// `previous` context: (param, def index, date the current entry starts).
    pub prev: Option<(ParamId, usize, NaiveDate)>,
    /// Date parameters are read on inside a parameter expression.
    pub param_date: Option<NaiveDate>,
    /// Frame base for locals.
    pub base: usize,
    /// Nesting of global evaluations.
    pub global_depth: usize,
    /// The per-claim schedule of the household's context.
    pub claim_schedule: &'a [Step],
    /// The current rule's condition held (for errors after it).
    pub cond_held: bool,
    /// The lowered program, on the fast path (trace off); `None` on the IR
    /// evaluator. Any error on the fast path sends the evaluation back to
    /// the IR evaluator ([`crate::exec`]).
    pub code: Option<&'a crate::exec::Exec>,
    /// The generated functions the lowered code runs instead of walking
    /// its nodes, by `Code::id` (`None` when there are none, or the scratch
    /// asked for [`Tier::Lowered`]).
    pub generated: Option<&'static [Option<GenFn>]>,
    /// The generated whole rules, likewise.
    pub generated_rules: Option<&'static [Option<RuleFn>]>,
    /// The lowered code stopped ([`crate::exec::Trap`]): set by the
    /// operation that could not go on, read where a lowered expression ends.
    pub trapped: bool,
    /// The subject of the generated rule running (the outcomes it applies
    /// are this subject's).
    pub subject: Value,
}

/// The generated functions of an engine: its expressions' and its whole rules'.
type Generated = (&'static [Option<GenFn>], &'static [Option<RuleFn>]);

/// Evaluate `program` for `h` on `as_of` into `s`. The household must have
/// been validated (see [`crate::model::validate`]).
pub fn evaluate(p: &Program, h: &Household, as_of: NaiveDate, s: &mut Scratch) -> Result<(), EvalError> {
    evaluate_spent(p, h, as_of, s, 0)
}

/// [`evaluate`] with `spent` steps of the budget already used (validating
/// the household, [`crate::model::validation_steps`]).
pub(crate) fn evaluate_spent(p: &Program, h: &Household, as_of: NaiveDate, s: &mut Scratch, spent: u64) -> Result<(), EvalError> {
    if s.program != p.id {
        return Err(EvalError::ForeignScratch);
    }
    // The lowered code first, with the trace off; if it stops for any
    // reason, the IR evaluator starts again from the beginning and decides
    // (the value it computes exactly, or the error it reports).
    if s.trace.is_none() && s.tier != Tier::Ir {
        s.params_filled.clear();
        let generated = if s.tier == Tier::Generated { p.exec.generated } else { None };
        if let Ok(()) = run(p, h, as_of, s, spent, Some((&p.exec, generated.map(|g| (g, p.exec.generated_rules.unwrap_or(&[])))))) {
            match generated {
                Some(_) => s.tiers.generated += 1,
                None => s.tiers.lowered += 1,
            }
            return Ok(());
        }
        s.tiers.handed_over += 1;
        // The IR evaluator starts from the state the lowered run started
        // from: the parameters memoised and the clamps recorded by the
        // lowered run are forgotten (so it charges the budget exactly as it
        // would have alone, and reports its own clamps).
        for &q in &s.params_filled {
            if let Some(slot) = s.params.get_mut(q as usize) {
                *slot = None;
            }
        }
        s.params_filled.clear();
        s.clamps.clear();
    } else {
        s.tiers.ir += 1;
    }
    run(p, h, as_of, s, spent, None)
}

fn run(
    p: &Program,
    h: &Household,
    as_of: NaiveDate,
    s: &mut Scratch,
    spent: u64,
    code: Option<(&crate::exec::Exec, Option<Generated>)>,
) -> Result<(), EvalError> {
    reset(p, h, as_of, s);
    s.fuel = s.fuel.saturating_sub(spent);
    facts::bind(p, h, s)?;
    let Some(ctx) = p.context_for(&h.region) else { return Ok(()) };
    let mut ev = Ev::new(p, h, as_of, s, &ctx.claim_schedule, code);
    for step in &ctx.schedule {
        match *step {
            Step::Rule(r) => ev.run_rule_all(r)?,
            Step::Resolve(t) => ev.resolve(t)?,
            Step::Claims => ev.claims()?,
        }
    }
    Ok(())
}

fn reset(p: &Program, h: &Household, as_of: NaiveDate, s: &mut Scratch) {
    // the policies in force: the same as the last evaluation's for the same
    // region and date (one string comparison instead of one per policy)
    let mut same = true;
    if s.active_for.1 != Some(as_of) || s.active_for.0 != h.region {
        for (a, pol) in s.active.iter_mut().zip(&p.module.policies) {
            let now = pol.applies(&h.region, as_of);
            same &= *a == now;
            *a = now;
        }
        s.active_for.0.clear();
        s.active_for.0.push_str(&h.region);
        s.active_for.1 = Some(as_of);
    }
    // Memoised parameters stay valid for the same active policies, date and
    // overrides, with the trace off (a traced evaluation records every
    // parameter it reads, so it starts afresh), and while no floor or cap
    // changed a value (each evaluation reports the clamps of what it reads,
    // so a memoised parameter never hides one).
    let tracing = s.trace.is_some();
    let clamped = !s.clamps.is_empty();
    s.clamps.clear();
    let params_on = s.params_on.unwrap_or(as_of);
    if !(same && s.params_for == Some((params_on, tracing)) && !tracing && !clamped && s.params_overrides == s.overrides) {
        s.params.iter_mut().for_each(|v| *v = None);
        if s.params_overrides != s.overrides {
            s.params_overrides.clone_from(&s.overrides);
        }
        s.params_for = Some((params_on, tracing));
    }
    s.globals.iter_mut().for_each(|v| *v = None);
    for &pg in &s.written {
        if let Some(st) = s.progs.get_mut(pg as usize) {
            *st = ProgState::default();
        }
    }
    s.fired.clear();
    s.cands.clear();
    s.claims.clear();
    s.layers.clear();
    s.order.clear();
    s.clear_tallies(None);
    let slots = (h.members.len() + 1) * p.module.tallies.len();
    if s.tallies.len() < slots {
        s.tallies.resize(slots, Decimal::ZERO);
    }
    s.claim_fired.clear();
    s.errors.clear();
    s.claim_errors.clear();
    if let Some(t) = &mut s.trace {
        t.clear();
        s.params_traced.clear();
        s.reads.clear();
        s.traced_params.clear();
        s.traced_params.resize(p.module.params.len(), None);
        s.traced_globals.clear();
        s.traced_globals.resize(p.module.globals.len(), None);
    }
    s.fuel = s.budget;
}

impl<'a> Ev<'a> {
    /// An evaluator at the start of a household's rules (frame base 0, no
    /// claim, no parameter context), on the lowered code if `code` is given.
    fn new(
        p: &'a Program,
        h: &'a Household,
        as_of: NaiveDate,
        s: &'a mut Scratch,
        claim_schedule: &'a [Step],
        code: Option<(&'a crate::exec::Exec, Option<Generated>)>,
    ) -> Ev<'a> {
        Ev {
            p,
            h,
            as_of,
            params_on: s.params_on.unwrap_or(as_of),
            s,
            claim: None,
            prev: None,
            param_date: None,
            base: 0,
            global_depth: 0,
            claim_schedule,
            cond_held: false,
            code: code.map(|c| c.0),
            generated: code.and_then(|c| c.1).map(|g| g.0),
            generated_rules: code.and_then(|c| c.1).map(|g| g.1),
            trapped: false,
            subject: Value::Household,
        }
    }

    fn rule_active(&self, r: RuleId) -> bool {
        let pol = self.p.module.rules[r as usize].policy;
        self.s.active.get(pol as usize).copied().unwrap_or(false)
    }

    fn run_rule_all(&mut self, r: RuleId) -> Result<(), EvalError> {
        if !self.rule_active(r) {
            return Ok(());
        }
        let h = self.h;
        match self.p.module.rules[r as usize].subject {
            Entity::Household => self.run_rule_confined(r, Value::Household),
            Entity::Member => {
                for i in 0..h.members.len() {
                    self.run_rule_confined(r, Value::Member(i as u32))?;
                }
                Ok(())
            }
            Entity::Loan => {
                for i in 0..h.loans.len() {
                    self.run_rule_confined(r, Value::Loan(i as u32))?;
                }
                Ok(())
            }
            Entity::Claim => Ok(()),
        }
    }

    /// Run a rule; a missing parameter is confined to the programmes the rule
    /// defines (their amounts become unknown and carry the error), so the rest
    /// of the assessment still stands. Every other error ends the assessment.
    fn run_rule_confined(&mut self, r: RuleId, subject: Value) -> Result<(), EvalError> {
        self.cond_held = false;
        match self.run_rule(r, subject) {
            Err(e @ EvalError::MissingParameter { .. }) => {
                self.confine(r, subject, e);
                Ok(())
            }
            other => other,
        }
    }

    fn confine(&mut self, r: RuleId, subject: Value, e: EvalError) {
        let idx = self.s.errors.len() as u32;
        self.s.errors.push(e);
        let held = self.cond_held;
        let rule = &self.p.module.rules[r as usize];
        for o in &rule.outcomes {
            let pg = match o {
                OutcomeDef::Eligible(p) | OutcomeDef::Amount(p, _) | OutcomeDef::Flag(p) | OutcomeDef::Assign(p, _) => Some(*p),
                OutcomeDef::Pay(l, _) => self.p.layer_programs[*l as usize],
                OutcomeDef::AddTally(..) => None,
            };
            let Some(pg) = pg else { continue };
            let st = &mut self.s.progs[pg as usize];
            if st.error.is_none() {
                st.error = Some(idx);
            }
            // the condition held: eligibility is known even though the amount is not
            if held && matches!(o, OutcomeDef::Eligible(_) | OutcomeDef::Amount(..)) {
                st.eligible = true;
                st.any = true;
                self.s.fired.push(Fired { program: pg, rule: r, subject });
            }
        }
    }

    #[inline(always)]
    fn run_rule(&mut self, r: RuleId, subject: Value) -> Result<(), EvalError> {
        // On the fast path the rule runs on its lowered code; if that stops,
        // this rule alone runs again on the IR evaluator (which confines a
        // missing figure to its programmes, or reports the error, and then
        // the whole evaluation goes to the IR evaluator).
        if let Some(code) = self.code.and_then(|c| c.rules.get(r as usize)) {
            if self.run_rule_lowered(r, subject, code).is_some() {
                return Ok(());
            }
            self.trapped = false;
            self.cond_held = false;
            self.s.tiers.rules_redone += 1;
        }
        self.run_rule_ir(r, subject)
    }

    /// Run rule `r` for `subject` on the IR evaluator (with the trace, if on).
    #[inline(never)]
    fn run_rule_ir(&mut self, r: RuleId, subject: Value) -> Result<(), EvalError> {
        let p = self.p;
        let rule = &p.module.rules[r as usize];
        self.base = 0;
        self.s.reads.clear();
        if let Some(slot) = self.frame_index(rule.subject_slot) {
            self.s.frame[slot] = subject;
        }
        let tracing = self.s.trace.is_some();
        let mut values: Vec<(String, String)> = Vec::new();
        for l in rule.pre.iter() {
            let v = self.ev(&l.expr)?;
            if let Some(i) = self.frame_index(l.slot) {
                self.s.frame[i] = v;
            }
            if tracing {
                values.push((l.name.clone(), self.show(v, l.expr.ty)));
            }
        }
        if let Some(c) = &rule.cond {
            let v = self.ev(c)?;
            if v != Value::Bool(true) {
                if tracing {
                    self.trace_rule(r, subject, false, values);
                }
                return Ok(());
            }
        }
        self.cond_held = true;
        for l in rule.post.iter() {
            let v = self.ev(&l.expr)?;
            if let Some(i) = self.frame_index(l.slot) {
                self.s.frame[i] = v;
            }
            if tracing {
                values.push((l.name.clone(), self.show(v, l.expr.ty)));
            }
        }
        for o in rule.outcomes.iter() {
            let v = match o {
                OutcomeDef::Amount(_, e) | OutcomeDef::AddTally(_, e) => Some(self.eval(e)?),
                OutcomeDef::Pay(_, e) => Some(self.ev(e)?),
                OutcomeDef::Eligible(_) | OutcomeDef::Flag(_) | OutcomeDef::Assign(..) => None,
            };
            if tracing {
                values.push(self.outcome_shown(o, v));
            }
            self.apply_outcome(r, subject, o.effect(), v);
        }
        if tracing {
            self.trace_rule(r, subject, true, values);
        }
        Ok(())
    }

    /// Run rule `r` on its lowered code (trace off): every expression first
    /// — lets, condition, outcome values — then the outcomes applied. An
    /// outcome's value never depends on another outcome of the same rule
    /// (the schedule rejects a rule that reads what it writes, and layer
    /// payments and tallies take effect after the rule), so this is the IR
    /// evaluator's order of effects. `None` when the lowered code stopped,
    /// before any outcome was applied: the rule is then run again on the
    /// IR evaluator, from the same state. (Nothing here fails otherwise: a
    /// one-word answer, not a `Result` the size of an `EvalError` to move.)
    fn run_rule_lowered(&mut self, r: RuleId, subject: Value, code: &crate::exec::RuleCode) -> Option<()> {
        let p = self.p;
        let rule = &p.module.rules[r as usize];
        self.base = 0;
        if let Some(slot) = self.frame_index(rule.subject_slot) {
            self.s.frame[slot] = subject;
        }
        if let Some(f) = self.generated_rules.and_then(|g| g.get(r as usize).copied().flatten()) {
            // the whole rule in one native function (emitted from this
            // rule's lowered code, every expression of it): its lets,
            // condition and outcome values, charged and trapping as the
            // expressions' own functions would be, then (nothing having
            // trapped) its outcomes applied
            self.subject = subject;
            if self.run_generated_rule(f).ok()? {
                self.cond_held = true;
            }
            return Some(());
        }
        // lowering gives every let and outcome its code; anything else is the IR evaluator's
        if code.pre.len() != rule.pre.len() || code.post.len() != rule.post.len() || code.outcomes.len() != rule.outcomes.len() {
            return None;
        }
        self.s.outcome_vals.clear();
        for (l, c) in rule.pre.iter().zip(&code.pre) {
            let v = self.run(c).ok()?;
            if let Some(i) = self.frame_index(l.slot) {
                self.s.frame[i] = v;
            }
        }
        if rule.cond.is_some() {
            let v = self.run(code.cond.as_ref()?).ok()?;
            if v != Value::Bool(true) {
                return Some(());
            }
        }
        for (l, c) in rule.post.iter().zip(&code.post) {
            let v = self.run(c).ok()?;
            if let Some(i) = self.frame_index(l.slot) {
                self.s.frame[i] = v;
            }
        }
        for (o, c) in rule.outcomes.iter().zip(&code.outcomes) {
            let has_value = matches!(o, OutcomeDef::Amount(..) | OutcomeDef::AddTally(..) | OutcomeDef::Pay(..));
            if has_value {
                let v = self.run(c.as_ref()?).ok()?;
                self.s.outcome_vals.push(v);
            }
        }
        self.apply_outcomes(r, subject, code)
    }

    /// Apply the outcomes of rule `r`, whose condition held for `subject`,
    /// with the values its lowered code left in `outcome_vals` (one per
    /// outcome with a value, in order); `None`, with nothing applied, if
    /// the values are not one per such outcome.
    fn apply_outcomes(&mut self, r: RuleId, subject: Value, code: &crate::exec::RuleCode) -> Option<()> {
        if code.outcomes.iter().flatten().count() != self.s.outcome_vals.len() {
            return None;
        }
        self.cond_held = true;
        let mut k = 0;
        for (&e, c) in code.effects.iter().zip(&code.outcomes) {
            let v = match c {
                Some(_) => {
                    k += 1;
                    self.s.outcome_vals.get(k - 1).copied()
                }
                None => None,
            };
            self.apply_outcome(r, subject, e, v);
        }
        Some(())
    }

    /// Apply one outcome of rule `r` that fired for `subject`, with its value.
    #[inline(always)]
    pub(crate) fn apply_outcome(&mut self, r: RuleId, subject: Value, e: Effect, v: Option<Value>) {
        let v = v.unwrap_or(Value::ZERO);
        match e {
            Effect::Eligible(pg) => {
                let st = &mut self.s.progs[pg as usize];
                st.eligible = true;
                st.any = true;
                self.s.fired.push(Fired { program: pg, rule: r, subject });
            }
            Effect::Flag(pg) => {
                let st = &mut self.s.progs[pg as usize];
                st.flag = true;
                st.any = true;
                self.s.fired.push(Fired { program: pg, rule: r, subject });
            }
            Effect::Amount(pg) => {
                self.s.progs[pg as usize].eligible = true;
                self.s.push_cand(Cand { target: Target::Amount(pg), subject, rule: r, value: v, won: false, next: NONE });
            }
            Effect::Assign(pg, sym) => {
                self.s.push_cand(Cand { target: Target::Assign(pg), subject, rule: r, value: Value::Sym(sym), won: false, next: NONE });
            }
            Effect::Pay(l) => {
                let at = self.s.pay_cands.len() as u32;
                self.s.pay_cands.push((l, r, num(v)));
                if let Some(slot) = self.s.pay_slots.get_mut(l as usize) {
                    slot.count += 1;
                    slot.last = at;
                }
            }
            Effect::AddTally(t) => self.s.pending_tallies.push((t, num(v))),
        }
    }

    /// An outcome as the trace shows it: what it sets, and the value.
    fn outcome_shown(&self, o: &OutcomeDef, v: Option<Value>) -> (String, String) {
        let m = &self.p.module;
        let v = v.unwrap_or(Value::ZERO);
        match o {
            OutcomeDef::Eligible(pg) => ("eligible".into(), m.programs[*pg as usize].id.clone()),
            OutcomeDef::Flag(pg) => ("flag".into(), m.programs[*pg as usize].id.clone()),
            OutcomeDef::Amount(pg, e) => (format!("amount {}", m.programs[*pg as usize].id), self.show(v, e.ty)),
            OutcomeDef::Assign(pg, sym) => {
                (format!("assign {}", m.programs[*pg as usize].id), m.symbols.get(*sym as usize).cloned().unwrap_or_default())
            }
            OutcomeDef::Pay(l, _) => (format!("pay {}", m.layers[*l as usize].name), num(v).to_string()),
            OutcomeDef::AddTally(t, _) => (format!("tally {} +", m.tallies[*t as usize].name), num(v).to_string()),
        }
    }

    pub(crate) fn frame_index(&self, slot: u16) -> Option<usize> {
        let i = self.base + slot as usize;
        (i < self.s.frame.len()).then_some(i)
    }

    fn trace_rule(&mut self, r: RuleId, subject: Value, fired: bool, values: Vec<(String, String)>) {
        let rule = &self.p.module.rules[r as usize];
        let mut parameters: Vec<crate::assessment::ParamRead> = Vec::new();
        let mut named: Vec<(String, String)> = Vec::new();
        let mut defaulted: Vec<crate::assessment::DefaultedField> = Vec::new();
        for read in self.s.reads.drain(..) {
            match read {
                ReadEv::Param(p) => {
                    if !parameters.iter().any(|q| q.name == p.name && q.on == p.on) {
                        parameters.push(p);
                    }
                }
                ReadEv::Named(n, v) => {
                    if !named.iter().any(|(m, _)| *m == n) {
                        named.push((n, v));
                    }
                }
                ReadEv::Default(d) => {
                    if !defaulted.iter().any(|e| e.field == d.field) {
                        defaulted.push(d);
                    }
                }
            }
        }
        let ev = crate::assessment::TraceEvent::Rule {
            rule: rule.id.clone(),
            citation: rule.cite.clone(),
            subject: self.describe(subject),
            fired,
            values,
            parameters,
            named,
            defaulted,
        };
        if let Some(t) = &mut self.s.trace {
            t.push(ev);
        }
    }

    /// A readable subject (`household`, `member m2`, `claim c1 of m2`, `loan l1`).
    pub(crate) fn describe(&self, v: Value) -> String {
        describe_subject(self.h, v)
    }

    /// Whether candidate `i` of a contest wins: `Ok(None)` if it does,
    /// `Ok(Some(winner))` if a candidate that takes precedence over it exists,
    /// a conflict if an earlier candidate neither beats it nor is beaten by it.
    /// `rivals` are the other candidates for the same output and subject, with
    /// their position. This is the one winner rule for every value output.
    fn contest(
        &mut self,
        t: Target,
        subject: Value,
        (i, rule): (usize, RuleId),
        rivals: impl Iterator<Item = (usize, RuleId)>,
    ) -> Result<Option<RuleId>, EvalError> {
        for (j, other) in rivals {
            // one step of the budget per rival compared
            self.charge(1)?;
            if self.p.beats(other, rule) {
                if self.s.trace.is_some() {
                    let m = &self.p.module;
                    let ev = crate::assessment::TraceEvent::Overridden {
                        target: crate::compile::target_name(m, t),
                        subject: describe_subject(self.h, subject),
                        winner: m.rules[other as usize].id.clone(),
                        loser: m.rules[rule as usize].id.clone(),
                        why: self.p.precedence_reason(other, rule),
                    };
                    if let Some(tr) = &mut self.s.trace {
                        tr.push(ev);
                    }
                }
                return Ok(Some(other));
            }
            if j < i && !self.p.beats(rule, other) {
                return Err(self.conflict(t, subject, other, rule));
            }
        }
        Ok(None)
    }

    /// Spend `n` steps of the budget.
    fn charge(&mut self, n: u64) -> Result<(), EvalError> {
        if self.s.fuel < n {
            return Err(EvalError::Budget { limit: self.s.budget });
        }
        self.s.fuel -= n;
        Ok(())
    }

    /// Pick winners per subject among the candidates for a value target.
    ///
    /// Each candidate meets the other candidates for the same target and
    /// subject, in the order they were pushed, and the candidates are decided
    /// in that order too (so the reasons, the trace and the conflict reported
    /// follow it). The target's candidates come from its list
    /// (`Scratch::cand_lists`) and are grouped by subject with one sort, so a
    /// resolve costs O(c log c) in the target's own candidates c: neither the
    /// candidates of other targets nor those of other subjects are visited.
    /// The step budget is charged one step per candidate and one per rival
    /// compared ([`Ev::contest`]), so the budget bounds this work too and
    /// `tests/scaling.rs` sees it grow with the household.
    fn resolve(&mut self, t: Target) -> Result<(), EvalError> {
        if let Some(slot) = target_slot(t) {
            let (first, last) =
                if self.s.cands.is_empty() { (NONE, NONE) } else { self.s.cand_lists.get(slot).copied().unwrap_or((NONE, NONE)) };
            if first == NONE {
                // no candidate for this target
                return Ok(());
            }
            if first == last {
                // one candidate, without rivals
                self.charge(1)?;
                return self.resolve_in(t, &[first], &[((0, 0, 0), 0)], &[(0, 1)]);
            }
        }
        let mut order = std::mem::take(&mut self.s.resolve_order);
        let mut keys = std::mem::take(&mut self.s.resolve_keys);
        let mut groups = std::mem::take(&mut self.s.resolve_groups);
        order.clear();
        keys.clear();
        groups.clear();
        let cands = &self.s.cands;
        match target_slot(t) {
            Some(slot) if !cands.is_empty() => {
                let mut i = self.s.cand_lists.get(slot).map_or(NONE, |l| l.0);
                while let Some(c) = cands.get(i as usize) {
                    order.push(i);
                    i = c.next;
                }
            }
            Some(_) => {}
            // not a target `cands` holds: look at every candidate
            None => order.extend((0..cands.len() as u32).filter(|i| cands[*i as usize].target == t)),
        }
        keys.extend(order.iter().enumerate().map(|(p, i)| (subject_key(cands[*i as usize].subject), p as u32)));
        if keys.len() > 1 {
            keys.sort_unstable();
        }
        groups.resize(order.len(), (0, 0));
        let mut a = 0;
        while a < keys.len() {
            let b = a + keys[a..].iter().take_while(|k| k.0 == keys[a].0).count();
            for k in &keys[a..b] {
                groups[k.1 as usize] = (a as u32, b as u32);
            }
            a = b;
        }
        // one step of the budget per candidate of the target
        let result = self.charge(order.len() as u64).and_then(|()| self.resolve_in(t, &order, &keys, &groups));
        self.s.resolve_order = order;
        self.s.resolve_keys = keys;
        self.s.resolve_groups = groups;
        result
    }

    /// [`Ev::resolve`] over the target's candidates `order` (indices in
    /// `cands`, in order), `keys` (subject key, position in `order`) sorted,
    /// and each position's range of `keys`.
    fn resolve_in(&mut self, t: Target, order: &[u32], keys: &[((u8, u32, u32), u32)], groups: &[(u32, u32)]) -> Result<(), EvalError> {
        for (p, &i) in order.iter().enumerate() {
            let i = i as usize;
            let c = self.s.cands[i];
            let (a, b) = groups.get(p).map_or((0, 0), |g| (g.0 as usize, g.1 as usize));
            let cands = std::mem::take(&mut self.s.cands);
            // positions ascend within a subject's range: the rivals in the order pushed
            let rivals = keys[a..b]
                .iter()
                .map(|k| order[k.1 as usize] as usize)
                .filter(|j| *j != i && cands[*j].subject == c.subject)
                .map(|j| (j, cands[j].rule));
            let outcome = self.contest(t, c.subject, (i, c.rule), rivals);
            self.s.cands = cands;
            if outcome?.is_some() {
                continue;
            }
            self.s.cands[i].won = true;
            match t {
                Target::Amount(pg) => {
                    let st = &mut self.s.progs[pg as usize];
                    if st.error.is_some() {
                        st.any = true;
                        self.s.fired.push(Fired { program: pg, rule: c.rule, subject: c.subject });
                        continue;
                    }
                    let add = num(c.value);
                    st.amount = Some(match st.amount {
                        None => add,
                        Some(a) => {
                            exact::add(a, add).ok_or_else(|| EvalError::Overflow { loc: self.p.module.rules[c.rule as usize].loc })?
                        }
                    });
                    st.any = true;
                    self.s.fired.push(Fired { program: pg, rule: c.rule, subject: c.subject });
                }
                Target::Assign(pg) => {
                    let st = &mut self.s.progs[pg as usize];
                    if let (Some(prev), Value::Sym(new)) = (st.assign, c.value) {
                        if prev != new {
                            let other = self.s.fired.iter().rev().find(|f| f.program == pg).map(|f| f.rule).unwrap_or(c.rule);
                            return Err(self.conflict(t, c.subject, other, c.rule));
                        }
                    }
                    if let Value::Sym(sym) = c.value {
                        st.assign = Some(sym);
                    }
                    st.any = true;
                    self.s.fired.push(Fired { program: pg, rule: c.rule, subject: c.subject });
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn conflict(&self, t: Target, subject: Value, a: RuleId, b: RuleId) -> EvalError {
        let m = &self.p.module;
        let (ra, rb) = (&m.rules[a as usize], &m.rules[b as usize]);
        EvalError::Conflict {
            target: crate::compile::target_name(m, t),
            subject: if subject == Value::Household { None } else { Some(self.describe(subject)) },
            rule_a: ra.id.clone(),
            cite_a: ra.cite.clone(),
            rule_b: rb.id.clone(),
            cite_b: rb.cite.clone(),
            loc: Some(rb.loc),
        }
    }

    /// Assess every claim in date order.
    fn claims(&mut self) -> Result<(), EvalError> {
        let h = self.h;
        for (mi, m) in h.members.iter().enumerate() {
            for (ci, c) in m.claims.iter().enumerate() {
                self.s.order.push((c.date, mi as u32, ci as u32));
            }
        }
        if self.s.order.len() > 1 {
            self.s.order.sort_unstable();
        }
        for k in 0..self.s.order.len() {
            let (date, mi, ci) = self.s.order[k];
            let Some(claim) = h.members.get(mi as usize).and_then(|m| m.claims.get(ci as usize)) else { continue };
            if self.s.tallies_year != Some(date.year()) {
                self.s.clear_tallies(Some(date.year()));
            }
            self.s.claims.push(ClaimState { member: mi, claim: ci, out_of_pocket: None });
            let nl = self.p.module.layers.len();
            let row = self.s.layers.len();
            self.s.layers.resize(row + nl, Decimal::ZERO);
            let idx = self.s.claims.len() - 1;
            self.claim = Some(idx);
            self.s.pay_cands.clear();
            self.s.pay_slots.fill(PaySlot::default());
            self.s.pending_tallies.clear();
            // the rules fired for this claim are pushed after this mark
            let fired_mark = self.s.claim_fired.len();
            let subject = Value::Claim(mi, ci);
            let mut unsettled = false;
            for step in self.claim_schedule {
                match *step {
                    Step::Rule(r) if self.rule_active(r) => {
                        self.cond_held = false;
                        match self.run_rule(r, subject) {
                            Err(e @ EvalError::MissingParameter { .. }) => {
                                // the claim cannot be settled: its layers and
                                // out-of-pocket are unknown, reported with the error
                                self.confine(r, subject, e);
                                let ei = (self.s.errors.len() - 1) as u32;
                                self.s.claim_errors.push((idx as u32, ei));
                                unsettled = true;
                                break;
                            }
                            other => other?,
                        }
                    }
                    Step::Resolve(Target::Pay(l)) => self.resolve_pay(l, idx, row, subject)?,
                    _ => {}
                }
            }
            if unsettled {
                self.s.layers[row..].iter_mut().for_each(|v| *v = Decimal::ZERO);
                self.s.pending_tallies.clear();
                self.s.pay_cands.clear();
                self.s.claim_fired.truncate(fired_mark);
                continue;
            }
            // tallies
            for i in 0..self.s.pending_tallies.len() {
                let (t, v) = self.s.pending_tallies[i];
                let Some(slot) = self.tally_slot(t, mi) else {
                    return Err(EvalError::Layers { claim: describe_subject(h, subject), message: format!("tally #{t} has no slot") });
                };
                let was = self.s.tallies[slot];
                self.s.tallies[slot] = exact::add(was, v).ok_or_else(|| EvalError::Layers {
                    claim: describe_subject(h, subject),
                    message: format!("the tally {was} + {v} cannot be represented exactly (more than 28 significant digits)"),
                })?;
                self.s.tallies_touched.push(slot);
            }
            // conservation
            let layers = &self.p.module.layers;
            for (l, info) in layers.iter().enumerate() {
                let v = self.s.layers[row + l];
                if v.is_sign_negative() && !v.is_zero() {
                    return Err(EvalError::Layers {
                        claim: describe_subject(h, subject),
                        message: format!("layer {} is negative ({v})", info.name),
                    });
                }
            }
            let paying = self.s.layers[row..].iter().zip(layers).filter(|(_, info)| info.paying).map(|(v, _)| *v);
            let oop = match exact::paid_and_rest(claim.total_cost, paying) {
                Some((_, oop)) => oop,
                None => self.out_of_pocket(row, claim, subject)?,
            };
            self.s.claims[idx].out_of_pocket = Some(oop);
            for (l, info) in layers.iter().enumerate() {
                if !info.paying {
                    // A part of out-of-pocket (the deductible) is reported as
                    // the part that was borne: later layers (assistance) may
                    // have covered some of what the policy set.
                    let v = &mut self.s.layers[row + l];
                    *v = exact::min(*v, oop);
                    continue;
                }
                let Some(pg) = info.program else { continue };
                let v = self.s.layers[row + l];
                let won = self.s.pay_slots.get(l).is_some_and(|s| s.won);
                if won && self.s.progs[pg as usize].error.is_none() {
                    let ps = &mut self.s.progs[pg as usize];
                    ps.amount = Some(match ps.amount {
                        // the first payment of the programme: `0 + v` is `v`
                        // (`exact::add`'s own answer for a zero of scale 0)
                        None if !v.is_zero() => v,
                        was => {
                            let was = was.unwrap_or(Decimal::ZERO);
                            exact::add(was, v).ok_or_else(|| EvalError::Layers {
                                claim: describe_subject(h, subject),
                                message: format!(
                                    "the programme total {was} + {v} cannot be represented exactly (more than 28 significant digits)"
                                ),
                            })?
                        }
                    });
                    ps.any = true;
                    ps.eligible = true;
                }
            }
        }
        self.claim = None;
        Ok(())
    }

    /// A claim's out-of-pocket, step by step: the layers paid (at `row`)
    /// summed one by one, then taken from the total cost, each exactly, or
    /// the error that says which step cannot be (or that the layers pay
    /// more than the cost). `exact::paid_and_rest` is its fast form.
    #[cold]
    fn out_of_pocket(&self, row: usize, claim: &crate::model::Claim, subject: Value) -> Result<Decimal, EvalError> {
        let h = self.h;
        let mut paid = Decimal::ZERO;
        for (l, info) in self.p.module.layers.iter().enumerate() {
            let v = self.s.layers[row + l];
            if info.paying && !v.is_zero() {
                // exactly: a rounded sum could hide layers that pay more than the cost
                paid = exact::add(paid, v).ok_or_else(|| EvalError::Layers {
                    claim: describe_subject(h, subject),
                    message: format!("the layers paid ({paid} + {v}) cannot be represented exactly (more than 28 significant digits)"),
                })?;
            }
        }
        if exact::cmp(paid, claim.total_cost) == std::cmp::Ordering::Greater {
            return Err(EvalError::Layers {
                claim: describe_subject(h, subject),
                message: format!("layers pay {paid}, more than the total cost {}", claim.total_cost),
            });
        }
        // Exactly: near the 28-digit limit of `Decimal` a subtraction
        // rounds, and then layers + out-of-pocket would not be the total.
        // `exact::sub` refuses a rounded difference; the exact sum back is
        // the conservation check itself.
        exact::sub(claim.total_cost, paid).filter(|o| exact::add(*o, paid) == Some(claim.total_cost)).ok_or_else(|| EvalError::Layers {
            claim: describe_subject(h, subject),
            message: format!(
                "the total cost {} less the layers paid ({paid}) cannot be represented exactly (more than 28 significant digits)",
                claim.total_cost
            ),
        })
    }

    fn resolve_pay(&mut self, l: LayerId, idx: usize, row: usize, subject: Value) -> Result<(), EvalError> {
        match self.s.pay_slots.get(l as usize) {
            Some(PaySlot { count: 0, .. }) => Ok(()),
            // one payment, without rivals: it wins (a contest with none is won)
            Some(&PaySlot { count: 1, last, .. }) => {
                self.pay_won(l, last as usize, idx, row, subject);
                Ok(())
            }
            _ => self.resolve_pay_contested(l, idx, row, subject),
        }
    }

    /// Candidate `i` of `pay_cands` won layer `l` of claim `idx` (its row at `row`).
    #[inline(always)]
    fn pay_won(&mut self, l: LayerId, i: usize, idx: usize, row: usize, subject: Value) {
        let Some(&(_, rule, v)) = self.s.pay_cands.get(i) else { return };
        self.s.layers[row + l as usize] = v;
        self.s.claim_fired.push((idx as u32, rule));
        if let Some(slot) = self.s.pay_slots.get_mut(l as usize) {
            slot.won = true;
        }
        if let Some(pg) = self.p.layer_programs[l as usize] {
            self.s.fired.push(Fired { program: pg, rule, subject });
        }
    }

    /// [`Ev::resolve_pay`] of a layer with several candidates: each meets
    /// the others ([`Ev::contest`]), in the order pushed.
    #[inline(never)]
    fn resolve_pay_contested(&mut self, l: LayerId, idx: usize, row: usize, subject: Value) -> Result<(), EvalError> {
        let n = self.s.pay_cands.len();
        for i in 0..n {
            let c = self.s.pay_cands[i];
            if c.0 != l {
                continue;
            }
            let rival = |(j, d): (usize, &(LayerId, RuleId, Decimal))| j != i && d.0 == l;
            // a payment without rivals wins (a contest with none is won)
            let won = if self.s.pay_cands.iter().enumerate().any(rival) {
                let cands = std::mem::take(&mut self.s.pay_cands);
                let rivals = cands.iter().enumerate().filter(|&x| rival(x)).map(|(j, d)| (j, d.1));
                let outcome = self.contest(Target::Pay(l), subject, (i, c.1), rivals);
                self.s.pay_cands = cands;
                outcome?.is_none()
            } else {
                true
            };
            if won {
                self.pay_won(l, i, idx, row, subject);
            }
        }
        Ok(())
    }

    /// The slot of tally `t` for member `mi` (or the household) this year.
    fn tally_slot(&self, t: u32, mi: u32) -> Option<usize> {
        let n = self.p.module.tallies.len();
        let who = match self.p.module.tallies.get(t as usize)?.scope {
            crate::syntax::ast::TallyScope::HouseholdYear => self.h.members.len(),
            _ => mi as usize,
        };
        let slot = who * n + t as usize;
        (slot < self.s.tallies.len()).then_some(slot)
    }

    /// Tally total for the current claim's member (or household) and year, before this claim.
    pub(crate) fn tally(&self, t: u32) -> Decimal {
        let Some(st) = self.claim.and_then(|idx| self.s.claims.get(idx)) else { return Decimal::ZERO };
        self.tally_slot(t, st.member).map(|i| self.s.tallies[i]).unwrap_or(Decimal::ZERO)
    }
}

/// The numeric content of a value (zero for non-numbers, which the checker rules out).
pub(crate) fn num(v: Value) -> Decimal {
    match v {
        Value::Num(d) => d,
        _ => Decimal::ZERO,
    }
}

/// A readable subject.
pub fn describe_subject(h: &Household, v: Value) -> String {
    let mut s = String::new();
    describe_subject_into(h, v, &mut s);
    s
}

/// [`describe_subject`], appended to `out` (an assessment describes every
/// subject it lists, into the strings of the last one where it has them).
pub fn describe_subject_into(h: &Household, v: Value, out: &mut String) {
    match v {
        Value::Household => out.push_str("household"),
        Value::Member(i) => {
            if let Some(m) = h.members.get(i as usize) {
                out.push_str("member ");
                out.push_str(&m.id);
            }
        }
        Value::Claim(m, c) => {
            let mem = h.members.get(m as usize);
            let mid = mem.map(|x| x.id.as_str()).unwrap_or("?");
            match mem.and_then(|x| x.claims.get(c as usize)).and_then(|c| c.id.as_deref()) {
                Some(cid) => {
                    out.push_str("claim ");
                    out.push_str(cid);
                }
                None => {
                    out.push_str("claim #");
                    push_number(out, u64::from(c) + 1);
                }
            }
            out.push_str(" of member ");
            out.push_str(mid);
        }
        Value::Loan(i) => {
            if let Some(l) = h.loans.get(i as usize) {
                match l.id.as_deref() {
                    Some(id) => {
                        out.push_str("loan ");
                        out.push_str(id);
                    }
                    None => {
                        out.push_str("loan #");
                        push_number(out, u64::from(i) + 1);
                    }
                }
            }
        }
        _ => {}
    }
}

/// `n` in decimal digits, appended to `out` (what `n.to_string()` is,
/// without a new string or the formatter).
#[inline]
pub(crate) fn push_number(out: &mut String, n: u64) {
    if let Ok(d) = u8::try_from(n) {
        if d < 10 {
            out.push(char::from(b'0' + d));
            return;
        }
    }
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    let mut n = n;
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[k..] {
        out.push(char::from(*d));
    }
}

/// Something a rule read, for its trace event (tracing only).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReadEv {
    /// A parameter on a date.
    Param(crate::assessment::ParamRead),
    /// A household-level named value and its value.
    Named(String, String),
    /// A household field the record left out.
    Default(crate::assessment::DefaultedField),
}

/// What [`read_after`] reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Read {
    /// A parameter on a date.
    Param(ParamId, NaiveDate),
    /// A household-level named value.
    Global(crate::ir::GlobalId),
}

/// The parameter named `name` that the policies of the evaluation `s` last
/// ran define (the one a rule of theirs reads).
pub(crate) fn param_in_force(p: &Program, s: &Scratch, name: &str) -> Option<ParamId> {
    let m = &p.module;
    let active = |pol: crate::ir::PolicyId| s.active.get(pol as usize).copied().unwrap_or(false);
    let mut ids: Vec<ParamId> = m.params_named(name).filter(|i| m.params[*i as usize].defs.iter().any(|d| active(d.policy))).collect();
    // the most specific definition in force wins, as the checker resolves a reading
    ids.sort_by_key(|i| {
        std::cmp::Reverse(
            m.params[*i as usize].defs.iter().filter(|d| active(d.policy)).map(|d| m.policies[d.policy as usize].rank()).max(),
        )
    });
    ids.first().copied()
}

/// A value of the evaluation `s` last ran (for the same household and date),
/// shown as a trace shows it: a parameter on any date, or a named value
/// (computed now if no rule read it).
pub(crate) fn read_after(p: &Program, h: &Household, as_of: NaiveDate, s: &mut Scratch, what: Read) -> Result<String, EvalError> {
    let mut ev = Ev::new(p, h, as_of, s, &[], None);
    let at = crate::ir::Loc { file: 0, span: Default::default() };
    match what {
        Read::Param(id, on) => {
            let v = ev.param_at(id, on, 0, p.module.params[id as usize].defs.first().map_or(at, |d| d.loc))?;
            Ok(ev.show(v, p.module.params[id as usize].ty))
        }
        Read::Global(g) => {
            let v = ev.global(g)?;
            Ok(ev.show(v, p.module.globals[g as usize].expr.ty))
        }
    }
}

/// Read one parameter for a household's region on a date: (shown value, policy, citation).
pub fn read_param(
    p: &Program,
    h: &Household,
    as_of: NaiveDate,
    s: &mut Scratch,
    param: ParamId,
) -> Result<(String, String, Option<String>), EvalError> {
    reset(p, h, as_of, s);
    let mut ev = Ev::new(p, h, as_of, s, &[], None);
    let at = p
        .module
        .params
        .get(param as usize)
        .and_then(|x| x.defs.first())
        .map(|d| d.loc)
        .unwrap_or(crate::ir::Loc { file: 0, span: Default::default() });
    let v = ev.param_at(param, as_of, 0, at)?;
    let slot = &p.module.params[param as usize];
    let (policy, cite) = match ev.s.trace.as_ref().and_then(|t| {
        t.iter().rev().find_map(|e| match e {
            crate::assessment::TraceEvent::Parameter { name, policy, citation, .. } if *name == slot.name => {
                Some((policy.clone(), citation.clone()))
            }
            _ => None,
        })
    }) {
        Some(x) => x,
        None => (slot.declared_by.clone(), None),
    };
    Ok((ev.show(v, slot.ty), policy, cite))
}

/// Show a value of a type as the assessment does (`75%`, `4000 yuan/year`).
pub(crate) fn show(v: Value, ty: crate::check::types::Ty, m: &crate::check::Module) -> String {
    expr::show(v, ty, m, None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn push_number_writes_what_to_string_does() {
        let mut n: u64 = 0;
        for i in 0..2_000u64 {
            // every number below 1,000, then ever longer ones up to u64::MAX
            n = if i < 1_000 { i } else { n.saturating_mul(3).saturating_add(i) };
            let mut out = String::from("x");
            super::push_number(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
        let mut out = String::new();
        super::push_number(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string());
    }
}
