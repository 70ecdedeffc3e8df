"""In Chromium: a saved dataset belongs to the browser that saved it, and downloads need a signed-in browser.

1. Browser A uploads and saves; a new session of A (its ``crm_owner`` cookie) lists it with rename and
   delete. Browser B, a second context with its own cookies, neither lists it nor can delete it; B opens
   it only by its link.
2. Behind a password, a download's ``/media/…`` address answers 403 to a browser that did not sign in
   and 200 to the one that did; a new tab of the signed-in browser comes in without the password.
"""
from urllib.parse import parse_qs, urlsplit

from tests.app.helpers import TINY_ORDERS
from tests.browser.conftest import (
    _require_browser,
    assert_no_errors,
    free_port,
    settle,
    shot,
    start_server,
    stop_server,
)
from tests.browser.test_sign_in import sign_in

VIEW = {"viewport": {"width": 1400, "height": 1000}}


def saved_tab(page, base: str, query: str = "") -> str:
    page.goto(f"{base}/data?lang=en{query}")
    settle(page)
    page.get_by_role("tab", name="Saved datasets").click()
    page.wait_for_timeout(300)
    return page.locator('[data-testid="stTabPanel"]:visible').inner_text()


def test_a_second_browser_can_neither_list_nor_delete_the_first_ones_dataset(browser, tmp_path):
    _require_browser()
    data_dir, port = tmp_path / "data", free_port()
    data_dir.mkdir()
    source = tmp_path / "五月订单.csv"
    source.write_bytes(TINY_ORDERS)
    process = start_server(data_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        first = browser.new_context(**VIEW)
        page = first.new_page()
        page.goto(f"{base}/data?lang=en")
        settle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(source))
        settle(page)
        page.get_by_role("button", name="Use this data").click()
        settle(page)
        page.get_by_role("button", name="Save and share").click()
        settle(page)
        assert_no_errors(page)
        dataset_id = parse_qs(urlsplit(page.url).query)["ds"][0]
        assert any(c["name"] == "crm_owner" for c in first.cookies())

        again = first.new_page()  # a new session of the same browser
        listed = saved_tab(again, base)
        assert "五月订单.csv" in listed and dataset_id in listed
        assert again.get_by_role("button", name="Delete").count() == 1
        shot(again, "ownership_owner_list")

        second = browser.new_context(**VIEW)
        other = second.new_page()
        listed = saved_tab(other, base)
        assert "No saved datasets yet." in listed and dataset_id not in listed
        assert other.get_by_role("button", name="Delete").count() == 0
        listed = saved_tab(other, base, f"&ds={dataset_id}")  # by its link: it opens …
        assert_no_errors(other)
        assert other.get_by_text("五月订单.csv").first.is_visible()
        assert dataset_id not in listed and other.get_by_role("button", name="Delete").count() == 0  # … not theirs
        shot(other, "ownership_colleague_by_link")
        assert (data_dir / dataset_id / "meta.json").exists()
    finally:
        stop_server(process)


def test_behind_a_password_downloads_need_a_signed_in_browser(browser, tmp_path):
    _require_browser()
    data_dir, port = tmp_path / "data", free_port()
    data_dir.mkdir()
    process = start_server(data_dir, port, password="s3cret")
    base = f"http://127.0.0.1:{port}"
    try:
        signed = browser.new_context(**VIEW)
        page = signed.new_page()
        page.goto(f"{base}/customers?lang=en")
        settle(page)
        sign_in(page, "s3cret")
        settle(page)
        assert_no_errors(page)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").first.click()
        url = download.value.url
        assert "/media/" in url
        assert signed.request.get(url).status == 200

        stranger = browser.new_context(**VIEW)
        refused = stranger.request.get(url)
        assert refused.status == 403 and "请先登录" in refused.text()

        tab = signed.new_page()  # a new tab of the signed-in browser: no password asked
        tab.goto(f"{base}/overview?lang=en")
        settle(tab)
        assert tab.locator("h1").first.inner_text() == "Overview"
        fresh = stranger.new_page()
        fresh.goto(f"{base}/overview?lang=en")
        settle(fresh)
        assert fresh.locator("h1").first.inner_text() == "Sign in"
    finally:
        stop_server(process)
