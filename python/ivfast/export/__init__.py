"""Export of fitted surfaces for inference without ivfast, and their loader.

* :func:`export_surface` (:mod:`ivfast.export.write`, needs torch): a fitted surface as a
  self-contained TorchScript ``.pt`` or AOTInductor ``.pt2`` file;
* :func:`load_exported` (:mod:`ivfast.export.load`): reads either back with NumPy in/out,
  chunking and the stored metadata. It imports no other ivfast module, so a serving process can
  copy that one file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .load import FORMAT, ExportedSurface, load_exported, read_metadata

if TYPE_CHECKING:
    from .write import export_surface

__all__ = ["FORMAT", "ExportedSurface", "export_surface", "load_exported", "read_metadata"]


def __getattr__(name: str) -> Any:
    if name == "export_surface":  # torch is imported with the writer, not with this package
        from .write import export_surface

        return export_surface
    raise AttributeError(f"module 'ivfast.export' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
