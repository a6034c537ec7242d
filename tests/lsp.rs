//! `fupin lsp` driven by a scripted client over its standard input and
//! output, as an editor drives it: initialize, open a file with a typo and
//! receive the diagnostic `fupin check` prints, hover, go to definition,
//! completion, formatting, shutdown and exit.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().expect("root")
}

fn uri(path: &Path) -> String {
    let mut s = String::from("file://");
    for b in path.to_str().expect("utf-8 path").bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
    /// Notifications received while waiting for something else.
    notifications: Vec<Value>,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fupin"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start fupin lsp");
        // a server that hangs fails the test instead of hanging it
        let pid = child.id();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(120));
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        });
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Client { child, stdin, stdout, next_id: 1, notifications: Vec::new() }
    }

    fn send(&mut self, msg: &Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn read(&mut self) -> Value {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).expect("read header");
            assert!(n > 0, "the server closed its output");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.parse().expect("length");
            }
        }
        let mut body = vec![0u8; len];
        self.stdout.read_exact(&mut body).expect("read body");
        serde_json::from_slice(&body).expect("json")
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let msg = self.read();
            if msg.get("id") == Some(&json!(id)) {
                assert!(msg.get("error").is_none(), "{method}: {msg}");
                return msg["result"].clone();
            }
            self.notifications.push(msg);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The diagnostics published for `uri` next.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let msg = match self.notifications.iter().position(|n| n["params"]["uri"] == uri) {
                Some(i) => self.notifications.remove(i),
                None => self.read(),
            };
            if msg["method"] == "textDocument/publishDiagnostics" && msg["params"]["uri"] == uri {
                return msg["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
            }
            if msg.get("method").is_some() {
                self.notifications.push(msg);
            }
        }
    }

    fn open(&mut self, path: &Path, text: &str) -> String {
        let u = uri(path);
        self.notify("textDocument/didOpen", json!({"textDocument": {"uri": u, "languageId": "fupin", "version": 1, "text": text}}));
        u
    }
}

/// The LSP position (line, UTF-16 column) of the first `needle` in `text`, `skip` characters in.
fn position(text: &str, needle: &str, skip: usize) -> Value {
    let at = text.find(needle).unwrap_or_else(|| panic!("`{needle}` not in the text")) + skip;
    let before = &text[..at];
    let line = before.matches('\n').count();
    let col: usize = before[before.rfind('\n').map_or(0, |i| i + 1)..].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": col})
}

fn at(u: &str, pos: Value) -> Value {
    json!({"textDocument": {"uri": u}, "position": pos})
}

#[test]
fn an_editor_session() {
    let root = root();
    let mut c = Client::start();
    let init = c.request(
        "initialize",
        json!({"processId": null, "rootUri": uri(&root), "capabilities": {}, "workspaceFolders": [{"uri": uri(&root), "name": "fupin"}]}),
    );
    for cap in ["hoverProvider", "definitionProvider", "completionProvider", "documentFormattingProvider"] {
        assert!(init["capabilities"].get(cap).is_some(), "{cap} missing: {init}");
    }
    c.notify("initialized", json!({}));

    // a typo: the same message as `fupin check`, at the same place
    let dir = std::env::temp_dir().join(format!("fupin-lsp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let typo_path = dir.join("typo.policy");
    let typo = "policy test.lsp {\n  title    \"t\"\n  region   130131\n  in_force 2016-01-01 ..\n  version  \"1\"\n  extends  cn.hebei.shijiazhuang\n}\n\nrule T-1 \"t\" {\n  cite \"c\"\n  for household\n  when househld.income < 4000\n  then eligible dibao\n}\n";
    std::fs::write(&typo_path, typo).expect("write");
    let typo_uri = c.open(&typo_path, typo);
    let diags = c.diagnostics(&typo_uri);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let check = Command::new(env!("CARGO_BIN_EXE_fupin")).arg("check").arg(&typo_path).output().expect("fupin check");
    let rendered = String::from_utf8_lossy(&check.stderr);
    let first = rendered.lines().next().expect("a diagnostic");
    let message = diags[0]["message"].as_str().expect("message");
    assert_eq!(first, format!("error: {}", message.lines().next().unwrap_or("").split(" (").next().unwrap_or("")), "{rendered}");
    assert_eq!(diags[0]["range"]["start"], json!({"line": 11, "character": 7}), "{diags:?}");
    assert!(rendered.contains(&format!("{}:12:8", typo_path.display())), "{rendered}");
    assert_eq!(diags[0]["severity"], 1);

    // fixed: the diagnostics are cleared
    let fixed = typo.replace("househld", "household");
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": typo_uri, "version": 2}, "contentChanges": [{"text": fixed}]}));
    assert_eq!(c.diagnostics(&typo_uri), Vec::<Value>::new());

    // the shipped 石家庄 policy, opened from the workspace
    let sjz_path = root.join("policies/hebei/shijiazhuang.policy");
    let sjz = std::fs::read_to_string(&sjz_path).expect("shijiazhuang");
    let sjz_uri = c.open(&sjz_path, &sjz);
    assert_eq!(c.diagnostics(&sjz_uri), Vec::<Value>::new());

    // hover on a parameter: its series with dates and citations, and today's value
    let hover = c.request("textDocument/hover", at(&sjz_uri, position(&sjz, "dibao_standard * household.size", 3)));
    let text = hover["contents"]["value"].as_str().expect("hover text").to_string();
    for want in [
        "dibao_standard",
        "yuan/year",
        "from 2017-01-01: **4000**",
        "from 2018-01-01: **4400**",
        "from 2020-03-01: **5760**",
        "石家庄 notice dated 2017-12-25",
        "In force today",
        "cn.hebei.shijiazhuang",
    ] {
        assert!(text.contains(want), "hover lacks `{want}`:\n{text}");
    }
    // on a field: its type and meaning
    let hover = c.request("textDocument/hover", at(&sjz_uri, position(&sjz, "household.income", 11)));
    let text = hover["contents"]["value"].as_str().expect("hover text");
    assert!(text.contains("household.income") && text.contains("annual household net income"), "{text}");

    // go to definition: `extends cn.hebei` opens the provincial policy
    let def = c.request("textDocument/definition", at(&sjz_uri, position(&sjz, "extends  cn.hebei", 12)));
    assert_eq!(def["uri"], uri(&root.join("policies/hebei/hebei.policy")), "{def}");
    let hebei = std::fs::read_to_string(root.join("policies/hebei/hebei.policy")).expect("hebei");
    assert_eq!(def["range"]["start"], position(&hebei, "policy cn.hebei", 7), "{def}");
    // a parameter: the definition the file sees, its own override
    let def = c.request("textDocument/definition", at(&sjz_uri, position(&sjz, "dibao_standard * household.size", 0)));
    assert_eq!(def["uri"], sjz_uri);
    assert_eq!(def["range"]["start"], position(&sjz, "override param dibao_standard", 15), "{def}");
    // a named value the file reads from the national policy
    let def = c.request("textDocument/definition", at(&sjz_uri, position(&sjz, "when registered_poor", 6)));
    assert_eq!(def["uri"], uri(&root.join("policies/national.policy")), "{def}");
    // `exception to` a rule, in the test file's own policy
    let exc_path = dir.join("exception.policy");
    let exc = "policy test.exc {\n  title    \"t\"\n  region   130131\n  in_force 2016-01-01 ..\n  version  \"1\"\n  extends  cn.hebei.shijiazhuang\n}\n\nrule E-1 \"e\" {\n  cite \"c\"\n  exception to SJZ-1\n  for each member m\n  when m.age > 100\n  then eligible dibao\n}\n";
    let exc_uri = c.open(&exc_path, exc);
    let _ = c.diagnostics(&exc_uri);
    let def = c.request("textDocument/definition", at(&exc_uri, position(exc, "SJZ-1", 1)));
    assert_eq!(def["uri"], sjz_uri, "{def}");
    assert_eq!(def["range"]["start"], position(&sjz, "rule SJZ-1 ", 5), "{def}");

    // completion: the fields after `household.`, the names elsewhere
    let typing = fixed.replace("when household.income < 4000", "when household.");
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": typo_uri, "version": 3}, "contentChanges": [{"text": typing}]}));
    let items = c.request("textDocument/completion", at(&typo_uri, position(&typing, "when household.", 15)));
    let labels: Vec<&str> = items.as_array().expect("items").iter().filter_map(|i| i["label"].as_str()).collect();
    for want in ["income", "size", "poverty.status", "members"] {
        assert!(labels.contains(&want), "no `{want}` in {labels:?}");
    }
    assert!(!labels.contains(&"age"), "a member field offered on the household: {labels:?}");
    let items = c.request("textDocument/completion", at(&typo_uri, position(&typing, "when household.", 5)));
    let labels: Vec<&str> = items.as_array().expect("items").iter().filter_map(|i| i["label"].as_str()).collect();
    for want in ["dibao_standard", "registered_poor", "min", "dibao", "partial_loss", "in_resident_pension_scope"] {
        assert!(labels.contains(&want), "no `{want}` in completion");
    }

    // a file that does not parse, with characters of several widths: every
    // request is answered, none fails the session
    let broken = "let x = （household.\nrule 坏 \"t\" { when 收入 >\n";
    let broken_uri = c.open(&dir.join("broken.policy"), broken);
    let diags = c.diagnostics(&broken_uri);
    assert!(!diags.is_empty(), "no syntax error reported");
    let items = c.request("textDocument/completion", at(&broken_uri, position(broken, "household.", 10)));
    let labels: Vec<&str> = items.as_array().expect("items").iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"income"), "{labels:?}");
    assert_eq!(c.request("textDocument/hover", at(&broken_uri, position(broken, "收入", 3))), Value::Null);
    assert_eq!(c.request("textDocument/definition", at(&broken_uri, json!({"line": 99, "character": 99}))), Value::Null);
    let edits =
        c.request("textDocument/formatting", json!({"textDocument": {"uri": broken_uri}, "options": {"tabSize": 2, "insertSpaces": true}}));
    assert_eq!(edits, Value::Null, "a file that does not parse is not reformatted");

    // formatting: fupin fmt
    let messy = "rule R \"t\" {   for household\n when a   and b // why\n then eligible p }\n";
    let messy_uri = c.open(&dir.join("messy.policy"), messy);
    let _ = c.diagnostics(&messy_uri);
    let edits =
        c.request("textDocument/formatting", json!({"textDocument": {"uri": messy_uri}, "options": {"tabSize": 2, "insertSpaces": true}}));
    assert_eq!(edits[0]["newText"], fupin::syntax::format::format(messy).expect("format"));

    // shutdown, exit: status 0
    assert_eq!(c.request("shutdown", Value::Null), Value::Null);
    c.notify("exit", Value::Null);
    let status = c.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_editor_folder_declares_the_language_and_highlights_every_keyword() {
    let dir = root().join("editors/vscode");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let package: Value = serde_json::from_str(&read("package.json")).expect("package.json");
    assert_eq!(package["contributes"]["languages"][0]["extensions"], json!([".policy", ".fupintest"]));
    let grammar_path = package["contributes"]["grammars"][0]["path"].as_str().expect("grammar path");
    let grammar_text = read(grammar_path);
    let _: Value = serde_json::from_str(&grammar_text).expect("grammar json");
    let _: Value = serde_json::from_str(&read("language-configuration.json")).expect("language configuration");
    assert!(read("extension.js").contains("\"lsp\""), "the client does not start `fupin lsp`");
    // every word the grammar knows is highlighted
    let pest = std::fs::read_to_string(root().join("grammar/policy.pest")).expect("grammar");
    let mut missing = Vec::new();
    for lit in pest.split('"').skip(1).step_by(2) {
        let word = lit.chars().all(|c| c.is_ascii_lowercase() || c == '_') && lit.len() > 1;
        // the settlement-list field names are data, not words of the language
        if word
            && !lit.ends_with("_pay")
            && !lit.ends_with("_dedc")
            && !grammar_text.contains(&format!("|{lit}|"))
            && !grammar_text.contains(&format!("({lit}|"))
            && !grammar_text.contains(&format!("|{lit})"))
        {
            missing.push(lit.to_string());
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "words of the grammar the highlighting does not know: {missing:?}");
}
