"""``ivfast iv``: CSV in, CSV with forwards and implied vols out; clear one-line errors."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from ivfast import cli, datasets


@pytest.fixture(scope="module")
def chain_csv(tmp_path_factory):
    frame = datasets.synthetic_chain(0.2, [0.1, 0.5], np.arange(60.0, 161.0, 2.5), spread=0.01, tick=0.01, seed=1)
    path = tmp_path_factory.mktemp("cli") / "chain.csv"
    frame[["expiry", "strike", "type", "bid", "ask"]].to_csv(path, index=False)
    return path, frame


def test_iv_writes_one_row_per_quote_with_vols(chain_csv, tmp_path, capsys):
    path, frame = chain_csv
    out = tmp_path / "out.csv"
    assert cli.main(["iv", str(path), "--out", str(out), "--as-of", "2024-01-02"]) == 0
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert len(table) == len(frame)
    assert {"forward", "discount", "k", "iv_bid", "iv_mid", "iv_ask", "reason"} <= set(table.columns)
    ok = table[table["reason"].isna()]
    assert len(ok) > 0.5 * len(table)  # far wings have zero bids, deep ITM legs no time value
    # The CSV keeps 10 significant digits; the flat 20 % vol is recovered to the quotes' noise.
    otm = np.where(ok["type"] == "call", ok["k"] > 0, ok["k"] < 0) & (ok["k"].abs() < 0.3)
    assert np.abs(ok.loc[otm, "iv_mid"] - 0.2).max() < 5e-3
    assert "usable" in capsys.readouterr().err


def test_iv_to_stdout_and_usable_only(chain_csv, capsys):
    path, _ = chain_csv
    assert cli.main(["iv", str(path), "--as-of", "2024-01-02", "--usable-only"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False, na_values=[""])
    assert table["reason"].isna().all() and table["iv_mid"].notna().all()


def _run_failing(args, capsys):
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err and err.startswith("ivfast iv: ") and err.count("\n") == 1
    return err


def test_malformed_files_give_one_line_errors(tmp_path, chain_csv, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in _run_failing(["iv", str(empty)], capsys)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    assert "missing column" in _run_failing(["iv", str(wrong), "--as-of", "2024-01-02"], capsys)
    path, frame = chain_csv
    text = frame[["expiry", "strike", "type", "bid", "ask"]].astype({"ask": object})
    text.loc[5, "ask"] = "abc"
    strings = tmp_path / "strings.csv"
    text.to_csv(strings, index=False)
    assert "column 'ask': 'abc' at row 5" in _run_failing(["iv", str(strings), "--as-of", "2024-01-02"], capsys)
    bad = frame[["expiry", "strike", "type", "bid", "ask"]].assign(bid=0.0)
    all_bad = tmp_path / "allbad.csv"
    bad.to_csv(all_bad, index=False)
    assert "zero_bid" in _run_failing(["iv", str(all_bad), "--as-of", "2024-01-02"], capsys)
    assert "as_of" in _run_failing(["iv", str(path)], capsys)
    assert "--columns" in _run_failing(["iv", str(path), "--columns", "oops"], capsys)
