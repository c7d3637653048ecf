"""Load a surface written by :func:`ivfast.export.export_surface` (TorchScript or pt2).

Needs torch (imported when a file is loaded, not when this module is imported), NumPy and the
standard library only: no ivfast code runs to evaluate the file, so a serving process can copy
this module alone.
"""

from __future__ import annotations

import json
import os
import pathlib
import warnings
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import torch

__all__ = ["load_exported", "ExportedSurface", "read_metadata"]

FORMAT = "ivfast.exported_surface/1"
"""Value of the metadata ``format`` field; bumped when the file layout or entry points change."""
METADATA_FILE = "ivfast_metadata.json"
"""Name of the JSON metadata among the file's extra files (zip entry ``<archive>/extra/<name>``)."""
METADATA_KEY = "ivfast_metadata"
"""Key of the same JSON in each pt2 model's AOTInductor metadata (C++ ``get_metadata()``)."""
PT2_MODELS = {"model": "forward", "derivatives": "derivatives"}
"""pt2 package: model name -> entry point. ``"model"`` (total variance) is what
``torch._inductor.aoti_load_package`` loads by default. Implied vol is ``sqrt(w / tau)`` of
``"model"``: a third compiled model would add a minute of compilation for one division."""

_DEFAULT_CHUNK = 1 << 16
"""Points per call: bounds the memory of the hidden activations and their derivative streams
(about 3 kB per point for a 4 x 40 float64 network with derivatives)."""


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the metadata record of an exported file, checked for format and version.

    Needs no torch: the record is JSON inside the file's zip archive.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.pt`` or ``.pt2`` file from :func:`ivfast.export.export_surface`.

    Returns
    -------
    dict
        The record: ``format``, ``kind`` ('torchscript' or 'pt2'), ``ivfast_version``,
        ``torch_version``, ``dtype`` ('float64' or 'float32'), ``device`` (device type the file
        was written for), ``conventions``, ``config`` (the SmoothingConfig fields), ``prior``
        (SSVI rho, gamma, eta), ``output_scale`` and ``training`` (fit information, last
        history row, number of quotes).

    Raises
    ------
    ValueError
        When the file is missing, not a zip archive, has no ivfast metadata or was written by an
        incompatible exporter version.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"path: no such file {str(path)!r}")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [n for n in archive.namelist() if n.endswith(f"extra/{METADATA_FILE}")]
            if len(entries) != 1:
                raise ValueError(f"path: {str(path)!r} is not an exported ivfast surface (no {METADATA_FILE})")
            metadata = json.loads(archive.read(entries[0]).decode("utf-8"))
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, json.JSONDecodeError, EOFError) as exc:
        raise ValueError(f"path: {str(path)!r} is not a readable exported ivfast surface ({exc})") from None
    if not isinstance(metadata, dict) or not str(metadata.get("format", "")).startswith("ivfast.exported_surface/"):
        raise ValueError(f"path: {str(path)!r} has no ivfast export format tag")
    if metadata["format"] != FORMAT:
        raise ValueError(f"path: {str(path)!r} has format {metadata['format']!r}; this ivfast reads {FORMAT!r} "
                         "(re-export the surface with this version)")
    if metadata.get("kind") not in ("torchscript", "pt2") or metadata.get("dtype") not in ("float64", "float32"):
        raise ValueError(f"path: {str(path)!r} has inconsistent metadata (kind={metadata.get('kind')!r}, "
                         f"dtype={metadata.get('dtype')!r})")
    return metadata


class ExportedSurface:
    """A loaded exported surface with ``total_variance``, ``implied_vol`` and ``derivatives``.

    Evaluates like :class:`ivfast.surface.FittedSurface`. Inputs broadcast NumPy-style.
    NumPy/array-like inputs give NumPy arrays, torch tensors (either argument) give tensors on
    :attr:`device`; values are in the file's dtype (:attr:`dtype`). Conventions: ``k = ln(K/F)``,
    ``tau`` in years, ``w = sigma^2 tau``; NaN where ``tau <= 0`` or an input is not finite.
    Calling the object is :meth:`total_variance`. Made by :func:`load_exported`.

    Parameters
    ----------
    entry_points : dict
        ``'total_variance'``, ``'implied_vol'`` and ``'derivatives'``: callables on flat
        tensors of the file's dtype and device.
    metadata : dict
        The record :func:`read_metadata` returns.
    device : torch.device
        Where the file evaluates.
    chunk_size : int
        Points per call into the file.

    Attributes
    ----------
    metadata : dict
        The stored record (format, ivfast_version, dtype, device, config, prior, training, ...).
    device : torch.device
        Where the file evaluates (tensor outputs live there).
    dtype : torch.dtype
        The file's precision (torch.float64 or torch.float32), of the outputs too.
    chunk_size : int
        Points evaluated per call into the file.
    """

    def __init__(self, entry_points: dict[str, Callable[..., Any]], metadata: dict[str, Any],
                 device: torch.device, chunk_size: int) -> None:
        import torch

        self._entry = entry_points
        self.metadata = metadata
        self.device = device
        self.dtype = getattr(torch, metadata["dtype"])
        self.chunk_size = chunk_size

    def __repr__(self) -> str:
        return (f"ExportedSurface(kind={self.metadata['kind']!r}, dtype={self.metadata['dtype']}, "
                f"device={str(self.device)!r}, ivfast_version={self.metadata.get('ivfast_version')!r})")

    def _run(self, name: str, k: ArrayLike | torch.Tensor, tau: ArrayLike | torch.Tensor,
             n_out: int) -> Any:
        import torch

        as_tensor = isinstance(k, torch.Tensor) or isinstance(tau, torch.Tensor)
        k_t, tau_t = (self._tensor(x, name) for x, name in ((k, "k"), (tau, "tau")))
        try:
            k_b, tau_b = torch.broadcast_tensors(k_t, tau_t)
        except RuntimeError:
            raise ValueError(f"k, tau: shapes {tuple(k_t.shape)} and {tuple(tau_t.shape)} do not broadcast") from None
        shape = k_b.shape
        k_f, tau_f = k_b.reshape(-1).contiguous(), tau_b.reshape(-1).contiguous()
        outs = [torch.empty(k_f.shape, dtype=self.dtype, device=self.device) for _ in range(n_out)]
        with torch.inference_mode():
            for start in range(0, k_f.numel(), self.chunk_size):
                stop = start + self.chunk_size
                result = self._entry[name](k_f[start:stop], tau_f[start:stop])
                result = (result,) if n_out == 1 else result
                for dst, src in zip(outs, result):
                    dst[start:stop] = src
        shaped = [o.reshape(shape) for o in outs]
        results = shaped if as_tensor else [o.cpu().numpy() for o in shaped]
        return results[0] if n_out == 1 else tuple(results)

    def _tensor(self, x: ArrayLike | torch.Tensor, name: str) -> torch.Tensor:
        import torch

        if not isinstance(x, torch.Tensor):
            # Through float64 NumPy: torch.as_tensor would make Python floats float32.
            try:
                x = torch.from_numpy(np.asarray(x, dtype=np.float64))
            except (TypeError, ValueError):
                raise ValueError(f"{name}: expected real numbers, got {type(x).__name__}") from None
        return x.to(device=self.device, dtype=self.dtype)

    @overload
    def total_variance(self, k: torch.Tensor, tau: ArrayLike | torch.Tensor) -> torch.Tensor: ...
    @overload
    def total_variance(self, k: ArrayLike, tau: torch.Tensor) -> torch.Tensor: ...
    @overload
    def total_variance(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray: ...

    def total_variance(self, k: ArrayLike | torch.Tensor, tau: ArrayLike | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Evaluate the total implied variance ``w(k, tau) = sigma^2 tau`` (dimensionless).

        Parameters
        ----------
        k : array_like or torch.Tensor
            Log-moneyness ``ln(K/F)``.
        tau : array_like or torch.Tensor
            Years to expiry, broadcast against ``k``.

        Returns
        -------
        ndarray or torch.Tensor
            ``w`` of the broadcast shape in the file's dtype: a tensor on :attr:`device` when
            either input is a tensor, else a NumPy array.

        Raises
        ------
        ValueError
            Inputs that are not real numbers or do not broadcast.
        """
        return self._run("total_variance", k, tau, 1)

    @overload
    def implied_vol(self, k: torch.Tensor, tau: ArrayLike | torch.Tensor) -> torch.Tensor: ...
    @overload
    def implied_vol(self, k: ArrayLike, tau: torch.Tensor) -> torch.Tensor: ...
    @overload
    def implied_vol(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray: ...

    def implied_vol(self, k: ArrayLike | torch.Tensor, tau: ArrayLike | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Evaluate the Black implied volatility ``sqrt(w / tau)``.

        Parameters
        ----------
        k, tau : as in :meth:`ExportedSurface.total_variance`

        Returns
        -------
        ndarray or torch.Tensor
            Annualised vol (0.01 is one vol point) of the broadcast shape in the file's dtype:
            a tensor on :attr:`device` when either input is a tensor, else a NumPy array.

        Raises
        ------
        ValueError
            As for :meth:`total_variance`.
        """
        return self._run("implied_vol", k, tau, 1)

    @overload
    def derivatives(self, k: torch.Tensor, tau: ArrayLike | torch.Tensor) -> tuple[torch.Tensor, ...]: ...
    @overload
    def derivatives(self, k: ArrayLike, tau: torch.Tensor) -> tuple[torch.Tensor, ...]: ...
    @overload
    def derivatives(self, k: ArrayLike, tau: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

    def derivatives(self, k: ArrayLike | torch.Tensor, tau: ArrayLike | torch.Tensor) -> tuple[Any, ...]:
        """Evaluate the total variance and its exact derivatives (propagated analytically inside the file).

        Parameters
        ----------
        k, tau : as in :meth:`ExportedSurface.total_variance`

        Returns
        -------
        tuple of 4 ndarray or torch.Tensor
            ``(w, dw/dk, d2w/dk2, dw/dtau)`` of the broadcast shape in the file's dtype
            (``dw/dtau`` per year): tensors on :attr:`device` when either input is a tensor,
            else NumPy arrays.

        Raises
        ------
        ValueError
            As for :meth:`total_variance`.
        """
        return self._run("derivatives", k, tau, 4)

    total_variance_derivatives = derivatives
    """Alias matching :class:`ivfast.protocols.DifferentiableSurface`."""

    __call__ = total_variance


def load_exported(path: str | os.PathLike[str], device: str | torch.device = "cpu", *,
                  chunk_size: int = _DEFAULT_CHUNK) -> ExportedSurface:
    """Load an exported surface for evaluation.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.pt`` (TorchScript) or ``.pt2`` (AOTInductor) file from
        :func:`ivfast.export.export_surface`.
    device : str or torch.device
        Where to evaluate: TorchScript files load on any device (``'cpu'``, ``'cuda'``,
        ``'cuda:1'``); a pt2 package only on the device type it was compiled for.
    chunk_size : int
        Points per call into the file (bounds peak memory; default 65,536).

    Returns
    -------
    ExportedSurface
        The file's entry points with NumPy in/out, chunking and the stored metadata.

    Raises
    ------
    ValueError
        Missing, corrupt or incompatible file; a pt2 package on the wrong device type; a CUDA
        device without CUDA.
    """
    import torch

    metadata = read_metadata(path)
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    try:
        target = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device: expected a torch device string such as 'cpu' or 'cuda', got {device!r}") from None
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' requested but torch.cuda.is_available() is False")
    try:
        if metadata["kind"] == "torchscript":
            entry = _load_torchscript(path, target)
        else:
            entry = _load_pt2(path, target, metadata["device"])
    except RuntimeError as exc:
        raise ValueError(f"path: {os.fspath(path)!r} could not be loaded as {metadata['kind']} ({exc})") from None
    return ExportedSurface(entry, metadata, target, chunk_size)


def _load_torchscript(path: str | os.PathLike[str], device: torch.device) -> dict[str, Callable[..., Any]]:
    import torch

    with warnings.catch_warnings():
        # TorchScript is deprecated in torch >= 2.10 but still loads; the warning is not the user's concern.
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
        module = torch.jit.load(os.fspath(path), map_location=device)
    return {"total_variance": module.forward, "implied_vol": module.implied_vol, "derivatives": module.derivatives}


def _load_pt2(path: str | os.PathLike[str], device: torch.device, compiled_for: str
              ) -> dict[str, Callable[..., Any]]:
    import torch
    from torch._inductor.package import load_package

    if device.type != compiled_for:
        raise ValueError(f"device: this pt2 package was compiled for {compiled_for!r} and cannot run on "
                         f"{device.type!r}; export it again with device={device.type!r}")
    index = -1 if device.index is None else device.index
    runners = {name: load_package(os.fspath(path), name, device_index=index) for name in PT2_MODELS}
    value = runners["model"]
    # pt2 programs take 1-D inputs; ExportedSurface._run flattens and chunks.
    return {"total_variance": value, "implied_vol": lambda k, tau: torch.sqrt(value(k, tau) / tau),
            "derivatives": runners["derivatives"]}
