"""Training loop of the deep-smoothing fit: Adam with a plateau schedule and checkpoints.

The loss and the convergence scheme are those of the reference deep-smoothing script (after
Ackerer, Tagasovska & Vatter 2020; see docs/references.md). What makes the loop fast: one batch
of every point set (:class:`~ivfast.surface.collocation.Collocation`), its random tail refilled
in place; one forward pass with w, dw/dk, d2w/dk2, dw/dtau (:mod:`~ivfast.surface.network`), so
the gradient is one first-order backward pass; the prior fitted alone first; the best state in memory.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike

from ..arbitrage import ArbitrageReport, check_surface
from ..arbitrage.density import butterfly_g
from .collocation import Collocation
from .config import SmoothingConfig
from .fitted import FittedSurface
from .inputs import Quotes, validate_quotes
from .model import SurfaceModel
from .objective import LOSS_COLUMNS, EveryQuote, QuoteTargets, build_batch, evaluate_loss
from .progress import FitProgress
from .start import build_model, fit_prior, start_network
from .start_result import certified_start
from .warmup import WarmUp, warm_up

__all__ = ["fit_surface"]

HISTORY_COLUMNS = ("epoch", "total_epoch", "best_loss", *LOSS_COLUMNS, "lr", "seconds")
"""``seconds``: wall time since :func:`fit_surface` began (prior fit included): the time to any loss level."""

Callback = Callable[[dict[str, Any]], object]
"""Called with each history row (a dict keyed by :data:`HISTORY_COLUMNS`); a truthy return stops."""

_VERIFY_COOLDOWN = 10
"""Epochs between a failed stopping check and the next one."""
_VERIFY_REFINEMENT = 2
"""The stopping check subdivides the periodic check grid's cells (about 4x the points)."""


class _Trainer:
    """The reference script's convergence scheme around Adam + ReduceLROnPlateau, best state in memory."""

    def __init__(self, model: SurfaceModel, points: Collocation, quotes: Quotes, targets: QuoteTargets,
                 config: SmoothingConfig, generator: torch.Generator, reinit: Callable[[], None],
                 started: float, every_quote: EveryQuote | None = None) -> None:
        self.started = started
        self.model, self.points, self.quotes, self.targets = model, points, quotes, targets
        self.every_quote = every_quote
        self.config, self.generator, self.reinit = config, generator, reinit
        self.params: list[torch.Tensor] = [p for p in model.parameters() if p.requires_grad]
        self.best_state = [p.detach().clone() for p in self.params]
        self.best_loss = math.inf
        self.best_inside = (math.nan, math.nan)  # (share inside bid-ask, worst maturity's share) of the best state
        # The best state among those the periodic check found free of calendar/butterfly violations:
        # what a fit stopped before its target (time limit, epochs) returns if its best state fails the check.
        self.clean_state = [p.detach().clone() for p in self.params]
        self.clean_loss = math.inf
        self.clean_inside = (math.nan, math.nan)
        self.history: list[list[float]] = []
        self.rejected = 0
        self.fell_back = False
        self._next_verification = 0
        self.epochs, self.warmup = 0, WarmUp(0, 0.0, math.nan, math.nan)  # until run() has run
        self._new_optimiser(config.learning_rate)

    def _new_optimiser(self, lr: float) -> None:
        c = self.config
        groups = [{"params": list(self.model.prior.parameters())}]
        if self.model.network is not None:
            groups.append({"params": list(self.model.network.parameters())})
        self.optimiser = torch.optim.Adam(groups, lr=lr, foreach=True)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimiser, mode="min", factor=c.plateau_factor, patience=c.plateau_patience,
            threshold=c.plateau_threshold, min_lr=c.min_learning_rate)

    @property
    def lr(self) -> float:
        return self.optimiser.param_groups[0]["lr"]

    def _snapshot(self, into: list[torch.Tensor]) -> None:
        with torch.no_grad():
            torch._foreach_copy_(into, [p.detach() for p in self.params])

    def restore_best(self) -> None:
        if math.isfinite(self.best_loss):
            with torch.no_grad():
                torch._foreach_copy_(self.params, self.best_state)

    def _perturb(self) -> None:
        if self.model.network is None or self.config.perturbation_std == 0:
            return
        with torch.no_grad():
            for p in self.model.network.parameters():
                noise = torch.randn(p.shape, generator=self.generator, dtype=p.dtype, device=p.device)
                p.add_(noise, alpha=self.config.perturbation_std)

    def _check_axes(self, shifted: bool, refine: int) -> tuple[np.ndarray, np.ndarray]:
        """Axes of the dense check grid over the collocation domain.

        ``shifted`` moves it by a random fraction of a cell, ``refine`` subdivides its cells.
        """
        n_k, n_tau = ((n - 1) * refine + 1 for n in self.config.check_grid)
        return self.points.check_axes(n_k, n_tau, self.generator if shifted else None)

    def seek_violations(self, shifted: bool, refine: int = 1) -> int:
        """Move the worst violations on the dense check grid into the adaptive collocation slots.

        The calendar and butterfly conditions of the current state are evaluated on the grid;
        the worst violations go where the penalties see them, and their count is returned.
        Part of the penalty machinery (every ``check_every`` epochs): the loss's jet, on the device,
        without the density and wing checks of :meth:`certify`, so that it stays cheap.
        """
        c = self.config
        axes = (torch.as_tensor(a, device=self.points.k.device, dtype=self.points.k.dtype)
                for a in self._check_axes(shifted, refine))
        k, tau = (a.reshape(-1) for a in torch.meshgrid(*axes, indexing="ij"))
        with torch.no_grad():
            w, w_k, w_kk, w_t, _ = self.model(k, tau)
            g = butterfly_g(w, w_k, w_kk, k)
        # Rank by the worse of the two conditions, each relative to the margin its penalty keeps.
        badness = torch.maximum(-g / max(c.margin_butterfly, 1e-12), -w_t / max(c.margin_calendar, 1e-12))
        bad = torch.nonzero(badness > 0).squeeze(1)
        if bad.numel():
            worst = bad[torch.argsort(badness[bad], descending=True)][: max(1, self.points.adaptive_capacity // 4)]
            self.points.add_adaptive(k[worst], tau[worst])
        return int(bad.numel())

    def certify(self, model: SurfaceModel | None = None) -> ArbitrageReport:
        """Certify the current state (or ``model``): :func:`ivfast.arbitrage.check_surface`, refined check grid."""
        k, tau = self._check_axes(shifted=False, refine=_VERIFY_REFINEMENT)
        surface = FittedSurface(self.model if model is None else model, self.config, pd.DataFrame(), self.quotes, {})
        return check_surface(surface, k=k, tau=tau)

    def _verified(self) -> bool:
        """Check the best state's calendar and butterfly conditions on the refined grid (stopping rule).

        On failure the violations join the adaptive points and training resumes from the current
        state (not the failed best one, which would otherwise win again at once).
        """
        current = [p.detach().clone() for p in self.params]
        self.restore_best()
        violations = self.seek_violations(shifted=False, refine=_VERIFY_REFINEMENT)
        if violations and self.points.adaptive_capacity:
            self.rejected += 1
            with torch.no_grad():
                torch._foreach_copy_(self.params, current)
            return False
        return True

    def _confirmed(self, inside: tuple[float, float]) -> tuple[float, float]:
        """Inside shares on every quote once the loss's thinned quotes meet the inside targets."""
        c = self.config
        meets = c.target_inside is not None and inside[0] >= c.target_inside and inside[1] >= c.target_expiry_inside
        return self.every_quote.inside(self.model) if meets and self.every_quote is not None else inside

    def _target_met(self) -> bool:
        """The best state reached the loss target, or the inside-bid-ask targets."""
        c, (inside, worst) = self.config, self.best_inside
        if self.best_loss <= c.target_loss:
            return True
        return c.target_inside is not None and inside >= c.target_inside and worst >= c.target_expiry_inside

    def run(self, callback: Callback | None, progress: bool) -> str:
        c = self.config
        epoch = total = last_checkpoint = 0
        loss_value = math.inf
        period = c.checkpoint_every
        bar = FitProgress(c, self.started, progress)
        reason = "max_epochs"
        try:
            self.warmup = warm_up(self.model, self.points, self.targets, c, self.optimiser, self.started, bar)
            if self.warmup.epochs:  # Adam's moments of the quote terms alone do not fit the full objective
                self._new_optimiser(c.learning_rate)
            while total < c.max_epochs:
                if c.time_limit is not None and time.perf_counter() - self.started > c.time_limit:
                    reason = "time_limit"
                    break
                if self._target_met() and total >= self._next_verification:
                    if self._verified():
                        reason = "target"
                        break
                    # The best state failed the check: forget it, and give the optimiser a few
                    # epochs with the violations in the penalty before checking again.
                    self.best_loss, self.best_inside = math.inf, (math.nan, math.nan)
                    self._next_verification = total + _VERIFY_COOLDOWN
                epoch += 1
                total += 1
                if epoch == c.reinit_after_checkpoints * period and self.best_loss > c.reinit_loss:
                    self.reinit()
                    self._new_optimiser(c.learning_rate)
                    self.best_loss, self.best_inside, epoch = math.inf, (math.nan, math.nan), 0
                    continue
                if epoch % period == 0:
                    diverging = loss_value >= c.divergence_ratio * self.best_loss and loss_value > c.divergence_floor
                    if diverging and epoch > period:
                        self.restore_best()
                        self._new_optimiser(self.lr)
                        epoch, loss_value = last_checkpoint, self.best_loss
                        continue
                    if epoch % (c.lr_reboot_checkpoints * period) == 0 and self.best_loss > c.lr_reboot_loss:
                        self._new_optimiser(c.learning_rate)
                    self._perturb()
                    last_checkpoint = epoch
                clean = False
                if total % c.check_every == 0 and self.points.adaptive_capacity:
                    clean = self.seek_violations(shifted=True) == 0
                self.points.resample(self.generator)
                self.optimiser.zero_grad(set_to_none=True)
                terms = evaluate_loss(self.model, self.points, self.targets, c)
                loss_value = terms.total.item()
                if math.isnan(loss_value):
                    reason = "nan"
                    break
                if loss_value < self.best_loss:
                    self.best_loss, self.best_inside = loss_value, self._confirmed((terms.inside, terms.worst_inside))
                    self._snapshot(self.best_state)
                if clean and loss_value < self.clean_loss:
                    self.clean_loss, self.clean_inside = loss_value, (terms.inside, terms.worst_inside)
                    self._snapshot(self.clean_state)
                terms.total.backward()
                self.optimiser.step()
                self.scheduler.step(loss_value)
                if total % c.log_every == 0 or self._target_met():
                    row = self._log(epoch, total, terms.values(), bar)
                    if callback is not None and callback(row):
                        reason = "callback"
                        break
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            bar.update(total, self.best_loss, self.best_inside[0], {"stop": reason})
            bar.close()
        self.restore_best()
        self.epochs = total
        return reason

    def certified_result(self) -> ArbitrageReport:
        """Certify the best state (float64 after training); if it fails and the best clean state passes, keep that.

        The certificate decides, not the float32 periodic check that picked the clean state.
        """
        certificate = self.certify()
        if not certificate.ok() and math.isfinite(self.clean_loss):
            best = [p.detach().clone() for p in self.params]
            with torch.no_grad():
                torch._foreach_copy_(self.params, self.clean_state)
            fallback = self.certify()
            if fallback.ok():
                certificate, self.fell_back = fallback, True
                self.best_loss, self.best_inside = self.clean_loss, self.clean_inside
            else:
                with torch.no_grad():
                    torch._foreach_copy_(self.params, best)
        if self.every_quote is not None and not math.isnan(self.best_inside[0]):  # report every quote's share
            self.best_inside = self.every_quote.inside(self.model)
        return certificate

    def _log(self, epoch: int, total: int, values: dict[str, float], bar: FitProgress) -> dict[str, Any]:
        row = {"epoch": epoch, "total_epoch": total, "best_loss": self.best_loss, **values, "lr": self.lr,
               "seconds": time.perf_counter() - self.started}
        self.history.append([row[c] for c in HISTORY_COLUMNS])
        postfix = {"epoch": str(total), "best": f"{self.best_loss:.4g}", "loss": f"{values['loss']:.4g}"}
        if not math.isnan(self.best_inside[0]):
            postfix["inside"] = f"{100 * self.best_inside[0]:.1f}% (worst {100 * self.best_inside[1]:.0f}%)"
        bar.update(total, self.best_loss, self.best_inside[0], postfix | {
            "cal": f"{values['calendar']:.1e}", "but": f"{values['butterfly']:.1e}", "lr": f"{self.lr:.1e}"})
        return row


def fit_surface(k: ArrayLike, tau: ArrayLike, iv: ArrayLike, *, weights: ArrayLike | None = None,
                iv_bid: ArrayLike | None = None, iv_ask: ArrayLike | None = None,
                config: SmoothingConfig | None = None, init: FittedSurface | None = None, seed: int = 0,
                device: str | torch.device = "cpu", callback: Callback | None = None, drop_invalid: bool = False,
                progress: bool | None = None) -> FittedSurface:
    """Fit a deep-smoothing total-variance surface ``w = w_SSVI * w_nn`` to implied vols.

    The SSVI prior (on an increasing ATM curve fitted to the quotes) is fitted alone, then prior
    and network together on RMSE + MAPE of the vols plus the no-arbitrage penalties until the
    best loss reaches ``config.target_loss`` (or enough vols lie inside bid-ask,
    ``config.target_inside``; ``config.quote_loss='bid_ask'`` measures the distance to the
    interval) and the best state passes the dense calendar/butterfly check, or a stop condition.

    Parameters
    ----------
    k : array_like
        Log-moneyness ``k = ln(K/F)`` against the forward to each quote's expiry. Any shape;
        ``k``, ``tau``, ``iv`` (and ``weights``) are flattened and must have the same size (no
        broadcasting), at least 3 valid quotes.
    tau : array_like
        Year fractions to expiry (> 0), exact (not rounded to days).
    iv : array_like
        Black implied volatilities (annualised, > 0; 0.2 is 20 %).
    weights : array_like, optional
        Non-negative weights of the quotes in RMSE and MAPE, one positive at least (default equal).
    iv_bid, iv_ask : array_like, optional
        Bid and ask implied vols of the quotes (NaN where none exists: a bid below intrinsic, an
        ask at the price bound), both or neither; needed by ``config.quote_loss='bid_ask'`` and
        ``config.target_inside``, and give the history's ``inside``/``worst_inside`` columns.
    config : SmoothingConfig, optional
        Model, loss and schedule settings (default ``SmoothingConfig()``).
    init : FittedSurface, optional
        Warm start: the prior parameters and network weights (with its input standardisation)
        of a previous fit with the same network shape; the ATM curve is refitted to the new
        quotes. A completion of these quotes (:func:`ivfast.complete_surface`) is also a
        candidate result (:mod:`~ivfast.surface.start_result`): returned untrained when it meets
        the inside targets, or when training ends worse.
    seed : int
        Seed of the network initialisation, random collocation points and perturbations.
    device : str or torch.device
        ``'cpu'`` (default) or ``'cuda'`` (``'cuda:N'``) for training; the result is on the CPU.
    callback : callable, optional
        Called every ``config.log_every`` epochs (and every epoch once the target is reached) with
        the history row (a dict keyed by the history columns); a truthy return value stops.
    drop_invalid : bool
        Drop NaN/non-positive quotes with a ``RuntimeWarning`` instead of raising ``ValueError``.
    progress : bool, optional
        Override ``config.progress`` (tqdm bar showing the best loss and the loss terms).

    Returns
    -------
    FittedSurface
        The best state seen (also after Ctrl-C), its loss history and fit information:
        ``info['stop_reason']`` is 'target', 'start' (``init`` met the targets), 'max_epochs',
        'time_limit', 'callback', 'interrupted' or 'nan'; ``info['returned_start']`` says ``init``
        was returned; ``info['warmup_epochs']`` counts the quote warm-up's epochs (not in
        ``epochs`` or the history); ``certificate`` is the :func:`ivfast.arbitrage.check_surface` report.

    Raises
    ------
    ValueError
        Mismatched sizes, invalid quotes (unless ``drop_invalid``), fewer than 3 valid quotes,
        no positive weight, ``config`` not a :class:`SmoothingConfig`, a bid-ask loss or target
        without ``iv_bid``/``iv_ask``, CUDA requested but not available, or an ``init`` that does
        not match the network of ``config``.
    """
    config = SmoothingConfig() if config is None else config
    if not isinstance(config, SmoothingConfig):
        raise ValueError(f"config: expected a SmoothingConfig, got {type(config).__name__}")
    if iv_bid is None and (config.quote_loss == "bid_ask" or config.target_inside is not None):
        raise ValueError("iv_bid, iv_ask: config.quote_loss='bid_ask' and config.target_inside need the bid and "
                         "ask vols")
    quotes = validate_quotes(k, tau, iv, weights, iv_bid=iv_bid, iv_ask=iv_ask, drop_invalid=drop_invalid)
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: CUDA requested but torch.cuda.is_available() is False")
    started = time.perf_counter()
    init_generator = torch.Generator().manual_seed(seed)
    model = build_model(quotes, config, init, init_generator).to(device)
    # A copy: the quotes may be read-only views of the caller's arrays, which torch will not wrap.
    as_t = lambda a: torch.tensor(a, dtype=torch.float64, device=device)
    k_t, tau_t, iv_t = as_t(quotes.k), as_t(quotes.tau), as_t(quotes.iv)
    w_t, bid_t, ask_t = (None if a is None else as_t(a) for a in (quotes.weights, quotes.iv_bid, quotes.iv_ask))
    if init is None:
        fit_prior(model.prior, model.atm, k_t, tau_t, iv_t, w_t, config.prior_init_iterations)
        start_network(model, k_t, tau_t, iv_t, config)
    # The prior fit and the start run in float64; training runs in config.train_dtype.
    dtype = getattr(torch, config.train_dtype)
    model.to(dtype)
    k_t, tau_t, iv_t = k_t.to(dtype), tau_t.to(dtype), iv_t.to(dtype)
    w_t, bid_t, ask_t = (None if x is None else x.to(dtype) for x in (w_t, bid_t, ask_t))
    prior_start = {name: p.detach().clone() for name, p in model.prior.named_parameters()}

    def reinit() -> None:
        with torch.no_grad():
            for name, p in model.prior.named_parameters():
                p.copy_(prior_start[name])
        if model.network is not None:
            model.network.reset_parameters(init_generator)
            start_network(model, k_t, tau_t, iv_t, config)

    points, targets, every_quote = build_batch(quotes, (k_t, tau_t, iv_t, w_t, bid_t, ask_t), config, device)
    train_generator = torch.Generator(device=device).manual_seed(seed + 1)
    trainer = _Trainer(model, points, quotes, targets, config, train_generator, reinit, started, every_quote)
    start = certified_start(init, quotes, trainer.certify, every_quote or EveryQuote(k_t, tau_t, targets))
    meets = start is not None and start.meets(config)
    reason = "start" if meets else trainer.run(callback, config.progress if progress is None else progress)
    history = pd.DataFrame(trainer.history, columns=list(HISTORY_COLUMNS))
    model.to(torch.float64)  # the returned surface, and its certificate, are float64
    certificate = start.certificate if start is not None and meets else trainer.certified_result()
    if start is not None and (meets or start.beats(certificate, trainer.best_inside)):
        model, certificate, trainer.best_inside, trainer.best_loss = (start.model, start.certificate,
                                                                      start.inside, math.nan)
    info = {"best_loss": trainer.best_loss, "epochs": trainer.epochs, "stop_reason": reason,
            "seconds": time.perf_counter() - started, "seed": seed, "device": str(device),
            "warm_start": init is not None, "rejected_by_check": trainer.rejected,
            "returned_checked_state": trainer.fell_back, "returned_start": start is not None and model is start.model,
            **trainer.warmup.info(),
            **{name: None if math.isnan(value) else value for name, value in
               zip(("inside_bid_ask", "worst_maturity_inside"), trainer.best_inside)},
            "arbitrage": certificate.to_dict()}
    return FittedSurface(model.to("cpu").eval(), config, history, quotes, info, certificate)
