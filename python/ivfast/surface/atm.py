"""The deep-smoothing prior's ATM curve theta(tau) as a torch module.

The curve and its fit are :class:`ivfast.svi.atm.SoftplusCurve` (positive, strictly increasing,
smooth; see :mod:`ivfast.svi.atm`); this module holds its parameters in float64 buffers, saved
with the model, and evaluates the same :func:`~ivfast.svi.atm.softplus_log_curve` on tensors.
"""

from __future__ import annotations

import numpy as np
import torch

from ..svi.atm import SoftplusCurve, fit_softplus_curve, softplus_log_curve

__all__ = ["MonotoneATMCurve"]


class MonotoneATMCurve(torch.nn.Module):
    """Fixed (non-trainable) positive, strictly increasing ATM total-variance curve theta(tau).

    Parameters
    ----------
    knots, width, offset, slope_lo, slope_changes : torch.Tensor
        The :class:`~ivfast.svi.atm.SoftplusCurve` fields as float64 tensors. Build one with
        :meth:`fit`, or :meth:`empty` before ``load_state_dict``.
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
        """Make a placeholder of the right shapes, to be filled by ``load_state_dict``.

        Parameters
        ----------
        n_knots : int
            Number of knots of the saved curve.

        Returns
        -------
        MonotoneATMCurve
        """
        z = torch.zeros((), dtype=torch.float64)
        return cls(torch.zeros(n_knots, dtype=torch.float64), z, z.clone(), z.clone(),
                   torch.zeros(n_knots, dtype=torch.float64))

    @classmethod
    def from_curve(cls, curve: SoftplusCurve) -> MonotoneATMCurve:
        """Wrap a fitted NumPy curve as a module.

        Parameters
        ----------
        curve : SoftplusCurve
            From :func:`ivfast.svi.atm.fit_softplus_curve`.

        Returns
        -------
        MonotoneATMCurve
        """
        def as_t(v: object) -> torch.Tensor:
            return torch.as_tensor(np.asarray(v, dtype=np.float64))

        return cls(as_t(curve.knots), as_t(curve.width), as_t(curve.offset), as_t(curve.slope_lo),
                   as_t(curve.slope_changes))

    @classmethod
    def fit(cls, taus: np.ndarray, theta: np.ndarray, max_knots: int = 6) -> MonotoneATMCurve:
        """Fit the curve to ATM total variances, through each when the knots allow (``interpolate=True``).

        Parameters
        ----------
        taus : ndarray
            Increasing maturities in years (> 0).
        theta : ndarray
            Non-decreasing positive ATM total variances at ``taus``.
        max_knots : int
            Most knots of the curve (see :func:`~ivfast.svi.atm.fit_softplus_curve`).

        Returns
        -------
        MonotoneATMCurve
        """
        return cls.from_curve(fit_softplus_curve(taus, theta, max_knots, interpolate=True))

    def log_curve(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Evaluate the log-curve ``h(u) = ln theta(e^u)`` and its slope ``h'(u)`` at ``u = ln tau``.

        Parameters
        ----------
        u : torch.Tensor
            Log maturities (tau in years).

        Returns
        -------
        tuple of 2 torch.Tensor
            ``h(u)`` and ``h'(u)``, of the shape of ``u``.
        """
        return softplus_log_curve(u, self.knots, self.width, self.offset, self.slope_lo, self.slope_changes)

    def forward(self, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Evaluate ``theta(tau)`` and ``dtheta/dtau``.

        Parameters
        ----------
        tau : torch.Tensor
            Year fractions (> 0).

        Returns
        -------
        tuple of 2 torch.Tensor
            ATM total variance ``theta`` and its derivative per year, of the shape of ``tau``.
        """
        h, dh = self.log_curve(torch.log(tau))
        theta = torch.exp(h)
        return theta, theta * dh / tau
