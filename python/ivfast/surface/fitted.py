"""A fitted deep-smoothing surface: evaluation, call prices, diagnostics, save/load."""

from __future__ import annotations

import json
import math
import os
import pathlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike, NDArray

from .._arrays import as_float_array, broadcast_flat
from ..arbitrage.density import butterfly_g
from .atm import MonotoneATMCurve
from .config import SmoothingConfig
from .inputs import Quotes
from .model import SurfaceModel
from .correction import SplineCorrection
from .network import CorrectionNetwork
from .prior import SSVIPrior

if TYPE_CHECKING:
    from ..arbitrage import ArbitrageReport

__all__ = ["FittedSurface"]

_FORMAT = "ivfast.deep_smoothing/1"


class FittedSurface:
    """Total implied variance ``w(k, tau) = w_SSVI(k, tau) * w_nn(k, tau)`` from :func:`ivfast.fit_surface`.

    Conventions: ``k = ln(K/F)`` against the forward, ``tau`` in years, ``w = sigma^2 * tau``.
    Implements :class:`ivfast.protocols.DifferentiableSurface`. Evaluation methods broadcast
    ``k`` and ``tau`` NumPy-style and return float64 arrays of the broadcast shape; points with
    ``tau <= 0`` or non-finite inputs evaluate to NaN. Built by :func:`ivfast.fit_surface` and
    :meth:`load`, not by hand.

    Attributes
    ----------
    model : SurfaceModel
        The torch module (CPU, float64, eval mode).
    config : SmoothingConfig
        The settings it was fitted with.
    history : pandas.DataFrame
        Loss columns every ``config.log_every`` epochs: epoch, total_epoch, best_loss, loss,
        rmse, mape, calendar, butterfly, asym, atm, lee, lr, and seconds since the fit began.
    quotes : Quotes
        The (clean) quotes it was fitted to.
    info : dict
        best_loss, epochs, stop_reason ('target', 'max_epochs', 'time_limit', 'interrupted',
        'callback', 'nan'), seconds, seed, device, warm_start, rejected_by_check (best states the
        stopping check turned down), returned_checked_state (stopped before the target with a best
        state that failed the check: the best state the periodic check had passed is returned),
        inside_bid_ask and worst_maturity_inside (of the returned state on the loss's quotes; None
        without bid-ask vols) and arbitrage: the certificate's digest (ok, counts, worst, grid,
        tol, notes).
    certificate : ArbitrageReport or None
        The :func:`ivfast.arbitrage.check_surface` report of the fitted state on the trainer's
        refined check grid over the collocation domain (None for a loaded surface; the digest
        in ``info['arbitrage']`` is saved).
    """

    def __init__(self, model: SurfaceModel, config: SmoothingConfig, history: pd.DataFrame, quotes: Quotes,
                 info: dict[str, Any], certificate: ArbitrageReport | None = None) -> None:
        self.model = model
        self.config = config
        self.history = history
        self.quotes = quotes
        self.info = info
        self.certificate = certificate

    def __repr__(self) -> str:
        rho, gamma, eta = self.prior_parameters().values()
        return (f"FittedSurface(best_loss={self.info.get('best_loss', float('nan')):.4g}, "
                f"epochs={self.info.get('epochs')}, rho={rho:.4f}, gamma={gamma:.4f}, eta={eta:.4f})")

    def first_reached(self, loss: float) -> tuple[int, float] | None:
        """Find when the best loss first reached a level.

        Resolution: ``config.log_every`` epochs. Reads off, from a fit run to a tighter target,
        when it passed a looser one such as the conventional stopping level 0.02.

        Parameters
        ----------
        loss : float
            The loss level.

        Returns
        -------
        tuple of (int, float) or None
            ``(total_epoch, seconds)`` of the first history row whose best loss is ``<= loss``
            (seconds since the fit began); None if no row is, or the history has no timings.

        Raises
        ------
        ValueError
            ``loss`` is not a number.
        """
        try:
            loss = float(loss)
        except (TypeError, ValueError):
            raise ValueError(f"loss: expected a number, got {loss!r}") from None
        if math.isnan(loss):
            raise ValueError("loss: expected a number, got NaN")
        if "seconds" not in self.history.columns:  # a saved history without timings
            return None
        hits = self.history[self.history["best_loss"] <= loss]
        if hits.empty:
            return None
        return int(hits["total_epoch"].iloc[0]), float(hits["seconds"].iloc[0])

    # --- evaluation -----------------------------------------------------------------------
    def _evaluate(self, k: ArrayLike, tau: ArrayLike) -> tuple[tuple[int, ...], list[NDArray[np.float64]]]:
        shape, flat = broadcast_flat({"k": as_float_array(k, "k"), "tau": as_float_array(tau, "tau")})
        n = max(flat["k"].size, flat["tau"].size)
        k_flat = np.broadcast_to(flat["k"], (n,))
        tau_flat = np.broadcast_to(flat["tau"], (n,))
        valid = np.isfinite(k_flat) & np.isfinite(tau_flat) & (tau_flat > 0)
        out = [np.full(n, np.nan) for _ in range(5)]
        if valid.any():
            # The model stays where it was trained while the trainer checks it (CPU or CUDA).
            device = self.model.prior.raw_rho.device
            with torch.no_grad():
                jet = self.model(torch.tensor(k_flat[valid], device=device),
                                 torch.tensor(tau_flat[valid], device=device))
            for dst, src in zip(out, jet):
                dst[valid] = src.cpu().numpy()
        return shape, out

    def total_variance(self, k: ArrayLike, tau: ArrayLike) -> NDArray[np.float64]:
        """Evaluate the total implied variance ``w(k, tau) = sigma^2 tau`` (dimensionless).

        Parameters
        ----------
        k : array_like
            Log-moneyness ``ln(K/F)``.
        tau : array_like
            Years to expiry, broadcast against ``k``.

        Returns
        -------
        w : ndarray
            Of the broadcast shape (NaN where ``tau <= 0`` or an input is not finite).
        """
        shape, (w, *_) = self._evaluate(k, tau)
        return w.reshape(shape)

    def implied_vol(self, k: ArrayLike, tau: ArrayLike) -> NDArray[np.float64]:
        """Evaluate the Black implied volatility ``sqrt(w / tau)``.

        Parameters
        ----------
        k, tau : as in :meth:`FittedSurface.total_variance`

        Returns
        -------
        vol : ndarray
            Annualised vol (0.2 is 20 %) of the broadcast shape (NaN where ``tau <= 0`` or an
            input is not finite).
        """
        shape, (w, *_) = self._evaluate(k, tau)
        tau_b = np.broadcast_to(as_float_array(tau, "tau"), shape).reshape(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(w / tau_b).reshape(shape)

    def total_variance_derivatives(self, k: ArrayLike, tau: ArrayLike) -> tuple[
            NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Evaluate the total variance and its exact derivatives (propagated through the network).

        Parameters
        ----------
        k, tau : as in :meth:`FittedSurface.total_variance`

        Returns
        -------
        tuple of 4 ndarray
            ``(w, dw/dk, d2w/dk2, dw/dtau)``, each of the broadcast shape (``dw/dtau`` per year).
        """
        shape, (w, w_k, w_kk, w_t, _) = self._evaluate(k, tau)
        return w.reshape(shape), w_k.reshape(shape), w_kk.reshape(shape), w_t.reshape(shape)

    def network_factor(self, k: ArrayLike, tau: ArrayLike) -> NDArray[np.float64]:
        """Evaluate the network's multiplicative correction ``w_nn(k, tau) = w / w_SSVI``.

        Parameters
        ----------
        k, tau : as in :meth:`FittedSurface.total_variance`

        Returns
        -------
        w_nn : ndarray
            Of the broadcast shape (1 for a prior-only fit).
        """
        shape, out = self._evaluate(k, tau)
        return out[4].reshape(shape)

    def call_price(self, strike: ArrayLike, tau: ArrayLike, forward: ArrayLike,
                   discount: ArrayLike = 1.0) -> NDArray[np.float64]:
        """Price calls with the surface's vols: ``D * Black76(F, K, tau, sigma(ln(K/F), tau))``.

        Parameters
        ----------
        strike, forward : array_like
            Strike and forward to expiry in the same price units (> 0).
        tau : array_like
            Years to expiry (> 0).
        discount : array_like
            Discount factor to the payment date (default 1: undiscounted prices).

        Returns
        -------
        ndarray
            Discounted call prices in the price units of ``forward``, of the broadcast shape.
        """
        from ..black import black_price

        strike = as_float_array(strike, "strike")
        forward = as_float_array(forward, "forward")
        with np.errstate(invalid="ignore", divide="ignore"):
            k = np.log(strike / forward)
        vol = self.implied_vol(k, tau)
        return np.asarray(black_price(forward, strike, tau, vol, discount=discount))

    # --- diagnostics ----------------------------------------------------------------------
    def prior_parameters(self) -> dict[str, float]:
        """Return the SSVI prior's parameters.

        Returns
        -------
        dict of str to float
            ``rho``, ``gamma`` and ``eta`` of the power-law SSVI prior (within the
            arbitrage-free region by construction).
        """
        return self.model.prior.values()

    def output_scale(self) -> float:
        """Return the network head scale ``a`` of ``w_nn = a (1 + tanh(z))``.

        Returns
        -------
        float
            ``a``, below ``config.max_output_scale``; 1 without a network.
        """
        if self.model.network is None:
            return 1.0
        with torch.no_grad():
            return float(self.model.network.output_scale())

    def arbitrage_diagnostics(self, k: ArrayLike, tau: ArrayLike, tol: float = 1e-8) -> dict[str, float]:
        """Summarise the calendar and butterfly conditions at the broadcast points of (k, tau).

        For the located, sized violations use :func:`ivfast.arbitrage.check_surface`.

        Parameters
        ----------
        k, tau
            As in :meth:`FittedSurface.total_variance` (e.g. ``k[:, None]`` and ``tau[None, :]`` for a grid).
        tol : float
            Values of ``dw/dtau`` or ``g`` below ``-tol`` count as violations.

        Returns
        -------
        dict of str to float
            ``min_dw_dtau`` and ``min_g`` (Gatheral-Jacquier's density factor), the fractions
            ``calendar_violations`` and ``butterfly_violations`` of points below ``-tol``, and
            ``max_w_over_abs_k`` (Lee's moment bound is 2).
        """
        w, w_k, w_kk, w_t = self.total_variance_derivatives(k, tau)
        k_b = np.broadcast_to(as_float_array(k, "k"), w.shape)
        # torch.tensor copies: the inputs may be read-only broadcast views.
        g = butterfly_g(*(torch.tensor(a) for a in (w, w_k, w_kk, k_b)))
        g = g.numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            lee = np.where(k_b != 0, w / np.abs(k_b), np.nan)
        return {
            "min_dw_dtau": float(np.nanmin(w_t)),
            "min_g": float(np.nanmin(g)),
            "calendar_violations": float(np.mean(w_t < -tol)),
            "butterfly_violations": float(np.mean(g < -tol)),
            "max_w_over_abs_k": float(np.nanmax(lee)),
        }

    def export(self, path: str | os.PathLike[str], format: str = "torchscript", dtype: torch.dtype = torch.float64,
               device: str | torch.device = "cpu") -> pathlib.Path:
        """Write a self-contained inference file (TorchScript or AOTInductor .pt2) that needs only torch.

        Load it with :func:`ivfast.load_exported`.

        Parameters
        ----------
        path, format, dtype, device : as in :func:`ivfast.export.export_surface`

        Returns
        -------
        pathlib.Path
            The file written by :func:`ivfast.export.export_surface`.

        Raises
        ------
        ValueError
            As for :func:`ivfast.export.export_surface` (``surface`` is this fit).
        """
        from ..export.write import export_surface

        return export_surface(self, path, format=format, dtype=dtype, device=device)

    # --- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write weights, ATM curve, config, history and quotes with ``torch.save`` (tensors only).

        The certificate itself is not saved; its digest in ``info['arbitrage']`` is.

        Parameters
        ----------
        path : str or os.PathLike
            Output file, conventionally ``.pt``; read it back with :meth:`load`.
        """
        q = self.quotes
        payload = {
            "format": _FORMAT,
            "config": self.config.to_json(),
            "info": json.dumps(self.info),
            "state": {name: t.detach().clone() for name, t in self.model.state_dict().items()},
            "history_columns": list(self.history.columns),
            # torch.tensor copies (pandas >= 3 hands out read-only arrays, which as_tensor warns about).
            "history": torch.tensor(self.history.to_numpy(dtype=np.float64)),
            "quotes": torch.tensor(np.column_stack([q.k, q.tau, q.iv])),
            "weights": None if q.weights is None else torch.tensor(q.weights),
        }
        torch.save(payload, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FittedSurface:
        """Read a file written by :meth:`save` (``torch.load(weights_only=True)``: no code is unpickled).

        Parameters
        ----------
        path : str or os.PathLike
            A file written by :meth:`save`.

        Returns
        -------
        FittedSurface
            The surface on the CPU in eval mode, with ``certificate`` None.

        Raises
        ------
        ValueError
            A torch file that is not an ivfast deep-smoothing file (a missing file or one that
            is not a torch archive raises ``torch.load``'s own errors).
        """
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError(f"path: {os.fspath(path)!r} is not an ivfast deep-smoothing file ({_FORMAT})")
        config = SmoothingConfig.from_json(payload["config"])
        state = payload["state"]
        network = None
        # A fit may return its network-free certified start (:mod:`ivfast.surface.start_result`).
        if config.use_network and any(name.startswith("network.") for name in state):
            n_inputs = 2 + len(config.moneyness_inputs)  # buffers (standardisation) are loaded below
            network = CorrectionNetwork(config.hidden_layers, config.activation, config.max_output_scale,
                                        (0.0,) * n_inputs, (1.0,) * n_inputs, log_tau_input=config.log_tau_input,
                                        moneyness=config.moneyness_inputs)
        correction = None
        if "correction.coef" in state:  # a completed surface with its fitted spline factor
            correction = SplineCorrection.empty(*state["correction.coef"].shape)
        model = SurfaceModel(MonotoneATMCurve.empty(state["atm.knots"].numel()), SSVIPrior(), network, correction)
        model.load_state_dict(state)
        quotes_array = payload["quotes"].numpy()
        weights = payload["weights"]
        quotes = Quotes(quotes_array[:, 0].copy(), quotes_array[:, 1].copy(), quotes_array[:, 2].copy(),
                        None if weights is None else weights.numpy())
        history = pd.DataFrame(payload["history"].numpy(), columns=payload["history_columns"])
        return cls(model.eval(), config, history, quotes, json.loads(payload["info"]))
