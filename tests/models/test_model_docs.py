"""The docstring examples of the models package run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import clvreport.models

MODULES = [
    f"clvreport.models.{info.name}" for info in pkgutil.iter_modules(clvreport.models.__path__)
]


@pytest.mark.parametrize("name", ["clvreport.models", *MODULES])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
