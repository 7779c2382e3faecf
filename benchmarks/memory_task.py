"""Does the delayed-digits task need memory? Train a feed-forward LIF, a recurrent LIF and an
adaptive (ALIF) network briefly on ``tasks.delayed_digits`` and print their test accuracy.

A check of the task for tutorial 12, not a unit test (it trains for ~30 s per network at one
thread). Run: ``python benchmarks/memory_task.py [--delay 50] [--epochs 25] [--seed 0]``.
"""

import argparse
import math
import time

import torch
from torch import nn

from spikelearn import neurons, surrogate, tasks
from spikelearn.cells.adaptive import ALIF
from spikelearn.cells.recurrent import RLIF
from spikelearn.networks.layers import TimeFolded

BETA, HIDDEN, CUE = 0.8, 128, 10


class Net(nn.Module):
    """9 inputs -> 128 hidden (LIF, RLIF or ALIF) -> 10 leaky readouts, answer = mean membrane
    over the cue window."""

    def __init__(self, kind):
        super().__init__()
        sg = surrogate.fast_sigmoid(slope=5)
        self.fc1 = TimeFolded(nn.Linear(9, HIDDEN))
        self.hidden = {
            "feed-forward LIF": lambda: neurons.LIF(BETA, spike_grad=sg),
            "recurrent LIF": lambda: RLIF(BETA, linear_features=HIDDEN, spike_grad=sg),
            "adaptive LIF": lambda: ALIF(BETA, rho=math.exp(-1 / 200), beta_a=2.0, spike_grad=sg),
        }[kind]()
        self.fc2 = TimeFolded(nn.Linear(HIDDEN, 10))
        self.out = neurons.LIF(BETA, spike_grad=sg, reset_mechanism="none")

    def forward(self, x):
        spk = self.hidden.multi_step(self.fc1(x))[0]
        return self.out.multi_step(self.fc2(spk))[1][-CUE:].mean(0)


def run(kind, delay, epochs, seed):
    data = dict(delay=delay, steps_per_row=3, cue_steps=CUE, noise=0.05)
    x_train, y_train = tasks.delayed_digits("train", seed=seed, **data)
    x_test, y_test = tasks.delayed_digits("test", seed=seed + 1, **data)
    torch.manual_seed(seed)
    net = Net(kind)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    start = time.process_time()
    for _ in range(epochs):
        for idx in torch.randperm(len(y_train)).split(128):
            loss = nn.functional.cross_entropy(net(x_train[:, idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.process_time() - start
    with torch.no_grad():
        acc = (net(x_test).argmax(1) == y_test).float().mean().item()
    print(f"  {kind:18s} test accuracy {acc:6.1%}   ({seconds:.0f} s CPU to train)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"delayed_digits, delay {args.delay}, {args.epochs} epochs, seed {args.seed}, chance 10%")
    for kind in ("feed-forward LIF", "recurrent LIF", "adaptive LIF"):
        run(kind, args.delay, args.epochs, args.seed)


if __name__ == "__main__":
    main()
