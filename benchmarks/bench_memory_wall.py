"""The memory wall of BPTT: memory and time of plain, checkpointed and 1-bit BPTT against T.

One training step (forward, backward, Adam) of a convolutional SNN
(``models.spiking_vgg(width=16, depth=4, image_size=16, norm="none", return_mem=True)``: four
3x3 convolutions with LIF neurons, 16x16 inputs, batch 32, cross-entropy on the mean output
membrane) over ``T`` steps, three ways, each (method, T) in a fresh subprocess with one thread:

* ``plain`` - ``net(x)``: autograd keeps every step's activations;
* ``checkpoint`` - ``memory_saving.checkpoint_through_time(net, x, k)`` with ``k = round(√T)``
  steps per segment: the input and the membranes at segment starts are kept, one segment's graph
  is rebuilt at a time in backward;
* ``bits`` - ``net(x)`` inside ``memory_saving.one_bit_spikes()``: saved 0/1 tensors as bits.

Reported per row: the bytes autograd keeps through the forward pass (``memory.saved_bytes``,
exact by construction; for ``checkpoint`` also one segment's graph, which is alive during the
backward pass, and their sum), the peak resident set size (``resource.getrusage``) during the
measured steps above the peak after a 1-step warm-up (the network, Adam's state, gradients and the
input exist by then; the children run with glibc's mmap threshold fixed, see ``measure``), and
the median wall-clock and CPU time per training step. The gradients of the three are the same
(``tests/test_memory_saving.py``).

Run: ``python benchmarks/bench_memory_wall.py [--steps 8 16 32 64] [--repeats 3]``.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

METHODS = ("plain", "checkpoint", "bits")


def child(method, steps, repeats, batch=32):
    import contextlib

    import torch

    from spikelearn import memory, memory_saving, models

    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = models.spiking_vgg(width=16, depth=4, image_size=16, norm="none", return_mem=True)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x_seq = torch.rand(steps, batch, 1, 16, 16)
    y = torch.randint(0, 10, (batch,))
    segment = max(1, round(steps**0.5))

    def forward(x):
        if method == "checkpoint":
            return memory_saving.checkpoint_through_time(net, x, segment)
        with memory_saving.one_bit_spikes() if method == "bits" else contextlib.nullcontext():
            return net(x)

    def train_step(x):
        loss = torch.nn.functional.cross_entropy(forward(x)[1].mean(0), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    train_step(x_seq[:1])  # warm-up: Adam's state, gradients, lazy allocations
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        train_step(x_seq)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if method == "bits":  # the storage's own hooks, through saved_bytes (only one pair runs)
        kept = memory.saved_bytes(net, x_seq, hooks=memory_saving.one_bit_spikes())
    else:
        kept = memory.saved_bytes(forward, x_seq)
    graph = memory.saved_bytes(lambda: net(x_seq[:segment])) if method == "checkpoint" else 0
    return {
        "segment": segment if method == "checkpoint" else steps,
        "kept_mb": kept / 2**20,
        "graph_mb": graph / 2**20,
        "peak_mb": (peak - baseline) / 1024,
        "ms": 1000 * statistics.median(wall),
        "cpu_ms": 1000 * statistics.median(cpu),
    }


def measure(method, steps, repeats):
    # glibc raises its mmap threshold after each large free, so later large blocks come from the
    # heap and stay mapped when freed: peak RSS would then measure the allocator's retention of
    # transients (1-bit packing makes many), not what is alive. A fixed threshold returns large
    # blocks to the system on free, so the peak is what was alive at once.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(steps), "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "T"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.repeats)))
        return
    import platform

    import torch

    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, 1 thread")
    print("one training step: spiking VGG, 4 conv layers of 16-32 channels, 16x16, batch 32")
    head = f"{'T':>4} {'method':>10} {'k':>3} {'kept MB':>8} {'+segment':>8} {'peak RSS MB':>11}"
    print(f"{head} {'wall ms':>8} {'CPU ms':>8} {'CPU x plain':>11}")
    for steps in args.steps:
        plain_cpu = None
        for method in METHODS:
            r = measure(method, steps, args.repeats)
            plain_cpu = plain_cpu or r["cpu_ms"]
            alive = r["kept_mb"] + r["graph_mb"]
            print(
                f"{steps:>4} {method:>10} {r['segment']:>3} {r['kept_mb']:>8.2f} {alive:>8.2f} "
                f"{r['peak_mb']:>11.1f} {r['ms']:>8.1f} {r['cpu_ms']:>8.1f} "
                f"{r['cpu_ms'] / plain_cpu:>11.2f}"
            )


if __name__ == "__main__":
    main()
