//! A service's engine, swapped for a new policy set without a restart.
//!
//! [`SharedEngine`] holds the engine in force behind an `Arc`: a request
//! takes the current one ([`SharedEngine::current`]) and assesses with it to
//! the end, whatever is swapped in meanwhile. [`SharedEngine::reload`]
//! builds the new set first — pins verified, every diagnostic collected —
//! and swaps it in only if it builds: a set that fails leaves the engine in
//! force as it was, and the error says why.

use super::{Engine, EngineBuilder, PolicySet, PolicySetError};
use crate::pin::BuildError;
use std::sync::{Arc, RwLock};

/// The engine in force, shared by the threads of a service.
#[derive(Debug)]
pub struct SharedEngine {
    /// The engine in force and how many times an engine was swapped in
    /// before it: read together, so a request knows which set answered it.
    current: RwLock<(Arc<Engine>, u64)>,
}

impl SharedEngine {
    /// Share `engine`.
    pub fn new(engine: Engine) -> SharedEngine {
        SharedEngine { current: RwLock::new((Arc::new(engine), 0)) }
    }

    /// The engine in force: an assessment holding it runs on it to the end.
    pub fn current(&self) -> Arc<Engine> {
        self.current_with_generation().0
    }

    /// The engine in force and its generation, read at one instant (a
    /// swap between two separate reads would pair one set's engine with the
    /// other's number).
    pub fn current_with_generation(&self) -> (Arc<Engine>, u64) {
        // the lock guards a pointer swap only: a panic cannot leave it half done
        let slot = self.current.read().unwrap_or_else(|p| p.into_inner());
        (Arc::clone(&slot.0), slot.1)
    }

    /// Build `builder` (pins and selections applied and verified, as
    /// [`EngineBuilder::build`]) and, if it builds, put it in force;
    /// returns the engine it replaced. If it does not build, nothing changes.
    pub fn reload(&self, builder: EngineBuilder) -> Result<Arc<Engine>, BuildError> {
        let next = Arc::new(builder.build()?);
        Ok(self.swap(next))
    }

    /// Build `set` ([`PolicySet::build`]: files read again, pins verified)
    /// and, if it builds, put it in force; returns the engine it replaced.
    /// If it does not build, nothing changes.
    pub fn reload_set(&self, set: &PolicySet) -> Result<Arc<Engine>, PolicySetError> {
        let next = Arc::new(set.build()?);
        Ok(self.swap(next))
    }

    /// Put `engine` in force; returns the engine it replaced.
    pub fn swap(&self, engine: Arc<Engine>) -> Arc<Engine> {
        let mut slot = self.current.write().unwrap_or_else(|p| p.into_inner());
        let generation = slot.1 + 1;
        std::mem::replace(&mut *slot, (engine, generation)).0
    }

    /// How many engines were swapped in since this one was shared.
    pub fn generation(&self) -> u64 {
        self.current_with_generation().1
    }
}
