"""Input checks shared by every module, so bad input fails early with one clear message.

Each check names the parameter, the value it got and what it expected, e.g.
``ValueError: beta must be in [0, 1], got 1.3``.
"""

import numbers

import torch


def _show(value):
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return f"{value.item():g}"
        return f"tensor of shape {tuple(value.shape)} (min {value.min().item():g}, max {value.max().item():g})"
    return repr(value)


def _as_number_or_tensor(name, value):
    if isinstance(value, torch.Tensor):
        if not (value.is_floating_point() or value.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"{name} must be a real number or tensor, got dtype {value.dtype}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return value


def check_range(name, value, low=None, high=None, low_open=False, high_open=False):
    """Raise ``ValueError`` unless every entry of ``value`` lies in the given interval (NaN fails)."""
    value = _as_number_or_tensor(name, value)
    v = value.detach().double() if isinstance(value, torch.Tensor) else torch.tensor(float(value))
    ok = ~torch.isnan(v)
    if low is not None:
        ok &= (v > low) if low_open else (v >= low)
    if high is not None:
        ok &= (v < high) if high_open else (v <= high)
    if not bool(ok.all()):
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {lo}, {hi}, got {_show(value)}")
    return value


def check_positive(name, value):
    """Raise ``ValueError`` unless ``value > 0``."""
    return check_range(name, value, low=0, low_open=True)


def check_probability(name, value):
    """Raise ``ValueError`` unless ``0 <= value <= 1``."""
    return check_range(name, value, 0, 1)


def check_int(name, value, low=None):
    """Raise unless ``value`` is an integer (and ``>= low`` when given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    return int(value)


def check_choice(name, value, choices):
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_tensor(name, x, min_dim=0, max_dim=None, finite=True, floating=True):
    """Raise ``TypeError`` for a non-tensor (or, with ``floating``, a non-float tensor),
    ``ValueError`` for a wrong rank or NaN/inf."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < min_dim or (max_dim is not None and x.dim() > max_dim):
        want = f"{min_dim}" if max_dim == min_dim else f">= {min_dim}"
        if max_dim is not None and max_dim != min_dim:
            want = f"{min_dim} to {max_dim}"
        raise ValueError(
            f"{name} must have {want} dimensions, got shape {tuple(x.shape)} ({x.dim()} dims)"
        )
    # one reduction: a finite sum proves every entry finite (NaN and inf propagate into it)
    if (
        finite
        and x.is_floating_point()
        and not bool(torch.isfinite(x.sum()))
        and not bool(torch.isfinite(x).all())
    ):
        bad = "NaN" if bool(torch.isnan(x).any()) else "inf"
        raise ValueError(f"{name} must be finite, got a tensor containing {bad}")
    return x


def check_same_shape(name, x, ref_name, ref):
    """Raise ``ValueError`` unless ``x`` has the same shape as ``ref``."""
    if x.shape != ref.shape:
        raise ValueError(
            f"{name} must have the shape of {ref_name} {tuple(ref.shape)}, got {tuple(x.shape)}"
        )
    return x


def check_sequence(name, x_seq, min_dim=2, finite=True, floating=True):
    """``check_tensor`` for a time-major ``[T, B, ...]`` sequence, which needs ``T >= 1``."""
    check_tensor(name, x_seq, min_dim=min_dim, finite=finite, floating=floating)
    if x_seq.shape[0] < 1:
        raise ValueError(
            f"{name} must have at least one time step (T >= 1 in [T, B, ...]), "
            f"got shape {tuple(x_seq.shape)}"
        )
    return x_seq


def check_dtype(name, x, module):
    """Raise ``TypeError`` unless ``x`` has the dtype of ``module``'s parameters (when it has any)."""
    p = next(iter(module.parameters()), None)
    if p is not None and p.is_floating_point() and x.dtype != p.dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but {type(module).__name__}'s parameters are {p.dtype}; "
            f"convert one to the other (e.g. {name}.to({p.dtype}) or model.to({x.dtype}))"
        )
    return x


def check_broadcast(name, value, ref_name, ref):
    """Raise ``ValueError`` unless the per-neuron ``value`` broadcasts to ``ref``'s shape."""
    if value.numel() == 1:
        return value
    try:
        ok = torch.broadcast_shapes(value.shape, ref.shape) == ref.shape
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"{name} has shape {tuple(value.shape)}, which does not broadcast to {ref_name}'s shape "
            f"{tuple(ref.shape)}: give one value or one per neuron (e.g. shape {tuple(ref.shape[-1:])})"
        )
    return value


__all__ = [
    "check_range",
    "check_positive",
    "check_probability",
    "check_int",
    "check_choice",
    "check_tensor",
    "check_same_shape",
    "check_sequence",
    "check_dtype",
    "check_broadcast",
]
