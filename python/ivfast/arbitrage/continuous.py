"""Static-arbitrage checks of a total-variance surface w(k, tau) given as a function.

Conventions: ``k = ln(K/F)``, ``tau`` in years, ``w = sigma_BS^2 tau``. The conditions are those
of Gatheral & Jacquier (2014, "Arbitrage-free SVI volatility surfaces", Thm 2.9 and Lemma 2.2)
and Roger Lee (2004, "The moment formula for implied volatility at extreme strikes"):

* calendar: dw/dtau >= 0 at fixed k (no calendar-spread arbitrage with proportional dividends);
* butterfly: g(k) = (1 - k w'/(2w))^2 - (w')^2/4 (1/w + 1/4) + w''/2 >= 0, i.e. the
  Breeden-Litzenberger density of ln(S_T/F), p(k) = g(k)/sqrt(2 pi w) exp(-d_-^2/2), is >= 0;
* density: p integrates to 1 and E[S_T/F] = 1 (see :func:`_density_sizes`);
* wings: lim w/|k| <= 2 (Lee), read off the wing slope between two far probes, and d2w/dk2 -> 0
  fast enough for w to be asymptotically linear;
* w > 0 for tau > 0 and w(k, 0) = 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from .._arrays import as_float_array
from ..protocols import TotalVarianceSurface
from .density import butterfly_g
from .report import ArbitrageReport, violation_rows, violation_table

__all__ = ["check_surface", "surface_derivatives", "DEFAULT_K", "DEFAULT_TAU"]

DEFAULT_K = np.linspace(-1.5, 1.5, 201)
"""Default log-moneyness grid: strikes from 0.22 F to 4.5 F.

It covers the 0.3 F to 3 F of :func:`ivfast.datasets.ackerer_grid`.
"""
DEFAULT_TAU = np.geomspace(1.0 / 52.0, 3.0, 100)
"""Default maturities: one week to three years, log-spaced (short maturities change fastest)."""

_EPS = np.finfo(np.float64).eps
_TINY = np.finfo(np.float64).tiny
# Central differences balance truncation (h^2) against rounding (eps/h for a first derivative,
# eps/h^2 for a second): h = eps^(1/3) ~ 6e-6 and eps^(1/4) ~ 1.2e-4 on the O(1) scale of k, and
# relative to tau because maturities span days to decades.
_H_K1 = _EPS ** (1.0 / 3.0)
_H_K2 = _EPS ** 0.25
_H_TAU_REL = _EPS ** (1.0 / 3.0)
# Rounding noise of d2w/dk2 relative to (1 + |w|): ~4 eps / h^2 for finite differences (x10 margin),
# a few eps for analytic or autograd derivatives. Wing curvature below it counts as zero.
_CURVATURE_NOISE = {"finite differences": 40.0 * _EPS / _H_K2**2, "analytic": 100.0 * _EPS}
# Wing probes sit at these multiples of the largest |k| checked: far enough that w is in its
# asymptotic regime for the usual parameterisations, near enough to stay in floating range.
_WING_INNER, _WING_OUTER = 4.0, 8.0
_SQRT_2PI = np.sqrt(2.0 * np.pi)
# The trapezoid error estimate is asymptotic; where a grid barely resolves a short-maturity density
# it has been seen (property tests) to miss errors of ~1e-12. Normalisation errors worth reporting
# are far larger (a 1% error in d2w/dk2 moves the mass by ~1e-3).
_QUADRATURE_FLOOR = 1e-10
# Density quadrature step in units of the density's width sqrt(w): the trapezoid rule's error on a
# Gaussian of width sigma is ~exp(-2 pi^2 sigma^2 / h^2), negligible (e^-79) at h = sigma / 2.
_DENSITY_STEP = 0.5
_MAX_DENSITY_POINTS = 2_000_000  # all refined maturities together; beyond, the error estimate covers it
_DENSITY_REFINE, _DENSITY_REFINEMENTS = 4, 2  # flagged maturities: up to 16x the points


def surface_derivatives(
    surface: TotalVarianceSurface, k: np.ndarray, tau: np.ndarray
) -> tuple[tuple[np.ndarray, ...], str]:
    """Evaluate ``(w, dw/dk, d2w/dk2, dw/dtau)`` on broadcast ``k``, ``tau``, and say how.

    Uses ``surface.total_variance_derivatives`` when the surface has it ("analytic": closed form
    or autograd), central finite differences of ``total_variance`` otherwise.

    Parameters
    ----------
    surface : TotalVarianceSurface
        The surface (a :class:`~ivfast.protocols.DifferentiableSurface` gives exact derivatives).
    k : ndarray
        Log-moneyness ln(K/F).
    tau : ndarray
        Maturities in years, broadcastable with ``k``.

    Returns
    -------
    derivatives : tuple of four ndarray
        ``(w, dw/dk, d2w/dk2, dw/dtau)`` with the broadcast shape, float64.
    method : str
        ``"analytic"`` or ``"finite differences"``.
    """
    derivatives = getattr(surface, "total_variance_derivatives", None)
    if callable(derivatives):
        out = derivatives(k, tau)
        return tuple(np.broadcast_to(np.asarray(x, dtype=np.float64), np.broadcast_shapes(k.shape, tau.shape))
                     for x in out), "analytic"
    w_of = surface.total_variance
    w = np.asarray(w_of(k, tau), dtype=np.float64)
    dw = (np.asarray(w_of(k + _H_K1, tau)) - np.asarray(w_of(k - _H_K1, tau))) / (2.0 * _H_K1)
    d2w = (np.asarray(w_of(k + _H_K2, tau)) - 2.0 * w + np.asarray(w_of(k - _H_K2, tau))) / _H_K2**2
    h_tau = _H_TAU_REL * tau
    dtau = (np.asarray(w_of(k, tau + h_tau)) - np.asarray(w_of(k, tau - h_tau))) / (2.0 * h_tau)
    return (w, dw, d2w, dtau), "finite differences"


def _grid(values: ArrayLike | None, name: str, default: np.ndarray, *, positive: bool, min_size: int) -> np.ndarray:
    if values is None:
        return default
    arr = np.atleast_1d(as_float_array(values, name))
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D grid, got shape {arr.shape}")
    if arr.size < min_size or not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected at least {min_size} finite values")
    if np.any(np.diff(arr) <= 0.0):
        raise ValueError(f"{name}: expected strictly increasing values (sort them and drop duplicates)")
    if positive and arr[0] <= 0.0:
        raise ValueError(f"{name}: expected values > 0 (the tau -> 0 limit is checked separately)")
    return arr


def _trapezoid_with_error(y: np.ndarray, k: np.ndarray, kinks: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid integral along the last axis and a conservative error estimate.

    The estimate is four times (a safety factor found with the property tests) the sum of the
    difference with the rule on every other node and the Euler-Maclaurin end terms h^2/12 |y'|
    (the leading error when the integrand is not negligible at the ends; the halved rule alone
    can agree by accident when aliasing and end errors cancel), plus the rounding floor. With
    ``kinks``, at least the Peano-kernel bound h^2/8 times the total variation of y', which holds
    for an integrand whose derivative jumps (a cubic-spline factor's knots: there the two rules'
    errors depend on where each kink falls between nodes, and on SPX 2026-01-30's corrected
    completion they agreed to 8e-7 while both were 1.8e-6 off). That bound is loose on a coarse
    grid, so the density check applies it only to its last, finest integration.
    """
    fine = np.trapezoid(y, k, axis=-1)
    idx = np.arange(0, k.size, 2)
    if idx[-1] != k.size - 1:
        idx = np.append(idx, k.size - 1)
    coarse = np.trapezoid(y[..., idx], k[idx], axis=-1)
    slope = np.gradient(y, k, axis=-1, edge_order=2)
    ends = ((k[1] - k[0]) ** 2 * np.abs(slope[..., 0]) + (k[-1] - k[-2]) ** 2 * np.abs(slope[..., -1])) / 12.0
    rounding = 64.0 * _EPS * np.trapezoid(np.abs(y), k, axis=-1)
    estimate = 4.0 * (np.abs(fine - coarse) + ends)
    if kinks:
        step = np.diff(k)
        variation = np.abs(np.diff(np.diff(y, axis=-1) / step, axis=-1)).sum(axis=-1)
        estimate = np.maximum(estimate, step.max() ** 2 / 8.0 * variation)
    return fine, estimate + rounding + _QUADRATURE_FLOOR


def _density_sizes(k: np.ndarray, w: np.ndarray, dw: np.ndarray, g: np.ndarray,
                   kinks: bool = False) -> tuple[np.ndarray, ...]:
    """Per-maturity normalisation of the implied density of x = ln(S_T/F).

    With d_- = -k/sqrt(w) - sqrt(w)/2, the Black formula gives the digital P(x > k) =
    N(d_-) - phi(d_-) w'/(2 sqrt w) and the share digital E[S_T/F; x > k] = N(d_+) - phi(d_+) w'/(2 sqrt w).
    The mass (and mean) is the trapezoid integral of p (and e^k p) on the grid plus these tail
    terms beyond its ends; both must be 1 up to the quadrature error, and every tail term must be a
    probability (a digital above 1 or below 0 is a call spread outside [-1, 0] at the grid's end).
    A finite grid cannot see mass escaping to infinity: that is the Lee wing check.
    Returns ``(mass, mean, size, what)`` per maturity.
    """
    with np.errstate(all="ignore"):
        sw = np.sqrt(w)
        d_minus = -k / sw - 0.5 * sw
        d_plus = d_minus + sw
        phi_minus = np.exp(-0.5 * d_minus**2) / _SQRT_2PI
        phi_plus = np.exp(-0.5 * d_plus**2) / _SQRT_2PI
        p = g / sw * phi_minus
        skew = dw / (2.0 * sw)
        digital = ndtr(d_minus) - phi_minus * skew
        share = ndtr(d_plus) - phi_plus * skew
        # rounding of each two-term tail value (both terms can be tiny far out of the money, even
        # subnormal: below the smallest normal float nothing is a meaningful probability)
        slack_d = 64.0 * _EPS * (ndtr(d_minus) + np.abs(phi_minus * skew)) + _TINY
        slack_s = 64.0 * _EPS * (ndtr(d_plus) + np.abs(phi_plus * skew)) + _TINY
        q_mass, e_mass = _trapezoid_with_error(p, k, kinks)
        q_mean, e_mean = _trapezoid_with_error(np.exp(k) * p, k, kinks)
        mass = (1.0 - digital[:, 0]) + q_mass + digital[:, -1]
        mean = (1.0 - share[:, 0]) + q_mean + share[:, -1]
        candidates = {
            "mass != 1": np.abs(mass - 1.0) - e_mass,
            "E[S/F] != 1": np.abs(mean - 1.0) - e_mean,
            "P(S>K) > 1 at the lowest k": digital[:, 0] - 1.0 - slack_d[:, 0],
            "P(S>K) < 0 at the highest k": -digital[:, -1] - slack_d[:, -1],
            "E[S/F; S>K] > 1 at the lowest k": share[:, 0] - 1.0 - slack_s[:, 0],
            "E[S/F; S>K] < 0 at the highest k": -share[:, -1] - slack_s[:, -1],
        }
    names = list(candidates)
    stacked = np.stack([np.nan_to_num(v, nan=0.0) for v in candidates.values()])
    which = np.argmax(stacked, axis=0)
    size = np.maximum(stacked[which, np.arange(stacked.shape[1])], 0.0)
    return mass, mean, size, np.array(names, dtype=object)[which]


def _uniform_density_sizes(surface: TotalVarianceSurface, k_lo: float, k_hi: float, n: int,
                           tau: np.ndarray, kinks: bool = False) -> tuple[np.ndarray, ...]:
    """:func:`_density_sizes` of the maturities ``tau`` on n uniform points over ``[k_lo, k_hi]``."""
    k_fine = np.linspace(k_lo, k_hi, n)
    kk, tt = np.meshgrid(k_fine, tau)
    with np.errstate(all="ignore"):
        (wf, dwf, d2wf, _), _ = surface_derivatives(surface, kk, tt)
    return _density_sizes(k_fine, wf, dwf, butterfly_g(wf, dwf, d2wf, kk), kinks)


_DENSITY_SUPPORT = 12.0
"""|d_-| beyond which the density factor phi(d_-) (< 1e-31) carries no mass the check can see."""


def _density_width(k: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Narrowest density scale sqrt(w) per maturity, over the k where the density has mass.

    Far out of the money (|d_-| > :data:`_DENSITY_SUPPORT`) the density is below 1e-31 of its
    peak, whatever w does there; a surface whose far wing extrapolates to a tiny w (a fitted
    network's short-maturity wing) would otherwise demand a quadrature step far below what the
    mass-carrying region needs.
    """
    with np.errstate(all="ignore"):
        sw = np.sqrt(w)
        carries = (w > 0) & (np.abs(-k / sw - 0.5 * sw) <= _DENSITY_SUPPORT)
        return np.sqrt(np.nanmin(np.where(carries, w, np.nan), axis=1, initial=np.inf))


def _integrate_groups(surface: TotalVarianceSurface, k: np.ndarray, tau: np.ndarray, rows: np.ndarray,
                      n: np.ndarray, out: tuple[np.ndarray, ...], kinks: bool = False) -> None:
    """:func:`_uniform_density_sizes` of the maturities ``rows``, each on its own ``n`` points, into ``out``."""
    for size in np.unique(n[rows]):
        group = rows[n[rows] == size]
        for dst, src in zip(out, _uniform_density_sizes(surface, k[0], k[-1], int(size), tau[group], kinks)):
            dst[group] = src


def _density_rows(surface: TotalVarianceSurface, k: np.ndarray, tau: np.ndarray, grid: tuple[np.ndarray, ...],
                  tol: float) -> dict:
    """Density normalisation per maturity, on the check grid where it resolves the density.

    The trapezoid rule is only reliable with steps below about half the density's width
    sqrt(w); maturities where the check grid is coarser are integrated on a uniform grid fine
    enough for that maturity (:func:`_density_width`; ``_MAX_DENSITY_POINTS`` evaluations at most
    in all) over the same k range. A flag must
    survive refinement: flagged maturities are integrated again on grids ``_DENSITY_REFINE`` times
    finer, because a density with structure narrower than sqrt(w) (a short-maturity smile that
    turns within a few hundredths of k) can defeat the error estimate on a barely resolving grid
    (a fitted surface's 2-day density: mass 0.9982 on 1,090 points, 0.9999997 on 2,000, 1 on 4,000).
    A flag left on the finest grid must also exceed the Peano bound for kinked integrands.
    """
    w, dw, g = grid
    width = _density_width(k, w)
    coarse = np.max(np.diff(k)) > _DENSITY_STEP * width
    mass, mean, size, what = (np.empty(tau.size), np.empty(tau.size), np.empty(tau.size), np.empty(tau.size, object))
    fine = ~coarse
    n = np.full(tau.size, k.size)
    if fine.any():
        mass[fine], mean[fine], size[fine], what[fine] = _density_sizes(k, w[fine], dw[fine], g[fine])
    if coarse.any():
        # Points each maturity needs, rounded up to a power of two so that few grids serve all of them.
        need = np.ceil((k[-1] - k[0]) / (_DENSITY_STEP * width[coarse])) + 1
        need = 2.0 ** np.ceil(np.log2(np.maximum(need, k.size)))
        n[coarse] = np.minimum(need, max(k.size, _MAX_DENSITY_POINTS // int(coarse.sum())))
        _integrate_groups(surface, k, tau, np.flatnonzero(coarse), n, (mass, mean, size, what))
    for _ in range(_DENSITY_REFINEMENTS):
        flagged = np.flatnonzero(size > tol)
        if not flagged.size or _DENSITY_REFINE * n[flagged].sum() > _MAX_DENSITY_POINTS:
            break
        n[flagged] *= _DENSITY_REFINE
        _integrate_groups(surface, k, tau, flagged, n, (mass, mean, size, what))
    # What is still flagged on its finest grid is reported unless it is within the Peano bound.
    flagged = np.flatnonzero(size > tol)
    if flagged.size:
        _integrate_groups(surface, k, tau, flagged, n, (mass, mean, size, what), kinks=True)
    bad = size > tol
    detail = [f"{d}; mass={m:.6g}, E[S/F]={e:.6g}" for d, m, e in zip(what[bad], mass[bad], mean[bad])]
    return violation_rows("density", 0.0, tau[bad], mass[bad], size[bad], detail=detail)


def _wing_rows(surface: TotalVarianceSurface, k: np.ndarray, tau: np.ndarray,
               method: str, tol: float) -> tuple[list[dict], str | None]:
    """Lee's bound lim w/|k| <= 2 from the wing slope between the probes, and d2w/dk2 dying out.

    If |w''| decays like |k|^-p, the wing slope converges (w asymptotically linear, as Lee's
    formula requires) only for p > 1. A finite probe pair cannot see the asymptote of a smile
    whose curvature sets in beyond it, so the curvature is flagged only when it both decays
    slower than 1/|k| from the inner to the outer probe (at most halving over a doubling of |k|)
    and, kept up over another |k_out|, would take the wing slope past Lee's 2:
    size = |w'(k_out)| + |w''(k_out)| |k_out| - 2. Also returns a note when probes are not finite
    (a surface defined on a bounded domain).
    """
    k_ext = max(abs(k[0]), abs(k[-1]))
    side = np.array([-1.0, 1.0])
    k_in = (side * _WING_INNER * k_ext)[None, :]
    k_out = (side * _WING_OUTER * k_ext)[None, :]
    tau2 = tau[:, None]
    with np.errstate(all="ignore"):
        (w_out, d1_out, d2_out, _), _ = surface_derivatives(surface, k_out, tau2)
        (w_in, _, d2_in, _), _ = surface_derivatives(surface, k_in, tau2)
        # The chord slope between the probes, not w/|k| at one of them: w/|k| = slope + c/|k|
        # exceeds 2 at any finite |k| when the intercept c is positive and the asymptotic slope
        # is near 2 (an SSVI surface at GJ's eta bound with a large ATM variance), which is no
        # arbitrage; a slope that tends to the limit from below (convex w) keeps the chord under it.
        ratio = (w_out - w_in) / (np.abs(k_out) - np.abs(k_in))
        lee_size = ratio - 2.0
        noise = _CURVATURE_NOISE[method] * (1.0 + np.abs(w_out))
        slow = (np.abs(d2_out) > 0.5 * np.abs(d2_in)) & (np.abs(d2_out) > noise)
        exponent = np.log2(np.abs(d2_in) / np.abs(d2_out))
        curv_size = np.where(slow, side * d1_out + np.abs(d2_out * k_out) - 2.0, 0.0)
    k_b, tau_b = np.broadcast_arrays(k_out, tau2)
    bad = lee_size > tol
    rows = [violation_rows("lee", k_b[bad], tau_b[bad], ratio[bad], lee_size[bad],
                           detail="wing slope (w(k_out) - w(k_in)) / (|k_out| - |k_in|)")]
    bad = curv_size > tol
    rows.append(violation_rows("wing_curvature", k_b[bad], tau_b[bad], exponent[bad], curv_size[bad],
                               detail="value = decay exponent p of |w''| ~ |k|^-p (need p > 1)"))
    blind = int((~np.isfinite(w_out) | ~np.isfinite(d1_out) | ~np.isfinite(d2_out) | ~np.isfinite(d2_in)).sum())
    note = (f"w or its k-derivatives not finite at {blind} of {w_out.size} wing probes (|k| = "
            f"{_WING_INNER * k_ext:g}, {_WING_OUTER * k_ext:g}); wing conditions not checked there") if blind else None
    return rows, note


def _zero_maturity_rows(surface: TotalVarianceSurface, k: np.ndarray, tol: float) -> tuple[list[dict], int, str | None]:
    try:
        with np.errstate(all="ignore"):
            w0 = np.asarray(surface.total_variance(k, np.zeros_like(k)), dtype=np.float64)
    except (ValueError, ArithmeticError) as exc:
        return [], 0, f"w(k, 0) not evaluable ({exc}); zero-maturity condition not checked"
    if not np.isfinite(w0).all():
        return [], 0, "w(k, 0) is not finite on the grid; zero-maturity condition not checked"
    bad = np.abs(w0) > tol
    return [violation_rows("zero_maturity", k[bad], 0.0, w0[bad], np.abs(w0[bad]))], k.size, None


def check_surface(surface: TotalVarianceSurface, k: ArrayLike | None = None, tau: ArrayLike | None = None,
                  tol: float = 0.0) -> ArbitrageReport:
    """Check a total-variance surface for static arbitrage on a (k, tau) grid.

    Parameters
    ----------
    surface : TotalVarianceSurface
        Anything with ``total_variance(k, tau)`` (see :mod:`ivfast.protocols`). When it also has
        ``total_variance_derivatives(k, tau) -> (w, dw/dk, d2w/dk2, dw/dtau)`` (SVI/SSVI closed
        forms, autograd for deep-smoothing fits) those are used; otherwise central finite
        differences with steps eps^(1/3) (first derivatives; relative to tau in tau) and
        eps^(1/4) (second derivative), which balance truncation against rounding and make g
        accurate to about 1e-7 (1 + w): use ``tol`` of about 1e-6 for such surfaces.
    k : array_like, optional
        Strictly increasing log-moneyness grid ln(K/F), at least 3 points. Default
        :data:`DEFAULT_K` (201 points on [-1.5, 1.5]).
    tau : array_like, optional
        Strictly increasing maturities in years, > 0. Default :data:`DEFAULT_TAU` (100 points,
        one week to three years, log-spaced).
    tol : float, default 0.0
        Violations with ``size <= tol`` are ignored (sizes per kind: ``ivfast.arbitrage.KINDS``).

    Returns
    -------
    ArbitrageReport
        Kinds checked: calendar, butterfly and positivity at every grid point; density per
        maturity; lee and wing_curvature at probes 4 and 8 times the largest |k| on each side;
        zero_maturity at tau = 0 where the surface evaluates there (a note otherwise); nonfinite
        where w or a derivative is NaN/inf.

    Raises
    ------
    ValueError
        If ``surface`` has no ``total_variance``, or ``k``, ``tau``, ``tol`` are malformed.
    """
    if not callable(getattr(surface, "total_variance", None)):
        raise ValueError(f"surface: expected an object with total_variance(k, tau), got {type(surface).__name__}")
    tol = float(tol)
    if not (np.isfinite(tol) and tol >= 0.0):
        raise ValueError(f"tol: expected a finite number >= 0, got {tol}")
    k = _grid(k, "k", DEFAULT_K, positive=False, min_size=3)
    tau = _grid(tau, "tau", DEFAULT_TAU, positive=True, min_size=1)
    kk, tt = np.meshgrid(k, tau)  # shape (n_tau, n_k): one row per maturity
    with np.errstate(all="ignore"):
        (w, dw, d2w, dtau), method = surface_derivatives(surface, kk, tt)
    g = butterfly_g(w, dw, d2w, kk)

    finite = np.isfinite(w) & np.isfinite(dw) & np.isfinite(d2w) & np.isfinite(dtau) & (np.isfinite(g) | (w <= 0.0))
    rows = [violation_rows("nonfinite", kk[~finite], tt[~finite], w[~finite], np.inf)]
    for kind, value in (("calendar", dtau), ("butterfly", g), ("positivity", w)):
        size = np.where(finite, -value, np.nan)
        bad = size > tol
        rows.append(violation_rows(kind, kk[bad], tt[bad], value[bad], size[bad]))

    rows.append(_density_rows(surface, k, tau, (w, dw, g), tol))
    wing_rows, wing_note = _wing_rows(surface, k, tau, method, tol)
    zero_rows, n_zero, zero_note = _zero_maturity_rows(surface, k, tol)
    rows.extend(wing_rows + zero_rows)

    checked = {"calendar": w.size, "butterfly": w.size, "density": tau.size, "lee": 2 * tau.size,
               "wing_curvature": 2 * tau.size, "positivity": w.size, "nonfinite": w.size}
    if n_zero:
        checked["zero_maturity"] = n_zero
    return ArbitrageReport(
        violations=violation_table(rows),
        checked=checked, tol=tol,
        source=f"{type(surface).__name__} on {k.size} k x {tau.size} tau ({method} derivatives)",
        notes=tuple(n for n in (wing_note, zero_note) if n), points=(kk.ravel(), tt.ravel()),
    )
