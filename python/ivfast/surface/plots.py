"""PNG plots of a deep-smoothing fit: fit against quotes per maturity, the IV surface, loss curves.

Figures come from :func:`ivfast._plotting.new_figure` (Agg canvas, no display).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._plotting import new_figure
from .fitted import FittedSurface

__all__ = ["plot_fit_per_maturity", "plot_iv_surface", "plot_loss_curves"]


def plot_fit_per_maturity(surface: FittedSurface, path: str | os.PathLike[str], *, k: ArrayLike | None = None,
                          tau: ArrayLike | None = None, iv: ArrayLike | None = None, n_points: int = 200) -> str:
    """Plot one panel per maturity: quoted implied vols (dots) and the fitted smile (line) against k.

    Parameters
    ----------
    surface : FittedSurface
        The fit.
    path : str or os.PathLike
        Output image (PNG).
    k, tau, iv : array_like, optional
        Quotes to show: log-moneyness ``ln(K/F)``, years to expiry, Black implied vols, of one
        size (default: the quotes the surface was fitted to). One panel per distinct ``tau``.
    n_points : int
        Points of each fitted smile over the quoted k range.

    Returns
    -------
    str
        The path written.
    """
    q = surface.quotes
    k = q.k if k is None else np.asarray(k, dtype=float)
    tau = q.tau if tau is None else np.asarray(tau, dtype=float)
    iv = q.iv if iv is None else np.asarray(iv, dtype=float)
    maturities = np.unique(tau)
    cols = min(6, maturities.size)
    rows = math.ceil(maturities.size / cols)
    fig = new_figure(3.0 * cols, 2.4 * rows)
    k_line = np.linspace(k.min(), k.max(), n_points)
    for i, t in enumerate(maturities):
        ax = fig.add_subplot(rows, cols, i + 1)
        sel = tau == t
        ax.plot(k[sel], iv[sel], "o", ms=3, label="quotes")
        ax.plot(k_line, surface.implied_vol(k_line, t), "-", lw=1.2, label="fit")
        ax.set_title(f"tau = {t:.4g} y", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.axes[0].legend(fontsize=7)
    fig.supxlabel("log-moneyness k = ln(K/F)")
    fig.supylabel("implied vol")
    fig.savefig(path, dpi=110)
    return os.fspath(path)


def plot_iv_surface(surface: FittedSurface, path: str | os.PathLike[str], *,
                    k_range: tuple[float, float] | None = None, tau_range: tuple[float, float] | None = None,
                    n_k: int = 80, n_tau: int = 60) -> str:
    """Plot the fitted implied-vol surface in 3-D over k and tau.

    Parameters
    ----------
    surface, path : as in :func:`plot_fit_per_maturity`
    k_range : tuple of 2 float, optional
        Log-moneyness range (default: the quotes').
    tau_range : tuple of 2 float, optional
        Maturity range in years, > 0 (default: the quotes'); log-spaced.
    n_k, n_tau : int
        Grid points along k and tau.

    Returns
    -------
    str
        The path written.
    """
    q = surface.quotes
    k_lo, k_hi = k_range if k_range is not None else (q.k.min(), q.k.max())
    t_lo, t_hi = tau_range if tau_range is not None else (q.tau.min(), q.tau.max())
    k = np.linspace(k_lo, k_hi, n_k)
    tau = np.exp(np.linspace(np.log(t_lo), np.log(t_hi), n_tau))
    kk, tt = np.meshgrid(k, tau)
    fig = new_figure(7, 5)
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(kk, tt, surface.implied_vol(kk, tt), cmap="viridis", linewidth=0, antialiased=True)
    ax.set_xlabel("k = ln(K/F)")
    ax.set_ylabel("tau (years)")
    ax.set_zlabel("implied vol")
    fig.savefig(path, dpi=110)
    return os.fspath(path)


def plot_loss_curves(history: pd.DataFrame | FittedSurface, path: str | os.PathLike[str]) -> str:
    """Plot log-scale training curves of the loss terms against total epochs.

    Parameters
    ----------
    history : pandas.DataFrame or FittedSurface
        A fit's history (``FittedSurface.history``), or the fit itself.
    path : str or os.PathLike
        Output image (PNG).

    Returns
    -------
    str
        The path written.
    """
    if isinstance(history, FittedSurface):
        history = history.history
    fig = new_figure(7, 4)
    ax = fig.add_subplot()
    x = history["total_epoch"]
    for column in ("best_loss", "loss", "rmse", "mape", "calendar", "butterfly", "asym", "atm", "lee"):
        y = history[column].to_numpy(dtype=float)
        if np.any(y > 0):
            ax.semilogy(x, np.where(y > 0, y, np.nan), label=column, lw=1.2 if column == "best_loss" else 0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss term")
    ax.legend(fontsize=7, ncol=3)
    fig.savefig(path, dpi=110)
    return os.fspath(path)
