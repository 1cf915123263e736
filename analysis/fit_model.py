#!/usr/bin/python3
"""Fits a device spec's `fitted` stack terms to published measurements, through paradnn itself.

Usage: fit_model.py PARADNN SPEC.yaml PUBLISHED.csv ROWS KEY[=START] ... [--write]

Each evaluation writes SPEC with the trial values to a temporary file and runs
`PARADNN model-error --published PUBLISHED.csv --backend tpu:TMP.yaml|gpu-model:TMP.yaml
--rows ROWS`, so the fit uses exactly the engine users run. It minimises a robust (soft-L1)
loss of log(predicted / measured) over the rows with scipy's least_squares in log space of
each term, then prints the fitted values, the median and 90th-percentile |error| before and
after, and with --write puts the values into SPEC (the lines keep their comments).

Fit on the calibration half only (../shared/calibration/README.md): the other half validates.
Needs Debian's python3-scipy.
"""
import csv
import math
import os
import re
import subprocess
import sys
import tempfile

from scipy.optimize import least_squares


def spec_with(text, values):
    """SPEC's text with `values` in place; each comment stays in its column."""
    for key, v in values.items():
        def put(m, v=v):
            value = f"{v:.4g}"
            return m.group(1) + value + " " * max(1, len(m.group(2)) + len(m.group(3)) - len(value))
        text, n = re.subn(rf"^({key}:\s*)([^\s#]+)([ \t]*)", put, text, flags=re.M)
        if n == 0:
            text += f"{key}: {v:.4g}\n"
    return text


def ratios(paradnn, spec_text, published, rows, kind, workdir):
    spec = os.path.join(workdir, "trial.yaml")
    out = os.path.join(workdir, "trial.csv")
    with open(spec, "w") as f:
        f.write(spec_text)
    backend = ("gpu-model:" if kind == "gpu" else "tpu:") + spec
    subprocess.run([paradnn, "model-error", "--published", published, "--backend", backend, "--rows", rows,
                    "--no-plot", "--force", "-o", out], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out, newline="") as f:
        got = [float(r["ratio"]) for r in csv.DictReader(f) if r["status"] == "ok"]
    return got


def summary(r):
    e = sorted(abs(x - 1) for x in r)
    q = lambda p: e[min(len(e) - 1, int(round(p * (len(e) - 1))))]
    return f"{len(e)} points, median |error| {100 * q(0.5):.1f}%, p90 {100 * q(0.9):.1f}%"


def main(argv):
    args = [a for a in argv[1:] if a != "--write"]
    if len(args) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    paradnn, spec_path, published, rows = args[:4]
    text = open(spec_path).read()
    kind = "gpu" if re.search(r"^kind:\s*gpu", text, re.M) else "tpu"
    keys, start = [], []
    for a in args[4:]:
        key, _, value = a.partition("=")
        m = re.search(rf"^{key}:\s*([^\s#]+)", text, re.M)
        keys.append(key)
        start.append(float(value) if value else float(m.group(1)) if m else 1.0)
    with tempfile.TemporaryDirectory() as work:
        n = len(ratios(paradnn, text, published, rows, kind, work))

        def residuals(logs):
            r = ratios(paradnn, spec_with(text, dict(zip(keys, map(math.exp, logs)))), published, rows, kind, work)
            res = [math.log(x) for x in r]
            return res + [math.log(10.0)] * (n - len(res))  # a refused point costs as much as a 10x error

        print("before:", summary(ratios(paradnn, text, published, rows, kind, work)))
        upper = [0.0 if k.endswith("efficiency") else math.inf for k in keys]  # efficiencies at most 1
        fit = least_squares(residuals, [math.log(v) for v in start], loss="soft_l1", f_scale=0.1,
                            bounds=([-math.inf] * len(keys), upper), diff_step=0.05)
        values = dict(zip(keys, map(math.exp, fit.x)))
        print("after: ", summary(ratios(paradnn, spec_with(text, values), published, rows, kind, work)))
    for k, v in values.items():
        print(f"  {k}: {v:.4g}")
    if "--write" in argv:
        with open(spec_path, "w") as f:
            f.write(spec_with(text, values))
        print("written:", spec_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
