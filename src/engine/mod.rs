//! The engine: build once from policy sources, assess many households.

use crate::assessment::{Assessment, Clamped, Name, PolicyRef};
use crate::check::{self, error::CheckErrorKind};
use crate::compile::{self, Program};
use crate::diagnostic::{loc, Diagnostic, Diagnostics, SourceMap};
use crate::eval::{self, EvalError, Scratch};
use crate::ir::Loc;
use crate::model::{self, Household};
use crate::policy::{self, hash::file_hash, Source};
use crate::syntax;
use crate::value::{to_fen, Value};
use chrono::NaiveDate;
use std::path::Path;
use std::sync::Arc;

mod assess;
mod json;
mod reload;
mod set;

pub(crate) use json::AssessBufs;
pub use reload::SharedEngine;
pub use set::{PolicySet, PolicySetError};

/// A compiled policy set, ready to assess households. Cheap to clone
/// (`Arc`), `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Engine {
    program: Arc<Program>,
    warnings: Arc<Vec<Diagnostic>>,
    tests: Arc<Tests>,
}

/// The tests of an engine's sources: those written in policy files, parsed
/// with them, and the standalone test files, parsed when first asked for
/// (an engine that only assesses never parses them).
#[derive(Debug, Default)]
struct Tests {
    deferred: Vec<crate::ir::FileId>,
    all: std::sync::OnceLock<Result<Vec<TestOf>, Vec<Diagnostic>>>,
}

/// A test and the file it is written in.
pub type TestOf = (crate::ir::FileId, syntax::ast::Test);

/// Collects policy sources, then builds an [`Engine`].
#[derive(Debug, Clone, Default)]
pub struct EngineBuilder {
    pub(crate) sources: Vec<Source>,
    /// Pins and version selections (see [`crate::pin`]).
    pub(crate) selection: crate::pin::Selection,
    /// Parameter values set by the deployer: (name, value as written).
    pub(crate) settings: Vec<(String, String)>,
}

impl EngineBuilder {
    /// Add the policies shipped with the crate.
    pub fn embedded(mut self) -> Self {
        for (name, text) in policy::embedded() {
            self.sources.push(Source { name: name.to_string(), text: text.to_string() });
        }
        self
    }
    /// Add every `*.policy` file under a path.
    pub fn path(mut self, path: impl AsRef<Path>) -> Result<Self, policy::LoadError> {
        self.sources.extend(policy::read_path(path.as_ref())?);
        Ok(self)
    }
    /// Add one source text.
    pub fn source(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.sources.push(Source { name: name.into(), text: text.into() });
        self
    }
    /// Add sources.
    pub fn sources(mut self, sources: impl IntoIterator<Item = Source>) -> Self {
        self.sources.extend(sources);
        self
    }
    /// Set a parameter for every assessment, above every policy's
    /// definition (as an overlay would, without a file): `value` is written
    /// as in a policy and typed against the parameter's declared type —
    /// `4400` (money, in the parameter's unit), `75%` (a rate), `12`
    /// (int), `0.5` (decimal), `2018-01-01` (a date), `true`, `"text"`.
    /// The parameter's floors and caps apply to it as to any value; one
    /// that changes it is a build warning ([`Engine::warnings`]) and is
    /// listed in every assessment that reads it ([`Assessment::warnings`]).
    /// An unknown name, a value of the wrong type or a name set twice is a
    /// build error naming the parameter, the value and the expected type.
    ///
    /// ```
    /// let engine = fupin::Engine::builder().embedded().set_param("basic_deductible", "500").build().unwrap();
    /// assert!(engine.warnings().items.is_empty());
    /// let err = fupin::Engine::builder().embedded().set_param("basic_rate", "75").build().unwrap_err();
    /// assert!(err.render().contains("cannot set parameter `basic_rate` (rate) to `75`"), "{}", err.render());
    /// ```
    pub fn set_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }
    /// The sources collected so far.
    pub fn collected(&self) -> &[Source] {
        &self.sources
    }
    /// Parse, check and compile. Every diagnostic of every file is reported.
    /// Pins and selections ([`EngineBuilder::pin`], [`EngineBuilder::select`])
    /// are applied first: a missing or changed pinned policy is [`crate::pin::BuildError::Pin`],
    /// errors in the policies [`crate::pin::BuildError::Diagnostics`].
    pub fn build(self) -> Result<Engine, crate::pin::BuildError> {
        let sources = self.selection.apply_parsed(self.sources)?;
        build_parsed(sources, &self.settings).map_err(crate::pin::BuildError::Diagnostics)
    }
}

/// Build from sources, each with its parse when it was already parsed (a
/// pinned build parses the policies to hash them, once).
pub(crate) fn build_parsed(
    sources: Vec<(Source, Option<syntax::ast::File>)>,
    settings: &[(String, String)],
) -> Result<Engine, Diagnostics> {
    #[cfg(feature = "tracing")]
    let _span = tracing::info_span!("fupin.build", files = sources.len()).entered();
    let mut map = SourceMap::new();
    let mut items: Vec<Diagnostic> = Vec::new();
    let mut parsed = Vec::new();
    let mut deferred = Vec::new();
    for (s, pre) in sources {
        let id = map.add(s.name, s.text.as_str());
        if let Some(f) = pre {
            parsed.push((id, f));
            continue;
        }
        if syntax::is_test_file(&s.text) {
            deferred.push(id);
            continue;
        }
        match syntax::parse(&s.text) {
            Ok(f) => parsed.push((id, f)),
            Err(errs) => items.extend(errs.into_iter().map(|e| syntax_diagnostic(id, e))),
        }
    }
    let inputs: Vec<check::Input<'_>> = parsed.iter().map(|(id, f)| check::Input { file: *id, ast: f }).collect();
    let (module, errors) = check::check(&inputs);
    items.extend(errors.iter().map(|e| e.to_diagnostic()));
    let hashes: Vec<String> = module
        .policies
        .iter()
        .map(|p| parsed.iter().find(|(id, _)| *id == p.file).map(|(_, f)| file_hash(f)).unwrap_or_default())
        .collect();
    if !items.is_empty() {
        // a failed build reports every file's errors, the test files' too
        items.extend(standalone_tests(&map, &deferred, &mut Vec::new()));
        return Err(Diagnostics { items, sources: map });
    }
    let (mut program, errors, mut warnings) = compile::compile(module, map, hashes);
    if !errors.is_empty() {
        let mut items: Vec<Diagnostic> = errors.iter().map(|e| e.to_diagnostic()).collect();
        items.extend(standalone_tests(&program.sources, &deferred, &mut Vec::new()));
        items.extend(warnings);
        return Err(Diagnostics { items, sources: program.sources });
    }
    let set_errors = resolve_settings(&mut program, settings);
    if !set_errors.is_empty() {
        return Err(Diagnostics { items: set_errors, sources: program.sources });
    }
    warnings.extend(constant_clamps(&program));
    let tests = Tests { deferred, all: std::sync::OnceLock::new() };
    Ok(Engine { program: Arc::new(program), warnings: Arc::new(warnings), tests: Arc::new(tests) })
}

/// Parse the standalone test files `deferred` of `map`, adding their tests
/// to `tests`; their errors.
fn standalone_tests(map: &SourceMap, deferred: &[crate::ir::FileId], tests: &mut Vec<TestOf>) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for &id in deferred {
        let Some(file) = map.get(id) else { continue };
        match syntax::parse(&file.text) {
            Ok(ast) => {
                let (found, errs) = check::standalone_tests(id, &ast);
                tests.extend(found);
                errors.extend(errs.iter().map(|e| e.to_diagnostic()));
            }
            Err(errs) => errors.extend(errs.into_iter().map(|e| syntax_diagnostic(id, e))),
        }
    }
    errors
}

/// The syntax errors of one file parsed alone, with the file to render them
/// (for the tools that read a file without building an engine: `fupin fmt`,
/// the language server).
pub fn syntax_diagnostics(name: &str, text: &str, errors: Vec<syntax::SyntaxError>) -> Diagnostics {
    let mut sources = SourceMap::new();
    let id = sources.add(name, text);
    Diagnostics { items: errors.into_iter().map(|e| syntax_diagnostic(id, e)).collect(), sources }
}

/// A syntax error of file `id` as a diagnostic.
fn syntax_diagnostic(id: crate::ir::FileId, e: syntax::SyntaxError) -> Diagnostic {
    CheckErrorKind::Syntax { message: e.kind.to_string(), help: e.kind.help() }.at(loc(id, e.span)).to_diagnostic()
}

/// Type the deployer's settings against their parameters into
/// `program.settings`; the errors, each naming the parameter, the value and
/// the expected type.
fn resolve_settings(program: &mut Program, settings: &[(String, String)]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for (i, (name, text)) in settings.iter().enumerate() {
        if settings[..i].iter().any(|(n, _)| n == name) {
            errors.push(
                Diagnostic::error(format!("parameter `{name}` is set twice"), None)
                    .with_help(Some("give each parameter one value (a value that changes over time belongs in an overlay file)".into())),
            );
            continue;
        }
        let ids: Vec<u32> = program.module.params_named(name).collect();
        if ids.is_empty() {
            let suggestion = crate::diagnostic::suggest(name, program.module.params.iter().map(|p| p.name.as_str()));
            errors.push(
                Diagnostic::error(format!("cannot set parameter `{name}`: no loaded policy declares it"), None)
                    .with_help(suggestion.map(|s| format!("did you mean `{s}`?"))),
            );
            continue;
        }
        for id in ids {
            let ty = program.module.params[id as usize].ty;
            match setting_value(&mut program.module, ty, text) {
                Ok(value) => program.settings.push(eval::Setting { param: id, value, text: text.clone() }),
                Err(why) => {
                    errors.push(
                        Diagnostic::error(format!("cannot set parameter `{name}` ({ty}) to `{text}`: {why}"), None)
                            .with_help(Some(format!("a {ty} value is written {}", example_of(ty)))),
                    );
                    break;
                }
            }
        }
    }
    errors
}

/// How a value of a parameter type is written, for hints.
fn example_of(ty: check::types::Ty) -> &'static str {
    use check::types::{Per, Ty};
    match ty {
        Ty::Money(Per::Year) => "as a number of yuan per year: `4400`",
        Ty::Money(Per::Month) => "as a number of yuan per month: `370`",
        Ty::Money(Per::None) => "as a number of yuan: `5000`",
        Ty::Rate => "with `%`: `75%`",
        Ty::Int => "as a whole number: `12`",
        Ty::Days => "as a whole number of days: `30`",
        Ty::Dec => "as a number: `1.5`",
        Ty::Date => "YYYY-MM-DD: `2018-01-01`",
        Ty::Bool => "`true` or `false`",
        Ty::Text => "as a string in double quotes: `\"text\"`",
        _ => "as in a policy file",
    }
}

/// A setting's text, typed against the parameter's declared type (the
/// policy language's own literals: `4_400`, `75%`, `2018-01-01`, `true`,
/// `"text"`, a leading `-`).
fn setting_value(m: &mut check::Module, ty: check::types::Ty, text: &str) -> Result<Value, String> {
    let e = syntax::parse_expr(text.trim()).map_err(|errs| match errs.first() {
        Some(e) => format!("it is not a value ({})", e.kind),
        None => "it is not a value".to_string(),
    })?;
    let mut intern = |t: &str| {
        Some(match m.symbols.iter().position(|s| s == t) {
            Some(i) => i as u32,
            None => {
                m.symbols.push(t.to_string());
                (m.symbols.len() - 1) as u32
            }
        })
    };
    literal_value(ty, &e, &mut intern)
}

/// A literal as a value of type `ty` (a deployer's `--set`, a test's `set`),
/// or why it is not one. `intern` gives a text its symbol (`None`: texts
/// cannot be set here).
pub(crate) fn literal_value(
    ty: check::types::Ty,
    e: &syntax::ast::Expr,
    intern: &mut dyn FnMut(&str) -> Option<u32>,
) -> Result<Value, String> {
    use crate::syntax::ast::{ExprKind as K, UnOp};
    use check::types::Ty;
    // a number (`false`) or a percentage (`true`), possibly negated
    fn signed(k: &K, percent: bool) -> Option<rust_decimal::Decimal> {
        match (k, percent) {
            (K::Number(d), false) | (K::Percent(d), true) => Some(*d),
            (K::Unary(UnOp::Neg, x), _) => signed(&x.kind, percent).map(|d| -d),
            _ => None,
        }
    }
    let number = |k: &K| signed(k, false);
    let percent = |k: &K| signed(k, true);
    let k = &*e.kind;
    match ty {
        Ty::Money(_) | Ty::Dec | Ty::Int | Ty::Days => match (number(k), percent(k)) {
            (Some(d), _) if matches!(ty, Ty::Int | Ty::Days) && !d.fract().is_zero() => Err(format!("`{d}` is not a whole number")),
            (Some(d), _) => Ok(Value::Num(d)),
            (None, Some(_)) => Err("a percentage is a rate".into()),
            (None, None) => Err("expected a number".into()),
        },
        Ty::Rate => match (percent(k), number(k)) {
            (Some(d), _) => Ok(Value::Num(d)),
            (None, Some(d)) if d > rust_decimal::Decimal::ONE || d.is_zero() => Err(format!("a rate is written with `%`: `{d}%`")),
            (None, Some(d)) => {
                Err(format!("a rate is written with `%`: the fraction {d} is `{}%`", (d * rust_decimal::Decimal::ONE_HUNDRED).normalize()))
            }
            (None, None) => Err("expected a rate".into()),
        },
        Ty::Date => match k {
            K::Date(d) => Ok(Value::Date(*d)),
            _ => Err("expected a date".into()),
        },
        Ty::Bool => match k {
            K::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err("expected `true` or `false`".into()),
        },
        Ty::Text => match k {
            K::Str(t) => intern(t).map(Value::Text).ok_or_else(|| "a text cannot be set here".to_string()),
            _ => Err("expected a string in double quotes".into()),
        },
        other => Err(format!("a {other} parameter cannot be set")),
    }
}

/// A constant value of a parameter, for [`constant_clamps`].
struct ConstValue {
    value: Value,
    /// Where it is written (a setting is written nowhere).
    at: Option<Loc>,
    /// The first definition whose bounds apply.
    from: usize,
    /// The policy of its definition (none for a setting).
    pol: Option<u32>,
    /// Where it comes from, as the warning says.
    source: String,
}

/// The floors and caps a constant value certainly meets (a definition's
/// literal, an overlay's, a deployer's setting) against constant bounds (a
/// literal, or a parameter with one constant value everywhere), as
/// evaluation applies them: from the value's definition on, the bounds of
/// the definitions in force with it (its own policy and those it extends);
/// a setting meets every definition's. Each is a warning naming the
/// parameter, the value and the bound; evaluation still reports every clamp
/// it makes ([`Assessment::warnings`]), constant or not.
/// A bound's value when it is the same on every date and in every region: a
/// literal, or a parameter set by the deployer or defined once by one
/// `always:` literal, with no bounds of its own.
fn constant_bound(p: &Program, e: &crate::ir::Expr) -> Option<Value> {
    use crate::ir::ExprKind;
    let m = &p.module;
    match e.kind {
        ExprKind::Const(v) => Some(v),
        ExprKind::Param(q) => {
            let slot = m.params.get(q as usize)?;
            if slot.defs.iter().any(|d| d.floor.is_some() || d.cap.is_some()) {
                return None;
            }
            if let Some(set) = p.settings.iter().find(|s| s.param == q) {
                return Some(set.value);
            }
            match (slot.defs.as_slice(), slot.defs.first().map(|d| d.entries.as_slice())) {
                ([_], Some([entry])) if entry.from.is_none() => match entry.value.kind {
                    ExprKind::Const(v) => Some(v),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

fn constant_clamps(p: &Program) -> Vec<Diagnostic> {
    use crate::ir::ExprKind;
    let m = &p.module;
    let num = |v: Value| match v {
        Value::Num(d) => Some(d),
        _ => None,
    };
    // a bound of `bound`'s definition binds a value of `value`'s: the same
    // policy, or one it extends in force at the same time
    let binds = |bound: u32, value: u32| {
        let (b, v) = (&m.policies[bound as usize], &m.policies[value as usize]);
        bound == value
            || (v.ancestors.contains(&b.id) && b.from <= v.to.unwrap_or(NaiveDate::MAX) && v.from <= b.to.unwrap_or(NaiveDate::MAX))
    };
    let constant = |e: &crate::ir::Expr| constant_bound(p, e);
    let mut out = Vec::new();
    for (pi, slot) in m.params.iter().enumerate() {
        if !slot.defs.iter().any(|d| d.floor.is_some() || d.cap.is_some()) {
            continue;
        }
        let mut values: Vec<ConstValue> = Vec::new();
        for (di, def) in slot.defs.iter().enumerate() {
            for e in &def.entries {
                if let ExprKind::Const(v) = e.value.kind {
                    let policy = &m.policies[def.policy as usize].id;
                    let source = match e.from {
                        Some(f) => format!("{policy}, from {f}"),
                        None => policy.clone(),
                    };
                    values.push(ConstValue { value: v, at: Some(e.value.loc), from: di, pol: Some(def.policy), source });
                }
            }
        }
        for set in p.settings.iter().filter(|s| s.param as usize == pi) {
            values.push(ConstValue { value: set.value, at: None, from: 0, pol: None, source: format!("set: {}={}", slot.name, set.text) });
        }
        for ConstValue { value, at, from, pol, source } in values {
            let mut v = value;
            for def in slot.defs.iter().skip(from) {
                if pol.is_some_and(|vp| !binds(def.policy, vp)) {
                    continue;
                }
                for (cap, b) in [(false, &def.floor), (true, &def.cap)] {
                    let Some(b) = b else { continue };
                    let Some(lim) = constant(b) else { continue };
                    let (Some(x), Some(l)) = (num(v), num(lim)) else { continue };
                    if (cap && l >= x) || (!cap && l <= x) {
                        continue;
                    }
                    let policy = &m.policies[def.policy as usize].id;
                    let (side, kind) = if cap { ("above", "cap") } else { ("below", "floor") };
                    let (shown, limit) = (eval::show(v, slot.ty, m), eval::show(lim, slot.ty, m));
                    let when = if pol.is_none() { format!(" where {policy} is in force") } else { String::new() };
                    let d = Diagnostic::warning(
                        format!(
                            "parameter `{}`: {shown} ({source}) is {side} its {kind} {limit} ({policy}){when}; {limit} is used",
                            slot.name
                        ),
                        at,
                    )
                    .with_label(format!("{side} the {kind}"))
                    .with_secondary(b.loc, format!("the {kind}"))
                    .with_help(def.cite.as_ref().map(|c| format!("the {kind} is stated by {c}")));
                    out.push(d);
                    v = lim;
                }
            }
        }
    }
    out
}

/// One programme of an assessment left in a [`Scratch`]
/// ([`Engine::programme_outcomes`]): the figures
/// [`crate::assessment::ProgramOutcome`] holds, borrowed.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ProgrammeView<'a> {
    /// Programme id.
    pub programme: &'a Name,
    /// `ProgramOutcome::eligible`.
    pub eligible: bool,
    /// `ProgramOutcome::amount`: `None` when no rule defined one, or when it is unknown (`error`).
    pub amount: Option<rust_decimal::Decimal>,
    /// `ProgramOutcome::unit`.
    pub unit: Option<&'a Name>,
    /// `ProgramOutcome::flag`.
    pub flag: bool,
    /// Why the amount is unknown (`ProgramOutcome::error` is its text).
    pub error: Option<&'a EvalError>,
}

/// A parameter in force for a region on a date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParamInForce {
    /// Name.
    pub name: String,
    /// Value (or the error that prevents reading it).
    pub value: String,
    /// Type.
    pub ty: String,
    /// The policy whose definition is used.
    pub policy: String,
    /// Citation of the value or definition.
    pub citation: Option<String>,
    /// Whether it has a value on the date.
    pub status: ParamStatus,
    /// The floors and caps that changed its value on the date.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Clamped>,
}

/// Whether a parameter in force has a value on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamStatus {
    /// It has a value.
    Value,
    /// A definition in force is `required` and nothing supplies a value:
    /// the deployer must (an overlay, `--set`, [`EngineBuilder::set_param`]).
    Required,
    /// Its definitions in force give values only from a later date (or up
    /// to an earlier one): the parameter is not in force on this date.
    NotInForce,
    /// It cannot be read: another parameter it needs has no value, or the
    /// evaluation of its value failed.
    Error,
}

impl Engine {
    /// A builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The shipped policies. With the `generated` feature (on by default)
    /// the engine runs the shipped library's generated code
    /// ([`crate::codegen`]).
    pub fn embedded() -> Result<Engine, crate::pin::BuildError> {
        let engine = EngineBuilder::default().embedded().build()?;
        #[cfg(feature = "generated")]
        let engine = engine.with_shipped_generated();
        Ok(engine)
    }

    /// This engine with the shipped library's generated code attached, if
    /// its policies are the shipped library's (as it is otherwise: the
    /// generated code is only ever a faster way to the same results).
    #[cfg(feature = "generated")]
    pub fn with_shipped_generated(mut self) -> Engine {
        let shipped = &crate::codegen::shipped::GENERATED;
        // The shipped library itself lowers to the code the shipped source
        // was generated from (the test suite regenerates it and fails when it
        // is stale), so its policies' digest is enough; any other policy set
        // (an overlay that only sets figures lowers to the same code) has its
        // lowered code fingerprinted.
        if crate::codegen::policies_digest(&self) == shipped.policies() {
            let exec = &mut Arc::make_mut(&mut self.program).exec;
            exec.generated = Some(shipped.fns());
            exec.generated_rules = Some(shipped.rules());
            return self;
        }
        // other policies keep the lowered code: the same results, only slower
        let _ = self.attach(shipped);
        self
    }

    /// This engine running `generated` (the Rust source
    /// [`crate::codegen::generate`] emitted for these policies, compiled in)
    /// where it would walk its lowered code. Refused, with both
    /// fingerprints, when `generated` was emitted for other policies, another
    /// version of them, or another fupin.
    pub fn with_generated(mut self, generated: &'static crate::codegen::Generated) -> Result<Engine, crate::codegen::GeneratedMismatch> {
        self.attach(generated)?;
        Ok(self)
    }

    /// Attach `generated` if it was generated from this engine's lowered code
    /// (checked before the program is touched, so a program not shared is not copied).
    fn attach(&mut self, generated: &'static crate::codegen::Generated) -> Result<(), crate::codegen::GeneratedMismatch> {
        let engine = crate::codegen::fingerprint(self);
        if engine != generated.fingerprint() {
            return Err(crate::codegen::GeneratedMismatch { generated: generated.fingerprint().to_string(), engine });
        }
        let exec = &mut Arc::make_mut(&mut self.program).exec;
        exec.generated = Some(generated.fns());
        exec.generated_rules = Some(generated.rules());
        Ok(())
    }

    /// Whether evaluations run generated code ([`Engine::with_generated`]).
    pub fn is_generated(&self) -> bool {
        self.program.exec.generated.is_some()
    }

    /// Warnings found while building (rules that may conflict on some households).
    pub fn warnings(&self) -> Diagnostics {
        Diagnostics { items: self.warnings.as_ref().clone(), sources: self.program.sources.clone() }
    }

    /// Every test of the engine's sources, in source order: the tests
    /// written in policy files and those of the standalone test files, which
    /// are parsed on the first call (building an engine does not parse
    /// them). The errors of a standalone test file that does not parse, or
    /// that holds anything but tests, are returned instead.
    pub fn tests(&self) -> Result<&[TestOf], Diagnostics> {
        let all = self.tests.all.get_or_init(|| {
            let mut all = self.program.module.policy_file_tests.clone();
            let errors = standalone_tests(&self.program.sources, &self.tests.deferred, &mut all);
            if !errors.is_empty() {
                return Err(errors);
            }
            // source order, as the files were given
            all.sort_by_key(|(file, _)| *file);
            Ok(all)
        });
        match all {
            Ok(t) => Ok(t),
            Err(items) => Err(Diagnostics { items: items.clone(), sources: self.program.sources.clone() }),
        }
    }

    /// The compiled program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Fresh reusable buffers for [`Engine::evaluate`] and [`Engine::assess_with`].
    pub fn scratch(&self) -> Scratch {
        Scratch::new(&self.program)
    }

    /// Assess a household on a date. Validates the household first.
    pub fn assess(&self, h: &Household, as_of: NaiveDate) -> Result<Assessment, EvalError> {
        let mut s = self.scratch();
        self.assess_with(h, as_of, &mut s)
    }

    /// Assess with reusable buffers (and the trace, if `s` has tracing on).
    /// Validating the household is charged to the step budget
    /// ([`model::validation_steps`]) before it is done: a household too large
    /// for `s.budget` is refused with [`EvalError::Budget`].
    pub fn assess_with(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch) -> Result<Assessment, EvalError> {
        #[cfg(feature = "tracing")]
        let _span = tracing::debug_span!("fupin.assess", household = h.id.as_str(), %as_of).entered();
        let steps = validation_charge(h, s)?;
        model::validate(h, Some(as_of))?;
        eval::evaluate_spent(&self.program, h, as_of, s, steps)?;
        Ok(self.assessment(h, as_of, s))
    }

    /// [`Engine::assess_with`], written over `out`: the assessment
    /// `assess_with` returns, built into the strings, lists and map `out`
    /// holds from an earlier household (a loop that assesses household after
    /// household into one `Assessment` allocates only where one needs more
    /// room than the households before it). Nothing of what `out` held
    /// shows through: `out` is then equal to `assess_with`'s assessment. On
    /// an error `out` is `Assessment::default()`, so a stale assessment is
    /// never read as this one.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = fupin::Engine::embedded()?;
    /// let mut scratch = engine.scratch();
    /// let mut assessment = fupin::Assessment::default();
    /// let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).ok_or("date")?;
    /// for path in ["examples/households/pingshan-dibao.json", "examples/households/pingshan-medical.json"] {
    ///     let household = fupin::parse_household(&std::fs::read_to_string(path)?, Some(as_of))?;
    ///     engine.assess_into(&household, as_of, &mut scratch, &mut assessment)?;
    ///     assert_eq!(assessment, engine.assess(&household, as_of)?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn assess_into(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch, out: &mut Assessment) -> Result<(), EvalError> {
        #[cfg(feature = "tracing")]
        let _span = tracing::debug_span!("fupin.assess", household = h.id.as_str(), %as_of).entered();
        let evaluated = validation_charge(h, s).and_then(|steps| {
            model::validate(h, Some(as_of))?;
            eval::evaluate_spent(&self.program, h, as_of, s, steps)
        });
        match evaluated {
            Ok(()) => {
                self.assessment_into(h, as_of, s, out);
                Ok(())
            }
            Err(e) => {
                // nothing of an earlier household is left to be read as this one
                *out = Assessment::default();
                Err(e)
            }
        }
    }

    /// [`Engine::assess_with`], appending the assessment's JSON to `out`
    /// without building the [`Assessment`]: exactly the bytes
    /// [`crate::assessment::write_json`] writes for the assessment
    /// `assess_with` returns (`tests/differential.rs` and
    /// `tests/properties.rs` compare them). The outer error is the
    /// evaluation's, the inner one writing's (then `out` may hold part of
    /// the assessment). With the trace on, the assessment is built and
    /// written by `write_json`.
    pub fn assess_json(
        &self,
        h: &Household,
        as_of: NaiveDate,
        s: &mut Scratch,
        out: &mut Vec<u8>,
    ) -> Result<serde_json::Result<()>, EvalError> {
        #[cfg(feature = "tracing")]
        let _span = tracing::debug_span!("fupin.assess", household = h.id.as_str(), %as_of).entered();
        // the budget first, as `assess_with` checks it
        validation_charge(h, s)?;
        model::validate(h, Some(as_of))?;
        self.assess_json_validated(h, as_of, s, out)
    }

    /// [`Engine::assess_json`] of a household that passed validation for
    /// `as_of` already ([`model::parse_household`] with `Some(as_of)` does
    /// it): only the validation's charge to the step budget is made again.
    pub(crate) fn assess_json_validated(
        &self,
        h: &Household,
        as_of: NaiveDate,
        s: &mut Scratch,
        out: &mut Vec<u8>,
    ) -> Result<serde_json::Result<()>, EvalError> {
        let steps = validation_charge(h, s)?;
        eval::evaluate_spent(&self.program, h, as_of, s, steps)?;
        Ok(self.write_assessment(h, as_of, s, out))
    }

    /// [`Engine::assess_with`] of a household that passed validation for
    /// `as_of` ([`Engine::parse_household`] with `Some(as_of)` does it),
    /// leaving the results in `s` instead of building the [`Assessment`]:
    /// the same evaluation, the same step budget, the same errors. Read the
    /// programmes as the assessment would list them with
    /// [`Engine::programme_outcomes`].
    pub fn assess_validated(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch) -> Result<(), EvalError> {
        #[cfg(feature = "tracing")]
        let _span = tracing::debug_span!("fupin.assess", household = h.id.as_str(), %as_of).entered();
        let steps = validation_charge(h, s)?;
        eval::evaluate_spent(&self.program, h, as_of, s, steps)
    }

    /// The programmes of the assessment in `s` (after
    /// [`Engine::assess_validated`]), in the assessment's order, without
    /// building it: for each, what [`Assessment::programs`] holds for
    /// eligibility, amount, unit and error, as borrowed views. The same
    /// programmes the assessment lists (those a rule of an applied policy
    /// can define), the same figures.
    pub fn programme_outcomes<'a>(&'a self, s: &'a Scratch) -> impl Iterator<Item = ProgrammeView<'a>> + 'a {
        let p = &*self.program;
        let m = &p.module;
        let applied =
            move |pi: usize| p.writers[pi].iter().any(|r| s.active.get(m.rules[*r as usize].policy as usize).copied().unwrap_or(false));
        // the assessment's map: by programme id, the last applied declaration of an id (as `assess_json` lists them)
        let order =
            p.names.program_groups.iter().filter_map(move |group| group.iter().rev().map(|pi| *pi as usize).find(|pi| applied(*pi)));
        order.map(move |pi| {
            let st = s.progs[pi];
            let (name, unit) = &p.names.programs[pi];
            ProgrammeView {
                programme: name,
                eligible: st.eligible,
                amount: if st.error.is_some() { None } else { st.amount.map(to_fen) },
                unit: if st.amount.is_some() && st.error.is_none() { unit.as_ref() } else { None },
                flag: st.flag,
                error: st.error.and_then(|i| s.errors.get(i as usize)),
            }
        })
    }

    /// The allocation-free core: evaluate into `s` without building an
    /// [`Assessment`]. Read results with [`Scratch::programs`] and
    /// [`Scratch::claim_states`]. The household must be valid.
    pub fn evaluate(&self, h: &Household, as_of: NaiveDate, s: &mut Scratch) -> Result<(), EvalError> {
        eval::evaluate(&self.program, h, as_of, s)
    }

    /// Parse a household from JSON and check it for this engine: the model
    /// (as [`crate::model::parse_household`]) and the facts the loaded
    /// policies declare, each error with its JSON path, line and column. A
    /// required fact is required where a declaring policy is in force for the
    /// household's region (on `as_of`, when given).
    pub fn parse_household(&self, json: &str, as_of: Option<NaiveDate>) -> Result<Household, model::HouseholdError> {
        let h = model::parse_household(json, as_of)?;
        let m = &self.program.module;
        let active: Vec<bool> = m
            .policies
            .iter()
            .map(|p| match as_of {
                Some(d) => p.applies(&h.region, d),
                None => p.applies(&h.region, p.from),
            })
            .collect();
        let errors = self.program.facts.errors(&h, &active);
        match model::earliest_located(json, errors) {
            Some(e) => Err(e),
            None => Ok(h),
        }
    }

    /// Like [`Engine::parse_household`], from bytes (a byte order mark and
    /// invalid UTF-8 are errors, as in [`crate::model::parse_household_bytes`]).
    pub fn parse_household_bytes(&self, json: &[u8], as_of: Option<NaiveDate>) -> Result<Household, model::HouseholdError> {
        match std::str::from_utf8(json) {
            Ok(text) if !text.starts_with('\u{feff}') => self.parse_household(text, as_of),
            // the model's reader says what is wrong with the bytes
            _ => model::parse_household_bytes(json, as_of).and_then(|h| {
                let text = String::from_utf8_lossy(json);
                self.parse_household(&text, as_of).map(|_| h)
            }),
        }
    }

    /// A declared fact by path (`member.study_year`), for setting it on a
    /// record with [`crate::model::Facts::set`].
    pub fn fact(&self, path: &str) -> Result<&model::FactSpec, model::FactError> {
        self.program.facts.find(path).ok_or_else(|| {
            let known: Vec<String> = self.program.facts.specs.iter().map(|s| s.path()).collect();
            let message = if known.is_empty() {
                "no loaded policy declares a fact".to_string()
            } else {
                format!("no loaded policy declares it; the declared facts are {}", known.join(", "))
            };
            model::FactError { fact: path.to_string(), message }
        })
    }

    /// The JSON Schema (draft 2020-12) of a household for the loaded
    /// policies: the core model and the declared facts. With a region (and a
    /// date), only the facts of the policies in force there, and the
    /// required ones required; without, every declared fact, none required
    /// (a required fact is required only where a declaring policy is in force).
    pub fn household_schema(&self, region: Option<&str>, as_of: Option<NaiveDate>) -> serde_json::Value {
        let mut schema = model::json_schema();
        let m = &self.program.module;
        let applies = |p: u32| {
            let pol = &m.policies[p as usize];
            match (region, as_of) {
                (Some(r), Some(d)) => pol.applies(r, d),
                (Some(r), None) => pol.applies(r, pol.from),
                (None, Some(d)) => pol.from <= d && pol.to.is_none_or(|t| d <= t),
                (None, None) => true,
            }
        };
        self.program.facts.extend_json_schema(&mut schema, &applies, region.is_some());
        schema
    }

    /// Every declared fact of the loaded policies.
    pub fn facts(&self) -> &[model::FactSpec] {
        &self.program.facts.specs
    }

    /// The index of a programme by id.
    pub fn program_index(&self, id: &str) -> Option<usize> {
        self.program.module.program(id).map(|p| p as usize)
    }

    /// Every policy of the set (overlays included), in load order: id,
    /// version and content hash, as an assessment names the ones it applied.
    pub fn policies(&self) -> Vec<PolicyRef> {
        let names = &self.program.names;
        names
            .policies
            .iter()
            .map(|(id, version, hash)| PolicyRef { id: id.clone(), version: version.clone(), hash: hash.clone() })
            .collect()
    }

    /// Parameter ids with this name.
    pub fn param_ids(&self, name: &str) -> Vec<u32> {
        self.program.module.params_named(name).collect()
    }

    /// Every parameter in force for a region on a date, with its value and citation.
    pub fn params_in_force(&self, region: &str, as_of: NaiveDate) -> Vec<ParamInForce> {
        self.params_in_force_with(region, as_of, &mut self.scratch())
    }

    /// Every floor or cap whose bound depends on the date (a series, such as
    /// `floor poverty_line`) that changes a parameter's value on some date:
    /// the parameters are read in every region a policy names, on every day a
    /// policy comes into force or a series entry starts (the only days a value
    /// or a bound can change). Constant bounds are build warnings already
    /// ([`Engine::warnings`]); `fupin check` prints both. One entry per
    /// parameter, value, bound and limit, with the region and the first date.
    pub fn dated_clamps(&self) -> Vec<(String, Clamped)> {
        let p = &*self.program;
        let m = &p.module;
        let bounded = |c: &Clamped| {
            let Some(slot) = m.params.iter().find(|s| s.name == c.parameter) else { return false };
            slot.defs.iter().filter(|d| m.policies[d.policy as usize].id == c.policy).any(|d| {
                let b = if c.bound == "cap" { &d.cap } else { &d.floor };
                b.as_ref().is_some_and(|b| constant_bound(p, b).is_none())
            })
        };
        if !m.params.iter().any(|s| s.defs.iter().any(|d| d.floor.is_some() || d.cap.is_some())) {
            return Vec::new();
        }
        let regions: std::collections::BTreeSet<&str> = m.policies.iter().map(|x| x.region.as_str()).collect();
        let mut dates: std::collections::BTreeSet<NaiveDate> = m.policies.iter().map(|x| x.from).collect();
        for slot in &m.params {
            for d in &slot.defs {
                dates.extend(d.entries.iter().filter_map(|e| e.from));
            }
        }
        let mut s = self.scratch();
        let mut out: Vec<(String, Clamped)> = Vec::new();
        for region in regions {
            for &date in &dates {
                for w in self.params_in_force_with(region, date, &mut s).into_iter().flat_map(|x| x.warnings) {
                    let seen = out.iter().any(|(_, c)| {
                        (&c.parameter, &c.value, &c.source, &c.bound, &c.limit, &c.policy)
                            == (&w.parameter, &w.value, &w.source, &w.bound, &w.limit, &w.policy)
                    });
                    if !seen && bounded(&w) {
                        out.push((region.to_string(), w));
                    }
                }
            }
        }
        out
    }

    fn params_in_force_with(&self, region: &str, as_of: NaiveDate, s: &mut Scratch) -> Vec<ParamInForce> {
        let p = &*self.program;
        let m = &p.module;
        let h = Household {
            id: String::new(),
            region: region.to_string(),
            hukou: model::Hukou::Rural,
            poverty: Default::default(),
            dibao: Default::default(),
            tekun: model::Tekun::None,
            income: Default::default(),
            housing: Default::default(),
            deep_poverty_area: false,
            harsh_area: false,
            soil_erosion_area: false,
            relocation: model::Relocation::None,
            forest_mu: Default::default(),
            hardship: model::Hardship::None,
            members: Vec::new(),
            loans: Vec::new(),
            facts: Default::default(),
            defaulted: Default::default(),
        };
        s.set_trace(true);
        let mut out = Vec::new();
        let mut order: Vec<usize> = (0..m.params.len()).collect();
        // general to specific, then declaration order
        order.sort_by_key(|i| m.params[*i].defs.last().map(|d| m.policies[d.policy as usize].rank()).unwrap_or(0));
        for i in order {
            let slot = &m.params[i];
            let Some(def) = slot.defs.iter().find(|d| m.policies[d.policy as usize].applies(region, as_of)) else { continue };
            let here = |d: &&check::ParamDef| m.policies[d.policy as usize].applies(region, as_of);
            let (value, policy, citation, status) = match eval::read_param(p, &h, as_of, s, i as u32) {
                Ok((v, pol, cite)) => (v, pol, cite, ParamStatus::Value),
                Err(EvalError::MissingParameter { name, date, .. }) if name == slot.name && date == as_of.to_string() => {
                    match slot.defs.iter().filter(here).find(|d| d.required && d.entries.is_empty()) {
                        Some(req) => (
                            format!("(required: not supplied; give it with `--set {}=VALUE` or in an overlay)", slot.name),
                            m.policies[req.policy as usize].id.clone(),
                            req.cite.clone(),
                            ParamStatus::Required,
                        ),
                        None => {
                            let first = slot.defs.iter().filter(here).filter_map(|d| d.entries.first().and_then(|e| e.from)).min();
                            let when = match first {
                                Some(f) if f > as_of => format!("its first value is from {f}"),
                                _ => "no value is given for it".to_string(),
                            };
                            (
                                format!("(not in force on {as_of}: {when})"),
                                m.policies[def.policy as usize].id.clone(),
                                def.cite.clone(),
                                ParamStatus::NotInForce,
                            )
                        }
                    }
                }
                Err(e) => {
                    (format!("(cannot be read: {e})"), m.policies[def.policy as usize].id.clone(), def.cite.clone(), ParamStatus::Error)
                }
            };
            let warnings = s.clamps.iter().filter(|c| c.param as usize == i && c.date == as_of).map(|c| self.clamped(c)).collect();
            out.push(ParamInForce { name: slot.name.clone(), value, ty: slot.ty.to_string(), policy, citation, status, warnings });
        }
        out
    }
}

/// Positions of a sequence grouped by key (a counting sort): the positions
/// with key `k`, in order, are `get(k)`; keys outside `0..n` are left out.
#[derive(Debug, Clone, Default)]
struct Buckets {
    starts: Vec<usize>,
    positions: Vec<u32>,
    next: Vec<usize>,
}

impl Buckets {
    /// Refill with `n` buckets of `keys`, reusing the allocations.
    fn fill(&mut self, n: usize, keys: impl Iterator<Item = usize> + Clone) {
        let starts = &mut self.starts;
        starts.clear();
        starts.resize(n + 1, 0);
        for k in keys.clone() {
            if k < n {
                starts[k + 1] += 1;
            }
        }
        for k in 0..n {
            starts[k + 1] += starts[k];
        }
        self.next.clear();
        self.next.extend_from_slice(starts);
        self.positions.clear();
        self.positions.resize(starts[n], 0);
        for (i, k) in keys.enumerate() {
            if k < n {
                self.positions[self.next[k]] = i as u32;
                self.next[k] += 1;
            }
        }
    }

    fn get(&self, k: usize) -> &[u32] {
        match (self.starts.get(k), self.starts.get(k + 1)) {
            (Some(&a), Some(&b)) => self.positions.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// A set that is a short list while it is small (most reasons list a few
/// subjects: no hashing, no allocation for none) and a hash set beyond.
#[derive(Debug, Clone)]
struct Seen<T> {
    small: Vec<T>,
    big: Option<std::collections::HashSet<T>>,
}

impl<T> Default for Seen<T> {
    fn default() -> Self {
        Seen { small: Vec::new(), big: None }
    }
}

impl<T: Eq + std::hash::Hash + Clone> Seen<T> {
    const SMALL: usize = 16;

    fn clear(&mut self) {
        self.small.clear();
        self.big = None;
    }

    /// Add `x`: whether it was new.
    fn insert(&mut self, x: T) -> bool {
        if let Some(big) = &mut self.big {
            return big.insert(x);
        }
        if self.small.contains(&x) {
            return false;
        }
        if self.small.len() < Self::SMALL {
            self.small.push(x);
        } else {
            let mut big: std::collections::HashSet<T> = self.small.drain(..).collect();
            big.insert(x);
            self.big = Some(big);
        }
        true
    }
}

/// The steps validating `h` charges to the budget of `s`, or the budget
/// error when they are more than it allows (before anything else is done).
fn validation_charge(h: &Household, s: &Scratch) -> Result<u64, EvalError> {
    let steps = model::validation_steps(h);
    if steps > s.budget {
        return Err(EvalError::Budget { limit: s.budget });
    }
    Ok(steps)
}
