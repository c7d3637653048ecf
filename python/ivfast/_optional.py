"""One guard for the optional dependencies: a missing one raises an ImportError that says what to install.

torch (with cvxpy) is the ``torch`` extra: deep smoothing, export, the surrogate networks.
matplotlib is the ``plot`` extra: every figure. dask.distributed and pyarrow are the ``scale``
extra (:mod:`ivfast.scale`). ``import ivfast`` needs none of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require", "EXTRAS"]

EXTRAS = {"torch": "torch", "cvxpy": "torch", "clarabel": "torch", "matplotlib": "plot", "distributed": "scale",
          "pyarrow": "scale"}
"""Optional module -> the ivfast extra that installs it."""


def require(module: str, feature: str | None = None) -> ModuleType:
    """Import an optional dependency, or raise an ImportError naming the extra to install.

    Parameters
    ----------
    module : str
        Top-level module name, a key of :data:`EXTRAS` (``'torch'``, ``'cvxpy'``, ``'matplotlib'``).
    feature : str, optional
        What needs it, for the message (e.g. ``'ivfast.fit_surface'``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    ImportError
        ``"<feature> needs <module>: pip install 'ivfast[<extra>]'"``, chained to the original error.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRAS.get(module.partition(".")[0], module)
        what = f"{feature} needs" if feature else "this needs"
        hint = " (install the CPU build first: pip install torch==2.13.0)" if extra == "torch" else ""
        raise ImportError(f"{what} {module}: pip install 'ivfast[{extra}]'{hint}") from exc
