//! With the trace off, evaluation allocates nothing once the scratch buffers
//! have grown: a counting allocator proves it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: delegates every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    COUNT.with(|c| c.get())
}

/// The example deployment overlay for 平山县 (the figures 石发〔2016〕4号 leaves to the deployer).
const OVERLAY: &str = include_str!("../examples/overlays/pingshan.policy");

#[test]
fn evaluation_allocates_nothing_with_the_trace_off() {
    let engine = fupin::Engine::builder().embedded().source("overlay.policy", OVERLAY).build().unwrap_or_else(|d| panic!("{}", d.render()));
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["examples/households/pingshan-dibao.json", "examples/households/pingshan-medical.json"] {
        let text = std::fs::read_to_string(root.join(file)).expect("example household");
        let h = fupin::model::parse_household(&text, Some(as_of)).expect("valid household");
        let mut s = engine.scratch();
        engine.evaluate(&h, as_of, &mut s).expect("evaluates");
        let before = allocations();
        for _ in 0..10 {
            engine.evaluate(&h, as_of, &mut s).expect("evaluates");
        }
        let n = allocations() - before;
        assert_eq!(n, 0, "{file}: {n} allocations in 10 evaluations");
        // and it did real work
        let dibao = engine.program_index("dibao").expect("dibao programme");
        assert!(s.programs()[dibao].any, "{file}: dibao should be assessed eligible");
    }
}

#[path = "../benches/workload/mod.rs"]
mod workload;

#[test]
fn the_reference_workload_allocates_nothing_with_the_trace_off() {
    let mut fupin = workload::fupin_impl::Workload::new().unwrap_or_else(|e| panic!("{e}"));
    let households: Vec<_> = workload::households(2000).iter().enumerate().map(|(i, h)| workload::to_household(h, i)).collect();
    // Grow the scratch to the largest household first.
    for h in &households {
        fupin.assess(h).expect("evaluates");
    }
    let before = allocations();
    let mut dibao = 0u32;
    let mut total = rust_decimal::Decimal::ZERO;
    for h in &households {
        let (d, oop) = fupin.assess(h).expect("evaluates");
        dibao += u32::from(d);
        total += oop;
    }
    let n = allocations() - before;
    assert_eq!(n, 0, "{n} allocations in {} evaluations of the reference workload", households.len());
    // and it did real work: the same figures as the hand-written version
    let (want_dibao, want_total) = workload::households(2000)
        .iter()
        .map(workload::handwritten::assess)
        .fold((0u32, rust_decimal::Decimal::ZERO), |(n, t), (d, o)| (n + u32::from(d), t + o));
    assert_eq!((dibao, total), (want_dibao, want_total));
}

/// Declared facts are bound to slots once per evaluation; that allocates
/// nothing either once the scratch has grown (texts included: a household
/// text no policy string equals is interned in the scratch).
#[test]
fn evaluation_with_declared_facts_allocates_nothing() {
    let engine = fupin::Engine::builder()
        .embedded()
        .source("facts.policy", include_str!("cases/lang/facts.policy"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let json = r#"{
      "id": "f1", "region": "990401", "hukou": "rural", "income": "0",
      "facts": { "demolition_agreed": true, "school_name": "另一所学校" },
      "members": [
        {"id": "a", "birth_date": "2002-03-01", "sex": "male",
         "facts": { "study_year": 2, "certificates": ["skills", "driving", "skills"] }},
        {"id": "b", "birth_date": "1999-01-01", "sex": "female", "facts": { "higher_level": "junior_college" },
         "claims": [ {"date": "2018-03-01", "kind": "outpatient", "hospital_level": "county",
                      "total_cost": "100", "in_policy_cost": "80", "facts": { "prior_paid": "12.50" }} ]}
      ]
    }"#;
    let h = engine.parse_household(json, Some(as_of)).unwrap_or_else(|e| panic!("{e}"));
    let mut s = engine.scratch();
    engine.evaluate(&h, as_of, &mut s).expect("evaluates");
    let before = allocations();
    for _ in 0..10 {
        engine.evaluate(&h, as_of, &mut s).expect("evaluates");
    }
    let n = allocations() - before;
    assert_eq!(n, 0, "{n} allocations in 10 evaluations");
    let grant = engine.program_index("test.vocational_grant").expect("programme");
    assert_eq!(s.programs()[grant].amount, Some(rust_decimal::Decimal::from(2000)), "the facts were read");
}

/// A call of a declared function evaluates its arguments into a fixed array
/// and binds them to the function's own frame region: no allocation either,
/// nested calls, exact results and the year-to-date band included.
#[test]
fn function_calls_allocate_nothing() {
    let engine = fupin::Engine::builder()
        .embedded()
        .source("functions.policy", include_str!("cases/lang/functions.policy"))
        .build()
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("date");
    let json = r#"{
      "id": "fn1", "region": "990801", "hukou": "rural", "income": "15000",
      "members": [
        {"id": "h", "birth_date": "1968-01-01", "sex": "male", "relation": "head"},
        {"id": "s", "birth_date": "1970-01-01", "sex": "female", "relation": "spouse"}
      ],
      "loans": [
        {"id": "l1", "kind": "microcredit", "principal": "36000", "start_date": "2018-01-01", "maturity_date": "2019-01-02", "rate": "0.0475"}
      ]
    }"#;
    let h = engine.parse_household(json, Some(as_of)).unwrap_or_else(|e| panic!("{e}"));
    let mut s = engine.scratch();
    engine.evaluate(&h, as_of, &mut s).expect("evaluates");
    let before = allocations();
    for _ in 0..10 {
        engine.evaluate(&h, as_of, &mut s).expect("evaluates");
    }
    let n = allocations() - before;
    assert_eq!(n, 0, "{n} allocations in 10 evaluations");
    let subsidy = engine.program_index("loan.interest_subsidy").expect("programme");
    // two years at 4.75%: 36,000 × 4.75% × 366 / 360
    assert_eq!(s.programs()[subsidy].amount, Some("1738.50".parse().expect("decimal")), "the functions ran");
}
