"""``ivfast demo``: the end-to-end demonstration (see ivfast.demo)."""

from __future__ import annotations

import argparse
import importlib.util


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand to the ``ivfast`` parser (its runner is :func:`run`)."""
    parser = subparsers.add_parser("demo", help="run the end-to-end demo and print what it measures")
    parser.add_argument("--out", default="ivfast-demo", help="folder for figures and exported files")
    parser.add_argument("--quick", action="store_true", help="smaller problem sizes (for tests)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``ivfast demo`` (stage 1, then stages 2-7 when torch is installed); return 0."""
    from ..demo import iv_stage

    n = 100_000 if args.quick else 1_000_000
    print(f"== 1. Implied volatility (Let's Be Rational), {n:,} random options ==")
    print(iv_stage.iv_demo_table(iv_stage.run_iv_stage(n)))
    if importlib.util.find_spec("torch") is None:
        print("\n(stages 2-7 need the torch extra: pip install 'ivfast[torch]')")
        return 0
    from ..demo import pipeline

    pipeline.run_pipeline(args.out)
    return 0
