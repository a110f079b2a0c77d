"""Packaging: a wheel holds what the renderer needs; one version; run.json's audit trail.

The end-to-end test builds the wheel, installs it into a temporary folder outside the
checkout and renders the demo client from there, with an interpreter that cannot
see the checkout (the base Python of the virtualenv; the dependencies come from the
virtualenv's site-packages on ``PYTHONPATH``, after the installed wheel).
"""

import importlib.metadata
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvreport
from clvreport.brand import DEFAULT_BRAND, FONTS_DIR, TEMPLATES_DIR
from clvreport.cli import app
from clvreport.render import REPORT_NOTEBOOK, render_report, source_commit
from clvreport.render.base import renderers

ROOT = Path(__file__).resolve().parents[1]
PIPELINE_NOTEBOOK = ROOT / "tests" / "fixtures" / "notebooks" / "pipeline.ipynb"


# -- one version ------------------------------------------------------------------------


def test_version_is_written_once_and_read_by_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "clvreport.__version__"}
    assert clvreport.__version__.count(".") >= 2


def test_cli_prints_the_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"clvreport {clvreport.__version__}"


# -- what the renderer needs lives in the package ---------------------------------------


def test_templates_and_notebook_live_inside_the_package():
    package = Path(clvreport.__file__).resolve().parent
    assert TEMPLATES_DIR == package / "templates"
    assert REPORT_NOTEBOOK == package / "reports" / "clv_report.ipynb"
    assert DEFAULT_BRAND.is_file() and REPORT_NOTEBOOK.is_file()
    assert list(FONTS_DIR.rglob("*.otf")) and list(FONTS_DIR.rglob("*.ttf"))


def test_top_level_folders_link_to_the_package_folders():
    """One copy: the checkout's templates/ and reports/ are links into the package."""
    for name in ("templates", "reports"):
        link = ROOT / name
        if not link.exists():  # e.g. a source tree without the links
            continue
        assert link.is_symlink(), f"{name}/ must link to clvreport/{name}/, not be a copy"
        assert link.resolve() == (ROOT / "clvreport" / name).resolve()


# -- run.json's audit trail -------------------------------------------------------------


class _FakeRenderer:
    name = "fake-packaging"

    def available(self) -> bool:
        return True

    def render(self, workdir, meta, formats):
        written = []
        for fmt in formats:
            path = workdir / f"clv_report.{fmt}"
            path.write_text("fake")
            written.append(path)
        return written


renderers.register(_FakeRenderer())


def _git_head() -> str | None:
    if shutil.which("git") is None:
        return None
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def test_run_json_records_version_and_git_commit(tmp_path):
    client = tmp_path / "data" / "acme"
    client.mkdir(parents=True)
    (client / "client.yml").write_text(
        "name: Acme\nlanguage: en\ndata:\n  sources: t.csv\n"
        "  columns: {customer_id: c, date: d, amount: a}\n"
    )
    (client / "t.csv").write_text("c,d,a\nC1,2024-01-02,10\n")
    result = render_report(
        "acme",
        data_dir=tmp_path / "data",
        out_dir=tmp_path / "out",
        notebook=PIPELINE_NOTEBOOK,
        renderer="fake-packaging",
        formats="pdf",
    )
    run = json.loads((result.folder / "run.json").read_text(encoding="utf-8"))
    assert run["version"] == clvreport.__version__
    assert run["git_commit"] == _git_head()  # None when not run from a git checkout


def test_source_commit_only_for_the_project_checkout(tmp_path):
    head = _git_head()
    if head is None:
        pytest.skip("not a git checkout (or no git)")
    assert source_commit() == head
    assert source_commit(ROOT / "clvreport") == head
    # a clvreport/ folder inside some other repository (site-packages in a checkout) is not it
    other = tmp_path / "repo"
    (other / "lib" / "clvreport").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    assert source_commit(other / "lib" / "clvreport") is None
    assert source_commit(tmp_path / "missing") is None


# -- the wheel, installed outside the checkout, renders the demo report -----------------


def _has_build_tools() -> bool:
    """Setuptools and wheel (the dev extra) are here, so the wheel builds offline."""
    try:
        setuptools = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major = int(setuptools.split(".")[0])
    return major >= 77 and importlib.util.find_spec("wheel") is not None


def _build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the sources (the checkout stays untouched)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "clvreport", source / "clvreport", ignore=shutil.ignore_patterns("__pycache__")
    )
    offline = _has_build_tools()
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w"]
    command += [str(tmp_path / "dist"), str(source)]
    if offline:  # setuptools and wheel from the dev extra; else pip fetches them
        command.insert(4, "--no-build-isolation")
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("clvreport-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout_renders_the_demo(tmp_path):
    wheel = _build_wheel(tmp_path)
    assert wheel.name.startswith(f"clvreport-{clvreport.__version__}-")

    with zipfile.ZipFile(wheel) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    for needed in (
        "clvreport/reports/clv_report.ipynb",
        "clvreport/templates/_brand.yml",
        "clvreport/templates/logo.svg",
        "clvreport/templates/typst/template.typ",
        "clvreport/templates/typst/typst-template.typ",
        "clvreport/templates/html/template.html",
        "clvreport/templates/html/report.css",
        "clvreport/templates/filters/clv.lua",
        "clvreport/templates/quarto/_extensions/clvreport/_extension.yml",
    ):
        assert needed in infos, needed
    fonts = [name for name in infos if name.startswith("clvreport/templates/fonts/")]
    assert any(name.endswith(".ttf") for name in fonts)
    assert any(name.endswith(".otf") for name in fonts)
    links = [n for n, i in infos.items() if stat.S_ISLNK(i.external_attr >> 16)]
    assert links == [], f"symlinks in the wheel: {links}"
    assert all(infos[name].file_size > 10_000 for name in fonts if name.endswith((".ttf", ".otf")))

    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-t", str(target), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data / "demo")
    work = tmp_path / "elsewhere"
    work.mkdir()
    # The virtualenv's base interpreter: no .pth files run, so the editable install of
    # the checkout is invisible; the installed wheel comes first on the path.
    base_python = getattr(sys, "_base_executable", sys.executable)
    deps = sysconfig.get_paths()["purelib"]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))
    }
    # nbconvert's templates are data files in the virtualenv's share/jupyter/ (a real
    # install has them in its own prefix); its kernel specs are left out, so the
    # kernel is ipykernel's own spec for this interpreter.
    jupyter = tmp_path / "jupyter"
    jupyter.mkdir()
    (jupyter / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    env.update(
        PYTHONPATH=os.pathsep.join([str(target), deps]),
        PYTHONSAFEPATH="1",  # the kernel too: no cwd on sys.path
        JUPYTER_PATH=str(jupyter),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),  # no user kernel spec
    )
    script = (
        "import sys, clvreport, clvreport.render as r, clvreport.brand as b\n"
        f"target = {str(target.resolve())!r}\n"
        "for path in (clvreport.__file__, r.REPORT_NOTEBOOK, b.TEMPLATES_DIR):\n"
        "    assert str(path).startswith(target), path\n"
        "from clvreport.cli import main\n"
        "sys.argv = ['clvreport', *sys.argv[1:]]\n"
        "main()\n"
    )
    out = tmp_path / "out"
    report_args = ["report", "--client", "demo", "--data-dir", str(data), "--out", str(out)]
    report_args += ["--format", "pdf", "--renderer", "builtin", "--lang", "en"]
    done = subprocess.run(
        [base_python, "-s", "-c", script, *report_args],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (pdf,) = out.glob("demo/*/clv_report.pdf")
    assert pdf.stat().st_size > 10_000
    assert pdf.read_bytes().startswith(b"%PDF")
    run = json.loads((pdf.parent / "run.json").read_text(encoding="utf-8"))
    assert run["version"] == clvreport.__version__
    assert run["git_commit"] is None  # an installed package, not a checkout

    version = subprocess.run(
        [base_python, "-s", "-c", script, "--version"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert version.stdout.strip() == f"clvreport {clvreport.__version__}"
