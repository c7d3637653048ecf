"""The end-to-end demonstration behind ``ivfast demo``; every stage prints what it measured.

* :mod:`ivfast.demo.iv_stage` - stage 1: a million hard implied-vol inversions, speed and accuracy
  against what the rounded inputs allow (NumPy only);
* :mod:`ivfast.demo.pipeline` - stages 2-7 (torch extra): Bates prices of the Ackerer et al.
  reference experiment -> implied vols -> SVI/SSVI baselines -> deep-smoothing fit with an
  arbitrage certificate and figures -> the warm-started subsequent surface -> export and
  evaluation of the exported model.
"""

from __future__ import annotations

__all__ = ["iv_stage", "pipeline"]
