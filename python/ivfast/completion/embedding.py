"""Surface embedding of the published IvySPT: kernel-smoothed vols, 2-D sinusoidal encoding, mask token.

Reference: "A Surface is Worth Hundreds of Options: Pre-Training Transformers for No-Arbitrage
Implied Volatility Surfaces" (IvySPT). Every token is a point ``x_j = (M_j, T_j)`` of the
standardised (moneyness, maturity) plane; observed tokens carry a vol, query tokens do not.

* Channel c of the embedding of token j is the kernel-weighted mean of the *observed* vols,
  ``h_j^(c) = sum_i k_c(y_i, x_j) f_i / sum_i k_c(y_i, x_j)``, with elliptical RBF kernels
  ``k_c(x, y) = exp(-(x - y)^T A (x - y) / (2 trace(A) sigma_c^2))``, ``A = diag(s)`` a learnable
  positive scale (initialised to 1) and fixed bandwidths ``sigma_c = Phi^-1((p_c + 1)/2)`` for
  ``p_c = c/(d+1)``, c = 1..d. Query points never contribute their own vol.
* LayerNorm over the channels; the learnable mask token is added to query tokens; then
  ``H = LayerNorm(H + sqrt(2) PE(M, T))`` with the 2-D sinusoidal encoding
  ``PE_{4i..4i+3} = sin(M f_i), cos(M f_i), sin(T f_i), cos(T f_i)``, ``f_i = sigma_scale^(-4i/d)``
  and a learnable ``sigma_scale`` initialised to 10000 (held as its logarithm, so it stays positive).
"""

from __future__ import annotations

import math

import torch
from scipy.special import ndtri

__all__ = ["KernelEmbedding", "PositionalEncoding2D", "SurfaceEmbedding"]


def _bandwidths(d: int) -> torch.Tensor:
    p = torch.arange(1, d + 1, dtype=torch.float64) / (d + 1)
    return torch.as_tensor(ndtri(((p + 1.0) / 2.0).numpy()))


class KernelEmbedding(torch.nn.Module):
    """Multi-bandwidth elliptical RBF smoothing of the observed vols (module docstring).

    Parameters
    ----------
    d_model : int
        Number of kernels (channels) d.
    enabled : bool
        False gives the ablation without the kernel embedding: every channel is the token's own
        (standardised) vol, 0 for query tokens.
    """

    bandwidth: torch.Tensor

    def __init__(self, d_model: int, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled
        self.register_buffer("bandwidth", _bandwidths(d_model).float())
        self.log_scale = torch.nn.Parameter(torch.zeros(2))

    def forward(self, x: torch.Tensor, f: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Embed tokens.

        Parameters
        ----------
        x : torch.Tensor, shape (B, N, 2)
            Standardised (moneyness, maturity) of every token.
        f : torch.Tensor, shape (B, N)
            Standardised vols (ignored where not observed).
        observed : torch.Tensor of bool, shape (B, N)
            Tokens whose vol is known (padding and query tokens are False).

        Returns
        -------
        torch.Tensor, shape (B, N, d)
        """
        if not self.enabled:
            return (f * observed).unsqueeze(-1).expand(-1, -1, self.bandwidth.numel())
        a = torch.exp(self.log_scale)
        diff = x.unsqueeze(2) - x.unsqueeze(1)  # (B, query j, source i, 2)
        dist = (diff.square() * a).sum(-1) / (2.0 * a.sum())
        if not bool(observed.all()):
            dist = dist.masked_fill(~observed[:, None, :], math.inf)
        # The softmax over sources i of -dist / sigma_c^2, computed stably by hand: its maximum is
        # -min_i dist / sigma_c^2 for every channel, so one shift serves all d channels, and the
        # weighted mean is a matrix product of the kernel with [f, 1] (channels first: contiguous).
        shifted = dist - dist.amin(dim=2, keepdim=True)
        kernel = torch.exp(-shifted.unsqueeze(1) / self.bandwidth.square()[:, None, None])  # (B, c, j, i)
        values = torch.stack([f * observed, torch.ones_like(f)], dim=-1).unsqueeze(1)  # (B, 1, i, 2)
        sums = kernel @ values  # (B, c, j, 2)
        return (sums[..., 0] / sums[..., 1]).transpose(1, 2)


class PositionalEncoding2D(torch.nn.Module):
    """The published 2-D sinusoidal encoding with a learnable ``sigma_scale`` (init 10000).

    Parameters
    ----------
    d_model : int
        Embedding width, a multiple of 4.
    """

    exponent: torch.Tensor

    def __init__(self, d_model: int) -> None:
        super().__init__()
        if d_model % 4:
            raise ValueError(f"d_model: expected a multiple of 4, got {d_model}")
        self.register_buffer("exponent", 4.0 * torch.arange(d_model // 4, dtype=torch.float32) / d_model)
        self.log_sigma_scale = torch.nn.Parameter(torch.tensor(math.log(10000.0)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode positions.

        Parameters
        ----------
        x : torch.Tensor, shape (..., 2)
            Standardised (moneyness, maturity).

        Returns
        -------
        torch.Tensor, shape (..., d_model)
        """
        freq = torch.exp(-self.log_sigma_scale * self.exponent)
        m, t = x[..., :1] * freq, x[..., 1:] * freq
        return torch.stack([m.sin(), m.cos(), t.sin(), t.cos()], dim=-1).flatten(-2)


class SurfaceEmbedding(torch.nn.Module):
    """Kernel embedding -> LayerNorm -> + mask token -> LayerNorm(H + sqrt(2) PE).

    Parameters
    ----------
    d_model : int
        Embedding width (a multiple of 4).
    kernel : bool
        Use the kernel embedding (False: ablation).
    positional : bool
        Add the positional encoding (False: ablation).
    """

    def __init__(self, d_model: int, kernel: bool = True, positional: bool = True) -> None:
        super().__init__()
        self.kernel = KernelEmbedding(d_model, kernel)
        self.positional = PositionalEncoding2D(d_model) if positional else None
        self.norm_kernel = torch.nn.LayerNorm(d_model)
        self.norm_out = torch.nn.LayerNorm(d_model)
        self.mask_token = torch.nn.Parameter(torch.zeros(d_model))

    def forward(self, x: torch.Tensor, f: torch.Tensor, observed: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Embed a padded batch of tokens.

        Parameters
        ----------
        x, f, observed : as in :meth:`KernelEmbedding.forward`
        query : torch.Tensor of bool, shape (B, N)
            Query tokens (they receive the mask token).

        Returns
        -------
        torch.Tensor, shape (B, N, d_model)
        """
        h = self.norm_kernel(self.kernel(x, f, observed))
        h = h + query.unsqueeze(-1) * self.mask_token
        if self.positional is not None:
            h = h + math.sqrt(2.0) * self.positional(x)
        return self.norm_out(h)
