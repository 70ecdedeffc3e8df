"""Hostile workbooks are refused with a translated reason before the Excel reader sees them (a reader
allocates the whole rectangle up to the last cell: one cell at XFD1048576 asked for 549 GB and aborted
the server process)."""
import io
import struct
import zipfile

import openpyxl
import pytest

from crm_core.io import DataError, read_table


def workbook(last_cell: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer", "date", "amount"])
    sheet.append(["A", "2024-01-05", 10])
    if last_cell:
        sheet[last_cell] = "x"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_padded_sheet(data: bytes, padding: int) -> bytes:
    """The same workbook with ``padding`` spaces after the sheet's XML (valid XML, tiny when zipped)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            body = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                body += b" " * padding
            target.writestr(entry.filename, body)
    return out.getvalue()


def under_declared(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size the archive declares for ``name`` (local header and directory)."""
    raw = bytearray(data)
    encoded = name.encode()
    # (signature, offset of the name length, of the name, of the uncompressed size): local header, directory
    for signature, length_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)):
        at = raw.find(signature)
        while at != -1:
            length = struct.unpack_from("<H", raw, at + length_at)[0]
            if raw[at + name_at:at + name_at + length] == encoded:
                struct.pack_into("<L", raw, at + size_at, size)
            at = raw.find(signature, at + 4)
    return bytes(raw)


def refused(data: bytes) -> str:
    with pytest.raises(DataError) as caught:
        read_table(data, kind="transactions")
    return caught.value.key


def test_a_plain_workbook_still_loads():
    result = read_table(workbook(), kind="transactions")
    assert result.df.height == 1


def test_a_cell_at_the_last_column_is_refused_not_allocated():
    data = workbook("XFD1048576")
    assert len(data) < 10_000
    assert refused(data) == "io.error.too_many_columns"


def test_a_cell_far_down_and_right_is_refused_by_the_grid_it_spans():
    assert refused(workbook("CV1048576")) == "io.error.too_large"  # 100 columns × 1,048,576 rows


def test_a_sheet_padded_with_whitespace_is_refused():
    data = with_padded_sheet(workbook(), 30 * 1024 * 1024)
    assert len(data) < 200_000
    assert refused(data) == "io.error.suspicious_archive"


def test_an_archive_that_under_declares_its_sizes_is_caught_by_inflating_it():
    data = under_declared(with_padded_sheet(workbook(), 30 * 1024 * 1024), "xl/worksheets/sheet1.xml", 900_000)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size == 900_000  # what the directory claims
    assert refused(data) == "io.error.suspicious_archive"
