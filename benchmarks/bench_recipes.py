"""The ResNet-19 recipe's training step against SpikingJelly's, and BPTT's memory against T.

1. **One training step of the ``tdbn-resnet19-cifar10-t4`` recipe's network** at a small width
   (``--width``, default 16: stages of 16/32/64 channels, the 256-wide linear layer, 17 + 2
   weight layers), built by the recipe (``spikelearn.recipes.catalog.build_model``), against the
   same network in SpikingJelly (multi-step, torch backend): ``LIFNode(tau=10, decay_input=False,
   v_reset=0, detach_reset=True)`` is the recipe's LIF (``β = 0.9``, reset to zero), the
   surrogate ``Rect(alpha=1)`` its rectangle of unit height and width, and
   ``ThresholdDependentBatchNorm2d/1d`` its tdBN (``α = 1``, or ``1/√2`` on the two branches of
   a residual sum). Input: random CIFAR-shaped ``[T, B, 3, 32, 32]``; loss: the cross-entropy of
   each step's output membrane; SGD with momentum. Both run in one process on one thread, timed
   round-robin (the median of ``--repeats`` steps after 3 warm-up steps, wall clock and CPU time).
2. **Peak memory of one training step, BPTT against checkpointed BPTT**
   (``spikelearn.recipes.recompute.Recomputed``, default ``round(sqrt(layers))`` segments), for
   T in ``--memory-steps``. Each (method, T) runs in a fresh subprocess: peak resident memory
   during the step minus the resident memory before it (on CPU torch's allocations are resident
   memory; on CUDA ``torch.cuda.max_memory_allocated``).

Run: ``python benchmarks/bench_recipes.py [--width 16] [--batch 32] [--steps 4] [--repeats 10]
[--memory-steps 2 4 8 16] [--device cuda]``; ``make bench`` runs it with the others.
"""

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time

import torch
from bench_resnet import rss_mb
from torch import nn

from spikelearn.recipes import catalog, recompute

RECIPE = "tdbn-resnet19-cifar10-t4"


def spikelearn_net(width):
    return catalog.build_model(catalog.get(RECIPE), 10, 3, 32, width)


def spikingjelly_net(width):
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    def lif(**kw):
        return neuron.LIFNode(
            tau=10.0,
            decay_input=False,
            v_threshold=1.0,
            v_reset=0.0,
            surrogate_function=surrogate.Rect(alpha=1.0),
            detach_reset=True,
            **kw,
        )

    def conv_bn(cin, cout, k, s, alpha):
        conv = layer.Conv2d(cin, cout, k, s, padding=k // 2, bias=False)
        return [conv, layer.ThresholdDependentBatchNorm2d(alpha=alpha, v_th=1.0, num_features=cout)]

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            half = 1 / math.sqrt(2)
            self.branch = nn.Sequential(
                *conv_bn(cin, cout, 3, stride, 1.0), lif(), *conv_bn(cout, cout, 3, 1, half)
            )
            self.shortcut = nn.Identity()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(*conv_bn(cin, cout, 1, stride, half))
            self.neuron = lif()

        def forward(self, x):
            return self.neuron(self.branch(x) + self.shortcut(x))

    mods, cin = [*conv_bn(3, width, 3, 1, 1.0), lif()], width
    for stage, n in enumerate((3, 3, 2)):
        for b in range(n):
            cout = width * 2**stage
            mods.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
            cin = cout
    mods += [
        layer.AdaptiveAvgPool2d(1),
        layer.Flatten(),
        layer.Linear(cin, 256, bias=False),
        layer.ThresholdDependentBatchNorm1d(alpha=1.0, v_th=1.0, num_features=256),
        lif(),
        layer.Linear(256, 10),
        lif(store_v_seq=True),
    ]
    net = nn.Sequential(*mods)
    functional.set_step_mode(net, "m")
    return net


def step_function(name, net, x, y):
    """One training step: forward, per-step CE of the output membrane, backward, SGD."""
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    if name == "spikingjelly":
        from spikingjelly.activation_based import functional

        def membrane():
            functional.reset_net(net)  # SpikingJelly keeps state between calls
            net(x)
            return net[-1].v_seq

    else:

        def membrane():
            return net(x)[1]  # spikelearn's layers start from rest every call

    def step():
        mem = membrane()
        loss = nn.functional.cross_entropy(mem.flatten(0, 1), y.repeat(mem.shape[0]))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def time_steps(args):
    torch.manual_seed(0)
    device = torch.device(args.device)
    x = torch.rand(args.steps, args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    builders = {"spikelearn": spikelearn_net}
    try:
        import spikingjelly  # noqa: F401

        builders["spikingjelly"] = spikingjelly_net
    except ImportError:
        print("  spikingjelly not installed (pip install --no-deps spikingjelly): not measured")
    steps, params = {}, {}
    for name, build in builders.items():
        net = build(args.width).to(device)
        params[name] = sum(p.numel() for p in net.parameters())
        steps[name] = step_function(name, net, x, y)
    wall = {n: [] for n in steps}
    cpu = {n: [] for n in steps}
    for i in range(3 + args.repeats):
        for name, step in steps.items():  # round-robin: load hits both alike
            if device.type == "cuda":
                torch.cuda.synchronize()
            w, c = time.perf_counter(), time.process_time()
            step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 3:
                wall[name].append(1000 * (time.perf_counter() - w))
                cpu[name].append(1000 * (time.process_time() - c))
    for name in steps:
        print(
            f"  {name:12s} {params[name]:>8d} params  step "
            f"{statistics.median(wall[name]):8.1f} ms wall {statistics.median(cpu[name]):8.1f} ms CPU"
        )
    if len(steps) == 2:
        ratio = {
            k: statistics.median(v["spikingjelly"]) / statistics.median(v["spikelearn"])
            for k, v in (("wall", wall), ("cpu", cpu))
        }
        print(
            f"  spikingjelly / spikelearn step time: {ratio['wall']:.2f}x wall, "
            f"{ratio['cpu']:.2f}x CPU  (> 1: spikelearn is faster)"
        )


def memory_worker(args):
    """In a fresh process: one warm-up step, then the peak memory of one more step."""
    torch.manual_seed(0)
    device = torch.device(args.device)
    net = spikelearn_net(args.width).to(device)
    if args.worker == "checkpointed":
        net = recompute.Recomputed(net)
    x = torch.rand(args.steps, args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    step = step_function("spikelearn", net, x, y)
    step()  # optimizer state, gradients, allocator caches
    before = rss_mb()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    c = time.process_time()
    step()
    cpu_ms = 1000 * (time.process_time() - c)
    if device.type == "cuda":
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    print(json.dumps({"peak_mb": peak, "cpu_ms": cpu_ms}))


def memory_table(args):
    print(
        f"  {'T':>3s} {'BPTT MB':>9s} {'checkpointed MB':>16s} {'ratio':>6s}"
        f" {'BPTT ms':>8s} {'ckpt ms':>8s}  (CPU time of the step)"
    )
    for steps in args.memory_steps:
        row = {}
        for method in ("bptt", "checkpointed"):
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                method,
                "--steps",
                str(steps),
                "--width",
                str(args.width),
                "--batch",
                str(args.batch),
                "--device",
                args.device,
                "--threads",
                "1",
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                raise RuntimeError(proc.stderr[-2000:])
            row[method] = json.loads(proc.stdout.strip().splitlines()[-1])
        a, b = row["bptt"], row["checkpointed"]
        print(
            f"  {steps:>3d} {a['peak_mb']:9.1f} {b['peak_mb']:16.1f} "
            f"{a['peak_mb'] / max(b['peak_mb'], 1e-9):6.2f} {a['cpu_ms']:8.0f} {b['cpu_ms']:8.0f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4, help="time steps T of the timed step")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-steps", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--worker", choices=["bptt", "checkpointed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.worker:
        return memory_worker(args)
    print(
        f"{RECIPE} network at width {args.width}, T={args.steps}, batch {args.batch}, "
        f"3x32x32, device {args.device}, {args.threads} thread(s), torch {torch.__version__}"
    )
    time_steps(args)
    print(f"peak memory of one training step against T (width {args.width}, batch {args.batch})")
    memory_table(args)


if __name__ == "__main__":
    main()
