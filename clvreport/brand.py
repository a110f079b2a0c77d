"""A client's house style: ``_brand.yml`` resolved into what the templates need.

Clients describe their house style in the `brand.yml <https://posit-dev.github.io/brand-yml/>`_
format, the same file Quarto reads: ``data/<client>/_brand.yml``. Every key the
client leaves out is taken from the default brand, ``templates/_brand.yml``.
:func:`load_brand` reads both with the ``brand-yml`` package, checks what a
broken PDF would otherwise reveal much later (a colour that is not a colour, a
logo file that does not exist, a font that is neither shipped in
``templates/fonts/`` nor installed) and returns a :class:`ReportBrand`: plain
resolved values, ready for the Typst and HTML templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from clvreport.errors import ConfigError
from clvreport.safe_files import check_font, check_logo, inside, load_yaml, shorten

__all__ = [
    "BRAND_FILE",
    "DEFAULT_BRAND",
    "DEFAULT_LOGO",
    "FONTS_DIR",
    "TEMPLATES_DIR",
    "FontFace",
    "ReportBrand",
    "load_brand",
    "shipped_font_families",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
"""The package's ``templates/`` folder (Typst, HTML and Quarto templates, fonts, default
brand), shipped as package data; the checkout's top-level ``templates/`` links to it."""
DEFAULT_BRAND = TEMPLATES_DIR / "_brand.yml"
"""The default house style; clients' brand files fall back to it key by key."""
FONTS_DIR = TEMPLATES_DIR / "fonts"
"""Fonts shipped with the project (open licences), embedded in every PDF and HTML."""
DEFAULT_LOGO = TEMPLATES_DIR / "logo.svg"
"""The tool's own wordmark: on the default brand only, never on a client's cover."""
BRAND_FILE = "_brand.yml"
"""The brand file's name in a client folder when ``client.yml`` names no other."""

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
_WEIGHTS = {
    "thin": 100,
    "extra-light": 200,
    "ultra-light": 200,
    "light": 300,
    "normal": 400,
    "regular": 400,
    "medium": 500,
    "semi-bold": 600,
    "demi-bold": 600,
    "bold": 700,
    "extra-bold": 800,
    "ultra-bold": 800,
    "black": 900,
}


@dataclass(frozen=True)
class FontFace:
    """One font file of a family: where it is, its weight and style."""

    family: str
    path: Path
    weight: int = 400
    style: str = "normal"


@dataclass(frozen=True)
class ReportBrand:
    """A resolved house style: colours, fonts and logo, every value filled in.

    Attributes
    ----------
    name
        The brand's name (``meta.name``).
    primary, secondary, accent, background, foreground
        Colours as ``#RRGGBB``. ``accent`` is brand.yml's ``color.tertiary``.
    base_font, heading_font
        Font family names of body text and headings.
    heading_weight
        Numeric weight of headings (400 regular … 700 bold).
    base_size_pt
        Body text size in points (the PDF; the HTML scales it for screens).
    line_height
        Line height as a multiple of the font size.
    logo
        The client's logo for the title page (``logo.large``, else ``medium``, else
        ``small``); ``None`` without a logo of the client's own (the default brand's
        wordmark is the tool's, not the client's: the cover is then plain).
    header_logo
        The logo for running headers (``logo.medium``, else ``small``, else ``large``).
    logo_alt
        Alternative text of the logo.
    fonts
        The font files of the base and heading families, for embedding.
    font_dirs
        Folders holding those files; Typst searches them.
    system_fonts
        Whether a family is only available as an installed system font (then
        Typst must search the system fonts too, else it ignores them).
    source
        The client's brand file, or ``None`` when only the default brand applies.

    Examples
    --------
    >>> brand = load_brand(TEMPLATES_DIR)  # the default brand
    >>> brand.base_font, brand.primary
    ('Inter', '#1B3A5C')
    """

    name: str
    primary: str
    secondary: str
    accent: str
    background: str
    foreground: str
    base_font: str
    heading_font: str
    heading_weight: int = 600
    base_size_pt: float = 10.0
    line_height: float = 1.5
    logo: Path | None = None
    header_logo: Path | None = None
    logo_alt: str = ""
    fonts: tuple[FontFace, ...] = field(default_factory=tuple)
    font_dirs: tuple[Path, ...] = field(default_factory=tuple)
    system_fonts: bool = False
    source: Path | None = None

    @property
    def is_default(self) -> bool:
        """Whether the client has no brand file of its own (the neutral default applies)."""
        return self.source is None

    @property
    def colors(self) -> dict[str, str]:
        """The five colours by name: primary, secondary, accent, background, foreground."""
        return {
            "primary": self.primary,
            "secondary": self.secondary,
            "accent": self.accent,
            "background": self.background,
            "foreground": self.foreground,
        }

    def faces(self, family: str) -> list[FontFace]:
        """The font files of ``family`` (case-insensitive), regular weights first."""
        wanted = family.casefold()
        found = [face for face in self.fonts if face.family.casefold() == wanted]
        return sorted(found, key=lambda face: (face.style != "normal", face.weight))


# -- reading ---------------------------------------------------------------------------


def _read_brand(path: Path) -> Any:
    """Read and validate one brand file with ``brand-yml``; errors name the file and key."""
    from brand_yml import Brand
    from pydantic import ValidationError
    from ruamel.yaml.error import YAMLError

    _check_empty_values(path)
    try:
        # no aliases (a few hundred bytes can expand to gigabytes), no repeated keys
        load_yaml(path.read_text(encoding="utf-8-sig"), path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the brand file: {exc}", path=path) from None
    except yaml.YAMLError:
        pass  # brand-yml reports the syntax error with its line
    try:
        return Brand.from_yaml(path)
    except ValidationError as exc:
        lines = []
        for item in exc.errors():
            key = ".".join(
                str(part) for part in item["loc"] if not str(part).startswith("function")
            )
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown key (see https://posit-dev.github.io/brand-yml/ for the keys)"
            lines.append(f"  - {key or '(top level)'}: {message}")
        raise ConfigError(
            "invalid brand file:\n" + "\n".join(dict.fromkeys(lines)),
            path=path,
            hint="correct the keys listed above; templates/_brand.yml shows every key we use",
        ) from None
    except (ValueError, OSError, YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"cannot read the brand file{where}: {getattr(exc, 'problem', None) or exc}",
            path=path,
            hint="check the YAML syntax (indentation, quotes around '#' colours)",
        ) from None


def _check_empty_values(path: Path) -> None:
    """Refuse empty colour values: an unquoted ``#1B3A5C`` is a YAML comment, not a colour."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return  # brand-yml reports it with more detail
    color = raw.get("color") if isinstance(raw, dict) else None
    if not isinstance(color, dict):
        return
    entries = [(f"color.{k}", v) for k, v in color.items() if k != "palette"]
    palette = color.get("palette")
    if isinstance(palette, dict):
        entries += [(f"color.palette.{k}", v) for k, v in palette.items()]
    for key, value in entries:
        if value is None:
            raise ConfigError(
                f"{key} is empty",
                path=path,
                hint='write colours in quotes, e.g. primary: "#1B3A5C" (without quotes '
                "YAML reads '#...' as a comment)",
            )


def _brand_path(client_dir: Path, brand_file: str) -> Path | None:
    path = Path(client_dir) / brand_file
    if path.is_file() or path.is_symlink():
        # the brand file, like everything a client folder names, stays inside it
        return inside(path, client_dir, what="brand file")
    if brand_file == BRAND_FILE:
        return None  # no brand file: the default brand applies
    raise ConfigError(
        f"brand file '{brand_file}' not found",
        path=path,
        hint="create it (copy templates/_brand.yml) or remove the `brand:` key from "
        "client.yml to use the default brand",
    )


# -- colours ---------------------------------------------------------------------------


def _palette(*brands: Any) -> dict[str, str]:
    merged: dict[str, str] = {}
    for brand in brands:
        if brand is not None and brand.color is not None and brand.color.palette:
            merged.update({str(k): str(v) for k, v in brand.color.palette.items()})
    return merged


def _to_hex(value: str, palette: Mapping[str, str], *, key: str, path: Path) -> str:
    from matplotlib.colors import CSS4_COLORS

    seen = set()
    text = str(value).strip()
    while text in palette and text not in seen:  # palette names may refer to each other
        seen.add(text)
        text = str(palette[text]).strip()
    if _HEX.match(text):
        if len(text) == 4:
            text = "#" + "".join(2 * c for c in text[1:])
        return text.upper()
    if text.lower() in CSS4_COLORS:
        return CSS4_COLORS[text.lower()].upper()
    names = ", ".join(sorted(palette)) or "none defined"
    raise ConfigError(
        f"{key}: '{value}' is not a colour",
        path=path,
        hint=f"use a hex code such as '#1B3A5C' (in quotes), a CSS colour name such as "
        f"'navy', or a name from color.palette ({names})",
    )


def _color(
    name: str, client: Any, default: Any, palette: Mapping[str, str], default_path: Path
) -> str:
    for brand in (client, default):
        if brand is None or brand.color is None:
            continue
        value = getattr(brand.color, name, None)
        if value is not None:
            return _to_hex(value, palette, key=f"color.{name}", path=brand.path or default_path)
    raise ConfigError(f"color.{name} is missing", path=default_path, hint="restore the file")


# -- logos -----------------------------------------------------------------------------


def _logo_slot(brand: Any, order: Iterable[str]) -> tuple[str, Any] | None:
    """The first logo resource of ``brand`` in the ``order`` of sizes, with its key."""
    from brand_yml.logo import BrandLogo

    logo = brand.logo if brand is not None else None
    if logo is None:
        return None
    if not isinstance(logo, BrandLogo):
        return "logo", logo
    for size in order:
        resource = getattr(logo, size, None)
        if resource is not None:
            return f"logo.{size}", resource
    if logo.images:
        name, resource = next(iter(logo.images.items()))
        return f"logo.images.{name}", resource
    return None


def _root_of(brand_path: Path) -> Path:
    """The folder a brand's files must stay in: the packaged templates, or the client folder."""
    resolved = Path(brand_path).resolve()
    return TEMPLATES_DIR if resolved.is_relative_to(TEMPLATES_DIR) else resolved.parent


def _logo_file(key: str, resource: Any, brand_path: Path) -> tuple[Path, str]:
    from brand_yml.file import FileLocationUrl

    resource = getattr(resource, "light", None) or getattr(resource, "dark", None) or resource
    location = resource.path
    if isinstance(location, FileLocationUrl):
        raise ConfigError(
            f"{key}: logo URLs are not supported ({location.root})",
            path=brand_path,
            hint="reports are self-contained: save the logo next to the brand file and "
            "give its file name",
        )
    path = Path(location.root)
    if not path.is_absolute():
        path = brand_path.parent / path
    if not path.is_file() and not path.is_symlink():
        raise ConfigError(
            f"{key}: logo file '{shorten(location.root)}' not found (looked for {shorten(path)})",
            path=brand_path,
            hint="put the logo file next to the brand file or correct the path",
        )
    # the link's target counts, not its name: it must be inside the client folder
    resolved = inside(path, _root_of(brand_path), what=f"{key} logo", config=brand_path)
    if path.suffix.lower() not in _LOGO_SUFFIXES:
        raise ConfigError(
            f"{key}: '{path.name}' is not a supported logo format",
            path=brand_path,
            hint=f"use one of: {', '.join(s.lstrip('.') for s in _LOGO_SUFFIXES)} "
            "(SVG or PNG recommended)",
        )
    check_logo(resolved, key=key, config=brand_path)
    return resolved, str(getattr(resource, "alt", None) or "")


def _logo(client: Any, order: tuple[str, ...], client_path: Path) -> tuple[Path | None, str]:
    """The client's own logo: never the tool's wordmark (a plain cover instead).

    A copy of the default brand's wordmark (written by an earlier ``clvreport init``)
    is not the client's logo either.
    """
    slot = _logo_slot(client, order)
    if slot is None:
        return None, ""
    logo, alt = _logo_file(*slot, client.path or client_path)
    if logo.resolve() != DEFAULT_LOGO.resolve() and _same_bytes(logo, DEFAULT_LOGO):
        return None, ""
    return logo, alt


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


# -- typography ------------------------------------------------------------------------


def _typography(brand: Any, part: str, attribute: str) -> Any:
    if brand is None or brand.typography is None:
        return None
    node = getattr(brand.typography, part, None)
    return getattr(node, attribute, None) if node is not None else None


def _declared_font_files(brand: Any) -> list[tuple[str, Path, str, int, str]]:
    """``(key, path, family, weight, style)`` of every ``source: file`` font of ``brand``."""
    from brand_yml.file import FileLocationUrl

    if brand is None or brand.typography is None:
        return []
    files = []
    for i, font in enumerate(brand.typography.fonts or []):
        if getattr(font, "source", None) != "file":
            continue
        for j, item in enumerate(font.files):
            key = f"typography.fonts[{i}].files[{j}].path"
            if isinstance(item.path, FileLocationUrl):
                raise ConfigError(
                    f"{key}: font URLs are not supported ({item.path.root})",
                    path=brand.path,
                    hint="download the font files next to the brand file and give their paths",
                )
            path = Path(item.path.root)
            if not path.is_absolute():
                path = Path(brand.path).parent / path
            if not path.is_file() and not path.is_symlink():
                raise ConfigError(
                    f"{key}: font file '{shorten(item.path.root)}' not found "
                    f"(looked for {shorten(path)})",
                    path=brand.path,
                    hint="put the font file there or correct the path",
                )
            resolved = inside(
                path, _root_of(Path(brand.path)), what=f"{key} font", config=brand.path
            )
            check_font(resolved, key=key, config=brand.path)
            files.append((key, resolved, font.family, _weight(item.weight.root), item.style))
    return files


def _weight(value: Any, default: int = 400) -> int:
    if value is None or value == "auto":
        return default
    if isinstance(value, int):
        return value
    text = str(value).strip().lower().replace("_", "-")
    if text.isdigit():
        return int(text)
    return _WEIGHTS.get(text, default)


@cache
def _available_fonts(font_dirs: tuple[Path, ...]) -> tuple[tuple[str, str | None, int, str], ...]:
    """``(family, path, weight, style)`` of every font Typst can use with ``font_dirs``."""
    import typst

    fonts = typst.Fonts(
        font_paths=[str(d) for d in font_dirs],
        include_system_fonts=True,
        include_embedded_fonts=True,
    )
    return tuple(
        (info.family, str(info.path) if info.path else None, int(info.weight), str(info.style))
        for info in fonts.fonts()
    )


def shipped_font_families() -> list[str]:
    """Font families shipped in ``templates/fonts/``, usable in any brand file.

    Examples
    --------
    >>> "Inter" in shipped_font_families()
    True
    """
    import typst

    fonts = typst.Fonts(
        font_paths=[str(FONTS_DIR)], include_system_fonts=False, include_embedded_fonts=False
    )
    return sorted(fonts.families())


def _size_pt(value: Any, *, key: str, path: Path | None) -> float:
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(pt|px|rem|em)?", text)
    if match is None:
        raise ConfigError(
            f"{key}: '{value}' is not a font size", path=path, hint="use e.g. '10pt' or '14px'"
        )
    number, unit = float(match.group(1)), match.group(2) or "pt"
    points = {"pt": number, "px": number * 0.75, "rem": number * 10.0, "em": number * 10.0}[unit]
    if not 7 <= points <= 16:
        raise ConfigError(
            f"{key}: '{value}' is outside the readable range of 7pt to 16pt",
            path=path,
            hint="use a body size between 9pt and 12pt",
        )
    return round(points, 2)


def _font_faces(
    families: dict[str, tuple[str, Path]],
    declared: list[tuple[str, Path, str, int, str]],
) -> tuple[tuple[FontFace, ...], tuple[Path, ...], bool]:
    """Find the files of each family; unknown families raise a ConfigError.

    Returns the faces, the folders Typst must search and whether a family is
    only available as an installed system font.
    """
    candidates = list(dict.fromkeys([FONTS_DIR, *(path.parent for _, path, *_ in declared)]))
    dirs = tuple(
        d for d in candidates if not any(d != o and d.is_relative_to(o) for o in candidates)
    )
    available = _available_fonts(dirs)
    declared_paths = {p for _, p, *_ in declared}

    def rank(font: tuple[str, str | None, int, str]) -> int:
        """Prefer the brand's own files, then shipped fonts, then installed fonts."""
        if font[1] is None:
            return 3
        if Path(font[1]) in declared_paths:
            return 0
        return 1 if Path(font[1]).is_relative_to(FONTS_DIR) else 2

    faces: list[FontFace] = []
    uses_system = False
    for family, (key, path) in families.items():
        wanted = family.casefold()
        matches = [font for font in available if font[0].casefold() == wanted]
        if not matches:
            shipped = ", ".join(shipped_font_families())
            raise ConfigError(
                f"{key}: font '{family}' is not shipped in templates/fonts/, not listed with its "
                "files under typography.fonts, and not installed on this machine",
                path=path,
                hint=f"use a shipped font ({shipped}) or add the font files: "
                f"typography.fonts: [{{family: {family}, source: file, files: [...]}}]",
            )
        best = min(rank(font) for font in matches)
        if best <= 1:  # shipped or declared files exist: never mix in installed copies
            matches = [font for font in matches if rank(font) <= 1]
        else:
            uses_system = True
        chosen: dict[tuple[int, str], FontFace] = {}
        for font in sorted(matches, key=rank):
            if font[1] is None or (font[2], font[3]) in chosen:
                continue
            chosen[(font[2], font[3])] = FontFace(font[0], Path(font[1]), font[2], font[3])
        faces.extend(chosen.values())
    return tuple(faces), dirs, uses_system


# -- public ----------------------------------------------------------------------------


def load_brand(client_dir: Path | str, brand_file: str = BRAND_FILE) -> ReportBrand:
    """Read a client's ``_brand.yml``, fill gaps from the default brand and validate it.

    Parameters
    ----------
    client_dir
        The client folder; ``brand_file`` is relative to it.
    brand_file
        The brand file's name, as in ``client.yml``'s ``brand`` key. A missing
        ``_brand.yml`` means "use the default brand"; any other missing name is
        an error.

    Returns
    -------
    ReportBrand
        Resolved colours (``#RRGGBB``), font families with their files, and
        logo paths.

    Raises
    ------
    ConfigError
        For a brand file that is not valid brand.yml, a value that is not a
        colour, a logo file that does not exist, or a font that is neither
        shipped in ``templates/fonts/``, listed with its files, nor installed.
        The message names the file and the key and says how to fix it.

    Examples
    --------
    >>> brand = load_brand("data/demo")  # doctest: +SKIP
    >>> brand.primary, brand.heading_font  # doctest: +SKIP
    ('#1B3A5C', 'Inter')
    """
    default = _read_brand(DEFAULT_BRAND)
    client_path = _brand_path(Path(client_dir), brand_file)
    client = _read_brand(client_path) if client_path is not None else None
    palette = _palette(default, client)
    colors = {
        name: _color(source, client, default, palette, DEFAULT_BRAND)
        for name, source in [
            ("primary", "primary"),
            ("secondary", "secondary"),
            ("accent", "tertiary"),
            ("background", "background"),
            ("foreground", "foreground"),
        ]
    }

    def pick(part: str, attribute: str, *, inherit_base: bool = False) -> tuple[Any, Path]:
        if client is not None:
            value = _typography(client, part, attribute)
            if value is None and inherit_base:
                value = _typography(client, "base", attribute)
            if value is not None:
                return value, client_path
        return _typography(default, part, attribute), DEFAULT_BRAND

    base_font, base_path = pick("base", "family")
    heading_font, heading_path = pick("headings", "family", inherit_base=True)
    families = {
        str(base_font): ("typography.base.family", base_path),
        str(heading_font): ("typography.headings.family", heading_path),
    }
    declared = _declared_font_files(default) + _declared_font_files(client)
    fonts, font_dirs, system_fonts = _font_faces(families, declared)
    size, size_path = pick("base", "size")
    line_height, _ = pick("base", "line_height")
    heading_weight, _ = pick("headings", "weight")
    # Only the client's own logo: without one the cover is plain, with the client's name.
    logo, alt = _logo(client, ("large", "medium", "small"), client_path or DEFAULT_BRAND)
    header_logo, _ = _logo(client, ("medium", "small", "large"), client_path or DEFAULT_BRAND)
    name = _brand_name(client) or _brand_name(default) or "clvreport"
    return ReportBrand(
        name=name,
        **colors,
        base_font=str(base_font),
        heading_font=str(heading_font),
        heading_weight=_weight(heading_weight, 600),
        base_size_pt=_size_pt(size, key="typography.base.size", path=size_path) if size else 10.0,
        line_height=float(line_height) if line_height else 1.5,
        logo=logo,
        header_logo=header_logo,
        logo_alt=alt or name,
        fonts=fonts,
        font_dirs=font_dirs,
        system_fonts=system_fonts,
        source=client_path,
    )


def _brand_name(brand: Any) -> str | None:
    meta = getattr(brand, "meta", None) if brand is not None else None
    name = getattr(meta, "name", None)
    if name is None:
        return None
    return getattr(name, "full", None) or getattr(name, "short", None) or str(name)
