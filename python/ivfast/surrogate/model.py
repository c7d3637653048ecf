"""A trained surrogate: the network plus what it was trained on (grid, ranges, settings)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from .grids import model_class
from .networks import GridMLP, ResidualMLP, SurrogateNet
from .pca import GridPCA

__all__ = ["Surrogate", "build_network"]


def build_network(arch: dict[str, Any], x_mean: ArrayLike, x_std: ArrayLike, y_mean: ArrayLike, basis: ArrayLike,
                  grid_shape: tuple[int, ...]) -> SurrogateNet:
    """Build the (untrained) :class:`SurrogateNet` described by ``arch``.

    Parameters
    ----------
    arch : dict
        ``{"kind": "resmlp", "n_blocks", "width", "dropout", "activation"}`` or
        ``{"kind": "grid", "hidden", "activation"}`` (:meth:`TrainConfig.arch_dict`).
    x_mean, x_std : array_like, shape (n_params,)
        Input standardisation.
    y_mean : array_like, shape (n_taus * n_strikes,)
        Mean of the flattened grids.
    basis : array_like, shape (n_outputs, n_taus * n_strikes)
        Output head (see :func:`output_basis`).
    grid_shape : tuple of int
        ``(n_taus, n_strikes)``.

    Returns
    -------
    SurrogateNet
        The network with freshly initialised weights.

    Raises
    ------
    ValueError
        For an unknown ``arch["kind"]`` or invalid sizes.
    """
    in_dim, out_dim = np.shape(x_mean)[0], np.shape(basis)[0]
    body: nn.Module
    if arch["kind"] == "resmlp":
        body = ResidualMLP(in_dim, out_dim, n_blocks=arch["n_blocks"], width=arch["width"], dropout=arch["dropout"],
                           activation=arch["activation"])
    elif arch["kind"] == "grid":
        body = GridMLP(in_dim, out_dim, hidden=tuple(arch["hidden"]), activation=arch["activation"])
    else:
        raise ValueError(f"arch: expected kind 'resmlp' or 'grid', got {arch['kind']!r}")
    return SurrogateNet(body, x_mean, x_std, y_mean, basis, grid_shape)


def _folded(linear: nn.Linear, weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    out = nn.Linear(weight.shape[1], weight.shape[0], dtype=linear.weight.dtype)
    with torch.no_grad():
        out.weight.copy_(weight)
        out.bias.copy_(bias)
    return out


def inference_net(net: SurrogateNet) -> nn.Sequential:
    """Fold the input standardisation into the first layer and the output head into the last one.

    Parameters
    ----------
    net : SurrogateNet
        A network with a :class:`ResidualMLP` or :class:`GridMLP` body.

    Returns
    -------
    torch.nn.Sequential
        The same function with fewer operations, in eval mode (float32 rounding differs).
    """
    body = net.body
    if isinstance(body, ResidualMLP):
        layers = list(body.lift) + list(body.blocks) + list(body.readout)
    else:
        layers = list(cast(GridMLP, body).layers)
    first, last = cast(nn.Linear, layers[0]), cast(nn.Linear, layers[-1])
    with torch.no_grad():
        w_in = first.weight / net.x_std
        layers[0] = _folded(first, w_in, first.bias - w_in @ net.x_mean)
        w_out = net.basis.T @ last.weight
        layers[-1] = _folded(last, w_out, net.basis.T @ last.bias + net.y_mean)
    return nn.Sequential(*layers, nn.Unflatten(-1, net.grid_shape)).eval()


def output_basis(arch_kind: str, y_flat: np.ndarray, pca: GridPCA | None) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and basis of the output head.

    Parameters
    ----------
    arch_kind : {"resmlp", "grid"}
        Network kind.
    y_flat : ndarray, shape (n, n_taus * n_strikes)
        Flattened training grids (used for ``"grid"``).
    pca : GridPCA, optional
        PCA of the training grids (needed for ``"resmlp"``).

    Returns
    -------
    y_mean, basis : ndarray
        For ``"resmlp"`` the PCA mean and its components scaled by their score deviations; for
        ``"grid"`` the per-point mean and a diagonal of per-point standard deviations.

    Raises
    ------
    ValueError
        For ``"resmlp"`` without ``pca``.
    """
    if arch_kind == "resmlp":
        if pca is None:
            raise ValueError("pca: the residual MLP's output head needs the PCA of the training grids")
        return pca.mean, pca.components * pca.scales[:, None]
    std = y_flat.std(axis=0)
    return y_flat.mean(axis=0), np.diag(np.where(std > 0, std, 1.0))


@dataclass
class Surrogate:
    """Parameters -> implied-vol grid network with its metadata.

    Attributes
    ----------
    net : SurrogateNet
        Maps raw parameters (..., n_params) to vols (..., n_taus, n_strikes), float32.
    model : str
        "heston" or "bates".
    names : list of str
        Parameter names in input order.
    ranges : dict
        Parameter box of the training data (calibration stays inside it).
    strikes, taus : ndarray
        Grid: strikes relative to spot, maturities in years (rows of the output are maturities).
    rate, dividend : float
        Market of the training data (spot 1).
    arch : dict
        Network description (see :func:`build_network`).
    info : dict
        Training record: split seed, dataset size, PCA share, best epoch, loss weights...
    """

    net: SurrogateNet
    model: str
    names: list[str]
    ranges: dict[str, tuple[float, float]]
    strikes: np.ndarray
    taus: np.ndarray
    rate: float = 0.0
    dividend: float = 0.0
    arch: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    _double: SurrogateNet | None = field(default=None, init=False, repr=False)
    _fast: nn.Sequential | None = field(default=None, init=False, repr=False)

    @property
    def params_class(self) -> type:
        """The model's parameter dataclass (:class:`ivfast.HestonParams` or :class:`ivfast.BatesParams`)."""
        return model_class(self.model)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper parameter bounds (the training box)."""
        return (np.array([self.ranges[n][0] for n in self.names]), np.array([self.ranges[n][1] for n in self.names]))

    def double_net(self) -> SurrogateNet:
        """Return a float64 copy of the network in eval mode (cached; for calibration and Jacobians).

        Returns
        -------
        SurrogateNet
            The copy; the same object on every call.
        """
        if self._double is None:
            self._double = copy.deepcopy(self.net).double().eval()
        return self._double

    def predict(self, params: ArrayLike, *, batch_size: int = 65536) -> np.ndarray:
        """Predict the implied-vol grids of parameter sets.

        Evaluates a copy of ``net`` with its affine input and output maps folded into the first and
        last layers (:func:`inference_net`, built on the first call; it agrees with ``net`` to float32
        rounding).

        Parameters
        ----------
        params : array_like, shape (n_params,) or (n, n_params)
            Parameter sets, columns in the order of ``names``.
        batch_size : int, default 65536
            Parameter sets per network call.

        Returns
        -------
        ndarray, shape (n_taus, n_strikes) or (n, n_taus, n_strikes)
            Annualised implied vols (float64), rows = maturities.

        Raises
        ------
        ValueError
            If ``params`` does not have ``len(names)`` columns.
        """
        x = np.asarray(params, dtype=np.float64)
        if x.shape[-1:] != (len(self.names),) or x.ndim > 2:
            raise ValueError(f"params: expected shape ({len(self.names)},) or (n, {len(self.names)}) "
                             f"with columns {self.names}, got {x.shape}")
        single = x.ndim == 1
        x2 = np.atleast_2d(x)
        if self._fast is None:
            self._fast = inference_net(self.net.eval())
        with torch.inference_mode():
            out = [self._fast(torch.from_numpy(np.ascontiguousarray(x2[i:i + batch_size], dtype=np.float32))).numpy()
                   for i in range(0, x2.shape[0], batch_size)]
        iv = (np.concatenate(out) if out else np.empty((0,) + self.net.grid_shape)).astype(np.float64)
        return iv[0] if single else iv

    def _payload(self) -> dict[str, Any]:
        return {"state_dict": self.net.state_dict(), "model": self.model, "names": self.names,
                "ranges": {k: list(v) for k, v in self.ranges.items()}, "strikes": self.strikes.tolist(),
                "taus": self.taus.tolist(), "rate": self.rate, "dividend": self.dividend, "arch": self.arch,
                "info": self.info, "n_outputs": int(self.net.basis.shape[0])}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network and metadata with ``torch.save`` (load with :meth:`load`).

        Parameters
        ----------
        path : str or os.PathLike
            Output file (conventionally ``.pt``).
        """
        torch.save(self._payload(), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Surrogate:
        """Load a surrogate written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            The file (read with ``torch.load(weights_only=True)``, on the CPU).

        Returns
        -------
        Surrogate
            The surrogate with its network in eval mode.
        """
        p = torch.load(path, map_location="cpu", weights_only=True)
        n_in, n_cells = len(p["names"]), len(p["strikes"]) * len(p["taus"])
        net = build_network(p["arch"], np.zeros(n_in), np.ones(n_in), np.zeros(n_cells),
                            np.zeros((p["n_outputs"], n_cells)), (len(p["taus"]), len(p["strikes"])))
        net.load_state_dict(p["state_dict"])
        return cls(net=net.eval(), model=p["model"], names=list(p["names"]),
                   ranges={k: tuple(v) for k, v in p["ranges"].items()}, strikes=np.array(p["strikes"]),
                   taus=np.array(p["taus"]), rate=p["rate"], dividend=p["dividend"], arch=p["arch"], info=p["info"])

    def export(self, path: str | os.PathLike[str], *, batch: int | None = None) -> None:
        """Save the network as a ``torch.export`` program (``.pt2``).

        The program maps raw params (n, n_params) float32 to vols (n, n_taus, n_strikes); load it
        with ``torch.export.load(path).module()``.

        Parameters
        ----------
        path : str or os.PathLike
            Output file (``.pt2``).
        batch : int, optional
            Fixed batch size n; by default the batch dimension is dynamic.
        """
        self.net.eval()
        n = 4 if batch is None else int(batch)
        example = (torch.zeros(n, len(self.names)),)
        dynamic = None if batch is not None else ({0: torch.export.Dim("batch", min=1)},)
        program = torch.export.export(self.net, example, dynamic_shapes=dynamic)
        torch.export.save(program, path)
