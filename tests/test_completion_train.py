"""Completion training: bit-for-bit reproducibility and resume; the published head's properties; warm start; CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ivfast import cli, datasets  # noqa: E402
from ivfast.completion import complete_surface  # noqa: E402
from ivfast.completion.batches import iv_batch  # noqa: E402
from ivfast.completion.corpus import synthetic_corpus  # noqa: E402
from ivfast.completion.model import CompletionConfig, CompletionNet  # noqa: E402
from ivfast.completion.train import TrainConfig, train_networks  # noqa: E402

SMALL = TrainConfig(n_synthetic=16, steps=4, finetune_steps=2, batch_size=4, max_visible=32, max_query=8,
                    n_collocation=4, penalty_surfaces=2, penalty_visible=16, chains=(), d_model=8, d_ff=16)


def _states(networks):
    return {name: {k: v.clone() for k, v in net.state_dict().items()} for name, net in networks.items()}


def test_training_is_bit_for_bit_reproducible_and_resumable(tmp_path):
    torch.set_num_threads(1)
    first = _states(train_networks(SMALL, progress=False)[0])
    second = _states(train_networks(SMALL, progress=False)[0])
    ckpt = tmp_path / "ckpt.pt"
    partial = TrainConfig(**{**SMALL.__dict__, "networks": ("ssvi",)})
    train_networks(partial, checkpoint=ckpt, progress=False)  # "ssvi" finished and checkpointed
    state = torch.load(ckpt, weights_only=True)
    state["settings"] = state["settings"].replace('"networks": ["ssvi"]', '"networks": ["ssvi", "ivyspt"]')
    torch.save(state, ckpt)
    resumed = _states(train_networks(SMALL, checkpoint=ckpt, progress=False)[0])
    for name in first:
        for key in first[name]:
            assert torch.equal(first[name][key], second[name][key]), (name, key)
            assert torch.equal(first[name][key], resumed[name][key]), (name, key)


def test_published_head_queries_are_independent_and_their_derivatives_exact():
    corpus = synthetic_corpus(4, 7)
    net = CompletionNet(CompletionConfig(head="iv", d_model=16, d_ff=32), torch.Generator().manual_seed(0)).double()
    batch = iv_batch(corpus[:2], np.random.default_rng(0), 32, 8, 4)
    t = batch.tokens
    for name in ("k", "tau", "iv", "features"):
        setattr(t, name, getattr(t, name).double())
    base = net(t).detach()
    # Moving one query point changes no other token's output.
    j = int(torch.nonzero(t.query[0])[0])
    moved = t.k.clone()
    moved[0, j] += 0.05
    t2 = type(t)(moved, t.tau, t.iv, t.observed, t.query, t.features)
    out = net(t2).detach()
    others = torch.ones_like(base, dtype=torch.bool)
    others[0, j] = False
    assert torch.equal(out[others], base[others])
    # Autograd of the summed outputs equals the per-point finite difference.
    k = t.k.clone().requires_grad_(True)
    grad = torch.autograd.grad(net(type(t)(k, t.tau, t.iv, t.observed, t.query, t.features))[t.query].sum(), k)[0]
    h = 1e-6
    net.requires_grad_(False)
    plus, minus = t.k.clone(), t.k.clone()
    plus[0, j] += h
    minus[0, j] -= h
    fd = (net(type(t)(plus, t.tau, t.iv, t.observed, t.query, t.features))[0, j]
          - net(type(t)(minus, t.tau, t.iv, t.observed, t.query, t.features))[0, j]) / (2 * h)
    assert abs(float(grad[0, j] - fd)) < 1e-6 * max(1.0, abs(float(fd)))


def test_fit_surface_warm_starts_from_a_completed_surface():
    from ivfast.surface import SmoothingConfig, fit_surface
    from ivfast.surface.inputs import validate_quotes
    from ivfast.surface.start import build_model

    s = synthetic_corpus(3, 11)[0]
    completed = complete_surface(s.k, s.tau, s.iv)
    config = SmoothingConfig(hidden_layers=(8, 8), max_epochs=3, log_every=1, progress=False, check_every=1000)
    model = build_model(validate_quotes(s.k, s.tau, s.iv), config, completed, torch.Generator().manual_seed(0))
    # The start is the completed surface: its SSVI prior and (same quotes) its ATM curve, times a
    # network centred on 1 at the quotes.
    assert model.prior.values() == completed.prior_parameters()
    k, tau = torch.tensor(s.k), torch.tensor(s.tau)
    with torch.no_grad():
        prior_w = model.prior(k, *model.atm(tau))[0].numpy()
    np.testing.assert_allclose(prior_w, completed.total_variance(s.k, s.tau), rtol=1e-12)
    fit = fit_surface(s.k, s.tau, s.iv, config=config, init=completed)
    assert fit.info["warm_start"] and fit.info["epochs"] == 3


def test_cli_complete_writes_surface_summary_and_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    frame = datasets.synthetic_chain(ivfast_bates(), [0.1, 0.3, 0.6], np.arange(60.0, 161.0, 2.5), seed=2)
    path = tmp_path / "chain.csv"
    frame[["expiry", "strike", "type", "bid", "ask"]].to_csv(path, index=False)
    out = tmp_path / "out"
    assert cli.main(["complete", str(path), "--out", str(out), "--as-of", "2024-01-02", "--keep", "0.5"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["arbitrage"]["ok"]
    assert summary["quotes"]["hidden"] > 0 and summary["accuracy"]["hidden"]["mape_median"] < 0.05
    for name in ("surface.pt", "completed_quotes.csv", "smiles.png", "iv_surface.png", "arbitrage.txt"):
        assert (out / name).exists()
    assert "arbitrage" in capsys.readouterr().out
    assert cli.main(["complete", str(path), "--out", str(out), "--keep", "2"]) == 2
    plain = summary["accuracy"]["hidden"]["mape_median"]
    corrected = tmp_path / "corrected"
    assert cli.main(["complete", str(path), "--out", str(corrected), "--as-of", "2024-01-02", "--keep", "0.5",
                     "--correct", "--no-figures"]) == 0
    summary = json.loads((corrected / "summary.json").read_text())
    # Same hidden half (same seed): the spline factor brings the completion closer, still certified.
    assert summary["arbitrage"]["ok"] and summary["correction"]["factor"] > 0
    assert summary["accuracy"]["hidden"]["mape_median"] < plain


def ivfast_bates():
    from ivfast import HestonParams

    return HestonParams(v0=0.04, kappa=2.0, theta=0.05, sigma=0.5, rho=-0.7)
