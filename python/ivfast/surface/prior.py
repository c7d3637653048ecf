"""The deep-smoothing SSVI prior: power-law SSVI, parameterised to be free of static arbitrage.

The formulas are :mod:`ivfast.svi.ssvi`'s (published SSVI, Gatheral & Jacquier 2014, Definition
4.1, with the power-law phi); its docstring derives the no-arbitrage set
``|rho| < 1, 0 < gamma <= 1/2, 0 < eta <= eta_max(rho, gamma)`` (Theorems 4.1 and 4.2, and Lee's
wing bound). The trainable raw parameters map onto that set for every real value:
``rho = tanh(r_rho)``, ``gamma = sigmoid(r_gamma)/2``, ``eta = sigmoid(r_eta) * eta_max(rho, gamma)``.
The ATM curve theta(tau) is strictly increasing by construction (:mod:`ivfast.svi.atm`), so the
prior on its own satisfies all of the conditions.
"""

from __future__ import annotations

import math

import torch

from ..svi.ssvi import power_law_eta_max, power_law_from_raw, power_law_phi, ssvi_derivatives

__all__ = ["SSVIPrior", "PriorJet"]

PriorJet = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""``(w, dw/dk, d2w/dk2, dw/dtau)``."""

_DEFAULT_RHO, _DEFAULT_GAMMA, _DEFAULT_ETA = 0.0, 0.25, 1.0


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class SSVIPrior(torch.nn.Module):
    """Power-law SSVI on a fixed ATM curve, with arbitrage-free reparameterised (rho, gamma, eta)."""

    def __init__(self) -> None:
        super().__init__()
        f64 = torch.float64
        self.raw_rho = torch.nn.Parameter(torch.zeros((), dtype=f64))
        self.raw_gamma = torch.nn.Parameter(torch.zeros((), dtype=f64))
        self.raw_eta = torch.nn.Parameter(torch.zeros((), dtype=f64))
        self.set_parameters(_DEFAULT_RHO, _DEFAULT_GAMMA, _DEFAULT_ETA)

    def set_parameters(self, rho: float, gamma: float, eta: float) -> None:
        """Set (rho, gamma, eta) strictly inside the region: |rho| < 1, 0 < gamma < 1/2, 0 < eta < eta_max.

        Parameters
        ----------
        rho, gamma, eta : float
            Power-law SSVI parameters.

        Raises
        ------
        ValueError
            The parameters are not strictly inside the arbitrage-free region.
        """
        f64 = torch.float64
        eta_max = float(power_law_eta_max(torch.tensor(rho, dtype=f64), torch.tensor(gamma, dtype=f64)))
        if not (abs(rho) < 1 and 0 < gamma < 0.5 and 0 < eta < eta_max):
            raise ValueError(f"SSVI parameters outside the arbitrage-free region: {rho=}, {gamma=}, {eta=} "
                             f"(eta must be below {eta_max:.6g})")
        with torch.no_grad():
            self.raw_rho.fill_(math.atanh(rho))
            self.raw_gamma.fill_(_logit(2.0 * gamma))
            self.raw_eta.fill_(_logit(eta / eta_max))

    def reset_parameters(self) -> None:
        """Reset to the fixed starting point (rho, gamma, eta) = (0, 0.25, 1): no skew, mid-range gamma."""
        self.set_parameters(_DEFAULT_RHO, _DEFAULT_GAMMA, _DEFAULT_ETA)

    def constrained(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Map the raw parameters onto the arbitrage-free region.

        Returns
        -------
        tuple of 3 torch.Tensor
            ``(rho, gamma, eta)`` as differentiable scalars.
        """
        return power_law_from_raw(self.raw_rho, self.raw_gamma, self.raw_eta)

    def values(self) -> dict[str, float]:
        """Return the parameters as Python floats.

        Returns
        -------
        dict of str to float
            ``{'rho': ..., 'gamma': ..., 'eta': ...}``.
        """
        with torch.no_grad():
            rho, gamma, eta = self.constrained()
        return {"rho": float(rho), "gamma": float(gamma), "eta": float(eta)}

    def forward(self, k: torch.Tensor, theta: torch.Tensor, dtheta: torch.Tensor) -> PriorJet:
        """Evaluate the SSVI total variance and its derivatives.

        Parameters
        ----------
        k : torch.Tensor
            Log-moneyness ``ln(K/F)``.
        theta, dtheta : torch.Tensor
            ATM total variance theta(tau) and dtheta/dtau at each point.

        Returns
        -------
        PriorJet
            ``(w, dw/dk, d2w/dk2, dw/dtau)``.
        """
        rho, gamma, eta = self.constrained()
        phi, dphi_dtheta = power_law_phi(theta, eta, gamma)
        w, w_k, w_kk, dw_dtheta = ssvi_derivatives(k, theta, phi, dphi_dtheta, rho)
        return w, w_k, w_kk, dw_dtheta * dtheta
