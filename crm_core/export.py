"""Formula-safe downloads: CSV with a UTF-8 BOM and .xlsx with formulas off.

A cell that begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return is run as a formula by
spreadsheet programs (OWASP "CSV Injection"). In CSV, which has no cell types, such text cells get a
leading apostrophe (OWASP's advice). In .xlsx every text is a string cell, never a formula, and those
cells also carry Excel's own quote-prefix style (what typing ``'=3+3`` makes): the value stays exactly
``=3+3`` and editing the cell keeps it text. Only text columns are touched: numbers (refunds are
negative) stay numbers. Headers are treated the same, since extra columns carry the uploader's header names.

Money columns carry the currency in their header (``Revenue (TWD)``, :func:`money_headers`) rather than
as a column of its own or a symbol in each cell: the amounts stay numbers a spreadsheet sums and pivots,
and the unit is read once, where a manager looks for it, and stays with the file when it is forwarded.
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import overload

import polars as pl
import xlsxwriter

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d)(\d{4})(\d{4})$")


@overload
def neutralise_text(value: str) -> str: ...
@overload
def neutralise_text(value: None) -> None: ...
def neutralise_text(value: str | None) -> str | None:
    """Prefix an apostrophe when a spreadsheet would read the text as a formula."""
    if value and value.startswith(TRIGGERS):
        return "'" + value
    return value


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column (and header) made formula-safe; other columns untouched."""
    renamed = frame.rename({c: neutralise_text(c) for c in frame.columns if neutralise_text(c) != c})
    text_columns = [c for c, dtype in renamed.schema.items() if dtype == pl.String]
    pattern = "^[" + re.escape("".join(TRIGGERS)) + "]"
    return renamed.with_columns(
        pl.when(pl.col(c).str.contains(pattern)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text_columns
    )


def money_header(header: str, currency: str | None) -> str:
    """A money column's header with the currency code: ``revenue`` → ``revenue (TWD)``; unchanged for None."""
    return f"{header} ({currency})" if currency else header


def money_headers(frame: pl.DataFrame, columns: Sequence[str], currency: str | None) -> pl.DataFrame:
    """``frame`` with the headers of its money ``columns`` (those present) naming ``currency`` (ISO 4217)."""
    return frame.rename({name: money_header(name, currency) for name in columns if name in frame.columns})


def _flatten_for_export(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists and structs become text; datetimes stay datetimes (both writers handle them)."""
    converted = []
    for column, dtype in frame.schema.items():
        if isinstance(dtype, pl.List):
            converted.append(pl.col(column).list.eval(pl.element().cast(pl.String)).list.join(", ").alias(column))
        elif isinstance(dtype, (pl.Struct, pl.Object)):
            converted.append(pl.col(column).cast(pl.String).alias(column))
    return frame.with_columns(converted) if converted else frame


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 CSV with a BOM (Excel opens Chinese text correctly only with one), formula-safe."""
    return neutralise(_flatten_for_export(frame)).write_csv(include_bom=True).encode("utf-8")


def to_excel_bytes(frame: pl.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook with one sheet, written with xlsxwriter's formula parsing switched off.

    Every text is a string cell (``strings_to_formulas`` off), so ``=3+3`` is stored as the text
    ``=3+3``, never as a formula and without the apostrophe CSV needs; formula-like cells and headers
    also get the quote-prefix style, so Excel keeps them text when someone edits them. Infinite or
    NaN numbers (a rule's conviction when it never fails) become empty cells: xlsxwriter cannot store
    them as numbers.
    """
    floats = [c for c, dtype in frame.schema.items() if dtype.is_float()]
    if floats:
        frame = frame.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats)
    frame = _flatten_for_export(frame)
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                      "remove_timezone": True}) as workbook:
        frame.write_excel(workbook=workbook, worksheet=sheet, autofit=True)
        worksheet = workbook.get_worksheet_by_name(sheet)
        as_text = workbook.add_format({"quote_prefix": True})
        pattern = "^[" + re.escape("".join(TRIGGERS)) + "]"
        for column, (name, dtype) in enumerate(frame.schema.items()):
            if name.startswith(TRIGGERS):
                worksheet.write_string(0, column, name, as_text)
            if dtype != pl.String:
                continue
            rows = frame.select(pl.col(name).str.contains(pattern).fill_null(False).arg_true()).to_series()
            for row in rows:  # data starts under the header row
                worksheet.write_string(row + 1, column, frame[row, name], as_text)
    return buffer.getvalue()


def mask_phone(value: str | None) -> str | None:
    """``13812345678`` → ``138****5678`` (Chinese mobile); other numbers keep their last four digits."""
    if not value:
        return value
    digits = re.sub(r"[\s\-()]", "", value)
    match = _MOBILE.match(digits)
    if match:
        return f"{match.group(1)}****{match.group(3)}"
    return "****" + digits[-4:] if len(digits) > 4 else "****"


def mask_email(value: str | None) -> str | None:
    """``zhang.wei@example.com`` → ``z****@example.com``."""
    if not value or "@" not in value:
        return value
    local, _, domain = value.partition("@")
    return f"{local[:1]}****@{domain}"


def mask_contacts(frame: pl.DataFrame) -> pl.DataFrame:
    """Phone and email columns masked (every download, and the screen by default), vectorised:
    the same rules as :func:`mask_phone` and :func:`mask_email`."""
    masks = []
    if "phone" in frame.columns:
        digits = pl.col("phone").cast(pl.String).str.replace_all(r"[\s\-()]", "")
        masks.append(
            pl.when(digits.str.contains(r"^(?:\+?86)?1[3-9]\d{9}$"))
            .then(digits.str.replace(r"^(?:\+?86)?(1[3-9]\d)\d{4}(\d{4})$", "${1}****${2}"))
            .when(digits.str.len_chars() > 4).then(pl.lit("****") + digits.str.slice(-4))
            .when(digits.str.len_chars() > 0).then(pl.lit("****"))
            .otherwise(digits)
            .alias("phone")
        )
    if "email" in frame.columns:
        masks.append(pl.col("email").cast(pl.String).str.replace(r"^([^@])[^@]*@", "${1}****@").alias("email"))
    return frame.with_columns(masks) if masks else frame
