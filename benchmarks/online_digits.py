"""Online training (OTTT-style, spikelearn.online.train_online) vs BPTT on the embedded digits.

The same two-layer network (64 -> 128 LIF -> 10 leaky readout), the same initial weights, the
same per-step loss (cross-entropy of the readout membrane at every step, averaged over steps),
direct encoding over T steps, Adam. Prints test accuracy and wall time per seed for both.
Run: ``python benchmarks/online_digits.py [--steps 10] [--epochs 8] [--seeds 0 1 2]``.
"""

import argparse
import time

import torch
from torch import nn

from spikelearn import datasets, encoding, online


def network(seed, hidden=128):
    torch.manual_seed(seed)
    return nn.Sequential(
        online.OnlineLIF(64, hidden, beta=0.9),
        online.OnlineLIF(hidden, 10, beta=0.9, reset_mechanism="none"),
    )


def accuracy(layers, loader, steps):
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            _, mem = online.run_bptt(layers, encoding.direct(x.flatten(1), steps))
            correct += int((mem.mean(0).argmax(1) == y).sum())
            total += len(y)
    return correct / total


def train(method, seed, steps, epochs, lr):
    train_set, test_set = datasets.load("digits")
    train_loader, test_loader = datasets.loaders(train_set, test_set, batch_size=64, seed=seed)
    layers = network(seed)
    opt = torch.optim.Adam(layers.parameters(), lr=lr)
    step = online.train_online if method == "online" else online.train_bptt
    start = time.perf_counter()
    for _ in range(epochs):
        for x, y in train_loader:
            step(layers, encoding.direct(x.flatten(1), steps), y, nn.CrossEntropyLoss(), opt)
    seconds = time.perf_counter() - start
    return accuracy(layers, test_loader, steps), seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"digits, direct encoding, T={args.steps}, {args.epochs} epochs, {args.threads} thread(s)"
    )
    for seed in args.seeds:
        row = []
        for method in ("online", "bptt"):
            acc, seconds = train(method, seed, args.steps, args.epochs, args.lr)
            row.append(f"{method} {acc:.3f} ({seconds:.1f} s)")
        print(f"seed {seed}: " + "   ".join(row))


if __name__ == "__main__":
    main()
