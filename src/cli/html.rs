//! The HTML pages fupin writes: the policy site (`fupin doc`) and one
//! assessment (`fupin eval --html`). Plain HTML and inline SVG in UTF-8 with
//! a CJK-capable font stack; the site's search box is the only script, and
//! every page reads without it.

use fupin::assessment::{Assessment, TraceEvent};
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// `s` with `&`, `<`, `>` and `"` escaped, for text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; margin: 0 auto; max-width: 62rem; padding: 1rem 1.5rem 4rem; color: #1b1f24; line-height: 1.55; }
a { color: #0b5cad; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { margin: 1.8rem 0 .3rem; }
.sub { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.date { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; border-radius: 4px; }
.cite { color: #57606a; font-size: .92rem; }
.ok { color: #1a7f37; font-weight: 600; }
.no { color: #57606a; }
.err { color: #cf222e; }
nav { font-size: .92rem; margin-bottom: 1rem; }
input[type=search] { font-size: 1rem; padding: .35rem .6rem; width: 100%; max-width: 30rem; box-sizing: border-box; }
#results li.hidden { display: none; }
details { margin: .3rem 0; }
summary { cursor: pointer; }
.legend span { display: inline-block; margin-right: 1rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; }
"#;

/// A whole page.
pub fn page(title: &str, nav: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-Hans\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<nav>{nav}</nav>\n{body}\n</body>\n</html>\n",
        esc(title)
    )
}

/// Colours of the layers of a claim, in settlement order; out-of-pocket is grey.
const COLOURS: &[&str] = &["#2f6fb7", "#e3872d", "#3a9a5b", "#9b59b6", "#c0392b", "#16a085", "#b7950b", "#7f8c8d"];
const OUT_OF_POCKET: &str = "#b8bec6";

/// One assessment as a page: each programme with its amount and reasons,
/// each claim as a bar of its layers and out-of-pocket (adding up to its
/// cost), and the trace, when there is one, as expandable sections.
pub fn assessment(a: &Assessment) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Assessment of household {}</h1>", esc(&a.household));
    let _ = write!(b, "<p class=\"sub\">on {}; policies applied: ", a.as_of);
    for (i, p) in a.policies.iter().enumerate() {
        if i > 0 {
            b.push_str(", ");
        }
        let _ = write!(
            b,
            "<code>{}</code> {} <span class=\"cite\" title=\"{}\">{}</span>",
            esc(&p.id),
            esc(&p.version),
            esc(&p.hash),
            esc(short_hash(&p.hash))
        );
    }
    b.push_str("</p>\n");
    for w in &a.warnings {
        let _ = writeln!(b, "<p class=\"err\">warning: {}</p>", esc(&w.to_string()));
    }

    b.push_str("<h2>Programmes</h2>\n<table>\n<tr><th>programme</th><th>eligible</th><th>amount</th><th>why</th></tr>\n");
    // the programmes with an outcome in the table; the others listed below it
    let (shown, others): (Vec<_>, Vec<_>) =
        a.programs.iter().partition(|(_, p)| p.eligible || p.flag || p.value.is_some() || p.error.is_some());
    for (id, p) in shown {
        let eligible = if p.eligible { "<span class=\"ok\">yes</span>" } else { "<span class=\"no\">no</span>" };
        let mut amount = match (p.amount, &p.unit) {
            (Some(v), Some(u)) => format!("{} {}", money(v), esc(u)),
            (Some(v), None) => money(v),
            (None, _) => String::new(),
        };
        if let Some(e) = &p.error {
            let _ = write!(amount, "<span class=\"err\">unknown: {}</span>", esc(e));
        }
        if p.flag {
            amount.push_str(" <span class=\"cite\">flagged for follow-up</span>");
        }
        if let Some(v) = &p.value {
            let _ = write!(amount, " {}", esc(v));
        }
        let mut why = String::new();
        for r in &p.reasons {
            let _ = write!(why, "<div><b>{}</b> {}<br><span class=\"cite\">{}</span>", esc(&r.rule), esc(&r.title), esc(&r.citation));
            if !r.subjects.is_empty() {
                let _ = write!(why, " <span class=\"cite\">(for {})</span>", esc(&r.subjects.join(", ")));
            }
            why.push_str("</div>");
        }
        let _ = writeln!(b, "<tr><td><code>{}</code></td><td>{eligible}</td><td class=\"num\">{amount}</td><td>{why}</td></tr>", esc(id));
    }
    b.push_str("</table>\n");
    if !others.is_empty() {
        let names: Vec<String> = others.iter().map(|(id, _)| format!("<code>{}</code>", esc(id))).collect();
        let _ = writeln!(
            b,
            "<details><summary>{} programmes it does not qualify for</summary><p>{}</p></details>",
            others.len(),
            names.join(", ")
        );
    }

    if !a.claims.is_empty() {
        b.push_str("<h2>Medical claims</h2>\n");
        for c in &a.claims {
            let _ = writeln!(b, "<h3>{} · {} · {} · total {}</h3>", esc(&c.claim), esc(&c.member), c.date, money(c.total_cost));
            if let Some(e) = &c.error {
                let _ = writeln!(b, "<p class=\"err\">not settled: {}</p>", esc(e));
                continue;
            }
            b.push_str(&claim_bar(c));
            for r in &c.reasons {
                let _ = writeln!(b, "<div class=\"cite\"><b>{}</b> {} — {}</div>", esc(&r.rule), esc(&r.title), esc(&r.citation));
            }
        }
    }

    if let Some(trace) = &a.trace {
        b.push_str("<h2>How it was worked out</h2>\n");
        for ev in trace {
            b.push_str(&trace_event(ev));
        }
    }
    page(&format!("Assessment {}", a.household), "fupin assessment", &b)
}

fn short_hash(h: &str) -> &str {
    h.get(..15).unwrap_or(h)
}

fn money(v: Decimal) -> String {
    esc(&v.to_string())
}

/// A claim's settlement as one bar: a segment per layer that paid, then
/// out-of-pocket; the widths are the amounts' shares of the total cost (the
/// `f64`s are pixel widths only: the amounts are written as exact decimals).
fn claim_bar(c: &fupin::assessment::ClaimOutcome) -> String {
    const W: f64 = 600.0;
    let total = c.total_cost;
    let mut parts: Vec<(String, Decimal, &str)> = Vec::new();
    for (i, (name, v)) in c.layers.iter().enumerate() {
        if let Some(v) = v {
            if !v.is_zero() {
                parts.push((name.to_string(), v, COLOURS[i % COLOURS.len()]));
            }
        }
    }
    if let Some(o) = c.out_of_pocket {
        parts.push(("out_of_pocket".to_string(), o, OUT_OF_POCKET));
    }
    let mut svg = format!("<svg role=\"img\" aria-label=\"settlement of claim {}\" width=\"{W}\" height=\"34\" viewBox=\"0 0 {W} 34\" xmlns=\"http://www.w3.org/2000/svg\">", esc(&c.claim));
    let mut x = 0.0;
    let share = |v: Decimal| -> f64 {
        if total.is_zero() {
            return 0.0;
        }
        v.checked_div(total).map_or(0.0, |q| q.to_string().parse::<f64>().unwrap_or(0.0))
    };
    for (name, v, colour) in &parts {
        let w = share(*v) * W;
        let _ = write!(
            svg,
            "<rect x=\"{x:.2}\" y=\"4\" width=\"{w:.2}\" height=\"26\" fill=\"{colour}\"><title>{}: {}</title></rect>",
            esc(name),
            money(*v)
        );
        x += w;
    }
    svg.push_str("</svg>");
    let mut legend = String::from("<div class=\"legend\">");
    let mut sum = Decimal::ZERO;
    for (name, v, colour) in &parts {
        sum += *v;
        let _ = write!(legend, "<span><i class=\"swatch\" style=\"background:{colour}\"></i>{} <b>{}</b></span>", esc(name), money(*v));
    }
    let _ = write!(legend, "<span>= <b class=\"claim-total\">{}</b></span></div>", money(sum));
    format!("<div class=\"claim\">{svg}{legend}</div>\n")
}

fn trace_event(ev: &TraceEvent) -> String {
    let mut s = String::new();
    match ev {
        TraceEvent::Rule { rule, citation, subject, fired, values, parameters, named, defaulted } => {
            let state = if *fired { "<span class=\"ok\">fired</span>" } else { "<span class=\"no\">did not apply</span>" };
            let _ = write!(
                s,
                "<details><summary><b>{}</b> for {}: {state}</summary><p class=\"cite\">{}</p>",
                esc(rule),
                esc(subject),
                esc(citation)
            );
            if !values.is_empty() || !named.is_empty() {
                s.push_str("<table>");
                for (k, v) in named.iter().chain(values) {
                    let _ = write!(s, "<tr><td><code>{}</code></td><td class=\"num\">{}</td></tr>", esc(k), esc(v));
                }
                s.push_str("</table>");
            }
            for p in parameters {
                let _ = write!(s, "<div class=\"cite\">{}</div>", esc(&p.to_string()));
            }
            for d in defaulted {
                let _ = write!(s, "<div class=\"err\">{}</div>", esc(&d.to_string()));
            }
            s.push_str("</details>\n");
        }
        TraceEvent::Parameter { name, on, value, policy, citation, .. } => {
            let _ = writeln!(
                s,
                "<details><summary>parameter <code>{}</code> on {} = <b>{}</b></summary><p class=\"cite\">{}{}</p></details>",
                esc(name),
                esc(on),
                esc(value),
                esc(policy),
                citation.as_ref().map(|c| format!(": {}", esc(c))).unwrap_or_default()
            );
        }
        other => {
            let text = serde_json::to_string(other).unwrap_or_default();
            let _ = writeln!(
                s,
                "<details><summary>{}</summary><pre>{}</pre></details>",
                esc(text.split('"').nth(1).unwrap_or("event")),
                esc(&text)
            );
        }
    }
    s
}
