//! `fupin serve` over real sockets on 127.0.0.1: every endpoint, every error,
//! reload on SIGHUP without a failed request, and a graceful stop.

mod common;

use chrono::NaiveDate;
use common::{example, root, Conn, Server};
use fupin::PolicySet;

const AS_OF: &str = "2018-06-01";

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 6, 1).unwrap()
}

/// What the library answers for the same household: the bytes the service must send.
fn library_answer(set: &PolicySet, household: &[u8]) -> Vec<u8> {
    let engine = set.build().unwrap();
    let h = engine.parse_household_bytes(household, Some(as_of())).unwrap();
    let mut out = Vec::new();
    engine.assess_json(&h, as_of(), &mut engine.scratch(), &mut out).unwrap().unwrap();
    out
}

#[test]
fn assess_answers_what_the_library_answers() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let household = example("pingshan-dibao.json");
    let a = c.post(&format!("/assess?as_of={AS_OF}"), &household);
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("x-fupin-generation"), Some("0"));
    assert_eq!(a.json()["programs"]["dibao"]["amount"], "7200.00");
    assert_eq!(a.body, library_answer(&PolicySet::embedded(), &household));
    // the same connection serves the next request
    let b = c.post(&format!("/assess?as_of={AS_OF}"), &example("pingshan-medical.json"));
    assert_eq!(b.status, 200, "{}", b.text());
}

#[test]
fn a_bad_household_is_a_400_with_its_json_path() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let bad = br#"{"id": "x", "region": "130131", "members": [{"id": "a", "birth_date": "1970-13-01"}]}"#;
    let a = c.post(&format!("/assess?as_of={AS_OF}"), bad);
    assert_eq!(a.status, 400, "{}", a.text());
    let e = &a.json()["error"];
    assert_eq!(e["kind"], "household");
    assert_eq!(e["path"], "members[0].birth_date", "{e}");
    assert_eq!(e["line"], 1);
    assert!(e["column"].as_u64().unwrap() > 0);

    // money is exact or refused: a float-looking figure with too many places is named, not rounded
    let malformed = c.post(&format!("/assess?as_of={AS_OF}"), b"{\"id\": ");
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["error"]["path"], "$");

    let not_utf8 = c.post(&format!("/assess?as_of={AS_OF}"), b"{\"id\": \"\xff\"}");
    assert_eq!(not_utf8.status, 400, "{}", not_utf8.text());
    assert_eq!(not_utf8.json()["error"]["kind"], "household");
}

#[test]
fn request_errors_say_what_is_wrong() {
    let server = Server::start(&["--max-body", "4096"]);
    let mut c = server.conn();
    let household = example("pingshan-dibao.json");
    for (path, needle) in [
        ("/assess", "as_of is required"),
        ("/assess?as_of=2018-6-1", "as_of:"),
        ("/assess?as_of=2018-02-30", "as_of:"),
        ("/explain", "as_of is required"),
        ("/batch", "as_of is required"),
    ] {
        let a = c.post(path, &household);
        assert_eq!(a.status, 400, "{path}: {}", a.text());
        let e = &a.json()["error"];
        assert_eq!(e["kind"], "request", "{path}");
        assert!(e["message"].as_str().unwrap().contains(needle), "{path}: {e}");
    }
    for (path, needle) in [
        ("/params?as_of=2018-06-01", "region is required"),
        ("/params?region=130131", "as_of is required"),
        ("/params?region=13013&as_of=2018-06-01", "not a GB/T 2260 region code"),
        ("/schema?region=abcdef", "not a GB/T 2260 region code"),
        ("/schema?as_of=yesterday", "as_of:"),
    ] {
        let a = c.get(path);
        assert_eq!(a.status, 400, "{path}: {}", a.text());
        assert!(a.json()["error"]["message"].as_str().unwrap().contains(needle), "{path}: {}", a.text());
    }
    let big = vec![b' '; 5000];
    let a = c.post(&format!("/assess?as_of={AS_OF}"), &big);
    assert_eq!(a.status, 413, "{}", a.text());
    assert_eq!(a.json()["error"]["kind"], "too_large");

    let mut c = server.conn();
    let a = c.get("/no-such-thing");
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"]["kind"], "not_found");
    let a = c.get(&format!("/assess?as_of={AS_OF}"));
    assert_eq!(a.status, 405, "{}", a.text());
    assert_eq!(a.json()["error"]["kind"], "method");
}

#[test]
fn explain_carries_the_trace_and_the_text() {
    let server = Server::start(&[]);
    let a = server.conn().post(&format!("/explain?as_of={AS_OF}"), &example("pingshan-dibao.json"));
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["programs"]["dibao"]["amount"], "7200.00");
    assert!(v["trace"].as_array().is_some_and(|t| !t.is_empty()), "no trace");
    let text = v["explanation"].as_str().unwrap();
    assert!(text.contains("SJZ-2") && text.contains("7200.00"), "{text}");
}

#[test]
fn a_slow_request_is_answered_timeout() {
    let server = Server::start(&["--timeout-ms", "1"]);
    // a valid household with twenty thousand claims: far more than a millisecond to read and settle
    let mut h: serde_json::Value = serde_json::from_slice(&example("pingshan-medical.json")).unwrap();
    let claim = h["members"][0]["claims"][0].clone();
    let claims: Vec<serde_json::Value> = (0..20_000)
        .map(|i| {
            let mut c = claim.clone();
            c["id"] = serde_json::Value::String(format!("claim-{i}"));
            c
        })
        .collect();
    h["members"][0]["claims"] = serde_json::Value::Array(claims);
    let body = h.to_string();
    // the same household within the default limit is assessed: the 503 below is the limit, not the record
    let ok = Server::start(&[]).conn().post(&format!("/assess?as_of={AS_OF}"), body.as_bytes());
    assert_eq!(ok.status, 200, "{}", &ok.text()[..ok.text().len().min(500)]);
    let a = server.conn().post(&format!("/assess?as_of={AS_OF}"), body.as_bytes());
    assert_eq!(a.status, 503, "{}", a.text());
    assert_eq!(a.json()["error"]["kind"], "timeout");
}

#[test]
fn params_schema_policies_and_health() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let engine = PolicySet::embedded().build().unwrap();

    let a = c.get("/params?region=130131&as_of=2018-06-01");
    assert_eq!(a.status, 200, "{}", a.text());
    let expected = serde_json::to_value(engine.params_in_force("130131", as_of())).unwrap();
    assert_eq!(a.json(), expected);
    let standard = a.json().as_array().unwrap().iter().find(|p| p["name"] == "dibao_standard").cloned().unwrap();
    assert!(standard["value"].as_str().unwrap().starts_with("4400"), "{standard}");

    let a = c.get("/schema");
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), engine.household_schema(None, None));
    let a = c.get("/schema?region=350427&as_of=2020-06-01");
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), engine.household_schema(Some("350427"), Some(NaiveDate::from_ymd_opt(2020, 6, 1).unwrap())));

    let a = c.get("/policies");
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), serde_json::to_value(engine.policies()).unwrap());
    assert!(a
        .json()
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "cn.hebei.shijiazhuang" && p["hash"].as_str().unwrap().starts_with("sha256:")));

    let a = c.get("/health");
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["status"], "ok");
    assert_eq!(a.json()["generation"], 0);
}

/// The batch's lines as the library writes them, for the same input.
fn library_batch(input: &[u8]) -> Vec<u8> {
    let engine = PolicySet::embedded().build().unwrap();
    let mut out = Vec::new();
    fupin::batch::run(&engine, input, &mut out, &fupin::batch::BatchOptions::new(as_of()), |_| {}).unwrap();
    out
}

fn batch_input(n: usize) -> Vec<u8> {
    let one = String::from_utf8(example("pingshan-dibao.json")).unwrap().replace('\n', " ");
    let medical = String::from_utf8(example("pingshan-medical.json")).unwrap().replace('\n', " ");
    let mut input = String::new();
    for i in 0..n {
        match i % 5 {
            3 => input.push_str("{\"id\": \"broken\", \"region\": 130131}\n"),
            4 => input.push_str(&medical),
            _ => input.push_str(&one),
        }
        if i % 5 != 3 {
            input.push('\n');
        }
    }
    input.into_bytes()
}

#[test]
fn batch_streams_one_line_per_line_as_the_library_does() {
    let server = Server::start(&[]);
    let input = batch_input(2000);
    let a = server.conn().post(&format!("/batch?as_of={AS_OF}"), &input);
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(a.header("transfer-encoding"), Some("chunked"), "the answer is streamed");
    assert_eq!(a.body.iter().filter(|b| **b == b'\n').count(), 2000);
    assert_eq!(a.body, library_batch(&input));
    let fourth: serde_json::Value = serde_json::from_str(a.text().lines().nth(3).unwrap()).unwrap();
    assert_eq!(fourth["line"], 4);
    assert!(fourth["error"].as_str().unwrap().contains("region"), "{fourth}");

    // sent in pieces that cut lines in two: the same answer
    let pieces: Vec<&[u8]> = input.chunks(777).collect();
    let b = server.conn().post_chunked(&format!("/batch?as_of={AS_OF}"), &pieces);
    assert_eq!(b.status, 200);
    assert_eq!(b.body, a.body);
}

#[test]
fn a_batch_over_the_limit_is_refused_or_ends_saying_so() {
    let server = Server::start(&["--max-batch", "10000"]);
    let input = batch_input(100);
    let a = server.conn().post(&format!("/batch?as_of={AS_OF}"), &input);
    assert_eq!(a.status, 413, "{}", a.text());
    assert_eq!(a.json()["error"]["kind"], "too_large");
    // without a length to refuse up front: every line read is answered, then the last line says why it stopped
    let pieces: Vec<&[u8]> = input.chunks(1000).collect();
    let b = server.conn().post_chunked(&format!("/batch?as_of={AS_OF}"), &pieces);
    assert_eq!(b.status, 200);
    let text = b.text();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert!(last["error"].as_str().unwrap().contains("more than 10000 bytes"), "{last}");
    assert!(text.lines().count() >= 2, "{text}");
}

fn write_overlay(path: &std::path::Path, premium: &str) {
    let text = format!(
        "policy deploy.test {{\n  title \"test deployment\"\n  region 130131\n  in_force 2016-01-01 ..\n  version \"{premium}\"\n  extends cn.hebei.shijiazhuang\n  overlay\n}}\noverride param premium_subsidy {{ always: {premium} cite \"test figure\" }}\n"
    );
    std::fs::write(path, text).unwrap();
}

#[test]
fn sighup_reloads_without_dropping_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("deploy.policy");
    write_overlay(&overlay, "220");
    let server = Server::start(&["--overlay", overlay.to_str().unwrap()]);
    let household = example("pingshan-dibao.json");
    let before_set = PolicySet::embedded().with_overlay(&overlay);
    let before = library_answer(&before_set, &household);

    // clients assess without pause while the set is swapped
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let addr = server.addr;
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            let household = household.clone();
            std::thread::spawn(move || {
                let mut c = Conn::open(addr);
                let mut answers = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let a = c.post(&format!("/assess?as_of={AS_OF}"), &household);
                    answers.push((a.status, a.header("x-fupin-generation").unwrap_or("?").to_string(), a.body));
                }
                answers
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    write_overlay(&overlay, "330");
    server.signal("HUP");
    server.wait_log("reloaded the policy set (generation 1)");
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let after = library_answer(&PolicySet::embedded().with_overlay(&overlay), &household);
    assert_ne!(before, after, "the new figure changes the assessment");
    let mut seen = [0usize; 2];
    for client in clients {
        for (status, generation, body) in client.join().unwrap() {
            assert_eq!(status, 200, "a request failed during the reload");
            match generation.as_str() {
                "0" => {
                    assert_eq!(body, before);
                    seen[0] += 1;
                }
                "1" => {
                    assert_eq!(body, after);
                    seen[1] += 1;
                }
                g => panic!("generation {g}"),
            }
        }
    }
    assert!(seen[0] > 0 && seen[1] > 0, "answers before and after the reload: {seen:?}");

    // a set that does not build is not swapped in: the old one keeps answering
    std::fs::write(&overlay, "policy deploy.test {").unwrap();
    server.signal("HUP");
    server.wait_log("reload failed; the policy set in force is kept");
    let a = server.conn().post(&format!("/assess?as_of={AS_OF}"), &household);
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-fupin-generation"), Some("1"));
    assert_eq!(a.body, after);
    // the log names the file and line (maybe on a line after the one waited for)
    server.wait_log("deploy.policy:1:");
}

#[test]
fn sigterm_answers_the_requests_in_flight_then_stops() {
    let mut server = Server::start(&["--batch-threads", "1"]);
    let input = batch_input(20_000);
    let expected_lines = 20_000;
    let addr = server.addr;
    let client = std::thread::spawn(move || Conn::open(addr).post(&format!("/batch?as_of={AS_OF}"), &input));
    std::thread::sleep(std::time::Duration::from_millis(300));
    server.signal("TERM");
    let a = client.join().unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.body.iter().filter(|b| **b == b'\n').count(), expected_lines, "the batch in flight was answered whole");
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
    // the log's reader thread may still be reading the last lines after the exit
    server.wait_log("fupin serve: stopped");
    // a stopped server takes no connection
    assert!(std::net::TcpStream::connect(server.addr).is_err());
}

#[test]
fn a_bad_lockfile_or_policy_set_refuses_to_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fupin-serve"))
        .args(["--addr", "127.0.0.1:0", "--lock", "/no/such/fupin.lock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/fupin.lock"), "{}", String::from_utf8_lossy(&out.stderr));
    // the shipped lockfile verifies
    let server = Server::start(&["--lock", root().join("fupin.lock").to_str().unwrap()]);
    assert_eq!(server.conn().get("/health").status, 200);
}

#[test]
fn a_request_that_never_ends_is_cut_after_the_grace_period() {
    let mut server = Server::start(&["--grace-ms", "300"]);
    // a batch whose body never ends
    let mut stalled = std::net::TcpStream::connect(server.addr).unwrap();
    use std::io::Write as _;
    stalled
        .write_all(
            format!("POST /batch?as_of={AS_OF} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"id\"\r\n").as_bytes(),
        )
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let start = std::time::Instant::now();
    server.signal("TERM");
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    // the log's reader thread may still be reading the last lines after the exit
    server.wait_log("grace period");
}
