"""Behind the password, in Chromium: guessing is slowed per client, and signing in opens the page the link asked for.

The server runs with CRM_PASSWORD set. Four wrong passwords impose a wait (the fourth: 2 s); a try within
it is refused even with the right password; after it, the right password opens the requested page with
the link's own control values (Churn risk at 60 days), not the home page.
"""
from tests.browser.conftest import (
    READY,
    _require_browser,
    assert_no_errors,
    free_port,
    settle,
    shot,
    start_server,
    stop_server,
)


def sign_in(page, password: str) -> None:
    field = page.get_by_test_id("stTextInputField")
    field.fill(password)
    page.get_by_role("button", name="Enter").click()
    page.wait_for_timeout(300)
    page.wait_for_selector(READY, state="attached", timeout=60_000)


def test_guessing_waits_and_signing_in_keeps_the_requested_page(browser, tmp_path):
    _require_browser()
    data_dir, port = tmp_path / "data", free_port()
    data_dir.mkdir()
    process = start_server(data_dir, port, password="s3cret")
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(f"http://127.0.0.1:{port}/churn?lang=en&ch_horizon=60")
        settle(page)
        for _ in range(4):
            sign_in(page, "guess")
        # (on a loaded machine the fourth run may still be under way when its wait has passed)
        page.wait_for_function("() => document.body.innerText.includes('try again in 2 s')", timeout=30_000)
        assert "That password is not right." in page.inner_text("body")
        sign_in(page, "s3cret")                        # within the wait: refused unread
        assert "Too many wrong passwords" in page.inner_text("body") and "Churn risk" not in page.inner_text("h1")
        page.wait_for_timeout(2_100)                   # the wait the fourth failure imposed
        sign_in(page, "s3cret")
        settle(page)
        assert_no_errors(page)
        shot(page, "signed_in_churn")
        assert page.locator("h1").first.inner_text() == "Churn risk"
        assert "/churn" in page.url and "ch_horizon=60" in page.url
        checked = page.locator('[data-testid="stRadio"] input[type="radio"]:checked').first
        assert checked.evaluate("e => e.closest('label').innerText").strip() == "60 days"
    finally:
        stop_server(process)
