"""The support table of spikelearn's monitors: (library, call style, monitor) -> exact / error / WRONG.

Every network below records, with forward hooks written here (not the monitor's), each spiking
layer's spikes, membrane and input current on every call. Two forward passes of different batch
sizes run inside one ``with`` block; then, per layer:

* activity: ``mon.spikes`` equals the hooks' spikes (passes joined along the batch), the output
  layer's also the spikes the network returned; ``spikes_per_neuron`` and ``rates`` equal the
  counts by hand, to 1e-6;
* membrane: ``mon.membranes`` equals the hooks' membranes (the last tensor of ``(spk, *state)``,
  else the state the module keeps), to 1e-6;
* gradient: ``mon.norms`` equals the RMS over batch and neurons of ``torch.autograd.grad`` of the
  loss on the currents the hooks stored, to 1e-6 relative, after ``loss.backward()`` inside the
  block (the issue's snippet);
* plots: ``plot.raster(mon.spikes)``, ``plot.membrane(mon.membranes)``,
  ``plot.traces(current, membrane, spikes)`` of one layer and one sample, and
  ``plot.gradient_heatmap(mon.norms, mon.names)`` draw exactly those numbers (read back from the
  artists) with the time axis labelled in steps and each panel titled with the layer's name.

A cell is "exact" when every check holds, "error: ..." when the monitor raises a ValueError or
TypeError from spikelearn's code that says what it expected, "CRASH" for an exception from deep
inside torch, "WRONG" when a number differs. Run: ``python docs/monitor_support.py`` (Norse is
used when importable).
"""

import sys
import traceback
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import snntorch as snn  # noqa: E402
import torch  # noqa: E402
from snntorch import utils as snn_utils  # noqa: E402
from torch import nn  # noqa: E402

from spikelearn import analysis, layers, models, monitors, plot  # noqa: E402

warnings.filterwarnings("ignore")
T, N_IN, N_HID, N_OUT, BATCHES = 6, 12, 16, 4, (5, 3)
TOL = 1e-6


class Mismatch(AssertionError):
    pass


def close(what, got, want, rel=False):
    got, want = (
        torch.as_tensor(got, dtype=torch.float64),
        torch.as_tensor(want, dtype=torch.float64),
    )
    if got.shape != want.shape:
        raise Mismatch(f"{what}: shape {tuple(got.shape)} != {tuple(want.shape)}")
    err = (got - want).abs().max().item() if got.numel() else 0.0
    scale = want.abs().max().item() if rel and want.numel() else 1.0
    if not err <= TOL * max(scale, 1e-30 if rel else 1.0):
        raise Mismatch(f"{what}: differs by {err:.3g} (scale {scale:.3g})")


# --- the hooks written here ----------------------------------------------------------------------


class Hand:
    """Forward hooks on the named modules: each call's spikes, membrane and input current."""

    def __init__(self, net, names, style, membrane):
        self.style, self.names, self.passes = style, names, []
        self.handles = [
            net.get_submodule(n).register_forward_hook(
                lambda m, a, o, n=n: self._record(n, m, a, o, membrane)
            )
            for n in names
        ]

    def _record(self, name, module, args, out, membrane):
        spk = out[0] if isinstance(out, tuple) else out
        self.passes[-1][name].append((spk.detach(), membrane(module, out), args[0]))

    def new_pass(self):
        self.passes.append({n: [] for n in self.names})

    def remove(self):
        for h in self.handles:
            h.remove()

    def field(self, name, i, stack=True):
        """``[T, B, ...]`` of field ``i`` (0 spikes, 1 membrane, 2 current), passes joined on B."""
        parts = []
        for p in self.passes:
            calls = [c[i] for c in p[name]]
            if self.style == "step":
                parts.append(torch.stack(calls) if stack else calls)
            elif self.style == "step1":  # layers.Spiking under step_by_step: [1, B, ...] a call
                parts.append(torch.cat(calls) if stack else calls)
            else:
                (seq,) = calls
                parts.append(seq)
        return torch.cat(parts, 1) if stack else parts


def rms(g):
    return g.reshape(g.shape[0], -1).pow(2).mean(1).sqrt()


# --- the networks --------------------------------------------------------------------------------

SNN_STEP = {
    "Leaky": lambda n: snn.Leaky(beta=0.9),
    "Synaptic": lambda n: snn.Synaptic(alpha=0.8, beta=0.9),
    "RLeaky": lambda n: snn.RLeaky(beta=0.9, linear_features=n),
    "RSynaptic": lambda n: snn.RSynaptic(alpha=0.8, beta=0.9, linear_features=n),
    "Alpha": lambda n: snn.Alpha(alpha=0.9, beta=0.8),
    "Lapicque": lambda n: snn.Lapicque(beta=0.9),
}


class SnnTorchLoop(nn.Module):
    """snnTorch's tutorial 5 network: fc -> neuron -> fc -> neuron, a Python loop over steps,
    the state carried by hand (``reset_mem`` each pass), returns ``(spk_rec, mem_rec)``."""

    def __init__(self, make):
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(N_IN, N_HID), make(N_HID)
        self.fc2, self.lif2 = nn.Linear(N_HID, N_OUT), make(N_OUT)

    def forward(self, x):
        s1, s2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        s1, s2 = (s if isinstance(s, tuple) else (s,) for s in (s1, s2))
        spk_rec, mem_rec = [], []
        for _ in range(T):
            o1 = self.lif1(self.fc1(x), *s1)
            s1 = o1 if len(o1) == len(s1) else o1[1:]
            o2 = self.lif2(self.fc2(o1[0]), *s2)
            s2 = o2 if len(o2) == len(s2) else o2[1:]
            spk_rec.append(o2[0])
            mem_rec.append(o2[-1])
        return torch.stack(spk_rec), torch.stack(mem_rec)


def last_tensor(module, out):
    return out[-1].detach().clone()


def kept(attr):
    return lambda module, out: getattr(module, attr).detach().clone()


def case_snntorch_step(kind):
    net = SnnTorchLoop(SNN_STEP[kind])
    return dict(
        net=net,
        layers=[net.lif1, net.lif2],
        names=["lif1", "lif2"],
        style="step",
        membrane=last_tensor,
        run=lambda net, x: net(x),
        out=lambda o: o[0],
    )


def case_snntorch_init_hidden(kind):
    make = {
        "Leaky": lambda n, **kw: snn.Leaky(beta=0.9, **kw),
        "Synaptic": lambda n, **kw: snn.Synaptic(alpha=0.8, beta=0.9, **kw),
        "RLeaky": lambda n, **kw: snn.RLeaky(beta=0.9, linear_features=n, **kw),
        "RSynaptic": lambda n, **kw: snn.RSynaptic(alpha=0.8, beta=0.9, linear_features=n, **kw),
        "Alpha": lambda n, **kw: snn.Alpha(alpha=0.9, beta=0.8, **kw),
        "Lapicque": lambda n, **kw: snn.Lapicque(beta=0.9, **kw),
    }[kind]
    net = nn.Sequential(
        nn.Linear(N_IN, N_HID),
        make(N_HID, init_hidden=True),
        nn.Linear(N_HID, N_OUT),
        make(N_OUT, init_hidden=True, output=True),
    )

    def run(net, x):  # snnTorch's tutorial 6/7 style
        snn_utils.reset(net)
        return torch.stack([net(x)[0] for _ in range(T)])

    return dict(
        net=net,
        layers=None,
        names=["1", "3"],
        style="step",
        membrane=kept("mem"),
        run=run,
        out=lambda o: o,
    )


def case_spikelearn(step_by_step, neuron="lif"):
    net = models.spiking_mlp(N_IN, num_classes=N_OUT, hidden=N_HID, depth=2, neuron=neuron)
    names = [n for n, m in net.named_modules() if isinstance(m, layers.Spiking)]

    def run(net, x):
        x_seq = x.expand(T, *x.shape).contiguous()
        return layers.step_by_step(net, x_seq) if step_by_step else net(x_seq)

    return dict(
        net=net,
        layers=None,
        names=names,
        style="step1" if step_by_step else "seq",
        membrane=kept("mem"),
        run=run,
        out=lambda o: o,
    )


def case_spikingjelly(mode, store_v_seq=True, node="LIFNode"):
    from spikingjelly.activation_based import functional, layer, neuron

    kw = {"step_mode": mode, "store_v_seq": store_v_seq}
    make = {
        "LIFNode": lambda: neuron.LIFNode(tau=2.0, **kw),
        "IFNode": lambda: neuron.IFNode(**kw),
        "ParametricLIFNode": lambda: neuron.ParametricLIFNode(**kw),
    }[node]
    net = nn.Sequential(
        layer.Linear(N_IN, N_HID, step_mode=mode),
        make(),
        layer.Linear(N_HID, N_OUT, step_mode=mode),
        make(),
    )

    def run(net, x):
        functional.reset_net(net)
        if mode == "m":
            return net(x.expand(T, *x.shape).contiguous())
        return torch.stack([net(x) for _ in range(T)])

    mem = kept("v") if mode == "s" else kept("v_seq") if store_v_seq else None
    return dict(
        net=net,
        layers=None,
        names=["1", "3"],
        style="step" if mode == "s" else "seq",
        membrane=mem,
        run=run,
        out=lambda o: o,
    )


def case_norse(cell, calls, record_states=False):
    import norse.torch as norse

    class NorseNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(N_IN, N_HID), nn.Linear(N_HID, N_OUT)
            make = norse.LIFCell if cell else norse.LIF
            p = norse.LIFParameters(v_th=torch.as_tensor(0.3))
            kw = {} if cell else {"record_states": record_states}
            self.lif1, self.lif2 = make(p, **kw), make(p, **kw)

        def forward(self, x):
            if cell:  # Norse's cell, called in a loop with the state passed by hand
                s1 = s2 = None
                out = []
                for _ in range(T):
                    z1, s1 = self.lif1(self.fc1(x), s1)
                    z2, s2 = self.lif2(self.fc2(z1), s2)
                    out.append(z2)
                return torch.stack(out)
            x_seq = x.expand(T, *x.shape)
            z1, _ = self.lif1(self.fc1(x_seq))
            z2, _ = self.lif2(self.fc2(z1))
            return z2

    net = NorseNet()
    mem = (lambda m, o: o[1].v.detach().clone()) if cell or record_states else None
    return dict(
        net=net,
        layers=[net.lif1, net.lif2],
        names=["lif1", "lif2"],
        style="step" if cell else "seq",
        membrane=mem,
        run=lambda net, x: net(x),
        out=lambda o: o,
        calls=calls,
    )


CASES = {}
for k in SNN_STEP:
    CASES[("snnTorch", f"{k}, step loop, explicit state")] = lambda k=k: case_snntorch_step(k)
for k in SNN_STEP:
    CASES[("snnTorch", f"{k}, init_hidden=True, nn.Sequential per step")] = lambda k=k: (
        case_snntorch_init_hidden(k)
    )
CASES[("spikelearn", "spiking_mlp, multi-step [T, B, ...]")] = lambda: case_spikelearn(False)
CASES[("spikelearn", "spiking_mlp under layers.step_by_step")] = lambda: case_spikelearn(True)
for kind in ("plif", "leak_aware"):
    CASES[("spikelearn", f"spiking_mlp(neuron={kind!r}), multi-step")] = lambda kind=kind: (
        case_spikelearn(False, kind)
    )
    CASES[("spikelearn", f"spiking_mlp(neuron={kind!r}), step_by_step")] = lambda kind=kind: (
        case_spikelearn(True, kind)
    )
CASES[("SpikingJelly", "LIFNode, step_mode 's', loop")] = lambda: case_spikingjelly("s")
CASES[("SpikingJelly", "LIFNode, step_mode 'm', store_v_seq=True")] = lambda: case_spikingjelly("m")
for node in ("IFNode", "ParametricLIFNode"):
    for mode in ("s", "m"):
        CASES[("SpikingJelly", f"{node}, step_mode {mode!r}")] = lambda node=node, mode=mode: (
            case_spikingjelly(mode, node=node)
        )
CASES[("SpikingJelly", "LIFNode, step_mode 'm', store_v_seq=False")] = lambda: case_spikingjelly(
    "m", store_v_seq=False
)
CASES[("Norse", "LIFCell, step loop, state passed")] = lambda: case_norse(True, None)
CASES[("Norse", "LIF, [T, B, ...]")] = lambda: case_norse(False, None)
CASES[("Norse", "LIF(record_states=True), [T, B, ...]")] = lambda: case_norse(False, None, True)


# --- the checks ----------------------------------------------------------------------------------


def inputs(seed):
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.rand(b, N_IN, generator=g) * 3, torch.randint(0, N_OUT, (b,), generator=g))
        for b in BATCHES
    ]


def classify(err):
    """'error: ...' for a named ValueError/TypeError raised in spikelearn, else CRASH/WRONG."""
    if isinstance(err, Mismatch):
        return f"WRONG: {err}"
    frames = traceback.extract_tb(err.__traceback__)
    ours = frames and "spikelearn" in frames[-1].filename and "docs" not in frames[-1].filename
    if isinstance(err, ValueError | TypeError | RuntimeError) and ours:
        return f"error: {type(err).__name__}: {str(err)[:110]}"
    where = frames[-1].filename.split("site-packages/")[-1] if frames else "?"
    return f"CRASH ({where}): {type(err).__name__}: {str(err)[:110]}"


def check_activity(spec, act, hand, outputs):
    for name in spec["names"]:
        spk = hand.field(name, 0)
        close(f"{name} spikes", act.spikes[name], spk)
        per_neuron = float(spk.sum()) / (spk.shape[1] * spk[0, 0].numel())
        close(f"{name} spikes_per_neuron", act.spikes_per_neuron[name], per_neuron)
        close(f"{name} rates", act.rates[name], float(spk.float().mean()))
    last = spec["names"][-1]
    close("output spikes vs the network's", act.spikes[last], torch.cat(outputs, 1))


def check_membrane(spec, act, hand):
    if spec["membrane"] is None:  # nothing to compare with: the library gives no membrane trace
        act.membranes  # noqa: B018 - must raise a named error
        raise Mismatch("a membrane came back where the library exposes none")
    for name in spec["names"]:
        close(f"{name} membranes", act.membranes[name], hand.field(name, 1))


def check_gradient(spec, grad, hand, loss):
    currents = [
        c
        for n in spec["names"]
        for p in hand.field(n, 2, stack=False)
        for c in (p if isinstance(p, list) else [p])
    ]
    grads = list(torch.autograd.grad(loss, currents, retain_graph=True, allow_unused=True))
    grads = [
        g if g is not None else torch.zeros_like(c) for g, c in zip(grads, currents, strict=True)
    ]
    loss.backward()  # the snippet: backward inside the block
    expected = []
    for name in spec["names"]:
        per_pass = []
        for p in hand.field(name, 2, stack=False):
            n = len(p) if isinstance(p, list) else 1
            got, grads = grads[:n], grads[n:]
            if not isinstance(p, list):
                per_pass.append(got[0])
            else:
                per_pass.append(torch.stack(got) if hand.style == "step" else torch.cat(got))
        expected.append(rms(torch.cat(per_pass, 1)))
    expected = torch.stack(expected)
    if not bool((expected > 0).any()):
        raise Mismatch("all reference gradients are zero: no real comparison")
    close("gradient norms", grad.norms, expected, rel=True)
    return expected


def panels(fig):
    return [a for a in fig.axes if a.get_label() != "<colorbar>"]


def check_plots(spec, act, grad_norms, names, hand, currents):
    # raster: one panel per layer, sample 0, marks at (t, neuron) of each spike
    fig = plot.raster(act.spikes)
    for ax, name in zip(panels(fig), names, strict=True):
        spk = hand.field(name, 0)[:, 0].reshape(T, -1)
        want = torch.nonzero(spk > 0).double()
        got = torch.as_tensor(ax.collections[0].get_offsets().data, dtype=torch.float64)
        close(f"raster {name}", got.reshape(-1, 2), want)
        if name not in ax.get_title() or "time step" not in ax.get_xlabel():
            raise Mismatch(f"raster {name}: title {ax.get_title()!r}, x label {ax.get_xlabel()!r}")
    plt.close(fig)
    if spec["membrane"] is not None:
        fig = plot.membrane(act.membranes)
        for ax, name in zip(panels(fig), names, strict=True):
            mem = hand.field(name, 1)[:, 0].reshape(T, -1)
            got = torch.stack([torch.as_tensor(line.get_ydata()) for line in ax.lines], 1)
            close(f"membrane {name}", got, mem)
            if name not in ax.get_title():
                raise Mismatch(f"membrane {name}: title {ax.get_title()!r}")
        plt.close(fig)
        name = names[0]
        cur, mem, spk = currents[name][:, 0], act.membranes[name][:, 0], act.spikes[name][:, 0]
        fig = plot.traces(cur, mem, spk)
        got = torch.stack([torch.as_tensor(line.get_ydata()) for line in fig.axes[0].lines], 1)
        close("traces current", got, hand.field(name, 2)[:, 0].detach().reshape(T, -1))
        got = torch.stack([torch.as_tensor(line.get_ydata()) for line in fig.axes[1].lines], 1)
        close("traces membrane", got, hand.field(name, 1)[:, 0].reshape(T, -1))
        plt.close(fig)
    ax = plot.gradient_heatmap(grad_norms, names=names)
    close(
        "heatmap", torch.as_tensor(ax.images[0].get_array().data), torch.log10(grad_norms + 1e-30)
    )
    if [t.get_text() for t in ax.get_yticklabels()] != names:
        raise Mismatch("heatmap: rows not labelled with the layer names")
    plt.close(ax.figure)


def audit(make, seed=0):
    torch.manual_seed(seed)
    spec = make()
    net, names, calls = spec["net"], spec["names"], spec.get("calls")
    result = {}
    hand = Hand(net, names, spec["style"], spec["membrane"] or (lambda m, o: None))
    try:
        act = monitors.ActivityMonitor(net, layers=spec["layers"], calls=calls, membranes=True)
        grad = monitors.GradientMonitor(net, layers=spec["layers"], calls=calls)
        if act.names != names:
            raise Mismatch(f"layer names {act.names} != {names}")
        outputs, loss = [], 0
        with act, grad:
            for x, y in inputs(seed):
                hand.new_pass()
                out = spec["out"](spec["run"](net, x))
                outputs.append(out.detach())
                loss = loss + analysis.COUNT_LOSS(out, y)
            currents = {}  # the monitor's own currents of the first pass, to plot
            for name in names:
                cs = [c.detach() for c in grad.currents[name]]
                currents[name] = cs[0] if spec["style"] == "seq" else torch.stack(cs[:T])
                if spec["style"] == "step1":  # the neuron's one-step call gets x_seq[0]
                    currents[name] = torch.stack(cs[:T])
            try:
                result["gradient"] = ("exact", check_gradient(spec, grad, hand, loss))
            except Exception as err:  # noqa: BLE001 - classified
                result["gradient"] = (classify(err), None)
    except Exception as err:  # noqa: BLE001 - the monitor refused the network
        hand.remove()
        verdict = classify(err)
        return dict.fromkeys(("activity", "membrane", "gradient", "plots", "diagnose"), verdict)
    hand.remove()
    for what, check in (
        ("activity", lambda: check_activity(spec, act, hand, outputs)),
        ("membrane", lambda: check_membrane(spec, act, hand)),
    ):
        try:
            check()
            result[what] = "exact"
        except Exception as err:  # noqa: BLE001 - classified
            result[what] = classify(err)
    grad_verdict, norms = result["gradient"]
    result["gradient"] = grad_verdict
    if result["activity"] == "exact" and norms is not None:
        try:
            check_plots(spec, act, grad.norms, names, hand, currents)
            result["plots"] = "exact"
        except Exception as err:  # noqa: BLE001 - classified
            result["plots"] = classify(err)
    else:
        result["plots"] = "n/a (no record to draw)"
    hand = Hand(net, names, spec["style"], spec["membrane"] or (lambda m, o: None))
    try:
        check_diagnose(spec, hand)
        result["diagnose"] = "exact"
    except Exception as err:  # noqa: BLE001 - classified
        result["diagnose"] = classify(err)
    hand.remove()
    return result


def check_diagnose(spec, hand):
    """``analysis.diagnose`` on one batch: its firing rate, silent share and gradient RMS per
    layer against one more pass recorded by the hooks (the forward pass is deterministic)."""
    net, names, (x, y) = spec["net"], spec["names"], inputs(1)[0]

    def run(model, x):
        return spec["out"](spec["run"](model, x))

    hand.new_pass()  # diagnose's own pass, not used
    report = analysis.diagnose(
        net, x, y, layers=spec["layers"], calls=spec.get("calls"), run=run, show=False
    )
    hand.passes.clear()
    hand.new_pass()
    loss = analysis.COUNT_LOSS(run(net, x), y)
    currents = [
        c
        for n in names
        for p in hand.field(n, 2, stack=False)
        for c in (p if isinstance(p, list) else [p])
    ]
    grads = list(torch.autograd.grad(loss, currents, allow_unused=True))
    grads = [
        g if g is not None else torch.zeros_like(c) for g, c in zip(grads, currents, strict=True)
    ]
    for name in names:
        spk = hand.field(name, 0)
        close(f"{name} diagnose rate", report.rows[name]["rate"], float(spk.mean()))
        silent = float((spk.reshape(-1, spk[0, 0].numel()) == 0).all(0).float().mean())
        close(f"{name} diagnose silent", report.rows[name]["silent"], silent)
        n = len(hand.field(name, 2, stack=False)[0]) if hand.style != "seq" else 1
        got, grads = grads[:n], grads[n:]
        g = (
            got[0]
            if hand.style == "seq"
            else torch.stack(got)
            if hand.style == "step"
            else torch.cat(got)
        )
        close(
            f"{name} diagnose grad RMS",
            report.rows[name]["grad_rms"],
            float(g.pow(2).mean().sqrt()),
            rel=True,
        )


# --- call styles that need their own check ------------------------------------------------------


def expect_error(fn, match):
    """'error: ...' when ``fn`` raises a named error containing ``match`` from spikelearn."""
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - classified
        verdict = classify(err)
        if verdict.startswith("error") and match in str(err):
            return verdict
        return verdict if not verdict.startswith("error") else f"WRONG error: {verdict}"
    return "WRONG: no error, a record of a network the monitor cannot read"


def shared_module():
    fc1, fc2, lif = nn.Linear(N_IN, N_HID), nn.Linear(N_HID, N_HID), snn.Leaky(beta=0.9)
    net = nn.ModuleList([fc1, fc2, lif])
    x = torch.rand(5, N_IN) * 3

    def run():
        with monitors.ActivityMonitor(net, layers=[lif]):
            mem1, mem2 = lif.reset_mem(), lif.reset_mem()
            for _ in range(T):
                spk1, mem1 = lif(fc1(x), mem1)
                _, mem2 = lif(fc2(spk1), mem2)

    return expect_error(run, "own module")


def in_place_reset():
    net = case_snntorch_init_hidden("Leaky")["net"]
    x = torch.rand(5, N_IN) * 3
    with torch.no_grad(), monitors.ActivityMonitor(net) as act:
        snn_utils.reset(net)
        outs = []
        for scale in (1, 2):
            net[1].mem.zero_()  # a reset in place
            net[3].mem.zero_()
            outs.append(torch.stack([net(x * scale)[0] for _ in range(T)]))
    close("spikes", act.spikes["3"], torch.cat(outs, 1))
    return "exact"


def detached_state():
    lif, x = snn.Leaky(beta=0.9), torch.rand(T, 5, N_HID) * 2
    with monitors.ActivityMonitor(lif, layers=[lif], membranes=True) as act:
        mem, spikes, mems = lif.reset_mem(), [], []
        for t in range(T):
            spk, mem = lif(x[t], mem)
            spikes.append(spk)
            mems.append(mem)
            mem = mem.detach()  # truncated backpropagation
    close("spikes", act.spikes["layer0"], torch.stack(spikes))
    close("membranes", act.membranes["layer0"], torch.stack(mems).detach())
    return "exact"


def sj_chunks():
    from spikingjelly.activation_based import functional

    net = case_spikingjelly("m")["net"]
    x_seq = torch.rand(2 * T, 5, N_IN) * 3
    with torch.no_grad(), monitors.ActivityMonitor(net) as act:
        functional.reset_net(net)
        whole = torch.cat([net(x_seq[:T]), net(x_seq[T:])])  # no reset: one sequence of 2T
    close("spikes", act.spikes["3"], whole)
    return "exact"


def norse_chunks():
    import norse.torch as norse

    lif, x_seq = norse.LIF(norse.LIFParameters(v_th=torch.as_tensor(0.3))), torch.rand(2 * T, 5, 7)
    with torch.no_grad(), monitors.ActivityMonitor(lif, layers=[lif]) as act:
        z1, state = lif(x_seq[:T])
        z2, _ = lif(x_seq[T:], state)
    close("spikes", act.spikes["layer0"], torch.cat([z1, z2]))
    return "exact"


class Fire(nn.Module):
    def forward(self, u):
        return (u > 1).float()


class Loop(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x_seq):
        return torch.stack([self.net(x) for x in x_seq])


def plain_module(calls, loop_inside=True):
    fire = Fire()
    net = nn.Sequential(nn.Linear(N_IN, N_HID), fire)
    model = Loop(net) if calls == "step" and loop_inside else net
    x_seq = torch.rand(T, 5, N_IN) * 3

    def run():
        with torch.no_grad(), monitors.ActivityMonitor(model, layers=[fire], calls=calls) as act:
            if calls == "step" and not loop_inside:
                out = torch.stack([net(x) for x in x_seq])
            else:
                out = model(x_seq)
        close("spikes", next(iter(act.spikes.values())), out)

    if calls is None:
        return expect_error(run, "calls=")
    if not loop_inside:
        return expect_error(run, "runs all the time steps")
    run()
    return "exact"


EDGE = {
    ("snnTorch", "one Leaky module for two layers (own mem each)"): shared_module,
    ("snnTorch", "init_hidden, reset in place (mem.zero_())"): in_place_reset,
    ("snnTorch", "Leaky loop, mem.detach() each step"): detached_state,
    ("SpikingJelly", "'m', two chunks without reset_net"): sj_chunks,
    ("Norse", "LIF, two chunks, state carried"): norse_chunks,
    ("plain PyTorch", "spike function, no state, calls='sequence'"): lambda: plain_module(
        "sequence"
    ),
    ("plain PyTorch", "spike function, no state, calls='step', loop in model"): lambda: (
        plain_module("step")
    ),
    ("plain PyTorch", "spike function, no state, calls='step', loop outside model"): lambda: (
        plain_module("step", loop_inside=False)
    ),
    ("plain PyTorch", "spike function, no state, no calls="): lambda: plain_module(None),
}


def main():
    try:
        import spikingjelly.activation_based  # noqa: F401
    except ImportError:
        for key in [k for k in CASES if k[0] == "SpikingJelly"]:
            CASES[key] = None
    try:
        import norse.torch  # noqa: F401
    except ImportError:
        for key in [k for k in CASES if k[0] == "Norse"]:
            CASES[key] = None
    rows = []
    for (library, style), make in CASES.items():
        if make is None:
            rows.append(
                (
                    library,
                    style,
                    dict.fromkeys(
                        ("activity", "membrane", "gradient", "plots", "diagnose"), "not installed"
                    ),
                )
            )
            continue
        rows.append((library, style, audit(make)))
    edges = []
    for (library, style), check in EDGE.items():
        if rows and any(r[0] == library and r[2]["activity"] == "not installed" for r in rows):
            edges.append((library, style, "not installed"))
            continue
        try:
            edges.append((library, style, check()))
        except Exception as err:  # noqa: BLE001 - classified
            edges.append((library, style, classify(err)))
    cols = ("activity", "membrane", "gradient", "plots", "diagnose")
    print("| library | call style | " + " | ".join(cols) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in cols) + " |")
    for library, style, r in rows:
        print(f"| {library} | {style} | " + " | ".join(r[c] for c in cols) + " |")
    print("\n| library | call style | activity (spikes as recorded by hand) |")
    print("| --- | --- | --- |")
    for library, style, verdict in edges:
        print(f"| {library} | {style} | {verdict} |")
    bad = [v for _, _, r in rows for v in r.values()] + [v for _, _, v in edges]
    bad = [v for v in bad if v.startswith(("WRONG", "CRASH"))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
