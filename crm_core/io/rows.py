"""The rows of one table as text and the parsing of each canonical column (ids, dates, numbers), with the
example rows every :class:`~crm_core.io.report.Issue` shows."""
from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta

import polars as pl

from crm_core.export import mask_contacts
from crm_core.io.dates import _build_dates, _date_parts, _DateParts, _decide_order, _fast_dates
from crm_core.io.limits import EXAMPLE_COLUMNS_MAX, EXAMPLES_MAX
from crm_core.io.readers import _Table
from crm_core.io.report import DataError, Issue, _short_list
from crm_core.io.values import _TEXT_NULLS, _VALUE_NULLS, _nullify, _text_expr, _trimmed_columns, parse_numbers
from crm_core.schema import COLUMNS, DATE_COLUMNS, ID_COLUMNS, NUMBER_COLUMNS, SYNONYMS, normalize_header

SATISFACTION_RANGE = (1.0, 5.0)


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
        trimmed = _trimmed_columns(frame, [c for c in self.source_cols if self.dtypes[c] == pl.String])
        text = frame.select("__row", *[pl.col(c) if c in trimmed else _text_expr(c, self.dtypes[c])
                                       for c in self.source_cols],  # (a column already trimmed is not copied)
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
        rows = self.masked(self.text.select("__row", *cols)[idx]).rows()
        return tuple({"_row": int(r[0]), **{self.header_of[c]: "" if v is None else str(v)
                                            for c, v in zip(cols, r[1:])}} for r in rows)

    def cells(self, canonical: str, tokens: tuple[str, ...] = _VALUE_NULLS) -> pl.Series:
        """The text of one mapped column, with placeholder texts (``N/A``, ``-`` …) as null (the column itself,
        not a copy, when it has none)."""
        column = self.text.get_column(self.col_of[canonical])
        if not column.is_in(list(tokens)).any():
            return column.alias(canonical)
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
                assert self.typed is not None, "kept whenever a source column is not text"
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
                assert self.typed is not None, "kept whenever a source column is not text"
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
        frame = pl.DataFrame(columns)
        return (frame if keep.all() else frame.filter(keep)), extras

    def rejected(self, reason: pl.Series, keep: pl.Series) -> pl.DataFrame:
        """Dropped rows as text: ``_row``, ``_reason`` (an io.issue key), then every source column."""
        names = _unique_names(self.headers, {"_row", "_reason"})
        dropped = self.text.filter(~keep)
        return pl.concat([dropped.select(pl.col("__row").alias("_row")), reason.filter(~keep).to_frame(),
                          self.masked(dropped).select([pl.col(self.internal[h]).alias(n)
                                                       for h, n in zip(self.headers, names)])], how="horizontal")

    def contact_columns(self) -> dict[str, str]:
        """Internal column → ``"phone"`` / ``"email"`` for each source column of contacts: mapped to one, or
        not mapped and headed like one (``手机``, ``E-mail`` as an extra column of a transactions file)."""
        found: dict[str, str] = {self.col_of[c]: c for c in ("phone", "email") if c in self.col_of}
        mapped = set(self.col_of.values())
        for header, internal in self.internal.items():
            canonical = SYNONYMS["customers"].get(normalize_header(header))
            if canonical in ("phone", "email") and internal not in mapped:
                found[internal] = canonical
        return found

    def masked(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (columns ``__c0..``) with its contact columns masked by :func:`crm_core.export.mask_contacts`:
        the dropped-rows download and the report's examples never show a raw phone number or e-mail."""
        masks = [mask_contacts(frame.select(pl.col(internal).alias(canonical))).to_series().alias(internal)
                 for internal, canonical in self.contact_columns().items() if internal in frame.columns]
        return frame.with_columns(masks) if masks else frame


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
