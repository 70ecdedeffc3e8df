"""Date text to Datetime by explicit rules: ISO, ``2024/1/5``, ``1/5/2024`` with the day/month order decided
from the values, two-digit years, ``2024年1月5日``, ``20240105``, Excel serials and month names."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

import polars as pl

from crm_core.io.values import _nfkc_if_needed

EXCEL_EPOCH = datetime(1899, 12, 30)  # absorbs Excel's 1900 leap-year bug for serials > 60
EXCEL_SERIAL_RANGE = (date(1920, 1, 1), date(2100, 12, 31))
TWO_DIGIT_YEAR_PIVOT = 69        # POSIX %y: 00-68 -> 20xx, 69-99 -> 19xx


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
    if parsed.null_count() == text.null_count() and cast(int, parsed.dt.year().min()) >= 1000:
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
