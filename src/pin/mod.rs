//! Versions and pinning (DESIGN §5): which policy files a set holds (by id,
//! version and content hash), the lockfile that records them, and building an
//! engine from exactly a pinned set.
//!
//! ```no_run
//! use fupin::pin::Pin;
//! use fupin::Engine;
//! let engine = Engine::builder()
//!     .embedded()
//!     .pin([Pin::new("cn", "2011.1", "sha256:…"), Pin::new("cn.hebei", "2016.1", "sha256:…")])
//!     .build();
//! ```
//!
//! Pinning and selection filter the sources before they are parsed and
//! checked: files without a `policy` header (standalone tests) and overlays
//! (deployment parameters) are never filtered out.

pub mod lockfile;

use crate::diagnostic::{Diagnostic, Diagnostics, SourceMap};
use crate::engine::EngineBuilder;
use crate::policy::hash::file_hash;
use crate::policy::Source;
use crate::syntax::{self, ast};
use chrono::NaiveDate;
use std::collections::BTreeSet;

pub use lockfile::{Drift, LockError, Lockfile};

/// One policy pinned by id and version, verified by its content hash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pin {
    /// Policy id (`cn.hebei.shijiazhuang`).
    pub id: String,
    /// Version (`2016.1`).
    pub version: String,
    /// Content hash (`sha256:…`, see [`crate::policy::hash`]).
    pub hash: String,
}

impl Pin {
    /// A pin.
    pub fn new(id: impl Into<String>, version: impl Into<String>, hash: impl Into<String>) -> Pin {
        Pin { id: id.into(), version: version.into(), hash: hash.into() }
    }
}

/// A policy file as the version machinery sees it: its header identity and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    /// Id, version and content hash.
    pub pin: Pin,
    /// The source name (path).
    pub file: String,
    /// Whether it is an overlay of deployment parameters.
    pub overlay: bool,
    /// First day in force, if the header says.
    pub from: Option<NaiveDate>,
    /// Last day in force, if the header says.
    pub to: Option<NaiveDate>,
    /// The policy it extends, if any.
    pub extends: Option<String>,
}

/// What [`identify`] makes of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identified {
    /// A policy file with a header.
    Policy(PolicyFile),
    /// A file without a `policy` header (standalone tests).
    Headerless,
    /// A file that does not parse, or whose header has no version; the build reports why.
    Unreadable {
        /// The first problem, as text.
        message: String,
    },
}

/// Read a source's header: its id, version and content hash.
pub fn identify(source: &Source) -> Identified {
    identify_parsed(source).0
}

/// [`identify`], and the parsed file (a standalone test file is recognised
/// by its first word and not parsed).
fn identify_parsed(source: &Source) -> (Identified, Option<ast::File>) {
    if syntax::is_test_file(&source.text) {
        return (Identified::Headerless, None);
    }
    let file = match syntax::parse(&source.text) {
        Ok(f) => f,
        Err(errs) => {
            let message = errs.first().map(|e| e.kind.to_string()).unwrap_or_else(|| "syntax error".into());
            return (Identified::Unreadable { message }, None);
        }
    };
    let ident = identify_file(&file, source);
    (ident, Some(file))
}

fn identify_file(file: &ast::File, source: &Source) -> Identified {
    let Some(h) = &file.header else { return Identified::Headerless };
    let mut version = None;
    let mut overlay = false;
    let (mut from, mut to) = (None, None);
    let mut extends = None;
    for f in &h.fields {
        match f {
            ast::HeaderField::Extends(d) => extends = Some(d.joined()),
            ast::HeaderField::Version(v) => version = Some(v.value.clone()),
            ast::HeaderField::Overlay(_) => overlay = true,
            ast::HeaderField::InForce(a, b) => {
                from = Some(a.value);
                to = b.as_ref().map(|b| b.value);
            }
            _ => {}
        }
    }
    let Some(version) = version else {
        return Identified::Unreadable { message: format!("policy `{}` has no version", h.id.joined()) };
    };
    Identified::Policy(PolicyFile {
        pin: Pin { id: h.id.joined(), version, hash: file_hash(file) },
        file: source.name.clone(),
        overlay,
        from,
        to,
        extends,
    })
}

/// The embedded policies a set of policy files depends on without holding
/// them: every embedded version of each policy they `extend`, transitively,
/// whose id none of them defines. An analyst's directory that extends the
/// shipped library is locked with these (`fupin lock --policies DIR`), so the
/// lockfile pins everything the directory's results depend on.
pub fn embedded_ancestors(found: &[PolicyFile]) -> Vec<Source> {
    let embedded: Vec<(Source, Option<PolicyFile>)> = crate::policy::embedded()
        .iter()
        .map(|(n, t)| {
            let s = Source { name: n.to_string(), text: t.to_string() };
            let p = match identify(&s) {
                Identified::Policy(p) => Some(p),
                _ => None,
            };
            (s, p)
        })
        .collect();
    // a policy the files hold (in any version) is theirs, not the embedded one
    let held: BTreeSet<&str> = found.iter().map(|f| f.pin.id.as_str()).collect();
    let mut wanted: Vec<String> = found.iter().filter_map(|f| f.extends.clone()).filter(|e| !held.contains(e.as_str())).collect();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while let Some(id) = wanted.pop() {
        if !taken.insert(id.clone()) {
            continue;
        }
        for (s, p) in &embedded {
            let Some(p) = p else { continue };
            if p.pin.id == id {
                out.push(s.clone());
                wanted.extend(p.extends.clone().filter(|e| !held.contains(e.as_str())));
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Why a pinned or selected policy set could not be assembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// The policy text differs from the pinned text.
    #[error("policy `{id}` version `{version}` ({file}) does not match its pin: expected {expected}, found {found}")]
    HashMismatch {
        /// Policy id.
        id: String,
        /// Version.
        version: String,
        /// The file that holds it.
        file: String,
        /// The pinned hash.
        expected: String,
        /// The hash of the text found.
        found: String,
    },
    /// No source holds the pinned or selected version.
    #[error("{what} policy `{id}` version `{version}` is not in the policy set{}", present(.available))]
    NotFound {
        /// `pinned` or `selected`.
        what: &'static str,
        /// Policy id.
        id: String,
        /// Version.
        version: String,
        /// The versions of that id that are present.
        available: Vec<String>,
    },
    /// A pinned policy extends one that is not pinned (so it would be left out).
    #[error("pinned policy `{id}` version `{version}` extends `{parent}`, which is not pinned{}; pin it too, or pin with `pin_with_ancestors` to take the versions present", present(.available))]
    AncestorNotPinned {
        /// The pinned policy.
        id: String,
        /// Its version.
        version: String,
        /// The policy it extends.
        parent: String,
        /// The versions of the parent that are present.
        available: Vec<String>,
    },
    /// One id and version pinned twice with different hashes.
    #[error("policy `{id}` version `{version}` is pinned twice, to {a} and to {b}")]
    ConflictingPins {
        /// Policy id.
        id: String,
        /// Version.
        version: String,
        /// One hash.
        a: String,
        /// The other.
        b: String,
    },
}

fn present(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!(" (versions present: {})", available.join(", "))
    }
}

/// Why an engine could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The pinned or selected set could not be assembled.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// Parse, check or compile errors (render them with [`Diagnostics::render`]).
    #[error("{} error(s) in the policy set", .0.error_count())]
    Diagnostics(Diagnostics),
}

impl BuildError {
    /// Every error as a reader sees it (rustc style: file:line:column, the
    /// source line, the help).
    pub fn render(&self) -> String {
        self.clone().into_diagnostics().render()
    }

    /// How many errors (a pin error is one).
    pub fn error_count(&self) -> usize {
        match self {
            BuildError::Diagnostics(d) => d.error_count(),
            BuildError::Pin(_) => 1,
        }
    }

    /// As diagnostics (a pin error becomes one diagnostic without a location).
    pub fn into_diagnostics(self) -> Diagnostics {
        match self {
            BuildError::Diagnostics(d) => d,
            BuildError::Pin(e) => {
                let help = match &e {
                    PinError::HashMismatch { .. } => {
                        Some("the policy text changed: give it a new version, or update the pin if the change is intended".into())
                    }
                    _ => None,
                };
                Diagnostics { items: vec![Diagnostic::error(e.to_string(), None).with_help(help)], sources: SourceMap::new() }
            }
        }
    }
}

/// Which policies a builder keeps: pins and explicit version selections.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pins: Vec<Pin>,
    /// Keep the versions present of every ancestor of a pinned policy.
    with_ancestors: bool,
    selected: BTreeSet<(String, String)>,
}

impl Selection {
    /// Nothing pinned or selected: every source is kept.
    pub fn is_empty(&self) -> bool {
        self.pins.is_empty() && self.selected.is_empty()
    }

    /// Keep the sources this selection admits; verify pinned hashes.
    ///
    /// With pins, a policy is kept only if its id and version are pinned (and
    /// its hash must match). With selections, a policy whose id has selected
    /// versions is kept only if its version is one of them. Headerless files,
    /// overlays and files that do not parse (the build reports them) are kept.
    pub fn apply(&self, sources: Vec<Source>) -> Result<Vec<Source>, PinError> {
        Ok(self.apply_parsed(sources)?.into_iter().map(|(s, _)| s).collect())
    }

    /// [`Selection::apply`], keeping each kept source's parse (when it was
    /// parsed to be identified) so that the build does not parse it again.
    pub(crate) fn apply_parsed(&self, sources: Vec<Source>) -> Result<Vec<(Source, Option<ast::File>)>, PinError> {
        if self.is_empty() {
            return Ok(sources.into_iter().map(|s| (s, None)).collect());
        }
        let mut pins: Vec<&Pin> = Vec::new();
        for p in &self.pins {
            match pins.iter().find(|q| q.id == p.id && q.version == p.version) {
                Some(q) if q.hash != p.hash => {
                    return Err(PinError::ConflictingPins {
                        id: p.id.clone(),
                        version: p.version.clone(),
                        a: q.hash.clone(),
                        b: p.hash.clone(),
                    })
                }
                Some(_) => {}
                None => pins.push(p),
            }
        }
        let (idents, mut parsed): (Vec<Identified>, Vec<Option<ast::File>>) = sources.iter().map(identify_parsed).unzip();
        let versions_of = |id: &str| -> Vec<String> {
            let mut v: Vec<String> = idents
                .iter()
                .filter_map(|i| match i {
                    Identified::Policy(p) if p.pin.id == id => Some(p.pin.version.clone()),
                    _ => None,
                })
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let found = |id: &str, version: &str| {
            idents.iter().any(|i| matches!(i, Identified::Policy(p) if p.pin.id == id && p.pin.version == version))
        };
        for (id, version) in &self.selected {
            if !found(id, version) {
                return Err(PinError::NotFound { what: "selected", id: id.clone(), version: version.clone(), available: versions_of(id) });
            }
        }
        for p in &pins {
            if !found(&p.id, &p.version) {
                return Err(PinError::NotFound {
                    what: "pinned",
                    id: p.id.clone(),
                    version: p.version.clone(),
                    available: versions_of(&p.id),
                });
            }
        }
        // which sources are kept: pinned or selected policies, and every file that is not a policy
        let mut keep = vec![false; sources.len()];
        for (i, ident) in idents.iter().enumerate() {
            let Identified::Policy(pf) = ident else {
                keep[i] = true;
                continue;
            };
            if pf.overlay {
                keep[i] = true;
                continue;
            }
            let id = &pf.pin.id;
            if self.selected.iter().any(|(i, _)| i == id) && !self.selected.contains(&(id.clone(), pf.pin.version.clone())) {
                continue;
            }
            if !pins.is_empty() {
                let Some(p) = pins.iter().find(|p| p.id == *id && p.version == pf.pin.version) else { continue };
                if p.hash != pf.pin.hash {
                    return Err(PinError::HashMismatch {
                        id: id.clone(),
                        version: pf.pin.version.clone(),
                        file: pf.file.clone(),
                        expected: p.hash.clone(),
                        found: pf.pin.hash.clone(),
                    });
                }
            }
            keep[i] = true;
        }
        // a kept policy's parent must be kept too: a pinned set that leaves
        // it out would fail the checker on every name the parent defines
        if !pins.is_empty() {
            loop {
                let kept_ids: BTreeSet<&str> = idents
                    .iter()
                    .zip(&keep)
                    .filter_map(|(i, k)| match i {
                        Identified::Policy(p) if *k => Some(p.pin.id.as_str()),
                        _ => None,
                    })
                    .collect();
                let missing = idents.iter().zip(&keep).find_map(|(i, k)| match i {
                    Identified::Policy(p) if *k => p.extends.as_deref().filter(|e| !kept_ids.contains(e)).map(|e| (p, e.to_string())),
                    _ => None,
                });
                let Some((child, parent)) = missing else { break };
                let available = versions_of(&parent);
                if !self.with_ancestors || available.is_empty() {
                    // a parent absent from the sources altogether is the checker's error to report
                    if available.is_empty() {
                        break;
                    }
                    return Err(PinError::AncestorNotPinned {
                        id: child.pin.id.clone(),
                        version: child.pin.version.clone(),
                        parent,
                        available,
                    });
                }
                for (i, ident) in idents.iter().enumerate() {
                    if matches!(ident, Identified::Policy(p) if p.pin.id == parent) {
                        keep[i] = true;
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(sources.len());
        for (i, s) in sources.into_iter().enumerate() {
            if keep[i] {
                out.push((s, parsed.get_mut(i).and_then(Option::take)));
            }
        }
        Ok(out)
    }
}

impl EngineBuilder {
    /// Build from exactly these policies (by id and version, verified by
    /// hash): policies not pinned are left out; a pinned policy that is
    /// missing, or whose text hashes differently, fails the build
    /// ([`PinError`]). May be called more than once; the pins add up.
    pub fn pin(mut self, pins: impl IntoIterator<Item = Pin>) -> Self {
        self.selection.pins.extend(pins);
        self
    }

    /// [`EngineBuilder::pin`], keeping with each pinned policy what it
    /// extends: every version present of each ancestor that is not pinned
    /// itself, taken as found (pin an ancestor too to verify its hash).
    /// Without this, a pinned policy whose parent is not pinned is
    /// [`PinError::AncestorNotPinned`].
    pub fn pin_with_ancestors(mut self, pins: impl IntoIterator<Item = Pin>) -> Self {
        self.selection.with_ancestors = true;
        self.pin(pins)
    }

    /// [`EngineBuilder::pin`] every entry of a lockfile.
    pub fn pinned(self, lock: &Lockfile) -> Self {
        self.pin(lock.pins().iter().cloned())
    }

    /// Keep only this version of policy `id` (call again to keep several).
    /// Without a selection, two versions whose periods overlap are a checker
    /// error naming both; with one, the others are left out.
    pub fn select(mut self, id: impl Into<String>, version: impl Into<String>) -> Self {
        self.selection.selected.insert((id.into(), version.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_hash(text: &str) -> String {
        crate::policy::hash::content_hash(text).unwrap_or_default()
    }

    fn src(name: &str, text: &str) -> Source {
        Source { name: name.into(), text: text.into() }
    }

    const A1: &str = "policy a { title \"A\" region 000000 in_force 2016-01-01 .. version \"1\" }";
    const A2: &str = "policy a { title \"A\" region 000000 in_force 2016-01-01 .. version \"2\" }";

    #[test]
    fn identify_reads_the_header() {
        let Identified::Policy(p) = identify(&src("a.policy", A1)) else { panic!("not a policy") };
        assert_eq!((p.pin.id.as_str(), p.pin.version.as_str()), ("a", "1"));
        assert_eq!(p.pin.hash, content_hash(A1));
        assert_eq!(identify(&src("t", "test \"x\" { as_of 2018-01-01 }")), Identified::Headerless);
        assert!(matches!(identify(&src("bad", "policy {")), Identified::Unreadable { .. }));
    }

    #[test]
    fn selection_keeps_selected_versions_and_verifies_pins() {
        let sources = vec![src("a1", A1), src("a2", A2), src("t", "test \"x\" { as_of 2018-01-01 }")];
        let mut s = Selection::default();
        s.selected.insert(("a".into(), "2".into()));
        let kept = s.apply(sources.clone()).unwrap_or_default();
        assert_eq!(kept.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["a2", "t"]);

        let s = Selection { pins: vec![Pin::new("a", "1", content_hash(A1))], ..Selection::default() };
        let kept = s.apply(sources.clone()).unwrap_or_default();
        assert_eq!(kept.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["a1", "t"]);

        let s = Selection { pins: vec![Pin::new("a", "1", "sha256:00")], ..Selection::default() };
        match s.apply(sources.clone()) {
            Err(PinError::HashMismatch { id, expected, found, .. }) => {
                assert_eq!(id, "a");
                assert_eq!(expected, "sha256:00");
                assert_eq!(found, content_hash(A1));
            }
            other => panic!("expected a hash mismatch, got {other:?}"),
        }

        let s = Selection { pins: vec![Pin::new("a", "3", "sha256:00")], ..Selection::default() };
        let e = s.apply(sources).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, "pinned policy `a` version `3` is not in the policy set (versions present: 1, 2)");
    }
}
