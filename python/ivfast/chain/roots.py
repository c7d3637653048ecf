"""Which option roots of a chain go into one surface."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["choose_root"]


def choose_root(frame: pd.DataFrame, roots: str | Iterable[str] | None = "auto") -> tuple[list[str] | None, str]:
    """Roots to fit and a note saying why.

    Parameters
    ----------
    frame : pandas.DataFrame
        The chain as :func:`ivfast.chain.read_chain` returns it (a ``root`` column when the source
        names roots).
    roots : "auto", "all", None, str or iterable of str, default "auto"
        ``"auto"``: the root with the most quotes when a chain lists several (SPX and SPXW share
        expiry dates but settle at different times, so one surface takes one of them);
        ``"all"`` or None: every root; a string ``"A,B"`` or an iterable: those roots.
        Names are case-sensitive; the keywords are not.

    Returns
    -------
    roots : list of str or None
        The roots to keep (None: all quotes).
    note : str
        Why, for the fit's summary.

    Raises
    ------
    ValueError
        If ``roots`` names no root.
    """
    if roots is None or (isinstance(roots, str) and roots.lower() == "all"):
        return None, "all roots"
    if isinstance(roots, str) and roots.lower() != "auto":
        roots = [r.strip() for r in roots.split(",") if r.strip()]
    if not isinstance(roots, str):
        chosen = [str(r) for r in roots]
        if not chosen:
            raise ValueError("roots: expected at least one root name")
        return chosen, f"roots {','.join(chosen)} (as requested)"
    if "root" not in frame.columns:
        return None, "all quotes (no root column)"
    counts = frame["root"].fillna("").astype(str).value_counts()
    if len(counts) <= 1:
        return None, f"root {counts.index[0]}" if len(counts) and counts.index[0] else "all quotes (no root names)"
    best = str(counts.index[0])
    others = ", ".join(f"{r} {n}" for r, n in counts.iloc[1:].items())
    return [best], (f"root {best} ({counts.iloc[0]} of {counts.sum()} quotes; left out: {others}; "
                    "choose with --roots)")
