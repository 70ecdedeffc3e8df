"""The currency of the money columns (ISO 4217) from the signs in their cells or headers."""
from __future__ import annotations

import re
from collections import Counter

import polars as pl

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
