//! The `fupin-ballista` program as a cluster would run it: a scheduler and
//! two executors, each a process of its own with its own engine, on
//! 127.0.0.1; a client connects and runs the county query, and gets the
//! engine's own totals.

mod common;

use fupin::Engine;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// Kills the processes when the test ends, however it ends.
struct Cluster(Vec<Child>);

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// How many files are under `dir`.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.filter_map(Result::ok).map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
}

/// `n` distinct ports nothing listens on now (all held at once while they
/// are chosen, so no two are the same).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    held.iter().map(|l| l.local_addr().map(|a| a.port()).expect("a bound port")).collect()
}

/// Start `fupin-ballista ARGS`, its standard error to `log` (shown if it stops).
fn spawn(args: &[&str], log: &std::path::Path) -> Child {
    let err = std::fs::File::create(log).expect("a log file");
    Command::new(env!("CARGO_BIN_EXE_fupin-ballista")).args(args).stdout(Stdio::null()).stderr(err).spawn().expect("fupin-ballista starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scheduler_and_two_executor_processes_answer_the_county_query() {
    let engine = Arc::new(Engine::embedded().expect("embedded policies build"));
    let records: Vec<String> = (0..1200).map(|i| fupin_registry::generate::household(2018, i)).collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    for (n, chunk) in records.chunks(300).enumerate() {
        fupin_datafusion::write_parquet(&engine, &dir.path().join(format!("part-{n}.parquet")), chunk).expect("written");
    }
    let want = common::engine_totals(&engine, &records);

    let ports: Vec<String> = free_ports(5).iter().map(u16::to_string).collect();
    let port = ports[0].clone();
    let logs = tempfile::tempdir().expect("a temp dir");
    let log = |i: usize| logs.path().join(format!("process-{i}.log"));
    let mut cluster = Cluster(vec![spawn(&["scheduler", "--bind", "127.0.0.1", "--port", &port, "--external-host", "127.0.0.1"], &log(0))]);
    let scheduler = format!("127.0.0.1:{port}");
    for k in 0..2 {
        let (flight, grpc) = (ports[1 + 2 * k].clone(), ports[2 + 2 * k].clone());
        let work = dir.path().join(format!("work-{flight}"));
        std::fs::create_dir_all(&work).expect("a work dir");
        cluster.0.push(spawn(
            &[
                "executor",
                "--scheduler",
                &scheduler,
                "--bind",
                "127.0.0.1",
                "--external-host",
                "127.0.0.1",
                "--port",
                &flight,
                "--grpc-port",
                &grpc,
                "--slots",
                "2",
                "--work-dir",
                work.to_str().expect("a path"),
            ],
            &log(1 + k),
        ));
    }

    // the processes take a moment to start and register
    let mut last = String::new();
    for _ in 0..100 {
        for (i, c) in cluster.0.iter_mut().enumerate() {
            let status = c.try_wait().expect("a process");
            if status.is_some() {
                let said = std::fs::read_to_string(log(i)).unwrap_or_default();
                panic!("cluster process {i} (0: the scheduler) stopped: {status:?} (ports {ports:?}); it said: {said}");
            }
        }
        let got = async {
            let ctx = fupin_ballista::connect(&format!("df://127.0.0.1:{port}"), engine.clone(), 4).await.map_err(|e| e.to_string())?;
            ctx.register_parquet("households", dir.path().to_str().expect("a path"), Default::default())
                .await
                .map_err(|e| e.to_string())?;
            ctx.sql(common::COUNTY_QUERY).await.map_err(|e| e.to_string())?.collect().await.map_err(|e| e.to_string())
        }
        .await;
        match got {
            Ok(batches) => {
                assert_eq!(common::totals(&batches), want);
                // the executors ran the stages: their shuffle files are in their work dirs
                let written = std::fs::read_dir(dir.path())
                    .expect("the temp dir")
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("work-"))
                    .filter(|e| walk(&e.path()) > 0)
                    .count();
                assert!(written >= 1, "no executor wrote shuffle data");
                return;
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the cluster did not answer in 20 s: {last}");
}
