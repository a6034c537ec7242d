//! `fupin serve` (also `fupin-serve`): the HTTP service on an address.
//!
//! SIGHUP reads the policy set again and swaps it in if it builds (requests
//! in flight finish on the set they started with); SIGINT and SIGTERM stop
//! taking connections and end once the requests in flight are answered.

use clap::Parser;
use fupin::PolicySet;
use fupin_serve::{Limits, Service};
use std::future::IntoFuture as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Serve fupin over HTTP: POST /assess, /explain, /batch; GET /params, /schema, /policies, /health.
#[derive(Parser, Debug)]
#[command(name = "fupin serve", version, about)]
struct Args {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Use the policies under DIR instead of the embedded ones.
    #[arg(long, value_name = "DIR")]
    policies: Option<PathBuf>,
    /// Add an overlay file (deployment parameters); may be repeated.
    #[arg(long, value_name = "FILE")]
    overlay: Vec<PathBuf>,
    /// Set a parameter above every policy (`--set basic_rate=75%`); may be repeated.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Use exactly the policy versions of this lockfile, each verified by its content hash
    /// (at start and at every reload).
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
    /// Largest household body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().body_bytes)]
    max_body: usize,
    /// Largest /batch body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().batch_bytes)]
    max_batch: u64,
    /// Longest a request other than /batch may take, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// After SIGTERM or SIGINT, how long the requests in flight may take to finish, in
    /// milliseconds; those still running then are cut and the exit status is 1.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    grace_ms: u64,
    /// Worker threads of one /batch (default: one per core).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=fupin::batch::MAX_THREADS as u64))]
    batch_threads: u64,
}

fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let mut set = PolicySet::default();
    set.policies = args.policies.clone();
    set.overlays = args.overlay.clone();
    set.lock = args.lock.clone();
    for s in &args.set {
        set = match set.with_setting_arg(s) {
            Ok(set) => set,
            Err(e) => {
                say(&format!("error: --set: {e}"));
                return 2;
            }
        };
    }
    let limits = Limits {
        body_bytes: args.max_body,
        batch_bytes: args.max_batch,
        timeout: Duration::from_millis(args.timeout_ms),
        batch_threads: args.batch_threads as usize,
    };
    let service = match Service::new(set, limits) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            let _ = write!(std::io::stderr(), "{}", e.render());
            say("error: could not build the policy set");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            say(&format!("error: cannot start the runtime: {e}"));
            return 1;
        }
    };
    runtime.block_on(serve(args.addr, service, Duration::from_millis(args.grace_ms)))
}

async fn serve(addr: SocketAddr, service: Arc<Service>, grace: Duration) -> i32 {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            say(&format!("error: cannot listen on {addr}: {e}"));
            return 1;
        }
    };
    let local = listener.local_addr().map_or_else(|_| addr.to_string(), |a| a.to_string());
    say(&format!("fupin serve: listening on http://{local} ({} policies)", service.engine().policies().len()));
    tokio::spawn(reload_on_hangup(service.clone()));
    let app = fupin_serve::router(service);
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut stop_rx = stop.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    });
    let mut server = std::pin::pin!(server.into_future());
    let result = tokio::select! {
        r = &mut server => r,
        () = stop_signal() => {
            let _ = stopping.send(true);
            match tokio::time::timeout(grace, &mut server).await {
                Ok(r) => r,
                Err(_) => {
                    say(&format!("fupin serve: stopped after the {} ms grace period; the requests still in flight were cut", grace.as_millis()));
                    return 1;
                }
            }
        }
    };
    drop(stop);
    match result {
        Ok(()) => {
            say("fupin serve: stopped");
            0
        }
        Err(e) => {
            say(&format!("error: {e}"));
            1
        }
    }
}

#[cfg(unix)]
async fn reload_on_hangup(service: Arc<Service>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        say("warning: cannot listen for SIGHUP; reload is off");
        return;
    };
    while hup.recv().await.is_some() {
        let s = service.clone();
        match tokio::task::spawn_blocking(move || s.reload()).await {
            Ok(Ok(generation)) => say(&format!("fupin serve: reloaded the policy set (generation {generation})")),
            Ok(Err(e)) => {
                let _ = write!(std::io::stderr(), "{}", e.render());
                say("fupin serve: reload failed; the policy set in force is kept");
            }
            Err(e) => say(&format!("fupin serve: reload failed ({e}); the policy set in force is kept")),
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_service: Arc<Service>) {}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    say("fupin serve: stopping; answering the requests in flight");
}
