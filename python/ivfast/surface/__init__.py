"""Deep smoothing of the implied-volatility surface (Ackerer, Tagasovska & Vatter 2020).

Total implied variance ``w(k, tau) = w_SSVI(k, tau) * w_nn(k, tau)``: an SSVI prior on a fixed,
strictly increasing ATM curve, times a bounded neural-network correction, fitted to implied vols
with no-arbitrage penalties (calendar, butterfly, large-moneyness, ATM). Needs torch (and cvxpy
for the isotonic ATM fit): ``pip install ivfast[torch]``.

Design choices, and what each guarantees:

* published SSVI, reparameterised so that the prior alone satisfies Gatheral & Jacquier's
  sufficient no-arbitrage conditions for every value of its trainable parameters
  (:mod:`ivfast.surface.prior`);
* a shape-preserving ATM curve that cannot turn down, so SSVI's calendar condition (theta
  increasing in tau) holds by construction (:mod:`ivfast.surface.atm`);
* the Gatheral-Jacquier density factor ``g``, with the square on dw/dk, in the butterfly
  penalty (a penalty without the square is not the GJ condition);
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

``SmoothingConfig.target_loss`` defaults to the conventional stopping level, best loss <= 0.02,
of the reference deep-smoothing script (after Ackerer, Tagasovska & Vatter 2020; see
docs/references.md). The loss is RMSE + MAPE + penalties, so the quote RMSE it leaves depends on
the data; :data:`ivfast.datasets.ACKERER_FIT_TARGET_LOSS` is the tighter target at which fits of
the Ackerer et al. reference experiment have a quote RMSE below 0.5 vol points (measurements:
bench/README.md, "Deep smoothing").

Plots (matplotlib, PNG): :mod:`ivfast.surface.plots`.
"""

from __future__ import annotations

from .config import SmoothingConfig
from .fitted import FittedSurface
from .trainer import fit_surface

__all__ = ["SmoothingConfig", "FittedSurface", "fit_surface"]
