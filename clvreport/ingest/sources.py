"""Find the transaction files a config names and tell their format.

Sources are file names or globs (``exports/*.csv``) relative to the client
folder. Every name must match at least one file; a name that matches nothing
gets an error naming the closest file that does exist.
"""

from __future__ import annotations

import difflib
import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from clvreport.errors import DataError
from clvreport.safe_files import inside

__all__ = ["FileFormat", "SourceFile", "file_format", "resolve_sources"]

FileFormat = Literal["csv", "parquet", "excel"]

_SUFFIX_FORMAT: dict[str, FileFormat] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".dat": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
}
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class SourceFile:
    """One transaction file to read.

    Attributes
    ----------
    path
        The file.
    format
        ``"csv"``, ``"parquet"`` or ``"excel"``.
    compression
        ``"gzip"`` for ``.gz`` files, else ``None``.
    """

    path: Path
    format: FileFormat
    compression: str | None = None


def file_format(path: Path, configured: str = "auto") -> tuple[FileFormat, str | None]:
    """The format (and compression) of ``path``, from ``configured`` or its extension.

    Parameters
    ----------
    path
        The file.
    configured
        ``"auto"`` (use the extension), ``"csv"``, ``"parquet"`` or ``"excel"``.

    Returns
    -------
    tuple of (str, str or None)
        Format and compression.

    Raises
    ------
    DataError
        For extensions clvreport cannot read (``.xls``, ``.json``, ...).

    Examples
    --------
    >>> file_format(Path("orders.csv.gz"))
    ('csv', 'gzip')
    >>> file_format(Path("orders.parquet"))
    ('parquet', None)
    """
    suffixes = [s.lower() for s in path.suffixes]
    compression = "gzip" if suffixes and suffixes[-1] == ".gz" else None
    if compression:
        suffixes = suffixes[:-1]
    if configured != "auto":
        if compression and configured != "csv":
            raise DataError(
                f"compressed {configured} files are not supported",
                path=path,
                hint="decompress the file first (only CSV files may be .gz)",
            )
        return configured, compression  # type: ignore[return-value]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in _SUFFIX_FORMAT:
        fmt = _SUFFIX_FORMAT[suffix]
        if compression and fmt != "csv":
            raise DataError(
                f"compressed {fmt} files are not supported",
                path=path,
                hint="decompress the file first (only CSV files may be .gz)",
            )
        return fmt, compression
    if suffix == ".xls":
        raise DataError(
            "old Excel format (.xls) is not supported",
            path=path,
            hint="open it in Excel and save it as .xlsx or as CSV",
        )
    known = ", ".join(sorted(_SUFFIX_FORMAT))
    raise DataError(
        f"unknown file type '{suffix or '(no extension)'}'",
        path=path,
        hint=f"use CSV, Parquet or Excel files ({known}), or set data.format in client.yml",
    )


def _closest_files(folder: Path, name: str) -> str:
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    if not files:
        return f"the folder {folder} holds no files"
    close = difflib.get_close_matches(name, files, n=1, cutoff=0.5)
    listing = ", ".join(files[:10]) + (", ..." if len(files) > 10 else "")
    prefix = f"did you mean '{close[0]}'? " if close else ""
    return f"{prefix}files in {folder}: {listing}"


def resolve_sources(
    sources: str | Path | list[str | Path] | tuple[str | Path, ...],
    *,
    base_dir: Path | str | None = None,
    format: str = "auto",
) -> list[SourceFile]:
    """Expand file names and globs into the list of files to read.

    Parameters
    ----------
    sources
        File names or globs; relative ones are taken from ``base_dir``.
    base_dir
        The client folder (default: the working directory).
    format
        ``"auto"`` or a format for every file.

    Returns
    -------
    list of SourceFile
        Files in the order given (each glob sorted by name), without repeats.

    Raises
    ------
    DataError
        When a name matches no file, names a folder, or has an unknown extension.

    Examples
    --------
    >>> resolve_sources("missing.csv", base_dir=".")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clvreport.errors.DataError: ...missing.csv: file not found...
    """
    items = [sources] if isinstance(sources, str | Path) else list(sources)
    if not items:
        raise DataError("no transaction files given", hint="list at least one file in data.sources")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    found: list[Path] = []
    named_relative: list[bool] = []
    for item in items:
        pattern = Path(item) if Path(item).is_absolute() else base / item
        before = len(found)
        if _GLOB_CHARS & set(str(item)):
            matches = sorted(Path(m) for m in glob.glob(str(pattern), recursive=True))
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise DataError(
                    f"no files match '{item}'",
                    path=pattern.parent,
                    hint=_closest_files(pattern.parent, pattern.name),
                )
            found.extend(matches)
        elif pattern.is_dir():
            raise DataError(
                "is a folder, not a file",
                path=pattern,
                hint=f"name the files, e.g. '{Path(item) / '*.csv'}'",
            )
        elif pattern.exists() and not pattern.is_file():
            raise DataError(
                "is not a regular file (a pipe, socket or device): it cannot be read twice",
                path=pattern,
                hint="save the export as a file in the client folder and name that file",
            )
        elif not pattern.is_file():
            raise DataError(
                "file not found",
                path=pattern,
                hint=_closest_files(pattern.parent, pattern.name),
            )
        else:
            found.append(pattern)
        named_relative += [not Path(item).is_absolute()] * (len(found) - before)
    if base_dir is not None:
        # the files a client folder names (relative to it) stay in it: no link or glob may
        # reach outside (absolute paths come from the tool itself, not from a config)
        for path, relative in zip(found, named_relative, strict=True):
            if relative:
                inside(path, base, what="transaction file")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    result = []
    for path in unique:
        fmt, compression = file_format(path, format)
        result.append(SourceFile(path, fmt, compression))
    return result
