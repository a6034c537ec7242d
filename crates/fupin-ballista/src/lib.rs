//! fupin on [Apache Ballista](https://datafusion.apache.org/ballista/): the
//! scalar functions of [`fupin_datafusion`] (`fupin_amount`,
//! `fupin_eligible`, `fupin_assess`) on a cluster.
//!
//! Ballista ships a query plan to its executors by name: a plan that calls
//! `fupin_amount` runs on an executor only if that executor's function
//! registry has a function of that name. So the scheduler (which decodes
//! and plans the query), every executor (which runs its part) and the client
//! are all built from one [`SessionState`] with the functions registered —
//! [`session_state`] — each with its own engine of the same policies, built
//! where it runs (an engine is not sent over the wire).
//!
//! [`standalone`] starts a scheduler and executors in this process on
//! localhost (what the tests and a laptop use); `docs/scale.md` explains a
//! real cluster.

use ballista::prelude::SessionConfigExt;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use fupin::Engine;
use std::net::SocketAddr;
use std::sync::Arc;

/// What can go wrong starting a cluster.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A Ballista session state with fupin's functions registered, over
/// `engine`, with `partitions` target partitions (at least one: 0 is
/// taken as 1).
pub fn session_state(engine: Arc<Engine>, partitions: usize) -> Result<SessionState, Error> {
    let config = SessionConfig::new_with_ballista().with_target_partitions(partitions.max(1));
    let mut state = SessionStateBuilder::new().with_default_features().with_config(config).build();
    for udf in [
        fupin_datafusion::fupin_amount(engine.clone()),
        fupin_datafusion::fupin_eligible(engine.clone()),
        fupin_datafusion::fupin_assess(engine),
    ] {
        state.register_udf(Arc::new(udf))?;
    }
    Ok(state)
}

/// A client session on the scheduler at `url` (`df://HOST:PORT`), with
/// fupin's functions over `engine` (Ballista's client session replaces the
/// state's scalar functions with its own set, so they are registered again
/// on it).
pub async fn connect(url: &str, engine: Arc<Engine>, partitions: usize) -> Result<SessionContext, Error> {
    use ballista::extension::SessionContextExt;
    let state = session_state(engine.clone(), partitions)?;
    let ctx = SessionContext::remote_with_state(url, state).await?;
    fupin_datafusion::register(&ctx, engine);
    Ok(ctx)
}

/// A scheduler and `executors` executors of `slots` task slots each (at
/// least one of each: 0 is taken as 1), in this process on localhost, all
/// with fupin's functions over `engine`; and a client session connected to
/// it ([`connect`]) with one target partition per task slot.
pub async fn standalone(engine: Arc<Engine>, executors: usize, slots: usize) -> Result<(SessionContext, SocketAddr), Error> {
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    let partitions = executors.max(1) * slots.max(1);
    let state = session_state(engine.clone(), partitions)?;
    let scheduler = ballista_scheduler::standalone::new_standalone_scheduler_from_state(&state).await?;
    let url = format!("http://localhost:{}", scheduler.port());
    for _ in 0..executors.max(1) {
        let mut tries = 0;
        let client = loop {
            match SchedulerGrpcClient::connect(url.clone()).await {
                Ok(c) => break c,
                Err(e) if tries >= 100 => return Err(format!("the scheduler at {url} did not answer: {e}").into()),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        };
        ballista_executor::new_standalone_executor_from_state(client, slots.max(1), &state).await?;
    }
    let ctx = connect(&format!("df://localhost:{}", scheduler.port()), engine, partitions).await?;
    Ok((ctx, scheduler))
}

/// The Rust examples of `docs/scale.md`, compiled as doctests.
#[doc = include_str!("../../../docs/scale.md")]
#[doc(hidden)]
pub struct ScaleDoctests;
