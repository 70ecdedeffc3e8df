"""The public entry points: :func:`read_table`, :func:`sniff_headers` and :func:`list_sheets`, each raising
only :class:`~crm_core.io.report.DataError`."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl

from crm_core.io.clean import _clean
from crm_core.io.encoding import _decode_prefix
from crm_core.io.limits import MAX_BYTES, MAX_COLUMNS, MAX_ROWS, SNIFF_BYTES
from crm_core.io.readers import _check_zip, _read_any, _read_workbook
from crm_core.io.report import DataError, LoadResult
from crm_core.io.sniff import _clean_headers, _sniff_csv
from crm_core.io.source import _detect_format, _open_source, _read_bytes, _source_name
from crm_core.schema import KINDS


def read_table(
    source: Any,
    kind: str = "transactions",
    mapping: dict[str, str | None] | None = None,
    *,
    sheet: str | int | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    today: date | None = None,
    date_order: str | None = None,
    drop_duplicates: bool = False,
) -> LoadResult:
    """Read one CRM export into the canonical ``kind`` table and report every problem found.

    Parameters
    ----------
    source : path (str/Path), bytes, or a binary file-like object (``.read()``, optional ``.name``).
    kind : ``"transactions"`` | ``"customers"`` | ``"interactions"`` (``schema.KINDS``).
    mapping : ``{source header: canonical name}`` overriding detection; ``""``/``None`` keeps a header as
        an extra column. Headers not named are still detected (for canonical names not yet taken).
    sheet : workbook sheet name (or 0-based index); default the first non-empty sheet.
    max_bytes, max_rows, max_columns : input limits; beyond them a ``DataError`` is raised.
    today : the load day; dates after it are reported as ``future_dates`` (skipped when None: no clock).
    date_order : ``"day-first"`` or ``"month-first"`` to force how ``1/5/2024`` is read; default: decided
        from the values (any first part > 12 → day-first, any second part > 12 → month-first).
    drop_duplicates : drop lines that repeat an earlier line exactly. Off by default: real receipts repeat
        lines (two identical items scanned separately), so repeats are kept and counted in the report.

    Raises
    ------
    DataError
        For anything that cannot be used, and for any unexpected failure (``io.error.unreadable``).
    """
    def load() -> LoadResult:
        if kind not in KINDS:
            raise DataError("io.error.unknown_kind", {"kind": str(kind), "kinds": ", ".join(KINDS)})
        if date_order not in (None, "auto", "day-first", "month-first"):
            raise DataError("io.error.bad_option", {"option": "date_order", "value": str(date_order)})
        data = _open_source(source, max_bytes)
        table = _read_any(data, sheet=sheet, max_rows=max_rows, max_columns=max_columns,
                          max_unzipped_bytes=5 * max_bytes)
        return _clean(table, kind, mapping, name=_source_name(source), today=today,
                      date_order=None if date_order == "auto" else date_order, drop_duplicates=drop_duplicates)

    return _only_data_errors(source, load)


def sniff_headers(source: Any, *, sheet: str | int | None = None, max_bytes: int = MAX_BYTES) -> list[str]:
    """The header row only (as :func:`read_table` will name the columns), for the mapping UI.

    CSV reads just the first 64 KiB; workbooks are parsed (calamine reads the whole sheet anyway);
    Parquet reads the schema. Raises only :class:`DataError`.
    """
    def headers() -> list[str]:
        data = _read_bytes(source, max_bytes, prefix=SNIFF_BYTES)
        fmt = _detect_format(data)
        if fmt == "csv":
            head = _decode_prefix(data).head
            if "\n" not in head and "\r" in head:
                head = head.replace("\r", "\n")
            return list(_sniff_csv(head, truncated=len(data) >= SNIFF_BYTES).headers)
        data = _read_bytes(source, max_bytes)
        if fmt in ("xlsx", "xls"):
            return list(_read_workbook(data, fmt, sheet, MAX_ROWS, MAX_COLUMNS, 5 * max_bytes).headers)
        return _clean_headers(list(pl.read_parquet_schema(io.BytesIO(data))))[0]

    return _only_data_errors(source, headers)


def list_sheets(source: Any, *, max_bytes: int = MAX_BYTES) -> list[str]:
    """Sheet names of a workbook in file order (``[]`` for CSV and Parquet), for a sheet picker.

    Raises only :class:`DataError`.
    """
    def sheets() -> list[str]:
        data = _read_bytes(source, max_bytes)
        fmt = _detect_format(data)
        if fmt not in ("xlsx", "xls"):
            return []
        import fastexcel

        if fmt == "xlsx":
            _check_zip(data, 5 * max_bytes)
        return list(fastexcel.read_excel(data).sheet_names)

    return _only_data_errors(source, sheets)


def _only_data_errors(source: Any, call: Callable[[], Any]) -> Any:
    """Run ``call``; any failure other than DataError (or MemoryError) becomes ``io.error.unreadable``."""
    try:
        return call()
    except DataError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except MemoryError:  # not a defect of the file: the reader's memory ran out (see crm_core.io.isolated)
        raise
    except BaseException as exc:  # noqa: BLE001 - polars panics derive from BaseException; none may escape
        raise DataError("io.error.unreadable", {"name": _source_name(source), "detail": type(exc).__name__}) from exc
