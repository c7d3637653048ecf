"""The pre-training corpus: synthetic surfaces made by ivfast itself, with quote patterns like real chains.

Nothing is downloaded. Model parameters are scrambled-Sobol' draws (``scipy.stats.qmc``):

* Heston and Bates surfaces priced with ivfast's Carr-Madan pricer and inverted with its implied
  vol solver (:func:`ivfast.implied_vol_surface`; out-of-the-money prices below the pricer's
  accuracy have no vol, so far wings go missing as in real chains);
* power-law SSVI surfaces inside the no-arbitrage set, on Heston-like ATM term structures.

Quote patterns: 5 to 40 expiries between two days and 2.5 years (log-uniform); per expiry 8 to 40
strikes over ``[-a, b] sigma sqrt(tau)`` with a long put wing (a in [2.5, 6], b in [1, 3]),
denser near the money; a relative bid-ask half-spread of 0.2-1 % of the vol widening in the
wings; observed vols are the model's plus noise of half the half-spread (the model vols are the
targets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import qmc

from ..models import BatesParams, HestonParams
from ..pricing import implied_vol_surface
from ..svi.ssvi import power_law_eta_max, power_law_phi, ssvi_total_variance

__all__ = ["SurfaceSample", "synthetic_corpus"]

MAX_POINTS = 400
"""Largest number of quotes kept per synthetic surface."""

_IV_RANGE = (0.01, 3.0)
# Sobol' ranges: v0, kappa, theta, sigma, rho, lam, beta, alpha (Bates; Heston uses the first five).
_LOW = np.array([0.005, 0.5, 0.005, 0.1, -0.95, 0.0, -0.25, 0.05])
_HIGH = np.array([0.25, 6.0, 0.20, 1.2, 0.0, 1.5, 0.05, 0.35])
# SSVI: rho, gamma, eta / eta_max, atm vol short, atm vol long, kappa
_SSVI_LOW = np.array([-0.95, 0.05, 0.15, 0.07, 0.08, 0.3])
_SSVI_HIGH = np.array([0.2, 0.5, 0.97, 0.6, 0.4, 6.0])


@dataclass(frozen=True)
class SurfaceSample:
    """One surface of quotes.

    Attributes
    ----------
    k, tau : ndarray
        Log-moneyness and years.
    iv : ndarray
        Observed (noisy) implied vols, the network's input.
    target : ndarray
        Vols to predict (the model's exact vols for synthetic surfaces, the mids for real chains).
    half_spread : ndarray
        Bid-ask half-width in vol.
    kind : str
        ``"heston"``, ``"bates"``, ``"ssvi"`` or the name of a real chain.
    """

    k: NDArray[np.float64]
    tau: NDArray[np.float64]
    iv: NDArray[np.float64]
    target: NDArray[np.float64]
    half_spread: NDArray[np.float64]
    kind: str


def _pattern(rng: np.random.Generator, vol: float) -> list[tuple[float, NDArray[np.float64]]]:
    """Expiries and their log-moneyness strikes (module docstring)."""
    n_exp = int(rng.integers(5, 41))
    days = np.unique(np.round(np.exp(rng.uniform(np.log(2.0), np.log(912.0), n_exp))))
    out = []
    for tau in days / 365.0:
        n = int(rng.integers(8, 41))
        u = np.sort(rng.uniform(-1.0, 1.0, n))
        width = vol * np.sqrt(tau)
        a, b = rng.uniform(2.5, 6.0), rng.uniform(1.0, 3.0)
        out.append((float(tau), np.where(u < 0, -a * width * np.abs(u) ** 1.5, b * width * np.abs(u) ** 1.5)))
    return out


def _model_vols(row: NDArray[np.float64], kind: str, tau: float, k: NDArray[np.float64]) -> NDArray[np.float64]:
    v0, kappa, theta, sigma, rho, lam, beta, alpha = row
    params = (HestonParams(v0, kappa, theta, sigma, rho) if kind == "heston"
              else BatesParams(v0, kappa, theta, sigma, rho, lam, beta, alpha))
    return implied_vol_surface(params, np.exp(k), [tau], threads=1)[0]


def _ssvi_vols(row: NDArray[np.float64], tau: float, k: NDArray[np.float64]) -> NDArray[np.float64]:
    rho, gamma, eta_share, short, long, kappa = row
    theta = long**2 * tau + (short**2 - long**2) * (1.0 - np.exp(-kappa * tau)) / kappa  # increasing in tau
    phi = power_law_phi(np.array(theta), eta_share * power_law_eta_max(rho, gamma), gamma)[0]
    return np.sqrt(ssvi_total_variance(k, theta, phi, rho) / tau)


def _one_surface(row: NDArray[np.float64], kind: str, rng: np.random.Generator) -> SurfaceSample | None:
    vol = float(np.sqrt(0.5 * (row[0] + row[2]))) if kind != "ssvi" else float(row[3])
    ks, taus, ivs = [], [], []
    for expiry, strikes in _pattern(rng, vol):
        vols = _ssvi_vols(row, expiry, strikes) if kind == "ssvi" else _model_vols(row, kind, expiry, strikes)
        keep = np.isfinite(vols) & (vols > _IV_RANGE[0]) & (vols < _IV_RANGE[1])
        if keep.sum() >= 3:
            ks.append(strikes[keep])
            taus.append(np.full(keep.sum(), expiry))
            ivs.append(vols[keep])
    if len(ks) < 2:
        return None
    k, tau, iv = np.concatenate(ks), np.concatenate(taus), np.concatenate(ivs)
    if k.size > MAX_POINTS:
        keep = np.sort(rng.choice(k.size, MAX_POINTS, replace=False))
        k, tau, iv = k[keep], tau[keep], iv[keep]
    typical = float(np.median(iv))
    half = iv * rng.uniform(0.002, 0.01) * (1.0 + 0.5 * np.abs(k) / (typical * np.sqrt(tau)))
    noisy = np.maximum(iv + 0.5 * half * rng.standard_normal(iv.size), 0.5 * iv)
    return SurfaceSample(k, tau, noisy, iv, half, kind)


def synthetic_corpus(n: int, seed: int = 0) -> list[SurfaceSample]:
    """Generate about ``n`` synthetic surfaces (40 % Heston, 30 % Bates, 30 % SSVI), reproducibly.

    Parameters
    ----------
    n : int
        Surfaces to draw (a few with fewer than two usable expiries are skipped).
    seed : int
        Seed of the Sobol' scrambling and the quote patterns.

    Returns
    -------
    list of SurfaceSample
    """
    counts = {"heston": int(0.4 * n), "bates": int(0.3 * n)}
    counts["ssvi"] = n - counts["heston"] - counts["bates"]
    out = []
    for j, (kind, count) in enumerate(counts.items()):
        if count <= 0:
            continue
        dim = 6 if kind == "ssvi" else 8
        sobol = qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng([seed, j]))
        draws = sobol.random_base2(int(np.ceil(np.log2(count))))[:count]
        low, high = (_SSVI_LOW, _SSVI_HIGH) if kind == "ssvi" else (_LOW, _HIGH)
        rows = qmc.scale(draws, low, high)
        for i, row in enumerate(rows):
            sample = _one_surface(row, kind, np.random.default_rng([seed, j, i]))
            if sample is not None:
                out.append(sample)
    return out
