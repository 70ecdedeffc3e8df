"""Computed once per dataset: a saved dataset's Churn link shows its progress the first time, and in a
fresh server it shows the list at once, read back from the files kept beside the dataset, never retrained.

The proof is the server's own log: every analysis the app computes is logged as "computed <name>"
(``crm_core.artefacts``); the second server's log has no churn training in it.
"""
from __future__ import annotations

import re
import time
from datetime import datetime

from crm_core import store
from crm_core.artefacts import FOLDER
from crm_core.dataset import load_sample
from tests.browser.conftest import READY, assert_no_errors, download, free_port, settle, shot, start_server, stop_server

TRAINING = "computed ui.analyses.churn_fit"
SCORING = "computed ui.views.churn.risk_view"
LIST = '[data-testid="stDataFrame"]'


def open_churn(browser, url: str, name: str, expect_progress: bool, tmp_path=None) -> float:
    """Open the Churn link and wait for the at-risk list; returns the seconds until it showed. With
    ``tmp_path``, also download the whole list (the page shows it 500 rows at a time)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    started = datetime.now()
    page.goto(url)
    if expect_progress:
        box = page.locator(".st-key-progress_box")
        box.wait_for(timeout=60_000)
        assert "正在为这份数据计算流失模型" in box.inner_text()
        shot(page, f"{name}_progress")
    page.locator(LIST).first.wait_for(timeout=180_000)  # the page fills itself in: nobody reloads it
    seconds = (datetime.now() - started).total_seconds()
    settle(page)
    page.wait_for_selector(READY, state="attached")
    assert page.locator(".st-key-progress_box").count() == 0
    assert "风险" in page.inner_text("body")
    assert_no_errors(page)
    shot(page, f"{name}_list")
    if tmp_path is not None:
        total = re.search(r"第 1–500 行，共 ([\d,]+) 行", page.inner_text("body"))
        assert total is not None, "the list is not paged"
        rows = download(page, "CSV", tmp_path / "risk.csv").decode("utf-8-sig").strip().splitlines()
        assert len(rows) - 1 == int(total.group(1).replace(",", "")) > 500
    context.close()
    return seconds


def test_a_saved_datasets_churn_link_is_computed_once_and_read_back_after_a_restart(browser, tmp_path):
    data_dir = tmp_path / "data"
    dataset_id = store.save(load_sample(), data_dir, "样例", created=datetime(2026, 12, 1))
    url_path = f"/churn?ds={dataset_id}&lang=zh"
    log = tmp_path / "server.log"

    port = free_port()
    first = start_server(data_dir, port, env={"CRM_PAGE_WAIT": "0"})  # show the progress at once
    try:
        open_churn(browser, f"http://127.0.0.1:{port}{url_path}", "artefacts_first", expect_progress=True)
        deadline = time.monotonic() + 30  # results are written by a writer thread, just after they are shown
        while len(list((data_dir / dataset_id / FOLDER).glob("*.pkl"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)
    finally:
        stop_server(first)
    first_log = log.read_text(errors="replace")
    assert first_log.count(TRAINING) == 1 and first_log.count(SCORING) == 1, first_log[-3000:]
    kept = list((data_dir / dataset_id / FOLDER).glob("*.pkl"))
    assert len(kept) >= 3  # the model with its backtest, the risk view, the page's smaller views

    port = free_port()
    second = start_server(data_dir, port, env={"CRM_PAGE_WAIT": "0"})  # a restart: nothing in memory
    try:
        seconds = open_churn(browser, f"http://127.0.0.1:{port}{url_path}", "artefacts_restart",
                             expect_progress=False, tmp_path=tmp_path)
    finally:
        stop_server(second)
    second_log = log.read_text(errors="replace")
    assert TRAINING not in second_log and SCORING not in second_log, second_log[-3000:]
    assert seconds < 30
