"""What a client folder may make the tool read: files inside it, of the kind they claim to be.

Every path a client folder names — transaction and contact files, the brand
file, its logo and fonts — is hostile until checked. :func:`inside` resolves
it (symlinks included) and refuses it when it lands outside the folder it
must stay in, or is not a regular file (a FIFO, a device, ``/proc``): a
``logo.svg`` linked to the analyst's ``/etc/passwd`` or environment never
reaches a published report. :func:`check_font` looks at a font's first bytes,
:func:`check_logo` at a logo's size and an SVG's references to other files.
:func:`safe_yaml_text` refuses YAML aliases (``&a`` / ``*a``: a few hundred
bytes of nested aliases expand to gigabytes), :func:`load_yaml` also repeated
keys, and :func:`shorten` keeps a quoted value in a message short and clean.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from clvreport.errors import ConfigError

__all__ = [
    "FONT_MAGIC",
    "MAX_LOGO_BYTES",
    "MAX_WORKBOOK_BYTES",
    "check_font",
    "check_logo",
    "check_workbook",
    "inside",
    "load_yaml",
    "printable",
    "safe_yaml_text",
    "shorten",
]

MAX_WORKBOOK_BYTES = 2_000_000_000
"""An Excel workbook that unpacks to more than this is refused."""
MAX_WORKBOOK_RATIO = 200
"""... and so is one that unpacks to more than this many times its size (beyond 100 MB):
ordinary workbooks pack 5-20 times; a "zip bomb" of XML whitespace thousands of times."""
MAX_LOGO_BYTES = 5_000_000
"""A logo larger than this is refused (it is embedded in every page)."""
FONT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf", b"wOFF", b"wOF2")
"""The first four bytes of TrueType, OpenType, collection and WOFF font files."""
# an SVG must not pull in anything from outside: an image, a stylesheet or a font by URL
_SVG_EXTERNAL = re.compile(
    rb"""(?:href\s*=\s*["']\s*(?!#|data:)[^"']+["'])|url\(\s*["']?\s*(?!#|data:)|@import""",
    re.IGNORECASE,
)
# escape sequences first (ESC [ ... final byte, ESC + one byte), then lone control characters
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f\x9b]")


_CONTROL_KEEP_LINES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x9b]"
)


def printable(text: object) -> str:
    r"""``text`` without terminal control codes (escape sequences, bells); line breaks stay.

    What a hostile export or client name holds must not clear or recolour the
    analyst's terminal when a message quotes it.

    Examples
    --------
    >>> printable("\x1b[31mred\x1b[0m\nnext\x07")
    'red\nnext'
    """
    return _CONTROL_KEEP_LINES.sub("", str(text))


def shorten(value: object, limit: int = 120) -> str:
    r"""``value`` as text fit for a message: control characters out, at most ``limit`` long.

    Terminal escape codes in a hostile value could clear or recolour the
    analyst's screen; a value of megabytes would bury the message.

    Examples
    --------
    >>> shorten("\x1b[2Jname"), shorten("x" * 200, 10)
    ('name', 'xxxxxxxxx…')
    """
    text = _CONTROL.sub("", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def inside(path: Path | str, root: Path | str, *, what: str, config: Path | None = None) -> Path:
    """``path`` resolved, when it is a regular file inside ``root`` (symlinks followed).

    Parameters
    ----------
    path
        The file a config names (relative ones are relative to the working
        directory: pass them joined to their folder).
    root
        The folder it must stay in (the client folder).
    what
        What it is, for the message ("logo", "font file", ...).
    config
        The file that named it, for the message.

    Returns
    -------
    Path
        The resolved path.

    Raises
    ------
    ConfigError
        When it does not exist, lies outside ``root`` (also through a
        symlink), or is not a regular file.

    Examples
    --------
    >>> inside("/etc/passwd", "/tmp", what="logo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clvreport.errors.ConfigError: the logo '/etc/passwd' lies outside the folder /tmp...
    """
    candidate = Path(path)
    base = Path(root).resolve()
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ConfigError(
            f"the {what} '{shorten(candidate)}' was not found",
            path=config,
            hint="put the file in the client folder and give its name",
        ) from None
    if not resolved.is_relative_to(base):
        raise ConfigError(
            f"the {what} '{shorten(candidate)}' lies outside the folder {base} "
            "(directly or through a link) and is refused",
            path=config,
            hint="copy the file into the client folder instead of pointing or linking to it",
        )
    try:
        mode = resolved.stat().st_mode
    except OSError:
        mode = 0
    if not stat.S_ISREG(mode):
        raise ConfigError(
            f"the {what} '{shorten(candidate)}' is not a regular file",
            path=config,
            hint="give a file (not a folder, pipe or device)",
        )
    return resolved


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def check_logo(path: Path, *, key: str, config: Path | None = None) -> None:
    """Refuse a logo that is too large, or an SVG that refers to anything outside itself.

    An SVG with an ``href`` to a URL or file, a ``url(...)`` or an ``@import``
    would make the renderer fetch or read it. Whether the bytes are an image at
    all is :func:`clvreport.validate.check_logo`'s job.

    Raises
    ------
    ConfigError
        Naming the key, the file and what to do.

    Examples
    --------
    >>> import tempfile
    >>> svg = Path(tempfile.mkdtemp()) / "logo.svg"
    >>> _ = svg.write_text('<svg><image href="https://evil.example/x.png"/></svg>')
    >>> check_logo(svg, key="logo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clvreport.errors.ConfigError: logo: 'logo.svg' refers to files or addresses outside itself...
    """
    size = path.stat().st_size
    if size > MAX_LOGO_BYTES:
        raise ConfigError(
            f"{key}: '{path.name}' is {size / 1e6:.1f} MB, more than a logo needs "
            f"(at most {MAX_LOGO_BYTES / 1e6:.0f} MB)",
            path=config,
            hint="export a smaller PNG or an SVG",
        )
    if path.suffix.lower() == ".svg" and _SVG_EXTERNAL.search(path.read_bytes()):
        raise ConfigError(
            f"{key}: '{path.name}' refers to files or addresses outside itself "
            "(an href, url() or @import)",
            path=config,
            hint="embed images in the SVG or export the logo as PNG",
        )


def check_font(path: Path, *, key: str, config: Path | None = None) -> None:
    """Refuse a font file whose first bytes are not those of a font.

    Examples
    --------
    >>> import tempfile
    >>> fake = Path(tempfile.mkdtemp()) / "x.ttf"
    >>> _ = fake.write_bytes(b"not a font")
    >>> check_font(fake, key="font")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clvreport.errors.ConfigError: font: 'x.ttf' is not a font file...
    """
    if not _head(path, 4).startswith(FONT_MAGIC):
        raise ConfigError(
            f"{key}: '{path.name}' is not a font file (TrueType, OpenType or WOFF)",
            path=config,
            hint="give the .ttf, .otf or .woff2 files of the font",
        )


def safe_yaml_text(text: str, *, path: Path | None = None) -> str:
    r"""``text`` unchanged when it holds no YAML aliases; else a clear refusal.

    Aliases (``&name`` and ``*name``) let a few hundred bytes expand to
    gigabytes when read (a "billion laughs" file); a client.yml or brand file
    never needs them.

    Examples
    --------
    >>> safe_yaml_text("a: &x [1]\nb: *x\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clvreport.errors.ConfigError: YAML aliases (*x) are not allowed...
    """
    import yaml

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ConfigError(
                    f"YAML aliases (*{shorten(event.anchor, 40)}) are not allowed",
                    path=path,
                    hint="write the values out instead of referring to an anchor (&name)",
                )
    except yaml.YAMLError:
        return text  # the reader reports the syntax error with its line
    return text


def load_yaml(text: str, *, path: Path | None = None) -> object:
    r"""Parse a config file's YAML: no aliases (:func:`safe_yaml_text`), no repeated keys.

    A key written twice would silently take its last value; it is refused,
    naming the key and its line.

    Examples
    --------
    >>> load_yaml("a: 1\nb: 2\n")
    {'a': 1, 'b': 2}
    >>> load_yaml("a: 1\na: 2\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clvreport.errors.ConfigError: the key 'a' appears twice (line 2)...
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"the key '{shorten(key, 60)}' appears twice "
                    f"(line {key_node.start_mark.line + 1})",
                    path=path,
                    hint="keep one of the two: YAML would silently use the last",
                )
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(safe_yaml_text(text, path=path), Loader=_Loader)


def check_workbook(path: Path) -> None:
    """Refuse an .xlsx that unpacks to far more than a workbook of its size could hold.

    An .xlsx is a zip archive; a few hundred kilobytes can unpack to gigabytes
    of XML that the reader would have to parse. The archive's own list of
    sizes is read (nothing is unpacked).

    Raises
    ------
    clvreport.errors.DataError
        Naming the file, its packed and unpacked sizes and the limits.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> bomb = Path(tempfile.mkdtemp()) / "orders.xlsx"
    >>> with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
    ...     z.writestr("xl/worksheets/sheet1.xml", " " * 300_000_000)
    >>> check_workbook(bomb)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clvreport.errors.DataError: ...unpacks to 300 MB...
    """
    import zipfile

    from clvreport.errors import DataError

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(max(info.file_size, 0) for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # the reader says what is wrong with it
    packed = max(path.stat().st_size, 1)
    if unpacked > MAX_WORKBOOK_BYTES or (
        unpacked > 100_000_000 and unpacked > MAX_WORKBOOK_RATIO * packed
    ):
        raise DataError(
            f"the workbook is {packed / 1e6:.1f} MB but unpacks to {unpacked / 1e6:,.0f} MB, "
            f"more than an export of that size holds (at most {MAX_WORKBOOK_RATIO} times its "
            f"size, {MAX_WORKBOOK_BYTES / 1e9:.0f} GB in all)",
            path=path,
            hint="export the data again (CSV is best for large exports)",
        )
