"""Layout rules a manager sees (issue 24, item 8) that need no rendered report.

Bubble labels of the segment map stay readable (no overlap, inside the axes, off the
bubbles); the action sheets of ``customers.xlsx`` are named by one rule without
truncated words; long customer ids are shortened the same way everywhere.
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pandas as pd
import pytest
from matplotlib.transforms import Bbox

from clvreport.i18n import AUDIENCES, LANGUAGES, Translator
from clvreport.plots import plot_segment_map
from clvreport.plots._base import _root_figure
from clvreport.recommendations import _action_title, load_action_rules, sheet_names
from clvreport.report.markdown import MAX_ID_CHARS, short_ids

# -- the segment map's labels ------------------------------------------------------------

SEGMENT_NAMES = [
    "Topklanten",
    "Trouwe klanten",
    "Potentiële vaste klanten",
    "Aandachtsklanten",
    "Wegzakkende klanten",
    "Risicoklanten",
    "Weggezakte topklanten",
    "Slapers",
    "Vertrokken klanten",
]
# The CDNOW report's segments: two bubbles side by side at the same value, one huge.
CDNOW = pd.DataFrame(
    {
        "segment_label": SEGMENT_NAMES,
        "customers": [4344, 4370, 1461, 914, 3034, 1667, 44, 3772, 3964],
        "value": [619637, 130787, 21745, 3541, 10943, 5495, 114, 12659, 12259],
        "value_at_stake": [43518, 186131, 10060, 13284, 26417, 26722, 4194, 31998, 32637],
    }
)


# The charity's segments: eleven, long labels, small bubbles crowded at the bottom left.
GOEDEDOEL = pd.DataFrame(
    {
        "segment_label": [
            "Topdonateurs",
            "Trouwe donateurs",
            "Potentiële trouwe donateurs",
            "Nieuwe donateurs",
            "Veelbelovende donateurs",
            "Donateurs die aandacht vragen",
            "Wegzakkende donateurs",
            "Risicodonateurs",
            "Weggezakte topdonateurs",
            "Slapende donateurs",
            "Vertrokken donateurs",
        ],
        "customers": [837, 1504, 1162, 151, 251, 311, 584, 1082, 170, 811, 1137],
        "value": [153395, 214086, 111644, 15634, 25988, 18112, 30568, 17664, 6486, 11870, 5056],
        "value_at_stake": [
            15570,
            51656,
            23593,
            4005,
            6658,
            10804,
            23279,
            67861,
            20915,
            36495,
            42189,
        ],
    }
)


# The subscription service's segments: four worth nothing (cancelled) on the value
# axis' zero, two tiny ones at the count axis' zero, one far above the rest.
ABONNEMENT = pd.DataFrame(
    {
        "segment_label": [
            "Trouwste abonnees",
            "Trouwe abonnees",
            "Potentiële trouwe abonnees",
            "Nieuwe abonnees",
            "Veelbelovende abonnees",
            "Opgezegde vaste abonnees",
            "Opgezegde topabonnees",
            "Kortstondige abonnees",
            "Opgezegde abonnees",
        ],
        "customers": [1281, 333, 405, 84, 19, 2748, 735, 2165, 1034],
        "value": [1453698, 379002, 269756, 21636, 4894, 0, 0, 0, 0],
        "value_at_stake": [561565, 146993, 351773, 77060, 17430, 1393184, 439739, 729312, 317437],
    }
)


def _random_segments(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(SEGMENT_NAMES)
    return pd.DataFrame(
        {
            "segment_label": SEGMENT_NAMES,
            "customers": rng.integers(20, 5000, n),
            "value": 10 ** rng.uniform(2, 6, n),
            "value_at_stake": 10 ** rng.uniform(3, 5, n),
        }
    )


def _circle_hits(box: Bbox, centre: np.ndarray, radius: float) -> bool:
    x = min(max(centre[0], box.x0), box.x1)
    y = min(max(centre[1], box.y0), box.y1)
    return (x - centre[0]) ** 2 + (y - centre[1]) ** 2 < radius**2


@pytest.mark.parametrize(
    "segments",
    [CDNOW, GOEDEDOEL, ABONNEMENT, *(_random_segments(seed) for seed in range(6))],
    ids=["cdnow", "goededoel", "abonnement", *(f"random-{seed}" for seed in range(6))],
)
def test_bubble_labels_do_not_overlap_and_stay_inside_the_axes(segments):
    ax = plot_segment_map(
        segments,
        labels={"customers": "Klanten", "value": "Waarde", "value_at_stake": "Op het spel"},
    )
    figure = _root_figure(ax)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    names = set(segments["segment_label"])
    labels = [text for text in ax.texts if text.get_text() in names]
    assert sorted(text.get_text() for text in labels) == sorted(names)
    boxes = [text.get_window_extent(renderer) for text in labels]
    frame = ax.get_window_extent(renderer)
    overlapping = [
        (labels[i].get_text(), labels[j].get_text())
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i].overlaps(boxes[j])
    ]
    assert overlapping == []
    outside = [
        label.get_text()
        for label, box in zip(labels, boxes, strict=True)
        if box.x0 < frame.x0 or box.x1 > frame.x1 or box.y0 < frame.y0 or box.y1 > frame.y1
    ]
    assert outside == []
    bubbles = ax.collections[0]
    centres = ax.transData.transform(bubbles.get_offsets())
    radii = np.sqrt(bubbles.get_sizes()) / 2 * figure.dpi / 72
    on_bubble = [
        (label.get_text(), segments["segment_label"].iloc[k])
        for label, box in zip(labels, boxes, strict=True)
        for k, (centre, radius) in enumerate(zip(centres, radii, strict=True))
        if _circle_hits(box, centre, radius)
    ]
    assert on_bubble == []
    cut_off = [  # every bubble whole inside the frame
        segments["segment_label"].iloc[k]
        for k, (centre, radius) in enumerate(zip(centres, radii, strict=True))
        if centre[0] - radius < frame.x0 - 1
        or centre[0] + radius > frame.x1 + 1
        or centre[1] - radius < frame.y0 - 1
        or centre[1] + radius > frame.y1 + 1
    ]
    assert cut_off == []
    for axis in (ax.xaxis, ax.yaxis):  # no negative counts or amounts on the axes
        assert all(tick >= 0 for tick in axis.get_majorticklocs())


def test_bubble_labels_are_placed_the_same_every_time():
    def positions() -> list[tuple[float, float]]:
        ax = plot_segment_map(CDNOW)
        return [tuple(text.get_position()) for text in ax.texts]

    assert positions() == positions()


# -- sheet names ---------------------------------------------------------------------------


def test_sheet_names_cut_long_titles_after_a_whole_word():
    names = sheet_names(
        [
            "Persoonlijk bedanken en betrekken van trouwe gevers",
            "Persoonlijk bedanken en betrekken van trouwe gevers",
            "Eenwoordzonderspatiesdatlangerisdan31tekens",
        ]
    )
    assert names == [
        "Persoonlijk bedanken en",
        "Persoonlijk bedanken en 2",
        "Eenwoordzonderspatiesdatlangeri",
    ]
    assert all(len(name) <= 31 for name in names)


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_action_sheet_is_named_in_full(language, audience):
    """The catalogs give each action a sheet name that fits Excel, so none is cut."""
    t = Translator(language, audience=audience)
    for action in load_action_rules():
        title = _action_title(action, language, audience)
        assert len(title) <= 31, (action, title)
        assert sheet_names([title]) == [title]
        assert title in (
            t(f"recommendations.actions.{action}.name"),
            t(f"recommendations.actions.{action}.sheet")
            if t.has(f"recommendations.actions.{action}.sheet")
            else None,
        )


# -- customer ids ----------------------------------------------------------------------------


def test_long_ids_are_shortened_in_the_middle_and_stay_distinct():
    uuids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"klant-{i}")) for i in range(200)]
    hashes = [hashlib.sha256(f"klant-{i}".encode()).hexdigest() for i in range(200)]
    for ids in (uuids, hashes):
        shown = short_ids(ids)
        assert all(len(text) == MAX_ID_CHARS and "…" in text for text in shown)
        assert len(set(shown)) == len(ids)
        for full, text in zip(ids, shown, strict=True):
            head, tail = text.split("…")
            assert full.startswith(head) and full.endswith(tail)
    assert short_ids(["10042", "@klant100061"]) == ["10042", "@klant100061"]


def test_a_bold_total_wider_than_its_column_widens_the_column():
    """The plan's total (US$ 1.085.591 in bold) overlapped the next column in the PDF."""
    from clvreport.report.markdown import table

    frame = pd.DataFrame({"Op het spel": ["US$\xa0557.747", "US$\xa070.650"]})
    plain = table(frame, caption="c", id="tbl-a")
    totalled = table(frame, caption="c", id="tbl-a", total=["US$\xa01.085.591"])
    dashes = [
        len(line.strip("|:"))
        for t in (plain, totalled)
        for line in t.splitlines()
        if set(line) <= set("|:-") and "-" in line
    ]
    assert dashes[1] > dashes[0]
    # room for the unbreakable total, its bold included
    assert dashes[1] >= len("US$\xa01.085.591") + 4
