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

from .black import IVStatus, black_price, black_vega, forward, implied_vol

__version__ = "0.1.0"

__all__ = [
    "IVStatus",
    "black_price",
    "black_vega",
    "forward",
    "implied_vol",
    "__version__",
]
