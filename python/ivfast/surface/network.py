"""Correction network w_nn(k, tau) = a * (1 + tanh(z(k, tau))) with derivatives carried forward.

The forward pass propagates the value together with dz/dk, d2z/dk2 and dz/dtau through every
layer (forward-mode "jets"): a linear layer maps the three derivative streams with one matmul and
no bias; an activation f maps ``(z, z_k, z_kk, z_t)`` to
``(f(z), f'(z) z_k, f''(z) z_k^2 + f'(z) z_kk, f'(z) z_t)``. One pass therefore gives every
derivative the no-arbitrage penalties need, and the parameter gradient is a single first-order
backward pass (no double backward through ``create_graph``). The same explicit formulas are what
an exporter evaluates, so nothing here relies on custom autograd Functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

__all__ = ["CorrectionNetwork", "Jet"]

Jet = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""``(value, d/dk, d2/dk2, d/dtau)``, each of shape (n,)."""

_OUTPUT_FLOOR = 1e-8
"""Added to the head output so that w never reaches exactly 0 (as in the seed)."""


def _softplus_derivatives(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s = torch.sigmoid(z)
    return torch.nn.functional.softplus(z), s, s * (1.0 - s)


def _tanh_derivatives(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    t = torch.tanh(z)
    d = 1.0 - t * t
    return t, d, -2.0 * t * d


def _sigmoid_derivatives(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s = torch.sigmoid(z)
    d = s * (1.0 - s)
    return s, d, d * (1.0 - 2.0 * s)


_ACTIVATIONS: dict[str, Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {
    "softplus": _softplus_derivatives,
    "tanh": _tanh_derivatives,
    "sigmoid": _sigmoid_derivatives,
}


class CorrectionNetwork(torch.nn.Module):
    """MLP on (k, tau) with a bounded one-plus-tanh head, float64.

    Parameters
    ----------
    hidden_layers : sequence of int
        Hidden widths (default in :class:`~ivfast.surface.SmoothingConfig`: 4 x 40).
    activation : str
        'softplus', 'tanh' or 'sigmoid'.
    max_output_scale : float
        The head scale is ``a = max_output_scale * sigmoid(raw_scale)`` (starts at a = 1).
    input_mean, input_scale : sequence of 2 floats
        Inputs are ``((k - mean_k) / scale_k, (t - mean_t) / scale_t)`` with t = tau or ln(tau).
    log_tau_input : bool
        Feed ln(tau) instead of tau (resolves the short maturities, which tau squeezes near 0).
    """

    def __init__(self, hidden_layers: Sequence[int], activation: str, max_output_scale: float,
                 input_mean: Sequence[float] = (0.0, 0.0), input_scale: Sequence[float] = (1.0, 1.0),
                 log_tau_input: bool = False, generator: torch.Generator | None = None) -> None:
        super().__init__()
        f64 = torch.float64
        widths = [2, *hidden_layers, 1]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(n_in, n_out, dtype=f64) for n_in, n_out in zip(widths[:-1], widths[1:]))
        self.activation = activation
        self.log_tau_input = bool(log_tau_input)
        self._activation = _ACTIVATIONS[activation]
        self.register_buffer("max_output_scale", torch.tensor(float(max_output_scale), dtype=f64))
        self.register_buffer("input_mean", torch.tensor(list(input_mean), dtype=f64))
        self.register_buffer("input_scale", torch.tensor(list(input_scale), dtype=f64))
        self.raw_scale = torch.nn.Parameter(torch.zeros((), dtype=f64))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Weights and biases N(0, 1/(n_in + n_out)) as in the seed; head scale a = 1."""
        with torch.no_grad():
            for layer in self.layers:
                std = math.sqrt(1.0 / (layer.in_features + layer.out_features))
                for p in (layer.weight, layer.bias):
                    p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype, device="cpu") * std)
            ratio = 1.0 / float(self.max_output_scale)
            self.raw_scale.fill_(math.log(ratio / (1.0 - ratio)) if ratio < 1.0 else 20.0)

    def output_scale(self) -> torch.Tensor:
        """The head scale ``a`` in ``(0, max_output_scale)``."""
        return self.max_output_scale * torch.sigmoid(self.raw_scale)

    def forward(self, k: torch.Tensor, tau: torch.Tensor, n_jet: int | None = None) -> Jet:
        """Network output at all points; its derivatives in k (first, second) and tau (first) at the
        first ``n_jet`` points (default all)."""
        n = k.shape[0] if n_jet is None else n_jet
        first = self.layers[0]
        time = torch.log(tau) if self.log_tau_input else tau
        x = torch.stack(((k - self.input_mean[0]) / self.input_scale[0],
                         (time - self.input_mean[1]) / self.input_scale[1]), dim=1)
        z = first(x)
        # d(input)/dk is constant; d(input)/dtau is too unless the time input is ln(tau).
        z_k = (first.weight[:, 0] / self.input_scale[0]).expand(n, -1)
        z_t = first.weight[:, 1] / self.input_scale[1]
        z_t = z_t / tau[:n, None] if self.log_tau_input else z_t.expand(n, -1)
        h, df, d2f = self._activation(z)
        df, d2f = df[:n], d2f[:n]
        # Derivative streams as one (3, n, width) tensor: one matmul per layer, and unbind/stack
        # (whose backward passes are views) instead of slices (whose backward zero-fills).
        derivs = torch.stack((df * z_k, d2f * z_k * z_k, df * z_t))
        for layer in self.layers[1:]:
            z = layer(h)
            dz = derivs @ layer.weight.T
            z_k, z_kk, z_t = dz.unbind(0)
            if layer is self.layers[-1]:
                break
            h, df, d2f = self._activation(z)
            df, d2f = df[:n], d2f[:n]
            derivs = torch.stack((df * z_k, d2f * z_k * z_k + df * z_kk, df * z_t))
        z, z_k, z_kk, z_t = z[:, 0], z_k[:, 0], z_kk[:, 0], z_t[:, 0]
        a = self.output_scale()
        t = torch.tanh(z)
        d1 = a * (1.0 - t[:n] * t[:n])
        d2 = -2.0 * t[:n] * d1
        value = a * (1.0 + t) + _OUTPUT_FLOOR
        return value, d1 * z_k, d2 * z_k * z_k + d1 * z_kk, d1 * z_t
