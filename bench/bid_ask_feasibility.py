"""How many quotes of a fitted chain can no butterfly-free smile put inside their bid-ask interval.

``python bench/bid_ask_feasibility.py DIR/fit_quotes.csv`` (the quotes ``ivfast fit`` wrote). Per
expiry, one linear programme over forward-normalised call prices ``c_i = C_i / (D F)`` at the
strikes ``x_i = K_i / F``: the prices of the bid and ask vols bound each ``c_i`` (Black's price is
increasing in the vol, so the vol interval maps onto a price interval), slacks ``s_i >= 0`` let a
price leave its interval, and the constraints are the static ones of a single expiry (slopes in
[-1, 0], convex in the strike). It minimises the slacks in units of each quote's half-spread.
Quotes that keep a positive slack at the optimum are ones that any butterfly- and
spread-arbitrage-free smile must miss: a miss there is the market's, not the model's. The L1
objective makes the optimum sparse, so the count is close to the fewest such quotes.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, diags, hstack, identity, vstack
from scipy.stats import norm


def _normalised_call(k: np.ndarray, w: np.ndarray) -> np.ndarray:
    root = np.sqrt(w)
    d1 = -k / root + 0.5 * root
    return norm.cdf(d1) - np.exp(k) * norm.cdf(d1 - root)


def forced_misses(k: np.ndarray, tau: np.ndarray, iv_bid: np.ndarray, iv_ask: np.ndarray) -> np.ndarray:
    """Flag the quotes of one expiry that no static-arbitrage-free smile fits inside bid-ask.

    Parameters
    ----------
    k, tau, iv_bid, iv_ask : ndarray, shape (n,)
        Log-moneyness ``ln(K/F)`` (increasing), years to expiry, bid and ask Black vols.

    Returns
    -------
    ndarray of bool, shape (n,)
        True where the optimum's slack exceeds 1e-6 half-spreads (the LP solver's tolerance).
    """
    n = k.size
    x = np.exp(k)
    low = _normalised_call(k, iv_bid**2 * tau)
    high = _normalised_call(k, iv_ask**2 * tau)
    half = np.maximum(0.5 * (high - low), 1e-12)
    eye = identity(n, format="csr")
    slope = diags([-1.0 / np.diff(x), 1.0 / np.diff(x)], [0, 1], shape=(n - 1, n)).tocsr()  # (c_{i+1} - c_i) / h_i
    curvature = slope[1:] - slope[:-1]  # slope increments, >= 0 for a convex smile
    rows = [hstack([-eye, -eye]), hstack([eye, -eye]), hstack([slope, csr_matrix((n - 1, n))]),
            hstack([-slope, csr_matrix((n - 1, n))]), hstack([-curvature, csr_matrix((max(n - 2, 0), n))])]
    bounds = np.r_[-low, high, np.zeros(n - 1), np.ones(n - 1), np.zeros(max(n - 2, 0))]
    result = linprog(np.r_[np.zeros(n), 1.0 / half], A_ub=vstack(rows).tocsr(), b_ub=bounds,
                     bounds=[(None, None)] * n + [(0, None)] * n, method="highs")
    if not result.success:
        raise RuntimeError(f"LP failed: {result.message}")
    return result.x[n:] > 1e-6 * half


def main(path: str) -> int:
    quotes = pd.read_csv(path)
    total = 0
    for expiry, group in quotes.groupby("expiry"):
        group = group.sort_values("k")
        missed = forced_misses(*(group[c].to_numpy() for c in ("k", "tau", "iv_bid", "iv_ask")))
        total += int(missed.sum())
        if missed.any():
            print(f"{expiry}: {missed.sum()} of {missed.size} quotes outside any butterfly-free smile")
    print(f"{path}: {total} of {len(quotes)} quotes ({100 * total / len(quotes):.2f} %) must be missed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
