"""ATM total-variance term structures theta(tau): from quotes to a monotone curve.

theta(tau) = w(0, tau) must be non-decreasing for a surface to be free of calendar arbitrage
(Gatheral & Jacquier 2014, Theorem 4.1). Two monotone curves serve two jobs:

* :class:`MonotoneTheta` interpolates fitted node values exactly (shape-preserving PCHIP), which
  an SSVI calibration needs: its parameters *are* theta at the quoted maturities;
* :class:`SoftplusCurve` is a least-squares curve ``theta = exp(h(ln tau))`` built from softplus
  ramps, smooth on the whole half-line and a closed form in ``log``, ``exp``, ``softplus`` and
  ``sigmoid``, so the deep-smoothing prior (:class:`ivfast.surface.atm.MonotoneATMCurve`) and its
  exporters evaluate the same expression in torch (:func:`softplus_log_curve` takes both).

The softplus curve is ``h(u) = a + c_lo (u - u_0) + sum_j d_j s softplus((u - u_j)/s)``: a
*non-negative* combination of strictly increasing pieces (a left ramp of slope ``c_lo`` below the
first knot, soft clamps of slope ``c_j`` between consecutive knots, a right ramp of slope
``c_hi`` above the last; ``d_0 = c_0 - c_lo``, ``d_j = c_j - c_(j-1)``, ``d_n = c_hi - c_(n-1)``).
With ``c_lo, c_hi > 0`` and ``c_j >= 0``, ``h'(u) = c_lo + sum_j d_j sigmoid((u - u_j)/s) > 0``, so
theta is positive, strictly increasing, tends to 0 as tau -> 0 and cannot turn down between or
beyond the data (an unconstrained polynomial in tau can).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .. import _xp
from .._xp import Array
from .._arrays import as_float_array, quote_vector

__all__ = [
    "atm_total_variances",
    "isotonic_fit",
    "MonotoneTheta",
    "SoftplusCurve",
    "fit_softplus_curve",
    "softplus_log_curve",
]

_MIN_EDGE_SLOPE = 0.1
"""Lower bound of the log-log slope below the first and above the last knot: total variance
grows at least like tau^0.1 there (diffusive surfaces have slope about 1)."""
_MAX_KNOTS = 6
_ISOTONIC_STEP = 1e-10
"""Smallest increase between consecutive isotonic values (keeps theta strictly increasing)."""


def atm_total_variances(k: np.ndarray, tau: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ATM (k = 0) total variance per distinct maturity, sorted by maturity.

    Parameters
    ----------
    k, tau, w : ndarray, shape (n,)
        Log-moneyness ``ln(K/F)``, year fraction and total implied variance of each quote.

    Returns
    -------
    taus, theta : ndarray
        The distinct maturities (increasing) and w at k = 0 for each: interpolated linearly in k
        between the nearest quotes on either side of 0, or the quote nearest to 0 when all quotes
        of that maturity lie on one side. Not made monotone (see :func:`isotonic_fit`).
    """
    taus = np.unique(tau)
    out = np.empty_like(taus)
    for i, t in enumerate(taus):
        sel = tau == t
        ks, ws = k[sel], w[sel]
        order = np.argsort(ks)
        ks, ws = ks[order], ws[order]
        if ks[0] <= 0.0 <= ks[-1]:
            out[i] = np.interp(0.0, ks, ws)
        else:
            out[i] = ws[np.argmin(np.abs(ks))]
    return taus, out


def isotonic_fit(values: ArrayLike) -> np.ndarray:
    """Least-squares increasing fit ``min sum (z - values)^2`` subject to ``z_i >= z_(i-1) + 1e-10``.

    Parameters
    ----------
    values : array_like, shape (n,)
        Values in maturity order (e.g. ATM total variances).

    Returns
    -------
    ndarray
        The fitted, strictly increasing values (solved by cvxpy, part of the torch extra).

    Raises
    ------
    RuntimeError
        If cvxpy returns no solution.
    """
    from .._optional import require

    cp = require("cvxpy", "the isotonic ATM fit")
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return values.copy()
    z = cp.Variable(values.size)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(z - values)), [cp.diff(z) >= _ISOTONIC_STEP])
    problem.solve()
    if z.value is None:
        raise RuntimeError(f"isotonic ATM fit failed: cvxpy status {problem.status}")
    return np.asarray(z.value, dtype=np.float64)


class MonotoneTheta:
    """Non-decreasing ATM total variance theta(tau) through (0, 0) and nodes (tau_j, theta_j).

    Shape-preserving PCHIP (Fritsch-Carlson) between nodes, so theta stays monotone and C1;
    beyond the last node theta grows linearly in tau at the last ATM variance theta_N/tau_N.
    Calling it returns ``(theta, dtheta/dtau)``.

    Parameters
    ----------
    taus : array_like, shape (n,)
        Node maturities in years: positive, finite, strictly increasing.
    thetas : array_like, shape (n,)
        ATM total variances w(0, tau_j) at the nodes: positive, non-decreasing.

    Raises
    ------
    ValueError
        If the nodes are not finite and positive, ``taus`` is not strictly increasing or
        ``thetas`` decreases anywhere (calendar arbitrage).
    """

    def __init__(self, taus: ArrayLike, thetas: ArrayLike) -> None:
        taus = quote_vector(taus, "taus", positive=True)
        thetas = quote_vector(thetas, "thetas", size=taus.size, positive=True)
        if not (np.diff(taus) > 0.0).all():
            raise ValueError("taus: expected strictly increasing year fractions")
        if not (np.diff(thetas) >= 0.0).all():
            raise ValueError("thetas: expected non-decreasing ATM total variances (calendar arbitrage)")
        self.taus, self.thetas = taus, thetas
        from scipy.interpolate import PchipInterpolator  # deferred: keeps ``import ivfast`` light

        self._pchip = PchipInterpolator(np.r_[0.0, taus], np.r_[0.0, thetas], extrapolate=False)
        self._dpchip = self._pchip.derivative()

    def __call__(self, tau: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(theta, dtheta/dtau)`` at year fractions ``tau`` (any shape); NaN for tau < 0 or non-finite tau."""
        tau = as_float_array(tau, "tau")
        last = self.taus[-1]
        inside = (tau >= 0.0) & (tau <= last)
        t_in = np.where(inside, tau, 0.0)
        theta = np.where(inside, self._pchip(t_in), self.thetas[-1] * tau / last)
        slope = np.where(inside, self._dpchip(t_in), self.thetas[-1] / last)
        bad = ~(tau >= 0.0) | ~np.isfinite(tau)
        return np.where(bad, np.nan, theta), np.where(bad, np.nan, slope)


def softplus_log_curve(u: Array, knots: Array, width: Array, offset: Array, slope_lo: Array,
                       slope_changes: Array) -> tuple[Array, Array]:
    """Evaluate ``h(u)`` and ``h'(u)`` of the softplus curve (module docstring) at ``u = ln tau``.

    Takes NumPy arrays or torch tensors (all of one kind).

    Parameters
    ----------
    u : ndarray or torch.Tensor
        Log-maturity ``ln tau`` (tau in years), any shape.
    knots : ndarray or torch.Tensor, shape (n_knots,)
        Knot positions ``u_j``.
    width : float, ndarray or torch.Tensor
        Softplus width s.
    offset, slope_lo : float, ndarray or torch.Tensor
        ``a`` and ``c_lo`` of h.
    slope_changes : ndarray or torch.Tensor, shape (n_knots,)
        ``d_j``, one per knot.

    Returns
    -------
    h, dh_du : ndarray or torch.Tensor
        ``h(u) = ln theta`` and ``h'(u) = d ln theta / d ln tau``, shaped like ``u``.
    """
    z = (u[..., None] - knots) / width
    h = offset + slope_lo * (u - knots[0]) + width * (_xp.softplus(z) @ slope_changes)
    dh = slope_lo + _xp.sigmoid(z) @ slope_changes
    return h, dh


@dataclass(frozen=True)
class SoftplusCurve:
    """A fitted softplus ATM curve ``theta(tau) = exp(h(ln tau))`` (module docstring), in NumPy.

    Attributes
    ----------
    knots : ndarray
        Knot positions ``u_j`` in ``ln tau``.
    width : float
        Softplus width s (the knot spacing).
    offset, slope_lo : float
        ``a`` and ``c_lo`` of h.
    slope_changes : ndarray
        ``d_j`` (all >= 0 except where the left ramp is steeper than the first clamp).
    """

    knots: np.ndarray
    width: float
    offset: float
    slope_lo: float
    slope_changes: np.ndarray

    def __call__(self, tau: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(theta, dtheta/dtau)`` at year fractions ``tau`` > 0 (any shape)."""
        tau = as_float_array(tau, "tau")
        h, dh = softplus_log_curve(np.log(tau), self.knots, self.width, self.offset, self.slope_lo,
                                   self.slope_changes)
        theta = np.exp(h)
        return theta, theta * dh / tau


def fit_softplus_curve(taus: ArrayLike, theta: ArrayLike, max_knots: int = _MAX_KNOTS,
                       interpolate: bool = False) -> SoftplusCurve:
    """Least-squares fit of ``ln theta`` on ``ln tau`` under the monotonicity constraints.

    Parameters
    ----------
    taus : array_like, shape (n,)
        Increasing maturities in years (> 0).
    theta : array_like, shape (n,)
        Non-decreasing positive ATM total variances at ``taus`` (e.g. from :func:`isotonic_fit`).
    max_knots : int, default 6
        Most knots (>= 2). Six give a smooth term structure.
    interpolate : bool, default False
        With at least as many knots as maturities (and three or more maturities), pass through
        every value: the curve then follows session-to-session changes of forward variance
        (economic releases and earnings in the first weeks of an index chain), which the
        deep-smoothing fit's ATM penalty keeps its network from correcting. Otherwise (and by
        default, which the completion model was trained with) the knots are spread evenly.

    Returns
    -------
    SoftplusCurve
        Interpolating (see ``interpolate``): a knot at every maturity but the first, one width for
        all knots (one width keeps every clamp increasing; a tenth of the closest spacing keeps
        every slope that the interpolation needs non-negative), the left ramp's slope that of the
        first interval and the right ramp's slope 1 (flat ATM vol beyond the last maturity, as
        :class:`MonotoneTheta`). Otherwise up to ``max_knots`` knots (at most one fewer than the
        maturities) spread evenly over ``ln taus``, fitted by bounded least squares.
    """
    from scipy.optimize import lsq_linear

    u = np.log(quote_vector(taus, "taus", positive=True))
    y = np.log(quote_vector(theta, "theta", size=u.size, positive=True))
    right_slope = None
    if u[-1] - u[0] < 1e-12:
        knots = np.array([u[0] - 0.5, u[0] + 0.5])
    elif interpolate and 3 <= u.size <= max_knots:
        # Evenly spaced knots missed the ATM variance of SPX 2026's event sessions by up to 2 %.
        # A free right ramp would be set by the last interval alone and, on a chain of weeklies,
        # extrapolated theta 100-fold by three years; slope 1 is the usual flat-vol extrapolation.
        knots, right_slope = u[1:].copy(), 1.0
    else:
        knots = np.linspace(u[0], u[-1], int(np.clip(u.size - 1, 2, max(int(max_knots), 2))))
    width = 0.1 * float(np.diff(u).min()) if right_slope is not None else knots[1] - knots[0]
    ramps = width * np.logaddexp(0.0, (u[:, None] - knots[None, :]) / width)  # s*softplus
    # Columns: offset, left ramp, soft clamps between knots, right ramp (see module docstring).
    left = (u - knots[0]) - ramps[:, 0]
    clamps = ramps[:, :-1] - ramps[:, 1:]
    right = ramps[:, -1]
    if right_slope is None:
        design, target = np.column_stack([np.ones_like(u), left, clamps, right]), y
    else:
        design, target = np.column_stack([np.ones_like(u), left, clamps]), y - right_slope * right
    lower = np.r_[-np.inf, _MIN_EDGE_SLOPE, np.zeros(clamps.shape[1]), [_MIN_EDGE_SLOPE] * (right_slope is None)]
    solution = lsq_linear(design, target, bounds=(lower, np.full_like(lower, np.inf)), method="bvls")
    offset, c_lo = solution.x[0], solution.x[1]
    slopes = np.r_[solution.x[1:], right_slope] if right_slope is not None else solution.x[1:]
    return SoftplusCurve(knots, float(width), float(offset), float(c_lo), np.diff(slopes))
