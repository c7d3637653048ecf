"""ivfast: fast, accurate, arbitrage-aware implied-volatility surfaces.

The compiled kernels live in the private module ``ivfast._core``; this package re-exports a
small public API. ``import ivfast`` never imports torch: the deep-smoothing parts import it
lazily and need the optional extra (``pip install ivfast[torch]``).
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

from .black import IVStatus, attainable_iv_accuracy, black_price, black_vega, forward, implied_vol
from . import chain, datasets  # noqa: E402  (after black: the chain pipeline uses implied_vol)
from .chain import SurfaceQuotes

__version__ = "0.1.0"

__all__ = [
    "IVStatus",
    "attainable_iv_accuracy",
    "SurfaceQuotes",
    "chain",
    "datasets",
    "black_price",
    "black_vega",
    "forward",
    "implied_vol",
    "__version__",
]

# Fourier pricing (Black–Scholes, Heston, Bates).
from .models import BatesParams, BlackScholesParams, HestonParams  # noqa: E402
from .pricing import SurfaceIVStatus, call_prices, call_prices_batch, implied_vol_surface, put_prices  # noqa: E402

__all__ += ["BatesParams", "BlackScholesParams", "HestonParams", "SurfaceIVStatus", "call_prices",
            "call_prices_batch", "implied_vol_surface", "put_prices"]

# Static-arbitrage checks of quotes and surfaces.
from . import arbitrage  # noqa: E402
from .arbitrage import ArbitrageReport  # noqa: E402

__all__ += ["arbitrage", "ArbitrageReport"]

# SVI family: raw / natural / jump-wings slices, slice fits, SVI and SSVI surfaces.
from . import svi  # noqa: E402

__all__ += ["svi"]

# Exported surfaces (TorchScript / AOTInductor files): the loader imports torch only when called.
from .export_loader import load_exported  # noqa: E402

__all__ += ["load_exported"]

# Deep smoothing (optional torch extra): imported on first access so `import ivfast` stays torch-free.
_SURFACE_NAMES = ("fit_surface", "FittedSurface", "SmoothingConfig")
__all__ += list(_SURFACE_NAMES)


def __getattr__(name: str):
    if name in _SURFACE_NAMES:
        from . import surface

        return getattr(surface, name)
    raise AttributeError(f"module 'ivfast' has no attribute {name!r}")
