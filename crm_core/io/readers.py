"""One reader per format (CSV/TSV/TXT, Excel workbooks, Parquet), each returning a :class:`_Table` of raw
columns ``__c0..`` with their source row numbers; workbooks are checked for zip bombs first."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from crm_core.io.archive import check_workbook
from crm_core.io.encoding import ENCODING_NAMES, _check_text, _decode, _LineDecoding, _stream_utf8
from crm_core.io.limits import EXAMPLE_COLUMNS_MAX, MAX_COLUMNS, MAX_ROWS, SNIFF_BYTES, TITLE_ROWS_MAX
from crm_core.io.report import DataError, Issue
from crm_core.io.sniff import _clean_headers, _Sniff, _sniff_csv, _title_rows
from crm_core.io.source import _all_bytes, _detect_format, _prefix


@dataclass
class _Table:
    """A reader's output: ``frame`` has ``__row`` then ``__c0..`` (one per header), typed or String."""

    frame: pl.DataFrame
    headers: list[str]
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    issues: list[Issue] = field(default_factory=list)
    has_header: bool = True
    undecodable_lines: int = 0  # lines valid in no encoding: their rows carry encoding.UNDECODABLE


def _read_any(data: bytes | Path, *, sheet: Any, max_rows: int, max_columns: int,
              max_unzipped_bytes: int) -> _Table:
    """``data``: the bytes, or the path of a file on disk (read in blocks when it is text)."""
    fmt = _detect_format(_prefix(data, SNIFF_BYTES))
    if fmt == "csv":
        streamed = _read_csv_streamed(data, max_rows=max_rows, max_columns=max_columns)
        if streamed is not None:
            return streamed
        return _read_csv(_all_bytes(data), max_rows=max_rows, max_columns=max_columns)
    if fmt in ("xlsx", "xls"):
        return _read_workbook(_all_bytes(data), fmt, sheet, max_rows, max_columns, max_unzipped_bytes)
    return _read_parquet(_all_bytes(data), max_rows=max_rows, max_columns=max_columns)


class _NotUtf8(Exception):
    """polars met a byte that is not UTF-8: the file is for the whole-file encoding cascade."""


def _read_csv_streamed(data: bytes | Path, *, max_rows: int, max_columns: int) -> _Table | None:
    """A text file in one encoding, read by polars from the file (or its UTF-8 transcoding) without the
    whole text in Python: the bytes of a path are never all in memory, a transcoding is one block at a
    time. None when the file needs :func:`_read_csv` (a mix of encodings, a guessed one, a byte that is
    not UTF-8 after a UTF-8 start, classic Mac line ends, columns separated by runs of spaces)."""
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    streamed = _stream_utf8(data, size)
    if streamed is None:
        return None
    try:
        head = streamed.head
        _check_text(head)
        if "\n" not in head and "\r" in head:
            return None
        sniff = _sniff_csv(head, truncated=streamed.size > SNIFF_BYTES)  # (as _read_csv: the UTF-8 text's size)
        if sniff.whitespace:
            return None
        try:
            frame = _polars_csv(streamed.source, sniff, max_rows=max_rows, max_columns=max_columns)
        except _NotUtf8:
            return None
    finally:
        if streamed.temporary is not None:
            streamed.temporary.unlink(missing_ok=True)
    return _Table(frame, list(sniff.headers), "csv", encoding=streamed.encoding, delimiter=sniff.delimiter,
                  issues=streamed.issues + list(sniff.issues), has_header=sniff.has_header)


def _polars_csv(body: bytes | Path, sniff: _Sniff, *, max_rows: int, max_columns: int) -> pl.DataFrame:
    """The rows under the header as String columns ``__c0..`` plus ``__row`` and ``__ragged``; raises
    :class:`_NotUtf8` on a byte that is not UTF-8."""
    if sniff.width > max_columns:
        raise DataError("io.error.too_many_columns", {"columns": sniff.width, "limit": max_columns})
    columns = [f"__c{i}" for i in range(sniff.width)]
    schema = {name: pl.String() for name in columns + ["__extra"]}
    options: dict[str, Any] = dict(has_header=False, separator=sniff.delimiter,
                                   skip_rows=sniff.skip + sniff.has_header, schema=schema,
                                   truncate_ragged_lines=True, missing_columns="insert", n_rows=max_rows + 1,
                                   raise_if_empty=False, infer_schema=False)
    try:
        try:
            frame = pl.read_csv(body, quote_char='"', **options)
        except pl.exceptions.ComputeError as error:
            if "utf-8" in str(error).lower():
                raise
            frame = pl.read_csv(body, quote_char=None, **options)  # a stray quote: read quotes as text
    except pl.exceptions.ComputeError as error:
        if "utf-8" in str(error).lower():
            raise _NotUtf8 from error
        raise
    if frame.height > max_rows:
        raise DataError("io.error.too_many_rows", {"rows": f">{max_rows:,}", "limit": f"{max_rows:,}"})
    extra = pl.col("__extra").str.strip_chars()
    return frame.with_row_index("__row", offset=sniff.skip + 1 + sniff.has_header).with_columns(
        pl.col("__row").cast(pl.Int64), __ragged=extra.is_not_null() & (extra != "")).drop("__extra")


def _read_csv(data: bytes, *, max_rows: int, max_columns: int) -> _Table:
    """A text file through the whole-file encoding cascade (:func:`crm_core.io.encoding._decode`), in memory."""
    decoded = _decode(data)
    head = decoded.head
    _check_text(head)
    body = decoded.body
    if "\n" not in head and "\r" in head:
        body = body.replace(b"\r", b"\n")  # classic Mac line ends
        head = head.replace("\r", "\n")
    sniff = _sniff_csv(head, truncated=len(body) > SNIFF_BYTES)
    if sniff.whitespace:  # runs of spaces or tabs separate the columns: fold each run into one tab
        body = re.sub(rb"(?m)^[ \t]+|[ \t]+$", b"", body.replace(b"\r\n", b"\n"))
        body = re.sub(rb"[ \t]+", b"\t", body)
    try:
        frame = _polars_csv(body, sniff, max_rows=max_rows, max_columns=max_columns)
    except _NotUtf8:  # (cannot happen: the body is UTF-8 written by _decode)
        raise DataError("io.error.unreadable", {"name": "", "detail": "UnicodeDecodeError"}) from None
    del body
    issues = list(decoded.issues)
    if decoded.lines is not None and decoded.lines.others:
        issues.append(_mixed_encodings(decoded.lines, list(sniff.headers), sniff.delimiter, sniff.whitespace))
    return _Table(frame, list(sniff.headers), "csv", encoding=decoded.encoding,
                  delimiter=" " if sniff.whitespace else sniff.delimiter,
                  issues=issues + list(sniff.issues), has_header=sniff.has_header,
                  undecodable_lines=decoded.lines.undecodable if decoded.lines is not None else 0)


def _mixed_encodings(lines: _LineDecoding, headers: list[str], delimiter: str, whitespace: bool) -> Issue:
    """The ``encoding_mixed`` note: how many lines were read in an encoding other than the file's main
    one, with the first (up to three) of them as example rows and their line numbers."""
    examples = sorted(found for enc in lines.others for found in lines.examples.get(enc, ()))[:3]

    def cells(text: str) -> list[str]:
        if whitespace:
            return text.split()
        return next(csv.reader([text], delimiter=delimiter), [])

    rows = tuple({"_row": number, **dict(zip(headers[:EXAMPLE_COLUMNS_MAX], cells(text.rstrip("\r"))))}
                 for number, text in examples)
    count = sum(lines.counts[enc] for enc in lines.others)
    return Issue("encoding_mixed", "info", count, None, "kept", rows, params={
        "encoding": ENCODING_NAMES.get(lines.main, lines.main),
        "other": ", ".join(ENCODING_NAMES.get(enc, enc) for enc in lines.others),
        "main_count": f"{lines.counts[lines.main]:,}",
        "lines": ", ".join(str(number) for number, _ in examples)})


def _check_zip(data: bytes, max_unzipped_bytes: int, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS) -> None:
    """Zip-bomb and cell-range check of a workbook archive (:func:`crm_core.io.archive.check_workbook`)."""
    check_workbook(data, max_unzipped_bytes, max_rows, max_columns)


def _read_workbook(data: bytes, fmt: str, sheet: Any, max_rows: int, max_columns: int,
                   max_unzipped_bytes: int) -> _Table:
    """First non-empty (or the named) sheet via calamine, every cell as text (numbers without ``.0``)."""
    import fastexcel

    if fmt == "xlsx":
        _check_zip(data, max_unzipped_bytes, max_rows, max_columns)
    reader = fastexcel.read_excel(data)
    names = list(reader.sheet_names)
    if sheet is not None:
        if isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(names):
            candidates = [names[sheet]]
        elif str(sheet) in names:
            candidates = [str(sheet)]
        else:
            raise DataError("io.error.sheet_not_found", {"sheet": str(sheet), "sheets": ", ".join(names)})
    else:
        candidates = names
    raw = None
    chosen = candidates[0] if candidates else None
    for candidate in candidates:
        loaded = reader.load_sheet(candidate, header_row=None, dtypes="string").to_polars()
        if loaded.height and loaded.width:
            raw, chosen = loaded, candidate
            break
    if raw is None:
        raise DataError("io.error.empty", {})
    raw = raw.select(pl.all().cast(pl.String))
    if raw.width > max_columns:
        raise DataError("io.error.too_many_columns", {"columns": raw.width, "limit": max_columns})
    if raw.height - 1 > max_rows:
        raise DataError("io.error.too_many_rows", {"rows": f"{raw.height - 1:,}", "limit": f"{max_rows:,}"})
    skip = _title_rows([list(row) for row in raw.head(TITLE_ROWS_MAX + 1).rows()])
    issues: list[Issue] = []
    if skip:
        issues.append(Issue("title_rows_skipped", "info", skip, None, "dropped"))
    headers, header_issues = _clean_headers(list(raw.row(skip)))
    frame = raw.slice(skip + 1)
    frame.columns = [f"__c{i}" for i in range(frame.width)]
    frame = frame.with_row_index("__row", offset=skip + 2).with_columns(pl.col("__row").cast(pl.Int64))
    return _Table(frame, headers, fmt, sheet=chosen, issues=issues + header_issues)


def _read_parquet(data: bytes, *, max_rows: int, max_columns: int) -> _Table:
    schema = pl.read_parquet_schema(io.BytesIO(data))
    if len(schema) > max_columns:
        raise DataError("io.error.too_many_columns", {"columns": len(schema), "limit": max_columns})
    frame = pl.read_parquet(io.BytesIO(data), n_rows=max_rows + 1)
    if frame.height > max_rows:
        raise DataError("io.error.too_many_rows", {"rows": f">{max_rows:,}", "limit": f"{max_rows:,}"})
    headers, issues = _clean_headers(list(frame.columns))
    unsupported = [h for h, dtype in zip(headers, frame.dtypes) if not _is_scalar(dtype)]
    keep = [i for i, dtype in enumerate(frame.dtypes) if _is_scalar(dtype)]
    if unsupported:
        issues.append(Issue("unsupported_columns", "info", len(unsupported), ", ".join(unsupported), "dropped"))
    frame = frame.select([pl.nth(i).alias(f"__c{j}") for j, i in enumerate(keep)])
    headers = [headers[i] for i in keep]
    frame = frame.with_row_index("__row", offset=2).with_columns(pl.col("__row").cast(pl.Int64))
    return _Table(frame, headers, "parquet", issues=issues)


def _is_scalar(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype.is_temporal() or dtype in (pl.String, pl.Boolean, pl.Null) or isinstance(
        dtype, (pl.Categorical, pl.Enum))
