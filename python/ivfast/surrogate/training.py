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
from .networks import SurrogateNet
from .pca import GridPCA, fit_pca

__all__ = ["TrainConfig", "TrainResult", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Architecture, loss and optimisation settings of :func:`train`.

    Attributes
    ----------
    arch : {"resmlp", "grid"}, default "resmlp"
        A residual MLP reading out PCA scores of the grids
        (:class:`~ivfast.surrogate.networks.ResidualMLP`, the reference Heston-surrogate
        notebook's design, see ``docs/references.md``) or the plain grid MLP of Horvath,
        Muguruza & Tomas (2021) (:class:`~ivfast.surrogate.networks.GridMLP`).
    n_blocks, width : int, default 8, 128
        Residual blocks and their width (the reference notebook's size; smaller networks evaluate
        faster, see ``bench/README.md``).
    dropout : float, default 0.0
        Dropout inside the residual blocks: 0 by default, because dropout adds noise of its own
        size to a regression that must reach 0.1 % accuracy.
    activation : {"silu", "elu", "relu", "tanh"}, default "silu"
        Residual MLP activation. A smooth one gives the network a continuous Jacobian, which
        Levenberg–Marquardt calibration needs (ReLU's is piecewise constant).
    grid_hidden : tuple of int, default (30, 30, 30)
        Hidden widths of the grid MLP (Horvath et al.: 3 x 30).
    grid_activation : {"silu", "elu", "relu", "tanh"}, default "elu"
        Grid MLP activation (Horvath et al.: ELU).
    pca_variance : float, default 1 - 1e-7
        Share of the training grids' variance the PCA head keeps (>= 0.999).
    loss : LossWeights
        Loss term weights (default :class:`LossWeights()`).
    epochs : int, default 200
        Largest number of epochs.
    batch_size : int, default 256
        Adam mini-batch size.
    lr : float, default 1e-3
        Initial Adam learning rate.
    patience : int, default 20
        Stop after this many epochs without a better validation loss.
    lr_patience : int, default 10
        Multiply the learning rate by ``lr_factor`` after this many epochs without improvement
        (``ReduceLROnPlateau``).
    lr_factor : float, default 0.5
        Learning-rate reduction factor.
    min_lr : float, default 1e-6
        Floor of the learning rate.
    seed : int, default 0
        Split, initialisation and shuffling seed (the same seed and data give the same model on
        the same machine and thread count).
    fractions : tuple of three floats, default (0.6, 0.2, 0.2)
        Train / validation / test shares.
    threads : int, optional
        torch intra-op threads (default: leave torch's setting).
    max_seconds : float, optional
        Stop after the epoch that exceeds this wall time (default: no limit).
    progress : bool, default True
        Show a tqdm progress bar.
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
        """Describe the network for :func:`ivfast.surrogate.model.build_network` (and saved files).

        Returns
        -------
        dict
            ``kind`` (``"resmlp"`` or ``"grid"``) and the sizes and activation of that network.

        Raises
        ------
        ValueError
            For an unknown ``arch``.
        """
        if self.arch == "resmlp":
            return {"kind": "resmlp", "n_blocks": self.n_blocks, "width": self.width, "dropout": self.dropout,
                    "activation": self.activation}
        if self.arch == "grid":
            return {"kind": "grid", "hidden": list(self.grid_hidden), "activation": self.grid_activation}
        raise ValueError(f"arch: expected 'resmlp' or 'grid', got {self.arch!r}")


@dataclass
class TrainResult:
    """What :func:`train` returns: the best surrogate, the per-epoch history and the split.

    Attributes
    ----------
    surrogate : Surrogate
        The best-validation network (float32) with its grid, ranges and training record.
    history : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``lr``, ``seconds``.
    best_epoch : int
        Epoch of the kept state (-1 if none finished).
    best_val_loss : float
        Its validation loss.
    interrupted : bool
        Whether training stopped on Ctrl-C (the best state so far is kept).
    train_index, val_index, test_index : ndarray of int
        The dataset split (:func:`ivfast.surrogate.split_indices`).
    seconds : float
        Wall time of the training.
    """

    surrogate: Surrogate
    history: list[dict[str, float]]
    best_epoch: int
    best_val_loss: float
    interrupted: bool
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray
    seconds: float


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="surrogate training", unit="epoch", disable=not enabled, dynamic_ncols=True)


def _mean_loss(net: torch.nn.Module, loss_fn: SurrogateLoss, x: torch.Tensor, y: torch.Tensor,
               batch: int = 8192) -> float:
    net.eval()
    with torch.no_grad():
        total = sum(float(loss_fn(net(x[i:i + batch]), y[i:i + batch])) * len(x[i:i + batch])
                    for i in range(0, len(x), batch))
    return total / max(len(x), 1)


def _build(dataset: SurrogateDataset, cfg: TrainConfig, train_idx: np.ndarray) -> tuple[SurrogateNet, GridPCA | None]:
    x_train = dataset.params[train_idx]
    y_flat = dataset.iv[train_idx].reshape(len(train_idx), -1)
    pca = fit_pca(y_flat, cfg.pca_variance) if cfg.arch == "resmlp" else None
    y_mean, basis = output_basis(cfg.arch, y_flat, pca)
    x_std = x_train.std(axis=0)
    net = build_network(cfg.arch_dict(), x_train.mean(axis=0), np.where(x_std > 0, x_std, 1.0), y_mean, basis,
                        dataset.iv.shape[1:])
    return net, pca


def train(dataset: SurrogateDataset, config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Train a surrogate on ``dataset``.

    Parameters
    ----------
    dataset : SurrogateDataset
        Parameter sets and their grids (at least 10 samples).
    config : TrainConfig, optional
        Settings (default :class:`TrainConfig()`).
    **overrides : Any
        Fields of ``config`` to replace, e.g. ``epochs=50``.

    Returns
    -------
    TrainResult
        ``surrogate`` holds the best-validation network (float32); ``history`` one dict per epoch
        (train and validation loss, learning rate, seconds).

    Raises
    ------
    ValueError
        For a dataset of fewer than 10 samples or an invalid setting.
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
