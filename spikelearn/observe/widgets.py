"""Interactive explorers for the tutorials: move a slider, watch the neuron or the code change.

Each factory returns an ``ipywidgets.VBox`` (display it as the last line of a cell) that also
keeps what it computed, so it can be driven from code and tested without a browser::

    w = lif_explorer()
    w.controls["beta"].value = 0.95   # the same as moving the slider
    w.result["spk"].sum()             # the spikes it just simulated
    w.figure                          # the matplotlib Figure it drew
    w.png                             # that frame as PNG bytes, shown in the widget's Image

Every frame is rendered to PNG by the explorer itself (matplotlib's Agg, no pyplot), so it shows
as an image in any kernel state and works headless. Its display data also carries that PNG, so a
static page of an executed notebook (the docs, GitHub) shows the last frame where a live Jupyter
shows the sliders.
"""

import io

import ipywidgets as widgets
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._checks import check_choice, check_int, check_range, check_tensor
from ..cells import encoding
from ..cells.neurons import LIF
from . import plot

# Controls sit in a grid that wraps: as many >= 340 px columns as fit, so every slider keeps a
# draggable track (>= ~170 px) from a 1024 px window upwards, and one column below that.
GRID = widgets.Layout(
    grid_template_columns="repeat(auto-fill, minmax(340px, 1fr))", grid_gap="2px 24px"
)
DPI = 100


class Explorer(widgets.VBox):
    """Controls on top, the figure (a PNG ``ipywidgets.Image``) below; ``update()`` on every change.

    Attributes:
        controls: dict of the input widgets by name.
        result: dict of the tensors computed by the last update.
        figure: the matplotlib Figure of the last update.
        png: that figure as PNG bytes (what ``image`` shows).
        image: the ``ipywidgets.Image`` the figure is shown in.
    """

    def __init__(self, controls, compute, draw, figsize):
        self.controls = controls
        self.figure = Figure(figsize=figsize, dpi=DPI)
        FigureCanvasAgg(self.figure)
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.result, self.png = {}, b""
        self._compute, self._draw = compute, draw
        for c in controls.values():
            c.layout.width = "auto"
        super().__init__([widgets.GridBox(list(controls.values()), layout=GRID), self.image])
        for c in controls.values():
            c.observe(lambda _change: self.update(), names="value")
        self.update()

    @property
    def values(self):
        """The current value of every control, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def update(self):
        """Recompute from the current control values, redraw and re-render the PNG."""
        self.result = self._compute(**self.values)
        self.figure.clear()
        self._draw(self.figure, self.result, **self.values)
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=DPI)
        self.png = buf.getvalue()
        self.image.value = self.png

    def _repr_mimebundle_(self, **kwargs):
        """The widget for a live frontend, plus the current frame as PNG for static pages."""
        import base64

        data = super()._repr_mimebundle_(**kwargs)
        data["image/png"] = base64.b64encode(self.png).decode("ascii")
        return data


def _slider(name, value, lo, hi, step, description, cls=widgets.FloatSlider):
    """A slider starting at ``value``, which must lie in its range (a slider would clamp it)."""
    if cls is widgets.IntSlider:
        check_int(name, value)
    check_range(name, value, lo, hi)
    style = {"description_width": "110px"}
    return cls(value=value, min=lo, max=hi, step=step, description=description, style=style)


def _dropdown(name, value, options):
    check_choice(name, value, options)
    style = {"description_width": "110px"}
    return widgets.Dropdown(options=list(options), value=value, description=name, style=style)


def lif_explorer(beta=0.9, threshold=1.0, current=0.15, reset="subtract", num_steps=100):
    """A LIF neuron driven by a constant current: sliders for β, threshold, current and reset.

    ``result`` holds ``cur``, ``mem`` and ``spk`` (each ``[T]``) and ``rate`` (spikes per step).

    Args:
        beta, threshold, current, reset, num_steps: starting values of the controls; each must
            lie in its slider's range (β in [0, 1], threshold in [0.1, 2], current in [0, 1.5],
            num_steps an integer in [10, 300], reset "subtract" or "zero"), else ``ValueError``.

    Returns:
        An :class:`Explorer` (an ``ipywidgets.VBox``).
    """
    controls = {
        "beta": _slider("beta", beta, 0.0, 1.0, 0.01, "β (decay)"),
        "threshold": _slider("threshold", threshold, 0.1, 2.0, 0.05, "threshold"),
        "current": _slider("current", current, 0.0, 1.5, 0.01, "input current"),
        "reset": _dropdown("reset", reset, ("subtract", "zero")),
        "num_steps": _slider("num_steps", num_steps, 10, 300, 10, "steps", widgets.IntSlider),
    }

    def compute(beta, threshold, current, reset, num_steps):
        lif = LIF(beta=beta, threshold=threshold, reset_mechanism=reset)
        cur = torch.full((num_steps, 1), float(current))
        with torch.no_grad():
            spk, mem = lif.multi_step(cur)
        return {"cur": cur[:, 0], "mem": mem[:, 0], "spk": spk[:, 0], "rate": spk.mean().item()}

    def draw(fig, r, threshold, **_):
        ax0, ax1 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        plot.membrane(r["mem"], threshold=threshold, ax=ax0)
        ax0.set_xlabel("")
        ax0.set_title(f"{int(r['spk'].sum())} spikes, rate {r['rate']:.3f} per step")
        plot.raster(r["spk"][:, None], ax=ax1)
        ax1.set_yticks([])
        fig.tight_layout()

    return Explorer(controls, compute, draw, figsize=(7, 3.5))


CODES = ("rate", "poisson", "latency", "delta", "direct")


def _encode(image, code, num_steps, gain, tau, threshold, seed):
    x = image.unsqueeze(0)  # [1, H, W]
    if code == "rate":
        return encoding.rate(x, num_steps, gain=gain, seed=seed)
    if code == "poisson":
        return encoding.poisson(x, num_steps, gain=gain, seed=seed)
    if code == "latency":
        return encoding.latency(x, num_steps, tau=tau, threshold=threshold, linear=True, clip=True)
    if code == "delta":
        return encoding.delta(encoding.saccades(x, num_steps), threshold=threshold, off_spike=True)
    return encoding.direct(x, num_steps)


def encoding_explorer(image=None, code="rate", num_steps=30, gain=1.0, tau=10.0, threshold=0.1):
    """Encode one image with a chosen code; see the spikes per pixel and the raster.

    ``gain`` acts on rate/poisson, ``tau`` on latency (linear), ``threshold`` on latency and delta
    (delta sees the image moving in :func:`spikelearn.encoding.saccades`). ``result`` holds
    ``spikes`` (``[T, 1, H, W]``), ``counts`` (``[H, W]``) and ``total`` (spikes in the image).

    Args:
        image: ``[H, W]`` intensities in [0, 1], a tensor or array (default: the first
            scikit-learn digit).
        code, num_steps, gain, tau, threshold: starting values of the controls; each must lie in
            its slider's range (code one of :data:`CODES`, num_steps an integer in [5, 100], gain
            in [0, 1], tau in [1, 50], threshold in [0.01, 0.99]), else ``ValueError``.

    Returns:
        An :class:`Explorer` (an ``ipywidgets.VBox``).
    """
    if image is None:
        from sklearn.datasets import load_digits

        image = torch.tensor(load_digits().images[0] / 16.0, dtype=torch.float32)
    if not isinstance(image, torch.Tensor):
        try:
            image = torch.as_tensor(image, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"image must be an [H, W] tensor or array, got {type(image).__name__}"
            ) from None
    image = check_tensor("image", image.detach().float().cpu(), min_dim=2, max_dim=2)
    check_range("image", image, 0, 1)
    controls = {
        "code": _dropdown("code", code, CODES),
        "num_steps": _slider("num_steps", num_steps, 5, 100, 5, "steps", widgets.IntSlider),
        "gain": _slider("gain", gain, 0.0, 1.0, 0.05, "gain"),
        "tau": _slider("tau", tau, 1.0, 50.0, 1.0, "tau"),
        "threshold": _slider("threshold", threshold, 0.01, 0.99, 0.01, "threshold"),
    }

    def compute(code, num_steps, gain, tau, threshold):
        spikes = _encode(image, code, num_steps, gain, tau, threshold, seed=0)
        counts = encoding.spike_count(spikes)[0]
        return {"spikes": spikes, "counts": counts, "total": counts.sum().item()}

    def draw(fig, r, code, **_):
        ax0, ax1, ax2 = fig.subplots(1, 3, width_ratios=[1, 1, 2.2])
        ax0.imshow(image.numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax0.set_title("input")
        ax1.imshow(r["counts"].numpy(), cmap="viridis")
        ax1.set_title("spikes per pixel" if code != "direct" else "summed current")
        for ax in (ax0, ax1):
            ax.set_xticks([])
            ax.set_yticks([])
        plot.raster(r["spikes"][:, 0], ax=ax2)
        ax2.set_ylabel("pixel")
        ax2.set_title(f"{code}: {r['total']:.0f} {'units' if code == 'direct' else 'spikes'}")
        fig.tight_layout()

    return Explorer(controls, compute, draw, figsize=(10, 3))


__all__ = ["Explorer", "lif_explorer", "encoding_explorer", "CODES"]
