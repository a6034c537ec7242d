//! Properties of the engine (proptest):
//! - under the 石家庄 medical cascade with arbitrary valid deployment
//!   parameters, every claim's layers + out-of-pocket = total cost exactly
//!   and no layer is negative;
//! - more in-policy cost never lowers the total reimbursed;
//! - assessments are deterministic and independent of member order;
//! - households with thousands of members and claims, and at the caps
//!   (10,000 members, 100,000 claims), conserve every claim exactly; one past
//!   a cap is a typed error naming it;
//! - the lowered code and the IR evaluator give the same assessment (or the
//!   same error) on any household, any deployment parameters and any step
//!   budget, over the whole decimal range of claim money too;
//! - `parse(print(ast)) == ast` for whole files (header, every item kind);
//! - `int(x, MODE)` is the exact value rounded by the mode, and
//!   `(90% − rate(paid / cost)) × cost` is exactly 90% of the cost less
//!   what was paid.

use chrono::NaiveDate;
use fupin::syntax::ast::*;
use fupin::value::Value;
use fupin::{Assessment, Engine, Household};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const OVERLAY: &str = r#"
policy deploy.props {
  title "property-test deployment parameters (replaced per case through Scratch::overrides)"
  region 130100
  in_force 2016-01-01 ..
  version "test"
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

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let e = Engine::builder().embedded().source("deploy.policy", OVERLAY).build().unwrap_or_else(|d| panic!("{}", d.render()));
        // parameters only: the overlay lowers to the shipped library's code
        e.with_generated(&fupin::codegen::shipped::GENERATED).unwrap_or_else(|m| panic!("{m}"))
    })
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 12, 31).expect("date")
}

/// Deployment parameters: yuan amounts and rates in their valid ranges.
#[derive(Debug, Clone)]
struct Params {
    basic_deductible: Decimal,
    basic_rate: Decimal,
    basic_annual_cap: Decimal,
    major_illness_deductible: Decimal,
    major_illness_rate: Decimal,
    assistance_annual_limit: Decimal,
    assistance_rate: Decimal,
}

fn yuan(max: i64) -> impl Strategy<Value = Decimal> {
    (0..=max * 100).prop_map(|f| Decimal::new(f, 2))
}

fn rate() -> impl Strategy<Value = Decimal> {
    (0i64..=10_000).prop_map(|bp| Decimal::new(bp, 4))
}

fn params() -> impl Strategy<Value = Params> {
    (yuan(3000), rate(), yuan(400_000), yuan(30_000), rate(), yuan(200_000), (7_000i64..=10_000).prop_map(|bp| Decimal::new(bp, 4)))
        .prop_map(|(bd, br, bc, md, mr, al, ar)| Params {
            basic_deductible: bd,
            basic_rate: br,
            basic_annual_cap: bc,
            major_illness_deductible: md,
            major_illness_rate: mr,
            assistance_annual_limit: al,
            assistance_rate: ar,
        })
}

fn scratch(p: &Params) -> fupin::Scratch {
    let e = engine();
    let mut s = e.scratch();
    for (name, v) in [
        ("basic_deductible", p.basic_deductible),
        ("basic_rate", p.basic_rate),
        ("basic_annual_cap", p.basic_annual_cap),
        ("major_illness_deductible", p.major_illness_deductible),
        ("major_illness_rate", p.major_illness_rate),
        ("assistance_annual_limit", p.assistance_annual_limit),
        ("assistance_rate", p.assistance_rate),
    ] {
        let ids = e.param_ids(name);
        assert!(!ids.is_empty(), "no parameter {name}");
        for id in ids {
            s.overrides.push((id, Value::Num(v)));
        }
    }
    s
}

#[derive(Debug, Clone)]
struct ClaimSpec {
    month: u32,
    day: u32,
    year: i32,
    inpatient: bool,
    designated: bool,
    total: Decimal,
    in_policy_share: Decimal,
}

fn claim() -> impl Strategy<Value = ClaimSpec> {
    (
        1u32..=12,
        1u32..=28,
        prop::sample::select(vec![2017, 2018, 2018]),
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.85),
        yuan(400_000),
        (0i64..=100).prop_map(|p| Decimal::new(p, 2)),
    )
        .prop_map(|(month, day, year, inpatient, designated, total, in_policy_share)| ClaimSpec {
            month,
            day,
            year,
            inpatient,
            designated,
            total,
            in_policy_share,
        })
}

#[derive(Debug, Clone)]
struct MemberSpec {
    insured: bool,
    labour: &'static str,
    claims: Vec<ClaimSpec>,
}

fn member() -> impl Strategy<Value = MemberSpec> {
    (
        prop::bool::weighted(0.9),
        prop::sample::select(vec!["full", "partial_loss", "complete_loss", "age"]),
        prop::collection::vec(claim(), 0..5),
    )
        .prop_map(|(insured, labour, claims)| MemberSpec { insured, labour, claims })
}

#[derive(Debug, Clone)]
struct HouseholdSpec {
    status: &'static str,
    hukou: &'static str,
    income: Decimal,
    members: Vec<MemberSpec>,
}

fn household_spec() -> impl Strategy<Value = HouseholdSpec> {
    (
        prop::sample::select(vec!["registered", "registered", "returned", "exited", "none"]),
        prop::sample::select(vec!["rural", "rural", "urban"]),
        yuan(30_000),
        prop::collection::vec(member(), 1..5),
    )
        .prop_map(|(status, hukou, income, members)| HouseholdSpec { status, hukou, income, members })
}

fn build(spec: &HouseholdSpec) -> Household {
    let members: Vec<serde_json::Value> = spec
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let claims: Vec<serde_json::Value> = m
                .claims
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    serde_json::json!({
                        "id": format!("m{i}-c{j}"),
                        "date": format!("{:04}-{:02}-{:02}", c.year, c.month, c.day),
                        "kind": if c.inpatient { "inpatient" } else { "outpatient" },
                        "hospital_level": "county",
                        "designated": c.designated,
                        "total_cost": c.total.to_string(),
                        "in_policy_cost": (c.total * c.in_policy_share).round_dp(2).to_string(),
                    })
                })
                .collect();
            serde_json::json!({
                "id": format!("m{i}"), "birth_date": "1960-01-01", "sex": "female", "labour": m.labour,
                "medical_insurance": m.insured, "claims": claims,
            })
        })
        .collect();
    let json = serde_json::json!({
        "id": "h-prop", "region": "130131", "hukou": spec.hukou, "income": spec.income.to_string(),
        "poverty": { "status": spec.status, "registered_on": "2015-10-01" },
        "members": members,
    });
    fupin::model::parse_household(&json.to_string(), Some(as_of())).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

fn assess(h: &Household, p: &Params) -> Assessment {
    let mut s = scratch(p);
    engine().assess_with(h, as_of(), &mut s).unwrap_or_else(|e| panic!("{}", e.render(&engine().program().sources)))
}

/// Exact sum of decimals, independent of `Decimal` arithmetic (which rounds
/// beyond 28 digits): each value split into its integer part and its
/// fraction in units of 10^-28, both summed in `i128`, the carry normalised.
fn exact_sum(xs: &[Decimal]) -> (i128, i128) {
    const ONE: i128 = 10_000_000_000_000_000_000_000_000_000; // 10^28
    let (mut int, mut frac) = (0i128, 0i128);
    for x in xs {
        let p = 10i128.pow(x.scale());
        int += x.mantissa() / p;
        frac += (x.mantissa() % p) * 10i128.pow(28 - x.scale());
    }
    (int + frac.div_euclid(ONE), frac.rem_euclid(ONE))
}

fn reimbursed(a: &Assessment) -> Decimal {
    a.claims.iter().map(|c| c.paid().unwrap_or_default()).sum()
}

/// A settled claim's paying layers and then its out-of-pocket (a claim
/// not settled has every layer null: none of these generators leaves a
/// deployer figure out, so that would be a failure).
fn parts(c: &fupin::assessment::ClaimOutcome) -> Vec<Decimal> {
    let mut v: Vec<Decimal> = c.layers.iter().map(|(n, x)| x.unwrap_or_else(|| panic!("layer {n} of {} not settled", c.claim))).collect();
    v.push(c.out_of_pocket.unwrap_or_else(|| panic!("{} not settled", c.claim)));
    v
}

/// A named layer of a settled claim.
fn layer(c: &fupin::assessment::ClaimOutcome, name: &str) -> Decimal {
    c.layer(name).unwrap_or_else(|| panic!("claim {} has no settled layer {name}", c.claim))
}

/// Programme outcomes without the order of reasons and subjects.
/// eligible, amount, flag, assigned value, reasons (rule, subjects)
type ProgramSummary = (bool, Option<Decimal>, bool, Option<String>, Vec<(String, Vec<String>)>);

fn outcomes(a: &Assessment) -> BTreeMap<String, ProgramSummary> {
    a.programs
        .iter()
        .map(|(k, v)| {
            let mut reasons: Vec<(String, Vec<String>)> = v
                .reasons
                .iter()
                .map(|r| {
                    let mut s = r.subjects.clone();
                    s.sort();
                    (r.rule.to_string(), s)
                })
                .collect();
            reasons.sort();
            (k.to_string(), (v.eligible, v.amount, v.flag, v.value.as_ref().map(|x| x.to_string()), reasons))
        })
        .collect()
}

/// Claim money over the whole `Decimal` range: many digits, any scale, near the limit.
fn any_money() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        yuan(400_000),
        (0u128..(1u128 << 96), 0u32..=28).prop_map(|(m, s)| Decimal::from_i128_with_scale(m as i128, s)),
        (0u64..1000).prop_map(|k| Decimal::MAX - Decimal::from(k)),
        Just(Decimal::MAX),
    ]
}

/// Give the household's claims these (total, in-policy) amounts in turn
/// (the larger of each pair is the total).
fn set_claim_money(h: &mut Household, totals: &[(Decimal, Decimal)]) {
    let mut k = 0;
    for m in h.members.iter_mut() {
        for c in m.claims.iter_mut() {
            let (total, in_policy) = totals[k % totals.len()];
            k += 1;
            c.total_cost = total.max(in_policy);
            c.in_policy_cost = total.min(in_policy);
        }
    }
}

/// One household assessed on the generated code, the lowered code and the
/// IR evaluator alone with the same parameters and step budget: the
/// assessment as JSON, or the error.
type Twice = (Result<String, String>, Result<String, String>);

fn every_tier(h: &Household, p: &Params, budget: u64) -> (Twice, Twice, Twice, fupin::Tiers) {
    let run = |s: &mut fupin::Scratch| {
        s.budget = budget;
        // the batch's writer, straight from the scratch
        let mut direct = Vec::new();
        let direct_result = engine().assess_json(h, as_of(), &mut s.clone(), &mut direct).map_err(|e| e.to_string());
        let result = engine()
            .assess_with(h, as_of(), s)
            .map(|a| {
                let serde = serde_json::to_string(&a).unwrap_or_default();
                // the batch writer writes exactly what serde writes
                let mut written = Vec::new();
                let ok = fupin::assessment::write_json(&a, &mut written).is_ok();
                assert!(
                    ok && written == serde.as_bytes(),
                    "write_json differs from serde:\n{}\n{serde}",
                    String::from_utf8_lossy(&written)
                );
                serde
            })
            .map_err(|e| e.to_string());
        match (&result, &direct_result) {
            (Ok(serde), Ok(Ok(()))) => {
                assert!(direct == serde.as_bytes(), "assess_json differs from serde:\n{}\n{serde}", String::from_utf8_lossy(&direct))
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "assess_json and assess_with fail differently"),
            _ => panic!("assess_json and assess_with differ: {result:?} {direct_result:?}"),
        }
        result
    };
    let mut generated = scratch(p);
    let mut lowered = scratch(p);
    lowered.set_tier(fupin::Tier::Lowered);
    let mut ir = scratch(p);
    ir.set_ir_only(true);
    // twice on each scratch: the second time with what the first memoised
    let (a, b, c) = (run(&mut generated), run(&mut lowered), run(&mut ir));
    let (d, e, f) = (run(&mut generated), run(&mut lowered), run(&mut ir));
    ((a, d), (b, e), (c, f), generated.tiers())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The generated and the lowered code are the IR evaluator's fast
    /// paths: the same figures to the last digit and the same errors,
    /// whatever the household, the parameters, the claim money (up to
    /// `Decimal::MAX`) and the budget (a fast run charges at least the IR
    /// evaluator's steps, so one that runs out hands over and the IR
    /// evaluator decides).
    #[test]
    fn the_generated_code_the_lowered_code_and_the_ir_evaluator_agree(
        spec in household_spec(), p in params(), budget in 1u64..4000,
        totals in prop::option::of(prop::collection::vec((any_money(), any_money()), 1..4)),
    ) {
        let mut h = build(&spec);
        if let Some(totals) = totals {
            set_claim_money(&mut h, &totals);
        }
        for b in [budget, fupin::eval::DEFAULT_BUDGET] {
            let (generated, lowered, ir, tiers) = every_tier(&h, &p, b);
            prop_assert_eq!(&generated, &ir, "generated vs IR: budget {}, {:?}", b, tiers);
            prop_assert_eq!(&lowered, &ir, "lowered vs IR: budget {}, {:?}", b, tiers);
        }
    }

    /// Over the full range of claim money: a claim settles with layers +
    /// out-of-pocket = total exactly, or the assessment is a typed error.
    #[test]
    fn conservation_is_exact_over_the_whole_decimal_range(
        spec in household_spec(), p in params(), totals in prop::collection::vec((any_money(), any_money()), 1..4)
    ) {
        let mut h = build(&spec);
        set_claim_money(&mut h, &totals);
        let mut s = scratch(&p);
        if let Ok(a) = engine().assess_with(&h, as_of(), &mut s) {
            for c in &a.claims {
                let parts = parts(c);
                prop_assert_eq!(exact_sum(&parts), exact_sum(&[c.total_cost]), "{:?}", c);
                for v in parts.iter().chain([&layer(c, "deductible")]) {
                    prop_assert!(*v >= Decimal::ZERO, "negative layer: {:?}", c);
                }
            }
        }
    }

    #[test]
    fn layers_and_out_of_pocket_add_up_to_the_cost(spec in household_spec(), p in params()) {
        let h = build(&spec);
        let a = assess(&h, &p);
        let n: usize = spec.members.iter().map(|m| m.claims.len()).sum();
        prop_assert_eq!(a.claims.len(), n);
        for c in &a.claims {
            let parts = parts(c);
            let (layers, oop) = (&parts[..parts.len() - 1], parts[parts.len() - 1]);
            prop_assert_eq!(layers.len(), 5, "{:?}", c);
            prop_assert_eq!(exact_sum(&parts), exact_sum(&[c.total_cost]), "{:?}", c);
            for v in parts.iter().chain([&layer(c, "deductible")]) {
                prop_assert!(*v >= Decimal::ZERO, "negative layer: {:?}", c);
            }
            prop_assert!(layer(c, "deductible") <= oop, "{:?}", c);
            // amounts are to the fen
            for &v in layers {
                prop_assert_eq!(v, v.round_dp(2), "{:?}", c);
            }
        }
        // the programme totals are the claim layers summed
        let basic: Decimal = a.claims.iter().map(|c| layer(c, "basic")).sum();
        let paid_basic = a.programs.get("medical.basic").and_then(|p| p.amount).unwrap_or_default();
        prop_assert_eq!(paid_basic, basic);
    }

    #[test]
    fn more_in_policy_cost_never_lowers_the_total_reimbursed(
        spec in household_spec(),
        p in params(),
        which in any::<prop::sample::Index>(),
        extra in yuan(100_000),
    ) {
        let h = build(&spec);
        let n: usize = h.members.iter().map(|m| m.claims.len()).sum();
        prop_assume!(n > 0);
        let k = which.index(n);
        let mut more = h.clone();
        let (mi, ci) = more.members.iter().enumerate().flat_map(|(mi, m)| (0..m.claims.len()).map(move |ci| (mi, ci))).nth(k).expect("claim");
        let c = &mut more.members[mi].claims[ci];
        c.in_policy_cost += extra;
        c.total_cost += extra;
        let claim_id = c.id.clone().unwrap_or_default();
        let before = reimbursed(&assess(&h, &p));
        let after = reimbursed(&assess(&more, &p));
        prop_assert!(after >= before, "claim {}: +{} in-policy cost lowered the total reimbursed from {} to {}", claim_id, extra, before, after);
    }

    #[test]
    fn assessments_are_deterministic(spec in household_spec(), p in params()) {
        let h = build(&spec);
        let e = engine();
        let a = serde_json::to_string(&assess(&h, &p)).expect("json");
        let b = serde_json::to_string(&assess(&h, &p)).expect("json");
        prop_assert_eq!(&a, &b);
        // a reused scratch after another household gives the same answer
        let mut s = scratch(&p);
        let other = build(&HouseholdSpec { members: vec![MemberSpec { insured: true, labour: "full", claims: vec![] }], ..spec.clone() });
        let _ = e.assess_with(&other, as_of(), &mut s);
        let c = serde_json::to_string(&e.assess_with(&h, as_of(), &mut s).expect("assess")).expect("json");
        prop_assert_eq!(&a, &c);
    }

    #[test]
    fn member_order_does_not_change_the_outcomes(spec in household_spec(), p in params(), seed in any::<u64>()) {
        let h = build(&spec);
        let mut permuted = h.clone();
        // a deterministic shuffle from the seed
        let mut x = seed | 1;
        for i in (1..permuted.members.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            permuted.members.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let a = assess(&h, &p);
        let b = assess(&permuted, &p);
        prop_assert_eq!(outcomes(&a), outcomes(&b));
        let key = |a: &Assessment| {
            let mut v: Vec<_> = a.claims.iter().map(|c| (c.claim.clone(), c.layers.clone(), c.out_of_pocket, c.out_of_pocket_parts.clone())).collect();
            v.sort();
            v
        };
        prop_assert_eq!(key(&a), key(&b));
    }
}

// ---------------------------------------------------------------- households at the caps

/// A household of `members` members with `claims` claims in all (spread
/// over the members), money from a xorshift of `seed`; claim money is
/// realistic (`wide` false) or over the whole `Decimal` range.
fn big_spec(members: usize, claims: usize, seed: u64, wide: bool) -> (HouseholdSpec, Vec<(Decimal, Decimal)>) {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut ms: Vec<MemberSpec> = (0..members)
        .map(|i| MemberSpec { insured: i % 10 != 3, labour: ["full", "partial_loss", "complete_loss", "age"][i % 4], claims: Vec::new() })
        .collect();
    let mut money = Vec::with_capacity(claims);
    for k in 0..claims {
        let r = next();
        let total = Decimal::new((r % 40_000_000) as i64, 2);
        let share = Decimal::new((r >> 32) as i64 % 101, 2);
        if wide {
            let m = |r: u64| match r % 4 {
                0 => Decimal::from_i128_with_scale(((r as u128) << 32 | (r >> 7) as u128) as i128 % (1i128 << 96), (r % 29) as u32),
                1 => Decimal::MAX - Decimal::from(r % 1000),
                _ => Decimal::new((r % 40_000_000) as i64, 2),
            };
            money.push((m(next()), m(next())));
        }
        ms[k % members].claims.push(ClaimSpec {
            month: 1 + (r % 12) as u32,
            day: 1 + ((r >> 8) % 28) as u32,
            year: if r % 5 == 0 { 2017 } else { 2018 },
            inpatient: r % 7 != 0,
            designated: r % 9 != 0,
            total,
            in_policy_share: share,
        });
    }
    (HouseholdSpec { status: "registered", hukou: "rural", income: Decimal::from(2000), members: ms }, money)
}

/// Every claim of `a` settles exactly: layers + out-of-pocket = total, none negative.
fn assert_conserved(a: &Assessment) {
    for c in &a.claims {
        let parts = parts(c);
        assert_eq!(exact_sum(&parts), exact_sum(&[c.total_cost]), "{c:?}");
        for v in parts.iter().chain([&layer(c, "deductible")]) {
            assert!(*v >= Decimal::ZERO, "negative layer: {c:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Thousands of members and claims: every claim is settled and conserved
    /// exactly (realistic money), or settles exactly or fails with a typed
    /// error (money over the whole `Decimal` range).
    #[test]
    fn thousands_of_members_and_claims_conserve_exactly(
        members in prop_oneof![1usize..50, 50usize..3_000],
        claims in prop_oneof![0usize..100, 100usize..6_000],
        seed in any::<u64>(),
        wide in any::<bool>(),
        p in params(),
    ) {
        let (spec, money) = big_spec(members, claims, seed, wide);
        let mut h = build(&spec);
        prop_assert_eq!(h.members.len(), members);
        let mut s = scratch(&p);
        if !wide {
            let a = engine().assess_with(&h, as_of(), &mut s).unwrap_or_else(|e| panic!("{}", e.render(&engine().program().sources)));
            prop_assert_eq!(a.claims.len(), claims);
            assert_conserved(&a);
            return Ok(());
        }
        let mut k = 0;
        for m in h.members.iter_mut() {
            for c in m.claims.iter_mut() {
                let (total, in_policy) = money[k];
                k += 1;
                c.total_cost = total.max(in_policy);
                c.in_policy_cost = total.min(in_policy);
            }
        }
        match engine().assess_with(&h, as_of(), &mut s) {
            Ok(a) => {
                prop_assert_eq!(a.claims.len(), claims);
                assert_conserved(&a);
            }
            Err(e) => {
                // a typed error that says which claim or expression
                let msg = e.render(&engine().program().sources);
                prop_assert!(!msg.is_empty());
            }
        }
    }
}

/// At the caps (10,000 members, 100,000 claims) a household is assessed, in
/// time linear in its claims, and every claim conserved exactly; one member
/// or one claim past a cap is a typed error from `assess` naming the cap and
/// the JSON path, for a household built in code.
#[test]
fn households_at_the_caps_assess_and_one_past_is_a_typed_error() {
    use fupin::model::{MAX_CLAIMS, MAX_MEMBERS};
    let p = Params {
        basic_deductible: Decimal::from(500),
        basic_rate: Decimal::new(75, 2),
        basic_annual_cap: Decimal::from(150_000),
        major_illness_deductible: Decimal::from(15_000),
        major_illness_rate: Decimal::new(60, 2),
        assistance_annual_limit: Decimal::from(50_000),
        assistance_rate: Decimal::new(70, 2),
    };
    // both caps at once: 10,000 members with ten claims each
    let (spec, _) = big_spec(MAX_MEMBERS, MAX_CLAIMS, 0x5eed, false);
    let h = build(&spec);
    let t = std::time::Instant::now();
    let a = assess(&h, &p);
    let took = t.elapsed();
    assert_eq!((a.claims.len(), h.members.len()), (MAX_CLAIMS, MAX_MEMBERS));
    assert_conserved(&a);
    assert!(a.claims.iter().any(|c| layer(c, "basic") > Decimal::ZERO), "the cascade pays something");
    // linear in the claims: 100,000 took 90 s when the reasons were gathered per claim over all claims
    assert!(took < std::time::Duration::from_secs(30), "100,000 claims took {took:?}");

    // one member past the cap
    let mut more = h.clone();
    let mut extra = more.members[0].clone();
    extra.id = "extra".into();
    extra.claims.clear();
    more.members.push(extra);
    let err = engine().assess_with(&more, as_of(), &mut scratch(&p)).expect_err("too many members");
    assert_eq!(err.to_string(), format!("invalid household: members: too many members: {} (the limit is {MAX_MEMBERS})", MAX_MEMBERS + 1));

    // one claim past the cap
    let mut more = h;
    let mut c = more.members[0].claims[0].clone();
    c.id = Some("extra".into());
    more.members[0].claims.push(c);
    let err = engine().assess_with(&more, as_of(), &mut scratch(&p)).expect_err("too many claims");
    let msg = err.to_string();
    assert!(msg.contains(&format!("too many medical claims: {} in the household (the limit is {MAX_CLAIMS}", MAX_CLAIMS + 1)), "{msg}");
    assert!(msg.starts_with("invalid household: members["), "{msg}");
}

// ---------------------------------------------------------------- print/parse of whole files

fn sp() -> Span {
    Span::default()
}

fn id(name: &str) -> Ident {
    Ident { name: name.to_string(), span: sp() }
}

fn s(v: &str) -> StrLit {
    StrLit { value: v.to_string(), span: sp() }
}

fn dotted(parts: &[&str]) -> DottedName {
    DottedName { parts: parts.iter().map(|p| id(p)).collect(), span: sp() }
}

fn ex(kind: ExprKind) -> Expr {
    Expr { kind: Box::new(kind), span: sp() }
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["x", "收入", "dibao_standard", "_t", "as_of", "previous", "household", "m", "a1", "标准_2"])
        .prop_map(String::from)
}

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "石发〔2016〕4号 二(六)",
        "a \"quoted\" word",
        "back\\slash",
        "two\nlines",
        "{ braces }",
        "// not a comment",
    ])
    .prop_map(String::from)
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1000i32..=9999, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("date"))
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (0i64..1_000_000, 0u32..4).prop_map(|(n, sc)| ex(ExprKind::Number(Decimal::new(n, sc)))),
        (0i64..10_000, 2u32..5).prop_map(|(n, sc)| ex(ExprKind::Percent(Decimal::new(n, sc)))),
        date().prop_map(|d| ex(ExprKind::Date(d))),
        text().prop_map(|t| ex(ExprKind::Str(t))),
        any::<bool>().prop_map(|b| ex(ExprKind::Bool(b))),
        prop::collection::vec(name(), 1..4).prop_map(|p| ex(ExprKind::Path(p.iter().map(|n| id(n)).collect()))),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec![BinOp::Or, BinOp::And, BinOp::Eq, BinOp::Lt, BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| ex(ExprKind::Binary(op, a, b))),
            (prop::sample::select(vec![UnOp::Neg, UnOp::Not]), inner.clone()).prop_map(|(op, a)| ex(ExprKind::Unary(op, a))),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| ex(ExprKind::If(c, a, b))),
            (prop::sample::select(vec!["min", "max", "age", "f"]), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(f, args)| ex(ExprKind::Call(id(f), args))),
            (inner.clone(), prop::collection::vec(inner.clone(), 0..3)).prop_map(|(a, l)| ex(ExprKind::In(a, l))),
            (
                inner.clone(),
                prop::sample::select(vec![RoundUnit::Fen, RoundUnit::Yuan]),
                prop::sample::select(vec![RoundMode::HalfUp, RoundMode::Down])
            )
                .prop_map(|(a, u, m)| ex(ExprKind::Round(a, u, m))),
            (inner.clone(), prop::option::of(inner.clone()), inner.clone()).prop_map(|(c, f, b)| ex(ExprKind::Aggregate {
                kind: AggKind::Sum,
                var: id("v"),
                collection: c,
                filter: f,
                body: b
            })),
            (inner.clone(), prop::collection::vec((inner.clone(), inner.clone()), 1..3)).prop_map(|(s, arms)| ex(ExprKind::Case {
                scrutinee: s,
                arms,
                default: None
            })),
        ]
    })
}

fn header() -> impl Strategy<Value = PolicyHeader> {
    (text(), text(), date(), date(), prop::option::of(date()), any::<bool>()).prop_map(|(t, doc, issued, from, to, overlay)| {
        let mut fields = vec![
            HeaderField::Title(s(&t)),
            HeaderField::Document(s(&doc)),
            HeaderField::Issued(DateLit { value: issued, span: sp() }),
            HeaderField::Region(s("130131")),
            HeaderField::InForce(DateLit { value: from, span: sp() }, to.map(|d| DateLit { value: d, span: sp() })),
            HeaderField::Version(s("2016.1")),
            HeaderField::Extends(dotted(&["cn", "hebei"])),
        ];
        if overlay {
            fields.push(HeaderField::Overlay(sp()));
        }
        PolicyHeader { id: dotted(&["cn", "hebei", "石家庄"]), fields, span: sp() }
    })
}

fn item() -> impl Strategy<Value = Item> {
    let ty = prop::sample::select(vec![
        TypeExpr::Yuan,
        TypeExpr::YuanPerYear,
        TypeExpr::YuanPerMonth,
        TypeExpr::Rate,
        TypeExpr::Int,
        TypeExpr::Bool,
        TypeExpr::Date,
        TypeExpr::Text,
        TypeExpr::Days,
        TypeExpr::Decimal,
    ]);
    prop_oneof![
        (any::<bool>(), name(), ty.clone(), date(), expr(), prop::option::of(text()), expr(), any::<bool>()).prop_map(
            |(ov, n, t, d, v, cite, f, required)| {
                let mut entries = vec![ParamEntry::Title(s("标题")), ParamEntry::Cite(s("c"))];
                if required {
                    entries.push(ParamEntry::Required(sp()));
                }
                entries.push(ParamEntry::From {
                    date: DateLit { value: d, span: sp() },
                    value: v.clone(),
                    cite: cite.map(|c| s(&c)),
                    span: sp(),
                });
                entries.push(ParamEntry::Always { value: v, cite: None, span: sp() });
                entries.push(ParamEntry::Floor(f.clone()));
                entries.push(ParamEntry::Cap(f));
                Item::Param(ParamDecl {
                    is_override: ov,
                    name: id(&n),
                    ty: (!ov).then_some(TypeAnn { ty: t, span: sp() }),
                    entries,
                    span: sp(),
                })
            }
        ),
        (name(), prop::option::of(ty.clone()), expr()).prop_map(|(n, t, v)| Item::Let(LetDecl {
            name: id(&n),
            ty: t.map(|ty| TypeAnn { ty, span: sp() }),
            value: v,
            span: sp()
        })),
        (name(), any::<bool>()).prop_map(|(n, hh)| Item::Tally(TallyDecl {
            name: id(&n),
            ty: TypeAnn { ty: TypeExpr::Yuan, span: sp() },
            scope: if hh { TallyScope::HouseholdYear } else { TallyScope::MemberYear },
            span: sp()
        })),
        (text(), 0..5u8).prop_map(|(t, u)| Item::Program(ProgramDecl {
            id: dotted(&["county", "bonus"]),
            title: s(&t),
            unit: match u {
                0 => None,
                1 => Some(None),
                2 => Some(Some(TypeAnn { ty: TypeExpr::Yuan, span: sp() })),
                3 => Some(Some(TypeAnn { ty: TypeExpr::YuanPerYear, span: sp() })),
                _ => Some(Some(TypeAnn { ty: TypeExpr::YuanPerMonth, span: sp() })),
            },
            span: sp()
        })),
        (prop::collection::vec(text(), 0..3), prop::collection::vec(text(), 0..2)).prop_map(|(c, n)| Item::Indicator(IndicatorDecl {
            id: id("SJZ-15"),
            title: s("村"),
            cites: c.iter().map(|x| s(x)).collect(),
            notes: n.iter().map(|x| s(x)).collect(),
            span: sp()
        })),
        (
            prop::sample::select(vec![0usize, 1, 2, 3]),
            prop::option::of(expr()),
            expr(),
            expr(),
            prop::collection::vec(prop::sample::select(vec![0usize, 1, 2, 3, 4, 5]), 0..4),
            any::<bool>(),
        )
            .prop_map(|(subj, when, v, w, outs, exc)| {
                let subject = match subj {
                    0 => Subject::Household,
                    1 => Subject::Member(id("m")),
                    2 => Subject::Claim(id("c")),
                    _ => Subject::Loan(id("l")),
                };
                let mut entries = vec![RuleEntry::Cite(s("石发〔2016〕4号")), RuleEntry::Subject(subject, sp()), RuleEntry::Note(s("n"))];
                if exc {
                    entries.push(RuleEntry::ExceptionTo(vec![id("SJZ-1"), id("R-2")]));
                }
                entries.push(RuleEntry::Let(id("gap"), v.clone()));
                if let Some(c) = when {
                    entries.push(RuleEntry::When(c));
                }
                let outcomes = outs
                    .into_iter()
                    .map(|k| match k {
                        0 => Outcome::Eligible(dotted(&["dibao"])),
                        1 => Outcome::Amount(dotted(&["medical", "basic"]), v.clone()),
                        2 => Outcome::Flag(dotted(&["housing", "safety_inspection"])),
                        3 => Outcome::Assign(dotted(&["route"]), id("relocation")),
                        4 => Outcome::Pay(id("basic"), w.clone()),
                        _ => Outcome::AddTally(id("basic_paid"), w.clone()),
                    })
                    .collect();
                Item::Rule(Rule { id: id("SJZ-MED-1"), title: s("标题"), entries, outcomes, span: sp() })
            }),
        (date(), expr(), -1_000_000i64..1_000_000, any::<bool>(), text(), 0u32..5).prop_map(|(d, e, n, b, t, ci)| Item::Test(Test {
            name: s("平山县 test"),
            entries: vec![
                TestEntry::HouseholdFile(s("../examples/households/pingshan-dibao.json")),
                TestEntry::HouseholdInline(s("{ \"id\": \"h\", \"members\": [ { \"id\": \"m}\" } ] }")),
                TestEntry::AsOf(DateLit { value: d, span: sp() }),
                TestEntry::Set(id("inpatient_assistance_limit"), e),
                TestEntry::Expect(Expectation {
                    path: ExpectPath::Program(dotted(&["dibao"]), id("amount")),
                    value: ExpectValue::Number(Decimal::new(n, 2)),
                    span: sp()
                }),
                TestEntry::Expect(Expectation {
                    path: ExpectPath::Program(dotted(&["medical", "basic"]), id("eligible")),
                    value: ExpectValue::Bool(b),
                    span: sp()
                }),
                TestEntry::Expect(Expectation {
                    path: ExpectPath::Program(dotted(&["route"]), id("value")),
                    value: ExpectValue::Text(t),
                    span: sp()
                }),
                TestEntry::Expect(Expectation {
                    path: ExpectPath::Program(dotted(&["route"]), id("value")),
                    value: ExpectValue::Null,
                    span: sp()
                }),
                TestEntry::Expect(Expectation {
                    path: ExpectPath::Program(dotted(&["dibao"]), id("reasons")),
                    value: ExpectValue::Contains(id("SJZ-1")),
                    span: sp()
                }),
                TestEntry::Expect(Expectation {
                    path: ExpectPath::Program(dotted(&["tekun"]), id("reasons")),
                    value: ExpectValue::Lacks(id("SJZ-1")),
                    span: sp()
                }),
                TestEntry::Expect(Expectation {
                    path: ExpectPath::Claim(ci, id("assistance")),
                    value: ExpectValue::Number(Decimal::new(123_456, 2)),
                    span: sp()
                }),
                TestEntry::ExpectError(s("inpatient_assistance_limit")),
            ],
            span: sp()
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn whole_files_print_and_parse_back(header in prop::option::of(header()), items in prop::collection::vec(item(), 0..6)) {
        let file = File { header, items };
        let printed = fupin::syntax::print(&file);
        let back = fupin::syntax::parse(&printed);
        prop_assert!(back.is_ok(), "{}\n{:?}", printed, back.err());
        prop_assert_eq!(back.unwrap(), file, "{}", printed);
    }
}

/// The generators reach the cascade: a typical case pays every layer.
#[test]
fn the_generated_cascade_pays_something() {
    let spec = HouseholdSpec {
        status: "registered",
        hukou: "rural",
        income: Decimal::from(2000),
        members: vec![MemberSpec {
            insured: true,
            labour: "full",
            claims: vec![ClaimSpec {
                month: 3,
                day: 1,
                year: 2018,
                inpatient: true,
                designated: true,
                total: Decimal::from(100_000),
                in_policy_share: Decimal::new(80, 2),
            }],
        }],
    };
    let p = Params {
        basic_deductible: Decimal::from(500),
        basic_rate: Decimal::new(75, 2),
        basic_annual_cap: Decimal::from(150_000),
        major_illness_deductible: Decimal::from(15_000),
        major_illness_rate: Decimal::new(60, 2),
        assistance_annual_limit: Decimal::from(50_000),
        assistance_rate: Decimal::new(70, 2),
    };
    let a = assess(&build(&spec), &p);
    let c = &a.claims[0];
    // in-policy 80,000: basic (80,000 − 500) × 75% = 59,625; burden 20,375,
    // 大病 deductible 15,000 × 50% = 7,500: (20,375 − 7,500) × 60% = 7,725;
    // assistance (80,000 − 59,625 − 7,725) × 70% = 8,855.
    assert_eq!(layer(c, "basic"), Decimal::from(59_625));
    assert_eq!(layer(c, "major_illness"), Decimal::from(7_725));
    assert_eq!(layer(c, "assistance"), Decimal::from(8_855));
    assert_eq!(c.out_of_pocket, Some(Decimal::from(100_000 - 59_625 - 7_725 - 8_855)));
}

// ---------------------------------------------------------------- conversions

const CONVERSIONS: &str = r#"
policy test.conversion_props {
  title "conversion properties"
  region 991400
  in_force 2016-01-01 ..
  version "1"
  extends cn
}
fact household.x: decimal { title "a number" cite "test" }
fact household.cost: yuan { title "an in-list cost" cite "test" }
fact household.paid: yuan { title "paid so far" cite "test" }
program test.int_half_up "int(x, half_up)": yuan
program test.int_up "int(x, up)": yuan
program test.int_down "int(x, down)": yuan
program test.top_up "(90% - rate(paid / cost)) of cost": yuan
param one_yuan: yuan { cite "test" always: 1 }
rule CP-1 "int half_up" { cite "test" for household then amount test.int_half_up = one_yuan * int(household.x, half_up) }
rule CP-2 "int up" { cite "test" for household then amount test.int_up = one_yuan * int(household.x, up) }
rule CP-3 "int down" { cite "test" for household then amount test.int_down = one_yuan * int(household.x, down) }
rule CP-4 "top-up" {
  cite "test"
  for household
  when household.cost > 0
  then amount test.top_up = round(max(90% - rate(household.paid / household.cost), 0%) * household.cost, fen, half_up)
}
"#;

fn conversions_engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        Engine::builder().embedded().source("conversions.policy", CONVERSIONS).build().unwrap_or_else(|d| panic!("{}", d.render()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `int(x, MODE)` is the exact value rounded by the mode, for any
    /// decimal with up to 6 places; `(90% − rate(paid / cost)) × cost` is
    /// 90% of the cost less what was paid, exactly, though `paid / cost`
    /// has no exact decimal.
    #[test]
    fn int_rounds_by_its_mode_and_a_rate_of_a_quotient_is_exact(
        mantissa in -10_000_000_000i64..10_000_000_000,
        scale in 0u32..7,
        cost_fen in 1i64..100_000_000,
        paid_share in 0i64..=1000,
    ) {
        use rust_decimal::RoundingStrategy::*;
        let x = Decimal::new(mantissa, scale);
        let cost = Decimal::new(cost_fen, 2);
        let paid = (cost * Decimal::new(paid_share, 3)).round_dp(2);
        let h = serde_json::json!({
            "id": "cp", "region": "991401", "hukou": "rural", "income": "0",
            "facts": { "x": x.to_string(), "cost": cost.to_string(), "paid": paid.to_string() },
            "members": [ {"id": "h", "birth_date": "1980-01-01", "sex": "male", "relation": "head"} ]
        });
        let h = fupin::model::parse_household(&h.to_string(), Some(as_of())).expect("household");
        let a = conversions_engine().assess(&h, as_of()).expect("assess");
        let amount = |p: &str| a.programs[p].amount.unwrap_or_else(|| panic!("{p} has an amount"));
        prop_assert_eq!(amount("test.int_half_up"), x.round_dp_with_strategy(0, MidpointAwayFromZero));
        prop_assert_eq!(amount("test.int_up"), x.round_dp_with_strategy(0, AwayFromZero));
        prop_assert_eq!(amount("test.int_down"), x.round_dp_with_strategy(0, ToZero));
        let want = (cost * Decimal::new(9, 1) - paid).max(Decimal::ZERO).round_dp_with_strategy(2, MidpointAwayFromZero);
        prop_assert_eq!(amount("test.top_up"), want);
    }
}
