"""The result of a fit that stops with an arbitrageable best state: the certificate decides the fall-back.

Training runs in float32 and its periodic check sees calendar and butterfly only; a state that
passed it can still fail the float64 certificate (a 240 s SPY fit returned 2 calendar violations
in its certificate that way). The trainer falls back to the best clean state only if that state
passes the certificate itself, and otherwise returns the best state with its honest certificate.
"""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cvxpy")

from ivfast.surface import fit_surface  # noqa: E402
from ivfast.surface.objective import build_batch  # noqa: E402
from ivfast.surface.trainer import _Trainer  # noqa: E402
from .test_surface_fit import SMALL, break_calendar, ssvi_quotes  # noqa: E402


def _trainer():
    """A trainer around a one-epoch fit on SSVI quotes (clean), its clean state the current one."""
    base = fit_surface(*ssvi_quotes(), config=SMALL.replace(max_epochs=1), seed=0)
    assert base.certificate.ok()
    q = base.quotes
    as_t = lambda a: None if a is None else torch.tensor(a, dtype=torch.float64)  # noqa: E731
    tensors = tuple(as_t(a) for a in (q.k, q.tau, q.iv, q.weights, q.iv_bid, q.iv_ask))
    points, targets, every = build_batch(q, tensors, SMALL, torch.device("cpu"))
    trainer = _Trainer(base.model, points, q, targets, SMALL, torch.Generator().manual_seed(0), lambda: None,
                       time.perf_counter(), every)
    trainer.clean_loss, trainer.clean_inside = 0.5, (0.9, 0.8)
    return trainer


def _break_calendar(trainer):
    """Give the trainer's model calendar arbitrage and return that state."""
    break_calendar(trainer.model.network)
    assert trainer.certify().counts()["calendar"] > 0
    return _state(trainer)


def _state(trainer):
    return [p.detach().clone() for p in trainer.params]


def test_a_failing_best_state_falls_back_to_a_clean_state_that_passes_the_certificate():
    trainer = _trainer()
    clean = _state(trainer)
    _break_calendar(trainer)
    certificate = trainer.certified_result()
    assert certificate.ok() and trainer.fell_back
    assert all(torch.equal(a, b) for a, b in zip(_state(trainer), clean))
    assert (trainer.best_loss, trainer.best_inside[1]) == (0.5, 0.8)


@pytest.mark.parametrize("clean_fails", [False, True])
def test_without_a_passing_clean_state_the_best_state_comes_back_with_its_violations(clean_fails):
    trainer = _trainer()
    bad = _break_calendar(trainer)
    if clean_fails:  # the clean state is the same arbitrageable state: the fall-back is tried and undone
        trainer.clean_state = [b.clone() for b in bad]
    else:  # no state ever passed the periodic check
        trainer.clean_loss = float("inf")
    certificate = trainer.certified_result()
    assert not certificate.ok() and certificate.counts()["calendar"] > 0 and not trainer.fell_back
    assert all(torch.equal(a, b) for a, b in zip(_state(trainer), bad))
