"""A spline correction of a completed surface on its quotes, kept free of static arbitrage.

The completion's power-law SSVI is certified everywhere but too rigid for a dense real chain
(median APE 2.8-4.7 % on the hidden half of SPX chains). The correction multiplies it by
``exp(h)`` (:class:`ivfast.surface.correction.SplineCorrection`: cubic B-splines in moneyness per
quoted expiry, blended in ln tau) fitted to the quotes' log total variances by penalised least
squares, subject to the no-arbitrage conditions on a constraint grid that resolves every spline:

* calendar: ``d ln w / d ln tau >= margin`` -- linear in the coefficients, because ``h`` is blended
  at fixed ``k`` (``dh/d ln tau`` is constant in each interval);
* butterfly: Gatheral-Jacquier ``g >= margin`` -- nonlinear, linearised at each iterate.

It is a sequential quadratic programme (Clarabel, an interior-point solver; a trust region after
the first step; points any iterate came near stay constrained). Between grid points a condition
can dip below its value on the points; the constraints ask for that dip on top of their margin
(:func:`_dip`, a parabola through neighbouring points along k) and rows in tau are at most 0.1
apart in ln tau. Steps are judged by a merit (objective plus the elastic cost of the shortfall).
Beyond the splines ``h`` is flat in k, so the far wings are the SSVI's times a constant; single
points out to ``|k| = 50`` hold ``g`` there (and with it Lee's wing bound, since
``g -> 1/4 - (slope)^2/16`` as ``|k|`` grows). Beyond the last expiry the factor fades to 1 by
:data:`FADE` times it, so far maturities are the certified SSVI's.
The final surface is audited with :func:`ivfast.arbitrage.check_surface` by :func:`certify`; a
correction that still shows any violation there is shrunk towards 0 until none is left (at worst
the SSVI itself), so the returned surface always passes its own dense check and `ivfast check`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg
import torch
from numpy.typing import NDArray

from .._optional import require
from ..arbitrage.continuous import DEFAULT_K, DEFAULT_TAU
from ..arbitrage.density import butterfly_g
from ..arbitrage.grids import quote_grid
from ..surface.correction import SplineCorrection
from ..surface.model import SurfaceModel
from .surface import dense_grid

__all__ = ["certify", "fit_correction"]

DZ = 0.5
"""Spline spacing in units of k / (ATM vol sqrt(tau)): half a standard deviation."""
PAD = 2.0
"""The splines reach this many such units beyond the quoted moneyness range."""
SMOOTH, RIDGE, ACROSS = 1e-5, 1e-6, 1e-5
"""Penalties on second differences in moneyness, on the coefficients, and on first differences
across expiries, against a mean squared log-variance error (tuned on SPX 2020-03-20, a fine-tuning
chain, never on the held-out chain)."""
MARGIN = 1e-4
"""The calendar slope d ln w / d ln tau must be at least this on the constraint grid."""
MARGIN_G = 0.01
"""Butterfly g must be at least this on the constraint grid: between grid rows in tau, g of a
strongly curved short-expiry wing fell 0.005 below its value on the rows (SPY 2025-09-25);
g = 0.01 is a density of 1 % of the lognormal's there."""
STOP = 1e-3
"""The programmes stop once no condition on the grid, less its estimated dip between points, is
below -STOP: each programme asks for the margins, but a dip moves with the coefficients, so the
last per-mille can take many programmes; :func:`certify` has the last word on the dense grids."""
ITERATIONS = 20
"""Quadratic programmes at most (each linearises g afresh; SPX 2020-03-20's random half needed 10-14)."""
TRUST = 0.2
"""Largest change of a coefficient per step after the first (log-variance units); halved after
each step that leaves a worse merit than its start -- the least-squares objective plus
:data:`ELASTIC` times the total shortfall below the margins on the grid -- and the step is then
undone. (Judged by the worst violation alone, SPX 2026 with 5 % of its quotes stalled at 20
programmes and was shrunk to the SSVI: 2.86 % median APE instead of 0.163 %.)"""
NEAR = 0.2
"""Grid points with g or the calendar slope below this enter a programme's constraints."""
ELASTIC = 10.0
"""Cost per unit of a linearised constraint's shortfall (exact L1 penalty of an elastic SQP)."""
FADE = 10.0
"""The factor fades to 1 linearly in ln tau from the last expiry to this multiple of it: held
constant instead, splines at the last expiry's moneyness scale bent far wider smiles
(``ivfast check``'s grid to 3 years: g = -160 at 30 times SPY 2025-09-25's last expiry)."""
SHRINK = (1.0, 0.7, 0.5, 0.3, 0.15, 0.0)
"""Factors tried on the fitted correction until the dense check is clean (0: the SSVI alone)."""


def _jets(model: SurfaceModel, k: NDArray[np.float64], tau: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    with torch.inference_mode():
        jet = model(torch.as_tensor(k, dtype=torch.float64), torch.as_tensor(tau, dtype=torch.float64))
    return [t.numpy() for t in jet[:4]]


def _design(correction: SplineCorrection, k: NDArray[np.float64], tau: NDArray[np.float64],
            free: int) -> list[sp.csr_matrix]:
    """Sparse matrices mapping the first ``free`` coefficients to the points' h and its derivatives.

    ``h``, ``dh/dk``, ``d2h/dk2``, ``dh/d ln tau``; the other coefficients (the fade node's) are 0.
    """
    with torch.inference_mode():
        columns, *weights = correction.stencil(torch.as_tensor(k, dtype=torch.float64),
                                               torch.as_tensor(tau, dtype=torch.float64))
    rows = np.repeat(np.arange(k.size), columns.shape[1])
    shape = (k.size, correction.coef.numel())
    return [sp.csr_matrix((w.numpy().ravel(), (rows, columns.numpy().ravel())), shape=shape)[:, :free]
            for w in weights]


FAR = np.array([0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.25, 1.6, 2.5, 4.0, 8.0, 16.0])
"""Multiples of the splines' k range (beyond it, each side) where the flat wings are constrained,
then ``|k| = 50``: smooth there (no knots), so a few points hold them."""


def _grid(correction: SplineCorrection, k: NDArray[np.float64], tau: NDArray[np.float64]
          ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Constraint points (k, tau) for the fit, and the row of each (a run of increasing k at one tau).

    At each tau at, just after, inside and around the nodes: the knots of both neighbouring nodes' splines and
    quarter spacings between them. ``d2h/dk2`` is piecewise linear with kinks at the knots, so
    ``g`` has its local minima there; a grid that misses them (as an evenly spaced one does when
    the two nodes' scales differ) lets ``g`` dip below 0 between its points (down to -0.03 on
    SPY 2025-09-25). Sparse points at each tau cover the flat wings. Then the points of the
    quotes' dense check grid (:func:`dense_grid`) and of ``ivfast fit``'s
    (:func:`ivfast.arbitrage.grids.quote_grid`), one row per tau.
    """
    u = correction.log_tau.numpy()
    scale = correction.node_scale.numpy()
    offsets = np.arange(-2, correction.coef.shape[1] + 2)[:, None] + np.array([0.0, 0.25, 0.5, 0.75])
    z = float(correction.z_first) + DZ * offsets.ravel()
    # A node's own tau takes the slope of the interval before it; 1e-6 of the next interval
    # takes the slope after it, where the calendar condition is tightest when the SSVI's own
    # slope grows along the interval (AAPL 2019-08-23).
    inner = np.concatenate([a + (b - a) * np.r_[0.0, 1e-6, np.linspace(0.0, 1.0, _rows(b - a) + 1)[1:-1]]
                            for a, b in zip(u[:-1], u[1:])])
    u_all = np.sort(np.concatenate([u[0] - np.log([2.2, 1.4]), inner, u[-1:], u[-1] + np.log([1.25, 1.6])]))
    rows: list[tuple[NDArray[np.float64], float]] = []
    for v in u_all:
        j = int(np.clip(np.searchsorted(u, v), 0, u.size - 1))
        kg = np.unique(np.outer(scale[[max(j - 1, 0), j]], z))
        span = kg[-1] - kg[0]
        far = np.r_[np.maximum(kg[0] - FAR * span, -50.0), -50.0, np.minimum(kg[-1] + FAR * span, 50.0), 50.0]
        rows += [(kg, v)] + [(np.array([x]), v) for x in far]  # one row each: no dip across the gaps
    for k_axis, tau_axis in (dense_grid(k, tau), quote_grid(k, tau)):
        rows += [(k_axis, np.log(t)) for t in tau_axis]
    return (np.concatenate([r[0] for r in rows]), np.concatenate([np.full(r[0].size, np.exp(r[1])) for r in rows]),
            np.repeat(np.arange(len(rows)), [r[0].size for r in rows]))


def _rows(width: float) -> int:
    """Intervals a tau interval of this width in ln tau is cut into by grid rows.

    At least 4, at most 0.1 wide (the fade's interval is ln 10 wide: with 4 rows g fell to -0.045
    between them on SPY 2025-09-25).
    """
    return max(4, int(np.ceil(width / 0.1)))


def _solve(p: sp.csc_matrix, q: NDArray[np.float64], g: sp.csr_matrix, h: NDArray[np.float64],
           box: tuple[NDArray[np.float64], float] | None) -> NDArray[np.float64] | None:
    """Min x'Px/2 + q'x + ELASTIC sum(s) subject to G x + s >= h, s >= 0 and |x - centre| <= radius.

    The slacks make every programme feasible (a linearisation far from the iterate can ask for
    the impossible inside the trust region); None if Clarabel does not solve it.
    """
    clarabel = require("clarabel", "the certified completion correction")
    n, m = p.shape[0], g.shape[0]
    rows = [sp.hstack([-g, -sp.identity(m)]), sp.hstack([sp.csr_matrix((m, n)), -sp.identity(m)])]
    bounds = [-h, np.zeros(m)]
    if box is not None:
        centre, radius = box
        eye = sp.hstack([sp.identity(n), sp.csr_matrix((n, m))])
        rows += [eye, -eye]
        bounds += [centre + radius, radius - centre]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    solver = clarabel.DefaultSolver(sp.block_diag([sp.triu(p), sp.csr_matrix((m, m))]).tocsc(),
                                    np.r_[q, np.full(m, ELASTIC)], sp.vstack(rows).tocsc(), np.concatenate(bounds),
                                    [clarabel.NonnegativeConeT(sum(b.size for b in bounds))], settings)
    solution = solver.solve()
    if str(solution.status) not in ("Solved", "AlmostSolved"):
        return None
    return np.asarray(solution.x)[:n]


def fit_correction(model: SurfaceModel, k: NDArray[np.float64], tau: NDArray[np.float64], iv: NDArray[np.float64],
                   weights: NDArray[np.float64]) -> tuple[SplineCorrection, dict[str, Any]]:
    """Fit the spline factor of a completed surface to its quotes (module docstring).

    Parameters
    ----------
    model : SurfaceModel
        The completed surface's model without a correction (ATM curve and SSVI).
    k, tau, iv : ndarray, shape (n,)
        The quotes (log-moneyness, years, vols).
    weights : ndarray, shape (n,)
        Quote weights summing to 1.

    Returns
    -------
    correction : SplineCorrection
        The factor (its nodes are the quoted expiries, then a zero node at :data:`FADE` times the last).
    info : dict
        Programmes solved, grid points, and the worst g and calendar slope left on the grid.
    """
    nodes = np.unique(tau)
    atm_w = _jets(model, np.zeros(nodes.size), nodes)[0]
    scale = np.sqrt(np.median(atm_w / nodes) * nodes)
    z = k / np.interp(tau, nodes, scale)
    z_first = np.floor((z.min() - PAD) / DZ) * DZ
    n_splines = int(np.ceil((z.max() + PAD - z_first) / DZ)) + 1
    # A last node of zero coefficients FADE beyond the last expiry (not a variable of the fit).
    correction = SplineCorrection(torch.as_tensor(np.r_[nodes, nodes[-1] * FADE]),
                                  torch.as_tensor(np.r_[scale, scale[-1]]), z_first, DZ,
                                  torch.zeros(nodes.size + 1, n_splines, dtype=torch.float64))
    free = nodes.size * n_splines
    x = _design(correction, k, tau, free)[0]
    y = np.log(iv * iv * tau) - np.log(_jets(model, k, tau)[0])
    # Second differences of the coefficients continued flat beyond the ends (as h is): the end
    # rows are c_1 - c_0 and c_(M-2) - c_(M-1), so h levels off where no quote holds it.
    smooth = sp.vstack([sp.diags([-1.0, 1.0], [0, 1], shape=(1, n_splines)),
                        sp.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(n_splines - 2, n_splines)),
                        sp.diags([1.0, -1.0], [n_splines - 2, n_splines - 1], shape=(1, n_splines))])
    across = sp.diags([-1.0, 1.0], [0, 1], shape=(max(nodes.size - 1, 0), nodes.size))
    eye_m, eye_n = sp.identity(n_splines), sp.identity(nodes.size)
    penalty = (sp.kron(eye_n, SMOOTH * (smooth.T @ smooth) + RIDGE * eye_m)
               + ACROSS * sp.kron(across.T @ across, eye_m))
    xw = (sp.diags(weights) @ x).tocsr()
    p = (2.0 * (x.T @ xw + penalty)).tocsc()
    q = -2.0 * (xw.T @ y)
    coef = scipy.sparse.linalg.spsolve(p, -q)

    gk, gt, row = _grid(correction, k, tau)
    b_w, b_k, b_kk, b_t = _jets(model, gk, gt)
    h_v, h_k, h_kk, h_u = _design(correction, gk, gt, free)
    base_slope = gt * b_t / b_w
    info: dict[str, Any] = {"grid_points": int(gk.size), "programmes": 0, "coefficients": int(coef.size)}
    radius, kept = TRUST, None
    near_g, near_c = np.zeros(gk.size, dtype=bool), np.zeros(gk.size, dtype=bool)
    for step in range(ITERATIONS):
        e = np.exp(h_v @ coef)
        dk, dkk = h_k @ coef, h_kk @ coef
        w, w_k = b_w * e, e * (b_k + b_w * dk)
        w_kk = e * (b_kk + 2.0 * b_k * dk + b_w * (dkk + dk * dk))
        g = butterfly_g(w, w_k, w_kk, gk)
        g = g - _dip(gk, row, g)
        slope = base_slope + h_u @ coef
        slope = slope - _dip(gk, row, slope)
        # Points any iterate came near stay constrained: a step undone for the violations it made
        # where the kept iterate was far from the bound would otherwise be proposed again.
        near_g |= g < NEAR
        near_c |= slope < NEAR
        worst = min(float(g.min()), float(slope.min()))
        shortfall = np.maximum(MARGIN_G - g, 0.0).sum() + np.maximum(MARGIN - slope, 0.0).sum()
        merit = 0.5 * coef @ (p @ coef) + q @ coef + ELASTIC * shortfall
        if kept is not None and merit > kept[0]:  # the step made it worse: back, with a smaller region
            merit, (coef, g, slope, w, w_k, w_kk, worst) = kept
            radius *= 0.5
        else:
            kept = (merit, (coef, g, slope, w, w_k, w_kk, worst))
        info.update(min_g=float(g.min()), min_calendar=float(slope.min()), trust_radius=radius)
        if worst >= -STOP:
            break
        at_g, at_c = np.flatnonzero(near_g), np.flatnonzero(near_c)
        jac_g = _g_jacobian(gk[at_g], w[at_g], w_k[at_g], w_kk[at_g], (h_v[at_g], h_k[at_g], h_kk[at_g]))
        rows = sp.vstack([jac_g, h_u[at_c]]).tocsr()
        bounds = np.r_[MARGIN_G - g[at_g] + jac_g @ coef, MARGIN - slope[at_c] + h_u[at_c] @ coef]
        solved = _solve(p, q, rows, bounds, (coef, radius) if step else None)
        info["programmes"] += 1
        if solved is None:
            break
        coef = solved
    correction.coef[:-1] = torch.as_tensor(coef.reshape(nodes.size, n_splines))
    return correction, info


def _dip(k: NDArray[np.float64], row: NDArray[np.int64], g: NDArray[np.float64]) -> NDArray[np.float64]:
    """How far a condition falls below a grid point's value at a minimum next to it along k.

    Where ``g`` bends up steeply (a strongly curved correction on a short, low-variance expiry:
    d2g/dk2 ~ 5e4 on SPY 2025-09-25's 6-day far puts) its minimum lies between the constraint
    points, 0.03 below them at a quarter spline spacing. The parabola through a point and its two
    neighbours (within its row of the grid, :func:`_grid`) estimates it: where the parabola is
    convex with its vertex between the neighbours, the dip is the point's value less the
    vertex's, which the fit asks for on top of the margin; elsewhere 0 (a kink or a monotone
    stretch has no minimum between the points to miss).
    """
    dip = np.zeros_like(g)
    same = row[1:] == row[:-1]
    i = np.flatnonzero(same[:-1] & same[1:]) + 1
    x0, x2 = k[i - 1] - k[i], k[i + 1] - k[i]
    left, right = (g[i] - g[i - 1]) / -x0, (g[i + 1] - g[i]) / x2
    a = (right - left) / (x2 - x0)  # half the parabola's second derivative
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = -(left - a * x0) / (2.0 * a)  # where the parabola's slope (left - a x0 + 2 a x) is 0
    dip[i] = np.where((a > 0.0) & (vertex > x0) & (vertex < x2), a * vertex * vertex, 0.0)
    return dip


def _g_jacobian(k: NDArray[np.float64], w: NDArray[np.float64], w_k: NDArray[np.float64], w_kk: NDArray[np.float64],
                design: tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]) -> sp.csr_matrix:
    """The Jacobian of g in the coefficients for ``w = w_base exp(h)`` (chain rule through w, w_k, w_kk)."""
    a = 1.0 - k * w_k / (2.0 * w)
    g_w = a * k * w_k / (w * w) + w_k * w_k / (4.0 * w * w)
    g_wk = -a * k / w - 0.5 * w_k * (1.0 / w + 0.25)
    g_wkk = 0.5
    # dw = w dh, dw_k = w_k dh + w dh_k, dw_kk = w_kk dh + 2 w_k dh_k + w dh_kk
    d_h = g_w * w + g_wk * w_k + g_wkk * w_kk
    d_hk = g_wk * w + 2.0 * g_wkk * w_k
    d_hkk = g_wkk * w
    h_v, h_k, h_kk = design
    return (sp.diags(d_h) @ h_v + sp.diags(d_hk) @ h_k + sp.diags(d_hkk) @ h_kk).tocsr()


def _audit_grids(quotes: Any) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """The grids a corrected surface is certified on.

    Its own dense check's, the default grid of :func:`ivfast.arbitrage.check_surface` and
    ``ivfast check`` (k in [-1.5, 1.5], tau to 3 years), and the quoted-domain grid of
    ``ivfast fit`` (every quoted maturity among its rows).
    """
    return [dense_grid(quotes.k, quotes.tau), (DEFAULT_K, DEFAULT_TAU), quote_grid(quotes.k, quotes.tau)]


def certify(build: Callable[[SplineCorrection | None], Any], correction: SplineCorrection) -> tuple[Any, float]:
    """Shrink a fitted correction until the surface passes the checks of :func:`_audit_grids`.

    Parameters
    ----------
    build : callable
        ``build(correction) -> surface`` with a ``check()`` method returning an ArbitrageReport
        (``build(None)``: the SSVI alone).
    correction : SplineCorrection
        The fitted factor (its coefficients are scaled in place).

    Returns
    -------
    surface
        The first clean surface of :data:`SHRINK`'s factors.
    factor : float
        The factor kept (0: the correction was dropped).
    """
    fitted = correction.coef.clone()
    for factor in SHRINK[:-1]:
        correction.coef.copy_(factor * fitted)
        surface = build(correction)
        if all(surface.check(*grid).ok() for grid in _audit_grids(surface.quotes)):
            return surface, factor
    return build(None), 0.0
