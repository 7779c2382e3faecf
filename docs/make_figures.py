"""Draw the tutorials' diagrams with matplotlib: ``python docs/make_figures.py [OUT_DIR]``.

Writes one PNG per diagram into ``OUT_DIR`` (default ``tutorials/figures``); then
``.ci/tidy_notebooks.py`` embeds each in the notebooks that show it (written there as
``![...](figures/rc_circuit.png)``), so a notebook opened alone still has its diagrams. No
network, no data, no torch:
every number drawn is computed here with numpy from the equations the library implements
(``spikelearn.neurons``, ``norm``, ``ttfs``, ``conversion``; see ``docs/methods.md``).

=================================  ==========================================================  ========
file                               shows                                                       tutorial
=================================  ==========================================================  ========
``rc_circuit.png``                 the RC circuit of a LIF neuron and its discrete update      01
``unrolled_graph.png``             a LIF layer unrolled in time: forward pass and BPTT         03, 04
``time_folding.png``               folding time into batch for stateless layers                05
``tdbn_residual_block.png``        tdBN's spiking residual block                               08
``ttfs_windows.png``               TTFS windows per layer and the constant-slope (B1) neuron   09
``conversion_pipeline.png``        ANN-to-SNN conversion, step by step                         11
``recurrent_adaptive_neuron.png``  a recurrent ALIF neuron: leak, recurrence, adaptation       12
``three_factor_rule.png``          BPTT's stored steps vs the three-factor rule, online        14
``sew_block.png``                  tdBN's block vs SEW's: where the neuron sits                16
=================================  ==========================================================  ========
"""

import io
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Polygon  # noqa: E402
from PIL import Image  # noqa: E402  (matplotlib depends on Pillow)

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tutorials" / "figures"
DPI = 110

# One palette for every diagram.
INK = "#1b2a41"  # text, wires, forward pass
BACK = "#d9480f"  # backward pass (gradients)
RESET = "#7048e8"  # reset path
MUTED = "#868e96"
FILL = {
    "neuron": "#dbe4ff",
    "linear": "#d3f9d8",
    "norm": "#fff3bf",
    "loss": "#ffe3e3",
    "step": "#f1f3f5",
    "note": "#f8f9fa",
}
TIME = ["#4c6ef5", "#15aabf", "#40c057", "#fab005"]  # one colour per time step

plt.rcParams.update(
    {
        "font.size": 11,
        "font.family": "DejaVu Sans",
        "mathtext.fontset": "dejavusans",
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
    }
)


# --- drawing helpers -----------------------------------------------------------------------


def canvas(width, height):
    """A figure whose data coordinates are inches: (0, 0) bottom left, (width, height) top right."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def box(ax, x, y, w, h, text, fill, fontsize=11, edge=INK, lw=1.3, **text_kw):
    """A rounded box centred at (x, y) with centred text."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            fc=fill,
            ec=edge,
            lw=lw,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=INK, **text_kw)


def arrow(ax, start, end, color=INK, dashed=False, lw=1.6, rad=0.0, head=12):
    """An arrow from ``start`` to ``end``; dashed lines keep a solid head."""
    style = (0, (4, 2.5)) if dashed else "-"
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=head,
            color=color,
            lw=lw,
            linestyle=style,
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=0,
            shrinkB=0,
        )
    )


def line(ax, points, color=INK, lw=1.6, dashed=False):
    xs, ys = zip(*points, strict=True)
    ax.plot(xs, ys, color=color, lw=lw, ls=(0, (4, 2.5)) if dashed else "-", solid_capstyle="round")


def save(fig, out_dir, name):
    """Write ``fig`` as a palette PNG: a diagram has few colours, so 128 keep it sharp and small."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    plt.close(fig)
    path = Path(out_dir) / name
    Image.open(buffer).convert("RGB").quantize(colors=128).save(path, optimize=True)
    return path


# --- 1. the RC circuit (tutorial 01) -------------------------------------------------------


def rc_circuit(out_dir):
    fig, ax = canvas(11, 4.6)
    top, bottom = 3.3, 1.3
    # current source
    line(ax, [(0.9, bottom), (0.9, 1.95)])
    line(ax, [(0.9, 2.65), (0.9, top)])
    ax.add_patch(Circle((0.9, 2.3), 0.35, fc="white", ec=INK, lw=1.6))
    arrow(ax, (0.9, 2.05), (0.9, 2.58), lw=1.6)
    ax.text(0.4, 2.3, "$I(t)$", ha="right", va="center", fontsize=13)
    # rails
    line(ax, [(0.9, top), (3.9, top)])
    line(ax, [(0.9, bottom), (3.5, bottom)])
    # resistor (leak)
    x_r = 1.85
    zig_y = np.linspace(1.75, 2.85, 9)
    zig_x = x_r + 0.16 * np.array([0, 1, -1, 1, -1, 1, -1, 1, 0])
    line(ax, [(x_r, top), (x_r, 2.85)])
    line(ax, list(zip(zig_x, zig_y, strict=True)))
    line(ax, [(x_r, 1.75), (x_r, bottom)])
    ax.text(x_r + 0.28, 2.3, "$R$\n(leak)", ha="left", va="center", fontsize=11)
    # capacitor (membrane)
    x_c = 3.5
    line(ax, [(x_c, top), (x_c, 2.4)])
    line(ax, [(x_c - 0.32, 2.4), (x_c + 0.32, 2.4)], lw=2.6)
    line(ax, [(x_c - 0.32, 2.2), (x_c + 0.32, 2.2)], lw=2.6)
    line(ax, [(x_c, 2.2), (x_c, bottom)])
    ax.text(x_c - 0.4, 2.3, "$C$", ha="right", va="center", fontsize=12)
    # ground
    for i, half in enumerate((0.22, 0.14, 0.06)):
        line(ax, [(1.3 - half, bottom - 0.12 - 0.08 * i), (1.3 + half, bottom - 0.12 - 0.08 * i)])
    line(ax, [(1.3, bottom), (1.3, bottom - 0.12)])
    # membrane node and comparator
    ax.add_patch(Circle((3.9, top), 0.06, color=INK))
    ax.text(3.9, top + 0.22, "membrane $U(t)$", ha="center", va="bottom", fontsize=11)
    line(ax, [(3.9, top), (4.45, top)])
    ax.add_patch(
        Polygon([(4.45, 3.55), (4.45, 2.55), (5.3, 3.05)], fc=FILL["neuron"], ec=INK, lw=1.5)
    )
    ax.text(4.55, top, "+", ha="left", va="center", fontsize=10)
    ax.text(4.55, 2.8, "−", ha="left", va="center", fontsize=10)
    line(ax, [(4.1, 2.8), (4.45, 2.8)])
    ax.text(4.05, 2.8, "$V_{th}$", ha="right", va="center", fontsize=11)
    ax.text(4.87, 2.35, "threshold", ha="center", va="top", fontsize=9, color=MUTED)
    # output spikes
    line(ax, [(5.3, 3.05), (5.6, 3.05)])
    for xs in (5.75, 6.05, 6.45):
        line(ax, [(xs, 2.8), (xs, 3.4)], lw=2.0, color=INK)
    line(ax, [(5.6, 2.8), (6.7, 2.8)], lw=1.0)
    ax.text(6.2, 3.55, "spikes $o[t]$", ha="center", va="bottom", fontsize=11)
    # reset path
    line(ax, [(6.05, 2.7), (6.05, 0.8), (x_c + 0.7, 0.8), (x_c + 0.7, 2.3)], color=RESET)
    arrow(ax, (x_c + 0.7, 2.3), (x_c + 0.38, 2.3), color=RESET, lw=1.6)
    ax.text(
        4.3,
        0.62,
        "reset after a spike: $u \\leftarrow u - V_{th}$ (subtract) or $u \\leftarrow 0$ (zero)",
        ha="center",
        va="top",
        fontsize=9.5,
        color=RESET,
    )
    # equations
    x0 = 7.05
    eqs = [
        (4.15, "Kirchhoff: $I = U/R + C\\,dU/dt$", 11, INK),
        (3.6, "$\\tau\\,\\frac{dU}{dt} = -U + R\\,I(t), \\qquad \\tau = RC$", 13, INK),
        (2.95, "one step $\\Delta t$, input held constant:", 10, MUTED),
        (2.5, "$U[t] = \\beta\\,U[t-1] + (1-\\beta)\\,R\\,I[t]$", 13, INK),
        (
            2.05,
            "$\\beta = e^{-\\Delta t/\\tau}$   (Euler: $\\beta \\approx 1 - \\Delta t/\\tau$)",
            11,
            INK,
        ),
        (1.45, "spikelearn, as snnTorch: the weights absorb $(1-\\beta)R$", 10, MUTED),
        (1.0, "$u[t] = \\beta\\,u[t-1] + x[t] - r[t]\\,V_{th}$", 13, INK),
        (0.55, "$o[t] = H(u[t] - V_{th}), \\quad r[t] = o[t-1]$", 13, INK),
    ]
    for y, text, size, color in eqs:
        ax.text(x0, y, text, ha="left", va="center", fontsize=size, color=color)
    return save(fig, out_dir, "rc_circuit.png")


# --- 2. the unrolled graph and BPTT (tutorials 03, 04) -------------------------------------


def unrolled_graph(out_dir):
    fig, ax = canvas(11.4, 6.6)
    cols = [1.9, 4.2, 6.5, 8.8]
    y_x, y_u, y_o, y_loss = 0.75, 2.45, 4.15, 5.8
    r = 0.34
    off = 0.13  # backward arrows run beside the forward ones
    loss = (5.35, y_loss)
    box(ax, *loss, 2.7, 0.6, "loss $L$  (e.g. CE of $\\sum_t o[t]$)", FILL["loss"], fontsize=11)
    for t, x in enumerate(cols, start=1):
        for y, label, fill in (
            (y_x, f"$x[{t}]$", FILL["step"]),
            (y_u, f"$u[{t}]$", FILL["neuron"]),
            (y_o, f"$o[{t}]$", FILL["linear"]),
        ):
            ax.add_patch(Circle((x, y), r, fc=fill, ec=INK, lw=1.4))
            ax.text(x, y, label, ha="center", va="center", fontsize=12)
        ax.text(x, 0.12, f"$t = {t}$", ha="center", va="bottom", fontsize=10, color=MUTED)
        # forward: input, spike, to the loss
        arrow(ax, (x - off, y_x + r), (x - off, y_u - r))
        arrow(ax, (x - off, y_u + r), (x - off, y_o - r))
        end = (loss[0] + (x - loss[0]) * 0.2, y_loss - 0.3)
        arrow(ax, (x - 0.05, y_o + r), end, lw=1.2)
        # backward: loss to spike, surrogate, to the input
        arrow(
            ax, (end[0] + 0.18, end[1]), (x + 0.2, y_o + r - 0.03), color=BACK, dashed=True, lw=1.2
        )
        arrow(ax, (x + off, y_o - r), (x + off, y_u + r), color=BACK, dashed=True)
        arrow(ax, (x + off, y_u - r), (x + off, y_x + r), color=BACK, dashed=True)
    # labels: the forward ones at the first column, the backward ones at the last
    first, last = cols[0], cols[-1]
    mid_uo, mid_xu = (y_u + y_o) / 2, (y_x + y_u) / 2
    ax.text(first - 0.25, mid_uo, "$H(u[t] - V_{th})$", ha="right", va="center", fontsize=11)
    ax.text(
        first - 0.25,
        mid_uo - 0.32,
        "spike (Heaviside)",
        ha="right",
        va="center",
        fontsize=9,
        color=MUTED,
    )
    ax.text(
        first - 0.25, mid_xu, "input current", ha="right", va="center", fontsize=9.5, color=MUTED
    )
    ax.text(
        last + 0.28,
        mid_uo,
        "$\\sigma'(u[t] - V_{th})$",
        ha="left",
        va="center",
        fontsize=11,
        color=BACK,
    )
    ax.text(
        last + 0.28,
        mid_uo - 0.32,
        "surrogate derivative",
        ha="left",
        va="center",
        fontsize=9,
        color=BACK,
    )
    ax.text(
        last + 0.28,
        mid_xu,
        "$\\partial L/\\partial x[t]$\n$= G[t]$",
        ha="left",
        va="center",
        fontsize=10,
        color=BACK,
    )
    # membrane chain and reset
    for a, b in zip(cols, cols[1:], strict=False):
        arrow(ax, (a + r, y_u + 0.08), (b - r, y_u + 0.08))
        ax.text((a + b) / 2, y_u + 0.17, "$\\beta$", ha="center", va="bottom", fontsize=12)
        arrow(ax, (b - r, y_u - 0.1), (a + r, y_u - 0.1), color=BACK, dashed=True)
        ax.text((a + b) / 2, y_u - 0.2, "$\\beta$", ha="center", va="top", fontsize=12, color=BACK)
        arrow(ax, (a + 0.25, y_o - 0.25), (b - 0.27, y_u + 0.22), color=RESET, lw=1.3)
        ax.text(
            (a + b) / 2 + 0.1,
            (y_o + y_u) / 2 + 0.33,
            "$-V_{th}$",
            ha="left",
            va="center",
            fontsize=10,
            color=RESET,
        )
    # legend
    lx, ly = 0.25, 6.3
    line(ax, [(lx, ly), (lx + 0.5, ly)])
    ax.text(lx + 0.6, ly, "forward", va="center", fontsize=10)
    line(ax, [(lx, ly - 0.32), (lx + 0.5, ly - 0.32)], color=BACK, dashed=True)
    ax.text(lx + 0.6, ly - 0.32, "backward (BPTT)", va="center", fontsize=10, color=BACK)
    line(ax, [(lx, ly - 0.64), (lx + 0.5, ly - 0.64)], color=RESET, lw=1.3)
    ax.text(lx + 0.6, ly - 0.64, "reset (detached)", va="center", fontsize=10, color=RESET)
    # equations
    ex = 7.75
    ax.text(ex, 6.4, "forward (subtract reset):", fontsize=10, color=MUTED)
    ax.text(ex, 6.1, "$u[t+1] = \\beta\\,u[t] + x[t+1] - o[t]\\,V_{th}$", fontsize=11)
    ax.text(ex, 5.75, "backward, reset detached:", fontsize=10, color=MUTED)
    ax.text(
        ex,
        5.4,
        "$G[t] = \\frac{\\partial L}{\\partial o[t]}\\sigma'(u[t]-V_{th}) + \\beta\\,G[t+1]$",
        fontsize=11,
        color=BACK,
    )
    return save(fig, out_dir, "unrolled_graph.png")


# --- 3. folding time into batch (tutorial 05) ----------------------------------------------


def _sequence(ax, x, y, steps=4, batch=3, w=0.34, h=0.16, gap=0.08, folded=False):
    """A [T, B, ...] tensor: T coloured slices of B samples; ``folded`` stacks them in one column."""
    if folded:
        for t in range(steps):
            for b in range(batch):
                k = t * batch + b
                yy = y + (steps * batch / 2 - k - 1) * h
                ax.add_patch(plt.Rectangle((x - w / 2, yy), w, h, fc=TIME[t], ec="white", lw=0.8))
        return
    total = steps * w + (steps - 1) * gap
    for t in range(steps):
        xx = x - total / 2 + t * (w + gap)
        for b in range(batch):
            yy = y + (batch / 2 - b - 1) * h
            ax.add_patch(plt.Rectangle((xx, yy), w, h, fc=TIME[t], ec="white", lw=0.8))


def _slice(ax, x, y, color, batch=3, w=0.5, h=0.4):
    """One time step ``[B, C, H, W]``: B stripes."""
    for b in range(batch):
        ax.add_patch(
            plt.Rectangle((x, y - h / 2 + b * h / batch), w, h / batch, fc=color, ec="white")
        )


def time_folding(out_dir):
    fig, ax = canvas(11.5, 6.0)
    ax.text(0.25, 5.7, "Step by step: $T$ calls of the convolution", fontsize=12, weight="bold")
    ax.text(0.25, 2.95, "Multi-step: time folded into batch, one call", fontsize=12, weight="bold")
    # top: a loop of T calls
    for t in range(4):
        y = 5.05 - t * 0.55
        _slice(ax, 0.7, y, TIME[t])
        ax.text(0.55, y, f"$x[{t + 1}]$", ha="right", va="center", fontsize=10)
        arrow(ax, (1.3, y), (2.0, y), lw=1.2)
        box(ax, 2.5, y, 0.9, 0.38, "conv", FILL["linear"], fontsize=10)
        arrow(ax, (3.0, y), (3.7, y), lw=1.2)
        _slice(ax, 3.8, y, TIME[t])
        ax.text(4.45, y, f"$y[{t + 1}]$", ha="left", va="center", fontsize=10)
    ax.text(0.95, 5.35, "$[B, C, H, W]$ each", ha="center", va="bottom", fontsize=9.5, color=MUTED)
    ax.text(
        5.3,
        4.6,
        "for t in range(T):\n    y[t] = conv(x[t])",
        family="monospace",
        fontsize=10.5,
        va="center",
    )
    ax.text(
        5.3,
        3.8,
        "$T$ small calls: Python and PyTorch overhead paid $T$ times,\n"
        "each $[B, C, H, W]$ batch too small to keep the cores busy",
        fontsize=10,
        color=MUTED,
        va="center",
    )
    # bottom: fold, one call, unfold, then the neuron
    yb = 1.55
    _sequence(ax, 1.0, yb)
    ax.text(1.0, yb + 0.42, "$[T, B, C, H, W]$", ha="center", va="bottom", fontsize=10)
    arrow(ax, (1.85, yb), (2.55, yb), lw=1.3)
    ax.text(
        2.2, yb - 0.15, "flatten\n(0, 1)", ha="center", va="top", fontsize=9, family="monospace"
    )
    _sequence(ax, 2.95, yb, folded=True)
    ax.text(2.95, yb + 1.12, "$[T\\cdot B, C, H, W]$", ha="center", va="bottom", fontsize=10)
    arrow(ax, (3.2, yb), (3.75, yb), lw=1.3)
    box(ax, 4.3, yb, 1.0, 0.6, "conv\n(1 call)", FILL["linear"], fontsize=10)
    arrow(ax, (4.85, yb), (5.4, yb), lw=1.3)
    _sequence(ax, 5.65, yb, folded=True)
    ax.text(5.65, yb + 1.12, "$[T\\cdot B, C', H', W']$", ha="center", va="bottom", fontsize=10)
    arrow(ax, (5.9, yb), (6.55, yb), lw=1.3)
    ax.text(
        6.28,
        yb - 0.15,
        "reshape\n(T, B, ...)",
        ha="center",
        va="top",
        fontsize=9,
        family="monospace",
    )
    _sequence(ax, 7.4, yb)
    ax.text(7.4, yb + 0.42, "$[T, B, C', H', W']$", ha="center", va="bottom", fontsize=10)
    arrow(ax, (8.25, yb), (8.75, yb), lw=1.3)
    box(ax, 9.6, yb, 1.6, 0.75, "LIF.multi_step\nloops over $t$", FILL["neuron"], fontsize=10)
    arrow(ax, (10.1, yb + 0.38), (9.1, yb + 0.38), lw=1.1, rad=0.9, head=9)
    arrow(ax, (10.42, yb), (10.85, yb), lw=1.3)
    ax.text(10.9, yb, "spikes\n$[T, B, \\ldots]$", ha="left", va="center", fontsize=9.5)
    ax.text(
        9.6,
        yb - 0.55,
        "state $u[t-1] \\to u[t]$: the loop stays,\nbut as one autograd Function\n(forward loop + BPTT loop)",
        ha="center",
        va="top",
        fontsize=9,
        color=MUTED,
    )
    ax.text(
        0.25,
        0.2,
        "layers.TimeFolded(conv) = the same numbers as the loop; BatchNorm on the folded tensor "
        "shares its statistics over all $T$ steps",
        fontsize=9.5,
        color=MUTED,
    )
    for t in range(4):
        ax.add_patch(plt.Rectangle((8.3 + t * 0.72, 5.55), 0.22, 0.22, fc=TIME[t], ec="white"))
        ax.text(8.56 + t * 0.72, 5.66, f"$t={t + 1}$", va="center", fontsize=9)
    ax.text(8.3, 5.3, "$T = 4$ steps, $B = 3$ samples each", fontsize=9, color=MUTED)
    return save(fig, out_dir, "time_folding.png")


# --- 4. tdBN's residual block (tutorial 08) ------------------------------------------------


def tdbn_residual_block(out_dir):
    fig, ax = canvas(12, 4.8)
    y, ys = 3.3, 1.75
    w, h = 1.15, 0.8
    steps = [
        (1.75, "conv 3×3\nstride $s$", FILL["linear"]),
        (3.2, "tdBN\n$\\alpha = 1$", FILL["norm"]),
        (4.55, "LIF", FILL["neuron"]),
        (5.9, "conv 3×3", FILL["linear"]),
        (7.35, "tdBN\n$\\alpha = 1/\\sqrt{2}$", FILL["norm"]),
    ]
    ax.text(0.35, y, "$x$", ha="center", va="center", fontsize=14)
    ax.text(0.35, y - 0.38, "spikes", ha="center", va="top", fontsize=9, color=MUTED)
    arrow(ax, (0.55, y), (steps[0][0] - w / 2, y))
    for (x, text, fill), nxt in zip(steps, steps[1:] + [(8.75, None, None)], strict=True):
        box(ax, x, y, w, h, text, fill, fontsize=10.5)
        arrow(ax, (x + w / 2, y), (nxt[0] - (w / 2 if nxt[1] else 0.27), y))
    plus = (8.75, y)
    ax.add_patch(Circle(plus, 0.27, fc="white", ec=INK, lw=1.5))
    ax.text(*plus, "+", ha="center", va="center", fontsize=16)
    arrow(ax, (9.02, y), (9.65, y))
    box(ax, 10.25, y, w, h, "LIF", FILL["neuron"], fontsize=10.5)
    arrow(ax, (10.83, y), (11.4, y))
    ax.text(11.6, y, "$o$", ha="center", va="center", fontsize=14)
    ax.text(11.6, y - 0.38, "spikes", ha="center", va="top", fontsize=9, color=MUTED)
    ax.text(
        10.25, y + 0.55, "neuron after the sum", ha="center", va="bottom", fontsize=9.5, color=MUTED
    )
    # shortcut
    line(ax, [(0.95, y), (0.95, ys), (2.8, ys)])
    box(ax, 5.3, ys, 5.0, 0.8, "", FILL["note"], lw=1.1)
    ax.text(5.3, ys + 0.2, "identity   (same shape)", ha="center", va="center", fontsize=10.5)
    ax.text(
        5.3,
        ys - 0.2,
        "or  conv 1×1, stride $s$  →  tdBN $\\alpha = 1/\\sqrt{2}$   (shape changes)",
        ha="center",
        va="center",
        fontsize=10.5,
    )
    line(ax, [(7.8, ys), (8.75, ys)])
    arrow(ax, (8.75, ys), (8.75, y - 0.27))
    ax.text(1.1, ys + 0.1, "shortcut", ha="left", va="bottom", fontsize=10, color=MUTED)
    # notes
    ax.text(
        0.35,
        0.75,
        "tdBN per channel, statistics over time, batch and space:  "
        "$\\hat x = \\alpha V_{th}\\,\\frac{x - E[x]}{\\sqrt{Var[x] + \\epsilon}}$,  "
        "$y = \\lambda\\,\\hat x + \\beta$",
        fontsize=11,
    )
    ax.text(
        0.35,
        0.28,
        "each summed branch has spread $\\approx V_{th}/\\sqrt{2}$, so the sum has spread "
        "$\\approx V_{th}$; at inference tdBN folds into the convolution",
        fontsize=10,
        color=MUTED,
    )
    ax.text(
        0.35,
        4.45,
        "$o = \\mathrm{LIF}(\\mathrm{tdBN}_{1/\\sqrt{2}}(\\mathrm{conv}(\\mathrm{LIF}("
        "\\mathrm{tdBN}_1(\\mathrm{conv}(x))))) + \\mathrm{shortcut}(x))$"
        "      (Zheng et al. 2021)",
        fontsize=11.5,
    )
    return save(fig, out_dir, "tdbn_residual_block.png")


def _block_row(ax, y, label, steps, join, after, note):
    """One residual block in a row: input, branch boxes, the join, what follows, output."""
    w, h, ys = 1.05, 0.7, y - 1.05
    ax.text(0.2, y + 0.75, label, ha="left", va="center", fontsize=12, fontweight="bold")
    ax.text(0.45, y, "$s$", ha="center", va="center", fontsize=14)
    arrow(ax, (0.62, y), (steps[0][0] - w / 2, y))
    xs = [x for x, _, _ in steps]
    for (x, text, fill), nxt in zip(steps, xs[1:] + [8.6], strict=True):
        box(ax, x, y, w, h, text, fill, fontsize=10)
        arrow(ax, (x + w / 2, y), (nxt - (w / 2 if nxt != 8.6 else 0.3), y))
    ax.add_patch(Circle((8.6, y), 0.3, fc="white", ec=INK, lw=1.5))
    ax.text(8.6, y, join, ha="center", va="center", fontsize=12 if len(join) < 2 else 9)
    line(ax, [(0.95, y), (0.95, ys), (8.6, ys)])
    arrow(ax, (8.6, ys), (8.6, y - 0.3))
    ax.text(4.5, ys + 0.08, "shortcut: the input spikes $s$", ha="center", va="bottom",
            fontsize=9.5, color=MUTED)  # fmt: skip
    x_out = 8.9
    if after:
        arrow(ax, (8.9, y), (9.45, y))
        box(ax, 9.95, y, w, h, after, FILL["neuron"], fontsize=10)
        x_out = 10.48
    arrow(ax, (x_out, y), (11.2, y))
    ax.text(11.45, y, "$o$", ha="center", va="center", fontsize=14)
    ax.text(11.9, y - 0.05, note, ha="left", va="center", fontsize=10, color=MUTED)


def sew_block(out_dir):
    fig, ax = canvas(15.5, 5.6)
    conv, norm_, lif = FILL["linear"], FILL["norm"], FILL["neuron"]
    plain = [(2.0, "conv", conv), (3.3, "norm", norm_), (4.6, "LIF", lif), (5.9, "conv", conv),
             (7.2, "norm", norm_)]  # fmt: skip
    _block_row(ax, 4.3, "tdBN's block (tutorial 08)", plain, "+", "LIF",
               "$o = \\mathrm{LIF}(F(s) + s)$\nsilent $F$: $o = \\mathrm{LIF}(s) \\neq s$")  # fmt: skip
    sew = [(2.0, "conv", conv), (3.15, "norm", norm_), (4.3, "LIF", lif), (5.45, "conv", conv),
           (6.6, "norm", norm_), (7.75, "LIF", lif)]  # fmt: skip
    _block_row(ax, 1.75, "SEW's block (Fang et al. 2021)", sew, "$g$", None,
               "$o = g(a, s)$, $a = \\mathrm{LIF}(F(s))$\nsilent $F$: $a = 0$, $o = s$ (ADD, IAND)")  # fmt: skip
    ax.text(0.2, 0.15, "$g$:  ADD $a + s$   ·   AND $a \\cdot s$   ·   IAND $(1 - a)\\cdot s$",
            fontsize=11)  # fmt: skip
    return save(fig, out_dir, "sew_block.png")


# --- 5. TTFS windows and the B1 neuron (tutorial 09) ---------------------------------------


def b1_potential(t, t_in, w, t_min):
    """V(t) = Σ_j W_j·(min(t, t_min) - t_j)⁺ + (t - t_min)⁺ (spikelearn.ttfs, Stanojevic et al.)."""
    t = np.asarray(t, dtype=float)[:, None]
    inputs = (np.clip(np.minimum(t, t_min) - np.asarray(t_in), 0, None) * np.asarray(w)).sum(1)
    return inputs + np.clip(t[:, 0] - t_min, 0, None)


def ttfs_windows(out_dir):
    edges = [0.0, 1.0, 2.5, 3.7]  # input window [0, 1], then B_1 = 1.5, B_2 = 1.2
    x_in = np.array([0.9, 0.5, 0.2])  # three input values -> spike times t = 1 - x
    t_in = edges[1] - x_in
    w, bias = np.array([0.8, -0.4, 0.6]), 0.1
    w_off = np.array([-0.6, 0.3, -0.5])  # with D = 0: W·x < 0, never reaches its threshold
    t_min, t_max = edges[1], edges[2]
    theta = t_max - t_min - bias
    v_min = float(b1_potential([t_min], t_in, w, t_min)[0])
    t_spike = t_min + theta - v_min  # = t_max - ReLU(W·x + D)
    assert np.isclose(t_max - t_spike, max(0.0, w @ x_in + bias))

    fig, (top, bot) = plt.subplots(
        2, 1, figsize=(11, 6.6), gridspec_kw={"height_ratios": [1.05, 1.0], "hspace": 0.45}
    )
    fig.subplots_adjust(left=0.13, right=0.97, top=0.93, bottom=0.09)
    rows = [
        ("input", edges[0], edges[1], list(t_in)),
        ("layer 1", edges[1], edges[2], [1.2, t_spike]),
        ("layer 2", edges[2], edges[3], [2.9, 3.3]),
    ]
    for k, (_, lo, hi, spikes) in enumerate(rows):
        yy = 2 - k
        top.add_patch(
            plt.Rectangle((lo, yy - 0.35), hi - lo, 0.7, fc=TIME[k], alpha=0.18, ec="none")
        )
        for s in spikes:
            top.plot([s, s], [yy - 0.28, yy + 0.2], color=INK, lw=2.2)
            top.text(s, yy + 0.22, f"$x = {hi - s:.2g}$", ha="center", va="bottom", fontsize=8.5)
        label = f"$[t_{{min}}^{{({k})}}, t_{{max}}^{{({k})}}] = [{lo:g}, {hi:g}]$"
        top.text((lo + hi) / 2, yy - 0.36, label, ha="center", va="top", fontsize=9.5)
    top.plot([t_spike], [1], "o", color=BACK, ms=7)
    top.axvline(edges[3], color=INK, lw=1.0, ls=":")
    top.text(edges[3] + 0.04, 2.2, "output read\nat $t_{max}^{(2)}$", fontsize=9, va="center")
    top.set_yticks([2, 1, 0], [r[0] for r in rows])
    top.set_ylim(-0.75, 2.55)
    top.set_xlim(-0.1, 4.35)
    top.set_xlabel("time $t$")
    top.set_title(
        "each layer owns a window, $t_{min}^{(n)} = t_{max}^{(n-1)}$; a value is one spike at "
        "$t = t_{max} - x$ (earlier = larger; no spike = 0)",
        fontsize=11,
    )
    for s in ("top", "right", "left"):
        top.spines[s].set_visible(False)
    top.tick_params(axis="y", length=0)
    # bottom: one B1 neuron of layer 1
    grid = np.linspace(0, t_max, 600)
    top_v = b1_potential(grid, t_in, w, t_min)
    off_v = b1_potential(grid, t_in, w_off, t_min)
    fires = grid <= t_spike
    bot.axvspan(edges[0], edges[1], color=TIME[0], alpha=0.12, lw=0)
    bot.axvspan(edges[1], edges[2], color=TIME[1], alpha=0.12, lw=0)
    bot.plot(grid[fires], top_v[fires], color=INK, lw=2, label="neuron $i$: fires at $t_i$")
    bot.plot(
        grid,
        off_v,
        color=MUTED,
        lw=1.5,
        ls="--",
        label="a neuron with $\\sum_j W_{ij} x_j + D_i < 0$: never fires",
    )
    bot.plot([t_min, t_max], [theta, theta], color=BACK, lw=1.3, ls="--")
    bot.text(
        t_max + 0.03,
        theta,
        "$\\vartheta_i = t_{max} - t_{min} - D_i$",
        color=BACK,
        va="center",
        fontsize=10,
    )
    bot.plot([t_spike], [theta], "o", color=BACK, ms=7)
    for tj in t_in:
        bot.axvline(tj, color=INK, lw=1.4, ymax=0.07)
    bot.text(
        t_in[-1] + 0.05,
        -0.88,
        "← input spikes $t_j$ switch on currents $W_{ij}$",
        fontsize=9,
        va="center",
    )
    bot.annotate(
        "slope 1 from $t_{min}$, whatever the input",
        xy=(1.45, float(b1_potential([1.45], t_in, w, t_min)[0])),
        xytext=(0.35, 1.75),
        fontsize=9.5,
        arrowprops=dict(arrowstyle="->", color=INK, lw=1.0),
    )
    bot.annotate(
        "",
        xy=(t_spike, theta + 0.28),
        xytext=(t_max, theta + 0.28),
        arrowprops=dict(arrowstyle="<->", color=BACK, lw=1.3),
    )
    bot.text(
        (t_spike + t_max) / 2,
        theta + 0.36,
        f"$x_i = t_{{max}} - t_i = {t_max - t_spike:.2f}$",
        ha="center",
        va="bottom",
        fontsize=10,
        color=BACK,
    )
    bot.set_xlim(-0.1, 3.3)
    bot.set_ylim(-1.0, 2.3)
    bot.set_xticks([0, 1, 2.5], ["0", "$t_{min}^{(1)} = 1$", "$t_{max}^{(1)} = 2.5$"])
    bot.set_xlabel("time $t$")
    bot.set_ylabel("potential $V_i(t)$")
    bot.set_title(
        "the constant-slope (B1) neuron: $V_i(t) = \\sum_j W_{ij}(\\min(t, t_{min}) - t_j)^+ + (t - t_{min})^+$,"
        "  so  $t_{max} - t_i = \\mathrm{ReLU}(\\sum_j W_{ij} x_j + D_i)$",
        fontsize=11,
    )
    bot.legend(loc="lower right", fontsize=9, frameon=False)
    for s in ("top", "right"):
        bot.spines[s].set_visible(False)
    return save(fig, out_dir, "ttfs_windows.png")


# --- 6. ANN-to-SNN conversion (tutorial 11) ------------------------------------------------


def if_rate(a, steps):
    """Spike count / T of an IF neuron (threshold 1, subtract reset, delayed as in spikelearn)."""
    u, r, count = np.zeros_like(a), np.zeros_like(a), np.zeros_like(a)
    for _ in range(steps):
        u = u + a - r
        r = (u > 1).astype(float)
        count += r
    return count / steps


def conversion_pipeline(out_dir):
    fig, ax = canvas(12.5, 5.6)
    stages = [
        (
            "1  train a ReLU ANN",
            ["$a_l = \\mathrm{ReLU}(W_l a_{l-1} + b_l)$", "inputs in [0, 1];", "average pooling"],
        ),
        (
            "2  fold BatchNorm",
            [
                "eval-mode BN is affine:",
                "$\\mathrm{BN}(z) = s z + c$",
                "$W \\leftarrow sW,\\ b \\leftarrow sb + c$",
            ],
        ),
        (
            "3  normalise by data",
            [
                "$\\lambda_l$ = 99.9th percentile",
                "of layer $l$'s positive outputs",
                "$W_l \\leftarrow W_l\\,\\lambda_{l-1}/\\lambda_l$",
                "$b_l \\leftarrow b_l/\\lambda_l,\\ \\lambda_0 = 1$",
            ],
        ),
        (
            "4  ReLU → IF neurons",
            [
                "$V_{th} = 1$, subtract reset, $\\beta = 1$:",
                "$u[t] = u[t-1] + z[t] - r[t]$",
                "$z[t] = W_l\\,o_{l-1}[t] + b_l$",
            ],
        ),
        (
            "5  run $T$ steps",
            [
                "the image is the input",
                "current at every step;",
                "rate $N/T$ per neuron,",
                "class = most output spikes",
            ],
        ),
    ]
    w, h, gap, y = 2.25, 2.1, 0.22, 4.4
    x0 = 0.25 + w / 2
    for k, (title, body) in enumerate(stages):
        x = x0 + k * (w + gap)
        box(
            ax,
            x,
            y,
            w,
            h,
            "",
            FILL["linear"] if k == 0 else FILL["neuron"] if k >= 3 else FILL["norm"],
        )
        ax.text(x, y + h / 2 - 0.3, title, ha="center", va="center", fontsize=11, weight="bold")
        for i, text in enumerate(body):
            ax.text(x, y + h / 2 - 0.72 - 0.34 * i, text, ha="center", va="center", fontsize=10.5)
        if k < len(stages) - 1:
            arrow(ax, (x + w / 2 + 0.02, y), (x + w / 2 + gap - 0.02, y), head=10)
    # the rate approaches the clipped activation
    inset = fig.add_axes((0.58, 0.1, 0.39, 0.4))
    a = np.linspace(-0.2, 1.3, 601)
    for steps, color in ((4, TIME[3]), (16, TIME[1]), (64, TIME[0])):
        inset.plot(a, if_rate(a, steps), color=color, lw=1.4, label=f"$T = {steps}$")
    inset.plot(a, np.clip(a, 0, 1), color=INK, lw=1.2, ls="--", label="$\\mathrm{clip}(a, 0, 1)$")
    inset.set_xlabel("normalised activation $a$ (constant input current)", fontsize=9.5)
    inset.set_ylabel("IF rate $N/T$", fontsize=9.5)
    inset.tick_params(labelsize=9)
    inset.legend(fontsize=8.5, frameon=False, loc="upper left")
    for s in ("top", "right"):
        inset.spines[s].set_visible(False)
    ax.text(
        0.35,
        2.7,
        "Why it works: an IF neuron with subtract reset loses nothing,",
        fontsize=10.5,
    )
    notes = [
        "so $N$ spikes in $T$ steps satisfy $aT - 1 \\leq N \\leq aT$ for $0 \\leq a \\leq 1$:",
        "the rate $N/T$ is the ReLU clipped at 1, read out to within $1/T$ (it lags, never leads).",
        "",
        "Why it is slow: every layer adds its own error of up to $1/T$ and",
        "waits for the layer before it to charge up, so deep converted",
        "networks need many more steps than directly trained ones",
        "(Rueckauer et al. 2017; Ledinauskas et al. 2020; tutorial 11).",
    ]
    for i, text in enumerate(notes):
        ax.text(0.35, 2.37 - 0.33 * i, text, fontsize=10.5, color=INK if i < 2 else MUTED)
    return save(fig, out_dir, "conversion_pipeline.png")


# --- 7. the recurrent adaptive neuron (tutorial 12) -----------------------------------------


def recurrent_adaptive_neuron(out_dir):
    """One step of a recurrent ALIF neuron: two slow paths back from the spike (recurrence into
    the input sum, adaptation into the threshold) beside the membrane's own leak."""
    fig, ax = canvas(10, 4.5)
    y = 2.5
    box(ax, 1.05, y, 1.7, 0.7, "input\n$x[t] = W_{in} s[t]$", FILL["linear"], fontsize=10.5)
    ax.add_patch(Circle((2.6, y), 0.26, fc="white", ec=INK, lw=1.3))
    ax.text(2.6, y, "+", ha="center", va="center", fontsize=15)
    arrow(ax, (1.9, y), (2.34, y))
    box(ax, 4.55, y, 2.9, 0.85, "membrane\n$u[t] = \\beta u[t-1] + (\\cdot) - o[t-1] b_0$", FILL["neuron"],
        fontsize=10.5)  # fmt: skip
    arrow(ax, (2.86, y), (3.1, y))
    arrow(ax, (3.8, y + 0.43), (5.3, y + 0.43), rad=-0.45, head=9)
    ax.text(4.55, y + 0.9, "leak $\\times\\beta$: $\\tau_{mem} = 1/(1-\\beta) = 5$ steps", ha="center",
            fontsize=9.5, color=MUTED)  # fmt: skip
    box(ax, 7.25, y, 1.9, 0.85, "spike\n$o[t] = H(u[t] - b[t])$", FILL["step"], fontsize=10.5)
    arrow(ax, (6.0, y), (6.3, y))
    arrow(ax, (8.2, y), (9.9, y))
    ax.text(9.85, y + 0.15, "$o[t]$", ha="right", va="bottom", fontsize=11)
    # recurrence: the previous spikes come back as current (RLIF)
    line(ax, [(9.3, y), (9.3, 4.0), (2.6, 4.0)], color=TIME[0], dashed=True)
    arrow(ax, (2.6, 4.0), (2.6, y + 0.26), color=TIME[0], dashed=True)
    ax.text(5.95, 4.08, "recurrence $V o[t-1] + b$ (RLIF): memory in ongoing activity", ha="center",
            va="bottom", fontsize=10, color=TIME[0])  # fmt: skip
    # adaptation: the previous spikes raise the threshold (ALIF)
    line(ax, [(9.3, y), (9.3, 0.75), (6.2, 0.75)], color=BACK)
    box(
        ax,
        4.8,
        0.75,
        2.8,
        0.75,
        "adaptation\n$a[t] = \\rho a[t-1] + o[t-1]$",
        FILL["norm"],
        fontsize=10.5,
    )
    arrow(ax, (9.3, 0.75), (6.2, 0.75), color=BACK)
    arrow(ax, (5.6, 1.12), (7.0, y - 0.43), color=BACK, rad=-0.25)
    ax.text(6.95, 1.5, "threshold $b[t] = b_0 + \\beta_a a[t]$", fontsize=10, color=BACK)
    ax.text(4.8, 0.17, "$\\tau_a = -1/\\ln\\rho$ = hundreds of steps: memory without activity (ALIF)",
            ha="center", fontsize=9.5, color=MUTED)  # fmt: skip
    return save(fig, out_dir, "recurrent_adaptive_neuron.png")


# --- 8. BPTT vs the three-factor rule online (tutorial 14) -------------------------------


def three_factor_rule(out_dir):
    fig, ax = canvas(12, 4.4)
    cols = [1.2, 2.5, 3.8, 5.1]
    # left: BPTT keeps every step, then runs backwards from the end
    ax.text(0.3, 4.05, "BPTT: store all T steps, then go backwards", fontsize=12, color=INK)
    for t, x in enumerate(cols, start=1):
        box(ax, x, 2.9, 0.95, 0.55, f"$u[{t}], o[{t}]$", FILL["neuron"], fontsize=10.5)
        box(ax, x, 1.75, 0.95, 0.42, "stored", FILL["step"], fontsize=9.5, edge=MUTED)
        arrow(ax, (x, 2.6), (x, 1.98), color=MUTED, lw=1.1)
    for a, b in zip(cols, cols[1:], strict=False):
        arrow(ax, (a + 0.48, 3.02), (b - 0.48, 3.02))
        arrow(ax, (b - 0.48, 2.78), (a + 0.48, 2.78), color=BACK, dashed=True)
    ax.text(3.15, 1.2, "$\\delta[t]$ needs $\\delta[t+1]$", ha="center", fontsize=10.5, color=BACK)
    ax.text(0.3, 0.85, "memory grows with T", fontsize=10.5, color=BACK)
    ax.text(0.3, 0.5, "the update waits for the end of the sequence", fontsize=10, color=MUTED)
    line(ax, [(6.05, 0.3), (6.05, 4.2)], color=MUTED, lw=1.0)
    # right: at every step, three local factors make the update
    ax.text(6.35, 4.05, "e-prop / OTTT: three factors, at every step", fontsize=12, color=INK)
    factors = [
        (7.3, "pre trace", "$\\bar x_i[t] = \\beta\\,\\bar x_i[t-1] + x_i[t]$", FILL["linear"]),
        (9.2, "post", "$\\psi_j[t] = \\sigma'(u_j[t] - V_{th})$", FILL["neuron"]),
        (11.05, "learning signal", "$L_j[t] = \\partial E/\\partial o_j[t]$", FILL["loss"]),
    ]
    for x, title, eq, fill in factors:
        box(ax, x, 3.05, 1.75, 0.78, "", fill)
        ax.text(x, 3.23, title, ha="center", va="center", fontsize=10, color=MUTED)
        ax.text(x, 2.9, eq, ha="center", va="center", fontsize=10)
    box(
        ax,
        8.25,
        1.65,
        2.1,
        0.6,
        "$e_{ji}[t] = \\psi_j[t]\\,\\bar x_i[t]$",
        FILL["norm"],
        fontsize=10.5,
    )
    arrow(ax, (7.3, 2.64), (7.9, 1.97))
    arrow(ax, (9.2, 2.64), (8.6, 1.97))
    box(
        ax,
        10.6,
        0.75,
        2.3,
        0.6,
        "$\\Delta W_{ji} \\propto -L_j[t]\\,e_{ji}[t]$",
        FILL["note"],
        fontsize=10.5,
    )
    arrow(ax, (9.3, 1.5), (9.75, 1.02))
    arrow(ax, (11.05, 2.64), (10.9, 1.07), color=BACK)
    ax.text(6.35, 0.85, "memory: one step + traces", fontsize=10.5, color=INK)
    ax.text(6.35, 0.5, "(exact for one LIF layer)", fontsize=10, color=MUTED)
    return save(fig, out_dir, "three_factor_rule.png")


FIGURES = {
    "rc_circuit.png": rc_circuit,
    "unrolled_graph.png": unrolled_graph,
    "time_folding.png": time_folding,
    "tdbn_residual_block.png": tdbn_residual_block,
    "ttfs_windows.png": ttfs_windows,
    "conversion_pipeline.png": conversion_pipeline,
    "recurrent_adaptive_neuron.png": recurrent_adaptive_neuron,
    "three_factor_rule.png": three_factor_rule,
    "sew_block.png": sew_block,
}


def main(out_dir=DEFAULT_OUT):
    """Draw every figure into ``out_dir`` (created if needed); returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [draw(out_dir) for draw in FIGURES.values()]


if __name__ == "__main__":
    for path in main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KB")
