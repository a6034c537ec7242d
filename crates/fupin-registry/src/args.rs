//! The command-line options that say which policy set a program assesses
//! with, shared by the programs that take them (`fupin-registry`,
//! `fupin-ballista`), so that they read them alike.

use fupin::PolicySet;
use std::path::PathBuf;

/// Where a policy set comes from.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Use the policies under DIR instead of the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Add an overlay file (deployment parameters); may be repeated.
    #[arg(long, value_name = "FILE")]
    pub overlay: Vec<PathBuf>,
    /// Set a parameter above every policy (`--set basic_rate=75%`); may be repeated.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Use exactly the policy versions of this lockfile, each verified by its content hash.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
}

impl PolicyArgs {
    /// The policy set these options name (a malformed `--set` is an error that says so).
    pub fn policy_set(&self) -> Result<PolicySet, String> {
        let mut set = PolicySet::default();
        set.policies = self.policies.clone();
        set.overlays = self.overlay.clone();
        set.lock = self.lock.clone();
        for s in &self.set {
            set = set.with_setting_arg(s).map_err(|e| format!("--set: {e}"))?;
        }
        Ok(set)
    }
}
