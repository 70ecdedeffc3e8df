"""Bytes in: the bytes of a path, bytes or file-like ``source`` (size-limited) and its format from magic bytes."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crm_core.io.report import DataError


def _source_name(source: Any) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) else ""


def _read_bytes(source: Any, max_bytes: int, prefix: int | None = None) -> bytes:
    """All bytes of ``source`` (or its first ``prefix`` bytes), refusing more than ``max_bytes``."""
    limit_mb = round(max_bytes / 1024 / 1024, 1)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = _checked_path(source, max_bytes)
        with path.open("rb") as handle:
            data = handle.read(prefix if prefix else max_bytes + 1)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except OSError:  # io.UnsupportedOperation: an unseekable stream is read from where it is
                pass
        data = source.read(prefix if prefix else max_bytes + 1)
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except OSError:
                pass
        if isinstance(data, str):
            data = data.encode("utf-8")
        data = bytes(data or b"")
    else:
        raise DataError("io.error.unreadable", {"name": "", "detail": type(source).__name__})
    if len(data) > max_bytes:
        raise DataError("io.error.too_large", {"size_mb": round(len(data) / 1024 / 1024, 1), "limit_mb": limit_mb})
    return data


def _checked_path(source: str | Path, max_bytes: int) -> Path:
    """The path of an existing file of at most ``max_bytes``."""
    path = Path(source)
    if not path.is_file():
        raise DataError("io.error.file_not_found", {"name": path.name})
    size = path.stat().st_size
    if size > max_bytes:
        raise DataError("io.error.too_large", {"size_mb": round(size / 1024 / 1024, 1),
                                               "limit_mb": round(max_bytes / 1024 / 1024, 1)})
    return path


def _open_source(source: Any, max_bytes: int) -> bytes | Path:
    """A file on disk stays its path (size-checked; the CSV reader reads it in blocks, never whole into
    memory); any other ``source`` becomes its bytes (:func:`_read_bytes`)."""
    if isinstance(source, (str, Path)):
        return _checked_path(source, max_bytes)
    return _read_bytes(source, max_bytes)


def _prefix(data: bytes | Path, size: int) -> bytes:
    """The first ``size`` bytes of a source from :func:`_open_source`."""
    if isinstance(data, Path):
        with data.open("rb") as handle:
            return handle.read(size)
    return data[:size]


def _all_bytes(data: bytes | Path) -> bytes:
    return data.read_bytes() if isinstance(data, Path) else data


def _blocks(data: bytes | Path, size: int = 16 << 20) -> Iterator[bytes]:
    """The bytes of a source in blocks of ``size`` (only one block in memory at a time for a path)."""
    if isinstance(data, Path):
        with data.open("rb") as handle:
            while block := handle.read(size):
                yield block
        return
    for start in range(0, len(data), size):
        yield data[start:start + size]


_SIGNATURES = (  # magic bytes of formats people upload by mistake
    (b"%PDF", "PDF"), (b"\x1f\x8b", "GZIP"), (b"Rar!", "RAR"), (b"7z\xbc\xaf", "7Z"), (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"SQLite format 3", "SQLite"), (b"{\\rtf", "RTF"),
)


def _detect_format(data: bytes) -> str:
    """``csv`` | ``xlsx`` | ``xls`` | ``parquet`` from the leading bytes (the file name is not trusted)."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped or not stripped.strip(b"\x00"):
        raise DataError("io.error.empty", {})
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "xlsx"
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    for magic, label in _SIGNATURES:
        if data.startswith(magic):
            raise DataError("io.error.unsupported_format", {"format": label})
    head = stripped[:512].lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
        raise DataError("io.error.not_a_table", {"format": "HTML/XML"})
    if head.startswith((b"{", b"[{", b"[\n", b"[ ")):
        raise DataError("io.error.not_a_table", {"format": "JSON"})
    return "csv"
