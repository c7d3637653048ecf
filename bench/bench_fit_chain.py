"""``ivfast fit`` on the real snapshots: time split, fit inside bid-ask, certificate, ``ivfast check``.

``python bench/bench_fit_chain.py [--only spx2026] [--out-root /tmp] [--json bench/results/fit_chain_real.json]
[--baseline]`` runs :func:`ivfast.workflow.fit_chain` with ``ivfast fit``'s defaults (one torch thread) on

* ``spx_2026-01-30_yahoo.csv`` (root SPXW), ``spx_2020-03-20_cboe.csv``,
* ``spy_2025-09-25_cboe.csv`` and ``aapl_2019-08-23_cboe.csv`` (American options fitted as
  European: the parity forward and Black vols absorb the early-exercise premium, see the README),

and prints, per chain, the wall time split (read/clean, fit, check, files, figures), the share of
kept quotes inside bid-ask, the worst expiries, the certificate's counts and the exit status of
``ivfast check`` on the saved surface. ``--american`` also fits SPY and AAPL de-Americanised
(``exercise='american'``, :mod:`ivfast.chain.american`). ``--baseline`` also runs the previous defaults (mid loss,
6-knot ATM curve, every quote in the loss, the paper's learning-rate floor) under the same time
limit in the same run, for the ratio. ``--seed N`` sets the fit's seed (SPY's inside share moves
by tens of points between seeds: bench/README.md), ``--set FIELD=JSON`` changes a config field and
``--chain-option NAME=JSON`` an ``analyze_chain`` option in every variant, so that a lever is
measured with this script. ``--cold`` also runs the cold start (``--init none``: SSVI fitted
alone, random network) beside the default start from the certified corrected completion.
Targets: <= 60 s per chain, >= 95 % inside with no expiry
below 80 %, no violation in the certificate or in ``ivfast check``. Takes minutes: a script, not
part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pathlib
import sys
import time

CHAINS = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chains"
RUNS = {"spx2026": ("spx_2026-01-30_yahoo.csv", "SPXW"), "spx2020": ("spx_2020-03-20_cboe.csv", "auto"),
        "spy2025": ("spy_2025-09-25_cboe.csv", "auto"), "aapl2019": ("aapl_2019-08-23_cboe.csv", "auto")}
AMERICAN = ("spy2025", "aapl2019")
BASELINE = {"quote_loss": "mid", "target_loss": 0.005, "target_inside": None, "target_expiry_inside": 0.0,
            "max_quotes_per_maturity": 0, "atm_knots": 6, "min_learning_rate": 0.01 * 0.5**3, "plateau_patience": 100,
            "train_dtype": "float64"}
"""The defaults of ``ivfast fit`` before the bid-ask loss (kept: time limit, epochs, network)."""


def _check_exit(surface_path: pathlib.Path) -> int:
    from ivfast import cli

    with contextlib.redirect_stdout(io.StringIO()):
        return cli.main(["check", str(surface_path)])


def _one(name: str, roots: str, out: pathlib.Path, changes: dict, chain_options: dict, seed: int,
         init: str | None) -> dict:
    from ivfast.workflow import default_fit_config, fit_chain

    result = fit_chain(CHAINS / name, out, roots=roots, config=default_fit_config(**changes), progress=False,
                       chain_options=chain_options, seed=seed, init=init)
    summary = result.summary
    started = time.perf_counter()
    check_code = _check_exit(result.files["surface"])
    per_expiry = sorted(summary["per_expiry"], key=lambda row: row["inside"])
    return {
        "chain": name, "roots": summary["roots"], "load_average": os.getloadavg(), "seed": seed,
        "config_changes": changes, "chain_options": chain_options, "init": init,
        "seconds": summary["seconds"], "ivfast_check_seconds": time.perf_counter() - started,
        "quotes_fitted": summary["quotes"]["fitted"], "expiries": summary["expiries"],
        "inside_bid_ask": summary["fit"]["inside_bid_ask"], "rmse_vol_points": summary["fit"]["rmse_vol_points"],
        "epochs": summary["fit"]["epochs"], "warmup_epochs": summary["fit"].get("warmup_epochs"),
        "stop_reason": summary["fit"]["stop_reason"],
        "attainable_inside_bid_ask": summary["fit"]["attainable_inside_bid_ask"],
        "worst_expiries": [{k: row[k] for k in ("root", "expiry", "tau", "n", "inside", "attainable", "rmse_vol_points",
                                                  "median_half_spread_vol_points")} for row in per_expiry[:6]],
        "expiries_below_80": sum(row["inside"] < 0.8 for row in per_expiry),
        "certificate": result.surface.info["arbitrage"]["counts"],
        "check_grid": summary["arbitrage"]["counts"], "ivfast_check_exit": check_code,
        "summary_text": result.summary_text(),
    }


def _assignments(items: list[str], flag: str) -> dict:
    """``NAME=JSON`` command-line assignments as a dict (``perturbation_std=0`` -> ``{"perturbation_std": 0}``)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not (sep and name):
                raise ValueError
            out[name] = json.loads(value)
        except ValueError:  # json.JSONDecodeError is a ValueError
            raise SystemExit(f"{flag}: expected NAME=JSON, got {item!r}") from None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-root", type=pathlib.Path, default=pathlib.Path("/tmp"))
    parser.add_argument("--only", choices=sorted(RUNS), action="append", help="run these snapshots only")
    parser.add_argument("--json", type=pathlib.Path, help="write the results here")
    parser.add_argument("--baseline", action="store_true", help="also run the previous defaults, same time limit")
    parser.add_argument("--american", action="store_true",
                        help="also fit the American chains de-Americanised (exercise='american')")
    parser.add_argument("--no-defaults", action="store_true", help="skip the runs with the defaults")
    parser.add_argument("--threads", type=int,
                        help="torch threads (default: torch's own, which is what ivfast fit uses: the cores)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fit (its random network start)")
    parser.add_argument("--init", default="completion",
                        help="ivfast fit's --init in every variant: 'completion' (its default), 'none' (cold start) "
                             "or a saved surface")
    parser.add_argument("--cold", action="store_true",
                        help="also run the cold start (--init none) in the same run, for the ratio")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                        help="change a SmoothingConfig field in every variant, e.g. perturbation_std=0")
    parser.add_argument("--chain-option", action="append", default=[], metavar="NAME=JSON",
                        help="change an analyze_chain option in every variant, e.g. parity_window=0.25")
    args = parser.parse_args()
    overrides, chain_overrides = _assignments(args.set, "--set"), _assignments(args.chain_option, "--chain-option")
    if not CHAINS.is_dir():
        print(f"no real chains at {CHAINS}", file=sys.stderr)
        return 1
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()}, {torch.get_num_threads()} torch threads")
    rows = []
    for key, (name, roots) in RUNS.items():
        if args.only and key not in args.only:
            continue
        variants = ({} if args.no_defaults else {"defaults": ({}, {"exercise": "european"})})
        if args.baseline:
            variants["previous defaults"] = (BASELINE, {"exercise": "european"})
        if args.cold:
            variants["cold start"] = ({}, {"exercise": "european"})
        if args.american and key in AMERICAN:
            variants["de-Americanised"] = ({}, {"exercise": "american"})
        for label, (changes, chain_options) in variants.items():
            init = None if label == "cold start" or args.init == "none" else args.init
            row = _one(name, roots, args.out_root / f"ivfast-{key}" / label.replace(" ", "-"),
                       {**changes, **overrides}, {**chain_options, **chain_overrides}, args.seed, init)
            row["variant"] = label
            rows.append(row)
            s = row["seconds"]
            print(f"\n== {name} ({label}), load {row['load_average'][0]:.2f}\n{row['summary_text']}")
            print(f"  seconds: read/clean {s['prepare']:.1f}, fit {s['fit']:.1f}, check {s['check']:.1f}, "
                  f"files {s['write']:.1f}, figures {s['figures']:.1f}, total {s['total']:.1f}; "
                  f"ivfast check exit {row['ivfast_check_exit']}; certificate {row['certificate']}")
            for w in row["worst_expiries"]:
                print(f"  {w['root']} {str(w['expiry'])[:10]} n={w['n']}: {100 * w['inside']:.0f}% inside "
                      f"(arbitrage-free best {100 * w['attainable']:.0f}%), RMSE "
                      f"{w['rmse_vol_points']:.2f} vp, median half-spread {w['median_half_spread_vol_points']:.2f} vp")
    if args.json:
        # Other keys of an existing file (earlier ablations that bench/plot_results.py draws) are kept.
        record = json.loads(args.json.read_text()) if args.json.is_file() else {}
        threads = torch.get_num_threads()
        record.update({"benchmark": f"bench/bench_fit_chain.py (ivfast fit defaults, {threads} torch threads)",
                       "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": rows})
        args.json.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
