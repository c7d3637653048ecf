"""Export a fitted deep-smoothing surface as a self-contained TorchScript or AOTInductor file.

A TorchScript ``.pt`` or AOTInductor ``.pt2`` file serves fast inference without ivfast (C++,
GPUs, other Python processes). The file holds the ATM curve, the SSVI prior and the correction
network with their weights baked in. Its entry points take log-moneyness ``k = ln(K/F)`` and
maturity ``tau`` (years) and return:

* ``total_variance`` (TorchScript ``forward``; pt2 model ``"model"``): ``w = sigma^2 tau``;
* ``implied_vol`` (TorchScript method; for pt2 ``sqrt(w / tau)`` of ``"model"``, computed by the
  loader, since a third compiled model would cost a minute of compilation for one division);
* ``derivatives`` (TorchScript method; pt2 model ``"derivatives"``): ``(w, dw/dk, d2w/dk2, dw/dtau)``.

Points with ``tau <= 0`` or non-finite inputs give NaN, as :class:`~ivfast.surface.FittedSurface`.
The derivatives are the exact ones of the surface: the network carries forward-mode jets through
every layer and the surface applies the product and chain rules by hand
(:mod:`ivfast.surface.network`, :mod:`ivfast.surface.model`), so the exported graphs contain
no autograd calls (which ``torch.export`` cannot capture).

How each format is built:

* **TorchScript**: the flat evaluator (1-D ``k`` and ``tau`` of equal length) is *traced* for each
  method (every branch of the model depends only on its fixed structure, so a trace records the
  complete computation, with the batch size kept symbolic); a small *scripted* wrapper around it
  broadcasts ``k`` and ``tau`` of any shapes, casts them to the file's dtype and device and
  restores the broadcast shape. ``torch.jit.load(path, map_location=...)`` moves it to any device.
* **pt2**: the flat evaluator is exported by ``torch.export`` with a dynamic batch size and
  compiled by AOTInductor for ``device``, one model per entry point, packaged in one archive.
  Inputs must be 1-D tensors of equal length, of the file's dtype, on the compiled device type.

Metadata (ivfast version, format version, dtype, device, config, prior parameters, training
summary) is JSON stored as the extra file ``ivfast_metadata.json`` (in both formats the zip entry
``<archive>/extra/ivfast_metadata.json``; TorchScript: ``_extra_files`` of ``torch.jit.load``,
C++ ``torch::jit::load(path, device, extra_files)``); pt2 models also carry it as the
AOTInductor metadata key ``ivfast_metadata`` (C++ ``AOTIModelPackageLoader::get_metadata()``).
Read it all with :func:`ivfast.load_exported`.
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import warnings
from typing import TYPE_CHECKING, Any, cast

import torch

from .._version import __version__
from .load import FORMAT, METADATA_FILE, METADATA_KEY, PT2_MODELS

if TYPE_CHECKING:
    from torch.export.pt2_archive._package_weights import Weights

    from ..surface import FittedSurface

__all__ = ["export_surface"]

_FORMATS = ("torchscript", "pt2")
_DTYPES = {torch.float64: "float64", torch.float32: "float32"}
_TRACE_POINTS = 8
"""Batch size of the example inputs used to trace and export; the result works for any size."""


class _FlatSurface(torch.nn.Module):
    """Evaluator on 1-D ``k`` and ``tau`` of equal length, with frozen weights of one dtype and device.

    Invalid points (non-finite or ``tau <= 0``) are evaluated at a harmless stand-in and set to NaN,
    so that one bad element never poisons a batch.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def _masked(self, k: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        valid = torch.isfinite(k) & torch.isfinite(tau) & (tau > 0)
        return valid, torch.where(valid, k, torch.zeros_like(k)), torch.where(valid, tau, torch.ones_like(tau))

    def forward(self, k: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """Total variance ``w`` at each point (NaN where invalid)."""
        valid, k_safe, tau_safe = self._masked(k, tau)
        w = self.model(k_safe, tau_safe, 0)[0]  # n_jet = 0: value only
        return torch.where(valid, w, torch.full_like(w, float("nan")))

    def implied_vol(self, k: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """Black implied vol ``sqrt(w / tau)`` at each point (NaN where invalid)."""
        valid, k_safe, tau_safe = self._masked(k, tau)
        vol = torch.sqrt(self.model(k_safe, tau_safe, 0)[0] / tau_safe)
        return torch.where(valid, vol, torch.full_like(vol, float("nan")))

    def derivatives(self, k: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                        torch.Tensor]:
        """``(w, dw/dk, d2w/dk2, dw/dtau)`` at each point (NaN where invalid)."""
        valid, k_safe, tau_safe = self._masked(k, tau)
        jet = self.model(k_safe, tau_safe)
        nan = torch.full_like(jet[0], float("nan"))
        w, w_k, w_kk, w_tau = (torch.where(valid, x, nan) for x in jet[:4])
        return w, w_k, w_kk, w_tau


class _Method(torch.nn.Module):
    """One named method of :class:`_FlatSurface` as ``forward`` (torch.export captures ``forward`` only)."""

    def __init__(self, flat: _FlatSurface, name: str) -> None:
        super().__init__()
        self.flat = flat
        self.name = name

    def forward(self, k: torch.Tensor, tau: torch.Tensor) -> Any:
        """Call the named method (a tensor or a tuple of tensors)."""
        return getattr(self.flat, self.name)(k, tau)


class _BroadcastingSurface(torch.nn.Module):
    """Scripted TorchScript entry points: broadcast, cast to the file's dtype/device, flatten, reshape."""

    if TYPE_CHECKING:  # for mypy only: TorchScript cannot read string annotations on the class
        anchor: torch.Tensor

    def __init__(self, flat: torch.jit.ScriptModule, dtype: torch.dtype, device: torch.device) -> None:
        super().__init__()
        self.flat: torch.jit.ScriptModule = flat
        # Carries the file's dtype and follows map_location, so inputs go where the weights are.
        self.register_buffer("anchor", torch.zeros((), dtype=dtype, device=device))

    def _flat_inputs(self, k: torch.Tensor, tau: torch.Tensor) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        k_b, tau_b = torch.broadcast_tensors(k.to(device=self.anchor.device, dtype=self.anchor.dtype),
                                             tau.to(device=self.anchor.device, dtype=self.anchor.dtype))
        return list(k_b.shape), k_b.reshape(-1), tau_b.reshape(-1)

    def forward(self, k: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """Total implied variance ``w(k, tau)``."""
        shape, k_f, tau_f = self._flat_inputs(k, tau)
        return self.flat(k_f, tau_f).reshape(shape)

    @torch.jit.export
    def implied_vol(self, k: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """Black implied volatility ``sqrt(w / tau)``."""
        shape, k_f, tau_f = self._flat_inputs(k, tau)
        return self.flat.implied_vol(k_f, tau_f).reshape(shape)

    @torch.jit.export
    def derivatives(self, k: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                        torch.Tensor]:
        """``(w, dw/dk, d2w/dk2, dw/dtau)``."""
        shape, k_f, tau_f = self._flat_inputs(k, tau)
        w, w_k, w_kk, w_tau = self.flat.derivatives(k_f, tau_f)
        return w.reshape(shape), w_k.reshape(shape), w_kk.reshape(shape), w_tau.reshape(shape)


def surface_model(surface: FittedSurface) -> torch.nn.Module:
    """Return the torch module of a fitted surface (``model(k, tau, n_jet)`` -> jet).

    Parameters
    ----------
    surface : FittedSurface
        The fit.

    Returns
    -------
    torch.nn.Module
        Its :class:`~ivfast.surface.model.SurfaceModel`.

    Raises
    ------
    ValueError
        ``surface`` has no torch module (not a FittedSurface).
    """
    model = getattr(surface, "model", None)
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"surface: expected a FittedSurface, got {type(surface).__name__}")
    return model


def export_metadata(surface: FittedSurface, kind: str, dtype: torch.dtype, device: torch.device) -> dict[str, Any]:
    """Build the JSON record stored with an exported file (see the module docstring).

    Parameters
    ----------
    surface : FittedSurface
        The fit being exported.
    kind : {'torchscript', 'pt2'}
        File format.
    dtype : torch.float64 or torch.float32
        Precision of the file.
    device : torch.device
        Device the file is written for (its type is recorded).

    Returns
    -------
    dict
        The record :func:`ivfast.export.read_metadata` reads back (JSON-serialisable with
        ``default=str``).
    """
    config = surface.config
    history = surface.history
    last = {} if history is None or len(history) == 0 else {c: float(v) for c, v in history.iloc[-1].items()}
    return {
        "format": FORMAT,
        "kind": kind,
        "ivfast_version": __version__,
        "torch_version": torch.__version__,
        "dtype": _DTYPES[dtype],
        "device": device.type,
        "conventions": "k = ln(K/F) against the forward; tau in years; w = sigma^2 * tau (total implied "
                       "variance); implied_vol = sqrt(w / tau); NaN where tau <= 0 or inputs are not finite",
        "config": json.loads(config.to_json()),
        "prior": surface.prior_parameters(),
        "output_scale": surface.output_scale(),
        "training": {"info": surface.info, "last_history_row": last, "n_quotes": int(surface.quotes.k.size)},
    }


def export_surface(surface: FittedSurface, path: str | os.PathLike[str], *, format: str = "torchscript",
                   dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> pathlib.Path:
    """Write a fitted surface as a self-contained inference file (no ivfast needed to run it).

    Parameters
    ----------
    surface : FittedSurface
        The fit to export (from :func:`ivfast.fit_surface` or :meth:`FittedSurface.load`).
    path : str or os.PathLike
        Output file; ``format='pt2'`` requires the suffix ``.pt2`` (AOTInductor's rule).
    format : {'torchscript', 'pt2'}
        ``'torchscript'``: one ``.pt`` loadable by ``torch.jit.load`` (Python) and
        ``torch::jit::load`` (C++) on any device; inputs of any broadcastable shapes.
        ``'pt2'``: an AOTInductor package of compiled kernels for ``device``, loadable by
        ``torch._inductor.aoti_load_package`` (Python) and ``torch::inductor::AOTIModelPackageLoader``
        (C++); inputs 1-D tensors of equal length. Compiling takes from 30 s to a few minutes.
    dtype : torch.float64 or torch.float32
        Precision of the weights and of the computation (inputs are cast to it).
    device : {'cpu', 'cuda'}
        Device of the weights (TorchScript; movable at load time) or compilation target (pt2;
        'cuda' needs a GPU at export time).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        ``surface`` is not a fit, unknown ``format`` or ``dtype``, a device other than CPU or
        CUDA, CUDA requested but unavailable, or a pt2 path without the ``.pt2`` suffix.

    Notes
    -----
    Read the file back with :func:`ivfast.load_exported`, which adds chunking, NumPy in/out and
    the stored metadata; the module docstring of :mod:`ivfast.export.write` describes the layout.
    """
    model = surface_model(surface)
    if format not in _FORMATS:
        raise ValueError(f"format: expected one of {_FORMATS}, got {format!r}")
    if dtype not in _DTYPES:
        raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
    device = torch.device(device)
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {str(device)!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' requested but torch.cuda.is_available() is False")
    path = pathlib.Path(path)
    if format == "pt2" and path.suffix != ".pt2":
        raise ValueError(f"path: a pt2 package must end in '.pt2', got {str(path)!r}")
    frozen = copy.deepcopy(model).to(device=device, dtype=dtype).eval().requires_grad_(False)
    flat = _FlatSurface(frozen)
    example = _example_inputs(dtype, device)
    metadata = json.dumps(export_metadata(surface, format, dtype, device), default=str)
    if format == "torchscript":
        _save_torchscript(flat, example, dtype, device, path, metadata)
    else:
        _save_pt2(flat, example, dtype, path, metadata)
    return path


def _example_inputs(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    k = torch.linspace(-0.5, 0.5, _TRACE_POINTS, dtype=dtype, device=device)
    tau = torch.linspace(0.1, 2.0, _TRACE_POINTS, dtype=dtype, device=device)
    return k, tau


def _save_torchscript(flat: _FlatSurface, example: tuple[torch.Tensor, torch.Tensor], dtype: torch.dtype,
                      device: torch.device, path: pathlib.Path, metadata: str) -> None:
    with warnings.catch_warnings():
        # torch >= 2.10 deprecates TorchScript but keeps it working; the file is still the most
        # widely loadable format (C++ libtorch, older torch), so it is built on purpose.
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
        traced = torch.jit.trace_module(flat, {name: example for name in ("forward", "implied_vol", "derivatives")})
        scripted = torch.jit.script(_BroadcastingSurface(traced, dtype, device))
        torch.jit.save(scripted, str(path), _extra_files={METADATA_FILE: metadata})


def _save_pt2(flat: _FlatSurface, example: tuple[torch.Tensor, torch.Tensor], dtype: torch.dtype,
              path: pathlib.Path, metadata: str) -> None:
    from torch._inductor import aot_compile
    # package_pt2 (unlike the public package_aoti) also stores extra files: the metadata.
    from torch.export.pt2_archive._package import package_pt2

    n = torch.export.Dim("n", min=1)
    compiled: dict[str, list[str | Weights]] = {}
    # The dtype also gets its own key: C++ callers must pass inputs of that dtype and need no JSON parser.
    options = {"aot_inductor.package": True,
               "aot_inductor.metadata": {METADATA_KEY: metadata, f"{METADATA_KEY}_dtype": _DTYPES[dtype]}}
    with warnings.catch_warnings():
        # Raised inside torch while compiling (torch 2.13: its pytree code, and torch.utils.mkldnn's
        # TorchScript classes imported by inductor); not actionable here.
        warnings.filterwarnings("ignore", category=FutureWarning,
                                message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
        for model_name, method in PT2_MODELS.items():
            program = torch.export.export(_Method(flat, method), example, dynamic_shapes=({0: n}, {0: n}))
            # With "aot_inductor.package" set, aot_compile returns the list of files to package.
            files = aot_compile(program.module(), example, options=dict(options))
            compiled[model_name] = cast("list[str | Weights]", files)
    package_pt2(str(path), aoti_files=compiled, extra_files={METADATA_FILE: metadata})
