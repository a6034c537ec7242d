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
    let mut found = match sources(policies).and_then(|s| Lockfile::scan(&s).map_err(|e| e.to_string())) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // a directory that extends the shipped library depends on the embedded
    // versions it extends: they are pinned with it
    let mut ancestors = Vec::new();
    if policies.is_some() {
        match Lockfile::scan(&fupin::pin::embedded_ancestors(&found)) {
            Ok(a) => ancestors = a,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
        found.extend(ancestors.iter().cloned());
    }
    let embedded_note = if ancestors.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = ancestors.iter().map(|a| format!("{} {}", a.pin.id, a.pin.version)).collect();
        format!(", {} of them embedded ancestors of the directory ({})", ancestors.len(), names.join(", "))
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
        eprintln!("wrote {}: {} policy version(s){embedded_note}", path.display(), lock.pins().len());
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
        eprintln!("{}: {} policy version(s) match{embedded_note}", path.display(), lock.pins().len());
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

/// A parsed policy file.
struct Parsed {
    name: String,
    file: fupin::syntax::ast::File,
}

impl Parsed {
    fn id(&self) -> Option<String> {
        self.file.header.as_ref().map(|h| h.id.joined())
    }
    fn sort_key(&self) -> (Option<chrono::NaiveDate>, String) {
        let mut from = None;
        let mut version = String::new();
        for f in self.file.header.iter().flat_map(|h| h.fields.iter()) {
            match f {
                fupin::syntax::ast::HeaderField::InForce(a, _) => from = Some(a.value),
                fupin::syntax::ast::HeaderField::Version(v) => version = v.value.clone(),
                _ => {}
            }
        }
        (from, version)
    }
}

fn parse_all(sources: Vec<Source>) -> Result<Vec<Parsed>, String> {
    let mut out = Vec::new();
    let mut errors = String::new();
    for s in sources {
        match fupin::syntax::parse(&s.text) {
            Ok(file) => out.push(Parsed { name: s.name, file }),
            Err(errs) => {
                let mut map = fupin::diagnostic::SourceMap::new();
                let id = map.add(s.name.clone(), s.text.as_str());
                for e in errs {
                    let d = fupin::diagnostic::Diagnostic::error(e.kind.to_string(), Some(fupin::diagnostic::loc(id, e.span)));
                    errors.push_str(&d.render(&map));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn read(path: &Path) -> Result<Vec<Parsed>, String> {
    parse_all(policy::read_path(path).map_err(|e| format!("error: {e}\n"))?)
}

pub fn diff(paths: &[PathBuf], policy_id: Option<&str>, json: bool) -> i32 {
    let diffs = match policy_id {
        Some(id) => diff_versions(paths, id),
        None => diff_sides(paths),
    };
    let diffs = match diffs {
        Ok(d) => d,
        Err(e) => {
            eprint!("{e}");
            return 2;
        }
    };
    let changed = diffs.iter().filter(|d| !d.is_empty()).count();
    let text = if json {
        match serde_json::to_string_pretty(&diffs) {
            Ok(j) => format!("{j}\n"),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    } else {
        let mut t: String = diffs.iter().map(ToString::to_string).collect();
        t.push_str(&format!("{} polic{} compared, {changed} changed\n", diffs.len(), if diffs.len() == 1 { "y" } else { "ies" }));
        t
    };
    if super::emit(&text).is_err() {
        return 2;
    }
    i32::from(changed > 0)
}

/// `fupin diff --policy ID [PATH…]`: consecutive versions of one policy in a set.
fn diff_versions(paths: &[PathBuf], id: &str) -> Result<Vec<fupin::diff::PolicyDiff>, String> {
    let mut all = Vec::new();
    if paths.is_empty() {
        all = parse_all(sources(None)?)?;
    }
    for p in paths {
        all.extend(read(p)?);
    }
    let mut versions: Vec<&Parsed> = all.iter().filter(|p| p.id().as_deref() == Some(id)).collect();
    versions.sort_by_key(|p| p.sort_key());
    if versions.len() < 2 {
        let found: Vec<&str> = versions.iter().map(|p| p.name.as_str()).collect();
        return Err(format!(
            "error: --policy {id}: need two versions of the policy, found {}{}\n",
            versions.len(),
            if found.is_empty() { String::new() } else { format!(" ({})", found.join(", ")) }
        ));
    }
    Ok(versions
        .windows(2)
        .filter_map(|w| if let [a, b] = w { Some(fupin::diff::diff(Some(&a.file), Some(&b.file))) } else { None })
        .collect())
}

/// `fupin diff OLD NEW`: two files, or two directories matched by policy id.
fn diff_sides(paths: &[PathBuf]) -> Result<Vec<fupin::diff::PolicyDiff>, String> {
    let [old, new] = paths else {
        return Err("error: `fupin diff` takes OLD and NEW (two files or two directories), or --policy ID\n".into());
    };
    let (o, n) = (read(old)?, read(new)?);
    if old.is_file() && new.is_file() {
        return Ok(vec![fupin::diff::diff(o.first().map(|p| &p.file), n.first().map(|p| &p.file))]);
    }
    let by_id = |side: &[Parsed], path: &Path| -> Result<std::collections::BTreeMap<String, usize>, String> {
        let mut m = std::collections::BTreeMap::new();
        for (i, p) in side.iter().enumerate() {
            let Some(id) = p.id() else { continue };
            if let Some(j) = m.insert(id.clone(), i) {
                return Err(format!(
                    "error: {} holds two versions of `{id}` ({} and {}); compare them with `fupin diff --policy {id}`\n",
                    path.display(),
                    side[j].name,
                    p.name
                ));
            }
        }
        Ok(m)
    };
    let (om, nm) = (by_id(&o, old)?, by_id(&n, new)?);
    let mut ids: Vec<&String> = om.keys().chain(nm.keys()).collect();
    ids.sort();
    ids.dedup();
    Ok(ids.into_iter().map(|id| fupin::diff::diff(om.get(id).map(|&i| &o[i].file), nm.get(id).map(|&i| &n[i].file))).collect())
}
