"""Fixtures shared by several test modules.

The example reports (demo, cdnow, goededoel, abonnement in nl and en) are rendered
at most once per test session, whichever modules ask for them: a render takes
15-30 s, and the whole suite must stay within its time on two cores.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


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
