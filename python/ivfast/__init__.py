"""ivfast: fast, accurate, arbitrage-aware implied-volatility surfaces.

The compiled kernels live in the private module ``ivfast._core``; this package re-exports the
public API. Concepts, each a module or subpackage (``docs/architecture.md`` maps them):

* implied volatility and Black-76: :func:`implied_vol`, :func:`black_price` (:mod:`ivfast.black`);
* American options with cash dividends: :func:`american_price`, :func:`american_implied_vol`
  (:mod:`ivfast.american`);
* Fourier pricing of Black-Scholes, Heston and Bates models: :func:`call_prices`
  (:mod:`ivfast.pricing`, parameter sets in :mod:`ivfast.models`);
* option chains to surface quotes: :mod:`ivfast.chain`;
* static-arbitrage checks: :mod:`ivfast.arbitrage`;
* the SVI family (raw, jump-wings, SSVI): :mod:`ivfast.svi`;
* deep smoothing (torch extra): :func:`fit_surface`, :class:`FittedSurface` (:mod:`ivfast.surface`);
* sparse-surface completion by a pre-trained transformer, certified arbitrage-free (torch extra):
  :func:`complete_surface`, :class:`CompletedSurface` (:mod:`ivfast.completion`);
* the ``ivfast fit`` workflow: :func:`fit_chain` (:mod:`ivfast.workflow`);
* export for inference: :func:`export_surface`, :func:`load_exported` (:mod:`ivfast.export`);
* neural surrogate pricers: :mod:`ivfast.surrogate`; synthetic data: :mod:`ivfast.datasets`.

``import ivfast`` never imports torch: the torch-backed names are loaded on first use and need
the optional extra (``pip install ivfast[torch]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    from . import _core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "ivfast's compiled module could not be imported. Build and install the package with "
        "`pip install .` (needs a C++17 compiler, OpenMP and FFTW3: `apt-get install libfftw3-dev`). "
        f"Original error: {exc}"
    ) from exc

from . import arbitrage, chain, datasets, export, surrogate, svi, workflow
from ._version import __version__
from .american import ZeroCurve, american_implied_vol, american_price
from .arbitrage import ArbitrageReport, check_surface
from .black import IVStatus, attainable_iv_accuracy, black_price, black_vega, forward, implied_vol
from .chain import SurfaceQuotes
from .export import load_exported
from .models import BatesParams, BlackScholesParams, HestonParams
from .pricing import call_prices, call_prices_batch, implied_vol_surface, put_prices
from .workflow import fit_chain

if TYPE_CHECKING:
    from .completion import CompletedSurface, complete_surface
    from .export.write import export_surface
    from .surface import FittedSurface, SmoothingConfig, fit_surface

# name -> module that defines it; these import torch, so they load on first access.
_TORCH_NAMES = {
    "fit_surface": ".surface",
    "FittedSurface": ".surface",
    "SmoothingConfig": ".surface",
    "export_surface": ".export.write",
    "complete_surface": ".completion",
    "CompletedSurface": ".completion",
}

__all__ = [
    "ArbitrageReport",
    "BatesParams",
    "BlackScholesParams",
    "CompletedSurface",
    "FittedSurface",
    "HestonParams",
    "IVStatus",
    "SmoothingConfig",
    "SurfaceQuotes",
    "ZeroCurve",
    "__version__",
    "american_implied_vol",
    "american_price",
    "arbitrage",
    "attainable_iv_accuracy",
    "black_price",
    "black_vega",
    "call_prices",
    "call_prices_batch",
    "chain",
    "check_surface",
    "complete_surface",
    "datasets",
    "export",
    "export_surface",
    "fit_chain",
    "fit_surface",
    "forward",
    "implied_vol",
    "implied_vol_surface",
    "load_exported",
    "put_prices",
    "surrogate",
    "svi",
    "workflow",
]


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        import importlib

        from ._optional import require

        require("torch", f"ivfast.{name}")
        return getattr(importlib.import_module(_TORCH_NAMES[name], __name__), name)
    raise AttributeError(f"module 'ivfast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
