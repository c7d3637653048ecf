"""Which chains a scale-out run fits: one row per (underlying, date), from file names or a table."""

from __future__ import annotations

import glob
import os
import pathlib
import re
from collections.abc import Iterable

import pandas as pd

__all__ = ["chain_manifest", "MANIFEST_COLUMNS"]

MANIFEST_COLUMNS = ("chain_id", "underlying", "date", "path")
"""Columns of :func:`chain_manifest`; ``chain_id`` is ``<underlying>_<YYYY-MM-DD>``."""
_NAME = re.compile(r"^(?P<underlying>[A-Za-z0-9.^-]+?)_(?P<date>\d{4}-\d{2}-\d{2})")
_SUFFIXES = (".csv", ".dat", ".parquet")


def _paths(chains: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[pathlib.Path]:
    if isinstance(chains, (str, os.PathLike)):
        folder = pathlib.Path(chains)
        if folder.is_dir():
            return sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES)
        matches = sorted(pathlib.Path(p) for p in glob.glob(os.fspath(chains)))
        if not matches:
            raise ValueError(f"chains: no folder or files match {os.fspath(chains)!r}")
        return matches
    return [pathlib.Path(p) for p in chains]


def chain_manifest(chains: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | pd.DataFrame) -> pd.DataFrame:
    """The chains to fit, sorted by underlying and date.

    Parameters
    ----------
    chains : folder, glob pattern, iterable of paths, or DataFrame
        Chain files named ``<underlying>_<YYYY-MM-DD>...`` (as ``spx_2020-03-20_cboe.csv``: the
        underlying is upper-cased), or a table with columns ``underlying``, ``date``, ``path``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MANIFEST_COLUMNS`; ``date`` as ``datetime.date``.

    Raises
    ------
    ValueError
        No files, a file name without an underlying and a date, or two files for one chain.
    """
    if isinstance(chains, pd.DataFrame):
        missing = {"underlying", "date", "path"} - set(chains.columns)
        if missing:
            raise ValueError(f"chains: a manifest table needs the columns underlying, date, path; missing {missing}")
        table = chains[["underlying", "date", "path"]].copy()
    else:
        rows = []
        for path in _paths(chains):
            match = _NAME.match(path.name)
            if match is None:
                raise ValueError(f"chains: cannot read an underlying and a date from the file name {path.name!r} "
                                 "(expected <underlying>_<YYYY-MM-DD>...)")
            rows.append({"underlying": match["underlying"].upper(), "date": match["date"], "path": str(path)})
        if not rows:
            raise ValueError(f"chains: no chain files in {chains!r}")
        table = pd.DataFrame(rows)
    table["underlying"] = table["underlying"].astype(str)
    table["date"] = pd.to_datetime(table["date"]).dt.date
    table["path"] = table["path"].astype(str)
    table.insert(0, "chain_id", table["underlying"] + "_" + table["date"].map(lambda d: d.isoformat()))
    duplicated = table["chain_id"][table["chain_id"].duplicated()].unique()
    if duplicated.size:
        raise ValueError(f"chains: more than one file for {list(duplicated)[:5]}")
    return table.sort_values(["underlying", "date"], ignore_index=True)
