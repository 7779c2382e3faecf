"""Memory and time of online training (spikelearn.online.train_online) vs BPTT, against T.

Each measurement runs in a fresh subprocess with one thread: it builds the network (64 -> 256
LIF -> 10 leaky readout, batch 128) and its input, runs one warm-up step on a 1-step sequence
(Adam state, gradients, lazy allocations), reads the peak resident set size (RSS,
``resource.getrusage``) as its baseline, then runs training steps on the T-step sequence and
reports the peak RSS above that baseline and the median wall-clock and CPU time per
training step (on a shared machine trust the CPU time). The input itself is
allocated before the baseline (it is data, the same for both methods), so what is measured is
what training holds on top of it: BPTT's stored forward pass grows linearly with T, the online
step holds one time step.

Prints a table and the slopes (MB per time step, least squares over T) and their ratio.
Run: ``python benchmarks/bench_online.py [--steps 25 100 400] [--repeats 3]``.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def child(method, steps, repeats, batch=128, hidden=256):
    import torch
    from torch import nn

    from spikelearn import online

    torch.set_num_threads(1)
    torch.manual_seed(0)
    layers = nn.Sequential(
        online.OnlineLIF(64, hidden, beta=0.9),
        online.OnlineLIF(hidden, 10, beta=0.9, reset_mechanism="none"),
    )
    opt = torch.optim.Adam(layers.parameters(), lr=1e-3)
    x_seq = torch.rand(steps, batch, 64)
    targets = torch.randint(0, 10, (batch,))
    train = online.train_online if method == "online" else online.train_bptt
    loss_fn = nn.CrossEntropyLoss()
    train(layers, x_seq[:1], targets, loss_fn, opt)  # warm-up
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        train(layers, x_seq, targets, loss_fn, opt)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "peak_mb": (peak - baseline) / 1024,
        "ms": 1000 * statistics.median(wall),
        "cpu_ms": 1000 * statistics.median(cpu),
    }


def measure(method, steps, repeats):
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(steps), "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def slope(xs, ys):
    """Least-squares slope of ys against xs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, nargs="+", default=[25, 100, 400])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "T"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.repeats)))
        return
    print("one training step, 64 -> 256 LIF -> 10 readout, batch 128, 1 thread, fresh process each")
    print(f"{'T':>5} {'method':>7} {'peak MB':>9} {'wall ms':>9} {'CPU ms':>9}")
    results = {"online": [], "bptt": []}
    for steps in args.steps:
        for method in results:
            r = measure(method, steps, args.repeats)
            results[method].append(r)
            print(
                f"{steps:>5} {method:>7} {r['peak_mb']:>9.1f} {r['ms']:>9.1f} {r['cpu_ms']:>9.1f}"
            )
    slopes = {}
    for method, rows in results.items():
        slopes[method] = slope(args.steps, [r["peak_mb"] for r in rows])
        ms = slope(args.steps, [r["cpu_ms"] for r in rows])
        print(
            f"{method}: memory slope {slopes[method]:.4f} MB per time step, "
            f"CPU time {ms:.2f} ms per time step"
        )
    online_slope = max(slopes["online"], 1e-12)
    print(f"memory slope ratio BPTT / online: {slopes['bptt'] / online_slope:.0f}x")


if __name__ == "__main__":
    main()
