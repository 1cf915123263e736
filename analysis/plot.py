#!/usr/bin/python3
"""Draws paradnn's plots from the small data files `paradnn report` writes.

Usage: plot.py JOBS.json

JOBS.json is a list of jobs: {"kind", "data": [CSV, ...], "output": path without extension,
"title", "options": {...}}. Kinds: heatmap, sensitivity, speedup, roofline, frontier. Each job writes
<output>.png and <output>.svg. Needs only Debian's python3 and python3-matplotlib.
"""
import csv
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number_label(v):
    return f"{v:g}" if v < 1e5 else f"{v:.3g}"


def save(fig, output):
    fig.tight_layout()
    fig.savefig(output + ".png", dpi=120)
    fig.savefig(output + ".svg")
    plt.close(fig)


def heatmap(job):
    opts = job["options"]
    x, y, value = opts["x"], opts["y"], opts["value"]
    rows = read_rows(job["data"][0])
    xs = sorted({float(r[x]) for r in rows})
    ys = sorted({float(r[y]) for r in rows})
    grid = [[math.nan] * len(xs) for _ in ys]
    for r in rows:
        grid[ys.index(float(r[y]))][xs.index(float(r[x]))] = float(r[value])
    filled = [v for line in grid for v in line if not math.isnan(v)]
    lo, hi = min(filled), max(filled)
    if value == "speedup":  # centred on 1: red slower, blue faster
        span = max(hi, 1 / lo, 1.0001)
        norm, cmap = LogNorm(vmin=1 / span, vmax=span), "RdBu"
    elif value == "utilization" or lo <= 0 or hi / lo < 10:
        norm, cmap = None, "viridis"
    else:
        norm, cmap = LogNorm(vmin=lo, vmax=hi), "viridis"
    fig, ax = plt.subplots(figsize=(1.1 * len(xs) + 3, 0.6 * len(ys) + 2.2))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, norm=norm)
    ax.set_xticks(range(len(xs)), [number_label(v) for v in xs])
    ax.set_yticks(range(len(ys)), [number_label(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for yi, line in enumerate(grid):
        for xi, v in enumerate(line):
            if not math.isnan(v):
                text = {"speedup": f"{v:.2f}", "utilization": f"{100 * v:.3g}%"}.get(value, f"{v:.3g}")
                rgba = im.cmap(im.norm(v))
                dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
                ax.text(xi, yi, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    bar = fig.colorbar(im, ax=ax, label=value.replace("_", " ").replace(" per s", "/s"))
    if norm is not None:  # plain numbers on a log scale
        if value == "speedup":
            bar.set_ticks([1 / span, span ** -0.5, 1, span ** 0.5, span])
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_title(job["title"], fontsize=10)
    save(fig, job["output"])


def offset(index, count, width):
    """Where bar series `index` of `count` sits beside its tick."""
    return (index - (count - 1) / 2) * width


def finish_bars(fig, ax, job, ticks, reference, ylabel, rotation=0):
    ax.axhline(reference, color="black", linewidth=0.8)
    ax.set_xticks(range(len(ticks)), ticks, rotation=rotation, ha="right" if rotation else "center")
    ax.set_ylabel(ylabel)
    ax.set_title(job["title"], fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save(fig, job["output"])


def sensitivity(job):
    family = job["options"]["family"]
    rows = [r for r in read_rows(job["data"][0]) if r["model_family"] == family and r["term"] not in ("", "intercept")]
    groups = []  # (mode dtype, r2)
    for r in rows:
        g = (f"{r['mode']} {r['dtype']}", r["r2"])
        if g not in groups:
            groups.append(g)
    terms = []
    for r in rows:
        if r["term"] not in terms:
            terms.append(r["term"])
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(terms) + 2), 4))
    width = 0.8 / max(1, len(groups))
    for gi, (label, r2) in enumerate(groups):
        weights = {r["term"]: float(r["weight"]) for r in rows if f"{r['mode']} {r['dtype']}" == label}
        pos = [ti + offset(gi, len(groups), width) for ti in range(len(terms))]
        r2_text = f"R² = {float(r2):.3f}" if r2 else "R² undefined"
        ax.bar(pos, [weights.get(t, 0.0) for t in terms], width, label=f"{label} ({r2_text})")
    finish_bars(fig, ax, job, terms, 0, "weight (log2 examples/s per doubling)")


def speedup(job):
    rows = read_rows(job["data"][0])
    platforms = []
    groups = []
    for r in rows:
        if r["platform"] not in platforms:
            platforms.append(r["platform"])
        g = " ".join(v for v in (r["model_family"], r["mode"], r["dtype"]) if v)
        if g not in groups:
            groups.append(g)
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(groups) * len(platforms) + 2), 4))
    width = 0.8 / len(platforms)
    for pi, p in enumerate(platforms):
        mine = {" ".join(v for v in (r["model_family"], r["mode"], r["dtype"]) if v): r for r in rows if r["platform"] == p}
        pos, mean, lo, hi = [], [], [], []
        for gi, g in enumerate(groups):
            if g in mine and int(mine[g]["points"]) > 0:
                r = mine[g]
                pos.append(gi + offset(pi, len(platforms), width))
                mean.append(float(r["geomean"]))
                lo.append(float(r["geomean"]) - float(r["min"]))
                hi.append(float(r["max"]) - float(r["geomean"]))
        bars = ax.bar(pos, mean, width, yerr=[lo, hi], capsize=3, label=p)
        ax.bar_label(bars, labels=[f"{m:.2f}x" for m in mean], fontsize=8, padding=2)
    finish_bars(fig, ax, job, groups, 1, "speedup in examples/s", rotation=20)


def roofline(job):
    points = read_rows(job["data"][0])
    ceilings = read_rows(job["data"][1]) if len(job["data"]) > 1 else []
    fig, ax = plt.subplots(figsize=(7.5, 5))
    intensity = [float(p["intensity_flops_per_byte"]) for p in points]
    x_lo, x_hi = min(intensity) / 4, max(intensity) * 4
    compute = [c for c in ceilings if c["kind"] == "compute"]
    dtypes = {p["dtype"] for p in points}
    if any(c["name"] in dtypes for c in compute):  # only the roofs of the dtypes the points ran in
        compute = [c for c in compute if c["name"] in dtypes]
    bandwidth = [c for c in ceilings if c["kind"] == "bandwidth"]
    top = max([float(c["value"]) for c in compute], default=None)
    if bandwidth and top:
        x_lo = min(x_lo, min(top / float(b["value"]) for b in bandwidth) / 4)
    xs = [x_lo * (x_hi / x_lo) ** (i / 200) for i in range(201)]
    for c in compute:
        peak = float(c["value"])
        ax.plot([x_lo, x_hi], [peak, peak], linestyle="--", linewidth=1, color="dimgray")
        ax.annotate(f"{c['name']} peak {peak / 1e9:.3g} GFLOP/s", (x_hi, peak), ha="right", va="bottom", fontsize=8)
    for b in bandwidth:
        bw = float(b["value"])
        ys = [min(bw * x, top) if top else bw * x for x in xs]
        ax.plot(xs, ys, linewidth=1, color="gray")
        ax.annotate(f"{b['name']} {bw / 1e9:.3g} GB/s", (xs[0], ys[0]), ha="left", va="bottom", fontsize=8, rotation=0)
    markers = {"train": "o", "infer": "^"}
    families = sorted({p["model_family"] for p in points})
    for fi, fam in enumerate(families):
        for mode, marker in markers.items():
            sel = [p for p in points if p["model_family"] == fam and p["mode"] == mode]
            if sel:
                ax.scatter([float(p["intensity_flops_per_byte"]) for p in sel], [float(p["flops_per_s"]) for p in sel],
                           marker=marker, color=f"C{fi}", label=f"{fam} {mode}", s=22, alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("attained FLOP/s")
    ax.set_title(job["title"], fontsize=10)
    ax.grid(which="both", alpha=0.2)
    ax.legend(fontsize=8, loc="lower right")
    save(fig, job["output"])


def frontier(job):
    """quantize-search's latency-versus-fidelity frontier: one line per model, each step one
    more layer in int8; accepted steps filled, the step over budget hollow."""
    rows = read_rows(job["data"][0])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    budget = None
    for i, model in enumerate(dict.fromkeys(r["model_name"] for r in rows)):
        mine = [r for r in rows if r["model_name"] == model]
        x = [100 * float(r["fidelity_loss"]) for r in mine]
        y = [float(r["speedup_vs_f32"]) for r in mine]
        color = f"C{i}"
        ax.plot(x, y, "-", color=color, alpha=0.5)
        for r, xi, yi in zip(mine, x, y):
            accepted = r["accepted"] == "true"
            ax.plot(xi, yi, "o", color=color, markerfacecolor=color if accepted else "none",
                    label=model if r is mine[0] else None)
            ax.annotate(r["step"], (xi, yi), textcoords="offset points", xytext=(4, 3), fontsize=7)
        budget = float(mine[0]["budget"])
    if budget is not None:
        ax.axvline(100 * budget, color="black", linestyle="--", linewidth=1)
        ax.text(100 * budget, ax.get_ylim()[1], " budget", va="top", fontsize=9)
    ax.set_xlabel("fidelity loss: 1 - top-1 agreement with f32 (%); labels: layers in int8")
    ax.set_ylabel("speedup over f32 inference")
    ax.set_title(job.get("title", "int8 layers added from least to most sensitive"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    save(fig, job["output"])


KINDS = {"heatmap": heatmap, "sensitivity": sensitivity, "speedup": speedup, "roofline": roofline, "frontier": frontier}


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        jobs = json.load(f)
    failed = 0
    for job in jobs:
        try:
            KINDS[job["kind"]](job)
        except Exception as e:  # one bad plot must not lose the others
            failed += 1
            print(f"plot.py: {job.get('output')}: {type(e).__name__}: {e}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
