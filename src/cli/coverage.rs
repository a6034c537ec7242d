//! `fupin coverage`: which catalogued rules the policy library encodes and tests.

use super::PolicyArgs;
use std::path::Path;

/// The shipped catalogue, embedded like the shipped policies.
pub(super) const CATALOGUE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/catalogue.tsv"));

/// Print the coverage table and summary. Exit 1 while any H/M/C/L/E id is
/// missing (or the catalogue has problems), 2 on bad arguments.
pub fn coverage(catalogue: Option<&Path>, json: bool, args: &PolicyArgs) -> i32 {
    let text = match catalogue {
        Some(p) => match fupin::policy::read_text_limited(p, fupin::policy::MAX_POLICY_FILE) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read the catalogue {e}");
                return 2;
            }
        },
        None => CATALOGUE.to_string(),
    };
    let Some(engine) = super::commands::engine(args) else { return 1 };
    let report = fupin::coverage::report(&engine, &text);
    let text = if json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => j + "\n",
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        }
    } else {
        report.render()
    };
    if let Err(code) = super::emit(&text) {
        return code;
    }
    let missing = report.missing_household_level().count();
    i32::from(missing > 0 || !report.problems.is_empty())
}
