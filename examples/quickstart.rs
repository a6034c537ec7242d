//! Embedding fupin in a service: compile the policy set once, assess many
//! households from many threads.
//!
//! Run: `cargo run --release --example quickstart`

use chrono::NaiveDate;
use fupin::{Engine, Scratch};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Compile once: the shipped policies (embedded in the crate).
    let engine = Arc::new(Engine::embedded()?);

    // 2. Read a household (JSON; unknown fields and impossible values are rejected with their path).
    let as_of = NaiveDate::from_ymd_opt(2018, 6, 1).ok_or("bad date")?;
    let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/households/pingshan-dibao.json"))?;
    let household = fupin::model::parse_household(&json, Some(as_of))?;

    // 3. Assess: which programmes, how much, and why.
    let assessment = engine.assess(&household, as_of)?;
    let dibao = &assessment.programs["dibao"];
    println!("dibao eligible: {}, amount: {:?} {}", dibao.eligible, dibao.amount, dibao.unit.as_deref().unwrap_or(""));
    for r in &dibao.reasons {
        println!("  because {} ({}): {}", r.rule, r.citation, r.title);
    }

    // 4. Many households, many threads: share the engine, one Scratch per thread.
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let engine = Arc::clone(&engine);
            let household = household.clone();
            std::thread::spawn(move || -> Result<usize, Box<fupin::EvalError>> {
                let mut scratch: Scratch = engine.scratch();
                let mut eligible = 0;
                for _ in 0..1000 {
                    // the allocation-free core: no Assessment is built
                    engine.evaluate(&household, as_of, &mut scratch).map_err(Box::new)?;
                    let dibao = engine.program_index("dibao").unwrap_or(0);
                    eligible += usize::from(scratch.programs()[dibao].any);
                }
                Ok(eligible)
            })
        })
        .collect();
    for h in handles {
        let n = h.join().map_err(|_| "thread panicked")??;
        println!("thread assessed 1000 households, {n} eligible for dibao");
    }
    Ok(())
}
