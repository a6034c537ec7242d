//! Generated Rust: a policy set's lowered code ([`crate::exec`]) emitted as
//! Rust source, compiled into the program that assesses with it.
//!
//! The generated engine is the third tier: it runs where the lowered code
//! would walk its nodes, one native function per expression, and shares
//! everything else with it — rule order, exceptions, the claim cascade,
//! tallies, the step budget — and, as the lowered code does, it hands an
//! evaluation it cannot finish exactly to the IR evaluator, which decides.
//! So all three give the same results (`tests/differential.rs`), and the
//! generated code only makes them faster. Parameters are still read at run
//! time: deployer settings ([`crate::EngineBuilder::set_param`]), `--set`
//! and dated values work without regenerating.
//!
//! The generated source is tied to the policy set it was generated from by
//! a fingerprint (a SHA-256 of the source and the fupin version):
//! [`crate::Engine::with_generated`] attaches it only to an engine whose
//! policies lower to the same code, and refuses any other with
//! [`GeneratedMismatch`] — a stale generated engine is an error, never a
//! wrong figure.
//!
//! From a build script, in the style of `prost-build` (`fupin` as a build
//! dependency, without its default `cli` feature):
//!
//! ```no_run
//! // in build.rs's `fn main`:
//! fupin::codegen::Builder::new().embedded().policy_dir("policies").compile().unwrap_or_else(|e| panic!("{e}"));
//! ```
//!
//! and in the crate, a module that includes what it wrote,
//!
//! ```text
//! mod policies {
//!     include!(concat!(env!("OUT_DIR"), "/fupin_generated.rs"));
//! }
//! ```
//!
//! attached to the engine of the same policies (here the shipped library's
//! generated engine stands in for `policies::GENERATED`):
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = fupin::Engine::builder().embedded().build()?;
//! let engine = engine.with_generated(&fupin::codegen::shipped::GENERATED)?;
//! assert!(engine.is_generated());
//! # Ok(())
//! # }
//! ```
//!
//! The shipped library's generated engine is checked in
//! (`src/codegen/shipped.rs`, behind the `generated` feature, on by
//! default): [`crate::Engine::embedded`] attaches it. `tests/generated.rs`
//! fails when it is stale; `FUPIN_REGENERATE=1 cargo test --release --test
//! generated` rewrites it.

mod emit;

use crate::exec::native::{GenFn, RuleFn};
use crate::{Engine, EngineBuilder};
use sha2::{Digest, Sha256};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A generated engine: the native functions of a policy set's lowered code,
/// the fingerprint of the code they were generated from, and the digest of
/// the policies that code was lowered from.
#[derive(Debug)]
pub struct Generated {
    fingerprint: &'static str,
    policies: &'static str,
    fns: &'static [Option<GenFn>],
    rules: &'static [Option<RuleFn>],
}

impl Generated {
    /// What generated source declares (not for hand-written code).
    #[doc(hidden)]
    pub const fn new(
        fingerprint: &'static str,
        policies: &'static str,
        fns: &'static [Option<GenFn>],
        rules: &'static [Option<RuleFn>],
    ) -> Generated {
        Generated { fingerprint, policies, fns, rules }
    }

    /// The fingerprint of the lowered code this was generated from.
    pub fn fingerprint(&self) -> &'static str {
        self.fingerprint
    }

    /// The digest of the policies (ids, versions and content hashes) the
    /// code was lowered from ([`policies_digest`]).
    pub fn policies(&self) -> &'static str {
        self.policies
    }

    /// How many of the policy set's rules run as one generated function
    /// each, and how many rules it has (the others run their expressions'
    /// generated functions, or the lowered code's walk where an expression
    /// has no generated form).
    pub fn rules_generated(&self) -> (usize, usize) {
        (self.rules.iter().flatten().count(), self.rules.len())
    }

    pub(crate) fn fns(&self) -> &'static [Option<GenFn>] {
        self.fns
    }

    pub(crate) fn rules(&self) -> &'static [Option<RuleFn>] {
        self.rules
    }
}

/// A generated engine offered to an engine whose policies lower to other
/// code (another policy set, another version of a policy, another fupin).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the generated engine does not match these policies: it was generated from code with fingerprint {generated}, \
     they lower to {engine}; regenerate it from these policies"
)]
pub struct GeneratedMismatch {
    /// The fingerprint the generated engine carries.
    pub generated: String,
    /// The fingerprint of the engine's lowered code.
    pub engine: String,
}

/// The Rust source of `engine`'s generated form: a file that declares
/// `pub static GENERATED: fupin::codegen::Generated`, to be `include!`d in
/// a module of the crate that assesses with it.
pub fn generate(engine: &Engine) -> String {
    let p = engine.program();
    let body = emit::body(&p.exec);
    let fp = fingerprint_of(&body);
    let mut out = String::new();
    let _ =
        writeln!(out, "// @generated by fupin {} (fupin::codegen). Do not edit; regenerate from the policies.", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "// policies:");
    for (pol, hash) in p.module.policies.iter().zip(&p.hashes) {
        let _ = writeln!(out, "//   {} {} {hash}", pol.id, pol.version);
    }
    let (typed, ir) = p.exec.coverage();
    let generated = p.exec.codes().count();
    let _ = writeln!(out, "// {generated} expressions, {typed} typed nodes, {ir} evaluated by the IR evaluator in place.\n");
    out.push_str("#[allow(unused_imports)]\nuse fupin::exec::native::*;\n\n");
    out.push_str(&body);
    let policies = policies_digest(engine);
    let _ = writeln!(
        out,
        "\n/// The generated engine of the policies above ([`fupin::Engine::with_generated`]).\npub static GENERATED: fupin::codegen::Generated = fupin::codegen::Generated::new(\"{fp}\", \"{policies}\", &FNS, &RULES);"
    );
    out
}

/// The digest of `engine`'s policies: a SHA-256 of the fupin version and of
/// each policy's id, version and content hash, in load order. Two engines
/// of one fupin with the same digest lower to the same code; the engine
/// trusts that for the shipped library's generated code alone, whose
/// freshness the test suite checks, and compares [`fingerprint`]s for every
/// other.
pub fn policies_digest(engine: &Engine) -> String {
    let p = engine.program();
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for (pol, hash) in p.module.policies.iter().zip(&p.hashes) {
        for part in [pol.id.as_str(), pol.version.as_str(), hash.as_str()] {
            h.update([0]);
            h.update(part.as_bytes());
        }
    }
    hex(&h.finalize())
}

/// The fingerprint of `engine`'s lowered code: what [`Generated::fingerprint`]
/// must be for [`crate::Engine::with_generated`] to accept it.
pub fn fingerprint(engine: &Engine) -> String {
    fingerprint_of(&emit::body(&engine.program().exec))
}

fn fingerprint_of(body: &str) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(body.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Why a generated engine could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// A policy directory could not be read.
    #[error(transparent)]
    Load(#[from] crate::policy::LoadError),
    /// The policies do not build (every diagnostic, rendered).
    #[error("the policies do not build:\n{0}")]
    Build(String),
    /// `OUT_DIR` is not set (not in a build script) and no output path was given.
    #[error("OUT_DIR is not set: call Builder::compile from a build script, or Builder::write_to with a path")]
    NoOutDir,
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Generates the Rust source of a policy set, from a build script.
#[derive(Debug, Default)]
pub struct Builder {
    engine: EngineBuilder,
    dirs: Vec<PathBuf>,
    file_name: Option<String>,
}

impl Builder {
    /// No policies yet.
    pub fn new() -> Builder {
        Builder::default()
    }
    /// Add the policies shipped with fupin.
    pub fn embedded(mut self) -> Builder {
        self.engine = self.engine.embedded();
        self
    }
    /// Add every `*.policy` file under `dir` (read when the code is generated).
    pub fn policy_dir(mut self, dir: impl AsRef<Path>) -> Builder {
        self.dirs.push(dir.as_ref().to_path_buf());
        self
    }
    /// The name of the file [`Builder::compile`] writes in `OUT_DIR`
    /// (default `fupin_generated.rs`).
    pub fn file_name(mut self, name: impl Into<String>) -> Builder {
        self.file_name = Some(name.into());
        self
    }

    /// The generated source of the policies.
    pub fn generate(&self) -> Result<String, CodegenError> {
        let mut b = self.engine.clone();
        for d in &self.dirs {
            b = b.path(d)?;
        }
        let engine = b.build().map_err(|d| CodegenError::Build(d.render()))?;
        Ok(generate(&engine))
    }

    /// Write the generated source to `path`.
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<(), CodegenError> {
        let src = self.generate()?;
        let path = path.as_ref();
        std::fs::write(path, src).map_err(|source| CodegenError::Io { path: path.display().to_string(), source })
    }

    /// From a build script: write the generated source to `OUT_DIR` and
    /// tell cargo to run the script again when a policy directory changes.
    /// Returns the path written.
    pub fn compile(&self) -> Result<PathBuf, CodegenError> {
        let out = std::env::var_os("OUT_DIR").ok_or(CodegenError::NoOutDir)?;
        for d in &self.dirs {
            println!("cargo:rerun-if-changed={}", d.display());
        }
        let path = Path::new(&out).join(self.file_name.as_deref().unwrap_or("fupin_generated.rs"));
        self.write_to(&path)?;
        Ok(path)
    }
}

/// The shipped library's generated engine (`src/codegen/shipped.rs`).
#[cfg(feature = "generated")]
pub mod shipped {
    include!("shipped.rs");
}
