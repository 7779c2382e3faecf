"""The monitors against answers the test computes itself, for every library and call style.

Each network records its own spikes, membranes and input currents as it runs (in its forward, or
through forward hooks written here); the monitors' spikes and membranes must equal them exactly,
their rates and counts the ones computed from them, and their gradient norms the RMS of
``torch.autograd.grad`` on the recorded currents, to 1e-6.
"""

import pytest
import snntorch as snn
import torch
from snntorch import utils as snn_utils
from torch import nn

from spikelearn import layers, models, monitors, neurons, training

T, B, N_IN, N_HID, N_OUT = 6, 5, 12, 16, 4


def _inputs(seed=0):
    torch.manual_seed(seed)
    return torch.rand(B, N_IN) * 2, torch.randint(0, N_OUT, (B,))


def _rms(grads):
    """[T, B, ...] gradient -> [T] RMS over batch and neurons."""
    return grads.reshape(grads.shape[0], -1).pow(2).mean(1).sqrt()


class SnnTorchLoop(nn.Module):
    """snnTorch's tutorial network: Linear -> neuron -> Linear -> neuron, a loop over time with
    explicit state; records, by hand, what each neuron returned and the current it got."""

    def __init__(self, make):
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(N_IN, N_HID), make(N_HID)
        self.fc2, self.lif2 = nn.Linear(N_HID, N_OUT), make(N_OUT)

    def forward(self, x):
        self.hand = {
            "lif1": {"spk": [], "mem": [], "cur": []},
            "lif2": {"spk": [], "mem": [], "cur": []},
        }
        states = {n: getattr(self, n).reset_mem() for n in ("lif1", "lif2")}
        states = {n: s if isinstance(s, tuple) else (s,) for n, s in states.items()}
        for _ in range(T):
            h = x
            for name, fc in (("lif1", self.fc1), ("lif2", self.fc2)):
                cur = fc(h)
                out = getattr(self, name)(cur, *states[name])
                states[name] = (
                    out if len(out) == len(states[name]) else out[1:]
                )  # RLeaky: (spk, mem)
                h = out[0]
                for key, value in (("spk", out[0]), ("mem", out[-1]), ("cur", cur)):
                    self.hand[name][key].append(value)
        return torch.stack(self.hand["lif2"]["spk"])


SNNTORCH_NEURONS = {
    "Leaky": lambda n: snn.Leaky(beta=0.9),
    "Synaptic": lambda n: snn.Synaptic(alpha=0.8, beta=0.9),
    "RLeaky": lambda n: snn.RLeaky(beta=0.9, linear_features=n),
    "RSynaptic": lambda n: snn.RSynaptic(alpha=0.8, beta=0.9, linear_features=n),
    "Alpha": lambda n: snn.Alpha(alpha=0.9, beta=0.8),
    "Lapicque": lambda n: snn.Lapicque(beta=0.9),
}


def _check(mon_act, mon_grad, hand, loss, names):
    """The shared known-answer checks: exact spikes and membranes, counts, gradient norms."""
    for name in names:
        spk = torch.stack(hand[name]["spk"]).detach()
        assert torch.equal(mon_act.spikes[name], spk), name
        if hand[name].get("mem"):
            assert torch.equal(mon_act.membranes[name], torch.stack(hand[name]["mem"]).detach())
        neurons_per_sample = spk[0, 0].numel()
        assert mon_act.spikes_per_neuron[name] == pytest.approx(
            float(spk.sum()) / (spk.shape[1] * neurons_per_sample), abs=1e-6
        )
        assert mon_act.rates[name] == pytest.approx(float(spk.mean()), abs=1e-6)
    currents = [c for name in names for c in hand[name]["cur"]]
    grads = torch.autograd.grad(loss, currents, allow_unused=True)
    expected, at = [], 0
    for name in names:
        steps = len(hand[name]["cur"])
        g = [
            gr if gr is not None else torch.zeros_like(c)
            for gr, c in zip(grads[at : at + steps], hand[name]["cur"], strict=True)
        ]
        expected.append(_rms(torch.stack(g)))
        at += steps
    torch.testing.assert_close(mon_grad.norms, torch.stack(expected), rtol=1e-6, atol=1e-12)
    assert bool((mon_grad.norms > 0).any())  # a real comparison, not zeros against zeros


@pytest.mark.parametrize("kind", list(SNNTORCH_NEURONS))
def test_snntorch_step_loop_with_explicit_state(kind):
    torch.manual_seed(0)
    net = SnnTorchLoop(SNNTORCH_NEURONS[kind])
    x, y = _inputs()
    with (
        monitors.ActivityMonitor(net, membranes=True) as act,
        monitors.GradientMonitor(net) as grad,
    ):
        loss = training.ce_count_loss()(net(x * 3), y)
        assert act.names == ["lif1", "lif2"]
        _check(act, grad, net.hand, loss, ["lif1", "lif2"])
    assert act.spikes["lif1"].shape == (T, B, N_HID)


def test_the_issue_snippet_gives_the_true_numbers():
    """Issue 20's two snippets on snnTorch's tutorial network: no crash, no B/T error."""
    torch.manual_seed(0)
    net = SnnTorchLoop(SNNTORCH_NEURONS["Leaky"])
    x, y = _inputs()
    with monitors.GradientMonitor(net, layers=[net.lif1, net.lif2]) as mon:
        training.ce_count_loss()(net(x * 3), y).backward()
    assert mon.norms.shape == (2, T)
    with monitors.ActivityMonitor(net, layers=[net.lif1, net.lif2]) as am:
        out = net(x * 3)
    per_neuron = float(
        out.detach().sum(0).mean()
    )  # the output layer's spikes per neuron per sample
    assert am.spikes_per_neuron["lif2"] == pytest.approx(per_neuron, abs=1e-6)


def _init_hidden_net(kind):
    make = {
        "Leaky": lambda n, **kw: snn.Leaky(beta=0.9, **kw),
        "Synaptic": lambda n, **kw: snn.Synaptic(alpha=0.8, beta=0.9, **kw),
        "RLeaky": lambda n, **kw: snn.RLeaky(beta=0.9, linear_features=n, **kw),
        "RSynaptic": lambda n, **kw: snn.RSynaptic(alpha=0.8, beta=0.9, linear_features=n, **kw),
    }[kind]
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(N_IN, N_HID),
        make(N_HID, init_hidden=True),
        nn.Linear(N_HID, N_OUT),
        make(N_OUT, init_hidden=True, output=True),
    )


def _hook_by_hand(net, names, membrane_attr="mem"):
    """Forward hooks written here: every call's spikes, membrane (the module's state) and current."""
    hand = {n: {"spk": [], "mem": [], "cur": []} for n in names}
    handles = []
    for name in names:

        def hook(module, args, out, rec=hand[name]):
            rec["spk"].append(out[0] if isinstance(out, tuple) else out)
            rec["mem"].append(getattr(module, membrane_attr).clone())
            rec["cur"].append(args[0])

        handles.append(net.get_submodule(name).register_forward_hook(hook))
    return hand, handles


@pytest.mark.parametrize("kind", ["Leaky", "Synaptic", "RLeaky", "RSynaptic"])
def test_snntorch_init_hidden_sequential_stepped_from_outside(kind):
    net = _init_hidden_net(kind)
    x, y = _inputs()
    hand, handles = _hook_by_hand(net, ["1", "3"])
    with (
        monitors.ActivityMonitor(net, membranes=True) as act,
        monitors.GradientMonitor(net) as grad,
    ):
        snn_utils.reset(net)
        out = torch.stack([net(x * 3)[0] for _ in range(T)])
        loss = training.ce_count_loss()(out, y)
        _check(act, grad, hand, loss, ["1", "3"])
    for h in handles:
        h.remove()


def test_a_reset_between_passes_starts_a_new_sequence_and_passes_join_on_batch():
    net = _init_hidden_net("Leaky")
    x, _ = _inputs()
    with monitors.ActivityMonitor(net) as act:
        for scale in (3, 5):  # two passes, each from rest
            snn_utils.reset(net)
            outs = [net(x * scale)[0] for _ in range(T)]
    assert act.spikes["3"].shape == (T, 2 * B, N_OUT)
    assert torch.equal(act.spikes["3"][:, B:], torch.stack(outs))
    net2 = SnnTorchLoop(SNNTORCH_NEURONS["Leaky"])
    with monitors.ActivityMonitor(net2) as act2:
        net2(x)
        net2(x[:2])  # reset_mem() inside forward: a new sequence, 2 more samples
    assert act2.spikes["lif2"].shape == (T, B + 2, N_OUT)


def test_state_detached_between_steps_still_continues_the_sequence():
    lif = snn.Leaky(beta=0.9)
    x = torch.rand(T, B, 3) * 2
    with monitors.ActivityMonitor(lif, layers=[lif], membranes=True) as act:
        mem, spikes = lif.reset_mem(), []
        for t in range(T):
            spk, mem = lif(x[t], mem)
            spikes.append(spk)
            mem = mem.detach()  # truncated backpropagation: the state is a detached view
    assert torch.equal(act.spikes["layer0"], torch.stack(spikes))


def _spikelearn_net():
    torch.manual_seed(0)
    return models.spiking_mlp(N_IN, num_classes=N_OUT, hidden=N_HID, depth=2)


def _hook_spiking(net):
    """Hooks written here on each layers.Spiking: its output, its .mem and its input current."""
    hand, names = {}, []
    for name, m in net.named_modules():
        if isinstance(m, layers.Spiking):
            names.append(name)
            hand[name] = {"spk": [], "mem": [], "cur": []}

            def hook(module, args, out, rec=hand[name]):
                rec["seq"] = (out, module.mem, args[0])

            m.register_forward_hook(hook)
    return hand, names


def test_spikelearn_multi_step_model():
    net = _spikelearn_net()
    hand, names = _hook_spiking(net)
    x, y = _inputs()
    x_seq = x.expand(T, B, N_IN)
    with (
        monitors.ActivityMonitor(net, membranes=True) as act,
        monitors.GradientMonitor(net) as grad,
    ):
        loss = training.ce_count_loss()(net(x_seq), y)
        assert act.names == names
        for name in names:
            spk, mem, cur = hand[name]["seq"]
            hand[name].update(spk=list(spk), mem=list(mem), cur=[cur])
        # the currents are one [T, B, N] tensor per layer: compare through the stacked view
        grads = torch.autograd.grad(loss, [hand[n]["cur"][0] for n in names])
        expected = torch.stack([_rms(g) for g in grads])
        torch.testing.assert_close(grad.norms, expected, rtol=1e-6, atol=1e-12)
        for name in names:
            assert torch.equal(act.spikes[name], torch.stack(hand[name]["spk"]).detach())
            assert torch.equal(act.membranes[name], torch.stack(hand[name]["mem"]))


def test_spikelearn_step_by_step_records_what_multi_step_records():
    net = _spikelearn_net()
    x, y = _inputs()
    x_seq = x.expand(T, B, N_IN).contiguous()
    runs = {}
    for run in (lambda: net(x_seq), lambda: layers.step_by_step(net, x_seq)):
        with (
            monitors.ActivityMonitor(net, membranes=True) as act,
            monitors.GradientMonitor(net) as grad,
        ):
            training.ce_count_loss()(run(), y).backward()
        runs[len(runs)] = (act.spikes, act.membranes, grad.norms)
    (s0, m0, g0), (s1, m1, g1) = runs[0], runs[1]
    for name in s0:
        assert torch.equal(s0[name], s1[name])
        torch.testing.assert_close(m0[name], m1[name], rtol=0, atol=1e-6)
    torch.testing.assert_close(g0, g1, rtol=1e-5, atol=1e-9)
    assert bool((g0 > 0).all())


def test_a_neuron_named_inside_its_spiking_layer_is_recorded_once():
    net = _spikelearn_net()
    x_seq = _inputs()[0].expand(T, B, N_IN)
    lif = net[2].neuron
    with monitors.ActivityMonitor(net, layers=[lif]) as act:
        out = net[:3](x_seq)
    assert torch.equal(act.spikes["2.neuron"], out)


def test_a_plain_module_needs_to_be_told_how_it_is_called():
    class Fire(nn.Module):  # a stateless spike function: no neuron the monitor knows
        def forward(self, u):
            return (u > 1).float()

    fire = Fire()
    net = nn.Sequential(nn.Linear(N_IN, N_HID), fire)
    x_seq = torch.rand(T, B, N_IN) * 3
    with (
        monitors.ActivityMonitor(net, layers=[fire]) as act,
        pytest.raises(ValueError, match="calls="),
    ):
        net(x_seq)
    with monitors.ActivityMonitor(net, layers=[fire], calls="sequence") as act:
        out = net(x_seq)
    assert torch.equal(act.spikes["1"], out)

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x_seq):
            return torch.stack([self.net(x) for x in x_seq])

    loop = Loop()
    with monitors.ActivityMonitor(loop, layers=[fire], calls="step") as act:
        out1, out2 = loop(x_seq), loop(x_seq * 2)  # two calls of the model: two sequences
    assert torch.equal(act.spikes["net.1"], torch.cat([out1, out2], 1))
    with monitors.ActivityMonitor(loop, layers=[fire], calls="step") as act:
        loop(x_seq), loop(x_seq[:3])
    with pytest.raises(ValueError, match="different lengths"):
        act.spikes  # noqa: B018


def test_named_errors():
    net = _spikelearn_net()
    with pytest.raises(ValueError, match="no spiking layer"):
        monitors.ActivityMonitor(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        monitors.spiking_layers(lambda x: x)
    with pytest.raises(ValueError, match="calls must be one of"):
        monitors.ActivityMonitor(net, calls="steps")
    with pytest.raises(ValueError, match="not a submodule name"):
        monitors.ActivityMonitor(net, layers=["lif9"])
    with monitors.ActivityMonitor(net) as act:
        pass
    with pytest.raises(ValueError, match="recorded no call"):
        act.spikes  # noqa: B018
    with pytest.raises(ValueError, match="membranes=True"):
        act.membranes  # noqa: B018
    x_seq = _inputs()[0].expand(T, B, N_IN)
    with torch.no_grad(), pytest.raises(ValueError, match="does not require grad"):
        with monitors.GradientMonitor(net):
            net(x_seq)
    with monitors.GradientMonitor(net) as grad:
        net(x_seq)
    with pytest.raises(RuntimeError, match="no gradient recorded"):
        grad.norms  # noqa: B018

    class Weird(nn.Module):
        def forward(self, x):
            return {"spikes": x}

    weird = Weird()
    with pytest.raises(TypeError, match="must return spikes"):
        with monitors.ActivityMonitor(weird, layers=[weird], calls="step"):
            weird(torch.zeros(2, 3))


def test_monitors_leave_no_hooks_behind():
    net = SnnTorchLoop(SNNTORCH_NEURONS["Leaky"])
    with monitors.ActivityMonitor(net), monitors.GradientMonitor(net):
        net(_inputs()[0])
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())


# --- SpikingJelly (optional) -------------------------------------------------------------------


def _sj():
    return pytest.importorskip(
        "spikingjelly.activation_based", reason="SpikingJelly is optional and not installed"
    )


def _sj_net(step_mode):
    sj = _sj()
    from spikingjelly.activation_based import layer, neuron

    torch.manual_seed(0)
    kw = {"step_mode": step_mode}
    return sj, nn.Sequential(
        layer.Linear(N_IN, N_HID, **kw),
        neuron.LIFNode(tau=2.0, store_v_seq=step_mode == "m", **kw),
        layer.Linear(N_HID, N_OUT, **kw),
        neuron.LIFNode(tau=2.0, store_v_seq=step_mode == "m", **kw),
    )


def test_spikingjelly_single_step_nodes_called_in_a_loop():
    sj, net = _sj_net("s")
    x, y = _inputs()
    hand, handles = _hook_by_hand(net, ["1", "3"], membrane_attr="v")
    with (
        monitors.ActivityMonitor(net, membranes=True) as act,
        monitors.GradientMonitor(net) as grad,
    ):
        for scale in (2, 3):  # the second pass's numbers are the ones checked
            sj.functional.reset_net(net)
            for rec in hand.values():
                for v in rec.values():
                    v.clear()
            out = torch.stack([net(x * scale) for _ in range(T)])
        loss = training.ce_count_loss()(out, y)
        assert act.spikes["3"].shape == (T, 2 * B, N_OUT)
        assert act.after_reset == {"1": True, "3": True}  # SpikingJelly stores v after the reset
        for name in ("1", "3"):
            assert torch.equal(act.spikes[name][:, B:], torch.stack(hand[name]["spk"]))
            assert torch.equal(act.membranes[name][:, B:], torch.stack(hand[name]["mem"]))
        grads = torch.autograd.grad(loss, [c for n in ("1", "3") for c in hand[n]["cur"]])
        expected = torch.stack([_rms(torch.stack(grads[:T])), _rms(torch.stack(grads[T:]))])
        torch.testing.assert_close(grad.norms, expected, rtol=1e-6, atol=1e-12)
    for h in handles:
        h.remove()


def test_spikingjelly_multi_step_nodes():
    sj, net = _sj_net("m")
    x, y = _inputs()
    x_seq = (x * 3).expand(T, B, N_IN).contiguous()
    seen = {}
    for name in ("1", "3"):
        net.get_submodule(name).register_forward_hook(
            lambda m, a, o, name=name: seen.__setitem__(name, (o, a[0]))
        )
    with (
        monitors.ActivityMonitor(net, membranes=True) as act,
        monitors.GradientMonitor(net) as grad,
    ):
        sj.functional.reset_net(net)
        loss = training.ce_count_loss()(net(x_seq), y)
        grads = torch.autograd.grad(loss, [seen["1"][1], seen["3"][1]])
        torch.testing.assert_close(
            grad.norms, torch.stack([_rms(g) for g in grads]), rtol=1e-6, atol=1e-12
        )
        for name in ("1", "3"):
            assert torch.equal(act.spikes[name], seen[name][0])
            assert torch.equal(act.membranes[name], net.get_submodule(name).v_seq)
    net[1].store_v_seq = False
    with monitors.ActivityMonitor(net, membranes=True) as act:
        sj.functional.reset_net(net)
        net(x_seq)
    with pytest.raises(ValueError, match="store_v_seq=True"):
        act.membranes  # noqa: B018


def test_spikelearn_neuron_called_directly_in_a_loop():
    lif = neurons.LIF(beta=0.9)
    x = torch.rand(T, B, 3) * 2
    with monitors.ActivityMonitor(lif, layers=[lif], membranes=True) as act:
        mem, spikes, mems = None, [], []
        for t in range(T):
            spk, mem = lif(x[t], mem)
            spikes.append(spk)
            mems.append(mem)
    assert torch.equal(act.spikes["layer0"], torch.stack(spikes))
    assert torch.equal(act.membranes["layer0"], torch.stack(mems))


# --- call styles found by the acceptance audit (docs/monitor_support.py) -----------------------


def test_the_issue_spelling_analysis_monitors_still_works():
    from spikelearn import analysis

    assert analysis.ActivityMonitor is monitors.ActivityMonitor
    assert analysis.GradientMonitor is monitors.GradientMonitor


class SharedLeaky(nn.Module):
    """One snn.Leaky module used for two layers, each with its own membrane."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.lif = (
            nn.Linear(N_IN, N_HID),
            nn.Linear(N_HID, N_HID),
            snn.Leaky(beta=0.9),
        )

    def forward(self, x):
        mem1, mem2, out = self.lif.reset_mem(), self.lif.reset_mem(), []
        for _ in range(T):
            spk1, mem1 = self.lif(self.fc1(x), mem1)
            spk2, mem2 = self.lif(self.fc2(spk1), mem2)
            out.append(spk2)
        return torch.stack(out)


def test_one_neuron_module_for_two_layers_is_a_named_error_not_one_step_sequences():
    net = SharedLeaky()
    x, _ = _inputs()
    with monitors.ActivityMonitor(net) as act, pytest.raises(ValueError, match="own module"):
        net(x * 3)
    assert act.names == ["lif"]


def test_a_state_zeroed_in_place_starts_a_new_sequence():
    net = _init_hidden_net("Leaky")
    x, _ = _inputs()
    with monitors.ActivityMonitor(net) as act:
        outs = []
        snn_utils.reset(net)
        for scale in (3, 5):
            net[1].mem.zero_()  # a reset written in place: the same tensor, new values
            net[3].mem.zero_()
            outs.append(torch.stack([net(x * scale)[0] for _ in range(T)]))
    assert act.spikes["3"].shape == (T, 2 * B, N_OUT)
    assert torch.equal(act.spikes["3"], torch.cat(outs, 1))


class ChunkLIF(nn.Module):
    """A plain-PyTorch LIF that runs a whole [T, B, N] chunk and returns (spikes, final state),
    taking the state to start from (Norse's LIF does this): truncated backpropagation in chunks."""

    def forward(self, x_seq, mem=None):
        mem = torch.zeros_like(x_seq[0]) if mem is None else mem
        spikes = []
        for x in x_seq:
            mem = 0.9 * mem + x
            spk = (mem > 1).float() + (mem - mem.detach())  # straight-through gradient 1
            mem = mem - spk.detach()
            spikes.append(spk)
        return torch.stack(spikes), mem


def test_sequence_calls_that_carry_the_state_are_one_sequence_in_time():
    lif, fc = ChunkLIF(), nn.Linear(N_IN, N_HID)
    net = nn.Sequential(fc, lif)
    x_seq = torch.rand(2 * T, B, N_IN) * 2
    with monitors.ActivityMonitor(net, layers=[lif], calls="sequence") as act:
        with torch.no_grad():
            first, mem = lif(fc(x_seq[:T]))
            second, _ = lif(fc(x_seq[T:]), mem)  # the second chunk starts where the first ended
            fresh, _ = lif(fc(x_seq[:T]))  # a new sequence (no state passed)
    whole = torch.cat([first, second])
    with pytest.raises(ValueError, match="different lengths"):
        act.spikes  # noqa: B018 - a 2T sequence and a T sequence cannot be joined on the batch
    with monitors.ActivityMonitor(net, layers=[lif], calls="sequence") as act:
        with torch.no_grad():
            first, mem = lif(fc(x_seq[:T]))
            second, _ = lif(fc(x_seq[T:]), mem)
    assert torch.equal(act.spikes["1"], whole)
    assert act.spikes_per_neuron["1"] == pytest.approx(float(whole.sum()) / (B * N_HID), abs=1e-6)


def test_sequence_calls_carrying_the_state_give_the_gradient_of_each_chunk():
    torch.manual_seed(0)
    lif, fc = ChunkLIF(), nn.Linear(N_IN, N_HID)
    x_seq = torch.rand(2 * T, B, N_IN) * 2
    with monitors.GradientMonitor(lif, layers=[lif], calls="sequence") as grad:
        cur1, cur2 = fc(x_seq[:T]), fc(x_seq[T:])
        first, mem = lif(cur1)
        second, _ = lif(cur2, mem)
        loss = (torch.cat([first, second]).sum(0) * torch.linspace(-1, 1, N_HID)).pow(2).sum()
        g1, g2 = torch.autograd.grad(loss, [cur1, cur2], retain_graph=True)
        loss.backward()
    torch.testing.assert_close(grad.norms[0], _rms(torch.cat([g1, g2])), rtol=1e-6, atol=1e-12)
    assert bool((grad.norms > 0).any())


def test_spikingjelly_multi_step_chunks_without_reset_are_one_sequence():
    sj, net = _sj_net("m")
    x_seq = torch.rand(2 * T, B, N_IN) * 3
    with torch.no_grad(), monitors.ActivityMonitor(net) as act:
        sj.functional.reset_net(net)
        whole = torch.cat([net(x_seq[:T]), net(x_seq[T:])])  # no reset: the state carries over
    assert torch.equal(act.spikes["3"], whole)


# --- Norse (optional) ----------------------------------------------------------------------------


def _norse_net(cell, **kw):
    norse = pytest.importorskip("norse.torch", reason="Norse is optional and not installed")

    class NorseNet(nn.Module):
        def __init__(self):
            super().__init__()
            p = norse.LIFParameters(v_th=torch.as_tensor(0.3))
            make = norse.LIFCell if cell else norse.LIF
            self.fc1, self.lif1 = nn.Linear(N_IN, N_HID), make(p, **kw)
            self.fc2, self.lif2 = nn.Linear(N_HID, N_OUT), make(p, **kw)

        def forward(self, x):
            self.hand = {n: {"spk": [], "mem": [], "cur": []} for n in ("lif1", "lif2")}
            if not cell:  # Norse's LIF: one call per sequence
                c1 = self.fc1(x.expand(T, *x.shape))
                z1, s1 = self.lif1(c1)
                c2 = self.fc2(z1)
                z2, s2 = self.lif2(c2)
                for name, z, s, c in (("lif1", z1, s1, c1), ("lif2", z2, s2, c2)):
                    self.hand[name].update(spk=list(z), mem=list(s.v), cur=[c])
                return z2
            s1 = s2 = None  # Norse's LIFCell: a loop, the state passed by hand
            for _ in range(T):
                c1 = self.fc1(x)
                z1, s1 = self.lif1(c1, s1)
                c2 = self.fc2(z1)
                z2, s2 = self.lif2(c2, s2)
                for name, z, s, c in (("lif1", z1, s1, c1), ("lif2", z2, s2, c2)):
                    for key, value in (("spk", z), ("mem", s.v), ("cur", c)):
                        self.hand[name][key].append(value)
            return torch.stack(self.hand["lif2"]["spk"])

    torch.manual_seed(0)
    return NorseNet()


def test_norse_cells_in_a_loop_found_without_being_named():
    net = _norse_net(cell=True)
    x, y = _inputs()
    with (
        monitors.ActivityMonitor(net, membranes=True) as act,
        monitors.GradientMonitor(net) as grad,
    ):
        loss = training.ce_count_loss()(net(x * 3), y)
        assert act.names == ["lif1", "lif2"]
        _check(act, grad, net.hand, loss, ["lif1", "lif2"])
    assert act.after_reset == {"lif1": True, "lif2": True}  # Norse's v is after the reset


def test_norse_lif_over_a_sequence():
    net = _norse_net(cell=False, record_states=True)
    x, y = _inputs()
    with (
        monitors.ActivityMonitor(net, membranes=True) as act,
        monitors.GradientMonitor(net) as grad,
    ):
        loss = training.ce_count_loss()(net(x * 3), y)
        grads = torch.autograd.grad(loss, [net.hand[n]["cur"][0] for n in ("lif1", "lif2")])
        torch.testing.assert_close(
            grad.norms, torch.stack([_rms(g) for g in grads]), rtol=1e-6, atol=1e-12
        )
        for name in ("lif1", "lif2"):
            assert torch.equal(act.spikes[name], torch.stack(net.hand[name]["spk"]).detach())
            assert torch.equal(act.membranes[name], torch.stack(net.hand[name]["mem"]).detach())
    net = _norse_net(cell=False)  # without record_states Norse returns the last state only
    with monitors.ActivityMonitor(net, membranes=True) as act:
        net(x)
    with pytest.raises(ValueError, match="record_states=True"):
        act.membranes  # noqa: B018


def test_a_stateless_layer_stepped_from_outside_the_model_is_a_named_error():
    class Fire(nn.Module):
        def forward(self, u):
            return (u > 1).float()

    fire = Fire()
    net = nn.Sequential(nn.Linear(N_IN, N_HID), fire)
    x_seq = torch.rand(T, B, N_IN) * 3
    with torch.no_grad(), monitors.ActivityMonitor(net, layers=[fire], calls="step") as act:
        torch.stack([net(x) for x in x_seq])  # the loop over time is outside `net`
    with pytest.raises(ValueError, match="runs all the time steps"):
        act.spikes_per_neuron  # noqa: B018 - was [1, T*B, N]: T times too few per neuron
