"""Forward and discount factor per expiry from put-call parity.

For European options ``C - P = D (F - K)`` at every strike, so a line through the pairs
``(K, C - P)`` has slope ``-D`` and crosses zero at ``K = F``. Quotes carry noise (half
spreads, tick rounding) and a few are wrong, so the line is fitted by iteratively reweighted
least squares: base weights ``1 / (spread_call**2 + spread_put**2)`` (mid noise grows with the
spreads) times Tukey's bisquare of the spread-scaled residuals (gross outliers get zero
weight), started from Siegel's repeated-median line of the tightest pairs so that neither
outliers nor a majority of wide quotes can steer the start.
Only strikes near the money enter (deep in-the-money quotes are wide and, for American options,
carry early-exercise premium). Prices are discounted, in price units; ``tau`` in years.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ParityFit", "fit_parity", "pool_discounts", "curve_forward", "curve_value", "Curve"]

Curve = Union[float, Callable[[np.ndarray], np.ndarray], None]
"""A continuously compounded zero rate: a constant, or a function of tau (years)."""

_TUKEY_C = 4.685   # 95 % Gaussian efficiency; residuals beyond 4.685 robust sigmas get weight 0
_MAX_STEPS = 50
_MAD_TO_SIGMA = 1.4826
_Q75_TO_SIGMA = 1.1503  # 75th percentile of |N(0, 1)|
_TIGHT_RATIO = 4.0  # pairs this close to the tightest quote's noise start the fit (_irls)


@dataclass(frozen=True)
class ParityFit:
    """Result of one expiry's parity regression: ``C - P ≈ D (F - K)``.

    Attributes
    ----------
    forward : float
        Fitted forward F, price units.
    discount : float
        Fitted discount factor D (minus the slope of ``C - P`` in K).
    strikes : ndarray
        Strikes of the pairs that entered the fit (the near-the-money window).
    residuals : ndarray
        ``(C - P) - D (F - K)`` at ``strikes``, price units.
    weights : ndarray
        Final IRLS weights (0 marks an outlier).
    """

    forward: float
    discount: float
    strikes: np.ndarray
    residuals: np.ndarray
    weights: np.ndarray

    @property
    def n_pairs(self) -> int:
        """Number of call/put pairs in the fit window."""
        return int(self.strikes.size)

    @property
    def n_used(self) -> int:
        """Number of pairs kept (positive weight)."""
        return int(np.count_nonzero(self.weights > 0))

    @property
    def discount_se(self) -> float:
        """Standard error of the fitted discount factor (the line's slope).

        From the weighted residual variance; inf with fewer than three pairs kept.
        """
        w, k = self.weights, self.strikes
        if self.n_used < 3:
            return np.inf
        km = np.sum(w * k) / np.sum(w)
        s2 = np.sum(w * self.residuals**2) / (self.n_used - 2)
        return float(np.sqrt(s2 / np.sum(w * (k - km) ** 2)))

    def forward_given(self, discount: float) -> float:
        """Refit the forward from the kept pairs under an imposed discount factor.

        The weighted mean of ``K + (C - P) / D`` over the pairs (``C - P`` recovered from the
        residuals), with this fit's IRLS weights.

        Parameters
        ----------
        discount : float
            The discount factor D to impose, > 0.

        Returns
        -------
        float
            The forward, price units.
        """
        diff = self.residuals + self.discount * (self.forward - self.strikes)
        return float(np.sum(self.weights * (self.strikes + diff / discount)) / np.sum(self.weights))

    @property
    def rms_residual(self) -> float:
        """Weighted RMS residual over the pairs kept (price units)."""
        w = self.weights
        return float(np.sqrt(np.sum(w * self.residuals**2) / np.sum(w))) if np.sum(w) > 0 else np.nan

    @property
    def max_abs_residual(self) -> float:
        """Largest residual among the pairs kept (price units)."""
        kept = self.residuals[self.weights > 0]
        return float(np.max(np.abs(kept))) if kept.size else np.nan


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Intercept and slope of the weighted least-squares line y = a + b x."""
    sw = np.sum(w)
    xm, ym = np.sum(w * x) / sw, np.sum(w * y) / sw
    sxx = np.sum(w * (x - xm) ** 2)
    b = np.sum(w * (x - xm) * (y - ym)) / sxx
    return ym - b * xm, b


def _repeated_median(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit Siegel's repeated-median line.

    Its 50 % breakdown point means a badly quoted strike at the edge of the window (high
    leverage) cannot drag the start of the reweighting.
    """
    dx = x[None, :] - x[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = (y[None, :] - y[:, None]) / dx
    slopes[dx == 0] = np.nan
    b = float(np.median(np.nanmedian(slopes, axis=1)))
    return float(np.median(y - b * x)), b


def _tukey_weights(u: np.ndarray) -> np.ndarray:
    a = np.abs(u) / _TUKEY_C
    return np.where(a < 1.0, (1.0 - a * a) ** 2, 0.0)


def _robust_scale(u: np.ndarray, zero_scale: float) -> float:
    """Normal-consistent scale of residuals.

    The MAD, or the upper quartile when more than half are (numerically) zero: tick-rounded
    quotes put parity residuals on a lattice, and a line through half of the lattice points
    would otherwise reject all the others.
    """
    abs_u = np.abs(u)
    mad = _MAD_TO_SIGMA * float(np.median(abs_u))
    return mad if mad > zero_scale else float(np.quantile(abs_u, 0.75)) / _Q75_TO_SIGMA


def _irls(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, zero_scale: float) -> tuple[float, float, np.ndarray]:
    """Tukey-bisquare IRLS from the repeated-median line, residuals scaled by ``sigma``.

    The start is the repeated median of the tightest pairs (``sigma`` within ``_TIGHT_RATIO`` of
    the smallest) when at least three of them span two strikes: the wide pairs can be the
    majority and biased together (in-the-money American legs, stale wide quotes), and a start
    on their line would give the precise pairs residuals of many of their sigmas, which Tukey's
    weights then reject.
    """
    base = 1.0 / sigma**2
    tight = sigma <= _TIGHT_RATIO * sigma.min()
    use = tight if np.count_nonzero(tight) >= 3 and np.ptp(x[tight]) > 0 else np.ones(x.size, dtype=bool)
    a, b = _repeated_median(x[use], y[use])
    w = base
    for _ in range(_MAX_STEPS):
        u = (y - a - b * x) / sigma
        scale = _robust_scale(u, zero_scale)
        if scale <= zero_scale:
            # More than half the pairs fit exactly (noise-free quotes): keep those, drop the rest.
            w = np.where(np.abs(u) <= 10 * zero_scale, base, 0.0)
        else:
            w = base * _tukey_weights(u / scale)
        if np.count_nonzero(w) < 2 or np.ptp(x[w > 0]) == 0:
            break
        a_new, b_new = _weighted_line(x, y, w)
        settled = abs(a_new - a) <= 1e-13 * abs(a) + 1e-15 * zero_scale and abs(b_new - b) <= 1e-13 * abs(b)
        a, b = a_new, b_new
        if settled:
            break
    return a, b, w


def _near_the_money(strikes: np.ndarray, diff: np.ndarray, tau: float, window: float, min_pairs: int) -> np.ndarray:
    """Select the pairs with |ln(K/F0)| <= window * sqrt(tau), F0 where C - P changes sign.

    Returns their indices; at least the ``min_pairs`` nearest pairs.
    """
    i0 = int(np.argmin(np.abs(diff)))
    f0 = strikes[i0] + diff[i0]  # D ~ 1 is good enough to centre the window
    f0 = f0 if f0 > 0 else strikes[i0]
    dist = np.abs(np.log(strikes / f0))
    inside = np.flatnonzero(dist <= window * np.sqrt(max(tau, 1.0 / 365.0)))
    if inside.size >= min_pairs:
        return inside
    return np.sort(np.argsort(dist, kind="stable")[:min_pairs])


def fit_parity(
    strikes: ArrayLike,
    call_mid: ArrayLike,
    put_mid: ArrayLike,
    call_spread: ArrayLike,
    put_spread: ArrayLike,
    tau: float,
    *,
    window: float = 1.0,
    min_pairs: int = 5,
) -> ParityFit | None:
    """Robust fit of ``C - P = D (F - K)`` over near-the-money strikes of one expiry.

    Parameters
    ----------
    strikes, call_mid, put_mid : array_like
        One entry per strike that has both a call and a put quote (discounted mids).
    call_spread, put_spread : array_like
        Ask minus bid; zero spreads (exact prices) give equal weights.
    tau : float
        Year fraction to expiry; sets the window.
    window : float, default 1.0
        Pairs with ``|ln(K/F0)| <= window * sqrt(tau)`` enter (tau floored at one day).
    min_pairs : int, default 5
        Fewer pairs than this (in the whole expiry) -> None; the window widens to the
        ``min_pairs`` nearest pairs when it holds fewer.

    Returns
    -------
    ParityFit or None
        None when there are too few pairs or the fitted F or D is not positive and finite.
    """
    k = np.asarray(strikes, dtype=np.float64)
    if k.size < max(min_pairs, 2):
        return None
    diff = np.asarray(call_mid, dtype=np.float64) - np.asarray(put_mid, dtype=np.float64)
    spread2 = np.asarray(call_spread, dtype=np.float64) ** 2 + np.asarray(put_spread, dtype=np.float64) ** 2
    idx = _near_the_money(k, diff, tau, window, min_pairs)
    k, diff, spread2 = k[idx], diff[idx], spread2[idx]
    if np.ptp(k) == 0:
        return None
    centre = float(np.median(k))
    # Noise scale per pair: the quoted spreads, floored at the tightest pair's (a one-tick quote
    # still carries about a tick of rounding noise) and at 1e-8 of the strike for exact prices.
    # A floor at the median spread equalised the weights wherever most pairs have a wide leg:
    # on SPY's 2025-10-09 expiry ($5 strikes) 23 of 30 pairs have a $3.2-wide in-the-money leg,
    # whose mids set the forward $0.39 low and opened a 0.85 vol-point put/call gap at the money.
    positive = spread2[spread2 > 0]
    floor = float(positive.min()) if positive.size else 0.0
    sigma = np.sqrt(np.maximum(spread2, max(floor, (1e-8 * centre) ** 2)))
    zero_scale = 1e-10 * centre / float(np.median(sigma))
    a, b, w = _irls(k - centre, diff, sigma, zero_scale)
    discount = -b
    forward = centre + a / discount if discount != 0 else np.nan
    if not (np.isfinite(forward) and np.isfinite(discount) and forward > 0 and discount > 0):
        return None
    residuals = diff - discount * (forward - k)
    return ParityFit(forward=float(forward), discount=float(discount), strikes=k, residuals=residuals, weights=w)


def pool_discounts(taus: ArrayLike, discounts: ArrayLike, ses: ArrayLike, bandwidth: float = 1.0) -> np.ndarray:
    """Discount factors with the zero rate smoothed across expiries.

    Each expiry's implied rate ``r_i = -ln(D_i) / tau_i`` has standard error about
    ``se_i / (D_i tau_i)``, which is large at short expiries (a narrow strike range pins the
    parity slope poorly). The pooled rate at ``tau_i`` is the precision-weighted average of all
    ``r_j`` with a Gaussian kernel of width ``bandwidth`` in ``ln tau``, so short expiries borrow
    the rate of better determined neighbours while a real term structure survives.

    Parameters
    ----------
    taus : array_like, 1-D
        Maturities in years, > 0.
    discounts : array_like, 1-D
        Per-expiry parity discount factors D_i.
    ses : array_like, 1-D
        Their standard errors (:attr:`ParityFit.discount_se`).
    bandwidth : float, default 1.0
        Kernel width in ``ln tau``.

    Returns
    -------
    ndarray
        Pooled discount factors ``exp(-r_pooled(tau_i) tau_i)``, one per expiry.
    """
    taus, discounts, ses = (np.asarray(a, dtype=np.float64) for a in (taus, discounts, ses))
    rates = -np.log(discounts) / taus
    rate_se = ses / (discounts * taus)
    # Exact fits (se = 0) would give infinite precision: floor at a 1e-12 rate error.
    precision = 1.0 / np.maximum(rate_se, 1e-12) ** 2
    lt = np.log(taus)
    kernel = np.exp(-0.5 * ((lt[:, None] - lt[None, :]) / bandwidth) ** 2)
    weights = kernel * precision[None, :]
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(total > 0, (weights @ rates) / total, rates)  # no precise neighbour: keep own
    return np.exp(-pooled * taus)


def curve_value(curve: Curve, tau: float, name: str) -> float:
    """Evaluate a rate curve (a constant or a function of tau) at ``tau``; ValueError names it if not finite."""
    value = curve(np.asarray(tau)) if callable(curve) else curve
    value = float(np.asarray(value, dtype=np.float64))
    if not np.isfinite(value):
        raise ValueError(f"{name}: the curve gave {value} at tau={tau}")
    return value


def curve_forward(spot: float | None, tau: float, rate: Curve, dividend: Curve) -> tuple[float, float] | None:
    """Forward and discount from a spot and continuously compounded rate/dividend curves.

    ``F = S exp((r - q) tau)``, ``D = exp(-r tau)``; None when something is missing.
    """
    if spot is None or rate is None or dividend is None:
        return None
    r = curve_value(rate, tau, "rate")
    q = curve_value(dividend, tau, "dividend")
    return float(spot * np.exp((r - q) * tau)), float(np.exp(-r * tau))
