"""From a read :class:`~crm_core.io.readers._Table` to a :class:`~crm_core.io.report.LoadResult`: map the
headers, parse every canonical column, drop unusable rows and count everything found."""
from __future__ import annotations

from datetime import date

import polars as pl

from crm_core.io.currency import detect_currency
from crm_core.io.encoding import UNDECODABLE
from crm_core.io.mapping import _choose_money_column, _guess_headerless, _missing_required, _resolve_mapping
from crm_core.io.readers import _Table
from crm_core.io.report import DataError, Issue, LoadReport, LoadResult, _short_list
from crm_core.io.rows import _repeated_rows, _Rows
from crm_core.schema import DATE_COLUMNS, REQUIRED


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
    if table.undecodable_lines and rows.source_cols:  # bytes valid in no encoding: never stored as "�"
        drops.append(("encoding_undecodable", rows.text.select(pl.any_horizontal(
            pl.col(rows.source_cols).str.contains(UNDECODABLE, literal=True))).to_series().fill_null(False), None))
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
    for i, (key, _, column) in enumerate(drops):
        mask = (reason_index == i).fill_null(False)
        if mask.any():
            issues.append(Issue(key, "problem", int(mask.sum()), column, "dropped", rows.examples(mask, column)))
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
                                   traditional=(table.encoding or "").startswith("cp950"))

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
