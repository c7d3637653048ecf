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
from typing import Any, cast

import torch

from .. import _xp
from .config import validate_moneyness

__all__ = ["CorrectionNetwork", "Jet", "input_values"]

Jet = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""``(value, d/dk, d2/dk2, d/dtau)``, each of shape (n,)."""

_OUTPUT_FLOOR = 1e-8
"""Added to the head output so that w never reaches exactly 0 (w / tau and its square root stay finite)."""


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
_VALUES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "softplus": torch.nn.functional.softplus,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
}
"""The activations' values alone, for passes without derivatives (the same functions as above)."""


def input_values(k: Any, tau: Any, moneyness: Sequence[str], moneyness_vol: Any, log_tau_input: bool) -> list[Any]:
    """Compute the network's raw inputs ``(k, t, *moneyness features)`` before standardisation.

    Parameters
    ----------
    k, tau : ndarray or torch.Tensor
        Log-moneyness ``ln(K/F)`` and year fraction (> 0), one per point.
    moneyness : sequence of {'scaled', 'asinh'}
        Extra features (:class:`CorrectionNetwork`): ``k / sqrt(tau)``, ``asinh(k / (s sqrt(tau)))``.
    moneyness_vol : float or torch.Tensor
        The volatility s of 'asinh'.
    log_tau_input : bool
        ``t = ln(tau)`` instead of ``tau``.

    Returns
    -------
    list of ndarray or torch.Tensor
        One column per input. The trainer standardises with their NumPy mean and deviation, and
        the network evaluates the same function on tensors.
    """
    root = _xp.sqrt(tau)
    columns = [k, _xp.log(tau) if log_tau_input else tau]
    for name in moneyness:
        columns.append(k / root if name == "scaled" else _xp.asinh(k / (moneyness_vol * root)))
    return columns


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
    input_mean, input_scale : sequence of floats, one per input
        Inputs are ``(x - mean) / scale`` for x in (k, t, *moneyness features), with t = tau or
        ln(tau).
    log_tau_input : bool
        Feed ln(tau) instead of tau (resolves the short maturities, which tau squeezes near 0).
    moneyness : sequence of {'scaled', 'asinh'}
        Extra inputs. A smile varies near the money on the scale of the ATM standard deviation
        ``s sqrt(tau)`` in k (a few hundredths at a few days), which a network of k alone resolves
        only with very large first-layer weights. 'scaled' feeds ``k / sqrt(tau)``, which gives the
        short-maturity wings a region of input space of their own; 'asinh' feeds
        ``asinh(k / (s sqrt(tau)))``, in which the near-the-money detail of every maturity is
        O(1) wide and the far short-maturity wings (``k / (s sqrt(tau))`` in the hundreds) are
        compressed so that they do not swamp the standardisation.
    moneyness_vol : float
        The volatility s of 'asinh' (a typical ATM volatility of the quotes).
    generator : torch.Generator, optional
        Random source of the initial weights (:meth:`reset_parameters`).

    Raises
    ------
    ValueError
        ``input_mean``/``input_scale`` of the wrong length, an unknown moneyness input, or a
        non-positive ``moneyness_vol`` with 'asinh'.
    """

    max_output_scale: torch.Tensor
    input_mean: torch.Tensor
    input_scale: torch.Tensor
    moneyness_vol: torch.Tensor

    def __init__(self, hidden_layers: Sequence[int], activation: str, max_output_scale: float,
                 input_mean: Sequence[float] = (0.0, 0.0), input_scale: Sequence[float] = (1.0, 1.0),
                 log_tau_input: bool = False, generator: torch.Generator | None = None,
                 moneyness: Sequence[str] = (), moneyness_vol: float = 1.0) -> None:
        super().__init__()
        f64 = torch.float64
        self.moneyness = validate_moneyness(moneyness, "moneyness")
        n_inputs = 2 + len(self.moneyness)
        if len(input_mean) != n_inputs or len(input_scale) != n_inputs:
            raise ValueError(f"input_mean, input_scale: expected {n_inputs} values each, "
                             f"got {len(input_mean)} and {len(input_scale)}")
        widths = [n_inputs, *hidden_layers, 1]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(n_in, n_out, dtype=f64) for n_in, n_out in zip(widths[:-1], widths[1:]))
        self.activation = activation
        self.log_tau_input = bool(log_tau_input)
        self._activation = _ACTIVATIONS[activation]
        self.register_buffer("max_output_scale", torch.tensor(float(max_output_scale), dtype=f64))
        self.register_buffer("input_mean", torch.tensor(list(input_mean), dtype=f64))
        self.register_buffer("input_scale", torch.tensor(list(input_scale), dtype=f64))
        if "asinh" in self.moneyness:
            if not moneyness_vol > 0:
                raise ValueError(f"moneyness_vol: expected a positive volatility, got {moneyness_vol!r}")
            self.register_buffer("moneyness_vol", torch.tensor(float(moneyness_vol), dtype=f64))
        self.raw_scale = torch.nn.Parameter(torch.zeros((), dtype=f64))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw weights and biases from N(0, 1/(n_in + n_out)) and set the head scale to a = 1.

        Parameters
        ----------
        generator : torch.Generator, optional
            Random source (CPU); default torch's global one.
        """
        with torch.no_grad():
            for layer in self._linear_layers():
                std = math.sqrt(1.0 / (layer.in_features + layer.out_features))
                for p in (layer.weight, layer.bias):
                    p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype, device="cpu") * std)
            self._set_scale(1.0)

    def _set_scale(self, scale: float) -> None:
        ratio = scale / float(self.max_output_scale)
        self.raw_scale.fill_(math.log(ratio / (1.0 - ratio)) if ratio < 1.0 else 20.0)

    def start_at_one(self, scale: float, k: torch.Tensor, tau: torch.Tensor) -> None:
        """Centre the output on 1 at the points ``(k, tau)``, with head scale ``a = scale``.

        The output bias is shifted so that the mean head input over the points is
        ``atanh(1/a - 1)``, where ``a (1 + tanh)`` is 1. Every weight keeps its random initial
        value: N(0, 1/(n_in + n_out)) layers shrink the variation of the hidden features across
        inputs layer by layer, so the output starts within a few per cent of 1 (the test of this
        method bounds it), and the output weights pass a gradient to every hidden layer from the
        first step. Zeroing the output layer for an exact 1 would cut that gradient: the hidden
        layers would get none until the output weights moved away from 0, which Adam's noise
        around a well-fitting prior can keep from happening (bench/README.md, "Deep smoothing").

        The surface then starts as the prior, and ``a`` can be chosen so that the head reaches
        the corrections the data need without first growing its scale at Adam's step size.

        Parameters
        ----------
        scale : float
            Head scale ``a``, in ``(1/2, max_output_scale)``.
        k, tau : torch.Tensor
            Non-empty 1-d float64 tensors of one length: log-moneyness ``ln(K/F)`` and years to
            expiry (> 0) of the points, typically the quotes.

        Raises
        ------
        ValueError
            ``scale`` out of range, or ``k``/``tau`` not non-empty 1-d tensors of one length.
        """
        if not 0.5 < scale < float(self.max_output_scale):
            raise ValueError(f"scale: expected a value in (0.5, {float(self.max_output_scale)}), got {scale}")
        if k.ndim != 1 or k.shape != tau.shape or k.numel() == 0:
            raise ValueError(f"k, tau: expected two non-empty 1-d tensors of one length, got shapes "
                             f"{tuple(k.shape)} and {tuple(tau.shape)}")
        with torch.no_grad():
            logits = self._logits(k, tau, 0)[0]
            self._linear_layers()[-1].bias.add_(math.atanh(1.0 / scale - 1.0) - logits.mean())
            self._set_scale(scale)

    def output_scale(self) -> torch.Tensor:
        """Return the head scale ``a`` in ``(0, max_output_scale)``.

        Returns
        -------
        torch.Tensor
            A differentiable float64 scalar.
        """
        return self.max_output_scale * torch.sigmoid(self.raw_scale)

    def _linear_layers(self) -> Sequence[torch.nn.Linear]:
        """Return the layers as what they are (``ModuleList`` items are typed as plain modules)."""
        return cast("Sequence[torch.nn.Linear]", self.layers)

    def _asinh_vol(self) -> torch.Tensor | float:
        """The volatility s of the 'asinh' input (1.0, unused, without that input)."""
        return self.moneyness_vol if "asinh" in self.moneyness else 1.0

    def _inputs(self, k: torch.Tensor, tau: torch.Tensor, n: int) -> list[tuple[torch.Tensor, ...]]:
        """Raw inputs with their derivatives at the first n points: ``(x, dx/dk, d2x/dk2, dx/dtau)``."""
        vol = self._asinh_vol()
        values = input_values(k, tau, self.moneyness, vol, self.log_tau_input)
        zero = torch.zeros_like(tau[:n])
        one = zero + 1.0
        derivatives = [(one, zero, zero), (zero, zero, 1.0 / tau[:n]) if self.log_tau_input else (zero, zero, one)]
        root = torch.sqrt(tau[:n])
        for name, m in zip(self.moneyness, values[2:]):
            if name == "scaled":  # m = k / sqrt(tau): m_k = 1/sqrt(tau), m_tau = -m/(2 tau)
                derivatives.append((1.0 / root, zero, -0.5 * m[:n] / tau[:n]))
            else:  # m = asinh(u), u = k/w, w = s sqrt(tau), r = sqrt(1 + u^2):
                # m_k = 1/(w r), m_kk = -u/(w^2 r^3), m_tau = -u/(2 tau r)
                wn = vol * root
                un = k[:n] / wn
                r = torch.sqrt(1.0 + un * un)
                derivatives.append((1.0 / (wn * r), -un / (wn * wn * r.pow(3)), -0.5 * un / (tau[:n] * r)))
        return [(x, *d) for x, d in zip(values, derivatives)]

    def _first_layer(self, k: torch.Tensor, tau: torch.Tensor, n: int) -> tuple[torch.Tensor, ...]:
        """Pre-activations of the first layer and their derivatives d/dk, d2/dk2 and d/dtau.

        The derivatives cover the first n points (chain rule through the standardised inputs).
        """
        first = self._linear_layers()[0]
        values, d_k, d_kk, d_t = (torch.stack(column, dim=1) for column in zip(*self._inputs(k, tau, n)))
        weight = (first.weight / self.input_scale).T  # d(pre-activation)/d(raw input)
        z = first((values - self.input_mean) / self.input_scale)
        return z, d_k @ weight, d_kk @ weight, d_t @ weight

    def _logits(self, k: torch.Tensor, tau: torch.Tensor, n: int) -> Jet:
        """Head input z at all points, with dz/dk, d2z/dk2 and dz/dtau at the first n points."""
        z, z_k, z_kk, z_t = self._first_layer(k, tau, n)
        h, df, d2f = self._activation(z)
        df, d2f = df[:n], d2f[:n]
        # Derivative streams as one (3, n, width) tensor: one matmul per layer, and unbind/stack
        # (whose backward passes are views) instead of slices (whose backward zero-fills).
        derivs = torch.stack((df * z_k, d2f * z_k * z_k + df * z_kk, df * z_t))
        layers = self._linear_layers()
        for layer in layers[1:]:
            z = layer(h)
            dz = derivs @ layer.weight.T
            z_k, z_kk, z_t = dz.unbind(0)
            if layer is layers[-1]:
                break
            h, df, d2f = self._activation(z)
            df, d2f = df[:n], d2f[:n]
            derivs = torch.stack((df * z_k, d2f * z_k * z_k + df * z_kk, df * z_t))
        return z[:, 0], z_k[:, 0], z_kk[:, 0], z_t[:, 0]

    def _value_logits(self, k: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """Head input z alone: the value stream of :meth:`_logits`, without the derivative streams."""
        h = torch.stack(input_values(k, tau, self.moneyness, self._asinh_vol(), self.log_tau_input), dim=1)
        h = (h - self.input_mean) / self.input_scale
        layers, activation = self._linear_layers(), _VALUES[self.activation]
        for layer in layers[:-1]:
            h = activation(layer(h))
        return layers[-1](h)[:, 0]

    def forward(self, k: torch.Tensor, tau: torch.Tensor, n_jet: int | None = None) -> Jet:
        """Evaluate the network output and its derivatives.

        Parameters
        ----------
        k, tau : torch.Tensor
            1-d float64 tensors of one length: log-moneyness ``ln(K/F)`` and years to expiry (> 0).
        n_jet : int, optional
            The derivatives cover the first ``n_jet`` points only (default all).

        Returns
        -------
        Jet
            ``(w_nn, dw_nn/dk, d2w_nn/dk2, dw_nn/dtau)``: the output at all points, its
            derivatives at the first ``n_jet``.
        """
        n = k.shape[0] if n_jet is None else n_jet
        a = self.output_scale()
        # Values only (the quote warm-up, inside-share measures, exported evaluators): half the ops.
        # A Python int, not a traced size: tracing records this branch as taken for its method.
        if isinstance(n, int) and n == 0:
            value = a * (1.0 + torch.tanh(self._value_logits(k, tau))) + _OUTPUT_FLOOR
            return value, value[:0], value[:0], value[:0]
        z, z_k, z_kk, z_t = self._logits(k, tau, n)
        t = torch.tanh(z)
        d1 = a * (1.0 - t[:n] * t[:n])
        d2 = -2.0 * t[:n] * d1
        value = a * (1.0 + t) + _OUTPUT_FLOOR
        return value, d1 * z_k, d2 * z_k * z_k + d1 * z_kk, d1 * z_t
