//! A small blocking HTTP/1.1 client over real sockets, and a way to start
//! the `fupin-serve` binary on a free port of 127.0.0.1: what the tests and
//! the load bench talk to the service with.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `fupin-serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Start the binary with `args` on a free port and wait until it listens.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fupin-serve"))
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fupin-serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("fupin serve: listening on http://") {
                    let addr = rest.split_whitespace().next().unwrap_or_default().to_string();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("fupin-serve did not start: {}", log.lock().unwrap())
        });
        Server { child, addr: addr.parse().expect("address"), log }
    }

    /// Send a signal to the server process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    /// Wait until the log holds `text` (or fail after a minute).
    pub fn wait_log(&self, text: &str) {
        let start = Instant::now();
        while !self.log.lock().unwrap().contains(text) {
            assert!(start.elapsed() < Duration::from_secs(60), "no `{text}` in the log: {}", self.log.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn conn(&self) -> Conn {
        Conn::open(self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// A keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).ok();
        s.set_read_timeout(Some(Duration::from_secs(120))).ok();
        Conn { reader: BufReader::new(s.try_clone().expect("clone")), writer: s }
    }

    pub fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, &[], &[])
    }

    pub fn post(&mut self, path: &str, body: &[u8]) -> Answer {
        self.send("POST", path, body, &[])
    }

    /// Send a request with a Content-Length body, read the answer.
    pub fn send(&mut self, method: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Answer {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.exchange(request)
    }

    /// Write the request while reading the answer, as a streaming client
    /// must: `/batch` answers lines while the body is still arriving, and a
    /// client that reads only once it has written everything fills both
    /// sockets' buffers and waits forever.
    fn exchange(&mut self, request: Vec<u8>) -> Answer {
        let mut writer = self.writer.try_clone().expect("clone");
        std::thread::scope(|s| {
            let sent = s.spawn(move || writer.write_all(&request));
            let answer = self.read_answer();
            // the server may answer (413) before it read the whole body
            let _ = sent.join();
            answer
        })
    }

    /// Send a body in chunks (Transfer-Encoding: chunked), read the answer.
    pub fn post_chunked(&mut self, path: &str, chunks: &[&[u8]]) -> Answer {
        let mut request = format!("POST {path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
        for c in chunks.iter().filter(|c| !c.is_empty()) {
            request.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            request.extend_from_slice(c);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        self.exchange(request)
    }

    pub fn read_answer(&mut self) -> Answer {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line `{line}`"));
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).expect("header");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let find = |name: &str| headers.iter().find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let mut body = Vec::new();
        if let Some(n) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body.resize(n, 0);
            self.reader.read_exact(&mut body).expect("body");
        } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).expect("chunk size");
                let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk).expect("chunk");
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        Answer { status, headers, body }
    }
}

/// The repository's root (two levels above this crate).
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn example(name: &str) -> Vec<u8> {
    std::fs::read(root().join("examples/households").join(name)).expect("example household")
}
