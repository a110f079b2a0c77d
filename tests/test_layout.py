"""Layout rules a manager sees (issue 24, item 8) that need no rendered report.

The action sheets of ``customers.xlsx`` are named by one rule without truncated words;
long customer ids are shortened the same way everywhere.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest

from clvreport.i18n import AUDIENCES, LANGUAGES, Translator
from clvreport.recommendations import _action_title, load_action_rules, sheet_names
from clvreport.report.markdown import MAX_ID_CHARS, short_ids

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
