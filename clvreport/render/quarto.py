"""The Quarto renderer: ``quarto render`` of the executed notebook with our format.

Preferred when the ``quarto`` command is installed (system-wide, or in the
virtualenv through the ``quarto`` extra, ``pip install 'clvreport[quarto]'``).
It produces the same design as the built-in renderer from the same files: the
Quarto custom format ``templates/quarto/_extensions/clvreport/`` uses the Typst
partials of ``templates/typst/``, the Lua filter of ``templates/filters/`` and
the HTML template and CSS of ``templates/html/``.

The client's ``_brand.yml`` is resolved once by :func:`clvreport.brand.load_brand`
(with the default brand's fallbacks and validation) and handed to the templates
as document metadata, exactly as the built-in renderer does; Quarto's own brand
processing is switched off so both paths read the brand the same way.

Everything happens in ``<workdir>/_build/quarto/``: the notebook and its figures
are copied there with the extension and a ``_quarto.yml`` holding the metadata,
``quarto render`` runs once per format, and the documents are moved to
``<workdir>``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from clvreport.brand import TEMPLATES_DIR
from clvreport.errors import RenderError
from clvreport.render.base import REPORT_NAME, ReportMeta, renderers
from clvreport.render.builtin import (
    BUILD_DIR,
    HTML_CSS,
    HTML_TEMPLATE,
    LUA_FILTER,
    _literal,
    brand_css,
    brand_for,
    report_metadata,
)

__all__ = ["QuartoRenderer", "find_quarto"]

EXTENSION = TEMPLATES_DIR / "quarto" / "_extensions" / "clvreport"
TYPST_PARTIALS = [
    TEMPLATES_DIR / "typst" / name for name in ("typst-template.typ", "typst-show.typ")
]
QUARTO_FORMATS = {"pdf": "clvreport-typst", "html": "clvreport-html"}


def find_quarto() -> str | None:
    """The ``quarto`` executable: on ``PATH``, else beside the running Python (the extra)."""
    found = shutil.which("quarto")
    if found is not None:
        return found
    beside = Path(sys.executable).parent / ("quarto.exe" if os.name == "nt" else "quarto")
    return str(beside) if beside.is_file() else None


class QuartoRenderer:
    """``quarto render`` with the ``clvreport`` format; chosen by ``auto`` when Quarto exists."""

    name = "quarto"

    def available(self) -> bool:
        """Whether the ``quarto`` command can be found."""
        return find_quarto() is not None

    def stage(self, workdir: Path, meta: ReportMeta) -> Path:
        """Prepare ``<workdir>/_build/quarto/`` for ``quarto render``; returns that folder.

        Copies the executed notebook, its figures, the logo and the format
        extension (with the shared partials, filter, template and CSS) and
        writes ``_quarto.yml`` with the report metadata and the resolved brand.
        Needs no Quarto, so it is tested everywhere.
        """
        workdir = Path(workdir).resolve()
        stage = workdir / BUILD_DIR / "quarto"
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        shutil.copyfile(workdir / f"{REPORT_NAME}.ipynb", stage / f"{REPORT_NAME}.ipynb")
        if (workdir / "figures").is_dir():
            shutil.copytree(workdir / "figures", stage / "figures")
        extension = stage / "_extensions" / "clvreport"
        shutil.copytree(EXTENSION, extension)
        for shared in [*TYPST_PARTIALS, LUA_FILTER, HTML_TEMPLATE, HTML_CSS]:
            shutil.copyfile(shared, extension / shared.name)
        brand = brand_for(meta)
        (extension / "brand.css").write_text(brand_css(brand, extension / "fonts"), "utf-8")
        logos = {}
        for key, logo in (("logo", brand.logo), ("header-logo", brand.header_logo)):
            if logo is not None:
                target = stage / f"{key}{logo.suffix.lower()}"
                shutil.copyfile(logo, target)
                logos[key] = target.name
        metadata = report_metadata(
            meta, brand, logo=logos.get("logo"), header_logo=logos.get("header-logo")
        )
        if "logo" in logos:
            metadata["clv"]["logo-src"] = _literal(logos["logo"])
        project = {
            "project": {"type": "default"},
            "brand": False,
            **metadata,
            "format": {
                QUARTO_FORMATS["pdf"]: {"font-paths": [str(d) for d in brand.font_dirs]},
                QUARTO_FORMATS["html"]: {},
            },
        }
        (stage / "_quarto.yml").write_text(
            yaml.safe_dump(project, allow_unicode=True, sort_keys=False), "utf-8"
        )
        return stage

    def render(self, workdir: Path, meta: ReportMeta, formats: Sequence[str]) -> list[Path]:
        """Render ``workdir/clv_report.ipynb`` with Quarto into ``clv_report.pdf``/``.html``.

        Raises
        ------
        RenderError
            ``quarto`` missing, or ``quarto render`` failing (its message is shown).
        """
        quarto = find_quarto()
        if quarto is None:
            raise RenderError("quarto", "the quarto command was not found")
        workdir = Path(workdir).resolve()
        stage = self.stage(workdir, meta)
        written = []
        for fmt in formats:
            result = subprocess.run(
                [quarto, "render", f"{REPORT_NAME}.ipynb", "--to", QUARTO_FORMATS[fmt]],
                cwd=stage,
                capture_output=True,
                text=True,
                check=False,
            )
            produced = stage / f"{REPORT_NAME}.{fmt}"
            if result.returncode != 0 or not produced.is_file():
                lines = [line for line in result.stderr.splitlines() if line.strip()]
                raise RenderError(
                    f"quarto ({fmt})",
                    "\n".join(lines[-15:]) or f"quarto exited with {result.returncode}",
                    hint=f"the staged project is {stage}; try --renderer builtin",
                )
            target = workdir / produced.name
            shutil.move(produced, target)
            written.append(target)
        return written


renderers.register(QuartoRenderer(), preference=0)
