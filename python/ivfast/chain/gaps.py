"""The put/call implied-vol gap at equal strikes: a symptom of a wrong forward or of early exercise.

With European quotes and the right forward and discount factor, a call and a put at the same
strike have the same implied volatility (parity), up to half their spreads. An early-exercise
premium left in American puts, or dividends missing from the forward, open a gap that grows
into the money.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["put_call_gap"]


def put_call_gap(quotes: pd.DataFrame, *, window: float = 0.5) -> pd.DataFrame:
    """Put minus call mid implied vol at the strikes where both are usable, per smile.

    Parameters
    ----------
    quotes : DataFrame
        :attr:`ivfast.chain.ChainAnalysis.quotes` (columns ``slice``, ``tau``, ``strike``, ``k``,
        ``is_call``, ``iv_mid``, ``reason``).
    window : float, default 0.5
        Strikes with ``|k| <= window * sqrt(tau)`` enter.

    Returns
    -------
    DataFrame
        One row per smile: ``slice``, ``tau``, ``n`` (strikes), ``median_abs_gap`` and
        ``mean_gap`` (put minus call, in vol units: 0.01 is one vol point).
    """
    usable = quotes[(quotes["reason"] == "") & np.isfinite(quotes["iv_mid"])]
    cols = ["slice", "tau", "strike", "k", "iv_mid"]
    both = usable.loc[~usable["is_call"], cols].merge(usable.loc[usable["is_call"], ["slice", "strike", "iv_mid"]],
                                                     on=["slice", "strike"], suffixes=("_p", "_c"))
    both = both[np.abs(both["k"]) <= window * np.sqrt(both["tau"])]
    gap = both.assign(gap=both["iv_mid_p"] - both["iv_mid_c"])
    table = gap.groupby("slice").agg(tau=("tau", "first"), n=("gap", "size"),
                                     median_abs_gap=("gap", lambda g: float(np.median(np.abs(g)))),
                                     mean_gap=("gap", "mean"))
    return table.reset_index()
