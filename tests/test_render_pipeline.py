"""The render pipeline: papermill execution, renderer choice, atomic publishing."""

import os
import shutil
from pathlib import Path

import pytest

import clvreport.render as render
from clvreport.errors import ClientNotFoundError, ConfigError, RenderError
from clvreport.render import parse_formats, render_report
from clvreport.render.base import RendererRegistry, renderers

FIXTURES = Path(__file__).parent / "fixtures"
NOTEBOOK = FIXTURES / "notebooks" / "pipeline.ipynb"


class FakeRenderer:
    """Writes placeholder documents, so the pipeline can be tested without Typst."""

    name = "fake"

    def available(self) -> bool:
        return True

    def render(self, workdir, meta, formats):
        (workdir / "_build").mkdir(exist_ok=True)
        written = []
        for fmt in formats:
            path = workdir / f"clv_report.{fmt}"
            path.write_text(f"{meta.client_name} {meta.language}")
            written.append(path)
        return written


class BrokenRenderer(FakeRenderer):
    name = "broken"

    def render(self, workdir, meta, formats):
        raise RenderError("typst", "unknown font family: Nope")


renderers.register(FakeRenderer())
renderers.register(BrokenRenderer())


@pytest.fixture
def data_dir(tmp_path):
    client = tmp_path / "data" / "acme"
    client.mkdir(parents=True)
    (client / "client.yml").write_text(
        "name: Acme\nlanguage: en\ndata:\n  sources: t.csv\n"
        "  columns: {customer_id: c, date: d, amount: a}\n"
    )
    (client / "t.csv").write_text("c,d,a\nC1,2024-01-02,10\n")  # checked before the notebook runs
    return tmp_path / "data"


def run(data_dir, tmp_path, **kwargs):
    kwargs.setdefault("renderer", "fake")
    return render_report(
        "acme", data_dir=data_dir, out_dir=tmp_path / "out", notebook=NOTEBOOK, **kwargs
    )


def test_success_publishes_one_folder_per_as_of(data_dir, tmp_path):
    steps = []
    result = run(data_dir, tmp_path, as_of="2024-06-30", on_step=lambda s, t, m: steps.append(s))
    assert result.folder == tmp_path / "out" / "acme" / "2024-06-30"
    names = sorted(p.name for p in result.folder.iterdir())
    assert names == [
        "clv_report.html",
        "clv_report.ipynb",
        "clv_report.pdf",
        "customers.csv",
        "run.json",
    ]
    assert (result.folder / "clv_report.pdf").read_text() == "acme en"  # language from client.yml
    assert steps[0] == "validate config" and steps[1] == "execute notebook"
    assert steps[-1] == "publish"
    assert not list((tmp_path / "out" / "acme").glob(".tmp-*"))


def test_language_and_formats_are_passed_through(data_dir, tmp_path):
    result = run(data_dir, tmp_path, language="nl", formats="pdf")
    assert (result.folder / "clv_report.pdf").read_text() == "acme nl"
    assert not (result.folder / "clv_report.html").exists()


def test_other_language_report_sits_beside_the_default_one(data_dir, tmp_path):
    default = run(data_dir, tmp_path, as_of="2024-06-30").folder
    other = run(data_dir, tmp_path, as_of="2024-06-30", language="nl").folder
    assert default.name == "2024-06-30" and other.name == "2024-06-30-nl"
    assert (default / "clv_report.pdf").read_text() == "acme en"
    assert (other / "clv_report.pdf").read_text() == "acme nl"


def test_published_folder_is_for_the_user_and_their_group(data_dir, tmp_path):
    # it holds customer ids, names and e-mails: never world-readable
    folder = run(data_dir, tmp_path).folder
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == render.FOLDER_MODE & ~umask
    for path in folder.rglob("*"):
        expected = render.FOLDER_MODE if path.is_dir() else render.FILE_MODE
        assert path.stat().st_mode & 0o777 == expected & ~umask, path
    assert not (folder / render.MARKER).exists()


def test_failing_cell_leaves_no_output_and_names_the_cell(data_dir, tmp_path, monkeypatch):
    previous = run(data_dir, tmp_path, as_of="2024-12-31").folder
    before = sorted(p.name for p in previous.iterdir())
    bad = tmp_path / "failing.ipynb"
    shutil.copy(NOTEBOOK, bad)
    text = bad.read_text().replace("fail = False", "fail = True")
    bad.write_text(text)
    with pytest.raises(RenderError) as info:
        render_report(
            "acme",
            data_dir=data_dir,
            out_dir=tmp_path / "out",
            notebook=bad,
            renderer="fake",
            as_of="2024-12-31",
        )
    message = str(info.value)
    assert "step 'execute notebook' failed" in message
    assert "ValueError: boom: the fixture was told to fail" in message
    assert "raise ValueError" in message  # the failing cell's source is shown
    assert "Traceback" not in message
    assert "kept at" in message
    # The earlier report for that date is untouched and no temp folder is left.
    assert sorted(p.name for p in previous.iterdir()) == before
    client_out = tmp_path / "out" / "acme"
    assert sorted(p.name for p in client_out.iterdir()) == [".failed", "2024-12-31"]
    # The executed notebook (customer ids) is kept privately inside the output folder.
    (kept,) = (client_out / ".failed").iterdir()
    assert str(kept / "clv_report.ipynb") in message
    assert (kept / "clv_report.ipynb").is_file()
    assert (client_out / ".failed").stat().st_mode & 0o777 == 0o700
    assert kept.stat().st_mode & 0o777 == 0o700


def test_failing_renderer_leaves_no_output(data_dir, tmp_path):
    with pytest.raises(RenderError, match="step 'typst' failed: unknown font family"):
        run(data_dir, tmp_path, renderer="broken")
    client_out = tmp_path / "out" / "acme"
    assert [p.name for p in client_out.iterdir()] == [".failed"]  # nothing published


def test_unknown_client_fails_before_any_work(data_dir, tmp_path):
    with pytest.raises(ClientNotFoundError, match="known clients: acme"):
        render_report("nope", data_dir=data_dir, out_dir=tmp_path / "out", notebook=NOTEBOOK)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("formats", ["docx", "", "pdf,odt"])
def test_unknown_format_is_refused(formats):
    with pytest.raises(ConfigError, match="unknown output format"):
        parse_formats(formats)


def test_registry_auto_prefers_first_available():
    class Off(FakeRenderer):
        name = "off"

        def available(self):
            return False

    registry = RendererRegistry()
    registry.register(Off())
    registry.register(FakeRenderer())
    assert registry.get("auto").name == "fake"
    with pytest.raises(ConfigError, match="not available"):
        registry.get("off")
    with pytest.raises(ConfigError, match=r"(?s)unknown renderer .typo.*auto, off, fake"):
        registry.get("typo")
