"""Both languages carry every key, and every key the code asks for exists."""
import re
from pathlib import Path

from ui.i18n import catalog, format_compact, format_date, format_money, translate

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
    for path in list(ROOT.glob("pages/*.py")) + list(ROOT.glob("ui/*.py")) + [ROOT / "app.py"]:
        for key in LITERAL_KEY.findall(path.read_text("utf-8")):
            if key not in catalog("en"):
                missing.append(f"{path.name}: {key}")
    assert missing == []


def test_formatting_per_language():
    assert format_compact(123456, "zh") == "12.35万" and format_compact(123456, "en") == "123.46K"
    assert format_compact(2.5e8, "zh") == "2.50亿"
    assert format_money(-1234.5, "en") == "-¥1,234.50"
    assert format_date(__import__("datetime").date(2024, 1, 5), "zh") == "2024年1月5日"
    assert format_date(__import__("datetime").date(2024, 1, 5), "en") == "Jan 5, 2024"
    assert translate("zh", "no.such.key") == "no.such.key"
