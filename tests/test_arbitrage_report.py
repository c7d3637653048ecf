"""ArbitrageReport (counts, tolerances, text, plot) and the ``ivfast check`` command."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

import ivfast
from ivfast import arbitrage
from ivfast.cli import check as _cli_check

from ._surfaces import VOGT, RawSVISlices

STRIKES = np.array([80.0, 90.0, 100.0, 115.0, 130.0])
GOOD = np.array([[21.0, 12.5, 6.0, 1.8, 0.5], [23.0, 15.0, 9.0, 4.0, 2.0]])


def bad_report(tol=0.0):
    prices = GOOD.copy()
    prices[0, 2] = 9.5  # butterfly of size 0.2133 around K = 100, calendar spread of 0.005 vs tau = 1
    prices[1, 3] = 5.5000001  # 1e-7 above the chord from 100 to 130: a butterfly of size 1.3e-8
    return arbitrage.check_prices(STRIKES, [0.5, 1.0], prices, 100.0, tol=tol)


def test_counts_worst_and_tolerances():
    r = bad_report()
    counts, worst = r.counts(), r.worst()
    assert set(counts) == {"price_bounds", "call_spread", "butterfly", "calendar"}
    assert counts["butterfly"] == 2 and worst["butterfly"] == pytest.approx(-0.3 + 7.7 / 15)
    assert counts["calendar"] == 1 and worst["calendar"] == pytest.approx(0.005)
    assert not r.ok() and not r.ok(0.2) and r.ok(0.25)
    assert r.counts(1e-3)["butterfly"] == 1  # the 1e-9-sized one is below 1e-3
    assert bad_report(tol=1e-3).counts()["butterfly"] == 1
    with pytest.raises(ValueError, match="tol: expected >= 0.001"):
        bad_report(tol=1e-3).ok(0.0)  # smaller violations were not kept
    summary = r.summary()
    assert list(summary.columns) == ["checked", "violations", "worst"]
    assert summary.loc["butterfly", "violations"] == 2


def test_to_dict_is_a_json_digest():
    import json

    r = bad_report()
    d = json.loads(json.dumps(r.to_dict()))
    assert d["ok"] is False and d["counts"] == r.counts() and d["worst"] == pytest.approx(r.worst())
    assert d["tol"] == 0.0 and d["grid"] == r.source and d["notes"] == list(r.notes)


def test_table_columns_and_text():
    r = bad_report()
    assert list(r.violations.columns) == ["kind", "k", "strike", "tau", "value", "size", "detail"]
    assert (r.violations["size"] > 0).all()
    np.testing.assert_allclose(r.violations["k"], np.log(r.violations["strike"] / 100.0))
    text = str(r)
    assert "STATIC ARBITRAGE" in text and "butterfly" in text and "calendar" in text
    assert "no static arbitrage" in str(arbitrage.check_prices(STRIKES, [0.5, 1.0], GOOD, 100.0))
    assert isinstance(r, ivfast.ArbitrageReport)


@pytest.mark.parametrize("clean", [True, False])
def test_plot_writes_an_image_without_a_display(tmp_path, clean):
    surface = RawSVISlices([1.0], [dict(a=0.04, b=0.1, rho=-0.3, m=0.0, sigma=0.2) if clean else VOGT])
    report = arbitrage.check_surface(surface, np.linspace(-1.5, 1.5, 61), [0.5, 1.0])
    assert report.ok() == clean
    path = tmp_path / "map.png"
    report.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="ivfast")
    _cli_check.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def quotes_csv(path, prices):
    rows = [dict(tau=t, strike=k, forward=100.0, call_price=c)
            for t, row in zip([0.5, 1.0], prices) for k, c in zip(STRIKES, row)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_cli_check_exit_codes_and_output(tmp_path, capsys):
    assert run_cli(["check", str(quotes_csv(tmp_path / "good.csv", GOOD))]) == 0
    assert "no static arbitrage" in capsys.readouterr().out

    bad = GOOD.copy()
    bad[0, 2] = 9.0
    plot = tmp_path / "bad.png"
    assert run_cli(["check", str(quotes_csv(tmp_path / "bad.csv", bad)), "--plot", str(plot), "--top", "3"]) == 1
    out = capsys.readouterr().out
    assert "STATIC ARBITRAGE" in out and "largest 1 of 1 violations" in out and plot.is_file()
    assert run_cli(["check", str(tmp_path / "bad.csv"), "--tol", "0.2"]) == 0


def test_cli_check_bad_input_is_a_clean_error(tmp_path):
    from ivfast.cli import CLIError

    (tmp_path / "cols.csv").write_text("tau,strike,price\n1,100,5\n")
    with pytest.raises(CLIError, match="missing column"):
        run_cli(["check", str(tmp_path / "cols.csv")])
    with pytest.raises(CLIError, match="cannot read|No such file"):
        run_cli(["check", str(tmp_path / "absent.csv")])
    (tmp_path / "surface.bin").write_bytes(b"not a surface")
    with pytest.raises(CLIError):
        run_cli(["check", str(tmp_path / "surface.bin")])


def test_cli_check_of_a_saved_deep_smoothing_surface(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from ivfast.surface import SmoothingConfig, fit_surface

    torch.set_num_threads(1)
    kk, tt = np.meshgrid(np.linspace(-0.8, 0.6, 9), np.geomspace(0.05, 2.0, 5))
    fitted = fit_surface(kk.ravel(), tt.ravel(), (0.2 - 0.1 * kk).ravel(),
                         config=SmoothingConfig(max_epochs=5, progress=False))
    fitted.save(tmp_path / "fit.pt")
    expected = arbitrage.check_surface(fitted, np.linspace(-1, 1, 201), np.geomspace(0.05, 2, 100))
    code = run_cli(["check", str(tmp_path / "fit.pt"), "--k-range", "-1", "1", "--tau-range", "0.05", "2"])
    assert code == (0 if expected.ok() else 1)
    assert "FittedSurface on 201 k x 100 tau (analytic derivatives)" in capsys.readouterr().out
