"""What ``ivfast fit`` writes and the trainer settings it uses by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..surface import SmoothingConfig

__all__ = ["COMPLETION", "FILES", "default_fit_config"]

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

COMPLETION = "completion"
"""``init`` value of :func:`~ivfast.workflow.fit_chain` (and ``ivfast fit --init``): warm-start from
the completion model's surface of the chain's own quotes (:func:`ivfast.completion.complete_surface`)."""


def default_fit_config(**changes: Any) -> SmoothingConfig:
    """Return the :class:`~ivfast.surface.SmoothingConfig` ``ivfast fit`` uses unless told otherwise.

    The paper's 4 x 40 network and penalty weights, set up for a real chain fitted in under a
    minute (measured per choice in bench/README.md, "ivfast fit on real chains"):

    * quote loss 'bid_ask' (margin 0.2): RMSE + MAPE of the fitted vols' distance to the inner
      80 % of each bid-ask vol interval instead of the distance to the mid, and a stop once 95 %
      of the quotes, and 80 % at every expiry, are inside their interval (``target_inside``,
      ``target_expiry_inside``; the loss target 1e-6 is out of reach on real quotes);
    * at most 48 quotes per expiry in the loss (``max_quotes_per_maturity``: index chains quote
      100-350 strikes per expiry; every quote is kept for the measures and the figures);
    * an ATM curve with up to 64 knots (``atm_knots``), which passes through the ATM variance of
      every expiry of a chain with up to 64 of them, so that the prior follows the forward
      variance of daily and weekly expiries from session to session (event sessions included);
    * collocation out to 3 years and over k in [-1.5, 1.5] at least (``tau_max_aux``,
      ``k_aux_extent``), the default range of ``ivfast check``, so that the surface stays free of
      arbitrage beyond the last expiry and the quoted strikes;
    * a learning-rate floor of 0.0025 with patience 200 (the paper's schedule halves 0.01 down to
      0.00125 within the first 1,500 epochs on a real chain, where progress then stalls);
    * a dense calendar/butterfly check every 25 epochs (``check_every``; 100 in the trainer), so
      that a fit stopped by its time limit has a recent state that passed it to fall back on;
    * float32 training (``train_dtype``; the returned surface and its certificate are float64):
      an epoch costs about 2.6x less on a CPU core, and at equal epochs the fits agree to the
      quotes' resolution (bench/README.md);
    * the first half of the time limit on the quote terms alone (``quote_warmup`` 0.5; it ends
      as soon as the quotes meet the inside targets): those epochs skip the derivatives at the
      collocation points and cost a third as much, and SPY 2025-09-25 ends at 87.6-92.1 % inside
      over seeds 0-2 instead of 69-79 % (the full objective and the certificate still decide
      what is returned);
    * ``time_limit`` 45 s of training (``ivfast fit --time-limit`` changes it), ``max_epochs``
      12,000; random network start (``identity_start`` off: on real chains the fitted SSVI
      prior is already close and the random start gets ahead); progress bar off.

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

    return SmoothingConfig(quote_loss="bid_ask", bid_ask_margin=0.2, target_loss=1e-6, target_inside=0.95,
                           target_expiry_inside=0.8, max_quotes_per_maturity=48, atm_knots=64, tau_max_aux=3.0,
                           k_aux_extent=1.5, check_every=25, min_learning_rate=0.0025, plateau_patience=200,
                           time_limit=45.0, quote_warmup=0.5, max_epochs=12000, train_dtype="float32",
                           identity_start=False, progress=False).replace(**changes)
