"""Encoder blocks of the published IvySPT: self-attention, cross-attention to market features, gated fusion.

Per block (IvySPT, "Surface Encoding"):

    S = LayerNorm(X + SA(X)),  E = LayerNorm(X + EA(X, M)),
    G = sigmoid(W_g [S; E] + b_g),  X = LayerNorm(X + G * S + (1 - G) * E),
    X = LayerNorm(X + W_2 GELU(W_1 X + b_1) + b_2),

with M the market features, one token per feature (value times a learned vector plus a learned
bias). Initialisation as published: weights N(0, 0.02), biases 0, the output projections of
self-attention and of the feed-forward network of block l (1-based) scaled by 1/sqrt(2 l), and
the gate bias at 10, so a new model starts by ignoring the market features.

The attention is written out (no fused kernel) while gradients are recorded, so that the soft
no-arbitrage terms can differentiate the output twice with respect to the token positions; at
inference it is torch's fused scaled-dot-product attention (the same formula).
"""

from __future__ import annotations

import math

import torch

__all__ = ["Attention", "EncoderBlock", "SurfaceEncoder", "initialise"]

_GATE_BIAS = 10.0


class Attention(torch.nn.Module):
    """Multi-head scaled dot-product attention with a key padding mask.

    Parameters
    ----------
    d_model : int
        Token width.
    n_heads : int
        Heads (``d_model`` divisible by it).
    """

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"n_heads: {n_heads} does not divide d_model={d_model}")
        self.n_heads = n_heads
        self.q = torch.nn.Linear(d_model, d_model)
        self.kv = torch.nn.Linear(d_model, 2 * d_model)
        self.out = torch.nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, key_valid: torch.Tensor | None) -> torch.Tensor:
        """Attend from ``x`` to ``memory``.

        Parameters
        ----------
        x : torch.Tensor, shape (B, N, d)
            Queries.
        memory : torch.Tensor, shape (B, M, d)
            Keys and values.
        key_valid : torch.Tensor of bool, shape (B, M), optional
            False for padding keys.

        Returns
        -------
        torch.Tensor, shape (B, N, d)
        """
        b, n, d = x.shape
        h = self.n_heads
        q = self.q(x).view(b, n, h, d // h).transpose(1, 2)
        k, v = self.kv(memory).view(b, memory.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        if key_valid is not None and bool(key_valid.all()):
            key_valid = None
        if not torch.is_grad_enabled():  # inference: the fused kernel (no double backward needed)
            mask = None if key_valid is None else key_valid[:, None, None, :]
            mixed = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return self.out(mixed.transpose(1, 2).reshape(b, n, d))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)
        if key_valid is not None:
            scores = scores.masked_fill(~key_valid[:, None, None, :], -math.inf)
        return self.out((torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, n, d))


class EncoderBlock(torch.nn.Module):
    """One encoder block (module docstring).

    Parameters
    ----------
    d_model, n_heads : int
        Token width and heads.
    d_ff : int
        Hidden width of the feed-forward network.
    cross : bool
        Use cross-attention to the market features (False: ablation, the block is self-attention
        and feed-forward only).
    gate : bool
        Gated fusion (False: ablation, ``S + E`` replaces the gated average).
    dropout : float
        Dropout between the feed-forward layers.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, cross: bool = True, gate: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.self_attention = Attention(d_model, n_heads)
        self.norm_self = torch.nn.LayerNorm(d_model)
        self.cross_attention = Attention(d_model, n_heads) if cross else None
        self.norm_cross = torch.nn.LayerNorm(d_model)
        self.gate = torch.nn.Linear(2 * d_model, d_model) if cross and gate else None
        self.norm_fused = torch.nn.LayerNorm(d_model)
        self.ff = torch.nn.Sequential(torch.nn.Linear(d_model, d_ff), torch.nn.GELU(), torch.nn.Dropout(dropout),
                                      torch.nn.Linear(d_ff, d_model))
        self.norm_ff = torch.nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, market: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Parameters
        ----------
        x : torch.Tensor, shape (B, N, d)
            Tokens.
        valid : torch.Tensor of bool, shape (B, N)
            False for padding tokens.
        market : torch.Tensor, shape (B, F, d)
            Market-feature tokens.

        Returns
        -------
        torch.Tensor, shape (B, N, d)
        """
        s = self.norm_self(x + self.self_attention(x, x, valid))
        if self.cross_attention is None:
            fused = s
        else:
            e = self.norm_cross(x + self.cross_attention(x, market, None))
            if self.gate is None:
                fused = s + e
            else:
                g = torch.sigmoid(self.gate(torch.cat([s, e], dim=-1)))
                fused = g * s + (1.0 - g) * e
        x = self.norm_fused(x + fused)
        return self.norm_ff(x + self.ff(x))


class SurfaceEncoder(torch.nn.Module):
    """A stack of :class:`EncoderBlock` over surface tokens, with market features as tokens.

    Parameters
    ----------
    d_model, n_heads, d_ff : int
        As in :class:`EncoderBlock`.
    n_layers : int
        Number of blocks.
    n_features : int
        Length of the market-feature vector.
    cross, gate : bool
        As in :class:`EncoderBlock` (ablations).
    dropout : float
        As in :class:`EncoderBlock`.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, n_layers: int, n_features: int,
                 cross: bool = True, gate: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.feature_vectors = torch.nn.Parameter(torch.zeros(n_features, d_model))
        self.feature_bias = torch.nn.Parameter(torch.zeros(n_features, d_model))
        self.blocks = torch.nn.ModuleList(EncoderBlock(d_model, n_heads, d_ff, cross, gate, dropout)
                                          for _ in range(n_layers))

    def forward(self, x: torch.Tensor, valid: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Encode tokens.

        Parameters
        ----------
        x : torch.Tensor, shape (B, N, d)
            Embedded tokens.
        valid : torch.Tensor of bool, shape (B, N)
            False for padding.
        features : torch.Tensor, shape (B, F)
            Standardised market features.

        Returns
        -------
        torch.Tensor, shape (B, N, d)
        """
        market = features.unsqueeze(-1) * self.feature_vectors + self.feature_bias
        for block in self.blocks:
            x = block(x, valid, market)
        return x


def initialise(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Apply the published initialisation in place (module docstring).

    Parameters
    ----------
    module : torch.nn.Module
        A model containing :class:`SurfaceEncoder` blocks; every ``Linear`` and feature vector is
        reset, LayerNorms keep their unit scale.
    generator : torch.Generator
        Random source (reproducible initialisation).
    """
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, torch.nn.Linear):
                sub.weight.copy_(torch.randn(sub.weight.shape, generator=generator) * 0.02)
                sub.bias.zero_()
            elif isinstance(sub, SurfaceEncoder):
                sub.feature_vectors.copy_(torch.randn(sub.feature_vectors.shape, generator=generator) * 0.02)
                sub.feature_bias.zero_()
        for sub in module.modules():
            if isinstance(sub, SurfaceEncoder):
                for layer, block in enumerate(sub.blocks, start=1):
                    assert isinstance(block, EncoderBlock)
                    block.self_attention.out.weight.mul_(1.0 / math.sqrt(2.0 * layer))
                    last = block.ff[-1]
                    assert isinstance(last, torch.nn.Linear)
                    last.weight.mul_(1.0 / math.sqrt(2.0 * layer))
                    if block.gate is not None:
                        block.gate.bias.fill_(_GATE_BIAS)
