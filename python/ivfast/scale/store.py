"""The results store of a scale-out run: a Parquet dataset of one row per chain, plus each fit's folder.

Layout under ``out``: ``results/<chain_id>.parquet`` (the chain's row, written once per attempt
that finishes, atomically: a temporary file renamed into place, so a killed writer leaves either
the old row or the new one) and ``surfaces/<chain_id>/`` (what :func:`ivfast.workflow.fit_chain`
writes: ``surface.pt``, ``summary.json``, figures). ``pandas.read_parquet(out / "results")`` reads
the whole dataset; on a cluster, ``out`` must be storage that every worker and the client see.
"""

from __future__ import annotations

import os
import pathlib
import uuid
from typing import Any

import pandas as pd

from .._optional import require

__all__ = ["ResultStore", "RESULT_COLUMNS"]

RESULT_COLUMNS = (
    "chain_id", "underlying", "date", "path", "status", "reason", "init", "worker", "attempt",
    "seconds_prepare", "seconds_fit", "seconds_check", "seconds_write", "seconds_total",
    "epochs", "best_loss", "stop_reason", "quotes", "inside_bid_ask", "rmse_vol_points",
    "calendar", "butterfly", "other_violations", "surface", "summary",
)
"""One row per chain. ``status`` is "ok" or "failed" (``reason`` says why); ``init`` the chain whose
surface started the fit ("completion" for the completion model's, '' for a cold start);
``inside_bid_ask`` the share of kept quotes whose fitted vol is inside their bid-ask interval;
``rmse_vol_points`` against the mids (0.01 vol = 1 vol point); ``calendar``, ``butterfly``,
``other_violations`` the certificate's counts; ``surface`` and ``summary`` the saved files."""


_NUMBERS = ("attempt", "seconds_prepare", "seconds_fit", "seconds_check", "seconds_write", "seconds_total", "epochs",
            "best_loss", "quotes", "inside_bid_ask", "rmse_vol_points", "calendar", "butterfly", "other_violations")
_DTYPES = {name: ("float64" if name in _NUMBERS else "string") for name in RESULT_COLUMNS if name != "date"}


class ResultStore:
    """Read and write the results of a scale-out run under one folder.

    Parameters
    ----------
    out : str or os.PathLike
        The store's folder (created if needed).
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.root = pathlib.Path(out)
        self.results = self.root / "results"
        self.surfaces = self.root / "surfaces"

    def create(self) -> ResultStore:
        """Create the folders; returns the store."""
        require("pyarrow", "ivfast.scale's Parquet store")
        self.results.mkdir(parents=True, exist_ok=True)
        self.surfaces.mkdir(parents=True, exist_ok=True)
        return self

    def surface_dir(self, chain_id: str) -> pathlib.Path:
        """The folder of one chain's fit."""
        return self.surfaces / chain_id

    def row(self, chain_id: str) -> dict[str, Any] | None:
        """The stored row of ``chain_id``, or None when it has none yet."""
        path = self.results / f"{chain_id}.parquet"
        if not path.is_file():
            return None
        return {str(k): v for k, v in pd.read_parquet(path).iloc[0].items()}

    def write(self, row: dict[str, Any]) -> None:
        """Store one chain's row (replacing an earlier one), atomically."""
        # One fixed column type each, so that failed rows (no timings, no files) and finished ones
        # read back together as one Parquet dataset.
        frame = pd.DataFrame([{name: row.get(name) for name in RESULT_COLUMNS}]).astype(_DTYPES)
        target = self.results / f"{row['chain_id']}.parquet"
        partial = target.with_name(f".{target.stem}.{uuid.uuid4().hex}.tmp")
        frame.to_parquet(partial, index=False)
        os.replace(partial, target)

    def read(self) -> pd.DataFrame:
        """Every stored row, sorted by underlying and date (empty, with the columns, for a new store)."""
        files = sorted(self.results.glob("*.parquet")) if self.results.is_dir() else []
        if not files:
            return pd.DataFrame(columns=list(RESULT_COLUMNS))
        table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        return table.sort_values(["underlying", "date"], ignore_index=True)

    def done(self) -> set[str]:
        """chain_ids whose stored status is "ok"."""
        table = self.read()
        return set(table.loc[table["status"] == "ok", "chain_id"])
