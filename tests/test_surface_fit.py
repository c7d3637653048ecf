"""fit_surface end to end: input checks, prior-only recovery, persistence, the seed's Bates experiment."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cvxpy")

import ivfast  # noqa: E402
from ivfast.arbitrage import ArbitrageReport, check_surface  # noqa: E402
from ivfast.protocols import DifferentiableSurface  # noqa: E402
from ivfast.surface import FittedSurface, SmoothingConfig, fit_surface  # noqa: E402
from .surface_data import REFERENCE_BATES, SUBSEQUENT_BATES, bates_quotes  # noqa: E402

TRUE_SSVI = dict(rho=-0.4, gamma=0.35, eta=1.2)
# The fitted SSVI prior alone meets the default target on SSVI quotes at the first epoch; the
# mechanics tests need the full 30 epochs, hence a target no fit reaches.
SMALL = SmoothingConfig(hidden_layers=(8, 8), n_k_aux=8, n_tau_aux=6, n_random=16, n_random_wing=4,
                        n_adaptive=8, check_grid=(21, 11), max_epochs=30, log_every=5, progress=False,
                        target_loss=1e-9)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Train on one thread: these networks are too small for intra-op threads to pay off on a
    shared 2-core runner (the reference fit took 231 s with two threads and ~50 s with one, both
    under load from other jobs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def ssvi_quotes():
    """Quotes from published SSVI on theta(tau) = 0.04 tau + 0.01 tau^2 (numpy, independent of the prior)."""
    k, tau = (a.ravel() for a in np.meshgrid(np.linspace(-0.6, 0.6, 9), [0.1, 0.25, 0.5, 1.0, 2.0]))
    theta = 0.04 * tau + 0.01 * tau**2
    rho, gamma, eta = TRUE_SSVI.values()
    phi = eta * theta**-gamma * (1 + theta) ** (gamma - 1)
    w = theta / 2 * (1 + rho * phi * k + np.sqrt((phi * k + rho) ** 2 + 1 - rho**2))
    return k, tau, np.sqrt(w / tau)


def dense_axes():
    """The acceptance grid: k in [-1.5, 1.5] x tau in [1/365, 2] (301 x 200 points)."""
    return np.linspace(-1.5, 1.5, 301), np.exp(np.linspace(np.log(1 / 365), np.log(2), 200))




@pytest.mark.parametrize(("change", "message"), [
    (lambda k, t, v: (k[:-1], t, v), "mismatched lengths"),
    (lambda k, t, v: (k, t, np.where(np.arange(v.size) == 3, np.nan, v)), "iv: 1 invalid"),
    (lambda k, t, v: (k, np.where(np.arange(t.size) < 2, 0.0, t), v), "tau: 2 invalid"),
    (lambda k, t, v: (k, t, -v), "iv: 45 invalid"),
])
def test_bad_quotes_raise_value_error_naming_them(change, message):
    with pytest.raises(ValueError, match=message):
        fit_surface(*change(*ssvi_quotes()), config=SMALL)


def test_drop_invalid_warns_and_fits_the_rest():
    k, tau, iv = ssvi_quotes()
    iv[0] = np.nan
    with pytest.warns(RuntimeWarning, match="dropped 1 invalid"):
        fit = fit_surface(k, tau, iv, config=SMALL.replace(max_epochs=2), drop_invalid=True)
    assert fit.quotes.k.size == k.size - 1


def test_bad_config_and_init_raise():
    with pytest.raises(ValueError, match="activation"):
        SmoothingConfig(activation="relu")
    with pytest.raises(ValueError, match="init"):
        fit_surface(*ssvi_quotes(), config=SMALL, init="previous")


def test_prior_only_fit_recovers_ssvi_parameters():
    fit = fit_surface(*ssvi_quotes(), config=SMALL.replace(use_network=False, max_epochs=1))
    # The quick L-BFGS prior fit alone (the best state is the one before the single Adam step).
    # The ATM curve passes through the five exact ATM points to ~1e-14, so the parameters come
    # back to the optimiser's tolerance (~1e-8) and the vols to ~1e-9.
    params = fit.prior_parameters()
    for name, value in TRUE_SSVI.items():
        assert params[name] == pytest.approx(value, abs=1e-6), name
    k, tau, iv = ssvi_quotes()
    assert np.max(np.abs(fit.implied_vol(k, tau) - iv)) < 1e-7
    np.testing.assert_array_equal(fit.network_factor(k, tau), 1.0)


def test_fitted_surface_protocol_evaluation_and_call_price():
    fit = fit_surface(*ssvi_quotes(), config=SMALL, seed=1)
    assert isinstance(fit, DifferentiableSurface)
    k, tau = np.array([[-0.2], [0.0], [0.3]]), np.array([0.1, 0.7, 1.5, 0.0])
    w, w_k, w_kk, w_t = fit.total_variance_derivatives(k, tau)
    assert w.shape == (3, 4) and np.isnan(w[:, -1]).all() and np.isfinite(w[:, :-1]).all()
    np.testing.assert_array_equal(fit.total_variance(k, tau), w)
    np.testing.assert_allclose(fit.implied_vol(k, tau[:-1]), np.sqrt(w[:, :-1] / tau[:-1]), rtol=1e-15)
    # Central differences of w (step 1e-5): truncation + rounding ~1e-8 relative to the slope scale.
    h = 1e-5
    fd_k = (fit.total_variance(k + h, tau[:-1]) - fit.total_variance(k - h, tau[:-1])) / (2 * h)
    fd_t = (fit.total_variance(k, tau[:-1] + h) - fit.total_variance(k, tau[:-1] - h)) / (2 * h)
    np.testing.assert_allclose(w_k[:, :-1], fd_k, atol=1e-7)
    np.testing.assert_allclose(w_t[:, :-1], fd_t, atol=1e-7)
    forward, strike, expiry = 100.0, np.array([80.0, 100.0, 130.0]), 0.5
    vol = fit.implied_vol(np.log(strike / forward), expiry)
    expected = ivfast.black_price(forward, strike, expiry, vol, discount=0.97)
    np.testing.assert_array_equal(fit.call_price(strike, expiry, forward, discount=0.97), expected)


def test_same_seed_same_fit_and_history_columns():
    a = fit_surface(*ssvi_quotes(), config=SMALL, seed=5)
    b = fit_surface(*ssvi_quotes(), config=SMALL, seed=5)
    pd_cols = ["epoch", "total_epoch", "best_loss", "loss", "rmse", "mape", "calendar", "butterfly",
               "asym", "atm", "lee", "inside", "worst_inside", "lr"]
    assert list(a.history.columns) == [*pd_cols, "seconds"] and len(a.history) == 6
    np.testing.assert_array_equal(a.history[pd_cols].to_numpy(), b.history[pd_cols].to_numpy())
    assert a.history["inside"].isna().all()  # no bid-ask vols given
    assert a.history["seconds"].is_monotonic_increasing and a.history["seconds"].iloc[-1] <= a.info["seconds"]
    assert a.first_reached(np.inf) == (5, a.history["seconds"].iloc[0]) and a.first_reached(0.0) is None
    assert a.first_reached(-1.0) is None
    for bad in (np.nan, "low", None):
        with pytest.raises(ValueError, match="loss"):
            a.first_reached(bad)


def test_bid_ask_loss_stops_once_the_fit_is_inside_the_quotes():
    k, tau, iv = ssvi_quotes()
    rng = np.random.default_rng(3)
    mid = iv + rng.uniform(-0.003, 0.003, iv.size)  # noisy mids; the true vols lie inside every interval
    bid, ask = iv - 0.005, iv + 0.005
    bid[0], ask[1] = np.nan, np.nan  # a bid below intrinsic, an ask at the bound: open intervals
    config = SMALL.replace(quote_loss="bid_ask", target_inside=0.95, target_expiry_inside=0.8, max_epochs=300)
    fit = fit_surface(k, tau, mid, iv_bid=bid, iv_ask=ask, config=config)
    assert fit.info["stop_reason"] == "target"
    fitted = fit.implied_vol(k, tau)
    inside = (np.nan_to_num(bid, nan=0.0) <= fitted) & (fitted <= np.nan_to_num(ask, nan=np.inf))
    assert inside.mean() >= 0.95 and fit.info["inside_bid_ask"] == pytest.approx(inside.mean(), abs=1e-12)
    per_maturity = pd.Series(inside).groupby(tau).mean()
    assert per_maturity.min() >= 0.8 and fit.info["worst_maturity_inside"] == pytest.approx(per_maturity.min())
    assert fit.certificate.ok()
    # The loss needs the interval; half of it is refused.
    with pytest.raises(ValueError, match="iv_bid"):
        fit_surface(k, tau, mid, config=config)
    with pytest.raises(ValueError, match="both or neither"):
        fit_surface(k, tau, mid, iv_bid=bid, config=SMALL)
    with pytest.raises(ValueError, match="iv_ask: 1 invalid"):
        fit_surface(k, tau, mid, iv_bid=bid, iv_ask=np.where(np.arange(k.size) == 5, mid - 0.01, ask), config=SMALL)


def test_the_inside_stop_counts_every_quote_not_only_the_thinned_loss_quotes():
    from ivfast.surface.inputs import loss_quotes

    k, tau, iv = ssvi_quotes()
    used = np.zeros(k.size, bool)
    used[loss_quotes(k, tau, 4)] = True
    # The loss's quotes have intervals around the true vols; the others' lie 2 vol points above
    # them, so no fit of the loss's quotes puts those inside: the 95 % stop must not fire.
    bid = np.where(used, iv - 0.005, iv + 0.02)
    ask = bid + np.where(used, 0.01, 0.002)
    assert (~used).mean() > 0.05
    config = SMALL.replace(quote_loss="bid_ask", target_inside=0.95, target_expiry_inside=0.0,
                           max_quotes_per_maturity=4, max_epochs=60, check_every=30)
    fit = fit_surface(k, tau, 0.5 * (bid + ask), iv_bid=bid, iv_ask=ask, config=config)
    assert fit.info["stop_reason"] != "target"
    fitted = fit.implied_vol(k, tau)
    assert fit.info["inside_bid_ask"] == pytest.approx(np.mean((bid <= fitted) & (fitted <= ask)), abs=0.05)


def test_loss_quote_thinning_and_time_limit():
    from ivfast.surface.inputs import loss_quotes

    k = np.r_[np.linspace(-1, 1, 11), np.linspace(-0.5, 0.5, 3)]
    tau = np.r_[np.full(11, 0.5), np.full(3, 1.0)]
    used = loss_quotes(k, tau, 4)
    # Both ends of every smile stay in, at most 4 per maturity, evenly by rank.
    np.testing.assert_array_equal(used, [0, 3, 7, 10, 11, 12, 13])
    np.testing.assert_array_equal(loss_quotes(k, tau, 0), np.arange(14))
    fit = fit_surface(*ssvi_quotes(), config=SMALL.replace(max_epochs=100_000, time_limit=1.0))
    assert fit.info["stop_reason"] == "time_limit" and fit.info["seconds"] < 30
    with pytest.raises(ValueError, match="time_limit"):
        SMALL.replace(time_limit=0.0)


def test_progress_is_the_share_of_the_way_to_the_nearest_stop():
    import time

    from ivfast.surface.progress import FitProgress

    config = SMALL.replace(max_epochs=1000, target_loss=1e-3, target_inside=0.9, time_limit=None)
    bar = FitProgress(config, time.perf_counter(), enabled=False)
    assert bar.fraction(100, 1e-1, float("nan")) == pytest.approx(0.1)  # first loss seen: epochs lead
    assert bar.fraction(100, 1e-2, float("nan")) == pytest.approx(0.5)  # log scale: 1e-1 -> 1e-3
    assert bar.fraction(100, 1e-2, 0.81) == pytest.approx(0.9)  # 81 % inside of the 90 % target
    assert bar.fraction(5000, 1e-2, 0.5) == 1.0  # past the epoch budget: capped
    timed = FitProgress(SMALL.replace(max_epochs=10**9, time_limit=1e-9), time.perf_counter() - 1.0, enabled=False)
    assert timed.fraction(1, 1.0, float("nan")) == 1.0  # the time limit has passed


def test_float32_training_returns_a_float64_surface_that_fits_as_well():
    k, tau, iv = ssvi_quotes()
    config = SMALL.replace(max_epochs=60)
    f64 = fit_surface(k, tau, iv, config=config)
    f32 = fit_surface(k, tau, iv, config=config.replace(train_dtype="float32"))
    assert all(p.dtype == torch.float64 for p in f32.model.parameters())
    assert f32.total_variance(k, tau).dtype == np.float64 and f32.certificate.ok()
    # Same start (the prior fit is float64) and 60 epochs: the fits agree to float32 training noise,
    # far below the quotes' resolution (1e-4 in vol is a hundredth of a vol point).
    np.testing.assert_allclose(f32.implied_vol(k, tau), f64.implied_vol(k, tau), atol=1e-4)
    assert f32.info["best_loss"] == pytest.approx(f64.info["best_loss"], rel=1e-3)
    with pytest.raises(ValueError, match="train_dtype"):
        SMALL.replace(train_dtype="float16")


def test_read_only_quotes_fit_like_writable_ones():
    arrays = [np.array(a) for a in ssvi_quotes()]
    for a in arrays:
        a.flags.writeable = False
    fit = fit_surface(*arrays, config=SMALL, seed=5)  # no warning (the suite turns warnings into errors)
    again = fit_surface(*ssvi_quotes(), config=SMALL, seed=5)
    np.testing.assert_array_equal(fit.history["loss"], again.history["loss"])


def test_save_load_round_trip_is_bit_identical(tmp_path):
    fit = fit_surface(*ssvi_quotes(), config=SMALL, seed=2)
    path = tmp_path / "surface.pt"
    fit.save(path)
    loaded = FittedSurface.load(path)
    k, tau = np.linspace(-2, 2, 41)[:, None], np.logspace(-3, 0.5, 17)[None, :]
    for got, want in zip(loaded.total_variance_derivatives(k, tau), fit.total_variance_derivatives(k, tau)):
        np.testing.assert_array_equal(got, want)
    assert loaded.config == fit.config and loaded.info == fit.info
    np.testing.assert_array_equal(loaded.history.to_numpy(), fit.history.to_numpy())
    np.testing.assert_array_equal(loaded.quotes.iv, fit.quotes.iv)
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an ivfast deep-smoothing file"):
        FittedSurface.load(tmp_path / "other.pt")


def test_callback_stop_and_interrupt_return_best_state():
    seen = []
    fit = fit_surface(*ssvi_quotes(), config=SMALL, callback=lambda row: seen.append(row) or len(seen) == 2)
    assert fit.info["stop_reason"] == "callback" and fit.info["epochs"] == 10

    def interrupt(row):
        raise KeyboardInterrupt

    fit = fit_surface(*ssvi_quotes(), config=SMALL, callback=interrupt)
    assert fit.info["stop_reason"] == "interrupted"
    assert fit.info["best_loss"] == pytest.approx(fit.history["best_loss"].iloc[-1])


def test_certificate_is_the_arbitrage_check_of_the_returned_surface(tmp_path):
    from ivfast.surface.collocation import Collocation

    fit = fit_surface(*ssvi_quotes(), config=SMALL, seed=1)
    assert isinstance(fit.certificate, ArbitrageReport)
    # The trainer's grid: the collocation domain with the check grid's cells halved (21 x 11 -> 41 x 21).
    k, tau = Collocation.build(fit.quotes.k, fit.quotes.tau, fit.config).check_axes(41, 21)
    again = check_surface(fit, k=k, tau=tau)
    pd.testing.assert_frame_equal(fit.certificate.violations, again.violations)
    assert fit.info["arbitrage"]["counts"] == again.counts() and fit.info["arbitrage"]["ok"] == again.ok()
    assert f"41 k x {tau.size} tau" in fit.info["arbitrage"]["grid"]
    # The tau axis holds the quoted maturities and the gap points between them as well, and the
    # quoted range once more at the axis' length (no gap between check maturities in it wider
    # than 1/20 of that range in ln tau).
    assert tau.size > 21 and set(np.unique(fit.quotes.tau)) <= set(tau)
    quoted = tau[(tau >= fit.quotes.tau.min()) & (tau <= fit.quotes.tau.max())]
    assert np.diff(np.log(quoted)).max() <= np.log(fit.quotes.tau.max() / fit.quotes.tau.min()) / 20 + 1e-12
    fit.save(tmp_path / "s.pt")
    assert FittedSurface.load(tmp_path / "s.pt").info["arbitrage"] == fit.info["arbitrage"]


def break_calendar(network):
    """Give ``network`` calendar arbitrage: it rises with the time input only (positive weights)
    into a negative output weight, so it falls with tau faster than the prior rises.
    """
    with torch.no_grad():
        network.layers[0].weight[:, 0] = 0.0
        network.layers[0].weight[:, 1] = 2.0
        for layer in network.layers[1:-1]:
            layer.weight.abs_()
        network.layers[-1].weight.fill_(-0.3)
        network.layers[-1].bias.fill_(0.0)


def test_stopping_check_rejects_states_with_calendar_arbitrage():
    # With the network of break_calendar, the target trivially met and no calendar/butterfly
    # penalties, only the stopping check stands between that state and the result.
    base = fit_surface(*ssvi_quotes(), config=SMALL.replace(max_epochs=1), seed=0)
    break_calendar(base.model.network)
    assert check_surface(base).counts()["calendar"] > 0
    config = SMALL.replace(target_loss=10.0, lambda_butterfly=0.0, lambda_calendar=0.0)
    fit = fit_surface(*ssvi_quotes(), config=config, init=base, seed=0)
    assert fit.info["rejected_by_check"] >= 1
    # It stopped only once a best state passed, and that state is what came back.
    assert fit.info["stop_reason"] == "target" and fit.info["arbitrage"]["counts"]["calendar"] == 0
    assert check_surface(fit).counts()["calendar"] == 0


def test_plots_write_png_files(tmp_path):
    from ivfast.surface import plots

    fit = fit_surface(*ssvi_quotes(), config=SMALL, seed=4)
    paths = [plots.plot_fit_per_maturity(fit, tmp_path / "fit.png"), plots.plot_iv_surface(fit, tmp_path / "iv.png"),
             plots.plot_loss_curves(fit, tmp_path / "loss.png")]
    for path in paths:
        with open(path, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def acceptance_fit(seed: int):
    """The seed's reference set fitted with the default config run on to ACKERER_FIT_TARGET_LOSS (0.012):
    at the seed's own stopping level 0.02 the quote RMSE is 0.55-0.70 vol points (RMSE is about 0.3 x
    the loss on this set; see the constant's docstring), so issue 4's two criteria, best loss <= 0.02
    and RMSE <= 0.5 vol points, hold together only below it."""
    k, tau, iv = bates_quotes(REFERENCE_BATES)
    config = SmoothingConfig(progress=False, target_loss=ivfast.datasets.ACKERER_FIT_TARGET_LOSS, log_every=10)
    return (k, tau, iv), fit_surface(k, tau, iv, config=config, seed=seed)


@pytest.fixture(scope="module")
def reference_fit():
    return acceptance_fit(0)


def assert_meets_the_acceptance(quotes, fit):
    (k, tau, iv) = quotes
    assert fit.info["stop_reason"] == "target" and fit.info["best_loss"] <= ivfast.datasets.ACKERER_FIT_TARGET_LOSS
    # It passed the seed's stopping level on the way (resolution: log_every epochs).
    epoch, _ = fit.first_reached(0.02)
    assert epoch <= fit.info["epochs"]
    assert np.sqrt(np.mean((fit.implied_vol(k, tau) - iv) ** 2)) <= 0.005  # issue 4: 0.5 vol points
    report = check_surface(fit, *dense_axes(), tol=1e-8)
    assert report.counts()["calendar"] == 0 and report.counts()["butterfly"] == 0
    assert fit.info["arbitrage"]["counts"]["calendar"] == 0 and fit.info["arbitrage"]["counts"]["butterfly"] == 0


@pytest.mark.slow
def test_bates_reference_fit_meets_the_acceptance(reference_fit):
    assert_meets_the_acceptance(*reference_fit)
    fit = reference_fit[1]
    # Bounded model: SSVI parameters in the GJ region, network scale below its cap, linear wings
    # below Lee's slope 2 far out.
    params = fit.prior_parameters()
    assert abs(params["rho"]) < 1 and 0 < params["gamma"] <= 0.5
    assert fit.output_scale() <= fit.config.max_output_scale
    wings = np.r_[np.linspace(-7.2, -2.4, 25), np.linspace(2.2, 6.6, 25)][:, None]
    assert np.max(fit.total_variance(wings, dense_axes()[1]) / np.abs(wings)) < 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_bates_reference_fit_meets_the_acceptance_for_other_seeds(seed):
    assert_meets_the_acceptance(*acceptance_fit(seed))


@pytest.mark.slow
def test_warm_start_converges_in_fewer_epochs_than_cold(reference_fit):
    _, reference = reference_fit
    k, tau, iv = bates_quotes(SUBSEQUENT_BATES)
    warm = fit_surface(k, tau, iv, config=SmoothingConfig(progress=False), init=reference, seed=0)
    assert warm.info["stop_reason"] == "target" and warm.info["warm_start"]
    # Cold start with the same epoch budget as the warm start needed: must not be done yet.
    cold = fit_surface(k, tau, iv, config=SmoothingConfig(progress=False, max_epochs=warm.info["epochs"]), seed=0)
    assert cold.info["stop_reason"] == "max_epochs" and cold.info["best_loss"] > warm.info["best_loss"]


@pytest.mark.cuda
def test_fit_on_cuda_matches_cpu_closely():
    cpu = fit_surface(*ssvi_quotes(), config=SMALL, seed=3)
    gpu = fit_surface(*ssvi_quotes(), config=SMALL, seed=3, device="cuda")
    assert gpu.info["device"].startswith("cuda")
    # Different random streams on the device: compare fit quality, not bits.
    assert abs(gpu.info["best_loss"] - cpu.info["best_loss"]) < 0.5 * cpu.info["best_loss"]
