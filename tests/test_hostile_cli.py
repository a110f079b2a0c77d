"""Hostile input at the CLI: every failure is one clear message, never a traceback.

Each case asserts the message (what, where, what to do), the exit code, that no
traceback is shown and that nothing partial or wrong is left in the output
folder. The report pipeline runs the small fixture notebook with a fake
renderer, so these tests need neither the full analysis nor Typst.

The tests run as root in CI, where a ``chmod``-read-only folder is still
writable; permission and disk-full errors are therefore simulated by
monkeypatching the call that writes, with the ``OSError`` the system would raise.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from cli_checks import FIXTURES, copy_branded, invoke
from cli_checks import clean as check

import clvreport.render as render
from clvreport.errors import RenderError
from clvreport.render.base import renderers

NOTEBOOK = FIXTURES / "notebooks" / "pipeline.ipynb"
NL_EXPORT = Path(__file__).parent / "data" / "ingest" / "nl_export.csv"
SUMMARY_ARGS = [
    "summary",
    str(NL_EXPORT),
    "--customer-col",
    "Klantnummer",
    "--date-col",
    "Orderdatum",
    "--amount-col",
    "Bedrag",
]


class FakeRenderer:
    """Writes placeholder documents (no Typst needed)."""

    name = "hostile-fake"

    def available(self) -> bool:
        return True

    def render(self, workdir, meta, formats):
        written = []
        for fmt in formats:
            path = workdir / f"clv_report.{fmt}"
            path.write_text(f"{meta.client_name} {meta.language}")
            written.append(path)
        return written


class DiskFullRenderer(FakeRenderer):
    name = "hostile-diskfull"

    def render(self, workdir, meta, formats):
        raise OSError(errno.ENOSPC, "No space left on device", str(workdir / "clv_report.pdf"))


class TypstErrorRenderer(FakeRenderer):
    """Fails like the built-in renderer: the message names the Typst source in _build/."""

    name = "hostile-typst"

    def render(self, workdir, meta, formats):
        build = workdir / "_build"
        build.mkdir(exist_ok=True)
        source = build / "clv_report.typ"
        source.write_text("#set text(font: 'Nope')\n")
        raise RenderError(
            "typst", f"{source}:1:1 unknown font family", hint=f"the Typst source is {source}"
        )


for _renderer in (FakeRenderer(), DiskFullRenderer(), TypstErrorRenderer()):
    renderers.register(_renderer)


# -- helpers -----------------------------------------------------------------------------


def tree(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones included), relative, sorted."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A data folder with one valid client, ``acme`` (the branded fixture)."""
    return copy_branded(tmp_path)


@pytest.fixture
def pipeline(monkeypatch):
    """``clvreport report`` runs the fixture notebook instead of the real one."""
    monkeypatch.setattr(render, "REPORT_NOTEBOOK", NOTEBOOK)


def edit_config(data_dir: Path, extra: str, client: str = "acme") -> None:
    path = data_dir / client / "client.yml"
    path.write_text(path.read_text(encoding="utf-8") + textwrap.dedent(extra), encoding="utf-8")


def report(data_dir: Path, out: Path, *args: str, renderer: str = "hostile-fake"):
    return invoke(
        "report",
        "--client",
        "acme",
        "--data-dir",
        data_dir,
        "--out",
        out,
        "--renderer",
        renderer,
        "--as-of",
        "2024-06-30",
        *args,
    )


def published(out: Path) -> Path:
    result = out / "acme" / "2024-06-30"
    assert (result / "clv_report.pdf").is_file()
    return result


# -- write errors ------------------------------------------------------------------------


def test_out_is_a_file(data_dir, tmp_path, pipeline):
    out = tmp_path / "out.txt"
    out.write_text("keep me")
    output = check(
        report(data_dir, out),
        2,
        "cannot write the report",
        f"'{out}' is a file, not a folder",
        "Fix: choose a folder with --out",
    )
    assert str(out) in output
    assert out.read_text() == "keep me"


def test_out_under_a_file(data_dir, pipeline):
    check(
        report(data_dir, Path("/dev/null/reports")),
        2,
        "cannot write the report",
        "'/dev/null' is a file, not a folder",
    )


def test_out_read_only(data_dir, tmp_path, pipeline, monkeypatch):
    out = tmp_path / "readonly"
    out.mkdir()

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(out / "acme"))

    monkeypatch.setattr(render.tempfile, "mkdtemp", refuse)
    output = check(
        report(data_dir, out),
        2,
        "cannot write the report: permission denied",
        "--out",
    )
    assert str(out / "acme") in output
    assert tree(out) == []  # no empty client folder left behind


def test_disk_full_while_publishing_keeps_the_previous_report(
    data_dir, tmp_path, pipeline, monkeypatch
):
    out = tmp_path / "out"
    check(report(data_dir, out), 0)
    previous = published(out)
    before = {p.name: p.read_bytes() for p in previous.iterdir()}

    def full(workdir, destination):
        raise OSError(errno.ENOSPC, "No space left on device", str(destination))

    monkeypatch.setattr(render, "_publish", full)
    check(
        report(data_dir, out),
        2,
        "cannot write the report: the disk is full",
        "Fix: free disk space, or choose a folder on another disk with --out",
    )
    assert {p.name: p.read_bytes() for p in previous.iterdir()} == before
    assert not list((out / "acme").glob(".tmp-*"))


def test_failed_rename_while_publishing_puts_the_previous_report_back(
    data_dir, tmp_path, pipeline, monkeypatch
):
    out = tmp_path / "out"
    check(report(data_dir, out), 0)
    previous = published(out)
    before = {p.name: p.read_bytes() for p in previous.iterdir()}
    real_rename = Path.rename

    def rename(self, target):
        if self.name.startswith(".tmp-") and Path(target) == previous:
            raise PermissionError(errno.EACCES, "Permission denied", str(self), str(target))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    check(report(data_dir, out), 2, "cannot write the report: permission denied")
    assert {p.name: p.read_bytes() for p in previous.iterdir()} == before
    assert not list((out / "acme").glob(".old-*"))
    assert not list((out / "acme").glob(".tmp-*"))


def test_disk_full_in_the_renderer(data_dir, tmp_path, pipeline):
    out = tmp_path / "out"
    output = check(
        report(data_dir, out, renderer="hostile-diskfull"),
        2,
        "cannot write the report: the disk is full",
        str(out / "acme"),
    )
    assert ".tmp-" not in output  # never a path that no longer exists
    assert not (out / "acme" / "2024-06-30").exists()
    assert not list((out / "acme").glob(".tmp-*"))


def test_disk_full_inside_the_notebook(data_dir, tmp_path, monkeypatch):
    notebook = json.loads(NOTEBOOK.read_text())
    cell = notebook["cells"][1]
    cell["source"] = "raise OSError(28, 'No space left on device', 'customers.csv')\n" + "".join(
        cell["source"]
    )
    full = tmp_path / "full.ipynb"
    full.write_text(json.dumps(notebook))
    monkeypatch.setattr(render, "REPORT_NOTEBOOK", full)
    out = tmp_path / "out"
    output = check(report(data_dir, out), 2, "cannot write the report: the disk is full")
    assert "OSError" not in output
    assert not (out / "acme" / "2024-06-30").exists()
    assert not list((out / "acme").glob(".tmp-*"))


def test_summary_out_read_only(tmp_path, monkeypatch):
    target = tmp_path / "summary.csv"
    target.write_text("previous")

    def refuse(self, path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", refuse)
    check(
        invoke(*SUMMARY_ARGS, "--out", target),
        2,
        "cannot write the summary: permission denied",
        str(target),
        "--out",
    )
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv"]


def test_summary_out_disk_full(tmp_path, monkeypatch):
    target = tmp_path / "summary.parquet"

    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR")  # a partial file
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    check(invoke(*SUMMARY_ARGS, "--out", target), 2, "the disk is full", str(target))
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


def test_summary_out_under_a_file():
    check(
        invoke(*SUMMARY_ARGS, "--out", "/dev/null/summary.csv"),
        2,
        "cannot write the summary",
        "'/dev/null' is a file, not a folder",
    )


def test_summary_out_is_a_folder(tmp_path):
    folder = tmp_path / "summary.csv"
    folder.mkdir()
    check(invoke(*SUMMARY_ARGS, "--out", folder), 2, "that is a folder, not a file", "--out")


def test_unexpected_os_error_reaching_the_cli_is_one_message(data_dir, monkeypatch):
    import clvreport.validate as validate

    def broken(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "/secret/client.yml")

    monkeypatch.setattr(validate, "load_client", broken)
    check(
        invoke("validate", "--client", "acme", "--data-dir", data_dir),
        2,
        "permission denied",
        "/secret/client.yml",
    )


# -- rich markup in user text -------------------------------------------------------------


@pytest.mark.parametrize("name", ["[/]", "[bold]x", "a[/b]"])
def test_markup_in_client_name_argument(name, data_dir):
    output = check(
        invoke("validate", "--client", name, "--data-dir", data_dir),
        2,
        f"'{name}' is not a valid client name",
        "known clients: acme",
    )
    assert "MarkupError" not in output


def test_markup_in_config_text_is_shown_literally(data_dir, tmp_path, pipeline):
    path = data_dir / "acme" / "client.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            'name: "Koffiebranderij Noorderlicht B.V."', 'name: "[/] [bold]Acme[/bold] [red]"'
        ),
        encoding="utf-8",
    )
    output = check(invoke("validate", "--client", "acme", "--data-dir", data_dir), 0)
    assert "[/] [bold]Acme[/bold] [red]" in output
    output = check(invoke("clients", "--data-dir", data_dir), 0)
    assert "[/] [bold]Acme" in output


def test_markup_in_an_error_message_is_shown_literally(tmp_path):
    output = check(
        invoke(*SUMMARY_ARGS[:3], "[/]", *SUMMARY_ARGS[4:]),
        2,
        "[/]",
    )
    assert "MarkupError" not in output


def test_install_hint_keeps_brackets(data_dir, monkeypatch):
    quarto = next(r for r in map(renderers._renderers.get, renderers.names()) if r.name == "quarto")
    monkeypatch.setattr(quarto, "available", lambda: False)
    check(
        invoke("report", "--client", "acme", "--data-dir", data_dir, "--renderer", "quarto"),
        2,
        "pip install 'clvreport[quarto]'",
    )


# -- validate catches what the report would fail on ----------------------------------------


CONFIG_CASES = {
    "unknown action": (
        "recommendations:\n  champions: {action: bribe}\n",
        ["recommendations.champions.action: 'bribe' is not a known action", "reward", "reminder"],
    ),
    "priority not a number": (
        "recommendations:\n  champions: {priority: high}\n",
        ["recommendations.champions.priority: must be a whole number", "'high'"],
    ),
    "unknown segment": (
        "recommendations:\n  champoins: {action: reward}\n",
        ["'champoins' is not a segment", "champions"],
    ),
    "unknown recommendation key": (
        "recommendations:\n  champions: {actoin: reward}\n",
        ["recommendations.champions.actoin: unknown key", "action, priority"],
    ),
    "bad action assumption": (
        "actions:\n  reward: {success_rate: 15}\n",
        ["actions.reward.success_rate", "between 0 and 1"],
    ),
    "segment rules with a gap": (
        "segments:\n  rules:\n    lost: null\n",
        ["invalid segment rules", "belong to no segment"],
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_validate_and_report_refuse_bad_config(case, data_dir, tmp_path, pipeline):
    extra, texts = CONFIG_CASES[case]
    edit_config(data_dir, extra)
    check(invoke("validate", "--client", "acme", "--data-dir", data_dir), 2, *texts)
    out = tmp_path / "out"
    check(report(data_dir, out), 2, *texts)
    assert tree(out) == []  # failed before any work: no folder at all


@pytest.mark.parametrize(
    ("logo", "content", "text"),
    [
        ("logo.svg", b"this is not svg", "not a readable SVG image"),
        ("logo.svg", b"<html><body/></html>", "not an SVG image"),
        ("logo.png", b"\x89PNG but truncated", "not a readable PNG image"),
    ],
)
def test_logo_that_is_not_an_image(logo, content, text, data_dir, tmp_path, pipeline):
    client = data_dir / "acme"
    (client / logo).write_bytes(content)
    brand = client / "_brand.yml"
    brand.write_text(brand.read_text().replace("path: logo.svg", f"path: {logo}"))
    texts = [text, logo, "export the logo again"]
    check(invoke("validate", "--client", "acme", "--data-dir", data_dir), 2, *texts)
    out = tmp_path / "out"
    check(report(data_dir, out), 2, *texts)
    assert tree(out) == []


@pytest.mark.parametrize("as_of", ["31-12-2024", "2024/12/31", "yesterday", "2024-02-30", "[/]"])
def test_bad_as_of(as_of, data_dir, tmp_path, pipeline):
    hint = "write the date as year-month-day, e.g. --as-of 2024-12-31"
    check(
        invoke("validate", "--client", "acme", "--data-dir", data_dir, "--as-of", as_of),
        2,
        f"--as-of '{as_of}'",
        hint,
    )
    out = tmp_path / "out"
    result = invoke(
        "report", "--client", "acme", "--data-dir", data_dir, "--out", out, "--as-of", as_of
    )
    check(result, 2, f"--as-of '{as_of}'", hint)
    assert tree(out) == []


def test_validate_prints_data_quality_flags(data_dir, monkeypatch):
    import clvreport.validate as validate

    real = validate.load_transactions

    class Flagged:
        def __init__(self, tx):
            self._tx = tx

        def __getattr__(self, name):
            return getattr(self._tx, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._tx.close()

        @property
        def quality(self):
            quality = self._tx.quality

            class Q:
                def __getattr__(self, name):
                    return getattr(quality, name)

                flagged = (("outlier", 2), ("some_new_code", 3), ("zero_amount_order", 0))

            return Q()

    monkeypatch.setattr(validate, "load_transactions", lambda *a, **k: Flagged(real(*a, **k)))
    monkeypatch.setattr(validate, "_flag_messages", lambda: {"outlier": "amounts [far] out"})
    output = check(invoke("validate", "--client", "acme", "--data-dir", data_dir), 0)
    assert "2 flagged: amounts [far] out" in output
    assert "3 flagged: some new code" in output
    assert "zero amount order" not in output


# -- clients --------------------------------------------------------------------------------


def test_clients_lists_valid_and_marks_invalid(data_dir):
    shutil.copytree(data_dir / "acme", data_dir / "broken")
    (data_dir / "broken" / "client.yml").write_text("name: [unclosed\n")
    shutil.copytree(data_dir / "acme", data_dir / "typo")
    edit_config(data_dir, "horizon_montsh: 12\n", client="typo")
    shutil.copytree(data_dir / "acme", data_dir / "bribe")
    edit_config(data_dir, "recommendations: {champions: {action: bribe}}\n", client="bribe")
    output = check(invoke("clients", "--data-dir", data_dir), 0, "acme", "Koffiebranderij")
    assert "broken" in output and "typo" in output and "bribe" in output
    assert output.count("invalid:") == 3
    assert "horizon_montsh" in output
    assert "'bribe' is not a known action" in output
    assert "3 of 4 clients cannot be reported on" in output
    names = invoke("clients", "--data-dir", data_dir, "--names")
    check(names, 0)
    assert names.stdout.split() == ["acme"]
    assert "skipped broken" in names.output


# -- interrupts, leftovers, the kept notebook ----------------------------------------------


def test_ctrl_c_publishes_nothing(data_dir, tmp_path, pipeline, monkeypatch):
    out = tmp_path / "out"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "execute_notebook", interrupted)
    check(report(data_dir, out), 130, "interrupted, nothing published")
    assert tree(out) == []


def test_ctrl_c_keeps_the_previous_report(data_dir, tmp_path, pipeline, monkeypatch):
    out = tmp_path / "out"
    check(report(data_dir, out), 0)
    before = tree(out)

    class Interrupting(FakeRenderer):
        name = "hostile-interrupt"

        def render(self, workdir, meta, formats):
            raise KeyboardInterrupt

    renderers.register(Interrupting())
    check(
        report(data_dir, out, renderer="hostile-interrupt"), 130, "interrupted, nothing published"
    )
    assert tree(out) == before


SIGINT_SCRIPT = """
import sys
import clvreport.render as render
from clvreport.render.base import renderers
sys.path.insert(0, {tests!r})
render.REPORT_NOTEBOOK = __import__("pathlib").Path({notebook!r})
from test_hostile_cli import FakeRenderer  # registers the fake renderers
from clvreport.cli import main
sys.argv = ["clvreport", "report", "--client", "acme", "--data-dir", {data!r}, "--out", {out!r},
            "--renderer", "hostile-fake"]
main()
"""


def test_sigint_during_the_notebook(data_dir, tmp_path):
    """A real Ctrl-C while the kernel runs: one line, exit 130, no kernel left running."""
    psutil = pytest.importorskip("psutil")
    notebook = json.loads(NOTEBOOK.read_text())
    cell = notebook["cells"][1]
    # the cell says when it is asleep: the interrupt must reach a running cell, not a
    # kernel still starting on a busy machine
    asleep = tmp_path / "asleep"
    cell["source"] = (
        f"import pathlib, time\npathlib.Path({str(asleep)!r}).touch()\ntime.sleep(60)\n"
        + "".join(cell["source"])
    )
    slow = tmp_path / "slow.ipynb"
    slow.write_text(json.dumps(notebook))
    out = tmp_path / "out"
    script = SIGINT_SCRIPT.format(
        tests=str(Path(__file__).parent), notebook=str(slow), data=str(data_dir), out=str(out)
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal, even when the tests themselves run in the background
        # (where the shell starts them with SIGINT ignored, and children inherit that)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    kernels: list = []
    while proc.poll() is None:
        kernels = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if "kernel" in " ".join(p.cmdline())
        ]
        if kernels and asleep.exists():
            break
        time.sleep(0.2)
    assert kernels and asleep.exists(), "the kernel did not reach the slow cell"
    proc.send_signal(signal.SIGINT)
    # no deadline: an interrupt that is lost lets the cell sleep out and the run end
    # with exit 0, which the assertion below reports
    stdout, stderr = proc.communicate()
    output = stdout + stderr
    assert proc.returncode == 130, output
    assert "interrupted, nothing published" in output
    for noise in ("Traceback", "KeyboardInterrupt", "ZMQ", "zmq", "IPKernelApp"):
        assert noise not in output, output
    assert tree(out) == []
    psutil.wait_procs(kernels, timeout=10)
    assert not [k for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]


def test_leftover_temp_folders_are_removed_by_the_next_run(data_dir, tmp_path, pipeline):
    client_out = tmp_path / "out" / "acme"
    dead = client_out / ".tmp-999999999-abc"  # no such process
    old = client_out / ".tmp-oldstyle"
    alive = client_out / f".tmp-{os.getppid()}-busy"  # a running process: another run
    users = client_out / ".tmp-my-notes"  # the analyst's own folder: not ours to remove
    users_old = client_out / ".old-drafts"
    for folder in (dead, old, alive, users, users_old):
        folder.mkdir(parents=True)
        (folder / "customers.csv").write_text("customer_id\n1\n")
        if folder not in (users, users_old):
            (folder / render.MARKER).write_text("made by clvreport\n")  # as a run leaves it
    an_hour_ago = time.time() - 7200
    for folder in (old, users, users_old):
        os.utime(folder, (an_hour_ago, an_hour_ago))
    check(report(data_dir, tmp_path / "out"), 0)
    assert not dead.exists() and not old.exists()
    assert alive.exists() and users.exists() and users_old.exists()


def test_a_new_report_keeps_the_analysts_own_files_and_is_not_world_readable(
    data_dir, tmp_path, pipeline
):
    out = tmp_path / "out"
    check(report(data_dir, out), 0)
    (folder,) = [p for p in (out / "acme").iterdir() if not p.name.startswith(".")]
    (folder / "notities.txt").write_text("gesprek met de klant")
    (folder / "eigen").mkdir()
    (folder / "eigen" / "plan.xlsx").write_bytes(b"x")
    check(report(data_dir, out), 0)  # the same date again: replaces the report
    assert (folder / "notities.txt").read_text() == "gesprek met de klant"
    assert (folder / "eigen" / "plan.xlsx").exists()
    own = {"notities.txt", "eigen"}  # the analyst's: their modes are theirs
    for path in [
        folder,
        *(p for p in folder.rglob("*") if p.relative_to(folder).parts[0] not in own),
    ]:
        assert path.stat().st_mode & 0o007 == 0, path  # nothing for others


def test_failure_before_the_notebook_leaves_no_client_folder(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(render, "REPORT_NOTEBOOK", tmp_path / "missing.ipynb")
    out = tmp_path / "out"
    check(report(data_dir, out), 2, "execute notebook", "missing.ipynb")
    assert tree(out) == []


def test_failed_notebook_is_kept_privately_inside_the_output(data_dir, tmp_path, monkeypatch):
    notebook = json.loads(NOTEBOOK.read_text())
    notebook["cells"][0]["source"] = "".join(notebook["cells"][0]["source"]).replace(
        "fail = False", "fail = True"
    )
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps(notebook))
    monkeypatch.setattr(render, "REPORT_NOTEBOOK", bad)
    out = tmp_path / "out"
    output = check(report(data_dir, out), 2, "boom: the fixture was told to fail", "kept at")
    failed = out / "acme" / ".failed"
    (kept,) = failed.iterdir()
    assert str(kept / "clv_report.ipynb") in output.replace("\n", "")
    assert (kept / "clv_report.ipynb").is_file()
    assert failed.stat().st_mode & 0o777 == 0o700 and kept.stat().st_mode & 0o777 == 0o700
    assert not (out / "acme" / "2024-06-30").exists()
    for _ in range(4):  # only the last three failed runs are kept
        check(report(data_dir, out), 2)
    assert len(list(failed.iterdir())) == 3


def test_typst_error_points_at_a_file_that_exists(data_dir, tmp_path, pipeline):
    out = tmp_path / "out"
    output = check(report(data_dir, out, renderer="hostile-typst"), 2, "unknown font family")
    (kept,) = (out / "acme" / ".failed").iterdir()
    source = kept / "_build" / "clv_report.typ"
    assert source.is_file()
    assert f"the Typst source is {source}" in output.replace("\n", "")
    assert ".tmp-" not in output


def test_fit_scores_under_a_file():
    cdnow = Path(__file__).parent / "data" / "cdnow_sample.txt"
    args = ["fit", cdnow, "--no-header", "--names", "id,sample,date,qty,amount"]
    args += ["--customer-col", "id", "--date-col", "date", "--amount-col", "amount"]
    args += ["--date-format", "%Y%m%d", "--calibration-end", "1997-09-30"]
    args += ["--holdout-end", "1998-06-30", "--scores", "/dev/null/scores.csv"]
    check(
        invoke(*args),
        2,
        "cannot write the holdout scores",
        "'/dev/null' is a file, not a folder",
        "--scores",
    )


def test_kernel_log_stays_quiet(data_dir, tmp_path, pipeline, monkeypatch, capfd):
    """jupyter_client interrupts an idle kernel before shutting it down; ipykernel logs that
    as "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel" in some normal runs."""
    import papermill

    seen = {}
    real = papermill.execute_notebook

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", spy)
    for _ in range(2):
        check(report(data_dir, tmp_path / "out"), 0)
    assert "--IPKernelApp.log_level=CRITICAL" in seen["extra_arguments"]
    captured = capfd.readouterr()
    assert "IPKernelApp" not in captured.out + captured.err
    assert "KeyboardInterrupt" not in captured.out + captured.err
