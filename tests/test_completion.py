"""Sparse-surface completion: interface, certified absence of arbitrage, accuracy, bad input, weights, export."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings, strategies as st  # noqa: E402

import ivfast  # noqa: E402
from ivfast.arbitrage import check_surface  # noqa: E402
from ivfast.completion import CompletedSurface, complete_surface, load_weights  # noqa: E402
from ivfast.completion.corpus import synthetic_corpus  # noqa: E402
from ivfast.completion.masking import draw_mask  # noqa: E402
from ivfast.completion.quotes import atm_curve, increasing_fit  # noqa: E402
from ivfast.completion.surface import dense_grid  # noqa: E402
from ivfast.protocols import DifferentiableSurface  # noqa: E402
from ivfast.surface.inputs import Quotes  # noqa: E402

HELD_OUT_SEED = 1000
"""Synthetic surfaces of this seed are never in the training corpus (seed 0)."""


@pytest.fixture(scope="module")
def held_out():
    return synthetic_corpus(12, HELD_OUT_SEED)


def test_interface_shapes_and_exact_derivatives(held_out):
    s = held_out[0]
    surface = complete_surface(s.k, s.tau, s.iv)
    assert isinstance(surface, CompletedSurface) and isinstance(surface, DifferentiableSurface)
    k = np.linspace(-0.5, 0.3, 7)[:, None]
    tau = np.array([0.1, 0.5, 1.0])[None, :]
    w, w_k, w_kk, w_t = surface.total_variance_derivatives(k, tau)
    assert w.shape == w_k.shape == w_kk.shape == w_t.shape == (7, 3)
    np.testing.assert_allclose(surface.implied_vol(k, tau), np.sqrt(w / tau), rtol=1e-14)
    # Central differences agree with the closed-form derivatives to their truncation error (h^2 ~ 1e-8).
    h = 1e-4
    fd_k = (surface.total_variance(k + h, tau) - surface.total_variance(k - h, tau)) / (2 * h)
    fd_t = (surface.total_variance(k, tau + h) - surface.total_variance(k, tau - h)) / (2 * h)
    np.testing.assert_allclose(w_k, fd_k, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(w_t, fd_t, rtol=1e-6, atol=1e-9)
    assert np.isnan(surface.total_variance(0.0, -1.0))


def test_every_held_out_surface_is_arbitrage_free_on_a_dense_grid(held_out):
    for s in held_out:
        hidden = draw_mask(s.k, s.tau, np.random.default_rng(3))
        surface = complete_surface(s.k[~hidden], s.tau[~hidden], s.iv[~hidden])
        report = surface.check()  # 201 x 60, default tolerance
        assert report.ok(), report.violations.head()


@settings(max_examples=25, deadline=None)
@given(raw=st.tuples(*(st.floats(-8.0, 8.0) for _ in range(3))),
       levels=st.lists(st.floats(0.05, 0.8), min_size=2, max_size=6))
def test_certificate_holds_for_any_network_output(raw, levels):
    """The head's map is onto GJ's set: *any* network output on any quoted ATM term structure is arbitrage-free."""
    taus = np.geomspace(0.02, 2.0, len(levels))
    k = np.zeros(len(levels))
    curve = atm_curve(k, taus, np.asarray(levels))
    surface = CompletedSurface(curve, np.asarray(raw), Quotes(k, taus, np.asarray(levels), None), {})
    report = check_surface(surface, *dense_grid(np.array([-1.0, 0.5]), taus))
    assert report.ok(), report.violations.head()


def test_increasing_fit_is_the_least_squares_isotonic_fit():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(0.1, 1.0, 40))
    fit = increasing_fit(y)
    assert (np.diff(fit) >= 0).all()
    # Optimality (KKT): within each block the fit is the mean; no feasible perturbation improves it.
    from scipy.optimize import minimize

    cons = {"type": "ineq", "fun": lambda z: np.diff(z)}
    best = minimize(lambda z: np.sum((z - y) ** 2), fit, constraints=cons, method="SLSQP")
    assert np.sum((fit - y) ** 2) <= best.fun + 1e-8


def test_accuracy_on_held_out_surfaces_beats_the_parametric_fit_from_few_quotes(held_out):
    """From 20 % of the quotes, the completion's hidden-quote error is below SSVI fitted to the same quotes."""
    from ivfast.svi import fit_ssvi

    ours, baseline = [], []
    for i, s in enumerate(held_out):
        keep = np.random.default_rng(i).random(s.k.size) < 0.2
        if keep.sum() < len(np.unique(s.tau[keep])) + 3:
            continue
        completed = complete_surface(s.k[keep], s.tau[keep], s.iv[keep])
        fitted = fit_ssvi(s.k[keep], s.tau[keep], s.iv[keep] ** 2 * s.tau[keep])
        ours.append(np.median(np.abs(completed.implied_vol(s.k[~keep], s.tau[~keep]) / s.target[~keep] - 1)))
        baseline.append(np.median(np.abs(fitted.implied_vol(s.k[~keep], s.tau[~keep]) / s.target[~keep] - 1)))
    assert len(ours) >= 8
    # Targets measured with the shipped weights (bench/README.md, "Sparse-surface completion"): the
    # median over surfaces of the hidden-quote median APE is below 5 % and below the SSVI fit's.
    assert np.median(ours) < 0.05
    assert np.median(ours) <= np.median(baseline)


@pytest.mark.parametrize("args, name", [
    (([], [], []), "k"),
    (([0.0], [0.5], [0.2]), "k"),
    (([0.0, 0.1, np.nan], [0.5] * 3, [0.2] * 3), "k"),
    (([0.0, 0.1, 0.2], [0.5, 0.0, 0.5], [0.2] * 3), "tau"),
    (([0.0, 0.1, 0.2], [0.5] * 3, [0.2, -0.1, 0.2]), "iv"),
    (([0.0, 0.1, 0.2], [0.5] * 2, [0.2] * 3), "tau"),
])
def test_bad_quotes_raise_value_error_naming_the_argument(args, name):
    with pytest.raises(ValueError, match=name):
        complete_surface(*args)


def test_bad_weights_features_and_model_raise_value_error(tmp_path):
    k, tau, iv = [-0.1, 0.0, 0.1], [0.5] * 3, [0.22, 0.2, 0.19]
    with pytest.raises(ValueError, match="weights"):
        complete_surface(k, tau, iv, weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="weights"):
        complete_surface(k, tau, iv, weights=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="features"):
        complete_surface(k, tau, iv, features=[0.2, 0.0])
    with pytest.raises(ValueError, match="model"):
        complete_surface(k, tau, iv, model=3)
    other = tmp_path / "other.pt"
    torch.save({"format": "ivfast.completion/0", "configs": {}, "states": {}, "info": "{}"}, other)
    with pytest.raises(ValueError, match="weights.*version"):
        complete_surface(k, tau, iv, model=other)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="weights"):
        complete_surface(k, tau, iv, model=junk)


def test_nine_quotes_give_a_complete_arbitrage_free_surface(held_out):
    """HyperIV's regime: ATM, 25-delta call and put at the expiries nearest 7 days, 1 and 3 months."""
    s = held_out[1]
    taus = np.unique(s.tau)
    ks, ts, vs = [], [], []
    for target in (7 / 365, 30 / 365, 91 / 365):
        t = taus[np.argmin(np.abs(taus - target))]
        sel = np.flatnonzero(s.tau == t)
        atm = np.sqrt(np.median(s.iv[sel]) ** 2 * t)
        for z in (-0.67, 0.0, 0.67):  # 25-delta strikes sit about 0.67 standard deviations out
            j = sel[np.argmin(np.abs(s.k[sel] - z * atm))]
            ks.append(s.k[j]), ts.append(s.tau[j]), vs.append(s.iv[j])
    surface = complete_surface(ks, ts, vs)
    assert surface.check(*dense_grid(s.k, s.tau)).ok()
    err = np.abs(surface.implied_vol(s.k, s.tau) / s.target - 1)
    assert np.isfinite(err).all()


def test_export_round_trip(held_out, tmp_path):
    s = held_out[2]
    surface = complete_surface(s.k, s.tau, s.iv)
    path = surface.export(tmp_path / "completed.pt")
    exported = ivfast.load_exported(path)
    k = torch.linspace(-0.4, 0.2, 50, dtype=torch.float64)
    tau = torch.full_like(k, 0.3)
    np.testing.assert_allclose(exported(k, tau).numpy(), surface.total_variance(k.numpy(), tau.numpy()), rtol=1e-12)


def test_save_load_round_trip(held_out, tmp_path):
    s = held_out[3]
    surface = complete_surface(s.k, s.tau, s.iv)
    surface.save(tmp_path / "s.pt")
    loaded = ivfast.FittedSurface.load(tmp_path / "s.pt")
    np.testing.assert_allclose(loaded.total_variance(s.k, s.tau), surface.total_variance(s.k, s.tau), rtol=1e-14)


def test_lazy_names_and_shipped_weights_match_the_training_script():
    from dataclasses import asdict

    from ivfast.completion.train import TrainConfig

    assert ivfast.complete_surface is complete_surface and "complete_surface" in dir(ivfast)
    networks, info = load_weights()
    assert set(networks) == {"ssvi", "ivyspt"}
    assert info["config"] == json_round_trip(asdict(TrainConfig()))
    assert info["threads"] == 1  # the bit-for-bit setting


def json_round_trip(obj):
    import json

    return json.loads(json.dumps(obj))


@pytest.mark.cuda
def test_completed_surface_export_runs_on_cuda(held_out, tmp_path):
    s = held_out[4]
    surface = complete_surface(s.k, s.tau, s.iv)
    exported = ivfast.load_exported(surface.export(tmp_path / "c.pt"), device="cuda")
    k = torch.linspace(-0.4, 0.2, 64, dtype=torch.float64, device="cuda")
    tau = torch.full_like(k, 0.5)
    np.testing.assert_allclose(exported(k, tau).cpu().numpy(), surface.total_variance(k.cpu().numpy(), 0.5),
                               rtol=1e-12)


def test_held_out_real_chain_completes_without_arbitrage(chains_dir):
    """SPX 2026-01-30, never seen in training: the 50 % drops complete certified and near the quotes."""
    from ivfast.completion.chains import HELD_OUT_CHAIN, chain_sample

    s = chain_sample(chains_dir / f"{HELD_OUT_CHAIN}.csv")
    z = np.abs(s.k) / np.sqrt(s.tau)
    # Measured 2.8 % (random) and 4.8 % (outer half) with the shipped weights (bench/README.md);
    # the bounds leave room for other draws and still catch a fall back to the network's own
    # answer (4.6 % and 31 %).
    for seen, bound in ((np.random.default_rng(0).random(s.k.size) >= 0.5, 0.04), (z <= np.median(z), 0.07)):
        surface = complete_surface(s.k[seen], s.tau[seen], s.iv[seen])
        assert surface.check(*dense_grid(s.k, s.tau)).ok()
        ape = np.abs(surface.implied_vol(s.k[~seen], s.tau[~seen]) / s.iv[~seen] - 1)
        assert np.median(ape) < bound


def test_refinement_jacobian_is_the_derivative_of_its_residuals(held_out, monkeypatch):
    """The closed-form Jacobian matches central differences (truncation ~h^2, rounding ~eps/h: 1e-7 relative).

    Away from rho = 0, where eta_max has a kink in |rho| (the Jacobian takes the mean of both sides there).
    """
    import scipy.optimize

    from ivfast.completion.quotes import validate
    from ivfast.completion.refine import refine

    captured = {}
    real = scipy.optimize.least_squares

    def spy(fun, x0, jac, **kwargs):
        captured.update(fun=fun, jac=jac, x0=x0)
        return real(fun, x0, jac=jac, **kwargs)

    monkeypatch.setattr(scipy.optimize, "least_squares", spy)
    rng = np.random.default_rng(0)
    for s, raw in zip(held_out[:3], ([-0.5, -1.0, 0.3], [0.8, 1.5, -2.0], [0.1, 0.0, 4.0])):
        k, tau, iv, w = validate(s.k, s.tau, s.iv, None)
        refine(np.array(raw), k, tau, iv, w, atm_curve(k, tau, iv), 20)
        fun, jac = captured["fun"], captured["jac"]
        for z in (captured["x0"], captured["x0"] + 0.3 * rng.standard_normal(captured["x0"].size)):
            h = 1e-6 * np.maximum(1.0, np.abs(z))
            fd = np.column_stack([(fun(z + hi * e) - fun(z - hi * e)) / (2 * hi) for hi, e in zip(h, np.eye(z.size))])
            np.testing.assert_allclose(jac(z), fd, rtol=0, atol=1e-7 * np.abs(fd).max())


def test_kernel_embedding_is_the_kernel_weighted_mean_of_observed_vols():
    """h_j^(c) = sum_i k_c(y_i, x_j) f_i / sum_i k_c(y_i, x_j) over observed i, written out in float64."""
    from ivfast.completion.embedding import KernelEmbedding

    gen = torch.Generator().manual_seed(0)
    emb = KernelEmbedding(8).double()
    with torch.no_grad():
        emb.log_scale.copy_(torch.tensor([0.3, -0.2]))
    x = torch.randn(2, 20, 2, generator=gen, dtype=torch.float64)
    f = torch.randn(2, 20, generator=gen, dtype=torch.float64)
    observed = torch.rand(2, 20, generator=gen) > 0.3
    a = torch.exp(emb.log_scale)
    dist = ((x[:, :, None] - x[:, None]) ** 2 * a).sum(-1) / (2 * a.sum())
    kern = torch.exp(-dist[..., None] / emb.bandwidth**2) * observed[:, None, :, None]
    expected = (kern * f[:, None, :, None]).sum(2) / kern.sum(2)
    torch.testing.assert_close(emb(x, f, observed), expected, rtol=1e-12, atol=1e-12)
