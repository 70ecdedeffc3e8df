"""AppTest of the Customers table and the Customer 360 page: sample in both languages, link filters, masking,
rich / single-order / prospect / unknown customers, search, and an upload with only the required columns.

The customer table (churn model included) is computed once for the sample and then served from the cache:
only the first test clears it.
"""
import re
from datetime import date

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from crm_core.dataset import load_sample
from crm_core.features import customer_summary
from crm_core.lifecycle import STAGES
from tests.app.helpers import APP, TIMEOUT, app, assert_healthy, texts
from ui.i18n import translate

MASKED_PHONE = re.compile(r"^(1\d{2}\*{4}\d{4}|\*{4}\d{0,4})$")


@pytest.fixture(scope="module")
def picks():
    """Customers of the sample with a long history, with a single order, and without orders."""
    sample = load_sample()
    summary = customer_summary(sample.transactions)
    rich = summary.sort(["orders", "customer_id"], descending=[True, False])["customer_id"][0]
    single = summary.filter(pl.col("orders") == 1).sort("customer_id")["customer_id"][0]
    prospect = sample.customers.join(summary, on="customer_id", how="anti").sort("customer_id")["customer_id"][0]
    names = dict(sample.customers.select("customer_id", "name").iter_rows())
    return {"rich": rich, "single": single, "prospect": prospect, "names": names,
            "buyers": summary.height, "known": sample.customers.height}


def opened(query: dict, page: str) -> AppTest:
    """The page opened from a share link: its first run is already this page (as a browser's request for
    ``/customers?…``), so the controls Streamlit binds to the link find their values. The cache is kept."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.context = {"locale": "en-US"}
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py").run()
    return at


def table_frame(at):
    return at.dataframe(key="cu_table").value


def caption_total(at) -> int:
    match = re.search(r"of ([\d,]+) matching", texts(at))
    assert match, texts(at)
    return int(match.group(1).replace(",", ""))


# ---------------------------------------------------------------- the table

def test_table_on_the_sample_in_english(picks):
    at = app(page="customers")  # the only test that computes the table: the rest reuse the cache
    assert_healthy(at)
    assert at.title[0].value == "Customers"
    assert caption_total(at) == picks["known"]
    frame = table_frame(at)
    assert len(frame) == 50 and "Customer ID" in frame.columns
    for header in ("RFM segment", "Lifecycle stage", "P(alive)", "Churn probability", "Next best product", "Phone"):
        assert header in frame.columns, header
    links = frame["Customer ID"].tolist()
    assert all(re.fullmatch(r"\./customer_360\?lang=en&customer=C\d{6}", link) for link in links), links[:3]
    phones = [p for p in frame["Phone"].tolist() if isinstance(p, str)]
    assert phones and all(MASKED_PHONE.match(p) for p in phones), phones[:5]
    assert [b.label for b in at.get("download_button")] == ["Download CSV", "Download Excel"]
    legend = next(e for e in at.expander if e.label == "Risk, stage and segment: three different things")
    assert "Churn risk" in legend.markdown[0].value and "next 90 days" in legend.markdown[0].value
    # the default sort is revenue, highest first
    revenue = frame["Revenue"].tolist()
    assert revenue == sorted(revenue, reverse=True)


def test_table_in_chinese():
    # Switch the language on the page: AppTest reads a radio back with the test process's first language, so
    # a run that switches pages after a Chinese run cannot be read back (an AppTest limit; see test_segments_page).
    at = app(page="customers", clear=False)
    at.session_state["lang"] = "zh"
    at.run()
    assert_healthy(at)
    assert at.title[0].value == "客户列表"
    frame = table_frame(at)
    assert {"客户编号", "RFM 分群", "生命周期阶段", "流失概率", "电话"} <= set(frame.columns)
    assert "lang=zh" in frame["客户编号"].tolist()[0]
    stages = {translate("zh", f"lifecycle.stage.{stage}") for stage in STAGES}
    assert set(frame["生命周期阶段"].dropna()) <= stages and frame["生命周期阶段"].notna().all()
    assert [b.label for b in at.get("download_button")] == ["下载 CSV", "下载 Excel"]
    assert "风险、阶段与分群：三件不同的事" in [e.label for e in at.expander]
    assert "有流失风险" not in set(frame["生命周期阶段"].dropna())  # the stage is "overdue", not a second risk


def test_link_filters_narrow_the_table(picks):
    at = app(query={"cu_segment": "champions", "cu_stage": "active"}, page="customers", clear=False)
    assert_healthy(at)
    assert at.multiselect(key="cu_segment").value == ["champions"]
    assert at.multiselect(key="cu_stage").value == ["active"]
    total = caption_total(at)
    assert 0 < total < picks["known"]
    frame = table_frame(at)
    assert set(frame["RFM segment"]) == {"Champions"} and set(frame["Lifecycle stage"]) == {"Active"}
    # the filters stay in the address; a customer link carries the shared frame (language, data, sidebar), not them
    assert at.query_params.get("cu_segment") == ["champions"] or at.query_params.get("cu_segment") == "champions"
    assert re.fullmatch(r"\./customer_360\?lang=en&customer=C\d{6}", frame["Customer ID"].tolist()[0])


def test_search_sort_and_paging_from_the_link(picks):
    at = opened({"cu_q": picks["rich"], "cu_sort": "orders", "cu_dir": "asc"}, "customers")
    assert_healthy(at)
    frame = table_frame(at)
    assert len(frame) == 1 and frame["Customer ID"].tolist()[0].endswith(picks["rich"])
    at = opened({"cu_sort": "orders", "cu_dir": "asc", "cu_size": "25", "cu_page": "2"}, "customers")
    assert_healthy(at)
    assert "Customers 26–50 of" in texts(at)
    assert table_frame(at)["Orders"].tolist() == sorted(table_frame(at)["Orders"].tolist())


def test_a_filter_that_matches_nobody():
    at = opened({"cu_q": "no such customer zzz"}, "customers")
    assert_healthy(at)
    assert "No customer matches these filters" in texts(at)


# ---------------------------------------------------------------- Customer 360

def test_360_of_a_customer_with_a_rich_history(picks):
    at = app(query={"customer": picks["rich"]}, page="customer_360", clear=False)
    assert_healthy(at)
    page = texts(at)
    assert picks["names"][picks["rich"]] in [h.value for h in at.header]
    labels = [m.label for m in at.metric]
    for label in ("First order", "Orders", "Revenue", "RFM segment", "Lifecycle stage", "P(alive)",
                  "Churn probability", "Expected next order"):
        assert label in labels, label
    assert "Risk, stage and segment: three different things" in [e.label for e in at.expander]
    assert len(at.get("plotly_chart")) == 2  # timeline and monthly spend
    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    products = re.findall(r"^\*\*(\d)\. .+\*\* · likelihood \d+% · expected value CN¥", page, re.MULTILINE)
    assert products == ["1", "2", "3", "4", "5"], page
    assert "cross_sell.reason" not in page and ("Bought " in page or "Popular" in page)  # sentences, not keys
    events = next(frame for columns, frame in tables.items() if "Details" in columns)
    assert {"Order", "Call"} <= set(events["Type"]) and events["Date"].is_monotonic_decreasing
    assert len([b for b in at.button if b.key and b.key.startswith("c360_similar_")]) == 5
    phone_line = re.search(r"\*\*Phone\*\*\s+(\S+)", page)
    assert phone_line and MASKED_PHONE.match(phone_line.group(1)), page
    assert at.query_params.get("customer") == picks["rich"]
    # reveal the contact details on screen only: the link does not change
    at.toggle(key="c360_reveal").set_value(True).run()
    assert_healthy(at)
    assert re.search(r"\*\*Phone\*\*\s+1\d{10}", texts(at))
    assert "c360_reveal" not in at.query_params


def test_360_of_a_single_order_customer_then_a_similar_one(picks):
    at = app(query={"customer": picks["single"]}, page="customer_360", clear=False)
    at.session_state["lang"] = "zh"
    at.run()
    assert_healthy(at)
    assert at.title[0].value == "客户 360"
    assert [m.value for m in at.metric if m.label == "订单数"] == ["1"]
    similar = [b for b in at.button if b.key and b.key.startswith("c360_similar_")]
    target = similar[0].key.removeprefix("c360_similar_")
    similar[0].click().run()
    assert_healthy(at)
    assert at.query_params.get("customer") == target
    assert at.header[0].value == picks["names"].get(target, target)


def test_360_of_a_prospect(picks):
    at = app(query={"customer": picks["prospect"]}, page="customer_360", clear=False)
    assert_healthy(at)
    assert "No orders yet" in texts(at)
    assert "Lifecycle stage: Prospect" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("c360_similar_")]


def test_360_of_an_unknown_id_keeps_the_search(picks):
    at = app(query={"customer": "C999999"}, page="customer_360", clear=False)
    assert_healthy(at)
    assert "There is no customer with the ID “C999999”" in texts(at)
    search = at.text_input(key="c360_q")
    name = picks["names"][picks["rich"]]
    search.set_value(name[2:6]).run()  # part of a name: a list of matches, or the one customer
    assert_healthy(at)
    hits = [b for b in at.button if b.key and b.key.startswith("c360_hit_")]
    if hits:
        hits[0].click().run()
        assert_healthy(at)
        assert at.query_params.get("customer") == hits[0].key.removeprefix("c360_hit_")
    else:
        assert at.query_params.get("customer") == picks["rich"]
    assert at.metric, "a customer is shown"


def test_table_and_360_on_an_upload_with_only_the_required_columns():
    upload = (b"customer_id,order_date,amount\n"
              b"K1,2024-01-05,100\nK1,2024-03-09,300\nK1,2024-04-01,50\nK2,2024-01-20,500\nK3,2024-03-15,800\n")
    at = app(page="data", clear=False)
    at.file_uploader(key="upload_transactions").set_value(("orders.csv", upload, "text/csv")).run()
    at.button(key="use_data").click().run()
    at.switch_page("pages/customers.py").run()
    assert_healthy(at)
    frame = table_frame(at)
    assert sorted(frame["Customer ID"]) == ["K1", "K2", "K3"]  # unsaved upload: plain ids, no links
    assert "No customer table" in texts(at) and "No product or category column" in texts(at)
    at.switch_page("pages/customer_360.py").run()
    at.text_input(key="c360_q").set_value("k1").run()
    assert_healthy(at)
    assert at.query_params.get("customer") == "K1"
    assert [m.value for m in at.metric if m.label == "Orders"] == ["3"]
    assert "Churn risk" in [m.label for m in at.metric]  # too little data for the model: the rules' tier
    # a date window without orders: the friendly empty state on both pages
    at.session_state["dates"] = (date(2024, 2, 1), date(2024, 2, 28))
    at.run()
    assert_healthy(at)
    assert "No orders match the current filters" in texts(at)
    at.switch_page("pages/customers.py").run()
    assert_healthy(at)
    assert "No orders match the current filters" in texts(at)


def test_every_key_the_customer_views_and_sections_name_exists():
    """The i18n test reads pages/ and ui/*.py; the texts of these pages now also live in ui/sections and in
    the core's view-models (as keys and key prefixes)."""
    from pathlib import Path

    from ui.i18n import catalog

    root = Path(__file__).resolve().parents[2]
    quoted = re.compile(r"""["']((?:customers|churn|app|segmentation|lifecycle|cross_sell)(?:\.[a-z0-9_]+)+)["']""")
    for language in ("en", "zh"):
        keys = catalog(language)
        prefixes = {key.rsplit(".", 1)[0] for key in keys}
        missing = [f"{path}: {key}" for path in ("ui/sections/customers.py", "crm_core/views/customers.py",
                                                 "crm_core/views/customer_360.py", "pages/customers.py",
                                                 "pages/customer_360.py")
                   for key in quoted.findall((root / path).read_text("utf-8"))
                   if key not in keys and key not in prefixes]
        assert missing == [], language


def test_a_region_filter_selects_rows_of_the_one_customer_table_without_computing_it_again():
    from crm_core.customers import known_customers
    from crm_core.features import default_as_of
    from crm_core.filters import FilterSpec, apply_filters
    from ui.cache import shared_artefacts

    at = app(page="customers")
    assert_healthy(at)
    assert shared_artefacts().computed["ui.analyses.customer_base"] == 1
    region = sorted(at.multiselect(key="region").options)[0]
    at.multiselect(key="region").set_value([region]).run()
    assert_healthy(at)
    assert shared_artefacts().computed["ui.analyses.customer_base"] == 1
    assert shared_artefacts().computed["ui.analyses.churn_fit"] == 1
    sample = load_sample()
    view = apply_filters(sample, FilterSpec(regions=(region,)))
    expected = known_customers(view, default_as_of(sample.transactions)).height
    total = re.search(r"of ([\d,]+) matching", texts(at))
    assert total is not None and int(total.group(1).replace(",", "")) == expected
    assert "chooses which customers are listed" in texts(at)
