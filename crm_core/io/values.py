"""Cell values: source columns as trimmed text, placeholder texts as null, and amount-like text as numbers
(:func:`parse_numbers`). Everything is a polars expression; no per-row Python."""
from __future__ import annotations

import polars as pl

# Cell texts that mean "no value" in typed columns (ids, dates, numbers); free-text columns only drop
# the first few, since "-" or "无" can be a legitimate category there.
_TEXT_NULLS = ("null", "NULL", "Null", "nan", "NaN", "None", "#N/A", "N/A", "n/a")
_VALUE_NULLS = _TEXT_NULLS + ("NA", "na", "-", "--", "---", "—", "–", "无", "空", "(空)", "#VALUE!", "#REF!",
                              "0000-00-00", "0000-00-00 00:00:00", "00/00/0000")


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


def _trimmed_columns(frame: pl.DataFrame, columns: list[str]) -> set[str]:
    """The String ``columns`` that :func:`_text_expr` would leave as they are: no value starts or ends with
    whitespace, none is ``""``. Checking costs less than trimming, and a clean export's columns are then
    used as read, without a copy of every text."""
    if not columns:
        return set()
    untouched = frame.select(
        ((pl.col(c).str.len_bytes() == pl.col(c).str.strip_chars().str.len_bytes()) & (pl.col(c) != "")).all().alias(c)
        for c in columns).row(0)
    return {c for c, same in zip(columns, untouched) if same}


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
