"""bench/bench_models.py's pymc-marketing plumbing, without pymc-marketing.

The worker runs in another interpreter (``PYMC_PYTHON``); these tests check what
is handed to it and what becomes of its failures, never a pymc fit.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_models.py"


@pytest.fixture(scope="module")
def bench():
    name = "bench_models_under_test"
    spec = importlib.util.spec_from_file_location(name, BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclass looks itself up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)


ARRAYS = {
    "frequency": np.array([0.0, 2.0, 1.0, 3.0]),
    "recency": np.array([0.0, 5.0, 2.0, 7.0]),
    "T": np.array([8.0, 9.0, 4.0, 7.0]),
    "monetary_value": np.array([0.0, 12.5, 0.0, 4.0]),
}


def test_frame_for_gamma_gamma_keeps_repeat_buyers_with_spend(bench):
    frame = bench.pymc_frame("gamma_gamma", ARRAYS)
    assert sorted(frame) == ["customer_id", "frequency", "monetary_value"]
    np.testing.assert_array_equal(frame["customer_id"], [0, 1])
    np.testing.assert_array_equal(frame["frequency"], [2.0, 3.0])
    np.testing.assert_array_equal(frame["monetary_value"], [12.5, 4.0])


def test_frame_for_rfm_models_is_one_row_per_customer(bench):
    frame = bench.pymc_frame("pnbd", ARRAYS)
    assert sorted(frame) == ["T", "customer_id", "frequency", "recency"]
    np.testing.assert_array_equal(frame["customer_id"], np.arange(4))
    np.testing.assert_array_equal(frame["T"], ARRAYS["T"])


def test_every_model_has_a_pymc_class_and_flat_parameters(bench):
    assert set(bench.PYMC_CLASSES) == set(bench.LIFETIMES_CLASSES) == set(bench.PYMC_PARAMS)


def test_command_reruns_this_script_as_worker_with_four_arguments(bench, tmp_path):
    command = bench.pymc_command("/x/python", "bgnbd", tmp_path / "in.npz", tmp_path / "o", 3)
    assert command[0] == "/x/python"
    assert Path(command[1]) == BENCH
    assert command[2] == "--pymc-worker"
    assert command[3:] == ["bgnbd", str(tmp_path / "in.npz"), str(tmp_path / "o"), "3"]


def test_failure_is_the_last_line_of_stderr_or_the_signal(bench):
    stderr = "Traceback (most recent call last):\n  ...\nValueError: bad data\n\n"
    assert bench.pymc_failure(1, stderr) == "failed: ValueError: bad data"
    assert bench.pymc_failure(1, "") == "failed: ?"
    assert bench.pymc_failure(-11, "") == "crashed (SIGSEGV)"


def test_rescaled_time_and_parameters_back(bench):
    weeks = bench.rescaled_time(ARRAYS, 7.0)
    np.testing.assert_allclose(weeks["T"], ARRAYS["T"] / 7.0)
    np.testing.assert_allclose(weeks["recency"], ARRAYS["recency"] / 7.0)
    np.testing.assert_array_equal(weeks["frequency"], ARRAYS["frequency"])
    back = bench.params_in_original_time({"r": 0.5, "alpha": 2.0, "s": 0.4, "beta": 3.0}, 7.0)
    assert back == {"r": 0.5, "alpha": 14.0, "s": 0.4, "beta": 21.0}
    assert bench.params_in_original_time({"a": 0.8, "b": 2.0}, 7.0) == {"a": 0.8, "b": 2.0}


def test_partial_result_keeps_the_fits_that_finished(bench, tmp_path):
    out = tmp_path / "out.json"
    assert bench.partial_result(out, 3, 120.0).startswith("skipped")
    out.write_text('{"seconds": 50.0, "params": {"r": 1.0}, "fits": 2}')
    result = bench.partial_result(out, 3, 120.0)
    assert result["seconds"] == 50.0 and "best of 2 of 3 fits" in result["note"]


def test_without_pymc_python_the_columns_are_dashes(bench, monkeypatch):
    monkeypatch.delenv("PYMC_PYTHON", raising=False)
    assert "not set up" in bench.fit_pymc("bgnbd", ARRAYS, 1)
    row = bench.Row("d", "bgnbd", 4, 4, 0.1, -10.0)
    cells = [c.strip() for c in bench.format_row(row).strip("|").split("|")]
    assert len(cells) == bench.HEADER.count("|") - 1
    assert cells[12:15] == ["–", "–", "–"] and cells[18:20] == ["–", "–"]
    assert "not set up" in bench.pymc_paragraph(False, False)


def test_worker_that_fails_gives_a_note(bench, monkeypatch):
    # this interpreter has no pymc-marketing: the worker's import fails
    monkeypatch.setenv("PYMC_PYTHON", sys.executable)
    result = bench.fit_pymc("bgnbd", ARRAYS, 1)
    assert isinstance(result, str) and result.startswith("failed: ")


def test_worker_over_the_timeout_is_skipped(bench, monkeypatch, tmp_path):
    slow = tmp_path / "slow-python"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PYMC_PYTHON", str(slow))
    monkeypatch.setattr(bench, "PYMC_STARTUP", 0.0)
    assert bench.fit_pymc("bgnbd", ARRAYS, 1, timeout=0.2).startswith("skipped")


def test_a_lower_pymc_optimum_is_noted_and_a_higher_one_fails(bench):
    row = bench.Row("d", "bgnbd", 4, 4, 0.1, -100.0, pymc_seconds=2.0, pymc_ll=-100.5)
    assert row.pymc_speedup == pytest.approx(20.0)
    assert row.pymc_ll_difference == pytest.approx(0.005)
    assert row.verdict() == "pass"
    row.pymc_ll = -99.0  # pymc-marketing found a higher point than ours
    assert row.verdict() == "FAIL"
