"""A synthetic history of option chains: one Bates market per business day, priced by the C++ pricer.

The parameters follow a slow daily path (spot and initial variance random walks, the rest drifting
gently), so consecutive dates have nearby surfaces, as real markets do: the case the warm starts
of :func:`ivfast.scale.fit_many` are for.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import replace

import numpy as np
import pandas as pd

from ..datasets import synthetic_chain
from ..models import BatesParams

__all__ = ["synthetic_history", "HISTORY_BATES", "HISTORY_EXPIRIES"]

HISTORY_BATES = BatesParams(v0=0.03, kappa=1.5, theta=0.05, sigma=0.6, rho=-0.7, lam=0.2, beta=-0.08, alpha=0.1)
"""The first date's Bates parameters (an index-like market with a downward jump skew)."""
HISTORY_EXPIRIES = (0.08, 0.17, 0.25, 0.5, 1.0)
"""Year fractions of the listed expiries on every date."""
_STRIKES = np.arange(60.0, 146.0, 2.5)
_DAILY_VOL = 0.01  # spot log-return per day
_DAILY_VAR_VOL = 0.08  # relative daily change of v0


def synthetic_history(out_dir: str | os.PathLike[str], n_dates: int = 20, *, start: str = "2024-01-02",
                      underlying: str = "SYN", seed: int = 0) -> list[pathlib.Path]:
    """Write ``n_dates`` business days of synthetic chains as ``<underlying>_<YYYY-MM-DD>.csv`` files.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder for the chain files (created if needed).
    n_dates : int, default 20
        Number of consecutive business days (Monday to Friday) from ``start``.
    start : str, default "2024-01-02"
        First valuation date.
    underlying : str, default "SYN"
        Prefix of the file names (the chain's underlying for :func:`ivfast.scale.chain_manifest`).
    seed : int, default 0
        Seed of the parameter path and of the quotes' random parts.

    Returns
    -------
    list of pathlib.Path
        The files written, in date order. Each holds ``expiry, strike, type, bid, ask`` (premiums,
        spot about 100, rate 3 %, dividend yield 1 %, bid-ask about one vol point), priced in calendar
        time (fit them with ``time_axis="calendar"``).
    """
    if not (isinstance(n_dates, (int, np.integer)) and n_dates >= 1):
        raise ValueError(f"n_dates: expected a positive integer, got {n_dates!r}")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=int(n_dates))
    spot, params, files = 100.0, HISTORY_BATES, []
    for i, day in enumerate(dates):
        frame = synthetic_chain(params, HISTORY_EXPIRIES, _STRIKES * spot / 100.0, spot=spot, spread=0.01,
                                tick=0.01, as_of=day.date(), seed=seed * 100_003 + i)
        path = out / f"{underlying}_{day.date().isoformat()}.csv"
        frame[["expiry", "strike", "type", "bid", "ask"]].to_csv(path, index=False)
        files.append(path)
        spot *= float(np.exp(_DAILY_VOL * rng.standard_normal()))
        v0 = params.v0 * float(np.exp(_DAILY_VAR_VOL * rng.standard_normal() - 0.5 * _DAILY_VAR_VOL**2))
        v0 += 0.05 * (params.theta - v0)  # the path mean-reverts like the model's variance
        rho = float(np.clip(params.rho + 0.01 * rng.standard_normal(), -0.9, -0.4))
        params = replace(params, v0=v0, rho=rho)
    return files
