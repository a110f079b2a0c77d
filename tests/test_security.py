"""A hostile client folder cannot make the tool read outside it, hang it or drive the terminal.

Every case runs where the user meets it (``clvreport validate`` / ``report``):
one message, no traceback, nothing published, nothing read outside the client
folder.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from cli_checks import FIXTURES, copy_branded, invoke
from cli_checks import clean as check
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clvreport.render as render
from clvreport.errors import ClvReportError
from clvreport.validate import validate_client

NOTEBOOK = FIXTURES / "notebooks" / "pipeline.ipynb"


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return copy_branded(tmp_path)


def clean(result, code: int, *texts: str) -> str:
    return check(result, code, *texts, plain=True)


def validate(data_dir: Path):
    return invoke("validate", "--client", "acme", "--data-dir", data_dir)


def report(data_dir: Path, out: Path, monkeypatch):
    monkeypatch.setattr(render, "REPORT_NOTEBOOK", NOTEBOOK)
    return invoke(
        "report", "--client", "acme", "--data-dir", data_dir, "--out", out, "--as-of", "2024-06-30"
    )


def secret(tmp_path: Path) -> Path:
    """A file of the analyst's outside the client folder."""
    path = tmp_path / "secret" / "token.txt"
    path.parent.mkdir()
    path.write_text("TOKEN=s3cr3t\n")
    return path


# -- files outside the client folder ---------------------------------------------------


def test_a_logo_linked_outside_is_refused(data_dir, tmp_path, monkeypatch):
    logo = data_dir / "acme" / "logo.svg"
    logo.unlink()
    logo.symlink_to(secret(tmp_path))
    out = clean(validate(data_dir), 2, "outside the folder", "logo")
    assert "s3cr3t" not in out
    clean(report(data_dir, tmp_path / "out", monkeypatch), 2, "outside the folder")
    assert not (tmp_path / "out" / "acme").exists() or not any(
        p for p in (tmp_path / "out" / "acme").iterdir() if not p.name.startswith(".")
    )


def test_a_logo_path_climbing_out_is_refused(data_dir, tmp_path):
    brand = data_dir / "acme" / "_brand.yml"
    target = secret(tmp_path).with_name("logo.png")
    target.write_bytes(b"\x89PNG\r\n\x1a\n")
    relative = os.path.relpath(target, brand.parent)
    brand.write_text(brand.read_text().replace("path: logo.svg", f"path: {relative}"))
    clean(validate(data_dir), 2, "outside the folder")


def test_a_brand_file_outside_is_refused_without_printing_it(data_dir, tmp_path):
    shadow = secret(tmp_path)
    path = data_dir / "acme" / "client.yml"
    text = path.read_text().replace("brand: _brand.yml", "")
    path.write_text(text + f"\nbrand: {shadow}\n")
    out = clean(validate(data_dir), 2, "must be a path inside the client folder")
    assert "s3cr3t" not in out
    link = data_dir / "acme" / "other_brand.yml"
    link.symlink_to(shadow)
    path.write_text(text + "\nbrand: other_brand.yml\n")
    out = clean(validate(data_dir), 2, "outside the folder")
    assert "s3cr3t" not in out


def test_a_transaction_file_linked_outside_is_refused(data_dir, tmp_path):
    source = data_dir / "acme" / "transactions.csv"
    outside = tmp_path / "elsewhere.csv"
    shutil.move(source, outside)
    source.symlink_to(outside)
    clean(validate(data_dir), 2, "outside the folder", "transaction file")


def test_a_svg_logo_fetching_from_the_web_is_refused(data_dir):
    logo = data_dir / "acme" / "logo.svg"
    logo.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>'
    )
    clean(validate(data_dir), 2, "refers to files or addresses outside itself")


FONT = Path(__file__).parents[1] / "clvreport" / "templates" / "fonts" / "open-sans"


def with_font(brand_text: str, path: str) -> str:
    """``_brand.yml`` text whose typography lists one font file at ``path``."""
    fonts = (
        "typography:\n"
        "  fonts:\n"
        "    - family: Fake\n"
        "      source: file\n"
        "      files:\n"
        f"        - path: {path}\n"
    )
    return brand_text.replace("typography:\n", fonts, 1)


def test_a_font_that_is_not_a_font_is_refused(data_dir):
    font = data_dir / "acme" / "fonts" / "Fake-Regular.ttf"
    font.parent.mkdir()
    font.write_text("root:x:0:0:root:/root:/bin/bash\n")
    brand = data_dir / "acme" / "_brand.yml"
    brand.write_text(with_font(brand.read_text(), "fonts/Fake-Regular.ttf"))
    out = clean(validate(data_dir), 2, "Fake-Regular.ttf")
    assert "root:x" not in out


# Every path a client folder names, with the file it names in the fixture, and how to
# write another path into it.
PATH_KEYS = {
    "brand": (
        "client.yml",
        "_brand.yml",
        lambda text, p: text.replace("brand: _brand.yml", f"brand: {p}"),
    ),
    "source": (
        "client.yml",
        "transactions.csv",
        lambda text, p: text.replace("sources: transactions.csv", f"sources: {p}"),
    ),
    "logo": (
        "_brand.yml",
        "logo.svg",
        lambda text, p: text.replace("path: logo.svg", f"path: {p}"),
    ),
    "font": ("_brand.yml", "OpenSans-Regular.ttf", with_font),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(sorted(PATH_KEYS)),
    st.lists(st.sampled_from(["..", "sub", "."]), max_size=4),
    st.booleans(),
)
def test_any_path_resolving_outside_is_refused(data_dir, key, parts, link):
    """Property: a path in client.yml or _brand.yml (brand, transaction file, logo, font)
    that lands outside the client folder, directly or through a link on the way, is
    refused by validate and report alike, and what it points at is never shown."""
    client = data_dir / "acme"
    shutil.copyfile(FONT / "OpenSans-Regular.ttf", client / "OpenSans-Regular.ttf")
    (client / "sub").mkdir(exist_ok=True)
    if link:  # a link named 'sub' pointing out of the folder, at a copy of the client
        shutil.rmtree(client / "sub")
        outside_copy = data_dir / "elsewhere"
        if not outside_copy.exists():
            shutil.copytree(client, outside_copy, symlinks=True)
        (client / "sub").symlink_to(outside_copy, target_is_directory=True)
    config_name, target_name, write = PATH_KEYS[key]
    config = client / config_name
    original = config.read_text()
    relative = Path(*parts, target_name).as_posix()
    try:
        config.write_text(write(original, relative))
        outside = not (client / relative).resolve().is_relative_to(client.resolve())
        try:
            validate_client("acme", data_dir=data_dir)
            refused = False
        except ClvReportError as exc:
            refused = True
            assert "Traceback" not in str(exc)
        if outside:
            assert refused, (key, relative)
            result = invoke(
                "report",
                "--client",
                "acme",
                "--data-dir",
                data_dir,
                "--out",
                data_dir.parent / "out",
                "--as-of",
                "2024-06-30",
            )
            assert result.exit_code == 2, (key, relative, result.output)
            assert not (data_dir.parent / "out" / "acme").exists()
    finally:
        config.write_text(original)
        sub = client / "sub"
        if sub.is_symlink():
            sub.unlink()


# -- hostile YAML, escapes, archives ---------------------------------------------------


BOMB = """name: acme
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_a_yaml_alias_bomb_is_refused_at_once(data_dir):
    (data_dir / "acme" / "client.yml").write_text(BOMB)
    # refused by name (aliases are not expanded: expanding this one would take hours)
    clean(validate(data_dir), 2, "YAML aliases")
    # listing clients is not blocked by one bad folder either
    out = clean(invoke("clients", "--data-dir", data_dir), 0, "acme")
    assert len(out) < 5000


def test_a_key_written_twice_is_refused(data_dir):
    path = data_dir / "acme" / "client.yml"
    path.write_text(path.read_text() + "\nhorizon_months: 24\nhorizon_months: 6\n")
    clean(validate(data_dir), 2, "the key 'horizon_months' appears twice")


def test_escape_codes_in_the_client_name_never_reach_the_terminal(data_dir):
    path = data_dir / "acme" / "client.yml"
    text = path.read_text()
    name_line = next(line for line in text.splitlines() if line.startswith("name:"))
    path.write_text(text.replace(name_line, 'name: "Acme\\e[2J\\e[31m B.V."'))
    result = invoke("clients", "--data-dir", data_dir)
    clean(result, 0, "Acme")


def test_an_excel_zip_bomb_is_refused(data_dir):
    client = data_dir / "acme"
    bomb = client / "orders.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", " " * 400_000_000)
    path = client / "client.yml"
    text = path.read_text().replace("transactions.csv", "orders.xlsx")
    path.write_text(text.replace("format: csv", "format: excel"))
    clean(validate(data_dir), 2, "unpacks to", "orders.xlsx")


# -- earlier reports that are damaged or do not fit -------------------------------------


def test_a_tampered_earlier_report_is_left_out_with_a_note(demo_reports, tmp_path):
    import json

    from pypdf import PdfReader

    from clvreport.render import render_report

    _, first, _ = demo_reports
    out = tmp_path / "out"
    earlier = out / "demo" / "2024-06-30"
    shutil.copytree(first.folder, earlier)
    model = json.loads((earlier / "model.json").read_text())
    model["key_figures"] = ["not", "a", "mapping"]
    model["transaction_model"]["params"] = {"r": "veel"}
    (earlier / "model.json").write_text(json.dumps(model))
    result = render_report(
        "demo",
        data_dir=Path(__file__).parents[1] / "data",
        out_dir=out,
        as_of="2024-12-31",
        language="en",
        formats="pdf",
        renderer="builtin",
    )
    text = " ".join(p.extract_text() for p in PdfReader(result.folder / "clv_report.pdf").pages)
    assert "There is an earlier report of 30 June 2024" in " ".join(text.split())
    assert not (result.folder / "comparison.json").exists()
    assert (earlier / "model.json").exists()  # the earlier report is left as it was


def test_an_earlier_report_in_another_currency_or_of_another_date_does_not_fit():
    import datetime as dt
    from types import SimpleNamespace

    from clvreport.comparison import StoredReport
    from clvreport.report.context import _mismatch

    config = SimpleNamespace(currency="EUR", business="transactions")

    def stored(**model):
        return StoredReport(Path("x/2024-06-30"), dt.date(2024, 6, 30), None, model)

    assert _mismatch(stored(currency="EUR", as_of="2024-06-30"), config) is None
    assert "USD" in _mismatch(stored(currency="USD"), config)
    assert "its date" in _mismatch(stored(as_of="2023-01-01"), config)
    assert "discrete" in _mismatch(stored(business="discrete"), config)


def test_config_values_that_are_mistakes_are_refused(data_dir):
    path = data_dir / "acme" / "client.yml"
    text = path.read_text()
    for extra, message in (
        ("currency: XYZ", "not an ISO 4217 currency"),
        ("gross_margin: .nan", "finite number"),
        ("costs: {phone: .inf}", "finite number"),
    ):
        key = extra.split(":")[0]
        kept = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key}:"))
        path.write_text(kept + f"\n{extra}\n")
        clean(validate(data_dir), 2, message)
    path.write_text(text)
