"""The report notebooks are committed clean, are valid Quarto documents and hold no logic."""

import ast
import re
from pathlib import Path

import nbformat
import pytest

import clvreport.report as report_module

NOTEBOOKS = sorted((Path(__file__).parents[1] / "clvreport" / "reports").glob("*.ipynb"))


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def notebook(request):
    return nbformat.read(request.param, as_version=4)


def test_there_is_a_report_notebook():
    assert [p.name for p in NOTEBOOKS] == ["clv_report.ipynb"]


def test_committed_without_outputs(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], cell.source
            assert cell.execution_count is None, cell.source


def test_has_papermill_parameters_cell(notebook):
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = {node.targets[0].id for node in ast.parse(tagged[0].source).body}
    assert names == {
        "client",
        "data_dir",
        "as_of",
        "language",
        "output_dir",
        "reports_dir",
        "compare_to",
    }


def test_quarto_front_matter_and_cell_options(notebook):
    first = notebook.cells[0]
    assert first.cell_type == "raw" and first.source.startswith("---")
    assert "echo: false" in first.source
    for cell in notebook.cells[1:]:
        assert cell.cell_type == "code"
        options = [line for line in cell.source.splitlines() if line.startswith("#|")]
        assert options, f"cell without #| options: {cell.source[:40]}"
        for line in options:
            assert re.fullmatch(r"#\| [a-z-]+: .+", line), line


def test_cells_hold_no_logic(notebook):
    """Every statement is an import, a parameter, or a call of clvreport.report."""
    for cell in notebook.cells[1:]:
        if "parameters" in cell.metadata.get("tags", []):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.ImportFrom):
                assert node.module == "clvreport"
                continue
            value = node.value if isinstance(node, ast.Assign | ast.Expr) else None
            assert isinstance(value, ast.Call), ast.unparse(node)
            func = value.func
            assert isinstance(func, ast.Attribute) and func.value.id == "report", ast.unparse(node)
            assert callable(getattr(report_module, func.attr)), func.attr


def test_no_hard_coded_text(notebook):
    """Report text comes from the message catalogs: no markdown cells, no string literals."""
    assert not [c for c in notebook.cells if c.cell_type == "markdown"]
    for cell in notebook.cells[2:]:
        strings = [
            n.value
            for n in ast.walk(ast.parse(cell.source))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        assert strings == [], strings
