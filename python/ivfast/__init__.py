"""ivfast: fast, accurate, arbitrage-aware implied-volatility surfaces.

The compiled kernels live in the private module ``ivfast._core``; this package re-exports a
small public API. ``import ivfast`` never imports torch: the deep-smoothing, export and
surrogate parts import it lazily and need the optional extra (``pip install ivfast[torch]``).
"""

from __future__ import annotations

try:
    from . import _core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "ivfast's compiled module could not be imported. Build and install the package with "
        "`pip install .` (needs a C++17 compiler, OpenMP and FFTW3: `apt-get install libfftw3-dev`). "
        f"Original error: {exc}"
    ) from exc

from . import arbitrage, chain, datasets, surrogate, svi
from .arbitrage import ArbitrageReport
from .black import IVStatus, attainable_iv_accuracy, black_price, black_vega, forward, implied_vol
from .chain import SurfaceQuotes
from .export_loader import load_exported
from .models import BatesParams, BlackScholesParams, HestonParams
from .pricing import call_prices, call_prices_batch, implied_vol_surface, put_prices

__version__ = "0.1.0"

# Deep smoothing (torch extra): imported on first access so `import ivfast` stays torch-free.
_SURFACE_NAMES = ("fit_surface", "FittedSurface", "SmoothingConfig")

__all__ = [
    "ArbitrageReport",
    "BatesParams",
    "BlackScholesParams",
    "HestonParams",
    "IVStatus",
    "SurfaceQuotes",
    "arbitrage",
    "attainable_iv_accuracy",
    "black_price",
    "black_vega",
    "call_prices",
    "call_prices_batch",
    "chain",
    "datasets",
    "forward",
    "implied_vol",
    "implied_vol_surface",
    "load_exported",
    "put_prices",
    "surrogate",
    "svi",
    "__version__",
    *_SURFACE_NAMES,
]


def __getattr__(name: str):
    if name in _SURFACE_NAMES:
        from . import surface

        return getattr(surface, name)
    raise AttributeError(f"module 'ivfast' has no attribute {name!r}")
