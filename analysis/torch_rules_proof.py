#!/usr/bin/python3
"""PyTorch with its paradnn rules against PyTorch's defaults, on workloads the rules were not
derived from.

Usage: torch_rules_proof.py PARADNN SETTINGS.yaml CONFIG.yaml OUTDIR [--rounds N]

SETTINGS comes from `paradnn tune TUNE_CONFIG --backend torch`; CONFIG holds other workloads
(configs/torch-proof.yaml). For every point of CONFIG, N rounds (default 3) of:
  default: `PARADNN run CONFIG --backend torch --filter POINT --threads 0` (one process, all
           cores: PyTorch's default)
  rules:   `PARADNN launch --settings SETTINGS --family F --batch B --mode M -- PARADNN run ...
           --threads $OMP_NUM_THREADS`, each instance pinned to its own cpus by launch
Aggregate examples/s is the sum over the instances (they start together and time the same
number of steps); latency is each instance's median step time. Prints one line per workload
with the median over rounds and its range, the geometric mean, and writes OUTDIR/proof.csv.
"""
import csv
import math
import os
import shlex
import statistics
import subprocess
import sys


def run_rows(cmd, out):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out, newline="") as f:
        return [r for r in csv.DictReader(f)]


def point_filter(repro):
    """The --filter of a row's repro command."""
    words = shlex.split(repro)
    return words[words.index("--filter") + 1]


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--rounds")]
    rounds = int(next((a.split("=")[1] for a in argv if a.startswith("--rounds=")), 3))
    if len(args) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    paradnn, settings, config, outdir = args
    os.makedirs(outdir, exist_ok=True)
    base = [paradnn, "run", config, "--backend", "torch", "--no-ceilings", "-q", "--force"]
    listing = run_rows(base + ["--threads", "0", "-o", f"{outdir}/default.csv"], f"{outdir}/default.csv")
    points = [r for r in listing if r["status"] == "ok"]
    results = []
    for r in points:
        flt = point_filter(r["repro"])
        default, rules, default_lat, rule_lat, shape = [], [], [], [], ""
        for k in range(rounds):
            d = run_rows(base + ["--filter", flt, "--threads", "0", "-o", f"{outdir}/d.csv"], f"{outdir}/d.csv")[0]
            default.append(float(d["examples_per_s"]))
            default_lat.append(float(d["time_per_step_s_median"]))
            inner = " ".join(shlex.quote(w) for w in base + ["--filter", flt, "--pools", "1", "--affinity", "none"])
            inner += f' --threads "$OMP_NUM_THREADS" -o {shlex.quote(outdir)}/i"$PARADNN_INSTANCE".csv'
            launch = [paradnn, "launch", "--settings", settings, "--family", r["model_family"], "--batch", r["batch"],
                      "--mode", r["mode"], "--", "sh", "-c", inner]
            done = subprocess.run(launch, check=True, capture_output=True, text=True)
            n = sum(1 for line in done.stderr.splitlines() if line.startswith("paradnn launch: instance ") and ", exit " in line)
            inst = [run_rows(["true"], f"{outdir}/i{i}.csv")[0] for i in range(n)]
            rules.append(sum(float(x["examples_per_s"]) for x in inst))
            rule_lat.append(statistics.median(float(x["time_per_step_s_median"]) for x in inst))
            shape = f"{n} x {inst[0]['intra_threads']} thread(s)"
        results.append({"workload": r["model_name"], "mode": r["mode"], "batch": r["batch"], "rules": shape,
                        "default_examples_per_s": statistics.median(default),
                        "default_range": f"{min(default):.0f}-{max(default):.0f}",
                        "rules_examples_per_s": statistics.median(rules),
                        "rules_range": f"{min(rules):.0f}-{max(rules):.0f}",
                        "speedup": statistics.median(rules) / statistics.median(default),
                        "default_latency_s": statistics.median(default_lat),
                        "rules_latency_s": statistics.median(rule_lat)})
    with open(f"{outdir}/proof.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)
    print(f"{'workload':<26} {'mode':<5} {'batch':>5} {'rules':<16} {'default ex/s':>18} {'rules ex/s':>18} "
          f"{'speedup':>7} {'latency d/r ms':>15}")
    for x in results:
        print(f"{x['workload']:<26} {x['mode']:<5} {x['batch']:>5} {x['rules']:<16} "
              f"{x['default_examples_per_s']:>8.0f} ({x['default_range']:>9}) {x['rules_examples_per_s']:>8.0f} "
              f"({x['rules_range']:>9}) {x['speedup']:>6.2f}x {1e3 * x['default_latency_s']:>6.2f}/{1e3 * x['rules_latency_s']:.2f}")
    speedups = [x["speedup"] for x in results]
    print(f"geometric mean speedup {math.exp(sum(map(math.log, speedups)) / len(speedups)):.2f}x over {len(speedups)} "
          f"workloads (min {min(speedups):.2f}x, max {max(speedups):.2f}x); {rounds} rounds each")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
