"""The init lab: an ipywidgets explorer built on plain, testable functions.

Two panels, each a pure data function plus a figure function, and one widget that wires them:

* :func:`explorer_data` ``(**settings) -> dict of arrays``: a deep network of ``depth`` square
  layers of ``width`` units, initialized with ``scheme`` times ``scale``, run forward on a
  standard-normal batch and backward from a standard-normal output gradient by the course's
  engine (:func:`course_utils.network.forward` / :func:`~course_utils.network.backward`). Per
  layer it returns the histograms of the activations and of the back-propagated gradients, their
  measured standard deviations, the mean-field theory for both
  (:func:`course_utils.theory.predict`), and the saturated and dead fractions.
  :func:`explorer_figure` draws it.
* :func:`training_data` ``(**settings) -> dict of arrays``: a small PyTorch MLP with the same
  depth, activation, scheme and scale trained on a 2-D data set from :mod:`course_utils.data`;
  the loss curve and the decision boundary on a grid. :func:`training_figure` draws it.
* :func:`explorer` returns the widget (sliders and dropdowns, two images). Moving a control
  recomputes the first panel (one :func:`explorer_data` call at the default settings takes a few
  milliseconds; ``make bench`` records ``explorer_update_ms``); the second panel retrains on its
  button.

Theory (mean field: Poole et al. 2016, Schoenholz et al. 2017), as derived in
:mod:`course_utils.theory`: with independent weights of variance :math:`\\sigma_w^2` and
pre-activations :math:`z_l \\sim N(0, q_l)`,

.. math::
    q_1 = n_0 \\sigma_w^2 E[x^2], \\qquad
    q_l = n_{l-1} \\sigma_w^2\\, E_{z \\sim N(0, q_{l-1})}[f(z)^2],

    \\operatorname{Var}(\\partial L/\\partial a_{l-1}) = n_l \\sigma_w^2\\,
    E_{z \\sim N(0, q_l)}[f'(z)^2]\\, \\operatorname{Var}(\\partial L/\\partial a_l).

The activation std is :math:`\\sqrt{E f(z)^2 - (E f(z))^2}`.
"""

from __future__ import annotations

import io
import math
import numbers
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from course_utils import network, theory
from course_utils.initializers import INITIALIZERS
from course_utils.plots import PALETTE

__all__ = [
    "ACTIVATIONS",
    "DEFAULTS",
    "SCHEMES",
    "TRAINING_DEFAULTS",
    "explorer",
    "explorer_data",
    "explorer_figure",
    "figure_png",
    "training_data",
    "training_figure",
]

#: Activations offered by the explorer (names of :mod:`course_utils.activations`).
ACTIVATIONS: tuple[str, ...] = ("linear", "tanh", "relu", "leaky_relu", "sigmoid", "selu")

#: Schemes offered by the explorer: the random initializers of
#: :data:`course_utils.initializers.INITIALIZERS` ("random_normal" is std 0.01, the classic
#: "small random"; "random_uniform" is U(-0.05, 0.05)); their weight variances are
#: :func:`course_utils.theory.weight_variance`. Left out: the constant ones (no spread, so no
#: mean-field theory) and the generic ``variance_scaling`` (the named schemes cover it).
SCHEMES: tuple[str, ...] = tuple(
    name for name in INITIALIZERS if name not in ("zeros", "constant", "variance_scaling")
)

#: The explorer's default settings (the benchmark times ``explorer_data()`` with these).
DEFAULTS: dict[str, Any] = {
    "depth": 10,
    "width": 256,
    "activation": "tanh",
    "scheme": "glorot_normal",
    "scale": 1.0,
    "batch": 256,
    "seed": 0,
    "bins": 40,
}

#: Defaults of the training panel (its hidden width is small so a run takes a fraction of a second).
TRAINING_DEFAULTS: dict[str, Any] = {
    "dataset": "circles",
    "depth": 4,
    "width": 16,
    "activation": "tanh",
    "scheme": "glorot_normal",
    "scale": 1.0,
    "seed": 0,
    "epochs": 300,
    "lr": 0.1,
    "momentum": 0.9,
    "grid": 80,
}

# ------------------------------------------------------------------------------- validation


def _int_setting(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return int(value)


def _float_setting(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} must be a finite number between {lo} and {hi}, got {value}")
    return float(value)


def _choice(name: str, value: Any, choices: Any) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _settings(given: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(f"unknown setting(s) {unknown}; expected some of {sorted(defaults)}")
    return {**defaults, **given}


# ------------------------------------------------------------------------------- panel 1


def _histogram(v: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Fractions per bin over the value range of ``v`` (one pass: quantize, then bincount)."""
    v = v.ravel()
    lo, hi = float(v.min()), float(v.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        v = v[np.isfinite(v)]
        lo, hi = (float(v.min()), float(v.max())) if v.size else (-0.5, 0.5)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    idx = ((v - lo) * (bins / (hi - lo))).astype(np.intp)
    np.clip(idx, 0, bins - 1, out=idx)
    counts = np.bincount(idx, minlength=bins)[:bins] / max(v.size, 1)
    return counts, np.linspace(lo, hi, bins + 1)


def _histograms(values: list[np.ndarray], bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer histograms (fractions) with per-layer edges spanning the layer's range."""
    counts = np.zeros((len(values), bins))
    edges = np.zeros((len(values), bins + 1))
    for i, v in enumerate(values):
        counts[i], edges[i] = _histogram(v, bins)
    return counts, edges


def explorer_data(**settings: Any) -> dict[str, Any]:
    """Everything the explorer's first panel shows, as plain arrays (no widgets, no figures).

    Settings (keyword-only; defaults in :data:`DEFAULTS`): ``depth`` (1-50), ``width``
    (2-2048), ``activation`` (one of :data:`ACTIVATIONS`), ``scheme`` (one of
    :data:`SCHEMES`), ``scale`` (multiplies every weight, 0 < scale <= 100), ``batch``
    (2-8192), ``seed`` (int >= 0), ``bins`` (histogram bins, 2-200).

    The network: ``x ~ N(0, 1)`` of shape ``(batch, width)``; ``z_l = a_(l-1) W_l``,
    ``a_l = f(z_l)``, ``W_l = scale * scheme((width, width), rng)`` (float32); backward from
    ``dL/da_L ~ N(0, 1)``: ``dL/da_(l-1) = (dL/da_l * f'(z_l)) W_l^T``
    (:func:`course_utils.network.forward` and :func:`~course_utils.network.backward`; the theory
    columns are :func:`course_utils.theory.predict`). All draws come from
    ``numpy.random.default_rng(seed)``, so equal settings give equal arrays.

    Returns
    -------
    dict
        ``settings`` (the resolved settings); ``layers`` (1..depth); per layer, arrays of
        length ``depth``: ``act_mean``, ``act_std``, ``pre_std``, ``grad_std``,
        ``theory_act_std``, ``theory_pre_std``, ``theory_grad_std``, ``saturated`` (fraction
        of outputs within 0.01 of a bound: ``|tanh z| > 0.99`` as in
        :func:`course_utils.theory.saturation_fraction`, ``sigmoid`` below 0.01 or above 0.99;
        NaN for activations that do not saturate), ``dead`` (fraction of units that output 0 on the whole batch, for
        ReLU; NaN otherwise); ``act_counts``/``act_edges`` and ``grad_counts``/``grad_edges``
        (``(depth, bins)`` fractions and ``(depth, bins + 1)`` edges).

    Examples
    --------
    >>> d = explorer_data(depth=5, width=64, activation="relu", scheme="he_normal")
    >>> d["act_std"].shape, d["act_counts"].shape
    ((5,), (5, 40))
    """
    s = _settings(settings, DEFAULTS)
    depth = _int_setting("depth", s["depth"], 1, 50)
    width = _int_setting("width", s["width"], 2, 2048)
    batch = _int_setting("batch", s["batch"], 2, 8192)
    seed = _int_setting("seed", s["seed"], 0, 2**63 - 1)
    bins = _int_setting("bins", s["bins"], 2, 200)
    scale = _float_setting("scale", s["scale"], 1e-12, 100.0)
    activation = _choice("activation", s["activation"], ACTIVATIONS)
    scheme = _choice("scheme", s["scheme"], SCHEMES)

    rng = np.random.default_rng(seed)
    weights = [w * np.float32(scale) for w in network.init_weights([width] * (depth + 1), scheme, rng)]
    x = rng.standard_normal((batch, width), dtype=np.float32)
    g_out = rng.standard_normal((batch, width), dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        trace = network.forward(x, weights, activation)
        grads = network.backward(trace, weights, activation, g_out, weight_grads=False)
        act, pre, sig = trace.activations, trace.pre_activations, grads.activations
        act_std = np.array([float(v.std()) for v in act])
        act_mean = np.array([float(v.mean()) for v in act])
        pre_std = np.array([float(v.std()) for v in pre])
        grad_std = np.array([float(v.std()) for v in sig])
        if activation == "tanh":
            saturated = theory.saturation_fraction(act)
        elif activation == "sigmoid":  # within 0.01 of its bounds 0 and 1
            saturated = theory.saturation_fraction([2 * v - 1 for v in act], 0.98)
        else:
            saturated = np.full(depth, np.nan)
        if activation == "relu":
            dead = theory.dead_fraction(act, per="unit")
        else:
            dead = np.full(depth, np.nan)
    act_counts, act_edges = _histograms(act, bins)
    grad_counts, grad_edges = _histograms(sig, bins)
    pred = theory.predict([width] * (depth + 1), scheme, activation, multiplier=scale)
    return {
        "settings": {
            "depth": depth,
            "width": width,
            "activation": activation,
            "scheme": scheme,
            "scale": scale,
            "batch": batch,
            "seed": seed,
            "bins": bins,
        },
        "layers": np.arange(1, depth + 1),
        "act_mean": act_mean,
        "act_std": act_std,
        "pre_std": pre_std,
        "grad_std": grad_std,
        "theory_act_std": pred.activation_std,
        "theory_pre_std": pred.pre_activation_std,
        "theory_grad_std": pred.grad_std,
        "saturated": saturated,
        "dead": dead,
        "act_counts": act_counts,
        "act_edges": act_edges,
        "grad_counts": grad_counts,
        "grad_edges": grad_edges,
    }


def _shown_layers(depth: int, k: int = 5) -> list[int]:
    """Up to ``k`` layer indices (0-based) spread evenly from the first to the last."""
    if depth <= k:
        return list(range(depth))
    return sorted({int(round(i * (depth - 1) / (k - 1))) for i in range(k)})


def _positive_for_log(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def explorer_figure(data: dict[str, Any], *, dpi: int = 72) -> Figure:
    """Draw :func:`explorer_data`'s output: histograms, std by depth vs theory, fractions.

    Row 1: activation histograms of up to 5 layers (first to last); row 2: the back-propagated
    gradients of the same layers; row 3: std by depth (measured markers, theory lines, log
    scale) for activations and gradients, and the saturated / dead fractions per layer.

    Examples
    --------
    >>> fig = explorer_figure(explorer_data(depth=3, width=32, batch=64))
    >>> len(fig.axes)
    12
    """
    st = data["settings"]
    shown = _shown_layers(len(data["layers"]))
    ncols = 5
    fig = Figure(figsize=(11.0, 7.6), dpi=dpi)
    gs = fig.add_gridspec(
        3, ncols * 2, left=0.09, right=0.985, bottom=0.07, top=0.92, hspace=0.5, wspace=0.9
    )
    blue, orange, green, red = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]
    for row, (key, label, col) in enumerate(
        (("act", "activation", blue), ("grad", "gradient dL/da", orange))
    ):
        for j in range(ncols):
            ax = fig.add_subplot(gs[row, 2 * j : 2 * j + 2])
            if j >= len(shown):
                ax.set_axis_off()
                continue
            layer = shown[j]
            counts, edges = data[f"{key}_counts"][layer], data[f"{key}_edges"][layer]
            ax.stairs(counts, edges, fill=True, color=col, alpha=0.85)
            std = data[f"{key}_std"][layer]
            ax.set_title(f"layer {layer + 1}: std {std:.3g}", fontsize=9)
            ax.set_xlabel(label, fontsize=8)
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel("fraction", fontsize=8)
    layers = data["layers"]
    ax = fig.add_subplot(gs[2, 0:6])
    for key, label, col in (("act", "activation", blue), ("grad", "gradient", orange)):
        ax.plot(layers, _positive_for_log(data[f"{key}_std"]), "o", color=col, ms=4,
                label=f"{label} std (measured)")  # fmt: skip
        ax.plot(layers, _positive_for_log(data[f"theory_{key}_std"]), "-", color=col,
                label=f"{label} std (theory)")  # fmt: skip
    if np.any(np.isfinite(_positive_for_log(np.concatenate([data["act_std"], data["grad_std"]])))):
        ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("standard deviation")
    ax.set_title("Std by depth: measured vs mean-field theory", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax = fig.add_subplot(gs[2, 7:10])
    plotted = False
    for key, label, col in (("saturated", "saturated (within 0.01 of a bound)", green),
                            ("dead", "dead units (0 on the whole batch)", red)):  # fmt: skip
        v = np.asarray(data[key], dtype=float)
        if np.all(np.isnan(v)):
            continue
        ax.plot(layers, v, "o-", color=col, ms=4, label=label)
        plotted = True
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("layer")
    ax.set_ylabel("fraction")
    ax.set_title("Saturated / dead fraction", fontsize=10)
    ax.grid(True, alpha=0.3)
    if plotted:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, f"not applicable to {st['activation']}", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)  # fmt: skip
    fig.suptitle(
        f"{st['depth']} layers x {st['width']} units, {st['activation']}, {st['scheme']}"
        f" x {st['scale']:g}, batch {st['batch']}, seed {st['seed']}"
    )
    return fig


def figure_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (Agg, no pyplot) for an ``ipywidgets.Image``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# ------------------------------------------------------------------------------- panel 2


def training_data(**settings: Any) -> dict[str, Any]:
    """Train a small PyTorch MLP on a 2-D data set with the chosen init; curves and boundary.

    Settings (defaults in :data:`TRAINING_DEFAULTS`): ``dataset`` (a name in
    ``course_utils.data.DATASETS``), ``depth`` hidden layers (1-30) of ``width`` units
    (2-256), ``activation``, ``scheme``, ``scale`` (multiplies every weight), ``seed``,
    ``epochs`` (1-5000), ``lr`` and ``momentum`` (full-batch SGD), ``grid`` (decision-boundary grid points
    per axis). Binary data sets use one logit and ``loss="bce"``, others ``"ce"``. Biases start
    at zero. Deterministic for a given seed (``course_utils.training.train``).

    Returns
    -------
    dict
        ``settings``, ``loss``/``accuracy``/``test_accuracy`` (per epoch), ``x_train``,
        ``y_train``, ``grid_x1``, ``grid_x2`` (axes of the grid), ``grid_labels``
        (``(grid, grid)`` predicted classes, row 0 = lowest x2).

    Examples
    --------
    >>> d = training_data(epochs=5, grid=10)
    >>> len(d["loss"]), d["grid_labels"].shape
    (5, (10, 10))
    """
    import torch

    from course_utils.data import DATASETS, make_dataset, standardize
    from course_utils.training import apply_init, build_mlp, predict_fn, train

    s = _settings(settings, TRAINING_DEFAULTS)
    dataset = _choice("dataset", s["dataset"], DATASETS)
    depth = _int_setting("depth", s["depth"], 1, 30)
    width = _int_setting("width", s["width"], 2, 256)
    seed = _int_setting("seed", s["seed"], 0, 2**63 - 1)
    epochs = _int_setting("epochs", s["epochs"], 1, 5000)
    grid = _int_setting("grid", s["grid"], 2, 400)
    scale = _float_setting("scale", s["scale"], 1e-12, 100.0)
    lr = _float_setting("lr", s["lr"], 1e-12, 100.0)
    momentum = _float_setting("momentum", s["momentum"], 0.0, 0.999)
    activation = _choice("activation", s["activation"], ACTIVATIONS)
    scheme = _choice("scheme", s["scheme"], SCHEMES)

    x_tr, y_tr, x_te, y_te = make_dataset(dataset, seed)
    x_tr, x_te = standardize(x_tr, x_te)
    k = int(max(y_tr.max(), y_te.max()) + 1)
    binary = k == 2
    model = build_mlp([2] + [width] * depth + [1 if binary else k], activation)
    apply_init(model, scheme, np.random.default_rng(seed))
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 2:
                p.mul_(scale)
    hist = train(
        model, x_tr, y_tr, loss="bce" if binary else "ce", lr=lr, momentum=momentum,
        epochs=epochs, seed=seed, x_test=x_te, y_test=y_te, progress=False,
    )  # fmt: skip
    lo = x_tr.min(axis=0) - 0.5
    hi = x_tr.max(axis=0) + 0.5
    g1 = np.linspace(lo[0], hi[0], grid, dtype=np.float32)
    g2 = np.linspace(lo[1], hi[1], grid, dtype=np.float32)
    mesh = np.stack(np.meshgrid(g1, g2), axis=-1).reshape(-1, 2)
    labels = predict_fn(model)(mesh).reshape(grid, grid)
    return {
        "settings": {
            "dataset": dataset,
            "depth": depth,
            "width": width,
            "activation": activation,
            "scheme": scheme,
            "scale": scale,
            "seed": seed,
            "epochs": epochs,
            "lr": lr,
            "momentum": momentum,
            "grid": grid,
        },  # fmt: skip
        "loss": np.asarray(hist.loss, dtype=np.float64),
        "accuracy": np.asarray(hist.accuracy, dtype=np.float64),
        "test_accuracy": np.asarray(hist.test_accuracy, dtype=np.float64),
        "x_train": x_tr,
        "y_train": y_tr,
        "grid_x1": g1,
        "grid_x2": g2,
        "grid_labels": labels,
    }


def training_figure(data: dict[str, Any] | list[dict[str, Any]], *, dpi: int = 72) -> Figure:
    """Loss curves (left) and the decision boundary of each run (right panels).

    ``data`` is one :func:`training_data` result or a list of them (a comparison of schemes).

    Examples
    --------
    >>> fig = training_figure(training_data(epochs=3, grid=5))
    >>> len(fig.axes)
    2
    """
    runs = [data] if isinstance(data, dict) else list(data)
    if not runs:
        raise ValueError("data must be a training_data result or a non-empty list of them")
    n = len(runs)
    fig = Figure(figsize=(3.6 * (n + 1), 3.6), dpi=dpi, layout="constrained")
    axes = fig.subplots(1, n + 1)
    ax = axes[0]
    for i, r in enumerate(runs):
        st = r["settings"]
        ax.plot(np.arange(1, len(r["loss"]) + 1), r["loss"], color=PALETTE[i % 7], lw=2,
                label=f"{st['scheme']} x {st['scale']:g}")  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title("Loss curve", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    for i, r in enumerate(runs):
        ax = axes[i + 1]
        labels = r["grid_labels"]
        k = int(max(labels.max(), r["y_train"].max()) + 1)
        colours = [PALETTE[c % len(PALETTE)] for c in range(k)]
        from matplotlib.colors import ListedColormap

        g1, g2 = r["grid_x1"], r["grid_x2"]
        ax.imshow(labels, origin="lower", extent=(g1[0], g1[-1], g2[0], g2[-1]),
                  cmap=ListedColormap(colours), vmin=-0.5, vmax=k - 0.5, alpha=0.3,
                  aspect="auto", interpolation="nearest")  # fmt: skip
        for c in range(k):
            pts = r["x_train"][r["y_train"] == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=8, color=colours[c], edgecolors="black",
                       linewidths=0.3, label=f"class {c}")  # fmt: skip
        acc = r["test_accuracy"][-1] if len(r["test_accuracy"]) else float("nan")
        ax.set_title(f"{r['settings']['scheme']}: test accuracy {acc:.2f}", fontsize=10)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    st = runs[0]["settings"]
    fig.suptitle(
        f"{st['dataset']}: {st['depth']} hidden layers x {st['width']} {st['activation']} units,"
        f" SGD lr {st['lr']:g} momentum {st['momentum']:g}, {st['epochs']} epochs"
    )
    return fig


# ------------------------------------------------------------------------------- the widget


def explorer(**settings: Any) -> Any:
    """The interactive init lab (an ``ipywidgets.Tab`` of two panels); ``settings`` override the defaults.

    Controls: depth, width, activation, scheme, scale (log slider), batch, seed. Moving one
    recomputes :func:`explorer_data` and redraws the first image (``continuous_update`` is off:
    the update happens when the slider is released or moved by the keyboard). The second panel
    (data set, hidden width, epochs, learning rate, "Train") trains a small net with the same
    depth, activation, scheme, scale and seed.

    The depth slider carries the CSS class ``explorer-depth`` and the first image
    ``explorer-figure`` (the browser test finds them by these). The returned widget also has
    attributes ``controls`` (dict of the first panel's controls), ``image``, ``status``,
    ``training_controls``, ``train_button``, ``training_image`` and ``training_status``.
    """
    import ipywidgets as w

    s = _settings(settings, DEFAULTS)
    style = {"description_width": "80px"}
    layout = w.Layout(width="320px")
    controls = {
        "depth": w.IntSlider(value=s["depth"], min=1, max=50, description="depth"),
        "width": w.IntSlider(value=s["width"], min=8, max=1024, step=8, description="width"),
        "activation": w.Dropdown(
            options=list(ACTIVATIONS), value=s["activation"], description="activation"
        ),  # fmt: skip
        "scheme": w.Dropdown(options=list(SCHEMES), value=s["scheme"], description="scheme"),
        "scale": w.FloatLogSlider(
            value=s["scale"], base=10, min=-2, max=1, step=0.05, description="scale x"
        ),  # fmt: skip
        "batch": w.IntSlider(value=s["batch"], min=16, max=2048, step=16, description="batch"),
        "seed": w.IntText(value=s["seed"], description="seed"),
    }
    for c in controls.values():
        c.style = style
        c.layout = layout
        if hasattr(c, "continuous_update"):
            c.continuous_update = False
    controls["depth"].add_class("explorer-depth")
    image = w.Image(format="png")
    image.add_class("explorer-figure")
    status = w.HTML()

    def current() -> dict[str, Any]:
        return {k: c.value for k, c in controls.items()}

    def update(_change: Any = None) -> None:
        try:
            data = explorer_data(**current(), bins=s["bins"])
            image.value = figure_png(explorer_figure(data))
            last = data["act_std"][-1]
            status.value = f"last layer: activation std {last:.3g}"
        except (ValueError, TypeError) as err:  # a bad setting: say so in the widget
            status.value = f"<b>cannot compute:</b> {err}"

    for c in controls.values():
        c.observe(update, names="value")

    t_controls = {
        "dataset": w.Dropdown(options=["circles", "moons", "spirals", "blobs"],
                              value=TRAINING_DEFAULTS["dataset"], description="data set"),
        "width": w.IntSlider(value=TRAINING_DEFAULTS["width"], min=2, max=64,
                             description="hidden width"),
        "epochs": w.IntSlider(value=TRAINING_DEFAULTS["epochs"], min=10, max=2000, step=10,
                              description="epochs"),
        "lr": w.FloatLogSlider(value=TRAINING_DEFAULTS["lr"], base=10, min=-3, max=0,
                               description="SGD lr"),
    }  # fmt: skip
    for c in t_controls.values():
        c.style = style
        c.layout = layout
    button = w.Button(description="Train", button_style="primary")
    t_image = w.Image(format="png")
    t_image.add_class("explorer-training")
    t_status = w.HTML("Press <i>Train</i> to train a small net with the chosen init.")

    def run_training(_b: Any = None) -> None:
        c = current()
        t_status.value = "training..."
        try:
            d = training_data(
                dataset=t_controls["dataset"].value, depth=min(c["depth"], 30),
                width=t_controls["width"].value, activation=c["activation"],
                scheme=c["scheme"], scale=c["scale"], seed=c["seed"],
                epochs=t_controls["epochs"].value, lr=t_controls["lr"].value,
            )  # fmt: skip
            t_image.value = figure_png(training_figure(d))
            t_status.value = (
                f"final loss {d['loss'][-1]:.3g}, test accuracy {d['test_accuracy'][-1]:.2f}"
            )
        except (ValueError, TypeError) as err:
            t_status.value = f"<b>cannot train:</b> {err}"

    button.on_click(run_training)
    update()
    panel1 = w.VBox([w.HBox([w.VBox(list(controls.values())[:4]),
                             w.VBox(list(controls.values())[4:] + [status])]), image])  # fmt: skip
    panel2 = w.VBox([w.HBox([w.VBox(list(t_controls.values())), w.VBox([button, t_status])]),
                     t_image])  # fmt: skip
    tabs = w.Tab(children=[panel1, panel2])
    tabs.set_title(0, "signal propagation")
    tabs.set_title(1, "training")
    # handles for tests and for notebooks that want to drive the widget from code
    tabs.controls = controls
    tabs.image = image
    tabs.status = status
    tabs.training_controls = t_controls
    tabs.train_button = button
    tabs.training_image = t_image
    tabs.training_status = t_status
    return tabs
