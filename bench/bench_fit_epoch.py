"""Cost of one training epoch of ``ivfast fit``: the full objective against the quote warm-up.

``python bench/bench_fit_epoch.py [--chain spy_2025-09-25_cboe.csv] [--threads 1] [--repeat 300]``
builds the training batch that :func:`ivfast.workflow.fit_chain` builds for a real chain (its
defaults: de-Americanised where the chain is American, trading time, float32, at most 48 quotes
per expiry in the loss) and prints the median time of

* a full epoch: :func:`~ivfast.surface.objective.evaluate_loss` (derivatives at every
  collocation row), its backward pass and an Adam step;
* a warm-up epoch: the quote terms and the ATM term from a value-only pass
  (:mod:`ivfast.surface.warmup`), backward and Adam;
* the network's forward pass at the warm-up's rows, value only (``n_jet=0``) against the jet
  pass with no jet rows (what ``n_jet=0`` ran before the value-only pass).

Takes about half a minute: a script, not part of the test suite.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
import warnings

CHAINS = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chains"


def _batch(chain: pathlib.Path):
    import torch

    from ivfast.chain import prepare_quotes
    from ivfast.surface.inputs import validate_quotes
    from ivfast.surface.objective import build_batch
    from ivfast.surface.start import build_model, fit_prior, start_network
    from ivfast.workflow import default_fit_config

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quotes, _ = prepare_quotes(chain, exercise="auto").on_time_axis("trading")
    f, config = quotes.quotes, default_fit_config()
    q = validate_quotes(f.k, f.tau, f.iv_mid, f.weight, iv_bid=f.iv_bid, iv_ask=f.iv_ask, drop_invalid=True)
    model = build_model(q, config, None, torch.Generator().manual_seed(0))
    as_t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    tensors = [as_t(a) for a in (q.k, q.tau, q.iv, q.weights, q.iv_bid, q.iv_ask)]
    fit_prior(model.prior, model.atm, *tensors[:4], config.prior_init_iterations)
    start_network(model, *tensors[:3], config)
    model.to(torch.float32)
    points, targets, _ = build_batch(q, tuple(t.to(torch.float32) for t in tensors), config, torch.device("cpu"))
    return model, points, targets, config


def _median_ms(step, repeat: int) -> float:
    for _ in range(20):
        step()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return 1e3 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", default="spy_2025-09-25_cboe.csv", help="file in ../shared/data/chains")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
    parser.add_argument("--repeat", type=int, default=300, help="timed repetitions per row")
    args = parser.parse_args()
    if not (CHAINS / args.chain).is_file():
        print(f"no chain at {CHAINS / args.chain}", file=sys.stderr)
        return 1
    import torch

    from ivfast.surface.objective import evaluate_loss
    from ivfast.surface.warmup import _quote_loss

    if args.threads:
        torch.set_num_threads(args.threads)
    model, points, targets, config = _batch(CHAINS / args.chain)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.min_learning_rate, foreach=True)
    generator = torch.Generator().manual_seed(1)

    def full() -> None:
        points.resample(generator)
        optimiser.zero_grad(set_to_none=True)
        evaluate_loss(model, points, targets, config).total.backward()
        optimiser.step()

    def warm() -> None:
        optimiser.zero_grad(set_to_none=True)
        _quote_loss(model, points, targets, config)[0].backward()
        optimiser.step()

    rows = slice(points.quotes.start, points.atm.stop)
    k, tau, net = points.k[rows], points.tau[rows], model.network
    with torch.no_grad():
        value_pass = _median_ms(lambda: net(k, tau, 0), args.repeat)
        jet_pass = _median_ms(lambda: net._logits(k, tau, 0), args.repeat)
    full_ms, warm_ms = _median_ms(full, args.repeat), _median_ms(warm, args.repeat)
    print(f"{args.chain}: {points.k.numel()} batch rows, {points.n_jet} with derivatives, "
          f"{k.numel()} quote and ATM rows; {torch.get_num_threads()} torch threads; medians of {args.repeat}")
    print(f"full epoch {full_ms:.2f} ms, warm-up epoch {warm_ms:.2f} ms ({full_ms / warm_ms:.1f}x)")
    print(f"network forward at the warm-up's rows: value pass {value_pass:.3f} ms, "
          f"jet pass without jet rows {jet_pass:.3f} ms ({jet_pass / value_pass:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
