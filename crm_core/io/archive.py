"""Workbook archives checked before a reader sees them: an .xlsx is a zip of XML parts, and a few bytes
can ask a reader for gigabytes. Nothing here trusts the sizes the archive declares."""
from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

from crm_core.io.report import DataError

CHUNK = 1 << 20                   # compressed bytes fed to the inflater at a time
MAX_RATIO = 100.0                 # a part over 1 MB that inflates more than this is refused
MAX_CELLS = 50_000_000            # the grid a sheet may span (rows × columns), whatever it holds
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CELL = re.compile(rb'\br="([A-Z]{1,4})([0-9]{1,8})"')  # the r= of a <c> cell (rows' r= has no letters)
_ROW = re.compile(rb'<row\b[^>]*?\br="([0-9]{1,8})"')
_DIMENSION = re.compile(rb'<dimension\b[^>]*?\bref="(?:[A-Z]{1,4}[0-9]{1,8}:)?([A-Z]{1,4})([0-9]{1,8})"')


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _too_large(size: int, limit: int) -> DataError:
    return DataError("io.error.too_large", {"size_mb": round(size / 1024 / 1024, 1),
                                            "limit_mb": round(limit / 1024 / 1024, 1)})


def _inflate(data: bytes, entry: zipfile.ZipInfo, budget: int) -> tuple[int, int, int]:
    """Inflate one part as a stream, counting the bytes it really expands to (at most ``budget``), and
    return (bytes out, last row, last column) of the cell references it names (sheets only)."""
    signature, *_, name_length, extra_length = _LOCAL_HEADER.unpack_from(data, entry.header_offset)
    if signature != b"PK\x03\x04":
        raise DataError("io.error.unreadable", {"name": "", "detail": "BadZipFile"})
    start = entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    compressed = memoryview(data)[start:start + entry.compress_size]
    if entry.compress_type == zipfile.ZIP_STORED:
        pieces = (bytes(compressed[i:i + CHUNK]) for i in range(0, len(compressed), CHUNK))
    elif entry.compress_type == zipfile.ZIP_DEFLATED:
        pieces = _deflated(compressed, budget)
    else:
        raise DataError("io.error.unreadable", {"name": "", "detail": "compression"})
    is_sheet = entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml")
    out = last_row = last_column = 0
    tail = b""
    for piece in pieces:
        out += len(piece)
        if out > budget:
            raise _too_large(out, budget)
        if is_sheet:
            text = tail + piece
            for letters, digits in _CELL.findall(text) + _DIMENSION.findall(text):
                last_row, last_column = max(last_row, int(digits)), max(last_column, _column_number(letters))
            for digits in _ROW.findall(text):
                last_row = max(last_row, int(digits))
            tail = text[-64:]
    return out, last_row, last_column


def _deflated(compressed: memoryview, budget: int):
    inflater = zlib.decompressobj(-15)
    try:
        for i in range(0, len(compressed), CHUNK):
            pending = bytes(compressed[i:i + CHUNK])
            while pending:
                yield inflater.decompress(pending, CHUNK)
                pending = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as exc:
        raise DataError("io.error.unreadable", {"name": "", "detail": "zlib"}) from exc


def check_workbook(data: bytes, max_unzipped_bytes: int, max_rows: int, max_columns: int,
                   max_entries: int = 10_000) -> None:
    """Refuse a workbook archive that expands past ``max_unzipped_bytes`` or any part past
    :data:`MAX_RATIO`, counted by really inflating it (a lying directory is caught), or whose sheets name
    a cell beyond ``max_rows`` rows, ``max_columns`` columns or a :data:`MAX_CELLS` grid (a reader
    allocates the whole rectangle up to the last cell)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DataError("io.error.unreadable", {"name": "", "detail": type(exc).__name__}) from exc
    names = {entry.filename for entry in entries}
    if not ({"xl/workbook.xml", "xl/workbook.bin", "content.xml"} & names):
        raise DataError("io.error.unsupported_format", {"format": "ZIP"})
    if len(entries) > max_entries:
        raise _too_large(sum(entry.file_size for entry in entries), max_unzipped_bytes)
    total = 0
    for entry in entries:
        try:
            size, rows, columns = _inflate(data, entry, max_unzipped_bytes - total)
        except struct.error as exc:
            raise DataError("io.error.unreadable", {"name": "", "detail": "BadZipFile"}) from exc
        total += size
        if size > CHUNK and size > MAX_RATIO * max(entry.compress_size, 1):
            raise DataError("io.error.suspicious_archive", {"ratio": int(size / max(entry.compress_size, 1))})
        if columns > max_columns:
            raise DataError("io.error.too_many_columns", {"columns": f"{columns:,}", "limit": f"{max_columns:,}"})
        if rows - 1 > max_rows:
            raise DataError("io.error.too_many_rows", {"rows": f"{rows - 1:,}", "limit": f"{max_rows:,}"})
        if rows * columns > MAX_CELLS:
            raise _too_large(rows * columns * 8, MAX_CELLS * 8)
