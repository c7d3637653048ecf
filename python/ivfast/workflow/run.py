"""From an option-chain file to a fitted, checked deep-smoothing surface and its diagnostics.

:func:`fit_chain` runs the whole workflow behind ``ivfast fit``: clean the chain
(:func:`ivfast.chain.prepare_quotes`), fit the deep-smoothing surface
(:func:`ivfast.surface.fit_surface`) to the mid implied vols with the chain's weights, check the
fit for static arbitrage on a dense grid (:func:`ivfast.arbitrage.check_surface`) and write the
surface, the report, figures and a JSON summary into one folder.

Fit quality is measured where it matters to a trader: the share of kept quotes whose fitted
implied vol lies inside their bid-ask implied-vol interval, and the vol RMSE against the mids.
Needs the torch extra (``pip install ivfast[torch]``) and matplotlib (``ivfast[plot]``).
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._optional import require
from ..chain import SurfaceQuotes, choose_root, prepare_quotes, read_chain
from .config import COMPLETION, FILES, default_fit_config
from .plots import plot_dropped, plot_fit_vs_quotes, plot_loss, plot_residuals, plot_smiles, plot_surface
from .result import FitChainResult, check_grid, inside_bid_ask
from .summary import arbitrage_text, build_summary

if TYPE_CHECKING:
    from ..chain.normalize import DateLike
    from ..chain.readers import ChainSource
    from ..surface import FittedSurface, SmoothingConfig

__all__ = ["fit_chain"]


def _load_init(init: FittedSurface | str | os.PathLike[str] | None,
               inputs: Mapping[str, np.ndarray]) -> FittedSurface | None:
    """A FittedSurface from ``init`` (a fit, the path of a saved one, or "completion" of ``inputs``), None for cold."""
    from ..surface import FittedSurface

    if init is None or isinstance(init, FittedSurface):
        return init
    if isinstance(init, str) and init == COMPLETION:
        from ..completion import complete_surface

        return complete_surface(inputs["k"], inputs["tau"], inputs["iv"], weights=inputs["weights"], correct=True)
    try:
        return FittedSurface.load(init)
    except (OSError, RuntimeError) as exc:  # missing file; torch's errors for corrupt archives
        raise ValueError(f"init: cannot load a saved surface from {os.fspath(init)!r} ({exc})") from None


def _export(surface: FittedSurface, path: pathlib.Path) -> tuple[pathlib.Path | None, str]:
    """Write the TorchScript export; a failure is noted, the fit itself stays valid."""
    from ..export.write import export_surface

    try:
        return pathlib.Path(export_surface(surface, path, format="torchscript")), "exported as TorchScript"
    except Exception as exc:  # torch.jit raises many error types; the fit itself stays valid
        return None, f"export failed: {type(exc).__name__}: {exc}"


_FIGURES = ("arbitrage_plot", "fit_plot", "residual_plot", "smiles_plot", "surface_plot", "loss_plot", "dropped_plot")


def _write_figures(quotes: SurfaceQuotes, table: Any, surface: FittedSurface, report: Any,
                   files: Mapping[str, pathlib.Path]) -> None:
    report.plot(files["arbitrage_plot"],
                title=f"Static-arbitrage violations of the fitted surface ({len(report.violations)})")
    plot_fit_vs_quotes(table, surface, files["fit_plot"])
    plot_residuals(table, files["residual_plot"])
    plot_smiles(table, surface, files["smiles_plot"])
    plot_surface(quotes, surface, files["surface_plot"])
    plot_loss(surface, files["loss_plot"])
    plot_dropped(quotes, files["dropped_plot"])


def fit_chain(
    source: ChainSource,
    out_dir: str | os.PathLike[str],
    *,
    roots: str | Iterable[str] = "auto",
    as_of: DateLike | None = None,
    config: SmoothingConfig | None = None,
    time_limit: float | None = None,
    init: FittedSurface | str | os.PathLike[str] | None = COMPLETION,
    seed: int = 0,
    weights: str = "spread",
    time_axis: str = "trading",
    export: bool = True,
    figures: bool = True,
    progress: bool = False,
    chain_options: Mapping[str, Any] | None = None,
) -> FitChainResult:
    """Clean an option chain, fit a deep-smoothing surface, check it and write the results.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        Option chain: Cboe delayed-quote or Yahoo CSV, or a table with columns ``expiry`` (or
        ``tau``), ``strike``, ``type``, ``bid``, ``ask`` (see :func:`ivfast.chain.read_chain`).
        Prices are premiums in price units; forwards and discount factors come from put-call
        parity per expiry.
    out_dir : str or os.PathLike
        Folder for the files in :data:`FILES` (created if needed; existing files are replaced).
    roots : "auto", "all", str or iterable of str, default "auto"
        Which option roots to fit (see :func:`ivfast.chain.choose_root`); "auto" keeps the root
        with the most quotes (``SPXW`` for SPX chains).
    as_of : str, datetime.date or numpy.datetime64, optional
        Valuation date (default: from the file).
    config : SmoothingConfig, optional
        Trainer settings; default :func:`default_fit_config`.
    time_limit : float, optional
        Stop training after this many seconds (> 0) and keep the best state so far (sets
        ``config.time_limit``).
    init : FittedSurface, str, os.PathLike or None, default "completion"
        Where training starts. ``"completion"`` (:data:`COMPLETION`; write ``./completion`` for a
        file of that name): from the certified, spline-corrected completion of these quotes
        (``complete_surface(..., correct=True)``, seconds), which is returned untrained when it
        already meets the inside-bid-ask targets and its certificate is clean, and whenever
        training would end worse (:mod:`ivfast.surface.start_result`). A previous fit (e.g.
        yesterday's ``surface.pt``): its SSVI parameters and network weights, the ATM curve
        refitted to these quotes. None: the cold start (SSVI fitted alone, random network).
    seed : int
        Seed of the network initialisation and collocation sampling.
    weights : {"spread", "vega", "equal"}
        Quote weights in the fit (:func:`ivfast.chain.select_otm`); "spread" weights by the
        inverse bid-ask vol width, so tight quotes are fitted closest.
    time_axis : {"trading", "calendar"}, default "trading"
        Maturity axis of the fitted surface. "trading": NYSE sessions / 252
        (:meth:`~ivfast.chain.SurfaceQuotes.in_trading_time`), so a Monday expiry is one session
        after Friday's, not three days: in calendar time total variance has a kink at every
        weekend and holiday that a smooth surface cannot follow (measured effect on the share
        inside bid-ask: bench/README.md, "ivfast fit on real chains"). Falls back to "calendar"
        (ACT/365, noted in the summary) for tables without expiry dates. Use "calendar" for
        chains made in calendar time, such as :func:`ivfast.datasets.synthetic_chain`. Total
        variance is the same either way; ``surface`` takes the axis's ``tau``.
    export : bool
        Also write a TorchScript export of the surface (:func:`ivfast.export.export_surface`).
    figures : bool, default True
        Also write the figures (:mod:`ivfast.workflow.plots`; the plot extra). Many-chain runs
        turn them off: they take seconds per chain.
    progress : bool
        Show the trainer's tqdm progress bar.
    chain_options : mapping, optional
        Further keyword arguments of :func:`ivfast.chain.prepare_quotes` (``columns``,
        ``day_count``, ``min_strikes``, ``rate``, ``dividend``, ``spot``...).

    Returns
    -------
    FitChainResult
        The cleaned quotes, the surface, its arbitrage report, the fitted vols, the inside-bid-ask
        flags, the summary and the paths written.

    Raises
    ------
    ValueError
        Malformed chain, no usable quote, or bad options (the message names the problem).
    ImportError
        torch (the optional extra) is not installed.
    """
    require("torch", "ivfast fit")
    if figures:
        require("matplotlib", "ivfast fit's figures")
    from ..arbitrage import attainable_inside, check_surface
    from ..surface import fit_surface

    started = time.perf_counter()
    out = pathlib.Path(out_dir)
    config = default_fit_config() if config is None else config
    if time_limit is not None:
        config = config.replace(time_limit=time_limit)
    # De-Americanised quotes (chain_options exercise "american"/"auto") need no approximation warning.
    frame = read_chain(source, warn_american=dict(chain_options or {}).get("exercise", "european") == "european")
    root_list, root_note = choose_root(frame, roots)
    quotes = prepare_quotes(frame, roots=root_list, as_of=as_of, weights=weights, **dict(chain_options or {}))
    quotes, axis_note = quotes.on_time_axis(time_axis)
    prepared = time.perf_counter()

    inputs = {name: np.array(values, dtype=np.float64) for name, values in quotes.fit_inputs().items()}
    surface = fit_surface(inputs["k"], inputs["tau"], inputs["iv"], weights=inputs["weights"],
                          iv_bid=quotes.iv_bid, iv_ask=quotes.iv_ask, config=config,
                          init=_load_init(init, inputs), seed=seed, progress=progress)
    fitted = time.perf_counter()

    fitted_iv = surface.implied_vol(quotes.k, quotes.tau)
    inside = inside_bid_ask(fitted_iv, quotes.iv_bid, quotes.iv_ask)
    report = check_surface(surface, *check_grid(quotes))
    attainable = attainable_inside(quotes.to_frame())
    checked = time.perf_counter()

    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / FILES[name] for name in FILES if name != "export"}
    table = quotes.to_frame().assign(fit_iv=fitted_iv, inside=inside, attainable=attainable,
                                     half_spread=0.5 * (quotes.iv_ask - quotes.iv_bid))
    surface.save(files["surface"])
    table.drop(columns="half_spread").to_csv(files["quotes"], index=False, float_format="%.10g")
    files["arbitrage_text"].write_text(arbitrage_text(report), encoding="utf-8")
    notes = [f"fitted {root_note}; {axis_note}"]
    drawing = time.perf_counter()
    if figures:
        _write_figures(quotes, table, surface, report, files)
    else:
        files = {name: path for name, path in files.items() if name not in _FIGURES}
        notes.append("figures skipped (not requested)")
    drawn = time.perf_counter() - drawing
    if export:
        path, note = _export(surface, out / FILES["export"])
        notes.append(note)
        if path is not None:
            files["export"] = path
    else:
        notes.append("export skipped (not requested)")
    written = time.perf_counter()

    summary = build_summary(quotes, table, surface, report, root_list, notes, files,
                       {"prepare": prepared - started, "fit": fitted - prepared, "check": checked - fitted,
                        "write": written - checked - drawn, "figures": drawn, "total": written - started})
    files["summary"].write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return FitChainResult(quotes, surface, report, fitted_iv, inside, summary, files)
