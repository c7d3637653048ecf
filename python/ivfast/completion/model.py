"""The completion networks: the published IvySPT (vols at query points) and ivfast's SSVI-head model.

Both share the IvySPT trunk (:mod:`~ivfast.completion.embedding`, :mod:`~ivfast.completion.encoder`).
Inputs are standardised with fixed statistics of the pre-training corpus (the running statistics
a BatchNorm would hold at inference; fixed, so a surface's completion does not depend on the
other surfaces of its batch).

* ``head="iv"`` -- the published model: a linear read-out of every query token gives its
  standardised implied vol. Trained with MSE on hidden points plus soft calendar and butterfly
  penalties; nothing certifies its output.
* ``head="ssvi"`` -- ivfast's model: the observed tokens are mean-pooled, the standardised market
  features are appended (the published LayerNorm over the kernel channels removes the level of the
  smoothed vols, and the gate starts closed to the cross-attention, so without this direct path
  the read-out learns slowly what the features say), and a two-layer read-out gives three
  unconstrained reals, mapped by :func:`ivfast.svi.ssvi.power_law_from_raw` onto the
  power-law SSVI set of Gatheral & Jacquier's Theorems 4.1/4.2. With the strictly increasing ATM
  curve of the quotes, every output is free of static arbitrage by construction (a theorem, not a
  penalty), and the parameters are then refined on the quotes inside the same set
  (:mod:`~ivfast.completion.refine`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import torch

from .embedding import SurfaceEmbedding
from .encoder import SurfaceEncoder, initialise

__all__ = ["CompletionConfig", "CompletionNet", "Tokens"]


@dataclass(frozen=True)
class CompletionConfig:
    """Shape and variant of a completion network.

    Parameters
    ----------
    head : {"ssvi", "iv"}
        ``"ssvi"``: certified SSVI parameters (ivfast's model); ``"iv"``: the published IvySPT.
    d_model, n_heads, n_layers, d_ff : int
        Token width (multiple of 4), attention heads, encoder blocks, feed-forward width.
    n_features : int
        Length of the market-feature vector (:func:`ivfast.completion.features.chain_features`
        gives 5).
    kernel, positional, cross, gate : bool
        The published components; False gives the published ablations.
    dropout : float
        Feed-forward dropout.
    """

    head: str = "ssvi"
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 64
    n_features: int = 5
    kernel: bool = True
    positional: bool = True
    cross: bool = True
    gate: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.head not in ("ssvi", "iv"):
            raise ValueError(f"head: expected 'ssvi' or 'iv', got {self.head!r}")

    def to_json(self) -> str:
        """Serialise to JSON.

        Returns
        -------
        str
        """
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CompletionConfig:
        """Read :meth:`to_json` output.

        Parameters
        ----------
        text : str
            JSON object of the fields.

        Returns
        -------
        CompletionConfig
        """
        return cls(**json.loads(text))


@dataclass
class Tokens:
    """A padded batch of surface tokens (raw, unstandardised values).

    Attributes
    ----------
    k, tau, iv : torch.Tensor, shape (B, N)
        Log-moneyness ``ln(K/F)``, years, implied vol (ignored where not observed).
    observed : torch.Tensor of bool, shape (B, N)
        Tokens with a known vol.
    query : torch.Tensor of bool, shape (B, N)
        Query tokens (vol to predict).
    features : torch.Tensor, shape (B, F)
        Market features (raw).
    """

    k: torch.Tensor
    tau: torch.Tensor
    iv: torch.Tensor
    observed: torch.Tensor
    query: torch.Tensor
    features: torch.Tensor


class CompletionNet(torch.nn.Module):
    """IvySPT trunk with an ``"iv"`` or ``"ssvi"`` head (module docstring).

    Parameters
    ----------
    config : CompletionConfig
        Shape and variant.
    generator : torch.Generator, optional
        Random source of the published initialisation (None: leave torch's default init).
    """

    input_mean: torch.Tensor
    input_std: torch.Tensor
    feature_mean: torch.Tensor
    feature_std: torch.Tensor

    def __init__(self, config: CompletionConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        c = self.config = config
        self.embedding = SurfaceEmbedding(c.d_model, c.kernel, c.positional)
        self.encoder = SurfaceEncoder(c.d_model, c.n_heads, c.d_ff, c.n_layers, c.n_features, c.cross, c.gate,
                                      c.dropout)
        if c.head == "iv":
            self.readout = torch.nn.Sequential(torch.nn.Linear(c.d_model, 1))
        else:
            self.readout = torch.nn.Sequential(torch.nn.Linear(c.d_model + c.n_features, c.d_model), torch.nn.GELU(),
                                               torch.nn.Linear(c.d_model, 3))
        # Standardisation: (k, tau, iv) and features; set from the corpus by set_standardisation.
        self.register_buffer("input_mean", torch.zeros(3))
        self.register_buffer("input_std", torch.ones(3))
        self.register_buffer("feature_mean", torch.zeros(c.n_features))
        self.register_buffer("feature_std", torch.ones(c.n_features))
        if generator is not None:
            initialise(self, generator)

    def set_standardisation(self, inputs: torch.Tensor, features: torch.Tensor) -> None:
        """Fix the standardisation statistics from corpus samples.

        Parameters
        ----------
        inputs : torch.Tensor, shape (n, 3)
            (k, tau, iv) of many quotes.
        features : torch.Tensor, shape (m, n_features)
            Feature vectors of many surfaces.
        """
        with torch.no_grad():
            self.input_mean.copy_(inputs.mean(0))
            self.input_std.copy_(inputs.std(0).clamp_min(1e-6))
            self.feature_mean.copy_(features.mean(0))
            self.feature_std.copy_(features.std(0).clamp_min(1e-6))

    def standardised_features(self, t: Tokens) -> torch.Tensor:
        """The market features of a batch, standardised.

        Parameters
        ----------
        t : Tokens
            The batch.

        Returns
        -------
        torch.Tensor, shape (B, n_features)
        """
        return (t.features - self.feature_mean) / self.feature_std

    def encode(self, t: Tokens) -> torch.Tensor:
        """Run embedding and encoder.

        Parameters
        ----------
        t : Tokens
            The batch.

        Returns
        -------
        torch.Tensor, shape (B, N, d_model)
        """
        m, s = self.input_mean, self.input_std
        x = torch.stack([(t.k - m[0]) / s[0], (t.tau - m[1]) / s[1]], dim=-1)
        f = (t.iv - m[2]) / s[2]
        features = self.standardised_features(t)
        h = self.embedding(x, f, t.observed, t.query)
        # Keys are the observed tokens only (the published model lets queries attend to queries):
        # a query's vol then does not depend on which other points are asked for, and its
        # derivatives in its own (k, tau), which the arbitrage terms need, are exact.
        return self.encoder(h, t.observed, features)

    def forward(self, t: Tokens) -> torch.Tensor:
        """Apply the head.

        Parameters
        ----------
        t : Tokens
            The batch.

        Returns
        -------
        torch.Tensor
            ``head="iv"``: implied vols of every token, shape (B, N) (meaningful at query tokens).
            ``head="ssvi"``: unconstrained SSVI parameters ``(raw_rho, raw_gamma, raw_eta)``,
            shape (B, 3).
        """
        h = self.encode(t)
        if self.config.head == "iv":
            return self.input_mean[2] + self.input_std[2] * self.readout(h).squeeze(-1)
        weight = t.observed.unsqueeze(-1).to(h.dtype)
        pooled = (h * weight).sum(1) / weight.sum(1).clamp_min(1.0)
        return self.readout(torch.cat([pooled, self.standardised_features(t)], dim=-1))
