"""Which source column is which canonical column: the given or detected mapping, the money column when
``AMOUNT`` is a count, and a guess from the values for files without a header row."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import polars as pl

from crm_core.io.dates import _build_dates, _date_parts
from crm_core.io.readers import _Table
from crm_core.io.report import DataError, Issue
from crm_core.io.values import _text_expr, parse_numbers
from crm_core.schema import COLUMNS, REQUIRED, SYNONYMS, detect_mapping, normalize_header


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
    rivals = [h for h in table.headers
              if h not in mapping and SYNONYMS["transactions"].get(normalize_header(h)) == "amount"]
    if not rivals:
        return mapping, None

    def numbers(header: str) -> pl.Series:
        return parse_numbers(_column_text(table, header, sample))[0].drop_nulls()

    counts = numbers(amount)
    if counts.is_empty() or not bool((counts == counts.round(0)).all()):
        return mapping, None
    count_median = float(cast(float, counts.median()))  # numbers, at least one
    if count_median > 10:
        return mapping, None
    for rival in rivals:
        money = numbers(rival)
        if money.len() < 0.9 * counts.len():
            continue
        money_median = float(cast(float, money.median()))  # numbers, at least 0.9 × as many as counts
        if money_median > count_median:
            chosen = dict(mapping)
            chosen[rival] = "amount"
            as_quantity = "quantity" not in mapping.values()
            if as_quantity:
                chosen[amount] = "quantity"
            else:
                del chosen[amount]
            note = Issue("money_column_chosen", "info", 1, rival, "kept", params={
                "other": amount, "median": f"{count_median:g}", "rival_median": f"{money_median:g}",
                "as_quantity": as_quantity})
            return {h: chosen[h] for h in table.headers if h in chosen}, note
    return mapping, None


_ID_LIKE = re.compile(r"^[A-Za-z0-9_\-]+$")


def _guess_headerless(table: _Table, kind: str, sample: int = 5_000) -> dict[str, str]:
    """Columns of a file without a header row, guessed from their values (the user confirms them in the
    mapping editor): a column of dates is the order date, the first id-like column the customer, a
    column of decimals the amount, a column of small whole numbers the quantity, a column of many
    distinct codes or names the product."""
    if kind != "transactions":
        return {}
    mapping: dict[str, str] = {}
    profiles: list[dict[str, Any]] = []
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
            "median": float(cast(float, numbers.median())) if numbers.is_not_null().any() else None,
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
