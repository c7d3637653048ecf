"""Neural surrogate pricer: model parameters -> implied-vol grid, and calibration through it.

After Horvath, Muguruza & Tomas (2021), "Deep learning volatility": a network learns the map from
Heston or Bates parameters to the implied vols of a fixed strike x maturity grid (default: their
11 x 8 grid), trained on grids priced by the C++ Carr–Madan pricer; calibrating through the network
takes milliseconds.

* :func:`make_dataset`, :func:`load_dataset` - sampled, priced, inverted training data (NumPy);
* :func:`train` - the seed's residual MLP with a PCA head, or the plain grid MLP (torch);
* :func:`evaluate` - accuracy by bucket, residuals, static-arbitrage share, figures;
* :func:`calibrate` - Levenberg–Marquardt through the network, re-priced with the C++ pricer;
* :class:`Surrogate` - the trained network with its grid and ranges (save / load / export).

The data side needs only NumPy/SciPy; the rest imports torch when first used
(``pip install ivfast[torch]``).
"""

from __future__ import annotations

import importlib

from .data import SurrogateDataset, load_dataset, make_dataset, split_indices
from .grids import DEFAULT_RANGES, HORVATH_STRIKES, HORVATH_TAUS, PCA_STRIKES, PCA_TAUS
from .pca import GridPCA, fit_pca

_LAZY = {
    "Surrogate": ".model", "TrainConfig": ".training", "TrainResult": ".training", "train": ".training",
    "LossWeights": ".loss", "SurrogateLoss": ".loss", "evaluate": ".evaluation", "calibrate": ".calibration",
    "CalibrationResult": ".calibration",
}

__all__ = ["SurrogateDataset", "make_dataset", "load_dataset", "split_indices", "DEFAULT_RANGES", "HORVATH_STRIKES",
           "HORVATH_TAUS", "PCA_STRIKES", "PCA_TAUS", "GridPCA", "fit_pca", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'ivfast.surrogate' has no attribute {name!r}")
