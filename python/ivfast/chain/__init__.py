"""From option chains to surface quotes.

Pipeline: :func:`read_chain` (Cboe, Yahoo, CSV/Parquet tables) -> :func:`normalize_quotes`
(canonical columns, year fractions) -> cleaning with a reason per dropped quote -> forward
and discount factor per expiry by robust put-call parity (:func:`fit_parity`) -> Black-76
implied vols of bid, mid and ask through :func:`ivfast.implied_vol` (:func:`analyze_chain`)
-> out-of-the-money selection and weights (:func:`select_otm`) -> :class:`SurfaceQuotes`.
:func:`prepare_quotes` runs it all. American quotes (``exercise="american"``/``"auto"``) are
first replaced by European-equivalent prices (:func:`deamericanize`).

Prices are discounted premiums per unit of underlying; ``k = ln(K/F)`` with F the parity
forward; ``tau`` in years (ACT/365 by default); each (root, expiry) is its own smile, so
AM-settled SPX and PM-settled SPXW stay apart.
"""

from __future__ import annotations

from .american import AmericanCurves, deamericanize, read_dividends
from .analysis import ChainAnalysis, analyze_chain
from .cleaning import DROP_REASONS
from .gaps import put_call_gap
from .normalize import normalize_quotes, year_fraction
from .parity import ParityFit, fit_parity
from .quotes import SurfaceQuotes, prepare_quotes, select_otm
from .readers import AmericanExerciseWarning, read_cboe, read_chain, read_yahoo
from .roots import choose_root

__all__ = [
    "AmericanCurves",
    "AmericanExerciseWarning",
    "ChainAnalysis",
    "DROP_REASONS",
    "ParityFit",
    "SurfaceQuotes",
    "analyze_chain",
    "choose_root",
    "deamericanize",
    "fit_parity",
    "normalize_quotes",
    "put_call_gap",
    "prepare_quotes",
    "read_cboe",
    "read_dividends",
    "read_chain",
    "read_yahoo",
    "select_otm",
    "year_fraction",
]
