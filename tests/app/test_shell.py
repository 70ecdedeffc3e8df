"""AppTest of the app shell: Overview and Data pages, links, languages, uploads, saved datasets."""
from datetime import datetime

import polars as pl
import pytest

from crm_core import store
from crm_core.dataset import Dataset
from tests.app.helpers import app, assert_healthy, metric, texts

# A tiny export as a Chinese CRM writes it: GBK, Chinese headers, slash dates, currency amounts.
UPLOAD = (
    "客户编号,下单时间,金额,地区\n"
    "K001,2024/1/5,\"￥1,200.00\",华东\n"
    "K001,2024/3/9,300,华东\n"
    "K002,2024/1/20,500,华南\n"
    "K003,2024/3/15,800,华南\n"
).encode("gbk")


def upload(at, data: bytes = UPLOAD, name: str = "订单.csv"):
    at.file_uploader(key="upload_transactions").set_value((name, data, "text/csv")).run()
    return at


def test_overview_on_the_sample_in_english():
    at = app()
    assert_healthy(at)
    assert at.title[0].value == "Overview"
    assert int(metric(at, "Customers").replace(",", "").replace("K", "")) > 0
    assert at.get("plotly_chart"), "charts are drawn"
    assert at.query_params.get("lang") == "en"


def test_overview_in_chinese_from_the_browser_locale():
    at = app(locale="zh-CN")
    assert_healthy(at)
    assert at.title[0].value == "总览"
    assert metric(at, "客户数")
    assert at.query_params.get("lang") == "zh"


def test_upload_use_and_bad_file_keeps_the_data():
    at = app(page="data")
    assert_healthy(at)
    upload(at)
    assert_healthy(at)
    assert "Load report" in [e.label for e in at.expander]
    at.button(key="use_data").click().run()
    assert_healthy(at)
    assert "Now analysing: 订单.csv" in texts(at)
    # a junk file: a translated message, and the data in use stays the upload
    upload(at, b"\x00\x01\x02\xff\xfe garbage \x00" * 50, "junk.csv")
    assert_healthy(at)
    assert at.error, "the bad file is explained"
    assert "订单.csv" in texts(at)
    at.switch_page("pages/overview.py").run()
    assert_healthy(at)
    assert metric(at, "Customers") == "3"


def test_filters_that_match_nothing_show_an_empty_state():
    at = app(page="data")
    upload(at)
    at.button(key="use_data").click().run()
    at.switch_page("pages/overview.py").run()
    at.session_state["dates"] = (datetime(2024, 2, 1).date(), datetime(2024, 2, 28).date())
    at.run()
    assert_healthy(at)
    assert "No orders match the current filters" in texts(at)


def test_saved_dataset_opens_from_its_link(data_dir):
    lines = pl.DataFrame({"customer_id": ["A", "B"], "order_date": [datetime(2024, 5, 1), datetime(2024, 5, 2)],
                          "amount": [10.0, 20.0]})
    dataset_id = store.save(Dataset(lines), data_dir, "五月", created=datetime(2026, 1, 1))
    at = app(query={"ds": dataset_id, "lang": "zh"})
    assert_healthy(at)
    assert "五月" in texts(at)
    assert metric(at, "客户数") == "2"
    assert at.query_params.get("ds") == dataset_id


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "A" * 22])
def test_bad_dataset_id_falls_back_to_the_sample(bad_id):
    at = app(query={"ds": bad_id})
    assert_healthy(at)
    assert at.warning, "a notice explains the fallback"
    assert "Built-in sample" in texts(at)
    assert "ds" not in at.query_params


def test_query_parameters_set_the_widgets_and_survive_the_run():
    at = app(query={"lang": "zh", "dates": ["2024-01-01", "2024-12-31"], "asof": "2025-01-01"})
    assert_healthy(at)
    assert at.session_state["lang"] == "zh"
    assert at.session_state["dates"] == (datetime(2024, 1, 1).date(), datetime(2024, 12, 31).date())
    assert at.query_params.get("dates") == ["2024-01-01", "2024-12-31"]


def test_share_link_carries_the_page_controls_too():
    at = app(query={"lang": "en", "region": "华东"})
    at.radio(key="ov_period").set_value("30").run()
    assert_healthy(at)
    link = at.code[0].value  # the sidebar's "Share this view" box: written after the page drew its controls
    assert link.startswith("/?") and "lang=en" in link and "ov_period=30" in link and "region=" in link


def test_invalid_parameter_values_fall_back_with_a_notice():
    at = app(query={"dates": ["not-a-date", "2024-01-01"], "region": "火星"})
    assert_healthy(at)
    assert any("not valid here" in w.value for w in at.warning)
    assert at.session_state["region"] == []


def test_one_bad_value_among_several_is_left_out_and_named_alone():
    at = app(query={"region": ["火星", "华东"]})
    assert_healthy(at)
    assert at.multiselect(key="region").value == ["华东"]
    warnings = [w.value for w in at.warning]
    assert any("(火星) are not valid here and are left out; the others are kept" in w for w in warnings), warnings
    assert not any("华东" in w for w in warnings)


def test_password_gate(monkeypatch):
    monkeypatch.setenv("CRM_PASSWORD", "s3cret")
    at = app()
    assert "Sign in" in texts(at)
    assert not at.metric
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "That password is not right." in texts(at)
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert_healthy(at)
    assert metric(at, "Customers")


def test_a_page_run_bare_by_the_pages_folder_mode_gets_its_frame():
    from tests.app.helpers import LEGACY_PAGES
    LEGACY_PAGES["on"] = True
    try:
        at = app(page="data")
        assert_healthy(at)
        assert at.title[0].value == "Data"
        assert at.session_state["_context"] is not None   # the sidebar (filters, link) ran
        assert "lang" in at.query_params
    finally:
        LEGACY_PAGES["on"] = False


def test_ambiguous_dates_can_be_read_the_other_way():
    at = app(page="data")
    upload(at, b"customer,date,amount\nA,1/5/2024,10\nB,2/6/2024,20\n", "ambiguous.csv")
    assert_healthy(at)
    switch = [b for b in at.button if b.label.startswith("Read the dates as")]
    assert switch, [b.label for b in at.button]
    switch[0].click().run()
    assert_healthy(at)
    assert any("Day first" in text or "day first" in text.lower()
               for text in [texts(at)] + [e.label for e in at.expander])


def test_workbook_sheets_can_be_chosen(tmp_path):
    import io as std_io

    import xlsxwriter
    buffer = std_io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        book.add_worksheet("说明").write_row(0, 0, ["这是说明页"])
        sheet = book.add_worksheet("订单")
        sheet.write_row(0, 0, ["客户编号", "下单日期", "金额"])
        sheet.write_row(1, 0, ["K1", "2024-01-05", 100])
    at = app(page="data")
    at.file_uploader(key="upload_transactions").set_value(
        ("book.xlsx", buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).run()
    assert_healthy(at)
    picker = [s for s in at.selectbox if s.label == "Sheet"]
    assert picker and picker[0].options == ["说明", "订单"]
    picker[0].select("订单").run()
    assert_healthy(at)
    assert "Rows kept: 1" in texts(at)


def test_every_page_url_is_its_file_name():
    """On a fresh server the first request for a page runs in Streamlit's pages/-folder mode, which
    knows pages by file name: a different url_path would flash "Page not found" (see ui.shell.framed)."""
    import re
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "app.py").read_text("utf-8")
    pages = re.findall(r'st\.Page\("pages/(\w+)\.py".*?url_path="([\w-]+)"', source)
    assert len(pages) >= 2
    assert [stem for stem, _ in pages] == [path for _, path in pages]


def _linked_ids():
    import polars as pl
    import streamlit as st

    from ui import widgets

    frame, config = widgets.customer_links(pl.DataFrame({"id": ["C1", "A&B #1", "客户+1 ?", "50%"]}), "id")
    st.dataframe(frame, column_config=config)


def test_customer_ids_become_escaped_links_to_customer_360():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_linked_ids).run()
    assert not at.exception
    assert list(at.dataframe[0].value["id"]) == [
        "./customer_360?customer=C1", "./customer_360?customer=A%26B%20%231",
        "./customer_360?customer=客户%2B1%20%3F", "./customer_360?customer=50%25"]


def test_a_legacy_xls_export_can_be_uploaded_and_used():
    from pathlib import Path

    data = (Path(__file__).parents[1] / "core" / "data" / "orders_legacy.xls").read_bytes()
    at = app(page="data")
    at.file_uploader(key="upload_transactions").set_value(("订单.xls", data, "application/vnd.ms-excel")).run()
    assert_healthy(at)
    at.button(key="use_data").click().run()
    assert_healthy(at)
    at.switch_page("pages/overview.py").run()
    assert metric(at, "Customers") == "2"
