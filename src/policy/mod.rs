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
#[non_exhaustive]
pub enum LoadError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The path is neither a regular file nor a directory (a FIFO, a device, a socket).
    #[error("{path}: not a regular file ({kind}); only regular files are read")]
    NotAFile {
        /// Path.
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// The file is larger than the limit; nothing beyond `limit + 1` bytes was read.
    #[error("{path}: the file is larger than {limit} bytes (the limit)")]
    TooLarge {
        /// Path.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not valid UTF-8.
    #[error("{path}: {error}")]
    Utf8 {
        /// Path.
        path: String,
        /// Where the first invalid byte is.
        error: Utf8Error,
    },
}

/// The first invalid byte of a text that is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8 at line {line} column {column} (byte {byte})")]
pub struct Utf8Error {
    /// 0-based offset of the first invalid byte.
    pub byte: usize,
    /// 1-based line of that byte.
    pub line: usize,
    /// 1-based column of that byte, in bytes from the start of its line.
    pub column: usize,
}

/// Decode UTF-8, saying where the first invalid byte is.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, Utf8Error> {
    String::from_utf8(bytes).map_err(|e| utf8_error(e.as_bytes(), e.utf8_error().valid_up_to()))
}

/// Where byte `at` of `bytes` is (line, column in bytes).
pub(crate) fn utf8_error(bytes: &[u8], at: usize) -> Utf8Error {
    let before = bytes.get(..at).unwrap_or(bytes);
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    Utf8Error { byte: at, line, column: at - line_start + 1 }
}

/// What a non-regular file is, for messages.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Read at most `limit` bytes of the regular file at `path`.
///
/// Anything but a regular file (after following symlinks) is rejected before
/// it is opened, so a FIFO cannot block and `/dev/zero` is not read; the file
/// is checked again once open. At most `limit + 1` bytes are read: a longer
/// file is [`LoadError::TooLarge`] however large it is.
pub fn read_bytes_limited(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let name = || path.display().to_string();
    let io = |e| LoadError::Io { path: name(), source: e };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(LoadError::NotAFile { path: name(), kind: kind_of(&meta) });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    // The path may have been replaced between the two looks.
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(LoadError::NotAFile { path: name(), kind: kind_of(&meta) });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len().min(limit.saturating_add(1))).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(LoadError::TooLarge { path: name(), limit });
    }
    Ok(bytes)
}

/// Read the regular file at `path` as UTF-8 text of at most `limit` bytes
/// (see [`read_bytes_limited`]); invalid UTF-8 is [`LoadError::Utf8`] with
/// the line, column and byte offset of the first invalid byte.
pub fn read_text_limited(path: &Path, limit: u64) -> Result<String, LoadError> {
    let bytes = read_bytes_limited(path, limit)?;
    decode_utf8(bytes).map_err(|error| LoadError::Utf8 { path: path.display().to_string(), error })
}

/// The largest policy file read: [`crate::syntax::limits::MAX_FILE_SIZE`].
pub const MAX_POLICY_FILE: u64 = crate::syntax::limits::MAX_FILE_SIZE as u64;

/// Every `*.policy` and `*.fupintest` file under `path` (or `path` itself if
/// it is a file), sorted, each read with [`read_text_limited`] and
/// [`MAX_POLICY_FILE`].
///
/// Symlinks are followed, but each directory is walked once: a directory
/// whose canonical path was already visited (a symlink loop, or two links to
/// the same directory) is skipped, so the walk terminates and no file is read
/// twice through two links.
pub fn read_path(path: &Path) -> Result<Vec<Source>, LoadError> {
    let mut files = Vec::new();
    let mut visited = std::collections::HashSet::new();
    collect(path, &mut files, &mut visited)?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = read_text_limited(&f, MAX_POLICY_FILE)?;
        out.push(Source { name: f.display().to_string(), text });
    }
    Ok(out)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>, visited: &mut std::collections::HashSet<PathBuf>) -> Result<(), LoadError> {
    let io = |e| LoadError::Io { path: path.display().to_string(), source: e };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if !meta.is_dir() {
        return Err(LoadError::NotAFile { path: path.display().to_string(), kind: kind_of(&meta) });
    }
    if !visited.insert(std::fs::canonicalize(path).map_err(io)?) {
        return Ok(());
    }
    let rd = std::fs::read_dir(path).map_err(io)?;
    for e in rd {
        let p = e.map_err(io)?.path();
        if p.is_dir() {
            collect(&p, out, visited)?;
        } else if p.extension().is_some_and(|x| x == "policy" || x == "fupintest") {
            out.push(p);
        }
    }
    Ok(())
}
