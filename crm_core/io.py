"""Read CRM exports (CSV/TSV/TXT, Excel, Parquet) into the canonical tables of ``schema.py``.

The one entry point is :func:`read_table`. It never guesses silently: every row it drops or value it
blanks is counted in a :class:`LoadReport` with up to five example rows, and input it cannot use raises
:class:`DataError` (an i18n key plus params), the only exception that leaves this module for any bytes.

Steps (research/platform_notes.md §3, §4.4):

1. bytes: size limit; format from magic bytes (``PK`` workbook, ``PAR1`` Parquet, OLE2 legacy ``.xls``),
   otherwise text.
2. text: encoding cascade BOM → strict UTF-8 → strict GB18030 (superset of GBK/GB2312) →
   charset-normalizer → UTF-8 with replacement (reported); delimiter sniffed among ``, ; TAB |``;
   title rows above the header skipped; everything read as String (``infer_schema=False``), ragged
   rows counted.
3. headers: BOM/whitespace stripped, duplicates and blanks renamed, mapped with
   :func:`crm_core.schema.detect_mapping` unless a mapping is given.
4. values: ids kept as written; dates by explicit rules (ISO, ``2024/1/5``, ``1/5/2024`` with the
   day/month order decided from the values, two-digit years, ``2024年1月5日``, ``20240105``, Excel
   serials, month names); amounts with currency, thousands separators, accounting negatives,
   full-width digits and 万/亿 multipliers. Everything is a polars expression; no per-row Python.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import polars as pl

from crm_core.schema import (COLUMNS, DATE_COLUMNS, ID_COLUMNS, KINDS, NUMBER_COLUMNS, REQUIRED, SYNONYMS, detect_mapping,
                             normalize_header)

__all__ = ["DataError", "Issue", "LoadReport", "LoadResult", "read_table", "sniff_headers", "list_sheets",
           "parse_numbers", "ERROR_KEYS", "ISSUE_KEYS", "DATE_ORDERS"]

MAX_BYTES = 200 * 1024 * 1024
MAX_ROWS = 5_000_000
MAX_COLUMNS = 1_000
SNIFF_BYTES = 64 * 1024          # prefix used to detect encoding, delimiter and header
SNIFF_RECORDS = 50               # records of that prefix used to choose the delimiter
TITLE_ROWS_MAX = 20              # how far down a header row may sit under title lines
EXAMPLES_MAX = 5
EXAMPLE_COLUMNS_MAX = 20
DELIMITERS = (",", "\t", ";", "|")
EXCEL_EPOCH = datetime(1899, 12, 30)  # absorbs Excel's 1900 leap-year bug for serials > 60
EXCEL_SERIAL_RANGE = (date(1920, 1, 1), date(2100, 12, 31))
TWO_DIGIT_YEAR_PIVOT = 69        # POSIX %y: 00-68 -> 20xx, 69-99 -> 19xx
SATISFACTION_RANGE = (1.0, 5.0)

# Every key this module can emit (each has an English and a Chinese template in ui/locales/*/io.toml).
ERROR_KEYS = tuple(f"io.error.{k}" for k in (
    "empty", "header_only", "not_a_table", "unsupported_format", "too_large", "too_many_rows", "too_many_columns",
    "missing_columns", "duplicate_mapping", "unknown_column", "unknown_kind", "sheet_not_found",
    "suspicious_archive", "unreadable", "file_not_found", "bad_option"))
ISSUE_KEYS = (
    # problems: rows dropped or values blanked
    "ragged_rows", "duplicate_rows", "missing_customer_id", "missing_required", "unparseable_date",
    "unparseable_amount", "unparseable_number", "duplicate_customer_id", "out_of_range", "scientific_ids",
    "encoding_replaced",
    # notes: kept as read, worth knowing
    "encoding_guessed", "encoding_traditional", "money_column_chosen", "no_header", "whitespace_delimited",
    "no_amounts", "duplicate_rows_kept", "title_rows_skipped", "empty_headers", "duplicate_headers", "unsupported_columns",
    "id_float_suffix_removed", "derived_amount", "negative_amounts", "zero_amounts", "future_dates",
    "excel_serial_dates", "two_digit_years", "decimal_comma", "date_order_day_first", "date_order_month_first",
    "date_order_conflict", "date_order_assumed_month_first", "date_order_assumed_day_first",
)
DATE_ORDERS = ("year-first", "day-first", "month-first")

# Cell texts that mean "no value" in typed columns (ids, dates, numbers); free-text columns only drop
# the first few, since "-" or "无" can be a legitimate category there.
_TEXT_NULLS = ("null", "NULL", "Null", "nan", "NaN", "None", "#N/A", "N/A", "n/a")
_VALUE_NULLS = _TEXT_NULLS + ("NA", "na", "-", "--", "---", "—", "–", "无", "空", "(空)", "#VALUE!", "#REF!",
                              "0000-00-00", "0000-00-00 00:00:00", "00/00/0000")


# ------------------------------------------------------------------------------------------ contract

class DataError(Exception):
    """Input that cannot be used. ``key`` is an i18n key (``io.error.*``), ``params`` its fields."""

    def __init__(self, key: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(key, dict(params or {}))
        self.key = key
        self.params = dict(params or {})

    def __str__(self) -> str:
        return f"{self.key} {self.params}" if self.params else self.key


@dataclass(frozen=True)
class Issue:
    """One counted data-quality finding.

    ``severity`` is ``"problem"`` when data was dropped, blanked or is likely wrong, ``"info"`` when it was
    kept as is and is only worth knowing (refunds, zero amounts, future dates, the date order chosen).
    ``examples`` are up to five source rows as ``{header: text}`` plus ``"_row"`` (1-based row number in
    the file, the header being row 1).
    """

    key: str
    severity: str
    count: int
    column: str | None = None
    action: str = "kept"
    examples: tuple[dict, ...] = ()
    params: dict = field(default_factory=dict, hash=False, compare=False)  # more fields for the message


@dataclass(frozen=True)
class LoadReport:
    """What :func:`read_table` read, how it mapped it and what it found."""

    kind: str
    source_name: str
    file_format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    headers: tuple[str, ...]
    mapping: dict[str, str]
    unmapped: tuple[str, ...]
    date_order: str | None
    rows_read: int
    rows_kept: int
    issues: tuple[Issue, ...] = ()
    currency: str | None = None     # ISO 4217 code seen in the amounts (¥ → CNY, NT$ → TWD …), None: no sign
    has_header: bool = True

    @property
    def problems(self) -> tuple[Issue, ...]:
        return tuple(issue for issue in self.issues if issue.severity == "problem")

    def to_dict(self) -> dict:
        """JSON-safe dict (lists, str, int, None only)."""
        return {
            "kind": self.kind, "source_name": self.source_name, "file_format": self.file_format,
            "encoding": self.encoding, "delimiter": self.delimiter, "sheet": self.sheet,
            "headers": list(self.headers), "mapping": dict(self.mapping), "unmapped": list(self.unmapped),
            "date_order": self.date_order, "rows_read": self.rows_read, "rows_kept": self.rows_kept,
            "currency": self.currency, "has_header": self.has_header,
            "issues": [
                {"key": i.key, "severity": i.severity, "count": i.count, "column": i.column, "action": i.action,
                 "examples": [dict(example) for example in i.examples], "params": dict(i.params)}
                for i in self.issues
            ],
        }

    @classmethod
    def from_dict(cls, d: dict) -> LoadReport:
        return cls(
            kind=d["kind"], source_name=d.get("source_name", ""), file_format=d.get("file_format", "csv"),
            encoding=d.get("encoding"), delimiter=d.get("delimiter"), sheet=d.get("sheet"),
            headers=tuple(d.get("headers", ())), mapping=dict(d.get("mapping", {})),
            unmapped=tuple(d.get("unmapped", ())), date_order=d.get("date_order"),
            rows_read=int(d.get("rows_read", 0)), rows_kept=int(d.get("rows_kept", 0)),
            currency=d.get("currency"), has_header=bool(d.get("has_header", True)),
            issues=tuple(
                Issue(key=i["key"], severity=i["severity"], count=int(i["count"]), column=i.get("column"),
                      action=i.get("action", "kept"), examples=tuple(dict(e) for e in i.get("examples", ())),
                      params=dict(i.get("params", {})))
                for i in d.get("issues", ())
            ),
        )


@dataclass(frozen=True)
class LoadResult:
    """``df``: canonical columns (schema dtypes) then extra source columns (String).
    ``rejected``: dropped rows as text with ``_row`` and ``_reason`` (an ``io.issue`` key)."""

    df: pl.DataFrame
    report: LoadReport
    rejected: pl.DataFrame


# ------------------------------------------------------------------------------------------ public API

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
        data = _read_bytes(source, max_bytes)
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
    """Run ``call``; any failure other than DataError becomes ``io.error.unreadable`` (the contract)."""
    try:
        return call()
    except DataError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - polars panics derive from BaseException; none may escape
        raise DataError("io.error.unreadable", {"name": _source_name(source), "detail": type(exc).__name__}) from exc


# ------------------------------------------------------------------------------------------ bytes in

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
        path = Path(source)
        if not path.is_file():
            raise DataError("io.error.file_not_found", {"name": path.name})
        size = path.stat().st_size
        if size > max_bytes:
            raise DataError("io.error.too_large", {"size_mb": round(size / 1024 / 1024, 1), "limit_mb": limit_mb})
        with path.open("rb") as handle:
            data = handle.read(prefix if prefix else max_bytes + 1)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except Exception:  # noqa: BLE001 - unseekable streams are read from where they are
                pass
        data = source.read(prefix if prefix else max_bytes + 1)
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except Exception:  # noqa: BLE001
                pass
        if isinstance(data, str):
            data = data.encode("utf-8")
        data = bytes(data or b"")
    else:
        raise DataError("io.error.unreadable", {"name": "", "detail": type(source).__name__})
    if len(data) > max_bytes:
        raise DataError("io.error.too_large", {"size_mb": round(len(data) / 1024 / 1024, 1), "limit_mb": limit_mb})
    return data


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


# ------------------------------------------------------------------------------------------ text

@dataclass
class _Decoded:
    encoding: str                   # label for the report
    body: bytes                     # UTF-8 bytes (what polars reads)
    issues: list[Issue] = field(default_factory=list)

    @property
    def head(self) -> str:
        """The first ``SNIFF_BYTES`` as text (a character cut at the end is dropped)."""
        return self.body[:SNIFF_BYTES].decode("utf-8", errors="ignore")


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: most of the first bytes of ASCII-range text alternate with NULs."""
    head = data[:2048]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _decode(data: bytes, *, final: bool = True) -> _Decoded:
    """Encoding cascade of platform_notes §3.1: BOM → UTF-8 → GB18030 → charset-normalizer → lossy.

    UTF-8 input is only validated (polars reads the original bytes); other encodings are decoded and
    re-encoded as UTF-8. With ``final=False`` the data is a prefix, and a multibyte character cut at
    its end is tolerated.
    """
    def text_of(encoding: str, body: bytes) -> str:
        if final:
            return body.decode(encoding)
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(body, final=False)

    def recoded(encoding: str, body: bytes, label: str, issues: list[Issue] | None = None) -> _Decoded:
        return _Decoded(label, text_of(encoding, body).encode("utf-8"), issues or [])

    if data.startswith(codecs.BOM_UTF8):
        body = data[3:]
        try:
            if not body.isascii():
                text_of("utf-8", body)
            return _Decoded("utf-8-sig", body)
        except UnicodeDecodeError:
            pass
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            body = data[2:] if final else data[2: len(data) - len(data) % 2]
            try:
                return recoded(encoding, body, "utf-16")
            except UnicodeDecodeError:
                break
    utf16 = _looks_utf16(data)
    if utf16:
        try:
            return recoded(utf16, data if final else data[: len(data) - len(data) % 2], utf16)
        except UnicodeDecodeError:
            pass
    if data.isascii():
        return _Decoded("utf-8", data)
    try:
        text_of("utf-8", data)
        return _Decoded("utf-8", data)
    except UnicodeDecodeError:
        pass
    # Simplified (GB18030, a GBK superset) or Traditional (Big5 as Windows' cp950). GB18030 decodes almost
    # any bytes, so "no error" proves nothing: rank the decodings of the first bytes by how much they read
    # as real Chinese (known header words, common characters; not kana or private-use), then decode all.
    prefix = data[:SNIFF_BYTES]
    ranked = []
    for encoding in ("gb18030", "cp950"):
        try:
            head = codecs.getincrementaldecoder(encoding)(errors="strict").decode(prefix, final=len(data) <= SNIFF_BYTES)
            ranked.append((_chinese_score(head), encoding))
        except UnicodeDecodeError:
            pass
    for _, encoding in sorted(ranked, reverse=True):
        try:
            text = text_of(encoding, data)
        except UnicodeDecodeError:
            continue
        issues = [Issue("encoding_traditional", "info", 1, None, "kept")] if encoding == "cp950" else []
        return _Decoded(encoding, text.encode("utf-8"), issues)
    guessed = _guess_encoding(data[:SNIFF_BYTES])
    if guessed:
        try:
            return recoded(guessed, data, guessed, [Issue("encoding_guessed", "info", 1, None, "kept")])
        except (UnicodeDecodeError, LookupError):
            pass
    text = data.decode("utf-8", errors="replace")
    return _Decoded("utf-8 (lossy)", text.encode("utf-8"),
                    [Issue("encoding_replaced", "problem", text.count("\ufffd"), None, "kept")])


@lru_cache(maxsize=1)
def _common_chinese() -> frozenset[str]:
    """The characters of everyday Chinese text: GB2312 level 1 (the 3,755 commonest Simplified characters)
    and Big5 level 1 (the 5,401 commonest Traditional ones), decoded from the code tables themselves."""
    chars: set[str] = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for code in range(0xA440, 0xC67F):
        lead, trail = divmod(code, 256)
        if 0x40 <= trail <= 0x7E or 0xA1 <= trail <= 0xFE:
            try:
                chars.add(bytes((lead, trail)).decode("cp950"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


_ODD_IN_CHINESE = re.compile("[\u3040-\u30ff\uac00-\ud7af\ue000-\uf8ff\u0400-\u04ff\u0370-\u03ff\u2500-\u257f]")


def _chinese_score(text: str) -> float:
    """How much ``text`` reads as real Chinese: each header cell that is a known column name counts 1,
    plus the share of CJK characters that are common ones, minus kana, Hangul, private-use, Cyrillic,
    Greek and box-drawing characters (what a wrong decoding of the other script produces)."""
    first_line = text.split("\n", 1)[0]
    known = {key for table in SYNONYMS.values() for key in table}
    cells = re.split(r"[,;\t|]", first_line)
    header_hits = sum(1 for cell in cells if normalize_header(cell.strip().strip('"')) in known)
    common = _common_chinese()
    cjk = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    odd = len(_ODD_IN_CHINESE.findall(text))
    share = (sum(1 for ch in cjk if ch in common) - 2 * odd) / max(1, len(cjk) + odd)
    return header_hits + share


def _guess_encoding(sample: bytes) -> str | None:
    """charset-normalizer's best guess, or None (it is a last resort: wrong on short CJK samples)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - installed with requests
        return None
    best = from_bytes(sample).best()
    return best.encoding if best is not None else None


def _decode_prefix(data: bytes) -> _Decoded:
    decoded = _decode(data[:SNIFF_BYTES], final=len(data) <= SNIFF_BYTES)
    _check_text(decoded.head)
    return decoded


_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")


def _check_text(sample: str, max_control_share: float = 0.01) -> None:
    """Binary junk decodes into control characters; real exports contain (almost) none."""
    head = sample[:SNIFF_BYTES]
    if not head.strip().strip("\ufeff"):
        raise DataError("io.error.empty", {})
    if "\x00" in head:
        raise DataError("io.error.not_a_table", {"format": "binary"})
    controls = len(_CONTROL_CHARS.findall(head))
    if controls > max_control_share * len(head):
        raise DataError("io.error.not_a_table", {"format": "binary"})


@dataclass
class _Sniff:
    delimiter: str
    skip: int                  # records before the header row (title lines, ``sep=`` line)
    headers: tuple[str, ...]   # unique, cleaned
    raw_headers: tuple[str, ...]
    width: int                 # number of columns to read
    issues: list[Issue]
    has_header: bool = True    # False: the first record is data (columns named column_1 …)
    whitespace: bool = False   # columns separated by runs of spaces (CDNOW_master.txt and other fixed-width text)


def _sniff_csv(text: str, truncated: bool = False) -> _Sniff:
    """Delimiter, header row and width from the first records of the decoded text (a prefix when
    ``truncated``: its last, possibly cut, line is ignored)."""
    sample = text[:SNIFF_BYTES]
    if (truncated or len(text) > SNIFF_BYTES) and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    sample = sample.lstrip("\ufeff")
    first_line = sample.split("\n", 1)[0].strip()
    forced = None
    if re.fullmatch(r"sep=.", first_line):  # Excel's explicit separator line
        forced = first_line[-1]
        sample = sample.split("\n", 1)[1] if "\n" in sample else ""

    def records(delimiter: str) -> list[list[str]]:
        rows: list[list[str]] = []
        try:
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"'):
                rows.append(row)
                if len(rows) >= SNIFF_RECORDS + TITLE_ROWS_MAX:
                    break
        except csv.Error:
            pass  # a prefix may stop inside a quoted field
        return rows

    def score(rows: list[list[str]]) -> tuple[float, int]:
        counts = [len(r) for r in rows if any(cell.strip() for cell in r)]
        if not counts:
            return (0.0, 0)
        mode, hits = max(Counter(counts).items(), key=lambda item: (item[1], item[0]))
        return ((hits / len(counts)) if mode > 1 else 0.0, mode)

    whitespace = False
    if forced:
        delimiter, rows = forced, records(forced)
    else:
        candidates = [(score(rows), -i, d, rows) for i, d in enumerate(DELIMITERS) for rows in [records(d)]]
        (best, _, delimiter, rows) = max(candidates, key=lambda item: (item[0], item[1]))
        spaced = [line.split() for line in sample.splitlines()[: SNIFF_RECORDS + TITLE_ROWS_MAX]]
        spaced_score = score(spaced)
        if best[0] < 0.9 and spaced_score[0] >= 0.9 and spaced_score[1] > max(best[1], 1):
            delimiter, rows, whitespace = "\t", spaced, True  # read as tab-separated once runs are folded
    skip = _title_rows(rows)
    issues = []
    if skip:
        issues.append(Issue("title_rows_skipped", "info", skip, None, "dropped"))
    raw = rows[skip] if skip < len(rows) else []
    data_counts = [len(r) for r in rows[skip + 1:] if any(cell.strip() for cell in r)]
    modal = Counter(data_counts).most_common(1)[0][0] if data_counts else 0
    width = max(len(raw), modal, 1)
    raw = list(raw) + [""] * (width - len(raw))
    has_header = not _looks_like_data(raw, rows[skip + 1: skip + 1 + SNIFF_RECORDS])
    if not has_header:
        raw = [""] * width
        issues.append(Issue("no_header", "info", 1, None, "kept"))
    if whitespace:
        issues.append(Issue("whitespace_delimited", "info", 1, None, "kept"))
    headers, header_issues = _clean_headers(raw)
    if not has_header:
        header_issues = [i for i in header_issues if i.key != "empty_headers"]
    return _Sniff(delimiter, skip + (1 if forced else 0), tuple(headers), tuple(raw), width, issues + header_issues,
                  has_header=has_header, whitespace=whitespace)


_DATA_LIKE = re.compile(r"^[-+(]?[¥$€£]?[0-9][0-9.,:/\- ]*[)]?$")


def _looks_like_data(first: list[str], following: list[list[str]]) -> bool:
    """Whether the first record is a data row, not a header: no cell is a known column name, every filled
    cell is a number, date or code, and the next records look the same in those places."""
    cells = [str(cell or "").strip() for cell in first]
    filled = [cell for cell in cells if cell]
    if len(filled) < 2:
        return False
    known = {key for table in SYNONYMS.values() for key in table}
    if any(normalize_header(cell) in known for cell in filled):
        return False
    if not all(_DATA_LIKE.match(cell) for cell in filled):
        return False
    alike = [row for row in following if len(row) == len(cells)
             and all(bool(_DATA_LIKE.match(str(row[i]).strip())) for i, cell in enumerate(cells) if cell)]
    return len(alike) >= 0.8 * max(1, len(following))


def _title_rows(rows: list[list[str]]) -> int:
    """Leading rows with at most one filled cell above a row with several (report titles, blank lines)."""
    filled = [sum(1 for cell in row if str(cell or "").strip()) for row in rows[: TITLE_ROWS_MAX + 1]]
    skip = 0
    while skip < len(filled) - 1 and filled[skip] <= 1 and any(n >= 2 for n in filled[skip + 1:]):
        skip += 1
    return skip if skip < TITLE_ROWS_MAX else 0


def _clean_headers(raw: list[Any]) -> tuple[list[str], list[Issue]]:
    """Strip BOM/whitespace, name blanks ``column_N``, make duplicates unique as ``name (2)``."""
    cleaned = [str(h if h is not None else "").replace("\ufeff", "").strip() for h in raw]
    issues: list[Issue] = []
    blanks = sum(1 for h in cleaned if not h)
    names = [h or f"column_{i + 1}" for i, h in enumerate(cleaned)]
    seen: set[str] = set()
    unique: list[str] = []
    duplicated: Counter[str] = Counter()
    for header in names:
        candidate, n = header, 1
        while candidate in seen:
            n += 1
            candidate = f"{header} ({n})"
        if n > 1:
            duplicated[header] += 1
        seen.add(candidate)
        unique.append(candidate)
    if blanks:
        issues.append(Issue("empty_headers", "info", blanks, None, "kept"))
    for header, count in duplicated.items():
        issues.append(Issue("duplicate_headers", "info", count + 1, header, "kept"))
    return unique, issues


# ------------------------------------------------------------------------------------------ readers

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


def _read_any(data: bytes, *, sheet: Any, max_rows: int, max_columns: int,
              max_unzipped_bytes: int) -> _Table:
    fmt = _detect_format(data)
    if fmt == "csv":
        return _read_csv(data, max_rows=max_rows, max_columns=max_columns)
    if fmt in ("xlsx", "xls"):
        return _read_workbook(data, fmt, sheet, max_rows, max_columns, max_unzipped_bytes)
    return _read_parquet(data, max_rows=max_rows, max_columns=max_columns)


def _read_csv(data: bytes, *, max_rows: int, max_columns: int) -> _Table:
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
    if sniff.width > max_columns:
        raise DataError("io.error.too_many_columns", {"columns": sniff.width, "limit": max_columns})
    columns = [f"__c{i}" for i in range(sniff.width)]
    schema = {name: pl.String() for name in columns + ["__extra"]}
    options = dict(has_header=False, separator=sniff.delimiter, skip_rows=sniff.skip + sniff.has_header, schema=schema,
                   truncate_ragged_lines=True, missing_columns="insert", n_rows=max_rows + 1,
                   raise_if_empty=False, infer_schema=False)
    try:
        frame = pl.read_csv(body, quote_char='"', **options)
    except pl.exceptions.ComputeError:
        frame = pl.read_csv(body, quote_char=None, **options)  # a stray quote: read quotes as text
    del body
    if frame.height > max_rows:
        raise DataError("io.error.too_many_rows", {"rows": f">{max_rows:,}", "limit": f"{max_rows:,}"})
    extra = pl.col("__extra").str.strip_chars()
    frame = frame.with_row_index("__row", offset=sniff.skip + 1 + sniff.has_header).with_columns(
        pl.col("__row").cast(pl.Int64), __ragged=extra.is_not_null() & (extra != "")).drop("__extra")
    return _Table(frame, list(sniff.headers), "csv", encoding=decoded.encoding,
                  delimiter=" " if sniff.whitespace else sniff.delimiter,
                  issues=list(decoded.issues) + list(sniff.issues), has_header=sniff.has_header)


def _check_zip(data: bytes, max_unzipped_bytes: int, max_ratio: float = 100.0, max_entries: int = 10_000) -> None:
    """Zip-bomb pre-check from the central directory only (platform_notes §4.4): no decompression."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DataError("io.error.unreadable", {"name": "", "detail": type(exc).__name__}) from exc
    if not ({"xl/workbook.xml", "xl/workbook.bin", "content.xml"} & names):
        raise DataError("io.error.unsupported_format", {"format": "ZIP"})
    total = sum(entry.file_size for entry in entries)
    if len(entries) > max_entries or total > max_unzipped_bytes:
        raise DataError("io.error.too_large", {"size_mb": round(total / 1024 / 1024, 1),
                                                "limit_mb": round(max_unzipped_bytes / 1024 / 1024, 1)})
    for entry in entries:
        if entry.file_size > 1024 * 1024 and entry.file_size > max_ratio * max(entry.compress_size, 1):
            ratio = int(entry.file_size / max(entry.compress_size, 1))
            raise DataError("io.error.suspicious_archive", {"ratio": ratio})


def _read_workbook(data: bytes, fmt: str, sheet: Any, max_rows: int, max_columns: int,
                   max_unzipped_bytes: int) -> _Table:
    """First non-empty (or the named) sheet via calamine, every cell as text (numbers without ``.0``)."""
    import fastexcel

    if fmt == "xlsx":
        _check_zip(data, max_unzipped_bytes)
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


# ------------------------------------------------------------------------------------------ values

def _text_expr(column: str, dtype: pl.DataType) -> pl.Expr:
    """A source column as trimmed text; whole floats without ``.0`` (Excel/Parquet ids), ``""`` → null."""
    col = pl.col(column)
    if dtype == pl.String:
        return col.str.strip_chars().replace("", None).alias(column)
    elif dtype.is_float():
        whole = col.is_finite() & (col == col.round(0)) & (col.abs() < 1e15)
        text = pl.when(col.is_nan()).then(None).when(whole).then(col.cast(pl.Int64, strict=False).cast(pl.String)
                                                                 ).otherwise(col.cast(pl.String))
    elif isinstance(dtype, pl.Datetime):
        text = col.dt.strftime("%Y-%m-%d %H:%M:%S")
    elif dtype == pl.Date:
        text = col.dt.strftime("%Y-%m-%d")
    else:
        text = col.cast(pl.String)
    return pl.when(text == "").then(None).otherwise(text).alias(column)


def _nullify(expr: pl.Expr, tokens: tuple[str, ...]) -> pl.Expr:
    return pl.when(expr.is_in(list(tokens))).then(None).otherwise(expr)


def _nfkc_if_needed(series: pl.Series) -> pl.Series:
    """NFKC (full-width digits, ￥ → ¥, full-width punctuation) only when the column has non-ASCII text."""
    if series.str.contains(r"[^\x00-\x7F]").any():
        return series.str.normalize("NFKC")
    return series


_CURRENCY = r"(?i)RMB|CNY|USD|EUR|GBP|HKD|JPY|US\$|HK\$|[¥$€£₩₹元圆\s]"
_NUMBER_PARTS = r"^(\()?([-+])?([0-9.,']+(?:[eE][-+]?[0-9]+)?)(-)?(\))?$"
_DOT_DECIMAL_OK = (r"^(?:[0-9]{1,3}(?:[,'][0-9]{3})+|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3}|[0-9]*)"  # 1,234 | 1,23,456
                   r"(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?$")
_COMMA_DECIMAL_OK = r"^(?:[0-9]{1,3}(?:[.'][0-9]{3})+|[0-9]*)(?:,[0-9]*)?$"
_COMMA_DECIMAL_VOTE = r"^[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+$|^[0-9]{1,3}(?:\.[0-9]{3}){2,}$|^[0-9]+,[0-9]{1,2}$"
_DOT_DECIMAL_VOTE = (r"^[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]+$|^[0-9]{1,3}(?:,[0-9]{3}){2,}$"
                     r"|^[0-9]+\.[0-9]{1,2}$|^[0-9]+\.[0-9]{4,}$")


def parse_numbers(text: pl.Series) -> tuple[pl.Series, bool]:
    """Amount-like text to Float64; returns ``(values, decimal_comma_used)``.

    Handles ``¥1,234.50``, ``￥``/full-width digits (NFKC), ``RMB 88``/``CNY``/``元``, ``(300.00)`` and
    ``300-`` as negatives, ``1.2万`` (×10⁴), ``3亿`` (×10⁸), ``5千``/``5k``, ``1'234.5``; European
    ``1.234,56`` only when the column shows comma decimals and no dot decimals (platform_notes §3.4).
    A comma group that is not three digits (``12,5`` in a dot-decimal column) is unparseable, not 125.
    """
    name = text.name
    fast = text.cast(pl.Float64, strict=False)
    if fast.null_count() == text.null_count():
        return pl.select(pl.when(fast.is_finite()).then(fast).otherwise(None)).to_series().alias(name), False
    s = _nfkc_if_needed(text).str.replace_all("[\u2212\u2012\u2013\u2014\uff0d]", "-")
    frame = pl.DataFrame({"s": s})
    frame = frame.with_columns(
        multiplier=pl.when(pl.col("s").str.contains("万$")).then(1e4)
        .when(pl.col("s").str.contains("亿$")).then(1e8)
        .when(pl.col("s").str.contains("(?:千|[kK])$")).then(1e3).otherwise(1.0),
        body=pl.col("s").str.replace_all(_CURRENCY, "").str.replace(r"(?:万|亿|千|[kK])$", ""),
    )
    frame = frame.with_columns(parts=pl.col("body").str.extract_groups(_NUMBER_PARTS)).unnest("parts")
    number = pl.col("3")
    comma_votes = frame.select(number.str.contains(_COMMA_DECIMAL_VOTE).sum()).item() or 0
    dot_votes = frame.select(number.str.contains(_DOT_DECIMAL_VOTE).sum()).item() or 0
    decimal_comma = comma_votes > 0 and dot_votes == 0
    if decimal_comma:
        ok = number.str.contains(_COMMA_DECIMAL_OK)
        digits = number.str.replace_all(r"[.']", "").str.replace(",", ".", literal=True)
    else:
        ok = number.str.contains(_DOT_DECIMAL_OK)
        digits = number.str.replace_all(r"[,']", "")
    balanced = pl.col("1").is_null() == pl.col("5").is_null()
    negative = pl.col("1").is_not_null() | (pl.col("2") == "-") | pl.col("4").is_not_null()
    value = digits.cast(pl.Float64, strict=False) * pl.col("multiplier")
    value = pl.when(ok & balanced & value.is_finite()).then(value).otherwise(None)
    value = pl.when(negative).then(-value).otherwise(value)
    return frame.select(value.alias(name)).to_series(), decimal_comma


_DATE_GENERAL = (
    r"^([0-9]{1,4})([-/.])([0-9]{1,2})[-/.]([0-9]{1,4})"
    r"(?:[ T]+([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:[.,]([0-9]{1,9}))?)?\s*([AaPp][Mm])?)?"
    r"\s*(?:Z|[+-][0-9]{2}:?[0-9]{2}|UTC|GMT)?$"
)
_MONTH_NAME_FORMATS = ("%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%b %d %Y", "%d %B %Y", "%B %d, %Y", "%B %d %Y",
                       "%d-%b-%y", "%d-%b-%Y %H:%M:%S", "%d-%b-%Y %H:%M")


@dataclass
class _DateParts:
    """A date column split into numeric parts (before the day/month order is known)."""

    column: str
    parts: pl.DataFrame   # a, sep, b, c, H, M, S, frac, ampm, year_last, c_len, serial, text
    day_evidence: pl.Series
    month_evidence: pl.Series
    year_last: pl.Series


def _date_text(text: pl.Series) -> pl.Series:
    """Normalise 年/月/日, full-width digits and compact ``20240105`` into the general pattern."""
    s = _nfkc_if_needed(text)
    if s.str.contains("[年月日号]").any():
        s = (s.str.replace_all("[年月]", "-").str.replace_all("[日号]", " ").str.replace_all(r"\s+", " ")
             .str.strip_chars())
    s = s.str.replace(r"^([0-9]{4})([0-9]{2})([0-9]{2})$", "$1-$2-$3")
    s = s.str.replace(r"^([0-9]{4})([0-9]{2})([0-9]{2})[ T]?([0-9]{2})([0-9]{2})([0-9]{2})$", "$1-$2-$3 $4:$5:$6")
    return s


def _date_parts(column: str, text: pl.Series) -> _DateParts:
    s = _date_text(text)
    frame = pl.DataFrame({"text": s}).with_columns(g=pl.col("text").str.extract_groups(_DATE_GENERAL)).unnest("g")
    frame = frame.rename({"1": "a", "2": "sep", "3": "b", "4": "c", "5": "H", "6": "M", "7": "S", "8": "frac",
                          "9": "ampm"})
    frame = frame.with_columns(
        a_len=pl.col("a").str.len_chars(), c_len=pl.col("c").str.len_chars(),
        **{k: pl.col(k).cast(pl.Int32, strict=False) for k in ("a", "b", "c", "H", "M", "S")},
    ).with_columns(
        year_last=(pl.col("a_len") <= 2) & pl.col("c_len").is_in([2, 4]),
        serial=pl.col("text").str.extract(r"^([0-9]{4,5}(?:\.[0-9]+)?)$").cast(pl.Float64, strict=False),
    )
    year_last = frame.get_column("year_last").fill_null(False)
    day_ev = year_last & (frame.get_column("a") > 12).fill_null(False)
    month_ev = year_last & (frame.get_column("b") > 12).fill_null(False)
    return _DateParts(column, frame, day_ev, month_ev, year_last)


def _build_dates(parts: _DateParts, order: str, *, pivot: int = TWO_DIGIT_YEAR_PIVOT,
                 serial_range: tuple[date, date] = EXCEL_SERIAL_RANGE) -> pl.DataFrame:
    """Datetime(us) from the parts with the chosen day/month order, plus which rule produced each value."""
    a, b, c = pl.col("a"), pl.col("b"), pl.col("c")
    year_first = pl.col("a_len") == 4
    year_last = pl.col("year_last")
    day_first = order == "day-first"
    year = pl.when(year_first).then(a).when(year_last & (pl.col("c_len") == 2)).then(
        pl.when(c < pivot).then(c + 2000).otherwise(c + 1900)).when(year_last).then(c)
    month = pl.when(year_first).then(b).when(year_last).then(b if day_first else a)
    day = pl.when(year_first).then(c).when(year_last).then(a if day_first else b)
    hour = pl.col("H").fill_null(0)
    ampm = pl.col("ampm").str.to_uppercase()
    hour = (pl.when(ampm == "PM").then(pl.when(hour < 12).then(hour + 12).otherwise(hour))
            .when(ampm == "AM").then(pl.when(hour == 12).then(0).otherwise(hour)).otherwise(hour))
    micro = pl.col("frac").str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int32, strict=False).fill_null(0)
    frame = parts.parts.with_columns(y=year, m=month, d=day, hh=hour, mi=pl.col("M").fill_null(0),
                                     ss=pl.col("S").fill_null(0), us=micro)
    y_ok = pl.col("y").is_between(1000, 9999)
    m_ok = pl.col("m").is_between(1, 12)
    y_safe = pl.when(y_ok).then(pl.col("y")).otherwise(2000)
    m_safe = pl.when(m_ok).then(pl.col("m")).otherwise(1)
    days_in_month = pl.date(y_safe, m_safe, 1).dt.month_end().dt.day()
    valid = (y_ok & m_ok & pl.col("d").is_between(1, 31) & (pl.col("d") <= days_in_month)
             & pl.col("hh").is_between(0, 23) & pl.col("mi").is_between(0, 59) & pl.col("ss").is_between(0, 59)
             & (pl.col("ampm").is_null() | pl.col("H").is_between(1, 12)))
    d_safe = pl.when(valid).then(pl.col("d")).otherwise(1)
    general = pl.datetime(y_safe, m_safe, d_safe, pl.when(valid).then(pl.col("hh")).otherwise(0),
                          pl.when(valid).then(pl.col("mi")).otherwise(0),
                          pl.when(valid).then(pl.col("ss")).otherwise(0),
                          pl.when(valid).then(pl.col("us")).otherwise(0), time_unit="us")
    general = pl.when(valid).then(general).otherwise(None)
    lo = (serial_range[0] - EXCEL_EPOCH.date()).days
    hi = (serial_range[1] - EXCEL_EPOCH.date()).days
    serial = pl.col("serial")
    serial_ok = serial.is_between(lo, hi + 0.999999)
    serial_value = pl.lit(EXCEL_EPOCH, pl.Datetime("us")) + pl.duration(
        microseconds=(pl.when(serial_ok).then(serial).otherwise(0) * 86_400_000_000).round(0).cast(pl.Int64))
    serial_value = pl.when(serial_ok).then(serial_value).otherwise(None)
    out = frame.select(general=general, serial=serial_value,
                       two_digit=year_last & (pl.col("c_len") == 2) & valid)
    value = out.select(pl.coalesce("general", "serial")).to_series()
    if value.null_count() > parts.parts.get_column("text").null_count() and parts.parts.select(
            pl.col("text").str.contains("[A-Za-z]{3}").any()).item():
        named = [parts.parts.get_column("text").str.strptime(pl.Datetime("us"), f, strict=False)
                 for f in _MONTH_NAME_FORMATS]
        value = pl.select(pl.coalesce([value, *named])).to_series()
    return pl.DataFrame({
        "value": value,
        "serial": out.get_column("general").is_null() & out.get_column("serial").is_not_null(),
        "two_digit": out.get_column("two_digit").fill_null(False),
    })


_FAST_DATE_SHAPES = (  # (shape of the first value, format): one strptime pass for clean ISO-like columns
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d"),
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", "%Y-%m-%d %H:%M:%S"),
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", "%Y-%m-%dT%H:%M:%S"),
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$", "%Y-%m-%d %H:%M"),
    (r"^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}$", "%Y/%m/%d"),
    (r"^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2} [0-9]{1,2}:[0-9]{2}:[0-9]{2}$", "%Y/%m/%d %H:%M:%S"),
    (r"^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2} [0-9]{1,2}:[0-9]{2}$", "%Y/%m/%d %H:%M"),
)


def _fast_dates(text: pl.Series) -> pl.Series | None:
    """ISO-shaped columns (the common, big case) in one pass; None when some value needs the full rules."""
    present = text.drop_nulls()
    if present.is_empty():
        return text.cast(pl.Datetime("us"))
    first = present[0]
    fmt = next((f for shape, f in _FAST_DATE_SHAPES if re.match(shape, first)), None)
    if fmt is None:
        return None
    parsed = text.str.strptime(pl.Datetime("us"), fmt, strict=False)
    if parsed.null_count() == text.null_count() and parsed.dt.year().min() >= 1000:
        return parsed
    return None


def _decide_order(evidence_day: int, evidence_month: int, separators: Counter[str],
                  forced: str | None) -> tuple[str, str]:
    """Day/month order for ``a/b/yyyy`` values and the reason (an issue key suffix)."""
    if forced:
        return forced, "forced"
    if evidence_day and not evidence_month:
        return "day-first", "day_first"
    if evidence_month and not evidence_day:
        return "month-first", "month_first"
    if evidence_day and evidence_month:
        return ("day-first" if evidence_day > evidence_month else "month-first"), "conflict"
    slash = separators.get("/", 0)
    other = separators.get(".", 0) + separators.get("-", 0)
    return ("month-first", "assumed_month_first") if slash >= other else ("day-first", "assumed_day_first")


# ------------------------------------------------------------------------------------------ mapping

def _resolve_mapping(headers: list[str], kind: str, mapping: dict[str, str | None] | None) -> dict[str, str]:
    columns = COLUMNS[kind]
    if mapping is None:
        return detect_mapping(headers, kind)
    if not isinstance(mapping, dict):
        raise DataError("io.error.bad_option", {"option": "mapping", "value": type(mapping).__name__})
    chosen: dict[str, str] = {}
    by_canonical: dict[str, list[str]] = {}
    for header, canonical in mapping.items():
        if header not in headers or not canonical:
            continue
        if canonical not in columns:
            raise DataError("io.error.unknown_column", {"header": str(header), "column": str(canonical), "kind": kind,
                                                        "columns": ", ".join(columns)})
        chosen[header] = canonical
        by_canonical.setdefault(canonical, []).append(header)
    for canonical, sources in by_canonical.items():
        if len(sources) > 1:
            raise DataError("io.error.duplicate_mapping", {"column": canonical, "headers": ", ".join(sources)})
    excluded = set(mapping)
    rest = [h for h in headers if h not in excluded]
    taken = set(chosen.values())
    for header, canonical in detect_mapping(rest, kind).items():
        if canonical not in taken:
            chosen[header] = canonical
            taken.add(canonical)
    return {h: chosen[h] for h in headers if h in chosen}


def _missing_required(kind: str, mapped: set[str]) -> list[str]:
    return [c for c in REQUIRED[kind] if c not in mapped]


def _column_text(table: _Table, header: str, rows: int) -> pl.Series:
    """The first ``rows`` values of one source column as trimmed text."""
    column = f"__c{table.headers.index(header)}"
    return table.frame.head(rows).select(_text_expr(column, table.frame.schema[column])).to_series()


def _choose_money_column(table: _Table, mapping: dict[str, str], sample: int = 20_000
                         ) -> tuple[dict[str, str], Issue | None]:
    """Which column is the money when a column named like an amount holds small whole numbers.

    Ta-Feng's ``AMOUNT`` is the quantity bought and ``SALES_PRICE`` the line total: a header named
    AMOUNT whose values are whole numbers with a median of at most ``10`` is a count when another
    amount-named column (sales, price, 銷售 …) holds larger values. The other column becomes the amount,
    the count becomes the quantity (when there is none), and the report says so.
    """
    amount = next((h for h, c in mapping.items() if c == "amount"), None)
    if amount is None:
        return mapping, None
    rivals = [h for h in table.headers if h not in mapping and SYNONYMS["transactions"].get(normalize_header(h)) == "amount"]
    if not rivals:
        return mapping, None

    def numbers(header: str) -> pl.Series:
        return parse_numbers(_column_text(table, header, sample))[0].drop_nulls()

    counts = numbers(amount)
    if counts.is_empty() or not bool((counts == counts.round(0)).all()) or float(counts.median()) > 10:
        return mapping, None
    for rival in rivals:
        money = numbers(rival)
        if money.len() >= 0.9 * counts.len() and float(money.median()) > float(counts.median()):
            chosen = dict(mapping)
            chosen[rival] = "amount"
            as_quantity = "quantity" not in mapping.values()
            if as_quantity:
                chosen[amount] = "quantity"
            else:
                del chosen[amount]
            note = Issue("money_column_chosen", "info", 1, rival, "kept", params={
                "other": amount, "median": f"{float(counts.median()):g}", "rival_median": f"{float(money.median()):g}",
                "as_quantity": as_quantity})
            return {h: chosen[h] for h in table.headers if h in chosen}, note
    return mapping, None


_CURRENCY_SIGNS = (  # (pattern, ISO 4217), most specific first; ¥ alone is the yuan in Chinese exports
    (r"NT\$|NTD|TWD|新台币|新台幣|新臺幣", "TWD"), (r"HK\$|HKD|港币|港幣|港元", "HKD"),
    (r"US\$|USD|美元", "USD"), (r"RMB|CNY|人民币|人民幣|[¥￥元]", "CNY"), (r"JPY|円|日元|日圓", "JPY"),
    (r"€|EUR|欧元|歐元", "EUR"), (r"£|GBP|英镑|英鎊", "GBP"), (r"₩|KRW", "KRW"), (r"₹|INR", "INR"),
    (r"S\$|SGD", "SGD"), (r"A\$|AUD", "AUD"), (r"C\$|CAD", "CAD"), (r"\$", "USD"),
)


def detect_currency(texts: list[pl.Series], headers: list[str], sample: int = 20_000,
                    traditional: bool = False) -> str | None:
    """ISO 4217 code of the money columns from the signs written in their cells (``¥1,234.00``,
    ``NT$ 88``, ``US$5``) or their headers (``金额(元)``, ``Amount (USD)``); None when nothing says.

    In a Big5 (Traditional Chinese) file a bare 元 or $ is the New Taiwan dollar, as Taiwanese exports
    write it (``金額(元)``, ``$1,200``), not the yuan or the US dollar.
    """
    code = _currency_of(texts, headers, sample)
    if traditional and code in ("CNY", "USD") and not _names_currency_explicitly(texts, headers, code, sample):
        return "TWD"
    return code


def _names_currency_explicitly(texts: list[pl.Series], headers: list[str], code: str, sample: int) -> bool:
    """Whether the cells or headers spell the code out (RMB, CNY, 人民幣, US$, USD, 美元), not 元 or $ alone."""
    spelled = {"CNY": r"RMB|CNY|人民币|人民幣|[¥￥]", "USD": r"US\$|USD|美元"}[code]
    return any(bool(text.drop_nulls().head(sample).str.contains(spelled).any()) for text in texts) or any(
        re.search(spelled, header) for header in headers)


def _currency_of(texts: list[pl.Series], headers: list[str], sample: int) -> str | None:
    counts: Counter[str] = Counter()
    for text in texts:
        cells = text.drop_nulls().head(sample)
        cells = cells.filter(~cells.str.contains(r"^[-+0-9.,() ]*$"))
        if cells.is_empty():
            continue
        remaining = cells
        for pattern, code in _CURRENCY_SIGNS:
            hit = remaining.str.contains(pattern)
            counts[code] += int(hit.sum())
            remaining = remaining.filter(~hit)
    if counts and counts.most_common(1)[0][1] > 0:
        return counts.most_common(1)[0][0]
    for header in headers:
        for pattern, code in _CURRENCY_SIGNS:
            if re.search(pattern, header):
                return code
    return None


_ID_LIKE = re.compile(r"^[A-Za-z0-9_\-]+$")


def _guess_headerless(table: _Table, kind: str, sample: int = 5_000) -> dict[str, str]:
    """Columns of a file without a header row, guessed from their values (the user confirms them in the
    mapping editor): a column of dates is the order date, the first id-like column the customer, a
    column of decimals the amount, a column of small whole numbers the quantity, a column of many
    distinct codes or names the product."""
    if kind != "transactions":
        return {}
    mapping: dict[str, str] = {}
    profiles = []
    for header in table.headers:
        text = _column_text(table, header, sample).drop_nulls()
        if text.is_empty():
            continue
        numbers = parse_numbers(text)[0]
        parts = _date_parts(header, text)
        dated = max(_build_dates(parts, order).get_column("value").is_not_null().mean() or 0.0
                    for order in ("day-first", "month-first"))
        profiles.append({
            "header": header, "dated": dated, "numeric": numbers.is_not_null().mean() or 0.0,
            "decimal": text.str.contains(r"[.,][0-9]{1,2}$").mean() or 0.0,
            "median": float(numbers.median()) if numbers.is_not_null().any() else None,
            "repeats": text.n_unique() < text.len(), "id_like": text.str.contains(_ID_LIKE.pattern).mean() or 0.0,
            "distinct": text.n_unique() / text.len(),
        })
    free = list(profiles)

    def take(canonical: str, test: Callable[[dict], bool]) -> None:
        for profile in free:
            if test(profile):
                mapping[profile["header"]] = canonical
                free.remove(profile)
                return

    take("order_date", lambda p: p["dated"] >= 0.95 and not (p["numeric"] >= 0.95 and p["decimal"] > 0.5))
    take("customer_id", lambda p: p["id_like"] >= 0.95 and p["repeats"] and p["decimal"] < 0.5)
    take("amount", lambda p: p["numeric"] >= 0.95 and p["decimal"] >= 0.5)
    take("quantity", lambda p: p["numeric"] >= 0.95 and p["decimal"] < 0.05 and (p["median"] or 0) <= 20)
    take("product", lambda p: p["distinct"] > 0.01 and p["decimal"] < 0.5)
    return {h: mapping[h] for h in table.headers if h in mapping}


def _short_list(items: list[str], limit: int = 30, width: int = 40) -> str:
    shown = [item if len(item) <= width else item[: width - 1] + "…" for item in items[:limit]]
    return ", ".join(shown) + (f", … (+{len(items) - limit})" if len(items) > limit else "")


# ------------------------------------------------------------------------------------------ cleaning

def _clean(table: _Table, kind: str, mapping_override: dict | None, *, name: str, today: date | None,
           date_order: str | None, drop_duplicates: bool = False) -> LoadResult:
    """Map headers, parse every canonical column, drop unusable rows and count everything found."""
    mapping = _resolve_mapping(table.headers, kind, mapping_override)
    user_named = {c for c in (mapping_override or {}).values() if c}
    mapping_notes: list[Issue] = []
    if not table.has_header and not user_named:
        mapping = _guess_headerless(table, kind)
    if kind == "transactions" and "amount" not in user_named:
        mapping, chosen_money = _choose_money_column(table, mapping)
        if chosen_money is not None:
            mapping_notes.append(chosen_money)
    missing = _missing_required(kind, set(mapping.values()))
    if missing:
        raise DataError("io.error.missing_columns", {"columns": ", ".join(missing),
                                                     "headers": _short_list(table.headers), "kind": kind})
    rows = _Rows(table, kind, mapping)
    drops: list[tuple[str, pl.Series, str | None]] = []  # (issue key, mask, canonical column), in priority order
    if rows.ragged is not None:  # more fields than the header: columns shifted, values cannot be trusted
        drops.append(("ragged_rows", rows.ragged, None))
    repeated = _repeated_rows(rows.text.select(rows.source_cols)) if rows.source_cols else None
    if repeated is not None and drop_duplicates:
        drops.append(("duplicate_rows", repeated, None))
    values: dict[str, pl.Series] = {}
    bad: dict[str, pl.Series] = {}  # canonical -> text present but not parseable
    notes: list[Issue] = []
    values.update(rows.parse_text_columns(notes))
    dates, date_bad, chosen_order = rows.parse_date_columns(notes, date_order)
    values.update(dates)
    bad.update(date_bad)
    numbers, number_bad = rows.parse_number_columns(notes)
    values.update(numbers)
    bad.update(number_bad)
    derived = kind == "transactions" and "amount" not in values and "quantity" in values and "unit_price" in values
    if derived:  # DESIGN.md: amount derived from quantity × unit_price when absent
        values["amount"] = (values["quantity"] * values["unit_price"]).alias("amount")
    required = list(REQUIRED[kind])
    no_amounts = kind == "transactions" and "amount" not in values
    if no_amounts:  # baskets only (customer, date, item): the monetary views say they need amounts
        values["amount"] = pl.repeat(None, rows.height, dtype=pl.Float64, eager=True).alias("amount")
    elif kind == "transactions":
        required.append("amount")  # a line whose amount is blank or unreadable cannot be counted

    for canonical in required:
        present = values[canonical].is_not_null()
        unreadable = bad.get(canonical)
        if canonical == "customer_id":
            drops.append(("missing_customer_id", ~present, canonical))
            continue
        if unreadable is not None:
            key = ("unparseable_date" if canonical in DATE_COLUMNS else
                   "unparseable_amount" if canonical == "amount" else "unparseable_number")
            drops.append((key, unreadable, canonical))
            drops.append(("missing_required", ~present & ~unreadable, canonical))
        else:
            drops.append(("missing_required", ~present, canonical))
    reason_index = _first_reason(pl.repeat(None, rows.height, dtype=pl.Int32, eager=True), drops, 0)
    keep = reason_index.is_null()
    if kind == "customers":  # one row per customer: keep the first, drop later repeats
        repeated = keep & ~pl.DataFrame({"id": values["customer_id"], "keep": keep}).select(
            pl.struct("id", "keep").is_first_distinct()).to_series()
        if repeated.any():
            reason_index = _first_reason(reason_index, [("duplicate_customer_id", repeated, "customer_id")], len(drops))
            drops.append(("duplicate_customer_id", repeated, "customer_id"))
            keep = reason_index.is_null()

    issues: list[Issue] = list(table.issues) + mapping_notes
    for i, (key, _, canonical) in enumerate(drops):
        mask = (reason_index == i).fill_null(False)
        if mask.any():
            issues.append(Issue(key, "problem", int(mask.sum()), canonical, "dropped", rows.examples(mask, canonical)))
    for canonical, unreadable in bad.items():  # optional columns: the value is blanked, the row kept
        if canonical in required:
            continue
        mask = unreadable & keep
        if mask.any():
            key = "unparseable_date" if canonical in DATE_COLUMNS else "unparseable_number"
            issues.append(Issue(key, "problem", int(mask.sum()), canonical, "set_null", rows.examples(mask, canonical)))
    issues.extend(n for n in notes if n.severity == "problem")
    issues.extend(n for n in notes if n.severity != "problem")
    if derived:
        issues.append(Issue("derived_amount", "info", int(keep.sum()), "amount", "kept"))
    if no_amounts:
        issues.append(Issue("no_amounts", "info", int(keep.sum()), None, "kept"))
    if repeated is not None and not drop_duplicates:
        mask = repeated & keep
        if mask.any():
            issues.append(Issue("duplicate_rows_kept", "info", int(mask.sum()), None, "kept", rows.examples(mask)))
    issues.extend(rows.facts(values, keep, today))
    currency = None
    if kind == "transactions":
        money_headers = [h for h, c in mapping.items() if c in ("amount", "unit_price")]
        currency = detect_currency([rows.cells(c) for c in ("amount", "unit_price") if c in rows.col_of], money_headers,
                                   traditional=table.encoding == "cp950")

    reason = reason_index.replace_strict({i: key for i, (key, _, _) in enumerate(drops)}, default=None,
                                         return_dtype=pl.String).alias("_reason")
    df, extras = rows.assemble(values, keep)
    report = LoadReport(
        kind=kind, source_name=name, file_format=table.file_format, encoding=table.encoding,
        delimiter=table.delimiter, sheet=table.sheet, headers=tuple(table.headers), mapping=dict(mapping),
        unmapped=tuple(extras), date_order=chosen_order, rows_read=rows.height, rows_kept=df.height,
        issues=tuple(issues), currency=currency, has_header=table.has_header,
    )
    return LoadResult(df=df, report=report, rejected=rows.rejected(reason, keep))


def _first_reason(index: pl.Series, entries: list[tuple[str, pl.Series, str | None]], offset: int) -> pl.Series:
    """Per row, the position (+ offset) of the first entry whose mask is true; rows already set keep theirs."""
    masks = pl.DataFrame({"index": index, **{f"m{i}": m.fill_null(False) for i, (_, m, _) in enumerate(entries)}})
    expr = pl.col("index")
    for i in range(len(entries)):
        expr = pl.when(expr.is_null() & pl.col(f"m{i}")).then(pl.lit(i + offset, pl.Int32)).otherwise(expr)
    return masks.select(expr.alias("index")).to_series()


class _Rows:
    """The rows of one table as text (trimmed, blank rows removed) plus what is needed to parse them."""

    def __init__(self, table: _Table, kind: str, mapping: dict[str, str]) -> None:
        self.kind = kind
        self.headers = table.headers
        self.internal = {h: f"__c{i}" for i, h in enumerate(self.headers)}
        self.header_of = {c: h for h, c in self.internal.items()}
        self.source_cols = [self.internal[h] for h in self.headers]
        self.col_of = {c: self.internal[h] for h, c in mapping.items()}  # canonical -> internal column
        frame = table.frame
        self.dtypes = dict(frame.schema)
        text = frame.select("__row", *[_text_expr(c, self.dtypes[c]) for c in self.source_cols],
                            *(["__ragged"] if "__ragged" in frame.columns else []))
        if self.source_cols:  # blank lines are not rows
            blank = text.select(pl.all_horizontal(pl.col(self.source_cols).is_null())).to_series()
            if blank.any():
                text = text.filter(~blank)
        if text.height == 0:
            raise DataError("io.error.header_only", {"headers": _short_list(self.headers)})
        self.ragged = text.get_column("__ragged").fill_null(False) if "__ragged" in text.columns else None
        self.text = text.drop("__ragged", strict=False)
        self.height = self.text.height
        # Parquet keeps its dtypes (temporal, numeric); CSV and workbooks arrive as text only
        self.typed = None
        if any(self.dtypes[c] != pl.String for c in self.source_cols):
            self.typed = frame if frame.height == text.height else frame.filter(
                pl.col("__row").is_in(text.get_column("__row").implode()))
        table.frame = None  # type: ignore[assignment]  # free the raw copy: the text view is all we need
        mapped = set(self.col_of.values())
        self.unnamed_empty = {c for c in self.source_cols if c not in mapped and self.header_of[c].startswith("column_")
                              and self.text.get_column(c).null_count() == self.height}

    def examples(self, mask: pl.Series, canonical: str | None = None) -> tuple[dict, ...]:
        """Up to five rows where ``mask`` holds, as ``{header: text}`` with ``_row``; the column concerned first."""
        idx = mask.fill_null(False).arg_true().head(EXAMPLES_MAX)
        if idx.is_empty():
            return ()
        focus = [self.col_of[canonical]] if canonical in self.col_of else []
        cols = focus + [self.col_of[c] for c in COLUMNS[self.kind] if c in self.col_of] + self.source_cols
        cols = list(dict.fromkeys(c for c in cols if c not in self.unnamed_empty))[:EXAMPLE_COLUMNS_MAX]
        rows = self.text.select("__row", *cols)[idx].rows()
        return tuple({"_row": int(r[0]), **{self.header_of[c]: "" if v is None else str(v)
                                            for c, v in zip(cols, r[1:])}} for r in rows)

    def cells(self, canonical: str, tokens: tuple[str, ...] = _VALUE_NULLS) -> pl.Series:
        """The text of one mapped column, with placeholder texts (``N/A``, ``-`` …) as null."""
        return self.text.select(_nullify(pl.col(self.col_of[canonical]), tokens)).to_series().alias(canonical)

    def parse_text_columns(self, notes: list[Issue]) -> dict[str, pl.Series]:
        """Ids and labels: text exactly as written, trimmed (``00123`` stays ``00123``)."""
        values = {}
        for canonical in [c for c in COLUMNS[self.kind] if c in self.col_of]:
            if canonical in DATE_COLUMNS or canonical in NUMBER_COLUMNS:
                continue
            series = self.cells(canonical, _VALUE_NULLS if canonical in ID_COLUMNS else _TEXT_NULLS)
            if canonical in ID_COLUMNS:
                present = series.drop_nulls()
                if (present.len() and re.fullmatch(r"-?[0-9]+\.0+", present[0])
                        and present.str.contains(r"^-?[0-9]+\.0+$").all()):  # ids saved as floats: 12345.0
                    series = series.str.replace(r"\.0+$", "")
                    notes.append(Issue("id_float_suffix_removed", "info", present.len(), canonical, "kept"))
                if series.str.contains("+", literal=True).any():
                    scientific = series.str.contains(r"^[0-9](?:\.[0-9]+)?[eE]\+[0-9]+$").fill_null(False)
                    if scientific.any():  # Excel shows 123456789012 as 1.23457E+11: digits are gone
                        notes.append(Issue("scientific_ids", "problem", int(scientific.sum()), canonical, "kept",
                                           self.examples(scientific, canonical)))
            values[canonical] = series
        return values

    def parse_date_columns(self, notes: list[Issue], forced_order: str | None
                           ) -> tuple[dict[str, pl.Series], dict[str, pl.Series], str | None]:
        """Dates of every date column; the day/month order of ``a/b/yyyy`` values is decided once for the
        table from all of them (any first part > 12: day-first; any second part > 12: month-first)."""
        columns = [c for c in COLUMNS[self.kind] if c in DATE_COLUMNS and c in self.col_of]
        texts = {c: self.cells(c) for c in columns}
        parsed: dict[str, pl.Series] = {}
        parts: dict[str, _DateParts] = {}
        for canonical in columns:
            dtype = self.dtypes[self.col_of[canonical]]
            if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
                series = self.typed.get_column(self.col_of[canonical])
                if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
                    series = series.dt.replace_time_zone(None)  # wall-clock time as exported
                parsed[canonical] = series.cast(pl.Datetime("us"))
                continue
            fast = _fast_dates(texts[canonical])
            if fast is not None:
                parsed[canonical] = fast
            else:
                parts[canonical] = _date_parts(canonical, texts[canonical])
        separators: Counter[str] = Counter()
        for p in parts.values():
            ambiguous = p.year_last & ~p.day_evidence & ~p.month_evidence
            separators.update({k: v for k, v in p.parts.filter(ambiguous).get_column("sep").value_counts().iter_rows()
                               if k is not None})
        order, why = _decide_order(sum(int(p.day_evidence.sum()) for p in parts.values()),
                                   sum(int(p.month_evidence.sum()) for p in parts.values()), separators, forced_order)
        any_year_last = any(bool(p.year_last.any()) for p in parts.values())
        chosen = order if any_year_last else None
        if not any_year_last and any(c not in parsed or self.dtypes[self.col_of[c]] == pl.String for c in columns
                                     if texts[c].is_not_null().any()):
            chosen = "year-first"  # text dates, none with the year last
        if any_year_last and why != "forced":
            if why in ("day_first", "month_first"):
                evidence = {c: p.day_evidence if why == "day_first" else p.month_evidence for c, p in parts.items()}
            elif why == "conflict":  # the values contradicting the order chosen (they stay unreadable)
                evidence = {c: p.day_evidence if order == "month-first" else p.month_evidence for c, p in parts.items()}
            else:
                evidence = {c: p.year_last & ~p.day_evidence & ~p.month_evidence for c, p in parts.items()}
            first = next((c for c, m in evidence.items() if m.any()), None)
            notes.append(Issue(f"date_order_{why}", "info", sum(int(m.sum()) for m in evidence.values()), first,
                               "kept", self.examples(evidence[first], first) if first else ()))
        for canonical, p in parts.items():
            built = _build_dates(p, order)
            parsed[canonical] = built.get_column("value")
            for key, flag in (("excel_serial_dates", "serial"), ("two_digit_years", "two_digit")):
                mask = built.get_column(flag)
                if mask.any():
                    notes.append(Issue(key, "info", int(mask.sum()), canonical, "kept", self.examples(mask, canonical)))
        values = {c: parsed[c].alias(c) for c in columns}
        bad = {c: texts[c].is_not_null() & values[c].is_null() for c in columns}
        return values, bad, chosen

    def parse_number_columns(self, notes: list[Issue],
                             satisfaction_range: tuple[float, float] = SATISFACTION_RANGE
                             ) -> tuple[dict[str, pl.Series], dict[str, pl.Series]]:
        """Amounts and other numbers (see :func:`parse_numbers`); satisfaction outside its scale is blanked."""
        values, bad = {}, {}
        for canonical in [c for c in COLUMNS[self.kind] if c in NUMBER_COLUMNS and c in self.col_of]:
            dtype = self.dtypes[self.col_of[canonical]]
            text = self.cells(canonical)
            if dtype.is_numeric() or dtype == pl.Boolean:
                series = self.typed.get_column(self.col_of[canonical]).cast(pl.Float64)
                series = pl.select(pl.when(series.is_finite()).then(series).otherwise(None)).to_series()
            else:
                series, decimal_comma = parse_numbers(text)
                if decimal_comma:
                    notes.append(Issue("decimal_comma", "info", int(series.is_not_null().sum()), canonical, "kept"))
            series = series.alias(canonical)
            bad[canonical] = text.is_not_null() & series.is_null()
            if canonical == "satisfaction":
                lo, hi = satisfaction_range
                outside = series.is_not_null() & ~series.is_between(lo, hi)
                if outside.any():
                    notes.append(Issue("out_of_range", "problem", int(outside.sum()), canonical, "set_null",
                                       self.examples(outside, canonical)))
                    series = pl.select(pl.when(outside).then(None).otherwise(series)).to_series().alias(canonical)
            values[canonical] = series
        return values, bad

    def facts(self, values: dict[str, pl.Series], keep: pl.Series, today: date | None) -> list[Issue]:
        """Kept rows worth knowing about: refunds, zero amounts, dates after ``today`` (skipped if None)."""
        found = []
        if "amount" in values:
            amount = values["amount"]
            for key, mask in (("negative_amounts", amount < 0), ("zero_amounts", amount == 0)):
                mask = mask.fill_null(False) & keep
                if mask.any():
                    found.append(Issue(key, "info", int(mask.sum()), "amount", "kept", self.examples(mask, "amount")))
        if today is not None:
            cutoff = datetime.combine(today, datetime.min.time()) + timedelta(days=1)
            for canonical in [c for c in COLUMNS[self.kind] if c in DATE_COLUMNS and c in values]:
                mask = (values[canonical] >= cutoff).fill_null(False) & keep
                if mask.any():
                    found.append(Issue("future_dates", "info", int(mask.sum()), canonical, "kept",
                                       self.examples(mask, canonical)))
        return found

    def assemble(self, values: dict[str, pl.Series], keep: pl.Series) -> tuple[pl.DataFrame, list[str]]:
        """Kept rows: canonical columns in schema order and dtypes, then the unmapped columns as text."""
        schema = COLUMNS[self.kind]
        columns = [values[c].cast(schema[c]).alias(c) for c in schema if c in values]
        mapped = set(self.col_of.values())
        extras = [self.header_of[c] for c in self.source_cols if c not in mapped and c not in self.unnamed_empty]
        names = _unique_names(extras, {s.name for s in columns})
        columns += [self.text.get_column(self.internal[h]).alias(n) for h, n in zip(extras, names)]
        return pl.DataFrame(columns).filter(keep), extras

    def rejected(self, reason: pl.Series, keep: pl.Series) -> pl.DataFrame:
        """Dropped rows as text: ``_row``, ``_reason`` (an io.issue key), then every source column."""
        names = _unique_names(self.headers, {"_row", "_reason"})
        return pl.concat([self.text.select(pl.col("__row").alias("_row")), reason.to_frame(),
                          self.text.select([pl.col(self.internal[h]).alias(n) for h, n in zip(self.headers, names)])],
                         how="horizontal").filter(~keep)


def _repeated_rows(frame: pl.DataFrame) -> pl.Series:
    """True for the second and later copies of an exact duplicate row.

    Row hashes are sorted to find candidates (fast: usually there are none), then only the candidate
    rows are compared exactly, so a hash collision can never drop a row.
    """
    hashes = frame.hash_rows()
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))  # (diff() would overflow on u64 hashes)
    flags = pl.repeat(False, frame.height, eager=True).alias("repeated")
    if repeated.is_empty():
        return flags
    candidates = frame.with_row_index("__i").filter(hashes.is_in(repeated.unique().implode()))
    later = candidates.filter(~pl.struct(frame.columns).is_first_distinct()).get_column("__i")
    return flags.scatter(later, True)


def _unique_names(names: list[str], taken: set[str]) -> list[str]:
    used = set(taken)
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name} ({n})"
        used.add(candidate)
        out.append(candidate)
    return out
