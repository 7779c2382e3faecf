"""Training-step time and peak memory of a spiking ResNet-20 (tdBN), spikelearn vs SpikingJelly.

The same network is built in both frameworks - stem conv, 3 stages of 3 tdBN residual blocks
(``out = LIF(tdBN_{1/√2}(conv(LIF(tdBN_1(conv(x))))) + shortcut(x))``), global average pooling, a
linear spiking output layer - with the same LIF (``β = 0.9`` i.e. SpikingJelly's
``LIFNode(tau=10, decay_input=False, v_reset=None)``, soft reset, atan surrogate), both in
multi-step mode on ``[T, B, C, H, W]``. One training step = forward, cross-entropy on spike
counts, backward, Adam step.

Method.
* Time: the median over ``--repeats`` steps after 3 warm-up steps, wall clock and CPU (process)
  time; on a shared machine trust the CPU time.
* Peak memory: each framework runs in its own fresh subprocess (so one cannot inherit the
  other's allocator caches). On CPU, peak resident set size (``ru_maxrss``) during the training
  steps minus the resident size just before them - torch's allocations are invisible to
  ``tracemalloc``, but they are resident memory. On CUDA, ``torch.cuda.max_memory_allocated``.

Run: ``make bench`` or ``python benchmarks/bench_resnet.py [--device cuda] [--batch 64]
[--steps 4] [--width 16] [--image-size 8] [--channels 1] [--repeats 10]`` (CIFAR-10 size:
``--image-size 32 --channels 3``).
"""

import argparse
import json
import math
import resource
import subprocess
import sys

import torch
from torch import nn


def rss_mb():
    """Current resident set size in MB (Linux ``/proc``; falls back to the peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spikelearn_resnet(args):
    from spikelearn import models, surrogate

    return models.spiking_resnet(
        in_channels=args.channels, width=args.width, depth=20, norm="tdbn", beta=0.9,
        spike_grad=surrogate.atan(alpha=2),
    )  # fmt: skip


def spikingjelly_resnet(args):
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    def lif():
        return neuron.LIFNode(
            tau=10.0, decay_input=False, v_threshold=1.0, v_reset=None,
            surrogate_function=surrogate.ATan(alpha=2.0), detach_reset=True,
        )  # fmt: skip

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

    w = args.width
    mods = [*conv_bn(args.channels, w, 3, 1, 1.0), lif()]
    cin = w
    for stage in range(3):
        for b in range(3):
            cout = w * 2**stage
            mods.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
            cin = cout
    mods += [layer.AdaptiveAvgPool2d(1), layer.Flatten(), layer.Linear(cin, 10), lif()]
    net = nn.Sequential(*mods)
    functional.set_step_mode(net, "m")
    return net


def worker(args):
    """Run in a fresh process: build one framework's net, time training steps, report JSON."""
    from spikelearn import speed  # timing only: imports torch, nothing of either network

    torch.manual_seed(0)
    torch.set_num_threads(args.threads) if args.threads else None
    device = torch.device(args.device)
    build = spikelearn_resnet if args.worker == "spikelearn" else spikingjelly_resnet
    net = build(args).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    size = (args.steps, args.batch, args.channels, args.image_size, args.image_size)
    x = torch.rand(*size, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)

    reset = lambda: None  # spikelearn's Spiking layers start from rest every call
    if args.worker == "spikingjelly":
        from spikingjelly.activation_based import functional

        reset = lambda: functional.reset_net(net)  # SpikingJelly keeps state between calls

    def step():
        reset()
        out = net(x)
        loss = nn.functional.cross_entropy(out.sum(0), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    before = rss_mb()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    wall, cpu = speed.median_times({"step": step}, repeats=args.repeats, warmup=3)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    params = sum(p.numel() for p in net.parameters())
    result = {
        "wall_ms": 1000 * wall["step"],
        "cpu_ms": 1000 * cpu["step"],
        "peak_mb": peak,
        "params": params,
    }
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4, help="time steps T")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=8)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--worker", choices=["spikelearn", "spikingjelly"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(
        f"spiking ResNet-20 (tdBN), width {args.width}, T={args.steps}, batch {args.batch}, "
        f"input {args.channels}x{args.image_size}x{args.image_size}, device {args.device}"
    )
    results = {}
    for name in ("spikelearn", "spikingjelly"):
        cmd = [sys.executable, __file__, "--worker", name] + sys.argv[1:]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
            print(f"  {name:12s} not measured: {reason}")
            continue
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = results[name]
        print(
            f"  {name:12s} {r['params']:>8d} params  step {r['wall_ms']:8.1f} ms wall "
            f"{r['cpu_ms']:8.1f} ms CPU  peak memory {r['peak_mb']:7.1f} MB"
        )
    if len(results) == 2:
        a, b = results["spikelearn"], results["spikingjelly"]
        print(
            f"  spikelearn / spikingjelly: step time {a['wall_ms'] / b['wall_ms']:.2f}x wall, "
            f"{a['cpu_ms'] / b['cpu_ms']:.2f}x CPU; peak memory "
            f"{a['peak_mb'] / max(b['peak_mb'], 1e-9):.2f}x  (< 1: spikelearn is leaner)"
        )


if __name__ == "__main__":
    main()
