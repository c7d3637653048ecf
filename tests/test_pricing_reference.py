"""The Fourier pricers' independent reference (tests/_fourier_reference.py) against 20-digit mpmath."""

from __future__ import annotations

import math


from ._fourier_reference import mp_otm_price, otm_price


def test_reference_quadrature_agrees_with_mpmath():
    # 20-digit mpmath quadrature at the reference's own damping, to where the tail is below 1e-17
    # (one point: mpmath takes seconds per point)
    p = (0.01, 0.5, 0.0625, 1.0, -0.75, 0.2, -0.03, 0.7)  # the seed's reference Bates set
    for k, tau, upper in ((math.log(0.9), 0.25, 1500.0),):
        value, damping = otm_price(k, tau, p)
        # both far below the 1e-12 bound that test_pricing_fourier applies with this reference
        assert abs(value - mp_otm_price(k, tau, p, damping, upper)) <= 5e-14  # mpmath stops at upper: ~1e-14 tail
