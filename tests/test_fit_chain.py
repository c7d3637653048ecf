"""``ivfast fit``: chain -> deep-smoothing surface inside the bid-ask, arbitrage-free, with files;
malformed chains -> one-line errors. The real SPX runs are in bench/bench_fit_chain.py (minutes)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cvxpy")

import ivfast  # noqa: E402
from ivfast import cli, datasets  # noqa: E402
from ivfast.chain import choose_root  # noqa: E402
from ivfast.workflow import FILES, check_grid, inside_bid_ask  # noqa: E402

AS_OF = "2024-01-02"
# A Bates market with a steep short-dated put skew (jumps down) and a rising ATM term structure.
BATES = ivfast.BatesParams(v0=0.04, kappa=1.5, theta=0.05, sigma=0.6, rho=-0.7, lam=0.2, beta=-0.08, alpha=0.1)
EXPIRIES = [0.1, 0.25, 0.5, 1.0]
STRIKES = np.arange(60.0, 146.0, 2.5)
# CI-sized trainer: a 3 x 16 network and light collocation train at ~20 ms/epoch on one core;
# at most 400 epochs (the stop at 95 % inside bid-ask comes within tens on this chain).
SMALL = {"hidden_layers": [16, 16, 16], "n_k_aux": 12, "n_tau_aux": 8, "n_random": 32, "n_random_wing": 8,
         "n_adaptive": 32, "check_grid": [61, 31], "max_epochs": 400, "log_every": 50}
CHAIN_COLUMNS = ["expiry", "strike", "type", "bid", "ask"]


@pytest.fixture(scope="module")
def chain_frame():
    return datasets.synthetic_chain(BATES, EXPIRIES, STRIKES, spread=0.01, tick=0.01,
                                    bad_quotes=["zero_bid", "crossed", "locked"], seed=4)


@pytest.fixture(scope="module", params=["completion", "none"])
def fitted(chain_frame, tmp_path_factory, request):
    """One ``ivfast fit`` run per start shared by the checks below (training is the expensive part).

    "completion" (the default) starts from the certified corrected completion, which meets the
    targets on this chain and is returned untrained; "none" trains deep smoothing from cold.
    """
    folder = tmp_path_factory.mktemp("fit")
    path = folder / "chain.csv"
    chain_frame[CHAIN_COLUMNS].to_csv(path, index=False)
    config = folder / "config.json"
    config.write_text(json.dumps(SMALL))
    out = folder / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # The synthetic chain is priced in calendar time, so the fit takes calendar time too.
        code = cli.main(["fit", str(path), "--out", str(out), "--as-of", AS_OF, "--config", str(config), "--quiet",
                         "--time-axis", "calendar", "--exercise", "european", "--init", request.param])
    return code, out, json.loads((out / FILES["summary"]).read_text()), printed.getvalue()


def test_fit_writes_every_file(fitted):
    code, out, summary, _ = fitted
    assert code == 0
    for name, filename in FILES.items():
        if name == "export" and "export" not in summary["files"]:
            continue  # export module absent: the summary says so
        assert (out / filename).is_file() and (out / filename).stat().st_size > 0, filename
    for filename in (f for f in FILES.values() if f.endswith(".png")):
        assert (out / filename).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", filename
    assert "arbitrage" in (out / FILES["arbitrage_text"]).read_text()


def test_fit_is_inside_bid_ask_and_arbitrage_free(fitted, chain_frame):
    _, out, summary, _ = fitted
    # Acceptance: >= 95 % of kept quotes inside their bid-ask vol interval, no calendar or
    # butterfly arbitrage on the dense grid (201 k x ~100 tau over the quoted domain).
    cold = summary["fit"]["stop_reason"] == "target"
    assert summary["fit"]["inside_bid_ask"] >= 0.95 and (cold or summary["fit"]["stop_reason"] == "start")
    assert min(row["inside"] for row in summary["per_expiry"]) >= 0.8
    # The cleaned synthetic quotes are Bates prices with a spread around them: an arbitrage-free
    # smile reaches every one of them, and no fit can beat the arbitrage-free best.
    assert summary["fit"]["attainable_inside_bid_ask"] == 1.0
    assert all(row["attainable"] >= row["inside"] for row in summary["per_expiry"])
    # A cold fit starts on the quote terms alone (quote_warmup), ended by the targets here; the
    # completion start meets them untrained.
    assert 0 < summary["fit"]["warmup_epochs"] <= 400 if cold else summary["fit"]["epochs"] == 0
    # No violation of any kind, in the dense check and in the fit's own certificate.
    assert summary["arbitrage"]["ok"] and summary["arbitrage"]["calendar"] == 0 == summary["arbitrage"]["butterfly"]
    from ivfast.surface import FittedSurface

    assert FittedSurface.load(out / FILES["surface"]).info["arbitrage"]["ok"]
    assert summary["expiries"] == {"input": 4, "fitted": 4}
    # Independent reference: the Bates model's own implied vols. The synthetic quotes straddle
    # them (bid below, ask above), so a fit inside the quotes is within the quoted widths of the
    # truth: about 1 vol point at the money, more in the wings and at short expiries.
    table = pd.read_csv(out / FILES["quotes"])
    # (the CSV keeps 10 significant digits of tau: match maturities rounded to 1e-8 years)
    truth = chain_frame.assign(tau=chain_frame["tau"].round(8)).drop_duplicates(["tau", "strike"])
    truth = truth.set_index(["tau", "strike"])["true_iv"]
    true_iv = truth.reindex(pd.MultiIndex.from_arrays([table["tau"].round(8), table["strike"]])).to_numpy()
    assert np.isfinite(true_iv).all()
    assert np.sqrt(np.mean((table["fit_iv"] - true_iv) ** 2)) < 0.01  # RMSE below 1 vol point
    half = (table["iv_ask"] - table["iv_bid"]).to_numpy()
    assert np.mean(np.abs(table["fit_iv"] - true_iv) <= half) >= 0.95


def test_planted_bad_quotes_are_dropped_and_counted(fitted):
    _, _, summary, _ = fitted
    reasons = summary["quotes"]["dropped_by_reason"]
    assert {"zero_bid", "crossed", "locked"} <= set(reasons)
    assert summary["quotes"]["dropped"] == sum(reasons.values())


def test_saved_surface_reproduces_the_fitted_vols(fitted):
    from ivfast.surface import FittedSurface

    _, out, _, _ = fitted
    surface = FittedSurface.load(out / FILES["surface"])
    table = pd.read_csv(out / FILES["quotes"])
    # The CSV keeps 10 significant digits of k, tau and the vols.
    np.testing.assert_allclose(surface.implied_vol(table["k"], table["tau"]), table["fit_iv"], rtol=1e-8)
    assert (table["inside"] == inside_bid_ask(table["fit_iv"], table["iv_bid"], table["iv_ask"])).all()


def test_export_matches_the_surface(fitted):
    _, out, summary, _ = fitted
    assert "export" in summary["files"], summary["notes"]
    from ivfast.surface import FittedSurface

    exported = ivfast.load_exported(out / FILES["export"])
    surface = FittedSurface.load(out / FILES["surface"])
    k, tau = np.linspace(-0.5, 0.4, 9), np.full(9, 0.3)
    # Same float64 computation: agreement to rounding.
    np.testing.assert_allclose(exported.implied_vol(k, tau), surface.implied_vol(k, tau), rtol=1e-12)


def test_summary_is_printed(fitted):
    text = fitted[3]
    for phrase in ("expiries fitted: 4 of 4", "dropped (zero_bid ", "vol points", "inside bid-ask", "calendar 0",
                   "butterfly 0", "time:"):
        assert phrase in text, phrase


# ------------------------------------------------------------------------------ malformed input
def _run_failing(args, capsys) -> str:
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err and err.startswith("ivfast fit: ") and err.count("\n") == 1, err
    return err


def _malformed(kind: str, frame: pd.DataFrame, path) -> None:
    if kind == "empty":
        path.write_text("")
    elif kind == "wrong columns":
        path.write_text("a,b\n1,2\n")
    elif kind == "strings":
        text = frame[CHAIN_COLUMNS].astype({"ask": object})
        text.loc[text.index[7], "ask"] = "abc"
        text.to_csv(path, index=False)
    else:
        frame[CHAIN_COLUMNS].assign(bid=0.0).to_csv(path, index=False)


@pytest.mark.parametrize(("kind", "message"), [
    ("empty", "empty"),
    ("wrong columns", "missing column"),
    ("strings", "column 'ask': 'abc'"),
    ("all bad", "quotes were dropped (zero_bid: "),
])
def test_malformed_chains_give_one_line_errors(kind, message, chain_frame, tmp_path, capsys):
    path = tmp_path / "chain.csv"
    _malformed(kind, chain_frame, path)
    # The synthetic chains are European (priced by Black-76), and have no root column to say so.
    assert message in _run_failing(["fit", str(path), "--out", str(tmp_path / "o"), "--as-of", AS_OF, "-q",
                                    "--exercise", "european"], capsys)
    assert not (tmp_path / "o").exists()  # nothing written before the chain is known to be usable


def test_bad_options_give_one_line_errors(chain_frame, tmp_path, capsys):
    path = tmp_path / "chain.csv"
    chain_frame[CHAIN_COLUMNS].to_csv(path, index=False)
    base = ["fit", str(path), "--out", str(tmp_path / "o"), "--as-of", AS_OF, "-q", "--exercise", "european"]
    assert "--hidden" in _run_failing([*base, "--hidden", "4,x"], capsys)
    assert "hidden_layers" in _run_failing([*base, "--hidden", "0"], capsys)
    (tmp_path / "c.json").write_text("[1, 2]")
    assert "--config" in _run_failing([*base, "--config", str(tmp_path / "c.json")], capsys)
    assert "roots" in _run_failing([*base, "--roots", "SPXW"], capsys)
    assert "time_limit" in _run_failing([*base, "--time-limit", "-1"], capsys)


# ------------------------------------------------------------------------------ helpers
def test_choose_root_prefers_the_root_with_most_quotes():
    frame = pd.DataFrame({"root": ["SPX"] * 3 + ["SPXW"] * 5})
    roots, note = choose_root(frame)
    assert roots == ["SPXW"] and "SPX 3" in note
    assert choose_root(frame, "all")[0] is None
    assert choose_root(frame, "SPX, SPXW")[0] == ["SPX", "SPXW"]
    assert choose_root(frame, ["SPX"])[0] == ["SPX"]
    assert choose_root(frame[:3])[0] is None  # one root: nothing to choose
    assert choose_root(frame.drop(columns="root"))[0] is None
    with pytest.raises(ValueError, match="roots"):
        choose_root(frame, [])


def test_choose_root_on_the_real_spx_chain(chains_dir):
    from ivfast.chain import read_chain

    roots, _ = choose_root(read_chain(chains_dir / "spx_2020-03-20_cboe.csv"))
    assert roots == ["SPXW"]  # 14,006 SPXW quotes against 4,994 SPX


def test_inside_bid_ask_bounds_and_missing_sides():
    fit = np.array([0.2, 0.2, 0.2, 0.2, 0.2])
    bid = np.array([0.19, 0.21, np.nan, 0.2, np.nan])
    ask = np.array([0.21, 0.22, 0.19, 0.2, np.nan])
    # NaN bid vol: the bid is below intrinsic, any vol is above it; NaN ask vol: no upper bound.
    np.testing.assert_array_equal(inside_bid_ask(fit, bid, ask), [True, False, False, True, True])


def test_check_grid_covers_the_quotes_and_their_maturities(chain_frame):
    from ivfast.chain import prepare_quotes

    quotes = prepare_quotes(chain_frame[CHAIN_COLUMNS], as_of=AS_OF)
    k, tau = check_grid(quotes)
    assert k.size == 201 and k[0] < quotes.k.min() and k[-1] > quotes.k.max()
    assert np.all(np.diff(tau) > 0) and set(np.unique(quotes.tau)) <= set(tau)
    assert tau[0] == quotes.tau.min() and tau[-1] == quotes.tau.max()


def test_trading_time_weights_are_the_spread_weights_of_the_trading_time_vols(chain_frame):
    from ivfast.chain import prepare_quotes

    calendar = prepare_quotes(chain_frame.assign(expiry=pd.Timestamp(AS_OF) + pd.to_timedelta(
        np.round(chain_frame["tau"] * 365), unit="D")), as_of=AS_OF)
    trading = calendar.in_trading_time()
    q = trading.quotes
    # spread weights: 1 / max(ask vol - bid vol, 0.1 vol point), mean 1, on the axis the fit uses
    spread = np.maximum((q["iv_ask"] - q["iv_bid"]).to_numpy(), 1e-3)
    expected = (1 / spread) / np.mean(1 / spread)
    np.testing.assert_allclose(q["weight"], expected, rtol=1e-12)
    assert not np.allclose(q["weight"], calendar.quotes["weight"])  # the rescaled vols move them


def test_time_axis_choice_and_fallback(chain_frame):
    from ivfast.chain import prepare_quotes

    quotes = prepare_quotes(chain_frame[CHAIN_COLUMNS], as_of=AS_OF)
    trading, note = quotes.on_time_axis("trading")
    assert trading.info["time_axis"] == "trading" and "trading" in note
    assert np.allclose(trading.total_variance, quotes.total_variance, rtol=1e-14)
    tau_only = prepare_quotes(chain_frame[CHAIN_COLUMNS].drop(columns="expiry").assign(tau=chain_frame["tau"]),
                              as_of=AS_OF)
    same, note = tau_only.on_time_axis("trading")
    assert same is tau_only and "calendar" in note
    with pytest.raises(ValueError, match="time_axis"):
        quotes.on_time_axis("business")


REAL_CHAINS = [("spx_2026-01-30_yahoo.csv", "SPXW"), ("spx_2020-03-20_cboe.csv", "auto"),
               ("spy_2025-09-25_cboe.csv", "auto"), ("aapl_2019-08-23_cboe.csv", "auto")]


@pytest.mark.parametrize("name,roots", REAL_CHAINS)
def test_real_chain_fit_meets_the_targets_with_a_clean_certificate(chains_dir, tmp_path, name, roots):
    """Issue #15's acceptance with ``ivfast fit``'s defaults (figures off): >= 95 % of the kept
    quotes inside bid-ask, no expiry below 80 %, nothing in the certificate, the dense check or
    ``ivfast check``'s default grid. Measured 96.5-99.6 % (bench/README.md)."""
    import warnings

    from ivfast.workflow import fit_chain

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the American chains' European-approximation warning
        result = fit_chain(chains_dir / name, tmp_path, roots=roots, figures=False, export=False)
    summary = result.summary
    assert summary["fit"]["inside_bid_ask"] >= 0.95
    assert min(row["inside"] for row in summary["per_expiry"]) >= 0.8
    assert result.surface.certificate.ok() and summary["arbitrage"]["ok"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["check", str(result.files["surface"])]) == 0
