"""Shared benchmark fixtures: a results table that prints medians and ratios at the end."""

from __future__ import annotations

import collections

import pytest

_TABLES: dict[str, list[tuple[str, float, int]]] = collections.defaultdict(list)


class RatioTable:
    """Collects (label, seconds, items) rows for one comparison and prints per-item ratios."""

    def __init__(self, name: str) -> None:
        self.name = name

    def add(self, label: str, benchmark, items: int) -> None:
        _TABLES[self.name].append((label, benchmark.stats.stats.median, items))


@pytest.fixture(scope="session")
def ratio_table():
    return RatioTable


def pytest_terminal_summary(terminalreporter):
    for name, rows in _TABLES.items():
        if not rows:
            continue
        terminalreporter.write_sep("=", f"{name}: median time per item and ratio to the first row")
        base = rows[0][1] / rows[0][2]
        for label, seconds, items in rows:
            per = seconds / items
            terminalreporter.write_line(f"{label:<48} {per * 1e9:>12.1f} ns  {per / base:>10.3g}x")
