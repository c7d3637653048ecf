"""Baseline for bench_smoothing.py: deep smoothing trained the way the seed script does.

Same model family, losses and schedule as the seed (and as ivfast's defaults where they agree),
with the seed's engineering kept on purpose:

* the collocation tensors are rebuilt from Python lists of (k, tau) tuples every epoch;
* derivatives come from ``torch.autograd.grad(..., create_graph=True)`` in separate passes for
  the butterfly/calendar set and for the large-moneyness set, then a double backward;
* SSVI with the seed's unconstrained parameters (gamma^2 in the exponents, free eta and rho),
  started at (gamma, eta, rho) = (0.5, 1, 0); unbounded network scale; fixed 20 x 20 grid only;
* two Adam optimisers with their own plateau schedulers; the best state is written to files
  (here in a temporary directory) on every improvement and read back on divergence.

The loss terms themselves are ivfast's (:mod:`ivfast.surface.losses`, with the corrected
Gatheral-Jacquier g), and the ATM curve is ivfast's monotone curve, so that the comparison
measures the training engineering, not the model.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import time

import numpy as np
import torch

from ivfast.arbitrage import butterfly_g
from ivfast.surface import losses
from ivfast.surface.inputs import validate_quotes
from ivfast.surface.start import fit_atm_curve

__all__ = ["train_seed_style"]


class _SeedSSVI(torch.nn.Module):
    """The seed's prior: published SSVI with gamma^2 exponents and unconstrained (eta, rho)."""

    def __init__(self, atm) -> None:
        super().__init__()
        self.atm = atm
        self.reset()

    def reset(self) -> None:
        f64 = torch.float64
        self.gamma = torch.nn.Parameter(torch.tensor(0.5, dtype=f64))
        self.eta = torch.nn.Parameter(torch.tensor(1.0, dtype=f64))
        self.rho = torch.nn.Parameter(torch.tensor(0.0, dtype=f64))

    def forward(self, k: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        theta = self.atm(tau)[0]
        phi = self.eta * theta.pow(-self.gamma**2) * (1 + theta).pow(self.gamma**2 - 1)
        return theta / 2 * (1 + self.rho * phi * k + torch.sqrt((phi * k + self.rho) ** 2 + 1 - self.rho**2))


class _OnePlusTanh(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.0, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * (1 + 1e-8 + torch.tanh(x))


class _SeedNetwork(torch.nn.Module):
    def __init__(self, hidden=(40, 40, 40, 40)) -> None:
        super().__init__()
        widths = [2, *hidden, 1]
        layers: list[torch.nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [torch.nn.Linear(n_in, n_out, dtype=torch.float64), torch.nn.Softplus()]
        layers[-1] = _OnePlusTanh()
        self.net = torch.nn.Sequential(*layers)
        self.reset()

    def reset(self) -> None:
        with torch.no_grad():
            for layer in self.net:
                if isinstance(layer, torch.nn.Linear):
                    std = math.sqrt(1 / (layer.in_features + layer.out_features))
                    layer.weight.normal_(0, std)
                    layer.bias.normal_(0, std)
                elif isinstance(layer, _OnePlusTanh):
                    layer.scale.fill_(1.0)

    def forward(self, kt: torch.Tensor) -> torch.Tensor:
        return self.net(kt).squeeze(1)


def _surface(prior, net, k, tau):
    return prior(k, tau) * net(torch.stack((k, tau), dim=1))


def _loss(prior, net, data, grid_points, asym_points, atm_points):
    k_q, tau_q, iv_q = data
    # Rebuilt from Python lists every epoch, as the seed does.
    k_bc = torch.tensor([p[0] for p in grid_points], dtype=torch.float64, requires_grad=True)
    t_bc = torch.tensor([p[1] for p in grid_points], dtype=torch.float64, requires_grad=True)
    w = _surface(prior, net, k_bc, t_bc)
    w_k, w_t = torch.autograd.grad(w, (k_bc, t_bc), torch.ones_like(w), create_graph=True)
    (w_kk,) = torch.autograd.grad(w_k, k_bc, torch.ones_like(w_k), create_graph=True)
    butterfly = losses.butterfly_penalty(butterfly_g(w, w_k, w_kk, k_bc))
    calendar = losses.calendar_penalty(w_t)
    k_a = torch.tensor([p[0] for p in asym_points], dtype=torch.float64, requires_grad=True)
    t_a = torch.tensor([p[1] for p in asym_points], dtype=torch.float64, requires_grad=True)
    w_a = _surface(prior, net, k_a, t_a)
    (w_a_k,) = torch.autograd.grad(w_a, k_a, torch.ones_like(w_a), create_graph=True)
    (w_a_kk,) = torch.autograd.grad(w_a_k, k_a, torch.ones_like(w_a_k), create_graph=True)
    asym = losses.asym_penalty(w_a_kk)
    k_0 = torch.tensor([p[0] for p in atm_points], dtype=torch.float64)
    t_0 = torch.tensor([p[1] for p in atm_points], dtype=torch.float64)
    atm = losses.atm_penalty(net(torch.stack((k_0, t_0), dim=1)))
    model_iv = torch.sqrt(_surface(prior, net, k_q, tau_q) / tau_q)
    rmse, mape = losses.rmse(model_iv, iv_q), losses.mape(model_iv, iv_q)
    total = rmse + mape + 4 * (calendar + butterfly + asym) + 0.1 * atm
    return total, (rmse, mape, calendar, butterfly, asym, atm)


def train_seed_style(k, tau, iv, *, target: float = 0.02, max_seconds: float = 120.0, max_epochs: int = 500_000,
                     seed: int = 0, log_every: int = 500) -> dict:
    """Train seed-style until best loss <= target or the time/epoch budget runs out.

    Returns a dict with epochs, seconds, best_loss, reached (bool) and the (seconds, best_loss)
    trace every ``log_every`` epochs.
    """
    torch.manual_seed(seed)
    quotes = validate_quotes(k, tau, iv)
    data = tuple(torch.as_tensor(a) for a in (quotes.k, quotes.tau, quotes.iv))
    prior = _SeedSSVI(fit_atm_curve(quotes))
    net = _SeedNetwork()
    k_min, k_max, tau_max = quotes.k.min(), quotes.k.max(), quotes.tau.max()
    tau_aux = np.exp(np.linspace(np.log(1 / 365), np.log(tau_max), 20))
    k_aux = np.linspace(-np.cbrt(-2 * k_min), np.cbrt(2 * k_max), 20) ** 3
    grid_points = list(itertools.product(k_aux, tau_aux))
    asym_points = list(itertools.product([6 * k_min, 4 * k_min, 4 * k_max, 6 * k_max], tau_aux))
    atm_points = list(itertools.product([0.0], tau_aux))
    sched_args = dict(mode="min", factor=0.5, patience=100, threshold=0.01, min_lr=0.01 * 0.5**3)

    def new_optimisers(lr):
        opts = [torch.optim.Adam(m.parameters(), lr=lr) for m in (prior, net)]
        return opts, [torch.optim.lr_scheduler.ReduceLROnPlateau(o, **sched_args) for o in opts]

    opts, scheds = new_optimisers(0.01)
    best, loss_value, epoch, total, checkpoint, lr = math.inf, math.inf, 0, 0, 0, 0.01
    trace = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        files = [os.path.join(tmp, "model_prior.pth"), os.path.join(tmp, "model_nn.pth")]
        while best > target and total < max_epochs and time.perf_counter() - started < max_seconds:
            epoch, total = epoch + 1, total + 1
            if epoch == 2000 and best > 1:
                prior.reset()
                net.reset()
                opts, scheds = new_optimisers(0.01)
                best, epoch = math.inf, 0
                continue
            if epoch % 500 == 0:
                if loss_value >= 1.1 * best and loss_value > 0.1 and epoch > 500:
                    for m, f in zip((prior, net), files):
                        m.load_state_dict(torch.load(f, weights_only=True))
                    opts, scheds = new_optimisers(lr)
                    epoch, loss_value = checkpoint, best
                    continue
                if epoch % 2000 == 0 and best > 0.05:
                    opts, scheds = new_optimisers(0.01)
                with torch.no_grad():
                    for p in net.parameters():
                        p.add_(torch.randn_like(p) * 0.01)
                checkpoint = epoch
            for o in opts:
                o.zero_grad()
            loss, _ = _loss(prior, net, data, grid_points, asym_points, atm_points)
            loss_value = loss.item()
            if math.isnan(loss_value):
                break
            if loss_value < best:
                best = loss_value
                for m, f in zip((prior, net), files):
                    torch.save(m.state_dict(), f)
            loss.backward()
            for o, s in zip(opts, scheds):
                o.step()
                s.step(loss_value)
            lr = opts[1].param_groups[0]["lr"]
            if total % log_every == 0:
                trace.append((time.perf_counter() - started, best))
    seconds = time.perf_counter() - started
    return {"epochs": total, "seconds": seconds, "best_loss": best, "reached": best <= target,
            "ms_per_epoch": 1e3 * seconds / max(total, 1), "trace": trace}
