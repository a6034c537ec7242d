//! `fupin fmt`: the canonical layout of policy files ([`fupin::syntax::format`]).

use super::emit;
use fupin::policy;
use fupin::syntax::format::{format, FormatError};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Format the files under `paths` in place (or, with `check`, name those
/// that would change and exit 1); with no path, standard input to standard
/// output. Exit status 2 when a file cannot be read, parsed or written.
pub fn fmt(paths: &[PathBuf], check: bool) -> i32 {
    if paths.is_empty() {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("error: cannot read standard input: {e}");
            return 2;
        }
        return match formatted("<stdin>", &text) {
            Some(out) if check => i32::from(out != text),
            Some(out) => emit(&out).err().unwrap_or(0),
            None => 2,
        };
    }
    let mut changed = Vec::new();
    let mut trouble = false;
    for p in paths {
        let sources = match policy::read_path(p) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                trouble = true;
                continue;
            }
        };
        for s in sources {
            let Some(out) = formatted(&s.name, &s.text) else {
                trouble = true;
                continue;
            };
            if out == s.text {
                continue;
            }
            if !check {
                if let Err(e) = write_atomically(Path::new(&s.name), &out) {
                    eprintln!("error: cannot write {}: {e}", s.name);
                    trouble = true;
                    continue;
                }
            }
            changed.push(s.name);
        }
    }
    for name in &changed {
        let line = if check { format!("would reformat {name}\n") } else { format!("formatted {name}\n") };
        if let Err(code) = emit(&line) {
            return code;
        }
    }
    if trouble {
        2
    } else if check && !changed.is_empty() {
        1
    } else {
        0
    }
}

/// The formatted text, or `None` with the errors reported.
fn formatted(name: &str, text: &str) -> Option<String> {
    match format(text) {
        Ok(out) => Some(out),
        Err(FormatError::Syntax(errors)) => {
            let d = fupin::engine::syntax_diagnostics(name, text, errors);
            eprint!("{}", d.render());
            eprintln!("error: {name} not formatted: {} syntax error(s)", d.error_count());
            None
        }
        Err(e) => {
            eprintln!("error: {name}: {e}");
            None
        }
    }
}

/// Replace `path` with `text` whole: written to a temporary file beside it,
/// then renamed over it (a crash leaves the old file or the new one).
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
