//! Arbitrary rule text appended to a shipped policy, or standing alone as a
//! policy file next to the shipped library → `Engine::builder()…build()`.
//! Never panics; a build that succeeds assesses a sample household, whose
//! claims, if it assesses, are conserved exactly (the shared oracle).
#![no_main]

use libfuzzer_sys::fuzz_target;

const HEADER: &str = r#"policy fuzz.case {
  title "fuzz"
  region 130131
  in_force 2016-01-01 ..
  version "1"
  extends cn.hebei.shijiazhuang
}
"#;

const HOUSEHOLD: &str = include_str!("../../examples/households/pingshan-medical.json");

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let embedded = fupin::policy::embedded();
    let mut b = fupin::Engine::builder().source("deploy.policy", fupin_fuzz::OVERLAY);
    match mode % 3 {
        // appended to a shipped policy (replacing it)
        0 => {
            let target = (mode as usize / 3) % embedded.len();
            for (i, (name, t)) in embedded.iter().enumerate() {
                if i == target {
                    b = b.source(name.to_string(), format!("{t}\n{text}"));
                } else {
                    b = b.source(name.to_string(), t.to_string());
                }
            }
        }
        // a new policy under 石家庄 with its own header
        1 => {
            b = b.embedded().source("fuzz.policy", format!("{HEADER}{text}"));
        }
        // instead of a policy: the text alone (it may bring its own header)
        _ => {
            b = b.embedded().source("fuzz.policy", text.to_string());
        }
    }
    match b.build() {
        Ok(engine) => {
            let as_of = fupin_fuzz::as_of(mode);
            if let Ok(h) = fupin::model::parse_household(HOUSEHOLD, Some(as_of)) {
                let mut s = engine.scratch();
                s.budget = 200_000;
                if let Ok(a) = engine.assess_with(&h, as_of, &mut s) {
                    fupin_fuzz::assert_conserved(&a);
                }
            }
        }
        Err(d) => {
            let _ = d.render();
        }
    }
});
