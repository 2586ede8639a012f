"""The report's figures, drawn with matplotlib (imported here only, when a report is made)."""

from __future__ import annotations

import base64
import io

import numpy as np


def _figure(width=5.6, height=3.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def loss_curve_figure(loss_curve, unit="iteration", validation=None):
    """The training objective per iteration (or epoch), on a log scale when it spans decades;
    with ``validation`` (the held-out rows' log-loss after each iteration) beside it."""
    fig, ax = _figure()
    curve = np.asarray(loss_curve, dtype=float)
    ax.plot(np.arange(len(curve)), curve, color="#0d6efd",  # curve[0]: initial parameters
            label="training objective")
    shown = curve
    if validation is not None:
        held = np.asarray(validation, dtype=float)
        ax.plot(np.arange(1, len(held) + 1), held, color="#d63384", label="validation log-loss")
        ax.legend(fontsize=8)
        shown = np.concatenate([curve, held[np.isfinite(held)]])
    if len(shown) and shown.min() > 0 and shown.max() / shown.min() > 20:
        ax.set_yscale("log")
    ax.set_xlabel(unit)
    ax.set_ylabel("mean log-loss (+ penalty)")
    ax.set_title("Loss curve")
    ax.grid(alpha=0.3)
    return fig


def network_figure(layer_units, activation, out_activation, feature_names):
    """The network as layers of units: its inputs, each hidden layer with its activation, the
    output, and the weight matrices' shapes between them."""
    n_layers = len(layer_units)
    fig, ax = _figure(max(5.6, 1.9 * n_layers), 3.4)
    ax.set_xlim(-0.6, n_layers - 0.4)
    ax.set_ylim(-0.75, 1.1)
    ax.axis("off")
    tallest = max(layer_units)
    for i, units in enumerate(layer_units):
        height = 0.25 + 0.65 * units / tallest
        kind = ("inputs" if i == 0 else "output" if i == n_layers - 1 else f"hidden {i}")
        how = ("" if i == 0 else f"\n{out_activation}" if i == n_layers - 1 else f"\n{activation}")
        ax.add_patch(_box(i - 0.32, 0.5 - height / 2, 0.64, height))
        ax.text(i, 0.5, f"{units}", ha="center", va="center", fontsize=13, weight="bold")
        ax.text(i, -0.12, f"{kind}{how}", ha="center", va="top", fontsize=8.5)
        if i:
            ax.annotate("", xy=(i - 0.34, 0.5), xytext=(i - 0.66, 0.5),
                        arrowprops={"arrowstyle": "->", "color": "#495057"})
            ax.text(i - 0.5, 0.62, f"W{i}\n{layer_units[i - 1]}×{units}", ha="center",
                    va="bottom", fontsize=8, color="#495057")
    if feature_names is not None and len(feature_names) <= 6:
        ax.text(0, 1.02, ", ".join(map(str, feature_names)), ha="center", fontsize=7.5,
                color="#495057")
    ax.set_title("The network (units per layer, activations, weight shapes)", fontsize=10)
    return fig


def _box(x, y, width, height):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.02",
                          facecolor="#e7f1ff", edgecolor="#0d6efd")


def weights_figure(coefs):
    """The distribution of each layer's weights: one histogram per weight matrix."""
    fig, axes = _figures(len(coefs))
    for i, (ax, W) in enumerate(zip(axes, coefs)):
        values = np.asarray(W, dtype=float).ravel()
        ax.hist(values, bins=min(40, max(5, values.size // 4)), color="#6f42c1", alpha=0.8)
        ax.set_title(f"W{i + 1} ({W.shape[0]}×{W.shape[1]}): mean {values.mean():.2g}, "
                     f"sd {values.std():.2g}", fontsize=8.5)
        ax.grid(alpha=0.3)
    return fig


def _figures(n):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(min(3.2 * n, 12), 2.8), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    return fig, axes


def roc_figure(y_true, proba, classes):
    """ROC curve(s): the positive class for two classes, one-vs-rest for more."""
    from sklearn.metrics import auc, roc_curve

    fig, ax = _figure(4.6, 4.2)
    pairs = [(classes[1], proba[:, 1])] if len(classes) == 2 else list(zip(classes, proba.T))
    for label, score in pairs:
        positive = np.asarray(y_true) == label
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, score)
        ax.plot(fpr, tpr, label=f"class {label} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    return fig


def confusion_figure(matrix, classes):
    """The confusion matrix as a heat map with the counts written in."""
    matrix = np.asarray(matrix)
    size = 1.6 + 0.6 * len(classes)
    fig, ax = _figure(size + 0.8, size)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    labels = [str(c) for c in classes]
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion matrix")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center",
                color="white" if value > threshold else "black")
    return fig


BOUNDARY_NOTE = ("Classes are drawn from the most to the least frequent, so the rarer ones lie "
                 "on top, half transparent. A feature with few distinct values is jittered: each "
                 "point moves by at most 0.3 of the step between values, so that rows at the "
                 "same place all stay visible.")


def _jittered(X, seed=0):
    """``X`` (n, 2) with each discrete column (repeated values) spread by uniform noise of at
    most 0.3 times the smallest step between its values: coincident points become a visible
    cloud, and no point gets nearer another value than its own."""
    rng = np.random.default_rng(seed)
    shown = X.copy()
    for j in range(X.shape[1]):
        values = np.unique(X[:, j])
        if len(values) > len(X) / 2:
            continue  # continuous: points rarely coincide
        step = float(np.diff(values).min()) if len(values) > 1 else 1.0
        shown[:, j] += rng.uniform(-0.3 * step, 0.3 * step, size=len(X))
    return shown


def boundary_figure(model, X, y, classes, feature_names):
    """Two features: the rows over the model's prediction, in the features' own units.

    Two classes: the probability of ``classes[1]`` shaded, and the P = 0.5 line. More: the
    region where each class is the most probable, and the lines between regions. The rows are
    drawn as :data:`BOUNDARY_NOTE` says (the most frequent class first, discrete features
    jittered), so that no class hides another.
    """
    fig, ax = _figure(5.4, 4.4)
    X = np.asarray(X, dtype=float)
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * np.where(high > low, high - low, 1.0)
    g0, g1 = np.meshgrid(np.linspace(low[0] - pad[0], high[0] + pad[0], 200),
                         np.linspace(low[1] - pad[1], high[1] + pad[1], 200))
    grid = np.column_stack([g0.ravel(), g1.ravel()])  # (40000, 2)
    proba = model.predict_proba(grid)  # (40000, n_classes)
    colors = [f"C{i}" for i in range(len(classes))]
    if len(classes) == 2:
        shade = ax.contourf(g0, g1, proba[:, 1].reshape(g0.shape), levels=20, cmap="RdBu_r",
                            alpha=0.35, vmin=0, vmax=1)
        fig.colorbar(shade, ax=ax, shrink=0.8, label=f"P(class {classes[1]})")
        ax.contour(g0, g1, proba[:, 1].reshape(g0.shape), levels=[0.5], colors="black")
        title = "Decision boundary (P = 0.5)"
    else:
        winner = proba.argmax(axis=1).reshape(g0.shape).astype(float)
        levels = np.arange(len(classes) + 1) - 0.5
        ax.contourf(g0, g1, winner, levels=levels, colors=colors, alpha=0.25)
        ax.contour(g0, g1, winner, levels=levels[1:-1], colors="black", linewidths=1)
        title = "Decision regions (most probable class)"
    shown = _jittered(X)
    y = np.asarray(y)
    styles = list(zip(classes, "os^vD<>p*h" * 5, colors))
    counts = [int(np.sum(y == label)) for label in classes]
    for k in sorted(range(len(classes)), key=lambda k: -counts[k]):  # the rarest on top
        label, marker, color = styles[k]
        chosen = y == label
        ax.scatter(shown[chosen, 0], shown[chosen, 1], s=14, marker=marker, color=color,
                   alpha=0.6, edgecolor="black", linewidth=0.4,
                   label=f"class {label} ({counts[k]} rows)")
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def graph_figure(loss):
    from lograd.autodiff.pictures import graph_figure as draw

    return draw(loss, title="The model's computation graph (one full-batch step)")


def png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
