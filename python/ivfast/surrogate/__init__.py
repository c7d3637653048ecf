"""Neural surrogate pricer: model parameters -> implied-vol grid, and calibration through it.

After Horvath, Muguruza & Tomas (2021), "Deep learning volatility": a network learns the map from
Heston or Bates parameters to the implied vols of a fixed strike x maturity grid (default: their
11 x 8 grid), trained on grids priced by the C++ Carr–Madan pricer; calibrating through the network
takes milliseconds.

* :func:`make_dataset`, :func:`load_dataset` - sampled, priced, inverted training data (NumPy);
* :func:`train` - a residual MLP reading out PCA scores of the grid, or Horvath et al.'s plain grid
  MLP (torch);
* :func:`evaluate` - accuracy by bucket, residuals, static-arbitrage share, figures;
* :func:`calibrate` - Levenberg–Marquardt through the network, re-priced with the C++ pricer;
* :class:`Surrogate` - the trained network with its grid and ranges (save / load / export).

The data side needs only NumPy/SciPy; the rest imports torch when first used
(``pip install ivfast[torch]``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .data import SurrogateDataset, load_dataset, make_dataset, split_indices
from .grids import DEFAULT_RANGES, HORVATH_STRIKES, HORVATH_TAUS, PCA_STRIKES, PCA_TAUS
from .pca import GridPCA, fit_pca

if TYPE_CHECKING:
    from .calibration import CalibrationResult, calibrate
    from .evaluation import evaluate
    from .loss import LossWeights, SurrogateLoss
    from .model import Surrogate
    from .training import TrainConfig, TrainResult, train

# name -> module that defines it; these import torch, so they load on first access.
_LAZY = {
    "Surrogate": ".model", "TrainConfig": ".training", "TrainResult": ".training", "train": ".training",
    "LossWeights": ".loss", "SurrogateLoss": ".loss", "evaluate": ".evaluation", "calibrate": ".calibration",
    "CalibrationResult": ".calibration",
}

__all__ = [
    "SurrogateDataset", "make_dataset", "load_dataset", "split_indices", "DEFAULT_RANGES", "HORVATH_STRIKES",
    "HORVATH_TAUS", "PCA_STRIKES", "PCA_TAUS", "GridPCA", "fit_pca",
    # torch-backed, loaded on first access (_LAZY)
    "Surrogate", "TrainConfig", "TrainResult", "train", "LossWeights", "SurrogateLoss", "evaluate", "calibrate",
    "CalibrationResult",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from .._optional import require

        require("torch", f"ivfast.surrogate.{name}")
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'ivfast.surrogate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
