"""Interactive explorers for the tutorials: move a slider, watch the neuron or the code change.

Each factory returns an ``ipywidgets.VBox`` (display it as the last line of a cell) that also
keeps what it computed, so it can be driven from code and tested without a browser::

    w = lif_explorer()
    w.controls["beta"].value = 0.95   # the same as moving the slider
    w.result["spk"].sum()             # the spikes it just simulated
    w.figure                          # the matplotlib Figure it drew

The figures are plain ``matplotlib.figure.Figure`` objects, so they work headless (Agg).
"""

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from . import encoding, plot
from .neurons import LIF


class Explorer(widgets.VBox):
    """Sliders on top, a figure below; ``update()`` runs on every change.

    Attributes:
        controls: dict of the input widgets by name.
        result: dict of the tensors computed by the last update.
        figure: the matplotlib Figure of the last update.
        output: the ``ipywidgets.Output`` the figure is shown in.
    """

    def __init__(self, controls, compute, draw, figsize):
        self.controls = controls
        self.output = widgets.Output()
        self.figure = Figure(figsize=figsize)
        self.result = {}
        self._compute, self._draw = compute, draw
        super().__init__([widgets.HBox(list(controls.values())), self.output])
        for c in controls.values():
            c.observe(lambda _change: self.update(), names="value")
        self.update()

    @property
    def values(self):
        """The current value of every control, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def update(self):
        """Recompute from the current control values and redraw."""
        self.result = self._compute(**self.values)
        self.figure.clear()
        self._draw(self.figure, self.result, **self.values)
        from IPython import get_ipython  # IPython comes with ipywidgets
        from IPython.display import display

        if get_ipython() is not None:  # headless (tests, scripts): keep the figure, show nothing
            self.output.clear_output(wait=True)
            with self.output:
                display(self.figure)


def _slider(value, lo, hi, step, description, cls=widgets.FloatSlider):
    style = {"description_width": "initial"}
    return cls(value=value, min=lo, max=hi, step=step, description=description, style=style)


def lif_explorer(beta=0.9, threshold=1.0, current=0.15, reset="subtract", num_steps=100):
    """A LIF neuron driven by a constant current: sliders for β, threshold, current and reset.

    ``result`` holds ``cur``, ``mem`` and ``spk`` (each ``[T]``) and ``rate`` (spikes per step).

    Args:
        beta, threshold, current, reset, num_steps: starting values of the controls.

    Returns:
        An :class:`Explorer` (an ``ipywidgets.VBox``).
    """
    controls = {
        "beta": _slider(beta, 0.0, 1.0, 0.01, "β (decay)"),
        "threshold": _slider(threshold, 0.1, 2.0, 0.05, "threshold"),
        "current": _slider(current, 0.0, 1.5, 0.01, "input current"),
        "reset": widgets.Dropdown(options=["subtract", "zero"], value=reset, description="reset"),
        "num_steps": _slider(num_steps, 10, 300, 10, "steps", widgets.IntSlider),
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
        image: ``[H, W]`` intensities in [0, 1] (default: the first scikit-learn digit).
        code, num_steps, gain, tau, threshold: starting values of the controls.

    Returns:
        An :class:`Explorer` (an ``ipywidgets.VBox``).
    """
    if image is None:
        from sklearn.datasets import load_digits

        image = torch.tensor(load_digits().images[0] / 16.0, dtype=torch.float32)
    image = torch.as_tensor(image, dtype=torch.float32)
    controls = {
        "code": widgets.Dropdown(options=list(CODES), value=code, description="code"),
        "num_steps": _slider(num_steps, 5, 100, 5, "steps", widgets.IntSlider),
        "gain": _slider(gain, 0.0, 1.0, 0.05, "gain"),
        "tau": _slider(tau, 1.0, 50.0, 1.0, "tau"),
        "threshold": _slider(threshold, 0.01, 0.99, 0.01, "threshold"),
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
