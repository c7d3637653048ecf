"""Surrogate networks, loss, training, evaluation, calibration and CLI (needs torch).

Everything runs on a tiny configuration (a few hundred grids of 5 x 4, small networks, 1 thread)
so that the module stays within its CI budget; accuracy of a full-size surrogate is measured in
bench/bench_surrogate.py.
"""

from __future__ import annotations

import argparse
import copy
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ivfast import surrogate  # noqa: E402
from ivfast.cli import surrogate as _cli_surrogate  # noqa: E402
from ivfast.surrogate import training as strain  # noqa: E402
from ivfast.surrogate.evaluation import accuracy_metrics, arbitrage_share  # noqa: E402
from ivfast.surrogate.loss import LossWeights, SurrogateLoss, second_difference  # noqa: E402

STRIKES = np.array([0.7, 0.85, 1.0, 1.15, 1.3])
TAUS = np.array([0.25, 0.5, 1.0, 2.0])
SMALL = dict(n_blocks=2, width=32, batch_size=64, progress=False, threads=1)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def dataset():
    return surrogate.make_dataset("heston", 320, None, STRIKES, TAUS, 11, 1, progress=False, chunk_size=320)


@pytest.fixture(scope="module")
def trained(dataset):
    return surrogate.train(dataset, epochs=25, **SMALL)


# ------------------------------------------------------------------------------------ loss


def test_loss_terms_match_hand_computed_values():
    strikes = np.array([0.9, 1.0, 1.1])  # 0.9 < 0.95 is the OTM-put column (weight 2)
    true = torch.zeros(1, 3, 3, dtype=torch.float64)
    err = torch.tensor([[[0.05, 0.0, 0.3], [0.0, 0.1, 0.0], [-0.2, 0.0, 0.0]]], dtype=torch.float64)
    fn = SurrogateLoss(strikes, LossWeights(huber_delta=0.1, sobolev_strike=0.01, sobolev_tau=0.01, otm_put_weight=2.0))
    terms = fn.terms(true + err, true)
    # Huber(0.1): 0.5 e^2 if |e| <= 0.1 else 0.1 (|e| - 0.05).
    # cells: 0.05 (put col, x2) -> 2 * 0.00125; 0.3 -> 0.025; 0.1 -> 0.005; -0.2 (put col, x2) -> 2 * 0.015
    huber = (2 * 0.00125 + 0.025 + 0.005 + 2 * 0.015) / 9
    # Strike second differences, one per row: 0.05 - 0 + 0.3, 0 - 0.2 + 0, -0.2 - 0 + 0
    d2k = (0.35**2 + 0.2**2 + 0.2**2) / 3
    # Maturity second differences, one per column: 0.05 - 0 - 0.2, 0 - 0.2 + 0, 0.3 - 0 + 0
    d2t = (0.15**2 + 0.2**2 + 0.3**2) / 3
    assert float(terms["huber"]) == pytest.approx(huber, rel=1e-14)
    assert float(terms["sobolev_strike"]) == pytest.approx(d2k, rel=1e-14)
    assert float(terms["sobolev_tau"]) == pytest.approx(d2t, rel=1e-14)
    assert float(fn(true + err, true)) == pytest.approx(huber + 0.01 * d2k + 0.01 * d2t, rel=1e-14)


def test_sobolev_terms_vanish_for_errors_linear_in_the_grid_index():
    i, j = np.meshgrid(np.arange(4.0), np.arange(5.0), indexing="ij")
    e = torch.as_tensor(0.01 * i - 0.02 * j + 0.003)[None]
    assert float(second_difference(e, -1).abs().max()) < 1e-15
    assert float(second_difference(e, -2).abs().max()) < 1e-15


def test_loss_weights_are_validated():
    with pytest.raises(ValueError, match="huber_delta"):
        LossWeights(huber_delta=0.0)
    with pytest.raises(ValueError, match="sobolev_tau"):
        LossWeights(sobolev_tau=-1.0)


# -------------------------------------------------------------------------------- training


def test_training_reduces_validation_loss_and_keeps_the_best(trained):
    h = trained.history
    # 25 epochs of a 2-block network on 190 grids: at least a 5x drop from the first epoch
    # (about 10x measured).
    assert trained.best_val_loss < 0.2 * h[0]["val_loss"]
    assert trained.best_val_loss == min(e["val_loss"] for e in h)
    assert trained.surrogate.info["pca_variance"] >= 0.999
    n = len(trained.train_index) + len(trained.val_index) + len(trained.test_index)
    assert (len(trained.train_index), len(trained.val_index)) == (round(0.6 * n), round(0.2 * n))


def test_training_is_reproducible(dataset):
    a = surrogate.train(dataset, epochs=3, **SMALL)
    b = surrogate.train(dataset, epochs=3, **SMALL)
    np.testing.assert_array_equal(a.surrogate.predict(dataset.params[:5]), b.surrogate.predict(dataset.params[:5]))


def test_ctrl_c_keeps_the_best_model(dataset, monkeypatch):
    calls = {"n": 0}

    class Interrupting(SurrogateLoss):
        def forward(self, pred, true):
            calls["n"] += 1
            if calls["n"] == 40:  # inside epoch 2 (12 batches of 64 + a validation pass per epoch)
                raise KeyboardInterrupt
            return super().forward(pred, true)

    monkeypatch.setattr(strain, "SurrogateLoss", Interrupting)
    result = surrogate.train(dataset, epochs=50, **SMALL)
    assert result.interrupted and 1 <= len(result.history) < 50
    assert result.best_epoch == int(np.argmin([h["val_loss"] for h in result.history]))
    assert np.isfinite(result.surrogate.predict(dataset.params[:3])).all()


def test_grid_mlp_baseline_trains(dataset):
    result = surrogate.train(dataset, arch="grid", epochs=15, **SMALL)
    assert result.surrogate.arch["kind"] == "grid"
    assert result.best_val_loss < 0.5 * result.history[0]["val_loss"]


# ------------------------------------------------------------------------ save / export


def test_save_load_and_export_round_trip(trained, tmp_path, dataset):
    sur = trained.surrogate
    sur.save(tmp_path / "m.pt")
    again = surrogate.Surrogate.load(tmp_path / "m.pt")
    x = dataset.params[:7]
    np.testing.assert_array_equal(again.predict(x), sur.predict(x))
    assert again.names == sur.names and np.array_equal(again.taus, TAUS)
    sur.export(tmp_path / "m.pt2")
    module = torch.export.load(str(tmp_path / "m.pt2")).module()
    with torch.no_grad():
        out = module(torch.as_tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out, sur.predict(x), rtol=0, atol=1e-6)  # same float32 graph


@pytest.mark.parametrize("arch", ["resmlp", "grid"])
def test_folded_inference_network_matches_the_training_graph(trained, dataset, arch):
    from ivfast.surrogate.model import inference_net

    sur = trained.surrogate if arch == "resmlp" else surrogate.train(dataset, arch="grid", epochs=1, **SMALL).surrogate
    x = torch.as_tensor(dataset.params[:50], dtype=torch.float64)
    with torch.no_grad():
        exact = sur.double_net()(x)
        folded = inference_net(copy.deepcopy(sur.net).double())(x)
    # Folding is exact algebra; in float64 only rounding of the reassociated sums remains.
    torch.testing.assert_close(folded, exact, rtol=0, atol=1e-12)
    # predict (float32, folded) agrees with the float32 training graph to float32 rounding of vols ~0.3.
    with torch.no_grad():
        graph = sur.net(x.float()).double().numpy()
    np.testing.assert_allclose(sur.predict(dataset.params[:50]), graph, rtol=0, atol=2e-6)


def test_predict_rejects_wrong_parameter_count(trained):
    with pytest.raises(ValueError, match="params"):
        trained.surrogate.predict(np.zeros((2, 3)))


# ------------------------------------------------------------------------------ evaluation


def test_accuracy_metrics_by_hand():
    true = np.array([[1.0, 2.0], [3.0, 4.0]])
    pred = true + np.array([[0.1, -0.2], [0.0, 0.4]])
    m = accuracy_metrics(pred, true)
    assert m["rmse"] == pytest.approx(np.sqrt((0.01 + 0.04 + 0.16) / 4))
    assert m["mae"] == pytest.approx(0.7 / 4) and m["max_abs"] == pytest.approx(0.4)
    assert m["median_abs"] == pytest.approx(0.15) and m["max_rel"] == pytest.approx(0.1)
    assert m["r2"] == pytest.approx(1 - 0.21 / 5.0)


def test_arbitrage_share_flags_a_calendar_violation():
    strikes, taus = np.array([0.8, 1.0, 1.2]), np.array([0.5, 1.0])
    good = np.full((2, 3), 0.2)
    bad = good.copy()
    bad[1] = 0.1  # total variance 0.01 at 1 year < 0.02 at 0.5 years: calendar arbitrage
    share = arbitrage_share(np.stack([good, bad]), strikes, taus)
    assert share["share"] == 0.5 and share["violations"]["calendar"] > 0


def test_evaluate_writes_report_and_figures(trained, dataset, tmp_path):
    test = trained.test_index
    report = surrogate.evaluate(trained.surrogate, dataset.params[test], dataset.iv[test], tmp_path,
                                arbitrage_surfaces=20, history=trained.history)
    assert set(report["buckets"]) == {"atm", "otm_put", "otm_call", "short", "long"}
    assert report["arbitrage"]["true"]["share"] == 0.0  # Heston grids are arbitrage-free
    assert 0.0 <= report["arbitrage"]["predicted"]["share"] <= 1.0
    assert json.loads((tmp_path / "report.json").read_text())["overall"]["rmse"] == report["overall"]["rmse"]
    for name in report["figures"]:
        assert (tmp_path / name).stat().st_size > 10_000


# ----------------------------------------------------------------------------- calibration


@pytest.mark.parametrize("arch", [
    {"kind": "resmlp", "n_blocks": 2, "width": 16, "dropout": 0.1, "activation": "silu"},
    {"kind": "resmlp", "n_blocks": 1, "width": 8, "dropout": 0.0, "activation": "tanh"},
    {"kind": "resmlp", "n_blocks": 1, "width": 8, "dropout": 0.0, "activation": "relu"},
    {"kind": "grid", "hidden": [12, 12], "activation": "elu"},
])
def test_forward_mode_jacobian_matches_torch_autograd(arch):
    from ivfast.surrogate.jacobian import value_and_jacobian
    from ivfast.surrogate.model import build_network

    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    cells = 12
    net = build_network(arch, rng.normal(size=5), rng.uniform(0.5, 2, 5), rng.normal(size=cells),
                        rng.normal(size=(cells if arch["kind"] == "grid" else 4, cells)), (3, 4)).double().eval()
    for _ in range(3):
        p = torch.as_tensor(rng.normal(size=5))
        value, jac = value_and_jacobian(net, p)
        reference = torch.func.jacrev(lambda x: net(x).reshape(-1))(p)
        # Same float64 operations in another order: agreement to a few ulps of the entries.
        torch.testing.assert_close(jac, reference, rtol=1e-12, atol=1e-13)
        torch.testing.assert_close(value, net(p).reshape(-1).detach(), rtol=0, atol=0)
    if arch.get("dropout"):
        with pytest.raises(ValueError, match="eval mode"):
            value_and_jacobian(net.train(), p)


def test_calibration_recovers_parameters_of_a_surrogate_surface(trained, dataset):
    sur = trained.surrogate
    net = sur.double_net()
    lo, hi = sur.bounds
    for p in dataset.params[trained.test_index[:4]]:
        p = np.clip(p, lo + 0.02 * (hi - lo), hi - 0.02 * (hi - lo))  # strictly inside the box
        with torch.no_grad():
            target = net(torch.as_tensor(p)).numpy()
        result = surrogate.calibrate(sur, target, reprice=False)
        # Zero-residual problem: LM converges quadratically; 1e-4 relative is the acceptance bound.
        np.testing.assert_allclose(result.params, p, rtol=1e-4)
        assert result.surrogate_rmse < 1e-8


def test_calibration_to_the_pricer_reports_the_true_error(trained, dataset):
    p = dataset.params[trained.test_index[0]]
    result = surrogate.calibrate(trained.surrogate, dataset.iv[trained.test_index[0]])
    lo, hi = trained.surrogate.bounds
    assert ((result.params > lo) & (result.params < hi)).all()
    assert np.isfinite(result.true_rmse) and result.surrogate_rmse < 0.05  # 25-epoch toy network
    assert result.as_dict().keys() == {"v0", "kappa", "theta", "sigma", "rho"}
    assert len(p) == 5


def test_calibration_ignores_nan_cells_and_rejects_bad_input(trained, dataset):
    target = dataset.iv[0].copy()
    target[0, 0] = np.nan
    assert np.isfinite(surrogate.calibrate(trained.surrogate, target, reprice=False).params).all()
    with pytest.raises(ValueError, match="iv_grid"):
        surrogate.calibrate(trained.surrogate, np.ones((2, 2)))
    with pytest.raises(ValueError, match="weights"):
        surrogate.calibrate(trained.surrogate, target, weights=-1.0)


# ------------------------------------------------------------------------------------ CLI


def _cli(argv):
    parser = argparse.ArgumentParser(prog="ivfast")
    _cli_surrogate.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_make_train_eval_calibrate(tmp_path, capsys):
    data, model, report = tmp_path / "data", tmp_path / "m.pt", tmp_path / "report"
    assert _cli(["surrogate", "make-data", "-o", str(data), "-n", "96", "--grid", "seed", "--threads", "1",
                 "--quiet", "--range", "v0=0.04:0.2"]) == 0
    assert _cli(["surrogate", "train", str(data), "-o", str(model), "--epochs", "2", "--blocks", "1", "--width", "16",
                 "--threads", "1", "--quiet"]) == 0
    assert _cli(["surrogate", "eval", str(model), str(data), "-o", str(report), "--arbitrage-surfaces", "5",
                 "--no-figures"]) == 0
    assert (report / "report.json").exists()
    capsys.readouterr()
    assert _cli(["surrogate", "calibrate", str(model), "--params",
                 "v0=0.09,kappa=2,theta=0.09,sigma=0.5,rho=-0.6"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["params"]) == {"v0", "kappa", "theta", "sigma", "rho"}
    with pytest.raises(_cli_surrogate.CLIError, match="range"):
        _cli(["surrogate", "make-data", "-o", str(tmp_path / "x"), "--range", "v0"])
