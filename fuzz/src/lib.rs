//! Shared pieces of the fuzz targets: the engine under test (the embedded
//! policies plus a deployment overlay that supplies every required
//! parameter), assessment dates, and a structured household generator.

use arbitrary::{Arbitrary, Unstructured};
use chrono::NaiveDate;
use fupin::model::{self, Household};
use fupin::{Engine, Tier};
use rust_decimal::Decimal;
use std::sync::OnceLock;

/// Supplies the parameters the shipped policies leave to the deployer
/// (as `tests/alloc.rs` does), so evaluation reaches the claim cascade.
pub const OVERLAY: &str = r#"
policy deploy.fuzz {
  title "fuzz deployment parameters"
  region 130100
  in_force 2016-01-01 ..
  version "fuzz"
  extends cn.hebei.shijiazhuang
  overlay
}
override param basic_deductible { always: 500 }
override param basic_rate { always: 75% }
override param basic_annual_cap { always: 150000 }
override param major_illness_deductible { always: 15000 }
override param major_illness_rate { always: 60% }
override param assistance_annual_limit { always: 50000 }
"#;

/// The engine every eval target shares (built once per process).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| match Engine::builder().embedded().source("deploy.policy", OVERLAY).build() {
        // parameters only: the overlay lowers to the shipped library's code
        Ok(e) => e.with_shipped_generated(),
        Err(d) => panic!("the shipped policies and the fuzz overlay must build:\n{}", d.render()),
    })
}

/// Assessment dates that exercise each series entry of the shipped policies.
pub const DATES: [(i32, u32, u32); 6] = [(2015, 6, 1), (2016, 6, 1), (2017, 6, 1), (2018, 6, 1), (2020, 6, 1), (2021, 6, 1)];

/// A date from the list.
pub fn as_of(i: u8) -> NaiveDate {
    let (y, m, d) = DATES[i as usize % DATES.len()];
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// Exact sum of decimals, independent of `Decimal` arithmetic (which rounds
/// beyond 28 digits): each value split into its integer part and its
/// fraction in units of 10^-28, both summed in `i128`, the carry normalised.
pub fn exact_sum(xs: &[Decimal]) -> (i128, i128) {
    const ONE: i128 = 10_000_000_000_000_000_000_000_000_000; // 10^28
    let (mut int, mut frac) = (0i128, 0i128);
    for x in xs {
        let p = 10i128.pow(x.scale());
        int += x.mantissa() / p;
        frac += (x.mantissa() % p) * 10i128.pow(28 - x.scale());
    }
    (int + frac.div_euclid(ONE), frac.rem_euclid(ONE))
}

/// Every claim of `a` settles exactly: layers + out-of-pocket = total cost
/// by [`exact_sum`] (`Decimal` addition rounds beyond 28 digits and could
/// hide a violation), and no layer, out-of-pocket or deductible is negative.
pub fn assert_conserved(a: &fupin::Assessment) {
    for c in &a.claims {
        if c.error.is_some() {
            // not settled: every amount unknown, none reported
            assert!(c.out_of_pocket.is_none() && c.layers.iter().all(|(_, v)| v.is_none()), "unsettled {} reports amounts", c.claim);
            continue;
        }
        let mut parts: Vec<_> = c.layers.iter().map(|(_, v)| v.expect("settled")).collect();
        parts.push(c.out_of_pocket.expect("settled"));
        assert_eq!(exact_sum(&parts), exact_sum(&[c.total_cost]), "layers + out-of-pocket != total for {}", c.claim);
        for v in parts.iter().copied().chain(c.out_of_pocket_parts.iter().map(|(_, v)| v.expect("settled"))) {
            assert!(!v.is_sign_negative() || v.is_zero(), "negative layer in {}", c.claim);
        }
    }
}

/// The parser's fast path and the definition of the language (the pest
/// grammar alone) agree on `text`: the same tree with the same spans (spans
/// take no part in the trees' equality, so the debug forms are compared), or
/// the same errors.
pub fn assert_parsers_agree(text: &str) {
    let fast = format!("{:?}", fupin::syntax::parse(text));
    let definition = format!("{:?}", fupin::syntax::parse_definition(text));
    assert!(
        fast == definition,
        "the parser's fast path and the definition disagree on {text:?}\n fast:       {fast}\n definition: {definition}"
    );
}

/// Assess `h` on `as_of` with the trace on and off; both must agree.
/// Any `Err` is fine (a typed error); a panic is the bug.
pub fn assess_both_ways(h: &Household, as_of: NaiveDate) {
    let e = engine();
    let plain = e.assess(h, as_of);
    let mut s = e.scratch();
    s.set_trace(true);
    let traced = e.assess_with(h, as_of, &mut s);
    match (&plain, &traced) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.programs, b.programs, "tracing changed the outcome");
            assert_eq!(a.claims, b.claims, "tracing changed the claims");
            assert_conserved(a);
            // The stable JSON serialises.
            let _ = serde_json::to_string(a);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "tracing changed the error"),
        _ => panic!("tracing changed success: {plain:?} vs {traced:?}"),
    }
    let _ = model::validate(h, Some(as_of));
}

/// Assess `h` on the generated code, on the lowered code, on the IR
/// evaluator alone and on the IR evaluator with the trace on, each with step
/// budget `budget`: the same assessment or the same error, or a panic naming
/// the household and the values of each.
pub fn assess_every_tier(h: &Household, as_of: NaiveDate, budget: u64) {
    let e = engine();
    assert!(e.is_generated(), "the fuzz engine runs the shipped generated code");
    let run = |tier: Tier, trace: bool| {
        let mut s = e.scratch();
        s.budget = budget;
        s.set_tier(tier);
        s.set_trace(trace);
        e.assess_with(h, as_of, &mut s)
            .map(|mut a| {
                a.trace = None;
                serde_json::to_value(&a).unwrap_or_default()
            })
            .map_err(|err| err.to_string())
    };
    let generated = run(Tier::Generated, false);
    let lowered = run(Tier::Lowered, false);
    let ir = run(Tier::Ir, false);
    let traced = run(Tier::Ir, true);
    if generated != ir || lowered != ir || ir != traced {
        let show = |r: &Result<serde_json::Value, String>| match r {
            Ok(v) => v.to_string(),
            Err(e) => format!("error: {e}"),
        };
        panic!(
            "household {:?} on {as_of} (budget {budget}): the tiers disagree\n generated: {}\n lowered:   {}\n IR:        {}\n traced:    {}",
            h.id,
            show(&generated),
            show(&lowered),
            show(&ir),
            show(&traced)
        );
    }
}

// ---------------------------------------------------------------- structured households

fn pick<T: Copy>(u: &mut Unstructured<'_>, all: &[T]) -> arbitrary::Result<T> {
    Ok(*u.choose(all)?)
}

/// Money mostly in a realistic range, sometimes extreme.
fn money(u: &mut Unstructured<'_>) -> arbitrary::Result<Decimal> {
    Ok(match u.int_in_range(0u8..=9)? {
        0 => Decimal::ZERO,
        1 => Decimal::MAX,
        2 => Decimal::from_i128_with_scale(u.arbitrary::<i64>()?.unsigned_abs() as i128, u.int_in_range(0..=28)?),
        // the whole 96-bit mantissa range, any scale, and just below the limit
        3 => Decimal::from_i128_with_scale((u.arbitrary::<u128>()? % (1u128 << 96)) as i128, u.int_in_range(0..=28)?),
        4 => Decimal::MAX - Decimal::from(u.int_in_range(0u32..=1000)?),
        _ => Decimal::new(u.int_in_range(0i64..=50_000_000)?, 2),
    })
}

fn date(u: &mut Unstructured<'_>) -> arbitrary::Result<NaiveDate> {
    date_in(u, 1930, 2022)
}

/// Mostly a date in `lo..=hi`; now and then any year.
fn date_in(u: &mut Unstructured<'_>, lo: i32, hi: i32) -> arbitrary::Result<NaiveDate> {
    let y = if u.ratio(1u8, 32)? { u.int_in_range(-10_000i32..=10_000)? } else { u.int_in_range(lo..=hi)? };
    let m = u.int_in_range(1u32..=12)?;
    let d = u.int_in_range(1u32..=31)?;
    Ok(NaiveDate::from_ymd_opt(y, m, d).or_else(|| NaiveDate::from_ymd_opt(y, m, 28)).unwrap_or_default())
}

fn region(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => u.arbitrary::<String>()?,
        1 => "130100".into(),
        2 => "130000".into(),
        _ => pick(u, &["130131", "130129", "130126", "130125", "130102", "210881", "000000"])?.into(),
    })
}

/// Input for `eval_struct`: a household built field by field.
#[derive(Debug)]
pub struct FuzzHousehold {
    /// The household.
    pub household: Household,
    /// Index into [`DATES`].
    pub date: u8,
}

impl<'a> Arbitrary<'a> for FuzzHousehold {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        use model::*;
        let n_members = u.int_in_range(0usize..=6)?;
        let mut members = Vec::with_capacity(n_members);
        for i in 0..n_members {
            let n_claims = u.int_in_range(0usize..=5)?;
            let mut claims = Vec::with_capacity(n_claims);
            for j in 0..n_claims {
                let total = money(u)?;
                let share = |u: &mut Unstructured<'_>, of: Decimal| -> arbitrary::Result<Decimal> {
                    Ok(if u.ratio(7u8, 8)? { of.checked_mul(Decimal::new(u.int_in_range(0..=100)?, 2)).unwrap_or(of) } else { money(u)? })
                };
                let in_policy = share(u, total)?;
                let essential = share(u, in_policy)?;
                claims.push(Claim {
                    facts: Default::default(),
                    id: if u.arbitrary()? { Some(format!("c{j}")) } else { None },
                    date: date_in(u, 2015, 2021)?,
                    kind: pick(u, ClaimKind::ALL)?,
                    hospital_level: pick(u, HospitalLevel::ALL)?,
                    in_county: u.arbitrary()?,
                    designated: u.arbitrary()?,
                    total_cost: total,
                    in_policy_cost: in_policy.round_dp(2),
                    essential_medicine_cost: essential.round_dp(2),
                    category: pick(u, ClaimCategory::ALL)?,
                    disease: if u.arbitrary()? { Some(pick(u, MajorDisease::ALL)?) } else { None },
                });
            }
            members.push(Member {
                facts: Default::default(),
                id: if u.ratio(1u8, 40)? { "m0".into() } else { format!("m{i}") },
                birth_date: date_in(u, 1930, 2014)?,
                sex: pick(u, Sex::ALL)?,
                relation: pick(u, Relation::ALL)?,
                labour: pick(u, Labour::ALL)?,
                disability: if u.arbitrary()? {
                    Some(Disability {
                        category: pick(u, DisabilityCategory::ALL)?,
                        grade: if u.ratio(1u8, 20)? { u.arbitrary()? } else { u.int_in_range(1..=4)? },
                        certified: u.arbitrary()?,
                    })
                } else {
                    None
                },
                chronic_disease: u.arbitrary()?,
                outpatient_major_disease: u.arbitrary()?,
                major_diseases: {
                    let n = u.int_in_range(0usize..=2)?;
                    (0..n).map(|_| pick(u, MajorDisease::ALL)).collect::<arbitrary::Result<_>>()?
                },
                schooling: if u.arbitrary()? {
                    Some(Schooling {
                        stage: pick(u, Stage::ALL)?,
                        enrolled: u.arbitrary()?,
                        graduated_not_admitted: u.arbitrary()?,
                        graduated_unemployed: u.arbitrary()?,
                        deep_mountain_area: u.arbitrary()?,
                    })
                } else {
                    None
                },
                employment: Employment {
                    status: pick(u, EmploymentStatus::ALL)?,
                    employer: pick(u, EmployerKind::ALL)?,
                    local_employer: u.arbitrary()?,
                    contract_months: u.arbitrary()?,
                    social_insurance: u.arbitrary()?,
                    placed_by_agency: u.arbitrary()?,
                    in_town_months: u.arbitrary()?,
                    willing: u.arbitrary()?,
                    starting_business: u.arbitrary()?,
                    wage_tier: if u.ratio(1u8, 20)? { u.arbitrary()? } else { u.int_in_range(0..=4)? },
                },
                medical_insurance: u.arbitrary()?,
                pension: Pension { enrolled: u.arbitrary()?, tier: u.arbitrary()?, receiving: u.arbitrary()?, employee: u.arbitrary()? },
                claims,
            });
        }
        let n_loans = u.int_in_range(0usize..=3)?;
        let mut loans = Vec::with_capacity(n_loans);
        for j in 0..n_loans {
            let start = date(u)?;
            loans.push(Loan {
                facts: Default::default(),
                id: if u.arbitrary()? { Some(format!("l{j}")) } else { None },
                kind: pick(u, LoanKind::ALL)?,
                borrower: if u.arbitrary()? { Some("m0".into()) } else { None },
                principal: money(u)?,
                start_date: start,
                maturity_date: if u.ratio(7u8, 8)? {
                    start.checked_add_months(chrono::Months::new(u.int_in_range(0..=60)?)).unwrap_or(start)
                } else {
                    date(u)?
                },
                rate: if u.ratio(7u8, 8)? { Decimal::new(u.int_in_range(0..=1000)?, 4) } else { money(u)? },
                repayment_difficulty: u.arbitrary()?,
                difficulty_cause: pick(u, Hardship::ALL)?,
                non_subjective: u.arbitrary()?,
                extended_to: if u.arbitrary()? {
                    Some(if u.ratio(7u8, 8)? {
                        start.checked_add_months(chrono::Months::new(u.int_in_range(12..=96)?)).unwrap_or(start)
                    } else {
                        date(u)?
                    })
                } else {
                    None
                },
                renewed: u.arbitrary()?,
            });
        }
        let household = Household {
            facts: Default::default(),
            defaulted: Default::default(),
            id: if u.ratio(1u8, 40)? { String::new() } else { "h1".into() },
            region: region(u)?,
            hukou: pick(u, Hukou::ALL)?,
            poverty: PovertyRecord {
                status: pick(u, PovertyStatus::ALL)?,
                registered_on: if u.arbitrary()? { Some(date_in(u, 2014, 2016)?) } else { None },
                exited_on: if u.arbitrary()? { Some(date_in(u, 2016, 2021)?) } else { None },
                cause: if u.arbitrary()? { Some(pick(u, PovertyCause::ALL)?) } else { None },
            },
            dibao: DibaoRecord { enrolled: u.arbitrary()?, since: if u.arbitrary()? { Some(date(u)?) } else { None } },
            tekun: pick(u, Tekun::ALL)?,
            income: money(u)?,
            housing: Housing { structure: pick(u, Structure::ALL)?, safety_grade: pick(u, SafetyGrade::ALL)? },
            deep_poverty_area: u.arbitrary()?,
            harsh_area: u.arbitrary()?,
            soil_erosion_area: u.arbitrary()?,
            relocation: pick(u, Relocation::ALL)?,
            forest_mu: money(u)?,
            hardship: pick(u, Hardship::ALL)?,
            members,
            loans,
        };
        Ok(FuzzHousehold { household, date: u.arbitrary()? })
    }
}
