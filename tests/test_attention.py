import pytest
import torch
from torch import nn

from spikelearn import attention, walk


def _lif_by_hand(current, threshold, beta=0.9):
    mem, out = torch.zeros_like(current[0]), []
    for x in current:
        reset = (mem > threshold).float()
        mem = beta * mem + x - reset * threshold
        out.append((mem > threshold).float())
    return torch.stack(out)


def _attention_by_hand(q, k, v, heads, scale):
    """Zhou et al.'s SSA' before its neuron, with loops over heads: Σ_j (Σ_d q_id·k_jd)·v_je·s."""
    steps, batch, tokens, dim = q.shape
    width = dim // heads
    out = torch.zeros_like(q)
    for h in range(heads):
        cols = slice(h * width, (h + 1) * width)
        qh, kh, vh = q[..., cols], k[..., cols], v[..., cols]
        scores = torch.einsum("tbid,tbjd->tbij", qh, kh)  # counts of shared spikes, >= 0
        out[..., cols] = torch.einsum("tbij,tbje->tbie", scores, vh) * scale
    return out


@pytest.mark.parametrize("heads", [1, 4])
def test_spiking_self_attention_against_an_implementation_written_here(heads):
    torch.manual_seed(0)
    ssa = attention.SpikingSelfAttention(16, heads=heads, scale=0.125, attention_threshold=0.5)
    x = (torch.rand(3, 2, 9, 16) < 0.5).float()
    with torch.no_grad():
        for stage in (ssa.q, ssa.k, ssa.v):
            stage[1].bias.fill_(1.0)  # about half the q, k, v neurons fire: attention has input
        q, k, v, a = ssa.attend(x)
        for spikes in (q, k, v, a):
            assert set(spikes.unique().tolist()) <= {0.0, 1.0}
        assert 0 < float(q.mean()) < 1 and 0 < float(a.mean()) < 1
        # q itself: SN(BN(x·W_Q)) with statistics over time, batch and tokens
        lin, bn = walk.inner(ssa.q[0]), ssa.q[1]
        cur = x @ lin.weight.T + lin.bias
        mean, var = cur.mean((0, 1, 2)), cur.var((0, 1, 2), unbiased=False)
        cur = (cur - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias
        torch.testing.assert_close(q, _lif_by_hand(cur, 1.0))
        mixed = _attention_by_hand(q, k, v, heads, 0.125)
        # no softmax: the current is an integer count times s (exact), never negative
        assert bool((mixed >= 0).all()) and torch.equal(mixed / 0.125, (mixed / 0.125).round())
        torch.testing.assert_close(a, _lif_by_hand(mixed, 0.5))
        torch.testing.assert_close(ssa(x), ssa.project(a))


def test_spikformer_block_adds_its_input_back_and_the_transformer_runs():
    torch.manual_seed(0)
    block = attention.SpikformerBlock(8, heads=2, mlp_ratio=2)
    x = (torch.rand(2, 3, 4, 8) < 0.5).float()
    with torch.no_grad():
        first = x + block.attention(x)
        torch.testing.assert_close(block(x), first + block.mlp(first))
    net = attention.spiking_transformer(image_size=8, patch_size=2, dim=16, depth=2, heads=4,
                                        return_mem=True)  # fmt: skip
    assert net[0].tokens == 16
    spk, mem = net(torch.rand(3, 5, 1, 8, 8))
    assert spk.shape == mem.shape == (3, 5, 10)
    mem.mean().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert sum(isinstance(m, attention.SpikformerBlock) for m in net.modules()) == 2
    assert not any(isinstance(m, nn.Softmax) for m in net.modules())


def test_bad_input():
    with pytest.raises(ValueError, match=r"dim must be divisible by heads \(3\), got 8"):
        attention.SpikingSelfAttention(8, heads=3)
    with pytest.raises(ValueError, match="x_seq must have 8 features"):
        attention.SpikingSelfAttention(8, heads=2)(torch.rand(2, 3, 4, 6))
    with pytest.raises(ValueError, match=r"image_size must be divisible by patch_size \(3\)"):
        attention.spiking_transformer(image_size=8, patch_size=3)
