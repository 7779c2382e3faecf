"""Every model transform against every neuron type: exact, or a TypeError naming the neuron.

The references below are the neurons' equations written out again here, in plain torch, not the
library's code: a transform is "exact" when the model it returns computes what these equations
(with the transform applied, e.g. a quantiser on the state) compute, bit for bit. Toy neurons
defined in this file get every transform's support or clear error for free.
"""

import pytest
import torch
from torch import nn

from spikelearn import (
    adaptive,
    analysis,
    conversion,
    cost,
    export,
    integer,
    leak_aware,
    neuron,
    neurons,
    quant,
    recurrent,
    surrogate,
    ttfs_mapping,
)
from spikelearn.networks.layers import Spiking, TimeFolded, step_by_step

N_IN, N = 4, 5


class LeakyToRest(neuron.Neuron):
    """Toy neuron 1, only a charge equation: the membrane leaks towards ``u_rest``."""

    def __init__(self, beta, u_rest=0.2, **kw):
        super().__init__(**kw)
        self.parameter("beta", beta)
        self.parameter("u_rest", u_rest, check=lambda name, v: v)

    def charge(self, x, mem):
        return self.u_rest + self.beta * (mem - self.u_rest) + x


class AdaptiveCurrent(neuron.Neuron):
    """Toy neuron 2, with extra state: every spike adds to a current ``w`` that holds u down."""

    state = ("spk", "w", "mem")

    def __init__(self, beta, a=0.5, b=0.25, **kw):
        super().__init__(**kw)
        self.parameter("beta", beta)
        self.parameter("a", a)
        self.parameter("b", b)

    def charge(self, x, spk, w, mem):
        w = self.a * w + self.b * spk
        return w, self.beta * mem + x - w


def make(name):
    """A fresh neuron of each type on N neurons (parameters fixed, feedback weights seeded)."""
    torch.manual_seed(0)
    return {
        "LIF": lambda: neurons.LIF(0.875),
        "IF": lambda: neurons.IF(),
        "Synaptic": lambda: neurons.Synaptic(0.5, 0.875),
        "RLIF": lambda: recurrent.RLIF(0.875, linear_features=N),
        "RLIF one-to-one": lambda: recurrent.RLIF(0.875, V=0.5, all_to_all=False),
        "RSynaptic": lambda: recurrent.RSynaptic(0.5, 0.875, linear_features=N),
        "ALIF": lambda: adaptive.ALIF(0.875, 0.75, 0.5),
        "PLIF": lambda: adaptive.PLIF(0.5, threshold=0.375, reset_mechanism="subtract"),
        "LeakAwareLIF": lambda: leak_aware.LeakAwareLIF(0.875),
        "PrechargedIF": lambda: conversion.PrechargedIF(1.0, 0.5),
        "LeakyToRest": lambda: LeakyToRest(0.875),
        "AdaptiveCurrent": lambda: AdaptiveCurrent(0.875),
    }[name]()


NAMES = ["LIF", "IF", "Synaptic", "RLIF", "RLIF one-to-one", "RSynaptic", "ALIF", "PLIF",
         "LeakAwareLIF", "PrechargedIF", "LeakyToRest", "AdaptiveCurrent"]  # fmt: skip


def reference(name, n, x_seq, q=lambda v: v):
    """The neuron's spikes over ``x_seq``, from its equations (subtract reset), every analogue
    state passed through ``q`` after each update (``q`` = identity: no quantiser)."""
    zeros = torch.zeros_like(x_seq[0])
    u, i, a, spk = zeros, zeros, zeros, zeros
    if name == "PrechargedIF":
        u = zeros + 0.5
    out = []
    for x in x_seq:
        if name in ("LIF", "IF", "PrechargedIF"):
            beta = 1.0 if name != "LIF" else 0.875
            r = (u > 1).float()
            u = q(beta * u + x - r)
            spk = (u > 1).float()
        elif name == "Synaptic":
            r = (u > 1).float()
            i = 0.5 * i + x
            u, i = q(0.875 * u + i - r), q(i)  # both quantised after the update, as snnTorch
            spk = (u > 1).float()
        elif name in ("RLIF", "RLIF one-to-one"):
            fb = spk @ n.recurrent.weight.T + n.recurrent.bias if name == "RLIF" else 0.5 * spk
            r = (u > 1).float()
            u = q(0.875 * u + x + fb - r)
            spk = (u > 1).float()
        elif name == "RSynaptic":
            r = (u > 1).float()
            i = 0.5 * i + x + spk @ n.recurrent.weight.T + n.recurrent.bias
            u, i = q(0.875 * u + i - r), q(i)
            spk = (u > 1).float()
        elif name == "ALIF":  # threshold 1 + 0.5·a, reset by the previous spike, subtract b0 = 1
            r = spk
            a = q(0.75 * a + spk)
            u = q(0.875 * u + x - r)
            spk = (u > 1 + 0.5 * a).float()
        elif name == "PLIF":  # u + k·(x - u), k = 1/τ = sigmoid(w) read from the neuron
            k = torch.sigmoid(n.w)
            r = (u > 0.375).float()
            u = q(u + k * (x - u) - 0.375 * r)
            spk = (u > 0.375).float()
        elif name == "LeakAwareLIF":  # hard reset: u forgets, then integrates this step's input
            r = (u > 1).float()
            u = q(0.875 * u * (1 - r) + x)
            spk = (u > 1).float()
        elif name == "LeakyToRest":
            r = (u > 1).float()
            u = q(0.2 + 0.875 * (u - 0.2) + x - r)
            spk = (u > 1).float()
        elif name == "AdaptiveCurrent":
            r = (u > 1).float()
            i = 0.5 * i + 0.25 * spk  # i plays w
            u, i = q(0.875 * u + x - i - r), q(i)
            spk = (u > 1).float()
        out.append(spk)
    return torch.stack(out)


def model_of(n):
    torch.manual_seed(1)
    fc = nn.Linear(N_IN, N)
    with torch.no_grad():
        fc.weight.mul_(2)
    return nn.Sequential(TimeFolded(fc), Spiking(n))


def inputs(steps=12, batch=3):
    g = torch.Generator().manual_seed(2)
    return (torch.rand(steps, batch, N_IN, generator=g) < 0.5).float()


def currents(model, x):
    with torch.no_grad():
        return model[0](x)


def test_the_references_are_right_for_every_neuron_and_fire():
    # the references themselves against the library: the same spikes, and enough of them
    for name in NAMES:
        model, x = model_of(make(name)), inputs()
        with torch.no_grad():
            spk = model(x)
        assert torch.equal(spk, reference(name, model[1].neuron, currents(model, x))), name
        assert 0.05 < spk.mean() < 0.95, name


@pytest.mark.parametrize("name", NAMES)
def test_step_by_step_equals_the_sequence_for_every_neuron(name):
    model, x = model_of(make(name)), inputs()
    with torch.no_grad():
        whole = model(x)
        mem = model[1].mem
        stepped = step_by_step(model, x)
    assert torch.equal(stepped, whole)
    assert torch.equal(model[1].mem, mem)  # the membrane trace too


@pytest.mark.parametrize("name", NAMES)
def test_add_state_quant_is_exact_and_keeps_the_class(name):
    n = make(name)
    model, x = model_of(n), inputs()
    q = quant.add_state_quant(model, num_bits=4, upper_limit=0.5)
    qn = q[1].neuron
    assert type(qn) is type(n) and qn.state_quant is not None and n.state_quant is None
    for key, value in n.state_dict().items():  # every parameter kept
        assert torch.equal(qn.state_dict()[key], value), key
    with torch.no_grad():
        spk = q(x)
        model(x)
    assert torch.equal(spk, reference(name, n, currents(model, x), qn.state_quant))
    levels = set(qn.state_quant.levels.tolist())
    assert set(q[1].mem.flatten().tolist()) <= levels  # the membrane is on the levels
    assert not set(model[1].mem.flatten().tolist()) <= levels  # the original's is not


@pytest.mark.parametrize("name", NAMES)
def test_prepare_integer_is_exact_for_lif_and_if_and_names_every_other_neuron(name):
    model, x = model_of(make(name)), inputs()
    if name in ("LIF", "IF"):
        qmodel = integer.prepare_integer(model)
        assert type(qmodel[1].neuron) is type(model[1].neuron)
        inet = integer.to_integer(qmodel)
        with torch.no_grad():
            assert torch.equal(inet(integer.integer_input(x)), qmodel(x).long())
    else:
        with pytest.raises(TypeError, match=f"supports .*; got {type(model[1].neuron).__name__}"):
            integer.prepare_integer(model)


@pytest.mark.filterwarnings("ignore::spikelearn.hardware.export.NIRPortabilityWarning")
@pytest.mark.parametrize("name", NAMES)
def test_nir_export_is_exact_for_lif_and_if_and_names_every_other_neuron(name):
    pytest.importorskip("nir")
    model, x = model_of(make(name)), inputs()
    if name in ("LIF", "IF"):
        back = export.from_nir(export.to_nir(model, (N_IN,)))
        with torch.no_grad():
            assert torch.equal(back(x), model(x))
    else:
        with pytest.raises(TypeError, match=f"supports .*; got {type(model[1].neuron).__name__}"):
            export.to_nir(model, (N_IN,))


@pytest.mark.parametrize("name", NAMES)
def test_ann_transforms_name_a_spiking_neuron(name):
    model = model_of(make(name))
    kind = type(model[1].neuron).__name__
    with pytest.raises(TypeError, match=kind):
        conversion.convert(nn.Sequential(nn.Linear(N_IN, N), model[1].neuron), torch.rand(8, N_IN))
    with pytest.raises(TypeError, match=kind):
        ann = nn.Sequential(nn.Linear(N_IN, N_IN), nn.ReLU(), model)
        ttfs_mapping.from_relu(ann, torch.rand(8, N_IN))


@pytest.mark.parametrize("name", NAMES)
def test_surrogate_scale_is_set_on_every_neuron_or_named(name):
    model = model_of(make(name))
    if name == "LeakAwareLIF":  # Lee et al.'s sequence-level gradient: no surrogate to scale
        with pytest.raises(TypeError, match="LeakAwareLIF"):
            analysis.set_surrogate_scale(model, 2.0)
    else:
        analysis.set_surrogate_scale(model, 2.0)
        assert model[1].neuron.spike_grad.scale == 2.0
    snn_torch_surrogate = neurons.LIF(0.9, spike_grad=lambda v: (v > 0).float())
    with pytest.raises(TypeError, match="LIF at '1' uses function"):
        analysis.set_surrogate_scale(nn.Sequential(model[0], Spiking(snn_torch_surrogate)), 2.0)


@pytest.mark.parametrize("name", NAMES)
def test_operation_counts_include_every_synapse_and_recurrent_feedback(name):
    n = make(name)
    model, x = model_of(n), inputs()
    rows = cost.synaptic_operations(model, x)
    batch = x.shape[1]
    assert rows[0]["sops"] == (x != 0).sum().item() / batch * N  # events x fan-out
    spk = reference(name, n, currents(model, x))
    if name in ("RLIF", "RSynaptic", "RLIF one-to-one"):
        fan_out = 1 if name == "RLIF one-to-one" else N
        assert len(rows) == 2 and rows[1]["name"] == "1 (feedback)"
        fed_back = (spk[:-1] != 0).sum().item()  # spikes of steps 0..T-2 reach step 1..T-1
        assert rows[1]["sops"] == pytest.approx(fed_back / batch * fan_out) and fed_back > 0
    else:
        assert len(rows) == 1


def test_integer_neuron_is_named_by_the_transforms_it_cannot_take():
    qmodel = integer.prepare_integer(model_of(make("LIF")))
    inet = integer.to_integer(qmodel)
    x = integer.integer_input(inputs())
    assert torch.equal(step_by_step(inet, x), inet(x))  # and it steps exactly
    with pytest.raises(TypeError, match="IntegerLIF at '1' is already integer"):
        quant.add_state_quant(inet)
    with pytest.raises(TypeError, match="set_surrogate_scale .* IntegerLIF"):
        analysis.set_surrogate_scale(inet, 2.0)
    with pytest.raises(TypeError, match="IntegerSynapse"):
        integer.prepare_integer(inet)
    with pytest.raises(TypeError, match="IntegerSynapse"):
        cost.synaptic_operations(inet, x)


def test_unknown_layers_are_named_not_skipped():
    snn_torch_like = nn.GRU(N, N)  # a module the walker has no kind for
    model = nn.Sequential(TimeFolded(nn.Linear(N_IN, N)), snn_torch_like)
    with pytest.raises(TypeError, match="GRU"):
        quant.add_state_quant(model)
    with pytest.raises(TypeError, match="GRU"):
        cost.synaptic_operations(model, inputs())


def test_toy_neurons_get_every_reset_and_both_calls_for_free():
    x = torch.rand(20, 3, N) * 1.5
    for reset in (*neuron.RESETS, "zero"):
        for toy in (
            LeakyToRest(0.875, reset_mechanism=reset),
            AdaptiveCurrent(0.875, reset_mechanism=reset),
        ):
            whole = toy.multi_step(x)
            state, steps = [None] * len(toy.state), []
            for t in range(len(x)):
                out = toy(x[t], *state)
                names = toy.outputs()
                state = [out[names.index(s)] for s in toy.state]
                steps.append(out)
            for a, b in zip(whole, zip(*steps, strict=True), strict=True):
                assert torch.equal(a, torch.stack(b))
            assert toy.reset_mechanism in neuron.RESETS
    assert surrogate.Surrogate in type(LeakyToRest(0.9).spike_grad).__mro__


def test_the_developers_guide_adds_exactly_this_toy_neuron():
    import inspect
    from pathlib import Path

    guide = Path(__file__).resolve().parent.parent / "docs" / "developers.md"
    if not guide.is_file():
        pytest.skip("docs/developers.md is not shipped here (an installed package's tests)")
    source = inspect.getsource(LeakyToRest)
    assert source in guide.read_text()
    assert len(source.splitlines()) < 30
