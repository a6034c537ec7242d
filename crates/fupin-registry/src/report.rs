//! The simulation report as one HTML page for people: both policy sets
//! named with versions and hashes, a bar chart of each programme's total
//! before and after, a histogram of the per-household changes, and the
//! counties in a table. Self-contained (inline SVG and CSS, no script, no
//! network), so it can be mailed or archived as it is.

use crate::simulate::{Distribution, ProgrammeChange, Report, SetDescription};
use rust_decimal::Decimal;
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A yuan figure with thousands separators, exactly.
pub fn grouped(d: Decimal) -> String {
    let s = d.to_string();
    let (sign, s) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
    let (int, frac) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

fn signed(d: Decimal) -> String {
    if d > Decimal::ZERO {
        format!("+{}", grouped(d))
    } else {
        grouped(d)
    }
}

/// A bar's length in pixels for `v` of `max` (figures for drawing only:
/// every number printed comes from the exact decimals).
fn px(v: Decimal, max: Decimal, width: u32) -> u32 {
    if max <= Decimal::ZERO || v <= Decimal::ZERO {
        return 0;
    }
    let r = (v * Decimal::from(width) / max).round();
    u32::try_from(r.mantissa() / 10i128.pow(r.scale())).unwrap_or(width).min(width)
}

fn short(hash: &str) -> String {
    let cut = hash.char_indices().nth(19).map_or(hash.len(), |(i, _)| i);
    format!("<code title=\"{0}\">{1}…</code>", esc(hash), esc(&hash[..cut]))
}

/// Both sets side by side: what each is, and every policy's version and
/// content hash in each (the full hash in the cell's title).
fn sets(b: &SetDescription, r: &SetDescription) -> String {
    let mut h = String::from("<table id=\"sets\"><tr><th></th><th>baseline</th><th>reform</th></tr>");
    let settings = |s: &SetDescription| {
        let parts: Vec<String> = s.settings.iter().map(|(n, v)| format!("<code>{}={}</code>", esc(n), esc(v))).collect();
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    };
    let _ = write!(h, "<tr><td>policy set</td><td>{}</td><td>{}</td></tr>", esc(&b.label), esc(&r.label));
    let _ = write!(h, "<tr><td>as of</td><td>{}</td><td>{}</td></tr>", b.as_of, r.as_of);
    if b.parameters_on.is_some() || r.parameters_on.is_some() {
        let on = |s: &SetDescription| s.parameters_on.unwrap_or(s.as_of);
        let _ = write!(h, "<tr class=\"differs\"><td>parameters as of</td><td>{}</td><td>{}</td></tr>", on(b), on(r));
    }
    let _ = write!(h, "<tr><td>settings</td><td>{}</td><td>{}</td></tr>", settings(b), settings(r));
    let mut ids: Vec<&str> = b.policies.iter().chain(&r.policies).map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let cell = |s: &SetDescription| match s.policies.iter().find(|p| p.id.as_str() == id) {
            Some(p) => format!("{} {}", esc(p.version.as_str()), short(p.hash.as_str())),
            None => "—".to_string(),
        };
        let (cb, cr) = (cell(b), cell(r));
        let class = if cb == cr { "" } else { " class=\"differs\"" };
        let _ = write!(h, "<tr{class}><td>{}</td><td>{cb}</td><td>{cr}</td></tr>", esc(id));
    }
    h.push_str("</table>");
    h
}

fn bars(programmes: &[&ProgrammeChange]) -> String {
    let max = programmes.iter().map(|p| p.before.amount.max(p.after.amount)).max().unwrap_or(Decimal::ZERO);
    let row_h = 34;
    let height = 20 + row_h * programmes.len() as u32;
    let mut s = format!(
        "<svg class=\"bars\" role=\"img\" aria-label=\"total amount before and after, by programme\" viewBox=\"0 0 760 {height}\" width=\"760\" height=\"{height}\">"
    );
    let _ = write!(s, "<g font-size=\"12\"><rect x=\"200\" y=\"2\" width=\"10\" height=\"10\" class=\"before\"/><text x=\"214\" y=\"11\">baseline</text><rect x=\"290\" y=\"2\" width=\"10\" height=\"10\" class=\"after\"/><text x=\"304\" y=\"11\">reform</text></g>");
    for (i, p) in programmes.iter().enumerate() {
        let y = 20 + row_h * i as u32;
        let _ = write!(
            s,
            "<g class=\"programme\" data-programme=\"{0}\"><text x=\"0\" y=\"{1}\" font-size=\"13\">{0}</text>\
             <rect class=\"before\" x=\"200\" y=\"{2}\" height=\"12\" width=\"{3}\"><title>baseline {4}</title></rect>\
             <rect class=\"after\" x=\"200\" y=\"{5}\" height=\"12\" width=\"{6}\"><title>reform {7}</title></rect>\
             <text x=\"{8}\" y=\"{1}\" font-size=\"11\">{9}</text></g>",
            esc(&p.programme),
            y + 16,
            y + 2,
            px(p.before.amount, max, 420),
            grouped(p.before.amount),
            y + 15,
            px(p.after.amount, max, 420),
            grouped(p.after.amount),
            210 + px(p.before.amount.max(p.after.amount), max, 420),
            esc(&signed(p.change)),
        );
    }
    s.push_str("</svg>");
    s
}

fn histogram(p: &ProgrammeChange, d: &Distribution) -> String {
    // at most 40 bars: consecutive bins merged when there are more
    let per = d.bins.len().div_ceil(40).max(1);
    let groups: Vec<(Decimal, Decimal, u64)> =
        d.bins.chunks(per).filter_map(|c| Some((c.first()?.0, c.last()?.0, c.iter().map(|b| b.1).sum()))).collect();
    let max = groups.iter().map(|g| g.2).max().unwrap_or(0);
    let w = 18;
    let width = 40 + w * groups.len() as u32 + 20;
    let mut s = format!(
        "<figure><figcaption>{} — households by change in amount{} (unchanged: {})</figcaption>\
         <svg class=\"histogram\" role=\"img\" aria-label=\"distribution of per-household changes for {}\" viewBox=\"0 0 {width} 180\" width=\"{width}\" height=\"180\">",
        esc(&p.programme),
        d.bin_width.map(|w| format!(", in bins of {} yuan", grouped(w))).unwrap_or_default(),
        p.unchanged,
        esc(&p.programme),
    );
    for (i, (lo, hi, n)) in groups.iter().enumerate() {
        let hgt = (140 * n).checked_div(max).map_or(0, |h| h.max(1)) as u32;
        let x = 40 + w * i as u32;
        let label = if lo == hi { signed(*lo) } else { format!("{} … {}", signed(*lo), signed(*hi)) };
        let class = if *lo < Decimal::ZERO { "loss" } else { "gain" };
        let _ = write!(
            s,
            "<rect class=\"{class}\" x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{hgt}\"><title>{}: {n} households</title></rect>",
            150 - hgt,
            w - 2,
            esc(&label)
        );
    }
    if let (Some(first), Some(last)) = (groups.first(), groups.last()) {
        let _ = write!(
            s,
            "<text x=\"40\" y=\"170\" font-size=\"11\">{}</text><text x=\"{}\" y=\"170\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            esc(&signed(first.0)),
            40 + w * groups.len() as u32,
            esc(&signed(last.1))
        );
    }
    s.push_str("</svg></figure>");
    s
}

/// The report as an HTML page.
pub fn html(r: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    h.push_str(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fupin simulate</title><style>\
         body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2em;color:#222;max-width:1100px}\
         table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}\
         th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}code{font-size:90%}\
         #sets td{text-align:left}tr.differs td{background:#fff3d6}\
         rect.before{fill:#8aa9c9}rect.after{fill:#d9822b}rect.gain{fill:#3c8d5a}rect.loss{fill:#b5443a}\
         .warn{color:#a33}</style></head><body>",
    );
    h.push_str("<h1>Reform simulation</h1>");
    let _ = write!(
        h,
        "<p id=\"summary\">{} households read: <b>{}</b> compared, <b>{}</b> could not be (listed below).</p>",
        r.read, r.compared, r.failed
    );
    h.push_str("<h2>The two policy sets</h2>");
    h.push_str(&sets(&r.baseline, &r.reform));
    h.push_str("<h2>By programme</h2>");
    let changed: Vec<&ProgrammeChange> = r.programmes.iter().collect();
    let with_amounts: Vec<&ProgrammeChange> =
        changed.iter().copied().filter(|p| !p.before.amount.is_zero() || !p.after.amount.is_zero()).collect();
    if !with_amounts.is_empty() {
        h.push_str(&bars(&with_amounts));
    }
    h.push_str(
        "<table id=\"programmes\"><tr><th>programme</th><th>unit</th><th>eligible before</th><th>eligible after</th>\
         <th>newly eligible</th><th>no longer eligible</th><th>total before</th><th>total after</th><th>change</th>\
         <th>gainers</th><th>losers</th><th>unknown</th></tr>",
    );
    for p in &r.programmes {
        let _ = write!(
            h,
            "<tr data-programme=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"change\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.programme),
            esc(&p.programme),
            esc(p.unit.as_deref().unwrap_or("")),
            p.before.eligible,
            p.after.eligible,
            p.newly_eligible,
            p.no_longer_eligible,
            grouped(p.before.amount),
            grouped(p.after.amount),
            esc(&signed(p.change)),
            p.gainers,
            p.losers,
            p.unknown
        );
    }
    h.push_str("</table>");
    for p in &r.programmes {
        if let Some(e) = &p.unknown_because {
            let _ = write!(
                h,
                "<p class=\"warn\">{}: {} household{} with an unknown amount, left out of the totals: {}</p>",
                esc(&p.programme),
                p.unknown,
                if p.unknown == 1 { "" } else { "s" },
                esc(e)
            );
        }
        if let Some(e) = &p.unit_error {
            let _ = write!(h, "<p class=\"warn\">{}: {}</p>", esc(&p.programme), esc(e));
        }
    }
    h.push_str("<h2>Distribution of per-household changes</h2>");
    let mut any = false;
    for p in &r.programmes {
        if let Some(d) = &p.distribution {
            if !d.bins.is_empty() {
                h.push_str(&histogram(p, d));
                any = true;
            }
        }
    }
    if !any {
        h.push_str("<p>No household's amount changed.</p>");
    }
    h.push_str("<h2>By county</h2><table id=\"counties\"><tr><th>county</th><th>households</th><th>programme</th><th>eligible before</th><th>eligible after</th><th>total before</th><th>total after</th><th>change</th></tr>");
    for c in &r.counties {
        let n = c.programmes.len().max(1);
        let mut first = true;
        for p in &c.programmes {
            h.push_str("<tr>");
            if first {
                let _ = write!(h, "<td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td>", esc(&c.county), c.households);
                first = false;
            }
            let _ = write!(
                h,
                "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.programme),
                p.before.eligible,
                p.after.eligible,
                grouped(p.before.amount),
                grouped(p.after.amount),
                esc(&signed(p.change))
            );
        }
        if first {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td><td colspan=\"6\">no programme</td></tr>", esc(&c.county), c.households);
        }
    }
    h.push_str("</table>");
    if !r.failures.is_empty() {
        h.push_str(
            "<h2>Households not compared</h2><table id=\"failures\"><tr><th>side</th><th>household</th><th>where</th><th>error</th></tr>",
        );
        for f in &r.failures {
            let e = &f.error;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{} row {}{}</td><td>{}</td></tr>",
                esc(&f.side),
                esc(e.household.as_deref().unwrap_or("")),
                esc(&e.source),
                e.row,
                e.column.as_ref().map(|c| format!(" column {}", esc(c))).unwrap_or_default(),
                esc(&e.message)
            );
        }
        h.push_str("</table>");
        if r.failed as usize > r.failures.len() {
            let _ = write!(h, "<p>… and {} more (every one is counted above).</p>", r.failed as usize - r.failures.len());
        }
    }
    h.push_str("<p><small>Every figure is exact (decimal arithmetic on the assessments); bar lengths are drawn to the nearest pixel.</small></p></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn thousands_are_grouped_without_touching_the_digits() {
        assert_eq!(grouped("1234567.80".parse().expect("d")), "1,234,567.80");
        assert_eq!(grouped("-1360".parse().expect("d")), "-1,360");
        assert_eq!(grouped("999".parse().expect("d")), "999");
        assert_eq!(grouped("0.5".parse().expect("d")), "0.5");
    }
}
