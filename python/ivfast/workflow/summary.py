"""The JSON summary of a chain fit and the lines ``ivfast fit`` prints from it."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..chain import SurfaceQuotes

if TYPE_CHECKING:
    from ..arbitrage import ArbitrageReport
    from ..surface import FittedSurface

__all__ = ["arbitrage_text", "build_summary", "format_summary"]


def _per_expiry(table: pd.DataFrame) -> pd.DataFrame:
    err = table["fit_iv"] - table["iv_mid"]
    grouped = table.assign(_sq=err**2).groupby(["root", "expiry", "tau"], sort=True, dropna=False)
    out = grouped.agg(n=("k", "size"), inside=("inside", "mean"), attainable=("attainable", "mean"),
                      mse=("_sq", "mean"), half_spread=("half_spread", "median"))
    out["rmse_vol_points"] = 100.0 * np.sqrt(out.pop("mse"))
    out["median_half_spread_vol_points"] = 100.0 * out.pop("half_spread")
    return out.reset_index().sort_values("tau", kind="stable")


def _expiry_counts(quotes: SurfaceQuotes) -> dict[str, int]:
    kept = set(map(tuple, quotes.quotes[["root", "expiry"]].astype(str).to_numpy()))
    all_keys = kept | set(map(tuple, quotes.dropped[["root", "expiry"]].astype(str).to_numpy()))
    return {"input": len(all_keys), "fitted": len(kept)}


def arbitrage_text(report: ArbitrageReport) -> str:
    """Format the report and its 20 largest violations (the text of ``arbitrage.txt``).

    Parameters
    ----------
    report : ArbitrageReport
        The check of the fitted surface.

    Returns
    -------
    str
        The report's text, then the largest violations as a table; ends with a newline.
    """
    lines = [str(report)]
    if not report.violations.empty:
        worst = report.violations.sort_values("size", ascending=False).head(20)
        lines += ["", "largest violations:", worst.to_string(index=False, float_format=lambda x: f"{x:.4g}")]
    return "\n".join(lines) + "\n"


def build_summary(quotes: SurfaceQuotes, table: pd.DataFrame, surface: FittedSurface, report: ArbitrageReport,
                  roots: list[str] | None, notes: list[str], files: Mapping[str, pathlib.Path],
                  seconds: dict[str, float]) -> dict[str, Any]:
    """Build the JSON summary of a chain fit (``summary.json``): counts, accuracy, arbitrage, timings, files.

    Parameters
    ----------
    quotes : SurfaceQuotes
        The cleaned chain (kept and dropped quotes).
    table : pandas.DataFrame
        Kept quotes with ``fit_iv``, ``iv_mid``, ``inside``, ``attainable``
        (:func:`ivfast.arbitrage.attainable_inside`) and ``half_spread`` columns.
    surface : FittedSurface
        The fit (its ``info``).
    report : ArbitrageReport
        The arbitrage check of the fit.
    roots : list of str or None
        The roots fitted (None: the chain has no root column).
    notes : list of str
        Free-text notes; the first names the roots and the maturity axis.
    files : mapping of str to pathlib.Path
        Paths written, keyed as :data:`~ivfast.workflow.FILES`.
    seconds : dict of str to float
        Wall times of the steps (``prepare``, ``fit``, ``check``, ``write``, ``figures``, ``total``).

    Returns
    -------
    dict
        JSON-serialisable (with ``default=str``): ``roots``, ``as_of``, ``time_axis``,
        ``source``, ``expiries``, ``quotes``, ``fit`` (errors in vol points, 1 = 0.01 in vol),
        ``arbitrage``, ``per_expiry``, ``seconds``, ``files``, ``notes``.
    """
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
                "attainable_inside_bid_ask": float(table["attainable"].mean()),
                "stop_reason": surface.info.get("stop_reason"), "epochs": surface.info.get("epochs"),
                "warmup_epochs": surface.info.get("warmup_epochs", 0), "best_loss": surface.info.get("best_loss")},
        "arbitrage": {**report.to_dict(), "calendar": counts.get("calendar", 0),
                      "butterfly": counts.get("butterfly", 0)},
        "per_expiry": json.loads(_per_expiry(table).to_json(orient="records", date_format="iso")),
        "seconds": seconds,
        "files": {name: str(path) for name, path in files.items()},
        "notes": notes,
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """Format a :func:`~ivfast.workflow.fit_chain` JSON summary for the terminal.

    Parameters
    ----------
    summary : mapping
        As :func:`build_summary` returns it (or ``summary.json`` read back).

    Returns
    -------
    str
        Six lines: expiries, quotes, fit accuracy, arbitrage counts, time, output folder.
    """
    q, fit, arb, exp = summary["quotes"], summary["fit"], summary["arbitrage"], summary["expiries"]
    dropped = ", ".join(f"{r} {n}" for r, n in q["dropped_by_reason"].items()) or "none"
    others = {k: v for k, v in arb["counts"].items() if k not in ("calendar", "butterfly") and v}
    return "\n".join([
        f"expiries fitted: {exp['fitted']} of {exp['input']}; {summary['notes'][0]}",
        f"quotes: {q['input']} in, {q['dropped']} dropped ({dropped}), {q['fitted']} fitted (OTM per strike)",
        f"fit: IV RMSE {fit['rmse_vol_points']:.3f} vol points (max {fit['max_abs_error_vol_points']:.2f}), "
        f"{100 * fit['inside_bid_ask']:.1f}% of fitted quotes inside bid-ask"
        + (f" (arbitrage-free best {100 * fit['attainable_inside_bid_ask']:.1f}%)" if "attainable_inside_bid_ask" in fit
           else "") + "; "
        f"{fit['epochs']} epochs" + (f" after {fit['warmup_epochs']} on the quotes alone" if fit.get("warmup_epochs")
                                     else "") + f", stop: {fit['stop_reason']}, best loss {fit['best_loss']:.4g}",
        f"arbitrage on {arb['grid']}: calendar {arb['calendar']}, butterfly {arb['butterfly']}"
        + (f", other {others}" if others else "") + (" (none)" if arb["ok"] else ""),
        f"time: {summary['seconds']['total']:.1f} s (fit {summary['seconds']['fit']:.1f} s); "
        + "; ".join(summary["notes"][1:]),
        f"files in {pathlib.Path(summary['files']['summary']).parent}",
    ])
