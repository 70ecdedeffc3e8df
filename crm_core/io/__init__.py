"""Read CRM exports (CSV/TSV/TXT, Excel, Parquet) into the canonical tables of ``schema.py``.

The one entry point is :func:`read_table`. It never guesses silently: every row it drops or value it
blanks is counted in a :class:`LoadReport` with up to five example rows, and input it cannot use raises
:class:`DataError` (an i18n key plus params), the only exception that leaves this package for any bytes.

Steps (research/platform_notes.md §3, §4.4):

1. bytes: size limit; format from magic bytes (``PK`` workbook, ``PAR1`` Parquet, OLE2 legacy ``.xls``),
   otherwise text. A file on disk is not read whole into memory: text in one encoding is read by polars
   from the file itself (UTF-8) or from a UTF-8 copy transcoded block by block (GB18030, Big5, UTF-16);
   only a file that needs the whole-file cascade below (a mix of encodings) is held in memory.
2. text: encoding cascade BOM → strict UTF-8 → strict GB18030 (superset of GBK/GB2312) or Big5 →
   line by line when the bytes mix encodings (reported with counts and example lines) →
   charset-normalizer; lines valid in no encoding are dropped and reported, never stored as "�";
   delimiter sniffed among ``, ; TAB |``;
   title rows above the header skipped; everything read as String (``infer_schema=False``), ragged
   rows counted.
3. headers: BOM/whitespace stripped, duplicates and blanks renamed, mapped with
   :func:`crm_core.schema.detect_mapping` unless a mapping is given.
4. values: ids kept as written; dates by explicit rules (ISO, ``2024/1/5``, ``1/5/2024`` with the
   day/month order decided from the values, two-digit years, ``2024年1月5日``, ``20240105``, Excel
   serials, month names); amounts with currency, thousands separators, accounting negatives,
   full-width digits and 万/亿 multipliers. Everything is a polars expression; no per-row Python.

Modules, in the order a read goes through them:

- ``read``: the entry points (:func:`read_table`, :func:`sniff_headers`, :func:`list_sheets`); ``isolated``
  runs them in a child process with a memory cap and a time limit (:func:`read_table_isolated`).
- ``source``: the bytes of a path, bytes or upload, and the format from magic bytes.
- ``encoding``: the encoding cascade and the binary-junk check.
- ``sniff``: delimiter, title rows, header row and clean header names.
- ``readers``: one reader per format (CSV, workbook, Parquet) and the zip-bomb check.
- ``mapping``: which source column is which canonical column.
- ``rows``: the rows as text and the parsing of ids, dates and numbers, column by column.
- ``values``, ``dates``, ``currency``: cell text to numbers and dates; the currency of the amounts.
- ``clean``: from a read table to a :class:`LoadResult`, counting every row dropped or value blanked.
- ``report``: the contract (:class:`DataError`, :class:`Issue`, :class:`LoadReport`, :class:`LoadResult`
  and every key they carry); ``limits``: the input limits and the sniffing window.
"""
from __future__ import annotations

from crm_core.io.read import list_sheets, read_table, sniff_headers
from crm_core.io.report import DATE_ORDERS, ERROR_KEYS, ISSUE_KEYS, DataError, Issue, LoadReport, LoadResult
from crm_core.io.values import parse_numbers

__all__ = ["DataError", "Issue", "LoadReport", "LoadResult", "read_table", "sniff_headers", "list_sheets",
           "parse_numbers", "ERROR_KEYS", "ISSUE_KEYS", "DATE_ORDERS"]
