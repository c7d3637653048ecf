"""The result of an arbitrage check: counts, worst sizes and a per-point table of violations."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["ArbitrageReport", "KINDS", "violation_rows", "violation_table"]

# Every kind a check can report, with what its ``size`` column measures. Discrete sizes are
# undiscounted prices as a fraction of the forward of a portfolio whose payoff is bounded by one
# forward unit, so they compare across strikes and maturities.
KINDS: dict[str, str] = {
    "calendar": "-dw/dtau (total variance per year), or quote shortfall vs an earlier maturity (fraction of F)",
    "butterfly": "-g(k) (Gatheral-Jacquier), or the negative price of a unit-peak strike butterfly",
    "density": "normalisation error of the implied density (mass or E[S/F]) beyond its quadrature error",
    "lee": "wing slope between the probes - 2 (Roger Lee's moment bound on lim w/|k|)",
    "wing_curvature": "wing slope + |d2w/dk2| |k| - 2 at the outer probe where w'' decays slower than 1/|k|",
    "positivity": "-w where the total variance is negative at tau > 0",
    "zero_maturity": "|w(k, 0)| (total variance must vanish at tau = 0)",
    "nonfinite": "inf where the surface returned NaN/inf",
    "price_bounds": "distance of C/(D F) outside [max(1 - K/F, 0), 1]",
    "call_spread": "distance of the strike slope dC/dK / D outside [-1, 0]",
}

_COLUMNS = ["kind", "k", "strike", "tau", "value", "size", "detail"]
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}


def violation_rows(kind: str, k: ArrayLike, tau: ArrayLike, value: ArrayLike, size: ArrayLike, *,
                   strike: ArrayLike | None = None, detail: str | Sequence[str] = "") -> dict[str, Any]:
    """Collect the rows of one kind of violation as flat arrays.

    Checks collect these and build one table with :func:`violation_table` (one DataFrame per
    kind would cost more than the checks themselves).

    Parameters
    ----------
    kind : str
        A key of :data:`KINDS`.
    k, tau, value, size : array_like
        Log-moneyness ln(K/F), maturity in years, the violated quantity and the violation
        size, broadcast together.
    strike : array_like, optional
        Strikes in price units (NaN when not given).
    detail : str or sequence of str, default ""
        A note per row, or one for all.

    Returns
    -------
    dict
        ``kind`` (the code of ``kind``) and flat arrays ``k, strike, tau, value, size, detail``.
    """
    arrays = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in (k, tau, value, size)))
    k_, tau_, value_, size_ = (a.ravel() for a in arrays)
    strike_ = (np.full(k_.size, np.nan) if strike is None
               else np.broadcast_to(np.asarray(strike, float).ravel(), k_.shape))
    detail_ = np.broadcast_to(np.asarray(detail, dtype=object).ravel(), k_.shape)
    return {"kind": _KIND_CODE[kind], "k": k_, "strike": strike_, "tau": tau_, "value": value_, "size": size_,
            "detail": detail_}


def violation_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Build one DataFrame (columns kind, k, strike, tau, value, size, detail) from :func:`violation_rows`.

    Parameters
    ----------
    rows : list of dict
        Outputs of :func:`violation_rows`.

    Returns
    -------
    pandas.DataFrame
        One row per violation; ``kind`` is categorical over :data:`KINDS`.
    """
    codes = np.concatenate([np.full(r["k"].size, r["kind"], dtype=np.int8) for r in rows])
    table: dict[str, Any] = {"kind": pd.Categorical.from_codes(codes, categories=pd.Index(list(KINDS)))}
    for column in _COLUMNS[1:]:
        table[column] = np.concatenate([r[column] for r in rows])
    return pd.DataFrame(table)


@dataclass(frozen=True)
class ArbitrageReport:
    """Static-arbitrage violations found by :func:`check_surface` or :func:`check_prices`.

    Attributes
    ----------
    violations : pandas.DataFrame
        One row per violated condition with ``size > tol``: ``kind`` (see ``KINDS``), ``k``
        (log-moneyness ln(K/F)), ``strike`` (K, quotes only), ``tau`` (years), ``value`` (the
        violated quantity: g, dw/dtau, w/|k|, the normalised price C/(D F), a strike slope...),
        ``size`` (how far it is on the wrong side, >= 0; units in ``KINDS``) and ``detail``.
    checked : dict
        Number of conditions evaluated per kind (kinds not checked are absent).
    tol : float
        Tolerance the report was built with; ``size <= tol`` is not a violation.
    skipped : int
        Quote cells skipped because a price, vol or strike was NaN (quote checks only).
    source : str
        What was checked, for the summary line.
    notes : tuple of str
        Conditions that could not be evaluated and why.
    points : tuple of two arrays, optional
        (k, tau) of the grid points or quotes checked, drawn as the background of :meth:`plot`.
    """

    violations: pd.DataFrame
    checked: Mapping[str, int]
    tol: float = 0.0
    skipped: int = 0
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    points: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def _above(self, tol: float | None) -> pd.DataFrame:
        if tol is None:
            return self.violations
        tol = float(tol)
        if not tol >= self.tol:
            raise ValueError(f"tol: expected >= {self.tol} (the tolerance this report was built with), got {tol}")
        return self.violations[self.violations["size"] > tol]

    def counts(self, tol: float | None = None) -> dict[str, int]:
        """Count the violations per checked kind.

        Parameters
        ----------
        tol : float, optional
            Count only sizes above this, >= the report's :attr:`tol` (default: the report's).

        Returns
        -------
        dict of str to int
            Number of violations per checked kind (0 where none).

        Raises
        ------
        ValueError
            If ``tol`` is below the tolerance the report was built with.
        """
        found = self._above(tol)["kind"].value_counts()
        return {kind: int(found.get(kind, 0)) for kind in self.checked}

    def worst(self, tol: float | None = None) -> dict[str, float]:
        """Largest violation ``size`` per checked kind.

        Parameters
        ----------
        tol : float, optional
            Consider only sizes above this, >= the report's :attr:`tol` (default: the report's).

        Returns
        -------
        dict of str to float
            Largest size per checked kind (units in :data:`KINDS`), 0.0 where none exceeds ``tol``.

        Raises
        ------
        ValueError
            If ``tol`` is below the tolerance the report was built with.
        """
        sizes = self._above(tol).groupby("kind", observed=True)["size"].max()
        return {kind: float(sizes.get(kind, 0.0)) for kind in self.checked}

    def ok(self, tol: float | None = None) -> bool:
        """Tell whether no condition is violated by more than ``tol``.

        Parameters
        ----------
        tol : float, optional
            Tolerance, >= the report's :attr:`tol` (default: the report's).

        Returns
        -------
        bool
            True when no violation has ``size > tol``.

        Raises
        ------
        ValueError
            If ``tol`` is below the tolerance the report was built with.
        """
        return self._above(tol).empty

    def summary(self) -> pd.DataFrame:
        """Tabulate the checks per kind.

        Returns
        -------
        pandas.DataFrame
            Indexed by kind, columns ``checked`` (conditions evaluated), ``violations`` and
            ``worst`` (largest size), at the report's tolerance.
        """
        counts, worst = self.counts(), self.worst()
        return pd.DataFrame(
            {"checked": [self.checked[k] for k in self.checked],
             "violations": [counts[k] for k in self.checked],
             "worst": [worst[k] for k in self.checked]},
            index=pd.Index(list(self.checked), name="kind"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Digest the report for JSON.

        Returns
        -------
        dict
            ``ok``, ``counts`` and ``worst`` per kind, ``grid`` (what was checked), ``tol`` and
            ``notes``; the violation table itself is left out.
        """
        return {"ok": self.ok(), "counts": self.counts(), "worst": self.worst(), "grid": self.source,
                "tol": self.tol, "notes": list(self.notes)}

    def __str__(self) -> str:
        verdict = "no static arbitrage" if self.ok() else f"STATIC ARBITRAGE: {len(self.violations)} violations"
        lines = [f"Arbitrage check of {self.source or 'surface'} (tol={self.tol:g}): {verdict}",
                 self.summary().to_string(float_format=lambda x: f"{x:.3g}")]
        if self.skipped:
            lines.append(f"{self.skipped} quote cells skipped (NaN price, vol or strike)")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike[str], *, title: str | None = None) -> None:
        """Save a (k, tau) map of the violations to ``path``.

        Uses the Agg canvas directly, so no display is needed and pyplot's state is untouched.
        Marker area grows with the violation size relative to the worst of its kind; the
        checked points are drawn in grey behind.

        Parameters
        ----------
        path : str or os.PathLike
            Output file; its extension picks the format (any format matplotlib writes).
        title : str, optional
            Figure title (default: names what was checked).
        """
        from .._plotting import new_figure

        fig = new_figure(7.0, 4.5)
        ax = fig.add_subplot()
        if self.points is not None:
            ax.scatter(*self.points, s=2.0, color="0.8", label="checked", zorder=0)
        for kind, rows in self.violations.groupby("kind", observed=True):
            size = rows["size"].to_numpy(dtype=float)
            largest = np.max(size, where=np.isfinite(size), initial=0.0)
            scale = np.where(np.isfinite(size) & (largest > 0), size / (largest or 1.0), 1.0)
            area = 12.0 + 60.0 * scale
            ax.scatter(rows["k"], rows["tau"], s=area, alpha=0.7, label=f"{kind} ({len(rows)})")
        if self.violations.empty:
            ax.text(0.5, 0.5, "no violations", ha="center", va="center", transform=ax.transAxes)
        ax.legend(fontsize="small")
        ax.set_xlabel("log-moneyness k = ln(K/F)")
        ax.set_ylabel("maturity tau (years)")
        ax.set_title(title or f"Static-arbitrage violations: {self.source or 'surface'}", fontsize="small")
        fig.savefig(path)
