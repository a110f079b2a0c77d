"""Render a client's report: execute the notebook, render PDF/HTML, publish atomically.

The pipeline works in a temporary folder beside the destination. Only when
every step succeeded does that folder become ``<out>/<client>/<as-of>/`` (one
rename), so a failed run never leaves a half-written report behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from clvreport.config import load_client
from clvreport.errors import ConfigError, RenderError
from clvreport.monitor import PeakMemory
from clvreport.render import builtin as _builtin  # noqa: F401  (registers "builtin")
from clvreport.render import quarto as _quarto  # noqa: F401  (registers "quarto")
from clvreport.render.base import FORMATS, REPORT_NAME, ReportMeta, renderers
from clvreport.render.execute import execute_notebook

__all__ = ["REPORT_NOTEBOOK", "RenderResult", "parse_formats", "render_report", "renderers"]

REPORT_NOTEBOOK = Path(__file__).resolve().parents[2] / "reports" / f"{REPORT_NAME}.ipynb"
RUN_INFO = "run.json"

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


def _publish(workdir: Path, destination: Path) -> None:
    """Move ``workdir`` to ``destination`` in one rename, replacing an older report."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    # mkdtemp creates the folder private (0700); a published report is as readable
    # as any other file the user creates.
    umask = os.umask(0)
    os.umask(umask)
    workdir.chmod(0o777 & ~umask)
    old = None
    if destination.exists():
        old = destination.with_name(f".old-{destination.name}-{time.time_ns()}")
        destination.rename(old)
    workdir.rename(destination)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
        client_dir, config = load_client(client, data_dir)
        chosen = renderers.get(renderer)
    language = language or config.language
    if language not in ("nl", "en"):
        raise ConfigError(f"unknown language '{language}'", hint="use --lang nl or --lang en")
    notebook = Path(notebook) if notebook is not None else REPORT_NOTEBOOK
    client_out = Path(out_dir) / client
    client_out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".tmp-", dir=client_out)).resolve()
    try:
        with _step("execute notebook", steps, on_step, peaks):
            execute_notebook(
                notebook,
                workdir / f"{REPORT_NAME}.ipynb",
                parameters={
                    "client": client,
                    "data_dir": str(Path(data_dir).resolve()),
                    "as_of": as_of,
                    "language": language,
                    "output_dir": str(workdir),
                },
                cwd=workdir,
            )
        run = _read_run_info(workdir)
        meta = ReportMeta(
            **run["meta"], brand_file=client_dir / config.brand, client_dir=client_dir
        )
        with _step(f"render {'+'.join(chosen_formats)} ({chosen.name})", steps, on_step, peaks):
            chosen.render(workdir, meta, chosen_formats)
        shutil.rmtree(workdir / "_build", ignore_errors=True)
        destination = client_out / report_folder_name(run["as_of"], language, config.language)
        with _step("publish", steps, on_step, peaks):
            _publish(workdir, destination)
    except BaseException as exc:
        kept = _keep_failed_notebook(workdir, client)
        shutil.rmtree(workdir, ignore_errors=True)
        if kept is not None and isinstance(exc, RenderError) and exc.hint is None:
            exc.hint = f"the executed notebook with the full traceback is kept at {kept}"
        raise
    files = sorted(path for path in destination.rglob("*") if path.is_file())
    return RenderResult(
        folder=destination, files=files, renderer=chosen.name, steps=steps, peak_mib=peaks
    )


def _read_run_info(workdir: Path) -> dict:
    path = workdir / RUN_INFO
    if not path.is_file():
        raise RenderError(
            "execute notebook",
            f"the notebook did not write {RUN_INFO}; its last cell must call report.finish(ctx)",
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _keep_failed_notebook(workdir: Path, client: str) -> Path | None:
    """Keep the executed notebook of a failed run for debugging, outside the output tree."""
    executed = workdir / f"{REPORT_NAME}.ipynb"
    if not executed.is_file():
        return None
    target = Path(tempfile.gettempdir()) / f"clvreport-failed-{client}.ipynb"
    shutil.copyfile(executed, target)
    return target
