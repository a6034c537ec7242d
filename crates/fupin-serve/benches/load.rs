//! A bounded load test of `fupin serve`: `cargo bench -p fupin-serve --bench load`.
//!
//! Starts the service on 127.0.0.1, then CLIENTS threads, each with one
//! keep-alive connection, send REQUESTS `/assess` requests in all, cycling
//! through the example households; prints requests per second and the
//! 50th and 99th percentile latencies. Client and server share this
//! machine's cores, so the figures are for comparing builds side by side,
//! not a capacity.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

const REQUESTS: usize = 20_000;

fn main() {
    let clients: usize = std::env::var("FUPIN_LOAD_CLIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let server = common::Server::start(&["--overlay", common::root().join("examples/overlays/pingshan.policy").to_str().unwrap()]);
    let mut households: Vec<Vec<u8>> = Vec::new();
    for entry in std::fs::read_dir(common::root().join("examples/households")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            households.push(std::fs::read(path).unwrap());
        }
    }
    households.sort();
    let path = "/assess?as_of=2020-06-01";
    // warm up
    let mut c = server.conn();
    for h in &households {
        let a = c.post(path, h);
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let per_client = REQUESTS / clients;
    let start = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|k| {
                let households = &households;
                let addr = server.addr;
                s.spawn(move || {
                    let mut c = common::Conn::open(addr);
                    let mut out = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        let h = &households[(i + k) % households.len()];
                        let t = Instant::now();
                        let a = c.post(path, h);
                        out.push(t.elapsed());
                        assert_eq!(a.status, 200);
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "fupin serve /assess: {} requests from {clients} keep-alive clients in {:.2} s: {:.0} requests/s, p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        latencies[latencies.len() - 1].as_secs_f64() * 1e6,
    );
}
