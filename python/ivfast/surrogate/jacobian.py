"""Exact Jacobian of a surrogate network by hand-written forward-mode differentiation (torch).

Calibration needs d(vols)/d(params) for one parameter set at every Levenberg–Marquardt step.
``torch.func.jacrev`` gets it by one vmapped backward pass per output (one per grid point), while
pushing the n_params tangent directions through the layers alongside the values costs about as
much as a few forward passes (timings in ``bench/README.md``). The layers of
:mod:`ivfast.surrogate.networks` are few, so each gets its rule here; tests compare the result
with ``torch.func.jacrev``.
"""

from __future__ import annotations

import torch
from torch import nn

from .networks import GridMLP, ResidualMLP, SurrogateNet, _ResidualBlock

__all__ = ["value_and_jacobian"]


def _activation_slope(act: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return d act(x) / dx given x and y = act(x)."""
    if isinstance(act, nn.SiLU):
        s = torch.sigmoid(x)
        return s * (1.0 + x * (1.0 - s))
    if isinstance(act, nn.ELU):
        return torch.where(x > 0, torch.ones_like(x), y + act.alpha)
    if isinstance(act, nn.ReLU):
        return (x > 0).to(x.dtype)
    if isinstance(act, nn.Tanh):
        return 1.0 - y * y
    raise TypeError(f"no derivative rule for {type(act).__name__}")


def _push(module: nn.Module, h: torch.Tensor, dh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Value ``h`` (width,) and tangents ``dh`` (n_dirs, width) through ``module`` (eval mode)."""
    if isinstance(module, nn.Linear):
        return module(h), dh @ module.weight.T
    if isinstance(module, (nn.Sequential, ResidualMLP, GridMLP)):
        for child in module.children():
            h, dh = _push(child, h, dh)
        return h, dh
    if isinstance(module, _ResidualBlock):
        y, dy = _push(module.inner, h, dh)
        y, dy = _push(module.act, y, dy)
        y, dy = _push(module.drop, y, dy)
        y, dy = _push(module.outer, y, dy)
        return h + y, dh + dy
    if isinstance(module, nn.Dropout):
        if module.training and module.p > 0:
            raise ValueError("value_and_jacobian: put the network in eval mode (dropout is active)")
        return h, dh
    y = module(h)
    return y, dh * _activation_slope(module, h, y)


def value_and_jacobian(net: SurrogateNet, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Evaluate the network and its exact Jacobian at one parameter set.

    Parameters
    ----------
    net : SurrogateNet
        The network, in eval mode (active dropout raises ``ValueError``).
    params : torch.Tensor, shape (n_params,)
        One parameter set, in the network's dtype.

    Returns
    -------
    vols, jacobian : torch.Tensor
        Flattened vols ``f(params)`` of shape (m,) and ``df/dparams`` of shape (m, n_params),
        m = n_taus * n_strikes.
    """
    with torch.no_grad():
        h = (params - net.x_mean) / net.x_std
        dh = torch.diag(1.0 / net.x_std)
        z, dz = _push(net.body, h, dh)
        return net.y_mean + z @ net.basis, (dz @ net.basis).T
