//! The `fupin` command line on hostile surroundings: a closed output pipe,
//! FIFOs, devices and symlink loops where files are expected, invalid UTF-8,
//! byte order marks and out-of-range dates. Nothing panics or hangs; every
//! refusal says what and where.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fupin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fupin"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run a copy of a program this test wrote. Another test's child may still
/// hold the copy's file open for writing for a moment — forked while the copy
/// was being written, before its exec closed the inherited descriptor — and
/// then the kernel refuses to run it ("Text file busy"); try again.
fn output_of_copy(cmd: &mut Command) -> std::process::Output {
    for _ in 0..200 {
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => std::thread::sleep(Duration::from_millis(10)),
            r => return r.expect("run"),
        }
    }
    panic!("the copied program stayed busy for 2 s")
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fupin-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Run with a deadline; a command that does not finish in time is killed and the test fails.
fn run_within(cmd: &mut Command, limit: Duration) -> (Option<i32>, String) {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn fupin");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (status.code(), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

const LIMIT: Duration = Duration::from_secs(60);

/// Start a command with its stdout (or stderr) a pipe whose reading end is closed at once.
fn with_closed(cmd: &mut Command, close_stderr: bool) -> (Option<i32>, String) {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn fupin");
    let mut kept = String::new();
    if close_stderr {
        drop(child.stderr.take());
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_string(&mut kept);
        }
    } else {
        drop(child.stdout.take());
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut kept);
        }
    }
    let status = child.wait().expect("wait");
    (status.code(), kept)
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let household = root().join("examples/households/pingshan-dibao.json");
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["eval".into(), "--as-of".into(), "2018-06-01".into(), household.clone().into()],
        vec!["eval".into(), "--explain".into(), "--as-of".into(), "2018-06-01".into(), household.into()],
        vec!["params".into(), "--region".into(), "130131".into(), "--as-of".into(), "2018-06-01".into()],
        vec!["params".into(), "--json".into(), "--region".into(), "130131".into(), "--as-of".into(), "2018-06-01".into()],
        vec!["test".into()],
        vec!["coverage".into()],
    ];
    for args in cases {
        let (code, stderr) = with_closed(fupin().args(&args), false);
        assert_ne!(code, Some(101), "{args:?}: {stderr}");
        assert!(code.is_some(), "{args:?}: killed by a signal");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("failed printing"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_stderr_is_not_a_panic() {
    for args in [vec!["check"], vec!["params", "--region", "1301", "--as-of", "2018-06-01"]] {
        let (code, _) = with_closed(fupin().args(&args), true);
        assert!(code.is_some_and(|c| c != 101), "{args:?}: {code:?}");
    }
}

#[test]
fn as_of_dates_outside_years_1_to_9999_are_rejected() {
    let household = root().join("examples/households/pingshan-dibao.json");
    for (date, why) in [
        ("0000-06-01", "0001 to 9999"),
        ("10000-06-01", "expected YYYY-MM-DD"),
        ("+2018-06-01", "expected YYYY-MM-DD"),
        ("2018-6-1", "expected YYYY-MM-DD"),
    ] {
        let (code, stderr) = run_within(fupin().args(["eval", "--as-of", date]).arg(&household), LIMIT);
        assert_eq!(code, Some(2), "{date}: {stderr}");
        assert!(stderr.contains(why) && stderr.contains("--as-of"), "{date}: {stderr}");
    }
}

#[test]
fn household_files_bom_and_invalid_utf8_are_named() {
    let dir = tmp_dir("household");
    let text = fs::read(root().join("examples/households/pingshan-dibao.json")).expect("example");
    let bom = dir.join("bom.json");
    fs::write(&bom, [&b"\xef\xbb\xbf"[..], &text].concat()).expect("write");
    let (code, stderr) = run_within(fupin().args(["eval", "--as-of", "2018-06-01"]).arg(&bom), LIMIT);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("byte order mark (BOM)"), "{stderr}");

    let bad = dir.join("bad.json");
    let mut bytes = text.clone();
    let at = bytes.iter().position(|&b| b == b'\n').expect("a second line") + 3;
    bytes[at] = 0xc3;
    fs::write(&bad, &bytes).expect("write");
    let (code, stderr) = run_within(fupin().args(["eval", "--as-of", "2018-06-01"]).arg(&bad), LIMIT);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("invalid UTF-8 (byte {at}) at line 2 column 3")), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_policy_with_invalid_utf8_names_line_column_and_byte() {
    let dir = tmp_dir("utf8");
    let p = dir.join("bad.policy");
    fs::write(&p, b"policy x {\n  id: \"a\xffb\"\n}\n").expect("write");
    let (code, stderr) = run_within(fupin().arg("check").arg(&p), LIMIT);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid UTF-8 at line 2 column 9 (byte 19)"), "{stderr}");
    assert!(stderr.contains("bad.policy"), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_policy_is_refused_not_waited_on() {
    let dir = tmp_dir("fifo");
    let fifo = dir.join("x.policy");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for target in [dir.clone(), fifo.clone()] {
        let (code, stderr) = run_within(fupin().arg("check").arg(&target), LIMIT);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("not a regular file (a FIFO)"), "{stderr}");
    }
    let (code, stderr) = run_within(fupin().args(["eval", "--as-of", "2018-06-01"]).arg(&fifo), LIMIT);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file (a FIFO)"), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn devices_are_refused_before_reading() {
    let (code, stderr) = run_within(fupin().args(["check", "/dev/zero"]), LIMIT);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/dev/zero: not a regular file (a device)"), "{stderr}");
    let (code, stderr) = run_within(fupin().args(["eval", "--as-of", "2018-06-01", "/dev/zero"]), LIMIT);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/dev/zero: not a regular file (a device)"), "{stderr}");
    let (code, stderr) = run_within(fupin().args(["coverage", "--catalogue", "/dev/zero"]), LIMIT);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file (a device)"), "{stderr}");
}

#[test]
fn oversized_files_are_refused_after_limit_plus_one_bytes() {
    let dir = tmp_dir("large");
    let big = dir.join("big.policy");
    fs::write(&big, vec![b' '; (4 << 20) + 1]).expect("write");
    let (code, stderr) = run_within(fupin().arg("check").arg(&big), LIMIT);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("the file is larger than 4194304 bytes (the limit)"), "{stderr}");
    // Standard input is capped too (16 MiB for a household).
    let mut child = fupin()
        .args(["eval", "--as-of", "2018-06-01", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..17 {
            if std::io::Write::write_all(&mut stdin, &chunk).is_err() {
                break;
            }
        }
    }
    let o = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 16777216 bytes"), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_a_policy_directory_terminate() {
    let dir = tmp_dir("loop");
    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("a")).expect("mkdir");
    fs::copy(root().join("examples/overlays/pingshan.policy"), tree.join("a/pingshan.policy")).expect("copy");
    // Each directory links back to the top twice: without cycle detection 2^depth paths.
    for (d, name) in [("a", "up1"), ("a", "up2"), (".", "self1"), (".", "self2")] {
        std::os::unix::fs::symlink(&tree, tree.join(d).join(name)).expect("symlink");
    }
    std::os::unix::fs::symlink(tree.join("nowhere1"), tree.join("nowhere2")).expect("symlink");
    std::os::unix::fs::symlink(tree.join("nowhere2"), tree.join("nowhere1")).expect("symlink");
    let (code, stderr) = run_within(fupin().arg("check").arg(&tree), LIMIT);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("checked"), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}

/// `fupin serve` runs the `fupin-serve` program; without it, the error says
/// how to build it, and nothing else is run.
#[test]
fn serve_without_the_service_program_says_how_to_build_it() {
    let dir = tmp_dir("serve-alone");
    let exe = dir.join("fupin");
    fs::copy(env!("CARGO_BIN_EXE_fupin"), &exe).expect("copy fupin");
    let out = output_of_copy(Command::new(&exe).args(["serve", "--addr", "127.0.0.1:0"]).env("PATH", &dir));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`fupin serve` runs the `fupin-serve` program") && err.contains("cargo build --release -p fupin-serve"), "{err}");

    // beside it, the program is run with every argument as given
    let script = dir.join("fupin-serve");
    fs::write(&script, "#!/bin/sh\necho \"serve got: $*\" >&2\nexit 7\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        let out = output_of_copy(Command::new(&exe).args(["serve", "--addr", "127.0.0.1:0", "--help"]));
        assert_eq!(out.status.code(), Some(7));
        assert!(String::from_utf8_lossy(&out.stderr).contains("serve got: --addr 127.0.0.1:0 --help"));
    }
    let _ = fs::remove_dir_all(&dir);
}

/// `fupin simulate`, `fupin registry` and `fupin batch` on a registry of
/// tables run the `fupin-registry` program with the arguments as given; a
/// JSON Lines batch stays in this program.
#[test]
fn registry_commands_run_the_registry_program() {
    let dir = tmp_dir("registry-alone");
    let exe = dir.join("fupin");
    fs::copy(env!("CARGO_BIN_EXE_fupin"), &exe).expect("copy fupin");
    let registry = dir.join("registry");
    fs::create_dir_all(&registry).expect("mkdir");
    let out = output_of_copy(Command::new(&exe).args(["simulate", "--as-of", "2018-06-01"]).env("PATH", &dir));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`fupin simulate` runs the `fupin-registry` program") && err.contains("cargo build --release -p fupin-registry"),
        "{err}"
    );

    let script = dir.join("fupin-registry");
    fs::write(&script, "#!/bin/sh\necho \"registry got: $*\" >&2\nexit 7\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        let got = |args: &[&str]| {
            let out = output_of_copy(Command::new(&exe).args(args));
            (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
        };
        let (code, err) = got(&["simulate", "--as-of", "2018-06-01", "--reform-set", "dibao_standard=5760", "reg", "--help"]);
        assert_eq!(code, Some(7));
        assert!(err.contains("registry got: simulate --as-of 2018-06-01 --reform-set dibao_standard=5760 reg --help"), "{err}");
        let (code, err) = got(&["registry", "generate", "--households", "10", "out"]);
        assert_eq!(code, Some(7));
        assert!(err.contains("registry got: generate --households 10 out"), "{err}");
        let reg = registry.to_str().expect("utf-8");
        let (code, err) = got(&["batch", "--as-of", "2018-06-01", reg, "results"]);
        assert_eq!(code, Some(7));
        assert!(err.contains(&format!("registry got: batch --as-of 2018-06-01 {reg} results")), "{err}");
        let (code, err) = got(&["batch", "--as-of", "2018-06-01", "--format", "csv", "in.jsonl", "results"]);
        assert_eq!(code, Some(7), "{err}");
        // a registry's results are tables
        let (code, err) = got(&["batch", "--as-of", "2018-06-01", "--format", "jsonl", reg, "out.jsonl"]);
        assert_eq!(code, Some(2));
        assert!(err.contains("is a registry of tables: its results are tables"), "{err}");
        // JSON Lines to JSON Lines is this program's own
        let input = dir.join("in.jsonl");
        fs::write(&input, "").expect("write");
        let (code, err) =
            got(&["batch", "--as-of", "2018-06-01", input.to_str().expect("utf-8"), dir.join("out.jsonl").to_str().expect("utf-8")]);
        assert_eq!(code, Some(0), "{err}");
        assert!(!err.contains("registry got"), "{err}");
    }
    let _ = fs::remove_dir_all(&dir);
}
