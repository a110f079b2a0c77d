"""Tests of clvreport.plots: the right artists, labels, colours and formats; no figure leaks."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image

from clvreport.concentration import lorenz_curve, tier_summary
from clvreport.plots import (
    FIGURE_WIDTH_IN,
    Palette,
    luminance,
    plot_at_risk,
    plot_big_spender_vs_regular,
    plot_cohort_retention,
    plot_distribution,
    plot_holdout_check,
    plot_lorenz,
    plot_revenue_new_vs_returning,
    plot_segment_map,
    plot_tracking,
    plot_tracking_weekly,
    plot_value_tiers,
    save_figure,
)

CDNOW = Palette.from_brand("#3A2470", "#6D5C99", "#D9581A")


def tagged(value: float) -> str:
    """A formatter whose output cannot come from matplotlib's own tick formatting."""
    return f"<{value:g}>"


def drawn(ax: Axes) -> Axes:
    ax.figure.canvas.draw()
    return ax


def tick_texts(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def facecolors(ax: Axes) -> list[str]:
    return [to_hex(p.get_facecolor()) for p in ax.patches]


@pytest.fixture(autouse=True)
def no_figure_leak():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


@pytest.fixture
def tiers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tier_label": ["Top 1%", "Top 2-20%", "Rest"],
            "customer_share": [0.01, 0.19, 0.80],
            "revenue_share": [0.15, 0.55, 0.30],
        }
    )


@pytest.fixture
def segments() -> pd.DataFrame:
    names = ["Champions", "Loyal", "Potential", "New", "Promising", "Attention", "Sleepy"]
    names += ["At risk", "Cannot lose", "Hibernating", "Lost"]
    return pd.DataFrame(
        {
            "segment_label": names,
            "customers": [120, 260, 310, 140, 90, 150, 180, 230, 40, 420, 417],
            "value": [41e3, 38e3, 21e3, 6e3, 3.5e3, 9e3, 5.2e3, 16e3, 7e3, 4.1e3, 900.0],
            "value_at_stake": [
                2e3,
                3.8e3,
                4.2e3,
                1.8e3,
                1e3,
                3.6e3,
                2.6e3,
                9.6e3,
                4.9e3,
                2.9e3,
                810,
            ],
        }
    )


# -- palette ---------------------------------------------------------------------------


def test_luminance_of_reference_colours():
    assert luminance("#FFFFFF") == pytest.approx(1.0)
    assert luminance("#000000") == pytest.approx(0.0)
    # sRGB 0x77 = 119 -> ((119/255 + 0.055) / 1.055) ** 2.4 = 0.18447
    assert luminance("#777777") == pytest.approx(0.18447, abs=1e-4)


def test_default_palette_is_the_default_brand():
    palette = Palette()
    assert (palette.primary, palette.secondary, palette.accent) == ("#1B3A5C", "#5B7083", "#E08E2B")
    assert (palette.background, palette.foreground) == ("#FFFFFF", "#1F2933")


def test_from_brand_takes_hex_strings_and_keeps_defaults():
    palette = Palette.from_brand("#3a2470", accent="tab:orange")
    assert palette.primary == "#3A2470"
    assert palette.secondary == Palette().secondary
    assert palette.accent == to_hex("tab:orange").upper()
    colors = {
        "primary": "#3A2470",
        "secondary": "#6D5C99",
        "accent": "#D9581A",
        "background": "#FFFFFF",
        "foreground": "#111111",
    }
    assert Palette.from_brand(**colors).foreground == "#111111"  # ReportBrand.colors shape


def test_palette_rejects_what_is_not_a_colour():
    with pytest.raises(ValueError, match=r"Palette\.primary: 'brandblue' is not a colour"):
        Palette.from_brand("brandblue")


@pytest.mark.parametrize("primary", ["#1B3A5C", "#3A2470", "#F2C500", "#9BD3F2", "#000000"])
def test_pair_differs_in_luminance_for_dark_and_light_brands(primary):
    dark, other = Palette.from_brand(primary, primary).pair()  # worst case: same colours
    assert dark == primary
    assert abs(luminance(dark) - luminance(other)) >= 0.3


@pytest.mark.parametrize("primary", ["#1B3A5C", "#3A2470", "#F2C500", "#9BD3F2"])
def test_sequential_colour_map_gets_darker_all_the_way(primary):
    cmap = Palette.from_brand(primary).sequential()
    steps = [luminance(cmap(v)) for v in np.linspace(0, 1, 11)]
    assert all(a > b for a, b in itertools.pairwise(steps))
    assert steps[0] < 0.95  # never pure white: empty cells stay distinct
    assert steps[0] - steps[-1] > 0.6


# -- 1. Lorenz -------------------------------------------------------------------------


def test_lorenz_marks_the_top_20_percent_from_a_classic_curve():
    # best customer (300 of 375) is exactly the top 20% of five customers
    points = lorenz_curve([5, 10, 20, 40, 300])
    labels = {
        "customer_share": "Share of customers",
        "revenue_share": "Share of revenue",
        "top20": "Top 20%: 80% of revenue",
        "equality": "all equal",
        "title": "Concentration",
    }
    ax = plot_lorenz(points, labels=labels)
    marker = ax.lines[-1]
    assert marker.get_xdata()[0] == pytest.approx(0.2)
    assert marker.get_ydata()[0] == pytest.approx(0.8)
    assert ax.get_xlabel() == "Share of customers"
    assert ax.get_ylabel() == "Share of revenue"
    assert ax.get_title(loc="left") == "Concentration"
    texts = [t.get_text() for t in ax.texts]
    assert "Top 20%: 80% of revenue" in texts and "all equal" in texts
    curve = [line for line in ax.lines if len(line.get_xdata()) == 6]
    assert curve and to_hex(curve[0].get_color()).upper() == Palette().primary


def test_lorenz_accepts_best_first_points_and_other_share():
    points = pd.DataFrame(
        {"customer_share": [0.0, 0.5, 1.0], "revenue_share": [0.0, 0.9, 1.0]}
    )  # already best first (above the diagonal)
    ax = plot_lorenz(points, share=0.5, labels={})
    assert ax.lines[-1].get_ydata()[0] == pytest.approx(0.9)


def test_lorenz_formats_ticks_and_uses_key_names_without_labels():
    ax = drawn(plot_lorenz(lorenz_curve([1, 2, 3, 10]), formatter=tagged))
    assert "<0.2>" in tick_texts(ax.xaxis) and "<1>" in tick_texts(ax.yaxis)
    assert ax.get_xlabel() == "customer_share" and ax.get_ylabel() == "revenue_share"
    assert ax.get_title(loc="left") == ""  # no title rather than the key "title"


# -- 2. value tiers --------------------------------------------------------------------


def test_value_tiers_draws_two_bars_per_tier_with_labels(tiers):
    labels = {"customer_share": "Customers", "revenue_share": "Revenue", "share": "Share"}
    ax = drawn(plot_value_tiers(tiers, labels=labels, formatter=tagged))
    assert len(ax.patches) == 2 * len(tiers)
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([0.01, 0.19, 0.80, 0.15, 0.55, 0.30])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Customers", "Revenue"]
    assert ax.get_xlabel() == "Share"
    assert tick_texts(ax.yaxis) == ["Top 1%", "Top 2-20%", "Rest"]
    assert "<0.55>" in [t.get_text() for t in ax.texts]  # bar labels formatted
    assert any(t.startswith("<") for t in tick_texts(ax.xaxis))
    customers, revenue = facecolors(ax)[0], facecolors(ax)[-1]
    assert revenue.upper() == Palette().primary
    assert abs(luminance(customers) - luminance(revenue)) >= 0.3  # grey-scale safe


def test_value_tiers_reads_tier_summary_columns():
    summary = tier_summary(pd.DataFrame({"revenue": range(1, 101)}), "revenue")
    ax = plot_value_tiers(summary)
    assert len(ax.patches) == 2 * len(summary)
    assert tick_texts(ax.yaxis) == summary["value_tier"].tolist()


def test_missing_column_is_named():
    with pytest.raises(ValueError, match=r"plot_value_tiers needs the column.*revenue_share"):
        plot_value_tiers(pd.DataFrame({"tier_label": ["a"], "customer_share": [1.0]}))


# -- 3. cohort retention ---------------------------------------------------------------


def test_cohort_heatmap_annotates_small_matrices_and_labels_months():
    matrix = pd.DataFrame(
        [[1.0, 0.4, 0.3], [1.0, 0.5, np.nan]],
        index=pd.period_range("2024-01", periods=2, freq="M"),
        columns=[0, 1, 2],
    )
    labels = {"months_since_first_purchase": "Months", "cohort": "Cohort", "retention": "Active"}
    ax = drawn(
        plot_cohort_retention(
            matrix,
            labels=labels,
            formatter=tagged,
            date_formatter=lambda d: d.strftime("%b %Y"),
            palette=CDNOW,
        )
    )
    assert [t.get_text() for t in ax.texts] == ["<1>", "<0.4>", "<0.3>", "<1>", "<0.5>"]
    assert tick_texts(ax.yaxis) == ["Jan 2024", "Feb 2024"]
    assert tick_texts(ax.xaxis) == ["0", "1", "2"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Months", "Cohort")
    mesh = ax.collections[0]
    assert np.ma.count_masked(mesh.get_array()) == 1  # the month not reached yet stays empty
    assert mesh.norm.vmax == pytest.approx(0.5)  # scale ends at the best month after month 0
    assert to_hex(mesh.cmap(1.0)).upper() == CDNOW.primary
    colorbar = mesh.colorbar
    assert colorbar.ax.get_ylabel() == "Active"
    assert any(t.startswith("<") for t in tick_texts(colorbar.ax.yaxis))
    # text stays readable: white on the dark month-0 cells, dark on pale ones
    assert ax.texts[0].get_color() == "#FFFFFF"


def test_cohort_heatmap_skips_annotation_when_large():
    matrix = pd.DataFrame(
        np.full((20, 24), 0.2), index=pd.date_range("2020-01-01", periods=20, freq="MS")
    )
    ax = drawn(plot_cohort_retention(matrix))
    assert len(ax.texts) == 0
    assert tick_texts(ax.yaxis)[0] == "2020-01"
    assert len(tick_texts(ax.xaxis)) <= 18


# -- 4. distribution -------------------------------------------------------------------


def test_histogram_counts_every_customer_and_draws_the_reference():
    values = pd.Series([0.1, 0.2, 0.2, 0.9, np.nan], name="p_alive")
    labels = {"p_alive": "Chance still active", "customers": "Customers", "reference": "median"}
    ax = drawn(
        plot_distribution(
            values,
            bins=2,
            binrange=(0, 1),
            reference=0.2,
            labels=labels,
            formatter=tagged,
            palette=CDNOW,
        )
    )
    assert [p.get_height() for p in ax.patches] == [3.0, 1.0]
    assert {to_hex(p.get_facecolor()).upper() for p in ax.patches} == {CDNOW.primary}
    reference = ax.lines[-1]
    assert reference.get_xdata()[0] == pytest.approx(0.2)
    assert to_hex(reference.get_color()).upper() == CDNOW.accent
    assert "median" in [t.get_text() for t in ax.texts]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Chance still active", "Customers")
    assert "<0.4>" in tick_texts(ax.xaxis)


@pytest.mark.parametrize("kind", ["kde", "ecdf"])
def test_distribution_other_kinds_draw_a_line(kind):
    values = pd.Series(np.linspace(0, 5, 50), name="lifespan_years")
    ax = plot_distribution(values, kind=kind)
    assert len(ax.lines) + len(ax.collections) > 0
    assert ax.get_xlabel() == "lifespan_years"


def test_distribution_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be"):
        plot_distribution(pd.Series([1.0, 2.0]), kind="violin")


# -- 5. segment map --------------------------------------------------------------------


def test_segment_map_places_and_labels_all_eleven_segments(segments):
    labels = {"customers": "Customers", "value": "Predicted value", "value_at_stake": "At stake"}
    ax = drawn(plot_segment_map(segments, labels=labels, formatter=tagged))
    bubbles = ax.collections[0]
    assert bubbles.get_offsets().tolist() == segments[["customers", "value"]].to_numpy().tolist()
    sizes = bubbles.get_sizes()
    assert sizes[segments["value_at_stake"].idxmax()] == sizes.max()  # area shows money at stake
    assert sizes[segments["value_at_stake"].idxmin()] == sizes.min()
    texts = {t.get_text() for t in ax.texts}
    assert set(segments["segment_label"]) <= texts
    assert ax.get_legend().get_title().get_text() == "At stake"
    assert all(t.get_text().startswith("<") for t in ax.get_legend().get_texts())
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Customers", "Predicted value")
    assert to_hex(bubbles.get_facecolor()[0]).upper() == Palette().primary
    # labels do not overlap one another after adjustText
    renderer = ax.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    overlaps = sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert overlaps == 0


def test_segment_map_without_value_at_stake_has_equal_bubbles(segments):
    ax = plot_segment_map(segments.drop(columns="value_at_stake"))
    assert len(set(ax.collections[0].get_sizes())) == 1
    assert ax.get_legend() is None


# -- 6. holdout check and tracking -----------------------------------------------------


def test_holdout_check_compares_actual_and_predicted_per_bin():
    bins = pd.DataFrame(
        {"frequency_bin": ["0", "1", "2+"], "actual": [0.2, 0.6, 1.5], "predicted": [0.3, 0.5, 1.4]}
    )
    labels = {"actual": "Actual", "predicted": "Model", "frequency_bin": "Purchases before"}
    ax = drawn(plot_holdout_check(bins, labels=labels, formatter=tagged))
    assert len(ax.patches) == 6
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.2, 0.6, 1.5, 0.3, 0.5, 1.4])
    assert tick_texts(ax.xaxis) == ["0", "1", "2+"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Actual", "Model"]
    assert ax.get_xlabel() == "Purchases before" and ax.get_ylabel() == "purchases"
    actual, predicted = facecolors(ax)[0], facecolors(ax)[3]
    assert actual.upper() == Palette().primary
    assert abs(luminance(actual) - luminance(predicted)) >= 0.3


def test_tracking_draws_both_cumulative_lines_apart_by_dash():
    weeks = pd.date_range("1997-01-05", periods=10, freq="W")
    weekly = pd.DataFrame(
        {
            "period": weeks,
            "actual_cumulative": np.arange(10) * 2.0,
            "predicted_cumulative": np.arange(10) * 2.1,
        }
    )
    ax = drawn(
        plot_tracking(
            weekly,
            calibration_end=weeks[5],
            labels={"actual": "Actual", "predicted": "Model", "calibration_end": "end"},
            date_formatter=lambda d: f"[{d:%Y-%m}]",
        )
    )
    actual, predicted, _end = ax.lines
    assert list(actual.get_ydata()) == list(weekly["actual_cumulative"])
    assert actual.get_linestyle() == "-" and predicted.get_linestyle() == "--"
    assert "end " in [t.get_text() for t in ax.texts]
    assert all(t.startswith("[1997-") for t in tick_texts(ax.xaxis))


def tracking_table_example() -> pd.DataFrame:
    """A table shaped like clvreport.models.tracking.tracking_table's output."""
    periods = pd.date_range("1997-01-07", periods=12, freq="7D")
    actual = np.array([3, 5, 8, 9, 12, 11, 10, 13, 9, 8, 10, 7])
    predicted = np.linspace(3.5, 10.5, 12)
    return pd.DataFrame(
        {
            "week": np.arange(1, 13),
            "period": periods,
            "days": 7,
            "calibration": np.arange(12) < 8,
            "actual": actual,
            "predicted": predicted,
            "actual_cumulative": actual.cumsum(),
            "predicted_cumulative": predicted.cumsum(),
        }
    )


def test_tracking_weekly_draws_actual_and_predicted_per_week():
    table = tracking_table_example()
    labels = {
        "actual": "Actual",
        "predicted": "Model",
        "calibration_end": "end",
        "weekly_purchases": "Repeat purchases per week",
    }
    ax = drawn(plot_tracking_weekly(table, labels=labels, formatter=tagged, palette=CDNOW))
    actual, predicted, end = ax.lines
    assert list(actual.get_ydata()) == list(table["actual"])
    assert list(predicted.get_ydata()) == pytest.approx(list(table["predicted"]))
    assert actual.get_linestyle() == "-" and predicted.get_linestyle() == "--"
    assert to_hex(actual.get_color()).upper() == CDNOW.primary.upper()
    assert to_hex(predicted.get_color()).upper() == CDNOW.accent.upper()
    # the calibration end comes from the table's calibration column: the 8th week
    assert mdates_num(end.get_xdata()[0]) == table["period"].iloc[7]
    assert ax.get_ylabel() == "Repeat purchases per week"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Actual", "Model"]
    assert all(t.startswith("<") for t in tick_texts(ax.yaxis))
    assert ax.get_ylim()[0] == 0


def test_tracking_takes_the_tracking_table_and_finds_the_calibration_end():
    table = tracking_table_example()
    ax = drawn(plot_tracking(table, labels={"calibration_end": "end"}))
    actual, _predicted, end = ax.lines
    assert list(actual.get_ydata()) == list(table["actual_cumulative"])
    assert mdates_num(end.get_xdata()[0]) == table["period"].iloc[7]
    assert "end " in [t.get_text() for t in ax.texts]
    # an explicit calibration end wins; a table without holdout weeks draws no line
    explicit = drawn(plot_tracking(table, calibration_end=table["period"].iloc[3]))
    assert mdates_num(explicit.lines[2].get_xdata()[0]) == table["period"].iloc[3]
    assert len(plot_tracking_weekly(table.assign(calibration=True)).lines) == 2


def test_tracking_weekly_needs_its_columns():
    with pytest.raises(ValueError, match="plot_tracking_weekly needs the column"):
        plot_tracking_weekly(pd.DataFrame({"period": [1], "actual": [1]}))


def mdates_num(value) -> pd.Timestamp:
    """A matplotlib date number (or datetime) as a naive Timestamp."""
    import matplotlib.dates as mdates

    if isinstance(value, (int, float, np.floating)):
        value = mdates.num2date(value)
    return pd.Timestamp(value).tz_localize(None)


# -- 7. big spender vs regular ---------------------------------------------------------


def test_big_spender_vs_regular_shows_order_value_and_customer_value():
    comparison = pd.DataFrame(
        {
            "group_label": ["Regular", "Big spender"],
            "avg_order_value": [40.0, 150.0],
            "orders": [8.0, 1.0],
            "revenue_per_customer": [320.0, 150.0],
        }
    )
    labels = {
        "avg_order_value": "Per order",
        "revenue_per_customer": "Per customer",
        "orders": "{orders} orders",
        "orders_one": "{orders} order",
    }
    ax = drawn(plot_big_spender_vs_regular(comparison, labels=labels, formatter=tagged))
    assert [p.get_height() for p in ax.patches] == [40.0, 320.0, 150.0, 150.0]
    assert tick_texts(ax.xaxis) == ["Per order", "Per customer"]
    texts = [t.get_text() for t in ax.texts]
    assert "<320>\n8 orders" in texts and "<150>\n1 order" in texts and "<40>" in texts
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Regular", "Big spender"]
    regular, big = facecolors(ax)[0], facecolors(ax)[2]
    assert abs(luminance(regular) - luminance(big)) >= 0.3


# -- 8. revenue new vs returning -------------------------------------------------------


def test_revenue_new_vs_returning_stacks_new_on_returning():
    frame = pd.DataFrame(
        {
            "period": pd.period_range("2024-01", periods=18, freq="M"),
            "new": np.linspace(100, 10, 18),
            "returning": np.linspace(50, 200, 18),
        }
    )
    labels = {"new": "New", "returning": "Returning", "revenue": "Revenue"}
    ax = drawn(plot_revenue_new_vs_returning(frame, labels=labels, formatter=tagged))
    assert len(ax.patches) == 36
    returning, new = ax.patches[:18], ax.patches[18:]
    assert [p.get_y() for p in new] == pytest.approx(frame["returning"].tolist())
    assert [p.get_height() for p in new] == pytest.approx(frame["new"].tolist())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Returning", "New"]
    months = tick_texts(ax.xaxis)
    assert months[0] == "2024-01" and 3 <= len(months) <= 12  # thinned, never crowded
    assert to_hex(returning[0].get_facecolor()).upper() == Palette().primary
    assert abs(luminance(returning[0].get_facecolor()) - luminance(new[0].get_facecolor())) >= 0.3
    assert any(t.startswith("<") for t in tick_texts(ax.yaxis))


# -- 9. at risk ------------------------------------------------------------------------


def test_at_risk_sorts_largest_first_and_labels_amounts(segments):
    frame = segments[["segment_label", "value_at_stake"]]
    labels = {"value_at_stake": "Value at stake"}
    ax = drawn(plot_at_risk(frame, labels=labels, formatter=tagged, palette=CDNOW))
    assert len(ax.patches) == 11
    widths = [p.get_width() for p in ax.patches]
    assert widths == sorted(widths, reverse=True)
    assert tick_texts(ax.yaxis)[0] == "At risk"  # 9,600: the most money at stake, on top
    assert "<9600>" in [t.get_text() for t in ax.texts]
    assert ax.get_xlabel() == "Value at stake"
    assert to_hex(ax.patches[0].get_facecolor()).upper() == CDNOW.primary


# -- composing and saving --------------------------------------------------------------


def test_plots_draw_on_a_given_axes():
    figure = Figure(figsize=(FIGURE_WIDTH_IN, 3))
    left, right = figure.subplots(1, 2)
    frame = pd.DataFrame({"segment_label": ["A", "B"], "value_at_stake": [1.0, 2.0]})
    assert plot_at_risk(frame, ax=right) is right
    assert len(right.patches) == 2 and len(left.patches) == 0


def test_new_figures_are_16_cm_wide_and_unknown_to_pyplot(tiers):
    ax = plot_value_tiers(tiers)
    assert ax.figure.get_figwidth() == pytest.approx(16 / 2.54, abs=0.01)
    assert plt.get_fignums() == []  # the autouse fixture checks nothing leaked either


def test_save_figure_writes_a_png_and_closes_the_figure(tmp_path, tiers):
    ax = plot_value_tiers(tiers)
    path = save_figure(ax, tmp_path / "figures" / "tiers", dpi=100)
    assert path == tmp_path / "figures" / "tiers.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        width, height = image.size
    assert 0.85 * FIGURE_WIDTH_IN * 100 <= width <= 1.05 * FIGURE_WIDTH_IN * 100  # tight bbox
    assert 100 < height < width


def test_save_figure_closes_pyplot_figures_too(tmp_path):
    before = plt.get_fignums()
    figure, ax = plt.subplots()
    plot_at_risk(pd.DataFrame({"segment_label": ["A"], "value_at_stake": [1.0]}), ax=ax)
    assert plt.get_fignums() != before
    save_figure(figure, tmp_path / "at_risk.png", dpi=50)
    assert plt.get_fignums() == before


def test_figures_use_the_brand_font():
    from clvreport.brand import FONTS_DIR
    from clvreport.plots import use_fonts

    with matplotlib.rc_context():
        assert use_fonts(sorted((FONTS_DIR / "roboto-slab").glob("*.otf")), "Roboto Slab") == (
            "Roboto Slab"
        )
        frame = pd.DataFrame({"segment_label": ["A", "B"], "value_at_stake": [1.0, 2.0]})
        ax = plot_at_risk(frame, labels={"value_at_stake": "Value"})
        assert ax.xaxis.label.get_fontname() == "Roboto Slab"
    with matplotlib.rc_context():
        assert use_fonts([], "No Such Font") == "DejaVu Sans"


def test_a_large_histogram_is_counted_first_and_draws_the_same_bars(monkeypatch) -> None:
    """Millions of P(alive) values: NumPy counts the bins, the bars are those seaborn draws."""
    from clvreport.plots import _retention

    values = pd.Series(np.random.default_rng(0).beta(0.5, 0.8, 30_000), name="p_alive")
    monkeypatch.setattr(_retention, "_BIN_FIRST", 1_000)
    counted = plot_distribution(values, bins=20, binrange=(0, 1))
    monkeypatch.setattr(_retention, "_BIN_FIRST", 10**9)
    direct = plot_distribution(values, bins=20, binrange=(0, 1))
    assert [p.get_height() for p in counted.patches] == [p.get_height() for p in direct.patches]
    assert [p.get_x() for p in counted.patches] == pytest.approx(
        [p.get_x() for p in direct.patches]
    )
    assert sum(p.get_height() for p in counted.patches) == len(values)


def test_sensitivity_labels_stay_clear_of_the_axis_labels_and_each_other():
    """CDNOW's tornado (US$, two panels as in the report): "(50,0% / 100,0%)US$ 408.590" ran
    into the y labels and "US$ 1.000.000US$ 1.250.000" into each other."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from clvreport.i18n import Translator
    from clvreport.plots import plot_sensitivity

    def overlap(a, b) -> bool:
        return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1

    money = Translator("nl", "USD").money
    names = [
        "Horizon in maanden (6 / 18)",
        "Marge (50,0% / 100,0%)",
        "Rente (5,0% / 15,0%)",
        "Slagingskansen (× 50% / × 150%)",
    ]
    value = pd.DataFrame(
        {
            "label": names,
            "base": [817180.0] * 4,
            "low": [434542.0, 408590.0, 798552.0, 817180.0],
            "high": [1159646.0, 817180.0, 837287.0, 817180.0],
        }
    )
    net = pd.DataFrame(
        {
            "label": names[::-1],
            "base": [135030.0] * 4,
            "low": [46798.0, 46798.0, 120484.0, 125933.0],
            "high": [223262.0, 135030.0, 152508.0, 143172.0],
        }
    )
    fig = Figure(figsize=(FIGURE_WIDTH_IN, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1)
    plot_sensitivity(value, ax=top, formatter=money)
    plot_sensitivity(net, ax=bottom, formatter=money, legend=False)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in (top, bottom):
        frame = ax.get_window_extent(renderer)
        names_drawn = [label.get_window_extent(renderer) for label in ax.get_yticklabels()]
        ends = [text for text in ax.texts if text.get_text()]
        assert len(ends) == 8
        for text in ends:
            box = text.get_window_extent(renderer)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, text.get_text()
            assert not any(overlap(box, name) for name in names_drawn), text.get_text()
        low, high = ax.get_xlim()
        ticks = sorted(
            (
                label.get_window_extent(renderer)
                for tick, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
                if low <= tick <= high and label.get_text()
            ),
            key=lambda box: box.x0,
        )
        assert len(ticks) >= 2
        assert all(b.x0 - a.x1 >= 4 for a, b in itertools.pairwise(ticks)), ax.get_xlabel()
