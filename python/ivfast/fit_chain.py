"""From an option-chain file to a fitted, checked deep-smoothing surface and its diagnostics.

:func:`fit_chain` runs the whole workflow behind ``ivfast fit``: clean the chain
(:func:`ivfast.chain.prepare_quotes`), fit the deep-smoothing surface
(:func:`ivfast.surface.fit_surface`) to the mid implied vols with the chain's weights, check the
fit for static arbitrage on a dense grid (:func:`ivfast.arbitrage.check_surface`) and write the
surface, the report, figures and a JSON summary into one folder.

Fit quality is measured where it matters to a trader: the share of kept quotes whose fitted
implied vol lies inside their bid-ask implied-vol interval, and the vol RMSE against the mids.
Needs the torch extra (``pip install ivfast[torch]``).
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .chain import SurfaceQuotes, prepare_quotes, read_chain

__all__ = ["FitChainResult", "fit_chain", "default_fit_config", "choose_root", "check_grid", "inside_bid_ask"]

FILES = {
    "surface": "surface.pt",
    "export": "surface_torchscript.pt",
    "quotes": "fit_quotes.csv",
    "arbitrage_text": "arbitrage.txt",
    "arbitrage_plot": "arbitrage.png",
    "fit_plot": "fit_vs_quotes.png",
    "residual_plot": "fit_residuals.png",
    "smiles_plot": "smiles.png",
    "surface_plot": "iv_surface.png",
    "loss_plot": "loss.png",
    "dropped_plot": "dropped.png",
    "summary": "summary.json",
}
"""Names of the files :func:`fit_chain` writes into its output folder."""

_CHECK_K_PAD = 0.1
"""The arbitrage grid extends the quoted k range by this fraction of its width on each side."""


def default_fit_config(**changes: Any):
    """The :class:`~ivfast.surface.SmoothingConfig` ``ivfast fit`` uses unless told otherwise.

    The paper's 4 x 40 network and loss weights, with a stopping target of 0.005 instead of
    0.02: at 0.02 (about 0.5 vol points RMSE) fits miss typical index bid-ask intervals, which
    are 0.2 to 2 vol points wide. ``max_epochs`` (12,000) caps the work when the target is out
    of reach (noisy mids); ``ivfast fit --time-limit`` caps the wall time.

    ``identity_start`` is off: on real chains, where the fitted SSVI prior is already close (SPX
    2026-01-30, 6,538 quotes: loss 0.028), the network's random start gets ahead faster (best loss
    0.0103 against 0.0133 after 500 epochs, one thread). The identity start used to stall there
    altogether (at 0.028 for 20,000 epochs, until it kept the random output weights; see
    :meth:`~ivfast.surface.network.CorrectionNetwork.start_at_one`). On the seed's synthetic
    surfaces, whose prior is far off, the identity start is what brings the RMSE under 0.5 vol
    points, hence the trainer's own default stays on.
    """
    from .surface import SmoothingConfig

    return SmoothingConfig(target_loss=0.005, max_epochs=12000, identity_start=False,
                           progress=False).replace(**changes)


@dataclass(frozen=True)
class FitChainResult:
    """Everything :func:`fit_chain` produced.

    Attributes
    ----------
    quotes : SurfaceQuotes
        The cleaned quotes the surface was fitted to (and the dropped ones, with reasons).
    surface : FittedSurface
        The deep-smoothing fit (``k = ln(K/F)``, ``tau`` in years, ``w = sigma^2 tau``).
    report : ArbitrageReport
        Static-arbitrage check of the surface on :func:`check_grid`.
    fitted_iv : ndarray
        Fitted implied vol at each kept quote (same order as ``quotes.quotes``).
    inside : ndarray of bool
        Whether ``fitted_iv`` lies in the quote's bid-ask implied-vol interval.
    summary : dict
        The JSON summary (counts, accuracy, arbitrage counts, timings, file names, notes).
    files : dict
        Path of each file written, keyed as :data:`FILES`.
    """

    quotes: SurfaceQuotes
    surface: Any
    report: Any
    fitted_iv: np.ndarray
    inside: np.ndarray
    summary: dict
    files: dict[str, pathlib.Path] = field(default_factory=dict)

    @property
    def inside_fraction(self) -> float:
        """Share of kept quotes whose fitted vol lies inside the bid-ask vol interval."""
        return float(self.inside.mean()) if self.inside.size else math.nan

    @property
    def rmse(self) -> float:
        """Root mean square of fitted minus mid implied vol (vol units, 0.01 = one vol point)."""
        return float(np.sqrt(np.mean((self.fitted_iv - self.quotes.iv) ** 2)))

    def summary_text(self) -> str:
        """A few lines for the terminal (what ``ivfast fit`` prints)."""
        return format_summary(self.summary)


# ------------------------------------------------------------------------------ workflow steps
def choose_root(frame: pd.DataFrame, roots: Any = "auto") -> tuple[list[str] | None, str]:
    """Roots to fit and a note saying why.

    ``"auto"``: the root with the most quotes when a chain lists several (SPX and SPXW share
    expiry dates but settle at different times, so one surface takes one of them);
    ``"all"`` or None: every root; a string ``"A,B"`` or an iterable: those roots.
    """
    if roots is None or (isinstance(roots, str) and roots.lower() == "all"):
        return None, "all roots"
    if isinstance(roots, str) and roots.lower() != "auto":
        roots = [r.strip() for r in roots.split(",") if r.strip()]
    if not isinstance(roots, str):
        chosen = [str(r) for r in roots]
        if not chosen:
            raise ValueError("roots: expected at least one root name")
        return chosen, f"roots {','.join(chosen)} (as requested)"
    if "root" not in frame.columns:
        return None, "all quotes (no root column)"
    counts = frame["root"].fillna("").astype(str).value_counts()
    if len(counts) <= 1:
        return None, f"root {counts.index[0]}" if len(counts) and counts.index[0] else "all quotes (no root names)"
    best = str(counts.index[0])
    others = ", ".join(f"{r} {n}" for r, n in counts.iloc[1:].items())
    return [best], (f"root {best} ({counts.iloc[0]} of {counts.sum()} quotes; left out: {others}; "
                    "choose with --roots)")


def inside_bid_ask(fitted_iv: np.ndarray, iv_bid: np.ndarray, iv_ask: np.ndarray) -> np.ndarray:
    """``iv_bid <= fitted_iv <= iv_ask``, elementwise.

    A NaN bid vol means the bid is below the discounted intrinsic value, so every vol prices at
    or above it (lower bound 0); a NaN ask vol means the ask is at or above the no-arbitrage
    upper bound (no upper bound).
    """
    low = np.where(np.isnan(iv_bid), 0.0, iv_bid)
    high = np.where(np.isnan(iv_ask), np.inf, iv_ask)
    return (fitted_iv >= low) & (fitted_iv <= high)


def check_grid(quotes: SurfaceQuotes, n_k: int = 201, n_tau: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Dense (k, tau) grid of the arbitrage check: the quoted k range widened by 10 % of its
    width on each side, times log-spaced maturities from the first to the last expiry (plus
    every quoted maturity, where the fit is anchored)."""
    k, tau = quotes.k, quotes.tau
    pad = _CHECK_K_PAD * max(k.max() - k.min(), 0.1)
    k_grid = np.linspace(k.min() - pad, k.max() + pad, n_k)
    tau_grid = np.unique(np.r_[np.geomspace(tau.min(), tau.max(), n_tau), tau])
    return k_grid, tau_grid


def _on_time_axis(quotes: SurfaceQuotes, time_axis: str) -> tuple[SurfaceQuotes, str]:
    if time_axis not in ("trading", "calendar"):
        raise ValueError(f"time_axis: expected 'trading' or 'calendar', got {time_axis!r}")
    if time_axis == "calendar":
        return quotes, "maturity in calendar years (ACT/365)"
    try:
        return quotes.in_trading_time(), "maturity in NYSE trading years (sessions / 252)"
    except ValueError as exc:
        return quotes, f"maturity in calendar years (ACT/365): no trading time ({exc})"


def _time_limit_callback(seconds: float | None):
    if seconds is None:
        return None
    if not seconds > 0:
        raise ValueError(f"time_limit: expected a positive number of seconds, got {seconds!r}")
    deadline = time.perf_counter() + seconds
    return lambda row: time.perf_counter() > deadline


def _load_init(init: Any):
    """A FittedSurface from ``init`` (a fit or the path of a saved one), None for a cold start."""
    from .surface import FittedSurface

    if init is None or isinstance(init, FittedSurface):
        return init
    try:
        return FittedSurface.load(init)
    except (OSError, RuntimeError) as exc:  # missing file; torch's errors for corrupt archives
        raise ValueError(f"init: cannot load a saved surface from {os.fspath(init)!r} ({exc})") from None


def _export(surface, path: pathlib.Path) -> tuple[pathlib.Path | None, str]:
    """Write the TorchScript export when :mod:`ivfast.surface.export` is available."""
    try:
        from .surface.export import export_surface
    except ImportError as exc:
        return None, f"export skipped: ivfast.surface.export not available ({exc})"
    try:
        return pathlib.Path(export_surface(surface, path, format="torchscript")), "exported as TorchScript"
    except Exception as exc:  # torch.jit raises many error types; the fit itself stays valid
        return None, f"export failed: {type(exc).__name__}: {exc}"


def _per_expiry(table: pd.DataFrame) -> pd.DataFrame:
    err = table["fit_iv"] - table["iv_mid"]
    grouped = table.assign(_sq=err**2).groupby(["root", "expiry", "tau"], sort=True, dropna=False)
    out = grouped.agg(n=("k", "size"), inside=("inside", "mean"), mse=("_sq", "mean"),
                      half_spread=("half_spread", "median"))
    out["rmse_vol_points"] = 100.0 * np.sqrt(out.pop("mse"))
    out["median_half_spread_vol_points"] = 100.0 * out.pop("half_spread")
    return out.reset_index().sort_values("tau", kind="stable")


def _expiry_counts(quotes: SurfaceQuotes) -> dict[str, int]:
    kept = set(map(tuple, quotes.quotes[["root", "expiry"]].astype(str).to_numpy()))
    all_keys = kept | set(map(tuple, quotes.dropped[["root", "expiry"]].astype(str).to_numpy()))
    return {"input": len(all_keys), "fitted": len(kept)}


# ------------------------------------------------------------------------------ main entry
def fit_chain(
    source: Any,
    out_dir: str | os.PathLike,
    *,
    roots: Any = "auto",
    as_of: Any = None,
    config=None,
    time_limit: float | None = None,
    init: Any = None,
    seed: int = 0,
    weights: str = "spread",
    time_axis: str = "trading",
    export: bool = True,
    progress: bool = False,
    chain_options: Mapping[str, Any] | None = None,
) -> FitChainResult:
    """Clean an option chain, fit a deep-smoothing surface, check it and write the results.

    Parameters
    ----------
    source : path or DataFrame
        Option chain: Cboe delayed-quote or Yahoo CSV, or a table with columns ``expiry`` (or
        ``tau``), ``strike``, ``type``, ``bid``, ``ask`` (see :func:`ivfast.chain.read_chain`).
        Prices are premiums in price units; forwards and discount factors come from put-call
        parity per expiry.
    out_dir : path
        Folder for the files in :data:`FILES` (created if needed; existing files are replaced).
    roots : "auto", "all", str or iterable of str, default "auto"
        Which option roots to fit (see :func:`choose_root`); "auto" keeps the root with the most
        quotes (``SPXW`` for SPX chains).
    as_of : date-like, optional
        Valuation date (default: from the file).
    config : SmoothingConfig, optional
        Trainer settings; default :func:`default_fit_config`.
    time_limit : float, optional
        Stop training after this many seconds and keep the best state so far.
    init : FittedSurface or path, optional
        Warm start from a previous fit (e.g. yesterday's ``surface.pt``): its SSVI parameters and
        network weights are the starting point; the ATM curve is refitted to these quotes.
    seed : int
        Seed of the network initialisation and collocation sampling.
    weights : {"spread", "vega", "equal"}
        Quote weights in the fit (:func:`ivfast.chain.select_otm`); "spread" weights by the
        inverse bid-ask vol width, so tight quotes are fitted closest.
    time_axis : {"trading", "calendar"}, default "trading"
        Maturity axis of the fitted surface. "trading": NYSE sessions / 252
        (:meth:`~ivfast.chain.SurfaceQuotes.in_trading_time`), so a Monday expiry is one session
        after Friday's, not three days; on SPX 2026-01-30 this raised the share of quotes fitted
        inside bid-ask from 60.1 % to 82.7 % (same trainer, 6,000 epochs; bench/README.md).
        Falls back to "calendar" (ACT/365, noted in the summary) for tables without expiry
        dates. Use "calendar" for chains made in calendar time, such as
        :func:`ivfast.datasets.synthetic_chain`. Total variance is the same either way;
        ``surface`` takes the axis's ``tau``.
    export : bool
        Also write a TorchScript export of the surface (when :mod:`ivfast.surface.export` exists).
    progress : bool
        Show the trainer's tqdm progress bar.
    chain_options : mapping, optional
        Further keyword arguments of :func:`ivfast.chain.prepare_quotes` (``columns``,
        ``day_count``, ``min_strikes``, ``rate``, ``dividend``, ``spot``...).

    Returns
    -------
    FitChainResult

    Raises
    ------
    ValueError
        Malformed chain, no usable quote, or bad options (the message names the problem).
    ImportError
        torch (the optional extra) is not installed.
    """
    from .arbitrage import check_surface
    from .surface import fit_surface

    started = time.perf_counter()
    out = pathlib.Path(out_dir)
    config = default_fit_config() if config is None else config
    callback = _time_limit_callback(time_limit)
    frame = read_chain(source)
    root_list, root_note = choose_root(frame, roots)
    quotes = prepare_quotes(frame, roots=root_list, as_of=as_of, weights=weights, **dict(chain_options or {}))
    quotes, axis_note = _on_time_axis(quotes, time_axis)
    prepared = time.perf_counter()

    inputs = {name: np.array(values, dtype=np.float64) for name, values in quotes.fit_inputs().items()}
    surface = fit_surface(**inputs, config=config, init=_load_init(init), seed=seed, callback=callback,
                          progress=progress)
    fitted = time.perf_counter()

    fitted_iv = surface.implied_vol(quotes.k, quotes.tau)
    inside = inside_bid_ask(fitted_iv, quotes.iv_bid, quotes.iv_ask)
    report = check_surface(surface, *check_grid(quotes))
    checked = time.perf_counter()

    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / FILES[name] for name in FILES if name != "export"}
    table = quotes.to_frame().assign(fit_iv=fitted_iv, inside=inside,
                                     half_spread=0.5 * (quotes.iv_ask - quotes.iv_bid))
    surface.save(files["surface"])
    table.drop(columns="half_spread").to_csv(files["quotes"], index=False, float_format="%.10g")
    files["arbitrage_text"].write_text(_arbitrage_text(report), encoding="utf-8")
    report.plot(files["arbitrage_plot"], title=f"Static-arbitrage violations of the fitted surface ({len(report.violations)})")
    plot_fit_vs_quotes(table, surface, files["fit_plot"])
    plot_residuals(table, files["residual_plot"])
    plot_smiles(table, surface, files["smiles_plot"])
    _plot_surface(quotes, surface, files["surface_plot"])
    _plot_loss(surface, files["loss_plot"])
    plot_dropped(quotes, files["dropped_plot"])
    notes = [f"fitted {root_note}; {axis_note}"]
    if export:
        path, note = _export(surface, out / FILES["export"])
        notes.append(note)
        if path is not None:
            files["export"] = path
    else:
        notes.append("export skipped (not requested)")
    written = time.perf_counter()

    summary = _summary(quotes, table, surface, report, root_list, notes, files,
                       {"prepare": prepared - started, "fit": fitted - prepared, "check": checked - fitted,
                        "write": written - checked, "total": written - started})
    files["summary"].write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return FitChainResult(quotes, surface, report, fitted_iv, inside, summary, files)


def _arbitrage_text(report) -> str:
    lines = [str(report)]
    if not report.violations.empty:
        worst = report.violations.sort_values("size", ascending=False).head(20)
        lines += ["", "largest violations:", worst.to_string(index=False, float_format=lambda x: f"{x:.4g}")]
    return "\n".join(lines) + "\n"


def _summary(quotes: SurfaceQuotes, table: pd.DataFrame, surface, report, roots, notes, files,
             seconds: dict[str, float]) -> dict[str, Any]:
    err = table["fit_iv"].to_numpy() - table["iv_mid"].to_numpy()
    counts = report.counts()
    return {
        "roots": roots,
        "as_of": quotes.info.get("as_of"),
        "time_axis": quotes.info.get("time_axis", "calendar"),
        "source": quotes.info.get("source"),
        "expiries": _expiry_counts(quotes),
        "quotes": {"input": quotes.n_input, "dropped": len(quotes.dropped),
                   "dropped_by_reason": {str(r): int(n) for r, n in quotes.drop_summary().items()},
                   "fitted": len(quotes)},
        "fit": {"rmse_vol_points": 100.0 * float(np.sqrt(np.mean(err**2))),
                "max_abs_error_vol_points": 100.0 * float(np.max(np.abs(err))),
                "inside_bid_ask": float(table["inside"].mean()),
                "stop_reason": surface.info.get("stop_reason"), "epochs": surface.info.get("epochs"),
                "best_loss": surface.info.get("best_loss")},
        "arbitrage": {**report.to_dict(), "calendar": counts.get("calendar", 0),
                      "butterfly": counts.get("butterfly", 0)},
        "per_expiry": json.loads(_per_expiry(table).to_json(orient="records", date_format="iso")),
        "seconds": seconds,
        "files": {name: str(path) for name, path in files.items()},
        "notes": notes,
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """The terminal summary of a :func:`fit_chain` JSON summary."""
    q, fit, arb, exp = summary["quotes"], summary["fit"], summary["arbitrage"], summary["expiries"]
    dropped = ", ".join(f"{r} {n}" for r, n in q["dropped_by_reason"].items()) or "none"
    others = {k: v for k, v in arb["counts"].items() if k not in ("calendar", "butterfly") and v}
    return "\n".join([
        f"expiries fitted: {exp['fitted']} of {exp['input']}; {summary['notes'][0]}",
        f"quotes: {q['input']} in, {q['dropped']} dropped ({dropped}), {q['fitted']} fitted (OTM per strike)",
        f"fit: IV RMSE {fit['rmse_vol_points']:.3f} vol points (max {fit['max_abs_error_vol_points']:.2f}), "
        f"{100 * fit['inside_bid_ask']:.1f}% of fitted quotes inside bid-ask; "
        f"{fit['epochs']} epochs, stop: {fit['stop_reason']}, best loss {fit['best_loss']:.4g}",
        f"arbitrage on {arb['grid']}: calendar {arb['calendar']}, butterfly {arb['butterfly']}"
        + (f", other {others}" if others else "") + (" (none)" if arb["ok"] else ""),
        f"time: {summary['seconds']['total']:.1f} s (fit {summary['seconds']['fit']:.1f} s); "
        + "; ".join(summary["notes"][1:]),
        f"files in {pathlib.Path(summary['files']['summary']).parent}",
    ])


# ------------------------------------------------------------------------------ figures
def _figure(width: float, height: float, layout: str | None = "constrained"):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _panel_figure(cols: int, rows: int, panel_height: float):
    """A grid figure with fixed margins: constrained layout costs seconds with dozens of panels."""
    fig = _figure(2.8 * cols, panel_height * rows + 0.6, layout=None)
    height = panel_height * rows + 0.6
    fig.subplots_adjust(left=0.5 / (2.8 * cols) + 0.03, right=0.99, bottom=0.45 / height, top=1 - 0.15 / height,
                        wspace=0.25, hspace=0.45)
    return fig


def _calendar_tau(table: pd.DataFrame) -> pd.Series:
    """Calendar year fractions of a quote table (``tau`` itself unless it is in trading time)."""
    return table["tau_calendar"] if "tau_calendar" in table.columns else table["tau"]


def _expiry_label(smile: pd.DataFrame) -> str:
    expiry, days = smile["expiry"].iloc[0], _calendar_tau(smile).iloc[0] * 365
    day = pd.Timestamp(expiry).date().isoformat() if pd.notna(expiry) else f"{days:.0f} d"
    return f"{day}  ({days:.0f} d)"


def plot_fit_vs_quotes(table: pd.DataFrame, surface, path: str | os.PathLike, *, max_cols: int = 6) -> None:
    """One panel per expiry: bid-ask implied-vol band (grey bars), mids (dots; red where the
    fit is outside the band) and the fitted smile (line), against k = ln(K/F)."""
    groups = list(table.sort_values("tau", kind="stable").groupby(["tau", "root"], sort=False))
    cols = min(max_cols, len(groups))
    rows = math.ceil(len(groups) / cols)
    fig = _panel_figure(cols, rows, 2.2)
    for i, ((tau, root), g) in enumerate(groups):
        ax = fig.add_subplot(rows, cols, i + 1)
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
    fig.supxlabel("log-moneyness k = ln(K/F)", fontsize=9)
    fig.supylabel("Black implied vol", fontsize=9)
    fig.savefig(path, dpi=100)


def plot_residuals(table: pd.DataFrame, path: str | os.PathLike, *, max_cols: int = 6) -> None:
    """One panel per expiry: fitted minus mid vol (dots, red outside) and the bid-ask interval
    around the mid (grey bars), in vol points against k: shows what the smile plot cannot."""
    groups = list(table.sort_values("tau", kind="stable").groupby(["tau", "root"], sort=False))
    cols = min(max_cols, len(groups))
    rows = math.ceil(len(groups) / cols)
    fig = _panel_figure(cols, rows, 2.0)
    for i, ((tau, root), g) in enumerate(groups):
        ax = fig.add_subplot(rows, cols, i + 1)
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
    fig.supxlabel("log-moneyness k = ln(K/F)", fontsize=9)
    fig.supylabel("fit - mid and bid/ask - mid (vol points)", fontsize=9)
    fig.savefig(path, dpi=100)


def plot_smiles(table: pd.DataFrame, surface, path: str | os.PathLike) -> None:
    """Fitted smiles of every expiry over its quoted k range, coloured by maturity (left), and
    the fitted term structure at fixed standardised moneyness k / sqrt(tau) (right)."""
    from matplotlib import cm, colors

    fig = _figure(11, 4.2)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    taus = np.sort(table["tau"].unique())
    norm = colors.LogNorm(taus.min(), taus.max()) if taus.size > 1 else colors.Normalize(0, 2 * taus[0])
    for tau, g in table.groupby("tau"):
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


def _plot_surface(quotes: SurfaceQuotes, surface, path: pathlib.Path) -> None:
    """3-D fitted IV surface over the central 96 % of quoted k (far-wing strikes of the short
    expiries would otherwise stretch the vol axis with extrapolated values)."""
    from .surface.plots import plot_iv_surface

    k_range = tuple(np.quantile(quotes.k, [0.02, 0.98]))
    plot_iv_surface(surface, path, k_range=k_range, tau_range=(quotes.tau.min(), quotes.tau.max()))


def _plot_loss(surface, path: pathlib.Path) -> None:
    from .surface.plots import plot_loss_curves

    if len(surface.history):
        plot_loss_curves(surface, path)
    else:  # stopped before the first history row: an empty figure says so
        fig = _figure(7, 4)
        fig.add_subplot().text(0.5, 0.5, "no history rows (training stopped early)", ha="center")
        fig.savefig(path, dpi=100)


def plot_dropped(quotes: SurfaceQuotes, path: str | os.PathLike) -> None:
    """Strike against days to expiry of every dropped quote, one colour per reason, over the
    fitted quotes in grey (puts and calls of a strike overlap)."""
    fig = _figure(8, 4.5)
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

