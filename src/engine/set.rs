//! Where a deployment's policies come from: the one description the command
//! line, `fupin-serve` and the Python package build their engine from.
//!
//! ```
//! let set = fupin::PolicySet::embedded().with_setting("basic_deductible", "500");
//! let engine = set.build().map_err(|e| e.render()).unwrap();
//! assert!(engine.program_index("dibao").is_some());
//! ```

use super::{Engine, EngineBuilder};
use crate::pin::{BuildError, LockError, Lockfile};
use crate::policy::LoadError;
use std::path::PathBuf;

/// A policy set: the embedded library or a directory, overlays on top,
/// deployer settings above every policy, and optionally a lockfile that
/// pins the versions used (verified by hash before anything is built).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicySet {
    /// The policies under this directory instead of the embedded ones.
    pub policies: Option<PathBuf>,
    /// Overlay files (deployment parameters), added in order.
    pub overlays: Vec<PathBuf>,
    /// `NAME=VALUE` settings, as [`EngineBuilder::set_param`].
    pub settings: Vec<(String, String)>,
    /// A lockfile every policy of the set must match ([`EngineBuilder::pinned`]).
    pub lock: Option<PathBuf>,
}

/// Why a [`PolicySet`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicySetError {
    /// A policy directory or overlay could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The lockfile could not be read or parsed.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A setting is not `NAME=VALUE`.
    #[error("setting `{0}`: write NAME=VALUE")]
    Setting(String),
    /// Pins did not match, or the policies have errors.
    #[error(transparent)]
    Build(#[from] BuildError),
}

impl PolicySetError {
    /// The error as a reader sees it: for policy errors every diagnostic,
    /// rustc-style with file:line:column and the source line.
    pub fn render(&self) -> String {
        match self {
            PolicySetError::Build(e) => e.clone().into_diagnostics().render(),
            other => format!("error: {other}\n"),
        }
    }
}

impl PolicySet {
    /// The embedded library, nothing added.
    pub fn embedded() -> PolicySet {
        PolicySet::default()
    }

    /// The policies under `dir` instead of the embedded ones.
    pub fn dir(dir: impl Into<PathBuf>) -> PolicySet {
        PolicySet { policies: Some(dir.into()), ..PolicySet::default() }
    }

    /// Add an overlay file.
    pub fn with_overlay(mut self, file: impl Into<PathBuf>) -> PolicySet {
        self.overlays.push(file.into());
        self
    }

    /// Set a parameter (as [`EngineBuilder::set_param`]).
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> PolicySet {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Add a `NAME=VALUE` setting as written on a command line.
    pub fn with_setting_arg(self, arg: &str) -> Result<PolicySet, PolicySetError> {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(PolicySetError::Setting(arg.to_string()));
        };
        Ok(self.with_setting(name.trim(), value))
    }

    /// Pin every policy to the versions and hashes of this lockfile.
    pub fn with_lock(mut self, file: impl Into<PathBuf>) -> PolicySet {
        self.lock = Some(file.into());
        self
    }

    /// Read every file of the set into a builder (nothing is parsed yet).
    pub fn builder(&self) -> Result<EngineBuilder, PolicySetError> {
        let mut b = Engine::builder();
        b = match &self.policies {
            Some(dir) => b.path(dir)?,
            None => b.embedded(),
        };
        for o in &self.overlays {
            b = b.path(o)?;
        }
        for (name, value) in &self.settings {
            b = b.set_param(name.clone(), value.clone());
        }
        if let Some(lock) = &self.lock {
            b = b.pinned(&Lockfile::load(lock)?);
        }
        Ok(b)
    }

    /// Read, verify pins, parse, check and compile. A set built on the
    /// embedded library runs the shipped generated code when the policies
    /// lower to it (the `generated` feature): the same results, faster.
    pub fn build(&self) -> Result<Engine, PolicySetError> {
        let engine = self.builder()?.build()?;
        #[cfg(feature = "generated")]
        let engine = if self.policies.is_none() { engine.with_shipped_generated() } else { engine };
        Ok(engine)
    }
}
