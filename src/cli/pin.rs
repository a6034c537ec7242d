//! `fupin lock` and `fupin diff`.

use fupin::pin::{Drift, Lockfile};
use fupin::policy::{self, Source};
use std::path::{Path, PathBuf};

/// The sources: `--policies DIR`, else the embedded policies.
fn sources(policies: Option<&Path>) -> Result<Vec<Source>, String> {
    match policies {
        Some(dir) => policy::read_path(dir).map_err(|e| e.to_string()),
        None => Ok(policy::embedded().iter().map(|(n, t)| Source { name: n.to_string(), text: t.to_string() }).collect()),
    }
}

pub fn lock(check: bool, policies: Option<&Path>, lockfile: Option<&Path>) -> i32 {
    let path: PathBuf = lockfile.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("fupin.lock"));
    let found = match sources(policies).and_then(|s| Lockfile::scan(&s).map_err(|e| e.to_string())) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if !check {
        let lock = match Lockfile::new(found.iter().map(|f| f.pin.clone())) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        if let Err(e) = std::fs::write(&path, lock.to_string()) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return 2;
        }
        eprintln!("wrote {}: {} policy version(s)", path.display(), lock.pins().len());
        return 0;
    }
    let lock = match Lockfile::load(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let drift = lock.check(&found);
    if drift.is_empty() {
        eprintln!("{}: {} policy version(s) match", path.display(), lock.pins().len());
        return 0;
    }
    for d in &drift {
        match d {
            Drift::Changed { .. } => {
                eprintln!("error: {d}");
                eprintln!("  help: a changed policy needs a new version; then run `fupin lock`");
            }
            Drift::Missing { .. } => eprintln!("error: {d}"),
            Drift::Unlocked { .. } => eprintln!("error: {d}"),
        }
    }
    eprintln!("error: {} is out of date ({} problem(s)); run `fupin lock` to rewrite it", path.display(), drift.len());
    1
}
