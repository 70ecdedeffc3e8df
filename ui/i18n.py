"""Translations and locale-aware formatting.

Texts live in ``ui/locales/<lang>/<area>.toml`` (one file per area, so areas can grow independently);
all files of a language are merged into flat dotted keys: ``[overview.kpi] revenue = "Revenue"`` is
``t("overview.kpi.revenue")``. Templates use ``str.format`` fields: ``t("io.issue.unparseable_date", count=3)``.
"""
from __future__ import annotations

import math
import tomllib
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = str(value)
    return flat


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """Every key of one language, merged from all of its TOML files."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.toml")):
        with path.open("rb") as handle:
            merged.update(_flatten(tomllib.load(handle)))
    return merged


def translate(lang: str, key: str, **params: Any) -> str:
    """The text for ``key`` in ``lang`` (English when missing there; the key itself when missing in both)."""
    template = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if template is None:
        return key
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def has_key(key: str) -> bool:
    return key in catalog(DEFAULT_LANGUAGE)


# ---------------------------------------------------------------- formatting

def format_number(value: float | int | None, lang: str, decimals: int = 0) -> str:
    """Thousands-separated number; ``–`` for missing values."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "–"
    return f"{value:,.{decimals}f}"


def format_compact(value: float | int | None, lang: str) -> str:
    """Short form for KPI cards: 12.3K / 4.5M in English, 1.2万 / 3.4亿 in Chinese."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "–"
    sign = "-" if value < 0 else ""
    size = abs(value)
    if lang == "zh":
        for unit, scale in (("亿", 1e8), ("万", 1e4)):
            if size >= scale:
                return f"{sign}{size / scale:,.2f}{unit}"
        return f"{sign}{size:,.0f}" if size >= 100 else f"{sign}{size:,.2f}".rstrip("0").rstrip(".")
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if size >= scale:
            return f"{sign}{size / scale:,.2f}{unit}"
    return f"{sign}{size:,.0f}" if size >= 100 else f"{sign}{size:,.2f}".rstrip("0").rstrip(".")


def format_money(value: float | None, lang: str, symbol: str = "¥", compact: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    body = format_compact(abs(value), lang) if compact else format_number(abs(value), lang, 2)
    return f"{'-' if value < 0 else ''}{symbol}{body}"


def format_percent(value: float | None, lang: str, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.{decimals}f}%"


def format_date(value: date | datetime | None, lang: str) -> str:
    if value is None:
        return "–"
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.strftime("%b %-d, %Y")


def date_input_format(lang: str) -> str:
    """The display format string ``st.date_input`` accepts, per language."""
    return "YYYY/MM/DD" if lang == "zh" else "YYYY-MM-DD"
