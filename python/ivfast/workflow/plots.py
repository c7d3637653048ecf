"""The figures ``ivfast fit`` writes (matplotlib, the ``plot`` extra).

Fit against bid-ask per expiry, residuals, smiles, the surface, the loss curves and the dropped
quotes. The quote tables are :func:`~ivfast.workflow.fit_chain`'s: ``SurfaceQuotes.to_frame()``
with the columns ``fit_iv``, ``inside`` and ``half_spread`` added.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from .._plotting import new_figure
from ..chain import SurfaceQuotes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..surface import FittedSurface

__all__ = ["plot_fit_vs_quotes", "plot_residuals", "plot_smiles", "plot_surface", "plot_loss", "plot_dropped"]


def _panel_figure(cols: int, rows: int, panel_height: float) -> Figure:
    """Make a grid figure with fixed margins: constrained layout costs seconds with dozens of panels."""
    width, height = 2.8 * cols, panel_height * rows + 0.6
    return new_figure(width, height, layout=None, margins={
        "left": 0.5 / width + 0.03, "right": 0.99, "bottom": 0.45 / height, "top": 1 - 0.15 / height,
        "wspace": 0.25, "hspace": 0.45})


def _expiry_panels(table: pd.DataFrame, max_cols: int,
                   panel_height: float) -> tuple[Figure, list[tuple[Axes, float, str, pd.DataFrame]]]:
    """Make one panel per (tau, root) group of a quote table, shortest maturity first."""
    groups = list(table.sort_values("tau", kind="stable").groupby(["tau", "root"], sort=False))
    cols = min(max_cols, len(groups))
    rows = math.ceil(len(groups) / cols)
    fig = _panel_figure(cols, rows, panel_height)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(groups):]:
        ax.remove()
    for ax in axes[:len(groups)]:
        # Tick layout is most of the drawing time of dozens of small panels: three ticks per axis.
        ax.locator_params(nbins=3)
    return fig, [(axes[i], tau, root, g) for i, ((tau, root), g) in enumerate(groups)]


def _save_panels(fig: Figure, ylabel: str, path: str | os.PathLike[str]) -> None:
    fig.supxlabel("log-moneyness k = ln(K/F)", fontsize=9)
    fig.supylabel(ylabel, fontsize=9)
    fig.savefig(path, dpi=100)


def _calendar_tau(table: pd.DataFrame) -> pd.Series:
    """Calendar year fractions of a quote table (``tau`` itself unless it is in trading time)."""
    return table["tau_calendar"] if "tau_calendar" in table.columns else table["tau"]


def _expiry_label(smile: pd.DataFrame) -> str:
    expiry, days = smile["expiry"].iloc[0], _calendar_tau(smile).iloc[0] * 365
    day = pd.Timestamp(expiry).date().isoformat() if pd.notna(expiry) else f"{days:.0f} d"
    return f"{day}  ({days:.0f} d)"


def plot_fit_vs_quotes(table: pd.DataFrame, surface: FittedSurface, path: str | os.PathLike[str], *,
                       max_cols: int = 6) -> None:
    """Plot one panel per expiry: bid-ask vol band, mids and the fitted smile against k = ln(K/F).

    The band is grey bars, the mids dots (red where the fit is outside the band), the fit a line.

    Parameters
    ----------
    table : pandas.DataFrame
        Kept quotes with ``k``, ``tau``, ``root``, ``expiry``, ``iv_bid``, ``iv_mid``,
        ``iv_ask`` and ``inside`` columns.
    surface : FittedSurface
        The fit, on the same maturity axis as ``table['tau']``.
    path : str or os.PathLike
        Output image (PNG; the suffix picks the format).
    max_cols : int
        Panels per row.
    """
    fig, panels = _expiry_panels(table, max_cols, 2.2)
    for ax, tau, root, g in panels:
        k = g["k"].to_numpy()
        low = np.where(np.isnan(g["iv_bid"]), 0.0, g["iv_bid"])
        high = np.where(np.isnan(g["iv_ask"]), g["iv_mid"] * 1.5, g["iv_ask"])
        ax.vlines(k, low, high, color="0.6", lw=1.2, label="bid-ask")
        inside = g["inside"].to_numpy()
        ax.plot(k[inside], g["iv_mid"].to_numpy()[inside], ".", ms=2.5, color="C0", label="mid")
        ax.plot(k[~inside], g["iv_mid"].to_numpy()[~inside], ".", ms=3.5, color="C3", label="fit outside")
        k_line = np.linspace(k.min(), k.max(), 200)
        ax.plot(k_line, surface.implied_vol(k_line, tau), "-", color="k", lw=1.0, label="fit")
        top = np.nanquantile(high, 0.98) if len(high) > 4 else np.nanmax(high)
        ax.set_ylim(max(0.0, np.nanmin(low) * 0.9), top * 1.05)
        ax.set_title(f"{root} {_expiry_label(g)}: {100 * inside.mean():.0f}% in",
                     fontsize=7)
        ax.tick_params(labelsize=6)
    fig.axes[0].legend(fontsize=6, loc="upper right")
    _save_panels(fig, "Black implied vol", path)


def plot_residuals(table: pd.DataFrame, path: str | os.PathLike[str], *, max_cols: int = 6) -> None:
    """Plot one panel per expiry: fitted minus mid vol and the bid-ask interval, in vol points against k.

    Residuals are dots (red outside the interval), the interval around the mid grey bars: at
    this scale the errors the smile plot hides are visible.

    Parameters
    ----------
    table : pandas.DataFrame
        Kept quotes with ``k``, ``tau``, ``root``, ``expiry``, ``iv_bid``, ``iv_mid``,
        ``iv_ask``, ``fit_iv`` and ``inside`` columns.
    path : str or os.PathLike
        Output image (PNG; the suffix picks the format).
    max_cols : int
        Panels per row.
    """
    fig, panels = _expiry_panels(table, max_cols, 2.0)
    for ax, _tau, root, g in panels:
        k, mid = g["k"].to_numpy(), g["iv_mid"].to_numpy()
        low = 100 * (np.where(np.isnan(g["iv_bid"]), 0.0, g["iv_bid"]) - mid)
        high = 100 * (np.where(np.isnan(g["iv_ask"]), np.inf, g["iv_ask"]) - mid)
        resid = 100 * (g["fit_iv"].to_numpy() - mid)
        inside = g["inside"].to_numpy()
        ax.vlines(k, np.maximum(low, -5 * np.nanmedian(high)), np.minimum(high, 5 * np.nanmedian(high)),
                  color="0.7", lw=1.2)
        ax.plot(k[inside], resid[inside], ".", ms=2.5, color="C0")
        ax.plot(k[~inside], resid[~inside], ".", ms=3.5, color="C3")
        ax.axhline(0.0, color="k", lw=0.5)
        span = max(np.nanquantile(np.abs(resid), 0.98), np.nanquantile(high[np.isfinite(high)], 0.9)
                   if np.isfinite(high).any() else 0.0, 0.05)
        ax.set_ylim(-1.5 * span, 1.5 * span)
        ax.set_title(f"{root} {_expiry_label(g)}", fontsize=7)
        ax.tick_params(labelsize=6)
    _save_panels(fig, "fit - mid and bid/ask - mid (vol points)", path)


def plot_smiles(table: pd.DataFrame, surface: FittedSurface, path: str | os.PathLike[str]) -> None:
    """Plot the fitted smiles of every expiry (left) and the fitted term structure (right).

    Each smile covers its quoted k range, coloured by maturity; the term structure is at fixed
    standardised moneyness k / sqrt(tau), with the nearest-ATM mid quotes.

    Parameters
    ----------
    table : pandas.DataFrame
        Kept quotes with ``k``, ``tau`` and ``iv_mid`` columns.
    surface : FittedSurface
        The fit, on the same maturity axis as ``table['tau']``.
    path : str or os.PathLike
        Output image (PNG; the suffix picks the format).
    """
    from matplotlib import cm, colors

    fig = new_figure(11, 4.2)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    taus = np.sort(table["tau"].unique())
    norm = colors.LogNorm(taus.min(), taus.max()) if taus.size > 1 else colors.Normalize(0, 2 * taus[0])
    for key, g in table.groupby("tau"):
        tau = float(cast(float, key))  # the key of the float column "tau"
        k = np.linspace(g["k"].min(), g["k"].max(), 150)
        left.plot(k, surface.implied_vol(k, tau), color=cm.viridis(norm(tau)), lw=0.9)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap="viridis"), ax=left, label="tau (years)")
    left.set_xlabel("k = ln(K/F)")
    left.set_ylabel("fitted implied vol")
    left.set_title("fitted smiles per expiry")
    tau_line = np.geomspace(taus.min(), taus.max(), 200)
    for z in (-1.0, -0.5, 0.0, 0.5):
        right.plot(tau_line, surface.implied_vol(z * 0.2 * np.sqrt(tau_line), tau_line), lw=1.0,
                   label=f"k = {z * 0.2:+.2f} sqrt(tau)")
    atm = table.loc[table.groupby("tau")["k"].apply(lambda s: s.abs().idxmin()), ["tau", "iv_mid"]]
    right.plot(atm["tau"], atm["iv_mid"], "k.", ms=4, label="nearest-ATM mid quote")
    right.set_xscale("log")
    right.set_xlabel("tau (years)")
    right.set_ylabel("implied vol")
    right.set_title("term structure")
    right.legend(fontsize=7)
    fig.savefig(path, dpi=100)


def plot_surface(quotes: SurfaceQuotes, surface: FittedSurface, path: str | os.PathLike[str]) -> None:
    """Plot the fitted IV surface in 3-D over the central 96 % of quoted k and the quoted maturities.

    Far-wing strikes of the short expiries would otherwise stretch the vol axis with
    extrapolated values.

    Parameters
    ----------
    quotes : SurfaceQuotes
        The kept quotes (their k and tau ranges).
    surface : FittedSurface
        The fit.
    path : str or os.PathLike
        Output image (PNG; the suffix picks the format).
    """
    from ..surface.plots import plot_iv_surface

    k_range = tuple(np.quantile(quotes.k, [0.02, 0.98]))
    plot_iv_surface(surface, path, k_range=k_range, tau_range=(quotes.tau.min(), quotes.tau.max()))


def plot_loss(surface: FittedSurface, path: str | os.PathLike[str]) -> None:
    """Plot the training curves (:func:`ivfast.surface.plots.plot_loss_curves`), or a note without history.

    Parameters
    ----------
    surface : FittedSurface
        The fit.
    path : str or os.PathLike
        Output image (PNG; the suffix picks the format).
    """
    from ..surface.plots import plot_loss_curves

    if len(surface.history):
        plot_loss_curves(surface, path)
    else:  # stopped before the first history row: an empty figure says so
        fig = new_figure(7, 4)
        fig.add_subplot().text(0.5, 0.5, "no history rows (training stopped early)", ha="center")
        fig.savefig(path, dpi=100)


def plot_dropped(quotes: SurfaceQuotes, path: str | os.PathLike[str]) -> None:
    """Plot strike against days to expiry of every dropped quote, one colour per reason.

    The fitted quotes are in grey underneath (puts and calls of a strike overlap).

    Parameters
    ----------
    quotes : SurfaceQuotes
        The cleaned chain, with its dropped quotes and their reasons.
    path : str or os.PathLike
        Output image (PNG; the suffix picks the format).
    """
    fig = new_figure(8, 4.5)
    ax = fig.add_subplot()
    kept = quotes.quotes
    ax.scatter(_calendar_tau(kept) * 365, kept["strike"], s=3, color="0.8", label=f"fitted ({len(kept)})")
    dropped = quotes.dropped
    for i, (reason, g) in enumerate(dropped.groupby("reason", sort=True)):
        marker = "v" if i % 2 else "^"
        ax.scatter(g["tau"] * 365, g["strike"], s=8, marker=marker, alpha=0.7, label=f"{reason} ({len(g)})")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("days to expiry")
    ax.set_ylabel("strike")
    ax.set_title(f"dropped quotes: {len(dropped)} of {quotes.n_input}")
    ax.legend(fontsize=7, markerscale=1.5)
    fig.savefig(path, dpi=100)

