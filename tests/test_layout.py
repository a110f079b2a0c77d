"""Layout rules a manager sees (issue 24, item 8) that need no rendered report.

Long customer ids are shortened the same way everywhere.
"""

from __future__ import annotations

import hashlib
import uuid

from clvreport.report.markdown import MAX_ID_CHARS, short_ids

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
