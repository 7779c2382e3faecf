"""Record what a spiking network does, however it is run: spikes, membranes, input currents and
their gradients, per layer and time step, assembled as ``[T, B, ...]``.

A monitor hooks the spiking layers of any ``torch.nn.Module`` (spikelearn's, snnTorch's,
SpikingJelly's or your own) and changes nothing in it. The same network can be run three ways,
and the monitor tells them apart from the calls it sees:

* **sequence calls**: the layer gets the whole ``[T, B, ...]`` sequence at once
  (``layers.Spiking``, SpikingJelly nodes in step mode ``'m'``, Norse's ``LIF``);
* **step calls, state passed in**: ``spk, mem = lif(x[t], mem)`` in a Python loop (snnTorch
  neurons, Norse's ``LIFCell``, spikelearn neurons under ``layers.step_by_step``);
* **step calls, state kept inside**: ``spk = lif(x[t])`` (snnTorch with ``init_hidden=True``,
  SpikingJelly in step mode ``'s'``).

Step calls are stacked over time, and the state says where one sequence ends: **a call continues
the sequence when it starts from the state the previous call left, unchanged** - the object that
call returned passed back in (or a detached view of it), or the state the module kept, not
modified in place since. Anything else - ``None``, fresh zeros, ``reset_mem()``,
``snntorch.utils.reset``, SpikingJelly's ``functional.reset_net``, a state zeroed in place -
starts a new sequence. The same rule joins sequence calls in time: a chunk that starts from the
state the previous chunk left (truncated backpropagation; SpikingJelly in ``'m'`` without a reset
in between) continues it; ``layers.Spiking`` always starts from rest. A layer that keeps no state
at all (a plain spike function you point at, with ``calls="step"``) is grouped by the calls of
``model``: the steps inside one ``model(...)`` call are one sequence. Sequences are joined along
the batch dimension. One neuron module that runs two layers (each with its own state, the calls
interleaved) cannot be told apart from one layer and is a ``ValueError``: give each layer its own
module.

What a monitor reads from each call: the spikes are the output (or its first element); the
membrane is the last element of a tuple output ``(spk, *state)`` (its ``.v`` for Norse's state
tuples), else the state the module keeps (``mem`` for spikelearn and snnTorch; ``v``/``v_seq``
for SpikingJelly). SpikingJelly and Norse store the potential *after* the reset, so a neuron that
fired shows ``v_reset`` there: ``after_reset`` says which layers do. The input current is the
first argument. A call inside another monitored call (a neuron stepping inside its
``layers.Spiking``) is not counted again. Whatever cannot be read this way raises a
``ValueError``/``TypeError`` that says what was expected.
"""

import sys
import weakref
from functools import partial

import torch
from torch import nn

from .._checks import check_choice
from ..networks.layers import Spiking

CALLS = ("step", "sequence")  # how a layer the monitor does not recognise is called

# --- 1. Which modules are spiking layers ------------------------------------------------------


def _library_neurons():
    """The neuron base classes of the libraries this program has imported (a model that holds a
    snnTorch, SpikingJelly or Norse neuron has imported its library, so nothing is imported here)."""
    found = []
    snn = sys.modules.get("snntorch")
    if snn is not None and hasattr(snn, "SpikingNeuron"):
        found.append(snn.SpikingNeuron)
    sj = sys.modules.get("spikingjelly.activation_based.neuron")
    found += [getattr(sj, n) for n in ("BaseNode", "SimpleBaseNode") if hasattr(sj, n)]
    return tuple(found) + _norse("SNNCell", "SNNRecurrentCell", "SNN", "SNNRecurrent")


def _norse(*names):
    """Norse's neuron base classes of those names, if Norse is imported (its cells take one step
    a call, ``SNN``/``SNNRecurrent`` a sequence)."""
    norse = sys.modules.get("norse.torch.module.snn")
    return tuple(getattr(norse, n) for n in names if hasattr(norse, n))


def _is_neuron(module):
    """spikelearn's ``Spiking`` layer or neuron (it has ``multi_step``), or a library's neuron."""
    return (
        isinstance(module, Spiking)
        or callable(getattr(module, "multi_step", None))
        or isinstance(module, _library_neurons())
    )


def spiking_layers(model):
    """The ``(name, module)`` pairs of every spiking layer in ``model``, in order.

    Found: ``layers.Spiking`` layers, spikelearn neurons, snnTorch neurons and SpikingJelly nodes.
    A neuron inside a ``layers.Spiking`` is that layer (it is hooked with it, under its name).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    found = [(name, m) for name, m in model.named_modules() if _is_neuron(m)]
    wrapped = {id(m.neuron) for _, m in found if isinstance(m, Spiking)}
    found = [(name, m) for name, m in found if id(m) not in wrapped]
    if not found:
        raise ValueError(
            "model has no spiking layer to monitor (a spikelearn layers.Spiking or neuron, a "
            "snnTorch neuron or a SpikingJelly node); pass layers=[module, ...] to name yours: "
            f"{type(model).__name__}"
        )
    return found


def _resolve(model, layers):
    """``[(name, [modules hooked for it])]``: a ``Spiking`` layer with its neuron, and a neuron
    with the ``Spiking`` layers in ``model`` that wrap it."""
    if layers is None:
        pairs = spiking_layers(model)
    else:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        named = {m: n for n, m in model.named_modules()}
        pairs = []
        for i, layer in enumerate(layers):
            if isinstance(layer, str):
                if layer not in dict(model.named_modules()):
                    raise ValueError(f"layers[{i}] = {layer!r} is not a submodule name of model")
                layer, name = model.get_submodule(layer), layer
            elif isinstance(layer, nn.Module):
                name = named.get(layer) or f"layer{i}"  # the model itself is named ""
            else:
                raise TypeError(
                    f"layers[{i}] must be a torch.nn.Module or a submodule name, "
                    f"got {type(layer).__name__}"
                )
            pairs.append((name, layer))
        if not pairs:
            raise ValueError("layers must name at least one module, got an empty list")
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"layers must be distinct, got the names {names}")
    wrappers = [m for m in model.modules() if isinstance(m, Spiking)]
    groups = []
    for name, m in pairs:
        members = [m] + ([m.neuron] if isinstance(m, Spiking) else [])
        members += [s for s in wrappers if s.neuron is m]
        groups.append((name, members))
    return groups


# --- 2. What one call says --------------------------------------------------------------------


def _kept_state(module):
    """The state a module keeps between calls: its buffers, its (non-parameter) tensor
    attributes, and SpikingJelly's ``_memories``."""
    kept = {k: v for k, v in vars(module).items() if torch.is_tensor(v)}
    kept.update(module._buffers)
    kept.update(vars(module).get("_memories", {}))
    return kept


def _same(a, b):
    """``a`` is ``b``, or a detached view of the same tensor (``mem.detach()`` between steps)."""
    if a is None or isinstance(a, int | float | bool | str):
        return False
    if a is b:
        return True
    return (
        torch.is_tensor(a)
        and torch.is_tensor(b)
        and a.numel() > 0
        and a.shape == b.shape
        and a.data_ptr() == b.data_ptr()
    )


def _library_kind(module):
    """``"sequence"``/``"step"`` for the layers whose call style is known, else ``None``."""
    if isinstance(module, Spiking):
        return "sequence"
    mode = getattr(module, "step_mode", None)  # SpikingJelly: 's' single step, 'm' multi-step
    if mode in ("s", "m"):
        return "step" if mode == "s" else "sequence"
    if isinstance(module, _norse("SNN", "SNNRecurrent")):
        return "sequence"
    if callable(getattr(module, "multi_step", None)) or isinstance(module, _library_neurons()):
        return "step"  # a spikelearn neuron's forward and a snnTorch neuron are one time step
    return None


def _stepping(module):
    """A ``layers.Spiking`` layer under ``layers.step_by_step`` (it carries the state between
    calls): its neuron's one-step call ``neuron(x, *state)`` inside is the step recorded."""
    return isinstance(module, Spiking) and getattr(module, "carried", None) is not None


class _Call:
    """One recorded call: spikes and membrane (detached), input current, its gradient."""

    __slots__ = ("shape", "spikes", "membrane", "after_reset", "current", "current_shape", "grad")

    def __init__(self, spikes, keep_spikes, membrane, after_reset, current):
        self.shape, self.spikes = spikes.shape, spikes.detach() if keep_spikes else None
        self.membrane, self.after_reset = membrane, after_reset
        self.current, self.grad = current, None
        self.current_shape = None if current is None else current.shape


def _version(obj):
    """A tensor's count of in-place modifications (``None`` for anything else)."""
    return obj._version if torch.is_tensor(obj) else None


def _left_by(objects, stored):
    """What a call leaves for the next: ``([(object, version)], {name: (state, version)})``."""
    return [(o, _version(o)) for o in objects], {k: (v, _version(v)) for k, v in stored.items()}


def _continues(incoming, kept_before, left):
    """Does a call start from the state the previous call left, unchanged? ``left`` is that
    call's :func:`_left_by`. Yes when a state argument passed in is one of the objects it returned
    or stored (or a detached view) and the module's stored state is still what it stored, neither
    modified in place since; a state argument that is something else, a stored state replaced in
    between or one zeroed in place (a reset) means no."""
    if left is None:
        return False
    objects, stored = left
    if not incoming and not stored:
        return False  # no state to follow (``lif(x, None)``): a fresh start
    passed_on = not incoming or any(
        _same(a, b) and _version(b) == v for a in incoming for b, v in objects
    )
    untouched = all(
        (_same(kept_before.get(k), b) or kept_before.get(k) is b) and _version(b) == v
        for k, (b, v) in stored.items()
    )
    return passed_on and untouched


# --- 3. Recording -------------------------------------------------------------------------------


class _Recorder:
    """Hooks, the step/sequence rule and the assembly into ``[T, B, ...]``, shared by the monitors.

    Args:
        model: the ``torch.nn.Module`` that is run.
        layers: modules (or submodule names) to record; default :func:`spiking_layers`.
        calls: ``"step"`` or ``"sequence"``: how a layer the monitor does not recognise (not a
            spikelearn, snnTorch, SpikingJelly or Norse neuron) is called. Needed where such a
            layer keeps no state; without it a layer with state is taken to run one step a call.
    """

    spikes_wanted = membranes_wanted = gradients_wanted = False

    def __init__(self, model, layers=None, calls=None):
        if calls is not None:
            check_choice("calls", calls, CALLS)
        self.model, self.calls = model, calls
        self._groups = _resolve(model, layers)
        self.names = [name for name, _ in self._groups]
        self.layers = [(name, members[0]) for name, members in self._groups]
        self._handles, self._sequences = [], {n: [] for n in self.names}

    # the hooks -------------------------------------------------------------------------------
    def __enter__(self):
        self._sequences = {n: [] for n in self.names}
        self._left, self._depth, self._model_calls, self._entering = {}, 0, 0, None
        self._earlier = {n: [] for n in self.names}  # weak refs to older states, this model call
        self._handles.append(self.model.register_forward_pre_hook(self._count_model_call))
        for name, members in self._groups:
            for m in members:
                pre = m.register_forward_pre_hook(partial(self._before, name), with_kwargs=True)
                post = m.register_forward_hook(
                    partial(self._after, name), with_kwargs=True, always_call=True
                )
                self._handles += [pre, post]
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._left.clear()  # drop the references to the last state (and its graph)
        self._earlier.clear()
        for seqs in self._sequences.values():
            for seq in seqs:
                for call in seq["calls"]:
                    call.current = None

    def _count_model_call(self, module, args):
        self._model_calls += 1
        for earlier in self._earlier.values():
            earlier.clear()

    def _before(self, name, module, args, kwargs):
        if _stepping(module):
            return
        self._depth += 1
        if self._depth == 1:  # a call inside another recorded call is not counted again
            self._entering = (list(args[1:]) + list(kwargs.values()), _kept_state(module))

    def _after(self, name, module, args, kwargs, output):
        if _stepping(module):
            return
        try:
            if self._depth == 1 and output is not None:
                self._record(name, module, args, kwargs, output)
        finally:
            self._depth -= 1

    # one call --------------------------------------------------------------------------------
    def _record(self, name, module, args, kwargs, output):
        where = f"layer {name!r} ({type(module).__name__})"
        is_tuple = isinstance(output, tuple | list)
        spikes = output[0] if is_tuple and len(output) else output
        if not torch.is_tensor(spikes):
            raise TypeError(
                f"{where} returned {type(output).__name__}: a monitored layer must return "
                "spikes or (spikes, *state) as tensors"
            )
        incoming, kept_before = self._entering
        incoming = [a for a in incoming if a is not None]
        kept_after = _kept_state(module)
        changed = {k: v for k, v in kept_after.items() if v is not kept_before.get(k)}
        kind = _library_kind(module) or self.calls or ("step" if incoming or changed else None)
        if kind is None:
            raise ValueError(
                f"{where} is not a neuron the monitor knows and keeps no state, so a call could "
                'be one time step or a whole sequence: pass calls="step" or calls="sequence"'
            )
        if spikes.dim() < (2 if kind == "sequence" else 1):
            raise ValueError(
                f"{where} returned spikes of shape {tuple(spikes.shape)} in a {kind} call; "
                f"expected {'[T, B, ...]' if kind == 'sequence' else '[B, ...]'}"
            )
        seqs, steps = self._sequences[name], kind == "step"
        stateless = steps and not (incoming or changed)
        if stateless:
            # no state at all: the steps inside one call of `model` are one sequence
            continues = bool(seqs) and seqs[-1].get("model_call") == self._model_calls
        else:  # layers.Spiking starts every sequence from rest
            left = self._left.get(name)
            continues = not isinstance(module, Spiking) and _continues(incoming, kept_before, left)
            if not continues:
                self._check_not_interleaved(where, incoming, name)
            if left is not None:
                earlier = self._earlier[name]
                earlier += [weakref.ref(o) for o, _ in left[0] if torch.is_tensor(o)]
                if len(earlier) > 256:  # a long run with no call of `model`: drop the freed ones
                    earlier[:] = [ref for ref in earlier if ref() is not None]
        objects = (list(output[1:]) if is_tuple else []) + list(changed.values())
        self._left[name] = _left_by(objects, changed)
        if not (continues and seqs and seqs[-1]["steps"] == steps):
            seqs.append(
                {
                    "steps": steps,
                    "calls": [],
                    "model_call": self._model_calls,
                    "no_state": stateless,
                }
            )
        else:
            before = seqs[-1]["calls"][-1].shape
            if (before if steps else before[1:]) != (spikes.shape if steps else spikes.shape[1:]):
                raise ValueError(
                    f"{where} changed its spikes' shape from {tuple(before)} to "
                    f"{tuple(spikes.shape)} within one sequence (it started from the state the "
                    "previous call left)"
                )
        seqs[-1]["calls"].append(self._call(where, kind, module, args, kwargs, output, spikes))

    def _check_not_interleaved(self, where, incoming, name):
        """A state passed in that an older call of this module left (not the last call): one
        module runs two layers, or two sequences interleaved, which a record per module cannot
        keep apart."""
        older = [ref() for ref in self._earlier[name]]
        if any(_same(a, b) for a in incoming for b in older if b is not None):
            raise ValueError(
                f"{where} was called with a state that an earlier call, not the previous one, "
                "left: one module seems to run two layers (or two sequences interleaved), whose "
                "records cannot be told apart; give each layer its own module"
            )

    def _call(self, where, kind, module, args, kwargs, output, spikes):
        membrane, after_reset = None, False
        if self.membranes_wanted:
            membrane, after_reset = _membrane(module, kind, output)
            if membrane is not None and membrane.shape != spikes.shape:
                membrane = None  # e.g. a per-layer state of another shape: not a membrane
        current = None
        if self.gradients_wanted:
            current = args[0] if args else next(iter(kwargs.values()), None)
            if not torch.is_tensor(current) or not current.requires_grad:
                raise ValueError(
                    f"the input current of {where} does not require grad: run the forward pass "
                    "with gradients enabled (not under torch.no_grad) and with trainable weights "
                    "before the layer"
                )
        call = _Call(spikes, self.spikes_wanted, membrane, after_reset, current)
        if current is not None:
            current.register_hook(partial(_store_grad, call))
        return call

    # assembly --------------------------------------------------------------------------------
    def _sequences_of(self, name):
        seqs = self._sequences[name]
        if not seqs:
            raise ValueError(
                f"layer {name!r} recorded no call inside the `with` block: was it run through "
                "its __call__ (a hook does not see neuron.multi_step(x) called directly; wrap "
                "the neuron in layers.Spiking)?"
            )
        if len(seqs) > 1 and all(s.get("no_state") and len(s["calls"]) == 1 for s in seqs):
            raise ValueError(
                f"layer {name!r} keeps no state and ran once per call of model, so where a "
                "sequence ends is unknown (the monitor groups such steps by the calls of model): "
                "pass as model the module whose one call runs all the time steps (your loop)"
            )
        return seqs

    def _stacked(self, name, field):
        """``[T, B, ...]`` of one field for each sequence of layer ``name``."""
        out = []
        for seq in self._sequences_of(name):
            parts = [getattr(c, field) for c in seq["calls"]]
            out.append(torch.stack(parts) if seq["steps"] else torch.cat(parts))
        return out

    def _joined(self, name, field):
        """The sequences of layer ``name`` joined along the batch dimension: ``[T, B, ...]``."""
        seqs = self._stacked(name, field)
        shapes = {(s.shape[0], *s.shape[2:]) for s in seqs}
        if len(shapes) > 1:
            raise ValueError(
                f"layer {name!r} ran sequences of different lengths or neuron shapes "
                f"({sorted(shapes)}), which cannot be joined into one [T, B, ...]: use one "
                "`with` block per length"
            )
        return torch.cat(seqs, dim=1) if len(seqs) > 1 else seqs[0]


def _store_grad(call, grad):
    call.grad = grad.detach()


def _membrane(module, kind, output):
    """``(membrane, after_reset)`` of one call: the last tensor of ``(spk, *state)`` (Norse: the
    state tuple's ``v``, after the reset), else the state the module keeps (``mem``;
    SpikingJelly's ``v``/``v_seq``, stored after the reset)."""
    if isinstance(output, tuple | list) and len(output) > 1:
        if torch.is_tensor(output[-1]):
            return output[-1].detach(), getattr(module, "reset_delay", True) is False
        if torch.is_tensor(getattr(output[-1], "v", None)):
            return output[-1].v.detach(), True
    kept = _kept_state(module)
    if torch.is_tensor(kept.get("mem")):
        return kept["mem"].detach().clone(), getattr(module, "reset_delay", True) is False
    sj = kept.get("v") if kind == "step" else getattr(module, "v_seq", None)
    if torch.is_tensor(sj):
        return sj.detach().clone(), True
    return None, False


# --- 4. The monitors ----------------------------------------------------------------------------


class ActivityMonitor(_Recorder):
    """Record each spiking layer's spikes (and membranes) in every forward pass of a ``with`` block::

        with ActivityMonitor(net) as mon:          # any network: see the module docstring
            net(x)
        mon.spikes["lif1"]             # [T, B, ...] spikes, passes joined along B
        mon.rates, mon.spikes_per_neuron

    Args:
        model: the ``torch.nn.Module`` that is run.
        layers: modules (or submodule names) to record; default :func:`spiking_layers`.
        calls: ``"step"`` or ``"sequence"``, how a layer the monitor does not recognise is
            called (see the module docstring).
        membranes: also record each layer's membrane potential (``.membranes``).
    """

    spikes_wanted = True

    def __init__(self, model, layers=None, calls=None, membranes=False):
        super().__init__(model, layers, calls)
        self.membranes_wanted = bool(membranes)

    @property
    def spikes(self):
        """``{layer: [T, B, ...] spikes}``."""
        return {n: self._joined(n, "spikes") for n in self.names}

    @property
    def membranes(self):
        """``{layer: [T, B, ...] membrane potentials}`` (needs ``membranes=True``)."""
        return {n: self.membrane(n) for n in self.names}

    def membrane(self, name):
        """The ``[T, B, ...]`` membrane potentials of one layer (needs ``membranes=True``)."""
        if not self.membranes_wanted:
            raise ValueError(
                "membranes were not recorded: use ActivityMonitor(..., membranes=True)"
            )
        if any(c.membrane is None for seq in self._sequences_of(name) for c in seq["calls"]):
            raise ValueError(
                f"layer {name!r} gave no membrane: expected (spk, *state) with the membrane "
                "last, or the state kept in the module as `mem` (snnTorch, spikelearn) or `v` "
                "(SpikingJelly; in step mode 'm' set store_v_seq=True), or a state with `.v` (Norse; "
                "its LIF needs record_states=True)"
            )
        return self._joined(name, "membrane")

    @property
    def after_reset(self):
        """``{layer: bool}``: True where the recorded membrane is the potential after the reset
        (SpikingJelly's ``v``; snnTorch with ``reset_delay=False``), not the one the threshold saw."""
        return {n: self._sequences_of(n)[0]["calls"][0].after_reset for n in self.names}

    def _totals(self, name):
        """``(spikes, neuron-samples, neuron-sample-steps)`` over every sequence of ``name``."""
        spikes = per_sample = per_step = 0.0
        for s in self._stacked(name, "spikes"):
            spikes += float(s.sum())
            per_sample += s[0].numel()
            per_step += s.numel()
        return spikes, per_sample, per_step

    @property
    def spikes_per_neuron(self):
        """``{layer: mean spikes per neuron per sample}`` over each whole sequence."""
        return {n: (lambda s, a, _: s / a)(*self._totals(n)) for n in self.names}

    @property
    def rates(self):
        """``{layer: mean spikes per neuron per time step}``."""
        return {n: (lambda s, _, b: s / b)(*self._totals(n)) for n in self.names}


class GradientMonitor(_Recorder):
    """Record ``∂L/∂x_l[t]``, the gradient at each spiking layer's input current, per time step::

        with GradientMonitor(net) as mon:
            loss_fn(net(x), y).backward()
        mon.norms       # [layers, T]: RMS over batch and neurons of ∂L/∂x_l[t]

    Inside the block ``mon.currents[layer]`` holds the input currents as they are in the graph
    (a list: one ``[T, B, ...]`` per sequence call, or one ``[B, ...]`` per step call), so
    ``torch.autograd.grad(loss, mon.currents[layer])`` gives the same gradients. Args as
    :class:`ActivityMonitor`.
    """

    gradients_wanted = True

    @property
    def currents(self):
        """``{layer: [input current of each call]}``, in the graph (dropped when the block ends)."""
        return {
            n: [c.current for seq in self._sequences_of(n) for c in seq["calls"]]
            for n in self.names
        }

    @property
    def grads(self):
        """``{layer: [T, B, ...] ∂L/∂current}`` over the sequences a backward pass reached
        (within one, a step the loss does not depend on has gradient zero)."""
        out = {}
        for name in self.names:
            seqs = []
            for seq in self._sequences_of(name):
                calls = seq["calls"]
                if all(c.grad is None for c in calls):
                    continue
                got = next(c.grad for c in calls if c.grad is not None)
                parts = [
                    c.grad if c.grad is not None else got.new_zeros(c.current_shape) for c in calls
                ]
                seqs.append(torch.stack(parts) if seq["steps"] else torch.cat(parts))
            if not seqs:
                raise RuntimeError(
                    f"no gradient recorded for layer {name!r}: run backward (or "
                    "torch.autograd.grad) inside the `with` block, on a loss that depends on it"
                )
            shapes = {(s.shape[0], *s.shape[2:]) for s in seqs}
            if len(shapes) > 1:
                raise ValueError(f"layer {name!r} has gradients of different lengths {shapes}")
            out[name] = torch.cat(seqs, dim=1)
        return out

    @property
    def norms(self):
        """``[layers, T]``: ``sqrt(mean over batch and neurons of (∂L/∂x_l[t])²)``."""
        grads = self.grads
        steps = {g.shape[0] for g in grads.values()}
        if len(steps) > 1:
            raise ValueError(f"the layers ran different numbers of time steps: {steps}")
        return torch.stack(
            [g.reshape(g.shape[0], -1).pow(2).mean(1).sqrt() for g in grads.values()]
        )


__all__ = ["CALLS", "spiking_layers", "ActivityMonitor", "GradientMonitor"]
