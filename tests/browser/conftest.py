"""Real-browser fixtures: the app served on a free local port, Debian's chromium through playwright.

Without /usr/bin/chromium the browser tests are skipped, except under CRM_REQUIRE_BROWSER=1 (CI),
where a missing browser is a failure.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
READY = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _require_browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CRM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def start_server(data_dir: Path, port: int, password: str | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """``streamlit run serve.py`` (the app behind its download gate) on 127.0.0.1:``port`` with saved datasets
    in ``data_dir``, once healthy (behind ``password`` when given; never the caller's own CRM_PASSWORD;
    ``env`` adds settings). The server's log goes to ``server.log`` beside ``data_dir`` (a pipe nobody
    reads would block the server once full). Analyses start in the background as deployed; pages wait for
    them up to 120 s unless ``env`` says otherwise (``CRM_PAGE_WAIT``)."""
    settings = {k: v for k, v in os.environ.items() if k != "CRM_PASSWORD"}
    settings["CRM_DATA_DIR"] = str(data_dir)
    settings["CRM_PREPARE"] = "1"   # as deployed: choosing data starts its analyses in the background
    settings["CRM_PAGE_WAIT"] = "120"  # pages wait for them (the progress box has its own test)
    if password is not None:
        settings["CRM_PASSWORD"] = password
    settings.update(env or {})
    log = data_dir.parent / "server.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=settings, stdout=subprocess.DEVNULL, stderr=sink,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if healthy(port):
            return process
        time.sleep(0.3)
    process.kill()
    pytest.fail("the app did not start: " + log.read_text(errors="replace")[-2000:])


def healthy(port: int) -> bool:
    """Whether the server answers its health check."""
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).read() == b"ok"
    except OSError:
        return False


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_browser()
    port = free_port()
    process = start_server(tmp_path_factory.mktemp("data"), port)
    yield f"http://127.0.0.1:{port}"
    stop_server(process)


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def settle(page, timeout: float = 90_000) -> None:
    """Wait until the app is connected, has finished running, and shows no skeletons (twice: a rerun
    may follow the first run right away)."""
    for _ in range(2):
        page.wait_for_timeout(400)
        page.wait_for_selector(READY, state="attached", timeout=timeout)
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout)


def assert_no_errors(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert "Traceback" not in page.inner_text("body")


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def download(page, label: str, path: Path) -> bytes:
    """Click the first download button showing ``label``, save the file to ``path`` and return its bytes
    (the page needs ``accept_downloads=True``)."""
    button = page.locator('[data-testid="stDownloadButton"] button').filter(has_text=label).first
    button.scroll_into_view_if_needed()
    with page.expect_download() as info:
        button.click()
    info.value.save_as(path)
    return path.read_bytes()
