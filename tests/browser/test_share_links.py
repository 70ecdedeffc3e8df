"""Share links in a real browser: a filtered view of a saved dataset, with its open tab, opens the same in a
colleague's fresh browser and after the server restarted (when the first request is a page's own address,
which Streamlit's old ``pages/`` mode would run without the app's frame)."""
from urllib.parse import parse_qs, urlsplit

from tests.browser.conftest import (
    _require_browser,
    assert_no_errors,
    free_port,
    settle,
    shot,
    start_server,
    stop_server,
)
from tests.browser.test_share_flow import UPLOAD, kpis

FILTERS = "&region=华南&dates=2024-01-10&dates=2024-03-16&asof=2024-03-16"


def open_fresh(browser, url: str):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    settle(page)
    assert_no_errors(page)
    return page


def selected_tab(page) -> str:
    return page.locator('[data-testid="stTab"][aria-selected="true"]').first.inner_text().strip()


def test_a_filtered_saved_view_and_its_tab_reopen_the_same_after_a_restart(browser, tmp_path):
    _require_browser()
    data_dir, port = tmp_path / "data", free_port()
    data_dir.mkdir()
    base = f"http://127.0.0.1:{port}"
    source = tmp_path / "订单导出.csv"
    source.write_bytes(UPLOAD)
    process = start_server(data_dir, port)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base + "/data?lang=en")
        settle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(source))
        settle(page)
        page.get_by_role("button", name="Use this data").click()
        settle(page)
        page.get_by_role("button", name="Save and share").click()
        settle(page)
        dataset_id = parse_qs(urlsplit(page.url).query)["ds"][0]

        overview = f"{base}/?lang=en&ds={dataset_id}{FILTERS}"
        colleague = open_fresh(browser, overview)
        figures = kpis(colleague)
        assert figures["Customers"] == "2", figures        # K002 and K003: 华南, from 10 January
        query = parse_qs(urlsplit(colleague.url).query)
        assert query["region"] == ["华南"] and query["dates"] == ["2024-01-10", "2024-03-16"], colleague.url
        assert query["asof"] == ["2024-03-16"] and query["ds"] == [dataset_id]

        segments = f"{base}/segments?lang=en&ds={dataset_id}{FILTERS}&seg_tab=tiers"
        tab_page = open_fresh(browser, segments)
        assert selected_tab(tab_page) == "Value tiers"
        tab_page.locator('[data-testid="stTab"]').filter(has_text="Clusters").click()
        settle(tab_page)
        assert "seg_tab=clusters" in tab_page.url and "region=" in tab_page.url
    finally:
        stop_server(process)

    process = start_server(data_dir, port)  # a restart: the saved data is read again from disk
    try:
        first = open_fresh(browser, segments)  # the server's very first request is a page's own address
        assert selected_tab(first) == "Value tiers"
        assert "华南" in first.locator('[data-testid="stSidebar"]').inner_text()
        again = open_fresh(browser, overview)
        assert kpis(again) == figures
        shot(again, "share-saved-filtered-after-restart")
        zh = open_fresh(browser, overview.replace("lang=en", "lang=zh"))
        assert kpis(zh)["客户数"] == "2"
    finally:
        stop_server(process)
