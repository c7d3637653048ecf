"""Option chain -> surface quotes on the real 17k-row SPX file (2026-01-30, Yahoo format).

Run with ``./run.sh bench -k chain``. Times ``ivfast.chain.prepare_quotes`` (read, clean,
robust parity per expiry, bid/mid/ask inversion of every quote, OTM selection) against a
notebook-style peer on the same file: pandas pivot per expiry, ``np.polyfit`` parity over
near-the-money mids (no outlier handling, no spread weights) and a py_lets_be_rational loop
over the out-of-the-money mids only. Skipped when the shared chains folder is absent.
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest

from ivfast import chain

SPX = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "chains" / "spx_2026-01-30_yahoo.csv"
AS_OF = pd.Timestamp("2026-01-30")

pytestmark = pytest.mark.skipif(not SPX.is_file(), reason="real chains not present (../shared/data/chains)")


def _table(ratio_table):
    return ratio_table("SPX 2026-01-30 chain (17,107 quotes) -> surface quotes, per input quote")


def test_ivfast_prepare_quotes(benchmark, ratio_table):
    result = benchmark.pedantic(chain.prepare_quotes, args=(SPX,), kwargs={"threads": 1}, rounds=5, iterations=1)
    _table(ratio_table).add("ivfast.chain.prepare_quotes (1 thread)", benchmark, 17107)
    print(f"\nkept {result.kept_fraction:.1%} of quotes, {len(result)} surface points; "
          f"drops: {result.drop_summary().to_dict()}")


def test_ivfast_stages(benchmark, ratio_table):
    raw = chain.read_chain(SPX)
    benchmark.pedantic(chain.analyze_chain, args=(raw,), kwargs={"threads": 1}, rounds=5, iterations=1)
    _table(ratio_table).add("  of which analyze_chain on a parsed frame", benchmark, 17107)


def _notebook_peer(lbr) -> int:
    raw = pd.read_csv(SPX)
    raw = raw[(raw["bid"] > 0) & (raw["ask"] > raw["bid"])].assign(
        mid=lambda d: (d["bid"] + d["ask"]) / 2, root=lambda d: d["contractSymbol"].str.extract(r"^([A-Z]+)")[0])
    n = 0
    for (root, expiry), group in raw.groupby(["root", "expiration"]):
        tau = (pd.Timestamp(expiry) - AS_OF).days / 365.0
        wide = group.pivot_table(index="strike", columns="option_type", values="mid").dropna()
        if len(wide) < 5 or tau <= 0:
            continue
        k = wide.index.to_numpy()
        diff = (wide["call"] - wide["put"]).to_numpy()
        f0 = k[np.argmin(np.abs(diff))]
        near = np.abs(np.log(k / f0)) < np.sqrt(tau)
        slope, intercept = np.polyfit(k[near], diff[near], 1)
        discount, forward = -slope, intercept / -slope
        otm = group[np.where(group["option_type"] == "call", group["strike"] > forward, group["strike"] < forward)]
        for price, strike, kind in zip(otm["mid"], otm["strike"], otm["option_type"]):
            try:
                lbr.implied_volatility_from_a_transformed_rational_guess(
                    price / discount, forward, strike, tau, 1 if kind == "call" else -1)
                n += 1
            except Exception:  # below intrinsic / above maximum
                pass
    return n


def test_notebook_peer(benchmark, ratio_table):
    lbr = pytest.importorskip("py_lets_be_rational")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # polyfit RankWarning on thin expiries is part of the peer
        benchmark.pedantic(_notebook_peer, args=(lbr,), rounds=3, iterations=1)
    _table(ratio_table).add("notebook: pandas + polyfit + py_lets_be_rational", benchmark, 17107)
