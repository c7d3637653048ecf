"""PNG figures of a surrogate evaluation (Agg canvas; pyplot's global state is untouched)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from .._plotting import new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .model import Surrogate

__all__ = ["save_figures"]


def _figure(size: tuple[float, float]) -> Figure:
    # Fixed margins: a layout engine measures every tick label and costs seconds per figure.
    return new_figure(*size, layout=None, margins=_MARGINS)


_MARGINS = {"left": 0.07, "right": 0.97, "bottom": 0.14, "top": 0.92, "wspace": 0.35, "hspace": 0.45}


def _grid_axes(ax: Axes, surrogate: Surrogate) -> None:
    ax.set_xticks(range(surrogate.strikes.size), [f"{k:.2f}" for k in surrogate.strikes], fontsize=7, rotation=90)
    ax.set_yticks(range(surrogate.taus.size), [f"{t:.2f}" for t in surrogate.taus], fontsize=7)
    ax.set_xlabel("strike K/S")
    ax.set_ylabel("maturity (years)")


def _surfaces(path: Path, surrogate: Surrogate, pred: np.ndarray, true: np.ndarray) -> None:
    """Draw true, predicted and error heatmaps of the median-error and the worst test grid."""
    worst = np.abs(pred - true).reshape(len(true), -1).max(axis=1)
    picks = {"median": int(np.argsort(worst)[len(worst) // 2]), "worst": int(np.argmax(worst))}
    fig = _figure((13.0, 7.5))
    axes = fig.subplots(len(picks), 3)
    for row, (label, i) in zip(axes, picks.items()):
        # True and predicted share one colour scale; the error map is symmetric about 0.
        lo, hi = min(true[i].min(), pred[i].min()), max(true[i].max(), pred[i].max())
        lim = np.abs(pred[i] - true[i]).max()
        for ax, data, title, cmap, vmin, vmax in (
                (row[0], true[i], "true IV", "viridis", lo, hi), (row[1], pred[i], "predicted IV", "viridis", lo, hi),
                (row[2], pred[i] - true[i], "error (pred - true)", "coolwarm", -lim, lim)):
            im = ax.imshow(data, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
            fig.colorbar(im, ax=ax)
            ax.set_title(f"{title}: {label} surface #{i}", fontsize=9)
            _grid_axes(ax, surrogate)
    fig.savefig(path, dpi=110)


def _cell_errors(path: Path, surrogate: Surrogate, report: dict[str, Any]) -> None:
    fig = _figure((7.0, 4.5))
    ax = fig.add_subplot()
    im = ax.imshow(np.array(report["per_cell_mae"]), origin="lower", aspect="auto", cmap="magma")
    fig.colorbar(im, ax=ax, label="mean absolute IV error")
    _grid_axes(ax, surrogate)
    ax.set_title("Mean absolute error per grid point")
    fig.savefig(path, dpi=110)


def _residuals(path: Path, pred: np.ndarray, true: np.ndarray) -> None:
    err = (true - pred).ravel()
    fig = _figure((13.0, 4.0))
    a, b, c = fig.subplots(1, 3)
    a.hist(err, bins=80, density=True)
    a.set_xlabel("residual (true - predicted IV)")
    a.set_title("Residual distribution")
    osm, osr = stats.probplot(err, dist="norm", fit=False)
    b.plot(osm, osr, ".", ms=1)
    b.set_xlabel("normal quantile")
    b.set_ylabel("residual quantile")
    b.set_title("Q-Q plot against the normal")
    step = max(err.size // 50_000, 1)
    c.plot(pred.ravel()[::step], err[::step], ".", ms=1, alpha=0.3)
    c.set_xlabel("predicted IV")
    c.set_ylabel("residual")
    c.set_title("Residual vs prediction")
    fig.savefig(path, dpi=110)


def _buckets(path: Path, report: dict[str, Any]) -> None:
    names = list(report["buckets"])
    fig = _figure((10.0, 3.5))
    for ax, key in zip(fig.subplots(1, 3), ("rmse", "mae", "median_rel")):
        ax.bar(names, [report["buckets"][n][key] for n in names])
        ax.set_title(key)
        ax.tick_params(axis="x", rotation=30)
    fig.savefig(path, dpi=110)


def _history(path: Path, history: list[dict[str, float]]) -> None:
    fig = _figure((10.0, 3.5))
    a, b = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    a.semilogy(epochs, [h["train_loss"] for h in history], label="train")
    a.semilogy(epochs, [h["val_loss"] for h in history], label="validation")
    a.set_xlabel("epoch")
    a.set_title("loss")
    a.legend()
    b.semilogy(epochs, [h["lr"] for h in history])
    b.set_xlabel("epoch")
    b.set_title("learning rate")
    fig.savefig(path, dpi=110)


def save_figures(out: Path, surrogate: Surrogate, pred: np.ndarray, true: np.ndarray, report: dict[str, Any],
                 history: list[dict[str, float]] | None) -> list[str]:
    """Write the evaluation figures to ``out``.

    Parameters
    ----------
    out : pathlib.Path
        Existing output directory.
    surrogate : Surrogate
        The evaluated surrogate (for the grid labels).
    pred, true : ndarray, shape (n, n_taus, n_strikes)
        Predicted and true implied vols.
    report : dict
        The report of :func:`ivfast.surrogate.evaluate` (buckets, per-cell errors).
    history : list of dict, optional
        Training history; adds ``history.png``.

    Returns
    -------
    list of str
        The written file names.
    """
    written = {"surfaces.png": lambda p: _surfaces(p, surrogate, pred, true),
               "cell_errors.png": lambda p: _cell_errors(p, surrogate, report),
               "residuals.png": lambda p: _residuals(p, pred, true),
               "buckets.png": lambda p: _buckets(p, report)}
    if history:
        written["history.png"] = lambda p: _history(p, history)
    for name, draw in written.items():
        draw(out / name)
    return list(written)
