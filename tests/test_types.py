"""mypy accepts the audience interface and the analysis (``[tool.mypy]`` in pyproject.toml).

Every fit (shop, donor, subscription) is passed where the
:class:`~clvreport.audiences.base.Fit` protocol is expected (``ModelStep.model``,
``Analysis.model``), so a fit that lacks a member the report reads fails here.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_accepts_the_audiences_and_the_analysis(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is in the dev extra")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
