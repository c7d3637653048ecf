"""The quote warm-up of a time-limited fit (ivfast.surface.warmup): bounds, early stop, certified result."""

from __future__ import annotations

import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cvxpy")

from ivfast.surface import fit_surface  # noqa: E402
from ivfast.surface.objective import QuoteTargets, build_batch  # noqa: E402
from ivfast.surface.warmup import _quote_loss, warm_up  # noqa: E402
from .test_surface_fit import SMALL, ssvi_quotes  # noqa: E402

# Bid and ask 0.5 % of the vol either side of the SSVI mids: tight enough that the prior alone
# is not inside, loose enough for the small network to get there.
HALF_SPREAD = 0.005
BID_ASK = SMALL.replace(quote_loss="bid_ask", time_limit=60.0, check_every=5)


def _quotes():
    k, tau, iv = ssvi_quotes()
    return k, tau, iv, iv * (1 - HALF_SPREAD), iv * (1 + HALF_SPREAD)


def _batch(config):
    """A one-epoch fit's model with its training batch, targets and a fresh optimiser."""
    k, tau, iv, bid, ask = _quotes()
    base = fit_surface(k, tau, iv, iv_bid=bid, iv_ask=ask, config=config.replace(max_epochs=1, quote_warmup=0.0))
    q = base.quotes
    tensors = tuple(None if a is None else torch.tensor(a, dtype=torch.float64)
                    for a in (q.k, q.tau, q.iv, q.weights, q.iv_bid, q.iv_ask))
    points, targets, _ = build_batch(q, tensors, config, torch.device("cpu"))
    optimiser = torch.optim.Adam(base.model.parameters(), lr=config.learning_rate)
    return base.model, points, targets, optimiser


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize(("changes", "message"), [
    ({"quote_warmup": 0.5, "time_limit": None}, "quote_warmup"),
    ({"quote_warmup": 1.0}, "quote_warmup"),
    ({"quote_warmup": -0.1}, "quote_warmup"),
])
def test_quote_warmup_is_a_share_below_one_of_a_set_time_limit(changes, message):
    with pytest.raises(ValueError, match=message):
        BID_ASK.replace(**changes)


@pytest.mark.parametrize("quote_loss", ["bid_ask", "mid"])
def test_warm_up_fits_the_quotes_within_its_epoch_budget(quote_loss):
    config = BID_ASK.replace(quote_loss=quote_loss, quote_warmup=0.5, max_epochs=1000, target_inside=None)
    model, points, targets, optimiser = _batch(config)
    before = float(_quote_loss(model, points, targets, config)[0].detach())
    done = warm_up(model, points, targets, config, optimiser, time.perf_counter())
    after = float(_quote_loss(model, points, targets, config)[0].detach())
    # No inside target: the budget ends it. 1,000 Adam steps at lr 0.01 (measured: the loss 8x lower
    # with the mid loss, 30x with the bid-ask loss); half leaves room for other BLAS and seeds.
    assert done.epochs == config.max_epochs and after < 0.5 * before
    assert done.info() == {"warmup_epochs": 1000, "warmup_seconds": done.seconds}


def test_warm_up_stops_once_the_quotes_meet_the_inside_targets():
    config = BID_ASK.replace(quote_warmup=0.5, max_epochs=10_000, target_inside=0.0, target_expiry_inside=0.0)
    model, points, targets, optimiser = _batch(config)
    done = warm_up(model, points, targets, config, optimiser, time.perf_counter())
    assert done.epochs == config.check_every  # the first measure meets a zero target
    assert done.inside >= 0.0 and done.worst_inside <= done.inside


def test_no_warm_up_without_a_share_of_the_time_limit():
    config = BID_ASK.replace(quote_warmup=0.0)
    model, points, targets, optimiser = _batch(config)
    start = _params(model)
    done = warm_up(model, points, targets, config, optimiser, time.perf_counter())
    assert done.epochs == 0 and all(torch.equal(a, b) for a, b in zip(start, _params(model)))


def test_a_diverged_warm_up_leaves_the_model_as_it_was():
    config = BID_ASK.replace(quote_warmup=0.5, max_epochs=40)
    model, points, targets, optimiser = _batch(config)
    poisoned = QuoteTargets(targets.iv * np.nan, targets.weights, targets.low, targets.high, targets.bid,
                            targets.ask, targets.maturity)
    start = _params(model)
    done = warm_up(model, points, poisoned, config, optimiser, time.perf_counter())
    assert done.epochs == 0 and all(torch.equal(a, b) for a, b in zip(start, _params(model)))


def test_a_fit_with_a_warm_up_returns_a_certified_state_of_the_full_objective():
    k, tau, iv, bid, ask = _quotes()
    config = BID_ASK.replace(quote_warmup=0.5, max_epochs=60, target_inside=0.95)
    fit = fit_surface(k, tau, iv, iv_bid=bid, iv_ask=ask, config=config)
    assert fit.info["warmup_epochs"] > 0 and fit.info["warmup_seconds"] > 0
    # The warm-up's states are never candidates: the returned one passed the full objective's check.
    assert fit.certificate.ok()
    assert fit.info["epochs"] >= 1 and len(fit.history) >= 1
