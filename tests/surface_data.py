"""Reference data for the deep-smoothing tests: the seed's Bates experiment (spot 1, r = q = 0).

Maturities are the seed's exact year fractions (``ql.TimeGrid(2, 624)`` indices; the seed itself
inverted with maturities rounded to whole days, which costs up to 29 vol points at 3.5 days).
"""

from __future__ import annotations

import numpy as np

from ivfast import datasets

REFERENCE_BATES = datasets.ACKERER_REFERENCE_BATES
SUBSEQUENT_BATES = datasets.ACKERER_SUBSEQUENT_BATES
"""The seed's reference model and its example 'subsequent model'."""


def bates_quotes(params: dict = REFERENCE_BATES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, tau, iv) on the 18 x 18 grid (flat, tau-major): C++ pricer, out-of-the-money inversion."""
    return datasets.ackerer_quotes(params)
