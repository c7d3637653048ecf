"""Calibration of one raw SVI slice to total variances.

A quasi-explicit inner solve (Zeliade 2009) runs inside a global-then-local search in
(m, sigma), then a constrained 5-parameter polish.

Zeliade Systems (2009), "Quasi-explicit calibration of Gatheral's SVI model": with
y = (k - m)/sigma the slice is w = a + d y + c sqrt(y^2 + 1), c = b sigma, d = rho b sigma,
which is linear in (a, d, c). For fixed (m, sigma) the best (a, d, c) is a 3-variable
least-squares problem under linear constraints, solved here exactly by enumerating the
active sets of its KKT system (batched over many (m, sigma) at once). The constraints are
|d| <= c (|rho| <= 1), c + |d| <= S sigma (wing slopes b(1 +- rho) <= S, Lee's bound S = 2)
and a + c - |d| >= 0, a linear inner approximation of a + sqrt(c^2 - d^2) >= 0
(sqrt(c^2 - d^2) >= c - |d|). The polish then enforces the exact constraint
a + b sigma sqrt(1 - rho^2) >= 0, and optionally g(k) >= 0 on a grid.
"""

from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._arrays import quote_vector, quote_weights
from ..arbitrage.density import butterfly_g
from .slices import NaturalSVI, RawSVI, raw_svi_derivatives, raw_svi_total_variance
from ._inner import inner_solve
from .ssvi import ssvi_total_variance

__all__ = ["fit_slice", "fit_slice_vols"]

_MIN_QUOTES = 5  # five parameters
_RHO_MAX = 1.0 - 1e-9
_SIGMA_MIN = 1e-8
# g >= _G_MARGIN on the fit grid keeps g >= 0 between its points (g varies by ~h^2 there).
_G_MARGIN = 1e-5


def _optimize() -> ModuleType:
    """Return scipy.optimize, imported on first fit (it is slow to import; ``import ivfast`` stays light)."""
    from scipy import optimize

    return optimize


class _Problem:
    """Scaled quotes (w / w_scale) and the search box of one slice fit."""

    def __init__(self, k: np.ndarray, w: np.ndarray, wt: np.ndarray, slope: float) -> None:
        self.k, self.w_scale = k, float(np.max(w))
        self.w = w / self.w_scale
        self.wt = wt / wt.sum()
        self._wt_w, self._wt_ww = float(self.wt @ self.w), float(self.wt @ self.w**2)
        self.slope = slope / self.w_scale
        self.span = max(float(np.ptp(k)), 1e-3)
        self.m_box = (float(k.min()) - 2.0 * self.span, float(k.max()) + 2.0 * self.span)
        self.logsig_box = (np.log(1e-6), np.log(10.0 * self.span + 1.0))

    def profile(self, ms: np.ndarray) -> np.ndarray:
        """Weighted SSE minimised over (a, d, c) at rows (m, log sigma) of ``ms``."""
        return inner_solve(ms[:, 0], np.exp(ms[:, 1]), self.k, self.w, self.wt, self.slope)[1]

    def profile_one(self, z: np.ndarray) -> float:
        """Return :meth:`profile` at one (m, log sigma).

        A scalar fast path handles the common case where the unconstrained (a, d, c) is feasible
        (the local search calls this about a hundred times).
        """
        m, sigma = float(z[0]), float(np.exp(z[1]))
        y = (self.k - m) / sigma
        s = np.sqrt(y * y + 1.0)
        wy, ws = self.wt * y, self.wt * s
        H = np.array([[1.0, wy.sum(), ws.sum()], [0.0, wy @ y, wy @ s], [0.0, 0.0, ws @ s]])
        H += np.triu(H, 1).T
        H[np.diag_indices(3)] *= 1.0 + 1e-13
        r = np.array([self._wt_w, wy @ self.w, ws @ self.w])
        a, d, c = x = np.linalg.solve(H, r)
        tol, bound = 1e-10 * (1.0 + self.slope * sigma), self.slope * sigma
        if c - abs(d) >= -tol and c + abs(d) <= bound + tol and a + c - abs(d) >= -tol:
            return max(float(x @ H @ x - 2.0 * x @ r + self._wt_ww), 0.0)
        return float(self.profile(np.asarray(z, dtype=np.float64)[None, :])[0])

    def inner_params(self, m: float, log_sigma: float) -> np.ndarray:
        """Scaled raw parameters (a, b, rho, m, sigma) of the inner optimum at (m, sigma)."""
        sigma = np.exp(log_sigma)
        x = inner_solve(np.array([m]), np.array([sigma]), self.k, self.w, self.wt, self.slope)[0][0]
        a, d, c = x
        b = max(c, 0.0) / sigma
        rho = float(np.clip(d / c, -_RHO_MAX, _RHO_MAX)) if c > 0.0 else 0.0
        return np.array([a, b, rho, m, sigma])

    def sse(self, p: np.ndarray) -> float:
        return float(self.wt @ (_raw_w(p, self.k) - self.w) ** 2)

    def to_raw(self, p: np.ndarray) -> RawSVI:
        """Unscaled RawSVI; a round-off shortfall (<= 1e-10) of the minimum variance goes into a."""
        a, b, rho, m, sigma = p
        a, b = a * self.w_scale, b * self.w_scale
        shortfall = a + b * sigma * np.sqrt(1.0 - rho**2)
        return RawSVI(a=a - min(shortfall, 0.0), b=b, rho=rho, m=m, sigma=sigma)


def _raw_w(p: np.ndarray, k: np.ndarray) -> np.ndarray:
    return raw_svi_total_variance(k, *p)


def _raw_w_jac(p: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Jacobian d w / d(a, b, rho, m, sigma), shape (n, 5)."""
    _, b, rho, m, sigma = p
    x = k - m
    r = np.hypot(x, sigma)
    return np.stack([np.ones_like(k), rho * x + r, b * x, -b * (rho + x / r), b * sigma / r], axis=1)


def _global_local_search(prob: _Problem, n_starts: int, x0: tuple[float, float] | None) -> np.ndarray:
    """Grid over (m, log sigma), then bounded Nelder-Mead from the best cells (and ``x0``)."""
    m_grid = np.linspace(prob.k.min() - 0.5 * prob.span, prob.k.max() + 0.5 * prob.span, 17)
    ls_grid = np.linspace(np.log(1e-4 * prob.span + 1e-6), np.log(2.0 * prob.span + 0.05), 12)
    cells = np.array(list(itertools.product(m_grid, ls_grid)))
    sse = prob.profile(cells)
    starts = [cells[i] for i in _basin_starts(sse.reshape(m_grid.size, ls_grid.size), n_starts)]
    if x0 is not None:
        m0, s0 = float(x0[0]), float(x0[1])
        if not (np.isfinite(m0) and np.isfinite(s0) and s0 > 0.0):
            raise ValueError(f"x0: expected (m, sigma) finite with sigma > 0, got {x0!r}")
        box = np.array([prob.m_box, prob.logsig_box])
        starts.append(np.clip([m0, np.log(s0)], box[:, 0], box[:, 1]))
    best_x, best_f = starts[0], np.inf
    for start in starts:
        res = _optimize().minimize(
            prob.profile_one,
            start,
            method="Nelder-Mead",
            bounds=[prob.m_box, prob.logsig_box],
            options={"xatol": 1e-5, "fatol": 1e-12, "maxfev": 400},
        )
        if res.fun < best_f:
            best_x, best_f = res.x, res.fun
    return prob.inner_params(*best_x)


def _basin_starts(sse: np.ndarray, n: int) -> np.ndarray:
    """Return flat indices of the ``n`` lowest grid cells that are local minima (8 neighbours).

    The local searches thus start in different basins rather than in one basin's best cells.
    """
    padded = np.pad(sse, 1, constant_values=np.inf)
    rows, cols = sse.shape
    shifts = itertools.product((0, 1, 2), repeat=2)
    neighbours = [padded[di : di + rows, dj : dj + cols] for di, dj in shifts]
    is_min = (sse <= np.min(neighbours, axis=0)).ravel()
    order = np.argsort(sse.ravel(), kind="stable")
    return order[is_min[order]][:n]


def _butterfly_grid(prob: _Problem, points: int) -> np.ndarray:
    return np.linspace(prob.k.min() - 2.0 * prob.span, prob.k.max() + 2.0 * prob.span, points)


def _g_on_grid(prob: _Problem, p: np.ndarray, k_grid: np.ndarray) -> np.ndarray:
    """g(k) of scaled parameters ``p`` (g is not scale-free, so unscale a and b first)."""
    w, dw, d2w = raw_svi_derivatives(k_grid, p[0] * prob.w_scale, p[1] * prob.w_scale, *p[2:])
    return butterfly_g(w, dw, d2w, k_grid)


def _domain_ok(prob: _Problem, p: np.ndarray) -> bool:
    min_w = p[0] + p[1] * p[4] * np.sqrt(1.0 - p[2] ** 2)
    slope_ok = p[1] * (1.0 + abs(p[2])) <= prob.slope + 1e-10
    return bool(np.isfinite(p).all() and p[4] > 0.0 and min_w >= -1e-10 and slope_ok)


def _polish(prob: _Problem, p0: np.ndarray, g_grid: np.ndarray | None) -> np.ndarray | None:
    """Local least squares on (a, b, rho, m, sigma) under the exact domain constraints.

    Trust-region least squares with the box bounds first (converges to machine precision on
    exact data); SLSQP with all constraints when that leaves the domain or g is constrained.
    Returns None when no feasible point came out.
    """
    lo = [-np.inf, 0.0, -_RHO_MAX, prob.m_box[0], _SIGMA_MIN]
    hi = [np.inf, np.inf, _RHO_MAX, prob.m_box[1], np.inf]
    sw = np.sqrt(prob.wt)
    if g_grid is None:
        res = _optimize().least_squares(
            lambda p: sw * (_raw_w(p, prob.k) - prob.w),
            np.clip(p0, lo, hi),
            jac=lambda p: sw[:, None] * _raw_w_jac(p, prob.k),
            bounds=(lo, hi), method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15,
        )
        if _domain_ok(prob, res.x):
            return res.x
    cons = [
        {"type": "ineq", "fun": lambda p: p[0] + p[1] * p[4] * np.sqrt(max(1.0 - p[2] ** 2, 0.0))},
        {"type": "ineq", "fun": lambda p: prob.slope - p[1] * (1.0 + p[2])},
        {"type": "ineq", "fun": lambda p: prob.slope - p[1] * (1.0 - p[2])},
    ]
    if g_grid is not None:
        def g_margin(p: np.ndarray) -> np.ndarray:
            return np.nan_to_num(_g_on_grid(prob, p, g_grid), nan=-1.0) - _G_MARGIN

        cons.append({"type": "ineq", "fun": g_margin})
    # SLSQP's stopping test is on absolute changes of f: normalise by the starting error.
    f_scale = 1.0 / max(prob.sse(p0), 1e-30)

    def fun(p: np.ndarray) -> tuple[float, np.ndarray]:
        resid = _raw_w(p, prob.k) - prob.w
        return f_scale * float(prob.wt @ resid**2), 2.0 * f_scale * (prob.wt * resid) @ _raw_w_jac(p, prob.k)

    with np.errstate(all="ignore"):
        res = _optimize().minimize(
            fun, np.clip(p0, lo, hi), jac=True, method="SLSQP", bounds=list(zip(lo, hi)), constraints=cons,
            options={"ftol": 1e-12, "maxiter": 500},
        )
    return res.x if _domain_ok(prob, res.x) else None


def _ssvi_slice_fit(prob: _Problem) -> np.ndarray:
    """Best slice of SSVI form, butterfly-free by GJ Theorem 4.2 (fallback and g-feasible start).

    theta phi (1 + |rho|) < 4 and theta phi^2 (1 + |rho|) <= 4 are built into the map
    phi = phi_max(theta, rho) * sigmoid(q) * (1 - 1e-9), as is the wing-slope bound
    b (1 + |rho|) = theta phi (1 + |rho|) / 2 <= S.
    """
    w_abs = prob.w * prob.w_scale
    theta_phi_max = min(4.0, 2.0 * prob.slope * prob.w_scale)

    def unpack(z: np.ndarray) -> tuple[float, float, float]:
        theta, rho = np.exp(z[0]), np.tanh(z[1])
        cap = theta_phi_max / (theta * (1.0 + abs(rho)))
        phi = min(cap, np.sqrt(cap)) * (1.0 - 1e-9) / (1.0 + np.exp(-z[2]))
        return theta, rho, phi

    def resid(z: np.ndarray) -> np.ndarray:
        theta, rho, phi = unpack(z)
        return np.sqrt(prob.wt) * (ssvi_total_variance(prob.k, theta, phi, rho) - w_abs) / prob.w_scale

    theta0 = float(np.interp(0.0, prob.k[np.argsort(prob.k)], w_abs[np.argsort(prob.k)]))
    best = None
    for rho0 in (-0.6, 0.0, 0.6):
        z0 = np.array([np.log(max(theta0, 1e-8)), np.arctanh(rho0), 0.0])
        res = _optimize().least_squares(resid, z0, method="trf", xtol=1e-14, ftol=1e-14)
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None  # the loop above runs three times
    theta, rho, phi = unpack(best.x)
    raw = NaturalSVI(delta=0.0, mu=0.0, rho=rho, omega=theta, zeta=phi).to_raw()
    return np.array([raw.a / prob.w_scale, raw.b / prob.w_scale, raw.rho, raw.m, raw.sigma])


def fit_slice(
    k: ArrayLike,
    w: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    no_butterfly: bool = False,
    max_wing_slope: float = 2.0,
    x0: tuple[float, float] | None = None,
    n_starts: int = 2,
) -> RawSVI:
    """Fit a raw SVI slice to total implied variances by weighted least squares.

    Parameters
    ----------
    k : array_like, shape (n,)
        Log-moneyness ln(K/F) against the forward, n >= 5 with at least 3 distinct values.
    w : array_like, shape (n,)
        Total implied variances sigma_BS^2 * tau (> 0).
    weights : array_like, shape (n,), optional
        Non-negative weights of the squared residuals in w (e.g. (vega/spread)^2 scaled to w).
    no_butterfly : bool, default False
        Also require g(k) >= 0 (GJ Lemma 2.2) on a grid spanning the quotes plus twice their
        range on each side (401 points, refined where a 4001-point check finds g < 0); an
        SSVI-form slice (butterfly-free by GJ Theorem 4.2) guarantees a feasible answer.
    max_wing_slope : float, default 2.0
        Bound S on the wing slopes b(1 +- rho) of w; 2 is Roger Lee's moment bound, beyond
        which a slice cannot be free of butterfly arbitrage.
    x0 : (m, sigma), optional
        Extra start for the (m, sigma) search; the fit does not depend on it.
    n_starts : int, default 2
        Local searches started from the best distinct local minima of the global
        (m, log sigma) grid of the profiled error.

    Returns
    -------
    RawSVI
        Always within the domain b >= 0, |rho| < 1, sigma > 0, a + b sigma sqrt(1 - rho^2) >= 0.

    Raises
    ------
    ValueError
        For invalid quotes or weights, fewer than 5 quotes or 3 distinct weighted strikes, a
        non-positive ``max_wing_slope``, ``n_starts`` < 1 or an invalid ``x0``.
    """
    k = quote_vector(k, "k")
    w = quote_vector(w, "w", size=k.size, positive=True)
    wt = quote_weights(weights, k.size)
    if k.size < _MIN_QUOTES or np.unique(k[wt > 0]).size < 3:
        raise ValueError(f"k: need >= {_MIN_QUOTES} quotes with >= 3 distinct weighted strikes, got {k.size}")
    slope = float(max_wing_slope)
    if not (np.isfinite(slope) and slope > 0.0):
        raise ValueError(f"max_wing_slope: expected a finite number > 0, got {max_wing_slope!r}")
    if not (isinstance(n_starts, (int, np.integer)) and n_starts >= 1):
        raise ValueError(f"n_starts: expected an integer >= 1, got {n_starts!r}")
    prob = _Problem(k, w, wt, slope)
    p_qe = _global_local_search(prob, int(n_starts), x0)
    if not no_butterfly:
        p = _polish(prob, p_qe, None)
        return prob.to_raw(p if p is not None and prob.sse(p) <= prob.sse(p_qe) else p_qe)
    return prob.to_raw(_butterfly_free(prob, p_qe))


def _butterfly_free(prob: _Problem, p_qe: np.ndarray) -> np.ndarray:
    """Best g-feasible candidate: polished QE fit, polished SSVI-form fit, or the SSVI-form fit."""
    g_check = _butterfly_grid(prob, 4001)
    p_ssvi = _ssvi_slice_fit(prob)
    candidates = [p_ssvi]
    for start in (p_qe, p_ssvi):
        g_fit = _butterfly_grid(prob, 401)
        for _ in range(4):  # cutting planes: add the check points where g < 0 and re-polish
            p = _polish(prob, start, g_fit)
            if p is None:
                break
            g = _g_on_grid(prob, p, g_check)
            if np.nanmin(g) >= 0.0:
                candidates.append(p)
                break
            g_fit = np.union1d(g_fit, g_check[g < 0.0])
            start = p
    return min(candidates, key=prob.sse)


def fit_slice_vols(
    k: ArrayLike, vol: ArrayLike, tau: float, *, weights: ArrayLike | None = None, **kwargs: Any
) -> RawSVI:
    """Fit a raw SVI slice to Black implied vols at year fraction ``tau``.

    Residuals are taken in vol: the weights of squared total-variance residuals are
    ``weights / (2 vol tau)^2`` (first order, d vol = d w / (2 vol tau)).

    Parameters
    ----------
    k : array_like, shape (n,)
        Log-moneyness ln(K/F) against the forward.
    vol : array_like, shape (n,)
        Annualised Black implied volatilities (> 0; 0.2 = 20 %).
    tau : float
        Expiry of the slice in years (> 0).
    weights : array_like, shape (n,), optional
        Non-negative weights of the squared residuals in vol (default 1).
    **kwargs : Any
        Further keyword arguments of :func:`fit_slice` (``no_butterfly``, ``max_wing_slope``,
        ``x0``, ``n_starts``).

    Returns
    -------
    RawSVI
        The fitted slice; its implied vol at ``tau`` is ``sqrt(w(k) / tau)``.

    Raises
    ------
    ValueError
        For a non-positive or non-finite ``tau``, and as :func:`fit_slice`.
    """
    vol = quote_vector(vol, "vol", positive=True)
    t = float(tau)
    if not (np.isfinite(t) and t > 0.0):
        raise ValueError(f"tau: expected a finite year fraction > 0, got {tau!r}")
    base = quote_weights(weights, vol.size)
    return fit_slice(k, vol**2 * t, weights=base / (2.0 * vol * t) ** 2, **kwargs)
