"""Pre-training and fine-tuning of the completion networks; ``python -m ivfast.completion.train``.

Pre-training draws batches from the synthetic corpus (:mod:`~ivfast.completion.corpus`) with fresh
KMeans masks (:mod:`~ivfast.completion.masking`); fine-tuning then mixes in the real chains of
:data:`~ivfast.completion.chains.FINE_TUNE_CHAINS` (pre-train on many liquid surfaces, fine-tune on
sparse real ones, as the published IvySPT). AdamW with a warm-up and cosine decay.

Reproducible: batch ``s`` of network ``j`` is drawn from ``numpy.random.default_rng([seed, j, s])``
and the initialisation from ``torch.Generator().manual_seed(seed + j)``, so with one torch thread
(the default here) a run, interrupted and resumed or not, rewrites the shipped weights file
bit for bit. Checkpoints every ``checkpoint_every`` steps; Ctrl-C saves one and stops.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .batches import iv_batch, ssvi_batch
from .chains import FINE_TUNE_CHAINS, chain_sample, default_chains_dir
from .corpus import SurfaceSample, synthetic_corpus
from .model import CompletionConfig, CompletionNet
from .objectives import iv_loss, ssvi_loss
from .quotes import atm_curve, chain_features
from .weights import DEFAULT_WEIGHTS, save_weights

__all__ = ["TrainConfig", "train_networks", "main"]

_NETWORKS = {"ssvi": "ssvi", "ivyspt": "iv"}
"""Network name -> head."""
_WARMUP = 50
_CLIP = 1.0


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (the defaults make the shipped weights).

    Parameters
    ----------
    seed : int
        Seed of the corpus, the masks, the batches and the initialisation.
    n_synthetic : int
        Synthetic surfaces in the corpus.
    steps, finetune_steps : int
        Pre-training and fine-tuning steps per network.
    batch_size : int
        Surfaces per step.
    learning_rate : float
        Peak AdamW learning rate.
    max_visible, max_query, n_collocation : int
        Tokens per surface (see :func:`ivfast.completion.batches.iv_batch`).
    penalty_surfaces, penalty_visible : int
        Surfaces and visible tokens per surface of the soft-penalty pass of the published loss.
    lambda_calendar, lambda_butterfly : float
        Soft no-arbitrage weights of the published IvySPT loss.
    networks : tuple of str
        Which networks to train: ``"ssvi"`` (ivfast's model), ``"ivyspt"`` (published).
    chains : tuple of str
        Real chains (file stems in ``chains_dir``) for fine-tuning.
    d_model, n_heads, n_layers, d_ff : int
        Network shape (:class:`~ivfast.completion.model.CompletionConfig`).
    """

    seed: int = 0
    n_synthetic: int = 2048
    steps: int = 600
    finetune_steps: int = 150
    batch_size: int = 16
    learning_rate: float = 2e-3
    max_visible: int = 96
    max_query: int = 32
    n_collocation: int = 16
    penalty_surfaces: int = 4
    penalty_visible: int = 48
    lambda_calendar: float = 1.0
    lambda_butterfly: float = 1.0
    networks: tuple[str, ...] = ("ssvi", "ivyspt")
    chains: tuple[str, ...] = FINE_TUNE_CHAINS
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 64

    def model_config(self, name: str, **ablation: bool) -> CompletionConfig:
        """The network configuration of ``name``.

        Parameters
        ----------
        name : {"ssvi", "ivyspt"}
            Network.
        **ablation : bool
            ``kernel``, ``positional``, ``cross``, ``gate`` switches.

        Returns
        -------
        CompletionConfig
        """
        return CompletionConfig(head=_NETWORKS[name], d_model=self.d_model, n_heads=self.n_heads,
                                n_layers=self.n_layers, d_ff=self.d_ff, **ablation)


def _standardise(net: CompletionNet, corpus: Sequence[SurfaceSample]) -> None:
    head = corpus[:256]
    inputs = np.concatenate([np.column_stack([s.k, s.tau, s.iv]) for s in head])
    feats = np.array([chain_features(s.k, s.tau, s.iv, atm_curve(s.k, s.tau, s.iv)) for s in head])
    net.set_standardisation(torch.tensor(inputs, dtype=torch.float32), torch.tensor(feats, dtype=torch.float32))


def _lr(step: int, total: int, peak: float) -> float:
    if step < _WARMUP:
        return peak * (step + 1) / _WARMUP
    return 0.5 * peak * (1.0 + math.cos(math.pi * (step - _WARMUP) / max(total - _WARMUP, 1)))


def _draw(corpus: Sequence[SurfaceSample], real: Sequence[SurfaceSample], step: int, cfg: TrainConfig,
          rng: np.random.Generator) -> list[SurfaceSample]:
    picks = [corpus[int(i)] for i in rng.integers(0, len(corpus), cfg.batch_size)]
    if step >= cfg.steps and real:
        for i in range(cfg.batch_size // 2):
            picks[i] = real[int(rng.integers(0, len(real)))]
    return picks


def _checkpoint(path: pathlib.Path | None, payload: dict[str, Any]) -> None:
    if path is not None:
        tmp = path.with_suffix(".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)


def train_networks(cfg: TrainConfig, *, chains_dir: str | os.PathLike[str] | None = None,
                   checkpoint: str | os.PathLike[str] | None = None, device: str = "cpu",
                   progress: bool = True, ablation: dict[str, bool] | None = None
                   ) -> tuple[dict[str, CompletionNet], dict[str, Any]]:
    """Train the networks of ``cfg`` (module docstring).

    Parameters
    ----------
    cfg : TrainConfig
        Settings.
    chains_dir : str or os.PathLike, optional
        Folder of the fine-tuning chains (default :func:`~ivfast.completion.chains.default_chains_dir`);
        chains not found there are skipped and listed in the record.
    checkpoint : str or os.PathLike, optional
        Checkpoint file: resumed from when it exists for the same settings, rewritten every 100
        steps, on Ctrl-C and at the end of each network.
    device : str
        ``"cpu"`` or ``"cuda"``.
    progress : bool
        Show a tqdm bar per network.
    ablation : dict of str to bool, optional
        Component switches passed to :meth:`TrainConfig.model_config` (benchmark ablations).

    Returns
    -------
    networks : dict of str to CompletionNet
        On the CPU, eval mode.
    info : dict
        Training record: settings, corpus size, chains used, seconds and final losses per network.

    Raises
    ------
    KeyboardInterrupt
        After saving a checkpoint.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    ckpt_path = None if checkpoint is None else pathlib.Path(checkpoint)
    settings = json.dumps({"train": dataclasses.asdict(cfg), "ablation": ablation or {}}, sort_keys=True)
    state: dict[str, Any] = {"settings": settings, "done": {}, "current": None}
    if ckpt_path is not None and ckpt_path.exists():
        loaded = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if loaded.get("settings") == settings:
            state = loaded
    corpus = synthetic_corpus(cfg.n_synthetic, cfg.seed)
    folder = default_chains_dir() if chains_dir is None else pathlib.Path(chains_dir)
    found = [name for name in cfg.chains if (folder / f"{name}.csv").exists()]
    real = [chain_sample(folder / f"{name}.csv") for name in found]
    info: dict[str, Any] = {"config": dataclasses.asdict(cfg), "ablation": ablation or {}, "corpus": len(corpus),
                            "fine_tune_chains": found, "networks": {}}
    networks: dict[str, CompletionNet] = {}
    total = cfg.steps + cfg.finetune_steps
    for j, name in enumerate(cfg.networks):
        net = CompletionNet(cfg.model_config(name, **(ablation or {})), torch.Generator().manual_seed(cfg.seed + j))
        _standardise(net, corpus)
        if name in state["done"]:
            net.load_state_dict(state["done"][name]["state"])
            networks[name] = net.eval()
            info["networks"][name] = state["done"][name]["info"]
            continue
        net.to(device).train()
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
        first, losses = 0, []
        current = state.get("current")
        if current is not None and current["name"] == name:
            net.load_state_dict(current["state"])
            opt.load_state_dict(current["optimiser"])
            first, losses = int(current["step"]), list(current["losses"])
        t0 = time.perf_counter()
        bar = tqdm(range(first, total), desc=f"completion:{name}", unit="step", disable=not progress,
                   dynamic_ncols=True)

        def save(step: int) -> None:
            state["current"] = {"name": name, "step": step, "losses": losses, "state": net.state_dict(),
                                "optimiser": opt.state_dict()}
            _checkpoint(ckpt_path, state)

        try:
            for step in bar:
                rng = np.random.default_rng([cfg.seed, j, step])
                picks = _draw(corpus, real, step, cfg, rng)
                for group in opt.param_groups:
                    group["lr"] = _lr(step, total, cfg.learning_rate)
                opt.zero_grad(set_to_none=True)
                if net.config.head == "ssvi":
                    batch = ssvi_batch(picks, rng, cfg.max_visible)
                    loss = ssvi_loss(net, _to(batch, device))
                else:
                    ib = iv_batch(picks, rng, cfg.max_visible, cfg.max_query, 0)
                    pb = iv_batch(picks[: cfg.penalty_surfaces], rng, cfg.penalty_visible, 0, cfg.n_collocation)
                    loss, _ = iv_loss(net, _to(ib, device), _to(pb, device), cfg.lambda_calendar,
                                      cfg.lambda_butterfly)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), _CLIP)
                opt.step()
                losses.append(float(loss.detach()))
                bar.set_postfix({"loss": f"{np.mean(losses[-50:]):.3e}"}, refresh=False)
                if (step + 1) % 100 == 0:
                    save(step + 1)
        except KeyboardInterrupt:
            save(len(losses))
            raise
        net.to("cpu").eval()
        net_info = {"seconds": time.perf_counter() - t0, "steps": total,
                    "final_loss_mean_last_50": float(np.mean(losses[-50:])), "loss_every_50": losses[::50]}
        state["done"][name] = {"state": net.state_dict(), "info": net_info}
        state["current"] = None
        _checkpoint(ckpt_path, state)
        networks[name] = net
        info["networks"][name] = net_info
    info["seconds"] = time.perf_counter() - started
    return networks, info


def _to(batch: Any, device: str) -> Any:
    """Move every tensor field of a batch (and of its tokens) to ``device``."""
    if device == "cpu":
        return batch
    for field in dataclasses.fields(batch):
        value = getattr(batch, field.name)
        if isinstance(value, torch.Tensor):
            setattr(batch, field.name, value.to(device))
        elif dataclasses.is_dataclass(value):
            _to(value, device)
    return batch


def main(argv: Sequence[str] | None = None) -> int:
    """Train and write a weights file (default: the shipped one).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``); ``--help`` lists them.

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(prog="python -m ivfast.completion.train", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(DEFAULT_WEIGHTS), help="weights file to write")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--finetune-steps", type=int, default=TrainConfig.finetune_steps)
    parser.add_argument("--n-synthetic", type=int, default=TrainConfig.n_synthetic)
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (resumed from when present)")
    parser.add_argument("--chains-dir", default=None, help="folder of the fine-tuning chains")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: bit-for-bit reproducible)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = TrainConfig(seed=args.seed, steps=args.steps, finetune_steps=args.finetune_steps,
                      n_synthetic=args.n_synthetic)
    networks, info = train_networks(cfg, chains_dir=args.chains_dir, checkpoint=args.checkpoint, device=args.device)
    info["threads"] = args.threads
    save_weights(args.out, networks, info)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1024:.0f} KiB) in {info['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
