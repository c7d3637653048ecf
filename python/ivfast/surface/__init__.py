"""Deep smoothing of the implied-volatility surface (Ackerer, Tagasovska & Vatter 2020).

Total implied variance ``w(k, tau) = w_SSVI(k, tau) * w_nn(k, tau)``: an SSVI prior on a fixed,
strictly increasing ATM curve, times a bounded neural-network correction, fitted to implied vols
with no-arbitrage penalties (calendar, butterfly, large-moneyness, ATM). Needs torch (and cvxpy
for the isotonic ATM fit): ``pip install ivfast[torch]``.

Differences from the seed implementation, each closing a hole measured on its fits:

* published SSVI, reparameterised so that the prior alone satisfies Gatheral & Jacquier's
  sufficient no-arbitrage conditions (see :mod:`ivfast.surface.prior`);
* a shape-preserving ATM curve that cannot turn down (:mod:`ivfast.surface.atm`);
* the correct Gatheral-Jacquier ``g`` (the square on dw/dk) in the butterfly penalty;
* a bounded network scale; random collocation points every epoch on top of the fixed grid,
  adaptive points where a dense check grid finds violations, and wing points checked against
  Lee's bound, so the penalties see between grid points; training stops only when the best
  state also passes the dense check;
* the network's time input is ln(tau), with k / sqrt(tau) and asinh(k / (s sqrt(tau))) as extra
  inputs so that short-maturity smiles (a few hundredths wide in k) are resolvable;
* the prior starts from a quick L-BFGS SSVI fit and the network centred on 1, with its head
  scale sized to the data, so training starts from the prior instead of a random surface;
* the stopping check tests the calendar and butterfly conditions of the best state on a refined
  dense grid, and the fit's certificate (``FittedSurface.certificate``, ``info['arbitrage']``) is
  :func:`ivfast.arbitrage.check_surface` of the result.

The seed's stopping level, best loss <= 0.02, is ``SmoothingConfig.target_loss``'s default. On the
seed's Bates set it leaves a quote RMSE of 0.55-0.70 vol points (RMSE is about 0.3 x the loss there);
:data:`ivfast.datasets.ACKERER_FIT_TARGET_LOSS` (0.012) is the target at which it is below 0.5.

Plots (matplotlib, PNG): :mod:`ivfast.surface.plots`.
"""

from __future__ import annotations

from .config import SmoothingConfig
from .fitted import FittedSurface
from .trainer import fit_surface

__all__ = ["SmoothingConfig", "FittedSurface", "fit_surface"]
