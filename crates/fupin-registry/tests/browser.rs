//! The simulation report in a real browser (headless Chromium): `fupin
//! simulate --html` of the 石家庄 2018 → 2020 低保 standard loads with no
//! console message, shows both policy sets with their hashes, the bars, the
//! histogram and the county table in the rendered DOM, and renders to PNG.
//!
//! Needs Chromium (`/usr/bin/chromium`, or `CHROMIUM`), so it is ignored by
//! default; CI installs it and runs it:
//! `cargo test --release -p fupin-registry --test browser -- --ignored`.

use std::path::Path;
use std::process::Command;

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_string())
}

fn registry(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_fupin-registry")).args(args).output().expect("fupin-registry runs");
    assert!(out.status.success(), "fupin-registry {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "needs headless Chromium; CI runs it with --ignored"]
fn the_simulation_report_loads_and_shows_the_change_by_programme_and_county() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("simulation-page");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    let reg = dir.join("registry");
    let page = dir.join("simulation.html");
    let json = dir.join("simulation.json");
    registry(&["generate", "--households", "3000", reg.to_str().expect("utf-8")]);
    registry(&[
        "simulate",
        "--as-of",
        "2018-06-01",
        "--reform-set",
        "dibao_standard=5760",
        "--json",
        json.to_str().expect("utf-8"),
        "--html",
        page.to_str().expect("utf-8"),
        reg.to_str().expect("utf-8"),
    ]);
    let url = format!("file://{}", page.display());
    let out = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--dump-dom", &url])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (install Chromium, or set CHROMIUM): {e}", chromium()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let console: Vec<String> = String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(String::from).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let dom = String::from_utf8_lossy(&out.stdout);

    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("the report")).expect("JSON");
    let dibao = report["programmes"].as_array().expect("programmes").iter().find(|p| p["programme"] == "dibao").expect("dibao");
    let change = fupin_registry::report::grouped(dibao["change"].as_str().expect("a decimal").parse().expect("a decimal"));
    // the programme row, with the exact change as the JSON says it
    let row = dom.find("<tr data-programme=\"dibao\">").expect("the 低保 row");
    let row = &dom[row..row + dom[row..].find("</tr>").expect("its end")];
    assert!(row.contains(&format!("<td class=\"change\">+{change}</td>")), "{row}");
    assert!(dom.contains("<g class=\"programme\" data-programme=\"dibao\">"), "the bars");
    assert!(dom.contains("class=\"histogram\""), "the histogram");
    for county in report["counties"].as_array().expect("counties") {
        let c = county["county"].as_str().expect("a county");
        assert!(
            dom.contains(&format!("<td rowspan=\"{}\">{c}</td>", county["programmes"].as_array().map_or(1, |p| p.len().max(1)))),
            "county {c}"
        );
    }
    let hash =
        report["baseline"]["policies"].as_array().expect("policies").iter().find(|p| p["id"] == "cn.hebei.shijiazhuang").expect("石家庄")
            ["hash"]
            .as_str()
            .expect("a hash")
            .to_string();
    assert!(dom.contains(&hash), "the policy set's hash");
    assert!(dom.contains("dibao_standard=5760"), "the reform's setting");

    let png = dir.join("simulation.png");
    let shot = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1400"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .expect("chromium");
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let bytes = std::fs::read(&png).expect("png");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000, "not a rendered page");
    if let Ok(to) = std::env::var("FUPIN_SCREENSHOT_DIR") {
        std::fs::copy(&png, Path::new(&to).join("simulation.png")).expect("copied");
    }
}
