"""A link with one bad value among several keeps the good ones and names only the bad one, in Chromium."""
from urllib.parse import quote

from tests.browser.conftest import assert_no_errors, settle, shot


def test_a_bad_region_beside_a_good_one_keeps_the_good_one(server, browser):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{server}/?lang=en&region={quote('火星')}&region={quote('华东')}")
    settle(page)
    assert_no_errors(page)
    shot(page, "link_bad_region")
    notice = page.locator('[data-testid="stAlert"]').filter(has_text="not valid here").first.inner_text()
    assert "火星" in notice and "华东" not in notice and "the others are kept" in notice
    chosen = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.inner_text()
    assert "华东" in chosen and "火星" not in chosen
    assert "region=%E5%8D%8E%E4%B8%9C" in page.url or "region=华东" in page.url
    page.close()
