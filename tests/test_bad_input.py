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
    attention,
    catalog,
    claims,
    conversion,
    cost,
    course,
    distributed,
    encoding,
    event_datasets,
    events,
    export,
    integer,
    layers,
    leak_aware,
    loaders,
    memory,
    memory_saving,
    models,
    monitors,
    neuron,
    neurons,
    norm,
    online,
    plasticity,
    plot,
    quant,
    recompute,
    recurrent,
    relu_nets,
    resume,
    run,
    speed,
    surrogate,
    tasks,
    tet,
    training,
    ttfs,
    ttfs_mapping,
    ttfs_simulation,
    walk,
)

x2 = torch.rand(4, 3)
seq = torch.rand(5, 4, 3)


class leak_aware_seq(nn.Module):  # noqa: N801 - a neuron with only a multi_step, no one-step call
    def multi_step(self, x_seq):
        return x_seq, x_seq


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
    "course.grade submissions": (
        lambda: course.grade("/tmp/spikelearn-bad-input-no-such-folder"),
        ValueError,
        "submissions must be a folder of student folders",
    ),
    "course.student_edition notebook": (
        lambda: course.student_edition(42),
        TypeError,
        "notebook must be a path or a notebook node, got int",
    ),
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
    "make_events fractional t": (
        lambda: events.make_events([0, 1], [0, 0], [0, 2.5], [0, 1]),
        ValueError,
        r"t must hold whole numbers \(microseconds\), got 2.5 at index 1",
    ),
    "make_events x beyond int16": (
        lambda: events.make_events([40000], [0], [0], [0]),
        ValueError,
        r"x must be in \[0, 32767\], got values 40000 to 40000",
    ),
    "event_digits dt=0": (
        lambda: events.event_digits(dt=0),
        ValueError,
        "dt must be an integer >= 1, got 0",
    ),
    "event_digits dt=-1000": (
        lambda: events.event_digits(dt=-1000),
        ValueError,
        "dt must be an integer >= 1, got -1000",
    ),
    "event_digits dt=0.5": (
        lambda: events.event_digits(dt=0.5),
        TypeError,
        "dt must be an integer, got float 0.5",
    ),
    "to_frames end_time before start_time": (
        lambda: events.to_frames(
            events.make_events([0], [0], [5], [0]), (8, 8, 2), 10, start_time=100, end_time=50
        ),
        ValueError,
        r"end_time must be >= the start time t0 = 100 \(start_time\), got 50",
    ),
    "time_surface 2-D times": (
        lambda: events.time_surface(
            events.make_events([0], [0], [5], [0]), (8, 8, 2), 10.0, [[1, 2], [3, 4]]
        ),
        ValueError,
        r"times must be one time or a 1-D sequence of finite times, got int64 values of shape \(2, 2\)",
    ),
    "pad numpy samples": (
        lambda: events.pad([torch.zeros(2, 3).numpy()]),
        TypeError,
        r"samples\[0\] must be a torch.Tensor, got ndarray",
    ),
    "event_datasets.fetch name": (
        lambda: event_datasets.fetch("mnist", "train.zip", root="/tmp/spikelearn-bad-input"),
        ValueError,
        "name must be one of 'nmnist', 'shd', 'cifar10_dvs', got 'mnist'",
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
    "measure_window w outside the bounds": (
        lambda: plasticity.measure_window(plasticity.STDP(), [1, 2], w=5),
        ValueError,
        r"w must be in \[0, 1\], got 5",
    ),
    "STDP.window str": (
        lambda: plasticity.STDP().window("a"),
        TypeError,
        "delta_t must be a number, a sequence of numbers or a tensor, got str 'a'",
    ),
    "run_stdp weight inputs": (
        lambda: plasticity.run_stdp(neurons.LIF(0.9), torch.ones(2, 4), seq, plasticity.STDP()),
        ValueError,
        r"weight must have shape \(n_post, n_pre\) with n_pre = 3 inputs .* got \(2, 4\)",
    ),
    "run_stdp pre_seq 1-D": (
        lambda: plasticity.run_stdp(neurons.LIF(0.9), x2, torch.ones(5), plasticity.STDP()),
        ValueError,
        r"pre_seq must have 2 to 3 dimensions, got shape \(5,\)",
    ),
    "eligibility_trace T": (
        lambda: online.eligibility_trace(neurons.LIF(0.9), seq[:1], torch.rand(5, 4, 2)),
        ValueError,
        r"pre_seq and mem_seq must share \[T, B\], got \(1, 4, 3\) and \(5, 4, 2\)",
    ),
    "eligibility_trace B": (
        lambda: online.eligibility_trace(neurons.LIF(0.9), seq[:, :1], torch.rand(5, 4, 2)),
        ValueError,
        r"pre_seq and mem_seq must share \[T, B\], got \(5, 1, 3\) and \(5, 4, 2\)",
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
    "neuron state without mem last": (
        lambda: type("Bad", (neuron.Neuron,), {"state": ("mem", "syn")}),
        TypeError,
        "Bad.state must end with 'mem'",
    ),
    "neuron charge with an inherited kernel": (
        lambda: type("Bad", (neurons.LIF,), {"charge": lambda self, x, mem: x}),
        TypeError,
        "Bad writes its own charge\\(\\) but would inherit the fused kernel lif",
    ),
    "neuron state by an unknown name": (
        lambda: neurons.LIF(0.9)(x2, syn=x2),
        TypeError,
        r"LIF has the state \(mem\), got syn",
    ),
    "neuron too many states": (
        lambda: neurons.LIF(0.9)(x2, x2, x2),
        TypeError,
        r"LIF takes the state \(mem\), got 2 state tensors",
    ),
    # the neuron core (issue 19): checks every neuron gets from the base
    "RLIF V nan": (
        lambda: recurrent.RLIF(0.9, V=float("nan"), all_to_all=False),
        ValueError,
        r"V must be in \(-inf, inf\), got nan",
    ),
    "RLIF features": (
        lambda: recurrent.RLIF(0.9, linear_features=5)(x2),
        ValueError,
        r"input_ must have 5 features in its last dimension \(linear_features\), got shape \(4, 3\)",
    ),
    "RLIF V per neuron": (
        lambda: recurrent.RLIF(0.9, V=torch.ones(5), all_to_all=False)(x2),
        ValueError,
        r"V has shape \(5,\), which does not broadcast to input_'s shape \(4, 3\)",
    ),
    "RLIF even kernel": (
        lambda: recurrent.RLIF(0.9, conv2d_channels=2, kernel_size=2),
        ValueError,
        "kernel_size must be odd",
    ),
    "RLIF conv channels": (
        lambda: recurrent.RLIF(0.9, conv2d_channels=2, kernel_size=3).multi_step(
            seq[:, :, :, None, None]
        ),
        ValueError,
        r"x_seq\[0\] must be \[B, 2, H, W\] \(conv2d_channels\), got shape \(4, 3, 1, 1\)",
    ),
    "heterogeneous_beta tau_max inf": (
        lambda: adaptive.heterogeneous_beta(5, tau_max=float("inf")),
        ValueError,
        r"tau_max must be in \[2, inf\), got inf",
    ),
    "RSynaptic no steps": (
        lambda: recurrent.RSynaptic(0.5, 0.9, linear_features=3).multi_step(seq[:0]),
        ValueError,
        r"x_seq must have at least one time step",
    ),
    "ALIF no steps": (
        lambda: adaptive.ALIF(0.9, 0.9).multi_step(seq[:0]),
        ValueError,
        r"x_seq must have at least one time step",
    ),
    "ALIF state shape": (
        lambda: adaptive.ALIF(0.9, 0.9)(x2, torch.zeros(4, 2)),
        ValueError,
        r"spk must have the shape of input_ \(4, 3\), got \(4, 2\)",
    ),
    "truncated_bptt not a neuron": (
        lambda: recurrent.truncated_bptt(nn.Linear(3, 3), seq, 2),
        TypeError,
        "neuron must be a spikelearn neuron, got Linear",
    ),
    # recipes (issue 23)
    "catalog.get unknown recipe": (
        lambda: catalog.get("nope"),
        ValueError,
        "unknown recipe 'nope'; the recipes are: tdbn-resnet19-cifar10-t2",
    ),
    "distributed.setup device": (
        lambda: distributed.setup(device="tpu"),
        ValueError,
        "device must be one of auto, cpu, cuda, got 'tpu'",
    ),
    "loaders.load unknown dataset": (
        lambda: loaders.load("imagenet", "/nonexistent", 4),
        ValueError,
        "name must be one of .*got 'imagenet'",
    ),
    "loaders.augment negative padding": (
        lambda: loaders.augment(torch.rand(2, 3, 8, 8), padding=-1),
        ValueError,
        "padding must be an integer >= 0, got -1",
    ),
    "recompute.Recomputed segments": (
        lambda: recompute.Recomputed(nn.Sequential(nn.ReLU(), nn.ReLU()), segments=3),
        ValueError,
        r"segments must be in \[1, 2\]",
    ),
    "resume.load missing": (
        lambda: resume.load("/nonexistent/checkpoint.pt"),
        FileNotFoundError,
        "no checkpoint at /nonexistent/checkpoint.pt",
    ),
    "run.configure T": (
        lambda: run.train(run.parser().parse_args(["nmnist", "--time-steps", "0"])),
        ValueError,
        "time.steps",
    ),
    "walk.chain model": (
        lambda: walk.chain(nn.Linear(2, 2), (nn.Linear,), "export"),
        TypeError,
        "model must be an nn.Sequential",
    ),
    "walk.chain layer": (
        lambda: walk.chain(nn.Sequential(nn.ReLU()), (nn.ReLU,), "export"),
        TypeError,
        "model layers must be TimeFolded or Spiking, got ReLU at index 0",
    ),
    "walk.require subclass": (
        lambda: walk.require(walk.walk(nn.Sequential(nn.Bilinear(2, 2, 2)))[0], (nn.Linear,), "x"),
        TypeError,
        "x supports Linear; got Bilinear at '0'",
    ),
    "step_by_step neuron without a step": (
        lambda: layers.step_by_step(layers.Spiking(leak_aware_seq()), seq),
        TypeError,
        "step_by_step runs spikelearn neurons one step at a time",
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
    "run per_channel": (
        lambda: ttfs_mapping.from_relu(relu, x2).run(x2, weight_bits=2, per_channel="yes"),
        ValueError,
        "per_channel must be one of",
    ),
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
    "fit scheduler": (
        lambda: training.fit(mlp, [(x2, x2)], epochs=1, num_steps=1, scheduler="step"),
        ValueError,
        "scheduler must be one of 'cosine', got 'step'",
    ),
    "train_ann activity_penalty": (
        lambda: relu_nets.train_ann(relu, [(x2, x2)], epochs=1, activity_penalty=float("nan")),
        ValueError,
        r"activity_penalty must be in \[0, inf\), got nan",
    ),
    "relu_outputs model": (
        lambda: relu_nets.relu_outputs("net", x2),
        TypeError,
        "model must be a torch.nn.Module, got str",
    ),
    # speed
    "median_times fns": (
        lambda: speed.median_times({"step": "not a function"}),
        TypeError,
        r"fns\['step'\] must be callable, got str",
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
    "memory.saved_bytes hooks": (
        lambda: memory.saved_bytes(lambda: None, hooks=print),
        TypeError,
        "hooks must be a torch.autograd.graph.saved_tensors_hooks, got builtin_function_or_method",
    ),
    # SEW, TET, spiking self-attention, lighter BPTT
    "adaptive.PLIF beta": (
        lambda: adaptive.PLIF(beta=0.0),
        ValueError,
        r"beta must be in \(0, 1\), got 0",
    ),
    "models.SEWBlock connection": (
        lambda: models.SEWBlock(4, 4, connection="xor"),
        ValueError,
        "connection must be one of 'add', 'and', 'iand', got 'xor'",
    ),
    "models.spiking_resnet block": (
        lambda: models.spiking_resnet(block="sew2"),
        ValueError,
        "block must be one of 'basic', 'sew', got 'sew2'",
    ),
    "models.sew_chain blocks": (
        lambda: models.sew_chain(blocks=(4, 0)),
        ValueError,
        "blocks must be an integer >= 1, got 0",
    ),
    "models.sew_chain return_mem with the mean read-out": (
        lambda: models.sew_chain(return_mem=True),
        ValueError,
        "return_mem=True needs readout='spikes'",
    ),
    "tet.tet_loss lamb": (
        lambda: tet.tet_loss(lamb=-0.1),
        ValueError,
        r"lamb must be in \[0, 1\], got -0.1",
    ),
    "tet.tet_loss output 2-D": (
        lambda: tet.tet_loss()(x2, torch.zeros(4, dtype=torch.long)),
        ValueError,
        r"output must have >= 3 dimensions, got shape \(4, 3\)",
    ),
    "attention heads": (
        lambda: attention.SpikingSelfAttention(6, heads=4),
        ValueError,
        r"dim must be divisible by heads \(4\), got 6",
    ),
    "attention.spiking_transformer depth": (
        lambda: attention.spiking_transformer(depth=0),
        ValueError,
        "depth must be an integer >= 1, got 0",
    ),
    "memory_saving segment": (
        lambda: memory_saving.checkpoint_through_time(mlp, seq, segment=2.5),
        TypeError,
        "segment must be an integer, got float 2.5",
    ),
    "memory_saving model": (
        lambda: memory_saving.checkpoint_through_time(print, seq, 2),
        TypeError,
        "model must be a torch.nn.Module, got builtin_function_or_method",
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
