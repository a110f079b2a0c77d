"""Render a client's report: execute the notebook, render PDF/HTML, publish atomically.

The pipeline works in a temporary folder beside the destination. Only when
every step succeeded does that folder become ``<out>/<client>/<as-of>/`` (one
rename), so a failed run never leaves a half-written report behind.

A failed run keeps its work folder (the executed notebook with the traceback,
the Typst source) in ``<out>/<client>/.failed/<timestamp>/``, private to the
user (mode 0700) because it holds customer ids; only the last
:data:`KEEP_FAILED` are kept. Temporary folders left by killed runs are removed
by the next run; a run that fails before producing anything leaves no folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from clvreport.config import load_client
from clvreport.dates import parse_date
from clvreport.errors import (
    WRITE_ERRNOS,
    ClvReportError,
    ConfigError,
    InterruptedRun,
    RenderError,
    output_error,
)
from clvreport.monitor import PeakMemory
from clvreport.render import builtin as _builtin  # noqa: F401  (registers "builtin")
from clvreport.render import quarto as _quarto  # noqa: F401  (registers "quarto")
from clvreport.render.base import FORMATS, REPORT_NAME, ReportMeta, renderers
from clvreport.render.execute import execute_notebook
from clvreport.validate import check_report_config

__all__ = ["REPORT_NOTEBOOK", "RenderResult", "parse_formats", "render_report", "renderers"]

REPORT_NOTEBOOK = Path(__file__).resolve().parents[1] / "reports" / f"{REPORT_NAME}.ipynb"
"""The report notebook, shipped as package data (``clvreport/reports/``; the checkout's
top-level ``reports/`` links to it)."""
RUN_INFO = "run.json"
FAILED_DIR = ".failed"
KEEP_FAILED = 3
"""How many failed runs' work folders are kept per client."""
_TMP_PREFIX = ".tmp-"
_TMP_PID = re.compile(r"\.tmp-(\d+)-")
_STALE_SECONDS = 3600  # a temp folder without a pid in its name is left alone this long

StepCallback = Callable[[str, float, float], None]
"""Called after each step with its name, duration in seconds and peak memory in MiB."""


@dataclass
class RenderResult:
    """What a successful render produced.

    Attributes
    ----------
    folder
        The published output folder ``<out>/<client>/<as-of>/``.
    files
        Every file in it.
    renderer
        Name of the renderer that produced the PDF/HTML.
    steps
        Duration in seconds of each pipeline step.
    peak_mib
        Peak resident memory (MiB) of each step, this process and its children
        (the notebook kernel, pandoc) together.
    """

    folder: Path
    files: list[Path]
    renderer: str
    steps: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float] = field(default_factory=dict)


def parse_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """Turn ``"pdf,html"`` (or a list) into a validated tuple of formats.

    Examples
    --------
    >>> parse_formats("pdf, html")
    ('pdf', 'html')
    """
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    chosen = tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    unknown = [item for item in chosen if item not in FORMATS]
    if unknown or not chosen:
        raise ConfigError(
            f"unknown output format {', '.join(unknown) or '(none)'}",
            hint=f"use a comma-separated list of: {', '.join(FORMATS)}",
        )
    return chosen


@contextmanager
def _step(
    name: str,
    steps: dict[str, float],
    on_step: StepCallback | None,
    peaks: dict[str, float] | None = None,
) -> Iterator[None]:
    start = time.perf_counter()
    with PeakMemory() as memory:
        yield
    steps[name] = time.perf_counter() - start
    if peaks is not None:
        peaks[name] = memory.peak_mib
    if on_step is not None:
        on_step(name, steps[name], memory.peak_mib)


def report_folder_name(as_of: str, language: str, default_language: str) -> str:
    """Name of a report's output folder: the as-of date, plus the language when not the default.

    A Dutch client's English report thus sits next to the Dutch one instead of replacing it.

    Parameters
    ----------
    as_of
        Report date ``YYYY-MM-DD``.
    language
        Language of this report.
    default_language
        The client's default language from ``client.yml``.

    Returns
    -------
    str
        ``"2024-12-31"`` or, for another language, ``"2024-12-31-en"``.

    Examples
    --------
    >>> report_folder_name("2024-12-31", "en", "nl")
    '2024-12-31-en'
    >>> report_folder_name("2024-12-31", "nl", "nl")
    '2024-12-31'
    """
    return as_of if language == default_language else f"{as_of}-{language}"


FOLDER_MODE = 0o750
"""A published report folder: the user reads and writes, their group reads, others nothing.

The report and its files hold customer ids, names and e-mails, so they are never
world-readable (the user's umask can only take more away); failed runs are kept 0700."""
FILE_MODE = 0o640
"""The files of a published report (see :data:`FOLDER_MODE`)."""
MARKER = ".clvreport"
"""A file in every work folder this tool made: only such folders it removes."""
_OLD = re.compile(r"^\.old-\d{4}-\d{2}-\d{2}(?:-[a-z]{2})?-\d+$")
"""An older report folder set aside while publishing (``.old-<date>[-<lang>]-<ns>``)."""


def _set_modes(folder: Path) -> None:
    """The report's folders :data:`FOLDER_MODE`, its files :data:`FILE_MODE`, less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        path.chmod((FOLDER_MODE if path.is_dir() else FILE_MODE) & ~umask)


def _keep_own_files(old: Path, workdir: Path) -> None:
    """Carry the analyst's own files of an older report folder into the new one.

    Replacing ``<out>/<client>/<date>/`` must not delete notes or folders the
    analyst put there: whatever the new report does not write itself moves
    along (a report's own outputs are replaced).
    """
    for entry in old.iterdir():
        target = workdir / entry.name
        if target.exists() or target.is_symlink() or entry.name in _REPORT_OUTPUTS:
            continue
        entry.rename(target)


def _publish(workdir: Path, destination: Path) -> None:
    """Move ``workdir`` to ``destination`` in one rename, replacing an older report.

    The analyst's own files in an older folder move into the new one; folders
    and files get :data:`FOLDER_MODE` / :data:`FILE_MODE`.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).unlink(missing_ok=True)  # a report folder holds the report only
    _set_modes(workdir)
    old = None
    if destination.exists():
        old = destination.with_name(f".old-{destination.name}-{time.time_ns()}")
        destination.rename(old)
        try:
            _keep_own_files(old, workdir)
        except OSError:
            old.rename(destination)  # nothing replaced
            raise
    try:
        workdir.rename(destination)
    except BaseException:
        if old is not None:
            old.rename(destination)  # put the previous report back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


_REPORT_OUTPUTS = frozenset(
    {
        f"{REPORT_NAME}.pdf",
        f"{REPORT_NAME}.html",
        f"{REPORT_NAME}.ipynb",
        "customers.csv",
        "customers.parquet",
        "customers.xlsx",
        "model.json",
        "run.json",
        "actions.parquet",
        "comparison.json",
        "migration.csv",
        "figures",
        "_build",
        MARKER,
    }
)
"""What a report folder holds of the report's own: replaced by the next run of that date."""


def render_report(
    client: str,
    *,
    data_dir: Path | str = "data",
    out_dir: Path | str = "output",
    as_of: str | None = None,
    language: str | None = None,
    formats: str | Sequence[str] = FORMATS,
    renderer: str = "auto",
    notebook: Path | None = None,
    on_step: StepCallback | None = None,
    compare_to: str | None = "auto",
) -> RenderResult:
    """Render the CLV report of ``client`` into ``<out_dir>/<client>/<as-of>/``.

    Parameters
    ----------
    client
        Client name: a folder under ``data_dir`` holding ``client.yml``.
    data_dir
        Folder with one sub-folder per client.
    out_dir
        Root of the output folders.
    as_of
        Report date ``YYYY-MM-DD``; default from ``client.yml``, else the last
        transaction date.
    language
        ``"nl"`` or ``"en"``; default from ``client.yml``.
    formats
        Which documents to render, from ``"pdf"`` and ``"html"``.
    renderer
        ``"auto"`` (Quarto when installed, else built-in), ``"quarto"`` or ``"builtin"``.
    notebook
        The report notebook; default ``reports/clv_report.ipynb``.
    on_step
        Called with ``(step name, seconds)`` after each step, for progress output.
    compare_to
        The earlier report to compare with: ``"auto"`` (the latest one in
        ``<out_dir>/<client>/`` before this report's date, if any), a report
        date ``YYYY-MM-DD`` (it must exist there), or ``None``/``"none"``.

    Returns
    -------
    RenderResult
        The output folder, its files and step durations.

    Raises
    ------
    ClvReportError
        For an unknown client, invalid config or data, and any failed step;
        the destination folder is then left as it was.

    Examples
    --------
    >>> render_report("demo", language="en", formats="pdf")  # doctest: +SKIP
    """
    steps: dict[str, float] = {}
    peaks: dict[str, float] = {}
    chosen_formats = parse_formats(formats)
    with _step("validate config", steps, on_step, peaks):
        as_of_date = parse_date(as_of, "--as-of")
        client_dir, config = load_client(client, data_dir)
        language = language or config.language
        if language not in ("nl", "en"):
            raise ConfigError(f"unknown language '{language}'", hint="use --lang nl or --lang en")
        check_report_config(config, client_dir, as_of=as_of_date)
        chosen = renderers.get(renderer)
        client_out = Path(out_dir) / client
        compare_to = check_compare_to(compare_to, client_out, as_of_date)
    notebook = Path(notebook) if notebook is not None else REPORT_NOTEBOOK
    created = _missing_parents(client_out)
    workdir = _make_workdir(client_out, created)
    destination: Path | None = None
    try:
        _remove_stale_workdirs(client_out, keep=workdir)
        with _step("execute notebook", steps, on_step, peaks):
            execute_notebook(
                notebook,
                workdir / f"{REPORT_NAME}.ipynb",
                parameters={
                    "client": client,
                    "data_dir": str(Path(data_dir).resolve()),
                    "as_of": as_of_date.isoformat() if as_of_date else None,
                    "language": language,
                    "output_dir": str(workdir),
                    "reports_dir": str(client_out.resolve()),
                    "compare_to": compare_to,
                },
                cwd=workdir,
            )
        run = _read_run_info(workdir)
        _record_provenance(workdir, run)
        meta = ReportMeta(
            **run["meta"], brand_file=client_dir / config.brand, client_dir=client_dir
        )
        with _step(f"render {'+'.join(chosen_formats)} ({chosen.name})", steps, on_step, peaks):
            chosen.render(workdir, meta, chosen_formats)
        shutil.rmtree(workdir / "_build", ignore_errors=True)
        destination = client_out / report_folder_name(run["as_of"], language, config.language)
        with _step("publish", steps, on_step, peaks):
            _publish(workdir, destination)
    except KeyboardInterrupt:
        _discard(workdir, client_out, created)
        raise InterruptedRun() from None
    except InterruptedRun:
        _discard(workdir, client_out, created)
        raise
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            _fail(exc, workdir, client_out, created)
            raise
        error = output_error(exc, _error_path(exc, workdir, client_out), "the report")
        _fail(error, workdir, client_out, created)
        raise error from None
    except BaseException as exc:
        _fail(exc, workdir, client_out, created)
        raise
    files = sorted(path for path in destination.rglob("*") if path.is_file())
    return RenderResult(
        folder=destination, files=files, renderer=chosen.name, steps=steps, peak_mib=peaks
    )


def check_compare_to(compare_to: str | None, client_out: Path, as_of: dt.date | None) -> str | None:
    """Check ``--compare-to`` before the run: a date needs an earlier report of that date.

    Returns ``"auto"``, ``None`` (no comparison) or the ISO date.

    Examples
    --------
    >>> check_compare_to("none", Path("output/demo"), None) is None
    True
    """
    if compare_to in (None, "none"):
        return None
    if compare_to == "auto":
        return "auto"
    from clvreport.comparison import list_reports

    wanted = parse_date(compare_to, "--compare-to")
    if as_of is not None and wanted >= as_of:
        raise ConfigError(
            f"--compare-to {wanted.isoformat()} is not before the report date {as_of.isoformat()}",
            hint="compare with an earlier report",
        )
    reports = list_reports(client_out)
    if wanted not in {day for day, _ in reports}:
        available = ", ".join(day.isoformat() for day, _ in reports) or "none"
        raise ConfigError(
            f"no report of {wanted.isoformat()} in {client_out}",
            hint=f"reports there: {available}; or leave out --compare-to",
        )
    return wanted.isoformat()


def _error_path(exc: OSError, workdir: Path, client_out: Path) -> Path:
    """The path to name for a write error: its file, unless that is in the (removed) work folder."""
    if not exc.filename:
        return client_out
    path = Path(exc.filename)
    if not path.is_absolute() or path.is_relative_to(workdir):
        return client_out
    return path


def _missing_parents(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists() or candidate.is_symlink():
            break
        missing.append(candidate)
    return missing


def _make_workdir(client_out: Path, created: list[Path]) -> Path:
    """Create ``<out>/<client>/.tmp-<pid>-<random>/`` (private, mode 0700).

    On failure the folders in ``created`` (made by this run) are removed again.
    """
    try:
        client_out.mkdir(parents=True, exist_ok=True)
        workdir = Path(
            tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", dir=client_out)
        ).resolve()
        (workdir / MARKER).write_text("made by clvreport\n", encoding="utf-8")
        return workdir
    except OSError as exc:
        _remove_empty(created)
        raise output_error(exc, client_out, "the report") from None


def _remove_empty(created: list[Path]) -> None:
    """Remove the folders this run created (deepest first) if they are still empty."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            return


def _pid_alive(pid: int) -> bool:
    import psutil

    return pid != os.getpid() and psutil.pid_exists(pid)


def _remove_stale_workdirs(client_out: Path, keep: Path) -> None:
    """Remove the temp folders of runs that were killed (their process is gone)."""
    for folder in client_out.glob(f"{_TMP_PREFIX}*"):
        if not folder.is_dir() or folder.resolve() == keep:
            continue
        if not (folder / MARKER).is_file():
            continue  # not ours: the user's own folder of that name stays
        match = _TMP_PID.match(folder.name)
        if match is not None:
            stale = not _pid_alive(int(match.group(1)))
        else:
            stale = time.time() - folder.stat().st_mtime > _STALE_SECONDS
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
    for folder in client_out.glob(".old-*"):  # left by a run killed while publishing
        if (
            folder.is_dir()
            and _OLD.match(folder.name)
            and (folder / "run.json").is_file()
            and time.time() - folder.stat().st_mtime > _STALE_SECONDS
        ):
            shutil.rmtree(folder, ignore_errors=True)


def _discard(workdir: Path, client_out: Path, created: list[Path]) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    _remove_empty(created)


def _fail(exc: BaseException, workdir: Path, client_out: Path, created: list[Path]) -> None:
    """Clean up after a failed run; keep its work folder when it holds the executed notebook.

    Paths into the work folder in the error's message (the Typst source, say)
    are rewritten to the kept folder, so they never point at a deleted file.
    """
    kept = _keep_failed_run(workdir, client_out)
    shutil.rmtree(workdir, ignore_errors=True)
    _remove_empty(created)
    if not isinstance(exc, ClvReportError):
        return
    if kept is not None:
        for old in {str(workdir), str(workdir.resolve())}:
            exc.message = exc.message.replace(old, str(kept))
            if exc.hint:
                exc.hint = exc.hint.replace(old, str(kept))
        if isinstance(exc, RenderError) and exc.hint is None:
            notebook = kept / f"{REPORT_NAME}.ipynb"
            exc.hint = f"the executed notebook with the full traceback is kept at {notebook}"
    elif exc.hint and str(workdir) in exc.hint:
        exc.hint = None  # it named a file that no longer exists
    exc.args = (str(exc),)


def _read_run_info(workdir: Path) -> dict:
    path = workdir / RUN_INFO
    if not path.is_file():
        raise RenderError(
            "execute notebook",
            f"the notebook did not write {RUN_INFO}; its last cell must call report.finish(ctx)",
        )
    return json.loads(path.read_text(encoding="utf-8"))


def source_commit(package_dir: Path | None = None) -> str | None:
    """The git commit (``git rev-parse HEAD``) of the checkout clvreport runs from, else None.

    Only a checkout that *is* the project counts: the package must be its
    top-level ``clvreport/`` folder beside ``pyproject.toml``. An installed wheel
    (site-packages, even inside some other git repository) gives None, as does a
    machine without git.

    Examples
    --------
    >>> source_commit(Path("/nonexistent/clvreport")) is None
    True
    """
    package_dir = Path(package_dir or Path(__file__).resolve().parents[1])
    if not package_dir.is_dir():
        return None

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(package_dir), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top:
        return None
    top_dir = Path(top).resolve()
    if package_dir.resolve() != top_dir / "clvreport" or not (top_dir / "pyproject.toml").is_file():
        return None
    commit = git("rev-parse", "HEAD")
    return commit if commit and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def _record_provenance(workdir: Path, run: dict) -> None:
    """Add the clvreport version and git commit that produced the report to ``run.json``.

    The audit trail: which code made these numbers (``git_commit`` is None when
    clvreport runs from an installed package rather than a git checkout).
    """
    from clvreport import __version__

    run["version"] = __version__
    run["git_commit"] = source_commit()
    (workdir / RUN_INFO).write_text(json.dumps(run, indent=2), encoding="utf-8")


def _keep_failed_run(workdir: Path, client_out: Path) -> Path | None:
    """Move a failed run's work folder to ``<client_out>/.failed/<timestamp>/`` (mode 0700).

    Only a run whose notebook was executed is kept (the notebook holds the
    traceback; it and the data files hold customer ids, hence the private
    mode). The oldest kept runs beyond :data:`KEEP_FAILED` are removed.
    """
    if not (workdir / f"{REPORT_NAME}.ipynb").is_file():
        return None
    failed = client_out / FAILED_DIR
    try:
        failed.mkdir(mode=0o700, exist_ok=True)
        failed.chmod(0o700)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = failed / stamp
        n = 1
        while target.exists():
            n += 1
            target = failed / f"{stamp}-{n}"
        workdir.rename(target)  # same file system: no space needed, even on a full disk
        target.chmod(0o700)
    except OSError:
        return None
    for old in sorted(p for p in failed.iterdir() if p.is_dir())[:-KEEP_FAILED]:
        shutil.rmtree(old, ignore_errors=True)
    return target.resolve()
