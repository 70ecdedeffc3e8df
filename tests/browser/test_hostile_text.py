"""In a real browser, hostile user text on a saved dataset injects nothing into the DOM.

The dataset of tests/app/test_hostile_text.py (a customer, products, a region and the dataset's own name
carrying a markdown link, a remote image, LaTeX, a colour directive and an autolink) is saved and opened
by link, as a colleague would open it: no anchor or image pointing at the outside host, no rendered
formula, no red span, and the text itself readable as typed.
"""
import hashlib
from datetime import datetime
from urllib.parse import quote, urlsplit

from crm_core import store
from tests.app.test_hostile_text import HOSTILE, hostile_dataset
from tests.browser.conftest import (
    _require_browser,
    assert_no_errors,
    free_port,
    settle,
    shot,
    start_server,
    stop_server,
)

INJECTED = ('a[href*="evil.example"], img[src*="evil.example"], .katex, .katex-display, '
            '[data-testid="stMarkdownContainer"] span[style*="red"]')


def test_hostile_names_render_as_text_and_inject_nothing(browser, tmp_path):
    _require_browser()
    data_dir, port = tmp_path / "data", free_port()
    data_dir.mkdir()
    token = "t" * 32  # this browser's owner cookie, so the saved list shows the dataset
    dataset_id = store.save(hostile_dataset(), data_dir, HOSTILE, datetime(2024, 6, 1),
                            owner=hashlib.sha256(("browser:" + token).encode()).hexdigest())
    process = start_server(data_dir, port)
    requests: list[str] = []
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "crm_owner", "value": token, "url": f"http://127.0.0.1:{port}"}])
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        base = f"http://127.0.0.1:{port}"
        views = {
            "customer_360": f"/customer_360?lang=en&ds={dataset_id}&customer=H001",
            "cross_sell": f"/cross_sell?lang=en&ds={dataset_id}&xs_tab=offers&xs_customer=H001",
            "data": "/data?lang=en",
            "overview_bad_link": f"/overview?lang=en&ds={dataset_id}&dates={quote(HOSTILE)}",
        }
        for name, path in views.items():
            page.goto(base + path)
            settle(page)
            if name == "data":  # the saved list is the second tab
                page.get_by_role("tab", name="Saved datasets").click()
            assert_no_errors(page)
            shot(page, f"hostile_{name}")
            injected = page.locator(INJECTED)
            assert injected.count() == 0, (name, [injected.nth(i).evaluate("e => e.outerHTML.slice(0, 300)")
                                                  for i in range(min(injected.count(), 5))])
            assert "[phish](http://evil.example/a)" in page.inner_text("body").replace("\u200b", ""), name  # as typed
        outside = [url for url in requests if "evil.example" in (urlsplit(url).hostname or "")]
        assert not outside  # nothing was fetched from the outside host
    finally:
        stop_server(process)
