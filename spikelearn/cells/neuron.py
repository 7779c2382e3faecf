"""The neuron core: what every spiking neuron shares, written once.

A spiking neuron carries a state from one time step to the next (at least a membrane ``u``) and
does three things each step (Eshraghian et al. 2023, "Training Spiking Neural Networks Using
Lessons From Deep Learning", Proc. IEEE, arXiv 2109.12894)::

    r[t] = H(u[t-1] - θ[t-1])                   reset: did it fire last step? (detached)
    u[t] = charge(x[t], state[t-1])             the neuron's own equation (LIF: β·u[t-1] + x[t])
           then the reset, one of RESETS        (subtract: u[t] - r[t]·V_th, ...)
    o[t] = H(u[t] - θ[t])                       fire, with a surrogate gradient in backward

Only ``charge`` differs between neurons (SpikingJelly's ``BaseNode`` makes the same cut: the
subclass writes ``neuronal_charge``). So a neuron class writes only what is its own:

* ``state``: the names of the state it carries, in call order, the membrane ``"mem"`` last (a
  recurrent neuron, which needs its last spikes, starts with ``"spk"``);
* ``charge(x, *state)``: the new state (all of it but ``spk``) before the reset, membrane last;
* its parameters, registered with :meth:`Neuron.parameter` (checked, learnable or a buffer);
* optionally ``firing_threshold`` (a moving threshold, ALIF), ``rest`` (a state that does not
  start at zero), ``snntorch_zero`` and a fused ``kernel`` (see below).

The base owns the rest, once: parameter checks, starting the state from rest and checking its
shape, the reset, the surrogate spike, the optional quantiser of the state, the one-step call
``forward`` (``spk, mem = lif(x, mem)``, snnTorch's convention: ``(spk, *state)`` with the
membrane last, the spikes not repeated) and ``multi_step`` over a ``[T, B, ...]`` sequence.

**Resets** (``reset_mechanism``), each with one meaning for every neuron::

    "subtract"      u[t] = charge(x[t], u[t-1]) - r[t]·V_th        (soft reset; keeps the excess)
    "zero_before"   u[t] = charge(x[t], u[t-1]·(1 - r[t]))           (forget u, keep this step's input)
    "zero_after"    u[t] = charge(x[t], u[t-1])·(1 - r[t])           (forget u and this step's input)
    "none"          u[t] = charge(x[t], u[t-1])

snnTorch calls both zero resets ``"zero"``: its ``Leaky`` zeroes before charging, its
``Synaptic``, ``RLeaky`` and ``RSynaptic`` after. ``"zero"`` is accepted and means what it means
for the matching snnTorch neuron (the class attribute ``snntorch_zero``), so results stay equal to
snnTorch bit for bit; the neuron stores the unambiguous name.

**Fused kernels.** ``multi_step`` runs the step in a Python loop, unless the class names a fused
kernel (``kernel``, from :mod:`spikelearn.cells._fused`): one autograd node for the whole sequence,
the same numbers. A kernel declines a configuration it does not cover by returning ``None`` (the
fused LIF kernels need a spikelearn surrogate and no state quantiser); a subclass that writes its own ``charge`` does not inherit its parent's kernel unless
it says so (``kernel = ...`` in its class body), which the base checks when the class is defined.
"""

import torch
from torch import nn

from .._checks import (
    check_broadcast,
    check_choice,
    check_positive,
    check_probability,
    check_same_shape,
    check_sequence,
    check_tensor,
)
from . import surrogate as _surrogate

RESETS = ("subtract", "zero_before", "zero_after", "none")


class Neuron(nn.Module):
    """Base class of every spiking neuron; a subclass writes ``state`` and ``charge``.

    Args:
        threshold: firing threshold ``V_th > 0`` (float or per-neuron tensor).
        spike_grad: surrogate gradient (default ``surrogate.atan()``, as in snnTorch).
        reset_mechanism: one of :data:`RESETS`, or snnTorch's ``"zero"`` (see the module text).
        learn_threshold: make ``V_th`` a trainable parameter.
        state_quant: optional callable applied to every state variable but the spikes after each
            update (snnTorch's ``state_quant``; e.g. ``quant.state_quant(8)`` or
            ``quant.fixed_point(...)``).
    """

    state = ("mem",)  # the state a step carries, in call order; the membrane last
    snntorch_zero = "zero_before"  # what snnTorch's reset_mechanism="zero" means for this neuron
    kernel = None  # a fused multi-step kernel from cells._fused, or None: the step loop
    integer = False  # True for integer-only neurons (int64 state and inputs)
    kind = "neuron"  # for the model walker (spikelearn.walk)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "charge" in vars(cls) and "kernel" not in vars(cls) and cls.kernel is not None:
            raise TypeError(
                f"{cls.__name__} writes its own charge() but would inherit the fused kernel "
                f"{cls.kernel.__name__} of its parent, which computes the parent's equation: set "
                f"`kernel = None` in {cls.__name__} (the step loop) or name a kernel for it"
            )
        if cls.state[-1] != "mem":
            raise TypeError(f"{cls.__name__}.state must end with 'mem', got {cls.state}")

    def __init__(
        self,
        threshold=1.0,
        spike_grad=None,
        reset_mechanism="subtract",
        learn_threshold=False,
        state_quant=None,
    ):
        super().__init__()
        self._per_neuron = []
        dtype = torch.int64 if self.integer else None
        self.parameter("threshold", threshold, learn_threshold, check_positive, dtype)
        self.spike_grad = _surrogate.atan() if spike_grad is None else spike_grad
        if not callable(self.spike_grad):
            raise TypeError(f"spike_grad must be callable, got {type(spike_grad).__name__}")
        if reset_mechanism == "zero":
            reset_mechanism = self.snntorch_zero
        self.reset_mechanism = check_choice("reset_mechanism", reset_mechanism, RESETS + ("zero",))
        if state_quant is not None and not callable(state_quant):
            raise TypeError(f"state_quant must be callable, got {type(state_quant).__name__}")
        self.state_quant = state_quant

    def parameter(self, name, value, learn=False, check=check_probability, dtype=None):
        """Register a checked per-neuron parameter: an ``nn.Parameter`` if ``learn``, else a buffer."""
        value = torch.as_tensor(check(name, value), dtype=dtype or torch.get_default_dtype())
        value = value.clone()
        if learn:
            setattr(self, name, nn.Parameter(value))
        else:
            self.register_buffer(name, value)
        self._per_neuron.append(name)

    # ---- what a neuron writes ------------------------------------------------------------

    def charge(self, x, *state):
        """The new state (every entry of ``state`` but ``spk``) before the reset, membrane last."""
        raise NotImplementedError(f"{type(self).__name__} must define charge(x, *state)")

    def firing_threshold(self, *state):
        """``θ`` the membrane is compared with (the fixed ``V_th`` unless the neuron adapts it)."""
        return self.threshold

    def rest(self, name, like):
        """Where state ``name`` starts when it is not given: zeros shaped like one input step."""
        return torch.zeros_like(like)

    # ---- what the base does, once ---------------------------------------------------------

    def outputs(self):
        """Names of what a step returns: the spikes, then the state (the spikes not repeated)."""
        return ("spk", *(name for name in self.state if name != "spk"))

    def start(self, like, state, where="input_"):
        """The state to begin from: each ``None`` from :meth:`rest`, each tensor checked."""
        if len(state) > len(self.state):
            raise TypeError(
                f"{type(self).__name__} takes the state ({', '.join(self.state)}), "
                f"got {len(state)} state tensors"
            )
        state = tuple(state) + (None,) * (len(self.state) - len(state))
        values = []
        for name, value in zip(self.state, state, strict=True):
            if value is None:
                value = self.rest(name, like)
            else:
                check_tensor(name, value, finite=False, floating=not self.integer)
                check_same_shape(name, value, where, like)
            values.append(value)
        for name in self._per_neuron:
            check_broadcast(name, getattr(self, name), where, like)
        return values

    def step(self, x, state):
        """One update from the started ``state`` (a list in :attr:`state` order); no checks."""
        mem = state[-1]
        reset = (mem - self.firing_threshold(*state) > 0).to(mem.dtype).detach()  # r[t]
        if self.reset_mechanism == "zero_before":
            state = [*state[:-1], mem * (1 - reset)]
        new = self.charge(x, *state)
        new = list(new) if isinstance(new, tuple | list) else [new]
        if self.reset_mechanism == "subtract":
            new[-1] = new[-1] - reset * self.threshold
        elif self.reset_mechanism == "zero_after":
            new[-1] = new[-1] * (1 - reset)
        if self.state_quant is not None:
            new = [self.state_quant(value) for value in new]
        # the threshold may depend on the new state (ALIF); its spikes are still the last ones
        after = [state[0], *new] if self.state[0] == "spk" else new
        spk = self.spike_grad(new[-1] - self.firing_threshold(*after))
        return (spk, *new)

    def forward(self, input_, *state, **named):
        """One time step: ``spk, *state = neuron(input_, *state)`` (``None`` starts from rest);
        the state may also be passed by name (``lif(x, mem=mem)``)."""
        check_tensor("input_", input_, floating=not self.integer)
        return self.step(input_, self.start(input_, _by_name(self, state, named)))

    def multi_step(self, x_seq, *state, **named):
        """Run a ``[T, B, ...]`` sequence (``T >= 1``); returns every output of a step stacked on
        time, ``(spk_seq, ..., mem_seq)``: the class's kernel if it has one that covers this
        configuration, else the step loop."""
        check_sequence("x_seq", x_seq, floating=not self.integer)
        state = self.start(x_seq[0], _by_name(self, state, named), "x_seq[0]")
        if self.kernel is not None:
            out = self.kernel(x_seq, *state)  # None: the kernel does not cover this configuration
            if out is not None:
                return out
        return self.step_loop(x_seq, state)

    def step_loop(self, x_seq, state):
        """:meth:`step` over every time step from the started ``state``, outputs stacked on time."""
        carry = "spk" in self.state
        steps = []
        for x in x_seq:
            out = self.step(x, state)
            state = list(out) if carry else list(out[1:])
            steps.append(out)
        return tuple(torch.stack(s) for s in zip(*steps, strict=True))

    def extra_repr(self):
        names = [n for n in self._per_neuron if n != "threshold"] + [
            "threshold"
        ]  # snnTorch's order
        shown = ", ".join(f"{name}={_show(getattr(self, name))}" for name in names)
        quant = f", state_quant={self.state_quant!r}" if self.state_quant is not None else ""
        return f"{shown}, reset={self.reset_mechanism!r}, spike_grad={self.spike_grad!r}{quant}"


def _by_name(neuron, state, named):
    """Positional state plus state passed by name, in :attr:`Neuron.state` order."""
    if not named:
        return state
    unknown = set(named) - set(neuron.state)
    if unknown:
        raise TypeError(
            f"{type(neuron).__name__} has the state ({', '.join(neuron.state)}), "
            f"got {', '.join(sorted(unknown))}"
        )
    state = list(state) + [None] * (len(neuron.state) - len(state))
    for i, name in enumerate(neuron.state):
        if name in named:
            if state[i] is not None:
                raise TypeError(f"{name} given twice, by position and by name")
            state[i] = named[name]
    return state


def _show(value):
    """A scalar as ``0.9``, a per-neuron tensor as ``tensor(shape)`` (for ``repr``)."""
    return f"{value.item():.4g}" if value.numel() == 1 else f"tensor{tuple(value.shape)}"


__all__ = ["Neuron", "RESETS"]
