#!/usr/bin/python3
"""paradnn's torch worker: runs paradnn graphs in PyTorch (Debian's python3-torch) for the
`torch` backend (platforms/torch/torch_backend.cpp), which starts it once and talks to it
over stdin/stdout, one JSON object per line each way, so Python and torch start once per
run rather than once per point.

Requests (each answered by {"ok": true, ...} or {"ok": false, "error": ..., "unsupported": bool}):
  {"cmd": "hello"}                               -> torch version, BLAS library, CPU capability
  {"cmd": "prepare", "graph": G, "mode": "train"|"infer", "threads": n, "cpus": [..], "seed": s}
                                                 -> builds the model and data, applies threads
                                                    and affinity; {"params": count}
  {"cmd": "steps", "n": k}                       -> runs k steps; {"times": [s, ...], "loss": x}
  {"cmd": "forward", "params": {name: [..]}, "input": [..]}
                                                 -> the loss op's logits on these weights
  {"cmd": "quit"}
Timing statistics stay in paradnn's harness: a step's seconds are measured here around the
step (time.perf_counter) and returned as they are.
"""
import json
import os
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F


class Unsupported(Exception):
    """An op or setting this worker cannot express: the point becomes a skipped row."""


ACTIVATIONS = {"none": None, "relu": torch.relu, "tanh": torch.tanh, "gelu": F.gelu}


def rnn_module(op, width):
    cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[op["cell"]]
    # torch's cells carry two bias vectors per layer (b_ih, b_hh) where the IR has one.
    return cell(width, op["out"][-1], op["layers"])


class GraphModel(nn.Module):
    """paradnn's graph IR (paradnn/graph.hpp) as a torch module: one submodule per op with
    parameters, evaluated in the graph's (topological) order."""

    def __init__(self, graph):
        super().__init__()
        self.ops = graph["ops"]
        self.mods = nn.ModuleDict()
        self.loss_op = -1
        for i, op in enumerate(self.ops):
            kind, ins = op["kind"], op["inputs"]
            if op.get("shares_params_with", -1) >= 0:
                raise Unsupported(f"{op['name']}: tied parameters are not expressed by the torch worker")
            dims = [self.ops[x]["out"] for x in ins]
            names = [p["name"] for p in op["params"]]
            bias = any(n.endswith(".bias") for n in names)
            if kind == "dense":
                width = dims[0][-1] if len(dims[0]) != 4 else dims[0][1] * dims[0][2] * dims[0][3]
                self.mods[str(i)] = nn.Linear(width, op["out"][-1], bias=bias)
            elif kind == "conv":
                self.mods[str(i)] = nn.Conv2d(dims[0][1], op["out"][1], op["kernel"], op["stride"], op["pad"],
                                              groups=op["groups"], bias=bias)
            elif kind == "batch_norm":
                self.mods[str(i)] = (nn.BatchNorm2d if len(op["out"]) == 4 else nn.BatchNorm1d)(op["out"][1])
            elif kind == "embedding":
                self.mods[str(i)] = nn.Embedding(op["classes"], op["out"][-1])
            elif kind == "rnn":
                self.mods[str(i)] = rnn_module(op, dims[0][-1])
            elif kind == "softmax_xent":
                self.loss_op = i
            elif kind not in ("input", "token_input", "relu", "tanh", "gelu", "max_pool", "avg_pool", "add", "concat"):
                raise Unsupported(f"op kind {kind} ({op['name']}) is not expressed by the torch worker")
        if self.loss_op < 0:
            raise Unsupported("the graph has no softmax_xent loss")

    def forward(self, inputs):
        """Outputs of every op up to the loss op's logits; `inputs` maps input op index -> tensor."""
        vals = {}
        for i, op in enumerate(self.ops[: self.loss_op]):
            kind = op["kind"]
            xs = [vals[x] for x in op["inputs"]]
            if kind in ("input", "token_input"):
                y = inputs[i]
            elif kind == "dense":
                x = xs[0].flatten(1) if xs[0].dim() == 4 else xs[0]
                y = self.mods[str(i)](x)
            elif kind in ("conv", "batch_norm", "embedding"):
                y = self.mods[str(i)](xs[0])
            elif kind == "rnn":
                y, _ = self.mods[str(i)](xs[0])
            elif kind in ("relu", "tanh", "gelu"):
                y = ACTIVATIONS[kind](xs[0])
            elif kind == "max_pool":
                y = F.max_pool2d(xs[0], op["kernel"], op["stride"], op["pad"])
            elif kind == "avg_pool":
                y = F.avg_pool2d(xs[0], op["kernel"], op["stride"], op["pad"])
            elif kind == "add":
                y = xs[0]
                for x in xs[1:]:
                    y = y + x
            elif kind == "concat":
                y = torch.cat(xs, 1)
            act = ACTIVATIONS.get(op.get("post", "none"))
            vals[i] = act(y) if act else y
        return vals[self.ops[self.loss_op]["inputs"][0]]

    def load_ir_params(self, params):
        """Sets weights given in the IR's names and layouts (dense [out, in], conv OIHW)."""
        with torch.no_grad():
            for i, op in enumerate(self.ops):
                for p in op["params"]:
                    if p["name"] not in params:
                        continue
                    m = self.mods[str(i)]
                    target = {"weight": m.weight, "bias": getattr(m, "bias", None), "gamma": m.weight, "beta": getattr(m, "bias", None)}.get(
                        p["name"].rsplit(".", 1)[-1])
                    if target is None:
                        raise Unsupported(f"forward with given weights: {p['name']} has no torch counterpart")
                    target.copy_(torch.tensor(params[p["name"]], dtype=torch.float32).reshape(target.shape))


def synthetic_data(graph, seed):
    """Input tensors and labels for one batch: Gaussian features, token ids, class labels."""
    g = torch.Generator().manual_seed(seed)
    ops, inputs = graph["ops"], {}
    for i, op in enumerate(ops):
        if op["kind"] == "input":
            inputs[i] = torch.randn(op["out"], generator=g)
        elif op["kind"] == "token_input":
            vocab = min(o["classes"] for o in ops if o["kind"] == "embedding" and i in o["inputs"])
            inputs[i] = torch.randint(0, vocab, op["out"], generator=g)
    loss = next(o for o in ops if o["kind"] == "softmax_xent")
    logits = ops[loss["inputs"][0]]["out"]
    rows = 1
    for d in logits[:-1]:
        rows *= d
    return inputs, torch.randint(0, loss["classes"], (rows,), generator=g)


def optimizer(name, params):
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.01)
    if name == "momentum":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=0.01, alpha=0.9, eps=1e-7)
    raise Unsupported(f"optimizer {name}")


def pin(cpus):
    """Every thread of this process onto `cpus` (OpenMP threads that already exist too)."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass  # a thread that ended meanwhile


def blas_library():
    """The BLAS shared object torch loaded, as the dynamic linker resolved it."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            name = os.path.basename(path)
            if path.startswith("/") and ("blas" in name or "mkl_rt" in name):
                found.add(os.path.realpath(path))
    return ", ".join(sorted(found)) or "none mapped"


class Worker:
    def __init__(self):
        self.model = None
        self.allowed = sorted(os.sched_getaffinity(0))  # the cpuset inherited from paradnn

    def hello(self, _):
        config = torch.__config__.show()
        capability = next((l.split(":", 1)[1].strip() for l in config.splitlines() if "CPU capability" in l), "")
        return {"torch": torch.__version__, "blas": blas_library(), "cpu_capability": capability,
                "cpus": self.allowed}

    def prepare(self, r):
        self.model = None
        graph, self.train = r["graph"], r["mode"] == "train"
        if graph.get("dtype", "f32") != "f32":
            raise Unsupported(f"dtype {graph['dtype']}: the torch worker runs f32 only")
        cpus = r.get("cpus") or self.allowed
        if not set(cpus) <= set(self.allowed):
            raise ValueError(f"cpus {cpus} are outside the inherited cpuset {self.allowed}")
        torch.set_num_threads(max(1, int(r["threads"])))
        pin(cpus)
        torch.manual_seed(r.get("seed", 0))
        self.model = GraphModel(graph)
        self.model.train(self.train)
        self.inputs, self.labels = synthetic_data(graph, r.get("seed", 0))
        self.opt = optimizer(graph.get("optimizer", "sgd"), self.model.parameters()) if self.train else None
        self.last_loss = None  # JSON null: inference has no loss
        return {"params": sum(p.numel() for p in self.model.parameters()), "threads": torch.get_num_threads(),
                "cpus": sorted(os.sched_getaffinity(0))}

    def step(self):
        if self.train:
            self.opt.zero_grad(set_to_none=True)
            logits = self.model(self.inputs)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), self.labels)
            loss.backward()
            self.opt.step()
            return loss
        with torch.no_grad():
            self.model(self.inputs)
        return None

    def steps(self, r):
        if self.model is None:
            raise ValueError("steps before prepare")
        times, loss = [], None
        for _ in range(int(r["n"])):
            start = time.perf_counter()
            loss = self.step()
            times.append(time.perf_counter() - start)
        if loss is not None:
            value = loss.item()
            self.last_loss = value if value == value and abs(value) != float("inf") else None  # diverged: null
        return {"times": times, "loss": self.last_loss}

    def forward(self, r):
        if self.model is None:
            raise ValueError("forward before prepare")
        self.model.load_ir_params(r["params"])
        first = next(i for i, op in enumerate(self.model.ops) if op["kind"] == "input")
        x = torch.tensor(r["input"], dtype=torch.float32).reshape(self.inputs[first].shape)
        self.model.eval()
        with torch.no_grad():
            y = self.model({first: x})
        self.model.train(self.train)
        return {"output": y.flatten().tolist()}


def main():
    # The protocol owns the original stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    worker = Worker()
    handlers = {"hello": worker.hello, "prepare": worker.prepare, "steps": worker.steps, "forward": worker.forward}
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("cmd") == "quit":
            break
        try:
            reply = {"ok": True, **handlers[request["cmd"]](request)}
        except Unsupported as e:
            reply = {"ok": False, "unsupported": True, "error": str(e)}
        except Exception as e:  # noqa: BLE001 - every failure goes back to paradnn as text
            traceback.print_exc(file=sys.stderr)
            reply = {"ok": False, "unsupported": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply, allow_nan=False) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
