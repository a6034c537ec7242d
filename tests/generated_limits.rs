//! Generated programs at the documented limits (proptest), each checked
//! against a model computed here from the generated shape:
//! - chains of named values and parameters up to 9,990 long, declared in any
//!   order, as chains, diamonds or cycles, built and assessed on a 2 MiB
//!   thread: a chain or diamond evaluates to the value the model computes
//!   (or stops with the step budget), a cycle is a checker error naming it;
//! - two rules for one amount with `in` lists of thousands of literals
//!   (written `5`, `5.0` or `5.00`): the conflict check says exclusive exactly
//!   when the sets are disjoint, and the assessment pays the rule whose list
//!   holds the household's value, or fails with a conflict when both do;
//! - hundreds to thousands of rules for one amount (exclusive constants, an
//!   exception chain, or overlapping thresholds): the checker's answer and
//!   the amount paid (or the conflict) agree with the model.

use fupin::{Engine, EvalError};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::fmt::Write as _;

const HEADER: &str = "policy t.gen {\n  title \"generated\"\n  region 000000\n  in_force 2016-01-01 ..\n  version \"1\"\n}\n";

/// Runs `f` on a thread with a 2 MiB stack (the batch workers' size).
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let h = std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap_or_else(|e| panic!("{e}"));
    h.join().unwrap_or_else(|_| panic!("the thread panicked"))
}

fn household(forest_mu: Decimal) -> fupin::Household {
    let json = format!(
        r#"{{ "id": "h", "region": "130131", "income": 1000, "forest_mu": "{forest_mu}",
             "members": [ {{ "id": "m0", "birth_date": "1970-01-01", "sex": "female", "labour": "full" }} ] }}"#
    );
    fupin::model::parse_household(&json, None).unwrap_or_else(|e| panic!("{e}"))
}

fn as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2018, 6, 1).unwrap_or_default()
}

/// What an assessment of `temporary_assistance` came to.
#[derive(Debug, PartialEq)]
enum Paid {
    Nothing,
    Amount(Decimal),
    Conflict(String, String),
}

fn paid(e: &Engine, forest_mu: Decimal) -> Paid {
    match e.assess(&household(forest_mu), as_of()) {
        Ok(a) => match a.programs.get("temporary_assistance").and_then(|p| p.amount) {
            Some(x) => Paid::Amount(x),
            None => Paid::Nothing,
        },
        Err(EvalError::Conflict { rule_a, rule_b, .. }) => {
            let (a, b) = if rule_a <= rule_b { (rule_a, rule_b) } else { (rule_b, rule_a) };
            Paid::Conflict(a, b)
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

fn conflict(a: &str, b: &str) -> Paid {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    Paid::Conflict(a.to_string(), b.to_string())
}

// ---------------------------------------------------------------- chains

#[derive(Debug, Clone, Copy)]
enum Kind {
    Lets,
    Params,
    /// parameters first, then named values reading the last parameter
    Mixed,
}

#[derive(Debug, Clone)]
enum Shape {
    /// `a{i} = a{i-1} + 1`
    Chain,
    /// `a{i} = max(a{i-1}, a{j}) + 1` with `j` below `i - 1`
    Diamond(Vec<usize>),
    /// a chain whose first element reads the element at `back` (a cycle of `back + 1`)
    Cycle(usize),
}

#[derive(Debug, Clone)]
struct ChainCase {
    n: usize,
    kind: Kind,
    shape: Shape,
    /// declaration order: a permutation of `0..n`
    order: Vec<usize>,
}

fn chain_case() -> impl Strategy<Value = ChainCase> {
    let n = prop_oneof![2usize..50, 50usize..9_990, Just(9_990usize)];
    (n, prop::sample::select(vec![Kind::Lets, Kind::Params, Kind::Mixed]), 0u8..3, any::<u64>(), any::<u64>()).prop_map(
        |(n, kind, shape, seed, pick)| {
            let mut x = seed | 1;
            let mut next = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let shape = match shape {
                0 => Shape::Chain,
                1 => Shape::Diamond((0..n).map(|i| if i < 2 { 0 } else { (next() % (i as u64 - 1)) as usize }).collect()),
                _ => Shape::Cycle(1 + (pick % (n as u64 - 1)) as usize),
            };
            // mostly shuffled, sometimes in order or reversed
            let mut order: Vec<usize> = (0..n).collect();
            match seed % 4 {
                0 => {}
                1 => order.reverse(),
                _ => {
                    for i in (1..n).rev() {
                        order.swap(i, (next() % (i as u64 + 1)) as usize);
                    }
                }
            }
            ChainCase { n, kind, shape, order }
        },
    )
}

/// The policy text of a chain case and the value of its last element (`None` for a cycle).
fn chain_text(c: &ChainCase) -> (String, Option<usize>) {
    let split = match c.kind {
        Kind::Lets => 0,
        Kind::Params => c.n,
        Kind::Mixed => c.n / 2,
    };
    let body = |i: usize| -> String {
        match (&c.shape, i) {
            (Shape::Cycle(back), 0) => format!("a{back} + 1"),
            (_, 0) => "1".to_string(),
            (Shape::Diamond(js), i) if i >= 2 => format!("max(a{}, a{}) + 1", i - 1, js[i]),
            (_, i) => format!("a{} + 1", i - 1),
        }
    };
    let mut s = String::from(HEADER);
    for &i in &c.order {
        if i < split {
            let _ = writeln!(s, "param a{i}: decimal {{\n  cite \"t\"\n  always: {}\n}}", body(i));
        } else {
            let _ = writeln!(s, "let a{i} = {}", body(i));
        }
    }
    let last = c.n - 1;
    let _ =
        writeln!(s, "rule C \"c\" {{\n  cite \"t\"\n  for household\n  when a{last} == {}\n  then eligible temporary_assistance\n}}", c.n);
    (s, (!matches!(c.shape, Shape::Cycle(_))).then_some(c.n))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn generated_chains_build_and_evaluate_on_a_two_mib_stack(c in chain_case()) {
        let (text, value) = chain_text(&c);
        let cycle = match c.shape { Shape::Cycle(back) => Some(back), _ => None };
        let kind = c.kind;
        let split = match kind { Kind::Lets => 0, Kind::Params => c.n, Kind::Mixed => c.n / 2 };
        let outcome = on_small_stack(move || -> Result<Result<bool, String>, String> {
            let e = Engine::builder().source("chain.policy", text).build().map_err(|d| d.render())?;
            let h = household(Decimal::ZERO);
            Ok(match e.assess(&h, as_of()) {
                Ok(a) => Ok(a.programs.get("temporary_assistance").is_some_and(|p| p.eligible)),
                Err(err) => Err(err.to_string()),
            })
        });
        match (cycle, outcome) {
            (None, Ok(Ok(eligible))) => prop_assert!(eligible, "the last of {} values is not {:?}", c.n, value),
            // a diamond may do exponential work: the step budget stops it
            (None, Ok(Err(err))) => prop_assert!(
                matches!(c.shape, Shape::Diamond(_)) && err.contains("exceeded its budget"),
                "{}", err
            ),
            (None, Err(d)) => prop_assert!(false, "an acyclic chain failed to build:\n{}", d.lines().take(5).collect::<Vec<_>>().join("\n")),
            (Some(back), Err(d)) => {
                // a cycle of `back + 1` elements, named; a mixed cycle crosses
                // from a parameter to a value, which parameters cannot read
                let what = if back < split { "param" } else { "value" };
                if split == 0 || back < split {
                    prop_assert!(d.contains(&format!("error: cycle: {what} a")), "{}", d.lines().take(3).collect::<Vec<_>>().join("\n"));
                    let first = d.lines().next().unwrap_or_default();
                    prop_assert!(names_cycle_of(first, back + 1), "{}", &first[..first.len().min(300)]);
                } else {
                    prop_assert!(d.contains("error:"), "{}", d);
                }
            }
            (Some(_), Ok(r)) => prop_assert!(false, "a cycle built: {:?}", r),
        }
    }
}

// ---------------------------------------------------------------- long `in` lists

/// A literal spelled one of three ways (`7`, `7.0`, `7.00`): equal values.
fn spell(v: u32, how: u8) -> String {
    match how % 3 {
        0 => v.to_string(),
        1 => format!("{v}.0"),
        _ => format!("{v}.00"),
    }
}

fn amount_rule(s: &mut String, id: &str, extra: &str, when: &str, amount: &str) {
    let _ = write!(
        s,
        "rule {id} \"r\" {{\n  cite \"t\"\n  for household\n{extra}  when {when}\n  then amount temporary_assistance = {amount}\n}}\n"
    );
}

fn list(values: &[u32], seed: u64) -> String {
    values.iter().enumerate().map(|(i, v)| spell(*v, (seed >> (i % 60)) as u8)).collect::<Vec<_>>().join(", ")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn two_long_in_lists_are_exclusive_exactly_when_disjoint(
        a in prop::collection::hash_set(0u32..20_000, 1..5_000),
        b in prop::collection::hash_set(0u32..20_000, 1..5_000),
        disjoint in any::<bool>(),
        same in prop::bool::weighted(0.1),
        seed in any::<u64>(),
        probes in prop::collection::vec(0u32..20_000, 4),
    ) {
        let a: Vec<u32> = a.into_iter().collect();
        let mut b: Vec<u32> = if same { a.clone() } else { b.into_iter().collect() };
        if disjoint && !same {
            let sa: HashSet<u32> = a.iter().copied().collect();
            b.retain(|v| !sa.contains(v));
            if b.is_empty() {
                b.push(20_000);
            }
        }
        let (sa, sb): (HashSet<u32>, HashSet<u32>) = (a.iter().copied().collect(), b.iter().copied().collect());
        let mut s = String::from(HEADER);
        amount_rule(&mut s, "A", "", &format!("household.forest_mu in [{}]", list(&a, seed)), "1");
        amount_rule(&mut s, "B", "", &format!("household.forest_mu in [{}]", list(&b, seed.rotate_left(7))), "2");
        let built = Engine::builder().source("lists.policy", s).build();
        let overlap = !sa.is_disjoint(&sb);
        let e = match (overlap, a == b, built) {
            (false, _, Ok(e)) => {
                prop_assert!(e.warnings().render().is_empty(), "{}", e.warnings().render());
                e
            }
            (true, false, Ok(e)) => {
                let w = e.warnings().render();
                prop_assert!(w.contains("rules `A` and `B` may both define amount temporary_assistance"), "{}", w);
                e
            }
            (true, true, Err(d)) => {
                let d = d.render();
                prop_assert!(
                    d.contains("rules `A` and `B` can both define amount temporary_assistance")
                        || d.contains("rules `B` and `A` can both define amount temporary_assistance"),
                    "{}", d
                );
                return Ok(());
            }
            (overlap, same, r) => {
                let msg = match r { Ok(e) => e.warnings().render(), Err(d) => d.render() };
                return Err(TestCaseError::fail(format!("overlap {overlap}, same list {same}: {msg}")));
            }
        };
        // probes: some values of each list, some random
        let mut xs = probes;
        xs.extend(a.iter().take(2).chain(b.iter().take(2)).copied());
        for x in xs {
            let expected = match (sa.contains(&x), sb.contains(&x)) {
                (false, false) => Paid::Nothing,
                (true, false) => Paid::Amount(Decimal::ONE),
                (false, true) => Paid::Amount(Decimal::TWO),
                (true, true) => conflict("A", "B"),
            };
            prop_assert_eq!(paid(&e, Decimal::from(x)), expected, "forest_mu {}", x);
        }
    }
}

// ---------------------------------------------------------------- many rules for one amount

#[derive(Debug, Clone)]
enum Many {
    /// `forest_mu == c[i]`; a repeated constant is a checker error
    Constants(Vec<u32>),
    /// `forest_mu > t[i]`, each rule an exception to the one before
    ExceptionChain(Vec<u32>),
    /// `forest_mu > t[i]` (distinct), no precedence
    Overlapping(Vec<u32>),
}

fn many() -> impl Strategy<Value = Many> {
    prop_oneof![
        (prop::collection::vec(0u32..1_000_000, 100..3_000), prop::option::weighted(0.3, any::<prop::sample::Index>())).prop_map(
            |(mut c, dup)| {
                let mut seen = HashSet::new();
                c.retain(|v| seen.insert(*v));
                if let Some(ix) = dup {
                    let v = c[ix.index(c.len())];
                    c.push(v);
                }
                Many::Constants(c)
            }
        ),
        prop::collection::vec(0u32..1_000_000, 100..3_000).prop_map(Many::ExceptionChain),
        prop::collection::hash_set(0u32..1_000_000, 2..300).prop_map(|t| Many::Overlapping(t.into_iter().collect())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn many_rules_for_one_amount_agree_with_the_model(m in many(), probes in prop::collection::vec(0u32..1_000_001, 6)) {
        let mut s = String::from(HEADER);
        let (values, cmp) = match &m {
            Many::Constants(c) => (c, "=="),
            Many::ExceptionChain(t) | Many::Overlapping(t) => (t, ">"),
        };
        for (i, v) in values.iter().enumerate() {
            let extra = match (&m, i) {
                (Many::ExceptionChain(_), i) if i > 0 => format!("  exception to R-{}\n", i - 1),
                _ => String::new(),
            };
            amount_rule(&mut s, &format!("R-{i}"), &extra, &format!("household.forest_mu {cmp} {v}"), &(i + 1).to_string());
        }
        let built = Engine::builder().source("many.policy", s).build();
        let e = match (&m, built) {
            (Many::Constants(c), Err(d)) => {
                // only a repeated constant is an error, and it names both rules
                let last = c.len() - 1;
                let first = c.iter().position(|v| *v == c[last]).unwrap_or(last);
                prop_assert!(first < last, "distinct constants rejected: {}", d.render());
                let d = d.render();
                prop_assert!(
                    d.contains(&format!("rules `R-{first}` and `R-{last}` can both define"))
                        || d.contains(&format!("rules `R-{last}` and `R-{first}` can both define")),
                    "{}", d
                );
                return Ok(());
            }
            (Many::Overlapping(_), Ok(e)) => {
                let w = e.warnings().render();
                prop_assert!(w.contains("may both define amount temporary_assistance"), "{}", w);
                e
            }
            (_, Ok(e)) => {
                if let Many::Constants(c) = &m {
                    let distinct: HashSet<&u32> = c.iter().collect();
                    prop_assert_eq!(distinct.len(), c.len(), "a repeated constant was accepted");
                }
                prop_assert!(e.warnings().render().is_empty(), "{}", e.warnings().render());
                e
            }
            (_, Err(d)) => return Err(TestCaseError::fail(d.render())),
        };
        let mut xs = probes;
        xs.extend(values.iter().take(3).copied());
        xs.extend(values.iter().take(3).map(|v| v + 1));
        for x in xs {
            let firing: Vec<usize> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| if cmp == "==" { x == **v } else { x > **v })
                .map(|(i, _)| i)
                .collect();
            let expected = match (&m, firing.as_slice()) {
                (_, []) => Paid::Nothing,
                (_, [i]) => Paid::Amount(Decimal::from(i + 1)),
                // the last rule of the chain that applies beats every earlier one
                (Many::ExceptionChain(_), many) => Paid::Amount(Decimal::from(many[many.len() - 1] + 1)),
                (_, many) => {
                    let got = paid(&e, Decimal::from(x));
                    // some two of the applicable rules are named
                    let Paid::Conflict(a, b) = &got else { return Err(TestCaseError::fail(format!("{x}: {got:?}, {} rules apply", many.len()))) };
                    let ids: HashSet<String> = many.iter().map(|i| format!("R-{i}")).collect();
                    prop_assert!(ids.contains(a) && ids.contains(b) && a != b, "{:?}", got);
                    continue;
                }
            };
            prop_assert_eq!(paid(&e, Decimal::from(x)), expected, "forest_mu {}", x);
        }
    }
}

// ---------------------------------------------------------------- just past the item limit

#[test]
fn a_chain_one_past_the_item_limit_is_a_clear_error() {
    let n = fupin::syntax::limits::MAX_ITEMS;
    let c = ChainCase { n, kind: Kind::Lets, shape: Shape::Chain, order: (0..n).collect() };
    let (text, _) = chain_text(&c);
    let d = on_small_stack(move || Engine::builder().source("chain.policy", text).build().err().map(|d| d.render()));
    let d = d.unwrap_or_default();
    assert!(d.contains(&format!("too many items in one file: the limit is {n}")), "{d}");
}

/// Whether a cycle message names a cycle of `n` elements: all of them when
/// it is short, the first few, the last and the count when it is long.
fn names_cycle_of(first: &str, n: usize) -> bool {
    if n <= 8 {
        first.matches('→').count() == n && !first.contains("in all)")
    } else {
        first.ends_with(&format!("({n} in all)")) && first.matches('→').count() == 7
    }
}

/// A cycle through every one of 9,990 named values or parameters (the
/// longest a file holds with its header and a rule) is a checker error naming
/// the cycle (bounded: the first five, the last and the count), on a 2 MiB stack.
#[test]
fn a_cycle_through_9990_values_or_parameters_is_named_on_a_two_mib_stack() {
    for kind in [Kind::Lets, Kind::Params] {
        let n = 9_990;
        let c = ChainCase { n, kind, shape: Shape::Cycle(n - 1), order: (0..n).rev().collect() };
        let (text, _) = chain_text(&c);
        let d = on_small_stack(move || Engine::builder().source("chain.policy", text).build().err().map(|d| d.render()));
        let d = d.unwrap_or_default();
        let first = d.lines().next().unwrap_or_default();
        let what = if matches!(kind, Kind::Lets) { "value" } else { "param" };
        assert!(first.starts_with(&format!("error: cycle: {what} a")), "{}", &first[..first.len().min(300)]);
        assert!(names_cycle_of(first, n), "{}", &first[..first.len().min(300)]);
    }
}
