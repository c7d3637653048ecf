"""Fitting many chains on Dask: parallel speed-up over serial, and warm-started chunks against cold.

``python bench/bench_fit_many.py [--dates 20] [--workers 2] [--json bench/results/fit_many.json]``
writes a synthetic history (:func:`ivfast.scale.synthetic_history`: a Bates parameter path over
business days, priced by the C++ pricer) and fits it five ways with the same trainer settings,
all in one run:

1. serial: one process, one thread, each date cold, one after another (the same task function);
2. Dask, ``workers`` single-threaded workers, every date cold (``warm_start=None``);
3. Dask, warm starts, the default chunks (one chunk per worker);
4. Dask, warm starts, chunks of 2 dates (more parallel slack, fewer warm starts);
5. Dask, every date started from the completion model's surface of its own quotes
   (``warm_start="completion"``: no date waits for another).

It prints wall time, the speed-up of 2 over 1, and the epochs each run needed to reach the target
loss; figures and exports are skipped so the timings are the fits'.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile
import time

import ivfast
from ivfast.scale import chain_manifest, fit_many, synthetic_history
from ivfast.scale.store import ResultStore
from ivfast.scale.task import fit_one

# A real chain's workload (hundreds of epochs to a loss target): under ivfast fit's defaults these
# synthetic chains stop at 95 % inside their wide bid-ask within ~25 epochs, a second each, and the
# run measures Dask's per-task overhead instead (2026-12-03: serial 32.9 s, 2 workers 43.5 s).
TRAINER = {"max_epochs": 3000, "target_loss": 0.006, "quote_loss": "mid", "target_inside": None,
           "time_limit": None, "log_every": 50}
OPTIONS = {"time_axis": "calendar", "export": False, "figures": False}


def _serial(chains: list[pathlib.Path], out: pathlib.Path, config) -> dict:
    store = ResultStore(out).create()
    started = time.perf_counter()
    for row in chain_manifest(chains).to_dict("records"):
        fit_one(row, str(store.root), None, {"config": config, **OPTIONS}, threads=1)
    return {"wall_seconds": time.perf_counter() - started, "table": store.read()}


def _dask(chains, out, config, workers, **kwargs) -> dict:
    started = time.perf_counter()
    table = fit_many(chains, out=out, workers=workers, config=config, progress=False, **OPTIONS, **kwargs)
    return {"wall_seconds": time.perf_counter() - started, "table": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dates", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config = ivfast.workflow.default_fit_config(**TRAINER)
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        chains = synthetic_history(root / "chains", args.dates, seed=3)
        print(f"{args.dates} synthetic dates, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
        runs = {
            "serial, cold": lambda: _serial(chains, root / "serial", config),
            f"dask {args.workers} workers, cold": lambda: _dask(chains, root / "cold", config, args.workers,
                                                                 warm_start=None),
            f"dask {args.workers} workers, warm, default chunks": lambda: _dask(chains, root / "warm", config,
                                                                                 args.workers),
            f"dask {args.workers} workers, warm, chunks of 2": lambda: _dask(chains, root / "warm2", config,
                                                                              args.workers, chunk_size=2),
            f"dask {args.workers} workers, completion starts": lambda: _dask(chains, root / "completion", config,
                                                                              args.workers, warm_start="completion"),
        }
        record = {"dates": args.dates, "workers": args.workers, "trainer": TRAINER, "cores": os.cpu_count(),
                  "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": {}}
        for name, run in runs.items():
            result = run()
            table = result["table"]
            ok = table[table["status"] == "ok"]
            record["runs"][name] = {
                "wall_seconds": round(result["wall_seconds"], 1), "ok": int(len(ok)),
                "failed": int(len(table) - len(ok)),
                "epochs_total": int(ok["epochs"].sum()), "epochs_median": float(ok["epochs"].median()),
                "fit_seconds_total": round(float(ok["seconds_fit"].sum()), 1),
                "reached_target": int((ok["stop_reason"] == "target").sum()),
                "inside_bid_ask_median": round(float(ok["inside_bid_ask"].median()), 4),
                "load": round(os.getloadavg()[0], 2)}
            print(f"{name:<42} {json.dumps(record['runs'][name])}", flush=True)
    names = list(record["runs"])
    serial, cold = record["runs"][names[0]]["wall_seconds"], record["runs"][names[1]]["wall_seconds"]
    record["speedup_parallel_over_serial"] = round(serial / cold, 2)
    print(f"speed-up, {args.workers} workers over serial (both cold): {serial / cold:.2f}x")
    for name in names[2:]:
        warm = record["runs"][name]
        print(f"{name}: {record['runs'][names[1]]['epochs_total'] / max(warm['epochs_total'], 1):.2f}x fewer epochs, "
              f"{cold / warm['wall_seconds']:.2f}x less wall time than cold on Dask")
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
