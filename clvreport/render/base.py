"""What every renderer shares: report metadata and the renderer registry.

A renderer turns an executed report notebook (``<workdir>/clv_report.ipynb``,
with its figures in ``<workdir>/figures/``) into ``<workdir>/clv_report.pdf``
and/or ``<workdir>/clv_report.html``. Renderers register themselves by name
(papermill's registry pattern); ``auto`` picks Quarto when it is installed and
the built-in pandoc → Typst path otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from clvreport.errors import ConfigError

__all__ = ["REPORT_NAME", "Renderer", "ReportMeta", "renderers"]

REPORT_NAME = "clv_report"
FORMATS = ("pdf", "html")


@dataclass(frozen=True)
class ReportMeta:
    """Document metadata a renderer puts on the title page, header and footer.

    Parameters
    ----------
    title
        Report title, in the report language.
    subtitle
        Line under the title (e.g. the analysed period).
    client_name
        The client's display name.
    period
        Human-readable analysed period, e.g. ``"1 januari 2022 – 31 december 2024"``.
    date
        Human-readable report (as-of) date.
    language
        ``"nl"`` or ``"en"``.
    confidential
        The confidentiality marking, in the report language.
    toc_title
        Heading of the table of contents, in the report language.
    brand_file
        The client's ``_brand.yml`` (``None``: the default brand).
    client_dir
        The client folder; relative paths in the brand file resolve against it.
    """

    title: str
    subtitle: str
    client_name: str
    period: str
    date: str
    language: str
    confidential: str
    toc_title: str
    brand_file: Path | None = None
    client_dir: Path | None = None


class Renderer(Protocol):
    """A way to turn the executed notebook into PDF and HTML."""

    name: str

    def available(self) -> bool:
        """Whether this renderer can run on this machine."""
        ...

    def render(self, workdir: Path, meta: ReportMeta, formats: Sequence[str]) -> list[Path]:
        """Render ``workdir/clv_report.ipynb`` into ``workdir/clv_report.<format>``.

        Intermediate files go in ``workdir/_build/`` (removed by the caller).
        Returns the written files; raises :class:`~clvreport.errors.RenderError`.
        """
        ...


class RendererRegistry:
    """Holds the renderers by name; ``auto`` picks the first available by preference."""

    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}
        self._preference: list[str] = []

    def register(self, renderer: Renderer, *, preference: int | None = None) -> None:
        """Add ``renderer`` under its name; lower ``preference`` is tried first by ``auto``."""
        self._renderers[renderer.name] = renderer
        if renderer.name not in self._preference:
            if preference is None:
                self._preference.append(renderer.name)
            else:
                self._preference.insert(preference, renderer.name)

    def names(self) -> list[str]:
        """Registered renderer names, most preferred first."""
        return list(self._preference)

    def get(self, name: str = "auto") -> Renderer:
        """Return the renderer called ``name``, or the best available one for ``auto``."""
        if name == "auto":
            for candidate in self._preference:
                if self._renderers[candidate].available():
                    return self._renderers[candidate]
            raise ConfigError("no renderer is available", hint="run `make install`")
        if name not in self._renderers:
            raise ConfigError(
                f"unknown renderer '{name}'",
                hint=f"use one of: auto, {', '.join(self._preference)}",
            )
        renderer = self._renderers[name]
        if not renderer.available():
            raise ConfigError(
                f"renderer '{name}' is not available on this machine",
                hint="install it (quarto: pip install 'clvreport[quarto]') or use --renderer auto",
            )
        return renderer


renderers = RendererRegistry()
