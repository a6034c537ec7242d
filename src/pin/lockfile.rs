//! `fupin.lock`: id → version → content hash for every policy in a set,
//! sorted, one line per policy version:
//!
//! ```text
//! # fupin.lock: …
//! "cn.hebei.shijiazhuang" = { version = "2016.1", hash = "sha256:…" }
//! ```
//!
//! The lines are TOML inline tables keyed by a quoted id; an id with several
//! versions has several lines. Blank lines and `#` comments are ignored.

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
pub enum LockError {
    /// A line of the lockfile is malformed.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The lockfile's path (or `<text>`).
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
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
        let mut pins = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let pin = parse_line(t).map_err(|message| LockError::Syntax { path: path.to_string(), line: i + 1, message })?;
            pins.push(pin);
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
        for p in &self.pins {
            writeln!(f, "{} = {{ version = {}, hash = {} }}", quote(&p.id), quote(&p.version), quote(&p.hash))?;
        }
        Ok(())
    }
}

/// Lockfile strings use the policy language's escapes.
fn quote(s: &str) -> String {
    crate::syntax::printer::string(s)
}

/// A tiny scanner for `"id" = { version = "…", hash = "…" }`.
struct Scan<'a> {
    rest: &'a str,
}

impl Scan<'_> {
    fn ws(&mut self) {
        self.rest = self.rest.trim_start();
    }
    fn eat(&mut self, tok: &str) -> Result<(), String> {
        self.ws();
        match self.rest.strip_prefix(tok) {
            Some(r) => {
                self.rest = r;
                Ok(())
            }
            None => Err(format!("expected `{tok}` at `{}`", shorten(self.rest))),
        }
    }
    fn string(&mut self) -> Result<String, String> {
        self.ws();
        let Some(r) = self.rest.strip_prefix('"') else { return Err(format!("expected a quoted string at `{}`", shorten(self.rest))) };
        let mut out = String::new();
        let mut chars = r.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &r[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, '"')) => out.push('"'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, 'n')) => out.push('\n'),
                    _ => return Err("unknown escape in string".into()),
                },
                c => out.push(c),
            }
        }
        Err("unterminated string".into())
    }
    fn key(&mut self) -> Result<&str, String> {
        self.ws();
        let end = self.rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(self.rest.len());
        if end == 0 {
            return Err(format!("expected a key at `{}`", shorten(self.rest)));
        }
        let (k, r) = self.rest.split_at(end);
        self.rest = r;
        Ok(k)
    }
}

fn shorten(s: &str) -> String {
    let t: String = s.chars().take(20).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

fn parse_line(line: &str) -> Result<Pin, String> {
    let mut s = Scan { rest: line };
    let id = s.string()?;
    s.eat("=")?;
    s.eat("{")?;
    let (mut version, mut hash) = (None, None);
    loop {
        let k = s.key()?.to_string();
        s.eat("=")?;
        let v = s.string()?;
        let slot = match k.as_str() {
            "version" => &mut version,
            "hash" => &mut hash,
            other => return Err(format!("unknown key `{other}` (expected `version` or `hash`)")),
        };
        if slot.replace(v).is_some() {
            return Err(format!("`{k}` given twice"));
        }
        s.ws();
        if s.rest.starts_with('}') {
            break;
        }
        s.eat(",")?;
    }
    s.eat("}")?;
    s.ws();
    if !s.rest.is_empty() && !s.rest.starts_with('#') {
        return Err(format!("unexpected `{}` after the entry", shorten(s.rest)));
    }
    let version = version.ok_or("missing `version`")?;
    let hash = hash.ok_or("missing `hash`")?;
    if id.is_empty() || version.is_empty() {
        return Err("empty id or version".into());
    }
    if !hash.starts_with("sha256:") {
        return Err(format!("hash `{hash}` does not start with `sha256:`"));
    }
    Ok(Pin { id, version, hash })
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
        assert!(text.contains("\n\"cn\" = { version = \"2011.1\", hash = \"sha256:aa\" }\n\"cn.hebei\" = { version = \"2016.0\""));
        assert_eq!(Lockfile::parse(&text).ok(), Some(lock));
    }

    #[test]
    fn malformed_lines_are_reported_with_their_line() {
        let cases = [
            ("\"a\" = { version = \"1\" }", "missing `hash`"),
            ("\"a\" = { version = \"1\", hash = \"md5:x\" }", "does not start with `sha256:`"),
            ("\"a\" = { version = \"1\", hash = \"sha256:x\", colour = \"red\" }", "unknown key `colour`"),
            ("a = { version = \"1\", hash = \"sha256:x\" }", "expected a quoted string"),
            ("\"a\" = { version = \"1\", hash = \"sha256:x\" } extra", "unexpected `extra`"),
            ("\"a\" = { version = \"1, hash = \"sha256:x\" }", "expected `,`"),
            ("\"a", "unterminated string"),
        ];
        for (line, want) in cases {
            let text = format!("# header\n\n{line}\n");
            match Lockfile::parse(&text) {
                Err(LockError::Syntax { line: 3, message, .. }) => assert!(message.contains(want), "{line}: {message}"),
                other => panic!("{line}: expected a syntax error on line 3, got {other:?}"),
            }
        }
        let dup = "\"a\" = { version = \"1\", hash = \"sha256:x\" }\n\"a\" = { hash = \"sha256:y\", version = \"1\" }\n";
        assert!(matches!(Lockfile::parse(dup), Err(LockError::Duplicate { .. })));
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
