"""The manager's path through the customer base in a real browser: narrow the table to "high value, high
risk, owned by me", download it, open one customer, and find the same story from a link."""
from __future__ import annotations

import re
from urllib.parse import quote

import polars as pl

from crm_core.dataset import load_sample
from tests.browser.conftest import assert_no_errors, download, settle, shot

MASKED_PHONE = re.compile(r"^(1\d{2}\*{4}\d{4}|\*{4}\d{0,4})$")
ROW_PIXELS = 35  # st.dataframe's header and row height


def busiest_owner() -> str:
    return load_sample().customers["owner"].value_counts(sort=True)["owner"][0]


def matching(page) -> int:
    match = re.search(r"of ([\d,]+) matching", page.inner_text('[data-testid="stMain"]'))
    assert match, "no 'of N matching' caption"
    return int(match.group(1).replace(",", ""))


def test_filter_download_and_open_a_customer(server, browser, tmp_path):
    owner = busiest_owner()
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/customers?lang=en&cu_tier=high&cu_risk=high&cu_owner={quote(owner)}")
    settle(page)
    assert_no_errors(page)
    chosen = matching(page)
    assert 0 < chosen < 5000, chosen

    # the current view downloads as a CSV Excel can open: BOM, formula-safe, phones masked
    path = tmp_path / "customers.csv"
    assert download(page, "CSV", path).startswith(b"\xef\xbb\xbf")
    table = pl.read_csv(path, infer_schema=False)
    assert table.height == chosen
    assert set(table["Owner"]) == {owner} and set(table["Churn risk"]) == {"High"}, table.head(3)
    phones = table["Phone"].drop_nulls().to_list()
    assert phones and all(MASKED_PHONE.match(p) for p in phones), phones[:3]

    # select the first row (its checkbox is drawn on the grid's canvas) and open it
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + ROW_PIXELS + ROW_PIXELS / 2)
    settle(page)
    first_id = table["Customer ID"][0]
    opener = page.get_by_role("button", name=re.compile(f"Open the 360 view of {first_id}"))
    opener.click()
    settle(page)
    assert_no_errors(page)
    assert "/customer_360" in page.url and f"customer={first_id}" in page.url
    main = page.inner_text('[data-testid="stMain"]')
    assert "Key figures" in main and f"ID {first_id}" in main and "Why this customer may stop buying" in main
    assert page.locator(".js-plotly-plot").count() >= 2  # timeline and monthly spend
    shot(page, "customer_360-opened")

    # the address opens the same customer for a colleague, in Chinese too
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.goto(page.url.replace("lang=en", "lang=zh"))
    settle(other)
    assert_no_errors(other)
    text = other.inner_text('[data-testid="stMain"]')
    assert f"{first_id}" in text and "关键指标" in text
    other.context.close()
    context.close()
