"""What :func:`crm_core.io.read_table` returns and raises: the contract of the whole package.

:class:`DataError` (an i18n key plus params) is the only exception that leaves ``crm_core.io``;
:class:`LoadResult` carries the table, its :class:`LoadReport` and the rejected rows; every finding is an
:class:`Issue`. ``ERROR_KEYS`` and ``ISSUE_KEYS`` list every key the package can emit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

# Every key crm_core.io can emit (each has an English and a Chinese template in ui/locales/*/io.toml).
ERROR_KEYS = tuple(f"io.error.{k}" for k in (
    "empty", "header_only", "not_a_table", "unsupported_format", "too_large", "too_many_rows", "too_many_columns",
    "missing_columns", "duplicate_mapping", "unknown_column", "unknown_kind", "sheet_not_found",
    "suspicious_archive", "unreadable", "file_not_found", "bad_option", "out_of_memory", "out_of_time"))
ISSUE_KEYS = (
    # problems: rows dropped or values blanked
    "ragged_rows", "duplicate_rows", "missing_customer_id", "missing_required", "unparseable_date",
    "unparseable_amount", "unparseable_number", "duplicate_customer_id", "out_of_range", "scientific_ids",
    "encoding_undecodable", "encoding_replaced",  # (replaced: no longer emitted; in reports saved before)
    # notes: kept as read, worth knowing
    "encoding_guessed", "encoding_traditional", "encoding_mixed", "money_column_chosen", "no_header",
    "whitespace_delimited",
    "no_amounts", "duplicate_rows_kept", "title_rows_skipped", "empty_headers", "duplicate_headers",
    "unsupported_columns",
    "id_float_suffix_removed", "derived_amount", "negative_amounts", "zero_amounts", "future_dates",
    "excel_serial_dates", "two_digit_years", "decimal_comma", "date_order_day_first", "date_order_month_first",
    "date_order_conflict", "date_order_assumed_month_first", "date_order_assumed_day_first",
)
DATE_ORDERS = ("year-first", "day-first", "month-first")


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


def _short_list(items: list[str], limit: int = 30, width: int = 40) -> str:
    shown = [item if len(item) <= width else item[: width - 1] + "…" for item in items[:limit]]
    return ", ".join(shown) + (f", … (+{len(items) - limit})" if len(items) > limit else "")
