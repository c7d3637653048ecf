"""Loss terms of the deep-smoothing fit (Ackerer, Tagasovska & Vatter 2020).

Their weights are :class:`~ivfast.surface.SmoothingConfig`'s ``lambda_*`` fields.

All functions take tensors and return a scalar tensor; the derivatives come from
:class:`ivfast.surface.model.SurfaceModel`.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "rmse",
    "mape",
    "bid_ask_bounds",
    "bid_ask_rmse",
    "bid_ask_mape",
    "calendar_penalty",
    "butterfly_penalty",
    "asym_penalty",
    "atm_penalty",
    "lee_penalty",
]


def _mean(x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return x.mean() if weights is None else (x * weights).sum() / weights.sum()


def rmse(model_iv: torch.Tensor, iv: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Root (weighted) mean squared implied-vol error.

    Parameters
    ----------
    model_iv, iv : torch.Tensor
        Model and quoted implied vols, one per quote (vol units: 0.01 is one vol point).
    weights : torch.Tensor, optional
        Non-negative quote weights (None: equal).

    Returns
    -------
    torch.Tensor
        Scalar, in vol units.
    """
    return torch.sqrt(_mean((model_iv - iv).square(), weights))


def mape(model_iv: torch.Tensor, iv: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """(Weighted) mean absolute relative implied-vol error.

    Parameters
    ----------
    model_iv, iv : torch.Tensor
        Model and quoted implied vols (> 0), one per quote.
    weights : torch.Tensor, optional
        Non-negative quote weights (None: equal).

    Returns
    -------
    torch.Tensor
        Scalar, dimensionless.
    """
    return _mean((model_iv - iv).abs() / iv, weights)


def bid_ask_bounds(iv: torch.Tensor, iv_bid: torch.Tensor, iv_ask: torch.Tensor,
                   margin: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-loss interval of :func:`bid_ask_rmse`: the bid-ask vol interval shrunk toward the mid.

    ``low = iv - (1 - margin)(iv - bid)`` and ``high = iv + (1 - margin)(ask - iv)``. A NaN bid vol
    (bid below the discounted intrinsic value: every vol prices above it) counts as 0, a NaN ask
    vol (ask at or above the no-arbitrage upper bound) as +inf, as in
    :func:`ivfast.workflow.inside_bid_ask`.

    Parameters
    ----------
    iv, iv_bid, iv_ask : torch.Tensor
        Mid, bid and ask implied vols, one per quote (``iv_bid <= iv <= iv_ask`` where finite).
    margin : float
        Share of each half-interval kept out of the zero-loss zone, in [0, 1] (1: the mid alone).

    Returns
    -------
    tuple of 2 torch.Tensor
        ``(low, high)``, with ``low <= iv <= high``.
    """
    bid = torch.nan_to_num(iv_bid, nan=0.0)
    ask = torch.nan_to_num(iv_ask, nan=math.inf)
    keep = 1.0 - margin
    low = torch.minimum(iv - keep * (iv - bid), iv)
    # keep * inf is inf for keep > 0; at keep = 0 the zone is the mid itself.
    high = torch.maximum(iv + keep * (ask - iv), iv) if keep > 0 else iv.clone()
    return low, high


def _outside(model_iv: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    return torch.relu(low - model_iv) + torch.relu(model_iv - high)


def bid_ask_rmse(model_iv: torch.Tensor, low: torch.Tensor, high: torch.Tensor,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """Root (weighted) mean square of the fitted vols' distance to their interval ``[low, high]``.

    Zero for a vol inside its interval, ``low - model_iv`` below, ``model_iv - high`` above. With
    :func:`bid_ask_mape` it replaces the paper's RMSE + MAPE of fit minus mid (Ackerer,
    Tagasovska & Vatter 2020): a quote only says that the price lies between bid and ask, so the
    mid loss pulls every fitted vol onto a point the market never quoted and spends the
    network's capacity on the mids' noise (half a spread), where this loss asks for what a
    trader checks, a fitted vol inside the quotes. For ``low == high == iv`` it is
    :func:`rmse` exactly; :func:`bid_ask_bounds` interpolates between the two.

    Parameters
    ----------
    model_iv : torch.Tensor
        Model implied vols, one per quote (vol units: 0.01 is one vol point).
    low, high : torch.Tensor
        The interval of each quote (:func:`bid_ask_bounds`; ``high`` may be +inf).
    weights : torch.Tensor, optional
        Non-negative quote weights (None: equal).

    Returns
    -------
    torch.Tensor
        Scalar, in vol units.
    """
    return torch.sqrt(_mean(_outside(model_iv, low, high).square(), weights))


def bid_ask_mape(model_iv: torch.Tensor, iv: torch.Tensor, low: torch.Tensor, high: torch.Tensor,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """(Weighted) mean of the distance to ``[low, high]`` relative to the mid vol.

    The interval counterpart of :func:`mape` (equal to it for ``low == high == iv``); see
    :func:`bid_ask_rmse`.

    Parameters
    ----------
    model_iv, iv : torch.Tensor
        Model and mid implied vols (> 0), one per quote.
    low, high : torch.Tensor
        The interval of each quote (:func:`bid_ask_bounds`).
    weights : torch.Tensor, optional
        Non-negative quote weights (None: equal).

    Returns
    -------
    torch.Tensor
        Scalar, dimensionless.
    """
    return _mean(_outside(model_iv, low, high) / iv, weights)


def calendar_penalty(w_tau: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """``mean relu(margin - dw/dtau)``: calendar-spread arbitrage where dw/dtau < 0.

    Parameters
    ----------
    w_tau : torch.Tensor
        dw/dtau (per year) at the collocation points.
    margin : float
        Penalise values below this, not only below 0.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return torch.relu(margin - w_tau).mean()


def butterfly_penalty(g: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """``mean relu(margin - g)``: butterfly arbitrage where g < 0.

    Parameters
    ----------
    g : torch.Tensor
        Gatheral-Jacquier density factor (:func:`ivfast.arbitrage.density.butterfly_g`) at the
        collocation points.
    margin : as in :func:`calendar_penalty`

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return torch.relu(margin - g).mean()


def asym_penalty(w_kk: torch.Tensor) -> torch.Tensor:
    """``mean |d2w/dk2|`` at large |k|: total variance should be linear in k in the wings.

    Parameters
    ----------
    w_kk : torch.Tensor
        d2w/dk2 at the large-moneyness points.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return w_kk.abs().mean()


def atm_penalty(w_nn: torch.Tensor) -> torch.Tensor:
    """``sqrt(mean (1 - w_nn)^2)`` at k = 0: the prior alone should carry the ATM term structure.

    Parameters
    ----------
    w_nn : torch.Tensor
        Network factor at the ATM points.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return torch.sqrt((1.0 - w_nn).square().mean())


def lee_penalty(k: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``mean relu(w/|k| - 2)``: Lee's moment formula bounds the wing slope of w by 2.

    Parameters
    ----------
    k : torch.Tensor
        Log-moneyness ``ln(K/F)`` of the wing points (non-zero).
    w : torch.Tensor
        Total variance there.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return torch.relu(w / k.abs() - 2.0).mean()
