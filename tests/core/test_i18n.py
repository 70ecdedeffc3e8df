"""Both languages carry every key, and every key the code asks for exists."""
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from ui.i18n import (
    catalog,
    currency_symbol,
    format_compact,
    format_date,
    format_money,
    format_number,
    format_percent,
    is_currency,
    money_column_format,
    money_formatter,
    translate,
)

ROOT = Path(__file__).resolve().parents[2]
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")


def test_languages_have_the_same_keys():
    en, zh = catalog("en"), catalog("zh")
    assert set(en) - set(zh) == set(), "missing in Chinese"
    assert set(zh) - set(en) == set(), "missing in English"


def test_templates_use_the_same_fields():
    field = re.compile(r"\{(\w+)")
    en, zh = catalog("en"), catalog("zh")
    for key in en:
        assert set(field.findall(en[key])) == set(field.findall(zh[key])), key


def test_every_literal_key_in_the_code_exists():
    missing = []
    code = [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/**/*.py"), *ROOT.glob("crm_core/views/*.py"), ROOT / "app.py"]
    for path in code:
        for key in LITERAL_KEY.findall(path.read_text("utf-8")):
            if key not in catalog("en"):
                missing.append(f"{path.name}: {key}")
    assert missing == []


def test_formatting_per_language():
    assert format_compact(123456, "zh") == "12.35万" and format_compact(123456, "en") == "123.46K"
    assert format_compact(2.5e8, "zh") == "2.5亿" and format_compact(2.5e8, "en") == "250M"
    assert format_compact(1234.5, "zh") == "1,234" and format_compact(1234.5, "en") == "1.23K"  # 万 starts at 10,000
    assert format_compact(12.5, "en") == "12.5" and format_compact(857.4, "zh") == "857"
    assert format_number(1234567.891, "en", 2) == "1,234,567.89" and format_number(1234567, "zh") == "1,234,567"
    assert format_percent(0.1234, "en") == "12.3%" and format_percent(0.5, "zh", 0) == "50%"
    assert format_date(date(2024, 1, 5), "zh") == "2024年1月5日"
    assert format_date(datetime(2024, 1, 5, 13, 30), "en") == "Jan 5, 2024"
    assert format_number(float("nan"), "en") == format_money(None, "zh", "CNY") == format_date(None, "en") == "–"
    assert translate("zh", "no.such.key") == "no.such.key"


# Babel's CLDR symbols, checked by hand: English marks the yuan (CN¥) and Chinese the dollar (US$), each
# writing its own currency's bare symbol; the yen has no decimals.
SYMBOLS = {"CNY": ("CN¥", "¥"), "TWD": ("NT$", "NT$"), "USD": ("$", "US$"), "EUR": ("€", "€"), "GBP": ("£", "£"),
           "HKD": ("HK$", "HK$"), "JPY": ("¥", "JP¥")}


@pytest.mark.parametrize("code", sorted(SYMBOLS))
def test_currency_symbols_in_both_languages(code):
    en, zh = SYMBOLS[code]
    assert currency_symbol(code, "en") == en and currency_symbol(code, "zh") == zh
    amount = "1,235" if code == "JPY" else "1,234.56"
    assert format_money(-1234.56, "en", code) == f"-{en}{amount}"
    assert format_money(1234.56, "zh", code) == f"{zh}{amount}"
    assert format_money(123456, "zh", code, compact=True) == f"{zh}12.35万"
    assert format_money(123456, "en", code, compact=True) == f"{en}123.46K"


def test_money_without_a_currency_is_a_plain_number():
    assert format_money(1234.5, "en", None) == "1,234.50"
    assert format_money(2.5e8, "zh", None, compact=True) == "2.5亿"
    assert format_money(56.789, "en", "CNY", compact=True) == "CN¥56.79"   # below 1K: no abbreviation
    assert format_money(4321.0, "zh", "TWD", compact=True) == "NT$4,321"  # below 1万
    assert money_formatter("zh", "CNY")(25000) == "¥2.5万"


def test_money_column_formats():
    assert money_column_format("en", "TWD") == "NT$%,.2f" and money_column_format("zh", "JPY") == "JP¥%,.0f"
    assert money_column_format("en", None) == "%,.2f"


def test_currency_codes():
    assert is_currency("TWD") and is_currency("CNY")
    assert not is_currency("XYZ") and not is_currency("usd") and not is_currency(None)


def test_chinese_money_axes_count_in_wan_and_yi():
    from crm_core.charts import bar, nice_ticks, stacked_bars

    assert nice_ticks(0, 123456) == [-25000.0, 0.0, 25000.0, 50000.0, 75000.0, 100000.0, 125000.0, 150000.0]
    figure = stacked_bars(["2024-01", "2024-02"], {"old": [90000, 40000], "new": [30000, -20000]}, title="t",
                          x_title=None, y_title="y", money=money_formatter("zh", "CNY"))
    # stacked: 120,000 tall at most, 20,000 below zero → steps of 5万 from -10万 to 20万
    assert figure.layout.yaxis.tickvals == (-100000.0, -50000.0, 0.0, 50000.0, 100000.0, 150000.0, 200000.0)
    assert figure.layout.yaxis.ticktext == ("-¥10万", "-¥5万", "¥0", "¥5万", "¥10万", "¥15万", "¥20万")
    assert figure.data[0].customdata == ("¥9万", "¥4万")  # the hover writes the amounts the same way
    big = bar(["华东"], [3.2e8], title="t", value_title="v", money=money_formatter("zh", "TWD"))
    assert "NT$3亿" in big.layout.xaxis.ticktext
    english = bar(["East"], [3.2e8], title="t", value_title="v", money=money_formatter("en", "TWD"))
    assert "NT$300M" in english.layout.xaxis.ticktext
    plain = bar(["East"], [3.2e8], title="t", value_title="v")  # not an amount: plotly's own ticks
    assert plain.layout.xaxis.tickformat is None and plain.layout.xaxis.ticktext is None
    unknown = bar(["华东"], [3.2e8], title="t", value_title="v", money=money_formatter("zh", None))
    assert "3亿" in unknown.layout.xaxis.ticktext  # currency unknown: 万/亿 still, no symbol
