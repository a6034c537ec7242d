//! Diagnostics as data, and their rendering (rustc style: `error: …`,
//! ` --> file:line:col`, the source line, carets under the span, help).
//!
//! Every phase's errors convert to [`Diagnostic`]; rendering is separate from
//! the error data and never happens inside the phases.

use crate::ir::{FileId, Loc};
use crate::syntax::ast::Span;
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::NoColor, Chars, Config};
use std::fmt;
use std::sync::Arc;

/// A source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Name shown in diagnostics (a path, or `<embedded>/…`).
    pub name: String,
    /// Full text.
    pub text: Arc<str>,
}

/// The files a program was built from.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }
    /// Add a file; returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        self.files.push(SourceFile { name: name.into(), text: text.into() });
        (self.files.len() - 1) as FileId
    }
    /// A file by id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id as usize)
    }
    /// All files.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: FileId, offset: u32) -> (usize, usize) {
        let Some(f) = self.get(id) else { return (0, 0) };
        let text = &f.text;
        let off = (offset as usize).min(text.len());
        let mut line = 1;
        let mut line_start = 0;
        for (i, b) in text.as_bytes()[..off].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                line_start = i + 1;
            }
        }
        let col = text.get(line_start..off).map(|s| s.chars().count()).unwrap_or(0) + 1;
        (line, col)
    }
    /// `file:line:col` of a location.
    pub fn describe(&self, loc: Loc) -> String {
        let (l, c) = self.line_col(loc.file, loc.span.start);
        let name = self.get(loc.file).map(|f| f.name.as_str()).unwrap_or("<unknown>");
        format!("{name}:{l}:{c}")
    }
}

/// How bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Stops the build.
    Error,
    /// Worth reading; does not stop the build.
    Warning,
}

/// One diagnostic: a message at a location, with secondary labels and help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The message (`cannot add yuan/year and rate`).
    pub message: String,
    /// Where, if anywhere.
    pub loc: Option<Loc>,
    /// Label under the primary span.
    pub label: String,
    /// Secondary locations with their labels.
    pub secondary: Vec<(Loc, String)>,
    /// A hint.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at a location.
    pub fn error(message: impl Into<String>, loc: Option<Loc>) -> Diagnostic {
        Diagnostic { severity: Severity::Error, message: message.into(), loc, label: String::new(), secondary: Vec::new(), help: None }
    }
    /// With a label under the primary span.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }
    /// With a hint.
    pub fn with_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }
    /// With a secondary location.
    pub fn with_secondary(mut self, loc: Loc, label: impl Into<String>) -> Diagnostic {
        self.secondary.push((loc, label.into()));
        self
    }
    /// A warning.
    pub fn warning(message: impl Into<String>, loc: Option<Loc>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(message, loc) }
    }

    /// Render like rustc, without colour.
    pub fn render(&self, sources: &SourceMap) -> String {
        self.render_in(sources, &Escaped::of(sources))
    }

    /// Render against sources prepared once for many diagnostics (preparing
    /// them reads every file: once per batch of diagnostics, not per diagnostic).
    fn render_in(&self, sources: &SourceMap, files: &Escaped) -> String {
        let shifts = &files.shifts;
        let clamp = |loc: Loc| -> (usize, std::ops::Range<usize>) {
            let len = sources.get(loc.file).map(|f| f.text.len()).unwrap_or(0);
            let s = (loc.span.start as usize).min(len);
            let e = (loc.span.end as usize).clamp(s, len);
            let shift = shifts.get(loc.file as usize).map(Vec::as_slice).unwrap_or(&[]);
            (loc.file as usize, moved(shift, s)..moved(shift, e))
        };
        let mut d = match self.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
        }
        .with_message(escape_invisible(&self.message));
        let mut labels = Vec::new();
        if let Some(loc) = self.loc {
            if sources.get(loc.file).is_some() {
                let (f, r) = clamp(loc);
                labels.push(Label::primary(f, r).with_message(escape_invisible(&self.label)));
            }
        }
        for (loc, msg) in &self.secondary {
            if sources.get(loc.file).is_some() {
                let (f, r) = clamp(*loc);
                labels.push(Label::secondary(f, r).with_message(escape_invisible(msg)));
            }
        }
        d = d.with_labels(labels);
        if let Some(h) = &self.help {
            d = d.with_notes(vec![format!("help: {}", escape_invisible(h))]);
        }
        let config = Config { chars: Chars::ascii(), ..Config::default() };
        let mut out = NoColor::new(Vec::new());
        if term::emit(&mut out, &config, files, &d).is_err() {
            return format!("error: {}", self.message);
        }
        String::from_utf8_lossy(&out.into_inner()).into_owned()
    }
}

/// `text` with every bidirectional control and invisible character written
/// as `\u{XXXX}`, and where the text after each one moved: (offset in
/// `text` just after the character, bytes added so far).
fn escape_source(text: &Arc<str>) -> (Arc<str>, Vec<(usize, usize)>) {
    if !text.chars().any(|c| crate::syntax::limits::invisible(c).is_some()) {
        return (text.clone(), Vec::new());
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut shift = Vec::new();
    let mut added = 0;
    for (i, c) in text.char_indices() {
        if crate::syntax::limits::invisible(c).is_some() {
            let esc = format!("\\u{{{:04X}}}", c as u32);
            added += esc.len() - c.len_utf8();
            out.push_str(&esc);
            shift.push((i + c.len_utf8(), added));
        } else {
            out.push(c);
        }
    }
    (out.into(), shift)
}

/// The sources as rendered, escaped; columns are those of the original text
/// (an escape `\u{202E}` is one column), so `file:line:column` points into
/// the file as it is.
struct Escaped {
    inner: SimpleFiles<String, Arc<str>>,
    shifts: Vec<Vec<(usize, usize)>>,
}

impl Escaped {
    // Bidirectional controls and invisible characters are shown escaped
    // (`\u{202E}`) so that the echoed line reads as it is parsed; spans
    // are moved to match.
    fn of(sources: &SourceMap) -> Escaped {
        let mut inner = SimpleFiles::new();
        let mut shifts: Vec<Vec<(usize, usize)>> = Vec::new();
        for f in sources.files() {
            let (text, shift) = escape_source(&f.text);
            inner.add(f.name.clone(), text);
            shifts.push(shift);
        }
        Escaped { inner, shifts }
    }
}

impl<'a> codespan_reporting::files::Files<'a> for Escaped {
    type FileId = usize;
    type Name = String;
    type Source = &'a str;
    fn name(&'a self, id: usize) -> Result<String, codespan_reporting::files::Error> {
        self.inner.name(id)
    }
    fn source(&'a self, id: usize) -> Result<&'a str, codespan_reporting::files::Error> {
        self.inner.source(id)
    }
    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, codespan_reporting::files::Error> {
        self.inner.line_index(id, byte_index)
    }
    fn line_range(&'a self, id: usize, line_index: usize) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        self.inner.line_range(id, line_index)
    }
    fn column_number(&'a self, id: usize, line_index: usize, byte_index: usize) -> Result<usize, codespan_reporting::files::Error> {
        let source = self.inner.source(id)?;
        let range = self.inner.line_range(id, line_index)?;
        let col = codespan_reporting::files::column_index(source, range.clone(), byte_index) + 1;
        // each escape before the position stands for one character
        let escapes = self
            .shifts
            .get(id)
            .map_or(0, |sh| sh.iter().filter(|(end, added)| (range.start..=byte_index).contains(&(end + added))).count());
        Ok(col.saturating_sub(escapes * (ESCAPE_LEN - 1)))
    }
}

/// The length of an escape `\u{XXXX}` (every character escaped is below U+10000).
const ESCAPE_LEN: usize = 8;

/// An offset into the original text, moved into the escaped one.
fn moved(shift: &[(usize, usize)], offset: usize) -> usize {
    let n = shift.partition_point(|(end, _)| *end <= offset);
    offset + n.checked_sub(1).and_then(|i| shift.get(i)).map_or(0, |(_, a)| *a)
}

/// A message with bidirectional controls and invisible characters escaped.
pub fn escape_invisible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if crate::syntax::limits::invisible(c).is_some() {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Every diagnostic of a build, with the sources to render them.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The diagnostics, in file then source order.
    pub items: Vec<Diagnostic>,
    /// The sources.
    pub sources: SourceMap,
}

impl Diagnostics {
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.severity == Severity::Error).count()
    }
    /// Render all.
    pub fn render(&self) -> String {
        let mut s = String::new();
        // no diagnostics, nothing to prepare the sources for
        if self.items.is_empty() {
            return s;
        }
        let files = Escaped::of(&self.sources);
        for d in &self.items {
            s.push_str(&d.render_in(&self.sources, &files));
        }
        s
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

/// A location in a file.
pub fn loc(file: FileId, span: Span) -> Loc {
    Loc { file, span }
}

/// The closest of `candidates` to `name` (edit distance ≤ a third of the length), for "did you mean".
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        let limit = (name.chars().count().max(c.chars().count()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Edit distance where swapping two adjacent characters counts one edit
/// (`diabo` is one edit from `dibao`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
