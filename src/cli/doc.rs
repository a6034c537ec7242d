//! `fupin doc OUT_DIR`: the loaded policy set as a static site a reader who
//! reads no code can use. `index.html` lists the policies (title, 文号,
//! region, period, version) with a search box and the catalogue coverage
//! per document; a page per policy shows its header and hash, every
//! parameter it defines with its dated values, their citations and a step
//! chart of them over time (inline SVG), and every rule with its title,
//! citation, note, condition and outcomes, cross-linked: a parameter to the
//! rules that read it, a rule to the rules it is an exception to and those
//! that are exceptions to it, a policy to the one it extends and those that
//! extend it.

use super::html::{esc, page};
use fupin::check::{Module, OutcomeDef, ParamDef};
use fupin::ir::{Expr, ExprKind};
use fupin::Engine;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Write the site of the engine's policies into `out`.
pub fn site(engine: &Engine, catalogue: &str, out: &Path) -> std::io::Result<usize> {
    let p = engine.program();
    let m = &p.module;
    std::fs::create_dir_all(out.join("policy"))?;
    let reads = param_readers(m);
    let mut pages = 0;
    for (i, _) in m.policies.iter().enumerate() {
        let html = policy_page(engine, i, &reads);
        std::fs::write(out.join("policy").join(file_of(m, i)), html)?;
        pages += 1;
    }
    std::fs::write(out.join("index.html"), index(engine, catalogue))?;
    Ok(pages + 1)
}

/// The page of policy `i` (versions of one policy get one page each).
fn file_of(m: &Module, i: usize) -> String {
    let p = &m.policies[i];
    format!("{}-{}.html", p.id, p.version)
}

/// The rules that read each parameter (directly), by parameter name.
fn param_readers(m: &Module) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    fn walk(e: &Expr, m: &Module, found: &mut Vec<String>) {
        if let ExprKind::Param(p) | ExprKind::ParamAt(p, _) = &e.kind {
            if let Some(slot) = m.params.get(*p as usize) {
                found.push(slot.name.clone());
            }
        }
        e.for_each_child(&mut |c| walk(c, m, found));
    }
    for (ri, r) in m.rules.iter().enumerate() {
        let mut found = Vec::new();
        for e in rule_exprs(r) {
            walk(e, m, &mut found);
        }
        found.sort();
        found.dedup();
        for name in found {
            out.entry(name).or_default().push(ri);
        }
    }
    out
}

fn rule_exprs(r: &fupin::check::RuleDef) -> Vec<&Expr> {
    let mut v: Vec<&Expr> = r.pre.iter().chain(&r.post).map(|l| &l.expr).collect();
    v.extend(r.cond.iter());
    for o in &r.outcomes {
        if let OutcomeDef::Amount(_, e) | OutcomeDef::Pay(_, e) | OutcomeDef::AddTally(_, e) = o {
            v.push(e);
        }
    }
    v
}

fn source_of(engine: &Engine, e: &Expr) -> String {
    let Some(f) = engine.program().sources.get(e.loc.file) else { return String::new() };
    f.text.get(e.loc.span.start as usize..e.loc.span.end as usize).unwrap_or("").to_string()
}

fn period(p: &fupin::check::PolicyInfo) -> String {
    match p.to {
        Some(to) => format!("{} – {to}", p.from),
        None => format!("from {}", p.from),
    }
}

fn index(engine: &Engine, catalogue: &str) -> String {
    let m = &engine.program().module;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>fupin policy library</h1>\n<p class=\"sub\">{} policies, {} parameters, {} rules. Every figure below links to the clause of the document it comes from.</p>",
        m.policies.len(),
        m.params.len(),
        m.rules.len()
    );
    // search: the list is complete without the script; the script filters it
    b.push_str("<h2>Search</h2>\n<input type=\"search\" id=\"q\" placeholder=\"a parameter, a rule, a policy, a programme… (低保, dibao_standard, SJZ-1)\" aria-label=\"search\">\n<ul id=\"results\">\n");
    for (i, p) in m.policies.iter().enumerate() {
        let href = format!("policy/{}", file_of(m, i));
        let _ = writeln!(
            b,
            "<li class=\"hidden\" data-text=\"{}\"><a href=\"{href}\">{}</a> — policy {} {}</li>",
            esc(&format!("{} {} {}", p.id, p.title, p.document.as_deref().unwrap_or(""))),
            esc(&p.title),
            esc(&p.id),
            esc(&p.version)
        );
        for slot in m.params.iter().filter(|s| s.defs.iter().any(|d| d.policy as usize == i)) {
            let _ = writeln!(
                b,
                "<li class=\"hidden\" data-text=\"{}\"><a href=\"{href}#param-{}\">{}</a> — parameter of {}</li>",
                esc(&format!("{} {}", slot.name, slot.title.as_deref().unwrap_or(""))),
                esc(&slot.name),
                esc(&slot.name),
                esc(&p.title)
            );
        }
        for r in m.rules.iter().filter(|r| r.policy as usize == i) {
            let _ = writeln!(
                b,
                "<li class=\"hidden\" data-text=\"{}\"><a href=\"{href}#rule-{}\">{} {}</a> — rule of {}</li>",
                esc(&format!("{} {} {}", r.id, r.title, r.cite)),
                esc(&r.id),
                esc(&r.id),
                esc(&r.title),
                esc(&p.title)
            );
        }
    }
    b.push_str("</ul>\n<script>\nconst q = document.getElementById('q');\nconst items = Array.from(document.querySelectorAll('#results li'));\nfunction filter() {\n  const t = q.value.trim().toLowerCase();\n  for (const li of items) li.classList.toggle('hidden', t === '' || !li.dataset.text.toLowerCase().includes(t));\n}\nq.addEventListener('input', filter);\n// index.html?q=… opens with the search done (a link to a search)\nconst given = new URLSearchParams(location.search).get('q');\nif (given) { q.value = given; filter(); }\n</script>\n<noscript><style>#results li.hidden { display: list-item; }</style></noscript>\n");

    b.push_str("<h2>Policies</h2>\n<table>\n<tr><th>policy</th><th>文号</th><th>region</th><th>in force</th><th>version</th></tr>\n");
    let mut order: Vec<usize> = (0..m.policies.len()).collect();
    order.sort_by_key(|&i| (m.policies[i].prefix_len, m.policies[i].id.clone(), m.policies[i].from));
    for i in order {
        let p = &m.policies[i];
        let _ = writeln!(
            b,
            "<tr><td><a href=\"policy/{}\">{}</a><br><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&file_of(m, i)),
            esc(&p.title),
            esc(&p.id),
            esc(p.document.as_deref().unwrap_or("")),
            esc(&p.region),
            esc(&period(p)),
            esc(&p.version)
        );
    }
    b.push_str("</table>\n");

    let report = fupin::coverage::report(engine, catalogue);
    let mut by_doc: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for e in &report.entries {
        let c = by_doc.entry(e.document.clone()).or_default();
        match e.status {
            fupin::coverage::Status::Tested => c.0 += 1,
            fupin::coverage::Status::EncodedOnly => c.1 += 1,
            fupin::coverage::Status::Missing => c.2 += 1,
        }
    }
    b.push_str("<h2>Catalogue coverage</h2>\n<p class=\"sub\">Every clause of the source documents the catalogue lists: encoded and tested, encoded only, or not encoded.</p>\n<table>\n<tr><th>document</th><th>encoded and tested</th><th>encoded only</th><th>not encoded</th></tr>\n");
    for (doc, (t, e, miss)) in &by_doc {
        let _ =
            writeln!(b, "<tr><td>{}</td><td class=\"num\">{t}</td><td class=\"num\">{e}</td><td class=\"num\">{miss}</td></tr>", esc(doc));
    }
    b.push_str("</table>\n");
    page("fupin policy library", "fupin policy library", &b)
}

fn policy_page(engine: &Engine, i: usize, readers: &BTreeMap<String, Vec<usize>>) -> String {
    let prog = engine.program();
    let m = &prog.module;
    let p = &m.policies[i];
    let link = |id: &str| -> String {
        match m.policies.iter().position(|q| q.id == id) {
            Some(j) => format!("<a href=\"{}\">{}</a> (<code>{}</code>)", esc(&file_of(m, j)), esc(&m.policies[j].title), esc(id)),
            None => format!("<code>{}</code>", esc(id)),
        }
    };
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{}</h1>\n<p class=\"sub\"><code>{}</code> version {}</p>", esc(&p.title), esc(&p.id), esc(&p.version));
    b.push_str("<table>\n");
    if let Some(d) = &p.document {
        let _ = writeln!(b, "<tr><th>文号 (document)</th><td>{}</td></tr>", esc(d));
    }
    if let Some(d) = p.issued {
        let _ = writeln!(b, "<tr><th>issued</th><td>{d}</td></tr>");
    }
    let _ = writeln!(b, "<tr><th>region</th><td>{}</td></tr>\n<tr><th>in force</th><td>{}</td></tr>", esc(&p.region), esc(&period(p)));
    let _ = writeln!(b, "<tr><th>content hash</th><td><code>{}</code></td></tr>", esc(prog.hashes.get(i).map_or("", |h| h.as_str())));
    if let Some(parent) = &p.extends {
        let _ = writeln!(b, "<tr><th>extends</th><td>{}</td></tr>", link(parent));
    }
    let children: Vec<String> = m.policies.iter().filter(|q| q.extends.as_deref() == Some(p.id.as_str())).map(|q| link(&q.id)).collect();
    if !children.is_empty() {
        let _ = writeln!(b, "<tr><th>extended by</th><td>{}</td></tr>", children.join("<br>"));
    }
    b.push_str("</table>\n");

    let region = super::commands::region_code(&p.region);
    let params: Vec<_> = m.params.iter().filter_map(|s| s.defs.iter().find(|d| d.policy as usize == i).map(|d| (s, d))).collect();
    if !params.is_empty() {
        b.push_str("<h2>Parameters</h2>\n");
    }
    for (slot, def) in params {
        let _ = writeln!(b, "<h3 id=\"param-{}\">{}</h3>", esc(&slot.name), esc(slot.title.as_deref().unwrap_or(&slot.name)));
        let _ = writeln!(b, "<p><code>{}</code>: {}</p>", esc(&slot.name), esc(&slot.ty.to_string()));
        if let Some(c) = &def.cite {
            let _ = writeln!(b, "<p class=\"cite\">{}</p>", esc(c));
        }
        b.push_str(&series(engine, &region, &slot.name, def));
        // the rules that read this definition: this policy's and those of the policies extending it
        let sees = |r: usize| {
            let q = &m.policies[m.rules[r].policy as usize];
            q.id == p.id || q.ancestors.contains(&p.id)
        };
        let links: Vec<String> = readers.get(&slot.name).into_iter().flatten().filter(|&&r| sees(r)).map(|&r| rule_link(m, r, i)).collect();
        if !links.is_empty() {
            let _ = writeln!(b, "<p>Read by {}</p>", links.join(", "));
        }
    }
    let rules: Vec<usize> = (0..m.rules.len()).filter(|&r| m.rules[r].policy as usize == i).collect();
    if !rules.is_empty() {
        b.push_str("<h2>Rules</h2>\n");
    }
    for r in rules {
        b.push_str(&rule_section(engine, r, i));
    }
    page(&p.title, "<a href=\"../index.html\">fupin policy library</a>", &b)
}

/// A link to rule `r` from the page of policy `from`.
fn rule_link(m: &Module, r: usize, from: usize) -> String {
    let rule = &m.rules[r];
    let page = if rule.policy as usize == from { String::new() } else { file_of(m, rule.policy as usize) };
    format!("<a href=\"{}#rule-{}\" title=\"{}\">{}</a>", esc(&page), esc(&rule.id), esc(&rule.title), esc(&rule.id))
}

/// A definition's dated values: a table with their citations, and a step
/// chart of the values in force over time.
fn series(engine: &Engine, region: &str, name: &str, def: &ParamDef) -> String {
    let mut s = String::new();
    if def.required && def.entries.is_empty() {
        s.push_str("<p>No figure in the document: <b>supplied by the deployer</b> (an overlay or <code>--set</code>).</p>\n");
        return s;
    }
    s.push_str("<table>\n<tr><th>from</th><th>value</th><th>source</th></tr>\n");
    let mut points: Vec<(chrono::NaiveDate, Decimal)> = Vec::new();
    for e in &def.entries {
        let written = source_of(engine, &e.value);
        let from = e.from.map_or("always".to_string(), |d| d.to_string());
        let value = e.from.and_then(|d| value_on(engine, region, name, d));
        let shown = match value {
            Some(v) if written.replace('_', "").parse::<Decimal>().ok() != Some(v) => {
                format!("{} <span class=\"cite\">({})</span>", esc(&v.to_string()), esc(&written))
            }
            _ => esc(&written),
        };
        let _ = writeln!(
            s,
            "<tr><td class=\"date\">{}</td><td class=\"num\">{shown}</td><td class=\"cite\">{}</td></tr>",
            esc(&from),
            esc(e.cite.as_deref().unwrap_or(""))
        );
        if let (Some(d), Some(v)) = (e.from, value) {
            points.push((d, v));
        }
    }
    if let Some(f) = &def.floor {
        let _ = writeln!(s, "<tr><td>floor</td><td class=\"num\">{}</td><td></td></tr>", esc(&source_of(engine, f)));
    }
    if let Some(c) = &def.cap {
        let _ = writeln!(s, "<tr><td>cap</td><td class=\"num\">{}</td><td></td></tr>", esc(&source_of(engine, c)));
    }
    s.push_str("</table>\n");
    if points.len() >= 2 {
        s.push_str(&step_chart(name, &points));
    }
    s
}

/// The value of parameter `name` in force for `region` on `date`, as a number.
fn value_on(engine: &Engine, region: &str, name: &str, date: chrono::NaiveDate) -> Option<Decimal> {
    let p = engine.params_in_force(region, date).into_iter().find(|p| p.name == name)?;
    let text = p.value.split_whitespace().next()?;
    match text.strip_suffix('%') {
        Some(pct) => pct.parse::<Decimal>().ok().and_then(|d| d.checked_div(Decimal::ONE_HUNDRED)),
        None => text.parse::<Decimal>().ok(),
    }
}

/// Values over time as steps: each value holds from its date to the next;
/// the last for a year after its date. The `f64`s are pixel positions only:
/// every figure shown is the exact decimal, written as text.
fn step_chart(name: &str, points: &[(chrono::NaiveDate, Decimal)]) -> String {
    const W: f64 = 560.0;
    const H: f64 = 150.0;
    const L: f64 = 70.0;
    const B: f64 = 26.0;
    let days = |d: chrono::NaiveDate| d.num_days_from_ce() as f64;
    use chrono::Datelike;
    let x0 = days(points[0].0);
    let x1 = days(points[points.len() - 1].0) + 365.0;
    let num = |v: Decimal| v.to_string().parse::<f64>().unwrap_or(0.0);
    let hi = points.iter().map(|p| num(p.1)).fold(f64::MIN, f64::max);
    let lo = points.iter().map(|p| num(p.1)).fold(f64::MAX, f64::min).min(0.0);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x = |d: f64| L + (d - x0) / (x1 - x0) * (W - L - 10.0);
    let y = |v: f64| 18.0 + (1.0 - (v - lo) / span) * (H - B - 18.0);
    let mut path = String::new();
    for (i, (d, v)) in points.iter().enumerate() {
        let (px, py) = (x(days(*d)), y(num(*v)));
        if i == 0 {
            let _ = write!(path, "M{px:.1},{py:.1}");
        } else {
            let _ = write!(path, " H{px:.1} V{py:.1}");
        }
    }
    let _ = write!(path, " H{:.1}", x(x1));
    let mut svg = format!("<svg role=\"img\" aria-label=\"{} over time\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">", esc(name));
    let _ = write!(svg, "<line x1=\"{L}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#8c959f\"/>", H - B, W - 10.0, H - B);
    for (d, v) in points {
        let (px, py) = (x(days(*d)), y(num(*v)));
        let _ = write!(
            svg,
            "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3\" fill=\"#0b5cad\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#1b1f24\">{}</text>",
            px + 4.0,
            py - 4.0,
            esc(&v.to_string())
        );
        let _ = write!(svg, "<text x=\"{px:.1}\" y=\"{:.1}\" fill=\"#57606a\" text-anchor=\"middle\">{}</text>", H - 8.0, d.year());
    }
    let _ = write!(svg, "<path d=\"{path}\" fill=\"none\" stroke=\"#0b5cad\" stroke-width=\"2\"/></svg>");
    format!("<div class=\"chart\">{svg}</div>\n")
}

fn rule_section(engine: &Engine, r: usize, policy: usize) -> String {
    let m = &engine.program().module;
    let rule = &m.rules[r];
    let mut s = format!("<h3 id=\"rule-{}\">{} {}</h3>\n", esc(&rule.id), esc(&rule.id), esc(&rule.title));
    let _ = writeln!(s, "<p class=\"cite\">{}</p>", esc(&rule.cite));
    if let Some(n) = &rule.note {
        let _ = writeln!(s, "<p><i>Reading:</i> {}</p>", esc(n));
    }
    let subject = match rule.subject {
        fupin::check::types::Entity::Household => "the household",
        fupin::check::types::Entity::Member => "each member",
        fupin::check::types::Entity::Claim => "each medical claim",
        fupin::check::types::Entity::Loan => "each loan",
    };
    let _ = writeln!(s, "<p>For {subject}:</p>");
    let mut code = String::new();
    for l in &rule.pre {
        let _ = writeln!(code, "let {} = {}", l.name, source_of(engine, &l.expr));
    }
    if let Some(c) = &rule.cond {
        let _ = writeln!(code, "when {}", source_of(engine, c));
    }
    for l in &rule.post {
        let _ = writeln!(code, "let {} = {}", l.name, source_of(engine, &l.expr));
    }
    for o in &rule.outcomes {
        let prog = |p: &u32| m.programs.get(*p as usize).map_or(String::new(), |p| p.id.clone());
        let _ = match o {
            OutcomeDef::Eligible(p) => writeln!(code, "then eligible {}", prog(p)),
            OutcomeDef::Flag(p) => writeln!(code, "then flag {}", prog(p)),
            OutcomeDef::Assign(p, sym) => {
                writeln!(code, "then assign {} = {}", prog(p), m.symbols.get(*sym as usize).map_or("", |s| s.as_str()))
            }
            OutcomeDef::Amount(p, e) => writeln!(code, "then amount {} = {}", prog(p), source_of(engine, e)),
            OutcomeDef::Pay(l, e) => {
                writeln!(code, "then pay {} = {}", m.layers.get(*l as usize).map_or("", |l| l.name.as_str()), source_of(engine, e))
            }
            OutcomeDef::AddTally(t, e) => {
                writeln!(code, "then tally {} += {}", m.tallies.get(*t as usize).map_or("", |t| t.name.as_str()), source_of(engine, e))
            }
        };
    }
    let _ = writeln!(s, "<pre>{}</pre>", esc(code.trim_end()));
    if !rule.exceptions.is_empty() {
        let links: Vec<String> = rule.exceptions.iter().map(|&e| rule_link(m, e as usize, policy)).collect();
        let _ = writeln!(s, "<p>An exception to {}</p>", links.join(", "));
    }
    let excepted: Vec<String> =
        (0..m.rules.len()).filter(|&o| m.rules[o].exceptions.contains(&(r as u32))).map(|o| rule_link(m, o, policy)).collect();
    if !excepted.is_empty() {
        let _ = writeln!(s, "<p>Exceptions to it: {}</p>", excepted.join(", "));
    }
    s
}
