//! Subcommands that are programs of their own, so that this crate carries
//! none of their dependencies: `fupin serve` runs `fupin-serve` (the
//! workspace member `crates/fupin-serve`: an HTTP stack), and `fupin
//! simulate`, `fupin registry` and `fupin batch` on a registry of tables
//! run `fupin-registry` (`crates/fupin-registry`: Arrow and Parquet). The
//! program is the one beside this executable, else the one on `PATH`, as git
//! and cargo run their subcommands; on Unix it replaces this process, so
//! signals (SIGHUP to reload, SIGTERM to stop) reach it directly.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// The HTTP service.
pub const SERVE: &str = "fupin-serve";
/// Registries as tables and reform simulation.
pub const REGISTRY: &str = "fupin-registry";

/// Where `program` is: beside the running executable, else on `PATH`.
fn locate(program: &str) -> Option<PathBuf> {
    let name = format!("{program}{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|d| d.join(&name)));
    if let Some(p) = beside.filter(|p| p.is_file()) {
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).map(|d| d.join(&name)).find(|p| p.is_file()))
}

/// Run `program` with `args` for `fupin WHAT`; its exit status is ours.
pub fn run(program: &str, what: &str, args: &[OsString]) -> i32 {
    let Some(path) = locate(program) else {
        eprintln!(
            "error: `fupin {what}` runs the `{program}` program, which is not installed beside this fupin nor on PATH\n \
             = help: build it with `cargo build --release -p {program}` (it lands beside `fupin`), or install it with \
             `cargo install --path crates/{program}`"
        );
        return 2;
    };
    let mut command = Command::new(&path);
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // only returns on failure
        let e = command.exec();
        eprintln!("error: cannot run {}: {e}", path.display());
        2
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", path.display());
            2
        }
    }
}
