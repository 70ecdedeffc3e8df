"""AppTest of the currency setting: the dataset's own, the link's ``cur=``, a saved dataset's, none at all."""
import json
from datetime import datetime

import polars as pl

from crm_core import store
from crm_core.dataset import Dataset
from crm_core.export import money_headers, to_csv_bytes
from tests.app.helpers import ROOT, app, app_with, assert_healthy, metric


def chart_ticks(at, key: str, axis: str) -> list[str]:
    found = [json.loads(element.proto.spec) for element in at.get("plotly_chart")
             if element.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, key
    return found[0]["layout"][axis]["ticktext"]


def lines(amounts=(1200.0, 300.0, 500.0)) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": ["A", "A", "B"],
                         "order_date": [datetime(2024, 5, 1), datetime(2024, 5, 20), datetime(2024, 5, 2)],
                         "amount": list(amounts)})


def test_the_sample_is_in_yuan_as_each_language_writes_it():
    at = app()
    assert_healthy(at)
    assert metric(at, "Revenue").startswith("CN¥")          # English marks the yuan apart from the yen
    assert metric(at, "Average order value").startswith("CN¥")
    assert "cur" not in at.query_params                      # the dataset's own currency needs no parameter
    at = app(locale="zh-CN", clear=False)
    assert_healthy(at)
    revenue = metric(at, "销售额")
    assert revenue.startswith("¥") and revenue.endswith("万"), revenue
    ticks = chart_ticks(at, "monthly", "yaxis")              # Chinese axes count in 万 like the cards
    assert "¥0" in ticks and any(tick.endswith("万") for tick in ticks), ticks
    assert all(tick.endswith("万") or tick == "¥0" for tick in ticks), ticks
    english = chart_ticks(app(clear=False), "monthly", "yaxis")
    assert "CN¥0" in english and any(tick.endswith("M") for tick in english), english


def test_the_link_chooses_the_currency_and_keeps_it():
    at = app(query={"cur": "USD"})
    assert_healthy(at)
    assert metric(at, "Revenue").startswith("$")
    assert all(tick.startswith(("$", "-$")) for tick in chart_ticks(at, "by_region", "xaxis"))
    assert at.query_params.get("cur") == "USD"
    assert "cur=USD" in at.code[0].value                     # the share link opens with the same currency
    zh = app(query={"cur": "USD", "lang": "zh"}, clear=False)
    assert metric(zh, "销售额").startswith("US$")


def test_an_unknown_currency_code_is_dropped_with_a_notice():
    at = app(query={"cur": "XYZ"})
    assert_healthy(at)
    assert any("XYZ" in warning.value and "not valid here" in warning.value for warning in at.warning)
    assert metric(at, "Revenue").startswith("CN¥")
    assert "cur" not in at.query_params


def test_a_saved_dataset_opens_in_its_stored_currency(data_dir):
    dataset_id = store.save(Dataset(lines(), currency="TWD"), data_dir, "台北", created=datetime(2026, 1, 1))
    at = app(query={"ds": dataset_id})
    assert_healthy(at)
    assert metric(at, "Revenue") == "NT$2K"                  # 1,200 + 300 + 500 in May 2024
    assert metric(at, "Average order value") == "NT$666.67"
    assert "cur" not in at.query_params
    at = app(query={"ds": dataset_id, "cur": "HKD"}, clear=False)  # the link's choice wins over the stored one
    assert_healthy(at)
    assert metric(at, "Revenue") == "HK$2K"
    assert at.query_params.get("ds") == dataset_id and at.query_params.get("cur") == "HKD"


def test_amounts_without_a_known_currency_are_plain_numbers():
    at = app_with(Dataset(lines((1200.0, 300.0, 512.7)), name="upload"), locale="zh-CN")
    assert_healthy(at)
    assert metric(at, "销售额") == "2,013"                   # 2,012.7: below 1万 no abbreviation, and no symbol
    assert metric(at, "客单价") == "670.90"                  # 2,012.7 / 3 orders
    assert "cur" not in at.query_params


def test_the_real_supermarket_fixture_shows_new_taiwan_dollars():
    # Ta-Feng (a Taiwanese supermarket) as the Data page leaves it when the currency is TWD: sales total
    # 524,094 (tests/data/real, README), shown over the whole window.
    from crm_core.io import read_table

    table = read_table(ROOT / "tests/data/real/ta_feng_gb18030.csv").df
    dataset = Dataset(table, name="ta_feng", currency="TWD")
    zh = app_with(dataset, query={"ov_period": "window"}, locale="zh-CN")
    assert_healthy(zh)
    assert metric(zh, "销售额") == "NT$52.41万"
    english = app_with(dataset, query={"ov_period": "window"})
    assert metric(english, "Revenue") == "NT$524.09K"
    assert all(tick.startswith(("NT$", "-NT$")) for tick in chart_ticks(english, "monthly", "yaxis"))


def test_downloads_name_the_currency_in_the_money_headers():
    frame = pl.DataFrame({"customer": ["A", "=B"], "Revenue": [1200.5, -300.0], "Orders": [2, 1]})
    labelled = money_headers(frame, ["Revenue", "Not here"], "TWD")
    assert labelled.columns == ["customer", "Revenue (TWD)", "Orders"]
    assert to_csv_bytes(labelled).decode("utf-8-sig").splitlines() == [
        "customer,Revenue (TWD),Orders", "A,1200.5,2", "'=B,-300.0,1"]   # amounts stay numbers
    assert money_headers(frame, ["Revenue"], None).columns == frame.columns  # unknown currency: as it was
