"""Calibration through the surrogate: model parameters that reproduce an implied-vol grid.

Levenberg–Marquardt (``scipy.optimize.least_squares(method="lm")``) on the weighted vol residuals
``sqrt(w) (f(p) - iv)`` of the float64 network ``f``, with its exact Jacobian by forward-mode
differentiation in torch (:mod:`ivfast.surrogate.jacobian`). Parameters stay inside the training
box through the logistic map ``p = lo + (hi - lo) / (1 + exp(-u))``, so LM runs unconstrained in
``u``; the start is the best of a fixed scrambled Sobol' set of candidates evaluated in one batch.
The result is re-priced with the C++ Fourier pricer to report the true fit error (the surrogate's
own error included).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike
from scipy.optimize import least_squares
from scipy.special import expit
from scipy.stats import qmc

from ..pricing import implied_vol_surface
from .jacobian import value_and_jacobian
from .model import Surrogate

__all__ = ["CalibrationResult", "calibrate"]


@dataclass(frozen=True)
class CalibrationResult:
    """Calibrated parameters and fit errors.

    Attributes
    ----------
    params : ndarray, shape (n_params,)
        Calibrated model parameters, in the surrogate's parameter order (``names``).
    names : list of str
        Parameter names (e.g. ``v0, kappa, theta, sigma, rho`` for Heston).
    success : bool
        Whether the optimiser met a convergence criterion.
    surrogate_rmse : float
        Weighted RMS vol error of the surrogate's grid at ``params`` against the target (vol units:
        0.01 is one vol point).
    true_rmse : float
        The same for the C++ pricer's grid at ``params`` (cells it cannot invert are left out);
        NaN without re-pricing.
    nfev : int
        Residual evaluations.
    seconds : float
        Wall time of the optimisation (start search + LM), without the re-pricing.
    message : str
        The optimiser's termination message.
    """

    params: np.ndarray
    names: list[str]
    success: bool
    surrogate_rmse: float
    true_rmse: float
    nfev: int
    seconds: float
    message: str

    def as_dict(self) -> dict[str, float]:
        """Return the parameters by name.

        Returns
        -------
        dict
            Parameter name -> calibrated value (e.g. for ``HestonParams(**result.as_dict())``).
        """
        return dict(zip(self.names, map(float, self.params)))


def _start_candidates(dim: int, n: int) -> np.ndarray:
    m = max(int(np.ceil(np.log2(max(n, 2)))), 1)
    return qmc.Sobol(dim, scramble=True, seed=12345).random_base2(m)[:n]


def _target(surrogate: Surrogate, iv_grid: ArrayLike, weights: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    shape = surrogate.net.grid_shape
    iv = np.asarray(iv_grid, dtype=np.float64)
    if iv.shape != shape:
        raise ValueError(f"iv_grid: expected shape {shape} (maturities x strikes of the surrogate), got {iv.shape}")
    w = np.ones(shape) if weights is None else np.broadcast_to(np.asarray(weights, dtype=np.float64), shape).copy()
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("weights: expected finite values >= 0 broadcastable to the grid")
    w = np.where(np.isfinite(iv), w, 0.0)  # missing cells do not count
    if not (w > 0).any():
        raise ValueError("iv_grid: no finite cell with positive weight")
    return np.nan_to_num(iv).ravel(), w.ravel()


def _weighted_rmse(model_iv: np.ndarray, target: np.ndarray, w: np.ndarray) -> float:
    ok = np.isfinite(model_iv) & (w > 0)
    if not ok.any():
        return float("nan")
    return float(np.sqrt(np.sum(w[ok] * (model_iv[ok] - target[ok]) ** 2) / np.sum(w[ok])))


def calibrate(surrogate: Surrogate, iv_grid: ArrayLike, weights: ArrayLike | None = None, *,
              x0: ArrayLike | None = None, n_starts: int = 256, reprice: bool = True, xtol: float = 1e-12,
              ftol: float = 1e-12, gtol: float = 1e-12, max_nfev: int = 400) -> CalibrationResult:
    """Find the parameters of ``surrogate``'s model that best reproduce ``iv_grid``.

    Parameters
    ----------
    surrogate : Surrogate
        A trained surrogate; the calibration stays inside its training box.
    iv_grid : array_like, shape (n_taus, n_strikes)
        Target annualised implied vols on the surrogate's grid (rows = maturities); NaN cells are
        ignored.
    weights : array_like, optional
        Non-negative weights per cell of the squared vol residuals (default 1), broadcast to the
        grid.
    x0 : array_like, shape (n_params,), optional
        Start (strictly inside the parameter box); default: the best of ``n_starts`` Sobol' points.
    n_starts : int, default 256
        Scrambled Sobol' candidates evaluated in one batch to pick the start when ``x0`` is None.
    reprice : bool, default True
        Re-price the result with the C++ pricer and report ``true_rmse``.
    xtol, ftol, gtol : float, default 1e-12
        Termination tolerances of ``scipy.optimize.least_squares`` (method ``"lm"``).
    max_nfev : int, default 400
        Largest number of residual evaluations.

    Returns
    -------
    CalibrationResult
        Parameters, fit errors, evaluation count and timing.

    Raises
    ------
    ValueError
        If ``iv_grid`` does not have the surrogate's grid shape, the weights are negative or not
        finite, no finite cell has positive weight, or ``x0`` is not strictly inside the box.
    """
    target, w = _target(surrogate, iv_grid, weights)
    sw = torch.as_tensor(np.sqrt(w))
    tgt = torch.as_tensor(target)
    lo_np, hi_np = surrogate.bounds
    lo, span = torch.as_tensor(lo_np), torch.as_tensor(hi_np - lo_np)
    net = surrogate.double_net()
    start = time.perf_counter()

    def residual(u: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return (sw * (net(lo + span * torch.sigmoid(torch.as_tensor(u))).reshape(-1) - tgt)).numpy()

    def jacobian(u: np.ndarray) -> np.ndarray:
        s = torch.sigmoid(torch.as_tensor(u))
        _, jac = value_and_jacobian(net, lo + span * s)
        return (sw[:, None] * jac * (span * s * (1.0 - s))[None, :]).numpy()

    if x0 is None:
        cand = lo_np + _start_candidates(lo_np.size, n_starts) * (hi_np - lo_np)
        with torch.no_grad():
            r = sw * (net(torch.as_tensor(cand)).reshape(len(cand), -1) - tgt)
        p0 = cand[int(torch.argmin(r.square().sum(dim=1)))]
    else:
        p0 = np.asarray(x0, dtype=np.float64)
        if p0.shape != lo_np.shape or not ((p0 > lo_np) & (p0 < hi_np)).all():
            raise ValueError(f"x0: expected {lo_np.size} values strictly inside the parameter box "
                             f"{dict(zip(surrogate.names, zip(lo_np, hi_np)))}, got {p0}")
    frac = np.clip((p0 - lo_np) / (hi_np - lo_np), 1e-9, 1 - 1e-9)
    fit = least_squares(residual, np.log(frac / (1 - frac)), jac=jacobian, method="lm", xtol=xtol, ftol=ftol,
                        gtol=gtol, max_nfev=max_nfev)
    params = lo_np + (hi_np - lo_np) * expit(fit.x)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        s_iv = net(torch.as_tensor(params)).reshape(-1).numpy()
    true_rmse = float("nan")
    if reprice:
        true_iv = implied_vol_surface(surrogate.params_class(*params), surrogate.strikes, surrogate.taus,
                                      rate=surrogate.rate, dividend=surrogate.dividend, threads=1)
        true_rmse = _weighted_rmse(np.asarray(true_iv).ravel(), target, w)
    return CalibrationResult(params=params, names=list(surrogate.names), success=bool(fit.success),
                             surrogate_rmse=_weighted_rmse(s_iv, target, w), true_rmse=true_rmse, nfev=int(fit.nfev),
                             seconds=seconds, message=str(fit.message))
