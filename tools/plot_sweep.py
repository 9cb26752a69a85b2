#!/usr/bin/env python3
"""Draws a sweep table (itslab-cli sweep --out T.csv) as an SVG chart: one line per solver,
metric versus NFE on log-log axes. Standard library only.

    tools/plot_sweep.py T.csv --metric fid --title "..." --out chart.svg
"""
import argparse
import csv
import math
import sys

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def read_rows(path, metric, group):
    lines = [l for l in open(path, encoding="utf-8") if not l.startswith("#")]
    series = {}
    for r in csv.DictReader(lines):
        if r.get("error") or not r.get(metric):
            continue
        series.setdefault(r[group], []).append((float(r["nfe"]), float(r[metric])))
    for pts in series.values():
        pts.sort()
    return series


def log_ticks(lo, hi):
    ticks = []
    e = math.floor(math.log10(lo))
    while 10**e <= hi * 1.0001:
        for m in (1, 2, 3, 5):
            v = m * 10**e
            if lo <= v * 1.0001 and v <= hi * 1.0001:
                ticks.append(v)
        e += 1
    return ticks


def fmt(v):
    return f"{v:g}"


def svg(series, metric_label, title, width=720, height=440):
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x_lo, x_hi = min(xs) / 1.15, max(xs) * 1.15
    y_lo, y_hi = min(ys) / 1.2, max(ys) * 1.2
    left, right, top, bottom = 78, 170, 46, 58
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + pw * (math.log(x) - math.log(x_lo)) / (math.log(x_hi) - math.log(x_lo))

    def py(y):
        return top + ph * (1 - (math.log(y) - math.log(y_lo)) / (math.log(y_hi) - math.log(y_lo)))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="13">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left + pw / 2}" y="26" text-anchor="middle" font-size="15">{title}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>']
    for x in log_ticks(x_lo, x_hi):
        out.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + ph}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 18}" text-anchor="middle">{fmt(x)}</text>')
    for y in log_ticks(y_lo, y_hi):
        out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + pw}" y2="{py(y):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{py(y) + 4:.1f}" text-anchor="end">{fmt(y)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 16}" text-anchor="middle">'
               f'NFE (network evaluations per sample, log scale)</text>')
    out.append(f'<text transform="translate(20 {top + ph / 2}) rotate(-90)" '
               f'text-anchor="middle">{metric_label} (log scale)</text>')
    for i, (name, pts) in enumerate(series.items()):
        c = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}"
                        for j, (x, y) in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{c}"/>')
        ly = top + 14 + 22 * i
        out.append(f'<line x1="{left + pw + 14}" y1="{ly}" x2="{left + pw + 40}" y2="{ly}" '
                   f'stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 46}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--metric", default="fid")
    ap.add_argument("--label", default=None, help="axis label of the metric")
    ap.add_argument("--group", default="solver.type", help="column naming the lines")
    ap.add_argument("--title", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    series = read_rows(a.table, a.metric, a.group)
    if not series:
        sys.exit(f"{a.table}: no rows with {a.metric}")
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(svg(series, a.label or a.metric, a.title))


if __name__ == "__main__":
    main()
