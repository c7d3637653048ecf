"""The deep-smoothing fit's progress bar: the share of the way to the nearest stop condition.

An epoch budget (100,000 by default) says nothing about when a fit will end: most fits stop at
their target long before it. The bar therefore runs from 0 to 100 % of the way to whichever stop
comes first: the loss target (on a log scale from the first loss), the inside-bid-ask target,
the time limit or the epoch budget, so that its time estimate means something.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from .config import SmoothingConfig

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["FitProgress"]


class FitProgress:
    """A tqdm bar (percent) toward the first stop condition of a fit, or nothing when disabled.

    Parameters
    ----------
    config : SmoothingConfig
        The targets, time limit and epoch budget.
    started : float
        ``time.perf_counter()`` when the fit began.
    enabled : bool
        Show the bar.
    """

    def __init__(self, config: SmoothingConfig, started: float, enabled: bool) -> None:
        self.config, self.started = config, started
        self.first_loss = math.nan
        self.bar: tqdm | None = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=100, desc="deep smoothing", unit="%", dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n:.0f}/100% [{elapsed}<{remaining}{postfix}]")

    def fraction(self, total_epoch: int, best_loss: float, inside: float) -> float:
        """Share of the way, in [0, 1], to the nearest stop condition.

        Parameters
        ----------
        total_epoch : int
            Epochs run.
        best_loss : float
            Best loss so far.
        inside : float
            Share of fitted vols inside bid-ask of the best state (NaN without bid-ask vols).

        Returns
        -------
        float
        """
        c = self.config
        if math.isnan(self.first_loss) and math.isfinite(best_loss):
            self.first_loss = best_loss
        shares = [total_epoch / c.max_epochs]
        if c.time_limit is not None:
            shares.append((time.perf_counter() - self.started) / c.time_limit)
        if math.isfinite(best_loss) and self.first_loss > c.target_loss:
            shares.append(math.log(self.first_loss / best_loss) / math.log(self.first_loss / c.target_loss))
        if c.target_inside is not None and math.isfinite(inside) and c.target_inside > 0:
            shares.append(inside / c.target_inside)
        return min(max(max(shares), 0.0), 1.0)

    def update(self, total_epoch: int, best_loss: float, inside: float, postfix: dict[str, str]) -> None:
        """Move the bar and show ``postfix`` (no-op when disabled).

        Parameters
        ----------
        total_epoch, best_loss, inside : as in :meth:`fraction`
        postfix : dict of str to str
            Values shown after the bar.
        """
        if self.bar is None:
            return
        self.bar.n = round(100 * self.fraction(total_epoch, best_loss, inside), 1)
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        """Close the bar (no-op when disabled)."""
        if self.bar is not None:
            self.bar.close()
