"""Fixtures shared by several test modules: the demo rendered at two dates."""

import json
import shutil
from pathlib import Path

import pytest

from clvreport.render import render_report

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory):
    """The demo at two dates in one output root (plus a copy at 2024-03-31 for the history)."""
    out = tmp_path_factory.mktemp("out")
    first = render_report(
        "demo",
        data_dir=DATA,
        out_dir=out,
        as_of="2024-06-30",
        formats="pdf",
        renderer="builtin",
    )
    # a third, earlier report (a copy with its date changed) so the history chart shows
    older = first.folder.parent / "2024-03-31"
    shutil.copytree(first.folder, older)
    model = json.loads((older / "model.json").read_text())
    model["key_figures"]["as_of"] = "2024-03-31"
    (older / "model.json").write_text(json.dumps(model))
    second = {
        lang: render_report(
            "demo",
            data_dir=DATA,
            out_dir=out,
            as_of="2024-12-31",
            language=lang,
            formats="pdf",
            renderer="builtin",
        )
        for lang in ("nl", "en")
    }
    return out, first, second
