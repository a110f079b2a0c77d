"""Text encodings: find a CSV file's encoding and hand DuckDB UTF-8.

DuckDB reads UTF-8 (with or without a byte-order mark). Exports from Excel on
Windows are often cp1252 ("ANSI"); those are transcoded, streaming, to a
temporary UTF-8 copy. With ``encoding: auto`` a file that is not valid UTF-8
is read as cp1252 (or latin-1 when it holds bytes cp1252 does not define);
with ``encoding: utf-8`` such a file is an error naming the line and bytes.
"""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path
from typing import BinaryIO

from clvreport.errors import DataError

__all__ = ["check_utf8", "detect_encoding", "open_binary", "read_sample", "transcode_to_utf8"]

_CHUNK = 1 << 24


def open_binary(path: Path, compression: str | None = None) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing gzip files.

    Parameters
    ----------
    path
        The file.
    compression
        ``"gzip"`` or ``None``.

    Returns
    -------
    BinaryIO
    """
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_sample(path: Path, compression: str | None = None, size: int = 1 << 20) -> bytes:
    """The first ``size`` bytes of the (decompressed) file.

    Parameters
    ----------
    path
        The file.
    compression
        ``"gzip"`` or ``None``.
    size
        Number of bytes.

    Returns
    -------
    bytes
    """
    with open_binary(path, compression) as handle:
        return handle.read(size)


def check_utf8(path: Path, compression: str | None = None) -> tuple[int, bytes] | None:
    """Find the first byte sequence in the file that is not valid UTF-8.

    Parameters
    ----------
    path
        The file.
    compression
        ``"gzip"`` or ``None``.

    Returns
    -------
    tuple of (int, bytes) or None
        ``(line number, offending bytes)``, or ``None`` when the whole file is UTF-8.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with open_binary(path, compression) as handle:
        while True:
            chunk = handle.read(_CHUNK)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's pending bytes followed by this chunk.
                offset_in_object = exc.start
                prefix_len = len(exc.object) - len(chunk)
                offset = max(offset_in_object - prefix_len, 0)
                line = lines_before + chunk[:offset].count(b"\n") + 1
                return line, bytes(exc.object[exc.start : exc.end + 3])
            if final:
                return None
            lines_before += chunk.count(b"\n")


def detect_encoding(path: Path, configured: str, compression: str | None = None) -> str:
    """The encoding to read ``path`` with.

    Parameters
    ----------
    path
        A CSV file.
    configured
        ``"auto"``, ``"utf-8"``, ``"utf-8-sig"``, ``"cp1252"`` or ``"latin-1"``.
    compression
        ``"gzip"`` or ``None``.

    Returns
    -------
    str
        ``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"cp1252"`` or ``"latin-1"``.

    Raises
    ------
    DataError
        When the file is configured as UTF-8 but is not, naming the first bad line.
    """
    head = read_sample(path, compression, 4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if configured in ("cp1252", "latin-1"):
        return configured
    problem = check_utf8(path, compression)
    if problem is None:
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    line, sample = problem
    if configured == "auto":
        try:
            with open_binary(path, compression) as handle:
                decoder = codecs.getincrementaldecoder("cp1252")()
                while chunk := handle.read(_CHUNK):
                    decoder.decode(chunk)
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    raise DataError(
        f"the file is not valid UTF-8 text: line {line} holds the bytes {sample!r}",
        path=path,
        hint="save the file as UTF-8, or set data.csv.encoding: cp1252 in client.yml "
        "(Excel's 'CSV' export on Windows writes cp1252)",
    )


def transcode_to_utf8(
    path: Path, encoding: str, target: Path, compression: str | None = None
) -> Path:
    """Write a UTF-8 copy of ``path`` (read as ``encoding``) to ``target``, streaming.

    Parameters
    ----------
    path
        The source file.
    encoding
        Its encoding, e.g. ``"cp1252"``.
    target
        Where to write the copy.
    compression
        ``"gzip"`` or ``None`` for the source; the copy is never compressed.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    DataError
        When the file cannot be decoded as ``encoding``.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    try:
        with open_binary(path, compression) as source, target.open("wb") as out:
            while chunk := source.read(_CHUNK):
                out.write(decoder.decode(chunk).encode("utf-8"))
                lines += chunk.count(b"\n")
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"the file is not valid {encoding} text (after line {lines}): {exc.reason}",
            path=path,
            hint="save the file as UTF-8 and set data.csv.encoding: utf-8 (or auto)",
        ) from None
    return target
