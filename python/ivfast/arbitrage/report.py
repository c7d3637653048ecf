"""The result of an arbitrage check: counts, worst sizes and a per-point table of violations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ArbitrageReport", "KINDS", "violation_rows", "violation_table"]

# Every kind a check can report, with what its ``size`` column measures. Discrete sizes are
# undiscounted prices as a fraction of the forward of a portfolio whose payoff is bounded by one
# forward unit, so they compare across strikes and maturities.
KINDS: dict[str, str] = {
    "calendar": "-dw/dtau (total variance per year), or quote shortfall vs an earlier maturity (fraction of F)",
    "butterfly": "-g(k) (Gatheral-Jacquier), or the negative price of a unit-peak strike butterfly",
    "density": "normalisation error of the implied density (mass or E[S/F]) beyond its quadrature error",
    "lee": "w/|k| - 2 at the wing probes (Roger Lee's moment bound)",
    "wing_curvature": "wing slope + |d2w/dk2| |k| - 2 at the outer probe where w'' decays slower than 1/|k|",
    "positivity": "-w where the total variance is negative at tau > 0",
    "zero_maturity": "|w(k, 0)| (total variance must vanish at tau = 0)",
    "nonfinite": "inf where the surface returned NaN/inf",
    "price_bounds": "distance of C/(D F) outside [max(1 - K/F, 0), 1]",
    "call_spread": "distance of the strike slope dC/dK / D outside [-1, 0]",
}

_COLUMNS = ["kind", "k", "strike", "tau", "value", "size", "detail"]
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}


def violation_rows(kind: str, k, tau, value, size, *, strike=None, detail="") -> dict[str, Any]:
    """Rows of one kind of violation as flat arrays (broadcast together; ``strike`` NaN if not given).

    Checks collect these and build one table with :func:`violation_table` (one DataFrame per
    kind would cost more than the checks themselves).
    """
    arrays = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in (k, tau, value, size)))
    k, tau, value, size = (a.ravel() for a in arrays)
    strike = np.full(k.size, np.nan) if strike is None else np.broadcast_to(np.asarray(strike, float).ravel(), k.shape)
    detail = np.broadcast_to(np.asarray(detail, dtype=object).ravel(), k.shape)
    return {"kind": _KIND_CODE[kind], "k": k, "strike": strike, "tau": tau, "value": value, "size": size,
            "detail": detail}


def violation_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One DataFrame (columns kind, k, strike, tau, value, size, detail) from :func:`violation_rows`."""
    codes = np.concatenate([np.full(r["k"].size, r["kind"], dtype=np.int8) for r in rows])
    table = {"kind": pd.Categorical.from_codes(codes, categories=list(KINDS))}
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
        """Violations per checked kind with ``size > tol`` (default: the report's tolerance)."""
        found = self._above(tol)["kind"].value_counts()
        return {kind: int(found.get(kind, 0)) for kind in self.checked}

    def worst(self, tol: float | None = None) -> dict[str, float]:
        """Largest ``size`` per checked kind (0.0 where none exceeds ``tol``)."""
        sizes = self._above(tol).groupby("kind", observed=True)["size"].max()
        return {kind: float(sizes.get(kind, 0.0)) for kind in self.checked}

    def ok(self, tol: float | None = None) -> bool:
        """True when no condition is violated by more than ``tol`` (default: the report's)."""
        return self._above(tol).empty

    def summary(self) -> pd.DataFrame:
        """One row per checked kind: conditions checked, violations, worst size."""
        counts, worst = self.counts(), self.worst()
        return pd.DataFrame(
            {"checked": [self.checked[k] for k in self.checked],
             "violations": [counts[k] for k in self.checked],
             "worst": [worst[k] for k in self.checked]},
            index=pd.Index(list(self.checked), name="kind"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready digest: verdict, counts and worst size per kind, what was checked, tolerance
        and notes (the violation table itself is left out)."""
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

    def plot(self, path, *, title: str | None = None) -> None:
        """Save a (k, tau) map of the violations to ``path`` (any format matplotlib writes).

        Uses the Agg canvas directly, so no display is needed and pyplot's state is untouched.
        Marker area grows with the violation size relative to the worst of its kind.
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
