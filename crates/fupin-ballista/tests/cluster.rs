//! The county query on a Ballista cluster: a scheduler and two executors in
//! this process on localhost, each with the fupin functions in its function
//! registry (the plans name them; the executors look them up by name). The
//! totals must be those of plain DataFusion, and fupin's own.
//!
//! `cargo test -p fupin-ballista` (a first build takes a while: Ballista brings
//! DataFusion with its default features, gRPC and Arrow Flight).

mod common;

use common::{totals, COUNTY_QUERY};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use fupin::Engine;
use std::sync::Arc;

const HOUSEHOLDS: u64 = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_county_query_on_two_executors() {
    let engine = Arc::new(Engine::embedded().expect("embedded policies build"));
    let records: Vec<String> = (0..HOUSEHOLDS).map(|i| fupin_registry::generate::household(2018, i)).collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    // several files, so that the scan is split between the executors
    for (n, chunk) in records.chunks(500).enumerate() {
        let path = dir.path().join(format!("part-{n}.parquet"));
        fupin_datafusion::write_parquet(&engine, &path, chunk).expect("written");
    }
    let table = dir.path().to_str().expect("a path").to_string();
    let sql = COUNTY_QUERY;

    // fupin's own figures
    let want = common::engine_totals(&engine, &records);

    // plain DataFusion
    let local = SessionContext::new();
    local.register_parquet("households", &table, ParquetReadOptions::default()).await.expect("registered");
    fupin_datafusion::register(&local, engine.clone());
    let local_totals = totals(&local.sql(sql).await.expect("planned").collect().await.expect("ran"));
    assert_eq!(local_totals, want);

    // the cluster: a scheduler and two executors, each with its own engine
    // of the same policies in its function registry
    let (ctx, _scheduler) = fupin_ballista::standalone(engine.clone(), 2, 2).await.expect("a cluster");
    ctx.register_parquet("households", &table, ParquetReadOptions::default()).await.expect("registered");
    let batches = ctx.sql(sql).await.expect("planned").collect().await.expect("ran on the cluster");
    assert_eq!(totals(&batches), want);

    // an unknown amount fails on the cluster too, naming a household
    let e = ctx
        .sql("SELECT sum(fupin_amount(household, DATE '2018-06-01', 'medical.premium_subsidy')) FROM households")
        .await
        .expect("planned")
        .collect()
        .await
        .expect_err("an unknown amount is an error");
    assert!(e.to_string().contains("SJZ-"), "{e}");
}

/// The query runs on the executors, not in the client: with executors that
/// lack fupin's functions (the scheduler and the client have them), the
/// same query fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn executors_without_the_functions_cannot_run_the_query() {
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    let engine = Arc::new(Engine::embedded().expect("embedded policies build"));
    let records: Vec<String> = (0..200).map(|i| fupin_registry::generate::household(2018, i)).collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    fupin_datafusion::write_parquet(&engine, &dir.path().join("part-0.parquet"), &records).expect("written");
    let state = fupin_ballista::session_state(engine.clone(), 2).expect("a session state");
    let scheduler = ballista_scheduler::standalone::new_standalone_scheduler_from_state(&state).await.expect("a scheduler");
    // an executor of a plain Ballista session: no fupin functions
    let plain = datafusion::execution::SessionStateBuilder::new()
        .with_default_features()
        .with_config(<datafusion::prelude::SessionConfig as ballista::prelude::SessionConfigExt>::new_with_ballista())
        .build();
    let url = format!("http://localhost:{}", scheduler.port());
    let client = loop {
        match SchedulerGrpcClient::connect(url.clone()).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    ballista_executor::new_standalone_executor_from_state(client, 2, &plain).await.expect("an executor");
    let ctx = fupin_ballista::connect(&format!("df://localhost:{}", scheduler.port()), engine, 2).await.expect("connected");
    ctx.register_parquet("households", dir.path().to_str().expect("a path"), ParquetReadOptions::default()).await.expect("registered");
    let r = ctx
        .sql("SELECT sum(fupin_amount(household, DATE '2018-06-01', 'dibao')) FROM households")
        .await
        .expect("planned in the client")
        .collect()
        .await;
    let e = r.expect_err("the executor cannot decode a plan that calls fupin_amount");
    assert!(e.to_string().contains("fupin_amount"), "{e}");
}
