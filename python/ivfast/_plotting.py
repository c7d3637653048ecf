"""The one figure helper behind every plot: a matplotlib Figure on the Agg canvas.

Plots use matplotlib's object API, so they never touch pyplot's global state or need a display.
matplotlib is the optional ``plot`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ._optional import require

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["new_figure"]


def new_figure(
    width: float,
    height: float,
    *,
    layout: Literal["constrained", "compressed", "tight"] | None = "constrained",
    margins: dict[str, float] | None = None,
) -> Figure:
    """Create a figure of ``width`` x ``height`` inches that saves without a display.

    Parameters
    ----------
    width, height : float
        Size in inches.
    layout : {'constrained', 'compressed', 'tight', None}, default 'constrained'
        matplotlib's layout engine. None with ``margins`` for figures of dozens of panels, where a
        layout engine measures every tick label and costs seconds.
    margins : dict, optional
        Keyword arguments of ``Figure.subplots_adjust`` (left, right, bottom, top, wspace, hspace).

    Returns
    -------
    matplotlib.figure.Figure
        A figure attached to an Agg canvas (``fig.savefig`` works without a display).
    """
    require("matplotlib", "plotting")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    if margins:
        fig.subplots_adjust(**margins)
    return fig

