"""SSVI prior with the power-law phi, parameterised so that it is always free of static arbitrage.

SSVI (Gatheral & Jacquier 2014, "Arbitrage-free SVI volatility surfaces", Quant. Finance 14(1),
eq. 4.1), in its published form:

    w(k, tau) = theta/2 * (1 + rho*phi*k + sqrt((phi*k + rho)^2 + 1 - rho^2)),
    phi(theta) = eta * theta^(-gamma) * (1 + theta)^(gamma - 1),

with theta = theta(tau) the ATM total variance. (The seed's blog writes
``sqrt(phi*(k + rho)^2 + 1 - rho^2)``, which is not SSVI; its code uses the published form.)

Sufficient conditions used here (Gatheral & Jacquier 2014):

* Theorem 4.1 (no calendar spread arbitrage): theta non-decreasing in tau and
  ``0 <= d(theta*phi)/dtheta <= (1 + sqrt(1 - rho^2)) / rho^2 * phi``. For the power law
  ``theta*phi = eta * (theta/(1+theta))^(1-gamma)`` is increasing for gamma <= 1 and
  ``d(theta*phi)/dtheta = (1-gamma) * phi/(1+theta) <= phi``, below the bound since
  ``(1 + sqrt(1-rho^2))/rho^2 >= 1``.
* Theorem 4.2 (no butterfly arbitrage): ``theta*phi*(1 + |rho|) < 4`` and
  ``theta*phi^2*(1 + |rho|) <= 4`` for all theta > 0. For the power law
  ``theta*phi = eta * (theta/(1+theta))^(1-gamma) < eta``, so the first holds when
  ``eta*(1 + |rho|) <= 4``; ``theta*phi^2 = eta^2 * f(theta)`` with
  ``f = theta^(1-2 gamma) (1+theta)^(2 gamma-2)``, bounded on theta > 0 only for gamma <= 1/2,
  with supremum ``f* = (1-2 gamma)^(1-2 gamma) (2-2 gamma)^(2 gamma-2)`` (at theta = 1 - 2 gamma;
  f* = 1 at gamma = 1/2), so the second holds when ``eta^2 (1 + |rho|) f* <= 4``. (GJ's own
  corollary, ``eta*(1 + |rho|) <= 2`` with gamma in (0, 1/2], is the special case f* <= 1.)
* Large moneyness: the wings have slope ``theta*phi*(1 +- rho)/2 < eta*(1+|rho|)/2 <= 2``
  (Lee's moment bound).

The trainable raw parameters map onto that region for every real value:
``rho = tanh(r_rho)``, ``gamma = sigmoid(r_gamma)/2``,
``eta = sigmoid(r_eta) * min(4/(1+|rho|), 2/sqrt((1+|rho|) f*(gamma)))``. The ATM curve
theta(tau) is strictly increasing by construction (:mod:`ivfast.surface.atm`), so the prior on
its own satisfies all of the above.
"""

from __future__ import annotations

import math

import torch

__all__ = ["SSVIPrior", "PriorJet"]

PriorJet = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""``(w, dw/dk, d2w/dk2, dw/dtau)``."""

_DEFAULT_RHO, _DEFAULT_GAMMA, _DEFAULT_ETA = 0.0, 0.25, 1.0


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _eta_bound(abs_rho: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Largest eta meeting GJ Theorem 4.2 for the power law on all theta > 0 (module docstring)."""
    e = (1.0 - 2.0 * gamma).clamp_min(1e-12)  # gamma -> 1/2: 0^0 = 1, keep the gradient finite
    f_star = e.pow(e) * (2.0 - 2.0 * gamma).pow(-1.0 - e)  # (2-2g)^(2g-2) = (2-2g)^(-1-e)
    return torch.minimum(4.0 / (1.0 + abs_rho), 2.0 / torch.sqrt((1.0 + abs_rho) * f_star))


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
        """Set (rho, gamma, eta) strictly inside the region: |rho| < 1, 0 < gamma < 1/2, 0 < eta < eta_max."""
        eta_max = float(_eta_bound(torch.tensor(abs(rho), dtype=torch.float64), torch.tensor(gamma, dtype=torch.float64)))
        if not (abs(rho) < 1 and 0 < gamma < 0.5 and 0 < eta < eta_max):
            raise ValueError(f"SSVI parameters outside the arbitrage-free region: {rho=}, {gamma=}, {eta=} "
                             f"(eta must be below {eta_max:.6g})")
        with torch.no_grad():
            self.raw_rho.fill_(math.atanh(rho))
            self.raw_gamma.fill_(_logit(2.0 * gamma))
            self.raw_eta.fill_(_logit(eta / eta_max))

    def reset_parameters(self) -> None:
        """The seed's starting point (rho, gamma, eta) = (0, 0.25, 1)."""
        self.set_parameters(_DEFAULT_RHO, _DEFAULT_GAMMA, _DEFAULT_ETA)

    def constrained(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(rho, gamma, eta)`` as differentiable tensors."""
        rho = torch.tanh(self.raw_rho)
        gamma = 0.5 * torch.sigmoid(self.raw_gamma)
        eta = torch.sigmoid(self.raw_eta) * _eta_bound(rho.abs(), gamma)
        return rho, gamma, eta

    def values(self) -> dict[str, float]:
        """``{'rho', 'gamma', 'eta'}`` as Python floats."""
        with torch.no_grad():
            rho, gamma, eta = self.constrained()
        return {"rho": float(rho), "gamma": float(gamma), "eta": float(eta)}

    def forward(self, k: torch.Tensor, theta: torch.Tensor, dtheta: torch.Tensor) -> PriorJet:
        """SSVI total variance and its derivatives, given theta(tau) and dtheta/dtau at each point."""
        rho, gamma, eta = self.constrained()
        phi = eta * theta.pow(-gamma) * (1.0 + theta).pow(gamma - 1.0)
        dphi_dtheta = phi * ((gamma - 1.0) / (1.0 + theta) - gamma / theta)
        x = phi * k
        shifted = x + rho
        root = torch.sqrt(shifted * shifted + (1.0 - rho * rho))
        skew = rho + shifted / root  # d(rho*x + root)/dx
        w = 0.5 * theta * (1.0 + rho * x + root)
        w_k = 0.5 * theta * phi * skew
        w_kk = 0.5 * theta * phi * phi * (1.0 - rho * rho) / root.pow(3)
        dw_dtheta = w / theta + 0.5 * theta * k * dphi_dtheta * skew
        return w, w_k, w_kk, dw_dtheta * dtheta
