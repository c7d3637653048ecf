"""Training of the surrogate: Adam, ReduceLROnPlateau, early stopping on the validation loss.

The dataset is split 60/20/20 (train / validation / test) by ``seed``; inputs are standardised
with the training mean and standard deviation, the residual MLP reads out PCA scores of the
training grids (at least 99.9 % of their variance), the grid MLP standardised grid points. The
best validation state is kept in memory and restored at the end, also after Ctrl-C.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from .data import SurrogateDataset, split_indices
from .loss import LossWeights, SurrogateLoss
from .model import Surrogate, build_network, output_basis
from .pca import fit_pca

__all__ = ["TrainConfig", "TrainResult", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Architecture, loss and optimisation settings.

    arch : "resmlp" (the seed's residual MLP with a PCA head) or "grid" (Horvath et al.'s plain MLP).
    n_blocks, width, dropout, activation : residual MLP (seed: 8 blocks of width 128). SiLU by
        default rather than the seed's ReLU: a smooth network has a continuous Jacobian, which
        Levenberg–Marquardt calibration needs. Dropout defaults to 0: it adds noise of its own
        size to a regression that must reach 0.1 % accuracy.
    grid_hidden, grid_activation : grid MLP (Horvath et al.: 3 x 30 ELU).
    pca_variance : share of variance the PCA head keeps (>= 0.999).
    loss : :class:`LossWeights`.
    epochs, batch_size, lr, patience : Adam with early stopping after ``patience`` epochs without
        improvement; the learning rate is multiplied by ``lr_factor`` after ``lr_patience`` epochs
        without improvement, down to ``min_lr``.
    seed : split, initialisation and shuffling seed (the same seed and data give the same model on
        the same machine and thread count).
    fractions : train / validation / test shares.
    threads : torch intra-op threads (default: leave torch's setting).
    max_seconds : stop after the epoch that exceeds this wall time (default: no limit).
    """

    arch: str = "resmlp"
    n_blocks: int = 8
    width: int = 128
    dropout: float = 0.0
    activation: str = "silu"
    grid_hidden: tuple[int, ...] = (30, 30, 30)
    grid_activation: str = "elu"
    pca_variance: float = 1.0 - 1e-7
    loss: LossWeights = field(default_factory=LossWeights)
    epochs: int = 200
    batch_size: int = 256
    lr: float = 1e-3
    patience: int = 20
    lr_patience: int = 10
    lr_factor: float = 0.5
    min_lr: float = 1e-6
    seed: int = 0
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    threads: int | None = None
    max_seconds: float | None = None
    progress: bool = True

    def arch_dict(self) -> dict[str, Any]:
        if self.arch == "resmlp":
            return {"kind": "resmlp", "n_blocks": self.n_blocks, "width": self.width, "dropout": self.dropout,
                    "activation": self.activation}
        if self.arch == "grid":
            return {"kind": "grid", "hidden": list(self.grid_hidden), "activation": self.grid_activation}
        raise ValueError(f"arch: expected 'resmlp' or 'grid', got {self.arch!r}")


@dataclass
class TrainResult:
    """What :func:`train` returns: the best surrogate, the per-epoch history and the split."""

    surrogate: Surrogate
    history: list[dict[str, float]]
    best_epoch: int
    best_val_loss: float
    interrupted: bool
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray
    seconds: float


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="surrogate training", unit="epoch", disable=not enabled, dynamic_ncols=True)


def _mean_loss(net, loss_fn, x: torch.Tensor, y: torch.Tensor, batch: int = 8192) -> float:
    net.eval()
    with torch.no_grad():
        total = sum(float(loss_fn(net(x[i:i + batch]), y[i:i + batch])) * len(x[i:i + batch])
                    for i in range(0, len(x), batch))
    return total / max(len(x), 1)


def _build(dataset: SurrogateDataset, cfg: TrainConfig, train_idx: np.ndarray):
    x_train = dataset.params[train_idx]
    y_flat = dataset.iv[train_idx].reshape(len(train_idx), -1)
    pca = fit_pca(y_flat, cfg.pca_variance) if cfg.arch == "resmlp" else None
    y_mean, basis = output_basis(cfg.arch, y_flat, pca)
    x_std = x_train.std(axis=0)
    net = build_network(cfg.arch_dict(), x_train.mean(axis=0), np.where(x_std > 0, x_std, 1.0), y_mean, basis,
                        dataset.iv.shape[1:])
    return net, pca


def train(dataset: SurrogateDataset, config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Train a surrogate on ``dataset``; ``overrides`` replace fields of ``config``.

    Returns
    -------
    TrainResult
        ``surrogate`` holds the best-validation network (float32); ``history`` one dict per epoch
        (train and validation loss, learning rate, seconds).
    """
    cfg = replace(config or TrainConfig(), **overrides)
    if len(dataset) < 10:
        raise ValueError(f"dataset: expected at least 10 samples, got {len(dataset)}")
    if cfg.threads is not None:
        torch.set_num_threads(int(cfg.threads))
    torch.manual_seed(cfg.seed)
    train_idx, val_idx, test_idx = split_indices(len(dataset), cfg.seed, cfg.fractions)
    net, pca = _build(dataset, cfg, train_idx)
    loss_fn = SurrogateLoss(dataset.strikes, cfg.loss)
    x = torch.as_tensor(dataset.params, dtype=torch.float32)
    y = torch.as_tensor(dataset.iv, dtype=torch.float32)
    xt, yt, xv, yv = x[train_idx], y[train_idx], x[val_idx], y[val_idx]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=cfg.lr_factor, patience=cfg.lr_patience,
                                                       min_lr=cfg.min_lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict[str, float]] = []
    best = (float("inf"), -1, copy.deepcopy(net.state_dict()))
    interrupted, start = False, time.perf_counter()
    with _progress(cfg.epochs, cfg.progress) as bar:
        try:
            for epoch in range(cfg.epochs):
                net.train()
                perm = torch.randperm(len(xt), generator=gen)
                running = 0.0
                for i in range(0, len(xt), cfg.batch_size):
                    idx = perm[i:i + cfg.batch_size]
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(net(xt[idx]), yt[idx])
                    loss.backward()
                    opt.step()
                    running += float(loss.detach()) * len(idx)
                val = _mean_loss(net, loss_fn, xv, yv) if len(xv) else running / len(xt)
                sched.step(val)
                history.append({"epoch": epoch, "train_loss": running / len(xt), "val_loss": val,
                                "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - start})
                if val < best[0]:
                    best = (val, epoch, copy.deepcopy(net.state_dict()))
                bar.update(1)
                bar.set_postfix(train=f"{running / len(xt):.3e}", val=f"{val:.3e}", best=f"{best[0]:.3e}")
                out_of_time = cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds
                if epoch - best[1] >= cfg.patience or out_of_time:
                    break
        except KeyboardInterrupt:
            interrupted = True
    net.load_state_dict(best[2])
    net.eval()
    info = {"seed": cfg.seed, "fractions": list(cfg.fractions), "n_samples": len(dataset),
            "best_epoch": best[1], "best_val_loss": best[0], "epochs_run": len(history),
            "loss": asdict(cfg.loss), "batch_size": cfg.batch_size, "lr": cfg.lr, "interrupted": interrupted,
            "pca_components": None if pca is None else pca.n_components,
            "pca_variance": None if pca is None else pca.explained_total}
    surrogate = Surrogate(net=net, model=dataset.model, names=list(dataset.names), ranges=dict(dataset.ranges),
                          strikes=dataset.strikes.copy(), taus=dataset.taus.copy(),
                          rate=float(dataset.meta.get("rate", 0.0)), dividend=float(dataset.meta.get("dividend", 0.0)),
                          arch=cfg.arch_dict(), info=info)
    return TrainResult(surrogate=surrogate, history=history, best_epoch=best[1], best_val_loss=best[0],
                       interrupted=interrupted, train_index=train_idx, val_index=val_idx, test_index=test_idx,
                       seconds=time.perf_counter() - start)
