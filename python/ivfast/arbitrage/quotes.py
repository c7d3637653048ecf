"""Long-format quote tables (one row per option) for the arbitrage checks and ``ivfast check``.

Accepted columns (names case-insensitive, surrounding spaces ignored):

=============  ========  ==============================================================
column         required  meaning
=============  ========  ==============================================================
``tau``        yes       maturity in years (> 0)
``strike``     yes       strike in price units (> 0)
``forward``    yes       forward of that maturity (same on every row of a maturity)
``call_price`` one of    *discounted* call price
``iv``         one of    Black-76 implied volatility (annualised); used when no call_price
``discount``   no        discount factor of that maturity (default 1)
=============  ========  ==============================================================

Rows with an empty price/vol are skipped and counted; other columns are ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pandas.core.groupby import DataFrameGroupBy

from .discrete import check_prices, check_vols
from .report import ArbitrageReport

__all__ = ["check_quotes", "QUOTE_COLUMNS"]

QUOTE_COLUMNS = ("tau", "strike", "forward", "call_price", "iv", "discount")


def _per_maturity_constant(groups: DataFrameGroupBy[Any, Any], column: str) -> np.ndarray:
    spread = groups[column].max() - groups[column].min()
    if (spread.abs() > 1e-12 * groups[column].max().abs()).any():
        tau = spread.index[spread.abs() > 0][0]
        raise ValueError(f"{column}: expected one value per maturity, tau={tau:g} has several")
    return groups[column].first().to_numpy(np.float64)


def check_quotes(quotes: pd.DataFrame, tol: float = 0.0) -> ArbitrageReport:
    """Check a long-format quote table (see the module docstring) for static arbitrage.

    Rows are grouped by maturity and sorted by strike, then passed to
    :func:`~ivfast.arbitrage.check_prices` (or :func:`~ivfast.arbitrage.check_vols` when the
    table has ``iv`` but no ``call_price``).

    Parameters
    ----------
    quotes : pandas.DataFrame
        One row per option with the columns of :data:`QUOTE_COLUMNS` (see the module docstring).
    tol : float, default 0.0
        Violations of size <= tol are ignored; sizes are undiscounted prices as a fraction of the
        forward (``ivfast.arbitrage.KINDS``).

    Returns
    -------
    ArbitrageReport
        As from :func:`~ivfast.arbitrage.check_prices`.

    Raises
    ------
    ValueError
        If a required column is missing or not numeric, a (tau, strike) pair appears twice, or
        forward/discount vary within a maturity.
    """
    if not isinstance(quotes, pd.DataFrame):
        raise ValueError(f"quotes: expected a pandas DataFrame, got {type(quotes).__name__}")
    df = quotes.rename(columns=lambda c: str(c).strip().lower())
    value = "call_price" if "call_price" in df else "iv" if "iv" in df else ""
    missing = [c for c in ("tau", "strike", "forward") if c not in df] + ([] if value else ["call_price or iv"])
    if missing:
        raise ValueError(f"quotes: missing column(s) {', '.join(missing)}; have {', '.join(map(str, df.columns))}")
    columns = ["tau", "strike", "forward", value] + (["discount"] if "discount" in df else [])
    try:
        df = df[columns].astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"quotes: non-numeric entries in {', '.join(columns)} ({exc})") from None
    if "discount" not in df:
        df["discount"] = 1.0
    for column in ("tau", "strike", "forward", "discount"):
        if not np.isfinite(df[column]).all():
            raise ValueError(f"{column}: empty or non-finite entries; only the {value} column may be empty")
    if df.duplicated(["tau", "strike"]).any():
        tau, strike = df.loc[df.duplicated(["tau", "strike"]), ["tau", "strike"]].iloc[0]
        raise ValueError(f"quotes: strike {strike:g} appears twice at tau={tau:g}")
    df = df.sort_values(["tau", "strike"])
    groups = df.groupby("tau", sort=True)
    forwards = _per_maturity_constant(groups, "forward")
    discounts = _per_maturity_constant(groups, "discount")
    grid = df.assign(col=groups.cumcount())
    strikes = grid.pivot(index="tau", columns="col", values="strike").to_numpy(np.float64)
    values = grid.pivot(index="tau", columns="col", values=value).to_numpy(np.float64)
    taus = np.asarray(groups.size().index, dtype=np.float64)
    check = check_prices if value == "call_price" else check_vols
    return check(strikes, taus, values, forwards, discounts, tol=tol)
