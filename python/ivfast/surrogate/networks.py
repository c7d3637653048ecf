"""Surrogate networks (torch): parameters -> implied-vol grid.

* :class:`ResidualMLP` - a residual MLP (the reference Heston-surrogate notebook's design, see
  ``docs/references.md``): a lifting layer, ``n_blocks`` blocks ``h + W2 drop(act(W1 h))`` and a
  linear read-out of standardised PCA scores of the grid;
* :class:`GridMLP` - Horvath, Muguruza & Tomas's plain grid network (3 hidden layers of 30 ELU
  units by default) reading out every grid point, standardised per point;
* :class:`SurrogateNet` - either body between the input standardisation and the output head, so
  that the module maps raw parameters to vols and can be exported as one graph.
"""

from __future__ import annotations

import torch
from numpy.typing import ArrayLike
from torch import nn

__all__ = ["ResidualMLP", "GridMLP", "SurrogateNet", "ACTIVATIONS"]

ACTIVATIONS = {"silu": nn.SiLU, "elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


class _ResidualBlock(nn.Module):
    def __init__(self, width: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.inner = nn.Linear(width, width)
        self.act = _activation(activation)
        self.drop = nn.Dropout(dropout)
        self.outer = nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.outer(self.drop(self.act(self.inner(h))))


class ResidualMLP(nn.Module):
    """Residual MLP: Linear(in, width) + act, ``n_blocks`` residual blocks, act, Linear(width, out).

    Parameters
    ----------
    in_dim : int
        Number of inputs (model parameters).
    out_dim : int
        Number of outputs (PCA scores, or grid points).
    n_blocks : int, default 8
        Residual blocks ``h + W2 drop(act(W1 h))``, >= 0.
    width : int, default 128
        Width of the hidden layers, >= 1.
    dropout : float, default 0.0
        Dropout probability inside each block, in [0, 1).
    activation : {"silu", "elu", "relu", "tanh"}, default "silu"
        Activation function.

    Raises
    ------
    ValueError
        For sizes or a dropout outside these ranges, or an unknown activation.
    """

    def __init__(self, in_dim: int, out_dim: int, n_blocks: int = 8, width: int = 128, dropout: float = 0.0,
                 activation: str = "silu") -> None:
        super().__init__()
        if n_blocks < 0 or width < 1 or not (0.0 <= dropout < 1.0):
            raise ValueError(f"expected n_blocks >= 0, width >= 1, 0 <= dropout < 1; "
                             f"got {n_blocks}, {width}, {dropout}")
        self.lift = nn.Sequential(nn.Linear(in_dim, width), _activation(activation))
        self.blocks = nn.Sequential(*[_ResidualBlock(width, dropout, activation) for _ in range(n_blocks)])
        self.readout = nn.Sequential(_activation(activation), nn.Linear(width, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map standardised inputs to outputs.

        Parameters
        ----------
        x : torch.Tensor, shape (..., in_dim)
            Standardised inputs.

        Returns
        -------
        torch.Tensor, shape (..., out_dim)
            The read-out.
        """
        return self.readout(self.blocks(self.lift(x)))


class GridMLP(nn.Module):
    """Plain feed-forward network (Horvath et al.: 3 x 30 ELU) with a linear output per grid point.

    Parameters
    ----------
    in_dim, out_dim : int
        Numbers of inputs (model parameters) and outputs (grid points).
    hidden : tuple of int, default (30, 30, 30)
        Widths of the hidden layers.
    activation : {"silu", "elu", "relu", "tanh"}, default "elu"
        Activation function after each hidden layer.

    Raises
    ------
    ValueError
        For an unknown activation.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: tuple[int, ...] = (30, 30, 30),
                 activation: str = "elu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), _activation(activation)]
            width = h
        layers.append(nn.Linear(width, out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map standardised inputs to outputs.

        Parameters
        ----------
        x : as in :meth:`ResidualMLP.forward`

        Returns
        -------
        torch.Tensor, shape (..., out_dim)
            The outputs.
        """
        return self.layers(x)


class SurrogateNet(nn.Module):
    """Raw parameters (..., n_params) -> implied vols (..., n_taus, n_strikes).

    ``x = (params - x_mean) / x_std`` enters ``body``; its output ``z`` becomes the flattened grid
    ``y_mean + z @ basis`` (``basis`` = scaled PCA components, or a diagonal of per-point scales).
    The four arrays are stored as buffers in torch's default dtype.

    Parameters
    ----------
    body : torch.nn.Module
        :class:`ResidualMLP` or :class:`GridMLP` from ``n_params`` inputs to ``n_outputs``.
    x_mean, x_std : array_like or torch.Tensor, shape (n_params,)
        Input standardisation (the training parameters' mean and standard deviation).
    y_mean : array_like or torch.Tensor, shape (n_taus * n_strikes,)
        Mean of the flattened training grids.
    basis : array_like or torch.Tensor, shape (n_outputs, n_taus * n_strikes)
        Output head.
    grid_shape : tuple of int
        ``(n_taus, n_strikes)``.
    """

    x_mean: torch.Tensor
    x_std: torch.Tensor
    y_mean: torch.Tensor
    basis: torch.Tensor

    def __init__(self, body: nn.Module, x_mean: ArrayLike | torch.Tensor, x_std: ArrayLike | torch.Tensor,
                 y_mean: ArrayLike | torch.Tensor, basis: ArrayLike | torch.Tensor,
                 grid_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.body = body
        self.grid_shape = (int(grid_shape[0]), int(grid_shape[1]))
        for name, value in (("x_mean", x_mean), ("x_std", x_std), ("y_mean", y_mean), ("basis", basis)):
            self.register_buffer(name, torch.as_tensor(value, dtype=torch.get_default_dtype()).clone())

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        """Map raw parameters to implied vols.

        Parameters
        ----------
        params : torch.Tensor, shape (..., n_params)
            Model parameters in the training order, in the buffers' dtype.

        Returns
        -------
        torch.Tensor, shape (..., n_taus, n_strikes)
            Annualised implied vols, rows = maturities.
        """
        z = self.body((params - self.x_mean) / self.x_std)
        y = self.y_mean + z @ self.basis
        return y.reshape(y.shape[:-1] + self.grid_shape)
