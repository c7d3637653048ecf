"""ivfast's version, from the installed package's metadata (``pyproject.toml`` is its one source)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("ivfast")
except PackageNotFoundError:  # pragma: no cover - only when run from a source tree that is not installed
    __version__ = "0+unknown"
