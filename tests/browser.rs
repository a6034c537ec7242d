//! The pages fupin writes, loaded in a real browser (headless Chromium):
//! the shipped library's site (`fupin doc`) and one assessment (`fupin eval
//! --html`) load with no console message, show the expected text in the
//! rendered DOM (a policy title, a parameter's value and its source, the
//! search done by the page's script, a claim's layers adding up to its
//! total), and render to PNG.
//!
//! These need Chromium (`/usr/bin/chromium`, or `CHROMIUM`), so they are
//! ignored by default; CI installs it and runs them:
//! `cargo test --release --test browser -- --ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_string())
}

fn out_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

/// The DOM after the page's scripts ran, and every console message.
fn load(url: &str) -> (String, Vec<String>) {
    let out = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--dump-dom", url])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (install Chromium, or set CHROMIUM): {e}", chromium()));
    assert!(out.status.success(), "chromium failed on {url}: {}", String::from_utf8_lossy(&out.stderr));
    let console = String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(String::from).collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

fn screenshot(url: &str, png: &Path, height: u32) {
    let status = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", &format!("--window-size=1100,{height}")])
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .output()
        .expect("chromium");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let bytes = std::fs::read(png).expect("png");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000, "{} is not a rendered page", png.display());
}

fn fupin(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_fupin")).args(args).output().expect("fupin");
    assert!(out.status.success(), "fupin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn url(p: &Path) -> String {
    format!("file://{}", p.display())
}

#[test]
#[ignore = "needs headless Chromium; CI runs it with --ignored"]
fn the_policy_site_loads_and_shows_the_2018_shijiazhuang_dibao_standard_with_its_source() {
    let site = out_dir("site");
    fupin(&["doc", site.to_str().expect("path")]);

    let (dom, console) = load(&url(&site.join("index.html")));
    assert!(console.is_empty(), "console messages on the index: {console:?}");
    assert!(dom.contains("中共石家庄市委 石家庄市人民政府关于加大扶贫开发力度实现脱贫攻坚目标的实施意见"), "no 石家庄 policy on the index");
    assert!(dom.contains("石发〔2016〕4号"));

    // click one: the policy page, the parameter, its 2018 value and source
    let page = site.join("policy/cn.hebei.shijiazhuang-2016.4.html");
    let (dom, console) = load(&url(&page));
    assert!(console.is_empty(), "console messages on the policy page: {console:?}");
    let at = dom.find("id=\"param-dibao_standard\"").expect("the dibao_standard section");
    let section = &dom[at..at + dom[at..].find("</table>").expect("its table")];
    assert!(section.contains("2018-01-01</td><td class=\"num\">4400</td>"), "{section}");
    assert!(section.contains("石家庄 notice dated 2017-12-25"), "{section}");
    assert!(dom[at..].contains("<svg role=\"img\" aria-label=\"dibao_standard over time\""));

    // the search: the index opened with a query filters its list
    let (dom, console) = load(&format!("{}?q=dibao_standard", url(&site.join("index.html"))));
    assert!(console.is_empty(), "{console:?}");
    let shown: Vec<&str> = dom.split("<li ").filter(|li| !li.starts_with("class=\"hidden\"") && li.contains("data-text")).collect();
    assert!(!shown.is_empty() && shown.iter().all(|li| li.contains("dibao_standard")), "the search shows {shown:?}");

    screenshot(&url(&page), &site.join("policy.png"), 1200);
}

#[test]
#[ignore = "needs headless Chromium; CI runs it with --ignored"]
fn an_assessment_page_loads_and_each_claim_bar_adds_up_to_its_cost() {
    let dir = out_dir("assessment");
    let page = dir.join("assessment.html");
    let root = env!("CARGO_MANIFEST_DIR");
    fupin(&[
        "eval",
        "--as-of",
        "2018-06-01",
        "--overlay",
        &format!("{root}/examples/overlays/pingshan.policy"),
        "--html",
        page.to_str().expect("path"),
        &format!("{root}/examples/households/pingshan-medical.json"),
    ]);
    let (dom, console) = load(&url(&page));
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(dom.contains("7800.00 yuan/year"), "the dibao amount is not on the page");
    // the inpatient claim: its layers and out-of-pocket, and the total they make
    let at = dom.find("PS-ZY-2018-004512").expect("the inpatient claim");
    let claim = &dom[at..at + dom[at..].find("</div></div>").expect("its legend")];
    assert!(claim.contains("total 23456.70"), "{claim}");
    for part in
        ["basic <b>14527.88</b>", "assistance <b>3739.83</b>", "out_of_pocket <b>5188.99</b>", "<b class=\"claim-total\">23456.70</b>"]
    {
        assert!(claim.contains(part), "no `{part}` in {claim}");
    }
    assert!(dom.contains("<details>"), "no trace sections");
    screenshot(&url(&page), &dir.join("assessment.png"), 2500);
}
