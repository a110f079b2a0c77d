"""The report's figures: one function per figure, drawn in the client's brand palette.

Every function has the shape ``plot_x(data, *, ax=None, palette=None, labels=None,
**kwargs) -> Axes`` (the pymc-marketing / lifetimes convention): it draws one
thing on ``ax`` (or on a new figure 16 cm wide, not registered with pyplot),
and the notebook composes and saves with :func:`save_figure`.

The plots hold no language text. ``labels`` maps neutral keys (mostly the
input's column names, plus ``title`` and a few named extras listed in each
docstring) to text the caller has already translated; a missing key is shown
as the key itself, a missing ``title`` as no title. Numbers on axes and bars
are formatted by the ``formatter`` callables the caller passes (Babel: nl
``€ 1.234`` and ``12,5%``).

Figures are readable in print: text sized for A4 at 16 cm, series told apart
by lightness (and line style or markers), not by hue alone, no frame or
chart junk, a light grid.

Examples
--------
>>> import pandas as pd
>>> from clvreport.plots import Palette, plot_at_risk, save_figure
>>> palette = Palette.from_brand("#3A2470", "#6D5C99", "#D9581A")
>>> frame = pd.DataFrame({"segment_label": ["At risk", "Lost"], "value_at_stake": [5400.0, 1200.0]})
>>> ax = plot_at_risk(frame, palette=palette, labels={"value_at_stake": "Value at stake"})
>>> save_figure(ax, "figures/at_risk.png")  # doctest: +SKIP
PosixPath('figures/at_risk.png')
"""

from clvreport.plots._base import (
    FIGURE_WIDTH_IN,
    DateFormatter,
    Formatter,
    Palette,
    luminance,
    save_figure,
)
from clvreport.plots._fonts import use_fonts
from clvreport.plots._history import plot_migration, plot_report_history
from clvreport.plots._model import plot_holdout_check, plot_tracking, plot_tracking_weekly
from clvreport.plots._next_purchase import plot_purchase_calibration
from clvreport.plots._retention import (
    plot_cohort_giving,
    plot_cohort_retention,
    plot_distribution,
)
from clvreport.plots._segments import plot_at_risk, plot_segment_map
from clvreport.plots._sensitivity import plot_sensitivity
from clvreport.plots._value import (
    plot_big_spender_vs_regular,
    plot_lorenz,
    plot_revenue_new_vs_returning,
    plot_value_tiers,
)

__all__ = [
    "FIGURE_WIDTH_IN",
    "DateFormatter",
    "Formatter",
    "Palette",
    "luminance",
    "plot_at_risk",
    "plot_big_spender_vs_regular",
    "plot_cohort_giving",
    "plot_cohort_retention",
    "plot_distribution",
    "plot_holdout_check",
    "plot_lorenz",
    "plot_migration",
    "plot_purchase_calibration",
    "plot_report_history",
    "plot_revenue_new_vs_returning",
    "plot_segment_map",
    "plot_sensitivity",
    "plot_tracking",
    "plot_tracking_weekly",
    "plot_value_tiers",
    "save_figure",
    "use_fonts",
]
