"""Brand files: fallback to the default brand, resolution and validation errors."""

import shutil
from pathlib import Path

import pytest

from clvreport.brand import (
    DEFAULT_BRAND,
    FONTS_DIR,
    TEMPLATES_DIR,
    load_brand,
    shipped_font_families,
)
from clvreport.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
BRANDED = ROOT / "tests" / "fixtures" / "clients" / "branded"


def write_brand(folder: Path, text: str, name: str = "_brand.yml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- resolution ----------------------------------------------------------------------


def test_default_brand_values():
    brand = load_brand(TEMPLATES_DIR)
    assert brand.colors == {
        "primary": "#1B3A5C",
        "secondary": "#5B7083",
        "accent": "#E08E2B",
        "background": "#FFFFFF",
        "foreground": "#1F2933",
    }
    assert (brand.base_font, brand.heading_font, brand.heading_weight) == ("Inter", "Inter", 600)
    assert brand.base_size_pt == 10.0
    assert brand.logo == TEMPLATES_DIR / "logo.svg"
    # Every face embedded comes from the shipped fonts, never from the system.
    assert {face.path.parent for face in brand.fonts} == {FONTS_DIR / "inter"}
    assert {(f.weight, f.style) for f in brand.fonts} >= {(400, "normal"), (700, "normal")}
    assert brand.system_fonts is False


def test_client_without_brand_file_gets_the_default_without_the_tools_wordmark(tmp_path):
    brand = load_brand(tmp_path)
    assert brand.source is None and brand.is_default
    assert brand.primary == "#1B3A5C"
    assert brand.logo is None and brand.header_logo is None  # a plain cover


def test_a_brand_without_a_logo_of_its_own_gets_a_plain_cover(tmp_path):
    write_brand(tmp_path, 'meta:\n  name: Acme\ncolor:\n  primary: "#0a5"\n')
    brand = load_brand(tmp_path)
    assert not brand.is_default and brand.primary == "#00AA55"
    assert brand.logo is None and brand.header_logo is None


def test_a_copy_of_the_tools_wordmark_is_not_the_clients_logo(tmp_path):
    # what an earlier `clvreport init` wrote: the default brand and its wordmark, copied
    shutil.copy(TEMPLATES_DIR / "logo.svg", tmp_path / "logo.svg")
    write_brand(
        tmp_path,
        "meta:\n  name: acme\nlogo:\n  images:\n    wordmark:\n      path: logo.svg\n"
        "  medium: wordmark\n",
    )
    assert load_brand(tmp_path).logo is None
    from clvreport.validate import brand_line

    assert brand_line(load_brand(tmp_path)) == (
        "acme: the default colours (#1B3A5C), Inter; no logo of its own (a plain cover)"
    )
    assert load_brand(ROOT / "data" / "demo").logo == ROOT / "data" / "demo" / "logo.svg"


def test_validate_names_the_default_brand_as_such(tmp_path):
    from clvreport.validate import brand_line

    assert brand_line(load_brand(tmp_path)) == (
        "default (no _brand.yml; add one for the client's colours and logo)"
    )
    assert brand_line(load_brand(BRANDED)).startswith("Koffiebranderij Noorderlicht: #")


def test_missing_keys_fall_back_to_the_default_brand():
    demo = load_brand(ROOT / "data" / "demo")  # sets only name and logo
    assert demo.name == "Webwinkel De Zonnebloem"
    assert demo.logo == ROOT / "data" / "demo" / "logo.svg"
    assert demo.colors == load_brand(TEMPLATES_DIR).colors
    assert demo.base_font == "Inter"


def test_cdnow_brand_overrides_colours_only():
    cdnow = load_brand(ROOT / "data" / "cdnow")
    assert (cdnow.primary, cdnow.secondary, cdnow.accent) == ("#3A2470", "#6D5C99", "#D9581A")
    assert cdnow.foreground == "#1F2933"  # from the default brand
    assert cdnow.base_font == "Inter"


def test_branded_fixture_is_visibly_different():
    branded = load_brand(BRANDED)
    default = load_brand(TEMPLATES_DIR)
    assert branded.name == "Koffiebranderij Noorderlicht"
    assert branded.colors == {
        "primary": "#00565B",
        "secondary": "#55745C",
        "accent": "#C8553D",
        "background": "#FFFDF8",
        "foreground": "#2B2118",
    }
    assert (branded.base_font, branded.heading_font) == ("Open Sans", "Roboto Slab")
    assert branded.heading_weight == 700
    assert branded.line_height == 1.55
    assert branded.logo == BRANDED / "logo.svg"
    assert set(branded.colors.values()).isdisjoint(default.colors.values())
    families = {face.family for face in branded.fonts}
    assert families == {"Open Sans", "Roboto Slab"}


def test_colour_forms(tmp_path):
    write_brand(
        tmp_path,
        'color:\n  palette:\n    brandblue: "#0a5"\n    main: brandblue\n'
        "  primary: main\n  secondary: SteelBlue\n  tertiary: amber\n",
    )
    brand = load_brand(tmp_path)
    assert brand.primary == "#00AA55"  # palette chain, 3-digit hex expanded
    assert brand.secondary == "#4682B4"  # CSS colour name
    assert brand.accent == "#E08E2B"  # a palette name of the default brand


def test_headings_inherit_the_clients_base_font(tmp_path):
    write_brand(tmp_path, "typography:\n  base: Open Sans\n")
    brand = load_brand(tmp_path)
    assert (brand.base_font, brand.heading_font) == ("Open Sans", "Open Sans")


def test_font_sizes_in_px_are_converted(tmp_path):
    write_brand(tmp_path, "typography:\n  base:\n    family: Inter\n    size: 14px\n")
    assert load_brand(tmp_path).base_size_pt == 10.5


def test_brand_font_files_next_to_the_brand_file_are_used(tmp_path):
    shutil.copy(FONTS_DIR / "roboto-slab" / "RobotoSlab-Bold.otf", tmp_path / "Slab.otf")
    write_brand(
        tmp_path,
        "typography:\n  fonts:\n    - family: Roboto Slab\n      source: file\n"
        "      files:\n        - path: Slab.otf\n          weight: 700\n"
        "  headings: Roboto Slab\n",
    )
    brand = load_brand(tmp_path)
    bold = [f for f in brand.faces("Roboto Slab") if (f.weight, f.style) == (700, "normal")]
    assert [face.path for face in bold] == [tmp_path / "Slab.otf"]  # the brand's own file wins
    assert tmp_path in brand.font_dirs


def installed_families() -> set[str]:
    import typst

    return set(typst.Fonts(include_system_fonts=True, include_embedded_fonts=False).families())


@pytest.mark.skipif(
    "DejaVu Sans" not in installed_families(), reason="DejaVu Sans is not installed here"
)
def test_installed_system_font_is_accepted_and_switches_system_fonts_on(tmp_path):
    write_brand(tmp_path, "typography:\n  base: DejaVu Sans\n")
    brand = load_brand(tmp_path)
    assert brand.system_fonts is True
    assert brand.faces("DejaVu Sans")[0].path.is_file()


def test_shipped_fonts_and_their_licences():
    assert shipped_font_families() == ["Inter", "Open Sans", "Roboto Slab"]
    for folder in (p for p in FONTS_DIR.iterdir() if p.is_dir()):
        assert any(f.name.startswith(("COPYRIGHT", "LICENSE", "OFL")) for f in folder.iterdir())
    size = sum(f.stat().st_size for f in FONTS_DIR.rglob("*") if f.is_file())
    assert size < 4_000_000


# -- validation errors ---------------------------------------------------------------


def test_invalid_colour_names_file_key_and_fix(tmp_path):
    path = write_brand(tmp_path, "color:\n  primary: blauwig\n")
    with pytest.raises(ConfigError) as info:
        load_brand(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert "color.primary: 'blauwig' is not a colour" in message
    assert "hex code" in message


def test_unquoted_hex_colour_is_not_silently_ignored(tmp_path):
    write_brand(tmp_path, "color:\n  primary: #00565B\n")  # YAML reads a comment: empty value
    with pytest.raises(ConfigError, match=r"color.primary is empty(.|\n)*in quotes"):
        load_brand(tmp_path)


def test_missing_logo_file(tmp_path):
    path = write_brand(tmp_path, "logo:\n  medium: logo.png\n")
    with pytest.raises(ConfigError) as info:
        load_brand(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert "logo.medium: logo file 'logo.png' not found" in message


def test_logo_url_is_refused(tmp_path):
    write_brand(tmp_path, "logo:\n  medium: https://example.com/logo.png\n")
    with pytest.raises(ConfigError, match="logo URLs are not supported"):
        load_brand(tmp_path)


def test_unsupported_logo_format(tmp_path):
    (tmp_path / "logo.bmp").write_bytes(b"BM")
    write_brand(tmp_path, "logo: logo.bmp\n")
    with pytest.raises(ConfigError, match=r"'logo\.bmp' is not a supported logo format"):
        load_brand(tmp_path)


def test_unknown_font_lists_the_shipped_ones(tmp_path):
    path = write_brand(tmp_path, "typography:\n  headings: Comic Nonexistent\n")
    with pytest.raises(ConfigError) as info:
        load_brand(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert "typography.headings.family: font 'Comic Nonexistent' is not shipped" in message
    assert "Inter, Open Sans, Roboto Slab" in message


def test_missing_font_file(tmp_path):
    write_brand(
        tmp_path,
        "typography:\n  fonts:\n    - family: Huisletter\n      source: file\n"
        "      files:\n        - path: fonts/Huisletter.ttf\n  base: Huisletter\n",
    )
    with pytest.raises(ConfigError, match=r"typography.fonts\[0\].files\[0\].path: font file"):
        load_brand(tmp_path)


def test_unknown_key_and_bad_yaml(tmp_path):
    write_brand(tmp_path / "a", "colour:\n  primary: red\n")
    with pytest.raises(ConfigError, match="colour: unknown key"):
        load_brand(tmp_path / "a")
    write_brand(tmp_path / "b", "color:\n  primary: [red\n")
    with pytest.raises(ConfigError, match="cannot read the brand file at line"):
        load_brand(tmp_path / "b")


def test_font_size_out_of_range(tmp_path):
    write_brand(tmp_path, "typography:\n  base:\n    family: Inter\n    size: 30pt\n")
    with pytest.raises(ConfigError, match=r"typography\.base\.size"):
        load_brand(tmp_path)


def test_explicit_brand_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match=r"brand file 'huisstijl\.yml' not found"):
        load_brand(tmp_path, "huisstijl.yml")
    write_brand(tmp_path, "color:\n  primary: '#123456'\n", name="huisstijl.yml")
    assert load_brand(tmp_path, "huisstijl.yml").primary == "#123456"


def test_default_brand_file_is_valid_brand_yml():
    from brand_yml import Brand

    assert Brand.from_yaml(DEFAULT_BRAND).color.primary == "#1B3A5C"
