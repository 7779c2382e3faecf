"""Speed of multi-step execution, measured against snnTorch (and SpikingJelly) in the same run.

1. One LIF layer, forward + backward through T=25 steps, batch 128, 1000 neurons:
   spikelearn's fused ``LIF.multi_step`` vs a ``snntorch.Leaky`` loop (the way snnTorch's
   tutorials run it), plus spikelearn's own step loop and SpikingJelly's multi-step LIF if
   installed (its torch backend; its CUDA backends need a GPU).
2. One training step (forward, backward, Adam) of a small convolutional SNN: single-step
   execution (a Python loop over time steps, ``layers.step_by_step``) vs multi-step execution
   (``TimeFolded`` + fused ``Spiking``).

Prints the median time of each and the ratios. Run: ``make bench`` or
``python benchmarks/bench_lif.py [--device cuda] [--repeats 20]``.
"""

import argparse

import snntorch as snn
import torch
from snntorch import surrogate as snn_surrogate
from torch import nn

from spikelearn import layers, neurons, speed, surrogate


def compare(fns, repeats, warmup=2):
    """Median wall-clock and CPU (process) time in ms of each function, run round-robin
    (``spikelearn.speed.median_times``). On a shared machine trust the CPU times."""
    wall, cpu = speed.median_times(fns, repeats=repeats, warmup=warmup)
    return {k: (1000 * wall[k], 1000 * cpu[k]) for k in fns}


def lif_benchmark(device, repeats, steps=25, batch=128, features=1000):
    torch.manual_seed(0)
    x = (torch.rand(steps, batch, features, device=device) * 0.5).requires_grad_()
    ours = neurons.LIF(beta=0.9, spike_grad=surrogate.fast_sigmoid(slope=25)).to(device)
    leaky = snn.Leaky(beta=0.9, spike_grad=snn_surrogate.fast_sigmoid(slope=25)).to(device)

    def fused():
        spk, mem = ours.multi_step(x)
        (spk.sum() + 0.1 * mem.sum()).backward()

    def our_loop():
        spikes, mems, mem = [], [], None
        for xt in x:
            spk, mem = ours(xt, mem)
            spikes.append(spk)
            mems.append(mem)
        (torch.stack(spikes).sum() + 0.1 * torch.stack(mems).sum()).backward()

    def snntorch_loop():
        spikes, mems, mem = [], [], leaky.init_leaky()
        for xt in x:
            spk, mem = leaky(xt, mem)
            spikes.append(spk)
            mems.append(mem)
        (torch.stack(spikes).sum() + 0.1 * torch.stack(mems).sum()).backward()

    fns = {
        "snntorch.Leaky loop": snntorch_loop,
        "spikelearn step loop": our_loop,
        "spikelearn multi_step (fused)": fused,
    }
    try:  # SpikingJelly's LIF with the same dynamics: decay 1 - 1/tau = 0.9, soft reset
        from spikingjelly.activation_based import neuron as sj_neuron
        from spikingjelly.activation_based import surrogate as sj_surrogate

        sj = sj_neuron.LIFNode(
            tau=10.0, decay_input=False, v_threshold=1.0, v_reset=None, detach_reset=True,
            surrogate_function=sj_surrogate.Sigmoid(), step_mode="m",
        )  # fmt: skip

        def spikingjelly():
            sj.reset()
            sj(x).sum().backward()

        fns["spikingjelly LIFNode (multi-step, torch)"] = spikingjelly
    except ImportError:
        pass
    return compare(fns, repeats)


def conv_snn(size=28):
    sg = surrogate.fast_sigmoid(slope=25)
    return nn.Sequential(
        layers.TimeFolded(nn.Conv2d(1, 16, 3, padding=1)),
        layers.Spiking(neurons.LIF(0.9, spike_grad=sg)),
        layers.TimeFolded(nn.MaxPool2d(2)),
        layers.TimeFolded(nn.Conv2d(16, 32, 3, padding=1)),
        layers.Spiking(neurons.LIF(0.9, spike_grad=sg)),
        layers.TimeFolded(nn.MaxPool2d(2)),
        layers.TimeFolded(nn.Flatten()),
        layers.TimeFolded(nn.Linear(32 * (size // 4) ** 2, 10)),
        layers.Spiking(neurons.LIF(0.9, spike_grad=sg)),
    )


def conv_benchmark(device, repeats, size=28, steps=10, batch=64):
    torch.manual_seed(0)
    net = conv_snn(size).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(steps, batch, 1, size, size, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def train_step(run):
        def step():
            loss = nn.functional.cross_entropy(run(net, x).sum(0), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        return step

    fns = {
        "single-step (loop over t)": train_step(layers.step_by_step),
        "multi-step (TimeFolded + fused)": train_step(nn.Module.__call__),
    }
    return compare(fns, repeats)


def report(title, results, baseline):
    print(f"\n{title}")
    print(f"  {'':42s} {'wall ms':>9s} {'ratio':>6s}  {'CPU ms':>9s} {'ratio':>6s}")
    base_wall, base_cpu = results[baseline]
    for name, (wall, cpu) in results.items():
        print(
            f"  {name:42s} {wall:9.2f} {base_wall / wall:5.2f}x  {cpu:9.2f} {base_cpu / cpu:5.2f}x"
        )


def parse_args(description):
    """``--device``, ``--repeats``, ``--threads``: set the threads, print the set-up; returns
    ``(device, repeats)``. Shared by the speed benchmarks."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, snntorch {snn.__version__}, device {device}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")  # fmt: skip
    return device, args.repeats


def main():
    device, repeats = parse_args(__doc__.splitlines()[0])
    lif = lif_benchmark(device, repeats)
    report("LIF forward+backward, T=25, B=128, 1000 neurons", lif, "snntorch.Leaky loop")
    conv = conv_benchmark(device, max(3, repeats // 4))
    report("conv SNN training step, T=10, B=64, 1x28x28", conv, "single-step (loop over t)")
    small = conv_benchmark(device, repeats, size=8, batch=128, steps=10)
    report(
        "conv SNN training step, T=10, B=128, 1x8x8 (digits)", small, "single-step (loop over t)"
    )
    snn_ms, ours_ms = lif["snntorch.Leaky loop"], lif["spikelearn multi_step (fused)"]
    print(f"\nspikelearn multi_step vs the snntorch.Leaky loop: {snn_ms[0] / ours_ms[0]:.2f}x "
          f"(wall), {snn_ms[1] / ours_ms[1]:.2f}x (CPU time); target >= 2")  # fmt: skip


if __name__ == "__main__":
    main()
