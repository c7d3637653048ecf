"""A spline correction factor exp(h(k, tau)) on a total-variance surface, with derivatives.

``h`` is a cubic B-spline in scaled moneyness at each of a set of node maturities, blended
linearly in ``ln tau`` at fixed ``k`` between neighbouring nodes (constant in ``tau`` beyond the
first and the last node):

    h(k, tau) = (1 - f) h_j(k) + f h_(j+1)(k),   f = (ln tau - ln tau_j) / (ln tau_(j+1) - ln tau_j),
    h_j(k) = sum_m c_jm B((k / s_j - z_0) / dz - m),

with ``B`` the centred cardinal cubic B-spline (support [-2, 2]) and ``s_j`` a node's scale
(ATM vol times sqrt(tau_j)). Blending at fixed ``k`` makes ``dh/d ln tau`` constant inside an
interval, so the calendar condition of the corrected surface is linear in the coefficients
(:mod:`ivfast.completion.correction` relies on it). Beyond the first and the last spline the end
coefficients continue (the B-splines sum to 1), so ``h`` levels off smoothly at its end values
instead of returning to 0: a factor that had to fall back to 1 just past the quotes would bend
the surface hard there (a hump in the wing of a short expiry, and a butterfly violation between
constraint points, on SPY 2025-09-25).

Every point's value depends on at most 8 coefficients (4 splines at each of 2 nodes):
:meth:`SplineCorrection.stencil` gives them with their weights, which serve both the forward
pass and the sparse design matrix of the fit, so both evaluate the same function.
"""

from __future__ import annotations

import torch

from .network import Jet

__all__ = ["SplineCorrection", "Stencil", "cubic_bspline"]

Stencil = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""``(columns, value, d/dk, d2/dk2, d/d ln tau)``: shape (n, 8) each; ``h = sum(coef.flatten()[columns] * value)``."""


def cubic_bspline(d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The centred cardinal cubic B-spline and its first two derivatives at ``d``.

    Parameters
    ----------
    d : torch.Tensor
        Offsets from the spline's centre in knot spacings.

    Returns
    -------
    tuple of torch.Tensor
        ``B(d), B'(d), B''(d)`` (zero for ``|d| >= 2``).
    """
    a = d.abs()
    inner, outer = a < 1.0, a < 2.0
    zero = torch.zeros_like(d)
    r = 2.0 - a
    value = torch.where(inner, (4.0 - 6.0 * a * a + 3.0 * a ** 3) / 6.0, torch.where(outer, r ** 3 / 6.0, zero))
    first = torch.where(inner, -2.0 * d + 1.5 * d * a, torch.where(outer, -torch.sign(d) * r * r / 2.0, zero))
    second = torch.where(inner, -2.0 + 3.0 * a, torch.where(outer, r, zero))
    return value, first, second


class SplineCorrection(torch.nn.Module):
    """Multiplicative factor ``exp(h(k, tau))`` (module docstring), evaluated with its jet.

    Parameters
    ----------
    tau_nodes : torch.Tensor, shape (N,)
        Strictly increasing node maturities in years.
    node_scale : torch.Tensor, shape (N,)
        Each node's moneyness scale s_j (> 0).
    z_first : float
        Centre of the first spline in units of ``k / s_j``.
    dz : float
        Spline spacing in the same units (> 0).
    coef : torch.Tensor, shape (N, M)
        Coefficients c_jm (buffers: the correction is fitted by least squares, not trained).
    """

    log_tau: torch.Tensor
    node_scale: torch.Tensor
    z_first: torch.Tensor
    dz: torch.Tensor
    coef: torch.Tensor

    def __init__(self, tau_nodes: torch.Tensor, node_scale: torch.Tensor, z_first: float, dz: float,
                 coef: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("log_tau", torch.log(tau_nodes.to(torch.float64)))
        self.register_buffer("node_scale", node_scale.to(torch.float64))
        self.register_buffer("z_first", torch.tensor(float(z_first), dtype=torch.float64))
        self.register_buffer("dz", torch.tensor(float(dz), dtype=torch.float64))
        self.register_buffer("coef", coef.to(torch.float64))
        self.n_nodes, self.n_splines = (int(n) for n in coef.shape)  # static structure for tracing

    @classmethod
    def empty(cls, n_nodes: int, n_splines: int) -> SplineCorrection:
        """A zero correction of the given shape (to load a saved state into)."""
        ones = torch.ones(n_nodes, dtype=torch.float64)
        return cls(torch.cumsum(ones, 0), ones, 0.0, 1.0, torch.zeros(n_nodes, n_splines, dtype=torch.float64))

    def stencil(self, k: torch.Tensor, tau: torch.Tensor) -> Stencil:
        """The coefficients each point depends on and their weights.

        Parameters
        ----------
        k, tau : torch.Tensor, shape (n,)
            Log-moneyness and years (> 0).

        Returns
        -------
        Stencil
            Columns into ``coef.flatten()`` (splines beyond the ends take the end column) and the weights
            of ``h``, ``dh/dk``, ``d2h/dk2`` and ``dh/d ln tau``.
        """
        n_nodes, n_splines = self.n_nodes, self.n_splines
        u = torch.log(tau)
        if n_nodes == 1:
            lower = torch.zeros_like(u, dtype=torch.long)
            nodes = torch.stack([lower, lower], -1)
            blend = torch.stack([torch.ones_like(u), torch.zeros_like(u)], -1)
            blend_u = torch.zeros_like(blend)
        else:
            lower = torch.clamp(torch.searchsorted(self.log_tau, u.contiguous()) - 1, 0, n_nodes - 2)
            u_lo = self.log_tau[lower]
            width = self.log_tau[lower + 1] - u_lo
            f = torch.clamp((u - u_lo) / width, 0.0, 1.0)
            inside = (u > self.log_tau[0]) & (u < self.log_tau[-1])
            f_u = torch.where(inside, 1.0 / width, torch.zeros_like(width))
            nodes = torch.stack([lower, lower + 1], -1)
            blend = torch.stack([1.0 - f, f], -1)
            blend_u = torch.stack([-f_u, f_u], -1)
        scale = self.node_scale[nodes]  # (n, 2)
        x = ((k[:, None] / scale - self.z_first) / self.dz)[..., None]  # (n, 2, 1)
        first = torch.floor(x) - 1.0
        offsets = torch.arange(4, dtype=x.dtype, device=x.device)
        m = first + offsets  # the 4 splines whose support holds x
        value, d1, d2 = cubic_bspline(x - m)
        columns = nodes[..., None] * n_splines + torch.clamp(m, 0, n_splines - 1).long()
        step = (self.dz * scale)[..., None]
        weight = blend[..., None].expand_as(value)
        out = (value * weight, d1 * weight / step, d2 * weight / (step * step), value * blend_u[..., None])
        flat = lambda t: t.reshape(-1, 8)  # noqa: E731
        return flat(columns), flat(out[0]), flat(out[1]), flat(out[2]), flat(out[3])

    def forward(self, k: torch.Tensor, tau: torch.Tensor, n_jet: int | None = None) -> Jet:
        """Evaluate ``exp(h)`` and its derivatives at flat tensors ``k``, ``tau``.

        Parameters
        ----------
        k, tau : torch.Tensor, shape (n,)
            Log-moneyness and years (> 0).
        n_jet : int, optional
            The derivatives cover the first ``n_jet`` points (default all).

        Returns
        -------
        Jet
            ``(v, dv/dk, d2v/dk2, dv/dtau)``: ``v`` at all points, the derivatives at the first ``n_jet``.
        """
        n = k.shape[0] if n_jet is None else n_jet
        columns, value, d_k, d_kk, d_u = self.stencil(k, tau)
        c = self.coef.to(k.dtype).reshape(-1)[columns]
        v = torch.exp((c * value).sum(-1))
        c, v_n = c[:n], v[:n]
        h_k = (c * d_k[:n]).sum(-1)
        return (v, v_n * h_k, v_n * ((c * d_kk[:n]).sum(-1) + h_k * h_k), v_n * (c * d_u[:n]).sum(-1) / tau[:n])
