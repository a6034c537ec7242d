//! A downstream service pins the policies it was validated against.
//!
//! It keeps a lockfile (here the crate's own `fupin.lock`; a downstream crate
//! keeps its copy, written by `fupin lock`) and builds its engine from
//! exactly those policy versions. If the shipped text of any pinned policy
//! changes, the build fails naming the policy and both hashes, instead of
//! silently assessing households under different rules.
//!
//! ```text
//! cargo run --example pinned
//! ```

use fupin::pin::{BuildError, Pin, PinError};
use fupin::{Engine, Lockfile};

fn main() {
    std::process::exit(match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    });
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The pins: every policy version in the lockfile.
    let lock = Lockfile::parse(include_str!("../fupin.lock"))?;
    for p in lock.pins() {
        println!("pinned {} {} {}", p.id, p.version, p.hash);
    }

    // 2. An engine from exactly those versions of the embedded policies.
    let engine = match Engine::builder().embedded().pinned(&lock).build() {
        Ok(e) => e,
        Err(BuildError::Pin(PinError::HashMismatch { id, version, expected, found, .. })) => {
            return Err(format!("{id} {version} drifted from its pin: expected {expected}, found {found}").into());
        }
        Err(e) => return Err(e.into_diagnostics().render().into()),
    };

    // 3. Assess: the assessment records the version and hash of every policy applied.
    let text = include_str!("households/pingshan-dibao.json");
    let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).ok_or("bad date")?;
    let household = fupin::model::parse_household(text, Some(as_of))?;
    let a = engine.assess(&household, as_of)?;
    for p in &a.policies {
        println!("applied {} {} {}", p.id, p.version, p.hash);
    }
    if let Some(d) = a.programs.get("dibao") {
        println!("dibao: eligible {}, {} {}", d.eligible, d.amount.unwrap_or_default(), d.unit.as_deref().unwrap_or(""));
    }

    // 4. A pin that does not match is refused.
    let wrong = Pin::new("cn.hebei.shijiazhuang", "2016.4", "sha256:0000");
    match Engine::builder().embedded().pin(lock.pins().iter().filter(|p| p.id != wrong.id).cloned()).pin([wrong]).build() {
        Err(e) => println!("as expected: {e}"),
        Ok(_) => return Err("a wrong pin was accepted".into()),
    }
    Ok(())
}
