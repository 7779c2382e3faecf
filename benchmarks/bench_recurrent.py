"""Speed of the recurrent LIF layer, measured against snnTorch's ``RLeaky`` loop in the same run.

One recurrent layer with all-to-all feedback (``nn.Linear(256, 256)``), forward + backward through
T=25 steps, batch 128, fast-sigmoid surrogate, the input and feedback weights shared:

* ``snntorch.RLeaky`` in a Python loop over time (the way snnTorch's tutorials run it);
* spikelearn's ``RLIF`` called step by step (one autograd graph per step, like snnTorch);
* spikelearn's fused ``RLIF.multi_step`` (one autograd node; the weight gradient is one matmul).

Prints the median wall-clock and CPU time and the ratios. Run:
``python benchmarks/bench_recurrent.py --threads 1 [--repeats 20] [--device cuda]``.
"""

import snntorch as snn
import torch
from bench_lif import compare, parse_args, report
from snntorch import surrogate as snn_surrogate

from spikelearn import surrogate
from spikelearn.cells.recurrent import RLIF


def recurrent_benchmark(device, repeats, steps=25, batch=128, features=256):
    torch.manual_seed(0)
    x = (torch.rand(steps, batch, features, device=device) * 0.5).requires_grad_()
    ours = RLIF(0.9, linear_features=features, spike_grad=surrogate.fast_sigmoid(slope=25))
    ref = snn.RLeaky(0.9, linear_features=features, spike_grad=snn_surrogate.fast_sigmoid(slope=25))
    ref.recurrent.load_state_dict(ours.recurrent.state_dict())
    ours, ref = ours.to(device), ref.to(device)

    def loop(cell):
        def run():
            spk = mem = torch.zeros_like(x[0])
            spikes, mems = [], []
            for xt in x:
                spk, mem = cell(xt, spk, mem)
                spikes.append(spk)
                mems.append(mem)
            (torch.stack(spikes).sum() + 0.1 * torch.stack(mems).sum()).backward()

        return run

    def fused():
        spk, mem = ours.multi_step(x)
        (spk.sum() + 0.1 * mem.sum()).backward()

    fns = {
        "snntorch.RLeaky loop": loop(ref),
        "spikelearn RLIF step loop": loop(ours),
        "spikelearn RLIF.multi_step (fused)": fused,
    }
    return compare(fns, repeats)


def main():
    device, repeats = parse_args(__doc__.splitlines()[0])
    results = recurrent_benchmark(device, repeats)
    title = "recurrent LIF forward+backward, T=25, B=128, 256 neurons all-to-all"
    report(title, results, "snntorch.RLeaky loop")
    snn_ms, ours_ms = results["snntorch.RLeaky loop"], results["spikelearn RLIF.multi_step (fused)"]
    print(f"\nspikelearn RLIF.multi_step vs the snntorch.RLeaky loop: {snn_ms[0] / ours_ms[0]:.2f}x "
          f"(wall), {snn_ms[1] / ours_ms[1]:.2f}x (CPU time)")  # fmt: skip


if __name__ == "__main__":
    main()
