//! `fupin serve`: the HTTP service is its own program, `fupin-serve` (the
//! workspace member `crates/fupin-serve`), so that this crate carries no
//! HTTP stack. `fupin serve ARGS…` runs it — the one beside this executable,
//! else the one on `PATH` — as git and cargo run their subcommands; on Unix
//! it replaces this process, so signals (SIGHUP to reload, SIGTERM to stop)
//! reach the server itself.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

const PROGRAM: &str = "fupin-serve";

/// Where `fupin-serve` is: beside the running executable, else on `PATH`.
fn locate() -> Option<PathBuf> {
    let name = format!("{PROGRAM}{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|d| d.join(&name)));
    if let Some(p) = beside.filter(|p| p.is_file()) {
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).map(|d| d.join(&name)).find(|p| p.is_file()))
}

pub fn serve(args: &[OsString]) -> i32 {
    let Some(program) = locate() else {
        eprintln!(
            "error: `fupin serve` runs the `{PROGRAM}` program, which is not installed beside this fupin nor on PATH\n \
             = help: build it with `cargo build --release -p {PROGRAM}` (it lands beside `fupin`), or install it with \
             `cargo install --path crates/{PROGRAM}`"
        );
        return 2;
    };
    let mut command = Command::new(&program);
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // only returns on failure
        let e = command.exec();
        eprintln!("error: cannot run {}: {e}", program.display());
        2
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", program.display());
            2
        }
    }
}
