"""Fixtures shared by several test modules.

The example reports (demo, cdnow, goededoel, abonnement in nl and en) are rendered
at most once per test session, whichever modules ask for them: a render takes
15-30 s, and the whole suite must stay within its time on two cores. The demo is
also rendered at two dates in one output root, for the comparison.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory):
    """The demo at two dates in one output root (plus a copy at 2024-03-31 for the history)."""
    from clvreport.render import render_report

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


@pytest.fixture(scope="session")
def example_report(tmp_path_factory) -> Callable[[str, str], Path]:
    """``example_report(client, language)``: the folder of that example's PDF report.

    Rendered with the built-in renderer on first use and shared by every module
    after that (the folder holds ``clv_report.pdf``, ``customers.csv``,
    ``model.json``, ...).
    """
    from clvreport.render import render_report

    folders: dict[tuple[str, str], Path] = {}

    def render(client: str, language: str) -> Path:
        key = (client, language)
        if key not in folders:
            out = tmp_path_factory.mktemp(f"example-{client}-{language}")
            result = render_report(
                client,
                data_dir=DATA,
                out_dir=out,
                language=language,
                formats="pdf",
                renderer="builtin",
            )
            folders[key] = result.folder
        return folders[key]

    return render
