"""The starting point of a deep-smoothing fit: ATM curve, SSVI prior fitted alone, network.

The ATM curve is fitted once to the quotes' ATM total variances (isotonic, then the softplus
curve of :mod:`ivfast.svi.atm`) and stays fixed; the SSVI prior starts from an L-BFGS fit of its
three parameters alone, so the network only learns a correction; the network's inputs are
standardised with their mean and deviation over the quotes.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ..svi.atm import atm_total_variances, isotonic_fit
from . import losses
from .atm import MonotoneATMCurve
from .config import SmoothingConfig
from .fitted import FittedSurface
from .inputs import Quotes
from .model import SurfaceModel
from .network import CorrectionNetwork, input_values
from .prior import SSVIPrior

__all__ = ["fit_atm_curve", "fit_prior", "build_model", "start_network"]


def fit_atm_curve(quotes: Quotes, max_knots: int = 6) -> MonotoneATMCurve:
    """Fit the fixed ATM curve: ATM total variance per maturity -> isotonic least squares -> softplus curve.

    Parameters
    ----------
    quotes : Quotes
        The validated quotes.
    max_knots : int
        Most knots of the curve (``SmoothingConfig.atm_knots``).

    Returns
    -------
    MonotoneATMCurve
    """
    taus, theta = atm_total_variances(quotes.k, quotes.tau, quotes.iv**2 * quotes.tau)
    theta = np.maximum(isotonic_fit(theta), np.finfo(float).tiny)
    return MonotoneATMCurve.fit(taus, theta, max_knots)


def fit_prior(prior: SSVIPrior, atm: MonotoneATMCurve, k: torch.Tensor, tau: torch.Tensor, iv: torch.Tensor,
              weights: torch.Tensor | None, iterations: int) -> None:
    """Fit (rho, gamma, eta) of the prior alone to the quotes by L-BFGS on RMSE + MAPE, in place.

    A non-finite result is rolled back to the starting values.

    Parameters
    ----------
    prior : SSVIPrior
        Changed in place.
    atm : MonotoneATMCurve
        The fixed ATM curve.
    k, tau, iv : torch.Tensor
        The quotes: log-moneyness ``ln(K/F)``, years to expiry, Black implied vols.
    weights : torch.Tensor, optional
        Quote weights in RMSE and MAPE (None: equal).
    iterations : int
        L-BFGS iterations (<= 0: no fit).
    """
    if iterations <= 0:
        return
    theta, dtheta = atm(tau)
    optimiser = torch.optim.LBFGS(prior.parameters(), lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        w = prior(k, theta, dtheta)[0]
        model_iv = torch.sqrt(w / tau)
        loss = losses.rmse(model_iv, iv, weights) + losses.mape(model_iv, iv, weights)
        loss.backward()
        return loss

    before = [p.detach().clone() for p in prior.parameters()]
    optimiser.step(closure)
    if not all(torch.isfinite(p).all() for p in prior.parameters()):
        with torch.no_grad():
            for p, b in zip(prior.parameters(), before):
                p.copy_(b)


_HEAD_HEADROOM = 0.6
"""The start puts the largest quoted/prior ratio at tanh(z) = 0.6, where the head's slope
1 - tanh^2 is still 0.64 of its peak, so the network can fit it without saturating."""


def start_network(model: SurfaceModel, k: torch.Tensor, tau: torch.Tensor, iv: torch.Tensor,
                   config: SmoothingConfig) -> None:
    """Centre the network on 1 at the quotes when ``config.identity_start`` is set (else no-op).

    The surface then starts as the fitted prior, with the head scale sized to the largest ratio
    of quoted to prior total variance.

    Parameters
    ----------
    model : SurfaceModel
        The model, its ATM curve and prior already fitted; changed in place.
    k, tau, iv : torch.Tensor
        The quotes: log-moneyness ``ln(K/F)``, years to expiry, Black implied vols.
    config : SmoothingConfig
        Reads ``identity_start`` and ``max_output_scale``.
    """
    if model.network is None or not config.identity_start:
        return
    with torch.no_grad():
        base = model.prior(k, *model.atm(tau))[0]
        if model.correction is not None:
            base = base * model.correction(k, tau, 0)[0]
        ratio = float((iv.square() * tau / base).max())
    # At least 1 (the random start's scale); at most half the cap, where the sigmoid of the scale's
    # parameterisation is steepest, so the scale can still move both ways.
    scale = min(max(ratio / (1.0 + _HEAD_HEADROOM), 1.0), 0.5 * config.max_output_scale)
    model.network.start_at_one(scale, k, tau)


def _moneyness_vol(atm: MonotoneATMCurve, quotes: Quotes) -> float:
    """Median ATM volatility sqrt(theta(tau)/tau) over the quotes' maturities.

    It is the typical width (times sqrt(tau)) of a smile near the money, which scales the
    network's moneyness input.
    """
    taus = torch.as_tensor(np.unique(quotes.tau))
    with torch.no_grad():
        return float(torch.sqrt(atm(taus)[0] / taus).median())


def _input_standardisation(quotes: Quotes, config: SmoothingConfig, moneyness_vol: float
                           ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and standard deviation over the quotes of each network input."""
    inputs = input_values(quotes.k, quotes.tau, config.moneyness_inputs, moneyness_vol, config.log_tau_input)
    if not config.standardise_inputs:
        return (0.0,) * len(inputs), (1.0,) * len(inputs)
    # The floor keeps a degenerate input (one maturity, one strike) from dividing by zero.
    return tuple(float(x.mean()) for x in inputs), tuple(max(float(x.std()), 1e-3) for x in inputs)


def build_model(quotes: Quotes, config: SmoothingConfig, init: FittedSurface | None,
                 generator: torch.Generator) -> SurfaceModel:
    """Build the model of a fit: ATM curve fitted to the quotes, default prior, new network.

    Parameters
    ----------
    quotes : Quotes
        The validated quotes.
    config : SmoothingConfig
        Network shape, inputs and their standardisation.
    init : FittedSurface, optional
        Warm start: copy its prior parameters and network weights (the ATM curve stays the one
        fitted to ``quotes``). A surface without a network (such as a
        :class:`ivfast.completion.CompletedSurface`) gives the prior, and, when it was made from
        these same quotes, its ATM curve and its spline factor (fixed during training: the
        network learns what the factor leaves); the network then starts centred on 1
        (:func:`start_network`), so training starts from that surface.
    generator : torch.Generator
        Random source of the network's initial weights.

    Returns
    -------
    SurfaceModel
        On the CPU, float64.

    Raises
    ------
    ValueError
        ``init`` is not a FittedSurface, or its network's shapes differ from ``config``'s.
    """
    atm = fit_atm_curve(quotes, config.atm_knots)
    prior = SSVIPrior()
    network = None
    if config.use_network:
        vol = _moneyness_vol(atm, quotes)
        mean, scale = _input_standardisation(quotes, config, vol)
        network = CorrectionNetwork(config.hidden_layers, config.activation, config.max_output_scale,
                                    mean, scale, config.log_tau_input, generator=generator,
                                    moneyness=config.moneyness_inputs, moneyness_vol=vol)
    model = SurfaceModel(atm, prior, network)
    if init is not None:
        _warm_start(model, init)
        if init.model.network is None and same_quotes(init.quotes, quotes):
            # The prior was fitted on this curve, and the spline factor to these quotes.
            model.atm = copy.deepcopy(init.model.atm)
            model.correction = copy.deepcopy(init.model.correction)
        if network is not None and init.model.network is None:
            as_t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731 - copies read-only views
            start_network(model, as_t(quotes.k), as_t(quotes.tau), as_t(quotes.iv), config)
    return model


def same_quotes(a: Quotes, b: Quotes) -> bool:
    """Whether two sets of quotes have the same k, tau and iv."""
    return all(np.array_equal(x, y) for x, y in ((a.k, b.k), (a.tau, b.tau), (a.iv, b.iv)))


def _warm_start(model: SurfaceModel, init: FittedSurface) -> None:
    """Copy the prior parameters and any network weights (with its input standardisation) of ``init``."""
    if not isinstance(init, FittedSurface):
        raise ValueError(f"init: expected a FittedSurface, got {type(init).__name__}")
    source = init.model
    model.prior.load_state_dict(source.prior.state_dict())
    if model.network is not None and source.network is not None:
        try:
            model.network.load_state_dict(source.network.state_dict())
        except RuntimeError as exc:
            raise ValueError(f"init: network shapes differ from config.hidden_layers ({exc})") from None
