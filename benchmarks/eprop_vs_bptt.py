"""e-prop's gradient against BPTT's (autograd), for one LIF layer and for a recurrent one.

1. One feed-forward LIF layer, loss of its spikes and membranes summed over steps: e-prop is
   exact (see spikelearn.online); prints the max abs difference to BPTT (float32 and float64).
2. A recurrent LIF layer, u[t] = β·u[t-1] + W_in·x[t] + W_rec·o[t-1] - r[t]·V_th, read out per
   step, y[t] = W_out·o[t], loss Σ_t |y[t] - y*[t]|²: e-prop (presynaptic input [x[t], o[t-1]],
   learning signal ∂E/∂o[t]) drops the gradient through the recurrence; prints the cosine
   similarity of its [W_in, W_rec] gradient to BPTT's, per seed and recurrent weight scale
   (scale 0: no recurrence, exact again).
Run: ``python benchmarks/eprop_vs_bptt.py``.
"""

import torch

from spikelearn import neurons, online, surrogate


def single_layer(dtype, seed=0, steps=50):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(steps, 16, 40, generator=g) < 0.3).to(dtype)
    weight = (torch.randn(30, 40, generator=g) * 0.4).to(dtype).requires_grad_()
    target = torch.randn(steps, 16, 30, generator=g).to(dtype)
    lif = neurons.LIF(beta=0.9, spike_grad=surrogate.fast_sigmoid(slope=5))

    def loss(spk, mem):
        return spk.sum() + ((mem - target) ** 2).sum()

    spk, mem = lif.multi_step(x @ weight.T)
    (bptt,) = torch.autograd.grad(loss(spk, mem), weight)
    spk_leaf, mem_leaf = spk.detach().requires_grad_(), mem.detach().requires_grad_()
    grad_spk, grad_mem = torch.autograd.grad(loss(spk_leaf, mem_leaf), (spk_leaf, mem_leaf))
    eprop = online.eprop_gradient(lif, x, mem.detach(), grad_spk, grad_mem)
    return float((eprop - bptt).abs().max()), float(bptt.abs().max())


def recurrent(seed, rec_scale):
    out = online.recurrent_eprop_vs_bptt(seed, rec_scale)
    eprop, bptt, n_in = out["eprop"], out["bptt"], 20
    cos = torch.nn.functional.cosine_similarity
    return (
        float(cos(eprop.flatten(), bptt.flatten(), dim=0)),
        float(cos(eprop[:, :n_in].flatten(), bptt[:, :n_in].flatten(), dim=0)),
        out["rate"],
    )


def main():
    torch.set_num_threads(1)
    for dtype in (torch.float32, torch.float64):
        diff, size = single_layer(dtype)
        print(
            f"one layer, {dtype}: max |e-prop - BPTT| = {diff:.2e}, relative to max |grad| {diff / size:.1e}"
        )
    print("recurrent layer, 50 LIF, T=100: cosine(e-prop, BPTT) [all weights / W_in only]")
    for rec_scale in (0.0, 0.5, 1.0, 2.0):
        rows = [recurrent(seed, rec_scale) for seed in range(5)]
        cos_all = " ".join(f"{r[0]:.3f}" for r in rows)
        cos_in = " ".join(f"{r[1]:.3f}" for r in rows)
        rate = sum(r[2] for r in rows) / len(rows)
        print(f"  W_rec scale {rec_scale}: [{cos_all}] / [{cos_in}]  (rate {rate:.3f}/step)")


if __name__ == "__main__":
    main()
