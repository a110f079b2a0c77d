"""The documentation: generated files up to date, every public object and config key covered."""

import inspect
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel

from clvreport.config import ClientConfig
from clvreport.docs import config_reference_markdown, public_objects, quarto_config

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_committed_quarto_config_is_the_generated_one():
    committed = yaml.safe_load((DOCS / "_quarto.yml").read_text(encoding="utf-8"))
    assert committed == quarto_config(), "run: python -m clvreport.docs docs"


def test_every_public_object_is_in_the_api_reference():
    listed = {
        entry
        for section in quarto_config()["quartodoc"]["sections"]
        for entry in section["contents"]
    }
    for module, names in public_objects().items():
        for name in names:
            assert f"{module.removeprefix('clvreport.')}.{name}" in listed


def test_every_public_function_and_class_has_a_docstring():
    import importlib

    undocumented = []
    for module, names in public_objects().items():
        mod = importlib.import_module(module)
        for name in names:
            obj = getattr(mod, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not inspect.getdoc(obj):
                undocumented.append(f"{module}.{name}")
    assert undocumented == []


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys += _keys(candidate, f"{prefix}{name}.")
    return keys


def test_config_reference_lists_every_key_with_its_default():
    text = config_reference_markdown()
    for key in _keys(ClientConfig):
        assert f"| `{key}` |" in text, key
    assert "| `holdout_months` | int | `6` |" in text
    committed = (DOCS / "guide" / "configuration.qmd").read_text(encoding="utf-8")
    assert config_reference_markdown() in committed, "run: python -m clvreport.docs docs"


def test_every_public_function_has_an_example():
    import importlib

    without = [
        f"{module}.{name}"
        for module, names in public_objects().items()
        for name in names
        if inspect.isfunction(obj := getattr(importlib.import_module(module), name))
        and "Examples" not in (inspect.getdoc(obj) or "")
    ]
    assert without == []
