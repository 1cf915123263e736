#!/usr/bin/python3
"""Draws paradnn's plots from the small data files `paradnn report` writes.

Usage: plot.py JOBS.json

JOBS.json is a list of jobs: {"kind", "data": [CSV, ...], "output": path without extension,
"title", "options": {...}}. Kinds: heatmap, sensitivity, speedup, roofline, frontier, model_error. Each job writes
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
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter  # noqa: E402


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number_label(v):
    return f"{v:g}" if v < 1e5 else f"{v:.3g}"


def compact(v):
    """A cell or tick number without scientific notation: 0.42, 12.5, 1234, 12.3k, 4.5M."""
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.3g}G"
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def plain(v, _=None):
    """A tick label as a plain number (no 10^k)."""
    return f"{v:.10g}" if v >= 1e-3 else f"{v:.1g}"


def nice_log_ticks(lo, hi, count=5):
    """About `count` ticks from 1-2-5 steps (or finer) between lo and hi, for a log colourbar."""
    for subs in ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0), tuple(range(1, 10))):
        ticks = []
        for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
            ticks += [m * 10 ** e for m in subs if lo * 0.999 <= m * 10 ** e <= hi * 1.001]
        if len(ticks) >= count - 1:
            break
    if len(ticks) < 3:  # a narrow range: evenly spaced in log, two significant digits
        ticks = [float(f"{lo * (hi / lo) ** (i / (count - 1)):.2g}") for i in range(count)]
    return sorted(set(ticks))


def title_of(job):
    """The title, with the machine, threads and dtype (options.context) on a second line."""
    context = job.get("options", {}).get("context", "")
    return job["title"] + ("\n" + context if context else "")


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
    scale = 100.0 if value == "utilization" else 1.0  # utilization: cells and colourbar both in %
    grid = [[math.nan] * len(xs) for _ in ys]
    for r in rows:
        grid[ys.index(float(r[y]))][xs.index(float(r[x]))] = scale * float(r[value])
    filled = [v for line in grid for v in line if not math.isnan(v)]
    lo, hi = min(filled), max(filled)
    ticks = None
    if value == "speedup":  # a symmetric log range centred on 1: red slower, blue faster
        span = max(hi, 1 / lo, 1.1)
        norm, cmap = LogNorm(vmin=1 / span, vmax=span), "RdBu"
        up = [t for t in nice_log_ticks(1, span, 3) if t > 1]
        ticks = sorted({1.0} | set(up) | {1 / t for t in up})
    elif value == "utilization" or lo <= 0 or hi / lo < 10:
        norm, cmap = None, "viridis"
    else:
        norm, cmap = LogNorm(vmin=lo, vmax=hi), "viridis"
        ticks = nice_log_ticks(lo, hi)
    fig, ax = plt.subplots(figsize=(1.1 * len(xs) + 3.5, 0.6 * len(ys) + 2.4))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, norm=norm)
    ax.set_xticks(range(len(xs)), [number_label(v) for v in xs])
    ax.set_yticks(range(len(ys)), [number_label(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for yi, line in enumerate(grid):
        for xi, v in enumerate(line):
            if not math.isnan(v):
                text = {"speedup": f"{v:.2f}x", "utilization": f"{v:.1f}%"}.get(value, compact(v))
                rgba = im.cmap(im.norm(v))
                dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
                ax.text(xi, yi, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    label = {"utilization": "utilization (% of peak)", "speedup": "speedup (x)"}.get(
        value, value.replace("_", " ").replace(" per s", "/s"))
    bar = fig.colorbar(im, ax=ax, label=label)
    if ticks is not None:  # several plain ticks on a log scale
        bar.set_ticks(ticks)
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    fmt = {"utilization": lambda v, _: f"{v:.0f}%" if hi - lo >= 5 else f"{v:.1f}%",
           "speedup": lambda v, _: f"{v:.2g}x"}.get(value, lambda v, _: compact(v))
    bar.ax.yaxis.set_major_formatter(FuncFormatter(fmt))
    ax.set_title(title_of(job), fontsize=10)
    save(fig, job["output"])


def offset(index, count, width):
    """Where bar series `index` of `count` sits beside its tick."""
    return (index - (count - 1) / 2) * width


def finish_bars(fig, ax, job, ticks, reference, ylabel, rotation=0, bottom=0.0):
    ax.axhline(reference, color="black", linewidth=0.8)
    ax.set_xticks(range(len(ticks)), ticks, rotation=rotation, ha="right" if rotation else "center")
    ax.set_ylabel(ylabel)
    ax.set_title(title_of(job), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if bottom:  # room for the warning text under the axes
        fig.tight_layout(rect=(0, bottom, 1, 1))
        fig.savefig(job["output"] + ".png", dpi=120)
        fig.savefig(job["output"] + ".svg")
        plt.close(fig)
        return
    save(fig, job["output"])


def sensitivity(job):
    family = job["options"]["family"]
    rows = [r for r in read_rows(job["data"][0]) if r["model_family"] == family and r["term"] not in ("", "intercept")]
    groups = []  # (mode dtype, r2, note)
    for r in rows:
        g = (f"{r['mode']} {r['dtype']}", r["r2"], r.get("note", ""))
        if g not in groups:
            groups.append(g)
    terms = []
    for r in rows:
        if r["term"] not in terms:
            terms.append(r["term"])
    warnings = [f"{label}: {note}" for label, _, note in groups if note]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(terms) + 2), 4 + 0.25 * len(warnings)))
    width = 0.8 / max(1, len(groups))
    for gi, (label, r2, note) in enumerate(groups):
        weights = {r["term"]: float(r["weight"]) for r in rows if f"{r['mode']} {r['dtype']}" == label}
        pos = [ti + offset(gi, len(groups), width) for ti in range(len(terms))]
        r2_text = f"R² = {float(r2):.3f}" if r2 else "R² undefined"
        if "few points" in note:
            r2_text += ", too few points"
        ax.bar(pos, [weights.get(t, 0.0) for t in terms], width, label=f"{label} ({r2_text})",
               hatch="//" if "few points" in note else None, edgecolor="white" if "few points" in note else None)
    if warnings:  # fit-quality warnings from sensitivity.csv's note column, under the axes
        text = "\n".join("fit warning, " + w.replace("R^2", "R²") for w in warnings)
        fig.text(0.01, 0.01, text, fontsize=8, color="firebrick", va="bottom", ha="left")
    finish_bars(fig, ax, job, terms, 0, "weight (log2 examples/s per doubling)",
                bottom=(0.015 + 0.045 * len(warnings)) if warnings else 0.0)


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
        for x, m in zip(pos, mean):  # at the foot of the bar, clear of the min-max whisker
            ax.text(x, 0.02, f"{m:.2f}x", transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=8,
                    color="white", bbox={"boxstyle": "round,pad=0.15", "facecolor": f"C{pi}", "edgecolor": "none"})
    finish_bars(fig, ax, job, groups, 1, "speedup in examples/s", rotation=20)


# The unit each compute roof belongs to: vector FMA/VNNI kernels, AMX tile kernels, or the library's GEMM.
METHOD_LABEL = {"fma_kernel": "FMA/VNNI-kernel peak", "amx_kernel": "AMX-tile-kernel peak", "library_gemm": "library GEMM",
                "": "peak"}


def one_bandwidth_kernel(bandwidth):
    """The roofs of one kernel for every level (the one measured at the most levels, read on a tie)."""
    kernels = {}
    for b in bandwidth:
        kernels.setdefault(b.get("method", ""), set()).add(b["name"])
    if len(kernels) <= 1:
        return bandwidth
    best = max(kernels, key=lambda k: (len(kernels[k]), k == "read"))
    return [b for b in bandwidth if b.get("method", "") == best]


def roofline(job):
    points = read_rows(job["data"][0])
    ceilings = read_rows(job["data"][1]) if len(job["data"]) > 1 else []
    g = 1e9  # FLOP/s and bytes/s are drawn in GFLOP/s and GB/s
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    intensity = [float(p["intensity_flops_per_byte"]) for p in points]
    x_lo, x_hi = min(intensity) / 4, max(intensity) * 4
    compute = [c for c in ceilings if c["kind"] == "compute"]
    dtypes = {p["dtype"] for p in points}
    if any(c["name"] in dtypes for c in compute):  # only the roofs of the dtypes the points ran in
        compute = [c for c in compute if c["name"] in dtypes]
    bandwidth = one_bandwidth_kernel([c for c in ceilings if c["kind"] == "bandwidth"])
    top = max([float(c["value"]) / g for c in compute], default=None)
    peak_of = {}  # dtype -> the highest compute roof
    for c in compute:
        peak_of[c["name"]] = max(peak_of.get(c["name"], 0), float(c["value"]) / g)
    if bandwidth and top:
        x_lo = min(x_lo, min(top / (float(b["value"]) / g) for b in bandwidth) / 4)
    xs = [x_lo * (x_hi / x_lo) ** (i / 200) for i in range(201)]
    styles = {"fma_kernel": ("--", "bottom"), "amx_kernel": ("-.", "bottom"), "library_gemm": (":", "top")}
    compute.sort(key=lambda c: -float(c["value"]))
    for ci, c in enumerate(compute):
        peak = float(c["value"]) / g
        method = c.get("method", "")
        style, va = styles.get(method, ("--", "bottom"))
        ax.plot([x_lo, x_hi], [peak, peak], linestyle=style, linewidth=1.2, color="dimgray")
        ax.annotate(f"{c['name']} {METHOD_LABEL.get(method, method)} {peak:.3g} GFLOP/s", (x_hi, peak), ha="right",
                    va=va, fontsize=8, xytext=(0, 2 if va == "bottom" else -2), textcoords="offset points")
    kernel = bandwidth[0].get("method", "") if bandwidth else ""
    for b in bandwidth:
        bw = float(b["value"]) / g
        ys = [min(bw * x, top) if top else bw * x for x in xs]
        ax.plot(xs, ys, linewidth=1, color="gray")
        ax.annotate(f"{b['name']} {bw:.3g} GB/s", (xs[0], ys[0]), ha="left", va="bottom", fontsize=8)
    markers = {"train": "o", "infer": "^"}
    families = sorted({p["model_family"] for p in points})
    for fi, fam in enumerate(families):
        for mode, marker in markers.items():
            sel = [p for p in points if p["model_family"] == fam and p["mode"] == mode]
            if sel:
                ax.scatter([float(p["intensity_flops_per_byte"]) for p in sel],
                           [float(p["flops_per_s"]) / g for p in sel],
                           marker=marker, color=f"C{fi}", label=f"{fam} {mode}", s=22, alpha=0.8)
    # Outliers: the few points furthest below their roof, labelled by model name.
    best_bw = max([float(b["value"]) / g for b in bandwidth], default=None)
    def fraction(p):
        i, f = float(p["intensity_flops_per_byte"]), float(p["flops_per_s"]) / g
        roof = peak_of.get(p["dtype"], top)
        if best_bw:
            roof = min(roof, best_bw * i) if roof else best_bw * i
        return f / roof if roof else f / max(float(q["flops_per_s"]) / g for q in points)
    outliers = {}  # model name -> its lowest point
    for p in sorted(points, key=fraction):
        if fraction(p) < 0.5 and p["model_name"] not in outliers and len(outliers) < max(1, min(4, len(points) // 8)):
            outliers[p["model_name"]] = p
    for k, p in enumerate(sorted(outliers.values(), key=lambda p: -float(p["flops_per_s"]))):  # stacked, top first
        ax.annotate(f"{p['model_name']} {p['mode']} ({100 * fraction(p):.0f}% of roof)",
                    (float(p["intensity_flops_per_byte"]), float(p["flops_per_s"]) / g),
                    textcoords="offset points", xytext=(-14, -10 - 12 * k), ha="right", va="top", fontsize=7,
                    color="firebrick", arrowprops={"arrowstyle": "-", "color": "firebrick", "lw": 0.6})
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):  # plain numbers, not 10^k
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(plain))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("attained GFLOP/s")
    ax.set_title(title_of(job) + (f"; memory roofs: {kernel} kernel" if kernel else ""), fontsize=10)
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


def model_error(job):
    """A performance model against published measurements: predicted vs measured examples/s,
    log-log, one colour per bound class, the y = x line and a +/-25% band."""
    rows = [r for r in read_rows(job["data"][0]) if r["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(6.5, 6))
    measured = [float(r["measured_examples_per_s"]) for r in rows]
    lo, hi = min(measured) / 2, max(measured) * 2
    line = [lo, hi]
    ax.fill_between(line, [v / 1.25 for v in line], [v * 1.25 for v in line], color="0.85", label="+/-25%")
    ax.plot(line, line, "k-", linewidth=1, label="y = x")
    for i, bound in enumerate(sorted({r["bound"] for r in rows})):
        mine = [r for r in rows if r["bound"] == bound]
        ax.loglog([float(r["measured_examples_per_s"]) for r in mine],
                  [float(r["predicted_examples_per_s"]) for r in mine], "o", color=f"C{i}", markersize=3,
                  alpha=0.6, label=f"{bound} ({len(mine)})")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured examples/s (published)")
    ax.set_ylabel("predicted examples/s (model)")
    ax.set_title(title_of(job))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", title="predicted bound")
    save(fig, job["output"])


def lowp_training(job):
    """`paradnn lowp`'s FC training rows: the loss curves of every dtype on one chart, and each
    dtype's step speed (GFLOP/s of its products) against its held-out accuracy."""
    rows = [r for r in read_rows(job["data"][0]) if r["status"] == "ok"]
    dtypes = [d for d in ("f32", "bf16", "int16_dfp", "hadamard4") if any(r["dtype"] == d for r in rows)]
    fig, (curves, tradeoff) = plt.subplots(1, 2, figsize=(11, 4.5))
    for i, d in enumerate(dtypes):
        points = sorted((int(r["shape"].rsplit(" ", 1)[1]), float(r["value"]))
                        for r in rows if r["kernel"] == "fc_train_loss" and r["dtype"] == d)
        curves.plot([p[0] for p in points], [p[1] for p in points], "-", color=f"C{i}", label=d)
        speed = [float(r["gflops"]) for r in rows if r["kernel"] == "fc_train_step" and r["dtype"] == d]
        acc = [float(r["value"]) for r in rows if r["kernel"] == "fc_train_eval" and r["dtype"] == d]
        if speed and acc:
            tradeoff.plot(speed[0], acc[0], "o", color=f"C{i}", markersize=8)
            tradeoff.annotate(d, (speed[0], acc[0]), textcoords="offset points", xytext=(6, 4 - 14 * (i % 2)), fontsize=9)
    curves.set_yscale("log")
    curves.set_xlabel("training step")
    curves.set_ylabel("training loss (the step's batch)")
    curves.set_title("loss curves, same seeds and batches")
    curves.grid(alpha=0.3, which="both")
    curves.legend(fontsize=9)
    tradeoff.set_xlabel("step speed (GFLOP/s of the three products per layer)")
    tradeoff.set_ylabel("held-out accuracy")
    tradeoff.set_title("speed against accuracy")
    tradeoff.grid(alpha=0.3)
    fig.suptitle(title_of(job))
    save(fig, job["output"])


KINDS = {"lowp_training": lowp_training, "model_error": model_error, "heatmap": heatmap, "sensitivity": sensitivity, "speedup": speedup, "roofline": roofline, "frontier": frontier}


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
