"""The documentation site's generated parts: API reference layout and config reference.

``python -m clvreport.docs docs`` writes ``docs/_quarto.yml`` (the Quarto
website with the quartodoc sections, one entry per public object) and
``docs/guide/configuration.qmd`` (every ``client.yml`` key, from the pydantic
model). ``python -m clvreport.docs docs --check`` then verifies that quartodoc
wrote a page for every public object. ``make docs`` runs both around
``quartodoc build``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = [
    "API_SECTIONS",
    "config_reference_markdown",
    "missing_pages",
    "public_objects",
    "quarto_config",
]

API_SECTIONS: dict[str, tuple[str, ...]] = {
    "Configuration and clients": ("clvreport.config", "clvreport.validate"),
    "Reading transactions": ("clvreport.ingest", "clvreport.engine"),
    "Summaries and metrics": (
        "clvreport.rfm",
        "clvreport.definitions",
        "clvreport.metrics",
        "clvreport.revenue_profile",
        "clvreport.concentration",
        "clvreport.cohorts",
        "clvreport.segments",
    ),
    "Models": (
        "clvreport.models",
        "clvreport.models.limits",
        "clvreport.models.season",
        "clvreport.models.bgbb",
        "clvreport.models.discrete",
        "clvreport.models.sbg",
        "clvreport.models.contract",
    ),
    "Analysis, recommendations and outputs": (
        "clvreport.analysis",
        "clvreport.recommendations",
        "clvreport.experiments",
        "clvreport.sensitivity",
        "clvreport.customer_groups",
        "clvreport.outputs",
        "clvreport.comparison",
        "clvreport.donors",
        "clvreport.subscribers",
        "clvreport.period_fit",
    ),
    "Plots": ("clvreport.plots",),
    "Report": ("clvreport.report",),
    "Rendering, brand and language": (
        "clvreport.render",
        "clvreport.brand",
        "clvreport.i18n",
        "clvreport.monitor",
        "clvreport.memory",
    ),
    "Spark": ("clvreport.spark",),
    "Errors": ("clvreport.errors",),
    "Documentation": ("clvreport.docs",),
}
"""Sections of the API reference and the modules whose ``__all__`` they document."""

_GUIDE = ["index.qmd", "guide/adding-a-client.qmd", "guide/configuration.qmd"]


def public_objects() -> dict[str, list[str]]:
    """The public API: for each documented module, the names in its ``__all__``.

    Modules whose optional dependency is missing (pyspark) are still listed.

    Returns
    -------
    dict
        Module name → sorted public names, in :data:`API_SECTIONS` order.

    Examples
    --------
    >>> "render_report" in public_objects()["clvreport.render"]
    True
    """
    objects: dict[str, list[str]] = {}
    for modules in API_SECTIONS.values():
        for name in modules:
            module = importlib.import_module(name)
            objects[name] = sorted(getattr(module, "__all__", []))
    return objects


def quarto_config() -> dict[str, Any]:
    """The Quarto website configuration with one quartodoc entry per public object.

    Returns
    -------
    dict
        The content of ``docs/_quarto.yml``.

    Examples
    --------
    >>> config = quarto_config()
    >>> config["quartodoc"]["package"]
    'clvreport'
    """
    objects = public_objects()
    sections = [
        {
            "title": title,
            "contents": [
                f"{module.removeprefix('clvreport.')}.{name}"
                for module in modules
                for name in objects[module]
            ],
        }
        for title, modules in API_SECTIONS.items()
    ]
    return {
        "project": {"type": "website", "output-dir": "_site"},
        "website": {
            "title": "clvreport",
            "sidebar": [
                {"title": "Guide", "contents": _GUIDE},
                {"title": "API reference", "contents": ["reference/index.qmd"]},
            ],
        },
        "format": {"html": {"theme": "cosmo", "toc": True}},
        "metadata-files": ["reference/_sidebar.yml"],
        "quartodoc": {
            "package": "clvreport",
            "dir": "reference",
            "parser": "numpy",
            "sidebar": "reference/_sidebar.yml",
            "title": "API reference",
            "sections": sections,
        },
    }


def _type_name(annotation: Any) -> str:
    """A short, readable type: ``str``, ``int | None``, ``'nl' | 'en'``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(v) for v in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation) if a is not Ellipsis)
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        return "–" if field.default is None else f"`{field.default!r}`"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "see below"
        return f"`{value!r}`"
    return "required"


def _models(model: type[BaseModel], prefix: str) -> list[tuple[str, type[BaseModel]]]:
    """``model`` and its nested models, each with its dotted key prefix."""
    found = [(prefix, model)]
    for name, field in model.model_fields.items():
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found += _models(candidate, f"{prefix}{name}.")
    return found


def config_reference_markdown() -> str:
    """Every ``client.yml`` key with its type, default and meaning, from the pydantic model.

    Returns
    -------
    str
        Markdown: one table per (nested) section of :class:`clvreport.config.ClientConfig`.

    Examples
    --------
    >>> text = config_reference_markdown()
    >>> "`data.csv.delimiter`" in text and "`holdout_months`" in text
    True
    """
    from clvreport.config import ClientConfig

    lines = [
        "Generated from `clvreport.config.ClientConfig` by `python -m clvreport.docs`.",
        "Unknown keys are refused, with the allowed ones listed.",
        "",
    ]
    for prefix, model in _models(ClientConfig, ""):
        title = prefix.rstrip(".") or "top level"
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        lines += [f"## `{title}`" if prefix else "## Top level", "", doc, ""]
        lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            description = (field.description or "").replace("|", "\\|").replace("\n", " ")
            lines.append(
                f"| `{prefix}{name}` | {_type_name(field.annotation)} | {_default(field)} | "
                f"{description} |"
            )
        lines.append("")
    return "\n".join(lines)


def missing_pages(docs_dir: Path | str) -> list[str]:
    """Public objects without a page in ``<docs_dir>/reference/`` (after ``quartodoc build``).

    Parameters
    ----------
    docs_dir
        The ``docs/`` folder.

    Returns
    -------
    list of str
        ``module.name`` of every public object without a ``.qmd`` page.

    Examples
    --------
    >>> missing_pages("docs")  # doctest: +SKIP
    []
    """
    reference = Path(docs_dir) / "reference"
    missing = []
    for module, names in public_objects().items():
        short = module.removeprefix("clvreport.")
        for name in names:
            if not (reference / f"{short}.{name}.qmd").exists():
                missing.append(f"{module}.{name}")
    return missing


def main(argv: list[str] | None = None) -> int:
    """Write the generated documentation files, or check the built reference.

    Parameters
    ----------
    argv
        Command-line arguments: the docs folder, and ``--check``.

    Returns
    -------
    int
        Exit code: 0, or 1 when ``--check`` finds objects without a page.
    """
    parser = argparse.ArgumentParser(prog="python -m clvreport.docs")
    parser.add_argument("docs_dir", type=Path)
    parser.add_argument("--check", action="store_true", help="check the built reference pages")
    args = parser.parse_args(argv)
    if args.check:
        missing = missing_pages(args.docs_dir)
        if missing:
            print("public objects without an API page:\n  " + "\n  ".join(missing))
            return 1
        total = sum(len(v) for v in public_objects().values())
        print(f"every public object has an API page ({total})")
        return 0
    (args.docs_dir / "guide").mkdir(parents=True, exist_ok=True)
    header = "# Generated by `python -m clvreport.docs docs`; do not edit by hand.\n"
    (args.docs_dir / "_quarto.yml").write_text(
        header + yaml.safe_dump(quarto_config(), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    (args.docs_dir / "guide" / "configuration.qmd").write_text(
        "---\ntitle: Configuration reference (client.yml)\n---\n\n" + config_reference_markdown(),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
