"""Fixtures shared by several test modules.

The example reports (demo, cdnow, goededoel, abonnement in nl and en) are rendered
at most once per test run, whichever modules (and pytest-xdist workers) ask for
them: a render takes 15-30 s, and the whole suite must stay within its time on two
cores. The demo is also rendered at two dates in one output root, for the
comparison.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


def _shared_root(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this run sees (the run's base temp)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def rendered_once(tmp_path_factory, name: str, render: Callable[[Path], object]):
    """``render(folder)``'s result, computed once per test run whatever the workers.

    ``make test`` runs on every core (pytest-xdist): the first worker to ask renders
    under a lock and stores the result; the others wait and read it.
    """
    root = _shared_root(tmp_path_factory) / "shared-reports"
    root.mkdir(exist_ok=True)
    stored = root / f"{name}.pickle"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stored.exists():
            folder = root / name
            folder.mkdir()
            stored.write_bytes(pickle.dumps(render(folder)))
        return pickle.loads(stored.read_bytes())


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory):
    """The demo at two dates in one output root (plus a copy at 2024-03-31 for the history)."""
    from clvreport.render import render_report

    def render(out: Path):
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

    return rendered_once(tmp_path_factory, "demo-two-dates", render)


@pytest.fixture(scope="session")
def example_report(tmp_path_factory) -> Callable[[str, str], Path]:
    """``example_report(client, language)``: the folder of that example's PDF report.

    Rendered with the built-in renderer on first use and shared by every module
    after that (the folder holds ``clv_report.pdf``, ``customers.csv``,
    ``model.json``, ...).
    """
    from clvreport.render import render_report

    def render(client: str, language: str) -> Path:
        def one(out: Path) -> Path:
            return render_report(
                client,
                data_dir=DATA,
                out_dir=out,
                language=language,
                formats="pdf",
                renderer="builtin",
            ).folder

        return rendered_once(tmp_path_factory, f"example-{client}-{language}", one)

    return render
