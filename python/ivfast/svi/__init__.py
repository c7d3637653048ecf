"""The SVI family: raw / natural / jump-wings slices, robust slice fits, SVI and SSVI surfaces.

Conventions: k = ln(K/F) log-moneyness against the forward, tau in years, total implied
variance w = sigma_BS^2 tau. References: Gatheral & Jacquier (2014), "Arbitrage-free SVI
volatility surfaces" (GJ); Zeliade Systems (2009), "Quasi-explicit calibration of Gatheral's
SVI model".

- :class:`RawSVI`, :class:`NaturalSVI`, :class:`JumpWings`, :func:`raw_to_jw`, :func:`jw_to_raw`:
  parameterisations with exact conversions (GJ section 3; jump-wings by GJ section 3.3 and
  Lemma 3.2, see :mod:`ivfast.svi.slices`).
- :func:`fit_slice`, :func:`fit_slice_vols`: quasi-explicit slice calibration, optionally
  butterfly-free.
- :class:`SviSurface`: fitted slices joined along constant-k lines.
- :class:`SSVI`, :func:`fit_ssvi`: arbitrage-free SSVI surfaces (see :mod:`ivfast.svi.ssvi`).
- :func:`resample`, :func:`resample_moneyness_days`: any surface onto a standard grid.
"""

from __future__ import annotations

from .atm import MonotoneTheta
from .fit import fit_slice, fit_slice_vols
from .resample import resample, resample_moneyness_days
from .jump_wings import JumpWings, jw_to_raw, raw_to_jw
from .slices import NaturalSVI, RawSVI
from .ssvi import SSVI
from .ssvi_fit import fit_ssvi
from .surface import SviSurface

__all__ = [
    "RawSVI",
    "NaturalSVI",
    "JumpWings",
    "raw_to_jw",
    "jw_to_raw",
    "MonotoneTheta",
    "fit_slice",
    "fit_slice_vols",
    "SviSurface",
    "SSVI",
    "fit_ssvi",
    "resample",
    "resample_moneyness_days",
]
