"""Plot the recorded benchmark results in bench/results/*.json into bench/results/*.png.

``python bench/plot_results.py`` (needs matplotlib). The JSON files are written by the benchmark
scripts (``sweep_smoothing.py --json``) or transcribed from their printed output with the commit
and date they were measured at; the figures are regenerated from them.
"""

from __future__ import annotations

import json
import pathlib

from ivfast._plotting import new_figure

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def plot_sweep(path: pathlib.Path) -> pathlib.Path:
    data = json.loads(path.read_text())
    fig = new_figure(6.0, 4.0)
    ax = fig.add_subplot()
    for row in data["rows"]:
        rmse = row["rmse_vol_points"]
        ax.plot([row["target_loss"]] * len(rmse), rmse, "o", color="C0", alpha=0.7)
    ax.axhline(0.5, color="C3", lw=0.8, label="0.5 vol points")
    ax.set_xlabel("target loss (RMSE + MAPE + penalties)")
    ax.set_ylabel("quote RMSE at the stop (vol points)")
    ax.set_title("Deep smoothing, Ackerer et al. reference set, seeds 0-5", fontsize="small")
    ax.legend(fontsize="small")
    out = path.with_suffix(".png")
    fig.savefig(out, dpi=100)
    return out


def plot_fit_chain(path: pathlib.Path) -> pathlib.Path:
    data = json.loads(path.read_text())
    rows = data["time_axis_ablation_spx_2026"]
    fig = new_figure(8.0, 4.0)
    ax = fig.add_subplot()
    ax.barh(range(len(rows)), [100 * r["inside_bid_ask"] for r in rows], color="C0")
    ax.set_yticks(range(len(rows)), [r["setting"] for r in rows], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("fitted vols inside the bid-ask interval (%)")
    ax.set_title("ivfast fit on SPX 2026-01-30: settings compared", fontsize="small")
    out = path.with_suffix(".png")
    fig.savefig(out, dpi=100)
    return out


def main() -> None:
    for path in (plot_sweep(RESULTS / "smoothing_sweep.json"), plot_fit_chain(RESULTS / "fit_chain_real.json")):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
