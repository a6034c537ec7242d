//! `fupin lsp`: a language server over standard input and output.
//!
//! Built on `lsp-server` (the synchronous scaffold rust-analyzer runs on:
//! no async runtime, one message loop) with the protocol's types from
//! `lsp-types`. Every answer is computed afresh from the open documents and
//! the shipped library (an open document replaces the shipped file of the
//! same path): parsing and checking the whole library takes a few
//! milliseconds, so there is no cache to keep in step.
//!
//! - diagnostics on open and on every change: every error and warning of
//!   the open files, the messages `fupin check` prints;
//! - hover: a parameter's type, its dated series in the file's policy and
//!   the policies it extends, with citations, and the value in force today
//!   for the policy's region; a field's type and meaning; a named value, a
//!   function, a programme, a layer, a tally, a rule;
//! - go to definition: parameters, named values, functions, rules
//!   (`exception to`), programmes, layers, tallies and `extends`;
//! - completion: the fields of the entity before a `.`, else parameters,
//!   named values, functions, programmes, built-ins and enum variants;
//! - formatting: `fupin fmt`.
//!
//! Hover and definition read the checked module ([`fupin::check::check`]),
//! which is there even when a file has errors, so they keep working while a
//! file is being written.

use fupin::check::schema::{Field, FIELDS, FIELD_DOCS};
use fupin::check::types::{Entity, Ty};
use fupin::check::{Input, Module};
use fupin::diagnostic::{Diagnostic, Severity, SourceMap};
use fupin::ir::{Expr, ExprKind, FileId, Loc};
use fupin::policy::Source;
use fupin::syntax::ast;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lsp;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Run the server until the client shuts it down; the exit status.
pub fn lsp() -> i32 {
    let (conn, io) = Connection::stdio();
    let caps = lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(lsp::TextDocumentSyncKind::FULL)),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        completion_provider: Some(lsp::CompletionOptions { trigger_characters: Some(vec![".".into()]), ..Default::default() }),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        ..Default::default()
    };
    let init = match serde_json::to_value(caps).map_err(|e| e.to_string()).and_then(|c| conn.initialize(c).map_err(|e| e.to_string())) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: the language client did not initialise: {e}");
            return 1;
        }
    };
    let root = root_of(&init);
    let mut server = Server { conn, root, docs: BTreeMap::new() };
    let code = server.run();
    drop(server);
    if let Err(e) = io.join() {
        eprintln!("error: {e}");
        return 1;
    }
    code
}

/// The workspace folder the client opened, if any.
fn root_of(init: &serde_json::Value) -> Option<PathBuf> {
    let folder = init.pointer("/workspaceFolders/0/uri").or_else(|| init.get("rootUri")).and_then(|v| v.as_str())?;
    uri_path(folder)
}

/// An open document.
struct Doc {
    uri: lsp::Uri,
    text: String,
}

struct Server {
    conn: Connection,
    root: Option<PathBuf>,
    /// The open documents by source name.
    docs: BTreeMap<String, Doc>,
}

impl Server {
    fn run(&mut self) -> i32 {
        while let Ok(msg) = self.conn.receiver.recv() {
            match msg {
                Message::Request(req) => {
                    match self.conn.handle_shutdown(&req) {
                        Ok(true) => return 0,
                        Ok(false) => {}
                        Err(e) => {
                            eprintln!("error: {e}");
                            return 1;
                        }
                    }
                    // a defect in an answer fails that request, not the editor's session
                    let id = req.id.clone();
                    let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.request(req))).unwrap_or_else(|_| {
                        Response::new_err(id, ErrorCode::InternalError as i32, "fupin lsp failed on this request".into())
                    });
                    if self.conn.sender.send(Message::Response(resp)).is_err() {
                        return 1;
                    }
                }
                Message::Notification(n) => self.notification(n),
                Message::Response(_) => {}
            }
        }
        // the client went away without `shutdown`
        1
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            "textDocument/hover" => params::<lsp::HoverParams>(&req).map(|p| to_json(self.hover(&p.text_document_position_params))),
            "textDocument/definition" => {
                params::<lsp::GotoDefinitionParams>(&req).map(|p| to_json(self.definition(&p.text_document_position_params)))
            }
            "textDocument/completion" => params::<lsp::CompletionParams>(&req).map(|p| to_json(self.completion(&p.text_document_position))),
            "textDocument/formatting" => {
                params::<lsp::DocumentFormattingParams>(&req).map(|p| to_json(self.formatting(&p.text_document.uri)))
            }
            other => Err(Response::new_err(id.clone(), ErrorCode::MethodNotFound as i32, format!("fupin lsp does not answer `{other}`"))),
        };
        match result {
            Ok(v) => Response::new_ok(id, v),
            Err(mut e) => {
                e.id = id;
                e
            }
        }
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                if let Ok(p) = n.extract::<lsp::DidOpenTextDocumentParams>("textDocument/didOpen") {
                    let name = self.name_of(&p.text_document.uri);
                    self.docs.insert(name, Doc { uri: p.text_document.uri, text: p.text_document.text });
                    self.publish();
                }
            }
            "textDocument/didChange" => {
                if let Ok(p) = n.extract::<lsp::DidChangeTextDocumentParams>("textDocument/didChange") {
                    let name = self.name_of(&p.text_document.uri);
                    // full synchronisation: the last change is the whole text
                    if let (Some(doc), Some(change)) = (self.docs.get_mut(&name), p.content_changes.into_iter().last()) {
                        doc.text = change.text;
                    }
                    self.publish();
                }
            }
            "textDocument/didClose" => {
                if let Ok(p) = n.extract::<lsp::DidCloseTextDocumentParams>("textDocument/didClose") {
                    let name = self.name_of(&p.text_document.uri);
                    if let Some(doc) = self.docs.remove(&name) {
                        self.send_diagnostics(doc.uri, Vec::new());
                    }
                    self.publish();
                }
            }
            _ => {}
        }
    }

    /// The name a document's source goes by: its path within the workspace
    /// (as the shipped files are named, so an open shipped file replaces
    /// the embedded one), else its whole path.
    fn name_of(&self, uri: &lsp::Uri) -> String {
        let Some(path) = uri_path(uri.as_str()) else { return uri.as_str().to_string() };
        if let Some(rel) = self.root.as_ref().and_then(|r| path.strip_prefix(r).ok()) {
            return rel.display().to_string();
        }
        path.display().to_string()
    }

    /// The sources of an analysis: the open documents, and the shipped
    /// files no open document replaces.
    fn sources(&self) -> Vec<Source> {
        let mut out: Vec<Source> = self.docs.iter().map(|(n, d)| Source { name: n.clone(), text: d.text.clone() }).collect();
        let open: Vec<PathBuf> = self.docs.values().filter_map(|d| uri_path(d.uri.as_str())).collect();
        for (name, text) in fupin::policy::embedded() {
            if !self.docs.contains_key(*name) && !super::commands::is_same_file(&open, name) {
                out.push(Source { name: name.to_string(), text: text.to_string() });
            }
        }
        out
    }

    // ------------------------------------------------------------ diagnostics

    fn publish(&mut self) {
        let sources = self.sources();
        let mut by_doc: BTreeMap<String, Vec<lsp::Diagnostic>> = self.docs.keys().map(|k| (k.clone(), Vec::new())).collect();
        let (items, map) = match fupin::EngineBuilder::default().sources(sources).build() {
            Ok(engine) => {
                let warnings = engine.warnings();
                let mut items = warnings.items;
                let mut map = warnings.sources;
                if let Err(d) = engine.tests() {
                    items.extend(d.items.iter().cloned());
                    map = d.sources.clone();
                }
                (items, map)
            }
            Err(d) => {
                let d = d.into_diagnostics();
                (d.items, d.sources)
            }
        };
        for d in &items {
            let Some(loc) = d.loc else { continue };
            let Some(file) = map.get(loc.file) else { continue };
            if let Some(list) = by_doc.get_mut(&file.name) {
                list.push(to_lsp_diagnostic(d, &file.text, &map, self));
            }
        }
        let uris: Vec<(String, lsp::Uri)> = self.docs.iter().map(|(n, d)| (n.clone(), d.uri.clone())).collect();
        for (name, uri) in uris {
            let list = by_doc.remove(&name).unwrap_or_default();
            self.send_diagnostics(uri, list);
        }
    }

    fn send_diagnostics(&self, uri: lsp::Uri, diagnostics: Vec<lsp::Diagnostic>) {
        let p = lsp::PublishDiagnosticsParams { uri, diagnostics, version: None };
        let _ = self.conn.sender.send(Message::Notification(Notification::new("textDocument/publishDiagnostics".into(), p)));
    }

    // ------------------------------------------------------------ analysis

    /// The checked module of the open documents and the library.
    fn world(&self) -> World {
        let mut map = SourceMap::new();
        let mut parsed = Vec::new();
        for s in self.sources() {
            let id = map.add(s.name.clone(), s.text.as_str());
            if let Ok(f) = fupin::syntax::parse(&s.text) {
                parsed.push((id, f));
            }
        }
        let inputs: Vec<Input<'_>> = parsed.iter().map(|(file, ast)| Input { file: *file, ast }).collect();
        let (module, _) = fupin::check::check(&inputs);
        World { map, module }
    }

    /// The open document at a position: its name, text and byte offset.
    fn at(&self, pos: &lsp::TextDocumentPositionParams) -> Option<(String, String, usize)> {
        let name = self.name_of(&pos.text_document.uri);
        let doc = self.docs.get(&name)?;
        let offset = offset_of(&doc.text, pos.position);
        Some((name, doc.text.clone(), offset))
    }

    fn hover(&self, pos: &lsp::TextDocumentPositionParams) -> Option<lsp::Hover> {
        let (name, text, offset) = self.at(pos)?;
        let world = self.world();
        let file = world.file(&name)?;
        let what = world.symbol_at(file, &text, offset)?;
        let value = world.describe(&what, file, self);
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value }),
            range: None,
        })
    }

    fn definition(&self, pos: &lsp::TextDocumentPositionParams) -> Option<lsp::GotoDefinitionResponse> {
        let (name, text, offset) = self.at(pos)?;
        let world = self.world();
        let file = world.file(&name)?;
        let what = world.symbol_at(file, &text, offset)?;
        let loc = world.definition(&what, file)?;
        let target = world.map.get(loc.file)?;
        let uri = self.uri_of(&target.name, &target.text)?;
        let range = range_of(&target.text, loc.span.start as usize, loc.span.end as usize);
        Some(lsp::GotoDefinitionResponse::Scalar(lsp::Location { uri, range }))
    }

    /// Where a source can be opened: an open document's own address; a
    /// shipped file in the workspace or beside this build; else a copy of
    /// the embedded text in the temporary directory.
    fn uri_of(&self, name: &str, text: &str) -> Option<lsp::Uri> {
        if let Some(d) = self.docs.get(name) {
            return Some(d.uri.clone());
        }
        let candidates = [self.root.as_ref().map(|r| r.join(name)), Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(name))];
        let path = match candidates.into_iter().flatten().find(|p| p.is_file()) {
            Some(p) => p,
            None => {
                let p = std::env::temp_dir().join(format!("fupin-{}-embedded", env!("CARGO_PKG_VERSION"))).join(name);
                std::fs::create_dir_all(p.parent()?).ok()?;
                std::fs::write(&p, text).ok()?;
                p
            }
        };
        path_uri(&path.canonicalize().unwrap_or(path))
    }

    fn completion(&self, pos: &lsp::TextDocumentPositionParams) -> Option<lsp::CompletionResponse> {
        let (_, text, offset) = self.at(pos)?;
        let world = self.world();
        let before = &text[..offset];
        let word_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[word_start..];
        let mut items = Vec::new();
        if let Some(dot) = word.rfind('.') {
            // a path: the fields of the entity its first part names
            let (root, typed) = word[..dot].split_once('.').unwrap_or((&word[..dot], ""));
            let prefix = if typed.is_empty() { String::new() } else { format!("{typed}.") };
            if root == "paid" {
                for l in &world.module.layers {
                    items.push(item(&l.name, lsp::CompletionItemKind::FIELD, l.title.clone()));
                }
            } else if let Some(entity) = entity_of(root, before) {
                for (i, (_, e, name, ty)) in FIELDS.iter().enumerate() {
                    if *e == entity {
                        if let Some(rest) = name.strip_prefix(prefix.as_str()) {
                            let doc = FIELD_DOCS.get(i).map(|d| format!("{ty} — {d}"));
                            items.push(item(rest, lsp::CompletionItemKind::FIELD, doc));
                        }
                    }
                }
                for f in world.module.facts.iter().filter(|f| f.entity == entity) {
                    if let Some(rest) = f.name.strip_prefix(prefix.as_str()) {
                        items.push(item(rest, lsp::CompletionItemKind::FIELD, f.title.clone()));
                    }
                }
            }
        } else {
            let m = &world.module;
            for p in &m.params {
                items.push(item(&p.name, lsp::CompletionItemKind::CONSTANT, Some(format!("param: {}", p.ty))));
            }
            for g in &m.globals {
                items.push(item(&g.name, lsp::CompletionItemKind::VARIABLE, Some(format!("let: {}", g.expr.ty))));
            }
            for f in &m.functions {
                items.push(item(&f.name, lsp::CompletionItemKind::FUNCTION, Some(signature(f))));
            }
            for p in &m.programs {
                items.push(item(&p.id, lsp::CompletionItemKind::MODULE, Some(p.title.clone())));
            }
            for (name, _) in fupin::check::FUNCTIONS {
                items.push(item(name, lsp::CompletionItemKind::FUNCTION, Some("built-in".into())));
            }
            let mut variants: Vec<String> = Vec::new();
            for (_, _, _, ty) in FIELDS {
                if let Ty::Enum(e) = ty {
                    variants.extend(e.variants().into_iter().map(String::from));
                }
            }
            for e in &m.enums {
                variants.extend(e.variants.iter().map(|v| v.0.clone()));
            }
            variants.sort();
            variants.dedup();
            for v in variants {
                items.push(item(&v, lsp::CompletionItemKind::ENUM_MEMBER, None));
            }
            for k in ["household", "paid", "as_of", "previous", "true", "false"] {
                items.push(item(k, lsp::CompletionItemKind::KEYWORD, None));
            }
        }
        Some(lsp::CompletionResponse::Array(items))
    }

    fn formatting(&self, uri: &lsp::Uri) -> Option<Vec<lsp::TextEdit>> {
        let doc = self.docs.get(&self.name_of(uri))?;
        let out = fupin::syntax::format::format(&doc.text).ok()?;
        if out == doc.text {
            return Some(Vec::new());
        }
        Some(vec![lsp::TextEdit { range: range_of(&doc.text, 0, doc.text.len()), new_text: out }])
    }
}

fn item(label: &str, kind: lsp::CompletionItemKind, detail: Option<String>) -> lsp::CompletionItem {
    lsp::CompletionItem { label: label.to_string(), kind: Some(kind), detail, ..Default::default() }
}

/// The entity a path's first part names: `household`, or a variable bound
/// by the rule (`for each member m`) or an aggregation (`m in household.members`).
fn entity_of(root: &str, before: &str) -> Option<Entity> {
    if root == "household" {
        return Some(Entity::Household);
    }
    let bound = |pattern: &str| before.contains(&pattern.replace('V', root));
    if bound("each member V") || bound("V in household.members") || bound("V: member") {
        Some(Entity::Member)
    } else if bound("each claim V")
        || bound("V in V.claims")
        || bound("V: claim")
        || before.contains(&format!("{root} in ")) && before.contains(".claims")
    {
        Some(Entity::Claim)
    } else if bound("each loan V") || bound("V in household.loans") || bound("V: loan") {
        Some(Entity::Loan)
    } else {
        None
    }
}

fn signature(f: &fupin::check::FnDef) -> String {
    let params: Vec<String> = f.params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
    format!("fn {}({}): {}", f.name, params.join(", "), f.ret)
}

/// What a position names.
enum Symbol<'m> {
    Node(&'m Expr),
    Param(String),
    Rule(String),
    Policy(String),
    Program(String),
    Layer(String),
    Tally(String),
    Global(String),
    Function(String),
}

struct World {
    map: SourceMap,
    module: Module,
}

impl World {
    fn file(&self, name: &str) -> Option<FileId> {
        self.map.files().iter().position(|f| f.name == name).map(|i| i as FileId)
    }

    /// Every checked expression of `file`.
    fn roots(&self, file: FileId) -> Vec<&Expr> {
        let m = &self.module;
        let mut out: Vec<&Expr> = Vec::new();
        for r in m.rules.iter().filter(|r| r.loc.file == file) {
            out.extend(r.pre.iter().chain(&r.post).map(|l| &l.expr));
            out.extend(r.cond.iter());
            for o in &r.outcomes {
                match o {
                    fupin::check::OutcomeDef::Amount(_, e)
                    | fupin::check::OutcomeDef::Pay(_, e)
                    | fupin::check::OutcomeDef::AddTally(_, e) => out.push(e),
                    _ => {}
                }
            }
        }
        out.extend(m.globals.iter().filter(|g| g.loc.file == file).map(|g| &g.expr));
        out.extend(m.functions.iter().filter(|f| f.body.loc.file == file).map(|f| &f.body));
        for p in &m.params {
            for d in p.defs.iter().filter(|d| d.loc.file == file) {
                out.extend(d.entries.iter().map(|e| &e.value));
                out.extend(d.floor.iter().chain(d.cap.iter()));
            }
        }
        out
    }

    /// The innermost checked expression at `offset`, or the declaration or
    /// reference of the syntax tree there.
    fn symbol_at<'m>(&'m self, file: FileId, text: &str, offset: usize) -> Option<Symbol<'m>> {
        let mut best: Option<&Expr> = None;
        fn visit<'e>(e: &'e Expr, file: FileId, offset: usize, best: &mut Option<&'e Expr>) {
            let (s, t) = (e.loc.span.start as usize, e.loc.span.end as usize);
            if e.loc.file != file || offset < s || offset > t {
                return;
            }
            if best.is_none_or(|b| (t - s) <= (b.loc.span.end - b.loc.span.start) as usize) {
                *best = Some(e);
            }
            e.for_each_child(&mut |c| visit(c, file, offset, best));
        }
        for root in self.roots(file) {
            visit(root, file, offset, &mut best);
        }
        if let Some(e) = best.filter(|e| !matches!(e.kind, ExprKind::Const(_))) {
            return Some(Symbol::Node(e));
        }
        syntax_symbol(text, offset)
    }

    /// The checked module's policy for `file`.
    fn policy_of(&self, file: FileId) -> Option<&fupin::check::PolicyInfo> {
        self.module.policies.iter().find(|p| p.file == file)
    }

    fn param_slot(&self, name: &str) -> Option<&fupin::check::ParamSlot> {
        self.module.params.iter().find(|p| p.name == name)
    }

    /// The policies whose definitions `file` sees, nearest first.
    fn chain(&self, file: FileId) -> Vec<String> {
        match self.policy_of(file) {
            Some(p) => std::iter::once(p.id.clone()).chain(p.ancestors.iter().cloned()).collect(),
            None => Vec::new(),
        }
    }

    fn definition(&self, what: &Symbol<'_>, file: FileId) -> Option<Loc> {
        let m = &self.module;
        match what {
            Symbol::Node(e) => match &e.kind {
                ExprKind::Param(p) | ExprKind::ParamAt(p, _) => {
                    let slot = m.params.get(*p as usize)?;
                    self.param_definition(&slot.name, file)
                }
                ExprKind::Global(g) => m.globals.get(*g as usize).map(|g| g.loc),
                ExprKind::Apply(f, _) => m.functions.get(*f as usize).map(|f| f.loc),
                ExprKind::Eligible(p) | ExprKind::Amount(p) => m.programs.get(*p as usize)?.loc,
                ExprKind::Paid(l) => m.layers.get(*l as usize).map(|l| l.loc),
                ExprKind::Tally(t) => m.tallies.get(*t as usize).map(|t| t.loc),
                ExprKind::Field(_, Field::Declared(i)) => m.facts.get(*i as usize).map(|f| f.loc),
                _ => None,
            },
            Symbol::Param(name) => self.param_definition(name, file),
            Symbol::Rule(id) => {
                let chain = self.chain(file);
                let rules: Vec<_> = m.rules.iter().filter(|r| r.id == *id).collect();
                rules
                    .iter()
                    .find(|r| chain.first().is_some_and(|c| m.policies[r.policy as usize].id == *c))
                    .or(rules.first())
                    .map(|r| r.loc)
            }
            Symbol::Policy(id) => m.policies.iter().find(|p| p.id == *id).map(|p| p.loc),
            Symbol::Program(id) => m.programs.iter().find(|p| p.id == *id)?.loc,
            Symbol::Layer(name) => m.layers.iter().find(|l| l.name == *name).map(|l| l.loc),
            Symbol::Tally(name) => m.tallies.iter().find(|t| t.name == *name).map(|t| t.loc),
            Symbol::Global(name) => m.globals.iter().find(|g| g.name == *name).map(|g| g.loc),
            Symbol::Function(name) => m.functions.iter().find(|f| f.name == *name).map(|f| f.loc),
        }
    }

    /// The definition of parameter `name` that `file` sees: its own
    /// policy's, else the nearest ancestor's, else the declaration.
    fn param_definition(&self, name: &str, file: FileId) -> Option<Loc> {
        let slot = self.param_slot(name)?;
        let chain = self.chain(file);
        for id in &chain {
            if let Some(d) = slot.defs.iter().find(|d| self.module.policies[d.policy as usize].id == *id) {
                return Some(d.loc);
            }
        }
        slot.defs.first().map(|d| d.loc)
    }

    /// The source text of a checked expression.
    fn source_of(&self, e: &Expr) -> String {
        let Some(f) = self.map.get(e.loc.file) else { return String::new() };
        f.text.get(e.loc.span.start as usize..e.loc.span.end as usize).unwrap_or("").to_string()
    }

    fn describe(&self, what: &Symbol<'_>, file: FileId, server: &Server) -> String {
        let m = &self.module;
        let mut s = String::new();
        match what {
            Symbol::Node(e) => match &e.kind {
                ExprKind::Param(p) | ExprKind::ParamAt(p, _) => {
                    if let Some(slot) = m.params.get(*p as usize) {
                        s = self.describe_param(&slot.name, file, server);
                    }
                }
                ExprKind::Field(_, f) => {
                    if let Field::Declared(i) = f {
                        if let Some(fact) = m.facts.get(*i as usize) {
                            let _ = writeln!(s, "**fact `{}`**: {}", fact.name, e.ty);
                            if let Some(t) = &fact.title {
                                let _ = writeln!(s, "\n{t}");
                            }
                            if let Some(c) = &fact.cite {
                                let _ = writeln!(s, "\n*{c}*");
                            }
                        }
                    } else if let Some(i) = FIELDS.iter().position(|(x, ..)| x == f) {
                        let (_, entity, name, ty) = FIELDS[i];
                        let _ = write!(s, "**{}.{name}**: {ty}\n\n{}", entity_word(entity), FIELD_DOCS.get(i).copied().unwrap_or(""));
                    }
                }
                ExprKind::Global(g) => {
                    if let Some(g) = m.globals.get(*g as usize) {
                        let _ = write!(s, "**let `{}`**: {}\n\n```fupin\n{}\n```", g.name, g.expr.ty, self.source_of(&g.expr));
                    }
                }
                ExprKind::Apply(f, _) => {
                    if let Some(f) = m.functions.get(*f as usize) {
                        let _ = write!(s, "```fupin\n{}\n```", signature(f));
                    }
                }
                ExprKind::Eligible(p) | ExprKind::Amount(p) => s = self.describe_program(*p as usize),
                ExprKind::Paid(l) => s = self.describe_layer(*l as usize),
                ExprKind::Tally(t) => {
                    if let Some(t) = m.tallies.get(*t as usize) {
                        let _ = write!(s, "**tally `{}`**: {}", t.name, t.ty);
                    }
                }
                _ => {
                    let _ = write!(s, "`{}`: {}", self.source_of(e), e.ty);
                }
            },
            Symbol::Param(name) => s = self.describe_param(name, file, server),
            Symbol::Rule(id) => {
                if let Some(r) = m.rules.iter().find(|r| r.id == *id) {
                    let _ = write!(s, "**rule {}** {}\n\n*{}*", r.id, r.title, r.cite);
                }
            }
            Symbol::Policy(id) => {
                if let Some(p) = m.policies.iter().find(|p| p.id == *id) {
                    let _ = write!(s, "**policy `{}`** {}: {}", p.id, p.version, p.title);
                    if let Some(d) = &p.document {
                        let _ = write!(s, " ({d})");
                    }
                    let _ = write!(s, "\n\nregion {}, in force from {}", p.region, p.from);
                    if let Some(to) = p.to {
                        let _ = write!(s, " to {to}");
                    }
                }
            }
            Symbol::Program(id) => {
                if let Some(i) = m.programs.iter().position(|p| p.id == *id) {
                    s = self.describe_program(i);
                }
            }
            Symbol::Layer(name) => {
                if let Some(i) = m.layers.iter().position(|l| l.name == *name) {
                    s = self.describe_layer(i);
                }
            }
            Symbol::Tally(name) => {
                if let Some(t) = m.tallies.iter().find(|t| t.name == *name) {
                    let _ = write!(s, "**tally `{}`**: {}", t.name, t.ty);
                }
            }
            Symbol::Global(name) => {
                if let Some(g) = m.globals.iter().find(|g| g.name == *name) {
                    let _ = write!(s, "**let `{}`**: {}", g.name, g.expr.ty);
                }
            }
            Symbol::Function(name) => {
                if let Some(f) = m.functions.iter().find(|f| f.name == *name) {
                    let _ = write!(s, "```fupin\n{}\n```", signature(f));
                }
            }
        }
        s
    }

    fn describe_program(&self, i: usize) -> String {
        let Some(p) = self.module.programs.get(i) else { return String::new() };
        match &p.amount {
            Some(t) => format!("**programme `{}`** {}: amount in {t}", p.id, p.title),
            None => format!("**programme `{}`** {}", p.id, p.title),
        }
    }

    fn describe_layer(&self, i: usize) -> String {
        let Some(l) = self.module.layers.get(i) else { return String::new() };
        let mut s = format!("**layer `{}`** {}", l.name, l.title.as_deref().unwrap_or(""));
        if let Some(c) = &l.cite {
            let _ = write!(s, "\n\n*{c}*");
        }
        s
    }

    /// A parameter: its type and title, each definition `file` sees (its
    /// policy's first) with its dated values and their citations, and the
    /// value in force today for the policy's region.
    fn describe_param(&self, name: &str, file: FileId, server: &Server) -> String {
        let Some(slot) = self.param_slot(name) else { return String::new() };
        let m = &self.module;
        let mut s = format!("**param `{}`**: {}", slot.name, slot.ty);
        if let Some(t) = &slot.title {
            let _ = write!(s, " — {t}");
        }
        s.push('\n');
        let chain = self.chain(file);
        let mut defs: Vec<&fupin::check::ParamDef> = Vec::new();
        for id in &chain {
            defs.extend(slot.defs.iter().filter(|d| m.policies[d.policy as usize].id == *id));
        }
        if defs.is_empty() {
            defs.extend(slot.defs.iter());
        }
        for d in defs {
            let pol = &m.policies[d.policy as usize];
            let _ = write!(s, "\n`{}` {}", pol.id, pol.version);
            if let Some(c) = &d.cite {
                let _ = write!(s, ": *{c}*");
            }
            s.push('\n');
            if d.required && d.entries.is_empty() {
                s.push_str("- required: supplied by the deployer\n");
            }
            for e in &d.entries {
                let from = e.from.map_or("always".to_string(), |f| format!("from {f}"));
                let _ = write!(s, "- {from}: **{}**", self.source_of(&e.value));
                if let Some(c) = &e.cite {
                    let _ = write!(s, " — {c}");
                }
                s.push('\n');
            }
            if let Some(f) = &d.floor {
                let _ = writeln!(s, "- floor {}", self.source_of(f));
            }
            if let Some(c) = &d.cap {
                let _ = writeln!(s, "- cap {}", self.source_of(c));
            }
        }
        if let Some(pol) = self.policy_of(file) {
            let today = today();
            let region = super::commands::region_code(&pol.region);
            if let Ok(engine) = fupin::EngineBuilder::default().sources(server.sources()).build() {
                if let Some(p) = engine.params_in_force(&region, today).into_iter().find(|p| p.name == slot.name) {
                    let _ = write!(s, "\nIn force today ({today}, region {region}): **{}** (`{}`)", p.value, p.policy);
                    if let Some(c) = &p.citation {
                        let _ = write!(s, " — {c}");
                    }
                    s.push('\n');
                }
            }
        }
        s
    }
}

/// Today's date (UTC).
fn today() -> chrono::NaiveDate {
    let days = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() / 86_400);
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|d| d.checked_add_days(chrono::Days::new(days))).unwrap_or_default()
}

fn entity_word(e: Entity) -> &'static str {
    match e {
        Entity::Household => "household",
        Entity::Member => "member",
        Entity::Claim => "claim",
        Entity::Loan => "loan",
    }
}

/// What the syntax tree of `text` names at `offset`, where the checked
/// module has no expression: declarations, `exception to`, `extends`, the
/// targets of outcomes.
fn syntax_symbol(text: &str, offset: usize) -> Option<Symbol<'static>> {
    let file = fupin::syntax::parse(text).ok()?;
    let within = |s: ast::Span| (s.start as usize) <= offset && offset <= s.end as usize;
    if let Some(h) = &file.header {
        for f in &h.fields {
            if let ast::HeaderField::Extends(d) = f {
                if within(d.span) {
                    return Some(Symbol::Policy(d.joined()));
                }
            }
        }
    }
    for item in &file.items {
        match item {
            ast::Item::Param(p) if within(p.name.span) => return Some(Symbol::Param(p.name.name.clone())),
            ast::Item::Let(l) if within(l.name.span) => return Some(Symbol::Global(l.name.name.clone())),
            ast::Item::Fn(f) if within(f.name.span) => return Some(Symbol::Function(f.name.name.clone())),
            ast::Item::Tally(t) if within(t.name.span) => return Some(Symbol::Tally(t.name.name.clone())),
            ast::Item::Program(p) if within(p.id.span) => return Some(Symbol::Program(p.id.joined())),
            ast::Item::Layer(l) if within(l.name.span) => return Some(Symbol::Layer(l.name.name.clone())),
            ast::Item::Rule(r) => {
                if within(r.id.span) {
                    return Some(Symbol::Rule(r.id.name.clone()));
                }
                for e in &r.entries {
                    if let ast::RuleEntry::ExceptionTo(ids) = e {
                        if let Some(id) = ids.iter().find(|i| within(i.span)) {
                            return Some(Symbol::Rule(id.name.clone()));
                        }
                    }
                }
                for o in &r.outcomes {
                    match o {
                        ast::Outcome::Eligible(p) | ast::Outcome::Amount(p, _) | ast::Outcome::Flag(p) | ast::Outcome::Assign(p, _)
                            if within(p.span) =>
                        {
                            return Some(Symbol::Program(p.joined()))
                        }
                        ast::Outcome::Pay(l, _) if within(l.span) => return Some(Symbol::Layer(l.name.clone())),
                        ast::Outcome::AddTally(t, _) if within(t.span) => return Some(Symbol::Tally(t.name.clone())),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn to_lsp_diagnostic(d: &Diagnostic, text: &str, map: &SourceMap, server: &Server) -> lsp::Diagnostic {
    let (start, end) = d.loc.map_or((0, 0), |l| (l.span.start as usize, l.span.end as usize));
    let mut message = d.message.clone();
    if !d.label.is_empty() {
        let _ = write!(message, " ({})", d.label);
    }
    if let Some(h) = &d.help {
        let _ = write!(message, "\nhelp: {h}");
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|(loc, label)| {
            let f = map.get(loc.file)?;
            let uri = server.uri_of(&f.name, &f.text)?;
            let range = range_of(&f.text, loc.span.start as usize, loc.span.end as usize);
            Some(lsp::DiagnosticRelatedInformation { location: lsp::Location { uri, range }, message: label.clone() })
        })
        .collect();
    lsp::Diagnostic {
        range: range_of(text, start, end),
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            _ => lsp::DiagnosticSeverity::WARNING,
        }),
        source: Some("fupin".into()),
        message,
        related_information: if related.is_empty() { None } else { Some(related) },
        ..Default::default()
    }
}

fn params<P: serde::de::DeserializeOwned>(req: &Request) -> Result<P, Response> {
    serde_json::from_value(req.params.clone())
        .map_err(|e| Response::new_err(RequestId::from(0), ErrorCode::InvalidParams as i32, format!("bad parameters: {e}")))
}

fn to_json<T: serde::Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

// ---------------------------------------------------------------- positions

/// The byte offset of an LSP position (UTF-16 columns) in `text`.
fn offset_of(text: &str, pos: lsp::Position) -> usize {
    let mut line = 0u32;
    let mut start = 0usize;
    if pos.line > 0 {
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line += 1;
                if line == pos.line {
                    start = i + 1;
                    break;
                }
            }
        }
        if line < pos.line {
            return text.len();
        }
    }
    let mut units = 0u32;
    for (i, c) in text[start..].char_indices() {
        if units >= pos.character || c == '\n' {
            return start + i;
        }
        units += c.len_utf16() as u32;
    }
    text.len()
}

/// The LSP position of a byte offset.
fn position_of(text: &str, offset: usize) -> lsp::Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = before[line_start..].chars().map(|c| c.len_utf16() as u32).sum();
    lsp::Position { line, character }
}

fn range_of(text: &str, start: usize, end: usize) -> lsp::Range {
    lsp::Range { start: position_of(text, start), end: position_of(text, end) }
}

// ---------------------------------------------------------------- addresses

/// The path of a `file:` URI.
fn uri_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(String::from_utf8(out).ok()?))
}

/// The `file:` URI of a path.
fn path_uri(path: &Path) -> Option<lsp::Uri> {
    let mut s = String::from("file://");
    for b in path.to_str()?.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    lsp::Uri::from_str(&s).ok()
}
