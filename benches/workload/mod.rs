//! The reference workload (`shared/bench/reference-workload.md`, DESIGN §8):
//! deterministic synthetic households and one fixed computation (低保 targeting
//! and the inpatient medical cascade), written by hand and in peer engines.
//!
//! Shared by `benches/reference.rs` and `tests/reference_workload.rs` through
//! `#[path = "../benches/workload/mod.rs"] mod workload;`.

// Each includer uses only part of this module.
#![allow(dead_code)]

use rust_decimal::Decimal;

/// Number of households the checksums cover.
pub const CHECKSUM_HOUSEHOLDS: usize = 200_000;
/// Number of 低保 households among the first [`CHECKSUM_HOUSEHOLDS`].
pub const CHECKSUM_DIBAO: u32 = 13_220;
/// Sum of `out_of_pocket` over the first [`CHECKSUM_HOUSEHOLDS`], to the fen:
/// 5639760033.34 (the published checksum).
pub fn checksum_out_of_pocket() -> Decimal {
    Decimal::new(563_976_003_334, 2)
}
/// The same sum exactly, no rounding anywhere: 5639760033.34089 (every
/// implementation here computes it to the last digit; the published checksum
/// is this rounded to the fen).
pub fn checksum_out_of_pocket_exact() -> Decimal {
    Decimal::new(563_976_003_334_089, 5)
}

/// The generator's initial state.
pub const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
/// Most members a household can have (`size = 1 + next(6)`).
pub const MAX_MEMBERS: usize = 6;

/// The xorshift64 generator of the reference workload.
#[derive(Debug, Clone)]
pub struct Xorshift64 {
    s: u64,
}

impl Default for Xorshift64 {
    fn default() -> Self {
        Xorshift64 { s: SEED }
    }
}

impl Xorshift64 {
    /// `s ^= s << 13; s ^= s >> 7; s ^= s << 17; s % m`.
    pub fn next(&mut self, m: u64) -> u64 {
        let mut s = self.s;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        self.s = s;
        s % m
    }
}

/// A member's labour capacity in the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labor {
    Able,
    Partial,
    Lost,
}

impl Labor {
    const TABLE: [Labor; 5] = [Labor::Able, Labor::Able, Labor::Able, Labor::Partial, Labor::Lost];

    /// The workload's name: `able`, `partial`, `lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            Labor::Able => "able",
            Labor::Partial => "partial",
            Labor::Lost => "lost",
        }
    }

    /// Index into `[able, partial, lost]`.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One synthetic household. Members live in fixed arrays; only the first
/// `size` entries are meaningful (the rest are `0` / `Able`).
#[derive(Debug, Clone, PartialEq)]
pub struct RefHousehold {
    pub size: u32,
    pub ages: [u32; MAX_MEMBERS],
    pub labor: [Labor; MAX_MEMBERS],
    pub poor: bool,
    /// Yuan, scale 2.
    pub income: Decimal,
    /// In-policy inpatient cost of the year, yuan, scale 2.
    pub cost: Decimal,
    /// Hospital level 1–3.
    pub level: u8,
}

impl RefHousehold {
    /// Ages of the `size` members.
    pub fn ages(&self) -> &[u32] {
        &self.ages[..self.size as usize]
    }

    /// Labour capacities of the `size` members.
    pub fn labor(&self) -> &[Labor] {
        &self.labor[..self.size as usize]
    }
}

/// The infinite stream of reference households, in order.
#[derive(Debug, Clone, Default)]
pub struct Households {
    rng: Xorshift64,
}

impl Iterator for Households {
    type Item = RefHousehold;

    fn next(&mut self) -> Option<RefHousehold> {
        let rng = &mut self.rng;
        // `next(6) < 6`, so the cast and the member loop are in range.
        let size = 1 + rng.next(6) as u32;
        let mut ages = [0; MAX_MEMBERS];
        let mut labor = [Labor::Able; MAX_MEMBERS];
        for i in 0..size as usize {
            ages[i] = rng.next(90) as u32;
            labor[i] = Labor::TABLE[rng.next(5) as usize];
        }
        let poor = rng.next(3) == 0;
        let income = Decimal::new(rng.next(6_000_000) as i64, 2);
        let cost = Decimal::new(rng.next(40_000_000) as i64, 2);
        let level = 1 + rng.next(3) as u8;
        Some(RefHousehold { size, ages, labor, poor, income, cost, level })
    }
}

/// The first `n` reference households.
pub fn households(n: usize) -> Vec<RefHousehold> {
    Households::default().take(n).collect()
}

/// The same household in fupin's model (for the policy-language version of
/// the workload): members born on 1 January `2020 - age`, labour
/// able→full, partial→partial_loss, lost→complete_loss; 建档立卡 `registered`
/// when poor; the first member has one inpatient claim dated 2020-06-01 with
/// `total_cost = in_policy_cost = cost` at a township/county/city hospital
/// (level 1/2/3); region 130131.
pub fn to_household(h: &RefHousehold, index: usize) -> fupin::model::Household {
    use chrono::NaiveDate;
    use fupin::model::*;

    // Years 1931..=2020 and fixed days: always valid dates.
    let date = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let hospital_level = match h.level {
        1 => HospitalLevel::Township,
        2 => HospitalLevel::County,
        _ => HospitalLevel::City,
    };
    let members = h
        .ages()
        .iter()
        .zip(h.labor())
        .enumerate()
        .map(|(i, (&age, &labor))| Member {
            id: format!("m{}", i + 1),
            birth_date: date(2020 - age as i32, 1, 1),
            sex: if i % 2 == 0 { Sex::Male } else { Sex::Female },
            relation: if i == 0 { Relation::Head } else { Relation::Other },
            labour: match labor {
                Labor::Able => Labour::Full,
                Labor::Partial => Labour::PartialLoss,
                Labor::Lost => Labour::CompleteLoss,
            },
            disability: None,
            chronic_disease: false,
            outpatient_major_disease: false,
            major_diseases: Vec::new(),
            schooling: None,
            employment: Employment::default(),
            medical_insurance: true,
            pension: Pension::default(),
            claims: if i == 0 {
                vec![Claim {
                    id: None,
                    date: date(2020, 6, 1),
                    kind: ClaimKind::Inpatient,
                    hospital_level,
                    in_county: true,
                    designated: true,
                    total_cost: h.cost,
                    in_policy_cost: h.cost,
                    essential_medicine_cost: Decimal::ZERO,
                    category: ClaimCategory::General,
                    disease: None,
                    facts: Default::default(),
                }]
            } else {
                Vec::new()
            },
            facts: Default::default(),
        })
        .collect();
    Household {
        id: format!("ref-{index:06}"),
        region: "130131".to_string(),
        hukou: Hukou::Rural,
        poverty: PovertyRecord { status: if h.poor { PovertyStatus::Registered } else { PovertyStatus::None }, ..PovertyRecord::default() },
        dibao: DibaoRecord::default(),
        tekun: Tekun::None,
        income: h.income,
        housing: Housing::default(),
        deep_poverty_area: false,
        harsh_area: false,
        soil_erosion_area: false,
        relocation: Relocation::None,
        forest_mu: Decimal::ZERO,
        hardship: Hardship::None,
        members,
        loans: Vec::new(),
        facts: Default::default(),
        defaulted: Default::default(),
    }
}

/// An engine's error, whatever the engine.
pub type Error = Box<dyn std::error::Error>;

/// The rules in plain Rust with rust_decimal: exact, no rounding. The speed limit.
pub mod handwritten {
    use super::{Labor, RefHousehold};
    use rust_decimal::Decimal;

    const fn dec(n: u32, scale: u32) -> Decimal {
        Decimal::from_parts(n, 0, 0, false, scale)
    }

    const DIBAO_LINE: Decimal = dec(4000, 0);
    const BASIC_CAP: Decimal = dec(150_000, 0);
    const THRESHOLD_POOR: Decimal = dec(7500, 0);
    const THRESHOLD_OTHER: Decimal = dec(15_000, 0);
    const BAND: Decimal = dec(50_000, 0);
    const BAND2_END: Decimal = dec(100_000, 0);
    const MAJOR_CAP: Decimal = dec(300_000, 0);
    const MAJOR_RATE1: Decimal = dec(60, 2);
    const MAJOR_RATE2: Decimal = dec(70, 2);
    const MAJOR_RATE3: Decimal = dec(80, 2);
    const ASSIST_RATE: Decimal = dec(70, 2);
    const ASSIST_CAP: Decimal = dec(50_000, 0);

    /// `(dibao, out_of_pocket)` of one household.
    pub fn assess(h: &RefHousehold) -> (bool, Decimal) {
        // `income / size < 4000` ⇔ `income < 4000 × size` (size > 0), exactly,
        // without a decimal division.
        let dibao = h.poor && h.income < DIBAO_LINE * Decimal::from(h.size) && h.labor().iter().any(|&l| l != Labor::Able);

        let (ded, rate) = match h.level {
            1 => (dec(200, 0), dec(85, 2)),
            2 => (dec(500, 0), dec(75, 2)),
            _ => (dec(1000, 0), dec(60, 2)),
        };
        let cost = h.cost;
        let basic = ((cost - ded).max(Decimal::ZERO) * rate).min(BASIC_CAP);
        let threshold = if h.poor { THRESHOLD_POOR } else { THRESHOLD_OTHER };
        let x = (cost - basic - threshold).max(Decimal::ZERO);
        let major = (x.min(BAND) * MAJOR_RATE1
            + (x - BAND).max(Decimal::ZERO).min(BAND) * MAJOR_RATE2
            + (x - BAND2_END).max(Decimal::ZERO) * MAJOR_RATE3)
            .min(MAJOR_CAP);
        let assist = if h.poor { ((cost - basic - major) * ASSIST_RATE).min(ASSIST_CAP) } else { Decimal::ZERO };
        (dibao, cost - basic - major - assist)
    }
}

/// The rules in zen-expression (GoRules), one program of assignments compiled
/// once; numbers are zen's `Decimal` (rust_decimal), so the checksums are exact.
pub mod zen {
    use super::{Error, RefHousehold, MAX_MEMBERS};
    use rust_decimal::Decimal;
    use zen_expression::expression::Standard;
    use zen_expression::variable::{Symbol, VariableMap};
    use zen_expression::vm::VM;
    use zen_expression::{Expression, Isolate, Variable};

    /// The workload in zen's expression language. A sequence of assignments
    /// evaluates to the object of the assigned values.
    pub const SOURCE: &str = "\
dibao = poor and income / size < 4000 and some(labor, # != 'able');
ded = level == 1 ? 200 : (level == 2 ? 500 : 1000);
rate = level == 1 ? 0.85 : (level == 2 ? 0.75 : 0.6);
basic = min([max([cost - ded, 0]) * rate, 150000]);
x = max([cost - basic - (poor ? 7500 : 15000), 0]);
major = min([min([x, 50000]) * 0.6 + min([max([x - 50000, 0]), 50000]) * 0.7 + max([x - 100000, 0]) * 0.8, 300000]);
assist = poor ? min([(cost - basic - major) * 0.7, 50000]) : 0;
out_of_pocket = cost - basic - major - assist";

    /// The compiled program, a reusable VM, and the context's keys and labour strings.
    pub struct Workload {
        expression: Expression<Standard>,
        vm: VM,
        keys: [Symbol; 6],
        labor: [Variable; 3],
    }

    impl Workload {
        /// Compile [`SOURCE`].
        pub fn new() -> Result<Self, Error> {
            let expression = Isolate::new().compile_standard(SOURCE)?;
            Ok(Workload {
                expression,
                vm: VM::new(),
                keys: ["size", "labor", "poor", "income", "cost", "level"].map(Symbol::from),
                labor: ["able", "partial", "lost"].map(|s| Variable::String(Symbol::from(s))),
            })
        }

        /// `(dibao, out_of_pocket)` of one household: builds the context
        /// object, runs the program, reads the two results.
        pub fn assess(&mut self, h: &RefHousehold) -> Result<(bool, Decimal), Error> {
            let mut labor = Vec::with_capacity(MAX_MEMBERS);
            labor.extend(h.labor().iter().map(|l| self.labor[l.index()].clone()));
            let [k_size, k_labor, k_poor, k_income, k_cost, k_level] = &self.keys;
            let mut context = VariableMap::with_capacity(6);
            context.insert(k_size.clone(), Variable::Number(h.size.into()));
            context.insert(k_labor.clone(), Variable::from_array(labor));
            context.insert(k_poor.clone(), Variable::Bool(h.poor));
            context.insert(k_income.clone(), Variable::Number(h.income));
            context.insert(k_cost.clone(), Variable::Number(h.cost));
            context.insert(k_level.clone(), Variable::Number(h.level.into()));
            let output = self.expression.evaluate_with(Variable::from_object(context), &mut self.vm)?;
            let object = output.as_object().ok_or("zen: output is not an object")?;
            let object = object.borrow();
            let dibao = object.get_str("dibao").and_then(Variable::as_bool).ok_or("zen: no boolean dibao")?;
            let out_of_pocket = object.get_str("out_of_pocket").and_then(Variable::as_number).ok_or("zen: no number out_of_pocket")?;
            Ok((dibao, out_of_pocket))
        }
    }
}

/// The rules as a rhai script compiled once to an `AST`. rhai is built with
/// `decimal` + `no_float` (Cargo.toml), so its numbers with a decimal point are
/// rust_decimal `Decimal` and the checksums are exact (no f64 fallback).
pub mod rhai_impl {
    use super::{Error, RefHousehold, MAX_MEMBERS};
    use rhai::{Array, Dynamic, Engine, ImmutableString, Scope, AST, INT};
    use rust_decimal::Decimal;

    /// The workload in rhai. Inputs: `size`, `labor` (array of strings),
    /// `poor`, `income`, `cost`, `level`; results left in the scope.
    pub const SOURCE: &str = r#"
let dibao = false;
if poor && income / size < 4000 {
    for l in labor {
        if l != "able" { dibao = true; break; }
    }
}
let ded = if level == 1 { 200 } else if level == 2 { 500 } else { 1000 };
let rate = if level == 1 { 0.85 } else if level == 2 { 0.75 } else { 0.60 };
let basic = min(max(cost - ded, 0) * rate, 150000);
let x = max(cost - basic - (if poor { 7500 } else { 15000 }), 0);
let major = min(min(x, 50000) * 0.60 + min(max(x - 50000, 0), 50000) * 0.70
    + max(x - 100000, 0) * 0.80, 300000);
let assist = if poor { min((cost - basic - major) * 0.70, 50000) } else { 0 };
let out_of_pocket = cost - basic - major - assist;
"#;

    /// The engine, the compiled script, a reusable scope and the labour strings.
    pub struct Workload {
        engine: Engine,
        ast: AST,
        scope: Scope<'static>,
        labor: [ImmutableString; 3],
    }

    impl Workload {
        /// Compile [`SOURCE`].
        pub fn new() -> Result<Self, Error> {
            let engine = Engine::new();
            let ast = engine.compile(SOURCE)?;
            Ok(Workload { engine, ast, scope: Scope::new(), labor: ["able", "partial", "lost"].map(ImmutableString::from) })
        }

        /// `(dibao, out_of_pocket)` of one household: fills the scope, runs
        /// the AST, reads the two results back from the scope.
        pub fn assess(&mut self, h: &RefHousehold) -> Result<(bool, Decimal), Error> {
            let mut labor = Array::with_capacity(MAX_MEMBERS);
            labor.extend(h.labor().iter().map(|l| Dynamic::from(self.labor[l.index()].clone())));
            let scope = &mut self.scope;
            scope.clear();
            scope
                .push("size", h.size as INT)
                .push("labor", labor)
                .push("poor", h.poor)
                .push("income", h.income)
                .push("cost", h.cost)
                .push("level", h.level as INT);
            self.engine.run_ast_with_scope(scope, &self.ast)?;
            let dibao = scope.get_value::<bool>("dibao").ok_or("rhai: no boolean dibao")?;
            let out_of_pocket = scope.get("out_of_pocket").ok_or("rhai: no out_of_pocket")?.as_decimal()?;
            Ok((dibao, out_of_pocket))
        }
    }
}

/// The rules in fupin's own policy language (`benches/reference.policy`),
/// compiled once; evaluated with a reused [`fupin::Scratch`], trace off.
pub mod fupin_impl {
    use super::{Error, RefHousehold};
    use chrono::NaiveDate;
    use fupin::model::Household;
    use fupin::{Assessment, Engine, Scratch};
    use rust_decimal::Decimal;

    /// The workload as a policy (not shipped: it lives under `benches/`).
    pub const SOURCE: &str = include_str!("../reference.policy");

    /// The assessment date: the end of the claims' year (claims are dated 2020-06-01).
    pub fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 12, 31).unwrap_or_default()
    }

    /// The engine built from [`SOURCE`] alone, a reusable scratch and the `dibao` index.
    pub struct Workload {
        pub engine: Engine,
        pub scratch: Scratch,
        /// The assessment [`Workload::assess_into`] builds every household into.
        pub assessment: Assessment,
        dibao: usize,
        as_of: NaiveDate,
    }

    impl Workload {
        /// Parse, check and compile [`SOURCE`].
        pub fn new() -> Result<Self, Error> {
            let engine = Engine::builder().source("benches/reference.policy", SOURCE).build().map_err(|d| d.render())?;
            let dibao = engine.program_index("dibao").ok_or("fupin: no dibao programme")?;
            let scratch = engine.scratch();
            Ok(Workload { engine, scratch, assessment: Assessment::default(), dibao, as_of: as_of() })
        }

        /// The same engine running its generated code
        /// (`benches/workload/generated.rs`, [`fupin::codegen`]).
        pub fn generated() -> Result<Self, Error> {
            let mut w = Workload::new()?;
            w.engine = w.engine.with_generated(&super::generated::GENERATED)?;
            Ok(w)
        }

        /// The same engine without its generated code: the lowered code alone.
        pub fn lowered() -> Result<Self, Error> {
            let mut w = Workload::new()?;
            w.scratch.set_tier(fupin::Tier::Lowered);
            Ok(w)
        }

        /// The same engine evaluating on the IR evaluator alone (no lowered
        /// code, [`Scratch::set_ir_only`]): what the lowering is measured against.
        pub fn ir_only() -> Result<Self, Error> {
            let mut w = Workload::new()?;
            w.scratch.set_ir_only(true);
            Ok(w)
        }

        /// `(dibao, out_of_pocket)` of one converted household (see
        /// [`super::to_household`]): the allocation-free core, no `Assessment`.
        #[inline]
        pub fn assess(&mut self, h: &Household) -> Result<(bool, Decimal), Error> {
            self.engine.evaluate(h, self.as_of, &mut self.scratch)?;
            let dibao = self.scratch.programs()[self.dibao].eligible;
            let mut oop = Decimal::ZERO;
            for c in self.scratch.claim_states() {
                oop += c.out_of_pocket.ok_or("fupin: a claim was not settled")?;
            }
            Ok((dibao, oop))
        }

        /// The same through the full [`Assessment`] (validation, JSON-ready output).
        pub fn assess_full(&mut self, h: &Household) -> Result<(bool, Decimal), Error> {
            let a: Assessment = self.engine.assess_with(h, self.as_of, &mut self.scratch)?;
            let dibao = a.programs.get("dibao").is_some_and(|p| p.eligible);
            let oop = a.claims.iter().map(|c| c.out_of_pocket).sum::<Option<Decimal>>().ok_or("fupin: a claim was not settled")?;
            Ok((dibao, oop))
        }

        /// The same through the full [`Assessment`], built into the one
        /// the last household's was built into ([`Engine::assess_into`]).
        pub fn assess_into(&mut self, h: &Household) -> Result<(bool, Decimal), Error> {
            self.engine.assess_into(h, self.as_of, &mut self.scratch, &mut self.assessment)?;
            let a = &self.assessment;
            let dibao = a.programs.get("dibao").is_some_and(|p| p.eligible);
            let oop = a.claims.iter().map(|c| c.out_of_pocket).sum::<Option<Decimal>>().ok_or("fupin: a claim was not settled")?;
            Ok((dibao, oop))
        }

        /// Convert a reference household and assess it (allocates for the conversion).
        pub fn assess_ref(&mut self, h: &RefHousehold, index: usize) -> Result<(bool, Decimal), Error> {
            let household = super::to_household(h, index);
            self.assess(&household)
        }
    }
}

/// The workload's generated engine (`fupin::codegen`), emitted from
/// `benches/reference.policy`: `tests/generated.rs` fails when it is stale,
/// and `FUPIN_REGENERATE=1 cargo test --release --test generated` rewrites it.
#[allow(dead_code)]
pub mod generated {
    include!("generated.rs");
}
