"""ivfast.scale: the chain manifest, the results store, and fit_many on a local Dask cluster
(warm starts along each chunk, resume, failures recorded, a worker killed mid-run)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("distributed")

import ivfast  # noqa: E402
from ivfast.cli import main as cli_main  # noqa: E402
from ivfast.scale import ResultStore, chain_manifest, date_chunks, fit_many, synthetic_history  # noqa: E402
from ivfast.scale.run import _task_slots  # noqa: E402
from ivfast.scale.task import fit_one  # noqa: E402

# A trainer that fits a synthetic chain in a few seconds: the tests check the orchestration.
TINY = {"hidden_layers": (8, 8), "n_k_aux": 8, "n_tau_aux": 6, "n_random": 16, "n_random_wing": 4,
        "n_adaptive": 16, "check_grid": (41, 21), "max_epochs": 20, "target_loss": 1e-9, "log_every": 10}
OPTIONS = {"time_axis": "calendar", "export": False, "figures": False}


def _config(**changes):
    return ivfast.workflow.default_fit_config(**{**TINY, **changes})


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return synthetic_history(tmp_path_factory.mktemp("chains"), 4, seed=1)


def test_manifest_reads_underlying_and_date_from_file_names(tmp_path, history):
    (tmp_path / "spx_2020-03-20_cboe.csv").write_text("x")
    (tmp_path / "SPY_2025-09-25.csv").write_text("x")
    table = chain_manifest(tmp_path)
    assert list(table["chain_id"]) == ["SPX_2020-03-20", "SPY_2025-09-25"]
    assert list(chain_manifest(history)["date"].map(str)) == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    (tmp_path / "notes.csv").write_text("x")
    with pytest.raises(ValueError, match="underlying and a date"):
        chain_manifest(tmp_path)
    with pytest.raises(ValueError, match="more than one file"):
        chain_manifest([history[0], history[0]])
    with pytest.raises(ValueError, match="no folder or files"):
        chain_manifest(str(tmp_path / "none_*.csv"))


def test_chunks_split_each_underlying_into_consecutive_dates(history, tmp_path):
    other = synthetic_history(tmp_path, 3, underlying="ALT")
    manifest = chain_manifest([*history, *other])
    chunks = date_chunks(manifest, 2)
    assert [[r["chain_id"] for r in c] for c in chunks] == [
        ["ALT_2024-01-02", "ALT_2024-01-03"], ["ALT_2024-01-04"],
        ["SYN_2024-01-02", "SYN_2024-01-03"], ["SYN_2024-01-04", "SYN_2024-01-05"]]
    with pytest.raises(ValueError, match="chunk_size"):
        date_chunks(manifest, 0)


def test_store_rows_replace_atomically_and_read_back(tmp_path):
    store = ResultStore(tmp_path).create()
    assert store.read().empty and store.done() == set()
    base = {"chain_id": "A_2024-01-02", "underlying": "A", "date": pd.Timestamp("2024-01-02").date(), "path": "a"}
    store.write({**base, "status": "failed", "reason": "boom", "attempt": 1})
    store.write({**base, "status": "ok", "reason": "", "attempt": 2, "epochs": 5})
    table = store.read()
    assert len(table) == 1 and table.loc[0, "status"] == "ok" and table.loc[0, "attempt"] == 2
    assert store.done() == {"A_2024-01-02"}
    assert not list(store.results.glob(".*.tmp"))


def test_bad_arguments_raise_value_error(history, tmp_path):
    with pytest.raises(ValueError, match="warm_start"):
        fit_many(history, out=tmp_path, warm_start="yesterday")
    with pytest.raises(ValueError, match="init"):
        fit_many(history, out=tmp_path, init="x.pt")
    with pytest.raises(ValueError, match="chunk_size"):
        fit_many(history, out=tmp_path, chunk_size=0)
    with pytest.raises(ValueError, match="workers"):
        fit_many(history, out=tmp_path, workers=0)


@pytest.mark.slow
def test_fit_many_warm_starts_resumes_and_records_failures(history, tmp_path):
    broken = tmp_path / "chains" / "SYN_2024-01-08.csv"
    broken.parent.mkdir()
    broken.write_text("expiry,strike,type,bid,ask\n")
    chains = [*history, broken]
    out = tmp_path / "store"
    table = fit_many(chains, out=out, workers=2, chunk_size=2, config=_config(), progress=False, **OPTIONS)
    assert list(table["status"]) == ["ok"] * 4 + ["failed"]
    assert "ValueError" in table.loc[4, "reason"]
    # chunks of two dates: the second date of each chunk starts from the first's surface
    assert list(table["init"]) == ["", "SYN_2024-01-02", "", "SYN_2024-01-04", ""]
    assert (table.loc[:3, "calendar"] == 0).all() and (table.loc[:3, "inside_bid_ask"] > 0).all()
    assert all(os.path.isfile(p) for p in table.loc[:3, "surface"])
    again = fit_many(chains, out=out, workers=1, config=_config(), progress=False, **OPTIONS)
    pd.testing.assert_frame_equal(again.loc[:3], table.loc[:3])  # done chains are not refitted
    assert again.loc[4, "status"] == "failed" and again.loc[4, "attempt"] == 2  # failed ones are retried
    assert len(pd.read_parquet(out / "results")) == 5


def test_a_chain_starts_from_its_completed_surface(history, tmp_path):
    row = chain_manifest(history).iloc[0].to_dict()
    stored = fit_one(row, str(ResultStore(tmp_path).create().root), "completion", {**OPTIONS, "config": _config()})
    assert stored["status"] == "ok", stored["reason"]
    assert stored["init"] == "completion" and stored["calendar"] == stored["butterfly"] == 0
    assert ivfast.surface.FittedSurface.load(stored["surface"]).info["warm_start"]  # started from the completion


@pytest.mark.slow
def test_killing_a_worker_mid_run_loses_nothing_and_fits_no_chain_twice(tmp_path):
    chains = synthetic_history(tmp_path / "chains", 6, seed=2)
    out = tmp_path / "store"
    from distributed import Client, LocalCluster

    killed = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)

        def stored() -> set[str]:
            return {f.stem for f in (out / "results").glob("*.parquet")}

        def kill_when_busy() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                busy = {w: keys for w, keys in client.processing().items() if keys}
                if stored() and busy:
                    worker, keys = sorted(busy.items())[0]
                    os.kill(pids[worker], signal.SIGKILL)
                    # Read after the kill: a row the worker stored before the signal landed is included.
                    killed.update(worker=worker, keys=list(keys), stored=stored())
                time.sleep(0.2)

        killer = threading.Thread(target=kill_when_busy, daemon=True)
        killer.start()
        # No inside-bid-ask stop: every fit runs its 60 epochs, long enough to be caught in flight.
        config = _config(max_epochs=60, target_inside=None)
        table = fit_many(chains, out=out, client=client, chunk_size=3, config=config,
                         progress=False, **OPTIONS)
        killer.join()
    assert killed, "no worker was busy to kill"
    assert list(table["status"]) == ["ok"] * 6, table["reason"].tolist()
    assert (table["attempt"] == 1).all()  # each chain's fit completed exactly once
    lost = [k.split("ivfast-fit-", 1)[1].rsplit("-", 1)[0] for k in killed["keys"]]
    dead = f":{pids[killed['worker']]}"
    # A fit that stored its row just before the kill is not lost (the scheduler may still list
    # it as processing): it keeps its worker, and attempt == 1 above holds for it.
    for chain_id in (c for c in lost if c not in killed["stored"]):  # in flight: fitted again elsewhere
        assert not table.set_index("chain_id").loc[chain_id, "worker"].endswith(dead)


@pytest.mark.slow
def test_cli_fit_many_writes_the_store_and_reports(history, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(TINY))
    out = tmp_path / "store"
    code = cli_main(["fit-many", str(history[0].parent), "--out", str(out), "--workers", "1", "--quiet",
                            "--time-axis", "calendar", "--config", str(config)])
    assert code == 0, capsys.readouterr().err
    assert "4 of 4 chains fitted" in capsys.readouterr().out
    table = pd.read_parquet(out / "results")
    assert sorted(table["chain_id"]) == [p.stem for p in history]
    assert not (out / "surfaces" / "SYN_2024-01-02" / "smiles.png").exists()  # figures are opt-in here


def test_manifest_of_the_real_snapshots(chains_dir):
    table = chain_manifest(chains_dir)
    assert list(table["chain_id"]) == ["AAPL_2019-08-23", "SPX_2020-03-20", "SPX_2026-01-30", "SPY_2025-09-25"]


def test_failed_rows_first_still_read_as_one_parquet_dataset(tmp_path):
    store = ResultStore(tmp_path).create()
    day = pd.Timestamp("2024-01-02").date()
    store.write({"chain_id": "A_2024-01-02", "underlying": "A", "date": day, "path": "a", "status": "failed",
                 "reason": "boom", "attempt": 1})
    store.write({"chain_id": "B_2024-01-02", "underlying": "B", "date": day, "path": "b", "status": "ok",
                 "reason": "", "attempt": 1, "epochs": 5, "surface": "b/surface.pt", "seconds_fit": 1.5})
    table = pd.read_parquet(tmp_path / "results")
    assert sorted(table["status"]) == ["failed", "ok"] and table["epochs"].dtype == "float64"



class _Cluster:
    """A client stand-in whose workers (address -> threads) join while it waits, or never."""

    def __init__(self, joined: dict[str, int], later: dict[str, int] | None = None) -> None:
        self.joined, self.later, self.waited = joined, later, False

    def nthreads(self) -> dict[str, int]:
        return self.joined

    def wait_for_workers(self, n_workers: int, timeout: float | None = None) -> None:
        self.waited = True
        if self.later is None:
            raise TimeoutError
        self.joined = self.later


def test_default_chunks_count_thread_slots_and_wait_for_a_first_worker():
    assert _task_slots(_Cluster({"a": 2, "b": 3})) == 5  # multi-threaded workers run one task per thread
    late = _Cluster({}, later={"a": 4})
    assert _task_slots(late) == 4 and late.waited
    with pytest.raises(ValueError, match="client: no Dask worker"):
        _task_slots(_Cluster({}), timeout=0.1)
