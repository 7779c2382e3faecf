"""Bad input, table-driven: every case raises a named error (the parameter, the value and what was
expected), never a deep stack trace from torch/matplotlib or a silent result (issue 12)."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from spikelearn import (  # noqa: E402
    adaptive,
    analysis,
    claims,
    conversion,
    cost,
    encoding,
    event_datasets,
    events,
    export,
    integer,
    layers,
    leak_aware,
    memory,
    models,
    monitors,
    neurons,
    norm,
    online,
    plasticity,
    plot,
    quant,
    recurrent,
    surrogate,
    tasks,
    training,
    ttfs,
    ttfs_mapping,
    ttfs_simulation,
)

x2 = torch.rand(4, 3)
seq = torch.rand(5, 4, 3)
mlp = nn.Sequential(layers.TimeFolded(nn.Linear(3, 2)), layers.Spiking(neurons.LIF(0.9)))
relu = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

CASES = {
    # recurrent, adaptive, tasks, events, event datasets
    "RLIF beta": (
        lambda: recurrent.RLIF(1.5, linear_features=4),
        ValueError,
        r"beta must be in \[0, 1\], got 1.5",
    ),
    "ALIF beta": (lambda: adaptive.ALIF(1.5, 0.9), ValueError, "beta must be in"),
    "delayed_digits delay": (
        lambda: tasks.delayed_digits(delay=-1),
        ValueError,
        "delay must be an integer >= 0, got -1",
    ),
    "events.to_frames events": (
        lambda: events.to_frames(torch.zeros(3).numpy(), (8, 8, 2), time_window=10),
        TypeError,
        "events must be a structured numpy array",
    ),
    "NMNIST split": (
        lambda: event_datasets.NMNIST(root="/tmp/spikelearn-bad-input", split="bogus"),
        ValueError,
        "split must be one of 'train', 'test', got 'bogus'",
    ),
    "ttfs_mapping.from_relu model": (
        lambda: ttfs_mapping.from_relu(nn.Linear(3, 2), x2),
        TypeError,
        "model must be an nn.Sequential",
    ),
    # claims
    "claims.claim op": (lambda: claims.claim("x", 1.0, "=>", 0), ValueError, "op must be one of"),
    "claims.claim NaN": (lambda: claims.claim("x", float("nan"), ">", 0), ValueError, "NaN"),
    # plasticity, online
    "STDP a_plus": (
        lambda: plasticity.STDP(a_plus=-1),
        ValueError,
        r"a_plus must be in \[0, inf\)",
    ),
    "presynaptic_trace beta": (
        lambda: online.presynaptic_trace(seq, 1.5),
        ValueError,
        r"beta must be in \[0, 1\], got 1.5",
    ),
    "OnlineLIF beta": (lambda: online.OnlineLIF(3, 2, beta=2.0), ValueError, "beta must be in"),
    # neurons
    "LIF beta": (lambda: neurons.LIF(1.3), ValueError, r"beta must be in \[0, 1\], got 1.3"),
    "LIF threshold": (lambda: neurons.LIF(0.9, threshold=0), ValueError, "threshold must be in"),
    "LIF reset": (
        lambda: neurons.LIF(0.9, reset_mechanism="hard"),
        ValueError,
        "reset_mechanism must be one of",
    ),
    "LIF spike_grad": (
        lambda: neurons.LIF(0.9, spike_grad=3),
        TypeError,
        "spike_grad must be callable",
    ),
    "LIF T=0": (
        lambda: neurons.LIF(0.9).multi_step(torch.zeros(0, 4, 3)),
        ValueError,
        "at least one time step",
    ),
    "LIF per-neuron beta": (
        lambda: neurons.LIF(torch.rand(2))(x2),
        ValueError,
        r"beta has shape \(2,\)",
    ),
    "LIF input type": (lambda: neurons.LIF(0.9)([1.0]), TypeError, "input_ must be a torch.Tensor"),
    "Synaptic alpha": (lambda: neurons.Synaptic(1.5, 0.9), ValueError, "alpha must be in"),
    "IF T=0": (
        lambda: neurons.IF().multi_step(torch.zeros(0, 2)),
        ValueError,
        "at least one time step",
    ),
    # surrogate / leak_aware
    "atan alpha": (lambda: surrogate.atan(alpha=-1), ValueError, "alpha must be in"),
    "from_height_width name": (
        lambda: surrogate.from_height_width("gauss"),
        ValueError,
        "name must be one of",
    ),
    "LeakAwareLIF beta": (lambda: leak_aware.LeakAwareLIF(beta=0), ValueError, "beta must be in"),
    "leak_aware_derivative T=0": (
        lambda: leak_aware.leak_aware_derivative(torch.zeros(0, 2), 0.9),
        ValueError,
        "spk_seq must have at least one time step",
    ),
    # encoding
    "rate x": (lambda: encoding.rate(x2 + 1, 5), ValueError, r"x must be in \[0, 1\]"),
    "rate num_steps": (
        lambda: encoding.rate(x2, 0),
        ValueError,
        "num_steps must be an integer >= 1, got 0",
    ),
    "poisson x": (lambda: encoding.poisson(x2 - 2, 5), ValueError, "x must be in"),
    "latency threshold": (
        lambda: encoding.latency(x2, 5, threshold=1.0),
        ValueError,
        "threshold must be in",
    ),
    "latency_times tau": (
        lambda: encoding.latency_times(x2, 5, tau=0),
        ValueError,
        "tau must be in",
    ),
    "delta threshold": (
        lambda: encoding.delta(seq, threshold=0),
        ValueError,
        "threshold must be in",
    ),
    "saccades amplitude": (
        lambda: encoding.saccades(x2, 5, amplitude=0),
        ValueError,
        "amplitude must be an integer >= 1",
    ),
    "direct x": (lambda: encoding.direct("abc", 5), TypeError, "x must be a torch.Tensor"),
    "spike_count": (lambda: encoding.spike_count([1]), TypeError, "spikes must be a torch.Tensor"),
    "time_to_first_spike": (
        lambda: encoding.time_to_first_spike(torch.zeros(3, dtype=torch.long)),
        TypeError,
        "spikes must be a floating-point tensor",
    ),
    # layers
    "TimeFolded module": (
        lambda: layers.TimeFolded(3),
        TypeError,
        "module must be a torch.nn.Module",
    ),
    "TimeFolded features": (
        lambda: layers.TimeFolded(nn.Linear(3, 2))(torch.rand(5, 2, 4)),
        ValueError,
        "expected 3 input features in the last dimension, got 4",
    ),
    "TimeFolded conv channels": (
        lambda: layers.TimeFolded(nn.Conv2d(2, 3, 3))(torch.rand(5, 2, 1, 8, 8)),
        ValueError,
        "expected 2 channels",
    ),
    "TimeFolded dtype": (
        lambda: layers.TimeFolded(nn.Linear(3, 2))(seq.double()),
        TypeError,
        "x_seq has dtype torch.float64 but Linear's parameters are torch.float32",
    ),
    "TimeFolded T=0": (
        lambda: layers.TimeFolded(nn.Linear(3, 2))(torch.zeros(0, 2, 3)),
        ValueError,
        "at least one time step",
    ),
    "Spiking neuron": (
        lambda: layers.Spiking(nn.Linear(2, 2)),
        TypeError,
        "neuron must have a multi_step",
    ),
    "unwrapped model": (
        lambda: layers.unwrapped(nn.Linear(2, 2)),
        TypeError,
        "model must be an nn.Sequential",
    ),
    "unwrapped layer": (
        lambda: layers.unwrapped(nn.Sequential(nn.ReLU())),
        TypeError,
        "model layers must be TimeFolded or Spiking, got ReLU at index 0",
    ),
    "step_by_step model": (
        lambda: layers.step_by_step(nn.Linear(3, 2), seq),
        TypeError,
        "model must be an nn.Sequential",
    ),
    # models
    "spiking_mlp images": (
        lambda: models.spiking_mlp(64)(torch.rand(2, 3, 8, 9)),
        ValueError,
        "expected 64 input features in the last dimension, got 72",
    ),
    "spiking_mlp float64": (
        lambda: models.spiking_mlp(4)(torch.rand(2, 3, 4, dtype=torch.float64)),
        TypeError,
        "x_seq has dtype torch.float64",
    ),
    "spiking_mlp depth": (
        lambda: models.spiking_mlp(4, depth=0),
        ValueError,
        "depth must be an integer >= 1, got 0",
    ),
    "spiking_mlp norm": (
        lambda: models.spiking_mlp(4, norm="ln"),
        ValueError,
        "norm must be one of",
    ),
    "spiking_mlp beta": (lambda: models.spiking_mlp(4, beta=1.5), ValueError, "beta must be in"),
    "spiking_mlp option": (
        lambda: models.spiking_mlp(4, betta=0.5),
        TypeError,
        "unexpected keyword 'betta'",
    ),
    "spiking_vgg neuron": (
        lambda: models.spiking_vgg(neuron="izhikevich"),
        ValueError,
        "neuron must be one of",
    ),
    "spiking_resnet depth": (
        lambda: models.spiking_resnet(depth=21),
        ValueError,
        "depth must be 6n \\+ 2",
    ),
    "SpikingBasicBlock cin": (
        lambda: models.SpikingBasicBlock(0, 4),
        ValueError,
        "cin must be an integer >= 1",
    ),
    # norm
    "TdBatchNorm one value": (
        lambda: norm.TdBatchNorm(3)(torch.rand(1, 1, 3)),
        ValueError,
        "more than one value per channel",
    ),
    "BatchNormThroughTime channels": (
        lambda: norm.BatchNormThroughTime(3)(torch.rand(2, 2, 4)),
        ValueError,
        "x_seq must have 3 channels",
    ),
    "TdBatchNorm alpha": (lambda: norm.TdBatchNorm(3, alpha=0), ValueError, "alpha must be in"),
    "fold_into layer": (
        lambda: norm.fold_into(nn.ReLU(), nn.BatchNorm1d(2)),
        TypeError,
        "layer must be a Conv",
    ),
    # monitors / analysis / cost
    "spiking_layers": (
        lambda: monitors.spiking_layers(nn.Linear(2, 2)),
        ValueError,
        "model has no spiking layer to monitor",
    ),
    "ActivityMonitor calls": (
        lambda: monitors.ActivityMonitor(mlp, calls="steps"),
        ValueError,
        "calls must be one of 'step', 'sequence', got 'steps'",
    ),
    "GradientMonitor layers": (
        lambda: monitors.GradientMonitor(mlp, layers=[3]),
        TypeError,
        r"layers\[0\] must be a torch.nn.Module or a submodule name, got int",
    ),
    "diagnose run": (
        lambda: analysis.diagnose(mlp, seq, torch.zeros(4, dtype=torch.long), run="loop"),
        TypeError,
        "run must be callable as run\\(model, x\\), got str",
    ),
    "set_surrogate_scale": (
        lambda: analysis.set_surrogate_scale(mlp, 0),
        ValueError,
        "scale must be in",
    ),
    "activity T=0": (
        lambda: analysis.activity(mlp, torch.zeros(0, 2, 3)),
        ValueError,
        "x_seq must have at least one time step",
    ),
    "energy_estimate e_mac": (
        lambda: cost.energy_estimate(mlp, seq, e_mac=0),
        ValueError,
        "e_mac must be in",
    ),
    "synaptic_operations x": (
        lambda: cost.synaptic_operations(mlp, x2),
        ValueError,
        "x must have >= 3 dimensions",
    ),
    # quant / integer
    "quantize bits with scale": (
        lambda: quant.quantize(x2, bits=0, scale=0.1),
        ValueError,
        "bits must be an integer >= 1, got 0",
    ),
    "quantize float bits": (
        lambda: quant.quantize(x2, bits=2.5, scale=0.1),
        TypeError,
        "bits must be an integer, got float 2.5",
    ),
    "weight_levels": (lambda: quant.weight_levels(0), ValueError, "bits must be an integer >= 1"),
    "add_weight_quant model": (
        lambda: quant.add_weight_quant(nn.ReLU(), 4),
        ValueError,
        "no Linear/Conv layer",
    ),
    "add_weight_noise std": (lambda: quant.add_weight_noise(mlp, -1), ValueError, "std must be in"),
    "state_quant threshold": (
        lambda: quant.state_quant(4, threshold=0),
        ValueError,
        "threshold must be in",
    ),
    "fixed_point step": (lambda: quant.fixed_point(0), ValueError, "step must be in"),
    "dyadic value": (lambda: quant.dyadic(1.5), ValueError, "value must be in"),
    "prepare_integer input_step": (
        lambda: integer.prepare_integer(mlp, input_step=0.1),
        ValueError,
        "input_step must be a power of two",
    ),
    "to_integer unprepared": (
        lambda: integer.to_integer(mlp),
        ValueError,
        "qmodel must come from prepare_integer",
    ),
    "integer_input x": (
        lambda: integer.integer_input([1.0]),
        TypeError,
        "x must be a torch.Tensor",
    ),
    # conversion
    "convert percentile": (
        lambda: conversion.convert(relu, x2, percentile=0),
        ValueError,
        "percentile must be in",
    ),
    "convert reset": (
        lambda: conversion.convert(relu, x2, reset_mechanism="none"),
        ValueError,
        "reset_mechanism must be one of",
    ),
    "batchnorm_folded ann": (
        lambda: conversion.batchnorm_folded(nn.Linear(2, 2)),
        TypeError,
        "ann must be an nn.Sequential",
    ),
    "relu_resnet width": (
        lambda: conversion.relu_resnet(width=0),
        ValueError,
        "width must be an integer >= 1",
    ),
    # ttfs
    "from_relu zero samples": (
        lambda: ttfs_mapping.from_relu(relu, torch.rand(0, 3)),
        ValueError,
        "x_train must hold at least one sample",
    ),
    "from_relu float64": (
        lambda: ttfs_mapping.from_relu(relu, x2.double()),
        TypeError,
        "x_train has dtype torch.float64",
    ),
    "from_relu margin": (
        lambda: ttfs_mapping.from_relu(relu, x2, margin=0.5),
        ValueError,
        "margin must be in",
    ),
    "encode window": (
        lambda: ttfs.encode(x2, 0.0, 0.5),
        ValueError,
        "window width t_max - t_min must be >= 1",
    ),
    "quantize_times bits": (
        lambda: ttfs.quantize_times(x2, 0.0, 1.0, 0),
        ValueError,
        "bits must be an integer >= 1",
    ),
    "jitter sigma": (lambda: ttfs.jitter(x2, -1, 1.0), ValueError, "sigma must be in"),
    "simulate dt": (
        lambda: ttfs_simulation.simulate(ttfs_mapping.from_relu(relu, x2), x2, dt=0),
        ValueError,
        "dt must be in",
    ),
    # export
    "to_nir input_shape": (
        lambda: export.to_nir(mlp, (5,)),
        ValueError,
        "input_shape does not fit Linear",
    ),
    "to_nir dt": (lambda: export.to_nir(mlp, (3,), dt=0), ValueError, "dt must be in"),
    "from_nir dt": (lambda: export.from_nir(None, dt=-1), ValueError, "dt must be in"),
    # training
    "fit num_steps": (
        lambda: training.fit(mlp, [], epochs=1, num_steps=0),
        ValueError,
        "num_steps must be an integer >= 1, got 0",
    ),
    # plot
    "plot.membrane 0-D": (
        lambda: plot.membrane(torch.tensor(1.0)),
        ValueError,
        r"mem must be \[T, ...\] with at least 1 dimension, got shape \(\)",
    ),
    "plot.raster dict sample": (
        lambda: plot.raster({"lif1": torch.zeros(5, 2, 3)}, sample=2),
        ValueError,
        r"records\['lif1'\] must be \[T, B, ...\] with sample 2 in its batch",
    ),
    "plot.traces lengths": (
        lambda: plot.traces(torch.rand(10), torch.rand(11), torch.rand(10)),
        ValueError,
        "cur, mem, spk must have the same length.*cur 10, mem 11, spk 10",
    ),
    "plot.raster str": (
        lambda: plot.raster("abc"),
        TypeError,
        "spikes must be a tensor or array of numbers, got str",
    ),
    "plot.surrogates labels": (
        lambda: plot.surrogates([surrogate.atan()], labels=["a", "b"]),
        ValueError,
        r"labels must have one entry per surrogate \(1\), got 2",
    ),
    "plot.surrogates str": (
        lambda: plot.surrogates(["x"]),
        TypeError,
        r"spike_fns\[0\] must be a spikelearn.surrogate object",
    ),
    "plot.fi_curve lengths": (
        lambda: plot.fi_curve(torch.rand(5), torch.rand(4)),
        ValueError,
        "currents and rates must have the same length, got 5 and 4",
    ),
    "plot.gradient_heatmap 1-D": (
        lambda: plot.gradient_heatmap(torch.rand(5)),
        ValueError,
        r"norms must be 2-D, got shape \(5,\)",
    ),
    "memory.saved_bytes not callable": (
        lambda: memory.saved_bytes(3),
        TypeError,
        "fn must be callable, got int",
    ),
    "online.recurrent_eprop_vs_bptt negative scale": (
        lambda: online.recurrent_eprop_vs_bptt(rec_scale=-1),
        ValueError,
        r"rec_scale must be in \[0, inf\), got -1",
    ),
    "plot.depth_curve 2-D": (
        lambda: plot.depth_curve(torch.rand(3, 4)),
        ValueError,
        r"values must be 1-D, got shape \(3, 4\)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_a_named_error(case):
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()


def test_every_module_has_bad_input_cases():
    # a new module must join the table (datasets and widgets have their own bad-input tests)
    import spikelearn

    used = {name for call, _, _ in CASES.values() for name in call.__code__.co_names}
    missing = set(spikelearn.MODULES) - {"datasets", "widgets"} - used
    assert not missing, f"no bad-input case calls {sorted(missing)}"
