"""Settings of the deep-smoothing fit (model size, loss weights, collocation, schedule).

Kept free of torch so that a configuration can be built, saved and inspected without it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["SmoothingConfig", "MONEYNESS_INPUTS", "QUOTE_LOSSES", "validate_moneyness"]

_ACTIVATIONS = ("softplus", "tanh", "sigmoid")
QUOTE_LOSSES = ("mid", "bid_ask")
"""Quote terms of the loss: RMSE + MAPE to the mids, or to the bid-ask interval (:mod:`ivfast.surface.losses`)."""
MONEYNESS_INPUTS = ("scaled", "asinh")
"""Extra network inputs: ``k / sqrt(tau)`` and ``asinh(k / (s sqrt(tau)))``."""


def validate_moneyness(names: Iterable[str], argument: str) -> tuple[str, ...]:
    """Check a choice of extra network inputs and return it as a tuple.

    Parameters
    ----------
    names : iterable of str
        Entries of :data:`MONEYNESS_INPUTS`, each at most once (may be empty).
    argument : str
        Name of the argument, used in the error message.

    Returns
    -------
    tuple of str
        ``names`` in their given order.

    Raises
    ------
    ValueError
        An unknown or repeated name.
    """
    names = tuple(str(m) for m in names)
    if not set(names) <= set(MONEYNESS_INPUTS) or len(set(names)) < len(names):
        raise ValueError(f"{argument}: expected distinct names from {MONEYNESS_INPUTS}, got {names}")
    return names


@dataclass(frozen=True)
class SmoothingConfig:
    """Everything that defines a deep-smoothing fit except the data.

    Defaults follow Ackerer, Tagasovska & Vatter (2020) and the reference deep-smoothing script
    (docs/references.md) where those state a choice (4 x 40 softplus network, loss weights
    4/4/4/0.1, Adam at 0.01, plateau schedule, checkpoints every 500 epochs, target best loss
    0.02); the collocation is denser and partly random, and the network scale and prior
    parameters are bounded (see :mod:`ivfast.surface` for what each choice guarantees).
    Construction checks the ranges of the fields (see Raises).

    Attributes
    ----------
    hidden_layers : tuple of int
        Widths of the hidden layers of the correction network.
    activation : {'softplus', 'tanh', 'sigmoid'}
        Hidden activation.
    use_network : bool
        False gives the prior-only model (network output identically 1).
    max_output_scale : float
        Upper bound of the learnable scale ``a`` of the head ``a * (1 + tanh(z))``; the network
        output lies in ``(0, 2 * max_output_scale)`` (plus a floor of 1e-8).
    standardise_inputs : bool
        Feed every network input standardised by its mean and standard deviation over the quotes.
    log_tau_input : bool
        The network's time input t is ln(tau) (True) or tau in years (False). ln(tau) spreads
        the short maturities, where the smile changes fastest.
    identity_start : bool
        Start the network near 1 (within a few per cent, by centring its output bias on the quotes;
        see :meth:`~ivfast.surface.network.CorrectionNetwork.start_at_one`), so that a cold fit
        starts from the L-BFGS prior instead of the prior times a random factor in (0, 2), with
        the head scale sized to the largest ratio of quoted to prior total variance (from a = 1 a
        bounded scale would grow only at Adam's step size). All layers keep their
        N(0, 1/(n_in + n_out)) initialisation. False: random network, head scale a = 1.
    moneyness_inputs : tuple of {'scaled', 'asinh'}
        Extra network inputs: ``k / sqrt(tau)`` ('scaled') and ``asinh(k / (s sqrt(tau)))`` with s
        the median ATM vol of the quotes ('asinh'); see :class:`~ivfast.surface.network.CorrectionNetwork`.
        Both let the network resolve short-maturity smiles, whose width in k shrinks like sqrt(tau).
    quote_loss : {'mid', 'bid_ask'}
        'mid': the paper's RMSE + MAPE of the fitted vols against the quoted mids. 'bid_ask':
        the same two terms of the fitted vols' distance to the bid-ask vol interval, zero inside
        it (:func:`~ivfast.surface.losses.bid_ask_rmse`; needs ``iv_bid`` and ``iv_ask`` in
        :func:`~ivfast.surface.fit_surface`). An interval shrunk to its mid gives back 'mid'.
    bid_ask_margin : float
        With 'bid_ask', the zero-loss zone is the interval shrunk toward the mid by this fraction
        of each half-width (0: the whole interval, 1: the mid alone), so that the fitted vols
        settle strictly inside the quotes rather than on their edges.
    atm_knots : int
        Most knots of the prior's fixed ATM curve (:func:`~ivfast.svi.atm.fit_softplus_curve`):
        6 give a smooth term structure; with at least as many knots as maturities the curve passes
        through every maturity's ATM variance and follows the session-to-session forward variance
        (event sessions) of a real chain's weekly and daily expiries.
    lambda_calendar, lambda_butterfly, lambda_asym, lambda_atm : float
        Penalty weights of the calendar, butterfly, large-moneyness curvature and ATM terms.
    lambda_lee : float
        Weight of ``mean relu(w / |k| - 2)`` on the wing points (Lee's moment bound; 0 disables).
    margin_calendar, margin_butterfly : float
        The penalties are ``relu(margin - dw/dtau)`` and ``relu(margin - g)``: a small positive
        margin keeps the fitted surface strictly inside the no-arbitrage region between
        collocation points (0 gives the plain penalties ``relu(-dw/dtau)`` and ``relu(-g)``).
    n_k_aux, n_tau_aux : int
        Fixed collocation grid: cubic-spaced k over ``[-(-2 k_min)^(1/3), (2 k_max)^(1/3)]^3``
        times log-spaced tau over ``[tau_min_aux, max tau]``, with k_min and k_max the quoted
        extremes (at least 1e-3 from 0). The paper uses 100 x 100; the random and adaptive
        points below cover the gaps of a coarser grid.
    max_quotes_per_maturity : int
        The loss sees at most this many quotes per maturity, evenly spaced by rank in k (0: all);
        the returned surface keeps every quote, and the fit's quality is measured on all of them.
    n_random : int
        Extra collocation points drawn afresh every epoch (same k/tau laws as the grid), so
        that the penalties also see the gaps between grid points.
    n_random_wing : int
        Extra random large-moneyness points per epoch in ``[2, 6] x k_min`` and ``[2, 6] x k_max``.
    n_adaptive : int
        Collocation slots for points where the dense check grid found violations (kept until
        overwritten by newer ones).
    check_every : int
        Epochs between dense arbitrage checks (a forward pass without gradients); the stopping
        rule also requires the best state to pass the check on the un-shifted grid.
    check_grid : tuple of 2 int
        Size (n_k, n_tau) of the dense check grid over the collocation domain; the stopping check
        uses it refined twice in each direction (cell midpoints added).
    tau_min_aux : float
        Shortest auxiliary maturity in years (default one day, 1/365); the grid starts at the
        shorter of it and the shortest quote.
    k_aux_extent : float
        The collocation grid covers at least ``[-k_aux_extent, k_aux_extent]`` in k (default 0:
        twice the quoted extremes only), for the same reason as ``tau_max_aux``.
    tau_max_aux : float
        Longest auxiliary maturity in years (default 0: the longest quote). The penalties keep the
        surface free of arbitrage only over the collocation domain; beyond the last expiry the
        network extrapolates freely, so a surface that will be evaluated (or checked) further
        out needs its collocation to reach there.
    train_dtype : {'float64', 'float32'}
        Floating-point type of training (the prior fit, the start, the returned surface and its
        certificate are float64). float32 makes an epoch about 2.6x cheaper on a CPU core.
    learning_rate, min_learning_rate : float
        Adam learning rate and the floor of the plateau schedule.
    plateau_factor, plateau_patience, plateau_threshold : float, int, float
        ``ReduceLROnPlateau`` settings (relative threshold).
    checkpoint_every : int
        Epochs between checkpoints (perturbation, divergence check, learning-rate reboots).
    perturbation_std : float
        Standard deviation of the Gaussian noise added to the network weights at checkpoints.
    reinit_after_checkpoints, reinit_loss : int, float
        Re-initialise when the best loss is still above ``reinit_loss`` after that many checkpoints.
    lr_reboot_checkpoints, lr_reboot_loss : int, float
        Reset the learning rate every that many checkpoints while the best loss is above
        ``lr_reboot_loss``.
    divergence_ratio, divergence_floor : float
        At a checkpoint, reload the best state when ``loss >= ratio * best`` and ``loss > floor``.
    target_loss : float
        Stop when the best loss reaches it.
    target_inside : float or None
        Also stop when the best state has at least this share of the quotes' fitted vols inside
        their bid-ask vol interval (needs ``iv_bid``/``iv_ask``; None: loss target only) ...
    target_expiry_inside : float
        ... and at least this share at every quoted maturity.
    max_epochs : int
        Stop after this many epochs in total.
    time_limit : float or None
        Stop after this many seconds of fitting (prior fit included) and keep the best state.
    quote_warmup : float
        Share of ``time_limit`` (in [0, 1); needs a time limit when positive) spent first on the
        quote terms alone, at about three times the epochs per second, before the full objective
        (:mod:`~ivfast.surface.warmup`); it ends early once the loss's quotes meet the inside
        targets. 0 (default) trains on the full objective throughout, as the paper does.
    prior_init_iterations : int
        L-BFGS iterations of the prior-only SSVI fit used to start the prior (0: start from
        the fixed values ``(rho, gamma, eta) = (0, 0.25, 1)``).
    log_every : int
        Epochs between history rows, progress-bar updates and callback calls.
    progress : bool
        Show a tqdm progress bar.

    Raises
    ------
    ValueError
        A field out of its range (non-positive rates or widths, negative weights, grids under 2
        points, an unknown activation or moneyness input).
    """

    hidden_layers: tuple[int, ...] = (40, 40, 40, 40)
    activation: str = "softplus"
    use_network: bool = True
    max_output_scale: float = 10.0
    standardise_inputs: bool = True
    log_tau_input: bool = True
    moneyness_inputs: tuple[str, ...] = ("scaled", "asinh")
    identity_start: bool = True
    atm_knots: int = 6
    quote_loss: str = "mid"
    bid_ask_margin: float = 0.2
    lambda_calendar: float = 4.0
    lambda_butterfly: float = 4.0
    lambda_asym: float = 4.0
    lambda_atm: float = 0.1
    lambda_lee: float = 4.0
    margin_calendar: float = 1e-4
    margin_butterfly: float = 5e-3
    n_k_aux: int = 20
    n_tau_aux: int = 20
    max_quotes_per_maturity: int = 0
    n_random: int = 128
    n_random_wing: int = 32
    n_adaptive: int = 128
    check_every: int = 100
    check_grid: tuple[int, int] = (121, 61)
    tau_min_aux: float = 1.0 / 365.0
    tau_max_aux: float = 0.0
    train_dtype: str = "float64"
    k_aux_extent: float = 0.0
    learning_rate: float = 0.01
    min_learning_rate: float = 0.01 * 0.5**3
    plateau_factor: float = 0.5
    plateau_patience: int = 100
    plateau_threshold: float = 0.01
    checkpoint_every: int = 500
    perturbation_std: float = 0.01
    reinit_after_checkpoints: int = 4
    reinit_loss: float = 1.0
    lr_reboot_checkpoints: int = 4
    lr_reboot_loss: float = 0.05
    divergence_ratio: float = 1.1
    divergence_floor: float = 0.1
    target_loss: float = 0.02
    target_inside: float | None = None
    target_expiry_inside: float = 0.0
    max_epochs: int = 100_000
    time_limit: float | None = None
    quote_warmup: float = 0.0
    prior_init_iterations: int = 100
    log_every: int = 50
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_layers", tuple(int(h) for h in self.hidden_layers))
        object.__setattr__(self, "check_grid", tuple(int(n) for n in self.check_grid))
        object.__setattr__(self, "moneyness_inputs", validate_moneyness(self.moneyness_inputs, "moneyness_inputs"))
        if len(self.check_grid) != 2 or min(self.check_grid) < 2:
            raise ValueError(f"check_grid: expected two sizes >= 2, got {self.check_grid}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation: expected one of {_ACTIVATIONS}, got {self.activation!r}")
        if self.train_dtype not in ("float64", "float32"):
            raise ValueError(f"train_dtype: expected 'float64' or 'float32', got {self.train_dtype!r}")
        if self.quote_loss not in QUOTE_LOSSES:
            raise ValueError(f"quote_loss: expected one of {QUOTE_LOSSES}, got {self.quote_loss!r}")
        shares = {"bid_ask_margin": self.bid_ask_margin, "target_expiry_inside": self.target_expiry_inside,
                  "target_inside": 0.0 if self.target_inside is None else self.target_inside}
        for name, value in shares.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit: expected a positive number of seconds or None, got {self.time_limit!r}")
        if not 0.0 <= self.quote_warmup < 1.0 or (self.quote_warmup > 0 and self.time_limit is None):
            raise ValueError(f"quote_warmup: expected a share in [0, 1) of a set time_limit, got {self.quote_warmup!r} "
                             f"with time_limit={self.time_limit!r}")
        if not self.hidden_layers or min(self.hidden_layers) < 1:
            raise ValueError(f"hidden_layers: expected positive widths, got {self.hidden_layers}")
        positive = ("max_output_scale", "learning_rate", "min_learning_rate", "tau_min_aux", "target_loss")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected a positive number, got {getattr(self, name)!r}")
        non_negative = (
            "lambda_calendar", "lambda_butterfly", "lambda_asym", "lambda_atm", "lambda_lee",
            "margin_calendar", "margin_butterfly", "n_random", "n_random_wing", "n_adaptive", "perturbation_std",
            "max_quotes_per_maturity", "tau_max_aux", "k_aux_extent",
            "prior_init_iterations",
        )
        for name in non_negative:
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}: expected a non-negative number, got {getattr(self, name)!r}")
        at_least_two = ("n_k_aux", "n_tau_aux", "atm_knots")
        for name in at_least_two:
            if getattr(self, name) < 2:
                raise ValueError(f"{name}: expected at least 2 grid points, got {getattr(self, name)!r}")
        at_least_one = ("check_every", "checkpoint_every", "max_epochs", "log_every", "plateau_patience")
        for name in at_least_one:
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> SmoothingConfig:
        """Return a copy with some fields changed (validated like a new config).

        Parameters
        ----------
        **changes
            Field names and their new values.

        Returns
        -------
        SmoothingConfig
            The new configuration; ``self`` is unchanged.
        """
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        """Serialise all fields as JSON.

        Returns
        -------
        str
            A JSON object of every field, keys sorted (tuples become lists).
        """
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SmoothingConfig:
        """Read a configuration written by :meth:`to_json`.

        Missing fields take their defaults, except ``moneyness_inputs`` (empty) and
        ``identity_start`` (False), so that a record without them describes the fit it came from.

        Parameters
        ----------
        text : str
            A JSON object of field values.

        Returns
        -------
        SmoothingConfig

        Raises
        ------
        ValueError
            Unknown field names, or a field out of its range.
        """
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"config: unknown fields {sorted(unknown)}")
        # A record without these fields describes a fit made without moneyness inputs or identity start.
        data.setdefault("moneyness_inputs", [])
        data.setdefault("identity_start", False)
        return cls(**data)
