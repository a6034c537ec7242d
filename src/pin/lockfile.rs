//! `fupin.lock`: id → version → content hash for every policy in a set, as
//! TOML — one `[[policy]]` table per policy version, sorted by id then
//! version, so one id may have several versions:
//!
//! ```toml
//! # fupin.lock: …
//! version = 1
//!
//! [[policy]]
//! id = "cn.hebei.shijiazhuang"
//! version = "2016.1"
//! hash = "sha256:…"
//! ```
//!
//! The top-level `version` is the lockfile format. It is read and written
//! with the `toml` crate, so any TOML parser reads it.

use super::{identify, Identified, Pin, PolicyFile};
use crate::policy::Source;
use std::fmt;

/// A lockfile: pins sorted by id, then version; one per (id, version).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockfile {
    pins: Vec<Pin>,
}

/// Why a lockfile could not be made, read or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// The lockfile is not TOML, or not of the lockfile's structure.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The lockfile's path (or `<text>`).
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The lockfile is of another format version (or of the format before
    /// TOML, which had none).
    #[error("{path}: {found}, but this fupin reads lockfile format version {FORMAT}; run `fupin lock` to rewrite it")]
    Format {
        /// The lockfile's path (or `<text>`).
        path: String,
        /// What was found instead.
        found: String,
    },
    /// The same id and version appears twice.
    #[error("policy `{id}` version `{version}` appears twice ({first} and {second})")]
    Duplicate {
        /// Id.
        id: String,
        /// Version.
        version: String,
        /// Where first.
        first: String,
        /// Where again.
        second: String,
    },
    /// A policy file does not parse, so its identity is unknown.
    #[error("{file}: cannot read the policy header: {message}")]
    Unreadable {
        /// File.
        file: String,
        /// The first syntax error.
        message: String,
    },
    /// The lockfile could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// One difference between a lockfile and the policies found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The text changed but the version did not.
    Changed {
        /// Id.
        id: String,
        /// Version.
        version: String,
        /// The file.
        file: String,
        /// Hash in the lockfile.
        locked: String,
        /// Hash of the text found.
        found: String,
    },
    /// A locked policy version is no longer in the set.
    Missing {
        /// Id.
        id: String,
        /// Version.
        version: String,
    },
    /// A policy version in the set is not in the lockfile.
    Unlocked {
        /// Id.
        id: String,
        /// Version.
        version: String,
        /// The file.
        file: String,
    },
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Changed { id, version, file, locked, found } => {
                write!(f, "policy `{id}` version `{version}` ({file}) changed without a new version: locked {locked}, found {found}")
            }
            Drift::Missing { id, version } => write!(f, "locked policy `{id}` version `{version}` is missing"),
            Drift::Unlocked { id, version, file } => write!(f, "policy `{id}` version `{version}` ({file}) is new: not in the lockfile"),
        }
    }
}

impl Lockfile {
    /// A lockfile of these pins (sorted); an (id, version) given twice is an error.
    pub fn new(pins: impl IntoIterator<Item = Pin>) -> Result<Lockfile, LockError> {
        let mut pins: Vec<Pin> = pins.into_iter().collect();
        pins.sort();
        for w in pins.windows(2) {
            if let [a, b] = w {
                if a.id == b.id && a.version == b.version {
                    return Err(LockError::Duplicate {
                        id: a.id.clone(),
                        version: a.version.clone(),
                        first: a.hash.clone(),
                        second: b.hash.clone(),
                    });
                }
            }
        }
        Ok(Lockfile { pins })
    }

    /// Every policy file among the sources (headerless test files are skipped).
    pub fn scan(sources: &[Source]) -> Result<Vec<PolicyFile>, LockError> {
        let mut out: Vec<PolicyFile> = Vec::new();
        for s in sources {
            match identify(s) {
                Identified::Policy(p) => {
                    if let Some(q) = out.iter().find(|q| q.pin.id == p.pin.id && q.pin.version == p.pin.version) {
                        return Err(LockError::Duplicate {
                            id: p.pin.id.clone(),
                            version: p.pin.version.clone(),
                            first: q.file.clone(),
                            second: p.file.clone(),
                        });
                    }
                    out.push(p);
                }
                Identified::Headerless => {}
                Identified::Unreadable { message } => return Err(LockError::Unreadable { file: s.name.clone(), message }),
            }
        }
        Ok(out)
    }

    /// The lockfile for a set of sources.
    pub fn from_sources(sources: &[Source]) -> Result<Lockfile, LockError> {
        Lockfile::new(Lockfile::scan(sources)?.into_iter().map(|p| p.pin))
    }

    /// The pins, sorted by id then version.
    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }

    /// The pin of one policy version.
    pub fn get(&self, id: &str, version: &str) -> Option<&Pin> {
        self.pins.iter().find(|p| p.id == id && p.version == version)
    }

    /// Read and parse a lockfile.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Lockfile, LockError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| LockError::Io { path: path.display().to_string(), source: e })?;
        Lockfile::parse_named(&text, &path.display().to_string())
    }

    /// Parse lockfile text.
    pub fn parse(text: &str) -> Result<Lockfile, LockError> {
        Lockfile::parse_named(text, "<text>")
    }

    fn parse_named(text: &str, path: &str) -> Result<Lockfile, LockError> {
        let syntax = |span: Option<std::ops::Range<usize>>, message: String| {
            let (line, column) = line_column(text, span.map_or(0, |r| r.start));
            LockError::Syntax { path: path.to_string(), line, column, message }
        };
        // First as any TOML, to tell the format version before the structure.
        let table: toml::Table = toml::from_str(text).map_err(|e| syntax(e.span(), e.message().to_string()))?;
        match table.get("version") {
            Some(toml::Value::Integer(FORMAT_I64)) => {}
            Some(toml::Value::Integer(n)) => {
                return Err(LockError::Format { path: path.to_string(), found: format!("format version {n}") })
            }
            Some(other) => return Err(syntax(None, format!("`version` must be the integer {FORMAT}, not `{other}`"))),
            None => {
                return Err(LockError::Format {
                    path: path.to_string(),
                    found: "no `version` key (a lockfile written before the TOML format)".to_string(),
                })
            }
        }
        let doc: DocIn = toml::from_str(text).map_err(|e| syntax(e.span(), e.message().to_string()))?;
        let mut pins = Vec::with_capacity(doc.policy.len());
        for e in doc.policy {
            for (name, v) in [("id", &e.id), ("version", &e.version)] {
                if v.get_ref().is_empty() {
                    return Err(syntax(Some(v.span()), format!("empty {name}")));
                }
            }
            if !e.hash.get_ref().starts_with("sha256:") {
                return Err(syntax(Some(e.hash.span()), format!("hash `{}` does not start with `sha256:`", e.hash.get_ref())));
            }
            pins.push(Pin { id: e.id.into_inner(), version: e.version.into_inner(), hash: e.hash.into_inner() });
        }
        Lockfile::new(pins)
    }

    /// Compare with the policy files found: hash changed without a new
    /// version, locked versions missing, versions not locked. Sorted by id
    /// and version.
    pub fn check(&self, found: &[PolicyFile]) -> Vec<Drift> {
        let mut out = Vec::new();
        for p in &self.pins {
            match found.iter().find(|f| f.pin.id == p.id && f.pin.version == p.version) {
                None => out.push(((p.id.clone(), p.version.clone()), Drift::Missing { id: p.id.clone(), version: p.version.clone() })),
                Some(f) if f.pin.hash != p.hash => out.push((
                    (p.id.clone(), p.version.clone()),
                    Drift::Changed {
                        id: p.id.clone(),
                        version: p.version.clone(),
                        file: f.file.clone(),
                        locked: p.hash.clone(),
                        found: f.pin.hash.clone(),
                    },
                )),
                Some(_) => {}
            }
        }
        for f in found {
            if self.get(&f.pin.id, &f.pin.version).is_none() {
                out.push((
                    (f.pin.id.clone(), f.pin.version.clone()),
                    Drift::Unlocked { id: f.pin.id.clone(), version: f.pin.version.clone(), file: f.file.clone() },
                ));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter().map(|(_, d)| d).collect()
    }
}

impl fmt::Display for Lockfile {
    /// The file text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# fupin.lock: every policy in the set, by id and version, with the hash of its canonical text.")?;
        writeln!(f, "# Written by `fupin lock`; `fupin lock --check` fails when a policy changes without a new version.")?;
        let doc = DocOut {
            version: FORMAT,
            policy: self.pins.iter().map(|p| EntryOut { id: &p.id, version: &p.version, hash: &p.hash }).collect(),
        };
        let text = toml::to_string(&doc).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// The lockfile format version this fupin reads and writes.
pub const FORMAT: u32 = 1;
const FORMAT_I64: i64 = FORMAT as i64;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DocIn {
    #[allow(dead_code)]
    version: i64,
    #[serde(default)]
    policy: Vec<EntryIn>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryIn {
    id: toml::Spanned<String>,
    version: toml::Spanned<String>,
    hash: toml::Spanned<String>,
}

#[derive(serde::Serialize)]
struct DocOut<'a> {
    version: u32,
    policy: Vec<EntryOut<'a>>,
}

#[derive(serde::Serialize)]
struct EntryOut<'a> {
    id: &'a str,
    version: &'a str,
    hash: &'a str,
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_then_parse_round_trips() {
        let lock = Lockfile::new([
            Pin::new("cn.hebei", "2016.1", "sha256:bb"),
            Pin::new("cn", "2011.1", "sha256:aa"),
            Pin::new("cn.hebei", "2016.0", "sha256:cc"),
            Pin::new("odd \"id\"", "1\\2", "sha256:dd"),
        ])
        .unwrap_or_default();
        let text = lock.to_string();
        assert!(text.contains("\nversion = 1\n\n[[policy]]\nid = \"cn\"\nversion = \"2011.1\"\nhash = \"sha256:aa\"\n"), "{text}");
        assert_eq!(Lockfile::parse(&text).ok(), Some(lock));
    }

    #[test]
    fn line_and_column_of_an_offset() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("石\n", 1), (1, 1));
        assert_eq!(line_column("x", 99), (1, 2));
    }

    #[test]
    fn check_names_changed_missing_and_new_versions() {
        let lock = Lockfile::new([Pin::new("a", "1", "sha256:1"), Pin::new("b", "1", "sha256:2"), Pin::new("c", "1", "sha256:3")])
            .unwrap_or_default();
        let pf = |id: &str, v: &str, h: &str| PolicyFile {
            pin: Pin::new(id, v, h),
            file: format!("{id}.policy"),
            overlay: false,
            from: None,
            to: None,
            extends: None,
        };
        let found = [pf("a", "1", "sha256:1"), pf("b", "1", "sha256:9"), pf("c", "2", "sha256:4")];
        let d: Vec<String> = lock.check(&found).iter().map(ToString::to_string).collect();
        assert_eq!(
            d,
            [
                "policy `b` version `1` (b.policy) changed without a new version: locked sha256:2, found sha256:9",
                "locked policy `c` version `1` is missing",
                "policy `c` version `2` (c.policy) is new: not in the lockfile",
            ]
        );
        assert!(lock.check(&[pf("a", "1", "sha256:1"), pf("b", "1", "sha256:2"), pf("c", "1", "sha256:3")]).is_empty());
    }
}
