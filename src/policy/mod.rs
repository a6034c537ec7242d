//! Policy sets: where policy texts come from (embedded, directories, files,
//! overlays), their content hashes, and version selection.

pub mod hash;

use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_policies.rs"));
}

/// The policies shipped in `policies/`, embedded at build time: (path, text).
pub fn embedded() -> &'static [(&'static str, &'static str)] {
    embedded::EMBEDDED
}

/// A policy source text and the name diagnostics show for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Shown in diagnostics (`policies/hebei/shijiazhuang.policy`).
    pub name: String,
    /// The text.
    pub text: String,
}

/// Why sources could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Every `*.policy` file under `path` (or `path` itself if it is a file), sorted.
pub fn read_path(path: &Path) -> Result<Vec<Source>, LoadError> {
    let mut files = Vec::new();
    collect(path, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| LoadError::Io { path: f.display().to_string(), source: e })?;
        out.push(Source { name: f.display().to_string(), text });
    }
    Ok(out)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError::Io { path: path.display().to_string(), source: e })?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let rd = std::fs::read_dir(path).map_err(|e| LoadError::Io { path: path.display().to_string(), source: e })?;
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "policy" || x == "fupintest") {
            out.push(p);
        }
    }
    Ok(())
}
