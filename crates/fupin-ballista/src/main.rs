//! `fupin-ballista`: a Ballista scheduler or executor that knows fupin's
//! functions, for a cluster on many machines (`docs/scale.md`). Every
//! process builds its own engine from its policy options (policies that do
//! not build stop it); give them all the same `--lock` file, so that each
//! verifies the same policy versions by their content hashes.

use ballista_core::registry::BallistaFunctionRegistry;
use clap::{Parser, Subcommand};
use fupin_registry::args::PolicyArgs;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(name = "fupin-ballista", version, about = "A Ballista scheduler or executor with fupin's SQL functions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scheduler (one per cluster).
    Scheduler {
        /// The address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        bind: String,
        /// The port to listen on (clients connect to `df://HOST:PORT`).
        #[arg(long, default_value_t = 50050)]
        port: u16,
        /// The host name executors and clients reach this scheduler by.
        #[arg(long, default_value = "localhost")]
        external_host: String,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Run an executor (one or more per machine).
    Executor {
        /// The scheduler, as HOST:PORT.
        #[arg(long, default_value = "localhost:50050")]
        scheduler: String,
        /// The address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        bind: String,
        /// The host name other executors fetch this one's shuffle data by.
        #[arg(long)]
        external_host: Option<String>,
        /// The Arrow Flight port (shuffle data).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// The gRPC port.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Task slots: tasks run at once (default: one per core).
        #[arg(long)]
        slots: Option<usize>,
        /// Where shuffle files go (default: a new temporary directory).
        #[arg(long)]
        work_dir: Option<String>,
        /// How long to wait for the scheduler to accept connections before
        /// giving up, in seconds (an executor may start before its scheduler).
        #[arg(long, default_value_t = 30)]
        scheduler_wait: u64,
        #[command(flatten)]
        policy: PolicyArgs,
    },
}

/// Wait until `host:port` accepts a TCP connection, trying every 100 ms for
/// `seconds`; the error says which address did not answer, and how.
async fn wait_for(host: &str, port: u16, seconds: u64) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        match tokio::net::TcpStream::connect((host, port)).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("the scheduler at {host}:{port} did not accept a connection within {seconds} s: {e}"))
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

fn engine(p: &PolicyArgs) -> Result<Arc<fupin::Engine>, String> {
    let set = p.policy_set()?;
    set.build().map(Arc::new).map_err(|e| format!("the policies do not build:\n{}", e.render()))
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fupin-ballista: {e}");
            std::process::exit(1)
        }
    };
    if let Err(e) = runtime.block_on(run(cli.command)) {
        eprintln!("fupin-ballista: {e}");
        std::process::exit(1)
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Scheduler { bind, port, external_host, policy } => {
            use ballista_scheduler::cluster::BallistaCluster;
            use ballista_scheduler::config::SchedulerConfig;
            let state = fupin_ballista::session_state(engine(&policy)?, 4).map_err(|e| e.to_string())?;
            let addr = format!("{bind}:{port}").parse().map_err(|e| format!("--bind {bind} --port {port}: {e}"))?;
            let session_config = state.config().clone();
            let config = SchedulerConfig { bind_host: bind, bind_port: port, external_host, ..SchedulerConfig::default() }
                .with_override_config_producer(Arc::new(move || session_config.clone()))
                .with_override_session_builder(Arc::new(move |_| Ok(state.clone())));
            let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| e.to_string())?;
            ballista_scheduler::scheduler_process::start_server(cluster, addr, Arc::new(config)).await.map_err(|e| e.to_string())
        }
        Command::Executor { scheduler, bind, external_host, port, grpc_port, slots, work_dir, scheduler_wait, policy } => {
            use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
            let state = fupin_ballista::session_state(engine(&policy)?, 4).map_err(|e| e.to_string())?;
            let (host, scheduler_port) = scheduler.rsplit_once(':').ok_or(format!("--scheduler {scheduler}: expected HOST:PORT"))?;
            let scheduler_port = scheduler_port.parse().map_err(|e| format!("--scheduler {scheduler}: {e}"))?;
            // Ballista's executor tries the scheduler once; started beside
            // it, it would stop if the scheduler were not listening yet
            wait_for(host, scheduler_port, scheduler_wait).await?;
            let config = ExecutorProcessConfig {
                bind_host: bind,
                external_host,
                port,
                grpc_port,
                scheduler_host: host.to_string(),
                scheduler_port,
                vcores: slots.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                work_dir,
                override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
                ..ExecutorProcessConfig::default()
            };
            start_executor_process(Arc::new(config)).await.map_err(|e| e.to_string())
        }
    }
}
