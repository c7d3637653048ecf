"""``ivfast fit`` on the real SPX snapshots: coverage, fit inside bid-ask, arbitrage, time.

``python bench/bench_fit_chain.py [--time-limit 900] [--out-root /tmp]`` (one torch thread each)
runs :func:`ivfast.workflow.fit_chain` on

* ``spx_2026-01-30_yahoo.csv`` with root SPXW  -> ``<out-root>/ivfast-spx-2026``
* ``spx_2020-03-20_cboe.csv`` (root chosen automatically: SPXW) -> ``<out-root>/ivfast-spx-2020``

and prints, per chain, the summary ``ivfast fit`` prints plus the expiries whose fitted vols miss
the bid-ask interval most often. Targets: every expiry with enough quotes fitted, >= 90 % of
kept quotes inside bid-ask, 0 calendar/butterfly violations on the dense grid. Takes minutes:
it is a script, not part of the test suite (there is no test function here).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

CHAINS = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chains"
RUNS = {"2026": ("spx_2026-01-30_yahoo.csv", "SPXW"), "2020": ("spx_2020-03-20_cboe.csv", "auto")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-limit", type=float, default=900.0, help="training seconds per chain")
    parser.add_argument("--out-root", type=pathlib.Path, default=pathlib.Path("/tmp"))
    parser.add_argument("--only", choices=sorted(RUNS), help="run one snapshot")
    parser.add_argument("--hidden", default="40,40,40,40")
    parser.add_argument("--target-loss", type=float, default=None)
    parser.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: the fit default)")
    parser.add_argument("--time-axis", default="trading", choices=("trading", "calendar"),
                        help="maturity axis of the fit (ivfast fit's default: NYSE trading days / 252)")
    parser.add_argument("--init-from", type=pathlib.Path,
                        help="warm start each chain from <init-from>/ivfast-spx-<year>/surface.pt (continue a run)")
    args = parser.parse_args()
    if not CHAINS.is_dir():
        print(f"no real chains at {CHAINS}", file=sys.stderr)
        return 1
    import torch

    from ivfast.workflow import default_fit_config, fit_chain

    torch.set_num_threads(1)
    changes = {"hidden_layers": tuple(int(h) for h in args.hidden.split(","))}
    if args.target_loss is not None:
        changes["target_loss"] = args.target_loss
    if args.epochs is not None:
        changes["max_epochs"] = args.epochs
    config = default_fit_config(**changes)
    print(f"load average {os.getloadavg()}; config {config}")
    for year, (name, roots) in RUNS.items():
        if args.only and args.only != year:
            continue
        init = None if args.init_from is None else args.init_from / f"ivfast-spx-{year}" / "surface.pt"
        result = fit_chain(CHAINS / name, args.out_root / f"ivfast-spx-{year}", roots=roots, config=config,
                           time_limit=args.time_limit, init=init, progress=True, time_axis=args.time_axis)
        print(f"\n== {name}\n{result.summary_text()}")
        worst = sorted(result.summary["per_expiry"], key=lambda row: row["inside"])[:8]
        for row in worst:
            print(f"  {row['root']} {str(row['expiry'])[:10]} tau={row['tau']:.4f} n={row['n']}: "
                  f"{100 * row['inside']:.0f}% inside, RMSE {row['rmse_vol_points']:.2f} vp, "
                  f"median half-spread {row['median_half_spread_vol_points']:.2f} vp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
