"""What ``ivfast fit`` writes and the trainer settings it uses by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..surface import SmoothingConfig

__all__ = ["FILES", "default_fit_config"]

FILES = {
    "surface": "surface.pt",
    "export": "surface_torchscript.pt",
    "quotes": "fit_quotes.csv",
    "arbitrage_text": "arbitrage.txt",
    "arbitrage_plot": "arbitrage.png",
    "fit_plot": "fit_vs_quotes.png",
    "residual_plot": "fit_residuals.png",
    "smiles_plot": "smiles.png",
    "surface_plot": "iv_surface.png",
    "loss_plot": "loss.png",
    "dropped_plot": "dropped.png",
    "summary": "summary.json",
}
"""Names of the files :func:`~ivfast.workflow.fit_chain` writes into its output folder."""


def default_fit_config(**changes: Any) -> SmoothingConfig:
    """Return the :class:`~ivfast.surface.SmoothingConfig` ``ivfast fit`` uses unless told otherwise.

    The paper's 4 x 40 network and loss weights, with a stopping target of 0.005 instead of
    0.02: the loss at 0.02 allows quote errors of the order of half a vol point, too loose for
    index bid-ask intervals, which are 0.2 to 2 vol points wide (bench/README.md, "ivfast fit on
    real chains"). ``max_epochs`` (12,000) caps the work when the target is out of reach (noisy
    mids); ``ivfast fit --time-limit`` caps the wall time. Progress bars are off.

    ``identity_start`` is off: on real chains the fitted SSVI prior is already close, and the
    network's random start gets ahead of the identity start there (bench/README.md, "ivfast fit
    on real chains"). On synthetic surfaces whose prior is far off, the identity start is the
    better one, hence the trainer's own default keeps it.

    Parameters
    ----------
    **changes
        SmoothingConfig fields to override.

    Returns
    -------
    SmoothingConfig
        The defaults above with ``changes`` applied.

    Raises
    ------
    ValueError
        A field value out of its range.
    TypeError
        An unknown field name.
    """
    from ..surface import SmoothingConfig

    return SmoothingConfig(target_loss=0.005, max_epochs=12000, identity_start=False,
                           progress=False).replace(**changes)
