"""Spike-timing-dependent plasticity (STDP): pair-based, with pre- and postsynaptic traces.

Bi & Poo 1998 (J. Neurosci. 18:10464) paired one presynaptic and one postsynaptic spike in
cultured hippocampal neurons and measured the change of the synapse as a function of their
timing ``Δt = t_post - t_pre``: potentiation when the input comes first, depression when it comes
second, both fading with ``|Δt|``. The pair-based model of that window (Song, Miller & Abbott
2000, Nat. Neurosci. 3:919)::

    Δw(Δt) =  A+ · exp(-Δt/τ+)      Δt >= 0   (pre before post: potentiation)
    Δw(Δt) = -A- · exp( Δt/τ-)      Δt <  0   (post before pre: depression)

summed over all pre/post pairs. Morrison, Diesmann & Gerstner 2008 (Biol. Cybern. 98:459) compute
that sum online with one trace per neuron, decayed by ``d± = exp(-dt/τ±)`` every step of length
``dt``. At step ``t``, in this order::

    x_pre[t]  = d+ · x_pre[t-1] + o_pre[t]          presynaptic trace (includes this step's spike)
    x_post'   = d- · x_post[t-1]                    postsynaptic trace, decayed only
    w        += A+ · f+(w) · o_post[t] · x_pre[t]   a post spike reads the pre trace: potentiation
    w        -= A- · f-(w) · o_pre[t]  · x_post'    a pre spike reads the post trace: depression
    x_post[t] = x_post' + o_post[t]

The weight dependence ``f±`` bounds the weights:

* ``"additive"`` (Song, Miller & Abbott 2000): ``f+ = f- = 1``, then ``w`` is clipped to
  ``[w_min, w_max]`` (hard bounds); the weights end up bimodal, at the bounds;
* ``"multiplicative"`` (soft bounds on both sides: Rubin, Lee & Sompolinsky 2001, Phys. Rev.
  Lett. 86:364; Gütig et al. 2003, J. Neurosci. 23:3697 with μ = 1): ``f+ = w_max - w``,
  ``f- = w - w_min``; the weights settle inside the bounds, in a unimodal distribution. (van
  Rossum, Bi & Turrigiano 2000, J. Neurosci. 20:8812, found the same with additive potentiation
  and multiplicative depression, ``f+ = 1``, ``f- = w``.)

**The window of this discretisation is exact on the grid.** A pre spike at step ``s`` and a post
spike at step ``s + k`` (``k >= 0``) change the weight once, at the post spike, by
``A+·f+·d+^k = A+·f+·exp(-k·dt/τ+)``; a post spike at ``s`` and a pre spike at ``s + k``
(``k >= 1``) by ``-A-·f-·exp(-k·dt/τ-)``. So at every ``Δt = k·dt`` the simulated window equals
the analytic one, up to floating-point rounding only: ``d^k`` is a product of ``k`` roundings
(relative error at most ``(|k| + 1)·u``, ``u`` the unit roundoff of the dtype) and ``Δw`` read as
``w_after - w_before`` adds at most ``u·|w|``. The one convention is ``Δt = 0``: a pre and a post
spike in the same step count as causal, ``Δw(0) = +A+·f+`` (the right-hand limit of the
window), because a spikelearn neuron ``u[t] = β·u[t-1] + W·x[t]`` is driven by its input in the
same step. The discretisation error proper is that of spike times off the grid: a continuous
``Δt`` is represented as the nearest ``k·dt``, so the simulated window differs from
``Δw(Δt)`` by at most ``A·exp(-|Δt|/τ)·(exp(dt/(2τ)) - 1) ≈ A·exp(-|Δt|/τ)·dt/(2τ)``, except in
``(-dt/2, 0)``, where the sign flips (``Δt`` rounds to the causal ``0``). :func:`measure_window`
measures the window by simulation; ``tests/test_plasticity.py`` checks it against
:meth:`STDP.window` on random parameters.

Use it step by step with any spikelearn neuron (:func:`run_stdp` is this loop)::

    lif, rule = LIF(beta=0.9), STDP(a_plus=0.01, a_minus=0.012)
    mem, traces = None, None
    for pre in pre_spikes:                        # [T, B, n_pre] spikes
        post, mem = lif(pre @ w.T, mem)           # w: [n_post, n_pre]
        w, traces = rule(w, pre, post, traces)
"""

import math

import torch

from .._checks import (
    check_choice,
    check_positive,
    check_range,
    check_same_shape,
    check_sequence,
    check_tensor,
)

WEIGHT_DEPENDENCES = ("additive", "multiplicative")


class STDP:
    """Pair-based STDP with traces (Morrison et al. 2008), all-to-all pairing.

    Args:
        a_plus, a_minus: amplitudes ``A+``, ``A- >= 0`` of potentiation and depression.
        tau_plus, tau_minus: time constants ``τ+``, ``τ- > 0`` of the window (same unit as dt).
        dt: simulation step (> 0); the traces decay by ``exp(-dt/τ)`` per step.
        weight_dependence: ``"additive"`` (hard bounds) or ``"multiplicative"`` (soft bounds).
        w_min, w_max: weight bounds, ``w_min < w_max``.
    """

    def __init__(
        self,
        a_plus=0.01,
        a_minus=0.0105,
        tau_plus=20.0,
        tau_minus=20.0,
        dt=1.0,
        weight_dependence="additive",
        w_min=0.0,
        w_max=1.0,
    ):
        self.a_plus = float(check_range("a_plus", a_plus, low=0))
        self.a_minus = float(check_range("a_minus", a_minus, low=0))
        self.tau_plus = float(check_positive("tau_plus", tau_plus))
        self.tau_minus = float(check_positive("tau_minus", tau_minus))
        self.dt = float(check_positive("dt", dt))
        self.weight_dependence = check_choice(
            "weight_dependence", weight_dependence, WEIGHT_DEPENDENCES
        )
        self.w_min = float(check_range("w_min", w_min))
        self.w_max = float(check_range("w_max", w_max, low=self.w_min, low_open=True))

    @property
    def decay_plus(self):
        """``d+ = exp(-dt/τ+)``: the presynaptic trace's decay per step."""
        return math.exp(-self.dt / self.tau_plus)

    @property
    def decay_minus(self):
        """``d- = exp(-dt/τ-)``: the postsynaptic trace's decay per step."""
        return math.exp(-self.dt / self.tau_minus)

    def window(self, delta_t, w=None):
        """The analytic window ``Δw(Δt)``, ``Δt = t_post - t_pre`` (``Δt = 0`` counts as causal).

        For the multiplicative rule pass the weight ``w`` before the pair, in ``[w_min, w_max]``
        (default: mid-range).
        """
        try:
            delta_t = torch.as_tensor(delta_t)
        except (TypeError, RuntimeError) as err:
            raise TypeError(
                f"delta_t must be a number, a sequence of numbers or a tensor, "
                f"got {type(delta_t).__name__} {delta_t!r}"
            ) from err
        if delta_t.dtype == torch.bool or delta_t.is_complex():
            raise TypeError(f"delta_t must hold real numbers, got dtype {delta_t.dtype}")
        if not delta_t.is_floating_point():
            delta_t = delta_t.to(torch.get_default_dtype())
        check_tensor("delta_t", delta_t)
        w = self._check_weight(w)
        plus, minus = self._dependence(torch.as_tensor(w, dtype=delta_t.dtype))
        ltp = self.a_plus * plus * torch.exp(-delta_t.clamp(min=0) / self.tau_plus)
        ltd = -self.a_minus * minus * torch.exp(delta_t.clamp(max=0) / self.tau_minus)
        return torch.where(delta_t >= 0, ltp, ltd)

    def _check_weight(self, w):
        """``w`` inside the rule's bounds ``[w_min, w_max]`` (default: mid-range)."""
        if w is None:
            return (self.w_min + self.w_max) / 2
        return check_range("w", w, low=self.w_min, high=self.w_max)

    def _dependence(self, w):
        if self.weight_dependence == "additive":
            return torch.ones_like(w), torch.ones_like(w)
        return self.w_max - w, w - self.w_min

    def __call__(self, weight, pre_spk, post_spk, traces=None):
        """One step: returns ``(weight, traces)``, the updated ``[n_post, n_pre]`` weight and
        the traces ``(x_pre, x_post)`` to pass to the next step (``None`` at the first step).

        Spikes are ``[n_pre]``/``[n_post]`` or batched ``[B, n_pre]``/``[B, n_post]``; a batch
        sums its pairs into one update. The weight is not modified in place.
        """
        check_tensor("weight", weight, min_dim=2, max_dim=2)
        check_tensor("pre_spk", pre_spk, min_dim=1, max_dim=2)
        check_tensor("post_spk", post_spk, min_dim=1, max_dim=2)
        pre, post = pre_spk.reshape(-1, pre_spk.shape[-1]), post_spk.reshape(-1, post_spk.shape[-1])
        if pre.shape[0] != post.shape[0]:
            raise ValueError(
                f"pre_spk and post_spk must have the same batch size, got {tuple(pre_spk.shape)} "
                f"and {tuple(post_spk.shape)}"
            )
        if weight.shape != (post.shape[1], pre.shape[1]):
            raise ValueError(
                f"weight must have shape (n_post, n_pre) = {(post.shape[1], pre.shape[1])}, "
                f"got {tuple(weight.shape)}"
            )
        with torch.no_grad():
            if traces is None:
                x_pre, x_post = torch.zeros_like(pre), torch.zeros_like(post)
            else:
                x_pre, x_post = traces
                check_same_shape("traces[0]", x_pre, "pre_spk", pre)
                check_same_shape("traces[1]", x_post, "post_spk", post)
            x_pre = self.decay_plus * x_pre + pre
            x_post = self.decay_minus * x_post
            plus, minus = self._dependence(weight)
            ltp = post.T.to(weight.dtype) @ x_pre.to(weight.dtype)  # Σ_b o_post,j · x_pre,i
            ltd = x_post.T.to(weight.dtype) @ pre.to(weight.dtype)  # Σ_b x_post,j · o_pre,i
            weight = weight + self.a_plus * plus * ltp - self.a_minus * minus * ltd
            weight = weight.clamp(self.w_min, self.w_max)
            x_post = x_post + post
        return weight, (x_pre, x_post)

    def __repr__(self):
        return (
            f"STDP(a_plus={self.a_plus:g}, a_minus={self.a_minus:g}, tau_plus={self.tau_plus:g}, "
            f"tau_minus={self.tau_minus:g}, dt={self.dt:g}, "
            f"weight_dependence={self.weight_dependence!r}, w_min={self.w_min:g}, w_max={self.w_max:g})"
        )


def measure_window(rule, lags, w=None, dtype=torch.float64):
    """The learning window by simulation: one pre/post spike pair per lag, through ``rule``.

    Each lag ``k`` (in steps, ``k = (t_post - t_pre)/dt``, any sign) is one synapse ``i -> i`` of
    a square weight starting at ``w`` (default mid-range); its pre neuron fires once and its post
    neuron ``k`` steps later. Off-diagonal synapses mix different pairs and are ignored. ``w`` must
    lie in the rule's bounds ``[w_min, w_max]``; with the additive rule leave it room for the
    change (``w_min + A- <= w <= w_max - A+``), or the hard bound clips it.

    Returns:
        ``(delta_t, dw)``: ``delta_t = lags·dt`` and the simulated ``Δw`` of each pair, which
        equal ``rule.window(delta_t, w)`` up to rounding (see the module docstring).
    """
    if not isinstance(rule, STDP):
        raise TypeError(f"rule must be a spikelearn.plasticity.STDP, got {type(rule).__name__}")
    lags = torch.as_tensor(lags)
    if lags.dim() != 1 or lags.numel() == 0 or lags.is_floating_point():
        raise ValueError(f"lags must be a non-empty 1-D sequence of integers, got {lags!r}")
    n, steps = lags.numel(), int(lags.abs().max()) + 1
    t_pre = (-lags).clamp(min=0)
    t_post = t_pre + lags
    pre = torch.zeros(steps, n, dtype=dtype)
    post = torch.zeros(steps, n, dtype=dtype)
    pre[t_pre, torch.arange(n)] = 1
    post[t_post, torch.arange(n)] = 1
    w0 = float(rule._check_weight(w))
    weight, traces = torch.full((n, n), w0, dtype=dtype), None
    for t in range(steps):
        weight, traces = rule(weight, pre[t], post[t], traces)
    return lags.to(dtype) * rule.dt, weight.diagonal() - w0


def run_stdp(neuron, weight, pre_seq, rule):
    """Run ``neuron`` on input spikes through ``weight`` step by step, with STDP on ``weight``.

    Args:
        neuron: a spikelearn neuron with the single-step call ``spk, mem = neuron(cur, mem)``.
        weight: ``[n_post, n_pre]`` initial weight (not modified in place).
        pre_seq: ``[T, n_pre]`` or ``[T, B, n_pre]`` presynaptic spikes.
        rule: an :class:`STDP` rule.

    Returns:
        ``(weight, post_seq, mem_seq)``: the learned weight and the neuron's spikes and membrane
        ``[T, ..., n_post]``.
    """
    if not isinstance(rule, STDP):
        raise TypeError(f"rule must be a spikelearn.plasticity.STDP, got {type(rule).__name__}")
    if not callable(neuron):
        raise TypeError(f"neuron must be callable as spk, mem = neuron(cur, mem), got {neuron!r}")
    check_sequence("pre_seq", check_tensor("pre_seq", pre_seq, min_dim=2, max_dim=3))
    check_tensor("weight", weight, min_dim=2, max_dim=2)
    if weight.shape[1] != pre_seq.shape[-1]:
        raise ValueError(
            f"weight must have shape (n_post, n_pre) with n_pre = {pre_seq.shape[-1]} inputs "
            f"(the last dimension of pre_seq {tuple(pre_seq.shape)}), got {tuple(weight.shape)}"
        )
    if weight.dtype != pre_seq.dtype:
        raise TypeError(
            f"weight has dtype {weight.dtype} but pre_seq {pre_seq.dtype}; convert one to the other"
        )
    mem, traces, spikes, mems = None, None, [], []
    with torch.no_grad():
        for pre in pre_seq:
            post, mem = neuron(pre @ weight.T, mem)
            weight, traces = rule(weight, pre, post, traces)
            spikes.append(post)
            mems.append(mem)
    return weight, torch.stack(spikes), torch.stack(mems)


__all__ = ["STDP", "WEIGHT_DEPENDENCES", "measure_window", "run_stdp"]
