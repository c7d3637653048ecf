"""ATM total-variance term structure theta(tau): observed ATM points -> isotonic fit -> smooth
monotone curve.

The curve is ``theta(tau) = exp(h(ln tau))`` with

    h(u) = a + c_lo * (u - u_0) + sum_j d_j * s * softplus((u - u_j) / s),

which is the same function as a *non-negative* combination of strictly increasing pieces: a
left ramp with slope ``c_lo`` below the first knot, soft clamps of slope ``c_j`` between
consecutive knots and a right ramp of slope ``c_hi`` above the last one
(``d_0 = c_0 - c_lo``, ``d_j = c_j - c_(j-1)``, ``d_n = c_hi - c_(n-1)``). With ``c_lo, c_hi > 0``
and ``c_j >= 0`` the derivative ``h'(u) = c_lo + sum_j d_j sigmoid((u - u_j)/s)`` is a positive
combination of sigmoids, so theta is positive and strictly increasing on the whole half-line,
tends to 0 as tau -> 0 and is infinitely differentiable: unlike the seed's unconstrained
degree-5 polynomial it cannot turn down between or beyond the data. Everything is a closed form
in ``log``, ``exp``, ``softplus`` and ``sigmoid`` of buffers, so an exporter can evaluate theta and
``dtheta/dtau = theta * h'(ln tau) / tau`` with plain tensor operations.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import lsq_linear

__all__ = ["atm_total_variances", "isotonic_fit", "MonotoneATMCurve"]

_MIN_EDGE_SLOPE = 0.1
"""Lower bound of the log-log slope below the first and above the last knot: total variance
grows at least like tau^0.1 there (diffusive surfaces have slope about 1)."""

_MAX_KNOTS = 6
_ISOTONIC_STEP = 1e-10
"""Smallest increase between consecutive isotonic values (the seed's constraint)."""


def atm_total_variances(k: np.ndarray, tau: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ATM (k = 0) total variance per distinct maturity, sorted by maturity.

    A quote at k = 0 is used as it is; otherwise w is interpolated linearly in k between the
    nearest quotes on either side of 0, or taken from the quote nearest to 0 when all quotes of
    that maturity lie on one side.
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


def isotonic_fit(values: np.ndarray) -> np.ndarray:
    """Least-squares non-decreasing fit ``min sum (z - values)^2, z_i >= z_(i-1) + 1e-10``, by cvxpy."""
    import cvxpy as cp

    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return values.copy()
    z = cp.Variable(values.size)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(z - values)), [cp.diff(z) >= _ISOTONIC_STEP])
    problem.solve()
    if z.value is None:
        raise RuntimeError(f"isotonic ATM fit failed: cvxpy status {problem.status}")
    return np.asarray(z.value, dtype=np.float64)


class MonotoneATMCurve(torch.nn.Module):
    """Fixed (non-trainable) positive, strictly increasing ATM total-variance curve theta(tau).

    Build it with :meth:`fit`; all state lives in float64 buffers (saved with the model).
    """

    def __init__(self, knots: torch.Tensor, width: torch.Tensor, offset: torch.Tensor,
                 slope_lo: torch.Tensor, slope_changes: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("knots", knots)
        self.register_buffer("width", width)
        self.register_buffer("offset", offset)
        self.register_buffer("slope_lo", slope_lo)
        self.register_buffer("slope_changes", slope_changes)

    @classmethod
    def empty(cls, n_knots: int) -> MonotoneATMCurve:
        """A placeholder of the right shapes, to be filled by ``load_state_dict``."""
        z = torch.zeros((), dtype=torch.float64)
        return cls(torch.zeros(n_knots, dtype=torch.float64), z, z.clone(), z.clone(),
                   torch.zeros(n_knots, dtype=torch.float64))

    @classmethod
    def fit(cls, taus: np.ndarray, theta: np.ndarray) -> MonotoneATMCurve:
        """Least-squares fit of ``ln theta`` on ``ln tau`` under the monotonicity constraints.

        Parameters
        ----------
        taus : ndarray
            Increasing maturities in years (> 0).
        theta : ndarray
            Non-decreasing positive ATM total variances at ``taus`` (e.g. from :func:`isotonic_fit`).
        """
        u = np.log(taus)
        y = np.log(theta)
        n_knots = int(np.clip(u.size - 1, 2, _MAX_KNOTS))
        if u[-1] - u[0] < 1e-12:
            knots = np.array([u[0] - 0.5, u[0] + 0.5])
        else:
            knots = np.linspace(u[0], u[-1], n_knots)
        width = knots[1] - knots[0]
        ramps = width * np.logaddexp(0.0, (u[:, None] - knots[None, :]) / width)  # s*softplus
        # Columns: offset, left ramp, soft clamps between knots, right ramp (see module docstring).
        left = (u - knots[0]) - ramps[:, 0]
        clamps = ramps[:, :-1] - ramps[:, 1:]
        right = ramps[:, -1]
        design = np.column_stack([np.ones_like(u), left, clamps, right])
        lower = np.r_[-np.inf, _MIN_EDGE_SLOPE, np.zeros(clamps.shape[1]), _MIN_EDGE_SLOPE]
        solution = lsq_linear(design, y, bounds=(lower, np.full_like(lower, np.inf)), method="bvls")
        offset, c_lo, c_mid, c_hi = solution.x[0], solution.x[1], solution.x[2:-1], solution.x[-1]
        slopes = np.r_[c_lo, c_mid, c_hi]
        as_t = lambda v: torch.as_tensor(np.asarray(v, dtype=np.float64))  # noqa: E731
        return cls(as_t(knots), as_t(width), as_t(offset), as_t(c_lo), as_t(np.diff(slopes)))

    def log_curve(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``h(u)`` and ``h'(u)`` at ``u = ln tau``."""
        z = (u.unsqueeze(-1) - self.knots) / self.width
        h = self.offset + self.slope_lo * (u - self.knots[0]) + self.width * (
            torch.nn.functional.softplus(z) @ self.slope_changes)
        dh = self.slope_lo + torch.sigmoid(z) @ self.slope_changes
        return h, dh

    def forward(self, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``theta(tau)`` and ``dtheta/dtau``."""
        h, dh = self.log_curve(torch.log(tau))
        theta = torch.exp(h)
        return theta, theta * dh / tau
