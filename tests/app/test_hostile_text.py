"""User text is shown as text on every markdown surface: no live link, remote image, LaTeX or directive.

A customer name, product names, a region, an uploaded header, a saved dataset's name, link values and a
custom segment name all carry the same hostile text. Every element Streamlit renders as markdown
(headers, captions, alerts, markdown, expander, metric, button and widget labels) must hold it escaped
(``ui.text.plain``): the raw markers below never appear. The browser test
(tests/browser/test_hostile_text.py) checks the DOM itself.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from crm_core import store
from crm_core.dataset import Dataset
from crm_core.segmentation import PRESETS, Rule, rules_to_text
from tests.app.helpers import app, app_with, assert_healthy
from ui.text import plain

HOSTILE = ("[phish](http://evil.example/a) ![i](http://evil.example/x.png) $x^2$ :red[boom] **bold** "
           "www.evil.example mail@evil.example")
# What a markdown renderer would turn into a link, an image, LaTeX, a directive, bold text or an autolink.
MARKERS = ("](http", "![", "$x^2$", ":red[boom", "**bold**", "www.evil.example", "@evil")
LABELLED = ("button", "selectbox", "multiselect", "text_input", "radio", "slider", "toggle", "checkbox",
            "number_input", "date_input", "metric", "expander", "tab", "download_button")
BODIES = ("markdown", "caption", "header", "subheader", "title", "error", "warning", "info", "success")


def rendered_markdown(at) -> list[str]:
    """The source of every element the frontend renders as markdown."""
    found = [element.value for kind in BODIES for element in at.get(kind)]
    for kind in LABELLED:
        for element in at.get(kind):
            label = getattr(element, "label", None)
            if isinstance(label, str):
                found.append(label)
    return found


def assert_shown_as_text(at) -> None:
    assert_healthy(at)
    for source in rendered_markdown(at):
        for marker in MARKERS:
            assert marker not in source, (marker, source)


def hostile_dataset() -> Dataset:
    start = datetime(2024, 1, 1)
    rows = []
    for number in range(60):
        customer = "H001" if number == 0 else f"C{number:03d}"
        for visit in range(4):
            day = start + timedelta(days=7 * visit + number)
            rows.append((customer, day, 10.0 + visit, f"{customer}-{visit}",
                         HOSTILE if visit % 2 == 0 else "plain tea", "drinks"))
            rows.append((customer, day, 5.0, f"{customer}-{visit}", "green tea" if number % 2 else HOSTILE + " 2",
                         "drinks"))
    transactions = pl.DataFrame(rows, schema=["customer_id", "order_date", "amount", "order_id", "product", "category"],
                                orient="row")
    customers = pl.DataFrame({"customer_id": ["H001", "C001"], "name": [HOSTILE, "[look](http://evil.example)"],
                              "region": [HOSTILE, "华东"], "city": [HOSTILE, "上海"]})
    return Dataset(transactions, customers, name=HOSTILE)


@pytest.fixture(scope="module")
def hostile() -> Dataset:
    return hostile_dataset()


def test_the_helper_escapes_every_marker():
    text = plain(HOSTILE + "\n# heading")
    assert not any(marker in text for marker in MARKERS) and "\n" not in text
    assert plain(None) == "" and plain(12) == "12"


def test_customer_360_shows_names_places_products_and_look_alikes_as_text(hostile):
    at = app_with(hostile, query={"customer": "H001"}, page="customer_360")
    assert_shown_as_text(at)
    assert any(plain(HOSTILE) in header.value for header in at.header)  # the name is there, as text


def test_customers_and_cross_sell_show_product_names_as_text(hostile):
    assert_shown_as_text(app_with(hostile, page="customers"))
    at = app_with(hostile, query={"xs_tab": "offers", "xs_customer": "H001"}, page="cross_sell")
    assert_shown_as_text(at)
    assert_shown_as_text(app_with(hostile, query={"xs_tab": "also"}, page="cross_sell"))


def test_a_saved_dataset_name_and_the_sidebar_show_it_as_text(hostile, data_dir):
    dataset_id = store.save(hostile, data_dir, HOSTILE, datetime(2024, 6, 1))
    at = app(page="data", session={"_admin": True})
    assert_shown_as_text(at)                           # the saved list, as an administrator sees every name
    assert any(plain(HOSTILE) in m.value for m in at.markdown)
    opened = app(query={"ds": dataset_id}, page="overview")
    assert_shown_as_text(opened)
    assert any(plain(HOSTILE) in caption.value for caption in opened.sidebar.caption)  # "Data: <name>"


def test_an_uploaded_header_is_a_label_as_text():
    data = ("客户编号," + HOSTILE.replace(",", " ") + ",金额\nK1,2024-01-05,10\nK2,2024-01-06,12\n").encode()
    at = app(page="data")
    at.file_uploader(key="upload_transactions").set_value(("h.csv", data, "text/csv")).run()
    assert_shown_as_text(at)


def test_bad_link_values_are_quoted_as_text():
    at = app(query={"dates": HOSTILE, "region": HOSTILE, "lang": HOSTILE}, page="overview")
    assert_shown_as_text(at)
    assert sum("not valid here" in warning.value for warning in at.warning) >= 1


def test_a_custom_segment_name_from_the_link_is_text():
    name = "[x](http://evil.example) $x^2$ **bold** ![i](http://evil.example/i.png)"
    rules = rules_to_text((Rule(name, f=(1, 5)),) + PRESETS["standard"].rules[1:])
    at = app(query={"seg_rules": rules, "seg_pick": name}, page="segments")
    assert_shown_as_text(at)


@pytest.mark.parametrize("page", ["overview", "segments", "lifecycle", "churn"])
def test_every_other_page_shows_the_hostile_data_as_text(hostile, page):
    assert_shown_as_text(app_with(hostile, page=page))


def test_an_unknown_customer_in_the_link_is_named_as_text_and_cut():
    at = app(query={"customer": HOSTILE}, page="customer_360")
    assert_shown_as_text(at)
    long = app(query={"customer": "客" * 1_200}, page="customer_360")
    assert [w.value for w in long.warning if "客" * 80 + "…" in w.value]
