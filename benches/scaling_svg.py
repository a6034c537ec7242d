#!/usr/bin/env python3
"""Draw docs/scaling.svg from the CSV `benches/scaling.rs` writes.

    SCALING_CSV=after.csv cargo bench --bench scaling -- --warm-up-time 1 --measurement-time 3
    python3 benches/scaling_svg.py after.csv [before.csv] > docs/scaling.svg

Four panels: `Engine::evaluate` and `Engine::assess_with`, time per
household and time per element (member, claim or loan; flat is linear)
against n on log axes for the members, claims and loans series; the
optional second file (the same bench on an earlier build) is drawn dashed.
A dotted line of slope 1 through each panel's first point is what linear
growth looks like. Standard library only; the SVG has no script.
"""

import csv
import math
import sys

SERIES = [("members", "#1f77b4"), ("claims", "#d62728"), ("loans", "#2ca02c")]
# (column, title, per element): time per household, and per member, claim or loan
PANELS = [
    ("evaluate_ns", "evaluate: time per household", False),
    ("assess_ns", "assess_with: time per household", False),
    ("evaluate_ns", "evaluate: time per element", True),
    ("assess_ns", "assess_with: time per element", True),
]
W, H = 380, 330  # one panel
ML, MR, MT, MB = 62, 30, 34, 46


def read(path):
    rows = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["series"], []).append((int(r["n"]), float(r["evaluate_ns"]), float(r["assess_ns"])))
    return rows


def main():
    after = read(sys.argv[1])
    before = read(sys.argv[2]) if len(sys.argv) > 2 else {}
    ns = sorted({n for s, _ in SERIES for (n, _, _) in after.get(s, [])})
    x0, x1 = math.log10(ns[0]), math.log10(ns[-1])

    def value(r, col, per):
        v = (r[1] if col == "evaluate_ns" else r[2]) / 1e3  # µs
        return v / r[0] if per else v

    def scale(per):
        vs = [value(r, c, per) for d in (after, before) for s, _ in SERIES for r in d.get(s, []) for c in ("evaluate_ns", "assess_ns")]
        return math.floor(math.log10(min(vs))), math.ceil(math.log10(max(vs)))

    out = []
    cols = 2
    rows_n = (len(PANELS) + cols - 1) // cols
    total_w, total_h = W * cols, H * rows_n + 40
    out.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}" font-family="sans-serif" font-size="11">')
    out.append(f'<rect width="{total_w}" height="{total_h}" fill="white"/>')
    for p, (col, title, per) in enumerate(PANELS):
        ox, oy = (p % cols) * W, (p // cols) * H
        y0, y1 = scale(per)
        lo, hi = 10.0**y0, 10.0**y1
        pw, ph = W - ML - MR, H - MT - MB

        def X(n):
            return ox + ML + (math.log10(n) - x0) / (x1 - x0) * pw

        def Y(us):
            return oy + MT + ph - (math.log10(us) - y0) / (y1 - y0) * ph

        out.append(f'<text x="{ox + ML + pw / 2}" y="{oy + 18}" text-anchor="middle" font-size="13">{title}</text>')
        out.append(f'<rect x="{ox + ML}" y="{oy + MT}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
        for n in ns:
            out.append(f'<line x1="{X(n):.1f}" y1="{oy + MT}" x2="{X(n):.1f}" y2="{oy + MT + ph}" stroke="#ddd"/>')
            out.append(f'<text x="{X(n):.1f}" y="{oy + MT + ph + 14}" text-anchor="middle">{n:,}</text>')
        d = y0
        while d <= y1 + 1e-9:
            us = 10 ** d
            label = f"{us * 1000:g} ns" if us < 1 else f"{us:g} µs" if us < 1000 else (f"{us / 1000:g} ms" if us < 1e6 else f"{us / 1e6:g} s")
            out.append(f'<line x1="{ox + ML}" y1="{Y(us):.1f}" x2="{ox + ML + pw}" y2="{Y(us):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{ox + ML - 4}" y="{Y(us) + 4:.1f}" text-anchor="end">{label}</text>')
            d += 1
        out.append(f'<text x="{ox + ML + pw / 2}" y="{oy + MT + ph + 32}" text-anchor="middle">n (members, claims or loans)</text>')
        # slope 1 through the smallest after-value at n = ns[0]
        firsts = [value(r, col, per) for s, _ in SERIES for r in after.get(s, []) if r[0] == ns[0]]
        if firsts and not per:
            a = min(firsts)
            end = a * ns[-1] / ns[0]
            out.append(f'<line x1="{X(ns[0]):.1f}" y1="{Y(a):.1f}" x2="{X(ns[-1]):.1f}" y2="{Y(min(end, hi)):.1f}" stroke="#888" stroke-dasharray="1,3"/>')
        for data, dash in ((before, "5,4"), (after, "")):
            for s, colour in SERIES:
                rows = data.get(s, [])
                if not rows:
                    continue
                pts = " ".join(f"{X(r[0]):.1f},{Y(value(r, col, per)):.1f}" for r in rows)
                style = f' stroke-dasharray="{dash}"' if dash else ""
                out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.8"{style}/>')
                for r in rows:
                    out.append(f'<circle cx="{X(r[0]):.1f}" cy="{Y(value(r, col, per)):.1f}" r="2.5" fill="{colour}"/>')
    # legend
    lx, ly = ML, H * rows_n + 16
    for s, colour in SERIES:
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="{colour}" stroke-width="1.8"/>')
        out.append(f'<text x="{lx + 28}" y="{ly + 4}">{s}</text>')
        lx += 90
    if before:
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="#444" stroke-width="1.8"/><text x="{lx + 28}" y="{ly + 4}">after</text>')
        lx += 70
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="#444" stroke-width="1.8" stroke-dasharray="5,4"/><text x="{lx + 28}" y="{ly + 4}">before</text>')
        lx += 80
    out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="#888" stroke-dasharray="1,3"/><text x="{lx + 28}" y="{ly + 4}">linear (slope 1)</text>')
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
