//! Streaming batch (`fupin::batch::run`, `fupin batch`): order, one output
//! line per input line, bad lines as error lines, oversized lines, and an
//! output file that is written completely or not at all.

#[path = "../benches/workload/mod.rs"]
mod workload;

use chrono::NaiveDate;
use fupin::batch::{self, BatchOptions};
use fupin::Engine;
use serde_json::Value;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The example deployment overlay for 平山县 (the figures 石发〔2016〕4号 leaves to the deployer).
const OVERLAY: &str = include_str!("../examples/overlays/pingshan.policy");

fn engine() -> Engine {
    Engine::builder().embedded().source("overlay.policy", OVERLAY).build().unwrap_or_else(|d| panic!("{}", d.render()))
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 12, 31).expect("date")
}

/// JSON lines of the first `n` reference households.
fn household_lines(n: usize) -> Vec<String> {
    workload::households(n)
        .iter()
        .enumerate()
        .map(|(i, h)| serde_json::to_string(&workload::to_household(h, i)).expect("serialise"))
        .collect()
}

fn run(engine: &Engine, input: &[u8], threads: usize, chunk_lines: usize) -> (Vec<Value>, batch::BatchSummary) {
    let mut opts = BatchOptions::new(as_of());
    opts.threads = threads;
    opts.chunk_lines = chunk_lines;
    let mut out = Vec::new();
    let summary = batch::run(engine, input, &mut out, &opts, |_| {}).expect("batch runs");
    let text = String::from_utf8(out).expect("output is UTF-8");
    assert!(text.is_empty() || text.ends_with('\n'), "output ends with a newline");
    let lines =
        text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("output line is JSON: {e}: {l}"))).collect();
    (lines, summary)
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fupin-batch-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn order_is_preserved_and_every_line_has_one_output_line() {
    let engine = engine();
    let good = household_lines(500);
    let mut input = String::new();
    let mut expected: Vec<Result<String, u64>> = Vec::new();
    for (i, l) in good.iter().enumerate() {
        let line_no = expected.len() as u64 + 1;
        match i % 50 {
            7 => {
                // truncated record
                input.push_str(&l[..l.len() / 2]);
                expected.push(Err(line_no));
            }
            13 => {
                input.push_str(&l.replace("\"income\":", "\"incme\":"));
                expected.push(Err(line_no));
            }
            21 => {
                input.push_str("   ");
                expected.push(Err(line_no));
            }
            _ => {
                input.push_str(l);
                let id = serde_json::from_str::<Value>(l).expect("json")["id"].as_str().expect("id").to_string();
                expected.push(Ok(id));
            }
        }
        input.push('\n');
    }
    for threads in [1, 2, 4] {
        for chunk in [1, 7, 256] {
            let (out, summary) = run(&engine, input.as_bytes(), threads, chunk);
            assert_eq!(out.len(), expected.len(), "threads {threads}, chunk {chunk}: one output line per input line");
            assert_eq!(summary.lines, expected.len() as u64);
            let failed = expected.iter().filter(|e| e.is_err()).count() as u64;
            assert_eq!(summary.failed, failed);
            assert_eq!(summary.assessed, summary.lines - failed);
            for (i, (got, want)) in out.iter().zip(&expected).enumerate() {
                match want {
                    Ok(id) => assert_eq!(got["household"].as_str(), Some(id.as_str()), "line {}: {got}", i + 1),
                    Err(n) => {
                        assert_eq!(got["line"].as_u64(), Some(*n), "line {}: {got}", i + 1);
                        assert!(got["error"].is_string(), "line {}: {got}", i + 1);
                    }
                }
            }
        }
    }
    // The error lines say what is wrong, with the household's JSON path.
    let (out, _) = run(&engine, input.as_bytes(), 2, 16);
    let err = |n: usize| out[n - 1]["error"].as_str().expect("error").to_string();
    assert!(err(14).contains("incme"), "{}", err(14));
    assert!(err(22).contains("empty line"), "{}", err(22));
    assert!(err(8).starts_with("invalid household"), "{}", err(8));
}

#[test]
fn a_missing_final_newline_and_crlf_are_fine() {
    let engine = engine();
    let good = household_lines(3);
    let input = format!("{}\r\n{}\n{}", good[0], good[1], good[2]);
    let (out, summary) = run(&engine, input.as_bytes(), 2, 1);
    assert_eq!(out.len(), 3);
    assert_eq!(summary.failed, 0, "{out:?}");
    assert_eq!(out[2]["household"], "ref-000002");
    // empty input, empty output
    let (out, summary) = run(&engine, b"", 2, 1);
    assert!(out.is_empty());
    assert_eq!(summary.lines, 0);
}

#[test]
fn invalid_utf8_is_an_error_line() {
    let engine = engine();
    let good = household_lines(2);
    let mut input = Vec::new();
    input.extend_from_slice(good[0].as_bytes());
    input.push(b'\n');
    let mut bad = good[1].clone().into_bytes();
    bad[10] = 0xff;
    bad[11] = 0xfe;
    input.extend_from_slice(&bad);
    input.push(b'\n');
    input.extend_from_slice(good[1].as_bytes());
    input.push(b'\n');
    let (out, summary) = run(&engine, &input, 2, 1);
    assert_eq!(out.len(), 3);
    assert_eq!(summary.failed, 1);
    assert_eq!(out[1]["line"], 2);
    assert!(out[1]["error"].as_str().is_some_and(|e| e.contains("invalid UTF-8 (byte 10) at line 1 column 11")), "{}", out[1]);
    assert_eq!(out[2]["household"], "ref-000001");
}

#[test]
fn a_100_mb_line_is_an_error_line_and_the_rest_go_on() {
    let engine = engine();
    let dir = tmp_dir("huge");
    let path = dir.join("in.jsonl");
    let good = household_lines(2);
    {
        // Written in pieces: the test never holds the line in memory either.
        let mut w = BufWriter::new(File::create(&path).expect("create"));
        writeln!(w, "{}", good[0]).expect("write");
        w.write_all(b"{\"id\": \"").expect("write");
        let block = vec![b'a'; 1 << 20];
        for _ in 0..100 {
            w.write_all(&block).expect("write");
        }
        w.write_all(b"\"}\n").expect("write");
        writeln!(w, "{}", good[1]).expect("write");
        w.flush().expect("flush");
    }
    let mut opts = BatchOptions::new(as_of());
    opts.threads = 2;
    let mut out = Vec::new();
    let input = BufReader::new(File::open(&path).expect("open"));
    let summary = batch::run(&engine, input, &mut out, &opts, |_| {}).expect("batch runs");
    let _ = fs::remove_dir_all(&dir);
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(summary.failed, 1);
    assert_eq!(lines[0]["household"], "ref-000000");
    assert_eq!(lines[1]["line"], 2);
    assert!(lines[1]["error"].as_str().is_some_and(|e| e.starts_with("line too long: 104857610 bytes")), "{}", lines[1]);
    assert_eq!(lines[2]["household"], "ref-000001");
    assert!(summary.bytes > 100 << 20);
}

fn fupin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fupin"))
}

fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".tmp")).collect())
        .unwrap_or_default()
}

#[test]
fn cli_writes_the_output_and_a_summary() {
    let dir = tmp_dir("cli");
    let (input, output) = (dir.join("in.jsonl"), dir.join("out.jsonl"));
    let mut text = household_lines(100).join("\n");
    text.push_str("\nnot json\n");
    fs::write(&input, text).expect("write input");
    let o = fupin()
        .args(["batch", "--as-of", "2020-12-31", "--threads", "2"])
        .arg(&input)
        .arg(&output)
        .arg("--overlay")
        .arg(write_overlay(&dir))
        .output()
        .expect("run fupin");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("101 households: 100 assessed, 1 failed"), "{stderr}");
    let out = fs::read_to_string(&output).expect("output written");
    assert_eq!(out.lines().count(), 101);
    assert!(out.lines().last().is_some_and(|l| l.starts_with("{\"line\":101,\"error\":")), "{out}");
    assert!(temp_files(&dir).is_empty(), "no temporary file left");
    let _ = fs::remove_dir_all(&dir);
}

fn write_overlay(dir: &Path) -> PathBuf {
    let p = dir.join("overlay.policy");
    fs::write(&p, OVERLAY).expect("overlay");
    p
}

/// A large input: a small valid record again and again (quick to write,
/// seconds to assess).
fn large_input(path: &Path, lines: usize) {
    let one = r#"{"id":"h","region":"130131","poverty":{"status":"registered"},"income":"3000","members":[{"id":"a","birth_date":"1950-01-01","sex":"male","labour":"complete_loss"}]}"#;
    let mut w = BufWriter::new(File::create(path).expect("create"));
    for _ in 0..lines {
        w.write_all(one.as_bytes()).expect("write");
        w.write_all(b"\n").expect("write");
    }
    w.flush().expect("flush");
}

/// Start `fupin batch` on a large input and wait until it is writing.
fn start_large(dir: &Path) -> (std::process::Child, PathBuf) {
    let (input, output) = (dir.join("in.jsonl"), dir.join("out.jsonl"));
    large_input(&input, 300_000);
    let child = fupin()
        .args(["batch", "--as-of", "2020-12-31"])
        .arg(&input)
        .arg(&output)
        .arg("--overlay")
        .arg(write_overlay(dir))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fupin");
    let start = Instant::now();
    while temp_files(dir).is_empty() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!temp_files(dir).is_empty(), "the batch started writing");
    std::thread::sleep(Duration::from_millis(100));
    (child, output)
}

#[test]
fn killing_the_cli_midway_leaves_no_output_file() {
    let dir = tmp_dir("kill");
    let (mut child, output) = start_large(&dir);
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "killed before it finished");
    assert!(!output.exists(), "no partial output file after SIGKILL");
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
fn interrupt(signal: &str) {
    let dir = tmp_dir(&format!("sig{signal}"));
    let (mut child, output) = start_large(&dir);
    let pid = child.id().to_string();
    let killed = Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert_eq!(status.code(), Some(130), "{signal}: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!output.exists(), "no output file after SIG{signal}");
    assert!(temp_files(&dir).is_empty(), "the temporary file is removed: {:?}", temp_files(&dir));
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn interrupting_the_cli_removes_the_temporary_file() {
    interrupt("TERM");
}

#[cfg(unix)]
#[test]
fn a_hangup_removes_the_temporary_file() {
    interrupt("HUP");
}

/// Run `fupin batch IN OUT` with the overlay and extra arguments.
fn batch_cli(dir: &Path, input: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    fupin()
        .args(["batch", "--as-of", "2020-12-31"])
        .args(extra)
        .arg(input)
        .arg(output)
        .arg("--overlay")
        .arg(write_overlay(dir))
        .output()
        .expect("run fupin")
}

#[test]
fn the_output_may_not_be_the_input() {
    let dir = tmp_dir("same");
    let input = dir.join("in.jsonl");
    let text = household_lines(3).join("\n") + "\n";
    fs::write(&input, &text).expect("write input");
    // The same path, another spelling of it, and a link to it.
    let mut outs = vec![input.clone(), dir.join(".").join("in.jsonl")];
    #[cfg(unix)]
    {
        let link = dir.join("link.jsonl");
        std::os::unix::fs::symlink(&input, &link).expect("symlink");
        outs.push(link);
        let hard = dir.join("hard.jsonl");
        fs::hard_link(&input, &hard).expect("hard link");
        outs.push(hard);
    }
    for out in outs {
        let o = batch_cli(&dir, &input, &out, &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {stderr}", out.display());
        assert!(stderr.contains("is the input file"), "{stderr}");
        assert_eq!(fs::read_to_string(&input).expect("input"), text, "the input is unchanged");
    }
    assert!(temp_files(&dir).is_empty());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_as_output_is_refused_before_the_run() {
    let dir = tmp_dir("outdir");
    let (input, out) = (dir.join("in.jsonl"), dir.join("out"));
    large_input(&input, 300_000);
    fs::create_dir(&out).expect("mkdir");
    let start = Instant::now();
    let o = batch_cli(&dir, &input, &out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");
    assert!(!stderr.contains("households:"), "no run: {stderr}");
    // 300,000 households take many seconds; the refusal comes before them.
    assert!(start.elapsed() < Duration::from_secs(30), "refused after {:?}", start.elapsed());
    assert!(temp_files(&dir).is_empty());
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_planted_symlink_is_not_followed() {
    let dir = tmp_dir("planted");
    let (input, output) = (dir.join("in.jsonl"), dir.join("out.jsonl"));
    fs::write(&input, household_lines(2).join("\n") + "\n").expect("write input");
    let victim = dir.join("victim");
    fs::write(&victim, "precious").expect("victim");
    // Links at the names earlier versions used (`.NAME.fupin-PID.tmp`) for the next few pids.
    let mut links = Vec::new();
    let pid = std::process::id();
    for p in pid..pid + 2000 {
        let link = dir.join(format!(".out.jsonl.fupin-{p}.tmp"));
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        links.push(link);
    }
    let o = batch_cli(&dir, &input, &output, &["--threads", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read_to_string(&victim).expect("victim"), "precious");
    assert_eq!(fs::read_to_string(&output).expect("output").lines().count(), 2);
    assert!(links.iter().all(|l| fs::symlink_metadata(l).is_ok_and(|m| m.file_type().is_symlink())), "the links are untouched");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn thread_counts_beyond_the_limit_are_usage_errors() {
    let dir = tmp_dir("threads");
    let (input, output) = (dir.join("in.jsonl"), dir.join("out.jsonl"));
    fs::write(&input, household_lines(2).join("\n") + "\n").expect("write input");
    for n in ["18446744073709551615", "100000", "1025", "x"] {
        let o = batch_cli(&dir, &input, &output, &["--threads", n]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{n}: {stderr}");
        assert!(stderr.contains("--threads"), "{n}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!output.exists());
        assert!(temp_files(&dir).is_empty(), "{n}: {:?}", temp_files(&dir));
    }
    let o = batch_cli(&dir, &input, &output, &["--threads", "1024"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read_to_string(&output).expect("output").lines().count(), 2);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_library_refuses_too_many_threads() {
    let engine = engine();
    let mut opts = BatchOptions::new(as_of());
    opts.threads = batch::MAX_THREADS + 1;
    let r = batch::run(&engine, &b"{}\n"[..], Vec::new(), &opts, |_| {});
    assert!(matches!(r, Err(batch::BatchError::TooManyThreads(n)) if n == batch::MAX_THREADS + 1), "{r:?}");
}

/// Not a test: writes the first `FUPIN_JSONL_LINES` (default 1,000,000)
/// reference households as JSON Lines to `FUPIN_JSONL` (and the deployment
/// overlay beside it) for measuring `fupin batch`:
/// `FUPIN_JSONL=/tmp/ref.jsonl cargo test --release --test batch -- --ignored write_reference_jsonl`
#[test]
#[ignore]
fn write_reference_jsonl() {
    let Ok(path) = std::env::var("FUPIN_JSONL") else { return };
    let n: usize = std::env::var("FUPIN_JSONL_LINES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let path = PathBuf::from(path);
    let mut w = BufWriter::new(File::create(&path).expect("create"));
    for (i, h) in workload::Households::default().take(n).enumerate() {
        serde_json::to_writer(&mut w, &workload::to_household(&h, i)).expect("write");
        w.write_all(b"\n").expect("write");
    }
    w.flush().expect("flush");
    fs::write(path.with_file_name("overlay.policy"), OVERLAY).expect("overlay");
}
