#!/usr/bin/python3
"""Runs the models of a paradnn result CSV in PyTorch (Debian's python3-torch) on the same
machine and compares throughput point by point: paradnn's examples/s over PyTorch's best
thread setting. The models are rebuilt from the CSV's hyperparameters exactly as paradnn's
generators build them (models/*_generator.cpp): same layers, same loss, SGD lr 0.01.

usage: /usr/bin/python3 analysis/pytorch_baseline.py RESULTS.csv [-o OUT.csv] [--threads 1,2]
"""
import argparse
import csv
import math
import statistics
import sys
import time

import torch
import torch.nn as nn


def fc_model(p):
    layers, width = [], int(p["input"])
    for _ in range(int(p["layers"])):
        layers += [nn.Linear(width, int(p["nodes"])), nn.ReLU()]
        width = int(p["nodes"])
    layers.append(nn.Linear(width, int(p["output"])))
    return nn.Sequential(*layers)


def conv_bn(cin, cout, k, stride, relu):
    mods = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*(mods + [nn.ReLU()] if relu else mods))


class Block(nn.Module):
    def __init__(self, cin, f, stride, bottleneck, project):
        super().__init__()
        out = 4 * f if bottleneck else f
        if bottleneck:
            self.path = nn.Sequential(conv_bn(cin, f, 1, 1, True), conv_bn(f, f, 3, stride, True), conv_bn(f, out, 1, 1, False))
        else:
            self.path = nn.Sequential(conv_bn(cin, f, 3, stride, True), conv_bn(f, f, 3, 1, False))
        self.shortcut = conv_bn(cin, out, 1, stride, False) if project else nn.Identity()

    def forward(self, x):
        return torch.relu(self.path(x) + self.shortcut(x))


def cnn_model(p):
    f0, blocks, bottleneck = int(p["filters"]), int(p["blocks"]), int(p.get("bottleneck") or 0) != 0
    mods = [conv_bn(3, f0, 7, 2, True), nn.MaxPool2d(3, 2, 1)]
    cin = f0
    for g in range(4):
        f = f0 << g
        for k in range(blocks):
            stride = 2 if (k == 0 and g > 0) else 1
            mods.append(Block(cin, f, stride, bottleneck, k == 0))
            cin = 4 * f if bottleneck else f
    mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, int(p["output"]))]
    return nn.Sequential(*mods)


class LanguageModel(nn.Module):
    def __init__(self, p):
        super().__init__()
        e, v, layers = int(p["embed"]), int(p["vocab"]), int(p["layers"])
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[p["cell"]]
        self.embedding = nn.Embedding(v, e)
        self.rnn = cell(e, e, layers)
        self.projection = nn.Linear(e, v)

    def forward(self, ids):
        y, _ = self.rnn(self.embedding(ids))
        return self.projection(y).reshape(-1, self.projection.out_features)


def workload(row):
    """Model, one batch of inputs and labels for a CSV row, or None for families we skip."""
    b, fam = int(row["batch"]), row["model_family"]
    if fam == "fc":
        m = fc_model(row)
        return m, torch.randn(b, int(row["input"])), torch.randint(0, int(row["output"]), (b,))
    if fam == "cnn":
        m, i = cnn_model(row), int(row["image"])
        return m, torch.randn(b, 3, i, i), torch.randint(0, int(row["output"]), (b,))
    if fam == "rnn":
        t, v = int(row["seq_len"]), int(row["vocab"])
        return LanguageModel(row), torch.randint(0, v, (t, b)), torch.randint(0, v, (t * b,))
    return None


def seconds_per_step(row, threads, min_time=0.3, reps=5):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, x, labels = workload(row)
    loss_fn = nn.CrossEntropyLoss()
    train = row["mode"] == "train"
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train(train)

    def step():
        if train:
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), labels).backward()
            opt.step()
        else:
            with torch.no_grad():
                model(x)

    for _ in range(3):
        step()
    times = []
    for _ in range(reps):
        n, start = 0, time.perf_counter()
        while True:
            step()
            n += 1
            if time.perf_counter() - start >= min_time / reps:
                break
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("-o", "--output", default="")
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    rows = [r for r in csv.DictReader(open(a.results)) if r["status"] == "ok" and r["dtype"] == "f32"]
    out, ratios = [], []
    print(f"PyTorch {torch.__version__}, threads tried {threads}")
    print(f"{'model':40} {'mode':5} {'batch':>5} {'paradnn ex/s':>12} {'torch ex/s':>11} {'best thr':>8} {'speedup':>7}")
    for r in rows:
        if workload(r) is None:
            continue
        best = min((seconds_per_step(r, t), t) for t in threads)
        torch_rate = int(r["batch"]) / best[0]
        ours = float(r["examples_per_s"])
        ratios.append(ours / torch_rate)
        out.append({"model_name": r["model_name"], "mode": r["mode"], "batch": r["batch"], "paradnn_examples_per_s": ours,
                    "paradnn_threads": r["intra_threads"], "pytorch_examples_per_s": torch_rate, "pytorch_threads": best[1],
                    "speedup": ours / torch_rate})
        print(f"{r['model_name'][:40]:40} {r['mode']:5} {r['batch']:>5} {ours:12.1f} {torch_rate:11.1f} {best[1]:8d} {ours / torch_rate:6.2f}x")
    if not ratios:
        sys.exit("no f32 ok rows of the fc, cnn or rnn families in " + a.results)
    geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
    print(f"geometric mean speedup of paradnn over PyTorch's best thread setting: {geo:.2f}x over {len(ratios)} points "
          f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x)")
    if a.output:
        with open(a.output, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(out[0]))
            w.writeheader()
            w.writerows(out)


if __name__ == "__main__":
    main()
